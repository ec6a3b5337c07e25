/*
 * Tests for the Loki push decoders: JSON bodies (as winston-loki, pino-loki
 * and syslog-ng send them), protobuf+snappy PushRequests built by hand, and
 * the stream label-string parser.
 */
#include "t_ingest.h"

#define TS "1795339453974000000"

static int json(const char *body, cairn_batch *b, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    return lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, e);
}

static const char *line_of(const cairn_batch *b, size_t i)
{
    static char s[512];
    snprintf(s, sizeof s, "%.*s", (int)b->entries[i].line_len, (const char *)b->lines.p + b->entries[i].line_off);
    return s;
}

static void test_lpush_json_basic(void **state)
{
    (void)state;
    const char *body = "{\"streams\":[{\"values\":[[\"" TS "\",\"hello \\\"q\\\" \\\\ \\u00e9 \\ud83d\\ude00\"],"
                       "[\"" TS "\",\"second\",{\"trace_id\":\"abc\",\"empty\":\"\"}]],"
                       "\"stream\":{\"level\":\"info\",\"app\":\"wtest\"}, \"extra\": [1, {\"x\": null}]},"
                       "{\"stream\":{\"app\":\"wtest\",\"level\":\"info\"},\"values\":[[\"" TS "\",\"third\"]]},"
                       "{\"stream\":{\"job\":\"syslog\",\"service_name\":\"mine\"},\"values\":[]}]}";
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(json(body, b, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 2);
    t_assert_series(b, "{app=\"wtest\", level=\"info\", service_name=\"wtest\"}");
    t_assert_series(b, "{job=\"syslog\", service_name=\"mine\"}");
    assert_int_equal(b->n_entries, 3);
    assert_string_equal(line_of(b, 0), "hello \"q\" \\ \xc3\xa9 \xf0\x9f\x98\x80");
    assert_int_equal(b->entries[0].t_ns, 1795339453974000000LL);
    assert_string_equal(t_meta(b, &b->entries[1]), "{trace_id=\"abc\"}");
    assert_int_equal(b->entries[2].ref, b->entries[0].ref);
    cairn_batch_free(b);
}

/* Regression (issue 10): Loki refuses stream labels starting with "__"
 * (internal ones such as __stream_shard__); cairn dropped them, so streams
 * differing only in one merged. A NUL in a label or metadata value (JSON
 * \u0000) was stored. Both are refused with the label and offset named; a
 * NUL in the line is kept, lines are stored byte-exact. */
static void test_lpush_reserved_and_nul(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(json("{\"streams\":[{\"stream\":{\"app\":\"a\",\"__stream_shard__\":\"1\"},\"values\":[[\"" TS
                          "\",\"x\"]]}]}", b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "stream 0: series {app=\"a\", __stream_shard__=\"1\", service_name=\"a\"}: label name \"__stream_shard__\" is "
                               "reserved (names starting with __ other than __name__)");
    assert_int_equal(cairn_batch_size(b), 0);
    assert_int_equal(json("{\"streams\":[{\"stream\":{\"app\":\"a\\u0000b\"},\"values\":[[\"" TS "\",\"x\"]]}]}", b, &e),
                     CAIRN_EINVAL);
    assert_msg_contains(e, "NUL byte in the value of label \"app\" at offset 1");
    assert_msg_contains(e, "app=\"a\\x00b\"");
    assert_int_equal(json("{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"" TS "\",\"x\",{\"t\":\"q\\u0000\"}]]}]}", b,
                          &e), CAIRN_EINVAL);
    assert_msg_contains(e, "NUL byte in structured metadata \"t\" at offset 1");
    assert_int_equal(cairn_batch_size(b), 0);
    assert_int_equal(json("{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"" TS "\",\"x\\u0000y\"]]}]}", b, &e),
                     CAIRN_OK);
    assert_int_equal(b->entries[0].line_len, 3);
    assert_memory_equal(b->lines.p + b->entries[0].line_off, "x\0y", 3);
    cairn_batch_free(b);
}

/* Regression: the window arithmetic overflowed for a window of INT64_MAX
 * (--ingest-max-future 1000y saturates to it): now + window wrapped negative
 * and every entry was "too far in the future". */
static void test_lpush_huge_windows_do_not_overflow(void **state)
{
    (void)state;
    ingest_opts o;
    t_opts(&o);
    o.future_grace_ns = INT64_MAX;
    o.reject_old_ns = INT64_MAX;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    const char *body = "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"" TS "\",\"now\"],"
                       "[\"9223372036854775807\",\"last\"],[\"1\",\"first\"]]}]}";
    int rc = lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e);
    if (rc) fail_msg("%s", e.msg);
    assert_int_equal(b->n_entries, 3);
    cairn_batch_free(b);
}

static void check_json(const char *body, int code, const char *msg)
{
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = json(body, b, &e);
    if (rc != code) fail_msg("%s: got %d (%s), want %d", body, rc, e.msg, code);
    if (strcmp(e.msg, msg) != 0) fail_msg("%s:\n message \"%s\"\n want    \"%s\"", body, e.msg, msg);
    assert_int_equal(cairn_batch_size(b), 0);
    assert_int_equal(b->n_series, 0);
    cairn_batch_free(b);
}

static void test_lpush_json_errors(void **state)
{
    (void)state;
    const char *ok = "{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\",\"ok\"]]}";
    char body[512];
    check_json("{\"streams\":[", CAIRN_EPARSE, "1:13: expected a value at end of input");
    check_json("{\"streams\":{}}", CAIRN_EINVAL, "Loki push: expected {\"streams\": [...]}");
    snprintf(body, sizeof body, "{\"streams\":[%s,{\"stream\":{\"a\":\"b\"},\"values\":[[1795339453974000000,\"x\"]]}]}", ok);
    check_json(body, CAIRN_EINVAL, "stream 1, entry 0: the timestamp must be a string of integer nanoseconds");
    snprintf(body, sizeof body, "{\"streams\":[%s,{\"stream\":{\"a\":\"b\"},\"values\":[[\"12x\",\"x\"]]}]}", ok);
    check_json(body, CAIRN_EINVAL, "stream 1, entry 0: the timestamp is not an integer number of nanoseconds in range");
    snprintf(body, sizeof body, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"99999999999999999999\",\"x\"]]}]}");
    check_json(body, CAIRN_EINVAL, "stream 0, entry 0: the timestamp is not an integer number of nanoseconds in range");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\"]]}]}", CAIRN_EINVAL,
               "stream 0 {a=\"b\", service_name=\"unknown_service\"}, entry 0 at 1: timestamp is older than the limit of 604800s");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1895339453974000000\",\"x\"]]}]}", CAIRN_EINVAL,
               "stream 0 {a=\"b\", service_name=\"unknown_service\"}, entry 0 at 1895339453974000000: timestamp is too far in the "
               "future (more than 600s after the receive time)");
    check_json("{\"streams\":[{\"stream\":{\"a\":1},\"values\":[]}]}", CAIRN_EINVAL, "stream 0: label values must be strings");
    check_json("{\"streams\":[{\"stream\":{\"a.b\":\"c\"},\"values\":[]}]}", CAIRN_EINVAL,
               "stream 0: series {a.b=\"c\", service_name=\"unknown_service\"}: invalid label name \"a.b\"");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"b\",\"a\":\"c\"},\"values\":[]}]}", CAIRN_EINVAL,
               "stream 0: series {a=\"b\", a=\"c\", service_name=\"unknown_service\"}: duplicate label name \"a\"");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"\\udc00\\u00ff\\xff\"},\"values\":[]}]}", CAIRN_EPARSE,
               "1:42: bad escape at 'x'");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"\xff\"},\"values\":[]}]}", CAIRN_EPARSE,
               "1:29: invalid UTF-8 in string at byte 0xff");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\"]]}]}", CAIRN_EINVAL,
               "stream 0, entry 0: an entry must be [\"<ns timestamp>\", \"<line>\"] or [ts, line, {metadata}]");
    check_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\",\"x\",{\"k\":1}]]}]}", CAIRN_EINVAL,
               "stream 0, entry 0: structured metadata values must be strings");
}

static void test_lpush_json_empty_labels(void **state)
{
    (void)state;
    ingest_opts o;
    t_opts(&o);
    o.add_service_name = 0;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    const char *body = "{\"streams\":[{\"stream\":{},\"values\":[]}]}";
    /* with service_name discovery on, an empty set gets unknown_service */
    o.add_service_name = 1;
    assert_int_equal(lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e), CAIRN_OK);
    assert_string_equal(t_series(b, 0), "{service_name=\"unknown_service\"}");
    cairn_batch_reset(b);
    o.add_service_name = 0;
    assert_int_equal(lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "stream 0: empty label set");
    cairn_batch_free(b);
}

static void test_lpush_json_limits(void **state)
{
    (void)state;
    ingest_opts o;
    t_opts(&o);
    /* a 10 MB line */
    size_t n = 10u << 20;
    char *body = malloc(n + 200);
    int k = snprintf(body, 200, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\",\"");
    memset(body + k, 'x', n);
    strcpy(body + k + n, "\"]]}]}");
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "stream 0 {a=\"b\", service_name=\"unknown_service\"}, entry 0 at " TS
                               ": line of 10485760 bytes exceeds the limit of 262144 bytes");
    o.max_body_bytes = 1 << 20;
    assert_int_equal(lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e), CAIRN_ELIMIT);
    free(body);
    /* 16 labels, one over Loki's 15 (service_name does not count) */
    char big[1024];
    k = snprintf(big, sizeof big, "{\"streams\":[{\"stream\":{");
    for (int i = 0; i < 16; i++) k += snprintf(big + k, sizeof big - (size_t)k, "%s\"l%02d\":\"v\"", i ? "," : "", i);
    snprintf(big + k, sizeof big - (size_t)k, ",\"service_name\":\"s\"},\"values\":[]}]}");
    assert_int_equal(lpush_decode_json((const uint8_t *)big, strlen(big), &o, b, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "has 16 labels, more than the limit of 15");
    /* nesting depth */
    char deep[400];
    k = snprintf(deep, sizeof deep, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"x\":");
    for (int i = 0; i < 100; i++) deep[k++] = '[';
    deep[k] = 0;
    assert_int_equal(lpush_decode_json((const uint8_t *)deep, strlen(deep), &o, b, &e), CAIRN_EPARSE);
    assert_msg_contains(e, "nesting too deep");
    /* structured metadata over 128 entries */
    char sm[8192];
    k = snprintf(sm, sizeof sm, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\",\"l\",{");
    for (int i = 0; i < 129; i++) k += snprintf(sm + k, sizeof sm - (size_t)k, "%s\"m%d\":\"v\"", i ? "," : "", i);
    snprintf(sm + k, sizeof sm - (size_t)k, "}]]}]}");
    assert_int_equal(lpush_decode_json((const uint8_t *)sm, strlen(sm), &o, b, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "129 structured metadata entries exceed the limit of 128");
    assert_int_equal(cairn_batch_size(b), 0);
    cairn_batch_free(b);
}

/* ---- label strings --------------------------------------------------------------- */

static void test_lpush_parse_labels(void **state)
{
    (void)state;
    cairn_label l[8];
    buf s;
    buf_init(&s);
    cairn_err e;
    const char *in = " { level=\"info\",app = `w\\test` , x=\"a\\\"b\\\\c\\n\\u00e9\\x41\\101\\t\" , } ";
    assert_int_equal(lpush_parse_labels(in, strlen(in), l, 8, &s, &e), 3);
    assert_int_equal(l[1].value_len, 6);
    assert_memory_equal(l[1].value, "w\\test", 6);
    assert_int_equal(l[2].value_len, 11);
    assert_memory_equal(l[2].value, "a\"b\\c\n\xc3\xa9" "AA\t", 11);
    assert_memory_equal(l[0].name, "level", 5);
    s.len = 0;
    assert_int_equal(lpush_parse_labels("{}", 2, l, 8, &s, &e), 0);
    struct {
        const char *in;
        int code;
        const char *msg;
    } bad[] = {
        {"a=\"b\"", CAIRN_EPARSE, "1:1: expected '{'"},
        {"{a=\"b\"", CAIRN_EPARSE, "1:7: expected ',' or '}'"},
        {"{a=~\"b\"}", CAIRN_EPARSE, "1:4: expected a quoted label value"},
        {"{a!=\"b\"}", CAIRN_EPARSE, "1:3: expected '=' (only equality matchers are allowed)"},
        {"{1a=\"b\"}", CAIRN_EPARSE, "1:2: expected a label name"},
        {"{a=\"b\\q\"}", CAIRN_EPARSE, "1:6: unknown escape"},
        {"{a=\"b", CAIRN_EPARSE, "1:6: unterminated label value"},
        {"{a=\"b\"} x", CAIRN_EPARSE, "1:9: unexpected text after '}'"},
        {"{a=\"\\ud800\"}", CAIRN_EPARSE, "1:5: bad unicode escape"},
        {"{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",f=\"6\",g=\"7\",h=\"8\",i=\"9\"}", CAIRN_EINVAL, "more than 8 labels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        s.len = 0;
        int rc = lpush_parse_labels(bad[i].in, strlen(bad[i].in), l, 8, &s, &e);
        if (rc != bad[i].code || strcmp(e.msg, bad[i].msg) != 0)
            fail_msg("%s: got %d \"%s\", want %d \"%s\"", bad[i].in, rc, e.msg, bad[i].code, bad[i].msg);
    }
    buf_free(&s);
}

/* ---- protobuf ------------------------------------------------------------------- */

static void put_entry(buf *b, int64_t sec, int32_t nanos, const char *line, const char *smn, const char *smv)
{
    size_t m = pb_begin(b, 2);
    pb_put_bytes(b, 2, line, strlen(line)); /* line before timestamp: order is free */
    size_t t = pb_begin(b, 1);
    pb_put_varint(b, 1, (uint64_t)sec);
    pb_put_varint(b, 2, (uint64_t)(int64_t)nanos);
    pb_end(b, t);
    if (smn) {
        size_t s = pb_begin(b, 3);
        pb_put_bytes(b, 1, smn, strlen(smn));
        pb_put_bytes(b, 2, smv, strlen(smv));
        pb_end(b, s);
    }
    pb_end(b, m);
}

static int proto(buf *pb, cairn_batch *b, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    size_t n;
    uint8_t *z = t_snappy(pb->p, pb->len, &n);
    int rc = lpush_decode_proto(z, n, &o, b, e);
    free(z);
    return rc;
}

static void test_lpush_proto_basic(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    pb_put_bytes(&pb, 2, "fmt", 3);
    size_t s = pb_begin(&pb, 1);
    put_entry(&pb, 1795339453, 974000000, "hello", "trace_id", "abc");
    pb_put_varint(&pb, 3, 12345); /* hash: ignored */
    pb_put_bytes(&pb, 1, "{level=\"info\",app=\"wtest\",extra=\"x\"}", 36); /* labels after entries */
    put_entry(&pb, 1795339453, 974000001, "", NULL, NULL);
    pb_end(&pb, s);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(proto(&pb, b, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 1);
    assert_string_equal(t_series(b, 0), "{app=\"wtest\", extra=\"x\", level=\"info\", service_name=\"wtest\"}");
    assert_int_equal(b->n_entries, 2);
    assert_int_equal(b->entries[0].t_ns, 1795339453974000000LL);
    assert_string_equal(line_of(b, 0), "hello");
    assert_string_equal(t_meta(b, &b->entries[0]), "{trace_id=\"abc\"}");
    assert_int_equal(b->entries[1].t_ns, 1795339453974000001LL);
    assert_int_equal(b->entries[1].line_len, 0);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_lpush_proto_errors(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    ingest_opts o;
    t_opts(&o);
    buf pb;
    buf_init(&pb);
    /* streams as a varint */
    pb_put_varint(&pb, 1, 7);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "Loki push: malformed protobuf PushRequest.streams (wrong wire type)");
    /* labels as a varint */
    pb.len = 0;
    size_t s = pb_begin(&pb, 1);
    pb_put_varint(&pb, 1, 7);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "Loki push: stream 0: malformed protobuf StreamAdapter.labels (wrong wire type)");
    /* timestamp seconds as fixed64 */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 1, "{a=\"b\"}", 7);
    size_t en = pb_begin(&pb, 2);
    size_t t = pb_begin(&pb, 1);
    pb_put_fixed64(&pb, 1, 5);
    pb_end(&pb, t);
    pb_end(&pb, en);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "Loki push: stream 0: malformed protobuf Timestamp (wrong wire type)");
    /* no labels */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    put_entry(&pb, 1795339453, 0, "x", NULL, NULL);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "Loki push: stream 0: no labels");
    /* bad label string */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 1, "{a=b}", 5);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "Loki push: stream 0: labels {a=b}: 1:4: expected a quoted label value");
    /* timestamp out of range */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 1, "{a=\"b\"}", 7);
    put_entry(&pb, INT64_MAX / 10, 0, "x", NULL, NULL);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "stream 0 {a=\"b\", service_name=\"unknown_service\"}, entry 0: timestamp of "
                               "922337203685477580 seconds is out of range");
    /* invalid UTF-8 in a label value (via \x escape) */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 1, "{a=\"\\xff\"}", 10);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len, &o, b, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "invalid UTF-8 in the value of label \"a\"");
    /* truncated */
    pb.len = 0;
    s = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 1, "{a=\"b\"}", 7);
    pb_end(&pb, s);
    assert_int_equal(lpush_decode_pb(pb.p, pb.len - 1, &o, b, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "Loki push: malformed protobuf PushRequest");
    /* truncated snappy */
    size_t n;
    uint8_t *z = t_snappy(pb.p, pb.len, &n);
    assert_int_equal(lpush_decode_proto(z, n - 2, &o, b, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "Loki push: snappy: corrupt or truncated block");
    free(z);
    assert_int_equal(cairn_batch_size(b), 0);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_lpush_oom(void **state)
{
    (void)state;
    const char *body = "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"" TS "\",\"x\\n\",{\"k\":\"v\"}]]}]}";
    ingest_opts o;
    t_opts(&o);
    int rc = -1;
    for (int64_t k = 0; rc != CAIRN_OK && k < 1000; k++) {
        cairn_batch *b = cairn_batch_new();
        cairn_err e;
        mem_fail_after(k);
        rc = b ? lpush_decode_json((const uint8_t *)body, strlen(body), &o, b, &e) : CAIRN_ENOMEM;
        mem_fail_after(-1);
        if (rc) assert_int_equal(rc, CAIRN_ENOMEM);
        else assert_int_equal(b->n_entries, 1);
        cairn_batch_free(b);
    }
    assert_int_equal(rc, CAIRN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lpush_json_basic),
        cmocka_unit_test(test_lpush_json_errors),
        cmocka_unit_test(test_lpush_reserved_and_nul),
        cmocka_unit_test(test_lpush_huge_windows_do_not_overflow),
        cmocka_unit_test(test_lpush_json_empty_labels),
        cmocka_unit_test(test_lpush_json_limits),
        cmocka_unit_test(test_lpush_parse_labels),
        cmocka_unit_test(test_lpush_proto_basic),
        cmocka_unit_test(test_lpush_proto_errors),
        cmocka_unit_test(test_lpush_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
