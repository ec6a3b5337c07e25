/*
 * series.c — the metric series store: head chunks, out-of-order buffers,
 * sealed chunks, and the merging sample iterator.
 *
 * Each metric series with recent writes has an `mhead`: one open Gorilla
 * chunk taking in-order samples, cut (like Prometheus) at 120 samples or a
 * 2 h span so that a chunk stays small enough to decode for a narrow query
 * and large enough to amortise its header. Samples older than the series'
 * newest (accepted by the engine only within the out-of-order window) go to a
 * small sorted buffer that is sealed into a chunk of its own at 32 samples or
 * a 2 h span. Sealed chunks wait in memory, newest first, until a checkpoint
 * writes them to LMDB (KV_CHUNKS, key id|mint|seq) and saves the open head
 * and the buffer as a snapshot (KV_HEADS), after which the WAL before the
 * checkpoint is no longer needed.
 *
 * Invariants:
 *   - every chunk (head, sealed, stored, out-of-order) spans less than 2 h, so
 *     a reader looking for time t only needs chunks with mint > t - 2 h;
 *   - chunks may overlap in time (out-of-order chunks do); the iterator merges
 *     them in timestamp order and yields one sample per timestamp;
 *   - s->maxt is the newest sample of the series anywhere, so `ts > s->maxt`
 *     decides in-order versus out-of-order.
 *
 * Locking: mutation runs under the engine's writer lock plus the state lock
 * held exclusively; cairn_samples_open() copies what it needs from memory and
 * opens its LMDB read transaction under the state lock held shared, then
 * iterates without any lock. Formats: docs/format/gorilla.md (chunk),
 * docs/format/lmdb.md (keys, head snapshot).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "err.h"
#include "mem.h"

/* ---- LMDB keys -------------------------------------------------------------- */

#define CHUNK_KEY_LEN 16

static void chunk_key(uint8_t k[CHUNK_KEY_LEN], uint32_t id, int64_t mint, uint32_t seq)
{
    be32_put(k, id);
    be64s_put(k + 4, mint);
    be32_put(k + 12, seq);
}

static void head_key(uint8_t k[5], int kind, uint32_t id)
{
    k[0] = (uint8_t)kind;
    be32_put(k + 1, id);
}

/* Stored chunk value: uvarint (maxt - mint), then the chunk bytes. */
static int chunk_val_parse(const uint8_t *v, size_t vn, int64_t mint, int64_t *maxt, const uint8_t **data,
                           size_t *len)
{
    rd r;
    uint64_t span;
    rd_init(&r, v, vn);
    if (rd_uvarint(&r, &span) || span > (uint64_t)INT64_MAX) return CAIRN_ECORRUPT;
    *maxt = (int64_t)((uint64_t)mint + span);
    *data = r.p;
    *len = rd_left(&r);
    return CAIRN_OK;
}

/* ---- heads -------------------------------------------------------------------- */

static void ooo_free(mhead *m)
{
    if (!m->ooo) return;
    mem_free(m->ooo, sizeof *m->ooo + m->ooo->cap * sizeof m->ooo->s[0]);
    m->ooo = NULL;
}

static inline uint32_t ooo_count(const mhead *m) { return m->ooo ? m->ooo->n : 0; }

void mhead_free(mhead *m)
{
    if (!m) return;
    chunk_w_free(&m->head);
    for (sealed *c = m->sealed, *n; c; c = n) {
        n = c->next;
        mem_free(c, sizeof *c + c->len);
    }
    ooo_free(m);
    mem_free(m, sizeof *m);
}

size_t mhead_mem(const mhead *m)
{
    if (!m) return 0;
    size_t n = sizeof *m + m->head.cap + (m->ooo ? sizeof *m->ooo + m->ooo->cap * sizeof m->ooo->s[0] : 0);
    for (const sealed *c = m->sealed; c; c = c->next) n += sizeof *c + c->len;
    return n;
}

static mhead *mhead_get(series *s)
{
    if (!s->m) {
        s->m = mem_calloc(1, sizeof *s->m);
        if (s->m) chunk_w_init(&s->m->head, CHUNK_GOR);
    }
    return s->m;
}

static int seal_bytes(mhead *m, const uint8_t *p, size_t len, int64_t mint, int64_t maxt)
{
    sealed *c = mem_alloc(sizeof *c + len);
    if (!c) return CAIRN_ENOMEM;
    c->mint = mint;
    c->maxt = maxt;
    c->len = (uint32_t)len;
    memcpy(c->data, p, len);
    c->next = m->sealed;
    m->sealed = c;
    return CAIRN_OK;
}

/*
 * Seal the head into an exact-size copy and start a new, empty head. The new
 * head grows in chunk.c's small steps rather than taking the last head's
 * size at once: reserving up front saves about a dozen reallocs per 120
 * samples (~5 ns/sample) but holds half a chunk (~200 B) of slack per series
 * on average, and memory per active series is the scarcer budget.
 */
static int seal_head(mhead *m)
{
    if (chunk_w_count(&m->head) == 0) return CAIRN_OK;
    size_t len;
    const uint8_t *p = chunk_w_bytes(&m->head, &len);
    RETURN_IF_ERR(seal_bytes(m, p, len, m->head_mint, m->head.st.t));
    chunk_w_free(&m->head);
    chunk_w_init(&m->head, CHUNK_GOR);
    m->head_saved = 0;
    return CAIRN_OK;
}

/* Seal the out-of-order buffer into a chunk of its own and free the buffer. */
static int seal_ooo(mhead *m)
{
    mooo *o = m->ooo;
    if (!o || o->n == 0) return CAIRN_OK;
    chunk_w w;
    chunk_w_init(&w, CHUNK_GOR);
    int rc = CAIRN_OK;
    for (uint32_t i = 0; i < o->n && !rc; i++) rc = chunk_w_append(&w, o->s[i].t, o->s[i].v);
    if (!rc) {
        size_t len;
        const uint8_t *p = chunk_w_bytes(&w, &len);
        rc = seal_bytes(m, p, len, o->s[0].t, o->s[o->n - 1].t);
    }
    chunk_w_free(&w);
    if (!rc) o->n = 0;
    return rc;
}

static int ooo_insert(mhead *m, int64_t ts, double v)
{
    mooo *o = m->ooo;
    uint32_t lo = 0, hi = o ? o->n : 0;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (o->s[mid].t < ts) lo = mid + 1;
        else hi = mid;
    }
    if (o && lo < o->n && o->s[lo].t == ts) return 1;
    if (o && o->n && (ts >= o->s[0].t + SERIES_CHUNK_SPAN_MS || o->s[o->n - 1].t >= ts + SERIES_CHUNK_SPAN_MS)) {
        RETURN_IF_ERR(seal_ooo(m));
        lo = 0;
    }
    if (!o || o->n == o->cap) {
        uint32_t cap = o ? o->cap : 0, ncap = cap ? cap * 2 : 4;
        mooo *n = mem_realloc(o, o ? sizeof *o + cap * sizeof o->s[0] : 0, sizeof *n + ncap * sizeof n->s[0]);
        if (!n) return CAIRN_ENOMEM;
        if (!o) n->n = 0;
        n->cap = ncap;
        m->ooo = o = n;
    }
    memmove(o->s + lo + 1, o->s + lo, (o->n - lo) * sizeof o->s[0]);
    o->s[lo] = (mooo_sample){ts, v};
    o->n++;
    m->head_saved = 0;
    if (o->n >= SERIES_OOO_MAX) {
        RETURN_IF_ERR(seal_ooo(m));
        ooo_free(m); /* sealed: the buffer goes until the next out-of-order sample */
    }
    return CAIRN_OK;
}

int series_append(cairn_db *db, series *s, int64_t ts, double v)
{
    (void)db;
    mhead *m = mhead_get(s);
    if (!m) return CAIRN_ENOMEM;
    int rc;
    if (s->maxt == INT64_MIN || ts > s->maxt) {
        if (chunk_w_count(&m->head) && (chunk_w_count(&m->head) >= SERIES_CHUNK_SAMPLES || ts - m->head_mint >= SERIES_CHUNK_SPAN_MS))
            RETURN_IF_ERR(seal_head(m));
        RETURN_IF_ERR(chunk_w_append(&m->head, ts, v));
        if (chunk_w_count(&m->head) == 1) m->head_mint = ts;
        m->head_saved = 0;
        rc = 0;
    } else {
        if (ts == s->maxt) return 1; /* validated as the same value */
        rc = ooo_insert(m, ts, v);
        if (rc < 0) return rc;
    }
    if (rc == 0) {
        if (ts < s->mint) s->mint = ts;
        if (ts > s->maxt) s->maxt = ts;
        s->range_dirty = 1;
    }
    return rc;
}

/* ---- finding one sample (duplicate checks) ------------------------------------------ */

static int chunk_find(const uint8_t *p, size_t len, int64_t ts, double *v)
{
    chunk_it it;
    int64_t t;
    double x;
    int rc;
    RETURN_IF_ERR(chunk_it_init(&it, p, len));
    while ((rc = chunk_it_next(&it, &t, &x)) == 1) {
        if (t == ts) {
            *v = x;
            return 1;
        }
        if (t > ts) return 0;
    }
    return rc;
}

int series_lookup(cairn_db *db, kv_txn *t, series *s, int64_t ts, double *v)
{
    (void)db;
    if (s->maxt == INT64_MIN || ts > s->maxt || ts < s->mint) return 0;
    mhead *m = s->m;
    int rc;
    if (m) {
        if (chunk_w_count(&m->head) && ts >= m->head_mint && ts <= m->head.st.t) {
            size_t len;
            const uint8_t *p = chunk_w_bytes(&m->head, &len);
            if ((rc = chunk_find(p, len, ts, v)) != 0) return rc;
        }
        for (uint32_t i = 0; i < ooo_count(m); i++)
            if (m->ooo->s[i].t == ts) {
                *v = m->ooo->s[i].v;
                return 1;
            }
        for (const sealed *c = m->sealed; c; c = c->next)
            if (ts >= c->mint && ts <= c->maxt && (rc = chunk_find(c->data, c->len, ts, v)) != 0) return rc;
    }
    if (!t) return 0;
    kv_cur *cur;
    uint8_t k[CHUNK_KEY_LEN];
    const void *ko, *vo;
    size_t kon, von;
    RETURN_IF_ERR(kv_cur_open(t, KV_CHUNKS, &cur));
    chunk_key(k, s->id, ts - SERIES_CHUNK_SPAN_MS, 0);
    rc = kv_cur_seek(cur, k, sizeof k, &ko, &kon, &vo, &von);
    while (rc == CAIRN_OK) {
        const uint8_t *kk = ko;
        if (kon != CHUNK_KEY_LEN || be32_get(kk) != s->id) break;
        int64_t mint = be64s_get(kk + 4), maxt;
        if (mint > ts) break;
        const uint8_t *data;
        size_t len;
        if (chunk_val_parse(vo, von, mint, &maxt, &data, &len)) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        if (maxt >= ts && (rc = chunk_find(data, len, ts, v)) != 0) break;
        rc = kv_cur_next(cur, &ko, &kon, &vo, &von);
    }
    kv_cur_close(cur);
    if (rc == CAIRN_NOTFOUND) rc = 0;
    return rc;
}

/* ---- checkpoint ----------------------------------------------------------------------- */

int series_flush(cairn_db *db, series *s, kv_txn *t, cairn_err *err)
{
    (void)db;
    mhead *m = s->m;
    if (!m) return CAIRN_OK;
    uint8_t k[CHUNK_KEY_LEN];
    buf b;
    buf_init(&b);
    int rc = CAIRN_OK;
    for (const sealed *c = m->sealed; c && !rc; c = c->next) {
        void *dst;
        uint8_t hdr[10];
        size_t hn = uvarint_put(hdr, (uint64_t)(c->maxt - c->mint));
        for (uint32_t seq = 0;; seq++) {
            chunk_key(k, s->id, c->mint, seq);
            const void *old;
            size_t oldn;
            if (kv_get(t, KV_CHUNKS, k, sizeof k, &old, &oldn) == CAIRN_NOTFOUND) break;
        }
        rc = kv_reserve(t, KV_CHUNKS, k, sizeof k, hn + c->len, &dst, err);
        if (!rc) {
            memcpy(dst, hdr, hn);
            memcpy((uint8_t *)dst + hn, c->data, c->len);
        }
    }
    if (!rc && !m->head_saved) {
        uint8_t hk[5];
        head_key(hk, CAIRN_KIND_METRIC, s->id);
        if (chunk_w_count(&m->head) == 0 && ooo_count(m) == 0) {
            kv_del(t, KV_HEADS, hk, sizeof hk, NULL, 0);
        } else {
            size_t len;
            const uint8_t *p = chunk_w_bytes(&m->head, &len);
            rc = buf_put_str(&b, p, chunk_w_count(&m->head) ? len : 0);
            if (!rc) rc = buf_put_uvarint(&b, ooo_count(m));
            for (uint32_t i = 0; i < ooo_count(m) && !rc; i++) {
                uint64_t bits;
                memcpy(&bits, &m->ooo->s[i].v, 8);
                rc = buf_put_varint(&b, m->ooo->s[i].t);
                if (!rc) rc = buf_put_u64le(&b, bits);
            }
            if (!rc) rc = kv_put(t, KV_HEADS, hk, sizeof hk, b.p, b.len, 0, err);
            else err_set(err, rc, "out of memory saving a head snapshot");
        }
    }
    buf_free(&b);
    return rc;
}

void series_flush_done(cairn_db *db, series *s)
{
    (void)db;
    mhead *m = s->m;
    if (!m) return;
    for (sealed *c = m->sealed, *n; c; c = n) {
        n = c->next;
        mem_free(c, sizeof *c + c->len);
    }
    m->sealed = NULL;
    m->head_saved = 1;
    if (chunk_w_count(&m->head) == 0 && ooo_count(m) == 0) {
        mhead_free(m);
        s->m = NULL;
    }
}

int series_head_load(cairn_db *db, series *s, const uint8_t *p, size_t len, cairn_err *err)
{
    (void)db;
    rd r;
    const uint8_t *hp;
    size_t hn;
    uint64_t n_ooo;
    rd_init(&r, p, len);
    if (rd_str(&r, &hp, &hn) || rd_uvarint(&r, &n_ooo) || n_ooo > rd_left(&r) / 2)
        return err_set(err, CAIRN_ECORRUPT, "corrupt head snapshot of series %u", s->id);
    mhead *m = mhead_get(s);
    if (!m) return err_set(err, CAIRN_ENOMEM, "out of memory loading heads");
    int rc = CAIRN_OK;
    if (hn) {
        rc = chunk_w_load(&m->head, hp, hn, err);
        if (rc) return rc;
        /* chunk_w_load verified the chunk and recovered its newest time
         * (head.st.t); only the first sample is left to read */
        chunk_it it;
        int64_t t;
        double v;
        rc = chunk_it_init(&it, hp, hn);
        if (!rc) rc = chunk_it_next(&it, &t, &v);
        if (rc == 1) m->head_mint = t;
    }
    for (uint64_t i = 0; i < n_ooo && rc >= 0; i++) {
        int64_t t;
        uint64_t bits;
        double v;
        if (rd_varint(&r, &t) || rd_u64le(&r, &bits)) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        memcpy(&v, &bits, 8);
        rc = ooo_insert(m, t, v);
    }
    if (rc < 0) return err_set(err, rc, "cannot load head snapshot of series %u: %s", s->id, cairn_strerror(rc));
    m->head_saved = 1;
    return CAIRN_OK;
}

int series_retention(cairn_db *db, series *s, kv_txn *t, int64_t cutoff_ms, cairn_err *err)
{
    (void)db;
    (void)err;
    kv_cur *cur;
    uint8_t k[CHUNK_KEY_LEN];
    const void *ko, *vo;
    size_t kon, von;
    RETURN_IF_ERR(kv_cur_open(t, KV_CHUNKS, &cur));
    chunk_key(k, s->id, INT64_MIN, 0);
    int rc = kv_cur_seek(cur, k, sizeof k, &ko, &kon, &vo, &von);
    while (rc == CAIRN_OK) {
        const uint8_t *kk = ko;
        if (kon != CHUNK_KEY_LEN || be32_get(kk) != s->id) break;
        int64_t mint = be64s_get(kk + 4), maxt;
        if (mint >= cutoff_ms) break;
        const uint8_t *data;
        size_t len;
        if (!chunk_val_parse(vo, von, mint, &maxt, &data, &len) && maxt < cutoff_ms) {
            if ((rc = kv_cur_del(cur)) != CAIRN_OK) break;
            rc = kv_cur_seek(cur, k, sizeof k, &ko, &kon, &vo, &von);
            continue;
        }
        rc = kv_cur_next(cur, &ko, &kon, &vo, &von);
    }
    kv_cur_close(cur);
    /* In-memory sealed chunks past retention go too. */
    if (s->m) {
        for (sealed **pp = &s->m->sealed; *pp;) {
            sealed *c = *pp;
            if (c->maxt < cutoff_ms) {
                *pp = c->next;
                mem_free(c, sizeof *c + c->len);
            } else {
                pp = &c->next;
            }
        }
    }
    if (s->mint < cutoff_ms && s->maxt >= cutoff_ms) s->mint = cutoff_ms, s->range_dirty = 1;
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

/* ---- the merging iterator ------------------------------------------------------------------ */

typedef struct src {
    const uint8_t *p;
    size_t len;
    int64_t mint;
} src;

/* An open source: its chunk iterator plus a small decoded buffer, so the
 * merge moves through memory and scans take whole runs with memcpy. */
#define ACT_BUF 128
typedef struct act {
    chunk_it it;
    uint32_t bi, bn; /* current sample is bt[bi]; bn decoded */
    int64_t t;       /* == bt[bi] */
    double v;
    int64_t bt[ACT_BUF];
    double bv[ACT_BUF];
} act;

/* Load the next sample into a->t/v: 1, 0 at the end, <0 corrupt. */
static int act_advance(act *a)
{
    if (++a->bi >= a->bn) {
        int n = chunk_it_next_n(&a->it, a->bt, a->bv, ACT_BUF);
        if (n <= 0) return n;
        a->bn = (uint32_t)n;
        a->bi = 0;
    }
    a->t = a->bt[a->bi];
    a->v = a->bv[a->bi];
    return 1;
}

struct cairn_samples {
    kv_txn *txn;
    buf copy; /* in-memory chunks copied at open; src.p points into it (fixed up after copying) */
    src *srcs;
    size_t n_src, cap_src, next_src;
    act *acts;
    size_t n_act;
    int64_t mint, maxt;
};

static int add_src(cairn_samples *it, const uint8_t *p, size_t len, int64_t mint)
{
    if (it->n_src == it->cap_src) {
        size_t ncap = it->cap_src ? it->cap_src * 2 : 8;
        src *n = mem_realloc(it->srcs, it->cap_src * sizeof *n, ncap * sizeof *n);
        if (!n) return CAIRN_ENOMEM;
        it->srcs = n;
        it->cap_src = ncap;
    }
    it->srcs[it->n_src++] = (src){p, len, mint};
    return CAIRN_OK;
}

/* Memory sources are recorded as offsets into it->copy (it may move while growing). */
static int add_copy(cairn_samples *it, const uint8_t *p, size_t len, int64_t mint)
{
    size_t off = it->copy.len;
    RETURN_IF_ERR(buf_put(&it->copy, p, len));
    return add_src(it, (const uint8_t *)(uintptr_t)(off + 1), len, mint);
}

static int src_cmp(const void *a, const void *b)
{
    const src *x = a, *y = b;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

void cairn_samples_close(cairn_samples *it)
{
    if (!it) return;
    kv_abort(it->txn);
    buf_free(&it->copy);
    mem_free(it->srcs, it->cap_src * sizeof *it->srcs);
    mem_free(it->acts, it->n_src * sizeof *it->acts);
    mem_free(it, sizeof *it);
}

/* Called with the state lock held shared. */
static int samples_collect(cairn_db *db, series *s, cairn_samples *it)
{
    mhead *m = s->m;
    int rc;
    if (m) {
        if (chunk_w_count(&m->head) && m->head.st.t >= it->mint && m->head_mint <= it->maxt) {
            size_t len;
            const uint8_t *p = chunk_w_bytes(&m->head, &len);
            RETURN_IF_ERR(add_copy(it, p, len, m->head_mint));
        }
        for (const sealed *c = m->sealed; c; c = c->next)
            if (c->maxt >= it->mint && c->mint <= it->maxt) RETURN_IF_ERR(add_copy(it, c->data, c->len, c->mint));
        const mooo *o = m->ooo;
        if (o && o->n && o->s[o->n - 1].t >= it->mint && o->s[0].t <= it->maxt) {
            chunk_w w;
            chunk_w_init(&w, CHUNK_RAW);
            rc = CAIRN_OK;
            for (uint32_t i = 0; i < o->n && !rc; i++) rc = chunk_w_append(&w, o->s[i].t, o->s[i].v);
            if (!rc) {
                size_t len;
                const uint8_t *p = chunk_w_bytes(&w, &len);
                rc = add_copy(it, p, len, o->s[0].t);
            }
            chunk_w_free(&w);
            RETURN_IF_ERR(rc);
        }
    }
    RETURN_IF_ERR(kv_begin(db->kv, 0, &it->txn, NULL));
    return CAIRN_OK;
}

static int samples_collect_stored(series *s, cairn_samples *it)
{
    kv_cur *cur;
    uint8_t k[CHUNK_KEY_LEN];
    const void *ko, *vo;
    size_t kon, von;
    RETURN_IF_ERR(kv_cur_open(it->txn, KV_CHUNKS, &cur));
    int64_t from = it->mint > INT64_MIN + SERIES_CHUNK_SPAN_MS ? it->mint - SERIES_CHUNK_SPAN_MS : INT64_MIN;
    chunk_key(k, s->id, from, 0);
    int rc = kv_cur_seek(cur, k, sizeof k, &ko, &kon, &vo, &von);
    while (rc == CAIRN_OK) {
        const uint8_t *kk = ko;
        if (kon != CHUNK_KEY_LEN || be32_get(kk) != s->id) break;
        int64_t mint = be64s_get(kk + 4), maxt;
        if (mint > it->maxt) break;
        const uint8_t *data;
        size_t len;
        if (chunk_val_parse(vo, von, mint, &maxt, &data, &len)) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        if (maxt >= it->mint && (rc = add_src(it, data, len, mint)) != CAIRN_OK) break;
        rc = kv_cur_next(cur, &ko, &kon, &vo, &von);
    }
    kv_cur_close(cur);
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

int cairn_samples_open(cairn_db *db, uint64_t id, int64_t mint_ms, int64_t maxt_ms, cairn_samples **out,
                       cairn_err *err)
{
    *out = NULL;
    cairn_samples *it = mem_calloc(1, sizeof *it);
    if (!it) return err_set(err, CAIRN_ENOMEM, "out of memory opening a sample iterator");
    it->mint = mint_ms;
    it->maxt = maxt_ms;
    pthread_rwlock_rdlock(&db->state);
    series *s = id <= UINT32_MAX ? engine_series(db, (uint32_t)id) : NULL;
    int rc;
    if (!s || s->kind != CAIRN_KIND_METRIC) {
        pthread_rwlock_unlock(&db->state);
        cairn_samples_close(it);
        return err_set(err, CAIRN_NOTFOUND, "no metric series with id %llu", (unsigned long long)id);
    }
    rc = samples_collect(db, s, it);
    size_t n_mem = it->n_src;
    pthread_rwlock_unlock(&db->state);
    if (!rc) rc = samples_collect_stored(s, it);
    if (rc) {
        cairn_samples_close(it);
        return err_set(err, rc, "cannot read series %llu: %s", (unsigned long long)id, cairn_strerror(rc));
    }
    for (size_t i = 0; i < n_mem; i++) it->srcs[i].p = it->copy.p + ((uintptr_t)it->srcs[i].p - 1);
    if (it->n_src > 1) qsort(it->srcs, it->n_src, sizeof *it->srcs, src_cmp); /* srcs may be NULL when empty */
    it->acts = mem_alloc((it->n_src ? it->n_src : 1) * sizeof *it->acts);
    if (!it->acts) {
        it->n_src = 0;
        cairn_samples_close(it);
        return err_set(err, CAIRN_ENOMEM, "out of memory opening a sample iterator");
    }
    *out = it;
    return CAIRN_OK;
}

/* Open sources whose mint could hold the next sample; returns <0 on corrupt data. */
static int open_sources(cairn_samples *it)
{
    for (;;) {
        int64_t lo = INT64_MAX;
        for (size_t i = 0; i < it->n_act; i++)
            if (it->acts[i].t < lo) lo = it->acts[i].t;
        if (it->next_src >= it->n_src || (it->n_act && it->srcs[it->next_src].mint > lo)) return CAIRN_OK;
        src *sr = &it->srcs[it->next_src++];
        act *a = &it->acts[it->n_act];
        RETURN_IF_ERR(chunk_it_init(&a->it, sr->p, sr->len));
        a->bi = a->bn = 0;
        int rc;
        while ((rc = act_advance(a)) == 1 && a->t < it->mint) {
        }
        if (rc < 0) return rc;
        if (rc == 1) it->n_act++;
    }
}
int cairn_samples_next(cairn_samples *it, int64_t *t_ms, double *v)
{
    RETURN_IF_ERR(open_sources(it));
    if (it->n_act == 0) return 0;
    size_t best = 0;
    for (size_t i = 1; i < it->n_act; i++)
        if (it->acts[i].t < it->acts[best].t) best = i;
    int64_t t = it->acts[best].t;
    if (t > it->maxt) {
        it->n_act = 0;
        it->next_src = it->n_src;
        return 0;
    }
    *t_ms = t;
    *v = it->acts[best].v;
    for (size_t i = 0; i < it->n_act;) {
        act *a = &it->acts[i];
        if (a->t == t) {
            int rc = act_advance(a);
            if (rc < 0) return rc;
            if (rc == 0) {
                if (i != it->n_act - 1) memcpy(a, &it->acts[it->n_act - 1], sizeof *a);
                it->n_act--;
                continue;
            }
        }
        i++;
    }
    return 1;
}

int cairn_samples_next_n(cairn_samples *it, int64_t *t_ms, double *v, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        RETURN_IF_ERR(open_sources(it));
        if (it->n_act != 1) {
            /* overlapping sources (or none): merge one sample at a time */
            int rc = cairn_samples_next(it, &t_ms[n], &v[n]);
            if (rc < 0) return rc;
            if (rc == 0) break;
            n++;
            continue;
        }
        /* one source: copy its run up to the next source's start or maxt */
        act *a = &it->acts[0];
        int64_t limit = it->maxt;
        if (it->next_src < it->n_src && it->srcs[it->next_src].mint - 1 < limit) limit = it->srcs[it->next_src].mint - 1;
        if (a->t > limit) {
            if (a->t > it->maxt) {
                it->n_act = 0;
                it->next_src = it->n_src;
                break;
            }
            int rc = cairn_samples_next(it, &t_ms[n], &v[n]);
            if (rc < 0) return rc;
            if (rc == 0) break;
            n++;
            continue;
        }
        uint32_t k = a->bi;
        while (k < a->bn && a->bt[k] <= limit && n + (k - a->bi) < cap) k++;
        uint32_t run = k - a->bi;
        memcpy(t_ms + n, a->bt + a->bi, run * sizeof *t_ms);
        memcpy(v + n, a->bv + a->bi, run * sizeof *v);
        n += run;
        a->bi = k - 1; /* act_advance moves past the last copied sample */
        int rc = act_advance(a);
        if (rc < 0) return rc;
        if (rc == 0) it->n_act = 0;
    }
    return (int)n;
}