/* The catalog: the lake root and the datasets in it. A dataset is a direct child folder of
 * the root that holds a config.yml. */
#ifndef LAKEHOUSE_CATALOG_H
#define LAKEHOUSE_CATALOG_H

#include <stddef.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_catalog lh_catalog;

LH_API int lh_catalog_open(const char *uri, lh_catalog **out, lh_error *err);
LH_API void lh_catalog_close(lh_catalog *c);
LH_API const char *lh_catalog_uri(const lh_catalog *c);
LH_API lh_store *lh_catalog_store(lh_catalog *c);

/* Dataset names in byte order. Free with lh_strv_free. */
LH_API int lh_catalog_list(lh_catalog *c, char ***names, size_t *n, lh_error *err);
LH_API void lh_strv_free(char **v, size_t n);
/* {catalog}/{name}; the name is validated. Caller frees. */
LH_API char *lh_catalog_dataset_uri(const lh_catalog *c, const char *name, lh_error *err);
/* The dataset's config.yml as one compact JSON object with `name` and `uri` set
 * (LH_ENOTFOUND when the dataset has no config). */
LH_API int lh_catalog_dataset_json(lh_catalog *c, const char *name, lh_buf *out, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
