/* Public API: a dataset of the lake - the façade over the dataset context
 * (repository/context.h) and the operations. */
#include <stdlib.h>
#include <string.h>

#include "lakehouse/dataset.h"
#include "lakehouse/validate.h"
#include "repository/context.h"
#include "repository/exports.h"
#include "storage/fence.h"
#include "storage/parquet/statement_store.h"

int lh_dataset_open(lh_catalog *catalog, const char *name, const char *uri,
                    const lh_settings *settings, lh_dataset **out, lh_error *err) {
  *out = NULL;
  int rc = lh_validate_dataset_name(name, err);
  if (rc)
    return rc;
  lh_store *store = NULL;
  if (uri)
    rc = lh_store_open(uri, &store, err);
  else
    rc = lh_store_sub(lh_catalog_store(catalog), name, &store, err);
  return rc ? rc : lh__ctx_open(store, name, settings, out, err);
}

void lh_dataset_close(lh_dataset *ds) {
  lh__ctx_close(ds);
}

const char *lh_dataset_name(const lh_dataset *ds) {
  return ds->name;
}

lh_store *lh_dataset_store(lh_dataset *ds) {
  return ds->store;
}

int lh_dataset_shards(const lh_dataset *ds) {
  return ds->shards;
}

const lh_settings *lh_dataset_settings(const lh_dataset *ds) {
  return ds->settings;
}

int lh_dataset_config_json(lh_dataset *ds, lh_buf *out, lh_error *err) {
  return lh__ctx_model_json(ds, out, err);
}

int lh_dataset_sql(lh_dataset *ds, const char *sql, lh_sql_row_fn fn, void *ctx, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  return rc ? rc : lh_statement_store_sql(st, sql, fn, ctx, err);
}

int lh_dataset_configure(lh_dataset *ds, const char *yaml, size_t len, const char *where,
                         bool *changed, lh_error *err) {
  return lh__ctx_configure(ds, yaml, len, where, changed, err);
}

int lh_dataset_index(lh_dataset *ds, lh_buf *out, lh_error *err) {
  return lh__index_get(ds, out, err);
}

int lh_dataset_unlock(lh_dataset *ds, bool *released, lh_error *err) {
  return lh_fence_unlock(ds->store, released, err);
}
