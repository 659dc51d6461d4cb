/* The contract a store backend implements. lh_store validates keys before calling in. */
#ifndef LH_STORE_BACKEND_H
#define LH_STORE_BACKEND_H

#include "lakehouse/store.h"

typedef struct lh__store_ops {
  const char *name;
  int (*get)(lh_store *s, const char *key, lh_buf *out, lh_error *err);
  int (*put)(lh_store *s, const char *key, const void *data, size_t len, bool exclusive,
             lh_error *err);
  int (*exists)(lh_store *s, const char *key, lh_error *err);
  int (*del)(lh_store *s, const char *key, lh_error *err);
  int (*info)(lh_store *s, const char *key, lh_store_info *info, lh_error *err);
  int (*open_read)(lh_store *s, const char *key, lh_reader **out, lh_error *err);
  int (*open_write)(lh_store *s, const char *key, lh_writer **out, lh_error *err);
  int (*iterate)(lh_store *s, const char *prefix, const char *glob, lh_store_key_fn fn, void *ctx,
                 lh_error *err);
  int (*children)(lh_store *s, const char *prefix, lh_store_key_fn fn, void *ctx, lh_error *err);
  int (*sweep_temp)(lh_store *s, const char *prefix, lh_time before, size_t *files, int64_t *bytes,
                    lh_error *err);
  char *(*local_path)(const lh_store *s, const char *key);
  bool commits_as;                             /* its writers implement commit_as */
  void (*defer_sync)(lh_store *s, bool defer); /* NULL: writes are durable when they return */
  void (*no_sync)(lh_store *s);                /* NULL: the same */
  int (*sync)(lh_store *s, lh_error *err);
  void (*close)(lh_store *s);
} lh__store_ops;

struct lh_store {
  const lh__store_ops *ops;
  char *uri;
  void *impl;
};

typedef struct lh__reader_ops {
  int (*read)(lh_reader *r, void *buf, size_t n, size_t *got, lh_error *err);
  void (*close)(lh_reader *r);
} lh__reader_ops;

struct lh_reader {
  const lh__reader_ops *ops;
};

typedef struct lh__writer_ops {
  int (*write)(lh_writer *w, const void *data, size_t n, lh_error *err);
  int (*commit)(lh_writer *w, lh_error *err);
  void (*abort)(lh_writer *w);
  int (*commit_as)(lh_writer *w, const char *key, lh_error *err);  /* NULL: not supported */
  int (*prepare_as)(lh_writer *w, const char *key, lh_error *err); /* NULL: nothing to do */
  int (*finish)(lh_writer *w, lh_error *err);                      /* NULL: nothing to do */
  void (*no_cache)(lh_writer *w);                                  /* NULL: ignored */
} lh__writer_ops;

struct lh_writer {
  const lh__writer_ops *ops;
};

int lh__store_fs_open(const char *uri, lh_store **out, lh_error *err);

#endif
