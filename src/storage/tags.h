/* Freshness tags (inventory §5.2): a UTC timestamp per key at tags/{tenant}/{key}, stored
 * as a JSON string ("2026-08-22T10:15:00.123456+00:00"), as the Python project writes
 * them. "touch" semantics: take lh_time_now() when work starts and set the tag with that
 * time only after the work succeeded. */
#ifndef LH_STORAGE_TAGS_H
#define LH_STORAGE_TAGS_H

#include <stddef.h>

#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_tags lh_tags;

/* Tags inside `store` (borrowed; it must outlive the tags); tenant NULL = "lakehouse". */
int lh_tags_open(lh_store *store, const char *tenant, lh_tags **out, lh_error *err);
void lh_tags_close(lh_tags *t);
/* LH_ENOTFOUND when the tag does not exist; LH_EPARSE for a value that is no timestamp. */
int lh_tags_get(lh_tags *t, const char *key, lh_time *out, lh_error *err);
int lh_tags_set(lh_tags *t, const char *key, lh_time value, lh_error *err);
int lh_tags_exists(lh_tags *t, const char *key, lh_error *err);
int lh_tags_delete(lh_tags *t, const char *key, lh_error *err);
/* 1 if key exists, at least one dependency exists and key is newer than every existing
 * dependency; 0 otherwise; negative on error. */
int lh_tags_is_latest(lh_tags *t, const char *key, const char *const *deps, size_t ndeps,
                      lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
