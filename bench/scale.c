/* bench/scale: the DuckDB-SQL equivalents of the steps bench/scale.sh times on the lakehouse,
 * run over the Parquet files of a freshly optimized store (read_parquet of the partition
 * folders with hive_partitioning: after optimize and vacuum its files are exactly the live
 * ones; rows with deleted_at are skipped).
 *
 *   bench_scale read DATASET_DIR entities|statements|limit [SCHEMA]|lookup ID
 *       entities    one row per entity, aggregated in SQL (properties as sorted value lists),
 *                   ordered by id: what `entities iterate` returns
 *       statements  every statement ordered by (entity_id, prop, id): `statements iterate`
 *       limit [SCHEMA]  the statements of the first 100 entities of SCHEMA (Company) by id:
 *                   `entities iterate -q 'filter:schema=SCHEMA&limit=100'`
 *       lookup ID   the statements of one entity: `entities iterate -q filter:id=ID`
 *     The result is streamed (fetched chunk by chunk and counted, never materialised).
 *     Prints {"rows": N, "seconds": S}.
 *   bench_scale merge DATASET_DIR OUT_DIR
 *       `maintenance optimize` as one statement: the table rewritten with one row per
 *       statement id (the latest sighting), sorted by entity id, partitioned like the store,
 *       zstd. Prints {"rows": N, "seconds": S}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duckdb.h>

#define BENCH_NAME "bench_scale"
#include "bench.h"

static const char ENTITIES_SQL[] =
    "WITH p AS (SELECT entity_id, prop, max(schema) AS schema, list_sort(list(value)) AS vals "
    "FROM statement GROUP BY entity_id, prop) "
    "SELECT entity_id AS id, max(schema) AS schema, map_from_entries(list_sort(list({'k': prop, "
    "'v': vals}) FILTER (WHERE prop <> 'id'))) AS properties FROM p GROUP BY entity_id "
    "ORDER BY entity_id";

static const char STATEMENTS_SQL[] = "SELECT * FROM statement ORDER BY entity_id, prop, id";

/* the schema goes between the two halves, quoted */
static const char LIMIT_SQL_HEAD[] =
    "SELECT * FROM statement WHERE entity_id IN (SELECT entity_id FROM statement WHERE schema = ";
static const char LIMIT_SQL_TAIL[] =
    " GROUP BY entity_id ORDER BY entity_id LIMIT 100) ORDER BY entity_id, prop, id";

static const char MERGE_SQL[] =
    "COPY (SELECT * FROM statement_all QUALIFY row_number() OVER (PARTITION BY id ORDER BY "
    "last_seen DESC) = 1 ORDER BY entity_id, prop, id) TO %s (FORMAT parquet, PARTITION_BY "
    "(shard, bucket, origin), COMPRESSION zstd, RETURN_STATS false)";

static void open_view(const char *dataset_dir, const char *name, bool live, duckdb_database *db,
                      duckdb_connection *con) {
  bench_duck_open(db, con);
  lh_buf glob = LH_BUF_INIT, q = LH_BUF_INIT, sql = LH_BUF_INIT;
  /* the partition folders only: _delta_log may hold checkpoint Parquet files */
  oom(lh_buf_printf(&glob, "%s/statements/shard=*/**/*.parquet", dataset_dir));
  quote(&q, glob.data);
  oom(lh_buf_printf(&sql,
                    "CREATE VIEW %s AS SELECT * FROM read_parquet(%s, hive_partitioning = "
                    "true)%s",
                    name, q.data, live ? " WHERE deleted_at IS NULL" : ""));
  duck_exec(*con, sql.data, NULL);
  lh_buf_free(&glob);
  lh_buf_free(&q);
  lh_buf_free(&sql);
}

/* Stream the rows of sql, counting them. */
static long long stream_count(duckdb_connection con, const char *sql) {
  duckdb_prepared_statement prep;
  duckdb_pending_result pending;
  duckdb_result res;
  if (duckdb_prepare(con, sql, &prep) == DuckDBError)
    die(duckdb_prepare_error(prep), NULL);
  if (duckdb_pending_prepared_streaming(prep, &pending) == DuckDBError)
    die(duckdb_pending_error(pending), NULL);
  if (duckdb_execute_pending(pending, &res) == DuckDBError)
    die(duckdb_result_error(&res), NULL);
  duckdb_destroy_pending(&pending);
  duckdb_destroy_prepare(&prep);
  long long rows = 0;
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    if (!chunk)
      break;
    rows += (long long)duckdb_data_chunk_get_size(chunk);
    duckdb_destroy_data_chunk(&chunk);
  }
  if (duckdb_result_error(&res))
    die(duckdb_result_error(&res), NULL);
  duckdb_destroy_result(&res);
  return rows;
}

/* arg: the entity id of lookup, the schema of limit (NULL: Company) */
static int cmd_read(const char *dir, const char *what, const char *arg) {
  lh_buf sql = LH_BUF_INIT;
  if (strcmp(what, "entities") == 0) {
    oom(lh_buf_puts(&sql, ENTITIES_SQL));
  } else if (strcmp(what, "statements") == 0) {
    oom(lh_buf_puts(&sql, STATEMENTS_SQL));
  } else if (strcmp(what, "limit") == 0) {
    oom(lh_buf_puts(&sql, LIMIT_SQL_HEAD));
    quote(&sql, arg ? arg : "Company");
    oom(lh_buf_puts(&sql, LIMIT_SQL_TAIL));
  } else if (strcmp(what, "lookup") == 0 && arg) {
    oom(lh_buf_puts(&sql, "SELECT * FROM statement WHERE entity_id = "));
    quote(&sql, arg);
    oom(lh_buf_puts(&sql, " ORDER BY prop, id"));
  } else {
    fprintf(stderr, "bench_scale: read: unknown query '%s'\n", what);
    return 2;
  }
  double t0 = now_s();
  duckdb_database db;
  duckdb_connection con;
  open_view(dir, "statement", true, &db, &con);
  long long rows = stream_count(con, sql.data);
  printf("{\"rows\": %lld, \"seconds\": %.3f}\n", rows, now_s() - t0);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  lh_buf_free(&sql);
  return 0;
}

static int cmd_merge(const char *dir, const char *out) {
  double t0 = now_s();
  duckdb_database db;
  duckdb_connection con;
  open_view(dir, "statement_all", false, &db, &con);
  lh_buf sql = LH_BUF_INIT, q = LH_BUF_INIT;
  quote(&q, out);
  oom(lh_buf_printf(&sql, MERGE_SQL, q.data));
  duckdb_result r;
  duck_exec(con, sql.data, &r);
  long long rows = (long long)duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  printf("{\"rows\": %lld, \"seconds\": %.3f}\n", rows, now_s() - t0);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  lh_buf_free(&sql);
  lh_buf_free(&q);
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "read") == 0)
    return cmd_read(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
  if (argc == 4 && strcmp(argv[1], "merge") == 0)
    return cmd_merge(argv[2], argv[3]);
  fprintf(stderr, "usage: bench_scale read DATASET_DIR entities|statements\n"
                  "       bench_scale read DATASET_DIR limit [SCHEMA]\n"
                  "       bench_scale read DATASET_DIR lookup ID\n"
                  "       bench_scale merge DATASET_DIR OUT_DIR\n");
  return 2;
}
