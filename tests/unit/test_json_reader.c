/* core/json_reader: strict like jansson, checked against jansson as the oracle on hand-written
 * edge cases, every line of the shared data, and systematic mutations of those lines. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_reader.h"
#include "testutil.h"

/* Convert our DOM to a jansson value for comparison. */
static json_t *to_jansson(const lh__jval *v) {
  switch (v->type) {
  case LH__J_NULL: return json_null();
  case LH__J_TRUE: return json_true();
  case LH__J_FALSE: return json_false();
  case LH__J_NUMBER: return json_loadb(v->u.s, v->n, JSON_DECODE_ANY, NULL);
  case LH__J_STRING: return json_stringn(v->u.s, v->n);
  case LH__J_ARRAY: {
    json_t *a = json_array();
    for (uint32_t i = 0; i < v->n; i++)
      json_array_append_new(a, to_jansson(&v->u.items[i]));
    return a;
  }
  case LH__J_OBJECT: {
    json_t *o = json_object();
    for (uint32_t i = 0; i < v->n; i++)
      json_object_setn_new(o, v->u.members[i].key, v->u.members[i].key_len,
                           to_jansson(&v->u.members[i].val));
    return o;
  }
  }
  return NULL;
}

/* Returns 1 accepted, 0 rejected; with check, asserts agreement with jansson. */
static int parse_both(lh__json_parser *p, lh__arena *a, const char *text, size_t len, bool check) {
  lh__jval v;
  lh__json_error e;
  lh__arena_reset(a);
  int rc = lh__json_parse(p, text, len, a, &v, &e);
  json_error_t je;
  json_t *oracle = json_loadb(text, len, JSON_DECODE_ANY, &je);
  if (check && ((rc == 0) != (oracle != NULL))) {
    print_error("disagreement on '%.*s': ours %s, jansson %s\n", (int)(len > 200 ? 200 : len), text,
                rc == 0 ? "accepts" : e.message, oracle ? "accepts" : je.text);
    fail();
  }
  if (rc == 0 && oracle) {
    json_t *ours = to_jansson(&v);
    if (!json_equal(ours, oracle)) {
      print_error("different values for '%.*s'\n", (int)(len > 200 ? 200 : len), text);
      fail();
    }
    json_decref(ours);
    /* the raw span of the root is the whole value (whitespace trimmed) */
    assert_true(v.raw >= text && v.raw + v.raw_len <= text + len);
  }
  if (rc != 0)
    assert_true(e.offset <= len);
  json_decref(oracle);
  return rc == 0;
}

static void test_edge_cases(void **state) {
  (void)state;
  lh__json_parser *p = lh__json_parser_new();
  lh__arena a;
  lh__arena_init(&a, 4096, 0);
  const char *cases[] = {
      "{}",
      "[]",
      "[1,2.5,-0,1e10,1E-2,0.5e+3]",
      "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
      "\"\\u00e9\\u20ac\\ud83d\\ude00\"",
      "{\"a\":{\"b\":[true,false,null]}}",
      " \n\t{\"k\" : 1 }\r\n",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
      "{\"dup\":1,\"dup\":2}",
      /* rejected by both */
      "[01]",
      "\"tab\there\"",
      "\"\xff\xfe\"",
      "\"\xc0\xaf\"",
      "\"\\ud800\"",
      "\"\\udc00x\"",
      "[NaN]",
      "\"\\u0000\"",
      "",
      "   ",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{1:2}",
      "[1 2]",
      "tru",
      "nulll",
      "\"unterminated",
      "\"bad escape \\x\"",
      "\"\\u12g4\"",
      "[-]",
      "[1.]",
      "[.5]",
      "[1e]",
      "[+1]",
      "{\"a\":1}x",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xe2\x82\"",
      "[\"\\uD834\\uDD1E\"]",
      "\"\\uDBFF\\uDFFF\"",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    parse_both(p, &a, cases[i], strlen(cases[i]), true);
  /* a NUL byte inside a string is rejected (jansson too) */
  parse_both(p, &a, "\"a\0b\"", 5, true);
  /* nesting: 64 levels are fine, 65 are refused with LH_ELIMIT, never a stack overflow */
  char deep[200];
  for (int d = 64; d <= 65; d++) {
    memset(deep, '[', (size_t)d);
    memset(deep + d, ']', (size_t)d);
    lh__jval v;
    lh__json_error e;
    int rc = lh__json_parse(p, deep, (size_t)(2 * d), &a, &v, &e);
    assert_int_equal(rc, d == 64 ? 0 : LH_ELIMIT);
  }
  char *huge = malloc(1000001);
  memset(huge, '[', 1000000);
  lh__jval v;
  lh__json_error e;
  assert_int_equal(lh__json_parse(p, huge, 1000000, &a, &v, &e), LH_ELIMIT);
  free(huge);
  /* known difference: numbers are kept as text, so 1e999 is accepted (jansson overflows) */
  assert_int_equal(lh__json_parse(p, "[1e999]", 7, &a, &v, &e), 0);
  assert_string_equal(v.u.items[0].u.s, "1e999");
  /* member lookup: last occurrence wins */
  assert_int_equal(lh__json_parse(p, "{\"k\":1,\"k\":\"two\"}", 17, &a, &v, &e), 0);
  assert_string_equal(lh__json_get(&v, "k")->u.s, "two");
  assert_null(lh__json_get(&v, "missing"));
  lh__arena_free(&a);
  lh__json_parser_free(p);
}

static void test_shared_data_and_mutations(void **state) {
  (void)state;
  const char *files[] = {
      "data/wd_persons/entities.ftm.json", "data/yente-fixtures/zala/entities.ftm.json",
      "data/yente-fixtures/entities.delta.json", "data/nomenklatura-fixtures/donations.ijson",
      "data/aleph-fixtures/samples.ijson"};
  lh__json_parser *p = lh__json_parser_new();
  lh__arena a;
  lh__arena_init(&a, 65536, 0);
  size_t lines = 0, mutants = 0, rejected = 0;
  unsigned seed = 12345;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    size_t len;
    char *text = tu_read_file(tu_shared(files[f]), &len);
    char *line = text;
    while (line < text + len) {
      char *nl = memchr(line, '\n', (size_t)(text + len - line));
      size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
      if (n) {
        assert_int_equal(parse_both(p, &a, line, n, true), 1);
        lines++;
        /* mutations: truncation, a flipped byte, an inserted quote/brace/control/high byte */
        if (lines % 7 == 0) {
          char *m = malloc(n + 2);
          static const char inserts[] = {'"', '{', ']', ',', '\x01', '\xff', '\\', ':'};
          for (int k = 0; k < 6; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % n;
            memcpy(m, line, n);
            size_t mlen = n;
            if (k == 0) {
              mlen = pos;
            } else if (k == 1) {
              m[pos] ^= (char)(1u << ((seed >> 4) & 7));
            } else {
              memmove(m + pos + 1, m + pos, n - pos);
              m[pos] = inserts[(seed >> 3) % sizeof inserts];
              mlen = n + 1;
            }
            rejected += !parse_both(p, &a, m, mlen, true);
            mutants++;
          }
          free(m);
        }
      }
      line += n + 1;
    }
    free(text);
  }
  assert_int_equal(lines, 281 + 91 + 1700 + 474 + 21);
  assert_true(mutants > 1000);
  assert_true(rejected > mutants / 2); /* most mutations break the JSON */
  lh__arena_free(&a);
  lh__json_parser_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edge_cases),
      cmocka_unit_test(test_shared_data_and_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
