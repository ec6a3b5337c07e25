/*
 * bench_log_ingest — log lines committed through the public API with the WAL
 * on (every commit fsynced), then stored size after a checkpoint against the
 * same raw lines compressed as one file by the zstd CLI, and memory per
 * active stream.
 *
 *   build/bench/bench_log_ingest [--mb N] [--streams S] [--batch B]
 *
 * Data: logs_dataset.h (JSON inference request logs and logfmt lines with
 * random request/trace ids), N MB of raw line bytes (default 200) over S
 * streams (default 20), committed in batches of B lines (default 1000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"
#include "logs_dataset.h"
#include "bench_util.h"

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

static long long zstd_size(const char *file, int level)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "zstd -q -c -%d -T1 %s | wc -c", level, file);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    if (p) {
        if (fscanf(p, "%lld", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

int main(int argc, char **argv)
{
    size_t mb = 200, batch = 1000;
    int n_streams = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb")) mb = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--streams")) n_streams = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = (size_t)atol(argv[i + 1]);
    }
    bench_machine();
    /* generate everything first: the measurement covers only the commits */
    gen g;
    gen_init(&g, n_streams);
    size_t cap = mb << 20, used = 0, n = 0, ncap = 1 << 20;
    char *bytes = malloc(cap + 4096);
    struct ln {
        int64_t t;
        uint32_t off, len;
        int s;
    } *lines = malloc(ncap * sizeof *lines);
    char tmpdir[] = "/tmp/cairn-logingest-XXXXXX";
    if (!mkdtemp(tmpdir)) return 1;
    char raw[600], data[600];
    snprintf(raw, sizeof raw, "%s/raw.log", tmpdir);
    snprintf(data, sizeof data, "%s/data", tmpdir);
    FILE *rf = fopen(raw, "w");
    while (used < cap) {
        if (n == ncap) lines = realloc(lines, (ncap *= 2) * sizeof *lines);
        size_t len;
        int64_t t;
        int s = gen_next(&g, &t, bytes + used, 4096, &len);
        lines[n++] = (struct ln){t, (uint32_t)used, (uint32_t)len, s};
        fwrite(bytes + used, 1, len, rf);
        fputc('\n', rf);
        used += len;
    }
    fclose(rf);
    printf("data: %zu lines, %.1f MB of line bytes, %d streams (logs_dataset.h), batches of %zu lines\n", n,
           used / 1048576.0, n_streams, batch);

    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    cairn_db *db;
    cairn_err e;
    long rss0 = rss_kb();
    if (cairn_open(data, &o, &db, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return 1;
    }
    cairn_batch *b = cairn_batch_new();
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    for (size_t i = 0; i < n; i += batch) {
        cairn_batch_reset(b);
        for (size_t j = i; j < n && j < i + batch; j++) {
            char sname[32];
            snprintf(sname, sizeof sname, "stream-%02d", lines[j].s);
            cairn_label ls[2] = {CAIRN_LABEL("app", "inference"), {"stream", 6, sname, strlen(sname)}};
            int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 2, &e);
            if (ref < 0 || cairn_batch_entry(b, ref, lines[j].t, bytes + lines[j].off, lines[j].len, NULL, 0, &e)) {
                fprintf(stderr, "batch: %s\n", e.msg);
                return 1;
            }
        }
        if (cairn_commit(db, b, &e)) {
            fprintf(stderr, "commit: %s\n", e.msg);
            return 1;
        }
    }
    double wall = bench_now_s() - t0, cpu = bench_cpu_s() - c0;
    cairn_stats st;
    cairn_stats_get(db, &st);
    long rss1 = rss_kb();
    printf("ingest: %.1f MB/s wall, %.1f MB per CPU-second (%.2f s wall, %.2f s CPU), %llu commits, %llu WAL fsyncs\n",
           used / 1048576.0 / wall, used / 1048576.0 / cpu, wall, cpu, (unsigned long long)st.commits,
           (unsigned long long)st.wal_fsyncs);
    printf("memory: RSS +%.1f MiB, cairn mem %.1f MiB, %.1f KiB per active stream (%llu streams)\n",
           (rss1 - rss0) / 1024.0, st.mem_bytes / 1048576.0, st.mem_bytes / 1024.0 / (double)st.n_streams,
           (unsigned long long)st.n_streams);
    /* close seals every head and checkpoints: everything ends up as compressed blocks */
    double c1 = bench_cpu_s();
    cairn_close(db);
    printf("close (seal heads + checkpoint): %.2f s CPU\n", bench_cpu_s() - c1);
    char idx[700];
    snprintf(idx, sizeof idx, "%s/index.mdb", data);
    long long stored = file_bytes(idx), z3 = zstd_size(raw, 3), z19 = zstd_size(raw, 19), z1 = zstd_size(raw, 1);
    long long rawn = file_bytes(raw);
    printf("stored (index.mdb after close): %.2f MB = %.2fx of raw\n", stored / 1e6,
           (double)rawn / (double)stored);
    printf("zstd CLI on the raw file: -1 %.2f MB, -3 %.2f MB, -19 %.2f MB; cairn/zstd-3 = %.3f, cairn/zstd-19 = %.3f\n",
           z1 / 1e6, z3 / 1e6, z19 / 1e6, (double)stored / (double)z3, (double)stored / (double)z19);
    cairn_batch_free(b);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) return 1;
    free(bytes);
    free(lines);
    return 0;
}
