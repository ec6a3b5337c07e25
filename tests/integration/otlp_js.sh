#!/usr/bin/env bash
# The OpenTelemetry JS OTLP/HTTP exporters (npm, JSON and protobuf, chunked
# bodies) send known metrics and logs. Metrics must arrive under Prometheus'
# OTLP names (it_requests_total, it_latency_milliseconds_bucket{le}, ...) with
# job/instance from the resource and the final values; logs must be stored
# byte-exact at their exact nanosecond timestamps in a stream labelled
# service_name, with record attributes as structured metadata. Every request
# must have been answered 200 (the exporters report failures on stderr, and
# cairn's per-route counters must show no non-2xx answer).
. "$(dirname "$0")/common.bash"
npm_need
start_cairn "$T/data"
timeout 60 node "$IT/otlp_js.js" "$URL" "$T/expected.json" >"$T/node.log" 2>&1 || die "otel script failed: $(cat "$T/node.log")"
curl -sf "$URL/metrics" >"$T/metrics.txt"
stop_cairn
"$CAIRN" dump --data "$T/data" >"$T/metrics_dump.txt"
"$CAIRN" dump --data "$T/data" --logs >"$T/logs_dump.txt"

"$PY" - "$T/expected.json" "$T/metrics_dump.txt" "$T/logs_dump.txt" "$T/metrics.txt" "$T/node.log" "$IT" <<'EOF'
import json, re, sys
sys.path.insert(0, sys.argv[6])
import cairn_dump
exp = json.load(open(sys.argv[1]))
ok = True
last = {}
for labels, t, v in cairn_dump.metrics(open(sys.argv[2]).read()):
    if labels not in last or t >= last[labels][0]:
        last[labels] = (t, v)
for m in exp['metrics']:
    want = dict(m['labels']); want['__name__'] = m['name']
    hits = [(l, tv) for l, tv in last.items() if all(dict(l).get(k) == v for k, v in want.items())]
    if len(hits) != 1 or hits[0][1][1] != m['value']:
        ok = False
        print('metric %s: want %s, found %s' % (want, m['value'], [(dict(l), tv) for l, tv in hits]))
print('checked %d metric expectations over %d series' % (len(exp['metrics']), len(last)))
have = list(cairn_dump.logs(open(sys.argv[3], encoding='utf-8').read()))
for e in exp['logs']:
    hits = [h for h in have if dict(h[0]).get('service_name') == e['labels']['service_name']
            and h[1] == int(e['t_ns']) and h[3] == e['line']]
    if len(hits) != 1:
        ok = False; print('log line missing or repeated:', e, len(hits)); continue
    meta = dict(hits[0][2])
    for k, v in e['meta'].items():
        if meta.get(k) != v:
            ok = False; print('log line %r: metadata %s, want %s=%s' % (e['line'], meta, k, v))
if len(have) != len(exp['logs']):
    ok = False; print('cairn has %d log lines, sent %d' % (len(have), len(exp['logs'])))
print('checked %d log lines' % len(exp['logs']))
text = open(sys.argv[4]).read()
bad = [l for l in text.splitlines() if l.startswith('cairn_http_requests_total{route="otlp')
       and 'code="200"' not in l]
if bad:
    ok = False; print('non-200 answers:', bad)
if 'error' in open(sys.argv[5]).read().lower():
    ok = False; print('exporter reported errors:', open(sys.argv[5]).read()[:2000])
sys.exit(0 if ok else 1)
EOF
log ok
