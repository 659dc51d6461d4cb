/* The files of a statement table as DuckDB reads and writes them: the one place in
 * storage/parquet that knows they are local files.
 *
 * DuckDB reads data files by path (read_parquet) and writes new ones by path (COPY ... TO);
 * the Delta checkpoint is written the same way. Everything else - the Delta log, tags, vacuum
 * listing and deletes, leases - goes through lh_store. A local (fs://) table is used in
 * place: a read path is the file itself, new files are written where they end up, and
 * publishing a scratch file is a rename. An object-store backend plugs in here (reads through
 * staged copies, writes into a staging folder uploaded on publish) without touching append,
 * merge, compaction or the Delta log. */
#ifndef LH_STORAGE_PARQUET_TABLE_IO_H
#define LH_STORAGE_PARQUET_TABLE_IO_H

#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/store.h"

typedef struct lh__table_io lh__table_io;

/* The files of `table` (borrowed; it must outlive io). LH_EUNSUPPORTED for a store whose
 * files DuckDB cannot reach. */
int lh__tio_open(lh_store *table, lh__table_io **out, lh_error *err);
void lh__tio_close(lh__table_io *io);

/* Append to out the path DuckDB reads the table's file `file` (relative to the table, as the
 * Delta log names it, decoded) from. Returns 0 or LH_ENOMEM. */
int lh__tio_read_path(const lh__table_io *io, const char *file, lh_buf *out);
/* Append to out a folder DuckDB may write new files of the table's folder `dir` (relative,
 * "" for the table itself) into, created when missing. */
int lh__tio_write_dir(lh__table_io *io, const char *dir, lh_buf *out, lh_error *err);
/* The table-relative name of a path DuckDB wrote into a write folder; NULL when the path is
 * not one of this table's. */
const char *lh__tio_relative(const lh__table_io *io, const char *path);
/* Remove a file written for an operation that did not commit (best effort: what stays is an
 * orphan vacuum reclaims). */
void lh__tio_discard(lh__table_io *io, const char *path);

/* Append to out a path for a scratch file `name` in the table's folder `dir`: written by us
 * or DuckDB, then published under its final name or removed. */
int lh__tio_scratch(lh__table_io *io, const char *dir, const char *name, lh_buf *out,
                    lh_error *err);
/* Make the scratch file at `path` the table's file `file` (replacing one of that name). */
int lh__tio_publish(lh__table_io *io, const char *path, const char *file, lh_error *err);

#endif
