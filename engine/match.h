/*
 * match — every regex in cairn: label matchers (= != =~ !~), line filters,
 * and regexes with capture groups (LogQL `regexp`, label_replace), on RE2.
 *
 * The only module that reaches RE2 (through engine/re2_shim.h; re2/re2.h is
 * included by re2_shim.cc alone). Syntax is Go's regexp (RE2): repeat counts
 * at most 1000, flags (?i) (?s) (?m) (?U), lazy quantifiers, \d \w \s \b,
 * Unicode classes, named groups (?P<n>re) and (?<n>re); no backreferences or
 * lookarounds. Matching time is linear in the text for every pattern.
 * Matchers are anchored like Prometheus 3, ^(?s:re)$; line filters search
 * unanchored with `.` not matching a newline, like Loki. A bad pattern is a
 * CAIRN_EINVAL at compile time worded like Go's error; a match never fails
 * except for CAIRN_ENOMEM, which is never reported as "no match".
 * Common shapes take a fast path without RE2: literal, `a|b|c` alternations
 * of literals, `prefix.*`, `.*suffix`, `.*`, `.+`.
 * A compiled matcher is immutable: any number of threads may use it at once.
 * docs/regex.md: the choice of RE2 over PCRE2, limits, measurements.
 */
#ifndef CAIRN_MATCH_H
#define CAIRN_MATCH_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

struct buf; /* base/buf.h */

typedef struct match_re match_re; /* opaque compiled regex + fast path */

typedef struct match {
    int op; /* CAIRN_MATCH_* */
    char *name;
    size_t name_len;
    char *value;
    size_t value_len;
    match_re *re; /* for RE/NRE */
} match;

/* Compile; CAIRN_EINVAL names the matcher and the regex error offset. Returns owned (match_free). */
int match_compile(match *m, const cairn_matcher *src, cairn_err *err);
void match_free(match *m);
/* Does the label value (len 0 = missing label) satisfy the matcher? 1 or 0;
 * CAIRN_ENOMEM if the regex engine ran out of memory (never a silent 0). */
int match_value(const match *m, const char *v, size_t len);
/* Does the matcher accept the empty value (i.e. also series lacking the label)? */
int match_matches_empty(const match *m);

/* Compile flags for match_re_compile_as. */
enum {
    MATCH_RE_ANCHORED = 1, /* ^(?s:re)$ as a matcher; else unanchored search, `.` not matching \n */
    MATCH_RE_CAPTURE = 2   /* keep capture groups (match_re_groups, match_re_expand) */
};

/* Unanchored regex search for line filters (LogQL |~): anchored = 0; or anchored like matchers = 1. */
int match_re_compile(match_re **out, const char *pat, size_t len, int anchored, cairn_err *err);
/* The same with MATCH_RE_* flags; `what` names the regex in messages: a
 * syntax error reads `invalid <what> "<pat>": <Go's reason>` (e.g. what =
 * "regexp stage"). Returns owned (match_re_free). CAIRN_OK, CAIRN_EINVAL, CAIRN_ENOMEM. */
int match_re_compile_as(match_re **out, const char *pat, size_t len, int flags, const char *what, cairn_err *err);
void match_re_free(match_re *re);
/* 1 match, 0 no match, CAIRN_ENOMEM. */
int match_re_exec(const match_re *re, const char *s, size_t len);
/* 1 if re runs on a fast path (no RE2). */
int match_re_is_fast(const match_re *re);

/* ---- capture groups (compiled with MATCH_RE_CAPTURE) ---- */
/* Number of capture groups, not counting group 0 (the whole match). */
int match_re_ngroups(const match_re *re);
/* Name of group i (1-based) or NULL when unnamed; a view that lives as long as re. */
const char *match_re_group_name(const match_re *re, int i, size_t *len);
/* Match s and fill off[2i], off[2i+1] with the byte range of group i for
 * i < n_pairs (-1, -1 when the group took no part). 1, 0 or CAIRN_ENOMEM. */
int match_re_groups(const match_re *re, const char *s, size_t len, ptrdiff_t *off, int n_pairs);
/* Match s; on a match append `tmpl` expanded like Go's Regexp.Expand ($1,
 * ${1}, $name, ${name}, $$; an unknown or unmatched group expands to
 * nothing, a malformed `$` stays literal) to dst and return 1; 0 when s does
 * not match; CAIRN_ENOMEM. */
int match_re_expand(const match_re *re, const char *s, size_t len, const char *tmpl, size_t tn, struct buf *dst);

/* For the index: when every value m accepts is one of a few literals (= v, or =~ "a|b|c"),
 * store views of them (they live as long as m) and return how many; 0 if m is not such
 * a set or it has more than cap members. An empty member means "label absent". */
int match_set(const match *m, const char **vals, size_t *lens, size_t cap);
/* When m is =~ "prefix.*", return the literal prefix (view into m): 1, else 0. */
int match_prefix(const match *m, const char **p, size_t *pn);
#endif
