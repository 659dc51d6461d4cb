/* YAML (config.yml) to jansson JSON, with PyYAML safe_load scalar rules: plain scalars
 * become null / booleans / integers / floats where they look like one, everything else
 * (and every quoted or block scalar) a string. Errors name the line. */
#ifndef LH_CORE_YAML_H
#define LH_CORE_YAML_H

#include <jansson.h>

#include "lakehouse/buf.h"
#include "lakehouse/error.h"

/* Caps of a YAML text (a config.yml is a few KB): hostile input fails with LH_ELIMIT. */
#define LH_YAML_MAX_TEXT (1 << 20)  /* bytes of YAML text */
#define LH_YAML_MAX_DEPTH 64        /* nested sequences and mappings */
#define LH_YAML_MAX_NODES 100000    /* values produced, every alias expanded */
#define LH_YAML_MAX_BYTES (4 << 20) /* scalar bytes produced, every alias expanded */

/* Parse one YAML document into *out (the caller's; an empty text is JSON null). Aliases
 * are expanded into copies; a duplicate mapping key is an error. On error *out is NULL. */
int lh__yaml_to_json(const char *text, size_t len, json_t **out, lh_error *err);
/* Append j as a YAML document the way PyYAML's yaml.dump writes it: block style, mapping
 * keys sorted, strings that would read back as another type single-quoted. */
int lh__yaml_dump(json_t *j, lh_buf *out, lh_error *err);

#endif
