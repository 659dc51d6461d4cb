/* Line reader over a file descriptor for NDJSON / CSV input: big reads, no per-line
 * allocation, "\n" or "\r\n" endings, a hard cap on line length so hostile input cannot
 * grow memory without bound. */
#ifndef LH_CORE_LINES_H
#define LH_CORE_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "lakehouse/error.h"

#define LH_LINE_MAX ((size_t)256 << 20) /* 256 MiB */

typedef struct lh__lines lh__lines;

lh__lines *lh__lines_open_fd(int fd, size_t max_line);
/* A reader of bytes: 0 or a negative code; *got == 0 at the end of input. */
typedef int (*lh__read_fn)(void *ctx, void *buf, size_t n, size_t *got, lh_error *err);
/* Lines of what fn reads. */
lh__lines *lh__lines_open_reader(lh__read_fn fn, void *ctx, size_t max_line);
void lh__lines_close(lh__lines *l); /* does not close the fd */
/* Next line without its terminator (NUL-terminated; valid until the next call).
 * Returns 1 with a line, 0 at end of input, or a negative code (LH_ELIMIT for a line
 * longer than the cap, LH_EIO). *lineno is the 1-based number of the returned line. */
int lh__lines_next(lh__lines *l, const char **line, size_t *len, uint64_t *lineno, lh_error *err);
/* Bytes consumed so far (for progress). */
uint64_t lh__lines_offset(const lh__lines *l);

#endif
