/* Validators for dataset names, origins, file ids and archive checksums. */
#include <stdbool.h>
#include <string.h>

#include "core/text.h"
#include "lakehouse/validate.h"

int lh_validate_dataset_name(const char *name, lh_error *err) {
  char pb[128];
  if (!name || !*name)
    return lh_error_set(err, LH_EINVAL, "invalid dataset name: must not be empty");
  if (strcmp(name, "catalog") == 0 || strcmp(name, "default") == 0)
    return lh_error_set(err, LH_EINVAL, "invalid dataset name '%s': the name is reserved", name);
  bool prev_sep = true; /* no leading '_' */
  for (const char *p = name; *p; p++) {
    char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      prev_sep = false;
    } else if (c == '_' && !prev_sep) {
      prev_sep = true;
    } else {
      return lh_error_set(err, LH_EINVAL,
                          "invalid dataset name '%s': use lowercase letters, digits and single "
                          "'_' separators",
                          lh__printable(name, strlen(name), pb, sizeof pb));
    }
  }
  if (prev_sep)
    return lh_error_set(err, LH_EINVAL, "invalid dataset name '%s': must not end with '_'",
                        lh__printable(name, strlen(name), pb, sizeof pb));
  return 0;
}

int lh_safe_name(const char *value, const char *field, lh_error *err) {
  char pb[128];
  if (!value)
    return lh_error_set(err, LH_EINVAL, "invalid %s: must be a string", field);
  size_t n = strlen(value);
  if (n == 0)
    return lh_error_set(err, LH_EINVAL, "invalid %s: must not be empty", field);
  if (n > LH_SAFE_NAME_MAX)
    return lh_error_set(err, LH_EINVAL, "invalid %s: longer than %d bytes", field,
                        LH_SAFE_NAME_MAX);
  if (strcmp(value, ".") == 0 || strcmp(value, "..") == 0 || strstr(value, ".."))
    return lh_error_set(err, LH_EINVAL, "invalid %s '%s': must not contain '..'", field,
                        lh__printable(value, strlen(value), pb, sizeof pb));
  for (const char *p = value; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
      return lh_error_set(err, LH_EINVAL,
                          "invalid %s '%s': must not contain control characters, '/' or '\\'",
                          field, lh__printable(value, strlen(value), pb, sizeof pb));
  }
  return 0;
}

int lh_validate_origin(const char *origin, lh_error *err) {
  return lh_safe_name(origin, "origin", err);
}

int lh_validate_file_id(const char *file_id, lh_error *err) {
  return lh_safe_name(file_id, "file_id", err);
}

int lh_validate_checksum(const char *checksum, lh_error *err) {
  char pb[128];
  if (!checksum)
    return lh_error_set(err, LH_EINVAL, "invalid checksum: must be a string");
  size_t n = 0;
  for (const char *p = checksum; *p; p++, n++) {
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return lh_error_set(err, LH_EINVAL,
                          "invalid checksum '%s': expected 64 lowercase hex characters (sha256)",
                          lh__printable(checksum, strlen(checksum), pb, sizeof pb));
  }
  if (n != 64)
    return lh_error_set(err, LH_EINVAL,
                        "invalid checksum '%s': expected 64 lowercase hex characters, got %zu",
                        lh__printable(checksum, strlen(checksum), pb, sizeof pb), n);
  return 0;
}
