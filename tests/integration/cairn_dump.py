"""Parse `cairn dump` output (helper for the integration checkers; stdlib only).

Metric lines:  {name="value", ...} VALUE T_MS
Log lines:     {name="value", ...} T_NS [{meta="..."} ]LINE
Label values escape \\ \" and \n, as the dump prints them.
"""
import struct


def parse_labels(s, i=0):
    """Parse '{a="b", c="d"}' starting at s[i]; return (tuple of (name, value) sorted, index after '}')."""
    if s[i] != '{':
        raise ValueError('expected { at %d in %r' % (i, s[:80]))
    i += 1
    out = []
    while True:
        while s[i] in ' ,':
            i += 1
        if s[i] == '}':
            return tuple(sorted(out)), i + 1
        j = s.index('=', i)
        name = s[i:j]
        if s[j + 1] != '"':
            raise ValueError('expected " in %r' % s[:80])
        k = j + 2
        val = []
        while s[k] != '"':
            if s[k] == '\\':
                k += 1
                val.append('\n' if s[k] == 'n' else s[k])
            else:
                val.append(s[k])
            k += 1
        out.append((name, ''.join(val)))
        i = k + 1


def bits(v):
    return struct.unpack('<Q', struct.pack('<d', v))[0]


def metrics(text):
    """Yield (labels, t_ms, value_float) from a metrics dump."""
    for line in text.splitlines():
        if not line:
            continue
        labels, i = parse_labels(line)
        val, ts = line[i:].split()
        yield labels, int(ts), float(val)


def logs(text):
    """Yield (labels, t_ns, meta, line) from a `dump --logs` (lines must not contain newlines)."""
    for line in text.split('\n'):
        if not line:
            continue
        labels, i = parse_labels(line)
        rest = line[i + 1:]
        sp = rest.index(' ') if ' ' in rest else len(rest)
        ts = int(rest[:sp])
        body = rest[sp + 1:]
        meta = ()
        if body.startswith('{'):
            try:
                meta, j = parse_labels(body)
                body = body[j + 1:]
            except (ValueError, IndexError):
                meta = ()
        yield labels, ts, meta, body
