/* The statement store of a dataset: one Delta Lake table of Parquet statement rows at
 * {dataset}/statements, partitioned shard=/bucket=/origin=, written and queried through
 * DuckDB, with the Delta log kept in C. See docs/internals/DELTA_LOG.md and LOCKS.md.
 *
 * Reads go through two DuckDB views over exactly the files the log lists:
 *   statement_raw  every physical row (duplicates and tombstones included)
 *   statement      live rows (deleted_at IS NULL) plus canonical_id; partitions written
 *                  since their last merge are deduplicated at read time, so the view is
 *                  correct before a merge too.
 * A store is used by one thread at a time. */
#ifndef LH_STORAGE_STATEMENT_STORE_H
#define LH_STORAGE_STATEMENT_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/maintenance.h"
#include "lakehouse/row.h"
#include "lakehouse/settings.h"
#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_statement_store lh_statement_store;

/* dataset: the dataset's store (borrowed; must outlive the statement store). shards: the
 * dataset's shard count (config.yml). settings: LAKEHOUSE_* (copied). */
int lh_statement_store_open(lh_store *dataset, const char *dataset_name, int shards,
                            const lh_settings *settings, lh_statement_store **out, lh_error *err);
void lh_statement_store_close(lh_statement_store *st);
/* *version: the Delta version, -1 when the table does not exist yet. Re-reads the log. */
int lh_statement_store_version(lh_statement_store *st, int64_t *version, lh_error *err);

/* Rows to append: next() hands out the next batch (*n == 0 at the end); the rows must stay
 * valid until the following call. A non-zero return aborts the append (nothing commits). */
typedef int (*lh_row_batch_fn)(void *ctx, const lh_row **rows, size_t *n, lh_error *err);

typedef struct lh_append_result {
  uint64_t rows;
  uint64_t files;
  int64_t version; /* the commit, -1 if there was nothing to append */
} lh_append_result;

/* Append rows as one commit: rows are sorted per partition (entity_id, prop, id), written
 * as zstd Parquet under the append fence, and committed with their stats. */
int lh_statement_store_append(lh_statement_store *st, lh_row_batch_fn next, void *ctx,
                              lh_append_result *res, lh_error *err);

/* A source whose rows the append may keep instead of copying them: the batches of next()
 * stay valid until release(ctx, k) says that those of its first k calls (the calls of this
 * append that returned rows) are no longer used; the last release names every call.
 * valid_utf8: ids, values and original values are known to be valid UTF-8 (the other
 * columns are still checked). */
typedef struct lh_append_source {
  lh_row_batch_fn next;
  void (*release)(void *ctx, uint64_t calls);
  void *ctx;
  bool valid_utf8;
} lh_append_source;
int lh_statement_store_append_from(lh_statement_store *st, const lh_append_source *src,
                                   lh_append_result *res, lh_error *err);

/* How a merge runs: streaming in C (sorted runs merged, several writers; the default) or
 * as the merge SQL on DuckDB (the reference the C engine is tested against). */
typedef enum lh_merge_engine { LH_MERGE_ENGINE_C = 0, LH_MERGE_ENGINE_SQL = 1 } lh_merge_engine;

typedef struct lh_merge_opts {
  bool force;             /* merge every partition, also clean ones */
  lh_time now;            /* LH_TIME_NULL: the current time (grace cutoff = now - grace days) */
  int64_t spill_factor;   /* 0: LH_MERGE_SPILL_FACTOR (tests force slicing with a huge one) */
  lh_merge_engine engine; /* LH_MERGE_ENGINE_C unless asked */
} lh_merge_opts;

/* Deduplicate dirty partitions (inventory §6.3-6.4), one commit per partition, under the
 * maintenance fence. */
int lh_statement_store_merge(lh_statement_store *st, const lh_merge_opts *opts,
                             lh_merge_result *res, lh_error *err);

/* Bin-pack small files per partition toward the target size (rows unchanged). */
int lh_statement_store_compact(lh_statement_store *st, int64_t target_size, lh_compact_result *res,
                               lh_error *err);

/* Delete files the log no longer references once older than retention_hours: files its
 * remove actions name (unless a live read lease may still read them), and orphans of our
 * own crashed writers (our file names, in a partition folder, written after the table was
 * created). Anything else under statements/ is left alone and counted as foreign. */
int lh_statement_store_vacuum(lh_statement_store *st, int retention_hours, lh_vacuum_result *res,
                              lh_error *err);

/* The data files of the current version (as paths relative to the table folder, decoded),
 * in log order. */
int lh_statement_store_files(lh_statement_store *st, lh_store_key_fn fn, void *ctx, lh_error *err);

/* 1 if a partition was written since its last merge, 0 if not, negative on error. */
int lh_statement_store_needs_merge(lh_statement_store *st, lh_error *err);

/* Run a user's SQL over the views, confined: a DuckDB instance of its own that may read the
 * snapshot's data files and nothing else (external access off, configuration locked), one
 * statement per call and only a SELECT, at most LAKEHOUSE_SQL_MAX_ROWS result rows (LH_ELIMIT
 * beyond) within LAKEHOUSE_SQL_TIMEOUT seconds (LH_ELIMIT). fn gets each row's columns as
 * JSON values. */
int lh_statement_store_sql(lh_statement_store *st, const char *sql, lh_sql_row_fn fn, void *ctx,
                           lh_error *err);

/* Stream rows of the live view `statement` (or of `statement_raw` when raw) that match
 * `where` (a SQL condition over the view's columns, NULL for all), ordered by `order_by`
 * (SQL, NULL for no order), at most `limit` rows (< 0: all). */
int lh_statement_store_rows(lh_statement_store *st, bool raw, const char *where,
                            const char *order_by, int64_t limit, lh_row_fn fn, void *ctx,
                            lh_error *err);

/* Stream the rows of sql, a SELECT of the 18 columns (LH_ROW_COLUMNS order) over the views
 * that the library built (never a user's: it runs unconfined). */
int lh_statement_store_select(lh_statement_store *st, const char *sql, lh_row_fn fn, void *ctx,
                              lh_error *err);

/* ---- sliced reads: memory bounded by a slice, whatever the dataset's size ------------------ */

/* A read of the live statements in entity-id order, slice by slice: the rows are cut into
 * entity-id ranges of about LAKEHOUSE_EXPORT_SLICE_ROWS statements (bounds from a sample of
 * the entity ids, or from the Parquet footers with stops_early), and for each range, in order, the
 * view `statement_slice` is made to hold exactly the live rows of that range (the `statement`
 * view's columns, read from only the files whose entity ids meet it) and sql() gives the query to
 * run over it: a SELECT of the 18 columns (LH_ROW_COLUMNS order), our own SQL, never a user's. An
 * entity never spans two slices. fn returning a positive value ends the read early; that value is
 * returned. */
typedef struct lh_sliced_read {
  int (*sql)(void *ctx, lh_buf *out, lh_error *err);
  void *sql_ctx;
  lh_row_fn fn;
  void *ctx;
  /* when set: only entity ids in [lo, hi] are wanted, read as one slice */
  const char *lo, *hi;
  /* the read is expected to end early (a limit): the slices are planned from the Parquet
   * footers alone, even where that makes them uneven */
  bool stops_early;
} lh_sliced_read;
int lh_statement_store_read_sliced(lh_statement_store *st, const lh_sliced_read *r, lh_error *err);

/* ---- reads for the exports ------------------------------------------------------------ */

/* fn receives the bytes in order from a thread of the store's: one call at a time, never
 * concurrently with itself. */
/* Write the live statements, globally sorted by (entity_id, prop, id), as the rows of
 * exports/statements.csv without its header line. They are sorted in entity-id ranges of
 * about LAKEHOUSE_EXPORT_SLICE_ROWS rows, so memory stays bounded. */
int lh_statement_store_export_csv(lh_statement_store *st, lh_bytes_fn fn, void *ctx, uint64_t *rows,
                                  lh_error *err);

typedef int (*lh_count_fn)(void *ctx, const char *key, uint64_t count, lh_error *err);
/* Live entities per schema (key = schema name). */
int lh_statement_store_schema_counts(lh_statement_store *st, lh_count_fn fn, void *ctx,
                                     lh_error *err);
/* Live entities per country value among the entities of these schemata. */
int lh_statement_store_country_counts(lh_statement_store *st, const char *const *schemata, size_t n,
                                      lh_count_fn fn, void *ctx, lh_error *err);
/* Live entities and live statements. */
int lh_statement_store_counts(lh_statement_store *st, uint64_t *entities, uint64_t *statements,
                              lh_error *err);
/* Live entity count and the smallest / largest date value (NULL when none; caller frees). */
int lh_statement_store_summary(lh_statement_store *st, uint64_t *entities, char **min_date,
                               char **max_date, lh_error *err);

typedef int (*lh_string_fn)(void *ctx, const char *s, size_t n, lh_error *err);
/* Distinct entity ids, sorted, of the stored rows (tombstones included) first seen or
 * deleted at or after `since`, optionally only of these schemata. */
int lh_statement_store_changed_ids(lh_statement_store *st, lh_time since,
                                   const char *const *schemata, size_t nschemata, lh_string_fn fn,
                                   void *ctx, lh_error *err);

/* Target size of compacted files: 128 MiB, not ftmq's TARGET_SIZE (500 MB). A read by
 * entity id opens one file per partition whose id range holds the id and parses its whole
 * footer, which grows with the file (~290 KB at 500 MB); smaller files keep that cost down
 * and change nothing else a reader sees. */
#define LH_TARGET_FILE_SIZE 134217728LL

#ifdef __cplusplus
}
#endif
#endif
