/* Rows of journal tables, shared by the backends (sqlite.c, postgres.c): the batches rows
 * are read back into, their text form in SQL (timestamps, DDL, the column list). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "lakehouse/validate.h"
#include "storage/journal/journal_internal.h"

/* ---- rows read back ------------------------------------------------------------------ */

void lh__row_batch_init(lh__row_batch *b, size_t cap) {
  memset(b, 0, sizeof *b);
  lh__arena_init(&b->arena, 1 << 20, 0);
  b->first = cap ? cap : LH__JOURNAL_READ_BATCH;
  b->bucket_len = SIZE_MAX; /* none parsed yet */
}

void lh__row_batch_reset(lh__row_batch *b) {
  lh__arena_reset(&b->arena);
  b->n = 0;
}

void lh__row_batch_free(lh__row_batch *b) {
  lh__arena_free(&b->arena);
  free(b->rows);
  memset(b, 0, sizeof *b);
}

void lh__sql_ts(lh_time t, char out[LH__SQL_TS_SIZE]) {
  char iso[LH_ISO_SIZE];
  /* lh_time_format_csv gives "YYYY-MM-DD HH:MM:SS.ffffffZ": drop the Z */
  size_t n = lh_time_format_csv(t, iso);
  if (n && iso[n - 1] == 'Z')
    n--;
  if (n >= LH__SQL_TS_SIZE)
    n = LH__SQL_TS_SIZE - 1;
  memcpy(out, iso, n);
  out[n] = '\0';
}

const char *lh__sql_ts_memo_text(lh__sql_ts_memo *m, lh_time t, size_t *len) {
  if (!m->set || m->t != t) {
    lh__sql_ts(t, m->text);
    m->len = strlen(m->text);
    m->t = t;
    m->set = true;
  }
  *len = m->len;
  return m->text;
}

static int digits(const char *s, size_t n, unsigned *v) {
  unsigned x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  *v = x;
  return 0;
}

/* The common form "YYYY-MM-DD HH:MM:SS[.ffffff][+00]" quickly; anything else through the
 * general ISO parser. */
static int parse_ts(const char *s, size_t n, lh_time *out, lh_error *err) {
  unsigned y, mo, d, h, mi, se, us = 0;
  size_t tail = n;
  if (tail >= 3 && (s[tail - 3] == '+') && s[tail - 2] == '0' && s[tail - 1] == '0')
    tail -= 3;
  if ((tail == 19 || tail == 26) && s[4] == '-' && s[7] == '-' && (s[10] == ' ' || s[10] == 'T') &&
      s[13] == ':' && s[16] == ':' && !digits(s, 4, &y) && !digits(s + 5, 2, &mo) &&
      !digits(s + 8, 2, &d) && !digits(s + 11, 2, &h) && !digits(s + 14, 2, &mi) &&
      !digits(s + 17, 2, &se) && (tail == 19 || (s[19] == '.' && !digits(s + 20, 6, &us))) &&
      mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && se < 60) {
    *out = ((lh_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) * 1000000) + us;
    return 0;
  }
  return lh_time_parse_iso(s, n, out, err);
}

/* The text columns of LH_ROW_COLUMNS that rows point at (the others are parsed) */
static const int TEXT_COLUMNS[] = {1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16};
enum { VALUE = 10 };

/* A timestamp column's text: the last text parsed per column is remembered, as times
 * repeat row after row. */
static int add_ts(lh__row_batch *b, int i, const char *v, size_t n, lh_time *out, const char *table,
                  lh_error *err) {
  *out = LH_TIME_NULL;
  if (!v)
    return 0;
  if (n == b->ts_len[i] && n && memcmp(b->ts_text[i], v, n) == 0) {
    *out = b->ts_value[i];
    return 0;
  }
  static const int COLUMN[3] = {14, 15, 17};
  int rc = parse_ts(v, n, out, err);
  if (rc)
    return lh_error_prefix(err, rc, "%s: column '%s'", table, LH_ROW_COLUMNS[COLUMN[i]]);
  if (n < sizeof b->ts_text[i]) {
    memcpy(b->ts_text[i], v, n);
    b->ts_len[i] = n;
    b->ts_value[i] = *out;
  }
  return 0;
}

int lh__row_batch_add_text(lh__row_batch *b, const char *const *v, const size_t *lens,
                           const char *table, lh_error *err) {
  if (LH_ARRAY_RESERVE(b->rows, b->cap, b->n + 1, b->first))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_row *row = &b->rows[b->n];
  memset(row, 0, sizeof *row);
  const char *s[LH_ROW_NCOLUMNS] = {0};
  for (size_t k = 0; k < sizeof TEXT_COLUMNS / sizeof *TEXT_COLUMNS; k++) {
    int i = TEXT_COLUMNS[k];
    if (!v[i])
      continue;
    /* entity ids, datasets, origins, schemata ... repeat row after row: one copy, and
     * the append sees the same pointer and skips its own check and copy (the previous
     * row's strings are in this batch's arena; a batch starts without one) */
    const char *p = b->n ? b->prev[i] : NULL;
    if (i != VALUE && p && b->prev_len[i] == lens[i] && memcmp(p, v[i], lens[i]) == 0) {
      s[i] = p;
      continue;
    }
    char *c = lh__arena_strndup(&b->arena, v[i], lens[i]);
    if (!c)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    s[i] = c;
  }
  if (!v[0] || lens[0] >= LH_SHARD_SIZE)
    return lh_error_set(err, LH_EPARSE, "%s: invalid shard", table);
  memcpy(row->shard, v[0], lens[0]);
  row->shard[lens[0]] = '\0';
  row->id = s[1];
  row->entity_id = s[2];
  row->dataset = s[3];
  if (!v[4] || lens[4] >= sizeof b->bucket_text)
    return lh_error_set(err, LH_EPARSE, "%s: invalid bucket", table);
  if (lens[4] != b->bucket_len || memcmp(b->bucket_text, v[4], lens[4]) != 0) {
    char bucket[sizeof b->bucket_text];
    memcpy(bucket, v[4], lens[4]);
    bucket[lens[4]] = '\0';
    if (lh_bucket_parse(bucket, &b->bucket)) {
      b->bucket_len = SIZE_MAX;
      return lh_error_set(err, LH_EPARSE, "%s: invalid bucket '%s'", table, bucket);
    }
    memcpy(b->bucket_text, bucket, lens[4] + 1);
    b->bucket_len = lens[4];
  }
  row->bucket = b->bucket;
  row->origin = s[5];
  row->source = s[6];
  row->schema = s[7];
  row->prop = s[8];
  row->prop_type = s[9];
  row->value = s[10];
  row->value_len = s[10] ? lens[10] : 0;
  row->original_value = s[11];
  row->lang = s[12];
  if (!v[13])
    return lh_error_set(err, LH_EPARSE, "%s: column 'external' is NULL", table);
  row->external = v[13][0] == '1' || v[13][0] == 't' || v[13][0] == 'T';
  int rc = add_ts(b, 0, v[14], lens[14], &row->first_seen, table, err);
  rc = rc ? rc : add_ts(b, 1, v[15], lens[15], &row->last_seen, table, err);
  rc = rc ? rc : add_ts(b, 2, v[17], lens[17], &row->deleted_at, table, err);
  if (rc)
    return rc;
  row->fragment = s[16];
  rc = lh_row_check_required(row, err);
  if (rc)
    return lh_error_prefix(err, rc, "%s", table);
  for (size_t k = 0; k < sizeof TEXT_COLUMNS / sizeof *TEXT_COLUMNS; k++) {
    int i = TEXT_COLUMNS[k];
    b->prev[i] = s[i];
    b->prev_len[i] = s[i] ? lens[i] : 0;
  }
  b->n++;
  return 0;
}

/* ---- DDL ------------------------------------------------------------------------------ */

static const bool REQUIRED[LH_ROW_NCOLUMNS] = {true,  true, true, true,  true, true,
                                               false, true, true, false, true, false,
                                               false, true, true, true,  true, false};

int lh__journal_columns(lh_buf *out) {
  for (int i = 0; i < LH_ROW_NCOLUMNS; i++)
    if (lh_buf_printf(out, "%s%s", i ? ", " : "", LH_ROW_COLUMNS[i]))
      return LH_ENOMEM;
  return 0;
}

int lh__journal_ddl(lh_buf *out, const char *table, const char *text_type, const char *bool_type,
                    const char *ts_type) {
  if (lh_buf_printf(out, "CREATE TABLE IF NOT EXISTS \"%s\" (", table))
    return LH_ENOMEM;
  for (int i = 0; i < LH_ROW_NCOLUMNS; i++) {
    const char *type = i == 13 ? bool_type : (i == 14 || i == 15 || i == 17) ? ts_type : text_type;
    if (lh_buf_printf(out, "%s%s %s%s", i ? ", " : "", LH_ROW_COLUMNS[i], type,
                      REQUIRED[i] ? " NOT NULL" : ""))
      return LH_ENOMEM;
  }
  return lh_buf_puts(out, ")") ? LH_ENOMEM : 0;
}
