/*
 * test_query_budget.c — query memory and time bounds through cairn.h: the
 * per-query byte budget (refused early from series x steps, and any later
 * allocation past it), the budget concurrent queries share, the defaults,
 * the deadline inside nested subqueries, and line_format output bounds in a
 * LogQL query.
 *
 * Data: 200 series up{i="0".."199"} with a sample every 15 s for 2 h from
 * T0, one series `one` with a sample every second for 2 h, and a log stream
 * {app="big"} of 50 lines of 2000 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cairn.h"
#include "support.h"

typedef struct fx {
    char *dir;
    cairn_db *db;
} fx;

#define T0_MS 1700000000000LL
#define H_MS (3600 * 1000LL)

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("qbudget");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    o.retention_metrics_ms = 0;
    cairn_err e;
    if (cairn_open(f->dir, &o, &f->db, &e)) return -1;
    cairn_batch *b = cairn_batch_new();
    for (int s = 0; s < 200; s++) {
        char v[16];
        snprintf(v, sizeof v, "%d", s);
        cairn_label ls[2] = {CAIRN_LABEL("__name__", "up"), {"i", 1, v, strlen(v)}};
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
        for (int64_t t = 0; t <= 2 * H_MS; t += 15000)
            if (cairn_batch_sample(b, ref, T0_MS + t, (double)s, &e)) return -1;
    }
    cairn_label one[1] = {CAIRN_LABEL("__name__", "one")};
    int r1 = cairn_batch_series(b, CAIRN_KIND_METRIC, one, 1, &e);
    for (int64_t t = 0; t <= 2 * H_MS; t += 1000)
        if (cairn_batch_sample(b, r1, T0_MS + t, 1.0, &e)) return -1;
    cairn_label app[1] = {CAIRN_LABEL("app", "big")};
    int rl = cairn_batch_series(b, CAIRN_KIND_LOG, app, 1, &e);
    char line[2000];
    memset(line, 'x', sizeof line);
    for (int i = 0; i < 50; i++)
        if (cairn_batch_entry(b, rl, (T0_MS + i * 1000) * 1000000, line, sizeof line, NULL, 0, &e)) return -1;
    if (cairn_commit(f->db, b, &e)) return -1;
    cairn_batch_free(b);
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

static int prom(fx *f, const char *q, int64_t start, int64_t end, int64_t step, const cairn_query_opts *o,
                cairn_query **out, cairn_err *e)
{
    return cairn_query_open(f->db, CAIRN_LANG_PROMQL, q, strlen(q), start, end, step, o, out, e);
}

static void test_budget_defaults(void **state)
{
    (void)state;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    assert_int_equal(o.max_bytes, 256u * 1024 * 1024);
    assert_int_equal(o.max_series, 100000);
    assert_null(o.shared_budget);
}

static void test_budget_series_x_steps_refused_early(void **state)
{
    fx *f = *state;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.max_bytes = 1024 * 1024;
    cairn_query *q = NULL;
    cairn_err e;
    /* 200 series x 7201 steps x 8 bytes = 11.5 MB > 1 MiB */
    int rc = prom(f, "count({__name__=~\"u.+\"})", T0_MS, T0_MS + 2 * H_MS, 1000, &o, &q, &e);
    assert_int_equal(rc, CAIRN_ELIMIT);
    assert_null(q);
    assert_non_null(strstr(e.msg, "query would use more than 1048576 bytes of memory (200 series x 7201 steps)"));
    assert_non_null(strstr(e.msg, "raise --query-max-bytes"));
    /* the same query at a 1 min step fits */
    assert_int_equal(prom(f, "count({__name__=~\"u.+\"})", T0_MS, T0_MS + 2 * H_MS, 60000, &o, &q, &e), CAIRN_OK);
    assert_int_equal(cairn_query_series_count(q), 1);
    cairn_query_close(q);
}

static void test_budget_any_allocation(void **state)
{
    fx *f = *state;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.max_bytes = 1000; /* not even the parser's first arena chunk fits */
    cairn_query *q = NULL;
    cairn_err e;
    assert_int_equal(prom(f, "up", T0_MS, 0, 0, &o, &q, &e), CAIRN_ELIMIT);
    assert_string_equal(e.msg, "query would use more than 1000 bytes of memory; narrow the selector, shorten the "
                               "range or raise --query-max-bytes");
    /* a subquery's intermediate rows count too: 200 x 7201 steps inside */
    o.max_bytes = 4 * 1024 * 1024;
    assert_int_equal(prom(f, "max_over_time(sum(up)[2h:1s])", T0_MS + 2 * H_MS, 0, 0, &o, &q, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "steps)"));
    /* LogQL through the same entry point */
    o.max_bytes = 1000;
    const char *lq = "count_over_time({app=\"big\"}[1m])";
    assert_int_equal(cairn_logql_open(f->db, lq, strlen(lq), T0_MS * 1000000, (T0_MS + H_MS) * 1000000, 60000000000LL,
                                      100, CAIRN_BACKWARD, &o, &q, &e),
                     CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "--query-max-bytes"));
}

static void test_budget_shared_between_queries(void **state)
{
    fx *f = *state;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    cairn_query *q1 = NULL, *q2 = NULL;
    cairn_err e;
    /* measure what one query holds with a budget that only counts */
    cairn_query_budget *b = cairn_query_budget_new(0);
    assert_non_null(b);
    o.shared_budget = b;
    assert_int_equal(prom(f, "up", T0_MS, T0_MS + 2 * H_MS, 30000, &o, &q1, &e), CAIRN_OK);
    uint64_t one = cairn_query_budget_used(b);
    assert_true(one > 200 * 241 * 8); /* 200 series x 241 points, and more */
    cairn_query_close(q1);
    assert_int_equal(cairn_query_budget_used(b), 0);
    cairn_query_budget_free(b);
    /* room for one and a half: the second query running at the same time fails */
    uint64_t limit = one + one / 2;
    b = cairn_query_budget_new(limit);
    o.shared_budget = b;
    assert_int_equal(prom(f, "up", T0_MS, T0_MS + 2 * H_MS, 30000, &o, &q1, &e), CAIRN_OK);
    uint64_t held = cairn_query_budget_used(b);
    assert_int_equal(held, one);
    int rc = prom(f, "up", T0_MS, T0_MS + 2 * H_MS, 30000, &o, &q2, &e);
    assert_int_equal(rc, CAIRN_ELIMIT);
    char want[128];
    snprintf(want, sizeof want, "the queries running now would use more than %llu bytes of memory together",
             (unsigned long long)limit);
    assert_non_null(strstr(e.msg, want));
    assert_non_null(strstr(e.msg, "--query-max-bytes-total"));
    assert_int_equal(cairn_query_budget_used(b), held); /* the failed query gave back what it took */
    cairn_query_close(q1);
    assert_int_equal(cairn_query_budget_used(b), 0);
    assert_int_equal(prom(f, "up", T0_MS, T0_MS + 2 * H_MS, 30000, &o, &q2, &e), CAIRN_OK);
    cairn_query_close(q2);
    assert_int_equal(cairn_query_budget_used(b), 0);
    /* LogQL: rows in the arena and sample arrays charged to it are all given back */
    const char *lq = "sum by (app) (count_over_time({app=\"big\"}[10s]))";
    assert_int_equal(cairn_logql_open(f->db, lq, strlen(lq), T0_MS * 1000000, (T0_MS + 60000) * 1000000, 1000000000LL,
                                      100, CAIRN_BACKWARD, &o, &q2, &e),
                     CAIRN_OK);
    assert_true(cairn_query_budget_used(b) > 0);
    cairn_query_close(q2);
    assert_int_equal(cairn_query_budget_used(b), 0);
    cairn_query_budget_free(b);
    cairn_query_budget_free(NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_deadline_in_nested_subqueries(void **state)
{
    fx *f = *state;
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.timeout_ms = 1;
    o.max_bytes = 0;
    o.max_samples = 0;
    cairn_query *q = NULL;
    cairn_err e;
    double t0 = now_s();
    int rc = prom(f, "max_over_time(max_over_time(max_over_time(one[1d:1s])[1d:1s])[1d:1s])", T0_MS + 2 * H_MS, 0,
                  0, &o, &q, &e);
    double dt = now_s() - t0;
    assert_int_equal(rc, CAIRN_ETIMEOUT);
    assert_non_null(strstr(e.msg, "query timed out"));
    assert_true(dt < 1.0);
    /* the same query without a deadline completes: the error above was the clock */
    o.timeout_ms = 0;
    rc = prom(f, "max_over_time(max_over_time(max_over_time(one[1d:1s])[1d:1s])[1d:1s])", T0_MS + 2 * H_MS, 0, 0, &o,
              &q, &e);
    if (rc) fail_msg("%s", e.msg);
    cairn_query_close(q);
}

static void test_logql_line_format_bounded(void **state)
{
    fx *f = *state;
    cairn_query *q = NULL;
    cairn_err e;
    /* 200 x 2000 bytes per line would be 400 kB: a template error on each entry, line kept */
    const char *lq = "{app=\"big\"} | line_format \"{{ repeat 200 __line__ }}\"";
    int rc = cairn_logql_open(f->db, lq, strlen(lq), T0_MS * 1000000, (T0_MS + H_MS) * 1000000, 0, 100,
                              CAIRN_BACKWARD, NULL, &q, &e);
    if (rc) fail_msg("%s", e.msg);
    size_t total = 0;
    for (size_t i = 0; i < cairn_query_series_count(q); i++) {
        const cairn_label *ls;
        size_t nl, ne;
        assert_int_equal(cairn_query_stream(q, i, &ls, &nl, &ne), CAIRN_OK);
        int err = 0;
        for (size_t k = 0; k < nl; k++)
            err |= ls[k].name_len == 9 && !memcmp(ls[k].name, "__error__", 9) &&
                   ls[k].value_len == 17 && !memcmp(ls[k].value, "TemplateFormatErr", 17);
        assert_true(err);
        for (size_t j = 0; j < ne; j++) {
            const char *line;
            size_t len;
            assert_int_equal(cairn_query_entry(q, i, j, NULL, &line, &len), CAIRN_OK);
            assert_int_equal(len, 2000);
            total++;
        }
    }
    assert_int_equal(total, 50);
    cairn_query_close(q);
    /* the Go call form renders */
    lq = "{app=\"big\"} | line_format \"{{ repeat 2 (trunc 3 __line__) }}\"";
    rc = cairn_logql_open(f->db, lq, strlen(lq), T0_MS * 1000000, (T0_MS + H_MS) * 1000000, 0, 1, CAIRN_BACKWARD,
                          NULL, &q, &e);
    if (rc) fail_msg("%s", e.msg);
    const char *line;
    size_t len;
    assert_int_equal(cairn_query_entry(q, 0, 0, NULL, &line, &len), CAIRN_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(line, "xxxxxx", 6);
    cairn_query_close(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_defaults),
        cmocka_unit_test_setup_teardown(test_budget_series_x_steps_refused_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_any_allocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_shared_between_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_in_nested_subqueries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_line_format_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
