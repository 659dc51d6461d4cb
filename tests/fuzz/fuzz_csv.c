/* Fuzz target: the streaming CSV reader. */
#include <stddef.h>
#include <stdint.h>

#include "core/csv_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lh__csv *c = lh__csv_open_mem((const char *)data, size, 4096);
  lh__csv_record r;
  lh_error err = {0};
  size_t total = 0;
  while (lh__csv_next(c, &r, &err) == 1)
    for (size_t i = 0; i < r.nfields; i++)
      total += r.lens[i] + (r.fields[i][r.lens[i]] == '\0' ? 0 : 1000000); /* NUL-terminated */
  lh__csv_close(c);
  if (total > size * 2 + 1000000)
    __builtin_trap();
  return 0;
}
