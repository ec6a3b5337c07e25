/*
 * loki_api — lapi_: the Loki HTTP query API (/loki/api/v1/query_range, …)
 * on `cairn serve`, over the LogQL evaluator (query/logeval.h). It shares
 * the request plumbing, limits and concurrency gate of prom_api.h (papi_ctx).
 *
 * Errors are plain text (Loki's style; Grafana shows the body): 400 for
 * parse errors, bad parameters and limits, 504 for timeouts, 503 when busy
 * or not ready, 500 for our own faults.
 */
#ifndef CAIRN_LOKI_API_H
#define CAIRN_LOKI_API_H
#include <stdint.h>

#include "prom_api.h"
#include "routes.h"

/* Register every Loki query endpoint in `t`. @return CAIRN_OK or CAIRN_ENOMEM. */
int lapi_routes(papi_ctx *c, route_table *t);

/*
 * Loki's timestamp rule: text with '.' is float seconds (rounded to ms), an
 * integer of at most 10 digits is seconds, a longer one nanoseconds, else
 * RFC 3339. @return 0, or -1 when unparsable or outside int64 nanoseconds.
 */
int lapi_parse_time(const char *s, int64_t *t_ns);
#endif
