/* The file archive of a dataset (inventory §5.3): content-addressed blobs with one metadata
 * file per source path and optional extracted texts,
 *
 *   archive/{c[0:2]}/{c[2:4]}/{c[4:6]}/{c}/blob              the bytes, once per checksum
 *   archive/{c[0:2]}/{c[2:4]}/{c[4:6]}/{c}/{file_id}.json    one per source path (lh_file)
 *   archive/{c[0:2]}/{c[2:4]}/{c[4:6]}/{c}/{origin}.txt      extracted text, one per origin
 *
 * where c is the SHA-256 of the content (64 lowercase hex digits).
 *
 * Ids. A file's id is "file-" + sha256(key + checksum), or the checksum itself when the key
 * is the checksum; a folder's is "folder-" + sha256(name) at the top and
 * "folder-" + sha256(parent_id + name) below (UTF-8, concatenated without separator).
 * Unlike the Python project (inventory §12.11), a crawled file's id is derived from its key
 * relative to the crawled folder ("a/b/report.pdf"), not from its base name: the Python
 * project patches the key after computing the id, so two files with the same name and the
 * same content in different folders collide on one metadata file and one entity there, and
 * here they do not. Files stored outside a crawl (key = the name) get the same ids in both.
 *
 * Atomicity. A blob is streamed into a temporary file and published by rename once its
 * SHA-256 matched: a killed writer never leaves a partial `blob`, and content that changed
 * while it was copied is refused. Metadata and texts are replaced atomically, and a
 * metadata file reaches the disk only after its blob.
 *
 * Garbage. A blob no metadata file refers to is garbage: lh_archive_gc deletes it (and the
 * texts beside it) while holding the dataset's exclusive write fence, and every writer
 * publishes a blob and writes its metadata inside the shared side of that fence, so gc never
 * sees a blob between its publication and its first metadata file, and never deletes one a
 * store is about to refer to. See docs/internals/ARCHIVE.md. */
#ifndef LAKEHOUSE_ARCHIVE_H
#define LAKEHOUSE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/entity.h"
#include "lakehouse/error.h"
#include "lakehouse/ftm.h"
#include "lakehouse/statement.h"
#include "lakehouse/store.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

/* Origins: LH_ORIGIN_CRAWL ("crawl") for crawled files, LH_ORIGIN_ARCHIVE ("archive") by
 * default (lakehouse/statement.h). */
#define LH_FILE_ID_SIZE 70                 /* "file-" + 64 hex + NUL */
#define LH_FOLDER_ID_SIZE 72               /* "folder-" + 64 hex + NUL */
#define LH_FILE_JSON_MAX ((size_t)1 << 20) /* the largest metadata file read */

/* ---- file metadata ------------------------------------------------------------------------ */

/* The metadata of one archived file ({file_id}.json). Every string is owned by the struct. */
typedef struct lh_file {
  char *name;         /* the key's last segment */
  lh_time created_at; /* LH_TIME_NULL: unknown (null) */
  lh_time updated_at;
  int64_t size;   /* bytes */
  char *key;      /* the source key: the path relative to a crawled folder, or a name */
  char *mimetype; /* normalised */
  char *id;       /* lh_file_id(key, checksum) */
  char *dataset;  /* the dataset's name */
  char *checksum; /* SHA-256 of the content */
  char *extra;    /* a JSON object ("{}" when empty): more metadata; keys that are
                     properties of the file's schema (title, ...) go into its entity */
  char *origin;   /* "crawl", "archive", ...; NULL: null */
  char *parent;   /* the id of the innermost folder of key; NULL at the top */
} lh_file;

/* A file of key and checksum: name, id and parent derived, extra "{}", mimetype guessed from
 * the name, size 0, times unknown, dataset "" and origin "archive". */
LH_API int lh_file_new(const char *key, const char *checksum, lh_file **out, lh_error *err);
LH_API void lh_file_free(lh_file *f);
/* The metadata JSON as the Python project writes it (pydantic, nulls included), no newline:
 * name, created_at, updated_at, size, store ("lakehouse://"), key, mimetype, id, dataset,
 * checksum, extra, origin, path (= key), parent; times as 2026-08-22T10:15:00.123456Z. */
LH_API int lh_file_write_json(const lh_file *f, lh_buf *out);
/* Parse a metadata file (at most LH_FILE_JSON_MAX bytes). The checksum and the id must be
 * valid; keys the model does not know are moved into extra, as pydantic does. LH_EPARSE or
 * LH_EINVAL naming the field. */
LH_API int lh_file_parse_json(const char *json, size_t len, lh_file **out, lh_error *err);
/* "file-" + sha256(key + checksum), or the checksum when key == checksum. */
LH_API int lh_file_id(const char *key, const char *checksum, char out[LH_FILE_ID_SIZE],
                      lh_error *err);
/* "folder-" + sha256(name) (parent_id NULL) or "folder-" + sha256(parent_id + name). */
LH_API void lh_folder_id(const char *name, const char *parent_id, char out[LH_FOLDER_ID_SIZE]);
/* The entities of a file (File.make_entities): a Folder per directory of key, outermost
 * first (fileName, parent), then the file: schema lh_mime_to_schema(mimetype), id, and
 * contentHash, fileName, fileSize, mimeType, parent, plus extra's values for properties of
 * that schema. Each entity is passed to fn and freed after it returns; fn returns 0 or a
 * code that stops the walk. */
LH_API int lh_file_entities(const lh_file *f, const lh_model *model, lh_entity_fn fn, void *ctx,
                            lh_error *err);

/* ---- storing ------------------------------------------------------------------------------ */

/* Where archived bytes come from: exactly one of a reader, a file descriptor or a store key. */
typedef struct lh_archive_source {
  lh_reader *reader; /* read once, from where it stands: needs the checksum */
  int fd;            /* a regular file (not closed), read from offset 0 with pread */
  lh_store *store;   /* with key: a file of a store, opened as often as needed */
  const char *key;
} lh_archive_source;

static inline lh_archive_source lh_archive_source_reader(lh_reader *r) {
  lh_archive_source s = {r, -1, NULL, NULL};
  return s;
}
static inline lh_archive_source lh_archive_source_fd(int fd) {
  lh_archive_source s = {NULL, fd, NULL, NULL};
  return s;
}
static inline lh_archive_source lh_archive_source_key(lh_store *store, const char *key) {
  lh_archive_source s = {NULL, -1, store, key};
  return s;
}

/* Store a blob, keeping memory constant whatever its size. checksum: the SHA-256 the
 * content must have (verified while copying: a mismatch is LH_ECONFLICT "changed while
 * archiving" and publishes nothing); NULL: read the source once to compute it, then again
 * to copy (a reader source needs the checksum). Nothing is copied when the blob exists.
 * out receives the checksum, *size the size (either may be NULL). A blob that no metadata
 * refers to is garbage to lh_archive_gc: use lh_archive_store to keep a file. */
LH_API int lh_archive_put_blob(lh_dataset *ds, const lh_archive_source *src, const char *checksum,
                               char out[LH_SHA256_HEX_SIZE], int64_t *size, lh_error *err);

typedef struct lh_archive_store_opts {
  const char *key;      /* required: a relative path ("a/b.pdf") or a name; the Python
                           project's plain store() uses the source's base name */
  const char *checksum; /* the expected SHA-256, or NULL (see lh_archive_put_blob) */
  const char *origin;   /* NULL: "archive" */
  const char *mimetype; /* NULL: from the content (libmagic), else guessed from the key */
  const char *extra;    /* a JSON object of more metadata, NULL: {} */
  lh_time created_at;   /* 0 or LH_TIME_NULL: the store source's (lh_store_stat), else null */
  lh_time updated_at;   /* the same; each falls back to the other, as in Python */
} lh_archive_store_opts;

/* Python's ArchiveRepository.store: the blob (as lh_archive_put_blob), then its metadata at
 * archive/.../{file_id}.json, then the tag archive/last_updated. out (may be NULL) receives
 * the metadata; free with lh_file_free. */
LH_API int lh_archive_store(lh_dataset *ds, const lh_archive_source *src,
                            const lh_archive_store_opts *opts, lh_file **out, lh_error *err);
/* Write the metadata of a file whose blob is archived (put_file: dataset forced to the
 * dataset's name). LH_ENOTFOUND when the blob is not there. */
LH_API int lh_archive_put_file(lh_dataset *ds, const lh_file *f, lh_error *err);
/* Extracted text of a blob, at archive/.../{origin}.txt (origin NULL: "default"), replaced
 * atomically. gc keeps it as long as a metadata file of the checksum exists. */
LH_API int lh_archive_put_text(lh_dataset *ds, const char *checksum, const char *origin,
                               const char *text, size_t len, lh_error *err);

/* ---- reading ------------------------------------------------------------------------------ */

/* The metadata of file_id, or (file_id NULL) the first metadata file of the checksum.
 * LH_ENOTFOUND when there is none. */
LH_API int lh_archive_get_file(lh_dataset *ds, const char *checksum, const char *file_id,
                               lh_file **out, lh_error *err);
/* Called once per metadata file; f is valid during the call only. */
typedef int (*lh_file_fn)(void *ctx, const lh_file *f, lh_error *err);
/* Every metadata file of checksum, or (checksum NULL) of the whole archive, in key order. A
 * file that does not parse is an error naming its key; a non-zero return of fn stops the
 * walk and is returned. */
LH_API int lh_archive_files(lh_dataset *ds, const char *checksum, lh_file_fn fn, void *ctx,
                            lh_error *err);
/* Whether the blob of checksum exists. */
LH_API int lh_archive_exists(lh_dataset *ds, const char *checksum, bool *exists, lh_error *err);
/* Read a blob (streamed: never loaded whole, unlike Python's `archive get`, §12.19). */
LH_API int lh_archive_open(lh_dataset *ds, const char *checksum, lh_reader **out, lh_error *err);
/* Stream a blob to fn in chunks. */
LH_API int lh_archive_stream(lh_dataset *ds, const char *checksum, lh_bytes_fn fn, void *ctx,
                             lh_error *err);
/* The text of origin, or (origin NULL) the first *.txt of the checksum, appended to out.
 * LH_ENOTFOUND when there is none. */
LH_API int lh_archive_get_text(lh_dataset *ds, const char *checksum, const char *origin,
                               lh_buf *out, lh_error *err);

/* ---- deleting ----------------------------------------------------------------------------- */

/* Delete one metadata file (the blob stays until lh_archive_gc finds it unreferenced).
 * LH_ENOTFOUND when it does not exist. */
LH_API int lh_archive_delete(lh_dataset *ds, const char *checksum, const char *file_id,
                             lh_error *err);

typedef struct lh_archive_gc_result {
  uint64_t checksums;  /* checksum folders looked at */
  uint64_t blobs;      /* unreferenced blobs deleted (dry run: that would be) */
  int64_t bytes;       /* their size */
  uint64_t texts;      /* texts deleted with them */
  uint64_t temp_files; /* temporary files of writers dead for a day (not in a dry run) */
} lh_archive_gc_result;

/* Delete every blob that no metadata file refers to, with the texts beside it, and the
 * leftovers of writers that died more than a day ago, holding the dataset's exclusive write
 * fence (LH_ELOCKED when it stays busy). dry_run: count only, without the fence. */
LH_API int lh_archive_gc(lh_dataset *ds, bool dry_run, lh_archive_gc_result *res, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
