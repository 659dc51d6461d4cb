/* Arena allocator. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

struct lh__arena_block {
  lh__arena_block *next;
  size_t cap, used;
  _Alignas(8) char data[];
};

void lh__arena_init(lh__arena *a, size_t block_size, size_t max) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 65536;
  a->total = 0;
  a->max = max;
}

void *lh__arena_alloc(lh__arena *a, size_t n) {
  n = (n + 7) & ~(size_t)7;
  if (n == 0)
    n = 8;
  if (a->max && (n > a->max || a->total > a->max - n))
    return NULL;
  lh__arena_block *b = a->head;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > a->block_size / 4 ? n : a->block_size;
    if (n > a->block_size / 4 && b) {
      /* large: own block, linked behind the current one so the current keeps filling */
      lh__arena_block *big = malloc(sizeof *big + cap);
      if (!big)
        return NULL;
      big->cap = cap;
      big->used = n;
      big->next = b->next;
      b->next = big;
      a->total += n;
      return big->data;
    }
    lh__arena_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
      return NULL;
    nb->cap = cap;
    nb->used = 0;
    nb->next = b;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += n;
  a->total += n;
  return p;
}

char *lh__arena_strndup(lh__arena *a, const char *s, size_t n) {
  char *p = lh__arena_alloc(a, n + 1);
  if (!p)
    return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void lh__arena_reset(lh__arena *a) {
  /* keep one regular-size block, free the rest */
  lh__arena_block *keep = NULL, *b = a->head;
  while (b) {
    lh__arena_block *next = b->next;
    if (!keep && b->cap == a->block_size)
      keep = b;
    else
      free(b);
    b = next;
  }
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
  a->head = keep;
  a->total = 0;
}

void lh__arena_free(lh__arena *a) {
  lh__arena_block *b = a->head;
  while (b) {
    lh__arena_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
  a->total = 0;
}
