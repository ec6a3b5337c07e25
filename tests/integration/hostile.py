"""Hostile input against a cairn started with default flags (issue 10).

    python3 hostile.py PORT PID

Every case must end within its deadline with the status it names (a clear
4xx/5xx with a message, or the correct answer), while a watcher thread asks
/-/ready every 0.2 s from the start to the end: no answer may take longer than
1 s. At the end the server's peak RSS (VmHWM of PID) must stay under
HOSTILE_MAX_HWM_MB (default 1024). Standard library only.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire import series, snappy  # noqa: E402

PORT = int(sys.argv[1])
PID = int(sys.argv[2])
MAX_HWM_MB = int(os.environ.get('HOSTILE_MAX_HWM_MB', '1024'))
N_SERIES = int(os.environ.get('HOSTILE_SERIES', '20000'))
NOW = int(time.time())
NOW_MS = NOW * 1000
NOW_NS = time.time_ns()
DAY = 86400
RW = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0'}
JSON = {'Content-Type': 'application/json'}

failures = []
lock = threading.Lock()


def send(method, path, body=b'', headers=None, timeout=30):
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def q(path, **params):
    return path + '?' + urllib.parse.urlencode(params)


def report(name, ok, detail):
    with lock:
        print('%-4s %-58s %s' % ('ok' if ok else 'FAIL', name, detail[:220]), flush=True)
        if not ok:
            failures.append(name)


def case(name, want, method, path, body=b'', headers=None, deadline=10.0, want_in=None, check=None):
    """want: an int status, a tuple of accepted statuses, or 'xx' classes like '4xx'."""
    t0 = time.monotonic()
    try:
        status, data = send(method, path, body, headers, timeout=deadline + 5)
    except Exception as e:  # a timeout or a dropped connection is a failure here
        report(name, False, 'no answer: %r after %.1fs' % (e, time.monotonic() - t0))
        return None
    dt = time.monotonic() - t0
    msg = data.decode('utf-8', 'replace').strip()
    def one(w):
        return str(status)[0] == w[0] if isinstance(w, str) else status == w
    ok = any(one(w) for w in want) if isinstance(want, tuple) else one(want)
    why = ''
    if dt > deadline:
        ok, why = False, ' (took %.1fs > %.1fs)' % (dt, deadline)
    if ok and status >= 400 and not msg:
        ok, why = False, ' (no error message)'
    if ok and want_in and want_in not in msg:
        ok, why = False, ' (message lacks %r)' % want_in
    if ok and check:
        try:
            c = check(status, data)
        except Exception as e:  # noqa: BLE001
            c = 'check raised %r' % e
        if c is not True:
            ok, why = False, ' (%s)' % c
    report(name, ok, '%d %.2fs %s%s' % (status, dt, msg[:150].replace('\n', ' '), why))
    return status, data


def raw(data, read_timeout=5.0, src='127.0.0.1'):
    """Send raw bytes, return everything the server sent until it closed or went quiet."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(read_timeout)
    s.connect(('127.0.0.1', PORT))
    s.sendall(data)
    out = b''
    closed = False
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < read_timeout:
            b = s.recv(65536)
            if not b:
                closed = True
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    return out, closed


# ---- the /-/ready watcher ---------------------------------------------------------
ready_worst = [0.0, '']
stop_watch = threading.Event()


def watch_ready():
    while not stop_watch.is_set():
        t0 = time.monotonic()
        try:
            st, _ = send('GET', '/-/ready', timeout=5)
            err = '' if st == 200 else 'status %d' % st
        except Exception as e:  # noqa: BLE001
            err = repr(e)
        dt = time.monotonic() - t0
        if err or dt > ready_worst[0]:
            if err or dt > ready_worst[0]:
                ready_worst[0] = max(ready_worst[0], dt if not err else 99.0)
                if err:
                    ready_worst[1] = err
        stop_watch.wait(0.2)


def hwm_mb():
    with open('/proc/%d/status' % PID) as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) // 1024
    return -1


def json_result(data):
    return json.loads(data)['data']['result']


# ---- data ---------------------------------------------------------------------------
def seed():
    # N_SERIES metric series with one sample each (the all-series query costs series x steps,
    # not samples), plus a small counter, and log streams for the LogQL cases.
    lines = ['hostile_many{i="%d",grp="g%d"} %d %d' % (i, i % 10, i, NOW_MS - 60000) for i in range(N_SERIES)]
    st, data = send('POST', '/api/v1/import/prometheus', ('\n'.join(lines) + '\n').encode())
    assert st in (200, 204), (st, data)
    t = NOW_MS - 3600 * 1000
    samples = [(float(k), t + k * 15000) for k in range(240)]
    st, data = send('POST', '/api/v1/write', snappy(series([('__name__', 'hostile_x'), ('job', 'h')], samples)), RW)
    assert st in (200, 204), (st, data)
    entries = [[str(NOW_NS - (300 - k) * 10**9), ('a' * 40) + ' line %d !' % k] for k in range(300)]
    body = json.dumps({'streams': [{'stream': {'app': 'rx'}, 'values': entries}]}).encode()
    st, data = send('POST', '/loki/api/v1/push', body, JSON)
    assert st in (200, 204), (st, data)
    long_entries = [[str(NOW_NS - (3000 - k) * 10**7), 'L' * 2000 + str(k)] for k in range(3000)]
    body = json.dumps({'streams': [{'stream': {'app': 'long'}, 'values': long_entries}]}).encode()
    st, data = send('POST', '/loki/api/v1/push', body, JSON)
    assert st in (200, 204), (st, data)


def main():
    w = threading.Thread(target=watch_ready, daemon=True)
    w.start()
    seed()
    PQ, PR = '/api/v1/query', '/api/v1/query_range'
    LQ, LR = '/loki/api/v1/query', '/loki/api/v1/query_range'
    lstart, lend = str(NOW_NS - 3600 * 10**9), str(NOW_NS + 10**9)

    # 1. regex repetition: rejected at parse time, in both languages, fast.
    # (an invalid matcher regex is a parse error in Prometheus: 400 bad_data)
    case('promql regex a{10000000}', 400, 'GET', q(PQ, query='{__name__=~"a{10000000}"}', timeout='1s'), deadline=2)
    case('logql regex x{99999999}', 400, 'GET', q(LR, query='{app=~"x{99999999}"}', start=lstart, end=lend),
         deadline=2)
    case('promql regex a{1001}', 400, 'GET', q(PQ, query='{__name__=~"a{1001}"}'), deadline=2)
    case('promql regex a{1000} is fine', 200, 'GET', q(PQ, query='{__name__=~"a{1000}"}'), deadline=5)
    # four at once (one per server thread once): the server must stay ready.
    ts = [threading.Thread(target=case, args=('parallel regex bomb %d' % k, 400, 'GET',
                                              q(PQ, query='count({__name__=~"(a{1000}){1000}"})')),
                           kwargs={'deadline': 5}) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    # nested quantifiers on long values: linear, and a match through the other branch is a match.
    case('logql (a+)+X|! matches every line', 200, 'GET',
         q(LQ, query='count_over_time({app="rx"} |~ "(a+)+X|!" [1h])', time=str(NOW_NS)), deadline=5,
         check=lambda s, d: json_result(d) and json_result(d)[0]['value'][1] == '300' or 'result %r' % d[:200])
    case('logql !~ keeps every non-matching line', 200, 'GET',
         q(LQ, query='count_over_time({app="rx"} !~ "(a+)+X" [1h])', time=str(NOW_NS)), deadline=5,
         check=lambda s, d: json_result(d) and json_result(d)[0]['value'][1] == '300' or 'result %r' % d[:200])
    case('promql label_replace \\d capture', 200, 'GET',
         q(PQ, query='label_replace(vector(1), "port", "$1", "src", ".*:(\\\\d+)")'), deadline=5)
    # (Prometheus reports it while evaluating: 422 execution)
    case('label_replace with invalid regex', (400, 422), 'GET',
         q(PQ, query='label_replace(vector(1), "a", "$1", "b", "(")'), deadline=2)

    # 2. memory and time budgets, default flags.
    case('all-series count over 30 days', ('4xx', 503), 'GET',
         q(PR, query='count({__name__=~".+"})', start=NOW - 30 * DAY, end=NOW, step=236), deadline=10)
    case('nested 1s subqueries', ('4xx', 200), 'GET',
         q(PQ, query='max_over_time(max_over_time(max_over_time(hostile_x[1d:1s])[1d:1s])[1d:1s])'), deadline=30)
    case('range query past 11000 points', 400, 'GET',
         q(PR, query='hostile_x', start=NOW - 30 * DAY, end=NOW, step=1), deadline=2)
    case('line_format repeat 200 on long lines', ('4xx', 200), 'GET',
         q(LR, query='{app="long"} | line_format "{{ __line__ | repeat 200 }}"', start=lstart, end=lend,
           limit=5000), deadline=30,
         check=lambda s, d: len(d) < (128 << 20) or 'response of %d bytes' % len(d))
    case('go-template form {{ repeat 2 __line__ }}', 200, 'GET',
         q(LR, query='{app="rx"} | line_format "{{ repeat 2 __line__ }}"', start=lstart, end=lend, limit=1),
         deadline=5, check=lambda s, d: b'!' + b'a' * 40 in d or 'repeat not applied: %r' % d[:200])
    case('template repeat of a huge count', ('4xx', 200), 'GET',
         q(LR, query='{app="rx"} | line_format "{{ repeat 999999999 \\"x\\" }}"', start=lstart, end=lend,
           limit=10), deadline=10, check=lambda s, d: len(d) < (64 << 20) or 'response of %d bytes' % len(d))
    case('topk with a huge k', 200, 'GET', q(PQ, query='topk(1e18, hostile_x)'), deadline=5)

    # 3. long label values.
    v600 = 'c' * 600
    case('label value of 600 bytes (remote write)', (200, 204), 'POST', '/api/v1/write',
         snappy(series([('__name__', 'hostile_long'), ('cmd', v600)], [(1.0, NOW_MS)])), RW)
    case('600-byte value comes back', 200, 'GET', q(PQ, query='hostile_long{cmd="%s"}' % v600, time=NOW),
         check=lambda s, d: len(json_result(d)) == 1 or 'result %r' % d[:200])
    case('600-byte value in /label/cmd/values', 200, 'GET', '/api/v1/label/cmd/values',
         check=lambda s, d: v600 in json.loads(d)['data'] or 'values %r' % d[:200])
    case('label value of 1 MiB', 400, 'POST', '/api/v1/write',
         snappy(series([('__name__', 'hostile_huge'), ('cmd', 'd' * (1 << 20))], [(1.0, NOW_MS)])), RW)

    # 4. NUL and invalid bytes in queries.
    case('NUL in query', 400, 'GET', '/api/v1/query?query=1%00%2B1', deadline=2)
    case('NUL in POST form query', 400, 'POST', PQ, b'query=1%00%2B1',
         {'Content-Type': 'application/x-www-form-urlencoded'}, deadline=2)
    case('invalid UTF-8 in query', 400, 'GET', '/api/v1/query?query=%FF%FE', deadline=2)
    case('NUL in Loki query', 400, 'GET', '/loki/api/v1/query_range?query=%7Bapp%3D%22rx%22%7D%00x', deadline=2)

    # 6. timestamps.
    for name, t in (('INT64_MAX', 2**63 - 1), ('INT64_MIN', -2**63), ('year 3000', 32503680000000),
                    ('ten years ahead', NOW_MS + 10 * 365 * DAY * 1000)):
        case('metric timestamp %s' % name, 400, 'POST', '/api/v1/write',
             snappy(series([('__name__', 'hostile_ts'), ('job', 'h')], [(1.0, t)])), RW)
    case('series still accepts now after the future sample', (200, 204), 'POST', '/api/v1/write',
         snappy(series([('__name__', 'hostile_ts'), ('job', 'h')], [(2.0, NOW_MS)])), RW)

    # 7. reserved labels.
    case('reserved __foo label', 400, 'POST', '/api/v1/write',
         snappy(series([('__name__', 'hostile_rsv'), ('__foo', 'x')], [(1.0, NOW_MS)])), RW, want_in='__foo')

    # 11. HTTP edge cases, on raw sockets.
    out, closed = raw(b'POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
                      b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
    report('Content-Length + chunked: 400 and close', out.startswith(b'HTTP/1.1 400') and closed, repr(out[:80]))
    out, closed = raw(b'GET /-/healthy HTTP/1.1\r\n\r\n')
    report('HTTP/1.1 without Host: 400', out.startswith(b'HTTP/1.1 400'), repr(out[:80]))
    out, closed = raw(b'POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n')
    report('Content-Length: -1: one 400', out.startswith(b'HTTP/1.1 400') and out.count(b'HTTP/1.1') == 1,
           repr(out[:120]))
    out, closed = raw(b'GET /api/v1/query?query=' + b'(' * 100000 + b'1' + b')' * 100000 +
                      b' HTTP/1.1\r\nHost: x\r\n\r\n')
    report('200 KB request line: 4xx', out[9:10] == b'4', repr(out[:80]))

    # per-IP connection limit: one client (127.0.0.2) holds as many sockets as it can; the
    # others (127.0.0.1) still get /-/ready and a query answered within 1 s.
    hogs = []
    try:
        for _ in range(1200):
            s = socket.socket()
            s.bind(('127.0.0.2', 0))
            s.settimeout(2)
            try:
                s.connect(('127.0.0.1', PORT))
                s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: x\r\n')  # headers never finished
            except OSError:
                s.close()
                break
            hogs.append(s)
        t0 = time.monotonic()
        try:
            st, _ = send('GET', '/-/ready', timeout=3)
        except Exception as e:  # noqa: BLE001
            st = repr(e)
        dt = time.monotonic() - t0
        report('ready with %d connections held by one client' % len(hogs), st == 200 and dt < 1.0,
               '%s %.2fs' % (st, dt))
        case('query with one client at its connection limit', 200, 'GET', q(PQ, query='1+1'), deadline=1)
    finally:
        for s in hogs:
            s.close()

    # header deadline: a slowloris sending one byte per second is cut off.
    s = socket.socket()
    s.settimeout(40)
    s.connect(('127.0.0.1', PORT))
    t0 = time.monotonic()
    cut = None
    req = b'GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Slow: ' + b'a' * 100
    for k in range(len(req)):
        try:
            s.sendall(req[k:k + 1])
        except OSError:
            cut = time.monotonic() - t0
            break
        s.settimeout(1.0)
        try:
            if s.recv(1024) == b'':
                cut = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        if time.monotonic() - t0 > 45:
            break
    s.close()
    report('slowloris cut by the header deadline', cut is not None and cut < 35, 'cut after %s s' % cut)

    # a dozen more of our own.
    case('query of 1 MiB', '4xx', 'POST', PQ, b'query=' + b'1%2B' * (1 << 18) + b'1',
         {'Content-Type': 'application/x-www-form-urlencoded'}, deadline=5)
    case('10000 nested parentheses', 400, 'POST', PQ, urllib.parse.urlencode({'query': '(' * 10000 + '1' + ')' * 10000}),
         {'Content-Type': 'application/x-www-form-urlencoded'}, deadline=2)
    case('10000 chained unary minus', ('4xx', 200), 'GET', q(PQ, query='-' * 10000 + '1'), deadline=2)
    case('start after end', 400, 'GET', q(PR, query='1', start=NOW, end=NOW - 60, step=15), deadline=2)
    case('negative step', 400, 'GET', q(PR, query='1', start=NOW - 60, end=NOW, step=-15), deadline=2)
    case('timeout=-1s', 400, 'GET', q(PQ, query='1', timeout='-1s'), deadline=2)
    case('timeout=1e100s', ('4xx', 200), 'GET', q(PQ, query='1', timeout='1e100s'), deadline=2)
    case('time=NaN', 400, 'GET', q(PQ, query='1', time='NaN'), deadline=2)
    case('loki limit of 10^12', ('4xx', 200), 'GET',
         q(LR, query='{app="rx"}', start=lstart, end=lend, limit='1000000000000'), deadline=5)
    case('loki step of 1ns over an hour', 400, 'GET',
         q(LR, query='count_over_time({app="rx"}[1m])', start=lstart, end=lend, step='1ns'), deadline=2)
    case('count_values on every series', ('4xx', 200), 'GET',
         q(PQ, query='count_values("v", {__name__=~".+"})'), deadline=10)
    case('series endpoint with every series', ('4xx', 200), 'GET',
         q('/api/v1/series', **{'match[]': '{__name__=~".+"}'}), deadline=10)
    case('label_join over every series', ('4xx', 200), 'GET',
         q(PQ, query='label_join({__name__=~".+"}, "x", "-", "i", "grp", "i", "grp")'), deadline=10)
    nested = '{"a":' * 3000 + '1' + '}' * 3000
    case('push a deeply nested JSON line', (200, 204), 'POST', '/loki/api/v1/push',
         json.dumps({'streams': [{'stream': {'app': 'nest'}, 'values': [[str(NOW_NS - 10**9), nested]]}]}).encode(),
         JSON)
    case('| json on a deeply nested line', ('4xx', 200), 'GET',
         q(LR, query='{app="nest"} | json | line_format "{{.a}}"', start=lstart, end=lend, limit=10), deadline=5)
    groups = ''.join('(?P<g%d>a?)' % k for k in range(1000))
    case('regexp stage with 1000 named groups', ('4xx', 200), 'GET',
         q(LR, query='{app="rx"} | regexp "%s"' % groups, start=lstart, end=lend, limit=5), deadline=5)

    # the server is still there and answers correctly.
    case('still answers after all that', 200, 'GET', q(PQ, query='count(hostile_many)', time=NOW),
         check=lambda s, d: json_result(d)[0]['value'][1] == str(N_SERIES) or 'result %r' % d[:200])
    stop_watch.set()
    w.join(5)
    report('/-/ready always within 1 s', ready_worst[0] <= 1.0 and not ready_worst[1],
           'worst %.2fs %s' % (ready_worst[0], ready_worst[1]))
    mb = hwm_mb()
    report('peak RSS (VmHWM) under %d MiB' % MAX_HWM_MB, 0 < mb < MAX_HWM_MB, '%d MiB' % mb)
    print('%d failed' % len(failures))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
