/* The physical statement row of the lakehouse: the 18 columns of inventory §6.1, in this
 * order. Strings are borrowed (the row owns nothing); NULL means SQL NULL. */
#ifndef LAKEHOUSE_ROW_H
#define LAKEHOUSE_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "lakehouse/api.h"
#include "lakehouse/ftm.h"
#include "lakehouse/statement.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A shard label: hex digits and NUL (as core/conventions.h). */
#define LH_SHARD_SIZE 8

#define LH_ROW_NCOLUMNS 18
/* shard, id, entity_id, dataset, bucket, origin, source, schema, prop, prop_type, value,
 * original_value, lang, external, first_seen, last_seen, fragment, deleted_at */
LH_API extern const char *const LH_ROW_COLUMNS[LH_ROW_NCOLUMNS];
/* The partition columns, in partition order. */
#define LH_ROW_NPARTITIONS 3
LH_API extern const char *const LH_ROW_PARTITIONS[LH_ROW_NPARTITIONS];

typedef struct lh_row {
  char shard[LH_SHARD_SIZE]; /* NN */
  const char *id;            /* NN, statement id */
  const char *entity_id;     /* NN */
  const char *dataset;       /* NN */
  lh_bucket bucket;          /* NN */
  const char *origin;        /* NN */
  const char *source;        /* always NULL in the lakehouse */
  const char *schema;        /* NN */
  const char *prop;          /* NN */
  const char *prop_type;
  const char *value; /* NN */
  size_t value_len;
  const char *original_value;
  const char *lang;
  bool external;        /* NN */
  lh_time first_seen;   /* NN */
  lh_time last_seen;    /* NN */
  const char *fragment; /* NN, "" for none */
  lh_time deleted_at;   /* LH_TIME_NULL unless a tombstone */
} lh_row;

/* Called once per row; the row is valid only during the call. Non-zero stops. */
typedef int (*lh_row_fn)(void *ctx, const lh_row *row, lh_error *err);

/* Fill a row from a statement: shard from the entity id and shard count, bucket from the
 * schema. The row borrows the statement's strings. */
LH_API void lh_row_from_statement(const lh_statement *st, int shards, lh_row *row);
/* LH_EINVAL naming the first required column that is NULL (or an invalid origin). */
LH_API int lh_row_check(const lh_row *row, lh_error *err);
/* The same without the origin check (for callers that validate each origin once). */
LH_API int lh_row_check_required(const lh_row *row, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
