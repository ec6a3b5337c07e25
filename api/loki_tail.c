/*
 * loki_tail.c — GET /loki/api/v1/tail: Loki's live tail over a WebSocket,
 * as Grafana's Explore "Live" mode opens it (api-contract B.5.7).
 *
 * The request is checked like any Loki query (a log query; delay_for 0..5
 * seconds; limit 1..max; start, default now - 1 h) and answered with plain
 * text 400 when wrong, before any upgrade; then the RFC 6455 handshake
 * (base/ws.c) and a 101, after which the connection belongs to one thread
 * that http.c started for it. At most http_opts.max_upgrades tails run at
 * once (16 by default); beyond that the answer is 429 with Retry-After.
 *
 * What the client receives: text messages
 *   {"streams":[{"stream":{…},"values":[["<ns>","<line>"],…]}],"dropped_entries":null}
 * first the newest `limit` entries of [start, now - delay_for) (oldest
 * first, as Loki's tailer replays history), then, about once a second, the
 * entries that appeared since. With X-Loki-Response-Encoding-Flags:
 * categorize-labels the message starts with "encodingFlags" and values are
 * 3-tuples, exactly as in query_range.
 *
 * Why polling and not a push from the ingest path: the engine knows nothing
 * of queries (style.md §1), a tail is one more reader, and a poll is an
 * ordinary LogQL log query over a short window, pipeline and all. Loki
 * tails by arrival; a poll sees entries by timestamp, so an entry is only
 * found when its timestamp is inside the window scanned. The window
 * therefore reaches back LTAIL_LATE_NS (10 s) plus delay_for behind the
 * newest bound already scanned, and a set of what was sent (hashes of
 * timestamp, labels and line for entries still inside that window) keeps
 * repeats out. An entry that arrives more than 10 s + delay_for after its
 * own timestamp is not tailed (docs/api.md says so; query_range finds it).
 * Entries older than the history batch's oldest entry are never sent, so
 * the history and the live part do not overlap.
 *
 * One poll reads at most LTAIL_MAX_POLL entries (forward from the window's
 * start); when it is full the next poll starts at its last timestamp at
 * once, without waiting, so a busy stream is followed at the speed of the
 * query rather than skipped. Nothing is dropped, so dropped_entries is null.
 *
 * Socket loop: poll(2) on the socket and the server's stop eventfd with a
 * timeout up to the next poll. Client frames: close is answered with a
 * close echoing its code and ends the tail; ping gets a pong; data frames
 * are read and ignored; a protocol error gets close 1002. Server shutdown
 * sends close 1001 ("going away"); a failing query sends close 1011 with
 * the message (as Loki does). Sends block for at most 5 s (SO_SNDTIMEO set
 * by http.c); a client that stops reading is then dropped.
 *
 * Memory: the parsed query lives in the tail's arena for its whole life;
 * every poll has its own arena, freed after its message is sent. The sent
 * set is a mem_ open-addressing table, rebuilt when the window moves.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "arena.h"
#include "err.h"
#include "logeval.h"
#include "loki_api.h"
#include "loki_int.h"
#include "mem.h"
#include "parse.h"
#include "ws.h"

#define LTAIL_LATE_NS (10LL * 1000000000LL)
#define LTAIL_MAX_POLL 5000u
#define LTAIL_POLL_MS 1000
#define LTAIL_MAX_DELAY_S 5
#define LTAIL_QUERY_TIMEOUT_MS 10000

/* ==== the sent set ====================================================================== */

typedef struct seen_slot {
    uint64_t key; /* 0 = empty */
    int64_t t;
} seen_slot;

typedef struct seen_set {
    seen_slot *v;
    size_t cap, n; /* cap is a power of two */
} seen_set;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb93fe53a4e63ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t entry_key(val_lset ls, int64_t t, const char *line, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)line[i]) * 0x100000001b3ULL;
    h = mix(h ^ mix(val_lset_hash(ls)) ^ mix((uint64_t)t));
    return h ? h : 1;
}

static int seen_grow(seen_set *s, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2) cap *= 2;
    seen_slot *v = mem_calloc(cap, sizeof *v);
    if (!v) return CAIRN_ENOMEM;
    seen_set ns = {v, cap, 0};
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->v[i].key) continue;
        size_t j = s->v[i].key & (cap - 1);
        while (ns.v[j].key) j = (j + 1) & (cap - 1);
        ns.v[j] = s->v[i];
        ns.n++;
    }
    mem_free(s->v, s->cap * sizeof *s->v);
    *s = ns;
    return CAIRN_OK;
}

/* 1 if key was there; else inserts it (0) or fails (CAIRN_ENOMEM). */
static int seen_add(seen_set *s, uint64_t key, int64_t t)
{
    if ((s->n + 1) * 2 > s->cap && seen_grow(s, s->n + 1)) return CAIRN_ENOMEM;
    size_t j = key & (s->cap - 1);
    while (s->v[j].key) {
        if (s->v[j].key == key) return 1;
        j = (j + 1) & (s->cap - 1);
    }
    s->v[j].key = key;
    s->v[j].t = t;
    s->n++;
    return 0;
}

/* Forget entries older than t (rebuilds the table). */
static int seen_prune(seen_set *s, int64_t t)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->cap; i++) keep += s->v[i].key && s->v[i].t >= t;
    if (keep == s->n) return CAIRN_OK;
    for (size_t i = 0; i < s->cap; i++)
        if (s->v[i].key && s->v[i].t < t) s->v[i].key = 0;
    s->n = keep;
    seen_set old = *s;
    memset(s, 0, sizeof *s);
    int rc = seen_grow(s, keep ? keep : 1);
    if (rc) {
        *s = old; /* still correct, just holes in the probe chains: rebuild next time */
        return rc;
    }
    for (size_t i = 0; i < old.cap; i++)
        if (old.v[i].key) seen_add(s, old.v[i].key, old.v[i].t);
    mem_free(old.v, old.cap * sizeof *old.v);
    return CAIRN_OK;
}

/* ==== one tail ============================================================================ */

typedef struct tail {
    papi_ctx *c;
    cairn_db *db;
    arena *ar; /* the query text and its AST, for the tail's life */
    const ast_node *root;
    int64_t start_ns, delay_ns;
    uint32_t limit;
    int cat;
    /* state */
    http_upgraded *u;
    int fd;
    seen_set seen;
    int64_t floor;     /* entries older than this are never sent */
    int64_t scan_from; /* the next poll's window starts here */
    uint8_t rbuf[4096 + 256];
    size_t rlen;
} tail;

static void tail_free(void *p)
{
    tail *t = p;
    if (!t) return;
    mem_free(t->seen.v, t->seen.cap * sizeof *t->seen.v);
    arena_free(t->ar);
    mem_free(t, sizeof *t);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Send one frame; 0 or -1 when the client is gone or too slow. */
static int send_frame(tail *t, int opcode, const void *p, size_t n)
{
    uint8_t h[10];
    size_t hl = ws_frame_header(h, opcode, n);
    struct iovec iov[2] = {{h, hl}, {(void *)p, n}};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = n ? 2 : 1;
    size_t left = hl + n;
    while (left) {
        ssize_t k = sendmsg(t->fd, &m, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        left -= (size_t)k;
        while (k > 0 && m.msg_iovlen) {
            if ((size_t)k >= m.msg_iov[0].iov_len) {
                k -= (ssize_t)m.msg_iov[0].iov_len;
                m.msg_iov++;
                m.msg_iovlen--;
            } else {
                m.msg_iov[0].iov_base = (uint8_t *)m.msg_iov[0].iov_base + k;
                m.msg_iov[0].iov_len -= (size_t)k;
                k = 0;
            }
        }
    }
    return 0;
}

static void send_close(tail *t, unsigned code, const char *why)
{
    uint8_t p[125];
    size_t wl = why ? strlen(why) : 0;
    if (wl > sizeof p - 2) wl = sizeof p - 2;
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    if (wl) memcpy(p + 2, why, wl);
    send_frame(t, WS_CLOSE, p, 2 + wl);
}

/*
 * Run the query over [lo, hi) in `dir`, keep entries at or above the floor
 * not sent yet, send them (oldest first) as one message. *n_read gets how
 * many entries the query returned, *last_t the newest timestamp among them
 * (forward) or the oldest (backward). @return CAIRN_OK, -1 (client gone),
 * or a query error (message in e).
 */
static int tail_poll(tail *t, int64_t lo, int64_t hi, uint32_t limit, int dir, size_t *n_read, int64_t *last_t,
                     cairn_err *e)
{
    *n_read = 0;
    if (hi <= lo) return CAIRN_OK;
    arena *ar = arena_new(0);
    if (!ar) return err_set(e, CAIRN_ENOMEM, "out of memory");
    leval_params prm;
    memset(&prm, 0, sizeof prm);
    prm.start_ns = lo;
    prm.end_ns = hi;
    prm.step_ns = 1;
    prm.limit = limit;
    prm.direction = dir;
    leval_opts o;
    leval_opts_default(&o);
    o.max_limit = 0;
    o.categorize = t->cat;
    o.timeout_ms = t->c->timeout_ms && t->c->timeout_ms < LTAIL_QUERY_TIMEOUT_MS ? t->c->timeout_ms
                                                                                 : LTAIL_QUERY_TIMEOUT_MS;
    if (t->c->max_samples) o.max_entries = t->c->max_samples;
    leval_result res;
    int rc = leval_eval(ar, t->db, t->root, &prm, &o, &res, e);
    if (rc) goto out;
    size_t total = 0;
    for (size_t i = 0; i < res.n_streams; i++) total += res.streams[i].n;
    *n_read = total;
    size_t np = 0;
    int64_t edge = dir == CAIRN_FORWARD ? INT64_MIN : INT64_MAX;
    for (size_t i = 0; i < res.n_streams; i++) {
        leval_stream *s = &res.streams[i];
        size_t w = 0;
        for (size_t k = 0; k < s->n; k++) {
            int64_t ts = s->e[k].t_ns;
            if (dir == CAIRN_FORWARD ? ts > edge : ts < edge) edge = ts;
            if (ts < t->floor) continue;
            int r = seen_add(&t->seen, entry_key(s->ls, ts, s->e[k].line, s->e[k].len), ts);
            if (r < 0) {
                rc = err_set(e, CAIRN_ENOMEM, "out of memory");
                goto out;
            }
            if (r == 1) continue;
            s->e[w++] = s->e[k];
        }
        s->n = w;
        /* oldest first within each stream, as Loki's tailer sends them */
        if (dir != CAIRN_FORWARD)
            for (size_t a = 0, b = w; a + 1 < b; a++, b--) {
                leval_entry x = s->e[a];
                s->e[a] = s->e[b - 1];
                s->e[b - 1] = x;
            }
        np += w;
    }
    *last_t = edge;
    if (!np) goto out;
    /* drop streams that lost every entry */
    size_t ks = 0;
    for (size_t i = 0; i < res.n_streams; i++)
        if (res.streams[i].n) res.streams[ks++] = res.streams[i];
    res.n_streams = ks;
    jw w;
    jw_init(&w, 512 + np * 96);
    jw_obj(&w);
    if (t->cat) {
        jw_key(&w, "encodingFlags");
        jw_arr(&w);
        jw_str_z(&w, "categorize-labels");
        jw_arr_end(&w);
    }
    jw_key(&w, "streams");
    rc = lapi_write_streams(&w, ar, &res, t->cat, 0, e);
    jw_key(&w, "dropped_entries");
    jw_null(&w);
    jw_obj_end(&w);
    if (!rc && jw_error(&w)) rc = err_set(e, CAIRN_ENOMEM, "out of memory");
    if (!rc && send_frame(t, WS_TEXT, w.b.p, w.b.len)) rc = -1;
    jw_free(&w);
out:
    arena_free(ar);
    return rc;
}

/* Act on the complete client frames in rbuf. 0 = carry on, 1 = the tail is over. */
static int tail_frames(tail *t)
{
    for (;;) {
        ws_frame f;
        cairn_err e;
        long n = ws_parse(t->rbuf, t->rlen, sizeof t->rbuf - 14, &f, &e);
        if (n < 0) {
            send_close(t, e.code == CAIRN_ELIMIT ? 1009 : 1002, e.msg);
            return 1;
        }
        if (n == 0) return 0;
        if (f.opcode == WS_CLOSE) {
            /* echo the status code (none when the client gave none) and finish */
            send_frame(t, WS_CLOSE, f.payload, f.len >= 2 ? 2 : 0);
            return 1;
        }
        if (f.opcode == WS_PING && send_frame(t, WS_PONG, f.payload, f.len)) return 1;
        memmove(t->rbuf, t->rbuf + n, t->rlen - (size_t)n);
        t->rlen -= (size_t)n;
    }
}

/* Read what the client sent and act on it. 0 = carry on, 1 = the tail is over. */
static int tail_read(tail *t)
{
    if (t->rlen == sizeof t->rbuf) { /* a frame too large to hold; ws_parse bounds payloads below this */
        send_close(t, 1009, "message too big");
        return 1;
    }
    ssize_t k = recv(t->fd, t->rbuf + t->rlen, sizeof t->rbuf - t->rlen, MSG_DONTWAIT);
    if (k == 0) return 1;
    if (k < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
    t->rlen += (size_t)k;
    return tail_frames(t);
}

static void tail_run(http_upgraded *u, void *ctx)
{
    tail *t = ctx;
    t->u = u;
    t->fd = http_upgraded_fd(u);
    size_t xl;
    const uint8_t *x = http_upgraded_extra(u, &xl);
    if (xl) {
        if (xl > sizeof t->rbuf) xl = sizeof t->rbuf;
        memcpy(t->rbuf, x, xl);
        t->rlen = xl;
        if (tail_frames(t)) return;
    }
    cairn_err e;
    size_t n;
    int64_t last;
    /* history: the newest `limit` entries, sent oldest first */
    int64_t end = now_ns() - t->delay_ns;
    int rc = tail_poll(t, t->start_ns, end, t->limit, CAIRN_BACKWARD, &n, &last, &e);
    if (rc == -1) return;
    if (rc) {
        send_close(t, 1011, e.msg);
        return;
    }
    t->floor = n >= t->limit ? last : t->start_ns;
    t->scan_from = end - LTAIL_LATE_NS;
    int64_t next_poll = now_ns() + (int64_t)LTAIL_POLL_MS * 1000000;
    for (;;) {
        int64_t wait_ns = next_poll - now_ns();
        int w = http_upgraded_wait(u, wait_ns > 0 ? (int)(wait_ns / 1000000) + 1 : 0);
        if (w < 0) {
            send_close(t, 1001, "server shutting down");
            return;
        }
        if (w == 1 && tail_read(t)) return;
        if (now_ns() < next_poll) continue;
        end = now_ns() - t->delay_ns;
        int64_t lo = t->scan_from > t->floor ? t->scan_from : t->floor;
        rc = tail_poll(t, lo, end, LTAIL_MAX_POLL, CAIRN_FORWARD, &n, &last, &e);
        if (rc == -1) return;
        if (rc) {
            send_close(t, 1011, e.msg);
            return;
        }
        if (n >= LTAIL_MAX_POLL) {
            /* behind: continue from the last timestamp read, right away */
            t->scan_from = last > lo ? last : lo + 1;
            next_poll = now_ns();
        } else {
            t->scan_from = end - LTAIL_LATE_NS - t->delay_ns;
            next_poll += (int64_t)LTAIL_POLL_MS * 1000000;
            if (next_poll < now_ns()) next_poll = now_ns() + (int64_t)LTAIL_POLL_MS * 1000000;
        }
        if (seen_prune(&t->seen, t->scan_from > t->floor ? t->scan_from : t->floor)) {
            send_close(t, 1011, "out of memory");
            return;
        }
    }
}

/* ==== the handler ============================================================================ */

void ltail_handle(papi_ctx *c, http_req *r)
{
    papi_req q;
    tail *t = NULL;
    if (papi_req_init(&q, r)) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    const char *text = papi_arg(&q, "query"), *s;
    if (!text) {
        http_respond_text(r, 400, "query parameter is required");
        goto out;
    }
    uint64_t delay = 0, limit = 100;
    if ((s = papi_arg(&q, "delay_for")) && papi_parse_uint(s, &delay)) {
        http_respond_text(r, 400, "invalid delay_for: cannot parse \"%.100s\"", s);
        goto out;
    }
    if (delay > LTAIL_MAX_DELAY_S) {
        http_respond_text(r, 400, "delay_for can't be greater than %d", LTAIL_MAX_DELAY_S);
        goto out;
    }
    if ((s = papi_arg(&q, "limit")) && (papi_parse_uint(s, &limit) || !limit)) {
        http_respond_text(r, 400, "limit must be a positive value");
        goto out;
    }
    unsigned max = c->max_loki_limit ? c->max_loki_limit : 5000;
    if (limit > max) {
        http_respond_text(r, 400,
                          "max entries limit per query exceeded, limit > max_entries_limit_per_query (%" PRIu64
                          " > %u)",
                          limit, max);
        goto out;
    }
    int64_t start = now_ns() - 3600LL * 1000000000;
    if ((s = papi_arg(&q, "start")) && lapi_parse_time(s, &start)) {
        http_respond_text(r, 400, "invalid start timestamp: cannot parse \"%.100s\"", s);
        goto out;
    }
    t = mem_calloc(1, sizeof *t);
    if (!t || !(t->ar = arena_new(0))) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    ast_node *root;
    cairn_err e;
    const char *qt = arena_strdup(t->ar, text, strlen(text));
    if (!qt) {
        http_respond_text(r, 500, "out of memory");
        goto out;
    }
    if (parse_query(t->ar, QLANG_LOGQL, qt, strlen(qt), &root, &e)) {
        http_respond_text(r, 400, "%s", e.msg);
        goto out;
    }
    if (!leval_is_log_query(root)) {
        http_respond_text(r, 400, "tail requires a log query (a stream selector and an optional pipeline), not a "
                                  "metric query");
        goto out;
    }
    char accept[29];
    unsigned st = ws_handshake(http_header(r, "Upgrade"), http_header(r, "Connection"),
                               http_header(r, "Sec-WebSocket-Key"), http_header(r, "Sec-WebSocket-Version"), accept,
                               &e);
    if (st) {
        if (st == 426) http_set_header(r, "Sec-WebSocket-Version", "13");
        http_respond_text(r, st, "%s", e.msg);
        goto out;
    }
    cairn_db *db = papi_db(c, r, 1);
    if (!db) goto out;
    t->c = c;
    t->db = db;
    t->root = root;
    t->start_ns = start;
    t->delay_ns = (int64_t)delay * 1000000000;
    t->limit = (uint32_t)limit;
    t->cat = lapi_has_flag(r, "categorize-labels");
    http_set_header(r, "Sec-WebSocket-Accept", accept);
    tail *tt = t;
    t = NULL; /* taken by http_respond_upgrade */
    int rc = http_respond_upgrade(r, "websocket", tail_run, tt, tail_free);
    if (rc == CAIRN_ELIMIT) {
        http_set_header(r, "Retry-After", "5");
        http_respond_text(r, 429, "too many live tails at once; close one and retry");
    }
out:
    tail_free(t);
    papi_req_free(&q);
}
