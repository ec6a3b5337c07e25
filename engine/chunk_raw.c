/*
 * chunk_raw.c — the raw chunk class: 16 bytes per sample, no compression.
 *
 * It exists to be obviously right. Every test of the Gorilla class runs the
 * same samples through this class and compares the two decodings bit for
 * bit (tests/unit/engine/test_chunk.c, tests/fuzz/fuzz_gorilla.c), so a bug
 * has to appear identically in a memcpy-level format and in a bit-level one
 * to go unnoticed. It is also a fallback for data that Gorilla cannot
 * shrink (random bit patterns cost Gorilla up to ~19.6 bytes a sample).
 *
 * Payload (docs/format/gorilla.md): per sample, t as int64 big-endian
 * (two's complement), then the value's IEEE 754 bits as uint64 big-endian.
 * Big-endian so that the header, the payload and hex dumps read alike.
 *
 * The decoder checks each sample against the byte length (a prefix copied
 * mid-append or a truncated string ends in CAIRN_ECORRUPT at the first
 * missing sample, never a read past the end) and that timestamps increase.
 */
#include <string.h>

#include "buf.h"
#include "chunk.h"

#define RAW_SAMPLE_BYTES 16

static int raw_append(chunk_w *w, int64_t t, uint64_t v)
{
    if (chunk_w_reserve(w, RAW_SAMPLE_BYTES)) return CAIRN_ENOMEM;
    uint8_t *p = w->data + w->len;
    be64_put(p, (uint64_t)t);
    be64_put(p + 8, v);
    w->len += RAW_SAMPLE_BYTES;
    w->st.t = t;
    w->st.v = v;
    w->st.n++;
    return CAIRN_OK;
}

static int raw_it_init(chunk_it *it)
{
    (void)it;
    return CAIRN_OK;
}

static int raw_it_next(chunk_it *it, int64_t *t, uint64_t *v)
{
    size_t off = (size_t)it->r.pos;
    if (it->r.len < RAW_SAMPLE_BYTES || off > it->r.len - RAW_SAMPLE_BYTES) return CAIRN_ECORRUPT;
    int64_t tn = (int64_t)be64_get(it->r.p + off);
    if (it->st.n > 0 && tn <= it->st.t) return CAIRN_ECORRUPT;
    it->st.t = tn;
    it->st.v = be64_get(it->r.p + off + 8);
    it->st.n++;
    it->r.pos += RAW_SAMPLE_BYTES;
    *t = tn;
    *v = it->st.v;
    return CAIRN_OK;
}

static int raw_it_next_n(chunk_it *it, int64_t *t, double *v, uint32_t max, uint32_t *got)
{
    for (uint32_t i = 0; i < max; i++) {
        uint64_t b;
        if (raw_it_next(it, &t[i], &b)) {
            *got = i;
            return CAIRN_ECORRUPT;
        }
        memcpy(&v[i], &b, 8);
    }
    *got = max;
    return CAIRN_OK;
}

static size_t raw_it_end(const chunk_it *it) { return (size_t)it->r.pos; }

const chunk_class chunk_raw_class = {"raw", raw_append, raw_it_init, raw_it_next, raw_it_next_n, raw_it_end};
