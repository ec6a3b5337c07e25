/*
 * main.c — the `cairn` command: one binary for the server and the CLI tools.
 *
 *   cairn serve [--listen ADDR:PORT] [--data DIR] [--retention-metrics D] [--retention-logs D] ...
 *       the HTTP server (api/server.c; every flag in docs/api.md).
 *   cairn import FILE [--data DIR] [--format prom|openmetrics]
 *       load a text exposition into a data dir (api/import.c).
 *   cairn dump [--data DIR] [--logs] [--match NAME(=|!=|=~|!~)VALUE]... [--start MS] [--end MS]
 *       print series (or log streams) and their samples (entries) like
 *       `promtool tsdb dump`: one line per sample, `{labels} value timestamp`.
 *   cairn serve / import / query  (api/server.c, api/import.c, api/query_cli.c)
 *   cairn stats [--data DIR]      counts and memory after open (and WAL replay)
 *   cairn checkpoint [--data DIR] force a checkpoint
 *   cairn version
 *
 * The tools use only include/cairn.h, which keeps the embeddable API honest:
 * whatever the CLI can do, an embedding appliance can do too.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn.h"
#include "server.h"

#define MAX_MATCHERS 32

typedef struct cli {
    const char *data;
    int logs;
    int64_t start, end;
    cairn_matcher m[MAX_MATCHERS];
    size_t n_m;
} cli;

static int usage(void)
{
    fprintf(stderr,
            "usage: cairn <command> [options]\n"
            "commands:\n"
            "  serve       run the HTTP server (cairn serve --help for flags)\n"
            "  import      load a Prometheus text/OpenMetrics file: cairn import FILE [--data DIR]\n"
            "  query       run a PromQL or LogQL query on a data dir (cairn query --help)\n"
            "  dump        print series/streams and their samples/entries\n"
            "              --data DIR (default ./data) --logs --match L=V|L!=V|L=~RE|L!~RE --start T --end T\n"
            "              (T in ms for metrics, ns for logs)\n"
            "  stats       print counts after opening the data dir\n"
            "  checkpoint  force a checkpoint\n"
            "  version     print the version\n");
    return 2;
}

static int parse_matcher(const char *s, cairn_matcher *m)
{
    const char *p = s;
    while (*p && *p != '=' && *p != '!') p++;
    if (!*p || p == s) return -1;
    m->name = s;
    m->name_len = (size_t)(p - s);
    if (p[0] == '=' && p[1] == '~') m->op = CAIRN_MATCH_RE, p += 2;
    else if (p[0] == '!' && p[1] == '~') m->op = CAIRN_MATCH_NRE, p += 2;
    else if (p[0] == '!' && p[1] == '=') m->op = CAIRN_MATCH_NE, p += 2;
    else if (p[0] == '=') m->op = CAIRN_MATCH_EQ, p += 1;
    else return -1;
    m->value = p;
    m->value_len = strlen(p);
    return 0;
}

static int parse_args(int argc, char **argv, cli *c)
{
    c->data = "./data";
    c->start = INT64_MIN;
    c->end = INT64_MAX;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--logs")) {
            c->logs = 1;
        } else if (!strcmp(a, "--data") && v) {
            c->data = v, i++;
        } else if (!strcmp(a, "--start") && v) {
            c->start = strtoll(v, NULL, 10), i++;
        } else if (!strcmp(a, "--end") && v) {
            c->end = strtoll(v, NULL, 10), i++;
        } else if (!strcmp(a, "--match") && v) {
            if (c->n_m == MAX_MATCHERS || parse_matcher(v, &c->m[c->n_m])) {
                fprintf(stderr, "cairn: bad matcher %s (want NAME=VALUE, NAME!=VALUE, NAME=~RE or NAME!~RE)\n", v);
                return -1;
            }
            c->n_m++, i++;
        } else {
            fprintf(stderr, "cairn: unknown or incomplete option %s\n", a);
            return -1;
        }
    }
    return 0;
}

static int open_db(const cli *c, cairn_db **db)
{
    cairn_options o;
    cairn_options_default(&o);
    o.background = 0;
    cairn_err e;
    if (cairn_open(c->data, &o, db, &e)) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        return 1;
    }
    return 0;
}

static void print_labels(const cairn_label *ls, size_t n)
{
    putchar('{');
    for (size_t i = 0; i < n; i++) {
        printf("%s%.*s=\"", i ? ", " : "", (int)ls[i].name_len, ls[i].name);
        for (size_t j = 0; j < ls[i].value_len; j++) {
            char ch = ls[i].value[j];
            if (ch == '"' || ch == '\\') printf("\\%c", ch);
            else if (ch == '\n') fputs("\\n", stdout);
            else putchar(ch);
        }
        putchar('"');
    }
    putchar('}');
}

static void print_value(double v)
{
    char b[40];
    snprintf(b, sizeof b, "%.17g", v);
    if (strtod(b, NULL) != v) {
        fputs(b, stdout);
        return;
    }
    /* shortest representation that round-trips */
    for (int p = 1; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (strtod(b, NULL) == v) break;
    }
    fputs(b, stdout);
}

static int cmd_dump(const cli *c)
{
    cairn_db *db;
    if (open_db(c, &db)) return 1;
    cairn_err e;
    cairn_series_set *ss;
    int kind = c->logs ? CAIRN_KIND_LOG : CAIRN_KIND_METRIC;
    if (cairn_select(db, kind, c->m, c->n_m, c->start, c->end, &ss, &e)) {
        fprintf(stderr, "cairn: %s\n", e.msg);
        cairn_close(db);
        return 1;
    }
    uint64_t id;
    const cairn_label *ls;
    size_t nl;
    int rc = 0;
    while (!rc && cairn_series_set_next(ss, &id, &ls, &nl) == 1) {
        if (!c->logs) {
            cairn_samples *it;
            if (cairn_samples_open(db, id, c->start, c->end, &it, &e)) {
                fprintf(stderr, "cairn: %s\n", e.msg);
                rc = 1;
                break;
            }
            int64_t t;
            double v;
            int r;
            while ((r = cairn_samples_next(it, &t, &v)) == 1) {
                print_labels(ls, nl);
                putchar(' ');
                print_value(v);
                printf(" %" PRId64 "\n", t);
            }
            if (r < 0) fprintf(stderr, "cairn: series %" PRIu64 ": %s\n", id, cairn_strerror(r)), rc = 1;
            cairn_samples_close(it);
        } else {
            cairn_entries *it;
            if (cairn_entries_open(db, id, c->start, c->end, CAIRN_FORWARD, NULL, 0, NULL, NULL, &it, &e)) {
                fprintf(stderr, "cairn: %s\n", e.msg);
                rc = 1;
                break;
            }
            int64_t t;
            const char *line;
            size_t len, nm;
            const cairn_label *md;
            int r;
            while ((r = cairn_entries_next(it, &t, &line, &len, &md, &nm)) == 1) {
                print_labels(ls, nl);
                printf(" %" PRId64 " ", t);
                if (nm) {
                    print_labels(md, nm);
                    putchar(' ');
                }
                fwrite(line, 1, len, stdout);
                putchar('\n');
            }
            if (r < 0) fprintf(stderr, "cairn: stream %" PRIu64 ": %s\n", id, cairn_strerror(r)), rc = 1;
            cairn_entries_close(it);
        }
    }
    cairn_series_set_close(ss);
    cairn_close(db);
    return rc;
}

static int cmd_stats(const cli *c)
{
    cairn_db *db;
    if (open_db(c, &db)) return 1;
    cairn_stats st;
    cairn_stats_get(db, &st);
    printf("series %" PRIu64 "\nstreams %" PRIu64 "\nwal_bytes %" PRIu64 "\nmem_bytes %" PRIu64 "\n", st.n_series,
           st.n_streams, st.wal_bytes, st.mem_bytes);
    cairn_close(db);
    return 0;
}

static int cmd_checkpoint(const cli *c)
{
    cairn_db *db;
    if (open_db(c, &db)) return 1;
    cairn_err e;
    int rc = cairn_checkpoint(db, &e);
    if (rc) fprintf(stderr, "cairn: %s\n", e.msg);
    cairn_close(db);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage();
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("cairn %s\n", cairn_version());
        return 0;
    }
    if (!strcmp(cmd, "serve")) return server_main(argc, argv);
    if (!strcmp(cmd, "import")) return import_main(argc, argv);
    if (!strcmp(cmd, "query")) { int query_main(int, char **); return query_main(argc, argv); } /* api/query_cli.c */
    cli c;
    memset(&c, 0, sizeof c);
    if (parse_args(argc, argv, &c)) return 2;
    if (!strcmp(cmd, "dump")) return cmd_dump(&c);
    if (!strcmp(cmd, "stats")) return cmd_stats(&c);
    if (!strcmp(cmd, "checkpoint")) return cmd_checkpoint(&c);
    return usage();
}
