/*
 * bench_ingest_decode — decoder throughput, no HTTP and no commit: how fast
 * the ingest/ decoders turn request bodies into a batch, on one core.
 *
 * Data (synthetic, fixed seed, shaped like real senders):
 *   remote_write: requests of 500 series x 1 sample (Prometheus 2.42's
 *     default max_samples_per_send), 10 labels per series in node_exporter
 *     style, snappy-compressed; reports samples/s and CPU-s per million,
 *     for the serving decoder and for the protobuf-c reference.
 *   Loki JSON and protobuf+snappy: requests of 10 streams x 100 lines of
 *     ~120 bytes; reports lines/s and MB/s of body.
 *   text import: a 0.0.4 exposition of 20 000 samples; reports MB/s.
 * Each case repeats until ~1 s of CPU time has passed (CLOCK_PROCESS_CPUTIME_ID).
 * `bench_ingest_decode remote` runs only the cases whose name starts "remote".
 */
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "ingest.h"
#include "pb.h"
#include "bench_util.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *snap(const buf *b, size_t *n)
{
    size_t cap = snappy_max_compressed_length(b->len);
    uint8_t *o = malloc(cap);
    *n = cap;
    if (snappy_compress((const char *)b->p, b->len, (char *)o, n) != SNAPPY_OK) abort();
    return o;
}

static void put_label(buf *b, const char *n, const char *v)
{
    size_t m = pb_begin(b, 1);
    pb_put_bytes(b, 1, n, strlen(n));
    pb_put_bytes(b, 2, v, strlen(v));
    pb_end(b, m);
}

typedef int (*dec_fn)(const uint8_t *, size_t, const ingest_opts *, cairn_batch *, cairn_err *);

static int rw(const uint8_t *p, size_t n, const ingest_opts *o, cairn_batch *b, cairn_err *e)
{
    return rw_decode(p, n, o, b, NULL, e);
}
/* The protobuf-c reference decoder behind the same snappy step, for the ratio. */
static int rw_ref(const uint8_t *p, size_t n, const ingest_opts *o, cairn_batch *b, cairn_err *e)
{
    buf raw;
    buf_init(&raw);
    int rc = ingest_unsnappy(p, n, o->max_body_bytes, &raw, e);
    if (!rc) rc = rw_decode_pb_ref(raw.p, raw.len, o, b, NULL, e);
    buf_free(&raw);
    return rc;
}
static int text(const uint8_t *p, size_t n, const ingest_opts *o, cairn_batch *b, cairn_err *e)
{
    return ptext_decode((const char *)p, n, PTEXT_PROM, o, b, NULL, e);
}

static const char *only; /* argv[1]: run only the cases whose name starts with it */

static void run(const char *what, dec_fn fn, const uint8_t *body, size_t n, const ingest_opts *o, size_t items,
                const char *unit)
{
    if (only && strncmp(what, only, strlen(only)) != 0) return;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    size_t reps = 0;
    double t0 = cpu_now(), t;
    do {
        cairn_batch_reset(b);
        if (fn(body, n, o, b, &e)) {
            printf("%s: error %s\n", what, e.msg);
            exit(1);
        }
        reps++;
    } while ((t = cpu_now() - t0) < 1.0);
    double per_s = (double)items * reps / t;
    printf("%-28s %10.0f %s/s  %7.1f MB/s of body  %.3f CPU-s per million %s  (body %zu bytes, %zu reps)\n", what,
           per_s, unit, (double)n * reps / t / 1e6, 1e6 / per_s, unit, n, reps);
    cairn_batch_free(b);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : NULL;
    bench_machine();
    ingest_opts o;
    ingest_opts_default(&o);
    o.reject_old_ns = o.future_grace_ns = 0;
    int64_t t_ms = o.now_ns / 1000000;
    /* remote_write */
    buf pb;
    buf_init(&pb);
    char v[64];
    for (int s = 0; s < 500; s++) {
        size_t m = pb_begin(&pb, 1);
        snprintf(v, sizeof v, "node_cpu_seconds_total");
        put_label(&pb, "__name__", v);
        put_label(&pb, "cpu", (snprintf(v, sizeof v, "%d", s % 16), v));
        put_label(&pb, "env", "prod");
        put_label(&pb, "instance", (snprintf(v, sizeof v, "10.0.%d.%d:9100", s / 50, s % 50), v));
        put_label(&pb, "job", "node");
        put_label(&pb, "mode", (const char *[]){"idle", "user", "system", "iowait"}[s % 4]);
        put_label(&pb, "region", "eu-west-1");
        put_label(&pb, "replica", "r1");
        put_label(&pb, "team", "infra");
        put_label(&pb, "zone", (snprintf(v, sizeof v, "z%d", s % 3), v));
        size_t sm = pb_begin(&pb, 2);
        pb_put_double(&pb, 1, 12345.67 + s);
        pb_put_varint(&pb, 2, (uint64_t)t_ms);
        pb_end(&pb, sm);
        pb_end(&pb, m);
    }
    size_t zn;
    uint8_t *z = snap(&pb, &zn);
    printf("data: remote_write 500 series x 1 sample, 10 labels; Loki 10 streams x 100 lines of ~120 B; text 20000 samples\n");
    run("remote_write (snappy+pb)", rw, z, zn, &o, 500, "samples");
    run("remote_write protobuf-c ref", rw_ref, z, zn, &o, 500, "samples");
    free(z);
    /* Loki JSON and protobuf */
    buf js, lp;
    buf_init(&js), buf_init(&lp);
    buf_put(&js, "{\"streams\":[", 12);
    char line[200];
    for (int s = 0; s < 10; s++) {
        snprintf(line, sizeof line, "%s{\"stream\":{\"app\":\"api\",\"pod\":\"api-%d\",\"level\":\"info\"},\"values\":[", s ? "," : "", s);
        buf_put(&js, line, strlen(line));
        size_t sm = pb_begin(&lp, 1);
        snprintf(line, sizeof line, "{app=\"api\", pod=\"api-%d\", level=\"info\"}", s);
        pb_put_bytes(&lp, 1, line, strlen(line));
        for (int i = 0; i < 100; i++) {
            int64_t ts = o.now_ns - 1000000 + i;
            char msg[160];
            snprintf(msg, sizeof msg, "level=info ts=%lld caller=handler.go:%d msg=\\\"request done\\\" status=200 dur=%dms path=/api/v1/items/%d",
                     (long long)ts, i, i % 97, i * 7);
            snprintf(line, sizeof line, "%s[\"%lld\",\"%s\"]", i ? "," : "", (long long)ts, msg);
            buf_put(&js, line, strlen(line));
            size_t en = pb_begin(&lp, 2);
            size_t tm = pb_begin(&lp, 1);
            pb_put_varint(&lp, 1, (uint64_t)(ts / 1000000000));
            pb_put_varint(&lp, 2, (uint64_t)(ts % 1000000000));
            pb_end(&lp, tm);
            pb_put_bytes(&lp, 2, msg, strlen(msg));
            pb_end(&lp, en);
        }
        buf_put(&js, "]}", 2);
        pb_end(&lp, sm);
    }
    buf_put(&js, "]}", 2);
    run("Loki push JSON", lpush_decode_json, js.p, js.len, &o, 1000, "lines");
    z = snap(&lp, &zn);
    run("Loki push protobuf+snappy", lpush_decode_proto, z, zn, &o, 1000, "lines");
    free(z);
    /* text */
    buf tx;
    buf_init(&tx);
    for (int f = 0; f < 200; f++) {
        snprintf(line, sizeof line, "# HELP node_metric_%d Some help text.\n# TYPE node_metric_%d gauge\n", f, f);
        buf_put(&tx, line, strlen(line));
        for (int i = 0; i < 100; i++) {
            snprintf(line, sizeof line, "node_metric_%d{device=\"sda%d\",mode=\"m%d\",instance=\"h:9100\"} %d.%d\n", f, i, i % 5, i * 31, f);
            buf_put(&tx, line, strlen(line));
        }
    }
    run("text 0.0.4 import", text, tx.p, tx.len, &o, 20000, "samples");
    buf_free(&pb), buf_free(&js), buf_free(&lp), buf_free(&tx);
    return 0;
}
