/* Job runs (inventory §5.4): one JSON record per run at jobs/runs/{name}/{run_id}.json,
 * run ids are UUIDv7 (time-ordered). Unlike the Python project a successful run has
 * `"exc": null`, not the string "None". */
#ifndef LH_REPOSITORY_JOBS_H
#define LH_REPOSITORY_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/buf.h"
#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_JOB_EXTRA_MAX 8

typedef struct lh_job_field {
  const char *key;
  const char *json; /* the value as JSON text ("\"statements\"", "true", "0") */
} lh_job_field;

typedef struct lh_job {
  const char *name;    /* the job model's name: ExportJob, OptimizeJob, MakeJob */
  const char *dataset; /* borrowed */
  char run_id[40];
  lh_time started, stopped, last_updated;
  int64_t pending, done, errors;
  bool running;
  char exc[512];                        /* "" on success */
  lh_job_field extra[LH_JOB_EXTRA_MAX]; /* job-specific fields, in this order */
  size_t nextra;
} lh_job;

/* A job record of `name` for dataset, not started yet. */
void lh_job_init(lh_job *job, const char *name, const char *dataset);
/* Start: a new run id, started = now, running; saved. */
int lh_job_start(lh_store *s, lh_job *job, lh_error *err);
/* Save progress (last_updated = now). */
int lh_job_save(lh_store *s, lh_job *job, lh_error *err);
/* Stop, recording the failure (exc NULL on success), and save. */
int lh_job_stop(lh_store *s, lh_job *job, const char *exc, lh_error *err);
/* The record as JSON (no newline). */
int lh_job_json(const lh_job *job, lh_buf *out);
/* The latest run of `name` (greatest run id) as JSON text; LH_ENOTFOUND when none. */
int lh_jobs_latest(lh_store *s, const char *name, lh_buf *out, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
