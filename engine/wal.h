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
} wal_opts;

/* Record handler for replay: return CAIRN_OK to continue, or an error to stop replay with it. */
typedef int (*wal_replay_fn)(void *ctx, uint8_t type, const uint8_t *payload, size_t len, uint64_t pos);

/*
 * Open `dir_z` (created if missing), replay every record at or after `from_pos`
 * in order through fn, then position for appending after the last good record.
 * A torn or corrupt record is where replay stops: the segment is truncated
 * there (and later segments are removed), with a warning through log_fn
 * stating the file, offset and bytes dropped. Never fatal.
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
