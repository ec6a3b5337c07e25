/*
 * json.c — the streaming JSON writer (json.h) and the number spellings of
 * the two query APIs.
 *
 * Why stream: a range query over thousands of series is megabytes of JSON.
 * Building a tree of values and then serialising it would hold the result
 * twice. Here the handler walks the engine's result once and every token is
 * appended to one buffer, which libmicrohttpd then sends without a copy
 * (http_respond_take). The writer keeps only a small stack of "is this
 * container still empty" flags to place commas, so a handler cannot produce
 * `[,1]` or `{"a":1"b":2}` however it interleaves calls.
 *
 * Strings follow Go's encoding/json (Prometheus and Loki are Go servers and
 * Grafana has only ever seen their output): quote, backslash, \n \r \t \b \f
 * as short escapes, other control bytes as \u00XX, the HTML characters
 * < > & as \u003c \u003e \u0026, U+2028 and U+2029 escaped (they break
 * JavaScript string literals), and each byte that does not start a valid
 * UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF
 * included) becomes \ufffd. Runs of plain bytes are copied with one memcpy.
 *
 * Numbers: sample values must be strings holding the shortest decimal that
 * parses back to the same double. The digits come from dtoa.c (Schubfach:
 * integer arithmetic only; ~36 ns per value spelled, where the printf/strtod
 * search used before took ~430 ns, docs/benchmarks/http_query.md), and are
 * laid out like Go's strconv.FormatFloat(v, 'f'|'e', -1): Prometheus uses
 * 'e' only for |v| < 1e-6 or |v| >= 1e21 (two-digit minimum exponent:
 * "1e-07"), Loki always 'f'.
 *
 * Timestamps are JSON numbers of seconds with millisecond precision:
 * Prometheus prints the fraction as exactly three digits when it is not zero
 * (1435781451.050), Loki trims trailing zeros (1435781451.05). Integer
 * arithmetic only, so nothing is lost to float rounding.
 *
 * Thread safety: a writer belongs to one request; nothing here is shared.
 */
#include <math.h>
#include <string.h>

#include "cairn.h"
#include "dtoa.h"
#include "err.h"
#include "json.h"
#include "mem.h"

/* ==== Writer state ================================================================ */

void jw_init(jw *w, size_t reserve)
{
    memset(w, 0, sizeof *w);
    buf_init(&w->b);
    if (reserve && buf_reserve(&w->b, reserve)) w->err = CAIRN_ENOMEM;
}

void jw_free(jw *w)
{
    buf_free(&w->b);
    w->depth = 0;
}

int jw_error(const jw *w) { return w->err; }

int jw_take(jw *w, void **p, size_t *len, size_t *cap)
{
    *p = NULL;
    *len = *cap = 0;
    if (w->err || !w->b.p) {
        int rc = w->err ? w->err : CAIRN_ENOMEM;
        jw_free(w);
        return rc;
    }
    *p = w->b.p;
    *len = w->b.len;
    *cap = w->b.cap;
    buf_init(&w->b);
    return CAIRN_OK;
}

static void put(jw *w, const void *p, size_t n)
{
    if (!w->err && buf_put(&w->b, p, n)) w->err = CAIRN_ENOMEM;
}

static void putc1(jw *w, char c)
{
    if (w->err) return;
    if (w->b.len < w->b.cap) w->b.p[w->b.len++] = (uint8_t)c;
    else if (buf_put(&w->b, &c, 1)) w->err = CAIRN_ENOMEM;
}

/* Before any value (or key): the comma, unless first in its container or after a key. */
static void sep(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (w->depth == 0) return;
    if (w->first[w->depth - 1]) w->first[w->depth - 1] = 0;
    else putc1(w, ',');
}

static void open_c(jw *w, char c)
{
    sep(w);
    if (w->depth == JW_MAX_DEPTH) {
        if (!w->err) w->err = CAIRN_EINTERNAL;
        return;
    }
    w->first[w->depth++] = 1;
    putc1(w, c);
}

static void close_c(jw *w, char c)
{
    if (w->depth == 0) {
        if (!w->err) w->err = CAIRN_EINTERNAL;
        return;
    }
    w->depth--;
    putc1(w, c);
}

void jw_obj(jw *w) { open_c(w, '{'); }
void jw_obj_end(jw *w) { close_c(w, '}'); }
void jw_arr(jw *w) { open_c(w, '['); }
void jw_arr_end(jw *w) { close_c(w, ']'); }

/* ==== Strings ======================================================================== */

/* 1 for bytes that need no escape: printable ASCII except " \ < > & */
static const uint8_t plain[256] = {
    ['\x20'] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['*'] = 1,
    ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, [':'] = 1, [';'] = 1, ['='] = 1,
    ['?'] = 1, ['@'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
    ['\x7f'] = 1,
};

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 if invalid. *cp gets the code point. */
static size_t utf8_len(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) return *cp = c, 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, v = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, v = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, v = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

int jw_escape(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    RETURN_IF_ERR(buf_reserve(b, n + 2));
    b->p[b->len++] = '"';
    while (p < end) {
        const uint8_t *run = p;
        while (p < end && plain[*p]) p++;
        if (p > run) RETURN_IF_ERR(buf_put(b, run, (size_t)(p - run)));
        if (p == end) break;
        uint8_t c = *p;
        char esc[8];
        if (c >= 0x80) {
            uint32_t cp;
            size_t l = utf8_len(p, (size_t)(end - p), &cp);
            if (!l) {
                RETURN_IF_ERR(buf_put(b, "\\ufffd", 6));
                p++;
            } else if (cp == 0x2028 || cp == 0x2029) {
                RETURN_IF_ERR(buf_put(b, cp == 0x2028 ? "\\u2028" : "\\u2029", 6));
                p += l;
            } else {
                RETURN_IF_ERR(buf_put(b, p, l));
                p += l;
            }
            continue;
        }
        p++;
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        default: break;
        }
        if (e) {
            RETURN_IF_ERR(buf_put(b, e, 2));
        } else {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            RETURN_IF_ERR(buf_put(b, esc, 6));
        }
    }
    return buf_put_u8(b, '"');
}

static void str_body(jw *w, const char *s, size_t n)
{
    if (!w->err && jw_escape(&w->b, s, n)) w->err = CAIRN_ENOMEM;
}

void jw_keyn(jw *w, const char *k, size_t n)
{
    sep(w);
    str_body(w, k, n);
    putc1(w, ':');
    w->after_key = 1;
}

void jw_key(jw *w, const char *k_z) { jw_keyn(w, k_z, strlen(k_z)); }

void jw_str(jw *w, const char *s, size_t n)
{
    sep(w);
    str_body(w, s, n);
}

void jw_str_z(jw *w, const char *s_z) { jw_str(w, s_z, strlen(s_z)); }

void jw_raw(jw *w, const char *json, size_t n)
{
    sep(w);
    put(w, json, n);
}

/* ==== Integers ========================================================================== */

/* Decimal digits of u into the end of dst[21]; returns the start. */
static char *u64_digits(char *end, uint64_t u)
{
    *--end = 0;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    return end;
}

void jw_uint(jw *w, uint64_t v)
{
    char tmp[24];
    char *s = u64_digits(tmp + sizeof tmp, v);
    jw_raw(w, s, strlen(s));
}

void jw_int(jw *w, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char *s = u64_digits(tmp + sizeof tmp, u);
    if (v < 0) *--s = '-';
    jw_raw(w, s, strlen(s));
}

void jw_bool(jw *w, int v) { v ? jw_raw(w, "true", 4) : jw_raw(w, "false", 5); }
void jw_null(jw *w) { jw_raw(w, "null", 4); }

/* ==== Floats ================================================================================ */

size_t jw_shortest(double v, char digits[18], int *e10) { return dtoa_digits(v, digits, e10); }

size_t jw_fmt_go(char *dst, double v, char fmt)
{
    if (isnan(v)) {
        memcpy(dst, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(dst, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    char *o = dst;
    if (signbit(v)) *o++ = '-';
    if (v == 0) {
        *o++ = '0';
        *o = 0;
        return (size_t)(o - dst);
    }
    char d[DTOA_MAX_DIGITS + 1];
    int e10;
    size_t n = dtoa_digits(v, d, &e10);
    if (fmt == 'p') {
        double a = fabs(v); /* compared as doubles, as Prometheus does */
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
        if (x >= 100) {
            *o++ = (char)('0' + x / 100);
            x %= 100;
        }
        *o++ = (char)('0' + x / 10);
        *o++ = (char)('0' + x % 10);
        *o = 0;
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

static void quoted_num(jw *w, double v, char fmt)
{
    char t[JW_NUM_CAP + 2];
    t[0] = '"';
    size_t n = jw_fmt_go(t + 1, v, fmt);
    t[n + 1] = '"';
    jw_raw(w, t, n + 2);
}

void jw_prom_value(jw *w, double v) { quoted_num(w, v, 'p'); }
void jw_loki_value(jw *w, double v) { quoted_num(w, v, 'f'); }

void jw_num(jw *w, double v)
{
    if (isnan(v) || isinf(v)) {
        jw_null(w);
        return;
    }
    char t[JW_NUM_CAP];
    size_t n = jw_fmt_go(t, v, 'p');
    jw_raw(w, t, n);
}

static void time_ms(jw *w, int64_t t_ms, int trim)
{
    char t[32], *o = t;
    uint64_t u = t_ms < 0 ? (uint64_t)0 - (uint64_t)t_ms : (uint64_t)t_ms;
    if (t_ms < 0) *o++ = '-';
    char tmp[24];
    char *s = u64_digits(tmp + sizeof tmp, u / 1000);
    size_t l = strlen(s);
    memcpy(o, s, l);
    o += l;
    unsigned frac = (unsigned)(u % 1000);
    if (frac) {
        *o++ = '.';
        *o++ = (char)('0' + frac / 100);
        *o++ = (char)('0' + frac / 10 % 10);
        *o++ = (char)('0' + frac % 10);
        if (trim)
            while (o[-1] == '0') o--;
    }
    jw_raw(w, t, (size_t)(o - t));
}

void jw_prom_time(jw *w, int64_t t_ms) { time_ms(w, t_ms, 0); }
void jw_loki_time(jw *w, int64_t t_ms) { time_ms(w, t_ms, 1); }

void jw_ns_str(jw *w, int64_t t_ns)
{
    char t[32];
    t[0] = '"';
    uint64_t u = t_ns < 0 ? (uint64_t)0 - (uint64_t)t_ns : (uint64_t)t_ns;
    char tmp[24];
    char *s = u64_digits(tmp + sizeof tmp, u);
    size_t l = strlen(s), k = 1;
    if (t_ns < 0) t[k++] = '-';
    memcpy(t + k, s, l);
    k += l;
    t[k++] = '"';
    jw_raw(w, t, k);
}
