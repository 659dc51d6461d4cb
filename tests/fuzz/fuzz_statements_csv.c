/* Fuzz target: a statements CSV as `statements import` reads it - header sniffing, the pack
 * format, every row's checks - and what the entity buffer makes of the rows the reader
 * accepts (schema and property lookups, ids, origins, shards), up to the rows the store
 * would be handed. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "logic/entity_buffer.h"
#include "model/statement_csv_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lh_buffer_opts o = {.dataset = "fuzz",
                      .shards = 8,
                      .origin = "bulk",
                      .max_rows = 1 << 20,
                      .last_seen = LH_TIME_NULL,
                      .now = 1700000000000000LL};
  lh_error err = {0};
  lh_entity_buffer *b = NULL;
  lh_entity_buffer_new(&o, &b, &err);
  lh__csv *c = lh__csv_open_mem((const char *)data, size, 1 << 16);
  lh__stmt_csv *r = c ? lh__stmt_csv_open(c, "fuzz.csv", o.now, o.now) : NULL;
  if (b && r && lh__stmt_csv_header(r, &err) == 1) {
    lh_statement st;
    for (int i = 0; i < 10000; i++) {
      int rc = lh__stmt_csv_next(r, &st, &err);
      if (rc == 0)
        break;
      if (rc == 1)
        lh_entity_buffer_add_statement(b, &st, LH_TIME_NULL, NULL, NULL, &err);
    }
    const lh_row *rows;
    size_t n;
    if (lh_entity_buffer_take(b, o.now, &rows, &n, &err) == 0)
      for (size_t i = 0; i < n; i++) /* what the store is handed: complete rows */
        if (lh_row_check_required(&rows[i], &err) != 0)
          __builtin_trap();
  }
  lh__stmt_csv_close(r);
  if (c)
    lh__csv_close(c);
  lh_entity_buffer_free(b);
  return 0;
}
