/* The merge of one partition of the statement store (inventory §6.4): as SQL (used for the
 * read-time dedupe of the live view), as C over rows in memory (used by the store's merge),
 * and the range slicing that bounds its memory. Pure logic: the storage layer runs it. */
#ifndef LH_LOGIC_MERGE_H
#define LH_LOGIC_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/buf.h"
#include "lakehouse/row.h"
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

/* ---- the same rules in C --------------------------------------------------------------
 * Both implementations agree row for row (tests/unit/test_merge_rows.c runs them side by
 * side). One assumption: a statement id belongs to one entity and property (it hashes
 * them), so rows are grouped by entity before id. */

/* The merge order: entity_id, prop, id, fragment, then the winner of an id first
 * (last_seen DESC, deleted_at DESC NULLS LAST). Byte-wise string order. */
int lh_merge_row_cmp(const lh_row *a, const lh_row *b);

/* Sort order[0 .. n) (indexes into rows, any permutation) by lh_merge_row_cmp, stably.
 * Stretches already in order - the sorted runs appends write - are merged, not re-sorted:
 * k runs cost n log k comparisons. tmp: n scratch entries. LH_ENOMEM (order unchanged) when
 * the run list cannot be allocated. */
int lh_merge_sort(const lh_row *rows, uint32_t *order, uint32_t *tmp, size_t n);

/* Apply the merge rules to the rows of one partition in lh_merge_sort order. The survivors'
 * indexes go to out (n entries) in output order (entity_id, fragment, prop, id), with their
 * first_seen folded to the minimum of their group; *count says how many survive. */
int lh_merge_rows(lh_row *rows, const uint32_t *sorted, size_t n, lh_time grace_cutoff,
                  uint32_t *out, size_t *count);

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
