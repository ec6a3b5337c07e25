/*
 * fuzz_remote_write — remote_write decoding must never crash, leak or accept
 * half a request. The first byte picks the entry point: odd -> the snappy body
 * path (rw_decode), even -> the protobuf message path (rw_decode_pb, so the
 * fuzzer reaches the schema without having to learn snappy). On success every
 * sample must belong to a series of the batch; on failure the batch is empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "batch.h"
#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ingest_opts o;
    ingest_opts_default(&o);
    o.max_body_bytes = 1 << 20;
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    int rc = data[0] & 1 ? rw_decode(data + 1, size - 1, &o, b, &meta, &e)
                         : rw_decode_pb(data + 1, size - 1, &o, b, &meta, &e);
    if (rc && (cairn_batch_size(b) || b->n_series || meta.n)) abort();
    for (size_t i = 0; i < b->n_samples; i++)
        if (b->samples[i].ref >= b->n_series) abort();
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    return 0;
}
