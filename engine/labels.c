/*
 * labels.c — canonical label sets: validation, sort order, encoding, XXH3.
 *
 * A label set enters cairn as an array of (name, value) views in whatever
 * order a client sent. labels_canon() turns it into the one byte string that
 * identifies the series everywhere: the index hashes it, stores it in the
 * series record and compares it byte for byte after a hash match, so two sets
 * are the same series iff their canonical bytes are equal. That is why the
 * form has exactly one spelling: labels with an empty value are dropped (an
 * empty value means "no such label" in Prometheus), names are sorted byte-wise
 * with `__name__` pulled to the front, and duplicates are rejected rather than
 * merged.
 *
 *     uvarint n | n x ( uvarint name_len, name, uvarint value_len, value )
 *
 * (docs/format/lmdb.md, "Canonical label set", has a worked example that is
 * also a golden test in tests/unit/engine/test_labels.c.)
 *
 * Validation happens here once, so the rest of the engine can trust canonical
 * bytes: names match [a-zA-Z_][a-zA-Z0-9_]*, names starting "__" are reserved
 * for cairn except `__name__` (rejected, never dropped: dropping one would make
 * two sent series one), values are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF, as Go's utf8.Valid) without a NUL byte
 * (the metric name is the value of __name__, so the same holds for it), and
 * the limits of labels_limits hold. The ingest decoders call the same checks
 * (labels_name_valid, labels_name_reserved, labels_value_problem) with their
 * own context, so every protocol refuses the same bytes with the same words. Every error names the offending label first and the
 * label set after it, so the useful part survives the 256-byte message.
 *
 * The readers (labels_it_*, labels_decode, labels_get, labels_format) accept
 * untrusted bytes as well: every length is bounded by the bytes left, and a
 * malformed set is CAIRN_ECORRUPT, never a crash (tests/fuzz/fuzz_labels.c).
 *
 * No state, no locks: every function is safe from any thread. labels_canon
 * allocates only for sets above LABELS_STACK labels (the sort index) and for
 * growing `out`; on failure `out` is left at its original length.
 */
#include "labels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "err.h"
#include "mem.h"

#define LABELS_STACK 64

static const char labels_metric_name[] = "__name__";

/* ---- small helpers ------------------------------------------------------------------ */

/* Bytes allowed in a label name: bit 1 anywhere, bit 2 also first. */
static const uint8_t labels_name_chars[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['_'] = 3, ['a'] = 3, ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3, ['g'] = 3, ['h'] = 3, ['i'] = 3,
    ['j'] = 3, ['k'] = 3, ['l'] = 3, ['m'] = 3, ['n'] = 3, ['o'] = 3, ['p'] = 3, ['q'] = 3, ['r'] = 3, ['s'] = 3,
    ['t'] = 3, ['u'] = 3, ['v'] = 3, ['w'] = 3, ['x'] = 3, ['y'] = 3, ['z'] = 3, ['A'] = 3, ['B'] = 3, ['C'] = 3,
    ['D'] = 3, ['E'] = 3, ['F'] = 3, ['G'] = 3, ['H'] = 3, ['I'] = 3, ['J'] = 3, ['K'] = 3, ['L'] = 3, ['M'] = 3,
    ['N'] = 3, ['O'] = 3, ['P'] = 3, ['Q'] = 3, ['R'] = 3, ['S'] = 3, ['T'] = 3, ['U'] = 3, ['V'] = 3, ['W'] = 3,
    ['X'] = 3, ['Y'] = 3, ['Z'] = 3,
};

int labels_name_valid(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;
    if (len == 0 || !(labels_name_chars[p[0]] & 2)) return 0;
    unsigned ok = 1;
    for (size_t i = 1; i < len; i++) ok &= labels_name_chars[p[i]];
    return (int)ok;
}

static int labels_is_metric_name(const char *n, size_t len)
{
    return len == sizeof labels_metric_name - 1 && memcmp(n, labels_metric_name, len) == 0;
}

size_t labels_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Nonzero if any of the eight bytes of w is zero (the classic haszero test). */
static inline int labels_has_zero(uint64_t w)
{
    return ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0;
}

/* Offset of the first byte that is not valid UTF-8 (or, with refuse_nul, a NUL);
 * len if none. Label values are nearly always ASCII, so eight bytes at a time are
 * checked first (no high bit, and no zero byte when NULs are refused) and the
 * sequence decoder runs only where that test fails. */
static size_t labels_scan(const char *s, size_t len, int refuse_nul)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ULL) == 0 && !(refuse_nul && labels_has_zero(w))) {
                i += 8;
                continue;
            }
        }
        if (p[i] == 0 && refuse_nul) return i;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = labels_utf8_seq(p + i, len - i);
        if (!k) return i;
        i += k;
    }
    return len;
}

size_t labels_utf8_valid(const char *s, size_t len) { return labels_scan(s, len, 0); }

int labels_name_utf8_valid(const char *name, size_t len) { return len > 0 && labels_scan(name, len, 0) == len; }

/* A label value cairn refuses: a NUL, or the start of an invalid UTF-8 sequence. */
size_t labels_value_valid(const char *s, size_t len) { return labels_scan(s, len, 1); }

static void labels_put_escaped(char *dst, size_t cap, size_t *pos, const char *s, size_t n);

int labels_name_reserved(const char *name, size_t len)
{
    return len >= 2 && name[0] == '_' && name[1] == '_' && !labels_is_metric_name(name, len);
}

size_t labels_value_problem(const char *v, size_t len, const char *name, size_t name_len, char *msg, size_t cap)
{
    size_t bad = labels_value_valid(v, len);
    if (bad == len) return len;
    char nm[72];
    size_t pos = 0;
    labels_put_escaped(nm, sizeof nm, &pos, name, name_len);
    nm[pos] = '\0';
    char where[96];
    if (labels_is_metric_name(name, name_len)) snprintf(where, sizeof where, "the metric name (__name__)");
    else snprintf(where, sizeof where, "the value of label \"%s\"", nm);
    if (v[bad] == 0) snprintf(msg, cap, "NUL byte in %s at offset %zu", where, bad);
    else snprintf(msg, cap, "invalid UTF-8 in %s at offset %zu (byte 0x%02x)", where, bad, (unsigned char)v[bad]);
    return bad;
}

/* Append s with Go-style quoting escapes into dst[*pos..cap-1]; stops when full. */
static void labels_put_escaped(char *dst, size_t cap, size_t *pos, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && *pos + 1 < cap) {
        char tmp[8];
        const char *out = tmp;
        size_t on = 0, adv = 1;
        unsigned char c = p[i];
        switch (c) {
        case '\a': out = "\\a", on = 2; break;
        case '\b': out = "\\b", on = 2; break;
        case '\f': out = "\\f", on = 2; break;
        case '\n': out = "\\n", on = 2; break;
        case '\r': out = "\\r", on = 2; break;
        case '\t': out = "\\t", on = 2; break;
        case '\v': out = "\\v", on = 2; break;
        case '\\': out = "\\\\", on = 2; break;
        case '"': out = "\\\"", on = 2; break;
        default:
            if (c >= 0x20 && c < 0x7F) {
                tmp[0] = (char)c, on = 1;
            } else if (c >= 0x80 && (adv = labels_utf8_seq(p + i, n - i)) != 0) {
                out = s + i, on = adv;
            } else {
                adv = 1;
                on = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", c);
            }
        }
        if (*pos + on + 1 > cap) {
            *pos = cap - 1; /* no room for the whole escape: stop here */
            return;
        }
        memcpy(dst + *pos, out, on);
        *pos += on;
        i += adv;
    }
}

static void labels_put_raw(char *dst, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 1 > cap) n = cap - 1 - *pos;
    memcpy(dst + *pos, s, n);
    *pos += n;
}

/* Render an input (not yet canonical) label array for messages, in input order. */
static void labels_format_input(const cairn_label *in, size_t n, char *dst, size_t cap)
{
    size_t pos = 0;
    labels_put_raw(dst, cap, &pos, "{");
    for (size_t i = 0; i < n; i++) {
        if (i) labels_put_raw(dst, cap, &pos, ", ");
        labels_put_escaped(dst, cap, &pos, in[i].name, in[i].name_len);
        labels_put_raw(dst, cap, &pos, "=\"");
        labels_put_escaped(dst, cap, &pos, in[i].value, in[i].value_len);
        labels_put_raw(dst, cap, &pos, "\"");
    }
    labels_put_raw(dst, cap, &pos, "}");
    if (pos + 1 >= cap && cap > 4) memcpy(dst + cap - 4, "...", 3), pos = cap - 1;
    dst[pos] = '\0';
}

/* ---- canonicalisation ---------------------------------------------------------------- */

/* Canonical order: __name__ first, then names byte-wise (a prefix sorts first). */
static int labels_cmp_names(const cairn_label *a, const cairn_label *b)
{
    int am = labels_is_metric_name(a->name, a->name_len), bm = labels_is_metric_name(b->name, b->name_len);
    if (am || bm) return bm - am;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    if (c) return c;
    return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int labels_cmp_ptr(const void *a, const void *b)
{
    return labels_cmp_names(*(const cairn_label *const *)a, *(const cairn_label *const *)b);
}

static int labels_fail(cairn_err *err, int code, const cairn_label *in, size_t n, const char *what)
{
    char set[240];
    labels_format_input(in, n, set, sizeof set);
    return err_set(err, code, "%s in label set %s", what, set);
}

/* Nonzero if one label passes every check of labels_check_one (no formatting). */
static inline int labels_ok(const cairn_label *l, const labels_limits *lim)
{
    if (lim && lim->max_name_bytes && l->name_len > lim->max_name_bytes) return 0;
    if (lim && lim->max_value_bytes && l->value_len > lim->max_value_bytes) return 0;
    if (!labels_name_valid(l->name, l->name_len)) return 0;
    if (labels_name_reserved(l->name, l->name_len)) return 0;
    return labels_value_valid(l->value, l->value_len) == l->value_len;
}

/* Check one label; on error write "what" into msg and return the code. The
 * escaped name is built only here, i.e. only once a check has failed. */
static int labels_check_one(const cairn_label *l, const labels_limits *lim, char *msg, size_t cap)
{
    char name[72];
    size_t pos = 0;
    labels_put_escaped(name, sizeof name, &pos, l->name, l->name_len);
    name[pos] = '\0';
    if (l->name_len == 0) return snprintf(msg, cap, "empty label name"), CAIRN_EINVAL;
    if (lim && lim->max_name_bytes && l->name_len > lim->max_name_bytes)
        return snprintf(msg, cap, "label name \"%s\" is %zu bytes, longer than the limit of %u", name, l->name_len,
                        lim->max_name_bytes),
               CAIRN_ELIMIT;
    if (!labels_name_valid(l->name, l->name_len))
        return snprintf(msg, cap, "invalid label name \"%s\" (must match [a-zA-Z_][a-zA-Z0-9_]*)", name),
               CAIRN_EINVAL;
    if (labels_name_reserved(l->name, l->name_len))
        return snprintf(msg, cap, "label name \"%s\" is reserved (names starting with __ other than __name__)",
                        name),
               CAIRN_EINVAL;
    if (lim && lim->max_value_bytes && l->value_len > lim->max_value_bytes)
        return snprintf(msg, cap, "value of label \"%s\" is %zu bytes, longer than the limit of %u", name,
                        l->value_len, lim->max_value_bytes),
               CAIRN_ELIMIT;
    if (labels_value_problem(l->value, l->value_len, l->name, l->name_len, msg, cap) != l->value_len)
        return CAIRN_EINVAL;
    return CAIRN_OK;
}

/* Bytes of a uvarint. */
static inline size_t labels_uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) v >>= 7, n++;
    return n;
}

/* Encode `kept` labels, taken from ord[] or, when ord is NULL, from the
 * non-empty labels of in[] in their order, with one reserve. */
static int labels_encode(const cairn_label *in, size_t n, const cairn_label *const *ord, size_t kept, size_t bytes,
                         buf *out, cairn_err *err)
{
    if (buf_reserve(out, bytes))
        return err_set(err, CAIRN_ENOMEM, "out of memory encoding a label set of %zu labels", kept);
    uint8_t *d = out->p + out->len;
    d += uvarint_put(d, kept);
    for (size_t i = 0, j = 0; j < kept; i++) {
        const cairn_label *l = ord ? ord[i] : &in[i];
        if (!ord && !l->value_len) continue;
        CAIRN_ASSERT(i < (ord ? kept : n));
        d += uvarint_put(d, l->name_len);
        memcpy(d, l->name, l->name_len), d += l->name_len;
        d += uvarint_put(d, l->value_len);
        memcpy(d, l->value, l->value_len), d += l->value_len;
        j++;
    }
    out->len = (size_t)(d - out->p);
    CAIRN_ASSERT(out->len <= out->cap);
    return CAIRN_OK;
}

/*
 * The common case costs one pass: every label passes labels_ok(), and the set
 * arrives already in canonical order (Prometheus sends labels sorted, and
 * ingest_series() sorts them), so it is encoded as it stands, with no index
 * array, no sort and no duplicate scan (strictly increasing names cannot
 * repeat). Anything else takes the general path below, which also builds
 * every message; the messages do not depend on the path taken.
 */
static int labels_canon_impl(const cairn_label *in, size_t n, const labels_limits *lim, int checked, buf *out,
                             cairn_err *err)
{
    char what[200];
    size_t kept = 0, bytes = 0;
    int sorted = 1;
    const cairn_label *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const cairn_label *l = &in[i];
        int ok;
        if (checked) {
            /* names and values were validated by the caller; only the limits remain */
            ok = !(lim && ((lim->max_name_bytes && l->name_len > lim->max_name_bytes) ||
                           (lim->max_value_bytes && l->value_len > lim->max_value_bytes)));
            CAIRN_ASSERT(!ok || labels_ok(l, lim));
        } else {
            ok = labels_ok(l, lim);
        }
        if (!ok) {
            int rc = labels_check_one(l, lim, what, sizeof what);
            if (rc) return labels_fail(err, rc, in, n, what);
        }
        if (!l->value_len) continue;
        kept++;
        bytes += labels_uvarint_len(l->name_len) + l->name_len + labels_uvarint_len(l->value_len) + l->value_len;
        if (prev && sorted && labels_cmp_names(prev, l) >= 0) sorted = 0;
        prev = l;
    }
    if (kept == 0) return labels_fail(err, CAIRN_EINVAL, in, n, "empty label set (no label with a value)");
    if (lim && lim->max_labels && kept > lim->max_labels) {
        snprintf(what, sizeof what, "%zu labels, more than the limit of %u", kept, lim->max_labels);
        return labels_fail(err, CAIRN_ELIMIT, in, n, what);
    }
    bytes += labels_uvarint_len(kept);
    if (sorted) return labels_encode(in, n, NULL, kept, bytes, out, err);

    const cairn_label *stack[LABELS_STACK];
    const cairn_label **ord = stack;
    if (kept > LABELS_STACK) {
        ord = mem_alloc(kept * sizeof *ord);
        if (!ord) return err_set(err, CAIRN_ENOMEM, "out of memory sorting a label set of %zu labels", kept);
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (in[i].value_len) ord[j++] = &in[i];
    if (kept <= 16) { /* nearly sorted, small: insertion sort beats qsort's calls */
        for (size_t i = 1; i < kept; i++) {
            const cairn_label *t = ord[i];
            size_t j = i;
            while (j > 0 && labels_cmp_names(ord[j - 1], t) > 0) ord[j] = ord[j - 1], j--;
            ord[j] = t;
        }
    } else {
        qsort(ord, kept, sizeof *ord, labels_cmp_ptr);
    }

    int rc = CAIRN_OK;
    for (size_t i = 1; i < kept; i++) {
        if (labels_cmp_names(ord[i - 1], ord[i]) == 0) {
            char a[40], b[40];
            size_t pa = 0, pb = 0;
            labels_put_escaped(a, sizeof a, &pa, ord[i - 1]->value, ord[i - 1]->value_len);
            labels_put_escaped(b, sizeof b, &pb, ord[i]->value, ord[i]->value_len);
            a[pa] = b[pb] = '\0';
            int nl = ord[i]->name_len > 30 ? 30 : (int)ord[i]->name_len;
            snprintf(what, sizeof what, "duplicate label name \"%.*s\" (%.*s=\"%s\" and %.*s=\"%s\")", nl,
                     ord[i]->name, nl, ord[i]->name, a, nl, ord[i]->name, b);
            rc = labels_fail(err, CAIRN_EINVAL, in, n, what);
            goto out;
        }
    }
    rc = labels_encode(in, n, ord, kept, bytes, out, err);
out:
    if (ord != stack) mem_free(ord, kept * sizeof *ord);
    return rc;
}

int labels_canon(const cairn_label *in, size_t n, const labels_limits *lim, buf *out, cairn_err *err)
{
    return labels_canon_impl(in, n, lim, 0, out, err);
}

int labels_canon_checked(const cairn_label *in, size_t n, const labels_limits *lim, buf *out, cairn_err *err)
{
    return labels_canon_impl(in, n, lim, 1, out, err);
}

uint64_t labels_hash(const uint8_t *canon, size_t len) { return XXH3_64bits(canon, len); }

/* ---- readers -------------------------------------------------------------------------- */

int labels_it_init(labels_it *it, const uint8_t *canon, size_t len)
{
    rd_init(&it->r, canon, len);
    if (rd_uvarint(&it->r, &it->left)) return CAIRN_ECORRUPT;
    /* every label takes at least two bytes (two zero lengths) */
    if (it->left > rd_left(&it->r) / 2) return CAIRN_ECORRUPT;
    return CAIRN_OK;
}

int labels_it_next(labels_it *it, cairn_label *out)
{
    if (it->left == 0) return 0;
    const uint8_t *n, *v;
    size_t nn, vn;
    if (rd_str(&it->r, &n, &nn) || rd_str(&it->r, &v, &vn)) return CAIRN_ECORRUPT;
    it->left--;
    out->name = (const char *)n;
    out->name_len = nn;
    out->value = (const char *)v;
    out->value_len = vn;
    return 1;
}

int labels_count(const uint8_t *canon, size_t len)
{
    labels_it it;
    cairn_label l;
    int rc, n = 0;
    if (labels_it_init(&it, canon, len)) return CAIRN_ECORRUPT;
    while ((rc = labels_it_next(&it, &l)) == 1) n++;
    if (rc < 0 || rd_left(&it.r) != 0) return CAIRN_ECORRUPT;
    return n;
}

int labels_decode(const uint8_t *canon, size_t len, cairn_label *out, size_t cap)
{
    labels_it it;
    cairn_label l;
    int rc;
    size_t n = 0;
    if (labels_it_init(&it, canon, len)) return CAIRN_ECORRUPT;
    if (it.left > cap) return CAIRN_ELIMIT;
    while ((rc = labels_it_next(&it, &l)) == 1) out[n++] = l;
    if (rc < 0 || rd_left(&it.r) != 0) return CAIRN_ECORRUPT;
    return (int)n;
}

int labels_get(const uint8_t *canon, size_t len, const char *name, size_t name_len, const char **v, size_t *vn)
{
    labels_it it;
    cairn_label l;
    int rc;
    if (labels_it_init(&it, canon, len)) return CAIRN_ECORRUPT;
    while ((rc = labels_it_next(&it, &l)) == 1) {
        if (l.name_len == name_len && memcmp(l.name, name, name_len) == 0) {
            *v = l.value;
            *vn = l.value_len;
            return CAIRN_OK;
        }
    }
    return rc < 0 ? CAIRN_ECORRUPT : CAIRN_NOTFOUND;
}

size_t labels_format(const uint8_t *canon, size_t len, char *dst, size_t cap)
{
    if (cap == 0) return 0;
    size_t pos = 0;
    labels_it it;
    cairn_label l;
    int rc = labels_it_init(&it, canon, len);
    labels_put_raw(dst, cap, &pos, "{");
    for (int i = 0; !rc && (rc = labels_it_next(&it, &l)) == 1; i++) {
        if (i) labels_put_raw(dst, cap, &pos, ", ");
        labels_put_escaped(dst, cap, &pos, l.name, l.name_len);
        labels_put_raw(dst, cap, &pos, "=\"");
        labels_put_escaped(dst, cap, &pos, l.value, l.value_len);
        labels_put_raw(dst, cap, &pos, "\"");
        rc = 0;
    }
    labels_put_raw(dst, cap, &pos, rc < 0 ? "<corrupt>}" : "}");
    if (pos + 1 >= cap && cap > 4) memcpy(dst + cap - 4, "...", 3), pos = cap - 1;
    dst[pos] = '\0';
    return pos;
}
