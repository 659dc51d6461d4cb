/* Operations over a dataset (inventory §9): the exports, optimize, make, crawl and the archive
 * download, each a job run with a freshness target. A run whose target is newer than all its
 * dependencies is skipped ("already up-to-date") unless forced, and writes no job record. */
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
  int64_t done;     /* crawl: files archived; download: files written */
  int64_t errors;   /* crawl, download: files left out for bad input (each logged) */
  int64_t present;  /* crawl, download: files that were there already (left alone) */
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
/* ---- the file archive (lakehouse/archive.h) ------------------------------------------------ */

/* What a crawl does with a file that is archived already (HandleExistingMode). */
typedef enum lh_crawl_existing {
  LH_EXISTING_SKIP_PATH = 0, /* skip it when its blob exists with metadata of the same key */
  LH_EXISTING_SKIP_CHECKSUM, /* skip it when its blob exists */
  LH_EXISTING_OVERWRITE      /* archive it again */
} lh_crawl_existing;

/* "skip-path", "skip-checksum", "overwrite". */
LH_API int lh_crawl_existing_parse(const char *name, lh_crawl_existing *out, lh_error *err);
LH_API const char *lh_crawl_existing_name(lh_crawl_existing e);

/* Called after each file a crawl looked at: files so far, bytes read so far. */
typedef void (*lh_crawl_progress_fn)(void *ctx, uint64_t files, uint64_t bytes);

/* A zeroed struct is the Python project's default: every file, no entities, skip-path. */
typedef struct lh_crawl_opts {
  const char *prefix;         /* only keys under this folder of the source ("a/b") */
  const char *exclude_prefix; /* not keys that start with this */
  const char *glob;           /* only keys matching this path glob, as Python's (fsspec) glob:
                                 '*' stays within a folder and '**' crosses folders, so
                                 "*.pdf" is the PDFs of the top folder only */
  const char *exclude_glob;   /* not keys matching this fnmatch pattern, as Python's
                                 fnmatch: '*' also matches '/' ("*.pdf": every PDF) */
  bool make_entities;         /* a Folder entity per folder and an entity per file (origin
                                 "crawl") through the journal, flushed at the end */
  lh_crawl_existing existing;
  lh_crawl_progress_fn progress; /* NULL: none */
  void *progress_ctx;
} lh_crawl_opts;

/* crawl (CrawlJob, target operations/crawl/last_run, always runs): archive every regular file
 * under the folder uri (lakehouse/archive.h) with origin "crawl" and its key relative to the
 * folder. A file that cannot be archived (unreadable, vanished, changed while read, empty, a
 * name that is not UTF-8 or holds a control character) is logged as a warning naming it and
 * counted in res->errors; the crawl goes on. Special files and links to folders are skipped
 * with a note. Killed and rerun with skip-path, a crawl archives the rest: no metadata or
 * entity is written twice. o may be NULL; res may be NULL. */
LH_API int lh_dataset_crawl(lh_dataset *ds, const char *uri, const lh_crawl_opts *o,
                            lh_op_result *res, lh_error *err);

/* download (DownloadArchiveJob, target operations/download_archive/last_run, dependency
 * exports/documents.csv): copy the blob of every row of exports/documents.csv to
 * {path}/{name} (or {name}) in the store target_uri, streamed; files that exist there are
 * counted as skipped. Skipped as up to date (like Python) when the last download is newer
 * than documents.csv, unless force. LH_ENOTFOUND without exports/documents.csv. */
LH_API int lh_dataset_download_archive(lh_dataset *ds, const char *target_uri, bool force,
                                       lh_op_result *res, lh_error *err);

/* The published index.json, else the dataset config (as `datasets` shows it). */
LH_API int lh_dataset_index(lh_dataset *ds, lh_buf *out, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
