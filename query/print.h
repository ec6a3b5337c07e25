/*
 * print — the canonical text of a query AST (query/ast.h).
 *
 * Canonical means: one space around binary operators, `sum by (job) (x)`
 * with the grouping before the arguments, `on (a) group_left (b)`, durations
 * normalised (`90m` prints `1h30m`), strings in double quotes with minimal
 * escapes, numbers in the shortest form that parses back to the same double,
 * LogQL ranges after the pipeline. Printing a parsed tree and parsing the
 * text again gives an equal tree (ast_equal), and printing is idempotent.
 * The printer never fails except for memory.
 */
#ifndef CAIRN_PRINT_H
#define CAIRN_PRINT_H
#include "arena.h"
#include "ast.h"
#include "buf.h"

/* Append the canonical text of `n` (no NUL) to `out`.
 * @return CAIRN_OK or CAIRN_ENOMEM (out may then hold a prefix). */
int print_ast(buf *out, const ast_node *n);
/* The canonical text as a NUL-terminated string in `ar`; NULL when out of memory. */
char *print_ast_z(arena *ar, const ast_node *n, size_t *len);
/* Append a duration in canonical form ("1h30m", "0s", "-5m"). */
int print_duration(buf *out, int64_t ms);
/* Append a float in the shortest form that strtod reads back bit-exactly
 * (except NaN payloads): "1", "0.1", "1e-06", "Inf", "-Inf", "NaN". */
int print_number(buf *out, double v);
/* Append `s[0..n)` as a double-quoted string with minimal Go escapes. */
int print_string(buf *out, const char *s, size_t n);
#endif
