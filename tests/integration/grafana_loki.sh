#!/usr/bin/env bash
# Grafana's Loki data source, replayed: pushes a known set of log lines
# (Loki push JSON, with structured metadata), then sends the requests the
# data source makes (shared/docs/api-contract.md B.5): Save & test, label
# browser, Explore range query with and without categorize-labels, the
# logs-volume histogram, log context (forward and backward around a line),
# a dashboard variable (label values with a selector), the query-size
# estimate (index/stats), error logs by request_id, and malformed requests.
# Checks status codes, key order (resultType, encodingFlags, result, stats;
# stream before values), tuple shapes and values.
. "$(dirname "$0")/common.bash"

start_cairn "$T/data"
NOW=$(date +%s)
T0=$(( (NOW - 300) * 1000000000 ))
"$PY" - "$T0" > "$T/push.json" <<'PY'
import json, sys
t0 = int(sys.argv[1])
streams = []
for app in ("web", "api"):
    vals = []
    for i in range(30):
        lvl = "error" if i % 10 == 3 else "info"
        line = f'level={lvl} msg="handled" model=small request_id={app}-{i} duration={i}ms'
        v = [str(t0 + i * 1_000_000_000), line]
        if i == 3:
            v.append({"trace_id": f"trace-{app}"})
        vals.append(v)
    streams.append({"stream": {"app": app, "env": "prod"}, "values": vals})
print(json.dumps({"streams": streams}))
PY
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$T/push.json" "$URL/loki/api/v1/push")
[ "$code" = 204 ] || die "push answered $code"

"$PY" - "$URL" "$T0" "$NOW" <<'PY' || die "replay failed"
import json, sys, urllib.parse, urllib.request, urllib.error
URL, T0, NOW = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
S, E = T0 - 60 * 10**9, NOW * 10**9
CAT = {"X-Loki-Response-Encoding-Flags": "categorize-labels", "X-Query-Tags": "Source=grafana", "X-Scope-OrgID": "tenant1"}
fails = 0

def call(path, params, headers=None):
    req = urllib.request.Request(URL + path + "?" + urllib.parse.urlencode(params), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def check(name, cond, detail=""):
    global fails
    if not cond:
        fails += 1
        print(f"FAIL {name}: {detail}", file=sys.stderr)

def ok(name, path, params, headers=None):
    st, txt = call(path, params, headers)
    check(name + " status", st == 200, f"{st} {txt[:300]}")
    return json.loads(txt) if st == 200 else {}, txt

def order(name, txt, keys):
    pos = [txt.find('"%s"' % k) for k in keys]
    check(name + " key order", all(p >= 0 for p in pos) and pos == sorted(pos), f"{keys} at {pos}")

# Save & test
j, txt = ok("health", "/loki/api/v1/query", {"direction": "backward", "query": "vector(1)+vector(1)", "time": "4000000000"}, CAT)
r = j["data"]["result"]
check("health one sample of 2", j["data"]["resultType"] in ("vector", "scalar") and len(r) == 1 and r[0]["value"] == [4000000000, "2"], txt)

# label browser
j, _ = ok("labels", "/loki/api/v1/labels", {"start": S, "end": E})
# the push path adds service_name (Loki 3.x default discovery; docs/ingest.md)
check("labels", j["data"] == ["app", "env", "service_name"], j)
j, _ = ok("values", "/loki/api/v1/label/app/values", {"start": S, "end": E})
check("values", j["data"] == ["api", "web"], j)
j, _ = ok("variable", "/loki/api/v1/label/app/values", {"start": S, "end": E, "query": '{env="prod"}'})
check("variable", j["data"] == ["api", "web"], j)
j, _ = ok("series", "/loki/api/v1/series", {"match[]": '{app="web"}', "start": S, "end": E})
check("series", j["data"] == [{"app": "web", "env": "prod", "service_name": "web"}], j)
st, txt = call("/loki/api/v1/index/stats", {"query": '{app="web"}', "start": S, "end": E})
check("index/stats", st == 200 and json.loads(txt)["entries"] == 30 and json.loads(txt)["streams"] == 1, txt)

# Explore range query: categorize-labels (3-tuples) and legacy (2-tuples)
q = '{app="web"} | logfmt'
j, txt = ok("explore cat", "/loki/api/v1/query_range", {"direction": "backward", "end": E, "limit": 1000, "query": q, "start": S, "step": "1000ms"}, CAT)
order("explore cat", txt, ["resultType", "encodingFlags", "result", "stats"])
d = j["data"]
check("cat flag", d.get("encodingFlags") == ["categorize-labels"], d.get("encodingFlags"))
check("cat one stream", len(d["result"]) == 1 and d["result"][0]["stream"] == {"app": "web", "env": "prod", "service_name": "web"}, d["result"][0]["stream"] if d["result"] else None)
vals = d["result"][0]["values"]
check("cat 3-tuples", len(vals) == 30 and all(len(v) == 3 and isinstance(v[0], str) and isinstance(v[2], dict) for v in vals), vals[:2])
check("cat backward", [int(v[0]) for v in vals] == sorted((int(v[0]) for v in vals), reverse=True))
check("cat parsed", vals[0][2].get("parsed", {}).get("request_id") == "web-29", vals[0])
check("stream before values", txt.find('"stream"') < txt.find('"values"'))
j, txt = ok("explore legacy", "/loki/api/v1/query_range", {"direction": "backward", "end": E, "limit": 1000, "query": '{app="web"}', "start": S})
d = j["data"]
check("legacy no flags", "encodingFlags" not in d)
check("legacy 2-tuples", all(len(v) == 2 for s in d["result"] for v in s["values"]), d["result"][:1])
check("legacy metadata folded into labels", any(s["stream"].get("trace_id") == "trace-web" for s in d["result"]), [s["stream"] for s in d["result"]])

# logs volume histogram (Explore supplementary query)
vq = 'sum by (level, detected_level) (count_over_time({env="prod"} | drop __error__[1m]))'
j, txt = ok("volume", "/loki/api/v1/query_range", {"direction": "backward", "end": E, "limit": 1000, "query": vq, "start": S, "step": "60000ms"}, {**CAT, "X-Query-Tags": "Source=logvolhist"})
check("volume matrix", j["data"]["resultType"] == "matrix" and "encodingFlags" not in j["data"], txt[:200])
total = 0
for s in j["data"]["result"]:
    for t, v in s["values"]:
        check("volume ts number", isinstance(t, (int, float)) and isinstance(v, str))
check("volume has rows", len(j["data"]["result"]) >= 1, txt[:300])

# log context: lines after and before one entry (forward from it, backward to it)
mid = T0 + 10 * 10**9
j, _ = ok("context after", "/loki/api/v1/query_range", {"direction": "forward", "start": mid, "end": E, "limit": 5, "query": '{app="web",env="prod"}'}, CAT)
after = [int(v[0]) for s in j["data"]["result"] for v in s["values"]]
check("context after", after == [mid + i * 10**9 for i in range(5)], after)
j, _ = ok("context before", "/loki/api/v1/query_range", {"direction": "backward", "start": S, "end": mid, "limit": 5, "query": '{app="web",env="prod"}'}, CAT)
before = [int(v[0]) for s in j["data"]["result"] for v in s["values"]]
check("context before (end exclusive)", before == [mid - i * 10**9 for i in range(1, 6)], before)

# error logs by request_id (docs/grafana.md)
j, _ = ok("errors", "/loki/api/v1/query_range", {"start": S, "end": E, "limit": 100, "query": '{env="prod"} | logfmt | level="error" | line_format "{{.request_id}}"'})
ids = sorted(v[1] for s in j["data"]["result"] for v in s["values"])
check("error request ids", ids == ["api-13", "api-23", "api-3", "web-13", "web-23", "web-3"], ids)
j, _ = ok("error rate", "/loki/api/v1/query", {"time": E, "query": 'sum by (app) (count_over_time({env="prod"} |= "level=error" [10m]))'})
check("error rate", sorted((r["metric"]["app"], r["value"][1]) for r in j["data"]["result"]) == [("api", "3"), ("web", "3")], j["data"])

# malformed requests: plain-text 400, then still serving
for name, path, params in [
    ("instant log query", "/loki/api/v1/query", {"query": '{app="web"}', "time": E}),
    ("parse error", "/loki/api/v1/query_range", {"query": '{app="web"', "start": S, "end": E}),
    ("bad time", "/loki/api/v1/query_range", {"query": '{app="web"}', "start": "yesterday", "end": E}),
    ("step 0", "/loki/api/v1/query_range", {"query": 'count_over_time({app="web"}[1m])', "start": S, "end": E, "step": "0"}),
    ("too many points", "/loki/api/v1/query_range", {"query": 'count_over_time({app="web"}[1m])', "start": 0, "end": E, "step": "1s"}),
    ("limit", "/loki/api/v1/query_range", {"query": '{app="web"}', "limit": 100000}),
]:
    st, txt = call(path, params)
    check("bad " + name, st == 400 and txt.strip() and not txt.startswith("{"), f"{st} {txt}")
st, _ = call("/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": "4000000000"})
check("still serving", st == 200)
sys.exit(1 if fails else 0)
PY
stop_cairn
log "ok"
