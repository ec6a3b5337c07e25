/*
 * kv — the only module that includes lmdb.h.
 *
 * One LMDB environment per data directory (file `index.mdb` plus its lock
 * file), opened with MDB_NOSUBDIR|MDB_NOTLS|MDB_NOMETASYNC: read transactions
 * are not tied to threads (an iterator may outlive the call that opened it),
 * and a write commit fsyncs data pages but not the meta page — a system crash
 * may undo the last LMDB commit, which the WAL replays. The named databases
 * (DBIs) are fixed at open; their key layouts are in docs/format/lmdb.md.
 *
 * One write transaction at a time (the engine's writer lock serialises them);
 * any number of read transactions. Values returned by get/cursor calls point
 * into the map and stay valid until the transaction ends.
 */
#ifndef CAIRN_KV_H
#define CAIRN_KV_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

/* Named databases. Flags per DBI are set in kv.c's table. */
enum kv_dbi {
    KV_META = 0,     /* string keys -> engine metadata (checkpoint WAL position, next id, format version) */
    KV_SERIES,       /* id (u32 BE) -> series record (kind, mint, maxt, canonical labels) */
    KV_HASH,         /* XXH3 (u64 BE) -> ids (dup-sorted u32 BE): collision candidates */
    KV_POSTINGS,     /* kind(1) name 0x00 value -> postings of ids (layout owned by idx.c) */
    KV_CHUNKS,       /* id (u32 BE), mint (i64 BE, sign-flipped), seq (u32 BE) -> metric chunk */
    KV_LOGCHUNKS,    /* id (u32 BE), mint_ns (i64 BE, sign-flipped), seq (u32 BE) -> log chunk */
    KV_HEADS,        /* kind(1) id (u32 BE) -> head snapshot written by the last checkpoint */
    KV_N_DBI
};

/* kv_put flags. KV_APPEND on a dup-sorted DBI appends a dup (MDB_APPENDDUP); if the
 * item is not in order after all, kv_put falls back to an ordinary insert. */
enum { KV_APPEND = 1, KV_NODUPDATA = 2, KV_NOOVERWRITE = 4 };

typedef struct kv kv;
typedef struct kv_txn kv_txn;
typedef struct kv_cur kv_cur;

/* Open or create `dir_z`/index.mdb. map_size is address space, not RAM. */
int kv_open(const char *dir_z, uint64_t map_size, kv **out, cairn_err *err);
void kv_close(kv *k);
/* Flush everything to disk (used by checkpoint before WAL segments are deleted). */
int kv_sync(kv *k, cairn_err *err);
/* Bytes used by the data file (pages in use x page size). */
uint64_t kv_used_bytes(kv *k);
/* The map size in effect (an existing file may have raised it). */
uint64_t kv_map_size(kv *k);
/* Test hook: LMDB reports a short write (a full file system) as EIO, so kv asks the file
 * system: under this many free bytes (default 1 MiB) such an EIO is CAIRN_ENOSPC. */
void kv_test_fs_low(kv *k, uint64_t bytes);

int kv_begin(kv *k, int write, kv_txn **out, cairn_err *err);
int kv_commit(kv_txn *t, cairn_err *err); /* frees t in every case */
void kv_abort(kv_txn *t);                  /* kv_abort(NULL) does nothing */

/* CAIRN_OK, CAIRN_NOTFOUND; *v borrowed until the txn ends. */
int kv_get(kv_txn *t, int dbi, const void *k, size_t kn, const void **v, size_t *vn);
/* CAIRN_OK, CAIRN_NOTFOUND with KV_NOOVERWRITE/KV_NODUPDATA when present, CAIRN_EIO, CAIRN_ENOSPC (map or disk full). */
int kv_put(kv_txn *t, int dbi, const void *k, size_t kn, const void *v, size_t vn, unsigned flags, cairn_err *err);
/* Reserve vn bytes for key k and return where to write them (no copy). */
int kv_reserve(kv_txn *t, int dbi, const void *k, size_t kn, size_t vn, void **v, cairn_err *err);
/* Delete key k (v NULL: all its values; else the one dup value). CAIRN_OK or CAIRN_NOTFOUND. */
int kv_del(kv_txn *t, int dbi, const void *k, size_t kn, const void *v, size_t vn);

int kv_cur_open(kv_txn *t, int dbi, kv_cur **out);
void kv_cur_close(kv_cur *c);
/* Position at the first key >= k (k NULL: first key). CAIRN_OK or CAIRN_NOTFOUND. */
int kv_cur_seek(kv_cur *c, const void *k, size_t kn, const void **ko, size_t *kon, const void **v, size_t *vn);
/* Position at the last key (CAIRN_OK or CAIRN_NOTFOUND). */
int kv_cur_last(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn);
/* Next/previous item (next visits every dup of a key in turn). */
int kv_cur_next(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn);
int kv_cur_prev(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn);
/* Next dup of the current key only; CAIRN_NOTFOUND at the last dup. */
int kv_cur_next_dup(kv_cur *c, const void **v, size_t *vn);
/* Delete the item under the cursor. */
int kv_cur_del(kv_cur *c);

/* Additions for dup-sorted DBIs (KV_HASH, KV_POSTINGS); CAIRN_OK or CAIRN_NOTFOUND. */
/* Position at key k exactly (its first dup). */
int kv_cur_seek_exact(kv_cur *c, const void *k, size_t kn, const void **v, size_t *vn);
/* Next key, skipping the remaining dups of the current one. */
int kv_cur_next_key(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn);
/* Position at key k and its first dup >= v. */
int kv_cur_seek_dup(kv_cur *c, const void *k, size_t kn, const void *v, size_t vn, const void **vo,
                    size_t *von);
/* Fixed-size dups a page at a time: first = 1 reads from the current dup's page start
 * (after kv_cur_seek_exact), first = 0 the next page. *vn is a multiple of the item size. */
int kv_cur_multiple(kv_cur *c, int first, const void **v, size_t *vn);
/* Number of dups of the current key. */
int kv_cur_count(kv_cur *c, size_t *n);
#endif
