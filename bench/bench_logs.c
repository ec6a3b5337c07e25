/*
 * bench_logs.c — the log store's blocks and streams on generated, realistic logs.
 *
 * Data: JSON request logs of an ML inference service (ts, level, service, route,
 * model_name, model_version, request_id, trace_id as random hex, latency_ms,
 * status) on two thirds of the streams and logfmt lines on the rest, spread over
 * --streams streams with skewed rates, arriving in time order with jitter.
 *
 * Measures:
 *   1. stored bytes (sealed blocks + chunk index, as a checkpoint writes them) vs
 *      the same lines, newline-separated, as one file through the zstd CLI at -3
 *      and -19; for several zstd levels and block sizes;
 *   2. append throughput through lstream_append (cuts and compression included;
 *      no WAL, no index — the engine's end-to-end figure is measured elsewhere);
 *   3. memory per stream (lstream_mem_bytes) while active and after a flush;
 *   4. a substring filter over --scan-mb of raw logs flushed to LMDB, cold
 *      (every block decompressed and scanned) vs `zstd -d` of the same lines as
 *      one -1 file plus memmem over the decompressed bytes.
 * Usage: bench_logs [--store-mb N (16)] [--scan-mb N (1024)] [--streams N (20)] [--no19]
 * The defaults keep a run under ~3 minutes on a shared 2-core VM; --scan-mb 0 skips part 4.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kv.h"
#include "logs.h"
#include "mem.h"

/* ---- clocks and machine ------------------------------------------------------------ */

#include "logs_dataset.h"
#include "bench_util.h"

/* A generated data set in memory, in arrival order. */
typedef struct dataset {
    char *bytes;
    size_t n_bytes, cap_bytes;
    struct ent {
        int64_t t;
        uint32_t off, len;
        int stream;
    } *e;
    size_t n, cap;
} dataset;

static void dataset_gen(dataset *d, size_t raw_bytes, int n_streams, const char *file)
{
    gen g;
    gen_init(&g, n_streams);
    memset(d, 0, sizeof *d);
    d->cap_bytes = raw_bytes + 4096;
    d->bytes = malloc(d->cap_bytes);
    FILE *f = fopen(file, "wb");
    char line[1024];
    while (d->n_bytes < raw_bytes) {
        size_t len;
        int64_t t;
        int s = gen_next(&g, &t, line, sizeof line, &len);
        if (d->n == d->cap) d->e = realloc(d->e, (d->cap = d->cap ? d->cap * 2 : 65536) * sizeof *d->e);
        memcpy(d->bytes + d->n_bytes, line, len);
        d->e[d->n++] = (struct ent){t, (uint32_t)d->n_bytes, (uint32_t)len, s};
        d->n_bytes += len;
        fwrite(line, 1, len, f);
        fputc('\n', f);
    }
    fclose(f);
    free(g.cum);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) ? -1 : (long)st.st_size;
}

/* ---- 1-3: storage, ingest, memory -------------------------------------------------- */

typedef struct ingest_res {
    double wall, cpu;
    size_t stored, blocks, mem_total, mem_heads;
} ingest_res;

static ingest_res ingest(const dataset *d, int n_streams, uint32_t block_bytes, int level)
{
    ingest_res r = {0};
    lblk_enc *enc;
    lblk_dctx *z;
    if (lblk_enc_new(&enc) || lblk_dctx_new(&z)) exit(1);
    logs_opts lo = {.block_bytes = block_bytes, .zstd_level = level, .enc = enc, .dctx = z};
    lstream **s = calloc(n_streams, sizeof *s);
    for (int i = 0; i < n_streams; i++)
        if (lstream_new(&s[i])) exit(1);
    double w0 = bench_now_s(), c0 = bench_cpu_s();
    for (size_t i = 0; i < d->n; i++) {
        const struct ent *e = &d->e[i];
        int rc = lstream_append(s[e->stream], e->t, d->bytes + e->off, e->len, NULL, 0, &lo, NULL);
        if (rc < 0) {
            fprintf(stderr, "append failed: %d\n", rc);
            exit(1);
        }
    }
    r.wall = bench_now_s() - w0;
    r.cpu = bench_cpu_s() - c0;
    for (int i = 0; i < n_streams; i++) {
        r.mem_total += lstream_mem_bytes(s[i]);
        r.mem_heads += lstream_mem_bytes(s[i]) - lstream_sealed_bytes(s[i]);
    }
    /* what a checkpoint would store: cut every head, one chunk per stream */
    for (int i = 0; i < n_streams; i++) {
        if (lstream_cut(s[i], &lo, NULL)) exit(1);
        r.blocks += lstream_sealed_count(s[i]);
        if (lstream_sealed_count(s[i]))
            r.stored += lblk_chunk_size(lstream_sealed_count(s[i]), lstream_sealed_bytes(s[i]));
    }
    for (int i = 0; i < n_streams; i++) lstream_free(s[i]);
    free(s);
    lblk_enc_free(enc);
    lblk_dctx_free(z);
    return r;
}

/* ---- 4: scan ------------------------------------------------------------------------ */

static void flush_all(kv *k, lstream **s, int n)
{
    kv_txn *t;
    cairn_err err;
    if (kv_begin(k, 1, &t, &err)) exit(1);
    for (int i = 0; i < n; i++)
        if (lstream_flush(s[i], t, (uint32_t)i, &err)) {
            fprintf(stderr, "flush: %s\n", err.msg);
            exit(1);
        }
    if (kv_commit(t, &err)) {
        fprintf(stderr, "commit: %s\n", err.msg);
        exit(1);
    }
    for (int i = 0; i < n; i++) lstream_flush_done(s[i]);
}

static double scan_ours(kv *k, int n_streams, const char *pat, uint64_t *hits, uint64_t *blocks, double *cpu)
{
    cairn_line_filter f = {CAIRN_FILTER_CONTAINS, pat, strlen(pat)};
    logs_filter *lf;
    if (logs_filter_new(&f, 1, NULL, NULL, &lf, NULL)) exit(1);
    kv_txn *t;
    if (kv_begin(k, 0, &t, NULL)) exit(1);
    *hits = *blocks = 0;
    double w0 = bench_now_s(), c0 = bench_cpu_s();
    for (int i = 0; i < n_streams; i++) {
        logs_it *it;
        if (logs_it_open(t, (uint32_t)i, NULL, INT64_MIN, INT64_MAX, 0, lf, blocks, &it, NULL)) exit(1);
        int64_t ts;
        const char *line;
        size_t len;
        int rc;
        while ((rc = logs_it_next(it, &ts, &line, &len, NULL, NULL)) == 1) ++*hits;
        if (rc) exit(1);
        logs_it_close(it);
    }
    double w = bench_now_s() - w0;
    *cpu = bench_cpu_s() - c0;
    kv_abort(t);
    logs_filter_free(lf);
    return w;
}

static double children_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

/* Run a shell command; returns wall seconds and, in *cpu, the CPU seconds its processes used. */
static double run_cpu(const char *cmd, double *cpu)
{
    double w0 = bench_now_s(), c0 = children_cpu_s();
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(1);
    }
    if (cpu) *cpu = children_cpu_s() - c0;
    return bench_now_s() - w0;
}

static double run(const char *cmd) { return run_cpu(cmd, NULL); }

int main(int argc, char **argv)
{
    size_t store_mb = 16, scan_mb = 1024; /* zstd -19 of 16 MB takes ~50 s here; 48 MB ~150 s */
    int n_streams = 20, no19 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--store-mb") && i + 1 < argc) store_mb = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--scan-mb") && i + 1 < argc) scan_mb = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--streams") && i + 1 < argc) n_streams = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no19")) no19 = 1;
        else {
            fprintf(stderr, "usage: %s [--store-mb N] [--scan-mb N] [--streams N] [--no19]\n", argv[0]);
            return 2;
        }
    }
    bench_machine();
    char dir[] = "/tmp/bench_logs_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char raw[300], cmd[1024];
    snprintf(raw, sizeof raw, "%s/raw.log", dir);

    /* ---- 1-3 ---- */
    dataset d;
    dataset_gen(&d, store_mb << 20, n_streams, raw);
    printf("data: %zu lines, %.1f MB of line bytes over %d streams (2/3 JSON inference logs, 1/3 logfmt), "
           "mean line %.0f B\n",
           d.n, d.n_bytes / 1e6, n_streams, (double)d.n_bytes / d.n);
    long raw_file = file_size(raw);
    snprintf(cmd, sizeof cmd, "zstd -q -f -3 %s -o %s.3.zst", raw, raw);
    double t3 = run(cmd);
    snprintf(cmd, sizeof cmd, "%s.3.zst", raw);
    long z3 = file_size(cmd);
    long z19 = -1;
    double t19 = 0;
    if (!no19) {
        snprintf(cmd, sizeof cmd, "zstd -q -f -19 %s -o %s.19.zst", raw, raw);
        t19 = run(cmd);
        snprintf(cmd, sizeof cmd, "%s.19.zst", raw);
        z19 = file_size(cmd);
    }
    printf("\nraw file (lines + \\n): %ld B; zstd -3: %ld B (%.2fx, %.1f s); zstd -19: %ld B (%.2fx, %.1f s)\n",
           raw_file, z3, (double)raw_file / z3, t3, z19, z19 > 0 ? (double)raw_file / z19 : 0, t19);
    printf("\n| block | level | stored B | ratio (raw file / stored) | vs zstd -3 | vs zstd -19 | blocks | append MB/s "
           "(wall) | append MB/s (cpu) |\n|---|---|---|---|---|---|---|---|---|\n");
    static const struct {
        uint32_t block;
        int level;
    } cfg[] = {{256 << 10, 1}, {256 << 10, -3}, {256 << 10, -1}, {256 << 10, 2}, {256 << 10, 3},
               {256 << 10, 5}, {256 << 10, 9}, {64 << 10, 1},   {1 << 20, 1},    {1 << 20, 3}};
    (void)ingest(&d, n_streams, 256 << 10, 1); /* warm-up: fault in the memory the runs below reuse */
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        ingest_res r = ingest(&d, n_streams, cfg[c].block, cfg[c].level);
        printf("| %u KiB | %d | %zu | %.2fx | %.3f | %s%.3f | %zu | %.0f | %.0f |\n", cfg[c].block >> 10,
               cfg[c].level, r.stored, (double)raw_file / r.stored, (double)r.stored / z3, "",
               z19 > 0 ? (double)r.stored / z19 : 0, r.blocks, d.n_bytes / 1e6 / r.wall, d.n_bytes / 1e6 / r.cpu);
    }
    /* memory per stream, default settings */
    lstream **ss;
    {
        lblk_enc *enc;
        lblk_dctx *z;
        if (lblk_enc_new(&enc) || lblk_dctx_new(&z)) return 1;
        logs_opts lo = {.enc = enc, .dctx = z};
        ss = calloc(n_streams, sizeof *ss);
        for (int i = 0; i < n_streams; i++) lstream_new(&ss[i]);
        for (size_t i = 0; i < d.n; i++)
            lstream_append(ss[d.e[i].stream], d.e[i].t, d.bytes + d.e[i].off, d.e[i].len, NULL, 0, &lo, NULL);
        size_t heads = 0, total = 0, hmax = 0;
        for (int i = 0; i < n_streams; i++) {
            size_t m = lstream_mem_bytes(ss[i]), h = m - lstream_sealed_bytes(ss[i]);
            heads += h, total += m;
            if (h > hmax) hmax = h;
        }
        lstream *one;
        lstream_new(&one);
        lstream_append(one, 1, d.bytes, d.e[0].len, NULL, 0, &lo, NULL);
        size_t m1 = lstream_mem_bytes(one);
        lstream_free(one);
        lstream_new(&one);
        size_t m0 = lstream_mem_bytes(one);
        lstream_free(one);
        printf("\nmemory per stream (256 KiB blocks): active head avg %.1f KiB (max %.1f KiB); with sealed blocks "
               "awaiting a checkpoint avg %.1f KiB; empty stream %zu B; one %u-byte entry %zu B; shared "
               "encoder %zu KiB (one per engine)\n",
               heads / 1024.0 / n_streams, hmax / 1024.0, total / 1024.0 / n_streams, m0, d.e[0].len, m1,
               lblk_enc_mem(enc) >> 10);
        for (int i = 0; i < n_streams; i++) lstream_free(ss[i]);
        free(ss);
        lblk_enc_free(enc);
        lblk_dctx_free(z);
    }
    free(d.bytes);
    free(d.e);

    /* ---- 4: scan ---- */
    if (scan_mb) {
        gen g;
        gen_init(&g, n_streams);
        kv *k;
        cairn_err err;
        if (kv_open(dir, 16ULL << 30, &k, &err)) {
            fprintf(stderr, "kv_open: %s\n", err.msg);
            return 1;
        }
        lblk_enc *enc;
        if (lblk_enc_new(&enc)) return 1;
        logs_opts lo = {.enc = enc};
        lstream **s = calloc(n_streams, sizeof *s);
        for (int i = 0; i < n_streams; i++) lstream_new(&s[i]);
        FILE *f = fopen(raw, "wb");
        size_t total = 0, since = 0, n_lines = 0;
        char line[1024];
        while (total < (scan_mb << 20)) {
            size_t len;
            int64_t t;
            int st = gen_next(&g, &t, line, sizeof line, &len);
            lstream_append(s[st], t, line, len, NULL, 0, &lo, NULL);
            fwrite(line, 1, len, f);
            fputc('\n', f);
            total += len, since += len, n_lines++;
            if (since >= (128u << 20)) {
                flush_all(k, s, n_streams);
                since = 0;
            }
        }
        fclose(f);
        for (int i = 0; i < n_streams; i++) lstream_cut(s[i], &lo, NULL);
        flush_all(k, s, n_streams);
        free(g.cum);
        printf("\nscan data: %zu lines, %.1f MB of line bytes, flushed to LMDB (%.1f MB used)\n", n_lines,
               total / 1e6, kv_used_bytes(k) / 1e6);
        snprintf(cmd, sizeof cmd, "zstd -q -f -1 %s -o %s.1.zst", raw, raw);
        run(cmd);
        snprintf(cmd, sizeof cmd, "%s.1.zst", raw);
        printf("the same lines as one zstd -1 file: %ld B\n", file_size(cmd));
        int fd = open(raw, 0);
        long rs = file_size(raw);
        const char *m = mmap(NULL, (size_t)rs, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        static const char *pats[] = {"\"status\":503", "trace_id=ffff", "no-such-needle"};
        printf("\nCPU seconds (the machine is shared; wall clock in brackets)\n\n"
               "| pattern | matches | ours s | ours MB/s | blocks | zstd -d s | memmem s | ref MB/s | ours / ref |\n"
               "|---|---|---|---|---|---|---|---|---|\n");
        for (int p = 0; p < 3; p++) {
            uint64_t hits = 0, blocks = 0;
            double cpu, w, best = 1e9, bw = 0;
            for (int rep = 0; rep < 2; rep++) {
                w = scan_ours(k, n_streams, pats[p], &hits, &blocks, &cpu);
                if (cpu < best) best = cpu, bw = w;
            }
            snprintf(cmd, sizeof cmd, "zstd -q -d -c %s.1.zst > /dev/null", raw);
            double zc = 1e9, zw = 0;
            for (int rep = 0; rep < 2; rep++) {
                double c;
                double ww = run_cpu(cmd, &c);
                if (c < zc) zc = c, zw = ww;
            }
            size_t pl = strlen(pats[p]), refhits = 0;
            double mc = 1e9, mw = 0;
            for (int rep = 0; rep < 2; rep++) {
                double w0 = bench_now_s(), c0 = bench_cpu_s();
                refhits = 0;
                for (const char *q = m; (q = memmem(q, (size_t)(m + rs - q), pats[p], pl)) != NULL; q += pl)
                    refhits++;
                double c = bench_cpu_s() - c0;
                if (c < mc) mc = c, mw = bench_now_s() - w0;
            }
            double ref = zc + mc;
            printf("| `%s` | %llu (ref %zu) | %.3f [%.3f] | %.0f | %llu | %.3f [%.3f] | %.3f [%.3f] | %.0f | %.2f |\n",
                   pats[p], (unsigned long long)hits, refhits, best, bw, total / 1e6 / best,
                   (unsigned long long)blocks, zc, zw, mc, mw, total / 1e6 / ref, best / ref);
        }
        munmap((void *)m, (size_t)rs);
        close(fd);
        for (int i = 0; i < n_streams; i++) lstream_free(s[i]);
        free(s);
        lblk_enc_free(enc);
        kv_close(k);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    run(cmd);
    return 0;
}
