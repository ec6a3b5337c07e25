/*
 * Tests for rw_decode / rw_decode_pb: protobuf fixtures built by hand with the
 * pb writer (field numbers of api-contract C.1), snappy via libsnappy.
 */
#include "t_ingest.h"

/* One Label message into `b` as field 1 of a TimeSeries. */
static void put_label(buf *b, const char *n, const char *v)
{
    size_t m = pb_begin(b, 1);
    pb_put_bytes(b, 1, n, strlen(n));
    pb_put_bytes(b, 2, v, strlen(v));
    pb_end(b, m);
}

static void put_sample(buf *b, double v, int64_t t)
{
    size_t m = pb_begin(b, 2);
    pb_put_double(b, 1, v);
    pb_put_varint(b, 2, (uint64_t)t);
    pb_end(b, m);
}

/* A TimeSeries with labels given as "n1","v1","n2","v2",NULL and samples. */
static void put_series(buf *b, const char *const *kv, const double *v, const int64_t *t, size_t n)
{
    size_t m = pb_begin(b, 1);
    for (size_t i = 0; kv[i]; i += 2) put_label(b, kv[i], kv[i + 1]);
    for (size_t i = 0; i < n; i++) put_sample(b, v[i], t[i]);
    pb_end(b, m);
}

static int decode(buf *pb, cairn_batch *b, ingest_meta_list *meta, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    size_t n;
    uint8_t *z = t_snappy(pb->p, pb->len, &n);
    int rc = rw_decode(z, n, &o, b, meta, e);
    free(z);
    return rc;
}

static void test_rw_decode_unsorted_series(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *a[] = {"instance", "h:1", "__name__", "up", "zone", "z", "app", "x", NULL};
    double stale = t_double(0x7ff0000000000002ULL);
    double v[] = {1, 0, stale};
    int64_t t[] = {1000, 2000, 3000};
    put_series(&pb, a, v, t, 3);
    const char *c[] = {"__name__", "cpu", "mode", "idle", NULL};
    double v2[] = {-0.0};
    int64_t t2[] = {-5};
    put_series(&pb, c, v2, t2, 1);
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    assert_int_equal(decode(&pb, b, &meta, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 2);
    assert_int_equal(b->n_samples, 4);
    const char *s1 = "{__name__=\"up\", app=\"x\", instance=\"h:1\", zone=\"z\"}";
    assert_int_equal(t_sample(b, s1, 0)->t_ms, 1000);
    assert_bits_equal(t_sample(b, s1, 2)->v, stale);
    assert_int_equal(t_sample(b, s1, 2)->t_ms, 3000);
    const char *s2 = "{__name__=\"cpu\", mode=\"idle\"}";
    assert_bits_equal(t_sample(b, s2, 0)->v, -0.0);
    assert_int_equal(t_sample(b, s2, 0)->t_ms, -5);
    assert_int_equal(meta.n, 0);
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_rw_decode_metadata_only(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    size_t m = pb_begin(&pb, 3);
    pb_put_varint(&pb, 1, 1);
    pb_put_bytes(&pb, 2, "http_requests_total", 19);
    pb_put_bytes(&pb, 4, "Requests.", 9);
    pb_end(&pb, m);
    m = pb_begin(&pb, 3);
    pb_put_varint(&pb, 1, 99); /* unknown type -> unknown */
    pb_put_bytes(&pb, 2, "temp", 4);
    pb_put_bytes(&pb, 5, "celsius", 7);
    pb_end(&pb, m);
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    assert_int_equal(decode(&pb, b, &meta, &e), CAIRN_OK);
    assert_int_equal(cairn_batch_size(b), 0);
    assert_int_equal(meta.n, 2);
    long i = ingest_meta_find(&meta, "http_requests_total", 19);
    assert_true(i >= 0);
    assert_int_equal(meta.v[i].type, INGEST_TYPE_COUNTER);
    assert_string_equal(meta.v[i].help, "Requests.");
    i = ingest_meta_find(&meta, "temp", 4);
    assert_int_equal(meta.v[i].type, INGEST_TYPE_UNKNOWN);
    assert_string_equal(meta.v[i].unit, "celsius");
    assert_string_equal(ingest_type_name(meta.v[i].type), "unknown");
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void check_bad_series(const char *const *kv, int code, const char *msg)
{
    buf pb;
    buf_init(&pb);
    const char *ok[] = {"__name__", "fine", NULL};
    double v[] = {1};
    int64_t t[] = {1};
    put_series(&pb, ok, v, t, 1);
    put_series(&pb, kv, v, t, 1);
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    ingest_meta_set(&meta, "old", 3, 1, NULL, 0, NULL, 0);
    cairn_err e;
    assert_int_equal(decode(&pb, b, &meta, &e), code);
    assert_msg_contains(e, msg);
    /* nothing partial: the first, valid series is gone too */
    assert_int_equal(b->n_series, 0);
    assert_int_equal(cairn_batch_size(b), 0);
    assert_int_equal(meta.n, 0);
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_rw_decode_duplicate_label(void **state)
{
    (void)state;
    const char *kv[] = {"__name__", "up", "job", "a", "job", "b", NULL};
    check_bad_series(kv, CAIRN_EINVAL, "timeseries 1: series {__name__=\"up\", job=\"a\", job=\"b\"}: duplicate label name \"job\"");
}

static void test_rw_decode_invalid_label_name(void **state)
{
    (void)state;
    const char *kv[] = {"__name__", "up", "1job", "a", NULL};
    check_bad_series(kv, CAIRN_EINVAL, "invalid label name \"1job\"");
    const char *kv2[] = {"__name__", "up", "a-b", "a", NULL};
    check_bad_series(kv2, CAIRN_EINVAL, "invalid label name \"a-b\"");
}

static void test_rw_decode_invalid_utf8(void **state)
{
    (void)state;
    const char *kv[] = {"__name__", "up", "job", "a\xff", NULL};
    check_bad_series(kv, CAIRN_EINVAL, "invalid UTF-8 in the value of label \"job\"");
    const char *kv2[] = {"__name__", "up", "job", "\xed\xa0\x80", NULL}; /* a UTF-16 surrogate */
    check_bad_series(kv2, CAIRN_EINVAL, "invalid UTF-8");
}

static void test_rw_decode_empty_label_set(void **state)
{
    (void)state;
    const char *kv[] = {"job", "", "__meta_x", "y", NULL};
    check_bad_series(kv, CAIRN_EINVAL, "timeseries 1: empty label set");
}

static void test_rw_decode_reserved_and_empty_dropped(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *kv[] = {"__name__", "up", "__address__", "h:9100", "empty", "", "job", "j", NULL};
    double v[] = {1};
    int64_t t[] = {1};
    put_series(&pb, kv, v, t, 1);
    /* a series with only native histograms is not added */
    size_t m = pb_begin(&pb, 1);
    put_label(&pb, "__name__", "hist");
    pb_put_bytes(&pb, 4, "\x08\x01", 2);
    pb_put_bytes(&pb, 3, "\x10\x01", 2);
    pb_end(&pb, m);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(decode(&pb, b, NULL, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 1);
    assert_string_equal(t_series(b, 0), "{__name__=\"up\", job=\"j\"}");
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_rw_decode_truncated_snappy(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *kv[] = {"__name__", "up", NULL};
    double v[] = {1, 2, 3, 4};
    int64_t t[] = {1, 2, 3, 4};
    put_series(&pb, kv, v, t, 4);
    size_t n;
    uint8_t *z = t_snappy(pb.p, pb.len, &n);
    ingest_opts o;
    t_opts(&o);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(rw_decode(z, n - 3, &o, b, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "remote_write: snappy: corrupt or truncated block");
    assert_int_equal(rw_decode(z, 0, &o, b, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "remote_write: snappy: bad length header");
    /* a declared length over the limit is refused before allocating */
    uint8_t bomb[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x00};
    assert_int_equal(rw_decode(bomb, sizeof bomb, &o, b, NULL, &e), CAIRN_ELIMIT);
    assert_string_equal(e.msg, "remote_write: snappy: decompressed body of 4294967295 bytes exceeds 67108864 bytes");
    o.max_body_bytes = 10;
    assert_int_equal(rw_decode(z, n, &o, b, NULL, &e), CAIRN_ELIMIT);
    free(z);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_rw_decode_wrong_wire_type(void **state)
{
    (void)state;
    ingest_opts o;
    t_opts(&o);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    /* WriteRequest.timeseries (1) sent as a varint */
    uint8_t w1[] = {0x08, 0x01};
    assert_int_equal(rw_decode_pb(w1, sizeof w1, &o, b, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "remote_write: malformed protobuf WriteRequest (2 bytes)");
    /* Sample.value (1) as a varint inside a valid series */
    buf pb;
    buf_init(&pb);
    size_t m = pb_begin(&pb, 1);
    put_label(&pb, "__name__", "x");
    size_t s = pb_begin(&pb, 2);
    pb_put_varint(&pb, 1, 5);
    pb_end(&pb, s);
    pb_end(&pb, m);
    assert_int_equal(rw_decode_pb(pb.p, pb.len, &o, b, NULL, &e), CAIRN_ECORRUPT);
    /* a length running past the end */
    uint8_t w2[] = {0x0a, 0x10, 0x0a};
    assert_int_equal(rw_decode_pb(w2, sizeof w2, &o, b, NULL, &e), CAIRN_ECORRUPT);
    assert_int_equal(cairn_batch_size(b), 0);
    cairn_batch_free(b);
    buf_free(&pb);
}

static void test_rw_decode_oom(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *kv[] = {"__name__", "up", "job", "x", NULL};
    double v[] = {1, 2};
    int64_t t[] = {1, 2};
    put_series(&pb, kv, v, t, 2);
    size_t m = pb_begin(&pb, 3);
    pb_put_bytes(&pb, 2, "up", 2);
    pb_end(&pb, m);
    size_t n;
    uint8_t *z = t_snappy(pb.p, pb.len, &n);
    ingest_opts o;
    t_opts(&o);
    int rc = -1;
    for (int64_t k = 0; rc != CAIRN_OK && k < 1000; k++) {
        cairn_batch *b = cairn_batch_new();
        ingest_meta_list meta;
        ingest_meta_init(&meta);
        cairn_err e;
        if (!b) continue;
        mem_fail_after(k);
        rc = rw_decode(z, n, &o, b, &meta, &e);
        mem_fail_after(-1);
        if (rc) {
            assert_int_equal(rc, CAIRN_ENOMEM);
            assert_int_equal(cairn_batch_size(b), 0);
        } else {
            assert_int_equal(b->n_samples, 2);
            assert_int_equal(meta.n, 1);
        }
        ingest_meta_free(&meta);
        cairn_batch_free(b);
    }
    assert_int_equal(rc, CAIRN_OK);
    free(z);
    buf_free(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rw_decode_unsorted_series),
        cmocka_unit_test(test_rw_decode_metadata_only),
        cmocka_unit_test(test_rw_decode_duplicate_label),
        cmocka_unit_test(test_rw_decode_invalid_label_name),
        cmocka_unit_test(test_rw_decode_invalid_utf8),
        cmocka_unit_test(test_rw_decode_empty_label_set),
        cmocka_unit_test(test_rw_decode_reserved_and_empty_dropped),
        cmocka_unit_test(test_rw_decode_truncated_snappy),
        cmocka_unit_test(test_rw_decode_wrong_wire_type),
        cmocka_unit_test(test_rw_decode_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
