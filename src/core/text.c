/* Text helpers for messages. */
#include "core/text.h"

const char *lh__printable(const char *s, size_t n, char *buf, size_t size) {
  static const char hex[] = "0123456789abcdef";
  size_t j = 0;
  size_t i = 0;
  for (; i < n && j + 8 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) {
      buf[j++] = '\\';
      buf[j++] = 'x';
      buf[j++] = hex[c >> 4];
      buf[j++] = hex[c & 15];
    } else {
      buf[j++] = (char)c;
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
