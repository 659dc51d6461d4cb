/* Small filesystem helpers shared by the store and the statement store. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int lh_temp_file(FILE **out, lh_error *err) {
  *out = NULL;
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir)
    dir = "/tmp";
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    /* no O_TMPFILE on this filesystem: a named file, unlinked at once */
    char path[4096];
    if (snprintf(path, sizeof path, "%s/lh-spill-XXXXXX", dir) >= (int)sizeof path)
      return lh_error_set(err, LH_EINVAL, "TMPDIR is too long");
    if ((fd = mkstemp(path)) >= 0)
      unlink(path);
  }
  if (fd < 0)
    return lh_error_errno(err, errno, "cannot create a temporary file in '%s'", dir);
  if (!(*out = fdopen(fd, "w+b"))) {
    int e = errno;
    close(fd);
    return lh_error_errno(err, e, "cannot open a temporary file in '%s'", dir);
  }
  return 0;
}
