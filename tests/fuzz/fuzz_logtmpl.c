/*
 * fuzz_logtmpl.c — libFuzzer target for the line_format / label_format
 * template engine (query/logtmpl.c).
 *
 * Input: a template, a newline, then the log line (any bytes). The template
 * is compiled; a compile error must be CAIRN_EINVAL or CAIRN_ENOMEM with a
 * message. A compiled template is rendered twice: once with fresh buffers
 * that own no storage yet (the case UBSan flagged as "applying zero offset
 * to null pointer") and once with buffers reused from the first rendering
 * and reset, as the pipeline reuses them. Both renderings must agree (the
 * engine is deterministic and keeps no state between renderings), every
 * output must stay within LTMPL_MAX_LINE_BYTES, and an execution error must
 * be CAIRN_EINVAL or CAIRN_ENOMEM with a message. The fields the template
 * reads are enumerated and must be non-empty names.
 * Seeds: tests/fuzz/corpus/logtmpl/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "logtmpl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_fail(const char *what)
{
    fprintf(stderr, "fuzz_logtmpl: %s\n", what);
    abort();
}

/* Labels a=foo, b="" (present but empty), level=info; others absent. */
static const char *fz_lookup(void *ctx, const char *name, size_t name_len, size_t *len)
{
    (void)ctx;
    if (name_len == 1 && name[0] == 'a') return *len = 3, "foo";
    if (name_len == 1 && name[0] == 'b') return *len = 0, "";
    if (name_len == 5 && !memcmp(name, "level", 5)) return *len = 4, "info";
    return NULL;
}

static int fz_render(const ltmpl *t, const ltmpl_env *env, buf *tmp, buf *dst, cairn_err *e)
{
    memset(e, 0, sizeof *e);
    int rc = ltmpl_render(t, env, tmp, dst, e);
    if (rc == CAIRN_OK) {
        if (dst->len > LTMPL_MAX_LINE_BYTES) fz_fail("output larger than LTMPL_MAX_LINE_BYTES");
    } else if ((rc != CAIRN_EINVAL && rc != CAIRN_ENOMEM) || !e->msg[0]) {
        fz_fail("bad render error");
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    if (tlen > 4096) return 0;
    const char *line = nl ? (const char *)nl + 1 : "";
    size_t line_len = nl ? size - tlen - 1 : 0;
    arena *ar = arena_new(0);
    if (!ar) return 0;
    ltmpl *t = NULL;
    cairn_err e;
    memset(&e, 0, sizeof e);
    int rc = ltmpl_compile(ar, (const char *)data, tlen, &t, &e);
    if (rc != CAIRN_OK) {
        if ((rc != CAIRN_EINVAL && rc != CAIRN_ENOMEM) || !e.msg[0]) fz_fail("bad compile error");
        arena_free(ar);
        return 0;
    }
    const char *fname;
    size_t flen;
    for (size_t i = 0; ltmpl_field(t, i, &fname, &flen); i++)
        if (!flen || !fname) fz_fail("empty field name");
    ltmpl_env env = {fz_lookup, NULL, line, line_len, 1700000000123456789LL};
    buf tmp, dst;
    buf_init(&tmp);
    buf_init(&dst);
    int rc1 = fz_render(t, &env, &tmp, &dst, &e);
    size_t n1 = dst.len;
    uint8_t *out1 = NULL;
    if (rc1 == CAIRN_OK && n1) {
        out1 = malloc(n1);
        if (!out1) goto out;
        memcpy(out1, dst.p, n1);
    }
    tmp.len = 0;
    dst.len = 0;
    int rc2 = fz_render(t, &env, &tmp, &dst, &e);
    if (rc1 != CAIRN_ENOMEM && rc2 != CAIRN_ENOMEM) {
        if (rc1 != rc2) fz_fail("renderings disagree on the result code");
        if (rc1 == CAIRN_OK && (dst.len != n1 || (n1 && memcmp(dst.p, out1, n1)))) fz_fail("renderings differ");
    }
out:
    free(out1);
    buf_free(&tmp);
    buf_free(&dst);
    arena_free(ar);
    return 0;
}
