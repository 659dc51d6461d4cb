/* Operations over a dataset (inventory §9): the exports, optimize and make, each a job run
 * with a freshness target. A run whose target is newer than all its dependencies is
 * skipped ("already up-to-date") unless forced, and writes no job record. */
#ifndef LAKEHOUSE_OPERATIONS_H
#define LAKEHOUSE_OPERATIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/maintenance.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

typedef struct lh_optimize_opts {
  bool force;          /* merge every partition, also clean ones */
  int retention_hours; /* vacuum: keep unreferenced files younger than this */
  int64_t target_size; /* compaction target, 0 = LH_TARGET_FILE_SIZE */
} lh_optimize_opts;

typedef struct lh_optimize_result {
  lh_merge_result merge;
  lh_compact_result compact;
  lh_vacuum_result vacuum;
  int64_t version;
} lh_optimize_result;

/* Merge -> compact -> vacuum the statement store (`maintenance optimize`), recorded as an
 * OptimizeJob run; it runs even when no partition needs a merge (compaction and vacuum may
 * still have work). */
LH_API int lh_dataset_optimize(lh_dataset *ds, const lh_optimize_opts *opts,
                               lh_optimize_result *res, lh_error *err);
typedef enum lh_export_kind {
  LH_EXPORT_STATEMENTS = 0, /* exports/statements.csv[.gz|.zst] */
  LH_EXPORT_ENTITIES,       /* entities.ftm.json[.gz|.zst] (+ diffs/entities.ftm.json/) */
  LH_EXPORT_DOCUMENTS,      /* exports/documents.csv (+ diffs/exports/documents.csv/) */
  LH_EXPORT_STATISTICS,     /* exports/statistics.json (versioned) */
  LH_EXPORT_INDEX,          /* index.json (versioned) */
  LH_EXPORT_KIND_COUNT
} lh_export_kind;

/* "statements", "entities", "documents", "statistics", "index". */
LH_API int lh_export_kind_parse(const char *name, lh_export_kind *out, lh_error *err);
LH_API const char *lh_export_kind_name(lh_export_kind k);

typedef struct lh_op_result {
  bool skipped;     /* fresh: nothing was done */
  lh_buf job;       /* the job record (JSON) of a run; free with lh_buf_free */
  int runs;         /* make: exports that ran (not skipped) */
  uint64_t flushed; /* make: statements flushed from the journal */
  bool optimized;   /* make: the statement store was optimized */
} lh_op_result;

/* Run one export (ExportJob). force: also when fresh. */
LH_API int lh_dataset_export(lh_dataset *ds, lh_export_kind kind, bool force, lh_op_result *res,
                             lh_error *err);

/* Stream a written export to fn, decompressed (statements.csv and entities.ftm.json in the
 * compression they were written with). LH_ENOTFOUND when it was not written yet. */
LH_API int lh_dataset_export_read(lh_dataset *ds, lh_export_kind kind, lh_bytes_fn fn, void *ctx,
                                  lh_error *err);

/* make's options; all false (or NULL) is the default pipeline. */
typedef struct lh_make_opts {
  bool no_flush;       /* do not flush the journal first */
  bool no_optimize;    /* do not optimize the statement store */
  bool no_exports;     /* write index.json only */
  bool force_optimize; /* optimize even when no partition needs a merge */
  bool force_exports;  /* write every export even when it is up to date */
} lh_make_opts;

/* make (MakeJob): flush the journal, optimize the store when a partition needs a merge
 * (OptimizeJob), then every export in order (statements, entities, documents, statistics,
 * index); the MakeJob is skipped when nothing changed since the last make. res may be NULL. */
LH_API int lh_dataset_make(lh_dataset *ds, const lh_make_opts *opts, lh_op_result *res,
                           lh_error *err);
/* The published index.json, else the dataset config (as `datasets` shows it). */
LH_API int lh_dataset_index(lh_dataset *ds, lh_buf *out, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
