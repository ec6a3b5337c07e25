/*
 * fn.c — PromQL function calls: dispatch, instant-vector functions, label
 * functions, histogram_quantile over classic buckets, date functions.
 *
 * Dispatch. A call whose argument list holds a range vector (a matrix
 * selector or a subquery) goes to window.c after its range argument has been
 * streamed once (eval_range_each) and its scalar arguments evaluated for the
 * whole grid. Everything else evaluates its arguments as whole-grid values
 * and maps them here, row by row and step by step.
 *
 * Semantics are Prometheus 3.x's functions.go for float samples; the notes
 * worth knowing:
 *   - math functions, clamp*, round, timestamp, date functions and
 *     histogram_quantile drop the metric name (delayed, see eval.c); sort,
 *     sort_desc, label_replace and label_join keep it, and label_replace or
 *     label_join writing __name__ cancels a pending drop;
 *   - clamp's min/max use Go's math.Min/Max NaN and ±Inf rules, not C's
 *     fmin/fmax, which ignore NaN;
 *   - label_replace anchors the regex as ^(?s:re)$ and expands $1, ${1},
 *     $name, ${name} like Go's Regexp.Expand, all through engine/match.h
 *     (RE2 syntax, so `\d`, `(?i)` and named groups work as in Prometheus);
 *   - histogram_quantile groups `le` buckets by every other label
 *     (including the name, which is dropped afterwards), sorts, merges equal
 *     bounds, forces monotonicity (ignoring relative deltas below 1e-12),
 *     interpolates linearly, and returns NaN without a +Inf bucket or
 *     observations, ±Inf for q outside [0, 1];
 *   - date functions use proleptic Gregorian UTC civil dates.
 * Native-histogram functions (histogram_count, _sum, _avg, _stddev,
 * _stdvar, _fraction) return nothing: cairn stores no native histograms.
 *
 * Threads: none. Memory: the query arena; regex state is freed before
 * returning.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "eval_int.h"
#include "labels.h"
#include "match.h"
#include "mem.h"

#define FN_NAME "__name__"
#define FN_NAME_LEN 8

/* ---- numeric helpers ---------------------------------------------------------- */

static int fn_dbl_nan_first(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    int xn = isnan(x), yn = isnan(y);
    if (xn || yn) return yn - xn;
    return x < y ? -1 : x > y ? 1 : 0;
}

double fn_quantile(double qv, double *vals, size_t n)
{
    if (!n || isnan(qv)) return NAN;
    if (qv < 0) return -INFINITY;
    if (qv > 1) return INFINITY;
    qsort(vals, n, sizeof *vals, fn_dbl_nan_first);
    double nn = (double)n;
    double rank = qv * (nn - 1);
    double lo = fmax(0, floor(rank));
    double hi = fmin(nn - 1, lo + 1);
    double w = rank - floor(rank);
    return vals[(size_t)lo] * (1 - w) + vals[(size_t)hi] * w;
}

/* Go's math.Max / math.Min special cases. */
static double fn_go_max(double x, double y)
{
    if (isinf(x) && x > 0) return x;
    if (isinf(y) && y > 0) return y;
    if (isnan(x) || isnan(y)) return NAN;
    if (x == 0 && x == y) return signbit(x) ? y : x;
    return x > y ? x : y;
}

static double fn_go_min(double x, double y)
{
    if (isinf(x) && x < 0) return x;
    if (isinf(y) && y < 0) return y;
    if (isnan(x) || isnan(y)) return NAN;
    if (x == 0 && x == y) return signbit(x) ? x : y;
    return x < y ? x : y;
}

static int fn_nomem(eval_q *q) { return err_set(q->err, CAIRN_ENOMEM, "out of memory in function evaluation"); }

static const ast_node *fn_unparen(const ast_node *n)
{
    while (n && n->kind == AST_PAREN) n = n->u.paren.expr;
    return n;
}

static int fn_new_vector(eval_q *q, val *out, size_t rows, size_t steps)
{
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = steps;
    out->s = arena_alloc(q->ar, (rows ? rows : 1) * sizeof *out->s);
    return out->s ? CAIRN_OK : fn_nomem(q);
}

static int fn_new_scalar(eval_q *q, val *out, size_t steps)
{
    memset(out, 0, sizeof *out);
    out->type = VAL_SCALAR;
    out->n_steps = steps;
    out->scalar = arena_alloc(q->ar, (steps ? steps : 1) * sizeof *out->scalar);
    return out->scalar ? CAIRN_OK : fn_nomem(q);
}

/* ---- simple per-value functions ----------------------------------------------------- */

typedef enum fn_simple {
    S_ABS, S_CEIL, S_FLOOR, S_EXP, S_SQRT, S_LN, S_LOG2, S_LOG10, S_SIN, S_COS, S_TAN, S_ASIN, S_ACOS, S_ATAN,
    S_SINH, S_COSH, S_TANH, S_ASINH, S_ACOSH, S_ATANH, S_RAD, S_DEG, S_SGN, S__COUNT
} fn_simple;

static const char *const fn_simple_names[S__COUNT] = {
    "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "rad", "deg", "sgn",
};

static double fn_simple_apply(fn_simple f, double x)
{
    switch (f) {
    case S_ABS: return fabs(x);
    case S_CEIL: return ceil(x);
    case S_FLOOR: return floor(x);
    case S_EXP: return exp(x);
    case S_SQRT: return sqrt(x);
    case S_LN: return log(x);
    case S_LOG2: return log2(x);
    case S_LOG10: return log10(x);
    case S_SIN: return sin(x);
    case S_COS: return cos(x);
    case S_TAN: return tan(x);
    case S_ASIN: return asin(x);
    case S_ACOS: return acos(x);
    case S_ATAN: return atan(x);
    case S_SINH: return sinh(x);
    case S_COSH: return cosh(x);
    case S_TANH: return tanh(x);
    case S_ASINH: return asinh(x);
    case S_ACOSH: return acosh(x);
    case S_ATANH: return atanh(x);
    case S_RAD: return x * M_PI / 180;
    case S_DEG: return x * 180 / M_PI;
    case S_SGN: return x < 0 ? -1 : x > 0 ? 1 : x;
    default: return NAN;
    }
}

/* Map every present value of `in` through f (with per-step scalars a, b). */
typedef double (*fn_map2)(double x, double a, double b);

static int fn_map(eval_q *q, const val *in, const eval_grid *g, fn_simple sf, fn_map2 m2, const double *a,
                  const double *b, int drop, val *out)
{
    int rc = fn_new_vector(q, out, in->n, g->n);
    if (rc) return rc;
    for (size_t r = 0; r < in->n; r++) {
        double *v = val_absent_array(q->ar, g->n);
        if (!v) return fn_nomem(q);
        for (size_t i = 0; i < g->n; i++) {
            double x = in->s[r].v[i];
            if (val_absent(x)) continue;
            if (m2) {
                double y = m2(x, a ? a[i] : 0, b ? b[i] : 0);
                if (!val_absent(y)) v[i] = y;
            } else {
                v[i] = fn_simple_apply(sf, x);
            }
        }
        out->s[out->n++] = (val_series){in->s[r].ls, v, (uint8_t)(drop || in->s[r].drop_name)};
    }
    return CAIRN_OK;
}

static double fn_clamp(double x, double lo, double hi)
{
    if (hi < lo) return val_absent_value();
    return fn_go_max(lo, fn_go_min(hi, x));
}
static double fn_clamp_min(double x, double lo, double unused)
{
    (void)unused;
    return fn_go_max(lo, fn_go_min(INFINITY, x));
}
static double fn_clamp_max(double x, double hi, double unused)
{
    (void)unused;
    return fn_go_max(-INFINITY, fn_go_min(hi, x));
}
static double fn_round(double x, double to, double unused)
{
    (void)unused;
    double inv = 1.0 / to;
    return floor(x * inv + 0.5) / inv;
}

/* ---- dates ------------------------------------------------------------------------- */

typedef struct fn_civil {
    int64_t year;
    int month, day, yday, wday, hour, minute;
} fn_civil;

static int64_t fn_floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

static int fn_is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Civil date from Unix seconds (Howard Hinnant's days-from-civil inverse). */
static fn_civil fn_civil_of(int64_t secs)
{
    fn_civil c;
    int64_t days = fn_floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    c.hour = (int)(sod / 3600);
    c.minute = (int)(sod % 3600 / 60);
    c.wday = (int)(((days % 7) + 7 + 4) % 7);
    int64_t z = days + 719468;
    int64_t era = fn_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = y + (c.month <= 2);
    static const int cum[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    c.yday = cum[c.month - 1] + c.day + (c.month > 2 && fn_is_leap(c.year));
    return c;
}

static double fn_date_part(const char *name, int64_t secs)
{
    fn_civil c = fn_civil_of(secs);
    if (!strcmp(name, "year")) return (double)c.year;
    if (!strcmp(name, "month")) return c.month;
    if (!strcmp(name, "day_of_month")) return c.day;
    if (!strcmp(name, "day_of_year")) return c.yday;
    if (!strcmp(name, "day_of_week")) return c.wday;
    if (!strcmp(name, "hour")) return c.hour;
    if (!strcmp(name, "minute")) return c.minute;
    /* days_in_month */
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return dim[c.month - 1] + (c.month == 2 && fn_is_leap(c.year));
}

/* Go's int64(f) for a float64 seconds value (amd64: out of range gives INT64_MIN). */
static int64_t fn_go_int64(double f)
{
    if (isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)f;
}

static int fn_is_date(const char *n)
{
    static const char *const d[] = {"year", "month", "day_of_month", "day_of_year", "day_of_week",
                                    "hour", "minute", "days_in_month"};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (!strcmp(n, d[i])) return 1;
    return 0;
}

/* ---- label functions --------------------------------------------------------------- */

static const ast_str *fn_str_arg(const ast_node *call, size_t i)
{
    const ast_node *a = fn_unparen(call->u.call.args[i]);
    return a && a->kind == AST_STRING ? &a->u.str : NULL;
}

static int fn_label_replace(eval_q *q, const ast_node *call, const eval_grid *g, val *out)
{
    const ast_str *dst = fn_str_arg(call, 1), *repl = fn_str_arg(call, 2), *src = fn_str_arg(call, 3),
                  *re = fn_str_arg(call, 4);
    if (!dst || !repl || !src || !re) return err_set(q->err, CAIRN_EINVAL, "label_replace needs string arguments");
    if (!labels_name_utf8_valid(dst->p, dst->len))
        return err_set(q->err, CAIRN_EINVAL, "invalid destination label name in label_replace(): %.*s", (int)dst->len,
                       dst->p);
    match_re *rx = NULL;
    RETURN_IF_ERR(match_re_compile_as(&rx, re->p, re->len, MATCH_RE_ANCHORED | MATCH_RE_CAPTURE,
                                      "regular expression in label_replace():", q->err));
    val in;
    buf b;
    buf_init(&b);
    int rc = eval_node(q, call->u.call.args[0], g, &in);
    if (!rc) rc = fn_new_vector(q, out, in.n, g->n);
    for (size_t r = 0; !rc && r < in.n; r++) {
        val_series row = in.s[r];
        size_t sl = 0;
        const char *sv = val_lset_get(row.ls, src->p, src->len, &sl);
        if (!sv) sv = "", sl = 0;
        buf_reset(&b);
        int m = match_re_expand(rx, sv, sl, repl->p, repl->len, &b);
        if (m < 0) {
            rc = m == CAIRN_ENOMEM ? fn_nomem(q) : err_set(q->err, m, "label_replace(): regex failed");
            break;
        }
        if (m == 1) {
            char *res = arena_strdup(q->ar, b.len ? (const char *)b.p : "", b.len); /* the label set borrows it */
            if (!res || val_lset_set(q->ar, row.ls, dst->p, dst->len, res, b.len, &row.ls)) {
                rc = fn_nomem(q);
                break;
            }
            if (dst->len == FN_NAME_LEN && !memcmp(dst->p, FN_NAME, FN_NAME_LEN)) row.drop_name = 0;
        }
        out->s[out->n++] = row;
    }
    buf_free(&b);
    match_re_free(rx);
    if (rc) return rc;
    return eval_merge_rows(q, out);
}

static int fn_label_join(eval_q *q, const ast_node *call, const eval_grid *g, val *out)
{
    size_t na = call->u.call.n_args;
    const ast_str *dst = fn_str_arg(call, 1), *sep = fn_str_arg(call, 2);
    if (!dst || !sep) return err_set(q->err, CAIRN_EINVAL, "label_join needs string arguments");
    for (size_t i = 3; i < na; i++) {
        const ast_str *s = fn_str_arg(call, i);
        if (!s) return err_set(q->err, CAIRN_EINVAL, "label_join needs string arguments");
        if (!labels_name_utf8_valid(s->p, s->len))
            return err_set(q->err, CAIRN_EINVAL, "invalid source label name in label_join(): %.*s", (int)s->len, s->p);
    }
    if (!labels_name_utf8_valid(dst->p, dst->len))
        return err_set(q->err, CAIRN_EINVAL, "invalid destination label name in label_join(): %.*s", (int)dst->len,
                       dst->p);
    val in;
    int rc = eval_node(q, call->u.call.args[0], g, &in);
    if (rc) return rc;
    if ((rc = fn_new_vector(q, out, in.n, g->n))) return rc;
    for (size_t r = 0; r < in.n; r++) {
        val_series row = in.s[r];
        size_t len = 0;
        for (size_t i = 3; i < na; i++) {
            const ast_str *s = fn_str_arg(call, i);
            size_t vl = 0;
            if (val_lset_get(row.ls, s->p, s->len, &vl)) len += vl;
            if (i > 3) len += sep->len;
        }
        char *jb = arena_alloc(q->ar, len + 1);
        if (!jb) return fn_nomem(q);
        size_t o = 0;
        for (size_t i = 3; i < na; i++) {
            const ast_str *s = fn_str_arg(call, i);
            if (i > 3) memcpy(jb + o, sep->p, sep->len), o += sep->len;
            size_t vl = 0;
            const char *v = val_lset_get(row.ls, s->p, s->len, &vl);
            if (v) memcpy(jb + o, v, vl), o += vl;
        }
        jb[o] = 0;
        if (val_lset_set(q->ar, row.ls, dst->p, dst->len, jb, o, &row.ls)) return fn_nomem(q);
        if (dst->len == FN_NAME_LEN && !memcmp(dst->p, FN_NAME, FN_NAME_LEN)) row.drop_name = 0;
        out->s[out->n++] = row;
    }
    return eval_merge_rows(q, out);
}

/* ---- histogram_quantile (classic buckets) ------------------------------------------ */

typedef struct fn_bucket {
    double upper, count;
} fn_bucket;

static int fn_bucket_cmp(const void *a, const void *b)
{
    double x = ((const fn_bucket *)a)->upper, y = ((const fn_bucket *)b)->upper;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Prometheus' almost.Equal. */
static int fn_almost_equal(double a, double b, double eps)
{
    const double min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b)) return 1;
    if (a == b) return 1;
    double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

static double fn_bucket_quantile(double qv, fn_bucket *b, size_t n)
{
    if (isnan(qv)) return NAN;
    if (qv < 0) return -INFINITY;
    if (qv > 1) return INFINITY;
    qsort(b, n, sizeof *b, fn_bucket_cmp);
    if (!(isinf(b[n - 1].upper) && b[n - 1].upper > 0)) return NAN;
    size_t w = 0;
    for (size_t i = 1; i < n; i++) {
        if (b[i].upper == b[w].upper) b[w].count += b[i].count;
        else b[++w] = b[i];
    }
    n = w + 1;
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev) continue;
        if (fn_almost_equal(prev, cur, 1e-12)) {
            b[i].count = prev;
            continue;
        }
        if (cur < prev) {
            b[i].count = prev;
            continue;
        }
        prev = cur;
    }
    if (n < 2) return NAN;
    double obs = b[n - 1].count;
    if (obs == 0) return NAN;
    double rank = qv * obs;
    size_t k = 0;
    while (k < n - 1 && !(b[k].count >= rank)) k++;
    if (k == n - 1) return b[n - 2].upper;
    if (k == 0 && b[0].upper <= 0) return b[0].upper;
    double start = 0, end = b[k].upper, count = b[k].count;
    if (k > 0) {
        start = b[k - 1].upper;
        count -= b[k - 1].count;
        rank -= b[k - 1].count;
    }
    return start + (end - start) * (rank / count);
}

static int fn_histogram_quantile(eval_q *q, const val *qs, const val *in, const eval_grid *g, val *out)
{
    static const char *le_name[1] = {"le"};
    static const size_t le_len[1] = {2};
    int rc = fn_new_vector(q, out, in->n, g->n);
    if (rc) return rc;
    int32_t *grp = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *grp);
    double *upper = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *upper);
    fn_bucket *bk = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *bk);
    if (!grp || !upper || !bk) return fn_nomem(q);
    val_map m;
    if (val_map_init(&m, q->ar, in->n)) return fn_nomem(q);
    for (size_t r = 0; r < in->n; r++) {
        grp[r] = -1;
        size_t ll = 0;
        const char *le = val_lset_get(in->s[r].ls, "le", 2, &ll);
        if (!le) continue;
        char tmp[64];
        if (ll >= sizeof tmp) continue;
        memcpy(tmp, le, ll);
        tmp[ll] = 0;
        char *end;
        double ub = strtod(tmp, &end);
        if (end == tmp || *end) continue;
        upper[r] = ub;
        uint64_t h = val_lset_hash_filter(in->s[r].ls, le_name, le_len, 1, 0);
        size_t cur = 0;
        int32_t gi;
        while ((gi = val_map_next(&m, h, &cur)) >= 0)
            if (val_lset_eq_filter(out->s[gi].ls, in->s[r].ls, le_name, le_len, 1, 0)) break;
        if (gi < 0) {
            val_lset key;
            if (val_lset_filter(q->ar, in->s[r].ls, le_name, le_len, 1, 0, &key)) return fn_nomem(q);
            double *v = val_absent_array(q->ar, g->n);
            if (!v) return fn_nomem(q);
            gi = (int32_t)out->n;
            out->s[out->n++] = (val_series){key, v, 1};
            if (val_map_put(&m, h, gi)) return fn_nomem(q);
        }
        grp[r] = gi;
    }
    for (size_t gi = 0; gi < out->n; gi++) {
        for (size_t i = 0; i < g->n; i++) {
            size_t nb = 0;
            for (size_t r = 0; r < in->n; r++)
                if (grp[r] == (int32_t)gi && !val_absent(in->s[r].v[i])) bk[nb++] = (fn_bucket){upper[r], in->s[r].v[i]};
            if (nb) out->s[gi].v[i] = fn_bucket_quantile(qs->scalar[i], bk, nb);
        }
        if ((rc = eval_tick(q))) return rc;
    }
    return CAIRN_OK;
}

/* ---- sorting ------------------------------------------------------------------------ */

typedef struct fn_sortkey {
    double v;
    size_t row;
    int desc;
} fn_sortkey;

static int fn_sort_cmp(const void *a, const void *b)
{
    const fn_sortkey *x = a, *y = b;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn) return xn - yn; /* NaN last either way */
    if (!xn && x->v != y->v) return (x->v < y->v) == !x->desc ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int fn_sort(eval_q *q, const val *in, const eval_grid *g, int desc, val *out)
{
    *out = *in;
    if (g->n != 1) return CAIRN_OK; /* order only means something for instant queries */
    fn_sortkey *k = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *k);
    val_series *rows = arena_alloc(q->ar, (in->n ? in->n : 1) * sizeof *rows);
    if (!k || !rows) return fn_nomem(q);
    size_t n = 0;
    for (size_t r = 0; r < in->n; r++)
        if (!val_absent(in->s[r].v[0])) k[n++] = (fn_sortkey){in->s[r].v[0], r, desc};
    qsort(k, n, sizeof *k, fn_sort_cmp);
    for (size_t i = 0; i < n; i++) rows[i] = in->s[k[i].row];
    out->s = rows;
    out->n = n;
    return CAIRN_OK;
}

/* ---- dispatch --------------------------------------------------------------------- */

/* absent_over_time: mark the steps whose window holds a sample of any series. */
typedef struct fn_absent_ctx {
    eval_q *q;
    const win_input *in;
    double *found; /* absent = no sample; 1 = some series has one */
} fn_absent_ctx;

static int fn_absent_series(void *ctx, const eval_raw *s)
{
    fn_absent_ctx *c = ctx;
    const eval_grid *g = c->in->g;
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < g->n; i++) {
        int64_t end = c->in->ends[i], start = end - c->in->range_ms;
        while (hi < s->n && s->t[hi] <= end) hi++;
        while (lo < hi && s->t[lo] <= start) lo++;
        if (lo < hi) c->found[i] = 1;
    }
    return CAIRN_OK;
}

static int fn_range_call(eval_q *q, const ast_node *call, const char *name, const eval_grid *g, val *out)
{
    size_t na = call->u.call.n_args, mi = na;
    for (size_t i = 0; i < na; i++)
        if (call->u.call.args[i]->type == AST_T_MATRIX) {
            mi = i;
            break;
        }
    if (mi == na) return err_set(q->err, CAIRN_EINVAL, "%s: expected a range vector argument", name);
    double *sargs[4] = {0};
    size_t ns = 0;
    for (size_t i = 0; i < na && ns < 4; i++) {
        if (i == mi) continue;
        val s;
        int rc = eval_node(q, call->u.call.args[i], g, &s);
        if (rc) return rc;
        if (s.type != VAL_SCALAR) return err_set(q->err, CAIRN_EINVAL, "%s: expected a scalar argument", name);
        sargs[ns++] = s.scalar;
    }
    win_input in;
    int rc = eval_range_prepare(q, call->u.call.args[mi], g, &in);
    if (rc) return rc;
    if (!strcmp(name, "absent_over_time")) {
        fn_absent_ctx c = {q, &in, val_absent_array(q->ar, g->n)};
        if (!c.found) return fn_nomem(q);
        if ((rc = eval_range_each(q, &in, fn_absent_series, &c))) return rc;
        val_lset ls;
        if ((rc = eval_absent_labels(q, call->u.call.args[mi], &ls))) return rc;
        if ((rc = fn_new_vector(q, out, 1, g->n))) return rc;
        double *v = val_absent_array(q->ar, g->n);
        if (!v) return fn_nomem(q);
        int any = 0;
        for (size_t i = 0; i < g->n; i++)
            if (val_absent(c.found[i])) v[i] = 1, any = 1;
        if (any) out->s[out->n++] = (val_series){ls, v, 0};
        return CAIRN_OK;
    }
    return win_call(q, name, &in, sargs, ns, out);
}

static int fn_eval_scalar(eval_q *q, const ast_node *n, const eval_grid *g, double **out)
{
    val s;
    int rc = eval_node(q, n, g, &s);
    if (rc) return rc;
    if (s.type != VAL_SCALAR) return err_set(q->err, CAIRN_EINVAL, "expected a scalar argument");
    *out = s.scalar;
    return CAIRN_OK;
}

int fn_call(eval_q *q, const ast_node *call, const eval_grid *g, val *out)
{
    const char *name = call->u.call.fn->name;
    size_t na = call->u.call.n_args;
    ast_node *const *args = call->u.call.args;
    int rc;
    memset(out, 0, sizeof *out);
    out->n_steps = g->n;

    if (win_is_range_fn(name) || !strcmp(name, "absent_over_time")) return fn_range_call(q, call, name, g, out);
    if (!strcmp(name, "label_replace")) return fn_label_replace(q, call, g, out);
    if (!strcmp(name, "label_join")) return fn_label_join(q, call, g, out);

    if (!strcmp(name, "time") || !strcmp(name, "pi")) {
        if ((rc = fn_new_scalar(q, out, g->n))) return rc;
        for (size_t i = 0; i < g->n; i++) out->scalar[i] = name[0] == 'p' ? M_PI : (double)eval_grid_t(g, i) / 1000.0;
        return CAIRN_OK;
    }
    if (!strcmp(name, "start") || !strcmp(name, "end") || !strcmp(name, "step") || !strcmp(name, "range")) {
        /* Experimental duration functions: the top-level query's start, end (s), step, end - start (s). */
        if ((rc = fn_new_scalar(q, out, g->n))) return rc;
        double x;
        if (!strcmp(name, "start")) x = (double)q->q_start / 1000.0;
        else if (!strcmp(name, "end")) x = (double)q->q_end / 1000.0;
        else if (!strcmp(name, "step")) x = (double)q->q_step / 1000.0;
        else x = (double)(q->q_end - q->q_start) / 1000.0;
        for (size_t i = 0; i < g->n; i++) out->scalar[i] = x;
        return CAIRN_OK;
    }
    if (!strcmp(name, "min_of") || !strcmp(name, "max_of")) {
        double *a = NULL, *b = NULL;
        if ((rc = fn_eval_scalar(q, args[0], g, &a)) || (rc = fn_eval_scalar(q, args[1], g, &b))) return rc;
        if ((rc = fn_new_scalar(q, out, g->n))) return rc;
        for (size_t i = 0; i < g->n; i++)
            out->scalar[i] = name[1] == 'i' ? fn_go_min(a[i], b[i]) : fn_go_max(a[i], b[i]);
        return CAIRN_OK;
    }
    if (!strcmp(name, "vector")) {
        double *s = NULL;
        if ((rc = fn_eval_scalar(q, args[0], g, &s))) return rc;
        if ((rc = fn_new_vector(q, out, 1, g->n))) return rc;
        double *v = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *v);
        if (!v) return fn_nomem(q);
        memcpy(v, s, g->n * sizeof *v);
        out->s[out->n++] = (val_series){{NULL, 0}, v, 0};
        return CAIRN_OK;
    }
    if (!strcmp(name, "timestamp")) {
        const ast_node *a = fn_unparen(args[0]);
        val in;
        int64_t **ts = NULL;
        if (a->kind == AST_VECTOR_SEL) rc = eval_vector_sel(q, a, g, &in, &ts);
        else rc = eval_node(q, args[0], g, &in);
        if (rc) return rc;
        if ((rc = fn_new_vector(q, out, in.n, g->n))) return rc;
        for (size_t r = 0; r < in.n; r++) {
            double *v = val_absent_array(q->ar, g->n);
            if (!v) return fn_nomem(q);
            for (size_t i = 0; i < g->n; i++)
                if (!val_absent(in.s[r].v[i])) v[i] = (double)(ts ? ts[r][i] : eval_grid_t(g, i)) / 1000.0;
            out->s[out->n++] = (val_series){in.s[r].ls, v, 1};
        }
        return CAIRN_OK;
    }
    if (!strcmp(name, "absent")) {
        val in;
        if ((rc = eval_node(q, args[0], g, &in))) return rc;
        val_lset ls;
        if ((rc = eval_absent_labels(q, args[0], &ls))) return rc;
        if ((rc = fn_new_vector(q, out, 1, g->n))) return rc;
        double *v = val_absent_array(q->ar, g->n);
        if (!v) return fn_nomem(q);
        int any = 0;
        for (size_t i = 0; i < g->n; i++) {
            int present = 0;
            for (size_t r = 0; r < in.n && !present; r++) present = !val_absent(in.s[r].v[i]);
            if (!present) v[i] = 1, any = 1;
        }
        if (any) out->s[out->n++] = (val_series){ls, v, 0};
        return CAIRN_OK;
    }
    if (fn_is_date(name) && na == 0) {
        if ((rc = fn_new_vector(q, out, 1, g->n))) return rc;
        double *v = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *v);
        if (!v) return fn_nomem(q);
        for (size_t i = 0; i < g->n; i++) v[i] = fn_date_part(name, fn_floor_div(eval_grid_t(g, i), 1000));
        out->s[out->n++] = (val_series){{NULL, 0}, v, 0};
        return CAIRN_OK;
    }
    if (!strncmp(name, "histogram_", 10) && strcmp(name, "histogram_quantile") != 0) {
        if (!strcmp(name, "histogram_quantiles"))
            return err_set(q->err, CAIRN_EINVAL, "histogram_quantiles() is not supported");
        /* Native-histogram functions: cairn has no native histograms, so nothing matches. */
        for (size_t i = 0; i < na; i++) {
            val tmp;
            if ((rc = eval_node(q, args[i], g, &tmp))) return rc;
        }
        return fn_new_vector(q, out, 0, g->n);
    }

    /* The rest take an instant vector (first or last argument) and scalars. */
    if (!strcmp(name, "scalar")) {
        val in;
        if ((rc = eval_node(q, args[0], g, &in))) return rc;
        if ((rc = fn_new_scalar(q, out, g->n))) return rc;
        for (size_t i = 0; i < g->n; i++) {
            size_t c = 0;
            double x = NAN;
            for (size_t r = 0; r < in.n && c < 2; r++)
                if (!val_absent(in.s[r].v[i])) x = in.s[r].v[i], c++;
            out->scalar[i] = c == 1 ? x : NAN;
        }
        return CAIRN_OK;
    }
    if (!strcmp(name, "histogram_quantile")) {
        val qs, in;
        if ((rc = eval_node(q, args[0], g, &qs)) || (rc = eval_node(q, args[1], g, &in))) return rc;
        return fn_histogram_quantile(q, &qs, &in, g, out);
    }
    val in;
    if (!na) return err_set(q->err, CAIRN_EINVAL, "function %s() is not supported", name);
    if ((rc = eval_node(q, args[0], g, &in))) return rc;
    if (in.type != VAL_VECTOR) return err_set(q->err, CAIRN_EINVAL, "%s: expected an instant vector", name);
    if (!strcmp(name, "sort")) return fn_sort(q, &in, g, 0, out);
    if (!strcmp(name, "sort_desc")) return fn_sort(q, &in, g, 1, out);
    if (fn_is_date(name)) {
        if ((rc = fn_new_vector(q, out, in.n, g->n))) return rc;
        for (size_t r = 0; r < in.n; r++) {
            double *v = val_absent_array(q->ar, g->n);
            if (!v) return fn_nomem(q);
            for (size_t i = 0; i < g->n; i++)
                if (!val_absent(in.s[r].v[i])) v[i] = fn_date_part(name, fn_go_int64(in.s[r].v[i]));
            out->s[out->n++] = (val_series){in.s[r].ls, v, 1};
        }
        return CAIRN_OK;
    }
    for (int i = 0; i < S__COUNT; i++)
        if (!strcmp(name, fn_simple_names[i])) return fn_map(q, &in, g, (fn_simple)i, NULL, NULL, NULL, 1, out);
    double *a = NULL, *b = NULL;
    if (na > 1 && (rc = fn_eval_scalar(q, args[1], g, &a))) return rc;
    if (na > 2 && (rc = fn_eval_scalar(q, args[2], g, &b))) return rc;
    if (!strcmp(name, "clamp")) return fn_map(q, &in, g, S__COUNT, fn_clamp, a, b, 1, out);
    if (!strcmp(name, "clamp_min")) return fn_map(q, &in, g, S__COUNT, fn_clamp_min, a, NULL, 1, out);
    if (!strcmp(name, "clamp_max")) return fn_map(q, &in, g, S__COUNT, fn_clamp_max, a, NULL, 1, out);
    if (!strcmp(name, "round")) {
        if (!a) {
            a = arena_alloc(q->ar, (g->n ? g->n : 1) * sizeof *a);
            if (!a) return fn_nomem(q);
            for (size_t i = 0; i < g->n; i++) a[i] = 1;
        }
        return fn_map(q, &in, g, S__COUNT, fn_round, a, NULL, 1, out);
    }
    return err_set(q->err, CAIRN_EINVAL, "function %s() is not supported", name);
}
