#!/usr/bin/env bash
# Atomicity across a crash: 4 client threads send numbered write requests
# (remote write, text import, Loki JSON) and record every 2xx; cairn is killed
# with SIGKILL mid-stream, restarted on the same data dir (WAL replay), and
# then every acknowledged request must be there in full, and every request
# that is there at all (acknowledged or not) must be there in full: a request
# is never half stored. Done twice, the second time on top of the first.
. "$(dirname "$0")/common.bash"
ACK=$T/acks.txt
: >"$ACK"
for round in 1 2; do
  start_cairn "$T/data"
  timeout 60 "$PY" "$IT/crash_client.py" "$PORT" "$ACK" 30 $((round * 1000000)) >"$T/client.log" 2>&1 &
  CLIENT=$!
  PIDS+=("$CLIENT")
  sleep 2.5
  kill -KILL "$CAIRN_PID"
  wait "$CAIRN_PID" 2>/dev/null || true
  rc=0
  wait "$CLIENT" || rc=$?
  [ "$rc" -eq 0 ] || die "client failed: $(cat "$T/client.log")"
  log "round $round: $(wc -l <"$ACK") acknowledged requests so far"
done
start_cairn "$T/data"
stop_cairn
"$CAIRN" dump --data "$T/data" >"$T/metrics_dump.txt"
"$CAIRN" dump --data "$T/data" --logs >"$T/logs_dump.txt"

"$PY" - "$ACK" "$T/metrics_dump.txt" "$T/logs_dump.txt" "$IT" <<'EOF'
import collections, sys
sys.path.insert(0, sys.argv[4])
import cairn_dump
PER_REQ = 60
acks = [l.split() for l in open(sys.argv[1]) if l.strip()]
count = collections.Counter()
for labels, t, v in cairn_dump.metrics(open(sys.argv[2]).read()):
    d = dict(labels)
    kind = {'crash_rw': 'r', 'crash_text': 'm'}[d['__name__']]
    count[(kind, int(d['req']))] += 1
for labels, t, meta, line in cairn_dump.logs(open(sys.argv[3], encoding='utf-8').read()):
    count[('l', int(dict(labels)['req']))] += 1
ok = True
missing = [(k, n) for k, n in acks if count[(k, int(n))] != PER_REQ]
partial = [(k, c) for k, c in count.items() if c != PER_REQ]
print('%d acknowledged requests, %d requests stored (%d stored without an ack: in flight at the kill)'
      % (len(acks), len(count), len(set(count) - {(k, int(n)) for k, n in acks})))
if len(acks) < 30:
    print('too few requests acknowledged to mean anything'); ok = False
if missing:
    ok = False; print('acknowledged but not fully stored:', missing[:10], [count[(k, int(n))] for k, n in missing[:10]])
if partial:
    ok = False; print('partially stored requests:', partial[:10])
sys.exit(0 if ok else 1)
EOF
log ok
