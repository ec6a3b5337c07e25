/*
 * promqltest.c — run Prometheus' own PromQL test scripts against cairn.
 *
 * The scripts (the *.test files in ../shared/promql-testdata/prometheus-v3.14.0, format
 * described in that folder's README) load synthetic series and then state the
 * exact result of instant and range queries. This runner reads them, loads
 * each `load` block as one batch into a fresh data directory (one per
 * `clear`; background work off, retention 0, a huge out-of-order window),
 * evaluates every `eval` through the public query API (include/cairn.h —
 * nothing else, which keeps that API honest) and compares:
 *   - label sets exactly, values with relative tolerance 1e-6 (Prometheus'
 *     almost.Equal; NaN equals NaN; zero must match within 1e-6 × 2.2e-308),
 *   - order only for eval_ordered / `expect ordered`,
 *   - `_` steps of range queries and `expect range vector` must be absent,
 *   - eval_fail / `expect fail` must fail (any error; messages are engine
 *     specific), everything else must succeed.
 * `expect warn/info/no_warn/no_info` are ignored (cairn has no annotations).
 *
 * Skips come from two places only: the README's rules for a classic-float
 * runner (native histograms: `{{` in a case or a metric loaded with `{{` or
 * created by load_with_nhcb; the native-histogram functions; experimental
 * features cairn does not implement) and tests/promql/skip.txt, where every
 * skipped case is listed as `file:line  reason`. Skipped cases are counted
 * but are neither passes nor failures.
 *
 * Unless --no-range-check is given, every instant case that is not ordered,
 * not a range vector or string, does not expect failure and does not use
 * start(), end(), step() or range(),
 * is also run as a range query from t-1m to t+1m step 1m, and the point at t
 * must equal the instant result (upstream does the same).
 *
 * Output: one line per file, then exactly `promqltest: N passed, M failed`;
 * the exit status is 1 when M > 0. -v prints every failing case.
 *
 * Usage: promqltest [-v|-vv] [--no-range-check] [--skip FILE] [--only NAME] DIR|FILE...
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

/* ---- small utilities ----------------------------------------------------------- */

static int pt_verbose;
static int pt_range_check = 1;

static void *pt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "promqltest: out of memory\n");
        exit(2);
    }
    return p;
}

static void *pt_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fprintf(stderr, "promqltest: out of memory\n");
        exit(2);
    }
    return p;
}

static char *pt_strndup(const char *s, size_t n)
{
    char *d = pt_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static const char *pt_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static int pt_word_ci(const char *p, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(p, w, n) == 0;
}

/* ---- labels ---------------------------------------------------------------------- */

typedef struct pt_label {
    char *name, *value;
} pt_label;

typedef struct pt_lset {
    pt_label *v;
    size_t n;
} pt_lset;

static int pt_label_cmp(const void *a, const void *b)
{
    return strcmp(((const pt_label *)a)->name, ((const pt_label *)b)->name);
}

static void pt_lset_free(pt_lset *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i].name), free(l->v[i].value);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void pt_lset_add(pt_lset *l, const char *name, size_t nl, const char *value, size_t vl)
{
    l->v = pt_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n].name = pt_strndup(name, nl);
    l->v[l->n].value = pt_strndup(value, vl);
    l->n++;
}

static void pt_lset_sort(pt_lset *l)
{
    if (l->n) qsort(l->v, l->n, sizeof *l->v, pt_label_cmp);
    /* Empty values mean "no such label". */
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->v[i].value[0]) {
            free(l->v[i].name), free(l->v[i].value);
            continue;
        }
        l->v[w++] = l->v[i];
    }
    l->n = w;
}

static int pt_lset_eq_api(const pt_lset *a, const cairn_label *b, size_t nb)
{
    if (a->n != nb) return 0;
    for (size_t i = 0; i < nb; i++) {
        if (strlen(a->v[i].name) != b[i].name_len || memcmp(a->v[i].name, b[i].name, b[i].name_len)) return 0;
        if (strlen(a->v[i].value) != b[i].value_len || memcmp(a->v[i].value, b[i].value, b[i].value_len)) return 0;
    }
    return 1;
}

static void pt_fmt_api_labels(const cairn_label *l, size_t n, char *dst, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(dst + o, cap - o, "{");
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(dst + o, cap - o, "%s%.*s=\"%.*s\"", i ? "," : "", (int)l[i].name_len, l[i].name,
                              (int)l[i].value_len, l[i].value);
    if (o < cap) snprintf(dst + o, cap - o, "}");
}

static void pt_fmt_labels(const pt_lset *l, char *dst, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(dst + o, cap - o, "{");
    for (size_t i = 0; i < l->n && o < cap; i++)
        o += (size_t)snprintf(dst + o, cap - o, "%s%s=\"%s\"", i ? "," : "", l->v[i].name, l->v[i].value);
    if (o < cap) snprintf(dst + o, cap - o, "}");
}

/* ---- PromQL string literals (Go escapes) ------------------------------------------- */

static size_t pt_utf8_put(char *o, uint32_t c)
{
    if (c < 0x80) return o[0] = (char)c, 1;
    if (c < 0x800) return o[0] = (char)(0xc0 | (c >> 6)), o[1] = (char)(0x80 | (c & 0x3f)), 2;
    if (c < 0x10000)
        return o[0] = (char)(0xe0 | (c >> 12)), o[1] = (char)(0x80 | ((c >> 6) & 0x3f)), o[2] = (char)(0x80 | (c & 0x3f)), 3;
    o[0] = (char)(0xf0 | (c >> 18)), o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3f)), o[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

static int pt_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parse a quoted string at *pp; returns malloc'd decoded bytes (len in *n) or NULL. */
static char *pt_parse_string(const char **pp, size_t *n)
{
    const char *p = *pp;
    char q = *p;
    if (q != '"' && q != '\'' && q != '`') return NULL;
    p++;
    size_t cap = strlen(p) * 4 + 1, o = 0;
    char *out = pt_xmalloc(cap);
    while (*p && *p != q) {
        if (q == '`' || *p != '\\') {
            out[o++] = *p++;
            continue;
        }
        p++;
        int c = *p++;
        switch (c) {
        case 'a': out[o++] = '\a'; break;
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'v': out[o++] = '\v'; break;
        case '\\': out[o++] = '\\'; break;
        case '"': out[o++] = '"'; break;
        case '\'': out[o++] = '\''; break;
        case 'x': {
            int a = pt_hexval(p[0]), b = a >= 0 ? pt_hexval(p[1]) : -1;
            if (b < 0) goto bad;
            out[o++] = (char)(a * 16 + b);
            p += 2;
            break;
        }
        case 'u':
        case 'U': {
            int nd = c == 'u' ? 4 : 8;
            uint32_t v = 0;
            for (int i = 0; i < nd; i++) {
                int h = pt_hexval(p[i]);
                if (h < 0) goto bad;
                v = v * 16 + (uint32_t)h;
            }
            p += nd;
            o += pt_utf8_put(out + o, v);
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0';
                for (int i = 0; i < 2; i++) {
                    if (*p < '0' || *p > '7') goto bad;
                    v = v * 8 + (*p++ - '0');
                }
                out[o++] = (char)v;
                break;
            }
            goto bad;
        }
    }
    if (*p != q) goto bad;
    out[o] = 0;
    *pp = p + 1;
    *n = o;
    return out;
bad:
    free(out);
    return NULL;
}

/* ---- series descriptors ------------------------------------------------------------ */

static int pt_name_start(int c) { return isalpha(c) || c == '_' || c == ':'; }
static int pt_name_char(int c) { return isalnum(c) || c == '_' || c == ':'; }

/* name{l="v",...} | name | {…}; returns 0 and advances *pp, or -1. */
static int pt_parse_desc(const char **pp, pt_lset *out)
{
    const char *p = pt_skip_ws(*pp);
    memset(out, 0, sizeof *out);
    if (pt_name_start((unsigned char)*p)) {
        const char *s = p;
        while (pt_name_char((unsigned char)*p)) p++;
        pt_lset_add(out, "__name__", 8, s, (size_t)(p - s));
    }
    if (*p == '{') {
        p++;
        for (;;) {
            p = pt_skip_ws(p);
            if (*p == '}') {
                p++;
                break;
            }
            char *name;
            size_t nl;
            if (*p == '"' || *p == '\'' || *p == '`') {
                name = pt_parse_string(&p, &nl);
                if (!name) goto bad;
            } else {
                const char *s = p;
                while (pt_name_char((unsigned char)*p)) p++;
                if (p == s) goto bad;
                name = pt_strndup(s, (size_t)(p - s));
                nl = (size_t)(p - s);
            }
            p = pt_skip_ws(p);
            if (*p == ',' || *p == '}') { /* a bare quoted name is a metric name (3.x) */
                pt_lset_add(out, "__name__", 8, name, nl);
                free(name);
                if (*p == ',') p++;
                continue;
            }
            if (*p != '=') {
                free(name);
                goto bad;
            }
            p = pt_skip_ws(p + 1);
            size_t vl;
            char *value = pt_parse_string(&p, &vl);
            if (!value) {
                free(name);
                goto bad;
            }
            pt_lset_add(out, name, nl, value, vl);
            free(name), free(value);
            p = pt_skip_ws(p);
            if (*p == ',') p++;
        }
    } else if (!out->n) {
        goto bad;
    }
    pt_lset_sort(out);
    *pp = p;
    return 0;
bad:
    pt_lset_free(out);
    return -1;
}

/* ---- numbers, durations, value sequences ----------------------------------------------- */

/* A float without hex (in sequences `0x5` means "0 five more times"). */
static int pt_parse_num(const char **pp, double *out)
{
    const char *p = *pp, *s = p;
    if (*p == '+' || *p == '-') p++;
    if (pt_word_ci(p, "inf") && !pt_name_char((unsigned char)p[3])) {
        p += 3;
        *out = (*s == '-') ? -INFINITY : INFINITY;
        *pp = p;
        return 0;
    }
    if (pt_word_ci(p, "nan") && !pt_name_char((unsigned char)p[3])) {
        *out = NAN;
        *pp = p + 3;
        return 0;
    }
    const char *d = p;
    while (isdigit((unsigned char)*p)) p++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) p++;
    }
    if (p == d || (p == d + 1 && *d == '.')) return -1;
    if (*p == 'e' || *p == 'E') {
        const char *e = p + 1;
        if (*e == '+' || *e == '-') e++;
        if (isdigit((unsigned char)*e)) {
            while (isdigit((unsigned char)*e)) e++;
            p = e;
        }
    }
    char buf[128];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    *pp = p;
    return 0;
}

/* Prometheus durations (1h30m, 500ms, 1d, 0); a bare integer counts as seconds. */
static int pt_parse_duration(const char **pp, int64_t *ms)
{
    const char *p = pt_skip_ws(*pp);
    int neg = 0;
    if (*p == '-') neg = 1, p++;
    int64_t total = 0;
    int any = 0;
    while (isdigit((unsigned char)*p)) {
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) v = v * 10 + (*p++ - '0');
        int64_t unit;
        if (p[0] == 'm' && p[1] == 's') unit = 1, p += 2;
        else if (*p == 's') unit = 1000, p++;
        else if (*p == 'm') unit = 60000, p++;
        else if (*p == 'h') unit = 3600000, p++;
        else if (*p == 'd') unit = 86400000, p++;
        else if (*p == 'w') unit = 7 * 86400000LL, p++;
        else if (*p == 'y') unit = 365 * 86400000LL, p++;
        else unit = 1000;
        total += v * unit;
        any = 1;
        if (unit == 1000 && !isalpha((unsigned char)p[-1])) break;
    }
    if (!any) return -1;
    *ms = neg ? -total : total;
    *pp = p;
    return 0;
}

/* One point of a sequence: present or a gap, value, stale, native. */
typedef struct pt_point {
    double v;
    uint8_t present, stale, native;
} pt_point;

typedef struct pt_seq {
    pt_point *p;
    size_t n, cap;
    int has_native;
} pt_seq;

static void pt_seq_push(pt_seq *s, pt_point pt)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->p = pt_xrealloc(s->p, s->cap * sizeof *s->p);
    }
    s->p[s->n++] = pt;
}

/* Skip a {{…}} native histogram literal. */
static int pt_skip_hist(const char **pp)
{
    const char *e = strstr(*pp, "}}");
    if (!e) return -1;
    *pp = e + 2;
    return 0;
}

static int pt_parse_count(const char **pp, long *n)
{
    const char *p = *pp;
    if (*p != 'x' || !isdigit((unsigned char)p[1])) return -1;
    p++;
    *n = strtol(p, (char **)&p, 10);
    *pp = p;
    return 0;
}

/* Expand a value sequence ("1+1x3 _ stale {{…}}x2"). */
static int pt_parse_seq(const char *p, pt_seq *s)
{
    memset(s, 0, sizeof *s);
    for (;;) {
        p = pt_skip_ws(p);
        if (!*p) return 0;
        if (p[0] == '{' && p[1] == '{') {
            s->has_native = 1;
            if (pt_skip_hist(&p)) return -1;
            long n = 0;
            if ((*p == '+' || *p == '-') && p[1] == '{') {
                p++;
                if (pt_skip_hist(&p)) return -1;
                if (pt_parse_count(&p, &n)) return -1;
            } else if (*p == 'x') {
                if (pt_parse_count(&p, &n)) return -1;
            }
            for (long i = 0; i <= n; i++) pt_seq_push(s, (pt_point){0, 0, 0, 1});
            continue;
        }
        if (*p == '_') {
            p++;
            long n = 1;
            if (*p == 'x' && pt_parse_count(&p, &n)) return -1;
            for (long i = 0; i < n; i++) pt_seq_push(s, (pt_point){0, 0, 0, 0});
            continue;
        }
        if (pt_word_ci(p, "stale") && !pt_name_char((unsigned char)p[5])) {
            p += 5;
            pt_seq_push(s, (pt_point){0, 1, 1, 0});
            continue;
        }
        double a;
        if (pt_parse_num(&p, &a)) return -1;
        if (*p == 'x') {
            long n;
            if (pt_parse_count(&p, &n)) return -1;
            for (long i = 0; i <= n; i++) pt_seq_push(s, (pt_point){a, 1, 0, 0});
            continue;
        }
        if ((*p == '+' || *p == '-') && p[1] != ' ') {
            int neg = *p == '-';
            p++;
            double b;
            if (pt_parse_num(&p, &b)) return -1;
            long n;
            if (pt_parse_count(&p, &n)) return -1;
            if (neg) b = -b;
            /* Prometheus adds the step repeatedly (float accumulation), not a + i*b. */
            double cur = a;
            for (long i = 0; i <= n; i++) {
                pt_seq_push(s, (pt_point){cur, 1, 0, 0});
                cur += b;
            }
            continue;
        }
        if (*p && *p != ' ' && *p != '\t') return -1;
        pt_seq_push(s, (pt_point){a, 1, 0, 0});
    }
}

/* ---- test file model ------------------------------------------------------------------ */

typedef struct pt_expect_series {
    pt_lset ls;
    pt_seq seq;
    int matched;
} pt_expect_series;

typedef struct pt_case {
    int line;
    char *expr;
    int range;          /* eval range */
    int64_t at, start, end, step;
    int expect_fail, ordered;
    int has_scalar;
    double scalar;
    int has_string;
    char *string;
    size_t string_len;
    int range_vector;   /* expect range vector */
    int64_t rv_start, rv_end, rv_step;
    pt_expect_series *series;
    size_t n_series;
    int native;         /* {{ in results */
    int bad;            /* could not parse the case */
} pt_case;

static void pt_case_free(pt_case *c)
{
    free(c->expr);
    free(c->string);
    for (size_t i = 0; i < c->n_series; i++) {
        pt_lset_free(&c->series[i].ls);
        free(c->series[i].seq.p);
    }
    free(c->series);
}

/* ---- skip list ------------------------------------------------------------------------- */

typedef struct pt_skip {
    char *file;
    int line; /* 0: whole file */
    char *reason;
} pt_skip;

static pt_skip *pt_skips;
static size_t pt_n_skips;

static void pt_load_skips(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) {
        char *p = (char *)pt_skip_ws(buf);
        if (*p == '#' || *p == '\n' || !*p) continue;
        char *colon = strchr(p, ':');
        if (!colon) continue;
        *colon = 0;
        char *rest = colon + 1;
        int line = 0;
        if (*rest == '*') rest++;
        else line = (int)strtol(rest, &rest, 10);
        rest = (char *)pt_skip_ws(rest);
        size_t rl = strlen(rest);
        while (rl && (rest[rl - 1] == '\n' || rest[rl - 1] == ' ')) rest[--rl] = 0;
        pt_skips = pt_xrealloc(pt_skips, (pt_n_skips + 1) * sizeof *pt_skips);
        pt_skips[pt_n_skips++] = (pt_skip){strdup(p), line, strdup(rest)};
    }
    fclose(f);
}

static const char *pt_skip_reason(const char *file, int line)
{
    for (size_t i = 0; i < pt_n_skips; i++)
        if (!strcmp(pt_skips[i].file, file) && (pt_skips[i].line == 0 || pt_skips[i].line == line))
            return pt_skips[i].reason;
    return NULL;
}

/* ---- the store --------------------------------------------------------------------------- */

typedef struct pt_store {
    char dir[512];
    cairn_db *db;
    char **native; /* metric names that have native-histogram data */
    size_t n_native;
} pt_store;

static int pt_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return unlink(path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[1024];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) pt_rmtree(sub);
        else unlink(sub);
    }
    closedir(d);
    return rmdir(path);
}

static void pt_store_close(pt_store *s)
{
    if (s->db) {
        cairn_close(s->db);
        s->db = NULL;
        pt_rmtree(s->dir);
    }
    for (size_t i = 0; i < s->n_native; i++) free(s->native[i]);
    free(s->native);
    s->native = NULL;
    s->n_native = 0;
}

static int pt_store_open(pt_store *s)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(s->dir, sizeof s->dir, "%s/promqltest.XXXXXX", base);
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "promqltest: mkdtemp %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    o.retention_metrics_ms = 0;
    o.retention_logs_ms = 0;
    o.ooo_window_ms = INT64_MAX / 4;
    o.checkpoint_interval_ms = 0;
    o.map_size_bytes = 1ULL << 30;
    cairn_err e;
    if (cairn_open(s->dir, &o, &s->db, &e)) {
        fprintf(stderr, "promqltest: open %s: %s\n", s->dir, e.msg);
        return -1;
    }
    return 0;
}

static void pt_store_native(pt_store *s, const char *name)
{
    for (size_t i = 0; i < s->n_native; i++)
        if (!strcmp(s->native[i], name)) return;
    s->native = pt_xrealloc(s->native, (s->n_native + 1) * sizeof *s->native);
    s->native[s->n_native++] = strdup(name);
}

/* Does `expr` mention `name` as a whole identifier? */
static int pt_mentions(const char *expr, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = expr; (p = strstr(p, name)); p++) {
        int before = p > expr && pt_name_char((unsigned char)p[-1]);
        int after = pt_name_char((unsigned char)p[n]);
        if (!before && !after) return 1;
    }
    return 0;
}

/* ---- file reading ------------------------------------------------------------------------ */

typedef struct pt_line {
    char *text; /* trimmed; "" for blank/comment */
    int no;
} pt_line;

static pt_line *pt_read_lines(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    pt_line *ls = NULL;
    size_t n = 0, cap = 0;
    char *buf = NULL;
    size_t bcap = 0;
    ssize_t len;
    int no = 0;
    while ((len = getline(&buf, &bcap, f)) >= 0) {
        no++;
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
            buf[--len] = 0;
        char *p = (char *)pt_skip_ws(buf);
        if (*p == '#') p = "";
        if (n == cap) cap = cap ? cap * 2 : 256, ls = pt_xrealloc(ls, cap * sizeof *ls);
        ls[n].text = strdup(p);
        ls[n].no = no;
        n++;
    }
    free(buf);
    fclose(f);
    *n_out = n;
    return ls;
}

/* ---- load ------------------------------------------------------------------------------- */

static int pt_do_load(pt_store *s, pt_line *ls, size_t from, size_t to, int64_t interval, int nhcb, char *msg,
                      size_t msg_cap)
{
    cairn_batch *b = cairn_batch_new();
    cairn_err e;
    int rc = 0;
    for (size_t i = from; i < to; i++) {
        const char *p = ls[i].text;
        pt_lset desc;
        /* A series listed twice in one block: the later line replaces the earlier one
         * (upstream keeps the series of a load block in a map keyed by labels). */
        int replaced = 0;
        if (pt_parse_desc(&p, &desc) == 0) {
            for (size_t j = i + 1; j < to && !replaced; j++) {
                const char *p2 = ls[j].text;
                pt_lset d2;
                if (pt_parse_desc(&p2, &d2)) continue;
                replaced = d2.n == desc.n;
                for (size_t k = 0; replaced && k < desc.n; k++)
                    replaced = !strcmp(d2.v[k].name, desc.v[k].name) && !strcmp(d2.v[k].value, desc.v[k].value);
                pt_lset_free(&d2);
            }
            pt_lset_free(&desc);
        }
        if (replaced) continue;
        p = ls[i].text;
        if (pt_parse_desc(&p, &desc)) {
            snprintf(msg, msg_cap, "line %d: bad series descriptor", ls[i].no);
            rc = -1;
            break;
        }
        pt_seq seq;
        if (pt_parse_seq(p, &seq)) {
            snprintf(msg, msg_cap, "line %d: bad value sequence", ls[i].no);
            pt_lset_free(&desc);
            rc = -1;
            break;
        }
        const char *name = NULL;
        for (size_t k = 0; k < desc.n; k++)
            if (!strcmp(desc.v[k].name, "__name__")) name = desc.v[k].value;
        if (name && seq.has_native) pt_store_native(s, name);
        if (name && nhcb) {
            size_t nl = strlen(name);
            static const char *const suf[] = {"_bucket", "_sum", "_count"};
            for (int k = 0; k < 3; k++) {
                size_t sl = strlen(suf[k]);
                if (nl > sl && !strcmp(name + nl - sl, suf[k])) {
                    char *base = pt_strndup(name, nl - sl);
                    pt_store_native(s, base);
                    free(base);
                }
            }
        }
        cairn_label *cl = pt_xmalloc(desc.n * sizeof *cl);
        for (size_t k = 0; k < desc.n; k++)
            cl[k] = (cairn_label){desc.v[k].name, strlen(desc.v[k].name), desc.v[k].value, strlen(desc.v[k].value)};
        int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, cl, desc.n, &e);
        free(cl);
        if (ref < 0) {
            snprintf(msg, msg_cap, "line %d: %s", ls[i].no, e.msg);
            pt_lset_free(&desc);
            free(seq.p);
            rc = -1;
            break;
        }
        for (size_t k = 0; k < seq.n; k++) {
            if (!seq.p[k].present) continue;
            double v = seq.p[k].v;
            if (seq.p[k].stale) {
                uint64_t u = 0x7ff0000000000002ULL;
                memcpy(&v, &u, sizeof v);
            }
            if (cairn_batch_sample(b, ref, (int64_t)k * interval, v, &e)) {
                snprintf(msg, msg_cap, "line %d: %s", ls[i].no, e.msg);
                rc = -1;
                break;
            }
        }
        pt_lset_free(&desc);
        free(seq.p);
        if (rc) break;
    }
    if (!rc && cairn_commit(s->db, b, &e)) {
        snprintf(msg, msg_cap, "commit: %s", e.msg);
        rc = -1;
    }
    cairn_batch_free(b);
    return rc;
}

/* ---- eval parsing -------------------------------------------------------------------------- */

static int pt_is_number_line(const char *p)
{
    double d;
    const char *q = p;
    if (pt_parse_num(&q, &d)) return 0;
    return *pt_skip_ws(q) == 0;
}

static void pt_parse_eval(pt_line *ls, size_t from, size_t to, pt_case *c)
{
    memset(c, 0, sizeof *c);
    c->line = ls[from].no;
    const char *p = ls[from].text;
    /* eval[_fail|_ordered|_warn|_info] instant at T expr | eval range from T to T step D expr */
    const char *w = p;
    while (*p && *p != ' ' && *p != '\t') p++;
    size_t wl = (size_t)(p - w);
    if (wl == 9 && !strncasecmp(w, "eval_fail", 9)) c->expect_fail = 1;
    if (wl == 12 && !strncasecmp(w, "eval_ordered", 12)) c->ordered = 1;
    p = pt_skip_ws(p);
    if (pt_word_ci(p, "instant")) {
        p = pt_skip_ws(p + 7);
        if (!pt_word_ci(p, "at")) {
            c->bad = 1;
            return;
        }
        p += 2;
        if (pt_parse_duration(&p, &c->at)) {
            c->bad = 1;
            return;
        }
    } else if (pt_word_ci(p, "range")) {
        c->range = 1;
        p = pt_skip_ws(p + 5);
        if (!pt_word_ci(p, "from")) {
            c->bad = 1;
            return;
        }
        p += 4;
        if (pt_parse_duration(&p, &c->start)) {
            c->bad = 1;
            return;
        }
        p = pt_skip_ws(p);
        if (!pt_word_ci(p, "to")) {
            c->bad = 1;
            return;
        }
        p += 2;
        if (pt_parse_duration(&p, &c->end)) {
            c->bad = 1;
            return;
        }
        p = pt_skip_ws(p);
        if (!pt_word_ci(p, "step")) {
            c->bad = 1;
            return;
        }
        p += 4;
        if (pt_parse_duration(&p, &c->step)) {
            c->bad = 1;
            return;
        }
    } else {
        c->bad = 1;
        return;
    }
    c->expr = strdup(pt_skip_ws(p));
    for (size_t i = from + 1; i < to; i++) {
        const char *l = ls[i].text;
        if (strstr(l, "{{")) c->native = 1;
        if (pt_word_ci(l, "expect ")) {
            const char *e = pt_skip_ws(l + 7);
            if (pt_word_ci(e, "fail")) c->expect_fail = 1;
            else if (pt_word_ci(e, "ordered")) c->ordered = 1;
            else if (pt_word_ci(e, "range vector")) {
                e += 12;
                c->range_vector = 1;
                e = pt_skip_ws(e);
                if (!pt_word_ci(e, "from")) c->bad = 1;
                e += 4;
                if (pt_parse_duration(&e, &c->rv_start)) c->bad = 1;
                e = pt_skip_ws(e);
                if (!pt_word_ci(e, "to")) c->bad = 1;
                e += 2;
                if (pt_parse_duration(&e, &c->rv_end)) c->bad = 1;
                e = pt_skip_ws(e);
                if (!pt_word_ci(e, "step")) c->bad = 1;
                e += 4;
                if (pt_parse_duration(&e, &c->rv_step)) c->bad = 1;
            } else if (pt_word_ci(e, "string")) {
                e = pt_skip_ws(e + 6);
                c->has_string = 1;
                c->string = pt_parse_string(&e, &c->string_len);
                if (!c->string) c->bad = 1;
            }
            /* warn / info / no_warn / no_info: ignored */
            continue;
        }
        if (pt_word_ci(l, "expected_fail_message") || pt_word_ci(l, "expected_fail_regexp")) {
            c->expect_fail = 1;
            continue;
        }
        if (c->native) continue;
        if (!c->range && !c->range_vector && pt_is_number_line(l)) {
            const char *q = l;
            pt_parse_num(&q, &c->scalar);
            c->has_scalar = 1;
            continue;
        }
        const char *q = l;
        pt_expect_series es;
        memset(&es, 0, sizeof es);
        if (pt_parse_desc(&q, &es.ls) || pt_parse_seq(q, &es.seq)) {
            pt_lset_free(&es.ls);
            c->bad = 1;
            continue;
        }
        if (es.seq.has_native) c->native = 1;
        c->series = pt_xrealloc(c->series, (c->n_series + 1) * sizeof *c->series);
        c->series[c->n_series++] = es;
    }
}

/* ---- comparison ----------------------------------------------------------------------------- */

static int pt_almost_equal(double a, double b)
{
    const double eps = 1e-6, min_normal = 2.2250738585072014e-308;
    if (isnan(a) && isnan(b)) return 1;
    if (a == b) return 1;
    double abs_sum = fabs(a) + fabs(b), diff = fabs(a - b);
    if (a == 0 || b == 0 || abs_sum < min_normal) return diff < eps * min_normal;
    return diff / fmin(abs_sum, 1.7976931348623157e308) < eps;
}

typedef struct pt_result {
    char msg[1024];
} pt_result;

static void pt_fail(pt_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
}

/* Expected points of series `es` for a grid (start, step): the present items. */
static int pt_match_points(const pt_seq *seq, int64_t start, int64_t step, const int64_t *t, const double *v, size_t n,
                           pt_result *r)
{
    size_t k = 0;
    for (size_t i = 0; i < seq->n; i++) {
        if (!seq->p[i].present) continue;
        int64_t ts = start + (int64_t)i * step;
        if (k >= n || t[k] != ts) {
            pt_fail(r, "expected a point at %" PRId64 " ms, got %s", ts, k < n ? "another time" : "none");
            return 0;
        }
        if (!pt_almost_equal(seq->p[i].v, v[k])) {
            pt_fail(r, "at %" PRId64 " ms expected %.17g, got %.17g", ts, seq->p[i].v, v[k]);
            return 0;
        }
        k++;
    }
    if (k != n) {
        pt_fail(r, "got %zu points, expected %zu", n, k);
        return 0;
    }
    return 1;
}

static int pt_check(const pt_case *c, cairn_query *q, pt_result *r)
{
    int type = cairn_query_result_type(q);
    size_t ns = cairn_query_series_count(q);
    if (c->has_string) {
        const char *s;
        size_t n;
        if (type != CAIRN_RESULT_STRING || cairn_query_string(q, &s, &n)) {
            pt_fail(r, "expected a string result, got type %d", type);
            return 0;
        }
        if (n != c->string_len || memcmp(s, c->string, n)) {
            pt_fail(r, "expected string \"%s\", got \"%.*s\"", c->string, (int)n, s);
            return 0;
        }
        return 1;
    }
    if (c->has_scalar) {
        const double *v;
        size_t np;
        if (type != CAIRN_RESULT_SCALAR || cairn_query_series(q, 0, NULL, NULL, NULL, &v, &np) || np != 1) {
            pt_fail(r, "expected a scalar, got result type %d", type);
            return 0;
        }
        if (!pt_almost_equal(c->scalar, v[0])) {
            pt_fail(r, "expected scalar %.17g, got %.17g", c->scalar, v[0]);
            return 0;
        }
        return 1;
    }
    int want_matrix = c->range || c->range_vector;
    if (type == CAIRN_RESULT_SCALAR || type == CAIRN_RESULT_STRING ||
        (want_matrix != (type == CAIRN_RESULT_MATRIX) && ns > 0)) {
        pt_fail(r, "result type %d does not match the expected %s", type, want_matrix ? "matrix" : "vector");
        return 0;
    }
    if (ns != c->n_series) {
        char buf[512] = "";
        if (ns) {
            const cairn_label *ls;
            size_t nl;
            cairn_query_series(q, 0, &ls, &nl, NULL, NULL, NULL);
            pt_fmt_api_labels(ls, nl, buf, sizeof buf);
        }
        pt_fail(r, "expected %zu series, got %zu (first: %s)", c->n_series, ns, buf);
        return 0;
    }
    int *used = calloc(c->n_series + 1, sizeof *used);
    for (size_t i = 0; i < ns; i++) {
        const cairn_label *ls;
        size_t nl, np;
        const int64_t *t;
        const double *v;
        cairn_query_series(q, i, &ls, &nl, &t, &v, &np);
        size_t j;
        for (j = 0; j < c->n_series; j++)
            if (!used[j] && pt_lset_eq_api(&c->series[j].ls, ls, nl)) break;
        if (j == c->n_series) {
            char buf[512];
            pt_fmt_api_labels(ls, nl, buf, sizeof buf);
            pt_fail(r, "unexpected series %s", buf);
            free(used);
            return 0;
        }
        if (c->ordered && j != i) {
            pt_fail(r, "series %zu is out of order", i);
            free(used);
            return 0;
        }
        used[j] = 1;
        const pt_seq *seq = &c->series[j].seq;
        int ok;
        if (c->range) ok = pt_match_points(seq, c->start, c->step, t, v, np, r);
        else if (c->range_vector) ok = pt_match_points(seq, c->rv_start, c->rv_step, t, v, np, r);
        else {
            if (seq->n != 1 || !seq->p[0].present) {
                pt_fail(r, "bad expectation (one value per series)");
                ok = 0;
            } else if (np != 1) {
                pt_fail(r, "got %zu points for one series", np);
                ok = 0;
            } else if (!pt_almost_equal(seq->p[0].v, v[0])) {
                char buf[512];
                pt_fmt_labels(&c->series[j].ls, buf, sizeof buf);
                pt_fail(r, "%s: expected %.17g, got %.17g", buf, seq->p[0].v, v[0]);
                ok = 0;
            } else ok = 1;
        }
        if (!ok) {
            char buf[512], m2[sizeof r->msg];
            pt_fmt_labels(&c->series[j].ls, buf, sizeof buf);
            size_t bl = strlen(buf), ml = strlen(r->msg);
            if (bl > 400) bl = 400;
            if (bl + 2 + ml >= sizeof m2) ml = sizeof m2 - bl - 3;
            memcpy(m2, buf, bl);
            memcpy(m2 + bl, ": ", 2);
            memcpy(m2 + bl + 2, r->msg, ml);
            m2[bl + 2 + ml] = 0;
            memcpy(r->msg, m2, sizeof m2);
            free(used);
            return 0;
        }
    }
    free(used);
    return 1;
}

/* The instant result at `at` must equal the point at `at` of a range query around it. */
static int pt_check_range_consistency(pt_store *s, const pt_case *c, cairn_query *iq, pt_result *r)
{
    cairn_query_opts o;
    cairn_query_opts_default(&o);
    o.max_samples = 0;
    cairn_query *rq;
    cairn_err e;
    if (cairn_query_open(s->db, CAIRN_LANG_PROMQL, c->expr, strlen(c->expr), c->at - 60000, c->at + 60000, 60000, &o,
                         &rq, &e)) {
        pt_fail(r, "range check: query failed: %s", e.msg);
        return 0;
    }
    int ok = 1;
    size_t ni = cairn_query_series_count(iq), nr = cairn_query_series_count(rq);
    size_t found = 0;
    for (size_t i = 0; i < nr && ok; i++) {
        const cairn_label *ls;
        size_t nl, np;
        const int64_t *t;
        const double *v;
        cairn_query_series(rq, i, &ls, &nl, &t, &v, &np);
        for (size_t k = 0; k < np; k++) {
            if (t[k] != c->at) continue;
            found++;
            size_t j;
            for (j = 0; j < ni; j++) {
                const cairn_label *il;
                size_t inl, inp;
                const double *iv;
                cairn_query_series(iq, j, &il, &inl, NULL, &iv, &inp);
                if (inl != nl) continue;
                int eq = 1;
                for (size_t m = 0; m < nl && eq; m++)
                    eq = il[m].name_len == ls[m].name_len && il[m].value_len == ls[m].value_len &&
                         !memcmp(il[m].name, ls[m].name, ls[m].name_len) &&
                         !memcmp(il[m].value, ls[m].value, ls[m].value_len);
                if (eq) {
                    if (!pt_almost_equal(iv[0], v[k])) {
                        pt_fail(r, "range check: value %.17g differs from instant %.17g", v[k], iv[0]);
                        ok = 0;
                    }
                    break;
                }
            }
            if (ok && j == ni) {
                char buf[512];
                pt_fmt_api_labels(ls, nl, buf, sizeof buf);
                pt_fail(r, "range check: series %s not in the instant result", buf);
                ok = 0;
            }
        }
    }
    if (ok && found != ni) {
        pt_fail(r, "range check: %zu series at t, instant has %zu", found, ni);
        ok = 0;
    }
    cairn_query_close(rq);
    return ok;
}

/* ---- running a file ------------------------------------------------------------------------ */

typedef struct pt_counts {
    int passed, failed, skipped;
} pt_counts;

static const char *pt_readme_skip(const pt_store *s, const pt_case *c)
{
    static const char *const experimental[] = {"limitk",    "limit_ratio", "sort_by_label", "histogram_quantiles",
                                               "min_of",    "max_of",      "start_timestamp", "info"};
    static const char *const native_fns[] = {"histogram_count",  "histogram_sum",    "histogram_avg",
                                             "histogram_stddev", "histogram_stdvar", "histogram_fraction"};
    if (c->native) return "native histogram in the expected result (README rule)";
    for (size_t i = 0; i < sizeof native_fns / sizeof native_fns[0]; i++)
        if (strstr(c->expr, native_fns[i])) return "native-histogram function (README rule)";
    for (size_t i = 0; i < sizeof experimental / sizeof experimental[0]; i++) {
        const char *p = c->expr;
        size_t n = strlen(experimental[i]);
        while ((p = strstr(p, experimental[i]))) {
            int before = p > c->expr && pt_name_char((unsigned char)p[-1]);
            const char *a = p + n;
            while (pt_name_char((unsigned char)*a)) a++; /* sort_by_label_desc */
            a = pt_skip_ws(a);
            if (!before && *a == '(' && (size_t)(a - p) >= n) return "experimental function not implemented (README rule)";
            p += n;
        }
    }
    for (size_t i = 0; i < s->n_native; i++)
        if (pt_mentions(c->expr, s->native[i])) return "queries native-histogram data (README rule)";
    return NULL;
}

static void pt_run_case(pt_store *s, const char *fname, pt_case *c, pt_counts *k)
{
    const char *why = pt_skip_reason(fname, c->line);
    if (!why && !c->bad) why = pt_readme_skip(s, c);
    if (why) {
        k->skipped++;
        if (pt_verbose > 1) printf("  SKIP %s:%d %s (%s)\n", fname, c->line, c->expr ? c->expr : "", why);
        return;
    }
    pt_result r = {""};
    int ok = 0;
    if (c->bad) {
        pt_fail(&r, "could not parse the test case");
    } else {
        cairn_query_opts o;
        cairn_query_opts_default(&o);
        o.lookback_ms = 5 * 60 * 1000;
        o.subquery_step_ms = 60 * 1000;
        o.max_samples = 0; /* see docs/promql.md: cairn counts loaded samples, not Prometheus' peak */
        o.max_points_per_series = 0;
        cairn_query *q = NULL;
        cairn_err e;
        memset(&e, 0, sizeof e);
        int64_t start = c->range ? c->start : c->at, end = c->range ? c->end : c->at, step = c->range ? c->step : 0;
        int rc = cairn_query_open(s->db, CAIRN_LANG_PROMQL, c->expr, strlen(c->expr), start, end, step, &o, &q, &e);
        if (c->expect_fail) {
            ok = rc != 0;
            if (!ok) pt_fail(&r, "expected the query to fail, it succeeded");
        } else if (rc) {
            pt_fail(&r, "query failed: %s (%s)", e.msg, cairn_strerror(rc));
        } else {
            ok = pt_check(c, q, &r);
            if (ok && pt_range_check && !c->range && !c->ordered && !c->range_vector && !c->has_string &&
                !strstr(c->expr, "start()") && !strstr(c->expr, "end()") && !strstr(c->expr, "step()") &&
                !strstr(c->expr, "range()") &&
                cairn_query_result_type(q) != CAIRN_RESULT_MATRIX)
                ok = pt_check_range_consistency(s, c, q, &r);
        }
        cairn_query_close(q);
    }
    if (ok) {
        k->passed++;
    } else {
        k->failed++;
        if (pt_verbose) printf("  FAIL %s:%d %s\n       %s\n", fname, c->line, c->expr ? c->expr : "", r.msg);
    }
}

static int pt_is_cmd(const char *l)
{
    return pt_word_ci(l, "load") || pt_word_ci(l, "clear") || pt_word_ci(l, "eval");
}

static void pt_run_file(const char *path, pt_counts *total)
{
    const char *fname = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n;
    pt_line *ls = pt_read_lines(path, &n);
    if (!ls) {
        printf("%s: cannot read\n", fname);
        total->failed++;
        return;
    }
    pt_counts k = {0, 0, 0};
    pt_store s;
    memset(&s, 0, sizeof s);
    int store_ok = pt_store_open(&s) == 0;
    size_t i = 0;
    while (i < n) {
        if (!ls[i].text[0]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < n && ls[j].text[0] && !pt_is_cmd(ls[j].text)) j++;
        const char *l = ls[i].text;
        if (pt_word_ci(l, "clear")) {
            pt_store_close(&s);
            store_ok = pt_store_open(&s) == 0;
        } else if (pt_word_ci(l, "load") && pt_skip_reason(fname, ls[i].no)) {
            k.skipped++;
            if (pt_verbose > 1) printf("  SKIP %s:%d load (%s)\n", fname, ls[i].no, pt_skip_reason(fname, ls[i].no));
        } else if (pt_word_ci(l, "load")) {
            const char *p = l + 4;
            int nhcb = 0;
            if (pt_word_ci(p, "_with_nhcb")) nhcb = 1, p += 10;
            int64_t interval;
            char msg[512] = "";
            if (pt_parse_duration(&p, &interval) || !store_ok ||
                pt_do_load(&s, ls, i + 1, j, interval, nhcb, msg, sizeof msg)) {
                printf("  LOAD FAILED %s:%d %s\n", fname, ls[i].no, msg);
                k.failed++;
            }
        } else if (pt_word_ci(l, "eval")) {
            pt_case c;
            pt_parse_eval(ls, i, j, &c);
            if (store_ok) pt_run_case(&s, fname, &c, &k);
            else k.failed++;
            pt_case_free(&c);
        } else {
            printf("  %s:%d: unknown command\n", fname, ls[i].no);
            k.failed++;
        }
        i = j;
    }
    pt_store_close(&s);
    for (size_t m = 0; m < n; m++) free(ls[m].text);
    free(ls);
    printf("%s: %d passed, %d failed, %d skipped\n", fname, k.passed, k.failed, k.skipped);
    fflush(stdout);
    total->passed += k.passed;
    total->failed += k.failed;
    total->skipped += k.skipped;
}

static int pt_name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    const char *skip = "tests/promql/skip.txt";
    const char *only = NULL;
    char **paths = NULL;
    size_t np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) pt_verbose++;
        else if (!strcmp(argv[i], "-vv")) pt_verbose += 2;
        else if (!strcmp(argv[i], "--range-check")) pt_range_check = 1;
        else if (!strcmp(argv[i], "--no-range-check")) pt_range_check = 0;
        else if (!strcmp(argv[i], "--skip") && i + 1 < argc) skip = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            struct stat st;
            if (stat(argv[i], &st)) {
                fprintf(stderr, "promqltest: %s: %s\n", argv[i], strerror(errno));
                return 2;
            }
            if (S_ISDIR(st.st_mode)) {
                DIR *d = opendir(argv[i]);
                struct dirent *e;
                while (d && (e = readdir(d))) {
                    size_t l = strlen(e->d_name);
                    if (l < 6 || strcmp(e->d_name + l - 5, ".test")) continue;
                    if (only && !strstr(e->d_name, only)) continue;
                    char *p = pt_xmalloc(strlen(argv[i]) + l + 2);
                    sprintf(p, "%s/%s", argv[i], e->d_name);
                    paths = pt_xrealloc(paths, (np + 1) * sizeof *paths);
                    paths[np++] = p;
                }
                if (d) closedir(d);
            } else {
                paths = pt_xrealloc(paths, (np + 1) * sizeof *paths);
                paths[np++] = strdup(argv[i]);
            }
        }
    }
    if (!np) {
        fprintf(stderr, "usage: promqltest [-v|-vv] [--no-range-check] [--skip FILE] [--only NAME] DIR|FILE...\n");
        return 2;
    }
    pt_load_skips(skip);
    qsort(paths, np, sizeof *paths, pt_name_cmp);
    pt_counts total = {0, 0, 0};
    for (size_t i = 0; i < np; i++) {
        pt_run_file(paths[i], &total);
        free(paths[i]);
    }
    free(paths);
    if (total.skipped) printf("(%d cases skipped)\n", total.skipped);
    printf("promqltest: %d passed, %d failed\n", total.passed, total.failed);
    for (size_t i = 0; i < pt_n_skips; i++) free(pt_skips[i].file), free(pt_skips[i].reason);
    free(pt_skips);
    return total.failed ? 1 : 0;
}
