/* Helpers shared by the unit tests. */
#ifndef LH_TESTUTIL_H
#define LH_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "lakehouse/lakehouse.h"
/* the library's internals the unit tests exercise */
#include "core/conventions.h"
#include "logic/aggregate.h"
#include "logic/entity_buffer.h"
#include "logic/merge.h"
#include "model/statement_csv.h"
#include "repository/context.h"
#include "repository/entities_internal.h"
#include "repository/jobs.h"
#include "storage/duck.h"
#include "storage/fence.h"
#include "storage/journal/journal.h"
#include "storage/parquet/statement_store.h"
#include "storage/tags.h"
#include "storage/versions.h"
#include "store/codec.h"

/* ../shared (LH_SHARED_DIR); fails the test when it is missing: nothing skips silently. */
const char *tu_shared_dir(void);
/* Path of a file under the shared dir (static buffer, valid until the next call). */
const char *tu_shared(const char *rel);
/* Whole file into a NUL-terminated malloc'd buffer; fails the test if unreadable. */
char *tu_read_file(const char *path, size_t *len);
/* How many of the file's pages are in the page cache (mincore); its page count in *pages. */
size_t tu_resident_pages(const char *path, size_t *pages);
/* A fresh temporary directory (removed by tu_rmtree). */
char *tu_tempdir(void);
void tu_rmtree(const char *path);
const lh_model *tu_model(void);
/* The number a shell command prints (its first word), or -1. */
long long tu_shell_number(const char *cmd);
/* Path of a program built with the tests (LH_BUILD_DIR/tests/name); static buffer. */
const char *tu_built(const char *name);
/* The first column of the first row of SQL over a statement store, as JSON text (static
 * buffer, "" without rows); fails the test when the query fails. */
const char *tu_store_value(lh_statement_store *st, const char *sql);
/* The store's Delta version (-1: no table); fails the test on error. */
int64_t tu_version(lh_statement_store *st, lh_error *err);
/* The same, as a number. */
long long tu_store_number(lh_statement_store *st, const char *sql);

/* A lake in a fresh temporary folder with the default settings (LAKEHOUSE_URI pointing at
 * it, the default SQLite journal, no public URL prefix). */
typedef struct tu_lake {
  char *dir;
  lh_settings settings;
  lh_catalog *catalog;
} tu_lake;
void tu_lake_open(tu_lake *l);
void tu_lake_close(tu_lake *l);
/* Open dataset name of the lake; fails the test on error. */
lh_dataset *tu_lake_dataset(tu_lake *l, const char *name);

/* The state letter of process pid in /proc/PID/stat ('R', 'S', 'Z', ...), 0 if unknown. */
char tu_proc_state(pid_t pid);
/* Wait (up to 5 s) until process pid is in that state; fails the test otherwise. */
void tu_wait_proc_state(pid_t pid, char state);

#endif
