/* DuckDB for the storage layer: one in-memory database per store, opened from the settings
 * (no extension ever installed or loaded from the network, memory limit, spill folder,
 * UTC), plus the glue every DuckDB user here needs: one SQL quoting helper, result values
 * as JSON (nested types included), and a table function that streams lh_rows into SQL. */
#ifndef LH_STORAGE_DUCK_H
#define LH_STORAGE_DUCK_H

#include <duckdb.h>

#include "core/sql.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/row.h"
#include "lakehouse/settings.h"

/* Rows for the lh_rows() table function: next() hands out the next batch (*n == 0 at the
 * end); the rows must stay valid until the following call. */
typedef struct lh__row_source {
  int (*next)(void *ctx, const lh_row **rows, size_t *n, lh_error *err);
  void *ctx;
} lh__row_source;

typedef struct lh__duck {
  duckdb_database db;
  duckdb_connection con;
  lh__row_source *source; /* read by lh_rows() while a statement runs */
  lh_error source_err;    /* an error raised inside the source */
  int source_rc;
} lh__duck;

int lh__duck_open(lh__duck *d, const lh_settings *s, lh_error *err);
void lh__duck_close(lh__duck *d);
/* Run SQL and discard the result. Errors carry DuckDB's message. */
int lh__duck_exec(lh__duck *d, const char *sql, lh_error *err);
/* Run SQL; on success *res must be destroyed with duckdb_destroy_result. */
int lh__duck_query(lh__duck *d, const char *sql, duckdb_result *res, lh_error *err);

/* Called once per result row with every column as a JSON value ("null", numbers, strings,
 * arrays, objects; timestamps as ISO strings). A non-zero return stops. */
typedef int (*lh__duck_row_fn)(void *ctx, size_t ncols, const char *const *names,
                               const char *const *json, lh_error *err);
int lh__duck_each_row(lh__duck *d, const char *sql, lh__duck_row_fn fn, void *ctx, lh_error *err);
/* Called once per row of a one-column VARCHAR result with the raw string. */
typedef int (*lh__duck_string_fn)(void *ctx, const char *s, size_t n, lh_error *err);
int lh__duck_each_string(lh__duck *d, const char *sql, lh__duck_string_fn fn, void *ctx,
                         lh_error *err);
/* Append the JSON form of one vector value. */
int lh__duck_value_json(duckdb_vector vec, duckdb_logical_type type, idx_t row, lh_buf *out);

/* Run a statement that reads lh_rows() with rows from src. */
int lh__duck_exec_with_rows(lh__duck *d, const char *sql, lh__row_source *src, lh_error *err);

#endif
