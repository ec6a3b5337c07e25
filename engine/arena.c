/*
 * arena.c — bump allocation in chunks taken from mem_.
 *
 * Why: a query builds thousands of small objects (AST nodes, matcher arrays,
 * decoded strings) whose lifetimes all end together when the query is closed.
 * Pairing each with a mem_free(p, size) would be slow and error-prone; a bump
 * pointer makes allocation a compare and an add, and freeing the whole query
 * a walk over a short list of chunks. Error paths need no cleanup at all: the
 * owner frees the arena once, whatever was half-built.
 *
 * Layout: a singly linked list of chunks, newest first. Each chunk is one
 * mem_alloc() block: a header (next pointer, capacity) followed by payload.
 * Allocations come from the newest chunk; when it lacks room a new chunk of
 * max(chunk size, request) is pushed. A request larger than a quarter of the
 * chunk size gets its own chunk inserted *behind* the current one, so one big
 * string does not waste the rest of the current chunk.
 *
 * Invariants: every pointer returned is aligned to ARENA_ALIGN (the alignment
 * of max_align_t), stays valid until arena_free(), and never moves. Sizes
 * passed to mem_free() are exactly those given to mem_alloc(), so the mem_
 * gauge returns to where it was.
 *
 * Budgets: an owner may bound the arena (arena_set_budget): its own limit
 * on the bytes of all chunks, and a shared mem_budget that several arenas
 * (concurrent queries) draw from. A chunk that would pass either bound is
 * not allocated; the allocation returns NULL as if memory had run out, and
 * `over` records which bound, so that the owner reports "query would use
 * more than N bytes" instead of "out of memory". Counting whole chunks
 * (slack included) is what the process pays, and costs nothing per
 * allocation: the check runs only when a chunk is added.
 *
 * Threads: none. An arena has a single owner; nothing here locks.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_DEFAULT_CHUNK (16u * 1024u)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;  /* payload bytes */
    size_t used; /* payload bytes handed out */
    alignas(max_align_t) unsigned char data[];
} arena_chunk;

struct arena {
    arena_chunk *head;
    size_t chunk_bytes;
    size_t used;
    size_t held;        /* bytes of all chunks (headers included) */
    size_t max_bytes;   /* own bound on held; 0 = none */
    mem_budget *shared; /* borrowed; held is taken from it */
    int over;           /* ARENA_OVER_* of the first refused chunk */
};

arena *arena_new(size_t chunk_bytes)
{
    arena *a = mem_alloc(sizeof *a);
    if (!a) return NULL;
    a->head = NULL;
    a->chunk_bytes = chunk_bytes ? chunk_bytes : ARENA_DEFAULT_CHUNK;
    a->used = 0;
    a->held = 0;
    a->max_bytes = 0;
    a->shared = NULL;
    a->over = 0;
    return a;
}

void arena_free(arena *a)
{
    if (!a) return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        mem_free(c, sizeof *c + c->cap);
        c = next;
    }
    if (a->shared) mem_budget_give(a->shared, a->held);
    mem_free(a, sizeof *a);
}

static arena_chunk *arena_chunk_new(arena *a, size_t cap)
{
    if (cap > SIZE_MAX - sizeof(arena_chunk)) return NULL;
    size_t bytes = sizeof(arena_chunk) + cap;
    if (a->max_bytes && (bytes > a->max_bytes || a->held > a->max_bytes - bytes)) {
        if (!a->over) a->over = ARENA_OVER_OWN;
        return NULL;
    }
    if (a->shared && mem_budget_take(a->shared, bytes)) {
        if (!a->over) a->over = ARENA_OVER_SHARED;
        return NULL;
    }
    arena_chunk *c = mem_alloc(bytes);
    if (!c) {
        if (a->shared) mem_budget_give(a->shared, bytes);
        return NULL;
    }
    a->held += bytes;
    c->next = NULL;
    c->cap = cap;
    c->used = 0;
    return c;
}

void *arena_alloc(arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN) return NULL;
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    arena_chunk *c = a->head;
    if (c && c->cap - c->used >= need) {
        void *p = c->data + c->used;
        c->used += need;
        a->used += need;
        return p;
    }
    if (need > a->chunk_bytes / 4 && c) {
        /* A big block of its own, behind the current chunk. */
        arena_chunk *big = arena_chunk_new(a, need);
        if (!big) return NULL;
        big->used = need;
        big->next = c->next;
        c->next = big;
        a->used += need;
        return big->data;
    }
    arena_chunk *fresh = arena_chunk_new(a, need > a->chunk_bytes ? need : a->chunk_bytes);
    if (!fresh) return NULL;
    fresh->next = c;
    a->head = fresh;
    fresh->used = need;
    a->used += need;
    return fresh->data;
}

void *arena_calloc(arena *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    size_t total = n * size;
    void *p = arena_alloc(a, total);
    if (p) memset(p, 0, total > 0 ? total : 1);
    return p;
}

char *arena_strdup(arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX) return NULL;
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t arena_used(const arena *a) { return a->used; }

size_t arena_held(const arena *a) { return a->held; }

int arena_set_budget(arena *a, size_t max_bytes, mem_budget *shared)
{
    if (shared && shared != a->shared && mem_budget_take(shared, a->held)) return -1;
    if (a->shared && a->shared != shared) mem_budget_give(a->shared, a->held);
    a->shared = shared;
    a->max_bytes = max_bytes;
    return 0;
}

int arena_over_budget(const arena *a) { return a->over; }

size_t arena_budget_max(const arena *a) { return a->max_bytes; }

mem_budget *arena_budget_shared(const arena *a) { return a->shared; }

int arena_charge(arena *a, size_t n)
{
    if (a->max_bytes && (n > a->max_bytes || a->held > a->max_bytes - n)) {
        if (!a->over) a->over = ARENA_OVER_OWN;
        return -1;
    }
    if (a->shared && mem_budget_take(a->shared, n)) {
        if (!a->over) a->over = ARENA_OVER_SHARED;
        return -1;
    }
    a->held += n;
    return 0;
}

void arena_uncharge(arena *a, size_t n)
{
    if (n > a->held) n = a->held;
    a->held -= n;
    if (a->shared) mem_budget_give(a->shared, n);
}
