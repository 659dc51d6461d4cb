/* Aggregation of entity-contiguous statements into entities (inventory §8.6): schema is the
 * common schema of all statements, properties come from non-BASE statements, datasets and
 * origins are collected, first_seen/last_seen span the non-BASE statements and last_change
 * is the latest first_seen of the BASE statements. */
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/sort.h"
#include "logic/aggregate.h"

typedef struct pending {
  const lh_property *prop; /* resolved against the statement's own schema */
  const char *value;
} pending;

struct lh_aggregator {
  const lh_model *model;
  lh_entity_fn fn;
  void *ctx;
  lh_entity *entity;
  lh__arena arena; /* current entity's pending strings */
  char *entity_id;
  const lh_schema *schema;
  pending *items;
  size_t n, cap;
  const char **datasets, **origins;
  size_t ndatasets, norigins, lists_cap_d, lists_cap_o;
  lh_time first_seen, last_seen, last_change;
  bool active;
};

int lh_aggregator_new(const lh_model *model, lh_entity_fn fn, void *ctx, lh_aggregator **out,
                      lh_error *err) {
  *out = NULL;
  lh_aggregator *a = calloc(1, sizeof *a);
  if (!a)
    return lh_error_nomem(err);
  a->model = model;
  a->fn = fn;
  a->ctx = ctx;
  int rc = lh_entity_new(model, &a->entity, err);
  if (rc) {
    free(a);
    return rc;
  }
  lh__arena_init(&a->arena, 64 * 1024, 0);
  *out = a;
  return 0;
}

void lh_aggregator_free(lh_aggregator *a) {
  if (!a)
    return;
  lh_entity_free(a->entity);
  lh__arena_free(&a->arena);
  free(a->items);
  free(a->datasets);
  free(a->origins);
  free(a);
}

static int add_unique(const char ***list, size_t *n, size_t *cap, const char *v, lh__arena *ar) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*list)[i], v) == 0)
      return 0;
  if (LH_ARRAY_RESERVE(*list, *cap, *n + 1, 4))
    return LH_ENOMEM;
  const char *copy = lh__arena_strndup(ar, v, strlen(v));
  if (!copy)
    return LH_ENOMEM;
  (*list)[(*n)++] = copy;
  return 0;
}

static int emit(lh_aggregator *a, lh_error *err) {
  if (!a->active)
    return 0;
  lh_entity *e = a->entity;
  lh_entity_reset(e);
  int rc = lh_entity_set_id(e, a->entity_id, strlen(a->entity_id), err);
  if (rc)
    return rc;
  lh_entity_set_schema(e, a->schema);
  for (size_t i = 0; i < a->n; i++) {
    /* re-resolve by name on the final (more specific) schema */
    const lh_property *p = lh_schema_property(a->schema, a->items[i].prop->name);
    if (!p)
      p = a->items[i].prop;
    rc = lh_entity_add_property(e, p, a->items[i].value, strlen(a->items[i].value), 0, err);
    if (rc < 0)
      return lh_error_prefix(err, rc, "entity '%s'", a->entity_id);
  }
  const char *caption = lh_entity_caption(e);
  if (caption && (rc = lh_entity_set_meta(e, LH_META_CAPTION, caption)))
    return lh_error_set(err, rc, "out of memory");
  lh__qsort(a->datasets, a->ndatasets, sizeof *a->datasets, lh__cmp_strp);
  lh__qsort(a->origins, a->norigins, sizeof *a->origins, lh__cmp_strp);
  /* referents are always present (empty: one dataset, canonical id == entity id) */
  lh_entity_add_meta(e, LH_META_REFERENTS, NULL);
  for (size_t i = 0; i < a->ndatasets; i++)
    lh_entity_add_meta(e, LH_META_DATASETS, a->datasets[i]);
  for (size_t i = 0; i < a->norigins; i++)
    lh_entity_add_meta(e, LH_META_ORIGIN, a->origins[i]);
  char iso[LH_ISO_SIZE];
  if (a->first_seen != LH_TIME_NULL) {
    lh_time_format_ftm(a->first_seen, iso);
    lh_entity_set_meta(e, LH_META_FIRST_SEEN, iso);
  }
  if (a->last_seen != LH_TIME_NULL) {
    lh_time_format_ftm(a->last_seen, iso);
    lh_entity_set_meta(e, LH_META_LAST_SEEN, iso);
  }
  if (a->last_change != LH_TIME_NULL) {
    lh_time_format_ftm(a->last_change, iso);
    lh_entity_set_meta(e, LH_META_LAST_CHANGE, iso);
  }
  a->active = false;
  return a->fn(e, a->ctx);
}

static void start(lh_aggregator *a) {
  lh__arena_reset(&a->arena);
  a->n = a->ndatasets = a->norigins = 0;
  a->schema = NULL;
  a->entity_id = NULL;
  a->first_seen = a->last_seen = a->last_change = LH_TIME_NULL;
  a->active = true;
}

int lh_aggregator_add(lh_aggregator *a, const lh_statement *st, lh_error *err) {
  int rc;
  if (a->active && strcmp(a->entity_id, st->entity_id) != 0) {
    if ((rc = emit(a, err)))
      return rc;
  }
  if (!a->active) {
    start(a);
    a->entity_id = lh__arena_strndup(&a->arena, st->entity_id, strlen(st->entity_id));
    if (!a->entity_id)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  const lh_schema *s = st->schema_ref ? st->schema_ref : lh_model_schema(a->model, st->schema);
  if (!s)
    return lh_error_set(err, LH_EINVAL, "entity '%s': unknown schema '%s'", st->entity_id,
                        st->schema);
  if (!a->schema) {
    a->schema = s;
  } else if (a->schema != s) {
    const lh_schema *c = lh_schema_common(a->schema, s);
    a->schema = c ? c : lh_schema_common_ancestor(a->schema, s);
    if (!a->schema)
      return lh_error_set(err, LH_EINVAL, "entity '%s': schemata %s and %s share no ancestor",
                          st->entity_id, a->schema->name, s->name);
  }
  if (st->dataset &&
      (rc = add_unique(&a->datasets, &a->ndatasets, &a->lists_cap_d, st->dataset, &a->arena)))
    return lh_error_set(err, rc, "out of memory");
  if (st->origin &&
      (rc = add_unique(&a->origins, &a->norigins, &a->lists_cap_o, st->origin, &a->arena)))
    return lh_error_set(err, rc, "out of memory");
  if (strcmp(st->prop, LH_BASE_PROP) == 0) {
    if (st->first_seen != LH_TIME_NULL &&
        (a->last_change == LH_TIME_NULL || st->first_seen > a->last_change))
      a->last_change = st->first_seen;
    return 0;
  }
  const lh_property *p = st->prop_ref ? st->prop_ref : lh_schema_property(s, st->prop);
  if (!p)
    return lh_error_set(err, LH_EINVAL, "entity '%s': unknown property '%s:%s'", st->entity_id,
                        s->name, st->prop);
  if (LH_ARRAY_RESERVE(a->items, a->cap, a->n + 1, 64))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  const char *v = lh__arena_strndup(&a->arena, st->value, st->value_len);
  if (!v)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  a->items[a->n++] = (pending){p, v};
  if (st->first_seen != LH_TIME_NULL &&
      (a->first_seen == LH_TIME_NULL || st->first_seen < a->first_seen))
    a->first_seen = st->first_seen;
  if (st->last_seen != LH_TIME_NULL &&
      (a->last_seen == LH_TIME_NULL || st->last_seen > a->last_seen))
    a->last_seen = st->last_seen;
  return 0;
}

int lh_aggregator_finish(lh_aggregator *a, lh_error *err) {
  return emit(a, err);
}
