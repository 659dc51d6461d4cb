/* The buffered, compressed output every export writes through, and reading an export back. */
#include <stdlib.h>
#include <string.h>

#include "repository/exports.h"

int lh__sink_open(lh_store *store, const char *key, lh_codec codec, lh__sink *o, lh_error *err) {
  memset(o, 0, sizeof *o);
  return lh_cwriter_open(store, key, codec, &o->w, err);
}

int lh__sink_drain(lh__sink *o, size_t above, lh_error *err) {
  if (o->buf.len <= above)
    return 0;
  int rc = lh_cwriter_write(o->w, o->buf.data, o->buf.len, err);
  lh_buf_reset(&o->buf);
  return rc;
}

int lh__sink_close(lh__sink *o, int rc, lh_error *err) {
  if (rc == 0)
    rc = lh__sink_drain(o, 0, err);
  if (rc == 0)
    rc = lh_cwriter_commit(o->w, err);
  else
    lh_cwriter_abort(o->w);
  o->w = NULL;
  lh_buf_free(&o->buf);
  return rc;
}

int lh__sink_remove_stale(lh_store *store, const char *base, lh_codec keep, lh_error *err) {
  for (size_t i = 0; i < LH_CODEC_COUNT; i++) {
    if (LH_CODECS[i] == keep)
      continue;
    char *key = lh_codec_key(base, LH_CODECS[i]);
    int rc = key ? lh_store_delete(store, key, err) : lh_error_set(err, LH_ENOMEM, "out of memory");
    free(key);
    if (rc && rc != LH_ENOTFOUND)
      return rc;
    lh_error_clear(err);
  }
  return 0;
}

int lh__creader_read_fn(void *ctx, void *buf, size_t n, size_t *got, lh_error *err) {
  return lh_creader_read(ctx, buf, n, got, err);
}

int lh__export_read(lh_store *store, const char *base, lh_bytes_fn fn, void *ctx, lh_error *err) {
  char *key;
  lh_codec codec;
  int rc = lh_codec_find(store, base, &key, &codec, err);
  if (rc)
    return rc;
  lh_creader *rd;
  rc = lh_creader_open(store, key, codec, &rd, err);
  free(key);
  if (rc)
    return rc;
  size_t cap = (size_t)1 << 17;
  char *chunk = malloc(cap);
  if (!chunk)
    rc = lh_error_nomem(err);
  while (!rc) {
    size_t got;
    if ((rc = lh_creader_read(rd, chunk, cap, &got, err)) || got == 0)
      break;
    rc = fn(ctx, chunk, got, err);
  }
  free(chunk);
  lh_creader_close(rd);
  return rc;
}
