/*
 * ws — the server side of RFC 6455 (WebSocket) that cairn's live tail
 * needs: the opening handshake's Sec-WebSocket-Accept (with our own SHA-1
 * and base64, so no new dependency), frame headers for the messages we
 * send, and an incremental parser for the frames a client sends.
 *
 * Contract: pure functions over caller memory; no sockets, no allocation.
 * The socket loop lives with the endpoint (api/loki_tail.c). The wire
 * format is described in docs/api.md ("Live tail").
 * Threads: no state; safe anywhere.
 */
#ifndef CAIRN_WS_H
#define CAIRN_WS_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

/* SHA-1 (FIPS 180-4) of data[0..n) into out. */
void ws_sha1(const void *data, size_t n, uint8_t out[20]);
/* Standard base64 with padding of src[0..n) into dst (4 * ceil(n / 3) bytes + NUL). Returns the length. */
size_t ws_base64(const uint8_t *src, size_t n, char *dst, size_t cap);

/*
 * Check the headers of an opening handshake (any may be NULL when absent)
 * and compute Sec-WebSocket-Accept = base64(SHA-1(key + RFC 6455 GUID)).
 * @return 0 (accept filled, 28 characters + NUL), or the HTTP status to
 *         answer with a message in err: 400 (not an upgrade to websocket,
 *         missing or malformed key), 426 (Sec-WebSocket-Version is not 13;
 *         answer with "Sec-WebSocket-Version: 13").
 */
unsigned ws_handshake(const char *upgrade, const char *connection, const char *key, const char *version,
                      char accept[29], cairn_err *err);

enum { WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xA };

/* Header of an unmasked, final server frame of `opcode` and `len` payload bytes; returns its size (2, 4 or 10). */
size_t ws_frame_header(uint8_t hdr[10], int opcode, uint64_t len);

/* A parsed client frame. The payload is unmasked in place. */
typedef struct ws_frame {
    int fin, opcode;
    uint8_t *payload; /* points into the caller's buffer */
    size_t len;
} ws_frame;

/*
 * Parse one frame from buf[0..n) and unmask its payload in place.
 * @return the frame's total size (> 0), 0 when more bytes are needed, or
 *         -1 for a protocol error (err says which: an unmasked client frame,
 *         reserved bits, an unknown opcode, a fragmented or oversized
 *         control frame, a payload above max_payload).
 */
long ws_parse(uint8_t *buf, size_t n, size_t max_payload, ws_frame *f, cairn_err *err);
#endif
