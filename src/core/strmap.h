/* Open-addressing hash map from strings (not owned) to 32-bit values: the Delta snapshot's
 * path -> file index, and similar lookups. */
#ifndef LH_CORE_STRMAP_H
#define LH_CORE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lh__strmap {
  const char **keys; /* NULL = empty slot; (const char *)1 = deleted */
  uint32_t *vals;
  size_t cap, used, live;
} lh__strmap;

void lh__strmap_init(lh__strmap *m);
void lh__strmap_free(lh__strmap *m);
/* Free a map whose keys it owns (malloc'ed), with the keys. */
void lh__strmap_free_keys(lh__strmap *m);
/* Insert or replace; the key must outlive its entry. Returns 0 or LH_ENOMEM. */
int lh__strmap_put(lh__strmap *m, const char *key, uint32_t val);
bool lh__strmap_get(const lh__strmap *m, const char *key, uint32_t *val);
bool lh__strmap_del(lh__strmap *m, const char *key);

#endif
