/* bench/import: the input and the DuckDB baseline of the entity import benchmark. bench/run.sh
 * (BENCH=import) builds the input once, then times the baseline beside `ftm-lakehouse entities
 * import` (direct, through the SQLite journal, through PostgreSQL) on that same file:
 *
 *   bench_import scale OUT [--statements N]
 *       write FtM entity JSON lines (default N = 10 000 000 statements): every entity of
 *       ../shared/data (delta ADD/MOD lines give entities, DEL lines are skipped), copied with
 *       rewritten ids until the exploded statement count (values + 1 BASE statement per
 *       entity, counted with lh_exploder exactly as the import explodes) reaches N. Copy k
 *       prefixes "c{k}-" to every entity id and to every entity-typed value (and referent)
 *       that names an entity of the shared data, so each copy is a self-consistent graph.
 *       A prefix, not a suffix: a suffix after a "." would be cut by namespace stripping.
 *       Prints {"entities": E, "statements": S, "copies": C, "bytes": B}.
 *
 *   bench_import baseline IN OUT_DIR [--dataset NAME]
 *       the same import written directly in DuckDB SQL, one statement: read_json -> unnest
 *       properties (plus the BASE row) -> sha1 ids -> the 18 statement columns (prop_type and
 *       bucket joined from the model) -> partitioned zstd COPY to OUT_DIR. DuckDB is
 *       configured as the lakehouse configures it (memory limit from
 *       LAKEHOUSE_DUCKDB_MEMORY_LIMIT, default 8GB; threads = cores). The seconds printed
 *       cover the COPY alone; bench/run.sh reports the whole process, as for the CLI.
 *       Prints {"statements": S, "seconds": T, "statements_per_s": R}. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <duckdb.h>

#include "lakehouse/lakehouse.h"

#define BENCH_NAME "bench_import"
#include "bench.h"

/* ---- scale ------------------------------------------------------------------------------ */

static const char *const SHARED_FILES[] = {
    "data/yente-fixtures/zala/entities.ftm.json", "data/wd_persons/entities.ftm.json",
    "data/nomenklatura-fixtures/donations.ijson", "data/aleph-fixtures/samples.ijson",
    "data/yente-fixtures/entities.delta.json"};

typedef struct base {
  lh_buf lines; /* one compact entity JSON per line */
  char **ids;   /* sorted, unique: every entity id of the shared data */
  size_t nids, cap;
} base;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_entity_id(const base *b, const char *s) {
  return bsearch(&s, b->ids, b->nids, sizeof *b->ids, cmp_str) != NULL;
}

static void load_base(const lh_model *model, base *b) {
  const char *shared = getenv("LH_SHARED_DIR") ? getenv("LH_SHARED_DIR") : "../shared";
  lh_error err = {0};
  lh_entity *e = NULL;
  lh_entity_new(model, &e, NULL);
  for (size_t f = 0; f < sizeof SHARED_FILES / sizeof SHARED_FILES[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", shared, SHARED_FILES[f]);
    FILE *in = fopen(path, "r");
    if (!in)
      die_errno(path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
      lineno++;
      lh_delta_op op;
      if (lh_entity_parse_json(e, line, (size_t)len, 0, &op, &err)) {
        fprintf(stderr, "bench_import: %s line %zu: %s\n", path, lineno, err.message);
        exit(1);
      }
      if (op == LH_DELTA_DEL)
        continue;
      if (lh_entity_write_json(e, 0, &b->lines) || lh_buf_putc(&b->lines, '\n'))
        die("out of memory", NULL);
      if (b->nids == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        if (!(b->ids = realloc(b->ids, b->cap * sizeof *b->ids)))
          die("out of memory", NULL);
      }
      if (!(b->ids[b->nids++] = strdup(lh_entity_id(e))))
        die("out of memory", NULL);
    }
    free(line);
    fclose(in);
  }
  lh_entity_free(e);
  qsort(b->ids, b->nids, sizeof *b->ids, cmp_str);
  size_t u = 0; /* MOD lines repeat ids */
  for (size_t i = 0; i < b->nids; i++) {
    if (u && strcmp(b->ids[u - 1], b->ids[i]) == 0)
      free(b->ids[i]);
    else
      b->ids[u++] = b->ids[i];
  }
  b->nids = u;
}

/* dst = src with ids of the shared data prefixed: the entity's own, entity-typed values and
 * referents. Other values (a wikidataId equal to an entity id, say) stay as they are. */
static void copy_entity(const base *b, const lh_entity *src, const char *prefix, lh_entity *dst,
                        lh_buf *tmp) {
  lh_error err = {0};
  lh_entity_reset(dst);
  lh_entity_set_schema(dst, lh_entity_schema(src));
  lh_buf_reset(tmp);
  lh_buf_printf(tmp, "%s%s", prefix, lh_entity_id(src));
  if (lh_entity_set_id(dst, tmp->data, tmp->len, &err))
    die("rewritten id", &err);
  for (size_t i = 0; i < lh_entity_property_count(src); i++) {
    const char *const *values;
    size_t n;
    const lh_property *p = lh_entity_property_at(src, i, &values, &n);
    bool refs = p->type->id == LH_TYPE_ENTITY;
    for (size_t v = 0; v < n; v++) {
      const char *value = values[v];
      if (refs && is_entity_id(b, value)) {
        lh_buf_reset(tmp);
        lh_buf_printf(tmp, "%s%s", prefix, value);
        value = tmp->data;
      }
      if (lh_entity_add_property(dst, p, value, strlen(value), 0, &err) < 0)
        die("copy value", &err);
    }
  }
  for (int f = 0; f < LH_META_STR_COUNT; f++)
    if (lh_entity_meta(src, (lh_meta_str)f))
      lh_entity_set_meta(dst, (lh_meta_str)f, lh_entity_meta(src, (lh_meta_str)f));
  for (int f = 0; f < LH_META_LIST_COUNT; f++) {
    size_t n;
    const char *const *list = lh_entity_meta_list(src, (lh_meta_list)f, &n);
    if (list)
      lh_entity_add_meta(dst, (lh_meta_list)f, NULL);
    for (size_t i = 0; i < n; i++) {
      const char *value = list[i];
      if (f == LH_META_REFERENTS) {
        lh_buf_reset(tmp);
        lh_buf_printf(tmp, "%s%s", prefix, value);
        value = tmp->data;
      }
      lh_entity_add_meta(dst, (lh_meta_list)f, value);
    }
  }
  lh_entity_set_target(dst, lh_entity_target(src));
}

static int count_statement(const lh_statement *st, void *ctx) {
  (void)st;
  (void)ctx;
  return 0;
}

static int cmd_scale(const char *out_path, uint64_t want) {
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  if (!model)
    die("model", &err);
  base b = {LH_BUF_INIT, NULL, 0, 0};
  load_base(model, &b);
  lh_explode_opts o = {.dataset = "bench", .origin = "bulk", .last_seen = LH_TIME_NULL};
  lh_exploder *x = NULL;
  lh_exploder_new(&o, &x, &err);
  if (!x)
    die("exploder", &err);
  FILE *out = fopen(out_path, "wb");
  if (!out)
    die_errno(out_path);
  lh_entity *src = NULL, *dst = NULL;
  if (lh_entity_new(model, &src, &err) || lh_entity_new(model, &dst, &err))
    die("entity", &err);
  lh_buf line = LH_BUF_INIT, tmp = LH_BUF_INIT;
  uint64_t statements = 0, entities = 0, bytes = 0, copies = 0;
  while (statements < want && b.lines.len) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "c%llu-", (unsigned long long)copies++);
    const char *p = b.lines.data, *end = b.lines.data + b.lines.len;
    while (p < end && statements < want) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      if (lh_entity_parse_json(src, p, (size_t)(nl - p), 0, NULL, &err))
        die("base entity", &err);
      p = nl + 1;
      copy_entity(&b, src, prefix, dst, &tmp);
      int n = lh_exploder_run(x, dst, count_statement, NULL, &err);
      if (n < 0)
        die(lh_entity_id(dst), &err);
      lh_buf_reset(&line);
      if (lh_entity_write_json(dst, 0, &line) || lh_buf_putc(&line, '\n'))
        die("out of memory", NULL);
      if (fwrite(line.data, 1, line.len, out) != line.len)
        die_errno(out_path);
      statements += (uint64_t)n;
      entities++;
      bytes += line.len;
    }
  }
  if (fclose(out) != 0)
    die_errno(out_path);
  printf("{\"entities\": %llu, \"statements\": %llu, \"copies\": %llu, \"bytes\": %llu}\n",
         (unsigned long long)entities, (unsigned long long)statements, (unsigned long long)copies,
         (unsigned long long)bytes);
  lh_entity_free(src);
  lh_entity_free(dst);
  lh_exploder_free(x);
  lh_buf_free(&line);
  lh_buf_free(&tmp);
  lh_buf_free(&b.lines);
  for (size_t i = 0; i < b.nids; i++)
    free(b.ids[i]);
  free(b.ids);
  return 0;
}

/* ---- baseline --------------------------------------------------------------------------- */

/* The model as a table: (schema, prop) -> prop_type, and schema -> bucket, with the BASE
 * property "id" of every schema. Built before timing; a few thousand rows. */
static const char MODEL_TABLE_SQL[] =
    "CREATE TABLE model (schema VARCHAR, prop VARCHAR, prop_type VARCHAR, bucket VARCHAR)";

/* The import in one statement. Parameters: input path, dataset (twice), output path. The
 * BASE statement rides along in the unnest as an extra property "id" whose value is the
 * entity id (the lakehouse's BASE value is a checksum over the entity's statement ids,
 * which needs a group-by; the row count and the hashing work are the same). */
static const char IMPORT_SQL[] =
    "COPY (\n"
    "  WITH entities AS (\n"
    "    SELECT id, schema, properties\n"
    "    FROM read_json(%s, format = 'newline_delimited',\n"
    "                   columns = {id: 'VARCHAR', schema: 'VARCHAR',\n"
    "                              properties: 'MAP(VARCHAR, VARCHAR[])'})\n"
    "  ),\n"
    "  props AS (\n"
    "    SELECT id AS entity_id, schema,\n"
    "           unnest(list_append(map_keys(properties), 'id')) AS prop,\n"
    "           unnest(list_append(map_values(properties), [id])) AS vals\n"
    "    FROM entities\n"
    "  ),\n"
    "  statements AS (\n"
    "    SELECT entity_id, schema, prop, unnest(vals) AS value FROM props\n"
    "  )\n"
    "  SELECT '0' AS shard,\n"
    "         sha1(%s || '.' || s.entity_id || '.' || s.prop || '.' || s.value) AS id,\n"
    "         s.entity_id, %s AS dataset, coalesce(m.bucket, 'thing') AS bucket,\n"
    "         'bulk' AS origin, NULL::VARCHAR AS source, s.schema, s.prop, m.prop_type,\n"
    "         s.value, NULL::VARCHAR AS original_value, NULL::VARCHAR AS lang,\n"
    "         false AS external, now() AS first_seen, now() AS last_seen,\n"
    "         '' AS fragment, NULL::TIMESTAMPTZ AS deleted_at\n"
    "  FROM statements s LEFT JOIN model m ON m.schema = s.schema AND m.prop = s.prop\n"
    ") TO %s (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (shard, bucket, origin),\n"
    "         FILENAME_PATTERN 'part-{uuid}')";

static void load_model_table(duckdb_connection con, const lh_model *model) {
  duck_exec(con, MODEL_TABLE_SQL, NULL);
  duckdb_appender app;
  if (duckdb_appender_create(con, NULL, "model", &app) == DuckDBError)
    die("appender", NULL);
  for (size_t i = 0; i < lh_model_schema_count(model); i++) {
    const lh_schema *s = lh_model_schema_at(model, i);
    const char *bucket = lh_bucket_name(s->bucket);
    for (size_t j = 0; j <= s->nproperties; j++) {
      bool is_base = j == s->nproperties;
      duckdb_append_varchar(app, s->name);
      duckdb_append_varchar(app, is_base ? LH_BASE_PROP : s->properties[j]->name);
      duckdb_append_varchar(app, is_base ? LH_BASE_PROP : s->properties[j]->type->name);
      duckdb_append_varchar(app, bucket);
      if (duckdb_appender_end_row(app) == DuckDBError)
        die(duckdb_appender_error(app), NULL);
    }
  }
  duckdb_appender_destroy(&app);
}

static int cmd_baseline(const char *in, const char *out, const char *dataset) {
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  lh_settings settings;
  if (!model || lh_settings_load(&settings, &err))
    die("setup", &err);
  duckdb_config cfg;
  duckdb_database db;
  duckdb_connection con;
  char *open_err = NULL;
  if (duckdb_create_config(&cfg) == DuckDBError ||
      duckdb_set_config(cfg, "autoinstall_known_extensions", "false") == DuckDBError ||
      duckdb_set_config(cfg, "autoload_known_extensions", "false") == DuckDBError ||
      duckdb_set_config(cfg, "memory_limit", settings.duckdb_memory_limit) == DuckDBError ||
      (settings.duckdb_temp_directory &&
       duckdb_set_config(cfg, "temp_directory", settings.duckdb_temp_directory) == DuckDBError))
    die("cannot configure DuckDB", NULL);
  if (duckdb_open_ext(NULL, &db, cfg, &open_err) == DuckDBError ||
      duckdb_connect(db, &con) == DuckDBError)
    die("cannot open DuckDB", NULL);
  duckdb_destroy_config(&cfg);
  duck_exec(con, "SET TimeZone = 'UTC'", NULL);
  /* read_json estimates a few dozen rows, so DuckDB would build the model join's hash table
   * on the 10 M statements (2.4 GB, twice the CPU); keep the model table on the build side */
  duck_exec(con, "SET disabled_optimizers = 'build_side_probe_side'", NULL);
  load_model_table(con, model);

  lh_buf q_in = LH_BUF_INIT, q_ds = LH_BUF_INIT, q_out = LH_BUF_INIT, sql = LH_BUF_INIT;
  quote(&q_in, in);
  quote(&q_ds, dataset);
  quote(&q_out, out);
  lh_buf_printf(&sql, IMPORT_SQL, q_in.data, q_ds.data, q_ds.data, q_out.data);
  duckdb_result r;
  double t0 = now_s();
  duck_exec(con, sql.data, &r);
  double t = now_s() - t0;
  long long rows = (long long)duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  printf("{\"statements\": %lld, \"seconds\": %.3f, \"statements_per_s\": %.0f}\n", rows, t,
         (double)rows / t);
  lh_buf_free(&q_in);
  lh_buf_free(&q_ds);
  lh_buf_free(&q_out);
  lh_buf_free(&sql);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  lh_settings_free(&settings);
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  uint64_t statements = 10000000;
  const char *dataset = "bench";
  const char *pos[3] = {NULL, NULL, NULL};
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--statements") == 0 && i + 1 < argc)
      statements = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--dataset") == 0 && i + 1 < argc)
      dataset = argv[++i];
    else if (npos < 3)
      pos[npos++] = argv[i];
  }
  if (npos == 2 && strcmp(pos[0], "scale") == 0)
    return cmd_scale(pos[1], statements);
  if (npos == 3 && strcmp(pos[0], "baseline") == 0)
    return cmd_baseline(pos[1], pos[2], dataset);
  fprintf(stderr, "usage: bench_import scale OUT.ftm.json [--statements N]\n"
                  "       bench_import baseline IN.ftm.json OUT_DIR [--dataset NAME]\n");
  return 2;
}
