/* Operation: optimize the statement store (merge -> compact -> vacuum), each step under
 * the maintenance fence. */
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"

int lh__operation_optimize(lh_dataset *ds, const lh_optimize_opts *o, lh_optimize_result *res,
                           lh_error *err) {
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  /* the journal first, as the Python project's merge() flushes before it merges */
  lh_flush_result fr;
  if ((rc = lh_entities_flush(ds, &fr, err)) != 0)
    return rc;
  if (fr.rows)
    lh_log_info("%s: flushed %llu statements", ds->name, (unsigned long long)fr.rows);
  lh_merge_opts mo = {o ? o->force : false, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  lh_log_info("%s: merging statements%s", ds->name, mo.force ? " (forced)" : "");
  if ((rc = lh_statement_store_merge(st, &mo, &res->merge, err)) != 0)
    return rc;
  lh_log_info("%s: merged %zu partition(s), %llu -> %llu rows (%zu clean)", ds->name,
              res->merge.partitions, (unsigned long long)res->merge.rows_before,
              (unsigned long long)res->merge.rows_after, res->merge.skipped);
  if ((rc = lh_statement_store_compact(st, o ? o->target_size : 0, &res->compact, err)) != 0)
    return rc;
  lh_log_info("%s: compacted %zu -> %zu files", ds->name, res->compact.files_before,
              res->compact.files_after);
  if ((rc = lh_statement_store_vacuum(st, o ? o->retention_hours : 0, &res->vacuum, err)) != 0)
    return rc;
  lh_log_info("%s: vacuumed %zu unreferenced file(s), %lld bytes", ds->name, res->vacuum.files,
              (long long)res->vacuum.bytes);
  return lh_statement_store_version(st, &res->version, err);
}
