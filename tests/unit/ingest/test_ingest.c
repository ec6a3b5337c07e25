/*
 * Tests for the shared ingest pieces: gzip/zlib and snappy body codecs with
 * their bounds, UTF-8 and name checks, float formatting, the metadata list,
 * the JSON reader and the protobuf field reader.
 */
#include <zlib.h>

#include "jsonr.h"
#include "t_ingest.h"

static uint8_t *gz(const void *p, size_t n, int gzip, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, gzip ? 31 : 15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)n) + 16;
    uint8_t *o = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return o;
}

static void test_ingest_gunzip_ok(void **state)
{
    (void)state;
    const char *text = "hello hello hello gzip";
    size_t n;
    uint8_t *g = gz(text, strlen(text), 1, &n);
    buf out;
    buf_init(&out);
    cairn_err e;
    assert_int_equal(ingest_gunzip(g, n, 1000, &out, &e), CAIRN_OK);
    assert_int_equal(out.len, strlen(text));
    assert_memory_equal(out.p, text, out.len);
    /* two concatenated members */
    uint8_t *two = malloc(2 * n);
    memcpy(two, g, n), memcpy(two + n, g, n);
    out.len = 0;
    assert_int_equal(ingest_gunzip(two, 2 * n, 1000, &out, &e), CAIRN_OK);
    assert_int_equal(out.len, 2 * strlen(text));
    /* zlib (HTTP "deflate") */
    size_t zn;
    uint8_t *zl = gz(text, strlen(text), 0, &zn);
    out.len = 0;
    assert_int_equal(ingest_gunzip(zl, zn, 1000, &out, &e), CAIRN_OK);
    assert_memory_equal(out.p, text, out.len);
    /* exactly at the limit is fine */
    out.len = 0;
    assert_int_equal(ingest_gunzip(g, n, strlen(text), &out, &e), CAIRN_OK);
    free(zl);
    free(two);
    free(g);
    buf_free(&out);
}

static void test_ingest_gunzip_errors(void **state)
{
    (void)state;
    const char *text = "some text that compresses, some text that compresses";
    size_t n;
    uint8_t *g = gz(text, strlen(text), 1, &n);
    buf out;
    buf_init(&out);
    cairn_err e;
    assert_int_equal(ingest_gunzip(g, n - 4, 1000, &out, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gzip: truncated stream");
    assert_int_equal(out.len, 0);
    uint8_t *junk = malloc(n + 3);
    memcpy(junk, g, n);
    memcpy(junk + n, "xyz", 3);
    assert_int_equal(ingest_gunzip(junk, n + 3, 1000, &out, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gzip: 3 bytes of garbage after the stream");
    g[n / 2] ^= 0xff;
    int rc = ingest_gunzip(g, n, 1000, &out, &e);
    assert_int_equal(rc, CAIRN_ECORRUPT);
    assert_int_equal(ingest_gunzip((const uint8_t *)"not gzip", 8, 1000, &out, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gzip: incorrect header check");
    free(junk);
    free(g);
    buf_free(&out);
}

static void test_ingest_gunzip_bomb(void **state)
{
    (void)state;
    /* 64 MiB of zeros compress to ~64 KiB; the limit stops inflation early */
    size_t big = 64u << 20;
    uint8_t *zeros = calloc(1, big);
    size_t n;
    uint8_t *g = gz(zeros, big, 1, &n);
    free(zeros);
    assert_true(n < 200000);
    buf out;
    buf_init(&out);
    cairn_err e;
    assert_int_equal(ingest_gunzip(g, n, 1u << 20, &out, &e), CAIRN_ELIMIT);
    assert_string_equal(e.msg, "decompressed body exceeds 1048576 bytes");
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= (2u << 20) + 65536);
    free(g);
    buf_free(&out);
}

static void test_ingest_unsnappy(void **state)
{
    (void)state;
    const char *text = "abcabcabcabcabcabc";
    size_t n;
    uint8_t *z = t_snappy(text, strlen(text), &n);
    buf out;
    buf_init(&out);
    cairn_err e;
    assert_int_equal(ingest_unsnappy(z, n, 100, &out, &e), CAIRN_OK);
    assert_memory_equal(out.p, text, strlen(text));
    assert_int_equal(ingest_unsnappy(z, n, 10, &out, &e), CAIRN_ELIMIT);
    assert_string_equal(e.msg, "snappy: decompressed body of 18 bytes exceeds 10 bytes");
    /* a copy whose offset points before the start */
    uint8_t bad[] = {0x08, 0x01 | (0 << 2), 0x10, 0x0a};
    assert_int_equal(ingest_unsnappy(bad, sizeof bad, 100, &out, &e), CAIRN_ECORRUPT);
    free(z);
    buf_free(&out);
}

static void test_ingest_utf8_and_names(void **state)
{
    (void)state;
    assert_true(ingest_utf8_valid("", 0));
    assert_true(ingest_utf8_valid("h\xc3\xa9 \xf0\x9f\x98\x80", 9));
    assert_false(ingest_utf8_valid("\xc0\xaf", 2));         /* overlong */
    assert_false(ingest_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(ingest_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(ingest_utf8_valid("\xe2\x82", 2));         /* truncated */
    assert_false(ingest_utf8_valid("\x80", 1));
    assert_true(ingest_label_name_valid("_a1", 3));
    assert_false(ingest_label_name_valid("1a", 2));
    assert_false(ingest_label_name_valid("a:b", 3));
    assert_false(ingest_label_name_valid("", 0));
    cairn_label l[] = {CAIRN_LABEL("a", "x\"\n\x01"), CAIRN_LABEL("b", "y")};
    char s[64];
    ingest_fmt_labels(l, 2, s, sizeof s);
    assert_string_equal(s, "{a=\"x\\\"\\n\\x01\", b=\"y\"}");
    ingest_fmt_labels(l, 2, s, 12);
    assert_string_equal(s, "{a=\"x\\\"...}");
}

/* The part of a series error that says what and where survives a long label
 * set: the set is shortened, never the reason (the message buffer is 256). */
static void test_ingest_series_message_keeps_reason(void **state)
{
    (void)state;
    char vals[6][120];
    cairn_label l[7];
    for (int i = 0; i < 6; i++) {
        memset(vals[i], 'a' + i, sizeof vals[i]);
        l[i] = (cairn_label){"l", 1, vals[i], sizeof vals[i]};
    }
    static const char names[6][3] = {"la", "lb", "lc", "ld", "le", "lf"};
    for (int i = 0; i < 6; i++) l[i].name = names[i], l[i].name_len = 2;
    l[6] = (cairn_label)CAIRN_LABEL("__foo", "x");
    ingest_opts o;
    t_opts(&o);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    size_t n = 7;
    assert_int_equal(ingest_series(b, CAIRN_KIND_METRIC, l, &n, &o, "remote_write: timeseries", 12345, &e),
                     CAIRN_EINVAL);
    const char *want = ": label name \"__foo\" is reserved (names starting with __ other than __name__)";
    size_t ml = strlen(e.msg), wl = strlen(want);
    if (ml < wl || strcmp(e.msg + ml - wl, want) != 0) fail_msg("message lost its reason: %s", e.msg);
    assert_non_null(strstr(e.msg, "remote_write: timeseries 12345: series {la=\"aaaa"));
    assert_non_null(strstr(e.msg, "...}"));
    /* the same for a NUL at the end of a long set */
    l[6] = (cairn_label){"z", 1, "ab\0", 3};
    n = 7;
    assert_int_equal(ingest_series(b, CAIRN_KIND_METRIC, l, &n, &o, "line", 7, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, ": NUL byte in the value of label \"z\" at offset 2"));
    assert_int_equal(b->n_series, 0);
    cairn_batch_free(b);
}

static void test_ingest_fmt_float(void **state)
{
    (void)state;
    struct {
        double v;
        const char *s;
    } g[] = {{0, "0"},          {1, "1"},        {0.1, "0.1"},           {2.5e-5, "0.000025"}, {1e6, "1000000"},
             {-3.25, "-3.25"},  {123456789.125, "123456789.125"}, {1.0 / 3, "0.3333333333333333"},
             {INFINITY, "+Inf"}, {-INFINITY, "-Inf"}, {NAN, "NaN"}, {1e21, "1e+21"}, {0.005, "0.005"}};
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        char s[40];
        ingest_fmt_float(g[i].v, s, sizeof s);
        if (strcmp(s, g[i].s)) fail_msg("%.17g -> %s, want %s", g[i].v, s, g[i].s);
    }
}

static void test_ingest_meta_list(void **state)
{
    (void)state;
    ingest_meta_list l;
    ingest_meta_init(&l);
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "m%d", i);
        assert_int_equal(ingest_meta_set(&l, name, strlen(name), i % 8, "h", 1, NULL, 0), CAIRN_OK);
    }
    assert_int_equal(ingest_meta_set(&l, "m7", 2, -1, NULL, 0, "bytes", 5), CAIRN_OK);
    assert_int_equal(l.n, 1000);
    long i = ingest_meta_find(&l, "m7", 2);
    assert_int_equal(l.v[i].type, 7);
    assert_string_equal(l.v[i].unit, "bytes");
    assert_string_equal(l.v[i].help, "h");
    assert_true(ingest_meta_find(&l, "m1000", 5) < 0);
    assert_string_equal(ingest_type_name(INGEST_TYPE_GAUGEHISTOGRAM), "gaugehistogram");
    ingest_meta_reset(&l);
    assert_true(ingest_meta_find(&l, "m7", 2) < 0);
    ingest_meta_free(&l);
}

static void test_ingest_jsonr(void **state)
{
    (void)state;
    jr_doc d;
    jr_init(&d);
    cairn_err e;
    const char *doc = " {\"a\\u0062\": [1, -2.5e3, true, false, null, \"x\\ud83d\\ude00\\u00e9\\n\\/\"], \"c\": {}} ";
    assert_int_equal(jr_parse(&d, doc, strlen(doc), 8, &e), CAIRN_OK);
    long v = jr_get(&d, 0, "ab");
    assert_true(v > 0);
    assert_int_equal(d.t[v].type, JR_ARR);
    assert_int_equal(d.t[v].n, 6);
    uint32_t s = (uint32_t)v + 6;
    assert_int_equal(d.t[s].type, JR_STR);
    buf out;
    buf_init(&out);
    assert_int_equal(jr_str(&d, s, &out), CAIRN_OK);
    assert_int_equal(out.len, 9);
    assert_memory_equal(out.p, "x\xf0\x9f\x98\x80\xc3\xa9\n/", 9);
    assert_int_equal(jr_get(&d, 0, "c"), (long)d.t[v].end + 1);
    assert_int_equal(jr_get(&d, 0, "zz"), -1);
    /* a lone surrogate decodes to U+FFFD */
    assert_int_equal(jr_parse(&d, "\"\\ud800x\"", 9, 8, &e), CAIRN_OK);
    out.len = 0;
    jr_str(&d, 0, &out);
    assert_memory_equal(out.p, "\xef\xbf\xbdx", 4);
    struct {
        const char *in, *msg;
    } bad[] = {{"", "1:1: expected a value at end of input"},
               {"[1,]", "1:4: expected a value at ']'"},
               {"{\"a\" 1}", "1:6: expected ':' at '1'"},
               {"01", "1:2: unexpected data after the JSON value at '1'"},
               {"1.", "1:3: bad number at end of input"},
               {"\"a\tb\"", "1:3: control character in string at byte 0x09"},
               {"\"\\u12g4\"", "1:6: bad \\u escape at 'g'"},
               {"[[[[[[[[[1]]]]]]]]]", "1:9: nesting too deep at '['"},
               {"tru", "1:1: expected a value at 't'"},
               {"{\n\"a\":1,\n}", "3:1: expected a string key at '}'"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = jr_parse(&d, bad[i].in, strlen(bad[i].in), 8, &e);
        if (rc != CAIRN_EPARSE || strcmp(e.msg, bad[i].msg)) fail_msg("%s: %d \"%s\", want \"%s\"", bad[i].in, rc, e.msg, bad[i].msg);
    }
    buf_free(&out);
    jr_free(&d);
}

static void test_ingest_pb_reader(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    pb_put_varint(&b, 1, 300);
    pb_put_fixed64(&b, 2, 0x0102030405060708ULL);
    pb_put_bytes(&b, 3, "\x01\x96\x01\x03", 4); /* packed varints 1, 150, 3 */
    uint8_t f32[] = {0x25, 1, 2, 3, 4};           /* field 4, fixed32 */
    buf_put(&b, f32, 5);
    rd r;
    rd_init(&r, b.p, b.len);
    pb_field f;
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.num, 1);
    assert_int_equal(f.v, 300);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.wt, PB_I64);
    assert_int_equal(f.v, 0x0102030405060708ULL);
    assert_int_equal(pb_next(&r, &f), 1);
    pb_packed it;
    assert_int_equal(pb_packed_init(&it, &f, PB_VARINT), CAIRN_OK);
    uint64_t v, got[3];
    int k = 0;
    while (pb_packed_next(&it, &v) == 1) got[k++] = v;
    assert_int_equal(k, 3);
    assert_int_equal(got[1], 150);
    assert_int_equal(pb_next(&r, &f), 1);
    assert_int_equal(f.v, 0x04030201);
    assert_int_equal(pb_next(&r, &f), 0);
    /* unpacked element through the same iterator */
    pb_field one = {.num = 1, .wt = PB_VARINT, .v = 9};
    assert_int_equal(pb_packed_init(&it, &one, PB_VARINT), CAIRN_OK);
    assert_int_equal(pb_packed_next(&it, &v), 1);
    assert_int_equal(v, 9);
    assert_int_equal(pb_packed_next(&it, &v), 0);
    assert_int_equal(pb_packed_init(&it, &one, PB_I64), CAIRN_ECORRUPT);
    /* groups, field 0, truncation */
    const uint8_t g3[] = {0x0b}, f0[] = {0x00, 0x01}, tr[] = {0x0a, 0x05, 0x01}, tv[] = {0x08, 0x80};
    rd_init(&r, g3, 1);
    assert_int_equal(pb_next(&r, &f), CAIRN_ECORRUPT);
    rd_init(&r, f0, 2);
    assert_int_equal(pb_next(&r, &f), CAIRN_ECORRUPT);
    rd_init(&r, tr, 3);
    assert_int_equal(pb_next(&r, &f), CAIRN_ECORRUPT);
    rd_init(&r, tv, 2);
    assert_int_equal(pb_next(&r, &f), CAIRN_ECORRUPT);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ingest_gunzip_ok),
        cmocka_unit_test(test_ingest_gunzip_errors),
        cmocka_unit_test(test_ingest_gunzip_bomb),
        cmocka_unit_test(test_ingest_unsnappy),
        cmocka_unit_test(test_ingest_utf8_and_names),
        cmocka_unit_test(test_ingest_series_message_keeps_reason),
        cmocka_unit_test(test_ingest_fmt_float),
        cmocka_unit_test(test_ingest_meta_list),
        cmocka_unit_test(test_ingest_jsonr),
        cmocka_unit_test(test_ingest_pb_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
