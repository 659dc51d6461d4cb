/* Fuzz target: the path of a config.yml text - YAML -> JSON -> the config checks - then
 * what `configure` does with it: merge, write back as YAML, and read that back unchanged.
 * An alias bomb or deep nesting must fail at a cap, within libFuzzer's -rss_limit_mb. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml.h"
#include "lakehouse/log.h"
#include "model/dataset_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Nodes and string bytes of a parsed document, to hold the loader to its caps (an old
 * loader expanded aliases without bound: this trips long before libFuzzer's RSS limit). */
static void measure(json_t *j, size_t *nodes, size_t *bytes) {
  if (++*nodes > LH_YAML_MAX_NODES)
    return;
  size_t i;
  const char *k;
  json_t *v;
  if (json_is_string(j))
    *bytes += json_string_length(j);
  else if (json_is_array(j))
    json_array_foreach(j, i, v) measure(v, nodes, bytes);
  else if (json_is_object(j))
    json_object_foreach(j, k, v) {
      ++*nodes;
      *bytes += strlen(k);
      measure(v, nodes, bytes);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lh_log_set_level(LH_LOG_ERROR); /* unknown keys are warnings */
  json_t *cfg = NULL, *merged = NULL, *back = NULL;
  lh_error err = {0};
  lh_buf text = LH_BUF_INIT;
  if (lh__config_parse((const char *)data, size, "fuzz/config.yml", &cfg, &err) != 0) {
    if (cfg || err.code == 0)
      __builtin_trap(); /* a failure leaves no config and says why */
    return 0;
  }
  size_t nodes = 0, bytes = 0;
  measure(cfg, &nodes, &bytes);
  if (!json_is_object(cfg) || nodes > LH_YAML_MAX_NODES || bytes > LH_YAML_MAX_BYTES)
    __builtin_trap();
  if (!(merged = json_object()) || lh__config_merge(merged, cfg))
    goto done; /* out of memory */
  if (lh__yaml_dump(merged, &text, &err) != 0 || text.len > LH_YAML_MAX_TEXT)
    goto done; /* configure refuses to write these */
  /* what configure writes, the next command reads back as it was */
  if (lh__config_parse(text.data, text.len, "fuzz/config.yml", &back, &err) != 0 ||
      !json_equal(back, merged))
    __builtin_trap();
done:
  json_decref(cfg);
  json_decref(merged);
  json_decref(back);
  lh_buf_free(&text);
  return 0;
}
