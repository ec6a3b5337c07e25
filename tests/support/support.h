/*
 * Test support shared by every cmocka binary: a seeded RNG (CAIRN_TEST_SEED,
 * printed so a failure can be replayed), temporary data directories, and
 * bit-exact float comparison.
 */
#ifndef CAIRN_TEST_SUPPORT_H
#define CAIRN_TEST_SUPPORT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka needs the three headers above first */
#include <cmocka.h>

/* Seed from CAIRN_TEST_SEED (default 42); prints it once. */
uint64_t t_seed(void);
/* xorshift64* RNG state seeded by t_seed() (call t_rng_reset() in a setup). */
void t_rng_reset(void);
uint64_t t_rand(void);
/* Uniform in [0, n). */
uint64_t t_randn(uint64_t n);
double t_randf(void);

/* Make a fresh empty directory under $TMPDIR (or /tmp); returns a static-lifetime path
 * (malloc'd, free with t_tmpdir_free which also removes the tree). */
char *t_tmpdir(const char *tag);
void t_tmpdir_free(char *path);
/* rm -rf path */
void t_rmtree(const char *path);

static inline uint64_t t_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}
static inline double t_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}
#define assert_bits_equal(a, b) assert_int_equal(t_bits(a), t_bits(b))
#endif
