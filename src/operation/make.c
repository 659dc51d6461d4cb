/* The make operation (MakeJob, inventory §9.2): flush the journal, optimize the statement
 * store when a partition needs a merge, then every export that is out of date, index.json
 * last. The one path the CLI's `make` and the HTTP API's make route take. */
#include <stdio.h>
#include <string.h>

#include "core/conventions.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"

typedef struct make_ctx {
  lh_make_opts opts;
  lh_op_result *res;
} make_ctx;

/* Flush and optimize before the freshness check: both move the tags make depends on. */
static int make_prepare(lh__op *op, lh_error *err) {
  make_ctx *c = op->ctx;
  int rc;
  if (!c->opts.no_flush) {
    lh_flush_result fr;
    if ((rc = lh_entities_flush(op->ds, &fr, err)))
      return rc;
    c->res->flushed = fr.rows;
    if (fr.rows)
      lh_log_info("%s: flushed %llu statements", op->ds->name, (unsigned long long)fr.rows);
  }
  if (c->opts.no_optimize)
    return 0;
  lh_optimize_opts oo = {.force = c->opts.force_optimize};
  lh_op_result r = {0};
  rc = lh__optimize_run(op->ds, &oo, false, NULL, &r, err);
  lh_buf_free(&r.job);
  if (!rc)
    c->res->optimized = !r.skipped;
  return rc;
}

static int make_handle(lh__op *op, bool force, lh_error *err) {
  make_ctx *c = op->ctx;
  for (int k = 0; k < LH_EXPORT_KIND_COUNT; k++) {
    lh_op_result r = {0};
    int rc = lh_dataset_export(op->ds, (lh_export_kind)k, force, &r, err);
    lh_buf_free(&r.job);
    if (rc)
      return rc;
    if (!r.skipped)
      c->res->runs++;
  }
  op->job.done = 1;
  return 0;
}

int lh_dataset_make(lh_dataset *ds, const lh_make_opts *opts, lh_op_result *res, lh_error *err) {
  static const char *const DEPS[] = {LH_TAG_JOURNAL_UPDATED, LH_TAG_STATEMENTS_OPTIMIZED,
                                     LH_PATH_CONFIG};
  lh_op_result local = {0};
  if (!res)
    res = &local;
  res->skipped = false;
  res->runs = 0;
  res->flushed = 0;
  res->optimized = false;
  make_ctx c = {opts ? *opts : (lh_make_opts){0}, res};
  lh__op op = {.ds = ds,
               .tags = ds->tags,
               .label = "make",
               .target = LH_TAG_MAKE_RUN,
               .deps = DEPS,
               .ndeps = 3,
               .prepare = make_prepare,
               .handle = make_handle,
               .ctx = &c};
  int rc;
  if (c.opts.no_exports) {
    /* only index.json, from the config and what was exported before: no optimize */
    c.opts.no_optimize = true;
    rc = make_prepare(&op, err);
    if (!rc)
      rc = lh_dataset_export(ds, LH_EXPORT_INDEX, c.opts.force_exports, res, err);
  } else {
    lh_job_init(&op.job, "MakeJob", ds->name);
    rc = lh__op_run(&op, c.opts.force_exports, res, err);
  }
  lh_buf_free(&local.job);
  return rc;
}
