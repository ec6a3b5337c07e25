/*
 * lblk — the log block codec: the head block of raw entries, the column
 * layout, zstd seal and open, the bulk substring scan behind line filters,
 * and the chunk (several sealed blocks + an index of their time ranges).
 *
 * Owns: zstd (the only includer of zstd.h); every byte layout of a log block
 * and of a log chunk value (docs/format/logblock.md). Never touches LMDB,
 * streams or regexes: logs.c composes these pieces. Holds no locks; every
 * object here is used by one thread at a time (the head and the encoder under
 * the engine's writer lock, a decoder inside one iterator).
 *
 * Untrusted bytes (a block or chunk read from disk, a fuzz input) are checked
 * before use: every length is bounded, a block's raw size by LBLK_MAX_RAW and
 * its entry count by LBLK_MAX_COUNT, so a corrupt value yields CAIRN_ECORRUPT
 * and never a crash or an allocation larger than those caps.
 */
#ifndef CAIRN_LOGBLOCK_H
#define CAIRN_LOGBLOCK_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

#define LBLK_VERSION 1
#define LBLK_HDR_BYTES 36           /* fixed block header, outside the compressed payload */
#define LBLK_MAX_RAW (64u << 20)    /* decoded payload cap (bytes) */
#define LBLK_MAX_COUNT (1u << 20)   /* entries per block cap; the head cuts before it */
#define LBLK_ENT_OVERHEAD 20        /* worst-case column bytes per entry: ts 10 + len 5 + meta len 5 */
#define LBLK_STORED (-1000000)      /* "level" that stores the payload uncompressed (head snapshots) */
#define LBLK_CHUNK_VERSION 1
#define LBLK_CHUNK_HDR_BYTES 28     /* max_t, min_t, version, reserved, n_blocks, crc */
#define LBLK_CHUNK_IDX_BYTES 28     /* per block: min_t, max_t, count, offset, length */
#define LBLK_CHUNK_MAX_BLOCKS (1u << 20)

enum { LBLK_F_META = 1, LBLK_F_STORED = 2 };

/* ---- block header ---------------------------------------------------------- */

typedef struct lblk_hdr {
    uint8_t version, flags;
    int64_t mint, maxt;   /* timestamps of the first and last entry (ns) */
    uint32_t count;       /* entries, 1..LBLK_MAX_COUNT */
    uint32_t raw_size;    /* decoded payload bytes, <= LBLK_MAX_RAW */
    uint32_t comp_size;   /* payload bytes after the header */
    uint32_t crc;         /* CRC32C of header bytes [0,32) then the payload */
} lblk_hdr;

/* Parse and bound-check the header of the block in p[0..len) (len may exceed
 * the block; the block's extent is LBLK_HDR_BYTES + comp_size). Does not check
 * the CRC. CAIRN_OK or CAIRN_ECORRUPT with what is wrong. */
int lblk_hdr_read(const uint8_t *p, size_t len, lblk_hdr *h, cairn_err *err);

/* ---- head block: raw entries in memory -------------------------------------- */

/* One raw entry; `off`/`moff` index the head's lines/meta buffers (arrival order). */
typedef struct lblk_ent {
    int64_t t;
    uint32_t off, len, moff, mlen;
} lblk_ent;

/*
 * Entries kept sorted by (t, arrival): an in-order append is a push, an
 * out-of-order one a binary search and a memmove. Line and metadata bytes are
 * appended to two buffers in arrival order. Every buffer starts empty and
 * grows geometrically, so an idle stream holds almost nothing.
 */
typedef struct lblk_head {
    lblk_ent *e;
    uint32_t n, cap;
    uint32_t hint; /* expected line bytes per block (the cut size): growth stops near it; 0 = none */
    buf lines, meta;
} lblk_head;

void lblk_head_init(lblk_head *h);
void lblk_head_free(lblk_head *h);
/* Empty the head, keeping its buffers for the next block. */
void lblk_head_reset(lblk_head *h);
/* Release the buffers of an empty head (idle streams); no-op otherwise. */
void lblk_head_trim(lblk_head *h);
size_t lblk_head_mem(const lblk_head *h);
/* Upper bound of the payload bytes sealing the head would produce. */
size_t lblk_head_raw_bound(const lblk_head *h);
/* 1 if an entry with timestamp t and exactly these line bytes is in the head. */
int lblk_head_has(const lblk_head *h, int64_t t, const void *line, size_t len);
/*
 * Copy one entry in, at its sorted place after any equal timestamps. Does not
 * check for duplicates (lblk_head_has) or caps (the caller cuts first).
 * CAIRN_OK, or CAIRN_ENOMEM leaving the head unchanged.
 */
int lblk_head_add(lblk_head *h, int64_t t, const void *line, size_t len, const void *meta, size_t mlen);

/* ---- encoding --------------------------------------------------------------- */

typedef struct lblk_enc lblk_enc; /* zstd compression context + payload scratch; reuse it */
int lblk_enc_new(lblk_enc **out);
void lblk_enc_free(lblk_enc *e); /* NULL ok */
size_t lblk_enc_mem(const lblk_enc *e);

/*
 * Seal the head's entries (n >= 1) into one block appended to `out`: header
 * and then the payload compressed with zstd at `level` (LBLK_STORED: as is).
 * `e` may be NULL for LBLK_STORED. Borrows everything.
 * CAIRN_OK, CAIRN_EINVAL (empty head), CAIRN_ELIMIT (over the caps),
 * CAIRN_ENOMEM, CAIRN_EINTERNAL (zstd failed).
 */
int lblk_encode(lblk_enc *e, const lblk_head *h, int level, buf *out, cairn_err *err);

/* ---- decoding --------------------------------------------------------------- */

/*
 * A decoded block. Entry i has timestamp t[i] (ascending) and line bytes
 * lines[off[i] .. off[i+1]); all lines are one contiguous run, so a line
 * filter can scan it in one pass. Metadata of entry i is
 * meta[moff[i] .. moff[i+1]) when moff is non-NULL, else empty.
 */
typedef struct lblk_view {
    size_t n;
    const int64_t *t;
    const uint32_t *off;
    const uint8_t *lines;
    const uint32_t *moff;
    const uint8_t *meta;
} lblk_view;

typedef struct lblk_dctx lblk_dctx; /* zstd decompression context; one per thread */
int lblk_dctx_new(lblk_dctx **out);
void lblk_dctx_free(lblk_dctx *z); /* NULL ok */

/* Scratch arrays a view points into; caller storage, reused block after block. */
typedef struct lblk_dec {
    buf raw, t, off, moff;
} lblk_dec;
void lblk_dec_init(lblk_dec *d);
void lblk_dec_free(lblk_dec *d);
size_t lblk_dec_mem(const lblk_dec *d);

/*
 * Check and decode the block in p[0..len) (exactly one block). The view
 * points into `d` and, for stored blocks, into p: valid until the next open
 * on `d` or until p goes away. `z` may be NULL only for stored blocks.
 * CAIRN_OK, CAIRN_ECORRUPT (bad CRC, lengths, order, zstd frame), CAIRN_ENOMEM.
 */
int lblk_open(lblk_dctx *z, lblk_dec *d, const uint8_t *p, size_t len, lblk_view *v, cairn_err *err);

/* First index in [0, v->n] with t[i] >= t (lower bound) / with t[i] > t (upper bound). */
size_t lblk_view_lower(const lblk_view *v, int64_t t);
size_t lblk_view_upper(const lblk_view *v, int64_t t);

/*
 * The bulk substring scan: one memmem pass over the contiguous bytes of lines
 * [lo, hi), hits mapped back to lines through the offsets. Writes to sel the
 * indexes of lines that contain pat (negate = 0) or do not (negate = 1), in
 * ascending order; returns how many. sel holds at least hi - lo.
 */
size_t lblk_scan(const lblk_view *v, size_t lo, size_t hi, const void *pat, size_t plen, int negate,
                 uint32_t *sel);

/* ---- chunks: blocks + index -------------------------------------------------- */

typedef struct lblk_chunk_ent {
    int64_t mint, maxt;
    uint32_t count, off, len; /* off/len: the block's bytes inside the chunk value */
} lblk_chunk_ent;

typedef struct lblk_chunk {
    const uint8_t *p; /* the whole value, borrowed */
    size_t len;
    int64_t mint, maxt;
    uint32_t n;       /* blocks */
} lblk_chunk;

/* Bytes of a chunk of n blocks whose encodings total `blocks_len` bytes. */
size_t lblk_chunk_size(size_t n, size_t blocks_len);
/*
 * Write the chunk of the n encoded blocks blk[i] (len[i] bytes each, each a
 * valid block) into dst, which has exactly lblk_chunk_size() bytes.
 * CAIRN_OK, CAIRN_EINVAL (n == 0), CAIRN_ELIMIT (over 4 GiB or too many
 * blocks), CAIRN_ECORRUPT (a block header does not parse).
 */
int lblk_chunk_write(uint8_t *dst, size_t cap, const uint8_t *const *blk, const size_t *len, size_t n,
                     cairn_err *err);
/* Check a chunk value's header, CRC and index bounds. CAIRN_OK or CAIRN_ECORRUPT. */
int lblk_chunk_open(const uint8_t *p, size_t len, lblk_chunk *c, cairn_err *err);
/* Index entry i < c->n of an opened chunk (already bound-checked). */
void lblk_chunk_get(const lblk_chunk *c, uint32_t i, lblk_chunk_ent *e);
/* The newest timestamp of a chunk value, reading only its first 8 bytes. */
int lblk_chunk_maxt(const uint8_t *p, size_t len, int64_t *maxt);
#endif
