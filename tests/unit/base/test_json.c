/*
 * Tests for base/json: the writer's structure (commas, nesting, sticky
 * errors), Go-compatible string escaping (invalid UTF-8 → \ufffd), and the
 * number spellings of the two APIs, including a seeded round-trip property
 * over random and adversarial doubles.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"

#include "cairn.h"
#include "json.h"
#include "mem.h"

static char out_s[8192];

/* The writer's text as a NUL-terminated string (static buffer); frees the writer. */
static const char *done(jw *w)
{
    void *p;
    size_t len, cap;
    assert_int_equal(jw_take(w, &p, &len, &cap), 0);
    assert_true(len < sizeof out_s);
    memcpy(out_s, p, len);
    out_s[len] = 0;
    mem_free(p, cap);
    return out_s;
}

static void test_jw_structure_commas_and_nesting(void **state)
{
    (void)state;
    jw w;
    jw_init(&w, 0);
    jw_obj(&w);
    jw_key(&w, "a");
    jw_arr(&w);
    jw_int(&w, 1);
    jw_int(&w, -2);
    jw_arr(&w);
    jw_arr_end(&w);
    jw_obj(&w);
    jw_obj_end(&w);
    jw_arr_end(&w);
    jw_key(&w, "b");
    jw_bool(&w, 1);
    jw_key(&w, "c");
    jw_null(&w);
    jw_key(&w, "d");
    jw_uint(&w, UINT64_MAX);
    jw_key(&w, "e");
    jw_int(&w, INT64_MIN);
    jw_obj_end(&w);
    assert_string_equal(done(&w), "{\"a\":[1,-2,[],{}],\"b\":true,\"c\":null,\"d\":18446744073709551615,"
                                  "\"e\":-9223372036854775808}");
}

static void test_jw_string_escapes_like_go(void **state)
{
    (void)state;
    jw w;
    jw_init(&w, 0);
    const char s[] = "q\"b\\n\n\r\t\b\f\x01<a>&\x7f";
    jw_str(&w, s, sizeof s - 1);
    assert_string_equal(done(&w), "\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u003ca\\u003e\\u0026\x7f\"");
    /* valid multibyte passes through; U+2028/2029 escaped; NUL escaped */
    jw_init(&w, 0);
    jw_arr(&w);
    const char u[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8\xe2\x80\xa9";
    jw_str(&w, u, sizeof u - 1);
    jw_str(&w, "a\0b", 3);
    jw_arr_end(&w);
    assert_string_equal(done(&w), "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\\u2028\\u2029\",\"a\\u0000b\"]");
}

static void test_jw_string_invalid_utf8_becomes_fffd(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"\xff", 1, "\"\\ufffd\""},
        {"a\xc3", 2, "\"a\\ufffd\""},                       /* truncated */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},              /* overlong '/' */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},   /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
        {"\xe2\x28\xa1", 3, "\"\\ufffd(\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jw w;
        jw_init(&w, 0);
        jw_str(&w, cases[i].in, cases[i].n);
        assert_string_equal(done(&w), cases[i].out);
    }
}

/* jw_escape alone (push error bodies, OTLP AnyValue rendering): appends one quoted
 * string after what the buffer holds, byte for byte what jw_str writes. */
static void test_jw_escape_appends_same_bytes_as_writer(void **state)
{
    (void)state;
    static const struct { const char *s; size_t n; const char *want; } cases[] = {
        {"", 0, "\"\""},
        {"\x01\x1f\b\f\n\r\t", 7, "\"\\u0001\\u001f\\b\\f\\n\\r\\t\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\"\\<>&", 5, "\"\\\"\\\\\\u003c\\u003e\\u0026\""},
        {"\xe2\x80\xa8\xe2\x80\xa9\xc3\xa9", 8, "\"\\u2028\\u2029\xc3\xa9\""},
        {"\xff\xc3", 2, "\"\\ufffd\\ufffd\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf b;
        buf_init(&b);
        assert_int_equal(buf_put(&b, "x:", 2), CAIRN_OK);
        assert_int_equal(jw_escape(&b, cases[i].s, cases[i].n), CAIRN_OK);
        size_t wn = strlen(cases[i].want);
        assert_int_equal(b.len, 2 + wn);
        assert_memory_equal(b.p, "x:", 2);
        assert_memory_equal(b.p + 2, cases[i].want, wn);
        jw w;
        jw_init(&w, 0);
        jw_str(&w, cases[i].s, cases[i].n);
        assert_int_equal(w.b.len, wn);
        assert_memory_equal(w.b.p, cases[i].want, wn);
        jw_free(&w);
        buf_free(&b);
    }
}

static void test_jw_error_unbalanced_is_sticky(void **state)
{
    (void)state;
    jw w;
    jw_init(&w, 0);
    jw_arr_end(&w);
    assert_int_equal(jw_error(&w), CAIRN_EINTERNAL);
    jw_int(&w, 1);
    void *p;
    size_t len, cap;
    assert_int_equal(jw_take(&w, &p, &len, &cap), CAIRN_EINTERNAL);
    assert_null(p);
    /* too deep */
    jw_init(&w, 0);
    for (int i = 0; i <= JW_MAX_DEPTH; i++) jw_arr(&w);
    assert_int_equal(jw_error(&w), CAIRN_EINTERNAL);
    jw_free(&w);
}

static void test_jw_error_oom_is_sticky(void **state)
{
    (void)state;
    for (int64_t n = 0; n < 4; n++) {
        jw w;
        jw_init(&w, 0);
        mem_fail_after(n);
        for (int i = 0; i < 200; i++) jw_str_z(&w, "some text that grows the buffer past its first allocation");
        mem_fail_after(-1);
        assert_int_equal(jw_error(&w), CAIRN_ENOMEM);
        void *p;
        size_t len, cap;
        assert_int_equal(jw_take(&w, &p, &len, &cap), CAIRN_ENOMEM);
    }
}

static const char *fmt(double v, char f)
{
    static char t[JW_NUM_CAP];
    jw_fmt_go(t, v, f);
    return t;
}

/* Expected strings are what Go's strconv.FormatFloat prints (and Prometheus' jsonutil for 'p'). */
static void test_jw_fmt_prometheus_spelling(void **state)
{
    (void)state;
    assert_string_equal(fmt(0, 'p'), "0");
    assert_string_equal(fmt(-0.0, 'p'), "-0");
    assert_string_equal(fmt(1, 'p'), "1");
    assert_string_equal(fmt(2, 'p'), "2");
    assert_string_equal(fmt(0.1, 'p'), "0.1");
    assert_string_equal(fmt(1.5, 'p'), "1.5");
    assert_string_equal(fmt(1267.1266666666666, 'p'), "1267.1266666666666");
    assert_string_equal(fmt(1.0 / 3, 'p'), "0.3333333333333333");
    assert_string_equal(fmt(100, 'p'), "100");
    assert_string_equal(fmt(1e20, 'p'), "100000000000000000000");
    assert_string_equal(fmt(1e21, 'p'), "1e+21");
    assert_string_equal(fmt(1.5e300, 'p'), "1.5e+300");
    assert_string_equal(fmt(1e-6, 'p'), "0.000001");
    assert_string_equal(fmt(1e-7, 'p'), "1e-07");
    assert_string_equal(fmt(-2.5e-7, 'p'), "-2.5e-07");
    assert_string_equal(fmt(5e-324, 'p'), "5e-324");
    assert_string_equal(fmt(1.7976931348623157e308, 'p'), "1.7976931348623157e+308");
    assert_string_equal(fmt(123456789012345680.0, 'p'), "123456789012345680");
    assert_string_equal(fmt(NAN, 'p'), "NaN");
    assert_string_equal(fmt(INFINITY, 'p'), "+Inf");
    assert_string_equal(fmt(-INFINITY, 'p'), "-Inf");
    /* Loki: always fixed */
    assert_string_equal(fmt(1e-7, 'f'), "0.0000001");
    assert_string_equal(fmt(1e21, 'f'), "1000000000000000000000");
    assert_string_equal(fmt(2, 'f'), "2");
    assert_string_equal(fmt(1.5e300, 'e'), "1.5e+300");
    assert_string_equal(fmt(3, 'e'), "3e+00");
}

static void test_jw_values_and_times(void **state)
{
    (void)state;
    jw w;
    jw_init(&w, 0);
    jw_arr(&w);
    jw_prom_time(&w, 1435781451781);
    jw_prom_time(&w, 1435781451050);
    jw_prom_time(&w, 1435781451500);
    jw_prom_time(&w, 1435781451000);
    jw_prom_time(&w, 4000);
    jw_prom_time(&w, -1500);
    jw_prom_time(&w, 0);
    jw_loki_time(&w, 1435781451050);
    jw_loki_time(&w, 1435781451500);
    jw_loki_time(&w, 4000000000000);
    jw_prom_value(&w, 2);
    jw_prom_value(&w, NAN);
    jw_loki_value(&w, 1e-7);
    jw_ns_str(&w, 1705312800000000000);
    jw_num(&w, 0.25);
    jw_num(&w, INFINITY);
    jw_arr_end(&w);
    assert_string_equal(done(&w), "[1435781451.781,1435781451.050,1435781451.500,1435781451,4,-1.500,0,"
                                  "1435781451.05,1435781451.5,4000000000,\"2\",\"NaN\",\"0.0000001\","
                                  "\"1705312800000000000\",0.25,null]");
}

/* Shortest: parses back bit-exactly, and no shorter digit string does. */
static void check_shortest(double v)
{
    char t[JW_NUM_CAP];
    jw_fmt_go(t, v, 'p');
    double back = strtod(t, NULL);
    if (t_bits(back) != t_bits(v)) {
        fprintf(stderr, "value %.17g printed %s read back %.17g\n", v, t, back);
        fail();
    }
    char d[18];
    int e10;
    size_t n = jw_shortest(v, d, &e10);
    if (n > 1) {
        char s2[64];
        snprintf(s2, sizeof s2, "%.*e", (int)n - 2, fabs(v));
        if (strtod(s2, NULL) == fabs(v)) {
            fprintf(stderr, "value %.17g: %s has %zu digits but %s round-trips\n", v, t, n, s2);
            fail();
        }
    }
}

static void test_jw_shortest_round_trip_property(void **state)
{
    (void)state;
    t_rng_reset();
    static const double fixed[] = {0.1, 0.2, 0.3, 1e23, 9007199254740993.0, 2.2250738585072014e-308,
                                   4.9406564584124654e-324, 1e-320, 123.456, 1e15, 1e16, 1e17, 5e-7, 0.000001};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) check_shortest(fixed[i]), check_shortest(-fixed[i]);
    for (int i = 0; i < 20000; i++) {
        double v;
        switch (i % 4) {
        case 0: v = t_double(t_rand()); break; /* any bit pattern */
        case 1: v = (double)(t_rand() % 1000000) / 1000.0; break;
        case 2: v = t_randf() * pow(10, (double)(t_randn(40)) - 20); break;
        default: v = (double)(int64_t)t_rand(); break;
        }
        if (isnan(v) || isinf(v) || v == 0) continue;
        check_shortest(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jw_structure_commas_and_nesting),
        cmocka_unit_test(test_jw_string_escapes_like_go),
        cmocka_unit_test(test_jw_string_invalid_utf8_becomes_fffd),
        cmocka_unit_test(test_jw_escape_appends_same_bytes_as_writer),
        cmocka_unit_test(test_jw_error_unbalanced_is_sticky),
        cmocka_unit_test(test_jw_error_oom_is_sticky),
        cmocka_unit_test(test_jw_fmt_prometheus_spelling),
        cmocka_unit_test(test_jw_values_and_times),
        cmocka_unit_test(test_jw_shortest_round_trip_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
