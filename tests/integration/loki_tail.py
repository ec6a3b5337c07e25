#!/usr/bin/python3
"""Live tail (/loki/api/v1/tail) against a running cairn, with a minimal
RFC 6455 client written on the standard library (no websocket package):
handshake and Sec-WebSocket-Accept check, masked client frames, server
frames of all three length forms.

usage: loki_tail.py PORT PHASE
  PHASE "main":     history + live entries, late arrival, ping/pong,
                    categorize-labels 3-tuples, client close, bad requests,
                    the concurrent-tail bound (429)
  PHASE "shutdown": opens one tail, prints "open", then waits for the
                    server's close frame (1001) after the caller sends
                    SIGTERM; prints the close code
"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import urllib.parse
import urllib.request

PORT = int(sys.argv[1])
PHASE = sys.argv[2]
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
fails = 0


def check(name, cond, detail=""):
    global fails
    if not cond:
        fails += 1
        print(f"FAIL {name}: {detail}", file=sys.stderr)


class WS:
    def __init__(self, params, headers=None):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        target = "/loki/api/v1/tail?" + urllib.parse.urlencode(params)
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.s.sendall((f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.s.recv(4096)
            if not b:
                raise IOError("closed during handshake: %r" % head)
            head += b
        head, self.buf = head.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        self.body = self.buf
        if self.status == 101:
            want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            check("Sec-WebSocket-Accept", self.headers.get("sec-websocket-accept") == want, self.headers)
            check("Upgrade header", self.headers.get("upgrade", "").lower() == "websocket", self.headers)

    def _need(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise EOFError("connection closed")
            self.buf += b

    def recv(self, timeout=10):
        """One frame: (opcode, payload bytes)."""
        self.s.settimeout(timeout)
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        check("server frames are final and unmasked", b0 & 0x80 and not b1 & 0x80, (b0, b1))
        n, h = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, h = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, h = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(h + n)
        p = self.buf[h:h + n]
        self.buf = self.buf[h + n:]
        return b0 & 0x0F, p

    def recv_json(self, timeout=10):
        op, p = self.recv(timeout)
        check("text frame", op == 1, (op, p[:100]))
        return json.loads(p)

    def send(self, op, payload=b""):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | op])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self):
        self.s.close()


def push(entries):
    """entries: list of (labels dict, ts ns, line[, metadata])"""
    streams = []
    for e in entries:
        v = [str(e[1]), e[2]] + ([e[3]] if len(e) > 3 else [])
        streams.append({"stream": e[0], "values": [v]})
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/loki/api/v1/push", json.dumps({"streams": streams}).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        check("push", r.status == 204, r.status)


def lines_of(msg):
    return [v[1] for s in msg["streams"] for v in s["values"]]


def wait_lines(ws, want, timeout=8):
    """Collect messages until every line in want arrived; returns all lines seen."""
    got, end = [], time.time() + timeout
    while not set(want) <= set(got) and time.time() < end:
        msg = ws.recv_json(timeout=max(0.1, end - time.time()))
        check("dropped_entries null", "dropped_entries" in msg and msg["dropped_entries"] is None, msg)
        got += lines_of(msg)
    return got


def now_ns():
    return time.time_ns()


if PHASE == "shutdown":
    ws = WS({"query": '{app="idle"}'})
    assert ws.status == 101, ws.status
    print("open", flush=True)
    op, p = ws.recv(timeout=30)
    print(op, struct.unpack(">H", p[:2])[0] if len(p) >= 2 else -1, p[2:].decode(), flush=True)
    sys.exit(0)

APP = {"app": "tail", "env": "test"}
t = now_ns()
push([(APP, t - 30 * 10**9 + i * 10**9, f"history {i}") for i in range(3)])

# history: the newest `limit` entries, oldest first, then live entries as they come
ws = WS({"query": '{app="tail"}', "limit": 2, "start": t - 60 * 10**9})
check("101", ws.status == 101, (ws.status, ws.body))
first = ws.recv_json()
check("history: newest 2, oldest first", lines_of(first) == ["history 1", "history 2"], first)
check("history stream labels", first["streams"][0]["stream"] == {"app": "tail", "env": "test", "service_name": "tail"},
      first["streams"][0]["stream"])
check("values are 2-tuples of strings", all(len(v) == 2 and isinstance(v[0], str) for s in first["streams"] for v in s["values"]))
t = now_ns()
push([(APP, t, "live 1"), (APP, t + 1, "live 2")])
got = wait_lines(ws, ["live 1", "live 2"])
check("live entries arrive once, in order", got == ["live 1", "live 2"], got)
# a late entry (timestamp 4 s in the past) is still found by the look-back window
push([(APP, now_ns() - 4 * 10**9, "late 1")])
got = wait_lines(ws, ["late 1"])
check("late entry", got == ["late 1"], got)
# ping -> pong with the same payload
ws.send(0x9, b"hello")
op, p = ws.recv()
while op == 1:  # a data message may come first
    op, p = ws.recv()
check("pong", op == 0xA and p == b"hello", (op, p))
# client close -> the server echoes the code and closes
ws.send(0x8, struct.pack(">H", 1000) + b"bye")
op, p = ws.recv()
while op == 1:
    op, p = ws.recv()
check("close echoed", op == 0x8 and p[:2] == struct.pack(">H", 1000), (op, p))
try:
    ws.s.settimeout(5)
    rest = ws.s.recv(10)
    check("server closed the socket", rest == b"", rest)
except OSError as e:
    check("server closed the socket", False, e)
ws.close()

# categorize-labels: 3-tuples, structured metadata out of the stream key, line filter applied
t = now_ns()
push([(APP, t - 5 * 10**9, "level=warn cat 1", {"trace_id": "abc"}), (APP, t - 5 * 10**9 + 1, "skip me")])
ws = WS({"query": '{app="tail"} |= "cat" | logfmt', "start": t - 10 * 10**9},
        {"X-Loki-Response-Encoding-Flags": "categorize-labels"})
msg = ws.recv_json()
check("cat flag", msg.get("encodingFlags") == ["categorize-labels"], msg)
vals = [v for s in msg["streams"] for v in s["values"]]
check("cat 3-tuple", len(vals) == 1 and vals[0][1] == "level=warn cat 1" and
      vals[0][2] == {"structuredMetadata": {"trace_id": "abc"}, "parsed": {"level": "warn"}}, msg)
check("cat stream has indexed labels only", msg["streams"][0]["stream"] == {"app": "tail", "env": "test", "service_name": "tail"}, msg)
ws.close()


# bad requests are plain-text HTTP errors before any upgrade
def plain(params, headers=None):
    w = WS(params, headers)
    w.s.settimeout(5)
    body = w.body
    try:
        while True:
            b = w.s.recv(4096)
            if not b:
                break
            body += b
    except OSError:
        pass
    w.close()
    return w.status, body.decode(errors="replace"), w.headers


st, body, _ = plain({"query": 'count_over_time({app="tail"}[1m])'})
check("metric query refused", st == 400 and "log query" in body, (st, body))
st, body, _ = plain({"query": '{app="tail"}', "delay_for": 6})
check("delay_for > 5", st == 400 and "delay_for can't be greater than 5" in body, (st, body))
st, body, _ = plain({"query": '{app="tail"', "limit": 1})
check("parse error", st == 400 and body.startswith("1:"), (st, body))
st, body, _ = plain({"query": '{app="tail"}', "limit": 100000})
check("limit", st == 400 and "max entries limit" in body, (st, body))
with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/-/healthy", timeout=5) as r:
    pass
try:
    urllib.request.urlopen(f"http://127.0.0.1:{PORT}/loki/api/v1/tail?query=%7Bapp%3D%22tail%22%7D", timeout=5)
    check("plain GET refused", False)
except urllib.error.HTTPError as e:
    check("plain GET refused", e.code == 400 and b"WebSocket" in e.read(), e.code)
s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
s.sendall(b"GET /loki/api/v1/tail?query=%7Bapp%3D%22tail%22%7D HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
resp = s.recv(4096).decode()
s.close()
check("version 8 -> 426", resp.startswith("HTTP/1.1 426") and "Sec-WebSocket-Version: 13" in resp, resp)

# at most 16 tails at once: the 17th gets 429, and a slot frees when one closes
open_ws = [WS({"query": '{app="idle"}'}) for _ in range(16)]
check("16 tails open", all(w.status == 101 for w in open_ws), [w.status for w in open_ws])
st, body, hdr = plain({"query": '{app="idle"}'})
check("17th tail -> 429", st == 429 and "retry-after" in hdr, (st, body))
open_ws[0].send(0x8, struct.pack(">H", 1000))
open_ws[0].recv()
open_ws[0].close()
time.sleep(0.3)
w = WS({"query": '{app="idle"}'})
check("slot freed", w.status == 101, w.status)
w.close()
for x in open_ws[1:]:
    x.close()

sys.exit(1 if fails else 0)
