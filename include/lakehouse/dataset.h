/* A dataset of the lake: its store ({lake}/{name} or an explicit URI), its config.yml, and
 * the statement store. */
#ifndef LAKEHOUSE_DATASET_H
#define LAKEHOUSE_DATASET_H

#include "lakehouse/catalog.h"
#include "lakehouse/codec.h"
#include "lakehouse/operations.h"
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
/* Export compression from config.yml (`compression`, default none). */
lh_codec lh_dataset_compression(const lh_dataset *ds);
/* The public URL prefix: config.yml `public_url_prefix`, else LAKEHOUSE_PUBLIC_URL_PREFIX,
 * with ${dataset} replaced by the name; NULL when neither is set. Caller frees. */
char *lh_dataset_public_prefix(const lh_dataset *ds);
/* config.yml as one compact JSON object, with `name`, `title` (default: the name) and `uri`. */
int lh_dataset_config_json(lh_dataset *ds, lh_buf *out, lh_error *err);
/* Merge the YAML text into config.yml (inventory §4.2: lists united, nulls ignored; `name`
 * and `uri` in the text are ignored) and write it with a versioned snapshot. Invalid keys
 * are refused naming `where` and the key, and nothing is written; so is a change of `shards`
 * once the dataset holds statements. *changed: whether a new version was written. */
int lh_dataset_configure(lh_dataset *ds, const char *yaml, size_t len, const char *where,
                         bool *changed, lh_error *err);
/* The statement store, opened on first use (owned by the dataset). */
int lh_dataset_statements(lh_dataset *ds, lh_statement_store **out, lh_error *err);

/* The settings the dataset was opened with. */
const lh_settings *lh_dataset_settings(const lh_dataset *ds);
typedef struct lh_journal lh_journal;
/* The dataset's journal (LAKEHOUSE_JOURNAL_URI, by default {lake}/journal.db), opened on
 * first use (owned by the dataset). */
int lh_dataset_journal(lh_dataset *ds, lh_journal **out, lh_error *err);

/* Release the write fence: delete `.LOCK` and every append marker (`maintenance unlock`).
 * *released: whether there was one. */
int lh_dataset_unlock(lh_dataset *ds, bool *released, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
