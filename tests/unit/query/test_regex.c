/*
 * test_regex.c — regexes through the query languages (issue 10): every regex
 * goes through engine/match.h (RE2), so this pins what users see.
 *
 *   - repetition counts above 1000 are a quick EINVAL in PromQL and LogQL
 *     selectors (they used to hang a thread forever);
 *   - LogQL `|~ "(a+)+X|!"` keeps every line (PCRE2 hit its match limit on
 *     long `a` runs and the pushed-down filter dropped the lines silently), and
 *     `!~` over lines that cannot match keeps them all;
 *   - PromQL label_replace with `.*:(\d+)`, `(?i)` and named groups (POSIX
 *     regex.h did nothing with \d and rejected (?i)), and LogQL label_replace;
 *   - the `regexp` stage with named captures;
 *   - `| json x="a[18446744073709551616]"` selects nothing (signed overflow
 *     used to wrap the index to 0).
 *
 * Data: {app="rx"} 4 lines at T0 + i s: 200 'a's then "!" and i;
 *       {app="js"} one line {"a":[7,8]} at T0;
 *       {app="re"} "GET /api/users 200 12ms", "POST /login 500 250ms";
 *       metric up{instance="host-1:9100"} = 1 at T0 (ms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "arena.h"
#include "logeval.h"
#include "support.h"
#include "value.h"

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
    cairn_label rx[] = {CAIRN_LABEL("app", "rx")};
    cairn_label js[] = {CAIRN_LABEL("app", "js")};
    cairn_label re[] = {CAIRN_LABEL("app", "re")};
    cairn_label up[] = {CAIRN_LABEL("__name__", "up"), CAIRN_LABEL("instance", "host-1:9100")};
    int rr = cairn_batch_series(b, CAIRN_KIND_LOG, rx, 1, &e);
    int rj = cairn_batch_series(b, CAIRN_KIND_LOG, js, 1, &e);
    int re_ = cairn_batch_series(b, CAIRN_KIND_LOG, re, 1, &e);
    int ru = cairn_batch_series(b, CAIRN_KIND_METRIC, up, 2, &e);
    assert_true(rr >= 0 && rj >= 0 && re_ >= 0 && ru >= 0);
    char line[300];
    for (int i = 0; i < 4; i++) {
        memset(line, 'a', 200);
        int n = 200 + snprintf(line + 200, sizeof line - 200, "! %d", i);
        assert_int_equal(cairn_batch_entry(b, rr, T0 + S * i, line, (size_t)n, NULL, 0, &e), CAIRN_OK);
    }
    assert_int_equal(cairn_batch_entry(b, rj, T0, "{\"a\":[7,8]}", 11, NULL, 0, &e), CAIRN_OK);
    assert_int_equal(cairn_batch_entry(b, re_, T0, "GET /api/users 200 12ms", 23, NULL, 0, &e), CAIRN_OK);
    assert_int_equal(cairn_batch_entry(b, re_, T0 + S, "POST /login 500 250ms", 21, NULL, 0, &e), CAIRN_OK);
    assert_int_equal(cairn_batch_sample(b, ru, T0 / 1000000, 1.0, &e), CAIRN_OK);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
    cairn_batch_free(b);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("regex");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_logs_ms = 0;
    o.retention_metrics_ms = 0;
    o.log_ooo_window_ms = INT64_MAX / 4;
    o.ooo_window_ms = INT64_MAX / 4;
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

static int lq(fx *f, const char *query, int64_t t)
{
    leval_params p = {t, 0, 0, 100, CAIRN_BACKWARD};
    return leval_query(f->ar, f->db, query, strlen(query), &p, NULL, &f->r, &f->e);
}

/* A log (streams) query over [T0, T0 + 10 s). */
static int lq_logs(fx *f, const char *query)
{
    leval_params p = {T0, T0 + 10 * S, S, 100, CAIRN_BACKWARD};
    return leval_query(f->ar, f->db, query, strlen(query), &p, NULL, &f->r, &f->e);
}

/* Instant LogQL query: the value of the row whose labels format as `labels` (-1 if absent). */
static double lq_get(fx *f, const char *query, const char *labels)
{
    int rc = lq(f, query, T0 + 10 * S);
    if (rc) fail_msg("%s: %s", query, f->e.msg);
    char b[512];
    for (size_t i = 0; i < f->r.v.n; i++) {
        val_lset_format(f->r.v.s[i].ls, b, sizeof b);
        if (!strcmp(b, labels)) return f->r.v.s[i].v[0];
    }
    return -1;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void test_repeat_count_rejected_fast(void **state)
{
    fx *f = *state;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static const char *pq[] = {"{__name__=~\"a{10000000}\"}", "up{instance!~\"x{1001}\"}"};
    for (size_t i = 0; i < 2; i++) {
        cairn_query *r = NULL;
        cairn_err e;
        int64_t t = T0 / 1000000;
        int rc = cairn_query_open(f->db, CAIRN_LANG_PROMQL, pq[i], strlen(pq[i]), t, t, 0, NULL, &r, &e);
        assert_true(rc == CAIRN_EPARSE || rc == CAIRN_EINVAL); /* the parser checks matcher regexes (400) */
        assert_null(r);
        if (!strstr(e.msg, "invalid repeat count")) fail_msg("%s: %s", pq[i], e.msg);
    }
    static const char *lqs[] = {"{app=~\"x{99999999}\"}", "{app=\"rx\"} |~ \"a{5000}\"",
                                "{app=\"rx\"} | regexp \"(?P<x>a{1001})\"", "count_over_time({app=~\"x{99999999}\"}[1h])"};
    for (size_t i = 0; i < 4; i++) {
        int rc = i < 3 ? lq_logs(f, lqs[i]) : lq(f, lqs[i], T0 + 10 * S);
        assert_true(rc == CAIRN_EPARSE || rc == CAIRN_EINVAL);
        if (!strstr(f->e.msg, "invalid repeat count")) fail_msg("%s: %s", lqs[i], f->e.msg);
    }
    double ms = ms_since(&t0);
    if (ms > 1000) fail_msg("rejecting took %.0f ms", ms);
}

static void test_logql_line_filter_never_drops(void **state)
{
    fx *f = *state;
    /* every line matches through the `|!` branch; the `(a+)+X` branch is linear in RE2 */
    assert_int_equal(lq_get(f, "count_over_time({app=\"rx\"} |~ \"(a+)+X|!\" [1h])", "{app=\"rx\"}"), 4);
    /* no line can match: `!~` keeps all of them */
    assert_int_equal(lq_get(f, "count_over_time({app=\"rx\"} !~ \"(a+)+X\" [1h])", "{app=\"rx\"}"), 4);
    assert_int_equal(lq_get(f, "count_over_time({app=\"rx\"} |~ \"(a+)+X\" [1h])", "{app=\"rx\"}"), -1);
    /* after a parser the filter is not pushed down: the same answers from the pipeline */
    assert_int_equal(lq_get(f, "count_over_time({app=\"rx\"} | logfmt |~ \"(a+)+X|!\" [1h])", "{app=\"rx\"}"), 4);
    assert_int_equal(lq_get(f, "count_over_time({app=\"rx\"} | logfmt !~ \"(a+)+X\" [1h])", "{app=\"rx\"}"), 4);
    /* RE2 syntax in line filters */
    assert_int_equal(lq_get(f, "count_over_time({app=\"re\"} |~ \"(?i)get\" [1h])", "{app=\"re\"}"), 1);
    assert_int_equal(lq_get(f, "count_over_time({app=\"re\"} |~ \"\\\\d+ms\" [1h])", "{app=\"re\"}"), 2);
    assert_int_equal(lq_get(f, "count_over_time({app=\"re\"} |~ \" 5\\\\d{2} \" [1h])", "{app=\"re\"}"), 1);
}

static void test_logql_regexp_stage_and_label_replace(void **state)
{
    fx *f = *state;
    assert_int_equal(
        lq_get(f, "sum by (method, ms) (count_over_time({app=\"re\"} | regexp \"^(?P<method>\\\\w+) \\\\S+ (\\\\d+) (?<ms>\\\\d+?)ms\" [1h]))",
               "{method=\"POST\", ms=\"250\"}"),
        1);
    assert_int_equal(lq_get(f, "label_replace(count_over_time({app=\"re\"}[1h]), \"a2\", \"${1}_$x\", \"app\", \"(?i)(R)(?P<x>E)\")",
                            "{a2=\"r_e\", app=\"re\"}"),
                     2);
    assert_int_equal(lq_logs(f, "{app=\"re\"} | regexp \"(\\\\w+)\""), CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "named capture"));
    assert_int_equal(lq_logs(f, "{app=\"re\"} | regexp \"(?P<1x>\\\\w+)\""), CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "invalid extracted label name '1x'"));
    assert_int_equal(lq_logs(f, "{app=\"re\"} | regexp \"(?P<a>x)(?P<a>y)\""), CAIRN_EINVAL);
    assert_non_null(strstr(f->e.msg, "duplicate extracted label name 'a'"));
}

static void test_logql_json_index_overflow(void **state)
{
    fx *f = *state;
    assert_int_equal(lq_get(f, "sum by (x) (count_over_time({app=\"js\"} | json x=\"a[1]\" [1h]))", "{x=\"8\"}"), 1);
    /* 2^64 used to wrap to 0 and select 7: no such element, no label (Loki) */
    assert_int_equal(lq_get(f, "sum by (x) (count_over_time({app=\"js\"} | json x=\"a[18446744073709551616]\" [1h]))", "{}"),
                     1);
    assert_int_equal(lq_get(f, "sum by (x) (count_over_time({app=\"js\"} | json x=\"a[99999999999999999999999]\" [1h]))",
                            "{}"),
                     1);
    assert_int_equal(lq_get(f, "sum by (x) (count_over_time({app=\"js\"} | json x=\"a[2]\" [1h]))", "{}"), 1);
}

static void promql_label(fx *f, const char *q, const char *name, const char *want)
{
    cairn_query *r = NULL;
    cairn_err e;
    int64_t t = T0 / 1000000;
    if (cairn_query_open(f->db, CAIRN_LANG_PROMQL, q, strlen(q), t, t, 0, NULL, &r, &e)) fail_msg("%s: %s", q, e.msg);
    assert_int_equal(cairn_query_series_count(r), 1);
    const cairn_label *ls;
    size_t nl;
    cairn_query_series(r, 0, &ls, &nl, NULL, NULL, NULL);
    const char *got = NULL;
    size_t gl = 0;
    for (size_t i = 0; i < nl; i++)
        if (ls[i].name_len == strlen(name) && !memcmp(ls[i].name, name, ls[i].name_len)) got = ls[i].value, gl = ls[i].value_len;
    if (want ? !got || gl != strlen(want) || memcmp(got, want, gl) : got != NULL)
        fail_msg("%s: %s=\"%.*s\", want %s", q, name, (int)gl, got ? got : "", want ? want : "(absent)");
    cairn_query_close(r);
}

static void test_promql_label_replace(void **state)
{
    fx *f = *state;
    /* POSIX regex.h had no \d: the label was silently not set */
    promql_label(f, "label_replace(up, \"port\", \"$1\", \"instance\", \".*:(\\\\d+)\")", "port", "9100");
    /* (?i) failed to compile under POSIX */
    promql_label(f, "label_replace(up, \"h\", \"${1}\", \"instance\", \"(?i)(HOST-\\\\d)(?::\\\\d+)\")", "h", "host-1");
    promql_label(f, "label_replace(up, \"h\", \"$host/$port\", \"instance\", \"(?P<host>[^:]+):(?P<port>\\\\d+)\")", "h",
                 "host-1/9100");
    /* no match: unchanged */
    promql_label(f, "label_replace(up, \"port\", \"$1\", \"instance\", \"(\\\\d+)\")", "port", NULL);
    /* anchored with (?s): `.` spans the whole value */
    promql_label(f, "label_replace(up, \"a\", \"x\", \"instance\", \"host.1.9100\")", "a", "x");
    cairn_query *r = NULL;
    cairn_err e;
    int64_t t = T0 / 1000000;
    const char *bad = "label_replace(up, \"a\", \"x\", \"instance\", \"a{1001}\")";
    assert_int_equal(cairn_query_open(f->db, CAIRN_LANG_PROMQL, bad, strlen(bad), t, t, 0, NULL, &r, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regular expression in label_replace()"));
    assert_non_null(strstr(e.msg, "invalid repeat count"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_repeat_count_rejected_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_line_filter_never_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_regexp_stage_and_label_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logql_json_index_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promql_label_replace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
