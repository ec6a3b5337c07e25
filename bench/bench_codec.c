/*
 * bench_codec.c — Gorilla float chunks: encode and decode speed, and bytes
 * per sample by series kind, on the realistic dataset of bench/dataset.h.
 *
 *   build/<x>/bench/bench_codec [n_series [samples_per_chunk [seed]]]
 *   defaults: 10000 series x 120 samples (one head chunk each), seed 1
 *   build/<x>/bench/bench_codec --openmetrics n_series samples [seed] > file
 *       prints the dataset instead (for promtool tsdb create-blocks-from)
 *
 * The samples are generated into memory first (not timed). Then, best of
 * REPS runs, single thread:
 *   chunk encode   chunk_w_init + chunk_w_append x n + chunk_w_shrink per
 *                  series: the head-chunk path, allocation included
 *   codec encode   gor_put into one preallocated buffer: the bit codec alone
 *   chunk decode   chunk_it_init + chunk_it_next until the end, per chunk
 *   batch decode   the same with chunk_it_next_n, 128 samples per call
 *   codec decode   gor_get in a loop over the same streams
 * and the sizes: chunk bytes (3-byte header included) / samples, per kind,
 * for jittered and exact timestamps, and overall. A checksum of every
 * decoded sample keeps the compiler honest and proves the round trip.
 * Results and the machine go to stdout; docs/benchmarks/codec.md keeps them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "dataset.h"
#include "gorilla.h"
#include "bench_util.h"

#define REPS 7

static uint64_t bits_of(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

int main(int argc, char **argv)
{
    if (argc > 3 && !strcmp(argv[1], "--openmetrics")) {
        ds od;
        ds_init(&od, strtoul(argv[2], NULL, 0), argc > 4 ? strtoull(argv[4], NULL, 0) : 1);
        ds_write_openmetrics(stdout, &od, strtoull(argv[3], NULL, 0));
        return 0;
    }
    size_t n_series = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 0) : 120;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
    if (n_series == 0 || n == 0 || n > CHUNK_MAX_SAMPLES) {
        fprintf(stderr, "usage: %s [n_series [samples_per_chunk (1..65535) [seed]]]\n", argv[0]);
        return 2;
    }
    size_t total = n_series * n;
    ds d;
    ds_init(&d, n_series, seed);
    int64_t *ts = malloc(total * 8);
    double *vs = malloc(total * 8);
    int *kind = malloc(n_series * sizeof *kind), *jit = malloc(n_series * sizeof *jit);
    chunk_w *cw = calloc(n_series, sizeof *cw);
    if (!ts || !vs || !kind || !jit || !cw) return 1;
    for (size_t s = 0; s < n_series; s++) {
        kind[s] = ds_kind(&d, s);
        jit[s] = ds_jittered(&d, s);
        for (size_t k = 0; k < n; k++) {
            ts[s * n + k] = ds_time(&d, s, k);
            vs[s * n + k] = ds_value(&d, s, k);
        }
    }
    uint64_t want = 0;
    for (size_t i = 0; i < total; i++) want += (uint64_t)ts[i] ^ bits_of(vs[i]);

    bench_machine();
    printf("dataset: bench/dataset.h seed %llu, %zu series x %zu samples (15 s scrapes) = %zu samples\n",
           (unsigned long long)seed, n_series, n, total);

    /* chunk encode (allocation included) */
    double best_enc = 1e9;
    for (int r = 0; r < REPS; r++) {
        if (r)
            for (size_t s = 0; s < n_series; s++) chunk_w_free(&cw[s]);
        double t0 = bench_now_s();
        for (size_t s = 0; s < n_series; s++) {
            chunk_w_init(&cw[s], CHUNK_GOR);
            for (size_t k = 0; k < n; k++)
                if (chunk_w_append(&cw[s], ts[s * n + k], vs[s * n + k])) return 1;
            chunk_w_shrink(&cw[s]);
        }
        double dt = bench_now_s() - t0;
        if (dt < best_enc) best_enc = dt;
    }

    /* chunk decode */
    double best_dec = 1e9;
    uint64_t sum = 0;
    for (int r = 0; r < REPS; r++) {
        sum = 0;
        double t0 = bench_now_s();
        for (size_t s = 0; s < n_series; s++) {
            size_t len;
            const uint8_t *p = chunk_w_bytes(&cw[s], &len);
            chunk_it it;
            chunk_it_init(&it, p, len);
            int64_t t;
            double v;
            while (chunk_it_next(&it, &t, &v) == 1) sum += (uint64_t)t ^ bits_of(v);
        }
        double dt = bench_now_s() - t0;
        if (dt < best_dec) best_dec = dt;
    }
    if (sum != want) {
        fprintf(stderr, "checksum mismatch: decode is broken\n");
        return 1;
    }

    /* chunk decode, batches of 128 */
    double best_decn = 1e9;
    for (int r = 0; r < REPS; r++) {
        sum = 0;
        int64_t tb[128];
        double vb2[128];
        double t0 = bench_now_s();
        for (size_t s = 0; s < n_series; s++) {
            size_t len;
            const uint8_t *p = chunk_w_bytes(&cw[s], &len);
            chunk_it it;
            chunk_it_init(&it, p, len);
            int got;
            while ((got = chunk_it_next_n(&it, tb, vb2, 128)) > 0)
                for (int k = 0; k < got; k++) sum += (uint64_t)tb[k] ^ bits_of(vb2[k]);
        }
        double dt = bench_now_s() - t0;
        if (dt < best_decn) best_decn = dt;
    }
    if (sum != want) {
        fprintf(stderr, "checksum mismatch: batch decode is broken\n");
        return 1;
    }

    /* the bit codec alone: one preallocated stream per series, laid end to end */
    size_t stride = (n * GOR_MAX_SAMPLE_BITS + 7) / 8 + 16;
    uint8_t *arena = malloc(n_series * stride);
    uint64_t *vb = malloc(total * 8);
    if (!arena || !vb) return 1;
    for (size_t i = 0; i < total; i++) vb[i] = bits_of(vs[i]);
    double best_genc = 1e9, best_gdec = 1e9;
    for (int r = 0; r < REPS; r++) {
        double t0 = bench_now_s();
        for (size_t s = 0; s < n_series; s++) {
            bits_w w;
            bits_w_init(&w, arena + s * stride, stride, 0);
            gor_state st;
            gor_init(&st);
            for (size_t k = 0; k < n; k++) gor_put(&st, &w, ts[s * n + k], vb[s * n + k]);
        }
        double dt = bench_now_s() - t0;
        if (dt < best_genc) best_genc = dt;
    }
    for (int r = 0; r < REPS; r++) {
        sum = 0;
        double t0 = bench_now_s();
        for (size_t s = 0; s < n_series; s++) {
            bits_r rd;
            bits_r_init(&rd, arena + s * stride, stride);
            gor_state st;
            gor_init(&st);
            for (size_t k = 0; k < n; k++) {
                int64_t t;
                uint64_t v;
                if (gor_get(&st, &rd, &t, &v)) return 1;
                sum += (uint64_t)t ^ v;
            }
        }
        double dt = bench_now_s() - t0;
        if (dt < best_gdec) best_gdec = dt;
    }
    if (sum != want) {
        fprintf(stderr, "checksum mismatch: codec decode is broken\n");
        return 1;
    }

    printf("\n%-34s %10s %12s\n", "speed (best of 7, 1 thread)", "ns/sample", "M samples/s");
    printf("%-34s %10.2f %12.1f\n", "chunk encode (append, alloc incl.)", best_enc * 1e9 / (double)total,
           (double)total / best_enc / 1e6);
    printf("%-34s %10.2f %12.1f\n", "chunk decode (chunk_it_next)", best_dec * 1e9 / (double)total,
           (double)total / best_dec / 1e6);
    printf("%-34s %10.2f %12.1f\n", "chunk decode (chunk_it_next_n, 128)", best_decn * 1e9 / (double)total,
           (double)total / best_decn / 1e6);
    printf("%-34s %10.2f %12.1f\n", "codec encode (gor_put)", best_genc * 1e9 / (double)total,
           (double)total / best_genc / 1e6);
    printf("%-34s %10.2f %12.1f\n", "codec decode (gor_get)", best_gdec * 1e9 / (double)total,
           (double)total / best_gdec / 1e6);

    /* sizes */
    double bytes_k[DS_N_KINDS] = {0}, samp_k[DS_N_KINDS] = {0}, bytes_j[2] = {0}, samp_j[2] = {0};
    double mem = 0, all = 0;
    for (size_t s = 0; s < n_series; s++) {
        size_t len;
        chunk_w_bytes(&cw[s], &len);
        bytes_k[kind[s]] += (double)len;
        samp_k[kind[s]] += (double)n;
        bytes_j[jit[s]] += (double)len;
        samp_j[jit[s]] += (double)n;
        all += (double)len;
        mem += (double)chunk_w_mem(&cw[s]);
    }
    printf("\n%-24s %8s %12s\n", "bytes/sample by kind", "series", "bytes/sample");
    for (int k = 0; k < DS_N_KINDS; k++)
        if (samp_k[k] > 0)
            printf("%-24s %8.0f %12.3f\n", ds_kind_name(k), samp_k[k] / (double)n, bytes_k[k] / samp_k[k]);
    printf("%-24s %8.0f %12.3f\n", "exact timestamps", samp_j[0] / (double)n, samp_j[0] ? bytes_j[0] / samp_j[0] : 0);
    printf("%-24s %8.0f %12.3f\n", "jittered (+-2 ms)", samp_j[1] / (double)n, samp_j[1] ? bytes_j[1] / samp_j[1] : 0);
    printf("%-24s %8zu %12.3f\n", "overall", n_series, all / (double)total);
    printf("raw class for comparison: %.3f bytes/sample\n", (3.0 + 16.0 * (double)n) / (double)n);
    printf("mean chunk: %.1f bytes (after shrink), chunk_w struct %zu bytes\n", mem / (double)n_series,
           sizeof(chunk_w));

    for (size_t s = 0; s < n_series; s++) chunk_w_free(&cw[s]);
    free(ts);
    free(vs);
    free(kind);
    free(jit);
    free(cw);
    free(arena);
    free(vb);
    return 0;
}
