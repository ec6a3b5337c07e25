#!/usr/bin/env bash
# HTTP edge cases with default flags (tests/integration/http_edge.py): NUL and
# invalid UTF-8 in parameters, ambiguous framing (Content-Length with chunked,
# two lengths), HTTP/1.1 without Host, the per-IP and global connection caps,
# the 10 s header deadline against a slowloris. Then --auth-file failing
# closed: a file with only read lines leaves the write paths closed, a read
# credential never opens a write path, an empty file refuses to start, and
# the start-up log says what is protected.
. "$(dirname "$0")/common.bash"
start_cairn "$T/data"
grep -q 'cairn: http limits: 512 connections, 128 per client address, headers within 10 s' "$T/cairn.1.log" ||
  die "no start-up line with the HTTP limits"
grep -q 'cairn: auth: no --auth-file: every path is open' "$T/cairn.1.log" || die "no start-up line about auth"
timeout 180 "$PY" "$IT/http_edge.py" "$PORT" >"$T/http_edge.log" 2>&1 || { cat "$T/http_edge.log"; die "HTTP edge cases failed"; }
cat "$T/http_edge.log" >&2
metrics=$(curl -sf "$URL/metrics")
grep -Eq '^cairn_http_header_timeouts_total ([2-9]|[1-9][0-9]+)$' <<<"$metrics" ||
  { grep header_timeouts <<<"$metrics"; die "/metrics does not count the connections cut at the header deadline"; }
stop_cairn

# ---- auth fails closed ----
printf '# only a read credential\nread basic grafana:s3cret pass\n' >"$T/auth_read_only"
start_cairn "$T/data" --auth-file "$T/auth_read_only"
grep -q 'cairn: auth: every path needs credentials except /-/healthy, /-/ready, /ready; read paths (GET): 1 basic, 0 bearer; write paths (ingest): no credential: closed to everyone' \
  "$T/cairn.2.log" || { cat "$T/cairn.2.log"; die "no start-up line saying what auth protects"; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
line='auth_probe 1'
[ "$(code --data-binary "$line" "$URL/api/v1/import/prometheus")" = 401 ] || die "write path open without credentials"
[ "$(code -u 'grafana:s3cret pass' --data-binary "$line" "$URL/api/v1/import/prometheus")" = 401 ] ||
  die "a read credential opened a write path"
[ "$(code -H 'Content-Type: application/json' --data-binary '{"streams":[]}' "$URL/loki/api/v1/push")" = 401 ] ||
  die "Loki push open without credentials"
[ "$(code "$URL/api/v1/query?query=1")" = 401 ] || die "read path open without credentials"
[ "$(code -u 'grafana:wrong' "$URL/api/v1/query?query=1")" = 401 ] || die "wrong password accepted"
[ "$(code -u 'grafana:s3cret pass' "$URL/api/v1/query?query=1")" = 200 ] || die "read credential refused on a read path"
[ "$(code "$URL/-/healthy")" = 200 ] && [ "$(code "$URL/-/ready")" = 200 ] || die "probes not open"
stop_cairn
printf 'write bearer tok-w\n' >"$T/auth_write_only"
start_cairn "$T/data" --auth-file "$T/auth_write_only"
[ "$(code "$URL/api/v1/query?query=1")" = 401 ] || die "a write-only file left the read paths open"
[ "$(code -H 'Authorization: Bearer tok-w' "$URL/api/v1/query?query=1")" = 401 ] || die "a write token opened a read path"
stop_cairn
printf '# nothing but comments\n\n   \n' >"$T/auth_empty"
rc=0
timeout 10 "$CAIRN" serve --listen 127.0.0.1:0 --data "$T/data" --auth-file "$T/auth_empty" >"$T/empty.out" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { cat "$T/empty.out"; die "an auth file without credentials did not refuse to start (status $rc)"; }
grep -q 'has no credentials' "$T/empty.out" || { cat "$T/empty.out"; die "no clear error for an empty auth file"; }
log ok
