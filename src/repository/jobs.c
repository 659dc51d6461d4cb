/* Job run records at jobs/runs/{name}/{run_id}.json (inventory §5.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/text.h"
#include "lakehouse/entity.h"
#include "repository/jobs.h"

void lh_job_init(lh_job *job, const char *name, const char *dataset) {
  memset(job, 0, sizeof *job);
  job->name = name;
  job->dataset = dataset;
  job->started = job->stopped = job->last_updated = LH_TIME_NULL;
}

int lh_job_json(const lh_job *job, lh_buf *out) {
  int rc = lh_buf_printf(out, "{\"run_id\":\"%s\"", job->run_id);
  rc = rc ? rc : lh__json_put_time(out, "started", job->started);
  rc = rc ? rc : lh__json_put_time(out, "stopped", job->stopped);
  rc = rc ? rc : lh__json_put_time(out, "last_updated", job->last_updated);
  rc = rc ? rc
          : lh_buf_printf(out, ",\"pending\":%lld,\"done\":%lld,\"errors\":%lld,\"running\":%s",
                          (long long)job->pending, (long long)job->done, (long long)job->errors,
                          job->running ? "true" : "false");
  rc = rc ? rc : lh_buf_puts(out, ",\"exc\":");
  rc = rc            ? rc
       : job->exc[0] ? lh_json_write_string(out, job->exc, strlen(job->exc))
                     : lh_buf_puts(out, "null");
  rc = rc ? rc : lh_buf_puts(out, ",\"took\":");
  if (!rc && job->started != LH_TIME_NULL && job->stopped != LH_TIME_NULL) {
    /* pydantic's ISO 8601 duration: PT12.345678S */
    lh_time d = job->stopped - job->started;
    rc = lh_buf_printf(out, "\"PT%lld.%06lldS\"", (long long)(d / 1000000),
                       (long long)(d % 1000000));
  } else if (!rc) {
    rc = lh_buf_puts(out, "null");
  }
  rc = rc ? rc : lh_buf_puts(out, ",\"dataset\":");
  rc = rc ? rc : lh_json_write_string(out, job->dataset, strlen(job->dataset));
  for (size_t i = 0; !rc && i < job->nextra; i++)
    rc = lh_buf_printf(out, ",\"%s\":%s", job->extra[i].key, job->extra[i].json);
  return rc ? rc : lh_buf_printf(out, ",\"name\":\"%s\"}", job->name);
}

int lh_job_save(lh_store *s, lh_job *job, lh_error *err) {
  job->last_updated = lh_time_now();
  char *key = lh_path_job_run(job->name, job->run_id);
  lh_buf b = LH_BUF_INIT;
  int rc = !key || lh_job_json(job, &b) || lh_buf_putc(&b, '\n')
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : lh_store_put(s, key, b.data, b.len, err);
  lh_buf_free(&b);
  free(key);
  return rc;
}

int lh_job_start(lh_store *s, lh_job *job, lh_error *err) {
  lh_uuid7(job->run_id);
  job->started = lh_time_now();
  job->running = true;
  return lh_job_save(s, job, err);
}

int lh_job_stop(lh_store *s, lh_job *job, const char *exc, lh_error *err) {
  job->stopped = lh_time_now();
  job->running = false;
  snprintf(job->exc, sizeof job->exc, "%s", exc ? exc : "");
  return lh_job_save(s, job, err);
}

typedef struct latest_ctx {
  char *best;
} latest_ctx;

static int keep_latest(const char *key, void *ctx) {
  latest_ctx *l = ctx;
  size_t n = strlen(key);
  if (n < 5 || strcmp(key + n - 5, ".json"))
    return 0;
  if (!l->best || strcmp(key, l->best) > 0) {
    char *k = strdup(key);
    if (!k)
      return LH_ENOMEM;
    free(l->best);
    l->best = k;
  }
  return 0;
}

int lh_jobs_latest(lh_store *s, const char *name, lh_buf *out, lh_error *err) {
  char *prefix = lh_path_job_prefix(name);
  if (!prefix)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  latest_ctx l = {NULL};
  int rc = lh_store_iterate(s, prefix, NULL, keep_latest, &l, err);
  free(prefix);
  if (!rc && !l.best)
    rc = lh_error_set(err, LH_ENOTFOUND, "no %s runs", name);
  if (!rc)
    rc = lh_store_get(s, l.best, out, err);
  free(l.best);
  return rc;
}
