/* The statement store: Delta table of Parquet statement rows (see statement_store.h). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crashpoint.h"
#include "core/sort.h"
#include "core/strmap.h"
#include "lakehouse/fence.h"
#include "lakehouse/log.h"
#include "lakehouse/merge.h"
#include "lakehouse/statement_store.h"
#include "lakehouse/tags.h"
#include "lakehouse/validate.h"
#include "storage/duck.h"
#include "storage/parquet/delta_log.h"

#define APPEND_BATCH_ROWS 500000
#define APPEND_BATCH_BYTES ((size_t)256 << 20)
#define STATS_STRING_MAX 32 /* code points kept in string stats (Spark's prefix length) */

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

static const char *const DATA_COLUMNS =
    "id, entity_id, dataset, source, schema, prop, prop_type, value, original_value, lang, "
    "external, first_seen, last_seen, fragment, deleted_at";

struct lh_statement_store {
  lh_store *dataset; /* borrowed */
  lh_store *table;   /* {dataset}/statements */
  char *root;        /* local path of the table */
  char *name;
  int shards;
  char *memory_limit;
  int grace_days;
  lh_fence_opts fence;
  lh__duck duck;
  lh__delta_snapshot snap;
  bool loaded;
  lh_tags *tags;
};

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
  lh__delta_snapshot_init(&st->snap);
  st->name = strdup(dataset_name);
  st->memory_limit =
      strdup(settings && settings->duckdb_memory_limit ? settings->duckdb_memory_limit : "8GB");
  lh_fence_opts_from_settings(&st->fence, settings, "write");
  if (!st->name || !st->memory_limit) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = lh_store_sub(dataset, "statements", &st->table, err)) != 0)
    goto fail;
  st->root = lh_store_local_path(st->table, NULL);
  if (!st->root) {
    rc = lh_error_set(err, LH_EUNSUPPORTED, "the statement store needs a local lake (got %s)",
                      lh_store_uri(dataset));
    goto fail;
  }
  if (!(st->tags = lh_tags_open(dataset, NULL))) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto fail;
  }
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
  lh_store_close(st->table);
  free(st->root);
  free(st->name);
  free(st->memory_limit);
  free(st);
}

/* Bring the snapshot up to date (full load the first time). */
static int refresh(lh_statement_store *st, lh_error *err) {
  int rc;
  if (!st->loaded || st->snap.version < 0) {
    rc = lh__delta_load(st->table, &st->duck, &st->snap, err);
    st->loaded = rc == 0;
  } else {
    rc = lh__delta_update(st->table, &st->snap, err);
  }
  if (rc)
    lh_error_prefix(err, "%s/statements", st->name);
  return rc;
}

int64_t lh_statement_store_version(lh_statement_store *st, lh_error *err) {
  if (refresh(st, err))
    return -2;
  return st->snap.version;
}

static int ensure_table(lh_statement_store *st, lh_error *err) {
  int rc = refresh(st, err);
  if (rc)
    return rc;
  if (st->snap.version < 0) {
    rc = lh__delta_create(st->table, SCHEMA_STRING, LH_ROW_PARTITIONS, LH_ROW_NPARTITIONS, err);
    if (rc && rc != LH_EEXIST)
      return rc;
    lh_error_clear(err);
    st->loaded = false;
    if ((rc = refresh(st, err)) != 0)
      return rc;
  }
  return lh__delta_check_write(&st->snap, err);
}

/* ---- partitions ---------------------------------------------------------------------------- */

typedef struct part {
  const char *shard, *bucket, *origin;
  size_t *files; /* indexes into snap.files */
  size_t nfiles, cap;
  int64_t bytes;
} part;

static int part_cmp(const void *a, const void *b) {
  const part *x = a, *y = b;
  int c = strcmp(x->shard, y->shard);
  if (!c)
    c = strcmp(x->bucket, y->bucket);
  return c ? c : strcmp(x->origin, y->origin);
}

static void parts_free(part *p, size_t n) {
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
static int collect_parts(lh_statement_store *st, part **out, size_t *nout, lh_error *err) {
  *out = NULL;
  *nout = 0;
  lh__delta_snapshot *s = &st->snap;
  part *parts = NULL;
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
        part *np = realloc(parts, cap * sizeof *np);
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
      parts[n] = (part){shard, bucket, origin, NULL, 0, 0, 0};
      lh__strmap_put(&index, keys[n], (uint32_t)n);
      pi = (uint32_t)n++;
    }
    part *p = &parts[pi];
    if (p->nfiles == p->cap) {
      p->cap = p->cap ? p->cap * 2 : 8;
      size_t *nf = realloc(p->files, p->cap * sizeof *nf);
      if (!nf) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        break;
      }
      p->files = nf;
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
    parts_free(parts, n);
    return rc;
  }
  lh__qsort(parts, n, sizeof *parts, part_cmp);
  *out = parts;
  *nout = n;
  return 0;
}

static int part_tag(const part *p, bool optimized, char **key, lh_error *err) {
  *key = optimized ? lh_tag_partition_optimized(p->shard, p->bucket, p->origin, err)
                   : lh_tag_partition_updated(p->shard, p->bucket, p->origin, err);
  return *key ? 0 : err ? err->code : LH_ENOMEM;
}

/* 1 when the partition was written since its last merge (or was never merged). */
static int part_dirty(lh_statement_store *st, const part *p, lh_error *err) {
  char *opt, *upd;
  int rc = part_tag(p, true, &opt, err);
  if (rc)
    return rc;
  if ((rc = part_tag(p, false, &upd, err)) != 0) {
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
static int files_source(lh_statement_store *st, const part *p, const size_t *files, size_t n,
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
    rc = lh_buf_printf(&path, "%s/%s", st->root, st->snap.files[files[i]].file);
    if (!rc && i)
      rc = lh_buf_putc(out, ',');
    rc = rc ? rc : lh__sql_quote(out, path.data);
  }
  lh_buf_free(&path);
  return rc ? rc : lh_buf_puts(out, "], union_by_name = true)");
}

static const char *const EMPTY_SOURCE =
    "SELECT NULL::VARCHAR AS shard, NULL::VARCHAR AS id, NULL::VARCHAR AS entity_id, "
    "NULL::VARCHAR AS dataset, NULL::VARCHAR AS bucket, NULL::VARCHAR AS origin, NULL::VARCHAR AS "
    "source, NULL::VARCHAR AS schema, NULL::VARCHAR AS prop, NULL::VARCHAR AS prop_type, "
    "NULL::VARCHAR AS value, NULL::VARCHAR AS original_value, NULL::VARCHAR AS lang, "
    "NULL::BOOLEAN AS external, NULL::TIMESTAMPTZ AS first_seen, NULL::TIMESTAMPTZ AS last_seen, "
    "NULL::VARCHAR AS fragment, NULL::TIMESTAMPTZ AS deleted_at WHERE false";

static lh_time grace_cutoff(const lh_statement_store *st, lh_time now) {
  return now - (lh_time)st->grace_days * 86400 * 1000000;
}

/* (Re)create statement_raw and statement over the current snapshot. */
static int build_views(lh_statement_store *st, lh_error *err) {
  part *parts;
  size_t n;
  int rc = collect_parts(st, &parts, &n, err);
  if (rc)
    return rc;
  lh_buf raw = LH_BUF_INIT, live = LH_BUF_INIT, src = LH_BUF_INIT;
  lh_time cutoff = grace_cutoff(st, lh_time_now());
  rc = lh_buf_puts(&raw, "CREATE OR REPLACE VIEW statement_raw AS ");
  rc = rc ? rc
          : lh_buf_puts(&live, "CREATE OR REPLACE VIEW statement AS SELECT *, entity_id AS "
                               "canonical_id FROM (");
  if (!rc && n == 0) {
    rc = lh_buf_puts(&raw, EMPTY_SOURCE);
    rc = rc ? rc : lh_buf_puts(&live, EMPTY_SOURCE);
  }
  for (size_t i = 0; i < n && !rc; i++) {
    lh_buf_reset(&src);
    rc = files_source(st, &parts[i], parts[i].files, parts[i].nfiles, &src);
    if (!rc && i) {
      rc = lh_buf_puts(&raw, " UNION ALL ");
      rc = rc ? rc : lh_buf_puts(&live, " UNION ALL ");
    }
    rc = rc ? rc : lh_buf_append(&raw, src.data, src.len);
    if (rc)
      break;
    int dirty = part_dirty(st, &parts[i], err);
    if (dirty < 0) {
      rc = dirty;
      break;
    }
    if (dirty) { /* not merged since written: apply the merge rules while reading */
      rc = lh_buf_puts(&live, "(");
      rc = rc ? rc : lh_merge_sql(&live, src.data, NULL, NULL, cutoff, true);
      rc = rc ? rc : lh_buf_puts(&live, ")");
    } else {
      rc = lh_buf_append(&live, src.data, src.len);
    }
  }
  rc = rc ? rc : lh_buf_puts(&live, ") WHERE deleted_at IS NULL");
  if (rc == 0)
    rc = lh__duck_exec(&st->duck, raw.data, err);
  if (rc == 0)
    rc = lh__duck_exec(&st->duck, live.data, err);
  else if (rc > 0 || rc == LH_ENOMEM)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_buf_free(&raw);
  lh_buf_free(&live);
  lh_buf_free(&src);
  parts_free(parts, n);
  return rc;
}

/* After an I/O error while reading: name a data file the log lists but that is gone. */
static int explain_io_error(lh_statement_store *st, int rc, lh_error *err) {
  if (rc != LH_EIO)
    return rc;
  lh_buf path = LH_BUF_INIT;
  for (size_t i = 0; i < st->snap.nfiles; i++) {
    const lh__delta_file *f = &st->snap.files[i];
    lh_buf_reset(&path);
    if (lh_buf_printf(&path, "%s/%s", st->root, f->file))
      break;
    if (access(path.data, F_OK) != 0 && errno == ENOENT) {
      rc = lh_error_set(err, LH_ENOTFOUND,
                        "%s/statements: version %" PRId64 ": data file '%s' named by the log "
                        "(added in version %" PRId64 ") is missing",
                        st->name, st->snap.version, f->path, f->version);
      break;
    }
  }
  lh_buf_free(&path);
  return rc;
}

int lh_statement_store_sql(lh_statement_store *st, const char *sql, lh_sql_row_fn fn, void *ctx,
                           lh_error *err) {
  int rc = refresh(st, err);
  if (rc == 0)
    rc = lh__delta_check_read(&st->snap, err);
  if (rc == 0)
    rc = build_views(st, err);
  if (rc == 0)
    rc = lh__duck_each_row(&st->duck, sql, fn, ctx, err);
  return explain_io_error(st, rc, err);
}

int lh_statement_store_files(lh_statement_store *st, lh_store_key_fn fn, void *ctx, lh_error *err) {
  int rc = refresh(st, err);
  for (size_t i = 0; i < st->snap.nfiles && rc == 0; i++)
    rc = fn(st->snap.files[i].file, ctx);
  return rc;
}

int lh_statement_store_needs_merge(lh_statement_store *st, lh_error *err) {
  int rc = refresh(st, err);
  if (rc)
    return rc;
  part *parts;
  size_t n;
  if ((rc = collect_parts(st, &parts, &n, err)) != 0)
    return rc;
  int dirty = 0;
  for (size_t i = 0; i < n && dirty == 0; i++)
    dirty = part_dirty(st, &parts[i], err);
  parts_free(parts, n);
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
      if (mn) {
        size_t k = utf8_prefix(mn, strlen(mn), STATS_STRING_MAX, &cut);
        json_object_set_new(mins, col, json_stringn(mn, k)); /* a prefix is a valid minimum */
      }
      if (mx) {
        utf8_prefix(mx, strlen(mx), STATS_STRING_MAX, &cut);
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

typedef struct written {
  lh_statement_store *st;
  lh__delta_actions *actions;
  const part *fixed; /* partition of a non-partitioned COPY, else NULL */
  bool data_change;
  uint64_t rows, files;
  int64_t bytes;
  char **paths; /* absolute paths of the files written, to discard them if never committed */
  size_t npaths, paths_cap;
} written;

/* Remove the files of an operation that failed before its commit (best effort: what stays
 * behind is an orphan that vacuum reclaims). */
static void discard_written(written *w, bool committed) {
  for (size_t i = 0; i < w->npaths; i++) {
    if (!committed)
      unlink(w->paths[i]);
    free(w->paths[i]);
  }
  free(w->paths);
  w->paths = NULL;
  w->npaths = w->paths_cap = 0;
}

static json_t *json_of(const char *text) {
  return json_loads(text, JSON_DECODE_ANY, NULL);
}

static int on_written(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                      lh_error *err) {
  written *w = ctx;
  json_t *filename = NULL, *count = NULL, *size = NULL, *colstats = NULL, *keys = NULL;
  for (size_t i = 0; i < ncols; i++) {
    if (strcmp(names[i], "filename") == 0)
      filename = json_of(v[i]);
    else if (strcmp(names[i], "count") == 0)
      count = json_of(v[i]);
    else if (strcmp(names[i], "file_size_bytes") == 0)
      size = json_of(v[i]);
    else if (strcmp(names[i], "column_statistics") == 0)
      colstats = json_of(v[i]);
    else if (strcmp(names[i], "partition_keys") == 0)
      keys = json_of(v[i]);
  }
  int rc = 0;
  const char *file = json_string_value(filename);
  size_t rl = strlen(w->st->root);
  if (file) {
    if (w->npaths == w->paths_cap) {
      size_t cap = w->paths_cap ? w->paths_cap * 2 : 16;
      char **np = realloc(w->paths, cap * sizeof *np);
      if (!np) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        goto done;
      }
      w->paths = np;
      w->paths_cap = cap;
    }
    if (!(w->paths[w->npaths] = strdup(file))) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      goto done;
    }
    w->npaths++;
  }
  if (!file || strncmp(file, w->st->root, rl) != 0 || file[rl] != '/' || !json_is_integer(count) ||
      !json_is_integer(size)) {
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
  char *path = lh__delta_path_encode(file + rl + 1);
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

/* ---- append -------------------------------------------------------------------------------------
 */

/* A sorted batch of rows whose strings live in an arena. */
typedef struct batch {
  lh_row *rows;
  size_t n, cap, pos;
  lh__arena arena;
  bool served;
} batch;

static const char *keep(batch *b, const char *s, size_t n) {
  return s ? lh__arena_strndup(&b->arena, s, n) : NULL;
}

static int row_cmp(const void *x, const void *y) {
  const lh_row *a = x, *b = y;
  int c = strcmp(a->shard, b->shard);
  if (c)
    return c;
  if (a->bucket != b->bucket)
    return strcmp(lh_bucket_name(a->bucket), lh_bucket_name(b->bucket));
  if ((c = strcmp(a->origin, b->origin)) || (c = strcmp(a->entity_id, b->entity_id)) ||
      (c = strcmp(a->prop, b->prop)))
    return c;
  return strcmp(a->id, b->id);
}

static int batch_next(void *ctx, const lh_row **rows, size_t *n, lh_error *err) {
  (void)err;
  batch *b = ctx;
  size_t left = b->n - b->pos, take = left < 2048 ? left : 2048;
  *rows = b->rows + b->pos;
  *n = take;
  b->pos += take;
  return 0;
}

typedef struct appender {
  lh_statement_store *st;
  lh_row_batch_fn next;
  void *ctx;
  const lh_row *pending; /* rows handed out by next() not yet copied */
  size_t npending, pending_pos;
  bool eof;
  uint64_t seen;
  lh__strmap parts; /* partitions written: "shard/bucket/origin" -> 1 */
  char **part_keys;
  size_t nparts, parts_cap;
} appender;

static int note_part(appender *a, const lh_row *r, lh_error *err) {
  char key[512];
  snprintf(key, sizeof key, "%s\x1f%s\x1f%s", r->shard, lh_bucket_name(r->bucket), r->origin);
  if (lh__strmap_get(&a->parts, key, NULL))
    return 0;
  if (a->nparts == a->parts_cap) {
    size_t cap = a->parts_cap ? a->parts_cap * 2 : 16;
    char **nk = realloc(a->part_keys, cap * sizeof *nk);
    if (!nk)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    a->part_keys = nk;
    a->parts_cap = cap;
  }
  if (!(a->part_keys[a->nparts] = strdup(key)))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh__strmap_put(&a->parts, a->part_keys[a->nparts], 1);
  a->nparts++;
  return 0;
}

/* Fill the batch from the source: copies, validates and sorts. */
static int fill_batch(appender *a, batch *b, lh_error *err) {
  b->n = b->pos = 0;
  lh__arena_reset(&b->arena);
  while (b->n < APPEND_BATCH_ROWS && b->arena.total < APPEND_BATCH_BYTES) {
    if (a->pending_pos == a->npending) {
      if (a->eof)
        break;
      a->pending_pos = a->npending = 0;
      int rc = a->next(a->ctx, &a->pending, &a->npending, err);
      if (rc)
        return rc;
      if (a->npending == 0) {
        a->eof = true;
        break;
      }
    }
    const lh_row *r = &a->pending[a->pending_pos++];
    a->seen++;
    int rc = lh_row_check(r, err);
    if (rc)
      return lh_error_prefix(err, "row %" PRIu64, a->seen);
    if (b->n == b->cap) {
      size_t cap = b->cap ? b->cap * 2 : 4096;
      lh_row *nr = realloc(b->rows, cap * sizeof *nr);
      if (!nr)
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      b->rows = nr;
      b->cap = cap;
    }
    lh_row *c = &b->rows[b->n];
    *c = *r;
    c->id = keep(b, r->id, strlen(r->id));
    c->entity_id = keep(b, r->entity_id, strlen(r->entity_id));
    c->dataset = keep(b, r->dataset, strlen(r->dataset));
    c->origin = keep(b, r->origin, strlen(r->origin));
    c->source = r->source ? keep(b, r->source, strlen(r->source)) : NULL;
    c->schema = keep(b, r->schema, strlen(r->schema));
    c->prop = keep(b, r->prop, strlen(r->prop));
    c->prop_type = r->prop_type ? keep(b, r->prop_type, strlen(r->prop_type)) : NULL;
    c->value = keep(b, r->value, r->value_len);
    c->original_value =
        r->original_value ? keep(b, r->original_value, strlen(r->original_value)) : NULL;
    c->lang = r->lang ? keep(b, r->lang, strlen(r->lang)) : NULL;
    c->fragment = keep(b, r->fragment, strlen(r->fragment));
    if (!c->id || !c->entity_id || !c->dataset || !c->origin || !c->schema || !c->prop ||
        !c->value || !c->fragment)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    if ((rc = note_part(a, c, err)) != 0)
      return rc;
    b->n++;
  }
  lh__qsort(b->rows, b->n, sizeof *b->rows, row_cmp);
  return 0;
}

int lh_statement_store_append(lh_statement_store *st, lh_row_batch_fn next, void *ctx,
                              lh_append_result *res, lh_error *err) {
  lh_append_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  int rc = ensure_table(st, err);
  if (rc)
    return rc;
  lh_fence *fence = NULL;
  lh_fence_opts fo = st->fence;
  fo.operation = "append";
  lh_time start = lh_time_now();
  batch b = {0};
  lh__arena_init(&b.arena, 1 << 20, 0);
  appender a = {st, next, ctx, NULL, 0, 0, false, 0, {0}, NULL, 0, 0};
  lh__strmap_init(&a.parts);
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  written w = {st, &actions, NULL, true, 0, 0, 0, NULL, 0, 0};
  lh_buf sql = LH_BUF_INIT;
  if ((rc = lh_fence_shared(st->dataset, &fo, &fence, err)) != 0)
    goto done;
  /* row order inside partition files: DuckDB writes each input chunk's slice at once */
  if ((rc = lh__duck_exec(&st->duck, "SET partitioned_write_flush_threshold = 1", err)) != 0)
    goto done;
  rc = lh_buf_puts(&sql, "COPY (SELECT * FROM lh_rows()) TO ");
  rc = rc ? rc : lh__sql_quote(&sql, st->root);
  rc =
      rc ? rc
         : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (shard, bucket, "
                             "origin), APPEND, FILENAME_PATTERN 'part-{uuid}', RETURN_STATS true)");
  if (rc) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (;;) {
    if ((rc = fill_batch(&a, &b, err)) != 0)
      goto done;
    if (b.n == 0)
      break;
    lh__row_source src = {batch_next, &b};
    st->duck.source = &src;
    rc = lh__duck_each_row(&st->duck, sql.data, on_written, &w, err);
    st->duck.source = NULL;
    if (rc)
      goto done;
  }
  if (w.files == 0)
    goto done; /* nothing to append */
  lh__crashpoint("append:parquet-written");
  /* partitions are dirty from now on: tags first, as the Python project does, inside the
   * fence so that no merge can slip between the tags and the commit */
  for (size_t i = 0; i < a.nparts && !rc; i++) {
    char *parts[3], *save = NULL;
    char *k = strdup(a.part_keys[i]);
    if (!k) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    parts[0] = strtok_r(k, "\x1f", &save);
    parts[1] = strtok_r(NULL, "\x1f", &save);
    parts[2] = strtok_r(NULL, "\x1f", &save);
    char *tag = parts[2] ? lh_tag_partition_updated(parts[0], parts[1], parts[2], err) : NULL;
    rc = tag ? lh_tags_set(st->tags, tag, start, err) : LH_EINTERNAL;
    free(tag);
    free(k);
  }
  if (rc == 0)
    rc = lh_tags_set(st->tags, LH_TAG_STATEMENTS_UPDATED, start, err);
  if (rc == 0) {
    lh__crashpoint("append:tags-set");
    rc = lh__delta_commit(st->table, &st->duck, &st->snap, &actions, "WRITE", &res->version, err);
  }
  if (rc == 0) {
    res->rows = w.rows;
    res->files = w.files;
  }
done:
  discard_written(&w, res->version >= 0);
  st->duck.source = NULL;
  lh_fence_release(fence);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  free(b.rows);
  lh__arena_free(&b.arena);
  lh__strmap_free(&a.parts);
  for (size_t i = 0; i < a.nparts; i++)
    free(a.part_keys[i]);
  free(a.part_keys);
  return rc;
}

/* ---- merge --------------------------------------------------------------------------------------
 */

/* The partition's folder: that of its first file (DuckDB's hive encoding of the values). */
static char *part_dir(lh_statement_store *st, const part *p) {
  const char *file = st->snap.files[p->files[0]].file;
  const char *slash = strrchr(file, '/');
  char *out = NULL;
  if (asprintf(&out, "%s/%.*s", st->root, slash ? (int)(slash - file) : 0, file) < 0)
    return NULL;
  return out;
}

typedef struct sample {
  char **ids;
  size_t n, cap;
} sample;

static int take_sample(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                       lh_error *err) {
  (void)ncols;
  (void)names;
  sample *s = ctx;
  json_t *j = json_of(v[0]);
  const char *id = json_string_value(j);
  int rc = 0;
  if (id) {
    if (s->n == s->cap) {
      s->cap = s->cap ? s->cap * 2 : 1024;
      char **ni = realloc(s->ids, s->cap * sizeof *ni);
      if (!ni)
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      else
        s->ids = ni;
    }
    if (!rc && !(s->ids[s->n++] = strdup(id)))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  json_decref(j);
  return rc;
}

static int count_rows(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                      lh_error *err) {
  (void)ncols;
  (void)names;
  (void)err;
  *(uint64_t *)ctx += strtoull(v[0], NULL, 10);
  return 0;
}

/* Merge one partition into new files and commit them in place of the old ones. */
static int merge_part(lh_statement_store *st, const part *p, const lh_merge_opts *o, lh_time cutoff,
                      lh_merge_result *res, lh_error *err) {
  lh_time start = lh_time_now();
  lh_buf src = LH_BUF_INIT, sql = LH_BUF_INIT;
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  written w = {st, &actions, p, true, 0, 0, 0, NULL, 0, 0};
  int64_t version = -1;
  sample smp = {0};
  char *tag = NULL;
  char **bounds = NULL;
  size_t nbounds = 0;
  char *dir = part_dir(st, p);
  int rc = dir ? files_source(st, p, p->files, p->nfiles, &src) : LH_ENOMEM;
  if (rc) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  uint64_t before = 0;
  lh_buf_printf(&sql, "SELECT count(*) FROM (%s)", src.data);
  if ((rc = lh__duck_each_row(&st->duck, sql.data, count_rows, &before, err)) != 0)
    goto done;
  int64_t slices = lh_merge_slice_count(
      p->bytes, st->memory_limit, o && o->spill_factor ? o->spill_factor : LH_MERGE_SPILL_FACTOR);
  if (slices > 1) {
    lh_buf_reset(&sql);
    lh_buf_printf(&sql, "SELECT entity_id FROM (%s) USING SAMPLE reservoir(%d ROWS)", src.data,
                  LH_MERGE_SAMPLE_SIZE);
    if ((rc = lh__duck_each_row(&st->duck, sql.data, take_sample, &smp, err)) != 0)
      goto done;
    if (lh_slice_bounds((const char *const *)smp.ids, smp.n, slices, &bounds, &nbounds)) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      goto done;
    }
  }
  for (size_t i = 0; i <= nbounds && !rc; i++) {
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
    rc = rc ? rc : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, RETURN_STATS true)");
    if (rc) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    rc = lh__duck_each_row(&st->duck, sql.data, on_written, &w, err);
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
  if ((rc = part_tag(p, true, &tag, err)) != 0)
    goto done;
  lh__crashpoint("merge:parquet-written");
  if ((rc = lh__delta_commit(st->table, &st->duck, &st->snap, &actions, "MERGE", &version, err)))
    goto done;
  res->version = version;
  res->partitions++;
  res->rows_before += before;
  res->rows_after += w.rows;
  lh__crashpoint("merge:committed");
  rc = lh_tags_set(st->tags, tag, start, err);
done:
  discard_written(&w, version >= 0);
  free(tag);
  for (size_t i = 0; i < nbounds; i++)
    free(bounds[i]);
  free(bounds);
  for (size_t i = 0; i < smp.n; i++)
    free(smp.ids[i]);
  free(smp.ids);
  free(dir);
  lh_buf_free(&src);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  return rc;
}

int lh_statement_store_merge(lh_statement_store *st, const lh_merge_opts *opts,
                             lh_merge_result *res, lh_error *err) {
  lh_merge_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  int rc = refresh(st, err);
  if (rc || st->snap.version < 0)
    return rc;
  if ((rc = lh__delta_check_write(&st->snap, err)) != 0)
    return rc;
  lh_fence *fence = NULL;
  lh_fence_opts fo = st->fence;
  fo.operation = "merge";
  if ((rc = lh_fence_exclusive(st->dataset, &fo, &fence, err)) != 0)
    return rc;
  lh_time now = opts && opts->now != LH_TIME_NULL ? opts->now : lh_time_now();
  lh_time cutoff = grace_cutoff(st, now);
  part *parts = NULL;
  size_t n = 0;
  if ((rc = refresh(st, err)) != 0 || (rc = collect_parts(st, &parts, &n, err)) != 0)
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
    int d = opts && opts->force ? 1 : part_dirty(st, &parts[i], err);
    if (d < 0)
      rc = d;
    dirty[i] = d > 0;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    if (!dirty[i]) {
      res->skipped++;
      continue;
    }
    part *cur = NULL;
    size_t ncur = 0;
    if ((rc = collect_parts(st, &cur, &ncur, err)) != 0)
      break;
    for (size_t k = 0; k < ncur && !rc; k++)
      if (strcmp(cur[k].shard, keys[i][0]) == 0 && strcmp(cur[k].bucket, keys[i][1]) == 0 &&
          strcmp(cur[k].origin, keys[i][2]) == 0)
        rc = merge_part(st, &cur[k], opts, cutoff, res, err);
    parts_free(cur, ncur);
  }
  free(keys);
  free(dirty);
  if (rc == 0 && res->partitions > 0)
    rc = lh_tags_set(st->tags, LH_TAG_STATEMENTS_OPTIMIZED, lh_time_now(), err);
done:
  parts_free(parts, n);
  lh_fence_release(fence);
  return explain_io_error(st, rc, err);
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

int lh_statement_store_compact(lh_statement_store *st, int64_t target, lh_compact_result *res,
                               lh_error *err) {
  lh_compact_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  res->version = -1;
  if (target <= 0)
    target = LH_TARGET_FILE_SIZE;
  int rc = refresh(st, err);
  if (rc || st->snap.version < 0)
    return rc;
  if ((rc = lh__delta_check_write(&st->snap, err)) != 0)
    return rc;
  lh_fence *fence = NULL;
  lh_fence_opts fo = st->fence;
  fo.operation = "compact";
  if ((rc = lh_fence_exclusive(st->dataset, &fo, &fence, err)) != 0)
    return rc;
  part *parts = NULL;
  size_t n = 0;
  lh__delta_actions actions;
  lh__delta_actions_init(&actions);
  written w = {st, &actions, NULL, false, 0, 0, 0, NULL, 0, 0};
  lh_buf src = LH_BUF_INIT, sql = LH_BUF_INIT;
  size_t *bin = NULL;
  if ((rc = refresh(st, err)) != 0 || (rc = collect_parts(st, &parts, &n, err)) != 0)
    goto done;
  res->files_before = st->snap.nfiles;
  res->files_after = st->snap.nfiles;
  bin = malloc((st->snap.nfiles ? st->snap.nfiles : 1) * sizeof *bin);
  if (!bin) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n && !rc; i++) {
    part *p = &parts[i];
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
      char *dir = part_dir(st, p);
      char id[LH_UUID_SIZE];
      lh_uuid4(id);
      lh_buf_reset(&src);
      lh_buf_reset(&sql);
      rc = dir ? lh_buf_printf(&sql, "COPY (SELECT %s FROM read_parquet([", DATA_COLUMNS)
               : LH_ENOMEM;
      lh_buf path = LH_BUF_INIT;
      for (size_t j = 0; j < nb && !rc; j++) {
        lh_buf_reset(&path);
        rc = lh_buf_printf(&path, "%s/%s", st->root, st->snap.files[bin[j]].file);
        if (!rc && j)
          rc = lh_buf_putc(&sql, ',');
        rc = rc ? rc : lh__sql_quote(&sql, path.data);
      }
      lh_buf_reset(&path);
      rc = rc ? rc : lh_buf_puts(&sql, "], union_by_name = true)) TO ");
      rc = rc ? rc : lh_buf_printf(&path, "%s/part-%s.parquet", dir, id);
      rc = rc ? rc : lh__sql_quote(&sql, path.data);
      rc = rc ? rc : lh_buf_puts(&sql, " (FORMAT parquet, COMPRESSION zstd, RETURN_STATS true)");
      lh_buf_free(&path);
      free(dir);
      if (rc) {
        rc = lh_error_set(err, LH_ENOMEM, "out of memory");
        break;
      }
      w.fixed = p;
      if ((rc = lh__duck_each_row(&st->duck, sql.data, on_written, &w, err)) != 0)
        break;
      for (size_t j = 0; j < nb && !rc; j++)
        if (lh__delta_actions_remove(&actions, &st->snap, &st->snap.files[bin[j]],
                                     lh_time_now() / 1000, false))
          rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    }
  }
  if (rc == 0 && actions.nremoves > 0) {
    lh__crashpoint("compact:parquet-written");
    rc =
        lh__delta_commit(st->table, &st->duck, &st->snap, &actions, "OPTIMIZE", &res->version, err);
    if (rc == 0)
      res->files_after = st->snap.nfiles;
  }
done:
  discard_written(&w, res->version >= 0);
  free(bin);
  lh_buf_free(&src);
  lh_buf_free(&sql);
  lh__delta_actions_free(&actions);
  parts_free(parts, n);
  lh_fence_release(fence);
  return explain_io_error(st, rc, err);
}

/* ---- vacuum
 * -------------------------------------------------------------------------------------- */

typedef struct vacuum_ctx {
  lh_statement_store *st;
  lh__strmap live; /* decoded file -> 1 */
  lh_time cutoff;
  lh_vacuum_result *res;
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

static int vacuum_key(const char *key, void *arg) {
  vacuum_ctx *v = arg;
  if (hidden_key(key) || lh__strmap_get(&v->live, key, NULL))
    return 0;
  lh_time removed = LH_TIME_NULL;
  char *encoded = lh__delta_path_encode(key);
  json_t *rm = encoded ? json_object_get(v->st->snap.removes, encoded) : NULL;
  free(encoded);
  if (rm) {
    json_t *ts = json_object_get(rm, "deletionTimestamp");
    if (json_is_integer(ts))
      removed = json_integer_value(ts) * 1000;
  }
  if (removed == LH_TIME_NULL) { /* untracked (an orphan): judge by age */
    lh_store_info info;
    if (lh_store_stat(v->st->table, key, &info, NULL) != 0)
      return 0;
    removed = info.mtime;
  }
  if (removed > v->cutoff)
    return 0;
  if (v->ndoomed == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 64;
    char **nd = realloc(v->doomed, v->cap * sizeof *nd);
    if (!nd)
      return LH_ENOMEM;
    v->doomed = nd;
  }
  return (v->doomed[v->ndoomed++] = strdup(key)) ? 0 : LH_ENOMEM;
}

int lh_statement_store_vacuum(lh_statement_store *st, int retention_hours, lh_vacuum_result *res,
                              lh_error *err) {
  lh_vacuum_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  int rc = refresh(st, err);
  if (rc || st->snap.version < 0)
    return rc;
  if ((rc = lh__delta_check_write(&st->snap, err)) != 0)
    return rc;
  lh_fence *fence = NULL;
  lh_fence_opts fo = st->fence;
  fo.operation = "vacuum";
  if ((rc = lh_fence_exclusive(st->dataset, &fo, &fence, err)) != 0)
    return rc;
  vacuum_ctx v = {st, {0}, lh_time_now() - (lh_time)retention_hours * 3600 * 1000000, res, NULL,
                  0,  0};
  lh__strmap_init(&v.live);
  if ((rc = refresh(st, err)) != 0)
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
done:
  for (size_t i = 0; i < v.ndoomed; i++)
    free(v.doomed[i]);
  free(v.doomed);
  lh__strmap_free(&v.live);
  lh_fence_release(fence);
  return rc;
}
