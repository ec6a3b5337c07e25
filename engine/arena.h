/*
 * arena — a bump allocator for short lives.
 *
 * A query (tokens' decoded strings, the AST, values, output) or an ingest
 * request owns one arena and frees everything in it with one arena_free().
 * Memory comes from mem_ in chunks; nothing is freed individually. An arena is
 * not thread-safe: one owner at a time.
 */
#ifndef CAIRN_ARENA_H
#define CAIRN_ARENA_H
#include <stddef.h>

#include "mem.h"

typedef struct arena arena;

/* A new empty arena whose chunks are at least `chunk_bytes` (0: 16 KiB).
 * Returns owned (arena_free), or NULL when out of memory. */
arena *arena_new(size_t chunk_bytes);
/* Free every chunk and the arena. arena_free(NULL) does nothing. */
void arena_free(arena *a);
/* `n` bytes aligned for any type, uninitialised; NULL when out of memory.
 * Valid until arena_free(). n == 0 returns a valid unique pointer. */
void *arena_alloc(arena *a, size_t n);
/* Like arena_alloc but zeroed; `n * size` is checked for overflow. */
void *arena_calloc(arena *a, size_t n, size_t size);
/* Copy `n` bytes of `s` and append a NUL; NULL when out of memory. */
char *arena_strdup(arena *a, const char *s, size_t n);
/* Bytes handed out so far (excluding chunk slack), for limits and tests. */
size_t arena_used(const arena *a);
/* Bytes of the chunks the arena holds (what it costs the process). */
size_t arena_held(const arena *a);

/*
 * Bound the arena: its chunks may total at most `max_bytes` (0 = no own
 * limit), and every chunk is also taken from `shared` (borrowed, may be
 * NULL; it must outlive the arena), given back by arena_free(). An
 * allocation past either bound returns NULL like an out-of-memory, and
 * arena_over_budget() then says which bound it was, so the owner can turn
 * its CAIRN_ENOMEM into a limit error. Chunks already held are counted
 * against `shared` at once; returns -1 (and sets nothing) if that fails.
 */
int arena_set_budget(arena *a, size_t max_bytes, mem_budget *shared);
/* 0: no bound was hit; ARENA_OVER_OWN or ARENA_OVER_SHARED: the first one hit. */
enum { ARENA_OVER_OWN = 1, ARENA_OVER_SHARED = 2 };
int arena_over_budget(const arena *a);
size_t arena_budget_max(const arena *a);
mem_budget *arena_budget_shared(const arena *a);
/* Count `n` bytes the owner allocates elsewhere (mem_) against the arena's
 * budgets, as if a chunk: 0, or -1 (nothing counted, arena_over_budget()
 * set) when that would pass one. arena_uncharge() gives them back; charges
 * still held are given back by arena_free(). */
int arena_charge(arena *a, size_t n);
void arena_uncharge(arena *a, size_t n);
#endif
