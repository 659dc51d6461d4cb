/* Merge SQL and slicing (inventory §6.4). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sort.h"
#include "core/sql.h"
#include "logic/merge.h"

static const char *const DATA_COLUMNS =
    "id, entity_id, dataset, source, schema, prop, prop_type, value, original_value, lang, "
    "external, first_seen, last_seen, fragment, deleted_at";
static const char *const ALL_COLUMNS =
    "shard, id, entity_id, dataset, bucket, origin, source, schema, prop, prop_type, value, "
    "original_value, lang, external, first_seen, last_seen, fragment, deleted_at";

int lh_merge_sql(lh_buf *out, const char *source, const char *lo, const char *hi,
                 lh_time grace_cutoff, bool partition_columns) {
  char cutoff[LH_ISO_SIZE];
  lh_time_format_iso(grace_cutoff, cutoff);
  int rc = lh_buf_puts(out, "WITH lh_base AS (SELECT * FROM (");
  rc = rc ? rc : lh_buf_puts(out, source);
  rc = rc ? rc : lh_buf_puts(out, ") lh_src WHERE true");
  if (!rc && lo) {
    rc = lh_buf_puts(out, " AND entity_id >= ");
    rc = rc ? rc : lh__sql_quote(out, lo);
  }
  if (!rc && hi) {
    rc = lh_buf_puts(out, " AND entity_id < ");
    rc = rc ? rc : lh__sql_quote(out, hi);
  }
  rc = rc ? rc
          : lh_buf_printf(
                out,
                "), lh_nf AS (SELECT * REPLACE (min(first_seen) OVER lh_w AS first_seen), "
                "row_number() OVER (lh_w ORDER BY last_seen DESC, deleted_at DESC NULLS LAST) AS "
                "lh_rn FROM lh_base WHERE fragment = '' WINDOW lh_w AS (PARTITION BY shard, "
                "bucket, origin, id)), "
                "lh_fr AS (SELECT * REPLACE (min(first_seen) OVER lh_wi AS first_seen), "
                "max(last_seen) OVER lh_wg AS lh_group_last, row_number() OVER (lh_wi ORDER BY "
                "last_seen DESC, deleted_at DESC NULLS LAST) AS lh_rn FROM lh_base WHERE fragment "
                "<> '' WINDOW lh_wi AS (PARTITION BY shard, bucket, origin, entity_id, prop, "
                "fragment, id), lh_wg AS (PARTITION BY shard, bucket, origin, entity_id, prop, "
                "fragment)) "
                "SELECT %s FROM (SELECT * EXCLUDE (lh_rn) FROM lh_nf WHERE lh_rn = 1 UNION ALL "
                "SELECT * EXCLUDE (lh_rn, lh_group_last) FROM lh_fr WHERE lh_rn = 1 AND "
                "last_seen = lh_group_last) lh_merged WHERE deleted_at IS NULL OR deleted_at > "
                "TIMESTAMPTZ '%s' ORDER BY entity_id, fragment, prop, id, last_seen DESC",
                partition_columns ? ALL_COLUMNS : DATA_COLUMNS, cutoff);
  return rc;
}

int64_t lh_merge_slice_count(int64_t bytes, const char *memory_limit, int64_t spill_factor) {
  if (bytes <= 0)
    return 1;
  int64_t budget;
  if (!memory_limit || lh_parse_byte_size(memory_limit, &budget, NULL) != 0 || budget <= 0)
    budget = 8000000000LL; /* "8GB" */
  double slices = ceil((double)bytes * (double)spill_factor / (double)budget);
  if (slices < 1)
    return 1;
  return slices > 1e9 ? 1000000000LL : (int64_t)slices;
}

int lh_slice_bounds(const char *const *sample, size_t n, int64_t slices, char ***bounds,
                    size_t *nbounds) {
  *bounds = NULL;
  *nbounds = 0;
  if (slices <= 1 || n == 0)
    return 0;
  const char **sorted = malloc(n * sizeof *sorted);
  if (!sorted)
    return LH_ENOMEM;
  memcpy(sorted, sample, n * sizeof *sorted);
  lh__qsort(sorted, n, sizeof *sorted, lh__cmp_strp);
  if ((size_t)slices > n)
    slices = (int64_t)n;
  char **out = calloc((size_t)slices, sizeof *out);
  if (!out) {
    free(sorted);
    return LH_ENOMEM;
  }
  size_t k = 0;
  for (int64_t i = 1; i < slices; i++) {
    const char *b = sorted[(size_t)i * n / (size_t)slices];
    if (k && strcmp(b, out[k - 1]) <= 0)
      continue; /* keep strictly increasing bounds only */
    if (!(out[k] = strdup(b))) {
      for (size_t j = 0; j < k; j++)
        free(out[j]);
      free(out);
      free(sorted);
      return LH_ENOMEM;
    }
    k++;
  }
  free(sorted);
  if (k == 0) {
    free(out);
    return 0;
  }
  *bounds = out;
  *nbounds = k;
  return 0;
}
