/*
 * ast.c — names and structural equality for the query AST (query/ast.h).
 *
 * The AST is built by query/parse.c and printed by query/print.c; this file
 * holds the small vocabulary the three share (operator names, precedence,
 * value type names) and ast_equal(), the oracle of the round-trip property
 * "parse → print → parse gives an equal tree" that the unit tests and the
 * parser fuzz target check.
 *
 * Equality is structural and exact: node kinds, operator, modifiers, names
 * and decoded string bytes must match; numbers compare by bit pattern except
 * that any NaN equals any NaN (the printer writes every NaN as "NaN", so
 * payload bits cannot round-trip and do not matter to PromQL); durations
 * compare in milliseconds. Positions are ignored, since printing moves
 * things. Value types are compared too: they are derived data, so a
 * mismatch there means the checker disagrees with itself.
 *
 * Nothing here allocates. Recursion depth is bounded by the parser's nesting
 * limit (parse.h), so ast_equal cannot overflow the stack on parsed trees.
 */
#include "ast.h"

#include <math.h>
#include <string.h>

static const char *const ast_binop_names[AST__OP_COUNT] = {
    [AST_OP_ADD] = "+", [AST_OP_SUB] = "-", [AST_OP_MUL] = "*", [AST_OP_DIV] = "/",
    [AST_OP_MOD] = "%", [AST_OP_POW] = "^", [AST_OP_ATAN2] = "atan2",
    [AST_OP_EQLC] = "==", [AST_OP_NEQ] = "!=", [AST_OP_GTR] = ">", [AST_OP_LSS] = "<",
    [AST_OP_GTE] = ">=", [AST_OP_LTE] = "<=",
    [AST_OP_AND] = "and", [AST_OP_OR] = "or", [AST_OP_UNLESS] = "unless",
};

const char *ast_binop_name(ast_binop op) { return op < AST__OP_COUNT ? ast_binop_names[op] : "?"; }

int ast_binop_is_comparison(ast_binop op) { return op >= AST_OP_EQLC && op <= AST_OP_LTE; }

int ast_binop_is_set(ast_binop op) { return op >= AST_OP_AND && op <= AST_OP_UNLESS; }

int ast_binop_prec(ast_binop op)
{
    switch (op) {
    case AST_OP_OR: return 1;
    case AST_OP_AND: case AST_OP_UNLESS: return 2;
    case AST_OP_EQLC: case AST_OP_NEQ: case AST_OP_GTR: case AST_OP_LSS: case AST_OP_GTE: case AST_OP_LTE:
        return 3;
    case AST_OP_ADD: case AST_OP_SUB: return 4;
    case AST_OP_MUL: case AST_OP_DIV: case AST_OP_MOD: case AST_OP_ATAN2: return 5;
    case AST_OP_POW: return 6;
    default: return 0;
    }
}

const char *ast_match_op_name(ast_match_op op)
{
    switch (op) {
    case AST_MATCH_EQ: return "=";
    case AST_MATCH_NEQ: return "!=";
    case AST_MATCH_RE: return "=~";
    case AST_MATCH_NRE: return "!~";
    }
    return "?";
}

const char *ast_kind_name(ast_kind k)
{
    static const char *const names[AST__KIND_COUNT] = {
        [AST_NUMBER] = "number", [AST_STRING] = "string", [AST_VECTOR_SEL] = "vector selector",
        [AST_MATRIX_SEL] = "matrix selector", [AST_SUBQUERY] = "subquery", [AST_CALL] = "function call",
        [AST_AGGREGATE] = "aggregation", [AST_BINARY] = "binary expression", [AST_UNARY] = "unary expression",
        [AST_PAREN] = "parenthesised expression", [AST_LOG_SELECTOR] = "log selector",
        [AST_LOG_RANGE] = "log range", [AST_LOG_AGG] = "range aggregation",
    };
    return k < AST__KIND_COUNT ? names[k] : "?";
}

const char *ast_type_name(ast_type t)
{
    switch (t) {
    case AST_T_SCALAR: return "scalar";
    case AST_T_VECTOR: return "instant vector";
    case AST_T_MATRIX: return "range vector";
    case AST_T_STRING: return "string";
    case AST_T_STREAMS: return "log stream";
    case AST_T_LOGRANGE: return "log range";
    default: return "none";
    }
}

/* ---- equality --------------------------------------------------------------------- */

static int ast_str_eq(ast_str a, ast_str b) { return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0); }

static int ast_num_eq(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return x == y;
}

static int ast_labels_eq(const ast_labels *a, const ast_labels *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!ast_str_eq(a->v[i], b->v[i])) return 0;
    return 1;
}

static int ast_matchers_eq(const ast_matcher *a, size_t na, const ast_matcher *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].op != b[i].op || !ast_str_eq(a[i].name, b[i].name) || !ast_str_eq(a[i].value, b[i].value))
            return 0;
    return 1;
}

static int ast_lf_eq(const ast_lf *a, const ast_lf *b)
{
    if (!a || !b) return a == b;
    if (a->kind != b->kind) return 0;
    switch (a->kind) {
    case AST_LFK_AND: case AST_LFK_OR: return ast_lf_eq(a->lhs, b->lhs) && ast_lf_eq(a->rhs, b->rhs);
    case AST_LFK_PAREN: return ast_lf_eq(a->lhs, b->lhs);
    case AST_LFK_STRING: return ast_matchers_eq(&a->m, 1, &b->m, 1);
    case AST_LFK_NUMBER:
        return ast_str_eq(a->name, b->name) && a->cmp == b->cmp && ast_num_eq(a->value, b->value);
    case AST_LFK_DURATION: case AST_LFK_BYTES:
        return ast_str_eq(a->name, b->name) && a->cmp == b->cmp && ast_num_eq(a->value, b->value) &&
               ast_str_eq(a->text, b->text);
    }
    return 0;
}

static int ast_kvs_eq(const ast_kv *a, size_t na, const ast_kv *b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++) {
        if (!ast_str_eq(a[i].name, b[i].name) || a[i].has_value != b[i].has_value) return 0;
        if (a[i].has_value && (!ast_str_eq(a[i].value, b[i].value) || a[i].op != b[i].op ||
                               a[i].value_is_name != b[i].value_is_name))
            return 0;
    }
    return 1;
}

static int ast_stage_eq(const ast_stage *a, const ast_stage *b)
{
    if (a->kind != b->kind) return 0;
    switch (a->kind) {
    case AST_ST_LINE_FILTER:
        if (a->lf_op != b->lf_op) return 0;
        /* fall through */
    case AST_ST_REGEXP: case AST_ST_PATTERN: case AST_ST_LINE_FORMAT:
        if (a->n_strs != b->n_strs) return 0;
        for (size_t i = 0; i < a->n_strs; i++)
            if (!ast_str_eq(a->strs[i], b->strs[i])) return 0;
        return 1;
    case AST_ST_LOGFMT:
        if (a->strict != b->strict || a->keep_empty != b->keep_empty) return 0;
        /* fall through */
    case AST_ST_JSON: case AST_ST_LABEL_FORMAT: case AST_ST_DROP: case AST_ST_KEEP:
        return ast_kvs_eq(a->kvs, a->n_kvs, b->kvs, b->n_kvs);
    case AST_ST_LABEL_FILTER: return ast_lf_eq(a->filter, b->filter);
    case AST_ST_UNWRAP: return a->unwrap_conv == b->unwrap_conv && ast_str_eq(a->unwrap_label, b->unwrap_label);
    case AST_ST_UNPACK: case AST_ST_DECOLORIZE: return 1;
    default: return 0;
    }
}

int ast_equal(const ast_node *a, const ast_node *b)
{
    if (!a || !b) return a == b;
    if (a->kind != b->kind || a->type != b->type) return 0;
    switch (a->kind) {
    case AST_NUMBER: return ast_num_eq(a->u.num, b->u.num);
    case AST_STRING: return ast_str_eq(a->u.str, b->u.str);
    case AST_VECTOR_SEL:
        return ast_str_eq(a->u.sel.name, b->u.sel.name) &&
               ast_matchers_eq(a->u.sel.m, a->u.sel.n_m, b->u.sel.m, b->u.sel.n_m) &&
               a->u.sel.has_offset == b->u.sel.has_offset && a->u.sel.offset_ms == b->u.sel.offset_ms &&
               a->u.sel.at == b->u.sel.at && a->u.sel.at_ms == b->u.sel.at_ms;
    case AST_MATRIX_SEL: return a->u.range.range_ms == b->u.range.range_ms && ast_equal(a->u.range.sel, b->u.range.sel);
    case AST_SUBQUERY:
        return a->u.sub.range_ms == b->u.sub.range_ms && a->u.sub.step_ms == b->u.sub.step_ms &&
               a->u.sub.has_offset == b->u.sub.has_offset && a->u.sub.offset_ms == b->u.sub.offset_ms &&
               a->u.sub.at == b->u.sub.at && a->u.sub.at_ms == b->u.sub.at_ms && ast_equal(a->u.sub.expr, b->u.sub.expr);
    case AST_CALL:
        if (a->u.call.fn != b->u.call.fn || a->u.call.n_args != b->u.call.n_args) return 0;
        for (size_t i = 0; i < a->u.call.n_args; i++)
            if (!ast_equal(a->u.call.args[i], b->u.call.args[i])) return 0;
        return 1;
    case AST_AGGREGATE:
        return ast_str_eq(a->u.agg.op, b->u.agg.op) && a->u.agg.without == b->u.agg.without &&
               a->u.agg.has_grouping == b->u.agg.has_grouping && ast_labels_eq(&a->u.agg.grouping, &b->u.agg.grouping) &&
               ast_equal(a->u.agg.param, b->u.agg.param) && ast_equal(a->u.agg.expr, b->u.agg.expr);
    case AST_BINARY:
        return a->u.bin.op == b->u.bin.op && a->u.bin.return_bool == b->u.bin.return_bool &&
               a->u.bin.has_matching == b->u.bin.has_matching && a->u.bin.on == b->u.bin.on &&
               ast_labels_eq(&a->u.bin.matching, &b->u.bin.matching) && a->u.bin.card == b->u.bin.card &&
               ast_labels_eq(&a->u.bin.include, &b->u.bin.include) && ast_equal(a->u.bin.lhs, b->u.bin.lhs) &&
               ast_equal(a->u.bin.rhs, b->u.bin.rhs);
    case AST_UNARY: return a->u.un.neg == b->u.un.neg && ast_equal(a->u.un.expr, b->u.un.expr);
    case AST_PAREN: return ast_equal(a->u.paren.expr, b->u.paren.expr);
    case AST_LOG_SELECTOR:
        if (!ast_matchers_eq(a->u.log.m, a->u.log.n_m, b->u.log.m, b->u.log.n_m)) return 0;
        if (a->u.log.n_stages != b->u.log.n_stages) return 0;
        for (size_t i = 0; i < a->u.log.n_stages; i++)
            if (!ast_stage_eq(&a->u.log.stages[i], &b->u.log.stages[i])) return 0;
        return 1;
    case AST_LOG_RANGE:
        return a->u.lrange.range_ms == b->u.lrange.range_ms && a->u.lrange.has_offset == b->u.lrange.has_offset &&
               a->u.lrange.offset_ms == b->u.lrange.offset_ms && ast_equal(a->u.lrange.log, b->u.lrange.log);
    case AST_LOG_AGG:
        return ast_str_eq(a->u.lagg.op, b->u.lagg.op) && a->u.lagg.without == b->u.lagg.without &&
               a->u.lagg.has_grouping == b->u.lagg.has_grouping &&
               ast_labels_eq(&a->u.lagg.grouping, &b->u.lagg.grouping) && ast_equal(a->u.lagg.param, b->u.lagg.param) &&
               ast_equal(a->u.lagg.range, b->u.lagg.range);
    default: return 0;
    }
}
