/* Small filesystem helpers shared by the store and the statement store. */
#include <errno.h>
#include <sys/stat.h>

#include "core/fs.h"
#include "lakehouse/util.h"

int lh_mkdirs(char *path, lh_error *err) {
  /* create every missing directory of path (modifies and restores path): the deepest first,
   * walking up only while a parent is missing, so an existing tree costs one mkdir */
  if (mkdir(path, 0777) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return lh_error_errno(err, errno, "cannot create directory '%s'", path);
  char *slash = strrchr(path, '/');
  if (!slash || slash == path)
    return lh_error_errno(err, ENOENT, "cannot create directory '%s'", path);
  *slash = '\0';
  int rc = lh_mkdirs(path, err);
  *slash = '/';
  if (rc)
    return rc;
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    return lh_error_errno(err, errno, "cannot create directory '%s'", path);
  return 0;
}
