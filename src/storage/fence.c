/* The dataset write fence: `.LOCK` (exclusive) and `.LOCK-APPENDS/{id}` (shared), created
 * atomically, with holder identity and a heartbeat thread; stale holders are taken over. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/conventions.h"
#include "core/process.h"
#include "lakehouse/log.h"
#include "storage/fence.h"

#define TAKEOVER_KEY ".LOCK-TAKEOVER"
#define TAKEOVER_STALE_US (60LL * 1000000)

struct lh_fence {
  lh_store *store;
  char *key; /* ".LOCK" or ".LOCK-APPENDS/{id}" */
  char token[LH_UUID_SIZE];
  char *operation;
  lh_time acquired;
  int heartbeat_seconds;
  pthread_t thread;
  bool thread_started;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stop;
  bool lost;
  int64_t version; /* a read lease: the table version read, -1 while it is being loaded */
};

void lh_fence_opts_from_settings(lh_fence_opts *o, const lh_settings *s, const char *operation) {
  o->max_retries = s ? s->lock_max_retries : 22;
  o->stale_seconds = s && s->lock_stale_seconds > 0 ? s->lock_stale_seconds : 300;
  o->heartbeat_seconds = 0;
  o->operation = operation;
}

static int heartbeat_interval(const lh_fence_opts *o) {
  if (o->heartbeat_seconds > 0)
    return o->heartbeat_seconds;
  int h = o->stale_seconds / 10;
  return h < 1 ? 1 : h > 30 ? 30 : h;
}

static void hostname(char *out, size_t n) {
  if (gethostname(out, n) != 0)
    snprintf(out, n, "unknown");
  out[n - 1] = '\0';
}

static char *holder_json(const lh_fence *f, lh_time heartbeat) {
  char host[256], acq[LH_ISO_SIZE], hb[LH_ISO_SIZE];
  hostname(host, sizeof host);
  lh_time_format_iso(f->acquired, acq);
  lh_time_format_iso(heartbeat, hb);
  json_t *o =
      json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "pid", (json_int_t)getpid(), "host", host,
                "token", f->token, "operation", f->operation, "acquired", acq, "heartbeat", hb);
  if (o && f->version >= 0)
    json_object_set_new(o, "version", json_integer(f->version));
  char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  return text;
}

/* What we know of a lock's holder. */
typedef struct holder {
  bool known; /* a JSON object written by this implementation */
  long long pid;
  char host[256];
  char token[LH_UUID_SIZE];
  char operation[64];
  lh_time heartbeat;
  int64_t version; /* of a read lease; -1 when not (yet) known */
} holder;

static void parse_holder(const char *text, size_t len, holder *h) {
  memset(h, 0, sizeof *h);
  h->heartbeat = LH_TIME_NULL;
  h->version = -1;
  json_t *o = json_loadb(text, len, 0, NULL);
  if (!json_is_object(o)) {
    json_decref(o);
    return;
  }
  const char *host = json_string_value(json_object_get(o, "host"));
  const char *token = json_string_value(json_object_get(o, "token"));
  const char *op = json_string_value(json_object_get(o, "operation"));
  const char *hb = json_string_value(json_object_get(o, "heartbeat"));
  json_t *pid = json_object_get(o, "pid");
  if (host && token && hb && json_is_integer(pid) &&
      lh_time_parse_iso(hb, (size_t)-1, &h->heartbeat, NULL) == 0) {
    h->known = true;
    h->pid = json_integer_value(pid);
    snprintf(h->host, sizeof h->host, "%s", host);
    snprintf(h->token, sizeof h->token, "%s", token);
    snprintf(h->operation, sizeof h->operation, "%s", op ? op : "?");
    json_t *v = json_object_get(o, "version");
    h->version = json_is_integer(v) ? json_integer_value(v) : -1;
  }
  json_decref(o);
}

/* Why a holder is stale (static string), or NULL if it is alive as far as we can tell. */
static const char *stale_reason(const holder *h, int stale_seconds) {
  if (!h->known)
    return NULL;
  char host[256];
  hostname(host, sizeof host);
  if (strcmp(host, h->host) == 0 && h->pid > 0 && h->pid <= INT_MAX &&
      lh_process_ended((pid_t)h->pid))
    return "its process has ended";
  if (lh_time_now() - h->heartbeat > (lh_time)stale_seconds * 1000000)
    return "its heartbeat stopped";
  return NULL;
}

static void describe(const holder *h, char *out, size_t n) {
  if (!h->known) {
    snprintf(out, n, "another writer");
    return;
  }
  char hb[LH_ISO_SIZE];
  lh_time_format_iso(h->heartbeat, hb);
  snprintf(out, n, "%s on %s (pid %lld, heartbeat %s)", h->operation, h->host, h->pid, hb);
}

/* Read a lock file; *exists = 0 when missing. */
static int read_lock(lh_store *s, const char *key, lh_buf *text, holder *h, int *exists,
                     lh_error *err) {
  lh_buf_reset(text);
  int rc = lh_store_get(s, key, text, err);
  if (rc == LH_ENOTFOUND) {
    lh_error_clear(err);
    *exists = 0;
    return 0;
  }
  if (rc)
    return rc;
  *exists = 1;
  parse_holder(text->data ? text->data : "", text->len, h);
  return 0;
}

/* Waiting for a lock. The Python project sleeps n + U(0,1) s after its n-th failed attempt,
 * so LAKEHOUSE_LOCK_MAX_RETRIES = R bounds a wait to about R(R+1)/2 + R/2 seconds. We keep
 * that bound but poll sooner (20 ms, doubling up to 1 s, with jitter): most waits are for an
 * append that takes milliseconds. */
typedef struct waiter {
  lh_time deadline;
  long interval_ms;
} waiter;

static void waiter_init(waiter *w, int max_retries) {
  double r = max_retries > 0 ? max_retries : 0;
  w->deadline = lh_time_now() + (lh_time)((r * (r + 1) / 2 + r / 2) * 1e6);
  w->interval_ms = 20;
}

/* Sleep before the next attempt; false when the wait is exhausted. */
static bool waiter_sleep(waiter *w) {
  lh_time now = lh_time_now();
  if (now >= w->deadline)
    return false;
  unsigned char r;
  lh_random_bytes(&r, 1);
  lh_time us = (lh_time)w->interval_ms * 1000 * (192 + r / 4) / 256;
  if (us > w->deadline - now)
    us = w->deadline - now;
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  w->interval_ms = w->interval_ms * 2 > 1000 ? 1000 : w->interval_ms * 2;
  return true;
}

/* ---- heartbeat ----------------------------------------------------------------------------- */

static void *heartbeat_main(void *arg) {
  lh_fence *f = arg;
  pthread_mutex_lock(&f->mu);
  while (!f->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += f->heartbeat_seconds;
    pthread_cond_timedwait(&f->cond, &f->mu, &until);
    if (f->stop)
      break;
    pthread_mutex_unlock(&f->mu);
    lh_buf text = LH_BUF_INIT;
    holder h;
    int exists = 0;
    bool ours = read_lock(f->store, f->key, &text, &h, &exists, NULL) == 0 && exists && h.known &&
                strcmp(h.token, f->token) == 0;
    if (ours) {
      pthread_mutex_lock(&f->mu);
      char *json = holder_json(f, lh_time_now());
      pthread_mutex_unlock(&f->mu);
      if (json)
        lh_store_put(f->store, f->key, json, strlen(json), NULL);
      free(json);
    }
    lh_buf_free(&text);
    pthread_mutex_lock(&f->mu);
    if (!ours && !f->lost) {
      f->lost = true;
      lh_log_warning("the lock %s was taken over by another writer while held", f->key);
    }
  }
  pthread_mutex_unlock(&f->mu);
  return NULL;
}

static lh_fence *fence_new(lh_store *s, const char *key, const lh_fence_opts *o) {
  lh_fence *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->store = s;
  f->key = strdup(key);
  f->operation = strdup(o->operation ? o->operation : "write");
  if (!f->key || !f->operation) {
    free(f->key);
    free(f->operation);
    free(f);
    return NULL;
  }
  lh_uuid4(f->token);
  f->version = -1;
  f->acquired = lh_time_now();
  f->heartbeat_seconds = heartbeat_interval(o);
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cond, NULL);
  return f;
}

static void fence_free(lh_fence *f) {
  if (f->thread_started) {
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
  }
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cond);
  free(f->key);
  free(f->operation);
  free(f);
}

static int create_lock(lh_fence *f, lh_error *err) {
  char *json = holder_json(f, lh_time_now());
  if (!json)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = lh_store_create(f->store, f->key, json, strlen(json), err);
  free(json);
  return rc;
}

static void start_heartbeat(lh_fence *f) {
  if (pthread_create(&f->thread, NULL, heartbeat_main, f) == 0)
    f->thread_started = true;
  else
    lh_log_warning("cannot start the heartbeat of %s", f->key);
}

/* Remove a stale lock file, guarded by the takeover marker so that two takers cannot both
 * delete (the second would delete the first one's fresh lock). Returns 1 if removed. */
static int take_over(lh_store *s, const char *key, const lh_buf *seen, const char *why,
                     const holder *h, lh_error *err) {
  char stamp[LH_ISO_SIZE];
  lh_time_format_iso(lh_time_now(), stamp);
  int rc = lh_store_create(s, TAKEOVER_KEY, stamp, strlen(stamp), err);
  if (rc == LH_EEXIST) {
    lh_error_clear(err);
    lh_store_info info;
    if (lh_store_stat(s, TAKEOVER_KEY, &info, NULL) == 0 &&
        lh_time_now() - info.mtime > TAKEOVER_STALE_US)
      lh_store_delete(s, TAKEOVER_KEY, NULL); /* a taker that died: next round */
    return 0;
  }
  if (rc)
    return rc;
  lh_buf now = LH_BUF_INIT;
  int removed = 0;
  if (lh_store_get(s, key, &now, NULL) == 0 && now.len == seen->len &&
      memcmp(now.data, seen->data, now.len) == 0) {
    char who[512];
    describe(h, who, sizeof who);
    lh_log_warning("taking over %s: held by %s, but %s", key, who, why);
    removed = lh_store_delete(s, key, NULL) == 0;
  }
  lh_buf_free(&now);
  lh_store_delete(s, TAKEOVER_KEY, NULL);
  return removed;
}

/* ---- exclusive ----------------------------------------------------------------------------- */

static int acquire_lock(lh_fence *f, const lh_fence_opts *o, lh_error *err) {
  lh_buf text = LH_BUF_INIT;
  int rc = 0;
  waiter w;
  waiter_init(&w, o->max_retries);
  for (;;) {
    rc = create_lock(f, err);
    if (rc != LH_EEXIST)
      break;
    lh_error_clear(err);
    holder h;
    int exists;
    if ((rc = read_lock(f->store, LH_PATH_LOCK, &text, &h, &exists, err)) != 0)
      break;
    if (!exists)
      continue; /* released between our two calls: try again at once */
    const char *why = stale_reason(&h, o->stale_seconds);
    if (why) {
      int t = take_over(f->store, LH_PATH_LOCK, &text, why, &h, err);
      if (t < 0) {
        rc = t;
        break;
      }
      if (t > 0)
        continue;
    }
    if (!waiter_sleep(&w)) {
      char who[512];
      describe(&h, who, sizeof who);
      rc = lh_error_set(err, LH_ELOCKED,
                        "Already locked: `.LOCK` is held by %s. If that writer crashed on "
                        "another host, release the fence with `ftm-lakehouse maintenance unlock`",
                        who);
      break;
    }
  }
  lh_buf_free(&text);
  return rc;
}

typedef struct markers {
  lh_store *store;
  const lh_fence_opts *o;
  int live;
  holder last;
  lh_error *err;
} markers;

static int check_marker(const char *name, void *arg) {
  markers *m = arg;
  char *key = lh_path_lock_append(name);
  if (!key)
    return lh_error_set(m->err, LH_ENOMEM, "out of memory");
  lh_buf text = LH_BUF_INIT;
  holder h;
  int exists = 0;
  int rc = read_lock(m->store, key, &text, &h, &exists, m->err);
  if (rc == 0 && exists) {
    const char *why = stale_reason(&h, m->o->stale_seconds);
    if (why) {
      char who[512];
      describe(&h, who, sizeof who);
      lh_log_warning("removing the stale append marker %s: held by %s, but %s", key, who, why);
      lh_store_delete(m->store, key, NULL);
    } else {
      m->live++;
      m->last = h;
    }
  }
  lh_buf_free(&text);
  free(key);
  return rc;
}

int lh_fence_exclusive(lh_store *s, const lh_fence_opts *o, lh_fence **out, lh_error *err) {
  *out = NULL;
  lh_fence *f = fence_new(s, LH_PATH_LOCK, o);
  if (!f)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = acquire_lock(f, o, err);
  if (rc) {
    fence_free(f);
    return rc;
  }
  start_heartbeat(f);
  waiter w;
  waiter_init(&w, o->max_retries);
  for (;;) {
    markers m = {s, o, 0, {0}, err};
    rc = lh_store_children(s, LH_PATH_LOCK_APPENDS, check_marker, &m, err);
    if (rc)
      break;
    if (m.live == 0)
      break;
    if (!waiter_sleep(&w)) {
      char who[512];
      describe(&m.last, who, sizeof who);
      rc = lh_error_set(err, LH_ELOCKED,
                        "Write fence busy: append markers under `.LOCK-APPENDS/` are present "
                        "(%d, e.g. %s)",
                        m.live, who);
      break;
    }
  }
  if (rc) {
    lh_fence_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* ---- shared -------------------------------------------------------------------------------- */

int lh_fence_shared(lh_store *s, const lh_fence_opts *o, lh_fence **out, lh_error *err) {
  *out = NULL;
  char id[LH_UUID_HEX_SIZE];
  lh_uuid4_hex(id);
  char *key = lh_path_lock_append(id);
  if (!key)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_fence *f = fence_new(s, key, o);
  free(key);
  if (!f)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_buf text = LH_BUF_INIT;
  int rc = 0;
  waiter w;
  waiter_init(&w, o->max_retries);
  for (;;) {
    if ((rc = create_lock(f, err)) != 0) /* the marker first, then look at .LOCK */
      break;
    holder h;
    int exists;
    if ((rc = read_lock(s, LH_PATH_LOCK, &text, &h, &exists, err)) != 0) {
      lh_store_delete(s, f->key, NULL);
      break;
    }
    if (!exists || stale_reason(&h, o->stale_seconds))
      break; /* a stale .LOCK does not fence anyone; maintenance takes it over */
    lh_store_delete(s, f->key, NULL);
    if (!waiter_sleep(&w)) {
      char who[512];
      describe(&h, who, sizeof who);
      rc = lh_error_set(err, LH_ELOCKED,
                        "Write fence busy: maintenance lock `.LOCK` is held by %s. If a writer "
                        "crashed, release the fence via `ftm-lakehouse maintenance unlock`.",
                        who);
      break;
    }
  }
  lh_buf_free(&text);
  if (rc) {
    fence_free(f);
    return rc;
  }
  start_heartbeat(f);
  *out = f;
  return 0;
}

/* ---- read leases --------------------------------------------------------------------------- */

int lh_fence_read(lh_store *s, const lh_fence_opts *o, lh_fence **out, lh_error *err) {
  *out = NULL;
  char id[LH_UUID_HEX_SIZE];
  lh_uuid4_hex(id);
  char *key = lh_path_lock_read(id);
  lh_fence *f = key ? fence_new(s, key, o) : NULL;
  free(key);
  if (!f)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = create_lock(f, err);
  if (rc) {
    fence_free(f);
    return rc;
  }
  start_heartbeat(f);
  *out = f;
  return 0;
}

int lh_fence_set_version(lh_fence *f, int64_t version, lh_error *err) {
  if (!f)
    return 0;
  pthread_mutex_lock(&f->mu);
  bool first = f->version < 0;
  if (first || version < f->version) /* a lease guards the oldest version it read */
    f->version = version;
  char *json = first ? holder_json(f, lh_time_now()) : NULL;
  pthread_mutex_unlock(&f->mu);
  if (!first)
    return 0;
  if (!json)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = lh_store_put(f->store, f->key, json, strlen(json), err);
  free(json);
  return rc;
}

typedef struct readers {
  lh_store *store;
  const lh_fence_opts *o;
  int64_t min;
  size_t live;
  lh_error *err;
} readers;

static int check_reader(const char *name, void *arg) {
  readers *r = arg;
  char *key = lh_path_lock_read(name);
  if (!key)
    return lh_error_set(r->err, LH_ENOMEM, "out of memory");
  lh_buf text = LH_BUF_INIT;
  holder h;
  int exists = 0;
  int rc = read_lock(r->store, key, &text, &h, &exists, r->err);
  if (rc == 0 && exists) {
    if (h.known && stale_reason(&h, r->o->stale_seconds)) {
      lh_store_delete(r->store, key, NULL); /* a reader that died */
    } else {
      /* an unreadable or half-written lease guards everything, as one still loading */
      r->live++;
      int64_t v = h.known ? h.version : -1;
      if (v < r->min)
        r->min = v;
    }
  }
  lh_buf_free(&text);
  free(key);
  return rc;
}

int lh_fence_readers(lh_store *s, const lh_fence_opts *o, int64_t *min_version, size_t *live,
                     lh_error *err) {
  readers r = {s, o, INT64_MAX, 0, err};
  int rc = lh_store_children(s, LH_PATH_LOCK_READS, check_reader, &r, err);
  *min_version = r.min;
  if (live)
    *live = r.live;
  return rc;
}

/* ---- release and unlock -------------------------------------------------------------------- */

bool lh_fence_lost(const lh_fence *f) {
  return f && f->lost;
}

void lh_fence_release(lh_fence *f) {
  if (!f)
    return;
  lh_store *s = f->store;
  char *key = strdup(f->key);
  char token[LH_UUID_SIZE];
  memcpy(token, f->token, sizeof token);
  fence_free(f); /* stops the heartbeat first */
  if (!key)
    return;
  lh_buf text = LH_BUF_INIT;
  holder h;
  int exists = 0;
  if (read_lock(s, key, &text, &h, &exists, NULL) == 0 && exists && h.known &&
      strcmp(h.token, token) == 0)
    lh_store_delete(s, key, NULL);
  lh_buf_free(&text);
  free(key);
}

typedef struct unlock_ctx {
  lh_store *store;
  bool released;
} unlock_ctx;

static int delete_marker(const char *name, void *arg) {
  unlock_ctx *u = arg;
  char *key = lh_path_lock_append(name);
  if (key && lh_store_delete(u->store, key, NULL) == 0)
    u->released = true;
  free(key);
  return 0;
}

int lh_fence_unlock(lh_store *s, bool *released, lh_error *err) {
  unlock_ctx u = {s, false};
  int rc = lh_store_delete(s, LH_PATH_LOCK, err);
  if (rc == 0)
    u.released = true;
  else if (rc != LH_ENOTFOUND)
    return rc;
  lh_error_clear(err);
  lh_store_delete(s, TAKEOVER_KEY, NULL);
  rc = lh_store_children(s, LH_PATH_LOCK_APPENDS, delete_marker, &u, err);
  if (released)
    *released = u.released;
  return rc;
}
