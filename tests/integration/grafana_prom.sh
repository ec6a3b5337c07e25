#!/usr/bin/env bash
# Grafana's Prometheus data source, replayed: loads a known dataset through
# the text import endpoint, then sends the exact requests the data source
# makes (shared/docs/api-contract.md A.7: Save & test, panel range query,
# instant query, metric list, label keys/values, series client, metadata,
# exemplar probe, rules) as GET and POST, checks status codes, envelopes,
# key order and values, then malformed parameters (400 + errorType) and that
# the server still serves afterwards.
. "$(dirname "$0")/common.bash"

start_cairn "$T/data"
NOW=$(( $(date +%s) / 60 * 60 ))
T0=$(( NOW - 600 ))
# 41 samples 15 s apart for two counters and a histogram, ending at NOW
"$PY" - "$T0" > "$T/metrics.txt" <<'PY'
import sys
t0 = int(sys.argv[1])
print("# HELP http_requests_total Requests by model and code.")
print("# TYPE http_requests_total counter")
for i in range(41):
    ts = (t0 + 15 * i) * 1000
    print(f'http_requests_total{{model="small",code="200"}} {10*i} {ts}')
    print(f'http_requests_total{{model="small",code="500"}} {i} {ts}')
print("# TYPE request_duration_seconds histogram")
for i in range(41):
    ts = (t0 + 15 * i) * 1000
    for le, f in (("0.1", 5), ("0.5", 8), ("1", 9), ("+Inf", 10)):
        print(f'request_duration_seconds_bucket{{model="small",le="{le}"}} {f*i} {ts}')
    print(f'request_duration_seconds_count{{model="small"}} {10*i} {ts}')
PY
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$T/metrics.txt" "$URL/api/v1/import/prometheus")
[ "$code" = 204 ] || die "import answered $code"

"$PY" - "$URL" "$NOW" <<'PY' || die "replay failed"
import json, sys, urllib.request, urllib.error
URL, NOW = sys.argv[1], int(sys.argv[2])
S, E = NOW - 600, NOW
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
fails = 0

def call(method, path, body=None, headers=None):
    data = body.encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()

def check(name, cond, detail=""):
    global fails
    if not cond:
        fails += 1
        print(f"FAIL {name}: {detail}", file=sys.stderr)

def ok(name, method, path, body=None, headers=None):
    st, h, txt = call(method, path, body, headers)
    check(name + " status", st == 200, f"{st} {txt[:300]}")
    check(name + " content-type", h.get("Content-Type", "").startswith("application/json"), h.get("Content-Type"))
    j = json.loads(txt)
    check(name + " envelope", list(j)[:2] == ["status", "data"] and j["status"] == "success", txt[:200])
    return j["data"], txt

# 1. Save & test (POST, the plugin backend's default), then buildinfo
d, txt = ok("health", "POST", "/api/v1/query", "query=1%2B1&time=4", FORM)
check("health exact", txt == '{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}', txt)
d, txt = ok("buildinfo", "GET", "/api/v1/status/buildinfo")
check("buildinfo no features", "features" not in d and d["version"].count(".") == 2, txt)

# 2. panel range query, aligned start/end, float step; GET and POST agree
q = "sum%20by%20(model)%20(rate(http_requests_total%5B1m0s%5D))"
for m in ("POST", "GET"):
    body = f"end={E}&query={q}&start={S}&step=15"
    d, txt = ok("range " + m, m, "/api/v1/query_range" + ("" if m == "POST" else "?" + body), body if m == "POST" else None, FORM if m == "POST" else None)
    check("range resultType first", txt.index('"resultType"') < txt.index('"result"'))
    check("range matrix", d["resultType"] == "matrix" and len(d["result"]) == 1, txt[:300])
    vals = d["result"][0]["values"]
    check("range metric", d["result"][0]["metric"] == {"model": "small"}, d["result"][0]["metric"])
    check("range ts numbers on grid", all(isinstance(t, (int, float)) and (t - S) % 15 == 0 for t, _ in vals), vals[:3])
    check("range values strings", all(isinstance(v, str) for _, v in vals))
    check("range rate", abs(float(vals[-1][1]) - 11 / 15) < 1e-9, vals[-1])

# error ratio and histogram quantiles (docs/grafana.md examples)
d, _ = ok("ratio", "POST", "/api/v1/query",
          f"query=sum(rate(http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D))%20%2F%20sum(rate(http_requests_total%5B5m%5D))&time={E}", FORM)
check("ratio value", d["resultType"] == "vector" and abs(float(d["result"][0]["value"][1]) - 1 / 11) < 1e-9, d)
d, _ = ok("p95", "POST", "/api/v1/query",
          f"query=histogram_quantile(0.95%2C%20sum%20by%20(le)%20(rate(request_duration_seconds_bucket%5B5m%5D)))&time={E}", FORM)
check("p95 value", float(d["result"][0]["value"][1]) == 1.0, d)  # rank 9.5 of 10 lands in +Inf: the last finite bound
check("p95 shape", d["resultType"] == "vector" and len(d["result"]) == 1, d)

# 3. instant query with float time
d, txt = ok("instant", "POST", "/api/v1/query", f"query=http_requests_total&time={E}.5", FORM)
check("instant vector", d["resultType"] == "vector" and len(d["result"]) == 2, txt[:300])
check("instant ts", all(r["value"][0] == E + 0.5 for r in d["result"]), txt[:300])
check("instant name kept", all(r["metric"]["__name__"] == "http_requests_total" for r in d["result"]))

# 4-8. label browser, variables, series client, metadata
d, _ = ok("metric list", "GET", f"/api/v1/label/__name__/values?end={E}&limit=40000&start={S}")
check("metric list", "http_requests_total" in d and "request_duration_seconds_bucket" in d and d == sorted(d), d)
for m in ("POST", "GET"):
    body = f"end={E}&limit=40000&match%5B%5D=http_requests_total&start={S}"
    d, _ = ok("labels " + m, m, "/api/v1/labels" + ("" if m == "POST" else "?" + body), body if m == "POST" else None, FORM if m == "POST" else None)
    check("labels", d == ["__name__", "code", "model"], d)
d, _ = ok("label values", "GET", f"/api/v1/label/code/values?end={E}&limit=40000&match%5B%5D=http_requests_total&start={S}")
check("label values", d == ["200", "500"], d)
d, _ = ok("series", "POST", "/api/v1/series", f"end={E}&limit=40000&match%5B%5D=%7B__name__%3D~%22http.*%22%7D&start={S}", FORM)
check("series", len(d) == 2 and all(s["__name__"] == "http_requests_total" for s in d), d)
d, _ = ok("metadata", "GET", "/api/v1/metadata?limit=40000")
check("metadata", d.get("http_requests_total", [{}])[0].get("type") == "counter", d)
d, _ = ok("exemplars", "GET", f"/api/v1/query_exemplars?end={E*1000}&query=test&start={S*1000}")
check("exemplars", d == [], d)
d, _ = ok("rules", "GET", "/api/v1/rules")
check("rules", d == {"groups": []}, d)
d, _ = ok("tsdb", "GET", "/api/v1/status/tsdb")
check("tsdb", d["seriesCountByMetricName"][0]["name"] == "request_duration_seconds_bucket", d)

# malformed parameters: 400 + bad_data, server keeps serving
bad = [
    ("GET", f"/api/v1/query_range?query=up&start=nope&end={E}&step=15", None),
    ("GET", f"/api/v1/query_range?query=up&start={E}&end={S}&step=15", None),
    ("POST", "/api/v1/query_range", f"query=up&start={S}&end={E}&step=0"),
    ("POST", "/api/v1/query_range", f"query=up&start={S}&end={E}&step=-15"),
    ("GET", f"/api/v1/query_range?query=up&start=0&end={E}&step=1", None),
    ("GET", "/api/v1/query?query=sum(rate(", None),
    ("GET", "/api/v1/label/not-a-label/values", None),
    ("GET", "/api/v1/series", None),
]
for m, p, b in bad:
    st, h, txt = call(m, p, b, FORM if b else None)
    j = json.loads(txt)
    check("bad " + p, st == 400 and j["status"] == "error" and j["errorType"] == "bad_data" and j["error"], f"{st} {txt}")
st, _, txt = call("POST", "/api/v1/query", "query=1%2B1&time=4", FORM)
check("still serving", st == 200, txt)
sys.exit(1 if fails else 0)
PY
stop_cairn
log "ok"
