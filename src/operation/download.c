/* The archive download (inventory §9.7): every document of exports/documents.csv copied from
 * its blob to {path}/{name} in a target store, streamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/csv_reader.h"
#include "core/text.h"
#include "lakehouse/archive.h"
#include "lakehouse/log.h"
#include "operation/operation.h"

#define SAVE_EVERY 1000
#define RECORD_MAX ((size_t)1 << 20) /* one documents.csv row */
#define COPY_CHUNK ((size_t)1 << 20)

typedef struct download {
  lh__op *op;
  lh_store *target;
  int64_t skipped;
  char skipped_json[24];
  char *chunk;
} download;

static void set_skipped(download *d) {
  snprintf(d->skipped_json, sizeof d->skipped_json, "%lld", (long long)d->skipped);
}

static int read_reader(void *ctx, void *buf, size_t n, size_t *got, lh_error *err) {
  return lh_reader_read(ctx, buf, n, got, err);
}

/* The columns of documents.csv the download needs. */
typedef struct columns {
  long checksum, name, path;
} columns;

static int find_columns(const lh__csv_record *rec, columns *c, lh_error *err) {
  c->checksum = c->name = c->path = -1;
  for (size_t i = 0; i < rec->nfields; i++) {
    if (!strcmp(rec->fields[i], "checksum"))
      c->checksum = (long)i;
    else if (!strcmp(rec->fields[i], "name"))
      c->name = (long)i;
    else if (!strcmp(rec->fields[i], "path"))
      c->path = (long)i;
  }
  if (c->checksum < 0 || c->name < 0 || c->path < 0)
    return lh_error_set(err, LH_EPARSE, "%s: the header lacks checksum, name or path",
                        LH_PATH_EXPORTS_DOCUMENTS);
  return 0;
}

static int copy_blob(download *d, const char *checksum, const char *key, lh_error *err) {
  lh_reader *r;
  int rc = lh_archive_open(d->op->ds, checksum, &r, err);
  if (rc)
    return rc;
  lh_writer *w;
  if ((rc = lh_store_open_write(d->target, key, &w, err)) != 0) {
    lh_reader_close(r);
    return rc;
  }
  for (;;) {
    size_t got;
    if ((rc = lh_reader_read(r, d->chunk, COPY_CHUNK, &got, err)) != 0 || got == 0)
      break;
    if ((rc = lh_writer_write(w, d->chunk, got, err)) != 0)
      break;
  }
  lh_reader_close(r);
  if (rc) {
    lh_writer_abort(w);
    return rc;
  }
  return lh_writer_commit(w, err);
}

/* One row: 0 also when the row is left out (logged, counted); else a failure that stops. */
static int download_row(download *d, const lh__csv_record *rec, const columns *c, lh_error *err) {
  const char *name = rec->fields[c->name], *path = rec->fields[c->path];
  const char *checksum = rec->fields[c->checksum];
  char *key = NULL;
  if (asprintf(&key, "%s%s%s", path, *path ? "/" : "", name) < 0)
    return lh_error_nomem(err);
  lh_error e = {0};
  char shown[256];
  int rc = lh_store_validate_key(key, &e);
  int exists = rc ? 0 : lh_store_exists(d->target, key, err);
  if (exists < 0) {
    rc = exists;
  } else if (exists) {
    lh_log_debug("%s: download: '%s' exists already", d->op->ds->name, key);
    d->skipped++;
  } else if (rc || (rc = copy_blob(d, checksum, key, &e)) != 0) {
    /* a bad name or a missing blob: this document only */
    lh_log_warning("%s: download: cannot write '%s' (line %llu of %s): %s", d->op->ds->name,
                   lh__printable(key, strlen(key), shown, sizeof shown),
                   (unsigned long long)rec->line, LH_PATH_EXPORTS_DOCUMENTS, e.message);
    d->op->job.errors++;
    rc = rc == LH_ENOMEM ? lh_error_nomem(err) : 0;
  } else {
    lh_log_debug("%s: downloaded '%s'", d->op->ds->name, key);
    d->op->job.done++;
  }
  free(key);
  return rc;
}

static int download_handle(lh__op *op, bool force, lh_error *err) {
  (void)force;
  download *d = op->ctx;
  lh_reader *r;
  int rc = lh_store_open_read(op->ds->store, LH_PATH_EXPORTS_DOCUMENTS, &r, err);
  if (rc == LH_ENOTFOUND)
    return lh_error_set(err, rc, "%s/%s does not exist: export the documents first", op->ds->name,
                        LH_PATH_EXPORTS_DOCUMENTS);
  if (rc)
    return rc;
  lh__csv *csv = lh__csv_open_reader(read_reader, r, RECORD_MAX);
  if (!csv || !(d->chunk = malloc(COPY_CHUNK))) {
    lh__csv_close(csv);
    lh_reader_close(r);
    return lh_error_nomem(err);
  }
  lh__csv_record rec;
  columns cols;
  int more = lh__csv_next(csv, &rec, err);
  rc = more < 0 ? more : more == 0 ? 0 : find_columns(&rec, &cols, err);
  uint64_t rows = 0;
  while (!rc && more > 0 && (more = lh__csv_next(csv, &rec, err)) > 0) {
    long need = cols.checksum > cols.name ? cols.checksum : cols.name;
    if ((size_t)(need > cols.path ? need : cols.path) >= rec.nfields) {
      rc = lh_error_set(err, LH_EPARSE, "%s line %llu: %zu fields", LH_PATH_EXPORTS_DOCUMENTS,
                        (unsigned long long)rec.line, rec.nfields);
      break;
    }
    rc = download_row(d, &rec, &cols, err);
    set_skipped(d);
    if (!rc && ++rows % SAVE_EVERY == 0) { /* the files counted are on disk */
      rc = lh_store_sync(d->target, err);
      rc = rc ? rc : lh_job_save(op->ds->store, &op->job, err);
    }
  }
  if (!rc && more < 0)
    rc = more;
  if (!rc)
    rc = lh_store_sync(d->target, err);
  lh__csv_close(csv);
  lh_reader_close(r);
  lh_log_info("%s: download: %lld files written, %lld there already, %lld left out", op->ds->name,
              (long long)op->job.done, (long long)d->skipped, (long long)op->job.errors);
  return rc;
}

int lh_dataset_download_archive(lh_dataset *ds, const char *target_uri, bool force,
                                lh_op_result *res, lh_error *err) {
  static const char *const DEPS[] = {LH_PATH_EXPORTS_DOCUMENTS};
  lh_store *target;
  int rc = lh_store_open(target_uri, &target, err);
  if (rc)
    return rc;
  lh_store_defer_sync(target, true); /* flushed every SAVE_EVERY files, not each */
  lh__op op = {.ds = ds,
               .tags = ds->tags,
               .label = "download archive",
               .target = LH_TAG_DOWNLOAD_RUN,
               .deps = DEPS,
               .ndeps = 1,
               .handle = download_handle};
  download d = {.op = &op, .target = target};
  op.ctx = &d;
  set_skipped(&d);
  lh_buf uri = LH_BUF_INIT;
  lh_job_init(&op.job, "DownloadArchiveJob", ds->name);
  if (lh_json_write_string(&uri, target_uri, strlen(target_uri))) {
    rc = lh_error_nomem(err);
  } else {
    op.job.extra[op.job.nextra++] = (lh_job_field){"target", uri.data};
    op.job.extra[op.job.nextra++] = (lh_job_field){"skipped", d.skipped_json};
    rc = lh__op_run(&op, force, res, err);
  }
  if (!rc && res) {
    res->done = op.job.done;
    res->errors = op.job.errors;
    res->present = d.skipped;
  }
  free(d.chunk);
  lh_buf_free(&uri);
  lh_store_close(target);
  return rc;
}
