/* MIME type labels, as FtM's mimetype type captions them (rigour's table of labels, then a
 * label made from the subtype). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ftm/mime.h"

static const struct {
  const char *mime, *label;
} LABELS[] = {
    {"application/octet-stream", "Unknown file type"},
    {"inode/directory", "Directory"},
    {"inode/x-empty", "Empty file"},
    {"text/plain", "Plain text"},
    {"application/pdf", "Portable Document Format"},
    {"application/vnd.ms-excel", "Microsoft Excel"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Microsoft Excel 2002+"},
    {"application/vnd.ms-word", "Microsoft Word"},
    {"application/vnd.openxmlformats-officedocument.wordprocessing", "Microsoft Word 2002+"},
    {"text/csv", "Comma-separated table"},
    {"text/rtf", "Rich text"},
    {"image/vnd.adobe.photoshop", "Adobe Photoshop"},
    {"application/rar", "WinRAR archive"},
    {"application/zip", "Zip archive"},
    {"application/gzip", "GZip archive"},
    {"message/rfc822", "Plain E-Mail"},
    {"text/html", "HTML Web Page"},
    {"image/jpeg", "JPEG Image"},
    {"image/tiff", "Tagged Image File Format"},
    {"image/x.djvu", "DejaVu E-Book"},
    {"image/png", "Portable Network Graphics"},
    {"image/gif", "Graphics Interchange Format"},
    {"application/xml+opfmessage", "Microsoft Outlook for Mac E-Mail"},
    {"application/vnd.ms-outlook", "Microsoft Outlook E-Mail"},
    {"application/json", "JavaScript Object Notation"},
    {"application/xml", "eXtensible Markup Language"},
    {"application/json+ftm", "FollowTheMoney Entities"},
    {"application/json+ftm-rslv", "FollowTheMoney Integrated"},
    {"application/json+ftm-statements", "FollowTheMoney Statements"},
};

const char *lh__mime_label(const char *mime, char *buf, size_t cap) {
  if (!mime || !cap)
    return NULL;
  for (size_t i = 0; i < sizeof LABELS / sizeof *LABELS; i++)
    if (strcasecmp(mime, LABELS[i].mime) == 0)
      return LABELS[i].label;
  const char *slash = strchr(mime, '/');
  if (!slash || !slash[1])
    return NULL;
  /* the subtype, leading x's dropped, '-' and '.' as spaces, trimmed */
  const char *s = slash + 1;
  while (*s == 'x' || *s == 'X')
    s++;
  size_t n = 0;
  for (; *s && n + 1 < cap; s++)
    buf[n++] = (*s == '-' || *s == '.') ? ' ' : (char)tolower((unsigned char)*s);
  while (n && buf[n - 1] == ' ')
    n--;
  buf[n] = '\0';
  size_t lead = strspn(buf, " ");
  return buf + lead;
}
