/*
 * test_parse.c — the PromQL/LogQL parser, AST equality and the canonical
 * printer (query/parse.c, query/ast.c, query/print.c).
 *
 * - precedence and associativity, checked on a fully bracketed dump of the tree;
 * - every error path with its exact message and position;
 * - parse -> print -> parse gives an ast_equal tree and print is idempotent,
 *   over tests/golden/promql/queries.txt (every eval expression of Prometheus'
 *   own test scripts) and tests/golden/logql/queries.txt;
 * - how many eval expressions of ../shared/promql-testdata parse (printed);
 * - canonical forms, AST fields, nesting limits, and the OOM loop.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "mem.h"
#include "parse.h"
#include "print.h"
#include "support.h"

/* ---- helpers ------------------------------------------------------------------------ */

static ast_node *parse_ok(arena *ar, int lang, const char *src)
{
    ast_node *root = NULL;
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = parse_query(ar, lang, src, strlen(src), &root, &e);
    if (rc) fail_msg("parse of %s failed: %s", src, e.msg);
    assert_non_null(root);
    return root;
}

/* Fully bracketed form: binary "(l op r)", unary "(-x)", paren "[x]", others printed. */
static void dump(buf *b, const ast_node *n)
{
    switch (n->kind) {
    case AST_BINARY:
        buf_put(b, "(", 1);
        dump(b, n->u.bin.lhs);
        buf_put(b, " ", 1);
        buf_put(b, ast_binop_name(n->u.bin.op), strlen(ast_binop_name(n->u.bin.op)));
        buf_put(b, " ", 1);
        dump(b, n->u.bin.rhs);
        buf_put(b, ")", 1);
        break;
    case AST_UNARY:
        buf_put(b, n->u.un.neg ? "(-" : "(+", 2);
        dump(b, n->u.un.expr);
        buf_put(b, ")", 1);
        break;
    case AST_PAREN:
        buf_put(b, "[", 1);
        dump(b, n->u.paren.expr);
        buf_put(b, "]", 1);
        break;
    default: print_ast(b, n); break;
    }
}

static void check_structure(int lang, const char *src, const char *want)
{
    arena *ar = arena_new(0);
    buf b;
    buf_init(&b);
    dump(&b, parse_ok(ar, lang, src));
    buf_put_u8(&b, 0);
    if (strcmp((char *)b.p, want) != 0) fail_msg("%s\n  parsed as %s\n  want      %s", src, (char *)b.p, want);
    buf_free(&b);
    arena_free(ar);
}

static void check_error(int lang, const char *src, int line, int col, const char *msg)
{
    arena *ar = arena_new(0);
    ast_node *root = NULL;
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = parse_query(ar, lang, src, strlen(src), &root, &e);
    if (rc != CAIRN_EPARSE) fail_msg("%s: expected CAIRN_EPARSE, got %d", src, rc);
    assert_int_equal(e.code, CAIRN_EPARSE);
    if (strcmp(e.msg, msg) != 0) fail_msg("%s\n  message %s\n  want    %s", src, e.msg, msg);
    assert_int_equal(e.line, line);
    assert_int_equal(e.col, col);
    arena_free(ar);
}

/* parse -> print -> parse: equal trees, identical second print. Returns 0 on a
 * parse error of the input (when allowed), 1 on success; fails on a round-trip bug. */
static int roundtrip(int lang, const char *src, size_t len, int must_parse, char **canon_out)
{
    arena *ar = arena_new(0);
    ast_node *a = NULL, *b = NULL;
    cairn_err e;
    int rc = parse_query(ar, lang, src, len, &a, &e);
    if (rc) {
        if (must_parse) fail_msg("parse of %.*s failed: %s", (int)len, src, e.msg);
        arena_free(ar);
        return 0;
    }
    size_t l1, l2;
    char *p1 = print_ast_z(ar, a, &l1);
    assert_non_null(p1);
    rc = parse_query(ar, lang, p1, l1, &b, &e);
    if (rc) fail_msg("re-parse of %s (printed from %.*s) failed: %s", p1, (int)len, src, e.msg);
    if (!ast_equal(a, b)) fail_msg("round trip changed the tree: %.*s -> %s", (int)len, src, p1);
    char *p2 = print_ast_z(ar, b, &l2);
    if (l1 != l2 || strcmp(p1, p2) != 0) fail_msg("print not idempotent: %s -> %s", p1, p2);
    if (canon_out) *canon_out = strdup(p1);
    arena_free(ar);
    return 1;
}

static void check_canonical(int lang, const char *src, const char *want)
{
    char *canon = NULL;
    roundtrip(lang, src, strlen(src), 1, &canon);
    if (strcmp(canon, want) != 0) fail_msg("%s\n  printed %s\n  want    %s", src, canon, want);
    free(canon);
}

/* Run every non-comment line of a golden file through roundtrip(). */
static size_t roundtrip_file(int lang, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s (tests run from the repository root)", path);
    char line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0 || line[0] == '#') continue;
        roundtrip(lang, line, len, 1, NULL);
        n++;
    }
    fclose(f);
    return n;
}

/* ---- precedence ---------------------------------------------------------------------- */

static void test_parse_precedence(void **state)
{
    (void)state;
    static const struct { const char *src, *want; } cases[] = {
        {"2^3^2", "(2 ^ (3 ^ 2))"},
        {"-2^2", "(-(2 ^ 2))"},
        {"a - b - c", "((a - b) - c)"},
        {"a / b * c % d", "(((a / b) * c) % d)"},
        {"1 + 2 * 3", "(1 + (2 * 3))"},
        {"1 * 2 + 3", "((1 * 2) + 3)"},
        {"a or b and c unless d", "(a or ((b and c) unless d))"},
        {"a and b or c", "((a and b) or c)"},
        {"a + b > bool c * d", "((a + b) > (c * d))"},
        {"a == b != c", "((a == b) != c)"},
        {"a atan2 b * c", "((a atan2 b) * c)"},
        {"a ^ b atan2 c", "((a ^ b) atan2 c)"},
        {"-a * b", "((-a) * b)"},
        {"-a + b", "((-a) + b)"},
        {"- - - 1", "(-(-(-1)))"},
        {"2/-2^---1*3+2", "(((2 / (-(2 ^ (-(-(-1)))))) * 3) + 2)"},
        {"-10^3 * - SUM(x) BY (job) ^ -1", "((-(10 ^ 3)) * (-(sum by (job) (x) ^ (-1))))"},
        {"2 ^ -1 * 3", "((2 ^ (-1)) * 3)"},
        {"2 ^ -1 ^ 2", "(2 ^ (-(1 ^ 2)))"},
        {"(a + b) * c", "([(a + b)] * c)"},
        {"a + (b + c)", "(a + [(b + c)])"},
        {"-x offset 5m", "(-x offset 5m)"},
        {"---metric @ 100", "(-(-(-metric @ 100)))"},
        {"a < b or c >= d and e", "((a < b) or ((c >= d) and e))"},
        {"+a - -b", "((+a) - (-b))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_structure(QLANG_PROMQL, cases[i].src, cases[i].want);
    check_structure(QLANG_LOGQL, "vector(1)+vector(2)*vector(3)^vector(4)^vector(5)",
                    "(vector(1) + (vector(2) * (vector(3) ^ (vector(4) ^ vector(5)))))");
    check_structure(QLANG_LOGQL, "sum(rate({a=\"b\"}[1m])) or vector(0) and vector(1)",
                    "(sum(rate({a=\"b\"}[1m])) or (vector(0) and vector(1)))");
}

/* ---- AST fields ---------------------------------------------------------------------- */

/* Matchers that reject the empty string make a selector valid: Grafana's series
 * browser sends {__name__!=""}; regexes are judged by compiling them. */
static void test_parse_nonempty_matchers(void **state)
{
    (void)state;
    const char *ok[] = {"{__name__!=\"\"}", "{a=~\".+\"}", "{a!~\".*\"}", "{a!~\"\"}", "{a=~\"x|y\"}", "{a=\"b\", c=\"\"}"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        arena *ar = arena_new(4096);
        parse_ok(ar, QLANG_PROMQL, ok[i]);
        arena_free(ar);
    }
}

static void test_parse_selectors_and_modifiers(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    ast_node *n = parse_ok(ar, QLANG_PROMQL, "http_requests{job=\"api\", path=~\"/a.*\", x!=\"\", y!~\"z\"}");
    assert_int_equal(n->kind, AST_VECTOR_SEL);
    assert_int_equal(n->type, AST_T_VECTOR);
    assert_string_equal(n->u.sel.name.p, "http_requests");
    assert_int_equal(n->u.sel.n_m, 4);
    assert_int_equal(n->u.sel.m[1].op, AST_MATCH_RE);
    assert_string_equal(n->u.sel.m[1].value.p, "/a.*");
    assert_int_equal(n->u.sel.m[3].op, AST_MATCH_NRE);
    assert_int_equal(n->u.sel.m[2].pos.col, 40);

    /* A sole __name__= matcher becomes the name; two stay matchers. */
    n = parse_ok(ar, QLANG_PROMQL, "{__name__=\"up\", job=\"a\"}");
    assert_string_equal(n->u.sel.name.p, "up");
    assert_int_equal(n->u.sel.n_m, 1);
    assert_true(ast_equal(n, parse_ok(ar, QLANG_PROMQL, "up{job=\"a\"}")));
    n = parse_ok(ar, QLANG_PROMQL, "{__name__=~\"a|b\"}");
    assert_int_equal(n->u.sel.name.len, 0);
    n = parse_ok(ar, QLANG_PROMQL, "{__name__=\"a\", __name__=\"b\"}");
    assert_int_equal(n->u.sel.name.len, 0);
    assert_int_equal(n->u.sel.n_m, 2);

    n = parse_ok(ar, QLANG_PROMQL, "rate(x[5m] offset -1h30m @ 1.5)");
    assert_int_equal(n->kind, AST_CALL);
    assert_string_equal(n->u.call.fn->name, "rate");
    ast_node *m = n->u.call.args[0];
    assert_int_equal(m->kind, AST_MATRIX_SEL);
    assert_int_equal(m->type, AST_T_MATRIX);
    assert_int_equal(m->u.range.range_ms, 300000);
    assert_int_equal(m->u.range.sel->u.sel.offset_ms, -5400000);
    assert_int_equal(m->u.range.sel->u.sel.at, AST_AT_TIME);
    assert_int_equal(m->u.range.sel->u.sel.at_ms, 1500);

    n = parse_ok(ar, QLANG_PROMQL, "max_over_time(rate(x[1m])[30m:] @ end() offset 10)");
    ast_node *s = n->u.call.args[0];
    assert_int_equal(s->kind, AST_SUBQUERY);
    assert_int_equal(s->u.sub.range_ms, 1800000);
    assert_int_equal(s->u.sub.step_ms, 0);
    assert_int_equal(s->u.sub.at, AST_AT_END);
    assert_int_equal(s->u.sub.offset_ms, 10000);
    assert_int_equal(s->u.sub.has_offset, 1);

    n = parse_ok(ar, QLANG_PROMQL, "a * on (x, y) group_left (z) b");
    assert_int_equal(n->u.bin.op, AST_OP_MUL);
    assert_int_equal(n->u.bin.has_matching, 1);
    assert_int_equal(n->u.bin.on, 1);
    assert_int_equal(n->u.bin.matching.n, 2);
    assert_int_equal(n->u.bin.card, AST_CARD_MANY_TO_ONE);
    assert_string_equal(n->u.bin.include.v[0].p, "z");
    n = parse_ok(ar, QLANG_PROMQL, "a > bool ignoring (x) group_right b");
    assert_int_equal(n->u.bin.return_bool, 1);
    assert_int_equal(n->u.bin.on, 0);
    assert_int_equal(n->u.bin.card, AST_CARD_ONE_TO_MANY);
    assert_int_equal(n->u.bin.include.n, 0);

    /* Aggregations: grouping before or after, parameters. */
    ast_node *g1 = parse_ok(ar, QLANG_PROMQL, "sum by (job) (x)");
    ast_node *g2 = parse_ok(ar, QLANG_PROMQL, "SUM(x) BY (job)");
    assert_true(ast_equal(g1, g2));
    assert_string_equal(g2->u.agg.op.p, "sum");
    n = parse_ok(ar, QLANG_PROMQL, "count_values without (a) (\"l\", x)");
    assert_int_equal(n->u.agg.without, 1);
    assert_int_equal(n->u.agg.param->kind, AST_STRING);
    n = parse_ok(ar, QLANG_PROMQL, "quantile(0.9, x)");
    assert_bits_equal(n->u.agg.param->u.num, 0.9);
    assert_int_equal(n->u.agg.has_grouping, 0);

    /* Keywords are names where a name is expected. */
    n = parse_ok(ar, QLANG_PROMQL, "sum by (by, on, offset) (by{on=\"1\", bool=\"2\"})");
    assert_string_equal(n->u.agg.grouping.v[2].p, "offset");
    assert_string_equal(n->u.agg.expr->u.sel.name.p, "by");
    n = parse_ok(ar, QLANG_PROMQL, "{inf=\"1\"}");
    assert_string_equal(n->u.sel.m[0].name.p, "inf");

    /* Durations as numbers (Prometheus 3): seconds. */
    n = parse_ok(ar, QLANG_PROMQL, "predict_linear(x[1h], 1h)");
    assert_bits_equal(n->u.call.args[1]->u.num, 3600.0);
    n = parse_ok(ar, QLANG_PROMQL, "x[30]");
    assert_int_equal(n->u.range.range_ms, 30000);
    arena_free(ar);
}

static void test_parse_logql_stages(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    ast_node *n = parse_ok(ar, QLANG_LOGQL,
                           "{app=\"x\"} |= \"a\" or \"b\" != \"c\" | json a=\"b.c\", d | logfmt --strict | "
                           "s >= 500 and m=\"GET\" or d > 1.5s, z < 2KB | line_format \"{{.m}}\" | "
                           "label_format x=y, w=\"t\" | drop e, f=~\"g\" | keep h | decolorize | unpack | "
                           "regexp \"(?P<a>.)\" | pattern \"<b> <_>\"");
    assert_int_equal(n->kind, AST_LOG_SELECTOR);
    assert_int_equal(n->type, AST_T_STREAMS);
    assert_int_equal(n->u.log.n_stages, 13);
    const ast_stage *st = n->u.log.stages;
    assert_int_equal(st[0].kind, AST_ST_LINE_FILTER);
    assert_int_equal(st[0].lf_op, AST_LF_CONTAINS);
    assert_int_equal(st[0].n_strs, 2);
    assert_string_equal(st[0].strs[1].p, "b");
    assert_int_equal(st[1].lf_op, AST_LF_NOT_CONTAINS);
    assert_int_equal(st[2].kind, AST_ST_JSON);
    assert_int_equal(st[2].n_kvs, 2);
    assert_string_equal(st[2].kvs[0].value.p, "b.c");
    assert_int_equal(st[2].kvs[1].has_value, 0);
    assert_int_equal(st[3].kind, AST_ST_LOGFMT);
    assert_int_equal(st[3].strict, 1);
    assert_int_equal(st[4].kind, AST_ST_LABEL_FILTER);
    const ast_lf *f = st[4].filter; /* (s>=500 and m="GET") or (d>1.5s and z<2KB) */
    assert_int_equal(f->kind, AST_LFK_OR);
    assert_int_equal(f->lhs->kind, AST_LFK_AND);
    assert_int_equal(f->lhs->lhs->kind, AST_LFK_NUMBER);
    assert_int_equal(f->lhs->lhs->cmp, AST_CMP_GTE);
    assert_int_equal(f->lhs->rhs->kind, AST_LFK_STRING);
    assert_int_equal(f->rhs->lhs->kind, AST_LFK_DURATION);
    assert_bits_equal(f->rhs->lhs->value, 1.5);
    assert_int_equal(f->rhs->rhs->kind, AST_LFK_BYTES);
    assert_bits_equal(f->rhs->rhs->value, 2000.0);
    assert_int_equal(st[5].kind, AST_ST_LINE_FORMAT);
    assert_int_equal(st[6].kind, AST_ST_LABEL_FORMAT);
    assert_int_equal(st[6].kvs[0].value_is_name, 1);
    assert_int_equal(st[6].kvs[1].value_is_name, 0);
    assert_int_equal(st[7].kind, AST_ST_DROP);
    assert_int_equal(st[7].kvs[1].op, AST_MATCH_RE);
    assert_int_equal(st[8].kind, AST_ST_KEEP);
    assert_int_equal(st[9].kind, AST_ST_DECOLORIZE);
    assert_int_equal(st[10].kind, AST_ST_UNPACK);
    assert_int_equal(st[11].kind, AST_ST_REGEXP);
    assert_int_equal(st[12].kind, AST_ST_PATTERN);

    n = parse_ok(ar, QLANG_LOGQL, "quantile_over_time(0.95, {app=\"x\"} | json | unwrap duration(latency) | __error__=\"\" [5m] offset 1h) by (m)");
    assert_int_equal(n->kind, AST_LOG_AGG);
    assert_int_equal(n->type, AST_T_VECTOR);
    assert_string_equal(n->u.lagg.op.p, "quantile_over_time");
    assert_bits_equal(n->u.lagg.param->u.num, 0.95);
    ast_node *r = n->u.lagg.range;
    assert_int_equal(r->kind, AST_LOG_RANGE);
    assert_int_equal(r->u.lrange.range_ms, 300000);
    assert_int_equal(r->u.lrange.offset_ms, 3600000);
    assert_int_equal(r->u.lrange.log->u.log.stages[1].kind, AST_ST_UNWRAP);
    assert_int_equal(r->u.lrange.log->u.log.stages[1].unwrap_conv, AST_UNWRAP_DURATION);
    assert_string_equal(r->u.lrange.log->u.log.stages[1].unwrap_label.p, "latency");
    assert_int_equal(n->u.lagg.has_grouping, 1);

    /* The range may come right after the selector, before the pipeline. */
    assert_true(ast_equal(parse_ok(ar, QLANG_LOGQL, "count_over_time({a=\"b\"}[5m] |= \"x\")"),
                          parse_ok(ar, QLANG_LOGQL, "count_over_time({a=\"b\"} |= \"x\" [5m])")));
    /* In LogQL `duration` is a label name unless followed by "(". */
    n = parse_ok(ar, QLANG_LOGQL, "{a=\"b\"} | duration > 1s");
    assert_string_equal(n->u.log.stages[0].filter->name.p, "duration");
    /* Case-insensitive keywords and function names. */
    assert_true(ast_equal(parse_ok(ar, QLANG_LOGQL, "SUM BY (a) (RATE({a=\"b\"} | JSON [1m]))"),
                          parse_ok(ar, QLANG_LOGQL, "sum by (a) (rate({a=\"b\"} | json [1m]))")));
    arena_free(ar);
}

/* ---- errors ---------------------------------------------------------------------------- */

typedef struct err_case {
    const char *src;
    int line, col;
    const char *msg;
} err_case;

static void test_parse_errors_promql(void **state)
{
    (void)state;
    static const err_case cases[] = {
        {"rate(x[5m)", 1, 10, "1:10: unexpected \")\" in range selector, expected \"]\" or \":\""},
        {"rate(http_requests[])", 1, 20, "1:20: unexpected \"]\" in range selector, expected duration"},
        {"x[5m", 1, 5, "1:5: unexpected end of input in range selector, expected \"]\" or \":\""},
        {"rat(x[5m])", 1, 1, "1:1: unknown function \"rat\" (did you mean \"rate\"?)"},
        {"histogram_quantil(0.9, x)", 1, 1, "1:1: unknown function \"histogram_quantil\" (did you mean \"histogram_quantile\"?)"},
        {"foo(x)", 1, 1, "1:1: unknown function \"foo\""},
        {"sum(x", 1, 6, "1:6: unexpected end of input in aggregation, expected \",\" or \")\""},
        {"sum by (a x)", 1, 11, "1:11: unexpected identifier \"x\" in by (…), expected \",\" or \")\""},
        {"sum by (a) (x) by (b)", 1, 16, "1:16: grouping given twice: use by/without either before or after the arguments"},
        {"sum by (a)", 1, 11, "1:11: unexpected end of input in aggregation, expected \"(\""},
        {"{}", 1, 1, "1:1: vector selector must contain at least one non-empty matcher"},
        {"x + {a=\"\", b!=\"c\", d=~\".*\"}", 1, 5, "1:5: vector selector must contain at least one non-empty matcher"},
        {"{a=~\"x?\", b!~\"y\", c=~\"(|z)\"}", 1, 1, "1:1: vector selector must contain at least one non-empty matcher"},
        {"foo{1=\"a\"}", 1, 5, "1:5: unexpected number \"1\" in selector, expected label matcher"},
        {"foo{a}", 1, 6, "1:6: unexpected \"}\" in label matcher, expected \"=\", \"!=\", \"=~\" or \"!~\""},
        {"foo{a=b}", 1, 7, "1:7: unexpected identifier \"b\" in label matcher, expected string"},
        {"foo{a=\"b\"", 1, 10, "1:10: unexpected end of input in selector, expected \",\" or \"}\""},
        {"foo{a=\"b\" c=\"d\"}", 1, 11, "1:11: unexpected identifier \"c\" in selector, expected \",\" or \"}\""},
        {"a{__name__=\"b\"}", 1, 3, "1:3: metric name must not be set twice: \"a\" or \"b\""},
        {"x{a=\"b}", 1, 5, "1:5: unclosed string"},
        {"1 + \"a\"", 1, 5, "1:5: binary expression must contain only scalar and instant vector types: the right operand of \"+\" is a string"},
        {"x[5m] + 1", 1, 1, "1:1: binary expression must contain only scalar and instant vector types: the left operand of \"+\" is a range vector"},
        {"a and 1", 1, 3, "1:3: set operator \"and\" not allowed in binary scalar expression"},
        {"1 + on(a) 2", 1, 5, "1:5: vector matching only allowed between instant vectors"},
        {"a + on(a) 2", 1, 5, "1:5: vector matching only allowed between instant vectors"},
        {"1 == 2", 1, 3, "1:3: comparisons between scalars must use the bool modifier"},
        {"a + bool b", 1, 5, "1:5: bool modifier can only be used on comparison operators, not \"+\""},
        {"a and bool b", 1, 7, "1:7: bool modifier can only be used on comparison operators, not \"and\""},
        {"a == bool", 1, 10, "1:10: unexpected end of input in expression"},
        {"rate(x)", 1, 6, "1:6: expected type range vector in call to function \"rate\", got instant vector"},
        {"rate(x[5m])[5m]", 1, 12, "1:12: ranges only allowed for vector selectors (use a subquery [5m:] for expressions)"},
        {"(x)[5m]", 1, 4, "1:4: ranges only allowed for vector selectors (use a subquery [5m:] for expressions)"},
        {"x[5m][1m:]", 1, 6, "1:6: subquery is only allowed on instant vector, got range vector"},
        {"\"a\"[1m:]", 1, 4, "1:4: subquery is only allowed on instant vector, got string"},
        {"rate(x[5m], 1)", 1, 1, "1:1: expected 1 argument(s) in call to \"rate\", got 2"},
        {"time(1)", 1, 1, "1:1: expected 0 argument(s) in call to \"time\", got 1"},
        {"round(x, 1, 2)", 1, 1, "1:1: expected 1 to 2 argument(s) in call to \"round\", got 3"},
        {"label_join(x, \"a\")", 1, 1, "1:1: expected at least 3 argument(s) in call to \"label_join\", got 2"},
        {"label_join(x, \"a\", \"b\", \"c\", 1)", 1, 30, "1:30: expected type string in call to function \"label_join\", got scalar"},
        {"abs(x[5m])", 1, 5, "1:5: expected type instant vector in call to function \"abs\", got range vector"},
        {"vector(\"a\")", 1, 8, "1:8: expected type scalar in call to function \"vector\", got string"},
        {"topk(x)", 1, 5, "1:5: wrong number of arguments for aggregation \"topk\": expected 2, got 1"},
        {"sum(a, b)", 1, 4, "1:4: wrong number of arguments for aggregation \"sum\": expected 1, got 2"},
        {"topk(x, y)", 1, 6, "1:6: expected type scalar in aggregation parameter of \"topk\", got instant vector"},
        {"count_values(1, x)", 1, 14, "1:14: expected type string in aggregation parameter of \"count_values\", got scalar"},
        {"sum(x[5m])", 1, 5, "1:5: expected type instant vector in aggregation \"sum\", got range vector"},
        {"x offset 5m offset 1m", 1, 13, "1:13: offset may not be set multiple times"},
        {"x @ 1 @ 2", 1, 7, "1:7: @ may not be set multiple times"},
        {"rate(x[5m]) offset 1m", 1, 13, "1:13: offset modifier must be preceded by a vector selector, a range selector or a subquery"},
        {"sum(x) @ 1", 1, 8, "1:8: @ modifier must be preceded by a vector selector, a range selector or a subquery"},
        {"x offset 5m [5m]", 1, 13, "1:13: no offset modifiers allowed before range"},
        {"x @ 1 [5m]", 1, 7, "1:7: no @ modifiers allowed before range"},
        {"x offset", 1, 9, "1:9: unexpected end of input in offset, expected duration"},
        {"x @ foo", 1, 5, "1:5: unexpected identifier \"foo\" in @ modifier, expected timestamp, start() or end()"},
        {"x @ start", 1, 10, "1:10: unexpected end of input in @ modifier, expected \"(\""},
        {"x @ 99999999999999999", 1, 5, "1:5: timestamp out of range in @ modifier"},
        {"x[1.5h]", 1, 3, "1:3: bad duration \"1.5h\" in range selector: use integers with units ms, s, m, h, d, w, y (e.g. 1h30m)"},
        {"x[0s]", 1, 2, "1:2: range must be greater than 0"},
        {"x[5m:0s]", 1, 2, "1:2: subquery step must be greater than 0"},
        {"x[5m:1m", 1, 8, "1:8: unexpected end of input in subquery, expected \"]\""},
        {"-\"a\"", 1, 1, "1:1: unary expression only allowed on expressions of type scalar or instant vector, got string"},
        {"-x[5m]", 1, 1, "1:1: unary expression only allowed on expressions of type scalar or instant vector, got range vector"},
        {"a * on(b) group_left(b) c", 1, 5, "1:5: label \"b\" must not occur in ON and GROUP clause at once"},
        {"a and on(x) group_left b", 1, 13, "1:13: no grouping allowed for \"and\" operation"},
        {"a + on(x", 1, 9, "1:9: unexpected end of input in on (…), expected \",\" or \")\""},
        {"a +", 1, 4, "1:4: unexpected end of input in expression"},
        {")", 1, 1, "1:1: unexpected \")\" in expression"},
        {"x y", 1, 3, "1:3: unexpected identifier \"y\" after a complete expression"},
        {"(x", 1, 3, "1:3: unexpected end of input in parenthesised expression, expected \")\""},
        {"", 1, 1, "1:1: empty query"},
        {"  # only a comment", 1, 19, "1:19: empty query"},
        {"x ! y", 1, 3, "1:3: unexpected character \"!\""},
        {"x{a=\"\\q\"}", 1, 6, "1:6: invalid escape sequence \"\\q\" in string"},
        {"sum(\n  rate(x[5m\n)", 3, 1, "3:1: unexpected \")\" in range selector, expected \"]\" or \":\""},
        {"{a=\"b\"} |= \"x\"", 1, 9, "1:9: unexpected \"|=\" after a complete expression"},
        /* a matcher regex that does not compile is a parse error at the matcher (400 bad_data) */
        {"x{a=~\"b{1001}\"}", 1, 3, "1:3: invalid regex in matcher a=~\"b{1001}\": invalid repeat count: `{1001}` at offset 1"},
        {"x{a!~\"(\"}", 1, 3, "1:3: invalid regex in matcher a!~\"(\": missing closing ): `(` at offset 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_error(QLANG_PROMQL, cases[i].src, cases[i].line, cases[i].col, cases[i].msg);
}

static void test_parse_errors_logql(void **state)
{
    (void)state;
    static const err_case cases[] = {
        {"{}", 1, 1, "1:1: stream selector needs at least one matcher that does not match the empty string (e.g. app=\"x\" or app=~\".+\")"},
        {"{a=~\".*\", b!=\"c\"}", 1, 1, "1:1: stream selector needs at least one matcher that does not match the empty string (e.g. app=\"x\" or app=~\".+\")"},
        {"foo{a=\"b\"}", 1, 1, "1:1: unexpected identifier \"foo\": LogQL expressions start with a stream selector {…}, a function or a number"},
        {"{a=\"b\"} |= 1", 1, 12, "1:12: unexpected number \"1\" in line filter, expected string"},
        {"{a=\"b\"} | json |", 1, 17, "1:17: unexpected end of input in pipeline, expected a parser, a label filter or a stage (json, logfmt, line_format, …)"},
        {"{a=\"b\"} | unwrap x", 1, 11, "1:11: unwrap is only allowed in a range aggregation, e.g. sum_over_time({…} | unwrap x [5m])"},
        {"count_over_time({a=\"b\"})", 1, 17, "1:17: expected a log range like {app=\"x\"}[5m] in \"count_over_time\", got log stream"},
        {"count_over_time({a=\"b\"}[5m] | unwrap x)", 1, 17, "1:17: invalid aggregation count_over_time with unwrap"},
        {"sum_over_time({a=\"b\"}[5m])", 1, 15, "1:15: invalid aggregation sum_over_time without unwrap"},
        {"rate({a=\"b\"}[5m]) by (x)", 1, 19, "1:19: grouping not allowed for rate aggregation"},
        {"quantile_over_time({a=\"b\"} | unwrap x [5m])", 1, 19, "1:19: wrong number of arguments for \"quantile_over_time\": expected 2, got 1"},
        {"topk(0, rate({a=\"b\"}[5m]))", 1, 6, "1:6: invalid parameter for topk: expected a positive integer"},
        {"topk(1.5, rate({a=\"b\"}[5m]))", 1, 6, "1:6: invalid parameter for topk: expected a positive integer"},
        {"sort by (a) (rate({a=\"b\"}[5m]))", 1, 1, "1:1: grouping not allowed for sort"},
        {"{a=\"b\"} | event == \"x\"", 1, 20, "1:20: unexpected string in label filter: == compares numbers, durations or bytes, not strings"},
        {"{a=\"b\"} | x =~ 5", 1, 16, "1:16: unexpected number \"5\" in label filter, expected string"},
        {"{a=\"b\"} | x >", 1, 14, "1:14: unexpected end of input in label filter, expected string, number, duration or bytes"},
        {"{a=\"b\"} | x", 1, 12, "1:12: unexpected end of input in label filter, expected \"=\", \"!=\", \"=~\", \"!~\", \"==\", \">\", \">=\", \"<\" or \"<=\""},
        {"{a=\"b\"} | and=\"x\"", 1, 11, "1:11: unexpected identifier \"and\" in pipeline, expected a parser, a label filter or a stage"},
        {"{a=\"b\"} | (x=\"1\"", 1, 17, "1:17: unexpected end of input in label filter, expected \")\""},
        {"{a=\"b\"} | label_format a", 1, 25, "1:25: unexpected end of input in label_format stage, expected \"=\""},
        {"{a=\"b\"} | drop a=b", 1, 18, "1:18: unexpected identifier \"b\" in drop stage, expected string"},
        {"{a=\"b\"} | regexp 1", 1, 18, "1:18: unexpected number \"1\" in regexp stage, expected string"},
        {"{a=\"b\"} | unwrap", 1, 17, "1:17: unexpected end of input in unwrap stage, expected label name"},
        {"{a=\"b\"}[5m]", 1, 1, "1:1: a log range needs a range aggregation, e.g. count_over_time({…}[5m])"},
        {"{a=\"b\"} + 1", 1, 1, "1:1: binary expression must contain only scalar and instant vector types: the left operand of \"+\" is a log stream"},
        {"sum(rate({a=\"b\"}[5m])) and 1", 1, 24, "1:24: set operator \"and\" not allowed in binary scalar expression"},
        {"{a=\"b\"} | json | unwrap x | json", 1, 18, "1:18: unwrap is only allowed in a range aggregation, e.g. sum_over_time({…} | unwrap x [5m])"},
        {"sum_over_time({a=\"b\"} | unwrap x | json [5m])", 1, 36, "1:36: only label filters are allowed after unwrap"},
        {"count_over_time({a=\"b\"} | unwrap x | unwrap y [5m])", 1, 38, "1:38: unwrap may appear only once"},
        {"rate({a=\"b\"}[5m)", 1, 16, "1:16: unexpected \")\" in range, expected \"]\""},
        {"rate({a=\"b\"}[0s])", 1, 13, "1:13: range must be greater than 0"},
        {"{a=\"b\"}[1.5h]", 1, 9, "1:9: bad duration \"1.5h\" in range: use integers with units ms, s, m, h, d, w, y (e.g. 1h30m)"},
        {"rate({a=\"b\"}[30])", 1, 14, "1:14: unexpected number \"30\" in range, expected duration"},
        {"{a=\"b\"} | ip(\"1.2.3.4\")", 1, 11, "1:11: ip() filters are not supported"},
        {"cout_over_time({a=\"b\"}[5m])", 1, 1, "1:1: unknown function \"cout_over_time\" (did you mean \"count_over_time\"?)"},
        {"abs(vector(1))", 1, 1, "1:1: unknown function \"abs\""},
        {"vector(1) atan2 vector(2)", 1, 11, "1:11: unexpected identifier \"atan2\" after a complete expression"},
        {"rate({a=\"b\"}[5m])[5m:1m]", 1, 18, "1:18: unexpected \"[\" after a complete expression"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_error(QLANG_LOGQL, cases[i].src, cases[i].line, cases[i].col, cases[i].msg);
}

static void test_parse_depth_limit(void **state)
{
    (void)state;
    char *q = malloc(40000);
    assert_non_null(q);
    /* 300 nested parentheses: recursion limit. */
    size_t n = 0;
    for (int i = 0; i < 300; i++) q[n++] = '(';
    q[n++] = '1';
    for (int i = 0; i < 300; i++) q[n++] = ')';
    q[n] = '\0';
    check_error(QLANG_PROMQL, q, 1, 257, "1:257: expression nested too deeply (more than 256 levels)");
    /* 250 levels are fine. */
    n = 0;
    for (int i = 0; i < 250; i++) q[n++] = '(';
    q[n++] = '1';
    for (int i = 0; i < 250; i++) q[n++] = ')';
    q[n] = '\0';
    roundtrip(QLANG_PROMQL, q, n, 1, NULL);
    /* A chain of unary minus recurses too. */
    memset(q, '-', 1000);
    strcpy(q + 1000, "1");
    check_error(QLANG_PROMQL, q, 1, 257, "1:257: expression nested too deeply (more than 256 levels)");
    /* A left-deep chain needs no recursion to parse but has a height limit. */
    n = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(q + n, "a+", 2);
        n += 2;
    }
    q[n++] = 'a';
    q[n] = '\0';
    check_error(QLANG_PROMQL, q, 1, 1, "1:1: expression nested too deeply (more than 2048 levels)");
    /* LogQL label filters: nested parentheses and long juxtaposed chains. */
    n = (size_t)sprintf(q, "{a=\"b\"} | ");
    for (int i = 0; i < 300; i++) q[n++] = '(';
    q[n] = '\0';
    check_error(QLANG_LOGQL, q, 1, 266, "1:266: expression nested too deeply (more than 256 levels)");
    n = (size_t)sprintf(q, "{a=\"b\"} | ");
    for (int i = 0; i < 2100; i++) n += (size_t)sprintf(q + n, "x=\"1\" ");
    q[n] = '\0';
    check_error(QLANG_LOGQL, q, 1, 11, "1:11: label filter nested too deeply (more than 2048 levels)");
    free(q);
}

/* ---- round trips and canonical forms ------------------------------------------------------- */

static void test_parse_roundtrip_promql(void **state)
{
    (void)state;
    size_t n = roundtrip_file(QLANG_PROMQL, "tests/golden/promql/queries.txt");
    assert_true(n >= 1000);
}

static void test_parse_roundtrip_logql(void **state)
{
    (void)state;
    size_t n = roundtrip_file(QLANG_LOGQL, "tests/golden/logql/queries.txt");
    assert_true(n >= 90);
}

/* Extract every eval expression from Prometheus' test scripts (if the shared
 * copy is present), count how many parse, and round-trip those. */
static void test_parse_prometheus_testdata(void **state)
{
    (void)state;
    const char *dir = "../shared/promql-testdata/prometheus-v3.14.0";
    DIR *d = opendir(dir);
    if (!d) {
        printf("[  SKIP    ] %s not found\n", dir);
        skip();
    }
    struct dirent *de;
    size_t total = 0, ok = 0;
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".test") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char line[8192];
        while (fgets(line, sizeof line, f)) {
            char *s = line;
            while (*s == ' ' || *s == '\t') s++;
            if (strncasecmp(s, "eval", 4) != 0) continue;
            /* eval[_x] instant at T expr | eval[_x] range from A to B step S expr */
            char *w = strchr(s, ' ');
            if (!w) continue;
            while (*w == ' ') w++;
            int skip_words = strncasecmp(w, "instant", 7) == 0 ? 3 : 7;
            for (int i = 0; i < skip_words && w; i++) {
                w = strchr(w, ' ');
                if (w) while (*w == ' ') w++;
            }
            if (!w) continue;
            size_t len = strlen(w);
            while (len && (w[len - 1] == '\n' || w[len - 1] == '\r' || w[len - 1] == ' ')) len--;
            total++;
            ok += (size_t)roundtrip(QLANG_PROMQL, w, len, 0, NULL);
        }
        fclose(f);
    }
    closedir(d);
    printf("prometheus-v3.14.0 eval expressions: %zu of %zu parse and round-trip\n", ok, total);
    assert_true(total > 1000);
    assert_int_equal(ok, total);
}

static void test_parse_canonical(void **state)
{
    (void)state;
    static const struct { const char *src, *want; } prom[] = {
        {"SUM(rate(x{a='b'}[5m])) BY (job)", "sum by (job) (rate(x{a=\"b\"}[5m]))"},
        {"sum without(a,b,)(x)", "sum without (a, b) (x)"},
        {"x[90m:90s] offset 1y1d @ 10", "x[1h30m:1m30s] @ 10 offset 52w2d"},
        {"x offset -5m", "x offset -5m"},
        {"x @ 1.5", "x @ 1.5"},
        {"x @ -1", "x @ -1"},
        {"x @ 100s", "x @ 100"},
        {"x[30:10] offset 3", "x[30s:10s] offset 3s"},
        {"x[60s]", "x[1m]"},
        {"x[1000ms]", "x[1s]"},
        {"x[1001ms]", "x[1s1ms]"},
        {"x[365d]", "x[1y]"},
        {"x[366d]", "x[52w2d]"},
        {"1e3 + 0x1F + 017 + .5 + 2. + Inf + nan + 1e-7 + 0.1 + 123456789012345678", "1000 + 31 + 15 + 0.5 + 2 + Inf + NaN + 1e-07 + 0.1 + 1.2345678901234568e+17"},
        {"`a\\d\"`", "\"a\\\\d\\\"\""},
        {"\"\\u00e9\\x00\\xff\\t\"", "\"é\\x00\\xff\\t\""},
        {"a*on(x)group_left b", "a * on (x) group_left () b"},
        {"a == bool ignoring(x) b", "a == bool ignoring (x) b"},
        {"{__name__=\"bool\"} + {__name__=\"on\"}", "{__name__=\"bool\"} + {__name__=\"on\"}"},
        {"{__name__=\"up\"}", "up"},
        {"{\"my.metric\", \"a.b\"=\"v\"}", "{__name__=\"my.metric\", \"a.b\"=\"v\"}"},
        {"-(1)", "-(1)"},
        {"- - 1", "--1"},
        {"metric @ start() offset 1m", "metric @ start() offset 1m"},
        {"topk by(a)(5,x)", "topk by (a) (5, x)"},
        {"x#comment\n+y", "x + y"},
    };
    for (size_t i = 0; i < sizeof prom / sizeof prom[0]; i++) check_canonical(QLANG_PROMQL, prom[i].src, prom[i].want);
    /* Adjacent strings do not concatenate. */
    check_error(QLANG_PROMQL, "'it''s'", 1, 5, "1:5: unexpected string after a complete expression");
    static const struct { const char *src, *want; } logq[] = {
        {"{app=\"x\"}|=\"a\"or\"b\"|json|x>1,y=\"2\" z<3", "{app=\"x\"} |= \"a\" or \"b\" | json | x > 1 and y=\"2\" and z < 3"},
        {"count_over_time({a=\"b\"}[5m]|=\"x\")", "count_over_time({a=\"b\"} |= \"x\" [5m])"},
        {"sum(rate({a=\"b\"}[60s])) by (x)", "sum by (x) (rate({a=\"b\"}[1m]))"},
        {"{a=\"b\"} | x > 250ms or y >= 1.5MiB", "{a=\"b\"} | x > 250ms or y >= 1.5MiB"},
        {"{a=\"b\"} | logfmt --keep-empty --strict", "{a=\"b\"} | logfmt --strict --keep-empty"},
        {"{a=\"b\"} | label_format x=y,z=`{{.a}}`", "{a=\"b\"} | label_format x=y, z=\"{{.a}}\""},
        {"{a=\"b\"} | t > -2", "{a=\"b\"} | t > -2"},
    };
    for (size_t i = 0; i < sizeof logq / sizeof logq[0]; i++) check_canonical(QLANG_LOGQL, logq[i].src, logq[i].want);
}

/* Random well-formed expressions built from fragments: the round trip holds. */
static void test_parse_roundtrip_random(void **state)
{
    (void)state;
    static const char *const atoms[] = {"x", "up{a=\"b\"}", "1", "2.5", "Inf", "rate(x[5m])", "sum by (a) (y)",
                                        "(z offset 1m)", "-w", "vector(1)", "time()", "q @ 10",
                                        "max_over_time(x[10m:1m])", "topk(3, v)"};
    static const char *const ops[] = {" + ", " - ", " * ", " / ", " % ", " ^ ", " atan2 ", " == bool ", " > bool ",
                                      " and ", " or ", " unless ", " + on (a) ", " * ignoring (b) group_left (c) "};
    t_rng_reset();
    for (int iter = 0; iter < 500; iter++) {
        char q[2048];
        size_t n = 0;
        int terms = 1 + (int)t_randn(8);
        for (int i = 0; i < terms; i++) {
            if (i) n += (size_t)snprintf(q + n, sizeof q - n, "%s", ops[t_randn(sizeof ops / sizeof ops[0])]);
            if (t_randn(4) == 0) n += (size_t)snprintf(q + n, sizeof q - n, "(");
            n += (size_t)snprintf(q + n, sizeof q - n, "%s", atoms[t_randn(sizeof atoms / sizeof atoms[0])]);
            if (q[0] && strchr(q, '(') && t_randn(3) == 0) {
                /* close one pending paren if any is open */
                int open = 0;
                for (size_t k = 0; k < n; k++) open += q[k] == '(' ? 1 : q[k] == ')' ? -1 : 0;
                if (open > 0) n += (size_t)snprintf(q + n, sizeof q - n, ")");
            }
        }
        int open = 0;
        for (size_t k = 0; k < n; k++) open += q[k] == '(' ? 1 : q[k] == ')' ? -1 : 0;
        while (open-- > 0) n += (size_t)snprintf(q + n, sizeof q - n, ")");
        /* Scalar/scalar set operations or matching are type errors; those may fail to parse. */
        roundtrip(QLANG_PROMQL, q, n, 0, NULL);
    }
}

/* Fail allocation N for N = 0, 1, 2, … until the parse succeeds: every
 * failure is a clean CAIRN_ENOMEM and nothing leaks (mem_in_use returns). */
static void test_parse_oom(void **state)
{
    (void)state;
    const char *q = "sum by (job) (rate(http_requests_total{job=~\"api|web\", code!=\"200\"}[5m] offset 1m)) / "
                    "on (job) group_left (team) max(x) > bool 0.5";
    const char *lq = "sum by (s) (rate({app=\"x\"} |= \"error\" | json | latency_ms > 100 | line_format \"{{.m}}\" [1m]))";
    const char *qs[] = {q, lq};
    for (int which = 0; which < 2; which++) {
        uint64_t before = mem_in_use();
        int succeeded = 0;
        for (int64_t nth = 0; nth < 10000 && !succeeded; nth++) {
            mem_fail_after(nth);
            arena *ar = arena_new(256); /* small chunks: many allocations */
            if (!ar) {
                mem_fail_after(-1);
                continue;
            }
            ast_node *root;
            cairn_err e;
            int rc = parse_query(ar, which ? QLANG_LOGQL : QLANG_PROMQL, qs[which], strlen(qs[which]), &root, &e);
            mem_fail_after(-1);
            if (rc == CAIRN_OK) succeeded = 1;
            else {
                assert_int_equal(rc, CAIRN_ENOMEM);
                assert_int_equal(e.code, CAIRN_ENOMEM);
            }
            arena_free(ar);
            assert_int_equal(mem_in_use(), before);
        }
        assert_true(succeeded);
    }
}

static void test_parse_invalid_language(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    ast_node *root;
    cairn_err e;
    assert_int_equal(parse_query(ar, 7, "x", 1, &root, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "unknown query language 7");
    assert_null(root);
    /* The function table: PromQL names are case-sensitive, LogQL's are not. */
    assert_non_null(parse_fn_lookup(QLANG_PROMQL, "rate", 4));
    assert_null(parse_fn_lookup(QLANG_PROMQL, "RATE", 4));
    assert_non_null(parse_fn_lookup(QLANG_LOGQL, "VECTOR", 6));
    assert_null(parse_fn_lookup(QLANG_LOGQL, "abs", 3));
    arena_free(ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_precedence),
        cmocka_unit_test(test_parse_selectors_and_modifiers),
        cmocka_unit_test(test_parse_nonempty_matchers),
        cmocka_unit_test(test_parse_logql_stages),
        cmocka_unit_test(test_parse_errors_promql),
        cmocka_unit_test(test_parse_errors_logql),
        cmocka_unit_test(test_parse_depth_limit),
        cmocka_unit_test(test_parse_roundtrip_promql),
        cmocka_unit_test(test_parse_roundtrip_logql),
        cmocka_unit_test(test_parse_prometheus_testdata),
        cmocka_unit_test(test_parse_canonical),
        cmocka_unit_test(test_parse_roundtrip_random),
        cmocka_unit_test(test_parse_oom),
        cmocka_unit_test(test_parse_invalid_language),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
