/* The dataset context, the base of the repository layer (the C form of the Python project's
 * DatasetHandle): the dataset's name, its store, the settings, the checked config.yml and
 * what follows from it (shards, compression), its tags, and the statement store and
 * journal, opened on first use. Repositories and operations take it; src/dataset.c is its
 * public face (lh_dataset is this struct). */
#ifndef LH_REPOSITORY_CONTEXT_H
#define LH_REPOSITORY_CONTEXT_H

#include <jansson.h>

#include "lakehouse/settings.h"
#include "lakehouse/store.h"
#include "storage/journal/journal.h"
#include "storage/parquet/statement_store.h"
#include "storage/tags.h"
#include "store/codec.h"

typedef struct lh_dataset lh_dataset;

struct lh_dataset {
  char *name;
  lh_store *store;                /* the dataset's root */
  const lh_settings *settings;    /* borrowed */
  int shards;                     /* config.yml `shards` */
  lh_codec codec;                 /* config.yml `compression` */
  json_t *config;                 /* config.yml as checked (without name and uri) */
  lh_tags *tags;                  /* tags/lakehouse/ */
  lh_statement_store *statements; /* opened on first use */
  lh_journal *journal;            /* opened on first use */
};

/* Open the context of dataset `name` stored in `store` (taken, closed on failure too):
 * config.yml read and checked, or created with the defaults on first use. */
int lh__ctx_open(lh_store *store, const char *name, const lh_settings *settings, lh_dataset **out,
                 lh_error *err);
void lh__ctx_close(lh_dataset *ds);
/* The statement store and the journal, opened on first use. */
int lh__ctx_statements(lh_dataset *ds, lh_statement_store **out, lh_error *err);
int lh__ctx_journal(lh_dataset *ds, lh_journal **out, lh_error *err);
/* The public URL prefix: config.yml's, else LAKEHOUSE_PUBLIC_URL_PREFIX, with ${dataset}
 * replaced; NULL when none. Caller frees. */
char *lh__ctx_public_prefix(const lh_dataset *ds);
/* The full dataset model (every field, nulls included) as one compact JSON object. */
int lh__ctx_model_json(lh_dataset *ds, lh_buf *out, lh_error *err);
/* Merge a YAML config into config.yml (versioned); see lh_dataset_configure. */
int lh__ctx_configure(lh_dataset *ds, const char *yaml, size_t len, const char *where,
                      bool *changed, lh_error *err);

#endif
