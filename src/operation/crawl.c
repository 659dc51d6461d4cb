/* The crawl operation (inventory §9.2): every file of a folder into the archive, with its
 * Folder and file entities. Bad files are logged and counted, never fatal; the archive's
 * batches (repository/archive_internal.h) make a killed crawl resumable. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* Files read ahead of the one being archived: enough for the workers to go on while the
 * crawl's thread waits for a batch to reach the disk (~60 ms, some 150 files). A staged file
 * holds no descriptor (lh_writer_finish), only its temp files and a slot. */
#define LOOKAHEAD 256
#define WORKERS_MAX 8 /* threads reading them */

typedef struct readahead readahead;

typedef struct crawl {
  lh__op *op;
  const lh_crawl_opts *o;
  lh_store *src;
  lh__archive *a;
  readahead *ra;
  lh_entity_writer *w; /* make_entities */
  const lh_model *model;
  bool copy_first; /* copy while hashing: nothing to skip, or overwrite */
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

/* What a worker found for a file: its content and staged copy, or why it could not. */
typedef struct slot {
  char *key;
  const char *bad; /* refused by name before reading */
  bool ready;      /* guarded by readahead.mu */
  int rc;
  bool src_failed;
  lh__staged staged;
  lh_error err;
} slot;

/* The files of a crawl are read, hashed and copied (staged) by worker threads up to
 * LOOKAHEAD files ahead, and archived in walk order on the crawl's thread. */
struct readahead {
  pthread_mutex_t mu;
  pthread_cond_t work, ready;
  slot slots[LOOKAHEAD];
  uint64_t head, next, tail; /* done < head <= next (taken by a worker) <= tail (queued) */
  bool head_wait;            /* the crawl's thread waits for slot head */
  bool stop;
  int nthreads;
  pthread_t threads[WORKERS_MAX];
  lh__stager *stagers[WORKERS_MAX];
  crawl *c;
};

/* Why a name is not archived, or NULL. */
static const char *bad_name(const char *key) {
  size_t n = strlen(key);
  if (lh__utf8_check(key, n) != n)
    return "the name is not valid UTF-8";
  if (lh_store_validate_key(key, NULL))
    return "the name holds a control character (a line break?)";
  return NULL;
}

static void stage(crawl *c, lh__stager *st, slot *s) {
  lh_archive_source src = lh_archive_source_key(c->src, s->key);
  lh_archive_store_opts so = {.key = s->key, .origin = LH_ORIGIN_CRAWL};
  s->rc = lh__stager_stage(st, &src, &so, c->copy_first, &s->staged, &s->err);
  s->src_failed = s->rc && lh__stager_source_failed(st);
}

typedef struct worker_arg {
  readahead *ra;
  lh__stager *st;
} worker_arg;

static void *worker(void *arg) {
  readahead *ra = ((worker_arg *)arg)->ra;
  lh__stager *st = ((worker_arg *)arg)->st;
  free(arg);
  pthread_mutex_lock(&ra->mu);
  for (;;) {
    while (!ra->stop && ra->next == ra->tail)
      pthread_cond_wait(&ra->work, &ra->mu);
    if (ra->stop)
      break;
    slot *s = &ra->slots[ra->next++ % LOOKAHEAD];
    pthread_mutex_unlock(&ra->mu);
    if (!s->bad)
      stage(ra->c, st, s);
    pthread_mutex_lock(&ra->mu);
    s->ready = true;
    /* the crawl's thread waits for the oldest file only: woken for any other, it would
     * take the core from this worker for nothing (a wake-up per file, measured: half the
     * workers' context switches) */
    if (ra->head_wait && s == &ra->slots[ra->head % LOOKAHEAD])
      pthread_cond_signal(&ra->ready);
  }
  pthread_mutex_unlock(&ra->mu);
  return NULL;
}

static int readahead_start(crawl *c, lh_error *err) {
  readahead *ra = calloc(1, sizeof *ra);
  if (!ra)
    return lh_error_nomem(err);
  pthread_mutex_init(&ra->mu, NULL);
  pthread_cond_init(&ra->work, NULL);
  pthread_cond_init(&ra->ready, NULL);
  ra->c = c;
  c->ra = ra;
  const lh_settings *set = c->op->ds->settings;
  long n = set && set->crawl_workers > 0 ? set->crawl_workers : sysconf(_SC_NPROCESSORS_ONLN);
  n = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : n;
  for (int i = 0; i < n; i++) {
    worker_arg *arg = malloc(sizeof *arg);
    int rc = arg ? lh__stager_new(c->a, &ra->stagers[i], err) : lh_error_nomem(err);
    if (!rc) {
      *arg = (worker_arg){ra, ra->stagers[i]};
      if (pthread_create(&ra->threads[i], NULL, worker, arg) != 0)
        rc = lh_error_set(err, LH_EIO, "crawl: cannot start a worker thread");
    }
    if (rc) {
      free(arg);
      lh__stager_free(ra->stagers[i]);
      ra->stagers[i] = NULL;
      if (i == 0)
        return rc; /* no worker at all */
      lh_error_clear(err);
      break;
    }
    ra->nthreads++;
  }
  return 0;
}

/* Wait for the oldest queued file. A batch is not kept open across a slow file (a large one
 * being copied): gc and maintenance wait for batches. */
static int wait_head(crawl *c, slot *s) {
  readahead *ra = c->ra;
  pthread_mutex_lock(&ra->mu);
  bool ended = false;
  int rc = 0;
  while (!s->ready) {
    ra->head_wait = true;
    if (ended || !lh__archive_in_batch(c->a)) {
      pthread_cond_wait(&ra->ready, &ra->mu);
      continue;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 50 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    if (pthread_cond_timedwait(&ra->ready, &ra->mu, &until) == ETIMEDOUT && !s->ready) {
      pthread_mutex_unlock(&ra->mu);
      rc = lh__archive_end_batch(c->a, c->err); /* on failure: still waits for the slot */
      pthread_mutex_lock(&ra->mu);
      ended = true;
    }
  }
  ra->head_wait = false;
  pthread_mutex_unlock(&ra->mu);
  return rc;
}

/* The rest of a file's crawl once it was read: the existing policy, the blob and metadata,
 * the entities. */
static int archive_file(crawl *c, slot *s) {
  const char *key = s->key;
  if (s->bad)
    return bad_file(c, key, s->bad);
  if (s->rc) {
    if (s->src_failed)
      return bad_file(c, key, s->err.message[0] ? s->err.message : lh_strerror(s->rc));
    lh_error_copy(c->err, &s->err);
    return s->rc;
  }
  const lh__content *content = &s->staged.content;
  c->bytes += content->size;
  lh_error e = {0};
  int skip = content->size == 0 ? 0 : archived(c, key, content, &e);
  if (content->size == 0 || skip)
    lh__staged_drop(&s->staged);
  if (content->size == 0)
    return bad_file(c, key, "the file is empty");
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
  lh_archive_source src = lh_archive_source_key(c->src, key);
  lh_file *f;
  int rc = lh__archive_add(c->a, &src, &so, &s->staged, false, &f, &e);
  if (rc)
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

/* Archive the oldest queued file. */
static int take_head(crawl *c) {
  readahead *ra = c->ra;
  slot *s = &ra->slots[ra->head % LOOKAHEAD];
  int rc = wait_head(c, s);
  rc = rc ? rc : archive_file(c, s);
  lh__staged_drop(&s->staged); /* left by a failure */
  free(s->key);
  memset(s, 0, sizeof *s);
  pthread_mutex_lock(&ra->mu);
  ra->head++;
  pthread_mutex_unlock(&ra->mu);
  lh_job *job = &c->op->job;
  job->pending--;
  c->files++;
  const lh_crawl_opts *o = c->o;
  if (o->progress)
    o->progress(o->progress_ctx, c->files, (uint64_t)c->bytes);
  if (!rc && c->files % SAVE_EVERY == 0) {
    lh_log_info("%s: crawl: %llu files, %lld archived", c->op->ds->name,
                (unsigned long long)c->files, (long long)job->done);
    rc = lh_job_save(c->op->ds->store, job, c->err);
  }
  return rc;
}

/* Queue a file for the workers, archiving the oldest first when the queue is full. */
static int queue_file(crawl *c, const char *key) {
  readahead *ra = c->ra;
  int rc = 0;
  while (!rc && ra->tail - ra->head == LOOKAHEAD)
    rc = take_head(c);
  if (rc)
    return rc;
  slot *s = &ra->slots[ra->tail % LOOKAHEAD];
  if (!(s->key = strdup(key)))
    return lh_error_nomem(c->err);
  s->bad = bad_name(key);
  c->op->job.pending++;
  pthread_mutex_lock(&ra->mu);
  ra->tail++;
  pthread_cond_signal(&ra->work);
  pthread_mutex_unlock(&ra->mu);
  return 0;
}

/* After the walk: archive what is queued (drain), or drop it (after a failure). */
static int readahead_end(crawl *c, bool drain) {
  readahead *ra = c->ra;
  if (!ra)
    return 0;
  int rc = 0;
  while (drain && !rc && ra->head < ra->tail)
    rc = take_head(c);
  pthread_mutex_lock(&ra->mu);
  ra->stop = true;
  pthread_cond_broadcast(&ra->work);
  pthread_mutex_unlock(&ra->mu);
  for (int i = 0; i < ra->nthreads; i++)
    pthread_join(ra->threads[i], NULL);
  for (uint64_t i = ra->head; i < ra->tail; i++) { /* not archived: nothing of it stays */
    slot *s = &ra->slots[i % LOOKAHEAD];
    lh__staged_drop(&s->staged);
    free(s->key);
    c->op->job.pending--;
  }
  for (int i = 0; i < WORKERS_MAX; i++)
    lh__stager_free(ra->stagers[i]);
  pthread_cond_destroy(&ra->work);
  pthread_cond_destroy(&ra->ready);
  pthread_mutex_destroy(&ra->mu);
  free(ra);
  c->ra = NULL;
  return rc;
}

static int visit(const char *key, void *ctx) {
  crawl *c = ctx;
  const lh_crawl_opts *o = c->o;
  if (o->exclude_prefix && *o->exclude_prefix &&
      strncmp(key, o->exclude_prefix, strlen(o->exclude_prefix)) == 0)
    return 0;
  if (o->exclude_glob && *o->exclude_glob && fnmatch(o->exclude_glob, key, FNM_NOESCAPE) == 0)
    return 0;
  return queue_file(c, key);
}

static int stop_at_first(const char *key, void *ctx) {
  (void)key;
  *(bool *)ctx = false;
  return 1;
}

/* Whether the archive holds no file yet (no folder under archive/). */
static int archive_empty(lh_dataset *ds, bool *empty, lh_error *err) {
  *empty = true;
  int rc = lh_store_children(ds->store, LH_PATH_ARCHIVE, stop_at_first, empty, err);
  return rc == 1 ? 0 : rc;
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
  /* Into an empty archive every file is copied: read it once, copying while hashing. Else
   * a file is hashed first and copied only when it is not archived already. */
  bool empty = false;
  rc = rc ? rc : archive_empty(ds, &empty, err);
  c->copy_first = empty || c->o->existing == LH_EXISTING_OVERWRITE;
  if (!rc) {
    lh_log_info("%s: crawling %s ...", ds->name, lh_store_uri(c->src));
    const char *prefix = c->o->prefix && *c->o->prefix ? c->o->prefix : NULL;
    const char *glob = c->o->glob && *c->o->glob ? c->o->glob : NULL;
    rc = readahead_start(c, err);
    rc = rc ? rc : lh_store_iterate(c->src, prefix, glob, visit, c, err);
    int end = readahead_end(c, !rc);
    rc = rc ? rc : end;
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
#ifdef __GLIBC__
    malloc_trim(0); /* what the workers' malloc arenas kept: the flush needs its own */
#endif
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
