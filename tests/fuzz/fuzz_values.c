/* Fuzz target: the small text parsers - ISO dates, byte sizes, validators, type cleaning. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lakehouse/lakehouse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const lh_model *model;
  if (!model)
    model = lh_model_default(NULL);
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = '\0';
  lh_time t;
  int64_t n;
  lh_time_parse_iso(s, size, &t, NULL);
  lh_time_parse_ts(s, &t, NULL);
  lh_parse_byte_size(s, &n, NULL);
  lh_validate_dataset_name(s, NULL);
  lh_validate_origin(s, NULL);
  lh_validate_checksum(s, NULL);
  lh_store_validate_key(s, NULL);
  lh_buf out = LH_BUF_INIT;
  const char *countries[] = {"de", "gb"};
  lh_clean_opts o = {"iban", countries, 2};
  for (size_t i = 0; i < lh_model_schema_count(model) && i < 1; i++) {
    static const char *const types[] = {"name",     "date",    "country", "language",   "gender",
                                        "topic",    "email",   "url",     "phone",      "ip",
                                        "mimetype", "address", "entity",  "identifier", "text"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
      lh_type_clean(lh_model_type(model, types[k]), s, size, &o, &out);
  }
  lh_buf_free(&out);
  free(s);
  return 0;
}
