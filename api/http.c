/*
 * http.c — the libmicrohttpd daemon and the life of one request.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * when the headers are in (upload size 0), once per piece of body, and once
 * more with upload size 0 when the body is complete. cairn answers on that
 * last call for every request, GETs included. Answering a GET on the first
 * call makes libmicrohttpd 0.9.75 send "Connection: close", and throughput
 * collapses from ~95 k to a few k requests/s on this kind of machine
 * (shared/docs/performance.md). The one exception is a body declared (by
 * Content-Length) larger than the limit: its 413 goes out at once and the
 * connection closes, so we never read 64 MiB only to throw it away.
 *
 * Request state (http_req) is allocated on the first call, carries the route,
 * an error decided early (404, 405, 413, 415, 503), the body buffer, and is
 * freed by the completion notifier, which also runs when a client hangs up
 * halfway. Chunked bodies need nothing special: libmicrohttpd de-chunks them
 * and we append what it hands us, with the limit checked before every append.
 * A body over the limit while streaming is drained and discarded, then
 * answered with 413 (libmicrohttpd cannot queue a response mid-upload).
 *
 * Content-Encoding: gzip, x-gzip and deflate are undone here (bounded by the
 * same limit after inflation, so a gzip bomb is a 413, not an OOM) for routes
 * with ROUTE_GZIP; "snappy" is left to the handler, because remote write and
 * Loki protobuf bodies are snappy blocks whether or not the header says so;
 * anything else is a 415 naming the encoding.
 *
 * Threads: the daemon runs a pool of n_threads threads, each with its own
 * epoll set and its share of connections; handlers run on them and may block
 * on a commit. The per-connection memory pool stays at 32 KiB: a larger one
 * makes libmicrohttpd map and zero a fresh pool per request. Bodies live in
 * our own buffers (mem_), never in that pool.
 *
 * Shutdown (http_stop): quiesce (close the listening socket's registration so
 * no new connection is accepted), answer 503 to requests that start from
 * then on, wake and wait for upgraded connections, wait for in-flight
 * requests (a bounded drain), then stop the daemon, which joins the
 * threads. A request in flight is one whose first callback ran and whose
 * completion notifier has not.
 *
 * Upgrades (WebSocket live tail). The daemon runs with MHD_ALLOW_UPGRADE;
 * a handler answers with http_respond_upgrade(), libmicrohttpd sends the
 * 101 and then calls on_upgrade() on its own event-loop thread, which must
 * not block. So on_upgrade only records the socket and starts a thread per
 * upgraded connection; that thread runs the handler's function, then gives
 * the socket back with MHD_UPGRADE_ACTION_CLOSE (libmicrohttpd, not we,
 * closes it) and finally decrements the server's upgrade count, its last
 * touch of shared state, which lets http_stop() wait on that count alone.
 * A slot is reserved when the 101 is queued, so the bound (max_upgrades)
 * holds before any thread exists; if the client vanishes before the 101 is
 * written, libmicrohttpd never calls on_upgrade and the completion notifier
 * releases the slot and the handler's context instead. Waking on shutdown
 * uses one eventfd per server, written once by http_stop() and polled by
 * every upgraded thread next to its socket.
 *
 * Hardening (docs/limits.md, "HTTP"). Parameters are checked once, here,
 * on the raw bytes: the URI callback sees the request target before
 * libmicrohttpd decodes it, and a path or query string whose decoded bytes
 * hold a NUL or invalid UTF-8 is a 400 naming the parameter (libmicrohttpd
 * hands out NUL-terminated strings, so `query=1%00%2B1` would otherwise read
 * as `1`); form bodies of query endpoints get the same check before their
 * handler runs. Requests that could be read two ways are refused with 400
 * and the connection closed: Content-Length together with Transfer-Encoding
 * (libmicrohttpd would take it as chunked: request smuggling behind a proxy
 * that takes the length), repeated Content-Length, a Transfer-Encoding
 * other than chunked, and HTTP/1.1 without Host. (libmicrohttpd's own
 * strict mode would reject the last one too, but its error path in 0.9.75
 * writes the response headers twice. A malformed Content-Length takes that
 * path before any callback; on_mhd_log() below answers it cleanly.)
 *
 * Connection limits are libmicrohttpd's (a global cap and a per-address
 * cap, so one client cannot take every slot). libmicrohttpd has only an
 * idle timeout, which a client sending one header byte per second never
 * hits, so the header deadline is ours: a connection-notify callback tracks
 * every connection with an absolute deadline (opened + header_timeout for the
 * first request; request line seen + header_timeout for later ones; request
 * done + idle_timeout until the next request line), the first access-handler
 * call clears it, and a watchdog thread shuts down (shutdown(2), never
 * close) the socket of a connection past its deadline, which libmicrohttpd
 * then sees as a hang-up and cleans up. The tracking list and its mutex are
 * touched once per connection open and close; the per-request deadline
 * updates are atomic stores. The socket stays valid while its entry is on
 * the list: libmicrohttpd calls the close notification before it closes
 * the socket, and that notification takes the list's mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "buf.h"
#include "err.h"
#include "http.h"
#include "ingest.h"
#include "mem.h"

#define HTTP_MAX_HEADERS 8

/* Where a connection is in its current request. */
enum { CONN_IDLE = 0, CONN_HEADERS = 1, CONN_REQUEST = 2 };

/* One TCP connection, for the header deadline and the request-line check. */
typedef struct http_conn {
    struct http_conn *prev, *next;
    int fd;
    pthread_t tid;                    /* the pool thread serving it (libmicrohttpd never moves a connection) */
    atomic_int phase;                 /* CONN_*: request line seen, headers done, or between requests */
    atomic_int_fast64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0 = none */
    char bad[200];                    /* 400 message for the current request's target; "" = fine */
} http_conn;

struct http_server {
    struct MHD_Daemon *d;
    http_opts o;
    route_table *routes;
    uint16_t port;
    atomic_int stopping;
    atomic_uint_fast64_t in_flight;
    atomic_uint n_upgrades; /* slots reserved: queued 101s and running upgraded threads */
    int stop_fd;            /* eventfd, readable once stopping */
    pthread_mutex_t conns_mu; /* guards the conns list (not the deadlines: atomics) */
    http_conn *conns;
    pthread_t watchdog;
    int watchdog_on;
    atomic_uint_fast64_t n_header_timeouts;
};

/* One upgraded connection (or one queued 101 that may become one). */
struct http_upgraded {
    http_server *srv;
    struct MHD_UpgradeResponseHandle *urh;
    int fd;
    uint8_t *extra;
    size_t extra_len;
    http_upgrade_fn fn;
    void *ctx;
    void (*ctx_free)(void *ctx);
};

struct http_req {
    http_server *srv;
    struct MHD_Connection *conn;
    const route *rt;
    const char *method, *path;
    buf body;    /* as received */
    buf decoded; /* gunzipped, when the route allows and the client sent gzip */
    const uint8_t *bp;
    size_t blen;
    const char *enc;  /* encoding left for the handler: "" or "snappy" */
    int gzip;         /* 1: gunzip before the handler */
    unsigned early;   /* status decided before the body arrived; 0 = none */
    int early_param;  /* early is a 400 for a parameter: answered through o.param_error */
    int early_close;  /* close the connection after the early answer */
    char early_msg[200];
    int answered;
    unsigned status;
    int n_hdr;
    char *hdr[HTTP_MAX_HEADERS][2];
    http_upgraded *up; /* a queued 101 whose upgrade has not started */
};

void http_opts_default(http_opts *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 9490;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->n_threads = n > 4 ? (unsigned)n : 4;
    o->max_body_bytes = 64u << 20;
    o->idle_timeout_s = 120;
    o->header_timeout_s = 10;
    o->max_conns = 512;
    o->max_conns_per_ip = 128;
    o->conn_memory_bytes = 32u << 10;
    o->max_upgrades = 16;
}

/* ==== Accessors ================================================================ */

const char *http_method(const http_req *r) { return r->method; }
const char *http_path(const http_req *r) { return r->path; }
const route *http_route(const http_req *r) { return r->rt; }
int http_answered(const http_req *r) { return r->answered; }

const char *http_header(const http_req *r, const char *name_z)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name_z);
}

const char *http_query_arg(const http_req *r, const char *name_z)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name_z);
}

typedef struct args_it {
    void (*fn)(void *ctx, const char *key_z, const char *value_z);
    void *ctx;
} args_it;

static enum MHD_Result args_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    args_it *it = cls;
    it->fn(it->ctx, key ? key : "", value ? value : "");
    return MHD_YES;
}

size_t http_query_args(const http_req *r, void (*fn)(void *ctx, const char *key_z, const char *value_z), void *ctx)
{
    args_it it = {fn, ctx};
    int n = MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, args_cb, &it);
    return n > 0 ? (size_t)n : 0;
}

const uint8_t *http_body(const http_req *r, size_t *len)
{
    *len = r->blen;
    return r->bp;
}

const char *http_body_encoding(const http_req *r) { return r->enc; }

static int is_space(char c) { return c == ' ' || c == '\t'; }

const char *http_media_type(const http_req *r, char *dst, size_t cap)
{
    const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t n = 0;
    if (ct) {
        while (is_space(*ct)) ct++;
        for (; *ct && *ct != ';' && n + 1 < cap; ct++)
            dst[n++] = (char)(*ct >= 'A' && *ct <= 'Z' ? *ct + 32 : *ct);
        while (n && is_space(dst[n - 1])) n--;
    }
    if (cap) dst[n] = 0;
    return dst;
}

const char *http_media_param(const http_req *r, const char *param_z, char *dst, size_t cap)
{
    const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t plen = strlen(param_z);
    if (!ct || !cap) return NULL;
    for (const char *p = strchr(ct, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (is_space(*q)) q++;
        if (strncasecmp(q, param_z, plen)) continue;
        q += plen;
        while (is_space(*q)) q++;
        if (*q != '=') continue;
        q++;
        while (is_space(*q)) q++;
        size_t n = 0;
        int quoted = *q == '"';
        if (quoted) q++;
        for (; *q && n + 1 < cap; q++) {
            if (quoted ? *q == '"' : (*q == ';' || is_space(*q))) break;
            dst[n++] = *q;
        }
        dst[n] = 0;
        return dst;
    }
    return NULL;
}

/* ==== Parameter checks ============================================================ */

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/*
 * Decode s[*i] (a %XX escape, '+' as a space when `plus`, or a literal byte,
 * as libmicrohttpd and papi_form_decode decode) and advance *i.
 */
static unsigned char dec_byte(const char *s, size_t n, size_t *i, int plus)
{
    size_t k = *i;
    if (s[k] == '%' && k + 2 < n && hexv(s[k + 1]) >= 0 && hexv(s[k + 2]) >= 0) {
        *i = k + 3;
        return (unsigned char)(hexv(s[k + 1]) << 4 | hexv(s[k + 2]));
    }
    *i = k + 1;
    return plus && s[k] == '+' ? ' ' : (unsigned char)s[k];
}

/*
 * Check the decoded bytes of s[0..n): UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF) without NUL.
 * @return -1 when valid, else the offset of the first bad byte in the decoded
 * text; *what says why.
 */
static long dec_check(const char *s, size_t n, int plus, const char **what)
{
    unsigned need = 0, lo = 0x80, hi = 0xBF;
    long at = 0, start = 0;
    for (size_t i = 0; i < n; at++) {
        unsigned char c = dec_byte(s, n, &i, plus);
        if (need) {
            if (c < lo || c > hi) return *what = "invalid UTF-8", start;
            lo = 0x80, hi = 0xBF;
            need--;
            continue;
        }
        start = at;
        if (c == 0) return *what = "a NUL byte", at;
        if (c < 0x80) continue;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) need = 2, lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
        else if (c == 0xED) need = 2, hi = 0x9F;
        else if (c == 0xF0) need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) need = 3, hi = 0x8F;
        else return *what = "invalid UTF-8", at;
    }
    if (need) return *what = "invalid UTF-8 (truncated sequence)", start;
    return -1;
}

/* The decoded s[0..n) for a message: printable ASCII kept, anything else '?', at most 60 bytes. */
static void dec_show(const char *s, size_t n, int plus, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap && o < 60;) {
        unsigned char c = dec_byte(s, n, &i, plus);
        dst[o++] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
    }
    if (cap) dst[o] = 0;
}

int http_form_check(const char *s, size_t n, char *msg, size_t cap)
{
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '&') j++;
        size_t eq = i;
        while (eq < j && s[eq] != '=') eq++;
        const char *what = NULL;
        char name[64];
        long at = dec_check(s + i, eq - i, 1, &what);
        if (at >= 0) {
            dec_show(s + i, eq - i, 1, name, sizeof name);
            snprintf(msg, cap, "invalid parameter name \"%s\": %s at byte %ld", name, what, at);
            return -1;
        }
        if (eq < j && (at = dec_check(s + eq + 1, j - eq - 1, 1, &what)) >= 0) {
            dec_show(s + i, eq - i, 1, name, sizeof name);
            snprintf(msg, cap, "invalid parameter \"%s\": %s at byte %ld of its value", name, what, at);
            return -1;
        }
        i = j + 1;
    }
    return 0;
}

int http_path_check(const char *s, size_t n, char *msg, size_t cap)
{
    const char *what = NULL;
    long at = dec_check(s, n, 0, &what);
    if (at < 0) return 0;
    char shown[64];
    dec_show(s, n, 0, shown, sizeof shown);
    snprintf(msg, cap, "invalid URL path \"%s\": %s at byte %ld", shown, what, at);
    return -1;
}

/* ==== Answering ================================================================== */

int http_set_header(http_req *r, const char *name_z, const char *value_z)
{
    if (r->n_hdr == HTTP_MAX_HEADERS) return CAIRN_ELIMIT;
    char *n = mem_strndup(name_z, strlen(name_z));
    char *v = mem_strndup(value_z, strlen(value_z));
    if (!n || !v) {
        if (n) mem_free(n, strlen(n) + 1);
        if (v) mem_free(v, strlen(v) + 1);
        return CAIRN_ENOMEM;
    }
    r->hdr[r->n_hdr][0] = n;
    r->hdr[r->n_hdr][1] = v;
    r->n_hdr++;
    return CAIRN_OK;
}

static void free_headers(http_req *r)
{
    for (int i = 0; i < r->n_hdr; i++) {
        mem_free(r->hdr[i][0], strlen(r->hdr[i][0]) + 1);
        mem_free(r->hdr[i][1], strlen(r->hdr[i][1]) + 1);
    }
    r->n_hdr = 0;
}

/* Queue `resp` (taken) with our headers; counts the request. */
static int queue(http_req *r, unsigned status, const char *ctype, struct MHD_Response *resp)
{
    if (!resp) return CAIRN_ENOMEM;
    if (ctype && *ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    for (int i = 0; i < r->n_hdr; i++) MHD_add_response_header(resp, r->hdr[i][0], r->hdr[i][1]);
    free_headers(r);
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->answered = 1;
    r->status = status;
    route_count(r->rt ? r->rt : &r->srv->routes->none, status);
    return ok == MHD_YES ? CAIRN_OK : CAIRN_EIO;
}

int http_respond(http_req *r, unsigned status, const char *ctype, const void *body, size_t len)
{
    if (r->answered) return CAIRN_EINVAL;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        queue(r, 500, NULL, resp);
        return CAIRN_ENOMEM;
    }
    return queue(r, status, ctype, resp);
}

typedef struct taken {
    void *p;
    size_t cap;
} taken;

static void free_taken(void *cls)
{
    taken *t = cls;
    mem_free(t->p, t->cap);
    mem_free(t, sizeof *t);
}

int http_respond_take(http_req *r, unsigned status, const char *ctype, void *body, size_t len, size_t cap)
{
    if (r->answered) {
        mem_free(body, cap);
        return CAIRN_EINVAL;
    }
    taken *t = mem_alloc(sizeof *t);
    if (!t) {
        mem_free(body, cap);
        return http_respond(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14), CAIRN_ENOMEM;
    }
    t->p = body;
    t->cap = cap;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(len, body, free_taken, t);
    if (!resp) {
        free_taken(t);
        return http_respond(r, 500, "text/plain; charset=utf-8", "out of memory\n", 14), CAIRN_ENOMEM;
    }
    return queue(r, status, ctype, resp);
}

int http_respond_text(http_req *r, unsigned status, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof small - 1) {
        small[n++] = '\n';
        return http_respond(r, status, "text/plain; charset=utf-8", small, (size_t)n);
    }
    size_t cap = (size_t)n + 2;
    char *p = mem_alloc(cap);
    if (!p) return http_respond(r, status, "text/plain; charset=utf-8", small, sizeof small - 1);
    va_start(ap, fmt);
    vsnprintf(p, cap, fmt, ap);
    va_end(ap);
    p[n] = '\n';
    return http_respond_take(r, status, "text/plain; charset=utf-8", p, (size_t)n + 1, cap);
}

/* ==== Upgrades ==================================================================== */

static void up_release(http_upgraded *u)
{
    http_server *s = u->srv;
    if (u->ctx_free) u->ctx_free(u->ctx);
    mem_free(u->extra, u->extra_len);
    mem_free(u, sizeof *u);
    atomic_fetch_sub(&s->n_upgrades, 1); /* last touch of the server: http_stop waits on this count */
}

static void *up_thread(void *arg)
{
    http_upgraded *u = arg;
    u->fn(u, u->ctx);
    MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
    up_release(u);
    return NULL;
}

/* libmicrohttpd's event-loop thread, right after the 101 was written: must not block. */
static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    http_upgraded *u = cls;
    http_req *r = con_cls;
    if (r && r->up == u) r->up = NULL; /* from now on the thread (or the failure path below) owns u */
    u->urh = urh;
    u->fd = sock;
    int fl = fcntl(sock, F_GETFL);
    if (fl >= 0) fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {5, 0};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (extra_in_size) {
        u->extra = mem_alloc(extra_in_size);
        if (u->extra) {
            memcpy(u->extra, extra_in, extra_in_size);
            u->extra_len = extra_in_size;
        }
    }
    pthread_t th;
    pthread_attr_t at;
    int ok = (!extra_in_size || u->extra) && !pthread_attr_init(&at);
    if (ok) {
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        ok = !pthread_create(&th, &at, up_thread, u);
        pthread_attr_destroy(&at);
    }
    if (!ok) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        up_release(u);
    }
}

int http_respond_upgrade(http_req *r, const char *protocol_z, http_upgrade_fn fn, void *ctx,
                         void (*ctx_free)(void *ctx))
{
    http_server *s = r->srv;
    unsigned max = s->o.max_upgrades ? s->o.max_upgrades : 16;
    if (r->answered || atomic_fetch_add(&s->n_upgrades, 1) >= max || atomic_load(&s->stopping)) {
        if (!r->answered) atomic_fetch_sub(&s->n_upgrades, 1);
        if (ctx_free) ctx_free(ctx);
        return r->answered ? CAIRN_EINVAL : CAIRN_ELIMIT;
    }
    http_upgraded *u = mem_calloc(1, sizeof *u);
    struct MHD_Response *resp = u ? MHD_create_response_for_upgrade(on_upgrade, u) : NULL;
    if (!resp) {
        if (u) mem_free(u, sizeof *u);
        if (ctx_free) ctx_free(ctx);
        atomic_fetch_sub(&s->n_upgrades, 1);
        http_respond_text(r, 500, "out of memory");
        return CAIRN_ENOMEM;
    }
    u->srv = s;
    u->fd = -1;
    u->fn = fn;
    u->ctx = ctx;
    u->ctx_free = ctx_free;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, protocol_z);
    r->up = u;
    int rc = queue(r, MHD_HTTP_SWITCHING_PROTOCOLS, NULL, resp);
    if (rc && r->up) {
        /* not queued: on_upgrade will never run */
        r->up = NULL;
        up_release(u);
        r->answered = 0;
        http_respond_text(r, 500, "cannot switch protocols on this connection");
    }
    return rc;
}

int http_upgraded_fd(const http_upgraded *u) { return u->fd; }

const uint8_t *http_upgraded_extra(const http_upgraded *u, size_t *len)
{
    *len = u->extra_len;
    return u->extra;
}

int http_upgraded_wait(http_upgraded *u, int timeout_ms)
{
    if (atomic_load(&u->srv->stopping)) return -1;
    struct pollfd p[2] = {{.fd = u->fd, .events = POLLIN}, {.fd = u->srv->stop_fd, .events = POLLIN}};
    int n = poll(p, 2, timeout_ms);
    if (atomic_load(&u->srv->stopping) || (n > 0 && p[1].revents)) return -1;
    if (n < 0) return errno == EINTR ? 0 : 1;
    return n > 0 ? 1 : 0;
}

unsigned http_upgrades(const http_server *s) { return atomic_load(&((http_server *)s)->n_upgrades); }

/* ==== Connections: the header deadline =========================================== */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static http_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Arm (secs > 0) or clear (secs == 0) the deadline of a connection. */
static void conn_deadline(http_conn *c, unsigned secs)
{
    if (c) atomic_store(&c->deadline_ms, secs ? mono_ms() + (int64_t)secs * 1000 : 0);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        http_conn *c = ci ? mem_calloc(1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c) { /* cannot track it (out of memory): no deadline and no target check, so refuse it */
            if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
            return;
        }
        c->fd = ci->connect_fd;
        c->tid = pthread_self();
        conn_deadline(c, s->o.header_timeout_s);
        pthread_mutex_lock(&s->conns_mu);
        c->next = s->conns;
        if (s->conns) s->conns->prev = c;
        s->conns = c;
        pthread_mutex_unlock(&s->conns_mu);
        return;
    }
    http_conn *c = *socket_context;
    if (!c) return;
    pthread_mutex_lock(&s->conns_mu);
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&s->conns_mu);
    mem_free(c, sizeof *c);
    *socket_context = NULL;
}

/* Closes connections past their deadline, ten times a second, until the server stops. */
static void *watchdog_thread(void *arg)
{
    http_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};
        poll(&p, 1, 100);
        int64_t now = mono_ms();
        pthread_mutex_lock(&s->conns_mu);
        for (http_conn *c = s->conns; c; c = c->next) {
            int_fast64_t d = atomic_load(&c->deadline_ms);
            if (d && now >= d && atomic_compare_exchange_strong(&c->deadline_ms, &d, 0)) {
                atomic_fetch_add(&s->n_header_timeouts, 1); /* first: the client may look as soon as it sees EOF */
                shutdown(c->fd, SHUT_RDWR);                  /* libmicrohttpd sees the hang-up and closes it */
            }
        }
        pthread_mutex_unlock(&s->conns_mu);
    }
    return NULL;
}

uint64_t http_header_timeouts(const http_server *s) { return atomic_load(&((http_server *)s)->n_header_timeouts); }

/* The request line is in (libmicrohttpd has not decoded it yet): check the raw target. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_server *s = cls;
    http_conn *c = conn_of(conn);
    if (!c) return NULL;
    conn_deadline(c, s->o.header_timeout_s);
    atomic_store(&c->phase, CONN_HEADERS);
    c->bad[0] = 0;
    size_t n = strlen(uri);
    const char *q = memchr(uri, '?', n);
    size_t pn = q ? (size_t)(q - uri) : n;
    if (http_path_check(uri, pn, c->bad, sizeof c->bad) == 0 && q)
        http_form_check(q + 1, n - pn - 1, c->bad, sizeof c->bad);
    return NULL;
}

/* ==== The request life cycle ===================================================== */

static void set_early(http_req *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_early(http_req *r, unsigned status, const char *fmt, ...)
{
    if (r->early) return;
    r->early = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->early_msg, sizeof r->early_msg, fmt, ap);
    va_end(ap);
}

static void allow_header(http_req *r)
{
    char a[40] = "";
    unsigned m = r->rt->methods;
    if (m & ROUTE_GET) strcat(a, "GET, ");
    if (m & ROUTE_HEAD) strcat(a, "HEAD, ");
    if (m & ROUTE_POST) strcat(a, "POST, ");
    if (m & ROUTE_PUT) strcat(a, "PUT, ");
    size_t n = strlen(a);
    if (n >= 2) a[n - 2] = 0;
    http_set_header(r, "Allow", a);
}

typedef struct hdr_count {
    int n_cl, n_te;
} hdr_count;

static enum MHD_Result count_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    hdr_count *h = cls;
    if (key && !strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) h->n_cl++;
    if (key && !strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) h->n_te++;
    return MHD_YES;
}

/*
 * Framing and target checks that hold for every route: requests a proxy in
 * front could read differently are refused and their connection closed.
 */
static void check_request(http_req *r, const char *version)
{
    hdr_count h = {0, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_cb, &h);
    const char *te = http_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    r->early_close = 1;
    if (h.n_te && h.n_cl)
        set_early(r, 400, "a request may not have both Content-Length and Transfer-Encoding");
    else if (h.n_cl > 1) set_early(r, 400, "a request may have only one Content-Length header");
    else if (h.n_te > 1 || (te && strcasecmp(te, "chunked")))
        set_early(r, 400, "unsupported Transfer-Encoding (only a single \"chunked\" is accepted)");
    else if (!strncmp(version, "HTTP/1.", 7) && version[7] >= '1' && version[7] <= '9' &&
             !http_header(r, MHD_HTTP_HEADER_HOST))
        set_early(r, 400, "an HTTP/1.1 request needs a Host header");
    else r->early_close = 0;
    if (r->early) return;
    http_conn *c = conn_of(r->conn);
    if (c && c->bad[0]) {
        set_early(r, 400, "%s", c->bad);
        r->early_param = 1;
    }
}

/* Decide what the headers alone tell: route, method, size, encoding. */
static void classify(http_req *r, const char *version)
{
    http_server *s = r->srv;
    if (atomic_load(&s->stopping)) {
        set_early(r, 503, "shutting down");
        return;
    }
    check_request(r, version);
    if (r->early) return;
    if (!r->rt) {
        set_early(r, 404, "404 page not found: %.150s", r->path);
        return;
    }
    unsigned bit = route_method_bit(r->method);
    if (!(bit & r->rt->methods) && !(bit == ROUTE_HEAD && (r->rt->methods & ROUTE_GET))) {
        allow_header(r);
        set_early(r, 405, "method %.16s not allowed on %.150s", r->method, r->path);
        return;
    }
    if (!(r->rt->flags & ROUTE_BODY)) return;
    const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        unsigned long long n = strtoull(cl, NULL, 10);
        if (n > s->o.max_body_bytes) {
            set_early(r, 413, "request body of %llu bytes exceeds the limit of %zu bytes", n, s->o.max_body_bytes);
            return;
        }
        if (n && buf_reserve(&r->body, (size_t)n)) {
            set_early(r, 500, "out of memory for a body of %llu bytes", n);
            return;
        }
    }
    const char *ce = http_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
    while (ce && is_space(*ce)) ce++;
    if (!ce || !*ce || !strcasecmp(ce, "identity")) {
        r->enc = "";
    } else if (!strcasecmp(ce, "snappy")) {
        r->enc = "snappy";
    } else if (!strcasecmp(ce, "gzip") || !strcasecmp(ce, "x-gzip") || !strcasecmp(ce, "deflate")) {
        if (r->rt->flags & ROUTE_GZIP) r->gzip = 1, r->enc = "";
        else set_early(r, 415, "Content-Encoding %.40s is not supported on %.100s", ce, r->path);
    } else {
        set_early(r, 415, "unsupported Content-Encoding %.60s", ce);
    }
}

static void answer_param_error(http_req *r, const char *msg)
{
    if (r->srv->o.param_error) r->srv->o.param_error(r, msg);
    if (!r->answered) http_respond_text(r, 400, "%s", msg);
}

/* The answer decided from the headers alone. */
static void answer_early(http_req *r)
{
    if (r->early_close) http_set_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (r->early_param) answer_param_error(r, r->early_msg);
    else http_respond_text(r, r->early, "%s", r->early_msg);
}

static void run_handler(http_req *r)
{
    r->bp = r->body.p;
    r->blen = r->body.len;
    if (r->gzip && r->blen) {
        cairn_err e;
        int rc = ingest_gunzip(r->bp, r->blen, r->srv->o.max_body_bytes, &r->decoded, &e);
        if (rc == CAIRN_ELIMIT) {
            http_respond_text(r, 413, "%s", e.msg);
            return;
        }
        if (rc == CAIRN_ENOMEM) {
            http_respond_text(r, 500, "out of memory while inflating the body");
            return;
        }
        if (rc) {
            http_respond_text(r, 400, "%s", e.msg);
            return;
        }
        r->bp = r->decoded.p;
        r->blen = r->decoded.len;
        /* the compressed copy is no longer needed; give big ones back now */
        buf_free(&r->body);
    }
    if (!r->bp) r->bp = (const uint8_t *)"";
    if (!strcmp(r->method, "POST") && (r->rt->methods & ROUTE_GET) && r->blen) {
        /* a query endpoint: its body is a form (papi_req_init reads it), checked like a query string */
        char mt[64], msg[200];
        http_media_type(r, mt, sizeof mt);
        if ((!mt[0] || !strcmp(mt, "application/x-www-form-urlencoded")) &&
            http_form_check((const char *)r->bp, r->blen, msg, sizeof msg)) {
            answer_param_error(r, msg);
            return;
        }
    }
    r->rt->fn(r, r->rt->ctx);
    if (!r->answered) http_respond_text(r, 500, "internal error: handler for %s did not answer", r->path);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = mem_calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->enc = "";
        buf_init(&r->body);
        buf_init(&r->decoded);
        r->rt = route_find(s->routes, url);
        atomic_fetch_add(&s->in_flight, 1);
        *con_cls = r;
        http_conn *hc = conn_of(conn);
        conn_deadline(hc, 0); /* the headers are in */
        if (hc) atomic_store(&hc->phase, CONN_REQUEST);
        classify(r, version ? version : "");
        if (r->early == 413 || r->early_close) {
            /* declared too large, or ambiguous: answer now, before any body; the connection closes after it */
            answer_early(r);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->answered && !r->early && (r->rt->flags & ROUTE_BODY)) {
            if (*upload_size > s->o.max_body_bytes - r->body.len) {
                set_early(r, 413, "request body exceeds the limit of %zu bytes", s->o.max_body_bytes);
                buf_free(&r->body);
            } else if (buf_put(&r->body, upload_data, *upload_size)) {
                set_early(r, 500, "out of memory while reading the body");
                buf_free(&r->body);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->answered) return MHD_YES;
    if (r->early) answer_early(r);
    else run_handler(r);
    return r->answered ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_req *r = *con_cls;
    /* keep-alive: the next request line must arrive within the idle timeout (absolute, unlike libmicrohttpd's) */
    http_conn *hc = conn_of(conn);
    if (hc) atomic_store(&hc->phase, CONN_IDLE);
    if (s->o.header_timeout_s && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !(r && r->status == 101))
        conn_deadline(hc, s->o.idle_timeout_s);
    if (!r) return;
    if (r->up) { /* a 101 was queued but never written: the upgrade will not happen */
        up_release(r->up);
        r->up = NULL;
    }
    free_headers(r);
    buf_free(&r->body);
    buf_free(&r->decoded);
    mem_free(r, sizeof *r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

/*
 * libmicrohttpd 0.9.75 answers requests it cannot parse (a malformed or
 * huge Content-Length, header lines too long for the pool, a broken header
 * line) itself, before any callback, and that path writes its header block
 * twice (transmit_error_response_len builds the headers, then the state
 * machine builds them again), so the client reads headers as body. The only
 * hook on that path is the log line it writes first. When it fires for a
 * connection of this thread that is between its request line and the end
 * of its headers, and exactly one connection of this thread is there (so it
 * is the one), we write one clean answer on its socket ourselves and shut
 * the socket: libmicrohttpd's doubled answer then fails to send and it
 * closes the connection, as it meant to. Otherwise libmicrohttpd's answer
 * goes out unchanged. mhd_last_fmt is the line logged before, which says why.
 */
static _Thread_local const char *mhd_last_fmt;

static void answer_mhd_error(http_server *s, unsigned status, const char *why_fmt)
{
    char why[120];
    snprintf(why, sizeof why, "%s",
             status == 431   ? "request header fields too large"
             : status == 414 ? "request line too long"
             : status == 413 ? "request too large"
                             : "malformed request");
    if (why_fmt && !strchr(why_fmt, '%')) {
        snprintf(why, sizeof why, "%s", why_fmt);
        char *cut = strstr(why, " Closing connection.");
        if (cut) *cut = 0;
        size_t n = strlen(why);
        while (n && (why[n - 1] == '\n' || why[n - 1] == ' ')) why[--n] = 0;
    }
    const char *reason = status == 400   ? "Bad Request"
                         : status == 413 ? "Content Too Large"
                         : status == 414 ? "URI Too Long"
                         : status == 431 ? "Request Header Fields Too Large"
                                         : "Error";
    char out[400];
    size_t body_len = strlen(why) + 1;
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\n\r\n%s\n",
                     status, reason, body_len, why);
    if (n <= 0 || (size_t)n >= sizeof out) return;
    pthread_t self = pthread_self();
    pthread_mutex_lock(&s->conns_mu);
    http_conn *hit = NULL;
    int n_hit = 0;
    for (http_conn *c = s->conns; c; c = c->next)
        if (pthread_equal(c->tid, self) && atomic_load(&c->phase) == CONN_HEADERS) hit = c, n_hit++;
    if (n_hit == 1) {
        if (send(hit->fd, out, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) shutdown(hit->fd, SHUT_RDWR);
        atomic_store(&hit->phase, CONN_IDLE);
    }
    pthread_mutex_unlock(&s->conns_mu);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    va_list cp;
    va_copy(cp, ap);
    fputs("cairn: http: ", stderr);
    vfprintf(stderr, fmt, ap);
    static const char err_fmt[] = "Error processing request (HTTP response code is %u";
    if (s && !strncmp(fmt, err_fmt, sizeof err_fmt - 1)) answer_mhd_error(s, va_arg(cp, unsigned), mhd_last_fmt);
    va_end(cp);
    mhd_last_fmt = fmt;
}

int http_start(const http_opts *o, http_server **out, cairn_err *err)
{
    *out = NULL;
    if (!o->routes) return err_set(err, CAIRN_EINVAL, "http: no routing table");
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned fam_flag = 0;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, o->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(o->port);
    } else if (inet_pton(AF_INET6, o->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(o->port);
        fam_flag = MHD_USE_IPv6;
    } else {
        return err_set(err, CAIRN_EINVAL, "http: listen address \"%s\" is not a numeric IPv4 or IPv6 address",
                       o->host);
    }
    http_server *s = mem_calloc(1, sizeof *s);
    if (!s) return err_set(err, CAIRN_ENOMEM, "http: out of memory");
    s->o = *o;
    s->routes = (route_table *)o->routes;
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->stop_fd < 0) {
        int e = errno;
        mem_free(s, sizeof *s);
        return err_sys(err, e, "http: eventfd: %s", strerror(e));
    }
    pthread_mutex_init(&s->conns_mu, NULL);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_UPGRADE | fam_flag;
    errno = 0;
    s->d = MHD_start_daemon(flags, o->port, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(o->n_threads ? o->n_threads : 1),
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->conn_memory_bytes,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)o->idle_timeout_s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)o->max_conns,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)o->max_conns_per_ip,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            (unsigned int)1024, MHD_OPTION_END);
    if (!s->d) {
        int e = errno;
        pthread_mutex_destroy(&s->conns_mu);
        close(s->stop_fd);
        mem_free(s, sizeof *s);
        return err_sys(err, e, "http: cannot listen on %s:%u: %s", o->host, o->port,
                       e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    if (o->header_timeout_s) {
        if (pthread_create(&s->watchdog, NULL, watchdog_thread, s)) {
            MHD_stop_daemon(s->d);
            pthread_mutex_destroy(&s->conns_mu);
            close(s->stop_fd);
            mem_free(s, sizeof *s);
            return err_set(err, CAIRN_ENOMEM, "http: cannot start the header-deadline thread");
        }
        s->watchdog_on = 1;
    }
    *out = s;
    return CAIRN_OK;
}

uint16_t http_port(const http_server *s) { return s->port; }

uint64_t http_in_flight(const http_server *s) { return atomic_load(&((http_server *)s)->in_flight); }

void http_stop(http_server *s, int64_t drain_ms)
{
    if (!s) return;
    atomic_store(&s->stopping, 1);
    MHD_socket ls = MHD_quiesce_daemon(s->d);
    uint64_t one = 1;
    if (write(s->stop_fd, &one, sizeof one) < 0) { /* cannot fail on a fresh eventfd; the flag still works */
    }
    if (s->watchdog_on) pthread_join(s->watchdog, NULL);
    s->watchdog_on = 0;
    struct timespec step = {0, 10 * 1000 * 1000};
    /* Upgraded threads notice within one poll and give their sockets back;
     * the daemon must outlive them (they call MHD_upgrade_action). */
    int64_t waited = 0;
    for (; atomic_load(&s->n_upgrades) > 0 && waited < 10000; waited += 10) nanosleep(&step, NULL);
    int leak = atomic_load(&s->n_upgrades) > 0;
    if (leak) fprintf(stderr, "cairn: http: %u upgraded connections did not finish\n", atomic_load(&s->n_upgrades));
    for (waited = 0; waited < drain_ms && atomic_load(&s->in_flight) > 0; waited += 10) nanosleep(&step, NULL);
    MHD_stop_daemon(s->d);
    if (ls != MHD_INVALID_SOCKET) close(ls);
    if (leak) return; /* a stuck thread still points at s: keep it */
    pthread_mutex_destroy(&s->conns_mu);
    close(s->stop_fd);
    mem_free(s, sizeof *s);
}
