/* Helpers shared by the unit tests. */
#ifndef LH_TESTUTIL_H
#define LH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lakehouse/lakehouse.h"

/* ../shared (LH_SHARED_DIR); fails the test when it is missing: nothing skips silently. */
const char *tu_shared_dir(void);
/* Path of a file under the shared dir (static buffer, valid until the next call). */
const char *tu_shared(const char *rel);
/* Whole file into a NUL-terminated malloc'd buffer; fails the test if unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* A fresh temporary directory (removed by tu_rmtree). */
char *tu_tempdir(void);
void tu_rmtree(const char *path);
const lh_model *tu_model(void);

#endif
