/* FtM statements (ftm.md §4): one property value of one entity, with a SHA-1 id over
 * "{dataset}.{entity_id}.{prop}.{value}[@{lang}][.ext]". Exploding an entity yields one
 * statement per value plus the BASE statement (prop "id") whose value is
 * sha1(schema + sorted ids of the other statements). */
#ifndef LAKEHOUSE_STATEMENT_H
#define LAKEHOUSE_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "lakehouse/api.h"
#include "lakehouse/entity.h"
#include "lakehouse/error.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Origins: the default, bulk imports, the crawler, the file archive. */
#define LH_ORIGIN_DEFAULT "default"
#define LH_ORIGIN_BULK "bulk"
#define LH_ORIGIN_CRAWL "crawl"
#define LH_ORIGIN_ARCHIVE "archive"

#define LH_BASE_PROP "id"

typedef struct lh_statement {
  char id[LH_SHA1_HEX_SIZE];
  const char *entity_id; /* namespace-stripped */
  const char *prop;      /* bare name, or "id" for the BASE statement */
  const char *prop_type; /* type name, or "id" */
  const char *schema;
  const char *value;
  size_t value_len;
  const char *dataset;
  const char *lang;           /* NULL unless set */
  const char *original_value; /* NULL unless set */
  const char *origin;
  const char *fragment; /* "" when none */
  bool external;
  lh_time first_seen;
  lh_time last_seen;
  const lh_schema *schema_ref; /* resolved schema */
  const lh_property *prop_ref; /* NULL for the BASE statement */
} lh_statement;

/* The statement id. lang is ignored when NULL; pass NULL for non-linguistic types. */
LH_API void lh_statement_id(const char *dataset, const char *entity_id, const char *prop,
                            const char *value, size_t value_len, const char *lang, bool external,
                            char out[LH_SHA1_HEX_SIZE]);
/* Whether a property type keeps `lang` on statements (false for entity, date, checksum,
 * email, phone, gender, mimetype, topic, url, country, language, ip). */
LH_API bool lh_type_is_linguistic(const lh_type *t);

typedef struct lh_explode_opts {
  const char *dataset;  /* target dataset: statement ids hash under it (required) */
  const char *origin;   /* used when the entity carries no single origin (NULL: "default") */
  bool override_origin; /* always use `origin`, ignoring the entity's own */
  const char *fragment; /* NULL: the entity's own fragment, else "" */
  lh_time last_seen;    /* emission time when the entity has none (LH_TIME_NULL: now) */
  lh_time now;          /* fallback first_seen (LH_TIME_NULL: the current time) */
} lh_explode_opts;

typedef struct lh_exploder lh_exploder;

/* Called once per statement; a non-zero return stops the explode and is returned. The
 * statement and its strings are valid only during the call. */
typedef int (*lh_statement_fn)(const lh_statement *st, void *ctx);

LH_API int lh_exploder_new(const lh_explode_opts *opts, lh_exploder **out, lh_error *err);
LH_API void lh_exploder_free(lh_exploder *x);
/* Change the origin (NULL: "default"; validated), whether it overrides the entity's own,
 * and the fragment (NULL: the entity's own, else "") for the following runs. */
LH_API int lh_exploder_set_origin(lh_exploder *x, const char *origin, bool override_origin,
                                  const char *fragment, lh_error *err);
/* Explode one entity: ids namespace-stripped (entity references too; references that are
 * not valid ids are dropped), origin validated, timestamps from the entity's first_seen /
 * last_seen / last_change (inventory §8.1), BASE statement last. Returns the number of
 * statements emitted, or a negative code. */
LH_API int lh_exploder_run(lh_exploder *x, const lh_entity *e, lh_statement_fn fn, void *ctx,
                           lh_error *err);

typedef struct lh_explode_result {
  uint64_t entities;   /* exploded */
  uint64_t statements; /* CSV rows written */
  uint64_t deletes;    /* delete operations (delta lines) skipped */
} lh_explode_result;

/* `statements explode`: FtM entity JSON lines read from fd (not closed) into statements CSV,
 * the header then one row per statement in the lakehouse column order, handed to out in
 * chunks; nothing is stored. drops: counts what is dropped (drops->strict: refuses it
 * instead; NULL: not counted). name: the input in messages; an error names it and the line,
 * and what was exploded before the line is still written. res may be NULL. */
LH_API int lh_explode_csv(int fd, const char *name, const lh_explode_opts *opts, lh_drops *drops,
                          lh_bytes_fn out, void *ctx, lh_explode_result *res, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
