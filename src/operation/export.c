/* The export operation (inventory §9.3): one ExportJob run per export whose target tag is
 * the artifact key; the artifacts themselves are written by their repositories
 * (repository/exports.h). Before an export the journal is flushed and the store merged when
 * they have to be. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "lakehouse/entities.h"
#include "lakehouse/log.h"
#include "operation/operation.h"
#include "repository/exports.h"

static const struct {
  const char *name;
  const char *target;
} KINDS[LH_EXPORT_KIND_COUNT] = {
    {"statements", LH_PATH_EXPORTS_STATEMENTS},
    {"entities", LH_PATH_ENTITIES_JSON},
    {"documents", LH_PATH_EXPORTS_DOCUMENTS},
    {"statistics", LH_PATH_EXPORTS_STATISTICS},
    {"index", LH_PATH_INDEX},
};

int lh_export_kind_parse(const char *name, lh_export_kind *out, lh_error *err) {
  for (int k = 0; k < LH_EXPORT_KIND_COUNT; k++)
    if (name && !strcmp(name, KINDS[k].name)) {
      *out = (lh_export_kind)k;
      return 0;
    }
  return lh_error_set(err, LH_EINVAL,
                      "unknown export '%s' (one of statements, entities, documents, statistics, "
                      "index)",
                      name ? name : "");
}

const char *lh_export_kind_name(lh_export_kind k) {
  return k < LH_EXPORT_KIND_COUNT ? KINDS[k].name : "?";
}

static int export_prepare(lh__op *op, lh_error *err) {
  static const char *const JOURNAL[] = {LH_TAG_JOURNAL_UPDATED};
  int flushed = lh_tags_is_latest(op->tags, LH_TAG_JOURNAL_FLUSHED, JOURNAL, 1, err);
  if (flushed < 0)
    return flushed;
  int rc = 0;
  int updated = flushed ? 0 : lh_tags_exists(op->tags, LH_TAG_JOURNAL_UPDATED, err);
  if (updated < 0)
    return updated;
  if (updated) {
    lh_flush_result fr;
    if ((rc = lh_entities_flush(op->ds, &fr, err)))
      return rc;
  }
  bool exists = false;
  if ((rc = lh_entities_exists(op->ds, &exists, err)) || !exists)
    return rc;
  int needs = lh_entities_needs_merge(op->ds, err);
  if (needs <= 0)
    return needs;
  lh_statement_store *st;
  lh_merge_result mr;
  lh_merge_opts mo = {false, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  if ((rc = lh__ctx_statements(op->ds, &st, err)))
    return rc;
  return lh_statement_store_merge(st, &mo, &mr, err);
}

static int export_handle(lh__op *op, bool force, lh_error *err) {
  (void)force;
  lh_export_kind kind = *(const lh_export_kind *)op->ctx;
  int rc = 0;
  if (kind != LH_EXPORT_INDEX) {
    bool exists = false;
    if ((rc = lh_entities_exists(op->ds, &exists, err)))
      return rc;
    if (!exists) {
      lh_log_info("%s: %s: no statements yet", op->ds->name, op->label);
      op->job.done = 1;
      return 0;
    }
  }
  switch (kind) {
  case LH_EXPORT_STATEMENTS: rc = lh__statements_export(op->ds, err); break;
  case LH_EXPORT_ENTITIES:
    rc = lh__entities_export(op->ds, op->tags, err);
    rc = rc ? rc : lh__diff_export(op->ds, op->tags, false, err);
    break;
  case LH_EXPORT_DOCUMENTS:
    rc = lh__documents_export(op->ds, err);
    /* a diff once there are documents, or were (their deletion is a change) */
    if (!rc) {
      int have = lh_store_exists(op->ds->store, LH_PATH_EXPORTS_DOCUMENTS, err);
      if (have == 0)
        have = lh_tags_exists(op->tags, LH_PATH_DIFFS_DOCUMENTS "-current", err);
      rc = have < 0 ? have : have ? lh__diff_export(op->ds, op->tags, true, err) : 0;
    }
    break;
  case LH_EXPORT_STATISTICS: rc = lh__statistics_export(op->ds, err); break;
  case LH_EXPORT_INDEX: rc = lh__index_export(op->ds, err); break;
  default: rc = lh_error_set(err, LH_EINVAL, "unknown export");
  }
  if (!rc)
    op->job.done = 1;
  return rc;
}

/* Fresh: the target is newer than the dependencies and, for the compressed exports, the
 * file exists with the dataset's current compression (a `compression` change reruns them). */
static int export_fresh(lh__op *op, lh_error *err) {
  int fresh = lh_tags_is_latest(op->tags, op->target, op->deps, op->ndeps, err);
  lh_export_kind kind = *(const lh_export_kind *)op->ctx;
  if (fresh <= 0 || (kind != LH_EXPORT_STATEMENTS && kind != LH_EXPORT_ENTITIES))
    return fresh;
  const char *sfx = lh_codec_suffix(op->ds->codec);
  char *key =
      kind == LH_EXPORT_STATEMENTS ? lh_path_exports_statements(sfx) : lh_path_entities_json(sfx);
  if (!key)
    return lh_error_nomem(err);
  int e = lh_store_exists(op->ds->store, key, err);
  free(key);
  return e;
}

int lh_dataset_export(lh_dataset *ds, lh_export_kind kind, bool force, lh_op_result *res,
                      lh_error *err) {
  static const char *const DEPS[] = {LH_TAG_STATEMENTS_OPTIMIZED};
  /* documents.csv carries public URLs: the config's public_url_prefix */
  static const char *const DOCUMENT_DEPS[] = {LH_TAG_STATEMENTS_OPTIMIZED, LH_PATH_CONFIG};
  static const char *const INDEX_DEPS[] = {LH_PATH_CONFIG, LH_PATH_EXPORTS_STATISTICS,
                                           LH_PATH_ENTITIES_JSON, LH_PATH_EXPORTS_DOCUMENTS};
  if (kind >= LH_EXPORT_KIND_COUNT)
    return lh_error_set(err, LH_EINVAL, "unknown export");
  char label[64], kind_json[32];
  snprintf(label, sizeof label, "export %s", KINDS[kind].name);
  snprintf(kind_json, sizeof kind_json, "\"%s\"", KINDS[kind].name);
  lh__op op = {.ds = ds,
               .tags = ds->tags,
               .label = label,
               .target = KINDS[kind].target,
               .deps = kind == LH_EXPORT_INDEX       ? INDEX_DEPS
                       : kind == LH_EXPORT_DOCUMENTS ? DOCUMENT_DEPS
                                                     : DEPS,
               .ndeps = kind == LH_EXPORT_INDEX       ? 4
                        : kind == LH_EXPORT_DOCUMENTS ? 2
                                                      : 1,
               .is_fresh = export_fresh,
               .prepare = kind == LH_EXPORT_INDEX ? NULL : export_prepare,
               .handle = export_handle,
               .ctx = &kind};
  lh_job_init(&op.job, "ExportJob", ds->name);
  op.job.extra[op.job.nextra++] = (lh_job_field){"kind", kind_json};
  op.job.extra[op.job.nextra++] = (lh_job_field){"make_diff", "true"};
  int rc = lh__op_run(&op, force, res, err);
  return rc;
}

int lh_dataset_export_read(lh_dataset *ds, lh_export_kind kind, lh_bytes_fn fn, void *ctx,
                           lh_error *err) {
  if (kind >= LH_EXPORT_KIND_COUNT)
    return lh_error_set(err, LH_EINVAL, "unknown export");
  int rc = lh__export_read(ds->store, KINDS[kind].target, fn, ctx, err);
  if (rc == LH_ENOTFOUND)
    lh_error_set(err, rc, "%s/%s does not exist", ds->name, KINDS[kind].target);
  return rc;
}
