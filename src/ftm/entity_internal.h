/* Entity internals shared with the statement code (same module). */
#ifndef LH_FTM_ENTITY_INTERNAL_H
#define LH_FTM_ENTITY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/json_reader.h"

#include "lakehouse/entity.h"

typedef struct eprop {
  const lh_property *prop;
  const char **values;
  uint32_t *lens; /* byte length of each value */
  uint32_t n, cap;
  uint32_t *ht; /* open addressing over value indexes + 1; malloc'd, kept across resets */
  uint32_t ht_cap;
  bool indexed; /* ht holds this property's values */
} eprop;

typedef struct strlist {
  const char **items;
  uint32_t n, cap;
  bool present; /* the key was given (an empty list still round-trips) */
} strlist;

typedef struct extra {
  const char *key;
  uint32_t key_len;
  const char *raw;
  uint32_t raw_len;
} extra;

struct lh_entity {
  const lh_model *model;
  lh__arena arena;
  const char *id;
  const lh_schema *schema;
  eprop *props;
  size_t nprops, props_cap;
  size_t props_cap_used; /* slots initialised so far (their ht memory is live) */
  const char *meta[LH_META_STR_COUNT];
  strlist lists[LH_META_LIST_COUNT];
  int target;
  extra *extras;
  size_t nextras, extras_cap;
  lh__json_parser *parser;
  lh_buf scratch;
  lh_drops *drops; /* borrowed; kept by reset */
};

#define LH__ENTITY_HASH_THRESHOLD 16 /* values per property before a hash index is kept */

/* Property i with its values and their byte lengths (no strlen on the hot path). */
static inline const lh_property *lh__entity_property_lens(const lh_entity *e, size_t i,
                                                          const char *const **values,
                                                          const uint32_t **lens, size_t *n) {
  const eprop *ep = &e->props[i];
  *values = ep->values;
  *lens = ep->lens;
  *n = ep->n;
  return ep->prop;
}

#endif
