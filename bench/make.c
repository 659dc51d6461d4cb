/* bench/make: the DuckDB baseline of the `make` benchmark. bench/run.sh (BENCH=make) imports
 * the scaled shared data once (bench_import scale), then per run copies that lake, times
 * `ftm-lakehouse make` on the copy and the single exports (`export statements|entities|
 * statistics --force`), and times this baseline on the same, freshly optimized store:
 *
 *   bench_make baseline DATASET_DIR OUT_DIR
 *       the exports written directly as DuckDB SQL COPY from the Parquet files of the Delta
 *       table DATASET_DIR/statements (read_parquet over the partition directories with
 *       hive_partitioning: the store is freshly optimized and vacuumed, so its files are
 *       exactly the live ones; rows with deleted_at are skipped):
 *         statements.csv     the query of lh_statement_store_export_csv (the 15 columns of
 *                            STATEMENT_CSV_COLUMNS, timestamps as text, strings quoted,
 *                            ORDER BY entity_id, prop, id), with a header row
 *         entities.ftm.json  one JSON object per entity built in SQL: schema, properties
 *                            (prop -> sorted values, the BASE "id" left out), datasets,
 *                            origin, first_seen (min), last_seen (max); ordered by id
 *         statistics         count(DISTINCT entity_id) per schema; per country value for
 *                            the Thing schemata and for the Interval schemata; the entity
 *                            count with the date range (the four queries of statistics.json)
 *       DuckDB is configured as the lakehouse configures it (memory limit from
 *       LAKEHOUSE_DUCKDB_MEMORY_LIMIT, default 8GB; threads = cores; TimeZone UTC). The
 *       seconds printed cover each COPY alone; bench/run.sh reports the whole process too.
 *       Prints {"statements": S, "entities": E, "statements_s": T, "entities_s": T,
 *               "statistics_s": T, "total_s": T}. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <duckdb.h>

#include "lakehouse/lakehouse.h"

#define BENCH_NAME "bench_make"
#include "bench.h"

/* Run a COPY and return its row count; *seconds += its time. */
static long long timed_copy(duckdb_connection con, const char *sql, double *seconds) {
  duckdb_result r;
  double t0 = now_s();
  duck_exec(con, sql, &r);
  *seconds += now_s() - t0;
  long long rows = (long long)duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  return rows;
}

/* The live statements: every data file of the table, partition columns from the paths. */
static const char VIEW_SQL[] =
    "CREATE VIEW statement AS SELECT * FROM read_parquet(%s, hive_partitioning = true) "
    "WHERE deleted_at IS NULL";

/* lh_statement_store_export_csv's query and CSV options, with the header (the lakehouse
 * writes its header itself). */
static const char STATEMENTS_SQL[] =
    "COPY (SELECT id, entity_id, entity_id AS canonical_id, prop, prop_type, schema, value, "
    "original_value, dataset, origin, lang, external, "
    "strftime(first_seen, '%%Y-%%m-%%d %%H:%%M:%%S.%%fZ') AS first_seen, "
    "strftime(last_seen, '%%Y-%%m-%%d %%H:%%M:%%S.%%fZ') AS last_seen, fragment "
    "FROM statement ORDER BY entity_id, prop, id) TO %s (FORMAT csv, HEADER true, "
    "FORCE_QUOTE (id, entity_id, canonical_id, prop, prop_type, schema, value, original_value, "
    "dataset, origin, lang, fragment))";

/* One entity per line, aggregated in SQL. Not byte-identical to the lakehouse's lines (no
 * caption, no referents), but the same grouping, value sorting and JSON writing work. One
 * pass: (entity, prop) groups, then entity groups over those (a second aggregate over the
 * statements joined back in needs more than the 8 GB DuckDB is given, at 10 M statements). */
static const char ENTITIES_SQL[] =
    "COPY (\n"
    "  WITH p AS (\n"
    "    SELECT entity_id, prop, max(schema) AS schema, list_sort(list(value)) AS vals,\n"
    "           min(first_seen) AS first_seen, max(last_seen) AS last_seen,\n"
    "           list(DISTINCT dataset) AS datasets, list(DISTINCT origin) AS origins\n"
    "    FROM statement GROUP BY entity_id, prop\n"
    "  )\n"
    "  SELECT entity_id AS id, max(schema) AS schema,\n"
    "         map_from_entries(list_sort(list({'k': prop, 'v': vals})\n"
    "                                    FILTER (WHERE prop <> 'id'))) AS properties,\n"
    "         list_sort(list_distinct(flatten(list(datasets)))) AS datasets,\n"
    "         list_sort(list_distinct(flatten(list(origins)))) AS origin,\n"
    "         strftime(min(first_seen), '%%Y-%%m-%%dT%%H:%%M:%%S') AS first_seen,\n"
    "         strftime(max(last_seen), '%%Y-%%m-%%dT%%H:%%M:%%S') AS last_seen,\n"
    "         strftime(max(last_seen), '%%Y-%%m-%%dT%%H:%%M:%%S') AS last_change\n"
    "  FROM p GROUP BY entity_id ORDER BY entity_id\n"
    ") TO %s (FORMAT json)";

static const char SCHEMATA_SQL[] =
    "COPY (SELECT schema, count(DISTINCT entity_id) AS count FROM statement GROUP BY schema "
    "ORDER BY schema) TO %s (FORMAT json)";

static const char COUNTRIES_SQL[] =
    "COPY (SELECT value AS code, count(DISTINCT entity_id) AS count FROM statement "
    "WHERE prop_type = 'country' AND schema IN (%s) GROUP BY value ORDER BY value) "
    "TO %s (FORMAT json)";

static const char SUMMARY_SQL[] =
    "COPY (SELECT (SELECT count(DISTINCT entity_id) FROM statement) AS entity_count, "
    "min(value) AS start, max(value) AS \"end\" FROM statement WHERE prop_type = 'date') "
    "TO %s (FORMAT json)";

/* The quoted names of the schemata that are a `base`, comma-separated. */
static void schemata_of(const lh_model *model, const char *base, lh_buf *out) {
  const lh_schema *root = lh_model_schema(model, base);
  if (!root)
    die("no such schema in the model", NULL);
  for (size_t i = 0; i < lh_model_schema_count(model); i++) {
    const lh_schema *s = lh_model_schema_at(model, i);
    if (!lh_schema_is_a(s, root))
      continue;
    if (out->len)
      oom(lh_buf_putc(out, ','));
    quote(out, s->name);
  }
}

/* The quoted path dir/name, in q. */
static const char *path_in(lh_buf *q, const char *dir, const char *name) {
  lh_buf path = LH_BUF_INIT;
  oom(lh_buf_printf(&path, "%s/%s", dir, name));
  lh_buf_reset(q);
  quote(q, path.data);
  lh_buf_free(&path);
  return q->data;
}

static int cmd_baseline(const char *dataset_dir, const char *out) {
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  if (!model)
    die("model", &err);
  if (mkdir(out, 0777) && errno != EEXIST) {
    fprintf(stderr, "bench_make: %s: %s\n", out, strerror(errno));
    return 1;
  }
  duckdb_database db;
  duckdb_connection con;
  bench_duck_open(&db, &con);

  lh_buf sql = LH_BUF_INIT, glob = LH_BUF_INIT, qglob = LH_BUF_INIT, things = LH_BUF_INIT,
         intervals = LH_BUF_INIT;
  /* the partition directories only: _delta_log may hold checkpoint Parquet files */
  oom(lh_buf_printf(&glob, "%s/statements/shard=*/**/*.parquet", dataset_dir));
  quote(&qglob, glob.data);
  oom(lh_buf_printf(&sql, VIEW_SQL, qglob.data));
  duck_exec(con, sql.data, NULL);
  schemata_of(model, "Thing", &things);
  schemata_of(model, "Interval", &intervals);

  double statements_s = 0, entities_s = 0, statistics_s = 0;
  lh_buf q = LH_BUF_INIT;
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, STATEMENTS_SQL, path_in(&q, out, "statements.csv")));
  long long statements = timed_copy(con, sql.data, &statements_s);
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, ENTITIES_SQL, path_in(&q, out, "entities.ftm.json")));
  long long entities = timed_copy(con, sql.data, &entities_s);
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, SCHEMATA_SQL, path_in(&q, out, "statistics-schemata.json")));
  timed_copy(con, sql.data, &statistics_s);
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, COUNTRIES_SQL, things.data,
                    path_in(&q, out, "statistics-countries-things.json")));
  timed_copy(con, sql.data, &statistics_s);
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, COUNTRIES_SQL, intervals.data,
                    path_in(&q, out, "statistics-countries-intervals.json")));
  timed_copy(con, sql.data, &statistics_s);
  lh_buf_reset(&sql);
  oom(lh_buf_printf(&sql, SUMMARY_SQL, path_in(&q, out, "statistics-summary.json")));
  timed_copy(con, sql.data, &statistics_s);
  lh_buf_free(&q);

  printf("{\"statements\": %lld, \"entities\": %lld, \"statements_s\": %.3f, \"entities_s\": "
         "%.3f, \"statistics_s\": %.3f, \"total_s\": %.3f}\n",
         statements, entities, statements_s, entities_s, statistics_s,
         statements_s + entities_s + statistics_s);
  lh_buf_free(&sql);
  lh_buf_free(&glob);
  lh_buf_free(&qglob);
  lh_buf_free(&things);
  lh_buf_free(&intervals);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  if (argc == 4 && strcmp(argv[1], "baseline") == 0)
    return cmd_baseline(argv[2], argv[3]);
  fprintf(stderr, "usage: bench_make baseline DATASET_DIR OUT_DIR\n");
  return 2;
}
