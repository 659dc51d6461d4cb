/* The one growable array (core/array.h). */
#include "core/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lakehouse/error.h"

int lh__array_reserve(void *items_ptr, size_t *cap, size_t need, size_t size, size_t first) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : (first ? first : 1);
  while (n < need) {
    if (n > SIZE_MAX / 2)
      return LH_ENOMEM;
    n *= 2;
  }
  if (size && n > SIZE_MAX / size)
    return LH_ENOMEM;
  void *items;
  memcpy(&items, items_ptr, sizeof items); /* items_ptr is a T **: every T * is a plain address */
  void *grown = realloc(items, n * size);
  if (!grown)
    return LH_ENOMEM;
  memcpy(items_ptr, &grown, sizeof grown);
  *cap = n;
  return 0;
}
