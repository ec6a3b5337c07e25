/*
 * idx.c — the label index: series records, hash look-up, postings, matcher
 * resolution, and label names and values, all on top of kv.
 *
 * Four key spaces in three DBIs (byte layouts in docs/format/lmdb.md):
 *   KV_SERIES   id (u32 BE) -> kind, mint, maxt, canonical labels
 *   KV_HASH     XXH3 (u64 BE) -> ids (dups): every series whose canonical
 *               bytes hash there; idx_find byte-compares each candidate, so a
 *               collision costs one extra record read and never merges series
 *   KV_POSTINGS kind name 0x00 value -> ids (dups, u32 BE), one key per label
 *               pair, plus kind 0x00 (empty name) -> every series of the kind
 * Kind is the first byte of every postings key, so a metric look-up cannot
 * reach a log stream: there is no filter to forget.
 *
 * Why LMDB dups and not roaring bitmaps: a new series touches ~6 postings,
 * and with dups that is ~6 appends in place, while a serialized bitmap must be
 * read, changed and rewritten whole (the "all series" bitmap is the biggest);
 * reads are zero-copy page walks. Numbers on 1M series: docs/index.md.
 *
 * Matchers follow Prometheus (PostingsForMatchers): all are ANDed; one that
 * does not accept the empty value selects the union of postings of the
 * values it accepts and is intersected in; one that accepts the empty value
 * (a="", a!="x", a=~".*", a!~"x") also selects series without the label, so
 * it subtracts the union of the values it rejects instead. With no
 * intersecting matcher the start is the kind's all-series posting. Values
 * are found by direct look-up when a matcher is a literal set (=, =~"a|b"),
 * by a range scan for =~"prefix.*", else by testing every value of the name.
 * Sets are intersected smallest first; time bounds come last through the
 * caller's keep(id), since the engine's in-memory times are newer than the
 * records here.
 *
 * idx keeps no state of its own: each call takes a kv transaction, so
 * readers on several threads each use their own read transaction.
 */
#include "idx.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "labels.h"
#include "mem.h"
#include "postings.h"

#define IDX_REC_HDR 17 /* kind u8, mint i64 LE, maxt i64 LE */
#define IDX_SET_MAX 64

static const postings_store *const idx_store = &postings_lmdb;

void idx_ids_free(idx_ids *ids)
{
    if (!ids) return;
    mem_free(ids->v, ids->cap * sizeof *ids->v);
    ids->v = NULL, ids->n = ids->cap = 0;
}

static int idx_kind_ok(int kind) { return kind == CAIRN_KIND_METRIC || kind == CAIRN_KIND_LOG; }

/* ---- keys ------------------------------------------------------------------------------ */

/* kind name 0x00 value into buf (reset first). */
static int idx_pkey(buf *k, int kind, const char *name, size_t nn, const char *val, size_t vn)
{
    buf_reset(k);
    if (buf_put_u8(k, (uint8_t)kind) || buf_put(k, name, nn) || buf_put_u8(k, 0) || buf_put(k, val, vn))
        return CAIRN_ENOMEM;
    return CAIRN_OK;
}

/*
 * Long labels. LMDB keys are at most IDX_KEY_MAX bytes, so a pair whose plain
 * key `kind name 0x00 value` would be longer is stored under a hashed key
 *     kind|0x80, XXH3(name) u64 BE, XXH3(value) u64 BE, seq u32 BE
 * (21 bytes, docs/format/lmdb.md). Every id under one hashed key has exactly
 * that name and value: idx_long_find compares them with the first id's series
 * record, and a different pair with the same hashes gets the next seq. So the
 * full name and value of a hashed key are read from any one of its series.
 * Pairs that fit keep the plain layout, so existing data directories read as
 * before.
 */
#define IDX_KEY_MAX 511 /* LMDB's default MDB_MAXKEYSIZE; kv_open checks the library agrees */
#define IDX_LONG 0x80   /* or-ed into the kind byte of a hashed key */
#define IDX_LKEY_BYTES 21

static int idx_rec_parse(const void *v, size_t vn, int *kind, int64_t *mint, int64_t *maxt, const uint8_t **canon,
                         size_t *len);

static int idx_fits(size_t nn, size_t vn) { return 1 + nn + 1 + vn <= IDX_KEY_MAX; }

/* The 9-byte prefix of every hashed key of a name, and the 17 of a (name, value). */
static void idx_lprefix(uint8_t out[17], int kind, const char *name, size_t nn, const char *val, size_t vn)
{
    out[0] = (uint8_t)(kind | IDX_LONG);
    be64_put(out + 1, labels_hash((const uint8_t *)name, nn));
    if (val) be64_put(out + 9, labels_hash((const uint8_t *)val, vn));
}

/* The value of label `name` in series `id`'s record (a view until the txn ends).
 * 1 found, 0 the series has no such label, or a code. */
static int idx_rec_value(kv_txn *t, const void *id_be, const char *name, size_t nn, const char **val, size_t *vn)
{
    const void *rv;
    size_t rn;
    const uint8_t *cn;
    size_t cl;
    int rc = kv_get(t, KV_SERIES, id_be, 4, &rv, &rn);
    if (rc) return rc == CAIRN_NOTFOUND ? CAIRN_ECORRUPT : rc;
    if (idx_rec_parse(rv, rn, NULL, NULL, NULL, &cn, &cl)) return CAIRN_ECORRUPT;
    labels_it it;
    cairn_label l;
    rc = labels_it_init(&it, cn, cl);
    while (!rc && (rc = labels_it_next(&it, &l)) == 1) {
        rc = CAIRN_OK;
        if (l.name_len == nn && memcmp(l.name, name, nn) == 0) {
            *val = l.value, *vn = l.value_len;
            return 1;
        }
    }
    return rc < 0 ? rc : 0;
}

/*
 * Find the hashed key holding exactly (name, value): 1 and key, 0 and the key
 * a new posting for it should use (the next free seq), or a code. If c is
 * given it is left on the key found.
 */
static int idx_long_find(kv_txn *t, kv_cur *c, int kind, const char *name, size_t nn, const char *val, size_t vn,
                         uint8_t key[IDX_LKEY_BYTES])
{
    idx_lprefix(key, kind, name, nn, val, vn);
    be32_put(key + 17, 0);
    kv_cur *own = NULL;
    if (!c) {
        RETURN_IF_ERR(kv_cur_open(t, KV_POSTINGS, &own));
        c = own;
    }
    const void *ko, *v;
    size_t kon, von;
    uint32_t next = 0;
    int rc = kv_cur_seek(c, key, IDX_LKEY_BYTES, &ko, &kon, &v, &von);
    while (rc == CAIRN_OK && kon == IDX_LKEY_BYTES && memcmp(ko, key, 17) == 0) {
        if (von != 4) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        const char *sv;
        size_t sn;
        int f = idx_rec_value(t, v, name, nn, &sv, &sn);
        if (f < 0) {
            rc = f;
            break;
        }
        uint32_t seq = be32_get((const uint8_t *)ko + 17);
        if (f == 1 && sn == vn && memcmp(sv, val, vn) == 0) {
            be32_put(key + 17, seq);
            kv_cur_close(own);
            return 1;
        }
        next = seq + 1; /* a collision of both hashes: the next seq */
        rc = kv_cur_next_key(c, &ko, &kon, &v, &von);
    }
    kv_cur_close(own);
    if (rc != CAIRN_OK && rc != CAIRN_NOTFOUND) return rc;
    be32_put(key + 17, next);
    return 0;
}

/* ---- series records ------------------------------------------------------------------------ */

static int idx_rec_parse(const void *v, size_t vn, int *kind, int64_t *mint, int64_t *maxt, const uint8_t **canon,
                         size_t *len)
{
    const uint8_t *p = v;
    if (vn < IDX_REC_HDR + 1 || !idx_kind_ok(p[0])) return CAIRN_ECORRUPT;
    if (kind) *kind = p[0];
    if (mint) *mint = (int64_t)le64_get(p + 1);
    if (maxt) *maxt = (int64_t)le64_get(p + 9);
    if (canon) *canon = p + IDX_REC_HDR;
    if (len) *len = vn - IDX_REC_HDR;
    return CAIRN_OK;
}

int idx_add_series(kv_txn *t, uint32_t id, int kind, const uint8_t *canon, size_t len, uint64_t hash,
                   cairn_err *err)
{
    if (!idx_kind_ok(kind)) return err_set(err, CAIRN_EINVAL, "series %u: unknown kind %d", id, kind);
    int nl = labels_count(canon, len);
    if (nl <= 0) return err_set(err, CAIRN_ECORRUPT, "series %u: malformed canonical label set", id);
    uint8_t ik[4], hk[8];
    be32_put(ik, id);
    be64_put(hk, hash);

    void *rec;
    int rc = kv_reserve(t, KV_SERIES, ik, 4, IDX_REC_HDR + len, &rec, err);
    if (rc) return rc;
    uint8_t *r = rec;
    r[0] = (uint8_t)kind;
    le64_put(r + 1, (uint64_t)INT64_MAX); /* empty range until idx_set_range */
    le64_put(r + 9, (uint64_t)INT64_MIN);
    memcpy(r + IDX_REC_HDR, canon, len);
    rc = kv_put(t, KV_HASH, hk, 8, ik, 4, 0, err);
    if (rc) return rc;

    buf k;
    buf_init(&k);
    labels_it it;
    cairn_label l;
    rc = labels_it_init(&it, canon, len);
    while (!rc && (rc = labels_it_next(&it, &l)) == 1) {
        if (!idx_fits(l.name_len, l.value_len)) {
            uint8_t lk[IDX_LKEY_BYTES];
            rc = idx_long_find(t, NULL, kind, l.name, l.name_len, l.value, l.value_len, lk);
            if (rc >= 0) rc = idx_store->add(t, KV_POSTINGS, lk, sizeof lk, id, err);
            else rc = err_set(err, rc, "series %u: reading the postings of a long label", id);
            continue;
        }
        rc = idx_pkey(&k, kind, l.name, l.name_len, l.value, l.value_len);
        if (rc) rc = err_set(err, CAIRN_ENOMEM, "out of memory indexing series %u", id);
        else rc = idx_store->add(t, KV_POSTINGS, k.p, k.len, id, err);
    }
    if (!rc) {
        uint8_t all[2] = {(uint8_t)kind, 0};
        rc = idx_store->add(t, KV_POSTINGS, all, 2, id, err);
    }
    buf_free(&k);
    if (rc == CAIRN_ECORRUPT) return err_set(err, rc, "series %u: malformed canonical label set", id);
    return rc;
}

int idx_find(kv_txn *t, uint64_t hash, int kind, const uint8_t *canon, size_t len, uint32_t *id)
{
    uint8_t hk[8];
    be64_put(hk, hash);
    kv_cur *c;
    int rc = kv_cur_open(t, KV_HASH, &c);
    if (rc) return rc;
    const void *v;
    size_t vn;
    rc = kv_cur_seek_exact(c, hk, 8, &v, &vn);
    while (rc == CAIRN_OK) {
        if (vn != 4) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        const void *rv;
        size_t rn;
        int k;
        const uint8_t *cn;
        size_t cl;
        if (kv_get(t, KV_SERIES, v, 4, &rv, &rn) == CAIRN_OK &&
            idx_rec_parse(rv, rn, &k, NULL, NULL, &cn, &cl) == CAIRN_OK && k == kind && cl == len &&
            memcmp(cn, canon, len) == 0) {
            *id = be32_get(v);
            break;
        }
        rc = kv_cur_next_dup(c, &v, &vn);
    }
    kv_cur_close(c);
    return rc;
}

int idx_get_series(kv_txn *t, uint32_t id, int *kind, int64_t *mint, int64_t *maxt, const uint8_t **canon,
                   size_t *len)
{
    uint8_t ik[4];
    be32_put(ik, id);
    const void *v;
    size_t vn;
    int rc = kv_get(t, KV_SERIES, ik, 4, &v, &vn);
    if (rc) return rc;
    return idx_rec_parse(v, vn, kind, mint, maxt, canon, len);
}

int idx_set_range(kv_txn *t, uint32_t id, int64_t mint, int64_t maxt, cairn_err *err)
{
    uint8_t ik[4];
    be32_put(ik, id);
    const void *v;
    size_t vn;
    int64_t omin, omax;
    int rc = kv_get(t, KV_SERIES, ik, 4, &v, &vn);
    if (rc == CAIRN_NOTFOUND) return err_set(err, rc, "series %u not in the index", id);
    if (rc) return err_set(err, rc, "reading series %u", id);
    if (idx_rec_parse(v, vn, NULL, &omin, &omax, NULL, NULL))
        return err_set(err, CAIRN_ECORRUPT, "series %u: malformed record", id);
    int64_t nmin = mint < omin ? mint : omin, nmax = maxt > omax ? maxt : omax;
    if (nmin == omin && nmax == omax) return CAIRN_OK;
    /* copy the record: the old value points into a page the put may reuse */
    uint8_t stack[512], *copy = vn <= sizeof stack ? stack : mem_alloc(vn);
    if (!copy) return err_set(err, CAIRN_ENOMEM, "out of memory updating series %u", id);
    memcpy(copy, v, vn);
    le64_put(copy + 1, (uint64_t)nmin);
    le64_put(copy + 9, (uint64_t)nmax);
    rc = kv_put(t, KV_SERIES, ik, 4, copy, vn, 0, err);
    if (copy != stack) mem_free(copy, vn);
    return rc;
}

int idx_scan_series(kv_txn *t,
                    int (*fn)(void *ctx, uint32_t id, int kind, int64_t mint, int64_t maxt, const uint8_t *canon,
                              size_t len),
                    void *ctx)
{
    kv_cur *c;
    int rc = kv_cur_open(t, KV_SERIES, &c);
    if (rc) return rc;
    const void *k, *v;
    size_t kn, vn;
    rc = kv_cur_seek(c, NULL, 0, &k, &kn, &v, &vn);
    while (rc == CAIRN_OK) {
        int kind;
        int64_t mint, maxt;
        const uint8_t *cn;
        size_t cl;
        if (kn != 4 || idx_rec_parse(v, vn, &kind, &mint, &maxt, &cn, &cl)) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        rc = fn(ctx, be32_get(k), kind, mint, maxt, cn, cl);
        if (rc) break;
        rc = kv_cur_next(c, &k, &kn, &v, &vn);
    }
    kv_cur_close(c);
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

/* ---- select --------------------------------------------------------------------------------- */

/*
 * Call fn for every hashed key of (kind, name) with the full value (read from
 * the key's first series); c is on the key, so fn may read its postings.
 * Stops at fn's nonzero return, which it returns.
 */
typedef int (*idx_long_fn)(void *ctx, kv_cur *c, const char *val, size_t vn);

static int idx_long_each(kv_txn *t, int kind, const char *name, size_t nn, idx_long_fn fn, void *ctx)
{
    uint8_t pre[17];
    idx_lprefix(pre, kind, name, nn, NULL, 0);
    kv_cur *c;
    RETURN_IF_ERR(kv_cur_open(t, KV_POSTINGS, &c));
    const void *ko, *v;
    size_t kon, von;
    int rc = kv_cur_seek(c, pre, 9, &ko, &kon, &v, &von);
    while (rc == CAIRN_OK && kon == IDX_LKEY_BYTES && memcmp(ko, pre, 9) == 0) {
        const char *sv;
        size_t sn;
        int f = von == 4 ? idx_rec_value(t, v, name, nn, &sv, &sn) : CAIRN_ECORRUPT;
        if (f < 0) {
            rc = f;
            break;
        }
        if (f == 1 && !idx_fits(nn, sn)) { /* else another name with the same hash */
            rc = fn(ctx, c, sv, sn);
            if (rc) break;
        }
        rc = kv_cur_next_key(c, &ko, &kon, &v, &von);
    }
    kv_cur_close(c);
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

typedef struct idx_scan_ctx {
    const match *m;
    int want, lists;
    postings_list *out;
    cairn_err *err;
} idx_scan_ctx;

static int idx_long_scan_fn(void *ctx, kv_cur *c, const char *val, size_t vn)
{
    idx_scan_ctx *x = ctx;
    int r = match_value(x->m, val, vn);
    if (r < 0)
        return err_set(x->err, r, "matcher on label \"%.*s\": regex failed on a value (%s)", (int)x->m->name_len,
                       x->m->name, r == CAIRN_ELIMIT ? "match limit" : "out of memory");
    if (r != x->want) return CAIRN_OK;
    x->lists++;
    return postings_lmdb_read_cur(c, x->out);
}

/* The hashed-key half of a value scan: postings of the long values of m->name that match == want. */
static int idx_long_scan(kv_txn *t, int kind, const match *m, int want, postings_list *out, int *lists,
                         cairn_err *err)
{
    idx_scan_ctx x = {m, want, 0, out, err};
    int rc = idx_long_each(t, kind, m->name, m->name_len, idx_long_scan_fn, &x);
    *lists += x.lists;
    return rc;
}

/* Union (into out) of the postings of values of m->name for which match_value(m, v) == want. */
static int idx_values_union(kv_txn *t, int kind, const match *m, int want, postings_list *out, cairn_err *err)
{
    buf k;
    buf_init(&k);
    int rc = CAIRN_OK, lists = 0;
    const char *vals[IDX_SET_MAX];
    size_t lens[IDX_SET_MAX];
    int ns = 0;
    /* a literal set: = v or =~ "a|b" when wanted, != v or !~ "a|b" when rejected */
    if (want && (m->op == CAIRN_MATCH_EQ || m->op == CAIRN_MATCH_RE)) ns = match_set(m, vals, lens, IDX_SET_MAX);
    if (!want && m->op == CAIRN_MATCH_NE && m->value_len) vals[0] = m->value, lens[0] = m->value_len, ns = 1;
    if (!want && m->op == CAIRN_MATCH_NRE) {
        match pos = *m;
        pos.op = CAIRN_MATCH_RE;
        ns = match_set(&pos, vals, lens, IDX_SET_MAX);
    }
    if (ns > 0) {
        for (int i = 0; i < ns && !rc; i++) {
            if (lens[i] == 0) continue; /* "absent" is not a posting */
            for (int j = 0; j < i; j++) /* a|a */
                if (lens[j] == lens[i] && memcmp(vals[j], vals[i], lens[i]) == 0) goto next;
            if (!idx_fits(m->name_len, lens[i])) {
                uint8_t lk[IDX_LKEY_BYTES];
                rc = idx_long_find(t, NULL, kind, m->name, m->name_len, vals[i], lens[i], lk);
                if (rc == 1) rc = idx_store->read(t, KV_POSTINGS, lk, sizeof lk, out), lists++;
                if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
                continue;
            }
            rc = idx_pkey(&k, kind, m->name, m->name_len, vals[i], lens[i]);
            if (!rc) rc = idx_store->read(t, KV_POSTINGS, k.p, k.len, out);
            if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
            else lists++;
        next:;
        }
        goto done;
    }

    /* scan the values of the name (from the literal prefix of =~"prefix.*") */
    const char *pre = "";
    size_t pn = 0;
    if (want) match_prefix(m, &pre, &pn);
    rc = idx_long_scan(t, kind, m, want, out, &lists, err);
    if (rc || !idx_fits(m->name_len, pn)) goto done; /* a name or prefix too long for a plain key */
    rc = idx_pkey(&k, kind, m->name, m->name_len, pre, pn);
    if (rc) goto done;
    size_t vstart = 1 + m->name_len + 1;
    kv_cur *c;
    rc = kv_cur_open(t, KV_POSTINGS, &c);
    if (rc) goto done;
    const void *ko;
    size_t kon;
    rc = kv_cur_seek(c, k.p, k.len, &ko, &kon, NULL, NULL);
    while (rc == CAIRN_OK && kon >= k.len && memcmp(ko, k.p, k.len) == 0) {
        const char *val = (const char *)ko + vstart;
        int r = match_value(m, val, kon - vstart);
        if (r < 0) {
            rc = err_set(err, r, "matcher on label \"%.*s\": regex failed on a value (%s)", (int)m->name_len,
                         m->name, r == CAIRN_ELIMIT ? "match limit" : "out of memory");
            break;
        }
        if (r == want) {
            rc = postings_lmdb_read_cur(c, out);
            if (rc) break;
            lists++;
        }
        rc = kv_cur_next_key(c, &ko, &kon, NULL, NULL);
    }
    kv_cur_close(c);
    if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
done:
    buf_free(&k);
    if (rc == CAIRN_OK && lists > 1) {
        size_t tn = out->n;
        uint32_t *tmp = mem_alloc(tn * sizeof *tmp);
        if (!tmp)
            return err_set(err, CAIRN_ENOMEM, "out of memory merging postings of \"%.*s\"", (int)m->name_len,
                           m->name);
        out->n = postings_sort_unique(out->v, tn, tmp);
        mem_free(tmp, tn * sizeof *tmp);
    }
    if (rc == CAIRN_ENOMEM) return err_set(err, rc, "out of memory reading postings of \"%.*s\"", (int)m->name_len,
                                           m->name);
    if (rc == CAIRN_ECORRUPT) return err_set(err, rc, "corrupt postings of \"%.*s\"", (int)m->name_len, m->name);
    return rc;
}

typedef struct idx_part {
    const match *m;
    postings_list l;
} idx_part;

static int idx_part_cmp(const void *a, const void *b)
{
    size_t x = ((const idx_part *)a)->l.n, y = ((const idx_part *)b)->l.n;
    return (x > y) - (x < y);
}

int idx_select(kv_txn *t, int kind, const match *m, size_t n, idx_keep_fn keep, void *kctx, idx_ids *out,
               cairn_err *err)
{
    out->v = NULL, out->n = out->cap = 0;
    if (!idx_kind_ok(kind)) return err_set(err, CAIRN_EINVAL, "select: unknown kind %d", kind);
    idx_part stack[8], *parts = stack;
    if (n > 8) {
        parts = mem_calloc(n, sizeof *parts);
        if (!parts) return err_set(err, CAIRN_ENOMEM, "out of memory selecting with %zu matchers", n);
    }
    for (size_t i = 0; i < n; i++) postings_list_init(&parts[i].l);
    size_t npos = 0, nneg = 0;
    postings_list acc, tmp;
    postings_list_init(&acc);
    postings_list_init(&tmp);
    int rc = CAIRN_OK;

    /* positive parts (matchers that reject the empty value) to the front, the others behind */
    for (size_t i = 0; i < n; i++) {
        int e = match_matches_empty(&m[i]);
        if (e < 0) {
            rc = err_set(err, e, "matcher on label \"%.*s\" failed on the empty value", (int)m[i].name_len,
                         m[i].name);
            goto out;
        }
        if (!e) parts[npos++].m = &m[i];
        else parts[n - 1 - nneg++].m = &m[i];
    }

    for (size_t i = 0; i < npos; i++) {
        rc = idx_values_union(t, kind, parts[i].m, 1, &parts[i].l, err);
        if (rc) goto out;
        if (parts[i].l.n == 0) goto keep; /* nothing can match: acc stays empty */
    }
    if (npos) {
        qsort(parts, npos, sizeof *parts, idx_part_cmp);
        acc = parts[0].l;
        postings_list_init(&parts[0].l);
        for (size_t i = 1; i < npos && acc.n; i++)
            acc.n = postings_intersect(acc.v, acc.n, parts[i].l.v, parts[i].l.n, acc.v);
    } else {
        uint8_t all[2] = {(uint8_t)kind, 0};
        rc = idx_store->read(t, KV_POSTINGS, all, 2, &acc);
        if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
        if (rc) {
            rc = err_set(err, rc, "reading the all-series posting");
            goto out;
        }
    }
    for (size_t i = npos; i < npos + nneg && acc.n; i++) {
        tmp.n = 0;
        rc = idx_values_union(t, kind, parts[i].m, 0, &tmp, err);
        if (rc) goto out;
        acc.n = postings_subtract(acc.v, acc.n, tmp.v, tmp.n, acc.v);
    }
keep:
    if (keep) {
        size_t k = 0;
        for (size_t i = 0; i < acc.n; i++)
            if (keep(kctx, acc.v[i])) acc.v[k++] = acc.v[i];
        acc.n = k;
    }
    out->v = acc.v, out->n = acc.n, out->cap = acc.cap;
    postings_list_init(&acc);
out:
    for (size_t i = 0; i < n; i++) postings_list_free(&parts[i].l);
    if (parts != stack) mem_free(parts, n * sizeof *parts);
    postings_list_free(&acc);
    postings_list_free(&tmp);
    return rc;
}

/* ---- label names and values ------------------------------------------------------------------- */

typedef struct idx_str {
    const char *s;
    size_t n;
} idx_str;

static int idx_str_cmp(const void *a, const void *b)
{
    const idx_str *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->s, y->s, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

typedef struct idx_strs {
    idx_str *v;
    size_t n, cap;
} idx_strs;

static int idx_strs_push(idx_strs *a, const char *s, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        idx_str *v = mem_realloc(a->v, a->cap * sizeof *v, cap * sizeof *v);
        if (!v) return CAIRN_ENOMEM;
        a->v = v, a->cap = cap;
    }
    a->v[a->n].s = s, a->v[a->n].n = n;
    a->n++;
    return CAIRN_OK;
}

/* Sort, drop duplicates and emit; returns emit's nonzero result or CAIRN_OK. */
static int idx_strs_emit(idx_strs *a, int (*emit)(void *ctx, const char *s, size_t n), void *ectx)
{
    if (a->n) qsort(a->v, a->n, sizeof *a->v, idx_str_cmp);
    for (size_t i = 0; i < a->n; i++) {
        if (i && idx_str_cmp(&a->v[i - 1], &a->v[i]) == 0) continue;
        int rc = emit(ectx, a->v[i].s, a->v[i].n);
        if (rc) return rc;
    }
    return CAIRN_OK;
}

/* Walk the labels of the given series; name NULL collects names, else values of name. */
static int idx_collect_ids(kv_txn *t, int kind, const char *name, size_t name_len, const idx_ids *ids,
                           idx_keep_fn keep, void *kctx, idx_strs *out, cairn_err *err)
{
    for (size_t i = 0; i < ids->n; i++) {
        if (keep && !keep(kctx, ids->v[i])) continue;
        int k;
        const uint8_t *cn;
        size_t cl;
        int rc = idx_get_series(t, ids->v[i], &k, NULL, NULL, &cn, &cl);
        if (rc == CAIRN_NOTFOUND) continue;
        if (rc) return err_set(err, rc, "reading series %u", ids->v[i]);
        if (k != kind) continue;
        labels_it it;
        cairn_label l;
        rc = labels_it_init(&it, cn, cl);
        while (!rc && (rc = labels_it_next(&it, &l)) == 1) {
            rc = CAIRN_OK;
            if (!name) rc = idx_strs_push(out, l.name, l.name_len);
            else if (l.name_len == name_len && memcmp(l.name, name, name_len) == 0)
                rc = idx_strs_push(out, l.value, l.value_len);
        }
        if (rc == CAIRN_ENOMEM) return err_set(err, rc, "out of memory collecting labels");
        if (rc < 0) return err_set(err, rc, "series %u: malformed canonical label set", ids->v[i]);
    }
    return CAIRN_OK;
}

typedef struct idx_any {
    idx_keep_fn keep;
    void *kctx;
} idx_any;

static int idx_any_fn(void *ctx, const uint32_t *ids, size_t n)
{
    idx_any *a = ctx;
    for (size_t i = 0; i < n; i++)
        if (a->keep(a->kctx, ids[i])) return 1;
    return 0;
}

/* 1 if some id of the posting under the cursor passes keep (always 1 without keep), 0, or a code. */
static int idx_posting_kept(kv_cur *c, idx_keep_fn keep, void *kctx)
{
    if (!keep) return 1;
    idx_any a = {keep, kctx};
    return postings_lmdb_each_cur(c, idx_any_fn, &a);
}

/* idx_long_each callback: push the value when some id of the key passes keep. */
typedef struct idx_keep_strs {
    idx_keep_fn keep;
    void *kctx;
    idx_strs *out;
} idx_keep_strs;

static int idx_keep_push(void *ctx, kv_cur *c, const char *val, size_t vn)
{
    idx_keep_strs *x = ctx;
    int kept = idx_posting_kept(c, x->keep, x->kctx);
    if (kept <= 0) return kept;
    return idx_strs_push(x->out, val, vn);
}

/* Names of the hashed keys of kind whose series pass keep (views until the txn ends), unsorted. */
static int idx_long_names(kv_txn *t, int kind, idx_keep_fn keep, void *kctx, idx_strs *out)
{
    uint8_t first = (uint8_t)(kind | IDX_LONG);
    kv_cur *c;
    RETURN_IF_ERR(kv_cur_open(t, KV_POSTINGS, &c));
    const void *ko, *v;
    size_t kon, von;
    int rc = kv_cur_seek(c, &first, 1, &ko, &kon, &v, &von);
    while (rc == CAIRN_OK && kon >= 1 && ((const uint8_t *)ko)[0] == first) {
        if (kon != IDX_LKEY_BYTES || von != 4) {
            rc = CAIRN_ECORRUPT;
            break;
        }
        int kept = idx_posting_kept(c, keep, kctx);
        if (kept < 0) {
            rc = kept;
            break;
        }
        if (kept) {
            /* the name: a label of the first series that needs a hashed key and hashes here */
            const void *rv;
            size_t rn;
            const uint8_t *cn;
            size_t cl;
            rc = kv_get(t, KV_SERIES, v, 4, &rv, &rn);
            if (rc || idx_rec_parse(rv, rn, NULL, NULL, NULL, &cn, &cl)) {
                rc = CAIRN_ECORRUPT;
                break;
            }
            uint64_t hn = be64_get((const uint8_t *)ko + 1);
            labels_it it;
            cairn_label l;
            rc = labels_it_init(&it, cn, cl);
            while (!rc && (rc = labels_it_next(&it, &l)) == 1) {
                rc = CAIRN_OK;
                if (!idx_fits(l.name_len, l.value_len) &&
                    labels_hash((const uint8_t *)l.name, l.name_len) == hn) {
                    rc = idx_strs_push(out, l.name, l.name_len);
                    break;
                }
            }
            if (rc < 0) break;
        }
        rc = kv_cur_next_key(c, &ko, &kon, &v, &von);
    }
    kv_cur_close(c);
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

int idx_label_names(kv_txn *t, int kind, const idx_ids *ids, idx_keep_fn keep, void *kctx,
                    int (*emit)(void *ctx, const char *s, size_t n), void *ectx, cairn_err *err)
{
    if (!idx_kind_ok(kind)) return err_set(err, CAIRN_EINVAL, "label names: unknown kind %d", kind);
    idx_strs names = {0};
    int rc;
    if (ids) {
        rc = idx_collect_ids(t, kind, NULL, 0, ids, keep, kctx, &names, err);
        if (!rc) rc = idx_strs_emit(&names, emit, ectx);
        mem_free(names.v, names.cap * sizeof *names.v);
        return rc;
    }
    /* Names with long values (hashed keys), sorted and unique, merged into the walk below. */
    idx_strs ln = {0};
    rc = idx_long_names(t, kind, keep, kctx, &ln);
    if (rc) {
        mem_free(ln.v, ln.cap * sizeof *ln.v);
        return err_set(err, rc, "label names: reading the names of long labels");
    }
    size_t lk = 0, li = 0;
    if (ln.n) qsort(ln.v, ln.n, sizeof *ln.v, idx_str_cmp);
    for (size_t i = 0; i < ln.n; i++)
        if (!i || idx_str_cmp(&ln.v[i - 1], &ln.v[i])) ln.v[lk++] = ln.v[i];
    ln.n = lk;
    /* Walk postings keys `kind name 0x00 value`: names arrive sorted; skip a name's
     * remaining values by seeking to `kind name 0x01` once one value qualifies. */
    kv_cur *c;
    rc = kv_cur_open(t, KV_POSTINGS, &c);
    if (rc) {
        mem_free(ln.v, ln.cap * sizeof *ln.v);
        return err_set(err, rc, "label names: cursor");
    }
    uint8_t seek[2 + 1024];
    const void *ko;
    size_t kon;
    uint8_t first[2] = {(uint8_t)kind, 1}; /* past the all-series key `kind 0x00` */
    rc = kv_cur_seek(c, first, 2, &ko, &kon, NULL, NULL);
    while (rc == CAIRN_OK) {
        const uint8_t *kp = ko;
        if (kon < 2 || kp[0] != (uint8_t)kind) break;
        const uint8_t *z = memchr(kp + 1, 0, kon - 1);
        if (!z) {
            rc = err_set(err, CAIRN_ECORRUPT, "label names: malformed postings key");
            break;
        }
        size_t nn = (size_t)(z - (kp + 1));
        int kept = idx_posting_kept(c, keep, kctx);
        if (kept < 0) {
            rc = err_set(err, kept, "label names: reading postings");
            break;
        }
        if (kept) {
            idx_str pn = {(const char *)kp + 1, nn};
            int cmp = -1;
            while (!rc && li < ln.n && (cmp = idx_str_cmp(&ln.v[li], &pn)) < 0)
                rc = emit(ectx, ln.v[li].s, ln.v[li].n), li++;
            if (!rc && li < ln.n && cmp == 0) li++; /* the same name also has long values */
            if (!rc) rc = emit(ectx, pn.s, pn.n);
            if (rc) break;
            if (nn + 2 > sizeof seek) {
                rc = kv_cur_next_key(c, &ko, &kon, NULL, NULL);
                continue;
            }
            seek[0] = (uint8_t)kind;
            memcpy(seek + 1, kp + 1, nn);
            seek[1 + nn] = 1;
            rc = kv_cur_seek(c, seek, nn + 2, &ko, &kon, NULL, NULL);
        } else {
            rc = kv_cur_next_key(c, &ko, &kon, NULL, NULL);
        }
    }
    if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
    while (!rc && li < ln.n) rc = emit(ectx, ln.v[li].s, ln.v[li].n), li++;
    kv_cur_close(c);
    mem_free(ln.v, ln.cap * sizeof *ln.v);
    return rc;
}

int idx_label_values(kv_txn *t, int kind, const char *name, size_t name_len, const idx_ids *ids,
                     idx_keep_fn keep, void *kctx, int (*emit)(void *ctx, const char *s, size_t n), void *ectx,
                     cairn_err *err)
{
    if (!idx_kind_ok(kind)) return err_set(err, CAIRN_EINVAL, "label values: unknown kind %d", kind);
    int rc;
    if (ids) {
        idx_strs vals = {0};
        rc = idx_collect_ids(t, kind, name, name_len, ids, keep, kctx, &vals, err);
        if (!rc) rc = idx_strs_emit(&vals, emit, ectx);
        mem_free(vals.v, vals.cap * sizeof *vals.v);
        return rc;
    }
    if (name_len == 0) return CAIRN_OK; /* no label has an empty name */
    /* long values (hashed keys) first, sorted, then merged into the sorted plain ones */
    idx_strs lv = {0};
    idx_keep_strs kx = {keep, kctx, &lv};
    rc = idx_long_each(t, kind, name, name_len, idx_keep_push, &kx);
    if (rc) {
        mem_free(lv.v, lv.cap * sizeof *lv.v);
        return err_set(err, rc, "label values: reading the long values of \"%.*s\"", (int)name_len, name);
    }
    size_t li = 0;
    if (lv.n) qsort(lv.v, lv.n, sizeof *lv.v, idx_str_cmp);
    for (size_t i = 0; i < lv.n; i++)
        if (!i || idx_str_cmp(&lv.v[li - 1], &lv.v[i])) lv.v[li++] = lv.v[i];
    lv.n = li, li = 0;
    if (!idx_fits(name_len, 0)) {
        rc = idx_strs_emit(&lv, emit, ectx);
        mem_free(lv.v, lv.cap * sizeof *lv.v);
        return rc;
    }
    buf k;
    buf_init(&k);
    rc = idx_pkey(&k, kind, name, name_len, "", 0);
    if (rc) {
        buf_free(&k);
        mem_free(lv.v, lv.cap * sizeof *lv.v);
        return err_set(err, rc, "out of memory listing values of \"%.*s\"", (int)name_len, name);
    }
    kv_cur *c;
    rc = kv_cur_open(t, KV_POSTINGS, &c);
    if (rc) {
        buf_free(&k);
        mem_free(lv.v, lv.cap * sizeof *lv.v);
        return err_set(err, rc, "label values: cursor");
    }
    const void *ko;
    size_t kon;
    rc = kv_cur_seek(c, k.p, k.len, &ko, &kon, NULL, NULL);
    while (rc == CAIRN_OK && kon >= k.len && memcmp(ko, k.p, k.len) == 0) {
        int kept = idx_posting_kept(c, keep, kctx);
        if (kept < 0) {
            rc = err_set(err, kept, "label values: reading postings");
            break;
        }
        if (kept) {
            idx_str pv = {(const char *)ko + k.len, kon - k.len};
            while (!rc && li < lv.n && idx_str_cmp(&lv.v[li], &pv) < 0) rc = emit(ectx, lv.v[li].s, lv.v[li].n), li++;
            if (!rc) rc = emit(ectx, pv.s, pv.n);
            if (rc) break;
        }
        rc = kv_cur_next_key(c, &ko, &kon, NULL, NULL);
    }
    if (rc == CAIRN_NOTFOUND) rc = CAIRN_OK;
    while (!rc && li < lv.n) rc = emit(ectx, lv.v[li].s, lv.v[li].n), li++;
    kv_cur_close(c);
    buf_free(&k);
    mem_free(lv.v, lv.cap * sizeof *lv.v);
    return rc;
}
