/*
 * bench_postings.c — LMDB dup-sorted postings (what idx.c uses) against
 * CRoaring bitmaps stored as LMDB values, on the same synthetic index.
 *
 *   build/<x>/bench/bench_postings [n_series] [dir]     (default 1000000, $TMPDIR)
 *
 * Data: n series from 500 scrape targets (instance="host-<t>", job="job-<t%20>"),
 * 2000 series each over 200 metric names; pod="pod-<n>" (10 series per pod:
 * 100k values), path="/api/v<k>/r<m>" on 20% (10k values), status on 33%
 * (5 values), model_name on 10% (50 values). Ids are assigned in order.
 *
 * Three environments are built: "base" (series records + hash only),
 * "lmdb" (base + idx.c's dup-sorted postings via idx_add_series) and
 * "roaring" (base + one serialized roaring bitmap per postings key in a plain
 * DBI, read-modify-written once per key per commit of `batch` series).
 * Roaring's per-id add (the postings_store interface as idx would call it,
 * one RMW per posting per series) is timed on the first 100k series only.
 * Selects run in a fresh read transaction per repetition, median of 7, and
 * return a sorted id array in both cases. Results: docs/index.md.
 */
#include <roaring/roaring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "idx.h"
#include "kv.h"
#include "labels.h"
#include "match.h"
#include "postings.h"
#include "bench_util.h"

#define BATCH 10000
#define KEYW 48

static void die(const char *what, int rc, const cairn_err *e)
{
    fprintf(stderr, "%s: rc %d %s\n", what, rc, e ? e->msg : "");
    exit(1);
}

/* ---- data ---------------------------------------------------------------------------------- */

typedef struct series_gen {
    char v[7][40];
    cairn_label l[7];
    size_t n;
} series_gen;

static void gen(uint32_t i, series_gen *g)
{
    static const char *const status[] = {"200", "404", "500", "302", "503"};
    uint32_t t = i / 2000, j = i % 2000;
    g->n = 0;
#define ADD(name, ...)                                                                                       \
    do {                                                                                                     \
        int len_ = snprintf(g->v[g->n], sizeof g->v[g->n], __VA_ARGS__);                                     \
        g->l[g->n] = (cairn_label){name, strlen(name), g->v[g->n], (size_t)len_};                            \
        g->n++;                                                                                              \
    } while (0)
    ADD("__name__", "metric_%03u", j % 200);
    ADD("job", "job-%u", t % 20);
    ADD("instance", "host-%u", t);
    ADD("pod", "pod-%u", t * 200 + j / 10);
    if (j % 200 < 40) ADD("path", "/api/v%u/r%u", j % 7, (t * 40 + j % 200) % 10000);
    if (j % 3 == 0) ADD("status", "%s", status[(j / 3) % 5]);
    if (j % 10 == 0) ADD("model_name", "model-%u", (j / 10) % 50);
#undef ADD
}

/* ---- roaring store (bench only) ------------------------------------------------------------- */

static roaring_bitmap_t *rb_get(kv_txn *t, const uint8_t *key, size_t kn)
{
    const void *v;
    size_t vn;
    if (kv_get(t, KV_META, key, kn, &v, &vn) != CAIRN_OK) return NULL;
    return roaring_bitmap_portable_deserialize_safe(v, vn);
}

static int rb_put(kv_txn *t, const uint8_t *key, size_t kn, roaring_bitmap_t *r, uint64_t *bytes, cairn_err *e)
{
    roaring_bitmap_run_optimize(r);
    size_t n = roaring_bitmap_portable_size_in_bytes(r);
    void *dst;
    int rc = kv_reserve(t, KV_META, key, kn, n, &dst, e);
    if (rc) return rc;
    roaring_bitmap_portable_serialize(r, dst);
    if (bytes) *bytes += n;
    return CAIRN_OK;
}

/* postings_store interface: one read-modify-write per id */
static int rb_add(kv_txn *t, int dbi, const uint8_t *key, size_t kn, uint32_t id, cairn_err *err)
{
    (void)dbi;
    roaring_bitmap_t *r = rb_get(t, key, kn);
    if (!r) r = roaring_bitmap_create();
    roaring_bitmap_add(r, id);
    int rc = rb_put(t, key, kn, r, NULL, err);
    roaring_bitmap_free(r);
    return rc;
}

static int rb_read(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_list *out)
{
    (void)dbi;
    roaring_bitmap_t *r = rb_get(t, key, kn);
    if (!r) return CAIRN_NOTFOUND;
    size_t n = roaring_bitmap_get_cardinality(r);
    if (postings_list_reserve(out, n)) return CAIRN_ENOMEM;
    roaring_bitmap_to_uint32_array(r, out->v + out->n);
    out->n += n;
    roaring_bitmap_free(r);
    return CAIRN_OK;
}

static int rb_each(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_chunk_fn fn, void *ctx)
{
    postings_list l;
    postings_list_init(&l);
    int rc = rb_read(t, dbi, key, kn, &l);
    if (!rc) rc = fn(ctx, l.v, l.n);
    postings_list_free(&l);
    return rc;
}

static const postings_store postings_roaring = {"roaring", rb_add, rb_read, rb_each};

/* ---- building ---------------------------------------------------------------------------------- */

typedef struct pair {
    uint8_t key[KEYW];
    uint8_t kn;
    uint32_t id;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    size_t n = x->kn < y->kn ? x->kn : y->kn;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->kn != y->kn) return x->kn < y->kn ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static size_t pkey(uint8_t *k, const char *name, size_t nn, const char *val, size_t vn)
{
    k[0] = CAIRN_KIND_METRIC;
    memcpy(k + 1, name, nn);
    k[1 + nn] = 0;
    memcpy(k + 2 + nn, val, vn);
    return 2 + nn + vn;
}

/* mode: 0 base, 1 lmdb postings (idx_add_series), 2 roaring batched, 3 roaring per-id add */
static double build_at(kv *k, uint32_t first, uint32_t n, uint32_t batch, int mode, uint64_t *rb_bytes)
{
    cairn_err e;
    buf c;
    buf_init(&c);
    pair *pairs = mode == 2 ? malloc(sizeof *pairs * BATCH * 8) : NULL;
    double t0 = bench_now_s();
    for (uint32_t start = first; start < n; start += batch) {
        kv_txn *t;
        int rc = kv_begin(k, 1, &t, &e);
        if (rc) die("begin", rc, &e);
        size_t np = 0;
        uint32_t end = start + batch < n ? start + batch : n;
        for (uint32_t i = start; i < end; i++) {
            series_gen g;
            gen(i, &g);
            buf_reset(&c);
            if ((rc = labels_canon(g.l, g.n, NULL, &c, &e))) die("canon", rc, &e);
            uint64_t h = labels_hash(c.p, c.len);
            if (mode == 1) {
                if ((rc = idx_add_series(t, i, CAIRN_KIND_METRIC, c.p, c.len, h, &e))) die("add", rc, &e);
                continue;
            }
            /* the same series record and hash entry idx_add_series writes */
            uint8_t ik[4], hk[8], rec[17 + 256];
            be32_put(ik, i);
            be64_put(hk, h);
            rec[0] = CAIRN_KIND_METRIC;
            le64_put(rec + 1, (uint64_t)INT64_MAX);
            le64_put(rec + 9, (uint64_t)INT64_MIN);
            memcpy(rec + 17, c.p, c.len);
            if ((rc = kv_put(t, KV_SERIES, ik, 4, rec, 17 + c.len, KV_APPEND, &e))) die("put", rc, &e);
            if ((rc = kv_put(t, KV_HASH, hk, 8, ik, 4, 0, &e))) die("put", rc, &e);
            if (mode == 0) continue;
            for (size_t j = 0; j <= g.n; j++) {
                uint8_t key[KEYW];
                size_t kn = j < g.n ? pkey(key, g.l[j].name, g.l[j].name_len, g.l[j].value, g.l[j].value_len)
                                    : (key[0] = CAIRN_KIND_METRIC, key[1] = 0, 2);
                if (mode == 3) {
                    if ((rc = postings_roaring.add(t, KV_META, key, kn, i, &e))) die("rb add", rc, &e);
                } else {
                    memcpy(pairs[np].key, key, kn);
                    pairs[np].kn = (uint8_t)kn;
                    pairs[np++].id = i;
                }
            }
        }
        if (mode == 2) {
            qsort(pairs, np, sizeof *pairs, pair_cmp);
            uint32_t ids[BATCH];
            for (size_t a = 0; a < np;) {
                size_t b = a, m = 0;
                while (b < np && pairs[b].kn == pairs[a].kn && !memcmp(pairs[b].key, pairs[a].key, pairs[a].kn))
                    ids[m++] = pairs[b++].id;
                roaring_bitmap_t *r = rb_get(t, pairs[a].key, pairs[a].kn);
                if (!r) r = roaring_bitmap_create();
                roaring_bitmap_add_many(r, m, ids);
                if ((rc = rb_put(t, pairs[a].key, pairs[a].kn, r, NULL, &e))) die("rb put", rc, &e);
                roaring_bitmap_free(r);
                a = b;
            }
        }
        if ((rc = kv_commit(t, &e))) die("commit", rc, &e);
    }
    double dt = bench_now_s() - t0;
    if (rb_bytes) {
        /* logical size of all bitmaps */
        kv_txn *t;
        kv_cur *cur;
        *rb_bytes = 0;
        kv_begin(k, 0, &t, &e);
        kv_cur_open(t, KV_META, &cur);
        const void *ko, *v;
        size_t kon, vn;
        int rc = kv_cur_seek(cur, NULL, 0, &ko, &kon, &v, &vn);
        while (rc == CAIRN_OK) {
            *rb_bytes += vn;
            rc = kv_cur_next(cur, &ko, &kon, &v, &vn);
        }
        kv_cur_close(cur);
        kv_abort(t);
    }
    free(pairs);
    buf_free(&c);
    return dt;
}

static double build(kv *k, uint32_t n, int mode, uint64_t *rb_bytes)
{
    return build_at(k, 0, n, BATCH, mode, rb_bytes);
}

/* ---- selecting with roaring ---------------------------------------------------------------------- */

static roaring_bitmap_t *rb_values(kv_txn *t, const match *m)
{
    roaring_bitmap_t *acc = roaring_bitmap_create();
    const char *v[64];
    size_t vl[64];
    int ns = match_set(m, v, vl, 64);
    uint8_t key[KEYW + 64];
    if (ns > 0) {
        for (int i = 0; i < ns; i++) {
            roaring_bitmap_t *r = rb_get(t, key, pkey(key, m->name, m->name_len, v[i], vl[i]));
            if (r) roaring_bitmap_or_inplace(acc, r), roaring_bitmap_free(r);
        }
        return acc;
    }
    const char *pre = "";
    size_t pn = 0;
    match_prefix(m, &pre, &pn);
    size_t kn = pkey(key, m->name, m->name_len, pre, pn), vstart = 2 + m->name_len;
    kv_cur *c;
    kv_cur_open(t, KV_META, &c);
    const void *ko, *val;
    size_t kon, vn;
    int rc = kv_cur_seek(c, key, kn, &ko, &kon, &val, &vn);
    while (rc == CAIRN_OK && kon >= kn && !memcmp(ko, key, kn)) {
        if (match_value(m, (const char *)ko + vstart, kon - vstart) == 1) {
            roaring_bitmap_t *r = roaring_bitmap_portable_deserialize_safe(val, vn);
            roaring_bitmap_or_inplace(acc, r);
            roaring_bitmap_free(r);
        }
        rc = kv_cur_next(c, &ko, &kon, &val, &vn);
    }
    kv_cur_close(c);
    return acc;
}

/* positive matchers only (what the benchmark queries use) */
static size_t rb_select(kv_txn *t, const match *m, size_t n, idx_ids *out)
{
    roaring_bitmap_t *acc = NULL;
    for (size_t i = 0; i < n; i++) {
        roaring_bitmap_t *r = rb_values(t, &m[i]);
        if (!acc) acc = r;
        else roaring_bitmap_and_inplace(acc, r), roaring_bitmap_free(r);
    }
    size_t card = roaring_bitmap_get_cardinality(acc);
    out->v = malloc(card * 4 + 4);
    out->n = card;
    roaring_bitmap_to_uint32_array(acc, out->v);
    roaring_bitmap_free(acc);
    return card;
}

/* ---- main ---------------------------------------------------------------------------------------- */

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct query {
    const char *text;
    cairn_matcher m[2];
    size_t n;
} query;

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1000000;
    const char *base = argc > 2 ? argv[2] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    bench_machine();
    printf("data: %u series, 500 targets x 2000, 200 metric names, 100k pods, 10k paths; batch %d series/commit\n", n,
           BATCH);
    char dirs[3][512];
    kv *k[3];
    static const char *const names[3] = {"base", "lmdb", "roaring"};
    double dt[3];
    uint64_t rb_bytes = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/cairn-bench-postings-%d-%s", base, (int)getpid(), names[i]);
        mkdir(dirs[i], 0755);
        cairn_err e;
        int rc = kv_open(dirs[i], 8ULL << 30, &k[i], &e);
        if (rc) die("kv_open", rc, &e);
        dt[i] = build(k[i], n, i, i == 2 ? &rb_bytes : NULL);
    }
    uint64_t b0 = kv_used_bytes(k[0]);
    printf("\n%-28s %12s %14s %16s\n", "build", "seconds", "index.mdb MiB", "postings MiB");
    printf("%-28s %12.2f %14.1f %16s\n", "base (records + hash)", dt[0], b0 / 1048576.0, "-");
    printf("%-28s %12.2f %14.1f %16.1f\n", "lmdb dup-sorted u32 BE", dt[1], kv_used_bytes(k[1]) / 1048576.0,
           (kv_used_bytes(k[1]) - b0) / 1048576.0);
    printf("%-28s %12.2f %14.1f %16.1f  (bitmaps themselves: %.1f MiB)\n", "roaring, RMW per commit", dt[2],
           kv_used_bytes(k[2]) / 1048576.0, (kv_used_bytes(k[2]) - b0) / 1048576.0, rb_bytes / 1048576.0);

    /* roaring per-id RMW, the interface as idx would use it: first 100k series only */
    {
        char d[512];
        snprintf(d, sizeof d, "%s/cairn-bench-postings-%d-rbadd", base, (int)getpid());
        mkdir(d, 0755);
        kv *kk;
        cairn_err e;
        if (kv_open(d, 4ULL << 30, &kk, &e)) die("kv_open", 1, &e);
        uint32_t m = n < 100000 ? n : 100000;
        double t = build(kk, m, 3, NULL);
        printf("%-28s %12.2f   (first %u series only; lmdb per-id add is the 'lmdb' row)\n", "roaring, RMW per id", t,
               m);
        kv_close(kk);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
        if (system(cmd)) fprintf(stderr, "cleanup failed\n");
    }

    query qs[] = {
        {"{__name__=\"metric_042\"}", {{CAIRN_MATCH_EQ, "__name__", 8, "metric_042", 10}}, 1},
        {"{__name__=\"metric_042\", job=\"job-7\"}",
         {{CAIRN_MATCH_EQ, "__name__", 8, "metric_042", 10}, {CAIRN_MATCH_EQ, "job", 3, "job-7", 5}},
         2},
        {"{instance=~\"host-1.*\"}", {{CAIRN_MATCH_RE, "instance", 8, "host-1.*", 8}}, 1},
        {"{model_name!=\"\"}", {{CAIRN_MATCH_NE, "model_name", 10, "", 0}}, 1},
        {"{pod=~\"pod-1234.*\"}", {{CAIRN_MATCH_RE, "pod", 3, "pod-1234.*", 10}}, 1},
        {"{__name__=\"metric_001\", path=~\"/api/v3/.*\"}",
         {{CAIRN_MATCH_EQ, "__name__", 8, "metric_001", 10}, {CAIRN_MATCH_RE, "path", 4, "/api/v3/.*", 10}},
         2},
    };
    printf("\n%-44s %9s %12s %12s\n", "select (median of 7, fresh read txn)", "series", "lmdb ms", "roaring ms");
    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        match m[2];
        cairn_err e;
        for (size_t i = 0; i < qs[q].n; i++)
            if (match_compile(&m[i], &qs[q].m[i], &e)) die("compile", 1, &e);
        double tl[7], tr[7];
        size_t nl = 0, nr = 0;
        for (int r = 0; r < 7; r++) {
            kv_txn *t;
            idx_ids ids;
            double t0 = bench_now_s();
            kv_begin(k[1], 0, &t, &e);
            if (idx_select(t, CAIRN_KIND_METRIC, m, qs[q].n, NULL, NULL, &ids, &e)) die("select", 1, &e);
            kv_abort(t);
            tl[r] = bench_now_s() - t0;
            nl = ids.n;
            idx_ids_free(&ids);
            t0 = bench_now_s();
            kv_begin(k[2], 0, &t, &e);
            nr = rb_select(t, m, qs[q].n, &ids);
            kv_abort(t);
            tr[r] = bench_now_s() - t0;
            free(ids.v);
        }
        if (nl != nr) fprintf(stderr, "MISMATCH %s: lmdb %zu roaring %zu\n", qs[q].text, nl, nr);
        qsort(tl, 7, sizeof tl[0], dbl_cmp);
        qsort(tr, 7, sizeof tr[0], dbl_cmp);
        printf("%-44s %9zu %12.3f %12.3f\n", qs[q].text, nl, tl[3] * 1e3, tr[3] * 1e3);
        for (size_t i = 0; i < qs[q].n; i++) match_free(&m[i]);
    }

    /* churn: 10k more series (the next targets) in commits of 100, on the built indexes */
    {
        uint64_t u1 = kv_used_bytes(k[1]), u2 = kv_used_bytes(k[2]);
        double c1 = build_at(k[1], n, n + 10000, 100, 1, NULL);
        double c2 = build_at(k[2], n, n + 10000, 100, 2, NULL);
        printf("\nchurn: +10000 series in commits of 100 on top of the index\n");
        printf("  lmdb    %.2f s (%.0f us/series), file grew %.1f MiB\n", c1, c1 * 1e6 / 10000,
               (kv_used_bytes(k[1]) - u1) / 1048576.0);
        printf("  roaring %.2f s (%.0f us/series), file grew %.1f MiB\n", c2, c2 * 1e6 / 10000,
               (kv_used_bytes(k[2]) - u2) / 1048576.0);
    }

    /* regex matcher cost: fast path vs RE2 */
    {
        cairn_matcher fast = {CAIRN_MATCH_RE, "i", 1, "host-1.*", 8}, slow = {CAIRN_MATCH_RE, "i", 1, "host-1[0-9]*", 12};
        match mf, ms;
        match_compile(&mf, &fast, NULL);
        match_compile(&ms, &slow, NULL);
        char s[32];
        int hits = 0;
        for (int i = 0; i < 1000000; i++) hits += match_value(&mf, s, (size_t)snprintf(s, sizeof s, "host-%d", i % 500));
        hits = 0;
        double t0 = bench_now_s();
        for (int i = 0; i < 1000000; i++) hits += match_value(&mf, s, (size_t)snprintf(s, sizeof s, "host-%d", i % 500));
        double t1 = bench_now_s();
        for (int i = 0; i < 1000000; i++) hits += match_value(&ms, s, (size_t)snprintf(s, sizeof s, "host-%d", i % 500));
        double t2 = bench_now_s();
        printf("\nmatch_value over 1M values (incl. snprintf): fast path %.0f ns/op, RE2 %.0f ns/op (%d hits)\n",
               (t1 - t0) * 1e3, (t2 - t1) * 1e3, hits);
        match_free(&mf);
        match_free(&ms);
    }

    for (int i = 0; i < 3; i++) {
        kv_close(k[i]);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        if (system(cmd)) fprintf(stderr, "cleanup failed\n");
    }
    return 0;
}
