/* Internals shared by the statement store's files: statement_store.c (open, snapshot,
 * partitions, views, written files -> add actions), append.c and maintain.c (merge, compact,
 * vacuum). */
#ifndef LH_STORAGE_PARQUET_STORE_INTERNAL_H
#define LH_STORAGE_PARQUET_STORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "storage/duck.h"
#include "storage/fence.h"
#include "storage/parquet/delta_log.h"
#include "storage/parquet/statement_store.h"
#include "storage/parquet/table_io.h"
#include "storage/tags.h"

/* The 15 data columns of a statement file (the partition columns live in its folder). */
#define LH__DATA_COLUMNS                                                                           \
  "id, entity_id, dataset, source, schema, prop, prop_type, value, original_value, lang, "         \
  "external, first_seen, last_seen, fragment, deleted_at"

/* Rows per Parquet row group of the files appends and merges write. DuckDB's
 * writer holds a row group in memory per open file (its default, 122,880, took a flush of
 * 187k statements to 262 MB peak RSS; 16,384: 190 MB), and a read decodes whole row groups:
 * a point lookup or an entity-id slice touches at most a group's worth of rows beyond what it
 * needs in each partition. */
#define LH__ROW_GROUP_ROWS "16384"
/* Dictionaries of an appended file's row groups: DuckDB's default limits suit its 122,880-row
 * groups (a hash table and up to 1 MiB of strings set up for every column of every row
 * group), while a 16,384-row group of statements holds about 470 entity ids and never fits
 * its values or statement ids. 512 values and 128 KiB cut an append's CPU by 5% (direct
 * import of 2 M statements: 2.30 -> 2.16 s, 306 -> 288 MB peak RSS) with files of the same
 * size; a row group with more entity ids stores them plain (min/max statistics still prune). */
#define LH__DICTIONARY_OPTIONS "DICTIONARY_SIZE_LIMIT 512, STRING_DICTIONARY_PAGE_SIZE_LIMIT 131072"
/* Compaction writes one file at a time (not one per writer thread or partition), so its row
 * groups can be larger:
 * every read parses the footers of the files it opens, and a footer's size follows its row
 * groups. At 30M statements, 65,536 rows against 16,384: a point lookup 0.20 -> 0.16 s, a
 * limited query 0.60 -> 0.34 s, entities iterate 39 -> 36 s, optimize's peak RSS unchanged. */
#define LH__COMPACT_ROW_GROUP_ROWS "65536"

struct lh_statement_store {
  lh_store *dataset; /* borrowed */
  lh_store *table;   /* {dataset}/statements */
  lh__table_io *io;  /* the table's files as DuckDB reads and writes them */
  char *name;
  int shards;
  char *memory_limit;
  int grace_days;
  int append_writers;        /* LAKEHOUSE_APPEND_WRITERS (0: one per core) */
  int64_t export_slice_rows; /* LAKEHOUSE_EXPORT_SLICE_ROWS */
  int64_t sql_max_rows;      /* LAKEHOUSE_SQL_MAX_ROWS: result rows of user SQL */
  int sql_timeout;           /* LAKEHOUSE_SQL_TIMEOUT: seconds */
  char *temp_directory;      /* LAKEHOUSE_DUCKDB_TEMP_DIRECTORY or NULL */
  lh_fence_opts fence;
  lh__duck duck;
  lh__delta_snapshot snap;
  bool loaded;
  lh_tags *tags;
  lh_fence *fence_held; /* the append or maintenance fence held now (commits assert it) */
};

/* Hold / give back the append or maintenance fence (NULL is fine) for this store. */
void lh__store_hold(lh_statement_store *st, lh_fence *fence);
void lh__store_release(lh_statement_store *st, lh_fence *fence);
/* Commit actions to the table: only under a held fence, over a loaded snapshot. */
int lh__store_commit(lh_statement_store *st, lh__delta_actions *actions, const char *operation,
                     int64_t *version, lh_error *err);

/* Bring the snapshot up to date (full load the first time). */
int lh__store_refresh(lh_statement_store *st, lh_error *err);
/* Start a read: take a read lease (so vacuum keeps the files this read may open), refresh
 * the snapshot, check we can read it, and with `views` (re)build the statement /
 * statement_raw views over its files. End with lh__read_end (also after a failure). */
int lh__read_begin(lh_statement_store *st, bool views, lh_fence **lease, lh_error *err);
void lh__read_end(lh_fence *lease);
/* A SELECT of no rows with the 18 columns of statement_raw. */
extern const char *const lh__empty_source;
/* The CREATE VIEW statements of statement_raw (into raw) and statement (into live). */
int lh__store_view_sql(lh_statement_store *st, lh_buf *raw, lh_buf *live, lh_error *err);
/* The shard count a table was written with, in its metaData.configuration. */
#define LH__SHARDS_KEY "ftm_lakehouse.shards"
/* The recorded shard count: -1 when none is recorded, -2 when the record is invalid. */
int lh__store_recorded_shards(const lh_statement_store *st);
/* LH_EINVAL when the configured shard count is not the one the table was written with. */
int lh__store_check_shards(lh_statement_store *st, lh_error *err);
/* Create the table when missing; then check we may write it (shards included). */
int lh__store_ensure_table(lh_statement_store *st, lh_error *err);

/* One partition of the current snapshot (strings point into the snapshot). */
typedef struct lh__part {
  const char *shard, *bucket, *origin;
  size_t *files; /* indexes into snap.files */
  size_t nfiles, cap;
  int64_t bytes;
} lh__part;

/* A data file's entity-id range from the stats of its add action in the Delta log:
 * 1 with *min / *max set (caller frees), 0 when the log lacks a bound, LH_ENOMEM. */
int lh__file_id_range(const lh__delta_file *f, char **min, char **max);

/* The partitions of the snapshot, sorted by (shard, bucket, origin). */
int lh__collect_parts(lh_statement_store *st, lh__part **out, size_t *nout, lh_error *err);
void lh__parts_free(lh__part *p, size_t n);
/* Tag key of a partition: last_updated, or last_optimized when optimized. */
int lh__part_tag(const lh__part *p, bool optimized, char **key, lh_error *err);
/* 1 if the partition was written since its last merge, 0 if not, negative on error. */
int lh__part_dirty(lh_statement_store *st, const lh__part *p, lh_error *err);
/* SELECT of the 18 columns over some files of one partition. */
int lh__files_source(lh_statement_store *st, const lh__part *p, const size_t *files, size_t n,
                     lh_buf *out);
lh_time lh__grace_cutoff(const lh_statement_store *st, lh_time now);
/* SQL of our own (never a user's) over the views, on the store's unconfined DuckDB. */
int lh__store_sql(lh_statement_store *st, const char *sql, lh_sql_row_fn fn, void *ctx,
                  lh_error *err);
/* After an I/O error while reading: name a data file the log lists but that is gone. */
int lh__explain_io_error(lh_statement_store *st, int rc, lh_error *err);

/* Files written by a COPY ... RETURN_STATS, turned into add actions. */
typedef struct lh__written {
  lh_statement_store *st;
  lh__delta_actions *actions;
  const lh__part *fixed; /* partition of a non-partitioned COPY, else NULL */
  bool data_change;
  uint64_t rows, files;
  int64_t bytes;
  char **paths; /* absolute paths of the files written, to discard them if never committed */
  size_t npaths, paths_cap;
} lh__written;

/* lh__duck_row_fn for the rows of COPY ... RETURN_STATS. */
int lh__on_written(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                   lh_error *err);
/* Forget the written files, deleting them unless they were committed. */
void lh__written_discard(lh__written *w, bool committed);
json_t *lh__json_of(const char *text);

/* The C merge engine (merge_stream.c): merge partition p, whose rows `source` selects, slice
 * by slice ([NULL, bounds[0]), ..., [bounds[n-1], NULL)) into new files under dir, written
 * by up to `writers` threads and recorded in w. Commits nothing. */
int lh__merge_stream(lh_statement_store *st, const lh__part *p, const char *dir, const char *source,
                     char *const *bounds, size_t nbounds, lh_time cutoff, int writers,
                     lh__written *w, uint64_t *rows_before, uint64_t *rows_after, size_t *slices,
                     lh_error *err);
/* Inner entity-id bounds cutting the rows `source` (SQL) selects into about `slices` ranges
 * of similar size, from a reservoir sample (see lh_slice_bounds). */
int lh__slice_bounds(lh_statement_store *st, const char *source, int64_t slices, char ***bounds,
                     size_t *nbounds, lh_error *err);
/* A plan of entity-id slices over the current snapshot (slices.c): the inner bounds and each
 * file's entity-id range, from the files' Parquet footers. */
typedef struct lh__slice_plan lh__slice_plan;
/* Slices of about `per` rows. strict: bounds from a sample, slices of even size; else from the
 * row groups' smallest ids, cheap but uneven (for a read that stops early). Needs the views. */
int lh__slice_plan_new(lh_statement_store *st, uint64_t per, bool strict, lh__slice_plan **out,
                       lh_error *err);
void lh__slice_plan_free(lh__slice_plan *p);
size_t lh__slice_plan_count(const lh__slice_plan *p);
/* The range of slice i: [lo, hi), NULL meaning unbounded. */
void lh__slice_plan_range(const lh__slice_plan *p, size_t i, const char **lo, const char **hi);
/* (Re)create the view statement_slice: the live rows with entity ids in [lo, hi) (or
 * [lo, hi] with hi_incl), over the files of the plan that meet the range, unmerged
 * partitions as the plan found them (p may be NULL: every file, merge state read now). */
int lh__slice_views(lh_statement_store *st, const lh__slice_plan *p, const char *lo, const char *hi,
                    bool hi_incl, lh_error *err);

/* lh__duck_row_fn adding the first column (a count) to *(uint64_t *)ctx. */
int lh__count_rows(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                   lh_error *err);

/* Parallel writers for large writes: as configured, else one per core (at most 4). */
int lh__writer_count(const lh_statement_store *st);

#endif
