/* Statements CSV rows in STATEMENT_CSV_COLUMNS order. */
#include <stdio.h>
#include <string.h>

#include "core/sql.h"
#include "model/statement_csv.h"

const char *const LH_STATEMENT_CSV_COLUMNS[LH_STATEMENT_CSV_NCOLUMNS] = {
    "id",     "entity_id", "canonical_id",   "prop",      "prop_type",
    "schema", "value",     "original_value", "dataset",   "origin",
    "lang",   "external",  "first_seen",     "last_seen", "fragment"};

void lh_csv_format_timestamp(lh_time t, char out[LH_CSV_TS_SIZE]) {
  lh_time_format_csv(t, out);
}

int lh_statement_csv_header(lh_buf *out) {
  int rc = 0;
  for (int i = 0; i < LH_STATEMENT_CSV_NCOLUMNS && !rc; i++) {
    if (i)
      rc = lh_buf_putc(out, ',');
    if (!rc)
      rc = lh_csv_write_field(out, LH_STATEMENT_CSV_COLUMNS[i], strlen(LH_STATEMENT_CSV_COLUMNS[i]),
                              LH_CSV_QUOTE_ALL);
  }
  return rc ? rc : lh_buf_putc(out, '\n');
}

static int opt_str(lh_buf *out, const char *s) {
  int rc = lh_buf_putc(out, ',');
  return rc || !s ? rc : lh_csv_write_field(out, s, strlen(s), LH_CSV_QUOTE_ALL);
}

/* Statements of one entity share their timestamps: remember the last one formatted. */
static _Thread_local struct {
  lh_time t;
  size_t len;
  char text[LH_ISO_SIZE];
} last_ts[2] = {{LH_TIME_NULL, 0, ""}, {LH_TIME_NULL, 0, ""}};

static int ts(lh_buf *out, lh_time t, int slot) {
  int rc = lh_buf_putc(out, ',');
  if (rc || t == LH_TIME_NULL)
    return rc;
  if (last_ts[slot].t != t) {
    last_ts[slot].len = lh_time_format_csv(t, last_ts[slot].text);
    last_ts[slot].t = t;
  }
  return lh_buf_append(out, last_ts[slot].text, last_ts[slot].len);
}

int lh_statement_csv_row(const lh_statement *st, lh_buf *out) {
  int rc = lh_csv_write_field(out, st->id, strlen(st->id), LH_CSV_QUOTE_ALL);
  if (!rc)
    rc = opt_str(out, st->entity_id);
  if (!rc)
    rc = opt_str(out, st->entity_id); /* canonical_id */
  if (!rc)
    rc = opt_str(out, st->prop);
  if (!rc)
    rc = opt_str(out, st->prop_type);
  if (!rc)
    rc = opt_str(out, st->schema);
  if (!rc)
    rc = lh_buf_putc(out, ',');
  if (!rc)
    rc = lh_csv_write_field(out, st->value, st->value_len, LH_CSV_QUOTE_ALL);
  if (!rc)
    rc = opt_str(out, st->original_value);
  if (!rc)
    rc = opt_str(out, st->dataset);
  if (!rc)
    rc = opt_str(out, st->origin);
  if (!rc)
    rc = opt_str(out, st->lang);
  if (!rc)
    rc = lh_buf_puts(out, st->external ? ",true" : ",false");
  if (!rc)
    rc = ts(out, st->first_seen, 0);
  if (!rc)
    rc = ts(out, st->last_seen, 1);
  if (!rc)
    rc = opt_str(out, st->fragment ? st->fragment : "");
  return rc ? rc : lh_buf_putc(out, '\n');
}
