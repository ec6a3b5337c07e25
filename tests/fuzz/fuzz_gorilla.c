/*
 * fuzz_gorilla.c — libFuzzer target for float chunks (engine/chunk*.c,
 * engine/gorilla.c, engine/bits.c).
 *
 * The first input byte picks the mode:
 *   even: decode the rest as a chunk byte string, as if read from disk:
 *         iterate, verify, and reopen it for appending. Nothing may crash,
 *         read out of bounds, loop forever, or return more samples than the
 *         header counts; timestamps that come out must increase; the
 *         batch iterator must return the same samples and ending.
 *   odd:  round trip. The rest is read as 9-byte records: a 1-byte
 *         timestamp step selector and 8 value bytes. Steps mix regular
 *         15 s scrapes, small jitter, huge jumps and jumps to the ends of the
 *         int64 range; values are the raw 8 bytes (every float64 pattern)
 *         or, by selector bits, the previous value or a small change of it.
 *         The samples go through both classes; both decodings must equal
 *         the input bit for bit, or the target aborts.
 * Seeds: tests/fuzz/corpus/gorilla/ (replayed on every `make test`).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_only(const uint8_t *p, size_t n)
{
    chunk_it it;
    chunk_it_init(&it, p, n);
    int count = chunk_count(p, n), i = 0, rc;
    int64_t t, prev = 0;
    double v;
    while ((rc = chunk_it_next(&it, &t, &v)) == 1) {
        if (i > 0 && t <= prev) abort();
        prev = t;
        if (++i > count) abort();
    }
    if (rc != 0 && rc != CAIRN_ECORRUPT) abort();
    if (rc == 0 && i != count) abort();
    /* the batch iterator agrees: same good samples, same ending */
    chunk_it itn;
    chunk_it_init(&itn, p, n);
    int64_t tb[7];
    double vb[7];
    int j = 0, got;
    while ((got = chunk_it_next_n(&itn, tb, vb, 7)) > 0) j += got;
    if (j != i || got != rc) abort();
    cairn_err e;
    int vr = chunk_verify(p, n, &e);
    if (vr != CAIRN_OK && vr != CAIRN_ECORRUPT) abort();
    if (vr == CAIRN_OK && rc != 0) abort();
    chunk_w w = {0};
    if (chunk_w_load(&w, p, n, &e) == CAIRN_OK) {
        size_t len;
        const uint8_t *q = chunk_w_bytes(&w, &len);
        if (len != n || memcmp(p, q, n)) abort();
        if (chunk_w_count(&w) < CHUNK_MAX_SAMPLES && w.st.t < INT64_MAX &&
            chunk_w_append(&w, w.st.t + 1, 0.5) != CAIRN_OK)
            abort();
        chunk_w_free(&w);
    }
}

static int64_t next_t(int64_t t, uint8_t sel, uint64_t raw)
{
    uint64_t u = (uint64_t)t;
    switch (sel & 7) {
    case 0:
    case 1:
    case 2: u += 15000; break;
    case 3: u += 15000 + (raw & 7) - 3; break;
    case 4: u += 1 + (raw >> 40); break;
    case 5: u += 1 + (raw >> 1); break; /* up to 2^63 */
    case 6: u = (uint64_t)INT64_MAX - (raw & 0xff); break;
    default: u += 1; break;
    }
    return (int64_t)u;
}

static void round_trip(const uint8_t *p, size_t n)
{
    size_t ns = n / 9;
    if (ns > CHUNK_MAX_SAMPLES) ns = CHUNK_MAX_SAMPLES;
    int64_t *ts = malloc((ns + 1) * 8);
    uint64_t *vs = malloc((ns + 1) * 8);
    if (!ts || !vs) abort();
    size_t k = 0;
    int64_t t = p && n ? (int64_t)((uint64_t)p[0] << 56) : 0; /* start anywhere in the range */
    for (size_t i = 0; i < ns; i++) {
        const uint8_t *r = p + 9 * i;
        uint64_t raw;
        memcpy(&raw, r + 1, 8);
        int64_t tn = i == 0 ? t : next_t(t, r[0], raw);
        if (i > 0 && tn <= t) break; /* the range is used up */
        t = tn;
        uint64_t v = raw;
        switch (r[0] >> 5) {
        case 0: v = k ? vs[k - 1] : 0; break;
        case 1: v = k ? vs[k - 1] ^ (raw & 0xffff) : raw; break;
        case 2: v = k ? vs[k - 1] ^ (raw << 40) : raw; break;
        default: break;
        }
        ts[k] = t;
        vs[k] = v;
        k++;
    }
    static const int cls[2] = {CHUNK_RAW, CHUNK_GOR};
    for (int c = 0; c < 2; c++) {
        chunk_w w;
        chunk_w_init(&w, cls[c]);
        for (size_t i = 0; i < k; i++) {
            double d;
            memcpy(&d, &vs[i], 8);
            if (chunk_w_append(&w, ts[i], d) != CAIRN_OK) abort();
        }
        size_t len;
        const uint8_t *q = chunk_w_bytes(&w, &len);
        chunk_it it;
        if (chunk_it_init(&it, q, len) != CAIRN_OK) abort();
        for (size_t i = 0; i < k; i++) {
            int64_t tt;
            double d;
            uint64_t b;
            if (chunk_it_next(&it, &tt, &d) != 1) abort();
            memcpy(&b, &d, 8);
            if (tt != ts[i] || b != vs[i]) {
                fprintf(stderr, "class %d sample %zu: got (%lld, %016llx) want (%lld, %016llx)\n", cls[c], i,
                        (long long)tt, (unsigned long long)b, (long long)ts[i], (unsigned long long)vs[i]);
                abort();
            }
        }
        int64_t tt;
        double d;
        if (chunk_it_next(&it, &tt, &d) != 0) abort();
        if (k && chunk_verify(q, len, NULL) != CAIRN_OK) abort();
        chunk_w_free(&w);
    }
    free(ts);
    free(vs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1)
        round_trip(data + 1, size - 1);
    else
        decode_only(data + 1, size - 1);
    return 0;
}
