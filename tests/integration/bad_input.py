"""Send malformed and invalid requests to a running cairn; each must get its
4xx with a message, and the server must keep answering /-/healthy.
    python3 bad_input.py PORT
Bodies are built by hand here (protobuf wire format, snappy literal blocks,
gzip), so the test needs nothing beyond Python's standard library."""
import gzip
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

PORT = int(sys.argv[1])
NOW_NS = time.time_ns()
NOW_MS = NOW_NS // 1000000


from wire import field, gzip_bomb, label, series, snappy, varint  # noqa: E402


# ---- requests --------------------------------------------------------------------
def send(method, path, body=b'', headers=None):
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


failures = []


def case(name, want_status, method, path, body, headers, want_in_msg=None):
    status, data = send(method, path, body, headers)
    msg = data.decode('utf-8', 'replace').strip()
    ok = status == want_status and len(msg) > 0
    if want_in_msg and want_in_msg not in msg:
        ok = False
    hs, _ = send('GET', '/-/healthy')
    if hs != 200:
        ok = False
        msg += ' (and /-/healthy answered %d)' % hs
    print('%-4s %-44s %d %s' % ('ok' if ok else 'FAIL', name, status, msg[:150]))
    if not ok:
        failures.append(name)


RW = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0'}
JSON = {'Content-Type': 'application/json'}

good = series([('__name__', 'bad_truncated'), ('job', 'x')], [(1.0, NOW_MS)])
case('truncated snappy', 400, 'POST', '/api/v1/write', snappy(good * 20)[:-25], RW)
case('snappy: bad copy offset', 400, 'POST', '/api/v1/write', varint(10) + bytes([0x01 | (5 << 2), 0xFF]), RW)
case('protobuf: wrong wire type (series as varint)', 400, 'POST', '/api/v1/write',
     snappy(field(1, 0, varint(7))), RW)
bad_sample = field(1, 2, label('__name__', 'bad_wiretype') + field(2, 2, field(1, 0, varint(3))))
case('protobuf: wrong wire type (value as varint)', 400, 'POST', '/api/v1/write', snappy(bad_sample), RW)
case('protobuf: length past the end', 400, 'POST', '/api/v1/write', snappy(b'\x0a\xff\x01\x0a'), RW)
case('invalid label name', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'bad_label_name'), ('1bad', 'x')], [(1.0, NOW_MS)])), RW, '1bad')
case('duplicate label name', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'bad_dup'), ('a', '1'), ('a', '2')], [(1.0, NOW_MS)])), RW)
case('invalid UTF-8 label value (remote write)', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'bad_utf8'), ('v', b'\xff\xfe')], [(1.0, NOW_MS)])), RW)
mixed = series([('__name__', 'bad_mixed_valid'), ('job', 'x')], [(1.0, NOW_MS)]) + \
    series([('__name__', 'bad_mixed_invalid'), ('9x', 'y')], [(1.0, NOW_MS)])
case('valid + invalid series in one request', 400, 'POST', '/api/v1/write', snappy(mixed), RW, '9x')
case('remote write 2.0 content type', 415, 'POST', '/api/v1/write', snappy(good),
     {'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
      'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '2.0.0'})
case('remote write with gzip encoding', 415, 'POST', '/api/v1/write', gzip.compress(good),
     {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip'})
case('unknown Content-Encoding', 415, 'POST', '/loki/api/v1/push', b'{}', {**JSON, 'Content-Encoding': 'br'})


def loki(labels, entries):
    return json.dumps({'streams': [{'stream': labels, 'values': entries}]}).encode()


day = 86400 * 10**9
case('loki: timestamp 30 days old', 400, 'POST', '/loki/api/v1/push',
     loki({'app': 'bad_old'}, [[str(NOW_NS - 30 * day), 'old line']]), JSON)
case('loki: timestamp 1 day in the future', 400, 'POST', '/loki/api/v1/push',
     loki({'app': 'bad_future'}, [[str(NOW_NS + day), 'future line']]), JSON)
case('loki: numeric timestamp', 400, 'POST', '/loki/api/v1/push',
     json.dumps({'streams': [{'stream': {'app': 'bad_num'}, 'values': [[NOW_NS, 'x']]}]}).encode(), JSON)
case('loki: 10 MB line', 400, 'POST', '/loki/api/v1/push',
     loki({'app': 'bad_long'}, [[str(NOW_NS), 'y' * (10 << 20)]]), JSON)
case('loki: invalid label name', 400, 'POST', '/loki/api/v1/push',
     loki({'bad-name': 'x'}, [[str(NOW_NS), 'line']]), JSON, 'bad-name')
case('loki: invalid UTF-8 in JSON', 400, 'POST', '/loki/api/v1/push',
     b'{"streams":[{"stream":{"app":"bad_\xff"},"values":[["' + str(NOW_NS).encode() + b'","l"]]}]}', JSON)
case('loki: truncated JSON', 400, 'POST', '/loki/api/v1/push', loki({'app': 'bad_trunc'}, [[str(NOW_NS), 'l']])[:-3],
     JSON)
case('loki: protobuf garbage', 400, 'POST', '/loki/api/v1/push', snappy(b'\x0a\x05\x0a\x03{a', ),
     {'Content-Type': 'application/x-protobuf'})
case('loki: gzip bomb (200 MB of zeros)', 413, 'POST', '/loki/api/v1/push', gzip_bomb(200 << 20),
     {**JSON, 'Content-Encoding': 'gzip'})
case('import: gzip bomb', 413, 'POST', '/api/v1/import/prometheus', gzip_bomb(100 << 20),
     {'Content-Encoding': 'gzip'})
case('import: corrupt gzip', 400, 'POST', '/api/v1/import/prometheus', gzip.compress(b'bad_gz 1\n')[:-6],
     {'Content-Encoding': 'gzip'})
case('import: syntax error', 400, 'POST', '/api/v1/import/prometheus', b'bad_ok 1\nbad_syntax{a="b" 1\n', {},
     '2:')


def declared_too_large():
    """Declare 17 MiB, send 1 KiB: the 413 must come at once, before the body."""
    import socket
    s = socket.create_connection(('127.0.0.1', PORT), timeout=10)
    s.sendall(b'POST /api/v1/import/prometheus HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (17 << 20)
              + b'#' * 1024)
    data = b''
    while b'\r\n\r\n' not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head = data.split(b'\r\n', 1)[0].decode()
    ok = head.startswith('HTTP/1.1 413')
    print('%-4s %-44s %s' % ('ok' if ok else 'FAIL', 'body over --max-body-bytes (declared)', head))
    if not ok:
        failures.append('declared too large')


declared_too_large()
case('otlp: protobuf garbage', 400, 'POST', '/v1/metrics', b'\x0a\xff\xff\xff\x0f',
     {'Content-Type': 'application/x-protobuf'})
case('otlp: bad JSON', 400, 'POST', '/v1/logs', b'{"resourceLogs":[{', JSON)
case('otlp: unsupported Content-Type', 415, 'POST', '/v1/logs', b'x', {'Content-Type': 'text/plain'})
case('unknown path', 404, 'GET', '/nope', b'', {})
case('wrong method', 405, 'GET', '/api/v1/write', b'', {})

# The server still ingests after all that.
status, _ = send('POST', '/api/v1/import/prometheus', b'marker_ok{phase="after"} 1\n', {})
print('marker import:', status)
if status != 204:
    failures.append('marker')
if failures:
    print('FAILED:', failures)
    sys.exit(1)
