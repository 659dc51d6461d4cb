/* Local filesystem helpers (the fs:// store and the staging of local files). */
#ifndef LH_CORE_FS_H
#define LH_CORE_FS_H

#include "lakehouse/error.h"

/* Create path and every missing parent directory (path is modified and restored). */
int lh_mkdirs(char *path, lh_error *err);

#endif
