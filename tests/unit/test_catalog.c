/* The catalog: datasets of a lake root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "testutil.h"

static void put(const char *dir, const char *rel, const char *text) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdir(path, 0755);
  *slash = '/';
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_catalog(void **state) {
  (void)state;
  char *dir = tu_tempdir();
  lh_catalog *c;
  lh_error err = {0};
  assert_int_equal(lh_catalog_open(dir, &c, &err), 0);
  char want[4200];
  snprintf(want, sizeof want, "file://%s", dir);
  assert_string_equal(lh_catalog_uri(c), want);
  assert_non_null(lh_catalog_store(c));
  char **names;
  size_t n;
  assert_int_equal(lh_catalog_list(c, &names, &n, &err), 0);
  assert_int_equal(n, 0);
  lh_strv_free(names, n);
  put(dir, "beta/config.yml", "title: Beta\nshards: 8\n");
  put(dir, "alpha/config.yml", "");
  put(dir, "no_config/x.txt", "x");
  put(dir, "Not_Valid/config.yml", "name: x\n");
  put(dir, "journal.db", "");
  assert_int_equal(lh_catalog_list(c, &names, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "alpha");
  assert_string_equal(names[1], "beta");
  lh_strv_free(names, n);
  char *uri = lh_catalog_dataset_uri(c, "beta", &err);
  snprintf(want, sizeof want, "file://%s/beta", dir);
  assert_string_equal(uri, want);
  free(uri);
  assert_null(lh_catalog_dataset_uri(c, "../etc", &err));
  assert_null(lh_catalog_dataset_uri(c, "default", &err));
  assert_non_null(strstr(err.message, "reserved"));
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_catalog_dataset_json(c, "beta", &out, &err), 0);
  json_t *j = json_loads(out.data, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "beta");
  assert_string_equal(json_string_value(json_object_get(j, "title")), "Beta");
  assert_int_equal(json_integer_value(json_object_get(j, "shards")), 8);
  assert_string_equal(json_string_value(json_object_get(j, "uri")), want);
  json_decref(j);
  lh_buf_reset(&out);
  assert_int_equal(lh_catalog_dataset_json(c, "alpha", &out, &err), 0); /* empty config */
  assert_non_null(strstr(out.data, "\"title\":\"alpha\""));
  lh_buf_reset(&out);
  assert_int_equal(lh_catalog_dataset_json(c, "gamma", &out, &err), LH_ENOTFOUND);
  put(dir, "gamma/config.yml", "- a list\n");
  assert_int_equal(lh_catalog_dataset_json(c, "gamma", &out, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "gamma/config.yml"));
  put(dir, "gamma/config.yml", "title: [unclosed\n");
  assert_int_equal(lh_catalog_dataset_json(c, "gamma", &out, &err), LH_EPARSE);
  assert_non_null(strstr(err.message, "gamma/config.yml: invalid YAML at line 2"));
  lh_buf_free(&out);
  lh_catalog_close(c);
  tu_rmtree(dir);
  free(dir);
  assert_int_equal(lh_catalog_open("s3://bucket/lake", &c, &err), LH_EUNSUPPORTED);
}

static void test_versions_and_logging(void **state) {
  (void)state;
  assert_string_equal(lh_version(), "0.1.0");
  assert_string_equal(lh_conventions_version(), "0.4.0");
  assert_int_equal(lh_log_level_from_name("WARNING"), LH_LOG_WARNING);
  assert_int_equal(lh_log_level_from_name("nope"), -1);
  lh_log_level old = lh_log_get_level();
  lh_log_set_level(LH_LOG_ERROR);
  assert_int_equal(lh_log_get_level(), LH_LOG_ERROR);
  lh_log_warning("not shown at level error");
  lh_log_set_level(old);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_catalog),
      cmocka_unit_test(test_versions_and_logging),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
