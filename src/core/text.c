/* Text helpers for messages. */
#include "core/text.h"
#include "core/sql.h"
#include "core/utf8.h"
#include "lakehouse/util.h"

const char *lh__printable(const char *s, size_t n, char *buf, size_t size) {
  static const char hex[] = "0123456789abcdef";
  size_t j = 0;
  size_t i = 0;
  while (i < n && j + 8 < size) {
    unsigned char c = (unsigned char)s[i];
    uint32_t cp;
    size_t k = c < 0x80 ? 1 : lh__utf8_seq((const unsigned char *)s + i, n - i, &cp);
    if (c < 0x20 || c == 0x7f || k == 0) { /* control bytes and bytes of no UTF-8 */
      buf[j++] = '\\';
      buf[j++] = 'x';
      buf[j++] = hex[c >> 4];
      buf[j++] = hex[c & 15];
      i++;
    } else if (j + k + 8 < size) {
      memcpy(buf + j, s + i, k);
      j += k;
      i += k;
    } else {
      break;
    }
  }
  if (i < n) {
    buf[j++] = '.';
    buf[j++] = '.';
    buf[j++] = '.';
  }
  buf[j] = '\0';
  return buf;
}

int lh_csv_write_field(lh_buf *out, const char *s, size_t len, lh_csv_quoting quoting) {
  bool quote = quoting == LH_CSV_QUOTE_ALL;
  for (size_t i = 0; i < len && !quote; i++)
    quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  return quote ? lh__quote_doubled(out, s, len, '"') : lh_buf_append(out, s, len);
}

int lh__json_put_time(lh_buf *out, const char *key, lh_time t) {
  int rc = lh_buf_printf(out, ",\"%s\":", key);
  if (rc || t == LH_TIME_NULL)
    return rc ? rc : lh_buf_puts(out, "null");
  char iso[LH_ISO_SIZE];
  lh_time_format_json(t, iso);
  return lh_buf_printf(out, "\"%s\"", iso);
}
