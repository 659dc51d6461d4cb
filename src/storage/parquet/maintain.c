/* The statement store's maintenance: merge, compact and vacuum (see statement_store.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/conventions.h"
#include "core/crashpoint.h"
#include "core/sort.h"
#include "core/strmap.h"
#include "lakehouse/log.h"
#include "lakehouse/validate.h"
#include "logic/merge.h"
#include "storage/parquet/store_internal.h"

/* ---- merge --------------------------------------------------------------------------------------
 */

/* Rows per slice of the C merge: bounds its memory (about 300 bytes a row in flight, for
 * the slice being read and one per writer). */
#define MERGE_SLICE_ROWS 500000

/* The folder DuckDB writes a partition's new files into: that of its first file (DuckDB's
 * hive encoding of the values). Caller frees *out. */
static int part_dir(lh_statement_store *st, const lh__part *p, char **out, lh_error *err) {
  *out = NULL;
  const char *file = st->snap.files[p->files[0]].file;
  const char *slash = strrchr(file, '/');
  lh_buf rel = LH_BUF_INIT, dir = LH_BUF_INIT;
  int rc = lh_buf_append(&rel, file, slash ? (size_t)(slash - file) : 0) ? lh_error_nomem(err) : 0;
  rc = rc ? rc : lh__tio_write_dir(st->io, rel.data ? rel.data : "", &dir, err);
  lh_buf_free(&rel);
  if (rc) {
    lh_buf_free(&dir);
    return rc;
  }
  *out = lh_buf_steal(&dir);
  return *out ? 0 : lh_error_nomem(err);
}

/* Merge one partition into new files and commit them in place of the old ones. */
static int merge_part(lh_statement_store *st, const lh__part *p, const lh_merge_opts *o,
                      lh_time cutoff, lh_merge_result *res, lh_error *err) {
  lh_time start = lh_time_now();
  lh_buf src = LH_BUF_INIT, sql = LH_BUF_INIT;
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  lh__written w = {st, &actions, p, true, 0, 0, 0, NULL, 0, 0};
  int64_t version = -1;
  char *tag = NULL;
  char **bounds = NULL;
  size_t nbounds = 0;
  char *dir = NULL;
  int rc = part_dir(st, p, &dir, err);
  if (rc)
    goto done;
  if ((rc = lh__files_source(st, p, p->files, p->nfiles, &src)) != 0) {
    rc = lh_error_nomem(err);
    goto done;
  }
  uint64_t before = 0, after = 0;
  lh_buf_printf(&sql, "SELECT count(*) FROM (%s)", src.data);
  if ((rc = lh__duck_each_row(&st->duck, sql.data, lh__count_rows, &before, err)) != 0)
    goto done;
  bool in_c = !o || o->engine != LH_MERGE_ENGINE_SQL;
  int64_t slices = lh_merge_slice_count(
      p->bytes, st->memory_limit, o && o->spill_factor ? o->spill_factor : LH_MERGE_SPILL_FACTOR);
  if (in_c && (int64_t)((before + MERGE_SLICE_ROWS - 1) / MERGE_SLICE_ROWS) > slices)
    slices = (int64_t)((before + MERGE_SLICE_ROWS - 1) / MERGE_SLICE_ROWS);
  if (slices > 1 && (rc = lh__slice_bounds(st, src.data, slices, &bounds, &nbounds, err)) != 0)
    goto done;
  if (in_c) {
    uint64_t scanned = 0;
    size_t done_slices = 0;
    rc = lh__merge_stream(st, p, dir, src.data, bounds, nbounds, cutoff, lh__writer_count(st), &w,
                          &scanned, &after, &done_slices, err);
    res->slices += done_slices;
    if (!rc && scanned != before)
      rc = lh_error_set(err, LH_EINTERNAL,
                        "merge: the slices held %" PRIu64 " rows, the partition %" PRIu64, scanned,
                        before);
  }
  for (size_t i = 0; !in_c && i <= nbounds && !rc; i++) {
    const char *lo = i ? bounds[i - 1] : NULL, *hi = i < nbounds ? bounds[i] : NULL;
    char id[LH_UUID_SIZE];
    lh_uuid4(id);
    lh_buf_reset(&sql);
    rc = lh_buf_puts(&sql, "COPY (");
    rc = rc ? rc : lh_merge_sql(&sql, src.data, lo, hi, cutoff, false);
    rc = rc ? rc : lh_buf_puts(&sql, ") TO ");
    lh_buf target = LH_BUF_INIT;
    rc = rc ? rc : lh_buf_printf(&target, "%s/part-%s.parquet", dir, id);
    rc = rc ? rc : lh__sql_quote(&sql, target.data);
    lh_buf_free(&target);
    rc = rc ? rc
            : lh_buf_puts(&sql,
                          " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE " LH__ROW_GROUP_ROWS
                          ", RETURN_STATS true)");
    if (rc) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    rc = lh__duck_each_row(&st->duck, sql.data, lh__on_written, &w, err);
    res->slices++;
  }
  if (rc)
    goto done;
  for (size_t i = 0; i < p->nfiles && !rc; i++)
    if (lh__delta_actions_remove(&actions, &st->snap, &st->snap.files[p->files[i]], start / 1000,
                                 true))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  if (rc)
    goto done;
  /* p points into the snapshot, which the commit changes: take what we need first */
  if ((rc = lh__part_tag(p, true, &tag, err)) != 0)
    goto done;
  lh__crashpoint("merge:parquet-written");
  if ((rc = lh__store_commit(st, &actions, "MERGE", &version, err)))
    goto done;
  res->version = version;
  res->partitions++;
  res->rows_before += before;
  res->rows_after += in_c ? after : w.rows;
  lh__crashpoint("merge:committed");
  rc = lh_tags_set(st->tags, tag, start, err);
done:
  lh__written_discard(&w, version >= 0);
  free(tag);
  for (size_t i = 0; i < nbounds; i++)
    free(bounds[i]);
  free(bounds);
  free(dir);
  lh_buf_free(&src);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  return rc;
}

/* Start a maintenance operation: refresh, check that we may write the table and hold the
 * exclusive fence. A table that does not exist yet leaves *fence NULL: nothing to do. */
static int begin_maintenance(lh_statement_store *st, const char *operation, lh_fence **fence,
                             lh_error *err) {
  *fence = NULL;
  int rc = lh__store_refresh(st, err);
  if (rc || st->snap.version < 0)
    return rc;
  if ((rc = lh__delta_check_write(&st->snap, err)) != 0)
    return rc;
  lh_fence_opts fo = st->fence;
  fo.operation = operation;
  if ((rc = lh_fence_exclusive(st->dataset, &fo, fence, err)) == 0)
    lh__store_hold(st, *fence);
  return rc;
}

/* A table from before the shard count was recorded gets it (under the exclusive fence, so no
 * append races the metadata change), once its data agrees with config.yml. */
static int record_shards(lh_statement_store *st, lh_error *err) {
  if (lh__store_recorded_shards(st) != -1)
    return 0;
  lh_error cerr = {0};
  if (lh__store_check_shards(st, &cerr) != 0) {
    lh_log_warning("%s; the shard count is not recorded", cerr.message);
    return 0;
  }
  json_t *md = json_deep_copy(st->snap.metadata);
  json_t *conf = md ? json_object_get(md, "configuration") : NULL;
  if (md && !json_is_object(conf)) {
    conf = json_object();
    json_object_set_new(md, "configuration", conf);
  }
  char shards[16];
  snprintf(shards, sizeof shards, "%d", st->shards);
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  int rc = !md || !conf || json_object_set_new(conf, LH__SHARDS_KEY, json_string(shards)) ||
                   lh__delta_actions_metadata(&actions, md)
               ? lh_error_set(err, LH_ENOMEM, "out of memory")
               : lh__store_commit(st, &actions, "SET TBLPROPERTIES", NULL, err);
  if (rc == 0)
    lh_log_info("%s: recorded the shard count (%d) in the statement table", st->name, st->shards);
  lh__delta_actions_free(&actions);
  json_decref(md);
  return rc;
}

int lh_statement_store_merge(lh_statement_store *st, const lh_merge_opts *opts,
                             lh_merge_result *res, lh_error *err) {
  lh_merge_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  lh_fence *fence;
  int rc = begin_maintenance(st, "merge", &fence, err);
  if (rc || !fence)
    return rc;
  lh_time now = opts && opts->now != LH_TIME_NULL ? opts->now : lh_time_now();
  lh_time cutoff = lh__grace_cutoff(st, now);
  lh__part *parts = NULL;
  size_t n = 0;
  if ((rc = lh__store_refresh(st, err)) != 0 || (rc = record_shards(st, err)) != 0 ||
      (rc = lh__collect_parts(st, &parts, &n, err)) != 0)
    goto done;
  /* part strings point into the snapshot, which every commit changes: keep owned copies of
   * the keys and re-resolve each partition before merging it */
  char(*keys)[3][LH_SAFE_NAME_MAX + 1] = calloc(n ? n : 1, sizeof *keys);
  bool *dirty = calloc(n ? n : 1, sizeof *dirty);
  if (!keys || !dirty) {
    free(keys);
    free(dirty);
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    snprintf(keys[i][0], sizeof keys[i][0], "%s", parts[i].shard);
    snprintf(keys[i][1], sizeof keys[i][1], "%s", parts[i].bucket);
    snprintf(keys[i][2], sizeof keys[i][2], "%s", parts[i].origin);
    int d = opts && opts->force ? 1 : lh__part_dirty(st, &parts[i], err);
    if (d < 0)
      rc = d;
    dirty[i] = d > 0;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    if (!dirty[i]) {
      res->skipped++;
      continue;
    }
    lh__part *cur = NULL;
    size_t ncur = 0;
    if ((rc = lh__collect_parts(st, &cur, &ncur, err)) != 0)
      break;
    for (size_t k = 0; k < ncur && !rc; k++)
      if (strcmp(cur[k].shard, keys[i][0]) == 0 && strcmp(cur[k].bucket, keys[i][1]) == 0 &&
          strcmp(cur[k].origin, keys[i][2]) == 0)
        rc = merge_part(st, &cur[k], opts, cutoff, res, err);
    lh__parts_free(cur, ncur);
  }
  free(keys);
  free(dirty);
  if (rc == 0 && res->partitions > 0)
    rc = lh_tags_set(st->tags, LH_TAG_STATEMENTS_OPTIMIZED, lh_time_now(), err);
done:
  lh__parts_free(parts, n);
  lh__store_release(st, fence);
  return lh__explain_io_error(st, rc, err);
}

/* ---- compact
 * ------------------------------------------------------------------------------------- */

static int file_order(const void *x, const void *y, void *ctx) {
  const lh__delta_snapshot *s = ctx;
  const lh__delta_file *a = &s->files[*(const size_t *)x], *b = &s->files[*(const size_t *)y];
  if (a->version != b->version)
    return a->version < b->version ? -1 : 1;
  if (a->modified != b->modified)
    return a->modified < b->modified ? -1 : 1;
  return strcmp(a->path, b->path);
}

typedef struct id_ranged {
  size_t file;
  char *min, *max;
} id_ranged;

static int by_min_id(const void *x, const void *y) {
  return strcmp(((const id_ranged *)x)->min, ((const id_ranged *)y)->min);
}

/* When the Delta log gives every file of p an entity-id range and, in order of their smallest
 * ids, each file ends at or before the next begins (the files of a merge: one per slice),
 * put p->files in that order and return 1: bins of neighbouring files then concatenate into
 * files that are sorted and disjoint again, which keeps a lookup to one file per partition
 * and one row group in it. 0 otherwise (p->files unchanged), LH_ENOMEM. */
static int order_by_id(const lh_statement_store *st, lh__part *p) {
  if (p->nfiles < 2)
    return 0;
  id_ranged *r = calloc(p->nfiles, sizeof *r);
  if (!r)
    return LH_ENOMEM;
  int rc = 1;
  for (size_t i = 0; i < p->nfiles && rc == 1; i++) {
    r[i].file = p->files[i];
    rc = lh__file_id_range(&st->snap.files[p->files[i]], &r[i].min, &r[i].max);
  }
  if (rc == 1) {
    qsort(r, p->nfiles, sizeof *r, by_min_id);
    for (size_t i = 0; i + 1 < p->nfiles && rc == 1; i++)
      if (strcmp(r[i].max, r[i + 1].min) > 0)
        rc = 0;
  }
  for (size_t i = 0; i < p->nfiles; i++) {
    if (rc == 1)
      p->files[i] = r[i].file;
    free(r[i].min);
    free(r[i].max);
  }
  free(r);
  return rc;
}

int lh_statement_store_compact(lh_statement_store *st, int64_t target, lh_compact_result *res,
                               lh_error *err) {
  lh_compact_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  if (target <= 0)
    target = LH_TARGET_FILE_SIZE;
  lh_fence *fence;
  int rc = begin_maintenance(st, "compact", &fence, err);
  if (rc || !fence)
    return rc;
  lh__part *parts = NULL;
  size_t n = 0;
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  lh__written w = {st, &actions, NULL, false, 0, 0, 0, NULL, 0, 0};
  lh_buf src = LH_BUF_INIT, sql = LH_BUF_INIT;
  size_t *bin = NULL;
  if ((rc = lh__store_refresh(st, err)) != 0 || (rc = lh__collect_parts(st, &parts, &n, err)) != 0)
    goto done;
  res->files_before = st->snap.nfiles;
  res->files_after = st->snap.nfiles;
  bin = malloc((st->snap.nfiles ? st->snap.nfiles : 1) * sizeof *bin);
  if (!bin) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    lh__part *p = &parts[i];
    int sorted = order_by_id(st, p);
    if (sorted < 0) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    if (!sorted)
      qsort_r(p->files, p->nfiles, sizeof *p->files, file_order, &st->snap);
    /* contiguous runs of small files, each bin at most the target size */
    size_t k = 0;
    while (k < p->nfiles && !rc) {
      size_t nb = 0;
      int64_t bytes = 0;
      while (k < p->nfiles && st->snap.files[p->files[k]].size < target &&
             bytes + st->snap.files[p->files[k]].size <= target) {
        bytes += st->snap.files[p->files[k]].size;
        bin[nb++] = p->files[k++];
      }
      if (nb == 0) {
        k++; /* a file at or over the target stays as it is */
        continue;
      }
      if (nb < 2)
        continue;
      char *dir = NULL;
      if ((rc = part_dir(st, p, &dir, err)) != 0)
        break;
      char id[LH_UUID_SIZE];
      lh_uuid4(id);
      lh_buf_reset(&src);
      lh_buf_reset(&sql);
      rc = lh_buf_printf(&sql, "COPY (SELECT %s FROM read_parquet([", LH__DATA_COLUMNS);
      lh_buf path = LH_BUF_INIT;
      for (size_t j = 0; j < nb && !rc; j++) {
        lh_buf_reset(&path);
        rc = lh__tio_read_path(st->io, st->snap.files[bin[j]].file, &path);
        if (!rc && j)
          rc = lh_buf_putc(&sql, ',');
        rc = rc ? rc : lh__sql_quote(&sql, path.data);
      }
      lh_buf_reset(&path);
      rc = rc ? rc : lh_buf_puts(&sql, "], union_by_name = true)) TO ");
      rc = rc ? rc : lh_buf_printf(&path, "%s/part-%s.parquet", dir, id);
      rc = rc ? rc : lh__sql_quote(&sql, path.data);
      rc = rc ? rc
              : lh_buf_puts(
                    &sql,
                    " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE " LH__COMPACT_ROW_GROUP_ROWS
                    ", RETURN_STATS true)");
      lh_buf_free(&path);
      free(dir);
      if (rc) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        break;
      }
      w.fixed = p;
      /* Files in id order are concatenated in that order, by one thread: with more, DuckDB
       * buffers the batches that finish early to write them in order, which doubled the
       * peak memory (optimize of 30M statements: 1.74 GB against 0.84 GB). Otherwise rows
       * may leave in any order (compaction keeps the rows, not their order): DuckDB then
       * streams the bin instead of buffering it, which halves the peak memory. */
      bool serial = false;
      if (sorted)
        serial = (rc = lh__duck_serial_begin(&st->duck, err)) == 0;
      else
        rc = lh__duck_exec(&st->duck, "SET SESSION preserve_insertion_order = false", err);
      rc = rc ? rc : lh__duck_each_row(&st->duck, sql.data, lh__on_written, &w, err);
      int reset = lh__duck_exec(&st->duck, "RESET SESSION preserve_insertion_order", NULL);
      if (serial)
        lh__duck_serial_end(&st->duck);
      rc = rc ? rc : reset;
      if (rc)
        break;
      for (size_t j = 0; j < nb && !rc; j++)
        if (lh__delta_actions_remove(&actions, &st->snap, &st->snap.files[bin[j]],
                                     lh_time_now() / 1000, false))
          rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    }
  }
  if (rc == 0 && actions.nremoves > 0) {
    lh__crashpoint("compact:parquet-written");
    rc = lh__store_commit(st, &actions, "OPTIMIZE", &res->version, err);
    if (rc == 0)
      res->files_after = st->snap.nfiles;
  }
done:
  lh__written_discard(&w, res->version >= 0);
  free(bin);
  lh_buf_free(&src);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  lh__parts_free(parts, n);
  lh__store_release(st, fence);
  return lh__explain_io_error(st, rc, err);
}

/* ---- vacuum
 * -------------------------------------------------------------------------------------- */

typedef struct vacuum_ctx {
  lh_statement_store *st;
  lh__strmap live; /* decoded file -> 1 */
  lh_time cutoff;
  lh_time created;  /* the table's creation (metaData.createdTime), LH_TIME_NULL if unknown */
  int64_t min_read; /* the oldest version a live reader reads (INT64_MAX: none) */
  lh_vacuum_result *res;
  char *first_foreign;
  char **doomed;
  size_t ndoomed, cap;
} vacuum_ctx;

static bool hidden_key(const char *key) {
  for (const char *seg = key; seg && *seg;) {
    if (seg[0] == '_' || seg[0] == '.')
      return true;
    const char *slash = strchr(seg, '/');
    seg = slash ? slash + 1 : NULL;
  }
  return false;
}

static bool hex_run(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* A data file our writers name: shard=*\/bucket=*\/origin=*\/[tmp_]part-{uuid4}.parquet. */
static bool our_file(const char *key) {
  static const char *const dirs[] = {"shard=", "bucket=", "origin="};
  const char *p = key;
  for (int i = 0; i < 3; i++) {
    const char *slash = strchr(p, '/');
    if (!slash || strncmp(p, dirs[i], strlen(dirs[i])) != 0)
      return false;
    p = slash + 1;
  }
  if (strncmp(p, "tmp_", 4) == 0)
    p += 4;
  if (strlen(p) != 5 + 36 + 8 || strncmp(p, "part-", 5) != 0 || strcmp(p + 41, ".parquet") != 0)
    return false;
  const char *u = p + 5;
  return hex_run(u, 8) && u[8] == '-' && hex_run(u + 9, 4) && u[13] == '-' && hex_run(u + 14, 4) &&
         u[18] == '-' && hex_run(u + 19, 4) && u[23] == '-' && hex_run(u + 24, 12);
}

static int keep_foreign(vacuum_ctx *v, const char *key) {
  v->res->foreign++;
  if (!v->first_foreign && !(v->first_foreign = strdup(key)))
    return LH_ENOMEM;
  return 0;
}

static int vacuum_key(const char *key, void *arg) {
  vacuum_ctx *v = arg;
  if (hidden_key(key) || lh__strmap_get(&v->live, key, NULL))
    return 0;
  char *encoded = lh__delta_path_encode(key);
  if (!encoded)
    return LH_ENOMEM;
  json_t *rm = json_object_get(v->st->snap.removes, encoded);
  json_t *in = json_object_get(v->st->snap.removed_in, encoded);
  free(encoded);
  if (rm) { /* named by a remove action: the table's own file */
    json_t *ts = json_object_get(rm, "deletionTimestamp");
    lh_time removed = json_is_integer(ts) ? json_integer_value(ts) * 1000 : lh_time_now();
    if (removed > v->cutoff)
      return 0;
    if (!json_is_integer(in) || json_integer_value(in) > v->min_read) {
      v->res->kept_for_readers++; /* a live reader's snapshot may still name it */
      return 0;
    }
  } else { /* untracked: only an orphan of our own writers may go */
    if (!our_file(key))
      return keep_foreign(v, key);
    lh_store_info info;
    if (lh_store_stat(v->st->table, key, &info, NULL) != 0)
      return 0;
    if (v->created == LH_TIME_NULL || info.mtime < v->created)
      return keep_foreign(v, key); /* older than the table: the log lost it, not a crash */
    if (info.mtime > v->cutoff)
      return 0;
  }
  if (LH_ARRAY_RESERVE(v->doomed, v->cap, v->ndoomed + 1, 64))
    return LH_ENOMEM;
  return (v->doomed[v->ndoomed++] = strdup(key)) ? 0 : LH_ENOMEM;
}

int lh_statement_store_vacuum(lh_statement_store *st, int retention_hours, lh_vacuum_result *res,
                              lh_error *err) {
  lh_vacuum_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  lh_fence *fence;
  int rc = begin_maintenance(st, "vacuum", &fence, err);
  if (rc || !fence)
    return rc;
  vacuum_ctx v = {.st = st,
                  .cutoff = lh_time_now() - (lh_time)retention_hours * 3600 * 1000000,
                  .created = LH_TIME_NULL,
                  .res = res};
  lh__strmap_init(&v.live);
  if ((rc = lh__store_refresh(st, err)) != 0 ||
      (rc = lh__delta_load_removes(&st->duck, &st->snap, err)) != 0)
    goto done;
  json_t *created = json_object_get(st->snap.metadata, "createdTime");
  if (json_is_integer(created))
    v.created = json_integer_value(created) * 1000;
  /* after the refresh: a reader that starts later reads this version or a newer one */
  lh_fence_opts fo = st->fence;
  fo.operation = "vacuum";
  if ((rc = lh_fence_readers(st->dataset, &fo, &v.min_read, NULL, err)) != 0)
    goto done;
  for (size_t i = 0; i < st->snap.nfiles; i++)
    lh__strmap_put(&v.live, st->snap.files[i].file, 1);
  if ((rc = lh_store_iterate(st->table, NULL, NULL, vacuum_key, &v, err)) != 0) {
    if (rc == LH_ENOMEM)
      lh_error_set(err, rc, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < v.ndoomed; i++) {
    lh_store_info info;
    int64_t size = lh_store_stat(st->table, v.doomed[i], &info, NULL) == 0 ? info.size : 0;
    if (lh_store_delete(st->table, v.doomed[i], NULL) == 0) {
      res->files++;
      res->bytes += size;
    }
    lh__crashpoint("vacuum:deleting");
  }
  /* temp files of writers that died before publishing (commits, checkpoints) */
  size_t tmp_files = 0;
  int64_t tmp_bytes = 0;
  if ((rc = lh_store_sweep_temp(st->table, NULL, v.cutoff, &tmp_files, &tmp_bytes, err)) != 0)
    goto done;
  res->files += tmp_files;
  res->bytes += tmp_bytes;
  /* Readers start from the newest checkpoint and replay the commits after it: without one
   * here, every read of a large table after a maintenance run parses the merge and
   * compaction commits again (~25 ms at 100M statements). */
  if (st->snap.version > st->snap.checkpoint) {
    lh_error cerr = {0};
    if (lh__delta_write_checkpoint(st->table, st->io, &st->duck, &st->snap, &cerr))
      lh_log_warning("%s: checkpoint at version %" PRId64 " not written: %s", st->name,
                     st->snap.version, cerr.message);
    else
      st->snap.checkpoint = st->snap.version;
  }
  if (res->kept_for_readers)
    lh_log_info("%s: vacuum keeps %zu removed file(s) that running readers may still read",
                st->name, res->kept_for_readers);
  if (res->foreign)
    lh_log_warning("%s: vacuum left %zu file(s) under statements/ that the Delta log does not "
                   "account for and this lakehouse did not write (e.g. '%s'); move them away if "
                   "they do not belong there",
                   st->name, res->foreign, v.first_foreign);
done:
  for (size_t i = 0; i < v.ndoomed; i++)
    free(v.doomed[i]);
  free(v.doomed);
  free(v.first_foreign);
  lh__strmap_free(&v.live);
  lh__store_release(st, fence);
  return rc;
}
