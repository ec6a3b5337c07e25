#!/usr/bin/env bash
# bench_prom_compare.sh — bytes/sample of cairn's stored chunks + index against a
# Prometheus TSDB block built from the same samples.
#
#   bench/bench_prom_compare.sh [N_SERIES] [N_SAMPLES] [WORKDIR]
#   (defaults: 10000 series x 480 samples = 2 h at 15 s; WORKDIR a fresh mktemp -d)
#   BUILD=build/x (default build/bench) or BIN=path/to/bench_engine
#
# 1. bench_engine om writes the dataset (bench/dataset.h) as OpenMetrics text;
# 2. `promtool tsdb create-blocks-from openmetrics` turns it into blocks (Debian
#    package `prometheus`, installed here with apt-get when promtool is missing);
#    each block's chunks/ segment files and its index file are summed;
# 3. bench_engine size ingests the same data through cairn.h, checkpoints, and
#    prints cairn's figures (logical bytes in LMDB, pages in use, file size).
# Prometheus cuts chunks at 2 h block boundaries (aligned to the epoch) as well as
# at 120 samples; cairn cuts at 120 samples or a 2 h span. Both figures are over
# the same sample count, printed by both tools.
set -euo pipefail
cd "$(dirname "$0")/.."
N_SERIES=${1:-10000}
N_SAMPLES=${2:-480}
WORK=${3:-$(mktemp -d /tmp/cairn-prom-XXXXXX)}
BUILD=${BUILD:-build/bench}
mkdir -p "$WORK"

if ! command -v promtool >/dev/null 2>&1; then
    echo "promtool missing: installing Debian package prometheus" >&2
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq prometheus >/dev/null
fi
# BIN=path/to/bench_engine skips the build
if [ -z "${BIN:-}" ]; then
    make -s BUILD="$BUILD" "$BUILD/bench/bench_engine"
    BIN="$BUILD/bench/bench_engine"
fi

echo "== machine: $(lscpu | grep -m1 'Model name' | sed 's/.*: *//'), nproc $(nproc); $(promtool --version 2>&1 | head -1)"
OM="$WORK/data.om"
rm -rf "$WORK/prom" "$WORK/cairn"
"$BIN" om "$N_SERIES" "$N_SAMPLES" "$OM"
t0=$(date +%s.%N)
promtool tsdb create-blocks-from openmetrics "$OM" "$WORK/prom" >"$WORK/promtool.log" 2>&1
t1=$(date +%s.%N)
samples=$((N_SERIES * N_SAMPLES))
chunks=0; index=0; blocks=0
for b in "$WORK"/prom/*/; do
    [ -f "$b/index" ] || continue
    blocks=$((blocks + 1))
    index=$((index + $(stat -c %s "$b/index")))
    for c in "$b"/chunks/*; do chunks=$((chunks + $(stat -c %s "$c"))); done
done
awk -v s="$samples" -v c="$chunks" -v i="$index" -v b="$blocks" -v t="$(echo "$t1 - $t0" | bc)" 'BEGIN {
    printf "prometheus: %d samples in %d block(s) (promtool %.1f s)\n", s, b, t
    printf "  chunks %d B  %.3f B/sample\n", c, c / s
    printf "  index  %d B  %.3f B/sample\n", i, i / s
    printf "  chunks + index: %.3f B/sample\n", (c + i) / s }'
rm -f "$OM"
"$BIN" size "$N_SERIES" "$N_SAMPLES" "$WORK/cairn"
rm -rf "$WORK/prom"
[ -z "${3:-}" ] && rm -rf "$WORK"
exit 0
