/*
 * fuzz_logpipe.c — libFuzzer target for the LogQL pipeline stages.
 *
 * Input: a pipeline, a newline, then a log line (any bytes, no NUL after
 * it). The pipeline is appended to a fixed stream selector and parsed as
 * LogQL; when it parses, the stages are compiled and run on the line with
 * two stream labels and one structured-metadata label, and the output label
 * set is checked: sorted by name, names unique and non-empty, no empty
 * values. Compile errors must be CAIRN_EINVAL/CAIRN_ENOMEM with a message.
 * This exercises the JSON scanner, logfmt, pattern, regexp, templates,
 * label filters and unwrap conversions on hostile input.
 * Seeds: tests/fuzz/corpus/logpipe/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logpipe.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const cairn_label fz_stream[] = {CAIRN_LABEL("app", "x"), CAIRN_LABEL("level", "info")};
static const cairn_label fz_meta[] = {CAIRN_LABEL("trace_id", "t")};

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_logpipe: %s\n", what);
    abort();
}

static void fz_check_labels(lpipe *p)
{
    const cairn_label *ls;
    size_t n;
    if (lpipe_labels(p, &ls, &n)) return;
    for (size_t i = 0; i < n; i++) {
        if (!ls[i].name_len || !ls[i].value_len) fz_fail("empty label name or value");
        if (i) {
            size_t m = ls[i - 1].name_len < ls[i].name_len ? ls[i - 1].name_len : ls[i].name_len;
            int c = memcmp(ls[i - 1].name, ls[i].name, m);
            if (c > 0 || (c == 0 && ls[i - 1].name_len >= ls[i].name_len)) fz_fail("labels not sorted or not unique");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    if (plen > 4096) return 0;
    const char *line = nl ? (const char *)nl + 1 : "";
    size_t line_len = nl ? size - plen - 1 : 0;
    char *q = malloc(plen + 16);
    if (!q) return 0;
    memcpy(q, "{app=\"x\"} ", 10);
    memcpy(q + 10, data, plen);
    arena *ar = arena_new(0);
    ast_node *root = NULL;
    cairn_err e;
    if (ar && parse_query(ar, QLANG_LOGQL, q, plen + 10, &root, &e) == CAIRN_OK) {
        if (root->kind == AST_LOG_RANGE) root = root->u.lrange.log;
        if (root->kind == AST_LOG_SELECTOR) {
            lpipe *p = NULL;
            int rc = lpipe_new(ar, root->u.log.stages, root->u.log.n_stages, NULL, &p, &e);
            if (rc == CAIRN_OK) {
                if (lpipe_stream(p, fz_stream, 2) == CAIRN_OK) {
                    for (int pass = 0; pass < 2; pass++) { /* twice: state must reset between entries */
                        rc = lpipe_run(p, 1700000000000000000LL, line, line_len, fz_meta, pass);
                        if (rc == 1) fz_check_labels(p);
                        else if (rc != 0 && rc != CAIRN_ELIMIT && rc != CAIRN_ENOMEM) fz_fail("bad run code");
                    }
                }
                lpipe_free(p);
            } else if ((rc != CAIRN_EINVAL && rc != CAIRN_ENOMEM) || !e.msg[0]) {
                fz_fail("bad compile error");
            }
        }
    }
    arena_free(ar);
    free(q);
    return 0;
}
