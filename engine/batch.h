/*
 * batch — the one batch type every ingest decoder fills and the engine commits.
 *
 * A batch holds label sets (already validated, sorted and encoded in the
 * canonical form of labels.h, de-duplicated within the batch), metric samples
 * and log entries referring to them by ref (index into `series`). It owns
 * copies of everything: a decoder may free its input as soon as it has filled
 * the batch. Nothing here touches the index, the WAL or any lock.
 */
#ifndef CAIRN_BATCH_H
#define CAIRN_BATCH_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

typedef struct batch_series {
    uint64_t hash;
    uint32_t canon_off, canon_len; /* into cairn_batch.canon */
    uint8_t kind;
    int32_t next; /* chain in the batch's hash table, -1 ends */
} batch_series;

typedef struct batch_sample {
    int64_t t_ms;
    double v;
    uint32_t ref;
} batch_sample;

typedef struct batch_entry {
    int64_t t_ns;
    uint64_t line_off;
    uint32_t line_len, ref;
    uint32_t meta_off, meta_len; /* canonical labels in cairn_batch.meta, len 0 = none */
} batch_entry;

struct cairn_batch {
    buf canon; /* canonical label sets, back to back */
    buf lines; /* log line bytes, back to back */
    buf meta;  /* canonical structured metadata, back to back */
    batch_series *series;
    size_t n_series, cap_series;
    int32_t *htab; /* open hash: bucket -> first series index, -1 empty */
    size_t hcap;
    batch_sample *samples;
    size_t n_samples, cap_samples;
    batch_entry *entries;
    size_t n_entries, cap_entries;
    buf scratch; /* for whoever fills the batch (a decoder's decompressed body): contents
                    undefined between calls; kept by cairn_batch_reset, freed with the batch */
};

/* Limits applied when label sets enter a batch: generous hard caps; the
 * engine applies the database's configured limits again at commit. */
#define BATCH_MAX_LABELS 1024
#define BATCH_MAX_NAME_BYTES 65535
#define BATCH_MAX_VALUE_BYTES (1u << 20)

/*
 * cairn_batch_series for label sets whose names and values the caller has
 * already validated (ingest_series does: name syntax, reserved names, UTF-8):
 * skips those scans; limits, order and duplicates are checked as usual.
 */
int batch_series_checked(cairn_batch *b, int kind, const cairn_label *labels, size_t n_labels, cairn_err *err);
/*
 * Register a label set that the caller has already appended to b->canon at
 * [off, b->canon.len) in canonical form (labels.h), valid and within the
 * BATCH_MAX_* caps; for a decoder that encodes straight from the wire. The
 * bytes are hashed and de-duplicated as by cairn_batch_series. Returns a ref,
 * or a negative code with b->canon.len back at off.
 */
int batch_series_encoded(cairn_batch *b, int kind, size_t off, cairn_err *err);
/*
 * Room for n more samples: afterwards a caller may write
 * b->samples[b->n_samples++] directly, with a ref it has checked (or patches
 * before anyone reads the batch). CAIRN_OK or CAIRN_ENOMEM.
 */
int batch_reserve_samples(cairn_batch *b, size_t n);

static inline const uint8_t *batch_canon(const cairn_batch *b, const batch_series *s)
{
    return b->canon.p + s->canon_off;
}
#endif
