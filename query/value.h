/*
 * value — the column-oriented values a query evaluates to.
 *
 * A query is evaluated over a grid of steps (start, end, step; an instant
 * query is a grid of one). Every intermediate result covers the whole grid at
 * once, so an operator runs one loop over series and steps instead of one
 * evaluation per step:
 *   - VAL_SCALAR: one double per step (always present);
 *   - VAL_VECTOR: rows of (labels, one double per step); a step where the
 *     row has no sample holds VAL_ABSENT (see below);
 *   - VAL_MATRIX: a range vector as returned by `x[5m]` at the top of an
 *     instant query: rows of (labels, raw points);
 *   - VAL_STRING: a string literal.
 * LogQL will add its stream values next to these.
 *
 * Absent steps are marked with one NaN bit pattern, 0x7ff0000000000002 (the
 * Prometheus staleness marker). It can never be a computed value: stale
 * markers are removed when samples are selected, and IEEE arithmetic only
 * produces quiet NaNs, while this pattern is a signalling one. Test with
 * val_absent(), never with isnan().
 *
 * Label sets are sorted arrays of cairn_label living in the query arena
 * (strings included); they are never modified in place, only rebuilt. Rows
 * carry `drop_name`: Prometheus 3.x "delayed __name__ removal", i.e. the
 * metric name stays on the row (so label_replace and `by (__name__)` can
 * still see it) and is removed when the query finishes.
 *
 * Hashing: val_lset_hash* is a 64-bit FNV-1a variant over (name, 0xff,
 * value, 0xff) of the chosen labels; equal label subsets give equal hashes,
 * and callers confirm candidates with val_lset_eq* because hashes collide.
 * val_map is a small open-addressing multimap from such a hash to row
 * indexes; every lookup walks all entries with the same hash.
 *
 * Nothing here is thread-safe or frees memory: everything lives in the
 * arena of one query.
 */
#ifndef CAIRN_VALUE_H
#define CAIRN_VALUE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "cairn.h"
#include "mem.h"

#define VAL_ABSENT_BITS 0x7ff0000000000002ULL
#define VAL_STALE_BITS 0x7ff0000000000002ULL

static inline int val_absent(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u == VAL_ABSENT_BITS;
}

static inline double val_absent_value(void)
{
    uint64_t u = VAL_ABSENT_BITS;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* A sample is a stale marker exactly when its bits are 0x7ff0000000000002. */
static inline int val_is_stale(double v) { return val_absent(v); }

typedef enum val_type { VAL_NONE = 0, VAL_SCALAR, VAL_VECTOR, VAL_MATRIX, VAL_STRING } val_type;

/* A label set: sorted by name, names unique, in the arena. */
typedef struct val_lset {
    const cairn_label *v;
    size_t n;
} val_lset;

/* One row of a VAL_VECTOR. */
typedef struct val_series {
    val_lset ls;
    double *v;         /* [n_steps]; VAL_ABSENT where there is no sample */
    uint8_t drop_name; /* remove __name__ when the query finishes */
} val_series;

/* One series of a VAL_MATRIX (range vector). */
typedef struct val_range {
    val_lset ls;
    int64_t *t;
    double *v;
    size_t n;
    uint8_t drop_name;
} val_range;

typedef struct val {
    val_type type;
    size_t n_steps;
    double *scalar;  /* VAL_SCALAR: [n_steps] */
    val_series *s;   /* VAL_VECTOR rows */
    size_t n;        /* number of rows (VECTOR) or series (MATRIX) */
    val_range *r;    /* VAL_MATRIX series */
    const char *str; /* VAL_STRING */
    size_t str_len;
} val;

/* ---- label sets ---------------------------------------------------------------- */

/* Value of label `name` (NULL if absent; *len set when found). */
const char *val_lset_get(val_lset ls, const char *name, size_t name_len, size_t *len);
/* Prometheus labels.Compare order: by name, then value, label by label; shorter first. */
int val_lset_cmp(val_lset a, val_lset b);
int val_lset_eq(val_lset a, val_lset b);
/* Copy of `ls` with label `name` set to `value` (removed when value_len == 0). NULL on OOM. */
int val_lset_set(arena *ar, val_lset ls, const char *name, size_t name_len, const char *value, size_t value_len,
                 val_lset *out);
/* Copy of `ls` without `name`. */
int val_lset_del(arena *ar, val_lset ls, const char *name, size_t name_len, val_lset *out);
/* Keep only the labels named in `names` (keep=1) or drop them (keep=0).
 * `names` need not be sorted. The result points into `ls`' strings. */
int val_lset_filter(arena *ar, val_lset ls, const char *const *names, const size_t *name_lens, size_t n_names, int keep,
                    val_lset *out);
/* Deep copy of an arbitrary (unsorted, possibly borrowed) label array: sorts it. */
int val_lset_copy(arena *ar, const cairn_label *ls, size_t n, val_lset *out);
/* Hash of the whole set. */
uint64_t val_lset_hash(val_lset ls);
/* Hash of the subset chosen as in val_lset_filter (without copying). */
uint64_t val_lset_hash_filter(val_lset ls, const char *const *names, const size_t *name_lens, size_t n_names, int keep);
/* Equality of the subsets chosen as in val_lset_filter. */
int val_lset_eq_filter(val_lset a, val_lset b, const char *const *names, const size_t *name_lens, size_t n_names,
                       int keep);
/* "{a=\"b\", c=\"d\"}" with the metric name in front, into the arena (for messages). */
const char *val_lset_str(arena *ar, val_lset ls);
/* Same as val_lset_str but into a caller buffer (truncated, NUL-terminated). */
void val_lset_format(val_lset ls, char *dst, size_t cap);

/* ---- hash multimap ---------------------------------------------------------------- */

typedef struct val_map {
    uint64_t *h;
    int32_t *idx; /* -1 = empty */
    size_t cap, n;
    arena *ar;
} val_map;

int val_map_init(val_map *m, arena *ar, size_t expect);
/* Add (h -> idx). CAIRN_OK or CAIRN_ENOMEM. */
int val_map_put(val_map *m, uint64_t h, int32_t idx);
/* Iterate the indexes stored under `h`: start with *cursor = 0; returns -1 at the end. */
int32_t val_map_next(const val_map *m, uint64_t h, size_t *cursor);

/* ---- budgets ------------------------------------------------------------------------ */

/* cairn_query_budget (include/cairn.h) is a mem_budget; defined here so the
 * API layer can bound its own query arenas (LogQL) with the same budget. */
struct cairn_query_budget {
    mem_budget b;
};

/* When `rc` is CAIRN_ENOMEM because the query arena hit its budget
 * (arena_set_budget), replace the error with CAIRN_ELIMIT and a message a
 * person can act on; return the (possibly new) code. Otherwise return rc. */
int val_budget_error(const arena *ar, int rc, cairn_err *err);

/* ---- values ------------------------------------------------------------------------- */

/* A double array of n entries, all VAL_ABSENT. */
double *val_absent_array(arena *ar, size_t n);
/* Stable sort of VECTOR rows by label set. */
void val_sort_rows(val *v);
/* Format a float as Go's strconv.FormatFloat(f, 'f', -1, 64) (count_values). */
void val_format_float_fixed(double f, char *dst, size_t cap);
/* Shortest round-trip form as Prometheus prints sample values ("1e-07", "+Inf", "NaN"). */
void val_format_float(double f, char *dst, size_t cap);
#endif
