/*
 * test_lexer.c — the re2c lexer (query/lexer.re, query/token.h): every token
 * class, tricky numbers, durations, bytes and string escapes, keywords,
 * positions, error messages, and reading an exact-size buffer with no NUL
 * after it (run under ASan to catch any read past the end).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "support.h"
#include "token.h"

typedef struct lexrun {
    arena *ar;
    char *buf; /* exact-size heap copy of the input: no NUL after it */
    lex lx;
    cairn_err err;
} lexrun;

static void run_init(lexrun *r, int lang, const char *src)
{
    size_t n = strlen(src);
    r->ar = arena_new(0);
    assert_non_null(r->ar);
    r->buf = malloc(n ? n : 1);
    assert_non_null(r->buf);
    memcpy(r->buf, src, n);
    lex_init(&r->lx, lang, r->buf, n, r->ar);
    memset(&r->err, 0, sizeof r->err);
}

static void run_free(lexrun *r)
{
    free(r->buf);
    arena_free(r->ar);
}

/* Lex all of `src`; return the number of tokens (without EOF) and fill kinds. */
static size_t lex_all(int lang, const char *src, tok_kind *kinds, size_t cap)
{
    lexrun r;
    run_init(&r, lang, src);
    size_t n = 0;
    for (;;) {
        token t;
        int rc = lex_next(&r.lx, &t, &r.err);
        if (rc) fail_msg("lexing %s: %s", src, r.err.msg);
        if (t.kind == T_EOF) break;
        assert_true(n < cap);
        kinds[n++] = t.kind;
    }
    run_free(&r);
    return n;
}

/* Lex exactly one token from `src` (which must hold one) into *t. */
static void lex_one(lexrun *r, int lang, const char *src, token *t)
{
    run_init(r, lang, src);
    int rc = lex_next(&r->lx, t, &r->err);
    if (rc) fail_msg("lexing %s: %s", src, r->err.msg);
    token eof;
    assert_int_equal(lex_next(&r->lx, &eof, &r->err), CAIRN_OK);
    if (eof.kind != T_EOF) fail_msg("%s lexed as more than one token", src);
}

/* The first lex error of `src`. */
static void lex_error(int lang, const char *src, const char *msg)
{
    lexrun r;
    run_init(&r, lang, src);
    int rc;
    token t;
    do {
        rc = lex_next(&r.lx, &t, &r.err);
    } while (rc == CAIRN_OK && t.kind != T_EOF);
    if (rc != CAIRN_EPARSE) fail_msg("%s: expected CAIRN_EPARSE, got %d", src, rc);
    assert_int_equal(r.err.code, CAIRN_EPARSE);
    assert_string_equal(r.err.msg, msg);
    run_free(&r);
}

static void test_lexer_operators(void **state)
{
    (void)state;
    tok_kind k[64];
    const tok_kind want[] = {T_LPAREN, T_RPAREN, T_LBRACE, T_RBRACE, T_LBRACKET, T_RBRACKET, T_COMMA, T_AT,
                             T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_POW, T_EQLC, T_NEQ, T_GTR, T_LSS, T_GTE,
                             T_LTE, T_EQ, T_EQ_REGEX, T_NEQ_REGEX, T_PIPE, T_PIPE_EXACT, T_PIPE_MATCH,
                             T_PIPE_PATTERN, T_NPIPE_PATTERN};
    size_t n = lex_all(QLANG_PROMQL, "( ) { } [ ] , @ + - * / % ^ == != > < >= <= = =~ !~ | |= |~ |> !>", k, 64);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) assert_int_equal(k[i], want[i]);
    /* Longest match without spaces. */
    n = lex_all(QLANG_LOGQL, "a!=b|=c!~d=~e>=f", k, 64);
    const tok_kind want2[] = {T_IDENT, T_NEQ, T_IDENT, T_PIPE_EXACT, T_IDENT, T_NEQ_REGEX, T_IDENT,
                              T_EQ_REGEX, T_IDENT, T_GTE, T_IDENT};
    assert_int_equal(n, 11);
    for (size_t i = 0; i < n; i++) assert_int_equal(k[i], want2[i]);
}

static void test_lexer_numbers(void **state)
{
    (void)state;
    static const struct { const char *src; double v; } cases[] = {
        {"0", 0}, {"42", 42}, {"1.5", 1.5}, {".5", 0.5}, {"2.", 2}, {"1e3", 1000}, {"1E-3", 0.001},
        {"12.34e+6", 12.34e6}, {"-0", 0}, {"0x1F", 31}, {"0XfF", 255}, {"010", 8}, {"017", 15},
        {"09", 9}, {"0.1", 0.1}, {"1e308", 1e308}, {"123456789012345678901234567890", 1.2345678901234568e29},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexrun r;
        token t;
        const char *src = cases[i].src;
        if (src[0] == '-') { /* "-0" is two tokens; check only the sign token */
            tok_kind k[4];
            assert_int_equal(lex_all(QLANG_PROMQL, src, k, 4), 2);
            assert_int_equal(k[0], T_SUB);
            continue;
        }
        lex_one(&r, QLANG_PROMQL, src, &t);
        assert_int_equal(t.kind, T_NUMBER);
        if (t_bits(t.num) != t_bits(cases[i].v)) fail_msg("%s: got %.17g want %.17g", src, t.num, cases[i].v);
        assert_int_equal(t.len, strlen(src));
        run_free(&r);
    }
    static const char *const inf_nan[] = {"Inf", "inf", "INF", "iNf", "NaN", "nan", "NAN"};
    for (size_t i = 0; i < sizeof inf_nan / sizeof inf_nan[0]; i++) {
        lexrun r;
        token t;
        lex_one(&r, QLANG_PROMQL, inf_nan[i], &t);
        assert_int_equal(t.kind, T_NUMBER);
        if (inf_nan[i][0] == 'I' || inf_nan[i][0] == 'i') assert_true(isinf(t.num) && t.num > 0);
        else assert_true(isnan(t.num));
        run_free(&r);
    }
    /* Words that only start like inf/nan are identifiers. */
    lexrun r;
    token t;
    lex_one(&r, QLANG_PROMQL, "info", &t);
    assert_int_equal(t.kind, T_IDENT);
    run_free(&r);
    lex_one(&r, QLANG_PROMQL, "nano", &t);
    assert_int_equal(t.kind, T_IDENT);
    run_free(&r);
}

static void test_lexer_durations(void **state)
{
    (void)state;
    static const struct { const char *src; int prom; int64_t ms; double sec; } cases[] = {
        {"5m", 1, 300000, 300}, {"1h30m", 1, 5400000, 5400}, {"500ms", 1, 500, 0.5}, {"1d", 1, 86400000, 86400},
        {"1w", 1, 604800000, 604800}, {"1y", 1, 31536000000LL, 31536000}, {"1m500ms", 1, 60500, 60.5},
        {"15m1s", 1, 901000, 901}, {"0s", 1, 0, 0}, {"1y2w3d4h5m6s7ms", 1, 33019506007LL, 33019506.007},
        /* Go-style (LogQL label filters): fractions, us/µs/ns, any order */
        {"1.5s", 0, -1, 1.5}, {"250us", 0, -1, 0.00025}, {"250\xc2\xb5s", 0, -1, 0.00025}, {"10ns", 0, -1, 1e-8},
        {"1.5h", 0, -1, 5400}, {"1s1m", 0, -1, 61},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexrun r;
        token t;
        lex_one(&r, QLANG_LOGQL, cases[i].src, &t);
        if (t.kind != T_DURATION) fail_msg("%s: kind %d", cases[i].src, t.kind);
        assert_int_equal(t.dur_prom, cases[i].prom);
        if (cases[i].prom) assert_int_equal(t.dur_ms, cases[i].ms);
        if (fabs(t.num - cases[i].sec) > 1e-12 * (1 + cases[i].sec)) fail_msg("%s: %.17g s", cases[i].src, t.num);
        run_free(&r);
    }
    /* the grammar itself: tests/unit/base/test_dur.c */
}

static void test_lexer_bytes(void **state)
{
    (void)state;
    static const struct { const char *src; double v; } cases[] = {
        {"100B", 100}, {"20KB", 20000}, {"20kB", 20000}, {"10KiB", 10240}, {"1.5MiB", 1572864},
        {"1.5MB", 1500000}, {"2GB", 2e9}, {"1GiB", 1073741824.0}, {"3TB", 3e12}, {"1PiB", 1125899906842624.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexrun r;
        token t;
        lex_one(&r, QLANG_LOGQL, cases[i].src, &t);
        if (t.kind != T_BYTES) fail_msg("%s: kind %d", cases[i].src, t.kind);
        assert_bits_equal(t.num, cases[i].v);
        run_free(&r);
    }
    lex_error(QLANG_LOGQL, "10kb", "1:1: bad number or duration \"10kb\"");
    lex_error(QLANG_LOGQL, "x > 5x", "1:5: bad number or duration \"5x\"");
}

static void test_lexer_strings(void **state)
{
    (void)state;
    static const struct { const char *src; const char *want; size_t want_len; int raw; } cases[] = {
        {"\"abc\"", "abc", 3, 0},
        {"'abc'", "abc", 3, 0},
        {"\"\"", "", 0, 0},
        {"\"a\\nb\\tc\\rd\"", "a\nb\tc\rd", 7, 0},
        {"\"\\a\\b\\f\\v\\\\\"", "\a\b\f\v\\", 5, 0},
        {"\"q\\\"q\"", "q\"q", 3, 0},
        {"'q\\'q'", "q'q", 3, 0},
        {"'q\"q'", "q\"q", 3, 0},
        {"\"\\x41\\x7a\\xff\"", "Az\xff", 3, 0},
        {"\"\\101\\000\\377\"", "A\0\xff", 3, 0},
        {"\"\\u00e9\\u4e2d\"", "\xc3\xa9\xe4\xb8\xad", 5, 0},
        {"\"\\U0001F600\"", "\xf0\x9f\x98\x80", 4, 0},
        {"\"a\\xc5z\"", "a\xc5z", 3, 0},
        {"`a\\d+\"'`", "a\\d+\"'", 6, 1},
        {"`line1\nline2`", "line1\nline2", 11, 1},
        {"\"é\"", "\xc3\xa9", 2, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lexrun r;
        token t;
        lex_one(&r, QLANG_PROMQL, cases[i].src, &t);
        assert_int_equal(t.kind, T_STRING);
        assert_int_equal(t.raw, cases[i].raw);
        if (t.s_len != cases[i].want_len || memcmp(t.s, cases[i].want, t.s_len) != 0)
            fail_msg("string %s decoded wrong (len %zu)", cases[i].src, t.s_len);
        assert_int_equal(t.s[t.s_len], '\0');
        run_free(&r);
    }
}

static void test_lexer_string_errors(void **state)
{
    (void)state;
    lex_error(QLANG_PROMQL, "\"abc", "1:1: unclosed string");
    lex_error(QLANG_PROMQL, "x{a='b}", "1:5: unclosed string");
    lex_error(QLANG_PROMQL, "`abc", "1:1: unclosed string");
    lex_error(QLANG_PROMQL, "\"ab\ncd\"", "1:1: unclosed string");
    lex_error(QLANG_PROMQL, "\"ab\\", "1:1: unclosed string");
    lex_error(QLANG_PROMQL, "\"a\\qb\"", "1:3: invalid escape sequence \"\\q\" in string");
    lex_error(QLANG_PROMQL, "  \"\\x4\"", "1:4: invalid escape sequence in string: \\x needs two hex digits");
    lex_error(QLANG_PROMQL, "\"\\xg0\"", "1:2: invalid escape sequence in string: \\x needs two hex digits");
    lex_error(QLANG_PROMQL, "\"\\u12\"", "1:2: invalid escape sequence in string: \\u needs 4 hex digits");
    lex_error(QLANG_PROMQL, "\"\\U0000004\"", "1:2: invalid escape sequence in string: \\U needs 8 hex digits");
    lex_error(QLANG_PROMQL, "\"\\ud800\"", "1:2: invalid escape sequence in string: U+D800 is not a valid code point");
    lex_error(QLANG_PROMQL, "\"\\U00110000\"", "1:2: invalid escape sequence in string: U+110000 is not a valid code point");
    lex_error(QLANG_PROMQL, "\"\\400\"", "1:2: invalid escape sequence in string: octal value 400 is above \\377");
    lex_error(QLANG_PROMQL, "\"\\12\"", "1:2: invalid escape sequence in string: octal escape needs three digits");
    lex_error(QLANG_PROMQL, "\"\\\x01\"", "1:2: invalid escape sequence in string: \\ followed by byte 0x01");
}

static void test_lexer_identifiers_and_keywords(void **state)
{
    (void)state;
    lexrun r;
    token t;
    lex_one(&r, QLANG_PROMQL, "node_namespace_pod:kube_pod_info:", &t);
    assert_int_equal(t.kind, T_IDENT);
    assert_int_equal(t.len, 33);
    assert_int_equal(t.kw, KW_NONE);
    run_free(&r);
    static const struct { const char *src; tok_kw kw; } kws[] = {
        {"by", KW_BY}, {"BY", KW_BY}, {"Without", KW_WITHOUT}, {"on", KW_ON}, {"ignoring", KW_IGNORING},
        {"group_left", KW_GROUP_LEFT}, {"GROUP_RIGHT", KW_GROUP_RIGHT}, {"bool", KW_BOOL}, {"offset", KW_OFFSET},
        {"and", KW_AND}, {"OR", KW_OR}, {"unless", KW_UNLESS}, {"atan2", KW_ATAN2}, {"start", KW_START},
        {"end", KW_END}, {"json", KW_JSON}, {"logfmt", KW_LOGFMT}, {"regexp", KW_REGEXP}, {"pattern", KW_PATTERN},
        {"unpack", KW_UNPACK}, {"line_format", KW_LINE_FORMAT}, {"label_format", KW_LABEL_FORMAT},
        {"drop", KW_DROP}, {"keep", KW_KEEP}, {"unwrap", KW_UNWRAP}, {"decolorize", KW_DECOLORIZE}, {"ip", KW_IP},
        {"duration", KW_DURATION}, {"duration_seconds", KW_DURATION_SECONDS}, {"bytes", KW_BYTES},
        {"byx", KW_NONE}, {"o", KW_NONE}, {"rate", KW_NONE},
    };
    for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
        lex_one(&r, QLANG_PROMQL, kws[i].src, &t);
        assert_int_equal(t.kind, T_IDENT);
        if (t.kw != kws[i].kw) fail_msg("%s: kw %d want %d", kws[i].src, t.kw, kws[i].kw);
        run_free(&r);
    }
    assert_string_equal(lex_keyword_name(KW_GROUP_LEFT), "group_left");
    assert_string_equal(lex_keyword_name(KW_NONE), "");
    assert_string_equal(lex_kind_name(T_RBRACKET), "\"]\"");
    assert_string_equal(lex_kind_name(T_EOF), "end of input");
}

/* `--strict` is a logfmt flag in LogQL and two minus signs in PromQL;
 * inside brackets a colon never starts an identifier. */
static void test_lexer_context(void **state)
{
    (void)state;
    tok_kind k[16];
    size_t n = lex_all(QLANG_LOGQL, "logfmt --strict --keep-empty", k, 16);
    assert_int_equal(n, 3);
    assert_int_equal(k[1], T_FLAG);
    assert_int_equal(k[2], T_FLAG);
    n = lex_all(QLANG_PROMQL, "--strict", k, 16);
    assert_int_equal(n, 3);
    assert_int_equal(k[0], T_SUB);
    assert_int_equal(k[1], T_SUB);
    assert_int_equal(k[2], T_IDENT);
    n = lex_all(QLANG_PROMQL, "x[30m:1m]", k, 16);
    const tok_kind want[] = {T_IDENT, T_LBRACKET, T_DURATION, T_COLON, T_DURATION, T_RBRACKET};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) assert_int_equal(k[i], want[i]);
    n = lex_all(QLANG_PROMQL, "x[30:10] :a", k, 16); /* outside brackets ':a' is a name again */
    assert_int_equal(n, 7);
    assert_int_equal(k[3], T_COLON);
    assert_int_equal(k[6], T_IDENT);
}

static void test_lexer_positions(void **state)
{
    (void)state;
    lexrun r;
    run_init(&r, QLANG_PROMQL, "sum(\n  rate(x[5m]) # comment\n) `a\nb` y\n\tz");
    static const struct { tok_kind k; int line, col; } want[] = {
        {T_IDENT, 1, 1}, {T_LPAREN, 1, 4}, {T_IDENT, 2, 3}, {T_LPAREN, 2, 7}, {T_IDENT, 2, 8},
        {T_LBRACKET, 2, 9}, {T_DURATION, 2, 10}, {T_RBRACKET, 2, 12}, {T_RPAREN, 2, 13}, {T_RPAREN, 3, 1},
        {T_STRING, 3, 3}, {T_IDENT, 4, 4}, {T_IDENT, 5, 2}, {T_EOF, 5, 3},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        token t;
        assert_int_equal(lex_next(&r.lx, &t, &r.err), CAIRN_OK);
        if (t.kind != want[i].k || t.line != want[i].line || t.col != want[i].col)
            fail_msg("token %zu: kind %d at %d:%d, want kind %d at %d:%d", i, t.kind, t.line, t.col, want[i].k,
                     want[i].line, want[i].col);
    }
    token t; /* EOF repeats */
    assert_int_equal(lex_next(&r.lx, &t, &r.err), CAIRN_OK);
    assert_int_equal(t.kind, T_EOF);
    run_free(&r);
    lex_error(QLANG_PROMQL, "a +\n  b ! c", "2:5: unexpected character \"!\"");
}

/* Every token class ending exactly at the end of an exact-size buffer. */
static void test_lexer_buffer_end(void **state)
{
    (void)state;
    static const char *const ends[] = {"abc", "123", "1.5", "1e3", "0x1F", "5m", "1h30m", "\"s\"", "`r`", "!=",
                                       "=~", "|", "Inf", "# c", " ", "20KB", "2."};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        tok_kind k[4];
        lex_all(QLANG_LOGQL, ends[i], k, 4);
    }
    lex_error(QLANG_PROMQL, "\"abc\\", "1:1: unclosed string");
    lex_error(QLANG_PROMQL, "1e", "1:1: bad number or duration \"1e\"");
    /* A NUL inside the buffer is a character, not the end. */
    arena *ar = arena_new(0);
    lex lx;
    const char src[] = {'a', '\0', 'b'};
    token t;
    cairn_err e;
    lex_init(&lx, QLANG_PROMQL, src, 3, ar);
    assert_int_equal(lex_next(&lx, &t, &e), CAIRN_OK);
    assert_int_equal(t.kind, T_IDENT);
    assert_int_equal(lex_next(&lx, &t, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "1:2: unexpected byte 0x00");
    arena_free(ar);
    /* Empty input. */
    tok_kind k[1];
    assert_int_equal(lex_all(QLANG_PROMQL, "", k, 1), 0);
}

static void test_lexer_unexpected(void **state)
{
    (void)state;
    lex_error(QLANG_PROMQL, "a ! b", "1:3: unexpected character \"!\"");
    lex_error(QLANG_PROMQL, "a ; b", "1:3: unexpected character \";\"");
    lex_error(QLANG_PROMQL, "a \x80", "1:3: unexpected byte 0x80");
    lex_error(QLANG_PROMQL, "x[5x]", "1:3: bad number or duration \"5x\"");
    lex_error(QLANG_PROMQL, "1h30m15q", "1:1: bad number or duration \"1h30m15q\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lexer_operators),
        cmocka_unit_test(test_lexer_numbers),
        cmocka_unit_test(test_lexer_durations),
        cmocka_unit_test(test_lexer_bytes),
        cmocka_unit_test(test_lexer_strings),
        cmocka_unit_test(test_lexer_string_errors),
        cmocka_unit_test(test_lexer_identifiers_and_keywords),
        cmocka_unit_test(test_lexer_context),
        cmocka_unit_test(test_lexer_positions),
        cmocka_unit_test(test_lexer_buffer_end),
        cmocka_unit_test(test_lexer_unexpected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
