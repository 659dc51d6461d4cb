/* Validators for names that flow into paths, SQL identifiers and tag keys
 * (inventory §11.2 items 1-5). Each returns 0 or LH_EINVAL with a message naming the field. */
#ifndef LAKEHOUSE_VALIDATE_H
#define LAKEHOUSE_VALIDATE_H

#include "lakehouse/api.h"
#include "lakehouse/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_SAFE_NAME_MAX 255

/* Lowercase ASCII letters and digits with single '_' separators; not "catalog"/"default". */
LH_API int lh_validate_dataset_name(const char *name, lh_error *err);
/* Non-empty, <= 255 bytes, not "." / "..", no "..", no control chars, '/' or '\'. */
LH_API int lh_safe_name(const char *value, const char *field, lh_error *err);
LH_API int lh_validate_origin(const char *origin, lh_error *err);
LH_API int lh_validate_file_id(const char *file_id, lh_error *err);
/* Exactly 64 lowercase hex characters (SHA-256). */
LH_API int lh_validate_checksum(const char *checksum, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
