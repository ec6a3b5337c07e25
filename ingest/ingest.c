/*
 * ingest.c — what every decoder shares: options, the metadata side list, the
 * two body codecs (gzip/zlib through zlib, snappy blocks through libsnappy),
 * label-set and log-entry validation, and number formatting.
 *
 * Why validate here when cairn_batch_series() validates too: the batch knows
 * a label set, but not where it came from. A sender that gets a 400 needs to
 * know which request element was wrong ("stream 3", "line 17:5",
 * "series {__name__="up", ...}"), so the decoders check the protocol rules
 * first with their own context. Having checked names and values, they add the
 * set with batch_series_checked(), which skips the batch's repeat of those
 * byte scans; the batch still checks its limits, order and duplicates, and
 * debug builds assert the rest. The
 * rules are the ones in api-contract D.1 and C.2.3: empty values mean absent,
 * reserved "__" names other than __name__ are rejected (400 naming the label:
 * stripping them silently made two sent series one, whose samples then
 * collided as duplicates), names are legacy syntax, values are UTF-8 without
 * NUL (the message gives the byte offset), names are unique, and sizes are
 * bounded. The byte-level checks are engine/labels.c's, shared with
 * cairn_batch_series, so an embedder's batch refuses the same bytes.
 *
 * Decompression bombs: both codecs bound the output before allocating it.
 * Snappy declares its length up front, so the check is one compare. Gzip does
 * not (the ISIZE trailer is mod 2^32 and attacker-controlled), so the inflate
 * loop grows the output buffer in steps and stops at max_out + 1 bytes.
 *
 * Memory: all through mem_ (buf, ingest_lb, the metadata list). Nothing here
 * keeps global state; all functions are reentrant.
 */
#include "ingest.h"

#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "batch.h"
#include "err.h"
#include "labels.h"
#include "mem.h"

/* ==== options ================================================================ */

void ingest_opts_default(ingest_opts *o)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(o, 0, sizeof *o);
    o->max_body_bytes = (size_t)64 << 20;
    o->now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    o->default_t_ms = o->now_ns / 1000000;
    o->max_labels = 64;
    o->max_name_bytes = 1024;
    o->max_value_bytes = 4096;
    o->log_max_labels = 15;
    o->log_max_value_bytes = 2048;
    o->max_line_bytes = 256 << 10;
    o->max_meta_bytes = 64 << 10;
    o->max_meta_entries = 128;
    o->reject_old_ns = (int64_t)7 * 24 * 3600 * 1000000000;
    o->future_grace_ns = (int64_t)600 * 1000000000;
    o->add_service_name = 1;
    o->max_depth = 64;
}

/* ==== metadata list ============================================================ */

void ingest_meta_init(ingest_meta_list *l) { memset(l, 0, sizeof *l); }

static void meta_free_one(ingest_meta *m)
{
    mem_free(m->name, m->name_len + 1);
    mem_free(m->help, m->help ? m->help_len + 1 : 0);
    mem_free(m->unit, m->unit ? m->unit_len + 1 : 0);
}

void ingest_meta_reset(ingest_meta_list *l)
{
    for (size_t i = 0; i < l->n; i++) meta_free_one(&l->v[i]);
    l->n = 0;
    if (l->slot) memset(l->slot, 0, l->n_slot * sizeof *l->slot);
}

void ingest_meta_free(ingest_meta_list *l)
{
    if (!l) return;
    ingest_meta_reset(l);
    mem_free(l->v, l->cap * sizeof *l->v);
    mem_free(l->slot, l->n_slot * sizeof *l->slot);
    ingest_meta_init(l);
}

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: short keys, no dependency */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

long ingest_meta_find(const ingest_meta_list *l, const char *name, size_t name_len)
{
    if (!l->n_slot) return -1;
    size_t mask = l->n_slot - 1;
    for (size_t i = name_hash(name, name_len) & mask;; i = (i + 1) & mask) {
        uint32_t s = l->slot[i];
        if (!s) return -1;
        const ingest_meta *m = &l->v[s - 1];
        if (m->name_len == name_len && memcmp(m->name, name, name_len) == 0) return (long)(s - 1);
    }
}

static int meta_rehash(ingest_meta_list *l, size_t n_slot)
{
    uint32_t *s = mem_calloc(n_slot, sizeof *s);
    if (!s) return CAIRN_ENOMEM;
    mem_free(l->slot, l->n_slot * sizeof *l->slot);
    l->slot = s;
    l->n_slot = n_slot;
    for (size_t k = 0; k < l->n; k++) {
        size_t i = name_hash(l->v[k].name, l->v[k].name_len) & (n_slot - 1);
        while (s[i]) i = (i + 1) & (n_slot - 1);
        s[i] = (uint32_t)(k + 1);
    }
    return CAIRN_OK;
}

static int set_str(char **dst, size_t *dst_len, const char *p, size_t n)
{
    char *c = mem_strndup(p ? p : "", n);
    if (!c) return CAIRN_ENOMEM;
    mem_free(*dst, *dst ? *dst_len + 1 : 0);
    *dst = c;
    *dst_len = n;
    return CAIRN_OK;
}

int ingest_meta_set(ingest_meta_list *l, const char *name, size_t name_len, int type, const char *help,
                    size_t help_len, const char *unit, size_t unit_len)
{
    long at = ingest_meta_find(l, name, name_len);
    ingest_meta *m;
    if (at < 0) {
        if (l->n == UINT32_MAX - 1) return CAIRN_ENOMEM;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            ingest_meta *v = mem_realloc(l->v, l->cap * sizeof *v, cap * sizeof *v);
            if (!v) return CAIRN_ENOMEM;
            l->v = v;
            l->cap = cap;
        }
        if ((l->n + 1) * 2 > l->n_slot && meta_rehash(l, l->n_slot ? l->n_slot * 2 : 32)) return CAIRN_ENOMEM;
        m = &l->v[l->n];
        memset(m, 0, sizeof *m);
        m->name = mem_strndup(name, name_len);
        if (!m->name) return CAIRN_ENOMEM;
        m->name_len = name_len;
        size_t i = name_hash(name, name_len) & (l->n_slot - 1);
        while (l->slot[i]) i = (i + 1) & (l->n_slot - 1);
        l->slot[i] = (uint32_t)(l->n + 1);
        l->n++;
    } else {
        m = &l->v[at];
    }
    if (type >= 0) m->type = type;
    if (help && set_str(&m->help, &m->help_len, help, help_len)) return CAIRN_ENOMEM;
    if (unit && set_str(&m->unit, &m->unit_len, unit, unit_len)) return CAIRN_ENOMEM;
    return CAIRN_OK;
}

const char *ingest_type_name(int type)
{
    static const char *const names[] = {"unknown", "counter", "gauge", "histogram",
                                        "gaugehistogram", "summary", "info", "stateset"};
    return type >= 0 && type <= INGEST_TYPE_STATESET ? names[type] : "unknown";
}

/* ==== body codecs ================================================================ */

int ingest_gunzip(const uint8_t *src, size_t len, size_t max_out, buf *out, cairn_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) return err_set(err, CAIRN_ENOMEM, "gzip: inflateInit failed");
    size_t start = out->len, produced = 0;
    int rc = CAIRN_OK;
    z.next_in = (Bytef *)(uintptr_t)src;
    for (;;) {
        /* feed at most UINT_MAX at a time; zlib counts in uInt */
        if (z.avail_in == 0) {
            size_t used = (size_t)(z.next_in - src);
            size_t left = len - used;
            z.avail_in = left > UINT32_MAX ? UINT32_MAX : (uInt)left;
        }
        size_t room = max_out + 1 - produced; /* one byte over proves the limit is exceeded */
        size_t step = produced < 65536 ? 65536 : produced;
        if (step > room) step = room;
        if (step > UINT32_MAX) step = UINT32_MAX;
        if (step == 0 || buf_reserve(out, step)) {
            rc = step == 0 ? err_set(err, CAIRN_ELIMIT, "decompressed body exceeds %zu bytes", max_out)
                           : err_set(err, CAIRN_ENOMEM, "gzip: out of memory");
            break;
        }
        z.next_out = out->p + out->len;
        z.avail_out = (uInt)step;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = step - z.avail_out;
        out->len += got;
        produced += got;
        if (produced > max_out) {
            rc = err_set(err, CAIRN_ELIMIT, "decompressed body exceeds %zu bytes", max_out);
            break;
        }
        if (zr == Z_STREAM_END) {
            size_t used = (size_t)(z.next_in - src);
            /* skip trailing zero padding; another member starts with 1f 8b */
            if (used == len) break;
            if (len - used >= 2 && src[used] == 0x1f && src[used + 1] == 0x8b) {
                inflateReset(&z);
                continue;
            }
            rc = err_set(err, CAIRN_ECORRUPT, "gzip: %zu bytes of garbage after the stream", len - used);
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && (size_t)(z.next_in - src) == len) {
            rc = err_set(err, CAIRN_ECORRUPT, "gzip: truncated stream");
            break;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = zr == Z_MEM_ERROR ? err_set(err, CAIRN_ENOMEM, "gzip: out of memory")
                                   : err_set(err, CAIRN_ECORRUPT, "gzip: %s", z.msg ? z.msg : "corrupt stream");
            break;
        }
    }
    inflateEnd(&z);
    if (rc) out->len = start;
    return rc;
}

int ingest_unsnappy(const uint8_t *src, size_t len, size_t max_out, buf *out, cairn_err *err)
{
    size_t n;
    if (snappy_uncompressed_length((const char *)src, len, &n) != SNAPPY_OK)
        return err_set(err, CAIRN_ECORRUPT, "snappy: bad length header");
    if (n > max_out)
        return err_set(err, CAIRN_ELIMIT, "snappy: decompressed body of %zu bytes exceeds %zu bytes", n, max_out);
    if (snappy_validate_compressed_buffer((const char *)src, len) != SNAPPY_OK)
        return err_set(err, CAIRN_ECORRUPT, "snappy: corrupt or truncated block");
    if (buf_reserve(out, n + 1)) return err_set(err, CAIRN_ENOMEM, "snappy: out of memory for %zu bytes", n);
    size_t got = n;
    if (snappy_uncompress((const char *)src, len, (char *)out->p + out->len, &got) != SNAPPY_OK || got != n)
        return err_set(err, CAIRN_ECORRUPT, "snappy: corrupt block");
    out->len += n;
    return CAIRN_OK;
}

/* ==== strings ====================================================================== */

/* Both checks are engine/labels.c's (the same rules: Go's utf8.Valid and the
 * legacy name syntax), which have table and eight-bytes-at-a-time fast paths. */
int ingest_utf8_valid(const char *str, size_t n) { return labels_utf8_valid(str, n) == n; }

int ingest_label_name_valid(const char *s, size_t n) { return labels_name_valid(s, n); }

/* Append `s` to dst Go-%q style (ASCII printable as is, \" \\ \n, other bytes \xNN). */
/* Returns 0 if the value had to be cut. */
static int put_quoted(char *dst, size_t *atp, size_t cap, const char *s, size_t n)
{
    size_t at = *atp;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int esc = c == '"' || c == '\\' || c == '\n', hex = !esc && (c < 0x20 || c == 0x7f);
        if (at + (hex ? 4 : esc ? 2 : 1) > cap) {
            *atp = at;
            return 0;
        }
        if (c == '\n') dst[at++] = '\\', dst[at++] = 'n';
        else if (esc) dst[at++] = '\\', dst[at++] = (char)c;
        else if (hex) at += (size_t)snprintf(dst + at, cap - at + 1, "\\x%02x", c);
        else dst[at++] = (char)c;
    }
    *atp = at;
    return 1;
}

/* Append n bytes if they fit below lim; returns 0 when they did not. */
static int put_raw(char *dst, size_t *at, size_t lim, const char *s, size_t n)
{
    if (*at > lim || n > lim - *at) return 0;
    memcpy(dst + *at, s, n);
    *at += n;
    return 1;
}

size_t ingest_fmt_labels(const cairn_label *l, size_t n, char *dst, size_t cap)
{
    if (cap < 8) {
        if (cap) dst[0] = 0;
        return 0;
    }
    size_t at = 0, lim = cap - 5; /* room for "...}" + NUL */
    int full = 0;
    dst[at++] = '{';
    for (size_t i = 0; i < n && !full; i++) {
        if (i && !put_raw(dst, &at, lim, ", ", 2)) full = 1;
        else if (!put_raw(dst, &at, lim, l[i].name, l[i].name_len)) full = 1;
        else if (!put_raw(dst, &at, lim, "=\"", 2)) full = 1;
        else if (!put_quoted(dst, &at, lim, l[i].value, l[i].value_len) || !put_raw(dst, &at, lim, "\"", 1))
            full = 1;
    }
    if (full) {
        if (at > lim) at = lim;
        memcpy(dst + at, "...", 3), at += 3;
    }
    dst[at++] = '}';
    dst[at] = 0;
    return at;
}

size_t ingest_fmt_float(double v, char *dst, size_t cap)
{
    int n;
    if (isnan(v)) n = snprintf(dst, cap, "NaN");
    else if (isinf(v)) n = snprintf(dst, cap, v > 0 ? "+Inf" : "-Inf");
    else {
        /* the shortest %.Ne that reads back exactly gives the digits */
        char e[40];
        int p;
        for (p = 0; p < 17; p++) {
            snprintf(e, sizeof e, "%.*e", p, v);
            if (strtod(e, NULL) == v) break;
        }
        /* e = [-]d[.ddd]e[+-]XX */
        char digits[24];
        size_t nd = 0;
        const char *q = e;
        int neg = *q == '-';
        if (neg) q++;
        for (; *q && *q != 'e'; q++)
            if (*q != '.') digits[nd++] = *q;
        int exp = atoi(q + 1);
        while (nd > 1 && digits[nd - 1] == '0') nd--;
        if (exp > 20 || exp < -20) {
            n = snprintf(dst, cap, "%.*g", p + 1, v); /* beyond plain-decimal sanity */
        } else {
            char t[64];
            size_t k = 0;
            if (neg) t[k++] = '-';
            if (exp < 0) {
                t[k++] = '0', t[k++] = '.';
                for (int z = -1; z > exp; z--) t[k++] = '0';
                memcpy(t + k, digits, nd), k += nd;
            } else {
                for (int d = 0; d <= exp || (size_t)d < nd; d++) {
                    if (d == exp + 1) t[k++] = '.';
                    t[k++] = (size_t)d < nd ? digits[d] : '0';
                }
            }
            t[k] = 0;
            n = snprintf(dst, cap, "%s", t);
        }
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* ==== label sets ====================================================================== */

static int label_cmp(const cairn_label *a, const cairn_label *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int label_qcmp(const void *a, const void *b) { return label_cmp(a, b); }

static void sort_labels(cairn_label *l, size_t n)
{
    if (n > 16) {
        qsort(l, n, sizeof *l, label_qcmp);
        return;
    }
    for (size_t i = 1; i < n; i++) { /* senders mostly send sorted sets */
        cairn_label t = l[i];
        size_t j = i;
        while (j > 0 && label_cmp(&l[j - 1], &t) > 0) l[j] = l[j - 1], j--;
        l[j] = t;
    }
}

/* "ctx idx: " (or "ctx: ", or nothing) into dst. */
static const char *ctx_str(char *dst, size_t cap, const char *ctx, long long idx)
{
    if (!ctx) dst[0] = 0;
    else if (idx >= 0) snprintf(dst, cap, "%s %lld: ", ctx, idx);
    else snprintf(dst, cap, "%s: ", ctx);
    return dst;
}

/* "<ctx>series {...}: <what>", the label set shortened so that `what` (the
 * part that says what is wrong and where) always fits in the message. */
static int series_fail_what(cairn_err *err, int code, const char *ctx, long long idx, const cairn_label *l, size_t n,
                            const char *what)
{
    char ls[160], cs[96];
    ctx_str(cs, sizeof cs, ctx, idx);
    size_t fixed = strlen(cs) + strlen(what) + sizeof "series : ", room = sizeof err->msg - 1;
    size_t cap = fixed + 40 < room ? room - fixed : 40;
    ingest_fmt_labels(l, n, ls, cap < sizeof ls ? cap : sizeof ls);
    return err_set(err, code, "%sseries %s: %s", cs, ls, what);
}

static int series_fail(cairn_err *err, int code, const char *ctx, long long idx, const cairn_label *l, size_t n,
                       const char *what, const char *name, size_t name_len)
{
    char w[128];
    snprintf(w, sizeof w, "%s \"%.*s\"", what, (int)(name_len > 64 ? 64 : name_len), name);
    return series_fail_what(err, code, ctx, idx, l, n, w);
}

int ingest_series(cairn_batch *b, int kind, cairn_label *l, size_t *np, const ingest_opts *o, const char *ctx,
                  long long ctx_idx, cairn_err *err)
{
    size_t n = *np, k = 0;
    int is_log = kind == CAIRN_KIND_LOG;
    uint32_t max_value = is_log ? o->log_max_value_bytes : o->max_value_bytes;
    /* checks on the set as received, so the message shows what was sent */
    for (size_t i = 0; i < n; i++) {
        if (!ingest_label_name_valid(l[i].name, l[i].name_len)) {
            if (!ingest_utf8_valid(l[i].name, l[i].name_len))
                return series_fail(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, "label name is not valid UTF-8", "", 0);
            return series_fail(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, "invalid label name", l[i].name, l[i].name_len);
        }
        if (l[i].name_len > o->max_name_bytes)
            return series_fail(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, "label name longer than the limit", l[i].name, 32);
        if (labels_name_reserved(l[i].name, l[i].name_len)) {
            char w[128];
            snprintf(w, sizeof w, "label name \"%.*s\" is reserved (names starting with __ other than __name__)",
                     (int)(l[i].name_len > 48 ? 48 : l[i].name_len), l[i].name);
            return series_fail_what(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, w);
        }
        if (l[i].value_len > max_value)
            return series_fail(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, "label value longer than the limit of label", l[i].name,
                               l[i].name_len);
        char w[128];
        if (labels_value_problem(l[i].value, l[i].value_len, l[i].name, l[i].name_len, w, sizeof w) != l[i].value_len)
            return series_fail_what(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, w);
    }
    for (size_t i = 0; i < n; i++)
        if (l[i].value_len) l[k++] = l[i];
    n = k;
    char cs[96];
    if (n == 0) return err_set(err, CAIRN_EINVAL, "%sempty label set", ctx_str(cs, sizeof cs, ctx, ctx_idx));
    sort_labels(l, n);
    size_t counted = n;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && label_cmp(&l[i], &l[i + 1]) == 0)
            return series_fail(err, CAIRN_EINVAL, ctx, ctx_idx, l, n, "duplicate label name", l[i].name, l[i].name_len);
        if (is_log && l[i].name_len == 12 && memcmp(l[i].name, "service_name", 12) == 0) counted--;
    }
    uint32_t max_labels = is_log ? o->log_max_labels : o->max_labels;
    if (counted > max_labels) {
        char ls[160];
        ingest_fmt_labels(l, n, ls, sizeof ls);
        return err_set(err, CAIRN_EINVAL, "%sseries %s has %zu labels, more than the limit of %u",
                       ctx_str(cs, sizeof cs, ctx, ctx_idx), ls, counted, max_labels);
    }
    *np = n;
    cairn_err e2;
    /* names and values were checked above: the batch skips its own scans */
    int ref = batch_series_checked(b, kind, l, n, &e2);
    if (ref < 0) return err_set(err, ref, "%s%s", ctx_str(cs, sizeof cs, ctx, ctx_idx), e2.msg);
    return ref;
}

void ingest_add_service_name(cairn_label *l, size_t *np)
{
    static const char *const keys[] = {"service", "app", "application", "app_name", "name",
                                       "app_kubernetes_io_name", "container", "container_name",
                                       "k8s_container_name", "component", "workload", "job", "k8s_job_name"};
    size_t n = *np;
    for (size_t i = 0; i < n; i++)
        if (l[i].name_len == 12 && memcmp(l[i].name, "service_name", 12) == 0 && l[i].value_len) return;
    const char *v = "unknown_service";
    size_t vn = 15;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        size_t kn = strlen(keys[k]);
        for (size_t i = 0; i < n; i++)
            if (l[i].name_len == kn && memcmp(l[i].name, keys[k], kn) == 0 && l[i].value_len) {
                v = l[i].value, vn = l[i].value_len;
                goto found;
            }
    }
found:
    l[n].name = "service_name";
    l[n].name_len = 12;
    l[n].value = v;
    l[n].value_len = vn;
    *np = n + 1;
}

/* "<what>, entry <idx> at <t>" into dst. */
static const char *entry_str(char *dst, size_t cap, const char *what, long long idx, int64_t t_ns)
{
    if (idx >= 0) snprintf(dst, cap, "%s, entry %lld at %lld", what, idx, (long long)t_ns);
    else snprintf(dst, cap, "%s, entry at %lld", what, (long long)t_ns);
    return dst;
}

int ingest_entry(cairn_batch *b, int ref, const char *what, long long idx, int64_t t_ns, const char *line,
                 size_t line_len, cairn_label *meta, size_t n_meta, const ingest_opts *o, cairn_err *err)
{
    char ws[320];
    if (line_len > o->max_line_bytes)
        return err_set(err, CAIRN_EINVAL, "%s: line of %zu bytes exceeds the limit of %u bytes", entry_str(ws, sizeof ws, what, idx, t_ns), line_len, o->max_line_bytes);
    /* differences in uint64: no overflow for any t_ns, now_ns or window (a window may be INT64_MAX) */
    if (o->reject_old_ns > 0 && t_ns < o->now_ns && (uint64_t)o->now_ns - (uint64_t)t_ns > (uint64_t)o->reject_old_ns)
        return err_set(err, CAIRN_EINVAL, "%s: timestamp is older than the limit of %llds", entry_str(ws, sizeof ws, what, idx, t_ns), (long long)(o->reject_old_ns / 1000000000));
    if (o->future_grace_ns > 0 && t_ns > o->now_ns && (uint64_t)t_ns - (uint64_t)o->now_ns > (uint64_t)o->future_grace_ns)
        return err_set(err, CAIRN_EINVAL, "%s: timestamp is too far in the future (more than %llds after the receive time)",
                       entry_str(ws, sizeof ws, what, idx, t_ns), (long long)(o->future_grace_ns / 1000000000));
    if (n_meta > o->max_meta_entries)
        return err_set(err, CAIRN_EINVAL, "%s: %zu structured metadata entries exceed the limit of %u",
                       entry_str(ws, sizeof ws, what, idx, t_ns), n_meta, o->max_meta_entries);
    size_t bytes = 0, k = 0;
    for (size_t i = 0; i < n_meta; i++) {
        if (!ingest_label_name_valid(meta[i].name, meta[i].name_len))
            return err_set(err, CAIRN_EINVAL, "%s: invalid structured metadata name \"%.*s\"", entry_str(ws, sizeof ws, what, idx, t_ns), (int)(meta[i].name_len > 64 ? 64 : meta[i].name_len), meta[i].name);
        size_t bad = labels_value_valid(meta[i].value, meta[i].value_len);
        if (bad != meta[i].value_len)
            return err_set(err, CAIRN_EINVAL, "%s: %s in structured metadata \"%.*s\" at offset %zu",
                           entry_str(ws, sizeof ws, what, idx, t_ns), meta[i].value[bad] ? "invalid UTF-8" : "NUL byte",
                           (int)(meta[i].name_len > 64 ? 64 : meta[i].name_len), meta[i].name, bad);
        bytes += meta[i].name_len + meta[i].value_len;
        int dup = 0;
        for (size_t j = 0; j < k && !dup; j++) dup = label_cmp(&meta[j], &meta[i]) == 0;
        if (!dup && meta[i].value_len) meta[k++] = meta[i];
    }
    if (bytes > o->max_meta_bytes)
        return err_set(err, CAIRN_EINVAL, "%s: structured metadata of %zu bytes exceeds the limit of %u",
                       entry_str(ws, sizeof ws, what, idx, t_ns), bytes, o->max_meta_bytes);
    cairn_err e2;
    int rc = cairn_batch_entry(b, ref, t_ns, line, line_len, meta, k, &e2);
    if (rc) return err_set(err, rc, "%s: %s", entry_str(ws, sizeof ws, what, idx, t_ns), e2.msg);
    return CAIRN_OK;
}

/* ==== label builder ====================================================================== */

void ingest_lb_init(ingest_lb *lb) { memset(lb, 0, sizeof *lb); }

void ingest_lb_free(ingest_lb *lb)
{
    buf_free(&lb->str);
    mem_free(lb->ent, lb->cap * 4 * sizeof *lb->ent);
    mem_free(lb->out, lb->out_cap * sizeof *lb->out);
    ingest_lb_init(lb);
}

int ingest_lb_begin(ingest_lb *lb, const char *name, size_t name_len)
{
    if (lb->n == lb->cap) {
        size_t cap = lb->cap ? lb->cap * 2 : 16;
        size_t *e = mem_realloc(lb->ent, lb->cap * 4 * sizeof *e, cap * 4 * sizeof *e);
        if (!e) return CAIRN_ENOMEM;
        lb->ent = e;
        lb->cap = cap;
    }
    size_t *e = lb->ent + lb->n * 4;
    e[0] = lb->str.len;
    e[1] = name_len;
    if (buf_put(&lb->str, name, name_len)) return CAIRN_ENOMEM;
    e[2] = lb->str.len;
    e[3] = 0;
    return (int)lb->n++;
}

int ingest_lb_append(ingest_lb *lb, const char *p, size_t n)
{
    if (buf_put(&lb->str, p, n)) return CAIRN_ENOMEM;
    lb->ent[(lb->n - 1) * 4 + 3] += n;
    return CAIRN_OK;
}

int ingest_lb_add(ingest_lb *lb, const char *name, size_t name_len, const char *value, size_t value_len)
{
    int i = ingest_lb_begin(lb, name, name_len);
    if (i < 0) return i;
    return ingest_lb_append(lb, value, value_len);
}

cairn_label *ingest_lb_labels(ingest_lb *lb, size_t spare)
{
    size_t need = lb->n + spare;
    if (need > lb->out_cap || !lb->out) {
        size_t cap = need < 16 ? 16 : need * 2;
        cairn_label *o = mem_realloc(lb->out, lb->out_cap * sizeof *o, cap * sizeof *o);
        if (!o) return NULL;
        lb->out = o;
        lb->out_cap = cap;
    }
    const char *base = (const char *)lb->str.p;
    for (size_t i = 0; i < lb->n; i++) {
        const size_t *e = lb->ent + i * 4;
        lb->out[i].name = base ? base + e[0] : "";
        lb->out[i].name_len = e[1];
        lb->out[i].value = base ? base + e[2] : "";
        lb->out[i].value_len = e[3];
    }
    return lb->out;
}
