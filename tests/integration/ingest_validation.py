"""Issue 10, ingest validation: timestamps out of the window, reserved "__"
labels and NUL / invalid UTF-8 bytes, on every write protocol of a running
cairn started with default flags. Each bad request must get 400 with a
message naming the series (and timestamp or byte offset), store nothing,
and be counted on /metrics; the good requests after it must still work.
    python3 ingest_validation.py PORT
Standard library only (bodies built by hand, see wire.py)."""
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire import series, snappy  # noqa: E402

PORT = int(sys.argv[1])
NOW_NS = time.time_ns()
NOW_MS = NOW_NS // 1000000
DAY_MS = 86400 * 1000
RW = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0'}
JSON = {'Content-Type': 'application/json'}
failures = []


def send(method, path, body=b'', headers=None):
    c = http.client.HTTPConnection('127.0.0.1', PORT, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data.decode('utf-8', 'replace')


def case(name, want, method, path, body, headers=None, *frags):
    st, msg = send(method, path, body, headers)
    ok = st == want and all(f in msg for f in frags)
    print('%-4s %-52s %d %s' % ('ok' if ok else 'FAIL', name, st, msg.strip()[:200]))
    if not ok:
        failures.append(name)
        print('     wanted %d with %r' % (want, frags))


def otlp_metrics(attrs, t_ns):
    kv = [{'key': k, 'value': {'stringValue': v}} for k, v in attrs]
    return json.dumps({'resourceMetrics': [{'scopeMetrics': [{'metrics': [
        {'name': 'iv_otlp', 'gauge': {'dataPoints': [{'timeUnixNano': str(t_ns), 'asDouble': 1.5,
                                                       'attributes': kv}]}}]}]}]}).encode()


def otlp_logs(res_attrs, t_ns, body='line'):
    kv = [{'key': k, 'value': {'stringValue': v}} for k, v in res_attrs]
    return json.dumps({'resourceLogs': [{'resource': {'attributes': kv}, 'scopeLogs': [{'logRecords': [
        {'timeUnixNano': str(t_ns), 'body': {'stringValue': body}}]}]}]}).encode()


def loki(stream, t_ns, line='x', meta=None):
    v = [str(t_ns), line] + ([meta] if meta else [])
    return json.dumps({'streams': [{'stream': stream, 'values': [v]}]}).encode()


FUT_MS = NOW_MS + 365 * DAY_MS
OLD_MS = NOW_MS - 30 * DAY_MS

# ---- 6. timestamps, metrics: every protocol ---------------------------------------------------
case('remote write: one year ahead', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_ok'), ('job', 'a')], [(1.0, NOW_MS)]) +
            series([('__name__', 'iv_rw'), ('job', 'a')], [(1.0, FUT_MS)])), RW,
     'sample at %d' % FUT_MS, '{__name__="iv_rw", job="a"}', 'too far in the future')
case('remote write: 30 days old (retention 15d)', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_rw'), ('job', 'a')], [(1.0, OLD_MS)])), RW,
     'sample at %d' % OLD_MS, 'too old', 'retention')
case('text import: year 3000', 400, 'POST', '/api/v1/import/prometheus',
     b'iv_text{a="1"} 1\niv_text{a="2"} 1 32503680000000\n', None,
     '{__name__="iv_text", a="2"}', '(3000-01-01T00:00:00Z)')
case('OpenMetrics import: one year ahead', 400, 'POST', '/api/v1/import/prometheus',
     ('iv_om 1 %d\n# EOF\n' % (FUT_MS // 1000)).encode(), {'Content-Type': 'application/openmetrics-text'},
     '{__name__="iv_om"}', 'too far in the future')
case('OTLP metrics: one year ahead', 400, 'POST', '/v1/metrics', otlp_metrics([], FUT_MS * 1000000), JSON,
     'iv_otlp', 'too far in the future')
# ---- timestamps, logs ---------------------------------------------------------------------------
case('Loki push: one day ahead', 400, 'POST', '/loki/api/v1/push', loki({'app': 'iv'}, NOW_NS + 86400 * 10**9), JSON,
     'too far in the future')
case('OTLP logs: one day ahead', 400, 'POST', '/v1/logs', otlp_logs([('service.name', 'iv')], NOW_NS + 86400 * 10**9),
     JSON, 'too far in the future')

# ---- 7. reserved labels ------------------------------------------------------------------------
case('remote write: __foo', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_rsv'), ('__foo', 'a')], [(1.0, NOW_MS)]) +
            series([('__name__', 'iv_rsv'), ('__foo', 'b')], [(2.0, NOW_MS)])), RW,
     'label name "__foo" is reserved')
case('text import: __meta_x', 400, 'POST', '/api/v1/import/prometheus', b'iv_rsv{__meta_x="1"} 1\n', None,
     'label name "__meta_x" is reserved')
case('Loki push: __stream_shard__', 400, 'POST', '/loki/api/v1/push',
     loki({'app': 'iv', '__stream_shard__': '1'}, NOW_NS), JSON, 'label name "__stream_shard__" is reserved')
case('OTLP metrics: attribute __v', 400, 'POST', '/v1/metrics', otlp_metrics([('__v', 'x')], NOW_NS), JSON,
     'label name \\"__v\\" is reserved')

# ---- NUL and invalid UTF-8 -----------------------------------------------------------------------
case('remote write: NUL in a value', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_nul'), ('job', 'a\x00b')], [(1.0, NOW_MS)])), RW,
     'NUL byte in the value of label "job" at offset 1', 'job="a\\x00b"')
case('remote write: NUL in the metric name', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv\x00nul')], [(1.0, NOW_MS)])), RW,
     'NUL byte in the metric name (__name__) at offset 2')
case('remote write: invalid UTF-8 in a value', 400, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_nul'), ('job', b'ab\xff')], [(1.0, NOW_MS)])), RW,
     'invalid UTF-8 in the value of label "job" at offset 2 (byte 0xff)')
case('Loki push: NUL in a label (\\u0000)', 400, 'POST', '/loki/api/v1/push', loki({'app': 'i\x00v'}, NOW_NS), JSON,
     'NUL byte in the value of label "app" at offset 1')
case('Loki push: NUL in structured metadata', 400, 'POST', '/loki/api/v1/push',
     loki({'app': 'iv'}, NOW_NS, 'x', {'trace_id': 'a\x00'}), JSON, 'NUL byte in structured metadata "trace_id"')
case('OTLP metrics: NUL in an attribute', 400, 'POST', '/v1/metrics', otlp_metrics([('k', '\x00')], NOW_NS), JSON,
     'NUL byte in the value of label \\"k\\" at offset 0')
case('OTLP logs: NUL in service.name', 400, 'POST', '/v1/logs', otlp_logs([('service.name', 'a\x00')], NOW_NS),
     JSON, 'NUL byte in the value of label \\"service_name\\" at offset 1')

# ---- what is accepted ----------------------------------------------------------------------------
case('remote write: now + 5 min is fine', 204, 'POST', '/api/v1/write',
     snappy(series([('__name__', 'iv_good'), ('job', 'a')], [(1.0, NOW_MS), (2.0, NOW_MS + 300000)])), RW)
case('Loki push: a NUL in the line is stored', 204, 'POST', '/loki/api/v1/push',
     loki({'app': 'iv_line'}, NOW_NS, 'a\x00b'), JSON)
st, body = send('GET', '/loki/api/v1/query_range?query=%7Bapp%3D%22iv_line%22%7D&start=' + str(NOW_NS - 10**9) +
                '&end=' + str(NOW_NS + 10**9))
ok = st == 200 and '"a\\u0000b"' in body
print('%-4s %-52s %d %s' % ('ok' if ok else 'FAIL', 'the line comes back byte for byte', st, body[:200]))
if not ok:
    failures.append('line round trip')

# ---- counters ------------------------------------------------------------------------------------
st, metrics = send('GET', '/metrics')
want = {'cairn_samples_rejected_total{reason="too_far_in_future"}': 4,
        'cairn_samples_rejected_total{reason="too_old"}': 1}
for k, v in want.items():
    got = [ln for ln in metrics.splitlines() if ln.startswith(k + ' ')]
    ok = got and int(float(got[0].split()[1])) == v
    print('%-4s %-52s %s' % ('ok' if ok else 'FAIL', k, got))
    if not ok:
        failures.append(k)
print('%d failed' % len(failures))
sys.exit(1 if failures else 0)
