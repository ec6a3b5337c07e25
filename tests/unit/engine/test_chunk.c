/*
 * test_chunk.c — one conformance check, check_chunk(), run on every chunk
 * class with the raw class as the oracle (the Prometheus chunk_test.go
 * shape): realistic series (counters, 2-decimal gauges, constants, jittered
 * scrapes), adversarial ones (every special float, NaN payloads, the stale
 * marker, wrap-around and bucket-boundary timestamps, random bit patterns),
 * 1 to 10,000 samples. Values are compared as uint64 bits. Each check also
 * decodes prefixes copied mid-append, reopens the appender with
 * chunk_w_load partway and must reproduce the same bytes, seeks at both
 * ends, and shrinks. Failure paths: order (EINVAL), a full chunk (ELIMIT),
 * the OOM loop (chunk unchanged on ENOMEM, no leak), truncated and mutated
 * byte strings (never a crash; ECORRUPT or a clean end), chunk_verify's
 * messages, and the golden bytes of docs/format/gorilla.md.
 */
#include "support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "chunk.h"
#include "err.h"
#include "mem.h"

static const int classes[] = {CHUNK_RAW, CHUNK_GOR};

static const uint64_t specials[] = {
    0x7ff0000000000002ULL, /* stale marker */
    0x7ff8000000000001ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL,
    0x7ff4000000000000ULL, 0xffffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
    0x8000000000000000ULL, 0, 1, 0x000fffffffffffffULL, 0x8000000000000001ULL, 0x0010000000000000ULL,
    0x7fefffffffffffffULL, 0x3ff0000000000000ULL, 0x4059000000000000ULL};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

typedef struct series {
    int n;
    int64_t *t;
    uint64_t *v;
} series;

static series ser_new(int n)
{
    series s = {n, calloc((size_t)n + 1, 8), calloc((size_t)n + 1, 8)};
    assert_non_null(s.t);
    assert_non_null(s.v);
    return s;
}

static void ser_free(series *s)
{
    free(s->t);
    free(s->v);
}

static uint64_t dbits(double d) { return t_bits(d); }

/* ---- the conformance check -------------------------------------------------------- */

static void expect_samples(const uint8_t *p, size_t len, const series *s, int n)
{
    chunk_it it;
    assert_int_equal(chunk_it_init(&it, p, len), CAIRN_OK);
    assert_int_equal(chunk_count(p, len), n);
    for (int i = 0; i < n; i++) {
        int64_t t;
        double v;
        int rc = chunk_it_next(&it, &t, &v);
        if (rc != 1) fail_msg("sample %d of %d: rc %d (seed %llu)", i, n, rc, (unsigned long long)t_seed());
        assert_int_equal(t, s->t[i]);
        assert_int_equal(t_bits(v), s->v[i]);
    }
    int64_t t;
    double v;
    assert_int_equal(chunk_it_next(&it, &t, &v), 0);
    assert_int_equal(chunk_it_next(&it, &t, &v), 0);
}

/* The batch iterator in random batch sizes gives the same samples. */
static void expect_samples_n(const uint8_t *p, size_t len, const series *s, int n)
{
    chunk_it it;
    assert_int_equal(chunk_it_init(&it, p, len), CAIRN_OK);
    int64_t tb[70];
    double vb[70];
    int i = 0, got;
    while ((got = chunk_it_next_n(&it, tb, vb, 1 + t_randn(70))) > 0) {
        for (int k = 0; k < got; k++, i++) {
            assert_true(i < n);
            assert_int_equal(tb[k], s->t[i]);
            assert_int_equal(t_bits(vb[k]), s->v[i]);
        }
    }
    assert_int_equal(got, 0);
    assert_int_equal(i, n);
    assert_int_equal(chunk_it_next_n(&it, tb, vb, 70), 0);
    assert_int_equal(chunk_it_next_n(&it, tb, vb, 0), 0);
}

static void append_all(chunk_w *w, const series *s, int from, int to)
{
    for (int i = from; i < to; i++) {
        int rc = chunk_w_append(w, s->t[i], t_double(s->v[i]));
        if (rc) fail_msg("append %d: rc %d (seed %llu)", i, rc, (unsigned long long)t_seed());
        assert_int_equal(chunk_w_count(w), i + 1);
    }
}

static void check_class(int cls, const series *s)
{
    uint64_t mem0 = mem_in_use();
    int n = s->n;
    chunk_w w;
    chunk_w_init(&w, cls);
    /* prefixes copied mid-append, as a reader under the series lock would */
    int cuts[3] = {1, n / 2, n > 2 ? 1 + (int)t_randn((uint64_t)n - 1) : n};
    uint8_t *copy[3] = {0};
    size_t copy_len[3] = {0};
    int done = 0;
    for (int c = 0; c < 3; c++) {
        append_all(&w, s, done, cuts[c]);
        done = cuts[c] > done ? cuts[c] : done;
        size_t len;
        const uint8_t *p = chunk_w_bytes(&w, &len);
        copy[c] = malloc(len + 1);
        memcpy(copy[c], p, len);
        copy_len[c] = len;
        cuts[c] = (int)chunk_w_count(&w);
    }
    append_all(&w, s, done, n);
    size_t len;
    const uint8_t *p = chunk_w_bytes(&w, &len);
    expect_samples(p, len, s, n);
    expect_samples_n(p, len, s, n);
    assert_int_equal(chunk_verify(p, len, NULL), CAIRN_OK);
    for (int c = 0; c < 3; c++) {
        expect_samples(copy[c], copy_len[c], s, cuts[c]);
        expect_samples_n(copy[c], copy_len[c], s, cuts[c]);
        assert_int_equal(chunk_verify(copy[c], copy_len[c], NULL), CAIRN_OK);
    }

    /* reopen partway: the same samples give the same bytes */
    chunk_w r = {0};
    assert_int_equal(chunk_w_load(&r, copy[1], copy_len[1], NULL), CAIRN_OK);
    assert_int_equal(chunk_w_count(&r), cuts[1]);
    append_all(&r, s, cuts[1], n);
    size_t rlen;
    const uint8_t *rp = chunk_w_bytes(&r, &rlen);
    assert_int_equal(rlen, len);
    assert_memory_equal(rp, p, len);
    chunk_w_free(&r);

    /* seek at both ends and in the middle */
    chunk_it it;
    int64_t t;
    double v;
    chunk_it_init(&it, p, len);
    assert_int_equal(chunk_it_seek(&it, INT64_MIN, &t, &v), 1);
    assert_int_equal(t, s->t[0]);
    chunk_it_init(&it, p, len);
    assert_int_equal(chunk_it_seek(&it, s->t[n - 1], &t, &v), 1);
    assert_int_equal(t, s->t[n - 1]);
    assert_int_equal(t_bits(v), s->v[n - 1]);
    assert_int_equal(chunk_it_next(&it, &t, &v), 0);
    chunk_it_init(&it, p, len);
    assert_int_equal(chunk_it_seek(&it, s->t[n / 2], &t, &v), 1);
    assert_int_equal(t, s->t[n / 2]);
    if (s->t[n - 1] < INT64_MAX) {
        chunk_it_init(&it, p, len);
        assert_int_equal(chunk_it_seek(&it, s->t[n - 1] + 1, &t, &v), 0);
    }

    /* shrink to the exact size, then keep appending */
    chunk_w_shrink(&w);
    assert_int_equal(chunk_w_mem(&w), len);
    if (s->t[n - 1] < INT64_MAX && n < CHUNK_MAX_SAMPLES) {
        assert_int_equal(chunk_w_append(&w, s->t[n - 1] + 1, -0.0), CAIRN_OK);
        p = chunk_w_bytes(&w, &len);
        chunk_it_init(&it, p, len);
        assert_int_equal(chunk_it_seek(&it, s->t[n - 1] + 1, &t, &v), 1);
        assert_int_equal(t_bits(v), 0x8000000000000000ULL);
    }
    chunk_w_free(&w);
    for (int c = 0; c < 3; c++) free(copy[c]);
    assert_int_equal(mem_in_use(), mem0);
}

/* Both classes, then the Gorilla decoding against the raw one sample by sample. */
static void check_chunk(const series *s)
{
    for (size_t c = 0; c < sizeof classes / sizeof classes[0]; c++) check_class(classes[c], s);
    chunk_w raw, gor;
    chunk_w_init(&raw, CHUNK_RAW);
    chunk_w_init(&gor, CHUNK_GOR);
    append_all(&raw, s, 0, s->n);
    append_all(&gor, s, 0, s->n);
    size_t rl, gl;
    const uint8_t *rp = chunk_w_bytes(&raw, &rl), *gp = chunk_w_bytes(&gor, &gl);
    assert_int_equal(rl, 3 + 16 * (size_t)s->n);
    chunk_it ri, gi;
    chunk_it_init(&ri, rp, rl);
    chunk_it_init(&gi, gp, gl);
    for (;;) {
        int64_t rt, gt;
        double rv, gv;
        int a = chunk_it_next(&ri, &rt, &rv), b = chunk_it_next(&gi, &gt, &gv);
        assert_int_equal(a, b);
        if (a != 1) break;
        assert_int_equal(rt, gt);
        assert_bits_equal(rv, gv);
    }
    chunk_w_free(&raw);
    chunk_w_free(&gor);
}

/* ---- series generators ------------------------------------------------------------ */

#define T0 1700000000000LL

static int64_t scrape_t(int i, int jitter) { return T0 + 15000LL * i + (jitter ? (int64_t)t_randn(5) - 2 : 0); }

static series gen_int_counter(int n, int jitter)
{
    series s = ser_new(n);
    double c = (double)t_randn(1000000);
    for (int i = 0; i < n; i++) {
        s.t[i] = scrape_t(i, jitter);
        c += (double)t_randn(2000);
        s.v[i] = dbits(c);
    }
    return s;
}

static series gen_float_counter_2dec(int n, int jitter)
{
    series s = ser_new(n);
    int64_t cents = (int64_t)t_randn(100000000);
    for (int i = 0; i < n; i++) {
        s.t[i] = scrape_t(i, jitter);
        cents += (int64_t)t_randn(1500);
        s.v[i] = dbits((double)cents / 100.0);
    }
    return s;
}

static series gen_gauge_2dec(int n, int jitter)
{
    series s = ser_new(n);
    for (int i = 0; i < n; i++) {
        s.t[i] = scrape_t(i, jitter);
        s.v[i] = dbits(round(100.0 * (2.0 + sin(i / 20.0) + t_randf() * 0.3)) / 100.0);
    }
    return s;
}

static series gen_constant(int n, double c)
{
    series s = ser_new(n);
    for (int i = 0; i < n; i++) {
        s.t[i] = scrape_t(i, 0);
        s.v[i] = dbits(c);
    }
    return s;
}

/* Sorted distinct random int64 across the whole range. */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void random_times(series *s, int include_ends)
{
    for (int i = 0; i < s->n; i++) s->t[i] = (int64_t)t_rand();
    if (include_ends && s->n >= 2) {
        s->t[0] = INT64_MIN;
        s->t[1] = INT64_MAX;
    }
    qsort(s->t, (size_t)s->n, 8, cmp_i64);
    for (int i = 1; i < s->n; i++)
        if (s->t[i] <= s->t[i - 1]) s->t[i] = s->t[i - 1] + 1; /* astronomically rare */
}

static series gen_random_bits(int n)
{
    series s = ser_new(n);
    random_times(&s, 1);
    for (int i = 0; i < n; i++) s.v[i] = t_rand();
    return s;
}

static series gen_specials(int n)
{
    series s = ser_new(n);
    int64_t t = -5000;
    for (int i = 0; i < n; i++) {
        t += 1 + (int64_t)t_randn(3) * 15000;
        s.t[i] = t;
        uint64_t r = t_randn(4);
        if (r == 0)
            s.v[i] = specials[t_randn(N_SPECIALS)];
        else if (r == 1)
            s.v[i] = i ? s.v[i - 1] : 0;
        else if (r == 2)
            s.v[i] = t_rand() >> t_randn(64); /* denormals and small patterns */
        else
            s.v[i] = (i ? s.v[i - 1] : 0) ^ (1ULL << t_randn(64));
    }
    return s;
}

/* Deltas whose delta-of-delta hits each bucket edge and its neighbour. */
static series gen_bucket_edges(void)
{
    static const int64_t dods[] = {0,      1,      -1,      8192,    -8191,    8193,  -8192,    65536,
                                   -65535, 65537,  -65536,  524288,  -524287,  524289, -524288, 1LL << 40,
                                   -(1LL << 40), 0, 0, 7};
    enum { ND = sizeof dods / sizeof dods[0] };
    series s = ser_new(ND + 2);
    int64_t d = 1LL << 41;
    s.t[0] = -(1LL << 50);
    s.t[1] = s.t[0] + d;
    for (int i = 0; i < ND; i++) {
        d += dods[i];
        s.t[i + 2] = s.t[i + 1] + d;
    }
    for (int i = 0; i < s.n; i++) s.v[i] = dbits((double)i);
    return s;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_chunk_golden_bytes(void **state)
{
    (void)state;
    /* docs/format/gorilla.md, "Example (golden bytes)" */
    static const uint8_t golden[] = {0x01, 0x00, 0x04, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x3f, 0xf0, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x98, 0x75, 0x36, 0x03, 0x80, 0x03, 0xd8, 0x16};
    series s = ser_new(4);
    int64_t ts[4] = {1700000000000, 1700000015000, 1700000030000, 1700000045003};
    double vs[4] = {1.0, 1.0, 1.5, 1.25};
    for (int i = 0; i < 4; i++) {
        s.t[i] = ts[i];
        s.v[i] = dbits(vs[i]);
    }
    chunk_w w;
    chunk_w_init(&w, CHUNK_GOR);
    append_all(&w, &s, 0, 4);
    size_t len;
    const uint8_t *p = chunk_w_bytes(&w, &len);
    assert_int_equal(len, sizeof golden);
    assert_memory_equal(p, golden, sizeof golden);
    expect_samples(golden, sizeof golden, &s, 4);
    chunk_w_free(&w);
    /* the raw class: header then 16 bytes per sample, big-endian */
    chunk_w_init(&w, CHUNK_RAW);
    append_all(&w, &s, 0, 1);
    p = chunk_w_bytes(&w, &len);
    static const uint8_t raw1[] = {0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,
                                   0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(len, sizeof raw1);
    assert_memory_equal(p, raw1, sizeof raw1);
    chunk_w_free(&w);
    ser_free(&s);
}

static void test_chunk_conformance_realistic(void **state)
{
    (void)state;
    static const int sizes[] = {1, 2, 3, 4, 119, 120, 121, 1000, 10000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int n = sizes[k];
        series g[] = {gen_int_counter(n, 0),  gen_int_counter(n, 1),  gen_float_counter_2dec(n, 0),
                      gen_float_counter_2dec(n, 1), gen_gauge_2dec(n, 0), gen_gauge_2dec(n, 1),
                      gen_constant(n, 1.0),   gen_constant(n, 0.0),   gen_constant(n, -0.0)};
        for (size_t j = 0; j < sizeof g / sizeof g[0]; j++) {
            check_chunk(&g[j]);
            ser_free(&g[j]);
        }
    }
}

static void test_chunk_conformance_special_floats(void **state)
{
    (void)state;
    for (int round = 0; round < 20; round++) {
        series s = gen_specials(round == 0 ? 10000 : 1 + (int)t_randn(300));
        check_chunk(&s);
        ser_free(&s);
    }
    /* every ordered pair of specials, back to back; then each constant */
    series s = ser_new((int)(N_SPECIALS * N_SPECIALS * 2));
    int n = 0;
    for (size_t i = 0; i < N_SPECIALS; i++)
        for (size_t j = 0; j < N_SPECIALS; j++) {
            s.v[n] = specials[i];
            s.t[n] = n;
            n++;
            s.v[n] = specials[j];
            s.t[n] = n;
            n++;
        }
    check_chunk(&s);
    ser_free(&s);
    for (size_t i = 0; i < N_SPECIALS; i++) {
        series c = gen_constant(50, t_double(specials[i]));
        check_chunk(&c);
        ser_free(&c);
    }
}

static void test_chunk_conformance_extreme_timestamps(void **state)
{
    (void)state;
    series s = ser_new(2);
    s.t[0] = INT64_MIN;
    s.t[1] = INT64_MAX;
    s.v[0] = dbits(1.0);
    s.v[1] = specials[0];
    check_chunk(&s);
    ser_free(&s);

    s = ser_new(1);
    s.t[0] = INT64_MAX;
    check_chunk(&s);
    s.t[0] = INT64_MIN;
    check_chunk(&s);
    ser_free(&s);

    static const int64_t walk[] = {INT64_MIN, INT64_MIN + 1, INT64_MIN + 3, -1, 0, 1, INT64_MAX - 5, INT64_MAX};
    s = ser_new(8);
    for (int i = 0; i < 8; i++) {
        s.t[i] = walk[i];
        s.v[i] = dbits(i * 0.1);
    }
    check_chunk(&s);
    ser_free(&s);

    series e = gen_bucket_edges();
    check_chunk(&e);
    ser_free(&e);

    for (int round = 0; round < 10; round++) {
        series r = gen_int_counter(500, 0);
        random_times(&r, round & 1);
        check_chunk(&r);
        ser_free(&r);
    }
}

static void test_chunk_conformance_random_bits(void **state)
{
    (void)state;
    for (int round = 0; round < 10; round++) {
        series s = gen_random_bits(round == 0 ? 10000 : 2 + (int)t_randn(500));
        check_chunk(&s);
        ser_free(&s);
    }
}

static void test_chunk_append_rejects_out_of_order(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        chunk_w w;
        chunk_w_init(&w, classes[c]);
        assert_int_equal(chunk_w_append(&w, 100, 1.0), CAIRN_OK);
        assert_int_equal(chunk_w_append(&w, 200, 2.0), CAIRN_OK);
        size_t len;
        uint8_t before[64];
        const uint8_t *p0 = chunk_w_bytes(&w, &len);
        memcpy(before, p0, len);
        size_t len0 = len;
        assert_int_equal(chunk_w_append(&w, 200, 3.0), CAIRN_EINVAL);
        assert_int_equal(chunk_w_append(&w, 199, 3.0), CAIRN_EINVAL);
        assert_int_equal(chunk_w_append(&w, INT64_MIN, 3.0), CAIRN_EINVAL);
        const uint8_t *p = chunk_w_bytes(&w, &len);
        assert_int_equal(len, len0);
        assert_memory_equal(p, before, len);
        assert_int_equal(chunk_w_count(&w), 2);
        assert_int_equal(chunk_w_append(&w, 201, 3.0), CAIRN_OK);
        chunk_w_free(&w);
        /* after free the chunk is empty and any timestamp starts it again */
        assert_int_equal(chunk_w_append(&w, -5, 3.0), CAIRN_OK);
        assert_int_equal(chunk_w_count(&w), 1);
        chunk_w_free(&w);
    }
}

static void test_chunk_append_full_is_elimit(void **state)
{
    (void)state;
    for (size_t c = 0; c < 2; c++) {
        chunk_w w;
        chunk_w_init(&w, classes[c]);
        for (int i = 0; i < CHUNK_MAX_SAMPLES; i++) assert_int_equal(chunk_w_append(&w, i, (double)(i & 7)), CAIRN_OK);
        size_t len;
        const uint8_t *p = chunk_w_bytes(&w, &len);
        assert_int_equal(chunk_count(p, len), 65535);
        assert_int_equal(p[1], 0xff);
        assert_int_equal(p[2], 0xff);
        size_t len0 = len;
        assert_int_equal(chunk_w_append(&w, CHUNK_MAX_SAMPLES, 1.0), CAIRN_ELIMIT);
        p = chunk_w_bytes(&w, &len);
        assert_int_equal(len, len0);
        assert_int_equal(chunk_w_count(&w), CHUNK_MAX_SAMPLES);
        assert_int_equal(chunk_verify(p, len, NULL), CAIRN_OK);
        chunk_w_free(&w);
    }
}

static void test_chunk_append_oom_leaves_chunk_unchanged(void **state)
{
    (void)state;
    series s = gen_specials(300);
    for (size_t c = 0; c < 2; c++) {
        uint64_t mem0 = mem_in_use();
        int failures = 0;
        for (int64_t nth = 0;; nth++) {
            chunk_w w;
            chunk_w_init(&w, classes[c]);
            int failed = 0;
            mem_fail_after(nth);
            for (int i = 0; i < s.n; i++) {
                size_t len;
                const uint8_t *p = chunk_w_bytes(&w, &len);
                uint8_t *before = malloc(len + 1);
                if (len) memcpy(before, p, len);
                int rc = chunk_w_append(&w, s.t[i], t_double(s.v[i]));
                if (rc == CAIRN_ENOMEM) {
                    failed = 1;
                    size_t len2;
                    p = chunk_w_bytes(&w, &len2);
                    assert_int_equal(len2, len);
                    if (len) assert_memory_equal(p, before, len);
                    assert_int_equal(chunk_w_count(&w), i);
                    mem_fail_after(-1);
                    rc = chunk_w_append(&w, s.t[i], t_double(s.v[i]));
                }
                free(before);
                assert_int_equal(rc, CAIRN_OK);
            }
            mem_fail_after(-1);
            size_t len;
            const uint8_t *p = chunk_w_bytes(&w, &len);
            expect_samples(p, len, &s, s.n);
            /* chunk_w_load under the same loop */
            chunk_w r = {0};
            mem_fail_after(0);
            assert_int_equal(chunk_w_load(&r, p, len, NULL), CAIRN_ENOMEM);
            assert_null(r.data);
            mem_fail_after(-1);
            chunk_w_free(&w);
            assert_int_equal(mem_in_use(), mem0);
            failures += failed;
            if (!failed) break;
        }
        assert_true(failures > 3); /* the loop did exercise growth */
    }
    ser_free(&s);
}

static void test_chunk_truncated_never_crash(void **state)
{
    (void)state;
    series s = gen_specials(200);
    for (size_t c = 0; c < 2; c++) {
        chunk_w w;
        chunk_w_init(&w, classes[c]);
        append_all(&w, &s, 0, s.n);
        size_t len;
        const uint8_t *p = chunk_w_bytes(&w, &len);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *q = malloc(cut ? cut : 1); /* exact size: ASan sees any overread */
            memcpy(q, p, cut);
            chunk_it it;
            int rc = chunk_it_init(&it, q, cut);
            if (cut == 0) {
                assert_int_equal(rc, CAIRN_OK);
                assert_int_equal(chunk_count(q, cut), 0);
            } else if (cut < 3) {
                assert_int_equal(rc, CAIRN_ECORRUPT);
                assert_int_equal(chunk_count(q, cut), CAIRN_ECORRUPT);
            }
            int i = 0;
            int64_t t;
            double v;
            while ((rc = chunk_it_next(&it, &t, &v)) == 1) {
                assert_true(i < s.n);
                assert_int_equal(t, s.t[i]);
                assert_int_equal(t_bits(v), s.v[i]);
                i++;
            }
            /* the batch iterator: the same good prefix, then a sticky error */
            chunk_it itn;
            chunk_it_init(&itn, q, cut);
            int64_t tb[32];
            double vb[32];
            int j = 0, got;
            while ((got = chunk_it_next_n(&itn, tb, vb, 32)) > 0)
                for (int k = 0; k < got; k++, j++) {
                    assert_int_equal(tb[k], s.t[j]);
                    assert_int_equal(t_bits(vb[k]), s.v[j]);
                }
            assert_int_equal(j, i);
            assert_int_equal(got, cut == 0 ? 0 : CAIRN_ECORRUPT);
            if (cut) assert_int_equal(chunk_it_next_n(&itn, tb, vb, 32), CAIRN_ECORRUPT);
            if (cut == 0) {
                assert_int_equal(rc, 0);
            } else {
                assert_int_equal(rc, CAIRN_ECORRUPT); /* the last sample's bits are in the last byte */
                assert_int_equal(chunk_it_next(&it, &t, &v), CAIRN_ECORRUPT);
                assert_true(i < s.n);
                assert_int_equal(chunk_verify(q, cut, NULL), CAIRN_ECORRUPT);
            }
            free(q);
        }
        chunk_w_free(&w);
    }
    ser_free(&s);
}

/* Decode whatever comes; only the absence of crashes and sane results is checked. */
static void decode_any(const uint8_t *q, size_t len)
{
    chunk_it it;
    int rc = chunk_it_init(&it, q, len);
    int n = chunk_count(q, len), i = 0;
    int64_t t, prev = INT64_MIN;
    double v;
    while ((rc = chunk_it_next(&it, &t, &v)) == 1) {
        if (i > 0) assert_true(t > prev);
        prev = t;
        i++;
        assert_true(i <= n);
    }
    assert_true(rc == 0 || rc == CAIRN_ECORRUPT);
    if (rc == 0) assert_int_equal(i, n);
    int last_rc = rc, j = 0, got;
    chunk_it_init(&it, q, len);
    int64_t tb[16];
    double vb[16];
    while ((got = chunk_it_next_n(&it, tb, vb, 16)) > 0) j += got;
    assert_int_equal(j, i);
    assert_int_equal(got, last_rc);
    rc = chunk_verify(q, len, NULL);
    assert_true(rc == CAIRN_OK || rc == CAIRN_ECORRUPT);
    chunk_w w = {0};
    if (chunk_w_load(&w, q, len, NULL) == CAIRN_OK) {
        int64_t last = w.st.t;
        if (chunk_w_count(&w) < CHUNK_MAX_SAMPLES && last < INT64_MAX)
            assert_int_equal(chunk_w_append(&w, last + 1, 1.0), CAIRN_OK);
        chunk_w_free(&w);
    }
}

static void test_chunk_mutated_bytes_never_crash(void **state)
{
    (void)state;
    series s = gen_specials(60);
    for (size_t c = 0; c < 2; c++) {
        chunk_w w;
        chunk_w_init(&w, classes[c]);
        append_all(&w, &s, 0, s.n);
        size_t len;
        const uint8_t *p = chunk_w_bytes(&w, &len);
        uint8_t *q = malloc(len);
        for (int round = 0; round < 3000; round++) {
            memcpy(q, p, len);
            int flips = 1 + (int)t_randn(3);
            for (int f = 0; f < flips; f++) {
                size_t at = 3 + t_randn(len - 3);
                if (t_randn(2)) q[at] ^= (uint8_t)(1u << t_randn(8));
                else q[at] = (uint8_t)t_rand();
            }
            if (round % 10 == 0) q[1 + t_randn(2)] ^= (uint8_t)(1u << t_randn(8)); /* the count */
            decode_any(q, len);
        }
        free(q);
        chunk_w_free(&w);
    }
    /* random strings with a valid class byte */
    for (int round = 0; round < 3000; round++) {
        size_t len = t_randn(64);
        uint8_t *q = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) q[i] = (uint8_t)t_rand();
        if (len) q[0] = (uint8_t)t_randn(3);
        decode_any(q, len);
        free(q);
    }
    ser_free(&s);
}

static void test_chunk_verify_messages(void **state)
{
    (void)state;
    cairn_err e;
    static const uint8_t golden[] = {0x01, 0x00, 0x04, 0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62, 0x3f, 0xf0, 0x00, 0x00,
                                     0x00, 0x00, 0x00, 0x00, 0x98, 0x75, 0x36, 0x03, 0x80, 0x03, 0xd8, 0x16};
    uint8_t q[sizeof golden + 1];
    assert_int_equal(chunk_verify(golden, sizeof golden, &e), CAIRN_OK);

    assert_int_equal(chunk_verify(golden, 0, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "chunk: empty byte string");
    assert_int_equal(chunk_verify(golden, 2, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "chunk: 2 bytes, shorter than the header");
    assert_int_equal(e.code, CAIRN_ECORRUPT);

    memcpy(q, golden, sizeof golden);
    q[0] = 7;
    assert_int_equal(chunk_verify(q, sizeof golden, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "chunk: unknown class byte 0x07");
    chunk_it it;
    assert_int_equal(chunk_it_init(&it, q, sizeof golden), CAIRN_ECORRUPT);
    int64_t t;
    double v;
    assert_int_equal(chunk_it_next(&it, &t, &v), CAIRN_ECORRUPT);
    chunk_w w = {0};
    assert_int_equal(chunk_w_load(&w, q, sizeof golden, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "chunk: unknown class byte 0x07");
    assert_null(w.data);

    q[0] = 1;
    q[2] = 5; /* promises a fifth sample that is not there */
    assert_int_equal(chunk_verify(q, sizeof golden, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gorilla chunk: sample 4 of 5 is corrupt (near byte 25 of 25)");

    q[2] = 3; /* one sample too few: bytes left over */
    assert_int_equal(chunk_verify(q, sizeof golden, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gorilla chunk: 3 samples end at byte 21 but the chunk has 25 bytes");

    memcpy(q, golden, sizeof golden);
    q[sizeof golden] = 0;
    assert_int_equal(chunk_verify(q, sizeof golden + 1, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gorilla chunk: 4 samples end at byte 25 but the chunk has 26 bytes");

    /* d1 = 0: the second timestamp does not increase */
    memcpy(q, golden, sizeof golden);
    q[17] = 0x00;
    assert_int_equal(chunk_verify(q, sizeof golden, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "gorilla chunk: sample 1 of 4 is corrupt (near byte 18 of 25)");

    /* raw: a repeated timestamp */
    uint8_t raw[3 + 32] = {0x00, 0x00, 0x02};
    raw[3 + 7] = 5;
    raw[3 + 16 + 7] = 5;
    assert_int_equal(chunk_verify(raw, sizeof raw, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "raw chunk: sample 1 of 2 is corrupt (near byte 19 of 35)");
    raw[3 + 16 + 7] = 6;
    assert_int_equal(chunk_verify(raw, sizeof raw, &e), CAIRN_OK);
    assert_int_equal(chunk_verify(raw, sizeof raw - 1, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "raw chunk: sample 1 of 2 is corrupt (near byte 19 of 34)");
}

static void test_chunk_empty(void **state)
{
    (void)state;
    chunk_w w = {0}; /* zero-initialised: an empty raw chunk */
    size_t len;
    assert_null(chunk_w_bytes(&w, &len));
    assert_int_equal(len, 0);
    chunk_it it;
    int64_t t;
    double v;
    assert_int_equal(chunk_it_init(&it, NULL, 0), CAIRN_OK);
    assert_int_equal(chunk_it_next(&it, &t, &v), 0);
    assert_int_equal(chunk_count(NULL, 0), 0);
    chunk_w_shrink(&w);
    chunk_w_free(&w);
    /* a header with count 0 */
    static const uint8_t empty_gor[] = {0x01, 0x00, 0x00};
    assert_int_equal(chunk_it_init(&it, empty_gor, 3), CAIRN_OK);
    assert_int_equal(chunk_it_next(&it, &t, &v), 0);
    assert_int_equal(chunk_verify(empty_gor, 3, NULL), CAIRN_OK);
    assert_int_equal(chunk_w_load(&w, empty_gor, 3, NULL), CAIRN_OK);
    assert_int_equal(w.cls, CHUNK_GOR);
    assert_int_equal(chunk_w_append(&w, 1, 2.0), CAIRN_OK);
    assert_int_equal(chunk_w_append(&w, 2, 2.0), CAIRN_OK);
    const uint8_t *p = chunk_w_bytes(&w, &len);
    assert_int_equal(chunk_count(p, len), 2);
    chunk_w_free(&w);
}

/* A head chunk lives in RAM per active series: 120 samples of a 15 s counter. */
static void test_chunk_head_memory_is_small(void **state)
{
    (void)state;
    chunk_w w;
    chunk_w_init(&w, CHUNK_GOR);
    double c = 12345;
    for (int i = 0; i < 120; i++) {
        c += (double)(i % 7 == 0 ? 3 : 1); /* a slow request counter */
        assert_int_equal(chunk_w_append(&w, T0 + 15000LL * i, c), CAIRN_OK);
    }
    size_t len;
    chunk_w_bytes(&w, &len);
    fprintf(stderr, "[   info   ] 120-sample counter: %zu bytes, %zu allocated, struct %zu\n", len, chunk_w_mem(&w),
            sizeof w);
    assert_true(chunk_w_mem(&w) - len < CHUNK_GROW_BYTES); /* growth slack below one step */
    assert_true(chunk_w_mem(&w) <= 200);
    assert_true(sizeof w <= 56);
    chunk_w_shrink(&w);
    assert_int_equal(chunk_w_mem(&w), len);
    chunk_w_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_golden_bytes),
        cmocka_unit_test(test_chunk_conformance_realistic),
        cmocka_unit_test(test_chunk_conformance_special_floats),
        cmocka_unit_test(test_chunk_conformance_extreme_timestamps),
        cmocka_unit_test(test_chunk_conformance_random_bits),
        cmocka_unit_test(test_chunk_append_rejects_out_of_order),
        cmocka_unit_test(test_chunk_append_full_is_elimit),
        cmocka_unit_test(test_chunk_append_oom_leaves_chunk_unchanged),
        cmocka_unit_test(test_chunk_truncated_never_crash),
        cmocka_unit_test(test_chunk_mutated_bytes_never_crash),
        cmocka_unit_test(test_chunk_verify_messages),
        cmocka_unit_test(test_chunk_empty),
        cmocka_unit_test(test_chunk_head_memory_is_small),
    };
    t_rng_reset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
