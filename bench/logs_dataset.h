/*
 * logs_dataset.h — a deterministic generator of realistic log lines for
 * benchmarks (header-only, static functions; shared by bench_logs.c,
 * bench_log_ingest.c and bench_logql.c).
 *
 * Two thirds of the streams carry JSON request logs of an ML inference
 * service (ts, level, service, route, model_name, model_version, request_id,
 * trace_id — random hex ids —, latency_ms, status); the rest carry logfmt
 * lines of a batching service. Stream rates are skewed; timestamps advance
 * ~175 us per line overall with up to 2 ms of jitter (some lines arrive out
 * of order). gen_next() returns the stream index of each line; the RNG is a
 * fixed-seed xorshift, so every run produces the same bytes.
 */
#ifndef CAIRN_BENCH_LOGS_DATASET_H
#define CAIRN_BENCH_LOGS_DATASET_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- the generator ----------------------------------------------------------------- */

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
static const char *routes[] = {"/v1/predict", "/v1/embeddings", "/v1/chat/completions", "/v1/classify",
                               "/healthz"};
static const char *msgs[] = {"request served", "batch flushed", "cache miss", "model loaded", "queue full",
                             "upstream timeout"};

typedef struct gen {
    int n_streams;
    double *cum; /* cumulative stream weights */
    int64_t t;   /* global clock, ns */
} gen;

static void gen_init(gen *g, int n_streams)
{
    g->n_streams = n_streams;
    g->cum = malloc(n_streams * sizeof *g->cum);
    double s = 0;
    for (int i = 0; i < n_streams; i++) g->cum[i] = s += 1.0 / (1 + i % 7); /* skewed rates */
    for (int i = 0; i < n_streams; i++) g->cum[i] /= s;
    g->t = 1714564800000000000LL; /* 2024-05-01T12:00:00Z */
}

static void hex(char *d, int n)
{
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < n; i += 16) {
        uint64_t r = rnd();
        for (int k = 0; k < 16 && i + k < n; k++) d[i + k] = x[(r >> (4 * k)) & 15];
    }
    d[n] = 0;
}

/* Next entry: returns its stream, timestamp and line in buf. */
static int gen_next(gen *g, int64_t *t, char *out, size_t cap, size_t *len)
{
    g->t += 50000 + (int64_t)rndn(300000); /* ~5,700 lines/s overall */
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
    int s = 0;
    while (s < g->n_streams - 1 && g->cum[s] < u) s++;
    *t = g->t - (int64_t)rndn(2000000); /* a little jitter: some out of order */
    int64_t sec = *t / 1000000000, ns = *t % 1000000000;
    struct tm tm;
    time_t tt = (time_t)sec;
    gmtime_r(&tt, &tm);
    char ts[64], rid[40], tid[40];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns / 1000) % 1000000);
    int r = (int)rndn(100);
    const char *level = r < 85 ? "info" : r < 95 ? "warn" : "error";
    int status = r < 95 ? (rndn(20) ? 200 : 404) : (rndn(2) ? 500 : 503);
    const char *svc = services[s % 5];
    const char *model = models[(s + rndn(2)) % 6];
    double lat = 2.0 + (double)(rndn(1000) * rndn(1000)) / 1000.0;
    int n;
    if (s % 3 != 2) {
        hex(rid, 32);
        hex(tid, 32);
        n = snprintf(out, cap,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"route\":\"%s\",\"model_name\":\"%s\","
                     "\"model_version\":\"%d\",\"request_id\":\"%s\",\"trace_id\":\"%s\",\"latency_ms\":%.2f,"
                     "\"status\":%d}",
                     ts, level, svc, routes[(s + rndn(3)) % 5], model, 1 + (s % 4), rid, tid, lat, status);
    } else {
        hex(rid, 16);
        hex(tid, 32);
        n = snprintf(out, cap,
                     "ts=%s level=%s service=%s msg=\"%s\" model=%s batch_size=%d queue_ms=%d request_id=%s "
                     "trace_id=%s status=%d duration_ms=%.1f",
                     ts, level, svc, msgs[r < 85 ? rndn(3) : 3 + rndn(3)], model, 1 << rndn(6), (int)rndn(50), rid,
                     tid, status, lat);
    }
    *len = (size_t)n;
    return s;
}

#endif
