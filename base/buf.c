/*
 * buf.c — growable buffers and bounded readers.
 *
 * Growth doubles the capacity (minimum 64 bytes) so appends are amortised
 * O(1). Varints are the protobuf/LEB128 form: 7 bits per byte, low bits
 * first, at most 10 bytes for 64 bits; a reader rejects an 11th byte and a
 * 10th byte above 1 as corrupt instead of silently wrapping.
 */
#include "buf.h"

#include <string.h>

#include "cairn.h"
#include "mem.h"

void buf_init(buf *b) { b->p = NULL, b->len = b->cap = 0; }

void buf_free(buf *b)
{
    mem_free(b->p, b->cap);
    buf_init(b);
}

int buf_reserve(buf *b, size_t n)
{
    if (b->cap - b->len >= n) return CAIRN_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) return CAIRN_ENOMEM;
        cap *= 2;
    }
    uint8_t *p = mem_realloc(b->p, b->cap, cap);
    if (!p) return CAIRN_ENOMEM;
    b->p = p;
    b->cap = cap;
    return CAIRN_OK;
}

int buf_put(buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n)) return CAIRN_ENOMEM;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return CAIRN_OK;
}

int buf_put_u8(buf *b, uint8_t v) { return buf_put(b, &v, 1); }

int buf_put_u32le(buf *b, uint32_t v)
{
    uint8_t t[4];
    le32_put(t, v);
    return buf_put(b, t, 4);
}

int buf_put_u64le(buf *b, uint64_t v)
{
    uint8_t t[8];
    le64_put(t, v);
    return buf_put(b, t, 8);
}

size_t uvarint_put(uint8_t *dst, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        dst[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[i++] = (uint8_t)v;
    return i;
}

int buf_put_uvarint(buf *b, uint64_t v)
{
    if (buf_reserve(b, 10)) return CAIRN_ENOMEM;
    b->len += uvarint_put(b->p + b->len, v);
    return CAIRN_OK;
}

int buf_put_varint(buf *b, int64_t v)
{
    return buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int buf_put_str(buf *b, const void *p, size_t n)
{
    if (buf_put_uvarint(b, n)) return CAIRN_ENOMEM;
    return buf_put(b, p, n);
}

int rd_u8(rd *r, uint8_t *v)
{
    if (r->p >= r->end) return CAIRN_ECORRUPT;
    *v = *r->p++;
    return CAIRN_OK;
}

int rd_u32le(rd *r, uint32_t *v)
{
    if (rd_left(r) < 4) return CAIRN_ECORRUPT;
    *v = le32_get(r->p);
    r->p += 4;
    return CAIRN_OK;
}

int rd_u64le(rd *r, uint64_t *v)
{
    if (rd_left(r) < 8) return CAIRN_ECORRUPT;
    *v = le64_get(r->p);
    r->p += 8;
    return CAIRN_OK;
}

int rd_uvarint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0, i = 0; i < 10; i++, shift += 7) {
        if (r->p >= r->end) return CAIRN_ECORRUPT;
        uint8_t c = *r->p++;
        if (i == 9 && c > 1) return CAIRN_ECORRUPT;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (c < 0x80) {
            *v = x;
            return CAIRN_OK;
        }
    }
    return CAIRN_ECORRUPT;
}

int rd_varint(rd *r, int64_t *v)
{
    uint64_t u;
    if (rd_uvarint(r, &u)) return CAIRN_ECORRUPT;
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return CAIRN_OK;
}

int rd_bytes(rd *r, size_t n, const uint8_t **p)
{
    if (rd_left(r) < n) return CAIRN_ECORRUPT;
    *p = r->p;
    r->p += n;
    return CAIRN_OK;
}

int rd_str(rd *r, const uint8_t **p, size_t *n)
{
    uint64_t len;
    if (rd_uvarint(r, &len) || len > rd_left(r)) return CAIRN_ECORRUPT;
    *n = (size_t)len;
    return rd_bytes(r, *n, p);
}
