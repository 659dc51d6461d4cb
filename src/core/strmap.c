/* String -> uint32 hash map with linear probing and tombstones. */
#include <stdlib.h>
#include <string.h>

#include "core/strmap.h"
#include "lakehouse/error.h"

#define DELETED ((const char *)1)

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

void lh__strmap_init(lh__strmap *m) {
  memset(m, 0, sizeof *m);
}

void lh__strmap_free(lh__strmap *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

static int grow(lh__strmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  while (m->live * 2 >= cap)
    cap *= 2;
  const char **keys = calloc(cap, sizeof *keys);
  uint32_t *vals = calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return LH_ENOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    const char *k = m->keys[i];
    if (!k || k == DELETED)
      continue;
    size_t j = hash(k) & (cap - 1);
    while (keys[j])
      j = (j + 1) & (cap - 1);
    keys[j] = k;
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  m->used = m->live;
  return 0;
}

int lh__strmap_put(lh__strmap *m, const char *key, uint32_t val) {
  if ((m->used + 1) * 4 >= m->cap * 3 && grow(m))
    return LH_ENOMEM;
  size_t i = hash(key) & (m->cap - 1), slot = (size_t)-1;
  while (m->keys[i]) {
    if (m->keys[i] == DELETED) {
      if (slot == (size_t)-1)
        slot = i;
    } else if (strcmp(m->keys[i], key) == 0) {
      m->vals[i] = val;
      return 0;
    }
    i = (i + 1) & (m->cap - 1);
  }
  if (slot == (size_t)-1) {
    slot = i;
    m->used++;
  }
  m->keys[slot] = key;
  m->vals[slot] = val;
  m->live++;
  return 0;
}

static size_t find(const lh__strmap *m, const char *key) {
  if (!m->cap)
    return (size_t)-1;
  size_t i = hash(key) & (m->cap - 1);
  while (m->keys[i]) {
    if (m->keys[i] != DELETED && strcmp(m->keys[i], key) == 0)
      return i;
    i = (i + 1) & (m->cap - 1);
  }
  return (size_t)-1;
}

bool lh__strmap_get(const lh__strmap *m, const char *key, uint32_t *val) {
  size_t i = find(m, key);
  if (i == (size_t)-1)
    return false;
  if (val)
    *val = m->vals[i];
  return true;
}

bool lh__strmap_del(lh__strmap *m, const char *key) {
  size_t i = find(m, key);
  if (i == (size_t)-1)
    return false;
  m->keys[i] = DELETED;
  m->live--;
  return true;
}

void lh__strmap_free_keys(lh__strmap *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i] && m->keys[i] != (const char *)1)
      free((char *)m->keys[i]);
  lh__strmap_free(m);
}
