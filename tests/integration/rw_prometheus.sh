#!/usr/bin/env bash
# Real Prometheus 2.42 (Debian) scrapes a real node_exporter, itself and cairn's
# own /metrics every second and remote-writes everything to `cairn serve`.
# After ~20 s every series Prometheus holds for a compared 12 s window must be
# in cairn with exactly the same samples: timestamps equal, values equal bit
# for bit (both sides print round-trip-exact decimals). Stale markers, which
# Prometheus' API hides, are the only extra samples allowed on cairn's side.
# Also checks that Prometheus could scrape cairn's /metrics (up == 1).
. "$(dirname "$0")/common.bash"
apt_need prometheus prometheus-node-exporter

start_cairn "$T/data"
NE_PORT=$(free_port)
PROM_PORT=$(free_port)

timeout 120 prometheus-node-exporter --web.listen-address="127.0.0.1:$NE_PORT" \
  --collector.disable-defaults --collector.cpu --collector.meminfo --collector.loadavg \
  --collector.stat --collector.time --collector.uname >"$T/node_exporter.log" 2>&1 &
PIDS+=($!)

cat >"$T/prom.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$NE_PORT']}]
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$PROM_PORT']}]
  - job_name: cairn
    static_configs: [{targets: ['127.0.0.1:$PORT']}]
remote_write:
  - url: $URL/api/v1/write
    queue_config: {batch_send_deadline: 500ms, max_samples_per_send: 2000}
    metadata_config: {send_interval: 2s}
EOF
timeout 120 prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
PIDS+=("$PROM_PID")
PROM=http://127.0.0.1:$PROM_PORT
wait_for 30 curl -sf "$PROM/-/ready" || die "prometheus not ready"

# Let it scrape and ship for a while; the window ends 4 s before we look, so
# every sample in it has had several batch deadlines to arrive.
sleep 18
T_END=$("$PY" -c 'import time; print("%d.0005" % (time.time() - 4))')
T_START=$("$PY" -c "print('%.4f' % ($T_END - 12))")
sleep 4
curl -sf "$PROM/api/v1/query" --data-urlencode "query={__name__=~\".+\"}[12s]" --data-urlencode "time=$T_END" >"$T/prom_window.json" ||
  die "query to prometheus failed"
curl -sf "$PROM/api/v1/query" --data-urlencode 'query=up' >"$T/up.json" || die "up query failed"
# Prometheus first (its shutdown flushes to a live cairn), then cairn, cleanly.
kill -TERM "$PROM_PID"
wait_for 30 bash -c "! kill -0 $PROM_PID" || die "prometheus did not stop"
stop_cairn

START_MS=$("$PY" -c "import math; print(math.ceil($T_START * 1000))")
END_MS=$("$PY" -c "import math; print(math.floor($T_END * 1000))")
"$CAIRN" dump --data "$T/data" --start "$START_MS" --end "$END_MS" >"$T/cairn_window.txt"

"$PY" - "$T/prom_window.json" "$T/cairn_window.txt" "$T/up.json" "$IT" <<'EOF'
import json, math, sys
sys.path.insert(0, sys.argv[4])
import cairn_dump

prom = json.load(open(sys.argv[1]))
assert prom['status'] == 'success', prom
want = {}
for s in prom['data']['result']:
    labels = tuple(sorted(s['metric'].items()))
    for t, v in s['values']:
        want[(labels, round(float(t) * 1000))] = float(v)
have = {}
for labels, t, v in cairn_dump.metrics(open(sys.argv[2]).read()):
    have[(labels, t)] = v

series_p = {k[0] for k in want}
series_c = {k[0] for k in have}
missing = [k for k in want if k not in have]
wrong = [k for k in want if k in have and cairn_dump.bits(want[k]) != cairn_dump.bits(have[k])
         and not (math.isnan(want[k]) and math.isnan(have[k]))]
extra = [k for k in have if k not in want and not math.isnan(have[k])]  # NaN extras = stale markers
print('prometheus: %d series, %d samples in the window; cairn: %d series, %d samples'
      % (len(series_p), len(want), len(series_c), len(have)))
ok = True
if len(want) < 500:
    print('too few samples compared (%d): Prometheus did not scrape enough' % len(want)); ok = False
for name, bad in (('missing in cairn', missing), ('different value', wrong), ('extra in cairn', extra)):
    if bad:
        ok = False
        print('%d samples %s, e.g.:' % (len(bad), name))
        for k in bad[:5]:
            print('   ', dict(k[0]), k[1], want.get(k), have.get(k))
up = json.load(open(sys.argv[3]))['data']['result']
jobs = {r['metric']['job']: r['value'][1] for r in up}
print('up:', jobs)
if jobs.get('cairn') != '1' or jobs.get('node') != '1':
    print('a scrape target is down'); ok = False
sys.exit(0 if ok else 1)
EOF
log "ok"
