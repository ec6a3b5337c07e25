/*
 * test_eval.c — the PromQL evaluator through the public query API
 * (cairn_query_open), plus the value helpers it is built on: window edges,
 * lookback, rate extrapolation and counter resets, staleness, vector
 * matching errors, ordering, subqueries, @, limits, argument errors and the
 * OOM loop. Prometheus' own scripts run separately (tests/promql/promqltest.c);
 * these tests pin the pieces with hand-computed values.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cairn.h"
#include "mem.h"
#include "support.h"
#include "value.h"
#include "t_label_names.h"

typedef struct fx {
    char *dir;
    cairn_db *db;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("eval");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0;
    o.ooo_window_ms = INT64_MAX / 4;
    cairn_err e;
    if (cairn_open(f->dir, &o, &f->db, &e)) {
        fprintf(stderr, "open: %s\n", e.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    cairn_close(f->db);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

/* Load series `name{k=v}` with n samples (t[i], v[i]). */
static void load(fx *f, const char *name, const char *k, const char *v, const int64_t *t, const double *vals, size_t n)
{
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    cairn_label ls[2] = {{"__name__", 8, name, strlen(name)}, {k, k ? strlen(k) : 0, v, v ? strlen(v) : 0}};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, k ? 2 : 1, &e);
    assert_true(ref >= 0);
    for (size_t i = 0; i < n; i++) assert_int_equal(cairn_batch_sample(b, ref, t[i], vals[i], &e), CAIRN_OK);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
    cairn_batch_free(b);
}

/* Load `name{k=v}` = start, start+inc, … every `every` ms from 0, n samples. */
static void load_seq(fx *f, const char *name, const char *k, const char *v, int64_t every, double start, double inc,
                     size_t n)
{
    int64_t *t = malloc(n * sizeof *t);
    double *vals = malloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++) t[i] = (int64_t)i * every, vals[i] = start + inc * (double)i;
    load(f, name, k, v, t, vals, n);
    free(t);
    free(vals);
}

static cairn_query *run(fx *f, const char *q, int64_t start, int64_t end, int64_t step)
{
    cairn_query *r = NULL;
    cairn_err e;
    int rc = cairn_query_open(f->db, CAIRN_LANG_PROMQL, q, strlen(q), start, end, step, NULL, &r, &e);
    if (rc) fprintf(stderr, "query %s failed: %s\n", q, e.msg);
    assert_int_equal(rc, CAIRN_OK);
    return r;
}

/* Instant query expected to return exactly one series; returns its value. */
static double one(fx *f, const char *q, int64_t t)
{
    cairn_query *r = run(f, q, t, t, 0);
    assert_int_equal(cairn_query_series_count(r), 1);
    const double *v;
    size_t np;
    assert_int_equal(cairn_query_series(r, 0, NULL, NULL, NULL, &v, &np), CAIRN_OK);
    assert_int_equal(np, 1);
    double x = v[0];
    cairn_query_close(r);
    return x;
}

static size_t count(fx *f, const char *q, int64_t t)
{
    cairn_query *r = run(f, q, t, t, 0);
    size_t n = cairn_query_series_count(r);
    cairn_query_close(r);
    return n;
}

static int fails(fx *f, const char *q, int64_t t, cairn_err *e)
{
    cairn_query *r = NULL;
    int rc = cairn_query_open(f->db, CAIRN_LANG_PROMQL, q, strlen(q), t, t, 0, NULL, &r, e);
    assert_null(r);
    return rc;
}

static void assert_close(double want, double got)
{
    if (want == got) return;
    if (!(fabs(want - got) <= 1e-9 * fmax(1, fabs(want)))) fail_msg("want %.17g, got %.17g", want, got);
}

/* ---- windows and lookback ------------------------------------------------------- */

static void test_window_left_open(void **state)
{
    fx *f = *state;
    load_seq(f, "x", NULL, NULL, 60000, 1, 1, 11); /* t = 0, 1m, …, 10m */
    /* (t - 1m, t]: the sample exactly 1m old is out, the one at t is in. */
    assert_close(1, one(f, "count_over_time(x[1m])", 60000));
    assert_close(2, one(f, "count_over_time(x[90s])", 120000)); /* (30s, 2m]: 1m and 2m */
    assert_close(1, one(f, "count_over_time(x[1m])", 119999)); /* (59.999s, 119.999s]: 1m only */
}

static void test_window_edges_range_query(void **state)
{
    fx *f = *state;
    load_seq(f, "x", NULL, NULL, 10000, 0, 1, 61); /* every 10 s for 10 min */
    cairn_query *r = run(f, "count_over_time(x[30s])", 0, 600000, 60000);
    const double *v;
    const int64_t *t;
    size_t np;
    assert_int_equal(cairn_query_result_type(r), CAIRN_RESULT_MATRIX);
    assert_int_equal(cairn_query_series(r, 0, NULL, NULL, &t, &v, &np), CAIRN_OK);
    assert_int_equal(np, 11);
    assert_close(1, v[0]); /* only the sample at 0 */
    for (size_t i = 1; i < np; i++) {
        assert_int_equal(t[i], (int64_t)i * 60000);
        assert_close(3, v[i]); /* (t-30s, t]: t-20s, t-10s, t */
    }
    cairn_query_close(r);
}

static void test_lookback_left_open(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {7};
    load(f, "x", NULL, NULL, t, v, 1);
    assert_close(7, one(f, "x", 299999));
    assert_int_equal(count(f, "x", 300000), 0); /* exactly 5 m old: out */
    assert_int_equal(count(f, "x", -1), 0);
}

static void test_staleness_marker_ends_series(void **state)
{
    fx *f = *state;
    int64_t t[3] = {0, 30000, 60000};
    double v[3] = {1, t_double(0x7ff0000000000002ULL), 3};
    load(f, "x", NULL, NULL, t, v, 3);
    assert_close(1, one(f, "x", 29999));
    assert_int_equal(count(f, "x", 30000), 0);
    assert_int_equal(count(f, "x", 59999), 0);
    assert_close(3, one(f, "x", 60000));
    /* Range functions never see the marker. */
    assert_close(2, one(f, "count_over_time(x[5m])", 60000));
    /* Another NaN payload is an ordinary value. */
    int64_t t2[1] = {0};
    double v2[1] = {t_double(0x7ff8000000000001ULL)};
    load(f, "y", NULL, NULL, t2, v2, 1);
    assert_true(isnan(one(f, "y", 1000)));
}

/* ---- rate ------------------------------------------------------------------------------- */

static void test_rate_extrapolation(void **state)
{
    fx *f = *state;
    load_seq(f, "c", NULL, NULL, 300000, 0, 10, 11); /* 0+10x10 every 5 m */
    /* Window (0, 50m]: samples 5m..50m (10..100), sampled 45 m, 5 m to the start (< 1.1 gap, extrapolated,
     * but the zero point is 45m*10/90 = 5 m away: equal), 0 to the end: increase = 90 * 50/45 = 100. */
    assert_close(100, one(f, "increase(c[50m])", 3000000));
    assert_close(100.0 / 3000.0, one(f, "rate(c[50m])", 3000000));
    /* delta is not a counter: no zero clamp, same extrapolation. */
    assert_close(100, one(f, "delta(c[50m])", 3000000));
    /* Window (20m, 45m]: 25m..45m, 20 m sampled, start gap 5 m ≤ 1.1 × 5 m → extrapolate 5 m; end gap 0. */
    assert_close(40.0 * 25.0 / 20.0, one(f, "increase(c[25m])", 2700000));
    /* One sample in the window: no result. */
    assert_int_equal(count(f, "rate(c[5m])", 3000000), 0);
}

static void test_rate_far_edges_half_gap(void **state)
{
    fx *f = *state;
    int64_t t[3] = {400000, 460000, 520000};
    double v[3] = {100, 160, 220};
    load(f, "c", NULL, NULL, t, v, 3);
    /* Window (0, 900000]: 400 s to the start and 380 s to the end, both beyond 1.1 × 60 s: extend by 30 s each;
     * zero point 120 s * 100/120 = 100 s > 30 s. increase = 120 * (120 + 60) / 120 = 180. */
    assert_close(180, one(f, "increase(c[15m])", 900000));
}

static void test_rate_counter_reset(void **state)
{
    fx *f = *state;
    int64_t t[4] = {60000, 120000, 180000, 240000};
    double v[4] = {10, 20, 5, 15};
    load(f, "c", NULL, NULL, t, v, 4);
    /* Raw increase 15 - 10 + 20 (reset) = 25 over 180 s; window (0, 240 s]: start gap 60 s ≤ 66 s, zero point
     * 180 * 10/25 = 72 s > 60 s, so extend to the start; end gap 0. 25 * 240/180. */
    assert_close(25.0 * 240.0 / 180.0, one(f, "increase(c[4m])", 240000));
    assert_close(1, one(f, "resets(c[4m])", 240000));
    assert_close(3, one(f, "changes(c[4m])", 240000));
    /* irate: last two samples 5 -> 15 over 60 s; idelta 10. */
    assert_close(10.0 / 60.0, one(f, "irate(c[4m])", 240000));
    assert_close(10, one(f, "idelta(c[4m])", 240000));
}

static void test_rate_zero_point_clamp(void **state)
{
    fx *f = *state;
    int64_t t[2] = {240000, 300000};
    double v[2] = {1, 61};
    load(f, "c", NULL, NULL, t, v, 2);
    /* (0, 300 s]: start gap 240 s > 66 s → 30 s; zero point 60 * 1/60 = 1 s < 30 s: the series starts at 0. */
    assert_close(60.0 * 61.0 / 60.0, one(f, "increase(c[5m])", 300000));
}

/* ---- vector matching ------------------------------------------------------------------ */

static void test_matching_many_to_many_error(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {1};
    load(f, "a", "job", "x", t, v, 1);
    load(f, "b", "job", "x", t, v, 1);
    load(f, "b", "job", "y", t, v, 1);
    cairn_err e;
    assert_int_equal(fails(f, "a + on() b", 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "found duplicate series for the match group"));
    assert_non_null(strstr(e.msg, "many-to-many matching not allowed"));
    assert_int_equal(fails(f, "b + on() a", 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "many-to-one matching must be explicit"));
    /* group_left makes the left the many side: fine. */
    assert_int_equal(count(f, "b * on() group_left a", 0), 2);
    assert_int_equal(count(f, "b * ignoring(job) group_left a", 0), 2);
}

static void test_matching_result_labels(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {2};
    load(f, "a", "job", "x", t, v, 1);
    load(f, "b", "job", "x", t, v, 1);
    cairn_query *r = run(f, "a * on(job) b", 0, 0, 0);
    const cairn_label *ls;
    size_t nl;
    assert_int_equal(cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL), CAIRN_OK);
    assert_int_equal(nl, 1); /* on(job) keeps only job; arithmetic drops the name */
    assert_memory_equal(ls[0].name, "job", 3);
    cairn_query_close(r);
    /* Comparison keeps the left name. */
    r = run(f, "a == b", 0, 0, 0);
    assert_int_equal(cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL), CAIRN_OK);
    assert_int_equal(nl, 2);
    assert_memory_equal(ls[0].value, "a", 1);
    cairn_query_close(r);
}

static void test_duplicate_labelset_error(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {1};
    load(f, "m1", "src", "a", t, v, 1);
    load(f, "m2", "src", "a", t, v, 1);
    cairn_err e;
    assert_int_equal(fails(f, "-{__name__=~\"m1|m2\"}", 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "vector cannot contain metrics with the same labelset"));
    /* Names kept: no collision. */
    assert_int_equal(count(f, "{__name__=~\"m1|m2\"}", 0), 2);
    /* Delayed removal: label_replace can restore a distinguishing label. */
    assert_int_equal(count(f, "label_replace(-{__name__=~\"m1|m2\"}, \"n\", \"$1\", \"__name__\", \"(.*)\")", 0), 2);
}

static void test_set_operators(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {1};
    load(f, "a", "k", "1", t, v, 1);
    load(f, "a", "k", "2", t, v, 1);
    load(f, "b", "k", "2", t, v, 1);
    assert_int_equal(count(f, "a and b", 0), 1); /* matching ignores the metric name */
    assert_int_equal(count(f, "a and on(k) b", 0), 1);
    assert_int_equal(count(f, "a and on(__name__) b", 0), 0);
    assert_int_equal(count(f, "a unless on(k) b", 0), 1);
    assert_int_equal(count(f, "a or b", 0), 2);
    assert_int_equal(count(f, "a or on(__name__) b", 0), 3);
}

/* ---- ordering --------------------------------------------------------------------------- */

static void test_topk_and_sort_order(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    const char *ks[4] = {"a", "b", "c", "d"};
    double vs[4] = {3, NAN, 7, 5};
    for (int i = 0; i < 4; i++) load(f, "m", "k", ks[i], t, &vs[i], 1);
    cairn_query *r = run(f, "topk(3, m)", 0, 0, 0);
    assert_int_equal(cairn_query_series_count(r), 3);
    const double want[3] = {7, 5, 3};
    for (size_t i = 0; i < 3; i++) {
        const double *v;
        cairn_query_series(r, i, NULL, NULL, NULL, &v, NULL);
        assert_close(want[i], v[0]);
    }
    cairn_query_close(r);
    r = run(f, "sort_desc(m)", 0, 0, 0);
    const double want2[4] = {7, 5, 3, NAN};
    for (size_t i = 0; i < 4; i++) {
        const double *v;
        cairn_query_series(r, i, NULL, NULL, NULL, &v, NULL);
        if (isnan(want2[i])) assert_true(isnan(v[0]));
        else assert_close(want2[i], v[0]);
    }
    cairn_query_close(r);
    r = run(f, "sort(m)", 0, 0, 0);
    const double *v;
    cairn_query_series(r, 0, NULL, NULL, NULL, &v, NULL);
    assert_close(3, v[0]);
    cairn_query_series(r, 3, NULL, NULL, NULL, &v, NULL);
    assert_true(isnan(v[0])); /* NaN sorts last both ways */
    cairn_query_close(r);
    cairn_err e;
    assert_int_equal(fails(f, "topk(NaN, m)", 0, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "Parameter value is NaN");
}

static void test_range_result_sorted_by_labels(void **state)
{
    fx *f = *state;
    const char *ks[3] = {"c", "a", "b"};
    for (int i = 0; i < 3; i++) load_seq(f, "m", "k", ks[i], 60000, 1, 0, 3);
    cairn_query *r = run(f, "m * 2", 0, 120000, 60000);
    for (size_t i = 0; i < 3; i++) {
        const cairn_label *ls;
        size_t nl;
        cairn_query_series(r, i, &ls, &nl, NULL, NULL, NULL);
        assert_int_equal(nl, 1);
        assert_int_equal(ls[0].value[0], "abc"[i]);
    }
    cairn_query_close(r);
}

/* ---- aggregation, functions -------------------------------------------------------------- */

static void test_aggregations(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    const char *ks[4] = {"a", "b", "c", "d"};
    double vs[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++) load(f, "m", "k", ks[i], t, &vs[i], 1);
    assert_close(10, one(f, "sum(m)", 0));
    assert_close(2.5, one(f, "avg(m)", 0));
    assert_close(4, one(f, "count(m)", 0));
    assert_close(1.25, one(f, "stdvar(m)", 0));
    assert_close(sqrt(1.25), one(f, "stddev(m)", 0));
    assert_close(1.75, one(f, "quantile(0.25, m)", 0));
    assert_close(1, one(f, "min(m)", 0));
    assert_close(1, one(f, "group(m)", 0));
    assert_int_equal(count(f, "sum by (k) (m)", 0), 4);
    assert_int_equal(count(f, "count_values(\"v\", m)", 0), 4);
    assert_close(-INFINITY, one(f, "quantile(-1, m)", 0));
}

static void test_histogram_quantile_classic(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    const char *le[4] = {"0.1", "0.5", "1", "+Inf"};
    double c[4] = {10, 50, 90, 100};
    for (int i = 0; i < 4; i++) load(f, "h_bucket", "le", le[i], t, &c[i], 1);
    /* rank 50 falls on the 0.5 bucket's upper edge. */
    assert_close(0.5, one(f, "histogram_quantile(0.5, h_bucket)", 0));
    /* rank 70: in (0.5, 1], 20 of 40 → 0.75. */
    assert_close(0.75, one(f, "histogram_quantile(0.7, h_bucket)", 0));
    /* rank 95 lands in +Inf: the highest finite bound. */
    assert_close(1, one(f, "histogram_quantile(0.95, h_bucket)", 0));
    assert_true(isinf(one(f, "histogram_quantile(2, h_bucket)", 0)));
    /* Without the +Inf bucket: NaN. */
    assert_true(isnan(one(f, "histogram_quantile(0.5, h_bucket{le!=\"+Inf\"})", 0)));
}

/* The same names as LogQL's label_replace (test_logeval.c): t_label_names.h. */
static void test_label_replace_names_as_logql(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {1};
    load(f, "m", "src", "s", t, v, 1);
    char qs[256];
    cairn_err e;
    for (size_t i = 0; i < sizeof t_label_names_ok / sizeof *t_label_names_ok; i++) {
        snprintf(qs, sizeof qs, "label_replace(m, \"%s\", \"v\", \"src\", \"(.*)\")", t_label_names_ok[i]);
        cairn_query_close(run(f, qs, 0, 0, 0));
    }
    for (size_t i = 0; i < sizeof t_label_names_bad / sizeof *t_label_names_bad; i++) {
        snprintf(qs, sizeof qs, "label_replace(m, \"%s\", \"v\", \"src\", \"(.*)\")", t_label_names_bad[i]);
        assert_int_equal(fails(f, qs, 0, &e), CAIRN_EINVAL);
        assert_non_null(strstr(e.msg, "invalid destination label name"));
    }
}

static void test_label_functions(void **state)
{
    fx *f = *state;
    int64_t t[1] = {0};
    double v[1] = {1};
    load(f, "m", "src", "source-value-10", t, v, 1);
    cairn_query *r = run(f, "label_replace(m, \"dst\", \"x-$1-${1}y\", \"src\", \"source-value-(.*)\")", 0, 0, 0);
    const cairn_label *ls;
    size_t nl;
    cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL);
    assert_int_equal(nl, 3);
    assert_int_equal(ls[1].value_len, 8);
    assert_memory_equal(ls[1].value, "x-10-10y", 8);
    cairn_query_close(r);
    cairn_err e;
    assert_int_equal(fails(f, "label_replace(m, \"dst\", \"\", \"src\", \"(.*\")", 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regular expression in label_replace()"));
    assert_int_equal(fails(f, "label_replace(m, \"\\xff\", \"\", \"src\", \"(.*)\")", 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid destination label name"));
    r = run(f, "label_join(m, \"j\", \"-\", \"src\", \"src\")", 0, 0, 0);
    cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL);
    assert_int_equal(ls[1].value_len, 31);
    cairn_query_close(r);
    /* absent() takes its labels from the equality matchers. */
    r = run(f, "absent(nope{a=\"b\", c=~\"d\"})", 0, 0, 0);
    cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL);
    assert_int_equal(nl, 1);
    assert_memory_equal(ls[0].name, "a", 1);
    cairn_query_close(r);
    assert_int_equal(count(f, "absent(m)", 0), 0);
}

static void test_subquery_and_at(void **state)
{
    fx *f = *state;
    load_seq(f, "x", NULL, NULL, 60000, 0, 1, 21); /* x = minute index, 0..20 m */
    /* Subquery steps are aligned to multiples of the step: (10m-5m, 10m] at 1 m: 6..10. */
    assert_close(5, one(f, "count_over_time(x[5m:1m])", 600000));
    assert_close(40, one(f, "sum_over_time(x[5m:1m])", 600000));
    /* Default step 1 m; offset shifts the window. */
    assert_close(40, one(f, "sum_over_time(x[5m:] offset 10m)", 1200000));
    /* @ pins the time; start()/end() are the query's bounds. */
    assert_close(3, one(f, "x @ 180", 1200000));
    cairn_query *r = run(f, "x @ start()", 300000, 600000, 60000);
    const double *v;
    size_t np;
    cairn_query_series(r, 0, NULL, NULL, NULL, &v, &np);
    assert_int_equal(np, 6);
    for (size_t i = 0; i < np; i++) assert_close(5, v[i]);
    cairn_query_close(r);
    assert_close(7, one(f, "x offset -2m", 300000));
}

static void test_time_and_scalars(void **state)
{
    fx *f = *state;
    cairn_query *r = run(f, "time() * 2", 0, 120000, 60000);
    assert_int_equal(cairn_query_result_type(r), CAIRN_RESULT_MATRIX);
    const double *v;
    size_t nl, np;
    cairn_query_series(r, 0, NULL, &nl, NULL, &v, &np);
    assert_int_equal(nl, 0);
    assert_int_equal(np, 3);
    assert_close(240, v[2]);
    cairn_query_close(r);
    r = run(f, "1 + 2", 5000, 5000, 0);
    assert_int_equal(cairn_query_result_type(r), CAIRN_RESULT_SCALAR);
    cairn_query_close(r);
    r = run(f, "\"hi\"", 0, 0, 0);
    const char *s;
    size_t n;
    assert_int_equal(cairn_query_string(r, &s, &n), CAIRN_OK);
    assert_int_equal(n, 2);
    cairn_query_close(r);
    assert_close(2024, one(f, "year(vector(1709251200))", 0));  /* 2024-03-01 */
    assert_close(29, one(f, "days_in_month(vector(1706745600))", 0)); /* Feb 2024 */
    assert_close(4, one(f, "day_of_week()", 0));                 /* 1970-01-01: Thursday */
}

/* ---- errors and limits ------------------------------------------------------------------- */

static void test_argument_errors(void **state)
{
    fx *f = *state;
    cairn_query *q = NULL;
    cairn_err e;
    assert_int_equal(cairn_query_open(NULL, CAIRN_LANG_PROMQL, "x", 1, 0, 0, 0, NULL, &q, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "cairn_query_open: NULL argument");
    assert_int_equal(cairn_query_open(f->db, 7, "x", 1, 0, 0, 0, NULL, &q, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "unknown query language 7");
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x", 1, 0, 0, -1, NULL, &q, &e), CAIRN_EINVAL);
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x", 1, 10, 0, 1000, NULL, &q, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "end timestamp must not be before start time");
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x[5m]", 5, 0, 60000, 1000, NULL, &q, &e),
                     CAIRN_EINVAL);
    assert_string_equal(e.msg,
                        "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "sum(", 4, 0, 0, 0, NULL, &q, &e), CAIRN_EPARSE);
    assert_int_equal(e.line, 1);
    assert_null(q);
    cairn_query_close(NULL);
    assert_int_equal(cairn_query_series(NULL, 0, NULL, NULL, NULL, NULL, NULL), CAIRN_NOTFOUND);
}

static void test_limits(void **state)
{
    fx *f = *state;
    load_seq(f, "x", "k", "1", 1000, 0, 1, 100);
    load_seq(f, "x", "k", "2", 1000, 0, 1, 100);
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.max_samples = 150;
    cairn_query *q = NULL;
    cairn_err e;
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "sum_over_time(x[5m])", 20, 100000, 100000, 0, &o,
                                      &q, &e),
                     CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "too many samples"));
    o.max_samples = 0;
    o.max_series = 1;
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x", 1, 100000, 100000, 0, &o, &q, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "too many series"));
    o.max_series = 0;
    o.max_points_per_series = 10;
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x", 1, 0, 100000, 1000, &o, &q, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "exceeded maximum resolution"));
    o.max_points_per_series = 0;
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, "x", 1, 0, 100000, 1000, &o, &q, &e), CAIRN_OK);
    cairn_query_close(q);
}

static void test_oom_loop(void **state)
{
    fx *f = *state;
    load_seq(f, "x", "k", "1", 15000, 0, 1, 50);
    load_seq(f, "x", "k", "2", 15000, 0, 2, 50);
    const char *text = "sum by (k) (rate(x[1m])) / on(k) group_left max_over_time(x[2m:30s])";
    int ok = 0;
    for (int64_t n = 0; n < 5000 && !ok; n++) {
        cairn_query *q = NULL;
        cairn_err e;
        mem_fail_after(n);
        int rc = cairn_query_open(f->db, CAIRN_LANG_PROMQL, text, strlen(text), 0, 600000, 60000, NULL, &q, &e);
        mem_fail_after(-1);
        if (rc == CAIRN_OK) {
            ok = 1;
            assert_int_equal(cairn_query_series_count(q), 2);
            cairn_query_close(q);
        } else {
            assert_null(q); /* a clean failure; ASan checks that nothing leaked */
        }
    }
    assert_true(ok);
}

/* ---- value helpers ---------------------------------------------------------------------- */

static void test_value_format(void **state)
{
    (void)state;
    char b[64];
    val_format_float_fixed(1e21, b, sizeof b);
    assert_string_equal(b, "1000000000000000000000");
    val_format_float_fixed(0.1, b, sizeof b);
    assert_string_equal(b, "0.1");
    val_format_float_fixed(-2.5e-7, b, sizeof b);
    assert_string_equal(b, "-0.00000025");
    val_format_float_fixed(12345.678, b, sizeof b);
    assert_string_equal(b, "12345.678");
    val_format_float_fixed(NAN, b, sizeof b);
    assert_string_equal(b, "NaN");
    val_format_float_fixed(-INFINITY, b, sizeof b);
    assert_string_equal(b, "-Inf");
    val_format_float(1e-7, b, sizeof b);
    assert_string_equal(b, "1e-07");
    val_format_float(1e21, b, sizeof b);
    assert_string_equal(b, "1e+21");
    val_format_float(100, b, sizeof b);
    assert_string_equal(b, "100");
    assert_true(val_absent(val_absent_value()));
    assert_false(val_absent(NAN));
    assert_false(val_absent(t_double(0x7ff8000000000002ULL)));
}

static void test_value_map_collisions(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    val_map m;
    assert_int_equal(val_map_init(&m, ar, 2), CAIRN_OK);
    /* One hash for many indexes (forced collision) and growth past the initial capacity. */
    for (int32_t i = 0; i < 100; i++) assert_int_equal(val_map_put(&m, i % 3 == 0 ? 42 : (uint64_t)i * 7919, i), 0);
    size_t cur = 0;
    int seen = 0;
    int32_t idx;
    while ((idx = val_map_next(&m, 42, &cur)) >= 0) {
        assert_int_equal(idx % 3, 0);
        seen++;
    }
    assert_int_equal(seen, 34);
    cur = 0;
    assert_int_equal(val_map_next(&m, 12345, &cur), -1);
    /* Label helpers. */
    cairn_label raw[3] = {CAIRN_LABEL("b", "2"), CAIRN_LABEL("__name__", "m"), CAIRN_LABEL("a", "1")};
    val_lset ls, ls2;
    assert_int_equal(val_lset_copy(ar, raw, 3, &ls), 0);
    assert_memory_equal(ls.v[0].name, "__name__", 8); /* '_' sorts after uppercase, before lowercase */
    assert_int_equal(val_lset_set(ar, ls, "c", 1, "3", 1, &ls2), 0);
    assert_int_equal(ls2.n, 4);
    assert_int_equal(val_lset_set(ar, ls2, "a", 1, "", 0, &ls2), 0);
    assert_int_equal(ls2.n, 3);
    assert_null(val_lset_get(ls2, "a", 1, NULL));
    /* Subset hashing/equality ignore what is filtered out (here the metric name). */
    cairn_label raw2[3] = {CAIRN_LABEL("a", "1"), CAIRN_LABEL("__name__", "other"), CAIRN_LABEL("b", "2")};
    val_lset ls3;
    assert_int_equal(val_lset_copy(ar, raw2, 3, &ls3), 0);
    const char *names[1] = {"__name__"};
    size_t lens[1] = {8};
    assert_true(val_lset_hash_filter(ls, names, lens, 1, 0) == val_lset_hash_filter(ls3, names, lens, 1, 0));
    assert_true(val_lset_eq_filter(ls, ls3, names, lens, 1, 0));
    assert_false(val_lset_eq(ls, ls3));
    assert_false(val_lset_eq_filter(ls, ls3, names, lens, 1, 1));
    assert_true(val_lset_cmp(ls, ls3) < 0); /* "m" < "other" */
    arena_free(ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_left_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_edges_range_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookback_left_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staleness_marker_ends_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_extrapolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_far_edges_half_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_counter_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_zero_point_clamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matching_many_to_many_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matching_result_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_labelset_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topk_and_sort_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range_result_sorted_by_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram_quantile_classic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_replace_names_as_logql, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subquery_and_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_and_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_loop, setup, teardown),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_value_map_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
