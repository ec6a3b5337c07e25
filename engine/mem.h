/*
 * mem — every allocation cairn makes goes through here.
 *
 * The counters feed cairn_stats.mem_bytes and /metrics; the fault hook lets a
 * test fail the Nth allocation (the OOM loop in tests/). There is no size
 * header: callers pass the size they allocated back to mem_free() and
 * mem_realloc(), so the gauge is exact without costing memory.
 *
 * The counters are process-wide atomics: they count what the library holds,
 * summed over every open cairn_db. They are statistics, not state: two
 * databases in one process never read each other's counters to decide anything.
 */
#ifndef CAIRN_MEM_H
#define CAIRN_MEM_H
#include <stddef.h>
#include <stdint.h>

void *mem_alloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t old_n, size_t new_n);
void mem_free(void *p, size_t n);
char *mem_strndup(const char *s, size_t n);

/* Bytes currently allocated through mem_ (approximate: what callers declared). */
uint64_t mem_in_use(void);

/* Test hook: make allocation number `nth` (0-based, counted from this call)
 * and every later one fail; pass -1 to turn the hook off. */
void mem_fail_after(int64_t nth);
#endif
