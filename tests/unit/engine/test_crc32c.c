/*
 * test_crc32c.c — CRC-32C check values (the "123456789" check and the
 * RFC 3720 appendix B.4 vectors), chaining, and the hardware and
 * slicing-by-8 paths against a bit-at-a-time reference on random data at
 * every alignment and length.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#include "crc32c.h"

/* One bit per step, straight from the definition: the oracle. */
static uint32_t ref_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
    uint8_t b[32];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, "", 0), 0u);
    memset(b, 0, sizeof b);
    assert_int_equal(f(0, b, 32), 0x8A9136AAu);
    memset(b, 0xff, sizeof b);
    assert_int_equal(f(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) b[i] = (uint8_t)i;
    assert_int_equal(f(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) b[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, b, 32), 0x113FDB5Cu);
}

static void test_crc32c_check_values(void **state)
{
    (void)state;
    check_vectors(crc32c);
    check_vectors(crc32c_sw);
    if (crc32c_hw_available()) check_vectors(crc32c_hw);
    else fprintf(stderr, "[   info   ] no SSE4.2: hardware path not tested\n");
}

static void test_crc32c_reference_oracle_matches_vectors(void **state)
{
    (void)state;
    assert_int_equal(ref_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
}

/* Every length 0..200 at every alignment 0..7, plus a few long buffers. */
static void test_crc32c_all_paths_agree_random(void **state)
{
    (void)state;
    t_rng_reset();
    size_t cap = 70000 + 16;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t i = 0; i < cap; i++) buf[i] = (uint8_t)t_rand();
    int hw = crc32c_hw_available();
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= 200; n++) {
            uint32_t want = ref_crc32c(0, buf + align, n);
            assert_int_equal(crc32c_sw(0, buf + align, n), want);
            assert_int_equal(crc32c(0, buf + align, n), want);
            if (hw) assert_int_equal(crc32c_hw(0, buf + align, n), want);
        }
    }
    size_t longs[] = { 4096, 65536, 65536 + 13, 70000 };
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        size_t off = t_randn(8);
        uint32_t want = ref_crc32c(0, buf + off, longs[i]);
        assert_int_equal(crc32c_sw(0, buf + off, longs[i]), want);
        if (hw) assert_int_equal(crc32c_hw(0, buf + off, longs[i]), want);
    }
    free(buf);
}

/* crc(crc(a), b) == crc(a || b) for every split point. */
static void test_crc32c_chaining(void **state)
{
    (void)state;
    t_rng_reset();
    uint8_t b[100];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)t_rand();
    uint32_t whole = crc32c(0, b, sizeof b);
    for (size_t k = 0; k <= sizeof b; k++) {
        assert_int_equal(crc32c(crc32c(0, b, k), b + k, sizeof b - k), whole);
        assert_int_equal(crc32c_sw(crc32c_sw(0, b, k), b + k, sizeof b - k), whole);
    }
}

/* One flipped bit anywhere must change the checksum (CRCs detect all 1-bit errors). */
static void test_crc32c_detects_single_bit_flips(void **state)
{
    (void)state;
    t_rng_reset();
    uint8_t b[64];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)t_rand();
    uint32_t base = crc32c(0, b, sizeof b);
    for (size_t bit = 0; bit < sizeof b * 8; bit++) {
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(crc32c(0, b, sizeof b), base);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_values),
        cmocka_unit_test(test_crc32c_reference_oracle_matches_vectors),
        cmocka_unit_test(test_crc32c_all_paths_agree_random),
        cmocka_unit_test(test_crc32c_chaining),
        cmocka_unit_test(test_crc32c_detects_single_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
