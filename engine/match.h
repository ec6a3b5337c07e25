/*
 * match — label matchers (= != =~ !~) and regex line filters, on PCRE2.
 *
 * The only module that includes pcre2.h. Regexes follow Prometheus: RE2
 * syntax, fully anchored (^(?:re)$), `.` matching newlines as in Prometheus 3.
 * Common shapes take a fast path without PCRE2: literal, `a|b|c` alternations
 * of literals, `prefix.*`, `.*suffix`, `.*`, `.+`.
 * A compiled matcher is immutable: any number of threads may use it at once
 * (match data is per call, on the stack or in a per-call buffer).
 */
#ifndef CAIRN_MATCH_H
#define CAIRN_MATCH_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

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
/* Does the label value (len 0 = missing label) satisfy the matcher? 1 or 0; a
 * regex that hits PCRE2's match limit gives CAIRN_ELIMIT, no memory CAIRN_ENOMEM. */
int match_value(const match *m, const char *v, size_t len);
/* Does the matcher accept the empty value (i.e. also series lacking the label)? */
int match_matches_empty(const match *m);

/* Unanchored regex search for line filters (LogQL |~): anchored = 0; or anchored like matchers = 1. */
int match_re_compile(match_re **out, const char *pat, size_t len, int anchored, cairn_err *err);
void match_re_free(match_re *re);
/* 1 match, 0 no match, CAIRN_ELIMIT (PCRE2 match limit), CAIRN_ENOMEM. */
int match_re_exec(const match_re *re, const char *s, size_t len);
/* 1 if re runs on a fast path (no PCRE2). */
int match_re_is_fast(const match_re *re);

/* For the index: when every value m accepts is one of a few literals (= v, or =~ "a|b|c"),
 * store views of them (they live as long as m) and return how many; 0 if m is not such
 * a set or it has more than cap members. An empty member means "label absent". */
int match_set(const match *m, const char **vals, size_t *lens, size_t cap);
/* When m is =~ "prefix.*", return the literal prefix (view into m): 1, else 0. */
int match_prefix(const match *m, const char **p, size_t *pn);
#endif
