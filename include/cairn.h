/**
 * @file cairn.h
 * @brief cairn — an embeddable store for metrics and logs.
 *
 * cairn keeps Prometheus-style metric series (float64 samples at millisecond
 * timestamps, Gorilla-compressed) and Loki-style log streams (lines at
 * nanosecond timestamps, zstd-compressed) under one label index, in one data
 * directory. This header is the whole public surface of `libcairn.a`; the
 * `cairn` binary (server and CLI) is built on it.
 *
 * Model
 * -----
 * - One data directory holds one LMDB environment (`index.mdb`: label index and
 *   sealed chunks) and a write-ahead log (`wal/`). One process opens it at a
 *   time; a second open of the same directory fails with CAIRN_EIO and a
 *   message naming the directory.
 * - Writes are batches. A batch holds label sets (each a metric series or a log
 *   stream) and their samples or entries; cairn_commit() is atomic: when it
 *   returns CAIRN_OK every sample and entry of the batch is in the fsynced WAL
 *   and will be readable after any crash; when it returns an error nothing of
 *   the batch was written. Concurrent commits from several threads share one
 *   fsync (group commit).
 * - Reads (select, iterate, label names and values) may run on any number of
 *   threads, concurrently with commits. They see every commit that returned
 *   before the read began.
 * - Time is int64 milliseconds since the Unix epoch for metrics and int64
 *   nanoseconds for logs. Read bounds are inclusive: [mint, maxt].
 *
 * Usage
 * -----
 * @code
 *   cairn_options o; cairn_options_default(&o);
 *   cairn_db *db; cairn_err e;
 *   if (cairn_open("./data", &o, &db, &e)) { fprintf(stderr, "%s\n", e.msg); return 1; }
 *   cairn_batch *b = cairn_batch_new();
 *   cairn_label ls[] = { CAIRN_LABEL("__name__", "up"), CAIRN_LABEL("job", "node") };
 *   int ref = cairn_batch_series(b, CAIRN_KIND_METRIC, ls, 2, &e);
 *   cairn_batch_sample(b, ref, (int64_t)time(NULL) * 1000, 1.0, &e); // within retention, not ahead
 *   if (cairn_commit(db, b, &e)) fprintf(stderr, "%s\n", e.msg);
 *   cairn_batch_free(b);
 *   cairn_close(db);
 * @endcode
 */
#ifndef CAIRN_H
#define CAIRN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CAIRN_API __attribute__((visibility("default")))
#else
#define CAIRN_API
#endif

#define CAIRN_VERSION_MAJOR 0
#define CAIRN_VERSION_MINOR 1
#define CAIRN_VERSION_PATCH 0
#define CAIRN_VERSION_STRING "0.1.0"

/** @return the library version, e.g. "0.1.0". */
CAIRN_API const char *cairn_version(void);

/* ==== Errors ================================================================ */

/** Return codes: 0 is success; cairn's errors are negative. */
enum {
    CAIRN_OK = 0,
    CAIRN_NOTFOUND = -1,    /**< no such thing (not a failure for look-ups) */
    CAIRN_EINVAL = -2,      /**< bad argument or bad input data */
    CAIRN_ENOMEM = -3,      /**< allocation failed */
    CAIRN_EIO = -4,         /**< the file system failed; sys_errno says how */
    CAIRN_ECORRUPT = -5,    /**< stored or decoded bytes are malformed */
    CAIRN_EPARSE = -6,      /**< a query or text format did not parse; line/col set */
    CAIRN_ELIMIT = -7,      /**< a configured limit was exceeded */
    CAIRN_ETIMEOUT = -8,    /**< a deadline passed */
    CAIRN_EOUTOFORDER = -9, /**< sample too old, or duplicate timestamp with another value */
    CAIRN_EINTERNAL = -10,  /**< a bug in cairn */
    CAIRN_ENOSPC = -11      /**< storage full: no space left on the device (ENOSPC, EDQUOT) or the LMDB
                                 map is used up; nothing of the failed write was applied. HTTP 507 */
};

/**
 * An error report. Messages say what is wrong and where (which series, which
 * timestamp, which line:col). The buffer is fixed so reporting never allocates.
 */
typedef struct cairn_err {
    int code;      /**< one of the CAIRN_E* codes */
    int sys_errno; /**< errno for CAIRN_EIO, else 0 */
    int line, col; /**< 1-based position for CAIRN_EPARSE, else 0 */
    char msg[256]; /**< NUL-terminated, human readable */
} cairn_err;

/** @return a static name for a code, e.g. "CAIRN_EINVAL". */
CAIRN_API const char *cairn_strerror(int code);

/* ==== Options and lifecycle ================================================== */

/** Log levels passed to cairn_options.log_fn. */
enum { CAIRN_LOG_ERROR = 0, CAIRN_LOG_WARN = 1, CAIRN_LOG_INFO = 2, CAIRN_LOG_DEBUG = 3 };

typedef struct cairn_options {
    int64_t retention_metrics_ms; /**< keep metric samples this long (wall clock); 0 = forever. Default 15 d */
    int64_t retention_logs_ms;    /**< keep log entries this long; 0 = forever. Default 7 d */
    int64_t ooo_window_ms;        /**< accept samples this much older than a series' newest. Default 1 h */
    int64_t log_ooo_window_ms;    /**< the same for log entries within a stream. Default 1 h */
    int64_t checkpoint_interval_ms; /**< background checkpoint period; 0 = only on close/explicit. Default 5 min */
    int64_t log_idle_flush_ms;    /**< flush a log head idle this long. Default 5 min */
    int64_t log_max_age_ms;       /**< flush a log head older than this. Default 1 h */
    uint64_t wal_segment_bytes;   /**< cut WAL segments at this size. Default 64 MiB */
    uint64_t map_size_bytes;      /**< LMDB map size (address space, not RAM). Default 64 GiB */
    uint32_t log_block_bytes;     /**< cut log blocks at this much raw line data. Default 256 KiB */
    int log_zstd_level;           /**< zstd level for log blocks. Default 1 */
    uint32_t max_line_bytes;      /**< reject longer log lines. Default 256 KiB */
    uint32_t max_labels;          /**< max labels per series/stream. Default 64 */
    uint32_t max_label_name_bytes;  /**< Default 1024 */
    uint32_t max_label_value_bytes; /**< Default 4096 */
    uint64_t max_series;          /**< max metric series; 0 = unlimited. Default 0 */
    uint64_t max_streams;         /**< max log streams; 0 = unlimited. Default 0 */
    int background;               /**< run checkpoint/retention/flush on a thread. Default 1 */
    uint32_t checkpoint_txn_series; /**< metric series per LMDB transaction in a checkpoint: bounds the
                                         memory LMDB keeps for pages it dirtied. Default 4096 */
    /** cairn_commit() refuses (CAIRN_EINVAL, naming series and timestamp) a batch holding a sample or
     *  log entry timestamped more than this after the wall clock (Mimir's creation grace period,
     *  Loki's creation_grace_period); 0 = no bound. Default 10 min. The lower bound is the retention:
     *  samples older than now - retention_metrics_ms and entries older than now - retention_logs_ms
     *  are refused too (none when the retention is 0). Whatever the options, timestamps must lie
     *  strictly within +-2^62 (ms for samples, ns for entries). docs/limits.md, "Timestamps" */
    int64_t max_future_ms;
    int wal_skip_missing;         /**< open even when a WAL segment is missing from the sequence (its records
                                       are lost; logged and counted). Default 0: cairn_open fails with
                                       CAIRN_ECORRUPT naming the segment. */
    /** Log sink for warnings (e.g. a cut WAL tail). NULL: write to stderr. */
    void (*log_fn)(void *ctx, int level, const char *msg);
    void *log_ctx;
} cairn_options;

/** Fill `o` with the defaults listed above. */
CAIRN_API void cairn_options_default(cairn_options *o);

typedef struct cairn_db cairn_db;

/**
 * Open (creating if needed) the data directory `dir_z` and replay its WAL.
 * @param[in]  dir_z  NUL-terminated path.
 * @param[in]  opts   options, or NULL for the defaults. Borrowed.
 * @param[out] out    receives the handle; close it with cairn_close().
 * @return CAIRN_OK, CAIRN_EINVAL (bad options), CAIRN_EIO, CAIRN_ECORRUPT (also: a WAL segment is
 *         missing, named in the message, unless wal_skip_missing), CAIRN_ENOMEM.
 * @note A torn or corrupt WAL tail is cut off with a warning, not an error.
 */
CAIRN_API int cairn_open(const char *dir_z, const cairn_options *opts, cairn_db **out, cairn_err *err);

/** Checkpoint and close; the handle is freed either way. cairn_close(NULL) does nothing.
 * Not concurrent with other calls.
 * @return CAIRN_OK, or the final checkpoint's error (e.g. CAIRN_ENOSPC), already logged:
 *         nothing acknowledged is lost (the WAL still holds it and is replayed at the next open). */
CAIRN_API int cairn_close(cairn_db *db);

/**
 * Write every open head to LMDB, record the WAL position and delete WAL
 * segments before it. Runs in the background too (checkpoint_interval_ms).
 * @return CAIRN_OK, CAIRN_EIO, CAIRN_ENOSPC (disk or LMDB map full; the data stays in the WAL), CAIRN_ENOMEM.
 */
CAIRN_API int cairn_checkpoint(cairn_db *db, cairn_err *err);

/**
 * Delete data older than the retention periods, measured from `now_ms`
 * (pass 0 for the wall clock). Runs in the background too.
 */
CAIRN_API int cairn_retention_run(cairn_db *db, int64_t now_ms, cairn_err *err);

/** Counters for monitoring (cairn's own /metrics). */
typedef struct cairn_stats {
    uint64_t n_series, n_streams;
    uint64_t samples_appended, entries_appended, log_bytes_appended;
    uint64_t samples_dup_ignored, samples_rejected_ooo, samples_rejected_dup;
    uint64_t entries_dup_ignored, entries_rejected_ooo;
    /** samples / entries outside the accepted time window (each one in a refused batch counts):
     *  more than max_future_ms ahead, or older than the retention */
    uint64_t samples_rejected_too_new, samples_rejected_too_old, entries_rejected_too_new, entries_rejected_too_old;
    uint64_t commits, wal_bytes, wal_fsyncs, checkpoints;
    uint64_t log_blocks_decompressed; /**< blocks opened by reads (stats hook) */
    uint64_t mem_bytes;               /**< bytes currently allocated by cairn */
    uint64_t storage_full_errors;     /**< writes refused with CAIRN_ENOSPC (commits and checkpoints) */
    uint64_t wal_corruptions;         /**< damaged WAL spots found by replay at open (torn tail excluded) */
    uint64_t wal_quarantined_bytes;   /**< bytes moved to wal/corrupt-* by replay at open */
    uint64_t wal_missing_segments;    /**< segment numbers missing from the WAL sequence at open */
} cairn_stats;
CAIRN_API void cairn_stats_get(cairn_db *db, cairn_stats *out);

/* ==== Writing ================================================================= */

/** The two kinds of label set; they never mix in results. */
enum { CAIRN_KIND_METRIC = 1, CAIRN_KIND_LOG = 2 };

/** A label, as a pair of (pointer, length) strings; not NUL-terminated. */
typedef struct cairn_label {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cairn_label;
#define CAIRN_LABEL(n, v) { (n), sizeof(n) - 1, (v), sizeof(v) - 1 }

typedef struct cairn_batch cairn_batch;

/** @return a new empty batch (returns owned; free with cairn_batch_free), or NULL on OOM. */
CAIRN_API cairn_batch *cairn_batch_new(void);
/** Free a batch. cairn_batch_free(NULL) does nothing. */
CAIRN_API void cairn_batch_free(cairn_batch *b);
/** Empty a batch for reuse, keeping its memory. */
CAIRN_API void cairn_batch_reset(cairn_batch *b);

/**
 * Add a label set of `kind` (CAIRN_KIND_METRIC or CAIRN_KIND_LOG). The labels
 * are validated (name syntax [a-zA-Z_][a-zA-Z0-9_]*, reserved names: "__"
 * prefix other than __name__, duplicates, empty set, limits, values valid
 * UTF-8 without NUL), sorted, and copied: the caller keeps `labels`. Labels
 * with an empty value are dropped. Adding the same set twice returns the same ref.
 * @return a ref >= 0 for cairn_batch_sample()/cairn_batch_entry(), or a negative code
 *         (CAIRN_EINVAL with the offending label named, CAIRN_ENOMEM).
 */
CAIRN_API int cairn_batch_series(cairn_batch *b, int kind, const cairn_label *labels, size_t n_labels,
                                 cairn_err *err);

/** Add one metric sample to series `ref` (any timestamp: cairn_commit checks the time window).
 *  @return CAIRN_OK, CAIRN_EINVAL (bad ref or kind), CAIRN_ENOMEM. */
CAIRN_API int cairn_batch_sample(cairn_batch *b, int ref, int64_t t_ms, double v, cairn_err *err);

/**
 * Add one log entry to stream `ref`: the line bytes (any bytes) and optional
 * structured metadata. Everything is copied.
 * @return CAIRN_OK, CAIRN_EINVAL (bad ref/kind, metadata name), CAIRN_ENOMEM.
 */
CAIRN_API int cairn_batch_entry(cairn_batch *b, int ref, int64_t t_ns, const char *line, size_t line_len,
                                const cairn_label *meta, size_t n_meta, cairn_err *err);

/** Number of samples + entries in the batch. */
CAIRN_API size_t cairn_batch_size(const cairn_batch *b);

/**
 * Commit a batch atomically and durably (see Model).
 * Exact duplicates (same timestamp and value, or same timestamp and line) are
 * dropped and counted. A sample older than its series' newest by more than the
 * out-of-order window, or a duplicate timestamp with a different value, fails
 * the whole batch with CAIRN_EOUTOFORDER naming the series and timestamp.
 * A sample or entry outside the time window (more than max_future_ms after
 * the wall clock, older than the retention, or not within +-2^62) fails the
 * whole batch with CAIRN_EINVAL naming the first such series and timestamp.
 * @return CAIRN_OK, CAIRN_EOUTOFORDER, CAIRN_ELIMIT (max series/streams, line
 *         size), CAIRN_EINVAL (time window), CAIRN_EIO, CAIRN_ENOSPC (disk or LMDB map full: nothing
 *         of the batch was stored), CAIRN_ENOMEM.
 * @note Thread-safe; the batch is borrowed and unchanged.
 */
CAIRN_API int cairn_commit(cairn_db *db, const cairn_batch *b, cairn_err *err);

/* ==== Selecting series ========================================================== */

enum { CAIRN_MATCH_EQ = 0, CAIRN_MATCH_NE = 1, CAIRN_MATCH_RE = 2, CAIRN_MATCH_NRE = 3 };

/**
 * A label matcher with Prometheus semantics: regexes are RE2 syntax, fully
 * anchored; `name=""` also matches series without the label.
 */
typedef struct cairn_matcher {
    int op; /**< CAIRN_MATCH_* */
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} cairn_matcher;

typedef struct cairn_series_set cairn_series_set;

/**
 * Select the series (or streams) of `kind` matching all `m` that have data in
 * [mint, maxt] (ms for metrics, ns for logs). With n_m == 0 every series of the
 * kind is selected. Results are in ascending series id order.
 * @param[out] out  receives the set; close with cairn_series_set_close().
 * @return CAIRN_OK, CAIRN_EINVAL (bad regex, named), CAIRN_ENOMEM, CAIRN_EIO.
 */
CAIRN_API int cairn_select(cairn_db *db, int kind, const cairn_matcher *m, size_t n_m, int64_t mint,
                           int64_t maxt, cairn_series_set **out, cairn_err *err);

/**
 * Advance to the next series. @return 1 and the id, 0 at the end.
 * @param[out] labels,n_labels  the series' sorted labels, valid until the set is closed.
 */
CAIRN_API int cairn_series_set_next(cairn_series_set *s, uint64_t *id, const cairn_label **labels,
                                    size_t *n_labels);
CAIRN_API size_t cairn_series_set_count(const cairn_series_set *s);
CAIRN_API void cairn_series_set_close(cairn_series_set *s);

/* ==== Reading samples ============================================================ */

typedef struct cairn_samples cairn_samples;

/**
 * Iterate the samples of metric series `id` in [mint_ms, maxt_ms], in
 * timestamp order, merging head, sealed and out-of-order chunks.
 * @return CAIRN_OK, CAIRN_NOTFOUND (no such metric series), CAIRN_ENOMEM, CAIRN_ECORRUPT.
 * @note The iterator holds a snapshot; commits after it was opened are not seen.
 */
CAIRN_API int cairn_samples_open(cairn_db *db, uint64_t id, int64_t mint_ms, int64_t maxt_ms,
                                 cairn_samples **out, cairn_err *err);
/** @return 1 with a sample, 0 at the end, or a negative code (CAIRN_ECORRUPT). */
CAIRN_API int cairn_samples_next(cairn_samples *it, int64_t *t_ms, double *v);
/**
 * Up to `cap` samples at once into t_ms[] and v[] (the fast path for scans).
 * @return the count (> 0), 0 at the end, or a negative code (CAIRN_ECORRUPT).
 */
CAIRN_API int cairn_samples_next_n(cairn_samples *it, int64_t *t_ms, double *v, size_t cap);
CAIRN_API void cairn_samples_close(cairn_samples *it);

/* ==== Reading log entries ============================================================ */

/** Direction for log reads. */
enum { CAIRN_FORWARD = 0, CAIRN_BACKWARD = 1 };

/**
 * A line filter run on decompressed blocks before lines are materialised.
 * Return nonzero to keep the line. `line` points into the block; borrow only.
 */
typedef int (*cairn_line_filter_fn)(void *ctx, const char *line, size_t len);

/** Built-in line filters (substring / regex), compiled once. */
enum { CAIRN_FILTER_CONTAINS = 0, CAIRN_FILTER_NOT_CONTAINS = 1, CAIRN_FILTER_REGEX = 2,
       CAIRN_FILTER_NOT_REGEX = 3 };
typedef struct cairn_line_filter {
    int op;             /**< CAIRN_FILTER_* */
    const char *pattern;
    size_t pattern_len;
} cairn_line_filter;

typedef struct cairn_entries cairn_entries;

/**
 * Iterate the entries of log stream `id` in [mint_ns, maxt_ns] in timestamp
 * order (CAIRN_FORWARD) or reverse (CAIRN_BACKWARD). Lines must pass every
 * filter in `f` (all of them, in order) and then `fn` if given.
 * @return CAIRN_OK, CAIRN_NOTFOUND, CAIRN_EINVAL (bad regex), CAIRN_ENOMEM, CAIRN_ECORRUPT.
 */
CAIRN_API int cairn_entries_open(cairn_db *db, uint64_t id, int64_t mint_ns, int64_t maxt_ns, int direction,
                                 const cairn_line_filter *f, size_t n_f, cairn_line_filter_fn fn, void *fn_ctx,
                                 cairn_entries **out, cairn_err *err);
/**
 * @return 1 with an entry, 0 at the end, or a negative code. `line` and `meta`
 * stay valid until the next call or close.
 */
CAIRN_API int cairn_entries_next(cairn_entries *it, int64_t *t_ns, const char **line, size_t *line_len,
                                 const cairn_label **meta, size_t *n_meta);
CAIRN_API void cairn_entries_close(cairn_entries *it);

/* ==== Label names and values =========================================================== */

typedef struct cairn_strings cairn_strings;

/**
 * Label names (sorted, unique) of series of `kind` matching `m` with data in
 * [mint, maxt]. With n_m == 0, over all series of the kind.
 * @param[out] out  close with cairn_strings_close().
 */
CAIRN_API int cairn_label_names(cairn_db *db, int kind, const cairn_matcher *m, size_t n_m, int64_t mint,
                                int64_t maxt, cairn_strings **out, cairn_err *err);
/** Values (sorted, unique) of label `name` under the same rules. */
CAIRN_API int cairn_label_values(cairn_db *db, int kind, const char *name, size_t name_len,
                                 const cairn_matcher *m, size_t n_m, int64_t mint, int64_t maxt,
                                 cairn_strings **out, cairn_err *err);
/** @return 1 with a string valid until close, 0 at the end. */
CAIRN_API int cairn_strings_next(cairn_strings *s, const char **str, size_t *len);
CAIRN_API size_t cairn_strings_count(const cairn_strings *s);
CAIRN_API void cairn_strings_close(cairn_strings *s);

/* ==== Query ================================================================= */

/**
 * PromQL evaluation (LogQL will share this interface). A query is parsed,
 * type-checked and fully evaluated by cairn_query_open(); the result is then
 * read with the accessors below and freed, with everything the query
 * allocated, by cairn_query_close(). Semantics are Prometheus 3.x (see
 * docs/promql.md): left-open windows (t - range, t], a 5 min lookback,
 * staleness markers end series, extrapolated rate/increase.
 *
 * @code
 *   cairn_query *q; cairn_err e;
 *   const char *pq = "sum by (job) (rate(http_requests_total[5m]))";
 *   if (cairn_query_open(db, CAIRN_LANG_PROMQL, pq, strlen(pq), t0, t1, 60000, NULL, &q, &e) == 0) {
 *       for (size_t i = 0; i < cairn_query_series_count(q); i++) {
 *           const cairn_label *ls; size_t nl; const int64_t *t; const double *v; size_t np;
 *           cairn_query_series(q, i, &ls, &nl, &t, &v, &np);
 *       }
 *       cairn_query_close(q);
 *   }
 * @endcode
 */
typedef struct cairn_query cairn_query;

/** Query languages. */
enum { CAIRN_LANG_PROMQL = 0, CAIRN_LANG_LOGQL = 1 };

/** Result types, as the Prometheus HTTP API names them. */
enum {
    CAIRN_RESULT_SCALAR = 1, /**< one series without labels, one point (instant queries) */
    CAIRN_RESULT_VECTOR = 2, /**< series with one point each, at the evaluation time */
    CAIRN_RESULT_MATRIX = 3, /**< series with points in ascending time, sorted by labels for range queries */
    CAIRN_RESULT_STRING = 4, /**< a string literal; read it with cairn_query_string() */
    CAIRN_RESULT_STREAMS = 5 /**< LogQL log query: streams of entries; read them with cairn_query_stream/entry() */
};

typedef struct cairn_query_opts {
    int64_t lookback_ms;            /**< instant-selector lookback. Default 5 min */
    int64_t subquery_step_ms;       /**< step of subqueries written `[1h:]`. Default 1 min */
    uint64_t max_samples;           /**< samples one query may load from storage; 0 = unlimited. Default 50 000 000 */
    uint64_t max_series;            /**< series one query may select (summed over selectors); 0 = unlimited. Default 100 000 */
    int64_t timeout_ms;             /**< wall-clock budget; 0 = none. Default 2 min */
    uint32_t max_points_per_series; /**< steps of a range query; 0 = unlimited. Default 11 000 (as Prometheus) */
    /** memory one query may hold, in bytes: its arena (series x steps, samples, strings, subquery
     *  intermediates, the result); past it the query fails with CAIRN_ELIMIT. 0 = unlimited.
     *  Default 256 MiB */
    uint64_t max_bytes;
    /** optional, borrowed: a budget shared with other queries (cairn_query_budget_new()); each query's
     *  memory is also taken from it. Default NULL */
    struct cairn_query_budget *shared_budget;
} cairn_query_opts;

/**
 * A memory budget that concurrent queries share (a server's global query
 * memory ceiling): `max_bytes` in total, 0 = unlimited (then it only counts).
 * @return the budget (free with cairn_query_budget_free() after every query
 *         using it was closed), or NULL when out of memory.
 * @note Safe to use from any number of threads at once.
 */
typedef struct cairn_query_budget cairn_query_budget;
CAIRN_API cairn_query_budget *cairn_query_budget_new(uint64_t max_bytes);
/** Free a budget; NULL does nothing. */
CAIRN_API void cairn_query_budget_free(cairn_query_budget *b);
/** Bytes the open queries using `b` hold now. */
CAIRN_API uint64_t cairn_query_budget_used(const cairn_query_budget *b);

/** Fill `o` with the defaults listed above. */
CAIRN_API void cairn_query_opts_default(cairn_query_opts *o);

/**
 * Parse and evaluate a query.
 * An instant query has step_ms == 0 and is evaluated at start_ms (end_ms is
 * ignored); a range query has step_ms > 0 and end_ms >= start_ms, and is
 * evaluated at start_ms, start_ms + step_ms, … up to end_ms.
 * @param[in]  text     the query, `len` bytes, need not be NUL-terminated (borrowed).
 * @param[in]  opts     limits, or NULL for the defaults (borrowed).
 * @param[out] out      receives the query with its result; close with cairn_query_close().
 * @param[out] err      optional; for CAIRN_EPARSE, line/col and a "line:col: …" message.
 * @return CAIRN_OK; CAIRN_EPARSE (syntax or type error); CAIRN_EINVAL (bad
 *         arguments, a range query of a range vector or string, or a run-time
 *         error Prometheus also reports: many-to-many matching, duplicate
 *         label sets, …); CAIRN_ELIMIT (max_samples, max_series,
 *         max_points_per_series, max_bytes, the shared budget);
 *         CAIRN_ETIMEOUT; CAIRN_ENOMEM; CAIRN_EIO or
 *         CAIRN_ECORRUPT from storage.
 * @note Thread-safe: any number of queries may run at once, concurrently with commits.
 */
CAIRN_API int cairn_query_open(cairn_db *db, int lang, const char *text, size_t len, int64_t start_ms, int64_t end_ms,
                               int64_t step_ms, const cairn_query_opts *opts, cairn_query **out, cairn_err *err);

/** @return the CAIRN_RESULT_* type of the result. */
CAIRN_API int cairn_query_result_type(const cairn_query *q);

/** @return the number of series in the result (1 for a scalar, 0 for a string). */
CAIRN_API size_t cairn_query_series_count(const cairn_query *q);

/**
 * Series `i` of the result: its labels (sorted by name) and its points.
 * Every output pointer is optional and stays valid until cairn_query_close().
 * @return CAIRN_OK, or CAIRN_NOTFOUND when i is out of range.
 */
CAIRN_API int cairn_query_series(const cairn_query *q, size_t i, const cairn_label **labels, size_t *n_labels,
                                 const int64_t **t_ms, const double **values, size_t *n_points);

/**
 * The string of a CAIRN_RESULT_STRING result (not NUL-terminated), valid
 * until cairn_query_close(). @return CAIRN_OK or CAIRN_NOTFOUND for other types.
 */
CAIRN_API int cairn_query_string(const cairn_query *q, const char **s, size_t *len);

/**
 * Parse and evaluate a LogQL query with nanosecond times (cairn_query_open()
 * with CAIRN_LANG_LOGQL takes milliseconds, a limit of 100 and direction
 * backward). A log query (a stream selector with a pipeline) gives
 * CAIRN_RESULT_STREAMS: entries of [start_ns, end_ns) whatever the step, at
 * most `limit` of them (0: 100) over all streams, the newest first
 * (CAIRN_BACKWARD) or the oldest first (CAIRN_FORWARD). A metric query
 * (count_over_time, rate, sum by ...) gives series like PromQL, on the step
 * grid aligned as
 * Loki's query frontend aligns it. Semantics: docs/logql.md.
 * @return the codes of cairn_query_open().
 */
CAIRN_API int cairn_logql_open(cairn_db *db, const char *text, size_t len, int64_t start_ns, int64_t end_ns,
                               int64_t step_ns, uint32_t limit, int direction, const cairn_query_opts *opts,
                               cairn_query **out, cairn_err *err);

/**
 * Stream `i` of a CAIRN_RESULT_STREAMS result: labels (stream labels plus
 * labels added by parsers, sorted) and its number of entries.
 * @return CAIRN_OK, or CAIRN_NOTFOUND (out of range, or not a streams result).
 */
CAIRN_API int cairn_query_stream(const cairn_query *q, size_t i, const cairn_label **labels, size_t *n_labels,
                                 size_t *n_entries);

/** Entry `j` of stream `i`, in the query's direction; valid until cairn_query_close(). */
CAIRN_API int cairn_query_entry(const cairn_query *q, size_t i, size_t j, int64_t *t_ns, const char **line,
                                size_t *len);

/** Free the query and its result. cairn_query_close(NULL) does nothing. */
CAIRN_API void cairn_query_close(cairn_query *q);

#ifdef __cplusplus
}
#endif
#endif /* CAIRN_H */
