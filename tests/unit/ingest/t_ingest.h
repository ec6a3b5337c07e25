/*
 * Helpers shared by the ingest decoder tests (static, header-only): fixed
 * options, reading a filled batch back as text, and building fixtures.
 */
#ifndef CAIRN_T_INGEST_H
#define CAIRN_T_INGEST_H
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ingest.h"
#include "labels.h"
#include "mem.h"
#include "pb.h"
#include "support.h"

/* 2026-11-22T..: a fixed receive time so time windows are deterministic. */
#define T_NOW_NS 1795339453000000000LL
#define T_NOW_MS (T_NOW_NS / 1000000)

static inline void t_opts(ingest_opts *o)
{
    ingest_opts_default(o);
    o->now_ns = T_NOW_NS;
    o->default_t_ms = T_NOW_MS;
}

/* Labels of series i as {a="b", ...} (canonical order: __name__ first). */
static inline const char *t_series(const cairn_batch *b, size_t i)
{
    static char s[1024];
    const batch_series *bs = &b->series[i];
    labels_format(batch_canon(b, bs), bs->canon_len, s, sizeof s);
    return s;
}

static inline long t_find(const cairn_batch *b, const char *labels)
{
    for (size_t i = 0; i < b->n_series; i++)
        if (strcmp(t_series(b, i), labels) == 0) return (long)i;
    return -1;
}

/* Print every series (for failing tests). */
static inline void t_dump(const cairn_batch *b)
{
    for (size_t i = 0; i < b->n_series; i++) print_message("  series %zu: %s\n", i, t_series(b, i));
}

static inline void t_assert_series(const cairn_batch *b, const char *labels)
{
    if (t_find(b, labels) < 0) {
        print_message("missing series %s; have:\n", labels);
        t_dump(b);
        fail();
    }
}

/* The value of sample k of series `labels` (asserting it exists). */
static inline const batch_sample *t_sample(const cairn_batch *b, const char *labels, size_t k)
{
    long ref = t_find(b, labels);
    if (ref < 0) {
        print_message("missing series %s\n", labels);
        t_dump(b);
        fail();
    }
    for (size_t i = 0; i < b->n_samples; i++)
        if (b->samples[i].ref == (uint32_t)ref && k-- == 0) return &b->samples[i];
    fail_msg("series %s has too few samples", labels);
    return NULL;
}

static inline const char *t_meta(const cairn_batch *b, const batch_entry *e)
{
    static char s[1024];
    if (!e->meta_len) return "{}";
    labels_format(b->meta.p + e->meta_off, e->meta_len, s, sizeof s);
    return s;
}

#define assert_msg_contains(e, sub)                                                                                    \
    do {                                                                                                               \
        if (!strstr((e).msg, (sub))) fail_msg("message \"%s\" lacks \"%s\"", (e).msg, (sub));                         \
    } while (0)

/* snappy-compress a buf into a new malloc'd buffer. */
static inline uint8_t *t_snappy(const void *p, size_t n, size_t *out_n)
{
    size_t cap = snappy_max_compressed_length(n);
    uint8_t *o = malloc(cap);
    assert_non_null(o);
    *out_n = cap;
    assert_int_equal(snappy_compress(p, n, (char *)o, out_n), SNAPPY_OK);
    return o;
}
#endif
