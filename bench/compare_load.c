/*
 * compare_load.c — the one load generator of bench/compare: the same bytes,
 * over the same protocol, into cairn, Prometheus and VictoriaMetrics.
 *
 *   compare_load info  --series N --scrapes K [--seed S] [--step-ms MS]
 *   compare_load build --series N --scrapes K [--seed S] [--batch B] --out FILE
 *   compare_load om    --series N --scrapes K [--seed S] --out FILE
 *   compare_load send  --in FILE --port P [--path /api/v1/write] [--clients C]
 *                      [--window W] [--pid PID]
 *   compare_load logs  --port P --mb M [--streams S] [--batch B] [--clients C]
 *                      [--pid PID] [--rr 1] --raw FILE
 *
 * Why one program with a body file. The peers are compared on ingest speed,
 * so the client must cost the same for each and nearly nothing next to the
 * servers. `build` encodes bench/dataset.h (node_exporter-like + ML inference
 * series, 91 per host, 15 s scrapes with jitter) into snappy-compressed
 * prometheus.WriteRequest bodies once, in Prometheus 2.42's shape (requests of
 * B samples, default 500 = max_samples_per_send, one sample per series per
 * request) and writes them to a file; `send` reads the whole file into memory
 * before the clock starts and replays it with C raw-socket HTTP/1.1 keep-alive
 * clients (the request/response code follows h7's bench_http_ingest.c, which
 * this file copies rather than changes). Each system thus receives the same
 * bytes in the same order.
 *
 * Ordering. Prometheus rejects a sample older than its series' newest one
 * (no out-of-order window in 2.42 unless configured) and anything older than
 * an hour behind the head. So requests are sharded by series, as
 * Prometheus' own remote-write queue shards: request (k, b) — scrape k, series
 * batch b — always goes to client b % C, which sends its batches in scrape
 * order; and all clients meet at a barrier every W scrapes (default 20, five
 * minutes of data), so no client runs far ahead of another.
 *
 * `info` prints key=value facts the driver needs: sample and series counts,
 * the time span, and a query phase (ms modulo the 15 s scrape interval) that
 * no target's scrape timestamp comes within 3 ms of, so that evaluation
 * times and window boundaries never coincide with a sample; that keeps
 * Prometheus 2.42's left-closed windows and cairn's left-open ones (3.x)
 * from disagreeing about which samples are in a window.
 *
 * `logs` generates bench/logs_dataset.h lines (JSON and logfmt, 20 streams),
 * writes them as one newline-separated raw file (the input of the zstd, gzip
 * and grep baselines) and pushes them as Loki protobuf+snappy requests of B
 * lines, client s % C carrying stream s (with --rr 1, requests of consecutive
 * lines round-robin over the clients instead). Output of every command: key=value lines on stdout. Single process;
 * threads only in `send`/`logs`, sharing an atomic failure flag.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "logs_dataset.h"
#include "bench_util.h"
#include "bench_wire.h"

/* ==== byte buffer and protobuf writer ====================================================== */


/* utime + stime of a process in seconds, or -1 (no pid / gone). */
/* ==== HTTP/1.1 client ====================================================================== */

/* POST one body and read the answer on a keep-alive connection. @return the status or -1. */
static int roundtrip(int fd, int port, const char *path, const char *headers, const uint8_t *body, size_t len,
                     char *rb, size_t rbcap)
{
    char head[512];
    int hn = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %zu\r\n\r\n",
                      path, port, headers, len);
    if (bench_send_all(fd, head, (size_t)hn) || bench_send_all(fd, body, len)) return -1;
    size_t got = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, rb + got, rbcap - 1 - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
        rb[got] = 0;
        end = strstr(rb, "\r\n\r\n");
        if (!end && got >= rbcap - 1) return -1;
    }
    int status = atoi(rb + 9);
    size_t clen = 0;
    char *cl = strcasestr(rb, "content-length:");
    if (cl && cl < end) clen = strtoul(cl + 15, NULL, 10);
    size_t have = got - (size_t)(end + 4 - rb);
    if (status >= 300) fprintf(stderr, "HTTP %d: %.*s\n", status, (int)(have < 300 ? have : 300), end + 4);
    while (have < clen) {
        ssize_t n = recv(fd, rb, rbcap, 0);
        if (n <= 0) return -1;
        have += (size_t)n;
    }
    return status;
}

/* ==== options ================================================================================ */

typedef struct opts {
    size_t series, batch;
    uint64_t scrapes, seed, step_ms, window, mb;
    int port, clients, streams, rr;
    long pid;
    const char *in, *out, *path, *raw;
} opts;

static void parse(opts *o, int argc, char **argv)
{
    *o = (opts){.series = 100, .batch = 500, .scrapes = 20, .seed = 42, .step_ms = 60000, .window = 20,
                .clients = 4, .streams = 20, .mb = 16, .path = "/api/v1/write"};
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--series")) o->series = strtoul(v, NULL, 10);
        else if (!strcmp(k, "--scrapes")) o->scrapes = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--batch")) o->batch = strtoul(v, NULL, 10);
        else if (!strcmp(k, "--step-ms")) o->step_ms = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--window")) o->window = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--mb")) o->mb = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--port")) o->port = atoi(v);
        else if (!strcmp(k, "--clients")) o->clients = atoi(v);
        else if (!strcmp(k, "--streams")) o->streams = atoi(v);
        else if (!strcmp(k, "--pid")) o->pid = atol(v);
        else if (!strcmp(k, "--rr")) o->rr = atoi(v);
        else if (!strcmp(k, "--in")) o->in = v;
        else if (!strcmp(k, "--out")) o->out = v;
        else if (!strcmp(k, "--path")) o->path = v;
        else if (!strcmp(k, "--raw")) o->raw = v;
        else fprintf(stderr, "compare_load: unknown option %s\n", k), exit(2);
    }
    if (o->clients < 1 || o->clients > 64) o->clients = 4;
    if (o->batch < 1) o->batch = 500;
    if (o->window < 1) o->window = 20;
    if (o->series < 1 || o->scrapes < 1) fprintf(stderr, "compare_load: empty dataset\n"), exit(2);
}

/* ==== info ==================================================================================== */

static int cmd_info(const opts *o)
{
    ds d;
    ds_init(&d, o->series, o->seed);
    /* mark every ms (mod 15 s) that some series' scrape can land on, with a 3 ms margin */
    static uint8_t hit[DS_SCRAPE_MS];
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    for (size_t i = 0; i < o->series; i += 1) {
        /* all series of a target share timestamps; checking each series is cheap enough */
        for (uint64_t k = 0; k < 2; k++) {
            int64_t t = ds_time(&d, i, k);
            for (int dlt = -5; dlt <= 5; dlt++) hit[((t + dlt) % DS_SCRAPE_MS + DS_SCRAPE_MS) % DS_SCRAPE_MS] = 1;
        }
        int64_t a = ds_time(&d, i, 0), b = ds_time(&d, i, o->scrapes - 1);
        if (a < tmin) tmin = a;
        if (b > tmax) tmax = b;
    }
    /* the safe phase closest to 0 (so that step-aligned start times work when possible) */
    int64_t phase = -1;
    for (int64_t dlt = 0; dlt < DS_SCRAPE_MS / 2 && phase < 0; dlt++) {
        if (!hit[dlt]) phase = dlt;
        else if (!hit[(DS_SCRAPE_MS - dlt) % DS_SCRAPE_MS]) phase = (DS_SCRAPE_MS - dlt) % DS_SCRAPE_MS;
    }
    if (phase < 0) fprintf(stderr, "compare_load: no safe phase\n"), exit(1);
    /* query window: from 10 min (or a third of the span) after the first sample to the last */
    int64_t step = (int64_t)o->step_ms;
    int64_t lead = (tmax - tmin) / 3 < 600000 ? (tmax - tmin) / 3 : 600000;
    int64_t start = (tmin + lead) / step * step + step, end = tmax / step * step;
    /* move both to the safe phase modulo the scrape interval (step is a multiple of 15 s) */
    start += phase, end += phase;
    if (end > tmax) end -= step;
    if (end <= start) end = start;
    printf("series=%zu\nscrapes=%" PRIu64 "\nsamples=%" PRIu64 "\nseed=%" PRIu64 "\n", o->series, o->scrapes,
           (uint64_t)o->series * o->scrapes, o->seed);
    printf("t_min_ms=%" PRId64 "\nt_max_ms=%" PRId64 "\nphase_ms=%" PRId64 "\n", tmin, tmax, phase);
    printf("start_ms=%" PRId64 "\nend_ms=%" PRId64 "\nstep_ms=%" PRId64 "\n", start, end, step);
    return 0;
}

/* ==== build: remote-write bodies into a file ================================================== */

/* File: "CMPRW1\n\0" | u64 n_req | u64 per_scrape | u64 samples | n_req x (u32 len | bytes). */
static int cmd_build(const opts *o)
{
    if (!o->out) fprintf(stderr, "compare_load build: --out FILE\n"), exit(2);
    FILE *f = fopen(o->out, "wb");
    if (!f) perror(o->out), exit(1);
    ds d;
    ds_init(&d, o->series, o->seed);
    uint64_t per_scrape = (o->series + o->batch - 1) / o->batch, n_req = per_scrape * o->scrapes;
    uint64_t samples = (uint64_t)o->series * o->scrapes;
    fwrite("CMPRW1\n", 1, 8, f);
    fwrite(&n_req, 8, 1, f);
    fwrite(&per_scrape, 8, 1, f);
    fwrite(&samples, 8, 1, f);
    /* the label part of each series' TimeSeries is the same in every scrape: encode it once */
    bbuf *lab = calloc(o->series, sizeof *lab);
    if (!lab) abort();
    bbuf tmp = {0}, raw = {0}, ts = {0}, out = {0};
    cairn_label ls[DS_MAX_LABELS];
    char scratch[DS_SCRATCH_BYTES];
    for (size_t i = 0; i < o->series; i++) {
        size_t nl = ds_series_labels(&d, i, ls, DS_MAX_LABELS, scratch);
        for (size_t j = 0; j < nl; j++) {
            tmp.len = 0;
            bb_bytes(&tmp, 1, ls[j].name, ls[j].name_len);
            bb_bytes(&tmp, 2, ls[j].value, ls[j].value_len);
            bb_msg(&lab[i], 1, &tmp);
        }
    }
    uint64_t wire = 0;
    for (uint64_t k = 0; k < o->scrapes; k++)
        for (size_t s0 = 0; s0 < o->series; s0 += o->batch) {
            raw.len = 0;
            for (size_t i = s0; i < s0 + o->batch && i < o->series; i++) {
                ts.len = 0;
                bb_put(&ts, lab[i].p, lab[i].len);
                tmp.len = 0;
                double val = ds_value(&d, i, k);
                bb_key(&tmp, 1, 1);
                bb_put(&tmp, &val, 8);
                bb_key(&tmp, 2, 0);
                bb_varint(&tmp, (uint64_t)ds_time(&d, i, k));
                bb_msg(&ts, 2, &tmp);
                bb_msg(&raw, 1, &ts);
            }
            bb_snappy(&raw, &out);
            uint32_t len = (uint32_t)out.len;
            fwrite(&len, 4, 1, f);
            fwrite(out.p, 1, out.len, f);
            wire += out.len;
        }
    if (fclose(f)) perror(o->out), exit(1);
    for (size_t i = 0; i < o->series; i++) free(lab[i].p);
    free(lab), free(tmp.p), free(raw.p), free(ts.p), free(out.p);
    printf("requests=%" PRIu64 "\nper_scrape=%" PRIu64 "\nsamples=%" PRIu64 "\nwire_bytes=%" PRIu64 "\n", n_req,
           per_scrape, samples, wire);
    return 0;
}

static int cmd_om(const opts *o)
{
    if (!o->out) fprintf(stderr, "compare_load om: --out FILE\n"), exit(2);
    FILE *f = fopen(o->out, "w");
    if (!f) perror(o->out), exit(1);
    ds d;
    ds_init(&d, o->series, o->seed);
    ds_write_openmetrics(f, &d, o->scrapes);
    if (fclose(f)) perror(o->out), exit(1);
    printf("samples=%" PRIu64 "\n", (uint64_t)o->series * o->scrapes);
    return 0;
}

/* ==== send: replay the bodies ================================================================= */

typedef struct body {
    const uint8_t *p;
    size_t len;
} body;

typedef struct sender {
    const body *v;
    uint64_t n_req, per_scrape, window;
    int port, clients;
    const char *path, *headers;
    pthread_barrier_t bar;
    atomic_int failed;
} sender;

typedef struct worker {
    sender *s;
    int id;
} worker;

static void *send_worker(void *arg)
{
    worker *w = arg;
    sender *s = w->s;
    int fd = bench_conn_open(s->port);
    if (fd < 0) atomic_store(&s->failed, 1);
    char rb[8192];
    uint64_t scrapes = s->n_req / s->per_scrape;
    for (uint64_t k0 = 0; k0 < scrapes; k0 += s->window) {
        for (uint64_t k = k0; k < k0 + s->window && k < scrapes && fd >= 0 && !atomic_load(&s->failed); k++)
            for (uint64_t b = (uint64_t)w->id; b < s->per_scrape; b += (uint64_t)s->clients) {
                const body *r = &s->v[k * s->per_scrape + b];
                if (!r->len) continue; /* padding of the log request lists */
                int st = roundtrip(fd, s->port, s->path, s->headers, r->p, r->len, rb, sizeof rb);
                if (st < 200 || st >= 300) {
                    if (st < 0) fprintf(stderr, "request failed: %s\n", strerror(errno));
                    atomic_store(&s->failed, 1);
                    break;
                }
            }
        pthread_barrier_wait(&s->bar); /* every client, every window: no early exit above */
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int run_senders(sender *s, long pid, double *wall, double *cpu)
{
    pthread_t th[64];
    worker w[64];
    atomic_init(&s->failed, 0);
    pthread_barrier_init(&s->bar, NULL, (unsigned)s->clients);
    double c0 = bench_proc_cpu_s(pid), t0 = bench_now_s();
    for (int i = 0; i < s->clients; i++) {
        w[i] = (worker){s, i};
        pthread_create(&th[i], NULL, send_worker, &w[i]);
    }
    for (int i = 0; i < s->clients; i++) pthread_join(th[i], NULL);
    *wall = bench_now_s() - t0;
    *cpu = pid > 0 ? bench_proc_cpu_s(pid) - c0 : -1;
    pthread_barrier_destroy(&s->bar);
    return atomic_load(&s->failed);
}

static int cmd_send(const opts *o)
{
    if (!o->in || !o->port) fprintf(stderr, "compare_load send: --in FILE --port P\n"), exit(2);
    FILE *f = fopen(o->in, "rb");
    if (!f) perror(o->in), exit(1);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *all = malloc((size_t)size);
    if (!all || fread(all, 1, (size_t)size, f) != (size_t)size) fprintf(stderr, "read %s failed\n", o->in), exit(1);
    fclose(f);
    if (size < 32 || memcmp(all, "CMPRW1\n", 8)) fprintf(stderr, "%s: not a compare_load body file\n", o->in), exit(1);
    uint64_t n_req, per_scrape, samples;
    memcpy(&n_req, all + 8, 8);
    memcpy(&per_scrape, all + 16, 8);
    memcpy(&samples, all + 24, 8);
    body *v = calloc(n_req, sizeof *v);
    size_t at = 32;
    uint64_t wire = 0;
    for (uint64_t i = 0; i < n_req; i++) {
        uint32_t len;
        if (at + 4 > (size_t)size) fprintf(stderr, "%s: truncated\n", o->in), exit(1);
        memcpy(&len, all + at, 4);
        at += 4;
        if (at + len > (size_t)size) fprintf(stderr, "%s: truncated\n", o->in), exit(1);
        v[i] = (body){all + at, len};
        at += len;
        wire += len;
    }
    sender s = {.v = v, .n_req = n_req, .per_scrape = per_scrape, .window = o->window, .port = o->port,
                .clients = o->clients, .path = o->path,
                .headers = "Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
                           "X-Prometheus-Remote-Write-Version: 0.1.0\r\nUser-Agent: cairn-compare/1\r\n"};
    double wall, cpu;
    int failed = run_senders(&s, o->pid, &wall, &cpu);
    printf("ok=%d\nsamples=%" PRIu64 "\nrequests=%" PRIu64 "\nwire_bytes=%" PRIu64 "\nclients=%d\n", !failed, samples,
           n_req, wire, o->clients);
    printf("wall_s=%.4f\nserver_cpu_s=%.3f\nsamples_per_s=%.0f\n", wall, cpu, (double)samples / wall);
    free(v);
    free(all);
    return failed;
}

/* ==== logs: Loki push of logs_dataset.h lines ================================================= */

static const char *log_format(int s) { return s % 3 != 2 ? "json" : "logfmt"; }

static int cmd_logs(const opts *o)
{
    if (!o->port || !o->raw) fprintf(stderr, "compare_load logs: --port P --raw FILE\n"), exit(2);
    if (o->streams < 1 || o->streams > 1000) fprintf(stderr, "compare_load logs: --streams 1..1000\n"), exit(2);
    size_t per_req = o->batch == 500 ? 1000 : o->batch; /* 500 is the metric default */
    int C = o->clients, by_stream = !o->rr;
    gen g;
    gen_init(&g, o->streams);
    /* cairn, like Loki, rejects entries older than a week: move the generator's clock so that
     * the data starts an hour ago (the line text keeps its own "ts"; only entry times move) */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t shift = ((int64_t)now.tv_sec - 3600) * 1000000000LL - g.t, t_first = INT64_MAX, t_last = INT64_MIN;
    FILE *rf = fopen(o->raw, "w");
    if (!rf) perror(o->raw), exit(1);
    uint64_t target = o->mb << 20, raw_bytes = 0, lines = 0;
    /* One pending request per client. By stream (default): client s % C owns stream s, so
     * each stream's entries arrive in generation order (as from one promtail per stream
     * set); --rr 1: lines go to requests in generation order and request r to client r % C,
     * so a stream's entries interleave across connections. */
    bbuf *per = calloc((size_t)C * (size_t)o->streams, sizeof *per);
    size_t *cnt = calloc((size_t)C * (size_t)o->streams, sizeof *cnt), *in_req = calloc((size_t)C, sizeof *in_req);
    body **lists = calloc((size_t)C, sizeof *lists);
    size_t *nl = calloc((size_t)C, sizeof *nl), *cl = calloc((size_t)C, sizeof *cl);
    bbuf raw = {0}, st = {0}, en = {0}, tsm = {0}, out = {0};
    char line[4096];
    int rr_next = 0;
    for (int done = 0; !done;) {
        int64_t t;
        size_t len;
        if (raw_bytes < target) {
            int s = gen_next(&g, &t, line, sizeof line, &len);
            t += shift;
            if (t < t_first) t_first = t;
            if (t > t_last) t_last = t;
            fwrite(line, 1, len, rf);
            fputc('\n', rf);
            raw_bytes += len, lines++;
            int c = by_stream ? s % C : rr_next;
            tsm.len = 0;
            bb_key(&tsm, 1, 0);
            bb_varint(&tsm, (uint64_t)(t / 1000000000));
            bb_key(&tsm, 2, 0);
            bb_varint(&tsm, (uint64_t)(t % 1000000000));
            en.len = 0;
            bb_msg(&en, 1, &tsm);
            bb_bytes(&en, 2, line, len);
            bb_msg(&per[(size_t)c * (size_t)o->streams + (size_t)s], 2, &en);
            cnt[(size_t)c * (size_t)o->streams + (size_t)s]++;
            in_req[c]++;
        } else {
            done = 1;
        }
        /* emit every full request, and at the end every non-empty one */
        for (int k = 0; k < C; k++) {
            if (!in_req[k] || (!done && in_req[k] < per_req)) continue;
            raw.len = 0;
            for (int q = 0; q < o->streams; q++) {
                size_t at = (size_t)k * (size_t)o->streams + (size_t)q;
                if (!cnt[at]) continue;
                char lab[200];
                int ln = snprintf(lab, sizeof lab, "{app=\"%s\", format=\"%s\", pod=\"pod-%02d\"}", services[q % 5],
                                  log_format(q), q);
                st.len = 0;
                bb_bytes(&st, 1, lab, (size_t)ln);
                bb_put(&st, per[at].p, per[at].len);
                bb_msg(&raw, 1, &st);
                per[at].len = 0, cnt[at] = 0;
            }
            bb_snappy(&raw, &out);
            if (nl[k] == cl[k]) lists[k] = realloc(lists[k], (cl[k] = cl[k] ? cl[k] * 2 : 256) * sizeof **lists);
            uint8_t *copy = malloc(out.len);
            memcpy(copy, out.p, out.len);
            lists[k][nl[k]++] = (body){copy, out.len};
            in_req[k] = 0;
            if (!by_stream) rr_next = (rr_next + 1) % C;
        }
    }
    /* interleave the per-client lists: request k * C + c is client c's k-th (empty = skipped) */
    size_t rounds = 0;
    for (int k = 0; k < C; k++)
        if (nl[k] > rounds) rounds = nl[k];
    size_t nv = rounds * (size_t)C;
    body *v = calloc(nv ? nv : 1, sizeof *v);
    for (int k = 0; k < C; k++)
        for (size_t i = 0; i < nl[k]; i++) v[i * (size_t)C + (size_t)k] = lists[k][i];
    if (fclose(rf)) perror(o->raw), exit(1);
    /* request k * C + c goes to client c (the scrape loop of send_worker with C "batches") */
    sender s = {.v = v, .n_req = nv, .per_scrape = (uint64_t)C, .window = rounds ? rounds : 1, .port = o->port,
                .clients = C, .path = "/loki/api/v1/push", .headers = "Content-Type: application/x-protobuf\r\n"};
    double wall, cpu;
    int failed = run_senders(&s, o->pid, &wall, &cpu);
    uint64_t wire = 0;
    size_t n_sent = 0;
    for (size_t i = 0; i < nv; i++) wire += v[i].len, n_sent += v[i].len > 0, free((void *)v[i].p);
    printf("ok=%d\nlines=%" PRIu64 "\nraw_bytes=%" PRIu64 "\nrequests=%zu\nwire_bytes=%" PRIu64 "\nstreams=%d\n",
           !failed, lines, raw_bytes, n_sent, wire, o->streams);
    printf("order=%s\n", by_stream ? "by-stream" : "round-robin");
    printf("wall_s=%.4f\nserver_cpu_s=%.3f\nmb_per_s=%.2f\n", wall, cpu, (double)raw_bytes / 1e6 / wall);
    printf("t_first_ns=%" PRId64 "\nt_last_ns=%" PRId64 "\n", t_first, t_last);
    free(v), free(raw.p), free(st.p), free(en.p), free(tsm.p), free(out.p);
    for (size_t i = 0; i < (size_t)C * (size_t)o->streams; i++) free(per[i].p);
    for (int k = 0; k < C; k++) free(lists[k]);
    free(per), free(cnt), free(in_req), free(lists), free(nl), free(cl), free(g.cum);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: compare_load info|build|om|send|logs [--option value]...\n");
        return 2;
    }
    opts o;
    parse(&o, argc, argv);
    if (!strcmp(argv[1], "info")) return cmd_info(&o);
    if (!strcmp(argv[1], "build")) return cmd_build(&o);
    if (!strcmp(argv[1], "om")) return cmd_om(&o);
    if (!strcmp(argv[1], "send")) return cmd_send(&o);
    if (!strcmp(argv[1], "logs")) return cmd_logs(&o);
    fprintf(stderr, "compare_load: unknown command %s\n", argv[1]);
    return 2;
}
