/* Fuzz target: entity JSON lines (the fast JSON reader + entity building + explode +
 * write-back). Must never crash, leak or read out of bounds on any input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lakehouse/lakehouse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const lh_statement *st, void *ctx) {
  (void)st;
  (*(size_t *)ctx)++;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const lh_model *model;
  static lh_entity *e;
  static lh_exploder *x;
  if (!model) {
    model = lh_model_default(NULL);
    lh_entity_new(model, &e, NULL);
    lh_explode_opts o = {.dataset = "fuzz", .last_seen = LH_TIME_NULL, .now = 0};
    lh_exploder_new(&o, &x, NULL);
  }
  lh_error err = {0};
  lh_delta_op op;
  for (unsigned flags = 0; flags <= LH_PARSE_SKIP_UNKNOWN; flags++) {
    if (lh_entity_parse_json(e, (const char *)data, size, flags, &op, &err) != 0)
      continue;
    lh_buf out = LH_BUF_INIT;
    lh_entity_write_json(e, LH_JSON_SORT_VALUES, &out);
    /* what we write, we read back */
    lh_entity *back = NULL;
    lh_entity_new(model, &back, NULL);
    if (out.data && lh_entity_parse_json(back, out.data, out.len, 0, NULL, &err) != 0 &&
        op != LH_DELTA_DEL)
      __builtin_trap();
    lh_entity_free(back);
    lh_buf_free(&out);
    size_t n = 0;
    if (op != LH_DELTA_DEL)
      lh_exploder_run(x, e, count, &n, &err);
  }
  return 0;
}
