/* Reading a statements CSV (the lakehouse statements.csv, the nomenklatura v4 CSV, or the
 * headerless pack format) into checked statements, row by row. */
#ifndef LH_MODEL_STATEMENT_CSV_READER_H
#define LH_MODEL_STATEMENT_CSV_READER_H

#include <stdint.h>

#include "core/csv_reader.h"
#include "lakehouse/statement.h"

typedef struct lh__stmt_csv lh__stmt_csv;

/* Read statements from csv (borrowed). name is the input's name in messages; rows without
 * times get first_seen `now` and last_seen first_seen, else default_last_seen. NULL when out
 * of memory. */
lh__stmt_csv *lh__stmt_csv_open(lh__csv *csv, const char *name, lh_time now,
                                lh_time default_last_seen);
void lh__stmt_csv_close(lh__stmt_csv *r);
/* Count rows without entity_id or prop in d and skip them (d borrowed; with d->strict, or
 * without d, they are errors). */
void lh__stmt_csv_set_drops(lh__stmt_csv *r, lh_drops *d);
/* Read the header, or recognise the pack format: 1, 0 for an empty input, or an error
 * naming the input and line 1. */
int lh__stmt_csv_header(lh__stmt_csv *r, lh_error *err);
/* The next statement: 1, 0 at the end, or an error naming the input, line and column. The
 * statement's strings point into the reader and stay valid until the next call; its id and
 * dataset are left for the caller. */
int lh__stmt_csv_next(lh__stmt_csv *r, lh_statement *st, lh_error *err);
/* The line where the last record read starts. */
uint64_t lh__stmt_csv_line(const lh__stmt_csv *r);

#endif
