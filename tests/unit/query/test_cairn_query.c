/*
 * test_cairn_query.c — the query half of cairn.h for LogQL: log queries give
 * streams through cairn_logql_open(), metric queries give series through both
 * entry points, and errors come back with codes and positions.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cairn.h"
#include "support.h"

typedef struct fx {
    char *dir;
    cairn_db *db;
} fx;

#define T0 1700000000000000000LL /* ns */

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("cq");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    cairn_err e;
    if (cairn_open(f->dir, &o, &f->db, &e)) return -1;
    cairn_batch *b = cairn_batch_new();
    const char *apps[2] = {"api", "worker"};
    for (int a = 0; a < 2; a++) {
        cairn_label ls[1] = {{"app", 3, apps[a], strlen(apps[a])}};
        int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 1, &e);
        for (int i = 0; i < 120; i++) {
            char line[128];
            int n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"latency_ms\":%d,\"i\":%d}",
                             i % 4 == 0 ? "error" : "info", 10 * i, i);
            /* one line a second for two minutes */
            if (cairn_batch_entry(b, ref, T0 + (int64_t)i * 1000000000LL + a, line, (size_t)n, NULL, 0, &e)) return -1;
        }
    }
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

static void test_logql_streams_limit_and_direction(void **state)
{
    fx *f = *state;
    const char *q = "{app=\"api\"} |= \"error\" | json";
    cairn_query *cq;
    cairn_err e;
    for (int dir = 0; dir < 2; dir++) {
        int rc = cairn_logql_open(f->db, q, strlen(q), T0, T0 + 120 * 1000000000LL, 0, 7, dir, NULL, &cq, &e);
        if (rc) fail_msg("%s", e.msg);
        assert_int_equal(cairn_query_result_type(cq), CAIRN_RESULT_STREAMS);
        size_t total = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < cairn_query_series_count(cq); i++) {
            const cairn_label *ls;
            size_t nl, ne;
            assert_int_equal(cairn_query_stream(cq, i, &ls, &nl, &ne), CAIRN_OK);
            int has_level = 0;
            for (size_t k = 0; k < nl; k++) has_level |= ls[k].name_len == 5 && !memcmp(ls[k].name, "level", 5);
            assert_true(has_level); /* labels from | json join the stream labels */
            for (size_t j = 0; j < ne; j++) {
                int64_t t;
                const char *line;
                size_t len;
                assert_int_equal(cairn_query_entry(cq, i, j, &t, &line, &len), CAIRN_OK);
                assert_non_null(memmem(line, len, "error", 5));
                if (t < lo) lo = t;
                if (t > hi) hi = t;
                total++;
            }
        }
        assert_int_equal(total, 7);
        /* the limit keeps the 7 oldest error lines (forward) or the 7 newest (backward), across streams */
        assert_int_equal(lo, dir == CAIRN_FORWARD ? T0 : T0 + 92 * 1000000000LL);
        assert_int_equal(hi, dir == CAIRN_FORWARD ? T0 + 24 * 1000000000LL : T0 + 116 * 1000000000LL);
        assert_int_equal(cairn_query_series(cq, 0, NULL, NULL, NULL, NULL, NULL), CAIRN_NOTFOUND);
        cairn_query_close(cq);
    }
}

static void test_logql_metric_query_both_entry_points(void **state)
{
    fx *f = *state;
    const char *q = "sum by (app) (count_over_time({app=~\"api|worker\"} |= \"error\" [1m]))";
    cairn_query *cq;
    cairn_err e;
    int64_t t_ms = T0 / 1000000 + 120000; /* the two-minute mark */
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_LOGQL, q, strlen(q), t_ms, t_ms, 0, NULL, &cq, &e), CAIRN_OK);
    assert_int_equal(cairn_query_result_type(cq), CAIRN_RESULT_VECTOR);
    assert_int_equal(cairn_query_series_count(cq), 2);
    for (size_t i = 0; i < 2; i++) {
        const int64_t *ts;
        const double *v;
        size_t np;
        assert_int_equal(cairn_query_series(cq, i, NULL, NULL, &ts, &v, &np), CAIRN_OK);
        assert_int_equal(np, 1);
        assert_int_equal(ts[0], t_ms);
        /* window (t-1m, t] is left-open: api's line at exactly t-1m is out (64, 68, ..., 116: 14 errors);
         * worker's lines are 1 ns later, so its line at t-1m+1ns is in (60, ..., 116: 15) */
        double want = i == 0 ? 14.0 : 15.0; /* series sorted by labels: api, worker */
        if (v[0] != want) fail_msg("series %zu: %g errors in the window, want %g", i, v[0], want);
    }
    cairn_query_close(cq);
    /* a range query through cairn_logql_open */
    assert_int_equal(cairn_logql_open(f->db, q, strlen(q), T0 + 60 * 1000000000LL, T0 + 120 * 1000000000LL,
                                      30 * 1000000000LL, 0, CAIRN_BACKWARD, NULL, &cq, &e),
                     CAIRN_OK);
    assert_int_equal(cairn_query_result_type(cq), CAIRN_RESULT_MATRIX);
    assert_int_equal(cairn_query_series_count(cq), 2);
    cairn_query_close(cq);
}

static void test_logql_errors(void **state)
{
    fx *f = *state;
    cairn_query *cq = (cairn_query *)1;
    cairn_err e;
    const char *bad = "{app=\"api\"} |= ";
    assert_int_equal(cairn_logql_open(f->db, bad, strlen(bad), T0, T0 + 1, 0, 10, CAIRN_BACKWARD, NULL, &cq, &e),
                     CAIRN_EPARSE);
    assert_null(cq);
    assert_int_equal(e.line, 1);
    assert_int_equal(cairn_logql_open(f->db, "{a=\"b\"}", 7, T0, T0 + 1, -5, 10, CAIRN_BACKWARD, NULL, &cq, &e),
                     CAIRN_EINVAL);
    assert_int_equal(cairn_logql_open(f->db, "{a=\"b\"}", 7, T0, T0 + 1, 0, 10, 9, NULL, &cq, &e), CAIRN_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logql_streams_limit_and_direction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_metric_query_both_entry_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
