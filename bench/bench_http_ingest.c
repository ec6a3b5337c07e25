/*
 * bench_http_ingest.c — end-to-end ingest over HTTP into a real `cairn serve`.
 *
 *   bench_http_ingest [--cairn PATH] [--series N] [--scrapes K] [--clients C] [--batch S]
 *                     [--log-lines N]
 *
 * Three measurements, each against a fresh server on 127.0.0.1 with its own
 * temp data dir (removed at the end):
 *   1. remote write: bench/dataset.h series (node_exporter-like + ML
 *      inference, 91 per host) for K scrapes, cut into requests of S samples
 *      (default 500, Prometheus 2.42's max_samples_per_send), one sample per
 *      series per request as Prometheus sends them, encoded as
 *      prometheus.WriteRequest and snappy-compressed in advance; C client
 *      threads (default 4) on keep-alive connections send them as fast as the
 *      server answers. Reports samples/s and the server's CPU seconds (utime +
 *      stime from /proc/<pid>/stat) per million samples.
 *   2. Loki push, JSON and protobuf+snappy: JSON-formatted application log
 *      lines (~200 bytes) in 100 streams, 1000 lines per request, timestamps
 *      near now. Reports lines/s, MB/s of raw line bytes and CPU.
 *   3. text import: the same metrics as an OpenMetrics file through
 *      `cairn import` (CPU and wall time from wait4), MB/s of text.
 * The client is a few hundred lines of raw-socket HTTP/1.1 so that its own
 * cost is tiny next to the server's; the bodies are prepared before the
 * clock starts. The machine (lscpu model, nproc) is printed with the results.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <snappy-c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "bench_util.h"
#include "bench_wire.h"

/* ==== the server under test ================================================================ */

typedef struct srv {
    pid_t pid;
    int port;
    char dir[256], log[300];
} srv;

static void srv_start(srv *s, const char *cairn, const char *extra)
{
    snprintf(s->dir, sizeof s->dir, "/tmp/cairn-bench-http.XXXXXX");
    if (!mkdtemp(s->dir)) perror("mkdtemp"), exit(1);
    snprintf(s->log, sizeof s->log, "%s/serve.log", s->dir);
    char data[300];
    snprintf(data, sizeof data, "%s/data", s->dir);
    s->pid = fork();
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        execl(cairn, cairn, "serve", "--listen", "127.0.0.1:0", "--data", data, "--retention-metrics", "0",
              extra ? extra : NULL, extra ? "0" : NULL, (char *)NULL);
        _exit(127);
    }
    s->port = 0;
    for (int i = 0; i < 3000 && !s->port; i++) {
        char line[512];
        FILE *f = fopen(s->log, "r");
        while (f && fgets(line, sizeof line, f)) {
            char *p = strstr(line, "listening on 127.0.0.1:");
            if (p) s->port = atoi(p + strlen("listening on 127.0.0.1:"));
            if (strstr(line, "ready (")) i = -100000;
        }
        if (f) fclose(f);
        if (s->port && i < 0) break;
        s->port = 0;
        usleep(10000);
    }
    if (!s->port) fprintf(stderr, "server did not start; see %s\n", s->log), exit(1);
}

static void srv_stop(srv *s)
{
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", s->dir);
}

/* ==== HTTP client ============================================================================ */

typedef struct req {
    const char *path, *headers; /* extra header lines, each ending \r\n */
    bbuf body;
} req;

typedef struct load {
    req *v;
    size_t n;
    atomic_size_t next;
    int port;
    atomic_int failed;
} load;

/* One request, one response on a keep-alive connection. @return the status, or -1. */
static int roundtrip(int fd, int port, const req *r, char *rb, size_t rbcap)
{
    char head[512];
    int hn = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %zu\r\n\r\n",
                      r->path, port, r->headers, r->body.len);
    if (bench_send_all(fd, head, (size_t)hn) || bench_send_all(fd, r->body.p, r->body.len)) return -1;
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, rb + got, rbcap - 1 - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
        rb[got] = 0;
        end = strstr(rb, "\r\n\r\n");
        if (!end && got >= rbcap - 1) return -1;
    }
    int status = atoi(rb + 9);
    size_t clen = 0;
    char *cl = strcasestr(rb, "content-length:");
    if (cl && cl < end) clen = strtoul(cl + 15, NULL, 10);
    size_t have = got - (size_t)(end + 4 - rb);
    if (status >= 300) fprintf(stderr, "HTTP %d: %.*s\n", status, (int)(have < 300 ? have : 300), end + 4);
    while (have < clen) {
        ssize_t n = recv(fd, rb, rbcap, 0);
        if (n <= 0) return -1;
        have += (size_t)n;
    }
    return status;
}

static void *client(void *arg)
{
    load *l = arg;
    int fd = bench_conn_open(l->port);
    if (fd < 0) perror("connect"), exit(1);
    char rb[8192];
    for (;;) {
        size_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->n) break;
        int st = roundtrip(fd, l->port, &l->v[i], rb, sizeof rb);
        if (st < 200 || st >= 300) {
            atomic_store(&l->failed, 1);
            break;
        }
    }
    close(fd);
    return NULL;
}

typedef struct result {
    double wall_s, cpu_s;
} result;

static result run_load(srv *s, req *v, size_t n, int clients)
{
    load l = {.v = v, .n = n, .port = s->port};
    atomic_init(&l.next, 0);
    atomic_init(&l.failed, 0);
    pthread_t th[64];
    double c0 = bench_proc_cpu_s(s->pid), t0 = bench_now_s();
    for (int i = 0; i < clients; i++) pthread_create(&th[i], NULL, client, &l);
    for (int i = 0; i < clients; i++) pthread_join(th[i], NULL);
    result r = {bench_now_s() - t0, bench_proc_cpu_s(s->pid) - c0};
    if (atomic_load(&l.failed)) fprintf(stderr, "some requests failed\n"), exit(1);
    return r;
}

/* ==== workloads ================================================================================ */

static size_t build_rw(const ds *d, size_t n_series, uint64_t scrapes, size_t batch, req **out)
{
    size_t per_scrape = (n_series + batch - 1) / batch, n = per_scrape * scrapes;
    req *v = calloc(n, sizeof *v);
    bbuf raw = {0}, ts = {0}, tmp = {0};
    cairn_label ls[DS_MAX_LABELS];
    char scratch[DS_SCRATCH_BYTES];
    size_t r = 0;
    for (uint64_t k = 0; k < scrapes; k++)
        for (size_t s0 = 0; s0 < n_series; s0 += batch, r++) {
            raw.len = 0;
            for (size_t i = s0; i < s0 + batch && i < n_series; i++) {
                ts.len = 0;
                size_t nl = ds_series_labels(d, i, ls, DS_MAX_LABELS, scratch);
                for (size_t j = 0; j < nl; j++) {
                    tmp.len = 0;
                    bb_bytes(&tmp, 1, ls[j].name, ls[j].name_len);
                    bb_bytes(&tmp, 2, ls[j].value, ls[j].value_len);
                    bb_msg(&ts, 1, &tmp);
                }
                tmp.len = 0;
                double val = ds_value(d, i, k);
                bb_key(&tmp, 1, 1);
                bb_put(&tmp, &val, 8);
                bb_key(&tmp, 2, 0);
                bb_varint(&tmp, (uint64_t)ds_time(d, i, k));
                bb_msg(&ts, 2, &tmp);
                bb_msg(&raw, 1, &ts);
            }
            v[r].path = "/api/v1/write";
            v[r].headers = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                           "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
            bb_snappy(&raw, &v[r].body);
        }
    free(raw.p), free(ts.p), free(tmp.p);
    *out = v;
    return n;
}

/* A JSON-formatted application log line, ~200 bytes, deterministic. */
static size_t log_line(char *dst, size_t cap, uint64_t i)
{
    static const char *lv[] = {"info", "info", "info", "debug", "warn", "error"};
    static const char *path[] = {"/api/v1/users", "/api/v1/orders", "/healthz", "/api/v1/cart", "/login"};
    uint64_t h = ds_mix(i * 0x9e3779b97f4a7c15ULL + 7);
    return (size_t)snprintf(dst, cap,
                            "{\"level\":\"%s\",\"ts\":\"2026-11-22T10:%02d:%02d.%03dZ\",\"msg\":\"request served\","
                            "\"method\":\"GET\",\"path\":\"%s\",\"status\":%d,\"duration_ms\":%.2f,"
                            "\"trace_id\":\"%016" PRIx64 "%016" PRIx64 "\",\"user_id\":%" PRIu64 "}",
                            lv[h % 6], (int)(i / 60000 % 60), (int)(i / 1000 % 60), (int)(i % 1000), path[(h >> 8) % 5],
                            (h >> 16) % 10 ? 200 : 500, (double)((h >> 20) % 100000) / 100.0, h, ds_mix(h),
                            (h >> 32) % 100000);
}

enum { N_STREAMS = 100, LINES_PER_REQ = 1000 };

static size_t build_loki(uint64_t n_lines, int proto, req **out, uint64_t *raw_bytes)
{
    size_t n = (size_t)((n_lines + LINES_PER_REQ - 1) / LINES_PER_REQ);
    req *v = calloc(n, sizeof *v);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t t0 = ((int64_t)now.tv_sec - 600) * 1000000000LL;
    bbuf raw = {0}, st = {0}, en = {0}, tsm = {0};
    char line[512];
    *raw_bytes = 0;
    uint64_t li = 0;
    for (size_t r = 0; r < n; r++) {
        raw.len = 0;
        /* LINES_PER_REQ lines over N_STREAMS streams: 10 per stream */
        int per = LINES_PER_REQ / N_STREAMS;
        if (!proto) bb_put(&raw, "{\"streams\":[", 12);
        for (int s = 0; s < N_STREAMS; s++) {
            char lab[160];
            int ln;
            if (proto)
                ln = snprintf(lab, sizeof lab, "{app=\"svc-%02d\", env=\"prod\", host=\"node-%d\", level=\"info\"}", s,
                              s % 7);
            else
                ln = snprintf(lab, sizeof lab,
                              "%s{\"stream\":{\"app\":\"svc-%02d\",\"env\":\"prod\",\"host\":\"node-%d\",\"level\":\"info\"},"
                              "\"values\":[",
                              s ? "," : "", s, s % 7);
            if (proto) {
                st.len = 0;
                bb_bytes(&st, 1, lab, (size_t)ln);
            } else {
                bb_put(&raw, lab, (size_t)ln);
            }
            for (int j = 0; j < per; j++, li++) {
                size_t l = log_line(line, sizeof line, li);
                *raw_bytes += l;
                int64_t t = t0 + (int64_t)li * 1000;
                if (proto) {
                    tsm.len = 0;
                    bb_key(&tsm, 1, 0);
                    bb_varint(&tsm, (uint64_t)(t / 1000000000));
                    bb_key(&tsm, 2, 0);
                    bb_varint(&tsm, (uint64_t)(t % 1000000000));
                    en.len = 0;
                    bb_msg(&en, 1, &tsm);
                    bb_bytes(&en, 2, line, l);
                    bb_msg(&st, 2, &en);
                } else {
                    char tsb[40];
                    int tl = snprintf(tsb, sizeof tsb, "%s[\"%" PRId64 "\",\"", j ? "," : "", t);
                    bb_put(&raw, tsb, (size_t)tl);
                    for (size_t c = 0; c < l; c++) {
                        if (line[c] == '"' || line[c] == '\\') bb_put(&raw, "\\", 1);
                        bb_put(&raw, &line[c], 1);
                    }
                    bb_put(&raw, "\"]", 2);
                }
            }
            if (proto) bb_msg(&raw, 1, &st);
            else bb_put(&raw, "]}", 2);
        }
        if (!proto) bb_put(&raw, "]}", 2);
        v[r].path = "/loki/api/v1/push";
        if (proto) {
            v[r].headers = "Content-Type: application/x-protobuf\r\n";
            bb_snappy(&raw, &v[r].body);
        } else {
            v[r].headers = "Content-Type: application/json\r\n";
            v[r].body.p = malloc(raw.len);
            memcpy(v[r].body.p, raw.p, raw.len);
            v[r].body.len = v[r].body.cap = raw.len;
        }
    }
    free(raw.p), free(st.p), free(en.p), free(tsm.p);
    *out = v;
    return n;
}

static void free_reqs(req *v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i].body.p);
    free(v);
}

int main(int argc, char **argv)
{
    const char *cairn = "build/cairn";
    size_t n_series = 10000, batch = 500;
    uint64_t scrapes = 120, log_lines = 1000000;
    int clients = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--cairn")) cairn = argv[i + 1];
        else if (!strcmp(argv[i], "--series")) n_series = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--scrapes")) scrapes = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--log-lines")) log_lines = strtoull(argv[i + 1], NULL, 10);
        else fprintf(stderr, "unknown option %s\n", argv[i]), exit(2);
    }
    if (clients < 1 || clients > 64) clients = 4;
    bench_machine();
    printf("server: %s serve (cairn %s), client: %d threads, raw HTTP/1.1 keep-alive\n", cairn, cairn_version(),
           clients);

    /* 1. remote write */
    ds d;
    ds_init(&d, n_series, 42);
    req *rw;
    size_t n_rw = build_rw(&d, n_series, scrapes, batch, &rw);
    uint64_t samples = (uint64_t)n_series * scrapes;
    size_t body_bytes = 0;
    for (size_t i = 0; i < n_rw; i++) body_bytes += rw[i].body.len;
    srv s;
    srv_start(&s, cairn, NULL);
    result r = run_load(&s, rw, n_rw, clients);
    srv_stop(&s);
    printf("remote_write: %zu series x %" PRIu64 " scrapes = %" PRIu64 " samples in %zu requests of %zu samples "
           "(%.1f MB snappy)\n",
           n_series, scrapes, samples, n_rw, batch, (double)body_bytes / 1e6);
    printf("  %.2f s wall, %.0f samples/s, server CPU %.2f s = %.3f CPU-s per million samples\n", r.wall_s,
           (double)samples / r.wall_s, r.cpu_s, r.cpu_s / ((double)samples / 1e6));
    free_reqs(rw, n_rw);

    /* 2. Loki push */
    for (int proto = 0; proto < 2; proto++) {
        req *lv;
        uint64_t raw_bytes;
        size_t n_l = build_loki(log_lines, proto, &lv, &raw_bytes);
        size_t wire = 0;
        for (size_t i = 0; i < n_l; i++) wire += lv[i].body.len;
        srv_start(&s, cairn, NULL);
        r = run_load(&s, lv, n_l, clients);
        srv_stop(&s);
        uint64_t lines = (uint64_t)n_l * LINES_PER_REQ;
        printf("loki push %s: %" PRIu64 " lines (%.1f MB raw, %.1f MB on the wire) in %zu requests, %d streams\n",
               proto ? "protobuf+snappy" : "JSON", lines, (double)raw_bytes / 1e6, (double)wire / 1e6, n_l,
               N_STREAMS);
        printf("  %.2f s wall, %.0f lines/s, %.1f MB/s raw, server CPU %.2f s = %.1f MB/s per CPU-second\n", r.wall_s,
               (double)lines / r.wall_s, (double)raw_bytes / 1e6 / r.wall_s, r.cpu_s,
               (double)raw_bytes / 1e6 / r.cpu_s);
        free_reqs(lv, n_l);
    }

    /* 3. text import (cairn import) */
    char dir[] = "/tmp/cairn-bench-import.XXXXXX";
    if (!mkdtemp(dir)) perror("mkdtemp"), exit(1);
    char file[300], data[300];
    snprintf(file, sizeof file, "%s/metrics.om", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    FILE *f = fopen(file, "w");
    ds_write_openmetrics(f, &d, scrapes);
    fclose(f);
    struct stat stt;
    stat(file, &stt);
    double t0 = bench_now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execl(cairn, cairn, "import", file, "--data", data, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double wall = bench_now_s() - t0;
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("text import (cairn import, OpenMetrics): %.1f MB, %" PRIu64 " samples, exit %d\n",
           (double)stt.st_size / 1e6, samples, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    printf("  %.2f s wall = %.1f MB/s, %.0f samples/s, CPU %.2f s\n", wall, (double)stt.st_size / 1e6 / wall,
           (double)samples / wall, cpu);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
