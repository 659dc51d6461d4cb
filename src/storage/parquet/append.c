/* The statement store's append (see statement_store.h and docs/internals/DELTA_LOG.md).
 *
 * The caller's rows are pulled in batches, validated, copied and sorted per partition by
 * (entity_id, prop, id), and streamed through lh_rows(slot) into DuckDB's partitioned
 * COPY. Large appends run several writers at once, each with its own DuckDB connection and
 * its own COPY statement, so that Parquet encoding and compression use every core; the
 * caller's rows are handed out to them batch by batch under a lock. Every file written
 * becomes an `add` action of ONE commit, made after all writers have finished; if anything
 * fails, nothing is committed and the files written so far are deleted. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crashpoint.h"
#include "core/sort.h"
#include "core/strmap.h"
#include "core/utf8.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "storage/parquet/store_internal.h"

#define BATCH_ROWS 131072              /* rows sorted together (one sorted run per file) */
#define BATCH_BYTES ((size_t)64 << 20) /* ... or this much string data, whichever first */
#define MAX_WRITERS 4
/* DuckDB buffers this many rows per writer before flushing them to the partition files:
 * fewer means smaller row groups and slower writes, more means more memory. */
#define FLUSH_THRESHOLD_SQL "SET partitioned_write_flush_threshold = 131072"

/* ---- the caller's rows, shared by the writers ------------------------------------------------ */

typedef struct feed {
  pthread_mutex_t mu;
  lh_statement_store *st;
  lh_row_batch_fn next;
  void *ctx;
  const lh_row *pending; /* rows handed out by next() not yet taken */
  size_t npending, pos;
  bool eof;
  bool failed; /* a writer failed: the others stop reading */
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
  lh__written w; /* files written by every writer (guarded by mu) */
} feed;

/* Index of the row's partition (registering it on first sight). Called under f->mu. */
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
    if (f->nparts == f->parts_cap) {
      size_t cap = f->parts_cap ? f->parts_cap * 2 : 16;
      char **nk = realloc(f->part_keys, cap * sizeof *nk);
      if (!nk)
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      f->part_keys = nk;
      f->parts_cap = cap;
    }
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

/* ---- one writer's batch ---------------------------------------------------------------------- */

/* A run of consecutive input rows of one entity in one partition. */
typedef struct group {
  uint32_t part;
  uint32_t start, len;
  uint64_t prefix; /* the first 8 bytes of entity_id, big-endian */
  const char *entity_id;
} group;

typedef struct batch {
  lh_row *rows; /* as taken from the feed (strings copied into the arena) */
  lh__row_lens *lens;
  lh_row *sorted; /* ... and in (partition, entity_id, prop, id) order */
  lh__row_lens *sorted_lens;
  uint32_t *order;       /* scratch */
  uint64_t *pkey, *ikey; /* first 8 bytes of prop and id, big-endian: most comparisons */
  group *groups;
  uint32_t keys_part; /* the partition of the last row taken */
  size_t n, cap, ngroups, groups_cap, pos;
  lh__arena arena;
} batch;

static uint64_t prefix_of(const char *s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v <<= 8;
    if (*s)
      v |= (unsigned char)*s++;
  }
  return v;
}

static int grow(batch *b, lh_error *err) {
  size_t cap = b->cap ? b->cap * 2 : 4096;
#define GROW(field)                                                                                \
  do {                                                                                             \
    void *p = realloc(b->field, cap * sizeof *b->field);                                           \
    if (!p)                                                                                        \
      return lh_error_set(err, LH_ENOMEM, "out of memory");                                        \
    b->field = p;                                                                                  \
  } while (0)
  GROW(rows);
  GROW(lens);
  GROW(sorted);
  GROW(sorted_lens);
  GROW(order);
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

/* Take the next batch from the feed: rows are checked and copied under its lock. */
static int take_batch(feed *f, batch *b, lh_error *err) {
  b->n = b->pos = b->ngroups = 0;
  lh__arena_reset(&b->arena);
  int rc = 0;
  pthread_mutex_lock(&f->mu);
  while (!f->failed && b->n < BATCH_ROWS && b->arena.total < BATCH_BYTES) {
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
      lh_error_prefix(err, "row %" PRIu64, f->seen);
      break;
    }
    if (b->n == b->cap && (rc = grow(b, err)) != 0)
      break;
    const lh_row *p = b->n ? &b->rows[b->n - 1] : NULL;
    const lh__row_lens *pl = b->n ? &b->lens[b->n - 1] : NULL;
    lh_row *c = &b->rows[b->n];
    lh__row_lens *l = &b->lens[b->n];
    *c = *r;
    const char *bad = NULL;
#define COPY(field, len)                                                                           \
  do {                                                                                             \
    if (same && r->field == same->field) { /* the caller's pointer repeats: so does the value */   \
      c->field = p->field;                                                                         \
      l->field = pl->field;                                                                        \
      break;                                                                                       \
    }                                                                                              \
    bool invalid = false;                                                                          \
    size_t n_ = r->field ? (len) : 0;                                                              \
    l->field = (uint32_t)n_;                                                                       \
    c->field = copy_str(b, r->field, n_, p ? p->field : NULL, pl ? pl->field : 0, &invalid);       \
    if (r->field && !c->field) {                                                                   \
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
    c->value = copy_str(b, r->value, r->value_len, NULL, 0, &invalid);
    if (!c->value) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    if (invalid && !bad)
      bad = "value";
    if (bad) {
      rc = lh_error_set(err, LH_EINVAL,
                        "row %" PRIu64 ": statement row: column '%s' is not valid UTF-8", f->seen,
                        bad);
      break;
    }
    b->keys_part = part;
    b->pkey[b->n] = prefix_of(c->prop);
    b->ikey[b->n] = prefix_of(c->id);
    /* runs of one entity become groups */
    group *g = b->ngroups ? &b->groups[b->ngroups - 1] : NULL;
    if (g && g->part == part && g->entity_id == c->entity_id) {
      g->len++;
    } else {
      if (b->ngroups == b->groups_cap) {
        size_t cap = b->groups_cap ? b->groups_cap * 2 : 1024;
        group *ng = realloc(b->groups, cap * sizeof *ng);
        if (!ng) {
          rc = lh_error_set(err, LH_ENOMEM, "out of memory");
          break;
        }
        b->groups = ng;
        b->groups_cap = cap;
      }
      b->groups[b->ngroups++] =
          (group){part, (uint32_t)b->n, 1, prefix_of(c->entity_id), c->entity_id};
    }
    b->n++;
  }
  if (rc)
    f->failed = true;
  pthread_mutex_unlock(&f->mu);
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
  const lh_row *p = &b->rows[i], *q = &b->rows[j];
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
    b->sorted[out + i] = b->rows[o[i]];
    b->sorted_lens[out + i] = b->lens[o[i]];
  }
}

/* Order the batch by (partition, entity_id, prop, id): sort the entity groups, then each
 * entity's rows (several groups of one entity are sorted together). */
static void sort_batch(batch *b) {
  if (b->ngroups > 1)
    qsort(b->groups, b->ngroups, sizeof *b->groups, group_cmp);
  uint32_t *idx = malloc((b->n ? b->n : 1) * sizeof *idx); /* row indexes of one entity */
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
        idx[n++] = b->groups[k].start + i;
    sort_run(b, idx, n, out);
    out += n;
    g = h;
  }
  free(idx);
}

/* ---- writers
 * ------------------------------------------------------------------------------------- */

typedef struct writer {
  feed *f;
  duckdb_connection con; /* its own, except writer 0 (the store's) */
  lh__row_source src;
  batch b;
  bool primed;         /* b holds a batch filled before the COPY started */
  const char *copy_to; /* " TO '...' (options)" of the COPY */
  pthread_t thread;
  bool started;
  int rc;
  lh_error err;
} writer;

/* lh_rows() pulls from here: the current batch in chunks, then the next batch. */
static int writer_next(void *ctx, const lh_row **rows, const lh__row_lens **lens, size_t *n,
                       lh_error *err) {
  writer *w = ctx;
  batch *b = &w->b;
  if (w->primed) { /* the batch filled before the COPY started */
    w->primed = false;
  } else if (b->pos == b->n) {
    int rc = take_batch(w->f, b, err);
    if (rc)
      return rc;
    sort_batch(b);
  }
  size_t take = b->n - b->pos < 2048 ? b->n - b->pos : 2048;
  *rows = b->sorted + b->pos;
  *lens = b->sorted_lens + b->pos;
  *n = take;
  b->pos += take;
  return 0;
}

static int locked_on_written(void *ctx, size_t ncols, const char *const *names,
                             const char *const *v, lh_error *err) {
  feed *f = ctx;
  pthread_mutex_lock(&f->mu);
  int rc = lh__on_written(&f->w, ncols, names, v, err);
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int writer_run(writer *w) {
  lh__duck *d = &w->f->st->duck;
  duckdb_connection con = w->con ? w->con : d->con;
  int rc = lh__duck_source_add(d, &w->src, &w->err);
  if (rc)
    return rc;
  char *sql = NULL;
  if (asprintf(&sql, "COPY (SELECT * FROM lh_rows(%d))%s", w->src.slot, w->copy_to) < 0) {
    lh__duck_source_remove(d, &w->src);
    return lh_error_set(&w->err, LH_ENOMEM, "out of memory");
  }
  rc = lh__duck_each_row_on(d, con, sql, &w->src, locked_on_written, w->f, &w->err);
  free(sql);
  lh__duck_source_remove(d, &w->src);
  if (rc) {
    pthread_mutex_lock(&w->f->mu);
    w->f->failed = true;
    pthread_mutex_unlock(&w->f->mu);
  }
  return rc;
}

static void *writer_main(void *arg) {
  writer *w = arg;
  w->rc = writer_run(w);
  return NULL;
}

int lh__writer_count(const lh_statement_store *st) {
  long n = st->append_writers > 0 ? st->append_writers : sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MAX_WRITERS ? MAX_WRITERS : (int)n;
}

static int connect_writer(lh__duck *d, writer *w, lh_error *err) {
  int rc = lh__duck_connect(d, &w->con, err);
  if (rc)
    return rc;
  duckdb_result res;
  if (duckdb_query(w->con, FLUSH_THRESHOLD_SQL, &res) == DuckDBError) {
    duckdb_destroy_result(&res);
    duckdb_disconnect(&w->con);
    return lh_error_set(err, LH_EIO, "cannot configure a DuckDB connection");
  }
  duckdb_destroy_result(&res);
  return 0;
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
  feed f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  f.st = st;
  f.next = next;
  f.ctx = ctx;
  lh__strmap_init(&f.parts);
  f.w = (lh__written){st, &actions, NULL, true, 0, 0, 0, NULL, 0, 0};
  int nwriters = lh__writer_count(st);
  writer ws[MAX_WRITERS];
  memset(ws, 0, sizeof ws);
  lh_buf sql = LH_BUF_INIT;
  rc = lh_buf_puts(&sql, " TO ");
  rc = rc ? rc : lh__sql_quote(&sql, st->root);
  rc = rc ? rc
          : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (shard, bucket, "
                              "origin), APPEND, FILENAME_PATTERN 'part-{uuid}', RETURN_STATS true, "
                              "COMPRESSION_LEVEL 1)");
  if (rc) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < nwriters; i++) {
    ws[i].f = &f;
    ws[i].copy_to = sql.data;
    ws[i].src = (lh__row_source){writer_next, &ws[i], -1, 0, {0}};
    lh__arena_init(&ws[i].b.arena, 1 << 20, 0);
  }
  if ((rc = lh_fence_shared(st->dataset, &fo, &fence, err)) != 0)
    goto done;
  if ((rc = lh__duck_exec(&st->duck, FLUSH_THRESHOLD_SQL, err)) != 0)
    goto done;
  /* the first batch decides: if it holds every row, one writer does */
  if ((rc = take_batch(&f, &ws[0].b, err)) != 0)
    goto done;
  sort_batch(&ws[0].b);
  ws[0].primed = true;
  if (ws[0].b.n == 0)
    goto done; /* nothing to append */
  if (f.eof && f.pos == f.npending)
    nwriters = 1;
  for (int i = 1; i < nwriters; i++) {
    if ((rc = connect_writer(&st->duck, &ws[i], err)) != 0 ||
        (rc = pthread_create(&ws[i].thread, NULL, writer_main, &ws[i])) != 0) {
      if (rc > 0)
        rc = lh_error_set(err, LH_EIO, "cannot start a writer thread");
      pthread_mutex_lock(&f.mu);
      f.failed = true;
      pthread_mutex_unlock(&f.mu);
      break;
    }
    ws[i].started = true;
  }
  int rc0 = rc ? 0 : writer_run(&ws[0]);
  if (rc0 && !rc) {
    rc = rc0;
    *err = ws[0].err;
  }
  for (int i = 1; i < nwriters; i++) {
    if (!ws[i].started)
      continue;
    pthread_join(ws[i].thread, NULL);
    ws[i].started = false;
    if (ws[i].rc && !rc) {
      rc = ws[i].rc;
      *err = ws[i].err;
    }
  }
  if (rc)
    goto done;
  if (!f.eof || f.w.rows != f.seen) { /* every row taken, every row taken written */
    rc = lh_error_set(err, LH_EINTERNAL, "append: %" PRIu64 " rows given but %" PRIu64 " written",
                      f.seen, f.w.rows);
    goto done;
  }
  lh__crashpoint("append:parquet-written");
  /* partitions are dirty from now on: tags first, as the Python project does, inside the
   * fence so that no merge can slip between the tags and the commit */
  if ((rc = tag_partitions(st, &f, start, err)) != 0)
    goto done;
  lh__crashpoint("append:tags-set");
  rc = lh__delta_commit(st->table, &st->duck, &st->snap, &actions, "WRITE", &res->version, err);
  if (rc == 0) {
    res->rows = f.w.rows;
    res->files = f.w.files;
  }
done:
  lh__written_discard(&f.w, res->version >= 0);
  lh_fence_release(fence);
  for (int i = 0; i < MAX_WRITERS; i++) {
    if (ws[i].con)
      duckdb_disconnect(&ws[i].con);
    free(ws[i].b.rows);
    free(ws[i].b.lens);
    free(ws[i].b.sorted);
    free(ws[i].b.sorted_lens);
    free(ws[i].b.order);
    free(ws[i].b.pkey);
    free(ws[i].b.ikey);
    free(ws[i].b.groups);
    if (ws[i].f)
      lh__arena_free(&ws[i].b.arena);
  }
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  lh__strmap_free(&f.parts);
  for (size_t i = 0; i < f.nparts; i++)
    free(f.part_keys[i]);
  free(f.part_keys);
  free(f.last_origin);
  pthread_mutex_destroy(&f.mu);
  return rc;
}
