/*
 * push_api — cairn's write endpoints: remote write, text import, Loki push
 * and OTLP/HTTP, each a thin handler that picks a decoder from ingest/ by
 * path, Content-Type and Content-Encoding, commits the one batch, and maps
 * the outcome to an HTTP status in one table (wapi_status).
 *
 * The context (wapi_ctx) is shared by every pool thread: the database handle
 * (NULL until open and WAL replay are done: then the endpoints answer 503),
 * the ingest options template, the metadata store (HELP/TYPE/UNIT from remote
 * write, text import and OTLP, for /api/v1/metadata), counters for /metrics
 * and a pool of reusable per-request work areas. Counters are relaxed
 * atomics; the metadata store and the pool each have a mutex.
 */
#ifndef CAIRN_PUSH_API_H
#define CAIRN_PUSH_API_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cairn.h"
#include "ingest.h"
#include "routes.h"

/* Protocols counted in /metrics. */
enum { WAPI_RW, WAPI_PROMTEXT, WAPI_LOKI_JSON, WAPI_LOKI_PROTO, WAPI_OTLP_METRICS, WAPI_OTLP_LOGS, WAPI_N_PROTO };
/* Reasons a request was rejected. */
enum {
    WAPI_R_BAD_DATA,    /* undecodable or invalid: 400 */
    WAPI_R_OUT_OF_ORDER,/* 400 */
    WAPI_R_LIMIT,       /* a series/stream/line limit at commit: 400 */
    WAPI_R_TOO_LARGE,   /* 413 */
    WAPI_R_UNSUPPORTED, /* media type or encoding: 415 */
    WAPI_R_NOT_READY,   /* 503 while the database opens */
    WAPI_R_INTERNAL,    /* 5xx */
    WAPI_N_REASON
};
extern const char *const wapi_proto_names[WAPI_N_PROTO];
extern const char *const wapi_reason_names[WAPI_N_REASON];

/* Commit latency histogram bucket bounds, seconds (+Inf implied). */
#define WAPI_N_BUCKETS 14
extern const double wapi_buckets[WAPI_N_BUCKETS];

typedef struct wapi_work wapi_work;

typedef struct wapi_ctx {
    _Atomic(cairn_db *) db; /* NULL until ready */
    ingest_opts iopts;      /* template; now/default_t are set per request */
    /* metadata store */
    pthread_mutex_t meta_mu;
    ingest_meta_list meta;
    /* counters */
    atomic_uint_fast64_t received[WAPI_N_PROTO];  /* samples or lines committed */
    atomic_uint_fast64_t requests[WAPI_N_PROTO];  /* requests committed */
    atomic_uint_fast64_t rejected[WAPI_N_PROTO][WAPI_N_REASON];
    atomic_uint_fast64_t commit_hist[WAPI_N_BUCKETS + 1];
    atomic_uint_fast64_t commit_ns_sum;
    atomic_uint_fast64_t commit_count;
    /* pool of work areas */
    pthread_mutex_t pool_mu;
    wapi_work *pool;
} wapi_ctx;

/* Set up `c` with the ingest defaults (`iopts` may be NULL). @return CAIRN_OK or CAIRN_ENOMEM. */
int wapi_init(wapi_ctx *c, const ingest_opts *iopts);
/* Free the pool and metadata. The database is not closed here. */
void wapi_free(wapi_ctx *c);
/* Publish the open database: the endpoints start accepting writes. */
void wapi_set_db(wapi_ctx *c, cairn_db *db);
/* Register every write endpoint in `t`. */
int wapi_routes(wapi_ctx *c, route_table *t);

/*
 * The HTTP status for a decoder or commit code, and the reason it is counted
 * under. `from_commit` distinguishes a commit's CAIRN_ELIMIT (a series or line
 * limit: 400) from a decoder's (body too large: 413).
 */
unsigned wapi_status(int code, int from_commit, int *reason);

/* Merge `l` into the metadata store (thread-safe). @return CAIRN_OK or CAIRN_ENOMEM. */
int wapi_meta_merge(wapi_ctx *c, const ingest_meta_list *l);
/*
 * Call fn for each metadata entry under the store's lock (fn must not call
 * back into the store). @return the number of entries visited.
 */
size_t wapi_meta_foreach(wapi_ctx *c, void (*fn)(void *arg, const ingest_meta *m), void *arg);
#endif
