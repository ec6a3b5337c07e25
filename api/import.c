/*
 * import.c — `cairn import FILE [--data DIR] [--format prom|openmetrics]`:
 * load a Prometheus text exposition (0.0.4 or OpenMetrics 1.0, optionally
 * gzip-compressed) into a data directory, without a server.
 *
 * It writes through include/cairn.h only (open, batch, commit, close), the
 * same path an embedding appliance would take, and decodes with the same
 * ptext_decode() the HTTP import endpoint uses, so a file imported here and
 * the same file POSTed to /api/v1/import/prometheus store the same samples.
 *
 * Files can be far larger than a sensible batch, so the text is committed in
 * pieces of about IMPORT_CHUNK bytes. A piece always ends at a family
 * boundary: just before a "# HELP" or "# TYPE" line that does not follow
 * another metadata line, so a family's TYPE line and its samples are decoded
 * together and the decoder's per-family checks still hold. A file without
 * such lines (plain untyped samples) is cut at any line end once a piece has
 * grown to IMPORT_CHUNK_MAX. In OpenMetrics every piece but the last gets a
 * "# EOF" line appended, since the decoder requires one. Each piece is one
 * atomic commit; the import as a whole is not atomic: on an error the pieces
 * before it stay committed, and the message says how many samples that was
 * and at which line the bad piece begins.
 *
 * Samples without a timestamp get the time the import started (one value for
 * the whole file). cairn_commit refuses a piece with a sample older than
 * --retention-metrics or more than --ingest-max-future ahead of the clock
 * (the server's flags and defaults), naming series and timestamp. The format is taken from --format, else OpenMetrics when
 * the last line is "# EOF", else text 0.0.4. gzip is recognised by its magic
 * bytes. Progress goes to stderr as a one-line bar, only when stderr is a
 * terminal (isatty(2)); a summary line is always printed at the end.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cairn.h"
#include "ingest.h"
#include "server.h"

#define IMPORT_CHUNK (8u << 20)
#define IMPORT_CHUNK_MAX (64u << 20)
#define IMPORT_MAX_GUNZIP ((size_t)16 << 30)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_meta_line(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    return (n >= 7 && (!memcmp(p, "# HELP ", 7) || !memcmp(p, "# TYPE ", 7) || !memcmp(p, "# UNIT ", 7)));
}

/* End of the piece starting at `s`: a family boundary at or after s + IMPORT_CHUNK. */
static const char *piece_end(const char *s, const char *end)
{
    if ((size_t)(end - s) <= IMPORT_CHUNK) return end;
    const char *p = memchr(s + IMPORT_CHUNK, '\n', (size_t)(end - s - IMPORT_CHUNK));
    if (!p) return end;
    p++;
    const char *prev_line_meta_end = NULL;
    for (;;) {
        if (p >= end) return end;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        int meta = is_meta_line(p, le);
        if (meta && prev_line_meta_end != p) return p;
        if ((size_t)(p - s) >= IMPORT_CHUNK_MAX) return p;
        prev_line_meta_end = meta ? (nl ? nl + 1 : end) : NULL;
        if (!nl) return end;
        p = nl + 1;
    }
}

static int count_lines(const char *s, const char *e)
{
    int n = 0;
    for (const char *p = s; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) n++;
    return n;
}

static void progress(size_t done, size_t total, uint64_t samples, double t0)
{
    double el = now_s() - t0;
    int w = 30, fill = total ? (int)((double)done / (double)total * w) : w;
    char bar[40];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[w] = 0;
    fprintf(stderr, "\rimport [%s] %3d%%  %.1f MB/s  %" PRIu64 " samples ", bar,
            total ? (int)(100.0 * (double)done / (double)total) : 100, el > 0 ? (double)done / 1e6 / el : 0.0,
            samples);
}

static int import_usage(void)
{
    fprintf(stderr, "usage: cairn import FILE [--data DIR] [--format prom|openmetrics]\n"
                    "                    [--retention-metrics DURATION] [--ingest-max-future DURATION]\n"
                    "  FILE may be gzip-compressed; samples without a timestamp get the import time\n"
                    "  samples older than --retention-metrics (default 15d; 0 = no bound) or more than\n"
                    "  --ingest-max-future ahead of the clock (default 10m; 0 = no bound) are refused,\n"
                    "  as by `cairn serve` with the same flags\n");
    return 2;
}

int import_main(int argc, char **argv)
{
    const char *file = NULL, *data = "./data", *format = NULL;
    cairn_options o;
    cairn_options_default(&o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t d;
        if (!strcmp(a, "--data") && v) data = v, i++;
        else if (!strcmp(a, "--format") && v) format = v, i++;
        else if ((!strcmp(a, "--retention-metrics") || !strcmp(a, "--ingest-max-future")) && v) {
            if (server_parse_duration(v, &d)) {
                fprintf(stderr, "cairn import: %s: \"%s\" is not a duration (e.g. 15d, 10m, 0)\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--retention-metrics")) o.retention_metrics_ms = d;
            else o.max_future_ms = d;
            i++;
        } else if (a[0] == '-' && a[1]) return import_usage();
        else if (!file) file = a;
        else return import_usage();
    }
    if (!file) return import_usage();
    if (format && strcmp(format, "prom") && strcmp(format, "openmetrics")) return import_usage();

    int fd = open(file, O_RDONLY);
    if (fd < 0) {
        perror(file);
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        perror(file);
        close(fd);
        return 1;
    }
    size_t flen = (size_t)st.st_size;
    const char *map = NULL;
    if (flen) {
        map = mmap(NULL, flen, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            perror(file);
            close(fd);
            return 1;
        }
    }
    close(fd);
    int status = 1;
    buf gz;
    buf_init(&gz);
    buf tail; /* an OpenMetrics piece with "# EOF" appended */
    buf_init(&tail);
    cairn_db *db = NULL;
    cairn_batch *b = NULL;
    ingest_meta_list meta;
    ingest_meta_init(&meta);
    cairn_err e;
    memset(&e, 0, sizeof e);

    const char *text = map;
    size_t len = flen;
    if (len >= 2 && (uint8_t)text[0] == 0x1f && (uint8_t)text[1] == 0x8b) {
        if (ingest_gunzip((const uint8_t *)map, flen, IMPORT_MAX_GUNZIP, &gz, &e)) {
            fprintf(stderr, "cairn import: %s: %s\n", file, e.msg);
            goto out;
        }
        text = (const char *)gz.p;
        len = gz.len;
    }
    const char *end = text + len;
    int om;
    if (format) {
        om = !strcmp(format, "openmetrics");
    } else {
        const char *q = end;
        while (q > text && (q[-1] == '\n' || q[-1] == '\r' || q[-1] == ' ')) q--;
        om = q - text >= 5 && !memcmp(q - 5, "# EOF", 5);
    }

    o.background = 0;
    if (cairn_open(data, &o, &db, &e)) {
        fprintf(stderr, "cairn import: %s\n", e.msg);
        goto out;
    }
    b = cairn_batch_new();
    if (!b) {
        fprintf(stderr, "cairn import: out of memory\n");
        goto out;
    }
    ingest_opts io;
    ingest_opts_default(&io);
    io.max_body_bytes = IMPORT_CHUNK_MAX + IMPORT_CHUNK + 16;
    int tty = isatty(2);
    double t0 = now_s(), last_draw = 0;
    uint64_t samples = 0;
    int line_base = 1;
    const char *p = text;
    while (p < end) {
        const char *pe = piece_end(p, end);
        if ((size_t)(pe - p) > io.max_body_bytes) io.max_body_bytes = (size_t)(pe - p) + 16;
        const char *dp = p;
        size_t dl = (size_t)(pe - p);
        if (om && pe < end) {
            buf_reset(&tail);
            if (buf_put(&tail, p, dl) || buf_put(&tail, "# EOF\n", 6)) {
                fprintf(stderr, "cairn import: out of memory\n");
                goto out;
            }
            dp = (const char *)tail.p;
            dl = tail.len;
        }
        int rc = ptext_decode(dp, dl, om ? PTEXT_OPENMETRICS : PTEXT_PROM, &io, b, &meta, &e);
        if (rc == CAIRN_EPARSE && e.line > 0) {
            /* drop the decoder's chunk-relative "line:col: " prefix(es); print the file's line */
            const char *m = e.msg;
            for (;;) {
                const char *q = m;
                while (*q >= '0' && *q <= '9') q++;
                if (q == m || *q != ':') break;
                q++;
                const char *c = q;
                while (*q >= '0' && *q <= '9') q++;
                if (q == c || q[0] != ':' || q[1] != ' ') break;
                m = q + 2;
            }
            fprintf(stderr, "%scairn import: %s:%d:%d: %s\n", tty ? "\n" : "", file, e.line + line_base - 1, e.col,
                    m);
            goto fail;
        }
        if (rc) {
            fprintf(stderr, "%scairn import: %s: in the piece starting at line %d: %s\n", tty ? "\n" : "", file,
                    line_base, e.msg);
            goto fail;
        }
        size_t n = cairn_batch_size(b);
        if (n && cairn_commit(db, b, &e)) {
            fprintf(stderr, "%scairn import: %s: commit of the piece starting at line %d: %s\n", tty ? "\n" : "",
                    file, line_base, e.msg);
            goto fail;
        }
        samples += n;
        cairn_batch_reset(b);
        line_base += count_lines(p, pe);
        p = pe;
        if (tty && (now_s() - last_draw > 0.1 || p == end)) {
            progress((size_t)(p - text), len, samples, t0);
            last_draw = now_s();
        }
    }
    {
        double el = now_s() - t0;
        fprintf(stderr, "%simported %" PRIu64 " samples, %zu metric families with metadata, %.1f MB of %s text in %.2f s (%.1f MB/s)\n",
                tty ? "\n" : "", samples, meta.n, (double)len / 1e6, om ? "OpenMetrics" : "Prometheus", el,
                el > 0 ? (double)len / 1e6 / el : 0.0);
    }
    status = 0;
    goto out;
fail:
    fprintf(stderr, "cairn import: %" PRIu64 " samples before that point were committed\n", samples);
out:
    cairn_batch_free(b);
    cairn_close(db);
    ingest_meta_free(&meta);
    buf_free(&tail);
    buf_free(&gz);
    if (map) munmap((void *)map, flen);
    return status;
}
