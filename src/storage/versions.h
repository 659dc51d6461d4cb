/* Versioned files (inventory §5.5): config.yml, exports/statistics.json and index.json are
 * written together with a snapshot at versions/{YYYY}/{MM}/{TS}/{key}; a write whose bytes
 * equal an earlier version's (tag `{key}-{sha256}`) writes nothing. */
#ifndef LH_STORAGE_VERSIONS_H
#define LH_STORAGE_VERSIONS_H

#include <stdbool.h>

#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Write data under key and a versioned snapshot, and stamp the tags `key` and
 * `key-{sha256}`. *changed (may be NULL): false when identical content was written before. */
int lh_versions_make(lh_store *s, const char *key, const void *data, size_t len, bool *changed,
                     lh_error *err);
/* lh_versions_make for a key that must not exist yet: LH_EEXIST (and nothing written) when it
 * does. The key is published create-exclusive, then the snapshot and the tags follow. */
int lh_versions_create(lh_store *s, const char *key, const void *data, size_t len, lh_error *err);
/* The snapshots of key (versions/.../{key}), oldest first. */
int lh_versions_list(lh_store *s, const char *key, lh_store_key_fn fn, void *ctx, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
