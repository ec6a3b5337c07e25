/*
 * logtmpl — the Go text/template subset of LogQL's line_format and
 * label_format.
 *
 * Contract. ltmpl_compile() turns a template string into a small tree in the
 * query arena; ltmpl_render() appends the output for one entry to a buf,
 * looking labels up through a callback (a missing label renders as ""
 * like Go's missingkey=zero). Supported: text, {{ }} actions with {{- -}}
 * trimming, Go template comments, fields `.name`, string, raw-string and
 * number literals, pipelines `a | f b`, parenthesised pipelines,
 * if / else if / else / end, and the functions listed in docs/logql.md.
 * A function named in argument position is called without arguments, as in
 * Go (`{{ repeat 2 __line__ }}`).
 * Anything else fails to compile with CAIRN_EINVAL.
 *
 * Threads: a compiled template is immutable; rendering keeps its state on
 * the stack and in the caller's buffers.
 */
#ifndef CAIRN_LOGTMPL_H
#define CAIRN_LOGTMPL_H
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "cairn.h"

typedef struct ltmpl ltmpl;

/* Longest output of one rendering (one line_format line or label_format
 * value), as Loki's default max_line_size (256 KB): longer output is an
 * execution error (CAIRN_EINVAL, which the pipeline turns into
 * __error__="TemplateFormatErr" and keeps the line, as Loki does with any
 * template error). Intermediate values of one rendering may total at most
 * LTMPL_MAX_TMP_BYTES. */
#define LTMPL_MAX_LINE_BYTES (256u * 1024u)
#define LTMPL_MAX_TMP_BYTES (4u * LTMPL_MAX_LINE_BYTES)

/* Look a label up for the template: NULL when absent. */
typedef const char *(*ltmpl_lookup_fn)(void *ctx, const char *name, size_t name_len, size_t *len);

/* What one rendering sees. */
typedef struct ltmpl_env {
    ltmpl_lookup_fn lookup;
    void *ctx;
    const char *line; /* __line__ */
    size_t line_len;
    int64_t t_ns;     /* __timestamp__ */
} ltmpl_env;

/* Compile `src[0..n)` (borrowed). Returns a tree in `ar`.
 * @return CAIRN_OK, CAIRN_EINVAL ("template: …" message), CAIRN_ENOMEM. */
int ltmpl_compile(arena *ar, const char *src, size_t n, ltmpl **out, cairn_err *err);

/* Append the output to `dst`; `tmp` holds intermediate values (the caller
 * resets it whenever it likes between renderings).
 * @return CAIRN_OK, CAIRN_ENOMEM, CAIRN_EINVAL (an execution error such as a
 * non-numeric count argument; the message is in err). */
int ltmpl_render(const ltmpl *t, const ltmpl_env *env, buf *tmp, buf *dst, cairn_err *err);

/* The i-th label name the template reads as `.name` (views into the tree);
 * returns 0 past the end. For parser hints. */
int ltmpl_field(const ltmpl *t, size_t i, const char **name, size_t *len);
#endif
