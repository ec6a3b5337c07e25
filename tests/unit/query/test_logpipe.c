/*
 * test_logpipe.c — every LogQL pipeline stage on single entries: line
 * filters (chained, `or`, regex, pattern), json (flattening, sanitising,
 * escapes, arrays and nulls, errors, expressions), logfmt (quoting,
 * malformed pairs, --strict, --keep-empty), regexp, pattern, unpack, label
 * filters (strings, numbers, durations, bytes, and/or, conversion errors),
 * line_format and label_format templates, drop/keep, unwrap conversions,
 * decolorize, structured metadata, parser hints and filter push-down, plus
 * the duration/bytes/float parsers. Expected values follow Loki's documented
 * behaviour (shared/docs/logql-semantics.md §5).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "dur.h"
#include "logpipe.h"
#include "logtmpl.h"
#include "parse.h"
#include "support.h"
#include "value.h"

typedef struct run_out {
    int keep;
    char labels[1024];
    char line[1024];
    double uv;
    int has_uv;
} run_out;

static const cairn_label stream_app[] = {CAIRN_LABEL("app", "x"), CAIRN_LABEL("level", "info")};

/* Parse `{app="x"} <pipe>`, compile with `hints`, run on `line`. Returns the compile code. */
static int run_h(const char *pipe, const char *line, const cairn_label *meta, size_t n_meta, const lpipe_hints *hints,
                 run_out *o, cairn_err *e)
{
    arena *ar = arena_new(0);
    char q[1024];
    snprintf(q, sizeof q, "{app=\"x\"} %s", pipe);
    ast_node *root = NULL;
    int rc = parse_query(ar, QLANG_LOGQL, q, strlen(q), &root, e);
    if (rc) {
        fprintf(stderr, "parse %s: %s\n", q, e->msg);
        arena_free(ar);
        return rc;
    }
    assert_int_equal(root->kind, AST_LOG_SELECTOR);
    lpipe *p = NULL;
    rc = lpipe_new(ar, root->u.log.stages, root->u.log.n_stages, hints, &p, e);
    if (rc) {
        arena_free(ar);
        return rc;
    }
    assert_int_equal(lpipe_stream(p, stream_app, 2), CAIRN_OK);
    memset(o, 0, sizeof *o);
    o->keep = lpipe_run(p, 1700000000123456789LL, line, strlen(line), meta, n_meta);
    if (o->keep == 1) {
        const cairn_label *ls;
        size_t n;
        assert_int_equal(lpipe_labels(p, &ls, &n), CAIRN_OK);
        val_lset vs = {ls, n};
        val_lset_format(vs, o->labels, sizeof o->labels);
        size_t ll;
        const char *l = lpipe_line(p, &ll);
        snprintf(o->line, sizeof o->line, "%.*s", (int)ll, l);
        o->uv = lpipe_unwrap_value(p, &o->has_uv);
    }
    lpipe_free(p);
    arena_free(ar);
    return CAIRN_OK;
}

static run_out run(const char *pipe, const char *line)
{
    run_out o;
    cairn_err e;
    int rc = run_h(pipe, line, NULL, 0, NULL, &o, &e);
    if (rc) fprintf(stderr, "%s: %s\n", pipe, e.msg);
    assert_int_equal(rc, CAIRN_OK);
    return o;
}

#define EXPECT_LABELS(pipe, line, want)                                                                  \
    do {                                                                                                 \
        run_out o_ = run(pipe, line);                                                                    \
        assert_int_equal(o_.keep, 1);                                                                    \
        assert_string_equal(o_.labels, want);                                                            \
    } while (0)

#define EXPECT_DROP(pipe, line)                                                                          \
    do {                                                                                                 \
        run_out o_ = run(pipe, line);                                                                    \
        assert_int_equal(o_.keep, 0);                                                                    \
    } while (0)

/* ---- line filters ------------------------------------------------------------------------------ */

static void test_filter_contains_chained(void **state)
{
    (void)state;
    EXPECT_LABELS("|= \"err\" != \"timeout\"", "an error", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("|= \"err\" != \"timeout\"", "error: timeout");
    EXPECT_DROP("|= \"Err\"", "an error"); /* case-sensitive */
    EXPECT_LABELS("|= \"\"", "anything", "{app=\"x\", level=\"info\"}");
}

static void test_filter_or(void **state)
{
    (void)state;
    EXPECT_LABELS("|= \"a\" or \"b\"", "xbx", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("|= \"a\" or \"b\"", "xcx");
    EXPECT_DROP("!= \"a\" or \"b\"", "xbx"); /* none of them */
    EXPECT_LABELS("!= \"a\" or \"b\"", "xcx", "{app=\"x\", level=\"info\"}");
}

static void test_filter_regex_unanchored(void **state)
{
    (void)state;
    EXPECT_LABELS("|~ \"e.r\"", "an error here", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("!~ \"e.r\"", "an error here");
    EXPECT_LABELS("|~ \"(?i)ERROR\"", "an error here", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("|~ \"^error\"", "an error here");
}

static void test_filter_pattern(void **state)
{
    (void)state;
    EXPECT_LABELS("|> \"<_> error <_>\"", "an error here", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("|> \"<_> error <_>\"", "error here"); /* capture before the literal must not be empty */
    EXPECT_LABELS("!> \"<_> error <_>\"", "all fine", "{app=\"x\", level=\"info\"}");
    EXPECT_DROP("|> \"GET <_>\"", "POST /x");
}

/* ---- json -------------------------------------------------------------------------------------------- */

static void test_json_flatten_types(void **state)
{
    (void)state;
    EXPECT_LABELS("| json",
                  "{\"a\":\"b\",\"n\":12.30,\"t\":true,\"f\":false,\"z\":null,\"arr\":[1,{\"x\":2}],"
                  "\"o\":{\"p\":{\"q\":\"r\"}},\"e\":1e3}",
                  "{a=\"b\", app=\"x\", e=\"1e3\", f=\"false\", level=\"info\", n=\"12.30\", o_p_q=\"r\", t=\"true\"}");
}

static void test_json_sanitize_names(void **state)
{
    (void)state;
    EXPECT_LABELS("| json", "{\"http.method\":\"GET\",\" padded key \":\"1\",\"2xx\":\"y\",\"user_r\xc3\xa9gion\":\"z\"}",
                  "{_2xx=\"y\", app=\"x\", http_method=\"GET\", level=\"info\", padded_key=\"1\", user_r_gion=\"z\"}");
    EXPECT_LABELS("| json", "{\"o\":{\"2xx\":1,\"\":{\"k\":2}}}", "{app=\"x\", level=\"info\", o_2xx=\"1\", o_k=\"2\"}");
}

static void test_json_collision_extracted(void **state)
{
    (void)state;
    EXPECT_LABELS("| json", "{\"level\":\"error\",\"app\":{\"v\":1}}",
                  "{app=\"x\", app_v=\"1\", level=\"info\", level_extracted=\"error\"}");
}

static void test_json_escapes(void **state)
{
    (void)state;
    EXPECT_LABELS("| json", "{\"m\":\"a\\\"b\\u00e9\\n\",\"k\\u0041\":\"v\",\"bad\":\"x\\qy\",\"s\":\"\\ud83d\\ude00\"}",
                  "{app=\"x\", kA=\"v\", level=\"info\", m=\"a\"b\xc3\xa9\n\", s=\"\xf0\x9f\x98\x80\"}");
    /* U+FFFD and invalid UTF-8 become spaces */
    EXPECT_LABELS("| json", "{\"m\":\"a\xef\xbf\xbd" "b\xff" "c\"}", "{app=\"x\", level=\"info\", m=\"a b c\"}");
}

static void test_json_first_wins(void **state)
{
    (void)state;
    EXPECT_LABELS("| json", "{\"a\":\"1\",\"a\":\"2\"}", "{a=\"1\", app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| label_format a=\"fmt\" | json", "{\"a\":\"1\"}", "{a=\"fmt\", app=\"x\", level=\"info\"}");
}

static void test_json_errors(void **state)
{
    (void)state;
    EXPECT_LABELS("| json", "not json",
                  "{__error__=\"JSONParserErr\", __error_details__=\"Value looks like object, but can't find closing "
                  "'}' symbol\", app=\"x\", level=\"info\"}");
    /* labels before the error stay; the line is kept */
    EXPECT_LABELS("| json", "{\"a\":\"b\", \"c\":}",
                  "{__error__=\"JSONParserErr\", __error_details__=\"Unknown value type\", a=\"b\", app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| json", "{\"a\":\"b\"", "{__error__=\"JSONParserErr\", __error_details__=\"Value looks like object, "
                                             "but can't find closing '}' symbol\", a=\"b\", app=\"x\", level=\"info\"}");
    /* garbage after the object is ignored */
    EXPECT_LABELS("| json", "  {\"a\":\"b\"} trailing", "{a=\"b\", app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| json | __error__=\"\"", "{\"a\":1}", "{a=\"1\", app=\"x\", level=\"info\"}");
    EXPECT_DROP("| json | __error__=\"\"", "[1,2]");
    EXPECT_LABELS("| json | drop __error__, __error_details__", "oops", "{app=\"x\", level=\"info\"}");
}

static void test_json_expressions(void **state)
{
    (void)state;
    const char *l = "{\"o\":{\"p\":{\"q\":\"r\"}},\"arr\":[10,20],\"k y\":\"sp\",\"n\":null}";
    EXPECT_LABELS("| json x=\"o.p.q\", y=\"arr[1]\", z=\"o\", w=\"[\\\"k y\\\"]\", app, n",
                  l, "{app=\"x\", level=\"info\", w=\"sp\", x=\"r\", y=\"20\", z=\"{\"p\":{\"q\":\"r\"}}\"}");
    EXPECT_LABELS("| json x=\"missing\"", l, "{app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| json x=\"a\"", "plain text",
                  "{__error__=\"JSONParserErr\", __error_details__=\"Invalid JSON\", app=\"x\", level=\"info\"}");
}

/* ---- logfmt ------------------------------------------------------------------------------------------------ */

static void test_logfmt_basic_and_quoting(void **state)
{
    (void)state;
    EXPECT_LABELS("| logfmt", "a=1 b=\"x y\" c= d e=\"q\\\"z\" app=dup",
                  "{a=\"1\", app=\"x\", app_extracted=\"dup\", b=\"x y\", e=\"q\"z\", level=\"info\"}");
}

static void test_logfmt_malformed_skipped(void **state)
{
    (void)state;
    EXPECT_LABELS("| logfmt", "a=1 b==2 =3 c\"d=4 e=5 f=\"open", "{a=\"1\", app=\"x\", e=\"5\", level=\"info\"}");
}

static void test_logfmt_strict_and_keep_empty(void **state)
{
    (void)state;
    EXPECT_LABELS("| logfmt --strict", "a=1 b==2 c=3",
                  "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt syntax error at pos 7 : unexpected "
                  "'='\", a=\"1\", app=\"x\", level=\"info\"}");
    /* keep-empty: the label exists (a filter sees it) even though its value is empty */
    EXPECT_LABELS("| logfmt --keep-empty | c=\"\" | b=\"\"", "a=1 c=", "{a=\"1\", app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| logfmt x=\"a\", c", "a=1 b=2 c=3", "{app=\"x\", c=\"3\", level=\"info\", x=\"1\"}");
}

/* ---- regexp, pattern, unpack ------------------------------------------------------------------------------- */

static void test_regexp_named_groups(void **state)
{
    (void)state;
    EXPECT_LABELS("| regexp \"(?P<method>\\\\w+) (?P<path>[^ ]+)(?: (?P<opt>x))?\"", "GET /index.html 200",
                  "{app=\"x\", level=\"info\", method=\"GET\", path=\"/index.html\"}");
    EXPECT_LABELS("| regexp \"(?P<method>POST)\"", "GET /", "{app=\"x\", level=\"info\"}");
    EXPECT_LABELS("| regexp \"(?P<level>\\\\w+)\"", "warn", "{app=\"x\", level=\"info\", level_extracted=\"warn\"}");
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| regexp \"(\\\\w+)\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "named capture"));
    assert_int_equal(run_h("| regexp \"(?P<a>\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "invalid regexp stage"));
}

static void test_pattern_extract(void **state)
{
    (void)state;
    EXPECT_LABELS("| pattern \"<ip> - - <_> \\\"<method> <uri> <_>\\\" <status> <size>\"",
                  "10.0.0.1 - - [date] \"GET /a HTTP/1.1\" 200 512",
                  "{app=\"x\", ip=\"10.0.0.1\", level=\"info\", method=\"GET\", size=\"512\", status=\"200\", uri=\"/a\"}");
    /* a missing literal: the capture takes the rest and matching stops */
    EXPECT_LABELS("| pattern \"<a> <b>;<c>\"", "one two three", "{a=\"one\", app=\"x\", b=\"two three\", level=\"info\"}");
    /* a leading literal that does not match: nothing extracted */
    EXPECT_LABELS("| pattern \"x=<a>\"", "y=1", "{app=\"x\", level=\"info\"}");
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| pattern \"<a><b>\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "separated by literals"));
    assert_int_equal(run_h("| pattern \"<_> x\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "named capture"));
}

static void test_unpack(void **state)
{
    (void)state;
    run_out o = run("| unpack", "{\"_entry\":\"hello\",\"a\":\"b\",\"n\":1,\"app\":\"y\"}");
    assert_int_equal(o.keep, 1);
    assert_string_equal(o.labels, "{a=\"b\", app=\"x\", app_extracted=\"y\", level=\"info\"}");
    assert_string_equal(o.line, "hello");
}

/* ---- label filters --------------------------------------------------------------------------------------- */

static void test_label_filter_numbers(void **state)
{
    (void)state;
    const char *l = "{\"latency_ms\":\"150.5\",\"bad\":\"abc\",\"s\":\"200\"}";
    EXPECT_LABELS("| json | latency_ms > 100 | keep app", l, "{app=\"x\"}");
    EXPECT_DROP("| json | latency_ms <= 150", l);
    EXPECT_LABELS("| json | s == 200 | s = 200 | s != 201 | s >= 200 | s < 201 | keep s", l, "{s=\"200\"}");
    EXPECT_DROP("| json | missing != 1", l); /* absent: dropped even for != */
    /* not convertible: kept with LabelFilterErr */
    EXPECT_LABELS("| json | bad > 1 | keep app", l,
                  "{__error__=\"LabelFilterErr\", __error_details__=\"strconv.ParseFloat: parsing \"abc\": invalid "
                  "syntax\", app=\"x\"}");
}

static void test_label_filter_durations_bytes(void **state)
{
    (void)state;
    const char *l = "d=1.5s big=20KB small=100B t=1h2m";
    EXPECT_LABELS("| logfmt | d > 1s and d < 1600ms | big >= 20KB | big < 20KiB | small == 100B | t > 1h | keep app", l,
                  "{app=\"x\"}");
    EXPECT_DROP("| logfmt | d > 2s", l);
    EXPECT_LABELS("| logfmt | big > 1s | keep app", l,
                  "{__error__=\"LabelFilterErr\", __error_details__=\"time: invalid duration \"20KB\"\", app=\"x\"}");
}

static void test_label_filter_strings_and_or(void **state)
{
    (void)state;
    const char *l = "a=foo b=bar";
    EXPECT_LABELS("| logfmt | a=\"foo\" | b=~\"ba.\" | a!~\"f\" | keep app", l, "{app=\"x\"}");
    EXPECT_DROP("| logfmt | b=~\"a\"", l); /* anchored */
    EXPECT_LABELS("| logfmt | a=\"x\" or b=\"bar\" | keep app", l, "{app=\"x\"}");
    EXPECT_DROP("| logfmt | a=\"foo\" and b=\"x\"", l);
    EXPECT_LABELS("| logfmt | (a=\"x\" or a=\"foo\"), b=\"bar\" | keep app", l, "{app=\"x\"}");
    EXPECT_LABELS("| logfmt | c=\"\" | keep app", l, "{app=\"x\"}"); /* absent = "" for string filters */
    /* `and` evaluates both sides: the error from the right side appears even though the left side passes */
    EXPECT_LABELS("| logfmt | a=\"foo\" and b > 1 | keep app", l,
                  "{__error__=\"LabelFilterErr\", __error_details__=\"strconv.ParseFloat: parsing \"bar\": invalid "
                  "syntax\", app=\"x\"}");
}

/* ---- formatting -------------------------------------------------------------------------------------------- */

static void test_line_format_functions(void **state)
{
    (void)state;
    struct {
        const char *tmpl, *want;
    } cases[] = {
        {"{{.a}}-{{ .missing }}-{{.app}}", "foo--x"},
        {"{{ .a | ToUpper }} {{ upper .a }} {{ .b | lower }}", "FOO FOO bar"},
        {"{{ Replace .a \\\"o\\\" \\\"0\\\" -1 }} {{ Replace .a \\\"o\\\" \\\"0\\\" 1 }} {{ .a | replace \\\"f\\\" \\\"F\\\" }}", "f00 f0o Foo"},
        {"{{ TrimSpace .p }}|{{ Trim .a \\\"f\\\" }}|{{ TrimPrefix .a \\\"f\\\" }}|{{ .a | trimSuffix \\\"o\\\" }}", "pad|oo|oo|fo"},
        {"{{ default \\\"none\\\" .missing }} {{ .a | default \\\"none\\\" }}", "none foo"},
        {"{{ if eq .a \\\"foo\\\" }}yes{{ else }}no{{ end }} {{ if .missing }}m{{ else if .b }}b{{ end }}", "yes b"},
        {"{{ substr 0 2 .a }} {{ trunc 2 .b }} {{ len .a }} {{ printf \\\"%s=%d\\\" .a 3 }}", "fo ba 3 foo=3"},
        {"{{- .a -}}  ,  {{- .b }}", "foo,bar"},
        {"{{ __line__ }}", "a=foo b=bar p=\" pad \""},
        {"{{ __timestamp__ }}", "2023-11-14 22:13:20.123456789 +0000 UTC"},
        {"{{ .a | title }} {{ contains \\\"oo\\\" .a }} {{ not .a }}", "Foo true false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, "| logfmt | line_format \"%s\"", cases[i].tmpl);
        run_out o = run(p, "a=foo b=bar p=\" pad \"");
        assert_int_equal(o.keep, 1);
        if (strcmp(o.line, cases[i].want)) fprintf(stderr, "template %s: got [%s]\n", cases[i].tmpl, o.line);
        assert_string_equal(o.line, cases[i].want);
    }
}

static void test_line_format_errors(void **state)
{
    (void)state;
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| line_format \"{{ .a | Nope }}\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "template: {{ .a | Nope }}: function \"Nope\" not defined");
    assert_int_equal(run_h("| line_format \"{{ if .a }}x\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "missing {{end}}"));
    assert_int_equal(run_h("| line_format \"{{ .a \"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "unclosed action"));
    /* execution error: the line is kept with TemplateFormatErr */
    o = run("| logfmt | line_format \"{{ trunc .a .a }}\"", "a=x");
    assert_int_equal(o.keep, 1);
    assert_string_equal(o.line, "a=x");
    assert_non_null(strstr(o.labels, "__error__=\"TemplateFormatErr\""));
}

static void test_line_format_feeds_later_stages(void **state)
{
    (void)state;
    run_out o = run("| logfmt | line_format \"{{.b}}\" |= \"ba\" | line_format \"<{{__line__}}>\"", "a=foo b=bar");
    assert_int_equal(o.keep, 1);
    assert_string_equal(o.line, "<bar>");
    EXPECT_DROP("| logfmt | line_format \"{{.b}}\" |= \"foo\"", "a=foo b=bar");
}

static void test_label_format_rename_and_template(void **state)
{
    (void)state;
    EXPECT_LABELS("| logfmt | label_format x=a, y=\"{{.b}}-{{.x}}\", svc=app", "a=foo b=bar",
                  "{b=\"bar\", level=\"info\", svc=\"x\", x=\"foo\", y=\"bar-\"}");
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| label_format a=\"x\", a=\"y\"", "x", NULL, 0, NULL, &o, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, "multiple label name 'a'"));
}

static void test_drop_keep(void **state)
{
    (void)state;
    EXPECT_LABELS("| logfmt | drop level, a", "a=1 b=2", "{app=\"x\", b=\"2\"}");
    EXPECT_LABELS("| logfmt | drop a=\"1\", b=\"3\"", "a=1 b=2", "{app=\"x\", b=\"2\", level=\"info\"}");
    EXPECT_LABELS("| logfmt | keep a, b=\"3\"", "a=1 b=2", "{a=\"1\"}");
    /* error labels survive keep */
    EXPECT_LABELS("| json | keep a", "x", "{__error__=\"JSONParserErr\", __error_details__=\"Value looks like object, but "
                                          "can't find closing '}' symbol\"}");
}

static void test_decolorize(void **state)
{
    (void)state;
    run_out o = run("| decolorize", "\x1b[31mred\x1b[0m and \x1b[1;32mgreen\x1b[m\x1b]0;title\x07!");
    assert_string_equal(o.line, "red and green!");
}

/* ---- unwrap --------------------------------------------------------------------------------------------------- */

static run_out run_unwrap(const char *pipe, const char *line)
{
    /* unwrap is only valid in a range: parse a range aggregation and run its selector's stages */
    arena *ar = arena_new(0);
    char q[512];
    snprintf(q, sizeof q, "sum_over_time({app=\"x\"} %s [1m])", pipe);
    ast_node *root = NULL;
    cairn_err e;
    int rc = parse_query(ar, QLANG_LOGQL, q, strlen(q), &root, &e);
    if (rc) fprintf(stderr, "%s: %s\n", q, e.msg);
    assert_int_equal(rc, CAIRN_OK);
    const ast_node *sel = root->u.lagg.range->u.lrange.log;
    lpipe *p = NULL;
    assert_int_equal(lpipe_new(ar, sel->u.log.stages, sel->u.log.n_stages, NULL, &p, &e), CAIRN_OK);
    assert_int_equal(lpipe_stream(p, stream_app, 2), CAIRN_OK);
    run_out o;
    memset(&o, 0, sizeof o);
    o.keep = lpipe_run(p, 0, line, strlen(line), NULL, 0);
    if (o.keep == 1) {
        const cairn_label *ls;
        size_t n;
        assert_int_equal(lpipe_labels(p, &ls, &n), CAIRN_OK);
        val_lset vs = {ls, n};
        val_lset_format(vs, o.labels, sizeof o.labels);
        o.uv = lpipe_unwrap_value(p, &o.has_uv);
    }
    ast_str lab;
    assert_int_equal(lpipe_unwraps(p, &lab), 1);
    lpipe_free(p);
    arena_free(ar);
    return o;
}

static void test_unwrap_conversions(void **state)
{
    (void)state;
    run_out o = run_unwrap("| logfmt | unwrap v", "v=12.5");
    assert_int_equal(o.has_uv, 1);
    assert_bits_equal(o.uv, 12.5);
    o = run_unwrap("| logfmt | unwrap duration(v)", "v=1m30s");
    assert_bits_equal(o.uv, 90.0);
    o = run_unwrap("| logfmt | unwrap duration_seconds(v)", "v=250ms");
    assert_bits_equal(o.uv, 0.25);
    o = run_unwrap("| logfmt | unwrap bytes(v)", "v=1.5KiB");
    assert_bits_equal(o.uv, 1536.0);
    o = run_unwrap("| logfmt | unwrap bytes(v)", "v=2KB");
    assert_bits_equal(o.uv, 2000.0);
    /* absent or empty: no sample, no error */
    o = run_unwrap("| logfmt | unwrap v", "w=1");
    assert_int_equal(o.keep, 1);
    assert_int_equal(o.has_uv, 0);
}

static void test_unwrap_errors(void **state)
{
    (void)state;
    run_out o = run_unwrap("| logfmt | unwrap v", "v=abc");
    assert_int_equal(o.keep, 1);
    assert_int_equal(o.has_uv, 1);
    assert_bits_equal(o.uv, 0.0);
    assert_string_equal(o.labels, "{__error__=\"SampleExtractionErr\", __error_details__=\"strconv.ParseFloat: parsing "
                                  "\"abc\": invalid syntax\", app=\"x\", level=\"info\", v=\"abc\"}");
    o = run_unwrap("| logfmt | unwrap v | __error__=\"\"", "v=abc");
    assert_int_equal(o.keep, 0);
    o = run_unwrap("| logfmt | unwrap duration(v)", "v=12");
    assert_non_null(strstr(o.labels, "time: invalid duration \"12\""));
}

/* ---- metadata, hints, push-down ---------------------------------------------------------------------------------- */

static void test_structured_metadata(void **state)
{
    (void)state;
    cairn_label meta[] = {CAIRN_LABEL("trace_id", "abc"), CAIRN_LABEL("level", "debug")};
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| trace_id=\"abc\"", "line", meta, 2, NULL, &o, &e), CAIRN_OK);
    assert_int_equal(o.keep, 1);
    /* metadata shadows the stream label of the same name */
    assert_string_equal(o.labels, "{app=\"x\", level=\"debug\", trace_id=\"abc\"}");
    assert_int_equal(run_h("| trace_id=\"x\"", "line", meta, 2, NULL, &o, &e), CAIRN_OK);
    assert_int_equal(o.keep, 0);
    assert_int_equal(run_h("| drop trace_id", "line", meta, 2, NULL, &o, &e), CAIRN_OK);
    assert_string_equal(o.labels, "{app=\"x\", level=\"debug\"}");
}

static void test_hints_restrict_and_skip(void **state)
{
    (void)state;
    ast_str want[] = {{"status", 6}};
    lpipe_hints h = {1, want, 1};
    run_out o;
    cairn_err e;
    assert_int_equal(run_h("| json", "{\"a\":1,\"status\":200,\"b\":2}", NULL, 0, &h, &o, &e), CAIRN_OK);
    assert_string_equal(o.labels, "{app=\"x\", level=\"info\", status=\"200\"}");
    /* stop once everything needed was found: a later syntax error goes unnoticed */
    assert_int_equal(run_h("| json", "{\"status\":200,\"b\":", NULL, 0, &h, &o, &e), CAIRN_OK);
    assert_string_equal(o.labels, "{app=\"x\", level=\"info\", status=\"200\"}");
    /* nothing needed: parsers skipped entirely, so no error */
    lpipe_hints none = {1, NULL, 0};
    assert_int_equal(run_h("| json", "not json", NULL, 0, &none, &o, &e), CAIRN_OK);
    assert_string_equal(o.labels, "{app=\"x\", level=\"info\"}");
    /* __error__ needed: the error is produced and marked preserved */
    ast_str err_only[] = {{"__error__", 9}};
    lpipe_hints he = {1, err_only, 1};
    assert_int_equal(run_h("| json", "not json", NULL, 0, &he, &o, &e), CAIRN_OK);
    assert_non_null(strstr(o.labels, "__error__=\"JSONParserErr\""));
}

static void test_pushdown(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    const char *q = "{app=\"x\"} |= \"a\" != \"b\" |~ \"c\" !~ \"d\" |= \"e\" or \"f\" | json |= \"g\"";
    ast_node *root;
    cairn_err e;
    assert_int_equal(parse_query(ar, QLANG_LOGQL, q, strlen(q), &root, &e), CAIRN_OK);
    lpipe *p;
    assert_int_equal(lpipe_new(ar, root->u.log.stages, root->u.log.n_stages, NULL, &p, &e), CAIRN_OK);
    cairn_line_filter f[8];
    assert_int_equal(lpipe_pushdown(p, f, 8), 4);
    assert_int_equal(f[0].op, CAIRN_FILTER_CONTAINS);
    assert_int_equal(f[1].op, CAIRN_FILTER_NOT_CONTAINS);
    assert_int_equal(f[2].op, CAIRN_FILTER_REGEX);
    assert_int_equal(f[3].op, CAIRN_FILTER_NOT_REGEX);
    assert_memory_equal(f[2].pattern, "c", 1);
    /* the pushed filters are not run again: a line storage would have rejected passes here */
    assert_int_equal(lpipe_stream(p, stream_app, 2), CAIRN_OK);
    assert_int_equal(lpipe_run(p, 0, "{\"f\":\"g\"}", 9, NULL, 0), 1);
    assert_int_equal(lpipe_run(p, 0, "{\"x\":\"g\"}", 9, NULL, 0), 0); /* e or f fails */
    lpipe_free(p);
    arena_free(ar);
}

/* ---- parsers of numbers ---------------------------------------------------------------------------------------- */

static void test_parse_duration_bytes_float(void **state)
{
    (void)state;
    double v;
    assert_int_equal(dur_parse_go("1h2m3.5s", 8, &v), CAIRN_OK);
    assert_bits_equal(v, 3723.5);
    assert_int_equal(dur_parse_go("-1.5h", 5, &v), CAIRN_OK);
    assert_bits_equal(v, -5400.0);
    assert_int_equal(dur_parse_go("1\xc2\xb5s", 4, &v), CAIRN_OK);
    assert_bits_equal(v, 1e-6);
    assert_int_equal(dur_parse_go("0", 1, &v), CAIRN_OK);
    assert_int_equal(dur_parse_go("1", 1, &v), CAIRN_EINVAL);
    assert_int_equal(dur_parse_go("1d", 2, &v), CAIRN_EINVAL);
    assert_int_equal(dur_parse_go("", 0, &v), CAIRN_EINVAL);
    assert_int_equal(lpipe_parse_bytes("20KB", 4, &v), CAIRN_OK);
    assert_bits_equal(v, 20000.0);
    assert_int_equal(lpipe_parse_bytes("1MiB", 4, &v), CAIRN_OK);
    assert_bits_equal(v, 1048576.0);
    assert_int_equal(lpipe_parse_bytes("1,000 kb", 8, &v), CAIRN_OK);
    assert_bits_equal(v, 1e6);
    assert_int_equal(lpipe_parse_bytes("42", 2, &v), CAIRN_OK);
    assert_bits_equal(v, 42.0);
    assert_int_equal(lpipe_parse_bytes("1XB", 3, &v), CAIRN_EINVAL);
    assert_int_equal(lpipe_parse_bytes("KB", 2, &v), CAIRN_EINVAL);
    assert_int_equal(lpipe_parse_float("1e3", 3, &v), CAIRN_OK);
    assert_bits_equal(v, 1000.0);
    assert_int_equal(lpipe_parse_float("+Inf", 4, &v), CAIRN_OK);
    assert_true(isinf(v));
    assert_int_equal(lpipe_parse_float(" 1", 2, &v), CAIRN_EINVAL);
    assert_int_equal(lpipe_parse_float("1_000", 5, &v), CAIRN_EINVAL);
    assert_int_equal(lpipe_parse_float("12abc", 5, &v), CAIRN_EINVAL);
    char d[32];
    assert_int_equal(lpipe_sanitize(" a.b ", 5, d, sizeof d), 3);
    assert_memory_equal(d, "a_b", 3);
}

/* Random lines through json and logfmt: never crash, always keep the line. */
static void test_parsers_random_lines(void **state)
{
    (void)state;
    t_rng_reset();
    arena *ar = arena_new(0);
    const char *q = "{app=\"x\"} | json | logfmt | pattern \"<a> <b>\" | unpack";
    ast_node *root;
    cairn_err e;
    assert_int_equal(parse_query(ar, QLANG_LOGQL, q, strlen(q), &root, &e), CAIRN_OK);
    lpipe *p;
    assert_int_equal(lpipe_new(ar, root->u.log.stages, root->u.log.n_stages, NULL, &p, &e), CAIRN_OK);
    assert_int_equal(lpipe_stream(p, stream_app, 2), CAIRN_OK);
    static const char alphabet[] = "{}[]\":,= \\ua0.-tfn1e_\x80\xff";
    char line[200];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)t_randn(sizeof line);
        for (size_t j = 0; j < n; j++) line[j] = alphabet[t_randn(sizeof alphabet - 1)];
        assert_int_equal(lpipe_run(p, 0, line, n, NULL, 0), 1);
        const cairn_label *ls;
        size_t nl;
        assert_int_equal(lpipe_labels(p, &ls, &nl), CAIRN_OK);
        for (size_t j = 1; j < nl; j++) { /* sorted, unique names */
            size_t m = ls[j - 1].name_len < ls[j].name_len ? ls[j - 1].name_len : ls[j].name_len;
            int c = memcmp(ls[j - 1].name, ls[j].name, m);
            assert_true(c < 0 || (c == 0 && ls[j - 1].name_len < ls[j].name_len));
        }
    }
    lpipe_free(p);
    arena_free(ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_contains_chained),
        cmocka_unit_test(test_filter_or),
        cmocka_unit_test(test_filter_regex_unanchored),
        cmocka_unit_test(test_filter_pattern),
        cmocka_unit_test(test_json_flatten_types),
        cmocka_unit_test(test_json_sanitize_names),
        cmocka_unit_test(test_json_collision_extracted),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_first_wins),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_expressions),
        cmocka_unit_test(test_logfmt_basic_and_quoting),
        cmocka_unit_test(test_logfmt_malformed_skipped),
        cmocka_unit_test(test_logfmt_strict_and_keep_empty),
        cmocka_unit_test(test_regexp_named_groups),
        cmocka_unit_test(test_pattern_extract),
        cmocka_unit_test(test_unpack),
        cmocka_unit_test(test_label_filter_numbers),
        cmocka_unit_test(test_label_filter_durations_bytes),
        cmocka_unit_test(test_label_filter_strings_and_or),
        cmocka_unit_test(test_line_format_functions),
        cmocka_unit_test(test_line_format_errors),
        cmocka_unit_test(test_line_format_feeds_later_stages),
        cmocka_unit_test(test_label_format_rename_and_template),
        cmocka_unit_test(test_drop_keep),
        cmocka_unit_test(test_decolorize),
        cmocka_unit_test(test_unwrap_conversions),
        cmocka_unit_test(test_unwrap_errors),
        cmocka_unit_test(test_structured_metadata),
        cmocka_unit_test(test_hints_restrict_and_skip),
        cmocka_unit_test(test_pushdown),
        cmocka_unit_test(test_parse_duration_bytes_float),
        cmocka_unit_test(test_parsers_random_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
