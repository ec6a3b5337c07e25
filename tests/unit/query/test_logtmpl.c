/*
 * test_logtmpl.c — the line_format / label_format template engine on its
 * own: Go's call form (a function named in argument position is called
 * without arguments, `{{ repeat 2 __line__ }}`), the output bounds (Loki's
 * max_line_size-style cap on one rendering, and on the intermediate values
 * of `repeat` and `replace`), and values rendered out of an empty scratch
 * buffer (the UBSan "applying zero offset to null pointer" findings; those
 * assertions only bite in the asan build, where UBSan aborts).
 */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "buf.h"
#include "logtmpl.h"
#include "support.h"

static const char *lt_lookup(void *ctx, const char *name, size_t name_len, size_t *len)
{
    (void)ctx;
    if (name_len == 1 && name[0] == 'a') {
        *len = 3;
        return "foo";
    }
    return NULL;
}

typedef struct lt_out {
    int compile_rc, render_rc;
    char msg[256];
    char *text; /* malloc'd; NULL unless rendered */
    size_t len;
} lt_out;

/* Compile `tmpl`, render it once over `line` with fresh (storage-less) buffers. */
static lt_out lt_run(const char *tmpl, const char *line, size_t line_len)
{
    lt_out o;
    memset(&o, 0, sizeof o);
    arena *ar = arena_new(0);
    assert_non_null(ar);
    ltmpl *t = NULL;
    cairn_err e;
    memset(&e, 0, sizeof e);
    o.compile_rc = ltmpl_compile(ar, tmpl, strlen(tmpl), &t, &e);
    if (o.compile_rc == CAIRN_OK) {
        buf tmp, dst;
        buf_init(&tmp);
        buf_init(&dst);
        ltmpl_env env = {lt_lookup, NULL, line, line_len, 1700000000000000000LL};
        o.render_rc = ltmpl_render(t, &env, &tmp, &dst, &e);
        if (o.render_rc == CAIRN_OK) {
            o.text = malloc(dst.len + 1);
            assert_non_null(o.text);
            if (dst.len) memcpy(o.text, dst.p, dst.len);
            o.text[dst.len] = 0;
            o.len = dst.len;
        }
        buf_free(&tmp);
        buf_free(&dst);
    }
    snprintf(o.msg, sizeof o.msg, "%s", e.msg);
    arena_free(ar);
    return o;
}

static void lt_expect(const char *tmpl, const char *line, const char *want)
{
    lt_out o = lt_run(tmpl, line, strlen(line));
    if (o.compile_rc || o.render_rc) fprintf(stderr, "%s: %s\n", tmpl, o.msg);
    assert_int_equal(o.compile_rc, CAIRN_OK);
    assert_int_equal(o.render_rc, CAIRN_OK);
    assert_string_equal(o.text, want);
    free(o.text);
}

static void test_go_call_form(void **state)
{
    (void)state;
    lt_expect("{{ repeat 3 __line__ }}", "ab", "ababab");
    lt_expect("{{ __line__ | repeat 2 }}", "ab", "abab");
    lt_expect("{{ upper __line__ }}", "ab", "AB");
    lt_expect("{{ printf \"%s-%s\" __line__ .a }}", "ab", "ab-foo");
    lt_expect("{{ if eq __line__ \"ab\" }}y{{ else }}n{{ end }}", "ab", "y");
    lt_expect("{{ len __timestamp__ }}", "", "29"); /* "2023-11-14 22:13:20 +0000 UTC" */
    /* a function that needs arguments cannot be an argument (Go's message) */
    lt_out o = lt_run("{{ repeat 2 upper }}", "ab", 2);
    assert_int_equal(o.compile_rc, CAIRN_EINVAL);
    assert_non_null(strstr(o.msg, "wrong number of args for upper: want 1 got 0"));
}

static void test_empty_scratch_values(void **state)
{
    (void)state;
    /* each renders a value that lives in the (never allocated) tmp buffer */
    lt_expect("{{ upper \"\" }}", "x", "");
    lt_expect("{{ printf \"\" }}", "x", "");
    lt_expect("[{{ .missing | lower }}]", "x", "[]");
    lt_expect("{{ repeat 5 \"\" }}{{ repeat 0 __line__ }}", "x", "");
    lt_expect("{{ printf \"\" | trimPrefix \"\" | trunc 0 }}", "x", "");
    lt_expect("{{ replace \"a\" \"b\" \"\" }}", "x", "");
}

static void test_output_bounded(void **state)
{
    (void)state;
    size_t n = 2000;
    char *line = malloc(n + 1);
    assert_non_null(line);
    memset(line, 'x', n);
    line[n] = 0;
    /* 200 x 2000 bytes = 400 000 > 256 KiB: an execution error, not 400 kB */
    lt_out o = lt_run("{{ __line__ | repeat 200 }}", line, n);
    assert_int_equal(o.compile_rc, CAIRN_OK);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    assert_non_null(strstr(o.msg, "exceed 262144 bytes"));
    o = lt_run("{{ repeat 200 __line__ }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    /* 100 x 2000 = 200 000 fits */
    o = lt_run("{{ repeat 100 __line__ }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_OK);
    assert_int_equal(o.len, 200000);
    free(o.text);
    /* the sum of actions is capped too, not only one value */
    o = lt_run("{{ repeat 100 __line__ }}{{ repeat 100 __line__ }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    /* replacing "" inserts before every byte: 2001 x 2000 bytes would be 4 MB */
    o = lt_run("{{ replace \"\" __line__ __line__ }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    /* nested repeats stay within the scratch bound */
    o = lt_run("{{ repeat 100 (repeat 100 (repeat 100 \"ab\")) }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    o = lt_run("{{ repeat -1 \"a\" }}", line, n);
    assert_int_equal(o.render_rc, CAIRN_EINVAL);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_call_form),
        cmocka_unit_test(test_empty_scratch_values),
        cmocka_unit_test(test_output_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
