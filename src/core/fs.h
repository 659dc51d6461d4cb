/* Local filesystem helpers (the fs:// store and the staging of local files). */
#ifndef LH_CORE_FS_H
#define LH_CORE_FS_H

#include <stdio.h>

#include "lakehouse/error.h"

/* Create path and every missing parent directory (path is modified and restored). */
int lh_mkdirs(char *path, lh_error *err);

/* A temporary file for spilling (read and write), in $TMPDIR (else /tmp), already unlinked:
 * it goes away when closed or when the process dies. */
int lh_temp_file(FILE **out, lh_error *err);

#endif
