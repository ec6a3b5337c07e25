/*
 * labels — canonical label sets: validation, sort order, encoding and XXH3.
 *
 * The canonical form is one byte string: uvarint n_labels, then per label
 * uvarint name_len, name, uvarint value_len, value — sorted by name byte-wise
 * except that `__name__` always comes first. Two label sets are equal iff
 * their canonical bytes are equal, which is what the index compares after a
 * hash match. Labels with an empty value are dropped (Prometheus semantics:
 * an empty value is the same as no label). Layout: docs/format/lmdb.md.
 */
#ifndef CAIRN_LABELS_H
#define CAIRN_LABELS_H
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cairn.h"

typedef struct labels_limits {
    uint32_t max_labels, max_name_bytes, max_value_bytes;
} labels_limits;

/*
 * Validate, sort and encode `in` into `out` (appended). Errors (CAIRN_EINVAL or
 * CAIRN_ELIMIT) name the label set and the offending label: empty set (after
 * dropping empty values), bad name syntax ([a-zA-Z_][a-zA-Z0-9_]*; names
 * starting "__" are reserved except __name__ and rejected), duplicate names,
 * too many labels, name/value too long (a metric without __name__ is allowed,
 * as Prometheus allows it on import), values not valid UTF-8 or holding a NUL
 * byte (the message gives the offset).
 */
int labels_canon(const cairn_label *in, size_t n, const labels_limits *lim, buf *out, cairn_err *err);
/*
 * labels_canon for a caller that has already checked every name (syntax, not
 * reserved) and every value (UTF-8), as ingest_series() does: those byte
 * scans are skipped (asserted in debug builds); limits, empty values, order
 * and duplicates are handled exactly as by labels_canon, with the same
 * messages.
 */
int labels_canon_checked(const cairn_label *in, size_t n, const labels_limits *lim, buf *out, cairn_err *err);

/* XXH3-64 of canonical bytes. */
uint64_t labels_hash(const uint8_t *canon, size_t len);

/* Iterate a canonical set (trusted bytes from the index or a batch). */
typedef struct labels_it {
    rd r;
    uint64_t left;
} labels_it;
int labels_it_init(labels_it *it, const uint8_t *canon, size_t len);
/* 1 with a label, 0 at the end, CAIRN_ECORRUPT. */
int labels_it_next(labels_it *it, cairn_label *out);
/* Number of labels, or CAIRN_ECORRUPT. */
int labels_count(const uint8_t *canon, size_t len);
/* Decode into views (into canon); returns count or CAIRN_ECORRUPT / CAIRN_ELIMIT (cap too small). */
int labels_decode(const uint8_t *canon, size_t len, cairn_label *out, size_t cap);
/* Value of `name`, CAIRN_OK or CAIRN_NOTFOUND. */
int labels_get(const uint8_t *canon, size_t len, const char *name, size_t name_len, const char **v, size_t *vn);
/* Format as {a="b", c="d"} for messages (Go-style escaping), NUL-terminated, truncated to cap. */
size_t labels_format(const uint8_t *canon, size_t len, char *dst, size_t cap);
/* Label name syntax check. */
int labels_name_valid(const char *name, size_t len);
/* Offset of the first byte that is not valid UTF-8 (Go's rules: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or len if all of s is valid. NUL is
 * valid UTF-8 here; label values use labels_value_valid. */
size_t labels_utf8_valid(const char *s, size_t len);
/* Nonzero if `name` is a label name a query may create (label_replace, count_values,
 * label_join, LogQL label_format): non-empty valid UTF-8, as Prometheus 3.x's
 * UTF-8 validation scheme. The one check both query languages use. */
int labels_name_utf8_valid(const char *name, size_t len);
/* Length of the valid UTF-8 sequence at s (1..4, at most n; 1 for ASCII), or 0
 * if s does not start one (Go's rules as above). n must be at least 1. */
size_t labels_utf8_seq(const unsigned char *s, size_t n);
/* Offset of the first byte a label value (or metric name) may not hold: a NUL
 * or the start of invalid UTF-8; len if the value is fine. */
size_t labels_value_valid(const char *s, size_t len);
/* Nonzero if `name` is reserved: it starts "__" and is not "__name__". */
int labels_name_reserved(const char *name, size_t len);
/*
 * Check the value `v` of label `name`. Returns value_len when it is fine, else
 * the offset of the bad byte, with msg (cap bytes, NUL-terminated) saying what
 * and where: `NUL byte at offset 3 in the value of label "a"`, `invalid UTF-8
 * (byte 0xff) at offset 0 in the metric name (__name__)`. Callers prefix the
 * series.
 */
size_t labels_value_problem(const char *v, size_t len, const char *name, size_t name_len, char *msg, size_t cap);
#endif
