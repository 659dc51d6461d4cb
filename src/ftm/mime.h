/* MIME types of FtM documents. */
#ifndef LH_FTM_MIME_H
#define LH_FTM_MIME_H

#include <stddef.h>

/* The label FtM captions a MIME type with ("text/csv" -> "Comma-separated table"); for types
 * without one, a label made from the subtype, written into buf. NULL for no type. */
const char *lh__mime_label(const char *mime, char *buf, size_t cap);

#endif
