/* The PostgreSQL journal (libpq): inserts and drains stream through COPY in text format,
 * one flush per dataset at a time is guaranteed by a session advisory lock on
 * crc32(table name) (the key the Python journal uses, so both exclude each other), and
 * the rotation runs with a 5 s lock timeout, retried with backoff. The session runs in UTC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "lakehouse/log.h"
#include "storage/journal/journal_internal.h"
#include "storage/journal/pq.h"

#define COPY_CHUNK (1 << 20)
#define ROTATE_MAX_RETRIES 5

typedef struct pg {
  PGconn *conn;
  long long lock_key;
  bool locked;
} pg;

static int pg_fail(pg *p, lh_error *err, const char *what) {
  const char *msg = lh__pq.error_message(p->conn);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
    n--;
  return lh_error_set(err, LH_EIO, "journal (postgresql): %s: %.*s", what, (int)n, msg);
}

/* Run a command; errors name `what`. */
static int pg_exec(pg *p, const char *sql, const char *what, lh_error *err) {
  PGresult *r = lh__pq.exec(p->conn, sql);
  ExecStatusType st = lh__pq.result_status(r);
  int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(p, err, what);
  lh__pq.clear(r);
  return rc;
}

/* A one-value query; *out is strdup'ed (NULL for SQL NULL). */
static int pg_value(pg *p, const char *sql, int nparams, const char *const *params, char **out,
                    lh_error *err) {
  *out = NULL;
  PGresult *r = lh__pq.exec_params(p->conn, sql, nparams, NULL, params, NULL, NULL, 0);
  int rc = 0;
  if (lh__pq.result_status(r) != PGRES_TUPLES_OK)
    rc = pg_fail(p, err, sql);
  else if (lh__pq.ntuples(r) > 0 && !lh__pq.getisnull(r, 0, 0) &&
           !(*out = strdup(lh__pq.getvalue(r, 0, 0))))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  lh__pq.clear(r);
  return rc;
}

/* ---- COPY text format ----------------------------------------------------------------- */

static int put_field(lh_buf *b, const char *s, size_t n) {
  if (!s)
    return lh_buf_append(b, "\\N", 2);
  if (lh_buf_grow(b, 2 * n))
    return LH_ENOMEM;
  char *o = b->data + b->len;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    switch (c) {
    case '\\':
      *o++ = '\\';
      *o++ = '\\';
      break;
    case '\n':
      *o++ = '\\';
      *o++ = 'n';
      break;
    case '\r':
      *o++ = '\\';
      *o++ = 'r';
      break;
    case '\t':
      *o++ = '\\';
      *o++ = 't';
      break;
    default: *o++ = c;
    }
  }
  b->len = (size_t)(o - b->data);
  return 0;
}

static int put_str(lh_buf *b, const char *s) {
  return put_field(b, s, s ? strlen(s) : 0);
}

static int put_ts(lh_buf *b, lh_time t, lh__sql_ts_memo *m) {
  if (t == LH_TIME_NULL)
    return lh_buf_append(b, "\\N", 2);
  size_t len;
  const char *text = lh__sql_ts_memo_text(m, t, &len);
  return lh_buf_append(b, text, len) || lh_buf_append(b, "+00", 3);
}

static int put_row(lh_buf *b, const lh_row *r, lh__sql_ts_memo ts[3]) {
  int rc = put_str(b, r->shard) || lh_buf_putc(b, '\t') || put_str(b, r->id) ||
           lh_buf_putc(b, '\t') || put_str(b, r->entity_id) || lh_buf_putc(b, '\t') ||
           put_str(b, r->dataset) || lh_buf_putc(b, '\t') ||
           put_str(b, lh_bucket_name(r->bucket)) || lh_buf_putc(b, '\t') || put_str(b, r->origin) ||
           lh_buf_putc(b, '\t') || put_str(b, r->source) || lh_buf_putc(b, '\t') ||
           put_str(b, r->schema) || lh_buf_putc(b, '\t') || put_str(b, r->prop) ||
           lh_buf_putc(b, '\t') || put_str(b, r->prop_type) || lh_buf_putc(b, '\t') ||
           put_field(b, r->value, r->value_len) || lh_buf_putc(b, '\t') ||
           put_str(b, r->original_value) || lh_buf_putc(b, '\t') || put_str(b, r->lang) ||
           lh_buf_putc(b, '\t') || lh_buf_putc(b, r->external ? 't' : 'f') ||
           lh_buf_putc(b, '\t') || put_ts(b, r->first_seen, &ts[0]) || lh_buf_putc(b, '\t') ||
           put_ts(b, r->last_seen, &ts[1]) || lh_buf_putc(b, '\t') || put_str(b, r->fragment) ||
           lh_buf_putc(b, '\t') || put_ts(b, r->deleted_at, &ts[2]) || lh_buf_putc(b, '\n');
  return rc ? LH_ENOMEM : 0;
}

static int copy_end(pg *p, const char *abort_msg, lh_error *err) {
  int rc = 0;
  if (lh__pq.put_copy_end(p->conn, abort_msg) != 1)
    rc = pg_fail(p, err, "COPY end");
  PGresult *r;
  while ((r = lh__pq.get_result(p->conn))) {
    if (!rc && !abort_msg && lh__pq.result_status(r) != PGRES_COMMAND_OK)
      rc = pg_fail(p, err, "COPY");
    lh__pq.clear(r);
  }
  return rc;
}

static int pg_insert(lh_journal *j, const lh_row *rows, size_t n, lh_error *err) {
  pg *p = j->impl;
  lh_buf sql = LH_BUF_INIT;
  if (lh_buf_printf(&sql, "COPY \"%s\" (", j->table) || lh__journal_columns(&sql) ||
      lh_buf_puts(&sql, ") FROM STDIN")) {
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  PGresult *r = lh__pq.exec(p->conn, sql.data);
  lh_buf_free(&sql);
  if (lh__pq.result_status(r) != PGRES_COPY_IN) {
    lh__pq.clear(r);
    return pg_fail(p, err, "COPY FROM STDIN");
  }
  lh__pq.clear(r);
  lh_buf b = LH_BUF_INIT;
  lh__sql_ts_memo ts[3] = {0}; /* the rows of one COPY mostly share their times */
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    if (put_row(&b, &rows[i], ts))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    else if ((b.len >= COPY_CHUNK || i + 1 == n) &&
             lh__pq.put_copy_data(p->conn, b.data, (int)b.len) != 1)
      rc = pg_fail(p, err, "COPY data");
    else if (b.len >= COPY_CHUNK || i + 1 == n)
      lh_buf_reset(&b);
  }
  lh_buf_free(&b);
  /* COPY is one statement: an aborted COPY inserts nothing */
  int end = copy_end(p, rc ? "aborted by the client" : NULL, err);
  return rc ? rc : end;
}

static int pg_count(lh_journal *j, const char *table, uint64_t *n, lh_error *err) {
  char sql[256], *v;
  snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
  int rc = pg_value(j->impl, sql, 0, NULL, &v, err);
  *n = v ? strtoull(v, NULL, 10) : 0;
  free(v);
  return rc;
}

static int pg_has_rows(lh_journal *j, const char *table, bool *yes, lh_error *err) {
  char sql[256], *v;
  snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\" LIMIT 1", table);
  int rc = pg_value(j->impl, sql, 0, NULL, &v, err);
  *yes = v != NULL;
  free(v);
  return rc;
}

static int pg_tables(lh_journal *j, const char *prefix, char ***names, size_t *n, lh_error *err) {
  pg *p = j->impl;
  *names = NULL;
  *n = 0;
  const char *params[1] = {prefix};
  PGresult *r =
      lh__pq.exec_params(p->conn,
                         "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                         "AND left(tablename, length($1)) = $1",
                         1, NULL, params, NULL, NULL, 0);
  if (lh__pq.result_status(r) != PGRES_TUPLES_OK) {
    lh__pq.clear(r);
    return pg_fail(p, err, "list tables");
  }
  int rows = lh__pq.ntuples(r);
  *names = calloc(rows ? (size_t)rows : 1, sizeof **names);
  for (int i = 0; *names && i < rows; i++) {
    if (!((*names)[i] = strdup(lh__pq.getvalue(r, i, 0)))) {
      for (int k = 0; k < i; k++)
        free((*names)[k]);
      free(*names);
      *names = NULL;
    }
  }
  lh__pq.clear(r);
  if (!*names)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  *n = (size_t)rows;
  return 0;
}

static int pg_rotate(lh_journal *j, const char *segment, lh_error *err) {
  pg *p = j->impl;
  lh_buf sql = LH_BUF_INIT;
  if (lh_buf_printf(&sql,
                    "BEGIN; SET LOCAL lock_timeout = '5s'; ALTER TABLE \"%s\" RENAME TO \"%s\"; ",
                    j->table, segment) ||
      lh__journal_ddl(&sql, j->table, "TEXT", "BOOLEAN", "TIMESTAMP WITH TIME ZONE") ||
      lh_buf_puts(&sql, "; COMMIT")) {
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  int rc = 0;
  for (int attempt = 0; attempt < ROTATE_MAX_RETRIES; attempt++) {
    rc = pg_exec(p, sql.data, "rotate", err);
    if (!rc)
      break;
    pg_exec(p, "ROLLBACK", "rollback", &(lh_error){0});
    if (attempt + 1 == ROTATE_MAX_RETRIES)
      break;
    unsigned char r;
    lh_random_bytes(&r, 1);
    useconds_t us = (useconds_t)((1u << attempt) * 1000000u + (unsigned)r * 3900u);
    lh_log_warning("journal %s: rotation failed (%s), retrying", j->table,
                   err ? err->message : lh_strerror(rc));
    usleep(us);
  }
  lh_buf_free(&sql);
  if (rc)
    lh_error_prefix(err, rc, "Cannot rotate journal %s after %d attempts", j->table,
                    ROTATE_MAX_RETRIES);
  return rc;
}

static int pg_drop(lh_journal *j, const char *table, lh_error *err) {
  char sql[256];
  snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS \"%s\"", table);
  return pg_exec(j->impl, sql, "drop segment", err);
}

static int pg_clear(lh_journal *j, char *const *segments, size_t n, lh_error *err) {
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "BEGIN; ") ? LH_ENOMEM : 0;
  for (size_t i = 0; !rc && i < n; i++)
    rc = lh_buf_printf(&sql, "DROP TABLE IF EXISTS \"%s\"; ", segments[i]) ? LH_ENOMEM : 0;
  if (!rc)
    rc = lh_buf_printf(&sql, "DELETE FROM \"%s\"; COMMIT", j->table) ? LH_ENOMEM : 0;
  if (rc)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  else if ((rc = pg_exec(j->impl, sql.data, "clear", err)))
    pg_exec(j->impl, "ROLLBACK", "rollback", &(lh_error){0});
  lh_buf_free(&sql);
  return rc;
}

static int pg_lock(lh_journal *j, bool *acquired, lh_error *err) {
  pg *p = j->impl;
  char key[32], *v;
  snprintf(key, sizeof key, "%lld", p->lock_key);
  const char *params[1] = {key};
  int rc = pg_value(p, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, &v, err);
  *acquired = !rc && v && v[0] == 't';
  p->locked = *acquired;
  free(v);
  return rc;
}

static void pg_unlock(lh_journal *j) {
  pg *p = j->impl;
  if (!p->locked)
    return;
  char key[32], *v = NULL;
  snprintf(key, sizeof key, "%lld", p->lock_key);
  const char *params[1] = {key};
  lh_error e = {0};
  if (pg_value(p, "SELECT pg_advisory_unlock($1::bigint)", 1, params, &v, &e))
    lh_log_warning("journal %s: %s", j->table, e.message);
  free(v);
  p->locked = false;
}

struct lh__journal_scan {
  pg *p;
  char *table;
  lh__row_batch bufs[2], *batch; /* alternate: a call's rows outlive the next call */
  bool done;
};

static int pg_scan(lh_journal *j, const char *table, const char *entity_id, bool ordered,
                   lh__journal_scan **out, lh_error *err) {
  pg *p = j->impl;
  *out = NULL;
  lh_buf sql = LH_BUF_INIT;
  int rc = lh_buf_puts(&sql, "COPY (SELECT ") || lh__journal_columns(&sql) ||
                   lh_buf_printf(&sql, " FROM \"%s\"", table)
               ? LH_ENOMEM
               : 0;
  if (!rc && entity_id) {
    char *lit = lh__pq.escape_literal(p->conn, entity_id, strlen(entity_id));
    rc = !lit || lh_buf_printf(&sql, " WHERE entity_id = %s AND deleted_at IS NULL", lit)
             ? LH_ENOMEM
             : 0;
    lh__pq.freemem(lit);
  }
  if (!rc &&
      ((ordered && lh_buf_puts(&sql, " ORDER BY shard")) || lh_buf_puts(&sql, ") TO STDOUT")))
    rc = LH_ENOMEM;
  lh__journal_scan *sc = rc ? NULL : calloc(1, sizeof *sc);
  if (!sc || !(sc->table = strdup(table))) {
    free(sc);
    lh_buf_free(&sql);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  sc->p = p;
  lh__row_batch_init(&sc->bufs[0], LH__JOURNAL_READ_BATCH);
  lh__row_batch_init(&sc->bufs[1], LH__JOURNAL_READ_BATCH);
  sc->batch = &sc->bufs[0];
  PGresult *r = lh__pq.exec(p->conn, sql.data);
  lh_buf_free(&sql);
  if (lh__pq.result_status(r) != PGRES_COPY_OUT) {
    lh__pq.clear(r);
    rc = pg_fail(p, err, "read");
    lh__row_batch_free(&sc->bufs[0]);
    lh__row_batch_free(&sc->bufs[1]);
    free(sc->table);
    free(sc);
    return rc;
  }
  lh__pq.clear(r);
  *out = sc;
  return 0;
}

/* Decode one COPY text field in place; returns its length. */
static size_t unescape(char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\' || i + 1 == n) {
      s[o++] = s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
    case 'n': s[o++] = '\n'; break;
    case 'r': s[o++] = '\r'; break;
    case 't': s[o++] = '\t'; break;
    case 'b': s[o++] = '\b'; break;
    case 'f': s[o++] = '\f'; break;
    case 'v': s[o++] = '\v'; break;
    default:
      if (c >= '0' && c <= '7') {
        unsigned v = 0;
        for (int k = 0; k < 3 && i < n && s[i] >= '0' && s[i] <= '7'; k++, i++)
          v = v * 8 + (unsigned)(s[i] - '0');
        i--;
        s[o++] = (char)v;
      } else {
        s[o++] = c;
      }
    }
  }
  return o;
}

static int parse_copy_line(lh__journal_scan *sc, char *line, size_t len, lh_error *err) {
  if (len && line[len - 1] == '\n')
    len--;
  const char *v[LH_ROW_NCOLUMNS];
  size_t lens[LH_ROW_NCOLUMNS];
  size_t start = 0;
  int col = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && line[i] != '\t')
      continue;
    if (col == LH_ROW_NCOLUMNS)
      return lh_error_set(err, LH_EPARSE, "%s: too many columns in a COPY row", sc->table);
    char *f = line + start;
    size_t fn = i - start;
    if (fn == 2 && f[0] == '\\' && f[1] == 'N') {
      v[col] = NULL;
      lens[col] = 0;
    } else {
      lens[col] = unescape(f, fn);
      v[col] = f;
    }
    col++;
    start = i + 1;
  }
  if (col != LH_ROW_NCOLUMNS)
    return lh_error_set(err, LH_EPARSE, "%s: %d columns in a COPY row", sc->table, col);
  return lh__row_batch_add_text(sc->batch, v, lens, sc->table, err);
}

static int pg_scan_next(lh__journal_scan *sc, const lh_row **rows, size_t *n, lh_error *err) {
  sc->batch = sc->batch == &sc->bufs[0] ? &sc->bufs[1] : &sc->bufs[0];
  lh__row_batch_reset(sc->batch);
  *rows = NULL;
  *n = 0;
  while (!sc->done && sc->batch->n < LH__JOURNAL_READ_BATCH) {
    char *buf = NULL;
    int len = lh__pq.get_copy_data(sc->p->conn, &buf, 0);
    if (len == -1) {
      sc->done = true;
      PGresult *r;
      int rc = 0;
      while ((r = lh__pq.get_result(sc->p->conn))) {
        if (!rc && lh__pq.result_status(r) != PGRES_COMMAND_OK)
          rc = pg_fail(sc->p, err, "read");
        lh__pq.clear(r);
      }
      if (rc)
        return rc;
      break;
    }
    if (len < 0)
      return pg_fail(sc->p, err, "read");
    int rc = parse_copy_line(sc, buf, (size_t)len, err);
    lh__pq.freemem(buf);
    if (rc)
      return rc;
  }
  *rows = sc->batch->rows;
  *n = sc->batch->n;
  return 0;
}

static void pg_scan_close(lh__journal_scan *sc) {
  /* an unfinished COPY OUT: read it to the end so the connection is usable again */
  while (!sc->done) {
    char *buf = NULL;
    int len = lh__pq.get_copy_data(sc->p->conn, &buf, 0);
    if (buf)
      lh__pq.freemem(buf);
    if (len < 0) {
      PGresult *r;
      while ((r = lh__pq.get_result(sc->p->conn)))
        lh__pq.clear(r);
      sc->done = true;
    }
  }
  lh__row_batch_free(&sc->bufs[0]);
  lh__row_batch_free(&sc->bufs[1]);
  free(sc->table);
  free(sc);
}

static void pg_close(lh_journal *j) {
  pg *p = j->impl;
  if (!p)
    return;
  if (p->conn) {
    pg_unlock(j);
    lh__pq.finish(p->conn);
  }
  free(p);
  j->impl = NULL;
}

static int pg_sql(lh_journal *j, const char *sql, int nparams, const char *const *params,
                  char **out, lh_error *err) {
  pg *p = j->impl;
  if (out)
    *out = NULL;
  lh_buf q = LH_BUF_INIT; /* ? -> $n */
  int n = 0, rc = 0;
  for (const char *c = sql; *c && !rc; c++)
    rc = *c == '?' ? lh_buf_printf(&q, "$%d", ++n) : lh_buf_putc(&q, *c);
  if (rc || lh_buf_putc(&q, '\0')) {
    lh_buf_free(&q);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  PGresult *r = lh__pq.exec_params(p->conn, q.data, nparams, NULL, params, NULL, NULL, 0);
  ExecStatusType st = lh__pq.result_status(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    rc = pg_fail(p, err, sql);
  else if (out && st == PGRES_TUPLES_OK && lh__pq.ntuples(r) > 0 && !lh__pq.getisnull(r, 0, 0) &&
           !(*out = strdup(lh__pq.getvalue(r, 0, 0))))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  lh__pq.clear(r);
  lh_buf_free(&q);
  return rc;
}

static int pg_create(lh_journal *j, lh_error *err) {
  pg *p = j->impl;
  p->lock_key = (long long)crc32(0L, (const Bytef *)j->table, (uInt)strlen(j->table));
  lh_buf ddl = LH_BUF_INIT;
  int rc = lh__journal_ddl(&ddl, j->table, "TEXT", "BOOLEAN", "TIMESTAMP WITH TIME ZONE")
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : pg_exec(p, ddl.data, "create table", err);
  lh_buf_free(&ddl);
  return rc;
}

static const lh__journal_ops PG_OPS = {
    .name = "postgresql",
    .insert = pg_insert,
    .count = pg_count,
    .has_rows = pg_has_rows,
    .tables = pg_tables,
    .rotate = pg_rotate,
    .drop = pg_drop,
    .clear = pg_clear,
    .lock = pg_lock,
    .unlock = pg_unlock,
    .scan = pg_scan,
    .scan_next = pg_scan_next,
    .scan_close = pg_scan_close,
    .close = pg_close,
    .sql = pg_sql,
    .create = pg_create,
};

static int pg_connect(lh_journal *j, const char *uri, lh_error *err) {
  int rc = lh__pq_load(err);
  if (rc)
    return rc;
  pg *p = calloc(1, sizeof *p);
  if (!p)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  j->ops = &PG_OPS;
  j->impl = p;
  p->conn = lh__pq.connectdb(uri);
  if (!p->conn || lh__pq.status(p->conn) != CONNECTION_OK)
    rc = p->conn ? pg_fail(p, err, "connect") : lh_error_set(err, LH_ENOMEM, "out of memory");
  else
    rc = pg_exec(p, "SET TIME ZONE 'UTC'; SET client_min_messages = warning", "session", err);
  if (rc) {
    pg_close(j);
    j->ops = NULL;
  }
  return rc;
}

/* postgresql://, postgres://, and SQLAlchemy's postgresql+DRIVER:// */
static bool pg_accepts(const char *uri) {
  return strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0 ||
         strncmp(uri, "postgresql+", 11) == 0;
}

static int pg_open(lh_journal *j, const char *uri, bool *private_db, lh_error *err) {
  *private_db = false;
  /* SQLAlchemy driver suffixes (postgresql+psycopg2://) are accepted and dropped */
  char *plain = NULL;
  if (strncmp(uri, "postgresql+", 11) == 0) {
    const char *sep = strstr(uri, "://");
    if (sep && asprintf(&plain, "postgresql%s", sep) < 0)
      return lh_error_nomem(err);
  }
  int rc = pg_connect(j, plain ? plain : uri, err);
  free(plain);
  return rc;
}

const lh__journal_backend LH__JOURNAL_POSTGRES = {"postgresql", pg_accepts, pg_open};
