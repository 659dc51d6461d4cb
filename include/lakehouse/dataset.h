/* A dataset of the lake: its store ({lake}/{name} or an explicit URI), its config.yml, and
 * the statement store. */
#ifndef LAKEHOUSE_DATASET_H
#define LAKEHOUSE_DATASET_H

#include "lakehouse/catalog.h"
#include "lakehouse/settings.h"
#include "lakehouse/statement_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

/* Open dataset `name` of the catalog (or at uri when given). Like the Python CLI's dataset
 * context, a dataset without a config.yml gets a minimal one. settings are borrowed. */
int lh_dataset_open(lh_catalog *catalog, const char *name, const char *uri,
                    const lh_settings *settings, lh_dataset **out, lh_error *err);
void lh_dataset_close(lh_dataset *ds);
const char *lh_dataset_name(const lh_dataset *ds);
lh_store *lh_dataset_store(lh_dataset *ds);
/* Shard count from config.yml (`shards`, default 0). */
int lh_dataset_shards(const lh_dataset *ds);
/* The statement store, opened on first use (owned by the dataset). */
int lh_dataset_statements(lh_dataset *ds, lh_statement_store **out, lh_error *err);

/* The settings the dataset was opened with. */
const lh_settings *lh_dataset_settings(const lh_dataset *ds);
typedef struct lh_journal lh_journal;
/* The dataset's journal (LAKEHOUSE_JOURNAL_URI, by default {lake}/journal.db), opened on
 * first use (owned by the dataset). */
int lh_dataset_journal(lh_dataset *ds, lh_journal **out, lh_error *err);

typedef struct lh_optimize_opts {
  bool force;          /* merge every partition, also clean ones */
  int retention_hours; /* vacuum: keep unreferenced files younger than this */
  int64_t target_size; /* compaction target, 0 = LH_TARGET_FILE_SIZE */
} lh_optimize_opts;

typedef struct lh_optimize_result {
  lh_merge_result merge;
  lh_compact_result compact;
  lh_vacuum_result vacuum;
  int64_t version;
} lh_optimize_result;

/* Merge -> compact -> vacuum the statement store (`maintenance optimize`). */
int lh_dataset_optimize(lh_dataset *ds, const lh_optimize_opts *opts, lh_optimize_result *res,
                        lh_error *err);
/* Release the write fence: delete `.LOCK` and every append marker. */
int lh_dataset_unlock(lh_dataset *ds, bool *released, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
