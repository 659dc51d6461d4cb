/* The journal, backend independent: opening by URI, row checks, segment names, and the
 * flush of inventory §7.4 (lock, rotate, drain segments in name order, drop each only
 * after its rows were stored). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/crashpoint.h"
#include "core/thread.h"
#include "core/uri.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "storage/journal/journal_internal.h"

/* ---- open ----------------------------------------------------------------------------- */

/* Which table holds which dataset's rows: a journal database may be shared by several lakes
 * (LAKEHOUSE_JOURNAL_URI), and a flush must take its own rows only. */
#define REGISTRY "lakehouse_journals"

static int registry_name(lh_journal *j, const char *dataset_uri, char **name, lh_error *err) {
  const char *p[1] = {dataset_uri};
  return j->ops->sql(j, "SELECT name FROM " REGISTRY " WHERE dataset_uri = ?", 1, p, name, err);
}

static int registry_claim(lh_journal *j, const char *name, const char *dataset_uri, lh_error *err) {
  char now[LH_ISO_SIZE];
  lh_time_format_iso(lh_time_now(), now);
  const char *p[4] = {name, j->dataset, dataset_uri, now};
  return j->ops->sql(j,
                     "INSERT INTO " REGISTRY " (name, dataset, dataset_uri, claimed_at) "
                     "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                     4, p, NULL, err);
}

/* A local dataset folder that no longer exists: its lake moved (or was deleted). */
static bool gone_local(const char *uri) {
  char *path = lh__uri_local_path(uri, NULL);
  if (!path)
    return false;
  struct stat st;
  bool gone = stat(path, &st) != 0 && errno == ENOENT;
  free(path);
  return gone;
}

/* Settle j->table for the dataset at dataset_uri: the table registered for it; else
 * journal_{dataset} when nobody holds that name (or its holder's folder is gone: the lake
 * moved); else journal_{dataset}-{first 8 hex of sha1(dataset_uri)}. */
static int resolve_table(lh_journal *j, const char *dataset_uri, lh_error *err) {
  int rc = j->ops->sql(j,
                       "CREATE TABLE IF NOT EXISTS " REGISTRY " (name TEXT PRIMARY KEY, dataset "
                       "TEXT NOT NULL, dataset_uri TEXT NOT NULL UNIQUE, claimed_at TEXT NOT NULL)",
                       0, NULL, NULL, err);
  char *name = NULL, *owner = NULL;
  for (int attempt = 0; !rc && !name && attempt < 3; attempt++) {
    if ((rc = registry_name(j, dataset_uri, &name, err)) != 0 || name)
      break;
    const char *p[1] = {j->table};
    if ((rc = j->ops->sql(j, "SELECT dataset_uri FROM " REGISTRY " WHERE name = ?", 1, p, &owner,
                          err)) != 0)
      break;
    if (!owner) {
      rc = registry_claim(j, j->table, dataset_uri, err);
    } else if (gone_local(owner)) {
      const char *q[3] = {dataset_uri, j->table, owner};
      rc = j->ops->sql(j,
                       "UPDATE " REGISTRY " SET dataset_uri = ? WHERE name = ? AND dataset_uri = ?",
                       3, q, NULL, err);
      if (!rc)
        lh_log_warning("journal: %s belonged to %s, which no longer exists; %s takes it over (the "
                       "lake moved?)",
                       j->table, owner, dataset_uri);
    } else {
      char hex[LH_SHA1_HEX_SIZE];
      lh_sha1_hex(dataset_uri, strlen(dataset_uri), hex);
      char own[LH_SAFE_NAME_MAX + 32];
      snprintf(own, sizeof own, "%s-%.8s", j->table, hex);
      rc = registry_claim(j, own, dataset_uri, err);
    }
    free(owner);
    owner = NULL;
  }
  if (!rc && !name)
    rc = lh_error_set(err, LH_ECONFLICT, "journal: cannot register a table for %s", dataset_uri);
  if (!rc) {
    free(j->table);
    j->table = name;
    name = NULL;
  }
  free(name);
  return rc ? lh_error_prefix(err, rc, "journal") : 0;
}

int lh_journal_open(const char *uri, const char *dataset, const char *dataset_uri, lh_journal **out,
                    lh_error *err) {
  *out = NULL;
  if (!uri || !*uri)
    return lh_error_set(err, LH_EINVAL, "journal: no journal URI (set LAKEHOUSE_JOURNAL_URI)");
  int rc = lh_validate_dataset_name(dataset, err);
  if (rc)
    return rc;
  lh_journal *j = calloc(1, sizeof *j);
  lh_buf t = LH_BUF_INIT;
  if (!j || lh_buf_printf(&t, "journal_%s", dataset) || !(j->dataset = strdup(dataset))) {
    free(j);
    lh_buf_free(&t);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  j->table = lh_buf_steal(&t);
  bool memory = false;
  const lh__journal_backend *backend = lh__journal_backend_for(uri);
  if (backend)
    rc = backend->open(j, uri, &memory, err);
  else
    rc = lh_error_set(err, LH_EUNSUPPORTED,
                      "journal URI '%s': unsupported scheme (use sqlite:///PATH or "
                      "postgresql://...)",
                      uri);
  /* a private in-memory database holds one lake's rows only */
  if (!rc && dataset_uri && !memory)
    rc = resolve_table(j, dataset_uri, err);
  if (!rc)
    rc = j->ops->create(j, err);
  if (rc) {
    if (j->ops)
      j->ops->close(j);
    free(j->table);
    free(j->dataset);
    free(j);
    return rc;
  }
  *out = j;
  return 0;
}

void lh_journal_close(lh_journal *j) {
  if (!j)
    return;
  if (j->ops)
    j->ops->close(j);
  free(j->table);
  free(j->dataset);
  free(j);
}

const char *lh_journal_backend(const lh_journal *j) {
  return j->ops->name;
}
const char *lh_journal_table(const lh_journal *j) {
  return j->table;
}

/* ---- writes and counts ------------------------------------------------------------------ */

int lh_journal_bulk(lh_journal *j, bool on, lh_error *err) {
  return j->ops->bulk ? j->ops->bulk(j, on, err) : 0;
}

int lh_journal_insert(lh_journal *j, const lh_row *rows, size_t n, lh_error *err) {
  const char *last_origin = NULL;
  for (size_t i = 0; i < n; i++) {
    int rc = lh_row_check_required(&rows[i], err);
    if (!rc && (!last_origin || strcmp(last_origin, rows[i].origin) != 0)) {
      rc = lh_validate_origin(rows[i].origin, err);
      last_origin = rows[i].origin;
    }
    if (rc)
      return lh_error_prefix(err, rc, "journal: row %zu of the batch", i + 1);
  }
  return n ? j->ops->insert(j, rows, n, err) : 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

int lh_journal_segments(lh_journal *j, char ***names, size_t *n, lh_error *err) {
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s-seg-", j->table);
  int rc = j->ops->tables(j, prefix, names, n, err);
  if (!rc && *n > 1)
    qsort(*names, *n, sizeof **names, cmp_names);
  return rc;
}

int lh_journal_count(lh_journal *j, uint64_t *n, lh_error *err) {
  char **segs = NULL;
  size_t nsegs = 0;
  int rc = j->ops->count(j, j->table, n, err);
  if (!rc)
    rc = lh_journal_segments(j, &segs, &nsegs, err);
  for (size_t i = 0; !rc && i < nsegs; i++) {
    uint64_t c = 0;
    rc = j->ops->count(j, segs[i], &c, err);
    *n += c;
  }
  free_names(segs, nsegs);
  return rc;
}

int lh_journal_clear(lh_journal *j, uint64_t *n, lh_error *err) {
  char **segs = NULL;
  size_t nsegs = 0;
  int rc = lh_journal_count(j, n, err);
  if (!rc)
    rc = lh_journal_segments(j, &segs, &nsegs, err);
  if (!rc)
    rc = j->ops->clear(j, segs, nsegs, err);
  free_names(segs, nsegs);
  return rc;
}

int lh_journal_iterate_entity(lh_journal *j, const char *entity_id, lh_row_fn fn, void *ctx,
                              lh_error *err) {
  char **segs = NULL;
  size_t nsegs = 0;
  int rc = lh_journal_segments(j, &segs, &nsegs, err);
  /* the live table last: its rows are the newest */
  for (size_t i = 0; !rc && i <= nsegs; i++) {
    lh__journal_scan *s = NULL;
    rc = j->ops->scan(j, i < nsegs ? segs[i] : j->table, entity_id, false, &s, err);
    while (!rc) {
      const lh_row *rows;
      size_t n;
      rc = j->ops->scan_next(s, &rows, &n, err);
      if (rc || n == 0)
        break;
      for (size_t k = 0; !rc && k < n; k++)
        rc = fn(ctx, &rows[k], err);
    }
    if (s)
      j->ops->scan_close(s);
  }
  free_names(segs, nsegs);
  return rc;
}

/* ---- flush ------------------------------------------------------------------------------ */

static int make_segment_name(lh_journal *j, char *out, size_t cap, lh_error *err) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
  unsigned char rnd[2];
  if (lh_random_bytes(rnd, sizeof rnd))
    return lh_error_set(err, LH_EIO, "journal: no random bytes for a segment name");
  snprintf(out, cap, "%s-seg-%s%02x%02x", j->table, stamp, rnd[0], rnd[1]);
  return 0;
}

/* A segment's rows, read one batch ahead by a thread of their own while the caller (the
 * statement store's append) takes the previous batch. */
typedef struct drain_source {
  lh_journal *j;
  lh__journal_scan *scan;
  uint64_t rows;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool want, ready, stop; /* the reader is asked for / has the next batch / must end */
  const lh_row *next_rows;
  size_t next_n;
  int rc;
  lh_error err;
} drain_source;

static void *reader_main(void *arg) {
  drain_source *d = arg;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    while (!d->want && !d->stop)
      pthread_cond_wait(&d->cv, &d->mu);
    if (d->stop)
      break;
    d->want = false;
    pthread_mutex_unlock(&d->mu);
    const lh_row *rows = NULL;
    size_t n = 0;
    lh_error err = {0};
    int rc = d->j->ops->scan_next(d->scan, &rows, &n, &err);
    pthread_mutex_lock(&d->mu);
    d->next_rows = rows;
    d->next_n = n;
    d->rc = rc;
    d->err = err;
    d->ready = true;
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

static int drain_next(void *ctx, const lh_row **rows, size_t *n, lh_error *err) {
  drain_source *d = ctx;
  pthread_mutex_lock(&d->mu);
  while (!d->ready)
    pthread_cond_wait(&d->cv, &d->mu);
  d->ready = false;
  int rc = d->rc;
  if (rc) {
    lh_error_copy(err, &d->err);
  } else {
    *rows = d->next_rows;
    *n = d->next_n;
    d->rows += *n;
    d->want = *n > 0; /* read ahead while these are taken */
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return rc;
}

static int drain_start(drain_source *d, lh_error *err) {
  d->want = true;
  if (lh__thread_start(&d->thread, &d->mu, &d->cv, reader_main, d))
    return 0;
  return lh_error_set(err, LH_EIO, "journal: cannot start the reader thread");
}

/* Stop the reader (a read in progress runs to its end). */
static void drain_stop(drain_source *d) {
  lh__thread_end(d->thread, &d->mu, &d->cv, &d->stop);
}

int lh_journal_flush(lh_journal *j, bool ordered, lh_journal_drain_fn drain, void *ctx,
                     lh_journal_flush_result *res, lh_error *err) {
  memset(res, 0, sizeof *res);
  bool locked = false;
  int rc = j->ops->lock(j, &locked, err);
  if (rc)
    return rc;
  if (!locked) {
    lh_log_warning("journal %s: another flush is running, skipping", j->table);
    res->busy = true;
    return 0;
  }
  bool has_rows = false;
  rc = j->ops->has_rows(j, j->table, &has_rows, err);
  if (!rc && has_rows) {
    char seg[160];
    rc = make_segment_name(j, seg, sizeof seg, err);
    if (!rc)
      rc = j->ops->rotate(j, seg, err);
  }
  char **segs = NULL;
  size_t nsegs = 0;
  if (!rc)
    rc = lh_journal_segments(j, &segs, &nsegs, err);
  for (size_t i = 0; !rc && i < nsegs; i++) {
    drain_source d;
    memset(&d, 0, sizeof d);
    d.j = j;
    rc = j->ops->scan(j, segs[i], NULL, ordered, &d.scan, err);
    lh__crashpoint("journal:draining");
    if (!rc && (rc = drain_start(&d, err)) == 0) {
      rc = drain(ctx, segs[i], drain_next, &d, err);
      drain_stop(&d);
    }
    if (d.scan)
      j->ops->scan_close(d.scan);
    if (rc) {
      lh_error_prefix(err, rc, "journal: draining %s (kept for the next flush)", segs[i]);
      break;
    }
    /* the rows are stored: only now may the segment go */
    lh__crashpoint("journal:drained");
    rc = j->ops->drop(j, segs[i], err);
    if (rc)
      break;
    res->rows += d.rows;
    res->segments++;
  }
  free_names(segs, nsegs);
  j->ops->unlock(j);
  return rc;
}
