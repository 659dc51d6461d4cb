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

#include "core/csv_reader.h"
#include "core/lines.h"
#include "core/thread.h"
#include "core/utf8.h"
#include "lakehouse/conventions.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"

/* Rows handed to the store per batch (an entity is never cut). */
#define CHUNK_ROWS 16384
#define PROGRESS_EVERY 4096

/* Statement CSV columns the importer reads (by header name). */
enum {
  K_ENTITY_ID,
  K_PROP,
  K_SCHEMA,
  K_VALUE,
  K_DATASET,
  K_LANG,
  K_ORIGINAL,
  K_EXTERNAL,
  K_FIRST,
  K_LAST,
  K_ORIGIN,
  K_FRAGMENT,
  K_COUNT
};
static const char *const CSV_KEYS[K_COUNT] = {
    "entity_id",      "prop",     "schema",     "value",     "dataset", "lang",
    "original_value", "external", "first_seen", "last_seen", "origin",  "fragment"};

typedef struct importer {
  lh_dataset *ds;
  const lh_import_opts *o;
  lh_import_result *res;
  const char *name;
  const lh_model *model;
  lh_time now;
  /* input */
  lh__lines *lines;
  lh__csv *csv;
  int col[K_COUNT]; /* CSV column of each key, -1 when absent */
  size_t ncols;     /* fields of the header */
  bool pack;        /* the headerless pack format (ftm.md §4.5) */
  bool have_record; /* rec holds a data record read while sniffing the header */
  lh__csv_record rec;
  lh_entity *e;
  unsigned parse_flags;
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

static int add_entity(importer *im, lh_error *err) {
  const char *origin = forced_origin(im);
  return im->writer ? lh_entity_writer_add_entity(im->writer, im->e, origin, NULL, err)
                    : lh_entity_buffer_add_entity(im->buf, im->e, origin, NULL, err);
}

static int add_statement(importer *im, const lh_statement *st, lh_error *err) {
  const char *origin = forced_origin(im);
  return im->writer
             ? lh_entity_writer_add_statement(im->writer, st, LH_TIME_NULL, NULL, origin, err)
             : lh_entity_buffer_add_statement(im->buf, st, LH_TIME_NULL, NULL, origin, err);
}

static int next_entity(importer *im, lh_error *err) {
  for (;;) {
    const char *line;
    size_t len;
    uint64_t lineno = 0;
    int r = lh__lines_next(im->lines, &line, &len, &lineno, err);
    if (r <= 0)
      return r < 0 ? lh_error_prefix(err, "%s", im->name) : 0;
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t'))
      k++;
    if (k == len)
      continue; /* blank line */
    lh_delta_op op;
    int rc = lh_entity_parse_json(im->e, line, len, im->parse_flags, &op, err);
    if (!rc && op == LH_DELTA_DEL) {
      im->res->skipped++;
      continue;
    }
    if (!rc)
      rc = add_entity(im, err);
    if (rc)
      return lh_error_prefix(err, "%s line %llu", im->name, (unsigned long long)lineno);
    return 1;
  }
}

static const char *field(const importer *im, const lh__csv_record *rec, int key) {
  int c = im->col[key];
  if (c < 0 || (size_t)c >= rec->nfields)
    return NULL;
  return rec->fields[c][0] ? rec->fields[c] : NULL;
}

/* The column 'external': empty, true/false, t/f, 1/0, yes/no (any case). */
static int parse_external(const char *s, bool *out, lh_error *err) {
  static const char *const yes[] = {"true", "t", "1", "yes", "y"};
  static const char *const no[] = {"false", "f", "0", "no", "n"};
  *out = false;
  if (!s)
    return 0;
  while (*s == ' ')
    s++;
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ')
    n--;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
      *out = true;
      return 0;
    }
    if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0)
      return 0;
  }
  return lh_error_set(err, LH_EINVAL, "column 'external' must be true or false, not '%.40s'", s);
}

static int parse_time(const char *s, const char *column, lh_time *out, lh_error *err) {
  *out = LH_TIME_NULL;
  if (!s)
    return 0;
  int rc = lh_time_parse_iso(s, (size_t)-1, out, err);
  return rc ? lh_error_prefix(err, "column '%s'", column) : 0;
}

/* Everything the store would refuse in a row is refused here, at its line, so a bad row
 * never costs the rows read before it: strings must be UTF-8 (NUL bytes are refused with
 * the record). */
static int check_text(const lh_statement *st, lh_error *err) {
  const char *names[] = {"entity_id",      "schema", "prop",    "lang",
                         "original_value", "origin", "fragment"};
  const char *vals[] = {st->entity_id,      st->schema, st->prop,    st->lang,
                        st->original_value, st->origin, st->fragment};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    size_t n = vals[i] ? strlen(vals[i]) : 0;
    if (n && lh__utf8_check(vals[i], n) != n)
      return lh_error_set(err, LH_EINVAL, "column '%s' is not valid UTF-8", names[i]);
  }
  size_t ok = lh__utf8_check(st->value, st->value_len);
  if (ok != st->value_len)
    return lh_error_set(err, LH_EINVAL, "column 'value' is not valid UTF-8 (at byte %zu)", ok + 1);
  return 0;
}

/* Read the header (or recognise the pack format) from the first record. */
static int sniff_header(importer *im, lh_error *err) {
  int r = lh__csv_next(im->csv, &im->rec, err);
  if (r <= 0)
    return r < 0 ? lh_error_prefix(err, "%s", im->name) : 0;
  for (int k = 0; k < K_COUNT; k++)
    im->col[k] = -1;
  bool header = false;
  for (size_t i = 0; i < im->rec.nfields; i++)
    for (int k = 0; k < K_COUNT; k++)
      if (strcmp(im->rec.fields[i], CSV_KEYS[k]) == 0) {
        if (im->col[k] >= 0)
          return lh_error_set(err, LH_EINVAL,
                              "%s line 1: the header names '%s' twice (columns %d "
                              "and %zu)",
                              im->name, CSV_KEYS[k], im->col[k] + 1, i + 1);
        im->col[k] = (int)i;
        header = true;
      }
  im->ncols = im->rec.nfields;
  if (header) {
    static const int required[] = {K_ENTITY_ID, K_SCHEMA, K_PROP, K_VALUE};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
      if (im->col[required[i]] < 0)
        return lh_error_set(err, LH_EINVAL, "%s line 1: the header has no '%s' column", im->name,
                            CSV_KEYS[required[i]]);
    return 1;
  }
  /* the pack: entity_id, Schema:prop, value, dataset, lang, original_value, target,
   * external, first_seen, last_seen, id */
  if (im->rec.nfields == 11 && strchr(im->rec.fields[1], ':')) {
    im->pack = true;
    im->have_record = true;
    return 1;
  }
  return lh_error_set(err, LH_EINVAL,
                      "%s line 1: not a statements CSV (no header with entity_id, schema, prop "
                      "and value columns, and not the 11-column pack format)",
                      im->name);
}

static int next_statement(importer *im, lh_error *err) {
  for (;;) {
    if (!im->have_record) {
      int r = lh__csv_next(im->csv, &im->rec, err);
      if (r <= 0)
        return r < 0 ? lh_error_prefix(err, "%s", im->name) : 0;
    }
    im->have_record = false;
    lh__csv_record *rec = &im->rec;
    if (rec->nfields == 1 && rec->lens[0] == 0)
      continue; /* blank line */
    lh_statement st;
    memset(&st, 0, sizeof st);
    char schema[256];
    int rc = 0;
    for (size_t i = 0; i < rec->nfields && !rc; i++)
      if (memchr(rec->fields[i], '\0', rec->lens[i]))
        rc = lh_error_set(err, LH_EINVAL, "field %zu holds a NUL byte", i + 1);
    const char *first = NULL, *last = NULL;
    if (rc) {
      /* refused above */
    } else if (im->pack) {
      if (rec->nfields != 11) {
        rc = lh_error_set(err, LH_EPARSE, "%zu fields (the pack format has 11)", rec->nfields);
      } else {
        const char *colon = strchr(rec->fields[1], ':');
        size_t slen = colon ? (size_t)(colon - rec->fields[1]) : 0;
        if (!colon || slen >= sizeof schema) {
          rc = lh_error_set(err, LH_EINVAL, "column 2: '%s' is not Schema:prop", rec->fields[1]);
        } else {
          memcpy(schema, rec->fields[1], slen);
          schema[slen] = '\0';
          st.schema = schema;
          st.prop = colon + 1;
        }
        st.entity_id = rec->fields[0][0] ? rec->fields[0] : NULL;
        st.value = rec->fields[2];
        st.value_len = rec->lens[2];
        st.lang = rec->fields[4][0] ? rec->fields[4] : NULL;
        st.original_value = rec->fields[5][0] ? rec->fields[5] : NULL;
        if (!rc)
          rc = parse_external(rec->fields[7], &st.external, err);
        first = rec->fields[8][0] ? rec->fields[8] : NULL;
        last = rec->fields[9][0] ? rec->fields[9] : NULL;
      }
    } else if (rec->nfields != im->ncols) {
      rc = lh_error_set(err, LH_EPARSE, "%zu fields, but the header has %zu columns", rec->nfields,
                        im->ncols);
    } else {
      st.entity_id = field(im, rec, K_ENTITY_ID);
      st.schema = field(im, rec, K_SCHEMA);
      st.prop = field(im, rec, K_PROP);
      int vc = im->col[K_VALUE];
      if ((size_t)vc < rec->nfields) {
        st.value = rec->fields[vc];
        st.value_len = rec->lens[vc];
      }
      st.lang = field(im, rec, K_LANG);
      st.original_value = field(im, rec, K_ORIGINAL);
      st.origin = field(im, rec, K_ORIGIN);
      st.fragment = field(im, rec, K_FRAGMENT);
      first = field(im, rec, K_FIRST);
      last = field(im, rec, K_LAST);
      if (!st.entity_id)
        rc = lh_error_set(err, LH_EINVAL, "column 'entity_id' is empty");
      else if (!st.schema)
        rc = lh_error_set(err, LH_EINVAL, "column 'schema' is empty");
      else if (!st.prop)
        rc = lh_error_set(err, LH_EINVAL, "column 'prop' is empty");
      else if (!st.value)
        rc = lh_error_set(err, LH_EINVAL, "the row has no 'value' field");
      else
        rc = parse_external(field(im, rec, K_EXTERNAL), &st.external, err);
    }
    if (!rc)
      rc = check_text(&st, err);
    if (!rc)
      rc = parse_time(first, "first_seen", &st.first_seen, err);
    if (!rc)
      rc = parse_time(last, "last_seen", &st.last_seen, err);
    if (!rc) {
      /* a statement seen once: last_seen defaults to first_seen (inventory §8.2) */
      if (st.last_seen == LH_TIME_NULL)
        st.last_seen = st.first_seen != LH_TIME_NULL      ? st.first_seen
                       : im->o->last_seen != LH_TIME_NULL ? im->o->last_seen
                                                          : im->now;
      if (st.first_seen == LH_TIME_NULL)
        st.first_seen = im->now;
      rc = add_statement(im, &st, err);
    }
    if (rc)
      return lh_error_prefix(err, "%s line %llu", im->name, (unsigned long long)rec->line);
    return 1;
  }
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

/* Slots of the ring: more than the store can hold at once (its batches of 131,072 rows,
 * at most 5 of them, keep at most 45 chunks of CHUNK_ROWS). */
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
    if (!s->buf && !(s->buf = lh_entity_buffer_new(p->bo, &p->err)))
      rc = p->err.code ? p->err.code : LH_ENOMEM;
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
      *err = p->err;
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
  int rc = lh_dataset_statements(im->ds, &st, err);
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
  im.bulk = o->bulk_size ? o->bulk_size : (size_t)lh_dataset_settings(ds)->max_buffer_rows;
  im.parse_flags = o->unsafe ? LH_PARSE_SKIP_UNKNOWN : 0;
  if (!(im.model = lh_model_default(err)))
    return err->code;
  int rc = 0;
  if (o->format == LH_IMPORT_STATEMENTS) {
    if (!(im.csv = lh__csv_open_fd(fd, LH_LINE_MAX)))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    rc = sniff_header(&im, err);
    if (rc == 0)
      im.eof = true; /* empty input */
    rc = rc < 0 ? rc : 0;
  } else if (!(im.lines = lh__lines_open_fd(fd, LH_LINE_MAX)) ||
             !(im.e = lh_entity_new(im.model))) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  lh_buffer_opts bo = {.dataset = lh_dataset_name(ds),
                       .shards = lh_dataset_shards(ds),
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
    *err = im.pending_err;
    rc = im.pending;
  }
  if (o->progress)
    o->progress(o->progress_ctx, res->items, res->rows);
  lh_entity_writer_abort(im.writer);
  lh_entity_free(im.e);
  if (im.lines)
    lh__lines_close(im.lines);
  if (im.csv)
    lh__csv_close(im.csv);
  return rc;
}
