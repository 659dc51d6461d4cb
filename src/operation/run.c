/* The operation framework (inventory §9.1): prepare, the freshness check, and the run inside
 * a job record with its target tag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
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
