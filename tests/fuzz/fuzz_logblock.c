/*
 * fuzz_logblock.c — the log block and chunk decoders on arbitrary bytes, and a
 * round trip built from the input.
 *
 * The input is read three ways: as one block (lblk_open; compressed or stored),
 * as a chunk value (lblk_chunk_open, then every indexed block it accepts), and
 * as a log head snapshot (lstream_head_load). None may crash, read out of
 * bounds or allocate beyond the documented caps; anything they accept must be
 * internally consistent (ascending timestamps, offsets inside the payload).
 * Then the input is cut into entries — per entry one byte of timestamp step
 * (signed), one byte of length, the line bytes and, when the step byte is odd,
 * two bytes of metadata — sealed at a level picked by the first byte, decoded,
 * and compared with the head's sorted entries; the bulk substring scan is
 * checked against per-line memmem with a pattern taken from the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logblock.h"
#include "logs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lblk_enc *enc;
static lblk_dctx *dctx;

static void check_view(const lblk_view *v, size_t raw_cap)
{
    for (size_t i = 0; i < v->n; i++) {
        if (i && v->t[i] < v->t[i - 1]) abort();
        if (v->off[i + 1] < v->off[i] || v->off[i + 1] > raw_cap) abort();
        if (v->moff && v->moff[i + 1] < v->moff[i]) abort();
    }
    /* touch every byte the view claims, so ASan sees any overrun */
    volatile uint8_t x = 0;
    for (size_t i = 0; i < v->off[v->n]; i++) x ^= v->lines[i];
    for (size_t i = 0; v->moff && i < v->moff[v->n]; i++) x ^= v->meta[i];
    (void)x;
}

static void decode_paths(const uint8_t *data, size_t size)
{
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_view v;
    if (lblk_open(dctx, &d, data, size, &v, NULL) == CAIRN_OK) check_view(&v, LBLK_MAX_RAW);
    lblk_chunk c;
    if (lblk_chunk_open(data, size, &c, NULL) == CAIRN_OK) {
        int64_t maxt;
        if (lblk_chunk_maxt(data, size, &maxt) || maxt != c.maxt) abort();
        for (uint32_t i = 0; i < c.n && i < 64; i++) {
            lblk_chunk_ent e;
            lblk_chunk_get(&c, i, &e);
            if ((size_t)e.off + e.len > size) abort();
            if (lblk_open(dctx, &d, data + e.off, e.len, &v, NULL) == CAIRN_OK) check_view(&v, LBLK_MAX_RAW);
        }
    }
    lblk_dec_free(&d);
    lstream *s;
    if (lstream_new(&s) == CAIRN_OK) {
        if (lstream_head_load(s, data, size, NULL) == CAIRN_OK) {
            /* save -> load -> save is a fixed point */
            buf b1, b2;
            buf_init(&b1);
            buf_init(&b2);
            lstream *s2;
            if (lstream_head_save(s, &b1) == CAIRN_OK && lstream_new(&s2) == CAIRN_OK) {
                if (lstream_head_load(s2, b1.p, b1.len, NULL) || lstream_head_save(s2, &b2) || b1.len != b2.len ||
                    memcmp(b1.p, b2.p, b1.len) || lstream_head_count(s2) != lstream_head_count(s))
                    abort();
                lstream_free(s2);
            }
            buf_free(&b1);
            buf_free(&b2);
        }
        lstream_free(s);
    }
}

static void round_trip(const uint8_t *data, size_t size)
{
    if (size < 2) return;
    static const int levels[] = {1, 3, -3, LBLK_STORED};
    int level = levels[data[0] & 3];
    size_t plen = data[1] & 3;
    if (plen > size - 2) plen = size - 2;
    const uint8_t *pat = data + 2;
    lblk_head h;
    lblk_head_init(&h);
    size_t i = 2 + plen;
    int64_t t = 0;
    while (i + 2 <= size && h.n < 4096) {
        int8_t step = (int8_t)data[i];
        size_t len = data[i + 1];
        i += 2;
        if (len > size - i) len = size - i;
        const uint8_t *line = data + i;
        i += len;
        const uint8_t *meta = NULL;
        size_t mlen = 0;
        if ((step & 1) && i + 2 <= size) meta = data + i, mlen = 2, i += 2;
        t += step;
        if (lblk_head_add(&h, t, line, len, meta, mlen) != CAIRN_OK) abort();
        if (!lblk_head_has(&h, t, line, len)) abort();
    }
    if (h.n) {
        buf out;
        buf_init(&out);
        if (lblk_encode(enc, &h, level, &out, NULL) != CAIRN_OK) abort();
        lblk_dec d;
        lblk_dec_init(&d);
        lblk_view v;
        if (lblk_open(dctx, &d, out.p, out.len, &v, NULL) != CAIRN_OK || v.n != h.n) abort();
        for (uint32_t k = 0; k < h.n; k++) {
            const lblk_ent *x = &h.e[k];
            if (v.t[k] != x->t || v.off[k + 1] - v.off[k] != x->len) abort();
            if (x->len && memcmp(v.lines + v.off[k], h.lines.p + x->off, x->len)) abort();
            size_t ml = v.moff ? v.moff[k + 1] - v.moff[k] : 0;
            if (ml != x->mlen || (ml && memcmp(v.meta + v.moff[k], h.meta.p + x->moff, ml))) abort();
        }
        uint32_t *sel = malloc(v.n * sizeof *sel);
        if (!sel) abort();
        size_t lo = data[0] % (v.n + 1), hi = v.n;
        for (int neg = 0; neg < 2; neg++) {
            size_t k = lblk_scan(&v, lo, hi, pat, plen, neg, sel), m = 0;
            for (size_t j = lo; j < hi; j++) {
                size_t n = v.off[j + 1] - v.off[j];
                int in = plen == 0 || (n >= plen && memmem(v.lines + v.off[j], n, pat, plen));
                if (in != neg) {
                    if (m >= k || sel[m] != j) abort();
                    m++;
                }
            }
            if (m != k) abort();
        }
        free(sel);
        /* a chunk of that block (twice) reads back */
        const uint8_t *blk[2] = {out.p, out.p};
        size_t lens[2] = {out.len, out.len};
        size_t cn = lblk_chunk_size(2, 2 * out.len);
        uint8_t *cv = malloc(cn);
        lblk_chunk c;
        if (!cv || lblk_chunk_write(cv, cn, blk, lens, 2, NULL) || lblk_chunk_open(cv, cn, &c, NULL) ||
            c.n != 2 || c.mint != h.e[0].t || c.maxt != h.e[h.n - 1].t)
            abort();
        free(cv);
        lblk_dec_free(&d);
        buf_free(&out);
    }
    lblk_head_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!enc && lblk_enc_new(&enc)) abort();
    if (!dctx && lblk_dctx_new(&dctx)) abort();
    decode_paths(data, size);
    round_trip(data, size);
    return 0;
}
