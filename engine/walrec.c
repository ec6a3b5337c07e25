/*
 * walrec.c — commit record payloads.
 *
 * A batch becomes exactly one WAL record, so the WAL's CRC covers the whole
 * batch and a torn write can only lose a batch entirely — the atomicity the
 * HTTP layer promises (2xx means every sample is durable, anything else means
 * none). The record carries the ids and canonical labels of the series the
 * commit created, so replay can rebuild index entries lost with an
 * unsynced LMDB transaction, then samples and entries by id.
 *
 * Decoding runs twice over the bytes: a validating pass that calls nothing,
 * then the applying pass. Replay therefore never applies half a record even
 * if a bug produced a record with a good CRC and a bad body.
 */
#include "walrec.h"

#include <string.h>

#include "err.h"

int walrec_put_series(buf *b, uint32_t id, int kind, const uint8_t *canon, size_t len)
{
    RETURN_IF_ERR(buf_put_uvarint(b, id));
    RETURN_IF_ERR(buf_put_u8(b, (uint8_t)kind));
    return buf_put_str(b, canon, len);
}

int walrec_put_sample(buf *b, uint32_t id, int64_t t_ms, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    RETURN_IF_ERR(buf_put_uvarint(b, id));
    RETURN_IF_ERR(buf_put_varint(b, t_ms));
    return buf_put_u64le(b, bits);
}

int walrec_put_entry(buf *b, uint32_t id, int64_t t_ns, const void *line, size_t len, const uint8_t *meta,
                     size_t meta_len)
{
    RETURN_IF_ERR(buf_put_uvarint(b, id));
    RETURN_IF_ERR(buf_put_varint(b, t_ns));
    RETURN_IF_ERR(buf_put_str(b, line, len));
    return buf_put_str(b, meta, meta_len);
}

static int walrec_pass(const uint8_t *p, size_t n, const walrec_fns *fns, void *ctx)
{
    rd r;
    rd_init(&r, p, n);
    uint64_t cnt, id;
    int rc;
    if (rd_uvarint(&r, &cnt)) return CAIRN_ECORRUPT;
    for (uint64_t i = 0; i < cnt; i++) {
        uint8_t kind;
        const uint8_t *canon;
        size_t len;
        if (rd_uvarint(&r, &id) || id > UINT32_MAX || rd_u8(&r, &kind) || rd_str(&r, &canon, &len))
            return CAIRN_ECORRUPT;
        if (kind != CAIRN_KIND_METRIC && kind != CAIRN_KIND_LOG) return CAIRN_ECORRUPT;
        if (fns && (rc = fns->series(ctx, (uint32_t)id, kind, canon, len))) return rc;
    }
    if (rd_uvarint(&r, &cnt)) return CAIRN_ECORRUPT;
    for (uint64_t i = 0; i < cnt; i++) {
        int64_t t;
        uint64_t bits;
        if (rd_uvarint(&r, &id) || id > UINT32_MAX || rd_varint(&r, &t) || rd_u64le(&r, &bits))
            return CAIRN_ECORRUPT;
        double v;
        memcpy(&v, &bits, 8);
        if (fns && (rc = fns->sample(ctx, (uint32_t)id, t, v))) return rc;
    }
    if (rd_uvarint(&r, &cnt)) return CAIRN_ECORRUPT;
    for (uint64_t i = 0; i < cnt; i++) {
        int64_t t;
        const uint8_t *line, *meta;
        size_t len, mlen;
        if (rd_uvarint(&r, &id) || id > UINT32_MAX || rd_varint(&r, &t) || rd_str(&r, &line, &len) ||
            rd_str(&r, &meta, &mlen))
            return CAIRN_ECORRUPT;
        if (fns && (rc = fns->entry(ctx, (uint32_t)id, t, line, len, meta, mlen))) return rc;
    }
    return rd_left(&r) ? CAIRN_ECORRUPT : CAIRN_OK;
}

int walrec_decode(const uint8_t *p, size_t n, const walrec_fns *fns, void *ctx, cairn_err *err)
{
    if (walrec_pass(p, n, NULL, NULL))
        return err_set(err, CAIRN_ECORRUPT, "malformed WAL commit record (%zu bytes)", n);
    if (!fns) return CAIRN_OK;
    return walrec_pass(p, n, fns, ctx);
}
