/*
 * parse.c — the Pratt parser of PromQL and LogQL (see parse.h, ast.h).
 *
 * Shape. Binary operators are parsed by precedence climbing (Pratt):
 * parse_expr(min) reads a unary operand and then folds in operators whose
 * precedence is at least `min`, recursing for the right operand with min =
 * prec + 1 (left-associative) or prec (the right-associative `^`). The
 * levels, lowest first, are PromQL's and LogQL's alike:
 *     or  <  and unless  <  == != <= < >= >  <  + -  <  * / % atan2  <  ^
 * A unary minus/plus binds like `*` (as Prometheus' grammar says,
 * `unary_op expr %prec MUL`): its operand is parsed at the `^` level, so
 * -2^2 = -(2^2) and -a*b = (-a)*b. Ranges, subqueries, `offset` and `@`
 * are postfix on primaries and bind tightest.
 *
 * Why hand-written instead of a yacc grammar: Prometheus and Loki both use
 * goyacc, and both then need a hand-written lexer that tracks brackets and
 * braces to decide what a word means. Here the lexer stays context-free and
 * the parser, which knows where it is, resolves the contextual keywords
 * (`by`, `on`, `offset`, `json`, … are also label and metric names) with one
 * token of lookahead. That also gives messages that say what was expected
 * at that point ("expected duration"), which a table-driven parser struggles
 * to produce.
 *
 * Checks. Each node gets its value type as it is built, and the static rules
 * of Prometheus' checkAST and Loki's validators run right there: function
 * argument counts and types, operand types of binary operators, `bool` only
 * on comparisons, vector matching only between instant vectors, ranges only
 * on selectors, subqueries only on instant vectors, offset/@ only on
 * selectors and subqueries, a selector needs a matcher that rejects the
 * empty string, LogQL's unwrap rules for range aggregations.
 *
 * Canonical trees. A selector written `{__name__="up"}` (exactly one
 * __name__ matcher, with `=`) stores "up" as its name like the bare form, so
 * the printer may always print the bare name when that lexes back as a
 * name, and the quoted form when it would not (a metric named `bool`).
 *
 * Limits: recursion depth PARSE_MAX_DEPTH, tree height PARSE_MAX_HEIGHT,
 * each a clean CAIRN_EPARSE. Memory: everything in the caller's arena.
 * Threads: the parser state is on the stack; no globals but constant tables.
 */
#include "parse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "match.h"

/* ---- function table -------------------------------------------------------------- */

#define S AST_T_SCALAR
#define V AST_T_VECTOR
#define M AST_T_MATRIX
#define STR AST_T_STRING
#define PQ (1u << QLANG_PROMQL)
#define LQ (1u << QLANG_LOGQL)

/* name, return, n_args, min_args, variadic, arg types, languages */
static const ast_fn parse_fns[] = {
    {"abs", V, 1, 1, 0, {V}, PQ},
    {"absent", V, 1, 1, 0, {V}, PQ},
    {"absent_over_time", V, 1, 1, 0, {M}, PQ},
    {"acos", V, 1, 1, 0, {V}, PQ},
    {"acosh", V, 1, 1, 0, {V}, PQ},
    {"asin", V, 1, 1, 0, {V}, PQ},
    {"asinh", V, 1, 1, 0, {V}, PQ},
    {"atan", V, 1, 1, 0, {V}, PQ},
    {"atanh", V, 1, 1, 0, {V}, PQ},
    {"avg_over_time", V, 1, 1, 0, {M}, PQ},
    {"ceil", V, 1, 1, 0, {V}, PQ},
    {"changes", V, 1, 1, 0, {M}, PQ},
    {"clamp", V, 3, 3, 0, {V, S, S}, PQ},
    {"clamp_max", V, 2, 2, 0, {V, S}, PQ},
    {"clamp_min", V, 2, 2, 0, {V, S}, PQ},
    {"cos", V, 1, 1, 0, {V}, PQ},
    {"cosh", V, 1, 1, 0, {V}, PQ},
    {"count_over_time", V, 1, 1, 0, {M}, PQ},
    {"day_of_month", V, 1, 0, 0, {V}, PQ},
    {"day_of_week", V, 1, 0, 0, {V}, PQ},
    {"day_of_year", V, 1, 0, 0, {V}, PQ},
    {"days_in_month", V, 1, 0, 0, {V}, PQ},
    {"deg", V, 1, 1, 0, {V}, PQ},
    {"delta", V, 1, 1, 0, {M}, PQ},
    {"deriv", V, 1, 1, 0, {M}, PQ},
    {"double_exponential_smoothing", V, 3, 3, 0, {M, S, S}, PQ},
    {"end", S, 0, 0, 0, {0}, PQ},
    {"exp", V, 1, 1, 0, {V}, PQ},
    {"first_over_time", V, 1, 1, 0, {M}, PQ},
    {"floor", V, 1, 1, 0, {V}, PQ},
    {"histogram_avg", V, 1, 1, 0, {V}, PQ},
    {"histogram_count", V, 1, 1, 0, {V}, PQ},
    {"histogram_fraction", V, 3, 3, 0, {S, S, V}, PQ},
    {"histogram_quantile", V, 2, 2, 0, {S, V}, PQ},
    {"histogram_quantiles", V, 3, 3, 1, {V, STR, S}, PQ},
    {"histogram_stddev", V, 1, 1, 0, {V}, PQ},
    {"histogram_stdvar", V, 1, 1, 0, {V}, PQ},
    {"histogram_sum", V, 1, 1, 0, {V}, PQ},
    {"hour", V, 1, 0, 0, {V}, PQ},
    {"idelta", V, 1, 1, 0, {M}, PQ},
    {"increase", V, 1, 1, 0, {M}, PQ},
    {"info", V, 2, 1, 0, {V, V}, PQ},
    {"irate", V, 1, 1, 0, {M}, PQ},
    {"label_join", V, 4, 3, 1, {V, STR, STR, STR}, PQ},
    {"label_replace", V, 5, 5, 0, {V, STR, STR, STR, STR}, PQ | LQ},
    {"last_over_time", V, 1, 1, 0, {M}, PQ},
    {"ln", V, 1, 1, 0, {V}, PQ},
    {"log10", V, 1, 1, 0, {V}, PQ},
    {"log2", V, 1, 1, 0, {V}, PQ},
    {"mad_over_time", V, 1, 1, 0, {M}, PQ},
    {"max_of", S, 2, 2, 0, {S, S}, PQ},
    {"max_over_time", V, 1, 1, 0, {M}, PQ},
    {"min_of", S, 2, 2, 0, {S, S}, PQ},
    {"min_over_time", V, 1, 1, 0, {M}, PQ},
    {"minute", V, 1, 0, 0, {V}, PQ},
    {"month", V, 1, 0, 0, {V}, PQ},
    {"pi", S, 0, 0, 0, {0}, PQ},
    {"predict_linear", V, 2, 2, 0, {M, S}, PQ},
    {"present_over_time", V, 1, 1, 0, {M}, PQ},
    {"quantile_over_time", V, 2, 2, 0, {S, M}, PQ},
    {"rad", V, 1, 1, 0, {V}, PQ},
    {"range", S, 0, 0, 0, {0}, PQ},
    {"rate", V, 1, 1, 0, {M}, PQ},
    {"resets", V, 1, 1, 0, {M}, PQ},
    {"round", V, 2, 1, 0, {V, S}, PQ},
    {"scalar", S, 1, 1, 0, {V}, PQ},
    {"sgn", V, 1, 1, 0, {V}, PQ},
    {"sin", V, 1, 1, 0, {V}, PQ},
    {"sinh", V, 1, 1, 0, {V}, PQ},
    {"sort", V, 1, 1, 0, {V}, PQ},
    {"sort_by_label", V, 2, 1, 1, {V, STR}, PQ},
    {"sort_by_label_desc", V, 2, 1, 1, {V, STR}, PQ},
    {"sort_desc", V, 1, 1, 0, {V}, PQ},
    {"sqrt", V, 1, 1, 0, {V}, PQ},
    {"start", S, 0, 0, 0, {0}, PQ},
    {"stddev_over_time", V, 1, 1, 0, {M}, PQ},
    {"stdvar_over_time", V, 1, 1, 0, {M}, PQ},
    {"step", S, 0, 0, 0, {0}, PQ},
    {"sum_over_time", V, 1, 1, 0, {M}, PQ},
    {"tan", V, 1, 1, 0, {V}, PQ},
    {"tanh", V, 1, 1, 0, {V}, PQ},
    {"time", S, 0, 0, 0, {0}, PQ},
    {"timestamp", V, 1, 1, 0, {V}, PQ},
    {"ts_of_first_over_time", V, 1, 1, 0, {M}, PQ},
    {"ts_of_last_over_time", V, 1, 1, 0, {M}, PQ},
    {"ts_of_max_over_time", V, 1, 1, 0, {M}, PQ},
    {"ts_of_min_over_time", V, 1, 1, 0, {M}, PQ},
    {"vector", V, 1, 1, 0, {S}, PQ | LQ},
    {"year", V, 1, 0, 0, {V}, PQ},
};
#define PARSE_N_FNS (sizeof parse_fns / sizeof parse_fns[0])

/* Aggregation operators. `param`: 0 none, S scalar, STR string. */
typedef struct parse_agg {
    const char *name;
    uint8_t param;
    uint8_t lang_mask;
    uint8_t no_grouping; /* LogQL sort/sort_desc */
} parse_agg;

static const parse_agg parse_aggs[] = {
    {"sum", 0, PQ | LQ, 0},       {"avg", 0, PQ | LQ, 0},       {"count", 0, PQ | LQ, 0},
    {"min", 0, PQ | LQ, 0},       {"max", 0, PQ | LQ, 0},       {"group", 0, PQ, 0},
    {"stddev", 0, PQ | LQ, 0},    {"stdvar", 0, PQ | LQ, 0},    {"topk", S, PQ | LQ, 0},
    {"bottomk", S, PQ | LQ, 0},   {"count_values", STR, PQ, 0}, {"quantile", S, PQ, 0},
    {"limitk", S, PQ, 0},         {"limit_ratio", S, PQ, 0},    {"sort", 0, LQ, 1},
    {"sort_desc", 0, LQ, 1},
};
#define PARSE_N_AGGS (sizeof parse_aggs / sizeof parse_aggs[0])

/* LogQL range aggregations. unwrap: 1 required, 2 forbidden, 0 optional. */
typedef struct parse_lagg {
    const char *name;
    uint8_t param, unwrap, grouping;
} parse_lagg;

static const parse_lagg parse_laggs[] = {
    {"count_over_time", 0, 2, 0},   {"rate", 0, 0, 0},             {"rate_counter", 0, 1, 0},
    {"bytes_over_time", 0, 2, 0},   {"bytes_rate", 0, 2, 0},       {"sum_over_time", 0, 1, 0},
    {"avg_over_time", 0, 1, 1},     {"min_over_time", 0, 1, 1},    {"max_over_time", 0, 1, 1},
    {"stdvar_over_time", 0, 1, 1},  {"stddev_over_time", 0, 1, 1}, {"quantile_over_time", 1, 1, 1},
    {"first_over_time", 0, 1, 1},   {"last_over_time", 0, 1, 1},   {"absent_over_time", 0, 2, 0},
};
#define PARSE_N_LAGGS (sizeof parse_laggs / sizeof parse_laggs[0])

#undef S
#undef V
#undef M
#undef STR

static int parse_name_eq(int lang, const char *s, size_t n, const char *z)
{
    if (strlen(z) != n) return 0;
    if (lang == QLANG_PROMQL) return memcmp(s, z, n) == 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z') c += 32;
        if (c != z[i]) return 0;
    }
    return 1;
}

const ast_fn *parse_fn_lookup(int lang, const char *name, size_t n)
{
    for (size_t i = 0; i < PARSE_N_FNS; i++)
        if ((parse_fns[i].lang_mask & (1u << lang)) && parse_name_eq(lang, name, n, parse_fns[i].name))
            return &parse_fns[i];
    return NULL;
}

/* Aggregations are keywords, case-insensitive in both languages. */
static const parse_agg *parse_agg_lookup(int lang, const char *name, size_t n)
{
    for (size_t i = 0; i < PARSE_N_AGGS; i++)
        if ((parse_aggs[i].lang_mask & (1u << lang)) && parse_name_eq(QLANG_LOGQL, name, n, parse_aggs[i].name))
            return &parse_aggs[i];
    return NULL;
}

static const parse_lagg *parse_lagg_lookup(int lang, const char *name, size_t n)
{
    if (lang != QLANG_LOGQL) return NULL;
    for (size_t i = 0; i < PARSE_N_LAGGS; i++)
        if (parse_name_eq(QLANG_LOGQL, name, n, parse_laggs[i].name)) return &parse_laggs[i];
    return NULL;
}

/* Edit distance for "did you mean"; names are short, so O(n*m) with a row. */
static size_t parse_edit_distance(const char *a, size_t na, const char *b, size_t nb)
{
    size_t row[64];
    if (nb >= 64 || na >= 64) return 99;
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] == b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *parse_suggest(int lang, const char *s, size_t n)
{
    /* Score = 2 * distance, minus 1 when the candidate extends what was typed
     * ("rat" -> "rate" beats "rad"). Short names allow one edit, longer two. */
    const char *best = NULL;
    size_t max_d = n <= 4 ? 1 : 2, best_score = 2 * max_d + 1;
#define TRY(z)                                                                     \
    do {                                                                           \
        size_t zl_ = strlen(z), d_ = parse_edit_distance(s, n, (z), zl_);          \
        size_t sc_ = 2 * d_ + 1 - (zl_ > n && memcmp(s, (z), n) == 0);             \
        if (d_ <= max_d && sc_ < best_score) { best_score = sc_; best = (z); }     \
    } while (0)
    for (size_t i = 0; i < PARSE_N_FNS; i++)
        if (parse_fns[i].lang_mask & (1u << lang)) TRY(parse_fns[i].name);
    for (size_t i = 0; i < PARSE_N_AGGS; i++)
        if (parse_aggs[i].lang_mask & (1u << lang)) TRY(parse_aggs[i].name);
    if (lang == QLANG_LOGQL)
        for (size_t i = 0; i < PARSE_N_LAGGS; i++) TRY(parse_laggs[i].name);
#undef TRY
    return best;
}

/* ---- parser state ------------------------------------------------------------------ */

typedef struct parser {
    lex lx;
    token tok;  /* current */
    token next; /* one token of lookahead, valid when has_next */
    int has_next;
    arena *ar;
    int lang;
    int depth;
    cairn_err *err;
} parser;

#define TRY(expr)                    \
    do {                             \
        int rc_ = (expr);            \
        if (rc_) return rc_;         \
    } while (0)

static int p_advance(parser *p)
{
    if (p->has_next) {
        p->tok = p->next;
        p->has_next = 0;
        return CAIRN_OK;
    }
    return lex_next(&p->lx, &p->tok, p->err);
}

static int p_peek(parser *p, const token **out)
{
    if (!p->has_next) {
        TRY(lex_next(&p->lx, &p->next, p->err));
        p->has_next = 1;
    }
    *out = &p->next;
    return CAIRN_OK;
}

static ast_pos p_pos(const token *t) { return (ast_pos){t->line, t->col}; }

/* "identifier \"foo\"", "number \"1.5\"", "\"]\"", "end of input". */
static const char *p_desc(const token *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case T_IDENT: case T_NUMBER: case T_DURATION: case T_BYTES: case T_FLAG:
        snprintf(buf, cap, "%s \"%.*s\"", lex_kind_name(t->kind), t->len > 40 ? 40 : (int)t->len, t->p);
        return buf;
    case T_STRING: return "string";
    default: return lex_kind_name(t->kind);
    }
}

static int p_err(parser *p, const token *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int p_err(parser *p, const token *t, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_parse(p->err, t->line, t->col, "%s", msg);
}

static int p_err_at(parser *p, ast_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int p_err_at(parser *p, ast_pos pos, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_parse(p->err, pos.line, pos.col, "%s", msg);
}

/* `unexpected X in <where>, expected <what>` at the current token. */
static int p_unexpected(parser *p, const char *where, const char *expected)
{
    char d[80];
    const char *desc = p_desc(&p->tok, d, sizeof d);
    if (expected) return p_err(p, &p->tok, "unexpected %s in %s, expected %s", desc, where, expected);
    return p_err(p, &p->tok, "unexpected %s in %s", desc, where);
}

static int p_expect(parser *p, tok_kind k, const char *where)
{
    if (p->tok.kind != k) return p_unexpected(p, where, lex_kind_name(k));
    return p_advance(p);
}

static int p_oom(parser *p) { return err_set(p->err, CAIRN_ENOMEM, "out of memory parsing a query"); }

static int p_is_kw(const parser *p, tok_kw kw) { return p->tok.kind == T_IDENT && p->tok.kw == kw; }

static int p_new(parser *p, ast_kind kind, ast_pos pos, ast_node **out)
{
    ast_node *n = arena_calloc(p->ar, 1, sizeof *n);
    if (!n) return p_oom(p);
    n->kind = kind;
    n->pos = pos;
    n->height = 1;
    *out = n;
    return CAIRN_OK;
}

static int p_height(const ast_node *n) { return n ? n->height : 0; }

/* Set n->height from its children and enforce PARSE_MAX_HEIGHT. */
static int p_finish(parser *p, ast_node *n)
{
    int h = 0, c;
    switch (n->kind) {
    case AST_MATRIX_SEL: h = p_height(n->u.range.sel); break;
    case AST_SUBQUERY: h = p_height(n->u.sub.expr); break;
    case AST_CALL:
        for (size_t i = 0; i < n->u.call.n_args; i++)
            if ((c = p_height(n->u.call.args[i])) > h) h = c;
        break;
    case AST_AGGREGATE:
        h = p_height(n->u.agg.expr);
        if ((c = p_height(n->u.agg.param)) > h) h = c;
        break;
    case AST_BINARY:
        h = p_height(n->u.bin.lhs);
        if ((c = p_height(n->u.bin.rhs)) > h) h = c;
        break;
    case AST_UNARY: h = p_height(n->u.un.expr); break;
    case AST_PAREN: h = p_height(n->u.paren.expr); break;
    case AST_LOG_SELECTOR:
        for (size_t i = 0; i < n->u.log.n_stages; i++)
            if (n->u.log.stages[i].filter && (c = n->u.log.stages[i].filter->height) > h) h = c;
        break;
    case AST_LOG_RANGE: h = p_height(n->u.lrange.log); break;
    case AST_LOG_AGG:
        h = p_height(n->u.lagg.range);
        if ((c = p_height(n->u.lagg.param)) > h) h = c;
        break;
    default: break;
    }
    n->height = h + 1;
    if (n->height > PARSE_MAX_HEIGHT)
        return p_err_at(p, n->pos, "expression nested too deeply (more than %d levels)", PARSE_MAX_HEIGHT);
    return CAIRN_OK;
}

static int p_enter(parser *p)
{
    if (++p->depth > PARSE_MAX_DEPTH)
        return p_err(p, &p->tok, "expression nested too deeply (more than %d levels)", PARSE_MAX_DEPTH);
    return CAIRN_OK;
}

/* Growable arrays built in the arena: double the capacity, copy. Old blocks
 * stay in the arena until it is freed, which is fine for query-sized lists. */
static int p_grow(parser *p, void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return CAIRN_OK;
    size_t nc = *cap ? *cap * 2 : 4;
    void *nv = arena_alloc(p->ar, nc * elem);
    if (!nv) return p_oom(p);
    if (n) memcpy(nv, *v, n * elem);
    *v = nv;
    *cap = nc;
    return CAIRN_OK;
}

static int p_str(parser *p, const char *s, size_t n, ast_str *out)
{
    char *c = arena_strdup(p->ar, s, n);
    if (!c) return p_oom(p);
    out->p = c;
    out->len = n;
    return CAIRN_OK;
}

/* ---- durations ------------------------------------------------------------------- */

/* A Prometheus duration (5m, 1h30m) or a plain number of seconds (PromQL 3.x
 * accepts `[10]`, `offset 3`). `neg_ok`: a leading minus (offset). */
static int p_duration(parser *p, const char *where, int neg_ok, int64_t *ms)
{
    int neg = 0;
    if (neg_ok && (p->tok.kind == T_SUB || p->tok.kind == T_ADD)) {
        neg = p->tok.kind == T_SUB;
        TRY(p_advance(p));
    }
    if (p->tok.kind == T_DURATION) {
        if (!p->tok.dur_prom)
            return p_err(p, &p->tok, "bad duration \"%.*s\" in %s: use integers with units ms, s, m, h, d, w, y (e.g. 1h30m)",
                         (int)p->tok.len, p->tok.p, where);
        *ms = p->tok.dur_ms;
    } else if (p->tok.kind == T_NUMBER && p->lang == QLANG_PROMQL) {
        double v = p->tok.num * 1000.0;
        if (!(v >= 0 && v < 9.2e18)) return p_err(p, &p->tok, "duration out of range in %s", where);
        *ms = (int64_t)llround(v);
    } else {
        return p_unexpected(p, where, "duration");
    }
    if (neg) *ms = -*ms;
    return p_advance(p);
}

/* The lexer reads Inf and NaN as numbers; where a label name is expected
 * they are names (Prometheus lexes them as identifiers inside braces). */
static int p_infnan_name(const parser *p)
{
    char c = p->tok.len ? p->tok.p[0] : 0;
    return p->tok.kind == T_NUMBER && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* ---- selectors ----------------------------------------------------------------------- */

static int p_match_op(tok_kind k, ast_match_op *op)
{
    switch (k) {
    case T_EQ: *op = AST_MATCH_EQ; return 1;
    case T_NEQ: *op = AST_MATCH_NEQ; return 1;
    case T_EQ_REGEX: *op = AST_MATCH_RE; return 1;
    case T_NEQ_REGEX: *op = AST_MATCH_NRE; return 1;
    default: return 0;
    }
}

/* Could this matcher's value set exclude ""? A cheap, conservative view of
 * Prometheus' "matches the empty string": = with a value, and =~ with a
 * pattern that is not empty and not `.*`. */
/* Does the matcher reject the empty string (Prometheus' "non-empty matcher")?
 * Regexes are decided by compiling them as the index will (match.c). */
static int p_matcher_nonempty(const ast_matcher *m)
{
    if (m->op == AST_MATCH_EQ) return m->value.len > 0;
    if (m->op == AST_MATCH_NEQ) return m->value.len == 0;
    static const int ops[] = {CAIRN_MATCH_EQ, CAIRN_MATCH_NE, CAIRN_MATCH_RE, CAIRN_MATCH_NRE};
    cairn_matcher cm = {ops[m->op], m->name.p, m->name.len, m->value.p, m->value.len};
    match mm;
    if (match_compile(&mm, &cm, NULL)) return 1; /* a bad regex is reported when the selector runs */
    int empty = match_matches_empty(&mm);
    match_free(&mm);
    return !empty;
}

/* A matcher whose regex does not compile is a parse error at the matcher, as in
 * Prometheus and Loki (400 bad_data), not a failure when the selector runs. */
static int p_check_regex(parser *p, const ast_matcher *m)
{
    cairn_matcher cm = {m->op == AST_MATCH_RE ? CAIRN_MATCH_RE : CAIRN_MATCH_NRE, m->name.p, m->name.len, m->value.p,
                        m->value.len};
    match mm;
    cairn_err e = {0};
    if (match_compile(&mm, &cm, &e))
        return e.code == CAIRN_ENOMEM ? err_set(p->err, e.code, "%s", e.msg) : p_err_at(p, m->pos, "%s", e.msg);
    match_free(&mm);
    return CAIRN_OK;
}

/* `{` matchers `}`; the current token is `{`. */
static int p_matchers(parser *p, ast_matcher **out, size_t *n_out)
{
    ast_matcher *v = NULL;
    size_t n = 0, cap = 0;
    TRY(p_advance(p));
    while (p->tok.kind != T_RBRACE) {
        ast_matcher m;
        memset(&m, 0, sizeof m);
        m.pos = p_pos(&p->tok);
        if (p->tok.kind == T_IDENT || p_infnan_name(p)) {
            TRY(p_str(p, p->tok.p, p->tok.len, &m.name));
        } else if (p->tok.kind == T_STRING && p->lang == QLANG_PROMQL) {
            /* Prometheus 3 quoted names: {"a.b"="x"}, and a lone {"metric.name"}. */
            TRY(p_str(p, p->tok.s, p->tok.s_len, &m.name));
            const token *nx;
            TRY(p_peek(p, &nx));
            if (nx->kind == T_COMMA || nx->kind == T_RBRACE) {
                m.value = m.name;
                TRY(p_str(p, "__name__", 8, &m.name));
                m.op = AST_MATCH_EQ;
                TRY(p_advance(p));
                goto add;
            }
        } else {
            return p_unexpected(p, "selector", "label matcher");
        }
        TRY(p_advance(p));
        if (!p_match_op(p->tok.kind, &m.op)) return p_unexpected(p, "label matcher", "\"=\", \"!=\", \"=~\" or \"!~\"");
        TRY(p_advance(p));
        if (p->tok.kind != T_STRING) return p_unexpected(p, "label matcher", "string");
        TRY(p_str(p, p->tok.s, p->tok.s_len, &m.value));
        TRY(p_advance(p));
        if (m.op == AST_MATCH_RE || m.op == AST_MATCH_NRE) TRY(p_check_regex(p, &m));
    add:
        TRY(p_grow(p, (void **)&v, &cap, n, sizeof *v));
        v[n++] = m;
        if (p->tok.kind == T_COMMA) {
            TRY(p_advance(p));
        } else if (p->tok.kind != T_RBRACE) {
            return p_unexpected(p, "selector", "\",\" or \"}\"");
        }
    }
    TRY(p_advance(p));
    *out = v;
    *n_out = n;
    return CAIRN_OK;
}

/* PromQL vector selector: [name] [{matchers}]. The current token is the
 * name or `{`. */
static int p_vector_selector(parser *p, ast_node **out)
{
    ast_node *n = NULL;
    token start = p->tok;
    TRY(p_new(p, AST_VECTOR_SEL, p_pos(&start), &n));
    n->type = AST_T_VECTOR;
    if (start.kind == T_IDENT) {
        TRY(p_str(p, start.p, start.len, &n->u.sel.name));
        TRY(p_advance(p));
    }
    ast_pos brace = p_pos(&p->tok);
    if (p->tok.kind == T_LBRACE) TRY(p_matchers(p, &n->u.sel.m, &n->u.sel.n_m));
    size_t n_name = 0, eq_at = 0;
    for (size_t i = 0; i < n->u.sel.n_m; i++)
        if (strcmp(n->u.sel.m[i].name.p, "__name__") == 0) {
            if (n->u.sel.name.len)
                return p_err_at(p, n->u.sel.m[i].pos, "metric name must not be set twice: \"%s\" or \"%s\"",
                                n->u.sel.name.p, n->u.sel.m[i].value.p);
            n_name++;
            eq_at = i;
        }
    if (n_name == 1 && n->u.sel.m[eq_at].op == AST_MATCH_EQ && n->u.sel.m[eq_at].value.len) {
        n->u.sel.name = n->u.sel.m[eq_at].value;
        memmove(&n->u.sel.m[eq_at], &n->u.sel.m[eq_at + 1], (n->u.sel.n_m - eq_at - 1) * sizeof(ast_matcher));
        n->u.sel.n_m--;
    }
    int nonempty = n->u.sel.name.len > 0;
    for (size_t i = 0; i < n->u.sel.n_m && !nonempty; i++) nonempty = p_matcher_nonempty(&n->u.sel.m[i]);
    if (!nonempty) return p_err_at(p, brace, "vector selector must contain at least one non-empty matcher");
    *out = n;
    return CAIRN_OK;
}

/* ---- LogQL pipelines ------------------------------------------------------------------- */

/* Words that can never be label names in LogQL label filters. */
static int p_logql_reserved(const token *t)
{
    if (t->kind != T_IDENT) return 0;
    switch (t->kw) {
    case KW_NONE: case KW_DURATION: case KW_DURATION_SECONDS: case KW_BYTES: case KW_START: case KW_END:
    case KW_ATAN2:
        return 0;
    default: return 1;
    }
}

static int p_lf_expr(parser *p, ast_lf **out);

static int p_lf_new(parser *p, ast_lf_kind kind, ast_pos pos, ast_lf **out)
{
    ast_lf *f = arena_calloc(p->ar, 1, sizeof *f);
    if (!f) return p_oom(p);
    f->kind = kind;
    f->pos = pos;
    f->height = 1;
    *out = f;
    return CAIRN_OK;
}

static int p_lf_join(parser *p, ast_lf_kind kind, ast_lf *l, ast_lf *r, ast_lf **out)
{
    ast_lf *f = NULL;
    TRY(p_lf_new(p, kind, l->pos, &f));
    f->lhs = l;
    f->rhs = r;
    f->height = 1 + (l->height > r->height ? l->height : r->height);
    if (f->height > PARSE_MAX_HEIGHT)
        return p_err_at(p, f->pos, "label filter nested too deeply (more than %d levels)", PARSE_MAX_HEIGHT);
    *out = f;
    return CAIRN_OK;
}

/* name op value | ( expr ) */
static int p_lf_primary(parser *p, ast_lf **out)
{
    ast_lf *f = NULL;
    if (p->tok.kind == T_LPAREN) {
        TRY(p_enter(p));
        TRY(p_lf_new(p, AST_LFK_PAREN, p_pos(&p->tok), &f));
        TRY(p_advance(p));
        TRY(p_lf_expr(p, &f->lhs));
        TRY(p_expect(p, T_RPAREN, "label filter"));
        f->height = f->lhs->height + 1;
        p->depth--;
        *out = f;
        return CAIRN_OK;
    }
    if (p->tok.kind != T_IDENT || p_logql_reserved(&p->tok)) return p_unexpected(p, "label filter", "label name");
    token name = p->tok;
    TRY(p_advance(p));
    token op = p->tok;
    ast_match_op mop;
    ast_cmp cmp;
    int is_match = p_match_op(op.kind, &mop);
    switch (op.kind) {
    case T_EQ: cmp = AST_CMP_EQ; break;
    case T_EQLC: cmp = AST_CMP_EQLC; break;
    case T_NEQ: cmp = AST_CMP_NEQ; break;
    case T_GTR: cmp = AST_CMP_GTR; break;
    case T_GTE: cmp = AST_CMP_GTE; break;
    case T_LSS: cmp = AST_CMP_LSS; break;
    case T_LTE: cmp = AST_CMP_LTE; break;
    case T_EQ_REGEX: case T_NEQ_REGEX: cmp = AST_CMP_EQ; break;
    default:
        return p_unexpected(p, "label filter", "\"=\", \"!=\", \"=~\", \"!~\", \"==\", \">\", \">=\", \"<\" or \"<=\"");
    }
    TRY(p_advance(p));
    if (p->tok.kind == T_STRING) {
        if (!is_match)
            return p_err(p, &p->tok, "unexpected string in label filter: %.*s compares numbers, durations or bytes, not strings",
                         (int)op.len, op.p);
        TRY(p_lf_new(p, AST_LFK_STRING, p_pos(&name), &f));
        TRY(p_str(p, name.p, name.len, &f->m.name));
        TRY(p_str(p, p->tok.s, p->tok.s_len, &f->m.value));
        f->m.op = mop;
        f->m.pos = f->pos;
        TRY(p_advance(p));
        *out = f;
        return CAIRN_OK;
    }
    if (op.kind == T_EQ_REGEX || op.kind == T_NEQ_REGEX) return p_unexpected(p, "label filter", "string");
    int neg = 0;
    if (p->tok.kind == T_SUB) {
        neg = 1;
        TRY(p_advance(p));
    }
    ast_lf_kind kind;
    switch (p->tok.kind) {
    case T_NUMBER: kind = AST_LFK_NUMBER; break;
    case T_DURATION: kind = AST_LFK_DURATION; break;
    case T_BYTES: kind = AST_LFK_BYTES; break;
    default: return p_unexpected(p, "label filter", "string, number, duration or bytes");
    }
    TRY(p_lf_new(p, kind, p_pos(&name), &f));
    TRY(p_str(p, name.p, name.len, &f->name));
    f->cmp = cmp;
    f->value = neg ? -p->tok.num : p->tok.num;
    if (kind != AST_LFK_NUMBER) {
        if (neg) {
            char *t = arena_alloc(p->ar, p->tok.len + 2);
            if (!t) return p_oom(p);
            t[0] = '-';
            memcpy(t + 1, p->tok.p, p->tok.len);
            t[p->tok.len + 1] = '\0';
            f->text.p = t;
            f->text.len = p->tok.len + 1;
        } else {
            TRY(p_str(p, p->tok.p, p->tok.len, &f->text));
        }
    }
    TRY(p_advance(p));
    *out = f;
    return CAIRN_OK;
}

/* Conjunctions: `and`, `,` and juxtaposition all mean AND and bind tighter than `or`. */
static int p_lf_and(parser *p, ast_lf **out)
{
    ast_lf *l = NULL, *r = NULL;
    TRY(p_lf_primary(p, &l));
    for (;;) {
        if (p_is_kw(p, KW_AND) || p->tok.kind == T_COMMA) {
            TRY(p_advance(p));
        } else if (!(p->tok.kind == T_LPAREN || (p->tok.kind == T_IDENT && !p_logql_reserved(&p->tok)))) {
            break;
        }
        TRY(p_lf_primary(p, &r));
        TRY(p_lf_join(p, AST_LFK_AND, l, r, &l));
    }
    *out = l;
    return CAIRN_OK;
}

static int p_lf_expr(parser *p, ast_lf **out)
{
    ast_lf *l = NULL, *r = NULL;
    TRY(p_lf_and(p, &l));
    while (p_is_kw(p, KW_OR)) {
        TRY(p_advance(p));
        TRY(p_lf_and(p, &r));
        TRY(p_lf_join(p, AST_LFK_OR, l, r, &l));
    }
    *out = l;
    return CAIRN_OK;
}

/* a, b="x", c=~"y" … for drop/keep (matchers), json/logfmt (a="path"),
 * label_format (a=b or a="tmpl"). `kind` picks which forms are allowed. */
static int p_kv_list(parser *p, ast_stage *st, const char *where)
{
    size_t cap = 0;
    for (;;) {
        if (p->tok.kind != T_IDENT || p_logql_reserved(&p->tok)) return p_unexpected(p, where, "label name");
        ast_kv kv;
        memset(&kv, 0, sizeof kv);
        TRY(p_str(p, p->tok.p, p->tok.len, &kv.name));
        TRY(p_advance(p));
        ast_match_op op = AST_MATCH_EQ;
        int has_op = p_match_op(p->tok.kind, &op);
        if (st->kind != AST_ST_DROP && st->kind != AST_ST_KEEP && has_op && op != AST_MATCH_EQ) has_op = 0;
        if (has_op) {
            TRY(p_advance(p));
            kv.has_value = 1;
            kv.op = op;
            if (p->tok.kind == T_STRING) {
                TRY(p_str(p, p->tok.s, p->tok.s_len, &kv.value));
            } else if (st->kind == AST_ST_LABEL_FORMAT && p->tok.kind == T_IDENT && !p_logql_reserved(&p->tok)) {
                TRY(p_str(p, p->tok.p, p->tok.len, &kv.value));
                kv.value_is_name = 1;
            } else {
                return p_unexpected(p, where, st->kind == AST_ST_LABEL_FORMAT ? "string or label name" : "string");
            }
            TRY(p_advance(p));
        } else if (st->kind == AST_ST_LABEL_FORMAT) {
            return p_unexpected(p, where, "\"=\"");
        }
        TRY(p_grow(p, (void **)&st->kvs, &cap, st->n_kvs, sizeof(ast_kv)));
        st->kvs[st->n_kvs++] = kv;
        if (p->tok.kind != T_COMMA) break;
        TRY(p_advance(p));
    }
    return CAIRN_OK;
}

static int p_stage_string(parser *p, ast_stage *st, const char *where)
{
    if (p->tok.kind != T_STRING) return p_unexpected(p, where, "string");
    st->strs = arena_alloc(p->ar, sizeof(ast_str));
    if (!st->strs) return p_oom(p);
    TRY(p_str(p, p->tok.s, p->tok.s_len, &st->strs[0]));
    st->n_strs = 1;
    return p_advance(p);
}

/* One stage after `|`. */
static int p_pipe_stage(parser *p, ast_stage *st)
{
    TRY(p_advance(p)); /* the `|` */
    st->pos = p_pos(&p->tok);
    if (p->tok.kind == T_LPAREN) goto label_filter;
    if (p->tok.kind != T_IDENT) return p_unexpected(p, "pipeline", "a parser, a label filter or a stage (json, logfmt, line_format, …)");
    switch (p->tok.kw) {
    case KW_JSON: case KW_LOGFMT:
        st->kind = p->tok.kw == KW_JSON ? AST_ST_JSON : AST_ST_LOGFMT;
        TRY(p_advance(p));
        while (st->kind == AST_ST_LOGFMT && p->tok.kind == T_FLAG) {
            if (p->tok.len == 8) st->strict = 1;
            else st->keep_empty = 1;
            TRY(p_advance(p));
        }
        if (p->tok.kind == T_IDENT && !p_logql_reserved(&p->tok))
            TRY(p_kv_list(p, st, st->kind == AST_ST_JSON ? "json parameters" : "logfmt parameters"));
        return CAIRN_OK;
    case KW_REGEXP: st->kind = AST_ST_REGEXP; TRY(p_advance(p)); return p_stage_string(p, st, "regexp stage");
    case KW_PATTERN: st->kind = AST_ST_PATTERN; TRY(p_advance(p)); return p_stage_string(p, st, "pattern stage");
    case KW_LINE_FORMAT:
        st->kind = AST_ST_LINE_FORMAT;
        TRY(p_advance(p));
        return p_stage_string(p, st, "line_format stage");
    case KW_UNPACK: st->kind = AST_ST_UNPACK; return p_advance(p);
    case KW_DECOLORIZE: st->kind = AST_ST_DECOLORIZE; return p_advance(p);
    case KW_LABEL_FORMAT:
        st->kind = AST_ST_LABEL_FORMAT;
        TRY(p_advance(p));
        return p_kv_list(p, st, "label_format stage");
    case KW_DROP: case KW_KEEP:
        st->kind = p->tok.kw == KW_DROP ? AST_ST_DROP : AST_ST_KEEP;
        TRY(p_advance(p));
        return p_kv_list(p, st, st->kind == AST_ST_DROP ? "drop stage" : "keep stage");
    case KW_UNWRAP: {
        st->kind = AST_ST_UNWRAP;
        TRY(p_advance(p));
        const token *nx;
        TRY(p_peek(p, &nx));
        if (p->tok.kind == T_IDENT && nx->kind == T_LPAREN &&
            (p->tok.kw == KW_DURATION || p->tok.kw == KW_DURATION_SECONDS || p->tok.kw == KW_BYTES)) {
            st->unwrap_conv = p->tok.kw == KW_DURATION ? AST_UNWRAP_DURATION
                              : p->tok.kw == KW_BYTES  ? AST_UNWRAP_BYTES
                                                       : AST_UNWRAP_DURATION_SECONDS;
            TRY(p_advance(p));
            TRY(p_advance(p));
            if (p->tok.kind != T_IDENT || p_logql_reserved(&p->tok)) return p_unexpected(p, "unwrap stage", "label name");
            TRY(p_str(p, p->tok.p, p->tok.len, &st->unwrap_label));
            TRY(p_advance(p));
            return p_expect(p, T_RPAREN, "unwrap stage");
        }
        if (p->tok.kind != T_IDENT || p_logql_reserved(&p->tok)) return p_unexpected(p, "unwrap stage", "label name");
        TRY(p_str(p, p->tok.p, p->tok.len, &st->unwrap_label));
        return p_advance(p);
    }
    case KW_IP:
        return p_err(p, &p->tok, "ip() filters are not supported");
    default:
        if (p_logql_reserved(&p->tok)) return p_unexpected(p, "pipeline", "a parser, a label filter or a stage");
        break;
    }
label_filter:
    st->kind = AST_ST_LABEL_FILTER;
    return p_lf_expr(p, &st->filter);
}

static int p_is_line_filter(tok_kind k, ast_lf_op *op)
{
    switch (k) {
    case T_PIPE_EXACT: *op = AST_LF_CONTAINS; return 1;
    case T_NEQ: *op = AST_LF_NOT_CONTAINS; return 1;
    case T_PIPE_MATCH: *op = AST_LF_MATCH; return 1;
    case T_NEQ_REGEX: *op = AST_LF_NOT_MATCH; return 1;
    case T_PIPE_PATTERN: *op = AST_LF_PATTERN; return 1;
    case T_NPIPE_PATTERN: *op = AST_LF_NOT_PATTERN; return 1;
    default: return 0;
    }
}

/* Stages until something that is not a stage. */
static int p_pipeline(parser *p, ast_node *sel, size_t *cap)
{
    for (;;) {
        ast_stage st;
        memset(&st, 0, sizeof st);
        ast_lf_op lop;
        if (p_is_line_filter(p->tok.kind, &lop)) {
            st.kind = AST_ST_LINE_FILTER;
            st.lf_op = lop;
            st.pos = p_pos(&p->tok);
            size_t scap = 0;
            TRY(p_advance(p));
            for (;;) {
                if (p->tok.kind != T_STRING) {
                    if (p_is_kw(p, KW_IP)) return p_err(p, &p->tok, "ip() filters are not supported");
                    return p_unexpected(p, "line filter", "string");
                }
                TRY(p_grow(p, (void **)&st.strs, &scap, st.n_strs, sizeof(ast_str)));
                TRY(p_str(p, p->tok.s, p->tok.s_len, &st.strs[st.n_strs++]));
                TRY(p_advance(p));
                const token *nx;
                TRY(p_peek(p, &nx));
                if (!(p_is_kw(p, KW_OR) && nx->kind == T_STRING)) break;
                TRY(p_advance(p));
            }
        } else if (p->tok.kind == T_PIPE) {
            TRY(p_pipe_stage(p, &st));
        } else {
            return CAIRN_OK;
        }
        TRY(p_grow(p, (void **)&sel->u.log.stages, cap, sel->u.log.n_stages, sizeof(ast_stage)));
        sel->u.log.stages[sel->u.log.n_stages++] = st;
        TRY(p_finish(p, sel));
    }
}

/* {matchers} pipeline [range] pipeline offset — a log selector or, with a
 * range, a log range. The current token is `{`. */
static int p_log_selector(parser *p, ast_node **out)
{
    ast_node *sel = NULL, *rng = NULL;
    ast_pos pos = p_pos(&p->tok);
    TRY(p_new(p, AST_LOG_SELECTOR, pos, &sel));
    sel->type = AST_T_STREAMS;
    TRY(p_matchers(p, &sel->u.log.m, &sel->u.log.n_m));
    int nonempty = 0;
    for (size_t i = 0; i < sel->u.log.n_m && !nonempty; i++) nonempty = p_matcher_nonempty(&sel->u.log.m[i]);
    if (!nonempty)
        return p_err_at(p, pos,
                        "stream selector needs at least one matcher that does not match the empty string (e.g. app=\"x\" or app=~\".+\")");
    size_t cap = 0;
    TRY(p_pipeline(p, sel, &cap));
    if (p->tok.kind == T_LBRACKET) {
        ast_pos rpos = p_pos(&p->tok);
        TRY(p_new(p, AST_LOG_RANGE, pos, &rng));
        rng->type = AST_T_LOGRANGE;
        TRY(p_advance(p));
        TRY(p_duration(p, "range", 0, &rng->u.lrange.range_ms));
        if (rng->u.lrange.range_ms <= 0) return p_err_at(p, rpos, "range must be greater than 0");
        TRY(p_expect(p, T_RBRACKET, "range"));
        if (sel->u.log.n_stages == 0) TRY(p_pipeline(p, sel, &cap));
        if (p_is_kw(p, KW_OFFSET)) {
            TRY(p_advance(p));
            TRY(p_duration(p, "offset", 1, &rng->u.lrange.offset_ms));
            rng->u.lrange.has_offset = 1;
        }
        rng->u.lrange.log = sel;
    }
    /* unwrap: at most one, only in a range, followed only by label filters. */
    int seen_unwrap = 0;
    for (size_t i = 0; i < sel->u.log.n_stages; i++) {
        const ast_stage *st = &sel->u.log.stages[i];
        if (st->kind == AST_ST_UNWRAP) {
            if (!rng) return p_err_at(p, st->pos, "unwrap is only allowed in a range aggregation, e.g. sum_over_time({…} | unwrap x [5m])");
            if (seen_unwrap) return p_err_at(p, st->pos, "unwrap may appear only once");
            seen_unwrap = 1;
        } else if (seen_unwrap && st->kind != AST_ST_LABEL_FILTER) {
            return p_err_at(p, st->pos, "only label filters are allowed after unwrap");
        }
    }
    if (rng) {
        TRY(p_finish(p, rng));
        *out = rng;
    } else {
        *out = sel;
    }
    return CAIRN_OK;
}

static int p_has_unwrap(const ast_node *rng)
{
    const ast_node *sel = rng->u.lrange.log;
    for (size_t i = 0; i < sel->u.log.n_stages; i++)
        if (sel->u.log.stages[i].kind == AST_ST_UNWRAP) return 1;
    return 0;
}

/* ---- expressions ----------------------------------------------------------------------- */

static int p_expr(parser *p, int min_prec, ast_node **out);

static int p_binop(const parser *p, ast_binop *op)
{
    switch (p->tok.kind) {
    case T_ADD: *op = AST_OP_ADD; return 1;
    case T_SUB: *op = AST_OP_SUB; return 1;
    case T_MUL: *op = AST_OP_MUL; return 1;
    case T_DIV: *op = AST_OP_DIV; return 1;
    case T_MOD: *op = AST_OP_MOD; return 1;
    case T_POW: *op = AST_OP_POW; return 1;
    case T_EQLC: *op = AST_OP_EQLC; return 1;
    case T_NEQ: *op = AST_OP_NEQ; return 1;
    case T_GTR: *op = AST_OP_GTR; return 1;
    case T_LSS: *op = AST_OP_LSS; return 1;
    case T_GTE: *op = AST_OP_GTE; return 1;
    case T_LTE: *op = AST_OP_LTE; return 1;
    case T_IDENT:
        switch (p->tok.kw) {
        case KW_AND: *op = AST_OP_AND; return 1;
        case KW_OR: *op = AST_OP_OR; return 1;
        case KW_UNLESS: *op = AST_OP_UNLESS; return 1;
        case KW_ATAN2: *op = AST_OP_ATAN2; return p->lang == QLANG_PROMQL;
        default: return 0;
        }
    default: return 0;
    }
}

/* ( label, "label", … ) with an optional trailing comma. */
static int p_label_list(parser *p, ast_labels *out, const char *where)
{
    size_t cap = 0;
    out->v = NULL;
    out->n = 0;
    TRY(p_expect(p, T_LPAREN, where));
    while (p->tok.kind != T_RPAREN) {
        ast_str s;
        if (p->tok.kind == T_IDENT || p_infnan_name(p)) {
            TRY(p_str(p, p->tok.p, p->tok.len, &s));
        } else if (p->tok.kind == T_STRING && p->lang == QLANG_PROMQL) {
            TRY(p_str(p, p->tok.s, p->tok.s_len, &s));
        } else {
            return p_unexpected(p, where, "label name");
        }
        TRY(p_grow(p, (void **)&out->v, &cap, out->n, sizeof(ast_str)));
        out->v[out->n++] = s;
        TRY(p_advance(p));
        if (p->tok.kind == T_COMMA) {
            TRY(p_advance(p));
        } else if (p->tok.kind != T_RPAREN) {
            return p_unexpected(p, where, "\",\" or \")\"");
        }
    }
    return p_advance(p);
}

static int p_is_scalar_or_vector(const ast_node *n) { return n->type == AST_T_SCALAR || n->type == AST_T_VECTOR; }

static int p_binary(parser *p, ast_node *lhs, ast_node **out)
{
    ast_binop op;
    p_binop(p, &op);
    token optok = p->tok;
    ast_node *n = NULL;
    TRY(p_new(p, AST_BINARY, lhs->pos, &n));
    n->u.bin.op = op;
    n->u.bin.lhs = lhs;
    TRY(p_advance(p));
    if (p_is_kw(p, KW_BOOL)) {
        if (!ast_binop_is_comparison(op))
            return p_err(p, &p->tok, "bool modifier can only be used on comparison operators, not \"%s\"", ast_binop_name(op));
        n->u.bin.return_bool = 1;
        TRY(p_advance(p));
    }
    token mtok = p->tok;
    if (p_is_kw(p, KW_ON) || p_is_kw(p, KW_IGNORING)) {
        n->u.bin.has_matching = 1;
        n->u.bin.on = p->tok.kw == KW_ON;
        TRY(p_advance(p));
        TRY(p_label_list(p, &n->u.bin.matching, n->u.bin.on ? "on (…)" : "ignoring (…)"));
        if (p_is_kw(p, KW_GROUP_LEFT) || p_is_kw(p, KW_GROUP_RIGHT)) {
            if (ast_binop_is_set(op))
                return p_err(p, &p->tok, "no grouping allowed for \"%s\" operation", ast_binop_name(op));
            n->u.bin.card = p->tok.kw == KW_GROUP_LEFT ? AST_CARD_MANY_TO_ONE : AST_CARD_ONE_TO_MANY;
            TRY(p_advance(p));
            if (p->tok.kind == T_LPAREN)
                TRY(p_label_list(p, &n->u.bin.include, n->u.bin.card == AST_CARD_MANY_TO_ONE ? "group_left (…)" : "group_right (…)"));
            for (size_t i = 0; i < n->u.bin.include.n && n->u.bin.on; i++)
                for (size_t j = 0; j < n->u.bin.matching.n; j++)
                    if (strcmp(n->u.bin.include.v[i].p, n->u.bin.matching.v[j].p) == 0)
                        return p_err_at(p, p_pos(&mtok), "label \"%s\" must not occur in ON and GROUP clause at once",
                                        n->u.bin.include.v[i].p);
        }
    }
    int prec = ast_binop_prec(op);
    TRY(p_expr(p, op == AST_OP_POW ? prec : prec + 1, &n->u.bin.rhs));
    ast_node *rhs = n->u.bin.rhs;
    /* Type rules (Prometheus checkAST; Loki's are the same or stricter). */
    const char *side = NULL;
    const ast_node *bad = NULL;
    if (!p_is_scalar_or_vector(lhs)) { side = "left"; bad = lhs; }
    else if (!p_is_scalar_or_vector(rhs)) { side = "right"; bad = rhs; }
    if (bad)
        return p_err_at(p, bad->pos, "binary expression must contain only scalar and instant vector types: the %s operand of \"%s\" is a %s",
                        side, ast_binop_name(op), ast_type_name(bad->type));
    int both_vec = lhs->type == AST_T_VECTOR && rhs->type == AST_T_VECTOR;
    if (ast_binop_is_set(op) && !both_vec)
        return p_err(p, &optok, "set operator \"%s\" not allowed in binary scalar expression", ast_binop_name(op));
    if (n->u.bin.has_matching && !both_vec)
        return p_err_at(p, p_pos(&mtok), "vector matching only allowed between instant vectors");
    if (ast_binop_is_comparison(op) && lhs->type == AST_T_SCALAR && rhs->type == AST_T_SCALAR && !n->u.bin.return_bool)
        return p_err(p, &optok, "comparisons between scalars must use the bool modifier");
    n->type = (lhs->type == AST_T_SCALAR && rhs->type == AST_T_SCALAR) ? AST_T_SCALAR : AST_T_VECTOR;
    TRY(p_finish(p, n));
    *out = n;
    return CAIRN_OK;
}

/* by (…) / without (…) */
static int p_grouping(parser *p, ast_labels *g, int *without, int *has)
{
    if (*has) return p_err(p, &p->tok, "grouping given twice: use by/without either before or after the arguments");
    *without = p->tok.kw == KW_WITHOUT;
    *has = 1;
    TRY(p_advance(p));
    return p_label_list(p, g, *without ? "without (…)" : "by (…)");
}

/* Comma-separated arguments up to `)`; the current token is `(`. */
static int p_args(parser *p, ast_node ***args, size_t *n, const char *where)
{
    size_t cap = 0;
    *args = NULL;
    *n = 0;
    TRY(p_advance(p));
    if (p->tok.kind == T_RPAREN) return p_advance(p);
    for (;;) {
        ast_node *a = NULL;
        TRY(p_expr(p, 0, &a));
        TRY(p_grow(p, (void **)args, &cap, *n, sizeof(ast_node *)));
        (*args)[(*n)++] = a;
        if (p->tok.kind == T_COMMA) {
            TRY(p_advance(p));
            continue;
        }
        if (p->tok.kind == T_RPAREN) return p_advance(p);
        return p_unexpected(p, where, "\",\" or \")\"");
    }
}

static int p_aggregate(parser *p, const parse_agg *ag, ast_node **out)
{
    ast_node *n = NULL;
    TRY(p_new(p, AST_AGGREGATE, p_pos(&p->tok), &n));
    n->type = AST_T_VECTOR;
    TRY(p_str(p, ag->name, strlen(ag->name), &n->u.agg.op));
    TRY(p_advance(p));
    if (p_is_kw(p, KW_BY) || p_is_kw(p, KW_WITHOUT))
        TRY(p_grouping(p, &n->u.agg.grouping, &n->u.agg.without, &n->u.agg.has_grouping));
    if (p->tok.kind != T_LPAREN) return p_unexpected(p, "aggregation", "\"(\"");
    token open = p->tok;
    ast_node **args;
    size_t n_args;
    TRY(p_args(p, &args, &n_args, "aggregation"));
    if (p_is_kw(p, KW_BY) || p_is_kw(p, KW_WITHOUT))
        TRY(p_grouping(p, &n->u.agg.grouping, &n->u.agg.without, &n->u.agg.has_grouping));
    size_t want = ag->param ? 2 : 1;
    if (n_args != want)
        return p_err(p, &open, "wrong number of arguments for aggregation \"%s\": expected %zu, got %zu", ag->name, want, n_args);
    if (ag->param) {
        n->u.agg.param = args[0];
        if (args[0]->type != ag->param)
            return p_err_at(p, args[0]->pos, "expected type %s in aggregation parameter of \"%s\", got %s",
                            ast_type_name((ast_type)ag->param), ag->name, ast_type_name(args[0]->type));
        if (p->lang == QLANG_LOGQL && (strcmp(ag->name, "topk") == 0 || strcmp(ag->name, "bottomk") == 0)) {
            double k = args[0]->kind == AST_NUMBER ? args[0]->u.num : -1;
            if (!(k >= 1 && k == floor(k)))
                return p_err_at(p, args[0]->pos, "invalid parameter for %s: expected a positive integer", ag->name);
        }
    }
    n->u.agg.expr = args[want - 1];
    if (n->u.agg.expr->type != AST_T_VECTOR)
        return p_err_at(p, n->u.agg.expr->pos, "expected type instant vector in aggregation \"%s\", got %s", ag->name,
                        ast_type_name(n->u.agg.expr->type));
    if (ag->no_grouping && n->u.agg.has_grouping)
        return p_err_at(p, n->pos, "grouping not allowed for %s", ag->name);
    TRY(p_finish(p, n));
    *out = n;
    return CAIRN_OK;
}

static int p_log_agg(parser *p, const parse_lagg *lg, ast_node **out)
{
    ast_node *n = NULL;
    TRY(p_new(p, AST_LOG_AGG, p_pos(&p->tok), &n));
    n->type = AST_T_VECTOR;
    TRY(p_str(p, lg->name, strlen(lg->name), &n->u.lagg.op));
    TRY(p_advance(p));
    token open = p->tok;
    ast_node **args;
    size_t n_args;
    TRY(p_args(p, &args, &n_args, "range aggregation"));
    size_t want = lg->param ? 2 : 1;
    if (n_args != want)
        return p_err(p, &open, "wrong number of arguments for \"%s\": expected %zu, got %zu", lg->name, want, n_args);
    if (lg->param) {
        n->u.lagg.param = args[0];
        if (args[0]->type != AST_T_SCALAR)
            return p_err_at(p, args[0]->pos, "expected type scalar in parameter of \"%s\", got %s", lg->name,
                            ast_type_name(args[0]->type));
    }
    ast_node *r = args[want - 1];
    if (r->kind != AST_LOG_RANGE)
        return p_err_at(p, r->pos, "expected a log range like {app=\"x\"}[5m] in \"%s\", got %s", lg->name,
                        ast_type_name(r->type));
    n->u.lagg.range = r;
    int unwrap = p_has_unwrap(r);
    if (lg->unwrap == 1 && !unwrap)
        return p_err_at(p, r->pos, "invalid aggregation %s without unwrap", lg->name);
    if (lg->unwrap == 2 && unwrap) return p_err_at(p, r->pos, "invalid aggregation %s with unwrap", lg->name);
    if (p_is_kw(p, KW_BY) || p_is_kw(p, KW_WITHOUT)) {
        if (!lg->grouping) return p_err(p, &p->tok, "grouping not allowed for %s aggregation", lg->name);
        TRY(p_grouping(p, &n->u.lagg.grouping, &n->u.lagg.without, &n->u.lagg.has_grouping));
    }
    TRY(p_finish(p, n));
    *out = n;
    return CAIRN_OK;
}

static int p_call(parser *p, const ast_fn *fn, ast_node **out)
{
    ast_node *n = NULL;
    token name = p->tok;
    TRY(p_new(p, AST_CALL, p_pos(&name), &n));
    n->u.call.fn = fn;
    n->type = (ast_type)fn->ret;
    TRY(p_advance(p));
    TRY(p_args(p, &n->u.call.args, &n->u.call.n_args, "function call"));
    size_t na = n->u.call.n_args;
    if (na < fn->min_args || (!fn->variadic && na > fn->n_args)) {
        if (fn->min_args == fn->n_args)
            return p_err(p, &name, "expected %u argument(s) in call to \"%s\", got %zu", fn->n_args, fn->name, na);
        if (fn->variadic)
            return p_err(p, &name, "expected at least %u argument(s) in call to \"%s\", got %zu", fn->min_args, fn->name, na);
        return p_err(p, &name, "expected %u to %u argument(s) in call to \"%s\", got %zu", fn->min_args, fn->n_args,
                     fn->name, na);
    }
    for (size_t i = 0; i < na; i++) {
        ast_type want = (ast_type)fn->args[i < fn->n_args ? i : (size_t)fn->n_args - 1];
        if (n->u.call.args[i]->type != want)
            return p_err_at(p, n->u.call.args[i]->pos, "expected type %s in call to function \"%s\", got %s",
                            ast_type_name(want), fn->name, ast_type_name(n->u.call.args[i]->type));
    }
    TRY(p_finish(p, n));
    *out = n;
    return CAIRN_OK;
}

/* Identifier in operand position: call, aggregation or (PromQL) selector. */
static int p_ident(parser *p, ast_node **out)
{
    const token *nx;
    TRY(p_peek(p, &nx));
    const parse_agg *ag = parse_agg_lookup(p->lang, p->tok.p, p->tok.len);
    if (ag && (nx->kind == T_LPAREN || (nx->kind == T_IDENT && (nx->kw == KW_BY || nx->kw == KW_WITHOUT))))
        return p_aggregate(p, ag, out);
    if (nx->kind == T_LPAREN) {
        const parse_lagg *lg = parse_lagg_lookup(p->lang, p->tok.p, p->tok.len);
        if (lg) return p_log_agg(p, lg, out);
        const ast_fn *fn = parse_fn_lookup(p->lang, p->tok.p, p->tok.len);
        if (fn) return p_call(p, fn, out);
        const char *sug = parse_suggest(p->lang, p->tok.p, p->tok.len);
        if (sug)
            return p_err(p, &p->tok, "unknown function \"%.*s\" (did you mean \"%s\"?)", p->tok.len > 60 ? 60 : (int)p->tok.len,
                         p->tok.p, sug);
        return p_err(p, &p->tok, "unknown function \"%.*s\"", p->tok.len > 60 ? 60 : (int)p->tok.len, p->tok.p);
    }
    if (p->lang == QLANG_LOGQL) {
        char d[80];
        return p_err(p, &p->tok, "unexpected %s: LogQL expressions start with a stream selector {…}, a function or a number",
                     p_desc(&p->tok, d, sizeof d));
    }
    return p_vector_selector(p, out);
}

static int p_primary(parser *p, ast_node **out)
{
    ast_node *n = NULL;
    switch (p->tok.kind) {
    case T_NUMBER:
        TRY(p_new(p, AST_NUMBER, p_pos(&p->tok), &n));
        n->type = AST_T_SCALAR;
        n->u.num = p->tok.num;
        *out = n;
        return p_advance(p);
    case T_STRING:
        TRY(p_new(p, AST_STRING, p_pos(&p->tok), &n));
        n->type = AST_T_STRING;
        TRY(p_str(p, p->tok.s, p->tok.s_len, &n->u.str));
        *out = n;
        return p_advance(p);
    case T_LPAREN:
        TRY(p_new(p, AST_PAREN, p_pos(&p->tok), &n));
        TRY(p_advance(p));
        TRY(p_expr(p, 0, &n->u.paren.expr));
        TRY(p_expect(p, T_RPAREN, "parenthesised expression"));
        n->type = n->u.paren.expr->type;
        TRY(p_finish(p, n));
        *out = n;
        return CAIRN_OK;
    case T_LBRACE:
        if (p->lang == QLANG_LOGQL) return p_log_selector(p, out);
        return p_vector_selector(p, out);
    case T_IDENT: return p_ident(p, out);
    case T_DURATION:
        if (p->lang == QLANG_PROMQL && p->tok.dur_prom) {
            /* Prometheus 3: a duration literal is a number of seconds (predict_linear(x[1h], 1h)). */
            TRY(p_new(p, AST_NUMBER, p_pos(&p->tok), &n));
            n->type = AST_T_SCALAR;
            n->u.num = (double)p->tok.dur_ms / 1000.0;
            *out = n;
            return p_advance(p);
        }
        return p_err(p, &p->tok, "unexpected duration \"%.*s\": durations belong in ranges [5m] and after offset",
                     (int)p->tok.len, p->tok.p);
    default: return p_unexpected(p, "expression", NULL);
    }
}

/* @ <time> | @ start() | @ end() */
static int p_at(parser *p, ast_at *at, int64_t *at_ms)
{
    TRY(p_advance(p));
    if (p_is_kw(p, KW_START) || p_is_kw(p, KW_END)) {
        *at = p->tok.kw == KW_START ? AST_AT_START : AST_AT_END;
        TRY(p_advance(p));
        TRY(p_expect(p, T_LPAREN, "@ modifier"));
        return p_expect(p, T_RPAREN, "@ modifier");
    }
    int neg = 0;
    if (p->tok.kind == T_SUB || p->tok.kind == T_ADD) {
        neg = p->tok.kind == T_SUB;
        TRY(p_advance(p));
    }
    double sec;
    if (p->tok.kind == T_NUMBER) sec = p->tok.num;
    else if (p->tok.kind == T_DURATION && p->tok.dur_prom) sec = (double)p->tok.dur_ms / 1000.0;
    else return p_unexpected(p, "@ modifier", "timestamp, start() or end()");
    double ms = sec * 1000.0;
    /* |t| < 2^50 ms (35 000 years) keeps decimal seconds exact through a print/parse round trip. */
    if (!(fabs(ms) < 1125899906842624.0)) return p_err(p, &p->tok, "timestamp out of range in @ modifier");
    *at = AST_AT_TIME;
    *at_ms = (int64_t)llround(neg ? -ms : ms);
    return p_advance(p);
}

/* Ranges, subqueries, offset and @ after a PromQL primary. */
static int p_postfix(parser *p, ast_node *n, ast_node **out)
{
    for (;;) {
        if (p->tok.kind == T_LBRACKET) {
            token open = p->tok;
            TRY(p_advance(p));
            int64_t range;
            TRY(p_duration(p, n->kind == AST_VECTOR_SEL ? "range selector" : "subquery", 0, &range));
            if (range <= 0) return p_err(p, &open, "range must be greater than 0");
            if (p->tok.kind == T_COLON) {
                if (n->type != AST_T_VECTOR)
                    return p_err(p, &open, "subquery is only allowed on instant vector, got %s", ast_type_name(n->type));
                ast_node *s = NULL;
                TRY(p_new(p, AST_SUBQUERY, n->pos, &s));
                s->type = AST_T_MATRIX;
                s->u.sub.expr = n;
                s->u.sub.range_ms = range;
                TRY(p_advance(p));
                if (p->tok.kind != T_RBRACKET) {
                    TRY(p_duration(p, "subquery step", 0, &s->u.sub.step_ms));
                    if (s->u.sub.step_ms <= 0) return p_err(p, &open, "subquery step must be greater than 0");
                }
                TRY(p_expect(p, T_RBRACKET, "subquery"));
                TRY(p_finish(p, s));
                n = s;
                continue;
            }
            if (p->tok.kind != T_RBRACKET) return p_unexpected(p, "range selector", "\"]\" or \":\"");
            if (n->kind != AST_VECTOR_SEL)
                return p_err(p, &open, "ranges only allowed for vector selectors (use a subquery [%.*s:] for expressions)",
                             (int)(p->tok.p - open.p - 1), open.p + 1);
            if (n->u.sel.has_offset) return p_err(p, &open, "no offset modifiers allowed before range");
            if (n->u.sel.at != AST_AT_NONE) return p_err(p, &open, "no @ modifiers allowed before range");
            TRY(p_advance(p));
            ast_node *m = NULL;
            TRY(p_new(p, AST_MATRIX_SEL, n->pos, &m));
            m->type = AST_T_MATRIX;
            m->u.range.sel = n;
            m->u.range.range_ms = range;
            TRY(p_finish(p, m));
            n = m;
            continue;
        }
        if (p_is_kw(p, KW_OFFSET) || p->tok.kind == T_AT) {
            int is_at = p->tok.kind == T_AT;
            token mod = p->tok;
            int *has_off;
            int64_t *off, *at_ms;
            ast_at *at;
            if (n->kind == AST_VECTOR_SEL || n->kind == AST_MATRIX_SEL) {
                ast_node *sel = n->kind == AST_VECTOR_SEL ? n : n->u.range.sel;
                has_off = &sel->u.sel.has_offset;
                off = &sel->u.sel.offset_ms;
                at = &sel->u.sel.at;
                at_ms = &sel->u.sel.at_ms;
            } else if (n->kind == AST_SUBQUERY) {
                has_off = &n->u.sub.has_offset;
                off = &n->u.sub.offset_ms;
                at = &n->u.sub.at;
                at_ms = &n->u.sub.at_ms;
            } else {
                return p_err(p, &mod, "%s modifier must be preceded by a vector selector, a range selector or a subquery",
                             is_at ? "@" : "offset");
            }
            if (is_at) {
                if (*at != AST_AT_NONE) return p_err(p, &mod, "@ may not be set multiple times");
                TRY(p_at(p, at, at_ms));
            } else {
                if (*has_off) return p_err(p, &mod, "offset may not be set multiple times");
                TRY(p_advance(p));
                TRY(p_duration(p, "offset", 1, off));
                *has_off = 1;
            }
            continue;
        }
        *out = n;
        return CAIRN_OK;
    }
}

static int p_unary(parser *p, ast_node **out)
{
    if (p->tok.kind == T_SUB || p->tok.kind == T_ADD) {
        ast_node *n = NULL;
        TRY(p_new(p, AST_UNARY, p_pos(&p->tok), &n));
        n->u.un.neg = p->tok.kind == T_SUB;
        TRY(p_advance(p));
        TRY(p_expr(p, 6, &n->u.un.expr));
        if (!p_is_scalar_or_vector(n->u.un.expr))
            return p_err_at(p, n->pos, "unary expression only allowed on expressions of type scalar or instant vector, got %s",
                            ast_type_name(n->u.un.expr->type));
        n->type = n->u.un.expr->type;
        TRY(p_finish(p, n));
        *out = n;
        return CAIRN_OK;
    }
    ast_node *prim = NULL;
    TRY(p_primary(p, &prim));
    if (p->lang == QLANG_PROMQL) return p_postfix(p, prim, out);
    *out = prim;
    return CAIRN_OK;
}

static int p_expr(parser *p, int min_prec, ast_node **out)
{
    ast_node *lhs = NULL;
    TRY(p_enter(p));
    TRY(p_unary(p, &lhs));
    ast_binop op;
    while (p_binop(p, &op) && ast_binop_prec(op) >= min_prec) TRY(p_binary(p, lhs, &lhs));
    p->depth--;
    *out = lhs;
    return CAIRN_OK;
}

int parse_query(arena *ar, int lang, const char *src, size_t len, ast_node **out, cairn_err *err)
{
    parser p;
    memset(&p, 0, sizeof p);
    p.ar = ar;
    p.lang = lang;
    p.err = err;
    *out = NULL;
    if (lang != QLANG_PROMQL && lang != QLANG_LOGQL) return err_set(err, CAIRN_EINVAL, "unknown query language %d", lang);
    lex_init(&p.lx, lang, src, len, ar);
    TRY(p_advance(&p));
    if (p.tok.kind == T_EOF) return p_err(&p, &p.tok, "empty query");
    ast_node *root = NULL;
    TRY(p_expr(&p, 0, &root));
    if (p.tok.kind != T_EOF) {
        char d[80];
        return p_err(&p, &p.tok, "unexpected %s after a complete expression", p_desc(&p.tok, d, sizeof d));
    }
    if (root->type == AST_T_LOGRANGE)
        return p_err_at(&p, root->pos, "a log range needs a range aggregation, e.g. count_over_time({…}[5m])");
    *out = root;
    return CAIRN_OK;
}
