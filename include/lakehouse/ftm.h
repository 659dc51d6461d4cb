/* The FollowTheMoney model: schemata with inheritance, properties, property types and
 * their cleaning rules, loaded from the compiled model JSON (`ftm dump-model` format,
 * as shipped in @opensanctions/followthemoney's dist/defaultModel.json).
 *
 * The model is immutable once loaded and safe to share between threads. All pointers it
 * hands out (schemata, properties, types, strings) live as long as the model. */
#ifndef LAKEHOUSE_FTM_H
#define LAKEHOUSE_FTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_model lh_model;
typedef struct lh_schema lh_schema;
typedef struct lh_property lh_property;
typedef struct lh_type lh_type;

/* ---- partition buckets (DESIGN.md: checked in this order) ----------------------------- */
typedef enum lh_bucket {
  LH_BUCKET_THING = 0,
  LH_BUCKET_INTERVAL,
  LH_BUCKET_DOCUMENT,
  LH_BUCKET_PAGE,
  LH_BUCKET_PAGES,
  LH_BUCKET_MENTION,
  LH_BUCKET_COUNT
} lh_bucket;

LH_API const char *lh_bucket_name(lh_bucket b);
/* Returns 0 and sets *out, or LH_EINVAL for an unknown name. */
LH_API int lh_bucket_parse(const char *name, lh_bucket *out);

/* ---- property types -------------------------------------------------------------------- */
typedef enum lh_type_id {
  LH_TYPE_ADDRESS,
  LH_TYPE_CHECKSUM,
  LH_TYPE_COUNTRY,
  LH_TYPE_DATE,
  LH_TYPE_EMAIL,
  LH_TYPE_ENTITY,
  LH_TYPE_GENDER,
  LH_TYPE_HTML,
  LH_TYPE_IDENTIFIER,
  LH_TYPE_IP,
  LH_TYPE_JSON,
  LH_TYPE_LANGUAGE,
  LH_TYPE_MIMETYPE,
  LH_TYPE_NAME,
  LH_TYPE_NUMBER,
  LH_TYPE_PHONE,
  LH_TYPE_STRING,
  LH_TYPE_TEXT,
  LH_TYPE_TOPIC,
  LH_TYPE_URL,
  LH_TYPE_UNKNOWN /* a type this build has no cleaning rules for: generic text cleaning */
} lh_type_id;

struct lh_type {
  lh_type_id id;
  const lh_model *model; /* the model that owns this type */
  const char *name;      /* "name", "date", ... */
  const char *label;
  const char *plural;
  const char *group; /* "names", "countries", ... or NULL */
  int max_length;
  bool matchable;
  bool pivot;
  /* Enum types (country, language, gender, topic): codes sorted ascending, with labels. */
  size_t nvalues;
  const char *const *codes;
  const char *const *labels;
};

/* ---- properties and schemata ------------------------------------------------------------ */
struct lh_property {
  const char *name; /* bare name: "birthDate" */
  size_t name_len;
  const char *qname; /* defining schema qualified: "Person:birthDate" */
  const char *label;
  const char *description;
  const char *format; /* identifier format ("iban", "lei", ...) or NULL */
  const lh_type *type;
  const lh_schema *schema;    /* the schema that defines it */
  const lh_schema *range;     /* entity-typed: the schema values must point to */
  const lh_property *reverse; /* entity-typed: the inverse property on `range` */
  int max_length;
  bool stub; /* generated reverse property: read-only, never in data */
  bool matchable;
  bool hidden;
  bool deprecated;
};

struct lh_schema {
  const char *name;
  size_t name_len;
  const char *label;
  const char *plural;
  const char *description;
  int index; /* position in the model, 0..n-1 */
  bool abstract;
  bool matchable;
  bool hidden;
  bool generated;
  bool deprecated;
  lh_bucket bucket;
  const lh_schema *const *extends;
  size_t nextends;
  const lh_schema *const *schemata;
  size_t nschemata; /* self + all ancestors */
  const lh_schema *const *descendants;
  size_t ndescendants; /* all, excluding self */
  /* every property incl. inherited ones, sorted by name */
  const lh_property *const *properties;
  size_t nproperties;
  const lh_property *const *caption;
  size_t ncaption;
  const lh_property *const *featured;
  size_t nfeatured;
  const lh_property *const *required;
  size_t nrequired;
  const lh_property *const *temporal_start;
  size_t ntemporal_start;
  const lh_property *const *temporal_end;
  size_t ntemporal_end;
  const lh_property *edge_source; /* edge schemata only */
  const lh_property *edge_target;
  const char *edge_label;
  bool edge_directed;
  const uint64_t *isa; /* bitset over schema indexes: ancestors incl. self */
};

/* The process-wide default model: the embedded compiled model, or the file named by
 * LAKEHOUSE_FTM_MODEL. Loaded once; NULL (with err) if that file is invalid. */
LH_API const lh_model *lh_model_default(lh_error *err);
/* Start loading the default model on a thread of its own (once; later calls do nothing): a
 * read that opens its store meanwhile finds it loaded. */
LH_API void lh_model_prefetch(void);
/* Load a compiled model from JSON text. */
LH_API int lh_model_load(const char *json, size_t len, lh_model **out, lh_error *err);
LH_API int lh_model_load_file(const char *path, lh_model **out, lh_error *err);
LH_API void lh_model_free(lh_model *m);
/* The embedded compiled model JSON (NUL-terminated). */
LH_API const char *lh_model_embedded_json(size_t *len);

LH_API size_t lh_model_schema_count(const lh_model *m);
LH_API const lh_schema *lh_model_schema_at(const lh_model *m, size_t i); /* sorted by name */
LH_API const lh_schema *lh_model_schema(const lh_model *m, const char *name);
LH_API const lh_type *lh_model_type(const lh_model *m, const char *name);
LH_API const lh_type *lh_model_type_by_id(const lh_model *m, lh_type_id id);
/* Resolve "Schema:prop" (a qualified name as used by the pack format). */
LH_API const lh_property *lh_model_qualified_property(const lh_model *m, const char *qname);

/* ---- schema relations ------------------------------------------------------------------ */
LH_API bool lh_schema_is_a(const lh_schema *s, const lh_schema *other);
/* a if a is_a b, b if b is_a a, else NULL (FtM common_schema; no search for a child). */
LH_API const lh_schema *lh_schema_common(const lh_schema *a, const lh_schema *b);
/* The most specific schema both are a kind of (ftmq common_ancestor), for incompatible
 * schemata; never NULL for schemata of one model that share an ancestor. */
LH_API const lh_schema *lh_schema_common_ancestor(const lh_schema *a, const lh_schema *b);
/* Property by bare name, including inherited and stub properties; NULL if none. */
LH_API const lh_property *lh_schema_property(const lh_schema *s, const char *name);
LH_API const lh_property *lh_schema_property_n(const lh_schema *s, const char *name, size_t len);

/* ---- value cleaning (ftm.md §2) -------------------------------------------------------- */
typedef struct lh_clean_opts {
  const char *format;           /* identifier format; defaults to the property's */
  const char *const *countries; /* country codes of the entity (phone region hints) */
  size_t ncountries;
} lh_clean_opts;

/* Clean a raw value as FtM does for a type: generic sanitising (NFC, control characters
 * removed, trimmed) then the type's own rule. Returns 1 with the cleaned value in out
 * (out is reset first), 0 if the value is not valid for the type and must be dropped,
 * or a negative LH_E* code. */
LH_API int lh_type_clean(const lh_type *t, const char *value, size_t len, const lh_clean_opts *opts,
                         lh_buf *out);
/* Label of an enum code ("de" -> "Germany"), or NULL. */
LH_API const char *lh_type_value_label(const lh_type *t, const char *code);

/* Entity id rule: ^[0-9a-zA-Z]([0-9a-zA-Z.-]*[0-9a-zA-Z])?$, at most 200 bytes. */
#define LH_ENTITY_ID_MAX 200
LH_API bool lh_entity_id_valid(const char *id, size_t len);
/* Namespace stripping (FtM Namespace.strip): drop the last ".signature" segment.
 * Returns the new length ("jane.f00dbabe" -> 4, "a.b.c" -> 3, "jane" -> 4). */
LH_API size_t lh_entity_id_strip_namespace(const char *id, size_t len);

#ifdef __cplusplus
}
#endif
#endif
