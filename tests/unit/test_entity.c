/* ftm/: entity JSON parse / write / merge, and the errors bad input gets. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"

static lh_entity *parse(const char *json, int want_rc, lh_error *err) {
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  int rc = lh_entity_parse_json(e, json, strlen(json), 0, NULL, err);
  if (rc != want_rc) {
    print_error("parse '%s': rc %d (%s), want %d\n", json, rc, err->message, want_rc);
    fail();
  }
  return e;
}

/* Each shared file: parse every line, write it back, compare. wd_persons is written by
 * orjson with our key order, so it must come back byte for byte. */
static void test_round_trip_shared(void **state) {
  (void)state;
  const struct {
    const char *file;
    bool bytes;
    size_t entities;
  } files[] = {{"data/wd_persons/entities.ftm.json", true, 281},
               {"data/yente-fixtures/zala/entities.ftm.json", false, 91},
               {"data/yente-fixtures/entities.delta.json", false, 1700},
               {"data/nomenklatura-fixtures/donations.ijson", false, 474},
               {"data/aleph-fixtures/samples.ijson", false, 21}};
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_buf out = LH_BUF_INIT;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    size_t len;
    char *text = tu_read_file(tu_shared(files[f].file), &len);
    size_t count = 0;
    size_t ops[4] = {0};
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      lh_error err = {0};
      lh_delta_op op;
      int rc = lh_entity_parse_json(e, line, strlen(line), 0, &op, &err);
      if (rc) {
        print_error("%s line %zu: %s\n", files[f].file, count + 1, err.message);
        fail();
      }
      ops[op]++;
      count++;
      lh_buf_reset(&out);
      assert_int_equal(lh_entity_write_json(e, 0, &out), 0);
      if (files[f].bytes) {
        assert_string_equal(out.data, line);
        continue;
      }
      json_t *orig = json_loads(line, 0, NULL), *back = json_loads(out.data, 0, NULL);
      assert_non_null(back);
      if (op != LH_DELTA_NONE) {
        json_t *inner = json_incref(json_object_get(orig, "entity"));
        json_decref(orig);
        orig = inner;
      }
      if (!json_equal(orig, back)) {
        print_error("%s line %zu differs:\n%s\n%s\n", files[f].file, count, line, out.data);
        fail();
      }
      json_decref(orig);
      json_decref(back);
    }
    assert_int_equal(count, files[f].entities);
    if (f == 2) { /* the delta file: 90 ADD, 1039 MOD, 571 DEL */
      assert_int_equal(ops[LH_DELTA_ADD], 90);
      assert_int_equal(ops[LH_DELTA_MOD], 1039);
      assert_int_equal(ops[LH_DELTA_DEL], 571);
    }
    free(text);
  }
  lh_buf_free(&out);
  lh_entity_free(e);
}

static void test_accessors(void **state) {
  (void)state;
  lh_error err = {0};
  lh_entity *e = parse("{\"id\":\"x1\",\"schema\":\"Person\",\"properties\":{\"name\":[\"B\",\"A\","
                       "\"B\"],\"nationality\":\"de\",\"alias\":[null,\"\"]},"
                       "\"origin\":\"crawl\",\"extra\":{\"keep\":[1,2]},\"fragment\":\"f1\"}",
                       0, &err);
  assert_string_equal(lh_entity_id(e), "x1");
  assert_string_equal(lh_entity_schema(e)->name, "Person");
  size_t n;
  const char *const *names = lh_entity_values(e, "name", &n);
  assert_int_equal(n, 2); /* de-duplicated, order kept */
  assert_string_equal(names[0], "B");
  assert_string_equal(names[1], "A");
  lh_entity_values(e, "nationality", &n); /* a bare string is one value */
  assert_int_equal(n, 1);
  lh_entity_values(e, "alias", &n); /* null and empty values are skipped */
  assert_int_equal(n, 0);
  assert_int_equal(lh_entity_value_count(e), 3);
  const char *const *origin = lh_entity_meta_list(e, LH_META_ORIGIN, &n);
  assert_int_equal(n, 1);
  assert_string_equal(origin[0], "crawl");
  assert_string_equal(lh_entity_meta(e, LH_META_FRAGMENT), "f1");
  assert_string_equal(lh_entity_caption(e), "A"); /* smallest value of the first caption prop */
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_entity_write_json(e, LH_JSON_SORT_VALUES, &out), 0);
  assert_string_equal(out.data, "{\"id\":\"x1\",\"schema\":\"Person\",\"properties\":{\"name\":"
                                "[\"A\",\"B\"],\"nationality\":[\"de\"]},\"origin\":[\"crawl\"],"
                                "\"fragment\":\"f1\",\"extra\":{\"keep\":[1,2]}}");
  lh_entity_free(e);
  /* numbers in property lists are kept as their JSON text */
  e = parse("{\"id\":\"d1\",\"schema\":\"Document\",\"properties\":{\"fileSize\":[12, 1.5e3]}}", 0,
            &err);
  const char *const *sizes = lh_entity_values(e, "fileSize", &n);
  assert_int_equal(n, 2);
  assert_string_equal(sizes[0], "12");
  assert_string_equal(sizes[1], "1.5e3");
  lh_buf_reset(&out);
  assert_int_equal(lh_entity_write_json(e, 0, &out), 0);
  assert_non_null(strstr(out.data, "\"fileSize\":[\"12\",\"1.5e3\"]"));
  lh_buf_free(&out);
  lh_entity_free(e);
}

static void test_add_and_caption(void **state) {
  (void)state;
  lh_error err = {0};
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  const lh_schema *company = lh_model_schema(tu_model(), "Company");
  lh_entity_set_schema(e, company);
  assert_int_equal(lh_entity_set_id(e, "c1", 2, &err), 0);
  assert_int_equal(lh_entity_set_id(e, "bad id", 6, &err), LH_EINVAL);
  assert_string_equal(lh_entity_caption(e), "Company"); /* schema label without values */
  assert_int_equal(lh_entity_add(e, "registrationNumber", "123", 3, 0, &err), 1);
  assert_string_equal(lh_entity_caption(e), "123");
  assert_int_equal(lh_entity_add(e, "name", "ACME", 4, 0, &err), 1);
  assert_int_equal(lh_entity_add(e, "name", "ACME", 4, 0, &err), 0); /* duplicate */
  assert_string_equal(lh_entity_caption(e), "ACME");
  assert_int_equal(lh_entity_add(e, "nmae", "x", 1, 0, &err), LH_EINVAL);
  assert_string_equal(err.message, "unknown property 'Company:nmae'");
  assert_int_equal(lh_entity_add(e, "ownershipAsset", "o1", 2, 0, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "stub"));
  /* a reference to itself is skipped quietly, as FtM does */
  lh_entity *o = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &o, NULL), 0);
  lh_entity_set_schema(o, lh_model_schema(tu_model(), "Ownership"));
  lh_entity_set_id(o, "own1", 4, &err);
  assert_int_equal(lh_entity_add(o, "owner", "own1", 4, 0, &err), 0);
  assert_int_equal(lh_entity_add(o, "owner", "c1", 2, 0, &err), 1);
  lh_entity_free(o);
  /* many values: the hash index keeps de-duplication exact */
  char v[32];
  for (int i = 0; i < 5000; i++) {
    int len = snprintf(v, sizeof v, "alias-%d", i % 2500);
    assert_int_equal(lh_entity_add(e, "alias", v, (size_t)len, 0, &err), i < 2500 ? 1 : 0);
  }
  size_t n;
  const char *const *aliases = lh_entity_values(e, "alias", &n);
  assert_int_equal(n, 2500);
  assert_string_equal(aliases[2499], "alias-2499");
  /* context setters and lists */
  assert_int_equal(lh_entity_set_meta(e, LH_META_FIRST_SEEN, "2024-01-01T00:00:00"), 0);
  assert_string_equal(lh_entity_meta(e, LH_META_FIRST_SEEN), "2024-01-01T00:00:00");
  assert_int_equal(lh_entity_add_meta(e, LH_META_DATASETS, "d1"), 0);
  assert_int_equal(lh_entity_add_meta(e, LH_META_DATASETS, "d1"), 0);
  size_t nd;
  lh_entity_meta_list(e, LH_META_DATASETS, &nd);
  assert_int_equal(nd, 1);
  assert_int_equal(lh_entity_target(e), -1);
  lh_entity_set_target(e, 1);
  assert_ptr_equal(lh_entity_model(e), tu_model());
  lh_buf js = LH_BUF_INIT;
  lh_entity_write_json(e, 0, &js);
  assert_non_null(strstr(js.data, "\"datasets\":[\"d1\"],\"first_seen\":\"2024-01-01T00:00:00\""));
  assert_non_null(strstr(js.data, "\"target\":true"));
  lh_buf_free(&js);
  /* cleaning through a resolved property */
  const lh_property *inc = lh_schema_property(company, "incorporationDate");
  assert_int_equal(lh_entity_add_property(e, inc, " 2012-9-3 ", 10, LH_ADD_CLEAN, &err), 1);
  lh_entity_values(e, "incorporationDate", &n);
  assert_int_equal(n, 1);
  assert_string_equal(lh_entity_values(e, "incorporationDate", &n)[0], "2012-09-03");
  /* reset keeps nothing */
  lh_entity_reset(e);
  assert_null(lh_entity_id(e));
  assert_int_equal(lh_entity_property_count(e), 0);
  lh_entity_free(e);
}

static void test_merge(void **state) {
  (void)state;
  lh_error err = {0};
  lh_entity *a = parse("{\"id\":\"m\",\"schema\":\"LegalEntity\",\"properties\":{\"name\":[\"A\"]},"
                       "\"datasets\":[\"d1\"],\"first_seen\":\"2024-01-02T00:00:00\","
                       "\"last_seen\":\"2024-01-03T00:00:00\"}",
                       0, &err);
  lh_entity *b = parse("{\"id\":\"m\",\"schema\":\"Person\",\"properties\":{\"name\":[\"A\",\"B\"],"
                       "\"birthDate\":[\"1970\"]},\"datasets\":[\"d2\",\"d1\"],\"first_seen\":"
                       "\"2023-05-05T00:00:00\",\"last_seen\":\"2024-02-01T00:00:00\","
                       "\"last_change\":\"2024-01-15T00:00:00\"}",
                       0, &err);
  assert_int_equal(lh_entity_merge(a, b, &err), 0);
  assert_string_equal(lh_entity_schema(a)->name, "Person");
  size_t n;
  lh_entity_values(a, "name", &n);
  assert_int_equal(n, 2);
  lh_entity_values(a, "birthDate", &n);
  assert_int_equal(n, 1);
  lh_entity_meta_list(a, LH_META_DATASETS, &n);
  assert_int_equal(n, 2);
  assert_string_equal(lh_entity_meta(a, LH_META_FIRST_SEEN), "2023-05-05T00:00:00");
  assert_string_equal(lh_entity_meta(a, LH_META_LAST_SEEN), "2024-02-01T00:00:00");
  assert_string_equal(lh_entity_meta(a, LH_META_LAST_CHANGE), "2024-01-15T00:00:00");
  lh_entity *c = parse("{\"id\":\"m\",\"schema\":\"Company\",\"properties\":{}}", 0, &err);
  assert_int_equal(lh_entity_merge(a, c, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "unrelated"));
  assert_string_equal(lh_entity_schema(a)->name, "Person"); /* unchanged on failure */
  lh_entity_free(a);
  lh_entity_free(b);
  lh_entity_free(c);
}

static void test_bad_input(void **state) {
  (void)state;
  const char *cases[][2] = {
      {"{\"id\":\"a\",\"schema\":\"Person\"", "invalid JSON at column 28: unterminated object"},
      {"not json", "invalid JSON at column 1"},
      {"[1,2]", "expected a JSON object"},
      {"{\"schema\":\"Person\"}", "missing field 'id'"},
      {"{\"id\":5,\"schema\":\"Person\"}", "field 'id' must be a string"},
      {"{\"id\":\"jane doe\",\"schema\":\"Person\"}", "invalid entity id 'jane doe' (field 'id')"},
      {"{\"id\":\"\",\"schema\":\"Person\"}", "invalid entity id ''"},
      {"{\"id\":\"a\"}", "missing field 'schema'"},
      {"{\"id\":\"a\",\"schema\":\"Persn\"}", "unknown schema 'Persn' (field 'schema')"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"nmae\":[\"x\"]}}",
       "unknown property 'Person:nmae'"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"ownershipOwner\":[\"x\"]}}",
       "property 'Person:ownershipOwner' is a reverse (stub) property"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"name\":[{\"x\":1}]}}",
       "property 'Person:name': values must be strings"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"properties\":[\"name\"]}",
       "field 'properties' must be an object"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"datasets\":{}}", "field 'datasets' must be a list"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"target\":\"yes\"}", "field 'target' must be true"},
      {"{\"id\":\"a\",\"schema\":\"Person\",\"first_seen\":5}",
       "field 'first_seen' must be a string"},
      {"{\"op\":\"UPSERT\",\"entity\":{\"id\":\"a\"}}", "unknown delta operation 'UPSERT'"},
      {"{\"op\":\"ADD\",\"entity\":5}", "field 'entity' must be an object"},
      {"{\"id\":\"a\xff\",\"schema\":\"Person\"}", "invalid UTF-8"},
  };
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lh_error err = {0};
    int rc = lh_entity_parse_json(e, cases[i][0], strlen(cases[i][0]), 0, NULL, &err);
    assert_true(rc < 0);
    if (!strstr(err.message, cases[i][1])) {
      print_error("case %zu: '%s' lacks '%s'\n", i, err.message, cases[i][1]);
      fail();
    }
  }
  /* --skip-unknown drops unknown properties and keeps the rest */
  lh_error err = {0};
  const char *j = "{\"id\":\"a\",\"schema\":\"Person\",\"properties\":{\"nmae\":[\"x\"],"
                  "\"name\":[\"y\"]}}";
  assert_int_equal(lh_entity_parse_json(e, j, strlen(j), LH_PARSE_SKIP_UNKNOWN, NULL, &err), 0);
  assert_int_equal(lh_entity_value_count(e), 1);
  /* a DEL envelope needs only the id */
  lh_delta_op op;
  j = "{\"op\":\"DEL\",\"entity\":{\"id\":\"NK-1\"}}";
  assert_int_equal(lh_entity_parse_json(e, j, strlen(j), 0, &op, &err), 0);
  assert_int_equal(op, LH_DELTA_DEL);
  assert_string_equal(lh_entity_id(e), "NK-1");
  assert_null(lh_entity_schema(e));
  lh_entity_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_shared), cmocka_unit_test(test_accessors),
      cmocka_unit_test(test_add_and_caption),   cmocka_unit_test(test_merge),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
