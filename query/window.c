/*
 * window.c — PromQL range-vector functions over sliding windows.
 *
 * Input: one series at a time, its samples in one array (loaded once for
 * the whole query by eval_range_each(), stale markers removed, then
 * dropped before the next series: peak memory is one series), and for
 * every step of the grid the end of that step's window; the window is
 * (end - range, end], left-open as in Prometheus 3.x. Because the ends never
 * decrease, two indexes (lo, hi) only move forward: each sample enters and
 * leaves the window once, so locating the windows of a whole range query
 * costs O(samples + steps) per series instead of a seek per step. The
 * function itself then looks at the samples of the window; for rate and
 * friends that is a walk for counter resets, which Prometheus does too.
 *
 * Semantics follow Prometheus' functions.go (3.x, float samples):
 *   - rate/increase/delta: extrapolatedRate — the result over the sampled
 *     interval is extrapolated to the window edges when the first/last
 *     sample is within 1.1 × the average sample spacing of them, else by
 *     half a spacing; counters are never extrapolated below zero (the
 *     "zero point" clamp) and resets add the value before the drop.
 *   - irate/idelta: the last two samples.
 *   - deriv/predict_linear: least squares with Kahan-compensated sums; a
 *     constant series has slope 0 (NaN if the constant is ±Inf).
 *   - *_over_time: Kahan sums; avg falls back to an incremental mean when
 *     the running sum would overflow; stddev/stdvar use Welford's update.
 *   - last_over_time and first_over_time keep the metric name; every other
 *     function drops it (delayed, see eval.c).
 * absent_over_time is not per series (it reports the windows where no
 * series has samples) and lives in fn.c on top of the same input.
 *
 * Threads: none. Memory: output rows in the query arena; a scratch array for
 * quantiles, also in the arena, grown to the longest series.
 */
#include <math.h>
#include <string.h>

#include "err.h"
#include "eval_int.h"

typedef enum win_fn {
    W_RATE, W_INCREASE, W_DELTA, W_IRATE, W_IDELTA, W_CHANGES, W_RESETS, W_DERIV, W_PREDICT_LINEAR,
    W_AVG, W_MIN, W_MAX, W_SUM, W_COUNT, W_LAST, W_FIRST, W_STDDEV, W_STDVAR, W_QUANTILE, W_PRESENT, W_MAD,
    W_TS_FIRST, W_TS_LAST, W_TS_MIN, W_TS_MAX, W_DES, W__COUNT
} win_fn;

static const char *const win_names[W__COUNT] = {
    "rate", "increase", "delta", "irate", "idelta", "changes", "resets", "deriv", "predict_linear",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
    "first_over_time", "stddev_over_time", "stdvar_over_time", "quantile_over_time", "present_over_time",
    "mad_over_time", "ts_of_first_over_time", "ts_of_last_over_time", "ts_of_min_over_time",
    "ts_of_max_over_time", "double_exponential_smoothing",
};

static int win_lookup(const char *name)
{
    for (int i = 0; i < W__COUNT; i++)
        if (!strcmp(win_names[i], name)) return i;
    return -1;
}

int win_is_range_fn(const char *name) { return win_lookup(name) >= 0; }

/* extrapolatedRate for one window [t, v) of n >= 2 samples. */
static double win_extrapolated(const int64_t *t, const double *v, size_t n, int64_t range_start, int64_t range_end,
                               int64_t range_ms, int is_counter, int is_rate)
{
    double result = v[n - 1] - v[0];
    if (is_counter)
        for (size_t j = 1; j < n; j++)
            if (v[j] < v[j - 1]) result += v[j - 1];
    double to_start = (double)(t[0] - range_start) / 1000.0;
    double to_end = (double)(range_end - t[n - 1]) / 1000.0;
    double sampled = (double)(t[n - 1] - t[0]) / 1000.0;
    double avg_gap = sampled / (double)(n - 1);
    double threshold = avg_gap * 1.1;
    if (to_start >= threshold) to_start = avg_gap / 2;
    if (is_counter) {
        double to_zero = to_start;
        if (result > 0 && v[0] >= 0) to_zero = sampled * (v[0] / result);
        if (to_zero < to_start) to_start = to_zero;
    }
    if (to_end >= threshold) to_end = avg_gap / 2;
    double factor = (sampled + to_start + to_end) / sampled;
    if (is_rate) factor /= (double)range_ms / 1000.0;
    return result * factor;
}

/* Least squares over the window with x relative to `intercept_t` (seconds). */
static void win_regression(const int64_t *t, const double *v, size_t n, int64_t intercept_t, double *slope,
                           double *intercept)
{
    double sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
    int const_y = 1;
    for (size_t j = 0; j < n; j++) {
        if (const_y && j > 0 && v[j] != v[0]) const_y = 0;
        double x = (double)(t[j] - intercept_t) / 1e3;
        fn_kahan_inc(x, &sx, &cx);
        fn_kahan_inc(v[j], &sy, &cy);
        fn_kahan_inc(x * v[j], &sxy, &cxy);
        fn_kahan_inc(x * x, &sx2, &cx2);
    }
    if (const_y) {
        if (isinf(v[0])) {
            *slope = NAN;
            *intercept = NAN;
        } else {
            *slope = 0;
            *intercept = v[0];
        }
        return;
    }
    sx += cx, sy += cy, sxy += cxy, sx2 += cx2;
    double nn = (double)n;
    double cov = sxy - sx * sy / nn;
    double var = sx2 - sx * sx / nn;
    *slope = cov / var;
    *intercept = sy / nn - *slope * sx / nn;
}

static double win_avg(const double *v, size_t n)
{
    double sum = v[0], c = 0, mean = 0, count = 1;
    int incr = 0;
    for (size_t j = 1; j < n; j++) {
        count = (double)(j + 1);
        if (!incr) {
            double ns = sum, nc = c;
            fn_kahan_inc(v[j], &ns, &nc);
            if (!isinf(ns)) {
                sum = ns, c = nc;
                continue;
            }
            incr = 1;
            mean = sum / (count - 1);
            c /= (count - 1);
        }
        double qq = (count - 1) / count;
        double m2 = qq * mean, c2 = qq * c;
        fn_kahan_inc(v[j] / count, &m2, &c2);
        mean = m2, c = c2;
    }
    return incr ? mean + c : sum / count + c / count;
}

static double win_variance(const double *v, size_t n)
{
    double count = 0, mean = 0, cm = 0, aux = 0, ca = 0;
    for (size_t j = 0; j < n; j++) {
        count++;
        double delta = v[j] - (mean + cm);
        fn_kahan_inc(delta / count, &mean, &cm);
        fn_kahan_inc(delta * (v[j] - (mean + cm)), &aux, &ca);
    }
    return (aux + ca) / count;
}

static double win_des(const double *v, size_t n, double sf, double tf)
{
    double s0 = 0, s1 = v[0], b = v[1] - v[0];
    for (size_t i = 1; i < n; i++) {
        double x = sf * v[i];
        if (i - 1 != 0) b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    return s1;
}

/* One window: returns 1 with *out set, 0 for "no output at this step". */
static int win_apply(win_fn f, const int64_t *t, const double *v, size_t n, int64_t end, int64_t range_ms,
                     int64_t step_t, const double *sarg, double *scratch, double *out)
{
    switch (f) {
    case W_RATE:
    case W_INCREASE:
    case W_DELTA:
        if (n < 2) return 0;
        *out = win_extrapolated(t, v, n, end - range_ms, end, range_ms, f != W_DELTA, f == W_RATE);
        return 1;
    case W_IRATE:
    case W_IDELTA: {
        if (n < 2) return 0;
        double a = v[n - 2], b = v[n - 1];
        int64_t dt = t[n - 1] - t[n - 2];
        if (dt == 0) return 0;
        double r = b;
        if (f == W_IDELTA || !(b < a)) r = b - a;
        if (f == W_IRATE) r /= (double)dt / 1000.0;
        *out = r;
        return 1;
    }
    case W_CHANGES:
    case W_RESETS: {
        double c = 0;
        for (size_t j = 1; j < n; j++) {
            if (f == W_RESETS) c += v[j] < v[j - 1];
            else c += v[j] != v[j - 1] && !(isnan(v[j]) && isnan(v[j - 1]));
        }
        *out = c;
        return 1;
    }
    case W_DERIV:
    case W_PREDICT_LINEAR: {
        if (n < 2) return 0;
        double slope, icpt;
        win_regression(t, v, n, f == W_DERIV ? t[0] : step_t, &slope, &icpt);
        *out = f == W_DERIV ? slope : slope * sarg[0] + icpt;
        return 1;
    }
    case W_AVG: *out = win_avg(v, n); return 1;
    case W_MIN:
    case W_MAX:
    case W_TS_MIN:
    case W_TS_MAX: {
        double m = v[0];
        int64_t mt = t[0];
        for (size_t j = 0; j < n; j++) {
            int take;
            switch (f) {
            case W_MAX: take = v[j] > m || isnan(m); break;
            case W_MIN: take = v[j] < m || isnan(m); break;
            case W_TS_MAX: take = v[j] >= m || isnan(m); break;
            default: take = v[j] <= m || isnan(m); break;
            }
            if (take) m = v[j], mt = t[j];
        }
        *out = (f == W_MIN || f == W_MAX) ? m : (double)mt / 1000.0;
        return 1;
    }
    case W_SUM: {
        double s = 0, c = 0;
        for (size_t j = 0; j < n; j++) fn_kahan_inc(v[j], &s, &c);
        *out = isinf(s) ? s : s + c;
        return 1;
    }
    case W_COUNT: *out = (double)n; return 1;
    case W_LAST: *out = v[n - 1]; return 1;
    case W_FIRST: *out = v[0]; return 1;
    case W_TS_FIRST: *out = (double)t[0] / 1000.0; return 1;
    case W_TS_LAST: *out = (double)t[n - 1] / 1000.0; return 1;
    case W_STDDEV: *out = sqrt(win_variance(v, n)); return 1;
    case W_STDVAR: *out = win_variance(v, n); return 1;
    case W_QUANTILE:
        memcpy(scratch, v, n * sizeof *v);
        *out = fn_quantile(sarg[0], scratch, n);
        return 1;
    case W_MAD: {
        /* 3.x: a NaN sample makes the result NaN rather than being sorted away. */
        for (size_t j = 0; j < n; j++)
            if (isnan(v[j])) {
                *out = NAN;
                return 1;
            }
        memcpy(scratch, v, n * sizeof *v);
        double med = fn_quantile(0.5, scratch, n);
        for (size_t j = 0; j < n; j++) scratch[j] = fabs(v[j] - med);
        *out = fn_quantile(0.5, scratch, n);
        return 1;
    }
    case W_PRESENT: *out = 1; return 1;
    case W_DES:
        if (n < 2) return 0;
        *out = win_des(v, n, sarg[0], sarg[1]);
        return 1;
    default: return 0;
    }
}

typedef struct win_ctx {
    eval_q *q;
    win_fn f;
    const win_input *in;
    double *const *sargs;
    size_t need;
    int keep_name;
    double *scratch;
    size_t scratch_cap;
    val *out;
    size_t cap;
} win_ctx;

/* One series: slide the window over the steps and emit a row. */
static int win_series(void *ctx, const eval_raw *s)
{
    win_ctx *c = ctx;
    eval_q *q = c->q;
    const eval_grid *g = c->in->g;
    if ((c->f == W_QUANTILE || c->f == W_MAD) && s->n > c->scratch_cap) {
        size_t nc = c->scratch_cap ? c->scratch_cap : 64;
        while (nc < s->n) nc *= 2;
        if (!(c->scratch = arena_alloc(q->ar, nc * sizeof *c->scratch)))
            return err_set(q->err, CAIRN_ENOMEM, "out of memory in %s", win_names[c->f]);
        c->scratch_cap = nc;
    }
    double *v = val_absent_array(q->ar, g->n);
    if (!v) return err_set(q->err, CAIRN_ENOMEM, "out of memory in %s", win_names[c->f]);
    double sarg[2] = {0, 0};
    size_t lo = 0, hi = 0, present = 0;
    for (size_t i = 0; i < g->n; i++) {
        int rc = eval_tick(q);
        if (rc) return rc;
        int64_t end = c->in->ends[i], start = end - c->in->range_ms;
        while (hi < s->n && s->t[hi] <= end) hi++;
        while (lo < hi && s->t[lo] <= start) lo++;
        if (lo >= hi) continue;
        for (size_t a = 0; a < c->need; a++) sarg[a] = c->sargs[a][i];
        double r;
        if (win_apply(c->f, s->t + lo, s->v + lo, hi - lo, end, c->in->range_ms, eval_grid_t(g, i), sarg, c->scratch,
                      &r))
            v[i] = r, present++;
    }
    if (!present) return CAIRN_OK;
    return eval_push_row(q, c->out, &c->cap, s->ls, v, (uint8_t)(!c->keep_name || s->drop_name));
}

int win_call(eval_q *q, const char *name, const win_input *in, double *const *sargs, size_t n_sargs, val *out)
{
    int fi = win_lookup(name);
    if (fi < 0) return CAIRN_NOTFOUND;
    const eval_grid *g = in->g;
    win_ctx c;
    memset(&c, 0, sizeof c);
    c.q = q;
    c.f = (win_fn)fi;
    c.in = in;
    c.sargs = sargs;
    c.need = (c.f == W_PREDICT_LINEAR || c.f == W_QUANTILE) ? 1 : c.f == W_DES ? 2 : 0;
    c.keep_name = c.f == W_LAST || c.f == W_FIRST;
    c.out = out;
    if (n_sargs < c.need) return err_set(q->err, CAIRN_EINVAL, "%s: missing scalar argument", name);
    if (c.f == W_DES)
        for (size_t i = 0; i < g->n; i++) {
            double sf = sargs[0][i], tf = sargs[1][i];
            if (!(sf > 0 && sf < 1))
                return err_set(q->err, CAIRN_EINVAL, "invalid smoothing factor. Expected: 0 < sf < 1, got: %f", sf);
            if (!(tf > 0 && tf < 1))
                return err_set(q->err, CAIRN_EINVAL, "invalid trend factor. Expected: 0 < tf < 1, got: %f", tf);
        }
    memset(out, 0, sizeof *out);
    out->type = VAL_VECTOR;
    out->n_steps = g->n;
    int rc = eval_range_each(q, in, win_series, &c);
    if (rc) return rc;
    val_sort_rows(out); /* storage order → label order, as Prometheus' querier returns series */
    return CAIRN_OK;
}
