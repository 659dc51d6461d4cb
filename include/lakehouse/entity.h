/* FtM entities: id, schema, property values (ordered, de-duplicated per property) and the
 * context keys of statement-based entity JSON (caption, datasets, referents, origin,
 * first_seen, last_seen, last_change, target, fragment). Unknown top-level keys are kept
 * verbatim and written back. An lh_entity owns all its strings; lh_entity_reset keeps its
 * memory for reuse, which is how the bulk readers stay allocation-free per line. */
#ifndef LAKEHOUSE_ENTITY_H
#define LAKEHOUSE_ENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/ftm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_entity lh_entity;
/* Receives an entity (a finished aggregate, a query result); it is valid only during the
 * call. A non-zero return stops the producer and is returned by it. */
typedef int (*lh_entity_fn)(lh_entity *e, void *ctx);

typedef enum lh_delta_op {
  LH_DELTA_NONE = 0, /* a plain entity line */
  LH_DELTA_ADD,
  LH_DELTA_MOD,
  LH_DELTA_DEL, /* only the id is set */
  LH_DELTA_SKIP /* nothing to import: the line was dropped and counted (see lh_drops) */
} lh_delta_op;

/* What readers drop instead of failing, as the Python project does (it drops them
 * silently; we count them and say so), unless strict. */
typedef enum lh_drop {
  LH_DROP_NO_ID,            /* an entity without an id */
  LH_DROP_NO_SCHEMA,        /* an entity without a schema */
  LH_DROP_BAD_ID,           /* an entity whose id is not a valid entity id */
  LH_DROP_UNKNOWN_PROP,     /* a value of a property its schema does not have */
  LH_DROP_BAD_REF,          /* an entity reference that is not a valid entity id */
  LH_DROP_ROW_NO_ENTITY_ID, /* a statements CSV row without entity_id */
  LH_DROP_ROW_NO_PROP,      /* a statements CSV row without prop */
  LH_DROP_COUNT
} lh_drop;

typedef struct lh_drops {
  bool strict;   /* no dropping: every case is an error naming the line and field */
  uint64_t line; /* the input line being read; readers set it */
  uint64_t n[LH_DROP_COUNT];
  uint64_t first_line[LH_DROP_COUNT];
  char first[LH_DROP_COUNT][96]; /* what was dropped first (a property, an id), printable */
} lh_drops;

/* Count a drop (what: the dropped value or name, may be NULL). */
LH_API void lh_drops_note(lh_drops *d, lh_drop why, const char *what, size_t len, uint64_t count);
/* One line describing the drops of one kind ("dropped 12 values of unknown properties
 * (first: line 812 'Person:nmae')"); nothing when there were none. */
LH_API int lh_drops_describe(const lh_drops *d, lh_drop why, lh_buf *out);
/* Drops of every kind. */
LH_API uint64_t lh_drops_total(const lh_drops *d);

typedef enum lh_meta_str {
  LH_META_CAPTION,
  LH_META_FIRST_SEEN,
  LH_META_LAST_SEEN,
  LH_META_LAST_CHANGE,
  LH_META_FRAGMENT,
  LH_META_STR_COUNT
} lh_meta_str;

typedef enum lh_meta_list {
  LH_META_DATASETS,
  LH_META_REFERENTS,
  LH_META_ORIGIN,
  LH_META_LIST_COUNT
} lh_meta_list;

/* An empty entity of `model` (borrowed: it must outlive the entity). */
LH_API int lh_entity_new(const lh_model *model, lh_entity **out, lh_error *err);
LH_API void lh_entity_free(lh_entity *e);
LH_API void lh_entity_reset(lh_entity *e);

LH_API const lh_model *lh_entity_model(const lh_entity *e);
LH_API const char *lh_entity_id(const lh_entity *e);
LH_API const lh_schema *lh_entity_schema(const lh_entity *e);
/* The id must follow the entity id rule (lh_entity_id_valid). */
LH_API int lh_entity_set_id(lh_entity *e, const char *id, size_t len, lh_error *err);
LH_API void lh_entity_set_schema(lh_entity *e, const lh_schema *schema);

/* lh_entity_add flags */
#define LH_ADD_CLEAN 0x1 /* clean the value with its property type; invalid values are dropped */

/* Add one value. Returns 1 when added, 0 when skipped (empty, duplicate, dropped by
 * cleaning, or an entity reference to the entity itself), LH_EINVAL for an unknown or
 * stub property (message names "Schema:prop"). */
LH_API int lh_entity_add(lh_entity *e, const char *prop, const char *value, size_t len,
                         unsigned flags, lh_error *err);
LH_API int lh_entity_add_property(lh_entity *e, const lh_property *prop, const char *value,
                                  size_t len, unsigned flags, lh_error *err);

/* Properties that have values, in the order they were first added. */
LH_API size_t lh_entity_property_count(const lh_entity *e);
LH_API const lh_property *lh_entity_property_at(const lh_entity *e, size_t i,
                                                const char *const **values, size_t *nvalues);
/* Values of a property by name (NULL and *n = 0 when none). */
LH_API const char *const *lh_entity_values(const lh_entity *e, const char *prop, size_t *n);
LH_API size_t lh_entity_value_count(const lh_entity *e);

LH_API const char *lh_entity_meta(const lh_entity *e, lh_meta_str field);
LH_API int lh_entity_set_meta(lh_entity *e, lh_meta_str field, const char *value);
LH_API const char *const *lh_entity_meta_list(const lh_entity *e, lh_meta_list field, size_t *n);
/* Add to a context list unless already present; value NULL only marks the list as
 * present, so an empty list is written as []. */
LH_API int lh_entity_add_meta(lh_entity *e, lh_meta_list field, const char *value);
/* -1 when absent, else 0/1. */
LH_API int lh_entity_target(const lh_entity *e);
LH_API void lh_entity_set_target(lh_entity *e, int target);

/* The display caption: the first caption property of the schema with values, taking the
 * lexicographically smallest value; else the schema label. */
LH_API const char *lh_entity_caption(const lh_entity *e);

/* ---- JSON ---------------------------------------------------------------------------- */
/* lh_entity_parse_json flags */
#define LH_PARSE_SKIP_UNKNOWN 0x1 /* drop unknown properties instead of failing */

/* Count drops here (d borrowed, NULL: none) instead of failing: a missing id or schema, an
 * invalid id (op is then LH_DELTA_SKIP), unknown properties (their values are left out) and,
 * when the entity is exploded, invalid entity references. With d->strict, or without d,
 * each of them is an error naming the field. Kept by lh_entity_reset. */
LH_API void lh_entity_set_drops(lh_entity *e, lh_drops *d);
LH_API lh_drops *lh_entity_drops(const lh_entity *e);

/* Parse one entity JSON object (or a delta envelope {"op": ..., "entity": {...}}) into e,
 * which is reset first. Errors name the field or the column of a JSON syntax error;
 * callers add the line number. */
LH_API int lh_entity_parse_json(lh_entity *e, const char *json, size_t len, unsigned flags,
                                lh_delta_op *op, lh_error *err);

/* lh_entity_write_json flags */
#define LH_JSON_SORT_VALUES 0x1 /* property values sorted: deterministic bytes */

/* Append the compact JSON object (no newline) to out. Key order: id, caption, schema,
 * properties, referents, datasets, origin, first_seen, last_seen, last_change, target,
 * fragment, then unknown keys as read. */
LH_API int lh_entity_write_json(const lh_entity *e, unsigned flags, lh_buf *out);
/* Append a JSON string literal (quotes included) escaped as the writers do. */
LH_API int lh_json_write_string(lh_buf *out, const char *s, size_t len);

/* Merge other into e (FtM merge): schema becomes the common schema (LH_EINVAL when the
 * schemata are unrelated), values are appended, context lists united, first_seen takes
 * the minimum and last_seen / last_change the maximum. */
LH_API int lh_entity_merge(lh_entity *e, const lh_entity *other, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
