/*
 * query_cli.c — `cairn query`: run a PromQL query against a data directory.
 *
 *   cairn query [--data DIR] [--lang promql|logql]
 *               [--time T | --start T --end T --step D]
 *               [--lookback D] [--timeout D] [--max-samples N] [--json] QUERY
 *
 * T is Unix seconds (fractions allowed, e.g. 1700000000.5), an RFC 3339 time
 * (2023-11-14T22:13:20Z) or `now`; D is a Prometheus duration (1h30m, 15s)
 * or plain seconds. Without --time/--start the query is an instant query at
 * now. With --start and --end (and --step, default 60s) it is a range query.
 *
 * Output is a table by default: one line per series and point,
 * `{labels} value @t` with t in seconds; --json prints the body Prometheus'
 * /api/v1/query(_range) would return (timestamps as numbers, values as
 * strings, see ../shared/docs/api-contract.md A.4), so results can be
 * diffed against a Prometheus server.
 *
 * Like `cairn dump`, this tool uses only include/cairn.h: whatever it does,
 * an embedding application can do. The data directory is opened without
 * background work and closed at the end; a running server holding the same
 * directory makes the open fail with a message naming it.
 */
#include "query_cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn.h"
#include "server.h"

typedef struct qcli {
    const char *data, *query;
    int lang, json, range;
    int64_t t, start, end, step;
    cairn_query_opts o;
} qcli;

static int qc_usage(void)
{
    fprintf(stderr,
            "usage: cairn query [--data DIR] [--lang promql|logql] [--time T | --start T --end T --step D]\n"
            "                   [--lookback D] [--timeout D] [--max-samples N] [--json] QUERY\n"
            "  T: Unix seconds, RFC 3339 (2023-11-14T22:13:20Z) or now; D: duration (5m, 1h30m) or seconds\n");
    return 2;
}

static int64_t qc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unix seconds (with fraction), RFC 3339 with Z or ±hh:mm, or "now". */
static int qc_parse_time(const char *s, int64_t *ms)
{
    if (!strcmp(s, "now")) {
        *ms = qc_now_ms();
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end != s && !*end && !errno && isfinite(d)) {
        *ms = (int64_t)llround(d * 1000.0);
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return -1;
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) frac += (*p - '0') * scale;
    }
    int64_t off = 0;
    if (*p == 'Z') p++;
    else if (*p == '+' || *p == '-') {
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return -1;
        off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else return -1;
    if (*p) return -1;
    *ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
    return 0;
}

static int qc_parse_dur(const char *s, int64_t *ms)
{
    if (server_parse_duration(s, ms) == 0) return 0;
    char *end;
    double d = strtod(s, &end);
    if (end == s || *end || !(d >= 0) || !isfinite(d)) return -1;
    *ms = (int64_t)llround(d * 1000.0);
    return 0;
}

static int qc_args(int argc, char **argv, qcli *c)
{
    c->data = "./data";
    c->lang = CAIRN_LANG_PROMQL;
    c->step = 60000;
    cairn_query_opts_default(&c->o);
    int have_t = 0, have_s = 0, have_e = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--json")) c->json = 1;
        else if (!strcmp(a, "--data") && v) c->data = v, i++;
        else if (!strcmp(a, "--lang") && v) {
            if (!strcmp(v, "promql")) c->lang = CAIRN_LANG_PROMQL;
            else if (!strcmp(v, "logql")) c->lang = CAIRN_LANG_LOGQL;
            else bad = 1;
            i++;
        } else if (!strcmp(a, "--time") && v) bad = qc_parse_time(v, &c->t), have_t = 1, i++;
        else if (!strcmp(a, "--start") && v) bad = qc_parse_time(v, &c->start), have_s = 1, i++;
        else if (!strcmp(a, "--end") && v) bad = qc_parse_time(v, &c->end), have_e = 1, i++;
        else if (!strcmp(a, "--step") && v) bad = qc_parse_dur(v, &c->step) || c->step <= 0, i++;
        else if (!strcmp(a, "--lookback") && v) bad = qc_parse_dur(v, &c->o.lookback_ms), i++;
        else if (!strcmp(a, "--timeout") && v) bad = qc_parse_dur(v, &c->o.timeout_ms), i++;
        else if (!strcmp(a, "--max-samples") && v) c->o.max_samples = strtoull(v, NULL, 10), i++;
        else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "cairn query: unknown or incomplete option %s\n", a);
            return -1;
        } else if (!c->query) c->query = a;
        else {
            fprintf(stderr, "cairn query: more than one query given (quote the query)\n");
            return -1;
        }
        if (bad) {
            fprintf(stderr, "cairn query: bad value for %s: %s\n", a, v ? v : "");
            return -1;
        }
    }
    if (!c->query) return -1;
    if (have_t && (have_s || have_e)) {
        fprintf(stderr, "cairn query: use either --time or --start/--end\n");
        return -1;
    }
    if (have_s != have_e) {
        fprintf(stderr, "cairn query: a range query needs both --start and --end\n");
        return -1;
    }
    c->range = have_s;
    if (!have_t && !have_s) c->t = qc_now_ms();
    return 0;
}

/* Prometheus' spelling of a sample value (api-contract A.4). */
static void qc_value(double v, char *b, size_t cap)
{
    if (isnan(v)) {
        snprintf(b, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(b, cap, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    int p;
    for (p = 1; p <= 17; p++) {
        snprintf(b, cap, "%.*g", p, v);
        if (strtod(b, NULL) == v) break;
    }
    double a = fabs(v);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) return; /* %g already uses e-07 / e+21 */
    /* Fixed notation, as Go's 'f' with shortest precision. */
    char *e = strchr(b, 'e');
    if (!e) return;
    int prec = p - 1 - atoi(e + 1);
    snprintf(b, cap, "%.*f", prec > 0 ? prec : 0, v);
}

/* Timestamp in seconds with exactly three decimals when needed. */
static void qc_time(int64_t ms, char *b, size_t cap)
{
    int64_t s = ms / 1000, r = ms % 1000;
    if (r < 0) r = -r;
    if (!r) snprintf(b, cap, "%lld", (long long)s);
    else snprintf(b, cap, "%s%lld.%03lld", (ms < 0 && s == 0) ? "-" : "", (long long)s, (long long)r);
}

static void qc_json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch == '\n') fputs("\\n", stdout);
        else if (ch == '\t') fputs("\\t", stdout);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void qc_labels_table(const cairn_label *ls, size_t n)
{
    const cairn_label *name = NULL;
    for (size_t i = 0; i < n; i++)
        if (ls[i].name_len == 8 && !memcmp(ls[i].name, "__name__", 8)) name = &ls[i];
    if (name) printf("%.*s", (int)name->value_len, name->value);
    putchar('{');
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (&ls[i] == name) continue;
        printf("%s%.*s=", first ? "" : ", ", (int)ls[i].name_len, ls[i].name);
        qc_json_str(ls[i].value, ls[i].value_len);
        first = 0;
    }
    putchar('}');
}

/* LogQL log query results, as Loki's API shapes them. */
static void qc_print_streams(const cairn_query *q, int json)
{
    if (json) printf("{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[");
    for (size_t i = 0; i < cairn_query_series_count(q); i++) {
        const cairn_label *ls;
        size_t nl, ne;
        cairn_query_stream(q, i, &ls, &nl, &ne);
        if (json) {
            printf("%s{\"stream\":{", i ? "," : "");
            for (size_t k = 0; k < nl; k++) {
                if (k) putchar(',');
                qc_json_str(ls[k].name, ls[k].name_len);
                putchar(':');
                qc_json_str(ls[k].value, ls[k].value_len);
            }
            printf("},\"values\":[");
        }
        for (size_t j = 0; j < ne; j++) {
            int64_t t;
            const char *line;
            size_t len;
            cairn_query_entry(q, i, j, &t, &line, &len);
            if (json) {
                printf("%s[\"%lld\",", j ? "," : "", (long long)t);
                qc_json_str(line, len);
                putchar(']');
            } else {
                qc_labels_table(ls, nl);
                printf(" %lld %.*s\n", (long long)t, (int)len, line);
            }
        }
        if (json) printf("]}");
    }
    if (json) printf("]}}\n");
}

static void qc_print_json(const cairn_query *q, int64_t t)
{
    static const char *const types[] = {"", "scalar", "vector", "matrix", "string"};
    int type = cairn_query_result_type(q);
    char tb[40], vb[40];
    if (type == CAIRN_RESULT_STREAMS) {
        qc_print_streams(q, 1);
        return;
    }
    printf("{\"status\":\"success\",\"data\":{\"resultType\":\"%s\",\"result\":", types[type]);
    if (type == CAIRN_RESULT_STRING) {
        const char *s;
        size_t n;
        cairn_query_string(q, &s, &n);
        qc_time(t, tb, sizeof tb);
        printf("[%s,", tb);
        qc_json_str(s, n);
        printf("]}}\n");
        return;
    }
    if (type == CAIRN_RESULT_SCALAR) {
        const int64_t *ts;
        const double *v;
        cairn_query_series(q, 0, NULL, NULL, &ts, &v, NULL);
        qc_time(ts[0], tb, sizeof tb);
        qc_value(v[0], vb, sizeof vb);
        printf("[%s,\"%s\"]}}\n", tb, vb);
        return;
    }
    putchar('[');
    for (size_t i = 0; i < cairn_query_series_count(q); i++) {
        const cairn_label *ls;
        size_t nl, np;
        const int64_t *ts;
        const double *v;
        cairn_query_series(q, i, &ls, &nl, &ts, &v, &np);
        printf("%s{\"metric\":{", i ? "," : "");
        for (size_t k = 0; k < nl; k++) {
            if (k) putchar(',');
            qc_json_str(ls[k].name, ls[k].name_len);
            putchar(':');
            qc_json_str(ls[k].value, ls[k].value_len);
        }
        printf("},%s", type == CAIRN_RESULT_VECTOR ? "\"value\":" : "\"values\":[");
        for (size_t k = 0; k < np; k++) {
            qc_time(ts[k], tb, sizeof tb);
            qc_value(v[k], vb, sizeof vb);
            printf("%s[%s,\"%s\"]", k ? "," : "", tb, vb);
        }
        printf("%s}", type == CAIRN_RESULT_VECTOR ? "" : "]");
    }
    printf("]}}\n");
}

static void qc_print_table(const cairn_query *q, int64_t t)
{
    int type = cairn_query_result_type(q);
    char tb[40], vb[40];
    if (type == CAIRN_RESULT_STREAMS) {
        qc_print_streams(q, 0);
        return;
    }
    if (type == CAIRN_RESULT_STRING) {
        const char *s;
        size_t n;
        cairn_query_string(q, &s, &n);
        qc_time(t, tb, sizeof tb);
        printf("%.*s @%s\n", (int)n, s, tb);
        return;
    }
    size_t ns = cairn_query_series_count(q);
    for (size_t i = 0; i < ns; i++) {
        const cairn_label *ls;
        size_t nl, np;
        const int64_t *ts;
        const double *v;
        cairn_query_series(q, i, &ls, &nl, &ts, &v, &np);
        for (size_t k = 0; k < np; k++) {
            qc_time(ts[k], tb, sizeof tb);
            qc_value(v[k], vb, sizeof vb);
            if (type != CAIRN_RESULT_SCALAR) {
                qc_labels_table(ls, nl);
                putchar(' ');
            }
            printf("%s @%s\n", vb, tb);
        }
    }
    if (!ns && type != CAIRN_RESULT_SCALAR) fprintf(stderr, "(empty result)\n");
}

int query_main(int argc, char **argv)
{
    qcli c;
    memset(&c, 0, sizeof c);
    if (qc_args(argc, argv, &c)) return qc_usage();
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    cairn_db *db;
    cairn_err e;
    if (cairn_open(c.data, &o, &db, &e)) {
        fprintf(stderr, "cairn query: %s\n", e.msg);
        return 1;
    }
    cairn_query *q;
    int64_t start = c.range ? c.start : c.t, end = c.range ? c.end : c.t, step = c.range ? c.step : 0;
    int rc = cairn_query_open(db, c.lang, c.query, strlen(c.query), start, end, step, &c.o, &q, &e);
    if (rc) {
        if (c.json)
            printf("{\"status\":\"error\",\"errorType\":\"%s\",\"error\":", rc == CAIRN_EPARSE ? "bad_data" : "execution");
        if (c.json) {
            qc_json_str(e.msg, strlen(e.msg));
            printf("}\n");
        } else {
            fprintf(stderr, "cairn query: %s\n", e.msg);
        }
        cairn_close(db);
        return 1;
    }
    if (c.json) qc_print_json(q, start);
    else qc_print_table(q, start);
    cairn_query_close(q);
    cairn_close(db);
    return 0;
}
