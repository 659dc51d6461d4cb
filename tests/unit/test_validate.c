/* Validators, exactly the accept/reject cases of inventory §11.2 items 1-5. */
#include <string.h>

#include "testutil.h"

static void test_dataset_names(void **state) {
  (void)state;
  const char *ok[] = {"my_dataset", "a", "abc_123", "x_y_z_0", "wd_persons", "123"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    assert_int_equal(lh_validate_dataset_name(ok[i], NULL), 0);
  const char *bad[] = {"",         "../etc/passwd", "foo/bar",  "foo bar",   "foo'bar",
                       "foo\"bar", "FOOBAR",        "foo;bar",  "../../etc", "foo\nbar",
                       "_foo",     "foo_",          "foo__bar", "foo-bar",   "f\xc3\xb6\xc3\xb6",
                       "foo.bar"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lh_error err = {0};
    assert_int_equal(lh_validate_dataset_name(bad[i], &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "dataset name"));
  }
  /* NUL inside: the C string ends at the NUL, so "foo\0bar" is "foo" - the CLI and API
   * layers reject embedded NULs before they get here */
  lh_error err = {0};
  assert_int_equal(lh_validate_dataset_name("catalog", &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "reserved"));
  assert_int_equal(lh_validate_dataset_name("default", &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "reserved"));
  assert_int_equal(lh_validate_dataset_name(NULL, &err), LH_EINVAL);
}

static void test_safe_name(void **state) {
  (void)state;
  char longest[256];
  memset(longest, 'A', 255);
  longest[255] = '\0';
  const char *ok[] = {"default", "crawl", "source-a", "source_b", "mapping:abc123",
                      "a.b.c",   "x",     longest,    "O'Brien",  "UPPER case"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    assert_int_equal(lh_safe_name(ok[i], "origin", NULL), 0);
  char too_long[257];
  memset(too_long, 'A', 256);
  too_long[256] = '\0';
  struct {
    const char *value;
    const char *msg;
  } bad[] = {{"", "must not be empty"},
             {".", "'..'"},
             {"..", "'..'"},
             {"a..b", "'..'"},
             {"../evil", "'..'"},
             {"a/b", "control characters"},
             {"a\\b", "control characters"},
             {"a\tb", "control characters"},
             {"a\nb", "control characters"},
             {"a\x7f", "control characters"},
             {"a\x01", "control characters"},
             {too_long, "longer than 255"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lh_error err = {0};
    assert_int_equal(lh_safe_name(bad[i].value, "origin", &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "origin")); /* names the field */
    assert_non_null(strstr(err.message, bad[i].msg));
  }
  lh_error err = {0};
  assert_int_equal(lh_safe_name(NULL, "origin", &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "must be a string"));
}

static void test_origin_and_file_id(void **state) {
  (void)state;
  lh_error err = {0};
  assert_int_equal(lh_validate_origin("crawl", &err), 0);
  assert_int_equal(lh_validate_origin("../x", &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "origin"));
  assert_int_equal(lh_validate_file_id("file-abc", &err), 0);
  assert_int_equal(lh_validate_file_id("../evil", &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "file_id"));
}

static void test_checksum(void **state) {
  (void)state;
  const char *good = "bbb1f0477a0b4c4c3f2f5ec4acd9e13c45a4dc7d1cf9ef6f8ea6e65a2e04c5b7";
  assert_int_equal(lh_validate_checksum(good, NULL), 0);
  char upper[65];
  strcpy(upper, good);
  upper[0] = 'B';
  char shorter[64];
  memcpy(shorter, good, 63);
  shorter[63] = '\0';
  char longer[66];
  strcpy(longer, good);
  strcat(longer, "0");
  char nonhex[65];
  strcpy(nonhex, good);
  nonhex[10] = 'g';
  char traversal[65];
  memset(traversal, 'a', 64);
  memcpy(traversal, "../../", 6);
  traversal[64] = '\0';
  const char *bad[] = {upper, shorter, longer, nonhex, traversal, ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lh_error err = {0};
    assert_int_equal(lh_validate_checksum(bad[i], &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "checksum"));
  }
  assert_int_equal(lh_validate_checksum(NULL, NULL), LH_EINVAL);
  /* archive paths validate their checksum */
  lh_error err = {0};
  assert_null(lh_path_archive_blob(upper, &err));
  assert_int_equal(err.code, LH_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dataset_names),
      cmocka_unit_test(test_safe_name),
      cmocka_unit_test(test_origin_and_file_id),
      cmocka_unit_test(test_checksum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
