/* YAML (config.yml) to jansson JSON, with PyYAML safe_load scalar rules: plain scalars
 * become null / booleans / integers / floats where they look like one, everything else
 * (and every quoted or block scalar) a string. Errors name the line. */
#ifndef LH_CORE_YAML_H
#define LH_CORE_YAML_H

#include <jansson.h>

#include "lakehouse/buf.h"
#include "lakehouse/error.h"

int lh__yaml_to_json(const char *text, size_t len, json_t **out, lh_error *err);
/* Append j as a YAML document the way PyYAML's yaml.dump writes it: block style, mapping
 * keys sorted, strings that would read back as another type single-quoted. */
int lh__yaml_dump(json_t *j, lh_buf *out, lh_error *err);

#endif
