#!/usr/bin/env bash
# Bad input over HTTP (tests/integration/bad_input.py): truncated snappy, wrong
# protobuf wire types, invalid label names, out-of-range timestamps, a 10 MB
# line, invalid UTF-8, gzip bombs, oversized bodies, unsupported media types.
# Each gets its 4xx with a message, /-/healthy keeps answering, and afterwards
# the data dir holds only the marker written at the end: nothing partial from
# any rejected request.
. "$(dirname "$0")/common.bash"
start_cairn "$T/data" --max-body-bytes 16777216
"$PY" "$IT/bad_input.py" "$PORT" >"$T/bad_input.log" 2>&1 || { cat "$T/bad_input.log"; die "bad input cases failed"; }
# (read /metrics whole first: `curl | grep -q` under pipefail fails when grep exits early and curl gets SIGPIPE)
metrics=$(curl -sf "$URL/metrics")
grep -q 'cairn_write_requests_rejected_total{protocol="remote_write",reason="bad_data"} [1-9]' <<<"$metrics" ||
  die "/metrics does not count the rejections"
stop_cairn
"$CAIRN" dump --data "$T/data" >"$T/metrics_dump.txt"
"$CAIRN" dump --data "$T/data" --logs >"$T/logs_dump.txt"
[ "$(wc -l <"$T/metrics_dump.txt")" -eq 1 ] && grep -q '^{__name__="marker_ok", phase="after"} 1 ' "$T/metrics_dump.txt" ||
  { cat "$T/metrics_dump.txt"; die "unexpected metric data stored"; }
[ ! -s "$T/logs_dump.txt" ] || { head "$T/logs_dump.txt"; die "log lines from rejected requests were stored"; }
log ok
