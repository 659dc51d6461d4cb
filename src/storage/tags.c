/* Freshness tags on the key/value store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "storage/tags.h"

struct lh_tags {
  lh_store *store;
  char *tenant;
};

int lh_tags_open(lh_store *store, const char *tenant, lh_tags **out, lh_error *err) {
  *out = NULL;
  lh_tags *t = calloc(1, sizeof *t);
  if (!t)
    return lh_error_nomem(err);
  t->store = store;
  t->tenant = strdup(tenant && *tenant ? tenant : LH_TENANT);
  if (!t->tenant) {
    free(t);
    return lh_error_nomem(err);
  }
  *out = t;
  return 0;
}

void lh_tags_close(lh_tags *t) {
  if (!t)
    return;
  free(t->tenant);
  free(t);
}

static char *tag_key(lh_tags *t, const char *key, lh_error *err) {
  char *k = lh_path_tag(t->tenant, key);
  if (!k)
    lh_error_set(err, LH_ENOMEM, "out of memory");
  return k;
}

int lh_tags_get(lh_tags *t, const char *key, lh_time *out, lh_error *err) {
  char *k = tag_key(t, key, err);
  if (!k)
    return LH_ENOMEM;
  lh_buf b = LH_BUF_INIT;
  int rc = lh_store_get(t->store, k, &b, err);
  if (rc == 0) {
    /* a JSON string, or (written by hand) the bare timestamp */
    const char *s = b.data ? b.data : "";
    size_t n = b.len;
    while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
      n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
      s++;
      n -= 2;
    }
    rc = lh_time_parse_iso(s, n, out, err);
    if (rc)
      lh_error_prefix(err, rc, "tag '%s'", key);
  }
  lh_buf_free(&b);
  free(k);
  return rc == LH_EINVAL ? LH_EPARSE : rc;
}

int lh_tags_set(lh_tags *t, const char *key, lh_time value, lh_error *err) {
  char *k = tag_key(t, key, err);
  if (!k)
    return LH_ENOMEM;
  char iso[LH_ISO_SIZE], text[LH_ISO_SIZE + 2];
  lh_time_format_iso(value, iso);
  size_t n = (size_t)snprintf(text, sizeof text, "\"%s\"", iso);
  int rc = lh_store_put(t->store, k, text, n, err);
  free(k);
  return rc;
}

int lh_tags_exists(lh_tags *t, const char *key, lh_error *err) {
  char *k = tag_key(t, key, err);
  if (!k)
    return LH_ENOMEM;
  int rc = lh_store_exists(t->store, k, err);
  free(k);
  return rc;
}

int lh_tags_delete(lh_tags *t, const char *key, lh_error *err) {
  char *k = tag_key(t, key, err);
  if (!k)
    return LH_ENOMEM;
  int rc = lh_store_delete(t->store, k, err);
  free(k);
  return rc;
}

int lh_tags_is_latest(lh_tags *t, const char *key, const char *const *deps, size_t ndeps,
                      lh_error *err) {
  lh_time mine;
  int rc = lh_tags_get(t, key, &mine, err);
  if (rc == LH_ENOTFOUND)
    return 0;
  if (rc)
    return rc;
  bool any = false;
  for (size_t i = 0; i < ndeps; i++) {
    lh_time dep;
    rc = lh_tags_get(t, deps[i], &dep, err);
    if (rc == LH_ENOTFOUND)
      continue;
    if (rc)
      return rc;
    any = true;
    if (dep >= mine)
      return 0;
  }
  lh_error_clear(err);
  return any ? 1 : 0;
}
