/*
 * routes — cairn's routing table: which handler answers which path and
 * method, what a request body may look like there, and per-route request
 * counters by status code for /metrics.
 *
 * Contract: a table is built once at start (route_add), then only read; the
 * counters are atomics, so any pool thread may count concurrently. Lookup is
 * by exact path, or by prefix for entries whose path ends in '*' (the query
 * API's /api/v1/label/<name>/values). The first matching entry wins, so exact
 * paths should be added before overlapping prefixes.
 */
#ifndef CAIRN_ROUTES_H
#define CAIRN_ROUTES_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

struct http_req;

/* A handler answers one request; see http.h for the rules. */
typedef void (*route_fn)(struct http_req *req, void *ctx);

/* Methods (bit mask). */
enum { ROUTE_GET = 1u, ROUTE_POST = 2u, ROUTE_HEAD = 4u, ROUTE_PUT = 8u };
/* Flags. */
enum {
    ROUTE_BODY = 1u, /* the handler reads a request body (otherwise any body is drained and ignored) */
    ROUTE_GZIP = 2u  /* Content-Encoding gzip/x-gzip/deflate is undone before the handler runs */
};

/* Status codes counted one by one; anything else lands in the last slot ("other"). */
#define ROUTE_N_CODES 15
extern const unsigned route_codes[ROUTE_N_CODES - 1];

typedef struct route {
    const char *path; /* "/api/v1/write"; a trailing '*' matches any suffix */
    unsigned methods; /* ROUTE_GET | ... */
    unsigned flags;   /* ROUTE_BODY | ROUTE_GZIP */
    route_fn fn;
    void *ctx;        /* passed to fn */
    const char *name; /* label value for /metrics, e.g. "write" */
    atomic_uint_fast64_t count[ROUTE_N_CODES];
} route;

typedef struct route_table {
    route *v;
    size_t n, cap;
    route none; /* counts requests no route matched (404) */
} route_table;

void route_table_init(route_table *t);
void route_table_free(route_table *t);
/* Add a route. Strings are borrowed (use literals). @return CAIRN_OK or CAIRN_ENOMEM. */
int route_add(route_table *t, const char *path, unsigned methods, unsigned flags, route_fn fn, void *ctx,
              const char *name);
/*
 * Find the route for `path`. @return the route, or NULL. Method is not
 * checked here (see route_method_bit); a known path with a wrong method is a
 * 405, not a 404.
 */
const route *route_find(const route_table *t, const char *path);
/* The ROUTE_* bit of a method name, 0 for unknown methods. */
unsigned route_method_bit(const char *method_z);
/* Count one answered request. */
void route_count(const route *r, unsigned status);
/* Slot of a status code in route.count. */
size_t route_code_slot(unsigned status);
#endif
