/*
 * fuzz_ws — the WebSocket frame parser of the Loki tail endpoint (base/ws.c).
 *
 * 1. Arbitrary bytes are parsed frame after frame, as the tail connection
 *    reads them: every result must be -1 (protocol error, with a message),
 *    0 (need more bytes) or a size within the bytes given, and the payload
 *    view must lie inside the buffer.
 * 2. Round trip: the input becomes one masked client frame built here
 *    (opcode and mask from the first bytes, the rest as payload); parsing it
 *    must give back that opcode and payload exactly, and any prefix of it
 *    must ask for more bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    size_t off = 0;
    while (off < size) {
        ws_frame f;
        cairn_err e;
        long r = ws_parse(buf + off, size - off, 1 << 20, &f, &e);
        if (r < 0) {
            if (!e.msg[0]) abort(); /* an error always says what */
            break;
        }
        if (r == 0) break;
        if ((size_t)r > size - off) abort();
        if (f.len && (f.payload < buf + off || f.payload + f.len > buf + off + (size_t)r)) abort();
        off += (size_t)r;
    }
    free(buf);

    /* round trip: a masked client frame around the input */
    if (size < 5) return 0;
    static const int ops[] = {1, 2, 8, 9, 10};
    int opcode = ops[data[0] % 5];
    size_t plen = size - 5;
    if (opcode >= 8 && plen > 125) plen = 125; /* control frames are short */
    uint8_t *fr = malloc(plen + 14);
    if (!fr) return 0;
    size_t h = 0;
    fr[h++] = (uint8_t)(0x80 | opcode);
    if (plen < 126) {
        fr[h++] = (uint8_t)(0x80 | plen);
    } else if (plen < 65536) {
        fr[h++] = 0x80 | 126;
        fr[h++] = (uint8_t)(plen >> 8);
        fr[h++] = (uint8_t)plen;
    } else {
        fr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) fr[h++] = (uint8_t)((uint64_t)plen >> (8 * i));
    }
    const uint8_t *mask = data + 1;
    memcpy(fr + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < plen; i++) fr[h + i] = data[5 + i] ^ mask[i & 3];
    ws_frame f;
    cairn_err e;
    for (size_t cut = 0; cut < h + plen; cut += 1 + (h + plen) / 7)
        if (ws_parse(fr, cut, 1 << 20, &f, &e) != 0) abort(); /* a prefix needs more bytes */
    long r = ws_parse(fr, h + plen, 1 << 20, &f, &e);
    if (r != (long)(h + plen) || f.opcode != opcode || !f.fin || f.len != plen) abort();
    if (plen && memcmp(f.payload, data + 5, plen) != 0) abort();
    free(fr);
    return 0;
}
