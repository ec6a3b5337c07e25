/*
 * eval — evaluate a parsed, type-checked PromQL tree over a grid of steps.
 *
 * Contract. eval_promql() takes the AST from parse_query() (query/parse.h),
 * a time grid (start, end, step; step 0 means an instant query at start) and
 * the storage handle, and returns one value (query/value.h) in the caller's
 * arena: a scalar, an instant vector (rows of labels and one value per
 * step), a range vector (only for an instant query of `x[5m]` or a
 * subquery) or a string. The returned value is final: delayed __name__
 * removal has been applied, rows with the same labels merged (or the query
 * failed), empty rows dropped; range-query rows are sorted by labels,
 * instant-query rows keep the engine's order (sort(), topk()).
 *
 * Semantics are Prometheus 3.x, as its own test engine configures it:
 * left-open windows (t - range, t], a left-open lookback, staleness markers
 * end a series, delayed name removal. docs/promql.md lists what is
 * supported and every deliberate difference.
 *
 * What it never does: parse, print, or know about HTTP/JSON. LogQL plugs in
 * later on the same value types and the same grid.
 *
 * Threads: one query is single-threaded; any number of queries may run in
 * parallel on one cairn_db (reads are concurrent in the engine).
 */
#ifndef CAIRN_EVAL_H
#define CAIRN_EVAL_H
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "cairn.h"
#include "value.h"

typedef struct eval_opts {
    int64_t lookback_ms;      /* instant selector lookback; Prometheus' default 5 min */
    int64_t subquery_step_ms; /* step of `x[1h:]` subqueries; Prometheus' global evaluation interval, 1 min */
    uint64_t max_samples;     /* samples loaded from storage by one query; 0 = unlimited */
    uint64_t max_series;      /* series selected by one query (summed over selectors); 0 = unlimited */
    int64_t timeout_ms;       /* wall-clock budget; 0 = none */
} eval_opts;

/* The defaults above: 5 min, 1 min, 50 000 000 samples, 100 000 series, 2 min.
 * Memory is bounded by the budget of the arena passed to eval_promql()
 * (arena_set_budget): selectors refuse early when their series x steps
 * cannot fit it (eval_reserve_rows), any other allocation past it fails as
 * CAIRN_ENOMEM, which val_budget_error() turns into CAIRN_ELIMIT. */
void eval_opts_default(eval_opts *o);

/*
 * Evaluate `root` over the grid [start_ms, end_ms] with `step_ms` (0: an
 * instant query at start_ms; end_ms is then ignored).
 * @param[in]  ar    the query arena; every result byte lives here (borrowed).
 * @param[in]  db    storage (borrowed).
 * @param[out] out   the final value.
 * @return CAIRN_OK; CAIRN_EINVAL (a run-time error Prometheus also reports:
 *         many-to-many matching, duplicate label sets, bad regex in
 *         label_replace, range vector as a range query's result, …);
 *         CAIRN_ELIMIT (max_samples, max_series); CAIRN_ETIMEOUT;
 *         CAIRN_ENOMEM; storage errors (CAIRN_EIO, CAIRN_ECORRUPT).
 */
int eval_promql(arena *ar, cairn_db *db, const ast_node *root, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                const eval_opts *opts, val *out, cairn_err *err);
#endif
