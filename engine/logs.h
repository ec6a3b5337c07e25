/*
 * logs — the log store: per-stream head blocks, zstd-sealed column blocks,
 * chunks of blocks in LMDB, and iterators with a line-filter hook.
 *
 * An `lstream` is the in-memory state of one log stream (the engine keeps one
 * per stream it has seen since open, and owns locking: every call that mutates
 * an lstream runs under the engine's writer lock; snapshot calls run under its
 * reader lock). Entries arrive through lstream_append() in any order; the head
 * block accepts out-of-order entries (the engine rejects those older than the
 * window before appending) and sorts them when it is cut. Sealed blocks stay
 * in memory until the next checkpoint writes them to KV_LOGCHUNKS as one chunk
 * (blocks + a per-block index of time range and entry count). At a
 * checkpoint the raw head is also serialised to KV_HEADS (lstream_head_save) so
 * the WAL before the checkpoint can be deleted; open reloads it.
 * Formats: docs/format/logblock.md (block, chunk, head snapshot).
 */
#ifndef CAIRN_LOGS_H
#define CAIRN_LOGS_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"
#include "kv.h"
#include "logblock.h"

typedef struct logs_opts {
    uint32_t block_bytes;   /* cut the head at this much raw line data (0: default 256 KiB; capped at 32 MiB) */
    int zstd_level;         /* 0: default 1 (measured best on JSON logs, docs/benchmarks/logs.md) */
    /* Optional scratch shared by every stream, used under the writer lock; NULL makes a
     * temporary one per call (a zstd context allocation per cut: set them in an engine). */
    lblk_enc *enc;          /* compression context for lstream_cut */
    lblk_dctx *dctx;        /* decompression context for the duplicate check against sealed blocks */
} logs_opts;

/* LMDB key of a chunk in KV_LOGCHUNKS: id u32 BE, mint_ns i64 BE sign-flipped, seq u32 BE. */
#define LOGS_KEY_BYTES 16
void logs_chunk_key(uint8_t key[LOGS_KEY_BYTES], uint32_t id, int64_t mint_ns, uint32_t seq);

typedef struct lstream lstream;

int lstream_new(lstream **out);
void lstream_free(lstream *s);              /* NULL ok */
size_t lstream_mem_bytes(const lstream *s); /* memory held, for stats */
/* Newest timestamp seen in this stream (head or sealed or loaded), INT64_MIN if none. */
int64_t lstream_maxt(const lstream *s);
/* Time of the oldest entry still in the head, INT64_MAX if empty. */
int64_t lstream_head_mint(const lstream *s);
/* Number of entries in the head block. */
size_t lstream_head_count(const lstream *s);

/* Is (t_ns, line) already in memory (head or in-memory sealed blocks)? 1 yes, 0 no. */
int lstream_has(const lstream *s, int64_t t_ns, const char *line, size_t len);
/*
 * Append one entry (copied). `meta` is a canonical label encoding (labels.h)
 * of structured metadata, or NULL/0. Exact duplicates (same t and line) of an
 * entry in memory are dropped: returns 1 then, 0 when appended. Cuts the head
 * into a sealed block when it reaches block_bytes. CAIRN_ENOMEM leaves the stream unchanged.
 */
int lstream_append(lstream *s, int64_t t_ns, const char *line, size_t len, const uint8_t *meta, size_t meta_len,
                   const logs_opts *o, cairn_err *err);
/* Seal the head now (no-op when empty). */
int lstream_cut(lstream *s, const logs_opts *o, cairn_err *err);
/* Write the in-memory sealed blocks of stream `id` as one chunk into KV_LOGCHUNKS (no-op if none).
 * Memory is released only by lstream_flush_done() once the transaction has committed. */
int lstream_flush(lstream *s, kv_txn *t, uint32_t id, cairn_err *err);
void lstream_flush_done(lstream *s);
/* Number of sealed blocks held in memory (cut, not yet released by lstream_flush_done), and their bytes. */
size_t lstream_sealed_count(const lstream *s);
size_t lstream_sealed_bytes(const lstream *s);
/* Serialise the head (raw entries) to out / restore it (replacing the head). */
int lstream_head_save(const lstream *s, buf *out);
int lstream_head_load(lstream *s, const uint8_t *p, size_t len, cairn_err *err);

/* Delete chunks of stream `id` whose newest entry is older than cutoff_ns. */
int logs_retention(kv_txn *t, uint32_t id, int64_t cutoff_ns, uint64_t *n_deleted, cairn_err *err);

/* ---- reading ---- */

typedef struct lsnap lsnap; /* a copy of what a stream holds in memory */
/* Copy the in-memory entries of s overlapping [mint, maxt] (returns owned; lsnap_free). Under the reader lock. */
int lstream_snapshot(const lstream *s, int64_t mint, int64_t maxt, lsnap **out);
void lsnap_free(lsnap *n);

/* Line filter applied to each line of a decompressed block before it is returned. */
typedef struct logs_filter logs_filter; /* compiled cairn_line_filter list + callback */
int logs_filter_new(const cairn_line_filter *f, size_t n, cairn_line_filter_fn fn, void *ctx, logs_filter **out,
                    cairn_err *err);
void logs_filter_free(logs_filter *f);

typedef struct logs_it logs_it;
/*
 * Iterate entries of stream `id` in [mint, maxt]: chunks from the read
 * transaction `t` (borrowed; must outlive the iterator) merged with `snap`
 * (taken, may be NULL), in timestamp order (forward) or reverse (backward);
 * equal timestamps keep arrival order (reversed when backward). Only blocks
 * whose time range overlaps [mint, maxt] are decompressed; each decompression
 * increments *blocks_counter (may be NULL) — the stats hook.
 */
int logs_it_open(kv_txn *t, uint32_t id, lsnap *snap, int64_t mint, int64_t maxt, int backward,
                 const logs_filter *f, uint64_t *blocks_counter, logs_it **out, cairn_err *err);
/* 1 with an entry (views valid until the next call), 0 at end, negative on error. */
int logs_it_next(logs_it *it, int64_t *t_ns, const char **line, size_t *len, const uint8_t **meta,
                 size_t *meta_len);
void logs_it_close(logs_it *it);
/* What made logs_it_next() return a negative code (message names the stream and block). */
const cairn_err *logs_it_error(const logs_it *it);
#endif
