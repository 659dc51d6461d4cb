/* A writing session of the archive: what lh_archive_store does once, and a crawl does for
 * many files in batches.
 *
 * A session publishes blobs and writes metadata only while it holds a lease on the shared
 * side of the dataset's write fence (an append marker, taken when the first blob of a batch
 * is published). A batch ends when it is a second old, holds LH_ARCHIVE_BATCH_FILES files,
 * before a copy larger than LH_ARCHIVE_LEASE_COPY_MAX (never copied inside a lease), and in
 * lh__archive_finish: its on_batch hook runs (the crawl inserts its entities into the
 * journal there), its blobs are flushed to disk, its metadata files are written and
 * flushed, archive/last_updated is set and the lease is released (the session writes
 * through a store handle that defers its fsyncs: two flushes per batch, not two per file).
 * All but the hook run on a committer thread, with the batch's own lease, while the session
 * goes on with the next batch under a new lease; batches are committed one at a time and in
 * order, a commit's failure is returned by the next batch's end, and lh__archive_finish
 * commits the last batch itself once the committer is idle.
 *
 * So gc, which holds the exclusive side, never sees a blob of a batch without its metadata
 * and waits at most about a second for a session; no metadata file reaches the disk before
 * its blob; and a crawl killed at any point leaves entities in the journal for every file
 * whose metadata exists (a rerun with skip-path skips exactly those). */
#ifndef LH_REPOSITORY_ARCHIVE_INTERNAL_H
#define LH_REPOSITORY_ARCHIVE_INTERNAL_H

#include <stdbool.h>

#include "lakehouse/archive.h"
#include "lakehouse/mime.h"
#include "repository/context.h"

#define LH_ARCHIVE_BATCH_FILES 1000
#define LH_ARCHIVE_BATCH_US 1000000                   /* a lease is renewed after a second */
#define LH_ARCHIVE_LEASE_COPY_MAX ((int64_t)16 << 20) /* larger copies run outside a lease */

typedef struct lh__archive lh__archive;

/* What one read of a source found. */
typedef struct lh__content {
  char checksum[LH_SHA256_HEX_SIZE];
  int64_t size;
  char mimetype[LH_MIME_SIZE]; /* chosen from the head and the name; "" when not looked at */
} lh__content;

int lh__archive_open(lh_dataset *ds, lh__archive **out, lh_error *err);
/* Run fn before each batch's metadata is written (an error fails the batch). */
void lh__archive_on_batch(lh__archive *a, int (*fn)(void *ctx, lh_error *err), void *ctx);
/* What reading a file for the archive found and prepared, ahead of lh__archive_add. */
typedef struct lh__staged {
  lh__content content;
  lh_writer *blob; /* its copy in a temp file, published under its checksum by add */
  lh_file *file;   /* its metadata as add makes it ... */
  lh_writer *meta; /* ... in a temp file beside the blob, moved into place at the batch end */
} lh__staged;
/* Abort and free what is staged. */
void lh__staged_drop(lh__staged *sf);

/* Read src once for the file o describes: its SHA-256, size and MIME type (libmagic on its
 * head, then the name). copy: also copy it into out->blob, and write its metadata into
 * out->meta (stores that cannot rename: blob and meta stay NULL, add copies). A caller that
 * does not add calls lh__staged_drop. */
int lh__archive_stage(lh__archive *a, const lh_archive_source *src, const lh_archive_store_opts *o,
                      bool copy, lh__staged *out, lh_error *err);
/* A worker's side of lh__archive_stage, for reading sources on other threads than the
 * session's (a crawl's workers): its own buffer and libmagic cookie; what it stages is
 * handed to lh__archive_add on the session's thread. A large copy here does not end the
 * session's batch: the session's thread does that while it waits for it. */
typedef struct lh__stager lh__stager;
int lh__stager_new(lh__archive *a, lh__stager **out, lh_error *err);
void lh__stager_free(lh__stager *st);
int lh__stager_stage(lh__stager *st, const lh_archive_source *src, const lh_archive_store_opts *o,
                     bool copy, lh__staged *out, lh_error *err);
/* Whether the last failure of lh__stager_stage came from the source. */
bool lh__stager_source_failed(const lh__stager *st);
/* Whether a batch is open (the session holds a lease): lh__archive_end_batch ends it, which
 * a session's thread does before it waits for something slow. */
bool lh__archive_in_batch(const lh__archive *a);
/* End the open batch now, committed on the committer thread (the failure of the batch before
 * it is returned). */
int lh__archive_end_batch(lh__archive *a, lh_error *err);

/* Store a file: its blob is published at once, its metadata at the end of the batch. sf:
 * what lh__archive_stage found and prepared, taken over (NULL: opts->checksum, or a first
 * read here). blob_only: no metadata (lh_archive_put_blob). out (may be NULL): the
 * metadata. */
int lh__archive_add(lh__archive *a, const lh_archive_source *src, const lh_archive_store_opts *o,
                    lh__staged *sf, bool blob_only, lh_file **out, lh_error *err);
/* Whether the last failure of stage or add came from the source (unreadable, vanished,
 * changed while archiving) rather than from the archive. */
bool lh__archive_source_failed(const lh__archive *a);
/* End the batch. Required for the metadata of the files added since the last batch end. */
int lh__archive_finish(lh__archive *a, lh_error *err);
/* Without lh__archive_finish, the batch's metadata is dropped (its blobs are gc's). */
void lh__archive_close(lh__archive *a);

/* Whether a metadata file of checksum has this key (the skip-path test of a crawl). */
int lh__archive_has_key(lh_dataset *ds, const char *checksum, const char *key, bool *found,
                        lh_error *err);

#endif
