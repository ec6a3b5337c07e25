/*
 * server.c — `cairn serve`: one port for every endpoint, one data directory.
 *
 * Start-up order matters for two promises. Readiness: the HTTP port opens
 * first and the database is opened (LMDB plus WAL replay, which can take a
 * while after a crash) on a separate thread; until it is done /-/ready and
 * /ready answer 503 and the write endpoints answer 503 too, which every
 * sender retries, while /-/healthy says 200 from the first moment: the
 * process is alive, just not ready. A failed open ends the process with
 * status 1 and the engine's message.
 *
 * Clean shutdown: SIGINT and SIGTERM are blocked in every thread (the mask is
 * set before any thread exists, and threads inherit it) and the main thread
 * waits for them with sigwait(), so no handler runs in signal context. On a
 * signal it stops accepting, lets requests in flight finish (their commits
 * complete and their clients get answers; new requests on open keep-alive
 * connections get 503), waits for the opener thread, then cairn_close()
 * checkpoints and closes, and the process exits 0. SIGPIPE is ignored: a
 * client that hangs up must not kill the server.
 *
 * /metrics is built on each scrape from cairn_stats_get(), the write API's
 * counters (push_api.h) and the routing table's per-route status counters,
 * in text format 0.0.4 with the Content-Type Prometheus 3 insists on. It is
 * small (a few kB) and assembled in one buffer handed to libmicrohttpd
 * without a copy.
 *
 * Flags and their defaults are documented in docs/api.md; the duration
 * syntax is Prometheus' (15d, 12h, 1h30m, 0 = keep forever).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "dur.h"
#include "http.h"
#include "loki_api.h"
#include "mem.h"
#include "prom_api.h"
#include "push_api.h"
#include "server.h"
#include "status_page.h"

/* ==== Flag parsing ==================================================================== */

int server_parse_duration(const char *s, int64_t *ms)
{
    return s && dur_parse_prom(s, strlen(s), ms) == CAIRN_OK ? 0 : -1;
}

int server_parse_listen(const char *s, char *host, size_t host_cap, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':') return -1;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0) h = "0.0.0.0", hl = 7;
    if (hl + 1 > host_cap) return -1;
    char *e;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &e, 10);
    if (!colon[1] || *e || errno || p > 65535) return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = (uint16_t)p;
    return 0;
}

/* ==== State ============================================================================== */

typedef struct server {
    wapi_ctx w;
    papi_ctx q;
    auth auth;
    route_table routes;
    char data_dir[4096];
    cairn_options dbo;
    cairn_db *db;
    pthread_t opener;
    int open_rc;
    cairn_err open_err;
    int64_t started_unix;
    _Atomic(http_server *) hs; /* for /metrics; set once the port is open */
} server;

static void *open_thread(void *arg)
{
    server *s = arg;
    s->open_rc = cairn_open(s->data_dir, &s->dbo, &s->db, &s->open_err);
    if (s->open_rc == CAIRN_OK) {
        wapi_set_db(&s->w, s->db);
        fprintf(stderr, "cairn: ready (data %s)\n", s->data_dir);
    } else {
        fprintf(stderr, "cairn: cannot open %s: %s\n", s->data_dir, s->open_err.msg);
        kill(getpid(), SIGTERM);
    }
    return NULL;
}

/* ==== Health, readiness ========================================================================= */

/* A parameter the HTTP layer rejected: Loki's paths answer text, the rest Prometheus' envelope. */
static void param_error(http_req *req, const char *msg)
{
    const char *p = http_path(req);
    if (!strncmp(p, "/loki/", 6) || !strncmp(p, "/api/prom/", 10) || !strncmp(p, "/otlp/", 6) || !strncmp(p, "/v1/", 4))
        http_respond_text(req, 400, "%s", msg);
    else papi_error(req, 400, "bad_data", "%s", msg);
}

static void h_healthy(http_req *req, void *ctx)
{
    (void)ctx;
    http_respond(req, 200, "text/plain; charset=utf-8", "cairn is Healthy.\n", 18);
}

static void h_ready(http_req *req, void *ctx)
{
    server *s = ctx;
    if (atomic_load(&s->w.db)) http_respond(req, 200, "text/plain; charset=utf-8", "cairn is Ready.\n", 16);
    else http_respond(req, 503, "text/plain; charset=utf-8", "cairn is not ready: opening the database.\n", 42);
}

/* ==== /metrics ==================================================================================== */

typedef struct mw {
    buf b;
    int failed;
} mw;

static void mprintf(mw *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mprintf(mw *m, const char *fmt, ...)
{
    if (m->failed) return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp || buf_put(&m->b, tmp, (size_t)n)) m->failed = 1;
}

static void family(mw *m, const char *name, const char *type, const char *help)
{
    mprintf(m, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t ld(const atomic_uint_fast64_t *a) { return atomic_load_explicit(a, memory_order_relaxed); }

static void process_metrics(mw *m, const server *s)
{
    struct rusage ru;
    if (!getrusage(RUSAGE_SELF, &ru)) {
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                     (double)ru.ru_stime.tv_usec / 1e6;
        family(m, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
        mprintf(m, "process_cpu_seconds_total %.6f\n", cpu);
    }
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long vsz, rss;
        if (fscanf(f, "%lu %lu", &vsz, &rss) == 2) {
            long pg = sysconf(_SC_PAGESIZE);
            family(m, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            mprintf(m, "process_resident_memory_bytes %lu\n", rss * (unsigned long)pg);
        }
        fclose(f);
    }
    family(m, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
    mprintf(m, "process_start_time_seconds %" PRId64 "\n", s->started_unix);
}

static void h_metrics(http_req *req, void *ctx)
{
    server *s = ctx;
    mw m = {0};
    buf_init(&m.b);
    buf_reserve(&m.b, 16384);
    family(&m, "cairn_build_info", "gauge", "cairn version; always 1.");
    mprintf(&m, "cairn_build_info{version=\"%s\"} 1\n", cairn_version());
    cairn_db *db = atomic_load(&s->w.db);
    family(&m, "cairn_ready", "gauge", "1 once the database is open and the WAL replayed.");
    mprintf(&m, "cairn_ready %d\n", db != NULL);

    /* write API */
    family(&m, "cairn_samples_received_total", "counter", "Metric samples committed, by protocol.");
    for (int p = 0; p < WAPI_N_PROTO; p++)
        if (p != WAPI_LOKI_JSON && p != WAPI_LOKI_PROTO && p != WAPI_OTLP_LOGS)
            mprintf(&m, "cairn_samples_received_total{protocol=\"%s\"} %" PRIu64 "\n", wapi_proto_names[p],
                    ld(&s->w.received[p]));
    family(&m, "cairn_log_lines_received_total", "counter", "Log lines committed, by protocol.");
    for (int p = WAPI_LOKI_JSON; p < WAPI_N_PROTO; p++)
        if (p != WAPI_OTLP_METRICS)
            mprintf(&m, "cairn_log_lines_received_total{protocol=\"%s\"} %" PRIu64 "\n", wapi_proto_names[p],
                    ld(&s->w.received[p]));
    family(&m, "cairn_write_requests_total", "counter", "Write requests committed (2xx), by protocol.");
    for (int p = 0; p < WAPI_N_PROTO; p++)
        mprintf(&m, "cairn_write_requests_total{protocol=\"%s\"} %" PRIu64 "\n", wapi_proto_names[p],
                ld(&s->w.requests[p]));
    family(&m, "cairn_write_requests_rejected_total", "counter",
           "Write requests rejected, by protocol and reason (nothing of them was stored).");
    for (int p = 0; p < WAPI_N_PROTO; p++)
        for (int r = 0; r < WAPI_N_REASON; r++) {
            uint64_t v = ld(&s->w.rejected[p][r]);
            if (v || r == WAPI_R_BAD_DATA)
                mprintf(&m, "cairn_write_requests_rejected_total{protocol=\"%s\",reason=\"%s\"} %" PRIu64 "\n",
                        wapi_proto_names[p], wapi_reason_names[r], v);
        }
    family(&m, "cairn_commit_duration_seconds", "histogram", "Time spent in cairn_commit per write request.");
    uint64_t cum = 0;
    for (int i = 0; i <= WAPI_N_BUCKETS; i++) {
        cum += ld(&s->w.commit_hist[i]);
        if (i < WAPI_N_BUCKETS)
            mprintf(&m, "cairn_commit_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", wapi_buckets[i], cum);
        else mprintf(&m, "cairn_commit_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", cum);
    }
    mprintf(&m, "cairn_commit_duration_seconds_sum %.9f\n", (double)ld(&s->w.commit_ns_sum) / 1e9);
    mprintf(&m, "cairn_commit_duration_seconds_count %" PRIu64 "\n", ld(&s->w.commit_count));

    /* engine */
    if (db) {
        cairn_stats st;
        cairn_stats_get(db, &st);
        family(&m, "cairn_series", "gauge", "Metric series in the index.");
        mprintf(&m, "cairn_series %" PRIu64 "\n", st.n_series);
        family(&m, "cairn_streams", "gauge", "Log streams in the index.");
        mprintf(&m, "cairn_streams %" PRIu64 "\n", st.n_streams);
        family(&m, "cairn_samples_appended_total", "counter", "Samples appended by the engine.");
        mprintf(&m, "cairn_samples_appended_total %" PRIu64 "\n", st.samples_appended);
        family(&m, "cairn_log_entries_appended_total", "counter", "Log entries appended by the engine.");
        mprintf(&m, "cairn_log_entries_appended_total %" PRIu64 "\n", st.entries_appended);
        family(&m, "cairn_log_appended_bytes_total", "counter", "Bytes of log lines appended.");
        mprintf(&m, "cairn_log_appended_bytes_total %" PRIu64 "\n", st.log_bytes_appended);
        family(&m, "cairn_samples_duplicate_ignored_total", "counter",
               "Samples dropped as exact duplicates (same timestamp and value).");
        mprintf(&m, "cairn_samples_duplicate_ignored_total %" PRIu64 "\n", st.samples_dup_ignored);
        family(&m, "cairn_samples_rejected_total", "counter", "Samples rejected at commit, by reason.");
        mprintf(&m, "cairn_samples_rejected_total{reason=\"out_of_order\"} %" PRIu64 "\n", st.samples_rejected_ooo);
        mprintf(&m, "cairn_samples_rejected_total{reason=\"duplicate_timestamp\"} %" PRIu64 "\n",
                st.samples_rejected_dup);
        mprintf(&m, "cairn_samples_rejected_total{reason=\"too_far_in_future\"} %" PRIu64 "\n",
                st.samples_rejected_too_new);
        mprintf(&m, "cairn_samples_rejected_total{reason=\"too_old\"} %" PRIu64 "\n", st.samples_rejected_too_old);
        family(&m, "cairn_log_entries_duplicate_ignored_total", "counter",
               "Log entries dropped as exact duplicates (same timestamp and line).");
        mprintf(&m, "cairn_log_entries_duplicate_ignored_total %" PRIu64 "\n", st.entries_dup_ignored);
        family(&m, "cairn_log_entries_rejected_total", "counter", "Log entries rejected at commit, by reason.");
        mprintf(&m, "cairn_log_entries_rejected_total{reason=\"out_of_order\"} %" PRIu64 "\n",
                st.entries_rejected_ooo);
        mprintf(&m, "cairn_log_entries_rejected_total{reason=\"too_far_in_future\"} %" PRIu64 "\n",
                st.entries_rejected_too_new);
        mprintf(&m, "cairn_log_entries_rejected_total{reason=\"too_old\"} %" PRIu64 "\n",
                st.entries_rejected_too_old);
        family(&m, "cairn_commits_total", "counter", "Batches committed.");
        mprintf(&m, "cairn_commits_total %" PRIu64 "\n", st.commits);
        family(&m, "cairn_wal_bytes", "gauge", "Bytes in WAL segments on disk.");
        mprintf(&m, "cairn_wal_bytes %" PRIu64 "\n", st.wal_bytes);
        family(&m, "cairn_wal_fsyncs_total", "counter", "WAL fsyncs (group commit shares one among writers).");
        mprintf(&m, "cairn_wal_fsyncs_total %" PRIu64 "\n", st.wal_fsyncs);
        family(&m, "cairn_storage_full_errors_total", "counter",
               "Writes refused because the disk or the LMDB map is full (HTTP 507).");
        mprintf(&m, "cairn_storage_full_errors_total %" PRIu64 "\n", st.storage_full_errors);
        family(&m, "cairn_wal_corruptions_total", "counter",
               "Damaged WAL spans found by replay at open and quarantined in wal/corrupt-*.");
        mprintf(&m, "cairn_wal_corruptions_total %" PRIu64 "\n", st.wal_corruptions);
        family(&m, "cairn_wal_quarantined_bytes", "gauge", "WAL bytes quarantined by replay at open.");
        mprintf(&m, "cairn_wal_quarantined_bytes %" PRIu64 "\n", st.wal_quarantined_bytes);
        family(&m, "cairn_wal_missing_segments", "gauge",
               "WAL segments missing from the sequence at open (only with --wal-skip-missing).");
        mprintf(&m, "cairn_wal_missing_segments %" PRIu64 "\n", st.wal_missing_segments);
        family(&m, "cairn_checkpoints_total", "counter", "Checkpoints written.");
        mprintf(&m, "cairn_checkpoints_total %" PRIu64 "\n", st.checkpoints);
        family(&m, "cairn_memory_bytes", "gauge", "Bytes currently allocated by cairn.");
        mprintf(&m, "cairn_memory_bytes %" PRIu64 "\n", st.mem_bytes);
    }
    size_t n_meta = 0;
    pthread_mutex_lock(&s->w.meta_mu);
    n_meta = s->w.meta.n;
    pthread_mutex_unlock(&s->w.meta_mu);
    family(&m, "cairn_metadata_families", "gauge", "Metric families with HELP/TYPE metadata in memory.");
    mprintf(&m, "cairn_metadata_families %zu\n", n_meta);

    /* HTTP */
    family(&m, "cairn_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
    for (size_t i = 0; i <= s->routes.n; i++) {
        const route *r = i < s->routes.n ? &s->routes.v[i] : &s->routes.none;
        for (size_t k = 0; k < ROUTE_N_CODES; k++) {
            uint64_t v = ld(&r->count[k]);
            if (!v) continue;
            if (k < ROUTE_N_CODES - 1)
                mprintf(&m, "cairn_http_requests_total{route=\"%s\",code=\"%u\"} %" PRIu64 "\n", r->name,
                        route_codes[k], v);
            else mprintf(&m, "cairn_http_requests_total{route=\"%s\",code=\"other\"} %" PRIu64 "\n", r->name, v);
        }
    }
    http_server *hs = atomic_load(&s->hs);
    if (hs) {
        family(&m, "cairn_http_header_timeouts_total", "counter",
               "Connections closed because their request line and headers took longer than --header-timeout.");
        mprintf(&m, "cairn_http_header_timeouts_total %" PRIu64 "\n", http_header_timeouts(hs));
    }
    process_metrics(&m, s);
    if (m.failed || !m.b.p) {
        buf_free(&m.b);
        http_respond_text(req, 500, "out of memory building /metrics");
        return;
    }
    http_respond_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", m.b.p, m.b.len, m.b.cap);
}

/* A byte size: digits with an optional KiB/MiB/GiB (or KB/MB/GB, decimal) suffix. 0 or -1. */
static int server_parse_size(const char *s, uint64_t *out)
{
    char *e;
    errno = 0;
    if (!*s || *s == '-') return -1;
    unsigned long long n = strtoull(s, &e, 10);
    if (errno || e == s) return -1;
    static const struct {
        const char *suf;
        uint64_t mul;
    } units[] = {{"", 1},           {"B", 1},           {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
                 {"KB", 1000},      {"MB", 1000000},    {"GB", 1000000000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(e, units[i].suf)) {
            if (n > UINT64_MAX / units[i].mul) return -1;
            *out = (uint64_t)n * units[i].mul;
            return 0;
        }
    return -1;
}

/* ==== The command ================================================================================ */

static int serve_usage(void)
{
    fprintf(stderr,
            "usage: cairn serve [--listen ADDR:PORT] [--data DIR] [--retention-metrics DURATION]\n"
            "                   [--retention-logs DURATION] [--ingest-max-future DURATION]\n"
            "                   [--threads N] [--max-body-bytes N]\n"
            "                   [--idle-timeout DURATION] [--header-timeout DURATION] [--max-connections N]\n"
            "                   [--max-connections-per-ip N] [--auth-file FILE] [--query-timeout DURATION]\n"
            "                   [--query-max-samples N] [--query-max-series N] [--query-max-concurrency N]\n"
            "                   [--query-max-entries N] [--query-max-queue N] [--query-max-bytes SIZE]\n"
            "                   [--query-max-bytes-total SIZE] [--query-max-response-bytes SIZE]\n"
            "  --listen            address and port (default 127.0.0.1:9490; port 0 picks a free one)\n"
            "  --data              data directory (default ./data)\n"
            "  --retention-metrics keep metric samples this long (default 15d; 0 = forever)\n"
            "  --retention-logs    keep log entries this long (default 7d; 0 = forever)\n"
            "  --ingest-max-future refuse samples and log entries timestamped more than this ahead of\n"
            "                      the server clock (default 10m; 0 = no bound); older than the\n"
            "                      retention is refused too (docs/limits.md)\n"
            "  --threads           HTTP worker threads (default max(4, CPUs))\n"
            "  --max-body-bytes    request body limit, before and after decompression (default 67108864)\n"
            "  --idle-timeout      close idle connections after this long (default 2m)\n"
            "  --header-timeout    close a connection whose request line and headers take longer than this\n"
            "                      (default 10s; 0 = off)\n"
            "  --max-connections   concurrent connections (default 512)\n"
            "  --max-connections-per-ip  concurrent connections from one client address (default 128; 0 = no limit)\n"
            "  --auth-file         basic-auth users and bearer tokens for reads and writes (docs/api.md)\n"
            "  --query-timeout     longest a query may run; also caps the `timeout` parameter (default 2m)\n"
            "  --query-max-samples samples (log queries: entries) one query may read (default 50000000; 0 = no limit)\n"
            "  --query-max-series  series one PromQL query may select; when given, also Loki's max result series\n"
            "                      (default 100000; Loki 500; 0 = no limit)\n"
            "  --query-max-concurrency  queries running at once; more wait in the queue (default: the CPUs; 0 = no limit)\n"
            "  --query-max-queue   queries waiting for a slot; more get 503 + Retry-After (default 4 x concurrency)\n"
            "  --query-max-bytes   memory one query may use, e.g. 256MiB (default 256MiB; 0 = no limit)\n"
            "  --query-max-bytes-total  memory all running queries may use together (default 512MiB; 0 = no limit)\n"
            "  --query-max-response-bytes  largest query answer (default 64MiB; 0 = no limit)\n"
            "  --query-max-entries largest Loki `limit` accepted (default 5000)\n"
            "  --wal-skip-missing  open even if a WAL segment is missing (its records are lost; counted on\n"
            "                      /metrics); without it such a start fails naming the segment\n");
    return 2;
}

int server_main(int argc, char **argv)
{
    static server s; /* one per process: it lives as long as the command */
    memset(&s, 0, sizeof s);
    const char *listen = "127.0.0.1:9490", *data = "./data";
    cairn_options_default(&s.dbo);
    http_opts ho;
    http_opts_default(&ho);
    ingest_opts io;
    ingest_opts_default(&io);
    if (papi_init(&s.q, &s.w)) {
        fprintf(stderr, "cairn serve: out of memory\n");
        return 1;
    }
    int queue_set = 0;
    const char *auth_file = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return serve_usage();
        if (!strcmp(a, "--wal-skip-missing")) { /* a flag without a value */
            s.dbo.wal_skip_missing = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "cairn serve: %s needs a value\n", a);
            return serve_usage();
        }
        i++;
        if (!strncmp(a, "--", 2) && s.q.n_flags < sizeof s.q.flags / sizeof s.q.flags[0] && strcmp(a, "--auth-file"))
            s.q.flags[s.q.n_flags++] = (papi_flag){a + 2, v};
        if (!strcmp(a, "--listen")) listen = v;
        else if (!strcmp(a, "--data")) data = v;
        else if (!strcmp(a, "--retention-metrics") || !strcmp(a, "--retention-logs") ||
                 !strcmp(a, "--idle-timeout") || !strcmp(a, "--ingest-max-future")) {
            if (server_parse_duration(v, &d)) {
                fprintf(stderr, "cairn serve: %s: \"%s\" is not a duration (e.g. 15d, 12h, 90m, 0)\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--retention-metrics")) s.dbo.retention_metrics_ms = d;
            else if (!strcmp(a, "--retention-logs")) s.dbo.retention_logs_ms = d;
            else if (!strcmp(a, "--ingest-max-future")) { /* one window: the engine's and Loki push's */
                s.dbo.max_future_ms = d;
                io.future_grace_ns = d > INT64_MAX / 1000000 ? INT64_MAX : d * 1000000;
            }
            else ho.idle_timeout_s = (unsigned)(d / 1000 ? d / 1000 : 1);
        } else if (!strcmp(a, "--threads")) {
            long n = strtol(v, NULL, 10);
            if (n < 1 || n > 256) {
                fprintf(stderr, "cairn serve: --threads wants 1..256\n");
                return 2;
            }
            ho.n_threads = (unsigned)n;
        } else if (!strcmp(a, "--max-body-bytes")) {
            unsigned long long n = strtoull(v, NULL, 10);
            if (n < 1024) {
                fprintf(stderr, "cairn serve: --max-body-bytes wants at least 1024\n");
                return 2;
            }
            ho.max_body_bytes = (size_t)n;
            io.max_body_bytes = (size_t)n;
        } else if (!strcmp(a, "--header-timeout") || !strcmp(a, "--web.header-timeout")) {
            if (server_parse_duration(v, &d) || d > 3600000) {
                fprintf(stderr, "cairn serve: %s: \"%s\" is not a duration up to 1h (e.g. 10s, 0 = off)\n", a, v);
                return 2;
            }
            ho.header_timeout_s = (unsigned)(d ? (d + 999) / 1000 : 0);
        } else if (!strcmp(a, "--max-connections") || !strcmp(a, "--web.max-connections") ||
                   !strcmp(a, "--max-connections-per-ip") || !strcmp(a, "--web.max-connections-per-ip")) {
            char *e;
            errno = 0;
            unsigned long n = strtoul(v, &e, 10);
            int per_ip = strstr(a, "per-ip") != NULL;
            if (!*v || *e || errno || *v == '-' || n > 65536 || (!per_ip && n < 1)) {
                fprintf(stderr, "cairn serve: %s wants an integer %s..65536, got \"%s\"\n", a, per_ip ? "0" : "1", v);
                return 2;
            }
            if (per_ip) ho.max_conns_per_ip = (unsigned)n;
            else ho.max_conns = (unsigned)n;
        } else if (!strcmp(a, "--auth-file")) {
            auth_file = v;
        } else if (!strcmp(a, "--query-timeout")) {
            if (server_parse_duration(v, &d)) {
                fprintf(stderr, "cairn serve: --query-timeout: \"%s\" is not a duration (e.g. 30s, 2m, 0)\n", v);
                return 2;
            }
            s.q.timeout_ms = d;
        } else if (!strcmp(a, "--query-max-samples") || !strcmp(a, "--query-max-series") ||
                   !strcmp(a, "--query-max-concurrency") || !strcmp(a, "--query-max-entries") ||
                   !strcmp(a, "--query-max-queue")) {
            char *e;
            errno = 0;
            unsigned long long n = strtoull(v, &e, 10);
            if (!*v || *e || errno || *v == '-' || (strcmp(a, "--query-max-samples") && strcmp(a, "--query-max-series") && n > 1000000)) {
                fprintf(stderr, "cairn serve: %s wants a non-negative integer, got \"%s\"\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--query-max-samples")) s.q.max_samples = n;
            else if (!strcmp(a, "--query-max-series")) s.q.max_series = n, s.q.max_series_set = 1;
            else if (!strcmp(a, "--query-max-concurrency")) {
                s.q.max_concurrency = (unsigned)n;
                if (!queue_set) s.q.max_queue = 4 * (unsigned)n;
            } else if (!strcmp(a, "--query-max-queue")) s.q.max_queue = (unsigned)n, queue_set = 1;
            else s.q.max_loki_limit = (unsigned)n;
        } else if (!strcmp(a, "--query-max-bytes") || !strcmp(a, "--query-max-bytes-total") ||
                   !strcmp(a, "--query-max-response-bytes")) {
            uint64_t n;
            if (server_parse_size(v, &n)) {
                fprintf(stderr, "cairn serve: %s wants a size in bytes (e.g. 268435456, 256MiB, 1GiB, 0), got \"%s\"\n",
                        a, v);
                return 2;
            }
            if (!strcmp(a, "--query-max-bytes")) s.q.max_bytes = n;
            else if (!strcmp(a, "--query-max-bytes-total")) s.q.max_bytes_total = n;
            else s.q.max_response_bytes = n;
        } else {
            fprintf(stderr, "cairn serve: unknown option %s\n", a);
            return serve_usage();
        }
    }
    papi_apply_limits(&s.q);
    s.q.http_threads = ho.n_threads;
    char host[256];
    if (server_parse_listen(listen, host, sizeof host, &ho.port)) {
        fprintf(stderr, "cairn serve: --listen wants ADDR:PORT, got \"%s\"\n", listen);
        return 2;
    }
    ho.host = host;
    if (strlen(data) >= sizeof s.data_dir) {
        fprintf(stderr, "cairn serve: --data path too long\n");
        return 2;
    }
    strcpy(s.data_dir, data);
    s.started_unix = (int64_t)time(NULL);
    s.q.data_dir = s.data_dir;
    s.q.started_unix = s.started_unix;
    if (auth_file) {
        cairn_err ae;
        if (auth_load(&s.auth, auth_file, &ae)) {
            fprintf(stderr, "cairn serve: --auth-file: %s\n", ae.msg);
            auth_free(&s.auth);
            return 2;
        }
    }

    /*
     * Keep freed memory in the process. Every request allocates and frees
     * body, decode and batch buffers of 10 kB-64 MiB; with glibc's defaults
     * the large ones are mmap'd and unmapped and the heap tops are trimmed
     * with madvise, so each request faults fresh zeroed pages back in (12-15
     * us per 4 KiB page here). Measured with bench/bench_http_ingest.
     */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    /* signals: blocked everywhere, taken by sigwait below */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (wapi_init(&s.w, &io)) {
        fprintf(stderr, "cairn serve: out of memory\n");
        return 1;
    }
    route_table_init(&s.routes);
    int rc = 0;
    rc |= route_add(&s.routes, "/-/healthy", ROUTE_GET | ROUTE_HEAD, 0, h_healthy, &s, "healthy");
    rc |= route_add(&s.routes, "/-/ready", ROUTE_GET | ROUTE_HEAD, 0, h_ready, &s, "ready");
    rc |= route_add(&s.routes, "/ready", ROUTE_GET | ROUTE_HEAD, 0, h_ready, &s, "ready_loki");
    rc |= route_add(&s.routes, "/metrics", ROUTE_GET | ROUTE_HEAD, 0, h_metrics, &s, "metrics");
    rc |= wapi_routes(&s.w, &s.routes);
    rc |= papi_routes(&s.q, &s.routes);
    rc |= lapi_routes(&s.q, &s.routes);
    rc |= status_page_routes(&s.q, &s.routes);
    s.q.routes = &s.routes;
    rc |= auth_wrap_routes(&s.auth, &s.routes); /* last: it wraps every route added above */
    if (rc) {
        fprintf(stderr, "cairn serve: out of memory\n");
        return 1;
    }
    ho.routes = &s.routes;
    ho.param_error = param_error;
    /* every connection is a descriptor: make room for --max-connections plus the WAL, LMDB and tails */
    struct rlimit nofile;
    rlim_t need = (rlim_t)ho.max_conns + 256;
    if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < need) {
        rlim_t want = nofile.rlim_max == RLIM_INFINITY || nofile.rlim_max >= need ? need : nofile.rlim_max;
        struct rlimit nl = {want, nofile.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &nl) || want < need)
            fprintf(stderr, "cairn: warning: open-file limit %llu is below --max-connections %u + 256\n",
                    (unsigned long long)(want < need ? want : nofile.rlim_cur), ho.max_conns);
    }
    http_server *hs;
    cairn_err e;
    if (http_start(&ho, &hs, &e)) {
        fprintf(stderr, "cairn serve: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "cairn: listening on %s%s%s:%u (data %s, %u threads)\n", strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", http_port(hs), data, ho.n_threads);
    atomic_store(&s.hs, hs);
    char what[400];
    auth_describe(&s.auth, what, sizeof what);
    fprintf(stderr, "cairn: auth: %s\n", what);
    fprintf(stderr, "cairn: http limits: %u connections, %u per client address, headers within %u s, idle %u s\n",
            ho.max_conns, ho.max_conns_per_ip, ho.header_timeout_s, ho.idle_timeout_s);
    if (pthread_create(&s.opener, NULL, open_thread, &s)) {
        fprintf(stderr, "cairn serve: cannot start a thread\n");
        http_stop(hs, 0);
        return 1;
    }
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "cairn: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&s.hs, NULL);
    http_stop(hs, 30000);
    pthread_join(s.opener, NULL);
    int status = 0;
    if (s.open_rc == CAIRN_OK) {
        wapi_set_db(&s.w, NULL);
        if (cairn_close(s.db) == CAIRN_OK) fprintf(stderr, "cairn: checkpointed and closed %s\n", data);
        else fprintf(stderr, "cairn: closed %s without a final checkpoint; the WAL is replayed at the next start\n", data);
    } else {
        status = 1;
    }
    wapi_free(&s.w);
    route_table_free(&s.routes);
    auth_free(&s.auth);
    papi_free(&s.q);
    return status;
}
