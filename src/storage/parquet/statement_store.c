/* The statement store: Delta table of Parquet statement rows (see statement_store.h). */
#include <assert.h>
#include <ctype.h>
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
#include "storage/fence.h"
#include "storage/parquet/statement_store.h"
#include "storage/parquet/store_internal.h"
#include "storage/tags.h"

#define STATS_STRING_MAX 32 /* code points kept in string stats (Spark's prefix length) */
/* entity_id stats are kept whole (entity ids are at most LH_ENTITY_ID_MAX): a read of some
 * entity ids skips every file whose range cannot hold them without opening it (slices.c) */
#define STATS_ENTITY_ID_MAX 256

/* The Delta schema of the 18 columns (timestamps as Delta `timestamp`). */
static const char *const SCHEMA_STRING =
    "{\"type\":\"struct\",\"fields\":["
    "{\"name\":\"shard\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"id\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"entity_id\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"dataset\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"bucket\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"origin\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"source\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"schema\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"prop\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"prop_type\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"value\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"original_value\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"lang\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}},"
    "{\"name\":\"external\",\"type\":\"boolean\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"first_seen\",\"type\":\"timestamp\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"last_seen\",\"type\":\"timestamp\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"fragment\",\"type\":\"string\",\"nullable\":false,\"metadata\":{}},"
    "{\"name\":\"deleted_at\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}}]}";

/* ---- open / load ---------------------------------------------------------------------------- */

int lh_statement_store_open(lh_store *dataset, const char *dataset_name, int shards,
                            const lh_settings *settings, lh_statement_store **out, lh_error *err) {
  *out = NULL;
  int rc = lh_validate_dataset_name(dataset_name, err);
  if (rc)
    return rc;
  lh_statement_store *st = calloc(1, sizeof *st);
  if (!st)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  st->dataset = dataset;
  st->shards = shards;
  st->grace_days = settings ? settings->grace_period_days : 30;
  st->append_writers = settings ? settings->append_writers : 0;
  st->export_slice_rows =
      settings && settings->export_slice_rows > 0 ? settings->export_slice_rows : 250000;
  st->sql_max_rows = settings && settings->sql_max_rows > 0 ? settings->sql_max_rows : 1000000;
  st->sql_timeout = settings && settings->sql_timeout > 0 ? settings->sql_timeout : 300;
  lh__delta_snapshot_init(&st->snap);
  st->name = strdup(dataset_name);
  st->memory_limit =
      strdup(settings && settings->duckdb_memory_limit ? settings->duckdb_memory_limit : "8GB");
  lh_fence_opts_from_settings(&st->fence, settings, "write");
  if (settings && settings->duckdb_temp_directory)
    st->temp_directory = strdup(settings->duckdb_temp_directory);
  if (!st->name || !st->memory_limit ||
      (settings && settings->duckdb_temp_directory && !st->temp_directory)) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = lh_store_sub(dataset, "statements", &st->table, err)) != 0)
    goto fail;
  if ((rc = lh__tio_open(st->table, &st->io, err)) != 0)
    goto fail;
  if ((rc = lh_tags_open(dataset, NULL, &st->tags, err)))
    goto fail;
  if ((rc = lh__duck_open(&st->duck, settings, err)) != 0)
    goto fail;
  *out = st;
  return 0;
fail:
  lh_statement_store_close(st);
  return rc;
}

void lh_statement_store_close(lh_statement_store *st) {
  if (!st)
    return;
  lh__duck_close(&st->duck);
  lh__delta_snapshot_free(&st->snap);
  lh_tags_close(st->tags);
  lh__tio_close(st->io);
  lh_store_close(st->table);
  free(st->name);
  free(st->memory_limit);
  free(st->temp_directory);
  free(st);
}

static int first_data_key(const char *key, void *ctx) {
  if (strncmp(key, LH__DELTA_LOG "/", sizeof LH__DELTA_LOG) == 0)
    return 0;
  char **out = ctx;
  *out = strdup(key);
  return 1; /* stop: one is enough */
}

/* A table without a log must be a table without anything: a statements folder that holds
 * files but no Delta log lost its log (or is something else), and reading it as an empty
 * table would let the next write start a new log over it and vacuum delete the data. */
static int check_no_log(lh_statement_store *st, lh_error *err) {
  int rc = lh_store_exists(st->dataset, "statements", err);
  if (rc < 0)
    return rc;
  if (rc == 1)
    return lh_error_set(err, LH_EPARSE,
                        "%s/statements is a file, not the folder of the statement table: move it "
                        "away",
                        st->name);
  if ((rc = lh_store_exists(st->table, LH__DELTA_LOG, err)) < 0)
    return rc;
  if (rc == 1)
    return lh_error_set(err, LH_EPARSE,
                        "%s/statements/" LH__DELTA_LOG " is a file, not the folder of the Delta "
                        "log: move it away",
                        st->name);
  char *first = NULL;
  rc = lh_store_iterate(st->table, NULL, NULL, first_data_key, &first, err);
  if (rc < 0) {
    free(first);
    return rc;
  }
  if (first) {
    rc = lh_error_set(err, LH_EPARSE,
                      "%s/statements holds data files (e.g. '%s') but no Delta log (" LH__DELTA_LOG
                      " is missing or empty): refusing to read it as an empty table or to write "
                      "over it. Restore " LH__DELTA_LOG
                      " from a backup, or move statements/ away to "
                      "start a new table.",
                      st->name, first);
    free(first);
    return rc;
  }
  return 0;
}

/* Bring the snapshot up to date (full load the first time). */
int lh__store_refresh(lh_statement_store *st, lh_error *err) {
  int rc;
  if (!st->loaded || st->snap.version < 0) {
    rc = lh__delta_load(st->table, st->io, &st->duck, &st->snap, err);
    if (rc)
      lh_error_prefix(err, rc, "%s/statements", st->name);
    else if (st->snap.version < 0)
      rc = check_no_log(st, err);
    st->loaded = rc == 0;
  } else if ((rc = lh__delta_update(st->table, &st->snap, err)) != 0) {
    lh_error_prefix(err, rc, "%s/statements", st->name);
  }
  return rc;
}

int lh_statement_store_version(lh_statement_store *st, int64_t *version, lh_error *err) {
  *version = -1;
  int rc = lh__store_refresh(st, err);
  if (rc == 0)
    *version = st->snap.version;
  return rc;
}

int lh__store_recorded_shards(const lh_statement_store *st) {
  json_t *conf = json_object_get(st->snap.metadata, "configuration");
  const char *v = json_string_value(json_object_get(conf, LH__SHARDS_KEY));
  if (!v || !*v)
    return -1;
  char *end;
  long n = strtol(v, &end, 10);
  return *end || n < 0 || n > LH_SHARDS_MAX ? -2 : (int)n;
}

int lh__store_check_shards(lh_statement_store *st, lh_error *err) {
  int recorded = lh__store_recorded_shards(st);
  if (recorded == -2)
    return lh_error_set(err, LH_EPARSE,
                        "%s/statements: the Delta log records an invalid shard count ('%s')",
                        st->name,
                        json_string_value(json_object_get(
                            json_object_get(st->snap.metadata, "configuration"), LH__SHARDS_KEY)));
  if (recorded >= 0) {
    if (recorded != st->shards)
      return lh_error_set(
          err, LH_EINVAL,
          "%s/config.yml says shards: %d, but the statement table was written with "
          "%d shard(s) (recorded in its Delta log): writing with another count would "
          "put an entity's statements in two shards. Set 'shards: %d' in "
          "config.yml again.",
          st->name, st->shards, recorded, recorded);
    return 0;
  }
  /* a table from before the count was recorded (or from the Python project): every shard
   * it holds must be one the configured count produces */
  int width = lh_shard_hex_width(st->shards);
  for (size_t i = 0; i < st->snap.nfiles; i++) {
    const char *shard = lh__delta_file_value(&st->snap, &st->snap.files[i], "shard");
    char *end = NULL;
    long v = shard ? strtol(shard, &end, 16) : -1;
    if (!shard || *end || (int)strlen(shard) != width || v >= (st->shards > 1 ? st->shards : 1))
      return lh_error_set(
          err, LH_EINVAL,
          "%s/config.yml says shards: %d, but the statement table holds shard '%s', "
          "which that count does not produce: it was written with another shard "
          "count. Set 'shards' in config.yml back to the count it was written with.",
          st->name, st->shards, shard ? shard : "null");
  }
  return 0;
}

int lh__store_ensure_table(lh_statement_store *st, lh_error *err) {
  int rc = lh__store_refresh(st, err);
  if (rc)
    return rc;
  if (st->snap.version < 0) {
    char shards[16];
    snprintf(shards, sizeof shards, "%d", st->shards);
    json_t *conf = json_pack("{s:s}", LH__SHARDS_KEY, shards);
    rc = conf ? lh__delta_create(st->table, SCHEMA_STRING, LH_ROW_PARTITIONS, LH_ROW_NPARTITIONS,
                                 conf, err)
              : lh_error_set(err, LH_ENOMEM, "out of memory");
    json_decref(conf);
    if (rc && rc != LH_EEXIST)
      return rc;
    lh_error_clear(err);
    st->loaded = false;
    if ((rc = lh__store_refresh(st, err)) != 0)
      return rc;
  }
  rc = lh__delta_check_write(&st->snap, err);
  return rc ? rc : lh__store_check_shards(st, err);
}

/* ---- partitions ---------------------------------------------------------------------------- */

static int part_cmp(const void *a, const void *b) {
  const lh__part *x = a, *y = b;
  int c = strcmp(x->shard, y->shard);
  if (!c)
    c = strcmp(x->bucket, y->bucket);
  return c ? c : strcmp(x->origin, y->origin);
}

void lh__parts_free(lh__part *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(p[i].files);
  free(p);
}

static bool valid_shard(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
      return false;
  return true;
}

/* Group the live files by partition, validating the partition values. */
int lh__collect_parts(lh_statement_store *st, lh__part **out, size_t *nout, lh_error *err) {
  *out = NULL;
  *nout = 0;
  lh__delta_snapshot *s = &st->snap;
  lh__part *parts = NULL;
  size_t n = 0, cap = 0;
  lh__strmap index;
  lh__strmap_init(&index);
  lh_buf key = LH_BUF_INIT;
  char **keys = NULL;
  int rc = 0;
  for (size_t i = 0; i < s->nfiles && !rc; i++) {
    const lh__delta_file *f = &s->files[i];
    const char *shard = lh__delta_file_value(s, f, "shard");
    const char *bucket = lh__delta_file_value(s, f, "bucket");
    const char *origin = lh__delta_file_value(s, f, "origin");
    lh_bucket b;
    if (!shard || !valid_shard(shard) || !bucket || lh_bucket_parse(bucket, &b) != 0 || !origin ||
        lh_validate_origin(origin, NULL) != 0) {
      rc = lh_error_set(err, LH_EPARSE,
                        "%s/statements: _delta_log version %" PRId64
                        ": file '%s' has an invalid partition value (shard=%s bucket=%s origin=%s)",
                        st->name, f->version, f->path, shard ? shard : "null",
                        bucket ? bucket : "null", origin ? origin : "null");
      break;
    }
    lh_buf_reset(&key);
    lh_buf_printf(&key, "%s/%s/%s", shard, bucket, origin);
    uint32_t pi;
    if (!lh__strmap_get(&index, key.data, &pi)) {
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        lh__part *np = realloc(parts, cap * sizeof *np);
        char **nk = realloc(keys, cap * sizeof *nk);
        if (!np || !nk) {
          free(np ? np : parts);
          parts = NULL;
          keys = nk ? nk : keys;
          rc = lh_error_set(err, LH_ENOMEM, "out of memory");
          break;
        }
        parts = np;
        keys = nk;
      }
      keys[n] = lh_buf_steal(&key);
      parts[n] = (lh__part){shard, bucket, origin, NULL, 0, 0, 0};
      lh__strmap_put(&index, keys[n], (uint32_t)n);
      pi = (uint32_t)n++;
    }
    lh__part *p = &parts[pi];
    if (LH_ARRAY_RESERVE(p->files, p->cap, p->nfiles + 1, 8)) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    p->files[p->nfiles++] = i;
    p->bytes += f->size;
  }
  lh__strmap_free(&index);
  for (size_t i = 0; i < n; i++)
    free(keys[i]);
  free(keys);
  lh_buf_free(&key);
  if (rc) {
    lh__parts_free(parts, n);
    return rc;
  }
  lh__qsort(parts, n, sizeof *parts, part_cmp);
  *out = parts;
  *nout = n;
  return 0;
}

int lh__part_tag(const lh__part *p, bool optimized, char **key, lh_error *err) {
  *key = optimized ? lh_tag_partition_optimized(p->shard, p->bucket, p->origin, err)
                   : lh_tag_partition_updated(p->shard, p->bucket, p->origin, err);
  return *key ? 0 : err ? err->code : LH_ENOMEM;
}

/* 1 when the partition was written since its last merge (or was never merged). */
int lh__part_dirty(lh_statement_store *st, const lh__part *p, lh_error *err) {
  char *opt, *upd;
  int rc = lh__part_tag(p, true, &opt, err);
  if (rc)
    return rc;
  if ((rc = lh__part_tag(p, false, &upd, err)) != 0) {
    free(opt);
    return rc;
  }
  const char *deps[] = {upd};
  rc = lh_tags_is_latest(st->tags, opt, deps, 1, err);
  free(opt);
  free(upd);
  return rc < 0 ? rc : !rc;
}

/* SELECT of the 18 columns over some files of one partition. */
int lh__files_source(lh_statement_store *st, const lh__part *p, const size_t *files, size_t n,
                     lh_buf *out) {
  int rc = lh_buf_puts(out, "SELECT ");
  rc = rc ? rc : lh__sql_quote(out, p->shard);
  rc = rc ? rc : lh_buf_puts(out, " AS shard, id, entity_id, dataset, ");
  rc = rc ? rc : lh__sql_quote(out, p->bucket);
  rc = rc ? rc : lh_buf_puts(out, " AS bucket, ");
  rc = rc ? rc : lh__sql_quote(out, p->origin);
  rc = rc ? rc
          : lh_buf_puts(out, " AS origin, source, schema, prop, prop_type, value, original_value, "
                             "lang, external, first_seen, last_seen, fragment, deleted_at FROM "
                             "read_parquet([");
  lh_buf path = LH_BUF_INIT;
  for (size_t i = 0; i < n && !rc; i++) {
    lh_buf_reset(&path);
    rc = lh__tio_read_path(st->io, st->snap.files[files[i]].file, &path);
    if (!rc && i)
      rc = lh_buf_putc(out, ',');
    rc = rc ? rc : lh__sql_quote(out, path.data);
  }
  lh_buf_free(&path);
  return rc ? rc : lh_buf_puts(out, "], union_by_name = true)");
}

const char *const lh__empty_source =
    "SELECT NULL::VARCHAR AS shard, NULL::VARCHAR AS id, NULL::VARCHAR AS entity_id, "
    "NULL::VARCHAR AS dataset, NULL::VARCHAR AS bucket, NULL::VARCHAR AS origin, NULL::VARCHAR AS "
    "source, NULL::VARCHAR AS schema, NULL::VARCHAR AS prop, NULL::VARCHAR AS prop_type, "
    "NULL::VARCHAR AS value, NULL::VARCHAR AS original_value, NULL::VARCHAR AS lang, "
    "NULL::BOOLEAN AS external, NULL::TIMESTAMPTZ AS first_seen, NULL::TIMESTAMPTZ AS last_seen, "
    "NULL::VARCHAR AS fragment, NULL::TIMESTAMPTZ AS deleted_at WHERE false";

lh_time lh__grace_cutoff(const lh_statement_store *st, lh_time now) {
  return now - (lh_time)st->grace_days * 86400 * 1000000;
}

/* The CREATE VIEW statements of statement_raw and statement over the current snapshot. */
int lh__store_view_sql(lh_statement_store *st, lh_buf *raw, lh_buf *live, lh_error *err) {
  lh__part *parts;
  size_t n;
  int rc = lh__collect_parts(st, &parts, &n, err);
  if (rc)
    return rc;
  lh_buf src = LH_BUF_INIT;
  lh_time cutoff = lh__grace_cutoff(st, lh_time_now());
  rc = lh_buf_puts(raw, "CREATE OR REPLACE TEMP VIEW statement_raw AS ");
  rc = rc ? rc
          : lh_buf_puts(live, "CREATE OR REPLACE TEMP VIEW statement AS SELECT *, entity_id AS "
                              "canonical_id FROM (");
  if (!rc && n == 0) {
    rc = lh_buf_puts(raw, lh__empty_source);
    rc = rc ? rc : lh_buf_puts(live, lh__empty_source);
  }
  for (size_t i = 0; i < n && !rc; i++) {
    lh_buf_reset(&src);
    rc = lh__files_source(st, &parts[i], parts[i].files, parts[i].nfiles, &src);
    if (!rc && i) {
      rc = lh_buf_puts(raw, " UNION ALL ");
      rc = rc ? rc : lh_buf_puts(live, " UNION ALL ");
    }
    rc = rc ? rc : lh_buf_append(raw, src.data, src.len);
    if (rc)
      break;
    int dirty = lh__part_dirty(st, &parts[i], err);
    if (dirty < 0) {
      rc = dirty;
      break;
    }
    if (dirty) { /* not merged since written: apply the merge rules while reading */
      rc = lh_buf_puts(live, "(");
      rc = rc ? rc : lh_merge_sql(live, src.data, NULL, NULL, cutoff, true);
      rc = rc ? rc : lh_buf_puts(live, ")");
    } else {
      rc = lh_buf_append(live, src.data, src.len);
    }
  }
  rc = rc ? rc : lh_buf_puts(live, ") WHERE deleted_at IS NULL");
  if (rc > 0 || rc == LH_ENOMEM)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_buf_free(&src);
  lh__parts_free(parts, n);
  return rc;
}

/* (Re)create statement_raw and statement over the current snapshot. */
static int build_views(lh_statement_store *st, lh_error *err) {
  lh_buf raw = LH_BUF_INIT, live = LH_BUF_INIT;
  int rc = lh__store_view_sql(st, &raw, &live, err);
  rc = rc ? rc : lh__duck_exec(&st->duck, raw.data, err);
  rc = rc ? rc : lh__duck_exec(&st->duck, live.data, err);
  lh_buf_free(&raw);
  lh_buf_free(&live);
  return rc;
}

static int ignore_chunk(void *ctx, duckdb_data_chunk chunk, lh_error *err) {
  (void)ctx;
  (void)chunk;
  (void)err;
  return 0;
}

/* After an I/O error while reading: name a data file the log lists but that is gone. */
int lh__explain_io_error(lh_statement_store *st, int rc, lh_error *err) {
  /* DuckDB reports a missing file as an I/O error, or as refused access to the glob it then
   * tries in the confined instance */
  if (rc != LH_EIO && rc != LH_EINVAL)
    return rc;
  lh_buf path = LH_BUF_INIT;
  bool found = false;
  for (size_t i = 0; i < st->snap.nfiles && !found; i++) {
    const lh__delta_file *f = &st->snap.files[i];
    if (lh_store_exists(st->table, f->file, NULL) == 0) {
      rc = lh_error_set(err, LH_ENOTFOUND,
                        "%s/statements: version %" PRId64 ": data file '%s' named by the log "
                        "(added in version %" PRId64 ") is missing",
                        st->name, st->snap.version, f->path, f->version);
      found = true;
    }
  }
  /* a damaged file that DuckDB did not name ("Out of buffer"): read each file whole until
   * one fails (only on this error path) */
  for (size_t i = 0;
       !found && rc == LH_EIO && err && !strstr(err->message, ".parquet") && i < st->snap.nfiles;
       i++) {
    const lh__delta_file *f = &st->snap.files[i];
    lh_buf sql = LH_BUF_INIT;
    lh_buf_reset(&path);
    lh_error perr = {0};
    int prc = lh__tio_read_path(st->io, f->file, &path) ||
                      lh_buf_puts(&sql, "SELECT * FROM read_parquet(") ||
                      lh__sql_quote(&sql, path.data) || lh_buf_putc(&sql, ')')
                  ? LH_ENOMEM
                  : lh__duck_stream(&st->duck, NULL, sql.data, ignore_chunk, NULL, &perr);
    lh_buf_free(&sql);
    if (prc == LH_ENOMEM)
      break;
    if (prc) {
      rc = lh_error_set(err, LH_EPARSE,
                        "%s/statements: version %" PRId64 ": data file '%s' (added in version "
                        "%" PRId64 ") is damaged: %s",
                        st->name, st->snap.version, f->path, f->version, perr.message);
      found = true;
    }
  }
  lh_buf_free(&path);
  return rc;
}

int lh__read_begin(lh_statement_store *st, bool views, lh_fence **lease, lh_error *err) {
  /* the lease first: a vacuum that runs after it exists keeps what this read may open */
  lh_fence_opts fo = st->fence;
  fo.operation = "read";
  lh_error lerr = {0};
  if (lh_fence_read(st->dataset, &fo, lease, &lerr) != 0) {
    *lease = NULL; /* a read-only lake: read without one */
    lh_log_debug("%s: reading without a read lease: %s", st->name, lerr.message);
  }
  int rc = lh__store_refresh(st, err);
  rc = rc ? rc : lh__delta_check_read(&st->snap, err);
  if (rc == 0 && *lease && lh_fence_set_version(*lease, st->snap.version, &lerr) != 0)
    lh_log_debug("%s: cannot record the read lease's version: %s", st->name, lerr.message);
  rc = rc || !views ? rc : build_views(st, err);
  if (rc) {
    lh_fence_release(*lease);
    *lease = NULL;
  }
  return rc;
}

void lh__read_end(lh_fence *lease) {
  lh_fence_release(lease);
}

int lh__store_sql(lh_statement_store *st, const char *sql, lh_sql_row_fn fn, void *ctx,
                  lh_error *err) {
  lh_fence *lease;
  int rc = lh__read_begin(st, true, &lease, err);
  if (rc == 0)
    rc = lh__duck_each_row(&st->duck, sql, fn, ctx, err);
  lh__read_end(lease);
  return lh__explain_io_error(st, rc, err);
}

int lh_statement_store_files(lh_statement_store *st, lh_store_key_fn fn, void *ctx, lh_error *err) {
  int rc = lh__store_refresh(st, err);
  for (size_t i = 0; i < st->snap.nfiles && rc == 0; i++)
    rc = fn(st->snap.files[i].file, ctx);
  return rc;
}

int lh_statement_store_needs_merge(lh_statement_store *st, lh_error *err) {
  int rc = lh__store_refresh(st, err);
  if (rc)
    return rc;
  lh__part *parts;
  size_t n;
  if ((rc = lh__collect_parts(st, &parts, &n, err)) != 0)
    return rc;
  int dirty = 0;
  for (size_t i = 0; i < n && dirty == 0; i++)
    dirty = lh__part_dirty(st, &parts[i], err);
  lh__parts_free(parts, n);
  return dirty;
}

/* ---- written files -> add actions -------------------------------------------------------------
 */

/* Cut s to at most max code points; *cut says if anything was cut. */
static size_t utf8_prefix(const char *s, size_t n, size_t max, bool *cut) {
  size_t i = 0, cps = 0;
  while (i < n && cps < max) {
    i++;
    while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
      i++;
    cps++;
  }
  *cut = i < n;
  return i;
}

static bool is_timestamp_column(const char *c) {
  return strcmp(c, "first_seen") == 0 || strcmp(c, "last_seen") == 0 ||
         strcmp(c, "deleted_at") == 0;
}

/* Delta stats JSON from DuckDB's RETURN_STATS column_statistics. */
static char *delta_stats(json_t *colstats, json_int_t count) {
  json_t *mins = json_object(), *maxs = json_object(), *nulls = json_object();
  const char *key;
  json_t *st;
  json_object_foreach(colstats, key, st) {
    char col[128];
    const char *raw = key; /* (key itself drives the iteration: never move it) */
    size_t len = strlen(raw);
    if (len >= 2 && raw[0] == '"' && raw[len - 1] == '"') { /* keys come quoted */
      len -= 2;
      raw++;
    }
    if (len >= sizeof col)
      continue;
    memcpy(col, raw, len);
    col[len] = '\0';
    const char *mn = json_string_value(json_object_get(st, "min"));
    const char *mx = json_string_value(json_object_get(st, "max"));
    const char *nc = json_string_value(json_object_get(st, "null_count"));
    if (nc)
      json_object_set_new(nulls, col, json_integer(strtoll(nc, NULL, 10)));
    if (is_timestamp_column(col)) {
      lh_time t;
      char iso[LH_ISO_SIZE + 8];
      if (mn && lh_time_parse_iso(mn, (size_t)-1, &t, NULL) == 0) {
        lh_time_format_csv(t, iso);
        iso[10] = 'T';
        json_object_set_new(mins, col, json_string(iso));
      }
      if (mx && lh_time_parse_iso(mx, (size_t)-1, &t, NULL) == 0) {
        lh_time_format_csv(t, iso);
        iso[10] = 'T';
        json_object_set_new(maxs, col, json_string(iso));
      }
    } else if (strcmp(col, "external") == 0) {
      if (mn)
        json_object_set_new(mins, col, json_boolean(strcmp(mn, "true") == 0));
      if (mx)
        json_object_set_new(maxs, col, json_boolean(strcmp(mx, "true") == 0));
    } else {
      bool cut;
      size_t keep = strcmp(col, "entity_id") == 0 ? STATS_ENTITY_ID_MAX : STATS_STRING_MAX;
      if (mn) {
        size_t k = utf8_prefix(mn, strlen(mn), keep, &cut);
        json_object_set_new(mins, col, json_stringn(mn, k)); /* a prefix is a valid minimum */
      }
      if (mx) {
        utf8_prefix(mx, strlen(mx), keep, &cut);
        if (!cut) /* a cut maximum would be too small: leave it unknown */
          json_object_set_new(maxs, col, json_string(mx));
      }
    }
  }
  json_t *stats = json_pack("{s:I, s:o, s:o, s:o}", "numRecords", count, "minValues", mins,
                            "maxValues", maxs, "nullCount", nulls);
  char *text = stats ? json_dumps(stats, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(stats);
  return text;
}

/* Remove the files of an operation that failed before its commit (best effort: what stays
 * behind is an orphan that vacuum reclaims). */
void lh__written_discard(lh__written *w, bool committed) {
  for (size_t i = 0; i < w->npaths; i++) {
    if (!committed)
      lh__tio_discard(w->st->io, w->paths[i]);
    free(w->paths[i]);
  }
  free(w->paths);
  w->paths = NULL;
  w->npaths = w->paths_cap = 0;
}

json_t *lh__json_of(const char *text) {
  return json_loads(text, JSON_DECODE_ANY, NULL);
}

int lh__on_written(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                   lh_error *err) {
  lh__written *w = ctx;
  json_t *filename = NULL, *count = NULL, *size = NULL, *colstats = NULL, *keys = NULL;
  for (size_t i = 0; i < ncols; i++) {
    if (strcmp(names[i], "filename") == 0)
      filename = lh__json_of(v[i]);
    else if (strcmp(names[i], "count") == 0)
      count = lh__json_of(v[i]);
    else if (strcmp(names[i], "file_size_bytes") == 0)
      size = lh__json_of(v[i]);
    else if (strcmp(names[i], "column_statistics") == 0)
      colstats = lh__json_of(v[i]);
    else if (strcmp(names[i], "partition_keys") == 0)
      keys = lh__json_of(v[i]);
  }
  int rc = 0;
  const char *file = json_string_value(filename);
  if (file) {
    if (LH_ARRAY_RESERVE(w->paths, w->paths_cap, w->npaths + 1, 16)) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      goto done;
    }
    if (!(w->paths[w->npaths] = strdup(file))) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      goto done;
    }
    w->npaths++;
  }
  const char *rel = file ? lh__tio_relative(w->st->io, file) : NULL;
  if (!rel || !json_is_integer(count) || !json_is_integer(size)) {
    rc = lh_error_set(err, LH_EINTERNAL, "unexpected COPY result for '%s'", file ? file : "?");
    goto done;
  }
  const char *values[LH_ROW_NPARTITIONS];
  if (w->fixed) {
    values[0] = w->fixed->shard;
    values[1] = w->fixed->bucket;
    values[2] = w->fixed->origin;
  } else {
    for (int i = 0; i < LH_ROW_NPARTITIONS; i++) {
      values[i] = json_string_value(json_object_get(keys, LH_ROW_PARTITIONS[i]));
      if (!values[i]) {
        rc = lh_error_set(err, LH_EINTERNAL, "COPY result without partition key %s",
                          LH_ROW_PARTITIONS[i]);
        goto done;
      }
    }
  }
  char *path = lh__delta_path_encode(rel);
  char *stats = delta_stats(colstats, json_integer_value(count));
  if (!path || !stats)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  else if (lh__delta_actions_add(w->actions, path, LH_ROW_PARTITIONS, values, LH_ROW_NPARTITIONS,
                                 json_integer_value(size), lh_time_now() / 1000, w->data_change,
                                 stats))
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  free(path);
  free(stats);
  w->rows += (uint64_t)json_integer_value(count);
  w->files++;
  w->bytes += json_integer_value(size);
done:
  json_decref(filename);
  json_decref(count);
  json_decref(size);
  json_decref(colstats);
  json_decref(keys);
  return rc;
}

void lh__store_hold(lh_statement_store *st, lh_fence *fence) {
  assert(!st->fence_held); /* one write or maintenance step at a time per store */
  st->fence_held = fence;
}

void lh__store_release(lh_statement_store *st, lh_fence *fence) {
  assert(st->fence_held == fence);
  st->fence_held = NULL;
  lh_fence_release(fence);
}

int lh__store_commit(lh_statement_store *st, lh__delta_actions *actions, const char *operation,
                     int64_t *version, lh_error *err) {
  assert(st->fence_held); /* appends hold the shared fence, maintenance the exclusive one */
  assert(st->loaded);     /* the commit builds on the snapshot it read */
  return lh__delta_commit(st->table, st->io, &st->duck, &st->snap, actions, operation, version,
                          err);
}
