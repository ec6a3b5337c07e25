"""Load generator for crash_atomic.sh: 4 threads send numbered write requests
(remote write, text import and Loki JSON in turn) as fast as the server
answers, and append "KIND N" to the ack file, flushed, for every 2xx. It runs
until the server goes away (killed with -9 by the test) or a time limit.
    python3 crash_client.py PORT ACKFILE SECONDS FIRST_N
Request N of kind r/m carries PER_REQ samples of series crash_X{req="N",i="0..K"};
of kind l, PER_REQ lines in stream {app="crash",req="N"}."""
import http.client
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wire import series, snappy  # noqa: E402

PORT = int(sys.argv[1])
ACK = open(sys.argv[2], 'a', buffering=1)
DEADLINE = time.time() + float(sys.argv[3])
PER_REQ = 60
lock = threading.Lock()
counter = [int(sys.argv[4])]
NOW_MS = int(time.time() * 1000)


def body(kind, n):
    if kind == 'r':
        raw = b''.join(series([('__name__', 'crash_rw'), ('req', str(n)), ('i', str(i))],
                              [(float(n * 1000 + i + j), NOW_MS + j) for j in range(6)]) for i in range(PER_REQ // 6))
        return snappy(raw), {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy'}, '/api/v1/write'
    if kind == 'm':
        text = ''.join('crash_text{req="%d",i="%d"} %d %d\n' % (n, i, n * 1000 + i, NOW_MS) for i in range(PER_REQ))
        return text.encode(), {}, '/api/v1/import/prometheus'
    ts = time.time_ns()
    vals = ','.join('["%d","line %d of request %d"]' % (ts + i, i, n) for i in range(PER_REQ))
    js = '{"streams":[{"stream":{"app":"crash","req":"%d"},"values":[%s]}]}' % (n, vals)
    return js.encode(), {'Content-Type': 'application/json'}, '/loki/api/v1/push'


def worker():
    conn = None
    while time.time() < DEADLINE:
        with lock:
            n = counter[0]
            counter[0] += 1
        kind = 'rml'[n % 3]
        data, headers, path = body(kind, n)
        try:
            if conn is None:
                conn = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)
            conn.request('POST', path, body=data, headers=headers)
            r = conn.getresponse()
            r.read()
        except (OSError, http.client.HTTPException):
            return  # the server is gone
        if 200 <= r.status < 300:
            with lock:
                ACK.write('%s %d\n' % (kind, n))
        elif r.status != 503:
            print('request %s %d answered %d' % (kind, n, r.status), file=sys.stderr)
            os._exit(2)


threads = [threading.Thread(target=worker) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
