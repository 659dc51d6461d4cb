#include "testutil.h"

static void test_model_loads(void **state) {
  (void)state;
  const lh_model *m = tu_model();
  assert_int_equal(lh_model_schema_count(m), 69);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_model_loads)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
