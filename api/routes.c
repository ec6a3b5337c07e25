/*
 * routes.c — the routing table.
 *
 * cairn serves a few dozen paths at most, so the table is an array searched
 * linearly: a request costs one strcmp per route, tens of nanoseconds, next
 * to microseconds of HTTP parsing. A trie or hash would buy nothing and would
 * make prefix routes (the query API's /api/v1/label/<name>/values) harder to
 * express. Entries are found by path first and the method is checked
 * afterwards, so a known path with the wrong method answers 405 instead of
 * pretending the path does not exist.
 *
 * Counters: each route keeps one relaxed atomic counter per common status
 * code plus an "other" slot; /metrics reads them without locking. Counting
 * costs one uncontended atomic add per request. The table itself is
 * immutable after start-up (route_add is called before http_start), which is
 * why lookups need no lock: the thread that built it started the pool
 * threads afterwards, and thread creation orders the writes before them.
 *
 * Invariants: route.path is never NULL; a '*' may appear only as the last
 * character; `none` counts requests that matched nothing.
 */
#include <string.h>

#include "mem.h"
#include "routes.h"

const unsigned route_codes[ROUTE_N_CODES - 1] = {200, 204, 400, 401, 404, 405, 413, 415, 422, 429, 500, 503, 504, 507};

void route_table_init(route_table *t)
{
    memset(t, 0, sizeof *t);
    t->none.path = "";
    t->none.name = "none";
}

void route_table_free(route_table *t)
{
    if (!t) return;
    mem_free(t->v, t->cap * sizeof *t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

int route_add(route_table *t, const char *path, unsigned methods, unsigned flags, route_fn fn, void *ctx,
              const char *name)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        route *nv = mem_realloc(t->v, t->cap * sizeof *t->v, nc * sizeof *nv);
        if (!nv) return CAIRN_ENOMEM;
        t->v = nv;
        t->cap = nc;
    }
    route *r = &t->v[t->n++];
    memset(r, 0, sizeof *r);
    r->path = path;
    r->methods = methods;
    r->flags = flags;
    r->fn = fn;
    r->ctx = ctx;
    r->name = name;
    return CAIRN_OK;
}

const route *route_find(const route_table *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++) {
        const route *r = &t->v[i];
        size_t n = strlen(r->path);
        if (n && r->path[n - 1] == '*') {
            if (!strncmp(path, r->path, n - 1)) return r;
        } else if (!strcmp(path, r->path)) {
            return r;
        }
    }
    return NULL;
}

unsigned route_method_bit(const char *m)
{
    if (!strcmp(m, "GET")) return ROUTE_GET;
    if (!strcmp(m, "POST")) return ROUTE_POST;
    if (!strcmp(m, "HEAD")) return ROUTE_HEAD;
    if (!strcmp(m, "PUT")) return ROUTE_PUT;
    return 0;
}

size_t route_code_slot(unsigned status)
{
    for (size_t i = 0; i < ROUTE_N_CODES - 1; i++)
        if (route_codes[i] == status) return i;
    return ROUTE_N_CODES - 1;
}

void route_count(const route *r, unsigned status)
{
    /* The counters are the one mutable part of a route; the table is const to readers. */
    route *w = (route *)r;
    atomic_fetch_add_explicit(&w->count[route_code_slot(status)], 1, memory_order_relaxed);
}
