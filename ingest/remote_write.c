/*
 * remote_write.c — Prometheus remote write 1.0 bodies into a batch, read in
 * place without building a message tree.
 *
 * A body is a snappy *block* holding one prometheus.WriteRequest (schema:
 * ingest/remote_write.proto, field numbers per api-contract C.1). The snappy
 * header declares the decoded size, so the size limit is checked before
 * anything is allocated, and the bytes are decompressed into the batch's
 * scratch buffer, which a pooled batch keeps from one request to the next.
 *
 * Why not protobuf-c, which the issue names: it unpacks the whole request
 * into a tree (a struct, a pointer array and a copy per Label, Sample and
 * TimeSeries, ~35 allocations for a series of 10 labels) before we look at
 * one field. For Prometheus' usual request, 500 series x 1 sample, that tree
 * was most of the decode cost (docs/benchmarks/ingest.md). Here one pass over
 * the bytes hands label views straight to ingest_series() and writes samples
 * straight into the batch: no allocation per request once the batch and its
 * scratch have grown. The protobuf-c decoder stays as the reference
 * (remote_write_ref.c): the fuzz target and the unit tests require both to
 * give the same code and the same batch on every input.
 *
 * Wire rules (proto3, api-contract C.0), chosen to accept exactly what
 * protobuf-c 1.4.1 accepts: a field key is a varint of at most 5 bytes whose
 * first byte does not encode field 0; varint values take at most 10 bytes
 * (bits past 64 are ignored); lengths take at most 5 bytes and must fit in
 * what is left; wire types 3, 4, 6 and 7 are errors; unknown fields of the
 * other wire types are skipped; a known field with the wrong wire type is an
 * error (exemplars and histograms too: they must be length-delimited).
 * Fields may come in any order and repeat: for the scalar fields of Label,
 * Sample and MetricMetadata the last occurrence wins, each occurrence of a
 * repeated message field is one more element. There are no packed scalars in
 * this schema. Labels may follow samples inside a TimeSeries, so samples are
 * written first with a placeholder ref that is patched once the label set
 * has been added.
 *
 * Mapping (same as the reference): a TimeSeries with at least one sample
 * becomes a metric series through ingest_series (validation, reserved "__"
 * names, NUL and invalid UTF-8 rejected, empty values dropped, sorting,
 * duplicate names rejected naming the series), its samples copied bit for bit (the stale marker
 * 0x7ff0000000000002 survives). A TimeSeries without samples is skipped
 * unseen; exemplars and native histograms are dropped. MetricMetadata with a
 * family name goes to the metadata list, so a metadata-only request is a
 * valid empty batch. Error precedence is the reference's too: it parses the
 * whole message before mapping it, so a wire error anywhere wins over a label
 * error; when a label set fails here, the rest of the message is checked for
 * wire errors (a dry pass) before the label error is reported.
 *
 * Atomicity: any error resets the batch and the metadata list, so the
 * caller commits all of a request or nothing. Codes: see ingest.h. No state
 * outside the arguments; decoders run concurrently on different batches.
 */
#include <string.h>

#include "batch.h"
#include "err.h"
#include "ingest.h"
#include "labels.h"
#include "mem.h"
#include "pb.h"

/* Scratch above this size is given back after a request, so one huge body
 * does not pin its decompressed size to a pooled batch for ever. */
#define RW_SCRATCH_KEEP ((size_t)8 << 20)

typedef struct rw_dec {
    const ingest_opts *o;
    cairn_batch *b;
    ingest_meta_list *meta;
    int dry;             /* check the wire format only: no batch, no metadata */
    const uint8_t *base; /* start of the message, for offsets in messages */
    const char *what;    /* first wire error */
    size_t at;
    cairn_label *l; /* labels of the current TimeSeries */
    size_t cap;
    cairn_label stack[64];
} rw_dec;

/* ---- wire readers (protobuf-c's limits, see the top) --------------------------------- */

/* These are not copies of base/buf's rd_uvarint (which pb.c and the rest of
 * the library use): they follow protobuf-c's rules, not Go's (keys of at most
 * 5 bytes, bits of a 10th varint byte past 64 ignored where rd_uvarint refuses
 * them), which the fuzz target holds equal to remote_write_ref.c, and their
 * inline one-byte fast paths are part of the decoder measured in
 * docs/benchmarks/ingest.md. Kept on purpose (issue 11). */

static inline int rw_key(rd *r, uint32_t *field, int *wt)
{
    if (r->p >= r->end) return -1;
    uint8_t c = *r->p++;
    *wt = c & 7;
    if (c < 0x80) {
        *field = c >> 3;
        return c < 8 ? -1 : 0; /* field 0 */
    }
    uint32_t f = (uint32_t)(c & 0x7f) >> 3;
    unsigned shift = 4;
    for (int i = 1; i < 5; i++, shift += 7) {
        if (r->p >= r->end) return -1;
        c = *r->p++;
        f |= (uint32_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *field = f;
            return 0;
        }
    }
    return -1;
}

static inline int rw_varint(rd *r, uint64_t *v)
{
    if (r->p < r->end && *r->p < 0x80) {
        *v = *r->p++;
        return 0;
    }
    uint64_t x = 0;
    unsigned shift = 0;
    for (int i = 0; i < 10; i++, shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* A length prefix and the bytes it covers. */
static inline int rw_len(rd *r, const uint8_t **p, size_t *n)
{
    if (r->p < r->end && *r->p < 0x80) { /* nearly every length is one byte */
        size_t v1 = *r->p++;
        if (v1 > (size_t)(r->end - r->p)) return -1;
        *p = r->p;
        *n = v1;
        r->p += v1;
        return 0;
    }
    size_t v = 0;
    unsigned shift = 0;
    for (int i = 0; i < 5; i++, shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t c = *r->p++;
        v |= (size_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            if (v > 0x7fffffff || v > (size_t)(r->end - r->p)) return -1;
            *p = r->p;
            *n = v;
            r->p += v;
            return 0;
        }
    }
    return -1;
}

static int rw_skip(rd *r, int wt)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wt) {
    case PB_VARINT: return rw_varint(r, &v);
    case PB_LEN: return rw_len(r, &p, &n);
    case PB_I64:
    case PB_I32:
        n = wt == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n) return -1;
        r->p += n;
        return 0;
    default: return -1; /* groups (3, 4) and the undefined 6, 7 */
    }
}

static int rw_wire(rw_dec *d, const uint8_t *at, const char *what)
{
    if (!d->what) d->what = what, d->at = (size_t)(at - d->base);
    return CAIRN_ECORRUPT;
}

/* ---- messages ---------------------------------------------------------------------------- */

static inline int rw_label(rw_dec *d, const uint8_t *p, size_t n, cairn_label *out)
{
    /* the usual shape: 0a <len> name 12 <len> value, short lengths */
    if (n >= 4 && p[0] == 0x0a && p[1] < 0x80 && (size_t)p[1] + 4 <= n) {
        size_t nn = p[1];
        const uint8_t *q = p + 2 + nn;
        if (q[0] == 0x12 && q[1] < 0x80 && nn + 4 + q[1] == n) {
            *out = (cairn_label){(const char *)p + 2, nn, (const char *)q + 2, q[1]};
            return CAIRN_OK;
        }
    }
    rd r = {p, p + n};
    *out = (cairn_label){"", 0, "", 0};
    while (r.p < r.end) {
        const uint8_t *at = r.p, *s;
        uint32_t f;
        int wt;
        size_t sn;
        if (rw_key(&r, &f, &wt)) return rw_wire(d, at, "bad field key in Label");
        if (f == 1 || f == 2) {
            if (wt != PB_LEN) return rw_wire(d, at, "Label name or value is not length-delimited");
            if (rw_len(&r, &s, &sn)) return rw_wire(d, at, "truncated Label field");
            if (f == 1) out->name = (const char *)s, out->name_len = sn;
            else out->value = (const char *)s, out->value_len = sn;
        } else if (rw_skip(&r, wt)) {
            return rw_wire(d, at, "bad unknown field in Label");
        }
    }
    return CAIRN_OK;
}

static int rw_sample(rw_dec *d, const uint8_t *p, size_t n, int64_t *t_ms, double *v)
{
    rd r = {p, p + n};
    uint64_t bits = 0, t = 0;
    while (r.p < r.end) {
        const uint8_t *at = r.p;
        uint32_t f;
        int wt;
        if (rw_key(&r, &f, &wt)) return rw_wire(d, at, "bad field key in Sample");
        if (f == 1) {
            if (wt != PB_I64 || (size_t)(r.end - r.p) < 8) return rw_wire(d, at, "bad Sample value");
            bits = le64_get(r.p);
            r.p += 8;
        } else if (f == 2) {
            if (wt != PB_VARINT || rw_varint(&r, &t)) return rw_wire(d, at, "bad Sample timestamp");
        } else if (rw_skip(&r, wt)) {
            return rw_wire(d, at, "bad unknown field in Sample");
        }
    }
    memcpy(v, &bits, 8);
    *t_ms = (int64_t)t;
    return CAIRN_OK;
}

static int rw_grow_labels(rw_dec *d)
{
    size_t cap = d->cap * 2;
    cairn_label *l = mem_alloc(cap * sizeof *l);
    if (!l) return CAIRN_ENOMEM;
    memcpy(l, d->l, d->cap * sizeof *l);
    if (d->l != d->stack) mem_free(d->l, d->cap * sizeof *l);
    d->l = l;
    d->cap = cap;
    return CAIRN_OK;
}

/* ---- the fast path ------------------------------------------------------------------------ */

#define RW_SLOW 1 /* rw_series_fast: not for the fast path, nothing changed */

/* Bytes allowed in a label name: bit 1 anywhere, bit 2 also first (as labels_name_valid). */
static const uint8_t rw_name_chars[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['_'] = 3, ['a'] = 3, ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3, ['g'] = 3, ['h'] = 3, ['i'] = 3,
    ['j'] = 3, ['k'] = 3, ['l'] = 3, ['m'] = 3, ['n'] = 3, ['o'] = 3, ['p'] = 3, ['q'] = 3, ['r'] = 3, ['s'] = 3,
    ['t'] = 3, ['u'] = 3, ['v'] = 3, ['w'] = 3, ['x'] = 3, ['y'] = 3, ['z'] = 3, ['A'] = 3, ['B'] = 3, ['C'] = 3,
    ['D'] = 3, ['E'] = 3, ['F'] = 3, ['G'] = 3, ['H'] = 3, ['I'] = 3, ['J'] = 3, ['K'] = 3, ['L'] = 3, ['M'] = 3,
    ['N'] = 3, ['O'] = 3, ['P'] = 3, ['Q'] = 3, ['R'] = 3, ['S'] = 3, ['T'] = 3, ['U'] = 3, ['V'] = 3, ['W'] = 3,
    ['X'] = 3, ['Y'] = 3, ['Z'] = 3,
};

static inline int rw_is_metric_name(const uint8_t *n, size_t len)
{
    return len == 8 && memcmp(n, "__name__", 8) == 0; /* a fixed-size memcmp: inlined */
}

/* a < b byte-wise (a prefix sorts first), inline for short names. */
static inline int rw_name_less(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return a[i] < b[i];
    return an < bn;
}

/* Nonzero if all n bytes are ASCII and none is NUL (a value the fast path may
 * copy without labels_value_valid). Per word, (w - 0x01..) | w has a byte's
 * high bit set when that byte is >= 0x80 or 0 (the borrow of a 0 byte can only
 * mark bytes above it, and the word is refused anyway). */
static inline int rw_plain(const uint8_t *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL;
    uint64_t acc = 0, w;
    size_t i = 0;
    if (n < 8) { /* short: per byte, c - 1 wraps to >= 0x7f exactly for 0 and >= 0x80 */
        unsigned bad = 0;
        for (; i < n; i++) bad |= (uint8_t)(p[i] - 1u) >= 0x7f;
        return !bad;
    }
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        acc |= (w - ones) | w;
    }
    if (i < n) { /* the tail as one word, overlapping the last full one */
        memcpy(&w, p + n - 8, 8);
        acc |= (w - ones) | w;
    }
    return (acc & 0x8080808080808080ULL) == 0;
}

static inline uint8_t *rw_put_str(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n < 0x80) *d++ = (uint8_t)n;
    else d += uvarint_put(d, n);
    /* short strings without a call: two overlapping fixed-size copies */
    if (n >= 8 && n <= 16) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n < 4) {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    } else {
        memcpy(d, s, n);
    }
    return d + n;
}

/*
 * One TimeSeries the way Prometheus sends it: labels already in canonical
 * order (sorted, __name__ first), none empty, reserved or invalid, within
 * the limits. Then each label is checked as it is read and copied straight
 * into the batch's canonical bytes (the canonical form of a label set is
 * unique, so these are the bytes ingest_series would produce), samples are
 * written in place, and the batch only hashes and de-duplicates. Anything
 * else (including every error ingest_series would report) returns RW_SLOW
 * with the batch untouched, and the general path redoes the series with the
 * messages of ingest_series. Wire errors are reported directly.
 */
static int rw_series_fast(rw_dec *d, const uint8_t *p, size_t n, size_t idx, cairn_err *err)
{
    cairn_batch *b = d->b;
    const ingest_opts *o = d->o;
    size_t off = b->canon.len, s0 = b->n_samples, nl = 0, ns = 0;
    size_t max_name = o->max_name_bytes < BATCH_MAX_NAME_BYTES ? o->max_name_bytes : BATCH_MAX_NAME_BYTES;
    size_t max_value = o->max_value_bytes < BATCH_MAX_VALUE_BYTES ? o->max_value_bytes : BATCH_MAX_VALUE_BYTES;
    size_t max_labels = o->max_labels < 127 ? o->max_labels : 127; /* one-byte count */
    /* every label's canonical bytes are fewer than its Label message's: n + 1 is enough */
    if (buf_reserve(&b->canon, n + 1)) return RW_SLOW;
    uint8_t *out = b->canon.p + off + 1;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    rd r = {p, p + n};
    int rc = RW_SLOW;
    while (r.p < r.end) {
        const uint8_t *at = r.p, *s = NULL;
        uint32_t f;
        int wt;
        size_t sn = 0;
        if (rw_key(&r, &f, &wt)) {
            rc = rw_wire(d, at, "bad field key in TimeSeries");
            goto fail;
        }
        if (f >= 1 && f <= 4) {
            if (wt != PB_LEN) {
                rc = rw_wire(d, at, "TimeSeries field is not length-delimited");
                goto fail;
            }
            if (rw_len(&r, &s, &sn)) {
                rc = rw_wire(d, at, "truncated TimeSeries field");
                goto fail;
            }
        }
        if (f == 1) {
            cairn_label lab;
            if ((rc = rw_label(d, s, sn, &lab))) goto fail;
            const uint8_t *nm = (const uint8_t *)lab.name, *v = (const uint8_t *)lab.value;
            size_t nn = lab.name_len, vn = lab.value_len;
            rc = RW_SLOW;
            if (nn == 0 || vn == 0 || nn > max_name || vn > max_value || ++nl > max_labels) goto fail;
            unsigned ok = rw_name_chars[nm[0]] & 2;
            for (size_t i = 1; i < nn; i++) ok &= rw_name_chars[nm[i]];
            if (!ok) goto fail;
            if (nm[0] == '_' && nn >= 2 && nm[1] == '_') {
                if (!rw_is_metric_name(nm, nn) || prev) goto fail; /* reserved, or __name__ not first */
            } else if (prev && !rw_is_metric_name(prev, prev_len) && !rw_name_less(prev, prev_len, nm, nn)) {
                goto fail; /* not sorted, or a duplicate: the general path sorts or reports it */
            }
            if (!rw_plain(v, vn) && labels_value_valid((const char *)v, vn) != vn) goto fail;
            out = rw_put_str(out, nm, nn);
            out = rw_put_str(out, v, vn);
            prev = nm, prev_len = nn;
        } else if (f == 2) {
            batch_sample x;
            if ((rc = rw_sample(d, s, sn, &x.t_ms, &x.v))) goto fail;
            if (batch_reserve_samples(b, 1)) {
                rc = RW_SLOW;
                goto fail;
            }
            x.ref = UINT32_MAX; /* patched below, once the label set has a ref */
            b->samples[b->n_samples++] = x;
            ns++;
        } else if ((f == 0 || f > 4) && rw_skip(&r, wt)) {
            rc = rw_wire(d, at, "bad unknown field in TimeSeries");
            goto fail;
        }
    }
    if (ns == 0) return CAIRN_OK; /* no samples: the series is not added, labels unseen */
    rc = RW_SLOW;
    if (nl == 0) goto fail;
    b->canon.p[off] = (uint8_t)nl;
    b->canon.len = (size_t)(out - b->canon.p);
    int ref = batch_series_encoded(b, CAIRN_KIND_METRIC, off, NULL);
    if (ref < 0) goto fail; /* canon.len is back at off */
    for (size_t k = s0; k < b->n_samples; k++) b->samples[k].ref = (uint32_t)ref;
    (void)idx, (void)err;
    return CAIRN_OK;
fail:
    b->canon.len = off;
    b->n_samples = s0;
    return rc;
}

/* One TimeSeries (index idx among all of the request's). */
static int rw_series(rw_dec *d, const uint8_t *p, size_t n, size_t idx, cairn_err *err)
{
    cairn_batch *b = d->b;
    if (!d->dry) {
        int rc = rw_series_fast(d, p, n, idx, err);
        if (rc != RW_SLOW) return rc;
    }
    rd r = {p, p + n};
    size_t nl = 0, s0 = d->dry ? 0 : b->n_samples, ns = 0;
    while (r.p < r.end) {
        const uint8_t *at = r.p, *s = NULL;
        uint32_t f;
        int wt, rc;
        size_t sn = 0;
        if (rw_key(&r, &f, &wt)) return rw_wire(d, at, "bad field key in TimeSeries");
        if (f >= 1 && f <= 4) {
            if (wt != PB_LEN) return rw_wire(d, at, "TimeSeries field is not length-delimited");
            if (rw_len(&r, &s, &sn)) return rw_wire(d, at, "truncated TimeSeries field");
        }
        if (f == 1) {
            cairn_label lab;
            if ((rc = rw_label(d, s, sn, &lab))) return rc;
            if (d->dry) continue;
            if (nl == d->cap && rw_grow_labels(d))
                return err_set(err, CAIRN_ENOMEM, "remote_write: timeseries %zu: out of memory", idx);
            d->l[nl++] = lab;
        } else if (f == 2) {
            batch_sample x;
            if ((rc = rw_sample(d, s, sn, &x.t_ms, &x.v))) return rc;
            ns++;
            if (d->dry) continue;
            if (batch_reserve_samples(b, 1))
                return err_set(err, CAIRN_ENOMEM,
                               "remote_write: timeseries %zu: out of memory adding a sample to a batch", idx);
            x.ref = UINT32_MAX; /* patched below, once the label set has a ref */
            b->samples[b->n_samples++] = x;
        } else if ((f == 0 || f > 4) && rw_skip(&r, wt)) {
            return rw_wire(d, at, "bad unknown field in TimeSeries");
        }
    }
    if (d->dry || ns == 0) return CAIRN_OK;
    int ref = ingest_series(b, CAIRN_KIND_METRIC, d->l, &nl, d->o, "remote_write: timeseries", (long long)idx, err);
    if (ref < 0) return ref;
    for (size_t k = s0; k < b->n_samples; k++) b->samples[k].ref = (uint32_t)ref;
    return CAIRN_OK;
}

static int rw_meta(rw_dec *d, const uint8_t *p, size_t n, cairn_err *err)
{
    rd r = {p, p + n};
    uint64_t type = 0;
    const uint8_t *name = NULL, *help = (const uint8_t *)"", *unit = (const uint8_t *)"";
    size_t name_len = 0, help_len = 0, unit_len = 0;
    while (r.p < r.end) {
        const uint8_t *at = r.p, *s;
        uint32_t f;
        int wt;
        size_t sn;
        if (rw_key(&r, &f, &wt)) return rw_wire(d, at, "bad field key in MetricMetadata");
        if (f == 1) {
            if (wt != PB_VARINT || rw_varint(&r, &type)) return rw_wire(d, at, "bad MetricMetadata type");
        } else if (f == 2 || f == 4 || f == 5) {
            if (wt != PB_LEN || rw_len(&r, &s, &sn)) return rw_wire(d, at, "bad MetricMetadata string");
            if (f == 2) name = s, name_len = sn;
            else if (f == 4) help = s, help_len = sn;
            else unit = s, unit_len = sn;
        } else if (rw_skip(&r, wt)) {
            return rw_wire(d, at, "bad unknown field in MetricMetadata");
        }
    }
    if (d->dry || !d->meta || name_len == 0) return CAIRN_OK;
    int32_t t = (int32_t)(uint32_t)type; /* an int32 enum on the wire: the low 32 bits */
    int rc = ingest_meta_set(d->meta, (const char *)name, name_len,
                             t >= 0 && t <= INGEST_TYPE_STATESET ? t : INGEST_TYPE_UNKNOWN, (const char *)help,
                             help_len, (const char *)unit, unit_len);
    if (rc) return err_set(err, rc, "remote_write: out of memory storing metadata");
    return CAIRN_OK;
}

/* Walk WriteRequest fields from r to the end. */
static int rw_request(rw_dec *d, rd *r, size_t *n_ts, cairn_err *err)
{
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        int wt, rc;
        size_t sn;
        if (rw_key(r, &f, &wt)) return rw_wire(d, at, "bad field key in WriteRequest");
        if (f == 1 || f == 3) {
            if (wt != PB_LEN) return rw_wire(d, at, "WriteRequest field is not length-delimited");
            if (rw_len(r, &s, &sn)) return rw_wire(d, at, "truncated WriteRequest field");
            rc = f == 1 ? rw_series(d, s, sn, (*n_ts)++, err) : rw_meta(d, s, sn, err);
            if (rc) return rc;
        } else if (rw_skip(r, wt)) {
            return rw_wire(d, at, "bad unknown field in WriteRequest");
        }
    }
    return CAIRN_OK;
}

int rw_decode_pb(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
                 cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "remote_write: message of %zu bytes exceeds %zu bytes", len,
                       o->max_body_bytes);
    rw_dec d;
    d.o = o, d.b = b, d.meta = meta, d.dry = 0, d.base = pb, d.what = NULL, d.at = 0;
    d.l = d.stack, d.cap = sizeof d.stack / sizeof *d.stack;
    rd r = {pb, pb + len};
    size_t n_ts = 0;
    int rc = rw_request(&d, &r, &n_ts, err);
    if (rc && rc != CAIRN_ECORRUPT && rc != CAIRN_ENOMEM) {
        /* a label error: a wire error later in the message still wins */
        d.dry = 1;
        if (rw_request(&d, &r, &n_ts, NULL) == CAIRN_ECORRUPT) rc = CAIRN_ECORRUPT;
    }
    if (rc == CAIRN_ECORRUPT)
        err_set(err, rc, "remote_write: malformed protobuf WriteRequest (%zu bytes): %s at byte %zu", len, d.what,
                d.at);
    if (d.l != d.stack) mem_free(d.l, d.cap * sizeof *d.l);
    if (rc) {
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    return rc;
}

int rw_decode(const uint8_t *body, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
              cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "remote_write: body of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    buf *raw = &b->scratch; /* reused across requests by a pooled batch */
    buf_reset(raw);
    int rc = ingest_unsnappy(body, len, o->max_body_bytes, raw, err);
    if (rc == CAIRN_OK) {
        rc = rw_decode_pb(raw->p, raw->len, o, b, meta, err);
    } else {
        cairn_err e2 = {0};
        if (err) e2 = *err;
        rc = err_set(err, rc, "remote_write: %s", e2.msg);
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    if (raw->cap > RW_SCRATCH_KEEP) buf_free(raw);
    else buf_reset(raw);
    return rc;
}
