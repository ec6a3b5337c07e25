/*
 * engine_int.h — the database handle and the in-memory series table, shared
 * by engine.c (open, commit, checkpoint, retention), series.c (metric heads
 * and sample iterators) and cairn.c (the read half of cairn.h).
 *
 * Locking (two locks, always taken in this order):
 *   wmu    serialises writers: commit, checkpoint, retention. It guards the
 *          series table's growth, every LMDB write transaction and wal_append.
 *   state  a rwlock over everything readers look at in memory (series table,
 *          heads, in-memory sealed chunks, log streams). Writers hold it
 *          exclusively only while they apply already-validated changes;
 *          readers hold it shared while they copy what they need and open their
 *          LMDB read transaction, so a snapshot of memory and LMDB is always
 *          consistent with respect to a checkpoint moving chunks between them.
 * wal_sync_to() runs with neither lock held: that is what lets concurrent
 * commits share one fsync.
 */
#ifndef CAIRN_ENGINE_INT_H
#define CAIRN_ENGINE_INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"
#include "chunk.h"
#include "kv.h"
#include "logs.h"
#include "wal.h"

/* Head chunks are cut at this many samples or this time span (as Prometheus). */
#define SERIES_CHUNK_SAMPLES 120
#define SERIES_CHUNK_SPAN_MS (2 * 3600 * 1000LL)
/* Out-of-order samples are buffered and sealed into their own chunk at this count. */
#define SERIES_OOO_MAX 32

/* A sealed chunk held in memory until the next checkpoint writes it to LMDB. */
typedef struct sealed {
    struct sealed *next;
    int64_t mint, maxt;
    uint32_t len;
    uint8_t data[];
} sealed;

/* Out-of-order samples not yet in a chunk, sorted by time; allocated on the
 * first out-of-order sample of a series (most series never have one). */
typedef struct mooo_sample {
    int64_t t;
    double v;
} mooo_sample;
typedef struct mooo {
    uint32_t n, cap;
    mooo_sample s[];            /* cap items, n used */
} mooo;

/*
 * In-memory state of a metric series with recent writes. Kept small: one of
 * these lives for every active series (docs/benchmarks/engine.md has the
 * per-series memory budget). The head's newest timestamp is head.st.t.
 */
typedef struct mhead {
    chunk_w head;               /* open in-order chunk */
    int64_t head_mint;
    sealed *sealed;             /* newest first */
    mooo *ooo;                  /* NULL when there are no buffered out-of-order samples */
    uint8_t head_saved;         /* head unchanged since the last checkpoint saved it */
} mhead;

/*
 * A series (metric) or stream (log). One allocation: the canonical labels
 * follow the struct, so a look-up touches one block. Only `m` (metric) or
 * `l` (log) is ever set; they stay two fields, not a union, so code that
 * tests one without checking the kind is still safe.
 */
typedef struct series {
    uint64_t hash;
    int64_t mint, maxt;         /* data range (ms for metrics, ns for logs); INT64_MAX/INT64_MIN if none */
    int64_t last_write_ms;      /* wall clock of the last append (log idle flush) */
    struct series *hnext;       /* hash chain */
    mhead *m;                   /* metric state, NULL when nothing in memory */
    lstream *l;                 /* log state, NULL when nothing in memory */
    uint32_t id;
    uint32_t canon_len;
    uint8_t kind;
    uint8_t range_dirty;        /* mint/maxt changed since the last checkpoint */
    uint8_t canon[];            /* canonical label set, canon_len bytes */
} series;

struct cairn_db {
    cairn_options o;
    char *dir;
    kv *kv;
    wal *wal;
    pthread_mutex_t wmu;
    pthread_rwlock_t state;
    series **byid;              /* dense ids */
    uint32_t n_ids, cap_ids;
    series **htab;              /* hash -> chain */
    size_t hcap;
    uint64_t n_metric, n_log;
    logs_opts lo;
    buf rec;                    /* the commit's WAL record (under wmu) */
    int replaying;
    /* background thread */
    pthread_t bg;
    int bg_running;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    int bg_stop;
    int bg_kick;               /* checkpoint now: too many log bytes wait in memory */
    uint64_t log_bytes_since_cp; /* raw log bytes applied since the last checkpoint (under wmu) */
    /* stats */
    _Atomic uint64_t st_samples, st_entries, st_log_bytes, st_dup_samples, st_ooo_samples, st_conflict_samples,
        st_dup_entries, st_ooo_entries, st_commits, st_checkpoints, st_blocks;
    /* samples and entries refused by the commit's time bounds (too far ahead, older than retention) */
    _Atomic uint64_t st_new_samples, st_old_samples, st_new_entries, st_old_entries;
    _Atomic uint64_t st_storage_full; /* commits and checkpoints refused with CAIRN_ENOSPC */
};

void engine_log(cairn_db *db, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int64_t engine_now_ms(void);
series *engine_series(cairn_db *db, uint32_t id);
/* Find a series by canonical labels and hash (hash a parameter for collision tests). */
series *engine_find(cairn_db *db, uint64_t hash, const uint8_t *canon, size_t len);

/* ---- series.c: metric heads ---- */
/* Is there a stored sample at t? 1 and *v, 0 none, <0 error. Reads LMDB through t (read txn). */
int series_lookup(cairn_db *db, kv_txn *t, series *s, int64_t ts, double *v);
/* Append one validated sample (any order within the window). Exact duplicates return 1 (dropped). */
int series_append(cairn_db *db, series *s, int64_t ts, double v);
/* Write sealed chunks and the head snapshot of s into txn (checkpoint). */
int series_flush(cairn_db *db, series *s, kv_txn *t, cairn_err *err);
/* After the checkpoint txn committed: drop what is now in LMDB. */
void series_flush_done(cairn_db *db, series *s);
/* Restore a head snapshot saved by series_flush. */
int series_head_load(cairn_db *db, series *s, const uint8_t *p, size_t len, cairn_err *err);
/* Delete chunks of s older than cutoff (retention). */
int series_retention(cairn_db *db, series *s, kv_txn *t, int64_t cutoff_ms, cairn_err *err);
void mhead_free(mhead *m);
size_t mhead_mem(const mhead *m);
#endif
