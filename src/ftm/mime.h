/* MIME types of FtM documents: labels, and content detection with libmagic (the public
 * normalise / guess / schema / pick functions are in lakehouse/mime.h). */
#ifndef LH_FTM_MIME_H
#define LH_FTM_MIME_H

#include <stddef.h>

#include "lakehouse/error.h"
#include "lakehouse/mime.h"

/* The label FtM captions a MIME type with ("text/csv" -> "Comma-separated table"); for types
 * without one, a label made from the subtype, written into buf. NULL for no type. */
const char *lh__mime_label(const char *mime, char *buf, size_t cap);

/* A libmagic cookie (MAGIC_MIME_TYPE, the system's magic database). Not thread-safe: one per
 * thread, opened once per crawl rather than per file. */
typedef struct lh__magic lh__magic;
int lh__magic_open(lh__magic **out, lh_error *err);
void lh__magic_close(lh__magic *m);
/* The normalised MIME type of content that starts with head[0..n) (the first bytes of a file;
 * LH_MAGIC_HEAD of them are enough), written into out; NULL when libmagic cannot tell. */
const char *lh__magic_detect(lh__magic *m, const void *head, size_t n, char out[LH_MIME_SIZE]);
#define LH_MAGIC_HEAD ((size_t)256 << 10)
/* The type of a few common unambiguous signatures (gzip, PDF, PNG, GIF, JPEG) as libmagic
 * names it, or NULL: lh__magic_detect asks this first. */
const char *lh__mime_signature(const void *head, size_t n);

/* The archive's choice between the type of the content and the guess from the file name:
 * the content's, unless it is missing, LH_MIME_DEFAULT or inode/x-empty, or only text/plain
 * while the name says a more specific text type (text/csv, text/html, application/json,
 * application/xml ...): then the name's. Normalised; a static string or out. */
const char *lh__mime_choose(const char *detected, const char *name, char out[LH_MIME_SIZE]);

#endif
