/*
 * auth.c — basic auth and bearer tokens in front of cairn's routes.
 *
 * cairn usually runs on 127.0.0.1 behind Grafana's data-source proxy, which
 * can add basic auth or a custom Authorization header; --auth-file makes the
 * server insist on one. Reads and writes are separate classes because the
 * people who may look at dashboards are rarely the machines that may push:
 * a log shipper gets a write token, Grafana a read user, and a leaked
 * Grafana credential cannot inject data.
 *
 * File format (docs/api.md, "Authentication"): one credential per line,
 * `<read|write|any> basic <user>:<password>` or `<read|write|any> bearer
 * <token>`; '#' starts a comment line; blank lines are ignored. The password
 * and token run to the end of the line (trailing blanks trimmed) and may
 * contain spaces and colons; user names may not contain ':' (basic auth
 * splits at the first one).
 *
 * Fail closed. An auth file protects every path but the probes, whatever
 * classes it names: a file with only `read` lines leaves the write paths
 * closed to everyone (there is no credential that opens them), never open.
 * Earlier versions left a class without lines open, so a file meant to
 * protect queries silently left ingest public. A file with no credential
 * at all (empty, or only comments) is refused at start (CAIRN_EINVAL): it
 * is either a mistake or a wish to close everything, and in both cases
 * serving is wrong. A credential opens only the paths of its classes; `any`
 * opens both. The server logs one line at start saying what is protected
 * (auth_describe).
 *
 * Why wrap routes instead of checking in each handler: the write handlers
 * belong to push_api.c and the query handlers to prom_api.c and loki_api.c;
 * a wrapper installed once over the finished routing table covers them all,
 * including routes added later, and cannot be forgotten by a new handler.
 * The probes (/-/healthy, /-/ready, /ready) stay open for orchestrators.
 *
 * Comparison: every credential of the class is compared in full with a
 * constant-time loop, so timing does not tell how much of a guess matched.
 * Threads: the credential list and the wrappers are read-only after start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "err.h"
#include "http.h"
#include "mem.h"

struct auth_wrap {
    route_fn fn;
    void *ctx;
    const auth *a;
    unsigned cls;
};

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int auth_parse(auth *a, const char *text, size_t n, cairn_err *err)
{
    memset(a, 0, sizeof *a);
    int line = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && text[j] != '\n') j++;
        line++;
        const char *p = text + i, *end = text + j, *ls = text + i;
        i = j + 1;
        while (p < end && is_blank(*p)) p++;
        while (end > p && is_blank(end[-1])) end--;
        if (p == end || *p == '#') continue;
        const char *w[2];
        size_t wl[2];
        for (int k = 0; k < 2; k++) {
            w[k] = p;
            while (p < end && !is_blank(*p)) p++;
            wl[k] = (size_t)(p - w[k]);
            while (p < end && is_blank(*p)) p++;
        }
        unsigned cls;
        if (wl[0] == 4 && !memcmp(w[0], "read", 4)) cls = AUTH_READ;
        else if (wl[0] == 5 && !memcmp(w[0], "write", 5)) cls = AUTH_WRITE;
        else if (wl[0] == 3 && !memcmp(w[0], "any", 3)) cls = AUTH_READ | AUTH_WRITE;
        else return err_parse(err, line, 1, "auth file line %d: expected read, write or any, got \"%.*s\"", line,
                              (int)(wl[0] > 40 ? 40 : wl[0]), w[0]);
        int bearer;
        if (wl[1] == 5 && !memcmp(w[1], "basic", 5)) bearer = 0;
        else if (wl[1] == 6 && !memcmp(w[1], "bearer", 6)) bearer = 1;
        else return err_parse(err, line, (int)(w[1] - ls) + 1, "auth file line %d: expected basic or bearer, got \"%.*s\"", line,
                              (int)(wl[1] > 40 ? 40 : wl[1]), w[1]);
        size_t sl = (size_t)(end - p);
        if (!sl) return err_parse(err, line, 1, "auth file line %d: missing %s", line, bearer ? "token" : "user:password");
        if (!bearer) {
            const char *colon = memchr(p, ':', sl);
            if (!colon || colon == p)
                return err_parse(err, line, 1, "auth file line %d: basic credentials must be user:password", line);
        }
        if (a->n == a->cap) {
            size_t nc = a->cap ? a->cap * 2 : 8;
            auth_cred *nv = mem_realloc(a->v, a->cap * sizeof *nv, nc * sizeof *nv);
            if (!nv) return err_set(err, CAIRN_ENOMEM, "out of memory reading the auth file");
            a->v = nv, a->cap = nc;
        }
        char *s = mem_strndup(p, sl);
        if (!s) return err_set(err, CAIRN_ENOMEM, "out of memory reading the auth file");
        a->v[a->n++] = (auth_cred){cls, bearer, s, sl};
    }
    if (!a->n)
        return err_set(err, CAIRN_EINVAL,
                       "the auth file has no credentials (only blank or comment lines): refusing to start; "
                       "add read/write/any lines, or drop --auth-file to serve without authentication");
    a->protected_classes = AUTH_READ | AUTH_WRITE; /* fail closed: every class, named or not */
    return CAIRN_OK;
}

int auth_load(auth *a, const char *path_z, cairn_err *err)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path_z, "rb");
    if (!f) return err_sys(err, errno, "cannot open auth file %s: %s", path_z, strerror(errno));
    char *text = NULL;
    size_t n = 0, cap = 0;
    char tmp[4096];
    size_t got;
    int rc = CAIRN_OK;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (n + got > cap) {
            size_t nc = (n + got) * 2;
            char *nt = mem_realloc(text, cap, nc);
            if (!nt) {
                rc = err_set(err, CAIRN_ENOMEM, "out of memory reading %s", path_z);
                break;
            }
            text = nt, cap = nc;
        }
        memcpy(text + n, tmp, got);
        n += got;
    }
    if (!rc && ferror(f)) rc = err_sys(err, EIO, "cannot read auth file %s", path_z);
    fclose(f);
    if (!rc) {
        rc = auth_parse(a, text ? text : "", n, err);
        if (rc == CAIRN_EINVAL) { /* name the file in the message */
            char m[sizeof err->msg];
            snprintf(m, sizeof m, "%s", err ? err->msg : "");
            err_set(err, rc, "%s: %s", path_z, m);
        }
    }
    mem_free(text, cap);
    return rc;
}

void auth_free(auth *a)
{
    for (size_t i = 0; i < a->n; i++) mem_free(a->v[i].secret, a->v[i].len + 1);
    mem_free(a->v, a->cap * sizeof *a->v);
    mem_free(a->wraps, a->n_wraps * sizeof *a->wraps);
    memset(a, 0, sizeof *a);
}

/* Constant-time equality of two byte strings (time depends only on the lengths). */
static int ct_equal(const char *x, size_t xn, const char *y, size_t yn)
{
    unsigned char d = xn != yn;
    size_t n = xn < yn ? xn : yn;
    for (size_t i = 0; i < n; i++) d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decode standard base64 (padding optional); returns the length or -1. */
static long b64_decode(const char *s, char *dst, size_t cap)
{
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = b64v((unsigned char)*s);
        if (v < 0) return -1;
        acc = acc << 6 | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap) return -1;
            dst[o++] = (char)(acc >> bits & 0xff);
        }
    }
    return (long)o;
}

int auth_check(const auth *a, unsigned cls, const char *h)
{
    if (!cls || !a->protected_classes) return 1; /* a probe, or no --auth-file */
    if (!h) return 0;
    while (*h == ' ') h++;
    int bearer;
    if (!strncasecmp(h, "Bearer ", 7)) bearer = 1, h += 7;
    else if (!strncasecmp(h, "Basic ", 6)) bearer = 0, h += 6;
    else return 0;
    while (*h == ' ') h++;
    char dec[1024];
    const char *cand = h;
    size_t cn = strlen(h);
    while (cn && h[cn - 1] == ' ') cn--;
    if (!bearer) {
        long l = b64_decode(h, dec, sizeof dec);
        if (l < 0) return 0;
        cand = dec, cn = (size_t)l;
    }
    int ok = 0;
    for (size_t i = 0; i < a->n; i++)
        if ((a->v[i].classes & cls) && a->v[i].bearer == bearer) ok |= ct_equal(a->v[i].secret, a->v[i].len, cand, cn);
    return ok;
}

unsigned auth_route_class(const route *r)
{
    if (!strcmp(r->path, "/-/healthy") || !strcmp(r->path, "/-/ready") || !strcmp(r->path, "/ready")) return 0;
    return (r->methods & ROUTE_GET) ? AUTH_READ : AUTH_WRITE;
}

static void h_auth(http_req *r, void *ctx)
{
    const auth_wrap *w = ctx;
    if (!auth_check(w->a, w->cls, http_header(r, "Authorization"))) {
        http_set_header(r, "WWW-Authenticate", "Basic realm=\"cairn\"");
        http_respond_text(r, 401, "unauthorized: this %s endpoint needs credentials (see --auth-file)",
                          w->cls == AUTH_WRITE ? "write" : "read");
        return;
    }
    w->fn(r, w->ctx);
}

void auth_describe(const auth *a, char *dst, size_t cap)
{
    if (!a->protected_classes) {
        snprintf(dst, cap, "no --auth-file: every path is open to anyone who can connect");
        return;
    }
    size_t nb[2] = {0, 0}, nt[2] = {0, 0}; /* [read, write]: basic, bearer */
    for (size_t i = 0; i < a->n; i++)
        for (int k = 0; k < 2; k++)
            if (a->v[i].classes & (k ? AUTH_WRITE : AUTH_READ)) (a->v[i].bearer ? nt : nb)[k]++;
    char part[2][96];
    for (int k = 0; k < 2; k++) {
        if (nb[k] + nt[k]) snprintf(part[k], sizeof part[k], "%zu basic, %zu bearer", nb[k], nt[k]);
        else snprintf(part[k], sizeof part[k], "no credential: closed to everyone");
    }
    snprintf(dst, cap,
             "every path needs credentials except /-/healthy, /-/ready, /ready; read paths (GET): %s; "
             "write paths (ingest): %s",
             part[0], part[1]);
}

int auth_wrap_routes(auth *a, route_table *t)
{
    if (!a->protected_classes || !t->n) return CAIRN_OK;
    a->wraps = mem_calloc(t->n, sizeof *a->wraps);
    if (!a->wraps) return CAIRN_ENOMEM;
    a->n_wraps = t->n;
    for (size_t i = 0; i < t->n; i++) {
        route *r = &t->v[i];
        unsigned cls = auth_route_class(r);
        if (!cls) continue;
        a->wraps[i] = (auth_wrap){r->fn, r->ctx, a, cls};
        r->fn = h_auth;
        r->ctx = &a->wraps[i];
    }
    return CAIRN_OK;
}
