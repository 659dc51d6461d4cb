/* Inline lowercase hex encoding for the statement-id hot path. */
#ifndef LH_CORE_HEX_H
#define LH_CORE_HEX_H

#include <stddef.h>
#include <string.h>

extern const char lh__hex_pairs[513]; /* "000102...ff" */

/* Writes 2n hex characters (no NUL). */
static inline void lh__hex(const unsigned char *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    memcpy(out + 2 * i, lh__hex_pairs + 2 * in[i], 2);
}

#endif
