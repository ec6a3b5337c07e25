/*
 * remote_write.c — Prometheus remote write 1.0 bodies into a batch.
 *
 * A body is a snappy *block* holding one prometheus.WriteRequest
 * (ingest/remote_write.proto, field numbers per api-contract C.1). The
 * snappy header declares the decoded size, so the size limit is checked
 * before anything is allocated; then protobuf-c unpacks the whole request.
 * Unpacking allocates a tree of messages (about 35 blocks for a series of
 * 10 labels), which the issue accepts. The allocator given to protobuf-c is
 * a bump arena (engine/arena, memory from mem_): its free is a no-op and the
 * whole tree goes with one arena_free(), which halves the decode time
 * compared with malloc/free per block (measured: docs/benchmarks/ingest.md).
 *
 * Mapping: each TimeSeries becomes one metric series (labels validated,
 * reserved "__" names other than __name__ stripped, empty values dropped,
 * sorted, duplicates rejected naming the series: see ingest_series) with all
 * of its samples, values bit for bit (the stale marker 0x7ff0000000000002
 * survives because doubles are copied, never recomputed). A series without
 * float samples (only native histograms) is not added; exemplars and native
 * histograms are dropped. MetricMetadata goes to the metadata list, so a
 * metadata-only request (Prometheus sends one every minute) is a valid,
 * empty batch.
 *
 * Atomicity: any error resets the batch and the metadata list, so the
 * caller commits all of a request or nothing (api-contract C.1 permits
 * partial ingestion; cairn chooses none). Codes: see ingest.h.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "err.h"
#include "ingest.h"
#include "mem.h"
#include "remote_write.pb-c.h"

typedef struct rw_heap {
    arena *a;
    int failed;
} rw_heap;

static void *rw_alloc(void *ad, size_t n)
{
    rw_heap *h = ad;
    void *p = arena_alloc(h->a, n);
    if (!p) h->failed = 1;
    return p;
}

static void rw_free(void *ad, void *q)
{
    (void)ad, (void)q; /* the arena frees everything at once */
}

int rw_decode(const uint8_t *body, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
              cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "remote_write: body of %zu bytes exceeds %zu bytes", len, o->max_body_bytes);
    buf raw;
    buf_init(&raw);
    int rc = ingest_unsnappy(body, len, o->max_body_bytes, &raw, err);
    if (rc == CAIRN_OK) rc = rw_decode_pb(raw.p, raw.len, o, b, meta, err);
    else {
        cairn_err e2 = {0};
        if (err) e2 = *err;
        rc = err_set(err, rc, "remote_write: %s", e2.msg);
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    buf_free(&raw);
    return rc;
}

int rw_decode_pb(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
                 cairn_err *err)
{
    if (len > o->max_body_bytes)
        return err_set(err, CAIRN_ELIMIT, "remote_write: message of %zu bytes exceeds %zu bytes", len,
                       o->max_body_bytes);
    /* small chunks for small requests: they recycle through malloc without page faults */
    rw_heap heap = {arena_new(len < (1u << 20) ? 0 : (1u << 20)), 0};
    if (!heap.a) return err_set(err, CAIRN_ENOMEM, "remote_write: out of memory unpacking %zu bytes", len);
    ProtobufCAllocator a = {rw_alloc, rw_free, &heap};
    Prometheus__WriteRequest *req = prometheus__write_request__unpack(&a, len, pb);
    if (!req) {
        int oom = heap.failed;
        arena_free(heap.a);
        if (oom) return err_set(err, CAIRN_ENOMEM, "remote_write: out of memory unpacking %zu bytes", len);
        return err_set(err, CAIRN_ECORRUPT, "remote_write: malformed protobuf WriteRequest (%zu bytes)", len);
    }
    int rc = CAIRN_OK;
    cairn_label stack[64], *l = stack;
    size_t cap = 64;
    for (size_t i = 0; i < req->n_timeseries; i++) {
        const Prometheus__TimeSeries *ts = req->timeseries[i];
        if (ts->n_samples == 0) continue;
        if (ts->n_labels > cap) {
            if (l != stack) mem_free(l, cap * sizeof *l);
            cap = ts->n_labels;
            l = mem_alloc(cap * sizeof *l);
            if (!l) {
                l = stack, cap = 64;
                rc = err_set(err, CAIRN_ENOMEM, "remote_write: out of memory");
                goto out;
            }
        }
        for (size_t k = 0; k < ts->n_labels; k++) {
            const Prometheus__Label *lab = ts->labels[k];
            l[k] = (cairn_label){(const char *)lab->name.data, lab->name.len, (const char *)lab->value.data,
                                 lab->value.len};
            if (!l[k].name) l[k].name = "";
            if (!l[k].value) l[k].value = "";
        }
        size_t n = ts->n_labels;
        int ref = ingest_series(b, CAIRN_KIND_METRIC, l, &n, o, "remote_write: timeseries", (long long)i, err);
        if (ref < 0) {
            rc = ref;
            goto out;
        }
        for (size_t k = 0; k < ts->n_samples; k++) {
            cairn_err e2;
            rc = cairn_batch_sample(b, ref, ts->samples[k]->timestamp, ts->samples[k]->value, &e2);
            if (rc) {
                rc = err_set(err, rc, "remote_write: timeseries %zu: %s", i, e2.msg);
                goto out;
            }
        }
    }
    for (size_t i = 0; meta && i < req->n_metadata; i++) {
        const Prometheus__MetricMetadata *m = req->metadata[i];
        if (m->metric_family_name.len == 0) continue;
        int type = m->type >= 0 && m->type <= INGEST_TYPE_STATESET ? m->type : INGEST_TYPE_UNKNOWN;
        rc = ingest_meta_set(meta, (const char *)m->metric_family_name.data, m->metric_family_name.len, type,
                             m->help.data ? (const char *)m->help.data : "", m->help.len,
                             m->unit.data ? (const char *)m->unit.data : "", m->unit.len);
        if (rc) {
            rc = err_set(err, rc, "remote_write: out of memory storing metadata");
            goto out;
        }
    }
out:
    if (l != stack) mem_free(l, cap * sizeof *l);
    arena_free(heap.a); /* the whole unpacked request */
    if (rc) {
        cairn_batch_reset(b);
        if (meta) ingest_meta_reset(meta);
    }
    return rc;
}
