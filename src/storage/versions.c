/* Versioned files: snapshot + dedupe by content checksum (inventory §5.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "storage/tags.h"
#include "storage/versions.h"

int lh_versions_make(lh_store *s, const char *key, const void *data, size_t len, bool *changed,
                     lh_error *err) {
  if (changed)
    *changed = false;
  int rc = lh_store_validate_key(key, err);
  if (rc)
    return rc;
  lh_tags *tags = NULL;
  char sum[LH_SHA256_HEX_SIZE];
  lh_sha256_hex(data, len, sum);
  size_t n = strlen(key) + sizeof sum + 2;
  char *dedupe = malloc(n);
  char *snapshot = NULL;
  if (!dedupe || (rc = lh_tags_open(s, NULL, &tags, err))) {
    rc = dedupe ? rc : lh_error_nomem(err);
    goto done;
  }
  snprintf(dedupe, n, "%s-%s", key, sum);
  rc = lh_tags_exists(tags, dedupe, err);
  if (rc < 0)
    goto done;
  /* the same bytes as a known version, and the file itself still there: nothing to do */
  if (rc == 1 && (rc = lh_store_exists(s, key, err)) != 0) {
    rc = rc < 0 ? rc : 0;
    goto done;
  }
  lh_time now = lh_time_now();
  char ts[LH_TS_SIZE];
  lh_time_format_ts(now, ts);
  if (!(snapshot = lh_path_version(key, ts))) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  if ((rc = lh_store_put(s, snapshot, data, len, err)) ||
      (rc = lh_store_put(s, key, data, len, err)))
    goto done;
  if ((rc = lh_tags_set(tags, key, now, err)) || (rc = lh_tags_set(tags, dedupe, now, err)))
    goto done;
  if (changed)
    *changed = true;
done:
  free(snapshot);
  free(dedupe);
  lh_tags_close(tags);
  return rc;
}

int lh_versions_create(lh_store *s, const char *key, const void *data, size_t len, lh_error *err) {
  int rc = lh_store_validate_key(key, err);
  if (rc)
    return rc;
  if ((rc = lh_store_create(s, key, data, len, err)) != 0)
    return rc;
  /* ours now: the snapshot and the tags, as lh_versions_make writes them */
  lh_tags *tags = NULL;
  char sum[LH_SHA256_HEX_SIZE], ts[LH_TS_SIZE];
  lh_sha256_hex(data, len, sum);
  lh_time now = lh_time_now();
  lh_time_format_ts(now, ts);
  size_t n = strlen(key) + sizeof sum + 2;
  char *dedupe = malloc(n);
  char *snapshot = lh_path_version(key, ts);
  if (!dedupe || !snapshot) {
    rc = lh_error_nomem(err);
  } else if ((rc = lh_tags_open(s, NULL, &tags, err)) == 0) {
    snprintf(dedupe, n, "%s-%s", key, sum);
    if (!(rc = lh_store_put(s, snapshot, data, len, err)) &&
        !(rc = lh_tags_set(tags, key, now, err)))
      rc = lh_tags_set(tags, dedupe, now, err);
  }
  free(snapshot);
  free(dedupe);
  lh_tags_close(tags);
  return rc;
}

typedef struct list_ctx {
  const char *key;
  size_t klen;
  lh_store_key_fn fn;
  void *ctx;
} list_ctx;

static int list_one(const char *k, void *ctx) {
  list_ctx *l = ctx;
  /* versions/YYYY/MM/TS/{key}: the part after the timestamp folder must equal key */
  const char *p = k + strlen("versions/");
  for (int i = 0; i < 3 && p; i++) {
    p = strchr(p, '/');
    if (p)
      p++;
  }
  if (!p || strcmp(p, l->key))
    return 0;
  return l->fn(k, l->ctx);
}

int lh_versions_list(lh_store *s, const char *key, lh_store_key_fn fn, void *ctx, lh_error *err) {
  list_ctx l = {key, strlen(key), fn, ctx};
  return lh_store_iterate(s, "versions", NULL, list_one, &l, err);
}
