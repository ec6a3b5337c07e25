/*
 * value.c — label sets, hashing and small helpers for query values.
 *
 * What. The evaluator (eval.c) moves label sets around far more often than
 * it changes them: an aggregation keeps a few labels, a binary operation
 * removes the metric name, label_replace sets one label. Every such change
 * builds a new sorted array in the query arena and shares the strings of the
 * input, so a change costs one small allocation and no string copies.
 *
 * Why not reuse engine/labels.c. The engine canonicalises and interns label
 * sets for storage and hashes them with XXH3, and its header deliberately
 * owns the xxhash dependency. Query-side hashing only has to be consistent
 * within one query, so a local FNV-1a over (name 0xff value 0xff) is enough
 * and keeps query/ free of that dependency. Collisions are expected and
 * resolved by the callers with val_lset_eq*; val_map is a multimap for
 * exactly that reason.
 *
 * Invariants. A val_lset is sorted by name (byte order, as Prometheus sorts
 * labels) and names are unique. Filters keep that order. The absent marker
 * (value.h) never appears as a computed value.
 *
 * Float formatting. count_values needs Go's FormatFloat(f, 'f', -1, 64):
 * the shortest digit string that reads back to the same double, written
 * without an exponent. We find the shortest precision with %.*e and then
 * place the decimal point ourselves.
 *
 * Threads: none. Memory: the query arena, never freed here.
 */
#include "value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "mem.h"

/* ---- label sets ----------------------------------------------------------------- */

static int val_bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

const char *val_lset_get(val_lset ls, const char *name, size_t name_len, size_t *len)
{
    for (size_t i = 0; i < ls.n; i++) {
        if (ls.v[i].name_len == name_len && memcmp(ls.v[i].name, name, name_len) == 0) {
            if (len) *len = ls.v[i].value_len;
            return ls.v[i].value;
        }
    }
    return NULL;
}

int val_lset_cmp(val_lset a, val_lset b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    for (size_t i = 0; i < n; i++) {
        int c = val_bytes_cmp(a.v[i].name, a.v[i].name_len, b.v[i].name, b.v[i].name_len);
        if (c) return c;
        c = val_bytes_cmp(a.v[i].value, a.v[i].value_len, b.v[i].value, b.v[i].value_len);
        if (c) return c;
    }
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

static int val_label_eq(const cairn_label *a, const cairn_label *b)
{
    return a->name_len == b->name_len && a->value_len == b->value_len && memcmp(a->name, b->name, a->name_len) == 0 &&
           memcmp(a->value, b->value, a->value_len) == 0;
}

int val_lset_eq(val_lset a, val_lset b)
{
    if (a.n != b.n) return 0;
    for (size_t i = 0; i < a.n; i++)
        if (!val_label_eq(&a.v[i], &b.v[i])) return 0;
    return 1;
}

int val_lset_set(arena *ar, val_lset ls, const char *name, size_t name_len, const char *value, size_t value_len,
                 val_lset *out)
{
    cairn_label *v = arena_alloc(ar, (ls.n + 1) * sizeof *v);
    if (!v) return CAIRN_ENOMEM;
    size_t n = 0, i = 0;
    int done = 0;
    for (; i < ls.n; i++) {
        int c = val_bytes_cmp(ls.v[i].name, ls.v[i].name_len, name, name_len);
        if (c < 0) {
            v[n++] = ls.v[i];
            continue;
        }
        if (!done) {
            if (value_len) v[n++] = (cairn_label){name, name_len, value, value_len};
            done = 1;
        }
        if (c > 0) v[n++] = ls.v[i];
    }
    if (!done && value_len) v[n++] = (cairn_label){name, name_len, value, value_len};
    out->v = v;
    out->n = n;
    return CAIRN_OK;
}

int val_lset_del(arena *ar, val_lset ls, const char *name, size_t name_len, val_lset *out)
{
    if (!val_lset_get(ls, name, name_len, NULL)) {
        *out = ls;
        return CAIRN_OK;
    }
    return val_lset_set(ar, ls, name, name_len, "", 0, out);
}

static int val_name_listed(const cairn_label *l, const char *const *names, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lens[i] == l->name_len && memcmp(names[i], l->name, lens[i]) == 0) return 1;
    return 0;
}

int val_lset_filter(arena *ar, val_lset ls, const char *const *names, const size_t *name_lens, size_t n_names, int keep,
                    val_lset *out)
{
    cairn_label *v = arena_alloc(ar, (ls.n ? ls.n : 1) * sizeof *v);
    if (!v) return CAIRN_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ls.n; i++)
        if (val_name_listed(&ls.v[i], names, name_lens, n_names) == keep) v[n++] = ls.v[i];
    out->v = v;
    out->n = n;
    return CAIRN_OK;
}

static int val_label_cmp_q(const void *a, const void *b)
{
    const cairn_label *x = a, *y = b;
    return val_bytes_cmp(x->name, x->name_len, y->name, y->name_len);
}

int val_lset_copy(arena *ar, const cairn_label *ls, size_t n, val_lset *out)
{
    cairn_label *v = arena_alloc(ar, (n ? n : 1) * sizeof *v);
    if (!v) return CAIRN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char *nm = arena_strdup(ar, ls[i].name, ls[i].name_len);
        char *vl = arena_strdup(ar, ls[i].value, ls[i].value_len);
        if (!nm || !vl) return CAIRN_ENOMEM;
        v[i] = (cairn_label){nm, ls[i].name_len, vl, ls[i].value_len};
    }
    qsort(v, n, sizeof *v, val_label_cmp_q);
    out->v = v;
    out->n = n;
    return CAIRN_OK;
}

#define VAL_FNV_OFFSET 0xcbf29ce484222325ULL
#define VAL_FNV_PRIME 0x100000001b3ULL

static uint64_t val_fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= VAL_FNV_PRIME;
    }
    h ^= 0xff;
    h *= VAL_FNV_PRIME;
    return h;
}

uint64_t val_lset_hash(val_lset ls)
{
    uint64_t h = VAL_FNV_OFFSET;
    for (size_t i = 0; i < ls.n; i++) {
        h = val_fnv(h, ls.v[i].name, ls.v[i].name_len);
        h = val_fnv(h, ls.v[i].value, ls.v[i].value_len);
    }
    return h;
}

uint64_t val_lset_hash_filter(val_lset ls, const char *const *names, const size_t *name_lens, size_t n_names, int keep)
{
    uint64_t h = VAL_FNV_OFFSET;
    for (size_t i = 0; i < ls.n; i++) {
        if (val_name_listed(&ls.v[i], names, name_lens, n_names) != keep) continue;
        h = val_fnv(h, ls.v[i].name, ls.v[i].name_len);
        h = val_fnv(h, ls.v[i].value, ls.v[i].value_len);
    }
    return h;
}

int val_lset_eq_filter(val_lset a, val_lset b, const char *const *names, const size_t *name_lens, size_t n_names,
                       int keep)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a.n && val_name_listed(&a.v[i], names, name_lens, n_names) != keep) i++;
        while (j < b.n && val_name_listed(&b.v[j], names, name_lens, n_names) != keep) j++;
        if (i == a.n || j == b.n) return i == a.n && j == b.n;
        if (!val_label_eq(&a.v[i], &b.v[j])) return 0;
        i++, j++;
    }
}

void val_lset_format(val_lset ls, char *dst, size_t cap)
{
    size_t o = 0;
#define VAL_PUT(...)                                                                                                   \
    do {                                                                                                               \
        if (o < cap) {                                                                                                 \
            int k_ = snprintf(dst + o, cap - o, __VA_ARGS__);                                                          \
            if (k_ > 0) o += (size_t)k_;                                                                               \
        }                                                                                                              \
    } while (0)
    if (!cap) return;
    dst[0] = 0;
    size_t nl = 0;
    const char *name = val_lset_get(ls, "__name__", 8, &nl);
    if (name) VAL_PUT("%.*s", (int)nl, name);
    VAL_PUT("{");
    int first = 1;
    for (size_t i = 0; i < ls.n; i++) {
        if (ls.v[i].name_len == 8 && memcmp(ls.v[i].name, "__name__", 8) == 0) continue;
        VAL_PUT("%s%.*s=\"%.*s\"", first ? "" : ", ", (int)ls.v[i].name_len, ls.v[i].name, (int)ls.v[i].value_len,
                ls.v[i].value);
        first = 0;
    }
    VAL_PUT("}");
#undef VAL_PUT
    if (o >= cap) dst[cap - 1] = 0;
}

const char *val_lset_str(arena *ar, val_lset ls)
{
    size_t cap = 16;
    for (size_t i = 0; i < ls.n; i++) cap += ls.v[i].name_len + ls.v[i].value_len + 6;
    char *s = arena_alloc(ar, cap);
    if (!s) return "{…}";
    val_lset_format(ls, s, cap);
    return s;
}

/* ---- hash multimap --------------------------------------------------------------- */

int val_map_init(val_map *m, arena *ar, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2) cap <<= 1;
    m->h = arena_alloc(ar, cap * sizeof *m->h);
    m->idx = arena_alloc(ar, cap * sizeof *m->idx);
    if (!m->h || !m->idx) return CAIRN_ENOMEM;
    for (size_t i = 0; i < cap; i++) m->idx[i] = -1;
    m->cap = cap;
    m->n = 0;
    m->ar = ar;
    return CAIRN_OK;
}

static void val_map_insert(uint64_t *hs, int32_t *is, size_t cap, uint64_t h, int32_t idx)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (is[i] >= 0) i = (i + 1) & (cap - 1);
    hs[i] = h;
    is[i] = idx;
}

int val_map_put(val_map *m, uint64_t h, int32_t idx)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap * 2;
        uint64_t *hs = arena_alloc(m->ar, cap * sizeof *hs);
        int32_t *is = arena_alloc(m->ar, cap * sizeof *is);
        if (!hs || !is) return CAIRN_ENOMEM;
        for (size_t i = 0; i < cap; i++) is[i] = -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->idx[i] >= 0) val_map_insert(hs, is, cap, m->h[i], m->idx[i]);
        m->h = hs;
        m->idx = is;
        m->cap = cap;
    }
    val_map_insert(m->h, m->idx, m->cap, h, idx);
    m->n++;
    return CAIRN_OK;
}

int32_t val_map_next(const val_map *m, uint64_t h, size_t *cursor)
{
    size_t start = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
    for (size_t k = *cursor; k < m->cap; k++) {
        size_t i = (start + k) & (m->cap - 1);
        if (m->idx[i] < 0) {
            *cursor = m->cap;
            return -1;
        }
        if (m->h[i] == h) {
            *cursor = k + 1;
            return m->idx[i];
        }
    }
    *cursor = m->cap;
    return -1;
}

/* ---- values ------------------------------------------------------------------------- */

double *val_absent_array(arena *ar, size_t n)
{
    double *v = arena_alloc(ar, (n ? n : 1) * sizeof *v);
    if (!v) return NULL;
    double a = val_absent_value();
    for (size_t i = 0; i < n; i++) v[i] = a;
    return v;
}

/* Merge sort (stable) of rows by labels; n is small enough for recursion depth log n. */
static void val_msort(val_series *a, val_series *tmp, size_t n)
{
    if (n < 2) return;
    size_t h = n / 2;
    val_msort(a, tmp, h);
    val_msort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = val_lset_cmp(a[j].ls, a[i].ls) < 0 ? a[j++] : a[i++];
    while (i < h) tmp[k++] = a[i++];
    while (j < n) tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

void val_sort_rows(val *v)
{
    if (v->type != VAL_VECTOR || v->n < 2) return;
    val_series *tmp = mem_alloc(v->n * sizeof *tmp);
    if (!tmp) {
        /* Insertion sort needs no memory; only reached when allocation fails. */
        for (size_t i = 1; i < v->n; i++)
            for (size_t j = i; j > 0 && val_lset_cmp(v->s[j].ls, v->s[j - 1].ls) < 0; j--) {
                val_series t = v->s[j];
                v->s[j] = v->s[j - 1];
                v->s[j - 1] = t;
            }
        return;
    }
    val_msort(v->s, tmp, v->n);
    mem_free(tmp, v->n * sizeof *tmp);
}

/* Shortest "%.{p}e" that strtod reads back exactly. */
static int val_shortest_e(double f, char *buf, size_t cap)
{
    for (int p = 0; p < 17; p++) {
        snprintf(buf, cap, "%.*e", p, f);
        if (strtod(buf, NULL) == f) return p;
    }
    snprintf(buf, cap, "%.16e", f);
    return 16;
}

void val_format_float_fixed(double f, char *dst, size_t cap)
{
    if (isnan(f)) {
        snprintf(dst, cap, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(dst, cap, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    char e[40];
    val_shortest_e(f, e, sizeof e);
    /* e = [-]d[.ddd]e[+-]xx */
    const char *p = e;
    int neg = 0;
    if (*p == '-') neg = 1, p++;
    char digits[40];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char out[400];
    size_t o = 0;
    if (neg && !(nd == 1 && digits[0] == '0')) out[o++] = '-';
    else if (neg) out[o++] = '-'; /* -0 prints as "-0" in Go */
    int point = exp10 + 1;        /* digits before the decimal point */
    if (point <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -point; i++) out[o++] = '0';
        for (size_t i = 0; i < nd; i++) out[o++] = digits[i];
    } else {
        for (int i = 0; i < point; i++) out[o++] = (size_t)i < nd ? digits[i] : '0';
        if ((size_t)point < nd) {
            out[o++] = '.';
            for (size_t i = (size_t)point; i < nd; i++) out[o++] = digits[i];
        }
    }
    out[o] = 0;
    snprintf(dst, cap, "%s", out);
}

void val_format_float(double f, char *dst, size_t cap)
{
    if (isnan(f)) {
        snprintf(dst, cap, "NaN");
        return;
    }
    if (isinf(f)) {
        snprintf(dst, cap, f > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (f == 0) {
        snprintf(dst, cap, signbit(f) ? "-0" : "0");
        return;
    }
    double a = fabs(f);
    if (a < 1e-6 || a >= 1e21) {
        char e[40];
        val_shortest_e(f, e, sizeof e);
        /* Go prints at least two exponent digits and no '+' padding beyond that: 1e-07, 1e+21. */
        char *x = strchr(e, 'e');
        char mant[40];
        size_t ml = (size_t)(x - e);
        memcpy(mant, e, ml);
        mant[ml] = 0;
        /* strip trailing zeros in mantissa fraction */
        if (strchr(mant, '.')) {
            while (ml && mant[ml - 1] == '0') mant[--ml] = 0;
            if (ml && mant[ml - 1] == '.') mant[--ml] = 0;
        }
        int ex = atoi(x + 1);
        snprintf(dst, cap, "%se%c%02d", mant, ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
        return;
    }
    val_format_float_fixed(f, dst, cap);
}

int val_budget_error(const arena *ar, int rc, cairn_err *err)
{
    if (rc != CAIRN_ENOMEM || !ar) return rc;
    switch (arena_over_budget(ar)) {
    case ARENA_OVER_OWN:
        return err_set(err, CAIRN_ELIMIT,
                       "query would use more than %zu bytes of memory; narrow the selector, shorten the range or "
                       "raise --query-max-bytes",
                       arena_budget_max(ar));
    case ARENA_OVER_SHARED:
        return err_set(err, CAIRN_ELIMIT,
                       "the queries running now would use more than %llu bytes of memory together; retry later, "
                       "narrow the query or raise --query-max-bytes-total",
                       (unsigned long long)arena_budget_shared(ar)->limit);
    default: return rc;
    }
}
