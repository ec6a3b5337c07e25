/*
 * logs.c — log streams: head and sealed blocks in memory, chunks in LMDB,
 * snapshots, line filters and the merged entry iterator.
 *
 * A stream (lstream) holds one head (lblk_head: raw entries kept sorted by
 * timestamp, then arrival) and a list of sealed blocks (the exact bytes of
 * lblk_encode, compressed). The head is cut into a block once it holds
 * block_bytes of line data; sealed blocks wait in memory until a checkpoint
 * writes all of them as one chunk (lstream_flush) and, after the LMDB commit,
 * frees them (lstream_flush_done). If the transaction aborts, the next flush
 * simply writes the same blocks again: nothing is released before a commit.
 * Formats of blocks, chunks, keys and head snapshots: docs/format/logblock.md.
 *
 * Why not keep one big sorted run per stream: entries may arrive out of order
 * (within the engine's window), so blocks of one stream may overlap in time.
 * Readers therefore merge. logs_it collects every block (from chunks and from
 * the snapshot) whose time range meets the query, sorts them by their first
 * timestamp (last one when backward), and opens a block only when the merge
 * frontier reaches it: in the usual case of disjoint blocks exactly one block
 * is decompressed at a time, and a narrow query decompresses only the blocks
 * that overlap it. Ties between equal timestamps in different blocks go by
 * (chunk key, position in chunk), then snapshot sealed blocks, then the head,
 * which is arrival order as far as the store knows it; backward is the exact
 * reverse of forward.
 *
 * Filters run once per opened block over the entries in the time range: a
 * substring filter applied to all of them is one memmem pass over the
 * contiguous line bytes (lblk_scan); later filters, regexes and the callback
 * run per surviving line. The result is a selection vector, so a line that
 * fails is never copied or returned.
 *
 * Duplicates: an append identical (timestamp and line bytes) to an entry in
 * memory — head or in-memory sealed blocks — is dropped. Nothing is
 * deduplicated at read time: the engine must make sure an entry is stored
 * once (e.g. a snapshot and a read transaction taken under one lock, so
 * blocks being flushed are seen either in memory or in LMDB, not both).
 *
 * Threads: every mutating call runs under the engine's writer lock,
 * lstream_snapshot under its reader lock; iterators and snapshots are private
 * to one reader. Memory grows from nothing: an empty stream is ~64 bytes, and
 * flush_done gives an empty head's buffers back.
 */
#include "logs.h"
#include "crc32c.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "match.h"
#include "mem.h"

#define LOGS_DEFAULT_BLOCK (256u << 10)
#define LOGS_MAX_BLOCK (32u << 20)
#define LOGS_HEAD_VERSION 1

typedef struct lsealed {
    uint8_t *p;
    size_t len, cap; /* cap: what was allocated */
    int64_t mint, maxt;
    uint32_t count;
    uint32_t *fp; /* sorted fingerprints of (t, line) of every entry, `count` of them; NULL if none */
} lsealed;

struct lstream {
    lblk_head head;
    lsealed *blk;
    uint32_t n_blk, cap_blk;
    uint32_t n_flushing; /* the first n_flushing blocks were written by the last lstream_flush */
    int64_t maxt;
};

void logs_chunk_key(uint8_t key[LOGS_KEY_BYTES], uint32_t id, int64_t mint_ns, uint32_t seq)
{
    be32_put(key, id);
    be64s_put(key + 4, mint_ns);
    be32_put(key + 12, seq);
}

static uint32_t opt_block(const logs_opts *o)
{
    uint32_t b = o && o->block_bytes ? o->block_bytes : LOGS_DEFAULT_BLOCK;
    return b > LOGS_MAX_BLOCK ? LOGS_MAX_BLOCK : b;
}

static int opt_level(const logs_opts *o) { return o && o->zstd_level ? o->zstd_level : 1; }

/* ---- streams ---------------------------------------------------------------- */

int lstream_new(lstream **out)
{
    lstream *s = mem_calloc(1, sizeof *s);
    if (!s) return CAIRN_ENOMEM;
    lblk_head_init(&s->head);
    s->maxt = INT64_MIN;
    *out = s;
    return CAIRN_OK;
}

static void sealed_free(lsealed *b)
{
    mem_free(b->p, b->cap);
    mem_free(b->fp, (size_t)b->count * sizeof *b->fp);
}

/*
 * A 32-bit fingerprint of (timestamp, line) for the duplicate check against
 * sealed blocks: a block keeps its entries' fingerprints sorted, so checking an
 * out-of-order entry is a binary search, and the block is decompressed only on
 * a fingerprint hit (a true duplicate, or a 1-in-2^32 false positive per
 * entry). Without them an interleaved stream decompressed a whole block per
 * entry.
 */
static uint32_t entry_fp(int64_t t, const char *line, size_t len)
{
    uint8_t tb[8];
    le64_put(tb, (uint64_t)t);
    return crc32c(crc32c(0, tb, 8), line, len);
}

static int fp_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int fp_has(const uint32_t *fp, uint32_t n, uint32_t f)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (fp[mid] < f) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && fp[lo] == f;
}

void lstream_free(lstream *s)
{
    if (!s) return;
    lblk_head_free(&s->head);
    for (uint32_t i = 0; i < s->n_blk; i++) sealed_free(&s->blk[i]);
    mem_free(s->blk, (size_t)s->cap_blk * sizeof *s->blk);
    mem_free(s, sizeof *s);
}

size_t lstream_mem_bytes(const lstream *s)
{
    size_t n = sizeof *s + lblk_head_mem(&s->head) + (size_t)s->cap_blk * sizeof *s->blk;
    for (uint32_t i = 0; i < s->n_blk; i++)
        n += s->blk[i].cap + (s->blk[i].fp ? (size_t)s->blk[i].count * sizeof *s->blk[i].fp : 0);
    return n;
}

int64_t lstream_maxt(const lstream *s) { return s->maxt; }
int64_t lstream_head_mint(const lstream *s) { return s->head.n ? s->head.e[0].t : INT64_MAX; }
size_t lstream_head_count(const lstream *s) { return s->head.n; }
size_t lstream_sealed_count(const lstream *s) { return s->n_blk; }

size_t lstream_sealed_bytes(const lstream *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->n_blk; i++) n += s->blk[i].len;
    return n;
}

/* Is (t, line) in sealed block b? 1, 0, or a negative code. */
static int sealed_has(const lsealed *b, lblk_dctx *z, lblk_dec *d, int64_t t, const char *line, size_t len)
{
    lblk_view v;
    int rc = lblk_open(z, d, b->p, b->len, &v, NULL);
    if (rc) return rc;
    for (size_t i = lblk_view_lower(&v, t); i < v.n && v.t[i] == t; i++)
        if (v.off[i + 1] - v.off[i] == len && (len == 0 || memcmp(v.lines + v.off[i], line, len) == 0)) return 1;
    return 0;
}

/* Duplicate check against the head and, only where the time ranges allow it, the sealed blocks. */
static int stream_has(const lstream *s, int64_t t, const char *line, size_t len, lblk_dctx *z)
{
    if (lblk_head_has(&s->head, t, line, len)) return 1;
    int rc = 0;
    lblk_dctx *tmp = NULL;
    lblk_dec d;
    lblk_dec_init(&d);
    for (uint32_t i = 0; i < s->n_blk && rc == 0; i++) {
        const lsealed *b = &s->blk[i];
        if (t < b->mint || t > b->maxt) continue;
        if (b->fp && !fp_has(b->fp, b->count, entry_fp(t, line, len))) continue;
        if (!z) {
            if (lblk_dctx_new(&tmp)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            z = tmp;
        }
        rc = sealed_has(b, z, &d, t, line, len);
    }
    lblk_dec_free(&d);
    lblk_dctx_free(tmp);
    return rc;
}

int lstream_has(const lstream *s, int64_t t_ns, const char *line, size_t len)
{
    return stream_has(s, t_ns, line, len, NULL);
}

int lstream_cut(lstream *s, const logs_opts *o, cairn_err *err)
{
    if (s->head.n == 0) return CAIRN_OK;
    if (s->n_blk == s->cap_blk) {
        uint32_t cap = s->cap_blk ? s->cap_blk * 2 : 2;
        lsealed *nb = mem_realloc(s->blk, (size_t)s->cap_blk * sizeof *nb, (size_t)cap * sizeof *nb);
        if (!nb) return err_set(err, CAIRN_ENOMEM, "out of memory sealing a log block");
        s->blk = nb;
        s->cap_blk = cap;
    }
    lblk_enc *tmp = NULL, *e = o ? o->enc : NULL;
    if (!e) {
        if (lblk_enc_new(&tmp)) return err_set(err, CAIRN_ENOMEM, "out of memory sealing a log block");
        e = tmp;
    }
    buf out;
    buf_init(&out);
    int rc = lblk_encode(e, &s->head, opt_level(o), &out, err);
    lblk_enc_free(tmp);
    if (rc) {
        buf_free(&out);
        return rc;
    }
    /* Give back the unused tail of the compress bound (shrinking realloc, no copy). */
    size_t cap = out.cap;
    uint8_t *p = mem_realloc(out.p, out.cap, out.len);
    if (p) cap = out.len;
    else p = out.p;
    lsealed *b = &s->blk[s->n_blk++];
    b->p = p;
    b->len = out.len;
    b->cap = cap;
    b->mint = s->head.e[0].t;
    b->maxt = s->head.e[s->head.n - 1].t;
    b->count = s->head.n;
    /* fingerprints are an optimisation: without memory for them the check decompresses instead */
    b->fp = mem_alloc((size_t)b->count * sizeof *b->fp);
    if (b->fp) {
        for (uint32_t i = 0; i < b->count; i++) {
            const lblk_ent *en = &s->head.e[i];
            b->fp[i] = entry_fp(en->t, (const char *)s->head.lines.p + en->off, en->len);
        }
        qsort(b->fp, b->count, sizeof *b->fp, fp_cmp);
    }
    lblk_head_reset(&s->head);
    return CAIRN_OK;
}

int lstream_append(lstream *s, int64_t t_ns, const char *line, size_t len, const uint8_t *meta, size_t meta_len,
                   const logs_opts *o, cairn_err *err)
{
    if (len + meta_len > LBLK_MAX_RAW / 2)
        return err_set(err, CAIRN_ELIMIT, "log entry at %lld: %zu bytes of line and metadata, over the %u-byte block cap",
                       (long long)t_ns, len + meta_len, LBLK_MAX_RAW / 2);
    int rc = stream_has(s, t_ns, line, len, o ? o->dctx : NULL);
    if (rc) {
        if (rc < 0) return err_set(err, rc, "checking log entry at %lld for a duplicate", (long long)t_ns);
        return 1;
    }
    /* Make room first so a block never passes its caps; a failed cut changes nothing. */
    if (s->head.n >= LBLK_MAX_COUNT ||
        lblk_head_raw_bound(&s->head) + len + meta_len + LBLK_ENT_OVERHEAD > LBLK_MAX_RAW)
        RETURN_IF_ERR(lstream_cut(s, o, err));
    s->head.hint = opt_block(o);
    rc = lblk_head_add(&s->head, t_ns, line, len, meta, meta_len);
    if (rc) return err_set(err, rc, "out of memory appending a log entry at %lld", (long long)t_ns);
    if (t_ns > s->maxt) s->maxt = t_ns;
    /*
     * The entry is in. A cut that fails here (out of memory) is not the
     * append's failure: the head stays a little over block_bytes and the next
     * append or checkpoint cuts it.
     */
    if (s->head.lines.len >= opt_block(o)) (void)lstream_cut(s, o, NULL);
    return 0;
}

int lstream_flush(lstream *s, kv_txn *t, uint32_t id, cairn_err *err)
{
    s->n_flushing = 0;
    if (s->n_blk == 0) return CAIRN_OK;
    uint32_t n = s->n_blk;
    int64_t mint = INT64_MAX;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (s->blk[i].mint < mint) mint = s->blk[i].mint;
        total += s->blk[i].len;
    }
    const uint8_t **ptrs = mem_alloc(n * sizeof *ptrs);
    size_t *lens = mem_alloc(n * sizeof *lens);
    kv_cur *c = NULL;
    int rc = CAIRN_OK;
    if (!ptrs || !lens) {
        rc = err_set(err, CAIRN_ENOMEM, "out of memory flushing log stream %u", id);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) ptrs[i] = s->blk[i].p, lens[i] = s->blk[i].len;
    /* seq: one past the largest seq already stored under (id, mint). */
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, id, mint, 0);
    uint32_t seq = 0;
    rc = kv_cur_open(t, KV_LOGCHUNKS, &c);
    if (rc) {
        rc = err_set(err, rc, "log stream %u: opening a chunk cursor", id);
        goto out;
    }
    const void *ko, *v;
    size_t kon, vn;
    for (int r = kv_cur_seek(c, key, sizeof key, &ko, &kon, &v, &vn); r == CAIRN_OK;
         r = kv_cur_next(c, &ko, &kon, &v, &vn)) {
        if (kon != LOGS_KEY_BYTES || memcmp(ko, key, 12) != 0) break;
        uint32_t sq = be32_get((const uint8_t *)ko + 12);
        if (sq == UINT32_MAX) {
            rc = err_set(err, CAIRN_ELIMIT, "log stream %u: chunk sequence exhausted at %lld", id, (long long)mint);
            goto out;
        }
        seq = sq + 1;
    }
    kv_cur_close(c);
    c = NULL;
    logs_chunk_key(key, id, mint, seq);
    size_t size = lblk_chunk_size(n, total);
    void *dst;
    rc = kv_reserve(t, KV_LOGCHUNKS, key, sizeof key, size, &dst, err);
    if (rc) goto out;
    rc = lblk_chunk_write(dst, size, ptrs, lens, n, err);
    if (rc) goto out;
    s->n_flushing = n;
out:
    kv_cur_close(c);
    mem_free(ptrs, n * sizeof *ptrs);
    mem_free(lens, n * sizeof *lens);
    return rc;
}

void lstream_flush_done(lstream *s)
{
    uint32_t k = s->n_flushing;
    for (uint32_t i = 0; i < k; i++) sealed_free(&s->blk[i]);
    if (k && s->n_blk > k) memmove(s->blk, s->blk + k, (size_t)(s->n_blk - k) * sizeof *s->blk);
    s->n_blk -= k;
    s->n_flushing = 0;
    if (s->n_blk == 0) {
        mem_free(s->blk, (size_t)s->cap_blk * sizeof *s->blk);
        s->blk = NULL;
        s->cap_blk = 0;
        lblk_head_trim(&s->head); /* an idle stream keeps nothing */
    }
}

/* Head snapshot: u8 version, then (if any entry) one stored block. */
int lstream_head_save(const lstream *s, buf *out)
{
    RETURN_IF_ERR(buf_put_u8(out, LOGS_HEAD_VERSION));
    if (s->head.n == 0) return CAIRN_OK;
    return lblk_encode(NULL, &s->head, LBLK_STORED, out, NULL);
}

int lstream_head_load(lstream *s, const uint8_t *p, size_t len, cairn_err *err)
{
    if (len < 1 || p[0] != LOGS_HEAD_VERSION)
        return err_set(err, CAIRN_ECORRUPT, "log head snapshot: version %d, expected %d", len ? p[0] : -1,
                       LOGS_HEAD_VERSION);
    lblk_head nh;
    lblk_head_init(&nh);
    nh.hint = s->head.hint;
    if (len == 1) goto swap;
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_view v;
    lblk_hdr h;
    int rc = lblk_hdr_read(p + 1, len - 1, &h, err);
    if (!rc && !(h.flags & LBLK_F_STORED)) rc = err_set(err, CAIRN_ECORRUPT, "log head snapshot: not a stored block");
    if (!rc) rc = lblk_open(NULL, &d, p + 1, len - 1, &v, err);
    for (size_t i = 0; !rc && i < v.n; i++) {
        const uint8_t *m = v.moff ? v.meta + v.moff[i] : NULL;
        size_t ml = v.moff ? v.moff[i + 1] - v.moff[i] : 0;
        rc = lblk_head_add(&nh, v.t[i], v.lines + v.off[i], v.off[i + 1] - v.off[i], m, ml);
        if (rc) rc = err_set(err, rc, "out of memory loading a log head of %zu entries", v.n);
    }
    lblk_dec_free(&d);
    if (rc) {
        lblk_head_free(&nh);
        return rc;
    }
swap:
    lblk_head_free(&s->head);
    s->head = nh;
    if (nh.n && nh.e[nh.n - 1].t > s->maxt) s->maxt = nh.e[nh.n - 1].t;
    return CAIRN_OK;
}

/* ---- retention -------------------------------------------------------------- */

int logs_retention(kv_txn *t, uint32_t id, int64_t cutoff_ns, uint64_t *n_deleted, cairn_err *err)
{
    uint64_t nd = 0;
    kv_cur *c;
    int rc = kv_cur_open(t, KV_LOGCHUNKS, &c);
    if (rc) return err_set(err, rc, "log stream %u: opening a chunk cursor", id);
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, id, INT64_MIN, 0);
    const void *ko, *v;
    size_t kon, vn;
    int r = kv_cur_seek(c, key, sizeof key, &ko, &kon, &v, &vn);
    while (r == CAIRN_OK) {
        if (kon != LOGS_KEY_BYTES || memcmp(ko, key, 4) != 0) break;
        /* Keys sort by mint and maxt >= mint: past the cutoff nothing more can go. */
        if (be64s_get((const uint8_t *)ko + 4) >= cutoff_ns) break;
        int64_t maxt;
        if (lblk_chunk_maxt(v, vn, &maxt)) {
            rc = err_set(err, CAIRN_ECORRUPT, "log stream %u: chunk value of %zu bytes has no header", id, vn);
            break;
        }
        if (maxt < cutoff_ns) {
            rc = kv_cur_del(c);
            if (rc) {
                rc = err_set(err, rc, "log stream %u: deleting an expired chunk", id);
                break;
            }
            nd++;
        }
        /* After a delete LMDB's cursor stands before the next item, so "next" reaches it. */
        r = kv_cur_next(c, &ko, &kon, &v, &vn);
    }
    if (!rc && r < 0 && r != CAIRN_NOTFOUND) rc = err_set(err, r, "log stream %u: reading chunks", id);
    kv_cur_close(c);
    if (n_deleted) *n_deleted += nd;
    return rc;
}

/* ---- snapshots -------------------------------------------------------------- */

struct lsnap {
    /* the head's entries in range, laid out like a decoded block */
    lblk_view head;
    int64_t *t;
    uint32_t *off, *moff;
    uint8_t *lines, *meta;
    size_t n, lines_len, meta_len;
    lsealed *blk; /* copies of the sealed blocks overlapping the range */
    uint32_t n_blk, cap_blk;
};

void lsnap_free(lsnap *n)
{
    if (!n) return;
    mem_free(n->t, n->n * sizeof *n->t);
    mem_free(n->off, (n->n + 1) * sizeof *n->off);
    mem_free(n->moff, n->moff ? (n->n + 1) * sizeof *n->moff : 0);
    mem_free(n->lines, n->lines_len);
    mem_free(n->meta, n->meta_len);
    for (uint32_t i = 0; i < n->n_blk; i++) sealed_free(&n->blk[i]);
    mem_free(n->blk, (size_t)n->cap_blk * sizeof *n->blk);
    mem_free(n, sizeof *n);
}

static int snap_head(lsnap *n, const lblk_head *h, int64_t mint, int64_t maxt)
{
    uint32_t lo = 0, hi = h->n;
    while (lo < h->n && h->e[lo].t < mint) lo++; /* head is at most one block: linear is fine */
    while (hi > lo && h->e[hi - 1].t > maxt) hi--;
    size_t cnt = hi - lo, ll = 0, ml = 0;
    if (cnt == 0) return CAIRN_OK;
    for (uint32_t i = lo; i < hi; i++) ll += h->e[i].len, ml += h->e[i].mlen;
    n->n = cnt;
    n->t = mem_alloc(cnt * sizeof *n->t);
    n->off = mem_alloc((cnt + 1) * sizeof *n->off);
    n->lines = mem_alloc(ll);
    n->lines_len = ll;
    if (ml) {
        n->moff = mem_alloc((cnt + 1) * sizeof *n->moff);
        n->meta = mem_alloc(ml);
        n->meta_len = ml;
    }
    if (!n->t || !n->off || !n->lines || (ml && (!n->moff || !n->meta))) return CAIRN_ENOMEM;
    size_t lw = 0, mw = 0;
    for (uint32_t i = lo; i < hi; i++) {
        const lblk_ent *x = &h->e[i];
        size_t k = i - lo;
        n->t[k] = x->t;
        n->off[k] = (uint32_t)lw;
        if (x->len) memcpy(n->lines + lw, h->lines.p + x->off, x->len);
        lw += x->len;
        if (ml) {
            n->moff[k] = (uint32_t)mw;
            if (x->mlen) memcpy(n->meta + mw, h->meta.p + x->moff, x->mlen);
            mw += x->mlen;
        }
    }
    n->off[cnt] = (uint32_t)lw;
    if (ml) n->moff[cnt] = (uint32_t)mw;
    n->head = (lblk_view){cnt, n->t, n->off, n->lines, n->moff, n->meta};
    return CAIRN_OK;
}

int lstream_snapshot(const lstream *s, int64_t mint, int64_t maxt, lsnap **out)
{
    *out = NULL;
    lsnap *n = mem_calloc(1, sizeof *n);
    if (!n) return CAIRN_ENOMEM;
    int rc = snap_head(n, &s->head, mint, maxt);
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n_blk; i++) k += s->blk[i].maxt >= mint && s->blk[i].mint <= maxt;
    if (!rc && k) {
        n->blk = mem_calloc(k, sizeof *n->blk);
        if (!n->blk) rc = CAIRN_ENOMEM;
        else n->cap_blk = k;
        for (uint32_t i = 0; !rc && i < s->n_blk; i++) {
            const lsealed *b = &s->blk[i];
            if (b->maxt < mint || b->mint > maxt) continue;
            uint8_t *p = mem_alloc(b->len);
            if (!p) {
                rc = CAIRN_ENOMEM;
                break;
            }
            memcpy(p, b->p, b->len);
            n->blk[n->n_blk++] = (lsealed){p, b->len, b->len, b->mint, b->maxt, b->count, NULL};
        }
    }
    if (rc) {
        lsnap_free(n);
        return rc;
    }
    *out = n;
    return CAIRN_OK;
}

/* ---- filters ---------------------------------------------------------------- */

typedef struct lfilt {
    int op;
    uint8_t *pat;
    size_t plen;
    match_re *re;
} lfilt;

struct logs_filter {
    lfilt *f;
    size_t n;
    cairn_line_filter_fn fn;
    void *ctx;
};

void logs_filter_free(logs_filter *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        mem_free(f->f[i].pat, f->f[i].plen);
        match_re_free(f->f[i].re);
    }
    mem_free(f->f, f->n * sizeof *f->f);
    mem_free(f, sizeof *f);
}

int logs_filter_new(const cairn_line_filter *f, size_t n, cairn_line_filter_fn fn, void *ctx, logs_filter **out,
                    cairn_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        if (f[i].op < CAIRN_FILTER_CONTAINS || f[i].op > CAIRN_FILTER_NOT_REGEX)
            return err_set(err, CAIRN_EINVAL, "line filter %zu: unknown operator %d", i, f[i].op);
        if (f[i].pattern_len && !f[i].pattern)
            return err_set(err, CAIRN_EINVAL, "line filter %zu: NULL pattern of %zu bytes", i, f[i].pattern_len);
    }
    logs_filter *lf = mem_calloc(1, sizeof *lf);
    if (!lf) return err_set(err, CAIRN_ENOMEM, "out of memory compiling line filters");
    lf->fn = fn;
    lf->ctx = ctx;
    if (n) {
        lf->f = mem_calloc(n, sizeof *lf->f);
        if (!lf->f) {
            mem_free(lf, sizeof *lf);
            return err_set(err, CAIRN_ENOMEM, "out of memory compiling line filters");
        }
    }
    lf->n = n;
    int rc = CAIRN_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        lfilt *x = &lf->f[i];
        x->op = f[i].op;
        if (x->op == CAIRN_FILTER_REGEX || x->op == CAIRN_FILTER_NOT_REGEX) {
            rc = match_re_compile(&x->re, f[i].pattern ? f[i].pattern : "", f[i].pattern_len, 0, err);
        } else {
            x->pat = mem_alloc(f[i].pattern_len);
            if (!x->pat) rc = err_set(err, CAIRN_ENOMEM, "out of memory compiling line filters");
            else {
                x->plen = f[i].pattern_len;
                if (x->plen) memcpy(x->pat, f[i].pattern, x->plen);
            }
        }
    }
    if (rc) {
        logs_filter_free(lf);
        return rc;
    }
    *out = lf;
    return CAIRN_OK;
}

/* Does one line pass filter x? 1 yes, 0 no. */
/* 1 keep, 0 drop, or a negative code (a regex that could not run: out of memory),
 * which ends the scan: an error is never a silent non-match. */
static int filt_line(const lfilt *x, const uint8_t *l, size_t n)
{
    int r;
    switch (x->op) {
    case CAIRN_FILTER_CONTAINS: return x->plen == 0 || (n >= x->plen && memmem(l, n, x->pat, x->plen) != NULL);
    case CAIRN_FILTER_NOT_CONTAINS: return !(x->plen == 0 || (n >= x->plen && memmem(l, n, x->pat, x->plen)));
    case CAIRN_FILTER_REGEX: return match_re_exec(x->re, (const char *)l, n);
    default: r = match_re_exec(x->re, (const char *)l, n); return r < 0 ? r : !r;
    }
}

/* ---- the iterator ----------------------------------------------------------- */

typedef struct it_src { /* a block not yet opened */
    const uint8_t *p;
    size_t len;
    int64_t mint, maxt;
    uint32_t count;
    uint64_t order;
} it_src;

typedef struct it_cur { /* an opened block, its entries selected */
    lblk_dec dec;
    lblk_view v;
    uint32_t *sel; /* selected entry indexes when use_sel */
    size_t selcap;
    size_t lo, nsel, pos; /* without sel: entries lo .. lo + nsel - 1 */
    int use_sel, live;
    uint64_t order;
} it_cur;

struct logs_it {
    int backward, rc;
    int64_t mint, maxt;
    uint32_t id;
    const logs_filter *f;
    uint64_t *counter;
    lsnap *snap;
    lblk_dctx *z;
    it_src *src;
    size_t n_src, cap_src, next_src;
    it_cur *cur;
    size_t n_cur;
    it_cur *last; /* emitted the previous entry; advanced on the next call */
    cairn_err err; /* why logs_it_next failed */
};

static int src_push(logs_it *it, const uint8_t *p, size_t len, int64_t mint, int64_t maxt, uint32_t count)
{
    if (maxt < it->mint || mint > it->maxt) return CAIRN_OK;
    if (it->n_src == it->cap_src) {
        size_t cap = it->cap_src ? it->cap_src * 2 : 8;
        it_src *ns = mem_realloc(it->src, it->cap_src * sizeof *ns, cap * sizeof *ns);
        if (!ns) return CAIRN_ENOMEM;
        it->src = ns;
        it->cap_src = cap;
    }
    it->src[it->n_src] = (it_src){p, len, mint, maxt, count, it->n_src};
    it->n_src++;
    return CAIRN_OK;
}

static int src_cmp_fwd(const void *a, const void *b)
{
    const it_src *x = a, *y = b;
    if (x->mint != y->mint) return x->mint < y->mint ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int src_cmp_bwd(const void *a, const void *b)
{
    const it_src *x = a, *y = b;
    if (x->maxt != y->maxt) return x->maxt > y->maxt ? -1 : 1;
    return x->order > y->order ? -1 : x->order < y->order;
}

static size_t cur_index(const it_cur *c, size_t j) { return c->use_sel ? c->sel[j] : c->lo + j; }

/* Entry index the cursor stands on (direction-aware). */
static size_t cur_at(const logs_it *it, const it_cur *c)
{
    return cur_index(c, it->backward ? c->nsel - 1 - c->pos : c->pos);
}

/* Select the entries of c->v in range that pass the filters. */
static int cur_select(logs_it *it, it_cur *c)
{
    const lblk_view *v = &c->v;
    size_t lo = lblk_view_lower(v, it->mint), hi = lblk_view_upper(v, it->maxt);
    if (hi < lo) hi = lo;
    c->lo = lo;
    c->nsel = hi - lo;
    c->pos = 0;
    c->use_sel = 0;
    const logs_filter *f = it->f;
    if (!f || (f->n == 0 && !f->fn) || c->nsel == 0) return CAIRN_OK;
    if (c->selcap < c->nsel) {
        uint32_t *s = mem_realloc(c->sel, c->selcap * sizeof *s, c->nsel * sizeof *s);
        if (!s) return CAIRN_ENOMEM;
        c->sel = s;
        c->selcap = c->nsel;
    }
    for (size_t k = 0; k < f->n && c->nsel; k++) {
        const lfilt *x = &f->f[k];
        if (!c->use_sel && (x->op == CAIRN_FILTER_CONTAINS || x->op == CAIRN_FILTER_NOT_CONTAINS)) {
            c->nsel = lblk_scan(v, lo, hi, x->pat, x->plen, x->op == CAIRN_FILTER_NOT_CONTAINS, c->sel);
            c->use_sel = 1;
            continue;
        }
        if (!c->use_sel) {
            for (size_t j = 0; j < c->nsel; j++) c->sel[j] = (uint32_t)(lo + j);
            c->use_sel = 1;
        }
        size_t m = 0;
        for (size_t j = 0; j < c->nsel; j++) {
            uint32_t i = c->sel[j];
            int keep = filt_line(x, v->lines + v->off[i], v->off[i + 1] - v->off[i]);
            if (keep < 0) return keep;
            if (keep) c->sel[m++] = i;
        }
        c->nsel = m;
    }
    if (f->fn && c->nsel) {
        if (!c->use_sel) {
            for (size_t j = 0; j < c->nsel; j++) c->sel[j] = (uint32_t)(lo + j);
            c->use_sel = 1;
        }
        size_t m = 0;
        for (size_t j = 0; j < c->nsel; j++) {
            uint32_t i = c->sel[j];
            if (f->fn(f->ctx, (const char *)v->lines + v->off[i], v->off[i + 1] - v->off[i])) c->sel[m++] = i;
        }
        c->nsel = m;
    }
    return CAIRN_OK;
}

static it_cur *cur_slot(logs_it *it)
{
    for (size_t i = 0; i < it->n_cur; i++)
        if (!it->cur[i].live) return &it->cur[i];
    it_cur *nc = mem_realloc(it->cur, it->n_cur * sizeof *nc, (it->n_cur + 1) * sizeof *nc);
    if (!nc) return NULL;
    it->cur = nc;
    it_cur *c = &it->cur[it->n_cur++];
    memset(c, 0, sizeof *c);
    lblk_dec_init(&c->dec);
    return c;
}

/* Decompress and select one pending block; a block with nothing selected is dropped at once. */
static int src_open(logs_it *it, const it_src *s, cairn_err *err)
{
    it_cur *c = cur_slot(it);
    if (!c) return err_set(err, CAIRN_ENOMEM, "out of memory reading log stream %u", it->id);
    cairn_err e;
    err_clear(&e);
    int rc = lblk_open(it->z, &c->dec, s->p, s->len, &c->v, &e);
    if (it->counter) (*it->counter)++;
    if (rc) return err_set(err, rc, "log stream %u: block at %lld: %s", it->id, (long long)s->mint, e.msg);
    if (c->v.n != s->count || c->v.t[0] != s->mint || c->v.t[c->v.n - 1] != s->maxt)
        return err_set(err, CAIRN_ECORRUPT, "log stream %u: block at %lld disagrees with its chunk index", it->id,
                       (long long)s->mint);
    if (cur_select(it, c)) return err_set(err, CAIRN_ENOMEM, "out of memory filtering log stream %u", it->id);
    c->order = s->order;
    c->live = c->nsel > 0;
    return CAIRN_OK;
}

const cairn_err *logs_it_error(const logs_it *it) { return &it->err; }

void logs_it_close(logs_it *it)
{
    if (!it) return;
    for (size_t i = 0; i < it->n_cur; i++) {
        lblk_dec_free(&it->cur[i].dec);
        mem_free(it->cur[i].sel, it->cur[i].selcap * sizeof(uint32_t));
    }
    mem_free(it->cur, it->n_cur * sizeof *it->cur);
    mem_free(it->src, it->cap_src * sizeof *it->src);
    lblk_dctx_free(it->z);
    lsnap_free(it->snap);
    mem_free(it, sizeof *it);
}

static int it_add_chunks(logs_it *it, kv_txn *t, cairn_err *err)
{
    kv_cur *c;
    int rc = kv_cur_open(t, KV_LOGCHUNKS, &c);
    if (rc) return err_set(err, rc, "log stream %u: opening a chunk cursor", it->id);
    uint8_t key[LOGS_KEY_BYTES];
    logs_chunk_key(key, it->id, INT64_MIN, 0);
    const void *ko, *v;
    size_t kon, vn;
    int r;
    for (r = kv_cur_seek(c, key, sizeof key, &ko, &kon, &v, &vn); r == CAIRN_OK && !rc;
         r = kv_cur_next(c, &ko, &kon, &v, &vn)) {
        if (kon != LOGS_KEY_BYTES || memcmp(ko, key, 4) != 0) break;
        if (be64s_get((const uint8_t *)ko + 4) > it->maxt) break; /* later chunks start later still */
        lblk_chunk ch;
        cairn_err e;
        err_clear(&e);
        rc = lblk_chunk_open(v, vn, &ch, &e);
        if (rc) {
            rc = err_set(err, rc, "log stream %u: chunk at %lld: %s", it->id,
                         (long long)be64s_get((const uint8_t *)ko + 4), e.msg);
            break;
        }
        if (ch.maxt < it->mint) continue;
        for (uint32_t i = 0; i < ch.n && !rc; i++) {
            lblk_chunk_ent ce;
            lblk_chunk_get(&ch, i, &ce);
            rc = src_push(it, ch.p + ce.off, ce.len, ce.mint, ce.maxt, ce.count);
            if (rc) rc = err_set(err, rc, "out of memory reading log stream %u", it->id);
        }
    }
    if (!rc && r < 0 && r != CAIRN_NOTFOUND) rc = err_set(err, r, "log stream %u: reading chunks", it->id);
    kv_cur_close(c);
    return rc;
}

int logs_it_open(kv_txn *t, uint32_t id, lsnap *snap, int64_t mint, int64_t maxt, int backward,
                 const logs_filter *f, uint64_t *blocks_counter, logs_it **out, cairn_err *err)
{
    *out = NULL;
    logs_it *it = mem_calloc(1, sizeof *it);
    if (!it) {
        lsnap_free(snap);
        return err_set(err, CAIRN_ENOMEM, "out of memory opening log stream %u", id);
    }
    it->snap = snap; /* taken: freed with the iterator, on failure too */
    it->id = id;
    it->mint = mint;
    it->maxt = maxt;
    it->backward = backward != 0;
    it->f = f;
    it->counter = blocks_counter;
    int rc = CAIRN_OK;
    if (mint > maxt) goto done; /* an empty range yields nothing */
    if (t) rc = it_add_chunks(it, t, err);
    for (uint32_t i = 0; snap && !rc && i < snap->n_blk; i++) {
        const lsealed *b = &snap->blk[i];
        rc = src_push(it, b->p, b->len, b->mint, b->maxt, b->count);
        if (rc) rc = err_set(err, rc, "out of memory reading log stream %u", id);
    }
    if (!rc && it->n_src) {
        qsort(it->src, it->n_src, sizeof *it->src, it->backward ? src_cmp_bwd : src_cmp_fwd);
        if (lblk_dctx_new(&it->z)) rc = err_set(err, CAIRN_ENOMEM, "out of memory opening log stream %u", id);
    }
    if (!rc && snap && snap->n) {
        it_cur *c = cur_slot(it);
        if (!c) rc = err_set(err, CAIRN_ENOMEM, "out of memory opening log stream %u", id);
        else {
            c->v = snap->head;
            if (cur_select(it, c)) rc = err_set(err, CAIRN_ENOMEM, "out of memory filtering log stream %u", id);
            c->order = UINT64_MAX; /* the head is newer than every block */
            c->live = c->nsel > 0;
        }
    }
done:
    if (rc) {
        logs_it_close(it);
        return rc;
    }
    *out = it;
    return CAIRN_OK;
}

int logs_it_next(logs_it *it, int64_t *t_ns, const char **line, size_t *len, const uint8_t **meta,
                 size_t *meta_len)
{
    if (it->rc) return it->rc;
    if (it->last) {
        if (++it->last->pos == it->last->nsel) it->last->live = 0;
        it->last = NULL;
    }
    for (;;) {
        it_cur *best = NULL;
        int64_t bt = 0;
        for (size_t i = 0; i < it->n_cur; i++) {
            it_cur *c = &it->cur[i];
            if (!c->live) continue;
            int64_t ct = c->v.t[cur_at(it, c)];
            int better = !best || (it->backward ? (ct > bt || (ct == bt && c->order > best->order))
                                                : (ct < bt || (ct == bt && c->order < best->order)));
            if (better) best = c, bt = ct;
        }
        if (it->next_src < it->n_src) {
            const it_src *s = &it->src[it->next_src];
            if (!best || (it->backward ? s->maxt >= bt : s->mint <= bt)) {
                it->next_src++;
                int rc = src_open(it, s, &it->err);
                if (rc) return it->rc = rc;
                continue;
            }
        }
        if (!best) return 0;
        size_t i = cur_at(it, best);
        const lblk_view *v = &best->v;
        *t_ns = v->t[i];
        *line = (const char *)v->lines + v->off[i];
        *len = v->off[i + 1] - v->off[i];
        if (meta) *meta = v->moff ? v->meta + v->moff[i] : NULL;
        if (meta_len) *meta_len = v->moff ? v->moff[i + 1] - v->moff[i] : 0;
        it->last = best;
        return 1;
    }
}
