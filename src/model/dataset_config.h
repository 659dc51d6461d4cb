/* The dataset configuration (config.yml, inventory §4.2): checking the known keys and the
 * merge-update rule of `configure` / `make -c`. Pure data, no IO. */
#ifndef LH_MODEL_DATASET_CONFIG_H
#define LH_MODEL_DATASET_CONFIG_H

#include <jansson.h>

#include "lakehouse/error.h"

/* Parse config.yml text (YAML, bounded by core/yaml.h's caps) and check it with
 * lh__config_check; an empty document is an empty mapping. On success *out is the checked
 * object (the caller's); on error *out is NULL and errors name `where`. */
int lh__config_parse(const char *text, size_t len, const char *where, json_t **out, lh_error *err);
/* Check the types and values of the known keys of cfg (an object); errors name `where`
 * and the key. Unknown keys are dropped with a warning (the Python model ignores them);
 * `name`, `uri` and `storage` are dropped silently. */
int lh__config_check(json_t *cfg, const char *where, lh_error *err);
/* anystore's dict_merge: None and "" are ignored, scalars of src overwrite, lists are
 * united (order kept, duplicates dropped), objects merged recursively. */
int lh__config_merge(json_t *dst, json_t *src);

#endif
