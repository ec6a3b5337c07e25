/*
 * Tests for the Loki-specific server pieces: the WebSocket codec (base/ws.c:
 * SHA-1 and base64 against FIPS 180 / RFC 4648 vectors, the RFC 6455
 * handshake example, frame headers and the client-frame parser with its
 * failure modes), then a live server on 127.0.0.1 over a temp database:
 * categorize-labels with every origin (indexed, structured metadata,
 * parsed, a stream label overridden by a parser, __error__),
 * detected_fields / detected_field/<name>/values / patterns with exact
 * bodies, and the live tail end to end with a C client (history, a live
 * entry, ping, close, 426, and http_stop closing an open tail with 1001).
 *
 * Data (T0 = 2024-01-15T10:00:00Z):
 *   {app="web",env="prod"}: 6 logfmt lines at T0 + i s, i = 0..5:
 *       level=info|error status=200|500 dur=<i+1>ms bytes=<i+1>KB ok=true|false user=u<i%2>
 *       (even i: info/200/true), entries 0 and 1 with metadata trace_id=t1 / t2;
 *   {app="api"}: 2 JSON lines at T0 + 10 s, 11 s:
 *       {"level":"warn","latency":0.25,"req":{"id":7}} and latency 1, id 8;
 *   {app="pat"}: 6 lines at T0 + 20 s * i for the pattern test;
 *   {app="long"}: a line of 200 tokens and a blank line at T0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#include "cairn.h"
#include "http.h"
#include "loki_api.h"
#include "prom_api.h"
#include "push_api.h"
#include "routes.h"
#include "t_api.h"
#include "ws.h"

#define T0_S 1705312800LL
#define S 1000000000LL

/* ==== ws codec ===================================================================== */

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_ws_sha1_fips_vectors(void **state)
{
    (void)state;
    uint8_t d[20];
    char h[41];
    ws_sha1("abc", 3, d);
    hex(d, 20, h);
    assert_string_equal(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    ws_sha1("", 0, d);
    hex(d, 20, h);
    assert_string_equal(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes: two padding blocks */
    ws_sha1(m448, strlen(m448), d);
    hex(d, 20, h);
    assert_string_equal(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    char *mil = malloc(1000000);
    assert_non_null(mil);
    memset(mil, 'a', 1000000);
    ws_sha1(mil, 1000000, d);
    free(mil);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_ws_base64_rfc4648_vectors(void **state)
{
    (void)state;
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char b[16];
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(ws_base64((const uint8_t *)in[i], strlen(in[i]), b, sizeof b), strlen(out[i]));
        assert_string_equal(b, out[i]);
    }
    assert_int_equal(ws_base64((const uint8_t *)"foobar", 6, b, 8), 0); /* needs 9 */
    assert_string_equal(b, "");
}

static void test_ws_handshake_example_and_failures(void **state)
{
    (void)state;
    char acc[29];
    cairn_err e;
    /* RFC 6455 section 1.3 */
    assert_int_equal(ws_handshake("websocket", "keep-alive, Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", acc, &e), 0);
    assert_string_equal(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(ws_handshake("WebSocket", "upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", acc, &e), 0);
    assert_int_equal(ws_handshake(NULL, "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13", acc, &e), 400);
    assert_string_equal(e.msg, "this endpoint speaks WebSocket only: send Connection: Upgrade and Upgrade: websocket");
    assert_int_equal(ws_handshake("websocket", "close", "dGhlIHNhbXBsZSBub25jZQ==", "13", acc, &e), 400);
    assert_int_equal(ws_handshake("websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "8", acc, &e), 426);
    assert_string_equal(e.msg, "unsupported Sec-WebSocket-Version 8: only 13 is supported");
    assert_int_equal(ws_handshake("websocket", "Upgrade", "short", "13", acc, &e), 400);
    assert_string_equal(e.msg, "missing or malformed Sec-WebSocket-Key");
    assert_int_equal(ws_handshake("websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZ!==", "13", acc, &e), 400);
    assert_int_equal(ws_handshake("websocket", "Upgrade", NULL, "13", acc, &e), 400);
}

static void test_ws_frame_header_lengths(void **state)
{
    (void)state;
    uint8_t h[10];
    assert_int_equal(ws_frame_header(h, WS_TEXT, 5), 2);
    assert_memory_equal(h, "\x81\x05", 2);
    assert_int_equal(ws_frame_header(h, WS_TEXT, 125), 2);
    assert_int_equal(h[1], 125);
    assert_int_equal(ws_frame_header(h, WS_CLOSE, 126), 4);
    assert_memory_equal(h, "\x88\x7e\x00\x7e", 4);
    assert_int_equal(ws_frame_header(h, WS_TEXT, 65535), 4);
    assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
    assert_int_equal(ws_frame_header(h, WS_TEXT, 65536), 10);
    assert_memory_equal(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

static void test_ws_parse_client_frames(void **state)
{
    (void)state;
    ws_frame f;
    cairn_err e;
    /* RFC 6455 section 5.7: a masked "Hello" */
    uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    for (size_t n = 0; n < sizeof hello; n++) assert_int_equal(ws_parse(hello, n, 1024, &f, &e), 0);
    assert_int_equal(ws_parse(hello, sizeof hello, 1024, &f, &e), (long)sizeof hello);
    assert_int_equal(f.opcode, WS_TEXT);
    assert_int_equal(f.fin, 1);
    assert_int_equal(f.len, 5);
    assert_memory_equal(f.payload, "Hello", 5);
    /* 16-bit length, zero mask */
    uint8_t mid[8 + 200] = {0x82, 0xfe, 0x00, 200, 0, 0, 0, 0};
    memset(mid + 8, 'x', 200);
    assert_int_equal(ws_parse(mid, sizeof mid - 1, 1024, &f, &e), 0);
    assert_int_equal(ws_parse(mid, sizeof mid, 1024, &f, &e), (long)sizeof mid);
    assert_int_equal(f.len, 200);
    assert_int_equal(ws_parse(mid, sizeof mid, 100, &f, &e), -1);
    assert_int_equal(e.code, CAIRN_ELIMIT);
    assert_string_equal(e.msg, "frame of 200 bytes exceeds 100");
    /* failures */
    uint8_t unmasked[] = {0x81, 0x01, 'a'};
    assert_int_equal(ws_parse(unmasked, sizeof unmasked, 1024, &f, &e), -1);
    assert_string_equal(e.msg, "client frames must be masked");
    uint8_t rsv[] = {0xc1, 0x80, 0, 0, 0, 0};
    assert_int_equal(ws_parse(rsv, sizeof rsv, 1024, &f, &e), -1);
    assert_string_equal(e.msg, "reserved bits set without an extension");
    uint8_t op3[] = {0x83, 0x80, 0, 0, 0, 0};
    assert_int_equal(ws_parse(op3, sizeof op3, 1024, &f, &e), -1);
    assert_string_equal(e.msg, "reserved opcode 0x3");
    uint8_t frag_ping[] = {0x09, 0x80, 0, 0, 0, 0};
    assert_int_equal(ws_parse(frag_ping, sizeof frag_ping, 1024, &f, &e), -1);
    assert_string_equal(e.msg, "control frames must be final and at most 125 bytes");
    uint8_t big_close[] = {0x88, 0xfe, 0x00, 0x7e};
    assert_int_equal(ws_parse(big_close, sizeof big_close, 1024, &f, &e), -1);
}

/* Seeded: masked frames of random opcodes and sizes (all three length forms) parse back, fed whole or in
 * pieces; random garbage never reads past the buffer (ASan) and is either incomplete, a frame or an error. */
static void test_ws_parse_random_roundtrip(void **state)
{
    (void)state;
    t_rng_reset();
    static uint8_t fb[70000 + 14], pay[70000];
    static const int ops[] = {WS_TEXT, WS_BINARY, WS_CONT, WS_CLOSE, WS_PING, WS_PONG};
    for (int iter = 0; iter < 300; iter++) {
        int op = ops[t_randn(6)];
        size_t n = op >= WS_CLOSE ? (size_t)t_randn(126) : (size_t)(iter % 3 == 0 ? t_randn(70000) : t_randn(300));
        for (size_t i = 0; i < n; i++) pay[i] = (uint8_t)t_rand();
        uint8_t h[10];
        size_t hl = ws_frame_header(h, op, n);
        memcpy(fb, h, hl);
        fb[1] |= 0x80; /* a client frame: masked */
        uint8_t mask[4];
        for (int i = 0; i < 4; i++) mask[i] = (uint8_t)t_rand();
        memcpy(fb + hl, mask, 4);
        for (size_t i = 0; i < n; i++) fb[hl + 4 + i] = pay[i] ^ mask[i & 3];
        size_t total = hl + 4 + n;
        ws_frame f;
        cairn_err e;
        size_t cut = (size_t)t_randn(total);
        assert_int_equal(ws_parse(fb, cut, sizeof pay, &f, &e), 0);
        assert_int_equal(ws_parse(fb, total, sizeof pay, &f, &e), (long)total);
        assert_int_equal(f.opcode, op);
        assert_int_equal(f.len, n);
        if (n) assert_memory_equal(f.payload, pay, n);
    }
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)t_randn(64);
        for (size_t i = 0; i < n; i++) fb[i] = (uint8_t)t_rand();
        ws_frame f;
        cairn_err e;
        long k = ws_parse(fb, n, 1 << 16, &f, &e);
        assert_true(k >= -1 && k <= (long)n);
        if (k > 0) assert_true(f.payload + f.len <= fb + n);
    }
}

/* ==== a live server ========================================================================== */

static t_api F;

static void load_data(cairn_db *db)
{
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label web[] = {CAIRN_LABEL("app", "web"), CAIRN_LABEL("env", "prod")};
    cairn_label api[] = {CAIRN_LABEL("app", "api")};
    cairn_label pat[] = {CAIRN_LABEL("app", "pat")};
    cairn_label lng[] = {CAIRN_LABEL("app", "long")};
    int rl = cairn_batch_series(b, CAIRN_KIND_LOG, lng, 1, &e);
    char wide[401];
    for (int i = 0; i < 200; i++) wide[2 * i] = 'w', wide[2 * i + 1] = ' ';
    assert_int_equal(cairn_batch_entry(b, rl, T0_S * S, wide, 399, NULL, 0, &e), 0);
    assert_int_equal(cairn_batch_entry(b, rl, T0_S * S + 1, "   ", 3, NULL, 0, &e), 0);
    int rw = cairn_batch_series(b, CAIRN_KIND_LOG, web, 2, &e);
    int ra = cairn_batch_series(b, CAIRN_KIND_LOG, api, 1, &e);
    int rp = cairn_batch_series(b, CAIRN_KIND_LOG, pat, 1, &e);
    assert_true(rw >= 0 && ra >= 0 && rp >= 0);
    char line[256];
    for (int i = 0; i < 6; i++) {
        int n = snprintf(line, sizeof line, "level=%s status=%d dur=%dms bytes=%dKB ok=%s user=u%d",
                         i % 2 ? "error" : "info", i % 2 ? 500 : 200, i + 1, i + 1, i % 2 ? "false" : "true", i % 2);
        cairn_label m0[] = {CAIRN_LABEL("trace_id", "t1")}, m1[] = {CAIRN_LABEL("trace_id", "t2")};
        assert_int_equal(cairn_batch_entry(b, rw, (T0_S + i) * S, line, (size_t)n, i == 0 ? m0 : i == 1 ? m1 : NULL,
                                           i < 2, &e),
                         0);
    }
    const char *j0 = "{\"level\":\"warn\",\"latency\":0.25,\"req\":{\"id\":7}}";
    const char *j1 = "{\"level\":\"warn\",\"latency\":1,\"req\":{\"id\":8}}";
    assert_int_equal(cairn_batch_entry(b, ra, (T0_S + 10) * S, j0, strlen(j0), NULL, 0, &e), 0);
    assert_int_equal(cairn_batch_entry(b, ra, (T0_S + 11) * S, j1, strlen(j1), NULL, 0, &e), 0);
    static const char *pl[] = {"user alice logged in from 10.0.0.1", "user bob logged in from 10.0.0.2",
                               "user carol logged in from 10.0.0.3", "disk full on /var",
                               "level=info took=15ms", "level=info took=20ms"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(cairn_batch_entry(b, rp, (T0_S + 20 * i) * S, pl[i], strlen(pl[i]), NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(db, b, &e), 0);
    cairn_batch_free(b);
}

static int setup(void **state)
{
    (void)state;
    t_api_start(&F, "loki_api", load_data, 2);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_api_stop(&F);
    return 0;
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static char g_body[1 << 18];

/* GET on a fresh connection; returns the status, the body in g_body. */
static int get(const char *target, const char *headers)
{
    int fd = connect_to(F.port);
    char head[4096];
    int hn = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n", target,
                      headers ? headers : "");
    assert_int_equal(send(fd, head, (size_t)hn, 0), hn);
    static char raw[sizeof g_body + 4096];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, raw + got, sizeof raw - 1 - got, 0)) > 0) got += (size_t)n;
    close(fd);
    raw[got] = 0;
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    strcpy(g_body, end + 4);
    return atoi(raw + 9);
}

#define RANGE "&start=1705312700000000000&end=1705313000000000000"

static void expect_body(const char *target, const char *headers, const char *want)
{
    int st = get(target, headers);
    if (st != 200 || strcmp(g_body, want)) {
        fprintf(stderr, "GET %s\n got  %d %s\n want %s\n", target, st, g_body, want);
        fail();
    }
}

/* ==== categorize-labels ========================================================================= */

static void test_loki_categorize_origins(void **state)
{
    (void)state;
    const char *cat = "X-Loki-Response-Encoding-Flags: categorize-labels\r\n";
    /* metadata and parsed labels leave the stream key; a parser overriding a stream label moves it */
    int st = get("/loki/api/v1/query_range?direction=forward&limit=2&query=%7Bapp%3D%22web%22%7D%20%7C%20logfmt%20%7C%20"
                 "keep%20level,env%20%7C%20label_format%20env%3D%22x%22" RANGE,
                 cat);
    assert_int_equal(st, 200);
    const char *want = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"encodingFlags\":[\"categorize-labels\"],"
                       "\"result\":[{\"stream\":{},\"values\":[[\"1705312800000000000\",\"level=info status=200 dur=1ms "
                       "bytes=1KB ok=true user=u0\",{\"parsed\":{\"env\":\"x\",\"level\":\"info\"}}],[\"1705312801000000000\","
                       "\"level=error status=500 dur=2ms bytes=2KB ok=false user=u1\",{\"parsed\":{\"env\":\"x\",\"level\":"
                       "\"error\"}}]]}],\"stats\":{";
    if (strncmp(g_body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", g_body, want);
        fail();
    }
    /* structuredMetadata before parsed; {} when an entry has neither; __error__ is parsed */
    st = get("/loki/api/v1/query_range?direction=forward&limit=3&query=%7Bapp%3D%22web%22%7D%20%7C%20json" RANGE, cat);
    want = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"encodingFlags\":[\"categorize-labels\"],"
           "\"result\":[{\"stream\":{\"app\":\"web\",\"env\":\"prod\"},\"values\":[[\"1705312800000000000\",\"level=info "
           "status=200 dur=1ms bytes=1KB ok=true user=u0\",{\"structuredMetadata\":{\"trace_id\":\"t1\"},\"parsed\":{"
           "\"__error__\":\"JSONParserErr\",\"__error_details__\":";
    if (st != 200 || strncmp(g_body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", g_body, want);
        fail();
    }
    st = get("/loki/api/v1/query_range?direction=backward&limit=1&query=%7Bapp%3D%22web%22%7D" RANGE, cat);
    want = "\"result\":[{\"stream\":{\"app\":\"web\",\"env\":\"prod\"},\"values\":[[\"1705312805000000000\",\"level=error "
           "status=500 dur=6ms bytes=6KB ok=false user=u1\",{}]]}]";
    if (st != 200 || !strstr(g_body, want)) {
        fprintf(stderr, "got  %s\nwant %s\n", g_body, want);
        fail();
    }
    /* without the flag: the legacy encoding, metadata folded into the labels */
    st = get("/loki/api/v1/query_range?direction=forward&limit=1&query=%7Bapp%3D%22web%22%7D" RANGE, NULL);
    want = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[{\"stream\":{\"app\":\"web\",\"env\":"
           "\"prod\",\"trace_id\":\"t1\"},\"values\":[[\"1705312800000000000\",\"level=info status=200 dur=1ms bytes=1KB "
           "ok=true user=u0\"]]}],\"stats\":{";
    if (st != 200 || strncmp(g_body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", g_body, want);
        fail();
    }
}

/* ==== detected fields and patterns ================================================================== */

static void test_loki_detected_fields_types_and_cardinality(void **state)
{
    (void)state;
    expect_body("/loki/api/v1/detected_fields?query=%7Bapp%3D~%22web%7Capi%22%7D&limit=1000" RANGE, NULL,
                "{\"fields\":["
                "{\"label\":\"bytes\",\"type\":\"bytes\",\"cardinality\":6,\"parsers\":[\"logfmt\"]},"
                "{\"label\":\"dur\",\"type\":\"duration\",\"cardinality\":6,\"parsers\":[\"logfmt\"]},"
                "{\"label\":\"latency\",\"type\":\"float\",\"cardinality\":2,\"parsers\":[\"json\"]},"
                "{\"label\":\"level\",\"type\":\"string\",\"cardinality\":3,\"parsers\":[\"json\",\"logfmt\"]},"
                "{\"label\":\"ok\",\"type\":\"boolean\",\"cardinality\":2,\"parsers\":[\"logfmt\"]},"
                "{\"label\":\"req_id\",\"type\":\"int\",\"cardinality\":2,\"parsers\":[\"json\"]},"
                "{\"label\":\"status\",\"type\":\"int\",\"cardinality\":2,\"parsers\":[\"logfmt\"]},"
                "{\"label\":\"trace_id\",\"type\":\"string\",\"cardinality\":2,\"parsers\":null},"
                "{\"label\":\"user\",\"type\":\"string\",\"cardinality\":2,\"parsers\":[\"logfmt\"]}],\"limit\":1000}");
    /* the query's own parser names the parsers; limit cuts the sorted list; line_limit bounds the sample */
    expect_body("/loki/api/v1/detected_fields?query=%7Bapp%3D%22web%22%7D%20%7C%20logfmt&limit=2&line_limit=1" RANGE,
                NULL,
                "{\"fields\":[{\"label\":\"bytes\",\"type\":\"bytes\",\"cardinality\":1,\"parsers\":[\"logfmt\"]},"
                "{\"label\":\"dur\",\"type\":\"duration\",\"cardinality\":1,\"parsers\":[\"logfmt\"]}],\"limit\":2}");
    expect_body("/loki/api/v1/detected_field/level/values?query=%7Bapp%3D~%22web%7Capi%22%7D" RANGE, NULL,
                "{\"values\":[\"error\",\"info\",\"warn\"],\"limit\":1000}");
    expect_body("/loki/api/v1/detected_field/trace_id/values?query=%7Bapp%3D%22web%22%7D&limit=1" RANGE, NULL,
                "{\"values\":[\"t1\"],\"limit\":1}");
    expect_body("/loki/api/v1/detected_field/nope/values?query=%7Bapp%3D%22web%22%7D" RANGE, NULL,
                "{\"values\":[],\"limit\":1000}");
    /* failures: plain text 400 */
    assert_int_equal(get("/loki/api/v1/detected_fields?x=1" RANGE, NULL), 400);
    assert_string_equal(g_body, "query parameter is required\n");
    assert_int_equal(get("/loki/api/v1/detected_fields?query=%7Bapp%3D%22web%22&x=1" RANGE, NULL), 400);
    assert_true(g_body[0] == '1' && g_body[1] == ':');
    assert_int_equal(get("/loki/api/v1/detected_fields?query=count_over_time(%7Bapp%3D%22web%22%7D%5B1m%5D)" RANGE, NULL),
                     400);
    assert_string_equal(g_body, "only log queries are supported here, not metric queries\n");
    assert_int_equal(get("/loki/api/v1/detected_fields?query=%7Bapp%3D%22web%22%7D&line_limit=0" RANGE, NULL), 400);
    assert_string_equal(g_body, "invalid line_limit: must be a positive integer, got \"0\"\n");
    assert_int_equal(get("/loki/api/v1/detected_field/level?query=%7Bapp%3D%22web%22%7D" RANGE, NULL), 404);
}

static void test_loki_patterns_clusters(void **state)
{
    (void)state;
    expect_body("/loki/api/v1/patterns?query=%7Bapp%3D%22pat%22%7D&step=60s" RANGE, NULL,
                "{\"status\":\"success\",\"data\":["
                "{\"pattern\":\"user \\u003c_\\u003e logged in from \\u003c_\\u003e\",\"samples\":[[1705312800,3]]},"
                "{\"pattern\":\"level=info took=\\u003c_\\u003e\",\"samples\":[[1705312860,2]]},"
                "{\"pattern\":\"disk full on /var\",\"samples\":[[1705312860,1]]}]}");
    /* 20 s steps: one sample per line */
    expect_body("/loki/api/v1/patterns?query=%7Bapp%3D%22pat%22%7D%20%7C%3D%20%22took%22&step=20s" RANGE, NULL,
                "{\"status\":\"success\",\"data\":[{\"pattern\":\"level=info took=\\u003c_\\u003e\",\"samples\":[[1705312880,1],"
                "[1705312900,1]]}]}");
    expect_body("/loki/api/v1/patterns?query=%7Bapp%3D%22none%22%7D" RANGE, NULL, "{\"status\":\"success\",\"data\":[]}");
    /* 200 tokens: the first 126 kept, the rest one <_>; a blank line has no pattern */
    char want[600] = "{\"status\":\"success\",\"data\":[{\"pattern\":\"";
    for (int i = 0; i < 126; i++) strcat(want, "w ");
    strcat(want, "\\u003c_\\u003e\",\"samples\":[[1705312800,1]]}]}");
    expect_body("/loki/api/v1/patterns?query=%7Bapp%3D%22long%22%7D&step=60s" RANGE, NULL, want);
    assert_int_equal(get("/loki/api/v1/patterns?query=%7Bapp%3D%22pat%22%7D&step=-1" RANGE, NULL), 400);
    assert_string_equal(g_body, "invalid step: cannot parse \"-1\"\n");
}

/* ==== live tail ==================================================================================== */

/* Open a tail; returns the fd after a 101 (or -status after any other answer, body in g_body). */
static int tail_open(uint16_t port, const char *target, const char *version)
{
    int fd = connect_to(port);
    char head[2048];
    int hn = snprintf(head, sizeof head,
                      "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: %s\r\n\r\n",
                      target, version);
    assert_int_equal(send(fd, head, (size_t)hn, 0), hn);
    char raw[4096];
    size_t got = 0;
    while (got < sizeof raw - 1) { /* byte by byte up to the blank line: frames may follow at once */
        ssize_t n = recv(fd, raw + got, 1, 0);
        if (n <= 0) break;
        got++;
        if (got >= 4 && !memcmp(raw + got - 4, "\r\n\r\n", 4)) break;
    }
    raw[got] = 0;
    int st = atoi(raw + 9);
    if (st == 101) {
        assert_non_null(strstr(raw, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert_non_null(strcasestr(raw, "Upgrade: websocket\r\n"));
        return fd;
    }
    /* the connection stays open (keep-alive): read exactly Content-Length bytes */
    const char *cl = strcasestr(raw, "Content-Length:");
    assert_non_null(cl);
    size_t want = (size_t)atol(cl + 15), bl = 0;
    assert_true(want < sizeof g_body);
    if (want) assert_int_equal(recv(fd, g_body, want, MSG_WAITALL), (ssize_t)want);
    bl = want;
    g_body[bl] = 0;
    close(fd);
    return -st;
}

/* Read one server frame into g_body (NUL-terminated); returns its opcode. */
static int tail_frame(int fd, size_t *len)
{
    uint8_t h[10];
    assert_int_equal(recv(fd, h, 2, MSG_WAITALL), 2);
    assert_int_equal(h[0] & 0x80, 0x80);
    assert_int_equal(h[1] & 0x80, 0);
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        assert_int_equal(recv(fd, h + 2, 2, MSG_WAITALL), 2);
        n = (uint64_t)h[2] << 8 | h[3];
    } else if (n == 127) {
        assert_int_equal(recv(fd, h + 2, 8, MSG_WAITALL), 8);
        n = 0;
        for (int i = 0; i < 8; i++) n = n << 8 | h[2 + i];
    }
    assert_true(n < sizeof g_body);
    if (n) assert_int_equal(recv(fd, g_body, (size_t)n, MSG_WAITALL), (ssize_t)n);
    g_body[n] = 0;
    *len = (size_t)n;
    return h[0] & 0x0f;
}

static void tail_send(int fd, int op, const char *p, size_t n)
{
    uint8_t f[140] = {(uint8_t)(0x80 | op), (uint8_t)(0x80 | n), 1, 2, 3, 4};
    for (size_t i = 0; i < n; i++) f[6 + i] = (uint8_t)(p[i] ^ f[2 + (i & 3)]);
    assert_int_equal(send(fd, f, 6 + n, 0), (ssize_t)(6 + n));
}

static void test_loki_tail_history_live_ping_close(void **state)
{
    (void)state;
    /* history: newest 2 of {app="api"} (start in the past), oldest first */
    int fd = tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22api%22%7D&limit=2&start=1705312700000000000", "13");
    assert_true(fd > 0);
    size_t n;
    assert_int_equal(tail_frame(fd, &n), WS_TEXT);
    assert_string_equal(g_body, "{\"streams\":[{\"stream\":{\"app\":\"api\"},\"values\":[[\"1705312810000000000\","
                                "\"{\\\"level\\\":\\\"warn\\\",\\\"latency\\\":0.25,\\\"req\\\":{\\\"id\\\":7}}\"],"
                                "[\"1705312811000000000\",\"{\\\"level\\\":\\\"warn\\\",\\\"latency\\\":1,\\\"req\\\":"
                                "{\\\"id\\\":8}}\"]]}],\"dropped_entries\":null}");
    /* a live entry with the current time arrives within a poll or two */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    cairn_label api[] = {CAIRN_LABEL("app", "api")};
    int ref = cairn_batch_series(b, CAIRN_KIND_LOG, api, 1, &e);
    assert_int_equal(cairn_batch_entry(b, ref, (int64_t)ts.tv_sec * S + ts.tv_nsec, "live!", 5, NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(F.db, b, &e), 0);
    cairn_batch_free(b);
    assert_int_equal(tail_frame(fd, &n), WS_TEXT);
    assert_non_null(strstr(g_body, "{\"streams\":[{\"stream\":{\"app\":\"api\"},\"values\":[[\""));
    assert_non_null(strstr(g_body, "\",\"live!\"]]}],\"dropped_entries\":null}"));
    /* ping -> pong */
    tail_send(fd, WS_PING, "p1", 2);
    assert_int_equal(tail_frame(fd, &n), WS_PONG);
    assert_int_equal(n, 2);
    assert_memory_equal(g_body, "p1", 2);
    /* close 1000 -> echoed, then EOF */
    tail_send(fd, WS_CLOSE, "\x03\xe8", 2);
    assert_int_equal(tail_frame(fd, &n), WS_CLOSE);
    assert_memory_equal(g_body, "\x03\xe8", 2);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    /* a protocol error (unmasked frame) -> close 1002 */
    fd = tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22none%22%7D", "13");
    assert_true(fd > 0);
    assert_int_equal(send(fd, "\x81\x01x", 3, 0), 3);
    assert_int_equal(tail_frame(fd, &n), WS_CLOSE);
    assert_memory_equal(g_body, "\x03\xea" "client frames must be masked", n);
    close(fd);
}

static void test_loki_tail_refusals(void **state)
{
    (void)state;
    assert_int_equal(tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22api%22%7D", "8"), -426);
    assert_string_equal(g_body, "unsupported Sec-WebSocket-Version 8: only 13 is supported\n");
    assert_int_equal(tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22api%22%7D&delay_for=6", "13"), -400);
    assert_string_equal(g_body, "delay_for can't be greater than 5\n");
    assert_int_equal(tail_open(F.port, "/loki/api/v1/tail?query=rate(%7Bapp%3D%22api%22%7D%5B1m%5D)", "13"), -400);
    assert_string_equal(g_body, "tail requires a log query (a stream selector and an optional pipeline), not a metric "
                                "query\n");
    assert_int_equal(tail_open(F.port, "/loki/api/v1/tail", "13"), -400);
    assert_string_equal(g_body, "query parameter is required\n");
    assert_int_equal(get("/loki/api/v1/tail?query=%7Bapp%3D%22api%22%7D", NULL), 400);
    assert_string_equal(g_body, "this endpoint speaks WebSocket only: send Connection: Upgrade and Upgrade: websocket\n");
    /* max_upgrades = 2 in this fixture: the third concurrent tail is refused with 429 */
    int a = tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22none%22%7D", "13");
    int b = tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22none%22%7D", "13");
    assert_true(a > 0 && b > 0);
    assert_int_equal(tail_open(F.port, "/loki/api/v1/tail?query=%7Bapp%3D%22none%22%7D", "13"), -429);
    assert_string_equal(g_body, "too many live tails at once; close one and retry\n");
    close(a);
    close(b);
    /* the slots come back once the server notices the hang-ups */
    for (int i = 0; i < 200 && http_upgrades(F.hs) > 0; i++) usleep(10000);
    assert_int_equal(http_upgrades(F.hs), 0);
}

static void test_loki_tail_closed_by_http_stop(void **state)
{
    (void)state;
    /* a second server on the fixture's routes, stopped while a tail is open */
    http_opts ho;
    http_opts_default(&ho);
    ho.port = 0;
    ho.n_threads = 2;
    ho.max_upgrades = 2;
    ho.routes = &F.rt;
    http_server *hs;
    cairn_err e;
    assert_int_equal(http_start(&ho, &hs, &e), 0);
    uint16_t port = http_port(hs);
    int fd = tail_open(port, "/loki/api/v1/tail?query=%7Bapp%3D%22none%22%7D", "13");
    assert_true(fd > 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    http_stop(hs, 1000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(s < 3.0);
    size_t n;
    assert_int_equal(tail_frame(fd, &n), WS_CLOSE);
    assert_memory_equal(g_body, "\x03\xe9" "server shutting down", n);
    close(fd);
}

/* ==== endpoint defaults (docs/api.md, Loki's loki-http-api.md) ======================================= */

/* POST with a form-encoded body on a fresh connection; returns the status, the body in g_body. */
static int post_form(const char *target, const char *form)
{
    int fd = connect_to(F.port);
    char head[4096];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: "
                      "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                      target, strlen(form), form);
    assert_int_equal(send(fd, head, (size_t)hn, 0), hn);
    static char raw[sizeof g_body + 4096];
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, raw + got, sizeof raw - 1 - got, 0)) > 0) got += (size_t)n;
    close(fd);
    raw[got] = 0;
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    strcpy(g_body, end + 4);
    return atoi(raw + 9);
}

/* Streams {age="5h"} and {age="7h"} one entry each, that long before now: label values look back 6 h
 * without start, series and queries 1 h; `since` counts back from now when end is in the future; label
 * values, series and patterns accept a form-encoded POST as Loki does. */
static void test_loki_endpoint_defaults(void **state)
{
    (void)state;
    cairn_err e;
    cairn_batch *b = cairn_batch_new();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t)now.tv_sec * S + now.tv_nsec;
    cairn_label l5[] = {CAIRN_LABEL("age", "5h")}, l7[] = {CAIRN_LABEL("age", "7h")};
    int r5 = cairn_batch_series(b, CAIRN_KIND_LOG, l5, 1, &e), r7 = cairn_batch_series(b, CAIRN_KIND_LOG, l7, 1, &e);
    assert_int_equal(cairn_batch_entry(b, r5, now_ns - 5 * 3600 * S, "five", 4, NULL, 0, &e), 0);
    assert_int_equal(cairn_batch_entry(b, r7, now_ns - 7 * 3600 * S, "seven", 5, NULL, 0, &e), 0);
    assert_int_equal(cairn_commit(F.db, b, &e), 0);
    cairn_batch_free(b);

    expect_body("/loki/api/v1/label/age/values", NULL, "{\"status\":\"success\",\"data\":[\"5h\"]}");
    expect_body("/loki/api/v1/labels?query=%7Bage%3D%225h%22%7D", NULL, "{\"status\":\"success\",\"data\":[\"age\"]}");
    expect_body("/loki/api/v1/label/age/values?since=8h", NULL, "{\"status\":\"success\",\"data\":[\"5h\",\"7h\"]}");
    expect_body("/loki/api/v1/label/age/values?since=1h", NULL, "{\"status\":\"success\",\"data\":[]}");
    /* series: 1 h by default */
    expect_body("/loki/api/v1/series?match%5B%5D=%7Bage%3D~%22.%2B%22%7D", NULL, "{\"status\":\"success\",\"data\":[]}");
    expect_body("/loki/api/v1/series?since=6h&match%5B%5D=%7Bage%3D~%22.%2B%22%7D", NULL,
                "{\"status\":\"success\",\"data\":[{\"age\":\"5h\"}]}");
    /* end 3 h ahead: since=6h still starts 6 h before now (start = end - 6h would miss the 5 h stream) */
    char t[256];
    snprintf(t, sizeof t, "/loki/api/v1/label/age/values?since=6h&end=%lld", (long long)(now_ns + 3 * 3600 * S));
    expect_body(t, NULL, "{\"status\":\"success\",\"data\":[\"5h\"]}");
    /* an explicit start wins over since */
    snprintf(t, sizeof t, "/loki/api/v1/label/age/values?since=1h&start=%lld", (long long)(now_ns - 8 * 3600 * S));
    expect_body(t, NULL, "{\"status\":\"success\",\"data\":[\"5h\",\"7h\"]}");
    /* form-encoded POST */
    int st = post_form("/loki/api/v1/label/age/values", "since=8h");
    assert_int_equal(st, 200);
    assert_string_equal(g_body, "{\"status\":\"success\",\"data\":[\"5h\",\"7h\"]}");
    st = post_form("/loki/api/v1/series", "since=6h&match%5B%5D=%7Bage%3D%225h%22%7D");
    assert_int_equal(st, 200);
    assert_string_equal(g_body, "{\"status\":\"success\",\"data\":[{\"age\":\"5h\"}]}");
    st = post_form("/loki/api/v1/patterns", "query=%7Bage%3D%225h%22%7D&since=6h");
    assert_int_equal(st, 200);
    st = post_form("/loki/api/v1/query_range", "query=%7Bage%3D%225h%22%7D&since=6h&limit=1");
    assert_int_equal(st, 200);
    assert_non_null(strstr(g_body, "\"five\""));
    /* query_range looks back 1 h by default */
    st = get("/loki/api/v1/query_range?query=count_over_time(%7Bage%3D%225h%22%7D%5B1m%5D)", NULL);
    assert_int_equal(st, 200);
    const char *want = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]";
    if (strncmp(g_body, want, strlen(want))) {
        fprintf(stderr, "got  %s\nwant %s\n", g_body, want);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_ws_sha1_fips_vectors),
        cmocka_unit_test(test_ws_base64_rfc4648_vectors),
        cmocka_unit_test(test_ws_handshake_example_and_failures),
        cmocka_unit_test(test_ws_frame_header_lengths),
        cmocka_unit_test(test_ws_parse_client_frames),
        cmocka_unit_test(test_ws_parse_random_roundtrip),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_loki_categorize_origins),
        cmocka_unit_test(test_loki_detected_fields_types_and_cardinality),
        cmocka_unit_test(test_loki_patterns_clusters),
        cmocka_unit_test(test_loki_tail_history_live_ping_close),
        cmocka_unit_test(test_loki_tail_refusals),
        cmocka_unit_test(test_loki_tail_closed_by_http_stop),
        cmocka_unit_test(test_loki_endpoint_defaults),
    };
    int rc = cmocka_run_group_tests(unit, NULL, NULL);
    rc |= cmocka_run_group_tests(live, setup, teardown);
    return rc;
}
