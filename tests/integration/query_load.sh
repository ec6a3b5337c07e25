#!/usr/bin/env bash
# Query load: 50 concurrent clients (keep-alive connections) issue a mix of
# Prometheus and Loki queries for QUERY_LOAD_SECONDS (default 30; set e.g. 5
# for a quick run) while a writer keeps ingesting metrics and logs. Passes
# when every answer is 200 or a 503 from the configured concurrency limit
# (--query-max-concurrency), RSS after the run is within 1.5x + 32 MiB of RSS
# a third of the way in (no leak), and prints throughput and p50/p99 latency.
. "$(dirname "$0")/common.bash"
SECS=${QUERY_LOAD_SECONDS:-30}
CLIENTS=${QUERY_LOAD_CLIENTS:-50}

start_cairn "$T/data" --query-max-concurrency 16 --query-timeout 20s
NOW=$(date +%s)
# an hour of history: 200 series x 241 samples, 20 streams x 600 lines
"$PY" - "$URL" "$NOW" <<'PY' || die "preload failed"
import json, sys, urllib.request
URL, NOW = sys.argv[1], int(sys.argv[2])
lines = []
for s in range(200):
    for i in range(241):
        t = (NOW - 3600 + 15 * i) * 1000
        lines.append(f'load_requests_total{{model="m{s%10}",code="{200 if s%7 else 500}",pod="p{s}"}} {i*(s%5+1)} {t}')
urllib.request.urlopen(urllib.request.Request(URL + "/api/v1/import/prometheus", data="\n".join(lines).encode()), timeout=60)
streams = []
for s in range(20):
    streams.append({"stream": {"app": f"a{s%4}", "pod": f"p{s}"},
                    "values": [[str((NOW - 3600 + 6 * i) * 10**9), f"level={'error' if i%9==0 else 'info'} i={i} request_id=r{s}-{i}"] for i in range(600)]})
urllib.request.urlopen(urllib.request.Request(URL + "/loki/api/v1/push", data=json.dumps({"streams": streams}).encode(),
                                              headers={"Content-Type": "application/json"}), timeout=60)
PY

"$PY" - "$URL" "$NOW" "$SECS" "$CLIENTS" "$CAIRN_PID" <<'PY' || die "load test failed"
import http.client, json, random, sys, threading, time, urllib.parse
URL, NOW, SECS, CLIENTS, PID = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
host, port = URL.split("//")[1].split(":")
S, E = NOW - 3600, NOW
Q = [
    ("GET", "/api/v1/query?" + urllib.parse.urlencode({"query": "sum by (model) (rate(load_requests_total[5m]))", "time": E})),
    ("POST", "/api/v1/query_range", urllib.parse.urlencode({"query": "sum by (code) (rate(load_requests_total[1m0s]))", "start": S, "end": E, "step": 15})),
    ("POST", "/api/v1/query_range", urllib.parse.urlencode({"query": "load_requests_total{pod=~\"p1.*\"}", "start": S, "end": E, "step": 60})),
    ("GET", "/api/v1/label/__name__/values?" + urllib.parse.urlencode({"start": S, "end": E})),
    ("POST", "/api/v1/series", urllib.parse.urlencode({"match[]": "load_requests_total{model=\"m1\"}", "start": S, "end": E})),
    ("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": "{app=\"a1\"} |= \"error\"", "start": S * 10**9, "end": E * 10**9, "limit": 100})),
    ("GET", "/loki/api/v1/query_range?" + urllib.parse.urlencode({"query": "sum by (app) (count_over_time({app=~\"a.*\"}[1m]))", "start": S * 10**9, "end": E * 10**9, "step": "60000ms"})),
    ("GET", "/loki/api/v1/labels?" + urllib.parse.urlencode({"start": S * 10**9, "end": E * 10**9})),
]
lat, codes, errors = [], {}, []
lock = threading.Lock()
stop = time.monotonic() + SECS

def rss():
    with open(f"/proc/{PID}/status") as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) * 1024
    return 0

def client(seed):
    rnd = random.Random(seed)
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    while time.monotonic() < stop:
        m, p, *b = rnd.choice(Q)
        hdr = {"Content-Type": "application/x-www-form-urlencoded"} if b else {}
        t = time.monotonic()
        try:
            c.request(m, p, body=b[0] if b else None, headers=hdr)
            r = c.getresponse()
            body = r.read()
            st = r.status
        except Exception as e:  # connection trouble counts as an error
            st, body = -1, str(e).encode()
            c.close()
            c = http.client.HTTPConnection(host, int(port), timeout=30)
        d = time.monotonic() - t
        with lock:
            lat.append(d)
            codes[st] = codes.get(st, 0) + 1
            if st not in (200, 503) or (st == 503 and b"too many concurrent queries" not in body):
                errors.append((st, p[:80], body[:200]))

def writer():
    try:
        write_loop()
    except Exception as e:
        with lock:
            errors.append(("ingest", repr(e)))

writes = [0]

def write_loop():
    i = 0
    while time.monotonic() < stop:
        now_ms = int(time.time() * 1000)
        body = "\n".join(f'load_live_total{{w="{k}"}} {i} {now_ms}' for k in range(50))
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("POST", "/api/v1/import/prometheus", body=body)
        r = c.getresponse(); r.read(); st = r.status
        logs = {"streams": [{"stream": {"app": "live"}, "values": [[str(time.time_ns() + k), f"live {i} {k}"] for k in range(20)]}]}
        c.request("POST", "/loki/api/v1/push", body=json.dumps(logs), headers={"Content-Type": "application/json"})
        r = c.getresponse(); r.read(); st2 = r.status
        c.close()
        writes[0] += 1
        if st != 204 or st2 != 204:
            with lock:
                errors.append(("ingest", st, st2))
        i += 1
        time.sleep(0.1)

th = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)] + [threading.Thread(target=writer)]
for t in th: t.start()
time.sleep(SECS / 3)
rss_mid = rss()
for t in th: t.join()
rss_end = rss()
lat.sort()
n = len(lat)
p = lambda q: lat[min(n - 1, int(q * n))] * 1000
print(f"query_load: {CLIENTS} clients, {SECS:.0f} s, {n} queries ({n/SECS:.0f}/s), codes {codes}, "
      f"{writes[0]} ingest rounds, p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, max {lat[-1]*1000:.1f} ms, RSS {rss_mid>>20} -> {rss_end>>20} MiB")
ok = True
if errors:
    print("errors:", errors[:5], file=sys.stderr); ok = False
if rss_end > rss_mid * 1.5 + (32 << 20):
    print("RSS grew too much", file=sys.stderr); ok = False
if codes.get(200, 0) < n // 2:
    print("fewer than half the queries succeeded", file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
curl -sf "$URL/api/v1/query?query=1%2B1&time=4" >/dev/null || die "not serving after the load"
stop_cairn
log "ok"
