/*
 * batch.c — building a cairn_batch.
 *
 * Label sets are canonicalised on entry (labels_canon: validation, sort,
 * encoding) so that every later stage — WAL record, index look-up, hash —
 * works on one byte string. A small open-addressed table keyed by XXH3 finds
 * a label set already in the batch (remote_write senders repeat series across
 * a request, Loki pushers repeat streams), so each set is hashed once and
 * stored once; equality is a byte compare of canonical forms, never the hash
 * alone. Samples and entries are flat arrays of fixed-size records pointing
 * into the byte buffers; a batch can be reset and reused without freeing.
 *
 * A failed add leaves the batch exactly as it was: the canonical bytes are
 * appended first and the length rolled back on any later failure.
 *
 * Reuse: cairn_batch_reset() keeps every array, buffer and the hash table
 * (and the decoders' scratch buffer), so a batch pooled per worker stops
 * allocating after its first few requests. batch_series_checked() and
 * batch_reserve_samples() exist for the remote_write decoder's hot path: the
 * first skips the name and UTF-8 scans that ingest_series() has just done,
 * the second lets a decoder write sample records in place.
 */
#include "batch.h"

#include <string.h>

#include "err.h"
#include "labels.h"
#include "mem.h"

static const labels_limits batch_limits = {BATCH_MAX_LABELS, BATCH_MAX_NAME_BYTES, BATCH_MAX_VALUE_BYTES};

cairn_batch *cairn_batch_new(void)
{
    cairn_batch *b = mem_calloc(1, sizeof *b);
    return b;
}

void cairn_batch_free(cairn_batch *b)
{
    if (!b) return;
    buf_free(&b->canon);
    buf_free(&b->lines);
    buf_free(&b->meta);
    buf_free(&b->scratch);
    mem_free(b->series, b->cap_series * sizeof *b->series);
    mem_free(b->htab, b->hcap * sizeof *b->htab);
    mem_free(b->samples, b->cap_samples * sizeof *b->samples);
    mem_free(b->entries, b->cap_entries * sizeof *b->entries);
    mem_free(b, sizeof *b);
}

void cairn_batch_reset(cairn_batch *b)
{
    buf_reset(&b->canon);
    buf_reset(&b->lines);
    buf_reset(&b->meta);
    b->n_series = b->n_samples = b->n_entries = 0;
    if (b->htab) memset(b->htab, 0xff, b->hcap * sizeof *b->htab);
}

size_t cairn_batch_size(const cairn_batch *b) { return b->n_samples + b->n_entries; }

/* Grow an array of `size`-byte items to hold one more. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap) return CAIRN_OK;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = mem_realloc(*arr, *cap * size, ncap * size);
    if (!p) return CAIRN_ENOMEM;
    *arr = p;
    *cap = ncap;
    return CAIRN_OK;
}

static int rehash(cairn_batch *b, size_t ncap)
{
    int32_t *t = mem_alloc(ncap * sizeof *t);
    if (!t) return CAIRN_ENOMEM;
    memset(t, 0xff, ncap * sizeof *t);
    for (size_t i = 0; i < b->n_series; i++) {
        size_t h = (size_t)b->series[i].hash & (ncap - 1);
        b->series[i].next = t[h];
        t[h] = (int32_t)i;
    }
    mem_free(b->htab, b->hcap * sizeof *b->htab);
    b->htab = t;
    b->hcap = ncap;
    return CAIRN_OK;
}

/* Register the canonical set at b->canon[off, len): an existing ref or a new one.
 * On any failure canon.len goes back to off. */
static int batch_series_add(cairn_batch *b, int kind, size_t off, cairn_err *err)
{
    const uint8_t *canon = b->canon.p + off;
    size_t len = b->canon.len - off;
    uint64_t h = labels_hash(canon, len);
    if (b->hcap) {
        for (int32_t i = b->htab[h & (b->hcap - 1)]; i >= 0; i = b->series[i].next) {
            batch_series *s = &b->series[i];
            if (s->hash == h && s->canon_len == len && memcmp(batch_canon(b, s), canon, len) == 0) {
                b->canon.len = off;
                if (s->kind != kind) {
                    return err_set(err, CAIRN_EINVAL, "label set added as both metric series and log stream");
                }
                return i;
            }
        }
    }
    if (grow((void **)&b->series, &b->cap_series, b->n_series, sizeof *b->series) ||
        (b->n_series + 1 > b->hcap / 2 && rehash(b, b->hcap ? b->hcap * 2 : 64))) {
        b->canon.len = off;
        return err_set(err, CAIRN_ENOMEM, "out of memory adding a series to a batch");
    }
    batch_series *s = &b->series[b->n_series];
    s->hash = h;
    s->canon_off = (uint32_t)off;
    s->canon_len = (uint32_t)len;
    s->kind = (uint8_t)kind;
    size_t bucket = (size_t)h & (b->hcap - 1);
    s->next = b->htab[bucket];
    b->htab[bucket] = (int32_t)b->n_series;
    return (int)b->n_series++;
}

static int batch_series_impl(cairn_batch *b, int kind, const cairn_label *labels, size_t n_labels, int checked,
                             cairn_err *err)
{
    if (kind != CAIRN_KIND_METRIC && kind != CAIRN_KIND_LOG)
        return err_set(err, CAIRN_EINVAL, "unknown series kind %d", kind);
    if (b->n_series >= INT32_MAX) return err_set(err, CAIRN_ELIMIT, "too many series in one batch");
    size_t off = b->canon.len;
    int rc = checked ? labels_canon_checked(labels, n_labels, &batch_limits, &b->canon, err)
                     : labels_canon(labels, n_labels, &batch_limits, &b->canon, err);
    if (rc) {
        b->canon.len = off;
        return rc;
    }
    return batch_series_add(b, kind, off, err);
}

int batch_series_encoded(cairn_batch *b, int kind, size_t off, cairn_err *err)
{
    CAIRN_ASSERT(off < b->canon.len && b->canon.len <= b->canon.cap);
    if (b->n_series >= INT32_MAX) {
        b->canon.len = off;
        return err_set(err, CAIRN_ELIMIT, "too many series in one batch");
    }
    return batch_series_add(b, kind, off, err);
}

int cairn_batch_series(cairn_batch *b, int kind, const cairn_label *labels, size_t n_labels, cairn_err *err)
{
    return batch_series_impl(b, kind, labels, n_labels, 0, err);
}

int batch_series_checked(cairn_batch *b, int kind, const cairn_label *labels, size_t n_labels, cairn_err *err)
{
    return batch_series_impl(b, kind, labels, n_labels, 1, err);
}

int batch_reserve_samples(cairn_batch *b, size_t n)
{
    if (b->cap_samples - b->n_samples >= n) return CAIRN_OK;
    size_t ncap = b->cap_samples ? b->cap_samples : 16;
    while (ncap - b->n_samples < n) ncap *= 2;
    void *p = mem_realloc(b->samples, b->cap_samples * sizeof *b->samples, ncap * sizeof *b->samples);
    if (!p) return CAIRN_ENOMEM;
    b->samples = p;
    b->cap_samples = ncap;
    return CAIRN_OK;
}

static int check_ref(const cairn_batch *b, int ref, int kind, cairn_err *err)
{
    if (ref < 0 || (size_t)ref >= b->n_series) return err_set(err, CAIRN_EINVAL, "batch ref %d out of range", ref);
    if (b->series[ref].kind != kind)
        return err_set(err, CAIRN_EINVAL, "batch ref %d is a %s, not a %s", ref,
                       kind == CAIRN_KIND_LOG ? "metric series" : "log stream",
                       kind == CAIRN_KIND_LOG ? "log stream" : "metric series");
    return CAIRN_OK;
}

int cairn_batch_sample(cairn_batch *b, int ref, int64_t t_ms, double v, cairn_err *err)
{
    RETURN_IF_ERR(check_ref(b, ref, CAIRN_KIND_METRIC, err));
    if (grow((void **)&b->samples, &b->cap_samples, b->n_samples, sizeof *b->samples))
        return err_set(err, CAIRN_ENOMEM, "out of memory adding a sample to a batch");
    b->samples[b->n_samples++] = (batch_sample){.t_ms = t_ms, .v = v, .ref = (uint32_t)ref};
    return CAIRN_OK;
}

int cairn_batch_entry(cairn_batch *b, int ref, int64_t t_ns, const char *line, size_t line_len,
                      const cairn_label *meta, size_t n_meta, cairn_err *err)
{
    RETURN_IF_ERR(check_ref(b, ref, CAIRN_KIND_LOG, err));
    if (line_len > UINT32_MAX) return err_set(err, CAIRN_ELIMIT, "log line of %zu bytes is too long", line_len);
    size_t meta_off = b->meta.len, lines_off = b->lines.len;
    size_t n_nonempty = 0; /* metadata whose values are all empty is no metadata */
    for (size_t i = 0; i < n_meta; i++) n_nonempty += meta[i].value_len != 0;
    if (n_nonempty) {
        int rc = labels_canon(meta, n_meta, &batch_limits, &b->meta, err);
        if (rc) {
            b->meta.len = meta_off;
            return rc;
        }
    }
    if (grow((void **)&b->entries, &b->cap_entries, b->n_entries, sizeof *b->entries) ||
        buf_put(&b->lines, line, line_len)) {
        b->meta.len = meta_off;
        b->lines.len = lines_off;
        return err_set(err, CAIRN_ENOMEM, "out of memory adding a log entry to a batch");
    }
    size_t meta_len = b->meta.len - meta_off;
    b->entries[b->n_entries++] = (batch_entry){.t_ns = t_ns,
                                               .line_off = lines_off,
                                               .line_len = (uint32_t)line_len,
                                               .ref = (uint32_t)ref,
                                               .meta_off = (uint32_t)meta_off,
                                               .meta_len = (uint32_t)meta_len};
    return CAIRN_OK;
}
