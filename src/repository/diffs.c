/* The entity and document diffs (inventory §9.3 Diffs): what changed in the store since the
 * last diff, as ADD / DEL lines under diffs/, with the state tag `{base}-current` that
 * records the time and Delta version of the last one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/conventions.h"
#include "core/fs.h"
#include "lakehouse/ftm.h"
#include "lakehouse/log.h"
#include "repository/exports.h"

/* The diff state tag `{base}-current`: "{TS}:{delta version}" as a plain string. */
static int diff_state(lh_dataset *ds, const char *base, lh_time *ts, int64_t *version,
                      lh_error *err) {
  char key[256];
  snprintf(key, sizeof key, "%s-current", base);
  char *path = lh_path_tag(NULL, key);
  lh_buf b = LH_BUF_INIT;
  int rc = path ? lh_store_get(ds->store, path, &b, err) : lh_error_nomem(err);
  free(path);
  if (rc == 0) {
    const char *colon = b.data ? memchr(b.data, ':', b.len) : NULL;
    char stamp[LH_TS_SIZE];
    size_t n = colon ? (size_t)(colon - b.data) : 0;
    if (!colon || n >= sizeof stamp) {
      rc = lh_error_set(err, LH_EPARSE, "tag %s: not TS:version", key);
    } else {
      memcpy(stamp, b.data, n);
      stamp[n] = 0;
      rc = lh_time_parse_ts(stamp, ts, err);
      *version = strtoll(colon + 1, NULL, 10);
    }
  }
  lh_buf_free(&b);
  return rc;
}

static int diff_state_set(lh_dataset *ds, const char *base, lh_time ts, int64_t version,
                          lh_error *err) {
  char key[256], text[64], stamp[LH_TS_SIZE];
  snprintf(key, sizeof key, "%s-current", base);
  lh_time_format_ts(ts, stamp);
  int n = snprintf(text, sizeof text, "%s:%lld", stamp, (long long)version);
  char *path = lh_path_tag(NULL, key);
  int rc = path ? lh_store_put(ds->store, path, text, (size_t)n, err) : lh_error_nomem(err);
  free(path);
  return rc;
}

void lh__ids_clear(lh__ids *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  l->n = 0;
}

void lh__ids_free(lh__ids *l) {
  lh__ids_clear(l);
  free(l->v);
  l->v = NULL;
  l->cap = 0;
}

/* ---- the id spill: records of a 4-byte length and the id's bytes ---------------------------- */

int lh__id_spill_open(lh__id_spill *s, lh_error *err) {
  s->n = 0;
  return lh_temp_file(&s->f, err);
}

int lh__id_spill_add(void *ctx, const char *id, size_t n, lh_error *err) {
  lh__id_spill *s = ctx;
  uint32_t len = (uint32_t)n;
  if (n > UINT32_MAX)
    return lh_error_set(err, LH_EINVAL, "diff: an entity id of %zu bytes", n);
  if (fwrite(&len, sizeof len, 1, s->f) != 1 || fwrite(id, 1, n, s->f) != n)
    return lh_error_errno(err, errno, "diff: cannot write the changed ids to a temporary file");
  s->n++;
  return 0;
}

/* The next (up to) max ids into batch (cleared first): the number read, 0 at the end. */
static int spill_next(lh__id_spill *s, size_t max, lh__ids *batch, lh_error *err) {
  lh__ids_clear(batch);
  while (batch->n < max) {
    uint32_t len;
    if (fread(&len, sizeof len, 1, s->f) != 1) {
      if (ferror(s->f))
        return lh_error_errno(err, errno, "diff: cannot read back the changed ids");
      break;
    }
    if (LH_ARRAY_RESERVE(batch->v, batch->cap, batch->n + 1, 256))
      return lh_error_nomem(err);
    char *id = malloc((size_t)len + 1);
    if (!id)
      return lh_error_nomem(err);
    if (fread(id, 1, len, s->f) != len) {
      free(id);
      return lh_error_set(err, LH_EIO, "diff: the temporary file of changed ids is cut short");
    }
    id[len] = '\0';
    batch->v[batch->n++] = id;
  }
  return (int)batch->n;
}

int lh__id_spill_each(lh__id_spill *s, lh__ids_fn fn, void *ctx, lh_error *err) {
  if (fflush(s->f) != 0 || fseek(s->f, 0, SEEK_SET) != 0)
    return lh_error_errno(err, errno, "diff: cannot read back the changed ids");
  lh__ids batch = {0};
  int rc;
  while ((rc = spill_next(s, LH__DIFF_BATCH, &batch, err)) > 0 && (rc = fn(ctx, &batch, err)) == 0)
    ;
  lh__ids_free(&batch);
  return rc;
}

void lh__id_spill_close(lh__id_spill *s) {
  if (s->f)
    fclose(s->f);
  s->f = NULL;
}

/* The ids of the entities changed since `since`; documents: of the Document schemata
 * (descendants included) only. */
static int changed_ids(lh_statement_store *st, lh_time since, bool documents, lh__id_spill *ids,
                       lh_error *err) {
  const char **schemata = NULL;
  size_t nschemata = 0;
  if (documents) {
    const lh_model *model = lh_model_default(err);
    if (!model)
      return err ? err->code : LH_EINVAL;
    const lh_schema *doc = lh_model_schema(model, "Document");
    size_t n = lh_model_schema_count(model);
    schemata = malloc((n ? n : 1) * sizeof *schemata);
    if (!schemata)
      return lh_error_nomem(err);
    for (size_t i = 0; i < n; i++) {
      const lh_schema *s = lh_model_schema_at(model, i);
      if (doc && lh_schema_is_a(s, doc))
        schemata[nschemata++] = s->name;
    }
  }
  int rc =
      lh_statement_store_changed_ids(st, since, schemata, nschemata, lh__id_spill_add, ids, err);
  free(schemata);
  return rc;
}

/* Write the diff of an export (entities or documents). */
int lh__diff_export(lh_dataset *ds, lh_tags *tags, bool documents, lh_error *err) {
  const char *base = documents ? LH_PATH_DIFFS_DOCUMENTS : LH_PATH_DIFFS_ENTITIES;
  lh_time started = lh_time_now();
  lh_statement_store *st;
  int rc = lh__ctx_statements(ds, &st, err);
  if (rc)
    return rc;
  int64_t version;
  if ((rc = lh_statement_store_version(st, &version, err)) != 0)
    return rc;
  if (version < 0)
    return 0;
  int needs = lh_statement_store_needs_merge(st, err);
  if (needs < 0)
    return needs;
  if (needs)
    return lh_error_set(err, LH_ECONFLICT,
                        "Cannot export `%s`: the statement store has un-merged writes. Run "
                        "`ftm-lakehouse -d %s maintenance optimize` first.",
                        base, ds->name);
  lh_time last_ts = LH_TIME_NULL;
  int64_t last_version = -1;
  rc = diff_state(ds, base, &last_ts, &last_version, err);
  bool initial = rc == LH_ENOTFOUND;
  if (initial) {
    lh_error_clear(err);
    rc = 0;
  }
  if (rc)
    return rc;
  lh__id_spill ids = {0};
  if (!initial) {
    if (last_version >= version)
      return lh_tags_set(tags, base, started, err);
    rc = lh__id_spill_open(&ids, err);
    if (!rc)
      rc = changed_ids(st, last_ts, documents, &ids, err);
    if (!rc && ids.n == 0) {
      lh__id_spill_close(&ids);
      rc = diff_state_set(ds, base, started, version, err);
      return rc ? rc : lh_tags_set(tags, base, started, err);
    }
  }
  if (rc) {
    lh__id_spill_close(&ids);
    return rc;
  }
  lh_codec codec = documents ? LH_CODEC_NONE : ds->codec;
  char *key = documents ? lh_path_documents_diff(started)
                        : lh_path_entities_diff(started, lh_codec_suffix(codec));
  lh__sink o;
  rc = key ? lh__sink_open(ds->store, key, codec, &o, err) : lh_error_nomem(err);
  if (!rc) {
    if (documents)
      rc = lh__documents_diff_lines(ds, initial ? NULL : &ids, &o, err);
    else
      rc = lh__entities_diff_lines(ds, initial ? NULL : &ids, &o, err);
    rc = lh__sink_close(&o, rc, err);
  }
  if (!rc)
    lh_log_info("%s: diff %s with %llu change(s)", ds->name, key, (unsigned long long)o.items);
  free(key);
  lh__id_spill_close(&ids);
  if (!rc)
    rc = diff_state_set(ds, base, started, version, err);
  return rc ? rc : lh_tags_set(tags, base, started, err);
}
