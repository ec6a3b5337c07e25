"""Hand-built request bodies for the integration tests (stdlib only):
protobuf wire format, remote-write series, snappy blocks of literals, gzip bombs."""
import struct
import zlib


def varint(n):
    # protobuf int64: a negative number is its 64-bit two's complement (ten bytes);
    # without this, n >>= 7 stays -1 and the loop never ends (INT64_MIN in hostile.py)
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(no, wire, payload):
    key = varint(no << 3 | wire)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def label(name, value):
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return field(1, 2, field(1, 2, name) + field(2, 2, value))


def sample(v, t):
    return field(2, 2, field(1, 1, struct.pack('<d', v)) + field(2, 0, varint(t)))


def series(labels, samples):
    return field(1, 2, b''.join(label(n, v) for n, v in labels) + b''.join(sample(v, t) for v, t in samples))


def snappy(raw):
    """A valid snappy block made only of literals."""
    out = bytearray(varint(len(raw)))
    for i in range(0, len(raw), 65536):
        chunk = raw[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2, n & 0xFF, n >> 8])
        out += chunk
    return bytes(out)


def gzip_bomb(n_bytes):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = b'\0' * (1 << 20)
    parts = [c.compress(zero) for _ in range(n_bytes >> 20)]
    parts.append(c.flush())
    return b''.join(parts)
