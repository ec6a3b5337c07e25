/*
 * kv.c — cairn's thin layer over LMDB: one environment per data directory,
 * the fixed set of named databases, transactions, cursors, and the mapping of
 * MDB_* results to CAIRN_* codes with a message a person can act on.
 *
 * Why a layer at all: LMDB's handles, flags and error numbers stay inside this
 * file, so no other header drags lmdb.h along, and every caller sees the one
 * error convention of cairn (negative codes, "not found" as a plain result).
 * The wrapper adds almost nothing at run time: a kv_txn and a kv_cur are one
 * small allocation each around the LMDB handle.
 *
 * Environment. `<dir>/index.mdb` with MDB_NOSUBDIR (the lock file is
 * `index.mdb-lock` beside it), MDB_NOTLS so a read transaction may be carried
 * by an iterator across threads, and MDB_NOMETASYNC: a commit syncs data pages
 * but not the meta page, so a power cut can roll back the last commit, which
 * the WAL replays. The reader table has KV_MAX_READERS slots; with MDB_NOTLS
 * every open read transaction holds one.
 *
 * Exclusive open. LMDB is built for several processes sharing one
 * environment, so its lock file never refuses a second opener; and opening
 * the same environment twice in one process is undefined behaviour in LMDB
 * (closing one handle drops the other's POSIX locks). cairn wants one owner
 * per directory, so kv_open first takes flock(LOCK_EX|LOCK_NB) on `<dir>/LOCK`
 * and only then touches LMDB. flock locks belong to the open file description,
 * so the second kv_open fails whether it comes from another process or from
 * this one; the lock goes away with the descriptor, even after kill -9.
 *
 * Databases. Every DBI of enum kv_dbi is created or opened in kv_open's first
 * write transaction and stays valid until kv_close; flags are in kv_dbi_tab.
 * KV_HASH and KV_POSTINGS are dup-sorted with fixed-size 4-byte big-endian ids
 * (MDB_DUPFIXED), so a cursor can read a page of ids per call
 * (kv_cur_multiple); the reasons for LMDB postings over roaring bitmaps, with
 * measurements, are in docs/index.md. Key layouts: docs/format/lmdb.md.
 *
 * Threads. One write transaction at a time (the engine serialises writers);
 * read transactions and their cursors may be used from any one thread at a
 * time. Pointers returned by get/cursor calls point into the map and stay
 * valid until their transaction ends.
 */
#include "kv.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"

#define KV_MAX_READERS 1024
#define KV_MIN_KEY_BYTES 511 /* LMDB's default MDB_MAXKEYSIZE */

struct kv {
    MDB_env *env;
    MDB_dbi dbi[KV_N_DBI];
    int lock_fd;
    uint64_t map_size;
    uint64_t fs_low;   /* free bytes under which an EIO from LMDB is a full disk (KV_FS_LOW; tests raise it) */
    char dir[256]; /* for messages; truncated if longer */
};

struct kv_txn {
    kv *k;
    MDB_txn *txn;
};

struct kv_cur {
    kv_txn *t;
    MDB_cursor *c;
};

static const struct {
    const char *name;
    unsigned flags;
} kv_dbi_tab[KV_N_DBI] = {
    [KV_META] = {"meta", 0},
    [KV_SERIES] = {"series", 0},
    [KV_HASH] = {"hash", MDB_DUPSORT | MDB_DUPFIXED},
    [KV_POSTINGS] = {"postings", MDB_DUPSORT | MDB_DUPFIXED},
    [KV_CHUNKS] = {"chunks", 0},
    [KV_LOGCHUNKS] = {"logchunks", 0},
    [KV_HEADS] = {"heads", 0},
};

/* ---- errors --------------------------------------------------------------------- */

/* Is the file system holding the data dir (nearly) full? Less than KV_FS_LOW bytes free for
 * unprivileged writers, or no free inode. */
#define KV_FS_LOW (1u << 20)
static int kv_fs_full(const kv *k)
{
    struct statvfs sv;
    if (k->lock_fd < 0 || fstatvfs(k->lock_fd, &sv) != 0) return 0; /* the LOCK file is in the data dir */
    return (uint64_t)sv.f_bavail * sv.f_frsize < k->fs_low || (sv.f_files && sv.f_favail == 0);
}

/* Map an LMDB result to a cairn code, filling err with what and where. */
static int kv_fail(const kv *k, int rc, const char *what, cairn_err *err)
{
    const char *dir = k ? k->dir : "?";
    switch (rc) {
    case MDB_SUCCESS: return CAIRN_OK;
    case MDB_NOTFOUND: return CAIRN_NOTFOUND;
    case MDB_KEYEXIST: return CAIRN_NOTFOUND; /* the contract of kv_put with NOOVERWRITE/NODUPDATA */
    case MDB_MAP_FULL:
        /* The map is the most the index may grow to: for the writer that is a
         * full disk (507, retried later), not a limit of the request (400). */
        rc = err_set(err, CAIRN_ENOSPC,
                     "no space left on device: the LMDB map of %s/index.mdb (%llu bytes) is used up while writing "
                     "%s (raise the map size or free space)",
                     dir, (unsigned long long)(k ? k->map_size : 0), what);
        if (err) err->sys_errno = ENOSPC;
        return rc;
    case MDB_TXN_FULL:
        return err_set(err, CAIRN_ELIMIT, "%s: too many dirty pages in one LMDB transaction (%s)", what, dir);
    case MDB_READERS_FULL:
        return err_set(err, CAIRN_ELIMIT, "%s: all %d LMDB reader slots of %s are in use", what, KV_MAX_READERS,
                       dir);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
    case MDB_PANIC:
        return err_set(err, CAIRN_ECORRUPT, "%s: %s/index.mdb: %s", what, dir, mdb_strerror(rc));
    case MDB_BAD_VALSIZE:
        return err_set(err, CAIRN_EINVAL, "%s: key or value size not accepted by LMDB (%s)", what,
                       mdb_strerror(rc));
    case ENOMEM: return err_set(err, CAIRN_ENOMEM, "%s: out of memory", what);
    case EIO:
        /* LMDB answers a short write, which is how a full file system shows up,
         * with EIO ("short write, filesystem full?" in mdb_page_flush): ask the
         * file system whether it is full before calling it an I/O error. */
        if (k && kv_fs_full(k)) {
            err_sys(err, ENOSPC, "no space left on device: writing %s to %s/index.mdb (the file system is full)", what,
                    dir);
            if (err) err->code = CAIRN_ENOSPC;
            return CAIRN_ENOSPC;
        }
        return err_sys(err, rc, "%s: %s/index.mdb", what, dir);
    case ENOSPC:
    case EDQUOT:
        err_sys(err, rc, "no space left on device: writing %s to %s/index.mdb", what, dir);
        if (err) err->code = CAIRN_ENOSPC;
        return CAIRN_ENOSPC;
    default:
        if (rc > 0) return err_sys(err, rc, "%s: %s/index.mdb", what, dir);
        return err_set(err, CAIRN_EINTERNAL, "%s: %s", what, mdb_strerror(rc));
    }
}

/* A failed put names the table it was writing to. */
static int kv_fail_put(const kv *k, int rc, int dbi, cairn_err *err)
{
    char what[48];
    snprintf(what, sizeof what, "an item of the %s table", kv_dbi_tab[dbi].name);
    return kv_fail(k, rc, what, err);
}

/* ---- environment ----------------------------------------------------------------- */

static int kv_lock_dir(kv *k, const char *dir_z, cairn_err *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/LOCK", dir_z) >= (int)sizeof path)
        return err_set(err, CAIRN_EINVAL, "data dir path too long: %.200s", dir_z);
    k->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (k->lock_fd < 0) return err_sys(err, errno, "cannot open lock file %s", path);
    if (flock(k->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(k->lock_fd);
        k->lock_fd = -1;
        if (e == EWOULDBLOCK)
            return err_sys(err, e, "data dir %s is already open (another process or handle holds %s)", dir_z,
                           path);
        return err_sys(err, e, "cannot lock %s", path);
    }
    return CAIRN_OK;
}

int kv_open(const char *dir_z, uint64_t map_size, kv **out, cairn_err *err)
{
    *out = NULL;
    kv *k = mem_calloc(1, sizeof *k);
    if (!k) return err_set(err, CAIRN_ENOMEM, "out of memory opening %s", dir_z);
    k->lock_fd = -1;
    k->map_size = map_size;
    k->fs_low = KV_FS_LOW;
    snprintf(k->dir, sizeof k->dir, "%s", dir_z);
    int rc = kv_lock_dir(k, dir_z, err);
    if (rc) goto fail;

    char path[4096];
    snprintf(path, sizeof path, "%s/index.mdb", dir_z);
    int mrc = mdb_env_create(&k->env);
    if (!mrc) mrc = mdb_env_set_mapsize(k->env, (size_t)map_size);
    if (!mrc) mrc = mdb_env_set_maxreaders(k->env, KV_MAX_READERS);
    if (!mrc) mrc = mdb_env_set_maxdbs(k->env, KV_N_DBI);
    if (mrc) {
        rc = kv_fail(k, mrc, "creating the LMDB environment", err);
        goto fail;
    }
    mrc = mdb_env_open(k->env, path, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOMETASYNC, 0644);
    if (mrc) {
        rc = kv_fail(k, mrc, "opening index.mdb", err);
        goto fail;
    }
    MDB_envinfo info;
    if (!mdb_env_info(k->env, &info)) k->map_size = info.me_mapsize; /* an existing file may be larger */
    if (mdb_env_get_maxkeysize(k->env) < KV_MIN_KEY_BYTES) {
        /* idx.c decides between plain and hashed postings keys at 511 bytes (docs/format/lmdb.md) */
        rc = err_set(err, CAIRN_EINVAL, "this LMDB build accepts keys of %d bytes; cairn needs %d",
                     mdb_env_get_maxkeysize(k->env), KV_MIN_KEY_BYTES);
        goto fail;
    }

    MDB_txn *txn;
    mrc = mdb_txn_begin(k->env, NULL, 0, &txn);
    if (mrc) {
        rc = kv_fail(k, mrc, "opening the named databases", err);
        goto fail;
    }
    for (int i = 0; i < KV_N_DBI && !mrc; i++)
        mrc = mdb_dbi_open(txn, kv_dbi_tab[i].name, kv_dbi_tab[i].flags | MDB_CREATE, &k->dbi[i]);
    if (mrc) {
        mdb_txn_abort(txn);
        rc = kv_fail(k, mrc, "opening the named databases", err);
        goto fail;
    }
    mrc = mdb_txn_commit(txn);
    if (mrc) {
        rc = kv_fail(k, mrc, "opening the named databases", err);
        goto fail;
    }
    *out = k;
    return CAIRN_OK;
fail:
    kv_close(k);
    return rc;
}

void kv_close(kv *k)
{
    if (!k) return;
    if (k->env) mdb_env_close(k->env);
    if (k->lock_fd >= 0) close(k->lock_fd); /* releases the flock */
    mem_free(k, sizeof *k);
}

int kv_sync(kv *k, cairn_err *err)
{
    int rc = mdb_env_sync(k->env, 1);
    return rc ? kv_fail(k, rc, "syncing index.mdb", err) : CAIRN_OK;
}

uint64_t kv_used_bytes(kv *k)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(k->env, &info) || mdb_env_stat(k->env, &st)) return 0;
    return (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

uint64_t kv_map_size(kv *k) { return k->map_size; }

void kv_test_fs_low(kv *k, uint64_t bytes) { k->fs_low = bytes; }

/* ---- transactions ------------------------------------------------------------------ */

int kv_begin(kv *k, int write, kv_txn **out, cairn_err *err)
{
    *out = NULL;
    kv_txn *t = mem_alloc(sizeof *t);
    if (!t) return err_set(err, CAIRN_ENOMEM, "out of memory beginning a transaction");
    t->k = k;
    int rc = mdb_txn_begin(k->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
    if (rc) {
        mem_free(t, sizeof *t);
        return kv_fail(k, rc, write ? "beginning a write transaction" : "beginning a read transaction", err);
    }
    *out = t;
    return CAIRN_OK;
}

int kv_commit(kv_txn *t, cairn_err *err)
{
    kv *k = t->k;
    int rc = mdb_txn_commit(t->txn);
    mem_free(t, sizeof *t);
    return rc ? kv_fail(k, rc, "a transaction commit", err) : CAIRN_OK;
}

void kv_abort(kv_txn *t)
{
    if (!t) return;
    mdb_txn_abort(t->txn);
    mem_free(t, sizeof *t);
}

/* ---- items -------------------------------------------------------------------------- */

int kv_get(kv_txn *t, int dbi, const void *k, size_t kn, const void **v, size_t *vn)
{
    MDB_val key = {kn, (void *)k}, val;
    int rc = mdb_get(t->txn, t->k->dbi[dbi], &key, &val);
    if (rc) return kv_fail(t->k, rc, "get", NULL);
    *v = val.mv_data;
    *vn = val.mv_size;
    return CAIRN_OK;
}

static unsigned kv_mdb_put_flags(unsigned flags, int dbi)
{
    unsigned f = 0;
    if (flags & KV_APPEND) f |= (kv_dbi_tab[dbi].flags & MDB_DUPSORT) ? MDB_APPENDDUP : MDB_APPEND;
    if (flags & KV_NODUPDATA) f |= MDB_NODUPDATA;
    if (flags & KV_NOOVERWRITE) f |= MDB_NOOVERWRITE;
    return f;
}

int kv_put(kv_txn *t, int dbi, const void *k, size_t kn, const void *v, size_t vn, unsigned flags, cairn_err *err)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = mdb_put(t->txn, t->k->dbi[dbi], &key, &val, kv_mdb_put_flags(flags, dbi));
    if (rc == MDB_KEYEXIST && (flags & KV_APPEND) && !(flags & (KV_NOOVERWRITE | KV_NODUPDATA))) {
        /* Not in order after all: fall back to an ordinary insert. */
        rc = mdb_put(t->txn, t->k->dbi[dbi], &key, &val, 0);
    }
    return rc ? kv_fail_put(t->k, rc, dbi, err) : CAIRN_OK;
}

int kv_reserve(kv_txn *t, int dbi, const void *k, size_t kn, size_t vn, void **v, cairn_err *err)
{
    MDB_val key = {kn, (void *)k}, val = {vn, NULL};
    int rc = mdb_put(t->txn, t->k->dbi[dbi], &key, &val, MDB_RESERVE);
    if (rc) return kv_fail_put(t->k, rc, dbi, err);
    *v = val.mv_data;
    return CAIRN_OK;
}

int kv_del(kv_txn *t, int dbi, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    int rc = mdb_del(t->txn, t->k->dbi[dbi], &key, v ? &val : NULL);
    if (rc == MDB_NOTFOUND) return CAIRN_NOTFOUND;
    return rc ? kv_fail(t->k, rc, "delete", NULL) : CAIRN_OK;
}

/* ---- cursors ------------------------------------------------------------------------ */

int kv_cur_open(kv_txn *t, int dbi, kv_cur **out)
{
    *out = NULL;
    kv_cur *c = mem_alloc(sizeof *c);
    if (!c) return CAIRN_ENOMEM;
    c->t = t;
    int rc = mdb_cursor_open(t->txn, t->k->dbi[dbi], &c->c);
    if (rc) {
        mem_free(c, sizeof *c);
        return kv_fail(t->k, rc, "cursor open", NULL);
    }
    *out = c;
    return CAIRN_OK;
}

void kv_cur_close(kv_cur *c)
{
    if (!c) return;
    mdb_cursor_close(c->c);
    mem_free(c, sizeof *c);
}

static int kv_cur_op(kv_cur *c, MDB_val *key, MDB_val *val, MDB_cursor_op op, const void **ko, size_t *kon,
                     const void **v, size_t *vn)
{
    int rc = mdb_cursor_get(c->c, key, val, op);
    if (rc) return kv_fail(c->t->k, rc, "cursor", NULL);
    if (ko) *ko = key->mv_data;
    if (kon) *kon = key->mv_size;
    if (v) *v = val->mv_data;
    if (vn) *vn = val->mv_size;
    return CAIRN_OK;
}

int kv_cur_seek(kv_cur *c, const void *k, size_t kn, const void **ko, size_t *kon, const void **v, size_t *vn)
{
    MDB_val key = {kn, (void *)k}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, k ? MDB_SET_RANGE : MDB_FIRST, ko, kon, v, vn);
}

int kv_cur_seek_exact(kv_cur *c, const void *k, size_t kn, const void **v, size_t *vn)
{
    MDB_val key = {kn, (void *)k}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_SET_KEY, NULL, NULL, v, vn);
}

int kv_cur_last(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_LAST, ko, kon, v, vn);
}

int kv_cur_next(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_NEXT, ko, kon, v, vn);
}

int kv_cur_next_key(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_NEXT_NODUP, ko, kon, v, vn);
}

int kv_cur_prev(kv_cur *c, const void **ko, size_t *kon, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_PREV, ko, kon, v, vn);
}

int kv_cur_next_dup(kv_cur *c, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    return kv_cur_op(c, &key, &val, MDB_NEXT_DUP, NULL, NULL, v, vn);
}

int kv_cur_seek_dup(kv_cur *c, const void *k, size_t kn, const void *v, size_t vn, const void **vo,
                    size_t *von)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    return kv_cur_op(c, &key, &val, MDB_GET_BOTH_RANGE, NULL, NULL, vo, von);
}

int kv_cur_multiple(kv_cur *c, int first, const void **v, size_t *vn)
{
    MDB_val key = {0, NULL}, val = {0, NULL};
    if (first) {
        /* A key with a single dup has no sub-database, and LMDB's MDB_GET_MULTIPLE
         * would then answer from a stale sub-cursor: read the one item instead. */
        size_t cnt;
        int rc = mdb_cursor_count(c->c, &cnt);
        if (rc) return kv_fail(c->t->k, rc, "cursor count", NULL);
        if (cnt == 1) return kv_cur_op(c, &key, &val, MDB_GET_CURRENT, NULL, NULL, v, vn);
        return kv_cur_op(c, &key, &val, MDB_GET_MULTIPLE, NULL, NULL, v, vn);
    }
    return kv_cur_op(c, &key, &val, MDB_NEXT_MULTIPLE, NULL, NULL, v, vn);
}

int kv_cur_count(kv_cur *c, size_t *n)
{
    size_t cnt = 0;
    int rc = mdb_cursor_count(c->c, &cnt);
    if (rc) return kv_fail(c->t->k, rc, "cursor count", NULL);
    *n = (size_t)cnt;
    return CAIRN_OK;
}

int kv_cur_del(kv_cur *c)
{
    int rc = mdb_cursor_del(c->c, 0);
    return rc ? kv_fail(c->t->k, rc, "cursor delete", NULL) : CAIRN_OK;
}
