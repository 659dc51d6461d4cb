/* Streaming RFC 4180 CSV reader: quoted fields with "" escapes and embedded newlines,
 * "\n" or "\r\n" record ends, a cap on record size. Fields are NUL-terminated and valid
 * until the next call. Malformed quoting is an error naming the line. */
#ifndef LH_CORE_CSV_READER_H
#define LH_CORE_CSV_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/lines.h"
#include "lakehouse/error.h"

typedef struct lh__csv lh__csv;

typedef struct lh__csv_record {
  size_t nfields;
  char **fields; /* NUL-terminated values */
  size_t *lens;
  uint64_t line; /* 1-based line where the record starts */
} lh__csv_record;

lh__csv *lh__csv_open_fd(int fd, size_t max_record);
/* Parse what fn reads (fn returns 0 or a negative code; *got == 0 at the end). */
lh__csv *lh__csv_open_reader(lh__read_fn fn, void *ctx, size_t max_record);
/* Parse from memory instead of a file descriptor (the buffer must outlive the reader). */
lh__csv *lh__csv_open_mem(const char *data, size_t len, size_t max_record);
void lh__csv_close(lh__csv *c);
/* 1 with a record, 0 at end of input, negative on error. */
int lh__csv_next(lh__csv *c, lh__csv_record *rec, lh_error *err);

#endif
