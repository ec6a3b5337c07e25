/*
 * prom_api.c — the Prometheus HTTP query API on `cairn serve`, as Grafana's
 * Prometheus data source, promtool and the npm prometheus-query client use
 * it (shared/docs/api-contract.md A; our reference is docs/api.md).
 *
 * Shape of a handler: collect parameters (papi_req: form body first, then
 * the query string, repeated keys kept, as Go's FormValue does; a POST body
 * without Content-Type is a form, because the Prometheus autocomplete client
 * sends one), validate them with Prometheus' own messages, pass the
 * concurrency gate, run the engine through include/cairn.h, and stream the
 * answer with the JSON writer (json.h) into one buffer that libmicrohttpd
 * sends without a copy. The engine's result is walked once; nothing is
 * built twice.
 *
 * Errors are envelopes {"status":"error","errorType":…,"error":…} with the
 * status from one table (papi_code_status): bad parameters and parse errors
 * are bad_data/400, evaluation failures execution/422, a deadline
 * timeout/503, storage failures and bugs internal/500. Queries beyond
 * --query-max-concurrency (default: the CPUs) wait in a bounded queue, as
 * Prometheus' engine waits on its gate, until a slot frees or their
 * deadline passes ("query timed out in query queue"); the time queued is
 * taken from the query's own timeout. When --query-max-queue are already
 * waiting the answer is 503 "unavailable" with Retry-After: 1 at once: an
 * unbounded pile-up behind slow queries would turn every later request
 * into a timeout and hold their memory.
 *
 * Memory: every query draws from its own budget (--query-max-bytes) and
 * from one budget shared by all running queries (--query-max-bytes-total,
 * papi_ctx.budget); an answer that would pass --query-max-response-bytes
 * is refused (422) before it is written.
 *
 * Range queries are evaluated at start, start+step, … ≤ end with no
 * realignment: Grafana aligns start and end itself (in the browser's time
 * zone) and shifting them server-side would move every point. More than
 * 11 000 points per series is refused before evaluation, as Prometheus does.
 *
 * Timestamps: float seconds are rounded to milliseconds, RFC 3339 is
 * accepted with any fraction and zone, and the two "infinite" strings Go
 * clients send for open ranges map to the ends of the int64 millisecond
 * range. Grafana's exemplar probe sends milliseconds where seconds are
 * expected; that is a far-future time, accepted and harmless.
 *
 * match[] selectors are parsed by the query parser (query/parse.h) and must
 * be a bare vector selector; several match[] are a union. Label names in
 * /api/v1/label/<name>/values may be "U__" escaped (Prometheus 3.x).
 *
 * Threads: handlers run on the HTTP pool; the context is read-only except
 * for atomics. Each request owns one arena for its parameters and scratch.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "ast.h"
#include "err.h"
#include "mem.h"
#include "parse.h"
#include "print.h"
#include "prom_api.h"
#include "server.h"

/* ==== Context =================================================================== */

int papi_init(papi_ctx *c, wapi_ctx *w)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->data_dir = "";
    c->started_unix = (int64_t)time(NULL);
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    c->timeout_ms = o.timeout_ms;
    c->max_samples = o.max_samples;
    c->max_series = o.max_series;
    c->max_loki_limit = 5000;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->max_concurrency = cpus > 0 && cpus < 4096 ? (unsigned)cpus : 1;
    c->max_queue = 4 * c->max_concurrency;
    c->max_bytes = o.max_bytes;
    c->max_bytes_total = PAPI_DEFAULT_MAX_BYTES_TOTAL;
    c->max_response_bytes = PAPI_DEFAULT_MAX_RESPONSE_BYTES;
    pthread_mutex_init(&c->gate_mu, NULL);
    pthread_cond_init(&c->gate_cv, NULL);
    c->budget = cairn_query_budget_new(c->max_bytes_total);
    return c->budget ? CAIRN_OK : CAIRN_ENOMEM;
}

void papi_apply_limits(papi_ctx *c)
{
    if (c->budget && cairn_query_budget_used(c->budget) == 0) {
        cairn_query_budget_free(c->budget);
        c->budget = cairn_query_budget_new(c->max_bytes_total);
    }
}

void papi_free(papi_ctx *c)
{
    cairn_query_budget_free(c->budget);
    c->budget = NULL;
    pthread_cond_destroy(&c->gate_cv);
    pthread_mutex_destroy(&c->gate_mu);
}

int64_t papi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== Answers ===================================================================== */

void papi_send(http_req *r, jw *w, unsigned status)
{
    void *p;
    size_t len, cap;
    if (jw_take(w, &p, &len, &cap)) {
        http_respond(r, 500, "application/json",
                     "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"out of memory\"}", 66);
        return;
    }
    http_respond_take(r, status, "application/json", p, len, cap);
}

void papi_error(http_req *r, unsigned status, const char *error_type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jw w;
    jw_init(&w, 256 + strlen(msg));
    jw_obj(&w);
    jw_key(&w, "status");
    jw_str_z(&w, "error");
    jw_key(&w, "errorType");
    jw_str_z(&w, error_type);
    jw_key(&w, "error");
    jw_str_z(&w, msg);
    jw_obj_end(&w);
    papi_send(r, &w, status);
}

void papi_begin(jw *w)
{
    jw_obj(w);
    jw_key(w, "status");
    jw_str_z(w, "success");
    jw_key(w, "data");
}

void papi_end(http_req *r, jw *w, const char *warning)
{
    if (warning) {
        jw_key(w, "warnings");
        jw_arr(w);
        jw_str_z(w, warning);
        jw_arr_end(w);
    }
    jw_obj_end(w);
    papi_send(r, w, 200);
}

unsigned papi_code_status(int code, const char **t)
{
    switch (code) {
    case CAIRN_EPARSE: *t = "bad_data"; return 400;
    case CAIRN_EINVAL:
    case CAIRN_ELIMIT:
    case CAIRN_EOUTOFORDER: *t = "execution"; return 422;
    case CAIRN_ETIMEOUT: *t = "timeout"; return 503;
    case CAIRN_NOTFOUND: *t = "not_found"; return 404;
    case CAIRN_ENOSPC: *t = "internal"; return 507; /* storage full: 507 Insufficient Storage */
    default: *t = "internal"; return 500;
    }
}

static void error_code(http_req *r, int code, const char *msg)
{
    const char *t;
    unsigned st = papi_code_status(code, &t);
    papi_error(r, st, t, "%s", msg);
}

/* ==== Gate and database ============================================================= */

static int64_t gate_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int papi_gate_enter_wait(papi_ctx *c, http_req *r, int loki, int64_t wait_ms, int64_t *waited_ms)
{
    unsigned max = c->max_concurrency;
    if (waited_ms) *waited_ms = 0;
    if (!max) {
        atomic_fetch_add(&c->running, 1);
        atomic_fetch_add_explicit(&c->n_queries, 1, memory_order_relaxed);
        return 1;
    }
    if (wait_ms <= 0) wait_ms = c->timeout_ms > 0 ? c->timeout_ms : 2 * 60 * 1000;
    pthread_mutex_lock(&c->gate_mu);
    int timed_out = 0, full = 0;
    int64_t t0 = gate_now_ms();
    if (atomic_load(&c->running) >= max) {
        /* A waiting query holds its HTTP pool thread: never let running and
         * waiting queries take the last one, so writes and health checks
         * are still served during a query storm. */
        unsigned busy = atomic_load(&c->running) + c->waiting + 1;
        if (c->waiting >= c->max_queue || (c->http_threads && busy >= c->http_threads)) {
            full = 1;
        } else {
            /* CLOCK_REALTIME: the condition variable's default clock */
            int64_t until = t0 + wait_ms;
            struct timespec dl = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
            c->waiting++;
            while (atomic_load(&c->running) >= max)
                if (pthread_cond_timedwait(&c->gate_cv, &c->gate_mu, &dl) == ETIMEDOUT &&
                    atomic_load(&c->running) >= max) {
                    timed_out = 1;
                    break;
                }
            c->waiting--;
        }
    }
    if (!full && !timed_out) atomic_fetch_add(&c->running, 1);
    pthread_mutex_unlock(&c->gate_mu);
    if (waited_ms) *waited_ms = gate_now_ms() - t0;
    if (full) {
        atomic_fetch_add_explicit(&c->n_rejected_busy, 1, memory_order_relaxed);
        http_set_header(r, "Retry-After", "1");
        if (loki)
            http_respond_text(r, 503, "too many concurrent queries (limit %u, %u queued); retry later", max,
                              c->max_queue);
        else
            papi_error(r, 503, "unavailable", "too many concurrent queries (limit %u, %u queued); retry later", max,
                       c->max_queue);
        return 0;
    }
    if (timed_out) {
        atomic_fetch_add_explicit(&c->n_rejected_busy, 1, memory_order_relaxed);
        if (loki) http_respond_text(r, 504, "query timed out in query queue");
        else papi_error(r, 503, "timeout", "query timed out in query queue");
        return 0;
    }
    atomic_fetch_add_explicit(&c->n_queries, 1, memory_order_relaxed);
    return 1;
}

int papi_gate_enter(papi_ctx *c, http_req *r, int loki) { return papi_gate_enter_wait(c, r, loki, 0, NULL); }

void papi_gate_leave(papi_ctx *c)
{
    if (!c->max_concurrency) {
        atomic_fetch_sub(&c->running, 1);
        return;
    }
    pthread_mutex_lock(&c->gate_mu);
    atomic_fetch_sub(&c->running, 1);
    if (c->waiting) pthread_cond_signal(&c->gate_cv);
    pthread_mutex_unlock(&c->gate_mu);
}

cairn_db *papi_db(papi_ctx *c, http_req *r, int loki)
{
    cairn_db *db = atomic_load(&c->w->db);
    if (db) return db;
    http_set_header(r, "Retry-After", "1");
    if (loki) http_respond_text(r, 503, "not ready: the database is opening (WAL replay)");
    else papi_error(r, 503, "unavailable", "not ready: the database is opening (WAL replay)");
    return NULL;
}

/* ==== Parameters ===================================================================== */

static int kv_add(papi_req *q, const char *k, size_t kn, const char *v, size_t vn)
{
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 16;
        papi_kv *nv = arena_alloc(q->ar, nc * sizeof *nv);
        if (!nv) return CAIRN_ENOMEM;
        if (q->n) memcpy(nv, q->kv, q->n * sizeof *nv);
        q->kv = nv;
        q->cap = nc;
    }
    char *ks = arena_strdup(q->ar, k, kn), *vs = arena_strdup(q->ar, v, vn);
    if (!ks || !vs) return CAIRN_ENOMEM;
    q->kv[q->n++] = (papi_kv){ks, vs};
    return CAIRN_OK;
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Form-decode s[0..n) in place into dst (at most n bytes); returns the length. */
static size_t form_unescape(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') dst[o++] = ' ';
        else if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
            dst[o++] = (char)(hexv(s[i + 1]) << 4 | hexv(s[i + 2]));
            i += 2;
        } else dst[o++] = s[i];
    }
    return o;
}

int papi_form_decode(papi_req *q, const char *s, size_t n)
{
    char *tmp = arena_alloc(q->ar, n + 1);
    if (!tmp) return CAIRN_ENOMEM;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '&') j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && s[eq] != '=') eq++;
            size_t kn = form_unescape(s + i, eq - i, tmp);
            char *k = arena_strdup(q->ar, tmp, kn);
            if (!k) return CAIRN_ENOMEM;
            size_t vn = eq < j ? form_unescape(s + eq + 1, j - eq - 1, tmp) : 0;
            if (kv_add(q, k, kn, tmp, vn)) return CAIRN_ENOMEM;
        }
        i = j + 1;
    }
    return CAIRN_OK;
}

typedef struct qa_ctx {
    papi_req *q;
    int rc;
} qa_ctx;

static void on_query_arg(void *ctx, const char *k, const char *v)
{
    qa_ctx *c = ctx;
    if (!c->rc) c->rc = kv_add(c->q, k, strlen(k), v, strlen(v));
}

int papi_req_init(papi_req *q, http_req *r)
{
    memset(q, 0, sizeof *q);
    q->http = r;
    q->ar = arena_new(16384);
    if (!q->ar) return CAIRN_ENOMEM;
    if (r && !strcmp(http_method(r), "POST")) {
        char mt[128];
        http_media_type(r, mt, sizeof mt);
        size_t n;
        const uint8_t *b = http_body(r, &n);
        if (n && (!mt[0] || !strcmp(mt, "application/x-www-form-urlencoded")))
            if (papi_form_decode(q, (const char *)b, n)) return CAIRN_ENOMEM;
    }
    if (r) {
        qa_ctx c = {q, 0};
        http_query_args(r, on_query_arg, &c);
        if (c.rc) return c.rc;
    }
    return CAIRN_OK;
}

void papi_req_free(papi_req *q)
{
    size_t held = q->ar ? arena_held(q->ar) : 0;
    arena_free(q->ar);
    q->ar = NULL;
    /* a LogQL query evaluates in this arena: give a big one back to the OS */
    if (held > MEM_TRIM_AFTER_BYTES) mem_trim();
}

const char *papi_arg(const papi_req *q, const char *name)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->kv[i].k, name) && q->kv[i].v[0]) return q->kv[i].v;
    return NULL;
}

size_t papi_arg_all(const papi_req *q, const char *name, const char **out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->kv[i].k, name)) {
            if (k < cap) out[k] = q->kv[i].v;
            k++;
        }
    return k;
}

/* ==== Times and durations ================================================================ */

/* Go's MinTime/MaxTime in seconds, as Prometheus' API defines them. */
#define PAPI_MIN_SEC (-9223309901257974LL)
#define PAPI_MAX_SEC (9223309901257974LL)
static const char min_time_str[] = "-292273086-05-16T16:47:06Z";
static const char max_time_str[] = "292277025-08-18T07:12:54.999999999Z";

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int papi_parse_rfc3339(const char *s, int64_t *sec, int32_t *nsec)
{
    int Y, M, D, h, m, sc;
    size_t n = strlen(s);
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &m) || digits(s + 17, 2, &sc))
        return -1;
    if (M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sc > 59) return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] || (M == 2 && D == 29 && !leap)) return -1;
    const char *p = s + 19;
    int32_t ns = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') {
            if (nd < 9) ns = ns * 10 + (*p - '0');
            nd++;
            p++;
        }
        for (; nd < 9; nd++) ns *= 10;
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strlen(p) != 6 || p[3] != ':' || digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    *sec = days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sc - off;
    *nsec = ns;
    return 0;
}

/* Go's strconv.ParseFloat for decimal text: no spaces, no "0x", finite. */
static int parse_float(const char *s, double *v)
{
    if (!*s || isspace((unsigned char)*s)) return -1;
    for (const char *p = s; *p; p++)
        if (*p == 'x' || *p == 'X' || *p == 'p' || *p == 'P') return -1;
    char *e;
    errno = 0;
    double d = strtod(s, &e);
    if (*e || e == s) return -1;
    if (errno == ERANGE && isinf(d)) return -1;
    *v = d;
    return 0;
}

int papi_parse_time(const char *s, int64_t *t_ms)
{
    double f;
    if (!parse_float(s, &f)) {
        if (isnan(f) || isinf(f) || f < (double)PAPI_MIN_SEC || f > (double)PAPI_MAX_SEC) return -1;
        double ip;
        double fr = modf(f, &ip);
        *t_ms = (int64_t)ip * 1000 + (int64_t)llround(fr * 1000);
        return 0;
    }
    if (!strcmp(s, min_time_str)) return *t_ms = PAPI_MIN_SEC * 1000, 0;
    if (!strcmp(s, max_time_str)) return *t_ms = PAPI_MAX_SEC * 1000 + 999, 0;
    int64_t sec;
    int32_t ns;
    if (papi_parse_rfc3339(s, &sec, &ns)) return -1;
    *t_ms = sec * 1000 + ns / 1000000;
    return 0;
}

int papi_parse_duration(const char *s, int64_t *ms)
{
    double f;
    if (!parse_float(s, &f)) {
        if (isnan(f) || fabs(f) * 1e9 > 9.2e18) return -1;
        *ms = (int64_t)(f * 1000.0);
        return 0;
    }
    return server_parse_duration(s, ms);
}

int papi_parse_uint(const char *s, uint64_t *v)
{
    if (!*s) return -1;
    uint64_t x = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || x > (UINT64_MAX - 9) / 10) return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *v = x;
    return 0;
}

static size_t utf8_put(char *d, uint32_t cp)
{
    if (cp < 0x80) return d[0] = (char)cp, 1;
    if (cp < 0x800) return d[0] = (char)(0xc0 | cp >> 6), d[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000)
        return d[0] = (char)(0xe0 | cp >> 12), d[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
               d[2] = (char)(0x80 | (cp & 0x3f)), 3;
    d[0] = (char)(0xf0 | cp >> 18), d[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    d[2] = (char)(0x80 | (cp >> 6 & 0x3f)), d[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

long papi_unescape_name(const char *s, char *dst, size_t cap)
{
    size_t n = strlen(s);
    if (strncmp(s, "U__", 3)) {
        if (n + 1 > cap) return -1;
        memcpy(dst, s, n + 1);
        return (long)n;
    }
    size_t o = 0;
    for (size_t i = 3; i < n;) {
        if (o + 5 > cap) return -1;
        if (s[i] != '_') {
            dst[o++] = s[i++];
            continue;
        }
        if (i + 1 < n && s[i + 1] == '_') {
            dst[o++] = '_';
            i += 2;
            continue;
        }
        size_t j = i + 1;
        uint32_t cp = 0;
        while (j < n && hexv(s[j]) >= 0 && j - i <= 8) cp = cp << 4 | (uint32_t)hexv(s[j++]);
        if (j == i + 1 || j >= n || s[j] != '_' || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0)
            return -1;
        o += utf8_put(dst + o, cp);
        i = j + 1;
    }
    dst[o] = 0;
    return (long)o;
}

static int legacy_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_')) return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return 0;
    return 1;
}

/* ==== Selectors ========================================================================== */

static int conv_op(ast_match_op op)
{
    switch (op) {
    case AST_MATCH_EQ: return CAIRN_MATCH_EQ;
    case AST_MATCH_NEQ: return CAIRN_MATCH_NE;
    case AST_MATCH_RE: return CAIRN_MATCH_RE;
    default: return CAIRN_MATCH_NRE;
    }
}

int papi_selector(arena *ar, int lang, const char *text, cairn_matcher **m, size_t *n_m, cairn_err *err)
{
    ast_node *root;
    int rc = parse_query(ar, lang == CAIRN_LANG_LOGQL ? QLANG_LOGQL : QLANG_PROMQL, text, strlen(text), &root, err);
    if (rc) return rc;
    while (root->kind == AST_PAREN) root = root->u.paren.expr;
    const ast_matcher *am;
    size_t an;
    int has_name = 0;
    if (lang == CAIRN_LANG_PROMQL) {
        if (root->kind != AST_VECTOR_SEL || root->u.sel.has_offset || root->u.sel.at != AST_AT_NONE)
            return err_set(err, CAIRN_EINVAL, "expected a vector selector, got %s", text);
        am = root->u.sel.m;
        an = root->u.sel.n_m;
        has_name = root->u.sel.name.len > 0;
    } else {
        if (root->kind != AST_LOG_SELECTOR || root->u.log.n_stages)
            return err_set(err, CAIRN_EINVAL, "expected a stream selector, got %s", text);
        am = root->u.log.m;
        an = root->u.log.n_m;
    }
    cairn_matcher *out = arena_alloc(ar, (an + 1) * sizeof *out);
    if (!out) return err_set(err, CAIRN_ENOMEM, "out of memory");
    size_t k = 0;
    if (has_name)
        out[k++] = (cairn_matcher){CAIRN_MATCH_EQ, "__name__", 8, root->u.sel.name.p, root->u.sel.name.len};
    for (size_t i = 0; i < an; i++)
        out[k++] = (cairn_matcher){conv_op(am[i].op), am[i].name.p, am[i].name.len, am[i].value.p, am[i].value.len};
    *m = out;
    *n_m = k;
    return CAIRN_OK;
}

/* ==== Result writing ======================================================================= */

static void write_labels(jw *w, const cairn_label *ls, size_t n)
{
    jw_obj(w);
    for (size_t i = 0; i < n; i++) {
        jw_keyn(w, ls[i].name, ls[i].name_len);
        jw_str(w, ls[i].value, ls[i].value_len);
    }
    jw_obj_end(w);
}

static void write_point(jw *w, int64_t t, double v)
{
    jw_arr(w);
    jw_prom_time(w, t);
    jw_prom_value(w, v);
    jw_arr_end(w);
}

/* data: {"resultType":…,"result":…} for a finished query (strings are written by the caller). */
static void write_result(jw *w, cairn_query *q, size_t limit, int *truncated)
{
    int type = cairn_query_result_type(q);
    jw_obj(w);
    jw_key(w, "resultType");
    jw_str_z(w, type == CAIRN_RESULT_SCALAR   ? "scalar"
                : type == CAIRN_RESULT_VECTOR ? "vector"
                : type == CAIRN_RESULT_STRING ? "string"
                                              : "matrix");
    jw_key(w, "result");
    if (type == CAIRN_RESULT_SCALAR) {
        const int64_t *t;
        const double *v;
        size_t np;
        cairn_query_series(q, 0, NULL, NULL, &t, &v, &np);
        if (np) write_point(w, t[0], v[0]);
        else jw_null(w);
    } else {
        size_t ns = cairn_query_series_count(q);
        if (limit && ns > limit) ns = limit, *truncated = 1;
        jw_arr(w);
        for (size_t i = 0; i < ns; i++) {
            const cairn_label *ls;
            size_t nl, np;
            const int64_t *t;
            const double *v;
            cairn_query_series(q, i, &ls, &nl, &t, &v, &np);
            jw_obj(w);
            jw_key(w, "metric");
            write_labels(w, ls, nl);
            if (type == CAIRN_RESULT_VECTOR) {
                jw_key(w, "value");
                if (np) write_point(w, t[0], v[0]);
                else jw_null(w);
            } else {
                jw_key(w, "values");
                jw_arr(w);
                for (size_t k = 0; k < np; k++) write_point(w, t[k], v[k]);
                jw_arr_end(w);
            }
            jw_obj_end(w);
        }
        jw_arr_end(w);
    }
    jw_obj_end(w);
}

/* ==== /api/v1/query and /api/v1/query_range ==================================================== */

static void bad_param(http_req *r, const char *name, const char *what, const char *val)
{
    papi_error(r, 400, "bad_data", "invalid parameter \"%s\": cannot parse \"%.200s\" to a valid %s", name, val, what);
}

/* Fill query options from timeout/lookback_delta; answers 400 and returns -1 on a bad value. */
static int query_opts(papi_ctx *c, papi_req *q, cairn_query_opts *o)
{
    cairn_query_opts_default(o);
    o->timeout_ms = c->timeout_ms;
    o->max_samples = c->max_samples;
    o->max_series = c->max_series;
    o->max_bytes = c->max_bytes;
    o->shared_budget = c->budget;
    o->max_points_per_series = 0; /* checked here, with Prometheus' message */
    const char *s;
    int64_t d;
    if ((s = papi_arg(q, "timeout"))) {
        if (papi_parse_duration(s, &d) || d <= 0) return bad_param(q->http, "timeout", "duration", s), -1;
        if (!o->timeout_ms || d < o->timeout_ms) o->timeout_ms = d;
    }
    if ((s = papi_arg(q, "lookback_delta"))) {
        if (papi_parse_duration(s, &d) || d < 0) return bad_param(q->http, "lookback_delta", "duration", s), -1;
        if (d) o->lookback_ms = d;
    }
    return 0;
}

static void run_query(papi_ctx *c, papi_req *q, int range)
{
    http_req *r = q->http;
    const char *text = papi_arg(q, "query"), *s;
    int64_t start, end, step = 0;
    uint64_t limit = 0;
    if (!text) {
        papi_error(r, 400, "bad_data", "invalid parameter \"query\": query must not be empty");
        return;
    }
    if (range) {
        if (!(s = papi_arg(q, "start")) || papi_parse_time(s, &start))
            return bad_param(r, "start", "timestamp", s ? s : "");
        if (!(s = papi_arg(q, "end")) || papi_parse_time(s, &end)) return bad_param(r, "end", "timestamp", s ? s : "");
        if (end < start) {
            papi_error(r, 400, "bad_data", "invalid parameter \"end\": end timestamp must not be before start time");
            return;
        }
        if (!(s = papi_arg(q, "step")) || papi_parse_duration(s, &step))
            return bad_param(r, "step", "duration", s ? s : "");
        if (step <= 0) {
            papi_error(r, 400, "bad_data",
                       "invalid parameter \"step\": zero or negative query resolution step widths are not "
                       "accepted. Try a positive integer");
            return;
        }
        if (((uint64_t)end - (uint64_t)start) / (uint64_t)step > 11000) {
            papi_error(r, 400, "bad_data",
                       "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
                       "resolution (?step=XX)");
            return;
        }
    } else {
        if ((s = papi_arg(q, "time"))) {
            if (papi_parse_time(s, &start)) return bad_param(r, "time", "timestamp", s);
        } else {
            start = papi_now_ms();
        }
        end = start;
    }
    if ((s = papi_arg(q, "limit")) && papi_parse_uint(s, &limit)) return bad_param(r, "limit", "number", s);
    cairn_query_opts o;
    if (query_opts(c, q, &o)) return;
    cairn_db *db = papi_db(c, r, 0);
    int64_t waited = 0;
    if (!db || !papi_gate_enter_wait(c, r, 0, o.timeout_ms, &waited)) return;
    /* the deadline counts from arrival: time in the queue is spent */
    if (o.timeout_ms > 0) o.timeout_ms = o.timeout_ms > waited + 1 ? o.timeout_ms - waited : 1;
    cairn_query *cq = NULL;
    cairn_err e;
    int rc = cairn_query_open(db, CAIRN_LANG_PROMQL, text, strlen(text), start, end, step, &o, &cq, &e);
    papi_gate_leave(c);
    if (rc) {
        if (rc == CAIRN_EPARSE) papi_error(r, 400, "bad_data", "invalid parameter \"query\": %s", e.msg);
        else error_code(r, rc, e.msg);
        return;
    }
    /* Refuse an answer larger than max_response_bytes before writing it:
     * each point takes at least 16 bytes of JSON ([1700000000,"1"],) and
     * each series its labels plus ~40 bytes of keys. */
    size_t np_total = 0;
    uint64_t est = 64;
    for (size_t i = 0; i < cairn_query_series_count(cq); i++) {
        size_t np, nl;
        const cairn_label *ls;
        cairn_query_series(cq, i, &ls, &nl, NULL, NULL, &np);
        np_total += np;
        est += 40 + (uint64_t)np * 16;
        for (size_t k = 0; k < nl; k++) est += ls[k].name_len + ls[k].value_len + 6;
    }
    if (c->max_response_bytes && est > c->max_response_bytes) {
        size_t ns = cairn_query_series_count(cq);
        cairn_query_close(cq);
        papi_error(r, 422, "execution",
                   "query result would be larger than %llu bytes (--query-max-response-bytes): %zu series, %zu "
                   "points; narrow the selector, shorten the range or raise the step",
                   (unsigned long long)c->max_response_bytes, ns, np_total);
        return;
    }
    jw w;
    jw_init(&w, 256 + np_total * 32);
    papi_begin(&w);
    int truncated = 0;
    if (cairn_query_result_type(cq) == CAIRN_RESULT_STRING) {
        const char *str;
        size_t n;
        cairn_query_string(cq, &str, &n);
        jw_obj(&w);
        jw_key(&w, "resultType");
        jw_str_z(&w, "string");
        jw_key(&w, "result");
        jw_arr(&w);
        jw_prom_time(&w, start);
        jw_str(&w, str, n);
        jw_arr_end(&w);
        jw_obj_end(&w);
    } else {
        write_result(&w, cq, (size_t)limit, &truncated);
    }
    cairn_query_close(cq);
    papi_end(r, &w, truncated ? "results truncated due to limit" : NULL);
}

static void h_query(http_req *r, void *ctx)
{
    papi_req q;
    if (papi_req_init(&q, r)) papi_error(r, 500, "internal", "out of memory");
    else run_query(ctx, &q, 0);
    papi_req_free(&q);
}

static void h_query_range(http_req *r, void *ctx)
{
    papi_req q;
    if (papi_req_init(&q, r)) papi_error(r, 500, "internal", "out of memory");
    else run_query(ctx, &q, 1);
    papi_req_free(&q);
}

/* ==== series, labels, label values ============================================================== */

typedef struct sel_list {
    cairn_matcher **m;
    size_t *n;
    size_t count;
} sel_list;

/* start/end (default: all time) and match[] selectors. Answers 400 and returns -1 on bad input. */
static int read_bounds(papi_req *q, int64_t *start, int64_t *end, uint64_t *limit, sel_list *sl, int need_match)
{
    http_req *r = q->http;
    const char *s;
    *start = PAPI_MIN_SEC * 1000;
    *end = PAPI_MAX_SEC * 1000 + 999;
    *limit = 0;
    if ((s = papi_arg(q, "start")) && papi_parse_time(s, start)) return bad_param(r, "start", "timestamp", s), -1;
    if ((s = papi_arg(q, "end")) && papi_parse_time(s, end)) return bad_param(r, "end", "timestamp", s), -1;
    if ((s = papi_arg(q, "limit")) && papi_parse_uint(s, limit)) return bad_param(r, "limit", "number", s), -1;
    size_t n = papi_arg_all(q, "match[]", NULL, 0);
    if (!n && need_match) {
        papi_error(r, 400, "bad_data", "no match[] parameter provided");
        return -1;
    }
    memset(sl, 0, sizeof *sl);
    if (!n) return 0;
    const char **txt = arena_alloc(q->ar, n * sizeof *txt);
    sl->m = arena_alloc(q->ar, n * sizeof *sl->m);
    sl->n = arena_alloc(q->ar, n * sizeof *sl->n);
    if (!txt || !sl->m || !sl->n) return papi_error(r, 500, "internal", "out of memory"), -1;
    papi_arg_all(q, "match[]", txt, n);
    for (size_t i = 0; i < n; i++) {
        cairn_err e;
        if (!txt[i][0]) continue;
        if (papi_selector(q->ar, CAIRN_LANG_PROMQL, txt[i], &sl->m[sl->count], &sl->n[sl->count], &e)) {
            papi_error(r, 400, "bad_data", "invalid parameter \"match[]\": %s", e.msg);
            return -1;
        }
        sl->count++;
    }
    if (!sl->count && need_match) {
        papi_error(r, 400, "bad_data", "no match[] parameter provided");
        return -1;
    }
    return 0;
}

static int lset_cmp(const cairn_label *a, size_t na, const cairn_label *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++) {
        size_t l = a[i].name_len < b[i].name_len ? a[i].name_len : b[i].name_len;
        int c = memcmp(a[i].name, b[i].name, l);
        if (!c) c = (a[i].name_len > b[i].name_len) - (a[i].name_len < b[i].name_len);
        if (c) return c;
        l = a[i].value_len < b[i].value_len ? a[i].value_len : b[i].value_len;
        c = memcmp(a[i].value, b[i].value, l);
        if (!c) c = (a[i].value_len > b[i].value_len) - (a[i].value_len < b[i].value_len);
        if (c) return c;
    }
    return (na > nb) - (na < nb);
}

static int sref_cmp(const void *x, const void *y)
{
    const papi_sref *a = x, *b = y;
    int c = lset_cmp(a->ls, a->n, b->ls, b->n);
    return c ? c : (a->id > b->id) - (a->id < b->id);
}

int papi_union_select(cairn_db *db, int kind, cairn_matcher *const *m, const size_t *n_m, size_t count, int64_t start,
                      int64_t end, papi_union *u, cairn_err *err)
{
    memset(u, 0, sizeof *u);
    u->sets = mem_calloc(count ? count : 1, sizeof *u->sets);
    if (!u->sets) return err_set(err, CAIRN_ENOMEM, "out of memory listing series");
    u->n_sets = count;
    int rc = CAIRN_OK;
    for (size_t i = 0; i < count && !rc; i++) {
        rc = cairn_select(db, kind, m[i], n_m[i], start, end, &u->sets[i], err);
        uint64_t id;
        const cairn_label *ls;
        size_t n;
        while (!rc && cairn_series_set_next(u->sets[i], &id, &ls, &n)) {
            if (u->n == u->cap) {
                size_t nc = u->cap ? u->cap * 2 : 256;
                papi_sref *nv = mem_realloc(u->v, u->cap * sizeof *nv, nc * sizeof *nv);
                if (!nv) return err_set(err, CAIRN_ENOMEM, "out of memory listing series");
                u->v = nv, u->cap = nc;
            }
            u->v[u->n++] = (papi_sref){id, ls, n};
        }
    }
    if (rc) return rc;
    if (u->n) qsort(u->v, u->n, sizeof *u->v, sref_cmp);
    size_t k = 0;
    for (size_t i = 0; i < u->n; i++)
        if (!k || u->v[i].id != u->v[k - 1].id) u->v[k++] = u->v[i];
    u->n = k;
    return CAIRN_OK;
}

void papi_union_free(papi_union *u)
{
    for (size_t i = 0; i < u->n_sets; i++) cairn_series_set_close(u->sets[i]);
    mem_free(u->sets, (u->n_sets ? u->n_sets : 1) * sizeof *u->sets);
    mem_free(u->v, u->cap * sizeof *u->v);
    memset(u, 0, sizeof *u);
}

static void h_series(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    papi_req q;
    int64_t start, end;
    uint64_t limit;
    sel_list sl = {0};
    papi_union u = {0};
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if (read_bounds(&q, &start, &end, &limit, &sl, 1)) goto out;
    cairn_db *db = papi_db(c, r, 0);
    if (!db || !papi_gate_enter(c, r, 0)) goto out;
    cairn_err e = {0};
    int rc = papi_union_select(db, CAIRN_KIND_METRIC, sl.m, sl.n, sl.count, start, end, &u, &e);
    papi_gate_leave(c);
    if (rc) {
        error_code(r, rc == CAIRN_EINVAL ? CAIRN_EPARSE : rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 256 + u.n * 64);
    papi_begin(&w);
    jw_arr(&w);
    size_t written = limit && limit < u.n ? (size_t)limit : u.n;
    for (size_t i = 0; i < written; i++) write_labels(&w, u.v[i].ls, u.v[i].n);
    jw_arr_end(&w);
    papi_end(r, &w, written < u.n ? "results truncated due to limit" : NULL);
out:
    papi_union_free(&u);
    papi_req_free(&q);
}

typedef struct strv {
    const char **s;
    size_t *n;
    size_t len, cap;
} strv;

static int strv_push(strv *v, arena *ar, const char *s, size_t n)
{
    if (v->len == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        const char **ns = arena_alloc(ar, nc * sizeof *ns);
        size_t *nn = arena_alloc(ar, nc * sizeof *nn);
        if (!ns || !nn) return CAIRN_ENOMEM;
        if (v->len) memcpy(ns, v->s, v->len * sizeof *ns), memcpy(nn, v->n, v->len * sizeof *nn);
        v->s = ns, v->n = nn, v->cap = nc;
    }
    const char *c = arena_strdup(ar, s, n);
    if (!c) return CAIRN_ENOMEM;
    v->s[v->len] = c;
    v->n[v->len++] = n;
    return CAIRN_OK;
}

static int cstr_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/*
 * Label names (name == NULL) or values of `name` under the union of the
 * selectors, sorted and unique, into `out`. kind: CAIRN_KIND_METRIC or LOG.
 */
static int collect_strings(cairn_db *db, int kind, const char *name, const sel_list *sl, int64_t start,
                           int64_t end, arena *ar, strv *out, cairn_err *e)
{
    size_t rounds = sl->count ? sl->count : 1;
    for (size_t i = 0; i < rounds; i++) {
        cairn_strings *st = NULL;
        const cairn_matcher *m = sl->count ? sl->m[i] : NULL;
        size_t nm = sl->count ? sl->n[i] : 0;
        int rc = name ? cairn_label_values(db, kind, name, strlen(name), m, nm, start, end, &st, e)
                      : cairn_label_names(db, kind, m, nm, start, end, &st, e);
        if (rc) return rc;
        const char *s;
        size_t n;
        while (cairn_strings_next(st, &s, &n))
            if ((rc = strv_push(out, ar, s, n))) break;
        cairn_strings_close(st);
        if (rc) return err_set(e, rc, "out of memory");
    }
    if (rounds > 1 && out->len > 1) {
        /* strings hold no NUL bytes from the index (label syntax), so strcmp order is byte order */
        qsort(out->s, out->len, sizeof *out->s, cstr_cmp);
        size_t k = 1;
        for (size_t i = 1; i < out->len; i++)
            if (strcmp(out->s[i], out->s[k - 1])) out->s[k++] = out->s[i];
        out->len = k;
    }
    return CAIRN_OK;
}

static void strings_answer(papi_ctx *c, http_req *r, const char *name)
{
    papi_req q;
    int64_t start, end;
    uint64_t limit;
    sel_list sl = {0};
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if (read_bounds(&q, &start, &end, &limit, &sl, 0)) goto out;
    cairn_db *db = papi_db(c, r, 0);
    if (!db || !papi_gate_enter(c, r, 0)) goto out;
    strv v = {0};
    cairn_err e = {0};
    int rc = collect_strings(db, CAIRN_KIND_METRIC, name, &sl, start, end, q.ar, &v, &e);
    papi_gate_leave(c);
    if (rc) {
        error_code(r, rc == CAIRN_EINVAL ? CAIRN_EPARSE : rc, e.msg);
        goto out;
    }
    jw w;
    jw_init(&w, 256 + v.len * 24);
    papi_begin(&w);
    jw_arr(&w);
    size_t n = limit && v.len > limit ? (size_t)limit : v.len;
    for (size_t i = 0; i < n; i++) jw_str(&w, v.s[i], strlen(v.s[i]));
    jw_arr_end(&w);
    papi_end(r, &w, n < v.len ? "results truncated due to limit" : NULL);
out:
    papi_req_free(&q);
}

static void h_labels(http_req *r, void *ctx) { strings_answer(ctx, r, NULL); }

static void h_label_values(http_req *r, void *ctx)
{
    const char *p = http_path(r);
    const char *pre = "/api/v1/label/";
    size_t pl = strlen(pre), n = strlen(p);
    if (n <= pl + 7 || strcmp(p + n - 7, "/values")) {
        papi_error(r, 404, "not_found", "unknown path %s", p);
        return;
    }
    char raw[1024], name[1024];
    size_t rl = n - pl - 7;
    if (rl >= sizeof raw) {
        papi_error(r, 400, "bad_data", "invalid label name: too long");
        return;
    }
    memcpy(raw, p + pl, rl);
    raw[rl] = 0;
    long nl = papi_unescape_name(raw, name, sizeof name);
    if (nl <= 0 || (strncmp(raw, "U__", 3) && !legacy_name(name)) || memchr(name, 0, (size_t)nl)) {
        papi_error(r, 400, "bad_data", "invalid label name: \"%.200s\"", raw);
        return;
    }
    strings_answer(ctx, r, name);
}

/* ==== metadata ===================================================================================== */

typedef struct meta_copy {
    arena *ar;
    const char *only;
    struct mrow {
        const char *name, *help, *unit;
        int type;
    } *v;
    size_t n, cap;
    int oom;
} meta_copy;

static void on_meta(void *arg, const ingest_meta *m)
{
    meta_copy *mc = arg;
    if (mc->oom || (mc->only && strcmp(mc->only, m->name))) return;
    if (mc->n == mc->cap) {
        size_t nc = mc->cap ? mc->cap * 2 : 128;
        struct mrow *nv = arena_alloc(mc->ar, nc * sizeof *nv);
        if (!nv) {
            mc->oom = 1;
            return;
        }
        if (mc->n) memcpy(nv, mc->v, mc->n * sizeof *nv);
        mc->v = nv, mc->cap = nc;
    }
    struct mrow *r = &mc->v[mc->n];
    r->name = arena_strdup(mc->ar, m->name, m->name_len);
    r->help = arena_strdup(mc->ar, m->help ? m->help : "", m->help ? m->help_len : 0);
    r->unit = arena_strdup(mc->ar, m->unit ? m->unit : "", m->unit ? m->unit_len : 0);
    r->type = m->type;
    if (!r->name || !r->help || !r->unit) mc->oom = 1;
    else mc->n++;
}

static int mrow_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mrow *)a)->name, ((const struct mrow *)b)->name);
}

static const char *meta_type_name(int t)
{
    static const char *const names[] = {"unknown", "counter", "gauge", "histogram", "gaugehistogram",
                                        "summary", "info",    "stateset"};
    return t >= 0 && t < 8 ? names[t] : "unknown";
}

static void h_metadata(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    papi_req q;
    uint64_t limit = 0, lpm = 0;
    const char *s;
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if ((s = papi_arg(&q, "limit")) && strcmp(s, "-1") && papi_parse_uint(s, &limit)) {
        bad_param(r, "limit", "number", s);
        goto out;
    }
    if ((s = papi_arg(&q, "limit_per_metric")) && strcmp(s, "-1") && papi_parse_uint(s, &lpm)) {
        bad_param(r, "limit_per_metric", "number", s);
        goto out;
    }
    meta_copy mc = {q.ar, papi_arg(&q, "metric"), NULL, 0, 0, 0};
    wapi_meta_foreach(c->w, on_meta, &mc);
    if (mc.oom) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if (mc.n) qsort(mc.v, mc.n, sizeof *mc.v, mrow_cmp);
    jw w;
    jw_init(&w, 256 + mc.n * 96);
    papi_begin(&w);
    jw_obj(&w);
    size_t fams = 0;
    for (size_t i = 0; i < mc.n;) {
        size_t j = i;
        while (j < mc.n && !strcmp(mc.v[j].name, mc.v[i].name)) j++;
        if (limit && fams == limit) break;
        jw_key(&w, mc.v[i].name);
        jw_arr(&w);
        for (size_t k = i; k < j && (!lpm || k - i < lpm); k++) {
            jw_obj(&w);
            jw_key(&w, "type");
            jw_str_z(&w, meta_type_name(mc.v[k].type));
            jw_key(&w, "help");
            jw_str_z(&w, mc.v[k].help);
            jw_key(&w, "unit");
            jw_str_z(&w, mc.v[k].unit);
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        fams++;
        i = j;
    }
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
out:
    papi_req_free(&q);
}

/* ==== status endpoints ======================================================================================== */

static void h_buildinfo(http_req *r, void *ctx)
{
    (void)ctx;
    /* No "features" object: Grafana would take us for Mimir (api-contract A.5.7). */
    jw w;
    jw_init(&w, 512);
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "version");
    jw_str_z(&w, "2.53.0");
    jw_key(&w, "revision");
    jw_str_z(&w, "cairn-" CAIRN_VERSION_STRING);
    jw_key(&w, "branch");
    jw_str_z(&w, "cairn");
    jw_key(&w, "buildUser");
    jw_str_z(&w, "cairn");
    jw_key(&w, "buildDate");
    jw_str_z(&w, __DATE__);
    jw_key(&w, "goVersion");
    jw_str_z(&w, "c11");
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
}

static void h_flags(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    jw w;
    jw_init(&w, 1024);
    papi_begin(&w);
    jw_obj(&w);
    for (size_t i = 0; i < c->n_flags; i++) {
        jw_key(&w, c->flags[i].name);
        jw_str_z(&w, c->flags[i].value);
    }
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
}

static void h_config(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    char y[4096];
    size_t o = (size_t)snprintf(y, sizeof y, "# cairn %s has no configuration file; serve flags:\n", cairn_version());
    for (size_t i = 0; i < c->n_flags && o < sizeof y; i++)
        o += (size_t)snprintf(y + o, sizeof y - o, "#   --%s=%s\n", c->flags[i].name, c->flags[i].value);
    if (o >= sizeof y) o = sizeof y - 1;
    jw w;
    jw_init(&w, o + 128);
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "yaml");
    jw_str(&w, y, o);
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
}

static void rfc3339(char *dst, size_t cap, int64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void h_runtimeinfo(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    char st[40], cwd[1024];
    rfc3339(st, sizeof st, c->started_unix);
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "");
    jw w;
    jw_init(&w, 1024);
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "startTime");
    jw_str_z(&w, st);
    jw_key(&w, "CWD");
    jw_str_z(&w, cwd);
    jw_key(&w, "reloadConfigSuccess");
    jw_bool(&w, 1);
    jw_key(&w, "lastConfigTime");
    jw_str_z(&w, st);
    jw_key(&w, "corruptionCount");
    jw_int(&w, 0);
    jw_key(&w, "goroutineCount");
    jw_int(&w, (int64_t)atomic_load(&c->running));
    jw_key(&w, "GOMAXPROCS");
    jw_int(&w, sysconf(_SC_NPROCESSORS_ONLN));
    jw_key(&w, "GOGC");
    jw_str_z(&w, "");
    jw_key(&w, "GODEBUG");
    jw_str_z(&w, "");
    jw_key(&w, "storageRetention");
    const char *ret = "15d";
    for (size_t i = 0; i < c->n_flags; i++)
        if (!strcmp(c->flags[i].name, "retention-metrics")) ret = c->flags[i].value;
    jw_str_z(&w, ret);
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
}

/* Sort (name, count) pairs by count descending, then name. */
typedef struct ncount {
    const char *name;
    uint64_t n;
} ncount;

static int ncount_cmp(const void *a, const void *b)
{
    const ncount *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Count equal strings of a sorted list into pairs (in the arena). */
static size_t count_runs(arena *ar, const char **s, size_t n, ncount **out)
{
    ncount *v = arena_alloc(ar, (n ? n : 1) * sizeof *v);
    size_t k = 0;
    if (!v) return *out = NULL, 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(s[j], s[i])) j++;
        v[k++] = (ncount){s[i], (uint64_t)(j - i)};
        i = j;
    }
    qsort(v, k, sizeof *v, ncount_cmp);
    *out = v;
    return k;
}

static void write_top(jw *w, const char *key, const ncount *v, size_t n, size_t limit)
{
    jw_key(w, key);
    jw_arr(w);
    for (size_t i = 0; i < n && i < limit; i++) {
        jw_obj(w);
        jw_key(w, "name");
        jw_str_z(w, v[i].name);
        jw_key(w, "value");
        jw_uint(w, v[i].n);
        jw_obj_end(w);
    }
    jw_arr_end(w);
}

/*
 * /api/v1/status/tsdb: cardinality. One pass over every metric series
 * collects metric names, label names and name=value pairs as strings in the
 * request arena; sorting and counting runs gives the top lists. Prometheus'
 * fields plus seriesCountByLabelName (which labels fan out the most series).
 */
static void h_tsdb(http_req *r, void *ctx)
{
    papi_ctx *c = ctx;
    papi_req q;
    cairn_series_set *set = NULL;
    uint64_t limit = 10;
    const char *s;
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    if ((s = papi_arg(&q, "limit")) && (papi_parse_uint(s, &limit) || !limit)) {
        bad_param(r, "limit", "number", s);
        goto out;
    }
    cairn_db *db = papi_db(c, r, 0);
    if (!db || !papi_gate_enter(c, r, 0)) goto out;
    cairn_err e;
    int rc = cairn_select(db, CAIRN_KIND_METRIC, NULL, 0, INT64_MIN, INT64_MAX, &set, &e);
    strv names = {0}, lnames = {0}, pairs = {0};
    uint64_t n_series = 0, bytes_by_name_total = 0;
    (void)bytes_by_name_total;
    uint64_t id;
    const cairn_label *ls;
    size_t nl;
    while (!rc && cairn_series_set_next(set, &id, &ls, &nl)) {
        n_series++;
        for (size_t i = 0; i < nl && !rc; i++) {
            if (ls[i].name_len == 8 && !memcmp(ls[i].name, "__name__", 8))
                rc = strv_push(&names, q.ar, ls[i].value, ls[i].value_len);
            if (!rc) rc = strv_push(&lnames, q.ar, ls[i].name, ls[i].name_len);
            if (!rc) {
                size_t pl = ls[i].name_len + 1 + ls[i].value_len;
                char *pb = arena_alloc(q.ar, pl + 1);
                if (!pb) rc = CAIRN_ENOMEM;
                else {
                    memcpy(pb, ls[i].name, ls[i].name_len);
                    pb[ls[i].name_len] = '=';
                    memcpy(pb + ls[i].name_len + 1, ls[i].value, ls[i].value_len);
                    rc = strv_push(&pairs, q.ar, pb, pl);
                }
            }
        }
        if (rc) err_set(&e, rc, "out of memory computing cardinality");
    }
    papi_gate_leave(c);
    if (rc) {
        error_code(r, rc, e.msg);
        goto out;
    }
    if (names.len) qsort(names.s, names.len, sizeof *names.s, cstr_cmp);
    if (lnames.len) qsort(lnames.s, lnames.len, sizeof *lnames.s, cstr_cmp);
    if (pairs.len) qsort(pairs.s, pairs.len, sizeof *pairs.s, cstr_cmp);
    ncount *by_metric, *by_lname, *by_pair;
    size_t n_metric = count_runs(q.ar, names.s, names.len, &by_metric);
    size_t n_lname = count_runs(q.ar, lnames.s, lnames.len, &by_lname);
    size_t n_pair = count_runs(q.ar, pairs.s, pairs.len, &by_pair);
    /* distinct values per label name: pairs are sorted "name=value", so count names over unique pairs */
    const char **pn = arena_alloc(q.ar, (n_pair ? n_pair : 1) * sizeof *pn);
    ncount *by_values = NULL;
    size_t n_values = 0;
    if (!by_metric || !by_lname || !by_pair || !pn) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_pair; i++) {
        const char *eq = strchr(by_pair[i].name, '=');
        pn[i] = arena_strdup(q.ar, by_pair[i].name, (size_t)(eq - by_pair[i].name));
        if (!pn[i]) {
            papi_error(r, 500, "internal", "out of memory");
            goto out;
        }
    }
    if (n_pair) qsort(pn, n_pair, sizeof *pn, cstr_cmp);
    n_values = count_runs(q.ar, pn, n_pair, &by_values);
    cairn_stats st;
    cairn_stats_get(db, &st);
    jw w;
    jw_init(&w, 4096);
    papi_begin(&w);
    jw_obj(&w);
    jw_key(&w, "headStats");
    jw_obj(&w);
    jw_key(&w, "numSeries");
    jw_uint(&w, n_series);
    jw_key(&w, "numLabelPairs");
    jw_uint(&w, n_pair);
    jw_key(&w, "chunkCount");
    jw_int(&w, 0);
    jw_key(&w, "minTime");
    jw_int(&w, 0);
    jw_key(&w, "maxTime");
    jw_int(&w, 0);
    jw_obj_end(&w);
    write_top(&w, "seriesCountByMetricName", by_metric, n_metric, (size_t)limit);
    write_top(&w, "labelValueCountByLabelName", by_values, n_values, (size_t)limit);
    write_top(&w, "seriesCountByLabelName", by_lname, n_lname, (size_t)limit);
    write_top(&w, "seriesCountByLabelValuePair", by_pair, n_pair, (size_t)limit);
    jw_obj_end(&w);
    papi_end(r, &w, NULL);
out:
    cairn_series_set_close(set);
    papi_req_free(&q);
}

/* ==== format_query, exemplars, rules, alerts, targets ============================================== */

static void h_format_query(http_req *r, void *ctx)
{
    (void)ctx;
    papi_req q;
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    const char *text = papi_arg(&q, "query");
    if (!text) {
        papi_error(r, 400, "bad_data", "invalid parameter \"query\": query must not be empty");
        goto out;
    }
    ast_node *root;
    cairn_err e;
    if (parse_query(q.ar, QLANG_PROMQL, text, strlen(text), &root, &e)) {
        papi_error(r, 400, "bad_data", "invalid parameter \"query\": %s", e.msg);
        goto out;
    }
    size_t n;
    char *pretty = print_ast_z(q.ar, root, &n);
    if (!pretty) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    jw w;
    jw_init(&w, n + 64);
    papi_begin(&w);
    jw_str(&w, pretty, n);
    papi_end(r, &w, NULL);
out:
    papi_req_free(&q);
}

static void h_exemplars(http_req *r, void *ctx)
{
    (void)ctx;
    papi_req q;
    if (papi_req_init(&q, r)) {
        papi_error(r, 500, "internal", "out of memory");
        goto out;
    }
    const char *text = papi_arg(&q, "query"), *s;
    int64_t t;
    if ((s = papi_arg(&q, "start")) && papi_parse_time(s, &t)) {
        bad_param(r, "start", "timestamp", s);
        goto out;
    }
    if ((s = papi_arg(&q, "end")) && papi_parse_time(s, &t)) {
        bad_param(r, "end", "timestamp", s);
        goto out;
    }
    if (text) {
        ast_node *root;
        cairn_err e;
        if (parse_query(q.ar, QLANG_PROMQL, text, strlen(text), &root, &e)) {
            papi_error(r, 400, "bad_data", "invalid parameter \"query\": %s", e.msg);
            goto out;
        }
    }
    /* cairn stores no exemplars: an empty success keeps Grafana's exemplar toggle usable. */
    http_respond(r, 200, "application/json", "{\"status\":\"success\",\"data\":[]}", 30);
out:
    papi_req_free(&q);
}

static void h_rules(http_req *r, void *ctx)
{
    (void)ctx;
    http_respond(r, 200, "application/json", "{\"status\":\"success\",\"data\":{\"groups\":[]}}", 41);
}

static void h_alerts(http_req *r, void *ctx)
{
    (void)ctx;
    http_respond(r, 200, "application/json", "{\"status\":\"success\",\"data\":{\"alerts\":[]}}", 41);
}

static void h_targets(http_req *r, void *ctx)
{
    (void)ctx;
    static const char body[] = "{\"status\":\"success\",\"data\":{\"activeTargets\":[],\"droppedTargets\":[]}}";
    http_respond(r, 200, "application/json", body, sizeof body - 1);
}

/* ==== Routes ============================================================================================ */

int papi_routes(papi_ctx *c, route_table *t)
{
    const unsigned GP = ROUTE_GET | ROUTE_HEAD | ROUTE_POST, G = ROUTE_GET | ROUTE_HEAD;
    const unsigned B = ROUTE_BODY | ROUTE_GZIP;
    int rc = 0;
    rc |= route_add(t, "/api/v1/query", GP, B, h_query, c, "query");
    rc |= route_add(t, "/api/v1/query_range", GP, B, h_query_range, c, "query_range");
    rc |= route_add(t, "/api/v1/series", GP, B, h_series, c, "series");
    rc |= route_add(t, "/api/v1/labels", GP, B, h_labels, c, "labels");
    rc |= route_add(t, "/api/v1/metadata", G, 0, h_metadata, c, "metadata");
    rc |= route_add(t, "/api/v1/status/buildinfo", G, 0, h_buildinfo, c, "buildinfo");
    rc |= route_add(t, "/api/v1/status/flags", G, 0, h_flags, c, "status_flags");
    rc |= route_add(t, "/api/v1/status/config", G, 0, h_config, c, "status_config");
    rc |= route_add(t, "/api/v1/status/runtimeinfo", G, 0, h_runtimeinfo, c, "status_runtimeinfo");
    rc |= route_add(t, "/api/v1/status/tsdb", G, 0, h_tsdb, c, "status_tsdb");
    rc |= route_add(t, "/api/v1/format_query", GP, B, h_format_query, c, "format_query");
    rc |= route_add(t, "/api/v1/query_exemplars", GP, B, h_exemplars, c, "query_exemplars");
    rc |= route_add(t, "/api/v1/rules", G, 0, h_rules, c, "rules");
    rc |= route_add(t, "/api/v1/alerts", G, 0, h_alerts, c, "alerts");
    rc |= route_add(t, "/api/v1/targets", G, 0, h_targets, c, "targets");
    rc |= route_add(t, "/api/v1/label/*", G, 0, h_label_values, c, "label_values");
    return rc ? CAIRN_ENOMEM : CAIRN_OK;
}
