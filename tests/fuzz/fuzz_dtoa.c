/*
 * fuzz_dtoa — shortest round-trip digits (base/dtoa.c) on fuzzer-chosen bit
 * patterns.
 *
 * Every 8 bytes of the input (little endian, the last group zero-padded) are
 * one double. For each finite nonzero one the target checks, with glibc as
 * the independent oracle:
 *   - the digits read back (strtod) to the same double;
 *   - the printf loop (smallest p with "%.{p-1}e" reading back) has the same
 *     length and the same digits, except at the lopsided powers of two,
 *     where dtoa may be one digit shorter (see tests/unit/base/test_dtoa.c);
 *   - neither (p-1)-digit decimal around the exact value ("%.800e" is exact
 *     in glibc) reads back, so nothing shorter exists.
 * Any violation aborts, which libFuzzer and the replay driver report.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtoa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, double v, const char *d, int e10)
{
    fprintf(stderr, "fuzz_dtoa: %s: %a gave 0.%se%d\n", what, v, d, e10);
    abort();
}

static int reads_back(const char *digits, size_t n, int e10, double a)
{
    char t[64];
    snprintf(t, sizeof t, "0.%.*se%d", (int)n, digits, e10);
    return strtod(t, NULL) == a;
}

/* Digits (no dot) and exponent (as 0.d × 10^e) of printf's "%.*e" text; returns the count. */
static size_t e_digits(const char *t, char *d, int *e10)
{
    size_t n = 0;
    const char *p = t;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') d[n++] = *p;
    *e10 = atoi(p + 1) + 1;
    return n;
}

static void check(double v)
{
    if (!isfinite(v) || v == 0) return;
    double a = fabs(v);
    char d[DTOA_MAX_DIGITS + 1];
    int e10;
    size_t n = dtoa_digits(v, d, &e10);
    if (n < 1 || n > 17 || d[n - 1] == '0') die("malformed digits", v, d, e10);
    if (!reads_back(d, n, e10, a)) die("does not read back", v, d, e10);

    char t[900], pd[820];
    int pe = 0;
    size_t p;
    for (p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", (int)p - 1, a);
        if (strtod(t, NULL) == a) break;
    }
    if (p > 17) die("printf found nothing", v, d, e10);
    size_t pn = e_digits(t, pd, &pe);
    while (pn > 1 && pd[pn - 1] == '0') pn--;
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int lopsided = (bits & 0x000fffffffffffffULL) == 0 && (bits >> 52) > 1;
    if (pn == n) {
        if (pe != e10 || memcmp(pd, d, n)) die("differs from printf", v, d, e10);
    } else if (!(lopsided && n + 1 == pn)) {
        die("length differs from printf", v, d, e10);
    }

    if (n > 1) { /* the two (n-1)-digit neighbours of the exact value must not read back */
        snprintf(t, sizeof t, "%.800e", a);
        int x;
        e_digits(t, pd, &x);
        size_t m = n - 1, i = m;
        char hi[24];
        memcpy(hi, pd, m);
        int hx = x;
        while (i > 0 && hi[i - 1] == '9') hi[--i] = '0';
        if (i == 0) {
            memmove(hi + 1, hi, m);
            hi[0] = '1';
            hx++;
        } else {
            hi[i - 1]++;
        }
        if (reads_back(pd, m, x, a) || reads_back(hi, m, hx, a)) die("not the shortest", v, d, e10);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size; off += 8) {
        uint8_t b[8] = {0};
        memcpy(b, data + off, size - off < 8 ? size - off : 8);
        uint64_t u = 0;
        for (int i = 7; i >= 0; i--) u = u << 8 | b[i];
        double v;
        memcpy(&v, &u, sizeof v);
        check(v);
    }
    return 0;
}
