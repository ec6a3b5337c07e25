/*
 * fuzz_promql_eval.c — libFuzzer target for the PromQL evaluator.
 *
 * The input is a PromQL query (a (ptr, len) buffer without NUL). It runs
 * against a small fixed data set — counters with a reset, a gauge with NaN,
 * ±Inf and a staleness marker, a classic histogram, two metrics that collide
 * once their names are dropped — created once per process in a temporary
 * data directory (removed at exit). Each query runs as an instant query and
 * as a range query (with one of a few grids chosen by the query's length).
 * Every outcome is fine except a crash, a sanitizer report, a leak or an
 * inconsistent result: a failing query must not return a handle, a
 * successful one must report series/points that are readable.
 * Limits keep each run small (samples, series, 100 ms timeout).
 * Seeds: tests/fuzz/corpus/promql_eval/.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cairn_db *fz_db;
static char fz_dir[256];

static void fz_cleanup(void)
{
    cairn_close(fz_db);
    fz_db = NULL;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd)) fprintf(stderr, "fuzz_promql_eval: could not remove %s\n", fz_dir);
}

static void fz_series(cairn_batch *b, const char *name, const char *k, const char *v, const double *vals, size_t n,
                      int64_t every)
{
    cairn_err e;
    cairn_label ls[2] = {{"__name__", 8, name, strlen(name)}, {k, strlen(k), v, strlen(v)}};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
    if (ref < 0) abort();
    for (size_t i = 0; i < n; i++)
        if (cairn_batch_sample(b, ref, (int64_t)i * every, vals[i], &e)) abort();
}

/* libFuzzer ends with _Exit (no atexit): remove directories of dead runs. */
static void fz_reap(const char *base)
{
    DIR *d = opendir(base);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        long pid;
        if (sscanf(de->d_name, "fuzz_promql_eval.%ld", &pid) != 1 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", base, de->d_name);
        if (system(cmd)) fprintf(stderr, "fuzz_promql_eval: could not remove %s\n", de->d_name);
    }
    if (d) closedir(d);
}

static void fz_setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    fz_reap(base);
    snprintf(fz_dir, sizeof fz_dir, "%s/fuzz_promql_eval.%ld", base, (long)getpid());
    if (mkdir(fz_dir, 0700)) abort();
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0;
    cairn_err e;
    if (cairn_open(fz_dir, &o, &fz_db, &e)) abort();
    atexit(fz_cleanup);
    cairn_batch *b = cairn_batch_new();
    double counter[20], gauge[20];
    uint64_t stale = 0x7ff0000000000002ULL;
    for (int i = 0; i < 20; i++) {
        counter[i] = i < 12 ? i * 10.0 : (i - 12) * 3.0;
        gauge[i] = (i % 5) - 2.5;
    }
    gauge[7] = 0.0 / 0.0;
    gauge[8] = 1.0 / 0.0;
    gauge[9] = -1.0 / 0.0;
    memcpy(&gauge[15], &stale, sizeof stale);
    fz_series(b, "http_requests_total", "job", "api", counter, 20, 30000);
    fz_series(b, "http_requests_total", "job", "web", gauge, 20, 45000);
    fz_series(b, "gauge", "job", "api", gauge, 20, 30000);
    fz_series(b, "other", "job", "api", counter, 10, 60000);
    static const char *les[4] = {"0.1", "1", "10", "+Inf"};
    for (int q = 0; q < 4; q++) {
        double c[20];
        for (int i = 0; i < 20; i++) c[i] = i * (q + 1.0);
        fz_series(b, "lat_bucket", "le", les[q], c, 20, 30000);
    }
    if (cairn_commit(fz_db, b, &e)) abort();
    cairn_batch_free(b);
}

static void fz_check(cairn_query *q)
{
    size_t n = cairn_query_series_count(q);
    for (size_t i = 0; i < n; i++) {
        const cairn_label *ls;
        size_t nl, np;
        const int64_t *t;
        const double *v;
        if (cairn_query_series(q, i, &ls, &nl, &t, &v, &np)) abort();
        for (size_t k = 0; k < nl; k++)
            if (!ls[k].name_len) abort();
        for (size_t k = 1; k < np; k++)
            if (t[k] < t[k - 1]) abort();
        volatile double sink = 0;
        for (size_t k = 0; k < np; k++) sink += v[k];
        (void)sink;
    }
    if (cairn_query_series(q, n, NULL, NULL, NULL, NULL, NULL) != CAIRN_NOTFOUND) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_db) fz_setup();
    if (size > 4096) return 0;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.max_samples = 100000;
    o.max_series = 1000;
    o.timeout_ms = 100;
    o.max_points_per_series = 200;
    static const int64_t grids[4][3] = {{0, 600000, 60000}, {-120000, 900000, 45000}, {300000, 300000, 1}, {0, 86400000, 600000}};
    const int64_t *g = grids[size % 4];
    cairn_err e;
    for (int pass = 0; pass < 2; pass++) {
        cairn_query *q = NULL;
        int rc = pass ? cairn_query_open(fz_db, CAIRN_LANG_PROMQL, (const char *)data, size, g[0], g[1], g[2], &o, &q, &e)
                      : cairn_query_open(fz_db, CAIRN_LANG_PROMQL, (const char *)data, size, g[1], g[1], 0, &o, &q, &e);
        if (rc) {
            if (q) abort();
            if (!e.msg[0]) abort();
            continue;
        }
        fz_check(q);
        cairn_query_close(q);
    }
    return 0;
}
