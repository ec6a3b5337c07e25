/*
 * prom_api — papi_: the Prometheus HTTP query API (/api/v1/query, …) and
 * the request plumbing the Loki API (loki_api.h) shares with it: merged
 * query-string and form parameters, time and duration parsing, selector
 * parsing for match[], the concurrency gate, error envelopes.
 *
 * The context (papi_ctx) is shared by every pool thread. It borrows the write
 * API's context for the database handle (NULL until the database is open:
 * every query endpoint then answers 503) and the metadata store. Limits are
 * set once at start; counters are relaxed atomics.
 *
 * Status codes and errorType values come from one table (papi_code_status),
 * per shared/docs/api-contract.md A.3.
 */
#ifndef CAIRN_PROM_API_H
#define CAIRN_PROM_API_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "cairn.h"
#include "http.h"
#include "json.h"
#include "push_api.h"
#include "routes.h"

/* Defaults of the limits that are not cairn_query_opts' (docs/limits.md). */
#define PAPI_DEFAULT_MAX_BYTES_TOTAL (512ull * 1024 * 1024)
#define PAPI_DEFAULT_MAX_RESPONSE_BYTES (64ull * 1024 * 1024)

/* A flag of `cairn serve` as /api/v1/status/flags reports it. */
typedef struct papi_flag {
    const char *name, *value; /* borrowed (argv or literals) */
} papi_flag;

typedef struct papi_ctx {
    wapi_ctx *w;              /* borrowed: database handle and metadata store */
    const char *data_dir;     /* borrowed */
    int64_t started_unix;     /* seconds */
    /* limits (0 = unlimited unless noted) */
    int64_t timeout_ms;       /* --query-timeout: default and cap of `timeout`. Default 2 min */
    uint64_t max_samples;     /* --query-max-samples. Default 50 000 000 */
    uint64_t max_series;      /* --query-max-series (PromQL selection). Default 100 000 */
    int max_series_set;       /* 1 when the flag was given: it then also replaces Loki's max_query_series (500) */
    unsigned max_concurrency; /* --query-max-concurrency; excess queries wait in the queue. Default: the CPUs */
    unsigned max_queue;       /* --query-max-queue: queries waiting for a slot; beyond → 503. Default 4 x CPUs */
    unsigned http_threads;    /* the HTTP pool's size; 0 = unknown. A query waits only while one thread stays free */
    uint64_t max_bytes;       /* --query-max-bytes: memory of one query. Default 256 MiB */
    uint64_t max_bytes_total; /* --query-max-bytes-total: memory of all running queries. Default 512 MiB */
    uint64_t max_response_bytes; /* --query-max-response-bytes: a query's JSON answer. Default 64 MiB */
    unsigned max_loki_limit;  /* largest Loki `limit` accepted. Default 5000 */
    const route_table *routes;/* borrowed, for the status page */
    papi_flag flags[24];
    size_t n_flags;
    /* state */
    cairn_query_budget *budget;          /* owned: the max_bytes_total budget every query draws from */
    pthread_mutex_t gate_mu;             /* guards the queue: running (writes), waiting */
    pthread_cond_t gate_cv;              /* signalled when a query leaves the gate */
    unsigned waiting;                    /* queries in the queue */
    atomic_uint running;                 /* queries in the gate */
    atomic_uint_fast64_t n_queries;      /* gated requests admitted */
    atomic_uint_fast64_t n_rejected_busy;/* 503s from the gate */
} papi_ctx;

/* Defaults above; `w` borrowed. Release with papi_free(). @return CAIRN_OK or CAIRN_ENOMEM. */
int papi_init(papi_ctx *c, wapi_ctx *w);
/* Free what papi_init() allocated (the shared memory budget). */
void papi_free(papi_ctx *c);
/* Set the shared query memory budget to max_bytes_total (after flags changed it). */
void papi_apply_limits(papi_ctx *c);
/* Register every Prometheus query endpoint in `t`. @return CAIRN_OK or CAIRN_ENOMEM. */
int papi_routes(papi_ctx *c, route_table *t);

/* ==== Request plumbing shared with loki_api ========================================= */

typedef struct papi_kv {
    const char *k, *v;
} papi_kv;

/* Per-request parameters: body (form) first, then the query string, as Go's FormValue. */
typedef struct papi_req {
    http_req *http;
    arena *ar;   /* owns the decoded parameters and any scratch of the handler */
    papi_kv *kv;
    size_t n, cap;
} papi_req;

/*
 * Collect parameters of `r`: a POST body is form-decoded when its media type
 * is application/x-www-form-urlencoded or absent. @return CAIRN_OK or
 * CAIRN_ENOMEM. Free with papi_req_free() (also after a failure).
 */
int papi_req_init(papi_req *q, http_req *r);
void papi_req_free(papi_req *q);
/* First value of `name`, or NULL. Empty values count as absent (as Go's FormValue == ""). */
const char *papi_arg(const papi_req *q, const char *name_z);
/* Every value of `name` (match[]): fills at most cap pointers, returns the total count. */
size_t papi_arg_all(const papi_req *q, const char *name_z, const char **out, size_t cap);
/* Decode one x-www-form-urlencoded body into q (exposed for tests). */
int papi_form_decode(papi_req *q, const char *s, size_t n);

/*
 * Prometheus timestamp parameter: float Unix seconds (rounded to ms), RFC 3339
 * (with optional fraction and zone), or Go's min/max time strings.
 * @return 0, or -1 when unparsable or out of range.
 */
int papi_parse_time(const char *s, int64_t *t_ms);
/* RFC 3339 to Unix nanoseconds split in seconds + ns. @return 0 or -1. */
int papi_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec);
/* Duration parameter: float seconds or a Prometheus duration ("1m0s"). In ms, truncated. @return 0 or -1. */
int papi_parse_duration(const char *s, int64_t *ms);
/* A non-negative integer parameter (limit). @return 0 or -1. */
int papi_parse_uint(const char *s, uint64_t *v);
/* Decode a Prometheus "U__" escaped label name into dst (cap bytes). @return length, or -1. */
long papi_unescape_name(const char *s, char *dst, size_t cap);

/*
 * Parse `text` as a PromQL vector selector (lang CAIRN_LANG_PROMQL) or a
 * LogQL stream selector (CAIRN_LANG_LOGQL) into matchers allocated in `ar`.
 * @return CAIRN_OK, CAIRN_EPARSE (err says where), CAIRN_EINVAL (not a bare
 *         selector), CAIRN_ENOMEM.
 */
int papi_selector(arena *ar, int lang, const char *text, cairn_matcher **m, size_t *n_m, cairn_err *err);

/* Map a cairn code to an HTTP status and a Prometheus errorType. */
unsigned papi_code_status(int code, const char **error_type);

/*
 * Concurrency gate: 1 if the query may run (call papi_gate_leave after).
 * When max_concurrency queries already run the request waits in a queue of
 * at most max_queue for up to `wait_ms` (its deadline; 0: the server's
 * query timeout), as Prometheus' engine waits on its gate. 0 after
 * answering: 503 + Retry-After when the queue is full, and when the wait
 * passed the deadline Prometheus' "query timed out in query queue" (503
 * timeout; 504 for Loki). JSON envelope when `loki` is 0, plain text
 * otherwise. *waited_ms (optional) receives the time spent queued.
 */
int papi_gate_enter_wait(papi_ctx *c, http_req *r, int loki, int64_t wait_ms, int64_t *waited_ms);
/* papi_gate_enter_wait() with the server's query timeout. */
int papi_gate_enter(papi_ctx *c, http_req *r, int loki);
void papi_gate_leave(papi_ctx *c);

/* The open database, or NULL after answering 503 (envelope or plain text). */
cairn_db *papi_db(papi_ctx *c, http_req *r, int loki);

/* Send the writer's buffer (takes it) as application/json with `status`. */
void papi_send(http_req *r, jw *w, unsigned status);
/* A Prometheus error envelope. */
void papi_error(http_req *r, unsigned status, const char *error_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Open a success envelope: {"status":"success","data": — the caller writes data and calls papi_end. */
void papi_begin(jw *w);
/* Close the envelope (with "warnings" when `warning` is not NULL) and send 200. */
void papi_end(http_req *r, jw *w, const char *warning);

/* Now, in ms / ns of the wall clock. */
int64_t papi_now_ms(void);

/* One selected series: labels borrowed from the series set that produced it. */
typedef struct papi_sref {
    uint64_t id;
    const cairn_label *ls;
    size_t n;
} papi_sref;

/* The union of several selections (the match[] parameters of /series). */
typedef struct papi_union {
    cairn_series_set **sets; /* open, so that the labels in v stay valid */
    size_t n_sets;
    papi_sref *v; /* sorted by labels; each id once */
    size_t n, cap;
} papi_union;

/*
 * Select the series (or streams) of `kind` matching any of the `count`
 * matcher lists over [start, end], sorted by labels without duplicates.
 * @return CAIRN_OK or the first cairn_select error (err says what).
 * Free with papi_union_free() in every case.
 */
int papi_union_select(cairn_db *db, int kind, cairn_matcher *const *m, const size_t *n_m, size_t count, int64_t start,
                      int64_t end, papi_union *u, cairn_err *err);
void papi_union_free(papi_union *u);
#endif
