/* The statement store's append (see statement_store.h and docs/internals/DELTA_LOG.md).
 *
 * The caller's rows are pulled in batches, validated, copied and sorted by (partition,
 * entity_id, prop, id). Each partition's run of a batch goes to a stream of that partition:
 * a thread with its own DuckDB connection running one COPY into one Parquet file, fed
 * through lh_rows(slot). Busy partitions get several streams (one per core, at most
 * MAX_WRITERS), so Parquet encoding and compression use every core, and routing rows to
 * files ourselves spares DuckDB's partitioned write (hashing, per-row partition keys and a
 * copy of every row). Every file written becomes an `add` action of ONE commit, made after
 * all streams have finished; if anything fails, nothing is committed and the files written
 * so far are deleted. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/conventions.h"
#include "core/crashpoint.h"
#include "core/fs.h"
#include "core/sort.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "storage/parquet/store_internal.h"

#define BATCH_ROWS 65536               /* rows sorted together (one sorted run per file) */
#define BATCH_BYTES ((size_t)64 << 20) /* ... or this much string data, whichever first */
#define MAX_WRITERS 4                  /* streams of one partition */
#define MAX_STREAMS 8                  /* partition files open at once */
#define QUEUE_RUNS 2                   /* runs waiting for a stream */
#define CHUNK_ROWS 2048                /* rows per lh_rows() call */

/* ---- batches ------------------------------------------------------------------------------ */

/* A run of consecutive input rows of one entity in one partition. */
typedef struct group {
  uint32_t part;
  uint32_t start, len;
  uint64_t prefix; /* the first 8 bytes of entity_id, big-endian */
  const char *entity_id;
} group;

/* The sorted rows of one partition in a batch. */
typedef struct run {
  uint32_t part, start, n;
} run;

typedef struct batch {
  const lh_row **src; /* the rows as taken: the caller's own, or their copies in `rows` */
  lh_row *rows;       /* copies (strings copied into the arena), unless the source keeps them */
  lh__row_lens *lens;
  lh_row *sorted; /* ... and in (partition, entity_id, prop, id) order */
  lh__row_lens *sorted_lens;
  uint32_t *order, *idx; /* scratch */
  uint64_t *pkey, *ikey; /* first 8 bytes of prop and id, big-endian: most comparisons */
  group *groups;
  run *runs;
  uint32_t keys_part; /* the partition of the last row taken */
  size_t n, cap, ngroups, groups_cap, nruns, runs_cap;
  int refs;           /* runs not yet consumed by their stream (guarded by feed.mu) */
  bool live;          /* taken from the pool (guarded by feed.mu) */
  uint64_t seq_first; /* the source's call its first row came from (a kept source) */
  lh__arena arena;
} batch;

/* A run queued on a stream. */
typedef struct prun {
  batch *b;
  uint32_t start, n;
} prun;

typedef struct feed feed;

/* One COPY into one file of one partition. Fields below `open` are guarded by feed.mu. */
typedef struct stream {
  feed *f;
  uint32_t part;
  lh__part key; /* its values (pointing into keybuf), for the add action */
  char *keybuf, *dir;
  duckdb_connection con;
  lh__row_source src;
  pthread_t thread;
  pthread_cond_t cv; /* a run was queued, or the stream is closing */
  bool open;         /* the slot is in use (set and cleared by the router) */
  bool closing;      /* no more runs will come */
  bool finished;     /* the thread is done */
  bool has_cur;
  prun q[QUEUE_RUNS];
  size_t qhead, qlen;
  prun cur; /* the run being read */
  uint32_t pos;
  uint64_t last_used;
  lh_error err;
} stream;

/* ---- the caller's rows, routed by the caller's thread ---------------------------------------- */

struct feed {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* for the router: a batch, queue room or a stream came free */
  lh_statement_store *st;
  lh_row_batch_fn next;
  void *ctx;
  void (*release)(void *ctx, uint64_t calls); /* the source keeps its rows for us */
  bool valid_utf8;
  uint64_t calls;        /* calls of next() that returned rows */
  uint64_t hold;         /* the router still reads the rows of this call and later (mu) */
  uint64_t released;     /* calls released to the source (mu) */
  const lh_row *pending; /* rows handed out by next() not yet taken */
  size_t npending, pos;
  bool eof;
  atomic_bool failed; /* set under mu; read without it by take_batch */
  int rc;             /* the first failure */
  lh_error err;
  uint64_t seen;
  /* partitions written: "shard\x1f bucket\x1f origin" -> index */
  lh__strmap parts;
  char **part_keys;
  size_t nparts, parts_cap;
  /* the last row's partition, to skip the map lookup for runs of one partition */
  char last_shard[LH_SHARD_SIZE];
  lh_bucket last_bucket;
  char *last_origin;
  uint32_t last_part;
  lh__written w; /* files written by every stream (guarded by mu) */
  /* batches: all of them, and those free for the router to fill */
  batch *batches[MAX_WRITERS + 1], *spare[MAX_WRITERS + 1];
  int nbatches, nspare, max_batches;
  stream streams[MAX_STREAMS];
  int per_part; /* streams one partition may have */
  uint64_t tick;
};

/* Index of the row's partition (registering it on first sight). */
static int part_of(feed *f, const lh_row *r, uint32_t *out, lh_error *err) {
  if (f->last_origin && r->bucket == f->last_bucket && strcmp(r->shard, f->last_shard) == 0 &&
      strcmp(r->origin, f->last_origin) == 0) {
    *out = f->last_part;
    return 0;
  }
  /* a new origin: validate it once */
  if (!f->last_origin || strcmp(r->origin, f->last_origin) != 0) {
    int rc = lh_validate_origin(r->origin, err);
    if (rc)
      return rc;
  }
  char key[LH_SHARD_SIZE + 32 + LH_SAFE_NAME_MAX + 4];
  snprintf(key, sizeof key, "%s\x1f%s\x1f%s", r->shard, lh_bucket_name(r->bucket), r->origin);
  uint32_t idx;
  if (!lh__strmap_get(&f->parts, key, &idx)) {
    if (LH_ARRAY_RESERVE(f->part_keys, f->parts_cap, f->nparts + 1, 16))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    if (!(f->part_keys[f->nparts] = strdup(key)))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    idx = (uint32_t)f->nparts++;
    lh__strmap_put(&f->parts, f->part_keys[idx], idx);
  }
  char *origin = strdup(r->origin);
  if (!origin)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  free(f->last_origin);
  f->last_origin = origin;
  memcpy(f->last_shard, r->shard, sizeof f->last_shard);
  f->last_bucket = r->bucket;
  f->last_part = idx;
  *out = idx;
  return 0;
}

/* ---- taking a batch ------------------------------------------------------------------------- */

static uint64_t prefix_of(const char *s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v <<= 8;
    if (*s)
      v |= (unsigned char)*s++;
  }
  return v;
}

static int grow(batch *b, bool kept, lh_error *err) {
  size_t cap = b->cap ? b->cap * 2 : 4096;
#define GROW(field)                                                                                \
  do {                                                                                             \
    void *p = realloc(b->field, cap * sizeof *b->field);                                           \
    if (!p)                                                                                        \
      return lh_error_set(err, LH_ENOMEM, "out of memory");                                        \
    b->field = p;                                                                                  \
  } while (0)
  GROW(src);
  if (!kept)
    GROW(rows);
  GROW(lens);
  GROW(sorted);
  GROW(sorted_lens);
  GROW(order);
  GROW(idx);
  GROW(pkey);
  GROW(ikey);
#undef GROW
  b->cap = cap;
  return 0;
}

/* Copy a column's string into the batch; the previous row's copy is reused when equal
 * (entity ids, schemata, origins repeat row after row). *bad set when not valid UTF-8. */
static const char *copy_str(batch *b, const char *s, size_t n, const char *prev, uint32_t prev_n,
                            bool *bad) {
  if (!s)
    return NULL;
  if (prev && prev_n == n && memcmp(prev, s, n) == 0)
    return prev;
  if (lh__utf8_check(s, n) != n)
    *bad = true;
  return lh__arena_strndup(&b->arena, s, n);
}

/* The caller's rows no batch and not the router use any more go back to the caller (a kept
 * source). Called under f->mu. */
static void release_source(feed *f) {
  if (!f->release)
    return;
  uint64_t keep = f->hold;
  for (int i = 0; i < f->nbatches; i++)
    if (f->batches[i]->live && f->batches[i]->seq_first < keep)
      keep = f->batches[i]->seq_first;
  if (keep > f->released) {
    f->released = keep;
    f->release(f->ctx, keep);
  }
}

/* Where the router stands in the caller's rows: the call whose rows it reads next. */
static void set_hold(feed *f) {
  uint64_t hold = f->pos < f->npending ? f->calls - 1 : f->calls;
  pthread_mutex_lock(&f->mu);
  f->hold = hold;
  release_source(f);
  pthread_mutex_unlock(&f->mu);
}

/* Lengths of a kept row's strings, and their UTF-8 check (values and ids only when the
 * source does not vouch for them). `same`: the caller's previous row, whose lengths are in
 * pl. Returns the first bad column, or NULL. */
static const char *measure_row(const feed *f, const lh_row *r, const lh_row *same,
                               const lh__row_lens *pl, lh__row_lens *l) {
  const char *bad = NULL;
#define MEASURE(field, trusted)                                                                    \
  do {                                                                                             \
    if (same && r->field == same->field) {                                                         \
      l->field = pl->field;                                                                        \
      break;                                                                                       \
    }                                                                                              \
    size_t n_ = r->field ? strlen(r->field) : 0;                                                   \
    l->field = (uint32_t)n_;                                                                       \
    if (!(trusted && f->valid_utf8) && !bad && n_ && lh__utf8_check(r->field, n_) != n_)           \
      bad = #field;                                                                                \
  } while (0)
  MEASURE(id, true);
  MEASURE(entity_id, false);
  MEASURE(dataset, false);
  MEASURE(origin, false);
  MEASURE(source, false);
  MEASURE(schema, false);
  MEASURE(prop, false);
  MEASURE(prop_type, false);
  MEASURE(original_value, true);
  MEASURE(lang, false);
  MEASURE(fragment, false);
#undef MEASURE
  if (!f->valid_utf8 && !bad && lh__utf8_check(r->value, r->value_len) != r->value_len)
    bad = "value";
  return bad;
}

/* Take the next batch from the feed (only the router reads it): rows are checked, and
 * copied unless the source keeps them for us. */
static int take_batch(feed *f, batch *b, lh_error *err) {
  b->n = b->ngroups = b->nruns = 0;
  lh__arena_reset(&b->arena);
  int rc = 0;
  while (!atomic_load(&f->failed) && b->n < BATCH_ROWS && b->arena.total < BATCH_BYTES) {
    if (f->pos == f->npending) {
      if (f->eof)
        break;
      f->pos = f->npending = 0;
      if ((rc = f->next(f->ctx, &f->pending, &f->npending, err)) != 0)
        break;
      if (f->npending == 0) {
        f->eof = true;
        break;
      }
      f->calls++;
    }
    /* the caller's previous row, when in the same batch of theirs (where one pointer means
     * one value: their buffers may be reused across batches) */
    const lh_row *same = f->pos && b->n ? &f->pending[f->pos - 1] : NULL;
    const lh_row *r = &f->pending[f->pos++];
    f->seen++;
    uint32_t part = b->n ? b->keys_part : 0;
    bool same_part = same && r->origin == same->origin && r->bucket == same->bucket &&
                     memcmp(r->shard, same->shard, sizeof r->shard) == 0;
    if ((rc = lh_row_check_required(r, err)) != 0 ||
        (!same_part && (rc = part_of(f, r, &part, err)) != 0)) {
      lh_error_prefix(err, rc, "row %" PRIu64, f->seen);
      break;
    }
    if (b->n == b->cap && (rc = grow(b, f->release != NULL, err)) != 0)
      break;
    const lh__row_lens *pl = b->n ? &b->lens[b->n - 1] : NULL;
    lh__row_lens *l = &b->lens[b->n];
    const lh_row *c;
    const char *bad = NULL;
    if (f->release) { /* kept: measured and checked, not copied */
      c = r;
      bad = measure_row(f, r, same, pl, l);
    } else {
      const lh_row *p = b->n ? &b->rows[b->n - 1] : NULL;
      lh_row *cc = &b->rows[b->n];
      *cc = *r;
#define COPY(field, len)                                                                           \
  do {                                                                                             \
    if (same && r->field == same->field) { /* the caller's pointer repeats: so does the value */   \
      cc->field = p->field;                                                                        \
      l->field = pl->field;                                                                        \
      break;                                                                                       \
    }                                                                                              \
    bool invalid = false;                                                                          \
    size_t n_ = r->field ? (len) : 0;                                                              \
    l->field = (uint32_t)n_;                                                                       \
    cc->field = copy_str(b, r->field, n_, p ? p->field : NULL, pl ? pl->field : 0, &invalid);      \
    if (r->field && !cc->field) {                                                                  \
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");                                          \
      break;                                                                                       \
    }                                                                                              \
    if (invalid && !bad)                                                                           \
      bad = #field;                                                                                \
  } while (0)
      COPY(id, strlen(r->id));
      COPY(entity_id, strlen(r->entity_id));
      COPY(dataset, strlen(r->dataset));
      COPY(origin, strlen(r->origin));
      COPY(source, strlen(r->source));
      COPY(schema, strlen(r->schema));
      COPY(prop, strlen(r->prop));
      COPY(prop_type, strlen(r->prop_type));
      COPY(original_value, strlen(r->original_value));
      COPY(lang, strlen(r->lang));
      COPY(fragment, strlen(r->fragment));
#undef COPY
      if (rc)
        break;
      bool invalid = false;
      cc->value = copy_str(b, r->value, r->value_len, NULL, 0, &invalid);
      if (!cc->value) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        break;
      }
      if (invalid && !bad)
        bad = "value";
      c = cc;
    }
    if (bad) {
      rc = lh_error_set(err, LH_EINVAL,
                        "row %" PRIu64 ": statement row: column '%s' is not valid UTF-8", f->seen,
                        bad);
      break;
    }
    b->src[b->n] = c; /* a copy's address is set below: `rows` may still move */
    b->keys_part = part;
    b->pkey[b->n] = prefix_of(c->prop);
    b->ikey[b->n] = prefix_of(c->id);
    /* runs of one entity become groups */
    group *g = b->ngroups ? &b->groups[b->ngroups - 1] : NULL;
    if (g && g->part == part && g->entity_id == c->entity_id) {
      g->len++;
    } else {
      if (LH_ARRAY_RESERVE(b->groups, b->groups_cap, b->ngroups + 1, 1024)) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        break;
      }
      b->groups[b->ngroups++] =
          (group){part, (uint32_t)b->n, 1, prefix_of(c->entity_id), c->entity_id};
    }
    b->n++;
  }
  if (f->release)
    set_hold(f);
  else
    for (size_t i = 0; i < b->n; i++)
      b->src[i] = &b->rows[i];
  return rc;
}

static int group_cmp(const void *x, const void *y) {
  const group *a = x, *b = y;
  if (a->part != b->part)
    return a->part < b->part ? -1 : 1;
  if (a->prefix != b->prefix)
    return a->prefix < b->prefix ? -1 : 1;
  int c = a->entity_id == b->entity_id ? 0 : strcmp(a->entity_id, b->entity_id);
  return c ? c : (a->start > b->start) - (a->start < b->start); /* stable */
}

/* (prop, id) order of rows i and j of the batch. */
static inline int row_cmp(const batch *b, uint32_t i, uint32_t j) {
  if (b->pkey[i] != b->pkey[j])
    return b->pkey[i] < b->pkey[j] ? -1 : 1;
  const lh_row *p = b->src[i], *q = b->src[j];
  int c = p->prop == q->prop ? 0 : strcmp(p->prop, q->prop);
  if (c)
    return c;
  if (b->ikey[i] != b->ikey[j])
    return b->ikey[i] < b->ikey[j] ? -1 : 1;
  return strcmp(p->id, q->id);
}

static int order_cmp(const void *x, const void *y, void *ctx) {
  return row_cmp(ctx, *(const uint32_t *)x, *(const uint32_t *)y);
}

/* Sort rows [lo, hi) of the input by (prop, id) into the output at `out`. */
static void sort_run(batch *b, const uint32_t *idx, size_t n, size_t out) {
  uint32_t *o = b->order;
  memcpy(o, idx, n * sizeof *o);
  if (n <= 16) { /* insertion sort: entities hold a few dozen statements */
    for (size_t i = 1; i < n; i++) {
      uint32_t v = o[i];
      size_t j = i;
      while (j > 0 && row_cmp(b, o[j - 1], v) > 0) {
        o[j] = o[j - 1];
        j--;
      }
      o[j] = v;
    }
  } else {
    qsort_r(o, n, sizeof *o, order_cmp, b);
  }
  for (size_t i = 0; i < n; i++) {
    b->sorted[out + i] = *b->src[o[i]];
    b->sorted_lens[out + i] = b->lens[o[i]];
  }
}

/* Order the batch by (partition, entity_id, prop, id): sort the entity groups, then each
 * entity's rows (several groups of one entity are sorted together). */
static int sort_batch(batch *b, lh_error *err) {
  if (b->ngroups > 1)
    qsort(b->groups, b->ngroups, sizeof *b->groups, group_cmp);
  size_t out = 0;
  for (size_t g = 0; g < b->ngroups;) {
    size_t h = g + 1;
    while (h < b->ngroups && b->groups[h].part == b->groups[g].part &&
           b->groups[h].prefix == b->groups[g].prefix &&
           strcmp(b->groups[h].entity_id, b->groups[g].entity_id) == 0)
      h++;
    size_t n = 0;
    for (size_t k = g; k < h; k++)
      for (uint32_t i = 0; i < b->groups[k].len; i++)
        b->idx[n++] = b->groups[k].start + i;
    sort_run(b, b->idx, n, out);
    /* the partition's run grows, or a new one starts */
    run *r = b->nruns ? &b->runs[b->nruns - 1] : NULL;
    if (r && r->part == b->groups[g].part) {
      r->n += (uint32_t)n;
    } else {
      if (LH_ARRAY_RESERVE(b->runs, b->runs_cap, b->nruns + 1, 16))
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      b->runs[b->nruns++] = (run){b->groups[g].part, (uint32_t)out, (uint32_t)n};
    }
    out += n;
    g = h;
  }
  return 0;
}

/* ---- streams: one COPY into one file of one partition ------------------------------------------
 *
 * The router (the caller's thread) takes batches from the feed, sorts them and hands each
 * partition's run of rows to a stream of that partition. A stream is a thread with its own
 * DuckDB connection running `COPY (SELECT ... FROM lh_rows(slot)) TO 'dir/part-{uuid}.parquet'`;
 * its lh_rows() pulls the runs queued for it until the router closes it. A batch goes back
 * to the pool when every run of it has been consumed. */

/* A batch back to the pool (under f->mu). */
static void batch_done(feed *f, batch *b) {
  b->live = false;
  f->spare[f->nspare++] = b;
  release_source(f);
  pthread_cond_broadcast(&f->cv);
}

static void release_run(feed *f, prun *p) {
  if (--p->b->refs == 0)
    batch_done(f, p->b);
}

/* The first failure wins; everyone waiting wakes up. Called under f->mu. */
static void fail_locked(feed *f, int rc, const lh_error *err) {
  if (!f->failed) {
    f->failed = true;
    f->rc = rc;
    f->err = *err;
  }
  pthread_cond_broadcast(&f->cv);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (f->streams[i].open)
      pthread_cond_broadcast(&f->streams[i].cv);
}

/* lh_rows() of a stream: the current run in chunks, then the next queued run. */
static int stream_next(void *ctx, const lh_row **rows, const lh__row_lens **lens, size_t *n,
                       lh_error *err) {
  stream *s = ctx;
  feed *f = s->f;
  *n = 0;
  pthread_mutex_lock(&f->mu);
  if (s->has_cur && s->pos == s->cur.n) { /* DuckDB has copied the previous chunk */
    release_run(f, &s->cur);
    s->has_cur = false;
    if (!s->qlen)
      pthread_cond_broadcast(&f->cv); /* idle: the router may close it to make room */
  }
  if (!s->has_cur) {
    while (!s->qlen && !s->closing && !f->failed)
      pthread_cond_wait(&s->cv, &f->mu);
    if (f->failed) {
      pthread_mutex_unlock(&f->mu);
      return lh_error_set(err, LH_EIO, "append cancelled");
    }
    if (!s->qlen) { /* closed: the file is complete */
      pthread_mutex_unlock(&f->mu);
      return 0;
    }
    s->cur = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % QUEUE_RUNS;
    s->qlen--;
    s->pos = 0;
    s->has_cur = true;
    pthread_cond_broadcast(&f->cv); /* room in the queue */
  }
  uint32_t take = s->cur.n - s->pos < CHUNK_ROWS ? s->cur.n - s->pos : CHUNK_ROWS;
  *rows = s->cur.b->sorted + s->cur.start + s->pos;
  *lens = s->cur.b->sorted_lens + s->cur.start + s->pos;
  *n = take;
  s->pos += take;
  pthread_mutex_unlock(&f->mu);
  return 0;
}

static int stream_written(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                          lh_error *err) {
  stream *s = ctx;
  pthread_mutex_lock(&s->f->mu);
  s->f->w.fixed = &s->key;
  int rc = lh__on_written(&s->f->w, ncols, names, v, err);
  s->f->w.fixed = NULL;
  pthread_mutex_unlock(&s->f->mu);
  return rc;
}

static int stream_copy(stream *s) {
  lh__duck *d = &s->f->st->duck;
  int rc = lh__duck_source_add(d, &s->src, &s->err);
  if (rc)
    return rc;
  char id[LH_UUID_SIZE];
  lh_uuid4(id);
  lh_buf sql = LH_BUF_INIT, target = LH_BUF_INIT;
  rc = lh_buf_printf(&sql, "COPY (SELECT %s FROM lh_rows(%d)) TO ", LH__DATA_COLUMNS, s->src.slot);
  rc = rc ? rc : lh_buf_printf(&target, "%s/part-%s.parquet", s->dir, id);
  rc = rc ? rc : lh__sql_quote(&sql, target.data);
  rc = rc ? rc
          : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
                              "ROW_GROUP_SIZE " LH__ROW_GROUP_ROWS ", " LH__DICTIONARY_OPTIONS
                              ", RETURN_STATS true)");
  if (rc)
    rc = lh_error_set(&s->err, LH_ENOMEM, "out of memory");
  else if ((rc = lh__duck_each_row_on(d, s->con, sql.data, &s->src, stream_written, s, &s->err)) !=
           0)
    lh__tio_discard(s->f->st->io, target.data); /* what DuckDB wrote before the failure */
  lh__duck_source_remove(d, &s->src);
  lh_buf_free(&sql);
  lh_buf_free(&target);
  return rc;
}

static void *stream_main(void *arg) {
  stream *s = arg;
  feed *f = s->f;
  int rc = stream_copy(s);
  pthread_mutex_lock(&f->mu);
  if (rc)
    fail_locked(f, rc, &s->err); /* a cancelled stream finds f->failed already set */
  if (s->has_cur)
    release_run(f, &s->cur);
  s->has_cur = false;
  for (; s->qlen; s->qlen--, s->qhead = (s->qhead + 1) % QUEUE_RUNS)
    release_run(f, &s->q[s->qhead]);
  s->finished = true;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
  return NULL;
}

/* A partition value as DuckDB names hive directories: RFC 3986 unreserved characters as
 * they are, every other byte %XX. */
static int put_hive_value(lh_buf *b, const char *v) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    unsigned char c = *p;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~';
    char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
    int rc = plain ? lh_buf_putc(b, (char)c) : lh_buf_append(b, esc, 3);
    if (rc)
      return rc;
  }
  return 0;
}

/* Start a stream for partition `part` in free slot s. Called by the router, unlocked (no
 * other thread looks at a slot that is not open). */
static int open_stream(feed *f, stream *s, uint32_t part, lh_error *err) {
  memset(s, 0, sizeof *s);
  s->f = f;
  s->part = part;
  s->src = (lh__row_source){stream_next, s, -1, 0, {0}};
  char *save = NULL;
  lh_buf dir = LH_BUF_INIT;
  int rc = 0;
  if (!(s->keybuf = strdup(f->part_keys[part])))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  s->key.shard = strtok_r(s->keybuf, "\x1f", &save);
  s->key.bucket = strtok_r(NULL, "\x1f", &save);
  s->key.origin = strtok_r(NULL, "\x1f", &save);
  const char *values[LH_ROW_NPARTITIONS] = {s->key.shard, s->key.bucket, s->key.origin};
  lh_buf rel = LH_BUF_INIT;
  for (int i = 0; i < LH_ROW_NPARTITIONS && !rc; i++)
    rc = lh_buf_printf(&rel, "%s%s=", i ? "/" : "", LH_ROW_PARTITIONS[i]) ||
         put_hive_value(&rel, values[i]);
  rc = rc ? lh_error_nomem(err) : lh__tio_write_dir(f->st->io, rel.data, &dir, err);
  lh_buf_free(&rel);
  if (rc) {
    lh_buf_free(&dir);
    free(s->keybuf);
    return rc;
  }
  s->dir = dir.data;
  if ((rc = lh__duck_connect(&f->st->duck, &s->con, err)) != 0)
    goto fail;
  pthread_cond_init(&s->cv, NULL);
  pthread_mutex_lock(&f->mu);
  s->open = true;
  s->last_used = ++f->tick;
  pthread_mutex_unlock(&f->mu);
  if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
    pthread_mutex_lock(&f->mu);
    s->open = false;
    pthread_mutex_unlock(&f->mu);
    pthread_cond_destroy(&s->cv);
    rc = lh_error_set(err, LH_EIO, "cannot start a writer thread");
    goto fail;
  }
  return 0;
fail:
  if (s->con)
    duckdb_disconnect(&s->con);
  free(s->dir);
  free(s->keybuf);
  s->dir = s->keybuf = NULL;
  return rc;
}

/* Join a finished stream and free its slot. Called unlocked by the router. */
static void reap_stream(stream *s) {
  pthread_join(s->thread, NULL);
  pthread_mutex_lock(&s->f->mu);
  s->open = false; /* fail_locked no longer signals its cv */
  pthread_mutex_unlock(&s->f->mu);
  duckdb_disconnect(&s->con);
  pthread_cond_destroy(&s->cv);
  free(s->dir);
  free(s->keybuf);
  memset(s, 0, sizeof *s);
}

/* Queue run p (rows of partition `part`) on a stream of that partition: the idlest one, a
 * new one while all are busy (up to f->per_part of them), or, when MAX_STREAMS are open,
 * after closing the stream idle the longest. Waits while the queues are full. */
static int dispatch(feed *f, uint32_t part, prun p, lh_error *err) {
  pthread_mutex_lock(&f->mu);
  for (;;) {
    if (f->failed) {
      pthread_mutex_unlock(&f->mu);
      return LH_EIO; /* the failure itself is reported from f->err */
    }
    stream *best = NULL, *finished = NULL, *idle = NULL, *free_slot = NULL;
    int mine = 0;
    for (int i = 0; i < MAX_STREAMS; i++) {
      stream *s = &f->streams[i];
      if (!s->open) {
        free_slot = free_slot ? free_slot : s;
        continue;
      }
      if (s->finished) {
        finished = s;
        continue;
      }
      if (s->closing)
        continue;
      if (s->part == part) {
        mine++;
        if (!best || s->qlen + s->has_cur < best->qlen + best->has_cur)
          best = s;
      } else if (!s->qlen && !s->has_cur && (!idle || s->last_used < idle->last_used)) {
        idle = s;
      }
    }
    if (finished) { /* closed earlier to make room */
      pthread_mutex_unlock(&f->mu);
      reap_stream(finished);
      pthread_mutex_lock(&f->mu);
      continue;
    }
    bool busy = !best || best->qlen + best->has_cur > 0;
    if (busy && mine < f->per_part && free_slot) {
      pthread_mutex_unlock(&f->mu);
      int rc = open_stream(f, free_slot, part, err);
      if (rc) {
        pthread_mutex_lock(&f->mu);
        fail_locked(f, rc, err);
        pthread_mutex_unlock(&f->mu);
        return rc;
      }
      pthread_mutex_lock(&f->mu);
      best = free_slot;
    }
    if (best && best->qlen < QUEUE_RUNS) {
      best->q[(best->qhead + best->qlen) % QUEUE_RUNS] = p;
      best->qlen++;
      best->last_used = ++f->tick;
      pthread_cond_signal(&best->cv);
      pthread_mutex_unlock(&f->mu);
      return 0;
    }
    if (!best && !free_slot && idle) { /* make room: that stream's file is complete */
      idle->closing = true;
      pthread_cond_signal(&idle->cv);
    }
    pthread_cond_wait(&f->cv, &f->mu);
  }
}

/* A batch from the pool, or a new one while fewer than f->max_batches exist. */
static batch *acquire_batch(feed *f, lh_error *err) {
  pthread_mutex_lock(&f->mu);
  while (!f->nspare && f->nbatches == f->max_batches && !f->failed)
    pthread_cond_wait(&f->cv, &f->mu);
  batch *b = NULL;
  if (f->failed) {
    lh_error_set(err, LH_EIO, "append failed");
  } else if (f->nspare) {
    b = f->spare[--f->nspare];
  } else if ((b = calloc(1, sizeof *b)) != NULL) {
    lh__arena_init(&b->arena, 1 << 20, 0);
    f->batches[f->nbatches++] = b;
  }
  if (b) {
    b->live = true;
    b->seq_first = f->hold;
  } else if (!f->failed) {
    lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  pthread_mutex_unlock(&f->mu);
  return b;
}

static void batch_free(batch *b) {
  free(b->src);
  free(b->rows);
  free(b->lens);
  free(b->sorted);
  free(b->sorted_lens);
  free(b->order);
  free(b->idx);
  free(b->pkey);
  free(b->ikey);
  free(b->groups);
  free(b->runs);
  lh__arena_free(&b->arena);
  free(b);
}

/* Route the feed's rows to the streams until the feed ends or something fails. */
static int route(feed *f, lh_error *err) {
  for (;;) {
    batch *b = acquire_batch(f, err);
    if (!b)
      return lh_error_code(err, LH_EINTERNAL);
    int rc = take_batch(f, b, err);
    if (!rc)
      rc = sort_batch(b, err);
    if (rc || b->n == 0) {
      pthread_mutex_lock(&f->mu);
      batch_done(f, b);
      if (rc)
        fail_locked(f, rc, err);
      pthread_mutex_unlock(&f->mu);
      return rc;
    }
    b->refs = (int)b->nruns;
    for (size_t i = 0; i < b->nruns; i++) {
      const run *r = &b->runs[i];
      if ((rc = dispatch(f, r->part, (prun){b, r->start, r->n}, err)) != 0) {
        pthread_mutex_lock(&f->mu);
        b->refs -= (int)(b->nruns - i); /* never queued */
        if (b->refs == 0)
          batch_done(f, b);
        pthread_mutex_unlock(&f->mu);
        return rc;
      }
    }
  }
}

/* Close every stream (their files are complete) and wait for them. */
static void close_streams(feed *f) {
  pthread_mutex_lock(&f->mu);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (f->streams[i].open) {
      f->streams[i].closing = true;
      pthread_cond_signal(&f->streams[i].cv);
    }
  pthread_mutex_unlock(&f->mu);
  for (int i = 0; i < MAX_STREAMS; i++)
    if (f->streams[i].open)
      reap_stream(&f->streams[i]);
}

int lh__writer_count(const lh_statement_store *st) {
  long n = st->append_writers > 0 ? st->append_writers : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MAX_WRITERS ? MAX_WRITERS : (int)n;
}

/* ---- append ------------------------------------------------------------------------------------
 */

static int tag_partitions(lh_statement_store *st, feed *f, lh_time start, lh_error *err) {
  int rc = 0;
  for (size_t i = 0; i < f->nparts && !rc; i++) {
    char *parts[3], *save = NULL;
    char *k = strdup(f->part_keys[i]);
    if (!k)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    parts[0] = strtok_r(k, "\x1f", &save);
    parts[1] = strtok_r(NULL, "\x1f", &save);
    parts[2] = strtok_r(NULL, "\x1f", &save);
    char *tag = parts[2] ? lh_tag_partition_updated(parts[0], parts[1], parts[2], err) : NULL;
    rc = tag ? lh_tags_set(st->tags, tag, start, err) : LH_EINTERNAL;
    free(tag);
    free(k);
  }
  return rc ? rc : lh_tags_set(st->tags, LH_TAG_STATEMENTS_UPDATED, start, err);
}

int lh_statement_store_append(lh_statement_store *st, lh_row_batch_fn next, void *ctx,
                              lh_append_result *res, lh_error *err) {
  lh_append_source src = {next, NULL, ctx, false};
  return lh_statement_store_append_from(st, &src, res, err);
}

int lh_statement_store_append_from(lh_statement_store *st, const lh_append_source *src,
                                   lh_append_result *res, lh_error *err) {
  lh_append_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  int rc = lh__store_ensure_table(st, err);
  if (rc)
    return rc;
  lh_fence *fence = NULL;
  lh_fence_opts fo = st->fence;
  fo.operation = "append";
  lh_time start = lh_time_now();
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  feed *f = calloc(1, sizeof *f);
  if (!f)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  f->st = st;
  f->next = src->next;
  f->ctx = src->ctx;
  f->release = src->release;
  f->valid_utf8 = src->valid_utf8;
  lh__strmap_init(&f->parts);
  f->w = (lh__written){st, &actions, NULL, true, 0, 0, 0, NULL, 0, 0};
  f->per_part = lh__writer_count(st);
  f->max_batches = f->per_part + 1;
  if ((rc = lh_fence_shared(st->dataset, &fo, &fence, err)) != 0)
    goto done;
  lh__store_hold(st, fence);
  if ((rc = lh__duck_serial_begin(&st->duck, err)) != 0)
    goto done;
  rc = route(f, err);
  close_streams(f);
  if (f->release && f->calls > f->released) /* nothing is kept any more */
    f->release(f->ctx, f->calls);
  f->released = f->calls;
  lh__duck_serial_end(&st->duck);
  if (f->failed) { /* the first failure, wherever it happened */
    rc = f->rc ? f->rc : LH_EIO;
    lh_error_copy(err, &f->err);
    goto done;
  }
  if (rc)
    goto done;
  if (f->seen == 0)
    goto done;                           /* nothing to append */
  if (!f->eof || f->w.rows != f->seen) { /* every row taken, every row taken written */
    rc = lh_error_set(err, LH_EINTERNAL, "append: %" PRIu64 " rows given but %" PRIu64 " written",
                      f->seen, f->w.rows);
    goto done;
  }
  lh__crashpoint("append:parquet-written");
  /* partitions are dirty from now on: tags first, as the Python project does, inside the
   * fence so that no merge can slip between the tags and the commit */
  if ((rc = tag_partitions(st, f, start, err)) != 0)
    goto done;
  lh__crashpoint("append:tags-set");
  rc = lh__store_commit(st, &actions, "WRITE", &res->version, err);
  if (rc == 0) {
    res->rows = f->w.rows;
    res->files = f->w.files;
  }
done:
  lh__written_discard(&f->w, res->version >= 0);
  lh__store_release(st, fence);
  for (int i = 0; i < f->nbatches; i++)
    batch_free(f->batches[i]);
  lh__delta_actions_free(&actions);
  lh__strmap_free(&f->parts);
  for (size_t i = 0; i < f->nparts; i++)
    free(f->part_keys[i]);
  free(f->part_keys);
  free(f->last_origin);
  pthread_cond_destroy(&f->cv);
  pthread_mutex_destroy(&f->mu);
  free(f);
  return rc;
}
