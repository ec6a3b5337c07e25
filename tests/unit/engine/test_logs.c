/*
 * test_logs.c — log streams: seeded round trips against an oracle (memory
 * only, and through LMDB chunks), forward and backward, block skipping
 * counted through the stats hook, every line filter alone and chained,
 * duplicates, chunk sequence numbers, head save/load, retention, corrupt
 * chunks and blocks in LMDB, limits, and OOM loops.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#include "crc32c.h"
#include "err.h"
#include "kv.h"
#include "logs.h"
#include "mem.h"

/* ---- the oracle ------------------------------------------------------------- */

typedef struct oent {
    int64_t t;
    size_t seq;
    uint8_t *line, *meta;
    size_t len, mlen;
} oent;

typedef struct oracle {
    oent *e;
    size_t n, cap;
} oracle;

static void or_free(oracle *o)
{
    for (size_t i = 0; i < o->n; i++) free(o->e[i].line), free(o->e[i].meta);
    free(o->e);
    memset(o, 0, sizeof *o);
}

static void or_add(oracle *o, int64_t t, const void *line, size_t len, const void *meta, size_t mlen)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->e = realloc(o->e, o->cap * sizeof *o->e);
    }
    oent *x = &o->e[o->n];
    x->t = t;
    x->seq = o->n;
    x->line = malloc(len + 1);
    if (len) memcpy(x->line, line, len);
    x->len = len;
    x->meta = mlen ? malloc(mlen) : NULL;
    if (mlen) memcpy(x->meta, meta, mlen);
    x->mlen = mlen;
    o->n++;
}

static int or_has(const oracle *o, int64_t t, const void *line, size_t len)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->e[i].t == t && o->e[i].len == len && (len == 0 || !memcmp(o->e[i].line, line, len))) return 1;
    return 0;
}

static int oent_cmp(const void *a, const void *b)
{
    const oent *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Byte order inside equal timestamps, for comparisons that ignore ties' order. */
static int oent_cmp_bytes(const void *a, const void *b)
{
    const oent *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->line, y->line, n) : 0;
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

typedef int (*keep_fn)(const oent *e);

/* Expected entries in [mint, maxt] passing keep, in forward order. */
static oent *or_expect(const oracle *o, int64_t mint, int64_t maxt, keep_fn keep, size_t *n)
{
    oent *r = malloc((o->n + 1) * sizeof *r);
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        if (o->e[i].t >= mint && o->e[i].t <= maxt && (!keep || keep(&o->e[i]))) r[k++] = o->e[i];
    qsort(r, k, sizeof *r, oent_cmp);
    *n = k;
    return r;
}

/* Drain an iterator into a fresh array (line/meta copied). */
static oent *drain(logs_it *it, size_t *n)
{
    size_t cap = 64, k = 0;
    oent *r = malloc(cap * sizeof *r);
    int64_t t;
    const char *line;
    size_t len, ml;
    const uint8_t *meta;
    int rc;
    while ((rc = logs_it_next(it, &t, &line, &len, &meta, &ml)) == 1) {
        if (k == cap) r = realloc(r, (cap *= 2) * sizeof *r);
        r[k].t = t;
        r[k].seq = k;
        r[k].line = malloc(len + 1);
        if (len) memcpy(r[k].line, line, len);
        r[k].len = len;
        r[k].meta = ml ? malloc(ml) : NULL;
        if (ml) memcpy(r[k].meta, meta, ml);
        r[k].mlen = ml;
        k++;
    }
    if (rc != 0) fail_msg("logs_it_next: %d (%s)", rc, logs_it_error(it)->msg);
    *n = k;
    return r;
}

static void drained_free(oent *r, size_t n)
{
    for (size_t i = 0; i < n; i++) free(r[i].line), free(r[i].meta);
    free(r);
}

static void same_entry(const oent *a, const oent *b)
{
    assert_int_equal(a->t, b->t);
    assert_int_equal(a->len, b->len);
    if (a->len) assert_memory_equal(a->line, b->line, a->len);
    assert_int_equal(a->mlen, b->mlen);
    if (a->mlen) assert_memory_equal(a->meta, b->meta, a->mlen);
}

/*
 * Read [mint, maxt] forward and backward and compare with the oracle. exact:
 * ties in arrival order; otherwise ties compared as a multiset (the order
 * across chunks follows chunk keys, not arrival).
 */
static void check_read(kv_txn *t, uint32_t id, const lstream *s, const oracle *o, int64_t mint, int64_t maxt,
                       const logs_filter *f, keep_fn keep, int exact)
{
    size_t ne;
    oent *exp = or_expect(o, mint, maxt, keep, &ne);
    oent *dir[2];
    size_t nd[2];
    for (int back = 0; back < 2; back++) {
        lsnap *snap = NULL;
        if (s) assert_int_equal(lstream_snapshot(s, mint, maxt, &snap), CAIRN_OK);
        logs_it *it;
        cairn_err err;
        assert_int_equal(logs_it_open(t, id, snap, mint, maxt, back, f, NULL, &it, &err), CAIRN_OK);
        dir[back] = drain(it, &nd[back]);
        logs_it_close(it);
        assert_int_equal(nd[back], ne);
    }
    /* backward is exactly forward reversed */
    for (size_t i = 0; i < ne; i++) same_entry(&dir[0][i], &dir[1][ne - 1 - i]);
    if (!exact) {
        qsort(dir[0], ne, sizeof *dir[0], oent_cmp_bytes);
        qsort(exp, ne, sizeof *exp, oent_cmp_bytes);
    }
    for (size_t i = 0; i < ne; i++) same_entry(&dir[0][i], &exp[i]);
    drained_free(dir[0], nd[0]);
    drained_free(dir[1], nd[1]);
    free(exp);
}

/* ---- random streams ----------------------------------------------------------- */

static const char *utf8_words[] = {"héllo ", "日本語 ", "💥 ", "ÿ ", "naïve "};

static size_t rand_line(uint8_t *p, size_t cap, size_t seq, int allow_huge)
{
    int kind = (int)t_randn(allow_huge ? 40 : 39);
    size_t n = 0;
    switch (kind) {
    case 0: return 0;
    case 1:
        n = t_randn(40) + 1;
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(t_randn(3) ? t_rand() : 0);
        return n;
    case 2:
        for (int i = (int)t_randn(8) + 1; i > 0; i--) {
            const char *w = utf8_words[t_randn(5)];
            memcpy(p + n, w, strlen(w));
            n += strlen(w);
        }
        return n;
    case 39:
        n = 256 << 10;
        if (n > cap) n = cap;
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)('a' + t_randn(26));
        return n;
    default:
        return (size_t)snprintf((char *)p, cap,
                                "level=%s seq=%zu route=/v1/predict code=%d lat=%ums trace=%016llx",
                                t_randn(4) ? "info" : "error", seq, t_randn(6) ? 200 : 503,
                                (unsigned)t_randn(2000), (unsigned long long)t_rand());
    }
}

/*
 * Append n random entries (out of order within `window` ns, equal timestamps,
 * metadata on some) to s and the oracle; duplicates against the oracle must
 * be reported as such by lstream_append. Every `flush_every` entries, flush
 * to `k` (if given) as stream `id`.
 */
static void fill(lstream *s, oracle *o, size_t n, int64_t base, int64_t window, const logs_opts *lo, kv *k,
                 uint32_t id, size_t flush_every, oracle *mem)
{
    static uint8_t line[(256 << 10) + 64];
    int64_t now = base;
    for (size_t i = 0; i < n; i++) {
        now += (int64_t)t_randn(3) * 1000;
        int64_t t = now - (t_randn(5) == 0 ? (int64_t)t_randn((uint64_t)window) : 0);
        size_t len = rand_line(line, sizeof line, o->n, 1);
        uint8_t meta[24];
        size_t mlen = t_randn(3) == 0 ? t_randn(sizeof meta) + 1 : 0;
        for (size_t j = 0; j < mlen; j++) meta[j] = (uint8_t)t_rand();
        cairn_err err;
        int rc = lstream_append(s, t, (const char *)line, len, meta, mlen, lo, &err);
        int dup = or_has(mem, t, line, len);
        assert_int_equal(rc, dup);
        if (!dup) {
            or_add(o, t, line, len, meta, mlen);
            or_add(mem, t, line, len, NULL, 0);
        }
        if (k && flush_every && i % flush_every == flush_every - 1) {
            kv_txn *tx;
            assert_int_equal(kv_begin(k, 1, &tx, NULL), CAIRN_OK);
            assert_int_equal(lstream_flush(s, tx, id, &err), CAIRN_OK);
            assert_int_equal(kv_commit(tx, &err), CAIRN_OK);
            lstream_flush_done(s);
            /* what was flushed is no longer "in memory" for duplicate checks */
            if (lstream_sealed_count(s) == 0) {
                or_free(mem);
                /* the head is still in memory: rebuild from it through a snapshot */
                lsnap *sn;
                assert_int_equal(lstream_snapshot(s, INT64_MIN, INT64_MAX, &sn), CAIRN_OK);
                logs_it *it;
                assert_int_equal(logs_it_open(NULL, 0, sn, INT64_MIN, INT64_MAX, 0, NULL, NULL, &it, NULL), 0);
                size_t hn;
                oent *h = drain(it, &hn);
                for (size_t j = 0; j < hn; j++) or_add(mem, h[j].t, h[j].line, h[j].len, NULL, 0);
                drained_free(h, hn);
                logs_it_close(it);
            }
        }
    }
}

static void test_logs_roundtrip_memory(void **state)
{
    (void)state;
    t_rng_reset();
    uint64_t mem0 = mem_in_use();
    for (int round = 0; round < 6; round++) {
        logs_opts lo = {.block_bytes = (uint32_t)(2048 << round), .zstd_level = round % 3 == 2 ? 3 : 0};
        lblk_enc *enc = NULL;
        lblk_dctx *z = NULL;
        if (round % 2) {
            assert_int_equal(lblk_enc_new(&enc), CAIRN_OK);
            assert_int_equal(lblk_dctx_new(&z), CAIRN_OK);
            lo.enc = enc, lo.dctx = z;
        }
        lstream *s;
        assert_int_equal(lstream_new(&s), CAIRN_OK);
        oracle o = {0}, mem = {0};
        fill(s, &o, 300 + t_randn(300), (int64_t)t_rand() >> 3, 50000, &lo, NULL, 0, 0, &mem);
        /* duplicates in memory, in the head and in sealed blocks */
        for (int d = 0; d < 20; d++) {
            const oent *x = &o.e[t_randn(o.n)];
            assert_int_equal(lstream_has(s, x->t, (const char *)x->line, x->len), 1);
            assert_int_equal(lstream_append(s, x->t, (const char *)x->line, x->len, NULL, 0, &lo, NULL), 1);
        }
        assert_true(lstream_sealed_count(s) > 0);
        check_read(NULL, 0, s, &o, INT64_MIN, INT64_MAX, NULL, NULL, 1);
        for (int q = 0; q < 10; q++) {
            int64_t a = o.e[t_randn(o.n)].t, b = o.e[t_randn(o.n)].t;
            if (a > b) {
                int64_t x = a;
                a = b, b = x;
            }
            check_read(NULL, 0, s, &o, a, b, NULL, NULL, 1);
        }
        check_read(NULL, 0, s, &o, 5, 4, NULL, NULL, 1); /* empty range */
        assert_true(lstream_mem_bytes(s) > 0);
        lstream_free(s);
        or_free(&o);
        or_free(&mem);
        lblk_enc_free(enc);
        lblk_dctx_free(z);
    }
    assert_int_equal(mem_in_use(), mem0);
}

/* ---- LMDB fixture ------------------------------------------------------------- */

typedef struct fx {
    char *dir;
    kv *k;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("logs");
    cairn_err err;
    if (kv_open(f->dir, 1ULL << 30, &f->k, &err)) {
        fprintf(stderr, "kv_open: %s\n", err.msg);
        return -1;
    }
    t_rng_reset();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    kv_close(f->k);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

static void flush_commit(kv *k, lstream *s, uint32_t id)
{
    kv_txn *t;
    cairn_err err;
    assert_int_equal(kv_begin(k, 1, &t, &err), CAIRN_OK);
    assert_int_equal(lstream_flush(s, t, id, &err), CAIRN_OK);
    assert_int_equal(kv_commit(t, &err), CAIRN_OK);
    lstream_flush_done(s);
}

static size_t count_chunks(kv *k, uint32_t id)
{
    kv_txn *t;
    assert_int_equal(kv_begin(k, 0, &t, NULL), CAIRN_OK);
    kv_cur *c;
    assert_int_equal(kv_cur_open(t, KV_LOGCHUNKS, &c), CAIRN_OK);
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, id, INT64_MIN, 0);
    const void *ko, *v;
    size_t kon, vn, n = 0;
    for (int r = kv_cur_seek(c, key, sizeof key, &ko, &kon, &v, &vn); r == 0; r = kv_cur_next(c, &ko, &kon, &v, &vn))
        if (!memcmp(ko, key, 4)) n++;
    kv_cur_close(c);
    kv_abort(t);
    return n;
}

static void test_logs_roundtrip_lmdb(void **state)
{
    fx *f = *state;
    uint64_t mem0 = mem_in_use();
    logs_opts lo = {.block_bytes = 4096};
    lstream *s, *s2;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    assert_int_equal(lstream_new(&s2), CAIRN_OK);
    oracle o = {0}, mem = {0}, o2 = {0}, mem2 = {0};
    fill(s, &o, 1500, 1700000000000000000LL, 200000, &lo, f->k, 7, 250, &mem);
    /* a neighbour stream whose chunks must never leak into stream 7 */
    fill(s2, &o2, 200, 1700000000000000000LL, 1000, &lo, f->k, 8, 50, &mem2);
    assert_true(count_chunks(f->k, 7) >= 5);
    /* chunks + sealed + head, merged */
    kv_txn *t;
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    check_read(t, 7, s, &o, INT64_MIN, INT64_MAX, NULL, NULL, 0);
    check_read(t, 8, s2, &o2, INT64_MIN, INT64_MAX, NULL, NULL, 0);
    for (int q = 0; q < 8; q++) {
        int64_t a = o.e[t_randn(o.n)].t, b = o.e[t_randn(o.n)].t;
        if (a > b) {
            int64_t x = a;
            a = b, b = x;
        }
        check_read(t, 7, s, &o, a, b, NULL, NULL, 0);
    }
    kv_abort(t);
    /* everything flushed: the same from LMDB alone */
    assert_int_equal(lstream_cut(s, &lo, NULL), CAIRN_OK);
    flush_commit(f->k, s, 7);
    assert_int_equal(lstream_head_count(s), 0);
    assert_int_equal(lstream_sealed_count(s), 0);
    assert_true(lstream_mem_bytes(s) <= 128);
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    check_read(t, 7, NULL, &o, INT64_MIN, INT64_MAX, NULL, NULL, 0);
    check_read(t, 99, NULL, &(oracle){0}, INT64_MIN, INT64_MAX, NULL, NULL, 0);
    kv_abort(t);
    lstream_free(s);
    lstream_free(s2);
    or_free(&o), or_free(&mem), or_free(&o2), or_free(&mem2);
    assert_int_equal(mem_in_use(), mem0);
}

/* ---- block skipping ------------------------------------------------------------- */

static void fill_blocks(lstream *s, const logs_opts *lo, int n_blocks)
{
    /* 10 entries of 100 bytes per 1000-byte block; entry i at t = i * 1000 */
    char line[100];
    for (int i = 0; i < n_blocks * 10; i++) {
        memset(line, 'a' + i % 26, sizeof line);
        snprintf(line, sizeof line, "entry %d", i);
        assert_int_equal(lstream_append(s, (int64_t)i * 1000, line, sizeof line, NULL, 0, lo, NULL), 0);
    }
}

static uint64_t count_read(kv_txn *t, uint32_t id, const lstream *s, int64_t a, int64_t b, int back,
                           size_t *n_entries)
{
    uint64_t blocks = 0;
    lsnap *snap = NULL;
    if (s) assert_int_equal(lstream_snapshot(s, a, b, &snap), CAIRN_OK);
    logs_it *it;
    assert_int_equal(logs_it_open(t, id, snap, a, b, back, NULL, &blocks, &it, NULL), CAIRN_OK);
    size_t n;
    oent *r = drain(it, &n);
    for (size_t i = 1; i < n; i++) assert_true(back ? r[i].t <= r[i - 1].t : r[i].t >= r[i - 1].t);
    drained_free(r, n);
    logs_it_close(it);
    *n_entries = n;
    return blocks;
}

static void test_logs_block_skipping(void **state)
{
    fx *f = *state;
    logs_opts lo = {.block_bytes = 1000};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    fill_blocks(s, &lo, 10);
    assert_int_equal(lstream_sealed_count(s), 10);
    assert_int_equal(lstream_head_count(s), 0);
    size_t n;
    /* in memory */
    assert_int_equal(count_read(NULL, 1, s, 55000, 56000, 0, &n), 1);
    assert_int_equal(n, 2);
    flush_commit(f->k, s, 1);
    kv_txn *t;
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    for (int back = 0; back < 2; back++) {
        assert_int_equal(count_read(t, 1, NULL, 55000, 56000, back, &n), 1); /* one block of ten */
        assert_int_equal(n, 2);
        assert_int_equal(count_read(t, 1, NULL, 38000, 41000, back, &n), 2); /* straddles blocks 3 and 4 */
        assert_int_equal(n, 4);
        assert_int_equal(count_read(t, 1, NULL, 100000, 200000, back, &n), 0); /* after the data */
        assert_int_equal(n, 0);
        assert_int_equal(count_read(t, 1, NULL, -5000, -1, back, &n), 0); /* before the data */
        assert_int_equal(count_read(t, 1, NULL, INT64_MIN, INT64_MAX, back, &n), 10);
        assert_int_equal(n, 100);
    }
    kv_abort(t);
    lstream_free(s);
}

/* ---- filters ---------------------------------------------------------------- */

static int has_sub(const oent *e, const char *p)
{
    size_t pl = strlen(p);
    return pl == 0 || (e->len >= pl && memmem(e->line, e->len, p, pl) != NULL);
}
/* oracle of the regex "code=5\d\d" */
static int has_code5xx(const oent *e)
{
    for (size_t i = 0; i + 8 <= e->len; i++)
        if (!memcmp(e->line + i, "code=5", 6) && e->line[i + 6] >= '0' && e->line[i + 6] <= '9' &&
            e->line[i + 7] >= '0' && e->line[i + 7] <= '9')
            return 1;
    return 0;
}
static int k_contains(const oent *e) { return has_sub(e, "error"); }
static int k_not_contains(const oent *e) { return !has_sub(e, "error"); }
static int k_regex(const oent *e) { return has_code5xx(e); }
static int k_not_regex(const oent *e) { return !has_code5xx(e); }
static int k_empty(const oent *e) { return has_sub(e, ""); }
static int k_chain(const oent *e) { return has_sub(e, "level=") && !has_sub(e, "info") && has_code5xx(e); }
static int k_chain2(const oent *e) { return has_code5xx(e) && has_sub(e, "error"); }
static int k_cb(const oent *e) { return e->len % 2 == 0; }
static int k_chain_cb(const oent *e) { return k_not_contains(e) && k_cb(e); }
static int cb_even(void *ctx, const char *line, size_t len)
{
    (void)line;
    ++*(int *)ctx;
    return len % 2 == 0;
}

static void test_logs_filters(void **state)
{
    fx *f = *state;
    logs_opts lo = {.block_bytes = 3000};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    oracle o = {0}, mem = {0};
    fill(s, &o, 800, 1000000, 5000, &lo, f->k, 3, 300, &mem);
    kv_txn *t;
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    static const char re[] = "code=5\\d\\d";
    struct {
        cairn_line_filter lf[3];
        size_t n;
        int cb;
        keep_fn keep;
    } cases[] = {
        {{{CAIRN_FILTER_CONTAINS, "error", 5}}, 1, 0, k_contains},
        {{{CAIRN_FILTER_NOT_CONTAINS, "error", 5}}, 1, 0, k_not_contains},
        {{{CAIRN_FILTER_REGEX, re, sizeof re - 1}}, 1, 0, k_regex},
        {{{CAIRN_FILTER_NOT_REGEX, re, sizeof re - 1}}, 1, 0, k_not_regex},
        {{{CAIRN_FILTER_CONTAINS, "", 0}}, 1, 0, k_empty},
        {{{CAIRN_FILTER_CONTAINS, "level=", 6}, {CAIRN_FILTER_NOT_CONTAINS, "info", 4}, {CAIRN_FILTER_REGEX, re, sizeof re - 1}},
         3, 0, k_chain},
        {{{CAIRN_FILTER_REGEX, re, sizeof re - 1}, {CAIRN_FILTER_CONTAINS, "error", 5}}, 2, 0, k_chain2},
        {{{0}}, 0, 1, k_cb},
        {{{CAIRN_FILTER_NOT_CONTAINS, "error", 5}}, 1, 1, k_chain_cb},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int calls = 0;
        logs_filter *lf;
        cairn_err err;
        assert_int_equal(logs_filter_new(cases[c].lf, cases[c].n, cases[c].cb ? cb_even : NULL, &calls, &lf, &err),
                         CAIRN_OK);
        check_read(t, 3, s, &o, INT64_MIN, INT64_MAX, lf, cases[c].keep, 0);
        int64_t a = o.e[o.n / 3].t, b = o.e[o.n / 2].t;
        check_read(t, 3, s, &o, a < b ? a : b, a < b ? b : a, lf, cases[c].keep, 0);
        if (cases[c].cb) assert_true(calls > 0);
        logs_filter_free(lf);
    }
    kv_abort(t);
    /* invalid filters */
    logs_filter *lf;
    cairn_err err;
    cairn_line_filter bad = {9, "x", 1};
    assert_int_equal(logs_filter_new(&bad, 1, NULL, NULL, &lf, &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "line filter 0: unknown operator 9");
    assert_null(lf);
    cairn_line_filter nul = {CAIRN_FILTER_CONTAINS, NULL, 3};
    assert_int_equal(logs_filter_new(&nul, 1, NULL, NULL, &lf, &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "line filter 0: NULL pattern of 3 bytes");
    cairn_line_filter badre[2] = {{CAIRN_FILTER_CONTAINS, "a", 1}, {CAIRN_FILTER_REGEX, "(a", 2}};
    assert_int_equal(logs_filter_new(badre, 2, NULL, NULL, &lf, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "(a"));
    lstream_free(s);
    or_free(&o), or_free(&mem);
}

/* ---- duplicates, flush sequence, abort ---------------------------------------------- */

static void test_logs_duplicates(void **state)
{
    fx *f = *state;
    logs_opts lo = {.block_bytes = 64};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    assert_int_equal(lstream_maxt(s), INT64_MIN);
    assert_int_equal(lstream_head_mint(s), INT64_MAX);
    assert_int_equal(lstream_append(s, 10, "a", 1, NULL, 0, &lo, NULL), 0);
    assert_int_equal(lstream_append(s, 10, "a", 1, (const uint8_t *)"m", 1, &lo, NULL), 1); /* meta ignored */
    assert_int_equal(lstream_append(s, 10, "b", 1, NULL, 0, &lo, NULL), 0);
    assert_int_equal(lstream_append(s, 11, "a", 1, NULL, 0, &lo, NULL), 0);
    assert_int_equal(lstream_append(s, 10, "", 0, NULL, 0, &lo, NULL), 0);
    assert_int_equal(lstream_append(s, 10, "", 0, NULL, 0, &lo, NULL), 1);
    assert_int_equal(lstream_head_count(s), 4);
    assert_int_equal(lstream_head_mint(s), 10);
    assert_int_equal(lstream_maxt(s), 11);
    assert_int_equal(lstream_cut(s, &lo, NULL), CAIRN_OK);
    assert_int_equal(lstream_head_count(s), 0);
    /* now sealed: still found, with and without a shared context */
    assert_int_equal(lstream_has(s, 10, "b", 1), 1);
    assert_int_equal(lstream_has(s, 10, "c", 1), 0);
    assert_int_equal(lstream_append(s, 11, "a", 1, NULL, 0, &lo, NULL), 1);
    lblk_dctx *z;
    assert_int_equal(lblk_dctx_new(&z), CAIRN_OK);
    logs_opts lz = lo;
    lz.dctx = z;
    assert_int_equal(lstream_append(s, 10, "", 0, NULL, 0, &lz, NULL), 1);
    assert_int_equal(lstream_append(s, 9, "a", 1, NULL, 0, &lz, NULL), 0);
    /* flushed and released: no longer in memory, so no longer a duplicate */
    assert_int_equal(lstream_cut(s, &lo, NULL), CAIRN_OK);
    flush_commit(f->k, s, 2);
    assert_int_equal(lstream_has(s, 10, "b", 1), 0);
    assert_int_equal(lstream_append(s, 10, "b", 1, NULL, 0, &lo, NULL), 0);
    lblk_dctx_free(z);
    lstream_free(s);
}

static void test_logs_flush_seq_and_abort(void **state)
{
    fx *f = *state;
    logs_opts lo = {0};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    /* no sealed blocks: flush writes nothing */
    kv_txn *t;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(lstream_flush(s, t, 5, NULL), CAIRN_OK);
    assert_int_equal(kv_commit(t, NULL), CAIRN_OK);
    lstream_flush_done(s);
    assert_int_equal(count_chunks(f->k, 5), 0);
    oracle o = {0};
    for (int round = 0; round < 3; round++) {
        char line[24];
        snprintf(line, sizeof line, "round %d", round);
        assert_int_equal(lstream_append(s, 1000, line, strlen(line), NULL, 0, &lo, NULL), 0);
        or_add(&o, 1000, line, strlen(line), NULL, 0);
        assert_int_equal(lstream_cut(s, &lo, NULL), CAIRN_OK);
        if (round == 1) { /* a flush whose transaction aborts: nothing released, nothing written */
            assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
            assert_int_equal(lstream_flush(s, t, 5, NULL), CAIRN_OK);
            kv_abort(t);
        }
        flush_commit(f->k, s, 5);
        assert_int_equal(count_chunks(f->k, 5), (size_t)round + 1);
    }
    /* three chunks under the same (id, mint): seq 0, 1, 2 */
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    for (uint32_t seq = 0; seq < 3; seq++) {
        uint8_t key[LOGS_KEY_BYTES];
        logs_chunk_key(key, 5, 1000, seq);
        const void *v;
        size_t vn;
        assert_int_equal(kv_get(t, KV_LOGCHUNKS, key, sizeof key, &v, &vn), CAIRN_OK);
    }
    check_read(t, 5, s, &o, INT64_MIN, INT64_MAX, NULL, NULL, 1); /* chunk key order = arrival here */
    kv_abort(t);
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, 0x01020304, -2, 9);
    static const uint8_t want[] = {1, 2, 3, 4, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 9};
    assert_memory_equal(key, want, sizeof want);
    or_free(&o);
    lstream_free(s);
}

/* ---- head save / load ------------------------------------------------------------ */

static void test_logs_head_save_load(void **state)
{
    (void)state;
    t_rng_reset();
    logs_opts lo = {.block_bytes = 32u << 20}; /* one head, however many 256 KiB lines */
    lstream *s, *r;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    assert_int_equal(lstream_new(&r), CAIRN_OK);
    buf b;
    buf_init(&b);
    /* empty head: one version byte */
    assert_int_equal(lstream_head_save(s, &b), CAIRN_OK);
    assert_int_equal(b.len, 1);
    assert_int_equal(lstream_head_load(r, b.p, b.len, NULL), CAIRN_OK);
    assert_int_equal(lstream_head_count(r), 0);
    oracle o = {0}, mem = {0};
    fill(s, &o, 300, 5000000, 10000, &lo, NULL, 0, 0, &mem);
    assert_int_equal(lstream_sealed_count(s), 0);
    buf_reset(&b);
    assert_int_equal(lstream_head_save(s, &b), CAIRN_OK);
    assert_int_equal(lstream_head_load(r, b.p, b.len, NULL), CAIRN_OK);
    assert_int_equal(lstream_head_count(r), o.n);
    assert_int_equal(lstream_maxt(r), lstream_maxt(s));
    check_read(NULL, 0, r, &o, INT64_MIN, INT64_MAX, NULL, NULL, 1);
    /* loaded entries count for duplicates */
    assert_int_equal(lstream_append(r, o.e[0].t, (const char *)o.e[0].line, o.e[0].len, NULL, 0, &lo, NULL), 1);
    /* failures leave the head as it was */
    cairn_err err;
    uint8_t bad = 2;
    assert_int_equal(lstream_head_load(r, &bad, 1, &err), CAIRN_ECORRUPT);
    assert_string_equal(err.msg, "log head snapshot: version 2, expected 1");
    assert_int_equal(lstream_head_load(r, b.p, 0, &err), CAIRN_ECORRUPT);
    assert_int_equal(lstream_head_load(r, b.p, b.len - 1, &err), CAIRN_ECORRUPT);
    b.p[b.len / 2] ^= 0x20;
    assert_int_equal(lstream_head_load(r, b.p, b.len, &err), CAIRN_ECORRUPT);
    assert_string_equal(err.msg, "log block: CRC mismatch");
    assert_int_equal(lstream_head_count(r), o.n);
    /* a compressed block is not a head snapshot */
    lblk_enc *e;
    assert_int_equal(lblk_enc_new(&e), CAIRN_OK);
    lblk_head h;
    lblk_head_init(&h);
    assert_int_equal(lblk_head_add(&h, 1, "x", 1, NULL, 0), CAIRN_OK);
    buf_reset(&b);
    assert_int_equal(buf_put_u8(&b, 1), CAIRN_OK);
    assert_int_equal(lblk_encode(e, &h, 1, &b, NULL), CAIRN_OK);
    assert_int_equal(lstream_head_load(r, b.p, b.len, &err), CAIRN_ECORRUPT);
    assert_string_equal(err.msg, "log head snapshot: not a stored block");
    lblk_head_free(&h);
    lblk_enc_free(e);
    buf_free(&b);
    lstream_free(s);
    lstream_free(r);
    or_free(&o), or_free(&mem);
}

/* ---- retention ------------------------------------------------------------------- */

static void test_logs_retention(void **state)
{
    fx *f = *state;
    logs_opts lo = {0};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    oracle o = {0};
    /* five chunks: [0,9], [10,19], ..., [40,49] (in units of 1000 ns) */
    for (int c = 0; c < 5; c++) {
        for (int i = 0; i < 10; i++) {
            char line[16];
            snprintf(line, sizeof line, "%d", c * 10 + i);
            int64_t t = (int64_t)(c * 10 + i) * 1000;
            assert_int_equal(lstream_append(s, t, line, strlen(line), NULL, 0, &lo, NULL), 0);
            or_add(&o, t, line, strlen(line), NULL, 0);
        }
        assert_int_equal(lstream_cut(s, &lo, NULL), CAIRN_OK);
        flush_commit(f->k, s, 4);
    }
    /* stream 6 has old data that must survive retention of stream 4 */
    lstream *s6;
    assert_int_equal(lstream_new(&s6), CAIRN_OK);
    assert_int_equal(lstream_append(s6, 0, "x", 1, NULL, 0, &lo, NULL), 0);
    assert_int_equal(lstream_cut(s6, &lo, NULL), CAIRN_OK);
    flush_commit(f->k, s6, 6);
    kv_txn *t;
    uint64_t nd = 0;
    cairn_err err;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(logs_retention(t, 4, INT64_MIN, &nd, &err), CAIRN_OK);
    assert_int_equal(nd, 0);
    assert_int_equal(logs_retention(t, 4, 25000, &nd, &err), CAIRN_OK); /* chunk [20,29] overlaps: kept */
    assert_int_equal(nd, 2);
    assert_int_equal(kv_commit(t, NULL), CAIRN_OK);
    assert_int_equal(count_chunks(f->k, 4), 3);
    assert_int_equal(count_chunks(f->k, 6), 1);
    oracle kept = {0};
    for (size_t i = 20; i < 50; i++) or_add(&kept, o.e[i].t, o.e[i].line, o.e[i].len, NULL, 0);
    assert_int_equal(kv_begin(f->k, 0, &t, NULL), CAIRN_OK);
    check_read(t, 4, NULL, &kept, INT64_MIN, INT64_MAX, NULL, NULL, 1);
    kv_abort(t);
    nd = 0;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(logs_retention(t, 4, INT64_MAX, &nd, &err), CAIRN_OK);
    assert_int_equal(nd, 3);
    assert_int_equal(kv_commit(t, NULL), CAIRN_OK);
    assert_int_equal(count_chunks(f->k, 4), 0);
    assert_int_equal(count_chunks(f->k, 6), 1);
    /* a value too short to hold max_t */
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, 4, 0, 0);
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(kv_put(t, KV_LOGCHUNKS, key, sizeof key, "abc", 3, 0, NULL), CAIRN_OK);
    assert_int_equal(logs_retention(t, 4, 10, &nd, &err), CAIRN_ECORRUPT);
    assert_string_equal(err.msg, "log stream 4: chunk value of 3 bytes has no header");
    kv_abort(t);
    or_free(&o), or_free(&kept);
    lstream_free(s);
    lstream_free(s6);
}

/* ---- corrupt data in LMDB ----------------------------------------------------------- */

static void test_logs_corrupt_chunks(void **state)
{
    fx *f = *state;
    logs_opts lo = {.block_bytes = 200};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    fill_blocks(s, &lo, 3); /* 30 entries of 100 bytes, cut at 200: 15 blocks of 2 */
    flush_commit(f->k, s, 9);
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, 9, 0, 0);
    kv_txn *t;
    const void *v;
    size_t vn;
    assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
    assert_int_equal(kv_get(t, KV_LOGCHUNKS, key, sizeof key, &v, &vn), CAIRN_OK);
    uint8_t *good = malloc(vn), *bad = malloc(vn);
    memcpy(good, v, vn);
    size_t n = vn;
    cairn_err err;
    logs_it *it;
    /* a flipped byte in the index: the chunk CRC catches it at open */
    memcpy(bad, good, n);
    bad[40] ^= 1;
    assert_int_equal(kv_put(t, KV_LOGCHUNKS, key, sizeof key, bad, n, 0, NULL), CAIRN_OK);
    assert_int_equal(logs_it_open(t, 9, NULL, INT64_MIN, INT64_MAX, 0, NULL, NULL, &it, &err), CAIRN_ECORRUPT);
    assert_string_equal(err.msg, "log stream 9: chunk at 0: log chunk: CRC mismatch");
    assert_null(it);
    /* a flipped byte inside the second block: found when that block is opened */
    memcpy(bad, good, n);
    lblk_chunk c;
    assert_int_equal(lblk_chunk_open(good, n, &c, NULL), CAIRN_OK);
    lblk_chunk_ent ce;
    lblk_chunk_get(&c, 1, &ce);
    bad[ce.off + ce.len - 1] ^= 0x40;
    assert_int_equal(kv_put(t, KV_LOGCHUNKS, key, sizeof key, bad, n, 0, NULL), CAIRN_OK);
    uint64_t blocks = 0;
    assert_int_equal(logs_it_open(t, 9, NULL, INT64_MIN, INT64_MAX, 0, NULL, &blocks, &it, &err), CAIRN_OK);
    int64_t ts;
    const char *line;
    size_t len;
    int rc, got = 0;
    while ((rc = logs_it_next(it, &ts, &line, &len, NULL, NULL)) == 1) got++;
    assert_int_equal(rc, CAIRN_ECORRUPT);
    assert_int_equal(logs_it_next(it, &ts, &line, &len, NULL, NULL), CAIRN_ECORRUPT); /* sticky */
    assert_int_equal(c.n, 15);
    assert_int_equal(got, 2); /* the first block's two entries, then the error */
    char want[128];
    snprintf(want, sizeof want, "log stream 9: block at %lld: log block: CRC mismatch", (long long)ce.mint);
    assert_string_equal(logs_it_error(it)->msg, want);
    logs_it_close(it);
    /* a block that disagrees with its index entry (count), CRCs recomputed */
    memcpy(bad, good, n);
    le32_put(bad + LBLK_CHUNK_HDR_BYTES + LBLK_CHUNK_IDX_BYTES + 16, ce.count + 1);
    le32_put(bad + 24, crc32c(crc32c(0, bad, 24), bad + LBLK_CHUNK_HDR_BYTES, (size_t)c.n * LBLK_CHUNK_IDX_BYTES));
    assert_int_equal(kv_put(t, KV_LOGCHUNKS, key, sizeof key, bad, n, 0, NULL), CAIRN_OK);
    assert_int_equal(logs_it_open(t, 9, NULL, INT64_MIN, INT64_MAX, 1, NULL, NULL, &it, &err), CAIRN_OK);
    while ((rc = logs_it_next(it, &ts, &line, &len, NULL, NULL)) == 1) {
    }
    assert_int_equal(rc, CAIRN_ECORRUPT);
    snprintf(want, sizeof want, "log stream 9: block at %lld disagrees with its chunk index", (long long)ce.mint);
    assert_string_equal(logs_it_error(it)->msg, want);
    logs_it_close(it);
    kv_abort(t);
    free(good), free(bad);
    lstream_free(s);
}

/* ---- limits and OOM ------------------------------------------------------------------- */

static void test_logs_limits(void **state)
{
    (void)state;
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    cairn_err err;
    static const char small[4] = "abc";
    assert_int_equal(lstream_append(s, 77, small, (size_t)LBLK_MAX_RAW, NULL, 0, NULL, &err), CAIRN_ELIMIT);
    assert_string_equal(err.msg, "log entry at 77: 67108864 bytes of line and metadata, over the 33554432-byte block cap");
    assert_int_equal(lstream_head_count(s), 0);
    /* opts NULL: defaults, temporary contexts */
    assert_int_equal(lstream_append(s, 1, small, 3, NULL, 0, NULL, &err), 0);
    assert_int_equal(lstream_cut(s, NULL, &err), CAIRN_OK);
    assert_int_equal(lstream_cut(s, NULL, &err), CAIRN_OK); /* empty head: no-op */
    assert_int_equal(lstream_sealed_count(s), 1);
    assert_int_equal(lstream_append(s, 1, small, 3, NULL, 0, NULL, &err), 1);
    lstream_free(s);
    lstream_free(NULL);
    lsnap_free(NULL);
    logs_filter_free(NULL);
    logs_it_close(NULL);
}

static void test_logs_oom(void **state)
{
    fx *f = *state;
    t_rng_reset();
    uint64_t mem0 = mem_in_use();
    logs_opts lo = {.block_bytes = 900};
    lstream *s;
    assert_int_equal(lstream_new(&s), CAIRN_OK);
    oracle o = {0}, mem = {0};
    fill(s, &o, 40, 0, 100, &lo, NULL, 0, 0, &mem);
    /* append: every failure is a clean CAIRN_ENOMEM and leaves the contents as they were */
    char line[300];
    for (int k = 0; k < 12; k++) {
        memset(line, 'x', sizeof line);
        snprintf(line, 40, "oom %d", k);
        int64_t t = (int64_t)t_randn(200000);
        for (int64_t nth = 0;; nth++) {
            size_t before = lstream_head_count(s) + lstream_sealed_count(s) * 1000;
            mem_fail_after(nth);
            cairn_err err;
            int rc = lstream_append(s, t, line, sizeof line, NULL, 0, &lo, &err);
            mem_fail_after(-1);
            if (rc == 0) break;
            assert_int_equal(rc, CAIRN_ENOMEM);
            assert_int_equal(err.code, CAIRN_ENOMEM);
            assert_int_equal(lstream_head_count(s) + lstream_sealed_count(s) * 1000, before);
            assert_int_equal(lstream_has(s, t, line, sizeof line), 0);
        }
        or_add(&o, t, line, sizeof line, NULL, 0);
    }
    check_read(NULL, 0, s, &o, INT64_MIN, INT64_MAX, NULL, NULL, 1);
    /* snapshot + open + read, flush + commit */
    static const cairn_line_filter flt[2] = {{CAIRN_FILTER_CONTAINS, "oom", 3}, {CAIRN_FILTER_REGEX, "oom [0-9]", 9}};
    for (int64_t nth = 0;; nth++) {
        lsnap *snap = NULL;
        logs_filter *lf = NULL;
        logs_it *it = NULL;
        mem_fail_after(nth);
        int rc = logs_filter_new(flt, 2, NULL, NULL, &lf, NULL);
        if (!rc) rc = lstream_snapshot(s, INT64_MIN, INT64_MAX, &snap);
        if (!rc) {
            rc = logs_it_open(NULL, 0, snap, INT64_MIN, INT64_MAX, 1, lf, NULL, &it, NULL);
            snap = NULL;
        }
        int got = 0;
        if (!rc) {
            int64_t t;
            const char *l;
            size_t len;
            while ((rc = logs_it_next(it, &t, &l, &len, NULL, NULL)) == 1) got++;
        }
        mem_fail_after(-1);
        logs_it_close(it);
        logs_filter_free(lf);
        lsnap_free(snap);
        if (rc == 0) {
            assert_int_equal(got, 12);
            break;
        }
        assert_int_equal(rc, CAIRN_ENOMEM);
    }
    for (int64_t nth = 0;; nth++) {
        kv_txn *t;
        assert_int_equal(kv_begin(f->k, 1, &t, NULL), CAIRN_OK);
        mem_fail_after(nth);
        int rc = lstream_flush(s, t, 11, NULL);
        mem_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, CAIRN_ENOMEM);
            kv_abort(t);
            continue;
        }
        assert_int_equal(kv_commit(t, NULL), CAIRN_OK);
        lstream_flush_done(s);
        break;
    }
    assert_int_equal(lstream_sealed_count(s), 0);
    lstream_free(s);
    or_free(&o), or_free(&mem);
    assert_int_equal(mem_in_use(), mem0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logs_roundtrip_memory),
        cmocka_unit_test_setup_teardown(test_logs_roundtrip_lmdb, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_logs_block_skipping, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_logs_filters, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_logs_duplicates, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_logs_flush_seq_and_abort, fx_setup, fx_teardown),
        cmocka_unit_test(test_logs_head_save_load),
        cmocka_unit_test_setup_teardown(test_logs_retention, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_logs_corrupt_chunks, fx_setup, fx_teardown),
        cmocka_unit_test(test_logs_limits),
        cmocka_unit_test_setup_teardown(test_logs_oom, fx_setup, fx_teardown),
    };
    t_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
