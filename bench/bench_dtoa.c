/*
 * bench_dtoa — nanoseconds per sample value written the way the Prometheus
 * API writes it (jw_fmt_go(v, 'p'): shortest round-trip digits + layout),
 * before and after base/dtoa.c, and dtoa_digits alone.
 *
 * "before" is the printf/strtod search json.c used until dtoa.c (one
 * "%.16e", candidates of 15 and 16 digits rounded from it and checked with
 * strtod), kept here unchanged as the baseline; "after" is today's
 * jw_fmt_go. Both write into a stack buffer; the total length is summed so
 * nothing is optimised away.
 *
 * Data sets (N values each, default 1,000,000, fixed seed):
 *   rate     (x + frac(t)/1000) / 60 style ratios like bench_http_query's
 *            rate() results (16-17 significant digits);
 *   decimal  values with two decimals (-1e7 .. 1e7, e.g. 1234.56);
 *   integer  integers below 2^40 (counters; a fast path in both);
 *   bits     uniformly random finite bit patterns (all exponents).
 * Each (data set, method) runs 5 times; the best run is printed.
 *
 * dtoa and json are in base/ and so in libcairn.a, which bench programs link.
 *
 * Usage: bench_dtoa [N]
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dtoa.h"
#include "json.h"
#include "bench_util.h"

/* ---- the "before" baseline ---- */

static size_t old_parse_e(const char *t, char digits[18], int *e10)
{
    size_t n = 0;
    const char *p = t;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[n++] = *p;
    int x = atoi(p + 1);
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = 0;
    *e10 = x + 1;
    return n;
}

static int old_try_prec(double a, int prec, char digits[18], int *e10, size_t *n)
{
    char t[40];
    snprintf(t, sizeof t, "%.*e", prec, a);
    if (strtod(t, NULL) != a) return 0;
    *n = old_parse_e(t, digits, e10);
    return 1;
}

static int old_round_digits(const char *d17, int k, char *out, int *carry)
{
    memcpy(out, d17, (size_t)k);
    out[k] = 0;
    *carry = 0;
    char first = d17[k];
    int rest_zero = 1;
    for (int i = k + 1; i < 17; i++)
        if (d17[i] != '0') rest_zero = 0;
    if (first == '5' && rest_zero) return 0;
    if (first < '5') return 1;
    for (int i = k - 1; i >= 0; i--) {
        if (out[i] != '9') {
            out[i]++;
            return 1;
        }
        out[i] = '0';
    }
    memmove(out + 1, out, (size_t)k);
    out[0] = '1';
    out[k] = 0;
    *carry = 1;
    return 1;
}

static int old_reads_back(const char *digits, int e10, double a)
{
    char t[40];
    snprintf(t, sizeof t, "0.%se%d", digits, e10);
    return strtod(t, NULL) == a;
}

static size_t old_shortest(double v, char digits[18], int *e10)
{
    double a = fabs(v);
    size_t n = 0;
    if (a < 9007199254740992.0 && a == floor(a) && a >= 1) {
        char s[24];
        n = (size_t)snprintf(s, sizeof s, "%" PRIu64, (uint64_t)a);
        *e10 = (int)n;
        while (n > 1 && s[n - 1] == '0') n--;
        memcpy(digits, s, n);
        digits[n] = 0;
        return n;
    }
    if (a < 2.2250738585072014e-308) {
        for (int p = 0; p < 17; p++)
            if (old_try_prec(a, p, digits, e10, &n)) return n;
    }
    char t[40], d17[18];
    snprintf(t, sizeof t, "%.16e", a);
    size_t k = 0;
    const char *p = t;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') d17[k++] = *p;
    d17[k] = 0;
    int x = atoi(p + 1) + 1;
    for (int want = 15; want <= 16; want++) {
        char c[18];
        int carry;
        if (!old_round_digits(d17, want, c, &carry)) {
            if (old_try_prec(a, want - 1, digits, e10, &n)) return n;
            continue;
        }
        int ex = x + carry;
        if (old_reads_back(c, ex, a)) {
            n = (size_t)want;
            while (n > 1 && c[n - 1] == '0') n--;
            memcpy(digits, c, n);
            digits[n] = 0;
            *e10 = ex;
            return n;
        }
    }
    n = 17;
    while (n > 1 && d17[n - 1] == '0') n--;
    memcpy(digits, d17, n);
    digits[n] = 0;
    *e10 = x;
    return n;
}

static size_t old_fmt_go(char *dst, double v, char fmt)
{
    if (isnan(v)) return (size_t)sprintf(dst, "NaN");
    if (isinf(v)) return (size_t)sprintf(dst, v > 0 ? "+Inf" : "-Inf");
    char *o = dst;
    if (signbit(v)) *o++ = '-';
    if (v == 0) {
        *o++ = '0';
        *o = 0;
        return (size_t)(o - dst);
    }
    char d[18];
    int e10;
    size_t n = old_shortest(v, d, &e10);
    if (fmt == 'p') {
        double a = fabs(v);
        fmt = (a < 1e-6 || a >= 1e21) ? 'e' : 'f';
    }
    if (fmt == 'e') {
        *o++ = d[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, d + 1, n - 1);
            o += n - 1;
        }
        int x = e10 - 1;
        *o++ = 'e';
        *o++ = x < 0 ? '-' : '+';
        if (x < 0) x = -x;
        o += sprintf(o, "%02d", x);
        return (size_t)(o - dst);
    }
    if (e10 <= 0) {
        *o++ = '0';
        *o++ = '.';
        memset(o, '0', (size_t)-e10);
        o += -e10;
        memcpy(o, d, n);
        o += n;
    } else if ((size_t)e10 >= n) {
        memcpy(o, d, n);
        o += n;
        memset(o, '0', (size_t)e10 - n);
        o += (size_t)e10 - n;
    } else {
        memcpy(o, d, (size_t)e10);
        o += e10;
        *o++ = '.';
        memcpy(o, d + e10, n - (size_t)e10);
        o += n - (size_t)e10;
    }
    *o = 0;
    return (size_t)(o - dst);
}

/* ---- data and timing ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fill(double *v, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: { /* increase of a counter over 60 s, like rate() over 15 s samples */
            double inc = (double)(next() % 7 + 1) * 4 + (double)(next() % 1000) / 1000.0;
            v[i] = inc / 60.0;
            break;
        }
        case 1: v[i] = (double)((int64_t)(next() % 2000000000) - 1000000000) / 100.0; break;
        case 2: v[i] = (double)(next() >> 24); break;
        default: {
            uint64_t b;
            double d;
            do {
                b = next();
                memcpy(&d, &b, 8);
            } while (!isfinite(d));
            v[i] = d;
        }
        }
    }
}

static double run(const double *v, size_t n, int method, size_t *sink)
{
    char t[JW_NUM_CAP];
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        size_t total = 0;
        double t0 = bench_now_s();
        switch (method) {
        case 0:
            for (size_t i = 0; i < n; i++) total += old_fmt_go(t, v[i], 'p');
            break;
        case 1:
            for (size_t i = 0; i < n; i++) total += jw_fmt_go(t, v[i], 'p');
            break;
        default:
            for (size_t i = 0; i < n; i++) {
                int e;
                total += dtoa_digits(v[i], t, &e);
            }
        }
        double dt = (bench_now_s() - t0) / (double)n * 1e9;
        if (dt < best) best = dt;
        *sink += total;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
    char model[256] = "unknown";
    FILE *f = popen("lscpu | sed -n 's/^Model name: *//p'", "r");
    if (f) {
        if (fgets(model, sizeof model, f)) model[strcspn(model, "\n")] = 0;
        pclose(f);
    }
    printf("bench_dtoa: %zu values per data set, best of 5 runs\n", n);
    printf("machine: %s, nproc %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    printf("%-9s %16s %16s %16s %8s\n", "data", "before ns/value", "jw_fmt_go ns", "dtoa_digits ns", "speedup");
    static const char *names[] = {"rate", "decimal", "integer", "bits"};
    double *v = malloc(n * sizeof *v);
    if (!v) return 1;
    size_t sink = 0;
    for (int k = 0; k < 4; k++) {
        fill(v, n, k);
        double b = run(v, n, 0, &sink), a = run(v, n, 1, &sink), d = run(v, n, 2, &sink);
        printf("%-9s %16.1f %16.1f %16.1f %7.1fx\n", names[k], b, a, d, b / a);
    }
    printf("(checksum %zu)\n", sink);
    free(v);
    return 0;
}
