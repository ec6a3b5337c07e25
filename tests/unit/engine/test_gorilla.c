/*
 * test_gorilla.c — the bit writer/reader (bits.c) and the sample codec
 * (gorilla.c) below the chunk layer: random-width round trips at every bit
 * offset against a bit-at-a-time oracle, writes that must stop exactly at
 * the capacity, overflow reporting on both sides, varints, the size of every
 * delta-of-delta bucket at its boundaries, the XOR control fields (64
 * meaningful bits stored as 0, leading zeros capped at 31, window reuse),
 * and wrap-around timestamps. Chunk-level conformance is in test_chunk.c.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#include "bits.h"
#include "gorilla.h"

/* ---- bits ------------------------------------------------------------------ */

/* Oracle: bit i of a byte array, MSB first. */
static unsigned ref_bit(const uint8_t *p, uint64_t i) { return (p[i >> 3] >> (7 - (i & 7))) & 1; }

static void test_bits_random_widths_round_trip(void **state)
{
    (void)state;
    enum { CAP = 700, GUARD = 16, N = 600 };
    uint8_t mem[CAP + GUARD];
    uint64_t vals[N];
    unsigned widths[N];
    for (int round = 0; round < 50; round++) {
        memset(mem, 0xA5, sizeof mem); /* garbage: the writer must not need zeroed memory */
        bits_w w;
        bits_w_init(&w, mem, CAP, 0);
        uint64_t total = 0;
        int n = 0;
        while (n < N) {
            unsigned k = (unsigned)t_randn(65);
            uint64_t v = k == 64 ? t_rand() : t_rand() & ((1ULL << k) - 1);
            if (total + k > (uint64_t)CAP * 8) break;
            bits_put(&w, v, k);
            vals[n] = v;
            widths[n++] = k;
            total += k;
        }
        assert_false(w.overflow);
        assert_int_equal(w.pos, total);
        for (int i = 0; i < GUARD; i++) assert_int_equal(mem[CAP + i], 0xA5);
        /* padding bits of the last byte are zero */
        for (uint64_t i = total; i < bits_w_bytes(&w) * 8; i++) assert_int_equal(ref_bit(mem, i), 0);
        /* the reader gets the values back; the oracle agrees bit by bit */
        bits_r r;
        bits_r_init(&r, mem, bits_w_bytes(&w));
        uint64_t at = 0;
        for (int i = 0; i < n; i++) {
            for (unsigned b = 0; b < widths[i]; b++)
                assert_int_equal(ref_bit(mem, at + b), (vals[i] >> (widths[i] - 1 - b)) & 1);
            at += widths[i];
            assert_int_equal(bits_get(&r, widths[i]), vals[i]);
        }
        assert_false(bits_r_overflow(&r));
    }
}

static void test_bits_put_keeps_earlier_bits(void **state)
{
    (void)state;
    uint8_t mem[16];
    memset(mem, 0xff, sizeof mem);
    bits_w w;
    bits_w_init(&w, mem, sizeof mem, 3); /* resume after 3 bits: 111 must stay */
    bits_put(&w, 0, 2);
    bits_put(&w, 1, 1);
    assert_int_equal(mem[0], 0xe4); /* 111 00 1 00 */
    assert_int_equal(w.pos, 6);
}

static void test_bits_writer_overflow_is_reported(void **state)
{
    (void)state;
    uint8_t mem[3] = {0, 0, 0};
    bits_w w;
    bits_w_init(&w, mem, 2, 0);
    bits_put(&w, 0x1ff, 9);
    assert_false(w.overflow);
    bits_put(&w, 0xff, 8); /* 17 bits > 16 */
    assert_true(w.overflow);
    assert_int_equal(w.pos, 9);
    assert_int_equal(mem[2], 0); /* nothing past cap */
    bits_put(&w, ~0ULL, 64); /* a wide put that cannot fit leaves pos alone */
    assert_int_equal(w.pos, 9);
    assert_int_equal(mem[0], 0xff);
    assert_int_equal(mem[1], 0x80);
}

static void test_bits_reader_past_end_reads_zeros(void **state)
{
    (void)state;
    uint8_t mem[2] = {0xff, 0xff};
    bits_r r;
    bits_r_init(&r, mem, 2);
    assert_int_equal(bits_get(&r, 12), 0xfff);
    assert_false(bits_r_overflow(&r));
    assert_int_equal(bits_r_left(&r), 4);
    assert_int_equal(bits_get(&r, 8), 0xf0); /* 4 real bits, 4 zeros */
    assert_true(bits_r_overflow(&r));
    assert_int_equal(bits_get(&r, 64), 0);
    assert_int_equal(bits_r_left(&r), 0);
    /* an empty reader */
    bits_r_init(&r, NULL, 0);
    assert_int_equal(bits_peek(&r), 0);
    assert_int_equal(bits_get(&r, 1), 0);
    assert_true(bits_r_overflow(&r));
}

static void test_bits_varint_round_trip_at_odd_offsets(void **state)
{
    (void)state;
    static const int64_t cases[] = {0, 1, -1, 63, -64, 64, 127, 128, 300, -300, INT64_MAX, INT64_MIN,
                                    INT64_MIN + 1, 1700000000000LL, -1700000000000LL};
    size_t nc = sizeof cases / sizeof cases[0];
    uint8_t mem[256];
    bits_w w;
    bits_w_init(&w, mem, sizeof mem, 0);
    for (size_t i = 0; i < nc; i++) {
        bits_put(&w, 1, 1); /* misalign */
        bits_put_varint(&w, cases[i]);
        bits_put_uvarint(&w, (uint64_t)cases[i]);
    }
    assert_false(w.overflow);
    bits_r r;
    bits_r_init(&r, mem, bits_w_bytes(&w));
    for (size_t i = 0; i < nc; i++) {
        int64_t s;
        uint64_t u;
        assert_int_equal(bits_get(&r, 1), 1);
        assert_int_equal(bits_get_varint(&r, &s), CAIRN_OK);
        assert_int_equal(s, cases[i]);
        assert_int_equal(bits_get_uvarint(&r, &u), CAIRN_OK);
        assert_int_equal(u, (uint64_t)cases[i]);
    }
}

static void test_bits_varint_corrupt(void **state)
{
    (void)state;
    uint8_t eleven[11];
    memset(eleven, 0x80, sizeof eleven);
    uint64_t u;
    bits_r r;
    bits_r_init(&r, eleven, sizeof eleven);
    assert_int_equal(bits_get_uvarint(&r, &u), CAIRN_ECORRUPT);
    /* tenth byte may only carry bit 63 */
    uint8_t big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    bits_r_init(&r, big, sizeof big);
    assert_int_equal(bits_get_uvarint(&r, &u), CAIRN_ECORRUPT);
    big[9] = 0x01;
    bits_r_init(&r, big, sizeof big);
    assert_int_equal(bits_get_uvarint(&r, &u), CAIRN_OK);
    assert_int_equal(u, UINT64_MAX);
    /* truncated */
    uint8_t cut[2] = {0x80, 0x80};
    bits_r_init(&r, cut, sizeof cut);
    assert_int_equal(bits_get_uvarint(&r, &u), CAIRN_ECORRUPT);
}

/* ---- gorilla ----------------------------------------------------------------- */

/* Bits spent on sample 2's timestamp when its delta-of-delta is `dod`. */
static uint64_t dod_bits(int64_t dod)
{
    uint8_t mem[64];
    bits_w w;
    bits_w_init(&w, mem, sizeof mem, 0);
    gor_state s;
    gor_init(&s);
    int64_t t0 = 1000000000, d = 1000000;
    gor_put(&s, &w, t0, 0);
    gor_put(&s, &w, t0 + d, 0);
    uint64_t before = w.pos;
    int64_t t2 = t0 + d + d + dod;
    gor_put(&s, &w, t2, 0);
    assert_false(w.overflow);
    /* and it decodes */
    bits_r r;
    bits_r_init(&r, mem, bits_w_bytes(&w));
    gor_state g;
    gor_init(&g);
    int64_t t;
    uint64_t v;
    for (int i = 0; i < 3; i++) assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(t, t2);
    return w.pos - before - 1; /* minus the value's one bit */
}

static void test_gor_dod_bucket_boundaries(void **state)
{
    (void)state;
    assert_int_equal(dod_bits(0), 1);
    assert_int_equal(dod_bits(1), 16);
    assert_int_equal(dod_bits(-1), 16);
    assert_int_equal(dod_bits(8192), 16);
    assert_int_equal(dod_bits(-8191), 16);
    assert_int_equal(dod_bits(8193), 20);
    assert_int_equal(dod_bits(-8192), 20);
    assert_int_equal(dod_bits(65536), 20);
    assert_int_equal(dod_bits(-65535), 20);
    assert_int_equal(dod_bits(65537), 24);
    assert_int_equal(dod_bits(-65536), 24);
    assert_int_equal(dod_bits(524288), 24);
    assert_int_equal(dod_bits(-524287), 24);
    assert_int_equal(dod_bits(524289), 68);
    assert_int_equal(dod_bits(-524288), 68);
    assert_int_equal(dod_bits(-999999), 68);
    assert_int_equal(dod_bits(INT64_MAX / 4), 68);
}

/* Code (t_i, v_i) for i < n and return the stream; checks the round trip. */
static size_t code_values(const uint64_t *vals, int n, uint8_t *mem, size_t cap, uint64_t *bits_of_last)
{
    bits_w w;
    bits_w_init(&w, mem, cap, 0);
    gor_state s;
    gor_init(&s);
    uint64_t before = 0;
    for (int i = 0; i < n; i++) {
        before = w.pos;
        gor_put(&s, &w, i + 1, vals[i]);
    }
    assert_false(w.overflow);
    if (bits_of_last) *bits_of_last = w.pos - before;
    bits_r r;
    bits_r_init(&r, mem, bits_w_bytes(&w));
    gor_state g;
    gor_init(&g);
    for (int i = 0; i < n; i++) {
        int64_t t;
        uint64_t v;
        assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
        assert_int_equal(t, i + 1);
        assert_int_equal(v, vals[i]);
    }
    return bits_w_bytes(&w);
}

static void test_gor_xor_control_fields(void **state)
{
    (void)state;
    uint8_t mem[128];
    uint64_t last;
    /* same value: 1 bit (plus the timestamp's 1 bit from sample 2 on) */
    uint64_t same[3] = {7, 7, 7};
    code_values(same, 3, mem, sizeof mem, &last);
    assert_int_equal(last, 1 + 1);
    /* 64 meaningful bits: the 6-bit length field holds 0 */
    uint64_t full[2] = {0, 0x8000000000000001ULL};
    code_values(full, 2, mem, sizeof mem, &last);
    /* sample 1 starts at bit 72 (1 varint byte + 64 bits) after its 1-byte delta: 80 */
    bits_r r;
    bits_r_init(&r, mem, sizeof mem);
    r.pos = 80;
    assert_int_equal(bits_get(&r, 2), 3);  /* new window */
    assert_int_equal(bits_get(&r, 5), 0);  /* leading zeros */
    assert_int_equal(bits_get(&r, 6), 0);  /* 64 written as 0 */
    assert_int_equal(bits_get(&r, 64), 0x8000000000000001ULL);
    assert_int_equal(last, 8 + 13 + 64);
    /* leading zeros capped at 31: XOR = 1 has 63 leading zeros */
    uint64_t tiny[2] = {0x3ff0000000000000ULL, 0x3ff0000000000001ULL};
    code_values(tiny, 2, mem, sizeof mem, &last);
    r.pos = 80;
    assert_int_equal(bits_get(&r, 2), 3);
    assert_int_equal(bits_get(&r, 5), 31);
    assert_int_equal(bits_get(&r, 6), 33); /* 64 - 31 - 0 */
    assert_int_equal(last, 8 + 13 + 33);
    /* window reuse: a XOR inside the previous window costs 2 + window bits */
    uint64_t reuse[3] = {0, 0x00ff000000000000ULL, 0x0018000000000000ULL};
    code_values(reuse, 3, mem, sizeof mem, &last);
    assert_int_equal(last, 1 + 2 + 8);
    /* a XOR outside the window opens a new one */
    uint64_t grow[3] = {0, 0x0018000000000000ULL, 0x00ff000000000000ULL};
    code_values(grow, 3, mem, sizeof mem, &last);
    assert_int_equal(last, 1 + 13 + 8);
}

static void test_gor_every_special_float_round_trips(void **state)
{
    (void)state;
    static const uint64_t sp[] = {
        0x7ff0000000000002ULL, /* Prometheus stale marker */
        0x7ff8000000000001ULL, 0x7ff8000000000000ULL, 0xfff8000000000000ULL, 0x7ff0000000000001ULL,
        0xffffffffffffffffULL, 0x7fffffffffffffffULL, 0x7ff0000000000000ULL, 0xfff0000000000000ULL,
        0x8000000000000000ULL, 0, 1, 0x000fffffffffffffULL, 0x8000000000000001ULL, 0x0010000000000000ULL,
        0x7fefffffffffffffULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL};
    enum { NS = sizeof sp / sizeof sp[0] };
    uint64_t vals[NS * NS * 2];
    int n = 0;
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            vals[n++] = sp[i];
            vals[n++] = sp[j];
        }
    uint8_t *mem = malloc(n * 20 + 16);
    assert_non_null(mem);
    code_values(vals, n, mem, (size_t)n * 20 + 16, NULL);
    free(mem);
}

static void test_gor_wrapping_timestamps(void **state)
{
    (void)state;
    static const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 2, INT64_MAX - 1, INT64_MAX};
    enum { N = sizeof ts / sizeof ts[0] };
    uint8_t mem[256];
    bits_w w;
    bits_w_init(&w, mem, sizeof mem, 0);
    gor_state s;
    gor_init(&s);
    for (int i = 0; i < N; i++) gor_put(&s, &w, ts[i], (uint64_t)i);
    bits_r r;
    bits_r_init(&r, mem, bits_w_bytes(&w));
    gor_state g;
    gor_init(&g);
    for (int i = 0; i < N; i++) {
        int64_t t;
        uint64_t v;
        assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
        assert_int_equal(t, ts[i]);
        assert_int_equal(v, (uint64_t)i);
    }
    /* INT64_MIN then INT64_MAX: the first delta is 2^64 - 1 */
    bits_w_init(&w, mem, sizeof mem, 0);
    gor_init(&s);
    gor_put(&s, &w, INT64_MIN, 0);
    gor_put(&s, &w, INT64_MAX, 0);
    assert_int_equal(s.d, UINT64_MAX);
    bits_r_init(&r, mem, bits_w_bytes(&w));
    gor_init(&g);
    int64_t t;
    uint64_t v;
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(t, INT64_MIN);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(t, INT64_MAX);
}

static void test_gor_decoder_rejects_bad_streams(void **state)
{
    (void)state;
    int64_t t;
    uint64_t v;
    gor_state g;
    bits_r r;
    /* t0 = 0, v0 = 0, delta 0: timestamps must increase */
    uint8_t zero_delta[10] = {0};
    bits_r_init(&r, zero_delta, sizeof zero_delta);
    gor_init(&g);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_ECORRUPT);
    /* "10" (reuse the window) before any window exists */
    uint8_t no_window[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x80};
    bits_r_init(&r, no_window, sizeof no_window);
    gor_init(&g);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_ECORRUPT);
    /* "11", leading 31, length 63: 94 bits do not fit in 64 */
    uint8_t wide[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff};
    bits_r_init(&r, wide, sizeof wide);
    gor_init(&g);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_OK);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_ECORRUPT);
    /* a value cut short */
    uint8_t cut[5] = {0};
    bits_r_init(&r, cut, sizeof cut);
    gor_init(&g);
    assert_int_equal(gor_get(&g, &r, &t, &v), CAIRN_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bits_random_widths_round_trip),
        cmocka_unit_test(test_bits_put_keeps_earlier_bits),
        cmocka_unit_test(test_bits_writer_overflow_is_reported),
        cmocka_unit_test(test_bits_reader_past_end_reads_zeros),
        cmocka_unit_test(test_bits_varint_round_trip_at_odd_offsets),
        cmocka_unit_test(test_bits_varint_corrupt),
        cmocka_unit_test(test_gor_dod_bucket_boundaries),
        cmocka_unit_test(test_gor_xor_control_fields),
        cmocka_unit_test(test_gor_every_special_float_round_trips),
        cmocka_unit_test(test_gor_wrapping_timestamps),
        cmocka_unit_test(test_gor_decoder_rejects_bad_streams),
    };
    t_rng_reset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
