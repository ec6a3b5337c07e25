/*
 * bits.c — the slow paths of the bit writer and reader, and varints.
 *
 * The fast paths are inline in bits.h: they move one 64-bit big-endian word
 * per call and need eight bytes of memory at the current byte. Everything
 * here runs only within eight bytes of the end of the memory, or for puts
 * wider than 56 bits (a 64-bit value at an odd bit offset spans nine bytes),
 * so it favours plain byte loops over speed.
 *
 * Invariants kept by both paths:
 *   - the writer never touches p[cap] or beyond, and a put that does not fit
 *     writes nothing, sets `overflow` and leaves `pos` where it was;
 *   - the writer clears the bits after pos in the byte it ends in, so the
 *     stream is always a complete byte string with zero padding;
 *   - the reader never loads p[len] or beyond; past the end it yields zero
 *     bits while `pos` keeps counting, so bits_r_overflow() reports the
 *     overrun at whatever point the decoder chooses to check.
 *
 * Varints are LEB128 (7 bits per byte, low group first, high bit = more),
 * as in base/buf.c, but written through the bit writer so that they may
 * sit at any bit offset. A varint longer than ten bytes, or whose tenth byte
 * carries more than the 64th bit, is corrupt.
 */
#include "bits.h"

#include "cairn.h"

void bits_put_slow(bits_w *w, uint64_t v, unsigned n)
{
    if (n == 0) return;
    if (n > 56) {
        uint64_t pos = w->pos;
        bits_put(w, v >> 32, n - 32);
        bits_put(w, v & 0xffffffffu, 32);
        if (w->overflow) w->pos = pos;
        return;
    }
    if (w->pos + n > (uint64_t)w->cap * 8) {
        w->overflow = 1;
        return;
    }
    /* the fast path's word, stored only up to the byte the put ends in */
    size_t byte = (size_t)(w->pos >> 3);
    unsigned b = (unsigned)(w->pos & 7);
    uint64_t word = ((uint64_t)w->p[byte] << 56 & ~(~0ULL >> b)) | v << (64 - b - n);
    unsigned touched = (b + n + 7) >> 3;
    for (unsigned i = 0; i < touched; i++) w->p[byte + i] = (uint8_t)(word >> (56 - 8 * i));
    w->pos += n;
}

uint64_t bits_peek_slow(const bits_r *r)
{
    size_t byte = (size_t)(r->pos >> 3);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v <<= 8;
        if (byte < r->len) v |= r->p[byte];
        byte++;
    }
    return v << (r->pos & 7);
}

void bits_put_uvarint(bits_w *w, uint64_t v)
{
    /* gather up to 7 LEB128 bytes per put */
    uint64_t word = 0;
    unsigned nb = 0;
    for (;;) {
        unsigned c = (unsigned)(v & 0x7f);
        v >>= 7;
        if (v) c |= 0x80;
        word = word << 8 | c;
        if (++nb == 7 || !v) {
            bits_put(w, word, nb * 8);
            word = 0;
            nb = 0;
        }
        if (!v) return;
    }
}

void bits_put_varint(bits_w *w, int64_t v)
{
    bits_put_uvarint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int bits_get_uvarint(bits_r *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint64_t c = bits_get(r, 8);
        if (bits_r_overflow(r)) return CAIRN_ECORRUPT;
        if (i == 9 && c > 1) return CAIRN_ECORRUPT;
        x |= (c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *v = x;
            return CAIRN_OK;
        }
    }
    return CAIRN_ECORRUPT;
}

int bits_get_varint(bits_r *r, int64_t *v)
{
    uint64_t u;
    if (bits_get_uvarint(r, &u)) return CAIRN_ECORRUPT;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return CAIRN_OK;
}
