/*
 * status_page.c — `/`: what a person who opens cairn's port in a browser
 * should see first.
 *
 * It answers "is it up, what is in it, is data arriving, where do I point
 * Grafana": version and uptime, the data directory, series and stream
 * counts, samples and log lines received per protocol with the average rate
 * since start and the rate since the previous view of the page (a snapshot
 * kept under a mutex; the first view shows the average only), the query
 * gate (running and rejected queries), and links to the endpoints and to
 * the docs. Everything comes from counters that already exist
 * (cairn_stats_get, the write API's atomics), so the page costs a few
 * microseconds and never touches storage.
 *
 * The page is plain HTML with inline CSS: no scripts, no fonts, no external
 * assets, so it works offline and behind any proxy. Dynamic text (the data
 * directory) is HTML-escaped. It is built with the JSON writer's buffer type
 * and handed to libmicrohttpd without a copy.
 *
 * Threads: any pool thread; the snapshot for rates is the only shared
 * mutable state and has its own lock.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "http.h"
#include "mem.h"
#include "status_page.h"

typedef struct snap {
    pthread_mutex_t mu;
    double t;
    uint64_t rx[WAPI_N_PROTO];
} snap;

static snap g_snap = {PTHREAD_MUTEX_INITIALIZER, 0, {0}};

typedef struct hb {
    buf b;
    int failed;
} hb;

static void hp(hb *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hp(hb *h, const char *fmt, ...)
{
    if (h->failed) return;
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp || buf_put(&h->b, tmp, (size_t)n)) h->failed = 1;
}

static void esc(hb *h, const char *s)
{
    for (; *s && !h->failed; s++) {
        const char *r = NULL;
        switch (*s) {
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '&': r = "&amp;"; break;
        case '"': r = "&quot;"; break;
        default: break;
        }
        if (r) hp(h, "%s", r);
        else if (buf_put(&h->b, s, 1)) h->failed = 1;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void h_status(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    hb h = {0};
    buf_init(&h.b);
    if (buf_reserve(&h.b, 16384)) h.failed = 1;
    int64_t up = (int64_t)time(NULL) - c->started_unix;
    if (up < 1) up = 1;
    cairn_db *db = atomic_load(&c->w->db);
    hp(&h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cairn</title>\n"
           "<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
           "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}th{background:#eee}"
           "code{background:#f4f4f4}</style></head><body>\n");
    hp(&h, "<h1>cairn %s</h1>\n<p>Metrics and logs store with the Prometheus and Loki HTTP APIs.</p>\n",
       cairn_version());
    hp(&h, "<table><tr><th>status</th><td>%s</td></tr><tr><th>data directory</th><td><code>",
       db ? "ready" : "opening the database (WAL replay)");
    esc(&h, c->data_dir);
    hp(&h, "</code></td></tr><tr><th>uptime</th><td>%" PRId64 "d %02" PRId64 ":%02" PRId64 ":%02" PRId64
           "</td></tr>\n",
       up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
    if (db) {
        cairn_stats st;
        cairn_stats_get(db, &st);
        hp(&h,
           "<tr><th>metric series</th><td>%" PRIu64 "</td></tr><tr><th>log streams</th><td>%" PRIu64
           "</td></tr><tr><th>samples appended</th><td>%" PRIu64 "</td></tr><tr><th>log entries appended</th><td>%" PRIu64
           "</td></tr><tr><th>memory</th><td>%.1f MiB</td></tr>\n",
           st.n_series, st.n_streams, st.samples_appended, st.entries_appended, (double)st.mem_bytes / 1048576.0);
    }
    hp(&h, "<tr><th>queries</th><td>%u running, %" PRIu64 " admitted, %" PRIu64 " rejected as busy (limit %s)</td></tr>"
           "</table>\n",
       atomic_load(&c->running), (uint64_t)atomic_load(&c->n_queries), (uint64_t)atomic_load(&c->n_rejected_busy),
       c->max_concurrency ? "set" : "none");

    /* ingest */
    uint64_t rx[WAPI_N_PROTO];
    for (int p = 0; p < WAPI_N_PROTO; p++) rx[p] = atomic_load(&c->w->received[p]);
    double t = now_s(), dt = 0;
    uint64_t prev[WAPI_N_PROTO];
    pthread_mutex_lock(&g_snap.mu);
    if (g_snap.t > 0) {
        dt = t - g_snap.t;
        memcpy(prev, g_snap.rx, sizeof prev);
    }
    g_snap.t = t;
    memcpy(g_snap.rx, rx, sizeof rx);
    pthread_mutex_unlock(&g_snap.mu);
    hp(&h, "<h2>Ingest</h2>\n<table><tr><th>protocol</th><th>received</th><th>average /s</th><th>/s since last "
           "view</th></tr>\n");
    for (int p = 0; p < WAPI_N_PROTO; p++) {
        hp(&h, "<tr><td>%s</td><td>%" PRIu64 "</td><td>%.1f</td><td>", wapi_proto_names[p], rx[p],
           (double)rx[p] / (double)up);
        if (dt > 0.5) hp(&h, "%.1f", (double)(rx[p] - prev[p]) / dt);
        else hp(&h, "&ndash;");
        hp(&h, "</td></tr>\n");
    }
    hp(&h, "</table>\n");

    hp(&h,
       "<h2>Endpoints</h2>\n<ul>\n"
       "<li>Prometheus data source URL: this server's base URL. "
       "<a href=\"/api/v1/status/buildinfo\">/api/v1/status/buildinfo</a>, "
       "<a href=\"/api/v1/labels\">/api/v1/labels</a>, "
       "<a href=\"/api/v1/label/__name__/values\">metric names</a>, "
       "<a href=\"/api/v1/metadata\">/api/v1/metadata</a>, "
       "<a href=\"/api/v1/status/tsdb\">/api/v1/status/tsdb</a> (cardinality), "
       "<a href=\"/api/v1/query?query=1%%2B1\">/api/v1/query?query=1+1</a></li>\n"
       "<li>Loki data source URL: this server's base URL. "
       "<a href=\"/loki/api/v1/labels\">/loki/api/v1/labels</a>, "
       "<a href=\"/loki/api/v1/status/buildinfo\">/loki/api/v1/status/buildinfo</a></li>\n"
       "<li>Writes: <code>/api/v1/write</code> (remote write), <code>/loki/api/v1/push</code>, "
       "<code>/v1/metrics</code>, <code>/v1/logs</code> (OTLP), <code>/api/v1/import/prometheus</code></li>\n"
       "<li>Operations: <a href=\"/metrics\">/metrics</a>, <a href=\"/-/healthy\">/-/healthy</a>, "
       "<a href=\"/-/ready\">/-/ready</a></li>\n</ul>\n"
       "<h2>Docs</h2>\n<p>In the source tree: <code>docs/api.md</code> (endpoints, flags, limits, auth), "
       "<code>docs/grafana.md</code> (data source provisioning, dashboards, alerts), <code>docs/query.md</code> "
       "(PromQL and LogQL), <code>docs/ingest.md</code> (write protocols).</p>\n</body></html>\n");
    if (h.failed) {
        buf_free(&h.b);
        http_respond_text(r, 500, "out of memory building the status page");
        return;
    }
    http_respond_take(r, 200, "text/html; charset=utf-8", h.b.p, h.b.len, h.b.cap);
}

int status_page_routes(papi_ctx *c, route_table *t)
{
    return route_add(t, "/", ROUTE_GET | ROUTE_HEAD, 0, h_status, c, "status_page");
}
