/*
 * bench_http_query — query latency through `cairn serve`'s Prometheus API
 * versus the engine called directly (cairn_query_open), on the same data.
 *
 * Data: S series (default 2000) `bench_http_total{pod,model}`, one sample
 * every 15 s for 2 h, written with cairn_commit into a temp dir. Then each
 * query of the set runs R times (default 15) in-process and the median is
 * kept; the database is closed, `cairn serve` (path in argv[1], default
 * build/cairn) is started on it, and the same queries go over one
 * keep-alive HTTP/1.1 connection (GET, whole response read), median of R.
 * Overhead = HTTP / direct - 1: parameter parsing, JSON writing and the
 * socket. The direct run walks every point of the result (the minimum any
 * consumer does).
 *
 * Usage: bench_http_query [CAIRN_BINARY [SERIES [RUNS]]]
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "bench_util.h"

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, dcmp);
    return v[n / 2];
}

#define T_END 1705320000000LL /* 2024-01-15T12:00:00Z */
#define SPAN_MS (2 * 3600 * 1000LL)

typedef struct bq {
    const char *name, *promql, *url; /* url: path?query with start/end/step */
    int64_t start, end, step;
} bq;

static void load(cairn_db *db, int n_series)
{
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    char pod[32], model[32];
    for (int s = 0; s < n_series; s++) {
        snprintf(pod, sizeof pod, "pod-%d", s);
        snprintf(model, sizeof model, "m%d", s % 10);
        cairn_label ls[] = {{"__name__", 8, "bench_http_total", 16},
                            {"model", 5, model, strlen(model)},
                            {"pod", 3, pod, strlen(pod)}};
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 3, &e);
        double v = 0;
        for (int64_t t = T_END - SPAN_MS; t <= T_END; t += 15000) {
            v += (double)(s % 7 + 1) + (double)(t % 1000) / 1000.0;
            cairn_batch_sample(b, ref, t, v, &e);
        }
        if (s % 100 == 99 || s == n_series - 1) {
            if (cairn_commit(db, b, &e)) {
                fprintf(stderr, "commit: %s\n", e.msg);
                exit(1);
            }
            cairn_batch_reset(b);
        }
    }
    cairn_batch_free(b);
}

static double run_direct(cairn_db *db, const bq *q, size_t *points)
{
    cairn_query *cq;
    cairn_err e;
    double t0 = bench_now_s();
    if (cairn_query_open(db, CAIRN_LANG_PROMQL, q->promql, strlen(q->promql), q->start, q->end, q->step, NULL, &cq,
                         &e)) {
        fprintf(stderr, "%s: %s\n", q->name, e.msg);
        exit(1);
    }
    size_t np = 0;
    double sink = 0;
    for (size_t i = 0; i < cairn_query_series_count(cq); i++) {
        const double *v;
        size_t n;
        cairn_query_series(cq, i, NULL, NULL, NULL, &v, &n);
        for (size_t k = 0; k < n; k++) sink += v[k];
        np += n;
    }
    cairn_query_close(cq);
    double d = bench_now_s() - t0;
    *points = np;
    if (sink == 12345.678) puts("");
    return d;
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static char *rbuf;
static size_t rcap = 64 << 20;

/* One GET on a keep-alive connection; returns seconds and the body size. */
static double run_http(int fd, const char *target, size_t *body_len)
{
    char req[2048];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: b\r\n\r\n", target);
    double t0 = bench_now_s();
    if (send(fd, req, (size_t)n, 0) != n) exit(1);
    size_t got = 0, need = 0, hl = 0;
    for (;;) {
        ssize_t r = recv(fd, rbuf + got, rcap - got, 0);
        if (r <= 0) {
            fprintf(stderr, "connection closed\n");
            exit(1);
        }
        got += (size_t)r;
        if (!hl) {
            rbuf[got < rcap ? got : rcap - 1] = 0;
            char *e = strstr(rbuf, "\r\n\r\n");
            if (!e) continue;
            hl = (size_t)(e - rbuf) + 4;
            char *cl = strcasestr(rbuf, "content-length:");
            if (!cl || atoi(rbuf + 9) != 200) {
                fprintf(stderr, "bad answer: %.300s\n", rbuf);
                exit(1);
            }
            need = hl + strtoul(cl + 15, NULL, 10);
        }
        if (got >= need) break;
    }
    *body_len = need - hl;
    return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
    const char *bin = argc > 1 ? argv[1] : "build/cairn";
    int n_series = argc > 2 ? atoi(argv[2]) : 2000;
    int runs = argc > 3 ? atoi(argv[3]) : 15;
    char dir[] = "/tmp/bench_http_query.XXXXXX";
    if (!mkdtemp(dir)) return 1;
    rbuf = malloc(rcap);
    /* the same allocator settings as `cairn serve` (api/server.c), so both sides pay the same page faults */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    char url[6][512];
    bq qs[] = {
        {"raw matrix, all series, 2 h step 30 s", "bench_http_total", NULL, T_END - SPAN_MS + 60000, T_END, 30000},
        {"rate by pod (large matrix)", "rate(bench_http_total[1m])", NULL, T_END - SPAN_MS + 60000, T_END, 30000},
        {"sum by model (rate)", "sum by (model) (rate(bench_http_total[5m]))", NULL, T_END - SPAN_MS + 300000, T_END,
         60000},
        {"instant vector, all series", "bench_http_total", NULL, T_END, T_END, 0},
        {"instant topk", "topk(5, rate(bench_http_total[5m]))", NULL, T_END, T_END, 0},
    };
    size_t nq = sizeof qs / sizeof qs[0];
    for (size_t i = 0; i < nq; i++) {
        char enc[256];
        size_t o = 0;
        for (const char *p = qs[i].promql; *p && o + 4 < sizeof enc; p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
                enc[o++] = *p;
            else o += (size_t)snprintf(enc + o, sizeof enc - o, "%%%02X", (unsigned char)*p);
        }
        enc[o] = 0;
        if (qs[i].step)
            snprintf(url[i], sizeof url[i], "/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=%.3f", enc,
                     (double)qs[i].start / 1000, (double)qs[i].end / 1000, (double)qs[i].step / 1000);
        else snprintf(url[i], sizeof url[i], "/api/v1/query?query=%s&time=%.3f", enc, (double)qs[i].end / 1000);
        qs[i].url = url[i];
    }

    cairn_options o;
    cairn_options_default(&o);
    o.retention_metrics_ms = 0;
    o.background = 0;
    cairn_db *db;
    cairn_err e;
    if (cairn_open(dir, &o, &db, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double t0 = bench_now_s();
    load(db, n_series);
    printf("bench_http_query: %d series x %lld samples (15 s apart, 2 h), loaded in %.1f s; %d runs per query, median\n",
           n_series, (long long)(SPAN_MS / 15000 + 1), bench_now_s() - t0, runs);
    /* reopen, so the direct runs read the same on-disk state the server will */
    cairn_close(db);
    if (cairn_open(dir, &o, &db, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double direct[8];
    size_t points[8];
    double *v = malloc(sizeof(double) * (size_t)runs);
    for (size_t i = 0; i < nq; i++) {
        run_direct(db, &qs[i], &points[i]); /* warm */
        for (int r = 0; r < runs; r++) v[r] = run_direct(db, &qs[i], &points[i]);
        direct[i] = median(v, runs);
    }
    cairn_close(db);

    /* serve the same directory */
    int port = 20000 + (int)(getpid() % 20000);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl(bin, bin, "serve", "--listen", listen, "--data", dir, "--threads", "2", (char *)NULL);
        _exit(127);
    }
    int fd = -1;
    for (int i = 0; i < 200 && fd < 0; i++) {
        usleep(50000);
        fd = connect_port(port);
    }
    if (fd < 0) {
        fprintf(stderr, "cannot reach %s serve on %s\n", bin, listen);
        kill(pid, SIGTERM);
        return 1;
    }
    size_t blen = 0;
    for (int tries = 0; tries < 100; tries++) { /* wait for ready: a query answers 200 */
        char req[] = "GET /-/ready HTTP/1.1\r\nHost: b\r\n\r\n";
        send(fd, req, sizeof req - 1, 0);
        ssize_t r = recv(fd, rbuf, 4096, 0);
        if (r > 12 && !memcmp(rbuf + 9, "200", 3)) break;
        usleep(100000);
    }
    printf("%-40s %10s %9s %11s %11s %9s\n", "query", "points", "JSON MB", "direct ms", "HTTP ms", "overhead");
    for (size_t i = 0; i < nq; i++) {
        run_http(fd, qs[i].url, &blen);
        for (int r = 0; r < runs; r++) v[r] = run_http(fd, qs[i].url, &blen);
        double h = median(v, runs);
        printf("%-40s %10zu %9.2f %11.2f %11.2f %8.1f%%\n", qs[i].name, points[i], (double)blen / 1048576.0,
               direct[i] * 1000, h * 1000, (h / direct[i] - 1) * 100);
    }
    close(fd);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    free(v);
    free(rbuf);
    return 0;
}
