/* The table's files for DuckDB: a local table, used in place (see table_io.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "storage/parquet/table_io.h"

struct lh__table_io {
  char *root; /* the table's folder */
  size_t rootlen;
};

int lh__tio_open(lh_store *table, lh__table_io **out, lh_error *err) {
  *out = NULL;
  lh__table_io *io = calloc(1, sizeof *io);
  if (!io)
    return lh_error_nomem(err);
  if (!(io->root = lh_store_local_path(table, NULL))) {
    free(io);
    return lh_error_set(err, LH_EUNSUPPORTED,
                        "%s: the statement store needs a local (fs://) lake for now",
                        lh_store_uri(table));
  }
  io->rootlen = strlen(io->root);
  *out = io;
  return 0;
}

void lh__tio_close(lh__table_io *io) {
  if (!io)
    return;
  free(io->root);
  free(io);
}

int lh__tio_read_path(const lh__table_io *io, const char *file, lh_buf *out) {
  return lh_buf_printf(out, "%s/%s", io->root, file);
}

int lh__tio_write_dir(lh__table_io *io, const char *dir, lh_buf *out, lh_error *err) {
  size_t start = out->len;
  if (lh_buf_printf(out, "%s%s%s", io->root, *dir ? "/" : "", dir))
    return lh_error_nomem(err);
  return lh_mkdirs(out->data + start, err);
}

const char *lh__tio_relative(const lh__table_io *io, const char *path) {
  if (strncmp(path, io->root, io->rootlen) != 0 || path[io->rootlen] != '/')
    return NULL;
  return path + io->rootlen + 1;
}

void lh__tio_discard(lh__table_io *io, const char *path) {
  if (lh__tio_relative(io, path))
    unlink(path);
}

int lh__tio_scratch(lh__table_io *io, const char *dir, const char *name, lh_buf *out,
                    lh_error *err) {
  int rc = lh__tio_write_dir(io, dir, out, err);
  if (rc)
    return rc;
  return lh_buf_printf(out, "/%s", name) ? lh_error_nomem(err) : 0;
}

int lh__tio_publish(lh__table_io *io, const char *path, const char *file, lh_error *err) {
  lh_buf final = LH_BUF_INIT;
  int rc = lh__tio_read_path(io, file, &final) ? lh_error_nomem(err) : 0;
  if (!rc && rename(path, final.data) != 0)
    rc = lh_error_errno(err, errno, "cannot move %s into place", file);
  lh_buf_free(&final);
  return rc;
}
