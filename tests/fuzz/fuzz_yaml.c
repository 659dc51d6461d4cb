/* Fuzz target: config.yml (YAML -> JSON). */
#include <stddef.h>
#include <stdint.h>

#include "core/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_t *j = NULL;
  lh_error err = {0};
  if (lh__yaml_to_json((const char *)data, size, &j, &err) == 0)
    json_decref(j);
  return 0;
}
