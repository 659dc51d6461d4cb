/* The Delta Lake transaction log, in C (see docs/internals/DELTA_LOG.md): snapshots replayed
 * from JSON commits and classic Parquet checkpoints (read through DuckDB), commits written
 * with put-if-absent and retried on conflict, checkpoints every 100 commits, and the
 * protocol checks that make us refuse tables we cannot read or write correctly. */
#ifndef LH_STORAGE_DELTA_LOG_H
#define LH_STORAGE_DELTA_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/strmap.h"
#include "lakehouse/buf.h"
#include "lakehouse/store.h"
#include "storage/duck.h"
#include "storage/parquet/table_io.h"

#define LH__DELTA_LOG "_delta_log"
#define LH__DELTA_CHECKPOINT_INTERVAL 100
#define LH__DELTA_COMMIT_RETRIES 50

/* A live data file (an `add` action not removed since). */
typedef struct lh__delta_file {
  char *path;     /* exactly as in the log (URI-encoded, relative to the table root) */
  char *file;     /* the path decoded once: a file under the table root */
  json_t *values; /* partitionValues object of the add action (column -> string or null) */
  int64_t size;
  int64_t modified; /* modificationTime, ms */
  int64_t version;  /* the commit (or checkpoint) that added it */
  char *stats;      /* the stats JSON text, or NULL */
} lh__delta_file;

typedef struct lh__delta_snapshot {
  int64_t version;    /* -1 when there is no table */
  int64_t checkpoint; /* version of the checkpoint the replay started from, or -1 */
  int min_reader, min_writer;
  json_t *reader_features; /* arrays or NULL */
  json_t *writer_features;
  json_t *metadata;  /* the metaData action */
  char **partitions; /* partition column names */
  size_t npartitions;
  lh__delta_file *files;
  size_t nfiles, files_cap;
  lh__strmap by_path; /* path -> index in files */
  json_t *removes;    /* path -> remove action: tombstones still in the log */
  json_t *removed_in; /* path -> the version whose commit (or checkpoint) removed it */
  json_t *txns;       /* appId -> txn action */
  /* The checkpoint whose tombstones are not in removes yet (a read never needs them; vacuum
   * and the checkpoint writer ask lh__delta_load_removes): its read_parquet source and
   * name, or NULL. */
  char *cp_removes, *cp_name;
} lh__delta_snapshot;

void lh__delta_snapshot_init(lh__delta_snapshot *s);
void lh__delta_snapshot_free(lh__delta_snapshot *s);
/* Load the latest snapshot of the table at `table` (a store rooted at the table). */
int lh__delta_load(lh_store *table, lh__table_io *io, lh__duck *d, lh__delta_snapshot *s,
                   lh_error *err);
/* The tombstones of the checkpoint s was loaded from, into s->removes (under those of the
 * commits replayed since); a no-op when they are in already. */
int lh__delta_load_removes(lh__duck *d, lh__delta_snapshot *s, lh_error *err);
/* Replay the commits written since s->version. */
int lh__delta_update(lh_store *table, lh__delta_snapshot *s, lh_error *err);
/* LH_EUNSUPPORTED when this implementation cannot read / write the table correctly. */
int lh__delta_check_read(const lh__delta_snapshot *s, lh_error *err);
int lh__delta_check_write(const lh__delta_snapshot *s, lh_error *err);
/* Partition value of column name for a file (NULL if null or no such column). */
const char *lh__delta_file_value(const lh__delta_snapshot *s, const lh__delta_file *f,
                                 const char *column);

/* ---- writing --------------------------------------------------------------------------- */

/* Version 0 of a new table: protocol (1, 2), metaData with schema, partition columns and
 * configuration (a string -> string object, borrowed; NULL: empty). LH_EEXIST when the table
 * exists (somebody else created it first). */
int lh__delta_create(lh_store *table, const char *schema_string, const char *const *partitions,
                     size_t npartitions, json_t *configuration, lh_error *err);

/* Actions of one commit, one JSON object per line. */
typedef struct lh__delta_actions {
  lh_buf text;
  json_t *removed; /* paths this commit removes (conflict detection) */
  size_t nadds, nremoves;
} lh__delta_actions;

void lh__delta_actions_init(lh__delta_actions *a);
void lh__delta_actions_free(lh__delta_actions *a);
/* values: one per partition column of the table (NULL = null). stats may be NULL. */
int lh__delta_actions_add(lh__delta_actions *a, const char *path, const char *const *partitions,
                          const char *const *values, size_t nvalues, int64_t size,
                          int64_t modified_ms, bool data_change, const char *stats);
int lh__delta_actions_remove(lh__delta_actions *a, const lh__delta_snapshot *s,
                             const lh__delta_file *f, int64_t deletion_ms, bool data_change);
/* A metaData action replacing the table's metadata with md (borrowed). */
int lh__delta_actions_metadata(lh__delta_actions *a, json_t *md);

/* Commit the actions as the next version: put-if-absent, and on a lost race re-read the
 * winners and retry, unless they changed the protocol or metadata or removed a file this
 * commit removes (LH_ECONFLICT). *version is set once the commit file exists (so a caller
 * knows its files are referenced even if a later step fails); s is updated; every
 * LH__DELTA_CHECKPOINT_INTERVAL versions a checkpoint follows. */
int lh__delta_commit(lh_store *table, lh__table_io *io, lh__duck *d, lh__delta_snapshot *s,
                     const lh__delta_actions *a, const char *operation, int64_t *version,
                     lh_error *err);
/* Write the checkpoint of s (at s->version, through DuckDB into the table's files) and
 * _last_checkpoint. */
int lh__delta_write_checkpoint(lh_store *table, lh__table_io *io, lh__duck *d,
                               lh__delta_snapshot *s, lh_error *err);

/* ---- paths ---------------------------------------------------------------------------- */

/* add.path for a file path relative to the table root: RFC 3986 percent-encoding (so a
 * hive folder "origin=a%20b" becomes "origin=a%2520b"). Caller frees. */
char *lh__delta_path_encode(const char *relative);
/* Percent-decode once. NULL for malformed escapes. Caller frees. */
char *lh__delta_path_decode(const char *path);

#endif
