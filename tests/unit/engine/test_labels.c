/*
 * test_labels.c — canonical label sets: order, encoding (golden bytes from
 * docs/format/lmdb.md), every validation error with its code and message,
 * UTF-8 rules, readers on malformed bytes, formatting, hashing, OOM.
 */
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "labels.h"
#include "mem.h"
#include "support.h"

#define L(n, v) CAIRN_LABEL(n, v)

static const labels_limits lim = {30, 64, 128};

static int canon(const cairn_label *in, size_t n, buf *out, cairn_err *e)
{
    buf_reset(out);
    return labels_canon(in, n, &lim, out, e);
}

/* The worked example of docs/format/lmdb.md ("Canonical label set"). */
static void test_canon_golden(void **state)
{
    (void)state;
    cairn_label in[] = {L("job", "node"), L("instance", "a:9100"), L("__name__", "up")};
    static const uint8_t want[] = {0x03, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_', '_', 0x02, 'u', 'p',
                                   0x08, 'i', 'n', 's', 't', 'a', 'n', 'c', 'e', 0x06, 'a', ':', '9',
                                   '1', '0', '0', 0x03, 'j', 'o', 'b', 0x04, 'n', 'o', 'd', 'e'};
    buf b;
    buf_init(&b);
    cairn_err e;
    assert_int_equal(canon(in, 3, &b, &e), CAIRN_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(labels_count(b.p, b.len), 3);
    char s[128];
    labels_format(b.p, b.len, s, sizeof s);
    assert_string_equal(s, "{__name__=\"up\", instance=\"a:9100\", job=\"node\"}");
    buf_free(&b);
}

static void test_canon_order_name_first_and_bytewise(void **state)
{
    (void)state;
    /* "A" < "Z" < "__name__" < "a" byte-wise, but __name__ goes first; "a" < "a_b" < "ab" */
    cairn_label in[] = {L("ab", "1"), L("a_b", "2"), L("Z", "3"), L("a", "4"), L("__name__", "m"), L("A", "5")};
    buf b;
    buf_init(&b);
    assert_int_equal(canon(in, 6, &b, NULL), CAIRN_OK);
    cairn_label out[8];
    assert_int_equal(labels_decode(b.p, b.len, out, 8), 6);
    const char *want[] = {"__name__", "A", "Z", "a", "a_b", "ab"};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(out[i].name_len, strlen(want[i]));
        assert_memory_equal(out[i].name, want[i], out[i].name_len);
    }
    /* any input order gives the same bytes */
    cairn_label rev[6];
    for (int i = 0; i < 6; i++) rev[i] = in[5 - i];
    buf b2;
    buf_init(&b2);
    assert_int_equal(canon(rev, 6, &b2, NULL), CAIRN_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.p, b2.p, b.len);
    assert_int_equal(labels_hash(b.p, b.len), labels_hash(b2.p, b2.len));
    /* labels_get */
    const char *v;
    size_t vn;
    assert_int_equal(labels_get(b.p, b.len, "a_b", 3, &v, &vn), CAIRN_OK);
    assert_int_equal(vn, 1);
    assert_memory_equal(v, "2", 1);
    assert_int_equal(labels_get(b.p, b.len, "nope", 4, &v, &vn), CAIRN_NOTFOUND);
    /* decode with too small a cap */
    assert_int_equal(labels_decode(b.p, b.len, out, 5), CAIRN_ELIMIT);
    buf_free(&b);
    buf_free(&b2);
}

static void test_canon_drops_empty_values_and_appends(void **state)
{
    (void)state;
    cairn_label in[] = {L("job", "x"), L("empty", ""), L("__name__", "up")};
    cairn_label in2[] = {L("__name__", "up"), L("job", "x")};
    buf b, b2;
    buf_init(&b);
    buf_init(&b2);
    assert_int_equal(buf_put(&b, "PFX", 3), CAIRN_OK); /* canon appends */
    assert_int_equal(labels_canon(in, 3, &lim, &b, NULL), CAIRN_OK);
    assert_int_equal(canon(in2, 2, &b2, NULL), CAIRN_OK);
    assert_int_equal(b.len, 3 + b2.len);
    assert_memory_equal(b.p, "PFX", 3);
    assert_memory_equal(b.p + 3, b2.p, b2.len);
    /* a failed canon leaves out untouched */
    cairn_label bad[] = {L("1x", "y")};
    size_t before = b.len;
    assert_int_equal(labels_canon(bad, 1, &lim, &b, NULL), CAIRN_EINVAL);
    assert_int_equal(b.len, before);
    /* no limits at all (lim NULL) */
    buf_reset(&b);
    assert_int_equal(labels_canon(in2, 2, NULL, &b, NULL), CAIRN_OK);
    buf_free(&b);
    buf_free(&b2);
}

static void expect_err(const cairn_label *in, size_t n, int code, const char *frag1, const char *frag2)
{
    buf b;
    buf_init(&b);
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = canon(in, n, &b, &e);
    if (rc != code || !strstr(e.msg, frag1) || (frag2 && !strstr(e.msg, frag2)))
        fail_msg("rc %d (want %d), msg: %s (want \"%s\" and \"%s\")", rc, code, e.msg, frag1, frag2 ? frag2 : "");
    assert_int_equal(e.code, code);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_canon_errors(void **state)
{
    (void)state;
    cairn_label empty[] = {L("a", ""), L("b", "")};
    expect_err(empty, 2, CAIRN_EINVAL, "empty label set", "{a=\"\", b=\"\"}");
    expect_err(NULL, 0, CAIRN_EINVAL, "empty label set", "{}");

    cairn_label syn1[] = {L("__name__", "up"), L("1abc", "x")};
    expect_err(syn1, 2, CAIRN_EINVAL, "invalid label name \"1abc\"", "{__name__=\"up\", 1abc=\"x\"}");
    cairn_label syn2[] = {L("a-b", "x")};
    expect_err(syn2, 1, CAIRN_EINVAL, "invalid label name \"a-b\"", NULL);
    cairn_label syn3[] = {L("", "x")};
    expect_err(syn3, 1, CAIRN_EINVAL, "empty label name", NULL);
    cairn_label syn4[] = {{"a\nb", 3, "x", 1}};
    expect_err(syn4, 1, CAIRN_EINVAL, "invalid label name \"a\\nb\"", NULL);

    cairn_label res[] = {L("__name__", "up"), L("__meta", "x")};
    expect_err(res, 2, CAIRN_EINVAL, "label name \"__meta\" is reserved", NULL);
    cairn_label res2[] = {L("__", "x")};
    expect_err(res2, 1, CAIRN_EINVAL, "is reserved", NULL);
    /* a single leading underscore is fine */
    cairn_label ok1[] = {L("_x", "1")};
    buf b;
    buf_init(&b);
    assert_int_equal(canon(ok1, 1, &b, NULL), CAIRN_OK);

    cairn_label dup[] = {L("job", "a"), L("__name__", "up"), L("job", "b")};
    expect_err(dup, 3, CAIRN_EINVAL, "duplicate label name \"job\" (job=\"a\" and job=\"b\")", "{job=\"a\", ");

    cairn_label many[31];
    char names[31][16];
    for (int i = 0; i < 31; i++) {
        snprintf(names[i], sizeof names[i], "l%02d", i);
        many[i] = (cairn_label){names[i], 3, "v", 1};
    }
    expect_err(many, 31, CAIRN_ELIMIT, "31 labels, more than the limit of 30", NULL);
    assert_int_equal(canon(many, 30, &b, NULL), CAIRN_OK);
    /* 31 labels of which one is empty: 30 kept, fine */
    many[30].value_len = 0;
    assert_int_equal(canon(many, 31, &b, NULL), CAIRN_OK);

    char longname[66], longval[130];
    memset(longname, 'n', 65);
    memset(longval, 'v', 129);
    cairn_label ln[] = {{longname, 65, "x", 1}};
    expect_err(ln, 1, CAIRN_ELIMIT, "is 65 bytes, longer than the limit of 64", "label name \"nnnn");
    ln[0].name_len = 64;
    assert_int_equal(canon(ln, 1, &b, NULL), CAIRN_OK);
    cairn_label lv[] = {{"big", 3, longval, 129}};
    expect_err(lv, 1, CAIRN_ELIMIT, "value of label \"big\" is 129 bytes, longer than the limit of 128", NULL);
    lv[0].value_len = 128;
    assert_int_equal(canon(lv, 1, &b, NULL), CAIRN_OK);
    buf_free(&b);
}

static void test_canon_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int ok;
    } cases[] = {
        {"plain", 5, 1},
        {"caf\xc3\xa9", 5, 1},                 /* é */
        {"\xe2\x82\xac", 3, 1},                /* € */
        {"\xf0\x9f\x98\x80", 4, 1},            /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, 1},            /* U+10FFFF */
        {"a\0b", 3, 2},                        /* NUL: valid UTF-8, refused in a value */
        {"\xff", 1, 0},
        {"\xc3", 1, 0},                        /* truncated */
        {"\xc0\xaf", 2, 0},                    /* overlong / */
        {"\xe0\x80\xaf", 3, 0},                /* overlong */
        {"\xed\xa0\x80", 3, 0},                /* surrogate U+D800 */
        {"\xf4\x90\x80\x80", 4, 0},            /* > U+10FFFF */
        {"ok\x80", 3, 0},                      /* stray continuation */
        {"\xe2\x82", 2, 0},
    };
    buf b;
    buf_init(&b);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cairn_label l[] = {{"v", 1, cases[i].s, cases[i].n}};
        cairn_err e;
        int rc = canon(l, 1, &b, &e);
        if (cases[i].ok == 1) assert_int_equal(rc, CAIRN_OK);
        else {
            assert_int_equal(rc, CAIRN_EINVAL);
            assert_non_null(strstr(e.msg, cases[i].ok ? "NUL byte in the value of label \"v\""
                                                      : "invalid UTF-8 in the value of label \"v\""));
        }
        assert_int_equal(labels_utf8_valid(cases[i].s, cases[i].n) == cases[i].n, cases[i].ok != 0);
        assert_int_equal(labels_value_valid(cases[i].s, cases[i].n) == cases[i].n, cases[i].ok == 1);
    }
    cairn_label l[] = {{"v", 1, "ok\x80", 3}};
    cairn_err e;
    canon(l, 1, &b, &e);
    assert_non_null(strstr(e.msg, "at offset 2 (byte 0x80)"));
    assert_non_null(strstr(e.msg, "{v=\"ok\\x80\"}"));
    buf_free(&b);
}

/* Regression (issue 10): a NUL byte in a value or in the metric name was
 * accepted. It is refused wherever it is, with its offset, on the fast
 * (already sorted) and the general path alike. */
static void test_canon_nul_refused(void **state)
{
    (void)state;
    cairn_label v1[] = {L("__name__", "up"), {"job", 3, "node\0x", 6}};
    expect_err(v1, 2, CAIRN_EINVAL, "NUL byte in the value of label \"job\" at offset 4", "job=\"node\\x00x\"");
    cairn_label v2[] = {{"job", 3, "n\0", 2}, L("__name__", "up")}; /* unsorted: the general path */
    expect_err(v2, 2, CAIRN_EINVAL, "NUL byte in the value of label \"job\" at offset 1", NULL);
    cairn_label m[] = {{"__name__", 8, "http\0requests", 13}};
    expect_err(m, 1, CAIRN_EINVAL, "NUL byte in the metric name (__name__) at offset 4", NULL);
    cairn_label m2[] = {{"__name__", 8, "caf\xc3", 4}};
    expect_err(m2, 1, CAIRN_EINVAL, "invalid UTF-8 in the metric name (__name__) at offset 3 (byte 0xc3)", NULL);
    /* the word-at-a-time scan finds a NUL in any of the eight positions, and past the first word */
    char v[40];
    for (size_t at = 0; at < sizeof v; at++) {
        memset(v, 'a', sizeof v);
        v[at] = '\0';
        assert_int_equal(labels_value_valid(v, sizeof v), at);
        v[at] = '\x01';
        assert_int_equal(labels_value_valid(v, sizeof v), sizeof v);
    }
    /* 0x80 bytes after a NUL do not hide it, a NUL after a multi-byte rune is found */
    assert_int_equal(labels_value_valid("\xc3\xa9\0", 3), 2);
    char msg[128];
    assert_int_equal(labels_value_problem("ab\0", 3, "x", 1, msg, sizeof msg), 2);
    assert_string_equal(msg, "NUL byte in the value of label \"x\" at offset 2");
    assert_int_equal(labels_value_problem("ab", 2, "x", 1, msg, sizeof msg), 2);
}

static void test_name_reserved(void **state)
{
    (void)state;
    assert_true(labels_name_reserved("__foo", 5));
    assert_true(labels_name_reserved("__", 2));
    assert_true(labels_name_reserved("__name", 6));
    assert_true(labels_name_reserved("__name___", 9));
    assert_false(labels_name_reserved("__name__", 8));
    assert_false(labels_name_reserved("_foo", 4));
    assert_false(labels_name_reserved("a__", 3));
    assert_false(labels_name_reserved("_", 1));
}

static void test_format_escapes_and_truncation(void **state)
{
    (void)state;
    cairn_label in[] = {{"a", 1, "q\"\\\n\t\x01\xc3\xa9", 8}};
    buf b;
    buf_init(&b);
    assert_int_equal(canon(in, 1, &b, NULL), CAIRN_OK);
    char s[64];
    size_t n = labels_format(b.p, b.len, s, sizeof s);
    assert_string_equal(s, "{a=\"q\\\"\\\\\\n\\t\\x01\xc3\xa9\"}");
    assert_int_equal(n, strlen(s));
    /* truncation keeps a NUL and marks the cut */
    char small[10];
    n = labels_format(b.p, b.len, small, sizeof small);
    assert_int_equal(n, 9);
    assert_int_equal(strlen(small), 9);
    assert_string_equal(small + 6, "...");
    assert_int_equal(labels_format(b.p, b.len, small, 0), 0);
    /* corrupt bytes are marked, never read past */
    static const uint8_t bad[] = {0x02, 0x01, 'a', 0x05, 'x'};
    labels_format(bad, sizeof bad, s, sizeof s);
    assert_non_null(strstr(s, "<corrupt>"));
    buf_free(&b);
}

static void test_readers_reject_corrupt(void **state)
{
    (void)state;
    static const struct {
        const uint8_t b[8];
        size_t n;
    } bad[] = {
        {{0}, 0},                          /* no count */
        {{0x05, 0x00, 0x00}, 3},           /* count larger than the bytes allow */
        {{0x01, 0x03, 'a'}, 3},            /* name runs past the end */
        {{0x01, 0x01, 'a', 0x09, 'x'}, 5}, /* value runs past the end */
        {{0x01, 0x01, 'a', 0x01, 'x', 0xEE}, 6}, /* trailing byte */
        {{0xff, 0xff, 0xff}, 3},           /* bad varint */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cairn_label out[4];
        assert_int_equal(labels_count(bad[i].b, bad[i].n), CAIRN_ECORRUPT);
        assert_int_equal(labels_decode(bad[i].b, bad[i].n, out, 4), CAIRN_ECORRUPT);
    }
    const char *v;
    size_t vn;
    static const uint8_t b3[] = {0x01, 0x03, 'a'};
    assert_int_equal(labels_get(b3, 3, "zz", 2, &v, &vn), CAIRN_ECORRUPT);
}

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(labels_name_valid("a", 1));
    assert_true(labels_name_valid("_", 1));
    assert_true(labels_name_valid("A_9", 3));
    assert_false(labels_name_valid("9a", 2));
    assert_false(labels_name_valid("", 0));
    assert_false(labels_name_valid("a.b", 3));
    assert_false(labels_name_valid("é", 2));
}

static void test_hash_is_xxh3(void **state)
{
    (void)state;
    /* XXH3-64 test vectors: empty input, and one byte 0x00 */
    assert_int_equal(labels_hash((const uint8_t *)"", 0), 0x2D06800538D394C2ULL);
    buf b;
    buf_init(&b);
    cairn_label a[] = {L("__name__", "up"), L("job", "a")}, c[] = {L("__name__", "up"), L("job", "b")};
    assert_int_equal(canon(a, 2, &b, NULL), CAIRN_OK);
    uint64_t ha = labels_hash(b.p, b.len);
    assert_int_equal(canon(c, 2, &b, NULL), CAIRN_OK);
    assert_int_not_equal(ha, labels_hash(b.p, b.len));
    buf_free(&b);
}

/* Random label sets: canon then decode gives back the non-empty labels, sorted. */
static void test_canon_random_roundtrip(void **state)
{
    (void)state;
    t_rng_reset();
    buf b;
    buf_init(&b);
    for (int iter = 0; iter < 2000; iter++) {
        cairn_label in[12];
        char nm[12][8], vl[12][8];
        size_t n = 1 + t_randn(12);
        for (size_t i = 0; i < n; i++) {
            /* unique names by index suffix; random shapes */
            size_t len = 1 + t_randn(4);
            for (size_t j = 0; j < len; j++) nm[i][j] = "abAB_z"[t_randn(6)];
            nm[i][len] = (char)('a' + i);
            if (nm[i][0] == '_' && nm[i][1] == '_') nm[i][1] = 'x';
            size_t vlen = t_randn(4);
            for (size_t j = 0; j < vlen; j++) vl[i][j] = (char)(' ' + t_randn(90));
            in[i] = (cairn_label){nm[i], len + 1, vl[i], vlen};
        }
        if (t_randn(2)) in[t_randn(n)] = (cairn_label){"__name__", 8, "m", 1};
        cairn_err e;
        int rc = canon(in, n, &b, &e);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) kept += in[i].value_len > 0;
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                dup |= in[i].value_len && in[j].value_len && in[i].name_len == in[j].name_len &&
                       !memcmp(in[i].name, in[j].name, in[i].name_len);
        if (!kept) {
            assert_int_equal(rc, CAIRN_EINVAL);
            continue;
        }
        if (dup) {
            assert_int_equal(rc, CAIRN_EINVAL);
            assert_non_null(strstr(e.msg, "duplicate label name"));
            continue;
        }
        assert_int_equal(rc, CAIRN_OK);
        cairn_label out[12];
        assert_int_equal(labels_decode(b.p, b.len, out, 12), (int)kept);
        for (size_t i = 1; i < kept; i++) {
            int first_is_name = out[0].name_len == 8 && !memcmp(out[0].name, "__name__", 8);
            if (i == 1 && first_is_name) continue;
            size_t m = out[i - 1].name_len < out[i].name_len ? out[i - 1].name_len : out[i].name_len;
            int c = memcmp(out[i - 1].name, out[i].name, m);
            assert_true(c < 0 || (c == 0 && out[i - 1].name_len < out[i].name_len));
        }
        /* re-canonicalising the decoded labels is the identity */
        buf b2;
        buf_init(&b2);
        assert_int_equal(labels_canon(out, kept, &lim, &b2, NULL), CAIRN_OK);
        assert_int_equal(b2.len, b.len);
        assert_memory_equal(b2.p, b.p, b.len);
        buf_free(&b2);
    }
    buf_free(&b);
}

static void test_canon_oom(void **state)
{
    (void)state;
    /* 70 labels: more than the stack sort index, so both the index and the buf allocate */
    cairn_label in[70];
    char names[70][16];
    for (int i = 0; i < 70; i++) {
        snprintf(names[i], sizeof names[i], "n%02d", 69 - i);
        in[i] = (cairn_label){names[i], 3, "value", 5};
    }
    for (int64_t n = 0;; n++) {
        buf b;
        buf_init(&b);
        cairn_err e;
        mem_fail_after(n);
        int rc = labels_canon(in, 70, NULL, &b, &e);
        mem_fail_after(-1);
        if (rc == CAIRN_OK) {
            assert_int_equal(labels_count(b.p, b.len), 70);
            buf_free(&b);
            assert_true(n >= 2);
            break;
        }
        assert_int_equal(rc, CAIRN_ENOMEM);
        assert_non_null(strstr(e.msg, "out of memory"));
        assert_int_equal(b.len, 0);
        buf_free(&b);
        assert_true(n < 20);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canon_golden),
        cmocka_unit_test(test_canon_order_name_first_and_bytewise),
        cmocka_unit_test(test_canon_drops_empty_values_and_appends),
        cmocka_unit_test(test_canon_errors),
        cmocka_unit_test(test_canon_utf8),
        cmocka_unit_test(test_canon_nul_refused),
        cmocka_unit_test(test_name_reserved),
        cmocka_unit_test(test_format_escapes_and_truncation),
        cmocka_unit_test(test_readers_reject_corrupt),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_hash_is_xxh3),
        cmocka_unit_test(test_canon_random_roundtrip),
        cmocka_unit_test(test_canon_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
