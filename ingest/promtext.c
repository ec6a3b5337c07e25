/*
 * promtext.c — Prometheus text exposition 0.0.4 and OpenMetrics 1.0 into a
 * batch (api-contract C.3; rules and deviations in docs/ingest.md).
 *
 * One pass, one line at a time, no allocation per line beyond the label
 * builder's reusable buffer: a line is a comment (# HELP / # TYPE / # UNIT /
 * # EOF, anything else after '#' is ignored) or a sample
 *     name{label="value",...} value [timestamp] [# exemplar]
 * where the name may instead be quoted inside the braces ({"my.metric"}),
 * label values unescape \\ \" \n, and the value is a float (Go ParseFloat
 * spellings: NaN, Inf, +Inf, -Inf, infinity, any case). Text "NaN" becomes
 * Prometheus' NormalNaN bits 0x7ff8000000000001, as a scrape would store it.
 *
 * Timestamps: 0.0.4 has int64 milliseconds; OpenMetrics has seconds with an
 * optional fraction, converted exactly (decimal digits, not float math:
 * "1520879607.789" is 1520879607789 ms; digits past the third are
 * truncated). A sample without a timestamp gets opts->default_t_ms, which
 * the HTTP layer sets to the receive time.
 *
 * _created: kept as an ordinary gauge-like series, as Prometheus 2.x stores
 * it by default (only Prometheus' opt-in created-timestamp ingestion drops
 * them). It is never typed a counter: metadata is keyed by the family name
 * in the TYPE line, and "foo_created" is not that name.
 *
 * OpenMetrics needs "# EOF" as its last line; anything after it, or its
 * absence, is an error. A second TYPE or HELP line for one name is an error
 * (Prometheus' parser rejects it too). Repeating a series on several lines
 * is allowed (an import file holds many samples of a series); what the
 * engine does with equal timestamps is its business.
 *
 * Errors: syntax -> CAIRN_EPARSE with err->line/col and a "line:col:" prefix;
 * invalid labels -> CAIRN_EINVAL naming the line. On error the batch and the
 * metadata list are reset.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ingest.h"
#include "mem.h"

typedef struct pt {
    const char *s; /* current line */
    size_t n;      /* line length */
    size_t i;      /* cursor in line */
    int line;
    int om;
    cairn_err *err;
} pt;

static int pt_fail(pt *p, const char *fmt, const char *arg)
{
    int col = (int)p->i + 1;
    char what[160];
    snprintf(what, sizeof what, fmt, arg ? arg : "");
    return err_parse(p->err, p->line, col, "%s", what);
}

static void blanks(pt *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t')) p->i++;
}

static int name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* A metric name, unquoted: returns its length (0 if none). */
static size_t metric_name(pt *p)
{
    size_t a = p->i;
    if (p->i < p->n && name_start(p->s[p->i]))
        while (p->i < p->n && name_char(p->s[p->i])) p->i++;
    return p->i - a;
}

/* A quoted string at p->i (the opening quote), unescaped and appended to `out`. */
static int quoted(pt *p, buf *out)
{
    if (p->i >= p->n || p->s[p->i] != '"') return pt_fail(p, "expected '\"'", NULL);
    p->i++;
    size_t a = p->i;
    while (p->i < p->n && p->s[p->i] != '"') {
        if (p->s[p->i] == '\\' && p->i + 1 < p->n) {
            char e = p->s[p->i + 1];
            char c = e == 'n' ? '\n' : e == '\\' ? '\\' : e == '"' ? '"' : 0;
            if (c) { /* unknown escapes are kept as written */
                if (buf_put(out, p->s + a, p->i - a) || buf_put_u8(out, (uint8_t)c)) return CAIRN_ENOMEM;
                a = p->i + 2;
            }
            p->i += 2;
            continue;
        }
        p->i++;
    }
    if (p->i >= p->n) return pt_fail(p, "unterminated quoted string", NULL);
    if (buf_put(out, p->s + a, p->i - a)) return CAIRN_ENOMEM;
    p->i++;
    return CAIRN_OK;
}

/* quoted() into the value of the label builder's last label. */
static int quoted_value(pt *p, ingest_lb *lb)
{
    size_t before = lb->str.len;
    RETURN_IF_ERR(quoted(p, &lb->str));
    lb->ent[(lb->n - 1) * 4 + 3] += lb->str.len - before;
    return CAIRN_OK;
}

/* The next blank-separated token. */
static size_t token(pt *p, const char **t)
{
    *t = p->s + p->i;
    size_t a = p->i;
    while (p->i < p->n && p->s[p->i] != ' ' && p->s[p->i] != '\t') p->i++;
    return p->i - a;
}

static int ieq(const char *a, size_t n, const char *b)
{
    if (strlen(b) != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != b[i]) return 0;
    }
    return 1;
}

/* Go ParseFloat's decimal spellings. 0 on success. */
static int parse_float(const char *t, size_t n, double *v)
{
    const char *u = t;
    size_t un = n;
    int neg = 0;
    if (un && (u[0] == '+' || u[0] == '-')) neg = u[0] == '-', u++, un--;
    if (ieq(u, un, "nan")) {
        uint64_t bits = 0x7ff8000000000001ULL; /* Prometheus value.NormalNaN */
        memcpy(v, &bits, 8);
        return 0;
    }
    if (ieq(u, un, "inf") || ieq(u, un, "infinity")) {
        *v = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (n == 0 || n > 63) return -1;
    char tmp[64];
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return -1;
        tmp[i] = c;
    }
    tmp[n] = 0;
    char *end;
    *v = strtod(tmp, &end);
    return end == tmp + n ? 0 : -1;
}

static int parse_ts(pt *p, const char *t, size_t n, int64_t *ms)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (t[i] == '-' || t[i] == '+')) neg = t[i] == '-', i++;
    uint64_t sec = 0;
    size_t d0 = i;
    while (i < n && t[i] >= '0' && t[i] <= '9') {
        if (sec > (UINT64_MAX - 9) / 10) return pt_fail(p, "timestamp out of range", NULL);
        sec = sec * 10 + (uint64_t)(t[i++] - '0');
    }
    if (i == d0 && !(p->om && i < n && t[i] == '.')) return pt_fail(p, "invalid timestamp", NULL);
    if (!p->om) {
        if (i != n) return pt_fail(p, "invalid timestamp (expected integer milliseconds)", NULL);
        if (sec > (uint64_t)INT64_MAX) return pt_fail(p, "timestamp out of range", NULL);
        *ms = neg ? -(int64_t)sec : (int64_t)sec;
        return CAIRN_OK;
    }
    uint64_t frac = 0;
    if (i < n && t[i] == '.') {
        i++;
        int k = 0;
        while (i < n && t[i] >= '0' && t[i] <= '9') {
            if (k < 3) frac = frac * 10 + (uint64_t)(t[i] - '0');
            k++, i++;
        }
        for (; k < 3; k++) frac *= 10;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) { /* rare: fall back to a double */
        double d;
        if (parse_float(t, n, &d) || !(fabs(d * 1000.0) < 9.2e18)) return pt_fail(p, "timestamp out of range", NULL);
        *ms = (int64_t)(d * 1000.0);
        return CAIRN_OK;
    }
    if (i != n) return pt_fail(p, "invalid timestamp", NULL);
    if (sec > (uint64_t)(INT64_MAX / 1000 - 1)) return pt_fail(p, "timestamp out of range", NULL);
    int64_t v = (int64_t)(sec * 1000 + frac);
    *ms = neg ? -v : v;
    return CAIRN_OK;
}

static int type_of(const char *t, size_t n)
{
    static const struct { const char *w; int type; } types[] = {
        {"counter", INGEST_TYPE_COUNTER},     {"gauge", INGEST_TYPE_GAUGE},
        {"histogram", INGEST_TYPE_HISTOGRAM}, {"gaugehistogram", INGEST_TYPE_GAUGEHISTOGRAM},
        {"summary", INGEST_TYPE_SUMMARY},     {"info", INGEST_TYPE_INFO},
        {"stateset", INGEST_TYPE_STATESET},   {"untyped", INGEST_TYPE_UNKNOWN},
        {"unknown", INGEST_TYPE_UNKNOWN}};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i].w) == n && memcmp(types[i].w, t, n) == 0) return types[i].type;
    return -1;
}

/* # HELP / # TYPE / # UNIT / # EOF; p->i just after '#'. Returns 1 at # EOF. */
static int comment(pt *p, ingest_meta_list *meta, ingest_lb *lb, unsigned char *seen_bits)
{
    blanks(p);
    const char *w;
    size_t wn = token(p, &w);
    int kind = wn == 4 && !memcmp(w, "HELP", 4) ? 1 : wn == 4 && !memcmp(w, "TYPE", 4) ? 2
             : wn == 4 && !memcmp(w, "UNIT", 4) && p->om ? 3 : 0;
    if (wn == 3 && !memcmp(w, "EOF", 3) && p->om) {
        blanks(p);
        if (p->i != p->n) return pt_fail(p, "unexpected text after # EOF", NULL);
        return 1;
    }
    if (!kind) return CAIRN_OK; /* a plain comment */
    if (p->i >= p->n) return pt_fail(p, "expected a metric name", NULL);
    p->i++; /* the separating blank */
    ingest_lb_reset(lb);
    if (ingest_lb_begin(lb, "", 0) < 0) return CAIRN_ENOMEM;
    if (p->i < p->n && p->s[p->i] == '"') {
        RETURN_IF_ERR(quoted_value(p, lb));
    } else {
        size_t a = p->i, nn = metric_name(p);
        if (nn == 0) return pt_fail(p, "expected a metric name", NULL);
        if (ingest_lb_append(lb, p->s + a, nn)) return CAIRN_ENOMEM;
    }
    if (p->i < p->n && p->s[p->i] != ' ' && p->s[p->i] != '\t') return pt_fail(p, "invalid metric name", NULL);
    cairn_label *nm = ingest_lb_labels(lb, 0);
    if (!nm) return CAIRN_ENOMEM;
    const char *name = nm[0].value;
    size_t name_len = nm[0].value_len;
    if (p->i < p->n) p->i++;
    long at = ingest_meta_find(meta, name, name_len);
    unsigned bit = kind == 1 ? 1 : kind == 2 ? 2 : 4;
    if (at >= 0 && (seen_bits[at] & bit))
        return pt_fail(p, kind == 1 ? "second HELP line for this metric name"
                        : kind == 2 ? "second TYPE line for this metric name" : "second UNIT line for this metric name", NULL);
    int rc;
    if (kind == 2) {
        blanks(p);
        const char *t;
        size_t tn = token(p, &t);
        int type = type_of(t, tn);
        if (type < 0) {
            char tt[41];
            snprintf(tt, sizeof tt, "%.*s", (int)(tn > 40 ? 40 : tn), t);
            p->i -= tn;
            return pt_fail(p, "unknown metric type \"%s\"", tt);
        }
        blanks(p);
        if (p->i != p->n) return pt_fail(p, "unexpected text after the metric type", NULL);
        rc = ingest_meta_set(meta, name, name_len, type, NULL, 0, NULL, 0);
    } else {
        /* the text is the rest of the line, with \\ and \n (and in OpenMetrics \") unescaped */
        if (ingest_lb_begin(lb, "", 0) < 0) return CAIRN_ENOMEM;
        size_t a = p->i;
        for (; p->i < p->n; p->i++) {
            if (p->s[p->i] != '\\' || p->i + 1 >= p->n) continue;
            char e = p->s[p->i + 1];
            char c = e == 'n' ? '\n' : e == '\\' ? '\\' : (e == '"' && p->om) ? '"' : 0;
            if (!c) continue;
            if (ingest_lb_append(lb, p->s + a, p->i - a) || ingest_lb_append(lb, &c, 1)) return CAIRN_ENOMEM;
            p->i++;
            a = p->i + 1;
        }
        if (ingest_lb_append(lb, p->s + a, p->n - a)) return CAIRN_ENOMEM;
        nm = ingest_lb_labels(lb, 0);
        if (!nm) return CAIRN_ENOMEM;
        if (kind == 1) rc = ingest_meta_set(meta, nm[0].value, nm[0].value_len, -1, nm[1].value, nm[1].value_len, NULL, 0);
        else rc = ingest_meta_set(meta, nm[0].value, nm[0].value_len, -1, NULL, 0, nm[1].value, nm[1].value_len);
    }
    if (rc) return err_set(p->err, rc, "out of memory storing metadata");
    at = ingest_meta_find(meta, nm[0].value, nm[0].value_len);
    if (at >= 0) seen_bits[at] |= (unsigned char)bit;
    return CAIRN_OK;
}

static int sample(pt *p, const ingest_opts *o, cairn_batch *b, ingest_lb *lb, buf *tmp)
{
    ingest_lb_reset(lb);
    size_t a = p->i, nn = metric_name(p);
    if (nn && ingest_lb_add(lb, "__name__", 8, p->s + a, nn)) return CAIRN_ENOMEM;
    if (!nn && (p->i >= p->n || p->s[p->i] != '{')) return pt_fail(p, "expected a metric name", NULL);
    if (p->i < p->n && p->s[p->i] == '{') {
        p->i++;
        int have_name = nn != 0;
        for (;;) {
            blanks(p);
            if (p->i < p->n && p->s[p->i] == '}') break;
            size_t la = p->i;
            if (p->i < p->n && p->s[p->i] == '"') {
                /* a quoted label name, or the quoted metric name if no '=' follows */
                tmp->len = 0;
                RETURN_IF_ERR(quoted(p, tmp));
                blanks(p);
                if (p->i < p->n && p->s[p->i] != '=') {
                    if (have_name) return pt_fail(p, "expected '='", NULL);
                    have_name = 1;
                    if (ingest_lb_add(lb, "__name__", 8, (const char *)tmp->p, tmp->len)) return CAIRN_ENOMEM;
                    goto sep;
                }
                if (ingest_lb_begin(lb, (const char *)tmp->p, tmp->len) < 0) return CAIRN_ENOMEM;
            } else {
                if (p->i < p->n && (name_start(p->s[p->i]) && p->s[p->i] != ':'))
                    while (p->i < p->n && name_char(p->s[p->i]) && p->s[p->i] != ':') p->i++;
                if (p->i == la) return pt_fail(p, "expected a label name", NULL);
                if (ingest_lb_begin(lb, p->s + la, p->i - la) < 0) return CAIRN_ENOMEM;
                blanks(p);
            }
            if (p->i >= p->n || p->s[p->i] != '=') return pt_fail(p, "expected '=' after the label name", NULL);
            p->i++;
            blanks(p);
            RETURN_IF_ERR(quoted_value(p, lb));
        sep:
            blanks(p);
            if (p->i < p->n && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->n && p->s[p->i] == '}') break;
            return pt_fail(p, "expected ',' or '}'", NULL);
        }
        p->i++;
        if (!have_name) return pt_fail(p, "no metric name", NULL);
    }
    if (p->i >= p->n || (p->s[p->i] != ' ' && p->s[p->i] != '\t')) return pt_fail(p, "expected a blank before the value", NULL);
    blanks(p);
    const char *t;
    size_t vcol = p->i;
    size_t tn = token(p, &t);
    double v;
    if (tn == 0 || parse_float(t, tn, &v)) {
        p->i = vcol;
        return pt_fail(p, "invalid value", NULL);
    }
    blanks(p);
    int64_t ts = o->default_t_ms;
    if (p->i < p->n && p->s[p->i] != '#') {
        size_t tcol = p->i;
        tn = token(p, &t);
        int64_t ms = 0;
        size_t save = p->i;
        p->i = tcol;
        RETURN_IF_ERR(parse_ts(p, t, tn, &ms));
        p->i = save;
        ts = ms;
        blanks(p);
    }
    if (p->i < p->n) {
        if (!(p->om && p->s[p->i] == '#')) return pt_fail(p, "unexpected text after the sample", NULL);
        /* an OpenMetrics exemplar: dropped */
    }
    cairn_label *l = ingest_lb_labels(lb, 0);
    if (!l) return CAIRN_ENOMEM;
    size_t n = lb->n;
    int ref = ingest_series(b, CAIRN_KIND_METRIC, l, &n, o, "line", p->line, p->err);
    if (ref < 0) return ref;
    cairn_err e2;
    int rc = cairn_batch_sample(b, ref, ts, v, &e2);
    if (rc) return err_set(p->err, rc, "line %d: %s", p->line, e2.msg);
    return CAIRN_OK;
}

int ptext_decode(const char *text, size_t len, int format, const ingest_opts *o, cairn_batch *b,
                 ingest_meta_list *meta, cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "text body of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    ingest_meta_list local;
    ingest_meta_init(&local);
    ingest_meta_list *ml = meta ? meta : &local;
    ingest_lb lb;
    ingest_lb_init(&lb);
    buf tmp;
    buf_init(&tmp);
    unsigned char *seen = NULL; /* HELP/TYPE/UNIT bits per metadata entry */
    size_t seen_cap = 0;
    pt p = {.line = 0, .om = format == PTEXT_OPENMETRICS, .err = err};
    int rc = CAIRN_OK, eof = 0;
    size_t at = 0;
    while (at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t le = nl ? (size_t)(nl - text) : len;
        p.s = text + at;
        p.n = le - at;
        p.i = 0;
        p.line++;
        at = nl ? le + 1 : len;
        if (p.n && p.s[p.n - 1] == '\r') p.n--;
        if (eof) {
            blanks(&p);
            if (p.i == p.n && !nl) break;
            rc = pt_fail(&p, "content after # EOF", NULL);
            break;
        }
        blanks(&p);
        if (p.i == p.n) continue;
        if (memchr(p.s, 0, p.n)) {
            p.i = (size_t)((const char *)memchr(p.s, 0, p.n) - p.s);
            rc = pt_fail(&p, "NUL byte in the text", NULL);
            break;
        }
        if (p.s[p.i] == '#') {
            p.i++;
            if (ml->n + 1 > seen_cap) {
                size_t nc = seen_cap ? seen_cap * 2 : 64;
                while (nc < ml->n + 1) nc *= 2;
                unsigned char *s2 = mem_realloc(seen, seen_cap, nc);
                if (!s2) {
                    rc = err_set(err, CAIRN_ENOMEM, "out of memory");
                    break;
                }
                memset(s2 + seen_cap, 0, nc - seen_cap);
                seen = s2, seen_cap = nc;
            }
            rc = comment(&p, ml, &lb, seen);
            if (rc == 1) eof = 1, rc = CAIRN_OK;
            if (rc == CAIRN_ENOMEM) rc = err_set(err, rc, "out of memory");
        } else {
            rc = sample(&p, o, b, &lb, &tmp);
            if (rc == CAIRN_ENOMEM) rc = err_set(err, rc, "out of memory");
        }
        if (rc) break;
    }
    if (!rc && p.om && !eof) {
        p.line++;
        p.s = "";
        p.n = p.i = 0;
        rc = pt_fail(&p, "missing # EOF at the end of an OpenMetrics exposition", NULL);
    }
    mem_free(seen, seen_cap);
    buf_free(&tmp);
    ingest_lb_free(&lb);
    ingest_meta_free(&local);
    if (rc) {
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    return rc;
}
