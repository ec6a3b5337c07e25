/*
 * otlp.c — OTLP/HTTP metrics and logs, protobuf and JSON, into a batch
 * (api-contract C.4; mapping rules, limits and deviations in docs/ingest.md).
 *
 * One mapping, two encodings. The mapping code (resource -> job/instance,
 * metric naming, histogram buckets, log stream labels and structured
 * metadata) is written once, against a small cursor, `ocur`, that yields the
 * fields of one message as (field number, value) in wire order, whichever
 * encoding is underneath:
 *   - protobuf: the pb field reader over the borrowed body; packed repeated
 *     scalars are expanded element by element; a known field with the wrong
 *     wire type is CAIRN_ECORRUPT; unknown fields are skipped.
 *   - JSON: the jsonr token array; keys are looked up in the same per-message
 *     table (lowerCamelCase and the proto snake_case spelling both accepted),
 *     an array value yields one field per element, null means absent, 64-bit
 *     integers may be numbers or strings, doubles may be "NaN"/"Infinity",
 *     traceId/spanId are hex, bytesValue stays base64.
 * So every message is walked in place, nothing is unpacked into a tree, and
 * the only allocations are the label builders and an arena for strings that
 * must be transformed (escaped JSON strings, hex and base64 renderings).
 *
 * Fields arrive in any order and repeated singular fields follow "last wins",
 * so a message whose meaning depends on one field (a Metric's name and unit,
 * a Sum's temporality, a ResourceMetrics' resource) is walked twice: once to
 * collect the singular fields, once for its repeated children.
 *
 * Bounds: body size (CAIRN_ELIMIT), JSON depth (jsonr) and AnyValue nesting
 * (opts->max_depth) for both encodings; everything else is bounded by the
 * body. Any error resets the batch and the metadata list: OTLP would allow a
 * partial success, cairn commits all of a request or nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "ingest.h"
#include "json.h"
#include "jsonr.h"
#include "mem.h"
#include "pb.h"

/* ==== schema ======================================================================== */

enum { K_MSG = 1, K_STR, K_HEX, K_B64, K_INT, K_DBL, K_BOOL };

typedef struct okey {
    uint32_t num;
    uint8_t kind;
    const char *json, *json2; /* lowerCamelCase, snake_case (or NULL) */
} okey;

typedef struct omsg {
    const char *name;
    const okey *keys;
    size_t n;
} omsg;

#define MSG(var, nm, ...)                                                                                              \
    static const okey var##_keys[] = {__VA_ARGS__};                                                                    \
    static const omsg var = {nm, var##_keys, sizeof var##_keys / sizeof *var##_keys}

MSG(M_EXPORT_METRICS, "ExportMetricsServiceRequest", {1, K_MSG, "resourceMetrics", "resource_metrics"});
MSG(M_EXPORT_LOGS, "ExportLogsServiceRequest", {1, K_MSG, "resourceLogs", "resource_logs"});
MSG(M_RESOURCE_X, "ResourceMetrics", {1, K_MSG, "resource", NULL}, {2, K_MSG, "scopeMetrics", "scope_metrics"});
MSG(M_RESOURCE_LOGS, "ResourceLogs", {1, K_MSG, "resource", NULL}, {2, K_MSG, "scopeLogs", "scope_logs"});
MSG(M_RESOURCE, "Resource", {1, K_MSG, "attributes", NULL});
MSG(M_KV, "KeyValue", {1, K_STR, "key", NULL}, {2, K_MSG, "value", NULL});
MSG(M_ANY, "AnyValue", {1, K_STR, "stringValue", "string_value"}, {2, K_BOOL, "boolValue", "bool_value"},
    {3, K_INT, "intValue", "int_value"}, {4, K_DBL, "doubleValue", "double_value"},
    {5, K_MSG, "arrayValue", "array_value"}, {6, K_MSG, "kvlistValue", "kvlist_value"},
    {7, K_B64, "bytesValue", "bytes_value"});
MSG(M_VALUES, "ArrayValue", {1, K_MSG, "values", NULL});
MSG(M_SCOPE, "InstrumentationScope", {1, K_STR, "name", NULL}, {2, K_STR, "version", NULL},
    {3, K_MSG, "attributes", NULL});
MSG(M_SCOPE_METRICS, "ScopeMetrics", {1, K_MSG, "scope", NULL}, {2, K_MSG, "metrics", NULL});
MSG(M_METRIC, "Metric", {1, K_STR, "name", NULL}, {2, K_STR, "description", NULL}, {3, K_STR, "unit", NULL},
    {5, K_MSG, "gauge", NULL}, {7, K_MSG, "sum", NULL}, {9, K_MSG, "histogram", NULL},
    {10, K_MSG, "exponentialHistogram", "exponential_histogram"}, {11, K_MSG, "summary", NULL});
MSG(M_DATA, "Gauge/Sum/Histogram/Summary", {1, K_MSG, "dataPoints", "data_points"},
    {2, K_INT, "aggregationTemporality", "aggregation_temporality"}, {3, K_BOOL, "isMonotonic", "is_monotonic"});
MSG(M_NUMBER_DP, "NumberDataPoint", {3, K_INT, "timeUnixNano", "time_unix_nano"},
    {4, K_DBL, "asDouble", "as_double"}, {6, K_INT, "asInt", "as_int"}, {7, K_MSG, "attributes", NULL},
    {8, K_INT, "flags", NULL});
MSG(M_HIST_DP, "HistogramDataPoint", {3, K_INT, "timeUnixNano", "time_unix_nano"}, {4, K_INT, "count", NULL},
    {5, K_DBL, "sum", NULL}, {6, K_INT, "bucketCounts", "bucket_counts"},
    {7, K_DBL, "explicitBounds", "explicit_bounds"}, {9, K_MSG, "attributes", NULL}, {10, K_INT, "flags", NULL});
MSG(M_SUMMARY_DP, "SummaryDataPoint", {3, K_INT, "timeUnixNano", "time_unix_nano"}, {4, K_INT, "count", NULL},
    {5, K_DBL, "sum", NULL}, {6, K_MSG, "quantileValues", "quantile_values"}, {7, K_MSG, "attributes", NULL},
    {8, K_INT, "flags", NULL});
MSG(M_QUANTILE, "ValueAtQuantile", {1, K_DBL, "quantile", NULL}, {2, K_DBL, "value", NULL});
MSG(M_SCOPE_LOGS, "ScopeLogs", {1, K_MSG, "scope", NULL}, {2, K_MSG, "logRecords", "log_records"});
MSG(M_LOG, "LogRecord", {1, K_INT, "timeUnixNano", "time_unix_nano"}, {2, K_INT, "severityNumber", "severity_number"},
    {3, K_STR, "severityText", "severity_text"}, {5, K_MSG, "body", NULL}, {6, K_MSG, "attributes", NULL},
    {7, K_INT, "droppedAttributesCount", "dropped_attributes_count"}, {8, K_INT, "flags", NULL},
    {9, K_HEX, "traceId", "trace_id"}, {10, K_HEX, "spanId", "span_id"},
    {11, K_INT, "observedTimeUnixNano", "observed_time_unix_nano"}, {12, K_STR, "eventName", "event_name"});

/* ==== cursor ========================================================================== */

typedef struct oc {
    const ingest_opts *o;
    cairn_batch *b;
    ingest_meta_list *meta;
    cairn_err *err;
    int json;
    jr_doc doc;
    arena *ar;
    ingest_lb lb, res, sm, scope_sm, res_sm;
    buf tmp, line, vals;
} oc;

typedef struct ocur {
    oc *c;
    const omsg *m;
    rd r;                 /* protobuf */
    pb_packed pk;         /* protobuf: packed elements pending */
    const okey *pk_key;
    uint32_t next, left;  /* JSON: next member key token, members left */
    uint32_t arr_next, arr_left;
    const okey *arr_key;
} ocur;

typedef struct ofv {
    const okey *k;
    uint64_t u;
    double d;
    const char *s; /* K_STR/K_HEX/K_B64 */
    size_t n;
    const uint8_t *mp; /* K_MSG, protobuf */
    size_t mn;
    uint32_t tok; /* K_MSG, JSON */
} ofv;

static int oc_open_root(oc *c, const omsg *m, const uint8_t *body, size_t len, ocur *u)
{
    memset(u, 0, sizeof *u);
    u->c = c, u->m = m;
    if (!c->json) {
        rd_init(&u->r, body, len);
        return CAIRN_OK;
    }
    if (c->doc.t[0].type != JR_OBJ) return err_set(c->err, CAIRN_EINVAL, "OTLP JSON: %s must be an object", m->name);
    u->next = 1;
    u->left = c->doc.t[0].n;
    return CAIRN_OK;
}

static void oc_open(ocur *parent, const ofv *v, const omsg *m, ocur *u)
{
    memset(u, 0, sizeof *u);
    u->c = parent->c, u->m = m;
    if (!u->c->json) {
        rd_init(&u->r, v->mp, v->mn);
        return;
    }
    u->next = v->tok + 1;
    u->left = u->c->doc.t[v->tok].n;
}

static const char *kind_name(int k)
{
    static const char *n[] = {"", "an object", "a string", "a hex string", "a base64 string", "an integer", "a number", "a boolean"};
    return n[k];
}

static int pb_bad(ocur *u, const okey *k)
{
    return err_set(u->c->err, CAIRN_ECORRUPT, "OTLP protobuf: %s.%s: wrong wire type or truncated field", u->m->name,
                   k ? k->json : "?");
}

static int json_bad(ocur *u, const okey *k)
{
    return err_set(u->c->err, CAIRN_EINVAL, "OTLP JSON: %s.%s: expected %s", u->m->name, k->json, kind_name(k->kind));
}

static const okey *key_by_num(const omsg *m, uint32_t num)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->keys[i].num == num) return &m->keys[i];
    return NULL;
}

static int parse_int_text(const char *s, size_t n, uint64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n && s[0] == '-') neg = 1, i = 1;
    if (i == n || n - i > 20) return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (neg && v > (uint64_t)INT64_MAX + 1) return -1;
    *out = neg ? (uint64_t)0 - v : v;
    return 0;
}

static int parse_dbl_text(const char *s, size_t n, double *out)
{
    if (n == 3 && !memcmp(s, "NaN", 3)) return *out = NAN, 0;
    if (n == 8 && !memcmp(s, "Infinity", 8)) return *out = INFINITY, 0;
    if (n == 9 && !memcmp(s, "-Infinity", 9)) return *out = -INFINITY, 0;
    if (n == 0 || n > 63) return -1;
    char t[64];
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '-' || s[i] == '+'))
            return -1;
        t[i] = s[i];
    }
    t[n] = 0;
    char *end;
    *out = strtod(t, &end);
    return end == t + n ? 0 : -1;
}

/* Convert JSON token `t` to field value for key k. */
static int json_value(ocur *u, const okey *k, uint32_t t, ofv *v)
{
    oc *c = u->c;
    const jr_tok *tk = &c->doc.t[t];
    const char *raw = c->doc.s + tk->off;
    memset(v, 0, sizeof *v);
    v->k = k;
    switch (k->kind) {
    case K_MSG:
        if (tk->type != JR_OBJ) return json_bad(u, k);
        v->tok = t;
        return 1;
    case K_STR:
    case K_B64:
    case K_HEX:
        if (tk->type != JR_STR) return json_bad(u, k);
        if (tk->esc) {
            c->tmp.len = 0;
            if (jr_str(&c->doc, t, &c->tmp)) return CAIRN_ENOMEM;
            v->s = arena_strdup(c->ar, (const char *)c->tmp.p, c->tmp.len);
            if (!v->s) return CAIRN_ENOMEM;
            v->n = c->tmp.len;
        } else {
            v->s = raw, v->n = tk->len;
        }
        if (k->kind == K_HEX) {
            char *h = arena_strdup(c->ar, v->s, v->n);
            if (!h) return CAIRN_ENOMEM;
            for (size_t i = 0; i < v->n; i++) {
                char ch = h[i];
                if (ch >= 'A' && ch <= 'F') h[i] = (char)(ch - 'A' + 'a');
                else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return json_bad(u, k);
            }
            v->s = h;
        }
        return 1;
    case K_INT:
        if ((tk->type != JR_NUM && tk->type != JR_STR) || tk->esc || parse_int_text(raw, tk->len, &v->u))
            return json_bad(u, k);
        return 1;
    case K_DBL:
        if ((tk->type != JR_NUM && tk->type != JR_STR) || tk->esc || parse_dbl_text(raw, tk->len, &v->d))
            return json_bad(u, k);
        return 1;
    case K_BOOL:
        if (tk->type != JR_TRUE && tk->type != JR_FALSE) return json_bad(u, k);
        v->u = tk->type == JR_TRUE;
        return 1;
    }
    return json_bad(u, k);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Next field: 1 with *v, 0 at the end, negative code. */
static int oc_next(ocur *u, ofv *v)
{
    oc *c = u->c;
    if (!c->json) {
        for (;;) {
            if (u->pk_key) {
                uint64_t x;
                int r = pb_packed_next(&u->pk, &x);
                if (r < 0) return pb_bad(u, u->pk_key);
                if (r == 1) {
                    memset(v, 0, sizeof *v);
                    v->k = u->pk_key;
                    v->u = x;
                    memcpy(&v->d, &x, 8);
                    return 1;
                }
                u->pk_key = NULL;
            }
            pb_field f;
            int r = pb_next(&u->r, &f);
            if (r < 0) return err_set(c->err, CAIRN_ECORRUPT, "OTLP protobuf: %s: malformed field", u->m->name);
            if (r == 0) return 0;
            const okey *k = key_by_num(u->m, f.num);
            if (!k) continue;
            memset(v, 0, sizeof *v);
            v->k = k;
            switch (k->kind) {
            case K_MSG:
                if (f.wt != PB_LEN) return pb_bad(u, k);
                v->mp = f.p, v->mn = f.n;
                return 1;
            case K_STR:
                if (f.wt != PB_LEN) return pb_bad(u, k);
                v->s = (const char *)f.p, v->n = f.n;
                return 1;
            case K_HEX:
            case K_B64: {
                if (f.wt != PB_LEN) return pb_bad(u, k);
                size_t out_n = k->kind == K_HEX ? f.n * 2 : (f.n + 2) / 3 * 4;
                char *s = arena_alloc(c->ar, out_n + 1);
                if (!s) return CAIRN_ENOMEM;
                if (k->kind == K_HEX) {
                    for (size_t i = 0; i < f.n; i++) {
                        s[2 * i] = "0123456789abcdef"[f.p[i] >> 4];
                        s[2 * i + 1] = "0123456789abcdef"[f.p[i] & 15];
                    }
                } else {
                    size_t o = 0;
                    for (size_t i = 0; i < f.n; i += 3) {
                        uint32_t w = (uint32_t)f.p[i] << 16 | (i + 1 < f.n ? (uint32_t)f.p[i + 1] << 8 : 0) |
                                     (i + 2 < f.n ? f.p[i + 2] : 0);
                        s[o++] = b64[w >> 18];
                        s[o++] = b64[(w >> 12) & 63];
                        s[o++] = i + 1 < f.n ? b64[(w >> 6) & 63] : '=';
                        s[o++] = i + 2 < f.n ? b64[w & 63] : '=';
                    }
                }
                v->s = s, v->n = out_n;
                return 1;
            }
            case K_BOOL:
                if (f.wt != PB_VARINT) return pb_bad(u, k);
                v->u = f.v != 0;
                return 1;
            case K_INT:
            case K_DBL:
                if (f.wt == PB_LEN) {
                    if (pb_packed_init(&u->pk, &f, k->kind == K_DBL ? PB_I64 : k->num == 6 && u->m == &M_HIST_DP ? PB_I64 : PB_VARINT))
                        return pb_bad(u, k);
                    u->pk_key = k;
                    continue;
                }
                if (k->kind == K_DBL && f.wt != PB_I64) return pb_bad(u, k);
                if (f.wt == PB_I32) f.v = (uint64_t)(int64_t)(int32_t)(uint32_t)f.v;
                v->u = f.v;
                memcpy(&v->d, &f.v, 8);
                return 1;
            }
        }
    }
    for (;;) {
        if (u->arr_left) {
            uint32_t t = u->arr_next;
            u->arr_next = c->doc.t[t].end;
            u->arr_left--;
            if (c->doc.t[t].type == JR_NULL) continue;
            if (c->doc.t[t].type == JR_ARR) return json_bad(u, u->arr_key);
            return json_value(u, u->arr_key, t, v);
        }
        if (u->left == 0) return 0;
        uint32_t kt = u->next, vt = kt + 1;
        u->next = c->doc.t[vt].end;
        u->left--;
        const okey *k = NULL;
        for (size_t i = 0; i < u->m->n && !k; i++) {
            const okey *q = &u->m->keys[i];
            if (jr_eq(&c->doc, kt, q->json, strlen(q->json)) || (q->json2 && jr_eq(&c->doc, kt, q->json2, strlen(q->json2))))
                k = q;
        }
        if (!k || c->doc.t[vt].type == JR_NULL) continue;
        if (c->doc.t[vt].type == JR_ARR) {
            u->arr_key = k;
            u->arr_next = vt + 1;
            u->arr_left = c->doc.t[vt].n;
            continue;
        }
        return json_value(u, k, vt, v);
    }
}

/* ==== names ================================================================================ */

/* Prometheus' OTLP label-name sanitising: runes outside [a-zA-Z0-9_] -> '_',
 * a leading digit gets "key_", a leading single '_' gets "key". */
static int sanitize_label(const char *s, size_t n, buf *out)
{
    if (n == 0) return CAIRN_OK;
    if (s[0] >= '0' && s[0] <= '9') RETURN_IF_ERR(buf_put(out, "key_", 4));
    else if (s[0] == '_' && !(n > 1 && s[1] == '_')) RETURN_IF_ERR(buf_put(out, "key", 3));
    for (size_t i = 0; i < n;) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_') {
            RETURN_IF_ERR(buf_put_u8(out, ch));
            i++;
            continue;
        }
        RETURN_IF_ERR(buf_put_u8(out, '_'));
        size_t k = ch < 0x80 ? 1 : (ch & 0xe0) == 0xc0 ? 2 : (ch & 0xf0) == 0xe0 ? 3 : (ch & 0xf8) == 0xf0 ? 4 : 1;
        if (k > 1 && (i + k > n || !ingest_utf8_valid(s + i, k))) k = 1;
        i += k;
    }
    return CAIRN_OK;
}

typedef struct umap {
    const char *ucum, *word;
} umap;

static const umap unit_words[] = {
    {"d", "days"},         {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"TiBy", "tibibytes"},
    {"KBy", "kilobytes"},  {"MBy", "megabytes"},   {"GBy", "gigabytes"},  {"TBy", "terabytes"},
    {"m", "meters"},       {"V", "volts"},         {"A", "amperes"},      {"J", "joules"},
    {"W", "watts"},        {"g", "grams"},         {"Cel", "celsius"},    {"Hz", "hertz"},
    {"1", ""},             {"%", "percent"}};
static const umap per_words[] = {{"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
                                 {"w", "week"},   {"mo", "month"}, {"y", "year"}};

typedef struct toks {
    const char *p[64];
    size_t n[64];
    size_t k;
} toks;

static int is_metric_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == ':';
}

static void tok_split(toks *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n && t->k < 60;) {
        while (i < n && !is_metric_char(s[i])) i++;
        size_t a = i;
        while (i < n && is_metric_char(s[i])) i++;
        if (i > a) t->p[t->k] = s + a, t->n[t->k++] = i - a;
    }
}

static int tok_has(const toks *t, const char *w)
{
    size_t wn = strlen(w);
    for (size_t i = 0; i < t->k; i++)
        if (t->n[i] == wn && !memcmp(t->p[i], w, wn)) return 1;
    return 0;
}

static void tok_move_last(toks *t, const char *w)
{
    size_t wn = strlen(w), j = 0;
    for (size_t i = 0; i < t->k; i++)
        if (!(t->n[i] == wn && !memcmp(t->p[i], w, wn))) t->p[j] = t->p[i], t->n[j++] = t->n[i];
    t->k = j;
    t->p[t->k] = w, t->n[t->k++] = wn;
}

static const char *umap_get(const umap *m, size_t mn, const char *u, size_t un)
{
    for (size_t i = 0; i < mn; i++)
        if (strlen(m[i].ucum) == un && !memcmp(m[i].ucum, u, un)) return m[i].word;
    return NULL;
}

/*
 * Prometheus' default OTLP metric naming (UnderscoreEscapingWithSuffixes):
 * tokens of [a-zA-Z0-9:], the unit as words (UCUM -> Prometheus), "per" unit,
 * then _total for counters or _ratio for gauges of unit "1". Into out (a NUL
 * is appended, not counted).
 */
static int metric_name(const char *name, size_t name_len, const char *unit, size_t unit_len, int counter, int gauge,
                       buf *out, char *ubuf, size_t ubuf_cap)
{
    toks t = {.k = 0};
    tok_split(&t, name, name_len);
    /* drop {annotations} from the unit */
    size_t un = 0;
    for (size_t i = 0, depth = 0; i < unit_len && un + 1 < ubuf_cap; i++) {
        if (unit[i] == '{') depth++;
        else if (unit[i] == '}' && depth) depth--;
        else if (!depth) ubuf[un++] = unit[i];
    }
    ubuf[un] = 0;
    char *slash = memchr(ubuf, '/', un);
    size_t main_n = slash ? (size_t)(slash - ubuf) : un;
    const char *per = slash ? slash + 1 : NULL;
    size_t per_n = slash ? un - main_n - 1 : 0;
    /* trim blanks */
    while (main_n && ubuf[main_n - 1] == ' ') main_n--;
    toks ut = {.k = 0};
    if (main_n) {
        const char *w = umap_get(unit_words, sizeof unit_words / sizeof *unit_words, ubuf, main_n);
        if (w) {
            if (*w && !tok_has(&t, w)) t.p[t.k] = w, t.n[t.k++] = strlen(w);
        } else {
            tok_split(&ut, ubuf, main_n);
            for (size_t i = 0; i < ut.k && t.k < 60; i++) t.p[t.k] = ut.p[i], t.n[t.k++] = ut.n[i];
        }
    }
    if (per && per_n) {
        const char *w = umap_get(per_words, sizeof per_words / sizeof *per_words, per, per_n);
        toks pt = {.k = 0};
        if (w) pt.p[0] = w, pt.n[0] = strlen(w), pt.k = 1;
        else tok_split(&pt, per, per_n);
        if (pt.k) {
            t.p[t.k] = "per", t.n[t.k++] = 3;
            for (size_t i = 0; i < pt.k && t.k < 62; i++) t.p[t.k] = pt.p[i], t.n[t.k++] = pt.n[i];
        }
    }
    if (counter) tok_move_last(&t, "total");
    else if (gauge && unit_len == 1 && unit[0] == '1') tok_move_last(&t, "ratio");
    for (size_t i = 0; i < t.k; i++) {
        if (i) RETURN_IF_ERR(buf_put_u8(out, '_'));
        if (i == 0 && t.p[0][0] >= '0' && t.p[0][0] <= '9') RETURN_IF_ERR(buf_put_u8(out, '_'));
        RETURN_IF_ERR(buf_put(out, t.p[i], t.n[i]));
    }
    return buf_put_u8(out, 0);
}

/* ==== AnyValue ============================================================================ */

/* Render an AnyValue message `val` (K_MSG) as its string form (pcommon's AsString) into out. */
static int any_render(ocur *parent, const ofv *val, buf *out, int as_json, uint32_t depth)
{
    oc *c = parent->c;
    if (depth > c->o->max_depth) return err_set(c->err, CAIRN_EINVAL, "OTLP: AnyValue nested deeper than %u", c->o->max_depth);
    ocur u;
    oc_open(parent, val, &M_ANY, &u);
    ofv f, last = {0};
    int r, have = 0;
    while ((r = oc_next(&u, &f)) == 1) last = f, have = 1; /* a oneof: the last one set wins */
    if (r < 0) return r;
    if (!have) return as_json ? buf_put(out, "null", 4) : CAIRN_OK;
    char num[40];
    switch (last.k->num) {
    case 1: return as_json ? jw_escape(out, last.s, last.n) : buf_put(out, last.s, last.n);
    case 2: return buf_put(out, last.u ? "true" : "false", last.u ? 4 : 5);
    case 3: return buf_put(out, num, (size_t)snprintf(num, sizeof num, "%lld", (long long)(int64_t)last.u));
    case 4: {
        size_t n = ingest_fmt_float(last.d, num, sizeof num);
        if (as_json && !isfinite(last.d)) return jw_escape(out, num, n);
        return buf_put(out, num, n);
    }
    case 7: return as_json ? jw_escape(out, last.s, last.n) : buf_put(out, last.s, last.n);
    case 5:
    case 6: {
        int kv = last.k->num == 6;
        ocur a;
        oc_open(&u, &last, &M_VALUES, &a);
        RETURN_IF_ERR(buf_put_u8(out, kv ? '{' : '['));
        ofv e;
        int first = 1;
        while ((r = oc_next(&a, &e)) == 1) {
            if (!first) RETURN_IF_ERR(buf_put_u8(out, ','));
            first = 0;
            if (!kv) {
                RETURN_IF_ERR(any_render(&a, &e, out, 1, depth + 1));
                continue;
            }
            ocur kvc;
            oc_open(&a, &e, &M_KV, &kvc);
            ofv g, key = {0}, value = {0};
            int hv = 0;
            while ((r = oc_next(&kvc, &g)) == 1) {
                if (g.k->num == 1) key = g;
                else value = g, hv = 1;
            }
            if (r < 0) return r;
            RETURN_IF_ERR(jw_escape(out, key.s ? key.s : "", key.n));
            RETURN_IF_ERR(buf_put_u8(out, ':'));
            if (hv) RETURN_IF_ERR(any_render(&kvc, &value, out, 1, depth + 1));
            else RETURN_IF_ERR(buf_put(out, "null", 4));
        }
        if (r < 0) return r;
        return buf_put_u8(out, kv ? '}' : ']');
    }
    }
    return CAIRN_OK;
}

/*
 * Add the attributes (repeated KeyValue in field `v`) to lb with sanitised
 * names. With `flatten`, a kvlist value becomes parent_child entries (Loki);
 * otherwise it is rendered as JSON (Prometheus). `prefix` is prepended.
 */
static int add_attr(ocur *u, const ofv *kvmsg, ingest_lb *lb, int flatten, const char *prefix, size_t prefix_len,
                    uint32_t depth)
{
    oc *c = u->c;
    if (depth > c->o->max_depth) return err_set(c->err, CAIRN_EINVAL, "OTLP: attributes nested deeper than %u", c->o->max_depth);
    ocur kvc;
    oc_open(u, kvmsg, &M_KV, &kvc);
    ofv g, key = {0}, value = {0};
    int r, hv = 0;
    while ((r = oc_next(&kvc, &g)) == 1) {
        if (g.k->num == 1) key = g;
        else value = g, hv = 1;
    }
    if (r < 0) return r;
    if (!key.n) return CAIRN_OK;
    /* the full (unsanitised) key */
    buf full;
    buf_init(&full);
    int rc = buf_put(&full, prefix, prefix_len);
    if (!rc) rc = buf_put(&full, key.s, key.n);
    if (rc) {
        buf_free(&full);
        return CAIRN_ENOMEM;
    }
    if (flatten && hv) {
        /* is the value a kvlist? */
        ocur av;
        oc_open(&kvc, &value, &M_ANY, &av);
        ofv f, last = {0};
        while ((r = oc_next(&av, &f)) == 1) last = f;
        if (r < 0) {
            buf_free(&full);
            return r;
        }
        if (last.k && last.k->num == 6) {
            RETURN_IF_ERR(buf_put_u8(&full, '_'));
            ocur list;
            oc_open(&av, &last, &M_VALUES, &list);
            ofv e;
            while ((r = oc_next(&list, &e)) == 1) {
                rc = add_attr(&list, &e, lb, flatten, (const char *)full.p, full.len, depth + 1);
                if (rc) break;
            }
            buf_free(&full);
            return rc ? rc : r;
        }
    }
    c->tmp.len = 0;
    rc = sanitize_label((const char *)full.p, full.len, &c->tmp);
    buf_free(&full);
    if (rc) return CAIRN_ENOMEM;
    if (ingest_lb_begin(lb, (const char *)c->tmp.p, c->tmp.len) < 0) return CAIRN_ENOMEM;
    if (!hv) return CAIRN_OK;
    size_t before = lb->str.len;
    RETURN_IF_ERR(any_render(&kvc, &value, &lb->str, 0, depth + 1));
    lb->ent[(lb->n - 1) * 4 + 3] += lb->str.len - before;
    return CAIRN_OK;
}

/* Copy src's labels onto the end of dst. */
static int lb_copy(ingest_lb *dst, ingest_lb *src)
{
    cairn_label *l = ingest_lb_labels(src, 0);
    if (!l && src->n) return CAIRN_ENOMEM;
    for (size_t i = 0; i < src->n; i++)
        RETURN_IF_ERR(ingest_lb_add(dst, l[i].name, l[i].name_len, l[i].value, l[i].value_len));
    return CAIRN_OK;
}

/*
 * Labels of lb with duplicate names merged as Prometheus does: values of
 * attributes that sanitise to the same name are joined with ';'; for the
 * names the translator itself sets (job, instance, __name__, le, quantile)
 * the last one wins. Result in c->vals-backed array `out`; returns count.
 */
static int merged_labels(oc *c, ingest_lb *lb, size_t extra, cairn_label **out)
{
    cairn_label *l = ingest_lb_labels(lb, extra);
    if (!l) return CAIRN_ENOMEM;
    size_t n = lb->n;
    int dup = 0;
    for (size_t i = 0; i < n && !dup; i++)
        for (size_t j = i + 1; j < n && !dup; j++)
            dup = l[i].name_len == l[j].name_len && !memcmp(l[i].name, l[j].name, l[i].name_len);
    *out = l;
    if (!dup) return (int)n;
    /* rare: merge in place; joined values live in the arena */
    static const char *const own[] = {"job", "instance", "__name__", "le", "quantile"};
    c->vals.len = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < k; j++)
            if (l[j].name_len == l[i].name_len && !memcmp(l[j].name, l[i].name, l[i].name_len)) break;
        if (j == k) {
            l[k++] = l[i];
            continue;
        }
        int is_own = 0;
        for (size_t q = 0; q < 5; q++) is_own |= strlen(own[q]) == l[i].name_len && !memcmp(own[q], l[i].name, l[i].name_len);
        if (is_own) {
            l[j].value = l[i].value, l[j].value_len = l[i].value_len;
            continue;
        }
        char *joined = arena_alloc(c->ar, l[j].value_len + 1 + l[i].value_len);
        if (!joined) return CAIRN_ENOMEM;
        memcpy(joined, l[j].value, l[j].value_len);
        joined[l[j].value_len] = ';';
        memcpy(joined + l[j].value_len + 1, l[i].value, l[i].value_len);
        l[j].value = joined, l[j].value_len += 1 + l[i].value_len;
    }
    return (int)k;
}

/* ==== metrics =============================================================================== */

typedef struct mres {
    char job[512], instance[512];
    size_t job_n, instance_n;
    int64_t max_t_ms;
    int have_t;
} mres;

static int emit(oc *c, cairn_label *base, size_t nbase, const char *name, const char *e1n, const char *e1v, int64_t t_ms,
                double v, const char *metric)
{
    /* base has room for 2 more */
    size_t n = nbase;
    base[n++] = (cairn_label){"__name__", 8, name, strlen(name)};
    if (e1n) base[n++] = (cairn_label){e1n, strlen(e1n), e1v, strlen(e1v)};
    /* `metric` is the message prefix built once per metric: OTLP metric "name" */
    int ref = ingest_series(c->b, CAIRN_KIND_METRIC, base, &n, c->o, metric, -1, c->err);
    if (ref < 0) return ref;
    cairn_err e2;
    int rc = cairn_batch_sample(c->b, ref, t_ms, v, &e2);
    if (rc) return err_set(c->err, rc, "%s: %s", metric, e2.msg);
    return CAIRN_OK;
}

static int time_ms(oc *c, uint64_t t_ns, const char *metric, int64_t *out)
{
    if (t_ns > (uint64_t)INT64_MAX)
        return err_set(c->err, CAIRN_EINVAL, "%s: timestamp %llu ns is out of range", metric,
                       (unsigned long long)t_ns);
    *out = (int64_t)(t_ns / 1000000);
    return CAIRN_OK;
}

/* A point flagged "no recorded value" is stored as Prometheus' stale marker. */
static double stale_nan(void)
{
    uint64_t bits = 0x7ff0000000000002ULL;
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static int add_job_instance(oc *c, const mres *r)
{
    if (r->job_n && ingest_lb_add(&c->lb, "job", 3, r->job, r->job_n)) return CAIRN_ENOMEM;
    if (r->instance_n && ingest_lb_add(&c->lb, "instance", 8, r->instance, r->instance_n)) return CAIRN_ENOMEM;
    return CAIRN_OK;
}

static int do_points(ocur *data, int kind, const char *base, const char *metric, mres *r)
{
    oc *c = data->c;
    ofv f;
    int rc;
    buf *name = &c->line; /* scratch for suffixed names */
    while ((rc = oc_next(data, &f)) == 1) {
        if (f.k->num != 1) continue;
        ocur dp;
        const omsg *m = kind == 3 ? &M_HIST_DP : kind == 4 ? &M_SUMMARY_DP : &M_NUMBER_DP;
        oc_open(data, &f, m, &dp);
        ingest_lb_reset(&c->lb);
        uint64_t t_ns = 0, count = 0, flags = 0;
        double v = 0, sum = 0;
        int have_sum = 0;
        c->vals.len = 0;
        size_t n_bounds = 0, n_counts = 0, n_q = 0;
        buf bounds, counts;
        buf_init(&bounds), buf_init(&counts);
        ofv g;
        int r2;
        while ((r2 = oc_next(&dp, &g)) == 1) {
            uint32_t num = g.k->num;
            if (num == 3) t_ns = g.u;
            else if (m == &M_NUMBER_DP && num == 4) v = g.d;
            else if (m == &M_NUMBER_DP && num == 6) v = (double)(int64_t)g.u;
            else if (num == (m == &M_HIST_DP ? 9u : 7u)) r2 = add_attr(&dp, &g, &c->lb, 0, "", 0, 0);
            else if (num == (m == &M_HIST_DP ? 10u : 8u)) flags = g.u;
            else if (m != &M_NUMBER_DP && num == 4) count = g.u;
            else if (m != &M_NUMBER_DP && num == 5) sum = g.d, have_sum = 1;
            else if (m == &M_HIST_DP && num == 6) r2 = buf_put(&counts, &g.u, 8), n_counts++;
            else if (m == &M_HIST_DP && num == 7) r2 = buf_put(&bounds, &g.d, 8), n_bounds++;
            else if (m == &M_SUMMARY_DP && num == 6) {
                ocur qv;
                oc_open(&dp, &g, &M_QUANTILE, &qv);
                double qq[2] = {0, 0};
                ofv h;
                while ((r2 = oc_next(&qv, &h)) == 1) qq[h.k->num - 1] = h.d;
                if (r2 == 0) r2 = buf_put(&c->vals, qq, sizeof qq), n_q++;
            }
            if (r2 < 0) break;
        }
        if (r2 < 0) {
            buf_free(&bounds), buf_free(&counts);
            return r2 == CAIRN_ENOMEM ? err_set(c->err, r2, "OTLP: out of memory") : r2;
        }
        rc = add_job_instance(c, r);
        int64_t t_ms = 0;
        if (!rc) rc = time_ms(c, t_ns, metric, &t_ms);
        if (!rc && (!r->have_t || t_ms > r->max_t_ms)) r->max_t_ms = t_ms, r->have_t = 1;
        int stale = (flags & 1) != 0;
        cairn_label *l = NULL;
        int nl = rc ? rc : merged_labels(c, &c->lb, 2, &l);
        if (nl < 0) rc = nl;
#define NAME(suffix) (name->len = 0, buf_put(name, base, strlen(base)) || buf_put(name, suffix, strlen(suffix) + 1) ? "" : (const char *)name->p)
#define EMIT(nm, e1n, e1v, val)                                                                                          \
    do {                                                                                                               \
        if (!rc) {                                                                                                     \
            l = ingest_lb_labels(&c->lb, 2);                                                                           \
            nl = l ? merged_labels(c, &c->lb, 2, &l) : CAIRN_ENOMEM;                                                   \
            rc = nl < 0 ? nl : emit(c, l, (size_t)nl, nm, e1n, e1v, t_ms, stale ? stale_nan() : (val), metric);        \
        }                                                                                                              \
    } while (0)
        if (!rc && m == &M_NUMBER_DP) {
            EMIT(base, NULL, NULL, v);
        } else if (!rc && m == &M_HIST_DP) {
            uint64_t cum = 0;
            char le[40];
            for (size_t i = 0; i < n_bounds && !rc; i++) {
                uint64_t bc = 0;
                double bd;
                if (i < n_counts) memcpy(&bc, counts.p + i * 8, 8);
                memcpy(&bd, bounds.p + i * 8, 8);
                cum += bc;
                ingest_fmt_float(bd, le, sizeof le);
                EMIT(NAME("_bucket"), "le", le, (double)cum);
            }
            EMIT(NAME("_bucket"), "le", "+Inf", (double)count);
            if (have_sum) EMIT(NAME("_sum"), NULL, NULL, sum);
            EMIT(NAME("_count"), NULL, NULL, (double)count);
        } else if (!rc) {
            char q[40];
            for (size_t i = 0; i < n_q && !rc; i++) {
                double qq[2];
                memcpy(qq, c->vals.p + i * sizeof qq, sizeof qq);
                ingest_fmt_float(qq[0], q, sizeof q);
                EMIT(base, "quantile", q, qq[1]);
            }
            EMIT(NAME("_sum"), NULL, NULL, sum);
            EMIT(NAME("_count"), NULL, NULL, (double)count);
        }
#undef EMIT
#undef NAME
        buf_free(&bounds), buf_free(&counts);
        if (rc == CAIRN_ENOMEM) return err_set(c->err, rc, "OTLP: out of memory");
        if (rc) return rc;
    }
    return rc;
}

static int do_metric(ocur *sm, const ofv *mv, mres *r)
{
    oc *c = sm->c;
    ocur m;
    oc_open(sm, mv, &M_METRIC, &m);
    ofv f, data = {0};
    const char *name = "", *desc = "", *unit = "";
    size_t name_n = 0, desc_n = 0, unit_n = 0;
    uint32_t kind = 0;
    int rc;
    while ((rc = oc_next(&m, &f)) == 1) {
        switch (f.k->num) {
        case 1: name = f.s, name_n = f.n; break;
        case 2: desc = f.s, desc_n = f.n; break;
        case 3: unit = f.s, unit_n = f.n; break;
        default: data = f, kind = f.k->num; break;
        }
    }
    if (rc < 0) return rc;
    char nm[128]; /* message prefix for everything about this metric */
    snprintf(nm, sizeof nm, "OTLP metric \"%.*s\"", (int)(name_n > 100 ? 100 : name_n), name);
    if (!ingest_utf8_valid(name, name_n) || name_n == 0)
        return err_set(c->err, CAIRN_EINVAL, "OTLP: a metric has an empty or non-UTF-8 name");
    if (kind == 0 || kind == 10) return CAIRN_OK; /* no data, or an exponential histogram: dropped */
    ocur d;
    oc_open(&m, &data, &M_DATA, &d);
    uint64_t temporality = 0, monotonic = 0;
    while ((rc = oc_next(&d, &f)) == 1) {
        if (f.k->num == 2) temporality = f.u;
        else if (f.k->num == 3) monotonic = f.u;
    }
    if (rc < 0) return rc;
    if ((kind == 7 || kind == 9) && temporality != 2)
        return err_set(c->err, CAIRN_EINVAL,
                       "%s: %s aggregation temporality is not supported; export cumulative "
                       "temporality (invalid temporality and type combination)",
                       nm, temporality == 1 ? "delta" : "unspecified");
    int counter = kind == 7 && monotonic;
    int gauge = kind == 5 || (kind == 7 && !monotonic);
    int type = counter ? INGEST_TYPE_COUNTER : gauge ? INGEST_TYPE_GAUGE : kind == 9 ? INGEST_TYPE_HISTOGRAM
                                                                                        : INGEST_TYPE_SUMMARY;
    buf pname;
    buf_init(&pname);
    char ubuf[128];
    if (metric_name(name, name_n, unit, unit_n, counter, gauge, &pname, ubuf, sizeof ubuf))
        return err_set(c->err, CAIRN_ENOMEM, "OTLP: out of memory");
    const char *base = (const char *)pname.p;
    if (base[0] == 0) {
        buf_free(&pname);
        return err_set(c->err, CAIRN_EINVAL, "%s: the name has no characters usable in a Prometheus name", nm);
    }
    if (c->meta && ingest_meta_set(c->meta, base, strlen(base), type, desc, desc_n, unit, unit_n)) {
        buf_free(&pname);
        return err_set(c->err, CAIRN_ENOMEM, "OTLP: out of memory");
    }
    oc_open(&m, &data, &M_DATA, &d);
    rc = do_points(&d, kind == 9 ? 3 : kind == 11 ? 4 : 1, base, nm, r);
    buf_free(&pname);
    return rc;
}

/* Resource attributes: job/instance, and whether target_info is needed. */
static int resource_scan(ocur *rm, const ofv *res, mres *r, int *other)
{
    oc *c = rm->c;
    ocur ru;
    oc_open(rm, res, &M_RESOURCE, &ru);
    ofv f;
    int rc;
    char ns[256] = "", name[256] = "";
    size_t ns_n = 0, name_n = 0;
    *other = 0;
    r->instance_n = 0;
    while ((rc = oc_next(&ru, &f)) == 1) {
        ocur kv;
        oc_open(&ru, &f, &M_KV, &kv);
        ofv g, key = {0}, value = {0};
        int hv = 0;
        while ((rc = oc_next(&kv, &g)) == 1) {
            if (g.k->num == 1) key = g;
            else value = g, hv = 1;
        }
        if (rc < 0) return rc;
        c->tmp.len = 0;
        if (hv) RETURN_IF_ERR(any_render(&kv, &value, &c->tmp, 0, 0));
        size_t vn = c->tmp.len;
        const char *vs = vn ? (const char *)c->tmp.p : "";
#define IS(k) (key.n == strlen(k) && !memcmp(key.s, k, key.n))
        if (IS("service.name")) name_n = vn < sizeof name ? vn : sizeof name - 1, memcpy(name, vs, name_n);
        else if (IS("service.namespace")) ns_n = vn < sizeof ns ? vn : sizeof ns - 1, memcpy(ns, vs, ns_n);
        else if (IS("service.instance.id"))
            r->instance_n = vn < sizeof r->instance ? vn : sizeof r->instance - 1, memcpy(r->instance, vs, r->instance_n);
        else if (key.n) *other = 1;
#undef IS
    }
    if (rc < 0) return rc;
    r->job_n = 0;
    if (name_n && ns_n) r->job_n = (size_t)snprintf(r->job, sizeof r->job, "%.*s/%.*s", (int)ns_n, ns, (int)name_n, name);
    else if (name_n) r->job_n = (size_t)snprintf(r->job, sizeof r->job, "%.*s", (int)name_n, name);
    if (r->job_n >= sizeof r->job) r->job_n = sizeof r->job - 1;
    return CAIRN_OK;
}

static int target_info(ocur *rm, const ofv *res, mres *r)
{
    oc *c = rm->c;
    ocur ru;
    oc_open(rm, res, &M_RESOURCE, &ru);
    ingest_lb_reset(&c->lb);
    ofv f;
    int rc;
    while ((rc = oc_next(&ru, &f)) == 1) {
        ocur kv;
        oc_open(&ru, &f, &M_KV, &kv);
        ofv g, key = {0};
        while ((rc = oc_next(&kv, &g)) == 1)
            if (g.k->num == 1) key = g;
        if (rc < 0) return rc;
        if ((key.n == 12 && !memcmp(key.s, "service.name", 12)) || (key.n == 17 && !memcmp(key.s, "service.namespace", 17)) ||
            (key.n == 19 && !memcmp(key.s, "service.instance.id", 19)))
            continue;
        RETURN_IF_ERR(add_attr(&ru, &f, &c->lb, 0, "", 0, 0));
    }
    if (rc < 0) return rc;
    RETURN_IF_ERR(add_job_instance(c, r));
    cairn_label *l;
    int nl = merged_labels(c, &c->lb, 2, &l);
    if (nl < 0) return nl;
    return emit(c, l, (size_t)nl, "target_info", NULL, NULL, r->max_t_ms, 1.0, "target_info");
}

static int metrics_walk(oc *c, const uint8_t *body, size_t len)
{
    ocur root;
    RETURN_IF_ERR(oc_open_root(c, &M_EXPORT_METRICS, body, len, &root));
    ofv f;
    int rc;
    while ((rc = oc_next(&root, &f)) == 1) {
        ocur rm;
        oc_open(&root, &f, &M_RESOURCE_X, &rm);
        ofv g, res = {0};
        int have_res = 0;
        while ((rc = oc_next(&rm, &g)) == 1)
            if (g.k->num == 1) res = g, have_res = 1;
        if (rc < 0) return rc;
        mres r;
        memset(&r, 0, sizeof r);
        int other = 0;
        if (have_res) RETURN_IF_ERR(resource_scan(&rm, &res, &r, &other));
        oc_open(&root, &f, &M_RESOURCE_X, &rm);
        while ((rc = oc_next(&rm, &g)) == 1) {
            if (g.k->num != 2) continue;
            ocur sm;
            oc_open(&rm, &g, &M_SCOPE_METRICS, &sm);
            ofv h;
            while ((rc = oc_next(&sm, &h)) == 1)
                if (h.k->num == 2) RETURN_IF_ERR(do_metric(&sm, &h, &r));
            if (rc < 0) return rc;
        }
        if (rc < 0) return rc;
        if (other && r.have_t) RETURN_IF_ERR(target_info(&rm, &res, &r));
    }
    return rc;
}

/* ==== logs ==================================================================================== */

static const char *const default_index_attrs[] = {
    "service.name", "service.namespace", "service.instance.id", "deployment.environment",
    "deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
    "k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
    "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name"};

static int is_index_attr(const ingest_opts *o, const char *k, size_t n)
{
    const char *const *list = o->otlp_index_attrs ? o->otlp_index_attrs : default_index_attrs;
    size_t cnt = o->otlp_index_attrs ? o->n_otlp_index_attrs : sizeof default_index_attrs / sizeof *default_index_attrs;
    for (size_t i = 0; i < cnt; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], k, n)) return 1;
    return 0;
}

static int sm_add(ingest_lb *lb, const char *name, const char *v, size_t vn)
{
    return ingest_lb_add(lb, name, strlen(name), v, vn);
}

static int do_record(ocur *sl, const ofv *rv, int ref, const char *what, long long idx)
{
    oc *c = sl->c;
    ocur lr;
    oc_open(sl, rv, &M_LOG, &lr);
    ingest_lb_reset(&c->sm);
    RETURN_IF_ERR(lb_copy(&c->sm, &c->res_sm));
    RETURN_IF_ERR(lb_copy(&c->sm, &c->scope_sm));
    uint64_t t = 0, obs = 0, sev = 0, flags = 0, dropped = 0;
    const char *sev_text = NULL, *trace = NULL, *span = NULL, *event = NULL;
    size_t sev_n = 0, trace_n = 0, span_n = 0, event_n = 0;
    ofv f, body = {0};
    int rc, have_body = 0;
    while ((rc = oc_next(&lr, &f)) == 1) {
        switch (f.k->num) {
        case 1: t = f.u; break;
        case 2: sev = f.u; break;
        case 3: sev_text = f.s, sev_n = f.n; break;
        case 5: body = f, have_body = 1; break;
        case 6: RETURN_IF_ERR(add_attr(&lr, &f, &c->sm, 1, "", 0, 0)); break;
        case 7: dropped = f.u; break;
        case 8: flags = f.u; break;
        case 9: trace = f.s, trace_n = f.n; break;
        case 10: span = f.s, span_n = f.n; break;
        case 11: obs = f.u; break;
        case 12: event = f.s, event_n = f.n; break;
        }
    }
    if (rc < 0) return rc;
    char num[32];
    if (sev && sm_add(&c->sm, "severity_number", num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)sev)))
        return CAIRN_ENOMEM;
    if (sev_n && sm_add(&c->sm, "severity_text", sev_text, sev_n)) return CAIRN_ENOMEM;
    if (trace_n && sm_add(&c->sm, "trace_id", trace, trace_n)) return CAIRN_ENOMEM;
    if (span_n && sm_add(&c->sm, "span_id", span, span_n)) return CAIRN_ENOMEM;
    if (flags && sm_add(&c->sm, "flags", num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)flags)))
        return CAIRN_ENOMEM;
    if (t && obs && sm_add(&c->sm, "observed_timestamp", num, (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)obs)))
        return CAIRN_ENOMEM;
    if (dropped && sm_add(&c->sm, "dropped_attributes_count", num,
                          (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)dropped)))
        return CAIRN_ENOMEM;
    if (event_n && sm_add(&c->sm, "event_name", event, event_n)) return CAIRN_ENOMEM;
    uint64_t ts = t ? t : obs;
    if (ts > (uint64_t)INT64_MAX)
        return err_set(c->err, CAIRN_EINVAL, "%s, entry %lld: log record timestamp %llu ns is out of range", what, idx,
                       (unsigned long long)ts);
    int64_t t_ns = ts ? (int64_t)ts : c->o->now_ns;
    c->line.len = 0;
    if (have_body) RETURN_IF_ERR(any_render(&lr, &body, &c->line, 0, 0));
    cairn_label *ml = ingest_lb_labels(&c->sm, 0);
    if (!ml) return CAIRN_ENOMEM;
    return ingest_entry(c->b, ref, what, idx, t_ns, (const char *)c->line.p, c->line.len, ml, c->sm.n, c->o, c->err);
}

static int logs_walk(oc *c, const uint8_t *body, size_t len)
{
    ocur root;
    RETURN_IF_ERR(oc_open_root(c, &M_EXPORT_LOGS, body, len, &root));
    ofv f;
    int rc;
    size_t ri = 0;
    while ((rc = oc_next(&root, &f)) == 1) {
        ocur rl;
        oc_open(&root, &f, &M_RESOURCE_LOGS, &rl);
        ofv g, res = {0};
        int have_res = 0;
        while ((rc = oc_next(&rl, &g)) == 1)
            if (g.k->num == 1) res = g, have_res = 1;
        if (rc < 0) return rc;
        ingest_lb_reset(&c->res);
        ingest_lb_reset(&c->res_sm);
        if (have_res) {
            ocur ru;
            oc_open(&rl, &res, &M_RESOURCE, &ru);
            while ((rc = oc_next(&ru, &g)) == 1) {
                ocur kv;
                oc_open(&ru, &g, &M_KV, &kv);
                ofv h, key = {0};
                while ((rc = oc_next(&kv, &h)) == 1)
                    if (h.k->num == 1) key = h;
                if (rc < 0) return rc;
                int idx = is_index_attr(c->o, key.s, key.n);
                RETURN_IF_ERR(add_attr(&ru, &g, idx ? &c->res : &c->res_sm, !idx, "", 0, 0));
            }
            if (rc < 0) return rc;
        }
        cairn_label *l = ingest_lb_labels(&c->res, 1);
        if (!l) return CAIRN_ENOMEM;
        size_t n = c->res.n;
        if (c->o->add_service_name) ingest_add_service_name(l, &n);
        int ref = ingest_series(c->b, CAIRN_KIND_LOG, l, &n, c->o, "OTLP resourceLogs", (long long)ri, c->err);
        if (ref < 0) return ref;
        char what[240], ls[160];
        ingest_fmt_labels(l, n, ls, sizeof ls);
        snprintf(what, sizeof what, "OTLP resourceLogs %zu %s", ri, ls);
        oc_open(&root, &f, &M_RESOURCE_LOGS, &rl);
        size_t ei = 0;
        while ((rc = oc_next(&rl, &g)) == 1) {
            if (g.k->num != 2) continue;
            ocur sl;
            oc_open(&rl, &g, &M_SCOPE_LOGS, &sl);
            ofv h;
            ingest_lb_reset(&c->scope_sm);
            while ((rc = oc_next(&sl, &h)) == 1) {
                if (h.k->num != 1) continue;
                ocur sc;
                oc_open(&sl, &h, &M_SCOPE, &sc);
                ofv q;
                while ((rc = oc_next(&sc, &q)) == 1) {
                    if (q.k->num == 1 && q.n) RETURN_IF_ERR(sm_add(&c->scope_sm, "scope_name", q.s, q.n));
                    else if (q.k->num == 2 && q.n) RETURN_IF_ERR(sm_add(&c->scope_sm, "scope_version", q.s, q.n));
                    else if (q.k->num == 3) RETURN_IF_ERR(add_attr(&sc, &q, &c->scope_sm, 1, "", 0, 0));
                }
                if (rc < 0) return rc;
            }
            if (rc < 0) return rc;
            oc_open(&rl, &g, &M_SCOPE_LOGS, &sl);
            while ((rc = oc_next(&sl, &h)) == 1) {
                if (h.k->num != 2) continue;
                RETURN_IF_ERR(do_record(&sl, &h, ref, what, (long long)ei++));
            }
            if (rc < 0) return rc;
        }
        if (rc < 0) return rc;
        ri++;
    }
    return rc;
}

/* ==== entry points ================================================================================ */

static int oc_run(const uint8_t *body, size_t len, int encoding, const ingest_opts *o, cairn_batch *b,
                  ingest_meta_list *meta, cairn_err *err, int logs)
{
    const char *what = logs ? "OTLP logs" : "OTLP metrics";
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "%s: body of %zu bytes exceeds %zu bytes", what, len, o->max_body_bytes);
    oc c;
    memset(&c, 0, sizeof c);
    c.o = o, c.b = b, c.meta = meta, c.err = err, c.json = encoding == OTLP_JSON;
    jr_init(&c.doc);
    ingest_lb_init(&c.lb), ingest_lb_init(&c.res), ingest_lb_init(&c.sm), ingest_lb_init(&c.scope_sm);
    ingest_lb_init(&c.res_sm);
    int rc = CAIRN_OK;
    c.ar = arena_new(0);
    if (!c.ar) rc = err_set(err, CAIRN_ENOMEM, "%s: out of memory", what);
    if (!rc && c.json) rc = jr_parse(&c.doc, (const char *)body, len, o->max_depth, err);
    if (!rc) rc = logs ? logs_walk(&c, body, len) : metrics_walk(&c, body, len);
    if (rc == CAIRN_ENOMEM) rc = err_set(err, rc, "%s: out of memory", what);
    if (rc > 0) rc = CAIRN_OK;
    jr_free(&c.doc);
    ingest_lb_free(&c.lb), ingest_lb_free(&c.res), ingest_lb_free(&c.sm), ingest_lb_free(&c.scope_sm);
    ingest_lb_free(&c.res_sm);
    buf_free(&c.tmp), buf_free(&c.line), buf_free(&c.vals);
    arena_free(c.ar);
    if (rc) {
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    return rc;
}

int otlp_decode_metrics(const uint8_t *body, size_t len, int encoding, const ingest_opts *o, cairn_batch *b,
                        ingest_meta_list *meta, cairn_err *err)
{
    return oc_run(body, len, encoding, o, b, meta, err, 0);
}

int otlp_decode_logs(const uint8_t *body, size_t len, int encoding, const ingest_opts *o, cairn_batch *b,
                     cairn_err *err)
{
    return oc_run(body, len, encoding, o, b, NULL, err, 1);
}
