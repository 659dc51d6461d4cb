/* Public API: the catalog (lake root) and its datasets. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/array.h"
#include "core/conventions.h"
#include "core/uri.h"
#include "core/yaml.h"
#include "lakehouse/catalog.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "model/dataset_config.h"
#include "model/dataset_model.h"

struct lh_catalog {
  lh_store *store;
};

int lh_catalog_open(const char *uri, lh_catalog **out, lh_error *err) {
  *out = NULL;
  lh_catalog *c = calloc(1, sizeof *c);
  if (!c)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = lh_store_open(uri, &c->store, err);
  if (rc) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

void lh_catalog_close(lh_catalog *c) {
  if (!c)
    return;
  lh_store_close(c->store);
  free(c);
}

const char *lh_catalog_uri(const lh_catalog *c) {
  return lh_store_uri(c->store);
}
lh_store *lh_catalog_store(lh_catalog *c) {
  return c->store;
}

void lh_strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

typedef struct list_ctx {
  lh_catalog *c;
  char **names;
  size_t n, cap;
  lh_error *err;
} list_ctx;

static int collect(const char *name, void *arg) {
  list_ctx *lc = arg;
  if (lh_validate_dataset_name(name, NULL) != 0)
    return 0; /* not a dataset folder (journal.db, hidden folders, ...) */
  char *key = lh__uri_join(name, LH_PATH_CONFIG);
  if (!key)
    return lh_error_set(lc->err, LH_ENOMEM, "out of memory");
  int ex = lh_store_exists(lc->c->store, key, lc->err);
  free(key);
  if (ex < 0)
    return ex;
  if (!ex)
    return 0;
  if (LH_ARRAY_RESERVE(lc->names, lc->cap, lc->n + 1, 16))
    return lh_error_set(lc->err, LH_ENOMEM, "out of memory");
  if (!(lc->names[lc->n] = strdup(name)))
    return lh_error_set(lc->err, LH_ENOMEM, "out of memory");
  lc->n++;
  return 0;
}

int lh_catalog_list(lh_catalog *c, char ***names, size_t *n, lh_error *err) {
  list_ctx lc = {c, NULL, 0, 0, err};
  int rc = lh_store_children(c->store, NULL, collect, &lc, err);
  if (rc) {
    lh_strv_free(lc.names, lc.n);
    return rc;
  }
  *names = lc.names;
  *n = lc.n;
  return 0;
}

char *lh_catalog_dataset_uri(const lh_catalog *c, const char *name, lh_error *err) {
  if (lh_validate_dataset_name(name, err))
    return NULL;
  char *uri = lh__uri_join(lh_store_uri(c->store), name);
  if (!uri)
    lh_error_set(err, LH_ENOMEM, "out of memory");
  return uri;
}

int lh_catalog_dataset_json(lh_catalog *c, const char *name, lh_buf *out, lh_error *err) {
  int rc = lh_validate_dataset_name(name, err);
  if (rc)
    return rc;
  char *key = lh__uri_join(name, LH_PATH_CONFIG);
  char *uri = lh_catalog_dataset_uri(c, name, err);
  char where[300];
  snprintf(where, sizeof where, "%s/%s", name, LH_PATH_CONFIG);
  lh_buf text = LH_BUF_INIT;
  json_t *cfg = NULL, *model = NULL;
  const lh_model *m = lh_model_default(err);
  if (!m) {
    rc = err ? err->code : LH_EINTERNAL;
    goto done;
  }
  if (!key || !uri) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = lh_store_get(c->store, key, &text, err)) ||
      (rc = lh__config_parse(text.data ? text.data : "", text.len, where, &cfg, err)))
    goto done;
  /* the full model by alias, nulls included, as `datasets` of the Python CLI prints it */
  model = lh__dataset_model(cfg, name, uri, m);
  char *dump = model ? json_dumps(model, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (!dump) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  rc = lh_buf_puts(out, dump) ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
  free(dump);
done:
  json_decref(cfg);
  json_decref(model);
  lh_buf_free(&text);
  free(key);
  free(uri);
  return rc;
}
