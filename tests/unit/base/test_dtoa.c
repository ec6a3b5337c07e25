/*
 * test_dtoa — dtoa.c (shortest round-trip digits) and the number spellings
 * of json.c that use it.
 *
 * Three oracles, each independent of dtoa.c:
 *   - strtod: the printed text must read back to the same bits;
 *   - the printf loop: the smallest p with "%.{p-1}e" reading back is the
 *     shortest length among correctly rounded decimals, and its digits must
 *     be ours; "%.800e" (exact in glibc) gives both (p-1)-digit neighbours
 *     of v, neither of which may read back (nothing shorter exists);
 *   - legacy: the printf/strtod search api/json.c used before dtoa.c,
 *     copied here verbatim in behaviour, whose 'p', 'f' and 'e' spellings
 *     must match jw_fmt_go byte for byte.
 * The one intended difference: at the 46 powers of two 2^e (e in [-1021,
 * 1023]) whose rounding interval is lopsided (the gap below is half the
 * gap above) and the correctly rounded 16-digit decimal falls just outside
 * the short side, a 16-digit decimal on the long side still reads back. The
 * legacy search only tried correctly rounded candidates and printed 17
 * digits; dtoa (like Go's strconv, hence Prometheus) prints the 16.
 * The table of powers of ten and the three fixed-point logarithms are
 * checked exhaustively against exact big-integer arithmetic.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"

#include "dtoa.h"
#include "json.h"

/* ==== A small exact big integer (32-bit limbs, little endian) ====================== */

#define BN_LIMBS 80 /* 2560 bits: 10^400 · 2^128 fits */

typedef struct bn {
    int n; /* limbs in use; d[n-1] != 0 unless the value is 0 (then n = 0) */
    uint32_t d[BN_LIMBS];
} bn;

static void bn_norm(bn *a)
{
    while (a->n > 0 && a->d[a->n - 1] == 0) a->n--;
}

static void bn_set(bn *a, uint64_t v)
{
    memset(a, 0, sizeof *a);
    a->d[0] = (uint32_t)v;
    a->d[1] = (uint32_t)(v >> 32);
    a->n = 2;
    bn_norm(a);
}

static void bn_set128(bn *a, uint64_t hi, uint64_t lo)
{
    bn_set(a, lo);
    a->d[2] = (uint32_t)hi;
    a->d[3] = (uint32_t)(hi >> 32);
    a->n = 4;
    bn_norm(a);
}

static void bn_mul_small(bn *a, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t x = (uint64_t)a->d[i] * m + carry;
        a->d[i] = (uint32_t)x;
        carry = x >> 32;
    }
    if (carry) {
        assert_true(a->n < BN_LIMBS);
        a->d[a->n++] = (uint32_t)carry;
    }
}

static void bn_shl(bn *a, int s)
{
    if (a->n == 0 || s == 0) return;
    int w = s / 32, b = s % 32;
    assert_true(a->n + w + 1 <= BN_LIMBS);
    for (int i = a->n + w; i >= 0; i--) {
        uint64_t hi = i - w >= 0 && i - w < a->n ? a->d[i - w] : 0;
        uint64_t lo = i - w - 1 >= 0 && i - w - 1 < a->n ? a->d[i - w - 1] : 0;
        a->d[i] = (uint32_t)(((hi << 32 | lo) << b) >> 32);
    }
    a->n += w + 1;
    bn_norm(a);
}

static void bn_mul(bn *r, const bn *a, const bn *b)
{
    bn t;
    memset(&t, 0, sizeof t);
    assert_true(a->n + b->n <= BN_LIMBS);
    for (int i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < b->n; j++) {
            uint64_t x = (uint64_t)a->d[i] * b->d[j] + t.d[i + j] + carry;
            t.d[i + j] = (uint32_t)x;
            carry = x >> 32;
        }
        t.d[i + b->n] = (uint32_t)carry;
    }
    t.n = a->n + b->n;
    bn_norm(&t);
    *r = t;
}

static int bn_cmp(const bn *a, const bn *b)
{
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->d[i] != b->d[i]) return a->d[i] < b->d[i] ? -1 : 1;
    return 0;
}

static int bn_bitlen(const bn *a)
{
    if (a->n == 0) return 0;
    int b = 32;
    while (!(a->d[a->n - 1] >> (b - 1))) b--;
    return (a->n - 1) * 32 + b;
}

static bn pow10_bn[401]; /* 10^0 .. 10^400, filled by the setup */

static int setup_pow10(void **state)
{
    (void)state;
    bn_set(&pow10_bn[0], 1);
    for (int i = 1; i <= 400; i++) {
        pow10_bn[i] = pow10_bn[i - 1];
        bn_mul_small(&pow10_bn[i], 10);
    }
    return 0;
}

/* Sign of x2·2^a − x10·10^b, exactly. */
static int cmp_2_10(uint32_t x2, int a, uint32_t x10, int b)
{
    bn l, r;
    bn_set(&l, x2);
    bn_set(&r, x10);
    if (a >= 0) bn_shl(&l, a);
    else bn_shl(&r, -a);
    if (b >= 0) bn_mul(&r, &r, &pow10_bn[b]);
    else bn_mul(&l, &l, &pow10_bn[-b]);
    return bn_cmp(&l, &r);
}

/* ==== The legacy search (api/json.c before dtoa.c), as the byte-for-byte oracle ==== */

static size_t legacy_parse_e(const char *t, char digits[18], int *e10)
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

static int legacy_try_prec(double a, int prec, char digits[18], int *e10, size_t *n)
{
    char t[40];
    snprintf(t, sizeof t, "%.*e", prec, a);
    if (strtod(t, NULL) != a) return 0;
    *n = legacy_parse_e(t, digits, e10);
    return 1;
}

static int legacy_round_digits(const char *d17, int k, char *out, int *carry)
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

static int legacy_reads_back(const char *digits, int e10, double a)
{
    char t[40];
    snprintf(t, sizeof t, "0.%se%d", digits, e10);
    return strtod(t, NULL) == a;
}

static size_t legacy_shortest(double v, char digits[18], int *e10)
{
    double a = fabs(v);
    size_t n = 0;
    if (a < 9007199254740992.0 && a == floor(a) && a >= 1) {
        char s[24];
        n = (size_t)snprintf(s, sizeof s, "%llu", (unsigned long long)a);
        *e10 = (int)n;
        while (n > 1 && s[n - 1] == '0') n--;
        memcpy(digits, s, n);
        digits[n] = 0;
        return n;
    }
    if (a < 2.2250738585072014e-308) {
        for (int p = 0; p < 17; p++)
            if (legacy_try_prec(a, p, digits, e10, &n)) return n;
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
        if (!legacy_round_digits(d17, want, c, &carry)) {
            if (legacy_try_prec(a, want - 1, digits, e10, &n)) return n;
            continue;
        }
        int ex = x + carry;
        if (legacy_reads_back(c, ex, a)) {
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

/* The legacy layout of jw_fmt_go around already computed digits. */
static void legacy_layout(char *dst, double v, char fmt, const char *d, size_t n, int e10)
{
    char *o = dst;
    if (isnan(v)) {
        strcpy(dst, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(dst, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(v)) *o++ = '-';
    if (v == 0) {
        strcpy(o, "0");
        return;
    }
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
        sprintf(o, "%02d", x);
        return;
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
}

/* ==== Oracles ======================================================================= */

/* 2^e, e in [-1021, 1023], mantissa bits zero: the lopsided intervals. */
static int is_lopsided(double v)
{
    uint64_t b = t_bits(v) & 0x7fffffffffffffffULL;
    return (b & 0x000fffffffffffffULL) == 0 && (b >> 52) > 1 && (b >> 52) < 0x7ff;
}

/* Shortest correctly rounded length by the printf loop, its digits and exponent. */
static size_t printf_loop(double a, char d[18], int *e10)
{
    char t[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(t, sizeof t, "%.*e", p - 1, a);
        if (strtod(t, NULL) == a) return legacy_parse_e(t, d, e10);
    }
    fail_msg("%.17g: no precision reads back", a);
    return 0;
}

/* Does the decimal 0.<digits[0..n)> × 10^e10 read back as a? */
static int digits_read_back(const char *digits, size_t n, int e10, double a)
{
    char t[64] = "0.";
    memcpy(t + 2, digits, n);
    char *o = t + 2 + n;
    *o++ = 'e';
    if (e10 < 0) *o++ = '-';
    int x = e10 < 0 ? -e10 : e10;
    if (x >= 100) *o++ = (char)('0' + x / 100);
    if (x >= 10) *o++ = (char)('0' + x / 10 % 10);
    *o++ = (char)('0' + x % 10);
    *o = 0;
    return strtod(t, NULL) == a;
}

/* Scale of the random loops: CAIRN_DTOA_SCALE=10 runs ten times as many values. */
static long scale(long n)
{
    const char *s = getenv("CAIRN_DTOA_SCALE");
    long k = s ? atol(s) : 1;
    return n * (k > 0 ? k : 1);
}

/*
 * Nothing with fewer digits than `n` reads back: both (n-1)-digit decimals
 * around a (from its exact expansion) fail. And if the correctly rounded
 * n-digit decimal reads back, ours is that one.
 */
static void check_minimal(double a, const char *d, size_t n, int e10)
{
    static char exact[900];
    snprintf(exact, sizeof exact, "%.800e", a);
    char dig[820];
    size_t k = 0;
    const char *p = exact;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') dig[k++] = *p;
    int x = atoi(p + 1) + 1;
    if (n > 1) {
        size_t m = n - 1;
        char lo[20], hi[21];
        memcpy(lo, dig, m);
        memcpy(hi, dig, m);
        int hx = x;
        size_t i = m;
        while (i > 0 && hi[i - 1] == '9') hi[--i] = '0';
        if (i == 0) {
            memmove(hi + 1, hi, m);
            hi[0] = '1';
            hx++;
        } else {
            hi[i - 1]++;
        }
        if (digits_read_back(lo, m, x, a) || digits_read_back(hi, m, hx, a)) {
            fail_msg("%a: %zu digits %s, but %zu read back", a, n, d, m);
        }
    }
    char cd[18];
    int re;
    char t[40];
    snprintf(t, sizeof t, "%.*e", (int)n - 1, a);
    if (strtod(t, NULL) == a) {
        size_t rn = legacy_parse_e(t, cd, &re);
        if (rn != n || re != e10 || memcmp(cd, d, n)) fail_msg("%a: %s e%d is not the nearest (%s)", a, d, e10, t);
    }
}

typedef struct tally {
    long values, lopsided_shorter;
} tally;

/*
 * Every check on one finite nonzero v: read back (digits and the jw text),
 * legacy byte for byte in 'p', 'f' and 'e', and with `oracle` the printf
 * loop and the minimality check.
 */
static void check_value(double v, int oracle, tally *ty)
{
    if (!isfinite(v) || v == 0) return;
    double a = fabs(v);
    char d[DTOA_MAX_DIGITS + 1];
    int e10;
    size_t n = dtoa_digits(v, d, &e10);
    if (n < 1 || n > 17 || strlen(d) != n || d[0] == '0' || d[n - 1] == '0')
        fail_msg("%a: bad digits \"%s\" (n %zu)", v, d, n);
    if (!digits_read_back(d, n, e10, a)) fail_msg("%a: 0.%se%d does not read back", v, d, e10);
    uint64_t m;
    int me;
    dtoa_decimal(v, &m, &me);
    char md[24];
    size_t mn = dtoa_u64(md, m);
    if (mn != n || memcmp(md, d, n) || me != e10 - (int)n) fail_msg("%a: dtoa_decimal disagrees", v);

    char ld[18];
    int le;
    size_t ln = legacy_shortest(v, ld, &le);
    int lopsided = 0;
    if (ln != n || le != e10 || memcmp(ld, d, n)) {
        if (!is_lopsided(v) || n + 1 != ln) fail_msg("%a: dtoa 0.%se%d, legacy 0.%se%d", v, d, e10, ld, le);
        lopsided = 1;
        ty->lopsided_shorter++;
        check_minimal(a, d, n, e10);
    }
    static const char fmts[] = {'p', 'f', 'e'};
    for (int i = 0; i < 3; i++) {
        char got[JW_NUM_CAP], want[JW_NUM_CAP];
        size_t gn = jw_fmt_go(got, v, fmts[i]);
        if (gn != strlen(got)) fail_msg("%a: length %zu of \"%s\"", v, gn, got);
        if (i == 0 && t_bits(strtod(got, NULL)) != t_bits(v)) fail_msg("%a: \"%s\" does not read back", v, got);
        legacy_layout(want, v, fmts[i], d, n, e10);
        if (strcmp(got, want)) fail_msg("%a '%c': \"%s\" vs legacy layout \"%s\"", v, fmts[i], got, want);
        if (!lopsided) {
            legacy_layout(want, v, fmts[i], ld, ln, le);
            if (strcmp(got, want)) fail_msg("%a '%c': \"%s\" vs legacy \"%s\"", v, fmts[i], got, want);
        }
    }
    if (oracle) {
        char pd[18];
        int pe;
        size_t pn = printf_loop(a, pd, &pe);
        if (!lopsided && (pn != n || pe != e10 || memcmp(pd, d, n)))
            fail_msg("%a: dtoa 0.%se%d, printf loop 0.%se%d", v, d, e10, pd, pe);
        check_minimal(a, d, n, e10);
    }
    ty->values++;
}

/* ==== Tests ========================================================================= */

static void test_dtoa_table_is_exact(void **state)
{
    (void)state;
    for (int e = DTOA_POW10_MIN; e <= DTOA_POW10_MAX; e++) {
        uint64_t g[2];
        assert_int_equal(dtoa_pow10_g(e, g), 0);
        assert_true(g[0] >> 63); /* g in [2^127, 2^128) */
        const bn *N = &pow10_bn[e < 0 ? -e : e];
        bn G, G1, l, r; /* G = g - 1, G1 = g */
        bn_set128(&G1, g[0], g[1]);
        if (g[1]) bn_set128(&G, g[0], g[1] - 1);
        else bn_set128(&G, g[0] - 1, UINT64_MAX);
        int L;
        if (e >= 0) {
            L = bn_bitlen(N) - 1;
            int s = L - 127; /* g - 1 == floor(N / 2^s) */
            l = G, r = G1;
            bn n2 = *N;
            if (s >= 0) bn_shl(&l, s), bn_shl(&r, s);
            else bn_shl(&n2, -s);
            assert_true(bn_cmp(&l, &n2) <= 0);
            assert_true(bn_cmp(&n2, &r) < 0);
        } else {
            L = -bn_bitlen(N); /* 10^e = 1/N with N not a power of two */
            bn p2; /* g - 1 == floor(2^(127-L) / N) */
            bn_set(&p2, 1);
            bn_shl(&p2, 127 - L);
            bn_mul(&l, &G, N);
            bn_mul(&r, &G1, N);
            assert_true(bn_cmp(&l, &p2) <= 0);
            assert_true(bn_cmp(&p2, &r) < 0);
        }
        if (dtoa_flog2_pow10(e) != L) fail_msg("floor(log2 10^%d) = %d, got %d", e, L, dtoa_flog2_pow10(e));
    }
    uint64_t g[2] = {7, 7};
    assert_int_equal(dtoa_pow10_g(DTOA_POW10_MIN - 1, g), -1);
    assert_int_equal(dtoa_pow10_g(DTOA_POW10_MAX + 1, g), -1);
    assert_int_equal(g[0], 7);
}

static void test_dtoa_logarithms_are_exact(void **state)
{
    (void)state;
    for (int q = -1100; q <= 1100; q++) {
        int k = dtoa_flog10_pow2(q); /* 10^k <= 2^q < 10^(k+1) */
        if (!(cmp_2_10(1, q, 1, k) >= 0 && cmp_2_10(1, q, 1, k + 1) < 0))
            fail_msg("floor(log10 2^%d) != %d", q, k);
        k = dtoa_flog10_34pow2(q); /* 10^k <= 3·2^(q-2) < 10^(k+1) */
        if (!(cmp_2_10(3, q - 2, 1, k) >= 0 && cmp_2_10(3, q - 2, 1, k + 1) < 0))
            fail_msg("floor(log10(3/4 · 2^%d)) != %d", q, k);
    }
    for (int e = -400; e <= 400; e++) {
        int l = dtoa_flog2_pow10(e); /* 2^l <= 10^e < 2^(l+1) */
        if (!(cmp_2_10(1, l, 1, e) <= 0 && cmp_2_10(1, l + 1, 1, e) > 0)) fail_msg("floor(log2 10^%d) != %d", e, l);
    }
}

static void expect(double v, const char *digits, int e10)
{
    char d[DTOA_MAX_DIGITS + 1];
    int e;
    size_t n = dtoa_digits(v, d, &e);
    if (strcmp(d, digits) || e != e10 || n != strlen(digits))
        fail_msg("%a: got 0.%se%d, want 0.%se%d", v, d, e, digits, e10);
}

static void test_dtoa_known_values(void **state)
{
    (void)state;
    expect(1, "1", 1);
    expect(-1, "1", 1);
    expect(0.1, "1", 0);
    expect(0.3, "3", 0);
    expect(0.1 + 0.2, "30000000000000004", 0);
    expect(1.5, "15", 1);
    expect(0.03, "3", -1);
    expect(100, "1", 3);
    expect(123.456, "123456", 3);
    expect(1.0 / 3, "3333333333333333", 0);
    expect(2.0 / 3, "6666666666666666", 0);
    expect(1e23, "1", 24);
    expect(9007199254740992.0, "9007199254740992", 16);
    expect(9007199254740993.0, "9007199254740992", 16); /* the literal rounds to 2^53 */
    expect(18014398509481984.0, "18014398509481984", 17);
    expect(1152921504606846976.0, "1152921504606847", 19); /* 2^60 */
    expect(123456789012345680.0, "12345678901234568", 18);
    expect(DBL_MAX, "17976931348623157", 309);
    expect(DBL_MIN, "22250738585072014", -307);
    expect(t_double(0x000fffffffffffffULL), "2225073858507201", -307); /* largest subnormal */
    expect(t_double(1), "5", -323);                                   /* 5e-324 */
    expect(t_double(2), "1", -322);                                   /* 1e-323 */
    expect(t_double(3), "15", -322);                                  /* 1.5e-323 */
    expect(t_double(4), "2", -322);
    expect(1e-6, "1", -5);
    expect(1e21, "1", 22);
    expect(5e-324, "5", -323);
    /* lopsided power of two: 16 digits where the old search printed 7.1202363472230444e-307 */
    expect(ldexp(1, -1017), "7120236347223045", -306);
    /* Zero, NaN and ±Inf have no digits. */
    char d[DTOA_MAX_DIGITS + 1] = "x";
    int e = 99;
    assert_int_equal(dtoa_digits(0.0, d, &e), 0);
    assert_string_equal(d, "");
    assert_int_equal(e, 0);
    assert_int_equal(dtoa_digits(-0.0, d, &e), 0);
    assert_int_equal(dtoa_digits(NAN, d, &e), 0);
    assert_int_equal(dtoa_digits(-INFINITY, d, &e), 0);
    uint64_t m = 5;
    dtoa_decimal(INFINITY, &m, &e);
    assert_int_equal(m, 0);
    assert_int_equal(e, 0);
}

static void test_dtoa_u64_digits(void **state)
{
    (void)state;
    char t[24];
    static const struct {
        uint64_t u;
        const char *s;
    } cases[] = {{0, "0"},
                 {9, "9"},
                 {10, "10"},
                 {99, "99"},
                 {100, "100"},
                 {12345678901234567ULL, "12345678901234567"},
                 {9999999999999999999ULL, "9999999999999999999"},
                 {10000000000000000000ULL, "10000000000000000000"},
                 {UINT64_MAX, "18446744073709551615"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = dtoa_u64(t, cases[i].u);
        t[n] = 0;
        assert_string_equal(t, cases[i].s);
    }
    uint64_t p = 1;
    for (int k = 1; k <= 20; k++, p *= 10) {
        size_t n = dtoa_u64(t, p);
        assert_int_equal(n, k);
        n = dtoa_u64(t, p - 1 + (k == 1));
        assert_int_equal(n, k == 1 ? 1 : k - 1);
    }
}

/* The spellings the JSON APIs put on the wire (Go's strconv, Prometheus' jsonutil). */
static void test_dtoa_jw_spellings(void **state)
{
    (void)state;
    static const struct {
        double v;
        char fmt;
        const char *s;
    } cases[] = {
        {0.1 + 0.2, 'p', "0.30000000000000004"},
        {1e-7, 'p', "1e-07"},
        {1.5e-7, 'f', "0.00000015"},
        {1e100, 'p', "1e+100"},
        {-1e-100, 'p', "-1e-100"},
        {5e-324, 'e', "5e-324"},
        {5e-324, 'p', "5e-324"},
        {1e21, 'f', "1000000000000000000000"},
        {999999999999999900000.0, 'p', "999999999999999900000"},
        {123.456, 'e', "1.23456e+02"},
        {-0.0, 'e', "-0"},
        {0x1p-1017, 'p', "7.120236347223045e-307"},
        {0.000001, 'p', "0.000001"},
        {0x1.0c6f7a0b5ed8cp-20, 'p', "9.999999999999997e-07"}, /* the double below 1e-6 */
        {NAN, 'e', "NaN"},
        {-INFINITY, 'f', "-Inf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char t[JW_NUM_CAP];
        size_t n = jw_fmt_go(t, cases[i].v, cases[i].fmt);
        assert_string_equal(t, cases[i].s);
        assert_int_equal(n, strlen(cases[i].s));
    }
    char t[JW_NUM_CAP];
    assert_int_equal(jw_fmt_go(t, -DBL_TRUE_MIN, 'f'), 327); /* "-0." + 323 zeros + "5" */
    assert_int_equal(jw_fmt_go(t, DBL_MAX, 'f'), 309);
}

/* Every power of two and its two neighbours, both signs, with the full oracle. */
static void test_dtoa_powers_of_two_and_neighbours(void **state)
{
    (void)state;
    tally ty = {0, 0};
    for (uint64_t ex = 0; ex < 0x7ff; ex++) {
        for (int s = 0; s < 2; s++) {
            uint64_t b = ex << 52 | (uint64_t)s << 63;
            check_value(t_double(b), 1, &ty);
            check_value(t_double(b + 1), 1, &ty);
            if (ex) check_value(t_double(b - 1), 1, &ty);
        }
    }
    /* the lopsided intervals where legacy printed 17 digits and dtoa 16: 46 per sign */
    assert_int_equal(ty.lopsided_shorter, 92);
}

/* Powers of ten, their neighbours, and decimal-looking values. */
static void test_dtoa_decimal_like_values(void **state)
{
    (void)state;
    t_rng_reset();
    tally ty = {0, 0};
    for (int e = -324; e <= 308; e++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", e);
        double p = strtod(t, NULL);
        check_value(p, 1, &ty);
        check_value(nextafter(p, 0), 1, &ty);
        check_value(nextafter(p, INFINITY), 1, &ty);
        for (int k = 2; k <= 9; k++) check_value(p * k, 0, &ty);
    }
    for (long i = 0; i < scale(150000); i++) {
        int64_t n = (int64_t)t_randn(2000000000) - 1000000000;
        static const double div[] = {1, 10, 100, 1000, 1e6, 1e9};
        double v = (double)n / div[i % 6];
        check_value(v, i % 8 == 0, &ty);
    }
    for (long i = 0; i < scale(150000); i++) { /* integers, below and above 2^53 */
        double v = i % 2 ? (double)(int64_t)(t_rand() >> (t_randn(64))) : (double)(t_rand() >> 11);
        check_value(v, i % 8 == 0, &ty);
    }
    for (long i = 0; i < scale(100000); i++) { /* rates: ratios of small counters, as rate() produces */
        double v = (double)t_randn(100000) / (double)(t_randn(3600) + 1);
        check_value(v, i % 8 == 0, &ty);
    }
    assert_true(ty.values > scale(390000));
}

/* Random bit patterns: all exponents, subnormals, min and max. */
static void test_dtoa_random_bit_patterns(void **state)
{
    (void)state;
    t_rng_reset();
    tally ty = {0, 0};
    static const double edge[] = {DBL_MIN, DBL_MAX, DBL_TRUE_MIN, DBL_EPSILON, 1 - DBL_EPSILON / 2, 1 + DBL_EPSILON};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        check_value(edge[i], 1, &ty);
        check_value(nextafter(edge[i], 0), 1, &ty);
        check_value(-nextafter(edge[i], INFINITY), 1, &ty);
    }
    for (uint64_t b = 1; b < 20000; b++) check_value(t_double(b), b < 2000, &ty); /* the smallest subnormals */
    for (long i = 0; i < scale(500000); i++) {
        uint64_t b = t_rand();
        if (i % 4 == 1) b &= 0x800fffffffffffffULL;          /* subnormal */
        if (i % 4 == 2) b = (b & 0x800fffffffffffffULL) | (uint64_t)(i % 2047) << 52; /* every exponent */
        check_value(t_double(b), i % 16 == 0, &ty);
    }
    assert_true(ty.values > scale(490000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtoa_table_is_exact),
        cmocka_unit_test(test_dtoa_logarithms_are_exact),
        cmocka_unit_test(test_dtoa_known_values),
        cmocka_unit_test(test_dtoa_u64_digits),
        cmocka_unit_test(test_dtoa_jw_spellings),
        cmocka_unit_test(test_dtoa_powers_of_two_and_neighbours),
        cmocka_unit_test(test_dtoa_decimal_like_values),
        cmocka_unit_test(test_dtoa_random_bit_patterns),
    };
    return cmocka_run_group_tests(tests, setup_pow10, NULL);
}
