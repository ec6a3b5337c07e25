/*
 * json — jw_, a streaming JSON writer into one growable buffer.
 *
 * Contract:
 * - A jw appends tokens to a `buf` (memory from mem_); commas and nesting are
 *   tracked by the writer, so handlers emit values in order and never patch
 *   text. The finished buffer is handed to http_respond_take() as it is
 *   (jw_take): a response is built once and never copied.
 * - Errors are sticky: after an allocation failure (or nesting deeper than
 *   JW_MAX_DEPTH, a bug) every call is a no-op and jw_error() says why.
 * - Strings are escaped as Go's encoding/json does (which is what Prometheus
 *   and Loki emit): `"` `\` and control characters, `<` `>` `&` as \u003c…,
 *   U+2028/U+2029 escaped, and every byte that is not part of valid UTF-8
 *   replaced by the six characters \ufffd.
 * - Numbers: jw_prom_value / jw_loki_value write sample values as JSON
 *   strings ("NaN", "+Inf", "-Inf", shortest round-trip decimals), and
 *   jw_prom_time / jw_loki_time write millisecond timestamps as JSON numbers
 *   of seconds, each in the spelling its server uses (docs/api.md).
 * - Not thread-safe: one writer per request.
 */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JW_MAX_DEPTH 48

typedef struct jw {
    buf b;
    int err;     /* 0, CAIRN_ENOMEM or CAIRN_EINTERNAL (nesting); sticky */
    int depth;   /* open containers */
    int after_key; /* a key was written; the next value takes no comma */
    uint8_t first[JW_MAX_DEPTH]; /* 1 while the container at that depth is still empty */
} jw;

/* Start an empty writer; `reserve` bytes are allocated up front (0 = none). */
void jw_init(jw *w, size_t reserve);
/* Free the buffer (jw_take hands it off instead). */
void jw_free(jw *w);
/* CAIRN_OK or the sticky error. */
int jw_error(const jw *w);
/*
 * Give the buffer away: *p (returns owned: mem_free(*p, *cap)), *len bytes
 * used. The writer is left empty. @return CAIRN_OK, or the sticky error (then
 * nothing is handed over and the buffer is freed).
 */
int jw_take(jw *w, void **p, size_t *len, size_t *cap);

void jw_obj(jw *w);
void jw_obj_end(jw *w);
void jw_arr(jw *w);
void jw_arr_end(jw *w);
/* An object key (escaped like any string). */
void jw_key(jw *w, const char *k_z);
void jw_keyn(jw *w, const char *k, size_t n);
void jw_str(jw *w, const char *s, size_t n);
void jw_str_z(jw *w, const char *s_z);
/*
 * The writer's string escaping on its own: append `s` (n bytes) to `b` as one
 * quoted JSON string, escaped as above (Go's encoding/json). For JSON built
 * without a jw (error bodies, rendered OTLP values, the CLI).
 * @return CAIRN_OK or CAIRN_ENOMEM (b then holds a partial string).
 */
int jw_escape(buf *b, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_uint(jw *w, uint64_t v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);
/* A bare JSON number, shortest round trip; NaN and ±Inf become null (JSON has no spelling). */
void jw_num(jw *w, double v);
/* Raw, already-valid JSON text as one value. */
void jw_raw(jw *w, const char *json, size_t n);

/* Sample value as Prometheus writes it: "1", "0.1", "1e-07", "1e+21", "NaN", "+Inf". */
void jw_prom_value(jw *w, double v);
/* Sample value as Loki writes it: fixed notation always ("0.0000001"). */
void jw_loki_value(jw *w, double v);
/* Millisecond timestamp as seconds, Prometheus spelling: 1435781451, 1435781451.050. */
void jw_prom_time(jw *w, int64_t t_ms);
/* Millisecond timestamp as seconds, Loki spelling (trailing zeros trimmed): 1435781451.05. */
void jw_loki_time(jw *w, int64_t t_ms);
/* A nanosecond timestamp as a JSON string of decimal digits ("1705312800000000000"). */
void jw_ns_str(jw *w, int64_t t_ns);

/*
 * Formatting helpers (also used by the tests). Each writes a NUL-terminated
 * text into dst (at least JW_NUM_CAP bytes; 'f' of 1e308 needs 330) and
 * returns its length.
 * jw_fmt_go: Go's strconv.FormatFloat(v, fmt, -1, 64) for fmt 'e', 'f' or
 * 'p' (Prometheus: 'f' unless 0 < |v| < 1e-6 or |v| >= 1e21, then 'e').
 */
#define JW_NUM_CAP 400
size_t jw_fmt_go(char *dst, double v, char fmt);
/* Shortest decimal digits of finite v != 0: digits (NUL-terminated, no
 * leading zeros) and the decimal exponent e such that v = 0.d1d2… × 10^e. */
size_t jw_shortest(double v, char digits[18], int *e10);
#endif
