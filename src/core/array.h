/* The one growable array: capacity doubling for any `T *items` with a `size_t cap`.
 *
 *   if (LH_ARRAY_RESERVE(s->files, s->files_cap, s->nfiles + 1, 64))
 *     return lh_error_nomem(err);
 *   s->files[s->nfiles++] = f;
 */
#ifndef LH_CORE_ARRAY_H
#define LH_CORE_ARRAY_H

#include <stddef.h>

/* Make room in the array at *items_ptr (a `T **`; capacity *cap elements of `size` bytes) for
 * at least `need` elements: the capacity doubles, starting from `first`. Returns 0, or
 * LH_ENOMEM (also on size overflow) leaving the array and *cap unchanged. */
int lh__array_reserve(void *items_ptr, size_t *cap, size_t need, size_t size, size_t first);

#define LH_ARRAY_RESERVE(items, cap, need, first)                                                  \
  lh__array_reserve(&(items), &(cap), (need), sizeof *(items), (first))

#endif
