/*
 * eval_int — internals shared by eval.c (tree walk, selectors, operators),
 * window.c (range functions over sliding windows) and fn.c (the function
 * table and instant-vector functions). Nothing outside query/eval*.c,
 * window.c and fn.c includes this header.
 */
#ifndef CAIRN_EVAL_INT_H
#define CAIRN_EVAL_INT_H
#include <stdint.h>
#include <time.h>

#include "ast.h"
#include "eval.h"
#include "value.h"

/* A time grid: n steps start, start+step, …; an instant query has n == 1. */
typedef struct eval_grid {
    int64_t start, end, step;
    size_t n;
} eval_grid;

static inline int64_t eval_grid_t(const eval_grid *g, size_t i) { return g->start + (int64_t)i * g->step; }

/* One query's state. */
typedef struct eval_q {
    arena *ar;
    cairn_db *db;
    eval_opts o;
    cairn_err *err;
    int64_t q_start, q_end; /* the top-level grid, for @ start() / @ end() */
    int64_t q_step;         /* the top-level step; 0 for an instant query */
    uint64_t n_samples, n_series;
    struct timespec deadline;
    int has_deadline;
    unsigned tick;
} eval_q;

/* Raw samples of one series (selector output, or a subquery's rows). */
typedef struct eval_raw {
    val_lset ls;
    int64_t *t;
    double *v;
    size_t n;
    uint8_t drop_name;
} eval_raw;

/* Called once per series of a range argument, in storage order: `s` holds
 * the samples without stale markers and is valid only during the call (its
 * labels live in the arena). Return non-zero to stop with that code. */
typedef int (*eval_series_fn)(void *ctx, const eval_raw *s);

/* The range-vector argument of a function (a matrix selector or a subquery):
 * for every step of grid `g` the end of its window, the window being
 * (ends[i] - range_ms, ends[i]]; `ends` is nondecreasing. */
typedef struct win_input {
    const ast_node *arg;  /* AST_MATRIX_SEL or AST_SUBQUERY */
    const ast_node *sel;  /* the AST_VECTOR_SEL of a matrix selector, else NULL */
    const eval_grid *g;
    int64_t range_ms;
    int64_t *ends;
} win_input;

/* eval.c */
int eval_node(eval_q *q, const ast_node *n, const eval_grid *g, val *out);
/* Compute the windows of range argument `arg` for grid `g` (loads nothing). */
int eval_range_prepare(eval_q *q, const ast_node *arg, const eval_grid *g, win_input *in);
/* Load the series of the argument once each (a subquery is evaluated once on
 * its own aligned grid) and pass them to fn one by one. */
int eval_range_each(eval_q *q, const win_input *in, eval_series_fn fn, void *ctx);
/* Evaluate an instant vector selector; ts (optional) receives, per row, the
 * timestamps of the selected samples (timestamp()). */
int eval_vector_sel(eval_q *q, const ast_node *sel, const eval_grid *g, val *out, int64_t ***ts);
/* Refuse (CAIRN_ELIMIT, with a message naming series x steps) when
 * `n_rows` rows of `n_steps` values would not fit the query arena's budget;
 * call before building them. CAIRN_OK when they fit or there is no budget. */
int eval_reserve_rows(eval_q *q, uint64_t n_rows, size_t n_steps);
/* Deadline check; call in loops. Returns CAIRN_OK or CAIRN_ETIMEOUT. */
int eval_tick(eval_q *q);
/* Append a row to a VECTOR value (growing the row array in the arena). */
int eval_push_row(eval_q *q, val *v, size_t *cap, val_lset ls, double *vals, uint8_t drop_name);
/* Merge rows with equal label sets (after names were dropped); fail when two
 * of them have a value at the same step. Drops rows without any value. */
int eval_merge_rows(eval_q *q, val *v);
/* Label sets of absent()/absent_over_time(): the equality matchers of a selector. */
int eval_absent_labels(eval_q *q, const ast_node *arg, val_lset *out);

/* window.c: the range functions. `name` is the PromQL function name; sargs
 * holds the scalar arguments (per step) in call order, skipping the range
 * argument. Returns CAIRN_NOTFOUND if `name` is not a range function. */
int win_call(eval_q *q, const char *name, const win_input *in, double *const *sargs, size_t n_sargs, val *out);
/* 1 if `name` is a function implemented in window.c. */
int win_is_range_fn(const char *name);

/* fn.c: evaluate a call node. */
int fn_call(eval_q *q, const ast_node *call, const eval_grid *g, val *out);

/* Kahan-Neumaier summation step, as Prometheus' kahansum.Inc (inline: it is
 * the inner loop of sum/avg/stddev over windows and groups). */
static inline void fn_kahan_inc(double inc, double *sum, double *c)
{
    double t = *sum + inc;
    if (__builtin_isinf(t)) *c = 0;
    else if (__builtin_fabs(*sum) >= __builtin_fabs(inc)) *c += (*sum - t) + inc;
    else *c += (inc - t) + *sum;
    *sum = t;
}

/* Shared numeric helpers (fn.c). */
/* Prometheus' quantile over an array (sorted in place, NaN first). */
double fn_quantile(double qv, double *vals, size_t n);
#endif
