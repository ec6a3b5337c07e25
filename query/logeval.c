/*
 * logeval.c — the LogQL evaluator: log queries and metric queries.
 *
 * Log queries. Every selected stream gets its own entry iterator in the
 * query's direction, with the pipeline's leading line filters pushed down
 * into storage (cairn_entries_open runs them on decompressed blocks, so a
 * rejected line is never materialised, let alone parsed as JSON). The
 * streams are merged through a binary heap on their next surviving entry,
 * newest first for `backward`: the first `limit` entries popped are exactly
 * Loki's "limit across streams", and the scan stops there, so `{app="x"}
 * |= "error"` over a day reads only the blocks its newest 100 matches live
 * in. Popped entries are grouped by their label set after the pipeline
 * (parsed labels split streams). Each result stream also records where
 * each of its labels came from (stream, structured metadata, parsed; the
 * pipeline's priorities decide, see logpipe.h), and a categorised query
 * (leval_opts.categorize) groups by labels and origins together, so the
 * API can emit Loki's categorize-labels encoding without guessing.
 *
 * Metric queries are evaluated over a grid of steps (ns), every node
 * producing a value (query/value.h) for all steps at once. A range
 * aggregation walks each stream's entries once over the union of all
 * windows, (start - range - offset, end - offset], runs the pipeline,
 * turns survivors into samples (1, the line's bytes, or the unwrapped
 * value) keyed by their label set (grouped at extraction when Loki does:
 * `by` on the range aggregation, or an outer `sum` pushed down), and then
 * slides a two-pointer window over each series' time-sorted samples: one
 * pass per series, not one scan per step. With grouping known, Loki's
 * parser hints apply: parsers extract only the needed labels, stop early,
 * or are skipped entirely (a bare `sum(count_over_time(... | json [5m]))`
 * never sees JSON errors, as in Loki).
 *
 * Vector aggregations, binary operators with vector matching, vector() and
 * label_replace are implemented here rather than shared with the PromQL
 * evaluator because Loki's rules differ in the details (division by zero is
 * NaN, no metric name, result labels of one-to-one matching with on()).
 *
 * Limits: entries read, inner and result series, points per series, a
 * deadline checked every few thousand entries; each a clear error.
 * Memory: results and labels live in the query arena; per-series sample
 * arrays are mem_ buffers freed when the range aggregation finishes.
 * Threads: one query, one thread; no globals.
 */
#include "logeval.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "labels.h"
#include "logpipe.h"
#include "mem.h"
#include "parse.h"

#define LQ_MAX_PUSHDOWN 16

_Static_assert((int)LEVAL_ORIGIN_STREAM == (int)LPIPE_ORIGIN_STREAM &&
                   (int)LEVAL_ORIGIN_META == (int)LPIPE_ORIGIN_META &&
                   (int)LEVAL_ORIGIN_PARSED == (int)LPIPE_ORIGIN_PARSED &&
                   (int)LEVAL_ORIGIN_ERROR == (int)LPIPE_ORIGIN_ERROR,
               "leval origins are lpipe's");
#define LQ_TICK_MASK 4095u

/* ---- query state ------------------------------------------------------------------------------ */

typedef struct lq {
    arena *ar;
    cairn_db *db;
    leval_opts o;
    cairn_err *err;
    int64_t start, step; /* grid, ns */
    size_t n;            /* steps */
    int instant;
    int direct; /* the root is a range aggregation: its series are the result */
    struct timespec t0, deadline;
    unsigned tick;
    leval_stats *st;
} lq;

static double lq_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int lq_check_time(lq *q)
{
    if (q->o.timeout_ms <= 0) return CAIRN_OK;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec > q->deadline.tv_sec || (ts.tv_sec == q->deadline.tv_sec && ts.tv_nsec >= q->deadline.tv_nsec))
        return err_set(q->err, CAIRN_ETIMEOUT, "query timed out after %lld ms", (long long)q->o.timeout_ms);
    return CAIRN_OK;
}

/* Count one entry read from storage; checks max_entries and, now and then, the deadline. */
static int lq_scanned(lq *q, size_t len)
{
    q->st->entries_scanned++;
    q->st->bytes_scanned += len;
    if (q->o.max_entries && q->st->entries_scanned > q->o.max_entries)
        return err_set(q->err, CAIRN_ELIMIT,
                       "query read more than %llu log entries (max_entries); narrow the time range or add a line filter",
                       (unsigned long long)q->o.max_entries);
    if ((++q->tick & LQ_TICK_MASK) == 0) return lq_check_time(q);
    return CAIRN_OK;
}

static int lq_oom(lq *q) { return err_set(q->err, CAIRN_ENOMEM, "out of memory evaluating a LogQL query"); }

static int64_t lq_t(const lq *q, size_t i) { return q->start + (int64_t)i * q->step; }

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t d = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) d--;
    return d;
}

/* ---- values ------------------------------------------------------------------------------------- */

static int lq_push_row(lq *q, val *v, size_t *cap, val_lset ls, double *vals)
{
    if (v->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        val_series *ns = arena_alloc(q->ar, nc * sizeof *ns);
        if (!ns) return lq_oom(q);
        if (v->n) memcpy(ns, v->s, v->n * sizeof *ns);
        v->s = ns;
        *cap = nc;
    }
    v->s[v->n].ls = ls;
    v->s[v->n].v = vals;
    v->s[v->n].drop_name = 0;
    v->n++;
    return CAIRN_OK;
}

static double *lq_absent(lq *q)
{
    double *a = val_absent_array(q->ar, q->n);
    if (!a) lq_oom(q);
    return a;
}

/* Copy a sorted label array into the arena (strings included). */
static int lq_lset_dup(lq *q, const cairn_label *ls, size_t n, val_lset *out)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += ls[i].name_len + ls[i].value_len + 2;
    cairn_label *d = arena_alloc(q->ar, n * sizeof *d + bytes);
    if (!d && (n || bytes)) return lq_oom(q);
    char *s = (char *)(d + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(s, ls[i].name, ls[i].name_len);
        s[ls[i].name_len] = 0;
        d[i].name = s;
        d[i].name_len = ls[i].name_len;
        s += ls[i].name_len + 1;
        memcpy(s, ls[i].value, ls[i].value_len);
        s[ls[i].value_len] = 0;
        d[i].value = s;
        d[i].value_len = ls[i].value_len;
        s += ls[i].value_len + 1;
    }
    out->v = d;
    out->n = n;
    return CAIRN_OK;
}

static int lq_names(lq *q, const ast_labels *l, const char ***names, size_t **lens)
{
    *names = arena_alloc(q->ar, (l->n ? l->n : 1) * sizeof **names);
    *lens = arena_alloc(q->ar, (l->n ? l->n : 1) * sizeof **lens);
    if (!*names || !*lens) return lq_oom(q);
    for (size_t i = 0; i < l->n; i++) {
        (*names)[i] = l->v[i].p;
        (*lens)[i] = l->v[i].len;
    }
    return CAIRN_OK;
}

/* ---- selectors --------------------------------------------------------------------------------- */

static int lq_matchers(lq *q, const ast_node *sel, cairn_matcher **out)
{
    size_t n = sel->u.log.n_m;
    cairn_matcher *m = arena_alloc(q->ar, (n ? n : 1) * sizeof *m);
    if (!m) return lq_oom(q);
    static const int ops[] = {CAIRN_MATCH_EQ, CAIRN_MATCH_NE, CAIRN_MATCH_RE, CAIRN_MATCH_NRE};
    for (size_t i = 0; i < n; i++) {
        const ast_matcher *a = &sel->u.log.m[i];
        m[i].op = ops[a->op];
        m[i].name = a->name.p;
        m[i].name_len = a->name.len;
        m[i].value = a->value.p;
        m[i].value_len = a->value.len;
    }
    *out = m;
    return CAIRN_OK;
}

/* A source stream: its labels (copied) and, for log queries, an open iterator. */
typedef struct lq_src {
    val_lset ls;
    uint64_t id;
    cairn_entries *it;
    /* the next surviving entry (log queries) */
    int has;
    int64_t t;
    const char *line;
    size_t len;
    int32_t out; /* result stream */
    uint32_t ord;
} lq_src;

static int lq_select(lq *q, const ast_node *sel, int64_t mint, int64_t maxt, lq_src **out, size_t *n_out)
{
    cairn_matcher *m = NULL;
    RETURN_IF_ERR(lq_matchers(q, sel, &m));
    cairn_series_set *ss = NULL;
    int rc = cairn_select(q->db, CAIRN_KIND_LOG, m, sel->u.log.n_m, mint, maxt, &ss, q->err);
    if (rc) return rc;
    size_t cnt = cairn_series_set_count(ss);
    lq_src *s = arena_calloc(q->ar, cnt ? cnt : 1, sizeof *s);
    if (!s) {
        cairn_series_set_close(ss);
        return lq_oom(q);
    }
    size_t k = 0;
    uint64_t id;
    const cairn_label *ls;
    size_t nl;
    while (k < cnt && cairn_series_set_next(ss, &id, &ls, &nl) == 1) {
        rc = lq_lset_dup(q, ls, nl, &s[k].ls);
        if (rc) break;
        s[k].id = id;
        s[k].ord = (uint32_t)k;
        k++;
    }
    cairn_series_set_close(ss);
    if (rc) return rc;
    q->st->streams_selected += k;
    *out = s;
    *n_out = k;
    return CAIRN_OK;
}

/* ---- result-stream / series lookup by label set ------------------------------------------------------ */

typedef struct lq_index {
    val_map map;
    val_lset *ls;  /* by index */
    uint8_t **org; /* by index: label origins (log queries), or NULL */
    size_t n, cap;
    int by_origin; /* categorised log queries: equal labels of different origins are different streams */
} lq_index;

static int lq_index_init(lq *q, lq_index *x)
{
    memset(x, 0, sizeof *x);
    if (val_map_init(&x->map, q->ar, 64)) return lq_oom(q);
    return CAIRN_OK;
}

static int lq_lset_eq_raw(val_lset a, const cairn_label *b, size_t n)
{
    if (a.n != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (a.v[i].name_len != b[i].name_len || a.v[i].value_len != b[i].value_len ||
            memcmp(a.v[i].name, b[i].name, b[i].name_len) || memcmp(a.v[i].value, b[i].value, b[i].value_len))
            return 0;
    return 1;
}

/*
 * Index of the label set (adding it when new: *added = 1). `org` (n bytes,
 * or NULL) are the labels' origins: kept with a new set, and part of the
 * key when x->by_origin.
 */
static int lq_index_get_org(lq *q, lq_index *x, const cairn_label *ls, size_t n, const uint8_t *org, int32_t *idx,
                            int *added)
{
    val_lset tmp = {ls, n};
    uint64_t h = val_lset_hash(tmp);
    int keyed = org && x->by_origin;
    if (keyed)
        for (size_t i = 0; i < n; i++) h = (h ^ (uint64_t)(org[i] + 1) * (i + 1)) * 0x100000001b3ULL;
    size_t cur = 0;
    int32_t i;
    *added = 0;
    while ((i = val_map_next(&x->map, h, &cur)) >= 0)
        if (lq_lset_eq_raw(x->ls[i], ls, n) && (!keyed || !memcmp(x->org[i], org, n))) {
            *idx = i;
            return CAIRN_OK;
        }
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 16;
        val_lset *nl = arena_alloc(q->ar, nc * sizeof *nl);
        uint8_t **no = arena_calloc(q->ar, nc, sizeof *no);
        if (!nl || !no) return lq_oom(q);
        if (x->n) memcpy(nl, x->ls, x->n * sizeof *nl);
        if (x->n && x->org) memcpy(no, x->org, x->n * sizeof *no);
        x->ls = nl;
        x->org = no;
        x->cap = nc;
    }
    if (org) {
        x->org[x->n] = arena_alloc(q->ar, n ? n : 1);
        if (!x->org[x->n]) return lq_oom(q);
        if (n) memcpy(x->org[x->n], org, n);
    }
    RETURN_IF_ERR(lq_lset_dup(q, ls, n, &x->ls[x->n]));
    if (val_map_put(&x->map, h, (int32_t)x->n)) return lq_oom(q);
    *idx = (int32_t)x->n++;
    *added = 1;
    return CAIRN_OK;
}

static int lq_index_get(lq *q, lq_index *x, const cairn_label *ls, size_t n, int32_t *idx, int *added)
{
    return lq_index_get_org(q, x, ls, n, NULL, idx, added);
}

/* ---- log queries ---------------------------------------------------------------------------------------- */

typedef struct lq_out_stream {
    leval_entry *e;
    size_t n, cap;
} lq_out_stream;

/* Advance source s to its next surviving entry (copying line into the arena). */
static int lq_src_next(lq *q, lpipe *p, lq_src *s, lq_index *x)
{
    s->has = 0;
    int rc = lpipe_stream(p, s->ls.v, s->ls.n);
    if (rc) return lq_oom(q);
    for (;;) {
        int64_t t;
        const char *line;
        size_t len, n_meta;
        const cairn_label *meta;
        rc = cairn_entries_next(s->it, &t, &line, &len, &meta, &n_meta);
        if (rc < 0) return err_set(q->err, rc, "reading log stream %s failed", val_lset_str(q->ar, s->ls));
        if (rc == 0) return CAIRN_OK;
        RETURN_IF_ERR(lq_scanned(q, len));
        rc = lpipe_run(p, t, line, len, meta, n_meta);
        if (rc < 0) return err_set(q->err, rc, "pipeline failed on an entry of %s", val_lset_str(q->ar, s->ls));
        if (rc == 0) continue;
        q->st->entries_kept++;
        const cairn_label *ls;
        size_t nl;
        if (lpipe_labels(p, &ls, &nl)) return lq_oom(q);
        int added;
        RETURN_IF_ERR(lq_index_get_org(q, x, ls, nl, lpipe_label_origins(p), &s->out, &added));
        size_t ol;
        const char *o = lpipe_line(p, &ol);
        s->line = arena_strdup(q->ar, o, ol);
        if (!s->line) return lq_oom(q);
        s->len = ol;
        s->t = t;
        s->has = 1;
        return CAIRN_OK;
    }
}

/* Heap order: backward = newest first; ties by source order. */
static int lq_before(const lq_src *a, const lq_src *b, int backward)
{
    if (a->t != b->t) return backward ? a->t > b->t : a->t < b->t;
    return a->ord < b->ord;
}

static void lq_sift_down(lq_src **h, size_t n, size_t i, int backward)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && lq_before(h[l], h[m], backward)) m = l;
        if (r < n && lq_before(h[r], h[m], backward)) m = r;
        if (m == i) return;
        lq_src *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int lq_cmp_streams(const void *a, const void *b)
{
    return val_lset_cmp(((const leval_stream *)a)->ls, ((const leval_stream *)b)->ls);
}

static int lq_log_query(lq *q, const ast_node *sel, int64_t start, int64_t end, uint32_t limit, int backward,
                        int categorize, leval_result *res)
{
    lq_src *src = NULL;
    size_t n_src = 0;
    lpipe *p = NULL;
    lq_index x;
    int rc;
    res->kind = LEVAL_STREAMS;
    if (end <= start) return CAIRN_OK;
    RETURN_IF_ERR(lq_index_init(q, &x));
    x.by_origin = categorize;
    RETURN_IF_ERR(lq_select(q, sel, start, end - 1, &src, &n_src));
    rc = lpipe_new(q->ar, sel->u.log.stages, sel->u.log.n_stages, NULL, &p, q->err);
    if (rc) return rc;
    cairn_line_filter f[LQ_MAX_PUSHDOWN];
    size_t nf = lpipe_pushdown(p, f, LQ_MAX_PUSHDOWN);
    lq_src **heap = arena_alloc(q->ar, (n_src ? n_src : 1) * sizeof *heap);
    lq_out_stream *os = NULL;
    size_t os_cap = 0, hn = 0, got = 0;
    if (!heap) {
        rc = lq_oom(q);
        goto out;
    }
    for (size_t i = 0; i < n_src; i++) {
        rc = cairn_entries_open(q->db, src[i].id, start, end - 1, backward ? CAIRN_BACKWARD : CAIRN_FORWARD, f, nf,
                                NULL, NULL, &src[i].it, q->err);
        if (rc == CAIRN_NOTFOUND) continue;
        if (rc) goto out;
        rc = lq_src_next(q, p, &src[i], &x);
        if (rc) goto out;
        if (src[i].has) heap[hn++] = &src[i];
    }
    for (size_t i = hn / 2; i-- > 0;) lq_sift_down(heap, hn, i, backward);
    while (hn > 0 && got < limit) {
        lq_src *s = heap[0];
        if ((size_t)s->out >= os_cap) {
            size_t nc = os_cap ? 2 * os_cap : 16;
            while (nc <= (size_t)s->out) nc *= 2;
            lq_out_stream *no = arena_calloc(q->ar, nc, sizeof *no);
            if (!no) {
                rc = lq_oom(q);
                goto out;
            }
            if (os_cap) memcpy(no, os, os_cap * sizeof *no);
            os = no;
            os_cap = nc;
        }
        lq_out_stream *o = &os[s->out];
        if (o->n == o->cap) {
            size_t nc = o->cap ? 2 * o->cap : 8;
            leval_entry *ne = arena_alloc(q->ar, nc * sizeof *ne);
            if (!ne) {
                rc = lq_oom(q);
                goto out;
            }
            if (o->n) memcpy(ne, o->e, o->n * sizeof *ne);
            o->e = ne;
            o->cap = nc;
        }
        o->e[o->n].t_ns = s->t;
        o->e[o->n].line = s->line;
        o->e[o->n].len = s->len;
        o->n++;
        got++;
        if (got == limit) break;
        rc = lq_src_next(q, p, s, &x);
        if (rc) goto out;
        if (!s->has) heap[0] = heap[--hn];
        lq_sift_down(heap, hn, 0, backward);
    }
    res->streams = arena_calloc(q->ar, x.n ? x.n : 1, sizeof *res->streams);
    if (!res->streams) {
        rc = lq_oom(q);
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < x.n && i < os_cap; i++) {
        if (!os[i].n) continue;
        res->streams[k].ls = x.ls[i];
        res->streams[k].origin = x.org[i];
        res->streams[k].e = os[i].e;
        res->streams[k].n = os[i].n;
        k++;
    }
    qsort(res->streams, k, sizeof *res->streams, lq_cmp_streams);
    res->n_streams = k;
    res->stats.entries_returned = got;
    rc = CAIRN_OK;
out:
    for (size_t i = 0; i < n_src; i++) cairn_entries_close(src[i].it);
    lpipe_free(p);
    return rc;
}

/* ---- range aggregations ------------------------------------------------------------------------------------ */

typedef enum {
    RF_COUNT, RF_RATE, RF_BYTES, RF_BYTES_RATE, RF_SUM, RF_AVG, RF_MIN, RF_MAX, RF_STDVAR, RF_STDDEV, RF_QUANTILE,
    RF_FIRST, RF_LAST, RF_ABSENT, RF_RATE_COUNTER
} rf_kind;

static int rf_lookup(const ast_str *op, rf_kind *k)
{
    static const struct {
        const char *n;
        rf_kind k;
    } t[] = {
        {"count_over_time", RF_COUNT},   {"rate", RF_RATE},           {"bytes_over_time", RF_BYTES},
        {"bytes_rate", RF_BYTES_RATE},   {"sum_over_time", RF_SUM},   {"avg_over_time", RF_AVG},
        {"min_over_time", RF_MIN},       {"max_over_time", RF_MAX},   {"stdvar_over_time", RF_STDVAR},
        {"stddev_over_time", RF_STDDEV}, {"quantile_over_time", RF_QUANTILE}, {"first_over_time", RF_FIRST},
        {"last_over_time", RF_LAST},     {"absent_over_time", RF_ABSENT}, {"rate_counter", RF_RATE_COUNTER},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].n) == op->len && !strncasecmp(t[i].n, op->p, op->len)) {
            *k = t[i].k;
            return 1;
        }
    return 0;
}

/* Grouping applied when samples are extracted. */
typedef struct lq_group {
    int active, without;
    const char **names;
    size_t *lens;
    size_t n;
} lq_group;

/* Samples of one series. */
typedef struct lq_ser {
    int64_t *t;
    double *v;
    size_t n, cap;
    int unsorted, has_err;
} lq_ser;

/* The sample arrays live in mem_, outside the arena, but count against the
 * query's budgets through arena_charge(): LogQL's cost is samples, not rows. */
static int lq_ser_push(arena *ar, lq_ser *s, int64_t t, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 4;
        if (arena_charge(ar, (nc - s->cap) * (sizeof *s->t + sizeof *s->v))) return CAIRN_ENOMEM;
        int64_t *nt = mem_realloc(s->t, s->cap * sizeof *nt, nc * sizeof *nt);
        if (!nt) {
            arena_uncharge(ar, (nc - s->cap) * (sizeof *s->t + sizeof *s->v));
            return CAIRN_ENOMEM;
        }
        s->t = nt;
        double *nv = mem_realloc(s->v, s->cap * sizeof *nv, nc * sizeof *nv);
        if (!nv) { /* t already grown: cap unchanged is still safe */
            arena_uncharge(ar, (nc - s->cap) * (sizeof *s->t + sizeof *s->v));
            return CAIRN_ENOMEM;
        }
        s->v = nv;
        s->cap = nc;
    }
    if (s->n && t < s->t[s->n - 1]) s->unsorted = 1;
    s->t[s->n] = t;
    s->v[s->n] = v;
    s->n++;
    return CAIRN_OK;
}

static void lq_ser_free(arena *ar, lq_ser *s)
{
    arena_uncharge(ar, s->cap * (sizeof *s->t + sizeof *s->v));
    mem_free(s->t, s->cap * sizeof *s->t);
    mem_free(s->v, s->cap * sizeof *s->v);
}

/* Sort a series' samples by time (stable: samples from one stream keep their order). */
static int lq_ser_sort(lq_ser *s)
{
    if (!s->unsorted) return CAIRN_OK;
    size_t n = s->n;
    int64_t *t2 = mem_alloc(n * sizeof *t2);
    double *v2 = mem_alloc(n * sizeof *v2);
    if (!t2 || !v2) {
        mem_free(t2, n * sizeof *t2);
        mem_free(v2, n * sizeof *v2);
        return CAIRN_ENOMEM;
    }
    /* bottom-up merge sort */
    int64_t *ta = s->t, *tb = t2;
    double *va = s->v, *vb = v2;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (ta[j] < ta[i]) tb[k] = ta[j], vb[k++] = va[j++];
                else tb[k] = ta[i], vb[k++] = va[i++];
            }
            while (i < mid) tb[k] = ta[i], vb[k++] = va[i++];
            while (j < hi) tb[k] = ta[j], vb[k++] = va[j++];
        }
        int64_t *tt = ta;
        ta = tb;
        tb = tt;
        double *vv = va;
        va = vb;
        vb = vv;
    }
    if (ta != s->t) {
        memcpy(s->t, ta, n * sizeof *ta);
        memcpy(s->v, va, n * sizeof *va);
    }
    mem_free(t2, n * sizeof *t2);
    mem_free(v2, n * sizeof *v2);
    s->unsorted = 0;
    return CAIRN_OK;
}

static int lq_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x)) return isnan(y) ? 0 : -1;
    if (isnan(y)) return 1;
    return (x > y) - (x < y);
}

/* Prometheus' extrapolated counter rate over the window's samples. */
static double lq_rate_counter(const int64_t *t, const double *v, size_t n, int64_t wstart, int64_t wend, double range_s)
{
    if (n < 2) return val_absent_value();
    double result = v[n - 1] - v[0];
    for (size_t i = 1; i < n; i++)
        if (v[i] < v[i - 1]) result += v[i - 1];
    double dur_start = (double)(t[0] - wstart) / 1e9, dur_end = (double)(wend - t[n - 1]) / 1e9;
    double sampled = (double)(t[n - 1] - t[0]) / 1e9, avg_int = sampled / (double)(n - 1);
    if (result > 0 && v[0] >= 0) {
        double dz = sampled * (v[0] / result);
        if (dz < dur_start) dur_start = dz;
    }
    double thr = avg_int * 1.1, ext = sampled;
    ext += dur_start < thr ? dur_start : avg_int / 2;
    ext += dur_end < thr ? dur_end : avg_int / 2;
    result = result * (ext / sampled);
    return result / range_s;
}

static double lq_window_value(rf_kind k, const int64_t *t, const double *v, size_t n, double range_s, double qv,
                              double *scratch, int64_t wstart, int64_t wend)
{
    switch (k) {
    case RF_COUNT: return (double)n;
    case RF_RATE: case RF_BYTES_RATE: case RF_BYTES: case RF_SUM: {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += v[i];
        return (k == RF_RATE || k == RF_BYTES_RATE) ? s / range_s : s;
    }
    case RF_AVG: {
        double mean = 0, cnt = 0;
        for (size_t i = 0; i < n; i++) {
            cnt++;
            if (isinf(mean)) {
                if (isinf(v[i]) && (mean > 0) == (v[i] > 0)) continue;
                if (!isinf(v[i]) && !isnan(v[i])) continue;
            }
            mean += v[i] / cnt - mean / cnt;
        }
        return mean;
    }
    case RF_MIN: case RF_MAX: {
        double m = v[0];
        for (size_t i = 1; i < n; i++)
            if ((k == RF_MAX ? v[i] > m : v[i] < m) || isnan(m)) m = v[i];
        return m;
    }
    case RF_STDVAR: case RF_STDDEV: {
        double aux = 0, cnt = 0, mean = 0;
        for (size_t i = 0; i < n; i++) {
            cnt++;
            double d = v[i] - mean;
            mean += d / cnt;
            aux += d * (v[i] - mean);
        }
        return k == RF_STDDEV ? sqrt(aux / cnt) : aux / cnt;
    }
    case RF_QUANTILE: {
        if (isnan(qv)) return NAN;
        if (qv < 0) return -INFINITY;
        if (qv > 1) return INFINITY;
        memcpy(scratch, v, n * sizeof *v);
        qsort(scratch, n, sizeof *scratch, lq_dbl_cmp);
        double rank = qv * (double)(n - 1);
        double lo = floor(rank);
        size_t l = lo < 0 ? 0 : (size_t)lo;
        size_t u = l + 1 < n ? l + 1 : n - 1;
        double w = rank - lo;
        return scratch[l] * (1 - w) + scratch[u] * w;
    }
    case RF_FIRST: return v[0];
    case RF_LAST: return v[n - 1];
    case RF_RATE_COUNTER: return lq_rate_counter(t, v, n, wstart, wend, range_s);
    default: return val_absent_value();
    }
}

/* Names every stage of the pipeline reads, for parser hints. */
static int lq_hint_add(lq *q, ast_str **v, size_t *n, size_t *cap, const char *s, size_t len)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].len == len && !memcmp((*v)[i].p, s, len)) return CAIRN_OK;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        ast_str *nv = arena_alloc(q->ar, nc * sizeof *nv);
        if (!nv) return lq_oom(q);
        if (*n) memcpy(nv, *v, *n * sizeof *nv);
        *v = nv;
        *cap = nc;
    }
    (*v)[*n].p = s;
    (*v)[*n].len = len;
    (*n)++;
    return CAIRN_OK;
}

static int lq_hint_lf(lq *q, const ast_lf *f, ast_str **v, size_t *n, size_t *cap)
{
    if (!f) return CAIRN_OK;
    switch (f->kind) {
    case AST_LFK_AND: case AST_LFK_OR:
        RETURN_IF_ERR(lq_hint_lf(q, f->lhs, v, n, cap));
        return lq_hint_lf(q, f->rhs, v, n, cap);
    case AST_LFK_PAREN: return lq_hint_lf(q, f->lhs, v, n, cap);
    case AST_LFK_STRING: return lq_hint_add(q, v, n, cap, f->m.name.p, f->m.name.len);
    default: return lq_hint_add(q, v, n, cap, f->name.p, f->name.len);
    }
}

/* Template fields: `.name` references. A crude scan is enough for hints: it may over-include. */
static int lq_hint_tmpl(lq *q, const ast_str *t, ast_str **v, size_t *n, size_t *cap)
{
    for (size_t i = 0; i + 1 < t->len; i++) {
        if (t->p[i] != '.') continue;
        size_t b = i + 1, e = b;
        while (e < t->len && (isalnum((unsigned char)t->p[e]) || t->p[e] == '_')) e++;
        if (e > b) RETURN_IF_ERR(lq_hint_add(q, v, n, cap, t->p + b, e - b));
    }
    return CAIRN_OK;
}

static int lq_hints(lq *q, const ast_node *sel, const lq_group *g, lpipe_hints *h)
{
    memset(h, 0, sizeof *h);
    if (!g->active || g->without) return CAIRN_OK;
    ast_str *v = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < g->n; i++) RETURN_IF_ERR(lq_hint_add(q, &v, &n, &cap, g->names[i], g->lens[i]));
    for (size_t i = 0; i < sel->u.log.n_stages; i++) {
        const ast_stage *st = &sel->u.log.stages[i];
        switch (st->kind) {
        case AST_ST_LABEL_FILTER: RETURN_IF_ERR(lq_hint_lf(q, st->filter, &v, &n, &cap)); break;
        case AST_ST_UNWRAP: RETURN_IF_ERR(lq_hint_add(q, &v, &n, &cap, st->unwrap_label.p, st->unwrap_label.len)); break;
        case AST_ST_LINE_FORMAT: RETURN_IF_ERR(lq_hint_tmpl(q, &st->strs[0], &v, &n, &cap)); break;
        case AST_ST_LABEL_FORMAT: case AST_ST_DROP: case AST_ST_KEEP:
            for (size_t j = 0; j < st->n_kvs; j++) {
                const ast_kv *kv = &st->kvs[j];
                RETURN_IF_ERR(lq_hint_add(q, &v, &n, &cap, kv->name.p, kv->name.len));
                if (st->kind == AST_ST_LABEL_FORMAT && kv->value_is_name)
                    RETURN_IF_ERR(lq_hint_add(q, &v, &n, &cap, kv->value.p, kv->value.len));
                else if (st->kind == AST_ST_LABEL_FORMAT) RETURN_IF_ERR(lq_hint_tmpl(q, &kv->value, &v, &n, &cap));
            }
            break;
        default: break;
        }
    }
    h->restrict_labels = 1;
    h->names = v;
    h->n_names = n;
    return CAIRN_OK;
}

/* The labels of absent_over_time's output: the selector's `=` matchers
 * whose names have no other matcher. */
static int lq_absent_labels(lq *q, const ast_node *sel, val_lset *out)
{
    size_t n = sel->u.log.n_m, k = 0;
    cairn_label *ls = arena_alloc(q->ar, (n ? n : 1) * sizeof *ls);
    if (!ls) return lq_oom(q);
    for (size_t i = 0; i < n; i++) {
        const ast_matcher *m = &sel->u.log.m[i];
        if (m->op != AST_MATCH_EQ) continue;
        int other = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && sel->u.log.m[j].name.len == m->name.len && !memcmp(sel->u.log.m[j].name.p, m->name.p, m->name.len))
                other = 1;
        if (other) continue;
        int dup = 0;
        for (size_t j = 0; j < k; j++)
            if (ls[j].name_len == m->name.len && !memcmp(ls[j].name, m->name.p, m->name.len)) dup = 1;
        if (dup) continue;
        ls[k].name = m->name.p;
        ls[k].name_len = m->name.len;
        ls[k].value = m->value.p;
        ls[k].value_len = m->value.len;
        k++;
    }
    return val_lset_copy(q->ar, ls, k, out) ? lq_oom(q) : CAIRN_OK;
}

static int lq_scalar_const(lq *q, const ast_node *n, double *v);

/* Evaluate a range aggregation; `push` is an outer sum's grouping pushed down (or NULL). */
static int lq_range_agg(lq *q, const ast_node *node, const lq_group *push, val *out)
{
    const ast_node *rng = node->u.lagg.range, *sel = rng->u.lrange.log;
    rf_kind k;
    if (!rf_lookup(&node->u.lagg.op, &k))
        return err_set(q->err, CAIRN_EINVAL, "unsupported range aggregation %.*s", (int)node->u.lagg.op.len,
                       node->u.lagg.op.p);
    double qv = 0;
    if (k == RF_QUANTILE) RETURN_IF_ERR(lq_scalar_const(q, node->u.lagg.param, &qv));
    int64_t range = rng->u.lrange.range_ms * 1000000, off = rng->u.lrange.offset_ms * 1000000;
    double range_s = (double)rng->u.lrange.range_ms / 1000.0;
    int64_t first_end = q->start - off, last_end = lq_t(q, q->n - 1) - off;
    int64_t mint = first_end - range + 1, maxt = last_end;

    lq_group g;
    memset(&g, 0, sizeof g);
    if (node->u.lagg.has_grouping) {
        g.active = 1;
        g.without = node->u.lagg.without;
        RETURN_IF_ERR(lq_names(q, &node->u.lagg.grouping, &g.names, &g.lens));
        g.n = node->u.lagg.grouping.n;
    } else if (push) {
        g = *push;
    }
    if (k == RF_ABSENT) { /* no labels needed at all */
        memset(&g, 0, sizeof g);
        g.active = 1;
    }
    lpipe_hints hints;
    RETURN_IF_ERR(lq_hints(q, sel, &g, &hints));

    lq_src *src = NULL;
    size_t n_src = 0;
    lpipe *p = NULL;
    lq_index x;
    lq_ser *ser = NULL;
    size_t ser_cap = 0;
    double *scratch = NULL;
    size_t scratch_n = 0;
    cairn_label *gl = NULL;
    size_t gl_cap = 0;
    int rc;
    RETURN_IF_ERR(lq_index_init(q, &x));
    RETURN_IF_ERR(lq_select(q, sel, mint, maxt, &src, &n_src));
    rc = lpipe_new(q->ar, sel->u.log.stages, sel->u.log.n_stages, hints.restrict_labels ? &hints : NULL, &p, q->err);
    if (rc) return rc;
    cairn_line_filter f[LQ_MAX_PUSHDOWN];
    size_t nf = lpipe_pushdown(p, f, LQ_MAX_PUSHDOWN);
    ast_str unwrap_label = {NULL, 0};
    int unwraps = lpipe_unwraps(p, &unwrap_label);

    for (size_t si = 0; si < n_src; si++) {
        cairn_entries *it = NULL;
        rc = cairn_entries_open(q->db, src[si].id, mint, maxt, CAIRN_FORWARD, f, nf, NULL, NULL, &it, q->err);
        if (rc == CAIRN_NOTFOUND) continue;
        if (rc) goto out;
        if (lpipe_stream(p, src[si].ls.v, src[si].ls.n)) {
            cairn_entries_close(it);
            rc = lq_oom(q);
            goto out;
        }
        for (;;) {
            int64_t t;
            const char *line;
            size_t len, n_meta;
            const cairn_label *meta;
            rc = cairn_entries_next(it, &t, &line, &len, &meta, &n_meta);
            if (rc <= 0) {
                if (rc < 0) err_set(q->err, rc, "reading log stream %s failed", val_lset_str(q->ar, src[si].ls));
                break;
            }
            rc = lq_scanned(q, len);
            if (rc) break;
            rc = lpipe_run(p, t, line, len, meta, n_meta);
            if (rc < 0) {
                err_set(q->err, rc, "pipeline failed on an entry of %s", val_lset_str(q->ar, src[si].ls));
                break;
            }
            if (rc == 0) continue;
            q->st->entries_kept++;
            double v = 1;
            if (unwraps) {
                int has;
                v = lpipe_unwrap_value(p, &has);
                if (!has) continue;
            } else if (k == RF_BYTES || k == RF_BYTES_RATE) {
                size_t ol;
                (void)lpipe_line(p, &ol);
                v = (double)ol;
            }
            const cairn_label *ls;
            size_t nl;
            if (lpipe_labels(p, &ls, &nl)) {
                rc = lq_oom(q);
                break;
            }
            size_t elen;
            int preserved;
            (void)lpipe_error(p, &elen, &preserved);
            int has_err = elen > 0 && !preserved;
            /* series labels: minus the unwrapped label; grouped unless an error is present */
            if (gl_cap < nl + 1) {
                size_t nc = gl_cap ? gl_cap : 32;
                while (nc < nl + 1) nc *= 2;
                cairn_label *ng = mem_realloc(gl, gl_cap * sizeof *ng, nc * sizeof *ng);
                if (!ng) {
                    rc = lq_oom(q);
                    break;
                }
                gl = ng;
                gl_cap = nc;
            }
            size_t gn = 0;
            for (size_t i = 0; i < nl; i++) {
                if (unwraps && ls[i].name_len == unwrap_label.len && !memcmp(ls[i].name, unwrap_label.p, unwrap_label.len))
                    continue;
                if (g.active && !has_err) {
                    int listed = 0;
                    for (size_t j = 0; j < g.n && !listed; j++)
                        listed = g.lens[j] == ls[i].name_len && !memcmp(g.names[j], ls[i].name, g.lens[j]);
                    if (listed == g.without) continue;
                }
                gl[gn++] = ls[i];
            }
            int32_t idx;
            int added;
            rc = lq_index_get(q, &x, gl, gn, &idx, &added);
            if (rc) break;
            if (added) {
                if (q->direct && (q->instant || range >= q->step) && q->o.max_series && x.n > q->o.max_series) {
                    /* every series will have a point: fail now, not after the scan */
                    rc = err_set(q->err, CAIRN_ELIMIT,
                                 "maximum number of series (%llu) reached for a single query; consider reducing query "
                                 "cardinality by adding more filters or by using a more specific query",
                                 (unsigned long long)q->o.max_series);
                    break;
                }
                if (q->o.max_inner_series && x.n > q->o.max_inner_series) {
                    rc = err_set(q->err, CAIRN_ELIMIT,
                                 "maximum number of series (%llu) reached while extracting samples; group with by (…) or add filters",
                                 (unsigned long long)q->o.max_inner_series);
                    break;
                }
                if ((size_t)idx >= ser_cap) {
                    size_t nc = ser_cap ? 2 * ser_cap : 16;
                    lq_ser *ns = mem_realloc(ser, ser_cap * sizeof *ns, nc * sizeof *ns);
                    if (!ns) {
                        rc = lq_oom(q);
                        break;
                    }
                    memset(ns + ser_cap, 0, (nc - ser_cap) * sizeof *ns);
                    ser = ns;
                    ser_cap = nc;
                }
            }
            if (has_err) ser[idx].has_err = 1;
            if (lq_ser_push(q->ar, &ser[idx], t, v)) {
                rc = lq_oom(q);
                break;
            }
        }
        cairn_entries_close(it);
        if (rc) goto out;
    }

    /* slide the windows */
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t row_cap = 0;
    if (k == RF_ABSENT) {
        double *vals = lq_absent(q);
        size_t *lo = mem_calloc(x.n ? x.n : 1, sizeof *lo), *hi = mem_calloc(x.n ? x.n : 1, sizeof *hi);
        if (!vals || !lo || !hi) {
            mem_free(lo, (x.n ? x.n : 1) * sizeof *lo);
            mem_free(hi, (x.n ? x.n : 1) * sizeof *hi);
            rc = lq_oom(q);
            goto out;
        }
        for (size_t i = 0; i < x.n; i++) rc = rc ? rc : lq_ser_sort(&ser[i]);
        int any_step = 0;
        for (size_t s = 0; s < q->n && !rc; s++) {
            int64_t we = lq_t(q, s) - off, ws = we - range;
            size_t total = 0;
            for (size_t i = 0; i < x.n; i++) {
                lq_ser *sr = &ser[i];
                while (hi[i] < sr->n && sr->t[hi[i]] <= we) hi[i]++;
                while (lo[i] < hi[i] && sr->t[lo[i]] <= ws) lo[i]++;
                total += hi[i] - lo[i];
            }
            if (!total) {
                vals[s] = 1;
                any_step = 1;
            }
        }
        mem_free(lo, (x.n ? x.n : 1) * sizeof *lo);
        mem_free(hi, (x.n ? x.n : 1) * sizeof *hi);
        if (rc) {
            rc = lq_oom(q);
            goto out;
        }
        if (any_step) {
            val_lset ls;
            rc = lq_absent_labels(q, sel, &ls);
            if (!rc) rc = lq_push_row(q, out, &row_cap, ls, vals);
        }
        goto out;
    }
    for (size_t i = 0; i < x.n; i++) {
        lq_ser *sr = &ser[i];
        if (lq_ser_sort(sr)) {
            rc = lq_oom(q);
            goto out;
        }
        if (k == RF_QUANTILE && sr->n > scratch_n) {
            mem_free(scratch, scratch_n * sizeof *scratch);
            scratch_n = sr->n;
            scratch = mem_alloc(scratch_n * sizeof *scratch);
            if (!scratch) {
                scratch_n = 0;
                rc = lq_oom(q);
                goto out;
            }
        }
        double *vals = NULL;
        size_t lo = 0, hi = 0;
        for (size_t s = 0; s < q->n; s++) {
            int64_t we = lq_t(q, s) - off, ws = we - range;
            while (hi < sr->n && sr->t[hi] <= we) hi++;
            while (lo < hi && sr->t[lo] <= ws) lo++;
            if (hi == lo) continue;
            if (sr->has_err) {
                const char *e = val_lset_get(x.ls[i], "__error__", 9, NULL);
                rc = err_set(q->err, CAIRN_EINVAL,
                             "pipeline error: '%s' for series: '%s'. Use a label filter to intercept this error, or "
                             "use the \"| __error__=\\\"\\\"\" syntax to filter them out",
                             e ? e : "", val_lset_str(q->ar, x.ls[i]));
                goto out;
            }
            if (!vals && !(vals = lq_absent(q))) {
                rc = CAIRN_ENOMEM;
                goto out;
            }
            vals[s] = lq_window_value(k, sr->t + lo, sr->v + lo, hi - lo, range_s, qv, scratch, ws, we);
        }
        if (vals && !(k == RF_RATE_COUNTER && 0)) {
            rc = lq_push_row(q, out, &row_cap, x.ls[i], vals);
            if (rc) goto out;
        }
        /* one clock read per series: each costs up to q->n windows */
        if ((rc = lq_check_time(q))) goto out;
    }
    rc = CAIRN_OK;
out:
    for (size_t i = 0; i < x.n && i < ser_cap; i++) lq_ser_free(q->ar, &ser[i]);
    mem_free(ser, ser_cap * sizeof *ser);
    mem_free(scratch, scratch_n * sizeof *scratch);
    mem_free(gl, gl_cap * sizeof *gl);
    lpipe_free(p);
    return rc;
}

/* ---- scalars ------------------------------------------------------------------------------------------------ */

static int lq_node(lq *q, const ast_node *n, const lq_group *push, val *out);

/* A parameter that must be the same at every step (topk's k, quantile's q). */
static int lq_scalar_const(lq *q, const ast_node *n, double *v)
{
    val x;
    memset(&x, 0, sizeof x);
    RETURN_IF_ERR(lq_node(q, n, NULL, &x));
    if (x.type != VAL_SCALAR) return err_set(q->err, CAIRN_EINVAL, "expected a scalar parameter");
    *v = x.scalar[0];
    return CAIRN_OK;
}

/* ---- binary operators ------------------------------------------------------------------------------------------ */

static double lq_binop(ast_binop op, double a, double b, int *keep)
{
    *keep = 1;
    switch (op) {
    case AST_OP_ADD: return a + b;
    case AST_OP_SUB: return a - b;
    case AST_OP_MUL: return a * b;
    case AST_OP_DIV: return b == 0 ? NAN : a / b;
    case AST_OP_MOD: return b == 0 ? NAN : fmod(a, b);
    case AST_OP_POW: return pow(a, b);
    case AST_OP_ATAN2: return atan2(a, b);
    case AST_OP_EQLC: *keep = a == b; return *keep;
    case AST_OP_NEQ: *keep = a != b; return *keep;
    case AST_OP_GTR: *keep = a > b; return *keep;
    case AST_OP_LSS: *keep = a < b; return *keep;
    case AST_OP_GTE: *keep = a >= b; return *keep;
    case AST_OP_LTE: *keep = a <= b; return *keep;
    default: return NAN;
    }
}

/* Signature of a row for matching: labels chosen by on/ignoring. */
typedef struct lq_sig {
    const char **names;
    size_t *lens;
    size_t n;
    int keep; /* 1: on (keep listed), 0: ignoring / full set (drop listed) */
} lq_sig;

static int lq_sig_init(lq *q, const ast_node *b, lq_sig *s)
{
    memset(s, 0, sizeof s[0]);
    if (!b->u.bin.has_matching) return CAIRN_OK;
    RETURN_IF_ERR(lq_names(q, &b->u.bin.matching, &s->names, &s->lens));
    s->n = b->u.bin.matching.n;
    s->keep = b->u.bin.on;
    return CAIRN_OK;
}

static uint64_t lq_sig_hash(const lq_sig *s, val_lset ls) { return val_lset_hash_filter(ls, s->names, s->lens, s->n, s->keep); }
static int lq_sig_eq(const lq_sig *s, val_lset a, val_lset b) { return val_lset_eq_filter(a, b, s->names, s->lens, s->n, s->keep); }

static int lq_set_op(lq *q, const ast_node *b, val *l, val *r, val *out)
{
    lq_sig sig;
    RETURN_IF_ERR(lq_sig_init(q, b, &sig));
    ast_binop op = b->u.bin.op;
    val_map m;
    if (val_map_init(&m, q->ar, r->n + 1)) return lq_oom(q);
    for (size_t i = 0; i < r->n; i++)
        if (val_map_put(&m, lq_sig_hash(&sig, r->s[i].ls), (int32_t)i)) return lq_oom(q);
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t cap = 0;
    /* per step: is there a right row with this signature present? */
    for (size_t i = 0; i < l->n; i++) {
        double *vals = lq_absent(q);
        if (!vals) return CAIRN_ENOMEM;
        uint64_t h = lq_sig_hash(&sig, l->s[i].ls);
        int any = 0;
        for (size_t s = 0; s < q->n; s++) {
            if (val_absent(l->s[i].v[s])) continue;
            int match = 0;
            size_t cur = 0;
            int32_t j;
            while (!match && (j = val_map_next(&m, h, &cur)) >= 0)
                match = !val_absent(r->s[j].v[s]) && lq_sig_eq(&sig, l->s[i].ls, r->s[j].ls);
            if (op == AST_OP_AND ? match : op == AST_OP_UNLESS ? !match : 1) {
                vals[s] = l->s[i].v[s];
                any = 1;
            }
        }
        if (any) RETURN_IF_ERR(lq_push_row(q, out, &cap, l->s[i].ls, vals));
    }
    if (op != AST_OP_OR) return CAIRN_OK;
    val_map lm;
    if (val_map_init(&lm, q->ar, l->n + 1)) return lq_oom(q);
    for (size_t i = 0; i < l->n; i++)
        if (val_map_put(&lm, lq_sig_hash(&sig, l->s[i].ls), (int32_t)i)) return lq_oom(q);
    for (size_t j = 0; j < r->n; j++) {
        double *vals = lq_absent(q);
        if (!vals) return CAIRN_ENOMEM;
        uint64_t h = lq_sig_hash(&sig, r->s[j].ls);
        int any = 0;
        for (size_t s = 0; s < q->n; s++) {
            if (val_absent(r->s[j].v[s])) continue;
            int match = 0;
            size_t cur = 0;
            int32_t i;
            while (!match && (i = val_map_next(&lm, h, &cur)) >= 0)
                match = !val_absent(l->s[i].v[s]) && lq_sig_eq(&sig, l->s[i].ls, r->s[j].ls);
            if (!match) {
                vals[s] = r->s[j].v[s];
                any = 1;
            }
        }
        if (any) RETURN_IF_ERR(lq_push_row(q, out, &cap, r->s[j].ls, vals));
    }
    return CAIRN_OK;
}

/* Result labels of a vector/vector match. */
static int lq_result_labels(lq *q, const ast_node *b, const lq_sig *sig, val_lset many, val_lset one, val_lset *out)
{
    if (b->u.bin.card == AST_CARD_ONE_TO_ONE) {
        if (!b->u.bin.has_matching) {
            *out = many;
            return CAIRN_OK;
        }
        return val_lset_filter(q->ar, many, sig->names, sig->lens, sig->n, sig->keep, out) ? lq_oom(q) : CAIRN_OK;
    }
    val_lset r = many;
    for (size_t i = 0; i < b->u.bin.include.n; i++) {
        const ast_str *nm = &b->u.bin.include.v[i];
        size_t vl = 0;
        const char *v = val_lset_get(one, nm->p, nm->len, &vl);
        if (val_lset_set(q->ar, r, nm->p, nm->len, v ? v : "", v ? vl : 0, &r)) return lq_oom(q);
    }
    *out = r;
    return CAIRN_OK;
}

static int lq_vector_binop(lq *q, const ast_node *b, val *l, val *r, val *out)
{
    lq_sig sig;
    RETURN_IF_ERR(lq_sig_init(q, b, &sig));
    ast_binop op = b->u.bin.op;
    int cmp = ast_binop_is_comparison(op), ret_bool = b->u.bin.return_bool;
    int right_many = b->u.bin.card == AST_CARD_ONE_TO_MANY;
    val *many = right_many ? r : l, *one = right_many ? l : r;
    val_map m;
    if (val_map_init(&m, q->ar, one->n + 1)) return lq_oom(q);
    for (size_t i = 0; i < one->n; i++)
        if (val_map_put(&m, lq_sig_hash(&sig, one->s[i].ls), (int32_t)i)) return lq_oom(q);
    /* the "one" side must be unique per signature and step */
    for (size_t i = 0; i < one->n; i++) {
        size_t cur = 0;
        int32_t j;
        uint64_t h = lq_sig_hash(&sig, one->s[i].ls);
        while ((j = val_map_next(&m, h, &cur)) >= 0) {
            if ((size_t)j <= i || !lq_sig_eq(&sig, one->s[i].ls, one->s[j].ls)) continue;
            for (size_t s = 0; s < q->n; s++)
                if (!val_absent(one->s[i].v[s]) && !val_absent(one->s[j].v[s]))
                    return err_set(q->err, CAIRN_EINVAL,
                                   "found duplicate series for the match group %s on the %s hand-side of the operation: "
                                   "[%s, %s]; many-to-many matching not allowed: matching labels must be unique on one side",
                                   val_lset_str(q->ar, one->s[i].ls), right_many ? "left" : "right",
                                   val_lset_str(q->ar, one->s[i].ls), val_lset_str(q->ar, one->s[j].ls));
        }
    }
    lq_index x;
    RETURN_IF_ERR(lq_index_init(q, &x));
    double **rows = NULL;
    size_t rows_cap = 0;
    for (size_t i = 0; i < many->n; i++) {
        uint64_t h = lq_sig_hash(&sig, many->s[i].ls);
        size_t cur = 0;
        int32_t j;
        while ((j = val_map_next(&m, h, &cur)) >= 0) {
            if (!lq_sig_eq(&sig, many->s[i].ls, one->s[j].ls)) continue;
            val_lset rl;
            RETURN_IF_ERR(lq_result_labels(q, b, &sig, many->s[i].ls, one->s[j].ls, &rl));
            int32_t idx = -1;
            for (size_t s = 0; s < q->n; s++) {
                double mv = many->s[i].v[s], ov = one->s[j].v[s];
                if (val_absent(mv) || val_absent(ov)) continue;
                double lv = right_many ? ov : mv, rv = right_many ? mv : ov;
                int keep;
                double res = lq_binop(op, lv, rv, &keep);
                if (cmp && !ret_bool) {
                    if (!keep) continue;
                    res = lv;
                } else if (cmp) {
                    res = keep ? 1 : 0;
                }
                if (idx < 0) {
                    int added;
                    RETURN_IF_ERR(lq_index_get(q, &x, rl.v, rl.n, &idx, &added));
                    if ((size_t)idx >= rows_cap) {
                        size_t nc = rows_cap ? 2 * rows_cap : 16;
                        double **nr = arena_calloc(q->ar, nc, sizeof *nr);
                        if (!nr) return lq_oom(q);
                        if (rows_cap) memcpy(nr, rows, rows_cap * sizeof *nr);
                        rows = nr;
                        rows_cap = nc;
                    }
                    if (!rows[idx] && !(rows[idx] = lq_absent(q))) return CAIRN_ENOMEM;
                }
                if (!val_absent(rows[idx][s]))
                    return err_set(q->err, CAIRN_EINVAL,
                                   "multiple matches for labels %s: many-to-one matching must be explicit (group_left/group_right)",
                                   val_lset_str(q->ar, rl));
                rows[idx][s] = res;
            }
        }
    }
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t cap = 0;
    for (size_t i = 0; i < x.n; i++)
        if (rows[i]) RETURN_IF_ERR(lq_push_row(q, out, &cap, x.ls[i], rows[i]));
    return CAIRN_OK;
}

static int lq_binary(lq *q, const ast_node *b, val *out)
{
    val l, r;
    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    RETURN_IF_ERR(lq_node(q, b->u.bin.lhs, NULL, &l));
    RETURN_IF_ERR(lq_node(q, b->u.bin.rhs, NULL, &r));
    ast_binop op = b->u.bin.op;
    int cmp = ast_binop_is_comparison(op), ret_bool = b->u.bin.return_bool;
    if (ast_binop_is_set(op)) {
        if (l.type != VAL_VECTOR || r.type != VAL_VECTOR)
            return err_set(q->err, CAIRN_EINVAL, "set operator %s needs vectors on both sides", ast_binop_name(op));
        return lq_set_op(q, b, &l, &r, out);
    }
    if (l.type == VAL_SCALAR && r.type == VAL_SCALAR) {
        out->type = VAL_SCALAR;
        out->n_steps = q->n;
        out->scalar = arena_alloc(q->ar, q->n * sizeof *out->scalar);
        if (!out->scalar) return lq_oom(q);
        for (size_t s = 0; s < q->n; s++) {
            int keep;
            double v = lq_binop(op, l.scalar[s], r.scalar[s], &keep);
            out->scalar[s] = cmp ? (keep ? 1 : 0) : v;
        }
        return CAIRN_OK;
    }
    if (l.type == VAL_VECTOR && r.type == VAL_VECTOR) return lq_vector_binop(q, b, &l, &r, out);
    int vec_left = l.type == VAL_VECTOR;
    val *vec = vec_left ? &l : &r, *sc = vec_left ? &r : &l;
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t cap = 0;
    for (size_t i = 0; i < vec->n; i++) {
        double *vals = lq_absent(q);
        if (!vals) return CAIRN_ENOMEM;
        int any = 0;
        for (size_t s = 0; s < q->n; s++) {
            double vv = vec->s[i].v[s];
            if (val_absent(vv)) continue;
            double lv = vec_left ? vv : sc->scalar[s], rv = vec_left ? sc->scalar[s] : vv;
            int keep;
            double res = lq_binop(op, lv, rv, &keep);
            if (cmp && !ret_bool) {
                if (!keep) continue;
                res = vv;
            } else if (cmp) {
                res = keep ? 1 : 0;
            }
            vals[s] = res;
            any = 1;
        }
        if (any) RETURN_IF_ERR(lq_push_row(q, out, &cap, vec->s[i].ls, vals));
    }
    return CAIRN_OK;
}

/* ---- vector aggregations ------------------------------------------------------------------------------------- */

typedef struct lq_topk_item {
    double v;
    size_t row;
} lq_topk_item;

static int lq_topk_cmp_desc(const void *a, const void *b)
{
    const lq_topk_item *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v)) return isnan(x->v) ? 1 : -1;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int lq_topk_cmp_asc(const void *a, const void *b)
{
    const lq_topk_item *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v)) return isnan(x->v) ? 1 : -1;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int lq_can_push(const ast_node *inner)
{
    if (inner->kind != AST_LOG_AGG || inner->u.lagg.has_grouping) return 0;
    rf_kind k;
    if (!rf_lookup(&inner->u.lagg.op, &k)) return 0;
    return k == RF_COUNT || k == RF_RATE || k == RF_BYTES || k == RF_BYTES_RATE || k == RF_SUM;
}

static int lq_aggregate(lq *q, const ast_node *a, val *out)
{
    const char *op = a->u.agg.op.p;
    lq_group g;
    memset(&g, 0, sizeof g);
    g.active = 1;
    g.without = a->u.agg.without;
    RETURN_IF_ERR(lq_names(q, &a->u.agg.grouping, &g.names, &g.lens));
    g.n = a->u.agg.grouping.n;
    val in;
    memset(&in, 0, sizeof in);
    int push = !strcmp(op, "sum") && lq_can_push(a->u.agg.expr);
    RETURN_IF_ERR(lq_node(q, a->u.agg.expr, push ? &g : NULL, &in));
    if (in.type != VAL_VECTOR) return err_set(q->err, CAIRN_EINVAL, "aggregation %s needs a vector", op);
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t cap = 0;

    if (!strcmp(op, "sort") || !strcmp(op, "sort_desc")) {
        *out = in;
        if (q->n == 1) {
            lq_topk_item *it = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *it);
            val_series *rows = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *rows);
            if (!it || !rows) return lq_oom(q);
            for (size_t i = 0; i < in.n; i++) it[i].v = in.s[i].v[0], it[i].row = i;
            qsort(it, in.n, sizeof *it, op[4] == '_' ? lq_topk_cmp_desc : lq_topk_cmp_asc);
            for (size_t i = 0; i < in.n; i++) rows[i] = in.s[it[i].row];
            out->s = rows;
        }
        return CAIRN_OK;
    }

    int topk = !strcmp(op, "topk"), bottomk = !strcmp(op, "bottomk");
    double kparam = 0;
    if (topk || bottomk) {
        RETURN_IF_ERR(lq_scalar_const(q, a->u.agg.param, &kparam));
        if (!(kparam >= 1)) return err_set(q->err, CAIRN_EINVAL, "%s: parameter must be >= 1", op);
    }
    /* groups */
    lq_index gx;
    RETURN_IF_ERR(lq_index_init(q, &gx));
    int32_t *gid = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *gid);
    if (!gid) return lq_oom(q);
    for (size_t i = 0; i < in.n; i++) {
        val_lset gl;
        if (val_lset_filter(q->ar, in.s[i].ls, g.names, g.lens, g.n, !g.without, &gl)) return lq_oom(q);
        int added;
        RETURN_IF_ERR(lq_index_get(q, &gx, gl.v, gl.n, &gid[i], &added));
    }
    if (topk || bottomk) {
        double **rows = arena_calloc(q->ar, in.n ? in.n : 1, sizeof *rows);
        lq_topk_item *it = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *it);
        if (!rows || !it) return lq_oom(q);
        size_t kk = kparam > (double)in.n ? in.n : (size_t)kparam;
        for (size_t s = 0; s < q->n; s++)
            for (size_t grp = 0; grp < gx.n; grp++) {
                size_t m = 0;
                for (size_t i = 0; i < in.n; i++)
                    if (gid[i] == (int32_t)grp && !val_absent(in.s[i].v[s])) it[m].v = in.s[i].v[s], it[m++].row = i;
                qsort(it, m, sizeof *it, topk ? lq_topk_cmp_desc : lq_topk_cmp_asc);
                for (size_t j = 0; j < m && j < kk; j++) {
                    size_t row = it[j].row;
                    if (!rows[row] && !(rows[row] = lq_absent(q))) return CAIRN_ENOMEM;
                    rows[row][s] = it[j].v;
                }
            }
        for (size_t i = 0; i < in.n; i++)
            if (rows[i]) RETURN_IF_ERR(lq_push_row(q, out, &cap, in.s[i].ls, rows[i]));
        return CAIRN_OK;
    }
    enum { A_SUM, A_AVG, A_MIN, A_MAX, A_COUNT, A_STDDEV, A_STDVAR } kind;
    if (!strcmp(op, "sum")) kind = A_SUM;
    else if (!strcmp(op, "avg")) kind = A_AVG;
    else if (!strcmp(op, "min")) kind = A_MIN;
    else if (!strcmp(op, "max")) kind = A_MAX;
    else if (!strcmp(op, "count")) kind = A_COUNT;
    else if (!strcmp(op, "stddev")) kind = A_STDDEV;
    else if (!strcmp(op, "stdvar")) kind = A_STDVAR;
    else return err_set(q->err, CAIRN_EINVAL, "unsupported aggregation %s", op);
    size_t ng = gx.n, ns = q->n;
    double *acc = arena_calloc(q->ar, ng * ns + 1, sizeof *acc), *cnt = arena_calloc(q->ar, ng * ns + 1, sizeof *cnt);
    double *aux = arena_calloc(q->ar, ng * ns + 1, sizeof *aux);
    if (!acc || !cnt || !aux) return lq_oom(q);
    for (size_t i = 0; i < in.n; i++) {
        size_t base = (size_t)gid[i] * ns;
        for (size_t s = 0; s < ns; s++) {
            double v = in.s[i].v[s];
            if (val_absent(v)) continue;
            double *A = &acc[base + s], *C = &cnt[base + s], *X = &aux[base + s];
            (*C)++;
            switch (kind) {
            case A_SUM: *A += v; break;
            case A_COUNT: break;
            case A_AVG: *A += (v - *A) / *C; break;
            case A_MIN: if (*C == 1 || v < *A || isnan(*A)) *A = v; break;
            case A_MAX: if (*C == 1 || v > *A || isnan(*A)) *A = v; break;
            case A_STDDEV: case A_STDVAR: {
                double d = v - *A;
                *A += d / *C;
                *X += d * (v - *A);
                break;
            }
            }
        }
    }
    for (size_t grp = 0; grp < ng; grp++) {
        double *vals = lq_absent(q);
        if (!vals) return CAIRN_ENOMEM;
        int any = 0;
        for (size_t s = 0; s < ns; s++) {
            size_t o = grp * ns + s;
            if (!cnt[o]) continue;
            any = 1;
            switch (kind) {
            case A_COUNT: vals[s] = cnt[o]; break;
            case A_STDDEV: vals[s] = sqrt(aux[o] / cnt[o]); break;
            case A_STDVAR: vals[s] = aux[o] / cnt[o]; break;
            default: vals[s] = acc[o]; break;
            }
        }
        if (any) RETURN_IF_ERR(lq_push_row(q, out, &cap, gx.ls[grp], vals));
    }
    return CAIRN_OK;
}

/* ---- calls ------------------------------------------------------------------------------------------------------ */

static int lq_label_replace(lq *q, const ast_node *c, val *out)
{
    val in;
    memset(&in, 0, sizeof in);
    RETURN_IF_ERR(lq_node(q, c->u.call.args[0], NULL, &in));
    const ast_str *dst = &c->u.call.args[1]->u.str, *repl = &c->u.call.args[2]->u.str,
                  *srcl = &c->u.call.args[3]->u.str, *re = &c->u.call.args[4]->u.str;
    /* the same rule as PromQL's label_replace (engine/labels.h) */
    if (!labels_name_utf8_valid(dst->p, dst->len)) return err_set(q->err, CAIRN_EINVAL, "invalid destination label name in label_replace(): %.*s", (int)dst->len, dst->p);
    lpipe_re *rx = NULL;
    RETURN_IF_ERR(lpipe_re_compile(re->p, re->len, &rx, q->err));
    buf b;
    buf_init(&b);
    int rc = CAIRN_OK;
    out->type = VAL_VECTOR;
    out->n_steps = q->n;
    out->n = 0;
    size_t cap = 0;
    lq_index x;
    double **rows = arena_calloc(q->ar, in.n ? in.n : 1, sizeof *rows);
    if (!rows) rc = lq_oom(q);
    if (!rc) rc = lq_index_init(q, &x);
    for (size_t i = 0; i < in.n && !rc; i++) {
        size_t sl = 0;
        const char *sv = val_lset_get(in.s[i].ls, srcl->p, srcl->len, &sl);
        b.len = 0;
        int m = lpipe_re_expand(rx, sv ? sv : "", sv ? sl : 0, repl->p, repl->len, &b);
        if (m < 0) {
            rc = err_set(q->err, m, "label_replace failed on %s", val_lset_str(q->ar, in.s[i].ls));
            break;
        }
        val_lset ls = in.s[i].ls;
        if (m == 1 && val_lset_set(q->ar, ls, dst->p, dst->len, b.len ? (const char *)b.p : "", b.len, &ls)) {
            rc = lq_oom(q);
            break;
        }
        int32_t idx;
        int added;
        rc = lq_index_get(q, &x, ls.v, ls.n, &idx, &added);
        if (rc) break;
        if (added) {
            rows[idx] = in.s[i].v;
            continue;
        }
        /* two rows collapsed into one label set: fine unless they overlap */
        double *merged = lq_absent(q);
        if (!merged) {
            rc = CAIRN_ENOMEM;
            break;
        }
        for (size_t s = 0; s < q->n; s++) {
            double a = rows[idx][s], v = in.s[i].v[s];
            if (!val_absent(a) && !val_absent(v)) {
                rc = err_set(q->err, CAIRN_EINVAL, "vector cannot contain metrics with the same labelset %s",
                             val_lset_str(q->ar, ls));
                break;
            }
            merged[s] = val_absent(a) ? v : a;
        }
        rows[idx] = merged;
    }
    for (size_t i = 0; !rc && i < x.n; i++) rc = lq_push_row(q, out, &cap, x.ls[i], rows[i]);
    buf_free(&b);
    lpipe_re_free(rx);
    return rc;
}

static int lq_call(lq *q, const ast_node *c, val *out)
{
    const char *name = c->u.call.fn->name;
    if (!strcmp(name, "vector")) {
        val s;
        memset(&s, 0, sizeof s);
        RETURN_IF_ERR(lq_node(q, c->u.call.args[0], NULL, &s));
        out->type = VAL_VECTOR;
        out->n_steps = q->n;
        out->n = 0;
        size_t cap = 0;
        val_lset empty = {NULL, 0};
        double *vals = arena_alloc(q->ar, q->n * sizeof *vals);
        if (!vals) return lq_oom(q);
        memcpy(vals, s.scalar, q->n * sizeof *vals);
        return lq_push_row(q, out, &cap, empty, vals);
    }
    if (!strcmp(name, "label_replace")) return lq_label_replace(q, c, out);
    return err_set(q->err, CAIRN_EINVAL, "function %s is not supported in LogQL", name);
}

/* ---- the tree walk ------------------------------------------------------------------------------------------------ */

static int lq_node(lq *q, const ast_node *n, const lq_group *push, val *out)
{
    switch (n->kind) {
    case AST_NUMBER:
        out->type = VAL_SCALAR;
        out->n_steps = q->n;
        out->scalar = arena_alloc(q->ar, q->n * sizeof *out->scalar);
        if (!out->scalar) return lq_oom(q);
        for (size_t s = 0; s < q->n; s++) out->scalar[s] = n->u.num;
        return CAIRN_OK;
    case AST_PAREN: return lq_node(q, n->u.paren.expr, push, out);
    case AST_UNARY:
        RETURN_IF_ERR(lq_node(q, n->u.un.expr, NULL, out));
        if (!n->u.un.neg) return CAIRN_OK;
        if (out->type == VAL_SCALAR) {
            for (size_t s = 0; s < q->n; s++) out->scalar[s] = -out->scalar[s];
        } else {
            for (size_t i = 0; i < out->n; i++) {
                double *nv = arena_alloc(q->ar, q->n * sizeof *nv);
                if (!nv) return lq_oom(q);
                for (size_t s = 0; s < q->n; s++) nv[s] = val_absent(out->s[i].v[s]) ? out->s[i].v[s] : -out->s[i].v[s];
                out->s[i].v = nv;
            }
        }
        return CAIRN_OK;
    case AST_BINARY: return lq_binary(q, n, out);
    case AST_AGGREGATE: return lq_aggregate(q, n, out);
    case AST_LOG_AGG: return lq_range_agg(q, n, push, out);
    case AST_CALL: return lq_call(q, n, out);
    case AST_LOG_SELECTOR: case AST_LOG_RANGE:
        return err_set(q->err, CAIRN_EINVAL, "a log selector cannot be used in a metric expression");
    default: return err_set(q->err, CAIRN_EINVAL, "unsupported expression %s in LogQL", ast_kind_name(n->kind));
    }
}

static const ast_node *lq_unparen(const ast_node *n)
{
    while (n && n->kind == AST_PAREN) n = n->u.paren.expr;
    return n;
}

int leval_is_log_query(const ast_node *root)
{
    root = lq_unparen(root);
    return root && root->kind == AST_LOG_SELECTOR;
}

void leval_opts_default(leval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_entries = 100000000;
    o->max_series = 500;
    o->max_inner_series = 1000000;
    o->max_limit = 5000;
    o->max_points = 11000;
    o->timeout_ms = 60000;
    o->align_steps = 1;
}

static int lq_cmp_rows(const void *a, const void *b)
{
    return val_lset_cmp(((const val_series *)a)->ls, ((const val_series *)b)->ls);
}

int leval_eval(arena *ar, cairn_db *db, const ast_node *root, const leval_params *prm, const leval_opts *o,
               leval_result *out, cairn_err *err)
{
    memset(out, 0, sizeof *out);
    lq q;
    memset(&q, 0, sizeof q);
    q.ar = ar;
    q.db = db;
    q.err = err;
    if (o) q.o = *o;
    else leval_opts_default(&q.o);
    q.st = &out->stats;
    double t0 = lq_now();
    clock_gettime(CLOCK_MONOTONIC, &q.t0);
    q.deadline = q.t0;
    q.deadline.tv_sec += q.o.timeout_ms / 1000;
    q.deadline.tv_nsec += (q.o.timeout_ms % 1000) * 1000000;
    if (q.deadline.tv_nsec >= 1000000000) q.deadline.tv_sec++, q.deadline.tv_nsec -= 1000000000;
    int64_t start = prm->start_ns, end = prm->end_ns, step = prm->step_ns;
    int instant = step <= 0;
    int rc;
    if (leval_is_log_query(root)) {
        if (instant)
            return err_set(err, CAIRN_EINVAL,
                           "log queries are not supported as an instant query type, please change your query to a range query type");
        uint32_t limit = prm->limit ? prm->limit : 100;
        if (q.o.max_limit && limit > q.o.max_limit)
            return err_set(err, CAIRN_ELIMIT, "max entries limit per query exceeded, limit > max_entries_limit_per_query (%u > %u)",
                           limit, q.o.max_limit);
        out->start_ns = start;
        out->end_ns = end;
        out->step_ns = step;
        rc = lq_log_query(&q, lq_unparen(root), start, end, limit, prm->direction != CAIRN_FORWARD, q.o.categorize,
                          out);
        out->stats.exec_s = lq_now() - t0;
        return rc;
    }
    if (instant) {
        end = start;
        step = 0;
        q.n = 1;
    } else {
        if (end < start) return err_set(err, CAIRN_EINVAL, "end timestamp must not be before start time");
        if (q.o.align_steps && step % 1000000 == 0) {
            int64_t sm = step / 1000000;
            int64_t s_ms = floor_div(start, 1000000), e_ms = -floor_div(-end, 1000000);
            s_ms -= s_ms - floor_div(s_ms, sm) * sm;
            int64_t em = e_ms - floor_div(e_ms, sm) * sm;
            if (em) e_ms += sm - em;
            start = s_ms * 1000000;
            end = e_ms * 1000000;
        }
        uint64_t n = (uint64_t)((end - start) / step) + 1;
        if (q.o.max_points && n > q.o.max_points)
            return err_set(err, CAIRN_ELIMIT,
                           "exceeded maximum resolution of %u points per timeseries. Try decreasing the query resolution (?step=XX)",
                           q.o.max_points);
        q.n = (size_t)n;
    }
    q.start = start;
    q.step = instant ? 1 : step;
    q.instant = instant;
    out->start_ns = start;
    out->end_ns = end;
    out->step_ns = instant ? 0 : step;
    q.direct = lq_unparen(root)->kind == AST_LOG_AGG;
    val v;
    memset(&v, 0, sizeof v);
    rc = lq_node(&q, root, NULL, &v);
    if (rc) goto done;
    out->t_ms = arena_alloc(ar, q.n * sizeof *out->t_ms);
    if (!out->t_ms) {
        rc = lq_oom(&q);
        goto done;
    }
    for (size_t i = 0; i < q.n; i++) out->t_ms[i] = floor_div(lq_t(&q, i), 1000000);
    if (v.type == VAL_SCALAR && !instant) { /* a literal over a range: one {} series */
        val m;
        memset(&m, 0, sizeof m);
        m.type = VAL_VECTOR;
        m.n_steps = q.n;
        size_t cap = 0;
        val_lset empty = {NULL, 0};
        rc = lq_push_row(&q, &m, &cap, empty, v.scalar);
        if (rc) goto done;
        v = m;
    }
    if (v.type == VAL_SCALAR) {
        out->kind = LEVAL_SCALAR;
        out->v = v;
        goto done;
    }
    /* drop empty rows; sort unless the query ends in sort/sort_desc (instant) */
    size_t w = 0;
    for (size_t i = 0; i < v.n; i++) {
        int any = 0;
        for (size_t s = 0; s < q.n && !any; s++) any = !val_absent(v.s[i].v[s]);
        if (any) v.s[w++] = v.s[i];
    }
    v.n = w;
    const ast_node *top = lq_unparen(root);
    int sorted_by_value = instant && top->kind == AST_AGGREGATE &&
                          (!strcmp(top->u.agg.op.p, "sort") || !strcmp(top->u.agg.op.p, "sort_desc"));
    if (!sorted_by_value && v.n > 1) qsort(v.s, v.n, sizeof *v.s, lq_cmp_rows);
    if (q.o.max_series && v.n > q.o.max_series) {
        rc = err_set(err, CAIRN_ELIMIT,
                     "maximum number of series (%llu) reached for a single query; consider reducing query cardinality "
                     "by adding more filters or by using a more specific query",
                     (unsigned long long)q.o.max_series);
        goto done;
    }
    out->kind = instant ? LEVAL_VECTOR : LEVAL_MATRIX;
    out->v = v;
    out->stats.series_returned = v.n;
done:
    out->stats.exec_s = lq_now() - t0;
    return rc;
}

int leval_query(arena *ar, cairn_db *db, const char *src, size_t len, const leval_params *prm, const leval_opts *o,
                leval_result *out, cairn_err *err)
{
    ast_node *root = NULL;
    memset(out, 0, sizeof *out);
    RETURN_IF_ERR(parse_query(ar, QLANG_LOGQL, src, len, &root, err));
    return leval_eval(ar, db, root, prm, o, out, err);
}
