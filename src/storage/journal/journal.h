/* The SQL journal of a dataset (inventory §7): an append-only table `journal_{dataset}`
 * with the 18 statement columns, no key and no index. Writers insert batches; a flush
 * rotates the live table to a segment `journal_{dataset}-seg-{UTC %Y%m%dT%H%M%S}{4 hex}`,
 * recreates it, and drains every segment in name order into the statement store, dropping
 * a segment only after its rows were committed there. A segment left by a crashed or failed
 * flush is drained by the next one.
 *
 * Backends, chosen by URI:
 *   sqlite:///path/journal.db   a file (WAL, busy timeout; several processes may write)
 *   sqlite:///:memory:          per process, lost on exit (only when asked for)
 *   postgresql://... / postgres://...   libpq: COPY for inserts and drains, an advisory lock
 *                               so one flush runs per dataset, lock timeout on rotation.
 * A journal handle is used by one thread at a time. */
#ifndef LH_STORAGE_JOURNAL_H
#define LH_STORAGE_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/row.h"
#include "storage/parquet/statement_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_journal lh_journal;

/* Open (and create when missing) the journal table of `dataset`, the dataset stored at
 * dataset_uri. A journal database may be shared by several lakes: the table `lakehouse_journals`
 * records which table belongs to which dataset URI, and a dataset gets journal_{dataset} when
 * that name is free (or its holder's local folder no longer exists: the lake moved), else
 * journal_{dataset}-{8 hex of sha1(dataset_uri)}; flushes drain only their own table. NULL
 * dataset_uri: journal_{dataset}, unregistered (tools and tests). */
int lh_journal_open(const char *uri, const char *dataset, const char *dataset_uri, lh_journal **out,
                    lh_error *err);
void lh_journal_close(lh_journal *j);
/* "sqlite" or "postgresql". */
const char *lh_journal_backend(const lh_journal *j);
/* The live table's name: journal_{dataset} or journal_{dataset}-{8 hex}. */
const char *lh_journal_table(const lh_journal *j);

/* Insert rows in one transaction. Every row is checked first (required columns, origin),
 * so a bad row inserts nothing of the batch. */
int lh_journal_insert(lh_journal *j, const lh_row *rows, size_t n, lh_error *err);
/* Bulk mode for a stream of large inserts (on) until it ends (off). SQLite: WAL checkpoints
 * run in a thread with a connection of their own instead of inside the inserts. PostgreSQL:
 * nothing changes. */
int lh_journal_bulk(lh_journal *j, bool on, lh_error *err);
/* Rows in the live table and every segment. */
int lh_journal_count(lh_journal *j, uint64_t *n, lh_error *err);
/* Drop every segment and empty the live table; *n gets the number of rows removed. */
int lh_journal_clear(lh_journal *j, uint64_t *n, lh_error *err);

/* Live rows (deleted_at IS NULL) of one entity, from the live table and every segment. */
int lh_journal_iterate_entity(lh_journal *j, const char *entity_id, lh_row_fn fn, void *ctx,
                              lh_error *err);

/* Drains one segment: next() hands out its rows (ordered by shard when asked). Return 0
 * only once the rows are durably stored; the segment is dropped after that. */
typedef int (*lh_journal_drain_fn)(void *ctx, const char *segment, lh_row_batch_fn next,
                                   void *next_ctx, lh_error *err);

typedef struct lh_journal_flush_result {
  uint64_t rows;   /* rows drained */
  size_t segments; /* segments drained and dropped */
  bool busy;       /* another flush of this dataset holds the flush lock: nothing done */
} lh_journal_flush_result;

/* Rotate and drain (inventory §7.4). When another flush holds the lock, returns 0 with
 * res->busy set. When drain fails, its error is returned and the segment stays. */
int lh_journal_flush(lh_journal *j, bool ordered, lh_journal_drain_fn drain, void *ctx,
                     lh_journal_flush_result *res, lh_error *err);

/* Names of the segments waiting to be drained, in drain order (caller frees each and the
 * array). For tests and `maintenance` diagnostics. */
int lh_journal_segments(lh_journal *j, char ***names, size_t *n, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
