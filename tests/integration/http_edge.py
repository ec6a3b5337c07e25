"""HTTP edge cases against a running cairn started with default limits
(tests/integration/http_edge.sh):
    python3 http_edge.py PORT
Raw sockets only (the cases are malformed on purpose, so no HTTP client
library would send them). Each case prints ok/FAIL and a measurement; the
exit status is the number of failures."""
import json
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
failures = []


def check(name, ok, detail=''):
    print('%-4s %-58s %s' % ('ok' if ok else 'FAIL', name, detail))
    if not ok:
        failures.append(name)


def conn(src='127.0.0.1', timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.connect(('127.0.0.1', PORT))
    return s


def read_response(s, probe=True):
    """One response: (status, headers dict lower-case, body bytes, closed-after).
    With probe, waits up to 0.5 s for the server to close (bytes after the body are skipped)."""
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError('closed before headers: %r' % buf[:200])
        buf += d
    head, rest = buf.split(b'\r\n\r\n', 1)
    lines = head.decode('latin1').split('\r\n')
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(':')
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get('content-length', '0'))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            break
        rest += d
    body = rest[:n]
    closed = False
    if probe:
        s.settimeout(0.5)
        try:
            for _ in range(100):
                if s.recv(65536) == b'':
                    closed = True
                    break
        except socket.timeout:
            closed = False
        except ConnectionResetError:
            closed = True
    return status, hdrs, body, closed


def request(raw, src='127.0.0.1', probe=True):
    s = conn(src)
    s.sendall(raw)
    try:
        return read_response(s, probe)
    finally:
        s.close()


def get(path, extra=b''):
    return request(b'GET ' + path + b' HTTP/1.1\r\nHost: t\r\n' + extra + b'\r\n')


# ---- 1. NUL and invalid UTF-8 in parameters: 400 naming the parameter ----------
def bad_param(name, path, want_param, body=None, loki=False):
    if body is None:
        st, h, b, _ = get(path)
    else:
        st, h, b, _ = request(b'POST ' + path + b' HTTP/1.1\r\nHost: t\r\nContent-Type: '
                              b'application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
    msg = b.decode('utf-8', 'replace')
    if not loki:
        try:
            j = json.loads(b)
            msg = j['error'] if j['errorType'] == 'bad_data' else 'wrong errorType ' + msg
        except (ValueError, KeyError):
            msg = 'not a Prometheus error envelope: ' + msg
    ok = st == 400 and want_param in msg
    check(name, ok, '%d %s' % (st, msg.strip()[:110]))


st, _, b, _ = get(b'/api/v1/query?query=1%2B1')
check('control: query=1+1 answers 2', st == 200 and b'"2"' in b, '%d %s' % (st, b[:90]))
bad_param('query=1%00%2B1 (NUL)', b'/api/v1/query?query=1%00%2B1', 'parameter "query": a NUL byte')
bad_param('query=%ff (invalid UTF-8)', b'/api/v1/query?query=%ff', 'parameter "query": invalid UTF-8')
bad_param('overlong UTF-8 %c0%af', b'/api/v1/query?query=%c0%af', 'parameter "query": invalid UTF-8')
bad_param('surrogate %ed%a0%80', b'/api/v1/query?query=%ed%a0%80', 'parameter "query": invalid UTF-8')
bad_param('truncated sequence %e2%82', b'/api/v1/query?query=%e2%82', 'parameter "query"')
bad_param('match[] with NUL', b'/api/v1/series?match[]=up&match[]=a%00b', 'parameter "match[]"')
bad_param('start with NUL', b'/api/v1/query_range?query=1&start=1%00&end=2&step=1', 'parameter "start"')
bad_param('time with NUL', b'/api/v1/query?query=1&time=5%00', 'parameter "time"')
bad_param('step raw 0xff byte', b'/api/v1/query_range?query=1&start=1&end=2&step=1\xff', 'parameter "step"')
bad_param('label name in path with NUL', b'/api/v1/label/jo%00b/values', 'URL path')
bad_param('Loki query with NUL', b'/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D%00', 'parameter "query"',
          loki=True)
bad_param('Loki direction with NUL', b'/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&direction=back%00ward',
          'parameter "direction"', loki=True)
bad_param('Loki limit invalid UTF-8', b'/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&limit=1%fe',
          'parameter "limit"', loki=True)
bad_param('Loki label name in path with NUL', b'/loki/api/v1/label/a%00pp/values', 'URL path', loki=True)
bad_param('form body: query with NUL', b'/api/v1/query', 'parameter "query": a NUL byte', body=b'query=1%00%2B1')
bad_param('form body: parameter name with NUL', b'/api/v1/query', 'parameter name', body=b'qu%00ery=1')
st, _, b, _ = get(b'/api/v1/query?query=%22%C3%A9%E2%82%AC%F0%9F%98%80%22')
check('valid multi-byte UTF-8 still accepted', st == 200, '%d %s' % (st, b[:90]))

# ---- 2. framing: 400 and close ----------------------------------------------------
st, h, b, closed = request(b'POST /api/v1/query HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded'
                           b'\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nquery=1\r\n0\r\n\r\n'
                           b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
check('Content-Length + chunked: 400 and closed', st == 400 and closed, '%d closed=%s %s' % (st, closed, b.strip()[:80]))
st, h, b, closed = request(b'POST /api/v1/write HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde')
check('two Content-Length headers: 400 and closed', st == 400 and closed, '%d closed=%s' % (st, closed))
st, h, b, closed = request(b'POST /api/v1/write HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n')
check('Transfer-Encoding other than chunked: 400', st == 400 and closed, '%d closed=%s' % (st, closed))
st, h, b, closed = request(b'GET /-/healthy HTTP/1.1\r\n\r\n')
check('HTTP/1.1 without Host: 400', st == 400 and b'Host' in b, '%d %s' % (st, b.strip()[:80]))
st, h, b, closed = request(b'GET /-/healthy HTTP/1.0\r\n\r\n')
check('HTTP/1.0 without Host: 200', st == 200, '%d' % st)


def raw_all(data):
    """Everything the server sends until it closes (at most 5 s)."""
    s = conn()
    s.sendall(data)
    out = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        out += b'<still open>'
    except ConnectionResetError:
        out += b'<reset>'
    s.close()
    return out


for cl, want in ((b'-1', b'400'), (b'abc', b'400'), (b'1 2', b'400'), (b'99999999999999999999999', b'413')):
    out = raw_all(b'POST /api/v1/write HTTP/1.1\r\nHost: t\r\nContent-Length: ' + cl + b'\r\n\r\n')
    head, _, body = out.partition(b'\r\n\r\n')
    n = int(head.split(b'Content-Length: ')[1].split(b'\r\n')[0]) if b'Content-Length: ' in head else -1
    ok = (out.startswith(b'HTTP/1.1 ' + want) and out.count(b'HTTP/1.1') == 1 and n == len(body)
          and b'Content-Length' in body)
    check('Content-Length: %s: one %s, body as long as declared, closed' % (cl.decode(), want.decode()), ok,
          repr(out[:60]) + ' ... ' + repr(body[:70]))
s = conn()
s.sendall(b'GET /api/v1/query?query=%00 HTTP/1.1\r\nHost: t\r\n\r\n')
st1 = read_response(s, probe=False)[0]
s.settimeout(5)
s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
st2 = read_response(s, probe=False)[0]
s.close()
check('a parameter 400 keeps the connection (next request answered)', st1 == 400 and st2 == 200, '%d then %d' % (st1, st2))


# ---- 3. header deadline and idle keep-alive ------------------------------------------
def slowloris(result):
    s = conn('127.0.0.10', timeout=30)
    t0 = time.monotonic()
    s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\nX-Slow: ')
    cut = None
    for _ in range(30):
        try:
            s.sendall(b'a')
            s.settimeout(1.0)
            d = s.recv(4096)
            if d == b'' or d:
                cut = time.monotonic() - t0
                result['data'] = d
                break
        except socket.timeout:
            continue
        except (BrokenPipeError, ConnectionResetError):
            cut = time.monotonic() - t0
            break
    result['cut'] = cut
    s.close()


def keepalive(result):
    s = conn('127.0.0.10', timeout=30)
    s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
    first = read_response(s, probe=False)[0]
    time.sleep(13)
    try:
        s.settimeout(5)
        s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
        result['second'] = read_response(s, probe=False)[0]
    except (OSError, EOFError) as e:
        result['second'] = repr(e)
    result['first'] = first
    s.close()


def held_open_request(result):
    """A full request line, then nothing: cut at the deadline too."""
    s = conn('127.0.0.10', timeout=30)
    t0 = time.monotonic()
    s.sendall(b'GET /-/healthy HTTP/1.1\r\n')
    try:
        s.settimeout(20)
        d = s.recv(1)
        result['cut'] = time.monotonic() - t0 if d == b'' else None
    except socket.timeout:
        result['cut'] = None
    except ConnectionResetError:
        result['cut'] = time.monotonic() - t0
    s.close()


r_slow, r_ka, r_held = {}, {}, {}
threads = [threading.Thread(target=slowloris, args=(r_slow,)), threading.Thread(target=keepalive, args=(r_ka,)),
           threading.Thread(target=held_open_request, args=(r_held,))]
for t in threads:
    t.start()

# ---- 4. connection limits (while the deadline threads run) ------------------------------
held = []
for _ in range(128):
    held.append(conn())
time.sleep(0.3)
s = conn()
s.settimeout(2)
refused = False
try:
    s.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
    refused = s.recv(100) == b''
except (ConnectionResetError, BrokenPipeError):
    refused = True
except socket.timeout:
    refused = False
s.close()
check('129th connection from 127.0.0.1 refused (per-IP limit 128)', refused)
t0 = time.monotonic()
st, _, _, _ = request(b'GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n', src='127.0.0.2', probe=False)
dt = time.monotonic() - t0
check('another client (127.0.0.2) gets /-/ready meanwhile, < 1 s', st == 200 and dt < 1.0, '%d in %.3f s' % (st, dt))
st, _, b, _ = request(b'GET /api/v1/query?query=1 HTTP/1.1\r\nHost: t\r\n\r\n', src='127.0.0.2')
check('and a query', st == 200, '%d' % st)
n_ok = 0
for c in held:  # the 128 were all accepted: each is served now
    try:
        c.sendall(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
        n_ok += read_response(c, probe=False)[0] == 200
    except (OSError, EOFError):
        pass
    c.close()
check('the 128 held connections from 127.0.0.1 are all served', n_ok == 128, '%d of 128' % n_ok)
held = []

for t in threads:
    t.join(60)
cut = r_slow.get('cut')
check('slowloris (1 header byte/s) cut at the 10 s deadline', cut is not None and 9.5 <= cut <= 11.5,
      'cut after %s s' % ('%.2f' % cut if cut is not None else 'never'))
cut = r_held.get('cut')
check('request line then silence: cut at the deadline', cut is not None and 9.5 <= cut <= 11.5,
      'cut after %s s' % ('%.2f' % cut if cut is not None else 'never'))
check('idle keep-alive connection survives 13 s (idle timeout 2m), next request answered',
      r_ka.get('first') == 200 and r_ka.get('second') == 200, '%s then %s' % (r_ka.get('first'), r_ka.get('second')))
# ---- 5. global cap (after the deadline threads: only these connections are open) ---------
# 512 from five addresses (104 each fits the per-IP limit), then one more
time.sleep(0.5)
held = []
for ip in range(3, 8):
    for _ in range(104):
        if len(held) == 512:
            break
        held.append(conn('127.0.0.%d' % ip))
time.sleep(0.5)
# connection 513: libmicrohttpd stops accepting at the cap, so it waits in the listen backlog
s = conn('127.0.0.9')
s.settimeout(1.5)
served = 'no answer'
try:
    s.sendall(b'GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n')
    served = 'answered' if s.recv(100) else 'closed'
except (ConnectionResetError, BrokenPipeError):
    served = 'reset'
except socket.timeout:
    pass
check('connection 513 not served while 512 are open (global cap)', served == 'no answer',
      '%d held, 513th: %s' % (len(held), served))
held[0].close()
t0 = time.monotonic()
late = None
s.settimeout(5)
try:
    late = read_response(s, probe=False)[0]
except (OSError, EOFError):
    late = None
check('one slot freed: the waiting connection is answered', late == 200,
      '%s after %.3f s' % (late, time.monotonic() - t0))
s.close()
for c in held[1:]:
    c.close()
time.sleep(0.5)
t0 = time.monotonic()
st, _, _, _ = request(b'GET /-/ready HTTP/1.1\r\nHost: t\r\n\r\n', src='127.0.0.9', probe=False)
check('after they close, /-/ready answers', st == 200, '%d in %.3f s' % (st, time.monotonic() - t0))
st, _, _, _ = request(b'GET /-/healthy HTTP/1.1\r\nHost: t\r\n\r\n')
check('server still healthy', st == 200)
print('%d failed' % len(failures))
sys.exit(len(failures))
