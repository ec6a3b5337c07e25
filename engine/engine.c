/*
 * engine.c — the database facade: open and replay, commit, checkpoint,
 * retention, the background thread, close.
 *
 * A commit first checks the time window of every sample and entry (no lock:
 * not more than max_future_ms after the wall clock, not older than the
 * retention, within +-2^62; docs/limits.md), then runs in four steps under
 * the writer lock (wmu):
 *   1. resolve: every label set of the batch is found in the in-memory series
 *      table (XXH3 + byte compare) or given the next dense id; new series are
 *      written to the LMDB index in one transaction;
 *   2. validate: samples are sorted per series by time; duplicates inside the
 *      batch or against stored data are dropped when the value is bit-equal
 *      and fail the batch when it differs; samples older than a series'
 *      newest by more than the out-of-order window fail the batch (a new series
 *      takes samples of any age: that is how backfill works); log lines longer
 *      than the limit fail the batch naming stream and timestamp;
 *   3. log: the whole batch (new series, kept samples, entries) becomes ONE WAL
 *      record (walrec.h), appended but not yet synced;
 *   4. apply: with the state lock held exclusively, samples and entries go into
 *      the in-memory heads.
 * Then, with no lock held, wal_sync_to() waits for the fsync that covers the
 * record; commits arriving meanwhile share it (group commit). Only then does
 * cairn_commit() return CAIRN_OK. A failure in steps 1–3 leaves no trace of
 * the batch except index entries for new series, which carry no data and so
 * are invisible to time-bounded queries.
 *
 * Cost model (docs/benchmarks/engine.md): at 100k series a steady-state
 * commit of 10k samples costs ~0.08 s of CPU per million samples, most of it
 * in the Gorilla append and the WAL record. So the path avoids what would
 * dominate otherwise: one scratch allocation per commit, no sort when the
 * batch is already ordered by (series, time) (decoders emit it that way),
 * prefetched series look-ups, the record encoded in place with its counts
 * known up front, and one atomic add per commit for the counters.
 *
 * A checkpoint (background, every checkpoint_interval_ms, and on close) cuts
 * the WAL, writes every in-memory sealed chunk/block to LMDB, saves every open
 * head as a snapshot (KV_HEADS), records the cut position in KV_META, syncs
 * LMDB, and only then deletes the WAL segments before the cut. Open loads the
 * series table from the index, restores the snapshots and replays the WAL
 * from the recorded position, so every acknowledged commit is back exactly
 * once. Log streams idle or old past their limits are sealed and flushed by
 * the checkpoint and leave memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "batch.h"
#include "engine_int.h"
#include "err.h"
#include "idx.h"
#include "labels.h"
#include "logblock.h"
#include "mem.h"
#include "walrec.h"

#define META_CHECKPOINT "checkpoint"
#define RETENTION_EVERY_MS (10 * 60 * 1000LL)
/* Sealed log blocks wait in memory for the next checkpoint; once this many raw
 * log bytes arrived since the last one, checkpoint early so memory stays
 * bounded (~1/8 of this, compressed) under heavy log ingest. */
#define LOG_BYTES_CHECKPOINT (512ULL << 20)

const char *cairn_version(void) { return CAIRN_VERSION_STRING; }

void cairn_options_default(cairn_options *o)
{
    memset(o, 0, sizeof *o);
    o->retention_metrics_ms = 15LL * 24 * 3600 * 1000;
    o->retention_logs_ms = 7LL * 24 * 3600 * 1000;
    o->ooo_window_ms = 3600 * 1000;
    o->log_ooo_window_ms = 3600 * 1000;
    o->checkpoint_interval_ms = 5 * 60 * 1000;
    o->log_idle_flush_ms = 5 * 60 * 1000;
    o->log_max_age_ms = 3600 * 1000;
    o->wal_segment_bytes = 64ULL << 20;
    o->map_size_bytes = 64ULL << 30;
    o->log_block_bytes = 256 << 10;
    o->log_zstd_level = 1;
    o->max_line_bytes = 256 << 10;
    o->max_labels = 64;
    o->max_label_name_bytes = 1024;
    o->max_label_value_bytes = 4096;
    o->background = 1;
    o->checkpoint_txn_series = 4096;
    o->max_future_ms = 10 * 60 * 1000;
}

int64_t engine_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void engine_log(cairn_db *db, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (db && db->o.log_fn) {
        db->o.log_fn(db->o.log_ctx, level, msg);
        return;
    }
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "cairn %s: %s\n", names[level & 3], msg);
}

static void wal_log_bridge(void *ctx, int level, const char *msg) { engine_log(ctx, level, "%s", msg); }

/* ---- the series table ----------------------------------------------------------- */

series *engine_series(cairn_db *db, uint32_t id) { return id < db->n_ids ? db->byid[id] : NULL; }

series *engine_find(cairn_db *db, uint64_t hash, const uint8_t *canon, size_t len)
{
    if (!db->hcap) return NULL;
    for (series *s = db->htab[hash & (db->hcap - 1)]; s; s = s->hnext)
        if (s->hash == hash && s->canon_len == len && memcmp(s->canon, canon, len) == 0) return s;
    return NULL;
}

static series *find_kind(cairn_db *db, uint64_t hash, int kind, const uint8_t *canon, size_t len)
{
    if (!db->hcap) return NULL;
    for (series *s = db->htab[hash & (db->hcap - 1)]; s; s = s->hnext)
        if (s->hash == hash && s->kind == kind && s->canon_len == len && memcmp(s->canon, canon, len) == 0)
            return s;
    return NULL;
}

static size_t series_size(size_t canon_len) { return offsetof(series, canon) + canon_len; }

static void series_free(series *s)
{
    if (!s) return;
    mhead_free(s->m);
    lstream_free(s->l);
    mem_free(s, series_size(s->canon_len));
}

static series *series_new(uint32_t id, int kind, const uint8_t *canon, size_t len, uint64_t hash)
{
    series *s = mem_alloc(series_size(len));
    if (!s) return NULL;
    memset(s, 0, offsetof(series, canon));
    memcpy(s->canon, canon, len);
    s->canon_len = (uint32_t)len;
    s->id = id;
    s->kind = (uint8_t)kind;
    s->hash = hash;
    s->mint = INT64_MAX;
    s->maxt = INT64_MIN;
    return s;
}

/* Make room in the table for ids up to `id` (no insertion). */
static int table_reserve(cairn_db *db, uint32_t id)
{
    if (id >= db->cap_ids) {
        uint32_t ncap = db->cap_ids ? db->cap_ids : 1024;
        while (ncap <= id) ncap *= 2;
        series **n = mem_realloc(db->byid, db->cap_ids * sizeof *n, (size_t)ncap * sizeof *n);
        if (!n) return CAIRN_ENOMEM;
        memset(n + db->cap_ids, 0, (size_t)(ncap - db->cap_ids) * sizeof *n);
        db->byid = n;
        db->cap_ids = ncap;
    }
    uint64_t count = db->n_metric + db->n_log + 1;
    if (count > db->hcap / 2) {
        size_t ncap = db->hcap ? db->hcap * 2 : 1024;
        series **t = mem_calloc(ncap, sizeof *t);
        if (!t) return CAIRN_ENOMEM;
        for (size_t i = 0; i < db->hcap; i++)
            for (series *s = db->htab[i], *nx; s; s = nx) {
                nx = s->hnext;
                s->hnext = t[s->hash & (ncap - 1)];
                t[s->hash & (ncap - 1)] = s;
            }
        mem_free(db->htab, db->hcap * sizeof *db->htab);
        db->htab = t;
        db->hcap = ncap;
    }
    return CAIRN_OK;
}

/* Insert (table_reserve must have succeeded for s->id). */
static void table_insert(cairn_db *db, series *s)
{
    db->byid[s->id] = s;
    if (s->id >= db->n_ids) db->n_ids = s->id + 1;
    size_t h = s->hash & (db->hcap - 1);
    s->hnext = db->htab[h];
    db->htab[h] = s;
    if (s->kind == CAIRN_KIND_METRIC) db->n_metric++;
    else db->n_log++;
}

/* ---- applying samples and entries (commit and replay) ---------------------------------- */

static int apply_entry(cairn_db *db, series *s, int64_t t_ns, const uint8_t *line, size_t len, const uint8_t *meta,
                       size_t meta_len)
{
    if (!s->l && lstream_new(&s->l)) return CAIRN_ENOMEM;
    int rc = lstream_append(s->l, t_ns, (const char *)line, len, meta, meta_len, &db->lo, NULL);
    if (rc < 0) return rc;
    if (rc == 1) {
        db->st_dup_entries++;
        return CAIRN_OK;
    }
    if (t_ns < s->mint) s->mint = t_ns;
    if (t_ns > s->maxt) s->maxt = t_ns;
    s->range_dirty = 1;
    s->last_write_ms = engine_now_ms();
    db->st_entries++;
    db->st_log_bytes += len;
    db->log_bytes_since_cp += len;
    return CAIRN_OK;
}

typedef struct replay_ctx {
    cairn_db *db;
    kv_txn *txn; /* write txn for index entries lost with an unsynced LMDB commit */
    cairn_err *err;
    uint64_t orphans; /* samples and entries of series whose definition was in a lost WAL record */
} replay_ctx;

static int replay_series(void *ctx, uint32_t id, int kind, const uint8_t *canon, size_t len)
{
    replay_ctx *rc = ctx;
    cairn_db *db = rc->db;
    if (engine_series(db, id)) return CAIRN_OK;
    uint64_t h = labels_hash(canon, len);
    series *s = series_new(id, kind, canon, len, h);
    if (!s || table_reserve(db, id)) {
        series_free(s);
        return CAIRN_ENOMEM;
    }
    table_insert(db, s);
    if (!rc->txn) RETURN_IF_ERR(kv_begin(db->kv, 1, &rc->txn, rc->err));
    uint32_t found;
    if (idx_find(rc->txn, h, kind, canon, len, &found) == CAIRN_NOTFOUND)
        RETURN_IF_ERR(idx_add_series(rc->txn, id, kind, canon, len, h, rc->err));
    return CAIRN_OK;
}

static int replay_sample(void *ctx, uint32_t id, int64_t t_ms, double v)
{
    replay_ctx *rc = ctx;
    series *s = engine_series(rc->db, id);
    if (!s) {
        /* defined in a WAL record that was quarantined, and not in the index either */
        rc->orphans++;
        return CAIRN_OK;
    }
    if (s->kind != CAIRN_KIND_METRIC) return CAIRN_ECORRUPT;
    int r = series_append(rc->db, s, t_ms, v);
    return r < 0 ? r : CAIRN_OK;
}

static int replay_entry(void *ctx, uint32_t id, int64_t t_ns, const uint8_t *line, size_t len, const uint8_t *meta,
                        size_t meta_len)
{
    replay_ctx *rc = ctx;
    series *s = engine_series(rc->db, id);
    if (!s) {
        rc->orphans++;
        return CAIRN_OK;
    }
    if (s->kind != CAIRN_KIND_LOG) return CAIRN_ECORRUPT;
    return apply_entry(rc->db, s, t_ns, line, len, meta, meta_len);
}

static const walrec_fns replay_fns = {replay_series, replay_sample, replay_entry};

static int replay_record(void *ctx, uint8_t type, const uint8_t *p, size_t len, uint64_t pos)
{
    replay_ctx *rc = ctx;
    if (type != WALREC_COMMIT) {
        engine_log(rc->db, CAIRN_LOG_WARN, "WAL record of unknown type %u at %" PRIx64 " skipped", type, pos);
        return CAIRN_OK;
    }
    int r = walrec_decode(p, len, &replay_fns, rc, rc->err);
    if (r) err_set(rc->err, r, "cannot replay WAL record ending at %" PRIx64 ": %s", pos, cairn_strerror(r));
    return r;
}

/* ---- open ---------------------------------------------------------------------------------- */

static int load_series(void *ctx, uint32_t id, int kind, int64_t mint, int64_t maxt, const uint8_t *canon, size_t len)
{
    cairn_db *db = ctx;
    series *s = series_new(id, kind, canon, len, labels_hash(canon, len));
    if (!s || table_reserve(db, id)) {
        series_free(s);
        return CAIRN_ENOMEM;
    }
    s->mint = mint;
    s->maxt = maxt;
    table_insert(db, s);
    return CAIRN_OK;
}

static int load_heads(cairn_db *db, kv_txn *t, cairn_err *err)
{
    kv_cur *cur;
    const void *k, *v;
    size_t kn, vn;
    RETURN_IF_ERR(kv_cur_open(t, KV_HEADS, &cur));
    int rc = kv_cur_seek(cur, NULL, 0, &k, &kn, &v, &vn);
    while (rc == CAIRN_OK) {
        const uint8_t *kk = k;
        series *s = kn == 5 ? engine_series(db, be32_get(kk + 1)) : NULL;
        if (!s || s->kind != kk[0]) {
            rc = err_set(err, CAIRN_ECORRUPT, "head snapshot for unknown series");
            break;
        }
        if (s->kind == CAIRN_KIND_METRIC) {
            rc = series_head_load(db, s, v, vn, err);
        } else {
            if (!s->l && lstream_new(&s->l)) rc = err_set(err, CAIRN_ENOMEM, "out of memory loading heads");
            if (!rc) rc = lstream_head_load(s->l, v, vn, err);
            if (!rc) s->last_write_ms = engine_now_ms();
        }
        if (rc) break;
        rc = kv_cur_next(cur, &k, &kn, &v, &vn);
    }
    kv_cur_close(cur);
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

static void *bg_main(void *arg);

static void db_free(cairn_db *db)
{
    for (uint32_t i = 0; i < db->n_ids; i++) series_free(db->byid[i]);
    mem_free(db->byid, db->cap_ids * sizeof *db->byid);
    mem_free(db->htab, db->hcap * sizeof *db->htab);
    buf_free(&db->rec);
    wal_close(db->wal);
    kv_close(db->kv);
    lblk_enc_free(db->lo.enc);
    lblk_dctx_free(db->lo.dctx);
    pthread_mutex_destroy(&db->wmu);
    pthread_rwlock_destroy(&db->state);
    pthread_mutex_destroy(&db->bg_mu);
    pthread_cond_destroy(&db->bg_cv);
    if (db->dir) mem_free(db->dir, strlen(db->dir) + 1);
    mem_free(db, sizeof *db);
}

int cairn_open(const char *dir_z, const cairn_options *opts, cairn_db **out, cairn_err *err)
{
    *out = NULL;
    cairn_options o;
    if (opts) o = *opts;
    else cairn_options_default(&o);
    if (o.retention_metrics_ms < 0 || o.retention_logs_ms < 0 || o.ooo_window_ms < 0 || o.log_ooo_window_ms < 0 ||
        o.checkpoint_interval_ms < 0 || o.log_block_bytes < 1024 || o.max_labels == 0 || o.wal_segment_bytes < 4096 ||
        o.max_future_ms < 0)
        return err_set(err, CAIRN_EINVAL, "invalid options (negative duration, log block < 1 KiB or WAL segment < 4 KiB)");
    if (mkdir(dir_z, 0755) != 0 && errno != EEXIST) return err_sys(err, errno, "cannot create data dir %s", dir_z);
    cairn_db *db = mem_calloc(1, sizeof *db);
    if (!db) return err_set(err, CAIRN_ENOMEM, "out of memory opening %s", dir_z);
    db->o = o;
    db->dir = mem_strndup(dir_z, strlen(dir_z));
    pthread_mutex_init(&db->wmu, NULL);
    pthread_rwlock_init(&db->state, NULL);
    pthread_mutex_init(&db->bg_mu, NULL);
    pthread_cond_init(&db->bg_cv, NULL);
    db->lo.block_bytes = o.log_block_bytes;
    db->lo.zstd_level = o.log_zstd_level;
    /* one compression and one decompression context for every stream (writers are serialised) */
    if (lblk_enc_new(&db->lo.enc) || lblk_dctx_new(&db->lo.dctx)) {
        db_free(db);
        return err_set(err, CAIRN_ENOMEM, "out of memory opening %s", dir_z);
    }
    if (!db->dir) {
        db_free(db);
        return err_set(err, CAIRN_ENOMEM, "out of memory opening %s", dir_z);
    }
    kv_txn *t = NULL;
    uint64_t from = 0;
    int rc = kv_open(dir_z, o.map_size_bytes, &db->kv, err);
    if (!rc) rc = kv_begin(db->kv, 0, &t, err);
    if (!rc) rc = idx_scan_series(t, load_series, db);
    if (!rc) rc = load_heads(db, t, err);
    if (!rc) {
        const void *v;
        size_t vn;
        if (kv_get(t, KV_META, META_CHECKPOINT, strlen(META_CHECKPOINT), &v, &vn) == CAIRN_OK && vn == 8)
            from = le64_get(v);
    }
    kv_abort(t);
    if (rc) {
        if (rc == CAIRN_ENOMEM) err_set(err, rc, "out of memory loading the index of %s", dir_z);
        db_free(db);
        return rc;
    }
    char wdir[PATH_MAX];
    snprintf(wdir, sizeof wdir, "%s/wal", dir_z);
    wal_opts wo = {o.wal_segment_bytes, wal_log_bridge, db, o.wal_skip_missing, from == 0 && db->n_ids > 0};
    replay_ctx rctx = {db, NULL, err, 0};
    db->replaying = 1;
    rc = wal_open(wdir, &wo, from, replay_record, &rctx, &db->wal, err);
    db->replaying = 0;
    if (rctx.txn) {
        if (!rc) rc = kv_commit(rctx.txn, err);
        else kv_abort(rctx.txn);
    }
    if (rc) {
        db_free(db);
        return rc;
    }
    if (rctx.orphans)
        engine_log(db, CAIRN_LOG_ERROR,
                   "WAL replay dropped %" PRIu64 " samples and log entries of series defined only in damaged WAL "
                   "records (see the quarantine above)",
                   rctx.orphans);
    if (o.background) {
        if (pthread_create(&db->bg, NULL, bg_main, db) == 0) db->bg_running = 1;
        else engine_log(db, CAIRN_LOG_WARN, "cannot start the background thread; checkpoints only on close");
    }
    *out = db;
    return CAIRN_OK;
}

/* ---- commit ------------------------------------------------------------------------------ */

typedef struct commit_ctx {
    const cairn_batch *b;
    series **refs;
} commit_ctx;

static int sample_order(const void *a, const void *b, void *ctx)
{
    const cairn_batch *bt = ctx;
    const batch_sample *x = &bt->samples[*(const uint32_t *)a], *y = &bt->samples[*(const uint32_t *)b];
    if (x->ref != y->ref) return x->ref < y->ref ? -1 : 1;
    if (x->t_ms != y->t_ms) return x->t_ms < y->t_ms ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int entry_order(const void *a, const void *b, void *ctx)
{
    const cairn_batch *bt = ctx;
    const batch_entry *x = &bt->entries[*(const uint32_t *)a], *y = &bt->entries[*(const uint32_t *)b];
    if (x->ref != y->ref) return x->ref < y->ref ? -1 : 1;
    if (x->t_ns != y->t_ns) return x->t_ns < y->t_ns ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Order sample indexes by (ref, t, index). Decoders nearly always emit a
 * series' samples together and in time order, so one pass that finds the
 * batch already sorted saves the sort (and the identity is the stable order). */
static void order_samples(const cairn_batch *b, uint32_t *sord)
{
    int sorted = 1;
    const batch_sample *x = b->samples;
    for (size_t i = 0; i < b->n_samples; i++) {
        sord[i] = (uint32_t)i;
        if (i && (x[i].ref < x[i - 1].ref || (x[i].ref == x[i - 1].ref && x[i].t_ms < x[i - 1].t_ms))) sorted = 0;
    }
    if (!sorted) qsort_r(sord, b->n_samples, sizeof *sord, sample_order, (void *)b);
}

static void order_entries(const cairn_batch *b, uint32_t *eord)
{
    int sorted = 1;
    const batch_entry *x = b->entries;
    for (size_t i = 0; i < b->n_entries; i++) {
        eord[i] = (uint32_t)i;
        if (i && (x[i].ref < x[i - 1].ref || (x[i].ref == x[i - 1].ref && x[i].t_ns < x[i - 1].t_ns))) sorted = 0;
    }
    if (!sorted) qsort_r(eord, b->n_entries, sizeof *eord, entry_order, (void *)b);
}

/*
 * Resolve the batch's label sets to series (under wmu). A batch touches
 * about a thousand series scattered over the table, each look-up two cache
 * misses (bucket, series); issuing all bucket loads first and then all series
 * loads lets the misses overlap instead of queueing one behind the other.
 */
static void resolve_prefetch(cairn_db *db, const cairn_batch *b, const uint8_t *used)
{
    if (!db->hcap) return;
    size_t mask = db->hcap - 1;
    for (size_t i = 0; i < b->n_series; i++)
        if (used[i]) __builtin_prefetch(&db->htab[b->series[i].hash & mask]);
    for (size_t i = 0; i < b->n_series; i++) {
        if (!used[i]) continue;
        const series *s = db->htab[b->series[i].hash & mask];
        if (s) {
            __builtin_prefetch(s);
            __builtin_prefetch((const char *)s + 64);
        }
    }
}

static size_t fmt_series(const series *s, const uint8_t *canon, size_t len, char *dst, size_t cap)
{
    return labels_format(s ? s->canon : canon, s ? s->canon_len : len, dst, cap);
}

/* Check a canonical set against the configured limits (the batch applied only hard caps). */
static int check_limits(cairn_db *db, const uint8_t *canon, size_t len, cairn_err *err)
{
    labels_it it;
    cairn_label l;
    uint32_t n = 0;
    int rc;
    char name[160];
    RETURN_IF_ERR(labels_it_init(&it, canon, len));
    while ((rc = labels_it_next(&it, &l)) == 1) {
        n++;
        if (l.name_len > db->o.max_label_name_bytes || l.value_len > db->o.max_label_value_bytes) {
            labels_format(canon, len, name, sizeof name);
            return err_set(err, CAIRN_ELIMIT, "label %.*s of %s is longer than the limit (%u bytes name, %u value)",
                           (int)(l.name_len > 64 ? 64 : l.name_len), l.name, name, db->o.max_label_name_bytes,
                           db->o.max_label_value_bytes);
        }
    }
    if (n > db->o.max_labels) {
        labels_format(canon, len, name, sizeof name);
        return err_set(err, CAIRN_ELIMIT, "%s has %u labels, more than the limit of %u", name, n, db->o.max_labels);
    }
    return rc < 0 ? rc : CAIRN_OK;
}

/* ---- time bounds ------------------------------------------------------------------------ */

/* Timestamps the engine stores at all, whatever the options: strictly within
 * +-2^62 (ms for samples, ns for entries), so the difference of two stored
 * timestamps never overflows and INT64_MIN stays free as the "no data yet"
 * mark of a series' maxt. */
#define T_LIMIT ((int64_t)1 << 62)

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b) return INT64_MIN;
    return a + b;
}

static int64_t sat_sub(int64_t a, int64_t b) { return b == INT64_MIN ? sat_add(sat_add(a, INT64_MAX), 1) : sat_add(a, -b); }

static int64_t ms_to_ns_sat(int64_t ms)
{
    if (ms > INT64_MAX / 1000000) return INT64_MAX;
    if (ms < INT64_MIN / 1000000) return INT64_MIN;
    return ms * 1000000;
}

static int64_t clamp_t(int64_t t) { return t >= T_LIMIT ? T_LIMIT - 1 : t <= -T_LIMIT ? -T_LIMIT + 1 : t; }

/* " (2026-12-08T01:02:03Z)" for a Unix time in seconds within years 0..9999, else "". */
static const char *fmt_date(int64_t sec, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (sec < -62167219200LL || sec > 253402300799LL) return dst;
    time_t tt = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&tt, &tm)) strftime(dst, cap, " (%Y-%m-%dT%H:%M:%SZ)", &tm);
    return dst;
}

static int64_t floor_div(int64_t a, int64_t d) { return a / d - (a % d < 0); }

/*
 * The commit's time window, checked before anything else (no lock, no index):
 * samples in [now - retention_metrics_ms, now + max_future_ms] ms, entries in
 * [now - retention_logs_ms, now + max_future_ms] (as ns), a bound of 0 being
 * none, and everything within +-2^62. Counts every sample and entry outside
 * (the whole batch is refused) and names the first one in batch order.
 */
static int check_time_bounds(cairn_db *db, const cairn_batch *b, cairn_err *err)
{
    int64_t now = engine_now_ms();
    int64_t fut = db->o.max_future_ms, ret_m = db->o.retention_metrics_ms, ret_l = db->o.retention_logs_ms;
    int64_t m_hi = clamp_t(fut ? sat_add(now, fut) : INT64_MAX), m_lo = clamp_t(ret_m ? sat_sub(now, ret_m) : INT64_MIN);
    int64_t now_ns = ms_to_ns_sat(now);
    int64_t l_hi = clamp_t(fut ? sat_add(now_ns, ms_to_ns_sat(fut)) : INT64_MAX);
    int64_t l_lo = clamp_t(ret_l ? sat_sub(now_ns, ms_to_ns_sat(ret_l)) : INT64_MIN);
    uint64_t s_new = 0, s_old = 0, e_new = 0, e_old = 0;
    size_t first_s = SIZE_MAX, first_e = SIZE_MAX;
    for (size_t i = 0; i < b->n_samples; i++) {
        int64_t t = b->samples[i].t_ms;
        if (t >= m_lo && t <= m_hi) continue;
        if (t > m_hi) s_new++;
        else s_old++;
        if (first_s == SIZE_MAX) first_s = i;
    }
    for (size_t i = 0; i < b->n_entries; i++) {
        int64_t t = b->entries[i].t_ns;
        if (t >= l_lo && t <= l_hi) continue;
        if (t > l_hi) e_new++;
        else e_old++;
        if (first_e == SIZE_MAX) first_e = i;
    }
    if (first_s == SIZE_MAX && first_e == SIZE_MAX) return CAIRN_OK;
    if (s_new) db->st_new_samples += s_new;
    if (s_old) db->st_old_samples += s_old;
    if (e_new) db->st_new_entries += e_new;
    if (e_old) db->st_old_entries += e_old;

    int log = first_s == SIZE_MAX;
    int64_t t = log ? b->entries[first_e].t_ns : b->samples[first_s].t_ms;
    int64_t hi = log ? l_hi : m_hi, lo = log ? l_lo : m_lo, ret = log ? ret_l : ret_m;
    const batch_series *bs = &b->series[log ? b->entries[first_e].ref : b->samples[first_s].ref];
    char name[120], date[32];
    labels_format(batch_canon(b, bs), bs->canon_len, name, sizeof name);
    fmt_date(log ? floor_div(t, 1000000000) : floor_div(t, 1000), date, sizeof date);
    const char *what = log ? "log entry" : "sample", *unit = log ? "ns" : "ms";
    const char *in = log ? "in stream " : "for ";
    if (t > hi && fut && sat_add(log ? now_ns : now, log ? ms_to_ns_sat(fut) : fut) < T_LIMIT)
        return err_set(err, CAIRN_EINVAL,
                       "%s at %" PRId64 "%s %s%s is too far in the future: more than %" PRId64
                       " ms after the server clock (%" PRId64 " ms; --ingest-max-future)",
                       what, t, date, in, name, fut, now);
    if (t < lo && ret && sat_sub(log ? now_ns : now, log ? ms_to_ns_sat(ret) : ret) > -T_LIMIT)
        return err_set(err, CAIRN_EINVAL,
                       "%s at %" PRId64 "%s %s%s is too old: older than the %s retention of %" PRId64
                       " ms (oldest accepted now: %" PRId64 " %s)",
                       what, t, date, in, name, log ? "logs" : "metrics", ret, lo, unit);
    return err_set(err, CAIRN_EINVAL,
                   "%s at %" PRId64 " %s %s%s is out of bounds: timestamps must lie within +-2^62 %s", what, t, unit,
                   in, name, unit);
}

int cairn_commit(cairn_db *db, const cairn_batch *b, cairn_err *err)
{
    if (b->n_samples == 0 && b->n_entries == 0) return CAIRN_OK;
    int rc = check_time_bounds(db, b, err);
    if (rc) return rc;
    size_t n = b->n_series;
    /* one scratch block: refs | sord | eord | keep | used (pointers first for alignment) */
    size_t scratch_bytes = n * sizeof(series *) + (b->n_samples + b->n_entries) * sizeof(uint32_t) + b->n_samples + n;
    uint8_t *scratch = mem_alloc(scratch_bytes);
    kv_txn *rtxn = NULL, *wtxn = NULL;
    uint64_t pos = 0, n_keep = 0, n_applied = 0;
    int kick = 0;
    char name[200];
    if (!scratch) return err_set(err, CAIRN_ENOMEM, "out of memory committing a batch");
    series **refs = (series **)scratch;
    uint32_t *sord = (uint32_t *)(refs + n);
    uint32_t *eord = sord + b->n_samples;
    uint8_t *keep = (uint8_t *)(eord + b->n_entries);
    uint8_t *used = keep + b->n_samples;
    memset(refs, 0, n * sizeof *refs);
    memset(used, 0, n);
    for (size_t i = 0; i < b->n_samples; i++) used[b->samples[i].ref] = 1;
    for (size_t i = 0; i < b->n_entries; i++) used[b->entries[i].ref] = 1;
    order_samples(b, sord);
    order_entries(b, eord);

    pthread_mutex_lock(&db->wmu);
    /* 1. resolve series; count what is new */
    uint32_t n_new = 0, next_id = db->n_ids;
    uint64_t new_metric = 0, new_log = 0;
    resolve_prefetch(db, b, used);
    for (size_t i = 0; i < n; i++) {
        const batch_series *bs = &b->series[i];
        if (!used[i]) continue;
        const uint8_t *canon = batch_canon(b, bs);
        refs[i] = find_kind(db, bs->hash, bs->kind, canon, bs->canon_len);
        if (refs[i]) continue;
        if ((rc = check_limits(db, canon, bs->canon_len, err))) goto unlock;
        if (bs->kind == CAIRN_KIND_METRIC) new_metric++;
        else new_log++;
        n_new++;
    }
    if (db->o.max_series && new_metric && db->n_metric + new_metric > db->o.max_series) {
        rc = err_set(err, CAIRN_ELIMIT, "series limit of %" PRIu64 " reached (%" PRIu64 " new series in this batch)",
                     db->o.max_series, new_metric);
        goto unlock;
    }
    if (db->o.max_streams && new_log && db->n_log + new_log > db->o.max_streams) {
        rc = err_set(err, CAIRN_ELIMIT, "stream limit of %" PRIu64 " reached (%" PRIu64 " new streams in this batch)",
                     db->o.max_streams, new_log);
        goto unlock;
    }
    /* 2. validate samples (sorted by series, then time) */
    for (size_t k = 0; k < b->n_samples; k++) {
        const batch_sample *x = &b->samples[sord[k]];
        keep[sord[k]] = 1;
        uint64_t xb, pb;
        if (k > 0 && b->samples[sord[k - 1]].ref == x->ref && b->samples[sord[k - 1]].t_ms == x->t_ms) {
            memcpy(&xb, &x->v, 8);
            memcpy(&pb, &b->samples[sord[k - 1]].v, 8);
            keep[sord[k]] = 0;
            if (xb == pb) {
                db->st_dup_samples++;
                continue;
            }
            db->st_conflict_samples++;
            fmt_series(refs[x->ref], batch_canon(b, &b->series[x->ref]), b->series[x->ref].canon_len, name, sizeof name);
            rc = err_set(err, CAIRN_EOUTOFORDER, "duplicate sample for timestamp %" PRId64 " with a different value in %s",
                         x->t_ms, name);
            goto unlock;
        }
        series *s = refs[x->ref];
        if (!s || s->maxt == INT64_MIN || x->t_ms > s->maxt) continue;
        if (x->t_ms < sat_sub(s->maxt, db->o.ooo_window_ms)) {
            db->st_ooo_samples++;
            fmt_series(s, NULL, 0, name, sizeof name);
            rc = err_set(err, CAIRN_EOUTOFORDER,
                         "sample at %" PRId64 " is too old for %s: newest is %" PRId64 ", out-of-order window %" PRId64 " ms",
                         x->t_ms, name, s->maxt, db->o.ooo_window_ms);
            goto unlock;
        }
        if (!rtxn && (rc = kv_begin(db->kv, 0, &rtxn, err))) goto unlock;
        double old;
        int f = series_lookup(db, rtxn, s, x->t_ms, &old);
        if (f < 0) {
            rc = err_set(err, f, "cannot read series %u to check a duplicate", s->id);
            goto unlock;
        }
        if (f == 1) {
            keep[sord[k]] = 0;
            memcpy(&xb, &x->v, 8);
            memcpy(&pb, &old, 8);
            if (xb == pb) {
                db->st_dup_samples++;
                continue;
            }
            db->st_conflict_samples++;
            fmt_series(s, NULL, 0, name, sizeof name);
            rc = err_set(err, CAIRN_EOUTOFORDER, "duplicate sample for timestamp %" PRId64 " with a different value in %s",
                         x->t_ms, name);
            goto unlock;
        }
    }
    kv_abort(rtxn);
    rtxn = NULL;
    for (size_t k = 0; k < b->n_samples; k++) n_keep += keep[k];
    /* validate entries */
    for (size_t k = 0; k < b->n_entries; k++) {
        const batch_entry *e = &b->entries[eord[k]];
        const batch_series *bs = &b->series[e->ref];
        series *s = refs[e->ref];
        if (e->line_len > db->o.max_line_bytes) {
            fmt_series(s, batch_canon(b, bs), bs->canon_len, name, sizeof name);
            rc = err_set(err, CAIRN_ELIMIT, "log line of %u bytes at %" PRId64 " in stream %s exceeds the limit of %u bytes",
                         e->line_len, e->t_ns, name, db->o.max_line_bytes);
            goto unlock;
        }
        int64_t win = ms_to_ns_sat(db->o.log_ooo_window_ms);
        if (s && s->maxt != INT64_MIN && e->t_ns < sat_sub(s->maxt, win)) {
            db->st_ooo_entries++;
            fmt_series(s, NULL, 0, name, sizeof name);
            rc = err_set(err, CAIRN_EOUTOFORDER,
                         "log entry at %" PRId64 " is too old for stream %s: newest is %" PRId64 ", window %" PRId64 " ms",
                         e->t_ns, name, s->maxt, db->o.log_ooo_window_ms);
            goto unlock;
        }
    }
    /* new series: index them (one LMDB transaction), then into the table */
    if (n_new) {
        if ((rc = table_reserve(db, next_id + n_new))) {
            rc = err_set(err, rc, "out of memory adding %u series", n_new);
            goto unlock;
        }
        if ((rc = kv_begin(db->kv, 1, &wtxn, err))) goto unlock;
        /* A set may already be in the index without being in the table: a
         * commit that indexed it and then ran out of memory before inserting
         * it. It keeps its id; the others get the next ones. */
        uint32_t id = next_id, *ids = mem_alloc(n * sizeof *ids);
        if (!ids) rc = err_set(err, CAIRN_ENOMEM, "out of memory adding %u series", n_new);
        for (size_t i = 0; i < n && !rc; i++) {
            const batch_series *bs = &b->series[i];
            if (!used[i] || refs[i]) continue;
            if (idx_find(wtxn, bs->hash, bs->kind, batch_canon(b, bs), bs->canon_len, &ids[i]) == CAIRN_OK &&
                !engine_series(db, ids[i]))
                continue;
            ids[i] = id++;
            rc = idx_add_series(wtxn, ids[i], bs->kind, batch_canon(b, bs), bs->canon_len, bs->hash, err);
        }
        if (rc) {
            kv_abort(wtxn);
            mem_free(ids, n * sizeof *ids);
            goto unlock;
        }
        if ((rc = kv_commit(wtxn, err))) {
            mem_free(ids, n * sizeof *ids);
            goto unlock;
        }
        /* From here the index has them: they go into the table whatever happens next. */
        pthread_rwlock_wrlock(&db->state);
        for (size_t i = 0; i < n; i++) {
            const batch_series *bs = &b->series[i];
            if (!used[i] || refs[i]) continue;
            series *s = series_new(ids[i], bs->kind, batch_canon(b, bs), bs->canon_len, bs->hash);
            if (!s || table_reserve(db, ids[i])) {
                rc = err_set(err, CAIRN_ENOMEM, "out of memory adding series");
                series_free(s);
                if (db->n_ids < id) db->n_ids = id; /* ids up to `id` are taken in the index */
                break;
            }
            table_insert(db, s);
            refs[i] = s;
        }
        mem_free(ids, n * sizeof *ids);
        pthread_rwlock_unlock(&db->state);
        if (rc) goto unlock;
    }
    /* 3. one WAL record */
    /* Every count is known by now, so the record is encoded in place, in
     * one buffer reserved up front (a sample is at most 5 + 10 + 8 bytes). */
    buf_reset(&db->rec);
    rc = buf_reserve(&db->rec, 3 * 10 + n_keep * 23);
    uint64_t n_defs = 0; /* series this commit indexed (ids from next_id on) */
    for (size_t i = 0; i < n; i++) n_defs += used[i] && refs[i]->id >= next_id;
    if (!rc) rc = buf_put_uvarint(&db->rec, n_defs);
    for (size_t i = 0; i < n && !rc; i++)
        if (used[i] && refs[i]->id >= next_id)
            rc = walrec_put_series(&db->rec, refs[i]->id, refs[i]->kind, refs[i]->canon, refs[i]->canon_len);
    if (!rc) rc = buf_put_uvarint(&db->rec, n_keep);
    for (size_t k = 0; k < b->n_samples && !rc; k++) {
        const batch_sample *x = &b->samples[sord[k]];
        if (keep[sord[k]]) rc = walrec_put_sample(&db->rec, refs[x->ref]->id, x->t_ms, x->v);
    }
    if (!rc) rc = buf_put_uvarint(&db->rec, b->n_entries);
    for (size_t k = 0; k < b->n_entries && !rc; k++) {
        const batch_entry *e = &b->entries[eord[k]];
        rc = walrec_put_entry(&db->rec, refs[e->ref]->id, e->t_ns, b->lines.p + e->line_off, e->line_len,
                              e->meta_len ? b->meta.p + e->meta_off : NULL, e->meta_len);
    }
    if (rc) {
        rc = err_set(err, rc, "out of memory encoding the WAL record");
        goto unlock;
    }
    if ((rc = wal_append(db->wal, WALREC_COMMIT, db->rec.p, db->rec.len, &pos, err))) goto unlock;
    /* 4. apply */
    pthread_rwlock_wrlock(&db->state);
    for (size_t k = 0; k < b->n_samples && rc >= 0; k++) {
        const batch_sample *x = &b->samples[sord[k]];
        if (!keep[sord[k]]) continue;
        rc = series_append(db, refs[x->ref], x->t_ms, x->v);
        n_applied += rc == 0;
    }
    db->st_samples += n_applied; /* one atomic add per commit, not per sample */
    for (size_t k = 0; k < b->n_entries && rc >= 0; k++) {
        const batch_entry *e = &b->entries[eord[k]];
        rc = apply_entry(db, refs[e->ref], e->t_ns, b->lines.p + e->line_off, e->line_len,
                         e->meta_len ? b->meta.p + e->meta_off : NULL, e->meta_len);
    }
    pthread_rwlock_unlock(&db->state);
    if (rc < 0) {
        /* The record is in the WAL: memory is behind it. Only OOM gets here. */
        engine_log(db, CAIRN_LOG_ERROR, "applying a logged commit failed (%s); it will be visible after restart",
                   cairn_strerror(rc));
        rc = err_set(err, rc, "out of memory applying a commit");
    } else {
        rc = CAIRN_OK;
    }
    db->st_commits++;
    if (db->log_bytes_since_cp >= LOG_BYTES_CHECKPOINT && !db->replaying) kick = 1;
unlock:
    kv_abort(rtxn);
    pthread_mutex_unlock(&db->wmu);
    if (pos && rc >= 0) rc = wal_sync_to(db->wal, pos, err);
    if (rc == CAIRN_ENOSPC) db->st_storage_full++;
    mem_free(scratch, scratch_bytes);
    if (kick && rc == CAIRN_OK) {
        if (db->bg_running) {
            pthread_mutex_lock(&db->bg_mu);
            db->bg_kick = 1;
            pthread_cond_signal(&db->bg_cv);
            pthread_mutex_unlock(&db->bg_mu);
        } else {
            cairn_err e;
            if (cairn_checkpoint(db, &e)) engine_log(db, CAIRN_LOG_ERROR, "checkpoint failed: %s", e.msg);
        }
    }
    return rc;
}

/* ---- checkpoint and retention ---------------------------------------------------------------- */

/*
 * Metric series are written in transactions of at most checkpoint_txn_series
 * series each: LMDB keeps every page a write transaction dirtied in a cache of
 * its own for the life of the environment, so one transaction over 100k series
 * would leave ~150 MB of process memory behind. If the process dies between
 * two of these transactions, the checkpoint position is still the old one and
 * replay appends samples that the flushed series already hold; they land in
 * out-of-order chunks and reads yield one sample per timestamp, so nothing is
 * seen twice. Log streams and the checkpoint position go in the last
 * transaction, all together, because log entries are not de-duplicated across
 * chunks at read time.
 */
static int checkpoint_metrics(cairn_db *db, cairn_err *err)
{
    uint32_t per_txn = db->o.checkpoint_txn_series ? db->o.checkpoint_txn_series : 4096;
    int rc = CAIRN_OK;
    for (uint32_t from = 0, to; from < db->n_ids && !rc; from = to) {
        kv_txn *t = NULL;
        uint32_t written = 0;
        if ((rc = kv_begin(db->kv, 1, &t, err))) break;
        for (to = from; to < db->n_ids && written < per_txn && !rc; to++) {
            series *s = db->byid[to];
            if (!s || s->kind != CAIRN_KIND_METRIC || (!s->m && !s->range_dirty)) continue;
            rc = series_flush(db, s, t, err);
            if (!rc && s->range_dirty) rc = idx_set_range(t, s->id, s->mint, s->maxt, err);
            written++;
        }
        if (rc || !written) {
            kv_abort(t);
            continue;
        }
        pthread_rwlock_wrlock(&db->state);
        rc = kv_commit(t, err);
        for (uint32_t i = from; i < to && !rc; i++) {
            series *s = db->byid[i];
            if (!s || s->kind != CAIRN_KIND_METRIC) continue;
            s->range_dirty = 0;
            series_flush_done(db, s);
        }
        pthread_rwlock_unlock(&db->state);
    }
    return rc;
}

static int checkpoint_locked(cairn_db *db, cairn_err *err)
{
    uint64_t pos;
    kv_txn *t = NULL;
    int rc = wal_cut(db->wal, &pos, err);
    if (!rc) rc = checkpoint_metrics(db, err);
    if (!rc) rc = kv_begin(db->kv, 1, &t, err);
    int64_t now = engine_now_ms();
    buf hb;
    buf_init(&hb);
    for (uint32_t i = 0; i < db->n_ids && !rc; i++) {
        series *s = db->byid[i];
        if (!s || s->kind != CAIRN_KIND_LOG) continue;
        if (s->l) {
            int64_t head_age_ms = (s->maxt - lstream_head_mint(s->l)) / 1000000;
            if (lstream_head_count(s->l) &&
                (now - s->last_write_ms >= db->o.log_idle_flush_ms || head_age_ms >= db->o.log_max_age_ms))
                rc = lstream_cut(s->l, &db->lo, err);
            if (!rc) rc = lstream_flush(s->l, t, s->id, err);
            if (!rc) {
                uint8_t hk[5];
                hk[0] = CAIRN_KIND_LOG;
                be32_put(hk + 1, s->id);
                if (lstream_head_count(s->l)) {
                    buf_reset(&hb);
                    rc = lstream_head_save(s->l, &hb);
                    if (!rc) rc = kv_put(t, KV_HEADS, hk, sizeof hk, hb.p, hb.len, 0, err);
                } else {
                    kv_del(t, KV_HEADS, hk, sizeof hk, NULL, 0);
                }
            }
        }
        if (!rc && s->range_dirty) rc = idx_set_range(t, s->id, s->mint, s->maxt, err);
    }
    buf_free(&hb);
    if (!rc) {
        uint8_t v[8];
        le64_put(v, pos);
        rc = kv_put(t, KV_META, META_CHECKPOINT, strlen(META_CHECKPOINT), v, 8, 0, err);
    }
    if (rc) {
        kv_abort(t);
        return rc;
    }
    pthread_rwlock_wrlock(&db->state);
    rc = kv_commit(t, err);
    if (!rc) {
        for (uint32_t i = 0; i < db->n_ids; i++) {
            series *s = db->byid[i];
            if (!s || s->kind != CAIRN_KIND_LOG) continue;
            s->range_dirty = 0;
            if (s->l) {
                lstream_flush_done(s->l);
                if (lstream_head_count(s->l) == 0 && lstream_mem_bytes(s->l) <= 4096) {
                    lstream_free(s->l);
                    s->l = NULL;
                }
            }
        }
    }
    pthread_rwlock_unlock(&db->state);
    if (!rc) rc = kv_sync(db->kv, err);
    if (!rc) rc = wal_truncate_before(db->wal, pos, err);
    if (!rc) {
        db->st_checkpoints++;
        db->log_bytes_since_cp = 0;
    }
    return rc;
}

int cairn_checkpoint(cairn_db *db, cairn_err *err)
{
    pthread_mutex_lock(&db->wmu);
    int rc = checkpoint_locked(db, err);
    pthread_mutex_unlock(&db->wmu);
    if (rc == CAIRN_ENOSPC) db->st_storage_full++;
    return rc;
}

int cairn_retention_run(cairn_db *db, int64_t now_ms, cairn_err *err)
{
    if (!now_ms) now_ms = engine_now_ms();
    int64_t cut_m = db->o.retention_metrics_ms ? now_ms - db->o.retention_metrics_ms : INT64_MIN;
    int64_t cut_l = db->o.retention_logs_ms ? (now_ms - db->o.retention_logs_ms) * 1000000 : INT64_MIN;
    if (cut_m == INT64_MIN && cut_l == INT64_MIN) return CAIRN_OK;
    kv_txn *t;
    pthread_mutex_lock(&db->wmu);
    int rc = kv_begin(db->kv, 1, &t, err);
    if (rc) {
        pthread_mutex_unlock(&db->wmu);
        return rc;
    }
    uint64_t deleted = 0;
    pthread_rwlock_wrlock(&db->state);
    for (uint32_t i = 0; i < db->n_ids && !rc; i++) {
        series *s = db->byid[i];
        if (!s || s->mint == INT64_MAX) continue;
        if (s->kind == CAIRN_KIND_METRIC && cut_m != INT64_MIN && s->mint < cut_m)
            rc = series_retention(db, s, t, cut_m, err);
        else if (s->kind == CAIRN_KIND_LOG && cut_l != INT64_MIN && s->mint < cut_l) {
            rc = logs_retention(t, s->id, cut_l, &deleted, err);
            if (!rc && s->maxt >= cut_l) s->mint = cut_l, s->range_dirty = 1;
        }
    }
    if (!rc) rc = kv_commit(t, err);
    else kv_abort(t);
    pthread_rwlock_unlock(&db->state);
    pthread_mutex_unlock(&db->wmu);
    return rc;
}

/* ---- background ------------------------------------------------------------------------------ */

static void *bg_main(void *arg)
{
    cairn_db *db = arg;
    int64_t next_cp = engine_now_ms() + db->o.checkpoint_interval_ms;
    int64_t next_ret = engine_now_ms() + 10000;
    pthread_mutex_lock(&db->bg_mu);
    while (!db->bg_stop) {
        int64_t now = engine_now_ms();
        int64_t wake = next_ret;
        if (db->o.checkpoint_interval_ms && next_cp < wake) wake = next_cp;
        if (wake > now && !db->bg_kick) {
            struct timespec ts = {(time_t)(wake / 1000), (long)(wake % 1000) * 1000000};
            pthread_cond_timedwait(&db->bg_cv, &db->bg_mu, &ts);
            continue;
        }
        int kicked = db->bg_kick;
        db->bg_kick = 0;
        pthread_mutex_unlock(&db->bg_mu);
        cairn_err e;
        if (kicked || (db->o.checkpoint_interval_ms && now >= next_cp)) {
            if (cairn_checkpoint(db, &e)) engine_log(db, CAIRN_LOG_ERROR, "checkpoint failed: %s", e.msg);
            next_cp = engine_now_ms() + db->o.checkpoint_interval_ms;
        }
        if (now >= next_ret) {
            if (cairn_retention_run(db, 0, &e)) engine_log(db, CAIRN_LOG_ERROR, "retention failed: %s", e.msg);
            next_ret = engine_now_ms() + RETENTION_EVERY_MS;
        }
        pthread_mutex_lock(&db->bg_mu);
    }
    pthread_mutex_unlock(&db->bg_mu);
    return NULL;
}

int cairn_close(cairn_db *db)
{
    if (!db) return CAIRN_OK;
    if (db->bg_running) {
        pthread_mutex_lock(&db->bg_mu);
        db->bg_stop = 1;
        pthread_cond_signal(&db->bg_cv);
        pthread_mutex_unlock(&db->bg_mu);
        pthread_join(db->bg, NULL);
    }
    /* Seal every log head so the final checkpoint stores compressed blocks,
     * not raw head snapshots (a head is reloaded raw on open otherwise). */
    pthread_mutex_lock(&db->wmu);
    pthread_rwlock_wrlock(&db->state);
    for (uint32_t i = 0; i < db->n_ids; i++) {
        series *s = db->byid[i];
        if (s && s->l && lstream_head_count(s->l) && lstream_cut(s->l, &db->lo, NULL))
            engine_log(db, CAIRN_LOG_WARN, "cannot seal the log head of stream %u at close; it stays a snapshot", s->id);
    }
    pthread_rwlock_unlock(&db->state);
    pthread_mutex_unlock(&db->wmu);
    cairn_err e;
    int rc = cairn_checkpoint(db, &e);
    if (rc) engine_log(db, CAIRN_LOG_ERROR, "checkpoint at close failed (the WAL keeps the data): %s", e.msg);
    db_free(db);
    return rc;
}

void cairn_stats_get(cairn_db *db, cairn_stats *o)
{
    memset(o, 0, sizeof *o);
    o->n_series = db->n_metric;
    o->n_streams = db->n_log;
    o->samples_appended = db->st_samples;
    o->entries_appended = db->st_entries;
    o->log_bytes_appended = db->st_log_bytes;
    o->samples_dup_ignored = db->st_dup_samples;
    o->samples_rejected_ooo = db->st_ooo_samples;
    o->samples_rejected_dup = db->st_conflict_samples;
    o->entries_dup_ignored = db->st_dup_entries;
    o->entries_rejected_ooo = db->st_ooo_entries;
    o->samples_rejected_too_new = db->st_new_samples;
    o->samples_rejected_too_old = db->st_old_samples;
    o->entries_rejected_too_new = db->st_new_entries;
    o->entries_rejected_too_old = db->st_old_entries;
    o->commits = db->st_commits;
    o->checkpoints = db->st_checkpoints;
    o->log_blocks_decompressed = db->st_blocks;
    o->wal_bytes = db->wal ? wal_bytes(db->wal) : 0;
    o->wal_fsyncs = db->wal ? wal_fsyncs(db->wal) : 0;
    o->mem_bytes = mem_in_use();
    o->storage_full_errors = db->st_storage_full;
    if (db->wal) {
        wal_stats ws;
        wal_stats_get(db->wal, &ws);
        o->wal_corruptions = ws.corruptions;
        o->wal_quarantined_bytes = ws.quarantined_bytes;
        o->wal_missing_segments = ws.missing_segments;
    }
}
