/* A dataset of the lake: its store ({lake}/{name} or an explicit URI), its config.yml, and
 * the statement store. */
#ifndef LAKEHOUSE_DATASET_H
#define LAKEHOUSE_DATASET_H

#include "lakehouse/api.h"
#include "lakehouse/catalog.h"
#include "lakehouse/operations.h"
#include "lakehouse/settings.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

/* Open dataset `name` of the catalog (or at uri when given). Like the Python CLI's dataset
 * context, a dataset without a config.yml gets a minimal one. settings are borrowed. */
LH_API int lh_dataset_open(lh_catalog *catalog, const char *name, const char *uri,
                           const lh_settings *settings, lh_dataset **out, lh_error *err);
LH_API void lh_dataset_close(lh_dataset *ds);
LH_API const char *lh_dataset_name(const lh_dataset *ds);
LH_API lh_store *lh_dataset_store(lh_dataset *ds);
/* Shard count from config.yml (`shards`, default 0). */
LH_API int lh_dataset_shards(const lh_dataset *ds);
/* config.yml as one compact JSON object, with `name`, `title` (default: the name) and `uri`. */
LH_API int lh_dataset_config_json(lh_dataset *ds, lh_buf *out, lh_error *err);
/* Merge the YAML text into config.yml (inventory §4.2: lists united, nulls ignored; `name`
 * and `uri` in the text are ignored) and write it with a versioned snapshot. Invalid keys
 * are refused naming `where` and the key, and nothing is written; so is a change of `shards`
 * once the dataset holds statements. *changed: whether a new version was written. */
LH_API int lh_dataset_configure(lh_dataset *ds, const char *yaml, size_t len, const char *where,
                                bool *changed, lh_error *err);
/* Run a user's SQL (one SELECT) over the dataset's statement views, confined:
 * `statement` (live rows with canonical_id) and `statement_raw` (every stored row).
 * DuckDB reads the snapshot's data files and nothing else (external access off,
 * configuration locked), at most LAKEHOUSE_SQL_MAX_ROWS rows within LAKEHOUSE_SQL_TIMEOUT
 * seconds (LH_ELIMIT beyond). fn gets each row's columns as JSON values. */
LH_API int lh_dataset_sql(lh_dataset *ds, const char *sql, lh_sql_row_fn fn, void *ctx,
                          lh_error *err);

/* The settings the dataset was opened with. */
LH_API const lh_settings *lh_dataset_settings(const lh_dataset *ds);
/* Release the write fence: delete `.LOCK` and every append marker (`maintenance unlock`).
 * *released: whether there was one. */
LH_API int lh_dataset_unlock(lh_dataset *ds, bool *released, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
