/*
 * status_page — the HTML page at `/` of `cairn serve`: version, data
 * directory, series and stream counts, ingest totals and rates, query gate
 * state, links to every endpoint and to the docs. Plain HTML with inline
 * CSS, no scripts and no external assets.
 */
#ifndef CAIRN_STATUS_PAGE_H
#define CAIRN_STATUS_PAGE_H
#include "prom_api.h"
#include "routes.h"

/* Register `/` (GET, HEAD). @return CAIRN_OK or CAIRN_ENOMEM. */
int status_page_routes(papi_ctx *c, route_table *t);
#endif
