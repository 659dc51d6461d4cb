/* Small filesystem helpers shared by the store and the statement store. */
#include <errno.h>
#include <sys/stat.h>

#include "core/fs.h"
#include "lakehouse/util.h"

int lh_mkdirs(char *path, lh_error *err) {
  /* create every missing directory of path (modifies and restores path) */
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      lh_error_errno(err, e, "cannot create directory '%s'", path);
      *p = '/';
      return err ? err->code : LH_EIO;
    }
    *p = '/';
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return lh_error_errno(err, errno, "cannot create directory '%s'", path);
  return 0;
}
