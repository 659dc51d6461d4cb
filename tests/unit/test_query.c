/* repository/query: the Aleph-style filter strings (-q) and RQL (--rql) as they parse, and
 * the errors bad ones give. What the queries find is tested on real data in
 * tests/cli/test_parity_cli.sh and test_hostile_cli.sh. */
#include <string.h>

#include "testutil.h"

static void test_aleph(void **state) {
  (void)state;
  lh_entity_query q;
  lh_error err = {0};
  assert_int_equal(lh_entity_query_parse("filter:schema=Person&filter:schema=Company&filter:"
                                         "properties.name=A%20B&filter:countries=de&limit=5&"
                                         "offset=10&sort=-name",
                                         &q, &err),
                   0);
  assert_int_equal(q.nschema, 2);
  assert_string_equal(q.schema[1], "Company");
  assert_int_equal(q.nprops, 2);
  assert_string_equal(q.props[0].prop, "name");
  assert_string_equal(q.props[0].value, "A B");
  assert_string_equal(q.props[1].prop, "countries");
  assert_int_equal(q.limit, 5);
  assert_int_equal(q.offset, 10);
  assert_string_equal(q.sort, "name");
  assert_true(q.sort_desc);
  assert_null(q.filter);
  lh_entity_query_free(&q);
  /* ranges and exclusions become filter nodes */
  assert_int_equal(
      lh_entity_query_parse("filter:gte:properties.birthDate=1980&exclude:schema=Person", &q, &err),
      0);
  assert_non_null(q.filter);
  assert_int_equal(q.filter->kind, LH_QN_AND);
  assert_int_equal(q.filter->nchildren, 2);
  const lh_qnode *gte = q.filter->children[0], *not = q.filter->children[1];
  assert_int_equal(gte->kind, LH_QN_LEAF);
  assert_int_equal(gte->cmp, LH_QC_GTE);
  assert_string_equal(gte->field, "properties.birthDate");
  assert_string_equal(gte->values[0], "1980");
  assert_int_equal(not ->kind, LH_QN_NOT);
  assert_int_equal(not ->children[0]->cmp, LH_QC_EQ);
  assert_string_equal(not ->children[0]->field, "schema");
  lh_entity_query_free(&q);
}

static void test_aleph_errors(void **state) {
  (void)state;
  static const struct {
    const char *q, *msg;
  } BAD[] = {
      {"filter:name", "is not KEY=VALUE"},
      {"frob=1", "unknown key 'frob'"},
      {"filter:name=%zz", "bad %-escape '%zz'"},
      {"filter:name=a%00", "bad %-escape '%00'"},
      {"limit=-1", "'limit' must be an integer from 0"},
      {"offset=100000000000000000000", "'offset' must be an integer from 0"},
      {"sort=name&sort=title", "one sort property only"},
      {"filter:schema=", "has an empty value"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    lh_entity_query q;
    lh_error err = {0};
    assert_int_equal(lh_entity_query_parse(BAD[i].q, &q, &err), LH_EINVAL);
    if (!strstr(err.message, BAD[i].msg))
      fail_msg("'%s': '%s' lacks '%s'", BAD[i].q, err.message, BAD[i].msg);
  }
}

static void test_rql(void **state) {
  (void)state;
  lh_entity_query q;
  lh_error err = {0};
  assert_int_equal(lh_entity_query_parse_rql("and(eq(schema,Person),or(eq(group.countries,de),eq("
                                             "group.countries,at)),not(in(name,(A%20B,C))))",
                                             &q, &err),
                   0);
  const lh_qnode *a = q.filter;
  assert_non_null(a);
  assert_int_equal(a->kind, LH_QN_AND);
  assert_int_equal(a->nchildren, 3);
  assert_int_equal(a->children[0]->kind, LH_QN_LEAF);
  assert_string_equal(a->children[0]->field, "schema");
  assert_string_equal(a->children[0]->values[0], "Person");
  const lh_qnode *o = a->children[1];
  assert_int_equal(o->kind, LH_QN_OR);
  assert_int_equal(o->nchildren, 2);
  assert_string_equal(o->children[1]->field, "group.countries");
  assert_string_equal(o->children[1]->values[0], "at");
  const lh_qnode *n = a->children[2];
  assert_int_equal(n->kind, LH_QN_NOT);
  assert_int_equal(n->children[0]->cmp, LH_QC_IN);
  assert_int_equal(n->children[0]->nvalues, 2);
  assert_string_equal(n->children[0]->values[0], "A B");
  assert_int_equal(q.limit, -1);
  lh_entity_query_free(&q);
  /* sort and limit set the query; several top-level expressions are AND-ed */
  assert_int_equal(lh_entity_query_parse_rql("eq(schema,Person)&sort(-name)&limit(10,20)&"
                                             "ge(properties.birthDate,1980)",
                                             &q, &err),
                   0);
  assert_string_equal(q.sort, "name");
  assert_true(q.sort_desc);
  assert_int_equal(q.limit, 10);
  assert_int_equal(q.offset, 20);
  assert_int_equal(q.filter->kind, LH_QN_AND);
  assert_int_equal(q.filter->children[1]->cmp, LH_QC_GTE);
  lh_entity_query_free(&q);
}

static void test_rql_errors(void **state) {
  (void)state;
  static const struct {
    const char *q, *msg;
  } BAD[] = {
      {"and(eq(schema,Person)", "expected"},
      {"eq(schema)", "expected ','"},
      {"frob(a,b)", "unknown operator 'frob'"},
      {"not(eq(a,b),eq(c,d))", "not() takes one expression"},
      {"limit(a)", "'limit' must be an integer"},
      {"limit(1,2,3)", "limit() takes a count"},
      {"sort(a)&sort(b)", "one sort property only"},
      {"eq(name,%zz)", "bad %-escape"},
      {"eq(name,a))", "expected the end"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    lh_entity_query q;
    lh_error err = {0};
    assert_int_not_equal(lh_entity_query_parse_rql(BAD[i].q, &q, &err), 0);
    if (!strstr(err.message, BAD[i].msg))
      fail_msg("'%s': '%s' lacks '%s'", BAD[i].q, err.message, BAD[i].msg);
  }
  /* deep nesting is bounded, not a stack overflow */
  char deep[4096] = "";
  for (int i = 0; i < 200; i++)
    strcat(deep, "and(");
  lh_entity_query q;
  lh_error err = {0};
  assert_int_equal(lh_entity_query_parse_rql(deep, &q, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "nesting too deep"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aleph),
      cmocka_unit_test(test_aleph_errors),
      cmocka_unit_test(test_rql),
      cmocka_unit_test(test_rql_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
