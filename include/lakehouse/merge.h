/* The merge of one partition of the statement store (inventory §6.4) as SQL, and the range
 * slicing that bounds its memory. Pure text building: the storage layer runs it. */
#ifndef LAKEHOUSE_MERGE_H
#define LAKEHOUSE_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/buf.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_MERGE_SPILL_FACTOR 32
#define LH_MERGE_SAMPLE_SIZE 10000

/* Append the dedupe query over `source` (a SELECT yielding the 18 statement columns):
 * - statements without a fragment: the latest row per id survives (last_seen, then a
 *   tombstone over a live row at the same instant), first_seen folded to the minimum;
 * - fragment statements: per (entity_id, prop, fragment) only the rows of the latest
 *   emission survive, identical ids collapse, first_seen folded per id;
 * - tombstones deleted at or before grace_cutoff are dropped (with the rows they beat);
 * - rows ordered by entity_id, fragment, prop, id, last_seen DESC.
 * lo / hi (either may be NULL) restrict entity_id to [lo, hi). With partition_columns the
 * output has all 18 columns, else the 15 stored in the Parquet files. Literals are quoted. */
int lh_merge_sql(lh_buf *out, const char *source, const char *lo, const char *hi,
                 lh_time grace_cutoff, bool partition_columns);

/* How many entity-id slices a partition of `bytes` compressed bytes needs under the memory
 * budget (a DuckDB memory_limit string; unparsable values such as "80%" count as 8GB):
 * max(1, ceil(bytes * spill_factor / budget)); 1 when bytes <= 0. */
int64_t lh_merge_slice_count(int64_t bytes, const char *memory_limit, int64_t spill_factor);

/* Half-open ranges covering every entity id, from a sample of them: bounds are taken at
 * equal steps of the sorted sample, keeping only strictly increasing ones. On return
 * (*bounds)[0 .. *nbounds) are the k inner boundaries (caller frees each and the array);
 * the ranges are [NULL, b0), [b0, b1), ..., [b(k-1), NULL). */
int lh_slice_bounds(const char *const *sample, size_t n, int64_t slices, char ***bounds,
                    size_t *nbounds);

#ifdef __cplusplus
}
#endif
#endif
