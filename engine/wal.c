/*
 * wal.c — segment files, framed records, group commit and replay.
 *
 * Every committed batch becomes one record appended to the current segment
 * file `<dir>/NNNNNNNN` (8 lowercase hex digits, first 00000001). A record is
 * a 9-byte header (u32 LE payload length, u32 LE CRC32C over type + payload,
 * u8 type) and the payload; docs/format/wal.md has the byte diagram, the
 * replay rules and a golden record that test_wal.c checks byte for byte.
 * A position is segment << 32 | offset, so positions compare as integers in
 * log order; wal_append() returns a record's end position and replay hands
 * each record's end position to the handler, which is what a checkpoint keeps.
 *
 * Why this shape. Appending with write(2) and leaving durability to a separate
 * wal_sync_to() lets many committers share one fdatasync: the first caller
 * to find no sync running becomes the leader, snapshots the end of the log,
 * and syncs everything written so far while holding no lock; callers that
 * arrive meanwhile wait on `cv` and are released by the leader's broadcast if
 * its snapshot covered their position (otherwise one of them leads the next
 * round). One fdatasync per round instead of one per commit is the whole
 * point of group commit (see bench/bench_wal.c for what it buys).
 *
 * Locks (order: wmu before mu, never the reverse; no I/O is done under mu):
 *   wmu  the writer lock: wal_append, wal_cut, wal_truncate_before. It owns
 *        `off` and the bytes of the current segment. The engine already calls
 *        wal_append under its own writer lock; wmu makes the WAL safe alone.
 *   mu   the shared state: written/synced positions, the `syncing` flag, the
 *        `cur` pointer, the list of retired segments, counters, the sticky
 *        error. Held for a few loads and stores at a time.
 * A segment cut moves the old segment onto `retired` (not closed: it may hold
 * unsynced bytes) and marks the directory dirty. The next leader takes the
 * retired list, fdatasyncs and closes those files, fsyncs the directory (so
 * the new file's name is durable), then fdatasyncs the current segment; only
 * then does `synced` advance. So nobody waiting on a position in an old
 * segment is released before that segment, and the directory entry of every
 * later one, are on disk. Only a leader closes retired files and there is one
 * leader at a time, so no file is closed while another thread syncs it.
 * (A retired file stays open until the next round; with the engine syncing
 * every commit that is at most a segment or two.)
 *
 * Sticky failure. After any failed fsync the page cache may already have
 * dropped the dirty pages, so a retry can "succeed" without the data ever
 * reaching the disk (PostgreSQL's fsyncgate). The first failure is recorded
 * and every later wal_append and wal_sync_to returns CAIRN_EIO; only a reopen
 * (replay from what is really on disk) clears it. A failed write(2) is not
 * sticky when the partial record can be cut off again with ftruncate.
 *
 * Replay (wal_open) walks segments from `from_pos` and delivers every intact
 * record in order. It never deletes a segment: acknowledged batches after a
 * damaged spot are still acknowledged batches. A bad record (short header,
 * short payload, type 0, length over WAL_MAX_RECORD, CRC mismatch) starts a
 * damaged span that ends where intact records start again: where the bad
 * header says its record ends, else at the first offset holding a good
 * record followed by another good one (or by the end of the file). At the
 * end of the last segment, a span that is torn (short, or zeros) is what a
 * crash leaves: it is cut off with a warning, as before. Any other span is
 * copied to `corrupt-SSSSSSSS-OOOOOOOO`, counted (wal_stats_get, /metrics),
 * logged as an error, and neutralised: a span at a segment's end is cut
 * off, one in the middle gets a WAL_TYPE_SKIP header over its first 9 bytes
 * so the next replay steps over it and no offset moves. A segment missing
 * from the sequence fails the open, naming it, unless skip_missing says to
 * go on without it. The length is checked against the bytes left in the
 * file before anything is allocated, so a corrupt length cannot cause a
 * huge allocation.
 */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "crc32c.h"
#include "err.h"
#include "mem.h"

#define WAL_DEFAULT_SEGMENT_BYTES (64ull << 20)
#define WAL_READ_CHUNK (1u << 20) /* replay reads segments in pieces of this size */
#define WAL_POS(seg, off) ((uint64_t)(seg) << 32 | (uint64_t)(off))

typedef struct wal_seg {
    int fd;
    uint32_t no;
    struct wal_seg *next;
} wal_seg;

struct wal {
    char *dir_z;
    size_t dir_len;
    int dir_fd;
    uint64_t segment_bytes;
    void (*log_fn)(void *ctx, int level, const char *msg);
    void *log_ctx;

    pthread_mutex_t wmu; /* writer lock, see the essay */
    uint64_t off;        /* append offset in cur (wmu) */
    int fault_write;     /* test hooks for the next append (wmu) */
    int fault_write_errno;

    pthread_mutex_t mu; /* shared state below */
    pthread_cond_t cv;
    wal_seg *cur;      /* segment being appended to; swapped under wmu + mu */
    wal_seg *retired;  /* cut segments whose bytes may not be synced yet */
    int dir_dirty;     /* a segment was created since the last directory fsync */
    uint64_t written;  /* end of the last appended record (or start of an empty cur) */
    uint64_t synced;   /* everything before this position is durable */
    int syncing;       /* a leader is inside its sync round */
    int failed_errno;  /* sticky: errno of the first failed fsync, 0 if none */
    uint32_t failed_seg;
    int fault_fsync_errno; /* test hook for the next round */
    uint64_t bytes, fsyncs;
    int skip_missing, expect_records; /* wal_opts, for replay */
    wal_stats st;                     /* what replay found; written only inside wal_open */
};

/* ---- small helpers ----------------------------------------------------------- */

static void wal_vlog(const wal *w, int level, const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (w->log_fn) w->log_fn(w->log_ctx, level, msg);
    else fprintf(stderr, "cairn: %s: %s\n", level == CAIRN_LOG_ERROR ? "error" : "warning", msg);
}

static void wal_warn(const wal *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wal_warn(const wal *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wal_vlog(w, CAIRN_LOG_WARN, fmt, ap);
    va_end(ap);
}

static void wal_log(const wal *w, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void wal_log(const wal *w, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wal_vlog(w, level, fmt, ap);
    va_end(ap);
}

static int wal_name_parse(const char *name, uint32_t *no)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = name[i];
        uint32_t d;
        if (c >= '0' && c <= '9') d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (uint32_t)(c - 'a' + 10);
        else return 0;
        v = v << 4 | d;
    }
    if (name[8] != '\0' || v == 0) return 0;
    *no = v;
    return 1;
}

static void wal_name(char out[9], uint32_t no) { snprintf(out, 9, "%08x", no); }

/* fdatasync/fsync retried on EINTR; returns 0 or errno. */
static int wal_fsync_fd(int fd, int data_only)
{
    for (;;) {
        int r = data_only ? fdatasync(fd) : fsync(fd);
        if (r == 0) return 0;
        if (errno != EINTR) return errno;
    }
}

/* pwrite all of p at off, looping on short writes and EINTR; returns 0 or errno. */
static int wal_pwrite_all(int fd, uint64_t off, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n) {
        ssize_t k = pwrite(fd, q, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return errno;
        if (k == 0) return ENOSPC;
        q += k, n -= (size_t)k, off += (uint64_t)k;
    }
    return 0;
}

/* Positional vectored write of header + payload; loops on short writes and EINTR. */
static int wal_write_all(wal *w, int fd, uint64_t off, const uint8_t *hdr, const void *p, size_t len)
{
    struct iovec iov[2] = { { (void *)hdr, WAL_HDR_BYTES }, { (void *)p, len } };
    struct iovec *v = iov;
    int n = len ? 2 : 1;
    size_t total = WAL_HDR_BYTES + len, done = 0;
    int fault = w->fault_write, fault_errno = w->fault_write_errno;
    w->fault_write = 0;
    while (n > 0) {
        ssize_t k;
        if (fault) {
            /* Test hook: write a prefix only, as a full disk or a signal would. */
            size_t want = total / 2 > done ? total / 2 - done : 1, l0 = v[0].iov_len < want ? v[0].iov_len : want;
            struct iovec one = { v[0].iov_base, l0 };
            k = pwritev(fd, &one, 1, (off_t)off);
            if (k >= 0 && fault == WAL_FAULT_WRITE) {
                errno = fault_errno;
                return fault_errno;
            }
            fault = 0;
        } else {
            k = pwritev(fd, v, n, (off_t)off);
        }
        if (k < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (k == 0) return ENOSPC;
        off += (uint64_t)k;
        done += (size_t)k;
        size_t left = (size_t)k;
        while (n > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            n--;
        }
        if (n > 0 && left) {
            v->iov_base = (uint8_t *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return 0;
}

/* err_sys, except that a full disk or quota (ENOSPC, EDQUOT) becomes CAIRN_ENOSPC
 * with "no space left on device" leading the message (HTTP 507 upstairs). */
static int wal_sys(cairn_err *err, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int wal_sys(cairn_err *err, int e, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e != ENOSPC && e != EDQUOT) return err_sys(err, e, "%s", msg);
    err_sys(err, e, "no space left on device: %s", msg);
    if (err) err->code = CAIRN_ENOSPC;
    return CAIRN_ENOSPC;
}

static int wal_check_failed_locked(wal *w, cairn_err *err)
{
    if (!w->failed_errno) return CAIRN_OK;
    return wal_sys(err, w->failed_errno,
                   "wal %s: an earlier fsync of segment %08x failed; refusing writes until reopen", w->dir_z,
                   w->failed_seg);
}

/* Create segment `no` (O_EXCL: a name is never reused). */
static int wal_seg_create(wal *w, uint32_t no, wal_seg **out, cairn_err *err)
{
    char name[9];
    wal_seg *s = mem_alloc(sizeof *s);
    if (!s) return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory creating segment %08x", w->dir_z, no);
    wal_name(name, no);
    s->fd = openat(w->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int e = errno;
        mem_free(s, sizeof *s);
        return wal_sys(err, e, "wal %s: create segment %s", w->dir_z, name);
    }
    s->no = no;
    s->next = NULL;
    *out = s;
    return CAIRN_OK;
}

static void wal_seg_close(wal_seg *s)
{
    if (!s) return;
    close(s->fd);
    mem_free(s, sizeof *s);
}

/* With wmu held: close the current segment for appends and start `cur->no + 1`. */
static int wal_cut_locked(wal *w, cairn_err *err)
{
    if (w->cur->no == UINT32_MAX)
        return err_set(err, CAIRN_ELIMIT, "wal %s: segment numbers exhausted", w->dir_z);
    wal_seg *s;
    RETURN_IF_ERR(wal_seg_create(w, w->cur->no + 1, &s, err));
    pthread_mutex_lock(&w->mu);
    w->cur->next = w->retired;
    w->retired = w->cur;
    w->cur = s;
    w->dir_dirty = 1;
    w->written = WAL_POS(s->no, 0);
    pthread_mutex_unlock(&w->mu);
    w->off = 0;
    return CAIRN_OK;
}

/* ---- group commit ----------------------------------------------------------------- */

/*
 * One leader round. Called and returns with mu held and syncing == 0. The
 * snapshot (target, retired list, dirty flag, current fd) is taken under mu;
 * the syncs run without it, so appends continue during the fdatasync.
 */
static void wal_sync_round(wal *w)
{
    w->syncing = 1;
    uint64_t target = w->written;
    wal_seg *old = w->retired;
    w->retired = NULL;
    int dir = w->dir_dirty;
    w->dir_dirty = 0;
    int fd = w->cur->fd;
    uint32_t cur_no = w->cur->no;
    int fault = w->fault_fsync_errno;
    w->fault_fsync_errno = 0;
    pthread_mutex_unlock(&w->mu);

    int e = 0;
    uint32_t bad = 0;
    uint64_t n = 0;
    while (old) {
        wal_seg *next = old->next;
        if (!e) {
            n++;
            if ((e = wal_fsync_fd(old->fd, 1))) bad = old->no;
        }
        wal_seg_close(old);
        old = next;
    }
    if (!e && dir) {
        n++;
        if ((e = wal_fsync_fd(w->dir_fd, 0))) bad = cur_no;
    }
    if (!e) {
        n++;
        e = fault ? fault : wal_fsync_fd(fd, 1);
        if (e) bad = cur_no;
    }

    pthread_mutex_lock(&w->mu);
    w->fsyncs += n;
    if (e) {
        if (!w->failed_errno) w->failed_errno = e, w->failed_seg = bad;
    } else if (target > w->synced) {
        w->synced = target;
    }
    w->syncing = 0;
    pthread_cond_broadcast(&w->cv);
}

int wal_sync_to(wal *w, uint64_t pos, cairn_err *err)
{
    if (!w) return err_set(err, CAIRN_EINVAL, "wal_sync_to: no WAL");
    int rc = CAIRN_OK;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if ((rc = wal_check_failed_locked(w, err))) break;
        if (pos <= w->synced) break;
        if (pos > w->written) {
            rc = err_set(err, CAIRN_EINVAL, "wal %s: sync to %08x:%llu, past the end of the log (%08x:%llu)",
                         w->dir_z, (uint32_t)(pos >> 32), (unsigned long long)(uint32_t)pos,
                         (uint32_t)(w->written >> 32), (unsigned long long)(uint32_t)w->written);
            break;
        }
        if (!w->syncing) wal_sync_round(w);
        else pthread_cond_wait(&w->cv, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* ---- appending -------------------------------------------------------------------- */

int wal_append(wal *w, uint8_t type, const void *payload, size_t len, uint64_t *pos, cairn_err *err)
{
    if (!w) return err_set(err, CAIRN_EINVAL, "wal_append: no WAL");
    if (type == 0) return err_set(err, CAIRN_EINVAL, "wal_append: record type 0 is reserved (it marks zeroed space)");
    if (type == WAL_TYPE_SKIP)
        return err_set(err, CAIRN_EINVAL, "wal_append: record type %u is reserved (it marks quarantined bytes)", type);
    if (len > WAL_MAX_RECORD)
        return err_set(err, CAIRN_ELIMIT, "wal_append: record of %zu bytes exceeds the WAL limit of %u bytes", len,
                       WAL_MAX_RECORD);
    if (len && !payload) return err_set(err, CAIRN_EINVAL, "wal_append: NULL payload with length %zu", len);

    uint8_t hdr[WAL_HDR_BYTES];
    uint32_t crc = crc32c(crc32c(0, &type, 1), payload, len);
    le32_put(hdr, (uint32_t)len);
    le32_put(hdr + 4, crc);
    hdr[8] = type;
    uint64_t rec = WAL_HDR_BYTES + (uint64_t)len;

    int rc;
    pthread_mutex_lock(&w->wmu);
    pthread_mutex_lock(&w->mu);
    rc = wal_check_failed_locked(w, err);
    pthread_mutex_unlock(&w->mu);
    if (rc) goto out;
    if (w->off > 0 && w->off + rec > w->segment_bytes && (rc = wal_cut_locked(w, err))) goto out;

    int e = wal_write_all(w, w->cur->fd, w->off, hdr, payload, len);
    if (e) {
        /* Cut the partial record off again so the log stays all-or-nothing. */
        char name[9];
        wal_name(name, w->cur->no);
        if (ftruncate(w->cur->fd, (off_t)w->off) != 0) {
            pthread_mutex_lock(&w->mu);
            if (!w->failed_errno) w->failed_errno = errno, w->failed_seg = w->cur->no;
            pthread_mutex_unlock(&w->mu);
        }
        rc = wal_sys(err, e, "wal %s: write of a %llu-byte record to segment %s at offset %llu", w->dir_z,
                     (unsigned long long)rec, name, (unsigned long long)w->off);
        goto out;
    }
    w->off += rec;
    pthread_mutex_lock(&w->mu);
    w->written = WAL_POS(w->cur->no, w->off);
    w->bytes += rec;
    if (pos) *pos = w->written;
    pthread_mutex_unlock(&w->mu);
out:
    pthread_mutex_unlock(&w->wmu);
    return rc;
}

int wal_cut(wal *w, uint64_t *pos, cairn_err *err)
{
    if (!w) return err_set(err, CAIRN_EINVAL, "wal_cut: no WAL");
    int rc;
    pthread_mutex_lock(&w->wmu);
    pthread_mutex_lock(&w->mu);
    rc = wal_check_failed_locked(w, err);
    pthread_mutex_unlock(&w->mu);
    /* An empty current segment already is a new one: cutting again would only add an empty file. */
    if (!rc && w->off > 0) {
        rc = wal_cut_locked(w, err);
        /* A checkpoint stores this position next: its segment must survive a power cut,
         * or the next open would find the segment it starts from missing. */
        if (!rc) {
            int e = wal_fsync_fd(w->dir_fd, 0);
            if (e) rc = wal_sys(err, e, "wal %s: fsync directory after a cut", w->dir_z);
            pthread_mutex_lock(&w->mu);
            w->fsyncs++;
            pthread_mutex_unlock(&w->mu);
        }
    }
    if (!rc && pos) *pos = WAL_POS(w->cur->no, 0);
    pthread_mutex_unlock(&w->wmu);
    return rc;
}

/* ---- listing and truncating ----------------------------------------------------------- */

typedef struct wal_ent {
    uint32_t no;
    uint64_t size;
} wal_ent;

typedef struct wal_list {
    wal_ent *e;
    size_t n, cap;
} wal_list;

static void wal_list_free(wal_list *l)
{
    mem_free(l->e, l->cap * sizeof *l->e);
    memset(l, 0, sizeof *l);
}

static int wal_cmp_ent(const void *a, const void *b)
{
    uint32_t x = ((const wal_ent *)a)->no, y = ((const wal_ent *)b)->no;
    return x < y ? -1 : x > y;
}

/* Segment numbers in the directory, sorted, with their sizes. Other names are ignored. */
static int wal_list_segments(wal *w, wal_list *l, cairn_err *err)
{
    memset(l, 0, sizeof *l);
    int fd = openat(w->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return err_sys(err, errno, "wal %s: open directory", w->dir_z);
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return err_sys(err, e, "wal %s: read directory", w->dir_z);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint32_t no;
        if (!wal_name_parse(de->d_name, &no)) continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            wal_ent *a = mem_realloc(l->e, l->cap * sizeof *a, cap * sizeof *a);
            if (!a) {
                closedir(d);
                wal_list_free(l);
                return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory listing segments", w->dir_z);
            }
            l->e = a;
            l->cap = cap;
        }
        l->e[l->n].no = no;
        l->e[l->n++].size = 0;
    }
    closedir(d);
    if (l->n) qsort(l->e, l->n, sizeof *l->e, wal_cmp_ent);
    for (size_t i = 0; i < l->n; i++) {
        char name[9];
        struct stat st;
        wal_name(name, l->e[i].no);
        if (fstatat(w->dir_fd, name, &st, 0) != 0) {
            int rc = err_sys(err, errno, "wal %s: stat segment %s", w->dir_z, name);
            wal_list_free(l);
            return rc;
        }
        l->e[i].size = (uint64_t)st.st_size;
    }
    return CAIRN_OK;
}

int wal_truncate_before(wal *w, uint64_t pos, cairn_err *err)
{
    if (!w) return err_set(err, CAIRN_EINVAL, "wal_truncate_before: no WAL");
    uint32_t pseg = (uint32_t)(pos >> 32);
    uint64_t poff = (uint32_t)pos;
    wal_list l;
    pthread_mutex_lock(&w->wmu);
    int rc = wal_list_segments(w, &l, err);
    if (rc) goto out;
    /*
     * Unlink oldest first, so whatever survives is a contiguous run ending
     * at the current segment. No directory fsync: if an unlink is lost in a
     * crash, the segment lies before the checkpoint and replay skips it.
     */
    for (size_t i = 0; i < l.n; i++) {
        uint32_t no = l.e[i].no;
        if (no >= w->cur->no) break;
        if (!(no < pseg || (no == pseg && l.e[i].size <= poff))) break;
        char name[9];
        wal_name(name, no);
        if (unlinkat(w->dir_fd, name, 0) != 0 && errno != ENOENT) {
            rc = err_sys(err, errno, "wal %s: delete segment %s", w->dir_z, name);
            break;
        }
        pthread_mutex_lock(&w->mu);
        w->bytes -= l.e[i].size <= w->bytes ? l.e[i].size : w->bytes;
        pthread_mutex_unlock(&w->mu);
    }
    wal_list_free(&l);
out:
    pthread_mutex_unlock(&w->wmu);
    return rc;
}

/* ---- replay ---------------------------------------------------------------------------- */

/* A window [base, base + len) of one segment file. */
typedef struct wal_rd {
    int fd;
    uint8_t *p;
    size_t cap, len;
    uint64_t base, size;
} wal_rd;

/* Make [off, off + n) readable (the caller checked off + n <= size); *out points at it. */
static int wal_rd_get(wal *w, wal_rd *r, uint32_t no, uint64_t off, size_t n, const uint8_t **out, cairn_err *err)
{
    if (off >= r->base && off + n <= r->base + r->len) {
        *out = r->p + (off - r->base);
        return CAIRN_OK;
    }
    size_t want = n > WAL_READ_CHUNK ? n : WAL_READ_CHUNK;
    if (want > r->size - off) want = (size_t)(r->size - off);
    if (want > r->cap) {
        uint8_t *p = mem_realloc(r->p, r->cap, want);
        if (!p) return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory reading a %zu-byte record", w->dir_z, n);
        r->p = p;
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->p + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            return err_sys(err, e, "wal %s: read segment %08x at offset %llu", w->dir_z, no,
                           (unsigned long long)(off + got));
        }
        got += (size_t)k;
    }
    r->base = off;
    r->len = want;
    *out = r->p;
    return CAIRN_OK;
}

/*
 * Replay reads a record at an offset and sorts what it finds into three
 * classes: a good record, a torn one (what a crash leaves at the end of the
 * log: a short header, a short payload, zeros) and a corrupt one (a length
 * over the cap or a CRC mismatch: bytes that were written and then changed).
 */
enum { WAL_REC_GOOD = 1, WAL_REC_TORN = 2, WAL_REC_CORRUPT = 3 };

/* Check the record at `off` (length capped at len_cap). Returns a WAL_REC_* class or an error;
 * for a good record *type, *pl, *len describe it, else `why` says what is wrong and *claimed is
 * where the header says the record ends (0 if it cannot say). */
static int wal_rec_at(wal *w, wal_rd *r, uint32_t no, uint64_t off, uint64_t len_cap, uint8_t *type,
                      const uint8_t **pl, uint32_t *len, uint64_t *claimed, char *why, size_t why_cap,
                      cairn_err *err)
{
    const uint8_t *h;
    uint64_t left = r->size - off;
    *claimed = 0;
    if (left < WAL_HDR_BYTES) {
        if (why) snprintf(why, why_cap, "torn record header (%llu of %u bytes)", (unsigned long long)left, WAL_HDR_BYTES);
        return WAL_REC_TORN;
    }
    RETURN_IF_ERR(wal_rd_get(w, r, no, off, WAL_HDR_BYTES, &h, err));
    uint32_t n = le32_get(h), want = le32_get(h + 4);
    *type = h[8];
    if (*type == 0) {
        if (why) snprintf(why, why_cap, "record type 0 (zeroed or unwritten space)");
        return WAL_REC_TORN;
    }
    if (n > WAL_MAX_RECORD) {
        if (why) snprintf(why, why_cap, "record length %u over the %u-byte limit", n, WAL_MAX_RECORD);
        return WAL_REC_CORRUPT;
    }
    if (n > left - WAL_HDR_BYTES) {
        if (why)
            snprintf(why, why_cap, "torn record (payload of %u bytes, %llu present)", n,
                     (unsigned long long)(left - WAL_HDR_BYTES));
        return WAL_REC_TORN;
    }
    *claimed = off + WAL_HDR_BYTES + n;
    if (n > len_cap) return WAL_REC_CORRUPT; /* only while resynchronising: too dear to check */
    RETURN_IF_ERR(wal_rd_get(w, r, no, off + WAL_HDR_BYTES, n, pl, err));
    uint32_t got = crc32c(crc32c(0, type, 1), *pl, n);
    if (got != want) {
        if (why) snprintf(why, why_cap, "CRC mismatch (stored %08x, computed %08x)", want, got);
        return WAL_REC_CORRUPT;
    }
    *len = n;
    return WAL_REC_GOOD;
}

/*
 * After a bad record at `x`, find where provably intact records start again:
 * first where the bad header says its record ends (a damaged payload leaves
 * the length intact), else the first later offset holding a good record that
 * ends the file or is followed by another good record (one good CRC by chance
 * is a 2^-32 event per offset; two in a row is not worth worrying about).
 * *y = the file's size if there is none.
 */
static int wal_resync(wal *w, wal_rd *r, uint32_t no, uint64_t x, uint64_t claimed, uint64_t len_cap, uint64_t *y,
                      cairn_err *err)
{
    uint8_t type;
    const uint8_t *pl;
    uint32_t len;
    uint64_t cl;
    *y = r->size;
    if (claimed > x && claimed < r->size) {
        int k = wal_rec_at(w, r, no, claimed, len_cap, &type, &pl, &len, &cl, NULL, 0, err);
        if (k < 0) return k;
        if (k == WAL_REC_GOOD) {
            *y = claimed;
            return CAIRN_OK;
        }
    }
    for (uint64_t c = x + 1; c + WAL_HDR_BYTES <= r->size; c++) {
        int k = wal_rec_at(w, r, no, c, len_cap, &type, &pl, &len, &cl, NULL, 0, err);
        if (k < 0) return k;
        if (k != WAL_REC_GOOD) continue;
        uint64_t e = c + WAL_HDR_BYTES + len;
        if (e < r->size) {
            k = wal_rec_at(w, r, no, e, len_cap, &type, &pl, &len, &cl, NULL, 0, err);
            if (k < 0) return k;
            if (k != WAL_REC_GOOD) continue;
        }
        *y = c;
        return CAIRN_OK;
    }
    return CAIRN_OK;
}

/* A damaged span [x, y) of one segment; cls is the class of the record at x. */
typedef struct wal_span {
    uint64_t x, y;
    int cls;
    char why[112];
} wal_span;

typedef struct wal_spans {
    wal_span *v;
    size_t n, cap;
} wal_spans;

/*
 * Deliver the good records of segment `no` from `start`, stepping over
 * damaged spans, which are appended to *sp. Returns an error only for I/O,
 * memory or fn.
 */
static int wal_replay_seg(wal *w, wal_rd *r, uint32_t no, uint64_t start, wal_replay_fn fn, void *ctx,
                          uint64_t *max_len, wal_spans *sp, cairn_err *err)
{
    uint64_t off = start;
    r->base = r->len = 0;
    while (off < r->size) {
        uint8_t type;
        const uint8_t *pl;
        uint32_t len;
        uint64_t claimed;
        char why[112];
        int k = wal_rec_at(w, r, no, off, WAL_MAX_RECORD, &type, &pl, &len, &claimed, why, sizeof why, err);
        if (k < 0) return k;
        if (k == WAL_REC_GOOD) {
            uint64_t end = off + WAL_HDR_BYTES + len;
            if (len > *max_len) *max_len = len;
            if (fn && type != WAL_TYPE_SKIP) {
                int rc = fn(ctx, type, pl, len, WAL_POS(no, end));
                if (rc)
                    return err_set(err, rc < 0 ? rc : CAIRN_EINTERNAL,
                                   "wal %s: replay handler failed (%s) on the record at segment %08x offset %llu",
                                   w->dir_z, cairn_strerror(rc), no, (unsigned long long)off);
            }
            off = end;
            continue;
        }
        uint64_t y, cap = *max_len > (4u << 20) ? *max_len : (4u << 20);
        RETURN_IF_ERR(wal_resync(w, r, no, off, claimed, cap, &y, err));
        if (sp->n == sp->cap) {
            size_t nc = sp->cap ? sp->cap * 2 : 4;
            wal_span *v = mem_realloc(sp->v, sp->cap * sizeof *v, nc * sizeof *v);
            if (!v) return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory during replay", w->dir_z);
            sp->v = v, sp->cap = nc;
        }
        wal_span *s = &sp->v[sp->n++];
        s->x = off, s->y = y, s->cls = k;
        snprintf(s->why, sizeof s->why, "%s", why);
        off = y;
    }
    return CAIRN_OK;
}

static int wal_fsync_dir_counted(wal *w, cairn_err *err)
{
    int e = wal_fsync_fd(w->dir_fd, 0);
    w->fsyncs++;
    return e ? err_sys(err, e, "wal %s: fsync directory", w->dir_z) : CAIRN_OK;
}

/* Copy [x, y) of segment `no` into a new file corrupt-SSSSSSSS-OOOOOOOO (".N" if taken), fsynced. */
static int wal_quarantine(wal *w, wal_rd *r, uint32_t no, uint64_t x, uint64_t y, char *name, size_t name_cap,
                          cairn_err *err)
{
    int fd = -1;
    for (int k = 0; k < 1000 && fd < 0; k++) {
        if (k == 0) snprintf(name, name_cap, "corrupt-%08x-%08llx", no, (unsigned long long)x);
        else snprintf(name, name_cap, "corrupt-%08x-%08llx.%d", no, (unsigned long long)x, k);
        fd = openat(w->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) return wal_sys(err, errno, "wal %s: create quarantine file %s", w->dir_z, name);
    }
    if (fd < 0) return err_set(err, CAIRN_EIO, "wal %s: no free quarantine file name for %s", w->dir_z, name);
    int rc = CAIRN_OK;
    for (uint64_t at = x; at < y && !rc;) {
        size_t n = y - at > WAL_READ_CHUNK ? WAL_READ_CHUNK : (size_t)(y - at);
        const uint8_t *p;
        if ((rc = wal_rd_get(w, r, no, at, n, &p, err))) break;
        int e = wal_pwrite_all(fd, at - x, p, n);
        if (e) rc = wal_sys(err, e, "wal %s: write quarantine file %s", w->dir_z, name);
        at += n;
    }
    if (!rc) {
        int e = wal_fsync_fd(fd, 1);
        w->fsyncs++;
        if (e) rc = wal_sys(err, e, "wal %s: fsync quarantine file %s", w->dir_z, name);
    }
    close(fd);
    return rc;
}

/*
 * Deal with the damaged spans of segment `no` (s->fd, size r->size): quarantine
 * each corrupt span, neutralise it in place, cut a tail span off. *good_end
 * receives where appends to this segment would go. Nothing is deleted.
 */
static int wal_repair_seg(wal *w, wal_rd *r, wal_seg *s, int last, const wal_spans *sp, uint64_t *good_end,
                          cairn_err *err)
{
    char seg[9];
    wal_name(seg, s->no);
    *good_end = r->size;
    int rc = CAIRN_OK, dir = 0;
    for (size_t i = 0; i < sp->n && !rc; i++) {
        const wal_span *d = &sp->v[i];
        uint64_t n = d->y - d->x;
        int tail = d->y == r->size;
        if (tail && last && d->cls == WAL_REC_TORN) {
            /* what kill -9 or a power cut leaves: cut it, as every WAL does */
            w->st.torn_bytes += n;
            wal_warn(w, "wal %s: %s in segment %s at offset %llu; truncated there, dropping %llu bytes (a torn tail)",
                     w->dir_z, d->why, seg, (unsigned long long)d->x, (unsigned long long)n);
        } else {
            char q[64];
            if ((rc = wal_quarantine(w, r, s->no, d->x, d->y, q, sizeof q, err))) break;
            dir = 1;
            w->st.corruptions++;
            w->st.quarantined_bytes += n;
            if (!tail && n >= WAL_HDR_BYTES) {
                /* a skip record over the span: offsets stay, the next replay steps over it */
                uint8_t hdr[WAL_HDR_BYTES], t = WAL_TYPE_SKIP;
                const uint8_t *p;
                size_t pn = (size_t)(n - WAL_HDR_BYTES);
                if ((rc = wal_rd_get(w, r, s->no, d->x + WAL_HDR_BYTES, pn, &p, err))) break;
                le32_put(hdr, (uint32_t)pn);
                le32_put(hdr + 4, crc32c(crc32c(0, &t, 1), p, pn));
                hdr[8] = t;
                int e = wal_pwrite_all(s->fd, d->x, hdr, WAL_HDR_BYTES);
                if (e) {
                    rc = wal_sys(err, e, "wal %s: mark the quarantined span of segment %s", w->dir_z, seg);
                    break;
                }
                r->base = r->len = 0; /* the window may hold the old header */
            }
            if (tail)
                wal_log(w, CAIRN_LOG_ERROR,
                        "wal %s: CORRUPTION: %s in segment %s at offset %llu; truncated there, dropping %llu bytes "
                        "(quarantined in %s/%s)",
                        w->dir_z, d->why, seg, (unsigned long long)d->x, (unsigned long long)n, w->dir_z, q);
            else
                wal_log(w, CAIRN_LOG_ERROR,
                        "wal %s: CORRUPTION: %s in segment %s at offset %llu; %llu bytes quarantined in %s/%s%s, "
                        "replay resumed at offset %llu (the records in those bytes are lost)",
                        w->dir_z, d->why, seg, (unsigned long long)d->x, (unsigned long long)n, w->dir_z, q,
                        n >= WAL_HDR_BYTES ? "" : " (too short to mark: found again at the next open)",
                        (unsigned long long)d->y);
        }
        if (tail) {
            if (ftruncate(s->fd, (off_t)d->x) != 0) {
                rc = wal_sys(err, errno, "wal %s: truncate segment %s at offset %llu", w->dir_z, seg,
                             (unsigned long long)d->x);
                break;
            }
            w->bytes -= n;
            *good_end = d->x;
        }
    }
    if (rc) return rc;
    int e = wal_fsync_fd(s->fd, 1);
    w->fsyncs++;
    if (e) return wal_sys(err, e, "wal %s: fsync segment %s after repair", w->dir_z, seg);
    if (dir) rc = wal_fsync_dir_counted(w, err);
    return rc;
}

/* mkdir -p for the last component only, then make its name durable in the parent. */
static int wal_make_dir(const char *dir_z, cairn_err *err)
{
    if (mkdir(dir_z, 0755) == 0) {
        size_t n = strlen(dir_z);
        while (n > 1 && dir_z[n - 1] == '/') n--;
        while (n > 0 && dir_z[n - 1] != '/') n--;
        char *parent = mem_strndup(n ? dir_z : ".", n ? n : 1);
        if (!parent) return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory", dir_z);
        int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int e = fd < 0 ? errno : wal_fsync_fd(fd, 0);
        if (fd >= 0) close(fd);
        mem_free(parent, strlen(parent) + 1);
        if (e) return err_sys(err, e, "wal %s: fsync parent directory", dir_z);
    } else if (errno != EEXIST) {
        return err_sys(err, errno, "wal %s: create directory", dir_z);
    }
    return CAIRN_OK;
}

/*
 * Segment numbers that replay needs and that are not there: from the first
 * one needed (from_pos's segment, or 00000001 when replaying from 0) to the
 * last one present. Fails naming the first, unless skip_missing.
 */
static int wal_check_missing(wal *w, const wal_list *l, size_t i0, uint64_t from_pos, cairn_err *err)
{
    uint32_t fseg = (uint32_t)(from_pos >> 32);
    uint64_t need = from_pos ? fseg : 1, missing = 0;
    uint32_t first_missing = 0;
    if (i0 == l->n) {
        /* nothing at or after the start: the start segment is missing if it must exist */
        if (from_pos || w->expect_records) missing = 1, first_missing = (uint32_t)need;
    } else {
        for (size_t i = i0; i < l->n; i++) {
            if (l->e[i].no > need) {
                if (!missing) first_missing = (uint32_t)need;
                missing += l->e[i].no - need;
            }
            need = (uint64_t)l->e[i].no + 1;
        }
    }
    if (!missing) return CAIRN_OK;
    w->st.missing_segments += missing;
    if (!w->skip_missing)
        return err_set(err, CAIRN_ECORRUPT,
                       "wal %s: segment %08x is missing (%llu missing in all); the records in it are lost. Restore "
                       "it, or open with skip_missing (cairn serve --wal-skip-missing) to replay the rest",
                       w->dir_z, first_missing, (unsigned long long)missing);
    wal_log(w, CAIRN_LOG_ERROR,
            "wal %s: DATA LOSS: segment %08x is missing (%llu missing in all); replaying the segments that are "
            "there (skip_missing is set)",
            w->dir_z, first_missing, (unsigned long long)missing);
    return CAIRN_OK;
}

static int wal_replay(wal *w, uint64_t from_pos, wal_replay_fn fn, void *ctx, cairn_err *err)
{
    uint32_t fseg = (uint32_t)(from_pos >> 32);
    uint64_t foff = (uint32_t)from_pos;
    wal_list l;
    wal_rd r = { .fd = -1 };
    wal_seg *keep = NULL; /* the segment appends continue in */
    uint64_t keep_end = 0, max_len = 0;
    int need_new = 0;
    wal_spans sp = { 0 };
    RETURN_IF_ERR(wal_list_segments(w, &l, err));
    int rc = CAIRN_OK;
    size_t i0 = 0;
    while (i0 < l.n && l.e[i0].no < fseg) i0++;
    for (size_t i = 0; i < l.n; i++) w->bytes += l.e[i].size;
    if ((rc = wal_check_missing(w, &l, i0, from_pos, err))) goto out;

    for (size_t i = i0; i < l.n; i++) {
        uint32_t no = l.e[i].no;
        char name[9];
        wal_name(name, no);
        wal_seg *s = mem_alloc(sizeof *s);
        if (!s) {
            rc = err_set(err, CAIRN_ENOMEM, "wal %s: out of memory opening segment %s", w->dir_z, name);
            goto out;
        }
        s->no = no;
        s->next = NULL;
        s->fd = openat(w->dir_fd, name, O_RDWR | O_CLOEXEC);
        if (s->fd < 0) {
            rc = err_sys(err, errno, "wal %s: open segment %s", w->dir_z, name);
            mem_free(s, sizeof *s);
            goto out;
        }
        wal_seg_close(keep);
        keep = s;
        r.fd = s->fd;
        r.size = l.e[i].size;
        uint64_t start = no == fseg ? foff : 0;
        if (start > r.size) {
            /* from_pos lies past this segment's end (it was cut short outside
             * cairn): nothing in it is after from_pos, and appending to it
             * would write below from_pos. Go on with the next segment; if
             * there is none, appends start a fresh one. */
            wal_warn(w, "wal %s: replay starts at offset %llu of segment %s, which has only %llu bytes; "
                     "continuing after it", w->dir_z, (unsigned long long)start, name, (unsigned long long)r.size);
            keep_end = r.size;
            need_new = 1;
            continue;
        }
        need_new = 0;
        sp.n = 0;
        if ((rc = wal_replay_seg(w, &r, no, start, fn, ctx, &max_len, &sp, err))) goto out;
        if (sp.n) {
            if ((rc = wal_repair_seg(w, &r, s, i + 1 == l.n, &sp, &keep_end, err))) goto out;
        } else {
            keep_end = r.size;
            /* What replay delivered must be durable before the engine builds
             * on it: the previous process may have died before its fsync.
             * Cheap when the pages are already clean. */
            int e = wal_fsync_fd(s->fd, 1);
            w->fsyncs++;
            if (e) {
                rc = err_sys(err, e, "wal %s: fsync segment %s", w->dir_z, name);
                goto out;
            }
        }
    }

    if (keep && !need_new) {
        w->cur = keep;
        keep = NULL;
        w->off = keep_end;
    } else {
        uint32_t last = l.n ? l.e[l.n - 1].no : 0;
        uint64_t no = (uint64_t)last + 1;
        if (need_new) no = (uint64_t)keep->no + 1;
        uint64_t floor = (uint64_t)fseg + (foff > 0);
        if (no < floor) no = floor;
        if (no == 0) no = 1;
        if (no > UINT32_MAX) {
            rc = err_set(err, CAIRN_ELIMIT, "wal %s: segment numbers exhausted", w->dir_z);
            goto out;
        }
        if ((rc = wal_seg_create(w, (uint32_t)no, &w->cur, err))) goto out;
        if ((rc = wal_fsync_dir_counted(w, err))) goto out;
        w->off = 0;
    }
    w->written = w->synced = WAL_POS(w->cur->no, w->off);
out:
    wal_seg_close(keep);
    mem_free(sp.v, sp.cap * sizeof *sp.v);
    mem_free(r.p, r.cap);
    wal_list_free(&l);
    return rc;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int wal_open(const char *dir_z, const wal_opts *o, uint64_t from_pos, wal_replay_fn fn, void *ctx, wal **out,
             cairn_err *err)
{
    if (!dir_z || !*dir_z || !out) return err_set(err, CAIRN_EINVAL, "wal_open: missing directory or output");
    *out = NULL;
    uint64_t seg_bytes = o && o->segment_bytes ? o->segment_bytes : WAL_DEFAULT_SEGMENT_BYTES;
    if (seg_bytes > WAL_MAX_SEGMENT_BYTES)
        return err_set(err, CAIRN_EINVAL, "wal_open: segment_bytes %llu over the limit of %llu",
                       (unsigned long long)seg_bytes, (unsigned long long)WAL_MAX_SEGMENT_BYTES);
    RETURN_IF_ERR(wal_make_dir(dir_z, err));

    int rc = CAIRN_OK;
    wal *w = mem_calloc(1, sizeof *w);
    if (!w) return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory", dir_z);
    w->dir_fd = -1;
    w->segment_bytes = seg_bytes;
    if (o) {
        w->log_fn = o->log_fn, w->log_ctx = o->log_ctx;
        w->skip_missing = o->skip_missing, w->expect_records = o->expect_records;
    }
    w->dir_len = strlen(dir_z);
    w->dir_z = mem_strndup(dir_z, w->dir_len);
    if (!w->dir_z) {
        mem_free(w, sizeof *w);
        return err_set(err, CAIRN_ENOMEM, "wal %s: out of memory", dir_z);
    }
    if (pthread_mutex_init(&w->wmu, NULL)) goto fail_wmu;
    if (pthread_mutex_init(&w->mu, NULL)) goto fail_mu;
    if (pthread_cond_init(&w->cv, NULL)) goto fail_cv;

    w->dir_fd = open(dir_z, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dir_fd < 0) {
        rc = err_sys(err, errno, "wal %s: open directory", dir_z);
        goto fail;
    }
    if ((rc = wal_replay(w, from_pos, fn, ctx, err))) goto fail;
    *out = w;
    return CAIRN_OK;

fail:
    if (w->dir_fd >= 0) close(w->dir_fd);
    wal_seg_close(w->cur);
    pthread_cond_destroy(&w->cv);
fail_cv:
    pthread_mutex_destroy(&w->mu);
fail_mu:
    pthread_mutex_destroy(&w->wmu);
fail_wmu:
    if (!rc) rc = err_set(err, CAIRN_ENOMEM, "wal %s: cannot create locks", dir_z);
    mem_free(w->dir_z, w->dir_len + 1);
    mem_free(w, sizeof *w);
    return rc;
}

void wal_close(wal *w)
{
    if (!w) return;
    while (w->retired) {
        wal_seg *next = w->retired->next;
        wal_seg_close(w->retired);
        w->retired = next;
    }
    wal_seg_close(w->cur);
    close(w->dir_fd);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->wmu);
    mem_free(w->dir_z, w->dir_len + 1);
    mem_free(w, sizeof *w);
}

uint64_t wal_position(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->written;
    pthread_mutex_unlock(&w->mu);
    return v;
}

uint64_t wal_bytes(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->bytes;
    pthread_mutex_unlock(&w->mu);
    return v;
}

void wal_stats_get(wal *w, wal_stats *out) { *out = w->st; }

uint64_t wal_fsyncs(wal *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t v = w->fsyncs;
    pthread_mutex_unlock(&w->mu);
    return v;
}

void wal_test_fault(wal *w, int fault, int sys_errno)
{
    pthread_mutex_lock(&w->wmu);
    pthread_mutex_lock(&w->mu);
    if (fault == WAL_FAULT_FSYNC) w->fault_fsync_errno = sys_errno;
    else if (fault == WAL_FAULT_WRITE || fault == WAL_FAULT_SHORT_WRITE)
        w->fault_write = fault, w->fault_write_errno = sys_errno;
    pthread_mutex_unlock(&w->mu);
    pthread_mutex_unlock(&w->wmu);
}
