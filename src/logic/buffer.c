/* The entity buffer: rows in an array, their strings in an arena, and an open-addressing
 * index on (id, origin, fragment) so a re-emission overwrites its row in place. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/conventions.h"
#include "lakehouse/settings.h"
#include "lakehouse/validate.h"
#include "logic/entity_buffer.h"

struct lh_entity_buffer {
  char *dataset;
  int shards;
  char *origin;
  bool override_origin;
  size_t max_rows;
  const lh_model *model;
  lh_exploder *x;
  /* the exploder's current origin settings, to change them only when they differ */
  char *x_origin, *x_fragment;
  bool x_override;
  lh__arena arena;
  lh_row *rows;
  size_t nrows, cap, adds;
  uint64_t *slots; /* high 32 bits of the key's hash, row index + 1 below; 0 = empty */
  size_t nslots;
  /* take(): rows ordered by shard */
  lh_row *sorted;
  size_t sorted_cap;
  /* an entity's rows, staged until all of them were made */
  struct staged *stage;
  size_t nstage, stage_cap;
  /* the last origin, fragment and entity id copied (they repeat row after row) */
  const char *last_origin, *last_fragment, *last_entity_id;
  lh_error add_err;
};

static const char *keep(lh_entity_buffer *b, const char *s) {
  return s ? lh__arena_strndup(&b->arena, s, strlen(s)) : NULL;
}

int lh_entity_buffer_new(const lh_buffer_opts *o, lh_entity_buffer **out, lh_error *err) {
  *out = NULL;
  const lh_model *model = lh_model_default(err);
  if (!model)
    return lh_error_code(err, LH_EINVAL);
  if (!o || !o->dataset)
    return lh_error_set(err, LH_EINVAL, "entity buffer: a target dataset is required");
  int rc = o->origin ? lh_validate_origin(o->origin, err) : 0;
  if (rc)
    return rc;
  lh_entity_buffer *b = calloc(1, sizeof *b);
  if (!b)
    return lh_error_nomem(err);
  b->model = model;
  b->shards = o->shards;
  b->override_origin = o->override_origin;
  b->max_rows = o->max_rows ? o->max_rows : 1000000;
  b->dataset = strdup(o->dataset);
  b->origin = strdup(o->origin ? o->origin : LH_ORIGIN_DEFAULT);
  lh__arena_init(&b->arena, 1 << 20, 0);
  lh_explode_opts eo = {.dataset = o->dataset,
                        .origin = b->origin,
                        .override_origin = o->override_origin,
                        .last_seen = o->last_seen,
                        .now = o->now};
  rc = !b->dataset || !b->origin ? lh_error_nomem(err) : lh_exploder_new(&eo, &b->x, err);
  if (!rc && !(b->x_origin = strdup(b->origin)))
    rc = lh_error_nomem(err);
  if (rc) {
    lh_entity_buffer_free(b);
    return rc;
  }
  b->x_override = o->override_origin;
  *out = b;
  return 0;
}

void lh_entity_buffer_free(lh_entity_buffer *b) {
  if (!b)
    return;
  lh_exploder_free(b->x);
  free(b->dataset);
  free(b->origin);
  free(b->x_origin);
  free(b->x_fragment);
  lh__arena_free(&b->arena);
  free(b->rows);
  free(b->slots);
  free(b->sorted);
  free(b->stage);
  free(b);
}

size_t lh_entity_buffer_size(const lh_entity_buffer *b) {
  return b->adds;
}
size_t lh_entity_buffer_rows(const lh_entity_buffer *b) {
  return b->nrows;
}
bool lh_entity_buffer_full(const lh_entity_buffer *b) {
  return b->adds >= b->max_rows;
}

void lh_entity_buffer_clear(lh_entity_buffer *b) {
  lh__arena_reset(&b->arena);
  b->nrows = 0;
  b->adds = 0;
  b->last_origin = b->last_fragment = b->last_entity_id = NULL;
  if (b->slots)
    memset(b->slots, 0, b->nslots * sizeof *b->slots);
}

/* ---- the (id, origin, fragment) index ------------------------------------------------- */

static uint64_t str_hash(const char *s, uint64_t h) {
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static uint64_t row_hash(const lh_row *r) {
  uint64_t h = 0;
  /* the id is 40 hex chars of SHA-1: its first 16 are already well mixed */
  for (int i = 0; i < 16 && r->id[i]; i++)
    h = (h << 4) | (uint64_t)((r->id[i] & 0xf) + (r->id[i] > '9' ? 9 : 0));
  h = str_hash(r->origin, h ^ 14695981039346656037ULL);
  return str_hash(r->fragment, h) * 0x9E3779B97F4A7C15ULL;
}

static bool same_key(const lh_row *a, const lh_row *b) {
  return strcmp(a->id, b->id) == 0 && strcmp(a->origin, b->origin) == 0 &&
         strcmp(a->fragment, b->fragment) == 0;
}

#define SLOT_ROW(v) ((uint32_t)(v))
#define SLOT_TAG(v) ((uint32_t)((v) >> 32))

static int grow_index(lh_entity_buffer *b) {
  size_t n = b->nslots ? 2 * b->nslots : 1024;
  uint64_t *slots = calloc(n, sizeof *slots);
  if (!slots)
    return LH_ENOMEM;
  for (size_t i = 0; i < b->nrows; i++) {
    uint64_t h = row_hash(&b->rows[i]);
    size_t k = (size_t)(h & (n - 1));
    while (slots[k])
      k = (k + 1) & (n - 1);
    slots[k] = (h >> 32 << 32) | (uint64_t)(i + 1);
  }
  free(b->slots);
  b->slots = slots;
  b->nslots = n;
  return 0;
}

/* A row whose strings are in the arena, waiting for its slot: the slot's cache line is
 * loaded while the rows after it are copied (an entity's statements go in together). */
typedef struct staged {
  lh_row r;
  uint64_t h;
} staged;

/* Copy a row's strings into the arena and start loading its slot. */
static int stage_row(lh_entity_buffer *b, const lh_row *src, staged *out, lh_error *err) {
  uint64_t h = row_hash(src);
  if (b->nslots)
    __builtin_prefetch(&b->slots[h & (b->nslots - 1)]);
  lh_row r = *src;
  /* origins and fragments repeat: keep one copy while they do */
  if (!b->last_origin || strcmp(b->last_origin, r.origin) != 0)
    b->last_origin = keep(b, r.origin);
  if (!b->last_fragment || strcmp(b->last_fragment, r.fragment) != 0)
    b->last_fragment = keep(b, r.fragment);
  r.origin = b->last_origin;
  r.fragment = b->last_fragment;
  r.id = keep(b, src->id);
  /* so do entity ids, row after row */
  if (!b->last_entity_id || strcmp(b->last_entity_id, src->entity_id) != 0)
    b->last_entity_id = keep(b, src->entity_id);
  r.entity_id = b->last_entity_id;
  r.value = lh__arena_strndup(&b->arena, src->value, src->value_len);
  if (src->original_value)
    r.original_value = keep(b, src->original_value);
  if (src->lang)
    r.lang = keep(b, src->lang);
  r.dataset = b->dataset;
  if (!r.origin || !r.fragment || !r.id || !r.entity_id || !r.value ||
      (src->original_value && !r.original_value) || (src->lang && !r.lang))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  out->r = r;
  out->h = h;
  return 0;
}

/* Put a staged row in, replacing a row with the same key. */
static int commit_row(lh_entity_buffer *b, const staged *st, lh_error *err) {
  if (LH_ARRAY_RESERVE(b->rows, b->cap, b->nrows + 1, 4096))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  if ((b->nrows + 1) * 2 > b->nslots && grow_index(b))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  uint64_t h = st->h;
  size_t k = (size_t)(h & (b->nslots - 1));
  b->adds++;
  for (uint64_t v; (v = b->slots[k]) != 0; k = (k + 1) & (b->nslots - 1)) {
    /* the hash's high bits tell most other keys apart without touching their row */
    lh_row *old = &b->rows[SLOT_ROW(v) - 1];
    if (SLOT_TAG(v) == (uint32_t)(h >> 32) && same_key(old, &st->r)) {
      *old = st->r; /* last write wins */
      return 0;
    }
  }
  b->rows[b->nrows] = st->r;
  b->slots[k] = (h >> 32 << 32) | (uint64_t)(++b->nrows);
  return 0;
}

/* Copy a row in (strings into the arena), replacing a row with the same key. */
static int put_row(lh_entity_buffer *b, const lh_row *src, lh_error *err) {
  staged st;
  int rc = stage_row(b, src, &st, err);
  return rc ? rc : commit_row(b, &st, err);
}

/* ---- adding ---------------------------------------------------------------------------- */

/* Staged rows a buffer keeps room for between entities (a larger entity's room is freed). */
#define STAGE_KEEP 4096

typedef struct entity_add {
  lh_entity_buffer *b;
  lh_error *err;
} entity_add;

static int add_exploded(const lh_statement *st, void *ctx) {
  entity_add *a = ctx;
  lh_entity_buffer *b = a->b;
  if (LH_ARRAY_RESERVE(b->stage, b->stage_cap, b->nstage + 1, 64))
    return lh_error_set(a->err, LH_ENOMEM, "out of memory");
  lh_row row;
  lh_row_from_statement(st, b->shards, &row);
  int rc = stage_row(b, &row, &b->stage[b->nstage], a->err);
  if (!rc)
    b->nstage++;
  return rc;
}

static bool same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

int lh_entity_buffer_add_entity(lh_entity_buffer *b, const lh_entity *e, const char *origin,
                                const char *fragment, lh_error *err) {
  if (lh_entity_buffer_full(b))
    return lh_error_set(err, LH_ELIMIT, "entity buffer is full (%zu rows)", b->max_rows);
  const char *want = origin ? origin : b->origin;
  bool override = origin ? true : b->override_origin;
  if (!same_str(want, b->x_origin) || override != b->x_override ||
      !same_str(fragment, b->x_fragment)) {
    char *o = strdup(want), *f = fragment ? strdup(fragment) : NULL;
    if (!o || (fragment && !f)) {
      free(o);
      free(f);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    int rc = lh_exploder_set_origin(b->x, want, override, fragment, err);
    if (rc) {
      free(o);
      free(f);
      return rc;
    }
    free(b->x_origin);
    free(b->x_fragment);
    b->x_origin = o;
    b->x_fragment = f;
    b->x_override = override;
  }
  /* the entity's rows go in together, once all of them were made: an entity that fails
   * half-way adds none, and the slots of all of them load at once */
  entity_add a = {b, err};
  b->nstage = 0;
  int rc = lh_exploder_run(b->x, e, add_exploded, &a, err);
  for (size_t i = 0; rc >= 0 && i < b->nstage; i++) {
    int crc = commit_row(b, &b->stage[i], err);
    if (crc)
      rc = crc;
  }
  b->nstage = 0;
  if (b->stage_cap > STAGE_KEEP) { /* a huge entity's staging goes once it is in */
    free(b->stage);
    b->stage = NULL;
    b->stage_cap = 0;
  }
  return rc < 0 ? rc : 0;
}

int lh_entity_buffer_add_statement(lh_entity_buffer *b, const lh_statement *st, lh_time deleted_at,
                                   const char *fragment, const char *origin, lh_error *err) {
  if (!st->entity_id || !*st->entity_id)
    return 0; /* as the Python buffer: a statement without entity is ignored */
  if (lh_entity_buffer_full(b))
    return lh_error_set(err, LH_ELIMIT, "entity buffer is full (%zu rows)", b->max_rows);
  if (!st->schema || !st->prop || !st->value)
    return lh_error_set(err, LH_EINVAL, "statement of '%s': %s is missing", st->entity_id,
                        !st->schema ? "schema"
                        : !st->prop ? "prop"
                                    : "value");
  const lh_schema *schema = lh_model_schema(b->model, st->schema);
  if (!schema)
    return lh_error_set(err, LH_EINVAL, "statement of '%s': unknown schema '%s'", st->entity_id,
                        st->schema);
  const lh_property *prop = NULL;
  bool base = strcmp(st->prop, LH_BASE_PROP) == 0;
  if (!base && !(prop = lh_schema_property(schema, st->prop)))
    return lh_error_set(err, LH_EINVAL, "statement of '%s': unknown property '%s:%s'",
                        st->entity_id, schema->name, st->prop);
  size_t vlen = st->value_len ? st->value_len : strlen(st->value);
  if (vlen == 0)
    return 0; /* an empty value is no statement */
  const char *o = b->override_origin ? b->origin
                  : origin           ? origin
                  : st->origin       ? st->origin
                                     : b->origin;
  int rc = o != b->origin && o != b->last_origin ? lh_validate_origin(o, err) : 0;
  if (rc)
    return lh_error_prefix(err, rc, "statement of '%s'", st->entity_id);
  const char *lang =
      st->lang && *st->lang && prop && lh_type_is_linguistic(prop->type) ? st->lang : NULL;
  char id[LH_SHA1_HEX_SIZE];
  lh_statement_id(b->dataset, st->entity_id, st->prop, st->value, vlen, lang, st->external, id);
  lh_row r;
  memset(&r, 0, sizeof r);
  lh_entity_shard(st->entity_id, strlen(st->entity_id), b->shards, r.shard);
  r.id = id;
  r.entity_id = st->entity_id;
  r.bucket = schema->bucket;
  r.origin = o;
  r.schema = schema->name;
  r.prop = base ? LH_BASE_PROP : prop->name;
  r.prop_type = base ? LH_BASE_PROP : prop->type->name;
  r.value = st->value;
  r.value_len = vlen;
  r.original_value = st->original_value && *st->original_value ? st->original_value : NULL;
  r.lang = lang;
  r.external = st->external;
  r.first_seen = st->first_seen;
  r.last_seen = deleted_at != LH_TIME_NULL ? deleted_at : st->last_seen;
  r.fragment = fragment ? fragment : st->fragment ? st->fragment : "";
  r.deleted_at = deleted_at;
  return put_row(b, &r, err);
}

/* ---- handing over ----------------------------------------------------------------------- */

static _Thread_local const lh_row *sort_rows;

static int by_shard(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  int c = strcmp(sort_rows[x].shard, sort_rows[y].shard);
  return c ? c : (x > y) - (x < y);
}

int lh_entity_buffer_take(lh_entity_buffer *b, lh_time now, const lh_row **rows, size_t *n,
                          lh_error *err) {
  if (now == LH_TIME_NULL)
    now = lh_time_now();
  for (size_t i = 0; i < b->nrows; i++) {
    lh_row *r = &b->rows[i];
    if (r->first_seen == LH_TIME_NULL)
      r->first_seen = now;
    if (r->last_seen == LH_TIME_NULL)
      r->last_seen = now;
  }
  /* group by shard, keeping insertion order */
  bool one_shard = true;
  for (size_t i = 1; i < b->nrows && one_shard; i++)
    one_shard = strcmp(b->rows[i].shard, b->rows[0].shard) == 0;
  if (one_shard) {
    *rows = b->rows;
    *n = b->nrows;
    return 0;
  }
  if (b->sorted_cap < b->nrows) {
    lh_row *s = realloc(b->sorted, b->nrows * sizeof *s);
    if (!s)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    b->sorted = s;
    b->sorted_cap = b->nrows;
  }
  /* a stable sort of the rows by shard label */
  uint32_t *order = malloc(b->nrows * sizeof *order);
  if (!order)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  for (size_t i = 0; i < b->nrows; i++)
    order[i] = (uint32_t)i;
  sort_rows = b->rows;
  qsort(order, b->nrows, sizeof *order, by_shard);
  for (size_t i = 0; i < b->nrows; i++)
    b->sorted[i] = b->rows[order[i]];
  free(order);
  *rows = b->sorted;
  *n = b->nrows;
  return 0;
}
