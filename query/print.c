/*
 * print.c — canonical text for query ASTs (see print.h).
 *
 * The printer is the inverse of query/parse.c, and that is its contract: for
 * every tree the parser returns, parse(print(tree)) is ast_equal to the tree
 * and print(parse(print(tree))) is byte-identical to print(tree). The unit
 * tests check it over the Prometheus test-suite expressions and the LogQL
 * examples, and the fuzz target tests/fuzz/fuzz_parse.c checks it on
 * arbitrary input.
 *
 * How it stays an inverse:
 * - Parentheses are nodes (AST_PAREN, AST_LFK_PAREN), so the printer never
 *   has to invent or drop any; the parser built left-deep and right-deep
 *   chains from the same operator precedences, so writing the operators back
 *   in tree order reproduces the same tree.
 * - Modifier lists are always printed with their parentheses
 *   (`group_left ()`), because `group_left (x)` followed by a parenthesised
 *   operand would otherwise be ambiguous.
 * - A metric name is printed bare only when it lexes back as a plain
 *   identifier (not a keyword like `bool` or `on`, not Inf/NaN); otherwise as
 *   {__name__="…"}, which the parser lifts back into the name.
 * - Numbers use the shortest %.Ng that strtod maps to the same bits; every
 *   NaN prints as NaN. Durations print as Prometheus' model.Duration does:
 *   y (only when exact), w, d, h, m, s, ms; `@` times as decimal seconds.
 * - Strings are double-quoted; `"`, `\` and control bytes are escaped, valid
 *   UTF-8 is copied, and stray bytes >= 0x80 become \xNN (the lexer turns each
 *   back into the same byte).
 *
 * Output goes to a buf (base/buf.h); recursion depth is bounded by the
 * parser's PARSE_MAX_HEIGHT. No globals.
 */
#include "print.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"
#include "labels.h"
#include "token.h"

#define TRY(expr)                    \
    do {                             \
        int rc_ = (expr);            \
        if (rc_) return rc_;         \
    } while (0)

static int pr_z(buf *b, const char *z) { return buf_put(b, z, strlen(z)); }
static int pr_s(buf *b, ast_str s) { return buf_put(b, s.p, s.len); }

int print_number(buf *b, double v)
{
    if (isnan(v)) return pr_z(b, "NaN");
    if (isinf(v)) return pr_z(b, v > 0 ? "Inf" : "-Inf");
    char tmp[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(tmp, sizeof tmp, "%.0f", v); /* integers without exponent; keeps "-0" */
        return pr_z(b, tmp);
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    return pr_z(b, tmp);
}

int print_duration(buf *b, int64_t ms)
{
    static const struct { const char *u; int64_t ms; int exact; } units[] = {
        {"y", 365LL * 24 * 3600 * 1000, 1}, {"w", 7LL * 24 * 3600 * 1000, 0}, {"d", 24LL * 3600 * 1000, 0},
        {"h", 3600LL * 1000, 0}, {"m", 60LL * 1000, 0}, {"s", 1000, 0}, {"ms", 1, 0},
    };
    char tmp[64];
    if (ms == 0) return pr_z(b, "0s");
    if (ms < 0) {
        TRY(pr_z(b, "-"));
        if (ms == INT64_MIN) ms = INT64_MAX; /* unreachable from the parser */
        else ms = -ms;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (units[i].exact && ms % units[i].ms) continue;
        int64_t v = ms / units[i].ms;
        if (v > 0) {
            snprintf(tmp, sizeof tmp, "%" PRId64 "%s", v, units[i].u);
            TRY(pr_z(b, tmp));
            ms -= v * units[i].ms;
        }
    }
    return CAIRN_OK;
}

int print_string(buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    TRY(buf_put_u8(b, '"'));
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            TRY(buf_put(b, esc, 2));
            i++;
        } else if (c == '\n') { TRY(pr_z(b, "\\n")); i++; }
        else if (c == '\t') { TRY(pr_z(b, "\\t")); i++; }
        else if (c == '\r') { TRY(pr_z(b, "\\r")); i++; }
        else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            TRY(pr_z(b, esc));
            i++;
        } else if (c < 0x80) {
            TRY(buf_put_u8(b, (uint8_t)c));
            i++;
        } else {
            size_t l = labels_utf8_seq(u + i, n - i);
            if (l) {
                TRY(buf_put(b, u + i, l));
                i += l;
            } else {
                snprintf(esc, sizeof esc, "\\x%02x", c);
                TRY(pr_z(b, esc));
                i++;
            }
        }
    }
    return buf_put_u8(b, '"');
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* — what the lexer reads as one identifier. */
static int pr_is_ident(ast_str s)
{
    if (s.len == 0) return 0;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

static int pr_is_infnan(ast_str s)
{
    if (s.len != 3) return 0;
    char l[3];
    for (int i = 0; i < 3; i++) l[i] = (char)((s.p[i] >= 'A' && s.p[i] <= 'Z') ? s.p[i] + 32 : s.p[i]);
    return memcmp(l, "inf", 3) == 0 || memcmp(l, "nan", 3) == 0;
}

/* A label name in a matcher or list: bare when it lexes as an identifier
 * (Inf/NaN too: the parser takes those number tokens as names there). */
static int pr_label(buf *b, ast_str s)
{
    if (pr_is_ident(s)) return pr_s(b, s);
    return print_string(b, s.p, s.len);
}

static int pr_labels(buf *b, const ast_labels *l)
{
    TRY(pr_z(b, "("));
    for (size_t i = 0; i < l->n; i++) {
        if (i) TRY(pr_z(b, ", "));
        TRY(pr_label(b, l->v[i]));
    }
    return pr_z(b, ")");
}

static int pr_matcher(buf *b, const ast_matcher *m)
{
    TRY(pr_label(b, m->name));
    TRY(pr_z(b, ast_match_op_name(m->op)));
    return print_string(b, m->value.p, m->value.len);
}

static int pr_at_time(buf *b, int64_t ms)
{
    char tmp[48];
    uint64_t a = ms < 0 ? (uint64_t)(-(ms + 1)) + 1 : (uint64_t)ms;
    uint64_t whole = a / 1000, frac = a % 1000;
    if (frac == 0) snprintf(tmp, sizeof tmp, "%s%" PRIu64, ms < 0 ? "-" : "", whole);
    else {
        snprintf(tmp, sizeof tmp, "%s%" PRIu64 ".%03" PRIu64, ms < 0 ? "-" : "", whole, frac);
        size_t l = strlen(tmp);
        while (tmp[l - 1] == '0') tmp[--l] = '\0';
    }
    return pr_z(b, tmp);
}

static int pr_modifiers(buf *b, ast_at at, int64_t at_ms, int has_offset, int64_t offset_ms)
{
    switch (at) {
    case AST_AT_TIME: TRY(pr_z(b, " @ ")); TRY(pr_at_time(b, at_ms)); break;
    case AST_AT_START: TRY(pr_z(b, " @ start()")); break;
    case AST_AT_END: TRY(pr_z(b, " @ end()")); break;
    case AST_AT_NONE: break;
    }
    if (has_offset) {
        TRY(pr_z(b, " offset "));
        TRY(print_duration(b, offset_ms));
    }
    return CAIRN_OK;
}

static int pr_selector_body(buf *b, const ast_node *n)
{
    int bare = n->u.sel.name.len && pr_is_ident(n->u.sel.name) &&
               lex_keyword(n->u.sel.name.p, n->u.sel.name.len) == KW_NONE && !pr_is_infnan(n->u.sel.name);
    if (bare) TRY(pr_s(b, n->u.sel.name));
    size_t total = n->u.sel.n_m + (n->u.sel.name.len && !bare);
    if (total == 0) return CAIRN_OK;
    TRY(pr_z(b, "{"));
    int first = 1;
    if (n->u.sel.name.len && !bare) {
        TRY(pr_z(b, "__name__="));
        TRY(print_string(b, n->u.sel.name.p, n->u.sel.name.len));
        first = 0;
    }
    for (size_t i = 0; i < n->u.sel.n_m; i++) {
        if (!first) TRY(pr_z(b, ", "));
        first = 0;
        TRY(pr_matcher(b, &n->u.sel.m[i]));
    }
    return pr_z(b, "}");
}

/* ---- LogQL ---------------------------------------------------------------------------- */

static const char *pr_cmp(ast_cmp c)
{
    switch (c) {
    case AST_CMP_EQ: return "=";
    case AST_CMP_EQLC: return "==";
    case AST_CMP_NEQ: return "!=";
    case AST_CMP_GTR: return ">";
    case AST_CMP_GTE: return ">=";
    case AST_CMP_LSS: return "<";
    case AST_CMP_LTE: return "<=";
    }
    return "?";
}

static int pr_lf(buf *b, const ast_lf *f)
{
    switch (f->kind) {
    case AST_LFK_AND: case AST_LFK_OR:
        TRY(pr_lf(b, f->lhs));
        TRY(pr_z(b, f->kind == AST_LFK_AND ? " and " : " or "));
        return pr_lf(b, f->rhs);
    case AST_LFK_PAREN:
        TRY(pr_z(b, "("));
        TRY(pr_lf(b, f->lhs));
        return pr_z(b, ")");
    case AST_LFK_STRING: return pr_matcher(b, &f->m);
    case AST_LFK_NUMBER: case AST_LFK_DURATION: case AST_LFK_BYTES:
        TRY(pr_s(b, f->name));
        TRY(pr_z(b, " "));
        TRY(pr_z(b, pr_cmp(f->cmp)));
        TRY(pr_z(b, " "));
        if (f->kind == AST_LFK_NUMBER) return print_number(b, f->value);
        return pr_s(b, f->text);
    }
    return CAIRN_OK;
}

static int pr_kvs(buf *b, const ast_stage *st)
{
    for (size_t i = 0; i < st->n_kvs; i++) {
        const ast_kv *kv = &st->kvs[i];
        TRY(pr_z(b, i ? ", " : " "));
        TRY(pr_s(b, kv->name));
        if (!kv->has_value) continue;
        TRY(pr_z(b, ast_match_op_name(kv->op)));
        if (kv->value_is_name) TRY(pr_s(b, kv->value));
        else TRY(print_string(b, kv->value.p, kv->value.len));
    }
    return CAIRN_OK;
}

static int pr_stage(buf *b, const ast_stage *st)
{
    static const char *const lf_ops[] = {"|=", "!=", "|~", "!~", "|>", "!>"};
    switch (st->kind) {
    case AST_ST_LINE_FILTER:
        TRY(pr_z(b, " "));
        TRY(pr_z(b, lf_ops[st->lf_op]));
        for (size_t i = 0; i < st->n_strs; i++) {
            TRY(pr_z(b, i ? " or " : " "));
            TRY(print_string(b, st->strs[i].p, st->strs[i].len));
        }
        return CAIRN_OK;
    case AST_ST_JSON: TRY(pr_z(b, " | json")); return pr_kvs(b, st);
    case AST_ST_LOGFMT:
        TRY(pr_z(b, " | logfmt"));
        if (st->strict) TRY(pr_z(b, " --strict"));
        if (st->keep_empty) TRY(pr_z(b, " --keep-empty"));
        return pr_kvs(b, st);
    case AST_ST_REGEXP: case AST_ST_PATTERN: case AST_ST_LINE_FORMAT:
        TRY(pr_z(b, st->kind == AST_ST_REGEXP ? " | regexp " : st->kind == AST_ST_PATTERN ? " | pattern " : " | line_format "));
        return print_string(b, st->strs[0].p, st->strs[0].len);
    case AST_ST_UNPACK: return pr_z(b, " | unpack");
    case AST_ST_DECOLORIZE: return pr_z(b, " | decolorize");
    case AST_ST_LABEL_FILTER: TRY(pr_z(b, " | ")); return pr_lf(b, st->filter);
    case AST_ST_LABEL_FORMAT: TRY(pr_z(b, " | label_format")); return pr_kvs(b, st);
    case AST_ST_DROP: TRY(pr_z(b, " | drop")); return pr_kvs(b, st);
    case AST_ST_KEEP: TRY(pr_z(b, " | keep")); return pr_kvs(b, st);
    case AST_ST_UNWRAP:
        TRY(pr_z(b, " | unwrap "));
        switch (st->unwrap_conv) {
        case AST_UNWRAP_NONE: return pr_s(b, st->unwrap_label);
        case AST_UNWRAP_DURATION: TRY(pr_z(b, "duration(")); break;
        case AST_UNWRAP_DURATION_SECONDS: TRY(pr_z(b, "duration_seconds(")); break;
        case AST_UNWRAP_BYTES: TRY(pr_z(b, "bytes(")); break;
        }
        TRY(pr_s(b, st->unwrap_label));
        return pr_z(b, ")");
    default: return CAIRN_OK;
    }
}

static int pr_grouping_prefix(buf *b, int has, int without, const ast_labels *g)
{
    if (!has) return CAIRN_OK;
    TRY(pr_z(b, without ? " without " : " by "));
    TRY(pr_labels(b, g));
    return pr_z(b, " ");
}

/* ---- nodes ------------------------------------------------------------------------------- */

int print_ast(buf *b, const ast_node *n)
{
    switch (n->kind) {
    case AST_NUMBER: return print_number(b, n->u.num);
    case AST_STRING: return print_string(b, n->u.str.p, n->u.str.len);
    case AST_VECTOR_SEL:
        TRY(pr_selector_body(b, n));
        return pr_modifiers(b, n->u.sel.at, n->u.sel.at_ms, n->u.sel.has_offset, n->u.sel.offset_ms);
    case AST_MATRIX_SEL: {
        const ast_node *s = n->u.range.sel;
        TRY(pr_selector_body(b, s));
        TRY(pr_z(b, "["));
        TRY(print_duration(b, n->u.range.range_ms));
        TRY(pr_z(b, "]"));
        return pr_modifiers(b, s->u.sel.at, s->u.sel.at_ms, s->u.sel.has_offset, s->u.sel.offset_ms);
    }
    case AST_SUBQUERY:
        TRY(print_ast(b, n->u.sub.expr));
        TRY(pr_z(b, "["));
        TRY(print_duration(b, n->u.sub.range_ms));
        TRY(pr_z(b, ":"));
        if (n->u.sub.step_ms) TRY(print_duration(b, n->u.sub.step_ms));
        TRY(pr_z(b, "]"));
        return pr_modifiers(b, n->u.sub.at, n->u.sub.at_ms, n->u.sub.has_offset, n->u.sub.offset_ms);
    case AST_CALL:
        TRY(pr_z(b, n->u.call.fn->name));
        TRY(pr_z(b, "("));
        for (size_t i = 0; i < n->u.call.n_args; i++) {
            if (i) TRY(pr_z(b, ", "));
            TRY(print_ast(b, n->u.call.args[i]));
        }
        return pr_z(b, ")");
    case AST_AGGREGATE:
        TRY(pr_s(b, n->u.agg.op));
        TRY(pr_grouping_prefix(b, n->u.agg.has_grouping, n->u.agg.without, &n->u.agg.grouping));
        TRY(pr_z(b, "("));
        if (n->u.agg.param) {
            TRY(print_ast(b, n->u.agg.param));
            TRY(pr_z(b, ", "));
        }
        TRY(print_ast(b, n->u.agg.expr));
        return pr_z(b, ")");
    case AST_BINARY:
        TRY(print_ast(b, n->u.bin.lhs));
        TRY(pr_z(b, " "));
        TRY(pr_z(b, ast_binop_name(n->u.bin.op)));
        if (n->u.bin.return_bool) TRY(pr_z(b, " bool"));
        if (n->u.bin.has_matching) {
            TRY(pr_z(b, n->u.bin.on ? " on " : " ignoring "));
            TRY(pr_labels(b, &n->u.bin.matching));
            if (n->u.bin.card != AST_CARD_ONE_TO_ONE) {
                TRY(pr_z(b, n->u.bin.card == AST_CARD_MANY_TO_ONE ? " group_left " : " group_right "));
                TRY(pr_labels(b, &n->u.bin.include));
            }
        }
        TRY(pr_z(b, " "));
        return print_ast(b, n->u.bin.rhs);
    case AST_UNARY:
        TRY(pr_z(b, n->u.un.neg ? "-" : "+"));
        return print_ast(b, n->u.un.expr);
    case AST_PAREN:
        TRY(pr_z(b, "("));
        TRY(print_ast(b, n->u.paren.expr));
        return pr_z(b, ")");
    case AST_LOG_SELECTOR:
        TRY(pr_z(b, "{"));
        for (size_t i = 0; i < n->u.log.n_m; i++) {
            if (i) TRY(pr_z(b, ", "));
            TRY(pr_matcher(b, &n->u.log.m[i]));
        }
        TRY(pr_z(b, "}"));
        for (size_t i = 0; i < n->u.log.n_stages; i++) TRY(pr_stage(b, &n->u.log.stages[i]));
        return CAIRN_OK;
    case AST_LOG_RANGE:
        TRY(print_ast(b, n->u.lrange.log));
        TRY(pr_z(b, n->u.lrange.log->u.log.n_stages ? " [" : "["));
        TRY(print_duration(b, n->u.lrange.range_ms));
        TRY(pr_z(b, "]"));
        if (n->u.lrange.has_offset) {
            TRY(pr_z(b, " offset "));
            TRY(print_duration(b, n->u.lrange.offset_ms));
        }
        return CAIRN_OK;
    case AST_LOG_AGG:
        TRY(pr_s(b, n->u.lagg.op));
        TRY(pr_z(b, "("));
        if (n->u.lagg.param) {
            TRY(print_ast(b, n->u.lagg.param));
            TRY(pr_z(b, ", "));
        }
        TRY(print_ast(b, n->u.lagg.range));
        TRY(pr_z(b, ")"));
        if (n->u.lagg.has_grouping) {
            TRY(pr_z(b, n->u.lagg.without ? " without " : " by "));
            TRY(pr_labels(b, &n->u.lagg.grouping));
        }
        return CAIRN_OK;
    default: return CAIRN_OK;
    }
}

char *print_ast_z(arena *ar, const ast_node *n, size_t *len)
{
    buf b;
    buf_init(&b);
    char *out = NULL;
    if (print_ast(&b, n) == CAIRN_OK) out = arena_strdup(ar, (const char *)b.p, b.len);
    if (out && len) *len = b.len;
    buf_free(&b);
    return out;
}
