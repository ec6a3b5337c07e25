/*
 * fuzz_walrec — the WAL commit-record payload decoder (engine/walrec.c).
 *
 * 1. Arbitrary bytes: walrec_decode must either reject them without calling
 *    any callback, or accept them and call back exactly the items its
 *    validating pass counted — never read out of bounds.
 * 2. Round trip: items derived from the input are encoded with the
 *    walrec_put_* helpers and must decode to the same items, bit for bit.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "walrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    uint64_t n, sum;
} seen;

static int on_series(void *ctx, uint32_t id, int kind, const uint8_t *canon, size_t len)
{
    seen *s = ctx;
    s->n++;
    s->sum += id + (uint64_t)kind + len + (len ? canon[0] : 0);
    return 0;
}

static int on_sample(void *ctx, uint32_t id, int64_t t, double v)
{
    seen *s = ctx;
    uint64_t b;
    memcpy(&b, &v, 8);
    s->n++;
    s->sum += id + (uint64_t)t + b;
    return 0;
}

static int on_entry(void *ctx, uint32_t id, int64_t t, const uint8_t *line, size_t len, const uint8_t *meta,
                    size_t mlen)
{
    seen *s = ctx;
    s->n++;
    s->sum += id + (uint64_t)t + len + mlen + (len ? line[len - 1] : 0) + (mlen ? meta[0] : 0);
    return 0;
}

static const walrec_fns fns = {on_series, on_sample, on_entry};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen a = {0, 0};
    int rc = walrec_decode(data, size, &fns, &a, NULL);
    if (rc != 0 && a.n != 0) abort(); /* a rejected record must call nothing */

    /* round trip: every 13 input bytes make one item */
    buf b, s1, s2, s3;
    buf_init(&b), buf_init(&s1), buf_init(&s2), buf_init(&s3);
    uint64_t n1 = 0, n2 = 0, n3 = 0;
    seen want = {0, 0};
    for (size_t i = 0; i + 13 <= size; i += 13) {
        const uint8_t *p = data + i;
        uint32_t id;
        int64_t t;
        memcpy(&id, p + 1, 4);
        memcpy(&t, p + 5, 8);
        size_t len = p[0] % 13;
        switch (p[0] % 3) {
        case 0:
            walrec_put_series(&s1, id, 1 + (p[0] & 1), p, len);
            on_series(&want, id, 1 + (p[0] & 1), p, len);
            n1++;
            break;
        case 1: {
            double v;
            memcpy(&v, p + 5, 8);
            walrec_put_sample(&s2, id, t, v);
            on_sample(&want, id, t, v);
            n2++;
            break;
        }
        default:
            walrec_put_entry(&s3, id, t, p, len, p + len, 13 - len);
            on_entry(&want, id, t, p, len, p + len, 13 - len);
            n3++;
        }
    }
    buf_put_uvarint(&b, n1);
    buf_put(&b, s1.p, s1.len);
    buf_put_uvarint(&b, n2);
    buf_put(&b, s2.p, s2.len);
    buf_put_uvarint(&b, n3);
    buf_put(&b, s3.p, s3.len);
    seen got = {0, 0};
    if (walrec_decode(b.p, b.len, &fns, &got, NULL) != 0) abort();
    if (got.n != want.n || got.sum != want.sum) abort();
    buf_free(&b), buf_free(&s1), buf_free(&s2), buf_free(&s3);
    return 0;
}
