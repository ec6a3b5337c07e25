#!/usr/bin/env bash
# Live tail over WebSocket (/loki/api/v1/tail), end to end with a real
# client (tests/integration/loki_tail.py, an RFC 6455 client on Python's
# standard library): handshake, history then live entries, a late arrival,
# ping/pong, categorize-labels 3-tuples, client close, bad requests, the
# bound on concurrent tails; then SIGTERM with a tail open: the client gets
# close 1001 and cairn exits 0 promptly.
. "$(dirname "$0")/common.bash"

start_cairn "$T/data"
"$PY" "$IT/loki_tail.py" "$PORT" main >"$T/tail_main.log" 2>&1 || { cat "$T/tail_main.log"; die "tail checks failed"; }

# shutdown with a tail open
"$PY" "$IT/loki_tail.py" "$PORT" shutdown >"$T/tail_shutdown.log" 2>&1 &
CLIENT=$!
PIDS+=("$CLIENT")
wait_for 10 grep -q '^open' "$T/tail_shutdown.log" || die "tail did not open"
t0=$(date +%s%N)
stop_cairn
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$CLIENT" || { cat "$T/tail_shutdown.log"; die "shutdown client failed"; }
grep -q '^8 1001 ' "$T/tail_shutdown.log" || { cat "$T/tail_shutdown.log"; die "no close 1001 on shutdown"; }
[ "$ms" -lt 5000 ] || die "SIGTERM with a tail open took $ms ms"
log "ok (stop with an open tail: $ms ms)"
