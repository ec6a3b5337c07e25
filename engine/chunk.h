/*
 * chunk — float chunks: a class table with a raw implementation (the test
 * oracle) and a Gorilla one (the default), both over the same interface.
 *
 * A chunk is a self-describing byte string: it carries its own sample count,
 * so a reader can decode a head chunk that is still being appended to (the
 * reader copies the bytes under the engine's lock). Appends must be in
 * strictly increasing timestamp order; the series store (series.c) owns every
 * policy (when to cut, out-of-order handling). Appenders own growable memory
 * from mem_; iterators only borrow the bytes they decode and never allocate.
 * Format: docs/format/gorilla.md.
 */
#ifndef CAIRN_CHUNK_H
#define CAIRN_CHUNK_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

enum { CHUNK_RAW = 0, CHUNK_GOR = 1 };

/* Appender. Zero-initialise (or chunk_w_init) before use. */
typedef struct chunk_w {
    uint8_t *data;     /* encoded bytes (class byte first), grown with mem_realloc */
    uint32_t len, cap; /* bytes used / allocated */
    uint32_t n;        /* samples */
    uint8_t cls;       /* CHUNK_RAW or CHUNK_GOR */
    uint8_t leading, trailing;
    uint8_t bit;       /* bits used in the last byte (Gorilla) */
    int64_t t0, t_prev, d_prev;
    uint64_t v_prev;   /* bits of the previous value */
} chunk_w;

void chunk_w_init(chunk_w *w, int cls);
/* Append one sample; t must be > the previous t. CAIRN_OK, CAIRN_ENOMEM (chunk unchanged), CAIRN_EINVAL (order). */
int chunk_w_append(chunk_w *w, int64_t t, double v);
/* The encoded bytes so far (valid until the next append or free). */
static inline const uint8_t *chunk_w_bytes(const chunk_w *w, size_t *len)
{
    *len = w->len;
    return w->data;
}
/* Give back unused capacity (call when sealing). */
void chunk_w_shrink(chunk_w *w);
void chunk_w_free(chunk_w *w);

/* Iterator over borrowed bytes. */
typedef struct chunk_it {
    const uint8_t *p;
    size_t len;
    uint64_t pos;      /* bit position (Gorilla) or byte offset (raw) */
    uint32_t n, i;
    uint8_t cls, leading, trailing;
    int64_t t, d;
    uint64_t v;
} chunk_it;

/* CAIRN_OK or CAIRN_ECORRUPT (unknown class, bad header). */
int chunk_it_init(chunk_it *it, const uint8_t *data, size_t len);
/* 1 with a sample, 0 at the end, CAIRN_ECORRUPT. Never reads out of bounds. */
int chunk_it_next(chunk_it *it, int64_t *t, double *v);
/* Sample count from the header, or CAIRN_ECORRUPT. */
int chunk_count(const uint8_t *data, size_t len);
#endif
