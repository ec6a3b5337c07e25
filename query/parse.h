/*
 * parse — one Pratt parser for PromQL and LogQL into one AST (query/ast.h).
 *
 * The entry point takes the language because a few tokens mean different
 * things: after a LogQL stream selector `!=` starts a line filter, while in
 * PromQL it is an operator; bare identifiers are metric names in PromQL and
 * errors in LogQL. The parser also runs the static type checks of the two
 * languages (argument types, which operands a binary operator accepts, where a
 * range or modifier may stand), so a tree it returns is well-typed:
 * every node's `type` is set.
 *
 * Errors are CAIRN_EPARSE with err->line/err->col set and a message that
 * starts with "line:col: ". The whole tree lives in the caller's arena.
 * No globals; any number of parses may run on different threads.
 * The accepted grammar is documented in docs/query.md.
 */
#ifndef CAIRN_PARSE_H
#define CAIRN_PARSE_H
#include <stddef.h>

#include "arena.h"
#include "ast.h"
#include "cairn.h"

/* Deepest nesting of parentheses, calls and unary operators the parser
 * recurses through; deeper input fails cleanly instead of overflowing the stack. */
#define PARSE_MAX_DEPTH 256
/* Tallest tree (counting left-deep operator chains, which need no recursion
 * to parse but do to print and compare). */
#define PARSE_MAX_HEIGHT 2048

/*
 * Parse `src[0..len)` (borrowed, need not be NUL-terminated) as `lang`
 * (QLANG_PROMQL or QLANG_LOGQL).
 * @param[out] out  the root, allocated in `ar` (valid until arena_free).
 * @return CAIRN_OK, CAIRN_EPARSE (err has line, col and message), CAIRN_ENOMEM.
 */
int parse_query(arena *ar, int lang, const char *src, size_t len, ast_node **out, cairn_err *err);

/* The function-table entry named `name` in `lang` (PromQL: case-sensitive;
 * LogQL: case-insensitive), or NULL. Aggregations and LogQL range
 * aggregations are not functions. */
const ast_fn *parse_fn_lookup(int lang, const char *name, size_t n);
#endif
