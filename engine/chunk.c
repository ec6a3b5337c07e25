/*
 * chunk.c — the class-independent half of float chunks: the header, order
 * checks, memory growth, and dispatch through the class table.
 *
 * Why a table of function pointers and not a switch in every function: the
 * raw class exists to be the oracle of the Gorilla one in tests, and a new
 * class (say, decimal scaling for the long-term store) should plug in without
 * touching the callers; RedisTimeSeries' generic_chunk does the same, minus
 * the void pointers. The hot entry points pick the table entry with one
 * compare and make one indirect call per sample (chunk_it_next) or per batch
 * (chunk_it_next_n, which keeps the decoder state in registers and is the
 * one to use for scans; docs/benchmarks/codec.md has the numbers).
 *
 * Layout (docs/format/gorilla.md): byte 0 is the class, bytes 1-2 the sample
 * count (u16 big-endian), the rest belongs to the class. chunk_w_append
 * writes the sample's bytes first and the count last, so a reader that
 * copies data[0, len) between two appends (under the series lock) sees a
 * consistent chunk: the count never promises bytes that are not there.
 *
 * All or nothing: the class reserves all the memory a sample can need before
 * it writes a bit, so the only failure (ENOMEM) happens before any change;
 * order and the count limit are checked here before the class is called.
 *
 * Memory: a head chunk lives in RAM for each active series, so the byte
 * array grows in CHUNK_GROW_BYTES steps instead of doubling (by 1/8 of its
 * size once that is larger: 256 bytes and up, far past a 120-sample chunk), and
 * chunk_w_shrink trims it to the exact length when the chunk is sealed.
 * The allocation happens on the first append: an idle chunk_w holds nothing.
 */
#include "chunk.h"

#include <string.h>

#include "err.h"
#include "mem.h"

const chunk_class *chunk_class_of(int cls)
{
    switch (cls) {
    case CHUNK_RAW: return &chunk_raw_class;
    case CHUNK_GOR: return &chunk_gor_class;
    default: return NULL;
    }
}

/* ---- appender ------------------------------------------------------------- */

void chunk_w_init(chunk_w *w, int cls)
{
    if (!chunk_class_of(cls)) CAIRN_BUG("chunk_w_init: unknown chunk class");
    memset(w, 0, sizeof *w);
    w->cls = (uint8_t)cls;
    gor_init(&w->st);
}

int chunk_w_reserve(chunk_w *w, size_t need)
{
    if ((size_t)w->cap - w->len >= need) return CAIRN_OK;
    /* small chunks grow by CHUNK_GROW_BYTES; big ones by 1/8 so that a
     * 65535-sample chunk is not copied thousands of times */
    size_t want = (size_t)w->len + need;
    size_t step = w->cap / 8 > CHUNK_GROW_BYTES ? w->cap / 8 : CHUNK_GROW_BYTES;
    if (want < (size_t)w->cap + step) want = (size_t)w->cap + step;
    size_t cap = (want + CHUNK_GROW_BYTES - 1) / CHUNK_GROW_BYTES * CHUNK_GROW_BYTES;
    if (cap > UINT32_MAX) return CAIRN_ENOMEM;
    uint8_t *p = mem_realloc(w->data, w->cap, cap);
    if (!p) return CAIRN_ENOMEM;
    w->data = p;
    w->cap = (uint32_t)cap;
    return CAIRN_OK;
}

int chunk_w_append(chunk_w *w, int64_t t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    if (w->st.n == 0) {
        gor_init(&w->st);
        w->nbits = 0;
        if (w->cap < CHUNK_HDR_BYTES) RETURN_IF_ERR(chunk_w_reserve(w, CHUNK_HDR_BYTES));
        w->data[0] = w->cls;
        w->data[1] = w->data[2] = 0;
        w->len = CHUNK_HDR_BYTES;
    } else {
        if (t <= w->st.t) return CAIRN_EINVAL;
        if (w->st.n >= CHUNK_MAX_SAMPLES) return CAIRN_ELIMIT;
    }
    const chunk_class *c = w->cls == CHUNK_GOR ? &chunk_gor_class : &chunk_raw_class;
    int rc = c->append(w, t, bits);
    if (rc) {
        if (w->st.n == 0) w->len = 0; /* back to "no bytes", as before the call */
        return rc;
    }
    w->data[1] = (uint8_t)(w->st.n >> 8);
    w->data[2] = (uint8_t)w->st.n;
    return CAIRN_OK;
}

void chunk_w_shrink(chunk_w *w)
{
    if (!w->data || w->cap == w->len) return;
    uint8_t *p = mem_realloc(w->data, w->cap, w->len);
    if (!p) return; /* keep the larger block; nothing is lost */
    w->data = p;
    w->cap = w->len;
}

void chunk_w_free(chunk_w *w)
{
    int cls = w->cls;
    mem_free(w->data, w->cap);
    memset(w, 0, sizeof *w);
    w->cls = (uint8_t)cls;
    gor_init(&w->st);
}

int chunk_w_load(chunk_w *w, const uint8_t *data, size_t len, cairn_err *err)
{
    RETURN_IF_ERR(chunk_verify(data, len, err));
    chunk_w nw;
    chunk_w_init(&nw, data[0]);
    chunk_it it;
    chunk_it_init(&it, data, len);
    int64_t t;
    double v;
    while (chunk_it_next(&it, &t, &v) == 1) {}
    size_t end = CHUNK_HDR_BYTES + chunk_class_of(it.cls)->it_end(&it);
    if (chunk_w_reserve(&nw, end)) return err_set(err, CAIRN_ENOMEM, "chunk_w_load: out of memory");
    memcpy(nw.data, data, end);
    nw.len = (uint32_t)end;
    nw.st = it.st;
    nw.nbits = it.cls == CHUNK_GOR ? (uint32_t)it.r.pos : 0;
    *w = nw;
    return CAIRN_OK;
}

/* ---- iterator ------------------------------------------------------------- */

int chunk_count(const uint8_t *data, size_t len)
{
    if (len == 0) return 0;
    if (len < CHUNK_HDR_BYTES || !chunk_class_of(data[0])) return CAIRN_ECORRUPT;
    return data[1] << 8 | data[2];
}

int chunk_it_init(chunk_it *it, const uint8_t *data, size_t len)
{
    memset(it, 0, sizeof *it);
    gor_init(&it->st);
    if (len == 0) return CAIRN_OK; /* an empty head chunk: no samples */
    const chunk_class *c = len >= CHUNK_HDR_BYTES ? chunk_class_of(data[0]) : NULL;
    if (!c) {
        it->n = 1; /* so that next() reports the error instead of a clean end */
        it->cls = 0xff;
        return CAIRN_ECORRUPT;
    }
    it->cls = data[0];
    it->n = (uint32_t)(data[1] << 8 | data[2]);
    bits_r_init(&it->r, data + CHUNK_HDR_BYTES, len - CHUNK_HDR_BYTES);
    return c->it_init(it);
}

int chunk_it_next(chunk_it *it, int64_t *t, double *v)
{
    if (it->st.n >= it->n) return 0;
    uint64_t bits;
    int rc;
    if (it->cls == CHUNK_GOR)
        rc = chunk_gor_class.it_next(it, t, &bits);
    else if (it->cls == CHUNK_RAW)
        rc = chunk_raw_class.it_next(it, t, &bits);
    else
        rc = CAIRN_ECORRUPT;
    if (rc) {
        it->cls = 0xff; /* sticky */
        return CAIRN_ECORRUPT;
    }
    memcpy(v, &bits, 8);
    return 1;
}

int chunk_it_next_n(chunk_it *it, int64_t *t, double *v, size_t cap)
{
    if (it->st.n >= it->n) return 0;
    const chunk_class *c = it->cls == CHUNK_GOR ? &chunk_gor_class : it->cls == CHUNK_RAW ? &chunk_raw_class : NULL;
    if (!c) return CAIRN_ECORRUPT;
    uint32_t left = it->n - it->st.n, got = 0;
    uint32_t max = cap < left ? (uint32_t)cap : left;
    if (max == 0) return 0;
    int rc = c->it_next_n(it, t, v, max, &got);
    if (rc) {
        it->cls = 0xff; /* sticky */
        return got ? (int)got : CAIRN_ECORRUPT;
    }
    return (int)got;
}

int chunk_it_seek(chunk_it *it, int64_t t_min, int64_t *t, double *v)
{
    int rc;
    while ((rc = chunk_it_next(it, t, v)) == 1 && *t < t_min) {}
    return rc;
}

int chunk_verify(const uint8_t *data, size_t len, cairn_err *err)
{
    if (len == 0) return err_set(err, CAIRN_ECORRUPT, "chunk: empty byte string");
    if (len < CHUNK_HDR_BYTES) return err_set(err, CAIRN_ECORRUPT, "chunk: %zu bytes, shorter than the header", len);
    const chunk_class *c = chunk_class_of(data[0]);
    if (!c) return err_set(err, CAIRN_ECORRUPT, "chunk: unknown class byte 0x%02x", data[0]);
    chunk_it it;
    chunk_it_init(&it, data, len);
    int64_t t = 0;
    double v;
    int rc;
    while ((rc = chunk_it_next(&it, &t, &v)) == 1) {}
    if (rc < 0) {
        size_t at = CHUNK_HDR_BYTES + (size_t)(data[0] == CHUNK_GOR ? it.r.pos / 8 : it.r.pos);
        return err_set(err, CAIRN_ECORRUPT, "%s chunk: sample %u of %u is corrupt (near byte %zu of %zu)", c->name,
                       it.st.n, it.n, at < len ? at : len, len);
    }
    size_t end = CHUNK_HDR_BYTES + c->it_end(&it);
    if (end != len)
        return err_set(err, CAIRN_ECORRUPT, "%s chunk: %u samples end at byte %zu but the chunk has %zu bytes",
                       c->name, it.n, end, len);
    return CAIRN_OK;
}
