/*
 * bench_engine.c — the storage engine end to end through cairn.h: commit
 * throughput with the WAL on, memory per active series, bytes per sample
 * after a checkpoint, and the time to reopen after a crash.
 *
 * Data: bench/dataset.h (node_exporter-like + ML-inference series, 15 s
 * scrapes, jitter on 30 % of targets). Writes follow the shape:
 * batches of 1,000 series x 10 samples. The series are split into groups of
 * 1,000; a "window" is 10 consecutive scrapes; for each window every group
 * becomes one batch. A batch is built once per group (labels canonicalised
 * once) and refilled with the window's samples before each commit, so the
 * timed part is cairn_commit() alone: dataset generation and batch filling
 * run between the timed phases, never inside them. Committing threads take
 * groups round-robin inside a window; all threads finish a window before
 * the next starts (a barrier), so a series' samples reach the engine in
 * time order as they do from a scraper. The first window creates every
 * series (index writes) and is reported apart from the steady state.
 *
 * Modes (all take a data dir that must not exist; it is removed at the end
 * unless --keep is given):
 *   [--checkpoint-every K] ingest N_SERIES N_SAMPLES THREADS DIR
 *       samples/s, CPU s per million samples, fsyncs, then RSS and
 *       cairn_stats.mem_bytes per series before and after a final
 *       checkpoint. With K, a checkpoint also runs (untimed) after every K
 *       samples of data per series: K = 20 is what the default 5-minute
 *       checkpoint interval does to 15 s scrapes;
 *   size N_SERIES N_SAMPLES DIR             bytes/sample of stored chunks
 *       (KV_CHUNKS values plus the head snapshots in KV_HEADS) and of the
 *       index (KV_SERIES, KV_HASH, KV_POSTINGS keys and values, a dup-sorted
 *       key counted once), plus LMDB pages in use and the file size;
 *   reopen N_SERIES N_SAMPLES DIR           a child ingests without any
 *       checkpoint and _exit()s without closing; the parent times cairn_open
 *       (index load + WAL replay) and checks every series came back;
 *   om N_SERIES N_SAMPLES FILE              the same data as OpenMetrics
 *       text for `promtool tsdb create-blocks-from openmetrics`
 *       (bench/bench_prom_compare.sh drives the comparison).
 *
 * Every mode prints the machine (model name from /proc/cpuinfo, online
 * CPUs) and its parameters first. Results: docs/benchmarks/engine.md.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* dataset.h first: a parameter of its names `buf`, which engine headers make a type */
#include "dataset.h"

#include "batch.h"
#include "cairn.h"
#include "engine_int.h"
#include "kv.h"
#include "bench_util.h"

#define GROUP 1000 /* series per batch */
#define WINDOW 10  /* samples per series per batch */
#define SEED 1

/* ---- small helpers ---------------------------------------------------------------- */

/* Resident set: total and anonymous (heap) bytes, from /proc/self/status. */
static void rss(uint64_t *total, uint64_t *anon)
{
    char line[256];
    *total = *anon = 0;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long kb;
        if (sscanf(line, "VmRSS: %llu kB", &kb) == 1) *total = kb * 1024;
        if (sscanf(line, "RssAnon: %llu kB", &kb) == 1) *anon = kb * 1024;
    }
    if (f) fclose(f);
}

static uint64_t dir_bytes_sum;
static int dir_bytes_fn(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)p, (void)ftw;
    if (type == FTW_F) dir_bytes_sum += (uint64_t)st->st_blocks * 512;
    return 0;
}
static uint64_t dir_bytes(const char *dir)
{
    dir_bytes_sum = 0;
    nftw(dir, dir_bytes_fn, 16, FTW_PHYS);
    return dir_bytes_sum;
}

static int rm_fn(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(p);
    return 0;
}
static void rm_tree(const char *dir) { nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS); }

static void die(const char *what, const cairn_err *e)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, e ? e->msg : strerror(errno));
    exit(1);
}

static cairn_db *open_db(const char *dir)
{
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;             /* no checkpoint or retention behind the measurement */
    o.checkpoint_interval_ms = 0;
    o.retention_metrics_ms = 0;   /* dataset timestamps are from 2023 */
    cairn_db *db;
    cairn_err e;
    if (cairn_open(dir, &o, &db, &e)) die("cairn_open", &e);
    return db;
}

/* ---- the workload ------------------------------------------------------------------- */

typedef struct work {
    ds d;
    size_t n_series, n_groups;
    uint64_t n_samples;
    cairn_batch **b;      /* one per group, series added once */
    cairn_db *db;
    int threads;
    uint64_t cp_every;  /* checkpoint after every this many samples per series (0: never) */
    double cp_wall;     /* time spent in those checkpoints */
    uint64_t cp_n;
    /* per window, filled by the committing threads */
    pthread_barrier_t start, done;
    int stop;
    double commit_wall; /* of the window being run */
    cairn_err err;
    int failed;
} work;

static void work_init(work *w, size_t n_series, uint64_t n_samples, int threads)
{
    memset(w, 0, sizeof *w);
    ds_init(&w->d, n_series, SEED);
    w->n_series = n_series;
    w->n_samples = n_samples;
    w->n_groups = (n_series + GROUP - 1) / GROUP;
    w->threads = threads;
    w->b = calloc(w->n_groups, sizeof *w->b);
    for (size_t g = 0; g < w->n_groups; g++) {
        cairn_err e;
        w->b[g] = cairn_batch_new();
        if (!w->b[g]) die("cairn_batch_new", NULL);
        for (size_t i = g * GROUP; i < (g + 1) * GROUP && i < n_series; i++) {
            cairn_label l[DS_MAX_LABELS];
            char scratch[DS_SCRATCH_BYTES];
            size_t nl = ds_series_labels(&w->d, i, l, DS_MAX_LABELS, scratch);
            if (cairn_batch_series(w->b[g], CAIRN_KIND_METRIC, l, nl, &e) != (int)(i - g * GROUP))
                die("cairn_batch_series", &e);
        }
    }
}

static void work_free(work *w)
{
    for (size_t g = 0; g < w->n_groups; g++) cairn_batch_free(w->b[g]);
    free(w->b);
}

/* Refill batch g with samples [k0, k0 + WINDOW) of its series. The series stay;
 * only the sample array is rewound (bench-only use of batch.h). */
static void fill(work *w, size_t g, uint64_t k0)
{
    cairn_batch *b = w->b[g];
    b->n_samples = 0;
    uint64_t k1 = k0 + WINDOW < w->n_samples ? k0 + WINDOW : w->n_samples;
    cairn_err e;
    for (size_t r = 0; r < b->n_series; r++) {
        size_t i = g * GROUP + r;
        for (uint64_t k = k0; k < k1; k++)
            if (cairn_batch_sample(b, (int)r, ds_time(&w->d, i, k), ds_value(&w->d, i, k), &e))
                die("cairn_batch_sample", &e);
    }
}

typedef struct thr {
    work *w;
    int no;
} thr;

static void *committer(void *arg)
{
    thr *t = arg;
    work *w = t->w;
    pthread_setname_np(pthread_self(), "committer"); /* perf report --comm committer */
    for (;;) {
        pthread_barrier_wait(&w->start);
        if (w->stop) break;
        for (size_t g = (size_t)t->no; g < w->n_groups; g += (size_t)w->threads) {
            cairn_err e;
            if (cairn_commit(w->db, w->b[g], &e)) {
                w->err = e;
                w->failed = 1;
                break;
            }
        }
        pthread_barrier_wait(&w->done);
    }
    return NULL;
}

typedef struct phase {
    double wall, cpu;
    uint64_t samples, fsyncs, commits;
} phase;

/* Ingest every window; returns the first window and the rest separately. */
static void ingest(work *w, phase *first, phase *rest)
{
    pthread_t tid[16];
    thr ta[16];
    memset(first, 0, sizeof *first);
    memset(rest, 0, sizeof *rest);
    pthread_barrier_init(&w->start, NULL, (unsigned)w->threads + 1);
    pthread_barrier_init(&w->done, NULL, (unsigned)w->threads + 1);
    for (int i = 0; i < w->threads; i++) {
        ta[i] = (thr){w, i};
        pthread_create(&tid[i], NULL, committer, &ta[i]);
    }
    for (uint64_t k0 = 0; k0 < w->n_samples; k0 += WINDOW) {
        uint64_t n = 0;
        for (size_t g = 0; g < w->n_groups; g++) {
            fill(w, g, k0);
            n += w->b[g]->n_samples;
        }
        cairn_stats s0, s1;
        cairn_stats_get(w->db, &s0);
        double c0 = bench_cpu_s(), t0 = bench_now_s();
        pthread_barrier_wait(&w->start);
        pthread_barrier_wait(&w->done);
        double t1 = bench_now_s(), c1 = bench_cpu_s();
        cairn_stats_get(w->db, &s1);
        if (w->failed) die("cairn_commit", &w->err);
        phase *p = k0 == 0 ? first : rest;
        p->wall += t1 - t0;
        p->cpu += c1 - c0;
        p->samples += n;
        p->fsyncs += s1.wal_fsyncs - s0.wal_fsyncs;
        p->commits += s1.commits - s0.commits;
        if (w->cp_every && (k0 + WINDOW) % w->cp_every == 0 && k0 + WINDOW < w->n_samples) {
            cairn_err e;
            double c0s = bench_now_s();
            if (cairn_checkpoint(w->db, &e)) die("cairn_checkpoint", &e);
            w->cp_wall += bench_now_s() - c0s;
            w->cp_n++;
        }
    }
    w->stop = 1;
    pthread_barrier_wait(&w->start);
    for (int i = 0; i < w->threads; i++) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&w->start);
    pthread_barrier_destroy(&w->done);
}

static void print_phase(const char *name, const phase *p)
{
    if (!p->samples) return;
    printf("  %-34s %10" PRIu64 " samples in %7.3f s: %6.3f M samples/s, CPU %.3f s per M samples, "
           "%" PRIu64 " commits, %" PRIu64 " fsyncs\n",
           name, p->samples, p->wall, (double)p->samples / p->wall / 1e6, p->cpu / ((double)p->samples / 1e6),
           p->commits, p->fsyncs);
}

/* Where the memory of the series table goes: struct, labels, head, chunk bytes,
 * sealed chunks waiting for a checkpoint; malloc_usable_size shows what the
 * allocator really hands out (bench-only look inside engine_int.h). */
static void mem_breakdown(cairn_db *db)
{
    uint64_t n = 0, s_b = 0, canon_b = 0, m_n = 0, m_u = 0, head_len = 0, head_cap = 0, head_u = 0,
             sealed_n = 0, sealed_b = 0, sealed_u = 0, ooo_b = 0, s_u = 0;
    for (uint32_t i = 0; i < db->n_ids; i++) {
        series *s = db->byid[i];
        if (!s) continue;
        n++;
        s_b += offsetof(series, canon); /* the labels follow the struct in one block */
        s_u += malloc_usable_size(s);
        canon_b += s->canon_len;
        if (!s->m) continue;
        m_n++;
        m_u += malloc_usable_size(s->m);
        head_len += s->m->head.len;
        head_cap += s->m->head.cap;
        head_u += s->m->head.data ? malloc_usable_size(s->m->head.data) : 0;
        for (sealed *c = s->m->sealed; c; c = c->next) {
            sealed_n++;
            sealed_b += c->len;
            sealed_u += malloc_usable_size(c);
        }
        ooo_b += s->m->ooo ? sizeof *s->m->ooo + s->m->ooo->cap * sizeof s->m->ooo->s[0] : 0;
    }
    double d = n ? (double)n : 1;
    printf("  per series (usable = what malloc hands out, +8 B header each): struct %.0f + labels %.0f (usable %.0f), mhead %.0f (usable %.0f, %" PRIu64 " heads), head chunk len %.0f cap %.0f (usable %.0f), "
           "sealed in memory %.2f chunks %.0f B (usable %.0f), ooo %.0f, tables %.0f\n",
           (double)s_b / d, (double)canon_b / d, (double)s_u / d,
           (double)m_n * sizeof(mhead) / d, (double)m_u / d, m_n, (double)head_len / d, (double)head_cap / d,
           (double)head_u / d, (double)sealed_n / d, (double)sealed_b / d, (double)sealed_u / d, (double)ooo_b / d,
           (double)(db->cap_ids * sizeof *db->byid + db->hcap * sizeof *db->htab) / d);
}

/* ---- modes -------------------------------------------------------------------------- */

static uint64_t cp_every; /* --checkpoint-every */

static int mode_ingest(size_t n_series, uint64_t n_samples, int threads, const char *dir, int keep)
{
    char cp_desc[96] = "no checkpoint until the end";
    if (cp_every)
        snprintf(cp_desc, sizeof cp_desc, "a checkpoint every %" PRIu64 " samples per series (untimed)", cp_every);
    printf("ingest: %zu series x %" PRIu64 " samples, batches of %d series x %d samples, %d committing "
           "thread(s), WAL fsync per commit (group commit), %s, data dir %s\n",
           n_series, n_samples, GROUP, WINDOW, threads, cp_desc, dir);
    work w;
    work_init(&w, n_series, n_samples, threads);
    w.cp_every = cp_every;
    fill(&w, 0, 0); /* so that the batches' own memory is in the baseline */
    for (size_t g = 1; g < w.n_groups; g++) fill(&w, g, 0);
    uint64_t rss0, anon0, rss1, anon1, rss2, anon2;
    rss(&rss0, &anon0);
    w.db = open_db(dir);
    cairn_stats st0, st1, st2;
    cairn_stats_get(w.db, &st0);
    phase first, rest;
    ingest(&w, &first, &rest);
    print_phase("first window (creates every series)", &first);
    print_phase("steady state (every later window)", &rest);
    phase all = first;
    all.wall += rest.wall, all.cpu += rest.cpu, all.samples += rest.samples, all.fsyncs += rest.fsyncs;
    all.commits += rest.commits;
    print_phase("all", &all);
    if (w.cp_n) printf("  %" PRIu64 " checkpoints during ingest: %.3f s each\n", w.cp_n, w.cp_wall / (double)w.cp_n);
    rss(&rss1, &anon1);
    cairn_stats_get(w.db, &st1);
    printf("  memory after ingest:     RSS +%.0f B/series (anon +%.0f B/series), mem_bytes +%.0f B/series\n",
           (double)(rss1 - rss0) / (double)n_series, (double)(anon1 - anon0) / (double)n_series,
           (double)(st1.mem_bytes - st0.mem_bytes) / (double)n_series);
    mem_breakdown(w.db);
    cairn_err e;
    double t0 = bench_now_s();
    if (cairn_checkpoint(w.db, &e)) die("cairn_checkpoint", &e);
    double t1 = bench_now_s();
    rss(&rss2, &anon2);
    cairn_stats_get(w.db, &st2);
    printf("  checkpoint: %.3f s\n", t1 - t0);
    printf("  memory after checkpoint: RSS +%.0f B/series (anon +%.0f B/series), mem_bytes +%.0f B/series\n",
           (double)(rss2 - rss0) / (double)n_series, (double)(anon2 - anon0) / (double)n_series,
           (double)(st2.mem_bytes - st0.mem_bytes) / (double)n_series);
    mem_breakdown(w.db);
    printf("  samples appended %" PRIu64 ", duplicates %" PRIu64 ", WAL %.1f MB\n", st2.samples_appended,
           st2.samples_dup_ignored, (double)st1.wal_bytes / 1e6);
    cairn_close(w.db);
    work_free(&w);
    if (!keep) rm_tree(dir);
    return 0;
}

typedef struct kvsum {
    uint64_t keys, items, key_bytes, val_bytes;
} kvsum;

/* Sum keys and values of one DBI; a dup-sorted key counts once. */
static kvsum kv_sum(kv_txn *t, int dbi, int dupsort)
{
    kvsum s = {0};
    kv_cur *c;
    const void *k, *v;
    size_t kn, vn;
    if (kv_cur_open(t, dbi, &c)) return s;
    int rc = kv_cur_seek(c, NULL, 0, &k, &kn, &v, &vn);
    while (rc == CAIRN_OK) {
        size_t n = 1;
        if (dupsort) kv_cur_count(c, &n);
        s.keys++;
        s.items += n;
        s.key_bytes += kn;
        s.val_bytes += vn * n;
        rc = dupsort ? kv_cur_next_key(c, &k, &kn, &v, &vn) : kv_cur_next(c, &k, &kn, &v, &vn);
    }
    kv_cur_close(c);
    return s;
}

static int mode_size(size_t n_series, uint64_t n_samples, const char *dir, int keep)
{
    printf("size: %zu series x %" PRIu64 " samples (%.1f h at 15 s), ingested in batches of %d x %d, then one "
           "checkpoint; data dir %s\n",
           n_series, n_samples, (double)n_samples * 15 / 3600, GROUP, WINDOW, dir);
    work w;
    work_init(&w, n_series, n_samples, 1);
    w.db = open_db(dir);
    phase first, rest;
    ingest(&w, &first, &rest);
    cairn_err e;
    if (cairn_checkpoint(w.db, &e)) die("cairn_checkpoint", &e);
    cairn_stats st;
    cairn_stats_get(w.db, &st);
    kv_txn *t;
    if (kv_begin(w.db->kv, 0, &t, &e)) die("kv_begin", &e);
    kvsum ch = kv_sum(t, KV_CHUNKS, 0), hd = kv_sum(t, KV_HEADS, 0), se = kv_sum(t, KV_SERIES, 0),
          ha = kv_sum(t, KV_HASH, 1), po = kv_sum(t, KV_POSTINGS, 1);
    kv_abort(t);
    uint64_t used = kv_used_bytes(w.db->kv);
    double ns = (double)st.samples_appended;
    uint64_t chunk_b = ch.key_bytes + ch.val_bytes, head_b = hd.key_bytes + hd.val_bytes;
    uint64_t idx_b = se.key_bytes + se.val_bytes + ha.key_bytes + ha.val_bytes + po.key_bytes + po.val_bytes;
    printf("  samples stored: %.0f\n", ns);
    printf("  chunks   %8" PRIu64 " sealed chunks: %10" PRIu64 " B (keys %" PRIu64 ", values %" PRIu64
           ")  %.3f B/sample\n",
           ch.keys, chunk_b, ch.key_bytes, ch.val_bytes, (double)chunk_b / ns);
    printf("  heads    %8" PRIu64 " open heads:    %10" PRIu64 " B  %.3f B/sample\n", hd.keys, head_b,
           (double)head_b / ns);
    printf("  index    series %" PRIu64 " B, hash %" PRIu64 " B (%" PRIu64 " keys), postings %" PRIu64
           " B (%" PRIu64 " keys, %" PRIu64 " ids): %" PRIu64 " B  %.3f B/sample\n",
           se.key_bytes + se.val_bytes, ha.key_bytes + ha.val_bytes, ha.keys, po.key_bytes + po.val_bytes, po.keys,
           po.items, idx_b, (double)idx_b / ns);
    printf("  logical total (chunks + heads + index): %.3f B/sample;  chunk values only (no keys): %.3f B/sample\n",
           (double)(chunk_b + head_b + idx_b) / ns, (double)(ch.val_bytes + hd.val_bytes) / ns);
    cairn_close(w.db);
    char path[4096];
    snprintf(path, sizeof path, "%s/index.mdb", dir);
    struct stat sb;
    uint64_t file = stat(path, &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : 0;
    printf("  LMDB pages in use: %" PRIu64 " B  %.3f B/sample;  index.mdb allocated %" PRIu64
           " B;  data dir after close %" PRIu64 " B  %.3f B/sample\n",
           used, (double)used / ns, file, dir_bytes(dir), (double)dir_bytes(dir) / ns);
    work_free(&w);
    if (!keep) rm_tree(dir);
    return 0;
}

static int mode_reopen(size_t n_series, uint64_t n_samples, const char *dir, int keep)
{
    printf("reopen: a child ingests %zu series x %" PRIu64 " samples with no checkpoint and _exit()s; "
           "the parent times cairn_open; data dir %s\n",
           n_series, n_samples, dir);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) die("fork", NULL);
    if (pid == 0) {
        work w;
        work_init(&w, n_series, n_samples, 1);
        w.db = open_db(dir);
        phase first, rest;
        ingest(&w, &first, &rest);
        cairn_stats st;
        cairn_stats_get(w.db, &st);
        printf("  child: %" PRIu64 " samples committed in %.2f s, WAL %.1f MB; exiting without close\n",
               st.samples_appended, first.wall + rest.wall, (double)st.wal_bytes / 1e6);
        fflush(stdout);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) die("child failed", NULL);
    uint64_t rss0, anon0, rss1, anon1;
    rss(&rss0, &anon0);
    double c0 = bench_cpu_s(), t0 = bench_now_s();
    cairn_db *db = open_db(dir);
    double t1 = bench_now_s(), c1 = bench_cpu_s();
    rss(&rss1, &anon1);
    cairn_stats st;
    cairn_stats_get(db, &st);
    printf("  cairn_open: %.3f s wall, %.3f s CPU; %" PRIu64 " series, WAL %.1f MB replayed "
           "(%.2f M samples/s); RSS +%.0f B/series (anon +%.0f)\n",
           t1 - t0, c1 - c0, st.n_series, (double)st.wal_bytes / 1e6, (double)n_series * (double)n_samples / (t1 - t0) / 1e6,
           (double)(rss1 - rss0) / (double)n_series, (double)(anon1 - anon0) / (double)n_series);
    /* replay does not count as appending: check every 97th series by reading it back */
    uint64_t checked = 0, found = 0;
    ds d;
    ds_init(&d, n_series, SEED);
    for (size_t i = 0; i < n_series; i += 97) {
        cairn_samples *it;
        cairn_err e;
        int64_t t;
        double v;
        if (cairn_samples_open(db, i, INT64_MIN, INT64_MAX, &it, &e)) die("cairn_samples_open", &e);
        for (uint64_t k = 0; cairn_samples_next(it, &t, &v) == 1; k++)
            found += k < n_samples && t == ds_time(&d, i, k) && memcmp(&v, &(double){ds_value(&d, i, k)}, 8) == 0;
        cairn_samples_close(it);
        checked += n_samples;
    }
    printf("  read back every 97th series: %" PRIu64 " of %" PRIu64 " samples exact\n", found, checked);
    if (st.n_series != n_series || found != checked) {
        fprintf(stderr, "bench_engine: reopen lost data: %" PRIu64 " series, %" PRIu64 " of %" PRIu64 " samples\n",
                st.n_series, found, checked);
        return 1;
    }
    cairn_close(db);
    if (!keep) rm_tree(dir);
    return 0;
}

static int mode_om(size_t n_series, uint64_t n_samples, const char *file)
{
    ds d;
    ds_init(&d, n_series, SEED);
    FILE *f = fopen(file, "w");
    if (!f) die(file, NULL);
    static char big[1 << 20];
    setvbuf(f, big, _IOFBF, sizeof big);
    ds_write_openmetrics(f, &d, n_samples);
    if (fclose(f)) die(file, NULL);
    printf("om: wrote %zu series x %" PRIu64 " samples to %s\n", n_series, n_samples, file);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_engine [--keep] [--checkpoint-every K] ingest N_SERIES N_SAMPLES THREADS DIR\n"
                    "       bench_engine [--keep] size N_SERIES N_SAMPLES DIR\n"
                    "       bench_engine [--keep] reopen N_SERIES N_SAMPLES DIR\n"
                    "       bench_engine om N_SERIES N_SAMPLES FILE\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int keep = 0;
    for (;;) {
        if (argc > 1 && strcmp(argv[1], "--keep") == 0) keep = 1, argv++, argc--;
        else if (argc > 2 && strcmp(argv[1], "--checkpoint-every") == 0) {
            cp_every = strtoull(argv[2], NULL, 10);
            if (cp_every % WINDOW) usage();
            argv += 2, argc -= 2;
        } else break;
    }
    if (argc < 5) usage();
    const char *mode = argv[1];
    size_t n_series = strtoull(argv[2], NULL, 10);
    uint64_t n_samples = strtoull(argv[3], NULL, 10);
    if (!n_series || !n_samples) usage();
    if (strcmp(mode, "om") == 0) return mode_om(n_series, n_samples, argv[4]);
    bench_machine();
    printf("cairn %s\n", cairn_version());
    struct stat sb;
    const char *dir = argv[argc - 1];
    if (stat(dir, &sb) == 0) {
        fprintf(stderr, "bench_engine: %s exists; give a path that does not\n", dir);
        return 2;
    }
    if (strcmp(mode, "ingest") == 0 && argc == 6) {
        int threads = atoi(argv[4]);
        if (threads < 1 || threads > 16) usage();
        return mode_ingest(n_series, n_samples, threads, argv[5], keep);
    }
    if (strcmp(mode, "size") == 0) return mode_size(n_series, n_samples, argv[4], keep);
    if (strcmp(mode, "reopen") == 0) return mode_reopen(n_series, n_samples, argv[4], keep);
    usage();
    return 2;
}
