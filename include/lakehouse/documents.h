/* The documents of a dataset (inventory §9.3 documents.csv): entities of the Document
 * schemata (Folder excluded) that carry a contentHash, with their folder paths resolved
 * from the Folder entities. */
#ifndef LAKEHOUSE_DOCUMENTS_H
#define LAKEHOUSE_DOCUMENTS_H

#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

typedef struct lh_document {
  const char *id;
  const char *checksum;   /* contentHash (SHA-256 of the archived blob) */
  const char *name;       /* the entity caption */
  const char *mimetype;   /* mimeType, else guessed from the name */
  const char *path;       /* folder path "a/b" of one parent, "" at the root */
  int64_t size;           /* fileSize, 0 when unknown */
  const char *updated_at; /* last_change (ISO 8601) or "" */
  const char *public_url; /* {prefix}/archive/.../blob, "" without a public prefix */
} lh_document;

typedef int (*lh_document_fn)(void *ctx, const lh_document *d, lh_error *err);

/* Every document (ids NULL), or those among ids, ordered by id; an entity with several
 * parent folders gives one document per parent whose path is known. */
LH_API int lh_documents_iterate(lh_dataset *ds, const char *const *ids, size_t nids,
                                lh_document_fn fn, void *ctx, lh_error *err);

#define LH_DOCUMENTS_CSV_HEADER "id,checksum,name,mimetype,path,size,updated_at,public_url"
/* One CSV row (Python csv excel dialect: minimal quoting, "\r\n"); op non-NULL prepends it. */
LH_API int lh_document_csv_row(const lh_document *d, const char *op, lh_buf *out);

#ifdef __cplusplus
}
#endif
#endif
