/* qsort that accepts empty arrays: qsort(NULL, 0, ...) is undefined behaviour. */
#ifndef LH_CORE_SORT_H
#define LH_CORE_SORT_H

#include <stdlib.h>
#include <string.h>

static inline void lh__qsort(void *base, size_t n, size_t size,
                             int (*cmp)(const void *, const void *)) {
  if (n > 1)
    qsort(base, n, size, cmp);
}

/* Comparator for arrays of C strings (char * or const char *). */
static inline int lh__cmp_strp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#endif
