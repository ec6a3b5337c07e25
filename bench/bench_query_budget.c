/*
 * bench_query_budget.c — what the query memory budget buys on a small
 * machine: the all-series query of issue 10 against N series, through
 * cairn_query_open() with the limits `cairn serve` uses by default
 * (cairn_query_opts_default(): 256 MiB per query, 100 000 series, 2 min;
 * plus the 512 MiB budget shared by all queries, as papi_ctx passes it).
 *
 * Data (synthetic, in a temp dir under /dev/shm or $TMPDIR): N series
 * bench_metric_<k>{instance="i<j>"} (100 metric names) with one sample every
 * 6 h for 30 days (the query's cost is series x steps, whatever the sample
 * count). Then, with the peak RSS reset (/proc/self/clear_refs, 5):
 *   1. count({__name__=~".+"}) over 30 days at step 236 s (10 984 steps):
 *      without a budget that is 100 000 x 10 984 x 8 bytes = 8.8 GB of rows;
 *      it must fail with a clear CAIRN_ELIMIT quickly;
 *   2. the same over 1 day at step 600 s (145 steps, ~116 MB of rows), which
 *      fits, and the RSS right after closing it (memory given back);
 *   3. the nested subqueries max_over_time(…(x[1d:1s])[1d:1s])[1d:1s]
 *      on one series (fits) and on every series of one name, N / 100 (refused
 *      early).
 * Each prints elapsed seconds, VmHWM (peak since the reset) and VmRSS, with
 * RssAnon (heap; file pages are LMDB's map and the page cache of /dev/shm).
 *
 *   bench_query_budget [--series N]      (default 100000)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "cairn.h"

/* "VmHWM:" or "VmRSS:" from /proc/self/status, in MiB. */
static double proc_mib(const char *key)
{
    char line[256];
    double v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) {
            v = strtod(line + strlen(key), NULL) / 1024.0;
            break;
        }
    if (f) fclose(f);
    return v;
}

/* A thread sampling RssAnon every 5 ms: the heap's peak, which VmHWM mixes
 * with file pages (LMDB's map of the data directory). */
typedef struct sampler {
    pthread_t th;
    atomic_int stop;
    double max_anon;
} sampler;

static void *sampler_main(void *arg)
{
    sampler *s = arg;
    while (!atomic_load(&s->stop)) {
        double a = proc_mib("RssAnon:");
        if (a > s->max_anon) s->max_anon = a;
        struct timespec d = {0, 5000000L};
        nanosleep(&d, NULL);
    }
    return NULL;
}

static void reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static void run(cairn_db *db, const char *label, const char *q, int64_t start, int64_t end, int64_t step,
                cairn_query_budget *shared)
{
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.shared_budget = shared;
    reset_peak();
    double rss0 = proc_mib("VmRSS:"), anon0 = proc_mib("RssAnon:");
    cairn_query *cq = NULL;
    cairn_err e;
    sampler sm;
    memset(&sm, 0, sizeof sm);
    atomic_init(&sm.stop, 0);
    sm.max_anon = anon0;
    int have_sampler = pthread_create(&sm.th, NULL, sampler_main, &sm) == 0;
    double t0 = bench_now_s();
    int rc = cairn_query_open(db, CAIRN_LANG_PROMQL, q, strlen(q), start, end, step, &o, &cq, &e);
    double dt = bench_now_s() - t0;
    if (have_sampler) {
        atomic_store(&sm.stop, 1);
        pthread_join(sm.th, NULL);
    }
    double hwm = proc_mib("VmHWM:");
    size_t n = rc ? 0 : cairn_query_series_count(cq);
    cairn_query_close(cq);
    double rss1 = proc_mib("VmRSS:"), anon1 = proc_mib("RssAnon:");
    printf("%s: %s, %lld steps\n", label, q, step ? (long long)((end - start) / step + 1) : 1LL);
    if (rc) printf("  error %d after %.2f s: %s\n", rc, dt, e.msg);
    else printf("  ok after %.2f s: %zu series\n", dt, n);
    printf("  RSS before %.0f MiB (anonymous %.0f), peak (VmHWM) %.0f MiB (anonymous, sampled: %.0f), after close "
           "%.0f MiB (anonymous %.0f)\n",
           rss0, anon0, hwm, sm.max_anon, rss1, anon1);
}

int main(int argc, char **argv)
{
    long n_series = 100000;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--series")) n_series = atol(argv[i + 1]);
    const int64_t day = 86400000, every = 6 * 3600000LL, t_end = 30 * day;
    char dir[512];
    cairn_db *db;
    if (bench_open_tmp("bench_query_budget", dir, sizeof dir, &db)) return 1;
    cairn_err e;
    double t0 = bench_now_s();
    uint64_t samples = 0;
    const long per_batch = 10000;
    for (long s0 = 0; s0 < n_series; s0 += per_batch) {
        cairn_batch *b = cairn_batch_new();
        for (long s = s0; s < s0 + per_batch && s < n_series; s++) {
            char name[32], inst[24];
            snprintf(name, sizeof name, "bench_metric_%ld", s % 100);
            snprintf(inst, sizeof inst, "i%ld", s / 100);
            cairn_label ls[2] = {{"__name__", 8, name, strlen(name)}, {"instance", 8, inst, strlen(inst)}};
            int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
            for (int64_t t = 0; t <= t_end; t += every) {
                cairn_batch_sample(b, ref, t, (double)s, &e);
                samples++;
            }
        }
        if (cairn_commit(db, b, &e)) {
            fprintf(stderr, "commit: %s\n", e.msg);
            return 1;
        }
        cairn_batch_free(b);
    }
    cairn_checkpoint(db, &e);
    double load_s = bench_now_s() - t0;
    bench_machine();
    printf("data: %ld series, 30 days at 6 h, %llu samples, loaded in %.1f s\n", n_series,
           (unsigned long long)samples, load_s);
    printf("limits: cairn_query_opts_default() (256 MiB per query, 100000 series, 2 min) + a 512 MiB shared budget\n");
    cairn_query_budget *shared = cairn_query_budget_new(512ull * 1024 * 1024);
    run(db, "all series, 30 d", "count({__name__=~\".+\"})", 0, t_end, 236000, shared);
    run(db, "all series, 1 d", "count({__name__=~\".+\"})", t_end - day, t_end, 600000, shared);
    run(db, "all series, 30 d again", "count({__name__=~\".+\"})", 0, t_end, 236000, shared);
    run(db, "nested subqueries, 1 series",
        "max_over_time(max_over_time(max_over_time(bench_metric_0{instance=\"i0\"}[1d:1s])[1d:1s])[1d:1s])", t_end,
        t_end, 0, shared);
    run(db, "nested subqueries, every bench_metric_0 series (N / 100)",
        "max_over_time(max_over_time(max_over_time(bench_metric_0[1d:1s])[1d:1s])[1d:1s])", t_end, t_end, 0, shared);
    cairn_query_budget_free(shared);
    cairn_close(db);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
