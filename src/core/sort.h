/* qsort that accepts empty arrays: qsort(NULL, 0, ...) is undefined behaviour. */
#ifndef LH_CORE_SORT_H
#define LH_CORE_SORT_H

#include <stdlib.h>

static inline void lh__qsort(void *base, size_t n, size_t size,
                             int (*cmp)(const void *, const void *)) {
  if (n > 1)
    qsort(base, n, size, cmp);
}

#endif
