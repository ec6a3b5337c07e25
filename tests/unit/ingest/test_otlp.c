/*
 * Tests for the OTLP decoders: JSON fixtures shaped like the OpenTelemetry JS
 * exporters' (api-contract C.4, clients.md 3.3), and protobuf fixtures built
 * by hand that must decode to exactly the same batch as their JSON twin.
 */
#include "t_ingest.h"

#define T1 "1795339478293000000"

static int metrics_json(const char *body, cairn_batch *b, ingest_meta_list *meta, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    return otlp_decode_metrics((const uint8_t *)body, strlen(body), OTLP_JSON, &o, b, meta, e);
}

static int logs_json(const char *body, cairn_batch *b, cairn_err *e)
{
    ingest_opts o;
    t_opts(&o);
    o.reject_old_ns = 0;
    return otlp_decode_logs((const uint8_t *)body, strlen(body), OTLP_JSON, &o, b, e);
}

#define KV(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"
#define RES "\"resource\":{\"attributes\":[" KV("service.name", "shop") "," KV("service.namespace", "prod") "," \
            KV("service.instance.id", "i-1") "," KV("host.name", "h1") "]}"

static const char *metrics_fixture =
    "{\"resourceMetrics\":[{" RES ",\"scopeMetrics\":[{\"scope\":{\"name\":\"lib\"},\"metrics\":["
    "{\"name\":\"http.server.requests\",\"unit\":\"1\",\"description\":\"Requests.\",\"sum\":{\"aggregationTemporality\":2,"
    "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"asDouble\":5,\"attributes\":[" KV("http.route", "/a") "]}]}},"
    "{\"name\":\"mem.usage\",\"unit\":\"By\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"asInt\":\"1024\"}]}},"
    "{\"name\":\"cpu.util\",\"unit\":\"1\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asDouble\":0.5}]}},"
    "{\"name\":\"queue.depth\",\"unit\":\"{items}\",\"sum\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"asInt\":-3}]}},"
    "{\"name\":\"http.server.duration\",\"unit\":\"s\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"" T1
    "\",\"count\":\"3\",\"sum\":1.5,\"bucketCounts\":[\"1\",\"2\",\"0\"],\"explicitBounds\":[0.1,1],\"min\":0.05}]}},"
    "{\"name\":\"rpc.latency\",\"unit\":\"ms\",\"summary\":{\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"count\":\"2\",\"sum\":3,"
    "\"quantileValues\":[{\"quantile\":0.5,\"value\":1},{\"quantile\":0.99,\"value\":2}]}]}},"
    "{\"name\":\"net.io\",\"unit\":\"By/s\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"asDouble\":\"NaN\",\"flags\":1}]}},"
    "{\"name\":\"exp\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"scale\":1}]}}"
    "]}]}]}";

#define JI "job=\"prod/shop\", instance=\"i-1\""

static void test_otlp_metrics_json(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    int rc = metrics_json(metrics_fixture, b, &meta, &e);
    if (rc) fail_msg("%s", e.msg);
    const int64_t t = 1795339478293;
    const batch_sample *s = t_sample(b, "{__name__=\"http_server_requests_total\", http_route=\"/a\", instance=\"i-1\", job=\"prod/shop\"}", 0);
    assert_int_equal(s->t_ms, t);
    assert_bits_equal(s->v, 5.0);
    assert_bits_equal(t_sample(b, "{__name__=\"mem_usage_bytes\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, 1024.0);
    assert_bits_equal(t_sample(b, "{__name__=\"cpu_util_ratio\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, 0.5);
    assert_bits_equal(t_sample(b, "{__name__=\"queue_depth\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, -3.0);
    const char *h = "{__name__=\"http_server_duration_seconds_bucket\", instance=\"i-1\", job=\"prod/shop\", le=\"%s\"}";
    char buf1[256];
    snprintf(buf1, sizeof buf1, h, "0.1");
    assert_bits_equal(t_sample(b, buf1, 0)->v, 1.0);
    snprintf(buf1, sizeof buf1, h, "1");
    assert_bits_equal(t_sample(b, buf1, 0)->v, 3.0);
    snprintf(buf1, sizeof buf1, h, "+Inf");
    assert_bits_equal(t_sample(b, buf1, 0)->v, 3.0);
    assert_bits_equal(t_sample(b, "{__name__=\"http_server_duration_seconds_sum\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, 1.5);
    assert_bits_equal(t_sample(b, "{__name__=\"http_server_duration_seconds_count\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, 3.0);
    assert_bits_equal(t_sample(b, "{__name__=\"rpc_latency_milliseconds\", instance=\"i-1\", job=\"prod/shop\", quantile=\"0.99\"}", 0)->v, 2.0);
    assert_bits_equal(t_sample(b, "{__name__=\"rpc_latency_milliseconds_count\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v, 2.0);
    assert_int_equal(t_bits(t_sample(b, "{__name__=\"net_io_bytes_per_second\", instance=\"i-1\", job=\"prod/shop\"}", 0)->v),
                     0x7ff0000000000002ULL);
    s = t_sample(b, "{__name__=\"target_info\", host_name=\"h1\", instance=\"i-1\", job=\"prod/shop\"}", 0);
    assert_int_equal(s->t_ms, t);
    assert_bits_equal(s->v, 1.0);
    assert_int_equal(b->n_series, 15);
    long i = ingest_meta_find(&meta, "http_server_requests_total", 26);
    assert_true(i >= 0);
    assert_int_equal(meta.v[i].type, INGEST_TYPE_COUNTER);
    assert_string_equal(meta.v[i].help, "Requests.");
    i = ingest_meta_find(&meta, "http_server_duration_seconds", 28);
    assert_int_equal(meta.v[i].type, INGEST_TYPE_HISTOGRAM);
    ingest_meta_free(&meta);
    cairn_batch_free(b);
}

static void test_otlp_metric_names(void **state)
{
    (void)state;
    struct {
        const char *name, *unit, *kind, *want;
    } cases[] = {
        {"http.server.duration", "s", "histogram", "http_server_duration_seconds_count"},
        {"requests.total", "1", "counter", "requests_total"},
        {"total.requests", "", "counter", "requests_total"},
        {"disk.io", "KiBy", "counter", "disk_io_kibibytes_total"},
        {"latency_seconds", "s", "gauge", "latency_seconds"},
        {"2xx.responses", "", "gauge", "_2xx_responses"},
        {"temp", "Cel", "gauge", "temp_celsius"},
        {"weird", "foo/bar", "gauge", "weird_foo_per_bar"},
        {"rate", "{req}/min", "gauge", "rate_per_min"},
        {"util", "%", "gauge", "util_percent"},
        {"a..b__c", "", "gauge", "a_b_c"},
        {"x:y", "", "gauge", "x:y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char body[1024];
        const char *data;
        if (!strcmp(cases[i].kind, "counter"))
            data = "\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"1\",\"asInt\":1}]}";
        else if (!strcmp(cases[i].kind, "histogram"))
            data = "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"1\",\"count\":1}]}";
        else data = "\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":\"1\",\"asInt\":1}]}";
        snprintf(body, sizeof body, "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"%s\",\"unit\":\"%s\",%s}]}]}]}",
                 cases[i].name, cases[i].unit, data);
        cairn_batch *b = cairn_batch_new();
        cairn_err e;
        int rc = metrics_json(body, b, NULL, &e);
        if (rc) fail_msg("%s: %s", cases[i].name, e.msg);
        char want[128];
        snprintf(want, sizeof want, "{__name__=\"%s\"}", cases[i].want);
        t_assert_series(b, want);
        cairn_batch_free(b);
    }
}

static void test_otlp_label_names(void **state)
{
    (void)state;
    const char *body = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":"
                       "[{\"timeUnixNano\":\"1\",\"asInt\":1,\"attributes\":[" KV("a.b", "x") "," KV("a_b", "y") ","
                       KV("1x", "d") "," KV("_u", "e") "," KV("caf\xc3\xa9", "g") ","
                       "{\"key\":\"n\",\"value\":{\"intValue\":\"-7\"}},{\"key\":\"f\",\"value\":{\"doubleValue\":0.25}},"
                       "{\"key\":\"t\",\"value\":{\"boolValue\":true}},{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":"
                       "[{\"stringValue\":\"q\\\"\"},{\"intValue\":1}]}}},"
                       "{\"key\":\"job\",\"value\":{\"stringValue\":\"mine\"}}]}]}}]}]}]}";
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = metrics_json(body, b, NULL, &e);
    if (rc) fail_msg("%s", e.msg);
    /* a_b collides with a.b and is joined with ';' */
    t_assert_series(b, "{__name__=\"m\", a_b=\"x;y\", arr=\"[\\\"q\\\\\\\"\\\",1]\", caf_=\"g\", f=\"0.25\", job=\"mine\", "
                       "key_1x=\"d\", key_u=\"e\", n=\"-7\", t=\"true\"}");
    cairn_batch_free(b);
}

/* Regression (issue 10): an attribute that sanitises to a reserved name (__v)
 * was stripped, so two points differing only in it became one series and
 * collided as a duplicate sample. It is refused, naming the label; so is a NUL
 * in an attribute value. Nothing of the request stays in the batch. */
static void test_otlp_reserved_and_nul_refused(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    const char *two = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":["
                      "{\"timeUnixNano\":\"1000000\",\"asInt\":1,\"attributes\":[" KV("__v", "a") "]},"
                      "{\"timeUnixNano\":\"1000000\",\"asInt\":2,\"attributes\":[" KV("__v", "b") "]}]}}]}]}]}";
    assert_int_equal(metrics_json(two, b, NULL, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "label name \"__v\" is reserved");
    assert_int_equal(cairn_batch_size(b), 0);
    const char *nul = "{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":["
                      "{\"timeUnixNano\":\"1000000\",\"asInt\":1,\"attributes\":[" KV("k", "ab\\u0000") "]}]}}]}]}]}";
    assert_int_equal(metrics_json(nul, b, NULL, &e), CAIRN_EINVAL);
    assert_msg_contains(e, "NUL byte in the value of label \"k\" at offset 2");
    assert_int_equal(cairn_batch_size(b), 0);
    cairn_batch_free(b);
}

static void check_metrics_error(const char *body, int code, const char *msg)
{
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    int rc = metrics_json(body, b, &meta, &e);
    if (rc != code || (code && strcmp(e.msg, msg) != 0)) fail_msg("%s:\n got %d \"%s\"\n want %d \"%s\"", body, rc, e.msg, code, msg);
    if (code) {
        assert_int_equal(cairn_batch_size(b), 0);
        assert_int_equal(meta.n, 0);
    }
    ingest_meta_free(&meta);
    cairn_batch_free(b);
}

static void test_otlp_metrics_errors(void **state)
{
    (void)state;
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"ok\",\"gauge\":{\"dataPoints\":[{\"asInt\":1}]}},"
                        "{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":[]}}]}]}]}",
                        CAIRN_EINVAL,
                        "OTLP metric \"c\": delta aggregation temporality is not supported; export cumulative temporality "
                        "(invalid temporality and type combination)");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"h\",\"histogram\":{\"dataPoints\":[]}}]}]}]}",
                        CAIRN_EINVAL,
                        "OTLP metric \"h\": unspecified aggregation temporality is not supported; export cumulative "
                        "temporality (invalid temporality and type combination)");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"g\",\"gauge\":{\"dataPoints\":"
                        "[{\"timeUnixNano\":\"18446744073709551615\",\"asInt\":1}]}}]}]}]}",
                        CAIRN_EINVAL, "OTLP metric \"g\": timestamp 18446744073709551615 ns is out of range");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"g\",\"gauge\":{\"dataPoints\":"
                        "[{\"timeUnixNano\":\"1\",\"asInt\":1.5}]}}]}]}]}",
                        CAIRN_EINVAL, "OTLP JSON: NumberDataPoint.asInt: expected an integer");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":7}]}]}]}", CAIRN_EINVAL,
                        "OTLP JSON: Metric.name: expected a string");
    check_metrics_error("{\"resourceMetrics\":{\"a\":1", CAIRN_EPARSE, "1:26: expected ',' or '}' at end of input");
    check_metrics_error("[]", CAIRN_EINVAL, "OTLP JSON: ExportMetricsServiceRequest must be an object");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"\",\"gauge\":{}}]}]}]}", CAIRN_EINVAL,
                        "OTLP: a metric has an empty or non-UTF-8 name");
    check_metrics_error("{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"m\",\"gauge\":{\"dataPoints\":[{\"attributes\":["
                        KV("k", "\\udc00x") "]}]}}]}]}]}",
                        CAIRN_OK, "");
}

static void test_otlp_logs_json(void **state)
{
    (void)state;
    const char *body =
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[" KV("service.name", "api") "," KV("k8s.pod.name", "p1") ","
        KV("host.name", "h") ",{\"key\":\"nested\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"a\",\"value\":{\"intValue\":3}}]}}}]},"
        "\"scopeLogs\":[{\"scope\":{\"name\":\"sc\",\"version\":\"1.0\"},\"logRecords\":["
        "{\"timeUnixNano\":\"1795339453000000001\",\"observedTimeUnixNano\":\"1795339453000000002\",\"severityNumber\":9,"
        "\"severityText\":\"INFO\",\"body\":{\"stringValue\":\"hello\"},\"attributes\":[{\"key\":\"user.id\",\"value\":{\"intValue\":3}}],"
        "\"traceId\":\"0102030405060708090A0B0C0D0E0F10\",\"spanId\":\"0102030405060708\"},"
        "{\"observedTimeUnixNano\":\"1795339453000000005\",\"body\":{\"kvlistValue\":{\"values\":[{\"key\":\"m\",\"value\":"
        "{\"doubleValue\":1.5}},{\"key\":\"b\",\"value\":{\"boolValue\":true}}]}}},"
        "{\"body\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"},{\"intValue\":\"2\"},{\"bytesValue\":\"AQI=\"}]}}}"
        "]}]},{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1795339453000000000\"}]}]}]}";
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = logs_json(body, b, &e);
    if (rc) fail_msg("%s", e.msg);
    assert_int_equal(b->n_series, 2);
    assert_string_equal(t_series(b, 0), "{k8s_pod_name=\"p1\", service_name=\"api\"}");
    assert_string_equal(t_series(b, 1), "{service_name=\"unknown_service\"}");
    assert_int_equal(b->n_entries, 4);
    const batch_entry *en = &b->entries[0];
    assert_int_equal(en->t_ns, 1795339453000000001LL);
    assert_memory_equal(b->lines.p + en->line_off, "hello", 5);
    assert_string_equal(t_meta(b, en), "{host_name=\"h\", nested_a=\"3\", observed_timestamp=\"1795339453000000002\", "
                                       "scope_name=\"sc\", scope_version=\"1.0\", severity_number=\"9\", severity_text=\"INFO\", "
                                       "span_id=\"0102030405060708\", trace_id=\"0102030405060708090a0b0c0d0e0f10\", user_id=\"3\"}");
    en = &b->entries[1];
    assert_int_equal(en->t_ns, 1795339453000000005LL);
    assert_int_equal(en->line_len, 18);
    assert_memory_equal(b->lines.p + en->line_off, "{\"m\":1.5,\"b\":true}", 18);
    en = &b->entries[2];
    assert_int_equal(en->t_ns, T_NOW_NS);
    assert_memory_equal(b->lines.p + en->line_off, "[\"x\",2,\"AQI=\"]", 14);
    assert_int_equal(b->entries[3].line_len, 0);
    cairn_batch_free(b);
}

static void test_otlp_logs_errors(void **state)
{
    (void)state;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    assert_int_equal(logs_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"9323372036854775807\"}]}]}]}", b, &e),
                     CAIRN_EINVAL);
    assert_string_equal(e.msg, "OTLP resourceLogs 0 {service_name=\"unknown_service\"}, entry 0: log record timestamp "
                               "9323372036854775807 ns is out of range");
    assert_int_equal(logs_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":\"xyz\"}]}]}]}", b, &e), CAIRN_EINVAL);
    assert_string_equal(e.msg, "OTLP JSON: LogRecord.traceId: expected a hex string");
    /* a NUL in a stream label value is refused (it was accepted before issue 10) */
    assert_int_equal(logs_json("{\"resourceLogs\":[{\"resource\":{\"attributes\":[" KV("service.name", "a\\u0000") "]},"
                               "\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"x\"}}]}]}]}", b, &e),
                     CAIRN_EINVAL);
    assert_msg_contains(e, "NUL byte in the value of label \"service_name\" at offset 1");
    /* a NUL in the line itself is stored as sent: lines are bytes */
    assert_int_equal(logs_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"a\\u0000b\"}}]}]}]}", b, &e),
                     CAIRN_OK);
    assert_int_equal(b->n_entries, 1);
    assert_int_equal(b->entries[0].line_len, 3);
    assert_memory_equal(b->lines.p + b->entries[0].line_off, "a\0b", 3);
    cairn_batch_reset(b);
    /* deep AnyValue nesting is bounded for both encodings */
    char deep[4096];
    int k = snprintf(deep, sizeof deep, "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":");
    for (int i = 0; i < 40; i++) k += snprintf(deep + k, sizeof deep - (size_t)k, "{\"arrayValue\":{\"values\":[");
    for (int i = 0; i < 40; i++) k += snprintf(deep + k, sizeof deep - (size_t)k, "]}}");
    snprintf(deep + k, sizeof deep - (size_t)k, "}]}]}]}");
    ingest_opts o;
    t_opts(&o);
    o.max_depth = 300;
    o.reject_old_ns = 0;
    assert_int_equal(otlp_decode_logs((const uint8_t *)deep, strlen(deep), OTLP_JSON, &o, b, &e), CAIRN_OK);
    o.max_depth = 30;
    assert_int_equal(otlp_decode_logs((const uint8_t *)deep, strlen(deep), OTLP_JSON, &o, b, &e), CAIRN_EPARSE);
    assert_msg_contains(e, "nesting too deep");
    cairn_batch_free(b);
}

/* ---- protobuf twins ---------------------------------------------------------------- */

static void pb_kv(buf *b, uint32_t field, const char *k, const char *v)
{
    size_t m = pb_begin(b, field);
    pb_put_bytes(b, 1, k, strlen(k));
    size_t a = pb_begin(b, 2);
    pb_put_bytes(b, 1, v, strlen(v));
    pb_end(b, a);
    pb_end(b, m);
}

static void test_otlp_metrics_protobuf_matches_json(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    size_t rm = pb_begin(&pb, 1);
    size_t sm = pb_begin(&pb, 2); /* scope metrics before the resource: order is free */
    size_t m = pb_begin(&pb, 2);
    pb_put_bytes(&pb, 3, "s", 1);
    pb_put_bytes(&pb, 1, "http.server.duration", 20);
    size_t h = pb_begin(&pb, 9);
    pb_put_varint(&pb, 2, 2);
    size_t dp = pb_begin(&pb, 1);
    pb_put_fixed64(&pb, 3, 1795339478293000000ULL);
    pb_put_fixed64(&pb, 4, 3);
    pb_put_double(&pb, 5, 1.5);
    /* bucket counts packed, bounds unpacked */
    uint8_t packed[24];
    le64_put(packed, 1), le64_put(packed + 8, 2), le64_put(packed + 16, 0);
    pb_put_bytes(&pb, 6, packed, 24);
    pb_put_double(&pb, 7, 0.1);
    pb_put_double(&pb, 7, 1);
    pb_end(&pb, dp);
    pb_end(&pb, h);
    pb_end(&pb, m);
    m = pb_begin(&pb, 2);
    pb_put_bytes(&pb, 1, "http.server.requests", 20);
    pb_put_bytes(&pb, 3, "1", 1);
    size_t s = pb_begin(&pb, 7);
    pb_put_varint(&pb, 3, 1);
    pb_put_varint(&pb, 2, 2);
    dp = pb_begin(&pb, 1);
    pb_put_fixed64(&pb, 3, 1795339478293000000ULL);
    pb_put_fixed64(&pb, 6, 5); /* as_int, sfixed64 */
    pb_kv(&pb, 7, "http.route", "/a");
    pb_end(&pb, dp);
    pb_end(&pb, s);
    pb_end(&pb, m);
    pb_end(&pb, sm);
    size_t r = pb_begin(&pb, 1);
    pb_kv(&pb, 1, "service.name", "shop");
    pb_kv(&pb, 1, "service.namespace", "prod");
    pb_kv(&pb, 1, "service.instance.id", "i-1");
    pb_kv(&pb, 1, "host.name", "h1");
    pb_end(&pb, r);
    pb_end(&pb, rm);
    const char *json =
        "{\"resourceMetrics\":[{" RES ",\"scopeMetrics\":[{\"metrics\":["
        "{\"name\":\"http.server.duration\",\"unit\":\"s\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":\"" T1
        "\",\"count\":\"3\",\"sum\":1.5,\"bucketCounts\":[\"1\",\"2\",\"0\"],\"explicitBounds\":[0.1,1]}]}},"
        "{\"name\":\"http.server.requests\",\"unit\":\"1\",\"sum\":{\"aggregationTemporality\":2,"
        "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":\"" T1 "\",\"asInt\":5,\"attributes\":[" KV("http.route", "/a") "]}]}}"
        "]}]}]}";
    ingest_opts o;
    t_opts(&o);
    cairn_batch *bp = cairn_batch_new(), *bj = cairn_batch_new();
    cairn_err e;
    int rc = otlp_decode_metrics(pb.p, pb.len, OTLP_PROTOBUF, &o, bp, NULL, &e);
    if (rc) fail_msg("%s", e.msg);
    rc = metrics_json(json, bj, NULL, &e);
    if (rc) fail_msg("%s", e.msg);
    assert_int_equal(bp->n_series, 7);
    assert_int_equal(bp->n_series, bj->n_series);
    assert_int_equal(bp->n_samples, bj->n_samples);
    for (size_t i = 0; i < bp->n_series; i++) {
        char a[1024];
        snprintf(a, sizeof a, "%s", t_series(bp, i));
        assert_string_equal(a, t_series(bj, i));
    }
    for (size_t i = 0; i < bp->n_samples; i++) {
        assert_int_equal(bp->samples[i].t_ms, bj->samples[i].t_ms);
        assert_bits_equal(bp->samples[i].v, bj->samples[i].v);
    }
    t_assert_series(bp, "{__name__=\"http_server_requests_total\", http_route=\"/a\", " "instance=\"i-1\", job=\"prod/shop\"}");
    /* wrong wire types and truncation */
    uint8_t bad1[] = {0x08, 0x01}; /* resource_metrics as varint */
    assert_int_equal(otlp_decode_metrics(bad1, 2, OTLP_PROTOBUF, &o, bp, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "OTLP protobuf: ExportMetricsServiceRequest.resourceMetrics: wrong wire type or truncated field");
    assert_int_equal(bp->n_series, 0);
    assert_int_equal(otlp_decode_metrics(pb.p, pb.len - 1, OTLP_PROTOBUF, &o, bp, NULL, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "OTLP protobuf: ExportMetricsServiceRequest: malformed field");
    cairn_batch_free(bp);
    cairn_batch_free(bj);
    buf_free(&pb);
}

static void test_otlp_logs_protobuf_matches_json(void **state)
{
    (void)state;
    buf pb;
    buf_init(&pb);
    size_t rl = pb_begin(&pb, 1);
    size_t r = pb_begin(&pb, 1);
    pb_kv(&pb, 1, "service.name", "api");
    pb_kv(&pb, 1, "host.name", "h");
    pb_end(&pb, r);
    size_t sl = pb_begin(&pb, 2);
    size_t lr = pb_begin(&pb, 2);
    pb_put_fixed64(&pb, 1, 1795339453000000001ULL);
    pb_put_varint(&pb, 2, 17);
    size_t body = pb_begin(&pb, 5);
    pb_put_varint(&pb, 3, (uint64_t)-42); /* intValue */
    pb_end(&pb, body);
    pb_put_bytes(&pb, 9, "\x01\xab", 2);
    uint8_t f32[] = {0x45, 1, 0, 0, 0}; /* flags = 1, fixed32 (field 8, wire type 5) */
    buf_put(&pb, f32, 5);
    pb_end(&pb, lr);
    pb_end(&pb, sl);
    pb_end(&pb, rl);
    const char *json = "{\"resourceLogs\":[{\"resource\":{\"attributes\":[" KV("service.name", "api") "," KV("host.name", "h")
                       "]},\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1795339453000000001\",\"severityNumber\":17,"
                       "\"body\":{\"intValue\":\"-42\"},\"traceId\":\"01AB\",\"flags\":1}]}]}]}";
    ingest_opts o;
    t_opts(&o);
    cairn_batch *bp = cairn_batch_new(), *bj = cairn_batch_new();
    cairn_err e;
    int rc = otlp_decode_logs(pb.p, pb.len, OTLP_PROTOBUF, &o, bp, &e);
    if (rc) fail_msg("%s", e.msg);
    rc = logs_json(json, bj, &e);
    if (rc) fail_msg("%s", e.msg);
    assert_int_equal(bp->n_entries, 1);
    assert_int_equal(bj->n_entries, 1);
    assert_string_equal(t_series(bp, 0), "{service_name=\"api\"}");
    char a[1024];
    snprintf(a, sizeof a, "%s", t_meta(bp, &bp->entries[0]));
    assert_string_equal(a, t_meta(bj, &bj->entries[0]));
    assert_string_equal(a, "{flags=\"1\", host_name=\"h\", severity_number=\"17\", trace_id=\"01ab\"}");
    assert_int_equal(bp->entries[0].line_len, 3);
    assert_memory_equal(bp->lines.p + bp->entries[0].line_off, "-42", 3);
    /* body as a varint: wrong wire type */
    buf bad;
    buf_init(&bad);
    rl = pb_begin(&bad, 1);
    sl = pb_begin(&bad, 2);
    lr = pb_begin(&bad, 2);
    pb_put_varint(&bad, 5, 1);
    pb_end(&bad, lr);
    pb_end(&bad, sl);
    pb_end(&bad, rl);
    assert_int_equal(otlp_decode_logs(bad.p, bad.len, OTLP_PROTOBUF, &o, bp, &e), CAIRN_ECORRUPT);
    assert_string_equal(e.msg, "OTLP protobuf: LogRecord.body: wrong wire type or truncated field");
    assert_int_equal(bp->n_series, 0);
    buf_free(&bad);
    cairn_batch_free(bp);
    cairn_batch_free(bj);
    buf_free(&pb);
}

static void test_otlp_oom(void **state)
{
    (void)state;
    int rc = -1;
    for (int64_t k = 0; rc != CAIRN_OK && k < 5000; k++) {
        cairn_batch *b = cairn_batch_new();
        ingest_meta_list meta;
        ingest_meta_init(&meta);
        cairn_err e;
        mem_fail_after(k);
        rc = b ? metrics_json(metrics_fixture, b, &meta, &e) : CAIRN_ENOMEM;
        mem_fail_after(-1);
        if (rc) assert_int_equal(rc, CAIRN_ENOMEM);
        else assert_int_equal(b->n_series, 15);
        ingest_meta_free(&meta);
        cairn_batch_free(b);
    }
    assert_int_equal(rc, CAIRN_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_otlp_metrics_json),
        cmocka_unit_test(test_otlp_metric_names),
        cmocka_unit_test(test_otlp_label_names),
        cmocka_unit_test(test_otlp_reserved_and_nul_refused),
        cmocka_unit_test(test_otlp_metrics_errors),
        cmocka_unit_test(test_otlp_logs_json),
        cmocka_unit_test(test_otlp_logs_errors),
        cmocka_unit_test(test_otlp_metrics_protobuf_matches_json),
        cmocka_unit_test(test_otlp_logs_protobuf_matches_json),
        cmocka_unit_test(test_otlp_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
