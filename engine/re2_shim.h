/*
 * re2_shim — a tiny C API over RE2 (C++), for engine/match.c only.
 *
 * engine/re2_shim.cc is the only file that includes re2/re2.h, and match.c is
 * its only caller: everything else in cairn reaches regexes through match.h.
 * The shim knows nothing of cairn (no cairn_err, no mem_): it returns its own
 * small codes and match.c turns them into messages.
 *
 * Memory: RE2 allocates with C++ new. Each compiled regex is bounded by
 * `max_mem` bytes (program plus its lazily built DFA caches; RE2 falls back to
 * its NFA, still linear, when a DFA cache fills), so the bound is per regex;
 * these bytes are not counted by mem_. A C++ exception (std::bad_alloc) never
 * crosses into C: it becomes RE2S_ENOMEM.
 *
 * Threads: a compiled re2s is immutable from the caller's view; any number of
 * threads may match with it at once (RE2 locks its DFA cache internally).
 */
#ifndef CAIRN_RE2_SHIM_H
#define CAIRN_RE2_SHIM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct re2s re2s;

/* Compile flags. */
enum { RE2S_DOT_NL = 1, RE2S_CASELESS = 2, RE2S_NO_CAPTURE = 4 };
/* Anchoring of one match call. */
enum { RE2S_UNANCHORED = 0, RE2S_ANCHOR_START = 1, RE2S_ANCHOR_BOTH = 2 };
/* Return codes (match calls return 1 for a match, 0 for none). */
enum { RE2S_OK = 0, RE2S_ENOMEM = -1, RE2S_ESYNTAX = -2 };
/* Syntax error kinds (RE2::ErrorCode, same values; checked in re2_shim.cc). */
enum {
    RE2S_ERR_INTERNAL = 1, RE2S_ERR_BAD_ESCAPE, RE2S_ERR_BAD_CHAR_CLASS, RE2S_ERR_BAD_CHAR_RANGE,
    RE2S_ERR_MISSING_BRACKET, RE2S_ERR_MISSING_PAREN, RE2S_ERR_UNEXPECTED_PAREN, RE2S_ERR_TRAILING_BACKSLASH,
    RE2S_ERR_REPEAT_ARGUMENT, RE2S_ERR_REPEAT_SIZE, RE2S_ERR_REPEAT_OP, RE2S_ERR_BAD_PERL_OP, RE2S_ERR_BAD_UTF8,
    RE2S_ERR_BAD_NAMED_CAPTURE, RE2S_ERR_PATTERN_TOO_LARGE
};

/*
 * Compile pat[0..len) (UTF-8, RE2 syntax, leftmost-first like Go).
 * Returns RE2S_OK and *out (owned, re2s_free), RE2S_ENOMEM, or RE2S_ESYNTAX
 * with *why = RE2S_ERR_* and the offending fragment copied NUL-terminated into
 * frag (at most frag_cap - 1 bytes; frag may be NULL).
 */
int re2s_compile(const char *pat, size_t len, int flags, int64_t max_mem, re2s **out, int *why, char *frag,
                 size_t frag_cap);
void re2s_free(re2s *re);

/* Does s[0..n) match (anchor = RE2S_*)? 1, 0 or RE2S_ENOMEM. */
int re2s_match(const re2s *re, const char *s, size_t n, int anchor);

/* Number of capturing groups (group 0, the whole match, not counted). */
int re2s_ngroups(const re2s *re);
/* Name of group i (1-based), or NULL if unnamed or out of range; view valid until re2s_free. */
const char *re2s_group_name(const re2s *re, int i, size_t *len);

/*
 * Match and report groups 0 .. n_pairs-1: off[2i], off[2i+1] are byte offsets
 * into s of group i, both -1 when the group did not take part. Groups past
 * re2s_ngroups are -1. Returns 1, 0 or RE2S_ENOMEM.
 */
int re2s_match_groups(const re2s *re, const char *s, size_t n, int anchor, ptrdiff_t *off, int n_pairs);

#ifdef __cplusplus
}
#endif
#endif
