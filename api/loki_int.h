/*
 * loki_int — what the three files of the Loki API share: loki_api.c (query
 * endpoints, labels, index), loki_detect.c (detected_fields,
 * detected_field/<name>/values, patterns) and loki_tail.c (the WebSocket
 * live tail). Parameter helpers answer the request themselves when they
 * fail (plain text, Loki's style) and return -1; writers append to a jw.
 * Threads: like the handlers, any pool thread; no shared state.
 */
#ifndef CAIRN_LOKI_INT_H
#define CAIRN_LOKI_INT_H
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cairn.h"
#include "http.h"
#include "json.h"
#include "logeval.h"
#include "prom_api.h"

/* start/end with Loki's defaults (end = now, start = min(end, now) - since|1h). -1 after answering 400. */
int lapi_read_range(papi_req *q, int64_t *start, int64_t *end);
/* Whether X-Loki-Response-Encoding-Flags lists `flag` (exact token). */
int lapi_has_flag(http_req *r, const char *flag);
/* Answer a cairn code as Loki does: 400 (EPARSE, EINVAL, ELIMIT), 504 (ETIMEOUT), else 500. */
void lapi_err_code(http_req *r, int code, const char *msg);
/* The stream selector of `text` (NULL: none) into matchers. -1 after answering 400. */
int lapi_opt_selector(papi_req *q, const char *text, cairn_matcher **m, size_t *n);
/* {"name":"value",…} */
void lapi_write_lset(jw *w, const cairn_label *ls, size_t n);
/*
 * The `result` array of a streams answer. cat = 0: Loki's legacy encoding
 * (["<ns>","<line>"], streams keyed by every label). cat = 1: categorize-
 * labels: streams keyed by their indexed labels only, entries of equal keys
 * merged in direction order, values ["<ns>","<line>",{"structuredMetadata":
 * {…},"parsed":{…}}] (each inner key only when non-empty). `res` must come
 * from leval with leval_opts.categorize = cat. Scratch in `ar`.
 * @return CAIRN_OK or CAIRN_ENOMEM.
 */
int lapi_write_streams(jw *w, arena *ar, const leval_result *res, int cat, int backward, cairn_err *e);

/* GET /loki/api/v1/tail (loki_tail.c). */
void ltail_handle(papi_ctx *c, http_req *r);

/* GET /loki/api/v1/detected_fields, detected_field/<name>/values, patterns (loki_detect.c). */
void ldet_fields(papi_ctx *c, http_req *r);
void ldet_field_values(papi_ctx *c, http_req *r);
void ldet_patterns(papi_ctx *c, http_req *r);
#endif
