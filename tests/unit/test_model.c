/* ftm/: the compiled model - schemata, inheritance, properties, types, buckets. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const lh_schema *S(const char *name) {
  const lh_schema *s = lh_model_schema(tu_model(), name);
  if (!s) {
    print_error("no schema %s\n", name);
    fail();
  }
  return s;
}

/* The 6-bucket mapping of ftm.md §1.3 (Page, Mention, Pages, Document, Interval, else thing). */
static const char *const BUCKETS[][2] = {
    {"Address", "thing"},
    {"Airplane", "thing"},
    {"Analyzable", "thing"},
    {"Article", "document"},
    {"Asset", "thing"},
    {"Associate", "interval"},
    {"Audio", "document"},
    {"BankAccount", "thing"},
    {"Call", "interval"},
    {"CallForTenders", "interval"},
    {"Company", "thing"},
    {"Contract", "thing"},
    {"ContractAward", "interval"},
    {"CourtCase", "thing"},
    {"CourtCaseParty", "interval"},
    {"CryptoWallet", "thing"},
    {"Debt", "interval"},
    {"Directorship", "interval"},
    {"Document", "document"},
    {"Documentation", "interval"},
    {"EconomicActivity", "interval"},
    {"Email", "document"},
    {"Employment", "interval"},
    {"Event", "interval"},
    {"Family", "interval"},
    {"Folder", "document"},
    {"HyperText", "document"},
    {"Identification", "interval"},
    {"Image", "document"},
    {"Interest", "interval"},
    {"Interval", "interval"},
    {"LegalEntity", "thing"},
    {"License", "thing"},
    {"Membership", "interval"},
    {"Mention", "mention"},
    {"Message", "document"},
    {"Note", "thing"},
    {"Occupancy", "interval"},
    {"Organization", "thing"},
    {"Ownership", "interval"},
    {"Package", "document"},
    {"Page", "page"},
    {"Pages", "pages"},
    {"Passport", "interval"},
    {"Payment", "interval"},
    {"Person", "thing"},
    {"PlainText", "document"},
    {"Position", "thing"},
    {"Project", "interval"},
    {"ProjectParticipant", "interval"},
    {"PublicBody", "thing"},
    {"RealEstate", "thing"},
    {"Representation", "interval"},
    {"Risk", "interval"},
    {"Sanction", "interval"},
    {"Security", "thing"},
    {"Similar", "thing"},
    {"Succession", "interval"},
    {"Table", "document"},
    {"TaxRoll", "interval"},
    {"Thing", "thing"},
    {"Trip", "interval"},
    {"UnknownLink", "interval"},
    {"UserAccount", "thing"},
    {"Value", "thing"},
    {"Vehicle", "thing"},
    {"Vessel", "thing"},
    {"Video", "document"},
    {"Workbook", "document"},
};

static void test_buckets_of_all_schemata(void **state) {
  (void)state;
  const lh_model *m = tu_model();
  size_t n = sizeof BUCKETS / sizeof BUCKETS[0];
  assert_int_equal(n, 69);
  assert_int_equal(lh_model_schema_count(m), 69);
  for (size_t i = 0; i < n; i++) {
    const lh_schema *s = S(BUCKETS[i][0]);
    if (strcmp(lh_bucket_name(s->bucket), BUCKETS[i][1]) != 0) {
      print_error("%s: bucket %s, want %s\n", s->name, lh_bucket_name(s->bucket), BUCKETS[i][1]);
      fail();
    }
    /* schema_at is sorted and consistent with lookup */
    assert_ptr_equal(lh_model_schema_at(m, (size_t)s->index), s);
  }
  lh_bucket b;
  assert_int_equal(lh_bucket_parse("interval", &b), 0);
  assert_int_equal(b, LH_BUCKET_INTERVAL);
  assert_int_equal(lh_bucket_parse("nope", &b), LH_EINVAL);
  assert_null(lh_model_schema(m, "Persn"));
  assert_null(lh_model_schema(m, NULL));
}

static void test_is_a(void **state) {
  (void)state;
  const lh_schema *person = S("Person"), *le = S("LegalEntity"), *thing = S("Thing");
  assert_true(lh_schema_is_a(person, le));
  assert_true(lh_schema_is_a(le, thing));
  assert_true(lh_schema_is_a(person, thing));
  assert_true(lh_schema_is_a(person, person));
  assert_false(lh_schema_is_a(thing, person));
  assert_false(lh_schema_is_a(person, S("Company")));
  assert_false(lh_schema_is_a(S("Page"), thing)); /* Page has no parent at all */
  assert_true(lh_schema_is_a(S("Message"), S("Interval")));
  assert_true(lh_schema_is_a(S("Message"), S("Document")));
  assert_true(lh_schema_is_a(S("Email"), S("Folder")));
  /* Person.schemata = sorted self + ancestors */
  assert_int_equal(person->nschemata, 3);
  assert_string_equal(person->schemata[0]->name, "LegalEntity");
  assert_string_equal(person->schemata[1]->name, "Person");
  assert_string_equal(person->schemata[2]->name, "Thing");
  assert_int_equal(person->nextends, 1);
  assert_ptr_equal(person->extends[0], le);
  /* descendants: Thing has 38 others (ftm.md: 39 Thing descendants incl. Thing), Interval 29 */
  assert_int_equal(thing->ndescendants, 38);
  assert_int_equal(S("Interval")->ndescendants, 29);
  assert_int_equal(S("Document")->ndescendants, 13);
  for (size_t i = 0; i < le->ndescendants; i++)
    assert_true(lh_schema_is_a(le->descendants[i], le));
  assert_true(thing->abstract);
  assert_false(person->abstract);
  assert_true(person->matchable);
}

static void test_common_schema(void **state) {
  (void)state;
  const lh_schema *person = S("Person"), *le = S("LegalEntity"), *company = S("Company");
  assert_ptr_equal(lh_schema_common(le, person), person);
  assert_ptr_equal(lh_schema_common(person, le), person);
  assert_ptr_equal(lh_schema_common(person, person), person);
  assert_null(lh_schema_common(person, company));
  assert_ptr_equal(lh_schema_common_ancestor(person, company), le);
  assert_ptr_equal(lh_schema_common_ancestor(S("Sanction"), S("Ownership")), S("Interval"));
}

static void test_properties(void **state) {
  (void)state;
  const lh_schema *person = S("Person");
  const lh_property *name = lh_schema_property(person, "name");
  assert_non_null(name);
  assert_string_equal(name->qname, "Thing:name");
  assert_string_equal(name->type->name, "name");
  assert_ptr_equal(name->schema, S("Thing"));
  const lh_property *bd = lh_schema_property(person, "birthDate");
  assert_string_equal(bd->type->name, "date");
  assert_ptr_equal(lh_schema_property(person, "nationality")->type,
                   lh_model_type(tu_model(), "country"));
  assert_null(lh_schema_property(person, "nmae"));
  assert_null(lh_schema_property(S("Company"), "birthDate"));
  /* properties are sorted by name and include inherited ones */
  for (size_t i = 1; i < person->nproperties; i++)
    assert_true(strcmp(person->properties[i - 1]->name, person->properties[i]->name) < 0);
  /* entity-typed: range and reverse; the reverse is a stub on the range schema */
  const lh_property *owner = lh_schema_property(S("Ownership"), "owner");
  assert_string_equal(owner->type->name, "entity");
  assert_ptr_equal(owner->range, S("LegalEntity"));
  assert_non_null(owner->reverse);
  assert_string_equal(owner->reverse->name, "ownershipOwner");
  assert_true(owner->reverse->stub);
  assert_ptr_equal(owner->reverse->reverse, owner);
  /* stubs are pushed down to descendants */
  const lh_property *stub = lh_schema_property(person, "ownershipOwner");
  assert_non_null(stub);
  assert_true(stub->stub);
  assert_false(owner->stub);
  /* qualified lookup as the pack format uses */
  assert_ptr_equal(lh_model_qualified_property(tu_model(), "Person:birthDate"), bd);
  assert_null(lh_model_qualified_property(tu_model(), "Person:nope"));
  assert_null(lh_model_qualified_property(tu_model(), "noColon"));
  /* formats and caption lists */
  const lh_property *iban = lh_schema_property(S("BankAccount"), "iban");
  assert_non_null(iban->format);
  assert_string_equal(iban->format, "iban");
  assert_true(person->ncaption > 0);
  assert_string_equal(person->caption[0]->name, "name");
  assert_string_equal(S("Ownership")->edge_source->name, "owner");
  assert_string_equal(S("Ownership")->edge_target->name, "asset");
  assert_true(S("Ownership")->ntemporal_start > 0);
}

static void test_types(void **state) {
  (void)state;
  const lh_model *m = tu_model();
  const char *names[] = {"address", "checksum", "country",  "date",       "email",
                         "entity",  "gender",   "html",     "identifier", "ip",
                         "json",    "language", "mimetype", "name",       "number",
                         "phone",   "string",   "text",     "topic",      "url"};
  for (size_t i = 0; i < 20; i++) {
    const lh_type *t = lh_model_type(m, names[i]);
    assert_non_null(t);
    assert_int_not_equal(t->id, LH_TYPE_UNKNOWN);
    assert_ptr_equal(lh_model_type_by_id(m, t->id), t);
  }
  const lh_type *country = lh_model_type(m, "country");
  assert_int_equal(country->nvalues, 281);
  assert_string_equal(lh_type_value_label(country, "de"), "Germany");
  assert_null(lh_type_value_label(country, "xx"));
  assert_int_equal(lh_model_type(m, "language")->nvalues, 64);
  assert_int_equal(lh_model_type(m, "topic")->nvalues, 67);
  assert_int_equal(lh_model_type(m, "gender")->nvalues, 3);
  assert_string_equal(country->group, "countries");
  assert_int_equal(lh_model_type(m, "entity")->max_length, 200);
}

static void test_load_errors(void **state) {
  (void)state;
  lh_model *m = NULL;
  lh_error err = {0};
  const char *cases[][2] = {
      {"{", "invalid JSON"},
      {"{\"schemata\": {}}", "types"},
      {"{\"types\": {}, \"schemata\": {}}", "schemata"},
      {"{\"types\": {\"string\": {}}, \"schemata\": {\"A\": {\"extends\": [\"B\"]}}}",
       "extends unknown schema 'B'"},
      {"{\"types\": {\"string\": {}}, \"schemata\": {\"A\": {\"extends\": [\"B\"]}, \"B\": "
       "{\"extends\": [\"A\"]}}}",
       "cycle"},
      {"{\"types\": {\"string\": {}}, \"schemata\": {\"A\": {\"properties\": {\"x\": {\"type\": "
       "\"nope\"}}}}}",
       "unknown type 'nope'"},
      {"{\"types\": {\"string\": {}}, \"schemata\": {\"A\": {\"caption\": [\"x\"]}}}",
       "unknown property 'x'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_true(lh_model_load(cases[i][0], strlen(cases[i][0]), &m, &err) < 0);
    assert_null(m);
    if (!strstr(err.message, cases[i][1])) {
      print_error("case %zu: '%s' lacks '%s'\n", i, err.message, cases[i][1]);
      fail();
    }
  }
  assert_int_equal(lh_model_load_file("/nonexistent/model.json", &m, &err), LH_ENOTFOUND);
  /* the embedded JSON loads on its own and matches the shared copy of the package */
  size_t len, slen;
  const char *json = lh_model_embedded_json(&len);
  char *shared = tu_read_file(tu_shared("ftm-model/js-4.5.2/defaultModel.json"), &slen);
  assert_int_equal(len, slen);
  assert_memory_equal(json, shared, len);
  free(shared);
  assert_int_equal(lh_model_load(json, len, &m, &err), 0);
  assert_int_equal(lh_model_schema_count(m), 69);
  lh_model_free(m);
}

static void test_custom_model(void **state) {
  (void)state;
  /* a minimal model of our own: inheritance, buckets and stubs work from any model */
  const char *json =
      "{\"types\": {\"string\": {}, \"entity\": {\"maxLength\": 200}, \"name\": {}},"
      " \"schemata\": {"
      "  \"Thing\": {\"abstract\": true, \"properties\": {\"name\": {\"type\": \"name\"}}},"
      "  \"Interval\": {\"abstract\": true},"
      "  \"Person\": {\"extends\": [\"Thing\"], \"caption\": [\"name\"],"
      "     \"properties\": {\"friends\": {\"type\": \"entity\", \"range\": \"Person\"}}},"
      "  \"Deal\": {\"extends\": [\"Interval\"], \"properties\": {\"party\": {\"type\": \"entity\","
      "     \"range\": \"Person\", \"reverse\": \"deals\"}}}}}";
  lh_model *m;
  lh_error err = {0};
  assert_int_equal(lh_model_load(json, strlen(json), &m, &err), 0);
  const lh_schema *p = lh_model_schema(m, "Person");
  assert_non_null(lh_schema_property(p, "name"));
  assert_int_equal(p->bucket, LH_BUCKET_THING);
  assert_int_equal(lh_model_schema(m, "Deal")->bucket, LH_BUCKET_INTERVAL);
  assert_null(lh_model_type(m, "country"));
  lh_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buckets_of_all_schemata),
      cmocka_unit_test(test_is_a),
      cmocka_unit_test(test_common_schema),
      cmocka_unit_test(test_properties),
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_custom_model),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
