/*
 * postings — lists of series ids: sorted-array algebra and their storage.
 *
 * A postings list is a sorted array of unique u32 series ids. The algebra
 * (intersect, union, subtract, sort_unique) writes into caller memory and
 * never allocates; postings_list is the growable owner used to collect ids.
 *
 * Storage goes through postings_store, one small interface with the LMDB
 * implementation here (postings_lmdb: one dup-sorted DBI, each id a 4-byte
 * big-endian dup). bench/bench_postings.c implements the same interface with
 * CRoaring bitmaps to compare; docs/index.md says why LMDB dups won.
 * The store holds no state: every call takes the transaction.
 */
#ifndef CAIRN_POSTINGS_H
#define CAIRN_POSTINGS_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"
#include "kv.h"

typedef struct postings_list {
    uint32_t *v;
    size_t n, cap;
} postings_list;

void postings_list_init(postings_list *l);
void postings_list_free(postings_list *l);
/* Room for `more` ids after n. CAIRN_OK or CAIRN_ENOMEM. */
int postings_list_reserve(postings_list *l, size_t more);

/* out[] receives a ∩ b (cap min(na, nb)); out may alias a. Returns its length. */
size_t postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out);
/* out[] receives a ∪ b (cap na + nb); out must not alias a or b. */
size_t postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out);
/* out[] receives a \ b (cap na); out may alias a. */
size_t postings_subtract(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out);
/* Sort v and drop duplicates (LSD radix sort through tmp[n]); returns the new length. */
size_t postings_sort_unique(uint32_t *v, size_t n, uint32_t *tmp);

/* Called with consecutive chunks of a posting's ids in ascending order; nonzero stops. */
typedef int (*postings_chunk_fn)(void *ctx, const uint32_t *ids, size_t n);

typedef struct postings_store {
    const char *name;
    /* Add id to the posting of key (ids usually arrive in ascending order). */
    int (*add)(kv_txn *t, int dbi, const uint8_t *key, size_t kn, uint32_t id, cairn_err *err);
    /* Append the ids of key to out (ascending). CAIRN_OK, CAIRN_NOTFOUND, CAIRN_ENOMEM. */
    int (*read)(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_list *out);
    /* Stream the ids of key; returns fn's nonzero result, CAIRN_OK, or CAIRN_NOTFOUND. */
    int (*each)(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_chunk_fn fn, void *ctx);
} postings_store;

extern const postings_store postings_lmdb;

/* Read the dups under a cursor already positioned on a key (for scans over many keys). */
int postings_lmdb_read_cur(kv_cur *c, postings_list *out);
int postings_lmdb_each_cur(kv_cur *c, postings_chunk_fn fn, void *ctx);
#endif
