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

/*
 * A byte budget shared by several owners (the queries of one server): an
 * atomic count of what they hold against a limit. Owners take bytes before
 * they allocate and give them back when they free. limit 0 = unlimited (the
 * count is still kept, for statistics).
 */
typedef struct mem_budget {
    _Atomic uint64_t used;
    uint64_t limit;
} mem_budget;

void mem_budget_init(mem_budget *b, uint64_t limit);
/* Take n bytes: 0, or -1 (nothing taken) when that would pass the limit. */
int mem_budget_take(mem_budget *b, uint64_t n);
void mem_budget_give(mem_budget *b, uint64_t n);
uint64_t mem_budget_used(const mem_budget *b);

/* Return freed heap memory to the operating system (glibc malloc_trim(0));
 * a no-op elsewhere. Call after freeing a lot, not on every free. */
void mem_trim(void);
/* Queries that held more than this call mem_trim when they close. Trimming makes the
 * next big query fault its pages in again: at 32 MiB it cost a 41 MB-result `rate`
 * 1.77x its time (bench_promql, 1 800 series: 165 -> 293 ms); at 128 MiB dashboard-sized
 * queries keep their speed and the big ones the budgets are about still give memory back. */
#define MEM_TRIM_AFTER_BYTES (128u * 1024u * 1024u)

/* Test hook: make allocation number `nth` (0-based, counted from this call)
 * and every later one fail; pass -1 to turn the hook off. */
void mem_fail_after(int64_t nth);
#endif
