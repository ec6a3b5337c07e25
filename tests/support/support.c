/*
 * support.c — seeded randomness and temporary directories for tests.
 * The seed is printed once per process so a failing property test can be
 * replayed with CAIRN_TEST_SEED=<seed>.
 */
#include "support.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static uint64_t rng_state;

uint64_t t_seed(void)
{
    static uint64_t seed;
    static int done;
    if (!done) {
        const char *s = getenv("CAIRN_TEST_SEED");
        seed = s ? strtoull(s, NULL, 0) : 42;
        fprintf(stderr, "[ seed     ] CAIRN_TEST_SEED=%llu\n", (unsigned long long)seed);
        done = 1;
    }
    return seed;
}

void t_rng_reset(void) { rng_state = t_seed() * 0x9E3779B97F4A7C15ULL + 1; }

uint64_t t_rand(void)
{
    if (!rng_state) t_rng_reset();
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

uint64_t t_randn(uint64_t n) { return n ? t_rand() % n : 0; }

double t_randf(void) { return (double)(t_rand() >> 11) / 9007199254740992.0; }

char *t_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *p = malloc(n);
    if (!p) return NULL;
    snprintf(p, n, "%s/cairn-%s-XXXXXX", base, tag);
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void t_rmtree(const char *path) { nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

void t_tmpdir_free(char *path)
{
    if (!path) return;
    t_rmtree(path);
    free(path);
}
