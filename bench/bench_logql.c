/*
 * bench_logql.c — LogQL query latency on generated JSON request logs.
 *
 * Data: JSON request logs of an ML inference service, the shape of
 * bench_logs.c (ts, level, service, route, model_name, model_version,
 * request_id and trace_id as random hex, latency_ms, status), spread evenly
 * over 24 h on --streams streams labelled {app="x", service, pod}, in time
 * order, committed through cairn_commit in batches of 10 000 entries into a
 * temporary data directory, then checkpointed so the queries read sealed
 * zstd blocks from LMDB (plus nothing in the heads).
 *
 * Queries (range = the 24 h of data, step 60 s, Grafana's defaults for
 * log queries: limit 1000, backward):
 *   1. {app="x"} |= "error"
 *   2. {app="x"} | json | latency_ms > 100
 *   3. sum by (status) (rate({app="x"} | json [1m]))
 *   4. quantile_over_time(0.95, {app="x"} | json | unwrap latency_ms [5m]) by (model_name)
 *   4b. the same without `by`, as the issue writes it (one series per line
 *       because request_id is unique: it hits the series limit, as in Loki)
 * Each query runs --runs times (default 3); min and median wall time, the
 * entries read from storage and the result size are printed.
 *
 * Usage: bench_logql [--mb N (256)] [--streams N (20)] [--runs N (3)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "cairn.h"
#include "logeval.h"
#include "bench_util.h"

#define S 1000000000LL

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1DULL;
}
static uint64_t rndn(uint64_t n) { return rnd() % n; }

static const char *services[] = {"inference-gw", "model-server", "feature-store", "tokenizer", "batcher"};
static const char *models[] = {"llama-3-8b", "mistral-7b", "bert-base-ner", "resnet50", "whisper-small", "t5-large"};
static const char *routes[] = {"/v1/predict", "/v1/embeddings", "/v1/chat/completions", "/v1/classify", "/healthz"};

static void hex(char *d, int n)
{
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < n; i += 16) {
        uint64_t r = rnd();
        for (int k = 0; k < 16 && i + k < n; k++) d[i + k] = x[(r >> (4 * k)) & 15];
    }
    d[n] = 0;
}

static int gen_line(int s, int64_t t, char *out, size_t cap)
{
    int64_t sec = t / S, ns = t % S;
    struct tm tm;
    time_t tt = (time_t)sec;
    gmtime_r(&tt, &tm);
    char ts[64], rid[40], tid[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns / 1000) % 1000000);
    int r = (int)rndn(100);
    const char *level = r < 85 ? "info" : r < 95 ? "warn" : "error";
    int status = r < 95 ? (rndn(20) ? 200 : 404) : (rndn(2) ? 500 : 503);
    double lat = 2.0 + (double)(rndn(1000) * rndn(1000)) / 1000.0;
    hex(rid, 32);
    hex(tid, 32);
    return snprintf(out, cap,
                    "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"route\":\"%s\",\"model_name\":\"%s\","
                    "\"model_version\":\"%d\",\"request_id\":\"%s\",\"trace_id\":\"%s\",\"latency_ms\":%.2f,"
                    "\"status\":%d}",
                    ts, level, services[s % 5], routes[(s + rndn(3)) % 5], models[(s + rndn(2)) % 6], 1 + (s % 4), rid,
                    tid, lat, status);
}

typedef struct qdef {
    const char *name, *q;
    int log;
} qdef;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    size_t mb = 256;
    int n_streams = 20, runs = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb")) mb = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--streams")) n_streams = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    }
    bench_machine();
    char dir[] = "/tmp/bench_logql_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    cairn_db *db;
    cairn_err e;
    if (cairn_open(dir, &o, &db, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    /* lines average ~272 bytes: n_lines = mb MiB / 272, evenly over 24 h */
    size_t target = mb << 20;
    size_t n_lines = target / 272;
    int64_t t_end = 1714564800LL * S, t_start = t_end - 86400 * S;
    int64_t gap = (86400 * S) / (int64_t)n_lines;
    cairn_batch *b = cairn_batch_new();
    int *refs = malloc((size_t)n_streams * sizeof *refs);
    char line[512], svc[32], pod[32];
    size_t raw = 0, lines = 0;
    double t0 = bench_now_s();
    int64_t t = t_start;
    while (lines < n_lines) {
        cairn_batch_reset(b);
        for (int s = 0; s < n_streams; s++) {
            snprintf(svc, sizeof svc, "%s", services[s % 5]);
            snprintf(pod, sizeof pod, "pod-%d", s);
            cairn_label ls[] = {{"app", 3, "x", 1}, {"pod", 3, pod, strlen(pod)}, {"service", 7, svc, strlen(svc)}};
            refs[s] = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 3, &e);
        }
        for (int k = 0; k < 10000 && lines < n_lines; k++) {
            int s = (int)rndn((uint64_t)n_streams);
            t += gap;
            int n = gen_line(s, t, line, sizeof line);
            if (cairn_batch_entry(b, refs[s], t, line, (size_t)n, NULL, 0, &e)) {
                fprintf(stderr, "entry: %s\n", e.msg);
                return 1;
            }
            raw += (size_t)n;
            lines++;
        }
        if (cairn_commit(db, b, &e)) {
            fprintf(stderr, "commit: %s\n", e.msg);
            return 1;
        }
    }
    double t_ing = bench_now_s() - t0;
    t0 = bench_now_s();
    if (cairn_checkpoint(db, &e)) fprintf(stderr, "checkpoint: %s\n", e.msg);
    double t_cp = bench_now_s() - t0;
    printf("data: %zu JSON lines, %.1f MiB raw, %d streams {app=\"x\",service,pod}, 24 h\n", lines,
           (double)raw / 1048576.0, n_streams);
    printf("ingest through cairn_commit: %.1f s (%.1f MiB/s), checkpoint %.1f s\n", t_ing, (double)raw / 1048576.0 / t_ing,
           t_cp);

    qdef qs[] = {
        {"line filter", "{app=\"x\"} |= \"error\"", 1},
        {"json + label filter", "{app=\"x\"} | json | latency_ms > 100", 1},
        {"sum by status rate json 1m", "sum by (status) (rate({app=\"x\"} | json [1m]))", 0},
        {"p95 unwrap 5m by model", "quantile_over_time(0.95, {app=\"x\"} | json | unwrap latency_ms [5m]) by (model_name)", 0},
        {"p95 unwrap 5m (no by)", "quantile_over_time(0.95, {app=\"x\"} | json | unwrap latency_ms [5m])", 0},
        {"metric line filter count", "sum(count_over_time({app=\"x\"} |= \"error\" [1m]))", 0},
    };
    printf("\n%-28s %10s %10s %14s %10s  %s\n", "query", "min s", "median s", "entries read", "result", "note");
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double *ts = malloc((size_t)runs * sizeof *ts);
        leval_result r;
        int rc = 0;
        char note[160] = "";
        for (int k = 0; k < runs; k++) {
            arena *ar = arena_new(1 << 20);
            leval_params p = {t_start, t_end, qs[i].log ? 0 : 60 * S, 1000, CAIRN_BACKWARD};
            if (qs[i].log) p.step_ns = 60 * S; /* ignored by log queries except to mark a range query */
            double a = bench_now_s();
            rc = leval_query(ar, db, qs[i].q, strlen(qs[i].q), &p, NULL, &r, &e);
            ts[k] = bench_now_s() - a;
            if (rc) snprintf(note, sizeof note, "error %s: %.100s", cairn_strerror(rc), e.msg);
            arena_free(ar);
        }
        qsort(ts, (size_t)runs, sizeof *ts, cmp_d);
        char res[64];
        if (rc) snprintf(res, sizeof res, "-");
        else if (qs[i].log) snprintf(res, sizeof res, "%llu ent", (unsigned long long)r.stats.entries_returned);
        else snprintf(res, sizeof res, "%llu ser", (unsigned long long)r.stats.series_returned);
        printf("%-28s %10.3f %10.3f %14llu %10s  %s\n", qs[i].name, ts[0], ts[runs / 2],
               (unsigned long long)r.stats.entries_scanned, res, note);
        printf("    %s\n", qs[i].q);
        free(ts);
    }
    cairn_batch_free(b);
    free(refs);
    cairn_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
