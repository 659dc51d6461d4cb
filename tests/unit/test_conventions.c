/* Layout, tag keys and shards (inventory §5.1, §5.2). */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define C64 "bbb1f0477a0b4c4c3f2f5ec4acd9e13c45a4dc7d1cf9ef6f8ea6e65a2e04c5b7"

static void check(char *got, const char *want) {
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void test_paths(void **state) {
  (void)state;
  check(lh_path_tag(NULL, "journal/last_updated"), "tags/lakehouse/journal/last_updated");
  check(lh_path_tag("other", "x"), "tags/other/x");
  check(lh_path_archive_prefix(C64, NULL), "archive/bb/b1/f0/" C64);
  check(lh_path_archive_blob(C64, NULL), "archive/bb/b1/f0/" C64 "/blob");
  check(lh_path_archive_meta(C64, "file-1", NULL), "archive/bb/b1/f0/" C64 "/file-1.json");
  check(lh_path_archive_txt(C64, "default", NULL), "archive/bb/b1/f0/" C64 "/default.txt");
  lh_error err = {0};
  assert_null(lh_path_archive_meta(C64, "../evil", &err));
  assert_non_null(strstr(err.message, "file_id"));
  assert_null(lh_path_archive_txt(C64, "a/b", &err));
  check(lh_path_entities_json(NULL), "entities.ftm.json");
  check(lh_path_entities_json("zst"), "entities.ftm.json.zst");
  check(lh_path_exports_statements("gz"), "exports/statements.csv.gz");
  check(lh_path_exports_statements(NULL), "exports/statements.csv");
  lh_time t;
  assert_int_equal(lh_time_parse_ts("20240116T103000000000Z", &t, NULL), 0);
  check(lh_path_documents_diff(t), "diffs/exports/documents.csv/20240116T103000000000Z.diff.csv");
  check(lh_path_entities_diff(t, "gz"),
        "diffs/entities.ftm.json/20240116T103000000000Z.delta.json.gz");
  check(lh_path_entities_diff(t, NULL),
        "diffs/entities.ftm.json/20240116T103000000000Z.delta.json");
  check(lh_path_version("config.yml", "20260822T101500123456Z"),
        "versions/2026/08/20260822T101500123456Z/config.yml");
  check(lh_path_job_prefix("MakeJob"), "jobs/runs/MakeJob");
  check(lh_path_job_run("SampleJob", "run-123"), "jobs/runs/SampleJob/run-123.json");
  check(lh_path_lock_append("abc"), ".LOCK-APPENDS/abc");
  check(lh_tag_partition_updated("4", "thing", "crawl", NULL),
        "statements/4/thing/crawl/last_updated");
  check(lh_tag_partition_optimized("0", "interval", "bulk", NULL),
        "statements/0/interval/bulk/last_optimized");
  assert_null(lh_tag_partition_updated("0", "thing", "../x", &err));

  /* generated names follow their formats */
  regex_t re;
  assert_int_equal(regcomp(&re, "^versions/[0-9]{4}/[0-9]{2}/[0-9]{8}T[0-9]{12}Z/index.json$",
                           REG_EXTENDED | REG_NOSUB),
                   0);
  char *v = lh_path_version("index.json", NULL);
  assert_int_equal(regexec(&re, v, 0, NULL, 0), 0);
  free(v);
  regfree(&re);
  assert_int_equal(
      regcomp(&re, "^jobs/runs/MakeJob/[0-9a-f-]{36}\\.json$", REG_EXTENDED | REG_NOSUB), 0);
  v = lh_path_job_run("MakeJob", NULL);
  assert_int_equal(regexec(&re, v, 0, NULL, 0), 0);
  free(v);
  regfree(&re);
}

static void shard_is(const char *id, int n, const char *want) {
  char out[LH_SHARD_SIZE];
  lh_entity_shard(id, strlen(id), n, out);
  assert_string_equal(out, want);
}

static void test_shards(void **state) {
  (void)state;
  shard_is("jane", 8, "4");
  shard_is("jane", 16, "4");
  shard_is("bob", 16, "d");
  shard_is("jane", 0, "0");
  shard_is("jane", 1, "0");
  assert_int_equal(lh_shard_hex_width(0), 1);
  assert_int_equal(lh_shard_hex_width(1), 1);
  assert_int_equal(lh_shard_hex_width(8), 1);
  assert_int_equal(lh_shard_hex_width(16), 1);
  assert_int_equal(lh_shard_hex_width(17), 2);
  assert_int_equal(lh_shard_hex_width(32), 2);
  assert_int_equal(lh_shard_hex_width(256), 2);
  assert_int_equal(lh_shard_hex_width(257), 3);
  assert_int_equal(lh_shard_hex_width(4096), 3);
  /* width pads: every shard label at 32 shards has two digits */
  char out[LH_SHARD_SIZE];
  lh_entity_shard("jane", 4, 32, out);
  assert_int_equal(strlen(out), 2);
  /* the rule itself: first 4 digest bytes as a big-endian integer, mod n */
  unsigned char d[20];
  lh_sha1("jane", 4, d);
  unsigned v = (unsigned)d[0] << 24 | (unsigned)d[1] << 16 | (unsigned)d[2] << 8 | d[3];
  char want[LH_SHARD_SIZE];
  snprintf(want, sizeof want, "%03x", v % 4096);
  shard_is("jane", 4096, want);
  lh_entity_shard_digest(d, 16, out);
  assert_string_equal(out, "4");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_paths),
      cmocka_unit_test(test_shards),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
