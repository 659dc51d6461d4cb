/* The SQLite journal: a file in WAL mode with a busy timeout, so several processes may
 * write while one flushes. Timestamps are stored as text "YYYY-MM-DD HH:MM:SS.ffffff" (UTC),
 * booleans as 0/1, the column types SQLAlchemy gives the Python journal. The flush lock is
 * an flock() on "{database}-flush-{table without journal_}.lock" (released by the kernel
 * when the process dies). An in-memory database is private to its handle. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core/array.h"
#include "core/thread.h"
#include "lakehouse/log.h"
#include "storage/journal/journal_internal.h"

/* Rows per INSERT statement (18 parameters each; SQLite allows 32766). */
#define ROWS_PER_INSERT 64
#define BUSY_TIMEOUT_MS 60000

/* A parameter's binding: the pointer and length bound SQLITE_STATIC (NULL and 0 for SQL
 * NULL, NULL and 1 + the value for an integer), n < 0 while it holds nothing known. */
typedef struct bound {
  const void *p;
  int n;
} bound;

typedef struct sq {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *insert_many; /* ROWS_PER_INSERT rows */
  sqlite3_stmt *insert_one;
  int lock_fd; /* flush lock file, -1 when not held */
  bool memory;
  bool mutex_held; /* in-memory: a flush is running */
  /* bulk mode: a checkpointer thread with its own connection */
  bool bulk;
  sqlite3 *ckpt_db;
  pthread_t ckpt_thread;
  pthread_mutex_t ckpt_mu;
  pthread_cond_t ckpt_cv;
  bool ckpt_due, ckpt_stop;
  int ckpt_last;        /* inserter: WAL size (pages) when the checkpointer was last asked to run */
  int ckpt_wal;         /* the same, for the checkpointer (guarded by ckpt_mu) */
  atomic_int wal_pages; /* the WAL's length after the last insert */
  int cap_next;         /* inserter: the WAL's length at which it runs a RESTART itself */
  /* the text bound to each timestamp parameter (insert_many's rows, then insert_one's),
   * formatted again only when the row's time differs from the one it holds */
  lh__sql_ts_memo ts[ROWS_PER_INSERT + 1][3];
  /* what each parameter holds (the same rows): see bind_row */
  bound held[ROWS_PER_INSERT + 1][LH_ROW_NCOLUMNS];
} sq;

/* WAL pages after which a checkpoint runs: SQLite's default autocheckpoint, and in bulk
 * mode the growth after which the checkpointer is asked to run */
#define CHECKPOINT_PAGES 1000
#define WAL_RESTART_PAGES (4 * CHECKPOINT_PAGES)
/* Before a RESTART: PASSIVE checkpoints while more than this many frames are left to copy
 * (at most this many rounds; each one leaves what was inserted while it ran) */
#define CATCH_UP_FRAMES 64
#define CATCH_UP_ROUNDS 8
/* Once the WAL is this long the inserting connection runs a RESTART itself, which waits for
 * the checkpointer and copies what is left: inserts that outpace the checkpoints (a busy
 * machine, a slow disk) wait instead of growing the WAL further. */
#define WAL_CAP_PAGES (8 * CHECKPOINT_PAGES)
/* How long that RESTART waits (for the checkpointer, for readers of the WAL); when a reader
 * holds on longer, the inserts go on and try again after another half cap of WAL. */
#define CAP_WAIT_MS 10000

static void bulk_stop(sq *s);

/* The busy handler: SQLite's own sleeps grow to 100 ms, so a writer held by a checkpoint
 * for 300 ms slept on for up to 100 ms after it ended. Here: 1 ms steps for the first
 * second, then 10 ms, until BUSY_TIMEOUT_MS. */
static int busy_wait(void *ctx, int count) {
  (void)ctx;
  int waited = count < 1000 ? count : 1000 + (count - 1000) * 10;
  if (waited >= BUSY_TIMEOUT_MS)
    return 0;
  struct timespec ts = {0, (count < 1000 ? 1 : 10) * 1000000L};
  nanosleep(&ts, NULL);
  return 1;
}

static int sq_error(sq *s, int code, lh_error *err, const char *what) {
  return lh_error_set(err, code == SQLITE_NOMEM ? LH_ENOMEM : LH_EIO, "journal (sqlite %s): %s: %s",
                      s->path, what, sqlite3_errmsg(s->db));
}

static int sq_exec(sq *s, const char *sql, lh_error *err) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : sq_error(s, rc, err, sql);
}

/* OR FAIL: a many-row INSERT that could ABORT half-way (NOT NULL) makes SQLite keep a
 * statement journal of every page it touches, spilled to a temp file past 64 KiB: with
 * 64 KiB pages that wrote each insert's pages a second time (226 k extra page writes,
 * 15 GB, for 10 M statements). FAIL needs none; a failed insert rolls the whole batch
 * back either way (sq_insert), and rows are checked before they get here. */
static int prepare_insert(lh_journal *j, sq *s, int rows, sqlite3_stmt **out, lh_error *err) {
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_printf(&sql, "INSERT OR FAIL INTO \"%s\" (", j->table) ||
                   lh__journal_columns(&sql) || lh_buf_puts(&sql, ") VALUES ")
               ? LH_ENOMEM
               : 0;
  for (int r = 0; !rc && r < rows; r++) {
    rc = lh_buf_puts(&sql, r ? ",(" : "(") ? LH_ENOMEM : 0;
    for (int c = 0; !rc && c < LH_ROW_NCOLUMNS; c++)
      rc = lh_buf_puts(&sql, c ? ",?" : "?") ? LH_ENOMEM : 0;
    if (!rc)
      rc = lh_buf_putc(&sql, ')') ? LH_ENOMEM : 0;
  }
  if (rc) {
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  int src = sqlite3_prepare_v3(s->db, sql.data, (int)sql.len, SQLITE_PREPARE_PERSISTENT, out, NULL);
  lh_buf_free(&sql);
  return src == SQLITE_OK ? 0 : sq_error(s, src, err, "prepare insert");
}

/* Binding is a third of the inserts' work (18 parameters a row, each bind a call that
 * releases the old value and checks the new one), and most parameters of a row hold what the
 * same parameter held one statement before: the dataset, origin, fragment, bucket, the
 * times, the NULLs. A parameter is bound again only when its pointer or length changes. That
 * is exact for SQLITE_STATIC bindings: SQLite reads the bytes at the pointer when the
 * statement runs, so an unchanged pointer and length bind what the row holds now. */
static int bind_str(sqlite3_stmt *st, int i, bound *b, const char *v, size_t n) {
  int len = v ? (int)n : 0;
  if (b->n == len && b->p == v)
    return SQLITE_OK;
  int rc = v ? sqlite3_bind_text(st, i, v, len, SQLITE_STATIC) : sqlite3_bind_null(st, i);
  b->p = v;
  b->n = rc == SQLITE_OK ? len : -1;
  return rc;
}

static int bind_cstr(sqlite3_stmt *st, int i, bound *b, const char *v) {
  return bind_str(st, i, b, v, v ? strlen(v) : 0);
}

/* Each timestamp parameter keeps its text (see lh__sql_ts_memo) at one address: the text
 * changes only when the parameter is bound again, and no statement runs between. */
static int bind_ts(sqlite3_stmt *st, int i, bound *b, lh_time t, lh__sql_ts_memo *m) {
  if (t == LH_TIME_NULL)
    return bind_str(st, i, b, NULL, 0);
  size_t len;
  const char *text = lh__sql_ts_memo_text(m, t, &len);
  return bind_str(st, i, b, text, len);
}

static int bind_bool(sqlite3_stmt *st, int i, bound *b, bool v) {
  if (b->p == NULL && b->n == 1 + v)
    return SQLITE_OK;
  int rc = sqlite3_bind_int(st, i, v ? 1 : 0);
  b->p = NULL;
  b->n = rc == SQLITE_OK ? 1 + v : -1;
  return rc;
}

static void forget_bindings(bound *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    b[i] = (bound){NULL, -1};
}

static int bind_row(sqlite3_stmt *st, int base, const lh_row *r, lh__sql_ts_memo ts[3], bound *b) {
  int rc = 0;
  rc |= bind_str(st, base + 1, &b[0], r->shard, strnlen(r->shard, LH_SHARD_SIZE));
  rc |= bind_cstr(st, base + 2, &b[1], r->id);
  rc |= bind_cstr(st, base + 3, &b[2], r->entity_id);
  rc |= bind_cstr(st, base + 4, &b[3], r->dataset);
  rc |= bind_cstr(st, base + 5, &b[4], lh_bucket_name(r->bucket));
  rc |= bind_cstr(st, base + 6, &b[5], r->origin);
  rc |= bind_cstr(st, base + 7, &b[6], r->source);
  rc |= bind_cstr(st, base + 8, &b[7], r->schema);
  rc |= bind_cstr(st, base + 9, &b[8], r->prop);
  rc |= bind_cstr(st, base + 10, &b[9], r->prop_type);
  rc |= bind_str(st, base + 11, &b[10], r->value, r->value_len);
  rc |= bind_cstr(st, base + 12, &b[11], r->original_value);
  rc |= bind_cstr(st, base + 13, &b[12], r->lang);
  rc |= bind_bool(st, base + 14, &b[13], r->external);
  rc |= bind_ts(st, base + 15, &b[14], r->first_seen, &ts[0]);
  rc |= bind_ts(st, base + 16, &b[15], r->last_seen, &ts[1]);
  rc |= bind_cstr(st, base + 17, &b[16], r->fragment);
  rc |= bind_ts(st, base + 18, &b[17], r->deleted_at, &ts[2]);
  return rc;
}

static int run_insert(sq *s, sqlite3_stmt *st, lh_error *err) {
  /* every parameter is bound again before the next run: no clear_bindings */
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sq_error(s, rc, err, "insert");
}

static int sq_insert(lh_journal *j, const lh_row *rows, size_t n, lh_error *err) {
  sq *s = j->impl;
  int rc = sq_exec(s, "BEGIN IMMEDIATE", err);
  if (rc)
    return rc;
  size_t i = 0;
  for (; !rc && i + ROWS_PER_INSERT <= n; i += ROWS_PER_INSERT) {
    if (!s->insert_many) {
      if ((rc = prepare_insert(j, s, ROWS_PER_INSERT, &s->insert_many, err)))
        break;
      forget_bindings(&s->held[0][0], (size_t)ROWS_PER_INSERT * LH_ROW_NCOLUMNS);
    }
    for (int r = 0; !rc && r < ROWS_PER_INSERT; r++)
      if (bind_row(s->insert_many, r * LH_ROW_NCOLUMNS, &rows[i + (size_t)r], s->ts[r], s->held[r]))
        rc = sq_error(s, sqlite3_errcode(s->db), err, "bind");
    if (!rc)
      rc = run_insert(s, s->insert_many, err);
  }
  for (; !rc && i < n; i++) {
    if (!s->insert_one) {
      if ((rc = prepare_insert(j, s, 1, &s->insert_one, err)))
        break;
      forget_bindings(s->held[ROWS_PER_INSERT], LH_ROW_NCOLUMNS);
    }
    if (bind_row(s->insert_one, 0, &rows[i], s->ts[ROWS_PER_INSERT], s->held[ROWS_PER_INSERT]))
      rc = sq_error(s, sqlite3_errcode(s->db), err, "bind");
    if (!rc)
      rc = run_insert(s, s->insert_one, err);
  }
  if (rc) {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return sq_exec(s, "COMMIT", err);
}

static int sq_count(lh_journal *j, const char *table, uint64_t *n, lh_error *err) {
  sq *s = j->impl;
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_error(s, rc, err, sql);
  rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : sq_error(s, rc, err, sql);
}

static int sq_has_rows(lh_journal *j, const char *table, bool *yes, lh_error *err) {
  sq *s = j->impl;
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\" LIMIT 1", table);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_error(s, rc, err, sql);
  rc = sqlite3_step(st);
  *yes = rc == SQLITE_ROW;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_error(s, rc, err, sql);
}

static int sq_tables(lh_journal *j, const char *prefix, char ***names, size_t *n, lh_error *err) {
  sq *s = j->impl;
  *names = NULL;
  *n = 0;
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                              "substr(name, 1, length(?1)) = ?1",
                              -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_error(s, rc, err, "list tables");
  sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
  size_t cap = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (LH_ARRAY_RESERVE(*names, cap, *n + 1, 8)) {
      rc = SQLITE_NOMEM;
      break;
    }
    if (!((*names)[*n] = strdup((const char *)sqlite3_column_text(st, 0)))) {
      rc = SQLITE_NOMEM;
      break;
    }
    (*n)++;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return 0;
  for (size_t i = 0; i < *n; i++)
    free((*names)[i]);
  free(*names);
  *names = NULL;
  *n = 0;
  return rc == SQLITE_NOMEM ? lh_error_set(err, LH_ENOMEM, "out of memory")
                            : sq_error(s, rc, err, "list tables");
}

static int sq_rotate(lh_journal *j, const char *segment, lh_error *err) {
  sq *s = j->impl;
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_printf(&sql, "BEGIN IMMEDIATE; ALTER TABLE \"%s\" RENAME TO \"%s\"; ", j->table,
                         segment) ||
                   lh__journal_ddl(&sql, j->table, "TEXT", "BOOLEAN", "DATETIME") ||
                   lh_buf_puts(&sql, "; COMMIT")
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : 0;
  if (!rc) {
    /* the cached insert statements name the live table: SQLite re-prepares them by name */
    rc = sq_exec(s, sql.data, err);
    if (rc) {
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
      lh_error_prefix(err, rc, "Cannot rotate journal %s", j->table);
    }
  }
  lh_buf_free(&sql);
  return rc;
}

static int sq_drop(lh_journal *j, const char *table, lh_error *err) {
  char sql[256];
  snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"%s\"", table);
  return sq_exec(j->impl, sql, err);
}

static int sq_clear(lh_journal *j, char *const *segments, size_t n, lh_error *err) {
  sq *s = j->impl;
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "BEGIN IMMEDIATE; ") ? LH_ENOMEM : 0;
  for (size_t i = 0; !rc && i < n; i++)
    rc = lh_buf_printf(&sql, "DROP TABLE IF EXISTS \"%s\"; ", segments[i]) ? LH_ENOMEM : 0;
  if (!rc)
    rc = lh_buf_printf(&sql, "DELETE FROM \"%s\"; COMMIT", j->table) ? LH_ENOMEM : 0;
  if (rc)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  else if ((rc = sq_exec(s, sql.data, err)))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  lh_buf_free(&sql);
  return rc;
}

static int sq_lock(lh_journal *j, bool *acquired, lh_error *err) {
  sq *s = j->impl;
  *acquired = false;
  if (s->memory) { /* a private database: only this handle can flush it */
    *acquired = s->mutex_held = !s->mutex_held;
    return 0;
  }
  char *path = NULL;
  if (asprintf(&path, "%s-flush-%s.lock", s->path, j->table + strlen("journal_")) < 0)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    lh_error_set(err, LH_EIO, "journal: cannot open flush lock %s: %s", path, strerror(e));
    free(path);
    return LH_EIO;
  }
  free(path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return 0;
  }
  s->lock_fd = fd;
  *acquired = true;
  return 0;
}

static void sq_unlock(lh_journal *j) {
  sq *s = j->impl;
  s->mutex_held = false;
  if (s->lock_fd >= 0) {
    flock(s->lock_fd, LOCK_UN);
    close(s->lock_fd);
    s->lock_fd = -1;
  }
}

/* columns of LH_ROW_COLUMNS read specially */
enum { VALUE_COLUMN = 10, ORIGINAL_VALUE_COLUMN = 11, EXTERNAL_COLUMN = 13 };

struct lh__journal_scan {
  sq *s;
  sqlite3_stmt *st;
  char *table;
  lh__row_batch bufs[2], *batch; /* alternate: a call's rows outlive the next call */
  bool done;
};

static int sq_scan(lh_journal *j, const char *table, const char *entity_id, bool ordered,
                   lh__journal_scan **out, lh_error *err) {
  sq *s = j->impl;
  *out = NULL;
  lh_buf sql = LH_BUF_INIT;
  int rc =
      lh_buf_puts(&sql, "SELECT ") || lh__journal_columns(&sql) ||
              lh_buf_printf(&sql, " FROM \"%s\"", table) ||
              (entity_id && lh_buf_puts(&sql, " WHERE entity_id = ? AND deleted_at IS NULL")) ||
              (ordered && lh_buf_puts(&sql, " ORDER BY shard"))
          ? LH_ENOMEM
          : 0;
  lh__journal_scan *sc = rc ? NULL : calloc(1, sizeof *sc);
  if (!sc || !(sc->table = strdup(table))) {
    free(sc);
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  sc->s = s;
  lh__row_batch_init(&sc->bufs[0], LH__JOURNAL_READ_BATCH);
  lh__row_batch_init(&sc->bufs[1], LH__JOURNAL_READ_BATCH);
  sc->batch = &sc->bufs[0];
  rc = sqlite3_prepare_v2(s->db, sql.data, (int)sql.len, &sc->st, NULL);
  lh_buf_free(&sql);
  if (rc != SQLITE_OK) {
    rc = sq_error(s, rc, err, "read");
    lh__row_batch_free(&sc->bufs[0]);
    lh__row_batch_free(&sc->bufs[1]);
    free(sc->table);
    free(sc);
    return rc;
  }
  if (entity_id)
    sqlite3_bind_text(sc->st, 1, entity_id, -1, SQLITE_TRANSIENT);
  *out = sc;
  return 0;
}

static int sq_scan_next(lh__journal_scan *sc, const lh_row **rows, size_t *n, lh_error *err) {
  sc->batch = sc->batch == &sc->bufs[0] ? &sc->bufs[1] : &sc->bufs[0];
  lh__row_batch_reset(sc->batch);
  *rows = NULL;
  *n = 0;
  while (!sc->done && sc->batch->n < LH__JOURNAL_READ_BATCH) {
    int rc = sqlite3_step(sc->st);
    if (rc == SQLITE_DONE) {
      sc->done = true;
      break;
    }
    if (rc != SQLITE_ROW)
      return sq_error(sc->s, rc, err, "read");
    const char *v[LH_ROW_NCOLUMNS];
    size_t lens[LH_ROW_NCOLUMNS];
    for (int c = 0; c < LH_ROW_NCOLUMNS; c++) {
      if (c == EXTERNAL_COLUMN && sqlite3_column_type(sc->st, c) == SQLITE_INTEGER) {
        /* a BOOLEAN is stored as 0/1: no conversion to text */
        v[c] = sqlite3_column_int(sc->st, c) ? "1" : "0";
        lens[c] = 1;
        continue;
      }
      v[c] = (const char *)sqlite3_column_text(sc->st, c);
      /* one call less per column: only the values may hold a NUL (the other columns are
       * ids, names and times, which writers bind from C strings) */
      lens[c] = !v[c] ? 0
                : c == VALUE_COLUMN || c == ORIGINAL_VALUE_COLUMN
                    ? (size_t)sqlite3_column_bytes(sc->st, c)
                    : strlen(v[c]);
    }
    rc = lh__row_batch_add_text(sc->batch, v, lens, sc->table, err);
    if (rc)
      return rc;
  }
  *rows = sc->batch->rows;
  *n = sc->batch->n;
  return 0;
}

static void sq_scan_close(lh__journal_scan *sc) {
  sqlite3_finalize(sc->st);
  lh__row_batch_free(&sc->bufs[0]);
  lh__row_batch_free(&sc->bufs[1]);
  free(sc->table);
  free(sc);
}

static void sq_close(lh_journal *j) {
  sq *s = j->impl;
  if (!s)
    return;
  bulk_stop(s);
  sq_unlock(j);
  sqlite3_finalize(s->insert_many);
  sqlite3_finalize(s->insert_one);
  sqlite3_close(s->db);
  free(s->path);
  free(s);
  j->impl = NULL;
}

/* ---- bulk mode: checkpoints beside the inserts -------------------------------------------------
 *
 * A checkpoint copies the WAL's pages into the database file and syncs it: with SQLite's
 * autocheckpoint that work runs inside the commit that crosses the threshold, so a bulk
 * import stops inserting while it happens. In bulk mode the inserting connection does not
 * checkpoint; each time the WAL has grown by CHECKPOINT_PAGES a thread of ours runs a
 * PASSIVE checkpoint on a connection of its own, which never blocks the inserts. */

/* A checkpoint, then a sync of the database file. A checkpoint that does not copy the whole
 * WAL leaves the pages it copied unsynced; the sync comes with the one that completes the
 * WAL (the RESTART), which holds the inserts meanwhile: 0.3 s each time, with 256 MB of the
 * database file to write back. Synced here, outside every lock, that sync finds little. */
static int checkpoint_synced(sq *s, int mode, int *log, int *done) {
  int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, mode, log, done);
  sqlite3_file *f = NULL;
  if ((rc == SQLITE_OK || rc == SQLITE_BUSY) &&
      sqlite3_file_control(s->ckpt_db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
      f->pMethods && f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK)
    lh_log_warning("journal (sqlite %s): cannot sync the database file", s->path);
  return rc;
}

static void *checkpointer_main(void *arg) {
  sq *s = arg;
  pthread_mutex_lock(&s->ckpt_mu);
  while (!s->ckpt_stop) {
    if (!s->ckpt_due) {
      pthread_cond_wait(&s->ckpt_cv, &s->ckpt_mu);
      continue;
    }
    s->ckpt_due = false;
    int wal = s->ckpt_wal;
    pthread_mutex_unlock(&s->ckpt_mu);
    /* PASSIVE never waits for the inserts, but while they go on the WAL never starts over:
     * once it is WAL_RESTART_PAGES long, a RESTART checkpoint holds the next insert until
     * the WAL is copied, and the insert after it writes the WAL from its start again */
    int log = 0, done = 0;
    int rc = checkpoint_synced(s, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (wal >= WAL_RESTART_PAGES && (rc == SQLITE_OK || rc == SQLITE_BUSY)) {
      /* a RESTART holds the inserts while it syncs the WAL, copies what is left of it and
       * syncs the database file: PASSIVE ones first, until a few frames are left */
      for (int i = 0;
           i < CATCH_UP_ROUNDS && (rc == SQLITE_OK || rc == SQLITE_BUSY) &&
           atomic_load_explicit(&s->wal_pages, memory_order_relaxed) - done > CATCH_UP_FRAMES;
           i++)
        rc = checkpoint_synced(s, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      if (rc == SQLITE_OK || rc == SQLITE_BUSY)
        rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      lh_log_warning("journal (sqlite %s): checkpoint: %s", s->path, sqlite3_errmsg(s->ckpt_db));
    pthread_mutex_lock(&s->ckpt_mu);
  }
  pthread_mutex_unlock(&s->ckpt_mu);
  return NULL;
}

/* sqlite3_wal_hook of the inserting connection in bulk mode, after each commit */
static int wal_grew(void *ctx, sqlite3 *db, const char *name, int pages) {
  (void)name;
  sq *s = ctx;
  atomic_store_explicit(&s->wal_pages, pages, memory_order_relaxed);
  if (pages < s->ckpt_last) { /* the WAL started over */
    s->ckpt_last = 0;
    s->cap_next = WAL_CAP_PAGES;
  }
  if (pages >= s->cap_next) {
    /* BUSY while the checkpointer runs (it holds the checkpoint lock) or a reader uses the
     * WAL: again every millisecond for CAP_WAIT_MS (the busy handler, which would wait up to
     * BUSY_TIMEOUT_MS for each reader, is off meanwhile) */
    int log = 0, done = 0, rc = SQLITE_BUSY;
    sqlite3_busy_handler(db, NULL, NULL);
    for (int waited = 0; rc == SQLITE_BUSY && waited < CAP_WAIT_MS; waited++) {
      rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, &log, &done);
      if (rc == SQLITE_BUSY)
        nanosleep(&(struct timespec){0, 1000000L}, NULL);
    }
    sqlite3_busy_handler(db, busy_wait, NULL);
    if (rc != SQLITE_OK) {
      lh_log_warning("journal (sqlite %s): checkpoint: %s", s->path, sqlite3_errmsg(db));
      s->cap_next = pages + WAL_CAP_PAGES / 2;
      return SQLITE_OK;
    }
    s->ckpt_last = 0;
    s->cap_next = WAL_CAP_PAGES;
    return SQLITE_OK;
  }
  if (pages - s->ckpt_last >= CHECKPOINT_PAGES) {
    s->ckpt_last = pages;
    pthread_mutex_lock(&s->ckpt_mu);
    s->ckpt_wal = pages;
    s->ckpt_due = true;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
  }
  return SQLITE_OK;
}

static void bulk_stop(sq *s) {
  if (!s->bulk)
    return;
  lh__thread_end(s->ckpt_thread, &s->ckpt_mu, &s->ckpt_cv, &s->ckpt_stop);
  sqlite3_close(s->ckpt_db);
  s->ckpt_db = NULL;
  s->bulk = false;
  sqlite3_wal_autocheckpoint(s->db, CHECKPOINT_PAGES); /* SQLite's own hook again */
}

static int sq_bulk(lh_journal *j, bool on, lh_error *err) {
  sq *s = j->impl;
  if (!on || s->memory || s->bulk) { /* a private in-memory database has no WAL */
    if (!on)
      bulk_stop(s);
    return 0;
  }
  int rc = sqlite3_open_v2(s->path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_busy_handler(s->ckpt_db, busy_wait, NULL);
    rc = sqlite3_exec(s->ckpt_db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    rc = lh_error_set(err, LH_EIO, "journal (sqlite %s): checkpoint connection: %s", s->path,
                      s->ckpt_db ? sqlite3_errmsg(s->ckpt_db) : "out of memory");
    sqlite3_close(s->ckpt_db);
    s->ckpt_db = NULL;
    return rc;
  }
  s->ckpt_due = s->ckpt_stop = false;
  if (!lh__thread_start(&s->ckpt_thread, &s->ckpt_mu, &s->ckpt_cv, checkpointer_main, s)) {
    sqlite3_close(s->ckpt_db);
    s->ckpt_db = NULL;
    return lh_error_set(err, LH_EIO, "journal: cannot start the checkpoint thread");
  }
  s->bulk = true;
  s->ckpt_last = 0;
  s->cap_next = WAL_CAP_PAGES;
  sqlite3_wal_hook(s->db, wal_grew, s); /* replaces the autocheckpoint */
  return 0;
}

static int sq_sql(lh_journal *j, const char *sql, int nparams, const char *const *params,
                  char **out, lh_error *err) {
  sq *s = j->impl;
  if (out)
    *out = NULL;
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_error(s, rc, err, sql);
  for (int i = 0; i < nparams; i++)
    sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int out_rc = 0;
  if (rc == SQLITE_ROW && out && sqlite3_column_type(st, 0) != SQLITE_NULL &&
      !(*out = strdup((const char *)sqlite3_column_text(st, 0))))
    out_rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    out_rc = sq_error(s, rc, err, sql);
  sqlite3_finalize(st);
  return out_rc;
}

static int sq_create(lh_journal *j, lh_error *err) {
  lh_buf ddl = LH_BUF_INIT;
  int rc = lh__journal_ddl(&ddl, j->table, "TEXT", "BOOLEAN", "DATETIME")
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : sq_exec(j->impl, ddl.data, err);
  lh_buf_free(&ddl);
  return rc;
}

static const lh__journal_ops SQLITE_OPS = {
    .name = "sqlite",
    .insert = sq_insert,
    .count = sq_count,
    .has_rows = sq_has_rows,
    .tables = sq_tables,
    .rotate = sq_rotate,
    .drop = sq_drop,
    .clear = sq_clear,
    .lock = sq_lock,
    .unlock = sq_unlock,
    .scan = sq_scan,
    .scan_next = sq_scan_next,
    .scan_close = sq_scan_close,
    .close = sq_close,
    .bulk = sq_bulk,
    .sql = sq_sql,
    .create = sq_create,
};

/* WAL mode; switching needs a moment without other writers, so a busy database is retried
 * (the busy handler does not cover the switch). */
static int set_wal(sq *s, lh_error *err) {
  int rc = 0;
  for (int attempt = 0; attempt < 200; attempt++) {
    rc = sqlite3_exec(s->db,
                      "PRAGMA page_size=65536; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                      NULL, NULL, NULL);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
      break;
    usleep(50000);
  }
  return rc == SQLITE_OK ? 0 : sq_error(s, rc, err, "PRAGMA journal_mode=WAL");
}

static int sqlite_connect(lh_journal *j, const char *path, lh_error *err) {
  sq *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path))) {
    free(s);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  s->lock_fd = -1;
  s->memory = strcmp(path, ":memory:") == 0;
  j->ops = &SQLITE_OPS;
  j->impl = s;
  if (s->memory)
    lh_log_warning("Using in-memory journal! Unflushed statements are lost when the process ends.");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
  if (rc != SQLITE_OK) {
    rc = lh_error_set(err, LH_EIO, "journal: cannot open SQLite database '%s': %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sq_close(j);
    return rc;
  }
  sqlite3_busy_handler(s->db, busy_wait, NULL);
  /* WAL: readers never block the writer; NORMAL sync is durable against process crashes
   * (a power loss may lose the last transactions, never corrupt the file) */
  rc = s->memory ? 0 : set_wal(s, err);
  /* 8 MiB of page cache for every use: a bulk import's transaction appends about 60 pages,
   * a scan reads each page once, and a larger cache only spreads the same work over more
   * memory (64 MiB for the inserts made an import of 10 M statements 1 s slower here).
   * Debian builds SQLite with SECURE_DELETE, which overwrites every page a flush frees
   * (dropping a drained segment wrote the whole segment again); the rows live on in the
   * lake, so there is nothing to scrub. */
  if (!rc)
    rc = sq_exec(s, "PRAGMA cache_size=-8192; PRAGMA secure_delete=OFF", err);
  if (rc) {
    sq_close(j);
    j->ops = NULL;
  }
  return rc;
}

/* sqlite:///relative.db, sqlite:////absolute.db (SQLAlchemy), sqlite:///:memory: */
static bool sqlite_accepts(const char *uri) {
  return strncmp(uri, "sqlite://", 9) == 0;
}

static int sqlite_open(lh_journal *j, const char *uri, bool *private_db, lh_error *err) {
  const char *path = uri + 9;
  if (*path == '/')
    path++;
  *private_db = strcmp(path, ":memory:") == 0;
  return *path ? sqlite_connect(j, path, err)
               : lh_error_set(err, LH_EINVAL, "journal URI '%s' has no database path", uri);
}

const lh__journal_backend LH__JOURNAL_SQLITE = {"sqlite", sqlite_accepts, sqlite_open};
