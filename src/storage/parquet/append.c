/* The statement store's append (see statement_store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crashpoint.h"
#include "core/sort.h"
#include "core/strmap.h"
#include "lakehouse/log.h"
#include "lakehouse/merge.h"
#include "lakehouse/validate.h"
#include "storage/parquet/store_internal.h"

#define APPEND_BATCH_ROWS 500000
#define APPEND_BATCH_BYTES ((size_t)256 << 20)

/* ---- append -------------------------------------------------------------------------------------
 */

/* A sorted batch of rows whose strings live in an arena. */
typedef struct batch {
  lh_row *rows;
  size_t n, cap, pos;
  lh__arena arena;
  bool served;
} batch;

static const char *keep(batch *b, const char *s, size_t n) {
  return s ? lh__arena_strndup(&b->arena, s, n) : NULL;
}

static int row_cmp(const void *x, const void *y) {
  const lh_row *a = x, *b = y;
  int c = strcmp(a->shard, b->shard);
  if (c)
    return c;
  if (a->bucket != b->bucket)
    return strcmp(lh_bucket_name(a->bucket), lh_bucket_name(b->bucket));
  if ((c = strcmp(a->origin, b->origin)) || (c = strcmp(a->entity_id, b->entity_id)) ||
      (c = strcmp(a->prop, b->prop)))
    return c;
  return strcmp(a->id, b->id);
}

static int batch_next(void *ctx, const lh_row **rows, size_t *n, lh_error *err) {
  (void)err;
  batch *b = ctx;
  size_t left = b->n - b->pos, take = left < 2048 ? left : 2048;
  *rows = b->rows + b->pos;
  *n = take;
  b->pos += take;
  return 0;
}

typedef struct appender {
  lh_statement_store *st;
  lh_row_batch_fn next;
  void *ctx;
  const lh_row *pending; /* rows handed out by next() not yet copied */
  size_t npending, pending_pos;
  bool eof;
  uint64_t seen;
  lh__strmap parts; /* partitions written: "shard/bucket/origin" -> 1 */
  char **part_keys;
  size_t nparts, parts_cap;
} appender;

static int note_part(appender *a, const lh_row *r, lh_error *err) {
  char key[512];
  snprintf(key, sizeof key, "%s\x1f%s\x1f%s", r->shard, lh_bucket_name(r->bucket), r->origin);
  if (lh__strmap_get(&a->parts, key, NULL))
    return 0;
  if (a->nparts == a->parts_cap) {
    size_t cap = a->parts_cap ? a->parts_cap * 2 : 16;
    char **nk = realloc(a->part_keys, cap * sizeof *nk);
    if (!nk)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    a->part_keys = nk;
    a->parts_cap = cap;
  }
  if (!(a->part_keys[a->nparts] = strdup(key)))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh__strmap_put(&a->parts, a->part_keys[a->nparts], 1);
  a->nparts++;
  return 0;
}

/* Fill the batch from the source: copies, validates and sorts. */
static int fill_batch(appender *a, batch *b, lh_error *err) {
  b->n = b->pos = 0;
  lh__arena_reset(&b->arena);
  while (b->n < APPEND_BATCH_ROWS && b->arena.total < APPEND_BATCH_BYTES) {
    if (a->pending_pos == a->npending) {
      if (a->eof)
        break;
      a->pending_pos = a->npending = 0;
      int rc = a->next(a->ctx, &a->pending, &a->npending, err);
      if (rc)
        return rc;
      if (a->npending == 0) {
        a->eof = true;
        break;
      }
    }
    const lh_row *r = &a->pending[a->pending_pos++];
    a->seen++;
    int rc = lh_row_check(r, err);
    if (rc)
      return lh_error_prefix(err, "row %" PRIu64, a->seen);
    if (b->n == b->cap) {
      size_t cap = b->cap ? b->cap * 2 : 4096;
      lh_row *nr = realloc(b->rows, cap * sizeof *nr);
      if (!nr)
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      b->rows = nr;
      b->cap = cap;
    }
    lh_row *c = &b->rows[b->n];
    *c = *r;
    c->id = keep(b, r->id, strlen(r->id));
    c->entity_id = keep(b, r->entity_id, strlen(r->entity_id));
    c->dataset = keep(b, r->dataset, strlen(r->dataset));
    c->origin = keep(b, r->origin, strlen(r->origin));
    c->source = r->source ? keep(b, r->source, strlen(r->source)) : NULL;
    c->schema = keep(b, r->schema, strlen(r->schema));
    c->prop = keep(b, r->prop, strlen(r->prop));
    c->prop_type = r->prop_type ? keep(b, r->prop_type, strlen(r->prop_type)) : NULL;
    c->value = keep(b, r->value, r->value_len);
    c->original_value =
        r->original_value ? keep(b, r->original_value, strlen(r->original_value)) : NULL;
    c->lang = r->lang ? keep(b, r->lang, strlen(r->lang)) : NULL;
    c->fragment = keep(b, r->fragment, strlen(r->fragment));
    if (!c->id || !c->entity_id || !c->dataset || !c->origin || !c->schema || !c->prop ||
        !c->value || !c->fragment)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    if ((rc = note_part(a, c, err)) != 0)
      return rc;
    b->n++;
  }
  lh__qsort(b->rows, b->n, sizeof *b->rows, row_cmp);
  return 0;
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
  batch b = {0};
  lh__arena_init(&b.arena, 1 << 20, 0);
  appender a = {st, next, ctx, NULL, 0, 0, false, 0, {0}, NULL, 0, 0};
  lh__strmap_init(&a.parts);
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  lh__written w = {st, &actions, NULL, true, 0, 0, 0, NULL, 0, 0};
  lh_buf sql = LH_BUF_INIT;
  if ((rc = lh_fence_shared(st->dataset, &fo, &fence, err)) != 0)
    goto done;
  /* row order inside partition files: DuckDB writes each input chunk's slice at once */
  if ((rc = lh__duck_exec(&st->duck, "SET partitioned_write_flush_threshold = 1", err)) != 0)
    goto done;
  rc = lh_buf_puts(&sql, "COPY (SELECT * FROM lh_rows()) TO ");
  rc = rc ? rc : lh__sql_quote(&sql, st->root);
  rc =
      rc ? rc
         : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (shard, bucket, "
                             "origin), APPEND, FILENAME_PATTERN 'part-{uuid}', RETURN_STATS true)");
  if (rc) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (;;) {
    if ((rc = fill_batch(&a, &b, err)) != 0)
      goto done;
    if (b.n == 0)
      break;
    lh__row_source src = {batch_next, &b};
    st->duck.source = &src;
    rc = lh__duck_each_row(&st->duck, sql.data, lh__on_written, &w, err);
    st->duck.source = NULL;
    if (rc)
      goto done;
  }
  if (w.files == 0)
    goto done; /* nothing to append */
  lh__crashpoint("append:parquet-written");
  /* partitions are dirty from now on: tags first, as the Python project does, inside the
   * fence so that no merge can slip between the tags and the commit */
  for (size_t i = 0; i < a.nparts && !rc; i++) {
    char *parts[3], *save = NULL;
    char *k = strdup(a.part_keys[i]);
    if (!k) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    parts[0] = strtok_r(k, "\x1f", &save);
    parts[1] = strtok_r(NULL, "\x1f", &save);
    parts[2] = strtok_r(NULL, "\x1f", &save);
    char *tag = parts[2] ? lh_tag_partition_updated(parts[0], parts[1], parts[2], err) : NULL;
    rc = tag ? lh_tags_set(st->tags, tag, start, err) : LH_EINTERNAL;
    free(tag);
    free(k);
  }
  if (rc == 0)
    rc = lh_tags_set(st->tags, LH_TAG_STATEMENTS_UPDATED, start, err);
  if (rc == 0) {
    lh__crashpoint("append:tags-set");
    rc = lh__delta_commit(st->table, &st->duck, &st->snap, &actions, "WRITE", &res->version, err);
  }
  if (rc == 0) {
    res->rows = w.rows;
    res->files = w.files;
  }
done:
  lh__written_discard(&w, res->version >= 0);
  st->duck.source = NULL;
  lh_fence_release(fence);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  free(b.rows);
  lh__arena_free(&b.arena);
  lh__strmap_free(&a.parts);
  for (size_t i = 0; i < a.nparts; i++)
    free(a.part_keys[i]);
  free(a.part_keys);
  return rc;
}
