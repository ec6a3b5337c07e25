#!/usr/bin/env bash
# Ingest validation (issue 10, items 6 and 7, invalid bytes) over HTTP with
# default flags: far-future and too-old timestamps, reserved "__" labels, NUL
# and invalid UTF-8 on remote write, text import, OpenMetrics, Loki push and
# OTLP (tests/integration/ingest_validation.py). Afterwards the data dir holds
# only what the good requests sent, and `cairn import` applies the same window
# (and its flags) as the server.
. "$(dirname "$0")/common.bash"
start_cairn "$T/data"
"$PY" "$IT/ingest_validation.py" "$PORT" >"$T/iv.log" 2>&1 || { cat "$T/iv.log"; die "ingest validation cases failed"; }
stop_cairn
"$CAIRN" dump --data "$T/data" >"$T/metrics.txt"
grep -v '^{__name__="iv_good", job="a"} ' "$T/metrics.txt" | grep . && die "samples of refused requests were stored"
[ "$(wc -l <"$T/metrics.txt")" -eq 2 ] || { cat "$T/metrics.txt"; die "want the two good samples"; }
"$CAIRN" dump --data "$T/data" --logs >"$T/logs.txt"
[ "$(wc -l <"$T/logs.txt")" -eq 1 ] && grep -q 'app="iv_line"' "$T/logs.txt" || { cat "$T/logs.txt"; die "want the one good line"; }

# cairn import: the same window; --retention-metrics 0 allows a backfill, --ingest-max-future 0 the future
now_ms=$(( $(date +%s) * 1000 ))
printf 'iv_imp 1 %d\niv_imp 2 %d\n' $((now_ms - 40 * 86400000)) $((now_ms - 39 * 86400000)) >"$T/old.prom"
if "$CAIRN" import "$T/old.prom" --data "$T/imp" 2>"$T/imp.err"; then die "import of 40-day-old samples succeeded"; fi
grep -q 'is too old: older than the metrics retention' "$T/imp.err" || { cat "$T/imp.err"; die "import message"; }
"$CAIRN" import "$T/old.prom" --data "$T/imp" --retention-metrics 0 2>"$T/imp.err" || { cat "$T/imp.err"; die "backfill with retention 0"; }
printf 'iv_fut 1 %d\n' $((now_ms + 86400000)) >"$T/fut.prom"
if "$CAIRN" import "$T/fut.prom" --data "$T/imp" 2>"$T/imp.err"; then die "import of a sample a day ahead succeeded"; fi
grep -q 'is too far in the future' "$T/imp.err" || { cat "$T/imp.err"; die "import message (future)"; }
"$CAIRN" import "$T/fut.prom" --data "$T/imp" --ingest-max-future 2d 2>"$T/imp.err" || { cat "$T/imp.err"; die "--ingest-max-future 2d"; }
if "$CAIRN" import "$T/fut.prom" --data "$T/imp" --ingest-max-future soon 2>/dev/null; then die "bad duration accepted"; fi
[ "$("$CAIRN" dump --data "$T/imp" | wc -l)" -eq 3 ] || { "$CAIRN" dump --data "$T/imp"; die "want 3 imported samples"; }
log ok
