/* Text helpers for messages. */
#ifndef LH_CORE_TEXT_H
#define LH_CORE_TEXT_H

#include <stddef.h>

/* A copy of s[0..n) safe to print inside an error message: control bytes and bytes that
 * are not UTF-8 as \xNN, cut with "..." when it does not fit. Returns buf. */
const char *lh__printable(const char *s, size_t n, char *buf, size_t size);

#endif
