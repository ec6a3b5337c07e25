/*
 * fuzz_match.c — differential libFuzzer target for engine/match.c.
 *
 * Input: one flags byte (bit 0: anchored like a matcher, else a line-filter
 * search; bit 1: compile with capture groups), a pattern up to the first NUL,
 * then the subject (any bytes). When the pattern compiles, the same pattern
 * wrapped as `(?:p)(?:)` — the same language, but no fast path and no literal
 * prefilter can take it — must compile too and give the same answer on the
 * subject (when it is valid UTF-8); match_re_groups must agree with match_re_exec and report group
 * offsets inside the subject; match_re_expand must not fail. A compile error
 * must be CAIRN_EINVAL/CAIRN_ENOMEM with a message, and must come back fast
 * (patterns like a{10000000} used to hang the syntax screen).
 * Seeds: tests/fuzz/corpus/match/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"
#include "match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_fail(const char *what, const char *pat, size_t pn, int a, int b)
{
    fprintf(stderr, "fuzz_match: %s: pattern \"%.*s\" (%d vs %d)\n", what, (int)pn, pat, a, b);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) return 0;
    int flags = data[0] & 1 ? MATCH_RE_ANCHORED : 0;
    int caps = data[0] & 2;
    const char *pat = (const char *)data + 1;
    const char *nul = memchr(pat, 0, size - 1);
    size_t pn = nul ? (size_t)(nul - pat) : size - 1;
    const char *s = nul ? nul + 1 : pat + pn;
    size_t sn = (size_t)((const char *)data + size - s);
    if (pn > 512) return 0;

    match_re *f = NULL, *w = NULL;
    cairn_err e;
    int rc = match_re_compile_as(&f, pat, pn, flags | (caps ? MATCH_RE_CAPTURE : 0), "fuzz", &e);
    if (rc) {
        if ((rc != CAIRN_EINVAL && rc != CAIRN_ENOMEM) || e.code != rc || !e.msg[0]) fz_fail("bad error", pat, pn, rc, 0);
        return 0;
    }
    /* \Q without \E would swallow the wrapper; and on invalid UTF-8 the fast
     * paths compare bytes (as Go would) where RE2 lets no `.` match: no
     * differential check then */
    int utf8 = labels_utf8_valid(s, sn) == sn;
    int wrap_ok = !memmem(pat, pn, "\\Q", 2) && utf8;
    char *wp = NULL;
    if (wrap_ok) {
        wp = malloc(pn + 10);
        memcpy(wp, "(?:", 3);
        memcpy(wp + 3, pat, pn);
        memcpy(wp + 3 + pn, ")(?:)", 5);
        rc = match_re_compile_as(&w, wp, pn + 8, flags, "fuzz", &e);
        if (rc == CAIRN_ENOMEM) goto out;
        if (rc) fz_fail("wrapped pattern does not compile", pat, pn, rc, 0);
        if (match_re_is_fast(w)) fz_fail("wrapped pattern takes a fast path", pat, pn, 1, 0);
    }
    int a = match_re_exec(f, s, sn);
    if (a < 0 && a != CAIRN_ENOMEM) fz_fail("exec error", pat, pn, a, 0);
    if (w) {
        int b = match_re_exec(w, s, sn);
        if (a >= 0 && b >= 0 && a != b) fz_fail("fast path and RE2 disagree", pat, pn, a, b);
    }
    if (caps) {
        ptrdiff_t off[2 * 8];
        int g = match_re_groups(f, s, sn, off, 8);
        if (utf8 && g >= 0 && a >= 0 && g != a) fz_fail("groups and exec disagree", pat, pn, g, a);
        for (int i = 0; g == 1 && i < 8; i++) {
            if ((off[2 * i] < 0) != (off[2 * i + 1] < 0)) fz_fail("half a group", pat, pn, i, 0);
            if (off[2 * i] >= 0 && (off[2 * i] > off[2 * i + 1] || (size_t)off[2 * i + 1] > sn))
                fz_fail("group outside the subject", pat, pn, i, 0);
        }
        buf b;
        buf_init(&b);
        int x = match_re_expand(f, s, sn, "$1${2}$name$$", 13, &b);
        if (x >= 0 && g >= 0 && x != g) fz_fail("expand and groups disagree", pat, pn, x, g);
        buf_free(&b);
    }
out:
    match_re_free(w);
    match_re_free(f);
    free(wp);
    return 0;
}
