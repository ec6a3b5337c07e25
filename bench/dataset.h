/*
 * dataset.h — a deterministic, realistic metrics dataset for benchmarks.
 *
 * Header-only (static inline functions), so every bench/bench_*.c can include it
 * without a build rule. It generates what a Prometheus server scraping a
 * fleet of hosts every 15 s would store, and nothing is random at run time:
 * every value is a pure function of (seed, series index, sample index), so
 * any sample can be produced in O(1), in any order, by any program, and two
 * runs (or cairn and a peer fed through OpenMetrics) see the same data.
 *
 * Shape. Series are grouped by host; each host has DS_SERIES_PER_HOST = 91
 * series from two scrape targets (a "target" is a (host, job) pair):
 *
 *   job="node", instance="host-NNNNN:9100" (node_exporter-like, 51 series)
 *     up, node_exporter_build_info                        constant 1
 *     node_cpu_seconds_total{cpu=0..3, mode=8 modes}      counter, 2 decimals
 *                                                         (idle fast, irq/steal/nice flat)
 *     node_network_{receive,transmit}_{bytes,packets}_total{device=eth0|lo}
 *                                                         integer counters
 *     node_memory_{MemAvailable,MemFree,Cached,Buffers}_bytes
 *     node_filesystem_avail_bytes{mountpoint=/|/data}     integer gauges (x 4096)
 *     node_load{1,5,15}                                   gauges, 2 decimals
 *   job="inference", instance="host-NNNNN:8080" (an ML model server, 40 series)
 *     up, model_info{model_name, model_version}           constant 1
 *     inference_requests_total{model_name, model_version, status=200|400|500}
 *                                                         integer counters (errors mostly flat)
 *     inference_latency_seconds_bucket{model_name, le=0.005 .. 10, +Inf}
 *                                                         cumulative integer counters
 *                                                         (a log-normal latency per model)
 *     inference_latency_seconds_sum / _count{model_name}  float / integer counters
 *     gpu_utilization_ratio{gpu="0"}                      gauge, 2 decimals
 *     gpu_temperature_celsius{gpu="0"}, inference_queue_size   integer gauges
 *
 * Series index i belongs to host i / 91; the last host may be partial.
 * Timestamps: ms from DS_EPOCH_MS (1700000000000); each target scrapes at its
 * own fixed offset inside the 15 s interval; 30% of targets (chosen by the
 * seed) add -2..+2 ms of jitter per scrape. All series of a target share
 * timestamps, as with real scrapes. Counters are monotone in the sample
 * index, histogram buckets are monotone in `le`, and +Inf equals _count.
 *
 * API:
 *   ds_init(&ds, n_series, seed)
 *   ds_series_labels(&ds, i, out, cap, scratch) -> labels (sorted by name,
 *       __name__ first) of series i; the strings live in `scratch`
 *       (DS_SCRATCH_BYTES) until it is reused. Returns the count, or 0 if
 *       cap is too small.
 *   ds_time(&ds, i, k), ds_value(&ds, i, k)  sample k of series i
 *   ds_kind(&ds, i) (DS_KIND_*), ds_kind_name(kind), ds_jittered(&ds, i)
 *   ds_write_openmetrics(f, &ds, n_samples)  all series as OpenMetrics text,
 *       families grouped, each series' samples in time order, "# EOF" last:
 *       the input of `promtool tsdb create-blocks-from openmetrics`.
 */
#ifndef CAIRN_BENCH_DATASET_H
#define CAIRN_BENCH_DATASET_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"

#define DS_EPOCH_MS 1700000000000LL
#define DS_SCRAPE_MS 15000LL
#define DS_SERIES_PER_HOST 91
#define DS_SCRATCH_BYTES 256
#define DS_MAX_LABELS 8

enum {
    DS_KIND_CONST = 0,     /* up, *_info: always 1 */
    DS_KIND_INT_COUNTER,   /* bytes, packets, requests, _count */
    DS_KIND_FLOAT_COUNTER, /* cpu seconds (2 decimals), histogram _sum (full precision) */
    DS_KIND_GAUGE_2DEC,    /* load averages, utilisation ratio */
    DS_KIND_INT_GAUGE,     /* memory and filesystem bytes, temperature, queue size */
    DS_KIND_HIST_BUCKET,   /* cumulative histogram buckets */
    DS_N_KINDS
};

typedef struct ds {
    uint64_t seed;
    size_t n_series;
} ds;

/* ---- internals ---------------------------------------------------------------- */

enum { DS_JOB_NODE = 0, DS_JOB_INFER = 1 };

typedef struct ds_family {
    const char *name;      /* __name__ */
    const char *om_family; /* OpenMetrics family (shared by _bucket/_sum/_count) */
    const char *om_type;
    int job, n, kind;
} ds_family;

static const ds_family ds_families[] = {
    {"up", "up", "gauge", DS_JOB_NODE, 1, DS_KIND_CONST},
    {"node_exporter_build_info", "node_exporter_build_info", "gauge", DS_JOB_NODE, 1, DS_KIND_CONST},
    {"node_cpu_seconds_total", "node_cpu_seconds", "counter", DS_JOB_NODE, 32, DS_KIND_FLOAT_COUNTER},
    {"node_network_receive_bytes_total", "node_network_receive_bytes", "counter", DS_JOB_NODE, 2,
     DS_KIND_INT_COUNTER},
    {"node_network_transmit_bytes_total", "node_network_transmit_bytes", "counter", DS_JOB_NODE, 2,
     DS_KIND_INT_COUNTER},
    {"node_network_receive_packets_total", "node_network_receive_packets", "counter", DS_JOB_NODE, 2,
     DS_KIND_INT_COUNTER},
    {"node_network_transmit_packets_total", "node_network_transmit_packets", "counter", DS_JOB_NODE, 2,
     DS_KIND_INT_COUNTER},
    {"node_memory_MemAvailable_bytes", "node_memory_MemAvailable_bytes", "gauge", DS_JOB_NODE, 1, DS_KIND_INT_GAUGE},
    {"node_memory_MemFree_bytes", "node_memory_MemFree_bytes", "gauge", DS_JOB_NODE, 1, DS_KIND_INT_GAUGE},
    {"node_memory_Cached_bytes", "node_memory_Cached_bytes", "gauge", DS_JOB_NODE, 1, DS_KIND_INT_GAUGE},
    {"node_memory_Buffers_bytes", "node_memory_Buffers_bytes", "gauge", DS_JOB_NODE, 1, DS_KIND_INT_GAUGE},
    {"node_filesystem_avail_bytes", "node_filesystem_avail_bytes", "gauge", DS_JOB_NODE, 2, DS_KIND_INT_GAUGE},
    {"node_load1", "node_load1", "gauge", DS_JOB_NODE, 1, DS_KIND_GAUGE_2DEC},
    {"node_load5", "node_load5", "gauge", DS_JOB_NODE, 1, DS_KIND_GAUGE_2DEC},
    {"node_load15", "node_load15", "gauge", DS_JOB_NODE, 1, DS_KIND_GAUGE_2DEC},
    {"up", "up", "gauge", DS_JOB_INFER, 1, DS_KIND_CONST},
    {"model_info", "model_info", "gauge", DS_JOB_INFER, 2, DS_KIND_CONST},
    {"inference_requests_total", "inference_requests", "counter", DS_JOB_INFER, 6, DS_KIND_INT_COUNTER},
    {"inference_latency_seconds_bucket", "inference_latency_seconds", "histogram", DS_JOB_INFER, 24,
     DS_KIND_HIST_BUCKET},
    {"inference_latency_seconds_sum", "inference_latency_seconds", "histogram", DS_JOB_INFER, 2,
     DS_KIND_FLOAT_COUNTER},
    {"inference_latency_seconds_count", "inference_latency_seconds", "histogram", DS_JOB_INFER, 2,
     DS_KIND_INT_COUNTER},
    {"gpu_utilization_ratio", "gpu_utilization_ratio", "gauge", DS_JOB_INFER, 1, DS_KIND_GAUGE_2DEC},
    {"gpu_temperature_celsius", "gpu_temperature_celsius", "gauge", DS_JOB_INFER, 1, DS_KIND_INT_GAUGE},
    {"inference_queue_size", "inference_queue_size", "gauge", DS_JOB_INFER, 1, DS_KIND_INT_GAUGE},
};
#define DS_N_FAMILIES (sizeof ds_families / sizeof ds_families[0])

static const char *const ds_cpu_modes[8] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
/* seconds of CPU per second per core, by mode */
static const double ds_cpu_rate[8] = {0.85, 0.004, 0.0, 0.0, 0.002, 0.0, 0.03, 0.09};
static const char *const ds_models[6] = {"resnet50", "bert-base", "llama-7b", "whisper-small", "yolov8", "t5-large"};
static const char *const ds_le[12] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                      "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
static const double ds_le_v[12] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, INFINITY};
static const char *const ds_status[3] = {"200", "400", "500"};

/* Where series i sits: host, family, index inside the family. */
typedef struct ds_pos {
    size_t host;
    int fam, j;
} ds_pos;

static inline uint64_t ds_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static inline uint64_t ds_hash(const ds *d, uint64_t a, uint64_t b, uint64_t c)
{
    return ds_mix(ds_mix(ds_mix(d->seed ^ 0x5bd1e995ULL) ^ a) ^ (b * 0x100000001B3ULL) ^ (c << 17));
}

/* Uniform in [0, 1). */
static inline double ds_u01(uint64_t h) { return (double)(h >> 11) / 9007199254740992.0; }

static inline ds_pos ds_locate(size_t i)
{
    ds_pos p = {i / DS_SERIES_PER_HOST, 0, 0};
    int slot = (int)(i % DS_SERIES_PER_HOST);
    for (size_t f = 0; f < DS_N_FAMILIES; f++) {
        if (slot < ds_families[f].n) {
            p.fam = (int)f;
            p.j = slot;
            return p;
        }
        slot -= ds_families[f].n;
    }
    abort(); /* DS_SERIES_PER_HOST disagrees with the table */
}

static inline void ds_init(ds *d, size_t n_series, uint64_t seed)
{
    d->seed = seed;
    d->n_series = n_series;
}

static inline int ds_kind(const ds *d, size_t i)
{
    (void)d;
    return ds_families[ds_locate(i).fam].kind;
}

static inline const char *ds_kind_name(int kind)
{
    static const char *const names[DS_N_KINDS] = {"constant",         "int counter", "float counter",
                                                  "2-decimal gauge",  "int gauge",   "histogram bucket"};
    return kind >= 0 && kind < DS_N_KINDS ? names[kind] : "?";
}

/* 1 if series i's target has scrape jitter (30% of targets). */
static inline int ds_jittered(const ds *d, size_t i)
{
    ds_pos p = ds_locate(i);
    return ds_hash(d, p.host, (uint64_t)ds_families[p.fam].job, 1) % 10 < 3;
}

static inline int64_t ds_time(const ds *d, size_t i, uint64_t k)
{
    ds_pos p = ds_locate(i);
    uint64_t job = (uint64_t)ds_families[p.fam].job;
    int64_t t = DS_EPOCH_MS + (int64_t)(ds_hash(d, p.host, job, 2) % DS_SCRAPE_MS) + DS_SCRAPE_MS * (int64_t)k;
    if (ds_hash(d, p.host, job, 1) % 10 < 3) t += (int64_t)(ds_hash(d, p.host * 1000003 + job, k, 3) % 5) - 2;
    return t;
}

/* A monotone counter: base + r*k + r*u(k), u in [0,1): steps are in (0, 2r). */
static inline double ds_counter(const ds *d, uint64_t key, uint64_t k, double base, double r)
{
    return base + r * (double)k + r * ds_u01(ds_hash(d, key, k, 4));
}

/* Requests of a model per scrape; shared by its histogram series. */
static inline double ds_model_requests(const ds *d, size_t host, int m, uint64_t k)
{
    uint64_t key = ds_hash(d, host, (uint64_t)m, 5);
    double rps = 2.0 + 60.0 * ds_u01(key);
    return floor(ds_counter(d, key, k, (double)(key % 1000000), rps * 15.0));
}

/* Fraction of a model's requests at or under `le` seconds (log-normal). */
static inline double ds_model_cdf(const ds *d, size_t host, int m, double le)
{
    if (isinf(le)) return 1.0;
    uint64_t key = ds_hash(d, host, (uint64_t)m, 6);
    double median = 0.02 + 0.4 * ds_u01(key), sigma = 0.6;
    return 0.5 * erfc(-(log(le) - log(median)) / (sigma * sqrt(2.0)));
}

static inline double ds_round2(double x) { return round(x * 100.0) / 100.0; }

static inline double ds_value(const ds *d, size_t i, uint64_t k)
{
    ds_pos p = ds_locate(i);
    const ds_family *f = &ds_families[p.fam];
    uint64_t key = ds_hash(d, i, 0, 7);
    double u = ds_u01(key), noise = ds_u01(ds_hash(d, i, k, 8));
    double phase = 6.283185307179586 * u, wave = sin(phase + (double)k / 40.0);
    const char *n = f->name;
    switch (p.fam) {
    case 2: { /* cpu seconds: 2 decimals */
        double rate = ds_cpu_rate[p.j % 8] * 15.0;
        return floor(ds_counter(d, key, k, 1e5 + 1e6 * u, rate) * 100.0) / 100.0;
    }
    case 3: case 4: case 5: case 6: { /* network: eth0 busy, lo quieter */
        double bps = (p.j == 0 ? 2e5 : 2e3) * (0.2 + u);
        if (p.fam >= 5) bps /= 900.0;
        return floor(ds_counter(d, key, k, floor(1e9 * u), bps * 15.0));
    }
    case 7: case 8: case 9: case 10: /* memory: pages around a level */
        return 4096.0 * floor((2e6 + 4e6 * u) * (1.0 + 0.05 * wave) + 300.0 * noise);
    case 11: /* filesystem: slowly filling */
        return 4096.0 * floor(5e7 * (0.3 + u) - (double)k * (u * 20.0) - 3.0 * noise);
    case 12: case 13: case 14: { /* load averages */
        double smooth = p.fam == 12 ? 1.0 : p.fam == 13 ? 0.5 : 0.25;
        return ds_round2(fmax(0.0, 0.4 + 3.0 * u + 0.8 * wave + smooth * 0.6 * (noise - 0.5)));
    }
    case 17: { /* requests by status: 200 most, 400 ~1%, 500 ~0.1% */
        static const double share[3] = {1.0, 0.01, 0.001};
        int m = p.j / 3;
        double rps = 2.0 + 60.0 * ds_u01(ds_hash(d, p.host, (uint64_t)m, 5));
        return floor(ds_counter(d, key, k, floor(1e5 * u * share[p.j % 3]), rps * 15.0 * share[p.j % 3]));
    }
    case 18: { /* buckets: cumulative */
        int m = p.j / 12;
        return floor(ds_model_requests(d, p.host, m, k) * ds_model_cdf(d, p.host, m, ds_le_v[p.j % 12]));
    }
    case 19: { /* _sum: requests x mean latency, full precision */
        uint64_t mk = ds_hash(d, p.host, (uint64_t)p.j, 6);
        double mean = (0.02 + 0.4 * ds_u01(mk)) * exp(0.18);
        return ds_model_requests(d, p.host, p.j, k) * mean;
    }
    case 20: return ds_model_requests(d, p.host, p.j, k);
    case 21: return ds_round2(fmin(1.0, fmax(0.0, 0.3 + 0.5 * u + 0.2 * wave + 0.1 * (noise - 0.5))));
    case 22: return floor(45.0 + 20.0 * u + 8.0 * wave + 2.0 * noise);
    case 23: return floor(fmax(0.0, 6.0 * u + 4.0 * wave + 3.0 * noise));
    default: break;
    }
    (void)n;
    return 1.0; /* up, *_info */
}

static inline int ds_label_cmp(const void *a, const void *b)
{
    const cairn_label *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Labels of series i, sorted by name (__name__ sorts first); strings in scratch. */
static inline size_t ds_series_labels(const ds *d, size_t i, cairn_label *out, size_t cap, char *scratch)
{
    ds_pos p = ds_locate(i);
    const ds_family *f = &ds_families[p.fam];
    cairn_label l[DS_MAX_LABELS];
    size_t n = 0, used = 0;
#define DS_PUT(nm, val)                                                                                  \
    do {                                                                                                 \
        l[n].name = (nm);                                                                                \
        l[n].name_len = strlen(nm);                                                                      \
        l[n].value = (val);                                                                              \
        l[n].value_len = strlen(val);                                                                    \
        n++;                                                                                             \
    } while (0)
    char *inst = scratch + used;
    used += (size_t)snprintf(inst, DS_SCRATCH_BYTES - used, "host-%05zu:%s", p.host,
                             f->job == DS_JOB_NODE ? "9100" : "8080") + 1;
    DS_PUT("__name__", f->name);
    DS_PUT("instance", inst);
    DS_PUT("job", f->job == DS_JOB_NODE ? "node" : "inference");
    int m0 = (int)(p.host % 6);
    switch (p.fam) {
    case 2: {
        char *cpu = scratch + used;
        used += (size_t)snprintf(cpu, DS_SCRATCH_BYTES - used, "%d", p.j / 8) + 1;
        DS_PUT("cpu", cpu);
        DS_PUT("mode", ds_cpu_modes[p.j % 8]);
        break;
    }
    case 3: case 4: case 5: case 6: DS_PUT("device", p.j == 0 ? "eth0" : "lo"); break;
    case 11: DS_PUT("mountpoint", p.j == 0 ? "/" : "/data"); break;
    case 16: case 17: {
        int m = p.fam == 16 ? p.j : p.j / 3;
        char *ver = scratch + used;
        used += (size_t)snprintf(ver, DS_SCRATCH_BYTES - used, "v%d",
                                 1 + (int)(ds_hash(d, p.host, (uint64_t)m, 9) % 3)) + 1;
        DS_PUT("model_name", ds_models[(m0 + m) % 6]);
        DS_PUT("model_version", ver);
        if (p.fam == 17) DS_PUT("status", ds_status[p.j % 3]);
        break;
    }
    case 18:
        DS_PUT("model_name", ds_models[(m0 + p.j / 12) % 6]);
        DS_PUT("le", ds_le[p.j % 12]);
        break;
    case 19: case 20: DS_PUT("model_name", ds_models[(m0 + p.j) % 6]); break;
    case 21: case 22: DS_PUT("gpu", "0"); break;
    default: break;
    }
#undef DS_PUT
    if (n > cap) return 0;
    qsort(l, n, sizeof l[0], ds_label_cmp);
    memcpy(out, l, n * sizeof l[0]);
    return n;
}

/* Shortest decimal that reads back as the same double. */
static inline void ds_fmt_value(char *buf, size_t cap, double v)
{
    if (isnan(v)) {
        snprintf(buf, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

/* Every series, n_samples each, as OpenMetrics text ending in "# EOF". */
static inline void ds_write_openmetrics(FILE *out, const ds *d, uint64_t n_samples)
{
    size_t n_hosts = (d->n_series + DS_SERIES_PER_HOST - 1) / DS_SERIES_PER_HOST;
    for (size_t f0 = 0; f0 < DS_N_FAMILIES; f0++) {
        const char *fam = ds_families[f0].om_family;
        int seen = 0; /* a family name may repeat (up): print it once, at its first entry */
        for (size_t g = 0; g < f0; g++) seen |= strcmp(ds_families[g].om_family, fam) == 0;
        if (seen) continue;
        fprintf(out, "# TYPE %s %s\n", fam, ds_families[f0].om_type);
        int hist = !strcmp(ds_families[f0].om_type, "histogram");
        for (size_t h = 0; h < n_hosts; h++) {
            size_t first = h * DS_SERIES_PER_HOST, in_fam[DS_SERIES_PER_HOST], nf = 0;
            for (size_t s = first; s < first + DS_SERIES_PER_HOST && s < d->n_series; s++)
                if (!strcmp(ds_families[ds_locate(s).fam].om_family, fam)) in_fam[nf++] = s;
            /* a histogram's buckets, _sum and _count of one model are one
             * Metric: print them together at each timestamp */
            int n_groups = hist ? 2 : 1;
            for (int g = 0; g < n_groups; g++) {
                uint64_t k_outer = hist ? n_samples : 1;
                for (uint64_t ko = 0; ko < k_outer; ko++) {
                    for (size_t x = 0; x < nf; x++) {
                        size_t s = in_fam[x];
                        ds_pos p = ds_locate(s);
                        if (hist && (p.fam == 18 ? p.j / 12 : p.j) != g) continue;
                        cairn_label l[DS_MAX_LABELS];
                        char scratch[DS_SCRATCH_BYTES], sel[512], val[40];
                        size_t nl = ds_series_labels(d, s, l, DS_MAX_LABELS, scratch), at = 0;
                        at += (size_t)snprintf(sel + at, sizeof sel - at, "%.*s{", (int)l[0].value_len, l[0].value);
                        for (size_t q = 1; q < nl; q++)
                            at += (size_t)snprintf(sel + at, sizeof sel - at, "%s%.*s=\"%.*s\"", q > 1 ? "," : "",
                                                   (int)l[q].name_len, l[q].name, (int)l[q].value_len, l[q].value);
                        snprintf(sel + at, sizeof sel - at, "}");
                        uint64_t k0 = hist ? ko : 0, k1 = hist ? ko + 1 : n_samples;
                        for (uint64_t k = k0; k < k1; k++) {
                            int64_t t = ds_time(d, s, k);
                            ds_fmt_value(val, sizeof val, ds_value(d, s, k));
                            fprintf(out, "%s %s %lld.%03lld\n", sel, val, (long long)(t / 1000),
                                    (long long)(t % 1000));
                        }
                    }
                }
            }
        }
    }
    fprintf(out, "# EOF\n");
}
#endif
