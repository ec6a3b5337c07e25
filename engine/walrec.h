/*
 * walrec — the payload of a WAL commit record: one record per committed batch,
 * so a batch is replayed whole or not at all.
 *
 * Layout (docs/format/wal.md, "commit record"):
 *   uvarint n_series   { uvarint id, u8 kind, uvarint len, canonical labels }   series new in this commit
 *   uvarint n_samples  { uvarint id, varint t_ms, u64 LE value bits }
 *   uvarint n_entries  { uvarint id, varint t_ns, uvarint len, line, uvarint len, metadata }
 */
#ifndef CAIRN_WALREC_H
#define CAIRN_WALREC_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

enum { WALREC_COMMIT = 1 };

typedef struct walrec_fns {
    int (*series)(void *ctx, uint32_t id, int kind, const uint8_t *canon, size_t len);
    int (*sample)(void *ctx, uint32_t id, int64_t t_ms, double v);
    int (*entry)(void *ctx, uint32_t id, int64_t t_ns, const uint8_t *line, size_t len, const uint8_t *meta,
                 size_t meta_len);
} walrec_fns;

/*
 * Decode a commit record. The whole payload is validated before the first
 * callback runs (a malformed record calls nothing and returns CAIRN_ECORRUPT);
 * a callback's nonzero return stops decoding and is returned. fns may be NULL
 * to validate only.
 */
int walrec_decode(const uint8_t *p, size_t n, const walrec_fns *fns, void *ctx, cairn_err *err);

/* Encoding helpers: the engine writes counts then items in this order. */
int walrec_put_series(buf *b, uint32_t id, int kind, const uint8_t *canon, size_t len);
int walrec_put_sample(buf *b, uint32_t id, int64_t t_ms, double v);
int walrec_put_entry(buf *b, uint32_t id, int64_t t_ns, const void *line, size_t len, const uint8_t *meta,
                     size_t meta_len);
#endif
