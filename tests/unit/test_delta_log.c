/* storage/parquet/delta_log: replay of real Delta tables written by Spark, delta-rs and
 * Databricks (../shared/delta-fixtures, see its README for the expected values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/duck.h"
#include "storage/parquet/delta_log.h"
#include "testutil.h"

static lh__duck duck;

static int setup(void **state) {
  (void)state;
  lh_error err = {0};
  return lh__duck_open(&duck, NULL, &err);
}

static int teardown(void **state) {
  (void)state;
  lh__duck_close(&duck);
  return 0;
}

static lh_store *open_table(const char *name, bool dat) {
  char path[4096];
  snprintf(path, sizeof path, "%s/delta-fixtures/%s%s", tu_shared_dir(), name, dat ? "/delta" : "");
  lh_store *s;
  lh_error err = {0};
  assert_int_equal(lh_store_open(path, &s, &err), 0);
  return s;
}

/* Replay the table's log (checkpoints read through its files as DuckDB sees them). */
static int load(lh_store *t, lh__delta_snapshot *s, lh_error *err) {
  lh__table_io *io;
  int rc = lh__tio_open(t, &io, err);
  if (!rc)
    rc = lh__delta_load(t, io, &duck, s, err);
  lh__tio_close(io);
  return rc;
}

typedef struct count_ctx {
  long long n;
} count_ctx;

static int take_count(void *arg, size_t ncols, const char *const *names, const char *const *v,
                      lh_error *err) {
  (void)ncols;
  (void)names;
  (void)err;
  ((count_ctx *)arg)->n = atoll(v[0]);
  return 0;
}

static long long count_rows(lh_store *table, const lh__delta_snapshot *s) {
  if (s->nfiles == 0)
    return 0;
  char *root = lh_store_local_path(table, NULL);
  lh_buf sql = LH_BUF_INIT;
  lh_buf_puts(&sql, "SELECT count(*) FROM read_parquet([");
  for (size_t i = 0; i < s->nfiles; i++) {
    lh_buf path = LH_BUF_INIT;
    lh_buf_printf(&path, "%s/%s", root, s->files[i].file);
    if (i)
      lh_buf_putc(&sql, ',');
    lh__sql_quote(&sql, path.data);
    lh_buf_free(&path);
  }
  lh_buf_puts(&sql, "], union_by_name = true)");
  count_ctx c = {-1};
  lh_error err = {0};
  if (lh__duck_each_row(&duck, sql.data, take_count, &c, &err)) {
    print_error("%s\n", err.message);
    fail();
  }
  lh_buf_free(&sql);
  free(root);
  return c.n;
}

static long long expected_dat_rows(const char *name) {
  char sql[4200];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM read_parquet('%s/delta-fixtures/%s/expected/latest/table_content/"
           "*.parquet')",
           tu_shared_dir(), name);
  count_ctx c = {-1};
  lh_error err = {0};
  assert_int_equal(lh__duck_each_row(&duck, sql, take_count, &c, &err), 0);
  return c.n;
}

static void test_readable_tables(void **state) {
  (void)state;
  const struct {
    const char *name;
    bool dat;
    long long version, rows;
    int checkpoint; /* -1: replayed from JSON only */
  } tables[] = {
      {"basic_append", true, 1, 5, -1},
      {"basic_partitioned", true, 1, 6, -1},
      {"multi_partitioned", true, 2, 2, -1},
      {"multi_partitioned_2", true, 0, 3, -1},
      {"all_primitive_types", true, 0, 5, -1},
      {"nested_types", true, 0, 5, -1},
      {"with_checkpoint", true, 3, 5, 2},
      {"no_replay", true, 3, 5, 2},
      {"no_stats", true, 3, 5, 2},
      {"stats_as_struct", true, 3, 5, 2},
      {"with_schema_change", true, 1, 3, -1},
      {"simple_table", false, 4, 3, -1},
      {"simple_table_with_checkpoint", false, 10, 11, 10},
      {"delta-0.8.0-null-partition", false, 0, 2, -1},
      {"delta-0.8.0-special-partition", false, 0, 2, -1},
      {"table_with_edge_timestamps", false, 0, 2, -1},
      {"app-txn-checkpoint", false, 1, 22, 1},
      {"data-reader-partition-values", false, 0, 3, -1},
      {"data-reader-escaped-chars", false, 2, 3, -1},
      {"multi-part-checkpoint", false, 1, 31, 1},
      {"basic-with-inserts-deletes-checkpoint", false, 13, 41, 10},
      {"kernel-timestamp-INT96", false, 0, 5, -1},
      {"kernel-timestamp-TIMESTAMP_MICROS", false, 0, 5, -1},
      {"table-without-dv-small", false, 0, 10, -1},
  };
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    lh_store *t = open_table(tables[i].name, tables[i].dat);
    lh__delta_snapshot s;
    lh__delta_snapshot_init(&s);
    lh_error err = {0};
    if (load(t, &s, &err) || lh__delta_check_read(&s, &err)) {
      print_error("%s: %s\n", tables[i].name, err.message);
      fail();
    }
    if (s.version != tables[i].version || s.checkpoint != tables[i].checkpoint) {
      print_error("%s: version %lld checkpoint %lld\n", tables[i].name, (long long)s.version,
                  (long long)s.checkpoint);
      fail();
    }
    long long rows = count_rows(t, &s);
    if (rows != tables[i].rows) {
      print_error("%s: %lld rows, want %lld\n", tables[i].name, rows, tables[i].rows);
      fail();
    }
    if (tables[i].dat)
      assert_int_equal(rows, expected_dat_rows(tables[i].name));
    assert_int_equal(lh__delta_check_write(&s, &err), 0);
    lh__delta_snapshot_free(&s);
    lh_store_close(t);
  }
}

static bool has_value(const lh__delta_snapshot *s, const char *col, const char *value) {
  for (size_t i = 0; i < s->nfiles; i++) {
    const char *v = lh__delta_file_value(s, &s->files[i], col);
    if (value ? v && strcmp(v, value) == 0 : v == NULL)
      return true;
  }
  return false;
}

static void test_partition_values_and_paths(void **state) {
  (void)state;
  lh_error err = {0};
  lh__delta_snapshot s;
  lh__delta_snapshot_init(&s);
  lh_store *t = open_table("multi_partitioned", true);
  assert_int_equal(load(t, &s, &err), 0);
  assert_int_equal(s.npartitions, 3);
  assert_true(has_value(&s, "letter", "/%20%f"));
  assert_true(has_value(&s, "letter", "b"));
  /* add.path is decoded exactly once: the folder on disk is letter=%2F%2520%25f */
  bool found = false;
  for (size_t i = 0; i < s.nfiles; i++)
    found |= strncmp(s.files[i].file, "letter=%2F%2520%25f/", 20) == 0;
  assert_true(found);
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  t = open_table("delta-0.8.0-special-partition", false);
  assert_int_equal(load(t, &s, &err), 0);
  assert_true(has_value(&s, "x", "A/A"));
  assert_true(has_value(&s, "x", "B B"));
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  t = open_table("basic_partitioned", true);
  assert_int_equal(load(t, &s, &err), 0);
  assert_true(has_value(&s, "letter", NULL)); /* the null partition */
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  t = open_table("data-reader-escaped-chars", false);
  assert_int_equal(load(t, &s, &err), 0);
  assert_true(has_value(&s, "_2", "bar+%21"));
  assert_true(has_value(&s, "_2", "bar+%23"));
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  t = open_table("app-txn-checkpoint", false);
  assert_int_equal(load(t, &s, &err), 0);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(s.txns, "my-app"), "version")), 3);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(s.txns, "my-app2"), "version")), 2);
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  /* stats survive replay: basic_append adds carry numRecords */
  t = open_table("basic_append", true);
  assert_int_equal(load(t, &s, &err), 0);
  assert_non_null(s.files[0].stats);
  assert_non_null(strstr(s.files[0].stats, "numRecords"));
  lh__delta_snapshot_free(&s);
  lh_store_close(t);

  /* encode / decode of add.path */
  char *e = lh__delta_path_encode("shard=0/bucket=thing/origin=a%20b/part-1.parquet");
  assert_string_equal(e, "shard=0/bucket=thing/origin=a%2520b/part-1.parquet");
  char *d = lh__delta_path_decode(e);
  assert_string_equal(d, "shard=0/bucket=thing/origin=a%20b/part-1.parquet");
  free(e);
  free(d);
  assert_null(lh__delta_path_decode("bad%zz"));
  assert_null(lh__delta_path_decode("bad%2"));
}

static void test_refused_tables(void **state) {
  (void)state;
  const struct {
    const char *name;
    const char *msg;
  } tables[] = {
      {"table_with_column_mapping", "reader version 2 (column mapping)"},
      {"table-with-dv-small", "deletionVectors"},
      {"data-reader-timestamp_ntz", "timestampNtz"},
      {"checkpoint-v2-table", "v2Checkpoint"},
      {"simple_table_features", "reader version 5"},
      {"deltalog-invalid-protocol-version", "reader version 99"},
  };
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    lh_store *t = open_table(tables[i].name, false);
    lh__delta_snapshot s;
    lh__delta_snapshot_init(&s);
    lh_error err = {0};
    int rc = load(t, &s, &err);
    if (rc == 0)
      rc = lh__delta_check_read(&s, &err);
    if (rc != LH_EUNSUPPORTED || !strstr(err.message, tables[i].msg)) {
      print_error("%s: rc %d '%s'\n", tables[i].name, rc, err.message);
      fail();
    }
    lh__delta_snapshot_free(&s);
    lh_store_close(t);
  }
}

/* A new table of one string column in a temporary folder. */
typedef struct scratch {
  char *dir;
  lh_store *t;
  lh__table_io *io;
} scratch;

static void scratch_open(scratch *x) {
  lh_error err = {0};
  x->dir = tu_tempdir();
  assert_int_equal(lh_store_open(x->dir, &x->t, &err), 0);
  assert_int_equal(lh__tio_open(x->t, &x->io, &err), 0);
  assert_int_equal(lh__delta_create(x->t,
                                    "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":"
                                    "\"string\",\"nullable\":true,\"metadata\":{}}]}",
                                    NULL, 0, NULL, &err),
                   0);
}

static void scratch_close(scratch *x) {
  lh__tio_close(x->io);
  lh_store_close(x->t);
  tu_rmtree(x->dir);
  free(x->dir);
}

/* A commit adding the paths of add and removing those of remove (NULL-terminated lists);
 * its version. */
static int64_t commit(lh_store *t, lh__table_io *io, lh__delta_snapshot *s, const char *const *add,
                      const char *const *remove) {
  lh__delta_actions a;
  lh__delta_actions_init(&a);
  for (; add && *add; add++)
    assert_int_equal(lh__delta_actions_add(&a, *add, NULL, NULL, 0, 10, 1000, true, NULL), 0);
  for (; remove && *remove; remove++) {
    uint32_t i;
    assert_true(lh__strmap_get(&s->by_path, *remove, &i));
    assert_int_equal(lh__delta_actions_remove(&a, s, &s->files[i], lh_time_now() / 1000, true), 0);
  }
  lh_error err = {0};
  int64_t v = -1;
  assert_int_equal(lh__delta_commit(t, io, &duck, s, &a, "WRITE", &v, &err), 0);
  lh__delta_actions_free(&a);
  return v;
}

static json_int_t removed_in(const lh__delta_snapshot *s, const char *path) {
  json_t *v = json_object_get(s->removed_in, path);
  return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* A read leaves a checkpoint's tombstones where they are; vacuum and the checkpoint writer
 * load them under the commits replayed since (a path re-added after the checkpoint is live,
 * not a tombstone), and a checkpoint written from such a snapshot keeps them. */
static void test_deferred_tombstones(void **state) {
  (void)state;
  scratch x;
  scratch_open(&x);
  lh_store *t = x.t;
  lh__table_io *io = x.io;
  lh_error err = {0};
  lh__delta_snapshot s, r;
  lh__delta_snapshot_init(&s);
  assert_int_equal(load(t, &s, &err), 0);
  commit(t, io, &s, (const char *[]){"a.parquet", "b.parquet", "c.parquet", NULL}, NULL);
  int64_t v2 = commit(t, io, &s, NULL, (const char *[]){"a.parquet", "b.parquet", NULL});
  assert_int_equal(lh__delta_write_checkpoint(t, io, &duck, &s, &err), 0);
  commit(t, io, &s, (const char *[]){"b.parquet", NULL}, NULL); /* b is back */

  lh__delta_snapshot_init(&r);
  assert_int_equal(load(t, &r, &err), 0);
  assert_int_equal(r.checkpoint, v2);
  assert_int_equal(r.nfiles, 2);                        /* b, c */
  assert_null(json_object_get(r.removes, "a.parquet")); /* not read yet */
  assert_non_null(r.cp_removes);
  assert_int_equal(lh__delta_load_removes(&duck, &r, &err), 0);
  assert_int_equal(removed_in(&r, "a.parquet"), v2);
  assert_null(json_object_get(r.removes, "b.parquet")); /* live again */
  assert_null(r.cp_removes);
  assert_int_equal(lh__delta_load_removes(&duck, &r, &err), 0); /* once */
  lh__delta_snapshot_free(&r);

  /* a checkpoint written from a snapshot whose tombstones were not read carries them */
  lh__delta_snapshot_init(&r);
  assert_int_equal(load(t, &r, &err), 0);
  assert_non_null(r.cp_removes);
  assert_int_equal(lh__delta_write_checkpoint(t, io, &duck, &r, &err), 0);
  lh__delta_snapshot_free(&r);
  lh__delta_snapshot_init(&r);
  assert_int_equal(load(t, &r, &err), 0);
  assert_int_equal(r.checkpoint, r.version);
  assert_int_equal(lh__delta_load_removes(&duck, &r, &err), 0);
  assert_int_equal(removed_in(&r, "a.parquet"), r.checkpoint);
  assert_null(json_object_get(r.removes, "b.parquet"));
  assert_int_equal(r.nfiles, 2);
  lh__delta_snapshot_free(&r);

  /* the checkpoint gone between the read and the load of its tombstones: an error naming it */
  lh__delta_snapshot_init(&r);
  assert_int_equal(load(t, &r, &err), 0);
  char cp[4200];
  snprintf(cp, sizeof cp, "%s/_delta_log/%020lld.checkpoint.parquet", x.dir,
           (long long)r.checkpoint);
  assert_int_equal(unlink(cp), 0);
  assert_true(lh__delta_load_removes(&duck, &r, &err) != 0);
  assert_non_null(strstr(err.message, ".checkpoint.parquet"));
  assert_non_null(r.cp_removes); /* still to be read */

  lh__delta_snapshot_free(&r);
  lh__delta_snapshot_free(&s);
  scratch_close(&x);
}

/* A checkpoint whose adds carry a deletion vector: refused, naming the file; the JSON
 * commits are replayed instead when they are all there, and the load fails when not. */
static void test_checkpoint_deletion_vector(void **state) {
  (void)state;
  scratch x;
  scratch_open(&x);
  lh_store *t = x.t;
  lh__table_io *io = x.io;
  const char *dir = x.dir;
  lh_error err = {0};
  lh__delta_snapshot s;
  lh__delta_snapshot_init(&s);
  assert_int_equal(load(t, &s, &err), 0);
  commit(t, io, &s, (const char *[]){"a.parquet", "b.parquet", NULL}, NULL);
  assert_int_equal(lh__delta_write_checkpoint(t, io, &duck, &s, &err), 0);
  lh__delta_snapshot_free(&s);

  char cp[4200], sql[9000];
  snprintf(cp, sizeof cp, "%s/_delta_log/%020d.checkpoint.parquet", dir, 1);
  snprintf(sql, sizeof sql,
           "COPY (SELECT * REPLACE (CASE WHEN add IS NULL THEN NULL ELSE struct_insert(add, "
           "deletionVector := {'storageType': 'u', 'pathOrInlineDv': 'ab^-aqEH.-t@S}K{vb[*k^', "
           "'offset': 1, 'sizeInBytes': 36, 'cardinality': 2}) END AS add) FROM "
           "read_parquet('%s')) TO '%s.dv' (FORMAT parquet)",
           cp, cp);
  assert_int_equal(lh__duck_exec(&duck, sql, &err), 0);
  char dv[4300];
  snprintf(dv, sizeof dv, "%s.dv", cp);
  assert_int_equal(rename(dv, cp), 0);

  lh__delta_snapshot_init(&s);
  assert_int_equal(load(t, &s, &err), 0); /* from the JSON commits */
  assert_int_equal(s.checkpoint, -1);
  assert_int_equal(s.nfiles, 2);
  lh__delta_snapshot_free(&s);

  char first[4200];
  snprintf(first, sizeof first, "%s/_delta_log/%020d.json", dir, 0);
  assert_int_equal(unlink(first), 0);
  lh__delta_snapshot_init(&s);
  assert_int_equal(load(t, &s, &err), LH_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "deletion vector"));
  assert_non_null(strstr(err.message, "a.parquet"));
  assert_non_null(strstr(err.message, "checkpoint"));
  lh__delta_snapshot_free(&s);

  scratch_close(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_readable_tables),
      cmocka_unit_test(test_partition_values_and_paths),
      cmocka_unit_test(test_refused_tables),
      cmocka_unit_test(test_deferred_tombstones),
      cmocka_unit_test(test_checkpoint_deletion_vector),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
