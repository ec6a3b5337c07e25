/*
 * ws.c — the pieces of RFC 6455 a WebSocket server needs, without a
 * library: SHA-1 and base64 for the handshake, frame headers for what we
 * send, and a bounded parser for what clients send.
 *
 * Why our own SHA-1: the handshake hashes one short string per connection,
 * and pulling in OpenSSL or nettle for that would add a dependency to every
 * build of cairn (style.md §8 keeps the list short). SHA-1's weakness to
 * collisions is irrelevant here: the accept value only proves the server
 * understood the WebSocket handshake (RFC 6455 §1.3), it protects nothing.
 * The implementation is the straightforward FIPS 180-4 one: 64-byte blocks,
 * an 80-word schedule, big-endian length padding. Tested against the FIPS
 * vectors ("abc", the 448-bit message, one million 'a') and RFC 6455's own
 * handshake example.
 *
 * Frames (RFC 6455 §5.2): byte 0 = FIN | RSV1-3 | opcode, byte 1 = MASK |
 * 7-bit length, then a 16- or 64-bit big-endian length when the 7 bits say
 * 126 or 127, then the 4-byte masking key if MASK, then the payload. Clients
 * must mask every frame and servers must not; we send only final, unmasked
 * frames. The parser is incremental (0 = need more bytes) so the socket
 * loop can append reads to one buffer and parse whatever is complete, and
 * it refuses what the RFC says to fail the connection on: unmasked client
 * frames, RSV bits without an extension, reserved opcodes, fragmented
 * control frames and control payloads over 125 bytes. Continuation frames
 * of data messages are accepted (and ignored by the tail, which reads
 * nothing but close and ping from its client).
 *
 * Invariants: no allocation, no I/O, no state. docs/api.md describes the
 * tail protocol built on top (api/loki_tail.c).
 */
#include "ws.h"

#include <string.h>
#include <strings.h>

#include "err.h"

/* ==== SHA-1 ===================================================================== */

static uint32_t rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else f = b ^ c ^ d, k = 0xCA62C1D6;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ws_sha1(const void *data, size_t n, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const uint8_t *p = data;
    size_t left = n;
    for (; left >= 64; left -= 64, p += 64) sha1_block(h, p);
    /* the tail: the rest, 0x80, zeros, and the bit length in the last 8 bytes (one or two blocks) */
    uint8_t last[128];
    memset(last, 0, sizeof last);
    if (left) memcpy(last, p, left);
    last[left] = 0x80;
    size_t blocks = left + 1 + 8 <= 64 ? 1 : 2;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++) last[blocks * 64 - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < blocks; i++) sha1_block(h, last + 64 * i);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(h[i] >> 8);
        out[4 * i + 3] = (uint8_t)h[i];
    }
}

/* ==== base64 ===================================================================== */

size_t ws_base64(const uint8_t *src, size_t n, char *dst, size_t cap)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (n + 2) / 3 * 4;
    if (cap < need + 1) {
        if (cap) dst[0] = 0;
        return 0;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)src[i] << 16;
        if (i + 1 < n) v |= (uint32_t)src[i + 1] << 8;
        if (i + 2 < n) v |= src[i + 2];
        dst[k++] = A[v >> 18 & 63];
        dst[k++] = A[v >> 12 & 63];
        dst[k++] = i + 1 < n ? A[v >> 6 & 63] : '=';
        dst[k++] = i + 2 < n ? A[v & 63] : '=';
    }
    dst[k] = 0;
    return k;
}

/* ==== handshake ==================================================================== */

/* Whether the comma-separated header value contains `tok` (case-insensitive). */
static int has_token(const char *h, const char *tok)
{
    size_t tl = strlen(tok);
    while (h && *h) {
        while (*h == ' ' || *h == '\t' || *h == ',') h++;
        const char *e = h;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > h && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if ((size_t)(t - h) == tl && !strncasecmp(h, tok, tl)) return 1;
        h = e;
    }
    return 0;
}

static int is_b64(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'; }

unsigned ws_handshake(const char *upgrade, const char *connection, const char *key, const char *version,
                      char accept[29], cairn_err *err)
{
    static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    accept[0] = 0;
    if (!upgrade || !has_token(upgrade, "websocket") || !connection || !has_token(connection, "upgrade"))
        return err_set(err, CAIRN_EINVAL,
                       "this endpoint speaks WebSocket only: send Connection: Upgrade and Upgrade: websocket"),
               400;
    if (!version || strcmp(version, "13"))
        return err_set(err, CAIRN_EINVAL, "unsupported Sec-WebSocket-Version %.20s: only 13 is supported",
                       version ? version : "(none)"),
               426;
    /* the key is 16 random bytes in base64: 22 characters and "==" */
    size_t kl = key ? strlen(key) : 0;
    int ok = kl == 24 && key[22] == '=' && key[23] == '=';
    for (size_t i = 0; ok && i < 22; i++) ok = is_b64(key[i]);
    if (!ok) return err_set(err, CAIRN_EINVAL, "missing or malformed Sec-WebSocket-Key"), 400;
    char cat[24 + sizeof GUID];
    memcpy(cat, key, 24);
    memcpy(cat + 24, GUID, sizeof GUID - 1);
    uint8_t d[20];
    ws_sha1(cat, 24 + sizeof GUID - 1, d);
    ws_base64(d, 20, accept, 29);
    return 0;
}

/* ==== frames ======================================================================== */

size_t ws_frame_header(uint8_t hdr[10], int opcode, uint64_t len)
{
    hdr[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        hdr[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(len >> 8);
        hdr[3] = (uint8_t)len;
        return 4;
    }
    hdr[1] = 127;
    for (int i = 0; i < 8; i++) hdr[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

long ws_parse(uint8_t *buf, size_t n, size_t max_payload, ws_frame *f, cairn_err *err)
{
    if (n < 2) return 0;
    int fin = buf[0] >> 7, rsv = (buf[0] >> 4) & 7, op = buf[0] & 0x0F, masked = buf[1] >> 7;
    uint64_t len = buf[1] & 0x7F;
    size_t h = 2;
    if (rsv) return err_set(err, CAIRN_EINVAL, "reserved bits set without an extension"), -1;
    if (!(op <= WS_BINARY || (op >= WS_CLOSE && op <= WS_PONG)))
        return err_set(err, CAIRN_EINVAL, "reserved opcode 0x%x", op), -1;
    if (op >= WS_CLOSE && (!fin || len > 125))
        return err_set(err, CAIRN_EINVAL, "control frames must be final and at most 125 bytes"), -1;
    if (!masked) return err_set(err, CAIRN_EINVAL, "client frames must be masked"), -1;
    if (len == 126) {
        if (n < 4) return 0;
        len = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++) len = len << 8 | buf[2 + i];
        h = 10;
    }
    if (len > max_payload)
        return err_set(err, CAIRN_ELIMIT, "frame of %llu bytes exceeds %zu", (unsigned long long)len, max_payload), -1;
    if (n < h + 4 + len) return 0;
    const uint8_t *mask = buf + h;
    uint8_t *p = buf + h + 4;
    for (size_t i = 0; i < len; i++) p[i] ^= mask[i & 3];
    f->fin = fin;
    f->opcode = op;
    f->payload = p;
    f->len = (size_t)len;
    return (long)(h + 4 + len);
}
