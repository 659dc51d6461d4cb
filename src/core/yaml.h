/* YAML (config.yml) to jansson JSON, with PyYAML safe_load scalar rules: plain scalars
 * become null / booleans / integers / floats where they look like one, everything else
 * (and every quoted or block scalar) a string. Errors name the line. */
#ifndef LH_CORE_YAML_H
#define LH_CORE_YAML_H

#include <jansson.h>

#include "lakehouse/error.h"

int lh__yaml_to_json(const char *text, size_t len, json_t **out, lh_error *err);

#endif
