/*
 * ingest — the decoders that turn request bodies into one cairn_batch.
 *
 * Module contract. Every decoder here is a pure function of (bytes, length,
 * options): it reads nothing else (no clock, no environment, no globals; the
 * receive time is an option), writes only the batch and the metadata list it
 * is given, and never keeps a pointer into the body. On success the batch holds
 * every series/stream and sample/entry of the request; on failure the batch
 * and the metadata list are reset (emptied), so a caller can never commit half
 * a request, and `err` says what was wrong and where (series labels, stream
 * and entry index, line:col).
 *
 * Codes, and what the HTTP layer should answer:
 *   CAIRN_ELIMIT    the body (or its decompressed form) is larger than
 *                   ingest_opts.max_body_bytes                        -> 413
 *   CAIRN_ECORRUPT  undecodable bytes: snappy, gzip, protobuf wire    -> 400
 *   CAIRN_EPARSE    text or JSON syntax; err->line/col set           -> 400
 *   CAIRN_EINVAL    well-formed but invalid: labels, timestamps, line
 *                   size, unsupported OTLP temporality                -> 400
 *   CAIRN_ENOMEM    our fault                                         -> 5xx
 *
 * Nothing here is thread-shared: decoders may run concurrently on different
 * batches. The accepted formats, mapping rules and limits are documented in
 * docs/ingest.md.
 */
#ifndef CAIRN_INGEST_H
#define CAIRN_INGEST_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

/* ==== Metadata side list ==================================================== */

/* Metric types; the numbers are remote_write's MetricMetadata.MetricType. */
enum {
    INGEST_TYPE_UNKNOWN = 0,
    INGEST_TYPE_COUNTER = 1,
    INGEST_TYPE_GAUGE = 2,
    INGEST_TYPE_HISTOGRAM = 3,
    INGEST_TYPE_GAUGEHISTOGRAM = 4,
    INGEST_TYPE_SUMMARY = 5,
    INGEST_TYPE_INFO = 6,
    INGEST_TYPE_STATESET = 7
};

/* One metric family's metadata. Strings are owned by the list (NUL-terminated
 * for convenience; lengths are authoritative). */
typedef struct ingest_meta {
    char *name;
    size_t name_len;
    int type; /* INGEST_TYPE_* */
    char *help;
    size_t help_len;
    char *unit;
    size_t unit_len;
} ingest_meta;

typedef struct ingest_meta_list {
    ingest_meta *v;
    size_t n, cap;
    uint32_t *slot; /* open-addressing index into v (index + 1; 0 = empty) */
    size_t n_slot;
} ingest_meta_list;

void ingest_meta_init(ingest_meta_list *l);
void ingest_meta_free(ingest_meta_list *l);
void ingest_meta_reset(ingest_meta_list *l);
/* Index of `name` or -1. */
long ingest_meta_find(const ingest_meta_list *l, const char *name, size_t name_len);
/*
 * Add or update family `name`. A field is set when given: type >= 0, help or
 * unit non-NULL. Copies everything. @return CAIRN_OK or CAIRN_ENOMEM.
 */
int ingest_meta_set(ingest_meta_list *l, const char *name, size_t name_len, int type, const char *help,
                    size_t help_len, const char *unit, size_t unit_len);
/* "counter", "gauge", ... ("unknown" for anything else). */
const char *ingest_type_name(int type);

/* ==== Options ================================================================ */

typedef struct ingest_opts {
    size_t max_body_bytes;    /* body and decompressed body cap. Default 64 MiB */
    int64_t default_t_ms;     /* text samples without a timestamp. Default: wall clock */
    int64_t now_ns;           /* receive time: log time windows, OTLP logs without time. Default: wall clock */
    /* metric series */
    uint32_t max_labels;      /* Default 64 */
    uint32_t max_name_bytes;  /* Default 1024 */
    uint32_t max_value_bytes; /* Default 4096 */
    /* log streams (Loki's defaults) */
    uint32_t log_max_labels;       /* label names per stream, service_name not counted. Default 15 */
    uint32_t log_max_value_bytes;  /* Default 2048 */
    uint32_t max_line_bytes;       /* Default 256 KiB */
    uint32_t max_meta_bytes;       /* structured metadata bytes per entry. Default 64 KiB */
    uint32_t max_meta_entries;     /* structured metadata entries per entry. Default 128 */
    int64_t reject_old_ns;         /* older than now - this -> EINVAL; 0 = off. Default 7 d */
    int64_t future_grace_ns;       /* newer than now + this -> EINVAL; 0 = off. Default 10 min */
    int add_service_name;          /* Loki's service_name discovery. Default 1 */
    /* structure bounds */
    uint32_t max_depth;            /* JSON / AnyValue nesting. Default 64 */
    /* OTLP logs: resource attributes promoted to stream labels; NULL = Loki's default list */
    const char *const *otlp_index_attrs;
    size_t n_otlp_index_attrs;
} ingest_opts;

/* Fill `o` with the defaults above; now_ns and default_t_ms from CLOCK_REALTIME. */
void ingest_opts_default(ingest_opts *o);

/* ==== Body codecs ============================================================= */

/*
 * Inflate a gzip (RFC 1952, concatenated members allowed) or zlib (RFC 1950,
 * HTTP "deflate") body into `out` (appended). Output is bounded by max_out
 * before it is allocated: more -> CAIRN_ELIMIT ("decompressed body exceeds
 * N bytes"). Corrupt or truncated input -> CAIRN_ECORRUPT.
 */
int ingest_gunzip(const uint8_t *src, size_t len, size_t max_out, buf *out, cairn_err *err);
/*
 * Decode a snappy *block* (not framed) into `out` (appended). The declared
 * length is checked against max_out (CAIRN_ELIMIT) before allocating; bad
 * input -> CAIRN_ECORRUPT.
 */
int ingest_unsnappy(const uint8_t *src, size_t len, size_t max_out, buf *out, cairn_err *err);

/* ==== Decoders ================================================================= */

/*
 * Prometheus remote_write 1.0: a snappy-compressed prometheus.WriteRequest.
 * Series go into `b` (labels validated and sorted; duplicates rejected with
 * the series named), MetricMetadata into `meta` (may be NULL). A request with
 * only metadata is valid. Native histograms and exemplars are dropped.
 * `b` and `meta` are borrowed; on error both are reset.
 */
int rw_decode(const uint8_t *body, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
              cairn_err *err);
/* The same for an already decompressed protobuf message. */
int rw_decode_pb(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
                 cairn_err *err);
/*
 * The protobuf-c decoder of the same message (ingest/remote_write_ref.c): the
 * reference rw_decode_pb is tested against. Same contract and mapping; wire
 * errors give CAIRN_ECORRUPT with a shorter message. Not for serving: it
 * allocates a message tree per request.
 */
int rw_decode_pb_ref(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, ingest_meta_list *meta,
                     cairn_err *err);

/* Text formats for ptext_decode(). */
enum { PTEXT_PROM = 0, PTEXT_OPENMETRICS = 1 };
/*
 * Prometheus text exposition 0.0.4 (format PTEXT_PROM) or OpenMetrics 1.0
 * (PTEXT_OPENMETRICS). Samples without a timestamp get o->default_t_ms.
 * HELP/TYPE/UNIT go into `meta` (may be NULL). Syntax errors are CAIRN_EPARSE
 * with err->line/col set and "line:col:" leading the message.
 */
int ptext_decode(const char *text, size_t len, int format, const ingest_opts *o, cairn_batch *b,
                 ingest_meta_list *meta, cairn_err *err);

/* Loki push, JSON encoding (body already gunzipped if needed). */
int lpush_decode_json(const uint8_t *json, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err);
/* Loki push, snappy-compressed logproto.PushRequest. */
int lpush_decode_proto(const uint8_t *body, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err);
/* The same for an already decompressed protobuf message. */
int lpush_decode_pb(const uint8_t *pb, size_t len, const ingest_opts *o, cairn_batch *b, cairn_err *err);
/*
 * Parse a Loki stream label string `{a="b", c=`d`}` (LogQL selector syntax,
 * `=` matchers only, Go escapes in values). Names and unescaped values are
 * appended to `strs`; out[i] point into strs->p, so they are valid until strs
 * changes. @return the number of labels, or CAIRN_EPARSE (position in message,
 * err->col set) / CAIRN_EINVAL (more than cap labels) / CAIRN_ENOMEM.
 */
int lpush_parse_labels(const char *s, size_t len, cairn_label *out, size_t cap, buf *strs, cairn_err *err);

/* OTLP encodings. */
enum { OTLP_PROTOBUF = 0, OTLP_JSON = 1 };
/* OTLP ExportMetricsServiceRequest -> Prometheus series (docs/ingest.md). */
int otlp_decode_metrics(const uint8_t *body, size_t len, int encoding, const ingest_opts *o, cairn_batch *b,
                        ingest_meta_list *meta, cairn_err *err);
/* OTLP ExportLogsServiceRequest -> Loki-style streams. */
int otlp_decode_logs(const uint8_t *body, size_t len, int encoding, const ingest_opts *o, cairn_batch *b,
                     cairn_err *err);

/* ==== Shared helpers (used by the decoders; exposed for tests) ================= */

/* Nonzero if [s, s+n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int ingest_utf8_valid(const char *s, size_t n);
/* Legacy label name [a-zA-Z_][a-zA-Z0-9_]*. */
int ingest_label_name_valid(const char *s, size_t n);
/* Format labels as {a="b", c="d"} into dst (NUL-terminated, truncated with "..."). */
size_t ingest_fmt_labels(const cairn_label *l, size_t n, char *dst, size_t cap);
/* Go's strconv.FormatFloat(v, 'f', -1, 64) plus "+Inf"/"-Inf"/"NaN"; dst >= 32 bytes
 * (longer values are written in %g form). Returns length. */
size_t ingest_fmt_float(double v, char *dst, size_t cap);

/*
 * Validate a label set and add it to `b`. `l` is reordered in place (sorted
 * by name) and compacted: labels with an empty value are dropped. Checks:
 * name syntax, reserved names (starting "__", other than "__name__": rejected),
 * limits for `kind`, values UTF-8 without NUL (message with the byte offset),
 * non-empty, duplicate names. `ctx` (may be NULL) prefixes the
 * message; ctx_idx >= 0 is appended to it ("stream" and 3 give "stream 3").
 * Messages are only formatted on failure. @return a batch ref >= 0 or a negative code.
 */
int ingest_series(cairn_batch *b, int kind, cairn_label *l, size_t *n, const ingest_opts *o, const char *ctx,
                  long long ctx_idx, cairn_err *err);

/* Loki's service_name discovery: if `l` lacks service_name, append one (from
 * the first of service, app, application, ... or "unknown_service"). l must
 * have room for n + 1 labels. */
void ingest_add_service_name(cairn_label *l, size_t *n);

/*
 * Validate and add one log entry: line size, time window, structured metadata
 * count/bytes/names/UTF-8 (duplicate metadata names: the first wins). `what`
 * names the stream in messages, which read "<what>, entry <idx> at <t_ns>: ..."
 * (", entry <idx>" left out when idx < 0). @return CAIRN_OK or a negative code.
 */
int ingest_entry(cairn_batch *b, int ref, const char *what, long long idx, int64_t t_ns, const char *line, size_t line_len,
                 cairn_label *meta, size_t n_meta, const ingest_opts *o, cairn_err *err);

/*
 * A label builder: copies names and values into one buffer and hands out a
 * cairn_label array that points into it. Pointers are fixed up only by
 * ingest_lb_labels(), so adding never invalidates anything the caller holds.
 */
typedef struct ingest_lb {
    buf str;
    size_t *ent; /* 4 per label: name off, name len, value off, value len */
    size_t n, cap;
    cairn_label *out;
    size_t out_cap;
} ingest_lb;
void ingest_lb_init(ingest_lb *lb);
void ingest_lb_free(ingest_lb *lb);
static inline void ingest_lb_reset(ingest_lb *lb) { lb->n = 0, lb->str.len = 0; }
int ingest_lb_add(ingest_lb *lb, const char *name, size_t name_len, const char *value, size_t value_len);
/* Start a value piecewise: returns the index of a label with the given name and an empty value. */
int ingest_lb_begin(ingest_lb *lb, const char *name, size_t name_len);
/* Append bytes to the value of the last label started. */
int ingest_lb_append(ingest_lb *lb, const char *p, size_t n);
/* Labels (extra room for `spare` more at the end). Valid until the next add or reset. */
cairn_label *ingest_lb_labels(ingest_lb *lb, size_t spare);
#endif
