/*
 * Tests for rw_decode / rw_decode_pb: protobuf fixtures built by hand with the
 * pb writer (field numbers of api-contract C.1), snappy via libsnappy.
 *
 * The hand-written decoder (remote_write.c) is checked against the protobuf-c
 * one (rw_decode_pb_ref, remote_write_ref.c) on every fixture: decode() runs
 * both and requires the same code, the same message for label errors, and
 * the same batch and metadata on success. Fixtures cover both of the fast
 * decoder's paths: the in-place one for sets sent in canonical order, and
 * the general one (unsorted, reserved or empty labels, errors).
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

/* The two batches and metadata lists hold the same things, bit for bit. */
static void assert_same(const cairn_batch *a, const ingest_meta_list *ma, const cairn_batch *b,
                        const ingest_meta_list *mb)
{
    assert_int_equal(a->n_series, b->n_series);
    for (size_t i = 0; i < a->n_series; i++) {
        assert_int_equal(a->series[i].kind, b->series[i].kind);
        assert_int_equal(a->series[i].canon_len, b->series[i].canon_len);
        assert_memory_equal(batch_canon(a, &a->series[i]), batch_canon(b, &b->series[i]), a->series[i].canon_len);
        assert_int_equal(a->series[i].hash, b->series[i].hash);
    }
    assert_int_equal(a->n_samples, b->n_samples);
    for (size_t i = 0; i < a->n_samples; i++) {
        assert_int_equal(a->samples[i].ref, b->samples[i].ref);
        assert_int_equal(a->samples[i].t_ms, b->samples[i].t_ms);
        assert_bits_equal(a->samples[i].v, b->samples[i].v);
    }
    assert_int_equal(a->n_entries, 0);
    assert_int_equal(b->n_entries, 0);
    if (!ma || !mb) return;
    assert_int_equal(ma->n, mb->n);
    for (size_t i = 0; i < ma->n; i++) {
        const ingest_meta *x = &ma->v[i], *y = &mb->v[i];
        assert_int_equal(x->name_len, y->name_len);
        assert_memory_equal(x->name, y->name, x->name_len);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->help_len, y->help_len);
        assert_memory_equal(x->help, y->help, x->help_len);
        assert_int_equal(x->unit_len, y->unit_len);
        assert_memory_equal(x->unit, y->unit, x->unit_len);
    }
}

/* Decode a raw message with the fast decoder into b/meta and with the
 * reference into fresh ones; both must agree. Returns the code. */
static int decode_pb_o(const uint8_t *p, size_t n, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
                       cairn_err *e)
{
    cairn_batch *rb = cairn_batch_new();
    ingest_meta_list rm;
    ingest_meta_init(&rm);
    cairn_err re;
    memset(&re, 0, sizeof re);
    int rrc = rw_decode_pb_ref(p, n, o, rb, meta ? &rm : NULL, &re);
    int rc = rw_decode_pb(p, n, o, b, meta, e);
    if (rc != rrc) fail_msg("fast decoder: %d (%s), reference: %d (%s)", rc, e->msg, rrc, re.msg);
    if (rc == CAIRN_OK) assert_same(b, meta, rb, meta ? &rm : NULL);
    else if (rc != CAIRN_ECORRUPT) assert_string_equal(e->msg, re.msg);
    ingest_meta_free(&rm);
    cairn_batch_free(rb);
    return rc;
}

static int decode_pb(const buf *pb, cairn_batch *b, ingest_meta_list *meta, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    return decode_pb_o(pb->p, pb->len, &o, b, meta, e);
}

/* The snappy path, plus the same message through both decoders. */
static int decode(buf *pb, cairn_batch *b, ingest_meta_list *meta, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    cairn_batch *b2 = cairn_batch_new();
    ingest_meta_list m2;
    ingest_meta_init(&m2);
    cairn_err e2;
    int rc2 = decode_pb(pb, b2, meta ? &m2 : NULL, &e2);
    size_t n;
    uint8_t *z = t_snappy(pb->p, pb->len, &n);
    int rc = rw_decode(z, n, &o, b, meta, e);
    free(z);
    assert_int_equal(rc, rc2);
    if (rc == CAIRN_OK) assert_same(b, meta, b2, meta ? &m2 : NULL);
    else assert_string_equal(e->msg, e2.msg);
    ingest_meta_free(&m2);
    cairn_batch_free(b2);
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
    const char *kv[] = {"job", "", "other", "", NULL};
    check_bad_series(kv, CAIRN_EINVAL, "timeseries 1: empty label set");
}

/* Regression (issue 10): reserved labels were dropped silently, so two series
 * differing only in one (__foo="a" and __foo="b") became one and the second
 * sample collided as a duplicate at commit. Now the request is refused with
 * the label named, in the fast path (sorted labels) and the general one. */
static void test_rw_decode_reserved_refused(void **state)
{
    (void)state;
    const char *kv[] = {"__name__", "up", "__address__", "h:9100", "job", "j", NULL};
    check_bad_series(kv, CAIRN_EINVAL,
                     "timeseries 1: series {__name__=\"up\", __address__=\"h:9100\", job=\"j\"}: label name "
                     "\"__address__\" is reserved (names starting with __ other than __name__)");
    const char *unsorted[] = {"job", "j", "__foo", "x", "__name__", "up", NULL};
    check_bad_series(unsorted, CAIRN_EINVAL, "label name \"__foo\" is reserved");
    const char *empty[] = {"__name__", "up", "__foo", "", NULL}; /* reserved even when empty */
    check_bad_series(empty, CAIRN_EINVAL, "label name \"__foo\" is reserved");
    const char *bare[] = {"__", "x", NULL};
    check_bad_series(bare, CAIRN_EINVAL, "label name \"__\" is reserved");
}

/* Regression (issue 10): a NUL byte in a value or in the metric name was
 * stored (ASCII, so the fast path copied it). Refused, with the offset. */
static void test_rw_decode_nul_refused(void **state)
{
    (void)state;
    buf pb; /* put_label takes C strings: the labels are built by hand */
    buf_init(&pb);
    for (int where = 0; where < 4; where++) {
        buf_reset(&pb);
        size_t m = pb_begin(&pb, 1);
        size_t l1 = pb_begin(&pb, 1);
        pb_put_bytes(&pb, 1, "__name__", 8);
        pb_put_bytes(&pb, 2, where == 0 ? "u\0p" : "up", where == 0 ? 3 : 2);
        pb_end(&pb, l1);
        size_t l2 = pb_begin(&pb, 1);
        pb_put_bytes(&pb, 1, "job", 3);
        /* a NUL in the second word of a long value: the word-at-a-time scan */
        if (where == 3) pb_put_bytes(&pb, 2, "a\0bbbbbbbbbbb", 13); /* in the first full word */
        else pb_put_bytes(&pb, 2, where == 1 ? "a\0b" : "aaaaaaaaaa\0", where == 1 ? 3 : 11);
        pb_end(&pb, l2);
        put_sample(&pb, 1.0, 1);
        pb_end(&pb, m);
        cairn_batch *b = cairn_batch_new();
        cairn_err e;
        assert_int_equal(decode(&pb, b, NULL, &e), CAIRN_EINVAL);
        if (where == 0) assert_msg_contains(e, "NUL byte in the metric name (__name__) at offset 1");
        else if (where == 1 || where == 3) assert_msg_contains(e, "NUL byte in the value of label \"job\" at offset 1");
        else assert_msg_contains(e, "NUL byte in the value of label \"job\" at offset 10");
        assert_msg_contains(e, "\\x00");
        assert_int_equal(cairn_batch_size(b), 0);
        cairn_batch_free(b);
    }
    buf_free(&pb);
}

static void test_rw_decode_empty_dropped(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *kv[] = {"__name__", "up", "empty", "", "job", "j", NULL};
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
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    /* WriteRequest.timeseries (1) sent as a varint */
    buf w;
    buf_init(&w);
    buf_put(&w, "\x08\x01", 2);
    assert_int_equal(decode_pb(&w, b, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "remote_write: malformed protobuf WriteRequest (2 bytes): WriteRequest field is not "
                               "length-delimited at byte 0");
    /* Sample.value (1) as a varint inside a valid series */
    buf pb;
    buf_init(&pb);
    size_t m = pb_begin(&pb, 1);
    put_label(&pb, "__name__", "x");
    size_t s = pb_begin(&pb, 2);
    pb_put_varint(&pb, 1, 5);
    pb_end(&pb, s);
    pb_end(&pb, m);
    assert_int_equal(decode_pb(&pb, b, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "remote_write: malformed protobuf WriteRequest (33 bytes): bad Sample value at byte 31");
    /* a length running past the end */
    buf_reset(&w);
    buf_put(&w, "\x0a\x10\x0a", 3);
    assert_int_equal(decode_pb(&w, b, NULL, &e), CAIRN_ECORRUPT);
    assert_msg_contains(e, "truncated WriteRequest field at byte 0");
    /* exemplars (3) and histograms (4) must be length-delimited too; Label.name as a varint */
    static const char *const bad[] = {"\x0a\x02\x18\x01", "\x0a\x02\x20\x01", "\x0a\x04\x0a\x02\x08\x01",
                                      "\x1a\x02\x08\x80", "\x1a\x02\x12\x05", "\x0a\x02\x10\x01"};
    static const size_t bad_n[] = {4, 4, 6, 4, 4, 4};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        buf_reset(&w);
        buf_put(&w, bad[i], bad_n[i]);
        assert_int_equal(decode_pb(&w, b, NULL, &e), CAIRN_ECORRUPT);
    }
    assert_int_equal(cairn_batch_size(b), 0);
    cairn_batch_free(b);
    buf_free(&pb);
    buf_free(&w);
}

/* The key, varint and length rules of protobuf-c 1.4.1, which the fast decoder follows. */
static void test_rw_decode_wire_edges(void **state)
{
    (void)state;
    static const struct {
        const char *p;
        size_t n;
        int rc;
    } cases[] = {
        {"\x00\x01", 2, CAIRN_ECORRUPT},                         /* field 0 */
        {"\x80\x00\x01", 3, CAIRN_OK},                           /* field 0 in two bytes: an unknown varint */
        {"\x0a\x0a\x81\x00\x01\x02\x03\x04\x05\x06\x07\x08", 12, CAIRN_OK}, /* the same in a TimeSeries */
        {"\x90\x80\x80\x80\x00\x01", 6, CAIRN_OK},                /* a 5-byte key of field 2 */
        {"\x90\x80\x80\x80\x80\x00\x01", 7, CAIRN_ECORRUPT},     /* a 6-byte key */
        {"\xfa\xff\xff\xff\x0f\x00", 6, CAIRN_OK},                /* field 2^32-1 (past 2^29): unknown */
        {"\x0a\x80\x80\x80\x80\x00", 6, CAIRN_OK},               /* a 5-byte length of 0 */
        {"\x0a\x80\x80\x80\x80\x80\x00", 7, CAIRN_ECORRUPT},     /* a 6-byte length */
        {"\x0a\x80\x00", 3, CAIRN_OK},                           /* a 2-byte length of 0 */
        {"\x0a\x00\x0a\x00", 4, CAIRN_OK},                       /* two empty series: skipped */
        {"\x12\x01\x00", 3, CAIRN_OK},                           /* reserved field 2 */
        {"\x2b\x2c", 2, CAIRN_ECORRUPT},                         /* a group */
        {"\x0e", 1, CAIRN_ECORRUPT},                              /* wire type 6 */
        {"\x0f", 1, CAIRN_ECORRUPT},                              /* wire type 7 */
        {"\x1a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13, CAIRN_OK},      /* type -1 */
        {"\x1a\x0c\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 14, CAIRN_ECORRUPT}, /* 11-byte varint */
        {"\x25\x01\x02\x03\x04\x29\x01\x02\x03\x04\x05\x06\x07\x08", 14, CAIRN_OK}, /* unknown fixed32, fixed64 */
        {"\x25\x01\x02\x03", 4, CAIRN_ECORRUPT},                   /* truncated fixed32 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf w;
        buf_init(&w);
        buf_put(&w, cases[i].p, cases[i].n);
        cairn_batch *b = cairn_batch_new();
        ingest_meta_list meta;
        ingest_meta_init(&meta);
        cairn_err e;
        int rc = decode_pb(&w, b, &meta, &e);
        if (rc != cases[i].rc) fail_msg("case %zu: %d, want %d (%s)", i, rc, cases[i].rc, e.msg);
        ingest_meta_free(&meta);
        cairn_batch_free(b);
        buf_free(&w);
    }
}

/* proto3: any field order, the last occurrence of a scalar wins, unknown fields skipped. */
static void test_rw_decode_field_order_and_last_wins(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    pb_put_varint(&pb, 7, 99);                 /* unknown field before everything */
    size_t m = pb_begin(&pb, 1);
    put_sample(&pb, 1.5, 1000);                /* samples before the labels */
    pb_put_bytes(&pb, 3, "\x10\x01", 2);       /* an exemplar between them */
    size_t l = pb_begin(&pb, 1);
    pb_put_bytes(&pb, 2, "wrong", 5);
    pb_put_bytes(&pb, 1, "job", 3);
    pb_put_fixed64(&pb, 9, 7);                 /* unknown fixed64 inside a Label */
    pb_put_bytes(&pb, 2, "api", 3);            /* the value that counts */
    pb_end(&pb, l);
    size_t s = pb_begin(&pb, 2);
    pb_put_varint(&pb, 2, 5);
    pb_put_double(&pb, 1, 9.0);
    pb_put_varint(&pb, 2, 2000);               /* last timestamp wins */
    pb_put_bytes(&pb, 15, "x", 1);
    pb_end(&pb, s);
    put_label(&pb, "__name__", "up");          /* __name__ last on the wire */
    pb_end(&pb, m);
    m = pb_begin(&pb, 3);                      /* metadata between series */
    pb_put_bytes(&pb, 2, "up", 2);
    pb_put_varint(&pb, 1, 2);
    pb_put_varint(&pb, 1, 1);
    pb_put_bytes(&pb, 4, "old", 3);
    pb_put_bytes(&pb, 4, "Up.", 3);
    pb_end(&pb, m);
    const char *kv[] = {"__name__", "up", "job", "api", NULL};
    double v[] = {3};
    int64_t t[] = {3000};
    put_series(&pb, kv, v, t, 1);              /* the same set again, in canonical order */
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    assert_int_equal(decode(&pb, b, &meta, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 1);
    assert_int_equal(b->n_samples, 3);
    const char *s1 = "{__name__=\"up\", job=\"api\"}";
    assert_int_equal(t_sample(b, s1, 0)->t_ms, 1000);
    assert_int_equal(t_sample(b, s1, 1)->t_ms, 2000);
    assert_bits_equal(t_sample(b, s1, 1)->v, 9.0);
    assert_int_equal(t_sample(b, s1, 2)->t_ms, 3000);
    assert_int_equal(meta.n, 1);
    assert_int_equal(meta.v[0].type, INGEST_TYPE_COUNTER);
    assert_string_equal(meta.v[0].help, "Up.");
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    buf_free(&pb);
}

/* Sets that leave the in-place path (unicode, uppercase names, many labels, limits) give the same batch. */
static void test_rw_decode_fast_and_general_paths_agree(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    double v[] = {1};
    int64_t t[] = {1};
    const char *a[] = {"__name__", "m", "job", "caf\xc3\xa9 \xe2\x82\xac", NULL};     /* UTF-8 value: in place */
    const char *c[] = {"Zone", "a", "__name__", "m", "job", "x", NULL};                 /* Zone < __name__ byte-wise */
    const char *d[] = {"__name__", "m", "b", "1", "a", "2", NULL};                      /* unsorted */
    const char *f[] = {"__name__", "m", "a", "", "b", "2", NULL};                       /* an empty value */
    const char *g[] = {"a", "1", "b", "2", NULL};                                       /* no __name__ */
    put_series(&pb, a, v, t, 1);
    put_series(&pb, c, v, t, 1);
    put_series(&pb, d, v, t, 1);
    put_series(&pb, f, v, t, 1);
    put_series(&pb, g, v, t, 1);
    /* 64 labels (the default limit) in order, with long names and values */
    char names[64][200], vals[64][300];
    const char *big[130];
    size_t k = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof names[i], "n%03d_%0150d", i, i);
        snprintf(vals[i], sizeof vals[i], "v%0250d", i);
        big[k++] = names[i], big[k++] = vals[i];
    }
    big[k] = NULL;
    put_series(&pb, big, v, t, 1);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(decode(&pb, b, NULL, &e), CAIRN_OK);
    assert_int_equal(b->n_series, 6);
    t_assert_series(b, "{__name__=\"m\", job=\"caf\xc3\xa9 \xe2\x82\xac\"}");
    t_assert_series(b, "{__name__=\"m\", Zone=\"a\", job=\"x\"}");
    t_assert_series(b, "{__name__=\"m\", a=\"2\", b=\"1\"}");
    t_assert_series(b, "{__name__=\"m\", b=\"2\"}");
    t_assert_series(b, "{a=\"1\", b=\"2\"}");
    /* one label more than the limit: the general path's message */
    buf_reset(&pb);
    const char *more[132];
    memcpy(more, big, 128 * sizeof *more);
    more[128] = "zz", more[129] = "1", more[130] = NULL;
    put_series(&pb, more, v, t, 1);
    assert_int_equal(decode(&pb, b, NULL, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "has 65 labels, more than the limit of 64");
    /* a value over max_value_bytes, sent in order */
    ingest_opts o;
    t_opts(&o);
    o.max_value_bytes = 100;
    buf_reset(&pb);
    put_series(&pb, big, v, t, 1);
    assert_int_equal(decode_pb_o(pb.p, pb.len, &o, b, NULL, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "label value longer than the limit of label \"n000_");
    cairn_batch_free(b);
    buf_free(&pb);
}

/* A wire error after a bad label set wins, as protobuf-c parses everything first. */
static void test_rw_decode_wire_error_wins(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    const char *bad[] = {"__name__", "up", "1job", "a", NULL};
    double v[] = {1};
    int64_t t[] = {1};
    put_series(&pb, bad, v, t, 1);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(decode(&pb, b, NULL, &e), CAIRN_EINVAL);
    buf_put(&pb, "\x1a\x05\x08", 3); /* metadata whose length runs past the end */
    assert_int_equal(decode_pb(&pb, b, NULL, &e), CAIRN_ECORRUPT);
    assert_msg_contains(e, "truncated WriteRequest field");
    cairn_batch_free(b);
    buf_free(&pb);
}

/* A pooled batch: reset and reused across requests; the scratch buffer stays. */
static void test_rw_decode_reuses_batch(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    double v[] = {1};
    int64_t t[] = {1};
    char val[16];
    for (int i = 0; i < 300; i++) {
        snprintf(val, sizeof val, "%d", i);
        const char *kv[] = {"__name__", "x", "i", val, NULL};
        put_series(&pb, kv, v, t, 1);
    }
    ingest_opts o;
    t_opts(&o);
    size_t n;
    uint8_t *z = t_snappy(pb.p, pb.len, &n);
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    for (int r = 0; r < 3; r++) {
        cairn_batch_reset(b);
        assert_int_equal(rw_decode(z, n, &o, b, NULL, &e), CAIRN_OK);
        assert_int_equal(b->n_series, 300);
        assert_int_equal(b->n_samples, 300);
        assert_true(b->scratch.cap >= pb.len);
        assert_int_equal(b->scratch.len, 0);
        assert_string_equal(t_series(b, 299), "{__name__=\"x\", i=\"299\"}");
    }
    free(z);
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
        cmocka_unit_test(test_rw_decode_reserved_refused),
        cmocka_unit_test(test_rw_decode_nul_refused),
        cmocka_unit_test(test_rw_decode_empty_dropped),
        cmocka_unit_test(test_rw_decode_truncated_snappy),
        cmocka_unit_test(test_rw_decode_wrong_wire_type),
        cmocka_unit_test(test_rw_decode_wire_edges),
        cmocka_unit_test(test_rw_decode_field_order_and_last_wins),
        cmocka_unit_test(test_rw_decode_fast_and_general_paths_agree),
        cmocka_unit_test(test_rw_decode_wire_error_wins),
        cmocka_unit_test(test_rw_decode_reuses_batch),
        cmocka_unit_test(test_rw_decode_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
