/* The entity repository: journal writers, flush into the statement store, tombstones, and
 * the read paths over the store's live view. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/sql.h"
#include "core/thread.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "logic/aggregate.h"
#include "repository/context.h"
#include "repository/entities_internal.h"
#include "storage/tags.h"

/* ---- tags -------------------------------------------------------------------------------- */

static int touch_tag(lh_dataset *ds, const char *key, lh_time t, lh_error *err) {
  return lh_tags_set(ds->tags, key, t, err);
}

/* ---- writer -------------------------------------------------------------------------------- */

struct lh_entity_writer {
  lh_dataset *ds;
  lh_journal *journal;
  lh_entity_buffer *buf; /* being filled */
  size_t batch;
  uint64_t inserted; /* guarded by mu when in the background */
  lh_time started;
  lh_buffer_opts opts; /* of buf, for the spare buffer (origin: our copy) */
  char *origin;
  /* background inserts (lh_entity_writer_set_background) */
  bool background;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lh_entity_buffer *spare;   /* the other buffer, free */
  lh_entity_buffer *pending; /* handed to the thread, its rows taken */
  const lh_row *rows;
  size_t nrows;
  bool stop;
  int bg_rc; /* the first failed insert */
  lh_error bg_err;
};

int lh_entities_writer(lh_dataset *ds, const char *origin, lh_entity_writer **out, lh_error *err) {
  lh_buffer_opts bo = {.origin = origin, .last_seen = LH_TIME_NULL, .now = LH_TIME_NULL};
  return lh_entities_writer_with(ds, &bo, out, err);
}

static lh_buffer_opts writer_buffer_opts(lh_dataset *ds, const lh_buffer_opts *opts) {
  lh_buffer_opts bo = *opts;
  bo.dataset = ds->name;
  bo.shards = ds->shards;
  bo.max_rows = SIZE_MAX / 2;
  return bo;
}

int lh_entities_writer_with(lh_dataset *ds, const lh_buffer_opts *opts, lh_entity_writer **out,
                            lh_error *err) {
  *out = NULL;
  lh_journal *j;
  int rc = lh__ctx_journal(ds, &j, err);
  if (rc)
    return rc;
  lh_entity_writer *w = calloc(1, sizeof *w);
  if (!w)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  w->opts = writer_buffer_opts(ds, opts);
  if (opts->origin && !(w->opts.origin = w->origin = strdup(opts->origin))) {
    free(w);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  rc = lh_entity_buffer_new(&w->opts, &w->buf, err);
  if (rc) {
    free(w->origin);
    free(w);
    return rc;
  }
  w->ds = ds;
  w->journal = j;
  w->batch = LH_WRITE_BATCH_SIZE;
  w->started = lh_time_now();
  *out = w;
  return 0;
}

void lh_entity_writer_set_batch_size(lh_entity_writer *w, size_t rows) {
  w->batch = rows ? rows : 1;
}

uint64_t lh_entity_writer_inserted(const lh_entity_writer *w) {
  if (!w->background)
    return w->inserted;
  pthread_mutex_lock((pthread_mutex_t *)&w->mu);
  uint64_t n = w->inserted;
  pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
  return n;
}

static void *inserter_main(void *arg) {
  lh_entity_writer *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->pending && !w->stop)
      pthread_cond_wait(&w->cv, &w->mu);
    if (!w->pending)
      break; /* stopped, nothing left */
    lh_entity_buffer *b = w->pending;
    const lh_row *rows = w->rows;
    size_t n = w->nrows;
    pthread_mutex_unlock(&w->mu);
    lh_error err = {0};
    int rc = w->bg_rc ? 0 : lh_journal_insert(w->journal, rows, n, &err);
    lh_entity_buffer_clear(b);
    pthread_mutex_lock(&w->mu);
    if (rc && !w->bg_rc) {
      w->bg_rc = rc;
      w->bg_err = err;
    } else if (!rc) {
      w->inserted += n;
    }
    w->spare = b;
    w->pending = NULL;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

int lh_entity_writer_set_background(lh_entity_writer *w, lh_error *err) {
  if (w->background)
    return 0;
  int rc = lh_entity_buffer_new(&w->opts, &w->spare, err);
  if (rc)
    return rc;
  rc = lh_journal_bulk(w->journal, true, err);
  if (rc) {
    lh_entity_buffer_free(w->spare);
    w->spare = NULL;
    return rc;
  }
  if (!lh__thread_start(&w->thread, &w->mu, &w->cv, inserter_main, w)) {
    lh_entity_buffer_free(w->spare);
    w->spare = NULL;
    lh_journal_bulk(w->journal, false, NULL);
    return lh_error_set(err, LH_EIO, "cannot start the journal inserter thread");
  }
  w->background = true;
  return 0;
}

/* Wait until the thread is idle; its failure, if any, becomes ours. Called under mu. */
static int wait_idle(lh_entity_writer *w, lh_error *err) {
  while (w->pending)
    pthread_cond_wait(&w->cv, &w->mu);
  if (w->bg_rc) {
    lh_error_copy(err, &w->bg_err);
    return w->bg_rc;
  }
  return 0;
}

/* Hand the buffer's rows to the thread and go on with the spare buffer. */
static int hand_over(lh_entity_writer *w, lh_error *err) {
  const lh_row *rows;
  size_t n;
  pthread_mutex_lock(&w->mu);
  int rc = wait_idle(w, err);
  if (!rc)
    rc = lh_entity_buffer_take(w->buf, LH_TIME_NULL, &rows, &n, err);
  if (!rc) {
    w->pending = w->buf;
    w->rows = rows;
    w->nrows = n;
    w->buf = w->spare;
    w->spare = NULL;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

int lh_entity_writer_flush(lh_entity_writer *w, lh_error *err) {
  if (w->background) {
    int rc = lh_entity_buffer_rows(w->buf) ? hand_over(w, err) : 0;
    pthread_mutex_lock(&w->mu);
    if (!rc)
      rc = wait_idle(w, err);
    pthread_mutex_unlock(&w->mu);
    return rc;
  }
  if (lh_entity_buffer_rows(w->buf) == 0) {
    lh_entity_buffer_clear(w->buf);
    return 0;
  }
  const lh_row *rows;
  size_t n;
  int rc = lh_entity_buffer_take(w->buf, LH_TIME_NULL, &rows, &n, err);
  if (!rc)
    rc = lh_journal_insert(w->journal, rows, n, err);
  if (rc)
    return rc;
  w->inserted += n;
  lh_entity_buffer_clear(w->buf);
  return 0;
}

static int after_add(lh_entity_writer *w, int rc, lh_error *err) {
  if (rc || lh_entity_buffer_rows(w->buf) < w->batch)
    return rc;
  return w->background ? hand_over(w, err) : lh_entity_writer_flush(w, err);
}

/* Stop the background thread (after the insert in progress). */
static void stop_background(lh_entity_writer *w) {
  if (!w->background)
    return;
  lh__thread_end(w->thread, &w->mu, &w->cv, &w->stop);
  lh_entity_buffer_free(w->spare);
  w->spare = NULL;
  w->background = false;
  lh_journal_bulk(w->journal, false, NULL);
}

int lh_entity_writer_add_entity(lh_entity_writer *w, const lh_entity *e, const char *origin,
                                const char *fragment, lh_error *err) {
  return after_add(w, lh_entity_buffer_add_entity(w->buf, e, origin, fragment, err), err);
}

int lh_entity_writer_add_statement(lh_entity_writer *w, const lh_statement *st, lh_time deleted_at,
                                   const char *fragment, const char *origin, lh_error *err) {
  return after_add(w, lh_entity_buffer_add_statement(w->buf, st, deleted_at, fragment, origin, err),
                   err);
}

int lh_entity_writer_close(lh_entity_writer *w, lh_error *err) {
  int rc = lh_entity_writer_flush(w, err);
  if (!rc)
    rc = touch_tag(w->ds, LH_TAG_JOURNAL_UPDATED, w->started, err);
  if (rc) {
    lh_entity_writer_abort(w);
    return rc;
  }
  stop_background(w);
  lh_entity_buffer_free(w->buf);
  free(w->origin);
  free(w);
  return 0;
}

void lh_entity_writer_abort(lh_entity_writer *w) {
  if (!w)
    return;
  stop_background(w);
  lh_entity_buffer_free(w->buf);
  free(w->origin);
  free(w);
}

int lh_entities_add(lh_dataset *ds, lh_entity *const *entities, size_t n, const char *origin,
                    const char *fragment, lh_error *err) {
  lh_entity_writer *w;
  int rc = lh_entities_writer(ds, origin, &w, err);
  for (size_t i = 0; !rc && i < n; i++)
    rc = lh_entity_writer_add_entity(w, entities[i], NULL, fragment, err);
  if (rc) {
    lh_entity_writer_abort(w);
    return rc;
  }
  return lh_entity_writer_close(w, err);
}

/* ---- flush ------------------------------------------------------------------------------------
 */

typedef struct flush_ctx {
  lh_statement_store *st;
  int shards;
  lh_row_batch_fn next; /* the segment's rows */
  void *next_ctx;
} flush_ctx;

/* Journal rows carry the shard their writer computed, with the shard count of its config.yml
 * at that time; the store holds them under the count it checked against config.yml now, so
 * each row's shard is computed again (once per entity: rows of an entity come together). */
static int reshard_next(void *ctx, const lh_row **rows, size_t *n, lh_error *err) {
  flush_ctx *f = ctx;
  int rc = f->next(f->next_ctx, rows, n, err);
  if (rc || *n == 0)
    return rc;
  lh_row *w = (lh_row *)*rows; /* the journal's own read buffer, ours until the next call */
  const char *last = NULL;
  char shard[LH_SHARD_SIZE] = "";
  for (size_t i = 0; i < *n; i++) {
    if (!w[i].entity_id)
      continue; /* refused by the store's row check */
    if (!last || strcmp(last, w[i].entity_id) != 0) {
      last = w[i].entity_id;
      lh_entity_shard(last, strlen(last), f->shards, shard);
    }
    memcpy(w[i].shard, shard, sizeof shard);
  }
  return 0;
}

static int drain_segment(void *ctx, const char *segment, lh_row_batch_fn next, void *next_ctx,
                         lh_error *err) {
  flush_ctx *f = ctx;
  f->next = next;
  f->next_ctx = next_ctx;
  lh_append_result res;
  int rc = lh_statement_store_append(f->st, reshard_next, f, &res, err);
  if (!rc)
    lh_log_debug("journal %s: %" PRIu64 " rows committed as version %" PRId64, segment, res.rows,
                 res.version);
  return rc;
}

int lh_entities_flush(lh_dataset *ds, lh_flush_result *res, lh_error *err) {
  lh_flush_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  lh_journal *j;
  lh_statement_store *st;
  int rc = lh__ctx_journal(ds, &j, err);
  if (!rc)
    rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  lh_time started = lh_time_now();
  flush_ctx f = {st, ds->shards, NULL, NULL};
  lh_journal_flush_result jr;
  rc = lh_journal_flush(j, ds->shards > 1, drain_segment, &f, &jr, err);
  res->rows = jr.rows;
  res->segments = jr.segments;
  res->busy = jr.busy;
  if (rc)
    return rc;
  if (jr.busy)
    return 0;
  rc = touch_tag(ds, LH_TAG_JOURNAL_FLUSHED, started, err);
  if (!rc && jr.rows == 0) {
    /* a baseline so freshness checks work on an empty store */
    rc = lh_tags_exists(ds->tags, LH_TAG_STATEMENTS_OPTIMIZED, err);
    if (rc == 0)
      rc = lh_tags_set(ds->tags, LH_TAG_STATEMENTS_OPTIMIZED, started, err);
    else if (rc == 1)
      rc = 0;
  }
  if (!rc)
    lh_log_debug("flushed %" PRIu64 " statements of '%s' from %zu journal segment(s)", jr.rows,
                 ds->name, jr.segments);
  return rc;
}

int lh_entities_journal_count(lh_dataset *ds, uint64_t *n, lh_error *err) {
  lh_journal *j;
  int rc = lh__ctx_journal(ds, &j, err);
  return rc ? rc : lh_journal_count(j, n, err);
}

/* ---- delete -----------------------------------------------------------------------------------
 */

static void statement_of_row(const lh_row *r, lh_statement *st) {
  memset(st, 0, sizeof *st);
  snprintf(st->id, sizeof st->id, "%s", r->id);
  st->entity_id = r->entity_id;
  st->prop = r->prop;
  st->prop_type = r->prop_type;
  st->schema = r->schema;
  st->value = r->value;
  st->value_len = r->value_len;
  st->dataset = r->dataset;
  st->lang = r->lang;
  st->original_value = r->original_value;
  st->origin = r->origin;
  st->fragment = r->fragment;
  st->external = r->external;
  st->first_seen = r->first_seen;
  st->last_seen = r->last_seen;
}

typedef struct tomb_ctx {
  lh_entity_buffer *buf;
  lh_time now;
} tomb_ctx;

static int add_tombstone(void *ctx, const lh_row *r, lh_error *err) {
  tomb_ctx *t = ctx;
  lh_statement st;
  statement_of_row(r, &st);
  /* the tombstone keeps the row's origin and fragment: it shadows that supersession group */
  return lh_entity_buffer_add_statement(t->buf, &st, t->now, r->fragment, r->origin, err);
}

int lh_entities_delete(lh_dataset *ds, const char *entity_id, uint64_t *n, lh_error *err) {
  *n = 0;
  lh_journal *j;
  lh_statement_store *st;
  int rc = lh__ctx_journal(ds, &j, err);
  if (!rc)
    rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  lh_buffer_opts bo = {.dataset = ds->name,
                       .shards = ds->shards,
                       .max_rows = SIZE_MAX / 2,
                       .last_seen = LH_TIME_NULL,
                       .now = LH_TIME_NULL};
  lh_entity_buffer *buf;
  rc = lh_entity_buffer_new(&bo, &buf, err);
  if (rc)
    return rc;
  tomb_ctx t = {buf, lh_time_now()};
  lh_buf where = LH_BUF_INIT;
  rc = lh_buf_puts(&where, "entity_id = ") || lh__sql_quote(&where, entity_id)
           ? lh_error_set(err, LH_ENOMEM, "out of memory")
           : 0;
  int64_t version = -1;
  if (!rc)
    rc = lh_statement_store_version(st, &version, err);
  if (!rc && version >= 0)
    rc = lh_statement_store_rows(st, false, where.data, NULL, -1, add_tombstone, &t, err);
  /* journal rows come second: they override the store's (last write wins) */
  if (!rc)
    rc = lh_journal_iterate_entity(j, entity_id, add_tombstone, &t, err);
  lh_buf_free(&where);
  const lh_row *rows;
  size_t nrows = 0;
  if (!rc && lh_entity_buffer_rows(buf) > 0) {
    rc = lh_entity_buffer_take(buf, t.now, &rows, &nrows, err);
    if (!rc)
      rc = lh_journal_insert(j, rows, nrows, err);
    if (!rc)
      rc = touch_tag(ds, LH_TAG_JOURNAL_UPDATED, t.now, err);
  }
  lh_entity_buffer_free(buf);
  if (!rc)
    *n = nrows;
  return rc;
}

/* The store to read: 1 when it has a table, 0 when the dataset has no statements yet. */
static int readable_store(lh_dataset *ds, lh_statement_store **st, lh_error *err) {
  int rc = lh__ctx_statements(ds, st, err);
  if (rc)
    return rc;
  int64_t version;
  if ((rc = lh_statement_store_version(*st, &version, err)) != 0)
    return rc;
  return version >= 0 ? 1 : 0;
}

/* ---- queries -----------------------------------------------------------------------------------
 */

static int put_list(lh_buf *b, const char *const *items, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((i && lh_buf_puts(b, ", ")) || lh__sql_quote(b, items[i]))
      return LH_ENOMEM;
  return 0;
}

static int cmp_prop_filter(const void *a, const void *b, void *ctx) {
  const lh_prop_filter *f = ctx;
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  int c = strcmp(f[x].prop, f[y].prop);
  return c ? c : (x > y) - (x < y);
}

/* 1 when name is a property of some schema (*type NULL) or a type group (*type its type),
 * 0 when neither. */
static int prop_filter_kind(const lh_model *model, const char *name, const char **type) {
  *type = NULL;
  for (int t = 0; t <= (int)LH_TYPE_UNKNOWN; t++) {
    const lh_type *ty = lh_model_type_by_id(model, (lh_type_id)t);
    if (ty && ty->group && strcmp(ty->group, name) == 0) {
      *type = ty->name;
      return 1;
    }
  }
  for (size_t i = 0; i < lh_model_schema_count(model); i++)
    if (lh_schema_property(lh_model_schema_at(model, i), name))
      return 1;
  return 0;
}

/* ---- the filter expression -> SQL over the `statement` view --------------------------------- */

typedef struct compiler {
  const lh_model *model;
  const char *dataset;
  const char *from; /* the view the conditions read: statement, or statement_slice */
  lh_buf *w;
  lh_error *err;
} compiler;

static int put_values(lh_buf *w, const lh_qnode *n) {
  for (size_t i = 0; i < n->nvalues; i++)
    if ((i && lh_buf_puts(w, ", ")) || lh__sql_quote(w, n->values[i]))
      return LH_ENOMEM;
  return 0;
}

/* `col <cmp> values` */
static int put_compare(lh_buf *w, const char *col, const lh_qnode *n) {
  const char *v0 = n->nvalues ? n->values[0] : "";
  lh_buf pat = LH_BUF_INIT;
  int rc = 0;
  switch (n->cmp) {
  case LH_QC_EQ:
  case LH_QC_IN:
  case LH_QC_NOT:
  case LH_QC_NOT_IN: {
    bool neg = n->cmp == LH_QC_NOT || n->cmp == LH_QC_NOT_IN;
    rc = lh_buf_printf(w, "%s %sIN (", col, neg ? "NOT " : "") || put_values(w, n) ||
         lh_buf_putc(w, ')');
    break;
  }
  case LH_QC_GT:
  case LH_QC_GTE:
  case LH_QC_LT:
  case LH_QC_LTE: {
    static const char *const OPS[] = {">", ">=", "<", "<="};
    rc = lh_buf_printf(w, "%s %s ", col, OPS[n->cmp - LH_QC_GT]) || lh__sql_quote(w, v0);
    break;
  }
  case LH_QC_LIKE:
  case LH_QC_ILIKE:
  case LH_QC_NOTLIKE:
  case LH_QC_NOTILIKE: {
    bool neg = n->cmp == LH_QC_NOTLIKE || n->cmp == LH_QC_NOTILIKE;
    bool ci = n->cmp == LH_QC_ILIKE || n->cmp == LH_QC_NOTILIKE;
    rc = lh_buf_printf(&pat, "%%%s%%", v0) ||
         lh_buf_printf(w, "%s %s%s ", col, neg ? "NOT " : "", ci ? "ILIKE" : "LIKE") ||
         lh__sql_quote(w, pat.data);
    break;
  }
  case LH_QC_STARTSWITH:
  case LH_QC_ENDSWITH:
    rc = lh_buf_printf(w, "%s(%s, ", n->cmp == LH_QC_STARTSWITH ? "starts_with" : "suffix", col) ||
         lh__sql_quote(w, v0) || lh_buf_putc(w, ')');
    break;
  case LH_QC_NULL: rc = lh_buf_puts(w, "true"); break;
  }
  lh_buf_free(&pat);
  return rc ? LH_ENOMEM : 0;
}

static bool truthy_value(const lh_qnode *n) {
  const char *v = n->nvalues ? n->values[0] : "true";
  return strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

static int compile_leaf(compiler *c, const lh_qnode *n) {
  lh_buf *w = c->w;
  const char *f = n->field;
  if (n->nvalues == 0 && n->cmp != LH_QC_NULL)
    return lh_error_set(c->err, LH_EINVAL, "query: '%s' has no value", f);
  if (strcmp(f, "id") == 0 || strcmp(f, "entity_id") == 0 || strcmp(f, "canonical_id") == 0) {
    if (n->cmp == LH_QC_NULL) /* every entity has an id */
      return lh_buf_puts(w, truthy_value(n) ? "false" : "true") ? LH_ENOMEM : 0;
    return put_compare(w, "entity_id", n);
  }
  if (strcmp(f, "dataset") == 0 || strcmp(f, "datasets") == 0) {
    /* a dataset's store holds its own statements only: the leaf is true or false */
    bool match = false;
    for (size_t i = 0; i < n->nvalues; i++)
      match = match || strcmp(n->values[i], c->dataset) == 0;
    if (n->cmp == LH_QC_NOT || n->cmp == LH_QC_NOT_IN)
      match = !match;
    else if (n->cmp != LH_QC_EQ && n->cmp != LH_QC_IN)
      return lh_error_set(c->err, LH_EINVAL, "query: 'dataset' compares with eq, in, not only");
    return lh_buf_puts(w, match ? "true" : "false") ? LH_ENOMEM : 0;
  }
  /* everything else: the entities one of whose statements matches */
  lh_buf cond = LH_BUF_INIT;
  int rc = 0;
  const char *col = "value";
  if (strcmp(f, "schema") == 0 || strcmp(f, "origin") == 0 || strcmp(f, "fragment") == 0) {
    col = f;
  } else if (strcmp(f, "schemata") == 0) {
    if (n->cmp != LH_QC_EQ && n->cmp != LH_QC_IN)
      return lh_error_set(c->err, LH_EINVAL, "query: 'schemata' compares with eq and in only");
    rc = lh_buf_puts(&cond, "schema IN (");
    bool first = true;
    for (size_t i = 0; !rc && i < n->nvalues; i++) {
      const lh_schema *s = lh_model_schema(c->model, n->values[i]);
      if (!s) {
        lh_buf_free(&cond);
        return lh_error_set(c->err, LH_EINVAL, "query: unknown schema '%s'", n->values[i]);
      }
      rc = (!first && lh_buf_puts(&cond, ", ")) || lh__sql_quote(&cond, s->name);
      first = false;
      for (size_t d = 0; !rc && d < s->ndescendants; d++)
        rc = lh_buf_puts(&cond, ", ") || lh__sql_quote(&cond, s->descendants[d]->name);
    }
    rc = rc || lh_buf_putc(&cond, ')');
    col = NULL;
  } else {
    const char *prop = f;
    if (strncmp(prop, "properties.", 11) == 0)
      prop += 11;
    else if (strncmp(prop, "group.", 6) == 0)
      prop += 6;
    const char *type = NULL;
    if (!prop_filter_kind(c->model, prop, &type))
      return lh_error_set(c->err, LH_EINVAL,
                          "query: unknown field '%s' (a property name, a type group such as "
                          "countries, schema, schemata, id, origin or dataset)",
                          f);
    rc = lh_buf_puts(&cond, type ? "prop_type = " : "prop = ") ||
         lh__sql_quote(&cond, type ? type : prop);
    if (!rc && n->cmp != LH_QC_NULL)
      rc = lh_buf_puts(&cond, " AND ");
  }
  if (strcmp(f, "schema") == 0 && n->cmp != LH_QC_NULL)
    for (size_t i = 0; i < n->nvalues; i++)
      if ((n->cmp == LH_QC_EQ || n->cmp == LH_QC_IN) && !lh_model_schema(c->model, n->values[i])) {
        lh_buf_free(&cond);
        return lh_error_set(c->err, LH_EINVAL, "query: unknown schema '%s'", n->values[i]);
      }
  if (!rc && col && n->cmp != LH_QC_NULL)
    rc = put_compare(&cond, col, n);
  bool negate = n->cmp == LH_QC_NULL && truthy_value(n);
  if (!rc && n->cmp == LH_QC_NULL && !cond.len)
    rc = lh_buf_printf(&cond, "%s IS NOT NULL", col);
  rc = rc ||
       lh_buf_printf(w, "entity_id %sIN (SELECT entity_id FROM %s WHERE ", negate ? "NOT " : "",
                     c->from) ||
       lh_buf_append(w, cond.data, cond.len) || lh_buf_putc(w, ')');
  lh_buf_free(&cond);
  return rc ? lh_error_set(c->err, LH_ENOMEM, "out of memory") : 0;
}

static int compile_node(compiler *c, const lh_qnode *n, int depth) {
  if (depth > 64)
    return lh_error_set(c->err, LH_ELIMIT, "query: nested too deep");
  if (n->kind == LH_QN_LEAF)
    return compile_leaf(c, n);
  if (n->kind == LH_QN_NOT) {
    if (n->nchildren != 1)
      return lh_error_set(c->err, LH_EINVAL, "query: not() takes one expression");
    if (lh_buf_puts(c->w, "NOT ("))
      return LH_ENOMEM;
    int rc = compile_node(c, n->children[0], depth + 1);
    return rc ? rc : lh_buf_putc(c->w, ')') ? LH_ENOMEM : 0;
  }
  if (n->nchildren == 0)
    return lh_buf_puts(c->w, n->kind == LH_QN_AND ? "true" : "false") ? LH_ENOMEM : 0;
  if (lh_buf_putc(c->w, '('))
    return LH_ENOMEM;
  for (size_t i = 0; i < n->nchildren; i++) {
    if (i && lh_buf_puts(c->w, n->kind == LH_QN_AND ? " AND " : " OR "))
      return LH_ENOMEM;
    int rc = compile_node(c, n->children[i], depth + 1);
    if (rc)
      return rc;
  }
  return lh_buf_putc(c->w, ')') ? LH_ENOMEM : 0;
}

/* The WHERE condition of a query (NULL text when it has no filters). */
static int query_where(const lh_entity_query *q, const char *dataset, const char *from, lh_buf *w,
                       lh_error *err) {
  if (!q)
    return 0;
  const lh_model *model = lh_model_default(err);
  if (!model)
    return lh_error_code(err, LH_EINVAL);
  int rc = 0;
#define AND() (w->len && lh_buf_puts(w, " AND "))
  if (q->nentity_ids)
    rc = AND() || lh_buf_puts(w, "entity_id IN (") || put_list(w, q->entity_ids, q->nentity_ids) ||
         lh_buf_puts(w, ")");
  if (!rc && q->norigins)
    rc = AND() || lh_buf_puts(w, "origin IN (") || put_list(w, q->origins, q->norigins) ||
         lh_buf_puts(w, ")");
  if (!rc && q->nschema) {
    for (size_t i = 0; i < q->nschema; i++)
      if (!lh_model_schema(model, q->schema[i]))
        return lh_error_set(err, LH_EINVAL, "query: unknown schema '%s'", q->schema[i]);
    rc = AND() ||
         lh_buf_printf(w, "entity_id IN (SELECT entity_id FROM %s WHERE schema IN (", from) ||
         put_list(w, q->schema, q->nschema) || lh_buf_puts(w, "))");
  }
  if (!rc && q->nschemata) {
    rc =
        AND() || lh_buf_printf(w, "entity_id IN (SELECT entity_id FROM %s WHERE schema IN (", from);
    bool first = true;
    for (size_t i = 0; !rc && i < q->nschemata; i++) {
      const lh_schema *s = lh_model_schema(model, q->schemata[i]);
      if (!s)
        return lh_error_set(err, LH_EINVAL, "query: unknown schema '%s'", q->schemata[i]);
      rc = (!first && lh_buf_puts(w, ", ")) || lh__sql_quote(w, s->name);
      first = false;
      for (size_t d = 0; !rc && d < s->ndescendants; d++)
        rc = lh_buf_puts(w, ", ") || lh__sql_quote(w, s->descendants[d]->name);
    }
    rc = rc || lh_buf_puts(w, "))");
  }
  /* the values of one property (or type group) are OR-ed in one IN list; properties AND-ed */
  size_t *order = q->nprops ? malloc(q->nprops * sizeof *order) : NULL;
  if (q->nprops && !order)
    rc = LH_ENOMEM;
  for (size_t i = 0; i < q->nprops && order; i++)
    order[i] = i;
  if (order)
    qsort_r(order, q->nprops, sizeof *order, cmp_prop_filter, (void *)q->props);
  for (size_t i = 0; !rc && i < q->nprops;) {
    const lh_prop_filter *f = &q->props[order[i]];
    const char *type = NULL;
    int known = prop_filter_kind(model, f->prop, &type);
    if (!known) {
      free(order);
      return lh_error_set(err, LH_EINVAL,
                          "query: unknown property '%s' (filter:PROP takes a property name or a "
                          "type group such as countries or names)",
                          f->prop);
    }
    /* a type group ("countries") matches by prop_type, anything else by property name */
    rc = AND() || lh_buf_printf(w, "entity_id IN (SELECT entity_id FROM %s WHERE ", from) ||
         lh_buf_puts(w, type ? "prop_type = " : "prop = ") ||
         lh__sql_quote(w, type ? type : f->prop) || lh_buf_puts(w, " AND value IN (");
    size_t k = i;
    for (; !rc && k < q->nprops && strcmp(q->props[order[k]].prop, f->prop) == 0; k++)
      rc = (k > i && lh_buf_puts(w, ", ")) || lh__sql_quote(w, q->props[order[k]].value);
    rc = rc || lh_buf_puts(w, "))");
    i = k;
  }
  free(order);
  if (!rc && q->filter) {
    rc = AND();
    compiler c = {model, dataset, from, w, err};
    int crc = rc ? 0 : compile_node(&c, q->filter, 0);
    if (crc)
      return crc == LH_ENOMEM ? lh_error_set(err, LH_ENOMEM, "out of memory") : crc;
  }
#undef AND
  return rc ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
}

/* The SELECT of a query's statement rows (the 18 columns) from the view `from`, entities in
 * order (by id, or by the sort property: its smallest value, or largest when descending,
 * entities without one last), at most `limit` entities (< 0: all) after the first `offset`. */
static int query_select(const lh_entity_query *q, const char *dataset, const char *from,
                        int64_t limit, int64_t offset, lh_buf *sql, lh_error *err) {
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err ? err->code : LH_EINTERNAL;
  lh_buf where = LH_BUF_INIT;
  int rc = query_where(q, dataset, from, &where, err);
  if (rc) {
    lh_buf_free(&where);
    return rc;
  }
  bool sliced = limit >= 0 || offset > 0;
  const char *sort = q ? q->sort : NULL;
  const char *sort_type = NULL;
  if (sort && !prop_filter_kind(model, sort, &sort_type)) {
    lh_buf_free(&where);
    return lh_error_set(err, LH_EINVAL, "query: cannot sort by '%s': no such property", sort);
  }
  rc = lh_buf_puts(sql, "SELECT ");
  for (int c = 0; !rc && c < LH_ROW_NCOLUMNS; c++)
    rc = lh_buf_printf(sql, "%s%s%s", c ? ", " : "", sort ? "s." : "", LH_ROW_COLUMNS[c]);
  char range[96] = "";
  if (limit >= 0)
    snprintf(range, sizeof range, " LIMIT %lld", (long long)limit);
  if (offset > 0)
    snprintf(range + strlen(range), sizeof range - strlen(range), " OFFSET %lld",
             (long long)offset);
  if (rc) {
  } else if (sort) {
    /* the entities' sort keys first, sliced; then their statements in that order */
    const char *w = where.len ? where.data : "true";
    rc = lh_buf_printf(sql,
                       " FROM %s s JOIN (SELECT i.entity_id, k.lh_key FROM (SELECT "
                       "entity_id FROM %s WHERE %s GROUP BY entity_id) i LEFT JOIN (SELECT "
                       "entity_id, %s(value) AS lh_key FROM %s WHERE %s = ",
                       from, from, w, q->sort_desc ? "max" : "min", from,
                       sort_type ? "prop_type" : "prop") ||
         lh__sql_quote(sql, sort_type ? sort_type : sort) ||
         lh_buf_printf(sql,
                       " GROUP BY entity_id) k USING (entity_id) ORDER BY k.lh_key %s NULLS LAST, "
                       "i.entity_id%s) keys USING (entity_id) WHERE %s ORDER BY keys.lh_key %s "
                       "NULLS LAST, s.entity_id, s.prop, s.id",
                       q->sort_desc ? "DESC" : "ASC", range, w, q->sort_desc ? "DESC" : "ASC");
  } else {
    rc = lh_buf_printf(sql, " FROM %s", from);
    if (!rc && where.len)
      rc = lh_buf_printf(sql, " WHERE %s", where.data);
    if (!rc && sliced)
      rc = lh_buf_printf(sql,
                         "%s entity_id IN (SELECT entity_id FROM %s%s%s GROUP BY "
                         "entity_id ORDER BY entity_id%s)",
                         where.len ? " AND" : " WHERE", from, where.len ? " WHERE " : "",
                         where.len ? where.data : "", range);
    rc = rc || lh_buf_puts(sql, " ORDER BY entity_id, prop, id");
  }
  lh_buf_free(&where);
  return rc ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
}

typedef struct agg_ctx {
  lh_aggregator *agg;
  int64_t skip, left; /* offset and limit, in entities */
  lh_entity_fn fn;
  void *ctx;
  int stop; /* the consumer's non-zero return */
} agg_ctx;

#define LIMIT_REACHED 1

static int agg_entity(lh_entity *e, void *ctx) {
  agg_ctx *a = ctx;
  if (a->skip > 0) {
    a->skip--;
    return 0;
  }
  if (a->left == 0)
    return LIMIT_REACHED;
  if (a->left > 0)
    a->left--;
  int rc = a->fn(e, a->ctx);
  if (rc)
    a->stop = rc;
  return rc;
}

static int agg_row(void *ctx, const lh_row *r, lh_error *err) {
  agg_ctx *a = ctx;
  lh_statement st;
  statement_of_row(r, &st);
  int rc = lh_aggregator_add(a->agg, &st, err);
  if (rc == LIMIT_REACHED || (rc && a->stop))
    return LIMIT_REACHED;
  return rc;
}

/* ---- reads: entity-id slices, or one sorted query ------------------------------------------ */

/* The SQL of each slice of a sliced read: the query over statement_slice, at most the
 * entities still wanted (the consumer counts offset and limit across slices). */
typedef struct slice_sql {
  const lh_entity_query *q;
  const char *dataset;
  const int64_t *skip, *left;
} slice_sql;

static int build_slice_sql(void *ctx, lh_buf *out, lh_error *err) {
  slice_sql *s = ctx;
  if (*s->left == 0) /* every entity wanted was read: the remaining slices are not */
    return LIMIT_REACHED;
  int64_t limit = *s->left < 0 ? -1 : *s->left + *s->skip;
  lh_buf_reset(out);
  return query_select(s->q, s->dataset, "statement_slice", limit, 0, out, err);
}

/* Read the rows of a query in entity-id order: in slices (memory bounded by a slice), or,
 * for a query sorted by a property, as one query that DuckDB sorts within its memory limit
 * (spilling to its temp directory). A query for some entity ids reads one slice from the
 * smallest to the largest id, over only the files that may hold them. skip / left: the
 * consumer's offset and limit counters in entities, which a sliced read leaves to it. */
static int read_query(lh_dataset *ds, lh_statement_store *st, const lh_entity_query *q,
                      lh_row_fn fn, void *ctx, int64_t *skip, int64_t *left, lh_error *err) {
  lh_buf sql = LH_BUF_INIT;
  int rc;
  if (q && q->sort) {
    rc = query_select(q, ds->name, "statement", q->limit, q->offset, &sql, err);
    rc = rc ? rc : lh_statement_store_select(st, sql.data, fn, ctx, err);
    lh_buf_free(&sql);
    return rc;
  }
  *skip = q && q->offset > 0 ? q->offset : 0;
  *left = q ? q->limit : -1;
  slice_sql ss = {q, ds->name, skip, left};
  lh_sliced_read r = {
      .sql = build_slice_sql, .sql_ctx = &ss, .fn = fn, .ctx = ctx, .stops_early = *left >= 0};
  for (size_t i = 0; q && i < q->nentity_ids; i++) {
    const char *id = q->entity_ids[i];
    if (!r.lo || strcmp(id, r.lo) < 0)
      r.lo = id;
    if (!r.hi || strcmp(id, r.hi) > 0)
      r.hi = id;
  }
  return lh_statement_store_read_sliced(st, &r, err);
}

int lh_entities_query(lh_dataset *ds, const lh_entity_query *q, lh_entity_fn fn, void *ctx,
                      lh_error *err) {
  lh_model_prefetch(); /* while DuckDB starts and the Delta log loads (~10 ms of ~200) */
  lh_statement_store *st;
  int rc = readable_store(ds, &st, err);
  if (rc <= 0)
    return rc;
  const lh_model *model = lh_model_default(err);
  if (!model)
    return lh_error_code(err, LH_EINVAL);
  /* a sorted query applies limit and offset in SQL, a sliced one here */
  agg_ctx a = {.skip = 0, .left = -1, .fn = fn, .ctx = ctx};
  rc = lh_aggregator_new(model, agg_entity, &a, &a.agg, err);
  if (!rc) {
    rc = read_query(ds, st, q, agg_row, &a, &a.skip, &a.left, err);
    if (!rc)
      rc = lh_aggregator_finish(a.agg, err);
    if (rc == LIMIT_REACHED) {
      lh_error_clear(err);
      rc = 0;
    }
    if (a.stop)
      rc = a.stop;
  }
  lh_aggregator_free(a.agg);
  return rc;
}

/* The rows of a sliced read with offset and limit counted in entities. */
typedef struct rows_ctx {
  int64_t skip, left;
  lh_buf last; /* the entity id of the previous row */
  bool dropping;
  lh_row_fn fn;
  void *ctx;
  int stop;
} rows_ctx;

static int count_row(void *ctx, const lh_row *r, lh_error *err) {
  rows_ctx *c = ctx;
  if (!c->last.data || strcmp(c->last.data, r->entity_id) != 0) {
    if (c->skip > 0) {
      c->skip--;
      c->dropping = true;
    } else if (c->left == 0) {
      return LIMIT_REACHED;
    } else {
      if (c->left > 0)
        c->left--;
      c->dropping = false;
    }
    lh_buf_reset(&c->last);
    if (lh_buf_puts(&c->last, r->entity_id))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  if (c->dropping)
    return 0;
  int rc = c->fn(c->ctx, r, err);
  if (rc)
    c->stop = rc;
  return rc;
}

int lh_entities_query_statements(lh_dataset *ds, const lh_entity_query *q, lh_row_fn fn, void *ctx,
                                 lh_error *err) {
  lh_statement_store *st;
  int rc = readable_store(ds, &st, err);
  if (rc <= 0)
    return rc;
  rows_ctx c = {.skip = 0, .left = -1, .last = LH_BUF_INIT, .fn = fn, .ctx = ctx};
  rc = read_query(ds, st, q, count_row, &c, &c.skip, &c.left, err);
  if (rc == LIMIT_REACHED && !c.stop) {
    lh_error_clear(err);
    rc = 0;
  }
  lh_buf_free(&c.last);
  return rc;
}

typedef struct get_ctx {
  lh_entity_fn fn;
  void *ctx;
  bool found;
} get_ctx;

static int got(lh_entity *e, void *ctx) {
  get_ctx *g = ctx;
  g->found = true;
  return g->fn ? g->fn(e, g->ctx) : 0;
}

int lh_entities_get(lh_dataset *ds, const char *entity_id, lh_entity_fn fn, void *ctx, bool *found,
                    lh_error *err) {
  lh_entity_query q = {.entity_ids = &entity_id, .nentity_ids = 1, .limit = 1};
  get_ctx g = {fn, ctx, false};
  int rc = lh_entities_query(ds, &q, got, &g, err);
  if (found)
    *found = g.found;
  return rc;
}

int lh_entities_stats(lh_dataset *ds, lh_entity_stats *out, lh_error *err) {
  memset(out, 0, sizeof *out);
  lh_statement_store *st;
  int rc = readable_store(ds, &st, err);
  if (rc <= 0)
    return rc;
  uint64_t entities, statements;
  if ((rc = lh_statement_store_counts(st, &entities, &statements, err)) != 0)
    return rc;
  out->entities = entities;
  out->statements = statements;
  return 0;
}

int lh_entities_exists(lh_dataset *ds, bool *exists, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  int64_t v;
  rc = lh_statement_store_version(st, &v, err);
  *exists = rc == 0 && v >= 0;
  return rc;
}

int lh_entities_needs_merge(lh_dataset *ds, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  return rc ? rc : lh_statement_store_needs_merge(st, err);
}
