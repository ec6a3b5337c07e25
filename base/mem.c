/*
 * mem.c — allocation with counters and a fault hook.
 *
 * Callers state sizes on free (mem_free(p, n)), as most of cairn's objects
 * know their own size; this keeps a byte-exact gauge without a per-block
 * header. The fault hook is how tests prove every allocation failure becomes
 * a clean CAIRN_ENOMEM: fail allocation N for N = 0, 1, 2, ... until the call
 * under test succeeds, and let ASan report any leak on the error paths.
 *
 * Budgets (mem_budget) are the other half of the accounting: not what the
 * process holds but what a group of owners may hold, so that concurrent
 * queries share one ceiling. A compare-and-swap loop keeps the count from
 * passing the limit even when two owners race for the last bytes.
 */
#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static _Atomic uint64_t mem_bytes;
static _Atomic int64_t mem_fail_at = -1;

static int mem_should_fail(void)
{
    int64_t v = atomic_load_explicit(&mem_fail_at, memory_order_relaxed);
    if (v < 0) return 0;
    if (v == 0) return 1;
    atomic_fetch_sub_explicit(&mem_fail_at, 1, memory_order_relaxed);
    return 0;
}

void *mem_alloc(size_t n)
{
    if (mem_should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add_explicit(&mem_bytes, n, memory_order_relaxed);
    return p;
}

void *mem_calloc(size_t n, size_t size)
{
    if (mem_should_fail()) return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p) atomic_fetch_add_explicit(&mem_bytes, n * size, memory_order_relaxed);
    return p;
}

void *mem_realloc(void *p, size_t old_n, size_t new_n)
{
    if (mem_should_fail()) return NULL;
    void *q = realloc(p, new_n ? new_n : 1);
    if (q) {
        atomic_fetch_add_explicit(&mem_bytes, new_n, memory_order_relaxed);
        atomic_fetch_sub_explicit(&mem_bytes, old_n, memory_order_relaxed);
    }
    return q;
}

void mem_free(void *p, size_t n)
{
    if (!p) return;
    atomic_fetch_sub_explicit(&mem_bytes, n, memory_order_relaxed);
    free(p);
}

char *mem_strndup(const char *s, size_t n)
{
    char *p = mem_alloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

uint64_t mem_in_use(void) { return atomic_load_explicit(&mem_bytes, memory_order_relaxed); }

void mem_fail_after(int64_t nth) { atomic_store(&mem_fail_at, nth); }

void mem_budget_init(mem_budget *b, uint64_t limit)
{
    atomic_init(&b->used, 0);
    b->limit = limit;
}

int mem_budget_take(mem_budget *b, uint64_t n)
{
    uint64_t cur = atomic_load_explicit(&b->used, memory_order_relaxed);
    for (;;) {
        if (b->limit && (n > b->limit || cur > b->limit - n)) return -1;
        if (atomic_compare_exchange_weak_explicit(&b->used, &cur, cur + n, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 0;
    }
}

void mem_budget_give(mem_budget *b, uint64_t n) { atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed); }

uint64_t mem_budget_used(const mem_budget *b)
{
    return atomic_load_explicit((_Atomic uint64_t *)&b->used, memory_order_relaxed);
}

void mem_trim(void)
{
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
