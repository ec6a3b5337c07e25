/*
 * dtoa — dtoa_, the shortest decimal that reads back as the same double.
 *
 * Contract:
 * - For a finite double v != 0, dtoa_decimal() finds the decimal m × 10^e
 *   with the fewest significant digits that strtod (round to nearest, ties
 *   to even) maps back to |v|; among several of that length it is the one
 *   nearest to |v|, ties to an even last digit. This is what Go's
 *   strconv.FormatFloat(v, 'e'|'f', -1, 64) prints, hence what Prometheus
 *   and Loki put on the wire, and what Python's repr() picks.
 * - Pure functions of their argument: no allocation, no globals that change,
 *   no locale, no errno. Safe from any thread.
 * - The sign is ignored; zero, NaN and ±Inf are the caller's business (the
 *   functions return m = 0 / an empty string for them, never garbage).
 */
#ifndef CAIRN_DTOA_H
#define CAIRN_DTOA_H
#include <stddef.h>
#include <stdint.h>

/* At most this many significant digits (17 for a double). */
#define DTOA_MAX_DIGITS 17

/*
 * Shortest decimal of |v|: *m (no trailing zeros, 1 <= *m < 10^17) and *e10
 * with |v| reading back from m × 10^e10. For 0, NaN and ±Inf: *m = 0, *e10 = 0.
 */
void dtoa_decimal(double v, uint64_t *m, int *e10);

/*
 * The same as text: digits[] gets the significant digits, NUL-terminated,
 * no leading or trailing zeros, and *e10 the exponent with
 * |v| = 0.d1d2d3… × 10^e10 (so 1.5 gives "15", 1 and 0.03 gives "3", -1).
 * Returns the digit count (0 with digits[0] = 0 for 0, NaN, ±Inf).
 */
size_t dtoa_digits(double v, char digits[DTOA_MAX_DIGITS + 1], int *e10);

/* Decimal digits of u into dst (no NUL); returns the count (1..20). */
size_t dtoa_u64(char *dst, uint64_t u);

/*
 * The internals, exposed for the exhaustive checks in test_dtoa.c:
 * the table entry for 10^e, e in [DTOA_POW10_MIN, DTOA_POW10_MAX]:
 * g = floor(10^e × 2^(127 - floor(log2 10^e))) + 1 as {high, low} 64 bits
 * (returns 0, or -1 with g untouched when e is out of range), and the three
 * fixed-point logarithms with their documented ranges.
 */
#define DTOA_POW10_MIN (-292)
#define DTOA_POW10_MAX 324
int dtoa_pow10_g(int e, uint64_t g[2]);
/* floor(log10 2^q), |q| <= 1100 */
int dtoa_flog10_pow2(int q);
/* floor(log10(3/4 × 2^q)), |q| <= 1100 */
int dtoa_flog10_34pow2(int q);
/* floor(log2 10^e), |e| <= 400 */
int dtoa_flog2_pow10(int e);
#endif
