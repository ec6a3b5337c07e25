#!/usr/bin/env bash
# Smoke mode of bench/compare (issue 7): a tiny dataset (182 series x 80 scrapes)
# through cairn, Prometheus 2.42 and VictoriaMetrics 1.79 (Debian packages,
# installed when missing), each started fresh on 127.0.0.1 by the harness and
# stopped by PID. `--check` makes it exit 1 unless every system started,
# received the remote-write load, held every sample (counted per metric name
# over the query API), answered every query of bench/compare_queries.txt on
# both endpoints, cairn ingested the log load, and the report was written.
# Speed is never asserted; answers that differ from Prometheus' are reported,
# not failed (VictoriaMetrics' MetricsQL rate() differs by design).
. "$(dirname "$0")/common.bash"
apt_need prometheus victoria-metrics

cd "$ROOT"
# `make tests` built $BUILD/cairn already; the load generator is not part of it
make -s BUILD="$BUILD" "$BUILD/bench/compare_load" >"$T/make.log" 2>&1 || die "cannot build compare_load"
timeout 110 "$PY" bench/compare --scale smoke --build "$BUILD" --no-make --out "$T/out" --no-charts --check \
  >"$T/report.log" 2>"$T/compare.log" || die "bench/compare --check failed (see below)"
grep -q '^| holds every sample (verified) | yes | yes | yes |' "$T/out/report.md" || die "report lacks the verification row"
grep -q 'PromQL latency, /api/v1/query_range' "$T/out/report.md" || die "report lacks the latency table"
"$PY" - "$T/out/results.json" <<'PYEOF' || die "results.json incomplete"
import json, sys
r = json.load(open(sys.argv[1]))
for n in ("cairn", "prometheus", "victoriametrics"):
    s = r["systems"][n]
    assert s["verify"]["ok"], (n, s["verify"])
    assert s["ingest"]["ok"] == 1, n
    assert s["rss_ingest"] > 0 and s["disk_stopped"]["alloc"] > 0, n
assert r["promtool"]["blocks"] >= 1
assert r["logs"]["probes"]["error_lines"]["cairn"] is not None
PYEOF
log "ok: $(grep -c '^| `' "$T/out/report.md") query rows"
