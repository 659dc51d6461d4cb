/* MIME types: rigour's normalisation and labels, the guess from a file name, the FtM schema
 * of a file (ftm-lakehouse helpers/file.py), and detection from content with libmagic. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <magic.h>

#include "ftm/mime.h"

/* rigour.mime.mappings.REPLACE */
static const struct {
  const char *from, *to;
} REPLACE[] = {
    {"x-unknown/unknown", LH_MIME_DEFAULT},
    {"unknown/unknown", LH_MIME_DEFAULT},
    {"x-unknown/octet-stream", LH_MIME_DEFAULT},
    {"application/x-unknown", LH_MIME_DEFAULT},
    {"file/unknown", LH_MIME_DEFAULT},
    {"content/unknown", LH_MIME_DEFAULT},
    {"application/x-unknown-application-octet-stream", LH_MIME_DEFAULT},
    {"x-unknown/stream", LH_MIME_DEFAULT},
    {"application/binary", LH_MIME_DEFAULT},
    {"image/*", LH_MIME_DEFAULT},
    {"*/*", LH_MIME_DEFAULT},
    {"application/csv", "text/csv"},
    {"text/xml", "application/xml"},
    {"plain/text", "text/plain"},
    {"text/text", "text/plain"},
    {"application/rtf", "text/rtf"},
    {"file/rtf", "text/rtf"},
    {"text/richtext", "text/rtf"},
    {"text/enriched", "text/rtf"},
    {"application/x-msword", "application/vnd.ms-word"},
    {"application/msword", "application/vnd.ms-word"},
    {"application/vnd.ms-word.document.macroenabled.12", "application/vnd.ms-word.document.12"},
    {"application/x-excel", "application/vnd.ms-excel"},
    {"application/x-msexcel", "application/vnd.ms-excel"},
    {"application/excel", "application/vnd.ms-excel"},
    {"application/x-ms-excel", "application/vnd.ms-excel"},
    {"application/x-unknown-application-vnd.ms-excel", "application/vnd.ms-excel"},
    {"application/vnd.ms-excel.12", "application/vnd.ms-excel"},
    {"image/pdf", "application/pdf"},
    {"application/x-pdf", "application/pdf"},
    {"document/pdf", "application/pdf"},
    {"x-application/apple-pdf", "application/pdf"},
    {"file/pdf", "application/pdf"},
    {"application/x-unknown-application-pdf", "application/pdf"},
    {"text/pdf", "application/pdf"},
    {"invalid/pdf", "application/pdf"},
    {"application/vnd.pdf", "application/pdf"},
    {"x-unknown/pdf", "application/pdf"},
    {"application/x-rar", "application/rar"},
    {"application/x-rar-compressed", "application/rar"},
    {"application/x-zip", "application/zip"},
    {"application/x-zip-compressed", "application/zip"},
    {"appliation/zip", "application/zip"},
    {"application/x-gzip", "application/gzip"},
    {"application/x-gzip-compressed", "application/gzip"},
    {"application/x-gunzip", "application/gzip"},
    {"image/x-citrix-jpeg", "image/jpeg"},
    {"application/jpeg", "image/jpeg"},
    {"image/jpg", "image/jpeg"},
    {"application/jpg", "image/jpeg"},
    {"image/x-photoshop", "image/vnd.adobe.photoshop"},
    {"application/x-photoshop", "image/vnd.adobe.photoshop"},
    {"image/psd", "image/vnd.adobe.photoshop"},
    {"image/x-tiff", "image/tiff"},
    {"application/tiff", "image/tiff"},
    {"application/x-tiff", "image/tiff"},
    {"text/x-vcard", "text/vcard"},
    {"text/directory", "inode/directory"},
    {"application/x-msi", "application/vnd.ms-msi"},
    {"image/x.djvu", "image/vnd.djvu"},
    {"application/html", "text/html"},
};

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* [s, e) trimmed and lowercased onto out + *n; false when empty or too long. */
static bool put_part(const char *s, const char *e, char *out, size_t *n) {
  while (s < e && is_space(*s))
    s++;
  while (e > s && is_space(e[-1]))
    e--;
  if (s == e || *n + (size_t)(e - s) + 1 >= LH_MIME_SIZE)
    return false;
  for (; s < e; s++)
    out[(*n)++] = (char)tolower((unsigned char)*s);
  out[*n] = '\0';
  return true;
}

const char *lh_mime_normalize(const char *mime, char out[LH_MIME_SIZE]) {
  if (!mime)
    return LH_MIME_DEFAULT;
  const char *slash = strchr(mime, '/');
  if (!slash || strchr(slash + 1, '/'))
    return LH_MIME_DEFAULT; /* rigour: mime_type.count("/") == 1, parameters included */
  const char *end = strchr(mime, ';');
  if (!end)
    end = mime + strlen(mime);
  if (slash > end)
    return LH_MIME_DEFAULT;
  size_t n = 0;
  if (!put_part(mime, slash, out, &n))
    return LH_MIME_DEFAULT;
  out[n++] = '/';
  if (!put_part(slash + 1, end, out, &n))
    return LH_MIME_DEFAULT;
  for (size_t i = 0; i < sizeof REPLACE / sizeof *REPLACE; i++)
    if (strcmp(out, REPLACE[i].from) == 0)
      return REPLACE[i].to;
  return out;
}

const char *lh_mime_guess(const char *name) {
  /* Python's mimetypes (with Debian's /etc/mime.types), already normalised */
  static const char *const TABLE[][2] = {
      {"pdf", "application/pdf"},
      {"doc", "application/vnd.ms-word"},
      {"dot", "application/vnd.ms-word"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"odp", "application/vnd.oasis.opendocument.presentation"},
      {"csv", "text/csv"},
      {"txt", "text/plain"},
      {"text", "text/plain"},
      {"md", "text/markdown"},
      {"htm", "text/html"},
      {"html", "text/html"},
      {"xml", "application/xml"},
      {"json", "application/json"},
      {"rtf", "text/rtf"},
      {"eml", "message/rfc822"},
      {"msg", "application/vnd.ms-outlook"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"tif", "image/tiff"},
      {"tiff", "image/tiff"},
      {"bmp", "image/bmp"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"psd", "image/vnd.adobe.photoshop"},
      {"djvu", "image/vnd.djvu"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"7z", "application/x-7z-compressed"},
      {"rar", "application/rar"},
      {"mp3", "audio/mpeg"},
      {"mp4", "video/mp4"},
  };
  const char *slash = name ? strrchr(name, '/') : NULL;
  const char *base = slash ? slash + 1 : name;
  const char *dot = base ? strrchr(base, '.') : NULL;
  if (!dot || dot == base)
    return LH_MIME_DEFAULT; /* no extension (".profile" is a name, as in os.path.splitext) */
  for (size_t i = 0; i < sizeof TABLE / sizeof *TABLE; i++)
    if (!strcasecmp(dot + 1, TABLE[i][0]))
      return TABLE[i][1];
  return LH_MIME_DEFAULT;
}

const char *lh_mime_to_schema(const char *mime) {
  /* MIME_SCHEMAS of helpers/file.py, with rigour's type constants */
  static const struct {
    const char *schema;
    const char *types[7];
  } SCHEMAS[] = {
      {"Pages",
       {"application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessing",
        "application/vnd.ms-word"}},
      {"HyperText", {"text/html", "application/xml"}},
      {"Table",
       {"text/csv", "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
      {"Image",
       {"image/png", "image/gif", "image/jpeg", "image/tiff", "image/x.djvu",
        "image/vnd.adobe.photoshop"}},
      {"Email", {"application/vnd.ms-outlook", "application/xml+opfmessage", "message/rfc822"}},
      {"PlainText", {"text/plain", "text/rtf"}},
  };
  char buf[LH_MIME_SIZE];
  const char *m = lh_mime_normalize(mime, buf);
  for (size_t i = 0; i < sizeof SCHEMAS / sizeof *SCHEMAS; i++)
    for (size_t k = 0; k < 7 && SCHEMAS[i].types[k]; k++)
      if (strcmp(m, SCHEMAS[i].types[k]) == 0)
        return SCHEMAS[i].schema;
  return "Document";
}

const char *lh_mime_pick(const char *const *mimes, size_t n, const char *dflt,
                         char out[LH_MIME_SIZE]) {
  for (size_t i = 0; i < n; i++) {
    const char *m = lh_mime_normalize(mimes[i], out);
    if (strcmp(m, LH_MIME_DEFAULT))
      return m;
  }
  return dflt && *dflt ? lh_mime_normalize(dflt, out) : LH_MIME_DEFAULT;
}

/* ---- libmagic ------------------------------------------------------------------------------ */

struct lh__magic {
  magic_t cookie;
};

int lh__magic_open(lh__magic **out, lh_error *err) {
  *out = NULL;
  lh__magic *m = calloc(1, sizeof *m);
  if (!m)
    return lh_error_nomem(err);
  m->cookie = magic_open(MAGIC_MIME_TYPE);
  if (!m->cookie) {
    free(m);
    return lh_error_set(err, LH_ENOMEM, "libmagic: cannot open a cookie");
  }
  if (magic_load(m->cookie, NULL) != 0) {
    int rc = lh_error_set(err, LH_EIO, "libmagic: cannot load the magic database: %s",
                          magic_error(m->cookie) ? magic_error(m->cookie) : "?");
    magic_close(m->cookie);
    free(m);
    return rc;
  }
  *out = m;
  return 0;
}

void lh__magic_close(lh__magic *m) {
  if (!m)
    return;
  magic_close(m->cookie);
  free(m);
}

/* Signatures libmagic answers only after trying hundreds of stronger rules (0.15 ms for a
 * gzip file, the commonest type of a system tree): told here at once, with libmagic's answer
 * (tests/unit/test_archive.c compares both on real files). */
static const struct {
  const char *magic;
  size_t len;
  const char *mime;
} SIGNATURES[] = {
    {"\x1f\x8b\x08", 3, "application/gzip"},
    {"%PDF-", 5, "application/pdf"},
    {"\x89PNG\r\n\x1a\n", 8, "image/png"},
    {"GIF87a", 6, "image/gif"},
    {"GIF89a", 6, "image/gif"},
    {"\xff\xd8\xff", 3, "image/jpeg"},
};

const char *lh__mime_signature(const void *head, size_t n) {
  for (size_t i = 0; i < sizeof SIGNATURES / sizeof *SIGNATURES; i++)
    if (n >= SIGNATURES[i].len && memcmp(head, SIGNATURES[i].magic, SIGNATURES[i].len) == 0)
      return SIGNATURES[i].mime;
  return NULL;
}

const char *lh__magic_detect(lh__magic *m, const void *head, size_t n, char out[LH_MIME_SIZE]) {
  const char *sig = lh__mime_signature(head, n);
  if (sig) {
    snprintf(out, LH_MIME_SIZE, "%s", sig);
    return out;
  }
  const char *t = m ? magic_buffer(m->cookie, head, n) : NULL;
  if (!t)
    return NULL;
  return lh_mime_normalize(t, out);
}

/* Types whose name guess is more specific than libmagic's text/plain. */
static bool is_text_like(const char *mime) {
  return strncmp(mime, "text/", 5) == 0 || strcmp(mime, "application/json") == 0 ||
         strcmp(mime, "application/xml") == 0;
}

const char *lh__mime_choose(const char *detected, const char *name, char out[LH_MIME_SIZE]) {
  const char *guess = lh_mime_guess(name);
  if (!detected || !strcmp(detected, LH_MIME_DEFAULT) || !strcmp(detected, "inode/x-empty"))
    return guess;
  if (!strcmp(detected, "text/plain") && strcmp(guess, "text/plain") && is_text_like(guess))
    return guess;
  if (detected != out) {
    snprintf(out, LH_MIME_SIZE, "%s", detected);
    return out;
  }
  return detected;
}

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
