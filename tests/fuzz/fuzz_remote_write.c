/*
 * fuzz_remote_write — the hand-written remote_write decoder against the
 * protobuf-c one (rw_decode_pb_ref), which is the reference.
 *
 * The first byte picks the entry point: odd -> the snappy body path
 * (rw_decode), even -> the protobuf message (so the fuzzer reaches the schema
 * without learning snappy). The message is decoded by both decoders into
 * fresh batches; they must return the same code, the same message for
 * anything but a wire error (label errors come from the same ingest_series),
 * and on success the same series (canonical bytes, hash, kind, order), the
 * same samples (ref, time, value bits) and the same metadata. Either way a
 * failed decode leaves the batch and the metadata list empty, and every
 * sample of a successful one refers to a series of its batch.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "buf.h"
#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const cairn_batch *a, const ingest_meta_list *ma, const cairn_batch *b,
                       const ingest_meta_list *mb)
{
    if (a->n_series != b->n_series || a->n_samples != b->n_samples || a->n_entries || b->n_entries) abort();
    for (size_t i = 0; i < a->n_series; i++) {
        const batch_series *x = &a->series[i], *y = &b->series[i];
        if (x->kind != y->kind || x->hash != y->hash || x->canon_len != y->canon_len ||
            memcmp(batch_canon(a, x), batch_canon(b, y), x->canon_len) != 0)
            abort();
    }
    for (size_t i = 0; i < a->n_samples; i++) {
        const batch_sample *x = &a->samples[i], *y = &b->samples[i];
        if (x->ref != y->ref || x->t_ms != y->t_ms || memcmp(&x->v, &y->v, 8) != 0) abort();
        if (x->ref >= a->n_series) abort();
    }
    if (ma->n != mb->n) abort();
    for (size_t i = 0; i < ma->n; i++) {
        const ingest_meta *x = &ma->v[i], *y = &mb->v[i];
        if (x->type != y->type || x->name_len != y->name_len || x->help_len != y->help_len ||
            x->unit_len != y->unit_len || memcmp(x->name, y->name, x->name_len) != 0 ||
            memcmp(x->help, y->help, x->help_len) != 0 || memcmp(x->unit, y->unit, x->unit_len) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ingest_opts o;
    ingest_opts_default(&o);
    o.max_body_bytes = 1 << 20;
    cairn_batch *b = cairn_batch_new(), *rb = cairn_batch_new();
    ingest_meta_list meta, rmeta;
    ingest_meta_init(&meta);
    ingest_meta_init(&rmeta);
    cairn_err e, re;
    memset(&e, 0, sizeof e);
    memset(&re, 0, sizeof re);
    const uint8_t *pb = data + 1;
    size_t n = size - 1;
    int rc = 0;
    if (data[0] & 1) {
        rc = rw_decode(pb, n, &o, b, &meta, &e);
        /* compare on the decompressed message when there is one */
        buf raw;
        buf_init(&raw);
        cairn_err ue;
        if (ingest_unsnappy(pb, n, o.max_body_bytes, &raw, &ue) == CAIRN_OK) {
            int rrc = rw_decode_pb_ref(raw.p, raw.len, &o, rb, &rmeta, &re);
            if (rc != rrc) abort();
            if (rc == CAIRN_OK) check_same(b, &meta, rb, &rmeta);
            else if (rc != CAIRN_ECORRUPT && strcmp(e.msg, re.msg) != 0) abort();
        } else if (rc == CAIRN_OK) {
            abort();
        }
        buf_free(&raw);
    } else {
        rc = rw_decode_pb(pb, n, &o, b, &meta, &e);
        int rrc = rw_decode_pb_ref(pb, n, &o, rb, &rmeta, &re);
        if (rc != rrc) abort();
        if (rc == CAIRN_OK) check_same(b, &meta, rb, &rmeta);
        else if (rc != CAIRN_ECORRUPT && strcmp(e.msg, re.msg) != 0) abort();
    }
    if (rc && (cairn_batch_size(b) || b->n_series || meta.n)) abort();
    ingest_meta_free(&meta);
    ingest_meta_free(&rmeta);
    cairn_batch_free(b);
    cairn_batch_free(rb);
    return 0;
}
