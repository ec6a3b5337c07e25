/*
 * bench_regex.c — the regex engine behind engine/match.h against PCRE2-JIT
 * (issue 10), on the two hot paths:
 *
 *   values: 1M label values matched as Prometheus matchers (anchored,
 *           `.` matching newline), as the index does for =~;
 *   lines:  N MB of log lines searched as LogQL line filters (unanchored),
 *           as `|~` does on decompressed blocks.
 *
 * For each of 6 typical patterns it runs three engines over the same data:
 *   cairn  match_re_exec(): the kept engine, fast paths in front of RE2;
 *   re2    the same, with the fast path defeated ("(?:p)(?:)"): RE2 alone;
 *   pcre2  PCRE2 10.x with JIT, one match data reused, pcre2_jit_match()
 *          (the cheapest way to call it; cairn used to go through
 *          pcre2_match() with per-call contexts).
 * It prints CPU ns per value / MB/s per line scan (best of 3 runs, CPU
 * time, since the box is shared), the match counts (which must agree), and
 * the ratio cairn / min(pcre2, cairn).
 *
 * Usage: bench_regex [log MB, default 256] [values, default 1000000]
 * The only program that links PCRE2 (for this comparison).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "match.h"

static size_t pcre_errors; /* PCRE2 calls that failed (match limit) in the last run */

static const char *pats[] = {".*foo.*", "a|b|c", "(?i)error", "prefix.*", "\\d+ms", ".*-[0-9a-f]{8}"};
#define NPAT (sizeof pats / sizeof pats[0])

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct strs {
    char *buf;
    size_t len, n;
    uint32_t *off; /* n + 1 offsets; value i is buf[off[i] .. off[i+1]) */
} strs;

static void strs_add(strs *s, size_t cap_n, const char *p, size_t n)
{
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->off[++s->n] = (uint32_t)s->len;
    (void)cap_n;
}

/* Label values as they look in practice: pod names with hash suffixes,
 * instances, paths, durations, a few literal hits for each pattern. */
static void gen_values(strs *s, size_t n)
{
    s->buf = malloc(n * 64);
    s->off = malloc((n + 1) * sizeof *s->off);
    s->len = s->n = 0;
    s->off[0] = 0;
    static const char *svc[] = {"api", "web", "worker", "prefix-gw", "db", "cache", "foo-svc", "auth"};
    char v[64];
    for (size_t i = 0; i < n; i++) {
        int k;
        switch (rnd() % 6) {
        case 0: k = snprintf(v, sizeof v, "%s-%08x-%05x", svc[rnd() % 8], rnd(), rnd() & 0xfffff); break;
        case 1: k = snprintf(v, sizeof v, "%s-%08x", svc[rnd() % 8], rnd()); break;
        case 2: k = snprintf(v, sizeof v, "10.%u.%u.%u:%u", rnd() % 256, rnd() % 256, rnd() % 256, 9000 + rnd() % 1000); break;
        case 3: k = snprintf(v, sizeof v, "/api/v1/%s/%u", svc[rnd() % 8], rnd() % 100000); break;
        case 4: k = snprintf(v, sizeof v, "%ums", rnd() % 5000); break;
        default: k = snprintf(v, sizeof v, "%s", (const char *[]){"a", "b", "c", "error", "ERROR", "info"}[rnd() % 6]); break;
        }
        strs_add(s, n, v, (size_t)k);
    }
}

/* Log lines of ~120-200 bytes: logfmt-ish access and app logs. */
static void gen_lines(strs *s, size_t bytes)
{
    size_t n = bytes / 100 + 16;
    s->buf = malloc(bytes + 512);
    s->off = malloc((n + 1) * sizeof *s->off);
    s->len = s->n = 0;
    s->off[0] = 0;
    static const char *lvl[] = {"info", "info", "info", "debug", "warn", "error", "ERROR", "Error"};
    static const char *msg[] = {"request done", "cache miss", "upstream timeout", "user login", "retrying foo call",
                                "connection reset by peer", "query ok", "prefix match"};
    char l[512];
    while (s->len < bytes && s->n < n) {
        int k = snprintf(l, sizeof l,
                         "ts=2026-12-08T01:%02u:%02u.%03uZ level=%s msg=\"%s\" path=/api/v1/users/%u status=%u "
                         "duration=%ums trace_id=%08x%08x pod=web-%08x",
                         rnd() % 60, rnd() % 60, rnd() % 1000, lvl[rnd() % 8], msg[rnd() % 8], rnd() % 100000,
                         (const unsigned[]){200, 200, 200, 201, 404, 500}[rnd() % 6], rnd() % 3000, rnd(), rnd(), rnd());
        if (s->len + (size_t)k > bytes + 256) break;
        strs_add(s, n, l, (size_t)k);
    }
}

typedef struct pc {
    pcre2_code *code;
    pcre2_match_data *md;
} pc;

static int pc_open(pc *p, const char *pat, int anchored)
{
    int ec;
    PCRE2_SIZE eo;
    uint32_t o = PCRE2_UTF;
    if (anchored) o |= PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY;
    p->code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, o, &ec, &eo, NULL);
    if (!p->code) return -1;
    if (pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) != 0) return -2;
    p->md = pcre2_match_data_create(1, NULL);
    return p->md ? 0 : -1;
}

static void pc_close(pc *p)
{
    pcre2_match_data_free(p->md);
    pcre2_code_free(p->code);
}

/* engine: 0 cairn, 1 re2 only, 2 pcre2; returns matches, *cpu the best CPU seconds of 3 */
static size_t run(int engine, const char *pat, int anchored, const strs *s, double *cpu)
{
    match_re *re = NULL;
    pc p = {0};
    char slow[64];
    cairn_err e;
    if (engine == 0 && match_re_compile(&re, pat, strlen(pat), anchored, &e)) {
        fprintf(stderr, "compile %s: %s\n", pat, e.msg);
        exit(1);
    }
    if (engine == 1) {
        snprintf(slow, sizeof slow, "(?:%s)(?:)", pat);
        if (match_re_compile(&re, slow, strlen(slow), anchored, &e)) {
            fprintf(stderr, "compile %s: %s\n", slow, e.msg);
            exit(1);
        }
    }
    if (engine == 2 && pc_open(&p, pat, anchored)) {
        fprintf(stderr, "pcre2 compile %s failed\n", pat);
        exit(1);
    }
    size_t hits = 0;
    *cpu = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        size_t h = 0;
        pcre_errors = 0;
        double t0 = bench_cpu_s();
        for (size_t i = 0; i < s->n; i++) {
            const char *v = s->buf + s->off[i];
            size_t n = s->off[i + 1] - s->off[i];
            int r;
            if (engine < 2) {
                r = match_re_exec(re, v, n);
                if (r < 0) {
                    fprintf(stderr, "match error %d\n", r);
                    exit(1);
                }
            } else {
                r = pcre2_jit_match(p.code, (PCRE2_SPTR)v, n, 0, PCRE2_NO_UTF_CHECK, p.md, NULL);
                if (r < 0 && r != PCRE2_ERROR_NOMATCH) pcre_errors++; /* match limit: what cairn reported as ELIMIT */
                r = r >= 0;
            }
            h += (size_t)r;
        }
        double t = bench_cpu_s() - t0;
        if (t < *cpu) *cpu = t;
        hits = h;
    }
    if (engine < 2) match_re_free(re);
    else pc_close(&p);
    return hits;
}

static void table(const char *what, const strs *s, int anchored, double unit_div, const char *unit)
{
    printf("\n%s: %zu items, %.1f MB, anchored=%d\n", what, s->n, (double)s->len / 1e6, anchored);
    printf("%-18s %12s %12s %12s %8s %10s\n", "pattern", "cairn", "re2 alone", "pcre2-jit", "ratio", "matches");
    for (size_t i = 0; i < NPAT; i++) {
        double c[3];
        size_t h[3];
        for (int eng = 0; eng < 3; eng++) h[eng] = run(eng, pats[i], anchored, s, &c[eng]);
        double v[3];
        for (int eng = 0; eng < 3; eng++) v[eng] = unit_div > 0 ? c[eng] * 1e9 / (double)s->n : (double)s->len / 1e6 / c[eng];
        double best = unit_div > 0 ? (c[2] < c[0] ? c[2] : c[0]) : (c[2] < c[0] ? c[2] : c[0]);
        printf("%-18s %9.1f %s %9.1f %s %9.1f %s %7.2fx %10zu%s\n", pats[i], v[0], unit, v[1], unit, v[2], unit,
               c[0] / best, h[0], (h[0] != h[1] || h[0] != h[2]) ? "  MISMATCH" : "");
        if (h[0] != h[1] || h[0] != h[2]) printf("    counts: cairn %zu re2 %zu pcre2 %zu\n", h[0], h[1], h[2]);
    }
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 256;
    size_t nv = argc > 2 ? (size_t)atol(argv[2]) : 1000000;
    bench_machine();
    printf("bench_regex: %zu label values, %zu MB of log lines; CPU time, best of 3; ratio = cairn / min(cairn, pcre2)\n",
           nv, mb);
    strs v, l;
    gen_values(&v, nv);
    gen_lines(&l, mb << 20);
    table("label values (matchers, ^(?s:re)$)", &v, 1, 1, "ns ");
    table("log lines (line filters, unanchored)", &l, 0, 0, "MB/s");
    /* the pattern: every line matches through `|!`; PCRE2 backtracks
     * exponentially in (a+)+X and gives up at its match limit */
    strs x;
    x.buf = malloc(20 * 64);
    x.off = malloc(21 * sizeof *x.off);
    x.len = x.n = 0;
    x.off[0] = 0;
    for (int i = 0; i < 20; i++) strs_add(&x, 0, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", 41);
    double c0, c2;
    size_t h0 = run(0, "(a+)+X|!", 0, &x, &c0), h2 = run(2, "(a+)+X|!", 0, &x, &c2);
    printf("\npathological: (a+)+X|! on %zu lines of 40 'a' + '!': cairn %zu matches in %.3f ms; "
           "pcre2-jit %zu matches, %zu match-limit errors in %.3f ms\n",
           x.n, h0, c0 * 1e3, h2, pcre_errors, c2 * 1e3);
    free(x.buf), free(x.off);
    free(v.buf), free(v.off), free(l.buf), free(l.off);
    return 0;
}
