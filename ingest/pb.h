/*
 * pb — a bounded protobuf (proto3 wire format) field reader over borrowed
 * bytes, for the schemas decoded by hand (Loki push, OTLP). It allocates
 * nothing and never reads past the end it was given; every malformed input is
 * CAIRN_ECORRUPT. Semantics follow api-contract C.0: unknown fields of any
 * wire type are skipped by the caller simply not looking at them, repeated
 * scalars may be packed or not (pb_packed_next), and a field that occurs more
 * than once is seen each time (last wins / messages merge is up to the caller).
 */
#ifndef CAIRN_PB_H
#define CAIRN_PB_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct pb_field {
    uint32_t num; /* field number, >= 1 */
    int wt;       /* PB_VARINT, PB_I64, PB_LEN, PB_I32 */
    uint64_t v;   /* value for VARINT/I64/I32 */
    const uint8_t *p; /* bytes for LEN */
    size_t n;
} pb_field;

/* Read the next field. @return 1 with a field, 0 at the end, CAIRN_ECORRUPT
 * (bad key, wire type 3/4/6/7, truncated value). */
int pb_next(rd *r, pb_field *f);

/*
 * Iterate a repeated scalar field `f` of element wire type `elem_wt`
 * (PB_VARINT, PB_I64, PB_I32) given either unpacked (f->wt == elem_wt: one
 * element) or packed (f->wt == PB_LEN). Initialise `it` with pb_packed_init.
 * @return 1 with *v, 0 at the end, CAIRN_ECORRUPT (wrong wire type, truncated).
 */
typedef struct pb_packed {
    rd r;
    int elem_wt, single, done;
    uint64_t v;
} pb_packed;
int pb_packed_init(pb_packed *it, const pb_field *f, int elem_wt);
int pb_packed_next(pb_packed *it, uint64_t *v);

/* Writers, for tests and fuzz round trips (append to a buf). */
int pb_put_key(buf *b, uint32_t num, int wt);
int pb_put_varint(buf *b, uint32_t num, uint64_t v);
int pb_put_fixed64(buf *b, uint32_t num, uint64_t v);
int pb_put_double(buf *b, uint32_t num, double v);
int pb_put_bytes(buf *b, uint32_t num, const void *p, size_t n);
/* Nested message: pb_begin reserves a 5-byte length, pb_end patches it
 * (non-minimal varint, which decoders must accept). Returns the mark. */
size_t pb_begin(buf *b, uint32_t num);
void pb_end(buf *b, size_t mark);
#endif
