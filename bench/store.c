/* bench/store: the statement store's append and merge on >= 10 M rows, against DuckDB's own
 * partitioned COPY of the same rows. One phase per process, so that /usr/bin/time -v gives
 * each its own peak RSS (bench/run.sh drives the phases and takes the medians):
 *
 *   bench_store append DIR [--rows N]   append N statement rows (default 10 000 000) in one
 *                                       lh_statement_store_append into the dataset DIR
 *   bench_store merge DIR               merge every partition of DIR (--force)
 *   bench_store baseline DIR OUT [--level N]
 *                                       load the rows DIR holds into an in-memory DuckDB
 *                                       table (untimed), then time COPY of that table to OUT
 *                                       (FORMAT parquet, COMPRESSION zstd, PARTITION_BY
 *                                       (shard, bucket, origin)), at DuckDB's default zstd
 *                                       level or level N (appends write level 1)
 *
 * Rows: every statement of ../shared/data (exploded once, ~69 k rows), replicated with
 * rewritten entity and statement ids until N rows; every 20th replica repeats replica 0 (same
 * ids, newer last_seen), so a merge has duplicates to collapse. Rows are generated while the
 * append pulls them, so the input never sits in memory as a whole.
 * Each phase prints one JSON object on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <duckdb.h>

#include "lakehouse/lakehouse.h"
#include "storage/parquet/statement_store.h"

#define BENCH_NAME "bench_store"
#include "bench.h"

/* ---- the base rows -------------------------------------------------------------------------- */

typedef struct base {
  lh_row *rows;
  size_t n, cap;
  lh_buf strings; /* every string, NUL-terminated; rows hold offsets until fixed up */
} base;

static size_t keep(base *b, const char *s, size_t n) {
  size_t off = b->strings.len;
  lh_buf_append(&b->strings, s, n);
  lh_buf_putc(&b->strings, '\0');
  return off;
}

#define OFF(x) ((const char *)(uintptr_t)(x))

static int add_base(const lh_statement *st, void *arg) {
  base *b = arg;
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 65536;
    b->rows = realloc(b->rows, b->cap * sizeof *b->rows);
    if (!b->rows)
      die("out of memory", NULL);
  }
  lh_row *r = &b->rows[b->n++];
  lh_row_from_statement(st, 0, r);
  /* offsets + 1 (0 stays NULL), patched into pointers once the buffer stops moving */
#define K(field, len) r->field = r->field ? OFF(keep(b, r->field, len) + 1) : NULL
  K(id, 40);
  K(entity_id, strlen(st->entity_id));
  K(dataset, strlen(r->dataset));
  K(origin, strlen(r->origin));
  K(schema, strlen(r->schema));
  K(prop, strlen(r->prop));
  K(prop_type, strlen(r->prop_type));
  K(value, st->value_len);
  K(original_value, strlen(r->original_value));
  K(lang, strlen(r->lang));
  K(fragment, strlen(r->fragment));
#undef K
  return 0;
}

static void load_base(base *b) {
  const char *shared = getenv("LH_SHARED_DIR") ? getenv("LH_SHARED_DIR") : "../shared";
  const char *files[] = {
      "data/wd_persons/entities.ftm.json", "data/yente-fixtures/zala/entities.ftm.json",
      "data/yente-fixtures/entities.delta.json", "data/nomenklatura-fixtures/donations.ijson",
      "data/aleph-fixtures/samples.ijson"};
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  if (!model)
    die("model", &err);
  lh_entity *e = NULL;
  lh_entity_new(model, &e, NULL);
  lh_explode_opts o = {.dataset = "bench",
                       .origin = "bulk",
                       .override_origin = true,
                       .last_seen = LH_TIME_NULL,
                       .now = lh_time_now()};
  lh_exploder *x = NULL;
  lh_exploder_new(&o, &x, &err);
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", shared, files[f]);
    FILE *in = fopen(path, "r");
    if (!in)
      die(path, NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
      lh_delta_op op;
      if (lh_entity_parse_json(e, line, (size_t)len, 0, &op, &err))
        die(path, &err);
      if (op != LH_DELTA_DEL && lh_exploder_run(x, e, add_base, b, &err) < 0)
        die(path, &err);
    }
    free(line);
    fclose(in);
  }
  for (size_t i = 0; i < b->n; i++) {
    lh_row *r = &b->rows[i];
#define P(field)                                                                                   \
  if (r->field)                                                                                    \
  r->field = b->strings.data + ((uintptr_t)r->field - 1)
    P(id);
    P(entity_id);
    P(dataset);
    P(origin);
    P(schema);
    P(prop);
    P(prop_type);
    P(value);
    P(original_value);
    P(lang);
    P(fragment);
#undef P
  }
  lh_exploder_free(x);
  lh_entity_free(e);
}

/* ---- the replicated row source ------------------------------------------------------------ */

#define CHUNK 65536

typedef struct source {
  const base *b;
  uint64_t total, served;
  lh_row rows[CHUNK];
  char (*ids)[41];
  char *names; /* entity ids of the chunk, 160 bytes each */
  uint64_t replica;
  char hex[17], prefix[32];
  size_t plen;
} source;

static int next_rows(void *ctx, const lh_row **out, size_t *n, lh_error *err) {
  (void)err;
  source *s = ctx;
  size_t take = 0;
  while (take < CHUNK && s->served < s->total) {
    uint64_t k = s->served / s->b->n, i = s->served % s->b->n;
    uint64_t replica = k % 20 == 19 ? 0 : k; /* every 20th replica repeats replica 0 */
    lh_row *r = &s->rows[take];
    *r = s->b->rows[i];
    /* ids: replica number in the first 8 hex digits; entity ids prefixed "r{replica}-" */
    if (replica != s->replica) {
      s->replica = replica;
      snprintf(s->hex, sizeof s->hex, "%08llx", (unsigned long long)replica);
      s->plen =
          (size_t)snprintf(s->prefix, sizeof s->prefix, "r%llu-", (unsigned long long)replica);
    }
    memcpy(s->ids[take], s->hex, 8);
    memcpy(s->ids[take] + 8, r->id + 8, 33);
    r->id = s->ids[take];
    char *name = s->names + take * 160;
    size_t el = strlen(r->entity_id);
    if (el > 160 - 1 - s->plen)
      el = 160 - 1 - s->plen;
    memcpy(name, s->prefix, s->plen);
    memcpy(name + s->plen, r->entity_id, el);
    name[s->plen + el] = '\0';
    r->entity_id = name;
    if (replica != k)
      r->last_seen += (lh_time)k * 1000000;
    take++;
    s->served++;
  }
  *out = s->rows;
  *n = take;
  return 0;
}

static source *source_new(const base *b, uint64_t rows) {
  source *s = calloc(1, sizeof *s);
  if (!s || !(s->ids = malloc(CHUNK * sizeof *s->ids)) || !(s->names = malloc((size_t)CHUNK * 160)))
    die("out of memory", NULL);
  s->b = b;
  s->total = rows;
  s->replica = UINT64_MAX;
  return s;
}

static void source_free(source *s) {
  free(s->ids);
  free(s->names);
  free(s);
}

typedef struct opened {
  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st;
} opened;

static void open_dataset(const char *dir, opened *o) {
  lh_error err = {0};
  if (lh_store_open(dir, &o->ds, &err) || lh_settings_load(&o->settings, &err) ||
      lh_statement_store_open(o->ds, "bench", 0, &o->settings, &o->st, &err))
    die("open", &err);
}

static void close_dataset(opened *o) {
  lh_statement_store_close(o->st);
  lh_settings_free(&o->settings);
  lh_store_close(o->ds);
}

static int cmd_append(const char *dir, uint64_t rows) {
  base b = {0};
  load_base(&b);
  source *s = source_new(&b, rows);
  opened o;
  open_dataset(dir, &o);
  lh_error err = {0};
  lh_append_result res;
  double t0 = now_s();
  if (lh_statement_store_append(o.st, next_rows, s, &res, &err))
    die("append", &err);
  double t = now_s() - t0;
  printf("{\"phase\": \"append\", \"rows\": %llu, \"files\": %llu, \"seconds\": %.3f, "
         "\"rows_per_s\": %.0f}\n",
         (unsigned long long)res.rows, (unsigned long long)res.files, t, (double)res.rows / t);
  close_dataset(&o);
  source_free(s);
  free(b.rows);
  lh_buf_free(&b.strings);
  return 0;
}

/* The row source alone: what generating the rows costs inside the append's figure. */
static int cmd_generate(uint64_t rows) {
  base b = {0};
  load_base(&b);
  source *s = source_new(&b, rows);
  double t0 = now_s();
  uint64_t n = 0, x = 0;
  for (;;) {
    const lh_row *out;
    size_t k;
    next_rows(s, &out, &k, NULL);
    if (!k)
      break;
    n += k;
    x += (unsigned char)out[k - 1].id[0];
  }
  double t = now_s() - t0;
  printf("{\"phase\": \"generate\", \"rows\": %llu, \"seconds\": %.3f, \"rows_per_s\": %.0f, "
         "\"x\": %llu}\n",
         (unsigned long long)n, t, (double)n / t, (unsigned long long)x);
  source_free(s);
  free(b.rows);
  lh_buf_free(&b.strings);
  return 0;
}

static int cmd_merge(const char *dir) {
  opened o;
  open_dataset(dir, &o);
  lh_error err = {0};
  lh_merge_opts mo = {true, LH_TIME_NULL, 0, LH_MERGE_ENGINE_C};
  lh_merge_result mr;
  double t0 = now_s();
  if (lh_statement_store_merge(o.st, &mo, &mr, &err))
    die("merge", &err);
  double t = now_s() - t0;
  printf("{\"phase\": \"merge\", \"rows_before\": %llu, \"rows_after\": %llu, \"partitions\": "
         "%zu, \"slices\": %zu, \"seconds\": %.3f, \"rows_per_s\": %.0f}\n",
         (unsigned long long)mr.rows_before, (unsigned long long)mr.rows_after, mr.partitions,
         mr.slices, t, (double)mr.rows_before / t);
  close_dataset(&o);
  return 0;
}

static int cmd_baseline(const char *dir, const char *out, int level) {
  duckdb_database db;
  duckdb_connection con;
  if (duckdb_open(NULL, &db) == DuckDBError || duckdb_connect(db, &con) == DuckDBError)
    die("cannot open DuckDB", NULL);
  char sql[8800];
  /* the same 18 columns, read back from what the append wrote (untimed) */
  snprintf(sql, sizeof sql,
           "CREATE TABLE t AS SELECT shard, id, entity_id, dataset, bucket, origin, source, "
           "schema, prop, prop_type, value, original_value, lang, external, first_seen, "
           "last_seen, fragment, deleted_at FROM read_parquet('%s/statements/*/*/*/*.parquet', "
           "hive_partitioning = true)",
           dir);
  duck_exec(con, sql, NULL);
  char opt[64] = "";
  if (level > 0)
    snprintf(opt, sizeof opt, ", COMPRESSION_LEVEL %d", level);
  snprintf(sql, sizeof sql,
           "COPY t TO '%s' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (shard, bucket, "
           "origin), FILENAME_PATTERN 'part-{uuid}'%s)",
           out, opt);
  double t0 = now_s();
  duck_exec(con, sql, NULL);
  double t = now_s() - t0;
  duckdb_result r;
  duckdb_query(con, "SELECT count(*) FROM t", &r);
  long long rows = (long long)duckdb_value_int64(&r, 0, 0);
  duckdb_destroy_result(&r);
  printf("{\"phase\": \"baseline\", \"zstd_level\": %d, \"rows\": %lld, \"seconds\": %.3f, "
         "\"rows_per_s\": %.0f}\n",
         level > 0 ? level : 3, rows, t, (double)rows / t);
  duckdb_disconnect(&con);
  duckdb_close(&db);
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  if (argc < 3) {
    fprintf(stderr, "usage: bench_store append|merge|baseline DIR [OUT] [--rows N]\n");
    return 2;
  }
  uint64_t rows = 10000000;
  int level = 0;
  for (int i = 3; i < argc; i++) {
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
      rows = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--level") == 0 && i + 1 < argc)
      level = atoi(argv[++i]);
  }
  if (strcmp(argv[1], "append") == 0)
    return cmd_append(argv[2], rows);
  if (strcmp(argv[1], "merge") == 0)
    return cmd_merge(argv[2]);
  if (strcmp(argv[1], "generate") == 0)
    return cmd_generate(rows);
  if (strcmp(argv[1], "baseline") == 0 && argc >= 4)
    return cmd_baseline(argv[2], argv[3], level);
  fprintf(stderr, "bench_store: unknown phase '%s'\n", argv[1]);
  return 2;
}
