/* Public API: a dataset of the lake. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/yaml.h"
#include "lakehouse/conventions.h"
#include "lakehouse/dataset.h"
#include "lakehouse/fence.h"
#include "lakehouse/journal.h"
#include "lakehouse/validate.h"
#include "operation/operation.h"

struct lh_dataset {
  char *name;
  lh_store *store;
  const lh_settings *settings;
  int shards;
  lh_statement_store *statements;
  lh_journal *journal;
};

static int read_shards(lh_dataset *ds, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh_store_get(ds->store, LH_PATH_CONFIG, &text, err);
  if (rc == LH_ENOTFOUND) {
    /* the dataset context of the Python CLI creates a config on first use */
    lh_error_clear(err);
    lh_buf_free(&text);
    char yml[300];
    int n = snprintf(yml, sizeof yml, "name: %s\n", ds->name);
    rc = lh_store_create(ds->store, LH_PATH_CONFIG, yml, (size_t)n, err);
    if (rc == LH_EEXIST) {
      lh_error_clear(err);
      return read_shards(ds, err);
    }
    return rc;
  }
  if (rc)
    return rc;
  json_t *cfg = NULL;
  rc = lh__yaml_to_json(text.data ? text.data : "", text.len, &cfg, err);
  if (rc) {
    lh_error_prefix(err, "%s/%s", ds->name, LH_PATH_CONFIG);
  } else {
    json_t *shards = json_object_get(cfg, "shards");
    if (shards && !json_is_null(shards)) {
      if (!json_is_integer(shards) || json_integer_value(shards) < 0 ||
          json_integer_value(shards) > LH_SHARDS_MAX)
        rc = lh_error_set(err, LH_EINVAL, "%s/%s: 'shards' must be an integer between 0 and %d",
                          ds->name, LH_PATH_CONFIG, LH_SHARDS_MAX);
      else
        ds->shards = (int)json_integer_value(shards);
    }
  }
  json_decref(cfg);
  lh_buf_free(&text);
  return rc;
}

int lh_dataset_open(lh_catalog *catalog, const char *name, const char *uri,
                    const lh_settings *settings, lh_dataset **out, lh_error *err) {
  *out = NULL;
  int rc = lh_validate_dataset_name(name, err);
  if (rc)
    return rc;
  lh_dataset *ds = calloc(1, sizeof *ds);
  if (!ds || !(ds->name = strdup(name))) {
    free(ds);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  ds->settings = settings;
  if (uri)
    rc = lh_store_open(uri, &ds->store, err);
  else
    rc = lh_store_sub(lh_catalog_store(catalog), name, &ds->store, err);
  if (rc == 0)
    rc = read_shards(ds, err);
  if (rc) {
    lh_dataset_close(ds);
    return rc;
  }
  *out = ds;
  return 0;
}

void lh_dataset_close(lh_dataset *ds) {
  if (!ds)
    return;
  lh_statement_store_close(ds->statements);
  lh_journal_close(ds->journal);
  lh_store_close(ds->store);
  free(ds->name);
  free(ds);
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

int lh_dataset_statements(lh_dataset *ds, lh_statement_store **out, lh_error *err) {
  if (!ds->statements) {
    int rc = lh_statement_store_open(ds->store, ds->name, ds->shards, ds->settings, &ds->statements,
                                     err);
    if (rc)
      return rc;
  }
  *out = ds->statements;
  return 0;
}

const lh_settings *lh_dataset_settings(const lh_dataset *ds) {
  return ds->settings;
}

int lh_dataset_journal(lh_dataset *ds, lh_journal **out, lh_error *err) {
  if (!ds->journal) {
    char *uri = lh_settings_journal_uri(ds->settings);
    if (!uri)
      return lh_error_set(err, LH_EINVAL,
                          "dataset '%s': no journal for this lake (set LAKEHOUSE_JOURNAL_URI)",
                          ds->name);
    int rc = lh_journal_open(uri, ds->name, &ds->journal, err);
    free(uri);
    if (rc)
      return rc;
  }
  *out = ds->journal;
  return 0;
}

int lh_dataset_optimize(lh_dataset *ds, const lh_optimize_opts *opts, lh_optimize_result *res,
                        lh_error *err) {
  lh_optimize_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  return lh__operation_optimize(ds, opts, res, err);
}

int lh_dataset_unlock(lh_dataset *ds, bool *released, lh_error *err) {
  return lh_fence_unlock(ds->store, released, err);
}
