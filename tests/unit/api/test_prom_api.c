/*
 * Tests for the query APIs (api/prom_api.c, api/loki_api.c, api/auth.c):
 * parameter parsers, then a real server on 127.0.0.1 (port 0) over a
 * database in a temp dir, loaded through cairn_commit, answering the exact
 * requests Grafana's data sources send (api-contract A.7, B.5) and the
 * malformed ones, with whole response bodies compared where they are
 * deterministic.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#include "auth.h"
#include "cairn.h"
#include "http.h"
#include "loki_api.h"
#include "prom_api.h"
#include "push_api.h"
#include "routes.h"
#include "t_api.h"

/* ==== parsers ==================================================================== */

static void test_papi_parse_time_formats(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(papi_parse_time("4", &t), 0);
    assert_int_equal(t, 4000);
    assert_int_equal(papi_parse_time("1795339510.3527906", &t), 0);
    assert_int_equal(t, 1795339510353);
    assert_int_equal(papi_parse_time("1795339516.011", &t), 0);
    assert_int_equal(t, 1795339516011);
    assert_int_equal(papi_parse_time("-1.5", &t), 0);
    assert_int_equal(t, -1500);
    assert_int_equal(papi_parse_time("2015-07-01T20:10:51.781Z", &t), 0);
    assert_int_equal(t, 1435781451781);
    assert_int_equal(papi_parse_time("2015-07-01T22:10:51+02:00", &t), 0);
    assert_int_equal(t, 1435781451000);
    assert_int_equal(papi_parse_time("1795337716000", &t), 0); /* Grafana's exemplar probe: ms as s */
    assert_int_equal(t, 1795337716000000);
    assert_int_equal(papi_parse_time("-292273086-05-16T16:47:06Z", &t), 0);
    assert_true(t < -9000000000000000000);
    assert_int_equal(papi_parse_time("292277025-08-18T07:12:54.999999999Z", &t), 0);
    assert_true(t > 9000000000000000000);
    static const char *bad[] = {"", "abc", " 4", "NaN", "Inf", "1e300", "2015-13-01T00:00:00Z",
                                "2015-02-29T00:00:00Z", "2015-07-01 20:10:51Z", "2015-07-01T20:10:51", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(papi_parse_time(bad[i], &t), -1);
}

static void test_papi_parse_duration_formats(void **state)
{
    (void)state;
    int64_t d;
    assert_int_equal(papi_parse_duration("15", &d), 0);
    assert_int_equal(d, 15000);
    assert_int_equal(papi_parse_duration("0.25", &d), 0);
    assert_int_equal(d, 250);
    assert_int_equal(papi_parse_duration("1m0s", &d), 0);
    assert_int_equal(d, 60000);
    assert_int_equal(papi_parse_duration("1h30m", &d), 0);
    assert_int_equal(d, 5400000);
    assert_int_equal(papi_parse_duration("15000ms", &d), 0);
    assert_int_equal(d, 15000);
    assert_int_equal(papi_parse_duration("-5", &d), 0);
    assert_int_equal(d, -5000);
    assert_int_equal(papi_parse_duration("5x", &d), -1);
    assert_int_equal(papi_parse_duration("m5", &d), -1);
    assert_int_equal(papi_parse_duration("", &d), -1);
    int64_t ns;
    assert_int_equal(lapi_parse_time("4000000000", &ns), 0); /* 10 digits: seconds */
    assert_int_equal(ns, 4000000000000000000);
    assert_int_equal(lapi_parse_time("1705312800000000000", &ns), 0);
    assert_int_equal(ns, 1705312800000000000);
    assert_int_equal(lapi_parse_time("1700000000.5", &ns), 0);
    assert_int_equal(ns, 1700000000500000000);
    assert_int_equal(lapi_parse_time("2024-01-15T10:00:00.123456789Z", &ns), 0);
    assert_int_equal(ns, 1705312800123456789);
    assert_int_equal(lapi_parse_time("99999999999", &ns), 0); /* 11 digits: ns */
    assert_int_equal(ns, 99999999999);
    assert_int_equal(lapi_parse_time("yesterday", &ns), -1);
}

static void test_papi_unescape_and_form(void **state)
{
    (void)state;
    char d[64];
    assert_int_equal(papi_unescape_name("job", d, sizeof d), 3);
    assert_string_equal(d, "job");
    assert_int_equal(papi_unescape_name("U__http_2e_status", d, sizeof d), 11);
    assert_string_equal(d, "http.status");
    assert_int_equal(papi_unescape_name("U__a__b", d, sizeof d), 3);
    assert_string_equal(d, "a_b");
    assert_int_equal(papi_unescape_name("U__caf_e9_", d, sizeof d), 5);
    assert_string_equal(d, "caf\xc3\xa9");
    assert_int_equal(papi_unescape_name("U__bad_zz_", d, sizeof d), -1);
    assert_int_equal(papi_unescape_name("U__x_d800_", d, sizeof d), -1);

    papi_req q;
    assert_int_equal(papi_req_init(&q, NULL), 0);
    const char body[] = "query=rate(x%5B1m0s%5D)+%2B+1&match%5B%5D=up&match%5B%5D=%7Bjob%3D%22a%22%7D&empty=&flag&bad=%zz";
    assert_int_equal(papi_form_decode(&q, body, sizeof body - 1), 0);
    assert_string_equal(papi_arg(&q, "query"), "rate(x[1m0s]) + 1");
    const char *m[4];
    assert_int_equal(papi_arg_all(&q, "match[]", m, 4), 2);
    assert_string_equal(m[0], "up");
    assert_string_equal(m[1], "{job=\"a\"}");
    assert_null(papi_arg(&q, "empty"));
    assert_null(papi_arg(&q, "flag"));
    assert_string_equal(papi_arg(&q, "bad"), "%zz");
    assert_null(papi_arg(&q, "missing"));
    papi_req_free(&q);
}

static void test_papi_selector_kinds(void **state)
{
    (void)state;
    arena *ar = arena_new(0);
    cairn_matcher *m;
    size_t n;
    cairn_err e;
    assert_int_equal(papi_selector(ar, CAIRN_LANG_PROMQL, "up{job=~\"a.*\",x!=\"1\"}", &m, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(m[0].op, CAIRN_MATCH_EQ);
    assert_memory_equal(m[0].name, "__name__", 8);
    assert_memory_equal(m[0].value, "up", 2);
    assert_int_equal(papi_selector(ar, CAIRN_LANG_PROMQL, "rate(up[5m])", &m, &n, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "expected a vector selector, got rate(up[5m])");
    assert_int_equal(papi_selector(ar, CAIRN_LANG_PROMQL, "up{", &m, &n, &e), CAIRN_EPARSE);
    assert_int_equal(papi_selector(ar, CAIRN_LANG_LOGQL, "{app=\"web\"}", &m, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(papi_selector(ar, CAIRN_LANG_LOGQL, "{app=\"web\"} |= \"x\"", &m, &n, &e), CAIRN_EINVAL);
    arena_free(ar);
}

static void test_auth_parse_and_check(void **state)
{
    (void)state;
    auth a;
    cairn_err e;
    const char f[] = "# users\nread basic grafana:s3cr:et\n\nwrite bearer tok en  \nany bearer admin\n";
    assert_int_equal(auth_parse(&a, f, sizeof f - 1, &e), 0);
    assert_int_equal(a.n, 3);
    /* "grafana:s3cr:et" in base64 */
    assert_int_equal(auth_check(&a, AUTH_READ, "Basic Z3JhZmFuYTpzM2NyOmV0"), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Basic Z3JhZmFuYTpzM2NyOmV0"), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer tok en"), 1);
    assert_int_equal(auth_check(&a, AUTH_READ, "Bearer tok en"), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, "bearer admin"), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer admin"), 1);
    assert_int_equal(auth_check(&a, AUTH_READ, "Bearer admi"), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, NULL), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, "Basic !!!"), 0);
    auth_free(&a);
    /* auth fails closed (docs/api.md): a file with only write lines does not leave reads open */
    assert_int_equal(auth_parse(&a, "write bearer x\n", 15, &e), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, NULL), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, NULL), 0);
    auth_free(&a);
    assert_int_equal(auth_parse(&a, "read digest x\n", 14, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "1:6: auth file line 1: expected basic or bearer, got \"digest\"");
    assert_int_equal(e.col, 6);
    auth_free(&a);
    assert_int_equal(auth_parse(&a, "\nreed basic a:b\n", 16, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "2:1: auth file line 2: expected read, write or any, got \"reed\"");
    auth_free(&a);
    assert_int_equal(auth_parse(&a, "read basic nocolon\n", 19, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "1:1: auth file line 1: basic credentials must be user:password");
    auth_free(&a);
    assert_int_equal(auth_parse(&a, "write bearer\n", 13, &e), CAIRN_EPARSE);
    assert_string_equal(e.msg, "1:1: auth file line 1: missing token");
    auth_free(&a);
}

/* ==== a live server ========================================================================= */

static t_api F;

#define T0 1705312800000LL /* 2024-01-15T10:00:00Z */

static void load_data(cairn_db *db)
{
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label a[] = {CAIRN_LABEL("__name__", "http_requests_total"), CAIRN_LABEL("code", "200"),
                       CAIRN_LABEL("job", "api")};
    cairn_label c[] = {CAIRN_LABEL("__name__", "http_requests_total"), CAIRN_LABEL("code", "500"),
                       CAIRN_LABEL("job", "api")};
    cairn_label d[] = {CAIRN_LABEL("__name__", "temp"), CAIRN_LABEL("status", "ok")};
    int ra = cairn_batch_series(b, CAIRN_KIND_METRIC, a, 3, &e);
    int rc_ = cairn_batch_series(b, CAIRN_KIND_METRIC, c, 3, &e);
    int rtemp = cairn_batch_series(b, CAIRN_KIND_METRIC, d, 2, &e);
    for (int i = 0; i <= 20; i++) {
        cairn_batch_sample(b, ra, T0 + i * 15000, 10.0 * i, &e);
        cairn_batch_sample(b, rc_, T0 + i * 15000, (double)i, &e);
    }
    cairn_batch_sample(b, rtemp, T0, NAN, &e);
    cairn_batch_sample(b, rtemp, T0 + 15000, INFINITY, &e);
    cairn_label s1[] = {CAIRN_LABEL("app", "web"), CAIRN_LABEL("env", "prod")};
    cairn_label s2[] = {CAIRN_LABEL("app", "db"), CAIRN_LABEL("env", "prod")};
    cairn_label meta[] = {CAIRN_LABEL("trace_id", "t1")};
    int r1 = cairn_batch_series(b, CAIRN_KIND_LOG, s1, 2, &e);
    int r2 = cairn_batch_series(b, CAIRN_KIND_LOG, s2, 2, &e);
    char line[128];
    for (int i = 0; i < 10; i++) {
        int n = snprintf(line, sizeof line, "level=%s msg=\"req %d\" request_id=r%d", i % 3 ? "info" : "error", i, i);
        cairn_batch_entry(b, r1, (T0 + i * 1000) * 1000000, line, (size_t)n, i == 0 ? meta : NULL, i == 0, &e);
    }
    cairn_batch_entry(b, r2, (T0 + 500) * 1000000, "slow query", 10, NULL, 0, &e);
    assert_int_equal(cairn_commit(db, b, &e), 0);
    cairn_batch_free(b);
}

static int setup(void **state)
{
    (void)state;
    t_api_start(&F, "prom_api", load_data, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_api_stop(&F);
    return 0;
}

typedef struct resp {
    int status;
    char head[2048];
    char *body;
    size_t len;
} resp;

static char g_body[1 << 20];

/* One request on a fresh connection; the body is kept in a static buffer. */
static void req(const char *method, const char *target, const char *extra_headers, const char *body, resp *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(F.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[4096];
    size_t bl = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s", method, target,
                      extra_headers ? extra_headers : "");
    if (body) hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Length: %zu\r\n", bl);
    hn += snprintf(head + hn, sizeof head - (size_t)hn, "\r\n");
    assert_int_equal(send(fd, head, (size_t)hn, 0), hn);
    if (bl) assert_int_equal(send(fd, body, bl, 0), (ssize_t)bl);
    static char raw[sizeof g_body + 4096];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, raw + got, sizeof raw - 1 - got, 0)) > 0) got += (size_t)n;
    close(fd);
    raw[got] = 0;
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    memset(r, 0, sizeof *r);
    size_t hl = (size_t)(end - raw);
    memcpy(r->head, raw, hl < sizeof r->head - 1 ? hl : sizeof r->head - 1);
    r->status = atoi(raw + 9);
    r->len = got - hl - 4;
    memcpy(g_body, end + 4, r->len);
    g_body[r->len] = 0;
    r->body = g_body;
}

#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"

static void test_prom_grafana_health_check(void **state)
{
    (void)state;
    resp r;
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}}");
    assert_non_null(strcasestr(r.head, "Content-Type: application/json"));
    /* GET and a POST without Content-Type give the same */
    req("GET", "/api/v1/query?query=1%2B1&time=4", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}}");
    req("POST", "/api/v1/query", NULL, "query=1%2B1&time=4", &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[4,\"2\"]}}");
    req("GET", "/api/v1/status/buildinfo", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"version\":\"2.53.0\""));
    assert_null(strstr(r.body, "features"));
}

static void test_prom_query_range_exact(void **state)
{
    (void)state;
    resp r;
    /* start/end on Grafana's step grid; the points are exactly start, start+step, ... */
    req("POST", "/api/v1/query_range", FORM,
        "end=1705313040&query=http_requests_total%7Bcode%3D%22500%22%7D&start=1705313010&step=15", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":"
                                "{\"__name__\":\"http_requests_total\",\"code\":\"500\",\"job\":\"api\"},\"values\":"
                                "[[1705313010,\"14\"],[1705313025,\"15\"],[1705313040,\"16\"]]}]}}");
    /* unaligned start: not realigned; ms timestamps keep 3 digits */
    req("GET", "/api/v1/query_range?query=1&start=1705313010.5&end=1705313011&step=0.25", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
                                "\"values\":[[1705313010.500,\"1\"],[1705313010.750,\"1\"],[1705313011,\"1\"]]}]}}");
    /* NaN and +Inf spelled as Prometheus does */
    req("GET", "/api/v1/query?query=temp&time=1705312815", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":"
                                "{\"__name__\":\"temp\",\"status\":\"ok\"},\"value\":[1705312815,\"+Inf\"]}]}}");
    req("GET", "/api/v1/query?query=temp&time=1705312800", NULL, NULL, &r);
    assert_non_null(strstr(r.body, "\"value\":[1705312800,\"NaN\"]"));
    req("GET", "/api/v1/query?query=%22hi%22&time=1.5", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1.500,\"hi\"]}}");
}

static void expect_error(const char *method, const char *target, const char *body, int status, const char *type,
                         const char *msg)
{
    resp r;
    req(method, target, body ? FORM : NULL, body, &r);
    char want[1024];
    snprintf(want, sizeof want, "{\"status\":\"error\",\"errorType\":\"%s\",\"error\":\"%s\"}", type, msg);
    if (r.status != status || strcmp(r.body, want)) {
        fprintf(stderr, "%s %s\n got %d %s\nwant %d %s\n", method, target, r.status, r.body, status, want);
        fail();
    }
}

static void test_prom_malformed_parameters(void **state)
{
    (void)state;
    expect_error("GET", "/api/v1/query_range?query=up&start=abc&end=10&step=1", NULL, 400, "bad_data",
                 "invalid parameter \\\"start\\\": cannot parse \\\"abc\\\" to a valid timestamp");
    expect_error("GET", "/api/v1/query_range?query=up&start=10&end=5&step=1", NULL, 400, "bad_data",
                 "invalid parameter \\\"end\\\": end timestamp must not be before start time");
    expect_error("POST", "/api/v1/query_range", "query=up&start=0&end=10&step=0", 400, "bad_data",
                 "invalid parameter \\\"step\\\": zero or negative query resolution step widths are not accepted. "
                 "Try a positive integer");
    expect_error("GET", "/api/v1/query_range?query=up&start=0&end=10&step=-1", NULL, 400, "bad_data",
                 "invalid parameter \\\"step\\\": zero or negative query resolution step widths are not accepted. "
                 "Try a positive integer");
    expect_error("GET", "/api/v1/query_range?query=up&start=0&end=11001&step=1", NULL, 400, "bad_data",
                 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution "
                 "(?step=XX)");
    expect_error("GET", "/api/v1/query_range?query=up&start=0&end=10&step=fast", NULL, 400, "bad_data",
                 "invalid parameter \\\"step\\\": cannot parse \\\"fast\\\" to a valid duration");
    expect_error("GET", "/api/v1/query?query=up&time=yesterday", NULL, 400, "bad_data",
                 "invalid parameter \\\"time\\\": cannot parse \\\"yesterday\\\" to a valid timestamp");
    expect_error("GET", "/api/v1/query", NULL, 400, "bad_data",
                 "invalid parameter \\\"query\\\": query must not be empty");
    expect_error("GET", "/api/v1/series", NULL, 400, "bad_data", "no match[] parameter provided");
    expect_error("GET", "/api/v1/label/a-b/values", NULL, 400, "bad_data", "invalid label name: \\\"a-b\\\"");
    expect_error("GET", "/api/v1/query?query=up&timeout=soon", NULL, 400, "bad_data",
                 "invalid parameter \\\"timeout\\\": cannot parse \\\"soon\\\" to a valid duration");
    /* an unparsable query: bad_data with the parser's line:col message */
    resp r;
    req("GET", "/api/v1/query?query=sum(up", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"errorType\":\"bad_data\",\"error\":\"invalid parameter \\\"query\\\": 1:"));
    req("GET", "/api/v1/series?match%5B%5D=rate(up%5B5m%5D)", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    /* the server keeps serving */
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4", &r);
    assert_int_equal(r.status, 200);
}

static void test_prom_label_browser_requests(void **state)
{
    (void)state;
    resp r;
    req("GET", "/api/v1/label/__name__/values?end=1705400000&limit=40000&start=1705300000", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"http_requests_total\",\"temp\"]}");
    req("POST", "/api/v1/labels", FORM, "end=1705400000&limit=40000&match%5B%5D=http_requests_total&start=1705300000",
        &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"job\"]}");
    req("POST", "/api/v1/labels", NULL, "", &r); /* prometheus-query: empty body */
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"__name__\",\"code\",\"job\",\"status\"]}");
    req("GET", "/api/v1/label/code/values?end=1705400000&limit=40000&match%5B%5D=http_requests_total&start=1705300000",
        NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"200\",\"500\"]}");
    req("GET", "/api/v1/label/U__status/values", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"ok\"]}");
    req("GET", "/api/v1/label/nosuchlabel/values", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[]}");
    /* union of two match[]; limit truncates with a warning */
    req("GET", "/api/v1/label/__name__/values?match%5B%5D=temp&match%5B%5D=http_requests_total&limit=1", NULL, NULL,
        &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"http_requests_total\"],\"warnings\":[\"results "
                                "truncated due to limit\"]}");
    req("POST", "/api/v1/series", FORM, "end=1705400000&limit=40000&match%5B%5D=%7B__name__%3D~%22.%2B%22%7D&start=1705300000",
        &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[{\"__name__\":\"http_requests_total\",\"code\":"
                                "\"200\",\"job\":\"api\"},{\"__name__\":\"http_requests_total\",\"code\":\"500\","
                                "\"job\":\"api\"},{\"__name__\":\"temp\",\"status\":\"ok\"}]}");
    req("GET", "/api/v1/query_exemplars?end=1795339516000&query=test&start=1795337716000", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[]}");
    req("GET", "/api/v1/rules", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{\"groups\":[]}}");
    req("GET", "/api/v1/metadata?limit=40000", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":{}}");
    req("GET", "/api/v1/format_query?query=sum(rate(x%5B90m%5D))by(job)", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":\"sum by (job) (rate(x[1h30m]))\"}");
    req("GET", "/api/v1/status/tsdb?limit=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"seriesCountByMetricName\":[{\"name\":\"http_requests_total\",\"value\":2}]"));
}

static void test_prom_concurrency_gate_503(void **state)
{
    (void)state;
    unsigned mc = F.q.max_concurrency, mq = F.q.max_queue;
    F.q.max_concurrency = 1;
    F.q.max_queue = 0; /* no room to wait: 503 at once */
    atomic_store(&F.q.running, 1); /* one query "running" */
    resp r;
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strcasestr(r.head, "Retry-After: 1"));
    assert_string_equal(r.body, "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"too many concurrent "
                                "queries (limit 1, 0 queued); retry later\"}");
    req("GET", "/loki/api/v1/query?query=vector(1)&time=4", NULL, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "too many concurrent queries (limit 1, 0 queued); retry later\n");
    atomic_store(&F.q.running, 0);
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&F.q.running), 0);
    F.q.max_concurrency = mc;
    F.q.max_queue = mq;
}

static void test_prom_gate_defaults(void **state)
{
    (void)state;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(F.q.max_concurrency, (unsigned)(cpus > 0 ? cpus : 1));
    assert_int_equal(F.q.max_queue, 4 * F.q.max_concurrency);
    assert_int_equal(F.q.max_bytes, 256u * 1024 * 1024);
    assert_int_equal(F.q.max_bytes_total, 512u * 1024 * 1024);
    assert_int_equal(F.q.max_response_bytes, 64u * 1024 * 1024);
    assert_int_equal(F.q.max_series, 100000);
    assert_non_null(F.q.budget);
}

static void *release_after(void *arg)
{
    (void)arg;
    struct timespec d = {0, 300 * 1000000L};
    nanosleep(&d, NULL);
    papi_gate_leave(&F.q); /* the "running" query ends */
    return NULL;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_prom_queue_waits_for_a_slot(void **state)
{
    (void)state;
    unsigned mc = F.q.max_concurrency, mq = F.q.max_queue;
    F.q.max_concurrency = 1;
    F.q.max_queue = 4;
    atomic_store(&F.q.running, 1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_after, NULL), 0);
    double t0 = mono_s();
    resp r;
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4", &r);
    double dt = mono_s() - t0;
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200); /* queued, then run: not a 503 */
    assert_true(dt >= 0.25);
    assert_int_equal(atomic_load(&F.q.running), 0);
    assert_int_equal(F.q.waiting, 0);
    /* a queued query whose deadline passes gets Prometheus' / Loki's timeout */
    atomic_store(&F.q.running, 1);
    t0 = mono_s();
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4&timeout=200ms", &r);
    dt = mono_s() - t0;
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in "
                                "query queue\"}");
    assert_true(dt >= 0.15 && dt < 5);
    unsigned long long to = (unsigned long long)F.q.timeout_ms;
    F.q.timeout_ms = 200;
    req("GET", "/loki/api/v1/query?query=vector(1)&time=4", NULL, NULL, &r);
    F.q.timeout_ms = (int64_t)to;
    assert_int_equal(r.status, 504);
    assert_string_equal(r.body, "query timed out in query queue\n");
    /* waiting would take the last HTTP pool thread (3 threads: 1 running + 1 waiting + this one): 503 at once */
    F.q.http_threads = 3;
    F.q.max_queue = 4;
    F.q.waiting = 1; /* one query already waiting */
    t0 = mono_s();
    req("POST", "/api/v1/query", FORM, "query=1%2B1&time=4&timeout=5s", &r);
    dt = mono_s() - t0;
    F.q.waiting = 0;
    F.q.http_threads = 0;
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "\"errorType\":\"unavailable\""));
    assert_true(dt < 2);
    atomic_store(&F.q.running, 0);
    assert_int_equal(F.q.waiting, 0);
    F.q.max_concurrency = mc;
    F.q.max_queue = mq;
}

static void test_prom_memory_and_response_limits(void **state)
{
    (void)state;
    resp r;
    /* 2 series x 7201 steps x 8 bytes = 115 kB > 100 000 bytes */
    F.q.max_bytes = 100000;
    req("GET", "/api/v1/query_range?query=http_requests_total&start=1705310000&end=1705317200&step=1", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    assert_string_equal(r.body, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query would use more "
                                "than 100000 bytes of memory (2 series x 7201 steps); narrow the selector, shorten the "
                                "range or raise --query-max-bytes\"}");
    /* Loki answers 400 for limits */
    req("GET", "/loki/api/v1/query_range?query=count_over_time(%7Bapp%3D%22web%22%7D%5B1m%5D)&start=1705310000&end="
               "1705317200&step=1",
        NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "raise --query-max-bytes"));
    F.q.max_bytes = 256u * 1024 * 1024;
    /* the shared budget: too small for even one query */
    uint64_t total = F.q.max_bytes_total;
    F.q.max_bytes_total = 10000;
    papi_apply_limits(&F.q);
    req("GET", "/api/v1/query?query=http_requests_total&time=1705313100", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "raise --query-max-bytes-total"));
    F.q.max_bytes_total = total;
    papi_apply_limits(&F.q);
    assert_int_equal(cairn_query_budget_used(F.q.budget), 0);
    /* the answer: 2 series x 40 points and 10 log lines are more than 300 bytes of JSON */
    F.q.max_response_bytes = 300;
    req("GET", "/api/v1/query_range?query=http_requests_total&start=1705310000&end=1705317200&step=30", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "query result would be larger than 300 bytes (--query-max-response-bytes)"));
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&start=1705310000&end=1705317200&limit=1000", NULL,
        NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "query result would be larger than 300 bytes (--query-max-response-bytes)"));
    F.q.max_response_bytes = 64u * 1024 * 1024;
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&start=1705310000&end=1705317200&limit=1000", NULL,
        NULL, &r);
    assert_int_equal(r.status, 200);
}

static void test_prom_limits_map_to_execution(void **state)
{
    (void)state;
    F.q.max_samples = 3;
    resp r;
    req("GET", "/api/v1/query?query=sum_over_time(http_requests_total%5B5m%5D)&time=1705313100", NULL, NULL, &r);
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.body, "\"errorType\":\"execution\""));
    F.q.max_samples = 50000000;
}

/* ==== Loki ========================================================================================= */

static void test_loki_grafana_health_check(void **state)
{
    (void)state;
    resp r;
    req("GET", "/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000",
        "X-Loki-Response-Encoding-Flags: categorize-labels\r\nX-Scope-OrgID: tenant1\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    const char *want = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},"
                       "\"value\":[4000000000,\"2\"]}],\"stats\":{";
    assert_memory_equal(r.body, want, strlen(want));
    req("GET", "/loki/api/v1/labels?start=1705312000000000000&end=1705313000000000000", NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"app\",\"env\"]}");
}

static void test_loki_streams_both_encodings(void **state)
{
    (void)state;
    resp r;
    const char *q = "/loki/api/v1/query_range?direction=backward&end=1705312900000000000&limit=2&query=%7Bapp%3D%22web%22%7D"
                    "&start=1705312700000000000&step=1000ms";
    req("GET", q, NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *want = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":{\"app\":"
                       "\"web\",\"env\":\"prod\"},\"values\":[[\"1705312809000000000\",\"level=error msg=\\\"req 9\\\" "
                       "request_id=r9\"],[\"1705312808000000000\",\"level=info msg=\\\"req 8\\\" request_id=r8\"]]}],"
                       "\"stats\":{";
    if (strncmp(r.body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", r.body, want);
        fail();
    }
    /* categorize-labels: flag echoed before result, 3-tuples, metadata and parsed labels out of the stream key */
    req("GET",
        "/loki/api/v1/query_range?direction=forward&end=1705312900000000000&limit=1&query=%7Bapp%3D%22web%22%7D%20%7C%20"
        "logfmt&start=1705312700000000000",
        "X-Loki-Response-Encoding-Flags: categorize-labels\r\n", NULL, &r);
    want = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"encodingFlags\":[\"categorize-labels\"],"
           "\"result\":[{\"stream\":{\"app\":\"web\",\"env\":\"prod\"},\"values\":[[\"1705312800000000000\","
           "\"level=error msg=\\\"req 0\\\" request_id=r0\",{\"structuredMetadata\":{\"trace_id\":\"t1\"},"
           "\"parsed\":{\"level\":\"error\",\"msg\":\"req 0\","
           "\"request_id\":\"r0\"";
    if (strncmp(r.body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", r.body, want);
        fail();
    }
    /* a metric query on the range endpoint: matrix, Loki spelling */
    req("GET",
        "/loki/api/v1/query_range?query=sum%20by%20(app)%20(count_over_time(%7Benv%3D%22prod%22%7D%5B1m%5D))"
        "&start=1705312860000000000&end=1705312860000000000&step=60000ms",
        "X-Loki-Response-Encoding-Flags: categorize-labels\r\n", NULL, &r);
    want = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"db\"},"
           "\"values\":[[1705312860,\"1\"]]},{\"metric\":{\"app\":\"web\"},\"values\":[[1705312860,\"9\"]]}],"
           "\"stats\":{";
    if (strncmp(r.body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", r.body, want);
        fail();
    }
}

static void test_loki_errors_plain_text(void **state)
{
    (void)state;
    resp r;
    req("GET", "/loki/api/v1/query?query=%7Bapp%3D%22web%22%7D&time=1705312900", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "log queries are not supported as an instant query type, please change your query to "
                                "a range query type\n");
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&limit=5001", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > "
                                "5000)\n");
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&step=0", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&direction=sideways", NULL, NULL, &r);
    assert_string_equal(r.body, "invalid direction: must be forward or backward\n");
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22%7D&start=soon", NULL, NULL, &r);
    assert_string_equal(r.body, "invalid start timestamp: cannot parse \"soon\"\n");
    req("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22web%22", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_true(r.body[0] == '1' && r.body[1] == ':');
}

static void test_loki_index_and_series(void **state)
{
    (void)state;
    resp r;
    req("GET", "/loki/api/v1/index/stats?query=%7Benv%3D%22prod%22%7D&start=1705312700000000000&end=1705312900000000000",
        NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"streams\":2,\"chunks\":2,\"entries\":11,"));
    req("GET", "/loki/api/v1/series?match%5B%5D=%7Bapp%3D~%22.%2B%22%7D&start=1705312700000000000&end=1705312900000000000",
        NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[{\"app\":\"db\",\"env\":\"prod\"},{\"app\":\"web\","
                                "\"env\":\"prod\"}]}");
    req("GET", "/loki/api/v1/label/app/values?start=1705312700000000000&end=1705312900000000000&query=%7Benv%3D%22prod%22%7D",
        NULL, NULL, &r);
    assert_string_equal(r.body, "{\"status\":\"success\",\"data\":[\"db\",\"web\"]}");
    req("GET", "/loki/api/v1/index/volume?query=%7Benv%3D%22prod%22%7D&start=1705312700000000000&end=1705312900000000000"
               "&targetLabels=app",
        NULL, NULL, &r);
    if (!strstr(r.body, "\"resultType\":\"vector\",\"result\":[{\"metric\":{\"app\":\"web\"}")) {
        fprintf(stderr, "got %s\n", r.body);
        fail();
    }
    req("GET", "/loki/api/v1/detected_labels?query=%7Benv%3D%22prod%22%7D&start=1705312700000000000&end=1705312900000000000",
        NULL, NULL, &r);
    assert_string_equal(r.body, "{\"detectedLabels\":[{\"label\":\"app\",\"cardinality\":2},{\"label\":\"env\","
                                "\"cardinality\":1}]}");
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_papi_parse_time_formats),
        cmocka_unit_test(test_papi_parse_duration_formats),
        cmocka_unit_test(test_papi_unescape_and_form),
        cmocka_unit_test(test_papi_selector_kinds),
        cmocka_unit_test(test_auth_parse_and_check),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_prom_grafana_health_check),
        cmocka_unit_test(test_prom_query_range_exact),
        cmocka_unit_test(test_prom_malformed_parameters),
        cmocka_unit_test(test_prom_label_browser_requests),
        cmocka_unit_test(test_prom_concurrency_gate_503),
        cmocka_unit_test(test_prom_gate_defaults),
        cmocka_unit_test(test_prom_queue_waits_for_a_slot),
        cmocka_unit_test(test_prom_memory_and_response_limits),
        cmocka_unit_test(test_prom_limits_map_to_execution),
        cmocka_unit_test(test_loki_grafana_health_check),
        cmocka_unit_test(test_loki_streams_both_encodings),
        cmocka_unit_test(test_loki_errors_plain_text),
        cmocka_unit_test(test_loki_index_and_series),
    };
    int rc = cmocka_run_group_tests(unit, NULL, NULL);
    rc |= cmocka_run_group_tests(live, setup, teardown);
    return rc;
}
