/*
 * fuzz_loki_proto — Loki PushRequest protobuf; first byte odd -> snappy body
 * (lpush_decode_proto), even -> raw message (lpush_decode_pb).
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
    o.max_body_bytes = 1 << 20;
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = data[0] & 1 ? lpush_decode_proto(data + 1, size - 1, &o, b, &e)
                         : lpush_decode_pb(data + 1, size - 1, &o, b, &e);
    if (rc && cairn_batch_size(b)) abort();
    cairn_batch_free(b);
    return 0;
}
