/*
 * push_api.c — the write endpoints.
 *
 *   POST /api/v1/write                 remote write 1.0 (snappy protobuf)   204
 *   POST /api/v1/import/prometheus     text 0.0.4 / OpenMetrics (+gzip)     204
 *   POST /loki/api/v1/push, /api/prom/push   Loki JSON (+gzip) or protobuf+snappy  204
 *   POST /v1/metrics, /api/v1/otlp/v1/metrics   OTLP metrics, protobuf or JSON  200
 *   POST /v1/logs, /otlp/v1/logs       OTLP logs, protobuf or JSON          200
 *
 * Each handler is the same five steps: refuse while the database is not
 * open (503, so senders retry), pick the decoder from the media type and the
 * Content-Encoding still to undo (http.c has undone gzip already), decode
 * into a batch, commit it, answer. Decoders reset the batch on any error and
 * cairn_commit is all-or-nothing, so a request is stored whole or not at all:
 * that is what lets a client trust its 2xx after a crash (issue 4, item 8).
 *
 * Status codes come from one table, wapi_status(): bad bytes, bad labels,
 * out-of-order and limit violations are 400 (senders never retry a 4xx, and
 * retrying would not help); a body over the limit, before or after
 * decompression, is 413; unsupported media types or encodings are 415 (for
 * remote write 2.0 that makes the sender fall back to 1.0); only our own
 * faults (out of memory, I/O) are 5xx, which senders retry. OTLP maps 500
 * to 503, as its spec asks, and answers errors with a google.rpc.Status in
 * the request's encoding.
 *
 * Work areas (a batch and a metadata list) are pooled: a request takes one,
 * resets it and gives it back, so a busy server reuses warm memory instead
 * of touching fresh pages on every request (a fresh 4 KiB page costs 12-15 µs
 * on this kind of VM). At most one area per concurrent request exists; areas
 * that grew past WAPI_KEEP_BYTES of body-derived data are freed, not pooled.
 *
 * Metadata (HELP/TYPE/UNIT) is merged into one in-memory store guarded by a
 * mutex; it is not persisted (Prometheus resends it every minute). The
 * formats and status codes are documented for users in docs/api.md.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "http.h"
#include "json.h"
#include "mem.h"
#include "push_api.h"

const char *const wapi_proto_names[WAPI_N_PROTO] = {"remote_write", "prometheus_text", "loki_json",
                                                     "loki_protobuf", "otlp_metrics", "otlp_logs"};
const char *const wapi_reason_names[WAPI_N_REASON] = {"bad_data", "out_of_order", "limit", "too_large",
                                                       "unsupported", "not_ready", "internal"};
const double wapi_buckets[WAPI_N_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

#define WAPI_POOL_MAX 64

struct wapi_work {
    wapi_work *next;
    cairn_batch *b;
    ingest_meta_list meta;
};

/* ==== Context ===================================================================== */

int wapi_init(wapi_ctx *c, const ingest_opts *iopts)
{
    memset(c, 0, sizeof *c);
    if (iopts) c->iopts = *iopts;
    else ingest_opts_default(&c->iopts);
    ingest_meta_init(&c->meta);
    if (pthread_mutex_init(&c->meta_mu, NULL)) return CAIRN_ENOMEM;
    if (pthread_mutex_init(&c->pool_mu, NULL)) {
        pthread_mutex_destroy(&c->meta_mu);
        return CAIRN_ENOMEM;
    }
    return CAIRN_OK;
}

static void work_free(wapi_work *w)
{
    if (!w) return;
    cairn_batch_free(w->b);
    ingest_meta_free(&w->meta);
    mem_free(w, sizeof *w);
}

void wapi_free(wapi_ctx *c)
{
    while (c->pool) {
        wapi_work *w = c->pool;
        c->pool = w->next;
        work_free(w);
    }
    ingest_meta_free(&c->meta);
    pthread_mutex_destroy(&c->meta_mu);
    pthread_mutex_destroy(&c->pool_mu);
}

void wapi_set_db(wapi_ctx *c, cairn_db *db) { atomic_store(&c->db, db); }

static wapi_work *work_get(wapi_ctx *c)
{
    pthread_mutex_lock(&c->pool_mu);
    wapi_work *w = c->pool;
    if (w) c->pool = w->next;
    pthread_mutex_unlock(&c->pool_mu);
    if (w) return w;
    w = mem_calloc(1, sizeof *w);
    if (!w) return NULL;
    ingest_meta_init(&w->meta);
    w->b = cairn_batch_new();
    if (!w->b) {
        mem_free(w, sizeof *w);
        return NULL;
    }
    return w;
}

static void work_put(wapi_ctx *c, wapi_work *w)
{
    cairn_batch_reset(w->b);
    ingest_meta_reset(&w->meta);
    pthread_mutex_lock(&c->pool_mu);
    size_t n = 0;
    for (wapi_work *p = c->pool; p; p = p->next) n++;
    if (n < WAPI_POOL_MAX) {
        w->next = c->pool;
        c->pool = w;
        w = NULL;
    }
    pthread_mutex_unlock(&c->pool_mu);
    work_free(w);
}

/* ==== Metadata store ================================================================ */

int wapi_meta_merge(wapi_ctx *c, const ingest_meta_list *l)
{
    int rc = CAIRN_OK;
    pthread_mutex_lock(&c->meta_mu);
    for (size_t i = 0; i < l->n && !rc; i++) {
        const ingest_meta *m = &l->v[i];
        rc = ingest_meta_set(&c->meta, m->name, m->name_len, m->type, m->help, m->help_len, m->unit, m->unit_len);
    }
    pthread_mutex_unlock(&c->meta_mu);
    return rc;
}

size_t wapi_meta_foreach(wapi_ctx *c, void (*fn)(void *arg, const ingest_meta *m), void *arg)
{
    pthread_mutex_lock(&c->meta_mu);
    size_t n = c->meta.n;
    for (size_t i = 0; i < n; i++) fn(arg, &c->meta.v[i]);
    pthread_mutex_unlock(&c->meta_mu);
    return n;
}

/* ==== Status mapping ================================================================ */

unsigned wapi_status(int code, int from_commit, int *reason)
{
    int r;
    unsigned st;
    switch (code) {
    case CAIRN_OK: r = -1, st = 204; break;
    case CAIRN_EINVAL:
    case CAIRN_EPARSE: r = WAPI_R_BAD_DATA, st = 400; break;
    case CAIRN_ECORRUPT:
        /* undecodable input from a decoder; from the engine it is our storage */
        if (from_commit) r = WAPI_R_INTERNAL, st = 500;
        else r = WAPI_R_BAD_DATA, st = 400;
        break;
    case CAIRN_EOUTOFORDER: r = WAPI_R_OUT_OF_ORDER, st = 400; break;
    case CAIRN_ELIMIT:
        if (from_commit) r = WAPI_R_LIMIT, st = 400;
        else r = WAPI_R_TOO_LARGE, st = 413;
        break;
    case CAIRN_ETIMEOUT: r = WAPI_R_INTERNAL, st = 503; break;
    case CAIRN_ENOSPC: r = WAPI_R_INTERNAL, st = 507; break; /* disk or LMDB map full: Insufficient Storage, retried */
    default: r = WAPI_R_INTERNAL, st = 500; break; /* ENOMEM, EIO, EINTERNAL */
    }
    if (reason) *reason = r;
    return st;
}

/* ==== Shared request path ============================================================ */

enum { ANSWER_PLAIN, ANSWER_OTLP_PB, ANSWER_OTLP_JSON };

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void observe_commit(wapi_ctx *c, int64_t ns)
{
    double s = (double)ns / 1e9;
    size_t i = 0;
    while (i < WAPI_N_BUCKETS && s > wapi_buckets[i]) i++;
    atomic_fetch_add_explicit(&c->commit_hist[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->commit_ns_sum, (uint64_t)ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->commit_count, 1, memory_order_relaxed);
}

/* Answer an error in the protocol's style; counts the rejection. */
static void answer_error(wapi_ctx *c, http_req *req, int proto, int style, unsigned status, int reason,
                         const char *msg)
{
    if (reason >= 0) atomic_fetch_add_explicit(&c->rejected[proto][reason], 1, memory_order_relaxed);
    if (style == ANSWER_PLAIN) {
        http_respond_text(req, status, "%s", msg);
        return;
    }
    if (status == 500 || status == 507) status = 503; /* OTLP: our faults are retryable (507 is not, to OTLP) */
    /* google.rpc.Status: code (1, varint), message (2, string) */
    int grpc = status == 413 || status == 429 ? 8 : status == 415 ? 3 : status >= 500 ? 14 : 3;
    buf o;
    buf_init(&o);
    int rc;
    if (style == ANSWER_OTLP_PB) {
        size_t n = strlen(msg);
        rc = buf_put_u8(&o, 0x08) | buf_put_uvarint(&o, (uint64_t)grpc) | buf_put_u8(&o, 0x12) |
             buf_put_uvarint(&o, n) | buf_put(&o, msg, n);
    } else {
        char head[32];
        snprintf(head, sizeof head, "{\"code\":%d,\"message\":", grpc);
        rc = buf_put(&o, head, strlen(head)) | jw_escape(&o, msg, strlen(msg)) | buf_put_u8(&o, '}');
    }
    if (rc || !o.p) {
        buf_free(&o);
        http_respond_text(req, status, "%s", msg);
        return;
    }
    http_respond_take(req, status, style == ANSWER_OTLP_PB ? "application/x-protobuf" : "application/json", o.p,
                      o.len, o.cap);
}

static void answer_ok(http_req *req, int style)
{
    if (style == ANSWER_PLAIN) http_respond(req, 204, NULL, "", 0);
    else if (style == ANSWER_OTLP_PB) http_respond(req, 200, "application/x-protobuf", "", 0);
    else http_respond(req, 200, "application/json", "{}", 2);
}

typedef int (*decode_fn)(const uint8_t *body, size_t len, int variant, const ingest_opts *o, cairn_batch *b,
                         ingest_meta_list *meta, cairn_err *err);

/* Decode, commit, answer. */
static void ingest_request(wapi_ctx *c, http_req *req, int proto, int style, decode_fn fn, int variant)
{
    cairn_db *db = atomic_load(&c->db);
    if (!db) {
        answer_error(c, req, proto, style, 503, WAPI_R_NOT_READY, "not ready: the database is opening (WAL replay)");
        return;
    }
    wapi_work *w = work_get(c);
    if (!w) {
        answer_error(c, req, proto, style, 500, WAPI_R_INTERNAL, "out of memory");
        return;
    }
    ingest_opts o = c->iopts;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    o.now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    o.default_t_ms = o.now_ns / 1000000;
    size_t len;
    const uint8_t *body = http_body(req, &len);
    cairn_err e;
    memset(&e, 0, sizeof e);
    int reason;
    int rc = fn(body, len, variant, &o, w->b, &w->meta, &e);
    if (rc) {
        unsigned st = wapi_status(rc, 0, &reason);
        answer_error(c, req, proto, style, st, reason, e.msg[0] ? e.msg : cairn_strerror(rc));
        goto out;
    }
    if (w->meta.n && wapi_meta_merge(c, &w->meta)) {
        answer_error(c, req, proto, style, 500, WAPI_R_INTERNAL, "out of memory storing metadata");
        goto out;
    }
    size_t n = cairn_batch_size(w->b);
    if (n) {
        int64_t t0 = mono_ns();
        rc = cairn_commit(db, w->b, &e);
        observe_commit(c, mono_ns() - t0);
        if (rc) {
            unsigned st = wapi_status(rc, 1, &reason);
            answer_error(c, req, proto, style, st, reason, e.msg[0] ? e.msg : cairn_strerror(rc));
            goto out;
        }
    }
    atomic_fetch_add_explicit(&c->received[proto], n, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->requests[proto], 1, memory_order_relaxed);
    answer_ok(req, style);
out:
    work_put(c, w);
}

/* ==== Decoder adapters (one signature for ingest_request) ============================= */

static int dec_rw(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b, ingest_meta_list *m,
                  cairn_err *e)
{
    (void)v;
    return rw_decode(p, n, o, b, m, e);
}

static int dec_text(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b, ingest_meta_list *m,
                    cairn_err *e)
{
    return ptext_decode((const char *)p, n, v, o, b, m, e);
}

static int dec_loki_json(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b,
                         ingest_meta_list *m, cairn_err *e)
{
    (void)v, (void)m;
    return lpush_decode_json(p, n, o, b, e);
}

static int dec_loki_proto(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b,
                          ingest_meta_list *m, cairn_err *e)
{
    (void)v, (void)m;
    return lpush_decode_proto(p, n, o, b, e);
}

static int dec_otlp_metrics(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b,
                            ingest_meta_list *m, cairn_err *e)
{
    return otlp_decode_metrics(p, n, v, o, b, m, e);
}

static int dec_otlp_logs(const uint8_t *p, size_t n, int v, const ingest_opts *o, cairn_batch *b,
                         ingest_meta_list *m, cairn_err *e)
{
    (void)m;
    return otlp_decode_logs(p, n, v, o, b, e);
}

/* ==== Handlers ========================================================================== */

static void h_write(http_req *req, void *ctx)
{
    wapi_ctx *c = ctx;
    char mt[64], proto[96];
    http_media_type(req, mt, sizeof mt);
    const char *ver = http_header(req, "X-Prometheus-Remote-Write-Version");
    if (http_media_param(req, "proto", proto, sizeof proto) && strcmp(proto, "prometheus.WriteRequest")) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "remote write: Content-Type proto=%s is not supported; send remote write 1.0 "
                 "(prometheus.WriteRequest)",
                 proto);
        answer_error(c, req, WAPI_RW, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED, msg);
        return;
    }
    if (ver && ver[0] == '2') {
        answer_error(c, req, WAPI_RW, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED,
                     "remote write: version 2 is not supported; send remote write 1.0");
        return;
    }
    if (mt[0] && strcmp(mt, "application/x-protobuf")) {
        char msg[160];
        snprintf(msg, sizeof msg, "remote write: unsupported Content-Type %s (want application/x-protobuf)", mt);
        answer_error(c, req, WAPI_RW, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED, msg);
        return;
    }
    ingest_request(c, req, WAPI_RW, ANSWER_PLAIN, dec_rw, 0);
}

static void h_import(http_req *req, void *ctx)
{
    wapi_ctx *c = ctx;
    char mt[64];
    http_media_type(req, mt, sizeof mt);
    if (http_body_encoding(req)[0]) {
        answer_error(c, req, WAPI_PROMTEXT, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED,
                     "text import: Content-Encoding snappy is not supported (use gzip or none)");
        return;
    }
    int fmt = !strcmp(mt, "application/openmetrics-text") ? PTEXT_OPENMETRICS : PTEXT_PROM;
    ingest_request(c, req, WAPI_PROMTEXT, ANSWER_PLAIN, dec_text, fmt);
}

static void h_loki(http_req *req, void *ctx)
{
    wapi_ctx *c = ctx;
    char mt[64];
    http_media_type(req, mt, sizeof mt);
    if (!strcmp(mt, "application/json")) {
        if (http_body_encoding(req)[0]) {
            answer_error(c, req, WAPI_LOKI_JSON, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED,
                         "loki push: Content-Encoding snappy is not supported for JSON (use gzip or none)");
            return;
        }
        ingest_request(c, req, WAPI_LOKI_JSON, ANSWER_PLAIN, dec_loki_json, 0);
    } else if (!mt[0] || !strcmp(mt, "application/x-protobuf")) {
        ingest_request(c, req, WAPI_LOKI_PROTO, ANSWER_PLAIN, dec_loki_proto, 0);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "loki push: unsupported Content-Type %s (want application/json or application/x-protobuf)", mt);
        answer_error(c, req, WAPI_LOKI_JSON, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED, msg);
    }
}

static void h_otlp(http_req *req, wapi_ctx *c, int proto, decode_fn fn)
{
    char mt[64];
    http_media_type(req, mt, sizeof mt);
    int enc, style;
    if (!strcmp(mt, "application/x-protobuf")) enc = OTLP_PROTOBUF, style = ANSWER_OTLP_PB;
    else if (!strcmp(mt, "application/json")) enc = OTLP_JSON, style = ANSWER_OTLP_JSON;
    else {
        char msg[160];
        snprintf(msg, sizeof msg, "otlp: unsupported Content-Type %s (want application/x-protobuf or application/json)",
                 mt[0] ? mt : "(none)");
        answer_error(c, req, proto, ANSWER_PLAIN, 415, WAPI_R_UNSUPPORTED, msg);
        return;
    }
    if (http_body_encoding(req)[0]) {
        answer_error(c, req, proto, style, 415, WAPI_R_UNSUPPORTED,
                     "otlp: Content-Encoding snappy is not supported (use gzip or none)");
        return;
    }
    ingest_request(c, req, proto, style, fn, enc);
}

static void h_otlp_metrics(http_req *req, void *ctx) { h_otlp(req, ctx, WAPI_OTLP_METRICS, dec_otlp_metrics); }
static void h_otlp_logs(http_req *req, void *ctx) { h_otlp(req, ctx, WAPI_OTLP_LOGS, dec_otlp_logs); }

int wapi_routes(wapi_ctx *c, route_table *t)
{
    int rc = 0;
    rc |= route_add(t, "/api/v1/write", ROUTE_POST | ROUTE_PUT, ROUTE_BODY, h_write, c, "write");
    rc |= route_add(t, "/api/v1/import/prometheus", ROUTE_POST | ROUTE_PUT, ROUTE_BODY | ROUTE_GZIP, h_import, c,
                    "import_prometheus");
    rc |= route_add(t, "/loki/api/v1/push", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_loki, c, "loki_push");
    rc |= route_add(t, "/api/prom/push", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_loki, c, "loki_push_legacy");
    rc |= route_add(t, "/v1/metrics", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_otlp_metrics, c, "otlp_metrics");
    rc |= route_add(t, "/api/v1/otlp/v1/metrics", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_otlp_metrics, c,
                    "otlp_metrics_prom");
    rc |= route_add(t, "/v1/logs", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_otlp_logs, c, "otlp_logs");
    rc |= route_add(t, "/otlp/v1/logs", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_otlp_logs, c, "otlp_logs_loki");
    return rc ? CAIRN_ENOMEM : CAIRN_OK;
}
