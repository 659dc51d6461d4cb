/* The operation framework (inventory §9.1), and the optimize and make operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lakehouse/conventions.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"

int lh__op_run(lh__op *op, bool force, lh_op_result *res, lh_error *err) {
  lh_store *store = op->ds->store;
  int rc = op->prepare ? op->prepare(op, err) : 0;
  if (rc)
    return rc;
  if (!force) {
    int fresh;
    if (op->is_fresh)
      fresh = op->is_fresh(op, err);
    else
      fresh = op->target && op->ndeps
                  ? lh_tags_is_latest(op->tags, op->target, op->deps, op->ndeps, err)
                  : 0;
    if (fresh < 0)
      return fresh;
    if (fresh) {
      lh_log_info("%s: %s: already up-to-date", op->ds->name, op->label);
      if (res)
        res->skipped = true;
      return 0;
    }
  }
  if ((rc = lh_job_start(store, &op->job, err)))
    return rc;
  lh_time started = op->job.started;
  rc = op->handle(op, force, err);
  if (rc == 0 && op->target)
    rc = lh_tags_set(op->tags, op->target, started, err);
  lh_error job_err = {0};
  int stop =
      lh_job_stop(store, &op->job,
                  rc ? (err && err->message[0] ? err->message : lh_strerror(rc)) : NULL, &job_err);
  if (rc)
    return rc;
  if (stop) {
    if (err)
      *err = job_err;
    return stop;
  }
  if (res) {
    res->skipped = false;
    lh_buf_reset(&res->job);
    if (lh_job_json(&op->job, &res->job))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  return 0;
}

/* ---- optimize ----------------------------------------------------------------------------- */

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
  int rc = lh__operation_optimize(op->ds, &o, c->result, err);
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
               .tags = lh_tags_open(ds->store, NULL),
               .label = "optimize",
               .is_fresh = optimize_fresh,
               .handle = optimize_handle,
               .ctx = &c};
  if (!op.tags)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_job_init(&op.job, "OptimizeJob", ds->name);
  op.job.extra[op.job.nextra++] = (lh_job_field){"retention_hours", retention};
  int rc = lh__op_run(&op, always || (opts && opts->force), res, err);
  lh_tags_close(op.tags);
  return rc;
}

int lh_dataset_optimize_op(lh_dataset *ds, const lh_optimize_opts *opts, lh_op_result *res,
                           lh_error *err) {
  return lh__optimize_run(ds, opts, false, NULL, res, err);
}

/* ---- make --------------------------------------------------------------------------------- */

static int make_prepare(lh__op *op, lh_error *err) {
  lh_flush_result fr;
  int rc = lh_entities_flush(op->ds, &fr, err);
  if (!rc && fr.rows)
    lh_log_info("%s: flushed %llu statements", op->ds->name, (unsigned long long)fr.rows);
  return rc;
}

static int make_handle(lh__op *op, bool force, lh_error *err) {
  lh_op_result *outer = op->ctx;
  for (int k = 0; k < LH_EXPORT_KIND_COUNT; k++) {
    lh_op_result r = {0};
    int rc = lh_dataset_export(op->ds, (lh_export_kind)k, force, &r, err);
    lh_buf_free(&r.job);
    if (rc)
      return rc;
    if (!r.skipped && outer)
      outer->runs++;
  }
  op->job.done = 1;
  return 0;
}

int lh_dataset_make(lh_dataset *ds, bool force, lh_op_result *res, lh_error *err) {
  static const char *const DEPS[] = {LH_TAG_JOURNAL_UPDATED, LH_TAG_STATEMENTS_OPTIMIZED,
                                     LH_PATH_CONFIG};
  lh__op op = {.ds = ds,
               .tags = lh_tags_open(ds->store, NULL),
               .label = "make",
               .target = LH_TAG_MAKE_RUN,
               .deps = DEPS,
               .ndeps = 3,
               .prepare = make_prepare,
               .handle = make_handle,
               .ctx = res};
  if (!op.tags)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_job_init(&op.job, "MakeJob", ds->name);
  if (res)
    res->runs = 0;
  int rc = lh__op_run(&op, force, res, err);
  lh_tags_close(op.tags);
  return rc;
}
