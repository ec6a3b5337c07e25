/* dur — Prometheus and Go duration parsers (see dur.h). */
#include "dur.h"

#include <string.h>

#include "cairn.h"

int dur_parse_prom(const char *s, size_t n, int64_t *ms)
{
    /* largest first: units must appear in this order, each at most once */
    static const struct {
        const char *u;
        int64_t ms;
    } units[] = {
        {"y", 365LL * 24 * 3600 * 1000}, {"w", 7LL * 24 * 3600 * 1000}, {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},            {"m", 60LL * 1000},            {"s", 1000},
        {"ms", 1},
    };
    if (n == 1 && s[0] == '0') {
        *ms = 0;
        return CAIRN_OK;
    }
    size_t i = 0;
    int next_unit = 0;
    int64_t total = 0;
    if (n == 0) return CAIRN_EINVAL;
    while (i < n) {
        if (s[i] < '0' || s[i] > '9') return CAIRN_EINVAL;
        int64_t v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (v > (INT64_MAX - 9) / 10) return CAIRN_EINVAL;
            v = v * 10 + (s[i++] - '0');
        }
        size_t u0 = i;
        while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) i++;
        size_t ul = i - u0;
        int found = -1;
        for (int k = next_unit; k < 7 && found < 0; k++)
            if (strlen(units[k].u) == ul && memcmp(units[k].u, s + u0, ul) == 0) found = k;
        if (found < 0) return CAIRN_EINVAL;
        if (v > INT64_MAX / units[found].ms) return CAIRN_EINVAL;
        v *= units[found].ms;
        if (total > INT64_MAX - v) return CAIRN_EINVAL;
        total += v;
        next_unit = found + 1;
    }
    *ms = total;
    return CAIRN_OK;
}

static int dur_digit(char c) { return c >= '0' && c <= '9'; }

int dur_parse_go(const char *s, size_t n, double *sec)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return CAIRN_EINVAL;
    if (n - i == 1 && s[i] == '0') {
        *sec = 0;
        return CAIRN_OK;
    }
    double total = 0;
    while (i < n) {
        size_t st = i;
        double whole = 0, frac = 0, scale = 1;
        while (i < n && dur_digit(s[i])) whole = whole * 10 + (s[i++] - '0');
        int had_int = i > st;
        int had_frac = 0;
        if (i < n && s[i] == '.') {
            i++;
            size_t fs = i;
            while (i < n && dur_digit(s[i])) {
                scale /= 10;
                frac += (s[i++] - '0') * scale;
            }
            had_frac = i > fs;
        }
        if (!had_int && !had_frac) return CAIRN_EINVAL;
        size_t us = i;
        while (i < n && s[i] != '.' && !dur_digit(s[i])) i++;
        size_t ul = i - us;
        const char *u = s + us;
        double mul;
        if (ul == 2 && !memcmp(u, "ns", 2)) mul = 1e-9;
        else if ((ul == 2 && !memcmp(u, "us", 2)) || (ul == 3 && !memcmp(u, "\xc2\xb5s", 3)) ||
                 (ul == 3 && !memcmp(u, "\xce\xbcs", 3)))
            mul = 1e-6;
        else if (ul == 2 && !memcmp(u, "ms", 2)) mul = 1e-3;
        else if (ul == 1 && u[0] == 's') mul = 1;
        else if (ul == 1 && u[0] == 'm') mul = 60;
        else if (ul == 1 && u[0] == 'h') mul = 3600;
        else return CAIRN_EINVAL;
        total += (whole + frac) * mul;
    }
    *sec = neg ? -total : total;
    return CAIRN_OK;
}
