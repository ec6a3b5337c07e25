/*
 * http — cairn's HTTP server: the libmicrohttpd daemon, per-request state and
 * body accumulation. This module is the only includer of microhttpd.h; the
 * handlers above it see an opaque http_req and a handful of accessors.
 *
 * Contract:
 * - A handler (route.fn) is called once per request, on one of the daemon's
 *   pool threads, after the whole body has arrived and been decoded from
 *   gzip/deflate when the route allows it. It must answer exactly once with
 *   one of the http_respond* calls; a handler that returns without answering
 *   gets a 500 ("handler did not answer"), which is a bug.
 * - Bodies are bounded by http_opts.max_body_bytes before and after gzip
 *   (413 with a message); unsupported Content-Encodings are 415.
 * - Before any handler runs, the path, the query string and the form body
 *   of a query route (GET and POST) are valid UTF-8 without NUL bytes, else
 *   the request got a 400 naming the parameter (http_opts.param_error); a
 *   request with ambiguous framing (Content-Length with Transfer-Encoding,
 *   two lengths, a coding other than chunked) or HTTP/1.1 without Host got a
 *   400 and its connection closed. docs/limits.md, "HTTP".
 * - Connections: at most max_conns, max_conns_per_ip from one address; the
 *   request line and headers must arrive within header_timeout_s.
 * - Handlers may block (a commit waits for its group fsync): the pool has
 *   n_threads threads, and each serves many connections.
 * - Thread safety: everything here may be called from any pool thread; an
 *   http_req belongs to the thread running its handler.
 */
#ifndef CAIRN_HTTP_H
#define CAIRN_HTTP_H
#include <stddef.h>
#include <stdint.h>

#include "routes.h"

typedef struct http_server http_server;
typedef struct http_req http_req; /* one request; accessors below */

typedef struct http_opts {
    const char *host;          /* numeric IPv4/IPv6 address, e.g. "127.0.0.1". Default "127.0.0.1" */
    uint16_t port;             /* 0 picks a free port (see http_port). Default 9490 */
    unsigned n_threads;        /* pool threads. Default max(4, nproc) */
    size_t max_body_bytes;     /* raw and gunzipped body cap. Default 64 MiB */
    unsigned idle_timeout_s;   /* close a connection idle this long; a keep-alive connection must also
                                  finish its next request line within it. Default 120 */
    unsigned header_timeout_s; /* a request's line and headers must be complete this long after the
                                  connection opened (first request) or its request line arrived
                                  (later ones); else the connection is closed. 0 = off. Default 10 */
    unsigned max_conns;        /* concurrent connections. Default 512 (Prometheus' --web.max-connections) */
    unsigned max_conns_per_ip; /* concurrent connections from one client address; 0 = no limit. Default 128 */
    size_t conn_memory_bytes;  /* libmicrohttpd per-connection pool; keep <= 32 KiB. Default 32 KiB */
    unsigned max_upgrades;     /* connections upgraded at once (WebSocket tails), each one thread; 0 = 16. Default 16 */
    const route_table *routes; /* borrowed; must outlive the server */
    /*
     * Answers a request whose parameters the HTTP layer rejected (NUL or
     * invalid UTF-8, see http_form_check) with status 400 and msg_z, in the
     * error format of the endpoint. NULL: a text/plain answer.
     */
    void (*param_error)(http_req *r, const char *msg_z);
} http_opts;

void http_opts_default(http_opts *o);

/*
 * Start listening and serving. @return CAIRN_OK, CAIRN_EINVAL (bad host),
 * CAIRN_EIO (bind failed: address in use; the message names it), CAIRN_ENOMEM.
 * `*out` is returned owned; stop it with http_stop().
 */
int http_start(const http_opts *o, http_server **out, cairn_err *err);
/* The port actually bound (useful with port 0). */
uint16_t http_port(const http_server *s);
/*
 * Graceful stop: stop accepting connections, answer 503 to requests that
 * begin from now on, wait up to `drain_ms` for requests in flight (whose
 * bodies are arriving or whose handlers run) to finish, then close every
 * connection and join the threads. http_stop(NULL, ...) does nothing.
 */
void http_stop(http_server *s, int64_t drain_ms);
/* Requests begun and not yet completed. */
uint64_t http_in_flight(const http_server *s);

/* ==== Request accessors (valid during the handler) ========================== */

const char *http_method(const http_req *r); /* "GET", "POST", ... */
const char *http_path(const http_req *r);   /* URL path, percent-decoded by libmicrohttpd */
const route *http_route(const http_req *r);
/* A request header (case-insensitive name), or NULL. */
const char *http_header(const http_req *r, const char *name_z);
/* A query-string argument, or NULL. */
const char *http_query_arg(const http_req *r, const char *name_z);
/*
 * Call fn for every query-string argument in the order sent, repeated keys
 * included (`match[]=a&match[]=b`); a key without '=' has value "".
 * Keys and values are percent- and '+'-decoded and valid during the handler.
 * @return the number of arguments visited.
 */
size_t http_query_args(const http_req *r, void (*fn)(void *ctx, const char *key_z, const char *value_z), void *ctx);
/* The body (gunzipped when the route allows gzip); len 0 for none. Borrowed. */
const uint8_t *http_body(const http_req *r, size_t *len);
/* The Content-Encoding the handler still has to undo: "" (identity/none) or e.g. "snappy". */
const char *http_body_encoding(const http_req *r);
/*
 * The media type of Content-Type, lower-cased, parameters stripped, into dst
 * ("" when absent). @return dst.
 */
const char *http_media_type(const http_req *r, char *dst, size_t cap);
/* The value of parameter `param_z` of Content-Type into dst, or NULL when absent. */
const char *http_media_param(const http_req *r, const char *param_z, char *dst, size_t cap);

/* ==== Answering ================================================================= */

/* Add a response header to the answer about to be sent (up to 8). Strings are copied. */
int http_set_header(http_req *r, const char *name_z, const char *value_z);
/* Answer with a copy of body. @return CAIRN_OK or CAIRN_ENOMEM (then a 500 went out instead, if possible). */
int http_respond(http_req *r, unsigned status, const char *content_type_z, const void *body, size_t len);
/*
 * Answer with `body` of `len` bytes inside an allocation of `cap` bytes from
 * mem_alloc: takes it (freed with mem_free(body, cap) once sent, on success
 * and on failure). No copy.
 */
int http_respond_take(http_req *r, unsigned status, const char *content_type_z, void *body, size_t len,
                      size_t cap);
/* Plain-text answer (text/plain; charset=utf-8) formatted with printf, newline appended. */
int http_respond_text(http_req *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Whether a response was queued already. */
int http_answered(const http_req *r);

/* ==== Connection upgrade (WebSocket) ============================================= */

/*
 * An upgraded connection: after the 101 went out, libmicrohttpd hands the
 * socket over and the connection leaves HTTP. Each one runs on its own
 * thread (at most http_opts.max_upgrades at once) so a handler may block on
 * it; the thread owns the socket until its function returns, and returning
 * closes the connection. http_stop() wakes every upgraded connection (their
 * http_upgraded_wait() returns -1) and waits for their threads before it
 * stops the daemon, so an upgraded function must return promptly then.
 */
typedef struct http_upgraded http_upgraded;
typedef void (*http_upgrade_fn)(http_upgraded *u, void *ctx);

/*
 * Answer 101 Switching Protocols with `Upgrade: <protocol_z>` and the
 * headers set with http_set_header(), then run fn(u, ctx) on a new thread.
 * Takes ctx: ctx_free(ctx) runs once fn has returned, or as soon as it is
 * known that fn never will (a client gone before the 101, a failed thread).
 * @return CAIRN_OK; CAIRN_ELIMIT when max_upgrades connections are upgraded
 *         already: nothing was sent, the caller answers (e.g. 429);
 *         CAIRN_ENOMEM / CAIRN_EIO after a 500 went out.
 */
int http_respond_upgrade(http_req *r, const char *protocol_z, http_upgrade_fn fn, void *ctx,
                         void (*ctx_free)(void *ctx));
/* The socket (blocking, with a 5 s send timeout). Read and write it; never close it. */
int http_upgraded_fd(const http_upgraded *u);
/* Bytes the client sent after the request that were read before the upgrade (borrowed; may be 0). */
const uint8_t *http_upgraded_extra(const http_upgraded *u, size_t *len);
/*
 * Wait up to timeout_ms for the socket to be readable.
 * @return 1 readable (or hung up: the next read says), 0 timed out,
 *         -1 the server is stopping (return from the upgrade function).
 */
int http_upgraded_wait(http_upgraded *u, int timeout_ms);
/* Upgraded connections open now. */
unsigned http_upgrades(const http_server *s);
/* Connections closed because their request headers missed the header deadline. */
uint64_t http_header_timeouts(const http_server *s);

/* ==== Parameter checks (pure; exposed for tests and fuzzing) ===================== */

/*
 * Every query string and form body goes through these before any handler
 * sees it: after percent-decoding ('+' is a space), each key and value must
 * be valid UTF-8 without NUL bytes (libmicrohttpd's decoded strings end at
 * the first NUL, so `query=1%00%2B1` would silently read as `1`).
 * `s` is the raw, still encoded text (borrowed, n bytes, no NUL needed).
 * @return 0 when valid; -1 with a message naming the parameter (or the
 * path) and the offending byte in msg (cap bytes, NUL-terminated).
 */
int http_form_check(const char *s, size_t n, char *msg, size_t cap);
/* The same for the path of a request target (before '?'; '+' stays '+'). */
int http_path_check(const char *s, size_t n, char *msg, size_t cap);
#endif
