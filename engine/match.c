/*
 * match.c — label matchers (= != =~ !~), regex line filters and regexes with
 * capture groups, on RE2 (through engine/re2_shim.h).
 *
 * Every regex in cairn comes through here: PromQL and LogQL matchers, LogQL
 * `|~`/`!~`, the `regexp` parser stage and label_replace in both languages.
 * The engine is RE2, the C++ library Go's regexp was modelled on: the same
 * syntax (repeat counts at most 1000, (?i) and the other flags, lazy
 * quantifiers, \d \w \s, Unicode classes, named groups, no backreferences or
 * lookarounds) and matching in time linear in the text whatever the pattern.
 * docs/regex.md has the choice against PCRE2 and the measurements.
 *
 * Syntax gaps between RE2 (C++, Debian's 2022-06) and Go are closed before
 * RE2 sees a pattern (match_re_prep): `\C` (any byte) exists only in RE2 and
 * is rejected as Go does; `(?<name>re)`, which Go accepts since 1.22, is fed
 * to RE2 as `(?P<name>re)`. Errors are worded as Go's regexp/syntax words
 * them ("invalid repeat count: `{1001}`") with the offset of the fragment.
 *
 * Semantics. Matchers (anchored = 1) are anchored at both ends with `.`
 * matching a newline, like Prometheus 3's ^(?s:re)$. Line filters and the
 * `regexp` stage (anchored = 0) search unanchored with `.` not matching a
 * newline, like Loki's regexp.Compile(re). Invalid UTF-8 in the text is not
 * an error; invalid bytes match no `.` or class (Go would see U+FFFD).
 *
 * Fast paths. Most matchers in dashboards are literal, `a|b|c`, `prefix.*`,
 * `.*suffix`, `.*infix.*`, `.*` or `.+`. match_re_classify() recognises those
 * (punctuation escaped with a backslash counts as literal) and answers with
 * memcmp/memmem, never calling RE2; tests check on random inputs that the
 * fast answer equals RE2's. The literal sets and prefixes are exported
 * (match_set, match_prefix) so the index can look values up directly instead
 * of testing every value of a label. Regexes with captures
 * (MATCH_RE_CAPTURE) always get an RE2 program as well.
 *
 * Errors at match time. RE2 cannot fail on a compiled pattern except by
 * running out of memory (its DFA falls back to the NFA when its cache is
 * full); that comes back as CAIRN_ENOMEM, never as "no match".
 *
 * Threads and memory. A compiled match_re is immutable; any number of threads
 * may use it at once. cairn's own parts go through mem_; RE2's program and
 * DFA caches are C++ allocations bounded by MATCH_RE2_MAX_MEM per regex.
 */
#include "match.h"

#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "buf.h"
#include "err.h"
#include "labels.h"
#include "mem.h"
#include "re2_shim.h"

/* RE2's own default: the program and both DFA caches of one regex share it. */
#define MATCH_RE2_MAX_MEM ((int64_t)8 << 20)

enum { RE_RE2 = 0, RE_SET, RE_PREFIX, RE_SUFFIX, RE_CONTAINS, RE_ANY, RE_NONEMPTY, RE_ICASE, RE_SEQ };
/* RE_SEQ: where the byte-class sequence must occur */
enum { SEQ_EXACT, SEQ_PREFIX, SEQ_SUFFIX, SEQ_CONTAINS };
#define MATCH_SEQ_MAX 64

struct match_re {
    int kind;
    int anchored;
    char *lits;        /* unescaped literal bytes of all alternatives, back to back */
    size_t lits_len;
    size_t *off;       /* n_alt + 1 offsets into lits */
    size_t n_alt;
    size_t pat_len;    /* sizes of lits (2 * pat_len + 2: a prefix and a suffix literal may overlap) and off (pat_len + 2) */
    re2s *re2;         /* RE_RE2, or any kind compiled with MATCH_RE_CAPTURE */
    size_t pre_len, suf_len; /* RE_RE2: literals every match starts/ends with, in lits */
    uint64_t (*seq)[4];      /* RE_SEQ: one 256-bit byte set per position */
    size_t seq_n;
    int seq_mode;
    size_t run_off, run_len; /* RE_SEQ: longest run of single-byte positions, its bytes in run */
    char run[MATCH_SEQ_MAX];
};

static int match_is_digit(char c) { return c >= '0' && c <= '9'; }
static int match_is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* ---- Go syntax on RE2 ------------------------------------------------------------- */

static size_t match_class_end(const char *p, size_t n, size_t i);

/* Copy p[0..n) to dst (capacity 2n + 1) rewriting `(?<name>` to `(?P<name>`
 * outside classes and \Q..\E. Returns n' or (size_t)-1 with *bad at a `\C`. */
static size_t match_re_prep(const char *p, size_t n, char *dst, size_t *bad)
{
    size_t k = 0, i = 0;
    while (i < n) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            if (p[i + 1] == 'Q') {
                size_t j = i + 2;
                while (j + 1 < n && !(p[j] == '\\' && p[j + 1] == 'E')) j++;
                size_t e = j + 1 < n ? j + 2 : n;
                memcpy(dst + k, p + i, e - i);
                k += e - i;
                i = e;
                continue;
            }
            if (p[i + 1] == 'C') {
                *bad = i;
                return (size_t)-1;
            }
            dst[k++] = c;
            dst[k++] = p[i + 1];
            i += 2;
            continue;
        }
        if (c == '[') { /* a class is copied as it is: nothing in it is rewritten */
            size_t j = match_class_end(p, n, i);
            size_t end = j < n ? j + 1 : n;
            memcpy(dst + k, p + i, end - i);
            k += end - i;
            i = end;
            continue;
        }
        if (c == '(' && i + 2 < n && p[i + 1] == '?' && p[i + 2] == '<' &&
            !(i + 3 < n && (p[i + 3] == '=' || p[i + 3] == '!'))) {
            memcpy(dst + k, "(?P<", 4);
            k += 4;
            i += 3;
            continue;
        }
        dst[k++] = c;
        i++;
    }
    return k;
}

static const char *match_re2_why(int why)
{
    switch (why) {
    case RE2S_ERR_BAD_ESCAPE: return "invalid escape sequence";
    case RE2S_ERR_BAD_CHAR_CLASS: return "invalid character class";
    case RE2S_ERR_BAD_CHAR_RANGE: return "invalid character class range";
    case RE2S_ERR_MISSING_BRACKET: return "missing closing ]";
    case RE2S_ERR_MISSING_PAREN: return "missing closing )";
    case RE2S_ERR_UNEXPECTED_PAREN: return "unexpected )";
    case RE2S_ERR_TRAILING_BACKSLASH: return "trailing backslash at end of expression";
    case RE2S_ERR_REPEAT_ARGUMENT: return "missing argument to repetition operator";
    case RE2S_ERR_REPEAT_SIZE: return "invalid repeat count";
    case RE2S_ERR_REPEAT_OP: return "invalid nested repetition operator";
    case RE2S_ERR_BAD_PERL_OP: return "invalid or unsupported Perl syntax";
    case RE2S_ERR_BAD_UTF8: return "invalid UTF-8";
    case RE2S_ERR_BAD_NAMED_CAPTURE: return "invalid named capture";
    case RE2S_ERR_PATTERN_TOO_LARGE: return "expression too large";
    default: return "internal error";
    }
}

/* ---- literal search ------------------------------------------------------------------ */

static inline unsigned char match_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c; }

/* Where does h[0..n) first contain nd[0..m) (SIZE_MAX: nowhere)? icase: nd is
 * lower-case ASCII and h is compared folded. Candidates come from the first and
 * last needle bytes, 16 positions at a time (SSE2), then the middle is compared. */
static size_t match_find_pos(const char *h, size_t n, const char *nd, size_t m, int icase)
{
    if (m == 0) return 0;
    if (m > n) return SIZE_MAX;
    const unsigned char *hs = (const unsigned char *)h, *ns = (const unsigned char *)nd;
    unsigned char f = ns[0], l = ns[m - 1];
    unsigned char ff = icase && f >= 'a' && f <= 'z' ? 0x20 : 0, lf = icase && l >= 'a' && l <= 'z' ? 0x20 : 0;
    size_t i = 0, last = n - m; /* candidate starts are 0 .. last */
#if defined(__SSE2__)
    const __m128i vf = _mm_set1_epi8((char)f), vl = _mm_set1_epi8((char)l);
    const __m128i vff = _mm_set1_epi8((char)ff), vlf = _mm_set1_epi8((char)lf);
    for (; i + 16 <= last + 1; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(hs + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(hs + i + m - 1));
        __m128i eq = _mm_and_si128(_mm_cmpeq_epi8(_mm_or_si128(a, vff), vf), _mm_cmpeq_epi8(_mm_or_si128(b, vlf), vl));
        unsigned mask = (unsigned)_mm_movemask_epi8(eq);
        while (mask) {
            size_t j = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (!icase) {
                if (m <= 2 || memcmp(hs + j + 1, ns + 1, m - 2) == 0) return j;
            } else {
                size_t k = 1;
                while (k + 1 < m && match_lower(hs[j + k]) == ns[k]) k++;
                if (k + 1 >= m) return j;
            }
        }
    }
#endif
    if (!icase) { /* the tail, or short texts: memchr for the first byte */
        while (i <= last) {
            const unsigned char *c = memchr(hs + i, f, last - i + 1);
            if (!c) return SIZE_MAX;
            i = (size_t)(c - hs);
            if (memcmp(hs + i + 1, ns + 1, m - 1) == 0) return i;
            i++;
        }
        return SIZE_MAX;
    }
    for (; i <= last; i++) {
        size_t k = 0;
        while (k < m && match_lower(hs[i + k]) == ns[k]) k++;
        if (k == m) return i;
    }
    return SIZE_MAX;
}

static int match_find(const char *h, size_t n, const char *nd, size_t m, int icase)
{
    return match_find_pos(h, n, nd, m, icase) != SIZE_MAX;
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

/* Sets re->kind/lits for a fast shape, or leaves RE_RE2. Returns CAIRN_ENOMEM or CAIRN_OK. */
static int match_re_classify(match_re *re, const char *p, size_t n)
{
    /* unanchored, `.+` needs a character other than a newline: left to RE2 */
    if (n == 2 && p[0] == '.' && (p[1] == '*' || (p[1] == '+' && re->anchored))) {
        re->kind = p[1] == '*' ? RE_ANY : RE_NONEMPTY;
        return CAIRN_OK;
    }
    re->pat_len = n;
    re->lits = mem_alloc(2 * n + 2);
    re->off = mem_alloc((n + 2) * sizeof *re->off);
    if (!re->lits || !re->off) return CAIRN_ENOMEM;
    size_t ln;
    /* (?i)literal: ASCII only, and without k and s, which (?i) also folds to
     * U+212A KELVIN SIGN and U+017F LONG S */
    if (n > 4 && memcmp(p, "(?i)", 4) == 0 && match_literal(p + 4, n - 4, re->lits, &ln)) {
        int ok = ln > 0;
        for (size_t i = 0; i < ln && ok; i++) {
            unsigned char c = match_lower((unsigned char)re->lits[i]);
            ok = c >= 0x20 && c < 0x7f && c != 'k' && c != 's';
            re->lits[i] = (char)c;
        }
        if (ok) {
            re->kind = RE_ICASE;
            re->n_alt = 1, re->off[0] = 0, re->off[1] = ln, re->lits_len = ln;
            return CAIRN_OK;
        }
    }
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
            if (i + 1 >= qn) return CAIRN_OK; /* trailing backslash: RE2 reports it */
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

/* Is p[i] a plain ASCII literal (or an escaped punctuation mark)? Returns the
 * token length (1 or 2) and the byte in *c, or 0. */
static size_t match_lit_tok(const char *p, size_t n, size_t i, char *c)
{
    unsigned char x = (unsigned char)p[i];
    if (x == '\\') {
        if (i + 1 >= n) return 0;
        unsigned char d = (unsigned char)p[i + 1];
        if (d >= 0x80 || match_is_alpha((char)d) || match_is_digit((char)d) || d <= ' ') return 0;
        *c = (char)d;
        return 2;
    }
    if (x >= 0x80 || x < 0x20 || strchr(".+*?()|[]{}^$", (char)x)) return 0;
    *c = (char)x;
    return 1;
}

static int match_is_quant(char c) { return c == '*' || c == '+' || c == '?' || c == '{'; }

/* Length of the escape at p[i] == '\\': \pL \p{Greek} \x41 \x{263a} \101 \d ... */
static size_t match_esc_len(const char *p, size_t n, size_t i)
{
    if (i + 1 >= n) return n - i;
    char d = p[i + 1];
    size_t j = i + 2;
    if ((d == 'p' || d == 'P' || d == 'x') && j < n && p[j] == '{') {
        const char *e = memchr(p + j, '}', n - j);
        return e ? (size_t)(e - p) + 1 - i : n - i;
    }
    if (d == 'p' || d == 'P') return j < n ? 3 : 2;
    if (d == 'x') return j + 2 <= n ? 4 : n - i;
    if (d >= '0' && d <= '7')
        while (j < n && j < i + 4 && p[j] >= '0' && p[j] <= '7') j++;
    return j - i;
}

/* ---- byte-class sequences ------------------------------------------------------------ */

static void match_set_bit(uint64_t *m, unsigned c) { m[c >> 6] |= (uint64_t)1 << (c & 63); }

static int match_perl_class(char d, uint64_t *m)
{
    switch (d) {
    case 'd': for (unsigned c = '0'; c <= '9'; c++) match_set_bit(m, c); return 1;
    case 'w':
        for (unsigned c = 0; c < 128; c++)
            if (match_is_alpha((char)c) || match_is_digit((char)c) || c == '_') match_set_bit(m, c);
        return 1;
    case 's': /* Go and RE2: [\t\n\f\r ] */
        match_set_bit(m, '\t'), match_set_bit(m, '\n'), match_set_bit(m, '\f'), match_set_bit(m, '\r'),
            match_set_bit(m, ' ');
        return 1;
    default: return 0;
    }
}

/* A bracket class of ASCII members at p[i] == '['; returns the index after ']' or 0. */
static size_t match_seq_class(const char *p, size_t n, size_t i, uint64_t *m)
{
    size_t j = i + 1;
    if (j < n && p[j] == '^') return 0; /* a negated class also matches multi-byte characters */
    int first = 1;
    while (j < n && (p[j] != ']' || first)) {
        unsigned lo;
        char c;
        if (p[j] == '\\') {
            if (j + 1 < n && match_perl_class(p[j + 1], m)) {
                j += 2, first = 0;
                continue;
            }
            size_t t = match_lit_tok(p, n, j, &c);
            if (!t) return 0;
            lo = (unsigned char)c, j += t;
        } else {
            if ((unsigned char)p[j] >= 0x80 || (unsigned char)p[j] < 0x20 || p[j] == '[') return 0;
            lo = (unsigned char)p[j++];
        }
        first = 0;
        unsigned hi = lo;
        if (j + 1 < n && p[j] == '-' && p[j + 1] != ']') {
            if (p[j + 1] == '\\' || (unsigned char)p[j + 1] >= 0x80 || (unsigned char)p[j + 1] < 0x20 || p[j + 1] == '[')
                return 0;
            hi = (unsigned char)p[j + 1];
            if (hi < lo) return 0; /* RE2 reports it */
            j += 2;
        }
        for (unsigned x = lo; x <= hi; x++) match_set_bit(m, x);
    }
    return j < n ? j + 1 : 0;
}

/* Patterns that are a fixed sequence of single ASCII bytes or ASCII classes
 * (`-[0-9a-f]{8}`, `\d\dms`, `[A-Z]{3}`), optionally after/before `.*`, are
 * answered by testing byte sets at fixed offsets: exact, prefix, suffix or
 * anywhere. `x+` first or last in the sequence counts as one `x` where the
 * surrounding `.*` (or the unanchored search) absorbs the rest. Sets re->seq
 * and RE_SEQ, or leaves the kind alone. CAIRN_ENOMEM or CAIRN_OK. */
static int match_re_seq(match_re *re, const char *p, size_t n)
{
    int lead = n >= 2 && p[0] == '.' && p[1] == '*';
    int trail = n >= 2 && p[n - 2] == '.' && p[n - 1] == '*' && !(n >= 3 && p[n - 3] == '\\');
    size_t a = lead ? 2 : 0, b = trail ? n - 2 : n;
    if (a >= b) return CAIRN_OK;
    uint64_t(*seq)[4] = mem_calloc(MATCH_SEQ_MAX, sizeof *seq);
    if (!seq) return CAIRN_ENOMEM;
    size_t k = 0, i = a;
    while (i < b) {
        uint64_t m[4] = {0, 0, 0, 0};
        char c;
        size_t t;
        if (p[i] == '\\' && i + 1 < b && match_perl_class(p[i + 1], m)) {
            i += 2;
        } else if (p[i] == '[') {
            size_t e = match_seq_class(p, b, i, m);
            if (!e) goto no;
            i = e;
        } else if ((t = match_lit_tok(p, b, i, &c))) {
            match_set_bit(m, (unsigned char)c);
            i += t;
        } else {
            goto no;
        }
        size_t rep = 1;
        if (i < b && p[i] == '{') {
            size_t j = i + 1, v = 0;
            while (j < b && match_is_digit(p[j]) && v <= MATCH_SEQ_MAX) v = v * 10 + (size_t)(p[j++] - '0');
            if (j == i + 1 || j >= b || p[j] != '}' || v == 0 || (p[i + 1] == '0')) goto no;
            rep = v, i = j + 1;
        } else if (i < b && p[i] == '+') {
            int first = k == 0, last = i + 1 == b;
            int absorbed = (first && (lead || !re->anchored)) || (last && (trail || !re->anchored));
            if (!absorbed || (i + 1 < b && p[i + 1] == '?')) goto no;
            i++;
        }
        if (i < b && match_is_quant(p[i])) goto no;
        if (k + rep > MATCH_SEQ_MAX) goto no;
        for (size_t r = 0; r < rep; r++) memcpy(seq[k++], m, sizeof m);
    }
    /* the longest run of single-byte positions, for a memmem-style search */
    size_t best = 0, best_off = 0;
    for (size_t x = 0; x < k;) {
        size_t y = x;
        while (y < k && __builtin_popcountll(seq[y][0]) + __builtin_popcountll(seq[y][1]) +
                                __builtin_popcountll(seq[y][2]) + __builtin_popcountll(seq[y][3]) == 1)
            y++;
        if (y - x > best) best = y - x, best_off = x;
        x = y > x ? y : x + 1;
    }
    for (size_t x = 0; x < best; x++)
        for (unsigned c = 0; c < 256; c++)
            if (seq[best_off + x][c >> 6] >> (c & 63) & 1) re->run[x] = (char)c;
    re->run_off = best_off, re->run_len = best;
    re->seq = seq, re->seq_n = k, re->kind = RE_SEQ;
    re->seq_mode = !re->anchored || (lead && trail) ? SEQ_CONTAINS : lead ? SEQ_SUFFIX : trail ? SEQ_PREFIX : SEQ_EXACT;
    return CAIRN_OK;
no:
    mem_free(seq, MATCH_SEQ_MAX * sizeof *seq);
    return CAIRN_OK;
}

static int match_seq_at(const match_re *re, const unsigned char *s)
{
    for (size_t a = 0; a < re->seq_n; a++)
        if (!(re->seq[a][s[a] >> 6] >> (s[a] & 63) & 1)) return 0;
    return 1;
}

static int match_seq_exec(const match_re *re, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t k = re->seq_n;
    if (len < k) return 0;
    switch (re->seq_mode) {
    case SEQ_EXACT: return len == k && match_seq_at(re, u);
    case SEQ_PREFIX: return match_seq_at(re, u);
    case SEQ_SUFFIX: return match_seq_at(re, u + len - k);
    default: break;
    }
    if (!re->run_len) {
        for (size_t i = 0; i + k <= len; i++)
            if (match_seq_at(re, u + i)) return 1;
        return 0;
    }
    /* occurrences of the literal run, then the positions around it */
    size_t pos = re->run_off, lim = len - (k - re->run_off - re->run_len);
    while (pos < lim) {
        size_t j = match_find_pos(s + pos, lim - pos, re->run, re->run_len, 0);
        if (j == SIZE_MAX) return 0;
        j += pos;
        if (match_seq_at(re, u + j - re->run_off)) return 1;
        pos = j + 1;
    }
    return 0;
}

/* Index of the ']' closing the class that opens at p[i] == '[' (n if none),
 * reading it as RE2 does: a leading '^' and ']', escapes, and [:name:], whose
 * ":]" RE2 looks for anywhere after the "[:" (no ":]" makes '[' a member);
 * the high end of a range (`(-[`) is one character or escape, never a [:name:]. */
static size_t match_class_end(const char *p, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j < n && p[j] == '^') j++;
    if (j < n && p[j] == ']') j++;
    while (j < n && p[j] != ']') {
        if (p[j] == '\\') {
            j += match_esc_len(p, n, j);
        } else if (p[j] == '[' && j + 1 < n && p[j + 1] == ':') {
            const char *e = memmem(p + j + 2, n - j - 2, ":]", 2);
            if (e) {
                j = (size_t)(e - p) + 2;
                continue;
            }
            j++;
        } else {
            j++;
        }
        if (j + 1 < n && p[j] == '-' && p[j + 1] != ']') { /* range: skip '-' and its high end */
            j++;
            j += p[j] == '\\' ? match_esc_len(p, n, j) : 1;
        }
    }
    return j < n ? j : n;
}

/* For a pattern RE2 runs: the literal every match must start with and the one
 * it must end with (as Prometheus' FastRegexMatcher extracts them), so most
 * non-matching values are turned down with a memcmp and never reach RE2. Only
 * for patterns without flags, \Q, or alternation at the top level. The
 * literals go to re->lits: prefix, then suffix. */
static void match_re_required(match_re *re, const char *p, size_t n)
{
    if (memmem(p, n, "(?", 2) || memmem(p, n, "\\Q", 2)) return;
    /* top-level alternation anywhere: nothing is required */
    int depth = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '[') {
            i = match_class_end(p, n, i);
        } else if (p[i] == '(') {
            depth++;
        } else if (p[i] == ')') {
            depth--;
        } else if (p[i] == '|' && depth == 0) {
            return;
        }
    }
    /* leading run, minus its last byte when a quantifier follows */
    size_t i = 0, k = 0, t;
    char c;
    while (i < n && (t = match_lit_tok(p, n, i, &c))) {
        re->lits[k++] = c;
        i += t;
    }
    if (k && i < n && match_is_quant(p[i])) k--;
    re->pre_len = k;
    /* trailing run: walk forward, restarting after anything that is not a literal */
    size_t s0 = k, ks = k;
    i = 0;
    while (i < n) {
        t = match_lit_tok(p, n, i, &c);
        if (t && !(i + t < n && match_is_quant(p[i + t]))) {
            re->lits[ks++] = c;
            i += t;
            continue;
        }
        ks = s0;
        if (p[i] == '\\') {
            i += match_esc_len(p, n, i);
        } else if (p[i] == '[') {
            i = match_class_end(p, n, i) + 1;
        } else {
            i += t ? t : 1;
        }
    }
    re->suf_len = ks - s0;
}

/* ---- compile ------------------------------------------------------------------------ */

void match_re_free(match_re *re)
{
    if (!re) return;
    re2s_free(re->re2);
    mem_free(re->seq, MATCH_SEQ_MAX * sizeof *re->seq);
    mem_free(re->lits, 2 * re->pat_len + 2);
    mem_free(re->off, (re->pat_len + 2) * sizeof *re->off);
    mem_free(re, sizeof *re);
}

/* Compile pat into re->re2 with Go's syntax; what names the pattern in messages. */
static int match_re2_build(match_re *re, const char *pat, size_t len, int flags, const char *what, const char *pre,
                           cairn_err *err)
{
    size_t cap = 2 * len + 1, bad = 0;
    char *q = mem_alloc(cap);
    if (!q) return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    size_t qn = match_re_prep(pat, len, q, &bad);
    if (qn == (size_t)-1) {
        mem_free(q, cap);
        return err_set(err, CAIRN_EINVAL, "%s: invalid escape sequence: `\\C` at offset %zu", pre, bad);
    }
    int why = 0;
    char frag[96];
    int sflags = ((flags & MATCH_RE_ANCHORED) ? RE2S_DOT_NL : 0) | ((flags & MATCH_RE_CAPTURE) ? 0 : RE2S_NO_CAPTURE);
    int rc = re2s_compile(q, qn, sflags, MATCH_RE2_MAX_MEM, &re->re2, &why, frag, sizeof frag);
    mem_free(q, cap);
    if (rc == RE2S_ENOMEM) return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    if (rc) {
        size_t fl = strlen(frag);
        const char *at = fl ? memmem(pat, len, frag, fl) : NULL;
        if (at)
            return err_set(err, CAIRN_EINVAL, "%s: %s: `%s` at offset %zu", pre, match_re2_why(why),
                           frag, (size_t)(at - pat));
        return err_set(err, CAIRN_EINVAL, "%s: %s%s%s%s", pre, match_re2_why(why), fl ? ": `" : "",
                       frag, fl ? "`" : "");
    }
    return CAIRN_OK;
}

/* what: how to name the pattern in a message, e.g. `matcher job=~"x"`; pre: how a syntax error starts */
static int match_re_build(match_re **out, const char *pat, size_t len, int flags, const char *what, const char *pre,
                          cairn_err *err)
{
    *out = NULL;
    size_t bad = labels_utf8_valid(pat, len);
    if (bad != len) return err_set(err, CAIRN_EINVAL, "%s: invalid UTF-8 at offset %zu", pre, bad);
    match_re *re = mem_calloc(1, sizeof *re);
    if (!re) return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    re->anchored = (flags & MATCH_RE_ANCHORED) != 0;
    int rc = match_re_classify(re, pat, len);
    if (rc) {
        match_re_free(re);
        return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    }
    if (re->kind == RE_RE2) rc = match_re_seq(re, pat, len);
    if (rc) {
        match_re_free(re);
        return err_set(err, CAIRN_ENOMEM, "out of memory compiling %s", what);
    }
    if (re->kind == RE_RE2) match_re_required(re, pat, len);
    if (re->kind == RE_RE2 || (flags & MATCH_RE_CAPTURE)) {
        rc = match_re2_build(re, pat, len, flags, what, pre, err);
        if (rc) {
            match_re_free(re);
            return rc;
        }
    }
    *out = re;
    return CAIRN_OK;
}

int match_re_compile(match_re **out, const char *pat, size_t len, int anchored, cairn_err *err)
{
    char what[120], pre[140];
    snprintf(what, sizeof what, "line filter \"%.*s\"", len > 80 ? 80 : (int)len, pat);
    snprintf(pre, sizeof pre, "invalid regex in %s", what);
    return match_re_build(out, pat, len, anchored ? MATCH_RE_ANCHORED : 0, what, pre, err);
}

int match_re_compile_as(match_re **out, const char *pat, size_t len, int flags, const char *what, cairn_err *err)
{
    char w[160], pre[180];
    snprintf(w, sizeof w, "%s \"%.*s\"", what ? what : "regex", len > 80 ? 80 : (int)len, pat);
    snprintf(pre, sizeof pre, "invalid %s", w);
    return match_re_build(out, pat, len, flags, w, pre, err);
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
    return match_find(s, n, re->lits + re->off[i], ln, 0);
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
    case RE_SEQ: return match_seq_exec(re, s, len);
    case RE_ICASE:
        if (!re->anchored) return match_find(s, len, re->lits, ln, 1);
        if (len != ln) return 0;
        for (size_t i = 0; i < ln; i++)
            if (match_lower((unsigned char)s[i]) != (unsigned char)re->lits[i]) return 0;
        return 1;
    case RE_SET:
        for (size_t i = 0; i < re->n_alt; i++)
            if (re->anchored ? match_lit_eq(re, i, s, len) : match_lit_in(re, i, s, len)) return 1;
        return 0;
    default: break;
    }
    if (re->anchored) {
        if (re->pre_len && (len < re->pre_len || memcmp(s, re->lits, re->pre_len) != 0)) return 0;
        if (re->suf_len && (len < re->suf_len || memcmp(s + len - re->suf_len, re->lits + re->pre_len, re->suf_len) != 0))
            return 0;
    } else if (re->pre_len >= re->suf_len) {
        if (!match_find(s, len, re->lits, re->pre_len, 0)) return 0;
    } else if (!match_find(s, len, re->lits + re->pre_len, re->suf_len, 0)) {
        return 0;
    }
    int rc = re2s_match(re->re2, len ? s : "", len, re->anchored ? RE2S_ANCHOR_BOTH : RE2S_UNANCHORED);
    return rc >= 0 ? rc : CAIRN_ENOMEM;
}

/* ---- capture groups ------------------------------------------------------------------ */

int match_re_ngroups(const match_re *re) { return re->re2 ? re2s_ngroups(re->re2) : 0; }

const char *match_re_group_name(const match_re *re, int i, size_t *len)
{
    return re->re2 ? re2s_group_name(re->re2, i, len) : NULL;
}

int match_re_groups(const match_re *re, const char *s, size_t len, ptrdiff_t *off, int n_pairs)
{
    if (!re->re2) { /* compiled without MATCH_RE_CAPTURE: only the overall answer */
        for (int i = 0; i < 2 * n_pairs; i++) off[i] = -1;
        return match_re_exec(re, s, len);
    }
    int rc = re2s_match_groups(re->re2, s, len, re->anchored ? RE2S_ANCHOR_BOTH : RE2S_UNANCHORED, off, n_pairs);
    return rc >= 0 ? rc : CAIRN_ENOMEM;
}

/* Go's regexp extract(): a name of letters, digits and '_' after '$', or in
 * braces. Returns the bytes consumed after '$' (0: not a reference), the name
 * in *nm, *nl and the group number in *num (-1 when it is not a number). */
static size_t match_ref(const char *t, size_t tn, const char **nm, size_t *nl, long *num)
{
    size_t i = 0;
    int brace = tn > 0 && t[0] == '{';
    if (brace) i = 1;
    size_t b = i;
    while (i < tn && (match_is_alpha(t[i]) || match_is_digit(t[i]) || t[i] == '_' || (unsigned char)t[i] >= 0x80)) i++;
    if (i == b) return 0;
    *nm = t + b;
    *nl = i - b;
    if (brace) {
        if (i >= tn || t[i] != '}') return 0;
        i++;
    }
    long v = 0;
    for (size_t k = 0; k < *nl; k++) {
        if (!match_is_digit((*nm)[k]) || v >= 100000000) {
            v = -1;
            break;
        }
        v = v * 10 + ((*nm)[k] - '0');
    }
    if (*nl > 1 && (*nm)[0] == '0') v = -1; /* no leading zeros */
    *num = v;
    return i;
}

int match_re_expand(const match_re *re, const char *s, size_t len, const char *tmpl, size_t tn, buf *dst)
{
    ptrdiff_t small[2 * 16];
    ptrdiff_t *off = small;
    int ng = match_re_ngroups(re) + 1;
    size_t offsz = (size_t)ng * 2 * sizeof *off;
    if (ng > 16 && !(off = mem_alloc(offsz))) return CAIRN_ENOMEM;
    int rc = match_re_groups(re, s, len, off, ng);
    for (size_t i = 0; rc == 1 && i < tn;) {
        const char *nm = NULL;
        size_t nl = 0, used = 0;
        long num = -1;
        if (tmpl[i] != '$' || i + 1 >= tn) {
            if (buf_put(dst, tmpl + i, 1)) rc = CAIRN_ENOMEM;
            i++;
            continue;
        }
        if (tmpl[i + 1] == '$') {
            if (buf_put(dst, "$", 1)) rc = CAIRN_ENOMEM;
            i += 2;
            continue;
        }
        used = match_ref(tmpl + i + 1, tn - i - 1, &nm, &nl, &num);
        if (!used) { /* malformed: the '$' is literal */
            if (buf_put(dst, "$", 1)) rc = CAIRN_ENOMEM;
            i++;
            continue;
        }
        i += 1 + used;
        int g = -1;
        if (num >= 0) g = num < ng ? (int)num : -1;
        else
            for (int k = 1; k < ng && g < 0; k++) {
                size_t kl = 0;
                const char *kn = match_re_group_name(re, k, &kl);
                if (kn && kl == nl && memcmp(kn, nm, nl) == 0) g = k;
            }
        if (g >= 0 && off[2 * g] >= 0 && buf_put(dst, s + off[2 * g], (size_t)(off[2 * g + 1] - off[2 * g])))
            rc = CAIRN_ENOMEM;
    }
    if (off != small) mem_free(off, offsz);
    return rc;
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
    m->name_len = src->name_len; /* before match_free below: it frees by length */
    m->value_len = src->value_len;
    if (!m->name || !m->value) {
        match_free(m);
        return err_set(err, CAIRN_ENOMEM, "out of memory compiling a matcher");
    }
    if (m->op == CAIRN_MATCH_RE || m->op == CAIRN_MATCH_NRE) {
        char what[160];
        snprintf(what, sizeof what, "matcher %.*s%s\"%.*s\"", m->name_len > 40 ? 40 : (int)m->name_len, m->name,
                 match_op_str(m->op), m->value_len > 80 ? 80 : (int)m->value_len, m->value);
        char pre[180];
        snprintf(pre, sizeof pre, "invalid regex in %s", what);
        int rc = match_re_build(&m->re, m->value, m->value_len, MATCH_RE_ANCHORED, what, pre, err);
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

int match_re_is_fast(const match_re *re) { return re->kind != RE_RE2; }
