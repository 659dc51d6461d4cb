/* What the journal backends (sqlite.c, postgres.c) provide to the generic journal logic
 * (journal.c): table-level primitives. Rotation order, segment naming, drain order and
 * the drop-after-commit rule live in journal.c only. */
#ifndef LH_STORAGE_JOURNAL_INTERNAL_H
#define LH_STORAGE_JOURNAL_INTERNAL_H

#include "core/arena.h"
#include "lakehouse/buf.h"
#include "storage/journal/journal.h"

/* Rows read from a journal table, with the strings they point at. */
typedef struct lh__row_batch {
  lh__arena arena;
  lh_row *rows;
  size_t n, cap, first; /* first: the capacity of the first allocation */
  /* the last first_seen, last_seen and deleted_at texts parsed, and their values */
  char ts_text[3][40];
  size_t ts_len[3];
  lh_time ts_value[3];
  /* the last bucket text parsed, and its value */
  char bucket_text[32];
  size_t bucket_len;
  lh_bucket bucket;
  /* the previous row's text columns (LH_ROW_COLUMNS order) and their lengths */
  const char *prev[LH_ROW_NCOLUMNS];
  size_t prev_len[LH_ROW_NCOLUMNS];
} lh__row_batch;

void lh__row_batch_init(lh__row_batch *b, size_t cap);
void lh__row_batch_reset(lh__row_batch *b);
void lh__row_batch_free(lh__row_batch *b);
/* Append a row from the 18 column texts in LH_ROW_COLUMNS order (NULL = SQL NULL; lens
 * give byte lengths). Timestamps in SQL text form ("YYYY-MM-DD HH:MM:SS[.ffffff][+00]"),
 * external as 1/0/t/f/true/false. Strings are copied into the batch. */
int lh__row_batch_add_text(lh__row_batch *b, const char *const *vals, const size_t *lens,
                           const char *table, lh_error *err);

/* "YYYY-MM-DD HH:MM:SS.ffffff": the SQL text form of a timestamp (26 chars + NUL). */
#define LH__SQL_TS_SIZE 27
void lh__sql_ts(lh_time t, char out[LH__SQL_TS_SIZE]);
/* The same for writers whose rows mostly share their times: the text of the last time is
 * kept and formatted again only when the time changes. Zero-initialised = empty. */
typedef struct lh__sql_ts_memo {
  bool set;
  lh_time t;
  size_t len;
  char text[LH__SQL_TS_SIZE];
} lh__sql_ts_memo;
const char *lh__sql_ts_memo_text(lh__sql_ts_memo *m, lh_time t, size_t *len);

typedef struct lh__journal_scan lh__journal_scan;

typedef struct lh__journal_ops {
  const char *name;
  int (*insert)(lh_journal *j, const lh_row *rows, size_t n, lh_error *err);
  int (*count)(lh_journal *j, const char *table, uint64_t *n, lh_error *err);
  int (*has_rows)(lh_journal *j, const char *table, bool *yes, lh_error *err);
  /* Tables whose name starts with prefix (any order). */
  int (*tables)(lh_journal *j, const char *prefix, char ***names, size_t *n, lh_error *err);
  /* Rename the live table to segment and create a fresh live table, atomically. */
  int (*rotate)(lh_journal *j, const char *segment, lh_error *err);
  int (*drop)(lh_journal *j, const char *table, lh_error *err);
  /* Drop the segments and empty the live table in one transaction. */
  int (*clear)(lh_journal *j, char *const *segments, size_t n, lh_error *err);
  /* The per-dataset flush lock, non-blocking. */
  int (*lock)(lh_journal *j, bool *acquired, lh_error *err);
  void (*unlock)(lh_journal *j);
  /* Read a table: every row (ordered by shard when asked), or the live rows of one entity. */
  int (*scan)(lh_journal *j, const char *table, const char *entity_id, bool ordered,
              lh__journal_scan **out, lh_error *err);
  /* The next rows (*n == 0 at the end), valid until the call after the following one (so a
   * reader thread can fetch the next rows while the caller still uses these). */
  int (*scan_next)(lh__journal_scan *s, const lh_row **rows, size_t *n, lh_error *err);
  void (*scan_close)(lh__journal_scan *s);
  void (*close)(lh_journal *j);
  /* lh_journal_bulk (may be NULL: nothing to do) */
  int (*bulk)(lh_journal *j, bool on, lh_error *err);
  /* Run one statement of ours with text parameters (written as ? in sql); with out, *out
   * gets the first column of the first row (strdup'ed; NULL without a row or for NULL). */
  int (*sql)(lh_journal *j, const char *sql, int nparams, const char *const *params, char **out,
             lh_error *err);
  /* Create the live table j->table when it is missing. */
  int (*create)(lh_journal *j, lh_error *err);
} lh__journal_ops;

struct lh_journal {
  const lh__journal_ops *ops;
  char *dataset;
  char *table; /* journal_{dataset}, or journal_{dataset}-{8 hex} (see lh_journal_open) */
  void *impl;
};

/* CREATE TABLE IF NOT EXISTS for the 18 columns; ts_type is the timestamp column type. */
int lh__journal_ddl(lh_buf *out, const char *table, const char *text_type, const char *bool_type,
                    const char *ts_type);
/* The column list "shard, id, ..." in LH_ROW_COLUMNS order. */
int lh__journal_columns(lh_buf *out);

/* A journal backend: the URIs it takes and how it connects to one. open sets j->ops and
 * j->impl (the live table is created by ops->create once its name is settled); *private_db:
 * the database belongs to this process alone (an in-memory one), so it holds the rows of
 * one lake only. */
typedef struct lh__journal_backend {
  const char *name;
  bool (*accepts)(const char *uri);
  int (*open)(lh_journal *j, const char *uri, bool *private_db, lh_error *err);
} lh__journal_backend;

/* The backends (sqlite.c, postgres.c), registered in backends.c. */
extern const lh__journal_backend LH__JOURNAL_SQLITE;
extern const lh__journal_backend LH__JOURNAL_POSTGRES;
/* The backend that takes uri; NULL when none does. */
const lh__journal_backend *lh__journal_backend_for(const char *uri);

/* Rows per batch handed out by scans. */
#define LH__JOURNAL_READ_BATCH 8192

#endif
