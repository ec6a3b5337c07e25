/*
 * test_wal.c — the write-ahead log: round trips across segments, replay from
 * a position, every torn-tail length, byte flips, zeroed tails, gaps, group
 * commit from 8 threads, the sticky fsync error, write rollback, truncation,
 * the golden record of docs/format/wal.md, bad arguments and the OOM loop.
 *
 * Payloads are generated from (seed, length) so the oracle keeps only a
 * checksum of each record, not its bytes.
 */
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "mem.h"
#include "wal.h"

/* ---- fixture and helpers --------------------------------------------------------- */

typedef struct fx {
    char *tmp;
    char dir[512]; /* tmp/wal: created by wal_open */
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    f->tmp = t_tmpdir("wal");
    if (!f->tmp) return -1;
    snprintf(f->dir, sizeof f->dir, "%s/wal", f->tmp);
    t_rng_reset();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    t_tmpdir_free(f->tmp);
    free(f);
    return 0;
}

/* Warnings and errors captured through log_fn. */
typedef struct logcap {
    int n, n_err;
    char last[1024];
} logcap;

static void cap_log(void *ctx, int level, const char *msg)
{
    logcap *c = ctx;
    assert_true(level == CAIRN_LOG_WARN || level == CAIRN_LOG_ERROR);
    c->n++;
    c->n_err += level == CAIRN_LOG_ERROR;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

static wal_opts opts(uint64_t seg_bytes, logcap *c)
{
    wal_opts o = { .segment_bytes = seg_bytes, .log_fn = cap_log, .log_ctx = c };
    return o;
}

/* Deterministic payload bytes from a seed. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 0x1234567;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(x >> 56);
    }
}

typedef struct rec {
    uint8_t type;
    size_t len;
    uint32_t crc; /* of the payload */
    uint64_t pos; /* end position */
} rec;

/* The replay oracle's view: what the handler saw. */
typedef struct seen {
    rec *r;
    size_t n, cap;
    int fail_at; /* return fail_rc on this record (1-based), 0 never */
    int fail_rc;
} seen;

static int on_rec(void *ctx, uint8_t type, const uint8_t *p, size_t len, uint64_t pos)
{
    seen *s = ctx;
    if (s->fail_at && (int)s->n + 1 == s->fail_at) return s->fail_rc;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->r = realloc(s->r, s->cap * sizeof *s->r);
        assert_non_null(s->r);
    }
    s->r[s->n++] = (rec){ type, len, crc32c(0, p, len), pos };
    return CAIRN_OK;
}

static void seen_free(seen *s)
{
    free(s->r);
    memset(s, 0, sizeof *s);
}

static void append_one(wal *w, rec *out, uint8_t type, size_t len, uint64_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    fill(p, len, seed);
    cairn_err e;
    uint64_t pos = 0;
    assert_int_equal(wal_append(w, type, p, len, &pos, &e), CAIRN_OK);
    *out = (rec){ type, len, crc32c(0, p, len), pos };
    free(p);
}

static void assert_recs(const seen *s, const rec *want, size_t n)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s->r[i].type, want[i].type);
        assert_int_equal(s->r[i].len, want[i].len);
        assert_int_equal(s->r[i].crc, want[i].crc);
        assert_int_equal(s->r[i].pos, want[i].pos);
    }
}

/* Open, replay from `from` into `s`, return the handle. */
static wal *reopen(fx *f, uint64_t seg_bytes, logcap *c, uint64_t from, seen *s)
{
    wal_opts o = opts(seg_bytes, c);
    wal *w = NULL;
    cairn_err e;
    int rc = wal_open(f->dir, &o, from, s ? on_rec : NULL, s, &w, &e);
    if (rc) fprintf(stderr, "wal_open: %s\n", e.msg);
    assert_int_equal(rc, CAIRN_OK);
    assert_non_null(w);
    return w;
}

static void seg_path(const fx *f, uint32_t no, char *out, size_t cap) { snprintf(out, cap, "%s/%08x", f->dir, no); }

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static long long seg_size(const fx *f, uint32_t no)
{
    char p[600];
    seg_path(f, no, p, sizeof p);
    return file_size(p);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)sz, fp), (size_t)sz);
    fclose(fp);
    *n = (size_t)sz;
    return p;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (n) assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

static void append_file(const char *path, const void *p, size_t n)
{
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_int_equal(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

static uint32_t pos_seg(uint64_t pos) { return (uint32_t)(pos >> 32); }
static uint64_t pos_off(uint64_t pos) { return (uint32_t)pos; }

/* ---- round trips --------------------------------------------------------------------- */

/* Random sizes from 0 bytes to 1 MiB over several 1 MiB segments; reopen twice. */
static void test_wal_roundtrip_random_sizes_across_segments(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    enum { N = 60 };
    rec want[N + 10];
    uint64_t total = 0;
    wal *w = reopen(f, 1u << 20, &c, 0, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(wal_position(w), 1ull << 32);
    for (size_t i = 0; i < N; i++) {
        size_t len;
        if (i == 0) len = 0;
        else if (i == 1) len = 1u << 20;
        else if (t_randn(8) == 0) len = (size_t)t_randn((1u << 20) + 1);
        else len = (size_t)t_randn((uint64_t)1 << t_randn(13));
        append_one(w, &want[i], (uint8_t)(1 + t_randn(254)), len, i); /* 255 is WAL_TYPE_SKIP */
        total += WAL_HDR_BYTES + len;
        if (i) assert_true(want[i].pos > want[i - 1].pos);
    }
    cairn_err e;
    assert_int_equal(wal_sync_to(w, want[N - 1].pos, &e), CAIRN_OK);
    assert_int_equal(wal_bytes(w), total);
    uint32_t last_seg = pos_seg(want[N - 1].pos);
    assert_true(last_seg >= 3);
    wal_close(w);

    w = reopen(f, 1u << 20, &c, 0, &s);
    assert_recs(&s, want, N);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_bytes(w), total);
    assert_int_equal(wal_position(w), want[N - 1].pos);
    for (size_t i = N; i < N + 10; i++) append_one(w, &want[i], 7, (size_t)t_randn(5000), i);
    wal_close(w);
    seen_free(&s);

    w = reopen(f, 1u << 20, &c, 0, &s);
    assert_recs(&s, want, N + 10);
    assert_int_equal(c.n, 0);
    wal_close(w);
    seen_free(&s);
}

/* Replay from the end position of record k delivers exactly the records after k. */
static void test_wal_replay_from_mid_position(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    enum { N = 30 };
    rec want[N];
    wal *w = reopen(f, 512, &c, 0, &s);
    for (size_t i = 0; i < N; i++) append_one(w, &want[i], 1, 50 + (size_t)t_randn(150), i);
    uint64_t end = wal_position(w);
    wal_close(w);

    size_t ks[] = { 0, 1, 7, 15, N - 2, N - 1 };
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
        size_t k = ks[j];
        seen_free(&s);
        w = reopen(f, 512, &c, want[k].pos, &s);
        assert_recs(&s, want + k + 1, N - 1 - k);
        assert_int_equal(wal_position(w), end);
        wal_close(w);
    }
    /* From the start of a segment (offset 0): that segment's records and later. */
    size_t k0 = 0;
    while (pos_seg(want[k0].pos) < 3) k0++;
    seen_free(&s);
    w = reopen(f, 512, &c, (uint64_t)3 << 32, &s);
    assert_recs(&s, want + k0, N - k0);
    wal_close(w);
    assert_int_equal(c.n, 0);
    seen_free(&s);
}

/* A record bigger than segment_bytes gets a segment of its own. */
static void test_wal_big_record_gets_own_segment(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[3];
    wal *w = reopen(f, 1024, &c, 0, &s);
    append_one(w, &want[0], 1, 100, 1);
    append_one(w, &want[1], 1, 5000, 2);
    append_one(w, &want[2], 1, 100, 3);
    assert_int_equal(want[0].pos, (1ull << 32) | 109);
    assert_int_equal(want[1].pos, (2ull << 32) | 5009);
    assert_int_equal(want[2].pos, (3ull << 32) | 109);
    wal_close(w);
    assert_int_equal(seg_size(f, 2), 5009);
    w = reopen(f, 1024, &c, 0, &s);
    assert_recs(&s, want, 3);
    wal_close(w);
    seen_free(&s);
}

static void test_wal_cut_starts_new_segment(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[2];
    cairn_err e;
    uint64_t pos;
    wal *w = reopen(f, 1 << 20, &c, 0, &s);
    /* An empty segment is already new: no second empty file. */
    assert_int_equal(wal_cut(w, &pos, &e), CAIRN_OK);
    assert_int_equal(pos, 1ull << 32);
    append_one(w, &want[0], 2, 10, 1);
    assert_int_equal(wal_cut(w, &pos, &e), CAIRN_OK);
    assert_int_equal(pos, 2ull << 32);
    assert_int_equal(wal_position(w), 2ull << 32);
    assert_int_equal(wal_cut(w, &pos, &e), CAIRN_OK);
    assert_int_equal(pos, 2ull << 32);
    append_one(w, &want[1], 3, 10, 2);
    assert_int_equal(want[1].pos, (2ull << 32) | 19);
    /* One round: the retired segment 1, the directory (new name), then segment 2. */
    uint64_t fs0 = wal_fsyncs(w);
    assert_int_equal(wal_sync_to(w, want[0].pos, &e), CAIRN_OK);
    assert_int_equal(wal_fsyncs(w) - fs0, 3);
    assert_int_equal(wal_sync_to(w, want[1].pos, &e), CAIRN_OK); /* covered by that round */
    assert_int_equal(wal_fsyncs(w) - fs0, 3);
    wal_close(w);
    assert_int_equal(seg_size(f, 3), -1);
    w = reopen(f, 1 << 20, &c, 0, &s);
    assert_recs(&s, want, 2);
    wal_close(w);
    seen_free(&s);
}

/* ---- golden bytes (docs/format/wal.md, "Example") ---------------------------------------- */

static void test_wal_golden_record(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    cairn_err e;
    uint64_t pos;
    wal *w = reopen(f, 0, &c, 0, NULL);
    assert_int_equal(wal_append(w, 1, "cairn", 5, &pos, &e), CAIRN_OK);
    assert_int_equal(pos, (1ull << 32) | 14);
    wal_close(w);
    static const uint8_t golden[] = { 0x05, 0x00, 0x00, 0x00, 0x10, 0x86, 0x85, 0x93, 0x01,
                                      0x63, 0x61, 0x69, 0x72, 0x6e };
    char p[600];
    size_t n;
    seg_path(f, 1, p, sizeof p);
    uint8_t *b = read_file(p, &n);
    assert_int_equal(n, sizeof golden);
    assert_memory_equal(b, golden, sizeof golden);
    free(b);
}

/* ---- damaged logs -------------------------------------------------------------------------- */

/* Four records; returns the bytes of segment 1 and the start of the last record. */
static uint8_t *make_four(fx *f, rec want[4], size_t *n, uint64_t *last_start)
{
    logcap c = { 0 };
    wal *w = reopen(f, 0, &c, 0, NULL);
    append_one(w, &want[0], 1, 0, 11);
    append_one(w, &want[1], 2, 17, 12);
    append_one(w, &want[2], 3, 300, 13);
    append_one(w, &want[3], 4, 40, 14);
    wal_close(w);
    *last_start = pos_off(want[2].pos);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    return read_file(p, n);
}

/* Cut the last record at every byte: the three before it replay, the log goes on. */
static void test_wal_torn_tail_every_length(void **state)
{
    fx *f = *state;
    rec want[5];
    size_t n;
    uint64_t start;
    uint8_t *img = make_four(f, want, &n, &start);
    assert_int_equal(n, start + WAL_HDR_BYTES + 40);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    for (size_t cut = start; cut < n; cut++) {
        logcap c = { 0 };
        seen s = { 0 };
        write_file(p, img, cut);
        wal *w = reopen(f, 0, &c, 0, &s);
        assert_recs(&s, want, 3);
        if (cut == start) {
            assert_int_equal(c.n, 0);
        } else {
            char msg[1200];
            const char *why = cut - start < WAL_HDR_BYTES ? "torn record header" : "torn record (payload";
            assert_int_equal(c.n, 1);
            assert_non_null(strstr(c.last, why));
            snprintf(msg, sizeof msg, "in segment 00000001 at offset %llu; truncated there, dropping %llu bytes (a torn tail)",
                     (unsigned long long)start, (unsigned long long)(cut - start));
            assert_non_null(strstr(c.last, msg));
            assert_int_equal(c.n_err, 0); /* a torn tail is normal after kill -9 */
        }
        assert_int_equal(file_size(p), (long long)start);
        assert_int_equal(wal_position(w), want[2].pos);
        append_one(w, &want[3], 9, (size_t)t_randn(64), cut);
        wal_close(w);
        seen_free(&s);
        c.n = 0;
        w = reopen(f, 0, &c, 0, &s);
        assert_recs(&s, want, 4);
        assert_int_equal(c.n, 0);
        wal_close(w);
        seen_free(&s);
    }
    free(img);
}

/* Flip one bit in each byte of the last record in turn. */
static void test_wal_byte_flip_in_tail_record(void **state)
{
    fx *f = *state;
    rec want[4];
    size_t n;
    uint64_t start;
    uint8_t *img = make_four(f, want, &n, &start);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    for (size_t i = start; i < n; i++) {
        logcap c = { 0 };
        seen s = { 0 };
        img[i] ^= (uint8_t)(1u << (i % 8));
        write_file(p, img, n);
        img[i] ^= (uint8_t)(1u << (i % 8));
        wal *w = reopen(f, 0, &c, 0, &s);
        assert_recs(&s, want, 3);
        assert_int_equal(c.n, 1);
        char msg[200];
        snprintf(msg, sizeof msg, "at offset %llu; truncated there, dropping %llu bytes", (unsigned long long)start,
                 (unsigned long long)(n - start));
        assert_non_null(strstr(c.last, msg));
        assert_int_equal(file_size(p), (long long)start);
        wal_close(w);
        seen_free(&s);
    }
    free(img);
}

/* Count the quarantine files in the WAL directory and return the size of the last one found. */
static int quarantine_files(const fx *f, long long *size)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '^corrupt-'", f->dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = 0;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    if (size) {
        snprintf(cmd, sizeof cmd, "cat %s/corrupt-* | wc -c", f->dir);
        p = popen(cmd, "r");
        assert_non_null(p);
        assert_int_equal(fscanf(p, "%lld", size), 1);
        pclose(p);
    }
    return n;
}

/*
 * A flip in a middle record of a middle segment (issue 10, item 8): every other
 * record replays, in that segment and in the later ones; no segment is deleted;
 * the damaged record's bytes are quarantined and counted; the repair sticks.
 */
static void test_wal_byte_flip_in_middle_record(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    enum { N = 40 };
    rec want[N + 1];
    wal *w = reopen(f, 1024, &c, 0, &s);
    for (size_t i = 0; i < N; i++) append_one(w, &want[i], 5, 80 + (size_t)t_randn(40), i);
    wal_close(w);
    uint32_t last = pos_seg(want[N - 1].pos);
    assert_true(last >= 4);
    long long sizes[64];
    for (uint32_t no = 1; no <= last; no++) sizes[no] = seg_size(f, no);
    /* the second record of segment 2 */
    size_t k = 0;
    while (pos_seg(want[k].pos) < 2) k++;
    k++;
    assert_int_equal(pos_seg(want[k].pos), 2);
    uint64_t start = pos_off(want[k - 1].pos);
    uint64_t rec_bytes = WAL_HDR_BYTES + want[k].len;
    char p[600];
    size_t n;
    seg_path(f, 2, p, sizeof p);
    uint8_t *img = read_file(p, &n);
    img[start + WAL_HDR_BYTES + 3] ^= 0x40;
    write_file(p, img, n);

    w = reopen(f, 1024, &c, 0, &s);
    /* everything but record k */
    rec expect[N];
    memcpy(expect, want, k * sizeof *want);
    memcpy(expect + k, want + k + 1, (N - k - 1) * sizeof *want);
    assert_recs(&s, expect, N - 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.n_err, 1);
    char msg[1200];
    assert_non_null(strstr(c.last, "CORRUPTION: CRC mismatch (stored "));
    snprintf(msg, sizeof msg, "in segment 00000002 at offset %llu; %llu bytes quarantined in %s/corrupt-00000002-%08llx, "
             "replay resumed at offset %llu", (unsigned long long)start, (unsigned long long)rec_bytes, f->dir,
             (unsigned long long)start, (unsigned long long)(start + rec_bytes));
    assert_non_null(strstr(c.last, msg));
    wal_stats st;
    wal_stats_get(w, &st);
    assert_int_equal(st.corruptions, 1);
    assert_int_equal(st.quarantined_bytes, rec_bytes);
    /* nothing deleted or resized; the quarantine file holds the original bytes */
    for (uint32_t no = 1; no <= last; no++) assert_int_equal(seg_size(f, no), sizes[no]);
    char q[700];
    snprintf(q, sizeof q, "%s/corrupt-00000002-%08llx", f->dir, (unsigned long long)start);
    size_t qn;
    uint8_t *qb = read_file(q, &qn);
    assert_int_equal(qn, rec_bytes);
    assert_memory_equal(qb, img + start, rec_bytes);
    free(qb);
    free(img);
    /* appends continue after the last record of the last segment */
    append_one(w, &want[N], 6, 33, 999);
    assert_int_equal(pos_seg(want[N].pos), last);
    wal_close(w);
    seen_free(&s);
    /* the repair sticks: the next open replays the same records, quietly */
    c.n = c.n_err = 0;
    w = reopen(f, 1024, &c, 0, &s);
    expect[N - 1] = want[N];
    assert_recs(&s, expect, N);
    assert_int_equal(c.n, 0);
    wal_stats_get(w, &st);
    assert_int_equal(st.corruptions, 0);
    assert_int_equal(quarantine_files(f, NULL), 1);
    wal_close(w);
    seen_free(&s);
}

/* Zeros after the last record (preallocated or unwritten space), and a wholly zeroed next segment. */
static void test_wal_zero_filled_tail(void **state)
{
    fx *f = *state;
    rec want[5];
    size_t n;
    uint64_t start;
    uint8_t *img = make_four(f, want, &n, &start);
    free(img);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    uint8_t *zeros = calloc(1, 8192);
    assert_non_null(zeros);
    append_file(p, zeros, 8192);
    logcap c = { 0 };
    seen s = { 0 };
    wal *w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 4);
    assert_int_equal(c.n, 1);
    char msg[1200];
    snprintf(msg, sizeof msg, "wal %s: record type 0 (zeroed or unwritten space) in segment 00000001 at offset %zu; "
             "truncated there, dropping 8192 bytes (a torn tail)", f->dir, n);
    assert_string_equal(c.last, msg);
    assert_int_equal(file_size(p), (long long)n);
    wal_close(w);
    seen_free(&s);

    /* A zeroed segment 2: replay ends at its start; appends continue there. */
    char p2[600];
    seg_path(f, 2, p2, sizeof p2);
    write_file(p2, zeros, 4096);
    c.n = 0;
    w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 4);
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.last, "record type 0 (zeroed or unwritten space) in segment 00000002 at offset 0;"));
    assert_int_equal(file_size(p2), 0);
    append_one(w, &want[4], 1, 5, 5);
    assert_int_equal(want[4].pos, (2ull << 32) | 14);
    wal_close(w);
    seen_free(&s);
    w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 5);
    wal_close(w);
    seen_free(&s);
    free(zeros);
}

/* A length over the cap (or over what the file holds) must not be allocated. */
static void test_wal_absurd_length_is_corruption(void **state)
{
    fx *f = *state;
    rec want[4];
    size_t n;
    uint64_t start;
    uint8_t *img = make_four(f, want, &n, &start);
    free(img);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    uint8_t hdr[WAL_HDR_BYTES + 16] = { 0xf0, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1 };
    append_file(p, hdr, sizeof hdr);
    logcap c = { 0 };
    seen s = { 0 };
    uint64_t before = mem_in_use();
    wal *w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 4);
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.last, "record length 4294967280 over the 1073741824-byte limit in segment 00000001"));
    wal_close(w);
    assert_int_equal(mem_in_use(), before);
    seen_free(&s);

    /* within the cap but longer than the file */
    uint8_t hdr2[WAL_HDR_BYTES + 16] = { 0x00, 0x00, 0x00, 0x20, 0, 0, 0, 0, 1 };
    append_file(p, hdr2, sizeof hdr2);
    c.n = 0;
    w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 4);
    assert_non_null(strstr(c.last, "torn record (payload of 536870912 bytes, 16 present)"));
    wal_close(w);
    seen_free(&s);
}

/*
 * A missing segment in the middle of the sequence refuses the open, naming it
 * (as Prometheus refuses non-sequential segments); nothing is changed on disk.
 * With skip_missing the rest replays, loudly and counted, and nothing is deleted.
 */
static void test_wal_gap_in_segment_numbers(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[12];
    wal *w = reopen(f, 256, &c, 0, &s);
    for (size_t i = 0; i < 10; i++) append_one(w, &want[i], 1, 100, i); /* two per segment */
    wal_close(w);
    assert_int_equal(pos_seg(want[9].pos), 5);
    char p[600];
    seg_path(f, 3, p, sizeof p);
    assert_int_equal(unlink(p), 0);

    wal_opts o = opts(256, &c);
    cairn_err e;
    w = NULL;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_null(w);
    assert_int_equal(s.n, 0); /* refused before replaying anything */
    char msg[1200];
    snprintf(msg, sizeof msg, "wal %s: segment 00000003 is missing (1 missing in all); the records in it are lost. "
             "Restore it, or open with skip_missing (cairn serve --wal-skip-missing) to replay the rest", f->dir);
    assert_string_equal(e.msg, msg);
    for (uint32_t no = 1; no <= 5; no++) assert_int_equal(seg_size(f, no), no == 3 ? -1 : 218);

    o.skip_missing = 1;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_OK);
    rec expect[12];
    memcpy(expect, want, 4 * sizeof *want);
    memcpy(expect + 4, want + 6, 4 * sizeof *want);
    assert_recs(&s, expect, 8);
    assert_int_equal(c.n_err, 1);
    assert_non_null(strstr(c.last, "DATA LOSS: segment 00000003 is missing (1 missing in all)"));
    wal_stats st;
    wal_stats_get(w, &st);
    assert_int_equal(st.missing_segments, 1);
    for (uint32_t no = 1; no <= 5; no++) assert_int_equal(seg_size(f, no), no == 3 ? -1 : 218);
    append_one(w, &want[10], 1, 100, 44);
    assert_int_equal(want[10].pos, (6ull << 32) | 109); /* segment 5 was full */
    wal_close(w);
    seen_free(&s);
}

/* A missing first segment (replay from 0, or from a checkpoint's segment) and a lost only segment. */
static void test_wal_missing_first_segment(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[6];
    wal *w = reopen(f, 256, &c, 0, &s);
    for (size_t i = 0; i < 6; i++) append_one(w, &want[i], 1, 100, i); /* segments 1..3 */
    wal_close(w);
    char p[600];
    seg_path(f, 1, p, sizeof p);
    assert_int_equal(unlink(p), 0);
    wal_opts o = opts(256, &c);
    cairn_err e;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "segment 00000001 is missing (1 missing in all)"));
    /* from a checkpoint at the start of segment 2: fine; at segment 2 when 2 is gone: refused */
    w = reopen(f, 256, &c, 2ull << 32, &s);
    assert_recs(&s, want + 2, 4);
    wal_close(w);
    seen_free(&s);
    seg_path(f, 2, p, sizeof p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(wal_open(f->dir, &o, 2ull << 32, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "segment 00000002 is missing"));
    seg_path(f, 3, p, sizeof p);
    assert_int_equal(unlink(p), 0);
    /* the checkpoint's segment and everything after it gone */
    assert_int_equal(wal_open(f->dir, &o, 2ull << 32, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "segment 00000002 is missing (1 missing in all)"));
    /* no checkpoint, the caller knows there were records, no segment at all */
    o.expect_records = 1;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_non_null(strstr(e.msg, "segment 00000001 is missing"));
    /* a fresh log is not a missing one */
    o.expect_records = 0;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_OK);
    assert_int_equal(s.n, 0);
    wal_close(w);
    seen_free(&s);
}

/*
 * A damaged length field in the middle of the last segment: the records after
 * it are found by scanning for the next intact pair of records, replayed, and
 * appends go after them (nothing acknowledged is cut off).
 */
static void test_wal_damaged_length_mid_last_segment(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    enum { N = 12 };
    rec want[N + 1];
    wal *w = reopen(f, 0, &c, 0, &s);
    for (size_t i = 0; i < N; i++) append_one(w, &want[i], 3, 50 + (size_t)t_randn(100), 100 + i);
    wal_close(w);
    char p[600];
    size_t n;
    seg_path(f, 1, p, sizeof p);
    uint8_t *img = read_file(p, &n);
    uint64_t x = pos_off(want[4].pos); /* record 5 starts here */
    img[x + 1] ^= 0x7f;                /* its length: now over what the file holds */
    write_file(p, img, n);
    free(img);
    w = reopen(f, 0, &c, 0, &s);
    rec expect[N + 1];
    memcpy(expect, want, 5 * sizeof *want);
    memcpy(expect + 5, want + 6, (N - 6) * sizeof *want);
    assert_recs(&s, expect, N - 1);
    assert_int_equal(c.n_err, 1);
    assert_non_null(strstr(c.last, "CORRUPTION: torn record (payload of "));
    assert_int_equal(seg_size(f, 1), (long long)n);
    wal_stats st;
    wal_stats_get(w, &st);
    assert_int_equal(st.corruptions, 1);
    assert_int_equal(st.quarantined_bytes, WAL_HDR_BYTES + want[5].len);
    append_one(w, &want[N], 1, 10, 7);
    assert_int_equal(want[N].pos, (1ull << 32) | (n + WAL_HDR_BYTES + 10));
    wal_close(w);
    seen_free(&s);
    c.n = 0;
    w = reopen(f, 0, &c, 0, &s);
    expect[N - 1] = want[N];
    assert_recs(&s, expect, N);
    assert_int_equal(c.n, 0);
    wal_close(w);
    seen_free(&s);
}

static void test_wal_skip_type_is_reserved(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    wal *w = reopen(f, 0, &c, 0, NULL);
    cairn_err e;
    uint64_t pos = 0;
    assert_int_equal(wal_append(w, WAL_TYPE_SKIP, "x", 1, &pos, &e), CAIRN_EINVAL);
    assert_int_equal(wal_position(w), 1ull << 32);
    wal_close(w);
}

/* from_pos past the end of its segment: nothing to replay, appends go to a new segment. */
static void test_wal_from_pos_past_segment_end(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[2];
    wal *w = reopen(f, 0, &c, 0, &s);
    append_one(w, &want[0], 1, 10, 1);
    wal_close(w);
    uint64_t from = (1ull << 32) | 5000;
    w = reopen(f, 0, &c, from, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(c.n, 1);
    assert_non_null(strstr(c.last, "replay starts at offset 5000 of segment 00000001, which has only 19 bytes; continuing after it"));
    append_one(w, &want[1], 1, 10, 2);
    assert_int_equal(want[1].pos, (2ull << 32) | 19);
    wal_close(w);
    w = reopen(f, 0, &c, from, &s);
    assert_recs(&s, want + 1, 1);
    wal_close(w);
    seen_free(&s);
}

static void test_wal_ignores_foreign_files(void **state)
{
    fx *f = *state;
    rec want[4];
    size_t n;
    uint64_t start;
    free(make_four(f, want, &n, &start));
    const char *names[] = { "README", "0000000g", "00000000", "000000002", "ABCDEF01", "00000002.tmp" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s/%s", f->dir, names[i]);
        write_file(p, "junk", 4);
    }
    logcap c = { 0 };
    seen s = { 0 };
    wal *w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 4);
    assert_int_equal(c.n, 0);
    wal_close(w);
    seen_free(&s);
}

/* ---- truncation ------------------------------------------------------------------------------- */

static void test_wal_truncate_before(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[20];
    cairn_err e;
    wal *w = reopen(f, 256, &c, 0, &s);
    for (size_t i = 0; i < 20; i++) append_one(w, &want[i], 1, 100, i); /* segments 1..10, two each */
    assert_int_equal(pos_seg(want[19].pos), 10);
    assert_int_equal(wal_bytes(w), 20 * 109);

    /* inside segment 4: 1..3 go */
    assert_int_equal(wal_truncate_before(w, want[6].pos, &e), CAIRN_OK);
    for (uint32_t no = 1; no <= 3; no++) assert_int_equal(seg_size(f, no), -1);
    assert_int_equal(seg_size(f, 4), 218);
    assert_int_equal(wal_bytes(w), 14 * 109);
    /* at the very end of segment 4: it goes too */
    assert_int_equal(wal_truncate_before(w, want[7].pos, &e), CAIRN_OK);
    assert_int_equal(seg_size(f, 4), -1);
    assert_int_equal(seg_size(f, 5), 218);
    /* idempotent */
    assert_int_equal(wal_truncate_before(w, want[7].pos, &e), CAIRN_OK);
    assert_int_equal(seg_size(f, 5), 218);
    /* everything: never the current segment */
    assert_int_equal(wal_truncate_before(w, wal_position(w), &e), CAIRN_OK);
    for (uint32_t no = 5; no <= 9; no++) assert_int_equal(seg_size(f, no), -1);
    assert_int_equal(seg_size(f, 10), 218);
    assert_int_equal(wal_bytes(w), 2 * 109);
    uint64_t end = wal_position(w);
    wal_close(w);

    w = reopen(f, 256, &c, want[18].pos, &s);
    assert_recs(&s, want + 19, 1);
    wal_close(w);
    seen_free(&s);
    w = reopen(f, 256, &c, end, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(wal_position(w), end);
    wal_close(w);
}

/* ---- durability ---------------------------------------------------------------------------------- */

typedef struct gc_thread {
    wal *w;
    int id;
    int n;
    rec acked[64];
    int rc;
} gc_thread;

static void *gc_main(void *arg)
{
    gc_thread *t = arg;
    uint8_t p[4096];
    uint64_t x = (uint64_t)t->id * 7919 + 1;
    for (int i = 0; i < t->n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = 64 + (size_t)(x >> 33) % 4000;
        fill(p, len, (uint64_t)t->id << 32 | (uint64_t)i);
        uint64_t pos;
        cairn_err e;
        if ((t->rc = wal_append(t->w, (uint8_t)(1 + t->id), p, len, &pos, &e))) return NULL;
        if ((t->rc = wal_sync_to(t->w, pos, &e))) return NULL;
        t->acked[i] = (rec){ (uint8_t)(1 + t->id), len, crc32c(0, p, len), pos };
    }
    return NULL;
}

static int cmp_rec_pos(const void *a, const void *b)
{
    uint64_t x = ((const rec *)a)->pos, y = ((const rec *)b)->pos;
    return x < y ? -1 : x > y;
}

/* 8 threads append and sync; each acknowledged record replays; fsyncs are shared. */
static void test_wal_group_commit_8_threads(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    enum { T = 8, PER = 40 };
    gc_thread th[T];
    pthread_t tid[T];
    wal *w = reopen(f, 64 << 10, &c, 0, &s);
    uint64_t fs0 = wal_fsyncs(w);
    for (int i = 0; i < T; i++) {
        th[i] = (gc_thread){ .w = w, .id = i, .n = PER };
        assert_int_equal(pthread_create(&tid[i], NULL, gc_main, &th[i]), 0);
    }
    for (int i = 0; i < T; i++) pthread_join(tid[i], NULL);
    for (int i = 0; i < T; i++) assert_int_equal(th[i].rc, CAIRN_OK);
    uint64_t fsyncs = wal_fsyncs(w) - fs0;
    fprintf(stderr, "[   info   ] %d syncs requested, %llu fsyncs done\n", T * PER, (unsigned long long)fsyncs);
    assert_true(fsyncs < T * PER);
    assert_true(pos_seg(wal_position(w)) >= 3); /* segments were cut while others synced */
    wal_close(w);

    static rec all[T * PER];
    for (int i = 0; i < T; i++) memcpy(all + i * PER, th[i].acked, PER * sizeof(rec));
    qsort(all, T * PER, sizeof(rec), cmp_rec_pos);
    w = reopen(f, 64 << 10, &c, 0, &s);
    assert_recs(&s, all, T * PER);
    assert_int_equal(c.n, 0);
    wal_close(w);
    seen_free(&s);
}

/* After a failed fsync every append and sync fails, until reopen. */
static void test_wal_fsync_error_is_sticky(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[3];
    cairn_err e;
    uint64_t pos;
    wal *w = reopen(f, 0, &c, 0, &s);
    append_one(w, &want[0], 1, 10, 1);
    assert_int_equal(wal_sync_to(w, want[0].pos, &e), CAIRN_OK);
    append_one(w, &want[1], 1, 10, 2);
    wal_test_fault(w, WAL_FAULT_FSYNC, EIO);
    char msg[1200];
    snprintf(msg, sizeof msg,
             "wal %s: an earlier fsync of segment 00000001 failed; refusing writes until reopen: %s", f->dir,
             strerror(EIO));
    assert_int_equal(wal_sync_to(w, want[1].pos, &e), CAIRN_EIO);
    assert_int_equal(e.sys_errno, EIO);
    assert_string_equal(e.msg, msg);
    memset(&e, 0, sizeof e);
    assert_int_equal(wal_append(w, 1, "x", 1, &pos, &e), CAIRN_EIO);
    assert_string_equal(e.msg, msg);
    assert_int_equal(wal_sync_to(w, want[0].pos, &e), CAIRN_EIO); /* even positions synced before */
    assert_int_equal(wal_cut(w, &pos, &e), CAIRN_EIO);
    assert_int_equal(wal_position(w), want[1].pos);
    wal_close(w);
    /* reopen replays what is on disk; writes work again */
    w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 2);
    append_one(w, &want[2], 1, 10, 3);
    assert_int_equal(wal_sync_to(w, want[2].pos, &e), CAIRN_OK);
    wal_close(w);
    seen_free(&s);
}

/* A failed write is rolled back (not sticky); a short write is retried. */
static void test_wal_write_failure_rolls_back(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    seen s = { 0 };
    rec want[3];
    cairn_err e;
    uint64_t pos = 0;
    wal *w = reopen(f, 0, &c, 0, &s);
    append_one(w, &want[0], 1, 100, 1);
    wal_test_fault(w, WAL_FAULT_WRITE, ENOSPC);
    uint8_t p[100];
    fill(p, sizeof p, 2);
    /* a full disk is CAIRN_ENOSPC (HTTP 507), saying so first */
    assert_int_equal(wal_append(w, 1, p, sizeof p, &pos, &e), CAIRN_ENOSPC);
    assert_int_equal(e.code, CAIRN_ENOSPC);
    assert_int_equal(e.sys_errno, ENOSPC);
    char msg[1200];
    snprintf(msg, sizeof msg,
             "no space left on device: wal %s: write of a 109-byte record to segment 00000001 at offset 109: %s",
             f->dir, strerror(ENOSPC));
    assert_string_equal(e.msg, msg);
    assert_int_equal(pos, 0);
    assert_int_equal(seg_size(f, 1), 109);
    /* other errors stay CAIRN_EIO; a quota is a full disk too */
    wal_test_fault(w, WAL_FAULT_WRITE, EIO);
    assert_int_equal(wal_append(w, 1, p, sizeof p, &pos, &e), CAIRN_EIO);
    assert_int_equal(e.sys_errno, EIO);
    wal_test_fault(w, WAL_FAULT_WRITE, EDQUOT);
    assert_int_equal(wal_append(w, 1, p, sizeof p, &pos, &e), CAIRN_ENOSPC);
    assert_non_null(strstr(e.msg, "no space left on device: "));
    assert_int_equal(pos, 0);
    assert_int_equal(seg_size(f, 1), 109);
    assert_int_equal(wal_position(w), want[0].pos);
    wal_test_fault(w, WAL_FAULT_SHORT_WRITE, 0);
    append_one(w, &want[1], 2, 3000, 3);
    append_one(w, &want[2], 3, 0, 4);
    assert_int_equal(wal_sync_to(w, want[2].pos, &e), CAIRN_OK);
    wal_close(w);
    w = reopen(f, 0, &c, 0, &s);
    assert_recs(&s, want, 3);
    assert_int_equal(c.n, 0);
    wal_close(w);
    seen_free(&s);
}

/* ---- failure paths ------------------------------------------------------------------------------ */

static void test_wal_invalid_arguments(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    cairn_err e;
    uint64_t pos;
    wal *w = NULL;
    assert_int_equal(wal_open(NULL, NULL, 0, NULL, NULL, &w, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "wal_open: missing directory or output");
    wal_opts o = opts(WAL_MAX_SEGMENT_BYTES + 1, &c);
    assert_int_equal(wal_open(f->dir, &o, 0, NULL, NULL, &w, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "wal_open: segment_bytes 2147483649 over the limit of 2147483648");
    assert_null(w);

    char file[600], msg[1200];
    snprintf(file, sizeof file, "%s/plain", f->tmp);
    write_file(file, "x", 1);
    assert_int_equal(wal_open(file, NULL, 0, NULL, NULL, &w, &e), CAIRN_EIO);
    assert_int_equal(e.sys_errno, ENOTDIR);
    snprintf(msg, sizeof msg, "wal %s: open directory: %s", file, strerror(ENOTDIR));
    assert_string_equal(e.msg, msg);

    w = reopen(f, 0, &c, 0, NULL);
    assert_int_equal(wal_append(w, 0, "x", 1, &pos, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "wal_append: record type 0 is reserved (it marks zeroed space)");
    assert_int_equal(wal_append(w, 1, "x", (size_t)WAL_MAX_RECORD + 1, &pos, &e), CAIRN_ELIMIT);
    assert_string_equal(e.msg, "wal_append: record of 1073741825 bytes exceeds the WAL limit of 1073741824 bytes");
    assert_int_equal(wal_append(w, 1, NULL, 5, &pos, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "wal_append: NULL payload with length 5");
    assert_int_equal(wal_append(w, 1, NULL, 0, &pos, &e), CAIRN_OK);
    assert_int_equal(wal_sync_to(w, pos + 1, &e), CAIRN_EINVAL);
    snprintf(msg, sizeof msg, "wal %s: sync to 00000001:10, past the end of the log (00000001:9)", f->dir);
    assert_string_equal(e.msg, msg);
    assert_int_equal(wal_sync_to(w, pos, &e), CAIRN_OK);
    assert_int_equal(wal_sync_to(w, 0, &e), CAIRN_OK);
    assert_int_equal(wal_append(NULL, 1, "x", 1, &pos, &e), CAIRN_EINVAL);
    assert_int_equal(wal_sync_to(NULL, 0, &e), CAIRN_EINVAL);
    assert_int_equal(wal_cut(NULL, &pos, &e), CAIRN_EINVAL);
    assert_int_equal(wal_truncate_before(NULL, 0, &e), CAIRN_EINVAL);
    wal_close(w);
    wal_close(NULL);
}

/* The handler's error fails wal_open and changes nothing on disk. */
static void test_wal_handler_error_fails_open(void **state)
{
    fx *f = *state;
    rec want[4];
    size_t n;
    uint64_t start;
    free(make_four(f, want, &n, &start));
    seen s = { .fail_at = 3, .fail_rc = CAIRN_ECORRUPT };
    wal_opts o = { 0 };
    wal *w = (wal *)&o; /* must be reset to NULL */
    cairn_err e;
    assert_int_equal(wal_open(f->dir, &o, 0, on_rec, &s, &w, &e), CAIRN_ECORRUPT);
    assert_null(w);
    char msg[1200];
    snprintf(msg, sizeof msg,
             "wal %s: replay handler failed (CAIRN_ECORRUPT) on the record at segment 00000001 offset %llu",
             f->dir, (unsigned long long)pos_off(want[1].pos));
    assert_string_equal(e.msg, msg);
    assert_int_equal(s.n, 2);
    assert_int_equal(seg_size(f, 1), (long long)n);
    seen_free(&s);
}

/* Fail allocation N for N = 0, 1, 2, ... until wal_open succeeds: clean ENOMEM, no leak. */
static void test_wal_open_oom_loop(void **state)
{
    fx *f = *state;
    logcap c = { 0 };
    rec want[20];
    wal *w = reopen(f, 512, &c, 0, NULL);
    for (size_t i = 0; i < 20; i++) append_one(w, &want[i], 1, 100, i);
    wal_close(w);
    uint64_t base = mem_in_use();
    int failures = 0;
    for (int64_t nth = 0;; nth++) {
        seen s = { 0 };
        wal_opts o = opts(512, &c);
        cairn_err e;
        w = NULL;
        mem_fail_after(nth);
        int rc = wal_open(f->dir, &o, 0, on_rec, &s, &w, &e);
        mem_fail_after(-1);
        seen_free(&s);
        if (rc == CAIRN_OK) {
            wal_close(w);
            break;
        }
        assert_int_equal(rc, CAIRN_ENOMEM);
        assert_null(w);
        assert_int_equal(mem_in_use(), base);
        failures++;
        assert_true(nth < 1000);
    }
    assert_true(failures >= 3);
    assert_int_equal(mem_in_use(), base);
    seen s = { 0 };
    w = reopen(f, 512, &c, 0, &s);
    assert_recs(&s, want, 20);
    assert_int_equal(c.n, 0);

    /* OOM while cutting a segment: the append fails whole, the next one works */
    uint8_t p[300];
    uint64_t pos = 0;
    cairn_err e;
    mem_fail_after(0);
    int rc = wal_append(w, 1, p, sizeof p, &pos, &e);
    mem_fail_after(-1);
    assert_int_equal(rc, CAIRN_ENOMEM);
    assert_int_equal(wal_position(w), want[19].pos);
    wal_close(w);
    seen_free(&s);
    assert_int_equal(mem_in_use(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wal_roundtrip_random_sizes_across_segments, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_replay_from_mid_position, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_big_record_gets_own_segment, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_cut_starts_new_segment, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_golden_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_torn_tail_every_length, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_byte_flip_in_tail_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_byte_flip_in_middle_record, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_zero_filled_tail, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_absurd_length_is_corruption, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_gap_in_segment_numbers, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_missing_first_segment, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_damaged_length_mid_last_segment, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_skip_type_is_reserved, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_from_pos_past_segment_end, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_ignores_foreign_files, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_truncate_before, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_group_commit_8_threads, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_fsync_error_is_sticky, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_write_failure_rolls_back, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_invalid_arguments, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_handler_error_fails_open, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wal_open_oom_loop, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
