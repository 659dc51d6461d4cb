/* URI helpers shared by settings, store and catalog: scheme detection, local paths. */
#ifndef LH_CORE_URI_H
#define LH_CORE_URI_H

#include <stdbool.h>

#include "lakehouse/error.h"

typedef enum lh__uri_kind { LH__URI_FILE, LH__URI_S3, LH__URI_HTTP, LH__URI_OTHER } lh__uri_kind;

lh__uri_kind lh__uri_kind_of(const char *uri);
/* Absolute, normalised local path for a plain path or file:// URI (need not exist);
 * NULL with err set for other schemes. Caller frees. */
char *lh__uri_local_path(const char *uri, lh_error *err);
/* "base/name" without doubled slashes. Caller frees. */
char *lh__uri_join(const char *base, const char *name);

#endif
