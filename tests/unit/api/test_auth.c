/*
 * Tests for api/auth.c: the auth-file parser, the check (fail closed: a file
 * protects every class, a credential opens only its own classes), the
 * route classes, the wrapper over a routing table, and the start-up summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#include "auth.h"
#include "routes.h"

static int parse(auth *a, const char *text, cairn_err *e) { return auth_parse(a, text, strlen(text), e); }

/* "Basic " + base64(user:password), for the cases below. */
static const char *B64_GRAFANA = "Basic Z3JhZmFuYTpzM2NyZXQgcGFzcw=="; /* grafana:s3cret pass */
static const char *B64_WRONG = "Basic Z3JhZmFuYTp3cm9uZw==";           /* grafana:wrong */

static void test_auth_read_only_file_closes_the_write_paths(void **state)
{
    (void)state;
    auth a;
    cairn_err e;
    assert_int_equal(parse(&a, "# grafana\nread basic grafana:s3cret pass\n", &e), CAIRN_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.protected_classes, AUTH_READ | AUTH_WRITE);
    /* before the fix a class without lines was open: auth_check(WRITE, NULL) said 1 */
    assert_int_equal(auth_check(&a, AUTH_WRITE, NULL), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, B64_GRAFANA), 0); /* a read credential never opens a write path */
    assert_int_equal(auth_check(&a, AUTH_READ, B64_GRAFANA), 1);
    assert_int_equal(auth_check(&a, AUTH_READ, B64_WRONG), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, NULL), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, "Bearer s3cret pass"), 0); /* kinds do not mix */
    assert_int_equal(auth_check(&a, 0, NULL), 1);                         /* the probes */
    auth_free(&a);
}

static void test_auth_write_only_file_closes_the_read_paths(void **state)
{
    (void)state;
    auth a;
    cairn_err e;
    assert_int_equal(parse(&a, "write bearer tok-w\nany bearer tok-any\n", &e), CAIRN_OK);
    assert_int_equal(auth_check(&a, AUTH_READ, NULL), 0);
    assert_int_equal(auth_check(&a, AUTH_READ, "Bearer tok-w"), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer tok-w"), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "bearer  tok-w  "), 1);
    assert_int_equal(auth_check(&a, AUTH_READ, "Bearer tok-any"), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer tok-any"), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer tok-"), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer tok-ww"), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Bearer "), 0);
    assert_int_equal(auth_check(&a, AUTH_WRITE, "Digest tok-w"), 0);
    auth_free(&a);
}

static void test_auth_empty_file_is_refused(void **state)
{
    (void)state;
    const char *empty[] = {"", "\n\n", "# only\n   # comments\n\t\n", "   "};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        auth a;
        cairn_err e;
        assert_int_equal(parse(&a, empty[i], &e), CAIRN_EINVAL);
        assert_non_null(strstr(e.msg, "has no credentials"));
        auth_free(&a);
    }
}

static void test_auth_load_names_the_file(void **state)
{
    (void)state;
    char path[] = "/tmp/cairn-test-auth.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "# nothing\n", 10), 10);
    close(fd);
    auth a;
    cairn_err e;
    assert_int_equal(auth_load(&a, path, &e), CAIRN_EINVAL);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "has no credentials"));
    auth_free(&a);
    unlink(path);
    assert_int_equal(auth_load(&a, path, &e), CAIRN_EIO);
    auth_free(&a);
}

static void test_auth_parse_errors(void **state)
{
    (void)state;
    auth a;
    cairn_err e;
    assert_int_equal(parse(&a, "read basic ok:1\nadmin basic x:y\n", &e), CAIRN_EPARSE);
    assert_int_equal(e.line, 2);
    auth_free(&a);
    assert_int_equal(parse(&a, "read digest x:y\n", &e), CAIRN_EPARSE);
    auth_free(&a);
    assert_int_equal(parse(&a, "read basic nocolon\n", &e), CAIRN_EPARSE);
    auth_free(&a);
    assert_int_equal(parse(&a, "write bearer\n", &e), CAIRN_EPARSE);
    auth_free(&a);
}

static void test_auth_no_file_leaves_everything_open(void **state)
{
    (void)state;
    auth a;
    memset(&a, 0, sizeof a);
    assert_int_equal(auth_check(&a, AUTH_READ, NULL), 1);
    assert_int_equal(auth_check(&a, AUTH_WRITE, NULL), 1);
    char d[400];
    auth_describe(&a, d, sizeof d);
    assert_string_equal(d, "no --auth-file: every path is open to anyone who can connect");
}

static void test_auth_describe_says_what_is_protected(void **state)
{
    (void)state;
    auth a;
    cairn_err e;
    assert_int_equal(parse(&a, "read basic g:p\nany bearer t\n", &e), CAIRN_OK);
    char d[400];
    auth_describe(&a, d, sizeof d);
    assert_string_equal(d, "every path needs credentials except /-/healthy, /-/ready, /ready; read paths (GET): "
                           "1 basic, 1 bearer; write paths (ingest): 0 basic, 1 bearer");
    auth_free(&a);
    assert_int_equal(parse(&a, "read basic g:p\n", &e), CAIRN_OK);
    auth_describe(&a, d, sizeof d);
    assert_non_null(strstr(d, "write paths (ingest): no credential: closed to everyone"));
    assert_null(strstr(d, "g:p")); /* no secrets in the log */
    auth_free(&a);
}

static void h_dummy(struct http_req *r, void *c) { (void)r, (void)c; }

static void test_auth_wraps_every_route_but_the_probes(void **state)
{
    (void)state;
    route_table t;
    route_table_init(&t);
    int ctx = 0;
    assert_int_equal(route_add(&t, "/-/healthy", ROUTE_GET, 0, h_dummy, &ctx, "healthy"), 0);
    assert_int_equal(route_add(&t, "/-/ready", ROUTE_GET, 0, h_dummy, &ctx, "ready"), 0);
    assert_int_equal(route_add(&t, "/ready", ROUTE_GET, 0, h_dummy, &ctx, "ready_loki"), 0);
    assert_int_equal(route_add(&t, "/api/v1/query", ROUTE_GET | ROUTE_POST, ROUTE_BODY, h_dummy, &ctx, "q"), 0);
    assert_int_equal(route_add(&t, "/api/v1/write", ROUTE_POST | ROUTE_PUT, ROUTE_BODY, h_dummy, &ctx, "w"), 0);
    assert_int_equal(route_add(&t, "/loki/api/v1/push", ROUTE_POST, ROUTE_BODY, h_dummy, &ctx, "p"), 0);
    assert_int_equal(auth_route_class(&t.v[0]), 0);
    assert_int_equal(auth_route_class(&t.v[3]), AUTH_READ);
    assert_int_equal(auth_route_class(&t.v[4]), AUTH_WRITE);
    auth a;
    cairn_err e;
    /* only read lines: the write routes are wrapped all the same */
    assert_int_equal(parse(&a, "read bearer r\n", &e), CAIRN_OK);
    assert_int_equal(auth_wrap_routes(&a, &t), CAIRN_OK);
    for (size_t i = 0; i < 3; i++) assert_ptr_equal(t.v[i].fn, h_dummy);
    for (size_t i = 3; i < t.n; i++) assert_ptr_not_equal(t.v[i].fn, h_dummy);
    auth_free(&a);
    route_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_read_only_file_closes_the_write_paths),
        cmocka_unit_test(test_auth_write_only_file_closes_the_read_paths),
        cmocka_unit_test(test_auth_empty_file_is_refused),
        cmocka_unit_test(test_auth_load_names_the_file),
        cmocka_unit_test(test_auth_parse_errors),
        cmocka_unit_test(test_auth_no_file_leaves_everything_open),
        cmocka_unit_test(test_auth_describe_says_what_is_protected),
        cmocka_unit_test(test_auth_wraps_every_route_but_the_probes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
