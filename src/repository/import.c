/* Bulk import (inventory §2.3, §2.4, §8.2): entity JSON lines or statement CSV, straight
 * into the statement store (one commit per bulk_size rows, the parsing thread feeding the
 * store's parallel writers) or through the journal.
 *
 * A bad line stops the import with an error naming the input and the line; what was read
 * before it is committed first, so nothing accepted is lost and nothing of the bad line
 * is written. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/csv_reader.h"
#include "core/lines.h"
#include "core/thread.h"
#include "core/utf8.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "model/entity_lines.h"
#include "model/statement_csv_reader.h"
#include "repository/context.h"
#include "repository/entities_internal.h"

/* Rows handed to the store per batch (an entity is never cut). */
#define CHUNK_ROWS 16384
#define PROGRESS_EVERY 4096

typedef struct importer {
  lh_dataset *ds;
  const lh_import_opts *o;
  lh_import_result *res;
  const char *name;
  const lh_model *model;
  lh_time now;
  /* input */
  lh__entity_lines *entities;
  lh__csv *csv;
  lh__stmt_csv *stmts;
  /* output */
  lh_entity_buffer *buf;    /* direct import */
  lh_entity_writer *writer; /* through the journal */
  uint64_t handed;          /* rows handed to the current commit */
  size_t bulk;
  bool eof;
  int pending; /* an input error to report once the rows before it are committed */
  lh_error pending_err;
} importer;

/* ---- reading one item ------------------------------------------------------------------------ */

/* --override-origin: the import's origin wins over the items' own */
static const char *forced_origin(const importer *im) {
  return im->o->override_origin ? (im->o->origin ? im->o->origin : LH_ORIGIN_BULK) : NULL;
}

static int add_entity(importer *im, const lh_entity *e, lh_error *err) {
  const char *origin = forced_origin(im);
  return im->writer ? lh_entity_writer_add_entity(im->writer, e, origin, NULL, err)
                    : lh_entity_buffer_add_entity(im->buf, e, origin, NULL, err);
}

static int add_statement(importer *im, const lh_statement *st, lh_error *err) {
  const char *origin = forced_origin(im);
  return im->writer
             ? lh_entity_writer_add_statement(im->writer, st, LH_TIME_NULL, NULL, origin, err)
             : lh_entity_buffer_add_statement(im->buf, st, LH_TIME_NULL, NULL, origin, err);
}

static int next_entity(importer *im, lh_error *err) {
  lh_entity *e;
  int r = lh__entity_lines_next(im->entities, &e, err);
  if (r <= 0)
    return r;
  if ((r = add_entity(im, e, err)))
    return lh_error_prefix(err, r, "%s line %llu", im->name,
                           (unsigned long long)lh__entity_lines_line(im->entities));
  return 1;
}

static int next_statement(importer *im, lh_error *err) {
  lh_statement st;
  int r = lh__stmt_csv_next(im->stmts, &st, err);
  if (r <= 0)
    return r;
  int rc = add_statement(im, &st, err);
  if (rc)
    return lh_error_prefix(err, rc, "%s line %llu", im->name,
                           (unsigned long long)lh__stmt_csv_line(im->stmts));
  return 1;
}

static int next_item(importer *im, lh_error *err) {
  int r = im->o->format == LH_IMPORT_STATEMENTS ? next_statement(im, err) : next_entity(im, err);
  if (r == 1) {
    im->res->items++;
    if (im->o->progress && im->res->items % PROGRESS_EVERY == 0)
      im->o->progress(im->o->progress_ctx, im->res->items, im->res->rows);
  }
  return r;
}

/* Read the next item into buf (the direct import's current buffer). */
static int next_item_into(importer *im, lh_entity_buffer *buf, lh_error *err) {
  im->buf = buf;
  return next_item(im, err);
}

/* ---- direct: a parser thread fills buffers, the store pulls them ------------------------------
 *
 * Parsing and exploding run in a thread of their own, ahead of the store's Parquet writers.
 * The store keeps the rows it is handed (no copy) until it releases them, so the chunks
 * form a ring: the parser fills free slots, the store takes full ones in order and
 * releases them in the same order. */

/* Slots of the ring: more than the store can hold at once (its batches of 65,536 rows,
 * at most 5 of them, keep at most 25 chunks of CHUNK_ROWS). */
#define NSLOTS 64
/* Full slots the parser may have waiting for the store. */
#define READ_AHEAD 2

enum { SLOT_FREE, SLOT_FULL, SLOT_HANDED };

typedef struct slot {
  lh_entity_buffer *buf; /* made on first use */
  const lh_row *rows;
  size_t n;
  int state;
} slot;

typedef struct producer {
  importer *im;
  const lh_buffer_opts *bo;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  slot slots[NSLOTS];
  size_t fill, take, rel; /* next slot to fill / to hand out / to release */
  uint64_t handed, released;
  uint64_t base; /* slots handed out before the current append */
  int ready;     /* full slots not handed out yet */
  /* buffers of released slots, for the next slots to fill (so only as many buffers exist
   * as are in use at once) */
  lh_entity_buffer *spare[NSLOTS];
  int nspare;
  bool done; /* the parser has finished (end of input or an error) */
  bool stop; /* the consumer gave up */
  int rc;    /* a failure of the parser itself (not of the input) */
  lh_error err;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  importer *im = p->im;
  size_t chunk = im->bulk < CHUNK_ROWS ? im->bulk : CHUNK_ROWS;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while ((p->slots[p->fill].state != SLOT_FREE || p->ready >= READ_AHEAD) && !p->stop)
      pthread_cond_wait(&p->cv, &p->mu);
    bool stop = p->stop;
    slot *s = &p->slots[p->fill];
    if (!stop && !s->buf && p->nspare)
      s->buf = p->spare[--p->nspare];
    pthread_mutex_unlock(&p->mu);
    if (stop)
      break;
    int rc = 0;
    bool end = false;
    if (!s->buf)
      rc = lh_entity_buffer_new(p->bo, &s->buf, &p->err);
    if (!rc) {
      lh_entity_buffer_clear(s->buf);
      while (lh_entity_buffer_rows(s->buf) < chunk) {
        int r = next_item_into(im, s->buf, &im->pending_err);
        if (r == 0) {
          end = true;
          break;
        }
        if (r < 0) {
          im->pending = r; /* reported after the rows read so far are committed */
          end = true;
          break;
        }
      }
      rc = lh_entity_buffer_take(s->buf, im->now, &s->rows, &s->n, &p->err);
    }
    pthread_mutex_lock(&p->mu);
    if (rc) {
      p->rc = rc;
      end = true;
    } else if (s->n) {
      s->state = SLOT_FULL;
      p->ready++;
      p->fill = (p->fill + 1) % NSLOTS;
    }
    if (end)
      p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (end)
      break;
  }
  return NULL;
}

static int feed(void *ctx, const lh_row **rows, size_t *n, lh_error *err) {
  producer *p = ctx;
  importer *im = p->im;
  *n = 0;
  pthread_mutex_lock(&p->mu);
  int rc = 0;
  if (im->handed < im->bulk) {
    slot *s = &p->slots[p->take];
    while (s->state != SLOT_FULL && !p->done)
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->rc) {
      lh_error_copy(err, &p->err);
      rc = p->rc;
    } else if (s->state == SLOT_FULL) {
      s->state = SLOT_HANDED;
      p->ready--;
      pthread_cond_broadcast(&p->cv); /* room to read ahead */
      p->take = (p->take + 1) % NSLOTS;
      p->handed++;
      *rows = s->rows;
      *n = s->n;
      im->handed += s->n;
      im->res->rows += s->n;
    } else {
      im->eof = true; /* done, every slot handed out */
    }
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

/* The store no longer uses the rows of the first `calls` slots it took in this append. */
static void release(void *ctx, uint64_t calls) {
  producer *p = ctx;
  pthread_mutex_lock(&p->mu);
  while (p->released < p->base + calls) {
    slot *s = &p->slots[p->rel];
    s->state = SLOT_FREE;
    if (s->buf) {
      p->spare[p->nspare++] = s->buf;
      s->buf = NULL;
    }
    p->rel = (p->rel + 1) % NSLOTS;
    p->released++;
  }
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static int import_direct(importer *im, const lh_buffer_opts *bo, lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(im->ds, &st, err);
  if (rc)
    return rc;
  producer p;
  memset(&p, 0, sizeof p);
  p.im = im;
  p.bo = bo;
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  pthread_t thread;
  bool started = false;
  if (pthread_create(&thread, NULL, produce, &p) != 0)
    rc = lh_error_set(err, LH_ENOMEM, "cannot start the parser thread");
  else
    started = true;
  /* parsed entities are valid UTF-8 (the JSON reader checks), and so are CSV rows
   * (check_text) */
  lh_append_source src = {feed, release, &p, true};
  uint64_t committed = 0;
  while (!rc && !im->eof) {
    im->handed = 0;
    pthread_mutex_lock(&p.mu);
    p.base = p.handed;
    pthread_mutex_unlock(&p.mu);
    lh_append_result ar;
    rc = lh_statement_store_append_from(st, &src, &ar, err);
    if (rc) /* the store refused this commit: only the earlier ones hold rows */
      im->res->rows = committed;
    else
      committed += ar.rows;
    if (!rc && ar.version >= 0) {
      im->res->commits++;
      lh_log_debug("import: committed %llu rows as version %lld", (unsigned long long)ar.rows,
                   (long long)ar.version);
    }
    if (!rc && ar.rows == 0)
      break;
  }
  if (started)
    lh__thread_stop(thread, &p.mu, &p.cv, &p.stop);
  for (int i = 0; i < NSLOTS; i++)
    lh_entity_buffer_free(p.slots[i].buf);
  for (int i = 0; i < p.nspare; i++)
    lh_entity_buffer_free(p.spare[i]);
  pthread_cond_destroy(&p.cv);
  pthread_mutex_destroy(&p.mu);
  return rc;
}

/* ---- through the journal -------------------------------------------------------------------- */

static int import_journal(importer *im, const lh_buffer_opts *bo, lh_error *err) {
  int rc = lh_entities_writer_with(im->ds, bo, &im->writer, err);
  if (!rc) { /* parse the next batch while the last one is inserted */
    lh_entity_writer_set_batch_size(im->writer, CHUNK_ROWS);
    rc = lh_entity_writer_set_background(im->writer, err);
  }
  while (!rc) {
    uint64_t before = lh_entity_writer_inserted(im->writer);
    int r = next_item(im, &im->pending_err);
    if (r <= 0) {
      im->pending = r;
      break;
    }
    if (lh_entity_writer_inserted(im->writer) != before) {
      im->res->commits++;
      im->res->rows = lh_entity_writer_inserted(im->writer);
    }
  }
  /* keep what was read before a bad line: it goes into the journal */
  if (!rc && (rc = lh_entity_writer_flush(im->writer, err)) == 0) {
    im->res->rows = lh_entity_writer_inserted(im->writer);
    rc = lh_entity_writer_close(im->writer, err);
    im->writer = NULL;
  }
  return rc;
}

int lh_entities_import(lh_dataset *ds, int fd, const lh_import_opts *o, lh_import_result *res,
                       lh_error *err) {
  lh_import_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  importer im;
  memset(&im, 0, sizeof im);
  im.ds = ds;
  im.o = o;
  im.res = res;
  im.name = o->name ? o->name : "<input>";
  im.now = o->last_seen != LH_TIME_NULL ? o->last_seen : lh_time_now();
  im.bulk = o->bulk_size ? o->bulk_size : (size_t)ds->settings->max_buffer_rows;
  res->drops.strict = o->strict;
  if (!(im.model = lh_model_default(err)))
    return lh_error_code(err, LH_EINVAL);
  int rc = 0;
  if (o->format == LH_IMPORT_STATEMENTS) {
    lh_time default_last = o->last_seen != LH_TIME_NULL ? o->last_seen : im.now;
    if (!(im.csv = lh__csv_open_fd(fd, LH_LINE_MAX)) ||
        !(im.stmts = lh__stmt_csv_open(im.csv, im.name, im.now, default_last))) {
      if (im.csv)
        lh__csv_close(im.csv);
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
    lh__stmt_csv_set_drops(im.stmts, &res->drops);
    rc = lh__stmt_csv_header(im.stmts, err);
    if (rc == 0)
      im.eof = true; /* empty input */
    rc = rc < 0 ? rc : 0;
  } else {
    /* unknown properties are counted in res->drops (or, strict, refused) */
    rc = lh__entity_lines_open(fd, im.name, im.model, &res->drops, &im.entities, err);
  }
  lh_buffer_opts bo = {.dataset = ds->name,
                       .shards = ds->shards,
                       .origin = o->origin ? o->origin : LH_ORIGIN_BULK,
                       .override_origin = o->override_origin,
                       .max_rows = SIZE_MAX / 2,
                       .last_seen = o->last_seen,
                       .now = o->last_seen};
  if (!rc && !im.eof) {
    if (o->journal) {
      rc = import_journal(&im, &bo, err);
    } else {
      rc = import_direct(&im, &bo, err);
    }
  }
  if (!rc && im.pending) {
    lh_error_copy(err, &im.pending_err);
    rc = im.pending;
  }
  if (o->progress)
    o->progress(o->progress_ctx, res->items, res->rows);
  lh_entity_writer_abort(im.writer);
  if (im.entities)
    res->skipped += lh__entity_lines_deletes(im.entities);
  lh__entity_lines_close(im.entities);
  lh__stmt_csv_close(im.stmts);
  if (im.csv)
    lh__csv_close(im.csv);
  return rc;
}
