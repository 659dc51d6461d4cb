/* Key/value object store over a URI: the file-like storage everything except the journal
 * lives in. Keys are '/'-separated paths relative to the store root ("config.yml",
 * "tags/lakehouse/journal/last_updated"); ".." segments, absolute keys and control bytes are
 * refused. Backends: local filesystem (plain paths and file://). s3:// and http(s)://
 * slot in behind the same calls.
 *
 * Atomicity: put replaces a key atomically (readers see the old or the new content, never
 * a mix); create publishes a key only if it does not exist yet (LH_EEXIST otherwise);
 * a writer publishes on commit and leaves nothing behind on abort. */
#ifndef LAKEHOUSE_STORE_H
#define LAKEHOUSE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_store lh_store;
typedef struct lh_reader lh_reader;
typedef struct lh_writer lh_writer;

typedef struct lh_store_info {
  int64_t size;    /* bytes */
  lh_time mtime;   /* last modification, UTC */
  lh_time created; /* what fsspec reports as `created` (local: the status change time,
                      st_ctime), UTC; LH_TIME_NULL when the backend does not know */
} lh_store_info;

LH_API int lh_store_open(const char *uri, lh_store **out, lh_error *err);
LH_API void lh_store_close(lh_store *s);
/* The normalised URI of the store root (file:///abs/path for local stores). */
LH_API const char *lh_store_uri(const lh_store *s);
/* A store rooted at key prefix `prefix` of s (e.g. one dataset inside the catalog). */
LH_API int lh_store_sub(const lh_store *s, const char *prefix, lh_store **out, lh_error *err);

/* Append the whole content of key to out. LH_ENOTFOUND if missing. */
LH_API int lh_store_get(lh_store *s, const char *key, lh_buf *out, lh_error *err);
LH_API int lh_store_put(lh_store *s, const char *key, const void *data, size_t len, lh_error *err);
LH_API int lh_store_create(lh_store *s, const char *key, const void *data, size_t len,
                           lh_error *err);
/* 1 if the key exists, 0 if not, negative on error. */
LH_API int lh_store_exists(lh_store *s, const char *key, lh_error *err);
/* LH_ENOTFOUND if the key did not exist. */
LH_API int lh_store_delete(lh_store *s, const char *key, lh_error *err);
LH_API int lh_store_stat(lh_store *s, const char *key, lh_store_info *info, lh_error *err);

LH_API int lh_store_open_read(lh_store *s, const char *key, lh_reader **out, lh_error *err);
/* Reads up to n bytes; *got == 0 means end of data. */
LH_API int lh_reader_read(lh_reader *r, void *buf, size_t n, size_t *got, lh_error *err);
LH_API void lh_reader_close(lh_reader *r);

LH_API int lh_store_open_write(lh_store *s, const char *key, lh_writer **out, lh_error *err);
LH_API int lh_writer_write(lh_writer *w, const void *data, size_t n, lh_error *err);
/* Publish the written content atomically under the key; frees w in every case. */
LH_API int lh_writer_commit(lh_writer *w, lh_error *err);
/* Discard everything written; frees w. */
LH_API void lh_writer_abort(lh_writer *w);
/* Publish the written content atomically under another key than the one it was opened with
 * (content-addressed writes learn their key while writing); frees w in every case. Only
 * where lh_store_commits_as says so (a rename on a local store); else LH_EUNSUPPORTED. */
LH_API int lh_writer_commit_as(lh_writer *w, const char *key, lh_error *err);
LH_API bool lh_store_commits_as(const lh_store *s);
/* Ready what committing w under key needs, ahead of the commit (a local store makes the
 * key's folder): for a writer thread, so the commit itself is short. Optional. */
LH_API int lh_writer_prepare_as(lh_writer *w, const char *key, lh_error *err);
/* Nothing more will be written to w before its commit or abort: a local store closes the
 * file now, so that many writers waiting for their commit (a crawl's batch) hold no file
 * descriptors. Optional; no lh_writer_write after it. */
LH_API int lh_writer_finish(lh_writer *w, lh_error *err);
/* The bytes written to w will not be read back soon (an archived blob): a local store drops
 * the file's pages from the page cache once they are on disk (at the commit's flush, or at
 * lh_store_sync when the store defers its syncs), from 64 KiB up. Only a hint: nothing
 * about what is written, or when it is durable, changes. */
LH_API void lh_writer_no_cache(lh_writer *w);

/* Called once per key in byte order; a non-zero return stops the iteration and is
 * returned by lh_store_iterate. */
typedef int (*lh_store_key_fn)(const char *key, void *ctx);
/* Keys under `prefix` (NULL = all) matching `glob` (NULL = any; '*' within a segment,
 * '**' across segments, matched against the whole key). */
LH_API int lh_store_iterate(lh_store *s, const char *prefix, const char *glob, lh_store_key_fn fn,
                            void *ctx, lh_error *err);

/* Names of the direct children (files and folders) under prefix (NULL = the root), in
 * byte order; folders are given without a trailing '/'. */
LH_API int lh_store_children(lh_store *s, const char *prefix, lh_store_key_fn fn, void *ctx,
                             lh_error *err);

/* Remove the temp files of writers that died before publishing under prefix (NULL =
 * everywhere): those older than `before` (UTC microseconds), and on a local store those of
 * any age whose writer, a process of this host, is no longer running. Counts into *files /
 * *bytes (may be NULL). Backends without temp files do nothing. */
LH_API int lh_store_sweep_temp(lh_store *s, const char *prefix, lh_time before, size_t *files,
                               int64_t *bytes, lh_error *err);

/* Durability in batches. After lh_store_defer_sync(s, true), puts, creates and writer
 * commits through s return before their bytes and names are flushed to disk; lh_store_sync
 * flushes everything written through s since (files, then their folders, each once), and
 * closing s does too. Atomicity does not change (readers see the old or the new content; a
 * killed process loses nothing written); only a power loss before lh_store_sync may undo
 * what was written. For many small files: one flush instead of one per file. Several threads
 * may write and sync through one handle: lh_store_sync returns once everything published
 * through s before it was called is flushed. */
LH_API void lh_store_defer_sync(lh_store *s, bool defer);
LH_API int lh_store_sync(lh_store *s, lh_error *err);

/* After lh_store_no_sync(s), writes through s are never flushed to disk by the store: for
 * files that only live processes read (lock markers), which need not survive a power loss.
 * Atomicity does not change. */
LH_API void lh_store_no_sync(lh_store *s);

/* The local filesystem path of key, or NULL for stores that are not local. Caller frees. */
LH_API char *lh_store_local_path(const lh_store *s, const char *key);

/* 0 if key is a valid relative store key, else LH_EINVAL naming the problem. */
LH_API int lh_store_validate_key(const char *key, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
