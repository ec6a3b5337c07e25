/*
 * postings.c — sorted id lists: set algebra and the LMDB dup-sorted store.
 *
 * Every list here is a sorted array of unique u32 series ids, the shape the
 * index returns and the shape LMDB hands back when a posting is read a page
 * at a time. The algebra is plain merging, with a galloping (exponential)
 * search when one side is far smaller than the other, which is the common
 * case of `{__name__="rare", job="huge"}`: the cost is then about
 * small x log(large) instead of small + large. Outputs go to caller memory
 * whose capacity follows from the inputs, so nothing here allocates except
 * postings_list_reserve.
 *
 * Union of many lists (a regex over a high-cardinality label) is done by
 * appending everything and one LSD radix sort (4 passes of 8 bits), O(n)
 * whatever the number of lists, instead of pairwise merging, O(n x k).
 *
 * Storage (postings_lmdb). A posting is one key of a dup-sorted DBI with
 * MDB_DUPFIXED 4-byte big-endian ids as dups; big-endian so LMDB's memcmp
 * order is numeric order. Adding an id is one mdb_put (MDB_APPENDDUP when ids
 * arrive in order, the engine's normal case); reading is a walk over the
 * sub-database's leaf pages with MDB_GET_MULTIPLE/MDB_NEXT_MULTIPLE, about a
 * thousand ids per call, decoded straight into the output array. Layout and
 * the choice over roaring bitmaps: docs/format/lmdb.md and docs/index.md.
 *
 * No state; thread safety is that of the transaction passed in.
 */
#include "postings.h"

#include <string.h>

#include "buf.h"
#include "err.h"
#include "mem.h"

void postings_list_init(postings_list *l) { l->v = NULL, l->n = l->cap = 0; }

void postings_list_free(postings_list *l)
{
    mem_free(l->v, l->cap * sizeof *l->v);
    postings_list_init(l);
}

int postings_list_reserve(postings_list *l, size_t more)
{
    if (l->cap - l->n >= more) return CAIRN_OK;
    size_t cap = l->cap ? l->cap : 16;
    while (cap - l->n < more) {
        if (cap > SIZE_MAX / 8) return CAIRN_ENOMEM;
        cap *= 2;
    }
    uint32_t *v = mem_realloc(l->v, l->cap * sizeof *v, cap * sizeof *v);
    if (!v) return CAIRN_ENOMEM;
    l->v = v;
    l->cap = cap;
    return CAIRN_OK;
}

/* ---- algebra ------------------------------------------------------------------------ */

/* First index i >= lo with v[i] >= x (n if none), galloping from lo. */
static size_t postings_gallop(const uint32_t *v, size_t lo, size_t n, uint32_t x)
{
    size_t step = 1, hi = lo;
    while (hi < n && v[hi] < x) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    if (hi > n) hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

size_t postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
    size_t i = 0, j = 0, k = 0;
    if (na * 32 < nb || nb * 32 < na) {
        /* gallop through the larger side for each id of the smaller one; out may alias a */
        if (na <= nb) {
            for (; i < na && j < nb; i++) {
                j = postings_gallop(b, j, nb, a[i]);
                if (j < nb && b[j] == a[i]) out[k++] = a[i];
            }
        } else {
            for (; j < nb && i < na; j++) {
                i = postings_gallop(a, i, na, b[j]);
                if (i < na && a[i] == b[j]) out[k++] = b[j];
            }
        }
        return k;
    }
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else out[k++] = a[i], i++, j++;
    }
    return k;
}

size_t postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) out[k++] = a[i++];
        else if (a[i] > b[j]) out[k++] = b[j++];
        else out[k++] = a[i], i++, j++;
    }
    while (i < na) out[k++] = a[i++];
    while (j < nb) out[k++] = b[j++];
    return k;
}

size_t postings_subtract(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t *out)
{
    size_t j = 0, k = 0;
    int gallop = nb > na * 32;
    for (size_t i = 0; i < na; i++) {
        j = gallop ? postings_gallop(b, j, nb, a[i]) : j;
        while (!gallop && j < nb && b[j] < a[i]) j++;
        if (j < nb && b[j] == a[i]) continue;
        out[k++] = a[i];
    }
    return k;
}

size_t postings_sort_unique(uint32_t *v, size_t n, uint32_t *tmp)
{
    if (n < 2) return n;
    int sorted = 1;
    for (size_t i = 1; i < n && sorted; i++) sorted = v[i - 1] <= v[i];
    if (!sorted) {
        uint32_t *src = v, *dst = tmp;
        for (unsigned shift = 0; shift < 32; shift += 8) {
            size_t cnt[257] = {0};
            for (size_t i = 0; i < n; i++) cnt[((src[i] >> shift) & 0xFF) + 1]++;
            if (cnt[((src[0] >> shift) & 0xFF) + 1] == n) continue; /* all equal in this byte */
            for (int b = 0; b < 256; b++) cnt[b + 1] += cnt[b];
            for (size_t i = 0; i < n; i++) dst[cnt[(src[i] >> shift) & 0xFF]++] = src[i];
            uint32_t *t = src;
            src = dst, dst = t;
        }
        if (src != v) memcpy(v, src, n * sizeof *v);
    }
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

/* ---- LMDB dup-sorted store ------------------------------------------------------------ */

static int postings_lmdb_add(kv_txn *t, int dbi, const uint8_t *key, size_t kn, uint32_t id, cairn_err *err)
{
    uint8_t v[4];
    be32_put(v, id);
    return kv_put(t, dbi, key, kn, v, 4, KV_APPEND, err);
}

int postings_lmdb_each_cur(kv_cur *c, postings_chunk_fn fn, void *ctx)
{
    uint32_t tmp[256];
    const void *p;
    size_t pn;
    int rc = kv_cur_multiple(c, 1, &p, &pn);
    while (rc == CAIRN_OK) {
        if (pn % 4) return CAIRN_ECORRUPT;
        const uint8_t *b = p;
        for (size_t off = 0; off < pn / 4;) {
            size_t k = pn / 4 - off < 256 ? pn / 4 - off : 256;
            for (size_t i = 0; i < k; i++) tmp[i] = be32_get(b + 4 * (off + i));
            int r = fn(ctx, tmp, k);
            if (r) return r;
            off += k;
        }
        rc = kv_cur_multiple(c, 0, &p, &pn);
    }
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

int postings_lmdb_read_cur(kv_cur *c, postings_list *out)
{
    const void *p;
    size_t pn;
    int rc = kv_cur_multiple(c, 1, &p, &pn);
    while (rc == CAIRN_OK) {
        if (pn % 4) return CAIRN_ECORRUPT;
        size_t k = pn / 4;
        if (postings_list_reserve(out, k)) return CAIRN_ENOMEM;
        const uint8_t *b = p;
        uint32_t *dst = out->v + out->n;
        for (size_t i = 0; i < k; i++) dst[i] = be32_get(b + 4 * i);
        out->n += k;
        rc = kv_cur_multiple(c, 0, &p, &pn);
    }
    return rc == CAIRN_NOTFOUND ? CAIRN_OK : rc;
}

static int postings_lmdb_read(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_list *out)
{
    kv_cur *c;
    int rc = kv_cur_open(t, dbi, &c);
    if (rc) return rc;
    rc = kv_cur_seek_exact(c, key, kn, NULL, NULL);
    if (rc == CAIRN_OK) rc = postings_lmdb_read_cur(c, out);
    kv_cur_close(c);
    return rc;
}

static int postings_lmdb_each(kv_txn *t, int dbi, const uint8_t *key, size_t kn, postings_chunk_fn fn,
                              void *ctx)
{
    kv_cur *c;
    int rc = kv_cur_open(t, dbi, &c);
    if (rc) return rc;
    rc = kv_cur_seek_exact(c, key, kn, NULL, NULL);
    if (rc == CAIRN_OK) rc = postings_lmdb_each_cur(c, fn, ctx);
    kv_cur_close(c);
    return rc;
}

const postings_store postings_lmdb = {
    .name = "lmdb-dupsort",
    .add = postings_lmdb_add,
    .read = postings_lmdb_read,
    .each = postings_lmdb_each,
};
