/*
 * eval.c — the PromQL evaluator: tree walk, selectors, aggregation and
 * binary operators (functions live in fn.c, range functions in window.c).
 *
 * Design: whole-grid evaluation. Prometheus' engine evaluates most nodes
 * step by step (rangeEval gathers a vector per step and calls the operator),
 * but it already special-cases range functions to walk each series once.
 * Here every node is evaluated for the whole grid at once and returns
 * column-oriented values (value.h): a row per series holding one double per
 * step, VAL_ABSENT where the series has no value. That gives:
 *   - selectors load each series' samples ONCE for
 *     [first step - lookback (or range) - offset, last step - offset]
 *     through cairn_samples_open, then walk them with a pointer that only
 *     moves forward while the steps advance (the steps' reference times are
 *     nondecreasing, even with @, which pins them to one time);
 *   - range functions (window.c) keep two indexes into that array, so a
 *     rate() over a day at a 1 min step touches each sample a bounded number
 *     of times, not once per step;
 *   - aggregations and binary operators compute their grouping and matching
 *     signatures once per series, not once per step, and then loop over
 *     steps with plain arrays.
 * The price is memory: an intermediate vector costs rows × steps × 8 bytes,
 * all in the query arena. The sample limit bounds the input side.
 *
 * Subqueries evaluate their inner expression on their own grid (aligned to
 * multiples of the subquery step, as Prometheus does), turn its rows back
 * into raw samples and feed them to the same window code. `@` replaces the
 * step time of a selector or subquery by a fixed time; `offset` subtracts.
 *
 * Name removal is delayed as in Prometheus 3.x's test engine: operators set
 * a row's drop_name flag (arithmetic between two vectors removes the name
 * at once, as Prometheus does), and eval_promql() drops the names at the
 * end, merges rows whose label sets became equal (if they never have a value
 * at the same step; otherwise "vector cannot contain metrics with the same
 * labelset").
 *
 * Errors are returned up the recursion as codes; the message is set where
 * the error happens. Memory: everything in the query arena except short
 * sample buffers (mem_) freed before returning. Threads: one query is
 * single-threaded and touches no globals.
 */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "eval_int.h"
#include "labels.h"
#include "mem.h"

#define EVAL_NAME "__name__"
#define EVAL_NAME_LEN 8

void eval_opts_default(eval_opts *o)
{
    o->lookback_ms = 5 * 60 * 1000;
    o->subquery_step_ms = 60 * 1000;
    o->max_samples = 50000000;
    o->max_series = 100000;
    o->timeout_ms = 2 * 60 * 1000;
}

/* ---- housekeeping ---------------------------------------------------------------- */

int eval_tick(eval_q *q)
{
    /* every 32nd call reads the clock: a vDSO call of ~30 ns, negligible
     * next to the per-series or per-row work between calls */
    if (!q->has_deadline || (++q->tick & 31)) return CAIRN_OK;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > q->deadline.tv_sec || (now.tv_sec == q->deadline.tv_sec && now.tv_nsec > q->deadline.tv_nsec))
        return err_set(q->err, CAIRN_ETIMEOUT, "query timed out in expression evaluation (timeout %lld ms)",
                       (long long)q->o.timeout_ms);
    return CAIRN_OK;
}

static int ev_nomem(eval_q *q) { return err_set(q->err, CAIRN_ENOMEM, "out of memory in query evaluation"); }

int eval_reserve_rows(eval_q *q, uint64_t n_rows, size_t n_steps)
{
    size_t max = arena_budget_max(q->ar);
    if (!max || !n_rows) return CAIRN_OK;
    /* a row: its doubles, its val_series and about 64 bytes of labels */
    uint64_t per_row, need;
    if (__builtin_mul_overflow((uint64_t)n_steps, (uint64_t)sizeof(double), &per_row) ||
        __builtin_add_overflow(per_row, (uint64_t)(sizeof(val_series) + 64), &per_row) ||
        __builtin_mul_overflow(per_row, n_rows, &need) || need > max || arena_held(q->ar) > max - need)
        return err_set(q->err, CAIRN_ELIMIT,
                       "query would use more than %zu bytes of memory (%llu series x %zu steps); narrow the "
                       "selector, shorten the range or raise --query-max-bytes",
                       max, (unsigned long long)n_rows, n_steps);
    return CAIRN_OK;
}

int eval_push_row(eval_q *q, val *v, size_t *cap, val_lset ls, double *vals, uint8_t drop_name)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        val_series *s = arena_alloc(q->ar, nc * sizeof *s);
        if (!s) return ev_nomem(q);
        if (v->n) memcpy(s, v->s, v->n * sizeof *s);
        v->s = s;
        *cap = nc;
    }
    v->s[v->n++] = (val_series){ls, vals, drop_name};
    return CAIRN_OK;
}

static int64_t ev_at_time(const eval_q *q, ast_at at, int64_t at_ms, int64_t t)
{
    switch (at) {
    case AST_AT_TIME: return at_ms;
    case AST_AT_START: return q->q_start;
    case AST_AT_END: return q->q_end;
    default: return t;
    }
}

static const ast_node *ev_unparen(const ast_node *n)
{
    while (n && n->kind == AST_PAREN) n = n->u.paren.expr;
    return n;
}

/* ---- selectors ---------------------------------------------------------------------- */

static int ev_matchers(eval_q *q, const ast_node *sel, cairn_matcher **out, size_t *n_out)
{
    size_t n = sel->u.sel.n_m + (sel->u.sel.name.len ? 1 : 0);
    cairn_matcher *m = arena_alloc(q->ar, (n ? n : 1) * sizeof *m);
    if (!m) return ev_nomem(q);
    size_t k = 0;
    if (sel->u.sel.name.len) m[k++] = (cairn_matcher){CAIRN_MATCH_EQ, EVAL_NAME, EVAL_NAME_LEN, sel->u.sel.name.p,
                                                       sel->u.sel.name.len};
    for (size_t i = 0; i < sel->u.sel.n_m; i++) {
        const ast_matcher *a = &sel->u.sel.m[i];
        int op = a->op == AST_MATCH_EQ    ? CAIRN_MATCH_EQ
                 : a->op == AST_MATCH_NEQ ? CAIRN_MATCH_NE
                 : a->op == AST_MATCH_RE  ? CAIRN_MATCH_RE
                                          : CAIRN_MATCH_NRE;
        m[k++] = (cairn_matcher){op, a->name.p, a->name.len, a->value.p, a->value.len};
    }
    *out = m;
    *n_out = k;
    return CAIRN_OK;
}

/* A reusable sample buffer (mem_, grown by doubling, freed by the caller). */
typedef struct ev_buf {
    int64_t *t;
    double *v;
    size_t cap;
} ev_buf;

static int ev_buf_reserve(ev_buf *b, size_t need)
{
    if (need <= b->cap) return CAIRN_OK;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc *= 2;
    int64_t *t = mem_alloc(nc * sizeof *t);
    double *v = mem_alloc(nc * sizeof *v);
    if (!t || !v) {
        if (t) mem_free(t, nc * sizeof *t);
        if (v) mem_free(v, nc * sizeof *v);
        return CAIRN_ENOMEM;
    }
    if (b->cap) {
        memcpy(t, b->t, b->cap * sizeof *t);
        memcpy(v, b->v, b->cap * sizeof *v);
        mem_free(b->t, b->cap * sizeof *b->t);
        mem_free(b->v, b->cap * sizeof *b->v);
    }
    b->t = t, b->v = v, b->cap = nc;
    return CAIRN_OK;
}

static void ev_buf_free(ev_buf *b)
{
    if (b->cap) {
        mem_free(b->t, b->cap * sizeof *b->t);
        mem_free(b->v, b->cap * sizeof *b->v);
    }
    memset(b, 0, sizeof *b);
}

/* Stream every series matching `sel` with samples in [mint, maxt] (stale
 * markers dropped when drop_stale) through fn, one at a time: the samples sit
 * in a reusable buffer valid only during the call, the labels are copied to
 * the arena. Series without samples are skipped. Order: the engine's (series
 * id); callers that keep rows sort them by labels afterwards, as Prometheus'
 * querier returns series sorted. Peak memory is one series, not the query. */
static int ev_each(eval_q *q, const ast_node *sel, int64_t mint, int64_t maxt, int drop_stale, size_t out_steps,
                   eval_series_fn fn, void *ctx)
{
    if (maxt < mint) return CAIRN_OK;
    cairn_matcher *m = NULL;
    size_t nm = 0;
    int rc = ev_matchers(q, sel, &m, &nm);
    if (rc) return rc;
    cairn_series_set *set = NULL;
    rc = cairn_select(q->db, CAIRN_KIND_METRIC, m, nm, mint, maxt, &set, q->err);
    if (rc) return rc;
    q->n_series += cairn_series_set_count(set);
    if (q->o.max_series && q->n_series > q->o.max_series) {
        cairn_series_set_close(set);
        return err_set(q->err, CAIRN_ELIMIT,
                       "query selects too many series: more than the limit of %llu; narrow the selector or raise "
                       "--query-max-series",
                       (unsigned long long)q->o.max_series);
    }
    /* Every selected series becomes (at most) a row of out_steps values:
     * refuse before loading anything when that cannot fit the budget. */
    if ((rc = eval_reserve_rows(q, cairn_series_set_count(set), out_steps))) {
        cairn_series_set_close(set);
        return rc;
    }
    ev_buf b = {0};
    uint64_t id;
    const cairn_label *ls;
    size_t nls;
    while (cairn_series_set_next(set, &id, &ls, &nls) == 1) {
        if ((rc = eval_tick(q))) break;
        cairn_samples *it = NULL;
        rc = cairn_samples_open(q->db, id, mint, maxt, &it, q->err);
        if (rc == CAIRN_NOTFOUND) {
            rc = CAIRN_OK;
            continue;
        }
        if (rc) break;
        size_t k = 0;
        int64_t t;
        double v;
        int r;
        while ((r = cairn_samples_next(it, &t, &v)) == 1) {
            if (drop_stale && val_is_stale(v)) continue;
            if (k == b.cap && ev_buf_reserve(&b, k + 1)) {
                r = CAIRN_ENOMEM;
                break;
            }
            b.t[k] = t;
            b.v[k] = v;
            k++;
        }
        cairn_samples_close(it);
        if (r == CAIRN_ENOMEM) {
            rc = ev_nomem(q);
            break;
        }
        if (r < 0) {
            rc = err_set(q->err, r, "reading samples of series %llu failed", (unsigned long long)id);
            break;
        }
        q->n_samples += k;
        if (q->o.max_samples && q->n_samples > q->o.max_samples) {
            rc = err_set(q->err, CAIRN_ELIMIT,
                         "query processing would load too many samples into memory in query execution "
                         "(limit %llu)",
                         (unsigned long long)q->o.max_samples);
            break;
        }
        if (!k) continue;
        eval_raw s = {{NULL, 0}, b.t, b.v, k, 0};
        if (val_lset_copy(q->ar, ls, nls, &s.ls)) {
            rc = ev_nomem(q);
            break;
        }
        if ((rc = fn(ctx, &s))) break;
    }
    ev_buf_free(&b);
    cairn_series_set_close(set);
    return rc;
}

typedef struct ev_vsel {
    eval_q *q;
    const ast_node *sel;
    const eval_grid *g;
    val *out;
    size_t cap;
    int64_t **ts; /* optional, parallel to out->s */
    size_t ts_cap;
    int want_ts;
} ev_vsel;

static int ev_vsel_series(void *ctx, const eval_raw *s)
{
    ev_vsel *c = ctx;
    eval_q *q = c->q;
    const eval_grid *g = c->g;
    int64_t off = c->sel->u.sel.offset_ms, lb = q->o.lookback_ms;
    double *v = val_absent_array(q->ar, g->n);
    int64_t *tv = c->want_ts ? arena_alloc(q->ar, g->n * sizeof *tv) : NULL;
    if (!v || (c->want_ts && !tv)) return ev_nomem(q);
    size_t j = 0, present = 0;
    for (size_t i = 0; i < g->n; i++) {
        int64_t r = ev_at_time(q, c->sel->u.sel.at, c->sel->u.sel.at_ms, eval_grid_t(g, i)) - off;
        while (j < s->n && s->t[j] <= r) j++;
        if (j == 0) continue;
        size_t p = j - 1;
        if (s->t[p] > r - lb && !val_is_stale(s->v[p])) {
            v[i] = s->v[p];
            if (tv) tv[i] = s->t[p];
            present++;
        }
    }
    if (!present) return CAIRN_OK;
    if (c->want_ts && c->out->n == c->ts_cap) {
        size_t nc = c->ts_cap ? c->ts_cap * 2 : 8;
        int64_t **n2 = arena_alloc(q->ar, nc * sizeof *n2);
        if (!n2) return ev_nomem(q);
        if (c->out->n) memcpy(n2, c->ts, c->out->n * sizeof *n2);
        c->ts = n2;
        c->ts_cap = nc;
    }
    if (c->want_ts) c->ts[c->out->n] = tv;
    return eval_push_row(q, c->out, &c->cap, s->ls, v, 0);
}

/* Sort rows (and a parallel array) by labels. */
typedef struct ev_rowref {
    val_series row;
    int64_t *ts;
} ev_rowref;

static int ev_rowref_cmp(const void *a, const void *b)
{
    return val_lset_cmp(((const ev_rowref *)a)->row.ls, ((const ev_rowref *)b)->row.ls);
}

static int ev_sort_rows_ts(eval_q *q, val *v, int64_t **ts)
{
    if (v->n < 2) return CAIRN_OK;
    ev_rowref *r = arena_alloc(q->ar, v->n * sizeof *r);
    if (!r) return ev_nomem(q);
    for (size_t i = 0; i < v->n; i++) r[i] = (ev_rowref){v->s[i], ts ? ts[i] : NULL};
    qsort(r, v->n, sizeof *r, ev_rowref_cmp);
    for (size_t i = 0; i < v->n; i++) {
        v->s[i] = r[i].row;
        if (ts) ts[i] = r[i].ts;
    }
    return CAIRN_OK;
}

int eval_vector_sel(eval_q *q, const ast_node *sel, const eval_grid *g, val *out, int64_t ***ts_out)
{
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    if (ts_out) *ts_out = NULL;
    if (!g->n) return CAIRN_OK;
    int64_t off = sel->u.sel.offset_ms, lb = q->o.lookback_ms;
    int64_t r0 = ev_at_time(q, sel->u.sel.at, sel->u.sel.at_ms, g->start) - off;
    int64_t r1 = ev_at_time(q, sel->u.sel.at, sel->u.sel.at_ms, eval_grid_t(g, g->n - 1)) - off;
    ev_vsel c = {q, sel, g, out, 0, NULL, 0, ts_out != NULL};
    int rc = ev_each(q, sel, r0 - lb + 1, r1, 0, g->n, ev_vsel_series, &c);
    if (rc) return rc;
    if ((rc = ev_sort_rows_ts(q, out, c.ts))) return rc;
    if (ts_out) *ts_out = c.ts;
    return CAIRN_OK;
}

int eval_range_prepare(eval_q *q, const ast_node *arg, const eval_grid *g, win_input *in)
{
    memset(in, 0, sizeof *in);
    arg = ev_unparen(arg);
    in->arg = arg;
    in->g = g;
    in->ends = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *in->ends);
    if (!in->ends) return ev_nomem(q);
    if (arg->kind == AST_MATRIX_SEL) {
        const ast_node *sel = arg->u.range.sel;
        in->sel = sel;
        in->range_ms = arg->u.range.range_ms;
        for (size_t i = 0; i < g->n; i++)
            in->ends[i] = ev_at_time(q, sel->u.sel.at, sel->u.sel.at_ms, eval_grid_t(g, i)) - sel->u.sel.offset_ms;
        return CAIRN_OK;
    }
    if (arg->kind != AST_SUBQUERY)
        return err_set(q->err, CAIRN_EINTERNAL, "expected a range vector argument, got %s", ast_kind_name(arg->kind));
    in->range_ms = arg->u.sub.range_ms;
    for (size_t i = 0; i < g->n; i++)
        in->ends[i] = ev_at_time(q, arg->u.sub.at, arg->u.sub.at_ms, eval_grid_t(g, i)) - arg->u.sub.offset_ms;
    return CAIRN_OK;
}

int eval_range_each(eval_q *q, const win_input *in, eval_series_fn fn, void *ctx)
{
    const eval_grid *g = in->g;
    if (!g->n) return CAIRN_OK;
    const ast_node *arg = in->arg;
    if (arg->kind == AST_MATRIX_SEL)
        return ev_each(q, in->sel, in->ends[0] - in->range_ms + 1, in->ends[g->n - 1], 1, g->n, fn, ctx);
    int64_t step = arg->u.sub.step_ms ? arg->u.sub.step_ms : q->o.subquery_step_ms;
    if (step <= 0) step = 60000;
    /* First step-aligned time after (first end - range); Go's integer division truncates toward zero, like C's. */
    int64_t lo = in->ends[0] - in->range_ms;
    eval_grid ig;
    ig.step = step;
    ig.start = step * (lo / step);
    if (ig.start <= lo) ig.start += step;
    ig.end = in->ends[g->n - 1];
    ig.n = ig.end >= ig.start ? (size_t)((ig.end - ig.start) / step) + 1 : 0;
    if (!ig.n) return CAIRN_OK;
    if (ig.n > 100000000) return err_set(q->err, CAIRN_ELIMIT, "subquery has too many steps (%zu)", ig.n);
    val inner;
    int rc = eval_node(q, arg->u.sub.expr, &ig, &inner);
    if (rc) return rc;
    if (inner.type != VAL_VECTOR) return err_set(q->err, CAIRN_EINVAL, "subquery is only allowed on instant vectors");
    ev_buf b = {0};
    if (ev_buf_reserve(&b, ig.n)) return ev_nomem(q);
    for (size_t r = 0; r < inner.n && !rc; r++) {
        if ((rc = eval_tick(q))) break;
        const val_series *row = &inner.s[r];
        size_t k = 0;
        for (size_t i = 0; i < ig.n; i++) {
            if (val_absent(row->v[i])) continue;
            b.t[k] = eval_grid_t(&ig, i);
            b.v[k] = row->v[i];
            k++;
        }
        if (!k) continue;
        eval_raw s = {row->ls, b.t, b.v, k, row->drop_name};
        rc = fn(ctx, &s);
    }
    ev_buf_free(&b);
    return rc;
}

typedef struct ev_mres {
    eval_q *q;
    val *out;
    size_t cap;
    int64_t lo, hi;
} ev_mres;

static int ev_mres_series(void *ctx, const eval_raw *s)
{
    ev_mres *c = ctx;
    size_t a = 0, b = s->n;
    while (a < s->n && s->t[a] <= c->lo) a++;
    while (b > a && s->t[b - 1] > c->hi) b--;
    if (a == b) return CAIRN_OK;
    if (c->out->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        val_range *r = arena_alloc(c->q->ar, nc * sizeof *r);
        if (!r) return ev_nomem(c->q);
        if (c->out->n) memcpy(r, c->out->r, c->out->n * sizeof *r);
        c->out->r = r;
        c->cap = nc;
    }
    val_range *r = &c->out->r[c->out->n];
    r->t = arena_alloc(c->q->ar, (b - a) * sizeof *r->t);
    r->v = arena_alloc(c->q->ar, (b - a) * sizeof *r->v);
    if (!r->t || !r->v) return ev_nomem(c->q);
    memcpy(r->t, s->t + a, (b - a) * sizeof *r->t);
    memcpy(r->v, s->v + a, (b - a) * sizeof *r->v);
    r->n = b - a;
    r->ls = s->ls;
    r->drop_name = s->drop_name;
    c->out->n++;
    return CAIRN_OK;
}

static int ev_range_cmp(const void *a, const void *b)
{
    return val_lset_cmp(((const val_range *)a)->ls, ((const val_range *)b)->ls);
}

/* A range vector as a query result (instant query of `x[5m]` or a subquery). */
static int ev_matrix_result(eval_q *q, const ast_node *n, const eval_grid *g, val *out)
{
    memset(out, 0, sizeof *out);
    out->type = VAL_MATRIX;
    out->n_steps = g->n;
    if (g->n != 1)
        return err_set(q->err, CAIRN_EINVAL,
                       "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
    win_input in;
    int rc = eval_range_prepare(q, n, g, &in);
    if (rc) return rc;
    ev_mres c = {q, out, 0, in.ends[0] - in.range_ms, in.ends[0]};
    if ((rc = eval_range_each(q, &in, ev_mres_series, &c))) return rc;
    if (out->n > 1) qsort(out->r, out->n, sizeof *out->r, ev_range_cmp);
    return CAIRN_OK;
}

/* ---- absent() labels ------------------------------------------------------------- */

int eval_absent_labels(eval_q *q, const ast_node *arg, val_lset *out)
{
    arg = ev_unparen(arg);
    out->v = NULL;
    out->n = 0;
    const ast_node *sel = NULL;
    if (arg->kind == AST_VECTOR_SEL) sel = arg;
    else if (arg->kind == AST_MATRIX_SEL) sel = arg->u.range.sel;
    if (!sel) return CAIRN_OK;
    size_t n = sel->u.sel.n_m;
    cairn_label *tmp = arena_alloc(q->ar, (n ? n : 1) * sizeof *tmp);
    if (!tmp) return ev_nomem(q);
    size_t k = 0;
    /* Equality matchers give labels; a name matched twice (or by another op) is left out. */
    for (size_t i = 0; i < n; i++) {
        const ast_matcher *m = &sel->u.sel.m[i];
        if (m->name.len == EVAL_NAME_LEN && !memcmp(m->name.p, EVAL_NAME, EVAL_NAME_LEN)) continue;
        size_t j;
        for (j = 0; j < k; j++)
            if (tmp[j].name_len == m->name.len && !memcmp(tmp[j].name, m->name.p, m->name.len)) break;
        int seen_before = 0;
        for (size_t p = 0; p < i; p++)
            if (sel->u.sel.m[p].name.len == m->name.len && !memcmp(sel->u.sel.m[p].name.p, m->name.p, m->name.len))
                seen_before = 1;
        if (m->op == AST_MATCH_EQ && !seen_before) {
            tmp[k++] = (cairn_label){m->name.p, m->name.len, m->value.p, m->value.len};
        } else if (j < k) {
            memmove(&tmp[j], &tmp[j + 1], (k - j - 1) * sizeof *tmp);
            k--;
        }
    }
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (tmp[i].value_len) tmp[w++] = tmp[i];
    return val_lset_copy(q->ar, tmp, w, out) ? ev_nomem(q) : CAIRN_OK;
}

/* ---- merging rows ----------------------------------------------------------------- */

int eval_merge_rows(eval_q *q, val *v)
{
    if (v->type != VAL_VECTOR) return CAIRN_OK;
    val_map m;
    if (val_map_init(&m, q->ar, v->n)) return ev_nomem(q);
    size_t w = 0;
    for (size_t r = 0; r < v->n; r++) {
        val_series *row = &v->s[r];
        size_t nv = 0;
        for (size_t i = 0; i < v->n_steps; i++) nv += !val_absent(row->v[i]);
        if (!nv) continue;
        uint64_t h = val_lset_hash(row->ls);
        size_t cur = 0;
        int32_t j;
        while ((j = val_map_next(&m, h, &cur)) >= 0)
            if (val_lset_eq(v->s[j].ls, row->ls)) break;
        if (j < 0) {
            if (val_map_put(&m, h, (int32_t)w)) return ev_nomem(q);
            v->s[w++] = *row;
            continue;
        }
        val_series *dst = &v->s[j];
        double *nvals = NULL;
        for (size_t i = 0; i < v->n_steps; i++) {
            if (val_absent(row->v[i])) continue;
            if (!val_absent(dst->v[i]))
                return err_set(q->err, CAIRN_EINVAL, "vector cannot contain metrics with the same labelset (%s)",
                               val_lset_str(q->ar, row->ls));
            if (!nvals) {
                /* Copy before writing: rows may share value arrays with their inputs. */
                nvals = arena_alloc(q->ar, v->n_steps * sizeof *nvals);
                if (!nvals) return ev_nomem(q);
                memcpy(nvals, dst->v, v->n_steps * sizeof *nvals);
                dst->v = nvals;
            }
            dst->v[i] = row->v[i];
        }
    }
    v->n = w;
    return CAIRN_OK;
}

/* ---- aggregation ----------------------------------------------------------------- */

typedef enum ev_aggop {
    AGG_SUM, AGG_AVG, AGG_COUNT, AGG_MIN, AGG_MAX, AGG_GROUP, AGG_STDDEV, AGG_STDVAR, AGG_TOPK, AGG_BOTTOMK,
    AGG_COUNT_VALUES, AGG_QUANTILE, AGG_UNKNOWN
} ev_aggop;

static ev_aggop ev_aggop_of(ast_str s)
{
    static const char *names[] = {"sum",    "avg",    "count", "min",     "max",          "group",
                                  "stddev", "stdvar", "topk",  "bottomk", "count_values", "quantile"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strlen(names[i]) == s.len && !memcmp(names[i], s.p, s.len)) return (ev_aggop)i;
    return AGG_UNKNOWN;
}

typedef struct ev_names {
    const char **p;
    size_t *len;
    size_t n;
} ev_names;

/* The grouping labels of an aggregation (plus __name__ for `without`, plus extra). */
static int ev_grouping(eval_q *q, const ast_node *n, const char *extra, size_t extra_len, ev_names *g)
{
    size_t k = n->u.agg.grouping.n;
    g->p = arena_alloc(q->ar, (k + 2) * sizeof *g->p);
    g->len = arena_alloc(q->ar, (k + 2) * sizeof *g->len);
    if (!g->p || !g->len) return ev_nomem(q);
    g->n = 0;
    for (size_t i = 0; i < k; i++) {
        g->p[g->n] = n->u.agg.grouping.v[i].p;
        g->len[g->n++] = n->u.agg.grouping.v[i].len;
    }
    if (n->u.agg.without) {
        g->p[g->n] = EVAL_NAME;
        g->len[g->n++] = EVAL_NAME_LEN;
    }
    if (extra) {
        g->p[g->n] = extra;
        g->len[g->n++] = extra_len;
    }
    return CAIRN_OK;
}

/* Group index per input row; fills out rows (labels, drop flag) for groups. */
static int ev_groups(eval_q *q, const val *in, const ev_names *gn, int keep, int32_t *row_group, val *out,
                     size_t *out_cap)
{
    val_map m;
    if (val_map_init(&m, q->ar, in->n)) return ev_nomem(q);
    for (size_t r = 0; r < in->n; r++) {
        val_lset ls = in->s[r].ls;
        uint64_t h = val_lset_hash_filter(ls, gn->p, gn->len, gn->n, keep);
        size_t cur = 0;
        int32_t gi;
        while ((gi = val_map_next(&m, h, &cur)) >= 0)
            if (val_lset_eq_filter(out->s[gi].ls, ls, gn->p, gn->len, gn->n, keep)) break;
        if (gi < 0) {
            val_lset key;
            if (val_lset_filter(q->ar, ls, gn->p, gn->len, gn->n, keep, &key)) return ev_nomem(q);
            double *v = val_absent_array(q->ar, in->n_steps);
            if (!v) return ev_nomem(q);
            gi = (int32_t)out->n;
            int rc = eval_push_row(q, out, out_cap, key, v, 0);
            if (rc) return rc;
            if (val_map_put(&m, h, gi)) return ev_nomem(q);
        }
        row_group[r] = gi;
        if (in->s[r].drop_name) out->s[gi].drop_name = 1;
    }
    return CAIRN_OK;
}

typedef struct ev_kv {
    double v;
    int32_t row;
} ev_kv;

static int ev_kv_topk(const void *a, const void *b)
{
    const ev_kv *x = a, *y = b;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn - yn; /* NaN last */
    if (!xn && x->v != y->v) return x->v > y->v ? -1 : 1;
    return x->row - y->row;
}

static int ev_kv_bottomk(const void *a, const void *b)
{
    const ev_kv *x = a, *y = b;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn - yn;
    if (!xn && x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->row - y->row;
}

static int ev_topk(eval_q *q, const ast_node *n, ev_aggop op, const val *param, const val *in, const eval_grid *g,
                   val *out)
{
    ev_names gn;
    int rc = ev_grouping(q, n, NULL, 0, &gn);
    if (rc) return rc;
    int keep = !n->u.agg.without;
    int32_t *row_group = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *row_group);
    val groups = {.type = VAL_VECTOR, .n_steps = g->n};
    size_t gcap = 0;
    if (!row_group) return ev_nomem(q);
    if ((rc = ev_groups(q, in, &gn, keep, row_group, &groups, &gcap))) return rc;
    for (size_t i = 0; i < g->n; i++) {
        double k = param->scalar[i];
        if (isnan(k)) return err_set(q->err, CAIRN_EINVAL, "Parameter value is NaN");
        if (!(k > -9.2e18 && k < 9.2e18)) return err_set(q->err, CAIRN_EINVAL, "Scalar value %g overflows int64", k);
    }
    ev_kv *kvs = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *kvs);
    double **vals = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *vals);
    if (!kvs || !vals) return ev_nomem(q);
    for (size_t r = 0; r < in->n; r++) vals[r] = NULL;
    /* For an instant query, rows come out in group order, best first. */
    size_t ocap = 0;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    for (size_t i = 0; i < g->n; i++) {
        if ((rc = eval_tick(q))) return rc;
        int64_t k = (int64_t)param->scalar[i];
        if (k < 1) continue;
        for (size_t gi = 0; gi < groups.n; gi++) {
            size_t m = 0;
            for (size_t r = 0; r < in->n; r++)
                if (row_group[r] == (int32_t)gi && !val_absent(in->s[r].v[i])) kvs[m++] = (ev_kv){in->s[r].v[i], (int32_t)r};
            if (!m) continue;
            qsort(kvs, m, sizeof *kvs, op == AGG_TOPK ? ev_kv_topk : ev_kv_bottomk);
            size_t take = (uint64_t)k < m ? (size_t)k : m;
            for (size_t j = 0; j < take; j++) {
                int32_t r = kvs[j].row;
                if (g->n == 1) {
                    double *v = val_absent_array(q->ar, 1);
                    if (!v) return ev_nomem(q);
                    v[0] = kvs[j].v;
                    if ((rc = eval_push_row(q, out, &ocap, in->s[r].ls, v, in->s[r].drop_name))) return rc;
                    continue;
                }
                if (!vals[r] && !(vals[r] = val_absent_array(q->ar, g->n))) return ev_nomem(q);
                vals[r][i] = kvs[j].v;
            }
        }
    }
    if (g->n != 1)
        for (size_t r = 0; r < in->n; r++)
            if (vals[r] && (rc = eval_push_row(q, out, &ocap, in->s[r].ls, vals[r], in->s[r].drop_name))) return rc;
    return CAIRN_OK;
}

static int ev_count_values(eval_q *q, const ast_node *n, const val *in, const eval_grid *g, val *out)
{
    const ast_node *p = ev_unparen(n->u.agg.param);
    if (!p || p->kind != AST_STRING) return err_set(q->err, CAIRN_EINVAL, "count_values needs a string parameter");
    const char *lname = p->u.str.p;
    size_t llen = p->u.str.len;
    if (!labels_name_utf8_valid(lname, llen))
        return err_set(q->err, CAIRN_EINVAL, "invalid label name \"%.*s\"", (int)llen, lname);
    ev_names gn;
    int rc = ev_grouping(q, n, n->u.agg.without ? NULL : lname, llen, &gn);
    if (rc) return rc;
    int keep = !n->u.agg.without;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    size_t ocap = 0;
    val_map m;
    if (val_map_init(&m, q->ar, 16)) return ev_nomem(q);
    for (size_t i = 0; i < g->n; i++) {
        if ((rc = eval_tick(q))) return rc;
        for (size_t r = 0; r < in->n; r++) {
            double x = in->s[r].v[i];
            if (val_absent(x)) continue;
            char num[64];
            val_format_float_fixed(x, num, sizeof num);
            val_lset ls, key;
            if (val_lset_set(q->ar, in->s[r].ls, lname, llen, num, strlen(num), &ls)) return ev_nomem(q);
            uint64_t h = val_lset_hash_filter(ls, gn.p, gn.len, gn.n, keep);
            size_t cur = 0;
            int32_t oi;
            while ((oi = val_map_next(&m, h, &cur)) >= 0)
                if (val_lset_eq_filter(out->s[oi].ls, ls, gn.p, gn.len, gn.n, keep)) break;
            if (oi < 0) {
                if (val_lset_filter(q->ar, ls, gn.p, gn.len, gn.n, keep, &key)) return ev_nomem(q);
                /* The value label's string must outlive this loop: copy it. */
                for (size_t j = 0; j < key.n; j++)
                    if (key.v[j].value == num) {
                        char *c = arena_strdup(q->ar, num, strlen(num));
                        if (!c) return ev_nomem(q);
                        ((cairn_label *)key.v)[j].value = c;
                    }
                double *v = val_absent_array(q->ar, g->n);
                if (!v) return ev_nomem(q);
                oi = (int32_t)out->n;
                if ((rc = eval_push_row(q, out, &ocap, key, v, 0))) return rc;
                if (val_map_put(&m, h, oi)) return ev_nomem(q);
            }
            double *dst = &out->s[oi].v[i];
            *dst = val_absent(*dst) ? 1 : *dst + 1;
        }
    }
    return CAIRN_OK;
}

static int ev_aggregate(eval_q *q, const ast_node *n, const eval_grid *g, val *out)
{
    ev_aggop op = ev_aggop_of(n->u.agg.op);
    if (op == AGG_UNKNOWN)
        return err_set(q->err, CAIRN_EINVAL, "aggregation %.*s is not supported", (int)n->u.agg.op.len, n->u.agg.op.p);
    val param = {0}, in;
    int rc;
    if (n->u.agg.param && op != AGG_COUNT_VALUES) {
        if ((rc = eval_node(q, n->u.agg.param, g, &param))) return rc;
        if (param.type != VAL_SCALAR) return err_set(q->err, CAIRN_EINVAL, "aggregation parameter must be a scalar");
    }
    if ((rc = eval_node(q, n->u.agg.expr, g, &in))) return rc;
    if (in.type != VAL_VECTOR) return err_set(q->err, CAIRN_EINVAL, "aggregation needs an instant vector");
    if (op == AGG_TOPK || op == AGG_BOTTOMK) return ev_topk(q, n, op, &param, &in, g, out);
    if (op == AGG_COUNT_VALUES) return ev_count_values(q, n, &in, g, out);

    ev_names gn;
    if ((rc = ev_grouping(q, n, NULL, 0, &gn))) return rc;
    int keep = !n->u.agg.without;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    size_t ocap = 0;
    int32_t *row_group = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *row_group);
    if (!row_group) return ev_nomem(q);
    if ((rc = ev_groups(q, &in, &gn, keep, row_group, out, &ocap))) return rc;
    size_t ng = out->n;
    /* Members of each group in input order (counting sort). */
    size_t *start = arena_calloc(q->ar, ng + 1, sizeof *start);
    int32_t *members = arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *members);
    double *qbuf = op == AGG_QUANTILE ? arena_alloc(q->ar, (in.n ? in.n : 1) * sizeof *qbuf) : NULL;
    if (!start || !members || (op == AGG_QUANTILE && !qbuf)) return ev_nomem(q);
    for (size_t r = 0; r < in.n; r++) start[row_group[r] + 1]++;
    for (size_t gi = 0; gi < ng; gi++) start[gi + 1] += start[gi];
    {
        size_t *fill = arena_alloc(q->ar, (ng ? ng : 1) * sizeof *fill);
        if (!fill) return ev_nomem(q);
        for (size_t gi = 0; gi < ng; gi++) fill[gi] = start[gi];
        for (size_t r = 0; r < in.n; r++) members[fill[row_group[r]]++] = (int32_t)r;
    }
    for (size_t gi = 0; gi < ng; gi++) {
        if ((rc = eval_tick(q))) return rc;
        double *res = out->s[gi].v;
        for (size_t i = 0; i < g->n; i++) {
            double val_ = 0, mean = 0, c = 0, count = 0;
            int seen = 0, incr = 0;
            size_t nq = 0;
            for (size_t m = start[gi]; m < start[gi + 1]; m++) {
                double f = in.s[members[m]].v[i];
                if (val_absent(f)) continue;
                if (!seen) {
                    seen = 1;
                    val_ = f;
                    mean = f;
                    c = 0;
                    count = 1;
                    if (op == AGG_STDDEV || op == AGG_STDVAR) val_ = (isnan(f) || isinf(f)) ? NAN : 0;
                    if (op == AGG_GROUP) val_ = 1;
                    if (op == AGG_QUANTILE) qbuf[nq++] = f;
                    continue;
                }
                switch (op) {
                case AGG_SUM: fn_kahan_inc(f, &val_, &c); break;
                case AGG_AVG:
                    count++;
                    if (!incr) {
                        double nv = val_, nc = c;
                        fn_kahan_inc(f, &nv, &nc);
                        if (!isinf(nv)) {
                            val_ = nv, c = nc;
                            break;
                        }
                        incr = 1;
                        mean = val_ / (count - 1);
                        c = c / (count - 1);
                    }
                    if (isinf(mean)) {
                        if (isinf(f) && (mean > 0) == (f > 0)) break;
                        if (!isinf(f) && !isnan(f)) break;
                    }
                    {
                        double cur = mean + c;
                        fn_kahan_inc(f / count - cur / count, &mean, &c);
                    }
                    break;
                case AGG_COUNT: count++; break;
                case AGG_MIN:
                    if (val_ > f || isnan(val_)) val_ = f;
                    break;
                case AGG_MAX:
                    if (val_ < f || isnan(val_)) val_ = f;
                    break;
                case AGG_STDDEV:
                case AGG_STDVAR: {
                    count++;
                    double d = f - mean;
                    mean += d / count;
                    val_ += d * (f - mean);
                    break;
                }
                case AGG_QUANTILE: qbuf[nq++] = f; break;
                default: break;
                }
            }
            if (!seen) continue;
            switch (op) {
            case AGG_SUM: res[i] = isinf(val_) ? val_ : val_ + c; break;
            case AGG_AVG: res[i] = incr ? mean + c : (val_ + c) / count; break;
            case AGG_COUNT: res[i] = count; break;
            case AGG_STDVAR: res[i] = val_ / count; break;
            case AGG_STDDEV: res[i] = sqrt(val_ / count); break;
            case AGG_QUANTILE: res[i] = fn_quantile(param.scalar[i], qbuf, nq); break;
            default: res[i] = val_; break;
            }
        }
    }
    return CAIRN_OK;
}

/* ---- binary operators ---------------------------------------------------------- */

static double ev_arith(ast_binop op, double a, double b)
{
    switch (op) {
    case AST_OP_ADD: return a + b;
    case AST_OP_SUB: return a - b;
    case AST_OP_MUL: return a * b;
    case AST_OP_DIV: return a / b;
    case AST_OP_MOD: return fmod(a, b);
    case AST_OP_POW: return pow(a, b);
    case AST_OP_ATAN2: return atan2(a, b);
    default: return NAN;
    }
}

static int ev_cmp(ast_binop op, double a, double b)
{
    switch (op) {
    case AST_OP_EQLC: return a == b;
    case AST_OP_NEQ: return a != b;
    case AST_OP_GTR: return a > b;
    case AST_OP_LSS: return a < b;
    case AST_OP_GTE: return a >= b;
    case AST_OP_LTE: return a <= b;
    default: return 0;
    }
}

static int ev_scalar_binop(eval_q *q, const ast_node *n, const val *l, const val *r, const eval_grid *g, val *out)
{
    memset(out, 0, sizeof *out);
    out->type = VAL_SCALAR;
    out->n_steps = g->n;
    out->scalar = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *out->scalar);
    if (!out->scalar) return ev_nomem(q);
    ast_binop op = n->u.bin.op;
    for (size_t i = 0; i < g->n; i++)
        out->scalar[i] = ast_binop_is_comparison(op) ? (double)ev_cmp(op, l->scalar[i], r->scalar[i])
                                                     : ev_arith(op, l->scalar[i], r->scalar[i]);
    return CAIRN_OK;
}

static int ev_vector_scalar(eval_q *q, const ast_node *n, const val *vec, const val *sc, int scalar_left,
                            const eval_grid *g, val *out)
{
    ast_binop op = n->u.bin.op;
    int cmp = ast_binop_is_comparison(op), rb = n->u.bin.return_bool;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    out->s = arena_alloc(q->ar, (vec->n ? vec->n : 1) * sizeof *out->s);
    if (!out->s) return ev_nomem(q);
    for (size_t r = 0; r < vec->n; r++) {
        const val_series *row = &vec->s[r];
        double *v = val_absent_array(q->ar, g->n);
        if (!v) return ev_nomem(q);
        for (size_t i = 0; i < g->n; i++) {
            double x = row->v[i];
            if (val_absent(x)) continue;
            double a = scalar_left ? sc->scalar[i] : x, b = scalar_left ? x : sc->scalar[i];
            if (!cmp) {
                v[i] = ev_arith(op, a, b);
                continue;
            }
            int keep = ev_cmp(op, a, b);
            if (rb) v[i] = keep ? 1 : 0;
            else if (keep) v[i] = x;
        }
        out->s[out->n++] = (val_series){row->ls, v, (uint8_t)(row->drop_name || !cmp || rb)};
    }
    return CAIRN_OK;
}

/* Matching signature ids for both sides of a vector-vector operation. */
static int ev_signatures(eval_q *q, const ast_node *n, const val *l, const val *r, int32_t *lsig, int32_t *rsig,
                         size_t *n_sigs)
{
    ev_names mn;
    size_t k = n->u.bin.matching.n;
    mn.p = arena_alloc(q->ar, (k + 1) * sizeof *mn.p);
    mn.len = arena_alloc(q->ar, (k + 1) * sizeof *mn.len);
    if (!mn.p || !mn.len) return ev_nomem(q);
    mn.n = 0;
    for (size_t i = 0; i < k; i++) {
        mn.p[mn.n] = n->u.bin.matching.v[i].p;
        mn.len[mn.n++] = n->u.bin.matching.v[i].len;
    }
    int keep = n->u.bin.has_matching && n->u.bin.on;
    if (!keep) {
        mn.p[mn.n] = EVAL_NAME;
        mn.len[mn.n++] = EVAL_NAME_LEN;
    }
    val_map m;
    if (val_map_init(&m, q->ar, l->n + r->n)) return ev_nomem(q);
    const val_series **rep = arena_alloc(q->ar, (l->n + r->n + 1) * sizeof *rep);
    if (!rep) return ev_nomem(q);
    size_t ns = 0;
    for (int side = 0; side < 2; side++) {
        const val *v = side ? r : l;
        int32_t *sig = side ? rsig : lsig;
        for (size_t i = 0; i < v->n; i++) {
            uint64_t h = val_lset_hash_filter(v->s[i].ls, mn.p, mn.len, mn.n, keep);
            size_t cur = 0;
            int32_t id;
            while ((id = val_map_next(&m, h, &cur)) >= 0)
                if (val_lset_eq_filter(rep[id]->ls, v->s[i].ls, mn.p, mn.len, mn.n, keep)) break;
            if (id < 0) {
                id = (int32_t)ns;
                rep[ns++] = &v->s[i];
                if (val_map_put(&m, h, id)) return ev_nomem(q);
            }
            sig[i] = id;
        }
    }
    *n_sigs = ns;
    return CAIRN_OK;
}

static int ev_set_op(eval_q *q, const ast_node *n, const val *l, const val *r, const eval_grid *g, val *out)
{
    int32_t *lsig = arena_alloc(q->ar, (l->n + 1) * sizeof *lsig);
    int32_t *rsig = arena_alloc(q->ar, (r->n + 1) * sizeof *rsig);
    if (!lsig || !rsig) return ev_nomem(q);
    size_t ns;
    int rc = ev_signatures(q, n, l, r, lsig, rsig, &ns);
    if (rc) return rc;
    size_t *stamp = arena_calloc(q->ar, ns + 1, sizeof *stamp);
    if (!stamp) return ev_nomem(q);
    ast_binop op = n->u.bin.op;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    size_t nrows = l->n + (op == AST_OP_OR ? r->n : 0);
    out->s = arena_alloc(q->ar, (nrows ? nrows : 1) * sizeof *out->s);
    if (!out->s) return ev_nomem(q);
    double **lv = arena_alloc(q->ar, (l->n + 1) * sizeof *lv);
    double **rv = arena_alloc(q->ar, (r->n + 1) * sizeof *rv);
    if (!lv || !rv) return ev_nomem(q);
    for (size_t i = 0; i < l->n; i++)
        if (!(lv[i] = val_absent_array(q->ar, g->n))) return ev_nomem(q);
    if (op == AST_OP_OR)
        for (size_t i = 0; i < r->n; i++)
            if (!(rv[i] = val_absent_array(q->ar, g->n))) return ev_nomem(q);
    for (size_t i = 0; i < g->n; i++) {
        if ((rc = eval_tick(q))) return rc;
        size_t mark = i + 1;
        if (op == AST_OP_OR) {
            for (size_t k = 0; k < l->n; k++)
                if (!val_absent(l->s[k].v[i])) {
                    lv[k][i] = l->s[k].v[i];
                    stamp[lsig[k]] = mark;
                }
            for (size_t k = 0; k < r->n; k++)
                if (!val_absent(r->s[k].v[i]) && stamp[rsig[k]] != mark) rv[k][i] = r->s[k].v[i];
            continue;
        }
        for (size_t k = 0; k < r->n; k++)
            if (!val_absent(r->s[k].v[i])) stamp[rsig[k]] = mark;
        for (size_t k = 0; k < l->n; k++) {
            if (val_absent(l->s[k].v[i])) continue;
            int matched = stamp[lsig[k]] == mark;
            if ((op == AST_OP_AND) == matched) lv[k][i] = l->s[k].v[i];
        }
    }
    for (size_t k = 0; k < l->n; k++) out->s[out->n++] = (val_series){l->s[k].ls, lv[k], l->s[k].drop_name};
    if (op == AST_OP_OR)
        for (size_t k = 0; k < r->n; k++) out->s[out->n++] = (val_series){r->s[k].ls, rv[k], r->s[k].drop_name};
    return CAIRN_OK;
}

static int ev_is_listed(const ast_labels *ls, const char *name, size_t len)
{
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].len == len && !memcmp(ls->v[i].p, name, len)) return 1;
    return 0;
}

/* Prometheus' resultMetric: the labels of an arithmetic/comparison result. */
static int ev_result_labels(eval_q *q, const ast_node *n, val_lset many, val_lset one, val_lset *out)
{
    ast_binop op = n->u.bin.op;
    int rc;
    val_lset ls = many;
    if (!ast_binop_is_comparison(op) && (rc = val_lset_del(q->ar, ls, EVAL_NAME, EVAL_NAME_LEN, &ls))) return rc;
    if (n->u.bin.card == AST_CARD_ONE_TO_ONE && n->u.bin.has_matching) {
        cairn_label *v = arena_alloc(q->ar, (ls.n ? ls.n : 1) * sizeof *v);
        if (!v) return CAIRN_ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < ls.n; i++)
            if (ev_is_listed(&n->u.bin.matching, ls.v[i].name, ls.v[i].name_len) == n->u.bin.on) v[k++] = ls.v[i];
        ls.v = v;
        ls.n = k;
    }
    for (size_t i = 0; i < n->u.bin.include.n; i++) {
        const ast_str *nm = &n->u.bin.include.v[i];
        size_t vl = 0;
        const char *vv = val_lset_get(one, nm->p, nm->len, &vl);
        if ((rc = val_lset_set(q->ar, ls, nm->p, nm->len, vv ? vv : "", vv ? vl : 0, &ls))) return rc;
    }
    *out = ls;
    return CAIRN_OK;
}

static int ev_vector_binop(eval_q *q, const ast_node *n, const val *lhs, const val *rhs, const eval_grid *g, val *out)
{
    ast_binop op = n->u.bin.op;
    int cmp = ast_binop_is_comparison(op), rb = n->u.bin.return_bool;
    int swap = n->u.bin.card == AST_CARD_ONE_TO_MANY;
    const val *L = swap ? rhs : lhs, *R = swap ? lhs : rhs; /* R is the "one" side */
    int32_t *lsig = arena_alloc(q->ar, (L->n + 1) * sizeof *lsig);
    int32_t *rsig = arena_alloc(q->ar, (R->n + 1) * sizeof *rsig);
    if (!lsig || !rsig) return ev_nomem(q);
    size_t ns;
    int rc = ev_signatures(q, n, L, R, lsig, rsig, &ns);
    if (rc) return rc;
    size_t *one_stamp = arena_calloc(q->ar, ns + 1, sizeof *one_stamp);
    int32_t *one_row = arena_alloc(q->ar, (ns + 1) * sizeof *one_row);
    size_t *match_stamp = arena_calloc(q->ar, ns + 1, sizeof *match_stamp);
    /* Per L row: the R row of the cached result labels, and the output row. */
    int32_t *cache_r = arena_alloc(q->ar, (L->n + 1) * sizeof *cache_r);
    int32_t *cache_o = arena_alloc(q->ar, (L->n + 1) * sizeof *cache_o);
    if (!one_stamp || !one_row || !match_stamp || !cache_r || !cache_o) return ev_nomem(q);
    for (size_t k = 0; k < L->n; k++) cache_r[k] = -1;
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    size_t ocap = 0;
    int32_t *osig = NULL; /* signature that last wrote each output row */
    size_t osig_cap = 0;
    val_map om;
    if (val_map_init(&om, q->ar, L->n)) return ev_nomem(q);
    for (size_t i = 0; i < g->n; i++) {
        if ((rc = eval_tick(q))) return rc;
        size_t mark = i + 1;
        int any_l = 0, any_r = 0;
        for (size_t k = 0; k < L->n && !any_l; k++) any_l = !val_absent(L->s[k].v[i]);
        for (size_t k = 0; k < R->n && !any_r; k++) any_r = !val_absent(R->s[k].v[i]);
        if (!any_l || !any_r) continue;
        for (size_t k = 0; k < R->n; k++) {
            if (val_absent(R->s[k].v[i])) continue;
            int32_t s = rsig[k];
            if (one_stamp[s] == mark) {
                const val_series *a = &R->s[k], *b = &R->s[one_row[s]];
                return err_set(q->err, CAIRN_EINVAL,
                               "found duplicate series for the match group on the %s hand-side of the operation: "
                               "[%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
                               swap ? "left" : "right", val_lset_str(q->ar, a->ls), val_lset_str(q->ar, b->ls));
            }
            one_stamp[s] = mark;
            one_row[s] = (int32_t)k;
        }
        for (size_t k = 0; k < L->n; k++) {
            double x = L->s[k].v[i];
            if (val_absent(x)) continue;
            int32_t s = lsig[k];
            if (one_stamp[s] != mark) continue;
            int32_t rr = one_row[s];
            double y = R->s[rr].v[i];
            double fl = swap ? y : x, fr = swap ? x : y;
            /* One-to-one: a second match is an error even when a comparison would drop it (3.x). */
            if (n->u.bin.card == AST_CARD_ONE_TO_ONE) {
                if (match_stamp[s] == mark)
                    return err_set(q->err, CAIRN_EINVAL,
                                   "multiple matches for labels: many-to-one matching must be explicit "
                                   "(group_left/group_right)");
                match_stamp[s] = mark;
            }
            double res;
            if (!cmp) res = ev_arith(op, fl, fr);
            else {
                int keep = ev_cmp(op, fl, fr);
                if (rb) res = keep ? 1 : 0;
                else if (keep) res = fl;
                else continue;
            }
            int32_t o;
            if (cache_r[k] == rr) {
                o = cache_o[k];
            } else {
                val_lset ls;
                if (ev_result_labels(q, n, L->s[k].ls, R->s[rr].ls, &ls)) return ev_nomem(q);
                uint64_t h = val_lset_hash(ls);
                size_t cur = 0;
                while ((o = val_map_next(&om, h, &cur)) >= 0)
                    if (val_lset_eq(out->s[o].ls, ls)) break;
                if (o < 0) {
                    double *v = val_absent_array(q->ar, g->n);
                    if (!v) return ev_nomem(q);
                    o = (int32_t)out->n;
                    uint8_t drop = (uint8_t)(rb || (cmp && L->s[k].drop_name));
                    if ((rc = eval_push_row(q, out, &ocap, ls, v, drop))) return rc;
                    if (val_map_put(&om, h, o)) return ev_nomem(q);
                    if (out->n > osig_cap) {
                        size_t nc = ocap;
                        int32_t *ns2 = arena_alloc(q->ar, nc * sizeof *ns2);
                        if (!ns2) return ev_nomem(q);
                        if (osig) memcpy(ns2, osig, osig_cap * sizeof *ns2);
                        osig = ns2;
                        osig_cap = nc;
                    }
                    osig[o] = -1;
                }
                cache_r[k] = rr;
                cache_o[k] = o;
            }
            if (!val_absent(out->s[o].v[i])) {
                if (osig[o] == s && n->u.bin.card != AST_CARD_ONE_TO_ONE)
                    return err_set(q->err, CAIRN_EINVAL,
                                   "multiple matches for labels: grouping labels must ensure unique matches");
                return err_set(q->err, CAIRN_EINVAL, "vector cannot contain metrics with the same labelset (%s)",
                               val_lset_str(q->ar, out->s[o].ls));
            }
            out->s[o].v[i] = res;
            osig[o] = s;
        }
    }
    return CAIRN_OK;
}

static int ev_binary(eval_q *q, const ast_node *n, const eval_grid *g, val *out)
{
    val l, r;
    int rc = eval_node(q, n->u.bin.lhs, g, &l);
    if (rc) return rc;
    if ((rc = eval_node(q, n->u.bin.rhs, g, &r))) return rc;
    if (l.type == VAL_SCALAR && r.type == VAL_SCALAR) return ev_scalar_binop(q, n, &l, &r, g, out);
    if (l.type == VAL_VECTOR && r.type == VAL_SCALAR) return ev_vector_scalar(q, n, &l, &r, 0, g, out);
    if (l.type == VAL_SCALAR && r.type == VAL_VECTOR) return ev_vector_scalar(q, n, &r, &l, 1, g, out);
    if (l.type != VAL_VECTOR || r.type != VAL_VECTOR)
        return err_set(q->err, CAIRN_EINVAL, "binary expression must contain only scalar and instant vector types");
    if (ast_binop_is_set(n->u.bin.op)) return ev_set_op(q, n, &l, &r, g, out);
    return ev_vector_binop(q, n, &l, &r, g, out);
}

/* ---- the tree walk ------------------------------------------------------------------- */

int eval_node(eval_q *q, const ast_node *n, const eval_grid *g, val *out)
{
    int rc = eval_tick(q);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    out->n_steps = g->n;
    switch (n->kind) {
    case AST_NUMBER:
        out->type = VAL_SCALAR;
        out->scalar = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *out->scalar);
        if (!out->scalar) return ev_nomem(q);
        for (size_t i = 0; i < g->n; i++) out->scalar[i] = n->u.num;
        return CAIRN_OK;
    case AST_STRING:
        out->type = VAL_STRING;
        out->str = n->u.str.p;
        out->str_len = n->u.str.len;
        return CAIRN_OK;
    case AST_PAREN: return eval_node(q, n->u.paren.expr, g, out);
    case AST_VECTOR_SEL: return eval_vector_sel(q, n, g, out, NULL);
    case AST_MATRIX_SEL:
    case AST_SUBQUERY: return ev_matrix_result(q, n, g, out);
    case AST_CALL: return fn_call(q, n, g, out);
    case AST_AGGREGATE: return ev_aggregate(q, n, g, out);
    case AST_BINARY: return ev_binary(q, n, g, out);
    case AST_UNARY: {
        if ((rc = eval_node(q, n->u.un.expr, g, out))) return rc;
        if (!n->u.un.neg) return CAIRN_OK;
        if (out->type == VAL_SCALAR) {
            double *s = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *s);
            if (!s) return ev_nomem(q);
            for (size_t i = 0; i < g->n; i++) s[i] = -out->scalar[i];
            out->scalar = s;
            return CAIRN_OK;
        }
        if (out->type != VAL_VECTOR) return err_set(q->err, CAIRN_EINVAL, "unary minus needs a scalar or vector");
        val_series *rows = arena_alloc(q->ar, (out->n ? out->n : 1) * sizeof *rows);
        if (!rows) return ev_nomem(q);
        for (size_t r = 0; r < out->n; r++) {
            double *v = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *v);
            if (!v) return ev_nomem(q);
            for (size_t i = 0; i < g->n; i++) v[i] = val_absent(out->s[r].v[i]) ? out->s[r].v[i] : -out->s[r].v[i];
            rows[r] = (val_series){out->s[r].ls, v, 1};
        }
        out->s = rows;
        return CAIRN_OK;
    }
    default:
        return err_set(q->err, CAIRN_EINVAL, "%s is not a PromQL expression that can be evaluated",
                       ast_kind_name(n->kind));
    }
}

/* ---- entry point ------------------------------------------------------------------------ */

static int ev_finish(eval_q *q, val *v, int range)
{
    if (v->type == VAL_VECTOR) {
        for (size_t r = 0; r < v->n; r++) {
            if (!v->s[r].drop_name) continue;
            if (val_lset_del(q->ar, v->s[r].ls, EVAL_NAME, EVAL_NAME_LEN, &v->s[r].ls)) return ev_nomem(q);
            v->s[r].drop_name = 0;
        }
        int rc = eval_merge_rows(q, v);
        if (rc) return rc;
        if (range) val_sort_rows(v);
    } else if (v->type == VAL_MATRIX) {
        for (size_t r = 0; r < v->n; r++) {
            if (!v->r[r].drop_name) continue;
            if (val_lset_del(q->ar, v->r[r].ls, EVAL_NAME, EVAL_NAME_LEN, &v->r[r].ls)) return ev_nomem(q);
            v->r[r].drop_name = 0;
        }
        for (size_t a = 0; a < v->n; a++)
            for (size_t b = a + 1; b < v->n; b++)
                if (val_lset_eq(v->r[a].ls, v->r[b].ls))
                    return err_set(q->err, CAIRN_EINVAL, "vector cannot contain metrics with the same labelset (%s)",
                                   val_lset_str(q->ar, v->r[a].ls));
    }
    return CAIRN_OK;
}

int eval_promql(arena *ar, cairn_db *db, const ast_node *root, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                const eval_opts *opts, val *out, cairn_err *err)
{
    memset(out, 0, sizeof *out);
    if (!ar || !db || !root) return err_set(err, CAIRN_EINVAL, "eval_promql: NULL argument");
    eval_q q;
    memset(&q, 0, sizeof q);
    q.ar = ar;
    q.db = db;
    q.err = err;
    if (opts) q.o = *opts;
    else eval_opts_default(&q.o);
    if (q.o.lookback_ms <= 0) q.o.lookback_ms = 5 * 60 * 1000;
    eval_grid g;
    g.start = start_ms;
    if (step_ms <= 0) {
        g.end = start_ms;
        g.step = 1;
        g.n = 1;
    } else {
        if (end_ms < start_ms) return err_set(err, CAIRN_EINVAL, "end timestamp must not be before start time");
        g.end = end_ms;
        g.step = step_ms;
        g.n = (size_t)((end_ms - start_ms) / step_ms) + 1;
        g.end = eval_grid_t(&g, g.n - 1);
    }
    q.q_start = start_ms;
    q.q_end = step_ms <= 0 ? start_ms : g.end;
    q.q_step = step_ms <= 0 ? 0 : step_ms;
    if (q.o.timeout_ms > 0) {
        clock_gettime(CLOCK_MONOTONIC, &q.deadline);
        q.deadline.tv_sec += q.o.timeout_ms / 1000;
        q.deadline.tv_nsec += (q.o.timeout_ms % 1000) * 1000000L;
        if (q.deadline.tv_nsec >= 1000000000L) q.deadline.tv_sec++, q.deadline.tv_nsec -= 1000000000L;
        q.has_deadline = 1;
    }
    if (step_ms > 0 && (root->type == AST_T_MATRIX || root->type == AST_T_STRING))
        return err_set(err, CAIRN_EINVAL, "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
                       ast_type_name(root->type));
    int rc = eval_node(&q, root, &g, out);
    if (rc) return rc;
    return ev_finish(&q, out, step_ms > 0);
}
