/* The 18-column statement row. */
#include <string.h>

#include "core/conventions.h"
#include "lakehouse/row.h"
#include "lakehouse/validate.h"

const char *const LH_ROW_COLUMNS[LH_ROW_NCOLUMNS] = {
    "shard",  "id",       "entity_id",  "dataset",   "bucket",   "origin",
    "source", "schema",   "prop",       "prop_type", "value",    "original_value",
    "lang",   "external", "first_seen", "last_seen", "fragment", "deleted_at"};

const char *const LH_ROW_PARTITIONS[LH_ROW_NPARTITIONS] = {"shard", "bucket", "origin"};

void lh_row_from_statement(const lh_statement *st, int shards, lh_row *row) {
  lh_entity_shard(st->entity_id, strlen(st->entity_id), shards, row->shard);
  row->id = st->id;
  row->entity_id = st->entity_id;
  row->dataset = st->dataset;
  row->bucket = st->schema_ref ? st->schema_ref->bucket : LH_BUCKET_THING;
  row->origin = st->origin ? st->origin : LH_ORIGIN_DEFAULT;
  row->source = NULL;
  row->schema = st->schema;
  row->prop = st->prop;
  row->prop_type = st->prop_type;
  row->value = st->value;
  row->value_len = st->value_len;
  row->original_value = st->original_value;
  row->lang = st->lang;
  row->external = st->external;
  row->first_seen = st->first_seen;
  row->last_seen = st->last_seen;
  row->fragment = st->fragment ? st->fragment : "";
  row->deleted_at = LH_TIME_NULL;
}

int lh_row_check_required(const lh_row *row, lh_error *err) {
  const char *missing = !row->id                          ? "id"
                        : !row->entity_id                 ? "entity_id"
                        : !row->dataset                   ? "dataset"
                        : !row->origin                    ? "origin"
                        : !row->schema                    ? "schema"
                        : !row->prop                      ? "prop"
                        : !row->value                     ? "value"
                        : !row->fragment                  ? "fragment"
                        : row->first_seen == LH_TIME_NULL ? "first_seen"
                        : row->last_seen == LH_TIME_NULL  ? "last_seen"
                                                          : NULL;
  if (missing)
    return lh_error_set(err, LH_EINVAL, "statement row: column '%s' must not be NULL", missing);
  if ((unsigned)row->bucket >= LH_BUCKET_COUNT)
    return lh_error_set(err, LH_EINVAL, "statement row: invalid bucket");
  return 0;
}

int lh_row_check(const lh_row *row, lh_error *err) {
  int rc = lh_row_check_required(row, err);
  return rc ? rc : lh_validate_origin(row->origin, err);
}
