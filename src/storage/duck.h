/* DuckDB for the storage layer: one in-memory database per process for the lake's own work,
 * shared by every dataset (so N datasets in a server stay within one memory limit), opened
 * from the settings (no extension ever installed or loaded from the network, memory limit,
 * threads, spill folder, UTC), each store on its own connection with its own (temporary)
 * views; a separate confined instance for users' SQL. Plus the glue every DuckDB user here
 * needs: result values as JSON (nested types included), and a table function that streams
 * lh_rows into SQL. */
#ifndef LH_STORAGE_DUCK_H
#define LH_STORAGE_DUCK_H

#include <pthread.h>

#include <duckdb.h>

#include "core/sql.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/row.h"
#include "lakehouse/settings.h"

/* Rows for the lh_rows(slot) table function: next() hands out the next batch (*n == 0 at the
 * end). lh_rows() does not copy strings: the rows handed out, and every string they point
 * at, must stay valid until the statement reading them has finished, and the strings must
 * be valid UTF-8 (DuckDB does not check them again). When next() fails, its code and error
 * are kept here and returned by the statement. */
/* Byte lengths of a row's strings (0 for NULL), when the source knows them. */
typedef struct lh__row_lens {
  uint32_t id, entity_id, dataset, origin, source, schema, prop, prop_type, original_value, lang,
      fragment;
} lh__row_lens;

typedef struct lh__row_source {
  /* *lens may be set to n lengths matching the rows (or left NULL: lh_rows measures) */
  int (*next)(void *ctx, const lh_row **rows, const lh__row_lens **lens, size_t *n, lh_error *err);
  void *ctx;
  int slot; /* set by lh__duck_source_add: the argument of lh_rows() */
  int rc;
  lh_error err;
} lh__row_source;

/* Row sources in use at once, process-wide. */
#define LH__DUCK_SOURCES 64

/* The row sources lh_rows(slot) reads: one table per database. */
typedef struct lh__duck_rows {
  pthread_mutex_t mu;
  lh__row_source *sources[LH__DUCK_SOURCES];
} lh__duck_rows;

typedef struct lh__duck {
  duckdb_database db;
  duckdb_connection con;
  lh__duck_rows *rows; /* the shared instance's; NULL for a confined one */
  bool shared;
} lh__duck;

/* A connection to the process's shared DuckDB, opened on the first use with these settings
 * (LAKEHOUSE_DUCKDB_MEMORY_LIMIT, _THREADS, _TEMP_DIRECTORY, _EXTENSION_DIRECTORY; later
 * opens share what the first one set) and closed with its last connection. */
int lh__duck_open(lh__duck *d, const lh_settings *s, lh_error *err);
/* A DuckDB for untrusted SQL: no extension loading, and no file access but to `paths`
 * (read) and `spill_dir` (NULL: no spilling) - enable_external_access is off for the life of
 * the instance. Create the views a query may use, then lock the configuration. */
int lh__duck_open_confined(lh__duck *d, const lh_settings *s, const char *const *paths,
                           size_t npaths, const char *spill_dir, lh_error *err);
int lh__duck_lock_configuration(lh__duck *d, lh_error *err);
void lh__duck_close(lh__duck *d);
/* The lh_error for a failed DuckDB call (the first line of its message); returns the code. */
int lh__duck_error(duckdb_error_type type, const char *msg, lh_error *err);
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
/* Whether row of vec holds a value (not NULL). */
bool lh__duck_valid(duckdb_vector vec, idx_t row);
/* Append the JSON form of one vector value. */
int lh__duck_value_json(duckdb_vector vec, duckdb_logical_type type, idx_t row, lh_buf *out);

/* Run sql as a streaming query on con (NULL: the default connection); fn gets each result
 * chunk, which is destroyed after it returns. A non-zero return stops. */
typedef int (*lh__duck_chunk_fn)(void *ctx, duckdb_data_chunk chunk, lh_error *err);
int lh__duck_stream(lh__duck *d, duckdb_connection con, const char *sql, lh__duck_chunk_fn fn,
                    void *ctx, lh_error *err);

/* Make src readable as lh_rows(src->slot) until lh__duck_source_remove. LH_ELIMIT when
 * LH__DUCK_SOURCES are in use. */
int lh__duck_source_add(lh__duck *d, lh__row_source *src, lh_error *err);
void lh__duck_source_remove(lh__duck *d, lh__row_source *src);

/* Single-threaded DuckDB while parallel writers run (each writer connection runs its own
 * pipeline on its own thread): `threads` is a setting of the whole database, so it is
 * counted: the first begin sets it to 1, the last end restores the configured value. */
int lh__duck_serial_begin(lh__duck *d, lh_error *err);
void lh__duck_serial_end(lh__duck *d);

/* Connections open to the process's shared DuckDB (0 when it is closed). */
int lh__duck_shared_users(void);

/* Another connection to the same database, for statements run from other threads. */
int lh__duck_connect(lh__duck *d, duckdb_connection *out, lh_error *err);
/* lh__duck_each_row on connection con; when the statement fails because src (may be NULL)
 * failed, src's error is returned. */
int lh__duck_each_row_on(lh__duck *d, duckdb_connection con, const char *sql, lh__row_source *src,
                         lh__duck_row_fn fn, void *ctx, lh_error *err);

#endif
