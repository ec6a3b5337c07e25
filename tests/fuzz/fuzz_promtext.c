/*
 * fuzz_promtext — the text exposition parser on arbitrary bytes. The first
 * byte picks the format (odd: OpenMetrics). Errors must leave the batch and
 * metadata empty; a parse error must carry a line and column.
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
    cairn_batch *b = cairn_batch_new();
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    int rc = ptext_decode((const char *)data + 1, size - 1, data[0] & 1 ? PTEXT_OPENMETRICS : PTEXT_PROM, &o, b,
                          &meta, &e);
    if (rc && (cairn_batch_size(b) || meta.n)) abort();
    if (rc == CAIRN_EPARSE && (e.line < 1 || e.col < 1)) abort();
    ingest_meta_free(&meta);
    cairn_batch_free(b);
    return 0;
}
