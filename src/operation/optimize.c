/* The optimize operation (OptimizeJob): flush the journal, then merge -> compact -> vacuum
 * the statement store, each step under the maintenance fence. */
#include <stdio.h>
#include <string.h>

#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"

static int optimize_steps(lh_dataset *ds, const lh_optimize_opts *o, lh_optimize_result *res,
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

typedef struct optimize_ctx {
  const lh_optimize_opts *opts;
  lh_optimize_result *result;
} optimize_ctx;

static int optimize_fresh(lh__op *op, lh_error *err) {
  int needs = lh_entities_needs_merge(op->ds, err);
  return needs < 0 ? needs : !needs;
}

static int optimize_handle(lh__op *op, bool force, lh_error *err) {
  (void)force; /* whether to run at all; re-merging clean partitions is opts->force */
  optimize_ctx *c = op->ctx;
  lh_optimize_opts o = c->opts ? *c->opts : (lh_optimize_opts){0};
  int rc = optimize_steps(op->ds, &o, c->result, err);
  /* merge, compact, vacuum: one step each */
  op->job.done = rc ? 0 : 3;
  return rc;
}

/* The optimize operation; always: also when no partition needs a merge. */
int lh__optimize_run(lh_dataset *ds, const lh_optimize_opts *opts, bool always,
                     lh_optimize_result *result, lh_op_result *res, lh_error *err) {
  char retention[32];
  snprintf(retention, sizeof retention, "%d", opts ? opts->retention_hours : 0);
  lh_optimize_result local;
  memset(&local, 0, sizeof local);
  optimize_ctx c = {opts, result ? result : &local};
  lh__op op = {.ds = ds,
               .tags = ds->tags,
               .label = "optimize",
               .is_fresh = optimize_fresh,
               .handle = optimize_handle,
               .ctx = &c};
  lh_job_init(&op.job, "OptimizeJob", ds->name);
  op.job.extra[op.job.nextra++] = (lh_job_field){"retention_hours", retention};
  int rc = lh__op_run(&op, always || (opts && opts->force), res, err);
  return rc;
}

int lh_dataset_optimize(lh_dataset *ds, const lh_optimize_opts *opts, lh_optimize_result *res,
                        lh_error *err) {
  lh_optimize_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  return lh__optimize_run(ds, opts, true, res, NULL, err);
}
