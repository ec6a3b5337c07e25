/*
 * fuzz_otlp_json — OTLP/HTTP json bodies; the first byte picks metrics (even)
 * or logs (odd). Errors must leave the batch and metadata empty.
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
    o.reject_old_ns = o.future_grace_ns = 0;
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    int rc = data[0] & 1 ? otlp_decode_logs(data + 1, size - 1, OTLP_JSON, &o, b, &e)
                         : otlp_decode_metrics(data + 1, size - 1, OTLP_JSON, &o, b, &meta, &e);
    if (rc && (cairn_batch_size(b) || meta.n)) abort();
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    return 0;
}
