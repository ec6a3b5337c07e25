/*
 * bench_util.h — what every benchmark program needs besides its subject:
 * wall and CPU clocks, and a line naming the machine it ran on (header-only,
 * static functions, like dataset.h).
 */
#ifndef CAIRN_BENCH_UTIL_H
#define CAIRN_BENCH_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

/* Monotonic wall-clock seconds. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process so far. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Print "machine: <CPU model name>, nproc N" (from /proc/cpuinfo). */
static inline void bench_machine(void)
{
    char line[256], model[200] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *c = strchr(line, ':');
        if (c) snprintf(model, sizeof model, "%s", c + 2);
        model[strcspn(model, "\n")] = 0;
        break;
    }
    if (f) fclose(f);
    printf("machine: %s, nproc %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
}
/* A fresh database for synthetic data in a temp dir (dir, capacity cap) under /dev/shm
 * when writable, else $TMPDIR or /tmp: background work and metrics retention off, as the
 * data's timestamps start in the past. 0, or -1 with the reason printed. */
static inline int bench_open_tmp(const char *tag, char *dir, size_t cap, cairn_db **db)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(dir, cap, "%s/%s.XXXXXX", base, tag);
    if (!mkdtemp(dir)) return perror("mkdtemp"), -1;
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0;
    cairn_err e;
    if (cairn_open(dir, &o, db, &e)) return fprintf(stderr, "open: %s\n", e.msg), -1;
    return 0;
}

#endif
