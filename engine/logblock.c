/*
 * logblock.c — log blocks: the head of raw entries, the column layout, zstd.
 *
 * A log stream's entries collect in a head (lblk_head) until about 256 KiB of
 * line bytes have arrived; then the head is sealed into a block: a 36-byte
 * header that a reader can check without decompressing anything (time range,
 * count, sizes, CRC32C), then one zstd frame holding four columns —
 * timestamps (first absolute, then deltas, zig-zag varints), line lengths,
 * optional metadata (lengths, then bytes) and finally every line's bytes back
 * to back. The byte-exact layout and a worked example are in
 * docs/format/logblock.md; test_logblock.c checks that example byte for byte.
 *
 * Why columns instead of Loki's interleaved (ts, len, line) records: a time
 * filter reads the timestamp column only, and a substring filter runs one
 * memmem over one contiguous run of line bytes and maps hits back to lines
 * through the length column (lblk_scan) instead of calling memmem once per
 * line. Deltas of sorted nanosecond timestamps are short varints that zstd
 * squeezes further, so the timestamp cost almost vanishes next to the lines.
 * One frame per block (not one per column) keeps a single zstd call on each
 * side; the columns sit next to each other, so zstd's matches stay within a
 * column in practice.
 *
 * Why a CRC32C in the header when zstd has a content checksum: the CRC covers
 * the header and the compressed bytes, so a flipped bit is caught before zstd
 * runs and also in the fields zstd never sees (time range, count); it costs a
 * hardware CRC over the compressed bytes, an eighth of the raw size on JSON
 * logs. The zstd checksum flag is therefore off.
 *
 * Invariants of a block: 1 <= count <= LBLK_MAX_COUNT, raw_size <=
 * LBLK_MAX_RAW, timestamps ascending with the header's min_t and max_t equal
 * to the first and last one, and the columns consume the payload exactly. The
 * decoder checks every one of them and returns CAIRN_ECORRUPT otherwise; its
 * largest allocation is bounded by the header's raw_size (and the zstd frame
 * must declare the same size before anything is allocated for it).
 *
 * The head keeps its entries sorted by (timestamp, arrival) at all times, so
 * sealing never sorts, dedup is a binary search, and equal timestamps keep
 * the order they arrived in. Line bytes stay in arrival order in one buffer;
 * sealing gathers them in sorted order into the payload.
 *
 * Memory: zstd allocates through mem_ (a size prefix lets mem_free know the
 * size), so the gauge and the fault-injection hook see it too. Encoders and
 * decoders are reused across blocks; nothing here is shared between threads.
 */
#include "logblock.h"

#include <string.h>

#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, ZSTD_create?Ctx_advanced */
#include <zstd.h>
#include <zstd_errors.h>

#include "crc32c.h"
#include "err.h"
#include "mem.h"

/* ---- zstd memory through mem_ ----------------------------------------------- */

#define ZMEM_PREFIX 16 /* keeps zstd's 16-byte alignment */

static void *zmem_alloc(void *opaque, size_t n)
{
    (void)opaque;
    uint8_t *p = mem_alloc(n + ZMEM_PREFIX);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + ZMEM_PREFIX;
}

static void zmem_free(void *opaque, void *q)
{
    (void)opaque;
    if (!q) return;
    uint8_t *p = (uint8_t *)q - ZMEM_PREFIX;
    size_t n;
    memcpy(&n, p, sizeof n);
    mem_free(p, n + ZMEM_PREFIX);
}

static const ZSTD_customMem zmem = {zmem_alloc, zmem_free, NULL};

/* ---- header ----------------------------------------------------------------- */

int lblk_hdr_read(const uint8_t *p, size_t len, lblk_hdr *h, cairn_err *err)
{
    if (len < LBLK_HDR_BYTES)
        return err_set(err, CAIRN_ECORRUPT, "log block: %zu bytes, shorter than its %d-byte header", len,
                       LBLK_HDR_BYTES);
    h->version = p[0];
    h->flags = p[1];
    h->mint = (int64_t)le64_get(p + 4);
    h->maxt = (int64_t)le64_get(p + 12);
    h->count = le32_get(p + 20);
    h->raw_size = le32_get(p + 24);
    h->comp_size = le32_get(p + 28);
    h->crc = le32_get(p + 32);
    if (h->version != LBLK_VERSION)
        return err_set(err, CAIRN_ECORRUPT, "log block: version %u, expected %d", h->version, LBLK_VERSION);
    if ((h->flags & ~(LBLK_F_META | LBLK_F_STORED)) || p[2] || p[3])
        return err_set(err, CAIRN_ECORRUPT, "log block: unknown flags 0x%02x or reserved bytes set", h->flags);
    if (h->count == 0 || h->count > LBLK_MAX_COUNT)
        return err_set(err, CAIRN_ECORRUPT, "log block: entry count %u out of range 1..%u", h->count,
                       LBLK_MAX_COUNT);
    if (h->raw_size > LBLK_MAX_RAW || h->raw_size / 2 < h->count)
        return err_set(err, CAIRN_ECORRUPT, "log block: raw size %u impossible for %u entries", h->raw_size,
                       h->count);
    if (h->mint > h->maxt)
        return err_set(err, CAIRN_ECORRUPT, "log block: min_t %lld after max_t %lld", (long long)h->mint,
                       (long long)h->maxt);
    if (h->comp_size > len - LBLK_HDR_BYTES)
        return err_set(err, CAIRN_ECORRUPT, "log block: payload of %u bytes overruns the %zu available",
                       h->comp_size, len - LBLK_HDR_BYTES);
    if ((h->flags & LBLK_F_STORED) && h->comp_size != h->raw_size)
        return err_set(err, CAIRN_ECORRUPT, "log block: stored payload %u bytes, raw size %u", h->comp_size,
                       h->raw_size);
    return CAIRN_OK;
}

/* ---- head ------------------------------------------------------------------- */

void lblk_head_init(lblk_head *h)
{
    h->e = NULL;
    h->n = h->cap = h->hint = 0;
    buf_init(&h->lines);
    buf_init(&h->meta);
}

void lblk_head_free(lblk_head *h)
{
    mem_free(h->e, (size_t)h->cap * sizeof *h->e);
    buf_free(&h->lines);
    buf_free(&h->meta);
    lblk_head_init(h);
}

void lblk_head_reset(lblk_head *h)
{
    h->n = 0;
    buf_reset(&h->lines);
    buf_reset(&h->meta);
}

void lblk_head_trim(lblk_head *h)
{
    if (h->n == 0) lblk_head_free(h);
}

size_t lblk_head_mem(const lblk_head *h) { return (size_t)h->cap * sizeof *h->e + h->lines.cap + h->meta.cap; }

size_t lblk_head_raw_bound(const lblk_head *h)
{
    return h->lines.len + h->meta.len + (size_t)h->n * LBLK_ENT_OVERHEAD;
}

/* First index whose timestamp is > t. */
static uint32_t head_upper(const lblk_head *h, int64_t t)
{
    uint32_t lo = 0, hi = h->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (h->e[mid].t <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int lblk_head_has(const lblk_head *h, int64_t t, const void *line, size_t len)
{
    if (h->n == 0 || t < h->e[0].t || t > h->e[h->n - 1].t) return 0;
    for (uint32_t i = head_upper(h, t); i > 0 && h->e[i - 1].t == t; i--) {
        const lblk_ent *x = &h->e[i - 1];
        if (x->len == len && (len == 0 || memcmp(h->lines.p + x->off, line, len) == 0)) return 1;
    }
    return 0;
}

int lblk_head_add(lblk_head *h, int64_t t, const void *line, size_t len, const void *meta, size_t mlen)
{
    if (len > UINT32_MAX - h->lines.len || mlen > UINT32_MAX - h->meta.len || h->n == UINT32_MAX)
        return CAIRN_ELIMIT;
    /* Reserve everything first: a failure leaves the entries untouched. */
    if (h->n == h->cap) {
        uint32_t cap = h->cap ? h->cap * 2 : 8;
        lblk_ent *e = mem_realloc(h->e, (size_t)h->cap * sizeof *e, (size_t)cap * sizeof *e);
        if (!e) return CAIRN_ENOMEM;
        h->e = e;
        h->cap = cap;
    }
    if (h->lines.cap - h->lines.len < len && h->hint) {
        /* Doubling, but not far past the cut size: a head would otherwise hold
         * twice the block size just after crossing a power of two. */
        size_t need = h->lines.len + len, cap = h->lines.cap ? h->lines.cap * 2 : 256;
        size_t lim = (size_t)h->hint + h->hint / 8;
        if (cap > lim) cap = lim;
        if (cap < need) cap = need;
        uint8_t *p = mem_realloc(h->lines.p, h->lines.cap, cap);
        if (!p) return CAIRN_ENOMEM;
        h->lines.p = p;
        h->lines.cap = cap;
    }
    if (buf_reserve(&h->lines, len) || buf_reserve(&h->meta, mlen)) return CAIRN_ENOMEM;
    uint32_t pos = h->n;
    if (h->n && h->e[h->n - 1].t > t) {
        pos = head_upper(h, t);
        memmove(h->e + pos + 1, h->e + pos, (size_t)(h->n - pos) * sizeof *h->e);
    }
    lblk_ent *x = &h->e[pos];
    x->t = t;
    x->off = (uint32_t)h->lines.len;
    x->len = (uint32_t)len;
    x->moff = (uint32_t)h->meta.len;
    x->mlen = (uint32_t)mlen;
    if (len) memcpy(h->lines.p + h->lines.len, line, len);
    if (mlen) memcpy(h->meta.p + h->meta.len, meta, mlen);
    h->lines.len += len;
    h->meta.len += mlen;
    h->n++;
    return CAIRN_OK;
}

/* ---- encoder ---------------------------------------------------------------- */

struct lblk_enc {
    ZSTD_CCtx *cc;
    buf raw; /* payload before compression, reused */
};

int lblk_enc_new(lblk_enc **out)
{
    lblk_enc *e = mem_alloc(sizeof *e);
    if (!e) return CAIRN_ENOMEM;
    buf_init(&e->raw);
    e->cc = ZSTD_createCCtx_advanced(zmem);
    if (!e->cc) {
        mem_free(e, sizeof *e);
        return CAIRN_ENOMEM;
    }
    *out = e;
    return CAIRN_OK;
}

void lblk_enc_free(lblk_enc *e)
{
    if (!e) return;
    ZSTD_freeCCtx(e->cc);
    buf_free(&e->raw);
    mem_free(e, sizeof *e);
}

size_t lblk_enc_mem(const lblk_enc *e) { return e ? sizeof *e + ZSTD_sizeof_CCtx(e->cc) + e->raw.cap : 0; }

/* Gather the head's columns, in sorted order, into raw. */
static int encode_payload(const lblk_head *h, buf *raw)
{
    size_t bound = lblk_head_raw_bound(h);
    buf_reset(raw);
    if (buf_reserve(raw, bound)) return CAIRN_ENOMEM;
    uint8_t *w = raw->p;
    int64_t prev = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        /* Wrapping difference: decodes back exactly by wrapping addition. */
        int64_t d = (int64_t)((uint64_t)h->e[i].t - (uint64_t)prev);
        w += uvarint_put(w, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
        prev = h->e[i].t;
    }
    for (uint32_t i = 0; i < h->n; i++) w += uvarint_put(w, h->e[i].len);
    if (h->meta.len) {
        for (uint32_t i = 0; i < h->n; i++) w += uvarint_put(w, h->e[i].mlen);
        for (uint32_t i = 0; i < h->n; i++) {
            if (h->e[i].mlen) memcpy(w, h->meta.p + h->e[i].moff, h->e[i].mlen);
            w += h->e[i].mlen;
        }
    }
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->e[i].len) memcpy(w, h->lines.p + h->e[i].off, h->e[i].len);
        w += h->e[i].len;
    }
    raw->len = (size_t)(w - raw->p);
    return CAIRN_OK;
}

int lblk_encode(lblk_enc *e, const lblk_head *h, int level, buf *out, cairn_err *err)
{
    if (h->n == 0) return err_set(err, CAIRN_EINVAL, "log block: nothing to seal");
    if (h->n > LBLK_MAX_COUNT || lblk_head_raw_bound(h) > LBLK_MAX_RAW)
        return err_set(err, CAIRN_ELIMIT, "log block: %u entries, up to %zu raw bytes, over the block caps", h->n,
                       lblk_head_raw_bound(h));
    int stored = level == LBLK_STORED;
    if (!stored && !e) return err_set(err, CAIRN_EINVAL, "log block: compression needs an encoder");
    buf local;
    buf_init(&local);
    buf *raw = e ? &e->raw : &local;
    int rc = encode_payload(h, raw);
    if (rc) {
        rc = err_set(err, CAIRN_ENOMEM, "log block: no memory for a %zu-byte payload", lblk_head_raw_bound(h));
        goto out;
    }
    size_t cap = stored ? raw->len : ZSTD_compressBound(raw->len);
    if (buf_reserve(out, LBLK_HDR_BYTES + cap)) {
        rc = err_set(err, CAIRN_ENOMEM, "log block: no memory for %zu output bytes", cap);
        goto out;
    }
    uint8_t *hdr = out->p + out->len, *pay = hdr + LBLK_HDR_BYTES;
    size_t comp = raw->len;
    if (stored) {
        memcpy(pay, raw->p, raw->len);
    } else {
        ZSTD_CCtx_reset(e->cc, ZSTD_reset_session_and_parameters);
        size_t z = ZSTD_CCtx_setParameter(e->cc, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(z)) z = ZSTD_CCtx_setParameter(e->cc, ZSTD_c_checksumFlag, 0);
        if (!ZSTD_isError(z)) z = ZSTD_compress2(e->cc, pay, cap, raw->p, raw->len);
        if (ZSTD_isError(z)) {
            /* With our allocator the usual cause is a failed allocation. */
            int code = ZSTD_getErrorCode(z) == ZSTD_error_memory_allocation ? CAIRN_ENOMEM : CAIRN_EINTERNAL;
            rc = err_set(err, code, "log block: zstd level %d: %s", level, ZSTD_getErrorName(z));
            goto out;
        }
        comp = z;
    }
    hdr[0] = LBLK_VERSION;
    hdr[1] = (uint8_t)((h->meta.len ? LBLK_F_META : 0) | (stored ? LBLK_F_STORED : 0));
    hdr[2] = hdr[3] = 0;
    le64_put(hdr + 4, (uint64_t)h->e[0].t);
    le64_put(hdr + 12, (uint64_t)h->e[h->n - 1].t);
    le32_put(hdr + 20, h->n);
    le32_put(hdr + 24, (uint32_t)raw->len);
    le32_put(hdr + 28, (uint32_t)comp);
    le32_put(hdr + 32, crc32c(crc32c(0, hdr, 32), pay, comp));
    out->len += LBLK_HDR_BYTES + comp;
out:
    buf_free(&local);
    return rc;
}

/* ---- decoder ---------------------------------------------------------------- */

struct lblk_dctx {
    ZSTD_DCtx *dc;
};

int lblk_dctx_new(lblk_dctx **out)
{
    lblk_dctx *z = mem_alloc(sizeof *z);
    if (!z) return CAIRN_ENOMEM;
    z->dc = ZSTD_createDCtx_advanced(zmem);
    if (!z->dc) {
        mem_free(z, sizeof *z);
        return CAIRN_ENOMEM;
    }
    *out = z;
    return CAIRN_OK;
}

void lblk_dctx_free(lblk_dctx *z)
{
    if (!z) return;
    ZSTD_freeDCtx(z->dc);
    mem_free(z, sizeof *z);
}

void lblk_dec_init(lblk_dec *d)
{
    buf_init(&d->raw);
    buf_init(&d->t);
    buf_init(&d->off);
    buf_init(&d->moff);
}

void lblk_dec_free(lblk_dec *d)
{
    buf_free(&d->raw);
    buf_free(&d->t);
    buf_free(&d->off);
    buf_free(&d->moff);
}

size_t lblk_dec_mem(const lblk_dec *d) { return d->raw.cap + d->t.cap + d->off.cap + d->moff.cap; }

static int corrupt(cairn_err *err, const char *what) { return err_set(err, CAIRN_ECORRUPT, "log block: %s", what); }

/* Read n lengths into the prefix offsets o[0..n], bounded by `avail` bytes in total. */
static int read_lengths(rd *r, uint32_t *o, size_t n, size_t avail)
{
    uint64_t sum = 0;
    o[0] = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t l;
        if (rd_uvarint(r, &l) || l > avail - sum) return CAIRN_ECORRUPT;
        sum += l;
        o[i + 1] = (uint32_t)sum;
    }
    return CAIRN_OK;
}

int lblk_open(lblk_dctx *z, lblk_dec *d, const uint8_t *p, size_t len, lblk_view *v, cairn_err *err)
{
    lblk_hdr h;
    RETURN_IF_ERR(lblk_hdr_read(p, len, &h, err));
    if ((size_t)LBLK_HDR_BYTES + h.comp_size != len)
        return err_set(err, CAIRN_ECORRUPT, "log block: %zu bytes, header says %zu", len,
                       (size_t)LBLK_HDR_BYTES + h.comp_size);
    const uint8_t *pay = p + LBLK_HDR_BYTES;
    if (crc32c(crc32c(0, p, 32), pay, h.comp_size) != h.crc) return corrupt(err, "CRC mismatch");
    const uint8_t *raw = pay;
    if (!(h.flags & LBLK_F_STORED)) {
        if (!z) return err_set(err, CAIRN_EINVAL, "log block: a compressed block needs a decompression context");
        unsigned long long fcs = ZSTD_getFrameContentSize(pay, h.comp_size);
        if (fcs != h.raw_size) return corrupt(err, "zstd frame size differs from the header's raw size");
        buf_reset(&d->raw);
        if (buf_reserve(&d->raw, h.raw_size)) return err_set(err, CAIRN_ENOMEM, "log block: no memory to decode");
        size_t r = ZSTD_decompressDCtx(z->dc, d->raw.p, h.raw_size, pay, h.comp_size);
        if (ZSTD_isError(r)) {
            if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
                return err_set(err, CAIRN_ENOMEM, "log block: no memory to decode");
            return err_set(err, CAIRN_ECORRUPT, "log block: zstd: %s", ZSTD_getErrorName(r));
        }
        if (r != h.raw_size) return corrupt(err, "zstd frame shorter than the raw size");
        raw = d->raw.p;
    }
    size_t n = h.count;
    int meta = (h.flags & LBLK_F_META) != 0;
    buf_reset(&d->t);
    buf_reset(&d->off);
    buf_reset(&d->moff);
    if (buf_reserve(&d->t, n * sizeof(int64_t)) || buf_reserve(&d->off, (n + 1) * sizeof(uint32_t)) ||
        (meta && buf_reserve(&d->moff, (n + 1) * sizeof(uint32_t))))
        return err_set(err, CAIRN_ENOMEM, "log block: no memory for %zu entries", n);
    int64_t *t = (int64_t *)(void *)d->t.p;
    uint32_t *off = (uint32_t *)(void *)d->off.p, *moff = meta ? (uint32_t *)(void *)d->moff.p : NULL;
    rd r;
    rd_init(&r, raw, h.raw_size);
    int64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t dt;
        if (rd_varint(&r, &dt)) return corrupt(err, "timestamp column truncated");
        int64_t x = (int64_t)((uint64_t)prev + (uint64_t)dt);
        if (i && x < prev) return corrupt(err, "timestamps out of order");
        t[i] = prev = x;
    }
    if (t[0] != h.mint || t[n - 1] != h.maxt) return corrupt(err, "time range differs from the header");
    if (read_lengths(&r, off, n, rd_left(&r))) return corrupt(err, "length column bad");
    if (meta) {
        if (read_lengths(&r, moff, n, rd_left(&r))) return corrupt(err, "metadata length column bad");
        const uint8_t *mp;
        if (rd_bytes(&r, moff[n], &mp)) return corrupt(err, "metadata bytes truncated");
        v->meta = mp;
    } else {
        v->meta = NULL;
    }
    if (rd_left(&r) != off[n]) return corrupt(err, "line bytes do not match the length column");
    v->n = n;
    v->t = t;
    v->off = off;
    v->lines = r.p;
    v->moff = moff;
    return CAIRN_OK;
}

size_t lblk_view_lower(const lblk_view *v, int64_t t)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->t[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

size_t lblk_view_upper(const lblk_view *v, int64_t t)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->t[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/*
 * A hit starting in line i either fits inside it (line i matches) or runs past
 * its end, and then so would every later start in line i: either way the scan
 * resumes at the start of line i + 1. Each line is visited once by the cursor
 * i, so the cost is one memmem pass plus O(lines).
 */
size_t lblk_scan(const lblk_view *v, size_t lo, size_t hi, const void *pat, size_t plen, int negate,
                 uint32_t *sel)
{
    size_t k = 0, i = lo;
    if (plen == 0) { /* the empty string is in every line */
        if (!negate)
            for (; i < hi; i++) sel[k++] = (uint32_t)i;
        return k;
    }
    const uint8_t *base = v->lines;
    const uint32_t *off = v->off;
    size_t end = off[hi];
    while (i < hi) {
        size_t pos = off[i];
        const uint8_t *m = end - pos >= plen ? memmem(base + pos, end - pos, pat, plen) : NULL;
        size_t hp = m ? (size_t)(m - base) : end;
        /* Lines wholly before the hit do not contain the pattern. */
        while (i < hi && off[i + 1] <= hp) {
            if (negate) sel[k++] = (uint32_t)i;
            i++;
        }
        if (i >= hi) break;
        int in_line = hp + plen <= off[i + 1];
        if (in_line != negate) sel[k++] = (uint32_t)i;
        i++;
    }
    return k;
}

/* ---- chunks ----------------------------------------------------------------- */

size_t lblk_chunk_size(size_t n, size_t blocks_len)
{
    return LBLK_CHUNK_HDR_BYTES + n * LBLK_CHUNK_IDX_BYTES + blocks_len;
}

static uint32_t chunk_crc(const uint8_t *p, uint32_t n)
{
    return crc32c(crc32c(0, p, 24), p + LBLK_CHUNK_HDR_BYTES, (size_t)n * LBLK_CHUNK_IDX_BYTES);
}

int lblk_chunk_write(uint8_t *dst, size_t cap, const uint8_t *const *blk, const size_t *len, size_t n,
                     cairn_err *err)
{
    if (n == 0) return err_set(err, CAIRN_EINVAL, "log chunk: no blocks");
    if (n > LBLK_CHUNK_MAX_BLOCKS) return err_set(err, CAIRN_ELIMIT, "log chunk: %zu blocks, over the cap", n);
    size_t total = lblk_chunk_size(n, 0);
    for (size_t i = 0; i < n; i++) total += len[i];
    if (total > UINT32_MAX) return err_set(err, CAIRN_ELIMIT, "log chunk: %zu bytes, over 4 GiB", total);
    if (cap != total) return err_set(err, CAIRN_EINVAL, "log chunk: %zu bytes given, %zu needed", cap, total);
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    size_t at = lblk_chunk_size(n, 0);
    for (size_t i = 0; i < n; i++) {
        lblk_hdr h;
        RETURN_IF_ERR(lblk_hdr_read(blk[i], len[i], &h, err));
        if ((size_t)LBLK_HDR_BYTES + h.comp_size != len[i])
            return err_set(err, CAIRN_ECORRUPT, "log chunk: block %zu has %zu bytes, header says %zu", i, len[i],
                           (size_t)LBLK_HDR_BYTES + h.comp_size);
        uint8_t *x = dst + LBLK_CHUNK_HDR_BYTES + i * LBLK_CHUNK_IDX_BYTES;
        le64_put(x, (uint64_t)h.mint);
        le64_put(x + 8, (uint64_t)h.maxt);
        le32_put(x + 16, h.count);
        le32_put(x + 20, (uint32_t)at);
        le32_put(x + 24, (uint32_t)len[i]);
        memcpy(dst + at, blk[i], len[i]);
        at += len[i];
        if (h.mint < mint) mint = h.mint;
        if (h.maxt > maxt) maxt = h.maxt;
    }
    le64_put(dst, (uint64_t)maxt);
    le64_put(dst + 8, (uint64_t)mint);
    dst[16] = LBLK_CHUNK_VERSION;
    dst[17] = dst[18] = dst[19] = 0;
    le32_put(dst + 20, (uint32_t)n);
    le32_put(dst + 24, chunk_crc(dst, (uint32_t)n));
    return CAIRN_OK;
}

int lblk_chunk_open(const uint8_t *p, size_t len, lblk_chunk *c, cairn_err *err)
{
    if (len < LBLK_CHUNK_HDR_BYTES)
        return err_set(err, CAIRN_ECORRUPT, "log chunk: %zu bytes, shorter than its header", len);
    if (p[16] != LBLK_CHUNK_VERSION || p[17] || p[18] || p[19])
        return err_set(err, CAIRN_ECORRUPT, "log chunk: version %u, expected %d", p[16], LBLK_CHUNK_VERSION);
    c->p = p;
    c->len = len;
    c->maxt = (int64_t)le64_get(p);
    c->mint = (int64_t)le64_get(p + 8);
    c->n = le32_get(p + 20);
    if (c->n == 0 || c->n > LBLK_CHUNK_MAX_BLOCKS || c->mint > c->maxt)
        return err_set(err, CAIRN_ECORRUPT, "log chunk: %u blocks over [%lld, %lld]", c->n, (long long)c->mint,
                       (long long)c->maxt);
    size_t data = lblk_chunk_size(c->n, 0);
    if (data > len)
        return err_set(err, CAIRN_ECORRUPT, "log chunk: index of %u blocks overruns %zu bytes", c->n, len);
    if (chunk_crc(p, c->n) != le32_get(p + 24)) return err_set(err, CAIRN_ECORRUPT, "log chunk: CRC mismatch");
    for (uint32_t i = 0; i < c->n; i++) {
        lblk_chunk_ent e;
        lblk_chunk_get(c, i, &e);
        if (e.mint > e.maxt || e.mint < c->mint || e.maxt > c->maxt || e.count == 0 ||
            e.len < LBLK_HDR_BYTES || e.off < data || e.off > len || e.len > len - e.off)
            return err_set(err, CAIRN_ECORRUPT, "log chunk: index entry %u out of bounds", i);
    }
    return CAIRN_OK;
}

void lblk_chunk_get(const lblk_chunk *c, uint32_t i, lblk_chunk_ent *e)
{
    const uint8_t *x = c->p + LBLK_CHUNK_HDR_BYTES + (size_t)i * LBLK_CHUNK_IDX_BYTES;
    e->mint = (int64_t)le64_get(x);
    e->maxt = (int64_t)le64_get(x + 8);
    e->count = le32_get(x + 16);
    e->off = le32_get(x + 20);
    e->len = le32_get(x + 24);
}

int lblk_chunk_maxt(const uint8_t *p, size_t len, int64_t *maxt)
{
    if (len < 8) return CAIRN_ECORRUPT;
    *maxt = (int64_t)le64_get(p);
    return CAIRN_OK;
}
