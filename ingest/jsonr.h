/*
 * jsonr — a small bounded JSON reader: one validating pass turns a document
 * into a flat array of tokens (the jsmn idea), which the decoders then walk by
 * index. Strings stay escaped in the body until jr_str() decodes one into a
 * caller buffer (\uXXXX surrogate pairs -> UTF-8; a lone surrogate becomes
 * U+FFFD, as Go's encoding/json does).
 *
 * Bounds: nesting depth (max_depth), document size < 4 GiB (offsets are 32
 * bits), tokens <= bytes. Syntax errors are CAIRN_EPARSE with line:col.
 */
#ifndef CAIRN_JSONR_H
#define CAIRN_JSONR_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

enum { JR_OBJ = 1, JR_ARR, JR_STR, JR_NUM, JR_TRUE, JR_FALSE, JR_NULL };

typedef struct jr_tok {
    uint8_t type;
    uint8_t esc;      /* JR_STR: contains a backslash escape */
    uint32_t off, len; /* bytes of the token; for JR_STR without the quotes */
    uint32_t end;     /* index of the token after this one's subtree */
    uint32_t n;       /* JR_ARR: elements; JR_OBJ: members (key, value pairs) */
} jr_tok;

typedef struct jr_doc {
    const char *s;
    size_t len;
    jr_tok *t;
    size_t n, cap;
} jr_doc;

void jr_init(jr_doc *d);
void jr_free(jr_doc *d);
/* Tokenise and validate `s` (exactly one JSON value, whitespace around). */
int jr_parse(jr_doc *d, const char *s, size_t len, uint32_t max_depth, cairn_err *err);

/* First child of a container (or d->n... check n first), next sibling. */
static inline uint32_t jr_first(const jr_doc *d, uint32_t i) { (void)d; return i + 1; }
static inline uint32_t jr_skip(const jr_doc *d, uint32_t i) { return d->t[i].end; }
/* Value of member `key` of object `obj`, or -1. */
long jr_get(const jr_doc *d, uint32_t obj, const char *key);
/* Nonzero if string token `i` equals key (escapes decoded). */
int jr_eq(const jr_doc *d, uint32_t i, const char *key, size_t key_len);
/* Decode string token `i` into out (appended). CAIRN_OK / CAIRN_ENOMEM. */
int jr_str(const jr_doc *d, uint32_t i, buf *out);
/* 1-based line and column of byte offset `off`. */
void jr_pos(const jr_doc *d, size_t off, int *line, int *col);
#endif
