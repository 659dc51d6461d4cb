/* lh_store: key validation and dispatch to the backend for the URI's scheme. */
#include <stdlib.h>
#include <string.h>

#include "core/uri.h"
#include "store/backend.h"

int lh_store_validate_key(const char *key, lh_error *err) {
  if (!key || !*key)
    return lh_error_set(err, LH_EINVAL, "invalid key: must not be empty");
  if (key[0] == '/')
    return lh_error_set(err, LH_EINVAL, "invalid key '%s': must be relative", key);
  const char *seg = key;
  for (const char *p = key;; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '/' || c == '\0') {
      size_t n = (size_t)(p - seg);
      if (n == 0)
        return lh_error_set(err, LH_EINVAL, "invalid key '%s': empty path segment", key);
      if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
        return lh_error_set(err, LH_EINVAL, "invalid key '%s': '.' and '..' are not allowed", key);
      if (c == '\0')
        break;
      seg = p + 1;
    } else if (c < 0x20 || c == 0x7f || c == '\\') {
      return lh_error_set(err, LH_EINVAL, "invalid key: control character or '\\' in '%s'", key);
    }
  }
  return 0;
}

int lh_store_open(const char *uri, lh_store **out, lh_error *err) {
  *out = NULL;
  if (!uri || !*uri)
    return lh_error_set(err, LH_EINVAL, "store URI must not be empty");
  switch (lh__uri_kind_of(uri)) {
  case LH__URI_FILE: return lh__store_fs_open(uri, out, err);
  case LH__URI_S3:
    return lh_error_set(err, LH_EUNSUPPORTED, "'%s': s3:// stores are not available yet", uri);
  case LH__URI_HTTP:
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "'%s': http(s):// (API mode) stores are not available yet", uri);
  default: return lh_error_set(err, LH_EUNSUPPORTED, "'%s': unsupported store URI scheme", uri);
  }
}

void lh_store_close(lh_store *s) {
  if (s)
    s->ops->close(s);
}

const char *lh_store_uri(const lh_store *s) {
  return s->uri;
}

int lh_store_sub(const lh_store *s, const char *prefix, lh_store **out, lh_error *err) {
  int rc = lh_store_validate_key(prefix, err);
  if (rc)
    return rc;
  char *uri = lh__uri_join(s->uri, prefix);
  if (!uri)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  rc = lh_store_open(uri, out, err);
  free(uri);
  return rc;
}

#define CHECK_KEY(key)                                                                             \
  do {                                                                                             \
    int rc_ = lh_store_validate_key(key, err);                                                     \
    if (rc_)                                                                                       \
      return rc_;                                                                                  \
  } while (0)

int lh_store_get(lh_store *s, const char *key, lh_buf *out, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->get(s, key, out, err);
}

int lh_store_put(lh_store *s, const char *key, const void *data, size_t len, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->put(s, key, data, len, false, err);
}

int lh_store_create(lh_store *s, const char *key, const void *data, size_t len, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->put(s, key, data, len, true, err);
}

int lh_store_exists(lh_store *s, const char *key, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->exists(s, key, err);
}

int lh_store_delete(lh_store *s, const char *key, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->del(s, key, err);
}

int lh_store_stat(lh_store *s, const char *key, lh_store_info *info, lh_error *err) {
  CHECK_KEY(key);
  return s->ops->info(s, key, info, err);
}

int lh_store_open_read(lh_store *s, const char *key, lh_reader **out, lh_error *err) {
  *out = NULL;
  CHECK_KEY(key);
  return s->ops->open_read(s, key, out, err);
}

int lh_reader_read(lh_reader *r, void *buf, size_t n, size_t *got, lh_error *err) {
  return r->ops->read(r, buf, n, got, err);
}

void lh_reader_close(lh_reader *r) {
  if (r)
    r->ops->close(r);
}

int lh_store_open_write(lh_store *s, const char *key, lh_writer **out, lh_error *err) {
  *out = NULL;
  CHECK_KEY(key);
  return s->ops->open_write(s, key, out, err);
}

int lh_writer_write(lh_writer *w, const void *data, size_t n, lh_error *err) {
  return w->ops->write(w, data, n, err);
}

int lh_writer_commit(lh_writer *w, lh_error *err) {
  return w->ops->commit(w, err);
}

int lh_writer_commit_as(lh_writer *w, const char *key, lh_error *err) {
  int rc = lh_store_validate_key(key, err);
  if (!rc && !w->ops->commit_as)
    rc = lh_error_set(err, LH_EUNSUPPORTED, "this store cannot publish under another key");
  if (rc) {
    w->ops->abort(w);
    return rc;
  }
  return w->ops->commit_as(w, key, err);
}

int lh_writer_prepare_as(lh_writer *w, const char *key, lh_error *err) {
  int rc = lh_store_validate_key(key, err);
  return rc ? rc : w->ops->prepare_as ? w->ops->prepare_as(w, key, err) : 0;
}

int lh_writer_finish(lh_writer *w, lh_error *err) {
  return w->ops->finish ? w->ops->finish(w, err) : 0;
}

void lh_writer_no_cache(lh_writer *w) {
  if (w->ops->no_cache)
    w->ops->no_cache(w);
}

bool lh_store_commits_as(const lh_store *s) {
  return s->ops->commits_as;
}

void lh_writer_abort(lh_writer *w) {
  if (w)
    w->ops->abort(w);
}

int lh_store_iterate(lh_store *s, const char *prefix, const char *glob, lh_store_key_fn fn,
                     void *ctx, lh_error *err) {
  if (prefix && *prefix) {
    /* a trailing '/' is allowed on a prefix */
    size_t n = strlen(prefix);
    char *p = strndup(prefix, n && prefix[n - 1] == '/' ? n - 1 : n);
    if (!p)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    int rc = lh_store_validate_key(p, err);
    if (rc == 0)
      rc = s->ops->iterate(s, p, glob, fn, ctx, err);
    free(p);
    return rc;
  }
  return s->ops->iterate(s, NULL, glob, fn, ctx, err);
}

int lh_store_sweep_temp(lh_store *s, const char *prefix, lh_time before, size_t *files,
                        int64_t *bytes, lh_error *err) {
  if (files)
    *files = 0;
  if (bytes)
    *bytes = 0;
  if (prefix && *prefix) {
    int rc = lh_store_validate_key(prefix, err);
    if (rc)
      return rc;
  }
  if (!s->ops->sweep_temp)
    return 0;
  return s->ops->sweep_temp(s, prefix && *prefix ? prefix : NULL, before, files, bytes, err);
}

int lh_store_children(lh_store *s, const char *prefix, lh_store_key_fn fn, void *ctx,
                      lh_error *err) {
  if (prefix && *prefix) {
    int rc = lh_store_validate_key(prefix, err);
    if (rc)
      return rc;
  }
  return s->ops->children(s, prefix && *prefix ? prefix : NULL, fn, ctx, err);
}

void lh_store_defer_sync(lh_store *s, bool defer) {
  if (s->ops->defer_sync)
    s->ops->defer_sync(s, defer);
}

void lh_store_no_sync(lh_store *s) {
  if (s->ops->no_sync)
    s->ops->no_sync(s);
}

int lh_store_sync(lh_store *s, lh_error *err) {
  return s->ops->sync ? s->ops->sync(s, err) : 0;
}

char *lh_store_local_path(const lh_store *s, const char *key) {
  if (key && lh_store_validate_key(key, NULL))
    return NULL;
  return s->ops->local_path ? s->ops->local_path(s, key) : NULL;
}
