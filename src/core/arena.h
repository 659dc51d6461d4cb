/* Bump allocator for many small, same-lifetime allocations (an entity's strings, a parsed
 * JSON document). Reset keeps the first block so a reused arena does not touch malloc. */
#ifndef LH_CORE_ARENA_H
#define LH_CORE_ARENA_H

#include <stddef.h>

typedef struct lh__arena_block lh__arena_block;

typedef struct lh__arena {
  lh__arena_block *head; /* current block (newest) */
  size_t block_size;     /* size of regular blocks */
  size_t total;          /* bytes handed out since the last reset */
  size_t max;            /* hard cap on total; 0 = unlimited */
} lh__arena;

void lh__arena_init(lh__arena *a, size_t block_size, size_t max);
/* 8-byte aligned; NULL when out of memory or past the cap. */
void *lh__arena_alloc(lh__arena *a, size_t n);
/* Copy of s[0..n) with a NUL terminator. */
char *lh__arena_strndup(lh__arena *a, const char *s, size_t n);
void lh__arena_reset(lh__arena *a);
void lh__arena_free(lh__arena *a);

#endif
