/*
 * match.c — label matchers (= != =~ !~) and regex line filters, on PCRE2.
 *
 * Prometheus matchers take Go's RE2 syntax, fully anchored, with `.` matching
 * a newline since Prometheus 3. cairn runs them on PCRE2 (UTF mode, JIT when
 * the platform has it) because PCRE2 is packaged everywhere cairn runs and is
 * fast; the price is that PCRE2 accepts more than RE2 does. So before PCRE2
 * sees a pattern, match_re2_check() walks it once and rejects what Go's parser
 * rejects and PCRE2 would silently run: backreferences (\1, \g, \k, (?P=n)),
 * lookarounds, atomic groups, (* verbs, recursion and conditionals, escapes Go
 * does not know (\K, \R, \h, \Z ...), nested repetition (a**, possessive a*+)
 * and repeat counts above 1000. The error names the matcher and the offset.
 *
 * Anchoring is done with the compile options PCRE2_ANCHORED|PCRE2_ENDANCHORED
 * rather than by wrapping the text in ^(?:...)$: the effect is the same, the
 * error offsets stay those of the user's pattern, and an unbalanced `a)(b`
 * cannot be "repaired" by the wrapper. PCRE2_DOLLAR_ENDONLY makes `$` mean the
 * end of text as in Go (PCRE's default also matches before a final newline).
 * PCRE2_MATCH_INVALID_UTF lets log lines that are not UTF-8 be searched
 * without an error; invalid bytes then match nothing (Go would see U+FFFD).
 *
 * Fast paths. Most matchers in dashboards are literal, `a|b|c`, `prefix.*`,
 * `.*suffix`, `.*infix.*`, `.*` or `.+`. match_re_classify() recognises those
 * (punctuation escaped with a backslash counts as literal) and answers with
 * memcmp/memmem, never calling PCRE2; tests check on random inputs that the
 * fast answer equals PCRE2's. The literal sets and prefixes are exported
 * (match_set, match_prefix) so the index can look values up directly instead
 * of testing every value of a label.
 *
 * Threads. A compiled match_re is immutable. Each PCRE2 call needs a
 * pcre2_match_data; it is built per call in a small buffer on the caller's
 * stack through a per-call general context (no heap, no thread-local cache);
 * only the interpreter's backtracking frames, when JIT is unavailable, go to
 * the heap. The compiled code is allocated through mem_ (with a size header,
 * since PCRE2's free does not pass the size), so it is counted and OOM-tested.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "match.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "labels.h"
#include "mem.h"

enum { RE_PCRE = 0, RE_SET, RE_PREFIX, RE_SUFFIX, RE_CONTAINS, RE_ANY, RE_NONEMPTY };

struct match_re {
    int kind;
    int anchored;
    char *lits;        /* unescaped literal bytes of all alternatives, back to back */
    size_t lits_len;
    size_t *off;       /* n_alt + 1 offsets into lits */
    size_t n_alt;
    size_t pat_len;    /* sizes of lits (pat_len + 1) and off (pat_len + 2) */
    pcre2_code *code;  /* RE_PCRE only */
    pcre2_general_context *gctx;
};

/* ---- memory for PCRE2 ------------------------------------------------------------- */

#define MATCH_HDR 16

static void *match_pcre_alloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    uint8_t *p = mem_alloc(n + MATCH_HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    return p + MATCH_HDR;
}

static void match_pcre_free(void *q, void *ud)
{
    (void)ud;
    if (!q) return;
    uint8_t *p = (uint8_t *)q - MATCH_HDR;
    PCRE2_SIZE n;
    memcpy(&n, p, sizeof n);
    mem_free(p, n + MATCH_HDR);
}

/* Per-call bump arena on the caller's stack; larger requests fall back to mem_. */
typedef struct match_arena {
    _Alignas(16) uint8_t mem[512];
    size_t used;
} match_arena;

static void *match_arena_alloc(PCRE2_SIZE n, void *ud)
{
    match_arena *a = ud;
    size_t need = (n + 15) & ~(size_t)15;
    if (need <= sizeof a->mem - a->used) {
        void *p = a->mem + a->used;
        a->used += need;
        return p;
    }
    return match_pcre_alloc(n, NULL);
}

static void match_arena_free(void *q, void *ud)
{
    match_arena *a = ud;
    if ((uint8_t *)q >= a->mem && (uint8_t *)q < a->mem + sizeof a->mem) return;
    match_pcre_free(q, NULL);
}

/* ---- RE2 syntax screen ------------------------------------------------------------ */

static int match_is_digit(char c) { return c >= '0' && c <= '9'; }
static int match_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Parse {n}, {n,}, {n,m} at p[i]; returns index after '}' or 0 if not a repetition. */
static size_t match_repeat(const char *p, size_t n, size_t i, unsigned *hi)
{
    size_t j = i + 1;
    unsigned a = 0, b = 0;
    int digits = 0;
    while (j < n && match_is_digit(p[j])) a = a > 100000 ? a : a * 10 + (unsigned)(p[j++] - '0'), digits++;
    if (!digits) return 0;
    b = a;
    if (j < n && p[j] == ',') {
        j++;
        digits = 0;
        b = 0;
        while (j < n && match_is_digit(p[j])) b = b > 100000 ? b : b * 10 + (unsigned)(p[j++] - '0'), digits++;
        if (!digits) b = a;
    }
    if (j >= n || p[j] != '}') return 0;
    *hi = a > b ? a : b;
    return j + 1;
}

/* Check one escape at p[i] == '\\'; returns its length or 0 with *why set. */
static size_t match_escape(const char *p, size_t n, size_t i, const char **why)
{
    if (i + 1 >= n) return 1; /* trailing backslash: PCRE2 reports it */
    char d = p[i + 1];
    if (d >= '1' && d <= '9' && !(i + 2 < n && p[i + 2] >= '0' && p[i + 2] <= '7'))
        return *why = "backreferences are not supported (RE2 syntax)", 0;
    if (d == 'g' || d == 'k') return *why = "backreferences are not supported (RE2 syntax)", 0;
    if (match_is_alpha(d) && !strchr("aftnrvxQEAzbBdDsSwWpP", d))
        return *why = "invalid escape sequence (RE2 syntax)", 0;
    if ((d == 'p' || d == 'P' || d == 'x') && i + 2 < n && p[i + 2] == '{') {
        const char *e = memchr(p + i + 2, '}', n - i - 2);
        return e ? (size_t)(e - (p + i)) + 1 : n - i;
    }
    return 2;
}

/* Returns the offset of the first construct RE2 rejects, or n if none; *why says what. */
static size_t match_re2_check(const char *p, size_t n, const char **why)
{
    size_t i = 0;
    int quant = 0; /* 1 after a quantifier, 2 after a lazy one */
    while (i < n) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 < n && p[i + 1] == 'Q') {
                size_t j = i + 2;
                while (j + 1 < n && !(p[j] == '\\' && p[j + 1] == 'E')) j++;
                i = j + 1 < n ? j + 2 : n;
                quant = 0;
                continue;
            }
            size_t k = match_escape(p, n, i, why);
            if (!k) return i;
            i += k;
            quant = 0;
        } else if (c == '[') {
            size_t j = i + 1;
            if (j < n && p[j] == '^') j++;
            if (j < n && p[j] == ']') j++;
            while (j < n && p[j] != ']') {
                if (p[j] == '\\') {
                    size_t k = match_escape(p, n, j, why);
                    if (!k) return j;
                    j += k;
                } else if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
                    const char *e = memmem(p + j + 2, n - j - 2, ":]", 2);
                    j = e ? (size_t)(e - p) + 2 : j + 1;
                } else {
                    j++;
                }
            }
            i = j + 1;
            quant = 0;
        } else if (c == '(') {
            if (i + 1 < n && p[i + 1] == '*') return *why = "(* verbs are not supported (RE2 syntax)", i;
            if (i + 1 < n && p[i + 1] == '?') {
                char e = i + 2 < n ? p[i + 2] : 0;
                char f = i + 3 < n ? p[i + 3] : 0;
                if (e == '=' || e == '!') return *why = "lookahead is not supported (RE2 syntax)", i;
                if (e == '<' && (f == '=' || f == '!')) return *why = "lookbehind is not supported (RE2 syntax)", i;
                if (e == 'P' && f != '<')
                    return *why = "(?P=name) and (?P>name) are not supported (RE2 syntax)", i;
                if (e != ':' && e != '<' && e != 'P') {
                    size_t j = i + 2;
                    while (j < n && strchr("imsU-", p[j]) && p[j]) j++;
                    if (j == i + 2 || j >= n || (p[j] != ')' && p[j] != ':'))
                        return *why = "unsupported group syntax (RE2 has no atomic groups, recursion, "
                                      "conditionals or comments)",
                               i;
                }
            }
            i++;
            quant = 0;
        } else if (c == '*' || c == '+' || c == '?') {
            if (quant == 1 && c == '?') quant = 2;
            else if (quant) return *why = "invalid nested repetition operator (RE2 syntax)", i;
            else quant = 1;
            i++;
        } else if (c == '{') {
            unsigned hi = 0;
            size_t e = match_repeat(p, n, i, &hi);
            if (!e) {
                i++;
                quant = 0;
                continue;
            }
            if (hi > 1000) return *why = "invalid repeat count (RE2 allows at most 1000)", i;
            if (quant) return *why = "invalid nested repetition operator (RE2 syntax)", i;
            quant = 1;
            i = e;
        } else {
            i++;
            quant = 0;
        }
    }
    return n;
}

/* ---- fast-path classification ------------------------------------------------------ */

/* Unescape p[0..n) into dst if it is a plain literal; returns 1 and *dn, else 0. */
static int match_literal(const char *p, size_t n, char *dst, size_t *dn)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\') {
            if (i + 1 >= n) return 0;
            char d = p[i + 1];
            if ((unsigned char)d >= 0x80 || match_is_alpha(d) || match_is_digit(d) || d == ' ' || d < 0x20)
                return 0;
            dst[k++] = d;
            i++;
        } else if (strchr(".+*?()|[]{}^$", c) && c) {
            return 0;
        } else {
            dst[k++] = c;
        }
    }
    *dn = k;
    return 1;
}

/* Sets re->kind/lits for a fast shape, or leaves RE_PCRE. Returns CAIRN_ENOMEM or CAIRN_OK. */
static int match_re_classify(match_re *re, const char *p, size_t n)
{
    if (n == 2 && p[0] == '.' && (p[1] == '*' || p[1] == '+')) {
        re->kind = p[1] == '*' ? RE_ANY : RE_NONEMPTY;
        return CAIRN_OK;
    }
    re->pat_len = n;
    re->lits = mem_alloc(n + 1);
    re->off = mem_alloc((n + 2) * sizeof *re->off);
    if (!re->lits || !re->off) return CAIRN_ENOMEM;
    size_t ln;
    int pre = n >= 2 && p[0] == '.' && p[1] == '*';
    int suf = n >= 2 && p[n - 2] == '.' && p[n - 1] == '*' && !(n >= 3 && p[n - 3] == '\\');
    if (pre || suf) {
        size_t a = pre ? 2 : 0, b = suf ? n - 2 : n;
        if (a <= b && match_literal(p + a, b - a, re->lits, &ln)) {
            re->kind = pre && suf ? RE_CONTAINS : pre ? RE_SUFFIX : RE_PREFIX;
            re->n_alt = 1, re->off[0] = 0, re->off[1] = ln, re->lits_len = ln;
            return CAIRN_OK;
        }
    }
    /* a|b|c, optionally wrapped in (...) or (?:...) */
    const char *q = p;
    size_t qn = n;
    if (qn >= 2 && q[0] == '(' && q[qn - 1] == ')' && !(qn >= 3 && q[qn - 2] == '\\')) {
        size_t skip = (qn >= 4 && q[1] == '?' && q[2] == ':') ? 3 : 1;
        q += skip, qn -= skip + 1;
    }
    size_t start = 0, k = 0, na = 0;
    re->off[0] = 0;
    for (size_t i = 0; i <= qn; i++) {
        if (i < qn && q[i] == '\\') {
            i++;
            continue;
        }
        if (i == qn || q[i] == '|') {
            if (!match_literal(q + start, i - start, re->lits + k, &ln)) return CAIRN_OK; /* not a set */
            k += ln;
            re->off[++na] = k;
            start = i + 1;
        }
    }
    re->kind = RE_SET, re->n_alt = na, re->lits_len = k;
    return CAIRN_OK;
}

/* ---- compile ------------------------------------------------------------------------ */

void match_re_free(match_re *re)
{
    if (!re) return;
    if (re->code) pcre2_code_free(re->code);
    if (re->gctx) pcre2_general_context_free(re->gctx);
    mem_free(re->lits, re->pat_len + 1);
    mem_free(re->off, (re->pat_len + 2) * sizeof *re->off);
    mem_free(re, sizeof *re);
}

/* what: how to name the pattern in a message, e.g. `matcher job=~"x"` */
static int match_re_build(match_re **out, const char *pat, size_t len, int anchored, const char *what,
                          cairn_err *err)
{
    *out = NULL;
    const char *why = NULL;
    size_t bad = labels_utf8_valid(pat, len);
    if (bad != len) return err_set(err, CAIRN_EINVAL, "invalid regex in %s: invalid UTF-8 at offset %zu", what, bad);
    bad = match_re2_check(pat, len, &why);
    if (bad != len) return err_set(err, CAIRN_EINVAL, "invalid regex in %s: %s at offset %zu", what, why, bad);

    match_re *re = mem_calloc(1, sizeof *re);
    if (!re) return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    re->anchored = anchored;
    int rc = match_re_classify(re, pat, len);
    if (rc) goto oom;
    if (re->kind != RE_PCRE) {
        *out = re;
        return CAIRN_OK;
    }
    re->gctx = pcre2_general_context_create(match_pcre_alloc, match_pcre_free, NULL);
    if (!re->gctx) goto oom;
    pcre2_compile_context *cctx = pcre2_compile_context_create(re->gctx);
    if (!cctx) goto oom;
    uint32_t opts = PCRE2_UTF | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF;
    if (anchored) opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    int ec;
    PCRE2_SIZE eo;
    re->code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &ec, &eo, cctx);
    pcre2_compile_context_free(cctx);
    if (!re->code) {
        if (ec == PCRE2_ERROR_NOMEMORY || ec == PCRE2_ERROR_HEAP_FAILED) goto oom;
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "error %d", ec);
        match_re_free(re);
        return err_set(err, CAIRN_EINVAL, "invalid regex in %s: %s at offset %zu", what, (const char *)msg,
                       (size_t)eo);
    }
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* interpreted if JIT is unavailable */
    *out = re;
    return CAIRN_OK;
oom:
    match_re_free(re);
    return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
}

int match_re_compile(match_re **out, const char *pat, size_t len, int anchored, cairn_err *err)
{
    char what[120];
    snprintf(what, sizeof what, "line filter \"%.*s\"", len > 80 ? 80 : (int)len, pat);
    return match_re_build(out, pat, len, anchored, what, err);
}

/* ---- execution ---------------------------------------------------------------------- */

static int match_lit_eq(const match_re *re, size_t i, const char *s, size_t n)
{
    size_t ln = re->off[i + 1] - re->off[i];
    return ln == n && memcmp(re->lits + re->off[i], s, n) == 0;
}

static int match_lit_in(const match_re *re, size_t i, const char *s, size_t n)
{
    size_t ln = re->off[i + 1] - re->off[i];
    return ln == 0 || (ln <= n && memmem(s, n, re->lits + re->off[i], ln) != NULL);
}

int match_re_exec(const match_re *re, const char *s, size_t len)
{
    size_t ln = re->n_alt ? re->off[1] : 0;
    switch (re->kind) {
    case RE_ANY: return 1;
    case RE_NONEMPTY: return len > 0;
    case RE_PREFIX:
        if (!re->anchored) return match_lit_in(re, 0, s, len);
        return len >= ln && memcmp(s, re->lits, ln) == 0;
    case RE_SUFFIX:
        if (!re->anchored) return match_lit_in(re, 0, s, len);
        return len >= ln && memcmp(s + len - ln, re->lits, ln) == 0;
    case RE_CONTAINS: return match_lit_in(re, 0, s, len);
    case RE_SET:
        for (size_t i = 0; i < re->n_alt; i++)
            if (re->anchored ? match_lit_eq(re, i, s, len) : match_lit_in(re, i, s, len)) return 1;
        return 0;
    default: break;
    }
    match_arena a;
    a.used = 0;
    pcre2_general_context *g = pcre2_general_context_create(match_arena_alloc, match_arena_free, &a);
    pcre2_match_data *md = g ? pcre2_match_data_create(1, g) : NULL;
    int rc;
    if (!md) rc = PCRE2_ERROR_NOMEMORY;
    else rc = pcre2_match(re->code, (PCRE2_SPTR)(len ? s : ""), len, 0, 0, md, NULL);
    if (md) pcre2_match_data_free(md);
    if (g) pcre2_general_context_free(g);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_NOMEMORY) return CAIRN_ENOMEM;
    return CAIRN_ELIMIT; /* match or depth limit: a pathological pattern */
}

/* ---- matchers ----------------------------------------------------------------------- */

static const char *match_op_str(int op)
{
    switch (op) {
    case CAIRN_MATCH_EQ: return "=";
    case CAIRN_MATCH_NE: return "!=";
    case CAIRN_MATCH_RE: return "=~";
    case CAIRN_MATCH_NRE: return "!~";
    default: return "?";
    }
}

int match_compile(match *m, const cairn_matcher *src, cairn_err *err)
{
    memset(m, 0, sizeof *m);
    if (src->op < CAIRN_MATCH_EQ || src->op > CAIRN_MATCH_NRE)
        return err_set(err, CAIRN_EINVAL, "unknown matcher operator %d for label \"%.*s\"", src->op,
                       src->name_len > 80 ? 80 : (int)src->name_len, src->name);
    m->op = src->op;
    m->name = mem_strndup(src->name, src->name_len);
    m->value = mem_strndup(src->value, src->value_len);
    if (!m->name || !m->value) {
        match_free(m);
        return err_set(err, CAIRN_ENOMEM, "out of memory compiling a matcher");
    }
    m->name_len = src->name_len;
    m->value_len = src->value_len;
    if (m->op == CAIRN_MATCH_RE || m->op == CAIRN_MATCH_NRE) {
        char what[160];
        snprintf(what, sizeof what, "matcher %.*s%s\"%.*s\"", m->name_len > 40 ? 40 : (int)m->name_len, m->name,
                 match_op_str(m->op), m->value_len > 80 ? 80 : (int)m->value_len, m->value);
        int rc = match_re_build(&m->re, m->value, m->value_len, 1, what, err);
        if (rc) {
            match_free(m);
            return rc;
        }
    }
    return CAIRN_OK;
}

void match_free(match *m)
{
    if (!m) return;
    if (m->name) mem_free(m->name, m->name_len + 1);
    if (m->value) mem_free(m->value, m->value_len + 1);
    match_re_free(m->re);
    memset(m, 0, sizeof *m);
}

int match_value(const match *m, const char *v, size_t len)
{
    int r;
    switch (m->op) {
    case CAIRN_MATCH_EQ: return len == m->value_len && memcmp(v, m->value, len) == 0;
    case CAIRN_MATCH_NE: return !(len == m->value_len && memcmp(v, m->value, len) == 0);
    case CAIRN_MATCH_RE: return match_re_exec(m->re, v, len);
    case CAIRN_MATCH_NRE: r = match_re_exec(m->re, v, len); return r < 0 ? r : !r;
    default: return 0;
    }
}

int match_matches_empty(const match *m) { return match_value(m, "", 0); }

int match_set(const match *m, const char **vals, size_t *lens, size_t cap)
{
    if (m->op == CAIRN_MATCH_EQ) {
        if (cap < 1) return 0;
        vals[0] = m->value, lens[0] = m->value_len;
        return 1;
    }
    if (m->op != CAIRN_MATCH_RE || m->re->kind != RE_SET || m->re->n_alt > cap) return 0;
    for (size_t i = 0; i < m->re->n_alt; i++) {
        vals[i] = m->re->lits + m->re->off[i];
        lens[i] = m->re->off[i + 1] - m->re->off[i];
    }
    return (int)m->re->n_alt;
}

int match_prefix(const match *m, const char **p, size_t *pn)
{
    if (m->op != CAIRN_MATCH_RE || m->re->kind != RE_PREFIX) return 0;
    *p = m->re->lits;
    *pn = m->re->lits_len;
    return 1;
}

int match_re_is_fast(const match_re *re) { return re->kind != RE_PCRE; }
