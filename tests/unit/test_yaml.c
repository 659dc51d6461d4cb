/* core/yaml.c against hostile text (alias bombs, deep nesting, duplicate keys, size) and
 * model/dataset_config.c's parse + check of a config.yml text. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/yaml.h"
#include "lakehouse/buf.h"
#include "model/dataset_config.h"

#include "testutil.h"

static char unset;
#define UNSET ((json_t *)&unset) /* a failed parse must reset *out */

/* Parse text that must fail with code; returns the message (static). */
static const char *fails(const char *text, size_t len, int code) {
  static lh_error err;
  json_t *j = UNSET;
  memset(&err, 0, sizeof err);
  assert_int_equal(lh__yaml_to_json(text, len, &j, &err), code);
  assert_null(j);
  assert_int_equal(err.code, code);
  return err.message;
}

static json_t *parses(const char *text) {
  json_t *j = UNSET;
  lh_error err = {0};
  int rc = lh__yaml_to_json(text, strlen(text), &j, &err);
  if (rc)
    fail_msg("%s: %s", text, err.message);
  assert_non_null(j);
  return j;
}

/* The classic "billion laughs": nine levels of nine aliases, 9^9 strings from ~340 bytes. */
static void bomb(lh_buf *b) {
  lh_buf_puts(b,
              "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
  for (char c = 'b'; c <= 'i'; c++) {
    lh_buf_printf(b, "%c: &%c [", c, c);
    for (int i = 0; i < 9; i++)
      lh_buf_printf(b, "%s*%c", i ? "," : "", c - 1);
    lh_buf_puts(b, "]\n");
  }
}

static void test_alias_bomb(void **state) {
  (void)state;
  lh_buf b = LH_BUF_INIT;
  bomb(&b);
  assert_true(b.len < 400);
  const char *msg = fails(b.data, b.len, LH_ELIMIT);
  assert_non_null(strstr(msg, "YAML line "));
  assert_non_null(strstr(msg, "nodes (alias bomb?)"));
  /* few nodes but long strings: the byte cap */
  lh_buf_reset(&b);
  lh_buf_puts(&b, "a: &a '");
  for (int i = 0; i < 600000; i++)
    lh_buf_putc(&b, 'x');
  lh_buf_puts(&b, "'\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n");
  msg = fails(b.data, b.len, LH_ELIMIT);
  assert_non_null(strstr(msg, "YAML line 2: the document expands to more than 4 MiB of text"));
  /* the whole config path: a clear error and no config */
  lh_buf_reset(&b);
  bomb(&b);
  json_t *cfg = UNSET;
  lh_error err = {0};
  assert_int_equal(lh__config_parse(b.data, b.len, "x/config.yml", &cfg, &err), LH_ELIMIT);
  assert_null(cfg);
  assert_non_null(strstr(err.message, "x/config.yml: YAML line "));
  lh_buf_free(&b);
}

static void test_aliases(void **state) {
  (void)state;
  json_t *j = parses("publisher: &pub {name: ACME, url: 'https://acme.example'}\n"
                     "maintainer: *pub\n"
                     "tags: &t [a, b]\n"
                     "scopes: *t\n"
                     "key: &k title\n"
                     "*k : Hello\n");
  json_t *pub = json_object_get(j, "publisher"), *mnt = json_object_get(j, "maintainer");
  assert_true(json_is_object(pub));
  assert_true(json_equal(pub, mnt));
  assert_ptr_not_equal(pub, mnt); /* a copy: changing one leaves the other */
  assert_true(json_equal(json_object_get(j, "tags"), json_object_get(j, "scopes")));
  assert_string_equal(json_string_value(json_object_get(j, "title")), "Hello");
  json_decref(j);
  /* a scalar anchor keeps its type; a nested alias inside an anchored collection */
  j = parses("n: &n 3\nm: *n\nl: &l [*n, {x: *n}]\no: [*l, *l]\n");
  assert_int_equal(json_integer_value(json_object_get(j, "m")), 3);
  assert_int_equal(json_array_size(json_object_get(j, "o")), 2);
  assert_int_equal(json_integer_value(json_object_get(
                       json_array_get(json_array_get(json_object_get(j, "o"), 1), 1), "x")),
                   3);
  json_decref(j);
  assert_non_null(strstr(fails("a: *nope\n", 9, LH_EPARSE), "YAML line 1: unknown alias '*nope'"));
  const char *rec = "a: &a [1, *a]\n";
  assert_non_null(strstr(fails(rec, strlen(rec), LH_EPARSE), "refers to a collection"));
  const char *dup = "a: &x 1\nb: &x 2\n";
  assert_non_null(strstr(fails(dup, strlen(dup), LH_EPARSE), "line 2: duplicate anchor '&x'"));
  const char *key = "a: &l [1]\n*l : 2\n";
  assert_non_null(strstr(fails(key, strlen(key), LH_EPARSE), "mapping keys must be plain"));
}

/* n opening brackets, and n closing ones when closed. */
static char *brackets(size_t n, bool closed) {
  char *s = malloc(2 * n + 1);
  memset(s, '[', n);
  memset(s + n, closed ? ']' : '\0', n);
  s[2 * n] = '\0';
  return s;
}

static void test_deep_nesting(void **state) {
  (void)state;
  /* libyaml's scanner pays per token for every open flow level: this took minutes when the
   * whole text was parsed before the depth was checked */
  char *s = brackets(200000, false);
  assert_non_null(strstr(fails(s, strlen(s), LH_ELIMIT), "nesting deeper than 64 levels"));
  free(s);
  s = brackets(LH_YAML_MAX_TEXT, false);
  assert_non_null(strstr(fails(s, strlen(s), LH_ELIMIT), "nesting deeper than 64 levels"));
  free(s);
  s = brackets(LH_YAML_MAX_DEPTH, true);
  json_decref(parses(s));
  free(s);
  s = brackets(LH_YAML_MAX_DEPTH + 1, true);
  fails(s, strlen(s), LH_ELIMIT);
  free(s);
  /* block nesting, and a flat alias of a deep anchor */
  lh_buf b = LH_BUF_INIT;
  for (int i = 0; i < 100000; i++)
    lh_buf_puts(&b, "- ");
  lh_buf_puts(&b, "x\n");
  assert_non_null(strstr(fails(b.data, b.len, LH_ELIMIT), "YAML line 1: nesting deeper"));
  lh_buf_reset(&b);
  lh_buf_puts(&b, "a: &a ");
  for (int i = 0; i < 40; i++)
    lh_buf_putc(&b, '[');
  for (int i = 0; i < 40; i++)
    lh_buf_putc(&b, ']');
  lh_buf_puts(&b, "\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n");
  assert_non_null(strstr(fails(b.data, b.len, LH_ELIMIT), "YAML line 2: nesting deeper"));
  lh_buf_free(&b);
}

static void test_duplicate_keys(void **state) {
  (void)state;
  const char *y = "title: a\ntitle: b\n";
  assert_non_null(strstr(fails(y, strlen(y), LH_EPARSE), "YAML line 2: duplicate key 'title'"));
  y = "publisher:\n  name: a\n  url: https://x\n  name: b\n";
  assert_non_null(strstr(fails(y, strlen(y), LH_EPARSE), "YAML line 4: duplicate key 'name'"));
  y = "{a: 1, b: 2, a: 3}";
  assert_non_null(strstr(fails(y, strlen(y), LH_EPARSE), "duplicate key 'a'"));
  /* the same key in two mappings is fine */
  json_t *j = parses("a: {x: 1}\nb: {x: 2}\n");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "b"), "x")), 2);
  json_decref(j);
}

static void test_limits_and_documents(void **state) {
  (void)state;
  char *s = malloc(LH_YAML_MAX_TEXT + 2);
  memset(s, ' ', LH_YAML_MAX_TEXT + 1);
  s[0] = '#';
  s[LH_YAML_MAX_TEXT + 1] = '\0';
  assert_non_null(strstr(fails(s, LH_YAML_MAX_TEXT + 1, LH_ELIMIT), "over the limit of"));
  s[LH_YAML_MAX_TEXT] = '\0'; /* a comment of exactly the cap: an empty document */
  json_t *j = parses(s);
  assert_true(json_is_null(j));
  free(s);
  j = parses("");
  assert_true(json_is_null(j));
  const char *two = "a: 1\n---\nb: 2\n";
  assert_non_null(strstr(fails(two, strlen(two), LH_EPARSE), "line 2: expected a single"));
  const char *bad = "name: test\n  broken: [\n";
  assert_non_null(strstr(fails(bad, strlen(bad), LH_EPARSE), "invalid YAML at line"));
  const char *nul = "a: \"x\\0y\"\n";
  assert_non_null(strstr(fails(nul, strlen(nul), LH_EPARSE), "line 1: a NUL character"));
  const char *map_key = "? [a]\n: b\n";
  assert_non_null(strstr(fails(map_key, strlen(map_key), LH_EPARSE), "plain values"));
}

static void test_config_parse(void **state) {
  (void)state;
  json_t *cfg = UNSET;
  lh_error err = {0};
  const char *y = "title: Leaks\nshards: 4\ncompression: zst\nmystery: 1\n"
                  "publisher: &p {name: ACME}\nmaintainer: *p\n"
                  "resources:\n  - {name: a.csv, url: 'https://x/a.csv'}\n";
  assert_int_equal(lh__config_parse(y, strlen(y), "d/config.yml", &cfg, &err), 0);
  assert_int_equal(json_integer_value(json_object_get(cfg, "shards")), 4);
  assert_null(json_object_get(cfg, "mystery")); /* unknown keys dropped */
  json_decref(cfg);
  assert_int_equal(lh__config_parse("", 0, "d/config.yml", &cfg, &err), 0);
  assert_true(json_is_object(cfg) && json_object_size(cfg) == 0);
  json_decref(cfg);
  cfg = UNSET;
  assert_int_equal(lh__config_parse("- a\n", 4, "d/config.yml", &cfg, &err), LH_EINVAL);
  assert_null(cfg);
  cfg = UNSET;
  y = "title: a\ntitle: b\n";
  assert_int_equal(lh__config_parse(y, strlen(y), "d/config.yml", &cfg, &err), LH_EPARSE);
  assert_null(cfg);
  assert_string_equal(err.message, "d/config.yml: YAML line 2: duplicate key 'title'");
  /* a NULL config is an error, not a crash */
  assert_int_equal(lh__config_check(NULL, "d/config.yml", &err), LH_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alias_bomb),           cmocka_unit_test(test_aliases),
      cmocka_unit_test(test_deep_nesting),         cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_limits_and_documents), cmocka_unit_test(test_config_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
