/* index.json (inventory §9.3): the dataset model with the exports as resources (when a
 * public URL prefix is set) and the statistics applied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/conventions.h"
#include "lakehouse/util.h"
#include "model/dataset_model.h"
#include "repository/exports.h"
#include "storage/versions.h"

/* sha256 of a stored file. */
static int file_sha256(lh_store *s, const char *key, char out[LH_SHA256_HEX_SIZE], lh_error *err) {
  lh_reader *r;
  int rc = lh_store_open_read(s, key, &r, err);
  if (rc)
    return rc;
  lh_hasher *h = NULL;
  size_t cap = (size_t)1 << 20;
  char *chunk = malloc(cap);
  rc = chunk ? lh_hasher_new(LH_HASH_SHA256, &h, err) : lh_error_nomem(err);
  while (!rc) {
    size_t got;
    if ((rc = lh_reader_read(r, chunk, cap, &got, err)) || got == 0)
      break;
    lh_hasher_update(h, chunk, got);
  }
  lh_reader_close(r);
  if (!rc)
    lh_hasher_final_hex(h, out);
  lh_hasher_free(h);
  free(chunk);
  return rc;
}

static int add_resource(lh_dataset *ds, const char *prefix, const char *key, const char *mime,
                        json_t *resources, lh_error *err) {
  lh_store *s = ds->store;
  lh_store_info info;
  int rc = lh_store_stat(s, key, &info, err);
  if (rc == LH_ENOTFOUND) {
    lh_error_clear(err);
    return 0;
  }
  char sum[LH_SHA256_HEX_SIZE], iso[LH_ISO_SIZE];
  if (rc || (rc = file_sha256(s, key, sum, err)))
    return rc;
  lh_time_format_iso(info.mtime, iso);
  const char *name = strrchr(key, '/') ? strrchr(key, '/') + 1 : key;
  size_t pl = strlen(prefix);
  char url[2048];
  snprintf(url, sizeof url, "%s%s%s", prefix, pl && prefix[pl - 1] == '/' ? "" : "/", key);
  json_t *r = json_pack("{sssssssssssI}", "name", name, "url", url, "checksum", sum, "timestamp",
                        iso, "mime_type", mime, "size", (json_int_t)info.size);
  json_t *res = r ? lh__dataset_resource(r) : NULL; /* the DataResource, fields in order */
  json_decref(r);
  return res && !json_array_append_new(resources, res) ? 0 : lh_error_nomem(err);
}

/* index.json (inventory §9.3): the dataset model, the exports appended to its resources when
 * a public URL prefix is set, statistics.json applied; cleaned, one compact line. */
int lh__index_export(lh_dataset *ds, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = lh__ctx_model_json(ds, &text, err);
  json_t *index = rc ? NULL : json_loadb(text.data, text.len, 0, NULL);
  json_t *stats = NULL;
  char *prefix = lh__ctx_public_prefix(ds);
  if (!rc && !index)
    rc = lh_error_nomem(err);
  if (!rc && prefix) {
    lh_codec codec = ds->codec;
    char *statements = lh_path_exports_statements(lh_codec_suffix(codec));
    char *entities = lh_path_entities_json(lh_codec_suffix(codec));
    json_t *resources = json_object_get(index, "resources");
    rc = !statements || !entities || !json_is_array(resources) ? lh_error_nomem(err) : 0;
    rc = rc ? rc : add_resource(ds, prefix, statements, "text/csv", resources, err);
    rc = rc ? rc : add_resource(ds, prefix, entities, "application/json+ftm", resources, err);
    rc = rc ? rc : add_resource(ds, prefix, LH_PATH_EXPORTS_DOCUMENTS, "text/csv", resources, err);
    rc = rc ? rc
            : add_resource(ds, prefix, LH_PATH_EXPORTS_STATISTICS, "application/json", resources,
                           err);
    free(statements);
    free(entities);
  }
  if (!rc) {
    lh_buf_reset(&text);
    rc = lh_store_get(ds->store, LH_PATH_EXPORTS_STATISTICS, &text, err);
    if (rc == LH_ENOTFOUND) {
      lh_error_clear(err);
      rc = 0;
    } else if (!rc && !(stats = json_loadb(text.data, text.len, 0, NULL))) {
      rc = lh_error_set(err, LH_EPARSE, "%s/%s: not JSON", ds->name, LH_PATH_EXPORTS_STATISTICS);
    }
  }
  if (!rc && stats) { /* apply_stats */
    json_object_set(index, "entity_count", json_object_get(stats, "entity_count"));
    json_object_set(index, "thing_count",
                    json_object_get(json_object_get(stats, "things"), "total"));
    json_object_set(index, "stats", stats);
  }
  if (!rc) {
    json_t *clean = lh__model_clean(index);
    lh_buf_reset(&text);
    rc = clean ? lh__model_json_line(clean, &text, err) : lh_error_nomem(err);
    json_decref(clean);
    bool changed = false;
    if (!rc)
      rc = lh_versions_make(ds->store, LH_PATH_INDEX, text.data, text.len, &changed, err);
  }
  json_decref(stats);
  json_decref(index);
  free(prefix);
  lh_buf_free(&text);
  return rc;
}

int lh__index_get(lh_dataset *ds, lh_buf *out, lh_error *err) {
  int rc = lh_store_get(ds->store, LH_PATH_INDEX, out, err);
  if (rc != LH_ENOTFOUND)
    return rc;
  lh_error_clear(err);
  rc = lh__ctx_model_json(ds, out, err);
  return rc ? rc : lh_buf_putc(out, '\n') ? lh_error_nomem(err) : 0;
}
