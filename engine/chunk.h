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
 *
 * Encoded chunk: 1 class byte, u16 big-endian sample count, class payload.
 * The count is written after the sample's bytes, so any copy taken between
 * two appends decodes to exactly the samples appended before it.
 *
 * Threads: a chunk_w has one owner; concurrent readers must copy (or lock)
 * the bytes. Iterators are independent of each other.
 */
#ifndef CAIRN_CHUNK_H
#define CAIRN_CHUNK_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"
#include "gorilla.h"

enum { CHUNK_RAW = 0, CHUNK_GOR = 1, CHUNK_N_CLASSES = 2 };
/* Bytes before the class payload: class, count (u16 BE). */
#define CHUNK_HDR_BYTES 3
/* The count is a u16; the series store cuts far earlier (120 samples). */
#define CHUNK_MAX_SAMPLES 65535
/* Appender memory grows in steps of this many bytes (a head chunk per series
 * lives in RAM: small steps keep the slack small). */
#define CHUNK_GROW_BYTES 32

/* Appender. Zero-initialise (== CHUNK_RAW, empty) or chunk_w_init before use. */
typedef struct chunk_w {
    uint8_t *data;     /* encoded bytes (class byte first), grown with mem_realloc; NULL when empty */
    uint32_t len, cap; /* bytes used / allocated */
    uint32_t nbits;    /* Gorilla: bits of payload written */
    uint8_t cls;       /* CHUNK_RAW or CHUNK_GOR */
    gor_state st;      /* st.n = samples; st.t = last timestamp (both classes) */
} chunk_w;

/* Start an empty chunk of class `cls` (CHUNK_RAW or CHUNK_GOR; others are a bug).
 * Allocates nothing; the first append does. */
void chunk_w_init(chunk_w *w, int cls);
/*
 * Append one sample; t must be > the previous t. All or nothing: on any
 * error the chunk is exactly as before.
 * @return CAIRN_OK, CAIRN_ENOMEM, CAIRN_EINVAL (t not after the previous t),
 *         CAIRN_ELIMIT (chunk holds CHUNK_MAX_SAMPLES: cut it).
 */
int chunk_w_append(chunk_w *w, int64_t t, double v);
/* The encoded bytes so far (valid until the next append or free). An empty,
 * never-appended chunk has no bytes (len 0, NULL). */
static inline const uint8_t *chunk_w_bytes(const chunk_w *w, size_t *len)
{
    *len = w->len;
    return w->data;
}
/* Samples appended so far. */
static inline uint32_t chunk_w_count(const chunk_w *w) { return w->st.n; }
/* Bytes of memory the appender holds (struct excluded): for memory budgets. */
static inline size_t chunk_w_mem(const chunk_w *w) { return w->cap; }
/* Give back unused capacity (call when sealing). Appending afterwards works. */
void chunk_w_shrink(chunk_w *w);
/* Free the bytes; the chunk is then empty and can be re-initialised. */
void chunk_w_free(chunk_w *w);
/*
 * Reopen an encoded chunk for appending (e.g. a head chunk restored from
 * disk): copies `data` (borrowed) and decodes it once to recover the state.
 * *w must be empty (fresh or freed). On error *w stays empty.
 * @return CAIRN_OK, CAIRN_ECORRUPT (message in err), CAIRN_ENOMEM.
 */
int chunk_w_load(chunk_w *w, const uint8_t *data, size_t len, cairn_err *err);

/* Iterator over borrowed bytes (the bytes must outlive it). */
typedef struct chunk_it {
    bits_r r;          /* Gorilla: the payload; raw: r.p/r.len, r.pos = byte offset */
    gor_state st;      /* decoder state; st.n = samples returned */
    uint32_t n;        /* samples in the chunk */
    uint8_t cls;
} chunk_it;

/* CAIRN_OK or CAIRN_ECORRUPT (unknown class, bad header). */
int chunk_it_init(chunk_it *it, const uint8_t *data, size_t len);
/* 1 with a sample, 0 at the end, CAIRN_ECORRUPT. Never reads out of bounds.
 * After an error every later call returns CAIRN_ECORRUPT again. */
int chunk_it_next(chunk_it *it, int64_t *t, double *v);
/* Up to `cap` samples into t[] and v[]: the fast path for scans (the
 * iterator state stays in registers for the whole batch). Returns the count
 * (> 0), 0 at the end, or CAIRN_ECORRUPT; good samples before a corrupt one
 * are returned first and the next call reports the error. */
int chunk_it_next_n(chunk_it *it, int64_t *t, double *v, size_t cap);
/* Skip to the first sample with t >= t_min and return it like chunk_it_next. */
int chunk_it_seek(chunk_it *it, int64_t t_min, int64_t *t, double *v);
/* Sample count from the header, or CAIRN_ECORRUPT. */
int chunk_count(const uint8_t *data, size_t len);
/*
 * Decode a whole chunk and report the first problem with a message naming
 * the sample index and byte offset. Also rejects a chunk whose bytes run past
 * its last sample (more than padding). Use on chunks read from disk.
 * @return CAIRN_OK or CAIRN_ECORRUPT.
 */
int chunk_verify(const uint8_t *data, size_t len, cairn_err *err);

/* ---- the class table (chunk_raw.c, chunk_gor.c) --------------------------- */

/*
 * One implementation of the interface above. chunk.c checks the arguments
 * and the order, and writes the header count; a class only codes samples.
 */
typedef struct chunk_class {
    const char *name;
    /* Append (t, v bits) after the header; the class grows w->data itself.
     * CAIRN_OK or CAIRN_ENOMEM (nothing changed). Leaves the count to chunk.c. */
    int (*append)(chunk_w *w, int64_t t, uint64_t v);
    /* Position `it` at the first sample (header already parsed into it->n, it->r). */
    int (*it_init)(chunk_it *it);
    /* Next sample; only called while it->st.n < it->n. CAIRN_OK or CAIRN_ECORRUPT. */
    int (*it_next)(chunk_it *it, int64_t *t, uint64_t *v);
    /* Up to max (<= samples left) samples; *got good ones. CAIRN_OK or CAIRN_ECORRUPT. */
    int (*it_next_n)(chunk_it *it, int64_t *t, double *v, uint32_t max, uint32_t *got);
    /* Bytes the payload of a valid chunk of n samples ends at (after decoding
     * all of them), for chunk_verify. */
    size_t (*it_end)(const chunk_it *it);
} chunk_class;

extern const chunk_class chunk_raw_class, chunk_gor_class;
/* The class for a class byte, or NULL. */
const chunk_class *chunk_class_of(int cls);

/* Shared by the classes: make room for `need` more bytes after w->len,
 * growing by CHUNK_GROW_BYTES steps. CAIRN_OK or CAIRN_ENOMEM (unchanged). */
int chunk_w_reserve(chunk_w *w, size_t need);
#endif
