/*
 * bits — a bit writer and a bit reader, most significant bit first.
 *
 * This module owns nothing but bit positions: the writer fills caller memory
 * of a stated capacity, the reader walks borrowed bytes. It never allocates
 * and knows nothing of chunks or samples (gorilla.c and chunk_gor.c do).
 *
 * Bit order: bit 0 of a stream is the most significant bit of byte 0, as in
 * the Gorilla paper and Prometheus' bstream, so a hex dump reads left to
 * right. Unused bits of the last byte are zero.
 *
 * Both sides move 64-bit big-endian words: a put of up to 56 bits is one
 * unaligned load, a mask, an OR and one store; a get is one load and two
 * shifts. Near the end of the memory a byte-at-a-time path takes over, so
 * neither side ever touches a byte outside [p, p + cap).
 *
 * Overflow is sticky and checked when convenient, the way zstd's bitstream
 * does it: a writer that runs out of capacity sets `overflow` and drops the
 * bits; a reader that runs past its end reads zeros and bits_r_overflow()
 * turns true. A decoder checks once per record, not once per field, and
 * reports CAIRN_ECORRUPT; it never reads undefined memory.
 *
 * Not thread-safe; one writer or reader per object.
 */
#ifndef CAIRN_BITS_H
#define CAIRN_BITS_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn.h"

#if defined(__GNUC__)
#define BITS_LIKELY(x) __builtin_expect(!!(x), 1)
#define BITS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define BITS_LIKELY(x) (x)
#define BITS_UNLIKELY(x) (x)
#endif

static inline uint64_t bits_load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#elif !defined(__GNUC__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    const uint8_t *b = p;
    v = (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 | (uint64_t)b[3] << 32 |
        (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 | (uint64_t)b[6] << 8 | (uint64_t)b[7];
#endif
    return v;
}

static inline void bits_store_be64(uint8_t *p, uint64_t v)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
#elif defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
#endif
}

/* ---- writer ------------------------------------------------------------- */

typedef struct bits_w {
    uint8_t *p;      /* caller memory */
    size_t cap;      /* bytes writable at p */
    uint64_t pos;    /* bits written */
    int overflow;    /* a put did not fit; the stream is incomplete */
} bits_w;

/* Write into p[0..cap), starting at bit `pos` (bits before pos are kept). */
static inline void bits_w_init(bits_w *w, uint8_t *p, size_t cap, uint64_t pos)
{
    w->p = p;
    w->cap = cap;
    w->pos = pos;
    w->overflow = 0;
}

/* Bytes holding the bits written so far (the last one zero-padded). */
static inline size_t bits_w_bytes(const bits_w *w) { return (size_t)((w->pos + 7) >> 3); }

/* Slow path (near the end of the memory, or > 56 bits); in bits.c. */
void bits_put_slow(bits_w *w, uint64_t v, unsigned n);

/*
 * Append the low `n` bits of `v` (0 <= n <= 64; higher bits of v must be
 * zero). Bits of the partial last byte past pos are overwritten with zeros,
 * and so may be up to 7 bytes after it: memory past the stream is scratch.
 */
static inline void bits_put(bits_w *w, uint64_t v, unsigned n)
{
    size_t byte = (size_t)(w->pos >> 3);
    unsigned b = (unsigned)(w->pos & 7);
    if (BITS_LIKELY(n - 1 < 56 && byte + 8 <= w->cap)) {
        /* one byte, not a word: a word load overlapping the previous put's
         * store at another offset would miss store-to-load forwarding */
        uint64_t keep = (uint64_t)w->p[byte] << 56 & ~(~0ULL >> b);
        bits_store_be64(w->p + byte, keep | v << (64 - b - n));
        w->pos += n;
        return;
    }
    bits_put_slow(w, v, n);
}

/* ---- reader ------------------------------------------------------------- */

typedef struct bits_r {
    const uint8_t *p; /* borrowed */
    size_t len;       /* bytes readable at p */
    uint64_t pos;     /* next bit to read */
    uint64_t end;     /* bits in the stream: len * 8 unless narrowed */
} bits_r;

static inline void bits_r_init(bits_r *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->end = (uint64_t)len * 8;
}

/* True once a get or skip went past the end; what it returned was zeros. */
static inline int bits_r_overflow(const bits_r *r) { return r->pos > r->end; }
static inline uint64_t bits_r_left(const bits_r *r) { return r->pos >= r->end ? 0 : r->end - r->pos; }

/* Slow path of bits_peek near the end; in bits.c. */
uint64_t bits_peek_slow(const bits_r *r);

/*
 * The next bits, left-aligned in a 64-bit word, without consuming them. At
 * least 57 of them are valid (bits past the end read as zero); consume with
 * bits_skip().
 */
static inline uint64_t bits_peek(const bits_r *r)
{
    size_t byte = (size_t)(r->pos >> 3);
    if (BITS_LIKELY(byte + 8 <= r->len)) return bits_load_be64(r->p + byte) << (r->pos & 7);
    return bits_peek_slow(r);
}

static inline void bits_skip(bits_r *r, unsigned n) { r->pos += n; }

/* Read `n` bits (0 <= n <= 64) as an unsigned number. */
static inline uint64_t bits_get(bits_r *r, unsigned n)
{
    if (BITS_LIKELY(n <= 56)) {
        uint64_t v = bits_peek(r) >> (63 - n) >> 1;
        r->pos += n;
        return v;
    }
    uint64_t hi = bits_peek(r) >> (64 - (n - 32));
    r->pos += n - 32;
    uint64_t lo = bits_peek(r) >> 32;
    r->pos += 32;
    return hi << 32 | lo;
}

/* ---- varints inside a bit stream (any bit alignment) ---------------------- */

/* Unsigned LEB128, as in buf.h, written 8 bits at a time. */
void bits_put_uvarint(bits_w *w, uint64_t v);
/* Zig-zag signed varint. */
void bits_put_varint(bits_w *w, int64_t v);
/* 0 or CAIRN_ECORRUPT (past the end, or longer than 10 bytes / 64 bits). */
int bits_get_uvarint(bits_r *r, uint64_t *v);
int bits_get_varint(bits_r *r, int64_t *v);
#endif
