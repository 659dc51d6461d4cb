/* The dataset context: name, store, settings, the checked config.yml and what is opened
 * from them on first use (see context.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/conventions.h"
#include "core/yaml.h"
#include "model/dataset_config.h"
#include "model/dataset_model.h"
#include "repository/context.h"
#include "storage/journal/journal.h"
#include "storage/versions.h"

/* Take shards / compression from the (checked) config into the dataset. */
static void apply_config(lh_dataset *ds, json_t *cfg) {
  json_decref(ds->config);
  ds->config = cfg;
  json_t *shards = json_object_get(cfg, "shards");
  ds->shards = json_is_integer(shards) ? (int)json_integer_value(shards) : 0;
  json_t *codec = json_object_get(cfg, "compression");
  lh_codec_parse(json_is_string(codec) ? json_string_value(codec) : NULL, &ds->codec, NULL);
}

/* config.yml text of a checked config: the full model, cleaned, as PyYAML writes it. */
static int model_yaml(lh_dataset *ds, const json_t *cfg, lh_buf *out, lh_error *err) {
  const lh_model *m = lh_model_default(err);
  if (!m)
    return err ? err->code : LH_EINTERNAL;
  json_t *model = lh__dataset_model(cfg, ds->name, lh_store_uri(ds->store), m);
  int rc = model ? lh__dataset_model_yaml(model, out, err)
                 : lh_error_set(err, LH_ENOMEM, "out of memory");
  json_decref(model);
  return rc;
}

static int load_config(lh_dataset *ds, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh_store_get(ds->store, LH_PATH_CONFIG, &text, err);
  if (rc == LH_ENOTFOUND) {
    /* the dataset context of the Python CLI creates a config on first use: the full model
     * with its defaults, versioned, created only if nobody wrote one meanwhile */
    lh_error_clear(err);
    json_t *cfg = json_object();
    rc = cfg ? model_yaml(ds, cfg, &text, err) : lh_error_set(err, LH_ENOMEM, "out of memory");
    if (rc == 0)
      rc = lh_versions_create(ds->store, LH_PATH_CONFIG, text.data, text.len, err);
    lh_buf_free(&text);
    if (rc == LH_EEXIST) {
      json_decref(cfg);
      lh_error_clear(err);
      return load_config(ds, err);
    }
    if (rc == 0)
      apply_config(ds, cfg);
    else
      json_decref(cfg);
    return rc;
  }
  if (rc)
    return rc;
  char where[320];
  snprintf(where, sizeof where, "%s/%s", ds->name, LH_PATH_CONFIG);
  json_t *cfg = NULL;
  rc = lh__config_parse(text.data ? text.data : "", text.len, where, &cfg, err);
  lh_buf_free(&text);
  if (rc == 0)
    apply_config(ds, cfg);
  return rc;
}

int lh__ctx_open(lh_store *store, const char *name, const lh_settings *settings, lh_dataset **out,
                 lh_error *err) {
  *out = NULL;
  lh_dataset *ds = calloc(1, sizeof *ds);
  if (!ds || !(ds->name = strdup(name))) {
    free(ds);
    lh_store_close(store);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  ds->store = store;
  ds->settings = settings;
  int rc = lh_tags_open(store, NULL, &ds->tags, err);
  if (rc == 0)
    rc = load_config(ds, err);
  if (rc) {
    lh__ctx_close(ds);
    return rc;
  }
  *out = ds;
  return 0;
}

void lh__ctx_close(lh_dataset *ds) {
  if (!ds)
    return;
  lh_statement_store_close(ds->statements);
  lh_journal_close(ds->journal);
  lh_tags_close(ds->tags);
  lh_store_close(ds->store);
  json_decref(ds->config);
  free(ds->name);
  free(ds);
}

int lh__ctx_statements(lh_dataset *ds, lh_statement_store **out, lh_error *err) {
  if (!ds->statements) {
    int rc = lh_statement_store_open(ds->store, ds->name, ds->shards, ds->settings, &ds->statements,
                                     err);
    if (rc)
      return rc;
  }
  *out = ds->statements;
  return 0;
}

int lh__ctx_journal(lh_dataset *ds, lh_journal **out, lh_error *err) {
  if (!ds->journal) {
    char *uri = lh_settings_journal_uri(ds->settings);
    if (!uri)
      return lh_error_set(err, LH_EINVAL,
                          "dataset '%s': no journal for this lake (set LAKEHOUSE_JOURNAL_URI)",
                          ds->name);
    int rc = lh_journal_open(uri, ds->name, lh_store_uri(ds->store), &ds->journal, err);
    free(uri);
    if (rc)
      return rc;
  }
  *out = ds->journal;
  return 0;
}

char *lh__ctx_public_prefix(const lh_dataset *ds) {
  json_t *own = json_object_get(ds->config, "public_url_prefix");
  const char *tpl = json_is_string(own) ? json_string_value(own)
                    : ds->settings      ? ds->settings->public_url_prefix
                                        : NULL;
  if (!tpl || !*tpl)
    return NULL;
  /* string.Template.safe_substitute of ${dataset} */
  lh_buf b = LH_BUF_INIT;
  for (const char *p = tpl; *p;) {
    if (!strncmp(p, "${dataset}", 10)) {
      lh_buf_puts(&b, ds->name);
      p += 10;
    } else if (!strncmp(p, "$dataset", 8) && !(isalnum((unsigned char)p[8]) || p[8] == '_')) {
      lh_buf_puts(&b, ds->name);
      p += 8;
    } else {
      lh_buf_putc(&b, *p++);
    }
  }
  if (lh_buf_putc(&b, 0)) {
    lh_buf_free(&b);
    return NULL;
  }
  return b.data;
}

int lh__ctx_model_json(lh_dataset *ds, lh_buf *out, lh_error *err) {
  const lh_model *m = lh_model_default(err);
  if (!m)
    return err ? err->code : LH_EINTERNAL;
  json_t *model = lh__dataset_model(ds->config, ds->name, lh_store_uri(ds->store), m);
  char *dump = model ? json_dumps(model, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(model);
  int rc = dump ? lh_buf_puts(out, dump) : LH_ENOMEM;
  free(dump);
  return rc ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
}

int lh__ctx_configure(lh_dataset *ds, const char *yaml, size_t len, const char *where,
                      bool *changed, lh_error *err) {
  if (changed)
    *changed = false;
  json_t *update = NULL, *merged = NULL;
  lh_buf text = LH_BUF_INIT;
  int rc = lh__config_parse(yaml, len, where ? where : LH_PATH_CONFIG, &update, err);
  if (rc)
    return rc;
  if (!(merged = json_deep_copy(ds->config)) || lh__config_merge(merged, update)) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  json_t *shards = json_object_get(merged, "shards");
  int want = json_is_integer(shards) ? (int)json_integer_value(shards) : 0;
  if (want != ds->shards) {
    lh_statement_store *st;
    if ((rc = lh__ctx_statements(ds, &st, err)))
      goto done;
    int64_t v;
    if ((rc = lh_statement_store_version(st, &v, err)) != 0)
      goto done;
    if (v >= 0) {
      rc = lh_error_set(err, LH_EINVAL,
                        "%s: 'shards' cannot change from %d to %d: dataset '%s' already holds "
                        "statements, which are placed by the shard count. Import the data into "
                        "a new dataset configured with the shards you want.",
                        where ? where : LH_PATH_CONFIG, ds->shards, want, ds->name);
      goto done;
    }
  }
  if ((rc = model_yaml(ds, merged, &text, err)) != 0)
    goto done;
  /* aliases are written out expanded: refuse a file the next read would reject */
  if (text.len > LH_YAML_MAX_TEXT) {
    rc = lh_error_set(err, LH_ELIMIT,
                      "%s/%s: the merged config would be %zu bytes, over the limit of %d bytes",
                      ds->name, LH_PATH_CONFIG, text.len, LH_YAML_MAX_TEXT);
    goto done;
  }
  if ((rc = lh_versions_make(ds->store, LH_PATH_CONFIG, text.data, text.len, changed, err)))
    goto done;
  if (ds->statements && want != ds->shards) {
    /* reopened on next use with the new shard count */
    lh_statement_store_close(ds->statements);
    ds->statements = NULL;
  }
  apply_config(ds, merged);
  merged = NULL;
done:
  lh_buf_free(&text);
  json_decref(update);
  json_decref(merged);
  return rc;
}
