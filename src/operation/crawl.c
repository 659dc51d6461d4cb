/* The crawl operation (inventory §9.2): every file of a folder into the archive, with its
 * Folder and file entities. Bad files are logged and counted, never fatal; the archive's
 * batches (repository/archive_internal.h) make a killed crawl resumable. */
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/conventions.h"
#include "core/crashpoint.h"
#include "core/text.h"
#include "core/utf8.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"
#include "repository/archive_internal.h"

#define SAVE_EVERY 1000 /* files between two saves of the job record */

static const char *const EXISTING[] = {"skip-path", "skip-checksum", "overwrite"};

int lh_crawl_existing_parse(const char *name, lh_crawl_existing *out, lh_error *err) {
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, EXISTING[i]) == 0) {
      *out = (lh_crawl_existing)i;
      return 0;
    }
  return lh_error_set(err, LH_EINVAL,
                      "unknown existing mode '%s' (one of skip-path, skip-checksum, overwrite)",
                      name ? name : "");
}

const char *lh_crawl_existing_name(lh_crawl_existing e) {
  return (unsigned)e < 3 ? EXISTING[e] : "?";
}

typedef struct crawl {
  lh__op *op;
  const lh_crawl_opts *o;
  lh_store *src;
  lh__archive *a;
  lh_entity_writer *w; /* make_entities */
  const lh_model *model;
  uint64_t files, skipped;
  int64_t bytes;
  lh_error *err; /* a failure that stops the crawl */
  lh_buf fields[5];
} crawl;

/* A file left out: a warning naming it, counted in the job's errors. */
static int bad_file(crawl *c, const char *key, const char *why) {
  char shown[256];
  lh_log_warning("%s: crawl: skipping '%s': %s", c->op->ds->name,
                 lh__printable(key, strlen(key), shown, sizeof shown), why);
  c->op->job.errors++;
  return 0;
}

/* A failure while archiving key: the source's is the file's (bad_file), any other stops. */
static int failed(crawl *c, const char *key, int rc, const lh_error *e) {
  if (lh__archive_source_failed(c->a))
    return bad_file(c, key, e->message[0] ? e->message : lh_strerror(rc));
  lh_error_copy(c->err, e);
  return rc;
}

static int add_entity(lh_entity *e, void *ctx) {
  crawl *c = ctx;
  return lh_entity_writer_add_entity(c->w, e, LH_ORIGIN_CRAWL, NULL, c->err);
}

static int flush_writer(void *ctx, lh_error *err) {
  crawl *c = ctx;
  return lh_entity_writer_flush(c->w, err);
}

/* The existing policy: 1 when the file is archived already. */
static int archived(crawl *c, const char *key, const lh__content *content, lh_error *e) {
  if (c->o->existing == LH_EXISTING_OVERWRITE)
    return 0;
  bool exists, found = false;
  int rc = lh_archive_exists(c->op->ds, content->checksum, &exists, e);
  if (!rc && exists && c->o->existing == LH_EXISTING_SKIP_PATH)
    rc = lh__archive_has_key(c->op->ds, content->checksum, key, &found, e);
  if (rc)
    return rc;
  return exists && (c->o->existing == LH_EXISTING_SKIP_CHECKSUM || found);
}

static int crawl_file(crawl *c, const char *key) {
  size_t n = strlen(key);
  if (lh__utf8_check(key, n) != n)
    return bad_file(c, key, "the name is not valid UTF-8");
  lh_error e = {0};
  if (lh_store_validate_key(key, &e))
    return bad_file(c, key, "the name holds a control character (a line break?)");
  lh_archive_source src = lh_archive_source_key(c->src, key);
  lh__content content;
  int rc = lh__archive_hash(c->a, &src, key, &content, &e);
  if (rc)
    return failed(c, key, rc, &e);
  c->bytes += content.size;
  if (content.size == 0)
    return bad_file(c, key, "the file is empty");
  int skip = archived(c, key, &content, &e);
  if (skip < 0) {
    lh_error_copy(c->err, &e);
    return skip;
  }
  if (skip) {
    lh_log_debug("%s: crawl: '%s' is archived already", c->op->ds->name, key);
    c->skipped++;
    return 0;
  }
  lh_archive_store_opts so = {.key = key, .origin = LH_ORIGIN_CRAWL};
  lh_file *f;
  if ((rc = lh__archive_add(c->a, &src, &so, &content, false, &f, &e)) != 0)
    return failed(c, key, rc, &e);
  if (c->w)
    rc = lh_file_entities(f, c->model, add_entity, c, c->err);
  lh_file_free(f);
  if (rc)
    return rc;
  c->op->job.done++;
  lh__crashpoint_file("crawl:archived", key);
  return 0;
}

static int visit(const char *key, void *ctx) {
  crawl *c = ctx;
  const lh_crawl_opts *o = c->o;
  if (o->exclude_prefix && *o->exclude_prefix &&
      strncmp(key, o->exclude_prefix, strlen(o->exclude_prefix)) == 0)
    return 0;
  if (o->exclude_glob && *o->exclude_glob && fnmatch(o->exclude_glob, key, FNM_NOESCAPE) == 0)
    return 0;
  lh_job *job = &c->op->job;
  job->pending++;
  int rc = crawl_file(c, key);
  job->pending--;
  c->files++;
  if (o->progress)
    o->progress(o->progress_ctx, c->files, (uint64_t)c->bytes);
  if (!rc && c->files % SAVE_EVERY == 0) {
    lh_log_info("%s: crawl: %llu files, %lld archived", c->op->ds->name,
                (unsigned long long)c->files, (long long)job->done);
    rc = lh_job_save(c->op->ds->store, job, c->err);
  }
  return rc;
}

static int crawl_handle(lh__op *op, bool force, lh_error *err) {
  (void)force;
  crawl *c = op->ctx;
  c->err = err;
  lh_dataset *ds = op->ds;
  int rc = lh__archive_open(ds, &c->a, err);
  if (!rc && c->o->make_entities) {
    if (!(c->model = lh_model_default(err)))
      rc = lh_error_code(err, LH_EINVAL);
    rc = rc ? rc : lh_entities_writer(ds, LH_ORIGIN_CRAWL, &c->w, err);
    if (!rc) /* a file's entities reach the journal before its metadata is written */
      lh__archive_on_batch(c->a, flush_writer, c);
  }
  if (!rc) {
    lh_log_info("%s: crawling %s ...", ds->name, lh_store_uri(c->src));
    const char *prefix = c->o->prefix && *c->o->prefix ? c->o->prefix : NULL;
    const char *glob = c->o->glob && *c->o->glob ? c->o->glob : NULL;
    rc = lh_store_iterate(c->src, prefix, glob, visit, c, err);
  }
  /* what was archived before a failure is kept: its metadata and entities are written */
  lh_error scratch = {0};
  int end = c->a ? lh__archive_finish(c->a, rc ? &scratch : err) : 0;
  lh__archive_close(c->a);
  if (c->w) {
    if (!rc && !end)
      end = lh_entity_writer_close(c->w, err);
    else if (lh_entity_writer_close(c->w, &scratch))
      lh_log_warning("%s: crawl: %s", ds->name, scratch.message);
  }
  rc = rc ? rc : end;
  if (!rc && c->o->make_entities) {
    lh_flush_result fr;
    rc = lh_entities_flush(ds, &fr, err);
  }
  lh_log_info("%s: crawl: %llu files: %lld archived, %llu there already, %lld left out", ds->name,
              (unsigned long long)c->files, (long long)op->job.done, (unsigned long long)c->skipped,
              (long long)op->job.errors);
  return rc;
}

/* A job field: a JSON string, or null. */
static const char *json_field(lh_buf *b, const char *s) {
  lh_buf_reset(b);
  if (!s || !*s ? lh_buf_puts(b, "null") : lh_json_write_string(b, s, strlen(s)))
    return NULL;
  return b->data;
}

/* a inside b, or the same folder (canonical paths) */
static bool inside(const char *a, const char *b) {
  size_t n = strlen(b);
  return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/' || (n == 1 && b[0] == '/'));
}

/* A folder, and neither the dataset's folder nor in it or around it: a crawl of its own
 * archive would find the metadata it writes and never end. */
static int check_source(lh_dataset *ds, lh_store *src, const char *uri, lh_error *err) {
  char *root = lh_store_local_path(src, NULL), *own = lh_store_local_path(ds->store, NULL);
  char *a = root ? realpath(root, NULL) : NULL, *b = own ? realpath(own, NULL) : NULL;
  struct stat st;
  int rc = 0;
  if (root && !(a && stat(a, &st) == 0 && S_ISDIR(st.st_mode)))
    rc = lh_error_set(err, LH_ENOTFOUND, "crawl: '%s' is not a folder", uri);
  else if (a && b && (inside(a, b) || inside(b, a)))
    rc = lh_error_set(err, LH_EINVAL, "crawl: '%s' holds or is inside the dataset %s", uri,
                      ds->name);
  free(a);
  free(b);
  free(root);
  free(own);
  return rc;
}

/* A crawl that was killed leaves its job record running and may leave temp files of the
 * blob or metadata it was writing: the next crawl removes those of dead writers. */
static int sweep_after_killed_crawl(lh_dataset *ds, lh_error *err) {
  lh_buf last = LH_BUF_INIT;
  lh_error scratch = {0};
  if (lh_jobs_latest(ds->store, "CrawlJob", &last, &scratch)) {
    lh_buf_free(&last);
    return 0; /* no earlier crawl (or an unreadable record: nothing to go on) */
  }
  json_t *j = json_loadb(last.data, last.len, 0, NULL);
  bool killed = json_is_true(json_object_get(j, "running"));
  json_decref(j);
  lh_buf_free(&last);
  if (!killed)
    return 0;
  size_t files = 0;
  int rc = lh_store_sweep_temp(ds->store, LH_PATH_ARCHIVE, 0, &files, NULL, err);
  if (!rc && files)
    lh_log_info("%s: crawl: removed %zu temporary file(s) of an interrupted crawl", ds->name,
                files);
  return rc;
}

int lh_dataset_crawl(lh_dataset *ds, const char *uri, const lh_crawl_opts *opts, lh_op_result *res,
                     lh_error *err) {
  lh_crawl_opts zero = {0};
  const lh_crawl_opts *o = opts ? opts : &zero;
  if ((unsigned)o->existing > LH_EXISTING_OVERWRITE)
    return lh_error_set(err, LH_EINVAL, "crawl: unknown existing mode %d", (int)o->existing);
  lh_store *src;
  int rc = lh_store_open(uri, &src, err);
  if (rc)
    return rc;
  if ((rc = check_source(ds, src, uri, err)) != 0 || (rc = sweep_after_killed_crawl(ds, err))) {
    lh_store_close(src);
    return rc;
  }
  lh__op op = {.ds = ds, .tags = ds->tags, .label = "crawl", .target = LH_TAG_CRAWL_RUN};
  crawl c = {.op = &op, .o = o, .src = src};
  for (int i = 0; i < 5; i++)
    lh_buf_init(&c.fields[i], LH_BUF_DEFAULT_MAX);
  op.handle = crawl_handle;
  op.ctx = &c;
  lh_job_init(&op.job, "CrawlJob", ds->name);
  const char *keys[] = {"uri", "prefix", "exclude_prefix", "glob", "exclude_glob"};
  const char *values[] = {uri, o->prefix, o->exclude_prefix, o->glob, o->exclude_glob};
  for (int i = 0; i < 5 && !rc; i++) {
    const char *v = json_field(&c.fields[i], values[i]);
    if (!v)
      rc = lh_error_nomem(err);
    op.job.extra[op.job.nextra++] = (lh_job_field){keys[i], v};
  }
  char existing[32];
  snprintf(existing, sizeof existing, "\"%s\"", lh_crawl_existing_name(o->existing));
  op.job.extra[op.job.nextra++] =
      (lh_job_field){"make_entities", o->make_entities ? "true" : "false"};
  op.job.extra[op.job.nextra++] = (lh_job_field){"existing", existing};
  rc = rc ? rc : lh__op_run(&op, false, res, err);
  if (!rc && res) {
    res->done = op.job.done;
    res->errors = op.job.errors;
    res->present = (int64_t)c.skipped;
  }
  for (int i = 0; i < 5; i++)
    lh_buf_free(&c.fields[i]);
  lh_store_close(src);
  return rc;
}
