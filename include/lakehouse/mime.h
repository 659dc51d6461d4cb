/* MIME types as the Python project treats them: rigour's normalize_mimetype, a guess from a
 * file name (Python's mimetypes), and ftm-lakehouse's mime_to_schema / pick_mime
 * (inventory §9.2). Every function returns a static string or `out`; none allocates. */
#ifndef LAKEHOUSE_MIME_H
#define LAKEHOUSE_MIME_H

#include <stddef.h>

#include "lakehouse/api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_MIME_DEFAULT "application/octet-stream"
/* Room for a normalised type; longer ones are not MIME types (the default instead). */
#define LH_MIME_SIZE 256

/* rigour's normalize_mimetype: exactly one '/' in the text, parameters dropped, family and
 * subtype trimmed and lowercased, known aliases replaced ("application/x-pdf" ->
 * "application/pdf", "application/msword" -> "application/vnd.ms-word", "image/x.djvu" ->
 * "image/vnd.djvu"); NULL, empty or anything else is LH_MIME_DEFAULT. */
LH_API const char *lh_mime_normalize(const char *mime, char out[LH_MIME_SIZE]);
/* Python's mimetypes.guess_type for the extensions documents usually have, normalised;
 * LH_MIME_DEFAULT when the extension is unknown. */
LH_API const char *lh_mime_guess(const char *name);
/* mime_to_schema: the FtM schema of a file with this (normalised) type: Pages (PDF, Word),
 * HyperText (HTML, XML), Table (CSV, Excel), Image, Email, PlainText (text, RTF), else
 * Document. As in Python, the full .docx type and image/x.djvu (normalised to
 * image/vnd.djvu) are not in rigour's lists and give Document. */
LH_API const char *lh_mime_to_schema(const char *mime);
/* pick_mime: the first of mimes, normalised, that is not LH_MIME_DEFAULT; else dflt
 * normalised (dflt may be NULL); else LH_MIME_DEFAULT. */
LH_API const char *lh_mime_pick(const char *const *mimes, size_t n, const char *dflt,
                                char out[LH_MIME_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
