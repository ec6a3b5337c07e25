/*
 * test_logeval.c — LogQL semantics tests against a real data directory.
 *
 * Each test pins one behaviour of Loki as documented in
 * shared/docs/logql-semantics.md with hand-computed expectations: window
 * boundaries (t - range, t], query-frontend step alignment, log time range
 * [start, end), limit across streams and direction, stream and series
 * ordering, parsed labels splitting streams, `_extracted`, __error__ in log
 * and metric queries (failure, filtering, parser hints), label origins
 * (stream, metadata, parsed) and categorised grouping, every range
 * function, unwrap, vector aggregations, binary operators and matching,
 * vector(), label_replace, offset, absent_over_time, and the limits.
 *
 * Data (loaded once per test): base T0 = 1 700 000 000 s (aligned to 1 min).
 *   {app="x", env="prod"}: 10 JSON lines at T0 + 10 s * i (i = 0..9),
 *       {"level":"info|error","status":200|500,"latency_ms":i*10,"msg":"req i"},
 *       status 500 and level error for odd i;
 *   {app="x", env="dev"}:  5 logfmt lines at T0 + 10 s * i + 5 s (i = 0..4),
 *       "level=warn dur=<i>s size=<i>KB";
 *   {app="y"}:             3 lines "plain <i>" at T0 + 20 s * i;
 *   {app="z"}:             1 line "with meta" at T0 + 30 s with structured
 *       metadata trace_id="t1" (metadata becomes part of the label set).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "logeval.h"
#include "support.h"
#include "value.h"
#include "t_label_names.h"

#define S 1000000000LL
#define T0 (1700000000LL * S)

typedef struct fx {
    char *dir;
    cairn_db *db;
    arena *ar;
    leval_result r;
    cairn_err e;
} fx;

static void load(fx *f)
{
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    cairn_label prod[] = {CAIRN_LABEL("app", "x"), CAIRN_LABEL("env", "prod")};
    cairn_label dev[] = {CAIRN_LABEL("app", "x"), CAIRN_LABEL("env", "dev")};
    cairn_label y[] = {CAIRN_LABEL("app", "y")};
    int rp = cairn_batch_series(b, CAIRN_KIND_LOG, prod, 2, &e);
    int rd = cairn_batch_series(b, CAIRN_KIND_LOG, dev, 2, &e);
    int ry = cairn_batch_series(b, CAIRN_KIND_LOG, y, 1, &e);
    cairn_label z[] = {CAIRN_LABEL("app", "z")};
    int rz = cairn_batch_series(b, CAIRN_KIND_LOG, z, 1, &e);
    assert_true(rp >= 0 && rd >= 0 && ry >= 0 && rz >= 0);
    char line[256];
    for (int i = 0; i < 10; i++) {
        int n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"status\":%d,\"latency_ms\":%d,\"msg\":\"req %d\"}",
                         i % 2 ? "error" : "info", i % 2 ? 500 : 200, i * 10, i);
        assert_int_equal(cairn_batch_entry(b, rp, T0 + 10 * S * i, line, (size_t)n, NULL, 0, &e), CAIRN_OK);
    }
    for (int i = 0; i < 5; i++) {
        int n = snprintf(line, sizeof line, "level=warn dur=%ds size=%dKB", i, i);
        assert_int_equal(cairn_batch_entry(b, rd, T0 + 10 * S * i + 5 * S, line, (size_t)n, NULL, 0, &e), CAIRN_OK);
    }
    for (int i = 0; i < 3; i++) {
        int n = snprintf(line, sizeof line, "plain %d", i);
        assert_int_equal(cairn_batch_entry(b, ry, T0 + 20 * S * i, line, (size_t)n, NULL, 0, &e), CAIRN_OK);
    }
    cairn_label meta[] = {CAIRN_LABEL("trace_id", "t1")};
    assert_int_equal(cairn_batch_entry(b, rz, T0 + 30 * S, "with meta", 9, meta, 1, &e), CAIRN_OK);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
    cairn_batch_free(b);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("logeval");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    o.log_ooo_window_ms = INT64_MAX / 4;
    cairn_err e;
    if (cairn_open(f->dir, &o, &f->db, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return -1;
    }
    load(f);
    f->ar = arena_new(0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    arena_free(f->ar);
    cairn_close(f->db);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

static int q_opts(fx *f, const char *q, int64_t start, int64_t end, int64_t step, uint32_t limit, int dir,
                  const leval_opts *o)
{
    leval_params p = {start, end, step, limit, dir};
    int rc = leval_query(f->ar, f->db, q, strlen(q), &p, o, &f->r, &f->e);
    return rc;
}

static int q(fx *f, const char *query, int64_t start, int64_t end, int64_t step)
{
    int rc = q_opts(f, query, start, end, step, 100, CAIRN_BACKWARD, NULL);
    if (rc) fprintf(stderr, "%s: %s\n", query, f->e.msg);
    return rc;
}

/* Instant query: the value of the row whose labels format as `labels` (NAN if absent). */
static double vec_get(fx *f, const char *labels)
{
    char b[512];
    for (size_t i = 0; i < f->r.v.n; i++) {
        val_lset_format(f->r.v.s[i].ls, b, sizeof b);
        if (!strcmp(b, labels)) return f->r.v.s[i].v[0];
    }
    return NAN;
}

static void row_labels(fx *f, size_t i, char *b, size_t cap) { val_lset_format(f->r.v.s[i].ls, b, cap); }

/* ---- log queries ---------------------------------------------------------------------------------- */

static void test_log_limit_across_streams_backward(void **state)
{
    fx *f = *state;
    /* newest 6 entries of app="x" over both streams: prod@90..50s, then dev@45s */
    assert_int_equal(q_opts(f, "{app=\"x\"}", T0, T0 + 100 * S, 1, 6, CAIRN_BACKWARD, NULL), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_STREAMS);
    assert_int_equal(f->r.n_streams, 2);
    assert_int_equal(f->r.stats.entries_returned, 6);
    char b[256];
    val_lset_format(f->r.streams[0].ls, b, sizeof b); /* sorted by labels: dev before prod */
    assert_string_equal(b, "{app=\"x\", env=\"dev\"}");
    assert_int_equal(f->r.streams[0].n, 1);
    assert_int_equal(f->r.streams[0].e[0].t_ns, T0 + 45 * S);
    assert_int_equal(f->r.streams[1].n, 5);
    assert_int_equal(f->r.streams[1].e[0].t_ns, T0 + 90 * S); /* newest first */
    assert_int_equal(f->r.streams[1].e[4].t_ns, T0 + 50 * S);
}

static void test_log_limit_forward_and_range_end_exclusive(void **state)
{
    fx *f = *state;
    /* forward from T0: prod@0, dev@5, prod@10, dev@15; end T0+20s excludes prod@20 */
    assert_int_equal(q_opts(f, "{app=\"x\"}", T0, T0 + 20 * S, 1, 10, CAIRN_FORWARD, NULL), CAIRN_OK);
    assert_int_equal(f->r.stats.entries_returned, 4);
    assert_int_equal(f->r.streams[0].e[0].t_ns, T0 + 5 * S);
    assert_int_equal(f->r.streams[0].e[1].t_ns, T0 + 15 * S);
    assert_int_equal(f->r.streams[1].e[0].t_ns, T0);
    assert_int_equal(f->r.streams[1].e[1].t_ns, T0 + 10 * S);
    /* start is inclusive */
    assert_int_equal(q_opts(f, "{app=\"y\"}", T0 + 20 * S, T0 + 21 * S, 1, 10, CAIRN_FORWARD, NULL), CAIRN_OK);
    assert_int_equal(f->r.stats.entries_returned, 1);
}

static void test_log_parsed_labels_split_streams(void **state)
{
    fx *f = *state;
    assert_int_equal(q_opts(f, "{env=\"prod\"} | json | keep level", T0, T0 + 100 * S, 1, 100, CAIRN_FORWARD, NULL),
                     CAIRN_OK);
    assert_int_equal(f->r.n_streams, 2);
    char b[256];
    val_lset_format(f->r.streams[0].ls, b, sizeof b);
    assert_string_equal(b, "{level=\"error\"}");
    assert_int_equal(f->r.streams[0].n, 5);
    assert_int_equal(f->r.streams[1].n, 5);
    /* line filter + label filter; structured metadata is visible */
    assert_int_equal(q_opts(f, "{app=~\"y|z\"} | trace_id=\"t1\"", T0, T0 + 100 * S, 1, 100, CAIRN_BACKWARD, NULL),
                     CAIRN_OK);
    assert_int_equal(f->r.n_streams, 1);
    val_lset_format(f->r.streams[0].ls, b, sizeof b);
    assert_string_equal(b, "{app=\"z\", trace_id=\"t1\"}");
    assert_memory_equal(f->r.streams[0].e[0].line, "with meta", 9);
}

/* Label origins: stream / metadata / parsed (label_format, parsers, __error__); the winner of a name decides. */
static void test_log_label_origins(void **state)
{
    fx *f = *state;
    leval_opts o;
    leval_opts_default(&o);
    o.categorize = 1;
    char b[256];
    assert_int_equal(q_opts(f, "{app=\"z\"} | label_format lf=\"v\"", T0, T0 + 100 * S, 1, 100, CAIRN_FORWARD, &o),
                     CAIRN_OK);
    assert_int_equal(f->r.n_streams, 1);
    val_lset_format(f->r.streams[0].ls, b, sizeof b);
    assert_string_equal(b, "{app=\"z\", lf=\"v\", trace_id=\"t1\"}");
    assert_memory_equal(f->r.streams[0].origin, "\0\2\1", 3);
    /* a parsed label shadowing a stream label is parsed */
    assert_int_equal(q_opts(f, "{app=\"z\"} | label_format app=\"q\"", T0, T0 + 100 * S, 1, 100, CAIRN_FORWARD, &o),
                     CAIRN_OK);
    val_lset_format(f->r.streams[0].ls, b, sizeof b);
    assert_string_equal(b, "{app=\"q\", trace_id=\"t1\"}");
    assert_memory_equal(f->r.streams[0].origin, "\2\1", 2);
    /* parser errors */
    assert_int_equal(q_opts(f, "{app=\"y\"} | json", T0, T0 + 100 * S, 1, 1, CAIRN_FORWARD, &o), CAIRN_OK);
    val_lset_format(f->r.streams[0].ls, b, sizeof b);
    assert_string_equal(b, "{__error__=\"JSONParserErr\", __error_details__=\"Value looks like object, but can't find "
                           "closing '}' symbol\", app=\"y\"}");
    assert_memory_equal(f->r.streams[0].origin, "\3\3\0", 3);
    /* the default (not categorised) still reports origins */
    assert_int_equal(q_opts(f, "{env=\"dev\"} | logfmt | keep env, level", T0, T0 + 100 * S, 1, 100, CAIRN_FORWARD,
                            NULL),
                     CAIRN_OK);
    assert_int_equal(f->r.n_streams, 1);
    assert_memory_equal(f->r.streams[0].origin, "\0\2", 2);
}

/* Equal label sets of different origins: one stream normally, two when categorised. */
static void test_log_categorize_splits_by_origin(void **state)
{
    fx *f = *state;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    cairn_label w[] = {CAIRN_LABEL("app", "w")};
    cairn_label meta[] = {CAIRN_LABEL("level", "info")};
    int r = cairn_batch_series(b, CAIRN_KIND_LOG, w, 1, &e);
    assert_int_equal(cairn_batch_entry(b, r, T0, "level=info", 10, NULL, 0, &e), CAIRN_OK);
    assert_int_equal(cairn_batch_entry(b, r, T0 + S, "x=1", 3, meta, 1, &e), CAIRN_OK);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
    cairn_batch_free(b);
    const char *qs = "{app=\"w\"} | logfmt | drop x";
    assert_int_equal(q_opts(f, qs, T0, T0 + 10 * S, 1, 100, CAIRN_FORWARD, NULL), CAIRN_OK);
    assert_int_equal(f->r.n_streams, 1);
    assert_int_equal(f->r.streams[0].n, 2);
    leval_opts o;
    leval_opts_default(&o);
    o.categorize = 1;
    assert_int_equal(q_opts(f, qs, T0, T0 + 10 * S, 1, 100, CAIRN_FORWARD, &o), CAIRN_OK);
    assert_int_equal(f->r.n_streams, 2);
    char l0[64], l1[64];
    val_lset_format(f->r.streams[0].ls, l0, sizeof l0);
    val_lset_format(f->r.streams[1].ls, l1, sizeof l1);
    assert_string_equal(l0, "{app=\"w\", level=\"info\"}");
    assert_string_equal(l1, l0);
    assert_int_equal(f->r.streams[0].n + f->r.streams[1].n, 2);
    int meta_first = f->r.streams[0].origin[1] == LEVAL_ORIGIN_META;
    const leval_stream *sm = &f->r.streams[meta_first ? 0 : 1], *sp = &f->r.streams[meta_first ? 1 : 0];
    assert_int_equal(sm->origin[1], LEVAL_ORIGIN_META);
    assert_memory_equal(sm->e[0].line, "x=1", 3);
    assert_int_equal(sp->origin[1], LEVAL_ORIGIN_PARSED);
    assert_memory_equal(sp->e[0].line, "level=info", 10);
}

static void test_log_errors_and_drop(void **state)
{
    fx *f = *state;
    /* logfmt lines through json: JSONParserErr on each, kept in log queries */
    assert_int_equal(q_opts(f, "{env=\"dev\"} | json", T0, T0 + 100 * S, 1, 100, CAIRN_BACKWARD, NULL), CAIRN_OK);
    assert_int_equal(f->r.n_streams, 1);
    assert_int_equal(f->r.streams[0].n, 5);
    assert_non_null(val_lset_get(f->r.streams[0].ls, "__error__", 9, NULL));
    /* Grafana's logs volume appends | drop __error__ */
    assert_int_equal(q_opts(f, "{env=\"dev\"} | json | drop __error__, __error_details__", T0, T0 + 100 * S, 1, 100,
                            CAIRN_BACKWARD, NULL), CAIRN_OK);
    assert_null(val_lset_get(f->r.streams[0].ls, "__error__", 9, NULL));
    assert_int_equal(q_opts(f, "{env=\"dev\"} | json | __error__=\"\"", T0, T0 + 100 * S, 1, 100, CAIRN_BACKWARD, NULL),
                     CAIRN_OK);
    assert_int_equal(f->r.n_streams, 0);
}

static void test_log_query_line_filter_pushdown(void **state)
{
    fx *f = *state;
    assert_int_equal(q(f, "{app=\"x\"} |= \"error\" | json | latency_ms > 40", T0, T0 + 100 * S, 1), CAIRN_OK);
    /* error lines are i = 1, 3, 5, 7, 9; latency 50, 70, 90 pass the label filter */
    assert_int_equal(f->r.stats.entries_returned, 3);
    /* the line filter ran in storage: only the 5 error lines were read */
    assert_int_equal(f->r.stats.entries_scanned, 5);
}

static void test_log_query_limits_and_instant(void **state)
{
    fx *f = *state;
    assert_int_equal(q_opts(f, "{app=\"x\"}", T0, T0 + 100 * S, 1, 6000, CAIRN_BACKWARD, NULL), CAIRN_ELIMIT);
    assert_string_equal(f->e.msg, "max entries limit per query exceeded, limit > max_entries_limit_per_query (6000 > 5000)");
    assert_int_equal(q_opts(f, "{app=\"x\"}", T0, T0, 0, 10, CAIRN_BACKWARD, NULL), CAIRN_EINVAL);
    assert_string_equal(f->e.msg,
                        "log queries are not supported as an instant query type, please change your query to a range query type");
    leval_opts o;
    leval_opts_default(&o);
    o.max_entries = 4;
    assert_int_equal(q_opts(f, "{app=\"x\"} |= \"nomatch\"", T0, T0 + 100 * S, 1, 10, CAIRN_BACKWARD, &o), CAIRN_OK);
    assert_int_equal(q_opts(f, "{app=\"x\"} != \"nomatch\"", T0, T0 + 100 * S, 1, 100, CAIRN_BACKWARD, &o), CAIRN_ELIMIT);
    assert_non_null(strstr(f->e.msg, "max_entries"));
}

/* ---- windows and steps ----------------------------------------------------------------------------------- */

static void test_window_left_open_right_closed(void **state)
{
    fx *f = *state;
    /* at t = T0+20s, [10s] covers (10s, 20s]: only the entry at 20s; at T0+25s: 20s (prod) and... dev@15 excluded */
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[10s])", T0 + 20 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_VECTOR);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 1.0);
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[10001ms])", T0 + 20 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 2.0);
    /* empty window: no point at all */
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[1s])", T0 + 25 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 0);
    assert_int_equal(f->r.t_ms[0], (T0 + 25 * S) / 1000000);
}

static void test_range_query_steps_and_alignment(void **state)
{
    fx *f = *state;
    /* start T0+7s, end T0+33s, step 10s → aligned to T0+0 .. T0+40s, 5 steps, end inclusive */
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[10s])", T0 + 7 * S, T0 + 33 * S, 10 * S), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_MATRIX);
    assert_int_equal(f->r.start_ns, T0);
    assert_int_equal(f->r.end_ns, T0 + 40 * S);
    assert_int_equal(f->r.v.n_steps, 5);
    assert_int_equal(f->r.t_ms[4], (T0 + 40 * S) / 1000000);
    assert_int_equal(f->r.v.n, 1);
    for (int i = 0; i < 5; i++) assert_bits_equal(f->r.v.s[0].v[i], 1.0);
    /* without alignment: exactly start, start+step, … */
    leval_opts o;
    leval_opts_default(&o);
    o.align_steps = 0;
    assert_int_equal(q_opts(f, "count_over_time({env=\"prod\"}[10s])", T0 + 7 * S, T0 + 33 * S, 10 * S, 100,
                            CAIRN_BACKWARD, &o), CAIRN_OK);
    assert_int_equal(f->r.v.n_steps, 3);
    assert_int_equal(f->r.t_ms[0], (T0 + 7 * S) / 1000000);
    /* too many points */
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[10s])", T0, T0 + 20000 * S, S), CAIRN_ELIMIT);
    assert_non_null(strstr(f->e.msg, "exceeded maximum resolution of 11000 points"));
}

static void test_rate_bytes_and_grouping(void **state)
{
    fx *f = *state;
    assert_int_equal(q(f, "rate({app=\"x\"}[1m])", T0 + 60 * S, 0, 0), CAIRN_OK);
    /* prod: entries at 10..60 s (6), dev: 5..45 (5) in (0, 60] */
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 6.0 / 60.0);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"dev\"}"), 5.0 / 60.0);
    assert_int_equal(q(f, "bytes_over_time({app=\"y\"}[1m])", T0 + 40 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"y\"}"), 21.0); /* "plain 0".."plain 2", 7 bytes each */
    assert_int_equal(q(f, "bytes_rate({app=\"y\"} | line_format \"x\" [1m])", T0 + 40 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"y\"}"), 3.0 / 60.0);
    assert_int_equal(q(f, "sum by (status) (count_over_time({env=\"prod\"} | json [100s]))", T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    assert_bits_equal(vec_get(f, "{status=\"200\"}"), 5.0);
    assert_bits_equal(vec_get(f, "{status=\"500\"}"), 5.0);
    char b[128];
    row_labels(f, 0, b, sizeof b); /* sorted by labels */
    assert_string_equal(b, "{status=\"200\"}");
}

static void test_unwrap_functions(void **state)
{
    fx *f = *state;
    /* prod latencies 0,10,…,90 in (−5s, 95s] */
    struct {
        const char *fn;
        double want;
    } c[] = {
        {"sum_over_time", 450},    {"avg_over_time", 45},     {"min_over_time", 0},       {"max_over_time", 90},
        {"first_over_time", 0},    {"last_over_time", 90},    {"stdvar_over_time", 825},  {"rate", 4.5},
    };
    char qs[256];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        snprintf(qs, sizeof qs, "%s({env=\"prod\"} | json | unwrap latency_ms [100s])", c[i].fn);
        assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
        assert_int_equal(f->r.v.n, 10); /* one series per label set: msg differs per line */
        double sum = 0;
        for (size_t r = 0; r < f->r.v.n; r++) sum += f->r.v.s[r].v[0];
        (void)sum;
    }
    /* grouped: pools the entries */
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!strcmp(c[i].fn, "sum_over_time") || !strcmp(c[i].fn, "rate")) {
            snprintf(qs, sizeof qs, "sum(%s({env=\"prod\"} | json | unwrap latency_ms [100s]))", c[i].fn);
        } else {
            snprintf(qs, sizeof qs, "%s({env=\"prod\"} | json | unwrap latency_ms [100s]) by (app)", c[i].fn);
        }
        assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
        assert_int_equal(f->r.v.n, 1);
        if (fabs(f->r.v.s[0].v[0] - c[i].want) > 1e-9) fprintf(stderr, "%s: %.17g\n", qs, f->r.v.s[0].v[0]);
        assert_true(fabs(f->r.v.s[0].v[0] - c[i].want) <= 1e-9);
    }
    assert_int_equal(q(f, "quantile_over_time(0.95, {env=\"prod\"} | json | unwrap latency_ms [100s]) by (env)",
                       T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_true(fabs(vec_get(f, "{env=\"prod\"}") - 85.5) < 1e-9); /* rank 8.55 between 80 and 90 */
    assert_int_equal(q(f, "stddev_over_time({env=\"dev\"} | logfmt | unwrap duration(dur) [1m]) by (app)", T0 + 50 * S, 0, 0),
                     CAIRN_OK);
    assert_true(fabs(vec_get(f, "{app=\"x\"}") - sqrt(2.0)) < 1e-12); /* 0..4 s */
    assert_int_equal(q(f, "sum(sum_over_time({env=\"dev\"} | logfmt | unwrap bytes(size) [1m]))", T0 + 50 * S, 0, 0),
                     CAIRN_OK);
    assert_bits_equal(f->r.v.s[0].v[0], 10000.0);
}

/* ---- errors in metric queries ------------------------------------------------------------------------------------ */

static void test_metric_pipeline_error(void **state)
{
    fx *f = *state;
    assert_int_equal(q_opts(f, "count_over_time({env=\"dev\"} | json [1m])", T0 + 50 * S, 0, 0, 100, CAIRN_BACKWARD, NULL),
                     CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "pipeline error: 'JSONParserErr' for series"));
    /* filtered out */
    assert_int_equal(q(f, "count_over_time({env=\"dev\"} | json | __error__=\"\" [1m])", T0 + 50 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 0);
    /* no labels needed: parsers skipped, no error (Loki's parser hints) */
    assert_int_equal(q(f, "sum(count_over_time({env=\"dev\"} | json [1m]))", T0 + 50 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(f->r.v.s[0].v[0], 5.0);
    /* __error__ needed: preserved, not fatal */
    assert_int_equal(q(f, "sum by (__error__) (count_over_time({env=\"dev\"} | json [1m]))", T0 + 50 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{__error__=\"JSONParserErr\"}"), 5.0);
    /* unwrap conversion errors fail too */
    assert_int_equal(q_opts(f, "sum_over_time({env=\"dev\"} | logfmt | unwrap level [1m])", T0 + 50 * S, 0, 0, 100,
                            CAIRN_BACKWARD, NULL), CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "SampleExtractionErr"));
}

/* ---- aggregations and operators ---------------------------------------------------------------------------------- */

static void test_vector_aggregations(void **state)
{
    fx *f = *state;
    const char *inner = "count_over_time({app=~\"x|y\"}[100s])";
    char qs[256];
    struct {
        const char *agg;
        double want;
    } c[] = {{"sum", 18}, {"avg", 6}, {"min", 3}, {"max", 10}, {"count", 3}, {"stdvar", 26.0 / 3.0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        snprintf(qs, sizeof qs, "%s(%s)", c[i].agg, inner);
        assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
        assert_int_equal(f->r.v.n, 1);
        assert_true(fabs(f->r.v.s[0].v[0] - c[i].want) < 1e-12);
    }
    snprintf(qs, sizeof qs, "sum by (app) (%s)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"x\"}"), 15.0);
    assert_bits_equal(vec_get(f, "{app=\"y\"}"), 3.0);
    snprintf(qs, sizeof qs, "sum without (env) (%s)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"x\"}"), 15.0);
    snprintf(qs, sizeof qs, "topk(2, %s)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 10.0);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"dev\"}"), 5.0);
    snprintf(qs, sizeof qs, "bottomk(1, %s) by (app)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    snprintf(qs, sizeof qs, "sort_desc(%s)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    char b[128];
    row_labels(f, 0, b, sizeof b);
    assert_string_equal(b, "{app=\"x\", env=\"prod\"}");
    row_labels(f, 2, b, sizeof b);
    assert_string_equal(b, "{app=\"y\"}");
    snprintf(qs, sizeof qs, "sort(%s)", inner);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    row_labels(f, 0, b, sizeof b);
    assert_string_equal(b, "{app=\"y\"}");
}

static void test_health_check_vector_plus_vector(void **state)
{
    fx *f = *state;
    /* Grafana: /loki/api/v1/query?query=vector(1)+vector(1)&time=4000000000 (seconds) */
    assert_int_equal(q(f, "vector(1)+vector(1)", 4000000000LL * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_VECTOR);
    assert_int_equal(f->r.v.n, 1);
    assert_int_equal(f->r.v.s[0].ls.n, 0);
    assert_bits_equal(f->r.v.s[0].v[0], 2.0);
    assert_int_equal(f->r.t_ms[0], 4000000000000LL);
    /* a literal: scalar for instant, one {} series for range */
    assert_int_equal(q(f, "1+1", T0, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_SCALAR);
    assert_bits_equal(f->r.v.scalar[0], 2.0);
    assert_int_equal(q(f, "2 * 3", T0, T0 + 120 * S, 60 * S), CAIRN_OK);
    assert_int_equal(f->r.kind, LEVAL_MATRIX);
    assert_int_equal(f->r.v.n, 1);
    assert_bits_equal(f->r.v.s[0].v[2], 6.0);
}

static void test_binary_operators(void **state)
{
    fx *f = *state;
    const char *c = "count_over_time({app=~\"x|y\"}[100s])";
    char qs[512];
    snprintf(qs, sizeof qs, "%s / 2", c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"y\"}"), 1.5);
    snprintf(qs, sizeof qs, "%s / 0", c); /* Loki: NaN, not Inf */
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_true(isnan(vec_get(f, "{app=\"y\"}")));
    snprintf(qs, sizeof qs, "%s > 4", c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 10.0);
    snprintf(qs, sizeof qs, "%s > bool 4", c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 3);
    assert_bits_equal(vec_get(f, "{app=\"y\"}"), 0.0);
    snprintf(qs, sizeof qs, "%s - %s", c, c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 3);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"dev\"}"), 0.0);
    snprintf(qs, sizeof qs, "%s / on(app) group_left sum by (app) (%s)", c, c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 10.0 / 15.0);
    snprintf(qs, sizeof qs, "%s / on(app) sum by (app) (%s)", c, c); /* many-to-one without group_left */
    assert_int_equal(q_opts(f, qs, T0 + 95 * S, 0, 0, 100, CAIRN_BACKWARD, NULL), CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "multiple matches for labels"));
    snprintf(qs, sizeof qs, "%s and count_over_time({env=\"dev\"}[100s])", c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 1);
    snprintf(qs, sizeof qs, "%s unless count_over_time({env=\"dev\"}[100s])", c);
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    snprintf(qs, sizeof qs, "count_over_time({app=\"y\"}[100s]) or vector(7)");
    assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_int_equal(f->r.v.n, 2);
    assert_bits_equal(vec_get(f, "{}"), 7.0);
}

/* The same names as PromQL's label_replace (test_eval.c): t_label_names.h. */
static void test_label_replace_names_as_promql(void **state)
{
    fx *f = *state;
    char qs[256];
    for (size_t i = 0; i < sizeof t_label_names_ok / sizeof *t_label_names_ok; i++) {
        snprintf(qs, sizeof qs, "label_replace(count_over_time({app=\"y\"}[100s]), \"%s\", \"v\", \"app\", \"(.*)\")",
                 t_label_names_ok[i]);
        assert_int_equal(q(f, qs, T0 + 95 * S, 0, 0), CAIRN_OK);
    }
    for (size_t i = 0; i < sizeof t_label_names_bad / sizeof *t_label_names_bad; i++) {
        snprintf(qs, sizeof qs, "label_replace(count_over_time({app=\"y\"}[100s]), \"%s\", \"v\", \"app\", \"(.*)\")",
                 t_label_names_bad[i]);
        assert_int_equal(q_opts(f, qs, T0 + 95 * S, 0, 0, 100, CAIRN_BACKWARD, NULL), CAIRN_EINVAL);
        assert_non_null(strstr(f->e.msg, "invalid destination label name"));
    }
}

static void test_label_replace_offset_absent(void **state)
{
    fx *f = *state;
    assert_int_equal(q(f, "label_replace(count_over_time({app=\"y\"}[100s]), \"dst\", \"v-$1\", \"app\", \"(.*)\")",
                       T0 + 95 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"y\", dst=\"v-y\"}"), 3.0);
    /* offset: the window moves back, the timestamp stays */
    assert_int_equal(q(f, "count_over_time({env=\"prod\"}[10s] offset 50s)", T0 + 70 * S, 0, 0), CAIRN_OK);
    assert_bits_equal(vec_get(f, "{app=\"x\", env=\"prod\"}"), 1.0);
    assert_int_equal(f->r.t_ms[0], (T0 + 70 * S) / 1000000);
    /* absent_over_time: 1 only where nothing matched, labels from the = matchers */
    assert_int_equal(q(f, "absent_over_time({app=\"y\", env=~\".*\"} |= \"plain 2\" [10s])", T0, T0 + 60 * S, 20 * S),
                     CAIRN_OK);
    assert_int_equal(f->r.v.n, 1);
    char b[128];
    row_labels(f, 0, b, sizeof b);
    assert_string_equal(b, "{app=\"y\"}");
    assert_bits_equal(f->r.v.s[0].v[0], 1.0);
    assert_true(val_absent(f->r.v.s[0].v[2])); /* plain 2 at 40s */
    assert_bits_equal(f->r.v.s[0].v[3], 1.0);
}

static void test_series_limit_and_timeout(void **state)
{
    fx *f = *state;
    leval_opts o;
    leval_opts_default(&o);
    o.max_series = 2;
    assert_int_equal(q_opts(f, "count_over_time({app=~\"x|y\"}[100s])", T0 + 95 * S, 0, 0, 100, CAIRN_BACKWARD, &o),
                     CAIRN_ELIMIT);
    assert_string_equal(f->e.msg, "maximum number of series (2) reached for a single query; consider reducing query "
                                  "cardinality by adding more filters or by using a more specific query");
    o.max_series = 0;
    o.max_inner_series = 3;
    assert_int_equal(q_opts(f, "count_over_time({env=\"prod\"} | json [100s])", T0 + 95 * S, 0, 0, 100, CAIRN_BACKWARD, &o),
                     CAIRN_ELIMIT);
    assert_non_null(strstr(f->e.msg, "maximum number of series (3)"));
}

static void test_parse_error_passes_through(void **state)
{
    fx *f = *state;
    assert_int_equal(q_opts(f, "count_over_time({app=\"x\"} [5m]", T0, 0, 0, 100, CAIRN_BACKWARD, NULL), CAIRN_EPARSE);
    assert_true(f->e.line == 1 && f->e.col > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_log_limit_across_streams_backward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_limit_forward_and_range_end_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_parsed_labels_split_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_label_origins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_categorize_splits_by_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_errors_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_query_line_filter_pushdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_query_limits_and_instant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_left_open_right_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_query_steps_and_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_bytes_and_grouping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metric_pipeline_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_check_vector_plus_vector, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace_offset_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace_names_as_promql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_limit_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_error_passes_through, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
