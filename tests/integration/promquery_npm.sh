#!/usr/bin/env bash
# The npm prometheus-query client (shared/docs/clients.md 3.5) reads instant,
# scalar and range results, series, label names and values from cairn, in
# GET mode and POST-form mode, and gets bad_data errors as objects.
. "$(dirname "$0")/common.bash"
command -v node >/dev/null || die "node is not installed"
npm_need
[ -d "$IT/node_modules/prometheus-query" ] || (cd "$IT" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) ||
  die "npm ci failed"

start_cairn "$T/data"
T0=$(( $(date +%s) / 60 * 60 - 3600 ))
for i in $(seq 0 40); do
  ts=$(( (T0 + 15 * i) * 1000 ))
  echo "cairn_test_total{job=\"node\",code=\"200\"} $((15 * i)) $ts"
  echo "cairn_test_total{job=\"node\",code=\"500\"} $((3 * i)) $ts"
done > "$T/m.txt"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/m.txt" "$URL/api/v1/import/prometheus")
[ "$code" = 204 ] || die "import answered $code"
timeout 60 node "$IT/promquery_npm.js" "$URL" "$T0" || die "prometheus-query checks failed"
stop_cairn
log "ok"
