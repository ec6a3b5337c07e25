/*
 * gorilla — the Gorilla sample codec (Pelkonen et al., VLDB 2015, §4.1):
 * delta-of-delta timestamps and XOR-compressed float64 values, in
 * Prometheus' bucket layout. Format: docs/format/gorilla.md.
 *
 * This module codes one sample at a time into a bits_w / out of a bits_r. It
 * owns no memory and no chunk policy: the caller reserves room for
 * GOR_MAX_SAMPLE_BITS before each put, keeps the sample count, and orders
 * timestamps (chunk.c). Encoder and decoder share one state struct, so a
 * decoder that has read n samples holds exactly the state an encoder had
 * after writing them (chunk_w_load relies on this).
 *
 * Timestamps are arbitrary int64; deltas and deltas-of-deltas are computed
 * in uint64 (wrapping) arithmetic, so INT64_MIN followed by INT64_MAX
 * round-trips. Values are coded as their 64-bit pattern: every NaN payload,
 * -0.0, infinities and denormals come back bit for bit.
 */
#ifndef CAIRN_GORILLA_H
#define CAIRN_GORILLA_H
#include <stdint.h>

#include "bits.h"
#include "cairn.h"

/* Upper bound of one coded sample: a 10-byte varint (first two samples) or
 * 4 + 64 bits of delta-of-delta, plus 2 + 5 + 6 + 64 bits of value. */
#define GOR_MAX_SAMPLE_BITS (80 + 77)
/* `leading` before the first XOR window exists. */
#define GOR_NO_WINDOW 0xff

typedef struct gor_state {
    int64_t t;        /* previous timestamp */
    uint64_t d;       /* previous delta, t - t_before (wrapping) */
    uint64_t v;       /* previous value, as bits */
    uint32_t n;       /* samples coded so far */
    uint8_t leading;  /* current XOR window: leading zeros (<= 31) ... */
    uint8_t trailing; /* ... and trailing zeros; GOR_NO_WINDOW before the first */
} gor_state;

void gor_init(gor_state *s);

/* Append sample (t, v bits). The caller has checked t > s->t (if s->n > 0)
 * and made room for GOR_MAX_SAMPLE_BITS at w->pos. */
void gor_put(gor_state *s, bits_w *w, int64_t t, uint64_t v);

/* Decode the next sample. CAIRN_OK, or CAIRN_ECORRUPT (ran past the end,
 * timestamp not increasing, bad XOR window). On error *s is unspecified. */
int gor_get(gor_state *s, bits_r *r, int64_t *t, uint64_t *v);
/* Decode up to `max` samples into t[] and v[] (bit patterns kept exactly);
 * *got says how many are good.
 * CAIRN_OK (then *got == max) or CAIRN_ECORRUPT (at sample *got). The caller
 * passes at most the samples the stream holds. */
int gor_get_n(gor_state *s, bits_r *r, int64_t *t, double *v, uint32_t max, uint32_t *got);
#endif
