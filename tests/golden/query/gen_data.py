#!/usr/bin/env python3
"""Writes metrics.prom and logs.json, the two golden datasets (run once; the outputs are committed).
Base T0 = 1705312800 s (2024-01-15T10:00:00Z). Metrics: one sample every 30 s at T0 + 30 s * i,
i = 0..60 (T0 .. T0 + 30 min). Logs: entries at T0 + 10 s * k. Values are chosen so answers can be
worked out by hand (see README.md)."""
T0 = 1705312800
out = []
def s(name, labels, v, t_s):
    lab = ",".join('%s="%s"' % kv for kv in labels)
    out.append("%s{%s} %s %d" % (name, lab, repr(float(v)) if v != int(v) else int(v), t_s * 1000))
for i in range(61):
    t = T0 + 30 * i
    # counters: +10, +20, +5 per 30 s; a/500 gets +1 per 30 s and resets to 0 at i = 30
    s("http_requests_total", [("code", "200"), ("instance", "a"), ("job", "api")], 10 * i, t)
    s("http_requests_total", [("code", "200"), ("instance", "b"), ("job", "api")], 20 * i, t)
    s("http_requests_total", [("code", "500"), ("instance", "a"), ("job", "api")], i if i < 30 else i - 30, t)
    s("http_requests_total", [("code", "200"), ("instance", "c"), ("job", "web")], 5 * i, t)
    # gauges
    s("temperature_celsius", [("room", "r1")], 20 + (i % 5), t)
    s("temperature_celsius", [("room", "r2")], 30 - (i % 3), t)
    for inst, v in (("a", 1), ("b", 0)):
        s("up", [("instance", inst), ("job", "api")], v, t)
    s("up", [("instance", "c"), ("job", "web")], 1, t)
    s("build_info", [("job", "api"), ("version", "1.2.0")], 1, t)
    s("build_info", [("job", "web"), ("version", "0.9.1")], 1, t)
    # histogram: per 30 s, 3 observations <= 0.1, 6 <= 0.5, 8 <= 1, 10 in all; sum +4 per 30 s
    for le, d in (("0.1", 3), ("0.5", 6), ("1", 8), ("+Inf", 10)):
        s("request_duration_seconds_bucket", [("job", "api"), ("le", le)], d * i, t)
    s("request_duration_seconds_sum", [("job", "api")], 4 * i, t)
    s("request_duration_seconds_count", [("job", "api")], 10 * i, t)
    # a series that stops at i = 20 (T0 + 10 min)
    if i <= 20:
        s("batch_last_run", [("job", "batch")], T0 + 30 * i, t)
out.sort(key=lambda l: 0)  # keep generation order: grouped by time
open("metrics.prom", "w").write("\n".join(out) + "\n")

import json
NS = 1000000000
web, api, fmt = [], [], []
for k in range(30):  # {app="web",env="prod"}: logfmt, T0 + 10 s * k, k = 0..29
    lvl = "error" if k % 5 == 0 else ("warn" if k % 5 == 1 else "info")
    status = 500 if lvl == "error" else 200
    web.append([str((T0 + 10 * k) * NS),
                "level=%s method=%s path=/api/v%d status=%d duration=%dms bytes=%d" %
                (lvl, "POST" if k % 2 else "GET", 1 + k % 2, status, 10 * (k % 7 + 1), 100 * (k + 1))])
for k in range(12):  # {app="api",env="dev"}: JSON, T0 + 20 s * k + 5 s
    api.append([str((T0 + 20 * k + 5) * NS),
                json.dumps({"level": "error" if k % 4 == 3 else "info", "latency": 0.05 * (k + 1),
                            "user": {"id": k % 3, "name": ["ann", "bob", "cy"][k % 3]},
                            "msg": "request %d done" % k}, separators=(",", ":"))])
for k in range(6):  # {app="nginx",env="prod"}: access-log lines for regexp / pattern
    fmt.append([str((T0 + 60 * k + 2) * NS),
                '10.0.0.%d - - "%s /%s HTTP/1.1" %d %d' %
                (k % 3 + 1, "GET" if k % 3 else "POST", ["index", "login", "img"][k % 3], 404 if k == 4 else 200,
                 512 * (k + 1))])
body = {"streams": [{"stream": {"app": "web", "env": "prod"}, "values": web},
                    {"stream": {"app": "api", "env": "dev"}, "values": api},
                    {"stream": {"app": "nginx", "env": "prod"}, "values": fmt}]}
open("logs.json", "w").write(json.dumps(body, indent=1) + "\n")
