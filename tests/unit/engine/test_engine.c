/*
 * test_engine.c — the public API of the storage engine end to end:
 * commit rules (duplicates, conflicts, out-of-order window, backfill, limits,
 * atomicity), reads (select, samples, label names/values bounded by time,
 * kinds never mixing), checkpoint/reopen, chunk cutting, retention.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cairn.h"
#include "mem.h"
#include "support.h"

typedef struct fx {
    char *dir;
    cairn_db *db;
    cairn_options o;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("engine");
    cairn_options_default(&f->o);
    f->o.background = 0;
    f->o.retention_metrics_ms = 0;
    f->o.retention_logs_ms = 0;
    cairn_err e;
    if (cairn_open(f->dir, &f->o, &f->db, &e)) {
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

static void reopen(fx *f)
{
    cairn_close(f->db);
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_OK);
}

/* Commit one sample of {__name__=name, k=v}. */
static int put(fx *f, const char *name, const char *k, const char *v, int64_t t, double val, cairn_err *e)
{
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[2] = {{"__name__", 8, name, strlen(name)}, {k, strlen(k), v, strlen(v)}};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, e);
    assert_true(ref >= 0);
    assert_int_equal(cairn_batch_sample(b, ref, t, val, e), CAIRN_OK);
    int rc = cairn_commit(f->db, b, e);
    cairn_batch_free(b);
    return rc;
}

static uint64_t only_id(fx *f, int kind, const char *name, const char *value)
{
    cairn_matcher m = {CAIRN_MATCH_EQ, name, strlen(name), value, strlen(value)};
    cairn_series_set *s;
    cairn_err e;
    assert_int_equal(cairn_select(f->db, kind, &m, 1, INT64_MIN, INT64_MAX, &s, &e), CAIRN_OK);
    assert_int_equal(cairn_series_set_count(s), 1);
    uint64_t id;
    assert_int_equal(cairn_series_set_next(s, &id, NULL, NULL), 1);
    cairn_series_set_close(s);
    return id;
}

/* Read all samples of a series into arrays; returns count. */
static size_t read_all(fx *f, uint64_t id, int64_t mint, int64_t maxt, int64_t *ts, double *vs, size_t cap)
{
    cairn_samples *it;
    cairn_err e;
    assert_int_equal(cairn_samples_open(f->db, id, mint, maxt, &it, &e), CAIRN_OK);
    size_t n = 0;
    int64_t t;
    double v;
    int rc;
    while ((rc = cairn_samples_next(it, &t, &v)) == 1) {
        assert_true(n < cap);
        if (n) assert_true(t > ts[n - 1]);
        ts[n] = t, vs[n] = v, n++;
    }
    assert_int_equal(rc, 0);
    cairn_samples_close(it);
    return n;
}

static void test_commit_roundtrip_special_values(void **state)
{
    fx *f = *state;
    const uint64_t bits[] = {0x7ff0000000000002ULL, 0x7ff8000000000001ULL, 0xfff0000000000000ULL,
                             0x7ff0000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
                             0x3ff0000000000000ULL};
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    cairn_label ls[1] = {CAIRN_LABEL("__name__", "special")};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 1, &e);
    for (size_t i = 0; i < 7; i++) assert_int_equal(cairn_batch_sample(b, ref, 1000 * (int64_t)i, t_double(bits[i]), &e), 0);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
    cairn_batch_free(b);
    for (int pass = 0; pass < 2; pass++) {
        uint64_t id = only_id(f, CAIRN_KIND_METRIC, "__name__", "special");
        int64_t ts[16];
        double vs[16];
        assert_int_equal(read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 16), 7);
        for (size_t i = 0; i < 7; i++) {
            assert_int_equal(ts[i], 1000 * (int64_t)i);
            assert_int_equal(t_bits(vs[i]), bits[i]);
        }
        reopen(f); /* second pass reads after checkpoint + reopen */
    }
}

static void test_commit_duplicates_and_conflicts(void **state)
{
    fx *f = *state;
    cairn_err e;
    assert_int_equal(put(f, "m", "a", "1", 1000, 1.5, &e), CAIRN_OK);
    assert_int_equal(put(f, "m", "a", "1", 2000, 2.5, &e), CAIRN_OK);
    /* same value: ignored */
    assert_int_equal(put(f, "m", "a", "1", 1000, 1.5, &e), CAIRN_OK);
    /* different value: rejected, named */
    assert_int_equal(put(f, "m", "a", "1", 1000, 9.0, &e), CAIRN_EOUTOFORDER);
    assert_non_null(strstr(e.msg, "duplicate sample for timestamp 1000"));
    assert_non_null(strstr(e.msg, "__name__=\"m\""));
    /* the same inside one batch */
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[2] = {CAIRN_LABEL("__name__", "m"), CAIRN_LABEL("a", "2")};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
    cairn_batch_sample(b, ref, 5, 1.0, &e);
    cairn_batch_sample(b, ref, 5, 2.0, &e);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_EOUTOFORDER);
    cairn_batch_free(b);
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.samples_dup_ignored, 1);
    assert_int_equal(st.samples_rejected_dup, 2);
    /* the rejected batch left nothing: series a=2 has no data in any range */
    cairn_series_set *s;
    cairn_matcher m = {CAIRN_MATCH_EQ, "a", 1, "2", 1};
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &m, 1, INT64_MIN, INT64_MAX, &s, &e), CAIRN_OK);
    assert_int_equal(cairn_series_set_count(s), 0);
    cairn_series_set_close(s);
    int64_t ts[8];
    double vs[8];
    assert_int_equal(read_all(f, only_id(f, CAIRN_KIND_METRIC, "a", "1"), INT64_MIN, INT64_MAX, ts, vs, 8), 2);
    assert_bits_equal(vs[0], 1.5);
}

static void test_commit_out_of_order_window(void **state)
{
    fx *f = *state;
    cairn_err e;
    const int64_t h = 3600 * 1000;
    assert_int_equal(put(f, "w", "a", "1", 10 * h, 1, &e), CAIRN_OK);
    assert_int_equal(put(f, "w", "a", "1", 10 * h - h / 2, 2, &e), CAIRN_OK); /* within 1 h */
    assert_int_equal(put(f, "w", "a", "1", 10 * h - 2 * h, 3, &e), CAIRN_EOUTOFORDER);
    assert_non_null(strstr(e.msg, "too old"));
    /* a new series takes any age (backfill) */
    assert_int_equal(put(f, "w", "a", "2", 1, 4, &e), CAIRN_OK);
    int64_t ts[8];
    double vs[8];
    uint64_t id = only_id(f, CAIRN_KIND_METRIC, "a", "1");
    assert_int_equal(read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 8), 2);
    assert_int_equal(ts[0], 10 * h - h / 2);
    assert_int_equal(ts[1], 10 * h);
    reopen(f);
    assert_int_equal(read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 8), 2);
    assert_int_equal(ts[0], 10 * h - h / 2);
}

static void test_series_chunk_cut_and_ranges(void **state)
{
    fx *f = *state;
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[2] = {CAIRN_LABEL("__name__", "many"), CAIRN_LABEL("job", "x")};
    /* 1000 samples at 15 s, committed in 10 batches, with a checkpoint in the middle */
    for (int k = 0; k < 10; k++) {
        cairn_batch_reset(b);
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
        for (int i = 0; i < 100; i++) cairn_batch_sample(b, ref, (int64_t)(k * 100 + i) * 15000, k * 100 + i, &e);
        assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
        if (k == 4) assert_int_equal(cairn_checkpoint(f->db, &e), CAIRN_OK);
    }
    cairn_batch_free(b);
    uint64_t id = only_id(f, CAIRN_KIND_METRIC, "job", "x");
    static int64_t ts[1100];
    static double vs[1100];
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 1100), 1000);
        for (int i = 0; i < 1000; i++) {
            assert_int_equal(ts[i], (int64_t)i * 15000);
            assert_bits_equal(vs[i], (double)i);
        }
        /* inclusive bounds, a window across chunk boundaries */
        assert_int_equal(read_all(f, id, 115 * 15000, 365 * 15000, ts, vs, 1100), 251);
        assert_int_equal(ts[0], 115 * 15000);
        reopen(f);
    }
}

/* cairn_samples_next_n returns exactly what cairn_samples_next does, for any
 * batch size and window, over in-order, out-of-order, in-memory and stored chunks. */
static void test_samples_next_n_matches_next(void **state)
{
    fx *f = *state;
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("__name__", "nn")};
    t_rng_reset();
    for (int k = 0; k < 8; k++) {
        cairn_batch_reset(b);
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 1, &e);
        for (int i = 0; i < 150; i++) cairn_batch_sample(b, ref, (int64_t)(k * 150 + i) * 10000, k * 150 + i, &e);
        /* out-of-order samples between existing ones, within the window */
        if (k > 0)
            for (int i = 0; i < 40; i++)
                cairn_batch_sample(b, ref, (int64_t)(k * 150 - 1 - (int)t_randn(100)) * 10000 + 1 + i, -i, &e);
        assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_OK);
        if (k % 3 == 1) assert_int_equal(cairn_checkpoint(f->db, &e), CAIRN_OK);
    }
    cairn_batch_free(b);
    uint64_t id = only_id(f, CAIRN_KIND_METRIC, "__name__", "nn");
    static int64_t t1[4000], t2[4000];
    static double v1[4000], v2[4000];
    const int64_t wins[][2] = {{INT64_MIN, INT64_MAX}, {123456, 7654321}, {2000000, 2000000}, {5, 6}};
    const size_t caps[] = {1, 7, 128, 4000};
    for (size_t w = 0; w < 4; w++) {
        size_t n1 = read_all(f, id, wins[w][0], wins[w][1], t1, v1, 4000);
        for (size_t c = 0; c < 4; c++) {
            cairn_samples *it;
            assert_int_equal(cairn_samples_open(f->db, id, wins[w][0], wins[w][1], &it, &e), CAIRN_OK);
            size_t n2 = 0;
            int r;
            while ((r = cairn_samples_next_n(it, t2 + n2, v2 + n2, caps[c] < 4000 - n2 ? caps[c] : 4000 - n2)) > 0)
                n2 += (size_t)r;
            assert_int_equal(r, 0);
            cairn_samples_close(it);
            assert_int_equal(n1, n2);
            for (size_t i = 0; i < n1; i++) {
                assert_int_equal(t1[i], t2[i]);
                assert_bits_equal(v1[i], v2[i]);
            }
        }
    }
}

/* Fail allocation N for N = 0, 1, 2, ... until a commit of new series goes
 * through: each failure is a clean error, and the end state holds every
 * series once and every sample once (no set indexed twice under two ids). */
static void test_commit_oom_loop(void **state)
{
    fx *f = *state;
    cairn_err e;
    int64_t nth;
    for (nth = 0; nth < 5000; nth++) {
        cairn_batch *b = cairn_batch_new();
        for (int k = 0; k < 3; k++) {
            char v[2] = {(char)('0' + k), 0};
            cairn_label ls[2] = {CAIRN_LABEL("__name__", "oom"), {"k", 1, v, 1}};
            int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
            assert_true(ref >= 0);
            assert_int_equal(cairn_batch_sample(b, ref, 1000, k, &e), CAIRN_OK);
            assert_int_equal(cairn_batch_sample(b, ref, 2000, k + 0.5, &e), CAIRN_OK);
        }
        mem_fail_after(nth);
        int rc = cairn_commit(f->db, b, &e);
        mem_fail_after(-1);
        cairn_batch_free(b);
        if (rc == CAIRN_OK) break;
        if (rc != CAIRN_ENOMEM) fail_msg("allocation %lld: code %d (%s)", (long long)nth, rc, e.msg);
    }
    assert_true(nth > 0 && nth < 5000);
    for (int pass = 0; pass < 2; pass++) {
        cairn_series_set *ss;
        cairn_matcher m = {CAIRN_MATCH_EQ, "__name__", 8, "oom", 3};
        assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &m, 1, INT64_MIN, INT64_MAX, &ss, &e), CAIRN_OK);
        assert_int_equal(cairn_series_set_count(ss), 3);
        uint64_t id;
        while (cairn_series_set_next(ss, &id, NULL, NULL) == 1) {
            int64_t ts[4];
            double vs[4];
            assert_int_equal(read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 4), 2);
        }
        cairn_series_set_close(ss);
        reopen(f);
    }
}

static void test_select_matchers_and_kinds(void **state)
{
    fx *f = *state;
    cairn_err e;
    assert_int_equal(put(f, "up", "job", "api", 1000, 1, &e), 0);
    assert_int_equal(put(f, "up", "job", "db", 1000, 1, &e), 0);
    assert_int_equal(put(f, "down", "zone", "eu", 1000, 1, &e), 0);
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("job", "api")};
    int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 1, &e);
    assert_int_equal(cairn_batch_entry(b, ref, 5, "hello", 5, NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(f->db, b, &e), 0);
    cairn_batch_free(b);
    struct {
        cairn_matcher m;
        size_t metric, log;
    } cases[] = {
        {{CAIRN_MATCH_EQ, "job", 3, "api", 3}, 1, 1},
        {{CAIRN_MATCH_NE, "job", 3, "api", 3}, 2, 0},
        {{CAIRN_MATCH_RE, "job", 3, "a.*|d.", 6}, 2, 1},
        {{CAIRN_MATCH_NRE, "job", 3, "a.*", 3}, 2, 0},
        {{CAIRN_MATCH_EQ, "job", 3, "", 0}, 1, 0},  /* missing label matches "" */
        {{CAIRN_MATCH_NE, "job", 3, "", 0}, 2, 1},
        {{CAIRN_MATCH_RE, "job", 3, "ap", 2}, 0, 0}, /* anchored */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cairn_series_set *s;
        assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &cases[i].m, 1, INT64_MIN, INT64_MAX, &s, &e), 0);
        if (cairn_series_set_count(s) != cases[i].metric) fail_msg("case %zu: metric count %zu", i, cairn_series_set_count(s));
        cairn_series_set_close(s);
        assert_int_equal(cairn_select(f->db, CAIRN_KIND_LOG, &cases[i].m, 1, INT64_MIN, INT64_MAX, &s, &e), 0);
        if (cairn_series_set_count(s) != cases[i].log) fail_msg("case %zu: log count %zu", i, cairn_series_set_count(s));
        cairn_series_set_close(s);
    }
    cairn_matcher bad = {CAIRN_MATCH_RE, "job", 3, "(", 1};
    cairn_series_set *s;
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &bad, 1, INT64_MIN, INT64_MAX, &s, &e), CAIRN_EINVAL);
    assert_null(s);
    assert_int_equal(cairn_select(f->db, 7, NULL, 0, 0, 0, &s, &e), CAIRN_EINVAL);
}

static void collect(cairn_strings *s, char *out, size_t cap)
{
    const char *p;
    size_t n;
    out[0] = 0;
    while (cairn_strings_next(s, &p, &n) == 1) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%.*s", l ? "," : "", (int)n, p);
    }
    cairn_strings_close(s);
}

static void test_labels_bounded_by_time(void **state)
{
    fx *f = *state;
    cairn_err e;
    assert_int_equal(put(f, "old", "env", "dev", 1000, 1, &e), 0);
    assert_int_equal(put(f, "new", "env", "prod", 100000, 1, &e), 0);
    assert_int_equal(put(f, "new", "region", "eu", 100000, 1, &e), 0);
    char out[256];
    cairn_strings *s;
    assert_int_equal(cairn_label_names(f->db, CAIRN_KIND_METRIC, NULL, 0, INT64_MIN, INT64_MAX, &s, &e), 0);
    collect(s, out, sizeof out);
    assert_string_equal(out, "__name__,env,region");
    assert_int_equal(cairn_label_values(f->db, CAIRN_KIND_METRIC, "env", 3, NULL, 0, 50000, 200000, &s, &e), 0);
    collect(s, out, sizeof out);
    assert_string_equal(out, "prod");
    assert_int_equal(cairn_label_values(f->db, CAIRN_KIND_METRIC, "__name__", 8, NULL, 0, 0, 2000, &s, &e), 0);
    collect(s, out, sizeof out);
    assert_string_equal(out, "old");
    cairn_matcher m = {CAIRN_MATCH_EQ, "__name__", 8, "new", 3};
    assert_int_equal(cairn_label_names(f->db, CAIRN_KIND_METRIC, &m, 1, INT64_MIN, INT64_MAX, &s, &e), 0);
    collect(s, out, sizeof out);
    assert_string_equal(out, "__name__,env,region");
    assert_int_equal(cairn_label_names(f->db, CAIRN_KIND_LOG, NULL, 0, INT64_MIN, INT64_MAX, &s, &e), 0);
    collect(s, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_limits_and_validation(void **state)
{
    fx *f = *state;
    cairn_close(f->db);
    f->o.max_series = 2;
    f->o.max_line_bytes = 10;
    f->o.max_labels = 3;
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), 0);
    assert_int_equal(put(f, "a", "x", "1", 1, 1, &e), 0);
    assert_int_equal(put(f, "a", "x", "2", 1, 1, &e), 0);
    assert_int_equal(put(f, "a", "x", "3", 1, 1, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "series limit of 2"));
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("app", "x")};
    int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 1, &e);
    assert_int_equal(cairn_batch_entry(b, ref, 77, "0123456789ab", 12, NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "at 77"));
    assert_non_null(strstr(e.msg, "app=\"x\""));
    cairn_batch_reset(b);
    cairn_label many[4] = {CAIRN_LABEL("a", "1"), CAIRN_LABEL("b", "1"), CAIRN_LABEL("c", "1"), CAIRN_LABEL("d", "1")};
    ref = cairn_batch_series(b, CAIRN_KIND_LOG, many, 4, &e);
    assert_true(ref >= 0);
    assert_int_equal(cairn_batch_entry(b, ref, 1, "x", 1, NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_ELIMIT);
    assert_non_null(strstr(e.msg, "4 labels"));
    /* batch-level validation */
    cairn_batch_reset(b);
    cairn_label bad[1] = {CAIRN_LABEL("1bad", "v")};
    assert_true(cairn_batch_series(b, CAIRN_KIND_METRIC, bad, 1, &e) < 0);
    assert_int_equal(e.code, CAIRN_EINVAL);
    assert_int_equal(cairn_batch_sample(b, 5, 1, 1, &e), CAIRN_EINVAL);
    cairn_batch_free(b);
}

static void test_logs_roundtrip_and_direction(void **state)
{
    fx *f = *state;
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("app", "api")};
    int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 1, &e);
    char line[64];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof line, "%s line %d", i % 5 ? "info" : "error", i);
        cairn_label md[1] = {CAIRN_LABEL("request_id", "r1")};
        assert_int_equal(cairn_batch_entry(b, ref, (int64_t)(49 - i) * 1000000, line, (size_t)n, md, i % 2, &e), 0);
    }
    assert_int_equal(cairn_commit(f->db, b, &e), 0);
    cairn_batch_free(b);
    uint64_t id = only_id(f, CAIRN_KIND_LOG, "app", "api");
    for (int pass = 0; pass < 2; pass++) {
        for (int dir = 0; dir < 2; dir++) {
            cairn_entries *it;
            cairn_line_filter flt = {CAIRN_FILTER_CONTAINS, "error", 5};
            assert_int_equal(cairn_entries_open(f->db, id, 0, INT64_MAX, dir, &flt, 1, NULL, NULL, &it, &e), 0);
            int64_t t, prev = dir ? INT64_MAX : INT64_MIN;
            const char *p;
            size_t n, nm, count = 0;
            const cairn_label *md;
            while (cairn_entries_next(it, &t, &p, &n, &md, &nm) == 1) {
                assert_true(dir ? t < prev : t > prev);
                prev = t;
                assert_non_null(memmem(p, n, "error", 5));
                count++;
            }
            cairn_entries_close(it);
            assert_int_equal(count, 10);
        }
        reopen(f);
    }
}

static void test_retention(void **state)
{
    fx *f = *state;
    cairn_err e;
    const int64_t now = 1700000000000LL;
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("__name__", "r")};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 1, &e);
    /* 4 h of data at 1 min: several sealed chunks (committed with retention 0:
     * with 1 h, commit refuses samples older than the wall clock's last hour) */
    for (int i = 0; i < 240; i++) cairn_batch_sample(b, ref, now - 4 * 3600 * 1000LL + i * 60000LL, i, &e);
    assert_int_equal(cairn_commit(f->db, b, &e), 0);
    cairn_batch_free(b);
    cairn_close(f->db);
    f->o.retention_metrics_ms = 3600 * 1000;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), 0);
    assert_int_equal(cairn_checkpoint(f->db, &e), 0);
    assert_int_equal(cairn_retention_run(f->db, now, &e), 0);
    uint64_t id = only_id(f, CAIRN_KIND_METRIC, "__name__", "r");
    static int64_t ts[300];
    static double vs[300];
    size_t n = read_all(f, id, INT64_MIN, INT64_MAX, ts, vs, 300);
    assert_true(n < 240);
    assert_true(n >= 60); /* the last hour is kept */
    assert_true(ts[n - 1] == now - 4 * 3600 * 1000LL + 239 * 60000LL);
}

/* ---- time bounds (issue 10) ------------------------------------------------------------- */

static size_t count_named(fx *f, const char *name)
{
    cairn_matcher m = {CAIRN_MATCH_EQ, "__name__", 8, name, strlen(name)};
    cairn_series_set *ss;
    cairn_err e;
    assert_int_equal(cairn_select(f->db, CAIRN_KIND_METRIC, &m, 1, INT64_MIN, INT64_MAX, &ss, &e), CAIRN_OK);
    size_t n = cairn_series_set_count(ss);
    cairn_series_set_close(ss);
    return n;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reopen_with(fx *f, int64_t max_future_ms, int64_t ret_m, int64_t ret_l)
{
    cairn_close(f->db);
    f->o.max_future_ms = max_future_ms;
    f->o.retention_metrics_ms = ret_m;
    f->o.retention_logs_ms = ret_l;
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_OK);
}

static void expect_refused(fx *f, int64_t t, const char *frag)
{
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = put(f, "tb", "job", "j", t, 1.0, &e);
    if (rc != CAIRN_EINVAL || !strstr(e.msg, frag) || !strstr(e.msg, "{__name__=\"tb\", job=\"j\"}"))
        fail_msg("t=%lld: rc %d \"%s\", want EINVAL with \"%s\" and the series", (long long)t, rc, e.msg, frag);
    char ts[32];
    snprintf(ts, sizeof ts, "at %lld", (long long)t);
    if (!strstr(e.msg, ts)) fail_msg("message does not name timestamp %lld: %s", (long long)t, e.msg);
}

/* Regression: INT64_MAX, INT64_MIN, year 3000 and ten years ahead were
 * committed, and one sample ten years ahead blocked its series for good
 * (every later sample "too old"). Default options: 10 min grace, 15 d. */
static void test_time_bounds_metrics(void **state)
{
    fx *f = *state;
    cairn_options d;
    cairn_options_default(&d);
    assert_int_equal(d.max_future_ms, 600000);
    reopen_with(f, d.max_future_ms, d.retention_metrics_ms, d.retention_logs_ms);
    int64_t now = wall_ms();
    expect_refused(f, INT64_MAX, "is too far in the future: more than 600000 ms after the server clock");
    expect_refused(f, 32503680000000LL, "(3000-01-01T00:00:00Z)");
    expect_refused(f, now + 10LL * 365 * 86400 * 1000, "too far in the future");
    expect_refused(f, now + 11 * 60 * 1000, "too far in the future");
    expect_refused(f, INT64_MIN, "is too old: older than the metrics retention of 1296000000 ms");
    expect_refused(f, now - 16LL * 86400 * 1000, "too old");
    expect_refused(f, 1700000000000LL, "(2023-11-14T22:13:20Z)");
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.samples_rejected_too_new, 4);
    assert_int_equal(st.samples_rejected_too_old, 3);
    /* nothing was stored, so the series takes the present (and the edges of the window) */
    cairn_err e;
    assert_int_equal(count_named(f, "tb"), 0);
    assert_int_equal(put(f, "tb", "job", "j", now - 15LL * 86400 * 1000 + 60000, 1.0, &e), CAIRN_OK);
    assert_int_equal(put(f, "tb", "job", "j", now, 2.0, &e), CAIRN_OK);
    assert_int_equal(put(f, "tb", "job", "j", now + 9 * 60 * 1000, 3.0, &e), CAIRN_OK);
    /* all or nothing: one bad sample refuses the batch; each bad one is counted */
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {CAIRN_LABEL("__name__", "mixed")};
    int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 1, &e);
    cairn_batch_sample(b, ref, now, 1, &e);
    cairn_batch_sample(b, ref, now + 86400000, 2, &e);
    cairn_batch_sample(b, ref, now + 2 * 86400000LL, 3, &e);
    assert_int_equal(cairn_commit(f->db, b, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "sample at "));
    assert_non_null(strstr(e.msg, "for {__name__=\"mixed\"}"));
    cairn_batch_free(b);
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.samples_rejected_too_new, 6);
    assert_int_equal(count_named(f, "mixed"), 0);
}

/* 0 turns a bound off; the +-2^62 range holds whatever the options (INT64_MIN
 * is the engine's "no sample yet" mark). A negative grace is refused at open. */
static void test_time_bounds_off(void **state)
{
    fx *f = *state;
    reopen_with(f, 0, 0, 0);
    cairn_err e;
    const int64_t lim = (int64_t)1 << 62;
    assert_int_equal(put(f, "tb", "job", "j", -lim + 1, 1.0, &e), CAIRN_OK);
    assert_int_equal(put(f, "tb", "job", "j", 0, 2.0, &e), CAIRN_OK);
    assert_int_equal(put(f, "tb", "job", "j", lim - 1, 3.0, &e), CAIRN_OK);
    expect_refused(f, INT64_MIN, "is out of bounds: timestamps must lie within +-2^62 ms");
    expect_refused(f, INT64_MAX, "out of bounds");
    expect_refused(f, lim, "out of bounds");
    cairn_close(f->db);
    f->db = NULL;
    f->o.max_future_ms = -1;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_EINVAL);
    f->o.max_future_ms = 0;
    assert_int_equal(cairn_open(f->dir, &f->o, &f->db, &e), CAIRN_OK);
}

static int put_entry(fx *f, const char *app, int64_t t_ns, cairn_err *e)
{
    cairn_batch *b = cairn_batch_new();
    cairn_label ls[1] = {{"app", 3, app, strlen(app)}};
    int ref = cairn_batch_series(b, CAIRN_KIND_LOG, ls, 1, e);
    assert_int_equal(cairn_batch_entry(b, ref, t_ns, "x", 1, NULL, 0, e), CAIRN_OK);
    int rc = cairn_commit(f->db, b, e);
    cairn_batch_free(b);
    return rc;
}

/* The same window for log entries (ns): Loki's creation grace period and,
 * below, the logs retention (Loki's reject_old_samples_max_age is 7 d, the
 * default logs retention). */
static void test_time_bounds_logs(void **state)
{
    fx *f = *state;
    reopen_with(f, 600000, 0, 7LL * 86400 * 1000);
    int64_t now_ns = wall_ms() * 1000000;
    cairn_err e;
    assert_int_equal(put_entry(f, "tb", now_ns + 86400LL * 1000000000, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "log entry at "));
    assert_non_null(strstr(e.msg, "in stream {app=\"tb\"} is too far in the future"));
    assert_int_equal(put_entry(f, "tb", now_ns - 8LL * 86400 * 1000000000, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "is too old: older than the logs retention of 604800000 ms"));
    assert_int_equal(put_entry(f, "tb", INT64_MIN, &e), CAIRN_EINVAL);
    assert_int_equal(put_entry(f, "tb", now_ns, &e), CAIRN_OK);
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.entries_rejected_too_new, 1);
    assert_int_equal(st.entries_rejected_too_old, 2);
    assert_int_equal(st.entries_appended, 1);
    /* retention 0: entries of 1970 are fine, the +-2^62 ns range still holds */
    reopen_with(f, 0, 0, 0);
    assert_int_equal(put_entry(f, "old", 1, &e), CAIRN_OK);
    assert_int_equal(put_entry(f, "old", INT64_MAX, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "out of bounds: timestamps must lie within +-2^62 ns"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_roundtrip_special_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_duplicates_and_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_out_of_order_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_chunk_cut_and_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_samples_next_n_matches_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_oom_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_matchers_and_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_bounded_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logs_roundtrip_and_direction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_bounds_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_bounds_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_bounds_logs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
