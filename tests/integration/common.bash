# Sourced by tests/integration/*.sh (this file is not a test itself: it does not end in .sh).
#
# Gives each test: a temp dir ($T) removed on exit, a process list killed on
# exit (by PID, never by name), `cairn serve` on 127.0.0.1 with a port it picks
# itself (--listen 127.0.0.1:0, read back from its log), bounded waits, and
# installers for the Debian and npm peers the tests drive.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
CAIRN=$ROOT/$BUILD/cairn
IT=$ROOT/tests/integration
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T=$(mktemp -d "${TMPDIR:-/tmp}/cairn-it.XXXXXX")
PIDS=()

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ "$rc" -ne 0 ] && [ -d "$T" ]; then
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "---- $f (tail)"; tail -n 30 "$f"; }; done >&2
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$CAIRN" ] || die "$CAIRN is not built (run make BUILD=$BUILD $BUILD/cairn)"

# wait_for SECONDS CMD... : retry CMD every 0.1 s until it succeeds or time runs out.
wait_for() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while ! "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.1
  done
}

# A free TCP port on 127.0.0.1 (for peers that cannot pick their own).
free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_cairn DATA_DIR [extra serve flags...]: sets CAIRN_PID, PORT, URL; waits for /-/ready.
start_cairn() {
  local data=$1; shift
  CAIRN_STARTS=$((${CAIRN_STARTS:-0} + 1))
  local lg=$T/cairn.$CAIRN_STARTS.log
  "$CAIRN" serve --listen 127.0.0.1:0 --data "$data" "$@" >"$lg" 2>&1 &
  CAIRN_PID=$!
  PIDS+=("$CAIRN_PID")
  local end=$((SECONDS + 15))
  PORT=""
  while [ -z "$PORT" ]; do
    kill -0 "$CAIRN_PID" 2>/dev/null || die "cairn exited during start-up"
    [ $SECONDS -lt $end ] || die "cairn did not report its port"
    PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$lg" | tail -n 1 | sed 's/.*://') || true
    [ -n "$PORT" ] || sleep 0.05
  done
  URL=http://127.0.0.1:$PORT
  wait_for 60 curl -sf "$URL/-/ready" || die "cairn not ready within 60 s"
}

# stop_cairn: SIGTERM and require a clean exit 0 within 30 s.
stop_cairn() {
  kill -TERM "$CAIRN_PID"
  local end=$((SECONDS + 30))
  while kill -0 "$CAIRN_PID" 2>/dev/null; do
    [ $SECONDS -lt $end ] || die "cairn did not stop within 30 s of SIGTERM"
    sleep 0.05
  done
  local rc=0
  wait "$CAIRN_PID" || rc=$?
  [ "$rc" -eq 0 ] || die "cairn exited with status $rc after SIGTERM"
}

# apt_need PKG...: install Debian packages when missing (the test's peers).
apt_need() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# npm_need: the pinned npm peers of package-lock.json.
npm_need() {
  [ -d "$IT/node_modules/winston-loki" ] && [ -d "$IT/node_modules/@opentelemetry/sdk-metrics" ] && return 0
  log "npm ci --prefix tests/integration"
  (cd "$IT" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1) || die "npm ci failed"
}
