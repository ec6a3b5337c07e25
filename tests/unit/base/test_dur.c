/*
 * test_dur — base/dur.c, the one Prometheus duration parser (PromQL ranges and
 * offsets, the HTTP API, command-line flags) and the Go one (LogQL).
 */
#include <stdio.h>
#include <string.h>

#include "support.h"

#include "cairn.h"
#include "dur.h"

static int prom(const char *s, int64_t *ms) { return dur_parse_prom(s, strlen(s), ms); }

static void test_prom_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"0", 0},          {"0s", 0},      {"500ms", 500},          {"1s", 1000},
        {"5m", 300000},    {"2h", 7200000}, {"15d", 15 * 86400000LL}, {"2w", 14 * 86400000LL},
        {"1y", 365 * 86400000LL}, {"1h30m", 5400000}, {"1d12h", 36 * 3600000LL}, {"1m1s1ms", 61001},
        {"1y1w1d1h1m1s1ms", 31536000000LL + 604800000 + 86400000 + 3600000 + 60000 + 1000 + 1},
        {"0h0m", 0},       {"106751991167d", 106751991167LL * 86400000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ms = -7;
        if (prom(ok[i].s, &ms) != CAIRN_OK) fail_msg("%s refused", ok[i].s);
        if (ms != ok[i].ms) fail_msg("%s: %lld", ok[i].s, (long long)ms);
    }
}

static void test_prom_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "15", "d", "ms5", "1m1h" /* smaller before larger */, "30m1h", "1h1h" /* twice */, "1s1ms1s",
        "1ms1s", "1.5h" /* fractions are Go's */, "-1d", "+1d", "1H", "10x", "1d ", " 1d", "1msx",
        "99999999999999999999y" /* digits overflow */, "300000000y" /* unit overflow */,
        "106751991168d" /* just past int64 ms */, "9223372036854775807ms1ms" /* ms fits, unit order refused */,
        "292471208y1000w" /* the sum overflows */,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = 7;
        if (prom(bad[i], &ms) != CAIRN_EINVAL) fail_msg("%s accepted", bad[i]);
        assert_int_equal(ms, 7);
    }
    int64_t ms = 7; /* the length bounds the read: "1h" of "1hxx" */
    assert_int_equal(dur_parse_prom("1hxx", 2, &ms), CAIRN_OK);
    assert_int_equal(ms, 3600000);
}

static void test_go(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(dur_parse_go("1.5h", 4, &v), CAIRN_OK), assert_true(v == 5400.0);
    assert_int_equal(dur_parse_go("300ms", 5, &v), CAIRN_OK), assert_true(v == 0.3);
    assert_int_equal(dur_parse_go("2h45m", 5, &v), CAIRN_OK), assert_true(v == 9900.0);
    assert_int_equal(dur_parse_go("1s1h", 4, &v), CAIRN_OK), assert_true(v == 3601.0); /* any order in Go */
    assert_int_equal(dur_parse_go(".5s", 3, &v), CAIRN_OK), assert_true(v == 0.5);
    assert_int_equal(dur_parse_go("1\xce\xbcs", 4, &v), CAIRN_OK), assert_true(v == 1e-6); /* Greek mu */
    assert_int_equal(dur_parse_go("-0", 2, &v), CAIRN_OK), assert_true(v == 0);
    static const char *const bad[] = {"", "-", "1", "1d", "1y", ".s", "1.5", "s", "1 s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 7;
        if (dur_parse_go(bad[i], strlen(bad[i]), &v) != CAIRN_EINVAL) fail_msg("%s accepted", bad[i]);
        assert_true(v == 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prom_accepts),
        cmocka_unit_test(test_prom_refuses),
        cmocka_unit_test(test_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
