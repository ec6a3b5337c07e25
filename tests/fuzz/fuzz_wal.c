/*
 * fuzz_wal.c — WAL replay over arbitrary segment bytes.
 *
 * The input becomes segment 00000001 of a per-process directory (emptied for
 * each input). An independent reading of docs/format/wal.md ("Replay and
 * repair", the oracle below) says which records are intact: the leading good
 * ones, and after a damaged span the ones from where intact records start
 * again (the end the bad header claims, else the first good record followed
 * by a good record or the end of the file). wal_open must deliver exactly
 * those (type 255 skip records excepted), with their CRC verified here
 * against the stored one, and leave the file cut at the start of a damaged
 * span that runs to its end, else untouched in size. Then one record is
 * appended, the WAL is reopened, and it must replay the same records plus
 * the new one.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                         \
    do {                                                                                                 \
        if (!(c)) {                                                                                      \
            fprintf(stderr, "fuzz_wal: check failed: %s (line %d)\n", #c, __LINE__);                    \
            abort();                                                                                     \
        }                                                                                                \
    } while (0)

typedef struct good {
    size_t off; /* header start in the input */
    uint32_t len;
    uint8_t type;
} good;

typedef struct ctx {
    const uint8_t *data;
    const good *g;
    size_t n_good, seen;
    const uint8_t *extra; /* the appended record, expected after the good ones */
    size_t extra_len;
    uint64_t extra_pos;
} ctx;

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* A good record at off: sane length, nonzero type, matching CRC. 1 and its length, else 0. */
static int good_at(const uint8_t *d, size_t n, size_t off, uint32_t *len, uint8_t *type)
{
    if (n - off < WAL_HDR_BYTES) return 0;
    uint32_t l = rd32(d + off), crc = rd32(d + off + 4);
    uint8_t t = d[off + 8];
    if (t == 0 || l > WAL_MAX_RECORD || l > n - off - WAL_HDR_BYTES) return 0;
    if (crc32c(crc32c(0, &t, 1), d + off + WAL_HDR_BYTES, l) != crc) return 0;
    *len = l, *type = t;
    return 1;
}

/* The oracle: every intact record (skip records are stepped over, not listed); *end is the
 * size the file must have after the repair. */
static size_t oracle(const uint8_t *d, size_t n, good *g, size_t cap, size_t *end)
{
    size_t off = 0, k = 0;
    *end = n;
    while (off < n && k < cap) {
        uint32_t len;
        uint8_t type;
        if (good_at(d, n, off, &len, &type)) {
            if (type != 255) g[k++] = (good){ off, len, type };
            off += WAL_HDR_BYTES + len;
            continue;
        }
        /* a damaged span from off: where does it end? */
        size_t y = n, claimed = 0;
        if (n - off >= WAL_HDR_BYTES && d[off + 8] != 0 && rd32(d + off) <= WAL_MAX_RECORD &&
            rd32(d + off) <= n - off - WAL_HDR_BYTES)
            claimed = off + WAL_HDR_BYTES + rd32(d + off);
        uint32_t l2;
        uint8_t t2;
        if (claimed > off && claimed < n && good_at(d, n, claimed, &l2, &t2)) {
            y = claimed;
        } else {
            for (size_t c = off + 1; c + WAL_HDR_BYTES <= n; c++) {
                if (!good_at(d, n, c, &l2, &t2)) continue;
                size_t e = c + WAL_HDR_BYTES + l2;
                uint32_t l3;
                uint8_t t3;
                if (e == n || good_at(d, n, e, &l3, &t3)) {
                    y = c;
                    break;
                }
            }
        }
        if (y == n) *end = off; /* the span runs to the end: cut off */
        off = y;
    }
    return k;
}

static int on_rec(void *vc, uint8_t type, const uint8_t *p, size_t len, uint64_t pos)
{
    ctx *c = vc;
    if (c->seen < c->n_good) {
        const good *g = &c->g[c->seen];
        const uint8_t *h = c->data + g->off;
        CHECK(type == g->type && len == g->len);
        CHECK(memcmp(p, h + WAL_HDR_BYTES, len) == 0);
        CHECK(crc32c(crc32c(0, &type, 1), p, len) == rd32(h + 4));
        CHECK(pos == ((1ull << 32) | (g->off + WAL_HDR_BYTES + len)));
    } else {
        CHECK(c->extra && c->seen == c->n_good);
        CHECK(type == 7 && len == c->extra_len && memcmp(p, c->extra, len) == 0);
        CHECK(pos == c->extra_pos);
    }
    c->seen++;
    return 0;
}

static void quiet(void *c, int level, const char *msg) { (void)c, (void)level, (void)msg; }

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        CHECK(mkdir(dir, 0700) == 0);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static char dir[128];

static void remove_dir(void)
{
    empty_dir(dir);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static good g[4096];
    if (!dir[0]) {
        /* tmpfs when there is one: fsync is free there and fuzzing runs ~10x faster */
        struct stat st;
        const char *t = getenv("TMPDIR");
        if (!t || !*t) t = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/cairn-fuzz-wal-%d", t, (int)getpid());
        atexit(remove_dir);
    }
    empty_dir(dir);
    char seg[300];
    snprintf(seg, sizeof seg, "%s/00000001", dir);
    int fd = open(seg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t)size);
    close(fd);

    size_t end;
    if (size > (4u << 20)) return 0; /* replay stops checking candidates over 4 MiB while resynchronising */
    size_t n = oracle(data, size, g, sizeof g / sizeof g[0], &end);
    if (n == sizeof g / sizeof g[0]) return 0; /* more records than the oracle holds: skip */

    wal_opts o = { .segment_bytes = 4096, .log_fn = quiet };
    ctx c = { .data = data, .g = g, .n_good = n };
    wal *w = NULL;
    cairn_err e;
    CHECK(wal_open(dir, &o, 0, on_rec, &c, &w, &e) == CAIRN_OK);
    CHECK(c.seen == n);
    struct stat st;
    CHECK(stat(seg, &st) == 0 && (size_t)st.st_size == end);
    CHECK(wal_position(w) == ((1ull << 32) | end));

    static const uint8_t extra[] = "appended after replay";
    uint64_t pos;
    CHECK(wal_append(w, 7, extra, sizeof extra, &pos, &e) == CAIRN_OK);
    CHECK(wal_sync_to(w, pos, &e) == CAIRN_OK);
    wal_close(w);

    c = (ctx){ .data = data, .g = g, .n_good = n, .extra = extra, .extra_len = sizeof extra, .extra_pos = pos };
    CHECK(wal_open(dir, &o, 0, on_rec, &c, &w, &e) == CAIRN_OK);
    CHECK(c.seen == n + 1);
    CHECK(wal_position(w) == pos);
    wal_close(w);
    return 0;
}
