/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
#ifndef LH_CORE_UTF8_H
#define LH_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid sequence at p with at most avail bytes, 0 if invalid. */
size_t lh__utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp);
/* Offset of the first invalid byte, or len if the whole buffer is valid. */
size_t lh__utf8_check(const char *s, size_t len);
/* Encode cp (must be a valid scalar value); returns the byte count. */
size_t lh__utf8_encode(uint32_t cp, char out[4]);
/* Python's str.isspace() for one code point. */
bool lh__unicode_space(uint32_t cp);

#endif
