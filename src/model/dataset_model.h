/* The dataset model as the Python project writes it (inventory §4.2): FtM's DatasetModel,
 * ftmq's Dataset fields and the lakehouse's own, every field in pydantic's order with its
 * default, the way `model_dump(by_alias=True, mode="json")` gives it; anystore's clean_dict;
 * and the three files made of it: config.yml (YAML of the cleaned model, keys sorted, plus a
 * blank line), index.json and statistics.json (one compact JSON line each). */
#ifndef LH_MODEL_DATASET_MODEL_H
#define LH_MODEL_DATASET_MODEL_H

#include <jansson.h>

#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/ftm.h"

/* The full model of a dataset from its checked config (the keys of config.yml; borrowed),
 * its name and storage URI. Unknown keys of nested objects are dropped, computed fields
 * (mime_type_label, country_label) are filled, `children` takes `datasets` and `scopes`
 * and is sorted. model may be NULL (no labels). NULL when out of memory. */
json_t *lh__dataset_model(const json_t *config, const char *name, const char *uri,
                          const lh_model *model);
/* A DataResource (name, url, checksum, timestamp, mime_type, title, size and the computed
 * mime_type_label) from an object with those keys. NULL when out of memory. */
json_t *lh__dataset_resource(const json_t *src);
/* The default statistics (DatasetStats()): zero counts, empty lists. */
json_t *lh__dataset_stats_default(void);
/* anystore's clean_dict: null and "" are dropped (null also inside mappings in lists),
 * false, 0 and lists (empty ones too) are kept, a mapping left empty is dropped. A new
 * reference; NULL when out of memory. */
json_t *lh__model_clean(const json_t *v);
/* config.yml: the cleaned model as PyYAML's yaml.dump writes it, plus a blank line. */
int lh__dataset_model_yaml(const json_t *model, lh_buf *out, lh_error *err);
/* One compact JSON line (orjson's form: no spaces, non-ASCII as UTF-8) and a newline. */
int lh__model_json_line(const json_t *v, lh_buf *out, lh_error *err);

#endif
