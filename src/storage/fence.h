/* The write fence of a dataset (inventory §5.6, fixed): maintenance (merge, compact,
 * vacuum) holds the exclusive `.LOCK`; every append holds its own marker
 * `.LOCK-APPENDS/{id}`. Both are created atomically (create-exclusive) and hold the
 * holder's pid, host, a token and a heartbeat time that a background thread refreshes.
 * A holder whose process has ended on this host, or whose heartbeat is older than
 * LAKEHOUSE_LOCK_STALE_SECONDS, is taken over with a warning, so a crashed writer never
 * needs a manual unlock on the same host. Waits retry LAKEHOUSE_LOCK_MAX_RETRIES times,
 * sleeping n + U(0,1) seconds after the n-th failure. Locks written by the Python project
 * (a bare timestamp) carry no holder and are never taken over. See docs/internals/LOCKS.md. */
#ifndef LH_STORAGE_FENCE_H
#define LH_STORAGE_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/settings.h"
#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_fence lh_fence;

typedef struct lh_fence_opts {
  int max_retries;       /* LAKEHOUSE_LOCK_MAX_RETRIES */
  int stale_seconds;     /* LAKEHOUSE_LOCK_STALE_SECONDS */
  int heartbeat_seconds; /* refresh interval; 0 = stale_seconds / 10 (at least 1) */
  const char *operation; /* recorded in the lock file ("merge", "append", ...) */
} lh_fence_opts;

void lh_fence_opts_from_settings(lh_fence_opts *o, const lh_settings *s, const char *operation);

/* Maintenance: hold `.LOCK`, then wait until no live append marker remains. LH_ELOCKED
 * when the wait is exhausted ("Already locked" / "Write fence busy"). */
int lh_fence_exclusive(lh_store *dataset, const lh_fence_opts *o, lh_fence **out, lh_error *err);
/* Append: hold a marker while `.LOCK` is not held. LH_ELOCKED when the wait is exhausted. */
int lh_fence_shared(lh_store *dataset, const lh_fence_opts *o, lh_fence **out, lh_error *err);
/* A reader of the statement table: a lease `.LOCK-READS/{id}` that never waits and that
 * vacuum respects (it keeps every file a live lease's version may still read). Create it
 * before the snapshot is loaded, then record the version read with lh_fence_set_version. */
int lh_fence_read(lh_store *dataset, const lh_fence_opts *o, lh_fence **out, lh_error *err);
/* Record the table version a read lease reads (the oldest, when called again). */
int lh_fence_set_version(lh_fence *f, int64_t version, lh_error *err);
/* The oldest version live readers read: INT64_MAX when none, -1 when one is still loading
 * its snapshot. Leases of readers that died are removed. */
int lh_fence_readers(lh_store *dataset, const lh_fence_opts *o, int64_t *min_version, size_t *live,
                     lh_error *err);
/* Release (delete the lock file if it is still ours) and free. NULL is fine. */
void lh_fence_release(lh_fence *f);
/* True if another process took the lock over while it was held (heartbeat stalled). */
bool lh_fence_lost(const lh_fence *f);
/* `maintenance unlock`: delete `.LOCK` and every marker; *released says if any existed. */
int lh_fence_unlock(lh_store *dataset, bool *released, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
