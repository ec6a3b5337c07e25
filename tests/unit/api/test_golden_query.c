/*
 * Golden query tests (issue 11): tests/golden/query/ holds two datasets
 * (metrics.prom, Prometheus text with timestamps; logs.json, a Loki push body)
 * and case files (promql.cases, logql.cases) of query, time range and the
 * expected `data` member of the HTTP answer. This runner opens a temporary
 * database (retention 0, no future bound, so the fixed 2024 timestamps are
 * accepted), loads both datasets with the ingest decoders the HTTP push
 * endpoints use, starts the real HTTP server on 127.0.0.1, sends each case
 * to /api/v1/query[_range] or /loki/api/v1/query[_range] and compares the
 * `data` member (without Loki's "stats", which holds timings) byte for byte.
 * One cmocka test per case. UPDATE=1 rewrites each case's `want:` line with
 * what the server answered (then review the diff). GOLDEN_DIR overrides the
 * directory (default tests/golden/query, relative to the repository root).
 * The format is described in tests/golden/query/README.md.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"

#include "cairn.h"
#include "http.h"
#include "ingest.h"
#include "loki_api.h"
#include "prom_api.h"
#include "push_api.h"
#include "routes.h"
#include "t_api.h"

#define GQ_T0_S 1705312800LL /* the datasets' base time, 2024-01-15T10:00:00Z */
#define GQ_NS 1000000000LL
#define GQ_MAX_BODY (1 << 20)

typedef struct gq_case {
    int logql;          /* 0 PromQL, 1 LogQL */
    int range;          /* 0 instant, 1 range */
    int64_t t0, t1, st; /* seconds from GQ_T0_S: time (instant) or start, end and step (range) */
    char name[128];
    char *query;        /* owned */
    char *params;       /* owned, extra query-string parameters ("" when none) */
    char *want;         /* owned */
    int file;           /* index into G.files */
    size_t want_line;   /* line of `want:` in that file */
} gq_case;

typedef struct gq_file {
    char path[512];
    char **lines; /* owned, without '\n' */
    size_t n_lines;
    int dirty;
} gq_file;

static struct {
    t_api a; /* data dir and server */
    gq_case *cases;
    size_t n_cases;
    gq_file files[2];
    int update;
} G;

static char *gq_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        fclose(f);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    *len = (size_t)n;
    return p;
}

static const char *gq_dir(void)
{
    const char *d = getenv("GOLDEN_DIR");
    return d && *d ? d : "tests/golden/query";
}

/* ---- case files ------------------------------------------------------------------------------ */

static int gq_parse_times(const char *s, int64_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        v[i] = strtoll(s, &end, 10);
        if (end == s) return -1;
        s = end;
    }
    return 0;
}

/* Blocks of `key: value` lines separated by blank lines; '#' lines are comments. */
static void gq_load_cases(int fi, const char *file, int logql)
{
    gq_file *gf = &G.files[fi];
    snprintf(gf->path, sizeof gf->path, "%s/%s", gq_dir(), file);
    size_t len;
    char *text = gq_read_file(gf->path, &len);
    if (!text) {
        fprintf(stderr, "golden: cannot read %s\n", gf->path);
        exit(1);
    }
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        gf->lines = realloc(gf->lines, (gf->n_lines + 1) * sizeof *gf->lines);
        gf->lines[gf->n_lines++] = strndup(p, l);
        p += l + (nl != NULL);
    }
    free(text);
    gq_case *c = NULL;
    for (size_t i = 0; i <= gf->n_lines; i++) {
        const char *ln = i < gf->n_lines ? gf->lines[i] : "";
        if (ln[0] == '#') continue;
        if (!ln[0]) {
            if (c && (!c->query || !c->want)) {
                fprintf(stderr, "%s:%zu: case %s needs query: and want:\n", gf->path, i, c->name);
                exit(1);
            }
            c = NULL;
            continue;
        }
        const char *colon = strstr(ln, ": ");
        if (!colon && ln[strlen(ln) - 1] == ':') colon = ln + strlen(ln) - 1;
        if (!colon) {
            fprintf(stderr, "%s:%zu: expected 'key: value'\n", gf->path, i + 1);
            exit(1);
        }
        size_t kl = (size_t)(colon - ln);
        const char *v = colon[1] ? colon + 2 : colon + 1;
        if (!c) {
            G.cases = realloc(G.cases, (G.n_cases + 1) * sizeof *G.cases);
            c = &G.cases[G.n_cases++];
            memset(c, 0, sizeof *c);
            c->logql = logql;
            c->file = fi;
            snprintf(c->name, sizeof c->name, "%s:%zu", file, i + 1);
        }
        int bad = 0;
        if (kl == 4 && !memcmp(ln, "name", 4)) {
            snprintf(c->name, sizeof c->name, "%s %s", logql ? "logql" : "promql", v);
        } else if (kl == 5 && !memcmp(ln, "query", 5)) {
            c->query = strdup(v);
        } else if (kl == 6 && !memcmp(ln, "params", 6)) {
            c->params = strdup(v);
        } else if (kl == 7 && !memcmp(ln, "instant", 7)) {
            c->range = 0;
            bad = gq_parse_times(v, &c->t0, 1);
        } else if (kl == 5 && !memcmp(ln, "range", 5)) {
            c->range = 1;
            int64_t t[3];
            bad = gq_parse_times(v, t, 3);
            c->t0 = t[0], c->t1 = t[1], c->st = t[2];
        } else if (kl == 4 && !memcmp(ln, "want", 4)) {
            c->want = strdup(v);
            c->want_line = i;
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "%s:%zu: bad line '%s'\n", gf->path, i + 1, ln);
            exit(1);
        }
    }
    for (size_t i = 0; i < G.n_cases; i++)
        if (!G.cases[i].params) G.cases[i].params = strdup("");
}

static void gq_write_file(gq_file *gf)
{
    FILE *f = fopen(gf->path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < gf->n_lines; i++) fprintf(f, "%s\n", gf->lines[i]);
    fclose(f);
}

/* ---- data ------------------------------------------------------------------------------------ */

static void gq_load_data(cairn_db *db)
{
    char path[600];
    size_t len;
    cairn_err e;
    ingest_opts io;
    ingest_opts_default(&io);
    io.reject_old_ns = 0;
    io.future_grace_ns = 0;
    io.add_service_name = 0; /* as in Loki's conformance setup (logql-semantics.md section 0) */
    cairn_batch *b = cairn_batch_new();
    assert_non_null(b);

    snprintf(path, sizeof path, "%s/metrics.prom", gq_dir());
    char *text = gq_read_file(path, &len);
    assert_non_null(text);
    if (ptext_decode(text, len, PTEXT_PROM, &io, b, NULL, &e) || cairn_commit(db, b, &e)) {
        fprintf(stderr, "golden: %s: %s\n", path, e.msg);
        fail();
    }
    free(text);
    cairn_batch_reset(b);

    snprintf(path, sizeof path, "%s/logs.json", gq_dir());
    text = gq_read_file(path, &len);
    assert_non_null(text);
    if (lpush_decode_json((const uint8_t *)text, len, &io, b, &e) || cairn_commit(db, b, &e)) {
        fprintf(stderr, "golden: %s: %s\n", path, e.msg);
        fail();
    }
    free(text);
    cairn_batch_free(b);
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static char g_raw[GQ_MAX_BODY + 8192];

static void gq_urlenc(const char *s, char *out, size_t cap)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hexd[ch >> 4];
            out[o++] = hexd[ch & 15];
        }
    }
    out[o] = 0;
}

/* GET `target`; returns the status and points *body into g_raw. */
static int gq_get(const char *target, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(G.a.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[8192];
    int hn = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
    assert_true(hn > 0 && (size_t)hn < sizeof head);
    assert_int_equal(send(fd, head, (size_t)hn, 0), hn);
    size_t got = 0;
    ssize_t n;
    while ((n = recv(fd, g_raw + got, sizeof g_raw - 1 - got, 0)) > 0) got += (size_t)n;
    close(fd);
    g_raw[got] = 0;
    char *end = strstr(g_raw, "\r\n\r\n");
    assert_non_null(end);
    *body = end + 4;
    return atoi(g_raw + 9);
}

/* The end of the JSON value starting at p (an object, array, string or scalar). */
static const char *gq_skip_value(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : p;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = gq_skip_value(p) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0) return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != '}' && *p != ']') p++;
    return p;
}

/* Copy the top-level "data" member's value of `body` into out, dropping its "stats" member. */
static int gq_extract_data(const char *body, char *out, size_t cap)
{
    const char *d = strstr(body, "\"data\":");
    if (!d) return -1;
    d += 7;
    const char *de = gq_skip_value(d);
    size_t o = 0;
    for (const char *p = d; p < de;) {
        if (!strncmp(p, ",\"stats\":", 9)) {
            p = gq_skip_value(p + 9);
            continue;
        }
        if (*p == '"') {
            const char *q = gq_skip_value(p);
            if (o + (size_t)(q - p) >= cap) return -1;
            memcpy(out + o, p, (size_t)(q - p));
            o += (size_t)(q - p);
            p = q;
            continue;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = *p++;
    }
    out[o] = 0;
    return 0;
}

static void gq_run_case(void **state)
{
    gq_case *c = *state;
    static char target[16384], enc[12288], got[GQ_MAX_BODY];
    gq_urlenc(c->query, enc, sizeof enc);
    const char *path = c->logql ? (c->range ? "/loki/api/v1/query_range" : "/loki/api/v1/query")
                                : (c->range ? "/api/v1/query_range" : "/api/v1/query");
    if (c->logql && c->range) {
        snprintf(target, sizeof target, "%s?query=%s&start=%lld&end=%lld&step=%lld%s", path, enc,
                 (long long)((GQ_T0_S + c->t0) * GQ_NS), (long long)((GQ_T0_S + c->t1) * GQ_NS), (long long)c->st,
                 c->params);
    } else if (c->logql) {
        snprintf(target, sizeof target, "%s?query=%s&time=%lld%s", path, enc, (long long)((GQ_T0_S + c->t0) * GQ_NS),
                 c->params);
    } else if (c->range) {
        snprintf(target, sizeof target, "%s?query=%s&start=%lld&end=%lld&step=%lld%s", path, enc,
                 (long long)(GQ_T0_S + c->t0), (long long)(GQ_T0_S + c->t1), (long long)c->st, c->params);
    } else {
        snprintf(target, sizeof target, "%s?query=%s&time=%lld%s", path, enc, (long long)(GQ_T0_S + c->t0),
                 c->params);
    }
    char *body;
    int st = gq_get(target, &body);
    if (st != 200 || gq_extract_data(body, got, sizeof got)) {
        fprintf(stderr, "%s\n  GET %s\n  status %d: %s\n", c->name, target, st, body);
        fail();
    }
    if (!strcmp(got, c->want)) return;
    if (G.update) {
        gq_file *gf = &G.files[c->file];
        free(gf->lines[c->want_line]);
        size_t n = strlen(got) + 7;
        gf->lines[c->want_line] = malloc(n);
        snprintf(gf->lines[c->want_line], n, "want: %s", got);
        gf->dirty = 1;
        fprintf(stderr, "%s: updated\n", c->name);
        return;
    }
    size_t k = 0;
    while (got[k] && got[k] == c->want[k]) k++;
    size_t from = k > 40 ? k - 40 : 0;
    fprintf(stderr,
            "%s: answer differs (%s:%zu)\n  query: %s\n  want: %s\n  got:  %s\n  first difference at byte %zu:\n"
            "  want ...%.100s\n  got  ...%.100s\n",
            c->name, G.files[c->file].path, c->want_line + 1, c->query, c->want, got, k, c->want + from, got + from);
    fail();
}

/* ---- setup ----------------------------------------------------------------------------------- */

static int gq_setup(void **state)
{
    (void)state;
    t_api_start(&G.a, "golden_query", gq_load_data, 0);
    return 0;
}

static int gq_teardown(void **state)
{
    (void)state;
    t_api_stop(&G.a);
    for (int f = 0; f < 2; f++)
        if (G.files[f].dirty) gq_write_file(&G.files[f]);
    return 0;
}

int main(void)
{
    const char *u = getenv("UPDATE");
    G.update = u && !strcmp(u, "1");
    gq_load_cases(0, "promql.cases", 0);
    gq_load_cases(1, "logql.cases", 1);
    struct CMUnitTest *t = calloc(G.n_cases, sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < G.n_cases; i++) {
        t[i].name = G.cases[i].name;
        t[i].test_func = gq_run_case;
        t[i].initial_state = &G.cases[i];
    }
    int rc = _cmocka_run_group_tests("golden_query", t, G.n_cases, gq_setup, gq_teardown);
    for (int f = 0; f < 2; f++) {
        for (size_t i = 0; i < G.files[f].n_lines; i++) free(G.files[f].lines[i]);
        free(G.files[f].lines);
    }
    for (size_t i = 0; i < G.n_cases; i++) free(G.cases[i].query), free(G.cases[i].params), free(G.cases[i].want);
    free(G.cases);
    free(t);
    return rc;
}
