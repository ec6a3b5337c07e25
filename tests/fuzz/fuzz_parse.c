/*
 * fuzz_parse.c — libFuzzer target for the PromQL/LogQL parser and printer.
 *
 * The first byte picks the language (even: PromQL, odd: LogQL); the rest is
 * the query, passed as a (ptr, len) buffer with no NUL after it, so ASan sees
 * any read past the end. When the input parses, the canonical print must
 * parse again to an ast_equal tree and print identically (the round-trip
 * property of query/print.c); anything else aborts. Errors must be
 * CAIRN_EPARSE with a position and a message, never a crash.
 * Seeds: tests/fuzz/corpus/parse/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "print.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *what, const char *src, size_t len, const char *printed, const char *msg)
{
    fprintf(stderr, "fuzz_parse: %s\n  input:   %.*s\n  printed: %s\n  error:   %s\n", what, (int)len, src,
            printed ? printed : "", msg ? msg : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int lang = (data[0] & 1) ? QLANG_LOGQL : QLANG_PROMQL;
    const char *src = (const char *)data + 1;
    size_t len = size - 1;
    arena *ar = arena_new(0);
    if (!ar) return 0;
    ast_node *a = NULL, *b = NULL;
    cairn_err e;
    int rc = parse_query(ar, lang, src, len, &a, &e);
    if (rc != CAIRN_OK) {
        if (rc != CAIRN_EPARSE || e.code != CAIRN_EPARSE || e.line < 1 || e.col < 1 || e.msg[0] == '\0')
            fuzz_fail("bad error report", src, len, NULL, e.msg);
        arena_free(ar);
        return 0;
    }
    size_t l1 = 0, l2 = 0;
    char *p1 = print_ast_z(ar, a, &l1);
    if (!p1) fuzz_fail("print failed", src, len, NULL, NULL);
    rc = parse_query(ar, lang, p1, l1, &b, &e);
    if (rc != CAIRN_OK) fuzz_fail("re-parse of the printed query failed", src, len, p1, e.msg);
    if (!ast_equal(a, b)) fuzz_fail("round trip changed the tree", src, len, p1, NULL);
    char *p2 = print_ast_z(ar, b, &l2);
    if (!p2 || l1 != l2 || memcmp(p1, p2, l1) != 0) fuzz_fail("print is not idempotent", src, len, p1, p2);
    arena_free(ar);
    return 0;
}
