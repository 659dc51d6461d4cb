/* The statement store's merge engine in C (see docs/internals/DELTA_LOG.md, "Merge").
 *
 * A partition is merged slice by slice (entity-id ranges small enough for memory): DuckDB
 * scans the slice's rows out of the partition's files, they are copied into memory, sorted
 * by lh_merge_sort (appends write sorted runs, so this is mostly merging) and reduced by
 * lh_merge_rows. Each slice's survivors become one new Parquet file, written by a pool of
 * writer threads (each with its own DuckDB connection and COPY) while the next slice is
 * being read. Nothing here commits: the caller swaps the files in one commit. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "lakehouse/log.h"
#include "logic/merge.h"
#include "storage/parquet/store_internal.h"

#define MAX_WRITERS 4
#define STAGE_ROWS 2048

/* One slice of rows in memory, from scan to file. */
typedef struct mslice {
  lh__arena arena;
  lh_row *rows;
  lh__row_lens *lens;
  uint32_t *order, *tmp, *out; /* sort order, scratch, survivors in output order */
  size_t n, cap, nout;
  /* while a writer serves it to lh_rows() */
  size_t pos;
  lh_row stage[STAGE_ROWS];
  lh__row_lens stage_lens[STAGE_ROWS];
} mslice;

typedef struct pool pool;

typedef struct mwriter {
  pool *pl;
  duckdb_connection con;
  pthread_t thread;
  bool started;
  mslice *job;
  lh__row_source src;
} mwriter;

/* The writers and the slices they share with the reading thread. */
struct pool {
  lh_statement_store *st;
  const lh__part *p;
  const char *dir;
  lh__written *w;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  mslice *queue[MAX_WRITERS + 1]; /* slices waiting for a writer */
  size_t nqueue;
  mslice *spare[MAX_WRITERS + 2]; /* slices free for reading into */
  size_t nspare, nslices;         /* nslices: allocated in all */
  bool closing, failed;
  int rc;
  lh_error err;
  uint64_t written;
  int nwriters;
  mwriter writers[MAX_WRITERS];
};

static void slice_free(mslice *s) {
  if (!s)
    return;
  lh__arena_free(&s->arena);
  free(s->rows);
  free(s->lens);
  free(s->order);
  free(s->tmp);
  free(s->out);
  free(s);
}

static int slice_grow(mslice *s, lh_error *err) {
  size_t cap = s->cap ? s->cap * 2 : 65536;
#define GROW(field)                                                                                \
  do {                                                                                             \
    void *q = realloc(s->field, cap * sizeof *s->field);                                           \
    if (!q)                                                                                        \
      return lh_error_set(err, LH_ENOMEM, "out of memory");                                        \
    s->field = q;                                                                                  \
  } while (0)
  GROW(rows);
  GROW(lens);
  GROW(order);
  GROW(tmp);
  GROW(out);
#undef GROW
  s->cap = cap;
  return 0;
}

/* ---- reading a slice --------------------------------------------------------------------- */

/* The 15 columns a slice scan selects, in this order. */
enum {
  C_ID,
  C_ENTITY,
  C_DATASET,
  C_SOURCE,
  C_SCHEMA,
  C_PROP,
  C_PROP_TYPE,
  C_VALUE,
  C_ORIGINAL,
  C_LANG,
  C_EXTERNAL,
  C_FIRST,
  C_LAST,
  C_FRAGMENT,
  C_DELETED,
  C_COUNT
};

static const char *const SCAN_COLUMNS[C_COUNT] = {
    "id",       "entity_id",  "dataset",   "source",         "schema",
    "prop",     "prop_type",  "value",     "original_value", "lang",
    "external", "first_seen", "last_seen", "fragment",       "deleted_at"};

typedef struct reader {
  mslice *s;
  const lh__part *p;
  lh_bucket bucket;
} reader;

static inline bool row_valid(const uint64_t *validity, idx_t k) {
  return !validity || duckdb_validity_row_is_valid((uint64_t *)validity, k);
}

/* Copy one string value (NULL when invalid); the previous row's copy is reused when equal. */
static const char *take(mslice *s, duckdb_string_t *v, const uint64_t *validity, idx_t k,
                        const char *prev, uint32_t prev_len, uint32_t *len) {
  if (!row_valid(validity, k)) {
    *len = 0;
    return NULL;
  }
  uint32_t n = duckdb_string_t_length(v[k]);
  const char *data = duckdb_string_t_data(&v[k]);
  *len = n;
  if (prev && prev_len == n && memcmp(prev, data, n) == 0)
    return prev;
  return lh__arena_strndup(&s->arena, data, n);
}

static int read_chunk(void *ctx, duckdb_data_chunk chunk, lh_error *err) {
  reader *r = ctx;
  mslice *s = r->s;
  idx_t n = duckdb_data_chunk_get_size(chunk);
  duckdb_string_t *str[C_COUNT];
  uint64_t *valid[C_COUNT];
  for (int c = 0; c < C_COUNT; c++) {
    duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
    str[c] = duckdb_vector_get_data(v);
    valid[c] = duckdb_vector_get_validity(v);
  }
  bool *external = (bool *)str[C_EXTERNAL];
  int64_t *first = (int64_t *)str[C_FIRST], *last = (int64_t *)str[C_LAST],
          *deleted = (int64_t *)str[C_DELETED];
  for (idx_t k = 0; k < n; k++) {
    if (s->n == s->cap) {
      int rc = slice_grow(s, err);
      if (rc)
        return rc;
    }
    const lh_row *pr = s->n ? &s->rows[s->n - 1] : NULL;
    const lh__row_lens *pl = s->n ? &s->lens[s->n - 1] : NULL;
    lh_row *row = &s->rows[s->n];
    lh__row_lens *l = &s->lens[s->n];
    memset(row, 0, sizeof *row);
    snprintf(row->shard, sizeof row->shard, "%s", r->p->shard);
    row->bucket = r->bucket;
    row->origin = r->p->origin;
    l->origin = (uint32_t)strlen(r->p->origin);
#define TAKE(field, col)                                                                           \
  row->field =                                                                                     \
      take(s, str[col], valid[col], k, pr ? pr->field : NULL, pl ? pl->field : 0, &l->field)
    TAKE(id, C_ID);
    TAKE(entity_id, C_ENTITY);
    TAKE(dataset, C_DATASET);
    TAKE(source, C_SOURCE);
    TAKE(schema, C_SCHEMA);
    TAKE(prop, C_PROP);
    TAKE(prop_type, C_PROP_TYPE);
    TAKE(original_value, C_ORIGINAL);
    TAKE(lang, C_LANG);
    TAKE(fragment, C_FRAGMENT);
#undef TAKE
    uint32_t vlen;
    row->value = take(s, str[C_VALUE], valid[C_VALUE], k, NULL, 0, &vlen);
    row->value_len = vlen;
    static const int required[] = {C_ID,    C_ENTITY,   C_DATASET, C_SCHEMA, C_PROP,
                                   C_VALUE, C_FRAGMENT, C_FIRST,   C_LAST};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
      if (!row_valid(valid[required[i]], k))
        return lh_error_set(err, LH_EPARSE,
                            "a stored statement of partition %s/%s/%s has NULL "
                            "in column '%s'",
                            r->p->shard, r->p->bucket, r->p->origin, SCAN_COLUMNS[required[i]]);
    if (!row->id || !row->entity_id || !row->dataset || !row->schema || !row->prop || !row->value ||
        !row->fragment)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    row->external = row_valid(valid[C_EXTERNAL], k) && external[k];
    row->first_seen = first[k];
    row->last_seen = last[k];
    row->deleted_at = row_valid(valid[C_DELETED], k) ? deleted[k] : LH_TIME_NULL;
    s->order[s->n] = (uint32_t)s->n;
    s->n++;
  }
  return 0;
}

/* Read the rows of [lo, hi) into s, sort and merge them. */
static int build_slice(lh_statement_store *st, const lh__part *p, const char *source,
                       const char *lo, const char *hi, lh_time cutoff, mslice *s, lh_error *err) {
  s->n = s->nout = s->pos = 0;
  lh__arena_reset(&s->arena);
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_printf(&sql, "SELECT %s FROM (%s) lh_src WHERE true", LH__DATA_COLUMNS, source);
  if (!rc && lo) {
    rc = lh_buf_puts(&sql, " AND entity_id >= ");
    rc = rc ? rc : lh__sql_quote(&sql, lo);
  }
  if (!rc && hi) {
    rc = lh_buf_puts(&sql, " AND entity_id < ");
    rc = rc ? rc : lh__sql_quote(&sql, hi);
  }
  if (rc) {
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  reader r = {s, p, LH_BUCKET_THING};
  if (lh_bucket_parse(p->bucket, &r.bucket) != 0)
    rc = lh_error_set(err, LH_EPARSE, "invalid bucket '%s'", p->bucket);
  if (!rc)
    rc = lh__duck_stream(&st->duck, NULL, sql.data, read_chunk, &r, err);
  lh_buf_free(&sql);
  if (rc)
    return rc;
  if (lh_merge_sort(s->rows, s->order, s->tmp, s->n) ||
      lh_merge_rows(s->rows, s->order, s->n, cutoff, s->out, &s->nout))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  return 0;
}

/* ---- writing slices ---------------------------------------------------------------------- */

/* lh_rows() source: the survivors of the writer's slice, STAGE_ROWS at a time. */
static int serve(void *ctx, const lh_row **rows, const lh__row_lens **lens, size_t *n,
                 lh_error *err) {
  (void)err;
  mwriter *wr = ctx;
  mslice *s = wr->job;
  size_t k = 0;
  for (; k < STAGE_ROWS && s->pos < s->nout; k++, s->pos++) {
    s->stage[k] = s->rows[s->out[s->pos]];
    s->stage_lens[k] = s->lens[s->out[s->pos]];
  }
  *rows = s->stage;
  *lens = s->stage_lens;
  *n = k;
  return 0;
}

static int written_locked(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                          lh_error *err) {
  pool *pl = ctx;
  pthread_mutex_lock(&pl->mu);
  int rc = lh__on_written(pl->w, ncols, names, v, err);
  pthread_mutex_unlock(&pl->mu);
  return rc;
}

static int write_slice(mwriter *wr, lh_error *err) {
  pool *pl = wr->pl;
  lh__duck *d = &pl->st->duck;
  char id[LH_UUID_SIZE];
  lh_uuid4(id);
  wr->src = (lh__row_source){serve, wr, -1, 0, {0}};
  int rc = lh__duck_source_add(d, &wr->src, err);
  if (rc)
    return rc;
  lh_buf sql = LH_BUF_INIT, target = LH_BUF_INIT;
  rc = lh_buf_printf(&sql, "COPY (SELECT %s FROM lh_rows(%d)) TO ", LH__DATA_COLUMNS, wr->src.slot);
  rc = rc ? rc : lh_buf_printf(&target, "%s/part-%s.parquet", pl->dir, id);
  rc = rc ? rc : lh__sql_quote(&sql, target.data);
  rc = rc ? rc
          : lh_buf_puts(&sql,
                        " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE " LH__ROW_GROUP_ROWS
                        ", RETURN_STATS true)");
  if (rc)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  else
    rc = lh__duck_each_row_on(d, wr->con, sql.data, &wr->src, written_locked, pl, err);
  lh__duck_source_remove(d, &wr->src);
  lh_buf_free(&sql);
  lh_buf_free(&target);
  return rc;
}

static void *writer_main(void *arg) {
  mwriter *wr = arg;
  pool *pl = wr->pl;
  pthread_mutex_lock(&pl->mu);
  for (;;) {
    while (!pl->nqueue && !pl->closing)
      pthread_cond_wait(&pl->cv, &pl->mu);
    if (!pl->nqueue)
      break; /* closing and nothing left */
    wr->job = pl->queue[0];
    memmove(pl->queue, pl->queue + 1, --pl->nqueue * sizeof *pl->queue);
    bool skip = pl->failed;
    pthread_mutex_unlock(&pl->mu);
    lh_error err = {0};
    int rc = skip ? 0 : write_slice(wr, &err);
    pthread_mutex_lock(&pl->mu);
    if (rc && !pl->failed) {
      pl->failed = true;
      pl->rc = rc;
      pl->err = err;
    }
    if (!rc && !skip)
      pl->written += wr->job->nout;
    pl->spare[pl->nspare++] = wr->job;
    wr->job = NULL;
    pthread_cond_broadcast(&pl->cv);
  }
  pthread_mutex_unlock(&pl->mu);
  return NULL;
}

/* A slice to read into: a spare one, a new one while fewer than writers + 2 exist, else
 * wait for a writer to finish one. NULL when the pool failed (or memory ran out). */
static mslice *next_slice(pool *pl, lh_error *err) {
  pthread_mutex_lock(&pl->mu);
  while (!pl->nspare && pl->nslices >= (size_t)pl->nwriters + 1 && !pl->failed)
    pthread_cond_wait(&pl->cv, &pl->mu);
  mslice *s = NULL;
  if (!pl->failed) {
    if (pl->nspare) {
      s = pl->spare[--pl->nspare];
    } else if ((s = calloc(1, sizeof *s)) != NULL) {
      lh__arena_init(&s->arena, 1 << 20, 0);
      pl->nslices++;
    } else {
      lh_error_set(err, LH_ENOMEM, "out of memory");
    }
  } else if (err) {
    *err = pl->err;
  }
  pthread_mutex_unlock(&pl->mu);
  return s;
}

static void give_back(pool *pl, mslice *s) {
  pthread_mutex_lock(&pl->mu);
  pl->spare[pl->nspare++] = s;
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
}

static void enqueue(pool *pl, mslice *s) {
  pthread_mutex_lock(&pl->mu);
  pl->queue[pl->nqueue++] = s;
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
}

int lh__merge_stream(lh_statement_store *st, const lh__part *p, const char *dir, const char *source,
                     char *const *bounds, size_t nbounds, lh_time cutoff, int writers,
                     lh__written *w, uint64_t *rows_before, uint64_t *rows_after, size_t *slices,
                     lh_error *err) {
  *rows_before = *rows_after = 0;
  *slices = 0;
  pool *pl = calloc(1, sizeof *pl);
  if (!pl)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  pl->st = st;
  pl->p = p;
  pl->dir = dir;
  pl->w = w;
  pthread_mutex_init(&pl->mu, NULL);
  pthread_cond_init(&pl->cv, NULL);
  pl->nwriters = writers < 1 ? 1 : writers > MAX_WRITERS ? MAX_WRITERS : writers;
  if ((size_t)pl->nwriters > nbounds + 1)
    pl->nwriters = (int)nbounds + 1; /* no more writers than slices */
  int rc = 0;
  for (int i = 0; i < pl->nwriters && !rc; i++) {
    mwriter *wr = &pl->writers[i];
    wr->pl = pl;
    if ((rc = lh__duck_connect(&st->duck, &wr->con, err)) != 0)
      break;
    if (pthread_create(&wr->thread, NULL, writer_main, wr) != 0) {
      rc = lh_error_set(err, LH_EIO, "cannot start a writer thread");
      break;
    }
    wr->started = true;
  }
  for (size_t i = 0; i <= nbounds && !rc; i++) {
    mslice *s = next_slice(pl, err);
    if (!s) {
      rc = err && err->code ? err->code : LH_ENOMEM;
      break;
    }
    const char *lo = i ? bounds[i - 1] : NULL, *hi = i < nbounds ? bounds[i] : NULL;
    if ((rc = build_slice(st, p, source, lo, hi, cutoff, s, err)) != 0) {
      give_back(pl, s);
      break;
    }
    *rows_before += s->n;
    *rows_after += s->nout;
    (*slices)++;
    if (s->nout == 0)
      give_back(pl, s); /* everything reaped: no file */
    else
      enqueue(pl, s);
  }
  pthread_mutex_lock(&pl->mu);
  pl->closing = true;
  if (rc)
    pl->failed = true; /* queued slices are dropped */
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
  for (int i = 0; i < pl->nwriters; i++) {
    if (pl->writers[i].started)
      pthread_join(pl->writers[i].thread, NULL);
    if (pl->writers[i].con)
      duckdb_disconnect(&pl->writers[i].con);
  }
  if (!rc && pl->rc) {
    rc = pl->rc;
    if (err)
      *err = pl->err;
  }
  if (!rc && pl->written != *rows_after)
    rc = lh_error_set(err, LH_EINTERNAL,
                      "merge: %" PRIu64 " rows survived but %" PRIu64 " were written", *rows_after,
                      pl->written);
  for (size_t i = 0; i < pl->nspare; i++)
    slice_free(pl->spare[i]);
  for (size_t i = 0; i < pl->nqueue; i++)
    slice_free(pl->queue[i]);
  pthread_mutex_destroy(&pl->mu);
  pthread_cond_destroy(&pl->cv);
  free(pl);
  return rc;
}
