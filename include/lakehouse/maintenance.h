/* What the maintenance of a dataset's statement store did (inventory §6.3-6.5): the results
 * of merge, compact and vacuum, as `maintenance optimize` reports them. */
#ifndef LAKEHOUSE_MAINTENANCE_H
#define LAKEHOUSE_MAINTENANCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_merge_result {
  size_t partitions; /* partitions rewritten */
  size_t skipped;    /* clean partitions left alone */
  size_t slices;     /* entity-id slices executed */
  uint64_t rows_before, rows_after;
  int64_t version; /* last commit, -1 if none */
} lh_merge_result;

typedef struct lh_compact_result {
  size_t files_before, files_after;
  int64_t version;
} lh_compact_result;

typedef struct lh_vacuum_result {
  size_t files; /* deleted */
  int64_t bytes;
  size_t kept_for_readers; /* removed files a live reader's snapshot may still read */
  size_t foreign;          /* files the log does not account for and we did not write: left */
} lh_vacuum_result;

#ifdef __cplusplus
}
#endif
#endif
