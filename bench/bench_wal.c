/*
 * bench_wal.c — WAL append + sync throughput, one committer vs several with
 * group commit, plus CRC32C speed.
 *
 * Each committer loops: wal_append(one record) then wal_sync_to(its end), the
 * way engine_commit does, for a fixed wall-clock time per configuration.
 * Reports MB/s, records/s, fsyncs/s and records per fsync (the group size).
 *
 *   build/<x>/bench/bench_wal [dir] [seconds-per-config]
 *
 * dir defaults to $TMPDIR or /tmp (a fresh subdirectory, removed at the end);
 * the result depends on that file system's fdatasync, which is printed.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"
#include "bench_util.h"

static void cpu_model(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            if (p) {
                p += 2;
                p[strcspn(p, "\n")] = 0;
                snprintf(out, cap, "%s", p);
            }
            break;
        }
    }
    fclose(f);
}

static const char *fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) != 0) return "unknown";
    switch ((unsigned long)s.f_type) {
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794c7630: return "overlayfs";
    default: return "other";
    }
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

typedef struct job {
    wal *w;
    size_t min_len, max_len;
    double until;
    uint64_t seed, records, bytes;
    int rc;
} job;

static void *committer(void *arg)
{
    job *j = arg;
    uint8_t *p = malloc(j->max_len);
    if (!p) {
        j->rc = -1;
        return NULL;
    }
    for (size_t i = 0; i < j->max_len; i++) p[i] = (uint8_t)(i * 131 + j->seed);
    uint64_t x = j->seed * 0x9E3779B97F4A7C15ULL + 1;
    while (bench_now_s() < j->until) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = j->min_len + (size_t)((x >> 33) % (j->max_len - j->min_len + 1));
        uint64_t pos;
        cairn_err e;
        if ((j->rc = wal_append(j->w, 1, p, len, &pos, &e)) || (j->rc = wal_sync_to(j->w, pos, &e))) {
            fprintf(stderr, "bench_wal: %s\n", e.msg);
            break;
        }
        j->records++;
        j->bytes += len;
    }
    free(p);
    return NULL;
}

static int run(const char *base, int threads, size_t min_len, size_t max_len, double secs)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/cairn-bench-wal-%d", base, (int)getpid());
    rm_dir(dir);
    wal *w;
    cairn_err e;
    if (wal_open(dir, NULL, 0, NULL, NULL, &w, &e)) {
        fprintf(stderr, "bench_wal: %s\n", e.msg);
        return 1;
    }
    job jobs[16];
    pthread_t tid[16];
    uint64_t f0 = wal_fsyncs(w);
    double t0 = bench_now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){ .w = w, .min_len = min_len, .max_len = max_len, .until = t0 + secs, .seed = (uint64_t)i + 1 };
        pthread_create(&tid[i], NULL, committer, &jobs[i]);
    }
    uint64_t recs = 0, bytes = 0;
    int rc = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        recs += jobs[i].records;
        bytes += jobs[i].bytes;
        rc |= jobs[i].rc;
    }
    double dt = bench_now_s() - t0;
    uint64_t fs = wal_fsyncs(w) - f0;
    wal_close(w);
    rm_dir(dir);
    char sizes[64];
    if (min_len == max_len) snprintf(sizes, sizeof sizes, "%zu KiB", min_len >> 10);
    else snprintf(sizes, sizeof sizes, "%zu-%zu KiB", min_len >> 10, max_len >> 10);
    printf("| %-10s | %7d | %8.1f | %9.0f | %8.0f | %11.2f |\n", sizes, threads, (double)bytes / dt / 1e6,
           (double)recs / dt, (double)fs / dt, fs ? (double)recs / (double)fs : 0.0);
    return rc != 0;
}

static void crc_speed(void)
{
    size_t n = 64 << 10;
    uint8_t *p = malloc(n);
    if (!p) return;
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(i * 7);
    uint32_t sink = 0;
    int reps = 4000;
    double t0 = bench_now_s();
    for (int r = 0; r < reps; r++) sink ^= crc32c_sw(sink, p, n);
    double sw = (double)n * reps / (bench_now_s() - t0) / 1e9;
    double hw = 0;
    if (crc32c_hw_available()) {
        t0 = bench_now_s();
        for (int r = 0; r < reps * 4; r++) sink ^= crc32c_hw(sink, p, n);
        hw = (double)n * reps * 4 / (bench_now_s() - t0) / 1e9;
    }
    printf("\nCRC32C over 64 KiB buffers: slicing-by-8 %.2f GB/s, SSE4.2 %.2f GB/s%s (sink %08x)\n", sw, hw,
           crc32c_hw_available() ? "" : " (not available)", sink);
    free(p);
}

int main(int argc, char **argv)
{
    const char *base = argc > 1 ? argv[1] : getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    double secs = argc > 2 ? atof(argv[2]) : 1.5;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("bench_wal: append + fdatasync per commit, %.1f s per row, 64 MiB segments\n", secs);
    printf("machine: %s, nproc %ld; dir %s (%s)\n\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), base, fs_name(base));
    printf("| records    | threads |     MB/s | records/s | fsyncs/s | recs/fsync |\n");
    printf("|------------|---------|----------|-----------|----------|------------|\n");
    int rc = 0;
    size_t cfg[][2] = { { 4 << 10, 4 << 10 }, { 64 << 10, 64 << 10 }, { 4 << 10, 64 << 10 } };
    for (size_t i = 0; i < 3; i++) {
        rc |= run(base, 1, cfg[i][0], cfg[i][1], secs);
        rc |= run(base, 4, cfg[i][0], cfg[i][1], secs);
    }
    crc_speed();
    return rc;
}
