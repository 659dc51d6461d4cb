/* The file archive repository (inventory §5.3): the writing session (blobs published under
 * a lease on the write fence, metadata in batches), and the public store / read / delete
 * functions. gc is in archive_gc.c. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/array.h"
#include "core/conventions.h"
#include "core/thread.h"
#include "ftm/mime.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "repository/archive_internal.h"
#include "storage/fence.h"

#define CHUNK LH_MAGIC_HEAD /* the copy buffer; its first fill is the head libmagic sees */

typedef struct pending {
  char *key;      /* archive/.../{file_id}.json */
  char *json;     /* written at the end of the batch, or ... */
  lh_writer *tmp; /* ... written already into a temp file, moved into place then */
} pending;

/* What reading a source takes: the session's own (its thread may end a batch), or a
 * worker's (lh__stager_new). */
struct lh__stager {
  lh__archive *a;
  unsigned char *buf; /* CHUNK bytes */
  lh__magic *magic;   /* opened on first use */
  bool magic_failed;
  bool src_failed; /* the last failure was the source's */
  bool session;    /* the session's own: a large copy ends the batch */
};

struct lh__archive {
  lh_dataset *ds;
  lh_store *out; /* the dataset's store, flushed to disk once per batch */
  lh__stager st;
  lh_fence_opts fo;
  /* The lease markers go through a handle of their own that never flushes: a marker only
   * tells live processes that a writer is at work, so it need not survive a power loss (a
   * stale one is taken over). A durable one cost two disk flushes per batch (~25 ms). */
  lh_store *fence_store;
  lh_fence *lease; /* the shared side of the write fence, while a batch is open */
  lh_time lease_since;
  uint64_t leases; /* taken so far: tells whether a look at the store was under this lease */
  pending *pend;
  size_t npend, pend_cap;
  int (*on_batch)(void *ctx, lh_error *err);
  void *on_batch_ctx;
  /* The committer: a batch's end (flush, metadata, flush, tag, lease) runs on a thread of
   * its own while the session goes on with the next batch; one batch at a time. */
  pthread_t committer;
  bool committer_on;
  pthread_mutex_t cmu;
  pthread_cond_t ccv;
  pending *job_pend; /* the batch handed over (job_due) or being committed (job_busy) */
  size_t job_npend;
  lh_fence *job_lease;
  bool job_due, job_busy, committer_stop;
  int job_rc; /* the last batch's failure, until the session takes it */
  lh_error job_err;
};

int lh__archive_open(lh_dataset *ds, lh__archive **out, lh_error *err) {
  *out = NULL;
  lh__archive *a = calloc(1, sizeof *a);
  if (!a || !(a->st.buf = malloc(CHUNK))) {
    free(a);
    return lh_error_nomem(err);
  }
  a->st.a = a;
  a->st.session = true;
  a->ds = ds;
  lh_fence_opts_from_settings(&a->fo, ds->settings, "archive");
  int rc = lh_store_open(lh_store_uri(ds->store), &a->out, err);
  if (!rc && (rc = lh_store_open(lh_store_uri(ds->store), &a->fence_store, err)) != 0)
    lh_store_close(a->out);
  if (rc) {
    free(a->st.buf);
    free(a);
    return rc;
  }
  lh_store_defer_sync(a->out, true);
  lh_store_no_sync(a->fence_store);
  *out = a;
  return 0;
}

void lh__archive_on_batch(lh__archive *a, int (*fn)(void *ctx, lh_error *err), void *ctx) {
  a->on_batch = fn;
  a->on_batch_ctx = ctx;
}

bool lh__archive_source_failed(const lh__archive *a) {
  return a->st.src_failed;
}

int lh__stager_new(lh__archive *a, lh__stager **out, lh_error *err) {
  lh__stager *st = calloc(1, sizeof *st);
  if (!st || !(st->buf = malloc(CHUNK))) {
    free(st);
    return lh_error_nomem(err);
  }
  st->a = a;
  *out = st;
  return 0;
}

void lh__stager_free(lh__stager *st) {
  if (!st)
    return;
  lh__magic_close(st->magic);
  free(st->buf);
  free(st);
}

/* Metadata not written: forgotten, temp files removed. */
static void free_pending(pending *pend, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(pend[i].key);
    free(pend[i].json);
    lh_writer_abort(pend[i].tmp);
  }
}

static void drop_pending(lh__archive *a) {
  free_pending(a->pend, a->npend);
  a->npend = 0;
}

static void release_lease(lh__archive *a) {
  lh_fence_release(a->lease);
  a->lease = NULL;
}

static void committer_stop(lh__archive *a);

void lh__archive_close(lh__archive *a) {
  if (!a)
    return;
  committer_stop(a); /* a batch handed over is committed first */
  drop_pending(a);
  free(a->pend);
  release_lease(a);
  lh_store_close(a->out);
  lh_store_close(a->fence_store);
  lh__magic_close(a->st.magic);
  free(a->st.buf);
  free(a);
}

/* ---- batches ------------------------------------------------------------------------------ */

static int take_lease(lh__archive *a, lh_error *err) {
  if (a->lease)
    return 0;
  int rc = lh_fence_shared(a->fence_store, &a->fo, &a->lease, err);
  if (rc)
    return lh_error_prefix(err, rc, "archive");
  a->lease_since = lh_time_now();
  a->leases++;
  return 0;
}

/* A batch's end after its on_batch hook: its blobs flushed to disk, its metadata written and
 * flushed, the tag; then its lease goes. A metadata file never reaches the disk before its
 * blob. Takes pend (freed, what is not committed dropped) and the lease. */
static int commit_batch(lh__archive *a, pending *pend, size_t npend, lh_fence *lease,
                        lh_error *err) {
  int rc = lh_store_sync(a->out, err);
  if (!rc && npend && lease && lh_fence_lost(lease))
    rc = lh_error_set(err, LH_ECONFLICT, "archive: the write fence was taken over while held");
  for (size_t i = 0; i < npend && !rc; i++) {
    pending *p = &pend[i];
    if (p->tmp) {
      rc = lh_writer_commit(p->tmp, err);
      p->tmp = NULL;
    } else {
      rc = lh_store_put(a->out, p->key, p->json, strlen(p->json), err);
    }
  }
  if (!rc && npend)
    rc = lh_store_sync(a->out, err);
  if (!rc && npend)
    rc = lh_tags_set(a->ds->tags, LH_TAG_ARCHIVE_UPDATED, lh_time_now(), err);
  free_pending(pend, npend); /* what was committed holds nothing any more */
  free(pend);
  lh_fence_release(lease);
  return rc;
}

static void *committer_main(void *arg) {
  lh__archive *a = arg;
  pthread_mutex_lock(&a->cmu);
  for (;;) {
    if (!a->job_due) {
      if (a->committer_stop)
        break;
      pthread_cond_wait(&a->ccv, &a->cmu);
      continue;
    }
    pending *pend = a->job_pend;
    size_t npend = a->job_npend;
    lh_fence *lease = a->job_lease;
    a->job_pend = NULL;
    a->job_lease = NULL;
    a->job_due = false;
    a->job_busy = true;
    pthread_mutex_unlock(&a->cmu);
    lh_error e = {0};
    int rc = commit_batch(a, pend, npend, lease, &e);
    pthread_mutex_lock(&a->cmu);
    a->job_busy = false;
    if (rc && !a->job_rc) {
      a->job_rc = rc;
      lh_error_copy(&a->job_err, &e);
    }
    pthread_cond_broadcast(&a->ccv);
  }
  pthread_mutex_unlock(&a->cmu);
  return NULL;
}

/* Wait until the committer is idle; the failure of a batch it committed, once. */
static int committer_wait(lh__archive *a, lh_error *err) {
  if (!a->committer_on)
    return 0;
  pthread_mutex_lock(&a->cmu);
  while (a->job_due || a->job_busy)
    pthread_cond_wait(&a->ccv, &a->cmu);
  int rc = a->job_rc;
  if (rc)
    lh_error_copy(err, &a->job_err);
  a->job_rc = 0;
  pthread_mutex_unlock(&a->cmu);
  return rc;
}

static bool committer_start(lh__archive *a) {
  if (a->committer_on)
    return true;
  if (!lh__thread_start(&a->committer, &a->cmu, &a->ccv, committer_main, a))
    return false; /* the session commits its batches itself */
  a->committer_on = true;
  return true;
}

static void committer_stop(lh__archive *a) {
  if (!a->committer_on)
    return;
  lh__thread_end(a->committer, &a->cmu, &a->ccv, &a->committer_stop);
  a->committer_on = false;
  if (a->job_rc)
    lh_log_warning("%s: archive: %s", a->ds->name, a->job_err.message);
}

/* End the batch: its on_batch hook (the crawl inserts its entities into the journal there),
 * then commit_batch, on the committer thread when `async` (the previous batch committed
 * first: batches are committed in order), else here once the committer is idle. A failure
 * of the batch before is returned here. */
static int end_batch_as(lh__archive *a, bool async, lh_error *err) {
  int rc = 0;
  if (a->npend && a->lease && lh_fence_lost(a->lease))
    rc = lh_error_set(err, LH_ECONFLICT, "archive: the write fence was taken over while held");
  if (!rc && a->npend && a->on_batch)
    rc = a->on_batch(a->on_batch_ctx, err);
  lh_error scratch = {0};
  int before = committer_wait(a, rc ? &scratch : err);
  rc = rc ? rc : before;
  if (rc) {
    drop_pending(a);
    release_lease(a);
    return rc;
  }
  pending *pend = a->pend;
  size_t npend = a->npend;
  lh_fence *lease = a->lease;
  a->pend = NULL;
  a->npend = a->pend_cap = 0;
  a->lease = NULL;
  if (!async || !committer_start(a))
    return commit_batch(a, pend, npend, lease, err);
  pthread_mutex_lock(&a->cmu);
  a->job_pend = pend;
  a->job_npend = npend;
  a->job_lease = lease;
  a->job_due = true;
  pthread_cond_broadcast(&a->ccv);
  pthread_mutex_unlock(&a->cmu);
  return 0;
}

static int end_batch(lh__archive *a, lh_error *err) {
  return end_batch_as(a, true, err);
}

int lh__archive_end_batch(lh__archive *a, lh_error *err) {
  return end_batch_as(a, true, err);
}

int lh__archive_finish(lh__archive *a, lh_error *err) {
  return end_batch_as(a, false, err);
}

bool lh__archive_in_batch(const lh__archive *a) {
  return a->lease != NULL;
}

static int batch_due(lh__archive *a, lh_error *err) {
  if (a->lease &&
      (lh_time_now() - a->lease_since >= LH_ARCHIVE_BATCH_US || a->npend >= LH_ARCHIVE_BATCH_FILES))
    return end_batch(a, err);
  return 0;
}

/* ---- reading a source --------------------------------------------------------------------- */

typedef struct src_in {
  const lh_archive_source *src;
  lh_reader *r;
  off_t off; /* of an fd source */
} src_in;

static int src_open(src_in *in, const lh_archive_source *src, lh_error *err) {
  memset(in, 0, sizeof *in);
  in->src = src;
  if (src->reader) {
    in->r = src->reader;
    return 0;
  }
  if (src->store)
    return lh_store_open_read(src->store, src->key, &in->r, err);
  if (src->fd >= 0)
    return 0;
  return lh_error_set(err, LH_EINVAL, "archive: no source (a reader, a descriptor or a key)");
}

static void src_close(src_in *in) {
  if (in->r && !in->src->reader)
    lh_reader_close(in->r);
}

/* Fill buf as far as the source goes (a short count only at the end). */
static int src_fill(src_in *in, unsigned char *buf, size_t cap, size_t *got, lh_error *err) {
  *got = 0;
  while (*got < cap) {
    size_t n = 0;
    if (in->r) {
      int rc = lh_reader_read(in->r, buf + *got, cap - *got, &n, err);
      if (rc)
        return rc;
    } else {
      ssize_t k = pread(in->src->fd, buf + *got, cap - *got, in->off);
      if (k < 0 && errno == EINTR)
        continue;
      if (k < 0)
        return lh_error_errno(err, errno, "read failed");
      n = (size_t)k;
      in->off += k;
    }
    if (n == 0)
      break;
    *got += n;
  }
  return 0;
}

static void detect_mime(lh__stager *st, const void *head, size_t n, const char *name,
                        char out[LH_MIME_SIZE]) {
  if (!st->magic && !st->magic_failed) {
    lh_error e = {0};
    if (lh__magic_open(&st->magic, &e)) {
      st->magic_failed = true;
      if (st->session)
        lh_log_warning("%s: MIME types guessed from file names only", e.message);
    }
  }
  char det[LH_MIME_SIZE];
  const char *d = n ? lh__magic_detect(st->magic, head, n, det) : NULL;
  const char *m = lh__mime_choose(d, name ? name : "", out);
  if (m != out)
    snprintf(out, LH_MIME_SIZE, "%s", m);
}

/* Read src from its start: SHA-256, size, the MIME type of the head (detect), and the bytes
 * into w when not NULL. Read failures mark the source as the culprit. */
static int read_pass(lh__stager *st, const lh_archive_source *src, lh_writer *w, bool detect,
                     const char *name, lh__content *c, lh_error *err) {
  memset(c, 0, sizeof *c);
  src_in in;
  int rc = src_open(&in, src, err);
  if (rc) {
    st->src_failed = true;
    return rc;
  }
  lh__archive *a = st->a;
  lh_hasher *h = NULL;
  rc = lh_hasher_new(LH_HASH_SHA256, &h, err);
  for (bool first = true; !rc; first = false) {
    size_t n;
    if ((rc = src_fill(&in, st->buf, CHUNK, &n, err)) != 0) {
      st->src_failed = true;
      break;
    }
    if (first && detect)
      detect_mime(st, st->buf, n, name, c->mimetype);
    if (n == 0)
      break;
    lh_hasher_update(h, st->buf, n);
    c->size += (int64_t)n;
    if (w && (rc = lh_writer_write(w, st->buf, n, err)) != 0)
      break;
    /* a large copy never runs inside a lease: gc and maintenance would wait for it */
    if (w && st->session && a->lease && c->size > LH_ARCHIVE_LEASE_COPY_MAX &&
        (rc = end_batch(a, err)) != 0)
      break;
  }
  if (!rc)
    lh_hasher_final_hex(h, c->checksum);
  lh_hasher_free(h);
  src_close(&in);
  return rc;
}

/* ---- publishing a blob -------------------------------------------------------------------- */

/* Copy src into a new blob (not published yet) and check that it is still c->checksum. */
static int copy_blob(lh__archive *a, const lh_archive_source *src, const char *blob,
                     const char *name, lh__content *c, lh_writer **out, lh_error *err) {
  *out = NULL;
  lh_writer *w;
  int rc = lh_store_open_write(a->out, blob, &w, err);
  if (rc)
    return rc;
  lh_writer_no_cache(w);
  lh__content got;
  rc = read_pass(&a->st, src, w, !c->mimetype[0], name, &got, err);
  if (!rc && strcmp(got.checksum, c->checksum) != 0) {
    a->st.src_failed = true;
    rc = lh_error_set(err, LH_ECONFLICT,
                      "'%s' changed while archiving: its SHA-256 is now %s, expected %s", name,
                      got.checksum, c->checksum);
  }
  if (rc) {
    lh_writer_abort(w);
    return rc;
  }
  c->size = got.size;
  if (!c->mimetype[0])
    memcpy(c->mimetype, got.mimetype, sizeof c->mimetype);
  *out = w;
  return 0;
}

static bool read_once(const lh_archive_source *src) {
  return src->reader && !src->store && src->fd < 0;
}

/* The blob of c->checksum exists when this returns 0, and stays while the lease is held:
 * copied if it was missing (outside the lease when large), published under the lease. */
static int publish_blob(lh__archive *a, const lh_archive_source *src, const char *name,
                        lh__content *c, lh_writer *staged, lh_error *err) {
  char *blob = lh_path_archive_blob(c->checksum, err);
  if (!blob) {
    lh_writer_abort(staged);
    return lh_error_code(err, LH_ENOMEM);
  }
  lh_store *s = a->ds->store;
  int rc = 0;
  for (int attempt = 0;; attempt++) {
    lh_writer *w = NULL;
    uint64_t looked_under = a->lease ? a->leases : 0; /* the lease the first look is under */
    int exists = lh_store_exists(s, blob, err);
    if (exists < 0) {
      rc = exists;
      break;
    }
    if (!exists && staged) { /* copied while hashing: only its name is missing */
      w = staged;
      staged = NULL;
    } else if (!exists) {
      /* a large copy never runs inside a lease: gc and maintenance would wait for it */
      if (a->lease && (c->size < 0 || c->size > LH_ARCHIVE_LEASE_COPY_MAX) &&
          (rc = end_batch(a, err)) != 0)
        break;
      if ((rc = copy_blob(a, src, blob, name, c, &w, err)) != 0)
        break;
    }
    if ((rc = take_lease(a, err)) != 0) {
      lh_writer_abort(w);
      break;
    }
    /* under the lease: gc cannot remove the blob from here to the end of the batch (the
     * first look counts when the lease was held already and still is) */
    if (looked_under != a->leases)
      exists = lh_store_exists(s, blob, err);
    if (exists < 0 || w) {
      if (exists != 0)
        lh_writer_abort(w); /* an error, or published meanwhile by someone else: same bytes */
      else                  /* a copy_blob writer was opened at the blob's key: the same rename */
        rc = lh_store_commits_as(a->out) ? lh_writer_commit_as(w, blob, err)
                                         : lh_writer_commit(w, err);
      rc = exists < 0 ? exists : rc;
      break;
    }
    if (exists)
      break;
    /* removed by a gc between the first look and the lease: copy it now (the source was not
     * read yet, so a reader source still can be) */
    if (attempt > 0) {
      rc = lh_error_set(err, LH_ECONFLICT, "the blob of %s disappeared while archiving '%s'",
                        c->checksum, name);
      break;
    }
  }
  lh_writer_abort(staged); /* the blob was there already */
  free(blob);
  return rc;
}

/* ---- the metadata of a stored file -------------------------------------------------------- */

static int compact_extra(const char *extra, char **out, lh_error *err) {
  *out = NULL;
  if (!extra || !*extra)
    return (*out = strdup("{}")) ? 0 : lh_error_nomem(err);
  json_error_t jerr;
  json_t *o = json_loads(extra, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(o)) {
    json_decref(o);
    return lh_error_set(err, LH_EINVAL, "archive: extra metadata must be a JSON object%s%s",
                        o ? "" : ": ", o ? "" : jerr.text);
  }
  *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return *out ? 0 : lh_error_nomem(err);
}

/* Times: the caller's, else the store source's; each falls back to the other. */
static void file_times(const lh_archive_source *src, const lh_archive_store_opts *o, lh_file *f) {
  f->created_at = o->created_at && o->created_at != LH_TIME_NULL ? o->created_at : LH_TIME_NULL;
  f->updated_at = o->updated_at && o->updated_at != LH_TIME_NULL ? o->updated_at : LH_TIME_NULL;
  lh_store_info info;
  if (f->created_at == LH_TIME_NULL && f->updated_at == LH_TIME_NULL && src->store &&
      lh_store_stat(src->store, src->key, &info, NULL) == 0) {
    f->created_at = info.created;
    f->updated_at = info.mtime;
  }
  if (f->created_at == LH_TIME_NULL)
    f->created_at = f->updated_at;
  if (f->updated_at == LH_TIME_NULL)
    f->updated_at = f->created_at;
}

/* The MIME type of a blob that was not read here: from its head. */
static int blob_mime(lh__archive *a, const char *checksum, const char *name, char *out,
                     lh_error *err) {
  lh_reader *r;
  int rc = lh_archive_open(a->ds, checksum, &r, err);
  if (rc)
    return rc;
  src_in in = {NULL, r, 0};
  lh_archive_source s = lh_archive_source_reader(r);
  in.src = &s;
  size_t n;
  rc = src_fill(&in, a->st.buf, CHUNK, &n, err);
  lh_reader_close(r);
  if (!rc)
    detect_mime(&a->st, a->st.buf, n, name, out);
  return rc;
}

static int make_file(lh__archive *a, const lh_archive_source *src, const lh_archive_store_opts *o,
                     lh__content *c, lh_file **out, lh_error *err) {
  *out = NULL;
  lh_file *f;
  int rc = lh_file_new(o->key, c->checksum, &f, err);
  if (rc)
    return rc;
  if (!c->mimetype[0]) /* neither given nor seen while reading */
    rc = blob_mime(a, c->checksum, f->name, c->mimetype, err);
  free(f->mimetype);
  free(f->dataset);
  free(f->origin);
  free(f->extra);
  f->extra = NULL;
  f->mimetype = strdup(c->mimetype);
  f->dataset = strdup(a->ds->name);
  f->origin = strdup(o->origin ? o->origin : LH_ORIGIN_ARCHIVE);
  if (!rc && (!f->mimetype || !f->dataset || !f->origin))
    rc = lh_error_nomem(err);
  rc = rc ? rc : compact_extra(o->extra, &f->extra, err);
  f->size = c->size;
  file_times(src, o, f);
  if (rc) {
    lh_file_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* The metadata of f, to be written at the end of the batch: tmp, its JSON written already
 * (taken over), or the JSON made here. */
static int queue_metadata(lh__archive *a, const lh_file *f, lh_writer *tmp, lh_error *err) {
  char *key = lh_path_archive_meta(f->checksum, f->id, err); /* both checked before */
  lh_buf json = LH_BUF_INIT;
  if (!key || (!tmp && lh_file_write_json(f, &json)) ||
      LH_ARRAY_RESERVE(a->pend, a->pend_cap, a->npend + 1, 64)) {
    free(key);
    lh_buf_free(&json);
    lh_writer_abort(tmp);
    return key ? lh_error_nomem(err) : lh_error_code(err, LH_ENOMEM);
  }
  a->pend[a->npend].key = key;
  a->pend[a->npend].tmp = tmp;
  a->pend[a->npend++].json = tmp ? NULL : lh_buf_steal(&json);
  return 0;
}

/* A worker's metadata of a staged file: f as lh__archive_add makes it, its JSON in a temp
 * file beside the blob (made by lh_writer_prepare_as). */
static int stage_metadata(lh__stager *st, const lh_archive_source *src,
                          const lh_archive_store_opts *o, lh__staged *sf, lh_error *err) {
  int rc = make_file(st->a, src, o, &sf->content, &sf->file, err);
  char *key = rc ? NULL : lh_path_archive_meta(sf->file->checksum, sf->file->id, err);
  lh_buf json = LH_BUF_INIT;
  if (!rc && (!key || lh_file_write_json(sf->file, &json)))
    rc = key ? lh_error_nomem(err) : lh_error_code(err, LH_ENOMEM);
  rc = rc ? rc : lh_store_open_write(st->a->out, key, &sf->meta, err);
  rc = rc ? rc : lh_writer_write(sf->meta, json.data, json.len, err);
  rc = rc ? rc : lh_writer_finish(sf->meta, err); /* waits for its batch without a descriptor */
  lh_buf_free(&json);
  free(key);
  return rc;
}

void lh__staged_drop(lh__staged *sf) {
  lh_writer_abort(sf->blob);
  lh_writer_abort(sf->meta);
  lh_file_free(sf->file);
  sf->blob = sf->meta = NULL;
  sf->file = NULL;
}

static int check_opts(const lh_archive_store_opts *o, bool blob_only, lh_error *err) {
  int rc = 0;
  if (!blob_only && (!o->key || !*o->key))
    return lh_error_set(err, LH_EINVAL, "archive: a file needs a key (its path or name)");
  if (!blob_only && (rc = lh_store_validate_key(o->key, err)) != 0)
    return lh_error_prefix(err, rc, "archive");
  if (o->checksum && (rc = lh_validate_checksum(o->checksum, err)) != 0)
    return rc;
  if (o->origin && (rc = lh_validate_origin(o->origin, err)) != 0)
    return rc;
  char *extra = NULL;
  if (!blob_only && (rc = compact_extra(o->extra, &extra, err)) != 0)
    return rc;
  free(extra);
  return 0;
}

/* A source that fits the buffer, read whole (*whole): hashed, typed and written into a temp
 * file in its blob's folder, so that publishing it is a rename within one folder (a rename
 * across folders is serialised filesystem-wide). A larger one is left to be read again. */
static int stage_small(lh__stager *st, const lh_archive_source *src, const char *name,
                       lh__staged *out, bool *whole, lh_error *err) {
  *whole = false;
  src_in in;
  int rc = src_open(&in, src, err);
  size_t n = 0;
  rc = rc ? rc : src_fill(&in, st->buf, CHUNK, &n, err);
  src_close(&in);
  if (rc) {
    st->src_failed = true;
    return rc;
  }
  if (n == CHUNK)
    return 0;
  *whole = true;
  lh__content *c = &out->content;
  detect_mime(st, st->buf, n, name, c->mimetype);
  c->size = (int64_t)n;
  lh_hasher *h = NULL;
  if ((rc = lh_hasher_new(LH_HASH_SHA256, &h, err)) != 0)
    return rc;
  lh_hasher_update(h, st->buf, n);
  lh_hasher_final_hex(h, c->checksum);
  lh_hasher_free(h);
  if (n == 0) /* nothing to copy */
    return 0;
  char *blob = lh_path_archive_blob(c->checksum, err);
  rc =
      blob ? lh_store_open_write(st->a->out, blob, &out->blob, err) : lh_error_code(err, LH_ENOMEM);
  if (!rc)
    lh_writer_no_cache(out->blob);
  rc = rc ? rc : lh_writer_write(out->blob, st->buf, n, err);
  rc = rc ? rc : lh_writer_finish(out->blob, err);
  free(blob);
  return rc;
}

int lh__stager_stage(lh__stager *st, const lh_archive_source *src, const lh_archive_store_opts *o,
                     bool copy, lh__staged *out, lh_error *err) {
  st->src_failed = false;
  memset(out, 0, sizeof *out);
  lh_store *store = st->a->out;
  const char *name = o->key ? o->key : src->key ? src->key : "blob";
  int rc = check_opts(o, false, err);
  bool whole = false;
  if (!rc && copy && lh_store_commits_as(store) && !read_once(src))
    rc = stage_small(st, src, name, out, &whole, err);
  if (whole) { /* read into the buffer, written into a temp file beside its blob */
    if (!rc && out->content.size > 0)
      rc = stage_metadata(st, src, o, out, err);
    if (rc)
      lh__staged_drop(out);
    return rc;
  }
  /* the temp file sits in archive/ until its checksum names its place */
  if (!rc && copy && lh_store_commits_as(store))
    rc = lh_store_open_write(store, LH_PATH_ARCHIVE "/blob", &out->blob, err);
  if (!rc && out->blob)
    lh_writer_no_cache(out->blob);
  rc = rc ? rc : read_pass(st, src, out->blob, true, name, &out->content, err);
  if (!rc && out->blob)
    rc = lh_writer_finish(out->blob, err);
  if (!rc && out->blob && out->content.size > 0) {
    /* the blob's folder and the metadata, made here rather than on the session's thread */
    char *blob = lh_path_archive_blob(out->content.checksum, err);
    rc = blob ? lh_writer_prepare_as(out->blob, blob, err) : lh_error_code(err, LH_ENOMEM);
    free(blob);
    rc = rc ? rc : stage_metadata(st, src, o, out, err);
  }
  if (rc)
    lh__staged_drop(out);
  return rc;
}

bool lh__stager_source_failed(const lh__stager *st) {
  return st->src_failed;
}

int lh__archive_stage(lh__archive *a, const lh_archive_source *src, const lh_archive_store_opts *o,
                      bool copy, lh__staged *out, lh_error *err) {
  return lh__stager_stage(&a->st, src, o, copy, out, err);
}

int lh__archive_add(lh__archive *a, const lh_archive_source *src, const lh_archive_store_opts *o,
                    lh__staged *sf, bool blob_only, lh_file **out, lh_error *err) {
  a->st.src_failed = false;
  if (out)
    *out = NULL;
  const char *name = o->key ? o->key : src->key ? src->key : "blob";
  int rc = check_opts(o, blob_only, err);
  rc = rc ? rc : batch_due(a, err);
  lh__staged none = {{{0}, -1, {0}}, NULL, NULL, NULL};
  if (!sf || rc || blob_only) { /* what was staged goes with the file it was staged for */
    if (sf)
      lh__staged_drop(sf);
    sf = &none;
  }
  if (rc)
    return rc;
  lh__content c = {{0}, -1, {0}};
  if (sf != &none) {
    c = sf->content;
  } else if (o->checksum) {
    memcpy(c.checksum, o->checksum, sizeof c.checksum);
  } else if (read_once(src)) {
    return lh_error_set(err, LH_EINVAL, "archive: '%s': a reader is read once: give the checksum",
                        name);
  } else if ((rc = read_pass(&a->st, src, NULL, !blob_only && !o->mimetype, name, &c, err)) != 0) {
    return lh_error_prefix(err, rc, "'%s'", name);
  }
  char mbuf[LH_MIME_SIZE];
  if (blob_only || o->mimetype) /* nothing to detect while copying */
    snprintf(c.mimetype, sizeof c.mimetype, "%s",
             blob_only ? LH_MIME_DEFAULT : lh_mime_normalize(o->mimetype, mbuf));
  lh_writer *blob_tmp = sf->blob;
  sf->blob = NULL;
  if ((rc = publish_blob(a, src, name, &c, blob_tmp, err)) != 0) {
    lh__staged_drop(sf);
    return a->st.src_failed ? lh_error_prefix(err, rc, "'%s'", name) : rc;
  }
  if (c.size < 0) { /* not copied here: the blob's */
    char *blob = lh_path_archive_blob(c.checksum, err);
    lh_store_info info;
    rc = blob ? lh_store_stat(a->ds->store, blob, &info, err) : LH_ENOMEM;
    c.size = rc ? -1 : info.size;
    free(blob);
    if (rc)
      return lh_error_ensure(err, rc);
  }
  lh_file *f = NULL;
  if (blob_only) {
    rc = lh_file_new(c.checksum, c.checksum, &f, err); /* only to hand out checksum and size */
  } else if (sf->file && sf->meta) {                   /* made by the stager */
    f = sf->file;
    sf->file = NULL;
    rc = queue_metadata(a, f, sf->meta, err);
    sf->meta = NULL;
  } else {
    rc = make_file(a, src, o, &c, &f, err);
    rc = rc ? rc : queue_metadata(a, f, NULL, err);
  }
  lh__staged_drop(sf);
  if (!rc)
    f->size = c.size;
  if (!rc && out)
    *out = f;
  else
    lh_file_free(f);
  return rc;
}

/* ---- public: storing ---------------------------------------------------------------------- */

static int store_once(lh_dataset *ds, const lh_archive_source *src, const lh_archive_store_opts *o,
                      bool blob_only, lh_file **out, lh_error *err) {
  lh__archive *a;
  int rc = lh__archive_open(ds, &a, err);
  if (rc)
    return rc;
  rc = lh__archive_add(a, src, o, NULL, blob_only, out, err);
  int end = lh__archive_finish(a, rc ? NULL : err);
  lh__archive_close(a);
  if (!rc && end && out) {
    lh_file_free(*out);
    *out = NULL;
  }
  return rc ? rc : end;
}

int lh_archive_put_blob(lh_dataset *ds, const lh_archive_source *src, const char *checksum,
                        char out[LH_SHA256_HEX_SIZE], int64_t *size, lh_error *err) {
  lh_archive_store_opts o = {.checksum = checksum};
  lh_file *f = NULL;
  int rc = store_once(ds, src, &o, true, &f, err);
  if (!rc && out)
    memcpy(out, f->checksum, LH_SHA256_HEX_SIZE);
  if (!rc && size)
    *size = f->size;
  lh_file_free(f);
  return rc;
}

int lh_archive_store(lh_dataset *ds, const lh_archive_source *src,
                     const lh_archive_store_opts *opts, lh_file **out, lh_error *err) {
  int rc = store_once(ds, src, opts, false, out, err);
  if (!rc)
    lh_log_info("%s: archived '%s'", ds->name, opts->key);
  return rc;
}

int lh_archive_put_file(lh_dataset *ds, const lh_file *f, lh_error *err) {
  char *meta = lh_path_archive_meta(f->checksum, f->id, err);
  char *blob = meta ? lh_path_archive_blob(f->checksum, err) : NULL;
  lh_file copy = *f;
  copy.dataset = ds->name;
  lh_buf json = LH_BUF_INIT;
  int rc = !blob ? lh_error_code(err, LH_EINVAL) : lh_file_write_json(&copy, &json);
  if (rc == LH_ENOMEM)
    lh_error_nomem(err);
  lh_fence *lease = NULL;
  if (!rc) {
    lh_fence_opts fo;
    lh_fence_opts_from_settings(&fo, ds->settings, "archive");
    rc = lh_fence_shared(ds->store, &fo, &lease, err);
  }
  int exists = rc ? 0 : lh_store_exists(ds->store, blob, err);
  if (!rc && exists <= 0)
    rc = exists < 0 ? exists
                    : lh_error_set(err, LH_ENOTFOUND, "no blob for checksum %s", f->checksum);
  rc = rc ? rc : lh_store_put(ds->store, meta, json.data, json.len, err);
  rc = rc ? rc : lh_tags_set(ds->tags, LH_TAG_ARCHIVE_UPDATED, lh_time_now(), err);
  lh_fence_release(lease);
  lh_buf_free(&json);
  free(blob);
  free(meta);
  return rc;
}

int lh_archive_put_text(lh_dataset *ds, const char *checksum, const char *origin, const char *text,
                        size_t len, lh_error *err) {
  char *key = lh_path_archive_txt(checksum, origin ? origin : LH_ORIGIN_DEFAULT, err);
  if (!key)
    return lh_error_code(err, LH_ENOMEM);
  int rc = lh_store_put(ds->store, key, text, len, err);
  free(key);
  return rc;
}

/* ---- public: reading ---------------------------------------------------------------------- */

static int read_file_key(lh_dataset *ds, const char *key, lh_file **out, lh_error *err) {
  lh_buf b = LH_BUF_INIT;
  lh_buf_init(&b, LH_FILE_JSON_MAX);
  int rc = lh_store_get(ds->store, key, &b, err);
  if (rc == LH_ELIMIT)
    rc = lh_error_set(err, LH_ELIMIT, "%s: larger than %zu bytes", key, LH_FILE_JSON_MAX);
  else if (!rc && (rc = lh_file_parse_json(b.data ? b.data : "", b.len, out, err)) != 0)
    rc = lh_error_prefix(err, rc, "%s", key);
  lh_buf_free(&b);
  return rc;
}

typedef struct first_ctx {
  char *key;
} first_ctx;

static int take_first(const char *key, void *ctx) {
  first_ctx *f = ctx;
  f->key = strdup(key);
  return f->key ? 1 : LH_ENOMEM; /* 1 stops the walk */
}

/* The first key under the checksum's folder matching "*{suffix}"; NULL when none. */
static int first_key(lh_dataset *ds, const char *checksum, const char *suffix, char **out,
                     lh_error *err) {
  *out = NULL;
  char *prefix = lh_path_archive_prefix(checksum, err);
  if (!prefix)
    return lh_error_code(err, LH_ENOMEM);
  char *glob = NULL;
  first_ctx f = {NULL};
  int rc = asprintf(&glob, "%s/*%s", prefix, suffix) < 0
               ? LH_ENOMEM
               : lh_store_iterate(ds->store, prefix, glob, take_first, &f, err);
  free(glob);
  free(prefix);
  if (rc < 0) {
    free(f.key);
    return lh_error_ensure(err, rc);
  }
  *out = f.key;
  return 0;
}

int lh_archive_get_file(lh_dataset *ds, const char *checksum, const char *file_id, lh_file **out,
                        lh_error *err) {
  *out = NULL;
  char *key = NULL;
  int rc = 0;
  if (file_id) {
    if (!(key = lh_path_archive_meta(checksum, file_id, err)))
      return lh_error_code(err, LH_ENOMEM);
  } else if ((rc = first_key(ds, checksum, ".json", &key, err)) != 0) {
    return rc;
  }
  if (!key)
    return lh_error_set(err, LH_ENOTFOUND, "no archived file with checksum %s", checksum);
  rc = read_file_key(ds, key, out, err);
  free(key);
  return rc;
}

typedef struct files_ctx {
  lh_dataset *ds;
  lh_file_fn fn;
  void *ctx;
  lh_error *err;
} files_ctx;

static int visit_file(const char *key, void *ctx) {
  files_ctx *c = ctx;
  lh_file *f;
  int rc = read_file_key(c->ds, key, &f, c->err);
  if (rc)
    return rc;
  rc = c->fn(c->ctx, f, c->err);
  lh_file_free(f);
  return rc < 0 ? lh_error_ensure(c->err, rc) : rc;
}

int lh_archive_files(lh_dataset *ds, const char *checksum, lh_file_fn fn, void *ctx,
                     lh_error *err) {
  char *prefix = checksum ? lh_path_archive_prefix(checksum, err) : strdup(LH_PATH_ARCHIVE);
  if (!prefix)
    return checksum ? lh_error_code(err, LH_ENOMEM) : lh_error_nomem(err);
  char *glob = NULL;
  files_ctx c = {ds, fn, ctx, err};
  /* the layout's depth only: archive/ab/cd/ef/{checksum}/{file_id}.json */
  int rc = asprintf(&glob, "%s/%s*.json", prefix, checksum ? "" : "*/*/*/*/") < 0
               ? lh_error_nomem(err)
               : lh_store_iterate(ds->store, prefix, glob, visit_file, &c, err);
  free(glob);
  free(prefix);
  return rc;
}

int lh_archive_exists(lh_dataset *ds, const char *checksum, bool *exists, lh_error *err) {
  *exists = false;
  char *blob = lh_path_archive_blob(checksum, err);
  if (!blob)
    return lh_error_code(err, LH_ENOMEM);
  int rc = lh_store_exists(ds->store, blob, err);
  free(blob);
  if (rc < 0)
    return rc;
  *exists = rc == 1;
  return 0;
}

int lh_archive_open(lh_dataset *ds, const char *checksum, lh_reader **out, lh_error *err) {
  *out = NULL;
  char *blob = lh_path_archive_blob(checksum, err);
  if (!blob)
    return lh_error_code(err, LH_ENOMEM);
  int rc = lh_store_open_read(ds->store, blob, out, err);
  if (rc == LH_ENOTFOUND)
    lh_error_set(err, rc, "no blob for checksum %s in dataset %s", checksum, ds->name);
  free(blob);
  return rc;
}

int lh_archive_stream(lh_dataset *ds, const char *checksum, lh_bytes_fn fn, void *ctx,
                      lh_error *err) {
  lh_reader *r;
  int rc = lh_archive_open(ds, checksum, &r, err);
  if (rc)
    return rc;
  size_t cap = (size_t)1 << 16;
  char *chunk = malloc(cap);
  if (!chunk)
    rc = lh_error_nomem(err);
  while (!rc) {
    size_t got;
    if ((rc = lh_reader_read(r, chunk, cap, &got, err)) != 0 || got == 0)
      break;
    if ((rc = fn(ctx, chunk, got, err)) < 0)
      lh_error_ensure(err, rc);
  }
  free(chunk);
  lh_reader_close(r);
  return rc;
}

int lh_archive_get_text(lh_dataset *ds, const char *checksum, const char *origin, lh_buf *out,
                        lh_error *err) {
  char *key = NULL;
  int rc = 0;
  if (origin) {
    if (!(key = lh_path_archive_txt(checksum, origin, err)))
      return lh_error_code(err, LH_ENOMEM);
  } else if ((rc = first_key(ds, checksum, ".txt", &key, err)) != 0) {
    return rc;
  }
  rc = key ? lh_store_get(ds->store, key, out, err) : LH_ENOTFOUND;
  if (rc == LH_ENOTFOUND)
    lh_error_set(err, rc, "no text%s%s for checksum %s", origin ? " of origin " : "",
                 origin ? origin : "", checksum);
  free(key);
  return rc;
}

/* ---- public: deleting --------------------------------------------------------------------- */

int lh_archive_delete(lh_dataset *ds, const char *checksum, const char *file_id, lh_error *err) {
  char *key = lh_path_archive_meta(checksum, file_id, err);
  if (!key)
    return lh_error_code(err, LH_ENOMEM);
  int rc = lh_store_delete(ds->store, key, err);
  if (rc == 0)
    lh_log_info("%s: deleted the metadata %s of %s", ds->name, file_id, checksum);
  free(key);
  return rc;
}

/* ---- skip-path ---------------------------------------------------------------------------- */

typedef struct key_ctx {
  const char *key;
  bool found;
} key_ctx;

static int match_key(void *ctx, const lh_file *f, lh_error *err) {
  (void)err;
  key_ctx *k = ctx;
  if (strcmp(f->key, k->key) == 0) {
    k->found = true;
    return 1; /* found: stop */
  }
  return 0;
}

int lh__archive_has_key(lh_dataset *ds, const char *checksum, const char *key, bool *found,
                        lh_error *err) {
  *found = false;
  char id[LH_FILE_ID_SIZE];
  int rc = lh_file_id(key, checksum, id, err);
  char *meta = rc ? NULL : lh_path_archive_meta(checksum, id, err);
  if (!meta)
    return lh_error_code(err, LH_ENOMEM);
  rc = lh_store_exists(ds->store, meta, err);
  free(meta);
  if (rc != 0) { /* ours, by its id */
    *found = rc == 1;
    return rc < 0 ? rc : 0;
  }
  /* metadata written by others (the Python project derives crawl ids from base names) */
  key_ctx k = {key, false};
  rc = lh_archive_files(ds, checksum, match_key, &k, err);
  *found = k.found;
  return rc == 1 ? 0 : rc;
}
