/*
 * test_match.c — label matchers and line filters: every operator, anchoring,
 * `.` and newlines, empty-value semantics, RE2 syntax (repeat limits, (?i),
 * lazy, \d, \w, named groups), linear time on patterns that backtrack
 * exponentially elsewhere, Go's error messages, capture groups and Expand,
 * the literal fast paths against RE2 on random inputs, threads, OOM.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "match.h"
#include "mem.h"
#include "support.h"

static int mv(int op, const char *val, const char *s)
{
    cairn_matcher src = {op, "l", 1, val, strlen(val)};
    match m;
    cairn_err e;
    if (match_compile(&m, &src, &e)) fail_msg("compile %s: %s", val, e.msg);
    int r = match_value(&m, s, strlen(s));
    match_free(&m);
    return r;
}

static int me(int op, const char *val)
{
    cairn_matcher src = {op, "l", 1, val, strlen(val)};
    match m;
    if (match_compile(&m, &src, NULL)) fail_msg("compile %s", val);
    int r = match_matches_empty(&m);
    match_free(&m);
    return r;
}

static void test_match_ops(void **state)
{
    (void)state;
    assert_int_equal(mv(CAIRN_MATCH_EQ, "abc", "abc"), 1);
    assert_int_equal(mv(CAIRN_MATCH_EQ, "abc", "abcd"), 0);
    assert_int_equal(mv(CAIRN_MATCH_EQ, "abc", "ab"), 0);
    assert_int_equal(mv(CAIRN_MATCH_NE, "abc", "abc"), 0);
    assert_int_equal(mv(CAIRN_MATCH_NE, "abc", "x"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.c", "abc"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.c", "abcd"), 0);
    assert_int_equal(mv(CAIRN_MATCH_NRE, "a.c", "abc"), 0);
    assert_int_equal(mv(CAIRN_MATCH_NRE, "a.c", "xbc"), 1);
    /* = and != are literal, not regex */
    assert_int_equal(mv(CAIRN_MATCH_EQ, "a.c", "abc"), 0);
    assert_int_equal(mv(CAIRN_MATCH_EQ, "a.c", "a.c"), 1);
}

static void test_match_anchoring(void **state)
{
    (void)state;
    /* fully anchored: no partial matches at either end */
    assert_int_equal(mv(CAIRN_MATCH_RE, "b", "abc"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "b+", "bbb"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a|b", "ab"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a|ab", "ab"), 1); /* backtracks into the second branch */
    assert_int_equal(mv(CAIRN_MATCH_RE, "(a|ab)(c|bcd)", "abcd"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "fo[o]", "foo\n"), 0); /* no match before a final newline */
    assert_int_equal(mv(CAIRN_MATCH_RE, "foo$", "foo\n"), 0);  /* $ is end of text, as in Go */
    assert_int_equal(mv(CAIRN_MATCH_RE, "^foo$", "foo"), 1);
    /* `.` matches a newline (Prometheus 3) */
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.b", "a\nb"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.*[x]", "a\n\nx"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, ".*", "x\ny"), 1);
    /* UTF-8: `.` is one code point */
    assert_int_equal(mv(CAIRN_MATCH_RE, "caf.", "caf\xc3\xa9"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "caf..", "caf\xc3\xa9"), 0);
    /* case-insensitive flag, classes */
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?i)GET", "get"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\d{3}", "200"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "[[:alpha:]]+", "abc"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\Qa.b\\E", "a.b"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\Qa.b\\E", "axb"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?P<x>a)(?<y>b)", "ab"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\p{Greek}+", "\xce\xb1\xce\xb2"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{2,3}", "aaa"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{2,3}", "aaaa"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a*?b", "aab"), 1);
}

static void test_match_empty_semantics(void **state)
{
    (void)state;
    assert_int_equal(me(CAIRN_MATCH_EQ, ""), 1);
    assert_int_equal(me(CAIRN_MATCH_EQ, "x"), 0);
    assert_int_equal(me(CAIRN_MATCH_NE, ""), 0);
    assert_int_equal(me(CAIRN_MATCH_NE, "x"), 1);
    assert_int_equal(me(CAIRN_MATCH_RE, ""), 1);
    assert_int_equal(me(CAIRN_MATCH_RE, ".*"), 1);
    assert_int_equal(me(CAIRN_MATCH_RE, ".+"), 0);
    assert_int_equal(me(CAIRN_MATCH_RE, "x|"), 1);
    assert_int_equal(me(CAIRN_MATCH_RE, "x?"), 1);
    assert_int_equal(me(CAIRN_MATCH_RE, "x"), 0);
    assert_int_equal(me(CAIRN_MATCH_NRE, "x"), 1);
    assert_int_equal(me(CAIRN_MATCH_NRE, ".*"), 0);
    assert_int_equal(me(CAIRN_MATCH_NRE, ""), 0);
}

static void expect_bad(int op, const char *re, const char *frag1, const char *frag2)
{
    cairn_matcher src = {op, "job", 3, re, strlen(re)};
    match m;
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = match_compile(&m, &src, &e);
    if (rc != CAIRN_EINVAL || !strstr(e.msg, frag1) || (frag2 && !strstr(e.msg, frag2)))
        fail_msg("regex %s: rc %d msg \"%s\", want \"%s\" \"%s\"", re, rc, e.msg, frag1, frag2 ? frag2 : "");
    assert_int_equal(e.code, CAIRN_EINVAL);
}

static void test_match_bad_regex(void **state)
{
    (void)state;
    /* Go's wording (regexp/syntax), the fragment and its offset, with the matcher named */
    expect_bad(CAIRN_MATCH_RE, "a(b", "invalid regex in matcher job=~\"a(b\":", "missing closing )");
    expect_bad(CAIRN_MATCH_RE, "a)(b", "job=~\"a)(b\"", "unexpected )");
    expect_bad(CAIRN_MATCH_NRE, "[a", "invalid regex in matcher job!~\"[a\":", "missing closing ]");
    expect_bad(CAIRN_MATCH_RE, "*a", "missing argument to repetition operator: `*`", "at offset 0");
    /* constructs PCRE accepts but RE2 (Prometheus) rejects */
    expect_bad(CAIRN_MATCH_RE, "(a)\\1", "invalid escape sequence: `\\1`", "at offset 3");
    expect_bad(CAIRN_MATCH_RE, "(?<n>a)\\k<n>", "invalid escape sequence: `\\k`", "at offset 7");
    expect_bad(CAIRN_MATCH_RE, "(a)\\g1", "invalid escape sequence", NULL);
    expect_bad(CAIRN_MATCH_RE, "(?P<n>a)(?P=n)", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "a(?=b)", "invalid or unsupported Perl syntax: `(?=`", "at offset 1");
    expect_bad(CAIRN_MATCH_RE, "a(?!b)", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "(?<=a)b", "invalid or unsupported Perl syntax", "at offset 0");
    expect_bad(CAIRN_MATCH_RE, "(?<!a)b", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "(?>a+)", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "(?R)", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "(?#c)a", "invalid or unsupported Perl syntax", NULL);
    expect_bad(CAIRN_MATCH_RE, "(*UTF)a", "missing argument to repetition operator", NULL);
    expect_bad(CAIRN_MATCH_RE, "a*+", "invalid nested repetition", "at offset 1");
    expect_bad(CAIRN_MATCH_RE, "a++", "invalid nested repetition", NULL);
    expect_bad(CAIRN_MATCH_RE, "a**", "invalid nested repetition", NULL);
    expect_bad(CAIRN_MATCH_RE, "a{2}{3}", "invalid nested repetition", NULL);
    expect_bad(CAIRN_MATCH_RE, "a{1001}", "invalid repeat count: `{1001}`", "at offset 1");
    expect_bad(CAIRN_MATCH_RE, "(a{1000}){1000}", "invalid repeat count", NULL);
    expect_bad(CAIRN_MATCH_RE, "a\\Kb", "invalid escape sequence", "at offset 1");
    expect_bad(CAIRN_MATCH_RE, "a\\Z", "invalid escape sequence", NULL);
    expect_bad(CAIRN_MATCH_RE, "[\\R]", "invalid escape sequence", NULL);
    expect_bad(CAIRN_MATCH_RE, "a\\Cb", "invalid escape sequence: `\\C`", "at offset 1"); /* RE2 has it, Go not */
    expect_bad(CAIRN_MATCH_RE, "[z-a]", "invalid character class range", NULL);
    expect_bad(CAIRN_MATCH_RE, "\xff", "invalid UTF-8 at offset 0", NULL);
    /* regression: a trailing backslash was classified as an empty literal set (matching nothing) */
    expect_bad(CAIRN_MATCH_RE, "a\\", "trailing backslash", NULL);
    expect_bad(CAIRN_MATCH_RE, "a|b\\", "trailing backslash", NULL);
    /* the same chars inside a class are just characters */
    assert_int_equal(mv(CAIRN_MATCH_RE, "[(?=]+", "(?="), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{,3}", "a{,3}"), 1); /* not a repetition in RE2 */
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\101", "A"), 1);     /* octal, not a backreference */

    cairn_matcher bad = {9, "job", 3, "x", 1};
    match m;
    cairn_err e;
    assert_int_equal(match_compile(&m, &bad, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "unknown matcher operator 9 for label \"job\""));

    match_re *re;
    assert_int_equal(match_re_compile(&re, "(", 1, 0, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regex in line filter \"(\""));
    assert_null(re);
}

static void test_match_fast_paths_taken(void **state)
{
    (void)state;
    static const struct {
        const char *re;
        int fast;
    } cases[] = {
        {"abc", 1}, {"a\\.b", 1}, {"", 1}, {"a|b|c", 1}, {"(a|bb)", 1}, {"(?:a|bb)", 1}, {"|x", 1},
        {"pre.*", 1}, {".*suf", 1}, {".*mid.*", 1}, {".*", 1}, {".+", 1}, {"a\\|b", 1},
        {"a.c", 0}, {"(?i)abc", 1}, {"(?i)ask", 0}, {"(?i)a.c", 0}, {"a+", 0}, {"(a)|(b)", 0}, {"pre.*x.*", 0}, {".*?x", 0}, {"\\d", 1},
        {".*-[0-9a-f]{8}", 1}, {"[A-Z]{3}-\\d\\d", 1}, {".*\\d+ms", 1}, {"\\d+ms", 0}, {"[^a]b", 0},
        {"[[:alpha:]]x", 0}, {"a{2,3}", 0}, {"a.c\\d", 0}, {"\\d{65}", 0}, {"x[a-]?", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        match_re *re;
        assert_int_equal(match_re_compile(&re, cases[i].re, strlen(cases[i].re), 1, NULL), CAIRN_OK);
        if (match_re_is_fast(re) != cases[i].fast) fail_msg("%s: fast=%d", cases[i].re, match_re_is_fast(re));
        match_re_free(re);
    }
    cairn_matcher src = {CAIRN_MATCH_RE, "l", 1, "a|b\\.c|", 7};
    match m;
    assert_int_equal(match_compile(&m, &src, NULL), CAIRN_OK);
    const char *v[4];
    size_t n[4];
    assert_int_equal(match_set(&m, v, n, 4), 3);
    assert_int_equal(n[1], 3);
    assert_memory_equal(v[1], "b.c", 3);
    assert_int_equal(n[2], 0);
    assert_int_equal(match_set(&m, v, n, 2), 0); /* more than cap */
    const char *p;
    size_t pn;
    assert_int_equal(match_prefix(&m, &p, &pn), 0);
    match_free(&m);
    cairn_matcher src2 = {CAIRN_MATCH_RE, "l", 1, "host-1.*", 8};
    assert_int_equal(match_compile(&m, &src2, NULL), CAIRN_OK);
    assert_int_equal(match_prefix(&m, &p, &pn), 1);
    assert_int_equal(pn, 6);
    assert_memory_equal(p, "host-1", 6);
    match_free(&m);
}

/* Compile pattern and an equivalent that the fast path cannot take ("(?:" p ")" plus a
 * no-op class), both anchored and unanchored, and compare on random strings. */
static void test_match_fast_agrees_with_re2(void **state)
{
    (void)state;
    static const char *pats[] = {"ab", "", "a|b|ab", "a\\.b|ba", "ab.*", ".*ba", ".*ab.*", ".*", ".+",
                                 "(a|b\\.)", "(?:ab|a|)", "b\\-a", "(?i)ab", "(?i)a-"};
    static const char alpha[] = "ab.-\nAB";
    t_rng_reset();
    for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
        for (int anch = 0; anch < 2; anch++) {
            char slow[64];
            /* "(?:...)(?:)" defeats the classifier without changing the language */
            snprintf(slow, sizeof slow, "(?:%s)(?:)", pats[p]);
            match_re *f, *s;
            assert_int_equal(match_re_compile(&f, pats[p], strlen(pats[p]), anch, NULL), CAIRN_OK);
            assert_int_equal(match_re_compile(&s, slow, strlen(slow), anch, NULL), CAIRN_OK);
            /* unanchored `.+` must find a non-newline character: RE2's job */
            assert_true(match_re_is_fast(f) == !(anch == 0 && !strcmp(pats[p], ".+")));
            assert_false(match_re_is_fast(s));
            for (int i = 0; i < 2000; i++) {
                char str[8];
                size_t n = t_randn(7);
                for (size_t j = 0; j < n; j++) str[j] = alpha[t_randn(sizeof alpha - 1)];
                int a = match_re_exec(f, str, n), b = match_re_exec(s, str, n);
                if (a != b) fail_msg("pattern %s anchored=%d on \"%.*s\": fast %d re2 %d", pats[p], anch, (int)n, str, a, b);
            }
            match_re_free(f);
            match_re_free(s);
        }
    }
}

/* Patterns RE2 runs get required prefix/suffix literals checked first; that
 * prefilter must never change an answer. "(?:p)(?:)" has no prefilter. */
static void test_match_required_literals_agree(void **state)
{
    (void)state;
    static const char *pats[] = {"ab\\d*", "a+b", "ab[.-]*ba", "a.b", "\\.a+b\\-", "ab*", "a\\.+b", "(ab)?a",
                                 "a|b.", "[a-]b", "ab{2}", "a{2}b", "a(b|.)a", "ba?", "a.*?b", "\\d+ms",
                                 "a\\b", "x*ab", "ab$", "^ab.", "[ab]+b-", "a\\-\\.b+", "\\141b",
                                 "\\x61b", "\\x{61}b", "\\pLb", "\\p{L}-", "b\\061",
                                 /* byte-class sequences */
                                 "\\d", ".*-[0-9a-f]{2}", "[a-]{3}", "\\d+ms", ".*\\d+m", "m\\d+.*", "[.\\-]b.*",
                                 ".*[ab]m\\s", "\\w{2}", "a[\\d.]b", "[]a]b", "[a-b-]", ".*a+", "b+.*", "\\s\\d",
                                 ".*[1m]{3}.*", "-\\d+", "\\d+-", "[\\]a]", ".*\\.m",
                                 /* regression (fuzz_match): [:name:] inside a class hid a top-level | */
                                 "ab[][:digit:]]m|.", "ab[][:digit:]m[]|.", "ab[[:alpha:]]|.", "a[^[:space:]]b", "a[[:a]b",
                                 /* regression (fuzz_match): the high end of a range is one character, so in
                                  * [(-[:digit:] the class ends at the first ']' and | is at the top level */
                                 "ab[(-[:digit:]|", "ab[(-[:m:]b]|.", "a[.-\\]]m|b"};
    static const char alpha[] = "ab.-\n1ms]";
    t_rng_reset();
    for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
        for (int anch = 0; anch < 2; anch++) {
            char slow[64];
            snprintf(slow, sizeof slow, "(?:%s)(?:)", pats[p]);
            match_re *f, *s;
            assert_int_equal(match_re_compile(&f, pats[p], strlen(pats[p]), anch, NULL), CAIRN_OK);
            assert_int_equal(match_re_compile(&s, slow, strlen(slow), anch, NULL), CAIRN_OK);
            for (int i = 0; i < 3000; i++) {
                char str[10];
                size_t n = t_randn(9);
                for (size_t j = 0; j < n; j++) str[j] = alpha[t_randn(sizeof alpha - 1)];
                int a = match_re_exec(f, str, n), b = match_re_exec(s, str, n);
                if (a != b) fail_msg("pattern %s anchored=%d on \"%.*s\": %d, without prefilter %d", pats[p], anch, (int)n, str, a, b);
            }
            match_re_free(f);
            match_re_free(s);
        }
    }
    /* the SIMD literal search at every alignment and length around 16 */
    char h[80];
    for (size_t n = 0; n < sizeof h; n++) {
        memset(h, 'x', sizeof h);
        for (size_t at = 0; at + 3 <= n; at++) {
            memset(h, 'x', sizeof h);
            memcpy(h + at, "Foo", 3);
            match_re *re;
            assert_int_equal(match_re_compile(&re, ".*foo.*", 7, 0, NULL), CAIRN_OK);
            assert_int_equal(match_re_exec(re, h, n), 0);
            match_re_free(re);
            assert_int_equal(match_re_compile(&re, "(?i)fOo", 7, 0, NULL), CAIRN_OK);
            assert_int_equal(match_re_exec(re, h, n), 1);
            assert_int_equal(match_re_exec(re, h, at + 2), 0);
            match_re_free(re);
            h[at] = 'f';
            assert_int_equal(match_re_compile(&re, ".*foo.*", 7, 0, NULL), CAIRN_OK);
            assert_int_equal(match_re_exec(re, h, n), 1);
            match_re_free(re);
        }
    }
}

static void test_match_line_filter_unanchored(void **state)
{
    (void)state;
    match_re *re;
    assert_int_equal(match_re_compile(&re, "err(or)?", 8, 0, NULL), CAIRN_OK);
    assert_int_equal(match_re_exec(re, "an error here", 13), 1);
    assert_int_equal(match_re_exec(re, "warning", 7), 0);
    match_re_free(re);
    assert_int_equal(match_re_compile(&re, "timeout", 7, 0, NULL), CAIRN_OK);
    assert_int_equal(match_re_exec(re, "x timeout y", 11), 1);
    /* invalid UTF-8 in a log line is searched, not an error */
    assert_int_equal(match_re_exec(re, "\xff timeout", 10), 1);
    match_re_free(re);
    assert_int_equal(match_re_compile(&re, "^a.c", 4, 0, NULL), CAIRN_OK);
    assert_int_equal(match_re_exec(re, "\xff\xfe", 2), 0);
    assert_int_equal(match_re_exec(re, "abcd", 4), 1);
    match_re_free(re);
    match_re_free(NULL);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Issue 10: a{10000000} used to spin forever in the syntax screen (the digit loop stopped
 * advancing past 100000). Now RE2 rejects it at once, as Go does; 1000 is the limit. */
static void test_match_repeat_limits(void **state)
{
    (void)state;
    static const char *bad[] = {"a{10000000}", "x{99999999}", "a{1001}", "a{2,1001}", "a{1000,1001}",
                                "(?:ab){5000}c"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        expect_bad(CAIRN_MATCH_RE, bad[i], "invalid repeat count", NULL);
        match_re *re = NULL;
        cairn_err e;
        assert_int_equal(match_re_compile(&re, bad[i], strlen(bad[i]), 0, &e), CAIRN_EINVAL);
        assert_non_null(strstr(e.msg, "invalid repeat count"));
        assert_null(re);
        double ms = ms_since(&t0);
        if (ms > 100) fail_msg("%s: rejected after %.1f ms", bad[i], ms);
    }
    char a1000[1001], a999[1000];
    memset(a1000, 'a', 1000), a1000[1000] = 0;
    memset(a999, 'a', 999), a999[999] = 0;
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{1000}", a1000), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{1000}", a999), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{2,1000}b", "aab"), 1);
    /* regression (fuzz_match): a byte sequence longer than its pattern overflowed the literal buffer */
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{20}", "aaaaaaaaaaaaaaaaaaaa"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, ".*x{64}", "yxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a{,3}", "a{,3}"), 1);
}

/* Go/RE2 syntax that PCRE2 or POSIX spelled differently or not at all. */
static void test_match_re2_syntax(void **state)
{
    (void)state;
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?i)error", "ERROR"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?i)err(?-i)OR", "ERROR"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?i)err(?-i)OR", "errOr"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\d+ms", "250ms"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\d+ms", "x50ms"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\w+", "host_01"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\w+", "host-01"), 0);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\s*x\\S", "  xy"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.*?b", "a-b-b"), 1); /* lazy still has to match all when anchored */
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\pL+", "h\xc3\xa9llo"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "[[:alpha:]]+", "abc"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "(?<v>x)y", "xy"), 1); /* Go 1.22 group syntax */
    assert_int_equal(mv(CAIRN_MATCH_RE, "a.b", "a\nb"), 1);    /* matchers: (?s) as Prometheus 3 */
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\Qa.b\\E", "a.b"), 1);
    assert_int_equal(mv(CAIRN_MATCH_RE, "\\Qa.b\\E", "axb"), 0);

    /* lazy vs greedy is visible through captures */
    match_re *re;
    ptrdiff_t off[4];
    assert_int_equal(match_re_compile_as(&re, "a(.*?)b", 7, MATCH_RE_CAPTURE, "t", NULL), CAIRN_OK);
    assert_int_equal(match_re_groups(re, "xa1b2b", 6, off, 2), 1);
    assert_int_equal(off[0], 1), assert_int_equal(off[1], 4), assert_int_equal(off[2], 2), assert_int_equal(off[3], 3);
    match_re_free(re);
    assert_int_equal(match_re_compile_as(&re, "a(.*)b", 6, MATCH_RE_CAPTURE, "t", NULL), CAIRN_OK);
    assert_int_equal(match_re_groups(re, "xa1b2b", 6, off, 2), 1);
    assert_int_equal(off[1], 6), assert_int_equal(off[3], 5);
    match_re_free(re);
    /* line filters: `.` does not match a newline (Loki compiles without (?s)) */
    assert_int_equal(match_re_compile(&re, "a.b", 3, 0, NULL), CAIRN_OK);
    assert_int_equal(match_re_exec(re, "xa\nb", 4), 0);
    assert_int_equal(match_re_exec(re, "xa-b", 4), 1);
    match_re_free(re);
    assert_int_equal(match_re_compile(&re, ".+", 2, 0, NULL), CAIRN_OK);
    assert_int_equal(match_re_exec(re, "\n", 1), 0);
    assert_int_equal(match_re_exec(re, "\nx", 2), 1);
    match_re_free(re);
}

/* Patterns that make a backtracking engine exponential run in linear time. */
static void test_match_linear_time(void **state)
{
    (void)state;
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = 0;
    static const char *pats[] = {"(a+)+X", "(a|aa)*X", "(a*)*b", "(.*a){20}X", "(a+)+X|!"};
    for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
        for (int anch = 0; anch < 2; anch++) {
            match_re *re;
            assert_int_equal(match_re_compile(&re, pats[p], strlen(pats[p]), anch, NULL), CAIRN_OK);
            struct timespec t0;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            assert_int_equal(match_re_exec(re, s, n), 0);
            double ms = ms_since(&t0);
            /* 1 MiB in well under a second, even under ASan on a shared box */
            if (ms > 2000) fail_msg("%s anchored=%d: %.0f ms on 1 MiB", pats[p], anch, ms);
            match_re_free(re);
        }
    }
    /* the `|!` branch matches every line that has a '!' */
    match_re *re;
    assert_int_equal(match_re_compile(&re, "(a+)+X|!", 8, 0, NULL), CAIRN_OK);
    s[n / 2] = '!';
    assert_int_equal(match_re_exec(re, s, n), 1);
    match_re_free(re);
    free(s);
}

static void expand_eq(const char *pat, const char *s, const char *tmpl, int want_rc, const char *want)
{
    match_re *re;
    cairn_err e;
    if (match_re_compile_as(&re, pat, strlen(pat), MATCH_RE_ANCHORED | MATCH_RE_CAPTURE, "t", &e))
        fail_msg("%s: %s", pat, e.msg);
    buf b;
    buf_init(&b);
    int rc = match_re_expand(re, s, strlen(s), tmpl, strlen(tmpl), &b);
    if (rc != want_rc || (rc == 1 && (b.len != strlen(want) || (b.len && memcmp(b.p, want, b.len)))))
        fail_msg("%s on %s with %s: rc %d \"%.*s\", want %d \"%s\"", pat, s, tmpl, rc, (int)b.len,
                 b.p ? (const char *)b.p : "", want_rc, want);
    buf_free(&b);
    match_re_free(re);
}

/* Go's Regexp.Expand, as label_replace uses it in both languages. */
static void test_match_expand(void **state)
{
    (void)state;
    expand_eq(".*:(\\d+)", "host:9100", "$1", 1, "9100");
    expand_eq(".*:(\\d+)", "host:x", "$1", 0, "");
    expand_eq("(?i)(ERR)(.*)", "error-x", "${1}_$2", 1, "err_or-x");
    expand_eq("(a)(b)?", "a", "[$1][$2]", 1, "[a][]");         /* unmatched group: empty */
    expand_eq("(a)", "a", "$1x", 1, "");                       /* name "1x": no such group */
    expand_eq("(a)", "a", "${1}x", 1, "ax");
    expand_eq("(a)", "a", "$$1 $ ${1", 1, "$1 $ ${1");        /* $$ and malformed refs are literal */
    expand_eq("(a)", "a", "$9|$01|${}", 1, "||${}");          /* out of range, leading zero, empty name */
    expand_eq("(?P<host>[^:]+):(?<port>\\d+)", "h:80", "$port@${host}", 1, "80@h");
    expand_eq("(?s)(.*)", "a\nb", "<$1>", 1, "<a\nb>");
    expand_eq("a.b", "a\nb", "y", 1, "y");                     /* anchored captures: (?s) too */
    char big[64] = "";
    for (int i = 0; i < 20; i++) strcat(big, "(x)");
    char s20[21];
    memset(s20, 'x', 20), s20[20] = 0;
    expand_eq(big, s20, "$20$1", 1, "xx"); /* more groups than the on-stack offsets */
    match_re *re;
    assert_int_equal(match_re_compile_as(&re, "(?P<a>x)(y)(?<b>z)", 18, MATCH_RE_CAPTURE, "t", NULL), CAIRN_OK);
    assert_int_equal(match_re_ngroups(re), 3);
    size_t nl = 0;
    assert_string_equal(match_re_group_name(re, 1, &nl), "a");
    assert_null(match_re_group_name(re, 2, &nl));
    assert_string_equal(match_re_group_name(re, 3, &nl), "b");
    assert_null(match_re_group_name(re, 4, &nl));
    match_re_free(re);
    cairn_err e;
    assert_int_equal(match_re_compile_as(&re, "(x", 2, MATCH_RE_CAPTURE, "regexp stage", &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regexp stage \"(x\": missing closing )"));
}

typedef struct thr {
    const match *m;
    int bad;
} thr;

static void *thr_run(void *p)
{
    thr *t = p;
    char s[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(s, sizeof s, "host-%d", i % 100);
        int want = (i % 100) % 7 == 3;
        if (match_value(t->m, s, (size_t)n) != want) t->bad++;
    }
    return NULL;
}

static void test_match_threads(void **state)
{
    (void)state;
    /* one compiled RE2 matcher shared by 4 threads */
    const char *re = "host-(3|10|17|24|31|38|45|52|59|66|73|80|87|94)(?:)";
    cairn_matcher src = {CAIRN_MATCH_RE, "instance", 8, re, strlen(re)};
    match m;
    assert_int_equal(match_compile(&m, &src, NULL), CAIRN_OK);
    assert_false(match_re_is_fast(m.re));
    pthread_t th[4];
    thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr){&m, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].bad, 0);
    }
    match_free(&m);
}

static void test_match_oom(void **state)
{
    (void)state;
    static const char *pats[] = {"a|b", "x(y|z)+\\d"};
    for (size_t p = 0; p < 2; p++) {
        for (int64_t n = 0;; n++) {
            cairn_matcher src = {CAIRN_MATCH_RE, "name", 4, pats[p], strlen(pats[p])};
            match m;
            cairn_err e;
            mem_fail_after(n);
            int rc = match_compile(&m, &src, &e);
            mem_fail_after(-1);
            if (rc == CAIRN_OK) {
                assert_int_equal(match_value(&m, "b", 1), p == 0);
                match_free(&m);
                break;
            }
            assert_int_equal(rc, CAIRN_ENOMEM);
            assert_non_null(strstr(e.msg, "out of memory"));
            assert_true(n < 50);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_ops),
        cmocka_unit_test(test_match_anchoring),
        cmocka_unit_test(test_match_empty_semantics),
        cmocka_unit_test(test_match_bad_regex),
        cmocka_unit_test(test_match_fast_paths_taken),
        cmocka_unit_test(test_match_fast_agrees_with_re2),
        cmocka_unit_test(test_match_required_literals_agree),
        cmocka_unit_test(test_match_line_filter_unanchored),
        cmocka_unit_test(test_match_repeat_limits),
        cmocka_unit_test(test_match_re2_syntax),
        cmocka_unit_test(test_match_linear_time),
        cmocka_unit_test(test_match_expand),
        cmocka_unit_test(test_match_threads),
        cmocka_unit_test(test_match_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
