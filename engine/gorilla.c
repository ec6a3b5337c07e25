/*
 * gorilla.c — one sample at a time in and out of a Gorilla bit stream.
 *
 * The layout is the paper's (§4.1.1 timestamps, §4.1.2 values) with the
 * refinements Prometheus made to it (tsdb/chunkenc/xor.go), byte diagrams in
 * docs/format/gorilla.md:
 *
 *   sample 0   zig-zag varint t0, then the 64 value bits verbatim
 *   sample 1   uvarint (t1 - t0), then the value XOR-coded
 *   sample k   delta-of-delta D = (tk - tk-1) - (tk-1 - tk-2), bucketed:
 *                0                       D == 0
 *                10   + 14-bit two's c.  D in [-8191, 8192]
 *                110  + 17 bits          D in [-65535, 65536]
 *                1110 + 20 bits          D in [-524287, 524288]
 *                1111 + 64 bits          anything else
 *              then the value XOR-coded.
 *   value      X = v ^ v_prev:  0 (X == 0) | 10 + the bits of X inside the
 *              current window | 11 + 5-bit leading zeros + 6-bit length
 *              (64 stored as 0) + the meaningful bits, opening a new window.
 *
 * Why Prometheus' buckets and not the paper's (7/9/12/32 bits at second
 * resolution): our timestamps are milliseconds, so a 15 s scrape with a few
 * ms of jitter needs the wider small buckets, and a 64-bit escape covers
 * every int64 difference (the paper's 32-bit escape does not).
 *
 * Arithmetic: deltas live in uint64 and wrap. The caller guarantees t is
 * strictly increasing, so the true delta is in [1, 2^64 - 1] and fits a
 * uint64 exactly; a delta-of-delta is that difference mod 2^64 and lands in
 * the 64-bit bucket when it is large in either direction. Decoding adds the
 * same numbers mod 2^64, so every int64 sequence round-trips and nothing
 * overflows a signed type. The decoder insists that each decoded timestamp
 * exceeds the previous one, which catches most corruption cheaply.
 *
 * The leading-zero count has 5 bits, so it is capped at 31 (the window then
 * includes some zero bits); the length has 6 bits, so 64 meaningful bits are
 * written as 0. The window is reused whenever the new X fits inside it, the
 * paper's rule; Prometheus does the same.
 *
 * Speed: every field is read from one 64-bit peek of the stream (bits.h);
 * the common cases (D == 0, X == 0, X inside the window) cost a peek, a few
 * shifts and one or two predictable branches each.
 */
#include "gorilla.h"

#include <string.h>

#include "cairn.h"

void gor_init(gor_state *s)
{
    s->t = 0;
    s->d = 0;
    s->v = 0;
    s->n = 0;
    s->leading = GOR_NO_WINDOW;
    s->trailing = 0;
}

/* ---- encoder -------------------------------------------------------------- */

/*
 * Append the XOR code of v after `pre` (the timestamp code, pre_len <= 24
 * bits), in one bits_put when the two fit in 56 bits, which is the common
 * case: one read-modify-write of the stream per sample.
 */
static inline void gor_put_value(gor_state *s, bits_w *w, uint64_t v, uint64_t pre, unsigned pre_len)
{
    uint64_t x = v ^ s->v, code;
    unsigned len;
    s->v = v;
    if (x == 0) {
        code = 0;
        len = 1;
    } else {
        unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
        if (lead > 31) lead = 31;
        if (s->leading != GOR_NO_WINDOW && lead >= s->leading && trail >= s->trailing) {
            unsigned sig = 64u - s->leading - s->trailing;
            x >>= s->trailing;
            if (BITS_UNLIKELY(sig > 54)) {
                bits_put(w, pre, pre_len);
                bits_put(w, 2, 2);
                bits_put(w, x, sig);
                return;
            }
            code = 2ull << sig | x;
            len = sig + 2;
        } else {
            unsigned sig = 64u - lead - trail;
            s->leading = (uint8_t)lead;
            s->trailing = (uint8_t)trail;
            uint64_t hdr = 3u << 11 | lead << 6 | (sig & 63);
            x >>= trail;
            if (sig > 43) {
                bits_put(w, pre, pre_len);
                bits_put(w, hdr, 13);
                bits_put(w, x, sig);
                return;
            }
            code = hdr << sig | x;
            len = sig + 13;
        }
    }
    if (BITS_LIKELY(pre_len + len <= 56)) {
        bits_put(w, pre << len | code, pre_len + len);
    } else {
        bits_put(w, pre, pre_len);
        bits_put(w, code, len);
    }
}

void gor_put(gor_state *s, bits_w *w, int64_t t, uint64_t v)
{
    if (BITS_LIKELY(s->n >= 2)) {
        uint64_t d = (uint64_t)t - (uint64_t)s->t;
        uint64_t dod = d - s->d, pre;
        unsigned pre_len;
        if (dod == 0) {
            pre = 0;
            pre_len = 1;
        } else if (dod + 8191 <= 16383) {
            pre = 2u << 14 | (dod & 0x3fff);
            pre_len = 16;
        } else if (dod + 65535 <= 131071) {
            pre = 6u << 17 | (dod & 0x1ffff);
            pre_len = 20;
        } else if (dod + 524287 <= 1048575) {
            pre = 14u << 20 | (dod & 0xfffff);
            pre_len = 24;
        } else {
            bits_put(w, 15, 4);
            bits_put(w, dod, 64);
            pre = 0;
            pre_len = 0;
        }
        s->d = d;
        gor_put_value(s, w, v, pre, pre_len);
    } else if (s->n == 1) {
        s->d = (uint64_t)t - (uint64_t)s->t;
        bits_put_uvarint(w, s->d);
        gor_put_value(s, w, v, 0, 0);
    } else {
        bits_put_varint(w, t);
        bits_put(w, v, 64);
        s->v = v;
    }
    s->t = t;
    s->n++;
}

/* ---- decoder -------------------------------------------------------------- */

/* Payload width of the delta-of-delta buckets, by count of leading 1 bits. */
static const uint8_t gor_dod_bits[4] = {0, 14, 17, 20};

/*
 * Decode an XOR code. `wv` holds the stream from r->pos on, left-aligned,
 * with `valid` >= 33 bits that are real (bits_peek gives >= 57; the
 * timestamp code took at most 24 of them), so the control bits and short
 * payloads come from the word the timestamp was read from.
 */
static inline int gor_get_value(gor_state *s, bits_r *r, uint64_t wv, unsigned valid)
{
    if (!(wv >> 63)) {
        r->pos += 1;
        return CAIRN_OK;
    }
    uint64_t x;
    unsigned sig, trail;
    if (!((wv >> 62) & 1)) {
        if (BITS_UNLIKELY(s->leading == GOR_NO_WINDOW)) return CAIRN_ECORRUPT;
        trail = s->trailing;
        sig = 64u - s->leading - trail;
        if (sig + 2 <= valid) {
            x = (wv << 2) >> (64 - sig);
            r->pos += 2 + sig;
        } else {
            r->pos += 2;
            x = bits_get(r, sig);
        }
    } else {
        unsigned lead = (unsigned)(wv >> 57) & 31;
        sig = (unsigned)(wv >> 51) & 63;
        if (sig == 0) sig = 64;
        if (BITS_UNLIKELY(lead + sig > 64)) return CAIRN_ECORRUPT;
        trail = 64 - lead - sig;
        s->leading = (uint8_t)lead;
        s->trailing = (uint8_t)trail;
        if (sig + 13 <= valid) {
            x = (wv << 13) >> (64 - sig);
            r->pos += 13 + sig;
        } else {
            r->pos += 13;
            x = bits_get(r, sig);
        }
    }
    s->v ^= x << trail;
    return CAIRN_OK;
}

/* One sample from the third on: delta-of-delta, then the value. */
static inline int gor_step(gor_state *s, bits_r *r)
{
    uint64_t win = bits_peek(r), dod;
    unsigned used;
    if (!(win >> 63)) {
        dod = 0;
        used = 1;
    } else {
        /* count leading ones, at most 4 */
        unsigned ones = (unsigned)__builtin_clzll(~win | 1ull << 59);
        if (BITS_UNLIKELY(ones == 4)) {
            r->pos += 4;
            dod = bits_get(r, 64);
            win = bits_peek(r);
            used = 0;
        } else {
            unsigned nb = gor_dod_bits[ones];
            dod = (win << (ones + 1)) >> (64 - nb);
            dod -= (uint64_t)(dod > 1ull << (nb - 1)) << nb; /* sign, without a branch */
            used = ones + 1 + nb;
        }
    }
    uint64_t d = s->d + dod;
    int64_t tn = (int64_t)((uint64_t)s->t + d);
    if (BITS_UNLIKELY(tn <= s->t)) return CAIRN_ECORRUPT;
    s->t = tn;
    s->d = d;
    r->pos += used;
    if (gor_get_value(s, r, win << used, 57 - used)) return CAIRN_ECORRUPT;
    if (BITS_UNLIKELY(bits_r_overflow(r))) return CAIRN_ECORRUPT;
    return CAIRN_OK;
}

int gor_get(gor_state *s, bits_r *r, int64_t *t, uint64_t *v)
{
    if (BITS_LIKELY(s->n >= 2)) {
        if (gor_step(s, r)) return CAIRN_ECORRUPT;
    } else if (s->n == 1) {
        uint64_t d;
        if (bits_get_uvarint(r, &d)) return CAIRN_ECORRUPT;
        int64_t tn = (int64_t)((uint64_t)s->t + d);
        if (tn <= s->t) return CAIRN_ECORRUPT;
        s->t = tn;
        s->d = d;
        if (gor_get_value(s, r, bits_peek(r), 57)) return CAIRN_ECORRUPT;
        if (bits_r_overflow(r)) return CAIRN_ECORRUPT;
    } else {
        if (bits_get_varint(r, &s->t)) return CAIRN_ECORRUPT;
        s->v = bits_get(r, 64);
        if (bits_r_overflow(r)) return CAIRN_ECORRUPT;
    }
    s->n++;
    *t = s->t;
    *v = s->v;
    return CAIRN_OK;
}

/*
 * The batch form: the state lives in locals (registers) for the whole loop
 * instead of going through memory once per sample, which shortens the
 * dependency chain pos -> load -> pos that bounds decoding speed.
 */
int gor_get_n(gor_state *s, bits_r *r, int64_t *t, double *v, uint32_t max, uint32_t *got)
{
    uint32_t i = 0;
    for (; i < max && s->n < 2; i++) {
        uint64_t b;
        if (gor_get(s, r, &t[i], &b)) goto fail;
        memcpy(&v[i], &b, 8);
    }
    gor_state st = *s;
    bits_r rr = *r;
    for (; i < max; i++) {
        if (BITS_UNLIKELY(gor_step(&st, &rr))) {
            *s = st;
            *r = rr;
            goto fail;
        }
        t[i] = st.t;
        memcpy(&v[i], &st.v, 8);
        st.n++;
    }
    *s = st;
    *r = rr;
    *got = i;
    return CAIRN_OK;
fail:
    *got = i;
    return CAIRN_ECORRUPT;
}
