/*
 * fuzz_loki_json — Loki push JSON on arbitrary bytes (time windows off so
 * the fuzzer can reach the success path with any timestamp).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "batch.h"
#include "ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_opts o;
    ingest_opts_default(&o);
    o.reject_old_ns = o.future_grace_ns = 0;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = lpush_decode_json(data, size, &o, b, &e);
    if (rc && cairn_batch_size(b)) abort();
    for (size_t i = 0; i < b->n_entries; i++)
        if (b->entries[i].ref >= b->n_series || b->entries[i].line_len > o.max_line_bytes) abort();
    cairn_batch_free(b);
    return 0;
}
