#!/usr/bin/python3
"""Loki describe-and-tail endpoints over HTTP on a running `cairn serve`
(they live in api/, which bench_*.c programs cannot link, hence Python).

usage: bench_loki_tail.py CAIRN_BINARY [SECONDS_IDLE]

Starts cairn on a temp dir, pushes 20 000 entries (10 streams, half logfmt,
half JSON, one metadata key) with timestamps in the last 10 minutes, then
measures: detected_fields at line_limit 1000 and 5000, detected_field values,
patterns over the newest 5000 lines (median of 7 each); live-tail delivery
latency (push -> message, 20 entries 250 ms apart); and the CPU time cairn
spends with 16 idle tails open for SECONDS_IDLE (default 10) seconds.
Prints the machine (lscpu model name, nproc) first.
"""
import base64
import json
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

BIN = sys.argv[1]
IDLE = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0


def machine():
    model = "?"
    try:
        for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if l.startswith("Model name:"):
                model = l.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{model}, nproc {os.cpu_count()}"


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def ws_open(port, query):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /loki/api/v1/tail?{urllib.parse.urlencode({'query': query})} HTTP/1.1\r\nHost: x\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s, head.split(b"\r\n\r\n", 1)[1]


def ws_recv(s, buf):
    def need(n):
        nonlocal buf
        while len(buf) < n:
            buf += s.recv(65536)
    need(2)
    n, h = buf[1] & 0x7F, 2
    if n == 126:
        need(4)
        n, h = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        need(10)
        n, h = struct.unpack(">Q", buf[2:10])[0], 10
    need(h + n)
    return buf[0] & 0x0F, buf[h:h + n], buf[h + n:]


def main():
    d = tempfile.mkdtemp(prefix="bench-loki-")
    lg = open(os.path.join(d, "cairn.log"), "w+")
    p = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--data", os.path.join(d, "data")],
                         stdout=lg, stderr=lg)
    try:
        port = None
        while port is None:
            time.sleep(0.05)
            m = re.search(r"listening on 127.0.0.1:(\d+)", open(lg.name).read())
            port = int(m.group(1)) if m else None
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        print(f"machine: {machine()}")
        now = time.time_ns()
        t0 = now - 600 * 10**9
        streams = []
        for k in range(10):
            vals = []
            for i in range(2000):
                t = t0 + (i * 10 + k) * 29_000_000
                if k % 2:
                    line = json.dumps({"level": ["info", "warn", "error"][i % 3], "status": 200 + i % 5,
                                       "latency": i / 100, "user": f"u{i % 50}", "req": {"id": i}})
                else:
                    line = (f"level={['info', 'warn', 'error'][i % 3]} status={200 + i % 5} dur={i % 90}ms "
                            f"user=u{i % 50} msg=\"request {i} handled\"")
                vals.append([str(t), line, {"trace_id": f"t{i % 100}"}])
            streams.append({"stream": {"app": f"a{k}", "env": "bench"}, "values": vals})
        req = urllib.request.Request(url + "/loki/api/v1/push", json.dumps({"streams": streams}).encode(),
                                     {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=60)
        print("data: 20000 entries in 10 streams (5 logfmt, 5 JSON), trace_id metadata, last 10 min")
        rng = {"start": t0 - 10**9, "end": now + 10**9}

        def timed(path, params, n=7):
            ts = []
            for _ in range(n):
                a = time.perf_counter()
                body = urllib.request.urlopen(url + path + "?" + urllib.parse.urlencode({**params, **rng}),
                                              timeout=60).read()
                ts.append(time.perf_counter() - a)
            return statistics.median(ts) * 1000, len(body)

        q = '{env="bench"}'
        for name, path, params in [
            ("detected_fields line_limit=1000", "/loki/api/v1/detected_fields", {"query": q, "line_limit": 1000}),
            ("detected_fields line_limit=5000", "/loki/api/v1/detected_fields", {"query": q, "line_limit": 5000}),
            ("detected_field/user/values 1000", "/loki/api/v1/detected_field/user/values", {"query": q}),
            ("patterns (5000 lines)", "/loki/api/v1/patterns", {"query": q}),
        ]:
            ms, n = timed(path, params)
            print(f"{name:36s} median {ms:7.1f} ms  ({n} bytes)")

        # tail latency: push one entry every 250 ms, time until its message arrives
        s, buf = ws_open(port, '{app="live"}')
        op, pl, buf = ws_recv(s, buf) if buf else (None, None, buf)
        lat = []
        for i in range(20):
            sent = time.time()
            body = {"streams": [{"stream": {"app": "live"}, "values": [[str(time.time_ns()), f"live {i}"]]}]}
            urllib.request.urlopen(urllib.request.Request(url + "/loki/api/v1/push", json.dumps(body).encode(),
                                                          {"Content-Type": "application/json"}), timeout=10)
            got = False
            while not got:
                op, pl, buf = ws_recv(s, buf)
                got = op == 1 and f"live {i}".encode() in pl
            lat.append(time.time() - sent)
            time.sleep(0.25)
        s.close()
        lat.sort()
        print(f"tail delivery latency (20 entries): median {statistics.median(lat) * 1000:.0f} ms, "
              f"max {lat[-1] * 1000:.0f} ms (poll interval 1 s)")

        # idle tails: CPU cost
        socks = [ws_open(port, '{app="idle"}')[0] for _ in range(16)]
        time.sleep(1)
        c0, w0 = cpu_s(p.pid), time.time()
        time.sleep(IDLE)
        c1, w1 = cpu_s(p.pid), time.time()
        for x in socks:
            x.close()
        print(f"16 idle tails: cairn CPU {100 * (c1 - c0) / (w1 - w0):.2f} % of one core over {w1 - w0:.0f} s")
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


main()
