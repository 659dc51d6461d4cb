/* ftm/: property type cleaning (ftm.md §2). Each case: type, format, input, expected
 * cleaned value or NULL when the value must be dropped. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef struct tcase {
  const char *type;
  const char *format;
  const char *in;
  const char *want; /* NULL: dropped */
} tcase;

static const tcase CASES[] = {
    /* generic sanitising: trim, control characters, NFC, invalid UTF-8 */
    {"string", NULL, "  hello  ", "hello"},
    {"string", NULL,
     "a\x01"
     "b\x7f"
     "c",
     "abc"},
    {"string", NULL, "e\xcc\x81", "\xc3\xa9"}, /* e + combining acute -> é (NFC) */
    {"string", NULL, "bad\xff", "bad\xef\xbf\xbd"},
    {"string", NULL, "   ", NULL},
    {"string", NULL, "\x01\x02\x7f", NULL}, /* only control characters */
    {"string", NULL, "", NULL},
    {"text", NULL, "line one\nline two\t", "line one\nline two"},
    {"html", NULL, "<b>bold</b>", "<b>bold</b>"},
    {"string", NULL, "\xc2\xa0nbsp\xe3\x80\x80", "nbsp"},
    /* name */
    {"name", NULL, "  \"John   Smith\"  ", "John Smith"},
    {"name", NULL, "\xe2\x80\x9cO'Neil\xe2\x80\x9d", "O'Neil"},
    {"name", NULL, "\"\"", NULL},
    /* date (prefixdate) */
    {"date", NULL, "2021", "2021"},
    {"date", NULL, "2021-02", "2021-02"},
    {"date", NULL, "2021-2-3", "2021-02-03"},
    {"date", NULL, "2021-02-16T21", "2021-02-16T21"},
    {"date", NULL, "2021-02-16 21:48", "2021-02-16T21:48"},
    {"date", NULL, "2021-02-16T21:48:52", "2021-02-16T21:48:52"},
    {"date", NULL, "2021-02-16T21:48:52.123456Z", "2021-02-16T21:48:52"},
    {"date", NULL, "2021-02-16T23:30:00+02:00", "2021-02-16T21:30:00"},
    {"date", NULL, "2021-02-16T01:30-0200", "2021-02-16T03:30"},
    {"date", NULL, "2021-12-31T23:00:00-02:00", "2022-01-01T01:00:00"},
    {"date", NULL, "1933-09-28T00:00:00Z", "1933-09-28T00:00:00"},
    {"date", NULL, "2021-02-16 (approx.)", "2021-02-16"},
    {"date", NULL, "2021-13-01", "2021"},
    {"date", NULL, "2021-02-30", "2021-02"},
    {"date", NULL, "2021-02-16T25:00", "2021-02-16"},
    {"date", NULL, "2020-02-29", "2020-02-29"},
    {"date", NULL, "0999-01-01", NULL},
    {"date", NULL, "3021", NULL},
    {"date", NULL, "yesterday", NULL},
    {"date", NULL, "21-02-2021", NULL},
    /* country: code, label, case */
    {"country", NULL, "de", "de"},
    {"country", NULL, "DE", "de"},
    {"country", NULL, "Germany", "de"},
    {"country", NULL, "germany ", "de"},
    {"country", NULL, "gb-sct", "gb-sct"},
    {"country", NULL, "Saudi Arabia", "sa"},
    {"country", NULL, "Atlantis", NULL},
    /* language */
    {"language", NULL, "eng", "eng"},
    {"language", NULL, "en", "eng"},
    {"language", NULL, "DE", "deu"},
    {"language", NULL, "ger", "deu"},
    {"language", NULL, "pt-BR", "por"},
    {"language", NULL, "xyz", NULL},
    /* gender */
    {"gender", NULL, "Male", "male"},
    {"gender", NULL, "f", "female"},
    {"gender", NULL, "M\xc3\x84NNLICH", "male"},
    {"gender", NULL, "\xd0\x96\xd0\x95\xd0\x9d\xd0\xa1\xd0\x9a\xd0\x98\xd0\x99", "female"},
    {"gender", NULL, "divers", "other"},
    {"gender", NULL, "unknown", NULL},
    /* topic */
    {"topic", NULL, "Sanction", "sanction"},
    {"topic", NULL, "role.pep", "role.pep"},
    {"topic", NULL, "role.nope", NULL},
    /* email */
    {"email", NULL, "John.Doe@Example.COM.", "John.Doe@example.com"},
    {"email", NULL, "'info@example.org'", "info@example.org"},
    {"email", NULL, "not an email", NULL},
    {"email", NULL, "a@b", NULL},
    {"email", NULL, "a@@b.org", NULL},
    {"email", NULL, "@example.org", NULL},
    /* url */
    {"url", NULL, "http://www.alfawzan.af.org.sa", "http://www.alfawzan.af.org.sa/"},
    {"url", NULL, "www.example.org/path?q=1", "http://www.example.org/path?q=1"},
    {"url", NULL, "HTTPS://Example.ORG/Path", "https://example.org/Path"},
    {"url", NULL, "https://example.org/a b", "https://example.org/a%20b"},
    {"url", NULL, "http://", NULL},
    /* phone */
    {"phone", NULL, "+387 60 183 628", "+38760183628"},
    {"phone", NULL, "0044 20 7946 0958", "+442079460958"},
    {"phone", NULL, "(+49) 30-1234567", "+49301234567"},
    {"phone", NULL, "123", NULL},
    {"phone", NULL, "call me", NULL},
    {"phone", NULL, "030 1234567", NULL}, /* national number without a country hint */
    /* ip */
    {"ip", NULL, "192.168.1.143", "192.168.1.143"},
    {"ip", NULL, "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"ip", NULL, "256.1.1.1", NULL},
    {"ip", NULL, "localhost", NULL},
    /* mimetype */
    {"mimetype", NULL, "Text/HTML; charset=UTF-8", "text/html"},
    {"mimetype", NULL, "application/pdf", "application/pdf"},
    {"mimetype", NULL, "application/octet-stream", NULL},
    {"mimetype", NULL, "pdf", NULL},
    /* address */
    {"address", NULL, "1 Main St\nSpringfield;  USA", "1 Main St, Springfield, USA"},
    {"address", NULL, "Flat 2,, Baker St,. London", "Flat 2, Baker St, London"},
    {"address", NULL, "John Smith ESQ., Law Court<BR>Dublin", "John Smith , Law Court, Dublin"},
    /* entity ids */
    {"entity", NULL, "Q7747", "Q7747"},
    {"entity", NULL, "wd-05eb82d0264eea1208572d0237407744b95977bc",
     "wd-05eb82d0264eea1208572d0237407744b95977bc"},
    {"entity", NULL, "a.b-c", "a.b-c"},
    {"entity", NULL, "jane doe", NULL},
    {"entity", NULL, "-leading", NULL},
    {"entity", NULL, "trailing.", NULL},
    /* identifiers with formats */
    {"identifier", NULL, " AB-123 ", "AB-123"},
    {"identifier", "iban", "cy17 0020 0128 0000 0012 0052 7600", "CY17002001280000001200527600"},
    {"identifier", "iban", "CY18002001280000001200527600", NULL},
    {"identifier", "bic", "deut de ff", "DEUTDEFF"},
    {"identifier", "bic", "DEUT12FF", NULL},
    {"identifier", "lei", "815600e4e1b5f1b7a274", "815600E4E1B5F1B7A274"},
    {"identifier", "lei", "815600E4E1B5F1B7A209", NULL},
    {"identifier", "isin", "US0378331005", "US0378331005"},
    {"identifier", "isin", "US0378331006", NULL},
    {"identifier", "imo", "IMO 9074729", "IMO9074729"},
    {"identifier", "imo", "9074729", "IMO9074729"},
    {"identifier", "imo", "9074728", NULL},
    {"identifier", "qid", "q42", "Q42"},
    {"identifier", "qid", "Q42a", NULL},
    {"identifier", "inn", "7707083893", "7707083893"},
    /* pass-through types */
    {"number", NULL, "1,000 kg", "1,000 kg"},
    {"json", NULL, "{\"a\": 1}", "{\"a\": 1}"},
    {"checksum", NULL, "5e4b1f0c8d2a0b7f3b6a1e9c2d4f6a8b0c1d2e3f",
     "5e4b1f0c8d2a0b7f3b6a1e9c2d4f6a8b0c1d2e3f"},
};

static void test_clean_cases(void **state) {
  (void)state;
  const lh_model *m = tu_model();
  lh_buf out = LH_BUF_INIT;
  int failures = 0;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    const tcase *c = &CASES[i];
    const lh_type *t = lh_model_type(m, c->type);
    assert_non_null(t);
    lh_clean_opts o = {c->format, NULL, 0};
    int rc = lh_type_clean(t, c->in, strlen(c->in), &o, &out);
    assert_true(rc >= 0);
    bool ok = c->want ? rc == 1 && strcmp(out.data, c->want) == 0 : rc == 0;
    if (!ok) {
      print_error("%s(%s) '%s': got %s'%s', want '%s'\n", c->type, c->format ? c->format : "",
                  c->in, rc == 1 ? "" : "DROPPED ", rc == 1 ? out.data : "",
                  c->want ? c->want : "DROPPED");
      failures++;
    }
  }
  lh_buf_free(&out);
  assert_int_equal(failures, 0);
  /* an empty value on a never-used buffer is dropped, not a crash */
  lh_buf fresh = LH_BUF_INIT;
  assert_int_equal(lh_type_clean(lh_model_type(m, "name"), "", 0, NULL, &fresh), 0);
  assert_int_equal(lh_type_clean(lh_model_type(m, "name"), "\x01", 1, NULL, &fresh), 0);
  lh_buf_free(&fresh);
}

static void test_phone_country_hints(void **state) {
  (void)state;
  const lh_type *phone = lh_model_type(tu_model(), "phone");
  lh_buf out = LH_BUF_INIT;
  const char *de[] = {"de"};
  lh_clean_opts o = {NULL, de, 1};
  assert_int_equal(lh_type_clean(phone, "030 1234567", 11, &o, &out), 1);
  assert_string_equal(out.data, "+49301234567");
  /* through an entity: countries added before phones are the region hints */
  lh_entity *e = NULL;
  assert_int_equal(lh_entity_new(tu_model(), &e, NULL), 0);
  lh_entity_set_schema(e, lh_model_schema(tu_model(), "Person"));
  lh_error err = {0};
  assert_int_equal(lh_entity_set_id(e, "p1", 2, &err), 0);
  assert_int_equal(lh_entity_add(e, "country", "Germany", 7, LH_ADD_CLEAN, &err), 1);
  assert_int_equal(lh_entity_add(e, "phone", "030 1234567", 11, LH_ADD_CLEAN, &err), 1);
  size_t n;
  const char *const *v = lh_entity_values(e, "phone", &n);
  assert_int_equal(n, 1);
  assert_string_equal(v[0], "+49301234567");
  v = lh_entity_values(e, "country", &n);
  assert_string_equal(v[0], "de");
  /* invalid values are dropped, not errors */
  assert_int_equal(lh_entity_add(e, "birthDate", "someday", 7, LH_ADD_CLEAN, &err), 0);
  lh_entity_values(e, "birthDate", &n);
  assert_int_equal(n, 0);
  lh_entity_free(e);
  lh_buf_free(&out);
}

static void test_territories_file(void **state) {
  (void)state;
  /* with the rigour territories table: alpha-3 codes, QIDs, strong names, and codes of
   * non-FtM territories mapped to their FtM parent */
  lh_model *m;
  lh_error err = {0};
  size_t len;
  const char *json = lh_model_embedded_json(&len);
  assert_int_equal(lh_model_load(json, len, &m, &err), 0);
  const lh_type *country = lh_model_type(m, "country");
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_type_clean(country, "deu", 3, NULL, &out), 0);
  extern int lh__model_territories_load(lh_model *, const char *, lh_error *);
  assert_int_equal(
      lh__model_territories_load(m, tu_shared("ftm-model/rigour-territories/data.jsonl"), &err), 0);
  const char *cases[][2] = {{"deu", "de"},
                            {"DEU", "de"},
                            {"Q183", "de"},
                            {"Deutschland", "de"},
                            {"de", "de"},
                            {"Germany", "de"},
                            {"Principado de Andorra", "ad"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = lh_type_clean(country, cases[i][0], strlen(cases[i][0]), NULL, &out);
    if (rc != 1 || strcmp(out.data, cases[i][1]) != 0) {
      print_error("'%s' -> %s, want %s\n", cases[i][0], rc == 1 ? out.data : "(dropped)",
                  cases[i][1]);
      fail();
    }
  }
  assert_int_equal(lh__model_territories_load(m, "/nonexistent.jsonl", &err), LH_ENOTFOUND);
  lh_buf_free(&out);
  lh_model_free(m);
}

static void test_entity_ids(void **state) {
  (void)state;
  assert_true(lh_entity_id_valid("a", 1));
  assert_true(lh_entity_id_valid("NK-2Tbri3s6GgNtAwsSXh4qpL", 25));
  assert_false(lh_entity_id_valid("", 0));
  assert_false(lh_entity_id_valid("a_b", 3));
  char long_id[202];
  memset(long_id, 'a', 201);
  long_id[201] = '\0';
  assert_true(lh_entity_id_valid(long_id, 200));
  assert_false(lh_entity_id_valid(long_id, 201));
  /* namespace stripping (inventory §8.2) */
  assert_int_equal(lh_entity_id_strip_namespace("jane.f00dbabe", 13), 4);
  assert_int_equal(lh_entity_id_strip_namespace("a.b.c", 5), 3);
  assert_int_equal(lh_entity_id_strip_namespace("jane", 4), 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_cases),
      cmocka_unit_test(test_phone_country_hints),
      cmocka_unit_test(test_territories_file),
      cmocka_unit_test(test_entity_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
