/*
 * bench_wire.h — what the HTTP load generators (bench_http_ingest.c,
 * compare_load.c) share: a growable byte buffer with a protobuf writer for
 * building remote_write and Loki push bodies, snappy framing of a body, a
 * keep-alive client socket to 127.0.0.1, and the CPU time of the server
 * process under test. Header-only, static functions, like bench_util.h.
 */
#ifndef CAIRN_BENCH_WIRE_H
#define CAIRN_BENCH_WIRE_H
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct bbuf {
    uint8_t *p;
    size_t len, cap;
} bbuf;

static inline void bb_put(bbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->len + n) nc *= 2;
        b->p = realloc(b->p, nc);
        if (!b->p) abort();
        b->cap = nc;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void bb_varint(bbuf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) t[n++] = (uint8_t)(v | 0x80), v >>= 7;
    t[n++] = (uint8_t)v;
    bb_put(b, t, n);
}

/* Protobuf field key, length-delimited field, nested message. */
static inline void bb_key(bbuf *b, int field, int wire) { bb_varint(b, (uint64_t)(field << 3 | wire)); }
static inline void bb_bytes(bbuf *b, int field, const void *p, size_t n)
{
    bb_key(b, field, 2);
    bb_varint(b, n);
    bb_put(b, p, n);
}
static inline void bb_msg(bbuf *b, int field, const bbuf *m) { bb_bytes(b, field, m->p, m->len); }

/* Snappy block format of raw into out (out's memory is reused or grown; zero-initialise it first). */
static inline void bb_snappy(const bbuf *raw, bbuf *out)
{
    size_t cap = snappy_max_compressed_length(raw->len);
    if (out->cap < cap) {
        out->p = realloc(out->p, cap);
        if (!out->p) abort();
        out->cap = cap;
    }
    out->len = cap;
    if (snappy_compress((const char *)raw->p, raw->len, (char *)out->p, &out->len) != SNAPPY_OK) abort();
}

/* A TCP connection to 127.0.0.1:port with Nagle off and a 60 s receive
 * timeout (a hung server fails the run instead of hanging it); -1 on failure. */
static inline int bench_conn_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static inline int bench_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        c += w, n -= (size_t)w;
    }
    return 0;
}

/* utime + stime of process pid in seconds, from /proc/pid/stat; -1 if unknown. */
static inline double bench_proc_cpu_s(long pid)
{
    if (pid <= 0) return -1;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')'); /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
#endif
