#!/usr/bin/env bash
# winston-loki (npm) pushes a known set of lines (unicode, quotes, tabs, a 5 kB
# line) to cairn over protobuf+snappy and over JSON. Every line must be stored
# byte-exact, with the timestamp it was given and the labels the shipper sent
# (plus the service_name cairn derives from `app`, as Loki does), and nothing
# else may be stored.
. "$(dirname "$0")/common.bash"
npm_need
start_cairn "$T/data"
timeout 60 node "$IT/loki_winston.js" "$URL" "$T/expected.json" >"$T/node.log" 2>&1 || die "winston-loki script failed"
curl -sf "$URL/metrics" >"$T/metrics.txt"
stop_cairn
"$CAIRN" dump --data "$T/data" --logs >"$T/dump.txt"

"$PY" - "$T/expected.json" "$T/dump.txt" "$T/metrics.txt" "$IT" <<'EOF'
import json, sys
sys.path.insert(0, sys.argv[4])
import cairn_dump
exp = json.load(open(sys.argv[1]))
want = []
for e in exp:
    labels = dict(e['labels'])
    labels['service_name'] = labels['app']
    want.append((tuple(sorted(labels.items())), int(e['t_ns']), e['line']))
have = [(l, t, line) for l, t, meta, line in cairn_dump.logs(open(sys.argv[2], encoding='utf-8').read())]
print('sent %d lines, cairn has %d' % (len(want), len(have)))
ok = sorted(want) == sorted(have)
if not ok:
    for w in want:
        if w not in have: print('missing:', w[0], w[1], repr(w[2][:80]))
    for h in have:
        if h not in want: print('unexpected:', h[0], h[1], repr(h[2][:80]))
m = open(sys.argv[3]).read()
for proto in ('loki_protobuf', 'loki_json'):
    line = 'cairn_log_lines_received_total{protocol="%s"} %d' % (proto, len(want) // 2)
    if line not in m:
        print('metrics lack:', line); ok = False
sys.exit(0 if ok else 1)
EOF
log ok
