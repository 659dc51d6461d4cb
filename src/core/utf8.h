/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
#ifndef LH_CORE_UTF8_H
#define LH_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid sequence at p with at most avail bytes, 0 if invalid. */
static inline size_t lh__utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp) {
  unsigned char c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  if (c < 0xc2 || c > 0xf4)
    return 0;
  if (c < 0xe0) {
    if (avail < 2 || (p[1] & 0xc0) != 0x80)
      return 0;
    *cp = (uint32_t)(c & 0x1f) << 6 | (p[1] & 0x3f);
    return 2;
  }
  if (c < 0xf0) {
    if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
      return 0;
    uint32_t v = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
    if (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))
      return 0;
    *cp = v;
    return 3;
  }
  if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
    return 0;
  uint32_t v = (uint32_t)(c & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
               (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
  if (v < 0x10000 || v > 0x10ffff)
    return 0;
  *cp = v;
  return 4;
}
/* Offset of the first invalid byte, or len if the whole buffer is valid. */
size_t lh__utf8_check(const char *s, size_t len);
/* Encode cp (must be a valid scalar value); returns the byte count. */
size_t lh__utf8_encode(uint32_t cp, char out[4]);
/* Python's str.isspace() for one code point. */
bool lh__unicode_space(uint32_t cp);

#endif
