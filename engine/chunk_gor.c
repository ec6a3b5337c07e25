/*
 * chunk_gor.c — the Gorilla chunk class: the codec of gorilla.c behind the
 * chunk header, plus the memory policy of a head chunk.
 *
 * Payload (docs/format/gorilla.md): one bit stream, samples back to back, no
 * per-sample framing; the header's count says where it stops, and the last
 * byte is zero-padded. chunk_w.nbits is the exact bit length.
 *
 * All or nothing without over-reserving: a sample is first coded into the
 * room the chunk already has. Only if the bit writer overflows (about once
 * per CHUNK_GROW_BYTES of output) is the encoder state put back, the
 * partial last byte restored, the array grown by the worst case of one
 * sample (GOR_MAX_SAMPLE_BITS) and the sample coded again; if growing fails
 * the chunk is exactly as it was. Reserving the worst case on every append
 * instead would keep ~20 more bytes per head chunk alive, and a head chunk
 * exists for each of 100k+ active series.
 *
 * The class never looks at the order of timestamps or the count limit:
 * chunk.c checks them before calling.
 */
#include "chunk.h"

#include "err.h"

static void gor_code(chunk_w *w, int64_t t, uint64_t v, bits_w *bw)
{
    bits_w_init(bw, w->data + CHUNK_HDR_BYTES, w->cap - CHUNK_HDR_BYTES, w->nbits);
    gor_put(&w->st, bw, t, v);
}

static int gor_append(chunk_w *w, int64_t t, uint64_t v)
{
    bits_w bw;
    gor_state saved = w->st;
    size_t last = CHUNK_HDR_BYTES + (w->nbits >> 3);
    uint8_t last_byte = last < w->cap ? w->data[last] : 0;
    gor_code(w, t, v, &bw);
    if (BITS_UNLIKELY(bw.overflow)) {
        w->st = saved;
        if (last < w->cap) w->data[last] = last_byte;
        if (chunk_w_reserve(w, (GOR_MAX_SAMPLE_BITS + 7) / 8 + 1)) return CAIRN_ENOMEM;
        gor_code(w, t, v, &bw);
        if (bw.overflow) CAIRN_BUG("gorilla: sample larger than GOR_MAX_SAMPLE_BITS");
    }
    w->nbits = (uint32_t)bw.pos;
    w->len = (uint32_t)(CHUNK_HDR_BYTES + bits_w_bytes(&bw));
    return CAIRN_OK;
}

static int gor_it_init(chunk_it *it)
{
    (void)it;
    return CAIRN_OK;
}

static int gor_it_next(chunk_it *it, int64_t *t, uint64_t *v) { return gor_get(&it->st, &it->r, t, v); }

static int gor_it_next_n(chunk_it *it, int64_t *t, double *v, uint32_t max, uint32_t *got)
{
    return gor_get_n(&it->st, &it->r, t, v, max, got);
}

static size_t gor_it_end(const chunk_it *it) { return (size_t)((it->r.pos + 7) >> 3); }

const chunk_class chunk_gor_class = {"gorilla", gor_append, gor_it_init, gor_it_next, gor_it_next_n, gor_it_end};
