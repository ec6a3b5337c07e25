/*
 * Tests for api/: routes, http (a real daemon on 127.0.0.1, port 0, driven
 * over raw sockets), the write endpoints (push_api) against a real database
 * in a temp dir, and the serve command's flag parsers.
 *
 * api/ is not part of libcairn.a (it is the application); the Makefile links
 * tests under tests/unit/api/ with every api/ object except main.o.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "support.h"

#include "http.h"
#include "prom_api.h"
#include "push_api.h"
#include "routes.h"
#include "server.h"

/* ==== a raw HTTP/1.1 client ================================================================= */

static int t_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void t_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return; /* the server may close early (413): the response still arrives */
        c += w, n -= (size_t)w;
    }
}

typedef struct resp {
    int status;
    char head[2048];
    char body[4096];
    size_t body_len;
} resp;

/* Read one response (Content-Length bodies only; our server always sends one;
 * a response to HEAD has none). */
static int t_head_only;
static void t_read(int fd, resp *r)
{
    static char b[1 << 16];
    size_t got = 0;
    char *end = NULL;
    memset(r, 0, sizeof *r);
    while (!end) {
        ssize_t n = recv(fd, b + got, sizeof b - 1 - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
        b[got] = 0;
        end = strstr(b, "\r\n\r\n");
    }
    size_t hl = (size_t)(end - b);
    memcpy(r->head, b, hl < sizeof r->head - 1 ? hl : sizeof r->head - 1);
    r->status = atoi(b + 9);
    char *cl = strcasestr(r->head, "content-length:");
    size_t clen = cl && !t_head_only ? strtoul(cl + 15, NULL, 10) : 0;
    size_t have = got - hl - 4;
    while (have < clen) {
        ssize_t n = recv(fd, b + got, sizeof b - 1 - got, 0);
        assert_true(n > 0);
        got += (size_t)n, have += (size_t)n;
    }
    r->body_len = clen < sizeof r->body - 1 ? clen : sizeof r->body - 1;
    memcpy(r->body, end + 4, r->body_len);
}

/* One request on a new connection. `extra` holds header lines ending in \r\n. */
static void t_req(uint16_t port, const char *method, const char *path, const char *extra, const void *body,
                  size_t len, resp *r)
{
    int fd = t_connect(port);
    char head[1024];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %zu\r\n\r\n", method, path,
                     extra ? extra : "", len);
    t_send(fd, head, (size_t)n);
    if (len) t_send(fd, body, len);
    t_head_only = !strcmp(method, "HEAD");
    t_read(fd, r);
    t_head_only = 0;
    close(fd);
}

static size_t t_gzip(const void *src, size_t n, uint8_t *dst, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t out = z.total_out;
    deflateEnd(&z);
    return out;
}

/* ==== flag parsers =============================================================================== */

static void test_duration_parse_accepts_prometheus_syntax(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(server_parse_duration("15d", &ms), 0), assert_int_equal(ms, 15 * 86400000LL);
    assert_int_equal(server_parse_duration("1h30m", &ms), 0), assert_int_equal(ms, 5400000);
    assert_int_equal(server_parse_duration("500ms", &ms), 0), assert_int_equal(ms, 500);
    assert_int_equal(server_parse_duration("2w", &ms), 0), assert_int_equal(ms, 14 * 86400000LL);
    assert_int_equal(server_parse_duration("1y", &ms), 0), assert_int_equal(ms, 365 * 86400000LL);
    assert_int_equal(server_parse_duration("1d12h", &ms), 0), assert_int_equal(ms, 36 * 3600000LL);
    assert_int_equal(server_parse_duration("1m1s1ms", &ms), 0), assert_int_equal(ms, 61001);
    assert_int_equal(server_parse_duration("0", &ms), 0), assert_int_equal(ms, 0);
}

static void test_duration_parse_rejects_garbage(void **state)
{
    (void)state;
    int64_t ms = 7;
    const char *bad[] = {"", "15", "d", "1m1h", "1.5h", "-1d", "1h1h", "10x", "1d ", "99999999999999999999y",
                         "300000000y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(server_parse_duration(bad[i], &ms), -1);
        assert_int_equal(ms, 7);
    }
}

static void test_listen_parse(void **state)
{
    (void)state;
    char h[64];
    uint16_t p;
    assert_int_equal(server_parse_listen("127.0.0.1:9490", h, sizeof h, &p), 0);
    assert_string_equal(h, "127.0.0.1"), assert_int_equal(p, 9490);
    assert_int_equal(server_parse_listen("[::1]:80", h, sizeof h, &p), 0);
    assert_string_equal(h, "::1"), assert_int_equal(p, 80);
    assert_int_equal(server_parse_listen(":9490", h, sizeof h, &p), 0);
    assert_string_equal(h, "0.0.0.0");
    assert_int_equal(server_parse_listen("localhost", h, sizeof h, &p), -1);
    assert_int_equal(server_parse_listen("1.2.3.4:", h, sizeof h, &p), -1);
    assert_int_equal(server_parse_listen("1.2.3.4:70000", h, sizeof h, &p), -1);
    assert_int_equal(server_parse_listen("1.2.3.4:12a", h, sizeof h, &p), -1);
    assert_int_equal(server_parse_listen("[::1]80", h, sizeof h, &p), -1);
}

/* ==== routes ======================================================================================= */

static void noop(struct http_req *r, void *c) { (void)r, (void)c; }

static void test_route_find_exact_and_prefix(void **state)
{
    (void)state;
    route_table t;
    route_table_init(&t);
    assert_int_equal(route_add(&t, "/api/v1/write", ROUTE_POST, ROUTE_BODY, noop, NULL, "write"), 0);
    assert_int_equal(route_add(&t, "/api/v1/label/*", ROUTE_GET, 0, noop, NULL, "label_values"), 0);
    assert_string_equal(route_find(&t, "/api/v1/write")->name, "write");
    assert_null(route_find(&t, "/api/v1/write/"));
    assert_null(route_find(&t, "/api/v1/writ"));
    assert_string_equal(route_find(&t, "/api/v1/label/job/values")->name, "label_values");
    assert_null(route_find(&t, "/api/v1/labels"));
    assert_int_equal(route_method_bit("POST"), ROUTE_POST);
    assert_int_equal(route_method_bit("DELETE"), 0);
    assert_int_equal(route_code_slot(204), 1);
    assert_int_equal(route_code_slot(418), ROUTE_N_CODES - 1);
    route_count(route_find(&t, "/api/v1/write"), 400);
    route_count(route_find(&t, "/api/v1/write"), 400);
    assert_int_equal(atomic_load(&t.v[0].count[route_code_slot(400)]), 2);
    route_table_free(&t);
}

static void test_wapi_status_table(void **state)
{
    (void)state;
    int r;
    assert_int_equal(wapi_status(CAIRN_OK, 0, &r), 204);
    assert_int_equal(wapi_status(CAIRN_EINVAL, 0, &r), 400), assert_int_equal(r, WAPI_R_BAD_DATA);
    assert_int_equal(wapi_status(CAIRN_EPARSE, 0, &r), 400);
    assert_int_equal(wapi_status(CAIRN_ECORRUPT, 0, &r), 400);
    assert_int_equal(wapi_status(CAIRN_ECORRUPT, 1, &r), 500), assert_int_equal(r, WAPI_R_INTERNAL);
    assert_int_equal(wapi_status(CAIRN_ELIMIT, 0, &r), 413), assert_int_equal(r, WAPI_R_TOO_LARGE);
    assert_int_equal(wapi_status(CAIRN_ELIMIT, 1, &r), 400), assert_int_equal(r, WAPI_R_LIMIT);
    assert_int_equal(wapi_status(CAIRN_EOUTOFORDER, 1, &r), 400), assert_int_equal(r, WAPI_R_OUT_OF_ORDER);
    assert_int_equal(wapi_status(CAIRN_ENOMEM, 1, &r), 500);
    assert_int_equal(wapi_status(CAIRN_EIO, 1, &r), 500);
    /* disk or LMDB map full: 507 Insufficient Storage (retried by senders), counted under its own code */
    assert_int_equal(wapi_status(CAIRN_ENOSPC, 1, &r), 507), assert_int_equal(r, WAPI_R_INTERNAL);
    const char *t;
    assert_int_equal(papi_code_status(CAIRN_ENOSPC, &t), 507);
    assert_true(route_code_slot(507) < ROUTE_N_CODES - 1);
}

/* ==== the daemon ===================================================================================== */

static void h_echo(http_req *req, void *ctx)
{
    (void)ctx;
    size_t n;
    const uint8_t *b = http_body(req, &n);
    char mt[64], param[64];
    http_media_type(req, mt, sizeof mt);
    const char *p = http_media_param(req, "proto", param, sizeof param);
    uint32_t sum = 0;
    for (size_t i = 0; i < n; i++) sum = sum * 31 + b[i];
    http_set_header(req, "X-Test", "yes");
    http_respond_text(req, 200, "len=%zu sum=%u enc=%s mt=%s proto=%s", n, sum, http_body_encoding(req), mt,
                      p ? p : "-");
}

static void h_get(http_req *req, void *ctx)
{
    (void)ctx;
    const char *q = http_query_arg(req, "q");
    http_respond_text(req, 200, "%s %s q=%s", http_method(req), http_path(req), q ? q : "-");
}

static void h_silent(http_req *req, void *ctx) { (void)req, (void)ctx; }

typedef struct fx {
    route_table t;
    http_server *s;
    uint16_t port;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    route_table_init(&f->t);
    route_add(&f->t, "/echo", ROUTE_POST, ROUTE_BODY | ROUTE_GZIP, h_echo, NULL, "echo");
    route_add(&f->t, "/raw", ROUTE_POST, ROUTE_BODY, h_echo, NULL, "raw");
    route_add(&f->t, "/get", ROUTE_GET, 0, h_get, NULL, "get");
    route_add(&f->t, "/silent", ROUTE_GET, 0, h_silent, NULL, "silent");
    http_opts o;
    http_opts_default(&o);
    o.port = 0;
    o.n_threads = 2;
    o.max_body_bytes = 1 << 20;
    o.routes = &f->t;
    cairn_err e;
    assert_int_equal(http_start(&o, &f->s, &e), 0);
    f->port = http_port(f->s);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    http_stop(f->s, 1000);
    route_table_free(&f->t);
    free(f);
    return 0;
}

static void test_http_get_and_keepalive(void **state)
{
    fx *f = *state;
    int fd = t_connect(f->port);
    const char *r1 = "GET /get?q=a%20b HTTP/1.1\r\nHost: t\r\n\r\n";
    resp r;
    for (int i = 0; i < 3; i++) { /* three requests on one connection */
        t_send(fd, r1, strlen(r1));
        t_read(fd, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "GET /get q=a b\n");
        assert_null(strcasestr(r.head, "Connection: close"));
    }
    close(fd);
    t_req(f->port, "HEAD", "/get", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
}

static void test_http_not_found_and_method(void **state)
{
    fx *f = *state;
    resp r;
    t_req(f->port, "GET", "/nope", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found: /nope\n");
    t_req(f->port, "GET", "/echo", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "Allow: POST"));
    assert_string_equal(r.body, "method GET not allowed on /echo\n");
    assert_int_equal(atomic_load(&f->t.none.count[route_code_slot(404)]), 1);
}

static void test_http_handler_that_does_not_answer_is_500(void **state)
{
    fx *f = *state;
    resp r;
    t_req(f->port, "GET", "/silent", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body, "internal error: handler for /silent did not answer\n");
}

static void test_http_body_plain_and_media_type(void **state)
{
    fx *f = *state;
    resp r;
    t_req(f->port, "POST", "/echo", "Content-Type: Application/X-Protobuf ; proto=\"io.x.v2\"\r\n", "abc", 3, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "len=3 sum=96354 enc= mt=application/x-protobuf proto=io.x.v2\n");
    assert_non_null(strstr(r.head, "X-Test: yes"));
}

static void test_http_chunked_body(void **state)
{
    fx *f = *state;
    int fd = t_connect(f->port);
    const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
    t_send(fd, req, strlen(req));
    resp r;
    t_read(fd, &r);
    close(fd);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "len=3 sum=96354 enc= mt= proto=-\n");
}

static void test_http_gzip_is_undone_snappy_passed_on(void **state)
{
    fx *f = *state;
    uint8_t gz[256];
    size_t n = t_gzip("abc", 3, gz, sizeof gz);
    resp r;
    t_req(f->port, "POST", "/echo", "Content-Encoding: gzip\r\n", gz, n, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "len=3 sum=96354 enc= mt= proto=-\n");
    t_req(f->port, "POST", "/echo", "Content-Encoding: snappy\r\n", "abc", 3, &r);
    assert_string_equal(r.body, "len=3 sum=96354 enc=snappy mt= proto=-\n");
    t_req(f->port, "POST", "/raw", "Content-Encoding: gzip\r\n", gz, n, &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(r.body, "Content-Encoding gzip is not supported on /raw\n");
    t_req(f->port, "POST", "/echo", "Content-Encoding: br\r\n", "abc", 3, &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(r.body, "unsupported Content-Encoding br\n");
    t_req(f->port, "POST", "/echo", "Content-Encoding: gzip\r\n", gz, n - 4, &r);
    assert_int_equal(r.status, 400);
}

static void test_http_limits_413(void **state)
{
    fx *f = *state;
    resp r;
    /* declared too large: answered before the body */
    int fd = t_connect(f->port);
    const char *h = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n";
    t_send(fd, h, strlen(h));
    t_read(fd, &r);
    close(fd);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "request body of 2000000 bytes exceeds the limit of 1048576 bytes\n");
    /* chunked, growing past the limit */
    fd = t_connect(f->port);
    h = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    t_send(fd, h, strlen(h));
    static char chunk[70000];
    int cn = snprintf(chunk, sizeof chunk, "%x\r\n", 65536);
    memset(chunk + cn, 'x', 65536);
    memcpy(chunk + cn + 65536, "\r\n", 2);
    for (int i = 0; i < 20; i++) t_send(fd, chunk, (size_t)cn + 65538);
    t_send(fd, "0\r\n\r\n", 5);
    t_read(fd, &r);
    close(fd);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "request body exceeds the limit of 1048576 bytes\n");
    /* a gzip bomb: 8 MiB of zeros in a few kB */
    size_t big = 8 << 20;
    char *zeros = calloc(1, big);
    static uint8_t gz[64 << 10];
    size_t n = t_gzip(zeros, big, gz, sizeof gz);
    free(zeros);
    char hdr[64] = "Content-Encoding: gzip\r\n";
    t_req(f->port, "POST", "/echo", hdr, gz, n, &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "decompressed body exceeds 1048576 bytes\n");
    /* and the server still answers */
    t_req(f->port, "GET", "/get", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
}

/* ==== write endpoints against a database ===================================================== */

typedef struct wfx {
    char *dir;
    cairn_db *db;
    wapi_ctx w;
    route_table t;
    http_server *s;
    uint16_t port;
} wfx;

static int wfx_setup(void **state)
{
    wfx *f = calloc(1, sizeof *f);
    f->dir = t_tmpdir("http");
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0; /* the bodies carry 2023 timestamps; commit refuses older than retention */
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &o, &f->db, &e), 0);
    assert_int_equal(wapi_init(&f->w, NULL), 0);
    route_table_init(&f->t);
    assert_int_equal(wapi_routes(&f->w, &f->t), 0);
    http_opts ho;
    http_opts_default(&ho);
    ho.port = 0;
    ho.n_threads = 2;
    ho.routes = &f->t;
    assert_int_equal(http_start(&ho, &f->s, &e), 0);
    f->port = http_port(f->s);
    *state = f;
    return 0;
}

static int wfx_teardown(void **state)
{
    wfx *f = *state;
    http_stop(f->s, 1000);
    route_table_free(&f->t);
    wapi_free(&f->w);
    cairn_close(f->db);
    t_tmpdir_free(f->dir);
    free(f);
    return 0;
}

static size_t count_series(cairn_db *db, int kind)
{
    cairn_series_set *ss;
    cairn_err e;
    assert_int_equal(cairn_select(db, kind, NULL, 0, INT64_MIN, INT64_MAX, &ss, &e), 0);
    size_t n = cairn_series_set_count(ss);
    cairn_series_set_close(ss);
    return n;
}

static void meta_find(void *arg, const ingest_meta *m)
{
    if (m->name_len == 3 && !memcmp(m->name, "foo", 3)) *(int *)arg = m->type;
}

static void test_wapi_not_ready_is_503(void **state)
{
    wfx *f = *state;
    resp r;
    const char *text = "foo 1 1700000000000\n";
    t_req(f->port, "POST", "/api/v1/import/prometheus", NULL, text, strlen(text), &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "not ready: the database is opening (WAL replay)\n");
    assert_int_equal(atomic_load(&f->w.rejected[WAPI_PROMTEXT][WAPI_R_NOT_READY]), 1);
    assert_int_equal(count_series(f->db, CAIRN_KIND_METRIC), 0);
}

static void test_wapi_text_import_commits_and_keeps_metadata(void **state)
{
    wfx *f = *state;
    wapi_set_db(&f->w, f->db);
    resp r;
    const char *text = "# HELP foo A counter.\n# TYPE foo counter\nfoo{a=\"1\"} 1 1700000000000\nfoo{a=\"2\"} 2 "
                       "1700000000000\n";
    t_req(f->port, "POST", "/api/v1/import/prometheus", NULL, text, strlen(text), &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(count_series(f->db, CAIRN_KIND_METRIC), 2);
    assert_int_equal(atomic_load(&f->w.received[WAPI_PROMTEXT]), 2);
    int type = -1;
    assert_int_equal(wapi_meta_foreach(&f->w, meta_find, &type), 1);
    assert_int_equal(type, INGEST_TYPE_COUNTER);
    assert_int_equal(atomic_load(&f->w.commit_count), 1);
}

static void test_wapi_bad_text_is_400_and_stores_nothing(void **state)
{
    wfx *f = *state;
    wapi_set_db(&f->w, f->db);
    resp r;
    const char *text = "ok_metric 1 1700000000000\nbad{a=\"1\" 2\n";
    t_req(f->port, "POST", "/api/v1/import/prometheus", NULL, text, strlen(text), &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "2:"));
    assert_int_equal(count_series(f->db, CAIRN_KIND_METRIC), 0);
    assert_int_equal(atomic_load(&f->w.rejected[WAPI_PROMTEXT][WAPI_R_BAD_DATA]), 1);
}

/* Disk full through HTTP (issue 10, item 9): a full LMDB map answers 507 saying so; nothing of the body is stored. */
static void test_wapi_storage_full_is_507(void **state)
{
    wfx *f = *state;
    cairn_close(f->db);
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0;
    o.map_size_bytes = 1 << 20;
    cairn_err e;
    assert_int_equal(cairn_open(f->dir, &o, &f->db, &e), 0);
    wapi_set_db(&f->w, f->db);
    size_t cap = 200 * 400, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    resp r;
    r.status = 204;
    size_t before = 0;
    for (int k = 0; k < 200 && r.status == 204; k++) {
        before = count_series(f->db, CAIRN_KIND_METRIC);
        len = 0;
        for (int i = 0; i < 200; i++)
            len += (size_t)snprintf(body + len, cap - len, "full{i=\"%d\",pad=\"%0300d\"} 1 1700000000000\n", k * 200 + i, 0);
        t_req(f->port, "POST", "/api/v1/import/prometheus", NULL, body, len, &r);
    }
    free(body);
    assert_int_equal(r.status, 507);
    assert_non_null(strstr(r.body, "no space left on device"));
    assert_int_equal(count_series(f->db, CAIRN_KIND_METRIC), before); /* all or nothing */
    cairn_stats st;
    cairn_stats_get(f->db, &st);
    assert_int_equal(st.storage_full_errors, 1);
}

static void test_wapi_remote_write_v2_is_415(void **state)
{
    wfx *f = *state;
    wapi_set_db(&f->w, f->db);
    resp r;
    t_req(f->port, "POST", "/api/v1/write",
          "Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request\r\n", "\0", 1, &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(r.body, "remote write: Content-Type proto=io.prometheus.write.v2.Request is not supported; "
                                "send remote write 1.0 (prometheus.WriteRequest)\n");
    t_req(f->port, "POST", "/api/v1/write", "Content-Type: application/json\r\n", "{}", 2, &r);
    assert_int_equal(r.status, 415);
}

static void test_wapi_otlp_errors_in_request_encoding(void **state)
{
    wfx *f = *state;
    wapi_set_db(&f->w, f->db);
    resp r;
    t_req(f->port, "POST", "/v1/logs", "Content-Type: application/json\r\n", "{\"resourceLogs\":[{", 18, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    assert_memory_equal(r.body, "{\"code\":3,\"message\":\"", 21);
    t_req(f->port, "POST", "/v1/metrics", "Content-Type: application/x-protobuf\r\n", "\x0a\xff\xff\xff\x0f", 5, &r);
    assert_int_equal(r.status, 400);
    assert_int_equal((uint8_t)r.body[0], 0x08); /* google.rpc.Status.code */
    assert_int_equal((uint8_t)r.body[1], 3);
    assert_int_equal((uint8_t)r.body[2], 0x12); /* .message */
    t_req(f->port, "POST", "/v1/logs", "Content-Type: application/json\r\n", "{}", 2, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{}");
    t_req(f->port, "POST", "/v1/logs", "Content-Type: text/plain\r\n", "x", 1, &r);
    assert_int_equal(r.status, 415);
}

/* ==== hardening: parameters, framing, connection limits, header deadline ============================= */

static void test_http_form_check_accepts_valid_text(void **state)
{
    (void)state;
    char m[200] = "";
    const char *ok[] = {"", "query=1%2B1", "a=&b", "&&x=y&", "q=%C3%A9%E2%82%AC%F0%9F%98%80", "q=\xc3\xa9",
                        "q=%zz%", "q=%4", "match[]=up&match[]=%7Bjob%3D%22a%22%7D", "q=a+b", "q=%7F%0A%09"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        assert_int_equal(http_form_check(ok[i], strlen(ok[i]), m, sizeof m), 0);
    assert_int_equal(http_path_check("/api/v1/label/caf%C3%A9/values", 30, m, sizeof m), 0);
    assert_int_equal(http_path_check("/a+b", 4, m, sizeof m), 0);
}

static void test_http_form_check_names_the_parameter(void **state)
{
    (void)state;
    char m[200];
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"query=1%00%2B1", "invalid parameter \"query\": a NUL byte at byte 1 of its value"},
        {"a=1&query=%ff", "invalid parameter \"query\": invalid UTF-8 at byte 0 of its value"},
        {"q=%c0%af", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},         /* overlong '/' */
        {"q=%e0%80%af", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},      /* overlong, 3 bytes */
        {"q=%ed%a0%80", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},      /* surrogate */
        {"q=%f4%90%80%80", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},   /* > U+10FFFF */
        {"q=%f5%80%80%80", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},
        {"q=ab%e2%82", "invalid parameter \"q\": invalid UTF-8 (truncated sequence) at byte 2 of its value"},
        {"q=%e2%82x", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},
        {"q=%80", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},
        {"q=\xff", "invalid parameter \"q\": invalid UTF-8 at byte 0 of its value"},
        {"match[]=up&match[]=a%00", "invalid parameter \"match[]\": a NUL byte at byte 1 of its value"},
        {"qu%00ery=1", "invalid parameter name \"qu?ery\": a NUL byte at byte 2"},
        {"a%22b%00=1", "invalid parameter name \"a?b?\": a NUL byte at byte 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        m[0] = 0;
        assert_int_equal(http_form_check(bad[i].in, strlen(bad[i].in), m, sizeof m), -1);
        assert_string_equal(m, bad[i].msg);
    }
    /* the length is honoured: bytes after n are not looked at, a NUL inside n is */
    assert_int_equal(http_form_check("q=a%00", 3, m, sizeof m), 0);
    assert_int_equal(http_form_check("q=a\0b", 5, m, sizeof m), -1);
    assert_string_equal(m, "invalid parameter \"q\": a NUL byte at byte 1 of its value");
    assert_int_equal(http_path_check("/api/v1/label/a%00b/values", 26, m, sizeof m), -1);
    assert_string_equal(m, "invalid URL path \"/api/v1/label/a?b/values\": a NUL byte at byte 15");
    /* a tiny buffer is truncated, never overrun */
    char tiny[8];
    assert_int_equal(http_form_check("query=%00", 9, tiny, sizeof tiny), -1);
    assert_string_equal(tiny, "invalid");
}

static void h_form(http_req *req, void *ctx)
{
    (void)ctx;
    const char *q = http_query_arg(req, "q");
    size_t n;
    http_body(req, &n);
    http_respond_text(req, 200, "q=%s body=%zu", q ? q : "-", n);
}

static int param_errors;
static void param_error_json(http_req *r, const char *msg)
{
    param_errors++;
    http_respond_text(r, 400, "json:%s", msg);
}

static int fx_setup_tight(void **state)
{
    fx *f = calloc(1, sizeof *f);
    route_table_init(&f->t);
    route_add(&f->t, "/q", ROUTE_GET | ROUTE_POST, ROUTE_BODY, h_form, NULL, "q");
    route_add(&f->t, "/raw", ROUTE_POST, ROUTE_BODY, h_echo, NULL, "raw");
    http_opts o;
    http_opts_default(&o);
    o.port = 0;
    o.n_threads = 2;
    o.header_timeout_s = 1;
    o.max_conns_per_ip = 3;
    o.routes = &f->t;
    o.param_error = param_error_json;
    param_errors = 0;
    cairn_err e;
    assert_int_equal(http_start(&o, &f->s, &e), 0);
    f->port = http_port(f->s);
    *state = f;
    return 0;
}

/* After a response: 1 when the server closed the connection (EOF or reset), 0 when it stays open. */
static int t_closed_after(int fd)
{
    struct timeval tv = {0, 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_http_bad_parameters_are_400_through_the_hook(void **state)
{
    fx *f = *state;
    resp r;
    int fd = t_connect(f->port);
    const char *get = "GET /q?q=1%00%2B1 HTTP/1.1\r\nHost: t\r\n\r\n";
    t_send(fd, get, strlen(get));
    t_read(fd, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "json:invalid parameter \"q\": a NUL byte at byte 1 of its value\n");
    const char *ok = "GET /q?q=%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n"; /* same connection: kept alive */
    t_send(fd, ok, strlen(ok));
    t_read(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "q=\xc3\xa9 body=0\n");
    close(fd);
    t_req(f->port, "GET", "/q/../q%ff", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "json:invalid URL path \"/q/../q?\": invalid UTF-8 at byte 7\n");
    /* a form body on a GET+POST route is checked like a query string; a POST-only route's body is not */
    t_req(f->port, "POST", "/q", "Content-Type: application/x-www-form-urlencoded\r\n", "q=%ff", 5, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "json:invalid parameter \"q\": invalid UTF-8 at byte 0 of its value\n");
    t_req(f->port, "POST", "/q", NULL, "a=b&q%00=1", 10, &r);
    assert_int_equal(r.status, 400);
    t_req(f->port, "POST", "/q", "Content-Type: application/json\r\n", "q=%ff", 5, &r);
    assert_int_equal(r.status, 200);
    t_req(f->port, "POST", "/raw", "Content-Type: application/x-www-form-urlencoded\r\n", "q=%ff", 5, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(param_errors, 4);
}

static void test_http_ambiguous_framing_is_400_and_closes(void **state)
{
    fx *f = *state;
    static const char *reqs[] = {
        "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "GET /q HTTP/1.1\r\n\r\n",
    };
    static const char *msgs[] = {
        "a request may not have both Content-Length and Transfer-Encoding\n",
        "a request may not have both Content-Length and Transfer-Encoding\n",
        "a request may have only one Content-Length header\n",
        "unsupported Transfer-Encoding (only a single \"chunked\" is accepted)\n",
        "an HTTP/1.1 request needs a Host header\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++) {
        int fd = t_connect(f->port);
        t_send(fd, reqs[i], strlen(reqs[i]));
        resp r;
        t_read(fd, &r);
        assert_int_equal(r.status, 400);
        assert_string_equal(r.body, msgs[i]);
        assert_non_null(strcasestr(r.head, "Connection: close"));
        assert_true(t_closed_after(fd));
        close(fd);
    }
    /* HTTP/1.0 needs no Host; plain chunked still works */
    int fd = t_connect(f->port);
    const char *h10 = "GET /q HTTP/1.0\r\n\r\n";
    t_send(fd, h10, strlen(h10));
    resp r;
    t_read(fd, &r);
    assert_int_equal(r.status, 200);
    close(fd);
    fd = t_connect(f->port);
    const char *ch = "POST /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    t_send(fd, ch, strlen(ch));
    t_read(fd, &r);
    assert_int_equal(r.status, 200);
    close(fd);
}

/* Everything the server sends until it closes the connection (bounded by the 5 s receive timeout). */
static size_t t_read_all(int fd, char *b, size_t cap)
{
    size_t got = 0;
    for (int i = 0; i < 64 && got + 1 < cap; i++) {
        ssize_t n = recv(fd, b + got, cap - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    b[got] = 0;
    return got;
}

static void test_http_malformed_content_length_gets_one_answer(void **state)
{
    fx *f = *state;
    static const struct {
        const char *cl, *want;
    } cases[] = {
        {"-1", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: 41\r\n\r\nFailed to parse `Content-Length' header.\n"},
        {"99999999999999999999999", "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Type: text/plain; "
                                    "charset=utf-8\r\nContent-Length: 44\r\n\r\nToo large value of "
                                    "'Content-Length' header.\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int fd = t_connect(f->port);
        char req[200], out[4096];
        int n = snprintf(req, sizeof req, "POST /raw HTTP/1.1\r\nHost: t\r\nContent-Length: %s\r\n\r\n", cases[i].cl);
        t_send(fd, req, (size_t)n);
        t_read_all(fd, out, sizeof out);
        close(fd);
        /* before: libmicrohttpd's own answer, its header block written twice */
        assert_string_equal(out, cases[i].want);
    }
    resp r; /* the server is fine afterwards */
    t_req(f->port, "GET", "/q", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
}

static double t_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_http_header_deadline_cuts_a_slow_client(void **state)
{
    fx *f = *state;
    /* one header byte every 200 ms: libmicrohttpd's idle timeout never fires, the 1 s deadline does */
    int fd = t_connect(f->port);
    double t0 = t_now();
    const char *start = "GET /q HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    t_send(fd, start, strlen(start));
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    double cut = -1;
    for (int i = 0; i < 25 && cut < 0; i++) {
        if (send(fd, "a", 1, MSG_NOSIGNAL) < 0) {
            cut = t_now() - t0;
            break;
        }
        char c;
        ssize_t n = recv(fd, &c, 1, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) cut = t_now() - t0;
    }
    close(fd);
    if (!(cut >= 0.9 && cut < 3.0)) fail_msg("cut after %.3f s (deadline 1 s; watchdog tick 0.1 s)", cut);
    assert_int_equal(http_header_timeouts(f->s), 1);
    /* a keep-alive connection idle between requests is not cut by the header deadline */
    fd = t_connect(f->port);
    const char *req = "GET /q HTTP/1.1\r\nHost: t\r\n\r\n";
    resp r;
    t_send(fd, req, strlen(req));
    t_read(fd, &r);
    assert_int_equal(r.status, 200);
    struct timespec nap = {1, 500000000};
    nanosleep(&nap, NULL);
    t_send(fd, req, strlen(req));
    t_read(fd, &r);
    assert_int_equal(r.status, 200);
    close(fd);
    assert_int_equal(http_header_timeouts(f->s), 1);
}

static void test_http_per_ip_connection_limit(void **state)
{
    fx *f = *state;
    int held[3];
    resp r;
    const char *req = "GET /q HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        held[i] = t_connect(f->port);
        t_send(held[i], req, strlen(req));
        t_read(held[i], &r); /* accepted and served: the connection counts from now on */
        assert_int_equal(r.status, 200);
    }
    int fd = t_connect(f->port); /* the kernel accepts; libmicrohttpd closes it at once */
    t_send(fd, req, strlen(req));
    assert_true(t_closed_after(fd));
    close(fd);
    close(held[0]);
    struct timespec nap = {1, 0}; /* libmicrohttpd notices the close on its next loop */
    nanosleep(&nap, NULL);
    t_req(f->port, "GET", "/q", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    close(held[1]);
    close(held[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse_accepts_prometheus_syntax),
        cmocka_unit_test(test_duration_parse_rejects_garbage),
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_route_find_exact_and_prefix),
        cmocka_unit_test(test_wapi_status_table),
        cmocka_unit_test_setup_teardown(test_http_get_and_keepalive, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_not_found_and_method, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_handler_that_does_not_answer_is_500, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_body_plain_and_media_type, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_chunked_body, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_gzip_is_undone_snappy_passed_on, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_limits_413, fx_setup, fx_teardown),
        cmocka_unit_test(test_http_form_check_accepts_valid_text),
        cmocka_unit_test(test_http_form_check_names_the_parameter),
        cmocka_unit_test_setup_teardown(test_http_bad_parameters_are_400_through_the_hook, fx_setup_tight, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_ambiguous_framing_is_400_and_closes, fx_setup_tight, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_header_deadline_cuts_a_slow_client, fx_setup_tight, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_per_ip_connection_limit, fx_setup_tight, fx_teardown),
        cmocka_unit_test_setup_teardown(test_http_malformed_content_length_gets_one_answer, fx_setup_tight, fx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_not_ready_is_503, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_text_import_commits_and_keeps_metadata, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_bad_text_is_400_and_stores_nothing, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_remote_write_v2_is_415, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_storage_full_is_507, wfx_setup, wfx_teardown),
        cmocka_unit_test_setup_teardown(test_wapi_otlp_errors_in_request_encoding, wfx_setup, wfx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
