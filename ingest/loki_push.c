/*
 * loki_push.c — Loki push requests (JSON and protobuf+snappy) into a batch
 * (api-contract C.2; mapping and limits in docs/ingest.md).
 *
 * JSON: {"streams":[{"stream":{"k":"v",...},"values":[["<ns>","line"],
 * ["<ns>","line",{"k":"v"}],...]},...]}. The document is tokenised once by
 * jsonr (bounded depth, validated UTF-8) and walked by index, so "values" may
 * come before "stream" and unknown keys are ignored. Timestamps must be
 * strings of integer nanoseconds (a JSON number is rejected, as Loki does).
 *
 * Protobuf: logproto.PushRequest read in place with the pb field reader: no
 * generated code, no allocation per message. A StreamAdapter is read twice,
 * first for its label string (which may follow the entries on the wire),
 * then for its entries. The label string is LogQL selector syntax with `=`
 * matchers only; lpush_parse_labels() parses it here rather than calling
 * query/ (ingest and query never include each other).
 *
 * Both encodings then share one path: labels -> (optional) service_name
 * discovery -> ingest_series (legacy names, no duplicates, <= 15 names not
 * counting service_name, value <= 2048 bytes, UTF-8) -> ingest_entry per
 * line (line size, [now - 7 d, now + 10 min], structured metadata limits).
 * Errors name the stream by index and labels and the entry by index or
 * timestamp. A label set that appears in several stream objects maps to one
 * batch series (the batch de-duplicates). Any error resets the batch.
 */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "ingest.h"
#include "jsonr.h"
#include "mem.h"
#include "pb.h"

/* ==== label string parser ====================================================== */

static int lbl_fail(cairn_err *err, size_t at, const char *what)
{
    return err_parse(err, 1, (int)at + 1, "%s", what);
}

static int octal(char c) { return c >= '0' && c <= '7'; }
static int hexd(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_utf8(buf *b, uint32_t cp)
{
    /* strs was reserved up front: these writes cannot fail or move */
    uint8_t *d = b->p + b->len;
    if (cp < 0x80) d[0] = (uint8_t)cp, b->len += 1;
    else if (cp < 0x800) d[0] = (uint8_t)(0xc0 | cp >> 6), d[1] = (uint8_t)(0x80 | (cp & 0x3f)), b->len += 2;
    else if (cp < 0x10000)
        d[0] = (uint8_t)(0xe0 | cp >> 12), d[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)),
        d[2] = (uint8_t)(0x80 | (cp & 0x3f)), b->len += 3;
    else
        d[0] = (uint8_t)(0xf0 | cp >> 18), d[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
        d[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), d[3] = (uint8_t)(0x80 | (cp & 0x3f)), b->len += 4;
}

int lpush_parse_labels(const char *s, size_t len, cairn_label *out, size_t cap, buf *strs, cairn_err *err)
{
    /* Decoded text is never longer than its source, so one reservation
     * keeps every pointer handed out stable. */
    if (buf_reserve(strs, len + 1)) return err_set(err, CAIRN_ENOMEM, "out of memory parsing labels");
    size_t i = 0, n = 0;
#define SP() while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++
    SP();
    if (i >= len || s[i] != '{') return lbl_fail(err, i, "expected '{'");
    i++;
    for (;;) {
        SP();
        if (i < len && s[i] == '}') break;
        size_t a = i;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
                           (i > a && s[i] >= '0' && s[i] <= '9')))
            i++;
        if (i == a) return lbl_fail(err, i, "expected a label name");
        if (n >= cap) return err_set(err, CAIRN_EINVAL, "more than %zu labels", cap);
        out[n].name = (const char *)strs->p + strs->len;
        out[n].name_len = i - a;
        memcpy(strs->p + strs->len, s + a, i - a);
        strs->len += i - a;
        SP();
        if (i >= len || s[i] != '=') return lbl_fail(err, i, "expected '=' (only equality matchers are allowed)");
        i++;
        SP();
        if (i >= len || (s[i] != '"' && s[i] != '`')) return lbl_fail(err, i, "expected a quoted label value");
        char q = s[i++];
        size_t v0 = strs->len;
        for (;;) {
            if (i >= len) return lbl_fail(err, i, "unterminated label value");
            char c = s[i];
            if (c == q) {
                i++;
                break;
            }
            if (c != '\\' || q == '`') {
                if (c == '\n' && q == '"') return lbl_fail(err, i, "newline in label value");
                strs->p[strs->len++] = (uint8_t)c;
                i++;
                continue;
            }
            if (i + 1 >= len) return lbl_fail(err, i, "unterminated escape");
            char e = s[i + 1];
            const char *simple = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''";
            const char *hit = NULL;
            for (const char *t = simple; *t; t += 2)
                if (*t == e) hit = t;
            if (hit) {
                strs->p[strs->len++] = (uint8_t)hit[1];
                i += 2;
            } else if (e == 'x') {
                if (i + 3 >= len || hexd(s[i + 2]) < 0 || hexd(s[i + 3]) < 0) return lbl_fail(err, i, "bad \\x escape");
                strs->p[strs->len++] = (uint8_t)(hexd(s[i + 2]) << 4 | hexd(s[i + 3]));
                i += 4;
            } else if (octal(e)) {
                if (i + 3 >= len || !octal(s[i + 2]) || !octal(s[i + 3]) || e > '3')
                    return lbl_fail(err, i, "bad octal escape");
                strs->p[strs->len++] = (uint8_t)((e - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
                i += 4;
            } else if (e == 'u' || e == 'U') {
                int nd = e == 'u' ? 4 : 8;
                uint32_t cp = 0;
                for (int k = 0; k < nd; k++) {
                    int h = i + 2 + (size_t)k < len ? hexd(s[i + 2 + (size_t)k]) : -1;
                    if (h < 0) return lbl_fail(err, i, "bad unicode escape");
                    cp = cp << 4 | (uint32_t)h;
                }
                if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return lbl_fail(err, i, "bad unicode escape");
                put_utf8(strs, cp);
                i += 2 + (size_t)nd;
            } else {
                return lbl_fail(err, i, "unknown escape");
            }
        }
        out[n].value = (const char *)strs->p + v0;
        out[n].value_len = strs->len - v0;
        n++;
        SP();
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i < len && s[i] == '}') break;
        return lbl_fail(err, i, "expected ',' or '}'");
    }
    i++;
    SP();
#undef SP
    if (i != len) return lbl_fail(err, i, "unexpected text after '}'");
    return (int)n;
}

/* ==== shared ======================================================================== */

typedef struct lp {
    const ingest_opts *o;
    cairn_batch *b;
    cairn_err *err;
    ingest_lb lb, meta;
    buf line, strs;
    cairn_label *labels;
    size_t labels_cap;
    char what[200];
} lp;

static void lp_init(lp *p, const ingest_opts *o, cairn_batch *b, cairn_err *err)
{
    memset(p, 0, sizeof *p);
    p->o = o, p->b = b, p->err = err;
    ingest_lb_init(&p->lb);
    ingest_lb_init(&p->meta);
}

static void lp_free(lp *p)
{
    ingest_lb_free(&p->lb);
    ingest_lb_free(&p->meta);
    buf_free(&p->line);
    buf_free(&p->strs);
    mem_free(p->labels, p->labels_cap * sizeof *p->labels);
}

/* Add stream `si` with labels l[0..n) (room for one more). */
static int lp_stream(lp *p, size_t si, cairn_label *l, size_t n)
{
    if (p->o->add_service_name) ingest_add_service_name(l, &n);
    int ref = ingest_series(p->b, CAIRN_KIND_LOG, l, &n, p->o, "stream", (long long)si, p->err);
    if (ref < 0) return ref;
    char ls[160];
    ingest_fmt_labels(l, n, ls, sizeof ls);
    snprintf(p->what, sizeof p->what, "stream %zu %s", si, ls);
    return ref;
}

static int parse_ns(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (n && (s[0] == '-' || s[0] == '+')) neg = s[0] == '-', i = 1;
    if (i == n || n - i > 19) return -1;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* ==== JSON =========================================================================== */

static int json_fail(lp *p, size_t si, long ei, const char *what)
{
    if (ei >= 0) return err_set(p->err, CAIRN_EINVAL, "stream %zu, entry %ld: %s", si, ei, what);
    return err_set(p->err, CAIRN_EINVAL, "stream %zu: %s", si, what);
}

static int json_stream(lp *p, const jr_doc *d, uint32_t st, size_t si)
{
    if (d->t[st].type != JR_OBJ) return json_fail(p, si, -1, "a stream must be a JSON object");
    long lo = jr_get(d, st, "stream");
    long vo = jr_get(d, st, "values");
    if (lo < 0 || d->t[lo].type != JR_OBJ) return json_fail(p, si, -1, "\"stream\" must be an object of label strings");
    if (vo < 0 || d->t[vo].type != JR_ARR) return json_fail(p, si, -1, "\"values\" must be an array");
    ingest_lb_reset(&p->lb);
    uint32_t k = (uint32_t)lo + 1;
    for (uint32_t m = 0; m < d->t[lo].n; m++, k = d->t[k + 1].end) {
        if (d->t[k + 1].type != JR_STR) return json_fail(p, si, -1, "label values must be strings");
        if (ingest_lb_begin(&p->lb, "", 0) < 0) return CAIRN_ENOMEM;
        /* decode the name into the value slot first, then swap slots */
        size_t *e = p->lb.ent + (p->lb.n - 1) * 4;
        size_t off = p->lb.str.len;
        if (jr_str(d, k, &p->lb.str)) return CAIRN_ENOMEM;
        e[0] = off, e[1] = p->lb.str.len - off;
        e[2] = p->lb.str.len;
        if (jr_str(d, k + 1, &p->lb.str)) return CAIRN_ENOMEM;
        e[3] = p->lb.str.len - e[2];
    }
    cairn_label *l = ingest_lb_labels(&p->lb, 1);
    if (!l) return CAIRN_ENOMEM;
    int ref = lp_stream(p, si, l, p->lb.n);
    if (ref < 0) return ref;
    uint32_t v = (uint32_t)vo + 1;
    for (uint32_t ei = 0; ei < d->t[vo].n; ei++, v = d->t[v].end) {
        const jr_tok *t = &d->t[v];
        if (t->type != JR_ARR || t->n < 2 || t->n > 3)
            return json_fail(p, si, ei, "an entry must be [\"<ns timestamp>\", \"<line>\"] or [ts, line, {metadata}]");
        uint32_t ts = v + 1, ln = d->t[ts].end, sm = d->t[ln].end;
        if (d->t[ts].type != JR_STR) return json_fail(p, si, ei, "the timestamp must be a string of integer nanoseconds");
        int64_t t_ns;
        if (d->t[ts].esc || parse_ns(d->s + d->t[ts].off, d->t[ts].len, &t_ns))
            return json_fail(p, si, ei, "the timestamp is not an integer number of nanoseconds in range");
        if (d->t[ln].type != JR_STR) return json_fail(p, si, ei, "the line must be a string");
        p->line.len = 0;
        if (jr_str(d, ln, &p->line)) return CAIRN_ENOMEM;
        ingest_lb_reset(&p->meta);
        if (t->n == 3) {
            if (d->t[sm].type != JR_OBJ) return json_fail(p, si, ei, "structured metadata must be an object of strings");
            uint32_t q = sm + 1;
            for (uint32_t m = 0; m < d->t[sm].n; m++, q = d->t[q + 1].end) {
                if (d->t[q + 1].type != JR_STR) return json_fail(p, si, ei, "structured metadata values must be strings");
                if (ingest_lb_begin(&p->meta, "", 0) < 0) return CAIRN_ENOMEM;
                size_t *e = p->meta.ent + (p->meta.n - 1) * 4;
                size_t off = p->meta.str.len;
                if (jr_str(d, q, &p->meta.str)) return CAIRN_ENOMEM;
                e[0] = off, e[1] = p->meta.str.len - off, e[2] = p->meta.str.len;
                if (jr_str(d, q + 1, &p->meta.str)) return CAIRN_ENOMEM;
                e[3] = p->meta.str.len - e[2];
            }
        }
        cairn_label *ml = ingest_lb_labels(&p->meta, 0);
        if (!ml) return CAIRN_ENOMEM;
        RETURN_IF_ERR(ingest_entry(p->b, ref, p->what, ei, t_ns, (const char *)p->line.p, p->line.len, ml, p->meta.n, p->o,
                                   p->err));
    }
    return CAIRN_OK;
}

int lpush_decode_json(const uint8_t *json, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "Loki push: body of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    lp p;
    lp_init(&p, o, b, err);
    jr_doc d;
    jr_init(&d);
    int rc = jr_parse(&d, (const char *)json, len, o->max_depth, err);
    if (rc) goto out;
    long so = jr_get(&d, 0, "streams");
    if (d.t[0].type != JR_OBJ || so < 0 || d.t[so].type != JR_ARR) {
        rc = err_set(err, CAIRN_EINVAL, "Loki push: expected {\"streams\": [...]}");
        goto out;
    }
    uint32_t s = (uint32_t)so + 1;
    for (uint32_t si = 0; si < d.t[so].n && !rc; si++, s = d.t[s].end) rc = json_stream(&p, &d, s, si);
    if (rc == CAIRN_ENOMEM) rc = err_set(err, rc, "Loki push: out of memory");
out:
    jr_free(&d);
    lp_free(&p);
    if (rc) cairn_batch_reset(b);
    return rc;
}

/* ==== protobuf ======================================================================== */

static int pb_fail(lp *p, const char *where, size_t si)
{
    if (si != (size_t)-1) return err_set(p->err, CAIRN_ECORRUPT, "Loki push: stream %zu: malformed protobuf %s", si, where);
    return err_set(p->err, CAIRN_ECORRUPT, "Loki push: malformed protobuf %s", where);
}

static int pb_entry(lp *p, int ref, size_t si, size_t ei, const uint8_t *m, size_t n)
{
    rd r;
    rd_init(&r, m, n);
    pb_field f;
    int64_t sec = 0, nanos = 0;
    const uint8_t *line = (const uint8_t *)"";
    size_t line_len = 0;
    ingest_lb_reset(&p->meta);
    int rc;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num == 1) {
            if (f.wt != PB_LEN) return pb_fail(p, "EntryAdapter.timestamp (wrong wire type)", si);
            rd tr;
            rd_init(&tr, f.p, f.n);
            pb_field g;
            int rc2;
            while ((rc2 = pb_next(&tr, &g)) == 1) {
                if ((g.num == 1 || g.num == 2) && g.wt != PB_VARINT)
                    return pb_fail(p, "Timestamp (wrong wire type)", si);
                if (g.num == 1) sec = (int64_t)g.v;
                else if (g.num == 2) nanos = (int32_t)(uint32_t)g.v;
            }
            if (rc2 < 0) return pb_fail(p, "Timestamp", si);
        } else if (f.num == 2) {
            if (f.wt != PB_LEN) return pb_fail(p, "EntryAdapter.line (wrong wire type)", si);
            line = f.p, line_len = f.n;
        } else if (f.num == 3) {
            if (f.wt != PB_LEN) return pb_fail(p, "EntryAdapter.structuredMetadata (wrong wire type)", si);
            rd lr;
            rd_init(&lr, f.p, f.n);
            pb_field g;
            const uint8_t *nm = NULL, *vl = NULL;
            size_t nn = 0, vn = 0;
            int rc2;
            while ((rc2 = pb_next(&lr, &g)) == 1) {
                if ((g.num == 1 || g.num == 2) && g.wt != PB_LEN) return pb_fail(p, "LabelPairAdapter (wrong wire type)", si);
                if (g.num == 1) nm = g.p, nn = g.n;
                else if (g.num == 2) vl = g.p, vn = g.n;
            }
            if (rc2 < 0) return pb_fail(p, "LabelPairAdapter", si);
            if (ingest_lb_add(&p->meta, nm ? (const char *)nm : "", nn, vl ? (const char *)vl : "", vn))
                return CAIRN_ENOMEM;
        }
    }
    if (rc < 0) return pb_fail(p, "EntryAdapter", si);
    /* seconds * 1e9 + nanos must fit in int64 ns */
    if (sec > INT64_MAX / 1000000000 - 1 || sec < INT64_MIN / 1000000000 + 1)
        return err_set(p->err, CAIRN_EINVAL, "%s, entry %zu: timestamp of %lld seconds is out of range", p->what, ei,
                       (long long)sec);
    int64_t t_ns = sec * 1000000000 + nanos;
    cairn_label *ml = ingest_lb_labels(&p->meta, 0);
    if (!ml) return CAIRN_ENOMEM;
    return ingest_entry(p->b, ref, p->what, (long long)ei, t_ns, (const char *)line, line_len, ml, p->meta.n, p->o, p->err);
}

static int pb_stream(lp *p, size_t si, const uint8_t *m, size_t n)
{
    rd r;
    rd_init(&r, m, n);
    pb_field f;
    const uint8_t *ls = NULL;
    size_t ls_len = 0;
    int rc;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num == 1) {
            if (f.wt != PB_LEN) return pb_fail(p, "StreamAdapter.labels (wrong wire type)", si);
            ls = f.p, ls_len = f.n;
        } else if (f.num == 2 && f.wt != PB_LEN) {
            return pb_fail(p, "StreamAdapter.entries (wrong wire type)", si);
        }
    }
    if (rc < 0) return pb_fail(p, "StreamAdapter", si);
    if (!ls) return err_set(p->err, CAIRN_EINVAL, "Loki push: stream %zu: no labels", si);
    size_t cap = 64;
    if (p->labels_cap < cap + 1) {
        p->labels = mem_alloc((cap + 1) * sizeof *p->labels);
        if (!p->labels) return CAIRN_ENOMEM;
        p->labels_cap = cap + 1;
    }
    p->strs.len = 0;
    cairn_err e2;
    int nl = lpush_parse_labels((const char *)ls, ls_len, p->labels, cap, &p->strs, &e2);
    if (nl < 0)
        return err_set(p->err, nl, "Loki push: stream %zu: labels %.*s: %s", si, (int)(ls_len > 80 ? 80 : ls_len),
                       (const char *)ls, e2.msg);
    int ref = lp_stream(p, si, p->labels, (size_t)nl);
    if (ref < 0) return ref;
    rd_init(&r, m, n);
    size_t ei = 0;
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.num == 2) RETURN_IF_ERR(pb_entry(p, ref, si, ei++, f.p, f.n));
    return CAIRN_OK;
}

int lpush_decode_pb(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "Loki push: message of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    lp p;
    lp_init(&p, o, b, err);
    rd r;
    rd_init(&r, pb, len);
    pb_field f;
    int rc;
    size_t si = 0;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num != 1) continue;
        if (f.wt != PB_LEN) {
            rc = pb_fail(&p, "PushRequest.streams (wrong wire type)", (size_t)-1);
            goto out;
        }
        rc = pb_stream(&p, si++, f.p, f.n);
        if (rc == CAIRN_ENOMEM) rc = err_set(err, rc, "Loki push: out of memory");
        if (rc) goto out;
    }
    if (rc < 0) rc = pb_fail(&p, "PushRequest", (size_t)-1);
out:
    lp_free(&p);
    if (rc) cairn_batch_reset(b);
    return rc;
}

int lpush_decode_proto(const uint8_t *body, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "Loki push: body of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    buf raw;
    buf_init(&raw);
    cairn_err e2;
    int rc = ingest_unsnappy(body, len, o->max_body_bytes, &raw, &e2);
    if (rc) rc = err_set(err, rc, "Loki push: %s", e2.msg);
    else rc = lpush_decode_pb(raw.p, raw.len, o, b, err);
    buf_free(&raw);
    if (rc) cairn_batch_reset(b);
    return rc;
}
