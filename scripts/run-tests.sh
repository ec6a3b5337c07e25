#!/usr/bin/env bash
# Run cairn's whole suite and end with exactly one line "N passed, M failed".
#   unit + crash tests: cmocka binaries (their own test counts are summed)
#   promqltest: Prometheus' PromQL test scripts (its case counts are summed)
#   fuzz corpora: replayed through every target (one test per target)
#   short fuzzing: each libFuzzer target for $FUZZ_SECONDS (default 4) when clang is present
#   integration: tests/integration/*.sh (one test each)
set -u
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-4}
passed=0
failed=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_cmocka() {  # binary
  local bin=$1 p f
  "$bin" >"$log" 2>&1
  local rc=$?
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed before cmocka could count
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then failures+=("$bin"); cat "$log"; fi
  printf '%-50s %3d passed, %d failed\n' "${bin#$BUILD/}" "$p" "$f"
}

one() {  # name, command...
  local name=$1; shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); printf '%-50s ok\n' "$name"
  else
    failed=$((failed + 1)); failures+=("$name"); cat "$log"; printf '%-50s FAILED\n' "$name"
  fi
}

for bin in $(ls "$BUILD"/tests/unit/*/test_* 2>/dev/null | grep -v '\.[od]$' | sort); do
  run_cmocka "$bin"
done
for bin in $(ls "$BUILD"/tests/crash/* 2>/dev/null | grep -v '\.[od]$' | sort); do
  run_cmocka "$bin"
done
# Prometheus' own PromQL test scripts (peer suite): its cases count in the totals.
if [ -x "$BUILD/promqltest" ]; then
  "$BUILD/promqltest" "${PROMQL_TESTDATA:-../shared/promql-testdata/prometheus-v3.14.0}" >"$log" 2>&1
  rc=$?
  cat "$log"
  line=$(grep -E '^promqltest: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  if [ -n "$line" ]; then
    p=$(echo "$line" | awk '{print $2}'); f=$(echo "$line" | awk '{print $4}')
  else
    p=0; f=1
  fi
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -ne 0 ] && failures+=("promqltest")
fi
for bin in $(ls "$BUILD"/replay/fuzz_* 2>/dev/null | sort); do
  n=$(basename "$bin")
  one "replay $n" "$bin" "tests/fuzz/corpus/${n#fuzz_}"
done
if [ "${CAIRN_NO_FUZZ:-0}" != 1 ] && command -v clang >/dev/null && ls tests/fuzz/fuzz_*.c >/dev/null 2>&1; then
  if make -s fuzz >"$log" 2>&1; then
    for src in tests/fuzz/fuzz_*.c; do
      n=$(basename "$src" .c); corpus=tests/fuzz/corpus/${n#fuzz_}
      work=$(mktemp -d)
      one "fuzz $n ${FUZZ_SECONDS}s" build/fuzz/"$n" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
        -artifact_prefix="$work/" "$work" "$corpus"
      rm -rf "$work"
    done
  else
    cat "$log"; failed=$((failed + 1)); failures+=("make fuzz")
  fi
fi
for t in $(ls tests/integration/*.sh 2>/dev/null | sort); do
  one "$(basename "$t")" env BUILD="$BUILD" bash "$t"
done

if [ ${#failures[@]} -ne 0 ]; then printf 'failed: %s\n' "${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
