/*
 * wal — the write-ahead log: segment files, framed records, group commit, replay.
 *
 * Files `wal/00000001`, `wal/00000002`, ... (8 hex digits). A record is
 * u32 LE payload length, u32 LE CRC32C (Castagnoli) over type + payload, u8 type, payload.
 * Segments are cut at a size limit between records (a record never spans segments).
 * Positions are u64: segment number << 32 | byte offset in that segment.
 *
 * Threads: wal_append() is called by one thread at a time (the engine's writer
 * lock); wal_sync_to() is called by any number of threads without that lock:
 * the first to arrive fsyncs for all records appended so far and the others
 * that arrive meanwhile wait on a condition variable (group commit).
 * Format: docs/format/wal.md.
 */
#ifndef CAIRN_WAL_H
#define CAIRN_WAL_H
#include <stddef.h>
#include <stdint.h>

#include "cairn.h"

typedef struct wal wal;

typedef struct wal_opts {
    uint64_t segment_bytes; /* cut at this size (default 64 MiB) */
    void (*log_fn)(void *ctx, int level, const char *msg);
    void *log_ctx;
    int skip_missing;   /* a missing segment is logged and counted instead of failing wal_open */
    int expect_records; /* from_pos 0 and the log must hold records: no segment at all is a missing 00000001 */
} wal_opts;

/* What replay at open found (counters for /metrics). */
typedef struct wal_stats {
    uint64_t corruptions;       /* damaged spans quarantined (a torn tail of the last segment is not one) */
    uint64_t quarantined_bytes; /* bytes copied to corrupt-* files and taken out of the log */
    uint64_t missing_segments;  /* segment numbers missing from the sequence (only with skip_missing) */
    uint64_t torn_bytes;        /* bytes of a torn tail cut off the last segment */
} wal_stats;

/* Record handler for replay: return CAIRN_OK to continue, or an error to stop replay with it. */
typedef int (*wal_replay_fn)(void *ctx, uint8_t type, const uint8_t *payload, size_t len, uint64_t pos);

/*
 * Open `dir_z` (created if missing), replay every intact record at or after
 * `from_pos` in order through fn, then position for appending after the last
 * good record of the last segment. No segment is ever deleted here:
 *   - a torn tail of the last segment (short header, short payload, zeros,
 *     with no intact record after it) is cut off, with a warning;
 *   - any other damaged span is copied to `corrupt-SSSSSSSS-OOOOOOOO` in dir_z,
 *     neutralised in place (a WAL_TYPE_SKIP header, or a truncation when it is
 *     the segment's tail), counted, and logged at CAIRN_LOG_ERROR; replay
 *     resumes at the next intact record, in that segment and later ones;
 *   - a segment missing from the sequence fails with CAIRN_ECORRUPT naming it,
 *     unless o->skip_missing (then it is logged and counted).
 * Format and rules: docs/format/wal.md.
 */
int wal_open(const char *dir_z, const wal_opts *o, uint64_t from_pos, wal_replay_fn fn, void *ctx, wal **out,
             cairn_err *err);
void wal_close(wal *w);
/* Append one record (written to the file, not yet synced). Returns its end position in *pos. */
int wal_append(wal *w, uint8_t type, const void *payload, size_t len, uint64_t *pos, cairn_err *err);
/* Block until everything up to `pos` is durable (fdatasync). Group commit. */
int wal_sync_to(wal *w, uint64_t pos, cairn_err *err);
/* Position after the last appended record. */
uint64_t wal_position(wal *w);
/* Start a new segment now; returns the position of its start. */
int wal_cut(wal *w, uint64_t *pos, cairn_err *err);
/* Delete segments that end at or before `pos` (after a checkpoint recorded it). */
int wal_truncate_before(wal *w, uint64_t pos, cairn_err *err);
/* Bytes in all segments; fsyncs done so far. */
uint64_t wal_bytes(wal *w);
uint64_t wal_fsyncs(wal *w);
/* What replay at open found. */
void wal_stats_get(wal *w, wal_stats *out);

/* Record type reserved by the WAL for a quarantined span: replay skips it, wal_append refuses it. */
#define WAL_TYPE_SKIP 255u

/* Record framing: 4-byte length, 4-byte CRC32C, 1-byte type, then the payload. */
#define WAL_HDR_BYTES 9u
/* Longest payload wal_append() accepts and replay believes (a larger length is corruption). */
#define WAL_MAX_RECORD (1u << 30)
/* Largest segment_bytes wal_open() accepts (offsets must stay below 2^32). */
#define WAL_MAX_SEGMENT_BYTES (1ull << 31)

/*
 * Test hook (fault injection), never used outside tests:
 *   WAL_FAULT_FSYNC        the next fdatasync fails with sys_errno (the sticky-error path);
 *   WAL_FAULT_WRITE        the next append writes half its record, then fails with sys_errno;
 *   WAL_FAULT_SHORT_WRITE  the next append's first write(2) is cut short (the retry loop).
 */
enum { WAL_FAULT_FSYNC = 1, WAL_FAULT_WRITE = 2, WAL_FAULT_SHORT_WRITE = 3 };
void wal_test_fault(wal *w, int fault, int sys_errno);

/* CRC32C (Castagnoli), hardware-accelerated where available. */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
#endif
