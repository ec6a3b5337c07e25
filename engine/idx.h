/*
 * idx — the label index on top of kv: series records, hash look-up with
 * collision check, postings, matcher resolution, label names and values.
 *
 * Series ids are dense u32 assigned by the caller (the engine, under its
 * writer lock). A series record holds (kind, mint, maxt, canonical labels);
 * postings map (kind, name, value) to ids, plus an "all series of kind"
 * posting. Kinds never mix: every look-up takes a kind.
 * Time bounds are applied through a caller filter `keep(id)` so that the
 * engine's in-memory min/max times (newer than what is persisted) decide.
 * idx holds no state besides the kv handle: every call takes a transaction.
 */
#ifndef CAIRN_IDX_H
#define CAIRN_IDX_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"
#include "kv.h"
#include "match.h"

/* A sorted, unique array of series ids, owned (idx_ids_free). */
typedef struct idx_ids {
    uint32_t *v;
    size_t n, cap;
} idx_ids;
void idx_ids_free(idx_ids *ids);

typedef int (*idx_keep_fn)(void *ctx, uint32_t id);

/* Persist a new series: record, hash entry, postings. Caller guarantees id is new. */
int idx_add_series(kv_txn *t, uint32_t id, int kind, const uint8_t *canon, size_t len, uint64_t hash,
                   cairn_err *err);
/* Find the id of canon by `hash` (a parameter, so tests can force collisions) and byte compare.
 * CAIRN_OK, CAIRN_NOTFOUND. */
int idx_find(kv_txn *t, uint64_t hash, int kind, const uint8_t *canon, size_t len, uint32_t *id);
/* Update the persisted time range of a series (widening only). */
int idx_set_range(kv_txn *t, uint32_t id, int64_t mint, int64_t maxt, cairn_err *err);
/* Read a series record; pointers borrowed until the txn ends. CAIRN_OK / CAIRN_NOTFOUND / CAIRN_ECORRUPT. */
int idx_get_series(kv_txn *t, uint32_t id, int *kind, int64_t *mint, int64_t *maxt, const uint8_t **canon,
                   size_t *len);
/* Call fn for every series in id order; stops on a nonzero return, which it returns. */
int idx_scan_series(kv_txn *t, int (*fn)(void *ctx, uint32_t id, int kind, int64_t mint, int64_t maxt,
                                         const uint8_t *canon, size_t len),
                    void *ctx);
/* Resolve matchers (AND) to ids of `kind` accepted by keep (NULL: all). n == 0 selects every series
 * of the kind. Prometheus semantics for empty matches. */
int idx_select(kv_txn *t, int kind, const match *m, size_t n, idx_keep_fn keep, void *kctx, idx_ids *out,
               cairn_err *err);
/* Sorted unique label names of the series in `ids` (NULL: every series of kind that keep accepts). */
int idx_label_names(kv_txn *t, int kind, const idx_ids *ids, idx_keep_fn keep, void *kctx,
                    int (*emit)(void *ctx, const char *s, size_t n), void *ectx, cairn_err *err);
/* Sorted unique values of `name` over `ids` (NULL: every series of kind that keep accepts). */
int idx_label_values(kv_txn *t, int kind, const char *name, size_t name_len, const idx_ids *ids,
                     idx_keep_fn keep, void *kctx, int (*emit)(void *ctx, const char *s, size_t n), void *ectx,
                     cairn_err *err);
#endif
