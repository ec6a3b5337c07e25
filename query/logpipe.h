/*
 * logpipe — the stages of a LogQL pipeline, run entry by entry.
 *
 * Contract. lpipe_new() compiles the stages of one AST_LOG_SELECTOR (line
 * filters, parsers, label filters, formatters, drop/keep, unwrap) once per
 * query. For every stream the evaluator calls lpipe_stream() with the
 * stream's sorted labels; for every entry lpipe_run() with its timestamp,
 * line and structured metadata. lpipe_run() says whether the entry survives;
 * if it does, the (possibly rewritten) line is in p->line/p->line_len, the
 * unwrapped value (if the pipeline unwraps) in p->unwrap_v, and
 * lpipe_labels() gives the entry's complete output label set, sorted by
 * name: stream labels, structured metadata and parsed labels (parsed wins,
 * then metadata, then stream), minus dropped ones, plus __error__ and
 * __error_details__ when set. Labels with empty values are left out.
 *
 * Lifetimes: the stream labels and the metadata are borrowed for one
 * lpipe_stream()/lpipe_run(); everything lpipe_run() and lpipe_labels()
 * return (line, label names and values) lives in per-entry scratch memory
 * and is valid until the next lpipe_run() or lpipe_free(). The caller copies
 * what it keeps.
 *
 * What it never does: touch storage, decide result grouping, allocate per
 * entry once its buffers have grown (scratch blocks are reused).
 * Threads: an lpipe holds per-entry state; one query, one thread.
 */
#ifndef CAIRN_LOGPIPE_H
#define CAIRN_LOGPIPE_H
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "ast.h"
#include "buf.h"
#include "cairn.h"

typedef struct lpipe lpipe;

/* What a metric query needs from the parsers (Loki's parser hints).
 * `restrict_labels` = 1 means only the names in `names` are needed
 * downstream (grouping, label filters, unwrap): parsers extract only those,
 * JSON parsing stops once all were found, and with n_names == 0 parsers are
 * skipped. `preserve_error` keeps parser errors from failing the query
 * (__error__ is one of the needed labels). restrict_labels = 0: everything. */
typedef struct lpipe_hints {
    int restrict_labels;
    const ast_str *names;
    size_t n_names;
} lpipe_hints;

/*
 * Compile `n` stages (borrowed AST; it must outlive the pipe).
 * @param[in] hints  NULL for log queries (every label is needed).
 * @param[out] out   returns owned; free with lpipe_free().
 * @return CAIRN_OK, CAIRN_EINVAL (bad regex, pattern or template; message
 *         names the stage), CAIRN_ENOMEM.
 */
int lpipe_new(arena *ar, const ast_stage *st, size_t n, const lpipe_hints *hints, lpipe **out, cairn_err *err);
void lpipe_free(lpipe *p);

/*
 * The leading line filters that storage can run on decompressed blocks:
 * plain `|= "s"`, `!= "s"`, `|~ "re"`, `!~ "re"` without `or`. Fills up to
 * `cap` filters (views into the AST) and marks them as done, so lpipe_run()
 * skips them: call it once, before the first lpipe_run(), and pass exactly
 * what it returned to cairn_entries_open(). Returns the count.
 */
size_t lpipe_pushdown(lpipe *p, cairn_line_filter *f, size_t cap);

/* Start a stream: its labels, sorted by name (borrowed until the next call). */
int lpipe_stream(lpipe *p, const cairn_label *ls, size_t n);

/*
 * Run the pipeline on one entry.
 * @return 1 kept, 0 filtered out, or a negative code (CAIRN_ENOMEM, also
 *         when the regex engine runs out of memory: never a silent drop).
 */
int lpipe_run(lpipe *p, int64_t t_ns, const char *line, size_t len, const cairn_label *meta, size_t n_meta);

/* The current entry's output labels, sorted by name (see the contract).
 * Valid until the next lpipe_run(). Returns CAIRN_OK or CAIRN_ENOMEM. */
int lpipe_labels(lpipe *p, const cairn_label **ls, size_t *n);

/* Where each label of the last lpipe_labels() output came from, one byte
 * per label in the same order: LPIPE_ORIGIN_*. The label that wins a name
 * decides (a parsed `app` over the stream's `app` is parsed, as in Loki's
 * categorised LabelsBuilder). Valid until the next lpipe_run(). */
enum { LPIPE_ORIGIN_STREAM = 0, LPIPE_ORIGIN_META = 1, LPIPE_ORIGIN_PARSED = 2, LPIPE_ORIGIN_ERROR = 3 };
const uint8_t *lpipe_label_origins(const lpipe *p);

/* The label `name` of the current entry as lookups see it (parsed, then
 * metadata, then stream label); NULL when absent. */
const char *lpipe_get(const lpipe *p, const char *name, size_t name_len, size_t *len);

/* Accessors of the current entry. */
const char *lpipe_line(const lpipe *p, size_t *len);
/* 1 if the pipeline unwraps; then after a kept entry *has_v says whether
 * the entry yields a sample (the label was present and non-empty). */
int lpipe_unwraps(const lpipe *p, ast_str *label);
double lpipe_unwrap_value(const lpipe *p, int *has_v);
/* The current entry's __error__ ("" when none) and whether it is preserved. */
const char *lpipe_error(const lpipe *p, size_t *len, int *preserved);

/* ---- regex with captures (LogQL label_replace; engine/match.h underneath) ---------------- */

typedef struct lpipe_re lpipe_re;
/* Compile `pat` fully anchored (^(?s:pat)$, RE2 syntax as everywhere).
 * Returns owned (lpipe_re_free). CAIRN_OK, CAIRN_EINVAL, CAIRN_ENOMEM. */
int lpipe_re_compile(const char *pat, size_t n, lpipe_re **out, cairn_err *err);
void lpipe_re_free(lpipe_re *re);
/* Match s; on a match append the expansion of `tmpl` ($1, ${1}, $name,
 * ${name}, $$ as Go's regexp.Expand) to dst and return 1; 0 when it does
 * not match; CAIRN_ENOMEM. */
int lpipe_re_expand(const lpipe_re *re, const char *s, size_t n, const char *tmpl, size_t tn, buf *dst);

/* ---- helpers shared with logeval.c and the tests ---------------------------------------- */

/* go-humanize's ParseBytes. CAIRN_OK or CAIRN_EINVAL. */
int lpipe_parse_bytes(const char *s, size_t n, double *bytes);
/* Go's strconv.ParseFloat (decimal, hex, inf, nan; no spaces). CAIRN_OK or CAIRN_EINVAL. */
int lpipe_parse_float(const char *s, size_t n, double *v);
/* Loki's label-name sanitiser: writes at most cap bytes to dst, returns the
 * length (0 when the name sanitises to nothing). */
size_t lpipe_sanitize(const char *s, size_t n, char *dst, size_t cap);
#endif
