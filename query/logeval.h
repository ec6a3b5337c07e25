/*
 * logeval — evaluate LogQL: log queries (streams) and metric queries
 * (range aggregations over log ranges, vector aggregations, binary
 * operators, vector(), label_replace) with Loki's semantics as pinned in
 * shared/docs/logql-semantics.md; docs/logql.md is the user-facing page.
 *
 * Entry points. leval_query() parses and evaluates a LogQL string;
 * leval_eval() evaluates a tree parse_query(…, QLANG_LOGQL, …) returned.
 * Both fill a leval_result in the caller's arena:
 *   - LEVAL_STREAMS (a log query): streams sorted by labels, entries in
 *     the requested direction, at most `limit` entries in total;
 *   - LEVAL_MATRIX (a range metric query) or LEVAL_VECTOR (an instant one):
 *     `v` is a VAL_VECTOR over the steps in t_ms[] (rows with VAL_ABSENT
 *     where a series has no point), rows sorted by labels unless the query
 *     ends in sort()/sort_desc() (instant queries only);
 *   - LEVAL_SCALAR: an instant query of a literal expression (`1+1`).
 *
 * Range queries go through Loki's query-frontend step alignment (start
 * rounded down, end up, to a multiple of the step) unless
 * leval_opts.align_steps is 0; the aligned bounds are reported back.
 *
 * What it never does: HTTP, JSON, parameter parsing (api/ does that), or
 * PromQL (query/eval.c). Threads: one query per call, single-threaded; any
 * number of calls may run at once on one cairn_db.
 */
#ifndef CAIRN_LOGEVAL_H
#define CAIRN_LOGEVAL_H
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "cairn.h"
#include "value.h"

typedef struct leval_opts {
    uint64_t max_entries;       /* entries read from storage by one query (after pushed-down line filters); 0 = unlimited */
    uint64_t max_series;        /* series in a metric result (Loki's max_query_series); 0 = unlimited */
    uint64_t max_inner_series;  /* series built by one range aggregation before grouping; 0 = unlimited */
    uint32_t max_limit;         /* largest accepted log query `limit` (max_entries_limit_per_query); 0 = any */
    uint32_t max_points;        /* steps of a range query per series; 0 = unlimited */
    int64_t timeout_ms;         /* wall-clock budget; 0 = none */
    int align_steps;            /* 1: align range queries like Loki's query frontend */
    int categorize;             /* log queries: split streams by label origins too (see leval_stream). Default 0 */
} leval_opts;

/* Defaults: 100 000 000 entries, 500 series, 1 000 000 inner series, limit
 * 5000, 11 000 points, 60 s, aligned. */
void leval_opts_default(leval_opts *o);

typedef struct leval_params {
    int64_t start_ns, end_ns; /* range query [start, end] (log queries: [start, end)); instant: time = start_ns */
    int64_t step_ns;          /* > 0: range query; 0: instant query */
    uint32_t limit;           /* log queries: entries in total (0: 100) */
    int direction;            /* CAIRN_BACKWARD (default) or CAIRN_FORWARD */
} leval_params;

enum { LEVAL_STREAMS = 1, LEVAL_MATRIX = 2, LEVAL_VECTOR = 3, LEVAL_SCALAR = 4 };

typedef struct leval_entry {
    int64_t t_ns;
    const char *line; /* in the arena */
    size_t len;
} leval_entry;

/*
 * A result stream of a log query. `origin` has one byte per label of `ls`:
 * LEVAL_ORIGIN_STREAM (an indexed label of the stored stream),
 * LEVAL_ORIGIN_META (structured metadata of the entry) or
 * LEVAL_ORIGIN_PARSED (added by a parser or label_format, or __error__ /
 * __error_details__); the label that wins a name decides. Streams are
 * grouped by their complete label set; with leval_opts.categorize also by
 * the origins, so every entry of a stream has exactly these origins (without
 * it, `origin` is that of the stream's first entry). This is what Loki's
 * X-Loki-Response-Encoding-Flags: categorize-labels encoding needs.
 */
enum { LEVAL_ORIGIN_STREAM = 0, LEVAL_ORIGIN_META = 1, LEVAL_ORIGIN_PARSED = 2, LEVAL_ORIGIN_ERROR = 3 };

typedef struct leval_stream {
    val_lset ls;
    const uint8_t *origin; /* [ls.n] LEVAL_ORIGIN_*; LEVAL_ORIGIN_ERROR counts as parsed */
    leval_entry *e;
    size_t n;
} leval_stream;

/* Counters for Loki's `stats` object (summary and store sections). */
typedef struct leval_stats {
    uint64_t streams_selected;   /* streams the selectors matched */
    uint64_t entries_scanned;    /* entries read from storage (after pushed-down line filters) */
    uint64_t bytes_scanned;      /* their line bytes */
    uint64_t entries_kept;       /* entries that passed the whole pipeline */
    uint64_t entries_returned;   /* log queries: entries in the result */
    uint64_t series_returned;    /* metric queries: rows in the result */
    double exec_s;               /* wall-clock seconds of the evaluation */
} leval_stats;

typedef struct leval_result {
    int kind; /* LEVAL_* */
    /* LEVAL_STREAMS */
    leval_stream *streams;
    size_t n_streams;
    /* LEVAL_MATRIX / LEVAL_VECTOR (VAL_VECTOR) and LEVAL_SCALAR (VAL_SCALAR) */
    val v;
    int64_t *t_ms; /* [v.n_steps] step timestamps, ms (floor of the ns step) */
    /* the evaluated grid after alignment (ns) */
    int64_t start_ns, end_ns, step_ns;
    leval_stats stats;
} leval_result;

/*
 * Parse `q[0..len)` as LogQL and evaluate it.
 * @param[in]  ar   the query arena (borrowed); the result lives there.
 * @param[in]  o    options, NULL for leval_opts_default().
 * @return CAIRN_OK; CAIRN_EPARSE (line/col set); CAIRN_EINVAL (a log query
 *         as an instant query, a pipeline error such as 'JSONParserErr' in a
 *         metric query, bad regex/template, duplicate series in matching,
 *         step <= 0 with end > start); CAIRN_ELIMIT (limit above max_limit,
 *         max_entries, max_series, max_points); CAIRN_ETIMEOUT; CAIRN_ENOMEM;
 *         storage errors.
 */
int leval_query(arena *ar, cairn_db *db, const char *q, size_t len, const leval_params *prm, const leval_opts *o,
                leval_result *out, cairn_err *err);

/* Evaluate an already parsed LogQL tree (borrowed; must live in `ar` or longer). Same codes. */
int leval_eval(arena *ar, cairn_db *db, const ast_node *root, const leval_params *prm, const leval_opts *o,
               leval_result *out, cairn_err *err);

/* 1 if `root` is a log query (its result would be streams). */
int leval_is_log_query(const ast_node *root);
#endif
