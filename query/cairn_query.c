/*
 * cairn_query.c — the query half of include/cairn.h.
 *
 * A cairn_query owns one arena: the parser's tokens and AST, every
 * intermediate value of the evaluation and the final result all live in it,
 * and cairn_query_close() frees them with one call. The handle itself is
 * allocated in the arena too, so there is exactly one thing to free.
 *
 * The evaluator (eval.h) returns column-oriented values over the step grid;
 * this file turns them into what an API client reads: a list of series,
 * each with labels and (t, v) arrays holding only the steps that have a
 * value. A range query of a scalar expression becomes one matrix series
 * without labels (what Prometheus' API returns); an instant scalar stays a
 * scalar with one point.
 *
 * Limits are checked here before evaluation (points per series, as
 * Prometheus' HTTP API refuses more than 11 000 steps) and inside the
 * evaluator (samples, series, deadline). Memory is bounded through the
 * arena: it gets the query's byte budget and the optional shared budget
 * (arena_set_budget), so every byte the query holds — tokens, AST, rows of
 * series x steps, subquery intermediates, strings, the result — counts, and
 * an allocation past either bound fails; val_budget_error() turns that
 * CAIRN_ENOMEM into CAIRN_ELIMIT with a message. After a query that held
 * more than CQ_TRIM_BYTES, closing it also returns freed heap memory to the
 * operating system (mem_trim), because glibc keeps big freed blocks in its
 * heap once its mmap threshold has grown.
 *
 * Threads: a query is used by one thread at a time; different queries are
 * independent and may run in parallel on one cairn_db.
 */
#include <string.h>

#include "arena.h"
#include "cairn.h"
#include "err.h"
#include "eval.h"
#include "logeval.h"
#include "mem.h"
#include "parse.h"
#include "token.h"
#include "value.h"

#define CQ_TRIM_BYTES MEM_TRIM_AFTER_BYTES

cairn_query_budget *cairn_query_budget_new(uint64_t max_bytes)
{
    cairn_query_budget *b = mem_alloc(sizeof *b);
    if (b) mem_budget_init(&b->b, max_bytes);
    return b;
}

void cairn_query_budget_free(cairn_query_budget *b)
{
    if (b) mem_free(b, sizeof *b);
}

uint64_t cairn_query_budget_used(const cairn_query_budget *b) { return b ? mem_budget_used(&b->b) : 0; }

/* A query arena bounded by the options' budgets; NULL when out of memory. */
static arena *cq_arena(const cairn_query_opts *o)
{
    arena *ar = arena_new(64 * 1024);
    if (ar && arena_set_budget(ar, (size_t)o->max_bytes, o->shared_budget ? &o->shared_budget->b : NULL)) {
        arena_free(ar);
        return NULL;
    }
    return ar;
}

/* Free a query arena; return memory to the OS after a big one. */
static void cq_arena_free(arena *ar)
{
    if (!ar) return;
    size_t held = arena_held(ar);
    arena_free(ar);
    if (held > CQ_TRIM_BYTES) mem_trim();
}

typedef struct cq_series {
    val_lset ls;
    int64_t *t;
    double *v;
    size_t n;
} cq_series;

struct cairn_query {
    arena *ar;
    int type;
    cq_series *s;
    size_t n;
    const char *str;
    size_t str_len;
    const leval_stream *streams; /* CAIRN_RESULT_STREAMS (LogQL log queries) */
};

void cairn_query_opts_default(cairn_query_opts *o)
{
    eval_opts e;
    eval_opts_default(&e);
    o->lookback_ms = e.lookback_ms;
    o->subquery_step_ms = e.subquery_step_ms;
    o->max_samples = e.max_samples;
    o->max_series = e.max_series;
    o->timeout_ms = e.timeout_ms;
    o->max_points_per_series = 11000;
    o->max_bytes = 256u * 1024u * 1024u;
    o->shared_budget = NULL;
}

/* Step i's timestamp: from `ts` when the grid was aligned by the evaluator (LogQL), else start + i * step. */
static int64_t cq_t(const int64_t *ts, int64_t start_ms, int64_t step_ms, size_t i)
{
    return ts ? ts[i] : start_ms + (int64_t)i * step_ms;
}

static int cq_build(cairn_query *q, const val *v, int64_t start_ms, int64_t step_ms, const int64_t *ts)
{
    int range = step_ms > 0;
    switch (v->type) {
    case VAL_STRING:
        q->type = CAIRN_RESULT_STRING;
        q->str = v->str;
        q->str_len = v->str_len;
        return CAIRN_OK;
    case VAL_SCALAR: {
        q->type = range ? CAIRN_RESULT_MATRIX : CAIRN_RESULT_SCALAR;
        q->s = arena_calloc(q->ar, 1, sizeof *q->s);
        if (!q->s) return CAIRN_ENOMEM;
        q->s->t = arena_alloc(q->ar, (v->n_steps ? v->n_steps : 1) * sizeof *q->s->t);
        q->s->v = v->scalar;
        if (!q->s->t) return CAIRN_ENOMEM;
        for (size_t i = 0; i < v->n_steps; i++) q->s->t[i] = cq_t(ts, start_ms, step_ms, i);
        q->s->n = v->n_steps;
        q->n = 1;
        return CAIRN_OK;
    }
    case VAL_VECTOR:
        q->type = range ? CAIRN_RESULT_MATRIX : CAIRN_RESULT_VECTOR;
        q->s = arena_calloc(q->ar, v->n ? v->n : 1, sizeof *q->s);
        if (!q->s) return CAIRN_ENOMEM;
        for (size_t r = 0; r < v->n; r++) {
            size_t k = 0;
            for (size_t i = 0; i < v->n_steps; i++) k += !val_absent(v->s[r].v[i]);
            if (!k) continue;
            cq_series *s = &q->s[q->n++];
            s->ls = v->s[r].ls;
            s->t = arena_alloc(q->ar, k * sizeof *s->t);
            s->v = arena_alloc(q->ar, k * sizeof *s->v);
            if (!s->t || !s->v) return CAIRN_ENOMEM;
            for (size_t i = 0; i < v->n_steps; i++) {
                if (val_absent(v->s[r].v[i])) continue;
                s->t[s->n] = cq_t(ts, start_ms, step_ms, i);
                s->v[s->n] = v->s[r].v[i];
                s->n++;
            }
        }
        return CAIRN_OK;
    case VAL_MATRIX:
        q->type = CAIRN_RESULT_MATRIX;
        q->s = arena_calloc(q->ar, v->n ? v->n : 1, sizeof *q->s);
        if (!q->s) return CAIRN_ENOMEM;
        for (size_t r = 0; r < v->n; r++) q->s[q->n++] = (cq_series){v->r[r].ls, v->r[r].t, v->r[r].v, v->r[r].n};
        return CAIRN_OK;
    default: return CAIRN_EINTERNAL;
    }
}

/* Evaluate a parsed LogQL tree into q (streams, or series like PromQL's). */
static int logql_run(cairn_query *q, cairn_db *db, const ast_node *root, const leval_params *prm,
                     const cairn_query_opts *o, cairn_err *err)
{
    leval_opts lo;
    leval_opts_default(&lo);
    if (o->timeout_ms) lo.timeout_ms = o->timeout_ms;
    if (o->max_points_per_series) lo.max_points = o->max_points_per_series;
    leval_result r;
    int rc = leval_eval(q->ar, db, root, prm, &lo, &r, err);
    if (rc) return rc;
    switch (r.kind) {
    case LEVAL_STREAMS:
        q->type = CAIRN_RESULT_STREAMS;
        q->streams = r.streams;
        q->n = r.n_streams;
        return CAIRN_OK;
    case LEVAL_MATRIX:
    case LEVAL_VECTOR:
    case LEVAL_SCALAR:
        /* r.t_ms holds the aligned step times; only "range or not" is needed from the step */
        rc = cq_build(q, &r.v, r.start_ns / 1000000, r.kind == LEVAL_MATRIX ? 1 : 0, r.t_ms);
        if (rc) return err_set(err, rc, "out of memory building the query result");
        return CAIRN_OK;
    default: return err_set(err, CAIRN_EINTERNAL, "unknown LogQL result kind %d", r.kind);
    }
}

int cairn_logql_open(cairn_db *db, const char *text, size_t len, int64_t start_ns, int64_t end_ns, int64_t step_ns,
                     uint32_t limit, int direction, const cairn_query_opts *opts, cairn_query **out, cairn_err *err)
{
    if (out) *out = NULL;
    if (!db || !out || (!text && len)) return err_set(err, CAIRN_EINVAL, "cairn_logql_open: NULL argument");
    if (step_ns < 0) return err_set(err, CAIRN_EINVAL, "step must be positive (or 0 for an instant query)");
    if (direction != CAIRN_FORWARD && direction != CAIRN_BACKWARD)
        return err_set(err, CAIRN_EINVAL, "direction must be CAIRN_FORWARD or CAIRN_BACKWARD");
    cairn_query_opts o;
    if (opts) o = *opts;
    else cairn_query_opts_default(&o);
    arena *ar = cq_arena(&o);
    if (!ar) return err_set(err, CAIRN_ENOMEM, "out of memory opening a query");
    cairn_query *q = arena_calloc(ar, 1, sizeof *q);
    ast_node *root = NULL;
    int rc;
    if (!q) {
        rc = err_set(err, CAIRN_ENOMEM, "out of memory opening a query");
        goto fail;
    }
    q->ar = ar;
    if ((rc = parse_query(ar, QLANG_LOGQL, text ? text : "", len, &root, err))) goto fail;
    leval_params prm = {.start_ns = start_ns,
                        .end_ns = step_ns ? end_ns : start_ns,
                        .step_ns = step_ns,
                        .limit = limit,
                        .direction = direction};
    if (leval_is_log_query(root) && !step_ns) {
        /* a log query reads [start, end) whatever the step; the evaluator wants a range */
        prm.end_ns = end_ns;
        prm.step_ns = end_ns > start_ns ? end_ns - start_ns : 1;
    }
    if ((rc = logql_run(q, db, root, &prm, &o, err))) goto fail;
    *out = q;
    return CAIRN_OK;
fail:
    rc = val_budget_error(ar, rc, err);
    cq_arena_free(ar);
    return rc;
}

int cairn_query_stream(const cairn_query *q, size_t i, const cairn_label **labels, size_t *n_labels,
                       size_t *n_entries)
{
    if (!q || q->type != CAIRN_RESULT_STREAMS || i >= q->n) return CAIRN_NOTFOUND;
    if (labels) *labels = q->streams[i].ls.v;
    if (n_labels) *n_labels = q->streams[i].ls.n;
    if (n_entries) *n_entries = q->streams[i].n;
    return CAIRN_OK;
}

int cairn_query_entry(const cairn_query *q, size_t i, size_t j, int64_t *t_ns, const char **line, size_t *len)
{
    if (!q || q->type != CAIRN_RESULT_STREAMS || i >= q->n || j >= q->streams[i].n) return CAIRN_NOTFOUND;
    const leval_entry *e = &q->streams[i].e[j];
    if (t_ns) *t_ns = e->t_ns;
    if (line) *line = e->line;
    if (len) *len = e->len;
    return CAIRN_OK;
}

int cairn_query_open(cairn_db *db, int lang, const char *text, size_t len, int64_t start_ms, int64_t end_ms,
                     int64_t step_ms, const cairn_query_opts *opts, cairn_query **out, cairn_err *err)
{
    if (out) *out = NULL;
    if (!db || !out || (!text && len)) return err_set(err, CAIRN_EINVAL, "cairn_query_open: NULL argument");
    if (lang != CAIRN_LANG_PROMQL && lang != CAIRN_LANG_LOGQL)
        return err_set(err, CAIRN_EINVAL, "unknown query language %d", lang);
    if (step_ms < 0) return err_set(err, CAIRN_EINVAL, "step must be positive (or 0 for an instant query), got %lld ms",
                                    (long long)step_ms);
    cairn_query_opts o;
    if (opts) o = *opts;
    else cairn_query_opts_default(&o);
    if (step_ms > 0) {
        if (end_ms < start_ms) return err_set(err, CAIRN_EINVAL, "end timestamp must not be before start time");
        uint64_t points = (uint64_t)(end_ms - start_ms) / (uint64_t)step_ms + 1;
        if (o.max_points_per_series && points > o.max_points_per_series)
            return err_set(err, CAIRN_ELIMIT,
                           "exceeded maximum resolution of %u points per timeseries. Try decreasing the query "
                           "resolution (?step=XX)",
                           o.max_points_per_series);
    }
    arena *ar = cq_arena(&o);
    if (!ar) return err_set(err, CAIRN_ENOMEM, "out of memory opening a query");
    cairn_query *q = arena_calloc(ar, 1, sizeof *q);
    int rc;
    if (!q) {
        rc = err_set(err, CAIRN_ENOMEM, "out of memory opening a query");
        goto fail;
    }
    q->ar = ar;
    ast_node *root = NULL;
    if ((rc = parse_query(ar, lang == CAIRN_LANG_PROMQL ? QLANG_PROMQL : QLANG_LOGQL, text ? text : "", len, &root,
                          err)))
        goto fail;
    if (lang == CAIRN_LANG_LOGQL) {
        leval_params prm = {.start_ns = start_ms * 1000000,
                            .end_ns = (step_ms ? end_ms : start_ms) * 1000000,
                            .step_ns = step_ms * 1000000,
                            .direction = CAIRN_BACKWARD};
        if ((rc = logql_run(q, db, root, &prm, &o, err))) goto fail;
        *out = q;
        return CAIRN_OK;
    }
    eval_opts eo;
    eo.lookback_ms = o.lookback_ms;
    eo.subquery_step_ms = o.subquery_step_ms;
    eo.max_samples = o.max_samples;
    eo.max_series = o.max_series;
    eo.timeout_ms = o.timeout_ms;
    val v;
    if ((rc = eval_promql(ar, db, root, start_ms, end_ms, step_ms, &eo, &v, err))) goto fail;
    if ((rc = cq_build(q, &v, start_ms, step_ms, NULL))) {
        rc = err_set(err, rc, "out of memory building the query result");
        goto fail;
    }
    *out = q;
    return CAIRN_OK;
fail:
    rc = val_budget_error(ar, rc, err);
    cq_arena_free(ar);
    return rc;
}

int cairn_query_result_type(const cairn_query *q) { return q ? q->type : 0; }

size_t cairn_query_series_count(const cairn_query *q) { return q ? q->n : 0; }

int cairn_query_series(const cairn_query *q, size_t i, const cairn_label **labels, size_t *n_labels,
                       const int64_t **t_ms, const double **values, size_t *n_points)
{
    if (!q || q->type == CAIRN_RESULT_STREAMS || i >= q->n) return CAIRN_NOTFOUND;
    const cq_series *s = &q->s[i];
    if (labels) *labels = s->ls.v;
    if (n_labels) *n_labels = s->ls.n;
    if (t_ms) *t_ms = s->t;
    if (values) *values = s->v;
    if (n_points) *n_points = s->n;
    return CAIRN_OK;
}

int cairn_query_string(const cairn_query *q, const char **s, size_t *len)
{
    if (!q || q->type != CAIRN_RESULT_STRING) return CAIRN_NOTFOUND;
    if (s) *s = q->str;
    if (len) *len = q->str_len;
    return CAIRN_OK;
}

void cairn_query_close(cairn_query *q)
{
    if (q) cq_arena_free(q->ar);
}
