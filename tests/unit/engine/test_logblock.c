/*
 * test_logblock.c — the log block codec: the documented golden block and
 * chunk (docs/format/logblock.md) byte for byte, seeded round trips against a
 * stably sorted oracle (empty lines, NUL bytes, UTF-8, 256 KiB lines, equal
 * timestamps, out-of-order arrival, metadata on and off, several zstd
 * levels), the bulk substring scan against per-line memmem, every corruption
 * the decoder must name, bit flips, and OOM loops.
 */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>

#include "crc32c.h"
#include "err.h"
#include "logblock.h"
#include "mem.h"

/* ---- the golden example of docs/format/logblock.md -------------------------- */

static const uint8_t golden_block[] = {
    0x01, 0x03, 0x00, 0x00, 0x00, 0xca, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00,
    0xf4, 0xcb, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x23, 0x00, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00, 0xae, 0xe3, 0x68, 0x67,
    0x80, 0xa8, 0xd6, 0xb9, 0x07, 0xe8, 0x07, 0x00, 0x06, 0x02, 0x00, 0x00,
    0x0d, 0x00, 0x01, 0x08, 0x74, 0x72, 0x61, 0x63, 0x65, 0x5f, 0x69, 0x64,
    0x02, 0x61, 0x62, 0x47, 0x45, 0x54, 0x20, 0x2f, 0x61, 0x6f, 0x6b,
};

static const uint8_t golden_chunk[] = {
    0xf4, 0xcb, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x00, 0xca, 0x9a, 0x3b,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x41, 0x44, 0x95, 0xa4, 0x00, 0xca, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00,
    0xf4, 0xcb, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x38, 0x00, 0x00, 0x00, 0x47, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x00,
    0x00, 0xca, 0x9a, 0x3b, 0x00, 0x00, 0x00, 0x00, 0xf4, 0xcb, 0x9a, 0x3b,
    0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x23, 0x00, 0x00, 0x00,
    0x23, 0x00, 0x00, 0x00, 0xae, 0xe3, 0x68, 0x67, 0x80, 0xa8, 0xd6, 0xb9,
    0x07, 0xe8, 0x07, 0x00, 0x06, 0x02, 0x00, 0x00, 0x0d, 0x00, 0x01, 0x08,
    0x74, 0x72, 0x61, 0x63, 0x65, 0x5f, 0x69, 0x64, 0x02, 0x61, 0x62, 0x47,
    0x45, 0x54, 0x20, 0x2f, 0x61, 0x6f, 0x6b,
};

static const uint8_t golden_meta[] = {0x01, 0x08, 't', 'r', 'a', 'c', 'e', '_', 'i', 'd', 0x02, 'a', 'b'};

/* The three entries of the example, in the order they arrive. */
static void golden_head(lblk_head *h)
{
    lblk_head_init(h);
    assert_int_equal(lblk_head_add(h, 1000000500, "ok", 2, golden_meta, sizeof golden_meta), CAIRN_OK);
    assert_int_equal(lblk_head_add(h, 1000000000, "GET /a", 6, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(h, 1000000500, "", 0, NULL, 0), CAIRN_OK);
}

static void test_block_golden_encode(void **state)
{
    (void)state;
    lblk_head h;
    golden_head(&h);
    buf out;
    buf_init(&out);
    assert_int_equal(lblk_encode(NULL, &h, LBLK_STORED, &out, NULL), CAIRN_OK);
    assert_int_equal(out.len, sizeof golden_block);
    assert_memory_equal(out.p, golden_block, sizeof golden_block);
    buf_free(&out);
    lblk_head_free(&h);
}

static void test_block_golden_decode(void **state)
{
    (void)state;
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_view v;
    cairn_err e;
    assert_int_equal(lblk_open(NULL, &d, golden_block, sizeof golden_block, &v, &e), CAIRN_OK);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.t[0], 1000000000);
    assert_int_equal(v.t[1], 1000000500);
    assert_int_equal(v.t[2], 1000000500);
    assert_int_equal(v.off[1] - v.off[0], 6);
    assert_memory_equal(v.lines + v.off[0], "GET /a", 6);
    assert_memory_equal(v.lines + v.off[1], "ok", 2);
    assert_int_equal(v.off[3] - v.off[2], 0);
    assert_non_null(v.moff);
    assert_int_equal(v.moff[1] - v.moff[0], 0);
    assert_int_equal(v.moff[2] - v.moff[1], sizeof golden_meta);
    assert_memory_equal(v.meta + v.moff[1], golden_meta, sizeof golden_meta);
    assert_int_equal(v.moff[3] - v.moff[2], 0);
    lblk_hdr hd;
    assert_int_equal(lblk_hdr_read(golden_block, sizeof golden_block, &hd, NULL), CAIRN_OK);
    assert_int_equal(hd.flags, LBLK_F_META | LBLK_F_STORED);
    assert_int_equal(hd.raw_size, 35);
    assert_int_equal(hd.crc, 0x6768e3aeu);
    lblk_dec_free(&d);
}

static void test_chunk_golden(void **state)
{
    (void)state;
    uint8_t dst[sizeof golden_chunk];
    const uint8_t *blk[1] = {golden_block};
    size_t len[1] = {sizeof golden_block};
    assert_int_equal(lblk_chunk_size(1, sizeof golden_block), sizeof golden_chunk);
    assert_int_equal(lblk_chunk_write(dst, sizeof dst, blk, len, 1, NULL), CAIRN_OK);
    assert_memory_equal(dst, golden_chunk, sizeof golden_chunk);
    lblk_chunk c;
    assert_int_equal(lblk_chunk_open(golden_chunk, sizeof golden_chunk, &c, NULL), CAIRN_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.mint, 1000000000);
    assert_int_equal(c.maxt, 1000000500);
    lblk_chunk_ent ce;
    lblk_chunk_get(&c, 0, &ce);
    assert_int_equal(ce.off, 56);
    assert_int_equal(ce.len, sizeof golden_block);
    assert_int_equal(ce.count, 3);
    assert_memory_equal(golden_chunk + ce.off, golden_block, sizeof golden_block);
    int64_t maxt;
    assert_int_equal(lblk_chunk_maxt(golden_chunk, sizeof golden_chunk, &maxt), CAIRN_OK);
    assert_int_equal(maxt, 1000000500);
}

/* ---- round trips ------------------------------------------------------------ */

typedef struct oent {
    int64_t t;
    size_t seq;
    uint8_t *line, *meta;
    size_t len, mlen;
} oent;

static int oent_cmp(const void *a, const void *b)
{
    const oent *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *utf8_words[] = {"héllo ", "日本語 ", "💥 ", "ÿ ", "naïve "};

/* A random line: kind 0 empty, 1 binary with NULs, 2 UTF-8, 3 JSON-like, 4 huge (256 KiB). */
static uint8_t *rand_line(size_t *len, int allow_huge)
{
    int kind = (int)t_randn(allow_huge ? 20 : 19);
    size_t n = 0;
    uint8_t *p;
    switch (kind) {
    case 0:
        p = malloc(1);
        break;
    case 1:
        n = t_randn(64) + 1;
        p = malloc(n);
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(t_randn(3) ? t_rand() : 0);
        break;
    case 2: {
        p = malloc(512);
        int k = (int)t_randn(10) + 1;
        for (int i = 0; i < k; i++) {
            const char *w = utf8_words[t_randn(5)];
            memcpy(p + n, w, strlen(w));
            n += strlen(w);
        }
        break;
    }
    case 19:
        n = 256 << 10;
        p = malloc(n);
        for (size_t i = 0; i < n; i++) p[i] = (uint8_t)('a' + t_randn(26));
        break;
    default:
        p = malloc(256);
        n = (size_t)snprintf((char *)p, 256,
                             "{\"level\":\"%s\",\"route\":\"/v1/predict\",\"status\":%d,\"latency_ms\":%u,\"id\":\"%016llx\"}",
                             t_randn(4) ? "info" : "error", t_randn(5) ? 200 : 500, (unsigned)t_randn(2000),
                             (unsigned long long)t_rand());
        break;
    }
    *len = n;
    return p;
}

static void oents_free(oent *o, size_t n)
{
    for (size_t i = 0; i < n; i++) free(o[i].line), free(o[i].meta);
    free(o);
}

/* Fill a head with n random entries (out of order, equal timestamps) and the oracle, sorted stably. */
static oent *rand_head(lblk_head *h, size_t n, int with_meta, int allow_huge)
{
    oent *o = calloc(n, sizeof *o);
    int64_t base = (int64_t)t_rand() >> 2;
    if (t_randn(4) == 0) base = -base; /* negative timestamps too */
    for (size_t i = 0; i < n; i++) {
        o[i].seq = i;
        o[i].t = base + (int64_t)t_randn(n * 3 / 2 + 1) * (t_randn(3) ? 1000 : 1);
        o[i].line = rand_line(&o[i].len, allow_huge);
        if (with_meta && t_randn(2)) {
            o[i].mlen = t_randn(30) + 1;
            o[i].meta = malloc(o[i].mlen);
            for (size_t k = 0; k < o[i].mlen; k++) o[i].meta[k] = (uint8_t)t_rand();
        }
        assert_int_equal(lblk_head_add(h, o[i].t, o[i].line, o[i].len, o[i].meta, o[i].mlen), CAIRN_OK);
    }
    qsort(o, n, sizeof *o, oent_cmp);
    return o;
}

static void check_view(const lblk_view *v, const oent *o, size_t n)
{
    assert_int_equal(v->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v->t[i], o[i].t);
        assert_int_equal(v->off[i + 1] - v->off[i], o[i].len);
        if (o[i].len) assert_memory_equal(v->lines + v->off[i], o[i].line, o[i].len);
        size_t ml = v->moff ? v->moff[i + 1] - v->moff[i] : 0;
        assert_int_equal(ml, o[i].mlen);
        if (ml) assert_memory_equal(v->meta + v->moff[i], o[i].meta, ml);
    }
}

static void test_block_roundtrip_random(void **state)
{
    (void)state;
    t_rng_reset();
    lblk_enc *e;
    lblk_dctx *z;
    assert_int_equal(lblk_enc_new(&e), CAIRN_OK);
    assert_int_equal(lblk_dctx_new(&z), CAIRN_OK);
    lblk_dec d;
    lblk_dec_init(&d);
    static const int levels[] = {1, 3, -5, 9, LBLK_STORED};
    for (int round = 0; round < 40; round++) {
        lblk_head h;
        lblk_head_init(&h);
        size_t n = round == 0 ? 1 : t_randn(round < 20 ? 50 : 2000) + 1;
        oent *o = rand_head(&h, n, round % 2, round % 5 == 0);
        int level = levels[round % 5];
        buf out;
        buf_init(&out);
        cairn_err err;
        assert_int_equal(lblk_encode(e, &h, level, &out, &err), CAIRN_OK);
        lblk_view v;
        assert_int_equal(lblk_open(z, &d, out.p, out.len, &v, &err), CAIRN_OK);
        check_view(&v, o, n);
        lblk_hdr hd;
        assert_int_equal(lblk_hdr_read(out.p, out.len, &hd, NULL), CAIRN_OK);
        assert_int_equal(hd.mint, o[0].t);
        assert_int_equal(hd.maxt, o[n - 1].t);
        assert_int_equal(hd.count, n);
        assert_int_equal(!!(hd.flags & LBLK_F_META), h.meta.len > 0);
        buf_free(&out);
        oents_free(o, n);
        lblk_head_free(&h);
    }
    lblk_dec_free(&d);
    lblk_dctx_free(z);
    lblk_enc_free(e);
}

static void test_block_extreme_timestamps(void **state)
{
    (void)state;
    lblk_head h;
    lblk_head_init(&h);
    assert_int_equal(lblk_head_add(&h, INT64_MAX, "b", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(&h, INT64_MIN, "a", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(&h, 0, "z", 1, NULL, 0), CAIRN_OK);
    buf out;
    buf_init(&out);
    assert_int_equal(lblk_encode(NULL, &h, LBLK_STORED, &out, NULL), CAIRN_OK);
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_view v;
    assert_int_equal(lblk_open(NULL, &d, out.p, out.len, &v, NULL), CAIRN_OK);
    assert_int_equal(v.t[0], INT64_MIN);
    assert_int_equal(v.t[1], 0);
    assert_int_equal(v.t[2], INT64_MAX);
    assert_memory_equal(v.lines, "azb", 3);
    assert_null(v.moff);
    lblk_dec_free(&d);
    buf_free(&out);
    lblk_head_free(&h);
}

static void test_head_has_and_order(void **state)
{
    (void)state;
    lblk_head h;
    lblk_head_init(&h);
    assert_int_equal(lblk_head_has(&h, 5, "x", 1), 0);
    assert_int_equal(lblk_head_add(&h, 10, "a", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(&h, 5, "b", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(&h, 10, "c", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_head_add(&h, 5, "", 0, NULL, 0), CAIRN_OK);
    assert_int_equal(h.n, 4);
    assert_int_equal(h.e[0].t, 5);
    assert_memory_equal(h.lines.p + h.e[0].off, "b", 1);
    assert_int_equal(h.e[1].len, 0);
    assert_memory_equal(h.lines.p + h.e[2].off, "a", 1);
    assert_memory_equal(h.lines.p + h.e[3].off, "c", 1);
    assert_int_equal(lblk_head_has(&h, 10, "c", 1), 1);
    assert_int_equal(lblk_head_has(&h, 10, "b", 1), 0);
    assert_int_equal(lblk_head_has(&h, 5, "", 0), 1);
    assert_int_equal(lblk_head_has(&h, 5, "bb", 2), 0);
    assert_int_equal(lblk_head_has(&h, 11, "a", 1), 0);
    assert_int_equal(lblk_head_raw_bound(&h), 3 + 4 * LBLK_ENT_OVERHEAD);
    lblk_head_reset(&h);
    assert_int_equal(h.n, 0);
    assert_true(lblk_head_mem(&h) > 0);
    lblk_head_trim(&h);
    assert_int_equal(lblk_head_mem(&h), 0);
    lblk_head_free(&h);
}

static void test_view_bounds(void **state)
{
    (void)state;
    int64_t t[] = {1, 3, 3, 3, 7};
    uint32_t off[] = {0, 0, 0, 0, 0, 0};
    lblk_view v = {5, t, off, (const uint8_t *)"", NULL, NULL};
    assert_int_equal(lblk_view_lower(&v, 3), 1);
    assert_int_equal(lblk_view_upper(&v, 3), 4);
    assert_int_equal(lblk_view_lower(&v, 0), 0);
    assert_int_equal(lblk_view_upper(&v, 7), 5);
    assert_int_equal(lblk_view_lower(&v, 8), 5);
    assert_int_equal(lblk_view_upper(&v, 2), 1);
}

/* ---- the bulk scan ---------------------------------------------------------- */

static size_t scan_oracle(const lblk_view *v, size_t lo, size_t hi, const char *pat, size_t plen, int neg,
                          uint32_t *sel)
{
    size_t k = 0;
    for (size_t i = lo; i < hi; i++) {
        size_t n = v->off[i + 1] - v->off[i];
        int in = plen == 0 || (n >= plen && memmem(v->lines + v->off[i], n, pat, plen) != NULL);
        if (in != neg) sel[k++] = (uint32_t)i;
    }
    return k;
}

static void test_scan_boundaries(void **state)
{
    (void)state;
    /* lines: "ab" "cd" "" "abc" "b" ; "bc" crosses line 0/1 but is only inside line 3 */
    const char *lines = "abcdabcb";
    uint32_t off[] = {0, 2, 4, 4, 7, 8};
    int64_t t[5] = {0};
    lblk_view v = {5, t, off, (const uint8_t *)lines, NULL, NULL};
    uint32_t sel[5];
    assert_int_equal(lblk_scan(&v, 0, 5, "bc", 2, 0, sel), 1);
    assert_int_equal(sel[0], 3);
    assert_int_equal(lblk_scan(&v, 0, 5, "bc", 2, 1, sel), 4);
    assert_int_equal(sel[0], 0);
    assert_int_equal(sel[3], 4);
    assert_int_equal(lblk_scan(&v, 0, 5, "b", 1, 0, sel), 3);
    assert_int_equal(sel[0], 0);
    assert_int_equal(sel[1], 3);
    assert_int_equal(sel[2], 4);
    assert_int_equal(lblk_scan(&v, 0, 5, "", 0, 0, sel), 5);
    assert_int_equal(lblk_scan(&v, 0, 5, "", 0, 1, sel), 0);
    assert_int_equal(lblk_scan(&v, 1, 3, "ab", 2, 0, sel), 0);
    assert_int_equal(lblk_scan(&v, 1, 3, "ab", 2, 1, sel), 2);
    assert_int_equal(lblk_scan(&v, 2, 2, "a", 1, 1, sel), 0);
    assert_int_equal(lblk_scan(&v, 0, 5, "abcdabcbX", 9, 1, sel), 5);
}

static void test_scan_random(void **state)
{
    (void)state;
    t_rng_reset();
    for (int round = 0; round < 200; round++) {
        size_t n = t_randn(60) + 1, total = 0;
        uint32_t *off = malloc((n + 1) * sizeof *off);
        uint8_t *lines = malloc(n * 12 + 1);
        int64_t *t = calloc(n, sizeof *t);
        off[0] = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = t_randn(12);
            for (size_t k = 0; k < l; k++) lines[total + k] = (uint8_t)("abc\0"[t_randn(4)]);
            total += l;
            off[i + 1] = (uint32_t)total;
        }
        lblk_view v = {n, t, off, lines, NULL, NULL};
        char pat[4];
        size_t plen = t_randn(4);
        for (size_t k = 0; k < plen; k++) pat[k] = "abc\0"[t_randn(4)];
        size_t lo = t_randn(n + 1), hi = lo + t_randn(n - lo + 1);
        uint32_t *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
        for (int neg = 0; neg < 2; neg++) {
            size_t ka = lblk_scan(&v, lo, hi, pat, plen, neg, a);
            size_t kb = scan_oracle(&v, lo, hi, pat, plen, neg, b);
            assert_int_equal(ka, kb);
            if (ka) assert_memory_equal(a, b, ka * sizeof *a);
        }
        free(a), free(b), free(off), free(lines), free(t);
    }
}

/* ---- corruption ------------------------------------------------------------- */

/* Re-seal a stored block whose bytes a test edited: fix the CRC. */
static void fix_crc(uint8_t *b, size_t len)
{
    le32_put(b + 32, crc32c(crc32c(0, b, 32), b + LBLK_HDR_BYTES, len - LBLK_HDR_BYTES));
}

static void expect_corrupt(const uint8_t *b, size_t len, const char *msg)
{
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_dctx *z;
    assert_int_equal(lblk_dctx_new(&z), CAIRN_OK);
    lblk_view v;
    cairn_err e;
    err_clear(&e);
    assert_int_equal(lblk_open(z, &d, b, len, &v, &e), CAIRN_ECORRUPT);
    assert_int_equal(e.code, CAIRN_ECORRUPT);
    if (msg && !strstr(e.msg, msg)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
    lblk_dctx_free(z);
    lblk_dec_free(&d);
}

static void test_block_corrupt_header(void **state)
{
    (void)state;
    uint8_t b[sizeof golden_block];
    expect_corrupt(golden_block, 20, "shorter than its 36-byte header");
#define EDIT(stmt, msg)                                                                                          \
    do {                                                                                                         \
        memcpy(b, golden_block, sizeof b);                                                                       \
        stmt;                                                                                                    \
        expect_corrupt(b, sizeof b, msg);                                                                        \
    } while (0)
    EDIT(b[0] = 2, "version 2, expected 1");
    EDIT(b[1] = 0x13, "unknown flags 0x13");
    EDIT(b[3] = 1, "reserved bytes set");
    EDIT(le32_put(b + 20, 0), "entry count 0 out of range");
    EDIT(le32_put(b + 20, LBLK_MAX_COUNT + 1), "out of range");
    EDIT(le32_put(b + 20, 20), "raw size 35 impossible for 20 entries");
    EDIT(le32_put(b + 24, LBLK_MAX_RAW + 1), "impossible");
    EDIT(le64_put(b + 4, 2000000000), "after max_t");
    EDIT(le32_put(b + 28, 1000), "payload of 1000 bytes overruns the 35 available");
    EDIT(le32_put(b + 24, 34), "stored payload 35 bytes, raw size 34");
    EDIT(b[40] ^= 1, "CRC mismatch");
    EDIT(b[33] ^= 0x80, "CRC mismatch");
    /* Payload edits with a valid CRC reach the column checks. */
    EDIT((b[41] = 0x01, fix_crc(b, sizeof b)), "timestamps out of order"); /* delta 500 -> -1 */
    EDIT((b[36] = 0x82, fix_crc(b, sizeof b)), "time range differs from the header");
    EDIT((b[44] = 0x30, fix_crc(b, sizeof b)), "length column bad");
    EDIT((b[48] = 0x30, fix_crc(b, sizeof b)), "metadata length column bad");
    EDIT((b[44] = 0x05, fix_crc(b, sizeof b)), "line bytes do not match");
    EDIT((memset(b + 36, 0x80, 10), fix_crc(b, sizeof b)), "timestamp column truncated"); /* an 11-byte varint */
#undef EDIT
    /* A block followed by stray bytes is not one block. */
    uint8_t big[sizeof golden_block + 1];
    memcpy(big, golden_block, sizeof golden_block);
    big[sizeof golden_block] = 0;
    expect_corrupt(big, sizeof big, "72 bytes, header says 71");
}

static void test_block_corrupt_flips(void **state)
{
    (void)state;
    t_rng_reset();
    lblk_head h;
    lblk_head_init(&h);
    oent *o = rand_head(&h, 40, 1, 0);
    lblk_enc *e;
    assert_int_equal(lblk_enc_new(&e), CAIRN_OK);
    buf out;
    buf_init(&out);
    assert_int_equal(lblk_encode(e, &h, 1, &out, NULL), CAIRN_OK);
    uint8_t *b = malloc(out.len);
    for (size_t i = 0; i < out.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(b, out.p, out.len);
            b[i] ^= (uint8_t)(1u << bit);
            expect_corrupt(b, out.len, NULL);
        }
    }
    /* A valid CRC over a mangled zstd frame: zstd or the size check rejects it. */
    for (size_t i = LBLK_HDR_BYTES; i < out.len; i += 7) {
        memcpy(b, out.p, out.len);
        b[i] ^= 0x55;
        fix_crc(b, out.len);
        lblk_dec d;
        lblk_dec_init(&d);
        lblk_dctx *z;
        assert_int_equal(lblk_dctx_new(&z), CAIRN_OK);
        lblk_view v;
        int rc = lblk_open(z, &d, b, out.len, &v, NULL);
        /* Rarely a flip inside a literal still decodes; then the view must be sane. */
        if (rc == CAIRN_OK) assert_int_equal(v.n, 40);
        else assert_int_equal(rc, CAIRN_ECORRUPT);
        lblk_dctx_free(z);
        lblk_dec_free(&d);
    }
    free(b);
    buf_free(&out);
    lblk_enc_free(e);
    oents_free(o, 40);
    lblk_head_free(&h);
}

static void test_block_invalid_args(void **state)
{
    (void)state;
    lblk_head h;
    lblk_head_init(&h);
    buf out;
    buf_init(&out);
    cairn_err e;
    assert_int_equal(lblk_encode(NULL, &h, 1, &out, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "log block: nothing to seal");
    assert_int_equal(lblk_head_add(&h, 1, "x", 1, NULL, 0), CAIRN_OK);
    assert_int_equal(lblk_encode(NULL, &h, 1, &out, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "log block: compression needs an encoder");
    lblk_enc *enc;
    assert_int_equal(lblk_enc_new(&enc), CAIRN_OK);
    assert_int_equal(lblk_encode(enc, &h, 1, &out, NULL), CAIRN_OK);
    lblk_dec d;
    lblk_dec_init(&d);
    lblk_view v;
    assert_int_equal(lblk_open(NULL, &d, out.p, out.len, &v, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "log block: a compressed block needs a decompression context");
    assert_true(lblk_enc_mem(enc) > 0);
    lblk_dec_free(&d);
    lblk_enc_free(enc);
    buf_free(&out);
    lblk_head_free(&h);
}

static void test_chunk_corrupt(void **state)
{
    (void)state;
    uint8_t b[sizeof golden_chunk];
    lblk_chunk c;
    cairn_err e;
#define CEDIT(stmt, fixcrc, want)                                                                                 \
    do {                                                                                                         \
        memcpy(b, golden_chunk, sizeof b);                                                                       \
        stmt;                                                                                                    \
        if (fixcrc) le32_put(b + 24, crc32c(crc32c(0, b, 24), b + 28, 28));                                     \
        assert_int_equal(lblk_chunk_open(b, sizeof b, &c, &e), CAIRN_ECORRUPT);                                  \
        if (!strstr(e.msg, want)) fail_msg("message \"%s\" lacks \"%s\"", e.msg, want);                         \
    } while (0)
    assert_int_equal(lblk_chunk_open(golden_chunk, 27, &c, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "log chunk: 27 bytes, shorter than its header");
    CEDIT(b[16] = 9, 0, "version 9, expected 1");
    CEDIT(le32_put(b + 20, 0), 1, "0 blocks");
    CEDIT(le32_put(b + 20, 5), 0, "index of 5 blocks overruns 127 bytes");
    CEDIT(b[30] ^= 1, 0, "CRC mismatch");
    CEDIT(le32_put(b + 48, 200), 1, "index entry 0 out of bounds");     /* offset past the end */
    CEDIT(le32_put(b + 52, 72), 1, "index entry 0 out of bounds");      /* length past the end */
    CEDIT(le32_put(b + 48, 20), 1, "index entry 0 out of bounds");      /* offset inside the index */
    CEDIT(le64_put(b + 28, 999999999), 1, "index entry 0 out of bounds"); /* block before the chunk */
    CEDIT(le64_put(b + 8, 1000000501), 0, "over [1000000501, 1000000500]");
#undef CEDIT
    int64_t mt;
    assert_int_equal(lblk_chunk_maxt(golden_chunk, 7, &mt), CAIRN_ECORRUPT);
    /* Writing: no blocks, wrong capacity, a block whose header is bad. */
    uint8_t dst[sizeof golden_chunk];
    const uint8_t *blk[1] = {golden_block};
    size_t len[1] = {sizeof golden_block};
    assert_int_equal(lblk_chunk_write(dst, sizeof dst, blk, len, 0, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "log chunk: no blocks");
    assert_int_equal(lblk_chunk_write(dst, sizeof dst - 1, blk, len, 1, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "log chunk: 126 bytes given, 127 needed");
    len[0] = 40;
    assert_int_equal(lblk_chunk_write(dst, lblk_chunk_size(1, 40), blk, len, 1, &e), CAIRN_ECORRUPT);
}

/* ---- OOM loops -------------------------------------------------------------- */

static void test_block_oom(void **state)
{
    (void)state;
    t_rng_reset();
    lblk_head src;
    lblk_head_init(&src);
    oent *o = rand_head(&src, 200, 1, 0);
    /* lblk_head_add: every failure leaves the head exactly as it was. */
    for (int64_t nth = 0;; nth++) {
        lblk_head h;
        lblk_head_init(&h);
        int rc = CAIRN_OK;
        size_t i;
        for (i = 0; i < 200 && rc == CAIRN_OK; i++) {
            uint32_t before = h.n;
            mem_fail_after(nth);
            rc = lblk_head_add(&h, o[i].t, o[i].line, o[i].len, o[i].meta, o[i].mlen);
            mem_fail_after(-1);
            if (rc) {
                assert_int_equal(rc, CAIRN_ENOMEM);
                assert_int_equal(h.n, before);
            }
        }
        lblk_head_free(&h);
        if (rc == CAIRN_OK) break;
    }
    /* encode + open: clean CAIRN_ENOMEM until they succeed. */
    for (int64_t nth = 0;; nth++) {
        lblk_enc *e = NULL;
        lblk_dctx *z = NULL;
        lblk_dec d;
        lblk_dec_init(&d);
        buf out;
        buf_init(&out);
        lblk_view v;
        cairn_err err;
        mem_fail_after(nth);
        int rc = lblk_enc_new(&e);
        if (!rc) rc = lblk_encode(e, &src, 1, &out, &err);
        if (!rc) rc = lblk_dctx_new(&z);
        if (!rc) rc = lblk_open(z, &d, out.p, out.len, &v, &err);
        mem_fail_after(-1);
        if (!rc) check_view(&v, o, 200);
        else assert_int_equal(rc, CAIRN_ENOMEM);
        lblk_dec_free(&d);
        lblk_dctx_free(z);
        lblk_enc_free(e);
        buf_free(&out);
        if (!rc) break;
    }
    oents_free(o, 200);
    lblk_head_free(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_golden_encode),
        cmocka_unit_test(test_block_golden_decode),
        cmocka_unit_test(test_chunk_golden),
        cmocka_unit_test(test_block_roundtrip_random),
        cmocka_unit_test(test_block_extreme_timestamps),
        cmocka_unit_test(test_head_has_and_order),
        cmocka_unit_test(test_view_bounds),
        cmocka_unit_test(test_scan_boundaries),
        cmocka_unit_test(test_scan_random),
        cmocka_unit_test(test_block_corrupt_header),
        cmocka_unit_test(test_block_corrupt_flips),
        cmocka_unit_test(test_block_invalid_args),
        cmocka_unit_test(test_chunk_corrupt),
        cmocka_unit_test(test_block_oom),
    };
    t_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
