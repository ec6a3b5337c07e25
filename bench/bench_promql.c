/*
 * bench_promql.c — latency of PromQL range queries through cairn_query_open().
 *
 * Data (synthetic, in a temp dir under /dev/shm or $TMPDIR): N counter series
 * inference_requests_total{model_name="m0".."m19", instance="i<k>"} and, for
 * every tenth instance, a classic histogram inference_latency_seconds_bucket
 * with 8 `le` buckets, one sample every 15 s for H hours, committed an hour
 * at a time. Queries: range H hours ending at the last sample, step 60 s, each
 * run 3 times; the best time is printed with the result size.
 *
 *   bench_promql [--series N] [--hours H]     (defaults 1000 series, 24 h)
 *
 * The reference dataset is 10 000 series × 24 h; --series 10000 runs it
 * (loading takes a few minutes on 2 cores).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "bench_util.h"

int main(int argc, char **argv)
{
    long n_series = 1000, hours = 24;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--series")) n_series = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--hours")) hours = atol(argv[i + 1]);
    }
    const int64_t every = 15000, per_hour = 3600000 / every;
    char dir[512];
    cairn_db *db;
    if (bench_open_tmp("bench_promql", dir, sizeof dir, &db)) return 1;
    cairn_err e;
    static const char *les[8] = {"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf"};
    long n_hist = (n_series + 9) / 10;
    long total_series = n_series + n_hist * 8;
    double t0 = bench_now_s();
    int64_t t_end = 0;
    uint64_t samples = 0;
    for (long h = 0; h < hours; h++) {
        cairn_batch *b = cairn_batch_new();
        for (long s = 0; s < n_series; s++) {
            char model[16], inst[24];
            snprintf(model, sizeof model, "m%ld", s % 20);
            snprintf(inst, sizeof inst, "i%ld", s);
            cairn_label ls[3] = {CAIRN_LABEL("__name__", "inference_requests_total"),
                                 {"instance", 8, inst, strlen(inst)},
                                 {"model_name", 10, model, strlen(model)}};
            int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 3, &e);
            for (int64_t k = 0; k < per_hour; k++) {
                int64_t i = h * per_hour + k;
                cairn_batch_sample(b, ref, i * every, (double)(i * (s % 7 + 1)), &e);
                samples++;
            }
            if (s % 10) continue;
            for (int q = 0; q < 8; q++) {
                cairn_label hl[4] = {CAIRN_LABEL("__name__", "inference_latency_seconds_bucket"),
                                     {"instance", 8, inst, strlen(inst)},
                                     {"le", 2, les[q], strlen(les[q])},
                                     {"model_name", 10, model, strlen(model)}};
                int hr = cairn_batch_series(b, CAIRN_KIND_METRIC, hl, 4, &e);
                for (int64_t k = 0; k < per_hour; k++) {
                    int64_t i = h * per_hour + k;
                    cairn_batch_sample(b, hr, i * every, (double)(i * (q + 1)), &e);
                    samples++;
                }
            }
        }
        if (cairn_commit(db, b, &e)) {
            fprintf(stderr, "commit: %s\n", e.msg);
            return 1;
        }
        cairn_batch_free(b);
        t_end = ((h + 1) * per_hour - 1) * every;
    }
    cairn_checkpoint(db, &e);
    double load_s = bench_now_s() - t0;
    bench_machine();
    printf("data: %ld series (%ld counters + %ld histograms x 8 buckets), %ld h at 15 s, %llu samples, loaded in "
           "%.1f s\n",
           total_series, n_series, n_hist, hours, (unsigned long long)samples, load_s);
    printf("queries: range %ld h, step 60 s, best of 3\n", hours);
    static const char *qs[] = {
        "rate(inference_requests_total[5m])",
        "sum by (model_name) (rate(inference_requests_total[5m]))",
        "histogram_quantile(0.95, sum by (le, model_name) (rate(inference_latency_seconds_bucket[5m])))",
        "count(inference_requests_total{instance=~\"i1.*\"})",
        "sum_over_time(inference_requests_total[1h])",
    };
    cairn_query_opts qo;
    cairn_query_opts_default(&qo);
    qo.max_samples = 0;
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double best = 1e9;
        size_t ns = 0, np = 0;
        for (int r = 0; r < 3; r++) {
            cairn_query *q;
            double a = bench_now_s();
            if (cairn_query_open(db, CAIRN_LANG_PROMQL, qs[i], strlen(qs[i]), 0, t_end, 60000, &qo, &q, &e)) {
                fprintf(stderr, "%s: %s\n", qs[i], e.msg);
                return 1;
            }
            double d = bench_now_s() - a;
            if (d < best) best = d;
            ns = cairn_query_series_count(q);
            np = 0;
            for (size_t k = 0; k < ns; k++) {
                size_t p;
                cairn_query_series(q, k, NULL, NULL, NULL, NULL, &p);
                np += p;
            }
            cairn_query_close(q);
        }
        printf("%8.1f ms  %6zu series %9zu points  %s\n", best * 1000, ns, np, qs[i]);
    }
    cairn_close(db);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
