#!/usr/bin/env bash
# Hostile input (issue 10): cairn with DEFAULT flags gets regex bombs, all-series
# queries over 30 days, nested 1 s subqueries, huge line_format output, long
# label values, NUL bytes, unbounded timestamps, reserved labels, smuggling-shaped
# and Host-less requests, a connection flood from one client and a slowloris.
# Each case must end within its deadline with its status and a message; /-/ready
# answers within 1 s throughout, and peak RSS stays under 1 GiB (see
# tests/integration/hostile.py and docs/limits.md).
. "$(dirname "$0")/common.bash"
start_cairn "$T/data"
"$PY" "$IT/hostile.py" "$PORT" "$CAIRN_PID" >"$T/hostile.log" 2>&1 || { cat "$T/hostile.log"; die "hostile input cases failed"; }
cat "$T/hostile.log" >&2
stop_cairn
log ok
