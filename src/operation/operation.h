/* Operations: explicit multi-step workflows over a dataset (layer 4). */
#ifndef LH_OPERATION_H
#define LH_OPERATION_H

#include "lakehouse/operations.h"
#include "repository/context.h"
#include "repository/jobs.h"
#include "storage/tags.h"

/* The optimize operation (optimize.c); always: also when no partition needs a merge.
 * result, res: may be NULL. */
int lh__optimize_run(lh_dataset *ds, const lh_optimize_opts *opts, bool always,
                     lh_optimize_result *result, lh_op_result *res, lh_error *err);

/* One run of an operation (inventory §9.1): prepare, the freshness check, then handle
 * inside a job record; the target tag gets the time handle started, on success only. */
typedef struct lh__op lh__op;
struct lh__op {
  lh_dataset *ds;
  lh_tags *tags;
  const char *label;  /* for messages: "export statements" */
  const char *target; /* tag key, NULL: none */
  const char *const *deps;
  size_t ndeps;
  lh_job job;
  int (*prepare)(lh__op *op, lh_error *err);            /* NULL: nothing */
  int (*is_fresh)(lh__op *op, lh_error *err);           /* NULL: target newer than deps */
  int (*handle)(lh__op *op, bool force, lh_error *err); /* sets job.done */
  void *ctx;
};

int lh__op_run(lh__op *op, bool force, lh_op_result *res, lh_error *err);

#endif
