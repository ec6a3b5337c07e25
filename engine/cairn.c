/*
 * cairn.c — the read half of cairn.h: selecting series, label names and
 * values, and log entry iterators.
 *
 * Matchers are compiled once per call (match.c), resolved to ids by the
 * index (idx_select) inside one LMDB read transaction, and filtered by the
 * in-memory time range of each series, which is newer than what the index
 * has persisted (ranges are written at checkpoints). Results are copied out
 * of LMDB and the series table into memory the returned object owns, so a
 * caller may hold a series set or string list across commits and checkpoints.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "err.h"
#include "idx.h"
#include "labels.h"
#include "match.h"
#include "mem.h"

typedef struct keep_ctx {
    cairn_db *db;
    int kind;
    int64_t mint, maxt;
} keep_ctx;

/* Called with the state lock held shared. */
static int keep_in_range(void *ctx, uint32_t id)
{
    keep_ctx *k = ctx;
    series *s = engine_series(k->db, id);
    return s && s->kind == k->kind && s->maxt >= k->mint && s->mint <= k->maxt;
}

static void matchers_free(match *m, size_t n)
{
    for (size_t i = 0; i < n; i++) match_free(&m[i]);
    mem_free(m, n * sizeof *m);
}

static int matchers_compile(const cairn_matcher *src, size_t n, match **out, cairn_err *err)
{
    *out = NULL;
    if (!n) return CAIRN_OK;
    match *m = mem_calloc(n, sizeof *m);
    if (!m) return err_set(err, CAIRN_ENOMEM, "out of memory compiling matchers");
    for (size_t i = 0; i < n; i++) {
        int rc = match_compile(&m[i], &src[i], err);
        if (rc) {
            for (size_t j = 0; j < i; j++) match_free(&m[j]);
            mem_free(m, n * sizeof *m);
            return rc;
        }
    }
    *out = m;
    return CAIRN_OK;
}

static int check_kind(int kind, cairn_err *err)
{
    if (kind != CAIRN_KIND_METRIC && kind != CAIRN_KIND_LOG) return err_set(err, CAIRN_EINVAL, "unknown kind %d", kind);
    return CAIRN_OK;
}

/* Resolve matchers to ids under the state lock (shared) with a read txn. */
static int select_ids(cairn_db *db, int kind, const cairn_matcher *src, size_t n, int64_t mint, int64_t maxt,
                      idx_ids *ids, kv_txn **txn_out, cairn_err *err)
{
    match *m;
    RETURN_IF_ERR(check_kind(kind, err));
    RETURN_IF_ERR(matchers_compile(src, n, &m, err));
    kv_txn *t = NULL;
    keep_ctx kc = {db, kind, mint, maxt};
    int rc = kv_begin(db->kv, 0, &t, err);
    if (!rc) rc = idx_select(t, kind, m, n, keep_in_range, &kc, ids, err);
    matchers_free(m, n);
    if (rc || !txn_out) kv_abort(t);
    else *txn_out = t;
    return rc;
}

/* ---- series sets ---------------------------------------------------------------------- */

struct cairn_series_set {
    uint64_t *ids;
    uint32_t *off, *cnt; /* into labels */
    cairn_label *labels;
    size_t n, pos, n_labels;
    buf bytes; /* canonical sets, copied */
};

void cairn_series_set_close(cairn_series_set *s)
{
    if (!s) return;
    mem_free(s->ids, s->n * sizeof *s->ids);
    mem_free(s->off, s->n * sizeof *s->off);
    mem_free(s->cnt, s->n * sizeof *s->cnt);
    mem_free(s->labels, s->n_labels * sizeof *s->labels);
    buf_free(&s->bytes);
    mem_free(s, sizeof *s);
}

int cairn_select(cairn_db *db, int kind, const cairn_matcher *m, size_t n_m, int64_t mint, int64_t maxt,
                 cairn_series_set **out, cairn_err *err)
{
    *out = NULL;
    idx_ids ids = {0};
    pthread_rwlock_rdlock(&db->state);
    int rc = select_ids(db, kind, m, n_m, mint, maxt, &ids, NULL, err);
    cairn_series_set *s = NULL;
    if (!rc) {
        s = mem_calloc(1, sizeof *s);
        if (s) {
            s->n = ids.n;
            s->ids = mem_alloc((ids.n ? ids.n : 1) * sizeof *s->ids);
            s->off = mem_alloc((ids.n ? ids.n : 1) * sizeof *s->off);
            s->cnt = mem_alloc((ids.n ? ids.n : 1) * sizeof *s->cnt);
        }
        if (!s || !s->ids || !s->off || !s->cnt) rc = CAIRN_ENOMEM;
        size_t *boff = NULL;
        if (!rc && !(boff = mem_alloc((ids.n ? ids.n : 1) * sizeof *boff))) rc = CAIRN_ENOMEM;
        for (size_t i = 0; i < ids.n && !rc; i++) {
            series *se = engine_series(db, ids.v[i]);
            s->ids[i] = ids.v[i];
            boff[i] = s->bytes.len;
            int c = labels_count(se->canon, se->canon_len);
            if (c < 0) {
                rc = c;
                break;
            }
            s->off[i] = (uint32_t)s->n_labels;
            s->cnt[i] = (uint32_t)c;
            s->n_labels += (size_t)c;
            rc = buf_put(&s->bytes, se->canon, se->canon_len);
        }
        if (!rc) {
            s->labels = mem_alloc((s->n_labels ? s->n_labels : 1) * sizeof *s->labels);
            if (!s->labels) rc = CAIRN_ENOMEM;
            for (size_t i = 0; i < s->n && !rc; i++) {
                size_t end = i + 1 < s->n ? boff[i + 1] : s->bytes.len;
                int c = labels_decode(s->bytes.p + boff[i], end - boff[i], s->labels + s->off[i], s->cnt[i]);
                if (c < 0) rc = c;
            }
        }
        if (boff) mem_free(boff, (ids.n ? ids.n : 1) * sizeof *boff);
        if (rc) err_set(err, rc, "cannot build the series set: %s", cairn_strerror(rc));
    }
    pthread_rwlock_unlock(&db->state);
    idx_ids_free(&ids);
    if (rc) {
        if (s && !s->labels) s->n_labels = 0;
        cairn_series_set_close(s);
        return rc;
    }
    *out = s;
    return CAIRN_OK;
}

int cairn_series_set_next(cairn_series_set *s, uint64_t *id, const cairn_label **labels, size_t *n_labels)
{
    if (s->pos >= s->n) return 0;
    size_t i = s->pos++;
    if (id) *id = s->ids[i];
    if (labels) *labels = s->labels + s->off[i];
    if (n_labels) *n_labels = s->cnt[i];
    return 1;
}

size_t cairn_series_set_count(const cairn_series_set *s) { return s->n; }

/* ---- strings ------------------------------------------------------------------------------- */

struct cairn_strings {
    buf bytes;
    uint32_t *off; /* n + 1 offsets */
    size_t n, cap, pos;
};

static int strings_emit(void *ctx, const char *p, size_t n)
{
    cairn_strings *s = ctx;
    if (s->n + 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint32_t *o = mem_realloc(s->off, s->cap * sizeof *o, ncap * sizeof *o);
        if (!o) return CAIRN_ENOMEM;
        s->off = o;
        s->cap = ncap;
    }
    if (s->n == 0) s->off[0] = 0;
    RETURN_IF_ERR(buf_put(&s->bytes, p, n));
    s->off[++s->n] = (uint32_t)s->bytes.len;
    return CAIRN_OK;
}

void cairn_strings_close(cairn_strings *s)
{
    if (!s) return;
    buf_free(&s->bytes);
    mem_free(s->off, s->cap * sizeof *s->off);
    mem_free(s, sizeof *s);
}

int cairn_strings_next(cairn_strings *s, const char **str, size_t *len)
{
    if (s->pos >= s->n) return 0;
    *str = (const char *)s->bytes.p + s->off[s->pos];
    *len = s->off[s->pos + 1] - s->off[s->pos];
    s->pos++;
    return 1;
}

size_t cairn_strings_count(const cairn_strings *s) { return s->n; }

static int label_strings(cairn_db *db, int kind, const char *name, size_t name_len, const cairn_matcher *m,
                         size_t n_m, int64_t mint, int64_t maxt, cairn_strings **out, cairn_err *err)
{
    *out = NULL;
    RETURN_IF_ERR(check_kind(kind, err));
    cairn_strings *s = mem_calloc(1, sizeof *s);
    if (!s) return err_set(err, CAIRN_ENOMEM, "out of memory listing labels");
    idx_ids ids = {0};
    kv_txn *t = NULL;
    keep_ctx kc = {db, kind, mint, maxt};
    pthread_rwlock_rdlock(&db->state);
    int rc = n_m ? select_ids(db, kind, m, n_m, mint, maxt, &ids, &t, err) : kv_begin(db->kv, 0, &t, err);
    if (!rc) {
        if (name)
            rc = idx_label_values(t, kind, name, name_len, n_m ? &ids : NULL, keep_in_range, &kc, strings_emit, s, err);
        else
            rc = idx_label_names(t, kind, n_m ? &ids : NULL, keep_in_range, &kc, strings_emit, s, err);
    }
    pthread_rwlock_unlock(&db->state);
    kv_abort(t);
    idx_ids_free(&ids);
    if (rc) {
        cairn_strings_close(s);
        if (rc == CAIRN_ENOMEM) err_set(err, rc, "out of memory listing labels");
        return rc;
    }
    *out = s;
    return CAIRN_OK;
}

int cairn_label_names(cairn_db *db, int kind, const cairn_matcher *m, size_t n_m, int64_t mint, int64_t maxt,
                      cairn_strings **out, cairn_err *err)
{
    return label_strings(db, kind, NULL, 0, m, n_m, mint, maxt, out, err);
}

int cairn_label_values(cairn_db *db, int kind, const char *name, size_t name_len, const cairn_matcher *m, size_t n_m,
                       int64_t mint, int64_t maxt, cairn_strings **out, cairn_err *err)
{
    if (!name) return err_set(err, CAIRN_EINVAL, "label name is NULL");
    return label_strings(db, kind, name, name_len, m, n_m, mint, maxt, out, err);
}

/* ---- log entries ----------------------------------------------------------------------------- */

struct cairn_entries {
    cairn_db *db;
    kv_txn *txn;
    logs_filter *filter;
    logs_it *it;
    uint64_t blocks;
    cairn_label meta[64];
};

void cairn_entries_close(cairn_entries *e)
{
    if (!e) return;
    logs_it_close(e->it);
    logs_filter_free(e->filter);
    kv_abort(e->txn);
    if (e->blocks) e->db->st_blocks += e->blocks;
    mem_free(e, sizeof *e);
}

int cairn_entries_open(cairn_db *db, uint64_t id, int64_t mint_ns, int64_t maxt_ns, int direction,
                       const cairn_line_filter *f, size_t n_f, cairn_line_filter_fn fn, void *fn_ctx,
                       cairn_entries **out, cairn_err *err)
{
    *out = NULL;
    cairn_entries *e = mem_calloc(1, sizeof *e);
    if (!e) return err_set(err, CAIRN_ENOMEM, "out of memory opening an entry iterator");
    e->db = db;
    int rc = (n_f || fn) ? logs_filter_new(f, n_f, fn, fn_ctx, &e->filter, err) : CAIRN_OK;
    if (rc) {
        cairn_entries_close(e);
        return rc;
    }
    lsnap *snap = NULL;
    pthread_rwlock_rdlock(&db->state);
    series *s = id <= UINT32_MAX ? engine_series(db, (uint32_t)id) : NULL;
    if (!s || s->kind != CAIRN_KIND_LOG) {
        rc = err_set(err, CAIRN_NOTFOUND, "no log stream with id %llu", (unsigned long long)id);
    } else {
        if (s->l) rc = lstream_snapshot(s->l, mint_ns, maxt_ns, &snap);
        if (!rc) rc = kv_begin(db->kv, 0, &e->txn, err);
    }
    pthread_rwlock_unlock(&db->state);
    if (!rc)
        rc = logs_it_open(e->txn, (uint32_t)id, snap, mint_ns, maxt_ns, direction == CAIRN_BACKWARD, e->filter,
                          &e->blocks, &e->it, err);
    else
        lsnap_free(snap);
    if (rc) {
        if (rc == CAIRN_ENOMEM) err_set(err, rc, "out of memory opening an entry iterator");
        cairn_entries_close(e);
        return rc;
    }
    *out = e;
    return CAIRN_OK;
}

int cairn_entries_next(cairn_entries *e, int64_t *t_ns, const char **line, size_t *line_len, const cairn_label **meta,
                       size_t *n_meta)
{
    const uint8_t *mp;
    size_t mn;
    int rc = logs_it_next(e->it, t_ns, line, line_len, &mp, &mn);
    if (rc != 1) return rc;
    if (meta) *meta = e->meta;
    if (n_meta) {
        int c = mn ? labels_decode(mp, mn, e->meta, sizeof e->meta / sizeof e->meta[0]) : 0;
        if (c < 0) return c;
        *n_meta = (size_t)c;
    }
    return 1;
}
