/*
 * buf — a growable byte buffer with bounded varint and little-endian put/get.
 *
 * Writers append to a buf (memory from mem_); readers walk a `rd` cursor over
 * borrowed bytes and never read past its end: every get returns CAIRN_OK or
 * CAIRN_ECORRUPT, so decoders of untrusted bytes stay simple and safe.
 */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
static inline void buf_reset(buf *b) { b->len = 0; }
/* Ensure room for `n` more bytes. CAIRN_OK or CAIRN_ENOMEM. */
int buf_reserve(buf *b, size_t n);
int buf_put(buf *b, const void *p, size_t n);
int buf_put_u8(buf *b, uint8_t v);
int buf_put_u32le(buf *b, uint32_t v);
int buf_put_u64le(buf *b, uint64_t v);
int buf_put_uvarint(buf *b, uint64_t v);
int buf_put_varint(buf *b, int64_t v); /* zig-zag */
/* uvarint length then bytes */
int buf_put_str(buf *b, const void *p, size_t n);

/* Encode into caller memory (>= 10 bytes); returns bytes written. */
size_t uvarint_put(uint8_t *dst, uint64_t v);

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static inline void rd_init(rd *r, const void *p, size_t n)
{
    r->p = (const uint8_t *)p;
    r->end = r->p + n;
}
static inline size_t rd_left(const rd *r) { return (size_t)(r->end - r->p); }
int rd_u8(rd *r, uint8_t *v);
int rd_u32le(rd *r, uint32_t *v);
int rd_u64le(rd *r, uint64_t *v);
int rd_uvarint(rd *r, uint64_t *v);
int rd_varint(rd *r, int64_t *v);
/* Borrow n bytes. */
int rd_bytes(rd *r, size_t n, const uint8_t **p);
/* uvarint length then bytes, borrowed. */
int rd_str(rd *r, const uint8_t **p, size_t *n);

static inline void le32_put(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v; d[1] = (uint8_t)(v >> 8); d[2] = (uint8_t)(v >> 16); d[3] = (uint8_t)(v >> 24);
}
static inline uint32_t le32_get(const uint8_t *s)
{
    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}
static inline void le64_put(uint8_t *d, uint64_t v) { le32_put(d, (uint32_t)v); le32_put(d + 4, (uint32_t)(v >> 32)); }
static inline uint64_t le64_get(const uint8_t *s) { return (uint64_t)le32_get(s) | (uint64_t)le32_get(s + 4) << 32; }
/* Big-endian, for LMDB keys that must sort numerically. */
static inline void be32_put(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)(v >> 24); d[1] = (uint8_t)(v >> 16); d[2] = (uint8_t)(v >> 8); d[3] = (uint8_t)v;
}
static inline uint32_t be32_get(const uint8_t *s)
{
    return (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | (uint32_t)s[3];
}
static inline void be64_put(uint8_t *d, uint64_t v) { be32_put(d, (uint32_t)(v >> 32)); be32_put(d + 4, (uint32_t)v); }
static inline uint64_t be64_get(const uint8_t *s) { return (uint64_t)be32_get(s) << 32 | be32_get(s + 4); }
/* Signed int64 as big-endian that sorts in numeric order (sign bit flipped). */
static inline void be64s_put(uint8_t *d, int64_t v) { be64_put(d, (uint64_t)v ^ (1ULL << 63)); }
static inline int64_t be64s_get(const uint8_t *s) { return (int64_t)(be64_get(s) ^ (1ULL << 63)); }
#endif
