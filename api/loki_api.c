/*
 * loki_api.c — the Loki HTTP query API on `cairn serve`, shaped for
 * Grafana's Loki data source (shared/docs/api-contract.md B; our reference
 * is docs/api.md).
 *
 * Queries go to the LogQL evaluator (query/logeval.h) with the parameters
 * parsed here by Loki's rules: timestamps are nanoseconds when longer than
 * 10 digits, seconds otherwise (Grafana's health check sends time=4000000000,
 * which Loki reads as seconds, year 2096: accepted), or float seconds or RFC
 * 3339; `step` is float seconds or a duration (Grafana sends "15000ms");
 * `limit` defaults to 100 and `direction` to backward. Metric range queries
 * are aligned to the step the way Loki's query frontend does (logeval).
 *
 * Key order is load-bearing: Grafana's streaming parser picks the stream
 * decoder when it reaches "result", so data is written as resultType,
 * encodingFlags (only when echoing the request header), result, stats; and
 * every stream object has "stream" before "values". Entry timestamps are
 * strings of nanoseconds, sample timestamps numbers of seconds, values
 * strings.
 *
 * Two stream encodings, chosen per request from
 * X-Loki-Response-Encoding-Flags: without "categorize-labels" each value is
 * ["<ns>","<line>"] and streams are split by their complete label set
 * (parsed labels and structured metadata included), which is exactly what
 * the evaluator returns. With it, each value is a 3-tuple whose third
 * element is always an object ({} when empty) holding "structuredMetadata"
 * and then "parsed" (each only when non-empty), and "stream" keeps the
 * labels of origin "stream" only. The evaluator tags every result label
 * with its origin (query/logeval.h, leval_stream.origin: stream, structured
 * metadata, parsed; __error__ counts as parsed, as in Loki's LabelsBuilder)
 * and, for a categorised query, splits streams by origins too; this file
 * then groups the result streams by their stream-origin labels (Loki's
 * categorize iterator re-keys entries the same way) and merges their
 * entries in the requested direction.
 *
 * Errors are plain text like Loki's: 400 for parse errors, bad parameters,
 * limits and log queries on the instant endpoint; 504 for timeouts; 503 when
 * the concurrency gate is full (with Retry-After) or the database is still
 * opening; 500 for our faults. X-Scope-OrgID is accepted and ignored: cairn
 * has one tenant.
 *
 * index/stats and index/volume(_range) scan the selected streams' entries
 * (bounded by the same sample limit as queries); detected_labels answers
 * from the index. detected_fields, detected_field/<name>/values and
 * patterns sample recent entries (api/loki_detect.c); /loki/api/v1/tail is
 * the WebSocket live tail (api/loki_tail.c). loki_int.h is what the three
 * files share.
 *
 * Threads: like prom_api.c — handlers on the pool, one arena per request.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "ast.h"
#include "err.h"
#include "logeval.h"
#include "loki_api.h"
#include "loki_int.h"
#include "mem.h"
#include "parse.h"
#include "print.h"
#include "value.h"

/* ==== Parameters ============================================================== */

int lapi_parse_time(const char *s, int64_t *t_ns)
{
    if (!s || !*s) return -1;
    if (strchr(s, '.')) {
        int64_t ms;
        /* float seconds, rounded to ms, as Loki's parser does */
        char *e;
        errno = 0;
        double f = strtod(s, &e);
        if (!*e && e != s && !isspace((unsigned char)*s)) {
            if (!(f > -9.2e9 && f < 9.2e9)) return -1;
            double ip;
            double fr = modf(f, &ip);
            ms = (int64_t)ip * 1000 + (int64_t)llround(fr * 1000);
            *t_ns = ms * 1000000;
            return 0;
        }
    }
    int all_digits = *s != 0;
    const char *p = s;
    if (*p == '-') p++;
    if (!*p) all_digits = 0;
    for (; *p; p++)
        if (*p < '0' || *p > '9') all_digits = 0;
    if (all_digits) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno) return -1;
        if (strlen(s) <= 10) {
            if (v > INT64_MAX / 1000000000 || v < INT64_MIN / 1000000000) return -1;
            *t_ns = (int64_t)v * 1000000000;
        } else {
            *t_ns = (int64_t)v;
        }
        return 0;
    }
    int64_t sec;
    int32_t ns;
    if (papi_parse_rfc3339(s, &sec, &ns)) return -1;
    if (sec > INT64_MAX / 1000000000 - 1 || sec < INT64_MIN / 1000000000 + 1) return -1;
    *t_ns = sec * 1000000000 + ns;
    return 0;
}

static void lerr(http_req *r, unsigned status, const char *msg) { http_respond_text(r, status, "%s", msg); }

void lapi_err_code(http_req *r, int code, const char *msg)
{
    unsigned st;
    switch (code) {
    case CAIRN_EPARSE:
    case CAIRN_EINVAL:
    case CAIRN_ELIMIT: st = 400; break;
    case CAIRN_ETIMEOUT: st = 504; break;
    default: st = 500;
    }
    lerr(r, st, msg);
}

static void bad_param(http_req *r, const char *name, const char *text)
{
    http_respond_text(r, 400, "invalid %s: cannot parse \"%.200s\"", name, text);
}

/* Loki's lookback when `start` and `since` are absent: 1 h for queries, series and index endpoints
 * (pkg/loghttp/params.go defaultSince), 6 h for labels and label values (loki-http-api.md). */
#define LAPI_SINCE_MS (3600 * 1000LL)
#define LAPI_LABELS_SINCE_MS (6 * 3600 * 1000LL)

/* start/end as Loki reads them: end = now; start = min(end, now) - since (a future end does not move
 * start, as Loki documents for `since`), since defaulting to def_since_ms; an explicit start wins.
 * -1 after answering 400. */
static int read_range_since(papi_req *q, int64_t def_since_ms, int64_t *start, int64_t *end)
{
    const char *s;
    int64_t since_ms = def_since_ms, now_ns = papi_now_ms() * 1000000;
    *end = now_ns;
    if ((s = papi_arg(q, "end")) && lapi_parse_time(s, end)) return bad_param(q->http, "end timestamp", s), -1;
    if ((s = papi_arg(q, "since")) && (papi_parse_duration(s, &since_ms) || since_ms < 0))
        return bad_param(q->http, "since", s), -1;
    *start = (*end > now_ns ? now_ns : *end) - since_ms * 1000000;
    if ((s = papi_arg(q, "start")) && lapi_parse_time(s, start)) return bad_param(q->http, "start timestamp", s), -1;
    return 0;
}

int lapi_read_range(papi_req *q, int64_t *start, int64_t *end)
{
    return read_range_since(q, LAPI_SINCE_MS, start, end);
}

int lapi_has_flag(http_req *r, const char *flag)
{
    const char *h = http_header(r, "X-Loki-Response-Encoding-Flags");
    size_t fl = strlen(flag);
    while (h && *h) {
        while (*h == ' ' || *h == ',') h++;
        const char *e = h;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > h && t[-1] == ' ') t--;
        if ((size_t)(t - h) == fl && !strncmp(h, flag, fl)) return 1;
        h = e;
    }
    return 0;
}

/* ==== Output pieces ============================================================= */

void lapi_write_lset(jw *w, const cairn_label *ls, size_t n)
{
    jw_obj(w);
    for (size_t i = 0; i < n; i++) {
        jw_keyn(w, ls[i].name, ls[i].name_len);
        jw_str(w, ls[i].value, ls[i].value_len);
    }
    jw_obj_end(w);
}

static void write_stats(jw *w, const leval_stats *st)
{
    double ex = st->exec_s > 0 ? st->exec_s : 1e-9;
    jw_key(w, "stats");
    jw_obj(w);
    jw_key(w, "summary");
    jw_obj(w);
    jw_key(w, "bytesProcessedPerSecond");
    jw_uint(w, (uint64_t)((double)st->bytes_scanned / ex));
    jw_key(w, "linesProcessedPerSecond");
    jw_uint(w, (uint64_t)((double)st->entries_scanned / ex));
    jw_key(w, "totalBytesProcessed");
    jw_uint(w, st->bytes_scanned);
    jw_key(w, "totalLinesProcessed");
    jw_uint(w, st->entries_scanned);
    jw_key(w, "execTime");
    jw_num(w, st->exec_s);
    jw_key(w, "queueTime");
    jw_int(w, 0);
    jw_key(w, "subqueries");
    jw_int(w, 0);
    jw_key(w, "totalEntriesReturned");
    jw_uint(w, st->entries_returned);
    jw_key(w, "totalPostFilterLines");
    jw_uint(w, st->entries_kept);
    jw_obj_end(w);
    jw_key(w, "querier");
    jw_obj(w);
    jw_key(w, "store");
    jw_obj(w);
    jw_key(w, "totalChunksRef");
    jw_uint(w, st->streams_selected);
    jw_key(w, "totalChunksDownloaded");
    jw_int(w, 0);
    jw_key(w, "chunksDownloadTime");
    jw_int(w, 0);
    jw_key(w, "chunk");
    jw_obj(w);
    jw_key(w, "decompressedBytes");
    jw_uint(w, st->bytes_scanned);
    jw_key(w, "decompressedLines");
    jw_uint(w, st->entries_scanned);
    jw_key(w, "totalDuplicates");
    jw_int(w, 0);
    jw_obj_end(w);
    jw_obj_end(w);
    jw_obj_end(w);
    jw_key(w, "ingester");
    jw_obj(w);
    jw_key(w, "totalReached");
    jw_int(w, 0);
    jw_obj_end(w);
    jw_obj_end(w);
}

/* ==== Categorised streams ======================================================= */

typedef struct lcat {
    int64_t t;
    size_t stream, idx; /* source result stream and entry */
} lcat;

static int cat_cmp_fwd(const void *a, const void *b)
{
    const lcat *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cat_cmp_bwd(const void *a, const void *b)
{
    const lcat *x = a, *y = b;
    if (x->t != y->t) return x->t > y->t ? -1 : 1;
    if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct lgroup {
    val_lset idx; /* the labels of origin "stream" */
    size_t stream;
} lgroup;

static int group_cmp(const void *a, const void *b)
{
    const lgroup *x = a, *y = b;
    int c = val_lset_cmp(x->idx, y->idx);
    return c ? c : (x->stream > y->stream) - (x->stream < y->stream);
}

static int is_origin(const leval_stream *s, size_t i, int which)
{
    int o = s->origin ? s->origin[i] : LEVAL_ORIGIN_STREAM;
    if (o == LEVAL_ORIGIN_ERROR) o = LEVAL_ORIGIN_PARSED;
    return o == which;
}

/* One category of a stream's labels as an object under `key`; nothing when empty. */
static void write_category(jw *w, const leval_stream *s, const char *key, int which)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ls.n; i++) n += is_origin(s, i, which);
    if (!n) return;
    jw_key(w, key);
    jw_obj(w);
    for (size_t i = 0; i < s->ls.n; i++) {
        if (!is_origin(s, i, which)) continue;
        jw_keyn(w, s->ls.v[i].name, s->ls.v[i].name_len);
        jw_str(w, s->ls.v[i].value, s->ls.v[i].value_len);
    }
    jw_obj_end(w);
}

/* A value's third element: {"structuredMetadata":{…},"parsed":{…}}, each key only when non-empty. */
static void write_cat_extra(jw *w, const leval_stream *s)
{
    jw_obj(w);
    write_category(w, s, "structuredMetadata", LEVAL_ORIGIN_META);
    write_category(w, s, "parsed", LEVAL_ORIGIN_PARSED);
    jw_obj_end(w);
}

int lapi_write_streams(jw *w, arena *ar, const leval_result *res, int cat, int backward, cairn_err *e)
{
    jw_arr(w);
    if (!cat) {
        for (size_t i = 0; i < res->n_streams; i++) {
            const leval_stream *s = &res->streams[i];
            jw_obj(w);
            jw_key(w, "stream");
            lapi_write_lset(w, s->ls.v, s->ls.n);
            jw_key(w, "values");
            jw_arr(w);
            for (size_t k = 0; k < s->n; k++) {
                jw_arr(w);
                jw_ns_str(w, s->e[k].t_ns);
                jw_str(w, s->e[k].line, s->e[k].len);
                jw_arr_end(w);
            }
            jw_arr_end(w);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        return CAIRN_OK;
    }
    /* Group the evaluator's streams (split by labels and origins) by their
     * stream-origin labels, as Loki's categorize iterator re-keys entries. */
    size_t ns = res->n_streams;
    lgroup *g = arena_alloc(ar, (ns + 1) * sizeof *g);
    if (!g) return err_set(e, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; i < ns; i++) {
        const leval_stream *s = &res->streams[i];
        cairn_label *v = arena_alloc(ar, (s->ls.n + 1) * sizeof *v);
        if (!v) return err_set(e, CAIRN_ENOMEM, "out of memory");
        size_t k = 0;
        for (size_t j = 0; j < s->ls.n; j++)
            if (is_origin(s, j, LEVAL_ORIGIN_STREAM)) v[k++] = s->ls.v[j];
        g[i].idx = (val_lset){v, k};
        g[i].stream = i;
    }
    qsort(g, ns, sizeof *g, group_cmp);
    for (size_t i = 0; i < ns;) {
        size_t j = i, total = 0;
        while (j < ns && val_lset_eq(g[j].idx, g[i].idx)) total += res->streams[g[j].stream].n, j++;
        lcat *ents = arena_alloc(ar, (total + 1) * sizeof *ents);
        if (!ents) return err_set(e, CAIRN_ENOMEM, "out of memory");
        size_t ne = 0;
        for (size_t x = i; x < j; x++) {
            const leval_stream *s = &res->streams[g[x].stream];
            for (size_t y = 0; y < s->n; y++) ents[ne++] = (lcat){s->e[y].t_ns, g[x].stream, y};
        }
        if (j - i > 1) qsort(ents, ne, sizeof *ents, backward ? cat_cmp_bwd : cat_cmp_fwd);
        jw_obj(w);
        jw_key(w, "stream");
        lapi_write_lset(w, g[i].idx.v, g[i].idx.n);
        jw_key(w, "values");
        jw_arr(w);
        for (size_t y = 0; y < ne; y++) {
            const leval_stream *s = &res->streams[ents[y].stream];
            const leval_entry *en = &s->e[ents[y].idx];
            jw_arr(w);
            jw_ns_str(w, en->t_ns);
            jw_str(w, en->line, en->len);
            write_cat_extra(w, s);
            jw_arr_end(w);
        }
        jw_arr_end(w);
        jw_obj_end(w);
        i = j;
    }
    jw_arr_end(w);
    return CAIRN_OK;
}

/* Metric results in Loki's spelling. */
static void write_metric(jw *w, const leval_result *res)
{
    if (res->kind == LEVAL_SCALAR) {
        jw_arr(w);
        jw_loki_time(w, res->t_ms[0]);
        jw_loki_value(w, res->v.scalar[0]);
        jw_arr_end(w);
        return;
    }
    const val *v = &res->v;
    jw_arr(w);
    for (size_t i = 0; i < v->n; i++) {
        jw_obj(w);
        jw_key(w, "metric");
        lapi_write_lset(w, v->s[i].ls.v, v->s[i].ls.n);
        if (res->kind == LEVAL_VECTOR) {
            jw_key(w, "value");
            jw_arr(w);
            jw_loki_time(w, res->t_ms[0]);
            jw_loki_value(w, v->s[i].v[0]);
            jw_arr_end(w);
        } else {
            jw_key(w, "values");
            jw_arr(w);
            for (size_t s = 0; s < v->n_steps; s++) {
                if (val_absent(v->s[i].v[s])) continue;
                jw_arr(w);
                jw_loki_time(w, res->t_ms[s]);
                jw_loki_value(w, v->s[i].v[s]);
                jw_arr_end(w);
            }
            jw_arr_end(w);
        }
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/* ==== query and query_range ======================================================= */

/* A lower bound of the JSON bytes of `res`: lines and labels, ~30 bytes per
 * entry ("["1700000000000000000","…"],"), ~16 per metric point. */
static uint64_t lapi_result_bytes(const leval_result *res)
{
    uint64_t est = 256;
    if (res->kind == LEVAL_STREAMS) {
        for (size_t i = 0; i < res->n_streams; i++) {
            const leval_stream *st = &res->streams[i];
            est += 32;
            for (size_t k = 0; k < st->ls.n; k++) est += st->ls.v[k].name_len + st->ls.v[k].value_len + 6;
            for (size_t j = 0; j < st->n; j++) est += st->e[j].len + 30;
        }
    } else if (res->v.type == VAL_VECTOR) {
        for (size_t i = 0; i < res->v.n; i++) {
            const val_series *row = &res->v.s[i];
            est += 32;
            for (size_t k = 0; k < row->ls.n; k++) est += row->ls.v[k].name_len + row->ls.v[k].value_len + 6;
            for (size_t j = 0; j < res->v.n_steps; j++) est += val_absent(row->v[j]) ? 0 : 16;
        }
    }
    return est;
}

static void run_query(papi_ctx *c, papi_req *q, int range)
{
    http_req *r = q->http;
    const char *text = papi_arg(q, "query"), *s;
    leval_params prm;
    memset(&prm, 0, sizeof prm);
    prm.direction = CAIRN_BACKWARD;
    if (!text) return lerr(r, 400, "query parameter is required");
    uint64_t limit = 100;
    if ((s = papi_arg(q, "limit")) && (papi_parse_uint(s, &limit) || !limit || limit > UINT32_MAX))
        return lerr(r, 400, "limit must be a positive value");
    prm.limit = (uint32_t)limit;
    if ((s = papi_arg(q, "direction"))) {
        if (!strcasecmp(s, "forward")) prm.direction = CAIRN_FORWARD;
        else if (strcasecmp(s, "backward")) return lerr(r, 400, "invalid direction: must be forward or backward");
    }
    if (range) {
        if (lapi_read_range(q, &prm.start_ns, &prm.end_ns)) return;
        if (prm.end_ns < prm.start_ns) return lerr(r, 400, "end timestamp must not be before start time");
        int64_t step_ms;
        if ((s = papi_arg(q, "step"))) {
            if (papi_parse_duration(s, &step_ms)) return bad_param(r, "step", s);
            if (step_ms <= 0)
                return lerr(r, 400,
                            "zero or negative query resolution step widths are not accepted. Try a positive integer");
        } else {
            step_ms = (prm.end_ns - prm.start_ns) / 250 / 1000000000 * 1000;
            if (step_ms < 1000) step_ms = 1000;
        }
        if ((uint64_t)(prm.end_ns - prm.start_ns) / 1000000 / (uint64_t)step_ms > 11000)
            return lerr(r, 400,
                        "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of "
                        "the step parameter");
        prm.step_ns = step_ms * 1000000;
    } else {
        prm.start_ns = papi_now_ms() * 1000000;
        if ((s = papi_arg(q, "time")) && lapi_parse_time(s, &prm.start_ns)) return bad_param(r, "time", s);
        prm.end_ns = prm.start_ns;
    }
    ast_node *root;
    cairn_err e;
    if (parse_query(q->ar, QLANG_LOGQL, text, strlen(text), &root, &e)) return lerr(r, 400, e.msg);
    int is_log = leval_is_log_query(root);
    if (is_log && !range)
        return lerr(r, 400,
                    "log queries are not supported as an instant query type, please change your query to a range "
                    "query type");
    leval_opts o;
    leval_opts_default(&o);
    o.timeout_ms = c->timeout_ms;
    o.max_limit = c->max_loki_limit;
    o.categorize = is_log && lapi_has_flag(r, "categorize-labels");
    if (c->max_samples) o.max_entries = c->max_samples;
    /* Loki's own max_query_series (500) unless --query-max-series was given */
    if (c->max_series_set && c->max_series) o.max_series = c->max_series;
    cairn_db *db = papi_db(c, r, 1);
    int64_t waited = 0;
    if (!db || !papi_gate_enter_wait(c, r, 1, o.timeout_ms, &waited)) return;
    if (o.timeout_ms > 0) o.timeout_ms = o.timeout_ms > waited + 1 ? o.timeout_ms - waited : 1;
    /* the evaluation lives in the request arena: bound it like a PromQL query's */
    if (arena_set_budget(q->ar, (size_t)c->max_bytes, c->budget ? &c->budget->b : NULL)) {
        papi_gate_leave(c);
        return lerr(r, 400, "the queries running now use the whole query memory budget "
                            "(--query-max-bytes-total); retry later");
    }
    leval_result res;
    int rc = leval_eval(q->ar, db, root, &prm, &o, &res, &e);
    papi_gate_leave(c);
    rc = val_budget_error(q->ar, rc, &e);
    /* the answer is built outside the arena: stop counting it against the shared budget */
    arena_set_budget(q->ar, 0, NULL);
    if (rc) return lapi_err_code(r, rc, e.msg);
    uint64_t est = lapi_result_bytes(&res);
    if (c->max_response_bytes && est > c->max_response_bytes) {
        http_respond_text(r, 400,
                          "query result would be larger than %llu bytes (--query-max-response-bytes); lower the "
                          "limit, narrow the selector or shorten the range",
                          (unsigned long long)c->max_response_bytes);
        return;
    }
    int cat = res.kind == LEVAL_STREAMS && o.categorize;
    jw w;
    jw_init(&w, 4096 + res.stats.entries_returned * 96 + res.stats.series_returned * 64 * (res.v.n_steps + 1));
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "resultType");
    jw_str_z(&w, res.kind == LEVAL_STREAMS  ? "streams"
                 : res.kind == LEVAL_MATRIX ? "matrix"
                 : res.kind == LEVAL_VECTOR ? "vector"
                                            : "scalar");
    if (cat) {
        jw_key(&w, "encodingFlags");
        jw_arr(&w);
        jw_str_z(&w, "categorize-labels");
        jw_arr_end(&w);
    }
    jw_key(&w, "result");
    if (res.kind == LEVAL_STREAMS) {
        rc = lapi_write_streams(&w, q->ar, &res, cat, prm.direction == CAIRN_BACKWARD, &e);
        if (rc) {
            jw_free(&w);
            return lapi_err_code(r, rc, e.msg);
        }
    } else {
        write_metric(&w, &res);
    }
    write_stats(&w, &res.stats);
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
}

static void h_query(http_req *r, void *ctx)
{
    papi_req q;
    if (papi_req_init(&q, r)) lerr(r, 500, "out of memory");
    else run_query(ctx, &q, 0);
    papi_req_free(&q);
}

static void h_query_range(http_req *r, void *ctx)
{
    papi_req q;
    if (papi_req_init(&q, r)) lerr(r, 500, "out of memory");
    else run_query(ctx, &q, 1);
    papi_req_free(&q);
}

/* ==== labels, values, series ============================================================== */

/* The selector of `query` (optional) into matchers. -1 after answering 400. */
int lapi_opt_selector(papi_req *q, const char *text, cairn_matcher **m, size_t *n)
{
    *m = NULL;
    *n = 0;
    if (!text) return 0;
    cairn_err e;
    if (papi_selector(q->ar, CAIRN_LANG_LOGQL, text, m, n, &e)) return lerr(q->http, 400, e.msg), -1;
    return 0;
}

static void strings_answer(papi_ctx *c, http_req *r, const char *name)
{
    papi_req q;
    int64_t start, end;
    cairn_matcher *m;
    size_t nm;
    if (papi_req_init(&q, r)) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    if (read_range_since(&q, LAPI_LABELS_SINCE_MS, &start, &end) ||
        lapi_opt_selector(&q, papi_arg(&q, "query"), &m, &nm))
        goto out;
    cairn_db *db = papi_db(c, r, 1);
    if (!db || !papi_gate_enter(c, r, 1)) goto out;
    cairn_strings *st = NULL;
    cairn_err e;
    int rc = name ? cairn_label_values(db, CAIRN_KIND_LOG, name, strlen(name), m, nm, start, end, &st, &e)
                  : cairn_label_names(db, CAIRN_KIND_LOG, m, nm, start, end, &st, &e);
    papi_gate_leave(c);
    if (rc) {
        lapi_err_code(r, rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 256 + cairn_strings_count(st) * 24);
    papi_begin(&w);
    jw_arr(&w);
    const char *s;
    size_t n;
    while (cairn_strings_next(st, &s, &n)) jw_str(&w, s, n);
    jw_arr_end(&w);
    cairn_strings_close(st);
    papi_end(r, &w, NULL);
out:
    papi_req_free(&q);
}

static void h_labels(http_req *r, void *ctx) { strings_answer(ctx, r, NULL); }

static void h_label_values(http_req *r, void *ctx)
{
    const char *p = http_path(r), *pre = "/loki/api/v1/label/";
    size_t pl = strlen(pre), n = strlen(p);
    if (n <= pl + 7 || strcmp(p + n - 7, "/values")) {
        lerr(r, 404, "404 page not found");
        return;
    }
    char name[1024];
    size_t nl = n - pl - 7;
    if (nl >= sizeof name) {
        lerr(r, 400, "invalid label name: too long");
        return;
    }
    memcpy(name, p + pl, nl);
    name[nl] = 0;
    strings_answer(ctx, r, name);
}

static void h_series(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    papi_req q;
    int64_t start, end;
    size_t nsel = 0;
    papi_union u = {0};
    if (papi_req_init(&q, r)) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    if (lapi_read_range(&q, &start, &end)) goto out;
    nsel = papi_arg_all(&q, "match[]", NULL, 0);
    const char **txt = arena_alloc(q.ar, (nsel + 1) * sizeof *txt);
    if (!txt) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    papi_arg_all(&q, "match[]", txt, nsel);
    if (!nsel && papi_arg(&q, "match")) txt[0] = papi_arg(&q, "match"), nsel = 1;
    if (!nsel) {
        lerr(r, 400, "match[] parameter is required");
        goto out;
    }
    cairn_matcher **ms = arena_alloc(q.ar, nsel * sizeof *ms);
    size_t *mn = arena_alloc(q.ar, nsel * sizeof *mn);
    if (!ms || !mn) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nsel; i++)
        if (lapi_opt_selector(&q, txt[i], &ms[i], &mn[i])) goto out;
    cairn_db *db = papi_db(c, r, 1);
    if (!db || !papi_gate_enter(c, r, 1)) goto out;
    cairn_err e;
    int rc = papi_union_select(db, CAIRN_KIND_LOG, ms, mn, nsel, start, end, &u, &e);
    papi_gate_leave(c);
    if (rc) {
        lapi_err_code(r, rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 256 + u.n * 64);
    papi_begin(&w);
    jw_arr(&w);
    for (size_t i = 0; i < u.n; i++) lapi_write_lset(&w, u.v[i].ls, u.v[i].n);
    jw_arr_end(&w);
    papi_end(r, &w, NULL);
out:
    papi_union_free(&u);
    papi_req_free(&q);
}

/* ==== index/stats, index/volume(_range), detected_labels ===================================== */

/* One selected stream's volume accumulator. */
typedef struct vol {
    val_lset key;         /* grouping labels */
    uint64_t bytes, entries;
    uint64_t *bucket;     /* volume_range: bytes per step */
} vol;

typedef struct scan {
    uint64_t streams, entries, bytes;
    vol *v;
    size_t nv, cap;
    int64_t start, end, step; /* ns; step 0 = no buckets */
    size_t n_steps;
    uint64_t budget; /* entries left before the scan stops */
} scan;

static int vol_cmp(const void *a, const void *b) { return val_lset_cmp(((const vol *)a)->key, ((const vol *)b)->key); }

/*
 * Scan every stream matching `m` in [start, end) (log bounds): counts, and
 * per grouping key (targetLabels or the whole label set) bytes and buckets.
 */
static int scan_streams(cairn_db *db, arena *ar, const cairn_matcher *m, size_t nm, const char *const *tl,
                        const size_t *tll, size_t ntl, scan *sc, cairn_err *e)
{
    cairn_series_set *set;
    int rc = cairn_select(db, CAIRN_KIND_LOG, m, nm, sc->start, sc->end, &set, e);
    if (rc) return rc;
    uint64_t id;
    const cairn_label *ls;
    size_t n;
    while (!rc && cairn_series_set_next(set, &id, &ls, &n)) {
        sc->streams++;
        val_lset full = {ls, n}, key;
        /* the set's labels die with it: keep a deep copy */
        if (ntl && !(rc = val_lset_filter(ar, full, tl, tll, ntl, 1, &key))) rc = val_lset_copy(ar, key.v, key.n, &key);
        else if (!ntl) rc = val_lset_copy(ar, ls, n, &key);
        if (rc) break;
        if (sc->nv == sc->cap) {
            size_t nc = sc->cap ? sc->cap * 2 : 64;
            vol *nvv = arena_alloc(ar, nc * sizeof *nvv);
            if (!nvv) {
                rc = CAIRN_ENOMEM;
                break;
            }
            if (sc->nv) memcpy(nvv, sc->v, sc->nv * sizeof *nvv);
            sc->v = nvv, sc->cap = nc;
        }
        vol *vv = &sc->v[sc->nv++];
        memset(vv, 0, sizeof *vv);
        vv->key = key;
        if (sc->n_steps) {
            vv->bucket = arena_calloc(ar, sc->n_steps, sizeof *vv->bucket);
            if (!vv->bucket) {
                rc = CAIRN_ENOMEM;
                break;
            }
        }
        cairn_entries *it;
        rc = cairn_entries_open(db, id, sc->start, sc->end > sc->start ? sc->end - 1 : sc->end, CAIRN_FORWARD, NULL,
                                0, NULL, NULL, &it, e);
        if (rc == CAIRN_NOTFOUND) {
            rc = CAIRN_OK;
            continue;
        }
        if (rc) break;
        int64_t t;
        const char *line;
        size_t len;
        const cairn_label *meta;
        size_t nmeta;
        int k;
        while (sc->budget && (k = cairn_entries_next(it, &t, &line, &len, &meta, &nmeta)) == 1) {
            sc->budget--;
            sc->entries++;
            sc->bytes += len;
            vv->entries++;
            vv->bytes += len;
            if (sc->n_steps) {
                /* the step t' with t in (t' - step, t'] */
                int64_t d = t - sc->start;
                size_t b = d <= 0 ? 0 : (size_t)((d + sc->step - 1) / sc->step);
                if (b < sc->n_steps) vv->bucket[b] += len;
            }
        }
        cairn_entries_close(it);
    }
    cairn_series_set_close(set);
    if (rc == CAIRN_ENOMEM) err_set(e, rc, "out of memory");
    return rc;
}

/* Merge volumes with equal keys (after targetLabels). */
static size_t merge_vols(scan *sc)
{
    if (sc->nv < 2) return sc->nv;
    qsort(sc->v, sc->nv, sizeof *sc->v, vol_cmp);
    size_t k = 0;
    for (size_t i = 0; i < sc->nv; i++) {
        if (k && val_lset_eq(sc->v[k - 1].key, sc->v[i].key)) {
            sc->v[k - 1].bytes += sc->v[i].bytes;
            sc->v[k - 1].entries += sc->v[i].entries;
            for (size_t s = 0; s < sc->n_steps; s++) sc->v[k - 1].bucket[s] += sc->v[i].bucket[s];
        } else {
            sc->v[k++] = sc->v[i];
        }
    }
    return sc->nv = k;
}

static int vol_bytes_desc(const void *a, const void *b)
{
    const vol *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return val_lset_cmp(x->key, y->key);
}

typedef enum { SC_STATS, SC_VOLUME, SC_VOLUME_RANGE } sc_kind;

static void scan_answer(papi_ctx *c, http_req *r, sc_kind kind)
{
    papi_req q;
    scan sc;
    memset(&sc, 0, sizeof sc);
    cairn_matcher *m;
    size_t nm;
    if (papi_req_init(&q, r)) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    const char *text = papi_arg(&q, "query"), *s;
    if (!text) {
        lerr(r, 400, "query parameter is required");
        goto out;
    }
    if (lapi_read_range(&q, &sc.start, &sc.end) || lapi_opt_selector(&q, text, &m, &nm)) goto out;
    uint64_t limit = 100;
    if ((s = papi_arg(&q, "limit")) && (papi_parse_uint(s, &limit) || !limit)) {
        lerr(r, 400, "limit must be a positive value");
        goto out;
    }
    const char *tl[32];
    size_t tll[32], ntl = 0;
    if ((s = papi_arg(&q, "targetLabels"))) {
        char *dup = arena_strdup(q.ar, s, strlen(s));
        for (char *save = NULL, *tok = dup ? strtok_r(dup, ",", &save) : NULL; tok && ntl < 32;
             tok = strtok_r(NULL, ",", &save))
            if (*tok) tl[ntl] = tok, tll[ntl] = strlen(tok), ntl++;
    }
    if (kind == SC_VOLUME_RANGE) {
        int64_t step_ms;
        if ((s = papi_arg(&q, "step"))) {
            if (papi_parse_duration(s, &step_ms) || step_ms <= 0) {
                bad_param(r, "step", s);
                goto out;
            }
        } else {
            step_ms = (sc.end - sc.start) / 250 / 1000000000 * 1000;
            if (step_ms < 1000) step_ms = 1000;
        }
        sc.step = step_ms * 1000000;
        uint64_t n = (uint64_t)(sc.end - sc.start) / (uint64_t)sc.step + 1;
        if (n > 11000) {
            lerr(r, 400, "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of "
                         "the step parameter");
            goto out;
        }
        sc.n_steps = (size_t)n;
    }
    sc.budget = c->max_samples ? c->max_samples : UINT64_MAX;
    cairn_db *db = papi_db(c, r, 1);
    if (!db || !papi_gate_enter(c, r, 1)) goto out;
    cairn_err e;
    int rc = scan_streams(db, q.ar, m, nm, tl, tll, ntl, &sc, &e);
    papi_gate_leave(c);
    if (rc) {
        lapi_err_code(r, rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 1024 + sc.nv * (64 + 32 * sc.n_steps));
    if (kind == SC_STATS) {
        jw_obj(&w);
        jw_key(&w, "streams");
        jw_uint(&w, sc.streams);
        jw_key(&w, "chunks");
        jw_uint(&w, sc.streams);
        jw_key(&w, "entries");
        jw_uint(&w, sc.entries);
        jw_key(&w, "bytes");
        jw_uint(&w, sc.bytes);
        jw_obj_end(&w);
        papi_send(r, &w, 200);
        goto out;
    }
    merge_vols(&sc);
    if (kind == SC_VOLUME && sc.nv > 1) qsort(sc.v, sc.nv, sizeof *sc.v, vol_bytes_desc);
    size_t n = sc.nv < limit ? sc.nv : (size_t)limit;
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "resultType");
    jw_str_z(&w, kind == SC_VOLUME ? "vector" : "matrix");
    jw_key(&w, "result");
    jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj(&w);
        jw_key(&w, "metric");
        lapi_write_lset(&w, sc.v[i].key.v, sc.v[i].key.n);
        if (kind == SC_VOLUME) {
            jw_key(&w, "value");
            jw_arr(&w);
            jw_loki_time(&w, sc.end / 1000000);
            jw_loki_value(&w, (double)sc.v[i].bytes);
            jw_arr_end(&w);
        } else {
            jw_key(&w, "values");
            jw_arr(&w);
            for (size_t k = 0; k < sc.n_steps; k++) {
                if (!sc.v[i].bucket[k]) continue;
                jw_arr(&w);
                jw_loki_time(&w, (sc.start + (int64_t)k * sc.step) / 1000000);
                jw_loki_value(&w, (double)sc.v[i].bucket[k]);
                jw_arr_end(&w);
            }
            jw_arr_end(&w);
        }
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
out:
    papi_req_free(&q);
}

static void h_index_stats(http_req *r, void *ctx) { scan_answer(ctx, r, SC_STATS); }
static void h_volume(http_req *r, void *ctx) { scan_answer(ctx, r, SC_VOLUME); }
static void h_volume_range(http_req *r, void *ctx) { scan_answer(ctx, r, SC_VOLUME_RANGE); }

static void h_detected_labels(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    papi_req q;
    int64_t start, end;
    cairn_matcher *m;
    size_t nm;
    if (papi_req_init(&q, r)) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    if (lapi_read_range(&q, &start, &end) || lapi_opt_selector(&q, papi_arg(&q, "query"), &m, &nm)) goto out;
    cairn_db *db = papi_db(c, r, 1);
    if (!db || !papi_gate_enter(c, r, 1)) goto out;
    cairn_err e;
    cairn_strings *names;
    int rc = cairn_label_names(db, CAIRN_KIND_LOG, m, nm, start, end, &names, &e);
    jw w;
    jw_init(&w, 1024);
    jw_obj(&w);
    jw_key(&w, "detectedLabels");
    jw_arr(&w);
    const char *s;
    size_t n;
    while (!rc && cairn_strings_next(names, &s, &n)) {
        cairn_strings *vals;
        char nm_z[1024];
        if (n >= sizeof nm_z) continue;
        memcpy(nm_z, s, n);
        nm_z[n] = 0;
        rc = cairn_label_values(db, CAIRN_KIND_LOG, nm_z, n, m, nm, start, end, &vals, &e);
        if (rc) break;
        jw_obj(&w);
        jw_key(&w, "label");
        jw_str(&w, nm_z, n);
        jw_key(&w, "cardinality");
        jw_uint(&w, cairn_strings_count(vals));
        jw_obj_end(&w);
        cairn_strings_close(vals);
    }
    if (!rc) cairn_strings_close(names);
    papi_gate_leave(c);
    jw_arr_end(&w);
    jw_obj_end(&w);
    if (rc) {
        jw_free(&w);
        lapi_err_code(r, rc, e.msg);
        goto out;
    }
    papi_send(r, &w, 200);
out:
    papi_req_free(&q);
}

static void h_detected_fields(http_req *r, void *ctx) { ldet_fields(ctx, r); }
static void h_detected_field_values(http_req *r, void *ctx) { ldet_field_values(ctx, r); }
static void h_patterns(http_req *r, void *ctx) { ldet_patterns(ctx, r); }

static void h_buildinfo(http_req *r, void *ctx)
{
    (void)ctx;
    jw w;
    jw_init(&w, 512);
    jw_obj(&w);
    jw_key(&w, "version");
    jw_str_z(&w, "3.5.0");
    jw_key(&w, "revision");
    jw_str_z(&w, "cairn-" CAIRN_VERSION_STRING);
    jw_key(&w, "branch");
    jw_str_z(&w, "cairn");
    jw_key(&w, "buildUser");
    jw_str_z(&w, "cairn");
    jw_key(&w, "buildDate");
    jw_str_z(&w, __DATE__);
    jw_key(&w, "goVersion");
    jw_str_z(&w, "c11");
    jw_obj_end(&w);
    papi_send(r, &w, 200);
}

static void h_format_query(http_req *r, void *ctx)
{
    (void)ctx;
    papi_req q;
    if (papi_req_init(&q, r)) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    const char *text = papi_arg(&q, "query");
    if (!text) {
        lerr(r, 400, "query parameter is required");
        goto out;
    }
    ast_node *root;
    cairn_err e;
    if (parse_query(q.ar, QLANG_LOGQL, text, strlen(text), &root, &e)) {
        lerr(r, 400, e.msg);
        goto out;
    }
    size_t n;
    char *pretty = print_ast_z(q.ar, root, &n);
    if (!pretty) {
        lerr(r, 500, "out of memory");
        goto out;
    }
    jw w;
    jw_init(&w, n + 64);
    papi_begin(&w);
    jw_str(&w, pretty, n);
    papi_end(r, &w, NULL);
out:
    papi_req_free(&q);
}

static void h_tail(http_req *r, void *ctx) { ltail_handle(ctx, r); }

/* ==== Routes ====================================================================================== */

int lapi_routes(papi_ctx *c, route_table *t)
{
    const unsigned GP = ROUTE_GET | ROUTE_HEAD | ROUTE_POST, G = ROUTE_GET | ROUTE_HEAD;
    const unsigned B = ROUTE_BODY | ROUTE_GZIP;
    int rc = 0;
    rc |= route_add(t, "/loki/api/v1/query", GP, B, h_query, c, "loki_query");
    rc |= route_add(t, "/loki/api/v1/query_range", GP, B, h_query_range, c, "loki_query_range");
    rc |= route_add(t, "/loki/api/v1/labels", GP, B, h_labels, c, "loki_labels");
    rc |= route_add(t, "/loki/api/v1/series", GP, B, h_series, c, "loki_series");
    rc |= route_add(t, "/loki/api/v1/index/stats", GP, B, h_index_stats, c, "loki_index_stats");
    rc |= route_add(t, "/loki/api/v1/index/volume", GP, B, h_volume, c, "loki_index_volume");
    rc |= route_add(t, "/loki/api/v1/index/volume_range", GP, B, h_volume_range, c, "loki_index_volume_range");
    rc |= route_add(t, "/loki/api/v1/detected_labels", G, 0, h_detected_labels, c, "loki_detected_labels");
    rc |= route_add(t, "/loki/api/v1/detected_fields", G, 0, h_detected_fields, c, "loki_detected_fields");
    rc |= route_add(t, "/loki/api/v1/patterns", GP, B, h_patterns, c, "loki_patterns");
    rc |= route_add(t, "/loki/api/v1/status/buildinfo", G, 0, h_buildinfo, c, "loki_buildinfo");
    rc |= route_add(t, "/loki/api/v1/format_query", GP, B, h_format_query, c, "loki_format_query");
    rc |= route_add(t, "/loki/api/v1/tail", G, 0, h_tail, c, "loki_tail");
    rc |= route_add(t, "/loki/api/v1/detected_field/*", G, 0, h_detected_field_values, c, "loki_detected_field");
    rc |= route_add(t, "/loki/api/v1/label/*", GP, B, h_label_values, c, "loki_label_values");
    return rc ? CAIRN_ENOMEM : CAIRN_OK;
}
