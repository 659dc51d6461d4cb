/* Local filesystem store backend: atomic put via temp file + rename, create-exclusive via
 * temp file + link(2), iteration in byte order of keys. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/array.h"
#include "core/crashpoint.h"
#include "core/fs.h"
#include "core/glob.h"
#include "core/process.h"
#include "core/sort.h"
#include "core/text.h"
#include "core/uri.h"
#include "lakehouse/log.h"
#include "store/backend.h"

#define TMP_MARK ".lh-tmp-"

/* Paths published without their fsync (lh_store_defer_sync) that are synced at this many. */
#define DEFERRED_MAX 8192

typedef struct fs_store {
  char *root;   /* absolute, normalised, no trailing slash (except "/") */
  bool defer;   /* lh_store_defer_sync */
  bool no_sync; /* lh_store_no_sync: nothing flushed, nothing deferred */
  /* several threads may publish through one handle (an archive session and its committer) */
  pthread_mutex_t mu;      /* guards pending */
  pthread_mutex_t sync_mu; /* one sync at a time: see fs_sync */
  char **pending;          /* published since the last lh_store_sync */
  size_t npending, cap;
  char **drop; /* those of pending to drop from the page cache once synced */
  size_t ndrop, dcap;
} fs_store;

static char *key_path(const lh_store *s, const char *key) {
  const fs_store *fs = s->impl;
  if (!key || !*key)
    return strdup(fs->root);
  return lh__uri_join(fs->root, key);
}

/* This host's id, in temp file names (gethostid reads files: asked once). */
static unsigned long host_id_value;
static pthread_once_t host_id_once = PTHREAD_ONCE_INIT;

static void host_id_init(void) {
  host_id_value = (unsigned long)gethostid() & 0xffffffffUL;
}

static unsigned long host_id(void) {
  pthread_once(&host_id_once, host_id_init);
  return host_id_value;
}

/* Temp file names: the writer's pid (taken once, and again in a forked child) and a
 * counter mixed with a per-process seed, instead of mkstemp's getpid, getrandom and the
 * fchmod its 0600 needs: three system calls fewer per file of a crawl. */
static pid_t tmp_pid;
static uint64_t tmp_seed;
static _Atomic uint64_t tmp_counter;
static pthread_once_t tmp_once = PTHREAD_ONCE_INIT;

static void tmp_reseed(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tmp_pid = getpid();
  tmp_seed = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
             ((uint64_t)tmp_pid << 32) ^ (uint64_t)(uintptr_t)&ts;
}

static void tmp_init(void) {
  tmp_reseed();
  pthread_atfork(NULL, NULL, tmp_reseed);
}

/* Six name characters, different for every call of this process. */
static void tmp_suffix(char out[6]) {
  static const char ALPHABET[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  uint64_t x = tmp_seed + 0x9e3779b97f4a7c15u * (atomic_fetch_add(&tmp_counter, 1) + 1);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u; /* splitmix64's finaliser */
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  x ^= x >> 31;
  for (int i = 0; i < 6; i++, x /= 62)
    out[i] = ALPHABET[x % 62];
}

/* Create a temp file next to path (creating parent dirs). Returns fd, fills tmp. */
static int open_temp(const char *path, char **tmp, lh_error *err) {
  pthread_once(&tmp_once, tmp_init);
  const char *slash = strrchr(path, '/');
  size_t dlen = (size_t)(slash - path);
  /* the writer's host and pid in the name: a sweep can tell a dead writer's leftovers */
  if (asprintf(tmp, "%.*s/.%s" TMP_MARK "%08lx-%ld-XXXXXX", (int)(dlen ? dlen : 1), path, slash + 1,
               host_id(), (long)tmp_pid) < 0) {
    *tmp = NULL;
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  char *x = *tmp + strlen(*tmp) - 6;
  int fd = -1, rc = 0;
  for (int tries = 0; fd < 0 && tries < 100; tries++) {
    tmp_suffix(x);
    fd = open(*tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno == EEXIST)
      continue;
    if (errno != ENOENT || tries > 0 || !dlen)
      break;
    (*tmp)[dlen] = '\0'; /* the folder, missing: made with its parents */
    rc = lh_mkdirs(*tmp, err);
    (*tmp)[dlen] = '/';
    if (rc)
      break;
  }
  if (fd < 0 && !rc)
    rc = lh_error_errno(err, errno, "cannot create '%s'", path);
  if (rc) {
    free(*tmp);
    *tmp = NULL;
  }
  return rc ? rc : fd;
}

static int write_all(int fd, const void *data, size_t len, const char *what, lh_error *err) {
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return lh_error_errno(err, errno, "cannot write '%s'", what);
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static void sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    return;
  char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
  int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd >= 0) {
    (void)fsync(fd); /* best effort: some filesystems refuse fsync on directories */
    close(fd);
  }
  free(dir);
}

static int fs_sync(lh_store *s, lh_error *err);

/* The folder path is in, with its missing parents. */
static int make_parent(const char *path, lh_error *err) {
  const char *slash = strrchr(path, '/');
  char *dir = slash && slash != path ? strndup(path, (size_t)(slash - path)) : NULL;
  if (!dir)
    return slash && slash != path ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
  int rc = lh_mkdirs(dir, err);
  free(dir);
  return rc;
}

/* Remember a path published without its fsync; sync all when there are many. */
static int defer_path(lh_store *s, const char *path, bool drop, lh_error *err) {
  fs_store *fs = s->impl;
  char *copy = strdup(path), *dcopy = drop ? strdup(path) : NULL;
  pthread_mutex_lock(&fs->mu);
  if (!copy || (drop && !dcopy) || LH_ARRAY_RESERVE(fs->pending, fs->cap, fs->npending + 1, 64) ||
      (drop && LH_ARRAY_RESERVE(fs->drop, fs->dcap, fs->ndrop + 1, 64))) {
    pthread_mutex_unlock(&fs->mu);
    free(copy);
    free(dcopy);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  fs->pending[fs->npending++] = copy;
  if (drop)
    fs->drop[fs->ndrop++] = dcopy;
  bool full = fs->npending >= DEFERRED_MAX;
  pthread_mutex_unlock(&fs->mu);
  return full ? fs_sync(s, err) : 0;
}

/* fsync + close the temp file and move it into place (rename, or link for exclusive); with a
 * deferred sync, the fsyncs wait for lh_store_sync. fd -1: the temp file was closed already
 * (fs_writer_finish), synced when `synced`. */
static int publish(lh_store *s, int fd, bool synced, bool drop, char *tmp, const char *path,
                   bool exclusive, lh_error *err) {
  const fs_store *fs = s->impl;
  bool defer = fs->defer || fs->no_sync; /* the file is not synced here */
  int rc = 0;
  if (fd < 0 && !defer && !synced && /* closed before the store stopped deferring its syncs */
      (fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)
    rc = lh_error_errno(err, errno, "cannot open '%s' to sync it", path);
  if (fd >= 0 && !defer && !synced && fsync(fd) != 0)
    rc = lh_error_errno(err, errno, "cannot sync '%s'", path);
  if (fd >= 0 && !defer && drop && !rc)
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); /* a hint: on disk, no longer cached */
  if (fd >= 0 && close(fd) != 0 && !rc)
    rc = lh_error_errno(err, errno, "cannot close '%s'", path);
  if (!rc) {
    if (exclusive) {
      lh__crashpoint_file("store:before-link", path);
      if (link(tmp, path) != 0) {
        if (errno == EEXIST)
          rc = lh_error_set(err, LH_EEXIST, "'%s' already exists", path);
        else
          rc = lh_error_errno(err, errno, "cannot create '%s'", path);
      }
    } else if (rename(tmp, path) != 0) {
      int e = errno;
      if (e == ENOENT && (rc = make_parent(path, err)) == 0) /* a new folder (commit_as) */
        e = rename(tmp, path) == 0 ? 0 : errno;
      if (!rc && e)
        rc = lh_error_errno(err, e, "cannot move '%s' into place", path);
    }
  }
  if (exclusive || rc)
    unlink(tmp);
  if (!rc && fs->no_sync)
    ; /* nothing to flush, ever */
  else if (!rc && defer)
    rc = defer_path(s, path, drop, err);
  else if (!rc)
    sync_parent(path); /* the new name survives a power loss */
  free(tmp);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files published since the last sync, then their folders (each once). */
/* Many files at once: one syncfs(2) of the store's filesystem writes back every file and
 * folder (ours among them) instead of an fsync per file and per folder. */
#define SYNCFS_FROM 32

/* Flush the paths of `paths` (n of them) to disk; frees them. */
static int sync_paths(fs_store *fs, char **paths, size_t n, lh_error *err) {
  int rc = 0;
  if (n >= SYNCFS_FROM) {
    int fd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && syncfs(fd) == 0) {
      close(fd);
      for (size_t i = 0; i < n; i++)
        free(paths[i]);
      return 0;
    }
    if (fd >= 0)
      close(fd); /* syncfs unavailable: file by file below */
  }
  for (size_t i = 0; i < n; i++) {
    int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT && !rc) /* gone since: nothing to keep */
      rc = lh_error_errno(err, errno, "cannot open '%s'", paths[i]);
    if (fd >= 0 && fsync(fd) != 0 && !rc)
      rc = lh_error_errno(err, errno, "cannot sync '%s'", paths[i]);
    if (fd >= 0)
      close(fd);
    char *slash = strrchr(paths[i], '/');
    if (slash && slash != paths[i])
      *slash = '\0'; /* from here on: the folder */
  }
  lh__qsort(paths, n, sizeof *paths, cmp_str);
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(paths[i], paths[i - 1]) != 0) {
      char *file = NULL; /* sync_parent takes a path inside the folder */
      if (asprintf(&file, "%s/x", paths[i]) >= 0)
        sync_parent(file);
      free(file);
    }
  }
  for (size_t i = 0; i < n; i++)
    free(paths[i]);
  return rc;
}

/* Files on disk that will not be read back soon (lh_writer_no_cache): their pages leave the
 * page cache, so that the next files written reuse them. Memory the kernel has not used for
 * a while costs far more to touch again on a virtual machine than pages just freed (the
 * host may have taken it back), and a crawl of a large collection does not evict
 * everything else from the cache. Only a hint; frees the list. */
static void drop_cached(char **paths, size_t n, bool synced) {
  for (size_t i = 0; i < n; i++) {
    int fd = synced ? open(paths[i], O_RDONLY | O_CLOEXEC) : -1;
    if (fd >= 0) {
      (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      close(fd);
    }
    free(paths[i]);
  }
  free(paths);
}

/* Everything published through s before the call is on disk when this returns: the paths
 * are taken from the list at once (others may be added meanwhile, for the next sync), and
 * a sync waits for one running on another thread, which may hold some of them. */
static int fs_sync(lh_store *s, lh_error *err) {
  fs_store *fs = s->impl;
  pthread_mutex_lock(&fs->sync_mu);
  pthread_mutex_lock(&fs->mu);
  char **paths = fs->pending, **drop = fs->drop;
  size_t n = fs->npending, ndrop = fs->ndrop;
  fs->pending = fs->drop = NULL;
  fs->npending = fs->cap = fs->ndrop = fs->dcap = 0;
  pthread_mutex_unlock(&fs->mu);
  int rc = sync_paths(fs, paths, n, err);
  free(paths);
  drop_cached(drop, ndrop, rc == 0);
  pthread_mutex_unlock(&fs->sync_mu);
  return rc;
}

static void fs_defer_sync(lh_store *s, bool defer) {
  ((fs_store *)s->impl)->defer = defer;
}

static void fs_no_sync(lh_store *s) {
  ((fs_store *)s->impl)->no_sync = true;
}

static int fs_get(lh_store *s, const char *key, lh_buf *out, lh_error *err) {
  char *path = key_path(s, key);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENOENT || errno == ENOTDIR
             ? lh_error_set(err, LH_ENOTFOUND, "key '%s' not found in %s", key, s->uri)
             : lh_error_errno(err, errno, "cannot read '%s'", path);
    goto done;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    rc = lh_error_set(err, LH_ENOTFOUND, "key '%s' not found in %s (a directory)", key, s->uri);
    goto done;
  }
  if (st.st_size > 0 && (rc = lh_buf_grow(out, (size_t)st.st_size)) != 0) {
    lh_error_set(err, rc, "'%s' is too large to read into memory", key);
    goto done;
  }
  for (;;) {
    if ((rc = lh_buf_grow(out, 65536)) != 0) {
      lh_error_set(err, rc, "'%s' is too large to read into memory", key);
      goto done;
    }
    ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc = lh_error_errno(err, errno, "cannot read '%s'", path);
      goto done;
    }
    if (n == 0)
      break;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
  }
done:
  if (fd >= 0)
    close(fd);
  free(path);
  return rc;
}

static int fs_put(lh_store *s, const char *key, const void *data, size_t len, bool exclusive,
                  lh_error *err) {
  char *path = key_path(s, key), *tmp = NULL;
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int fd = open_temp(path, &tmp, err);
  if (fd < 0) {
    free(path);
    return fd;
  }
  int rc = write_all(fd, data, len, path, err);
  if (rc) {
    close(fd);
    unlink(tmp);
    free(tmp);
  } else {
    rc = publish(s, fd, false, false, tmp, path, exclusive, err);
  }
  free(path);
  return rc;
}

static int fs_stat(lh_store *s, const char *key, struct stat *st, lh_error *err) {
  char *path = key_path(s, key);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = stat(path, st) == 0 ? 0 : errno;
  free(path);
  if (rc == ENOENT || rc == ENOTDIR || (rc == 0 && !S_ISREG(st->st_mode)))
    return lh_error_set(err, LH_ENOTFOUND, "key '%s' not found in %s", key, s->uri);
  if (rc)
    return lh_error_errno(err, rc, "cannot stat '%s'", key);
  return 0;
}

static int fs_exists(lh_store *s, const char *key, lh_error *err) {
  struct stat st;
  int rc = fs_stat(s, key, &st, err);
  if (rc == LH_ENOTFOUND) {
    lh_error_clear(err);
    return 0;
  }
  return rc ? rc : 1;
}

static int fs_info(lh_store *s, const char *key, lh_store_info *info, lh_error *err) {
  struct stat st;
  int rc = fs_stat(s, key, &st, err);
  if (rc)
    return rc;
  info->size = st.st_size;
  info->mtime = (lh_time)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
  info->created = (lh_time)st.st_ctim.tv_sec * 1000000 + st.st_ctim.tv_nsec / 1000;
  return 0;
}

static int fs_del(lh_store *s, const char *key, lh_error *err) {
  char *path = key_path(s, key);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int rc = 0;
  if (unlink(path) != 0)
    rc = errno == ENOENT || errno == ENOTDIR
             ? lh_error_set(err, LH_ENOTFOUND, "key '%s' not found in %s", key, s->uri)
             : lh_error_errno(err, errno, "cannot delete '%s'", path);
  free(path);
  return rc;
}

/* ---- streaming read ------------------------------------------------------------------ */
typedef struct fs_reader {
  lh_reader base;
  int fd;
} fs_reader;

static int fs_reader_read(lh_reader *r, void *buf, size_t n, size_t *got, lh_error *err) {
  fs_reader *fr = (fs_reader *)r;
  for (;;) {
    ssize_t k = read(fr->fd, buf, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      *got = 0;
      return lh_error_errno(err, errno, "read failed");
    }
    *got = (size_t)k;
    return 0;
  }
}

static void fs_reader_close(lh_reader *r) {
  fs_reader *fr = (fs_reader *)r;
  close(fr->fd);
  free(fr);
}

static const lh__reader_ops FS_READER_OPS = {fs_reader_read, fs_reader_close};

static int fs_open_read(lh_store *s, const char *key, lh_reader **out, lh_error *err) {
  struct stat st;
  int rc = fs_stat(s, key, &st, err);
  if (rc)
    return rc;
  char *path = key_path(s, key);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENOENT ? lh_error_set(err, LH_ENOTFOUND, "key '%s' not found in %s", key, s->uri)
                         : lh_error_errno(err, errno, "cannot open '%s'", path);
    free(path);
    return rc;
  }
  free(path);
  fs_reader *r = calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  r->base.ops = &FS_READER_OPS;
  r->fd = fd;
  *out = &r->base;
  return 0;
}

/* ---- streaming write (temp file, rename on commit) ------------------------------------ */

/* Pages of a lh_writer_no_cache file: dropped from the page cache once the file is on disk,
 * from this size up (a small file's few pages cost less to keep than to drop). */
#define DROP_MIN ((uint64_t)64 << 10)

typedef struct fs_writer {
  lh_writer base;
  lh_store *store;
  int fd; /* -1 once finished */
  bool synced;
  bool drop;    /* lh_writer_no_cache */
  uint64_t off; /* bytes written */
  char *tmp, *path;
} fs_writer;

static void fs_writer_no_cache(lh_writer *w) {
  ((fs_writer *)w)->drop = true;
}

static bool drops(const fs_writer *fw) {
  return fw->drop && fw->off >= DROP_MIN;
}

static int fs_writer_write(lh_writer *w, const void *data, size_t n, lh_error *err) {
  fs_writer *fw = (fs_writer *)w;
  if (fw->fd < 0)
    return lh_error_set(err, LH_EINTERNAL, "'%s': written after it was finished", fw->path);
  int rc = write_all(fw->fd, data, n, fw->path, err);
  fw->off += rc ? 0 : n;
  return rc;
}

static void fs_writer_abort(lh_writer *w) {
  fs_writer *fw = (fs_writer *)w;
  if (fw->fd >= 0)
    close(fw->fd);
  unlink(fw->tmp);
  free(fw->tmp);
  free(fw->path);
  free(fw);
}

static int fs_writer_commit(lh_writer *w, lh_error *err) {
  fs_writer *fw = (fs_writer *)w;
  int rc = publish(fw->store, fw->fd, fw->synced, drops(fw), fw->tmp, fw->path, false, err);
  free(fw->path);
  free(fw);
  return rc;
}

static int fs_writer_commit_as(lh_writer *w, const char *key, lh_error *err) {
  fs_writer *fw = (fs_writer *)w;
  char *path = key_path(fw->store, key);
  if (!path) {
    fs_writer_abort(w);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  free(fw->path);
  fw->path = path;
  return fs_writer_commit(w, err);
}

static int fs_writer_prepare_as(lh_writer *w, const char *key, lh_error *err) {
  fs_writer *fw = (fs_writer *)w;
  char *path = key_path(fw->store, key);
  int rc = path ? make_parent(path, err) : lh_error_set(err, LH_ENOMEM, "out of memory");
  free(path);
  return rc;
}

/* Close the temp file ahead of the commit (synced first unless the store defers its syncs). */
static int fs_writer_finish(lh_writer *w, lh_error *err) {
  fs_writer *fw = (fs_writer *)w;
  if (fw->fd < 0)
    return 0;
  int rc = 0;
  const fs_store *fs = fw->store->impl;
  if (!fs->defer && !fs->no_sync) {
    if (fsync(fw->fd) != 0)
      rc = lh_error_errno(err, errno, "cannot sync '%s'", fw->path);
    else if (drops(fw))
      (void)posix_fadvise(fw->fd, 0, 0, POSIX_FADV_DONTNEED);
    fw->synced = true;
  }
  if (close(fw->fd) != 0 && !rc)
    rc = lh_error_errno(err, errno, "cannot close '%s'", fw->path);
  fw->fd = -1;
  return rc;
}

static const lh__writer_ops FS_WRITER_OPS = {
    fs_writer_write,      fs_writer_commit, fs_writer_abort,   fs_writer_commit_as,
    fs_writer_prepare_as, fs_writer_finish, fs_writer_no_cache};

static int fs_open_write(lh_store *s, const char *key, lh_writer **out, lh_error *err) {
  fs_writer *w = calloc(1, sizeof *w);
  if (!w || !(w->path = key_path(s, key))) {
    free(w);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  w->fd = open_temp(w->path, &w->tmp, err);
  if (w->fd < 0) {
    int rc = w->fd;
    free(w->path);
    free(w);
    return rc;
  }
  w->base.ops = &FS_WRITER_OPS;
  w->store = s;
  *out = &w->base;
  return 0;
}

/* ---- iteration ------------------------------------------------------------------------ */
typedef struct entry {
  char *sortkey; /* name, with '/' appended for directories so DFS yields byte order */
  bool dir;
} entry;

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry *)a)->sortkey, ((const entry *)b)->sortkey);
}

typedef struct walk {
  const char *glob;
  lh_store_key_fn fn;
  void *ctx;
  lh_error *err;
} walk;

static int walk_dir(walk *w, char *path, size_t root_len, int depth) {
  if (depth > 64)
    return lh_error_set(w->err, LH_ELIMIT, "directory tree too deep at '%s'", path);
  DIR *d = opendir(path);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR)
      return 0;
    return lh_error_errno(w->err, errno, "cannot list '%s'", path);
  }
  entry *items = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strstr(name, TMP_MARK))
      continue;
    bool dir;
    if (de->d_type == DT_DIR) {
      dir = true;
    } else if (de->d_type == DT_REG) {
      dir = false;
    } else {
      struct stat st;
      char *full = lh__uri_join(path, name);
      int ok = full && stat(full, &st) == 0;
      free(full);
      if (!ok || !(S_ISREG(st.st_mode) || (S_ISDIR(st.st_mode) && de->d_type != DT_LNK))) {
        /* dangling links, sockets, FIFOs, devices, and links to folders (no cycles) */
        char shown[512];
        lh_log_info("skipping '%s/%s': %s", path,
                    lh__printable(name, strlen(name), shown, sizeof shown),
                    !ok                   ? "a dangling link"
                    : S_ISDIR(st.st_mode) ? "a link to a folder"
                                          : "not a regular file");
        continue;
      }
      dir = S_ISDIR(st.st_mode);
    }
    if (LH_ARRAY_RESERVE(items, cap, n + 1, 32)) {
      rc = lh_error_set(w->err, LH_ENOMEM, "out of memory");
      goto done;
    }
    if (asprintf(&items[n].sortkey, dir ? "%s/" : "%s", name) < 0) {
      rc = lh_error_set(w->err, LH_ENOMEM, "out of memory");
      goto done;
    }
    items[n++].dir = dir;
  }
  closedir(d);
  d = NULL;
  lh__qsort(items, n, sizeof *items, entry_cmp);
  for (size_t i = 0; i < n && rc == 0; i++) {
    size_t nl = strlen(items[i].sortkey) - items[i].dir;
    items[i].sortkey[nl] = '\0';
    char *child = lh__uri_join(path, items[i].sortkey);
    if (!child) {
      rc = lh_error_set(w->err, LH_ENOMEM, "out of memory");
      break;
    }
    if (items[i].dir) {
      rc = walk_dir(w, child, root_len, depth + 1);
    } else {
      const char *key = child + root_len + 1;
      if (!w->glob || lh__glob_match(w->glob, key))
        rc = w->fn(key, w->ctx);
    }
    free(child);
  }
done:
  if (d)
    closedir(d);
  for (size_t i = 0; i < n; i++)
    free(items[i].sortkey);
  free(items);
  return rc;
}

static int fs_iterate(lh_store *s, const char *prefix, const char *glob, lh_store_key_fn fn,
                      void *ctx, lh_error *err) {
  fs_store *fs = s->impl;
  walk w = {glob, fn, ctx, err};
  size_t root_len = strcmp(fs->root, "/") == 0 ? 0 : strlen(fs->root);
  char *path = prefix ? lh__uri_join(fs->root, prefix) : strdup(fs->root);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  struct stat st;
  int rc = 0;
  if (prefix && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
    if (!glob || lh__glob_match(glob, prefix))
      rc = fn(prefix, ctx);
  } else {
    rc = walk_dir(&w, path, root_len, 0);
  }
  free(path);
  return rc;
}

static int fs_children(lh_store *s, const char *prefix, lh_store_key_fn fn, void *ctx,
                       lh_error *err) {
  char *path = key_path(s, prefix);
  if (!path)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  DIR *d = opendir(path);
  int rc = 0;
  if (!d) {
    rc = errno == ENOENT || errno == ENOTDIR ? 0
                                             : lh_error_errno(err, errno, "cannot list '%s'", path);
    free(path);
    return rc;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
        strstr(de->d_name, TMP_MARK))
      continue;
    if (LH_ARRAY_RESERVE(names, cap, n + 1, 32)) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    if (!(names[n] = strdup(de->d_name))) {
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
      break;
    }
    n++;
  }
  closedir(d);
  free(path);
  if (!rc) {
    lh__qsort(names, n, sizeof *names, lh__cmp_strp);
    for (size_t i = 0; i < n && !rc; i++)
      rc = fn(names[i], ctx);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

typedef struct sweep {
  lh_time before;
  size_t files;
  int64_t bytes;
} sweep;

/* Whether the temp file `name` was left by a writer of this host that is no longer running
 * (its name holds the writer's host id and pid, see open_temp). Unknown: not dead. */
static bool writer_dead(const char *name) {
  const char *m = strstr(name, TMP_MARK);
  unsigned long host;
  long pid;
  int used = 0;
  if (!m || sscanf(m + strlen(TMP_MARK), "%8lx-%ld-%n", &host, &pid, &used) != 2 || !used ||
      pid <= 0)
    return false;
  if (host != host_id() || pid == (long)getpid())
    return false;
  return lh_process_ended((pid_t)pid);
}

static int sweep_dir(sweep *sw, char *path, size_t len, size_t cap, int depth, lh_error *err) {
  if (depth > 64)
    return 0;
  DIR *d = opendir(path);
  if (!d)
    return errno == ENOENT || errno == ENOTDIR
               ? 0
               : lh_error_errno(err, errno, "cannot list '%s'", path);
  int rc = 0;
  struct dirent *de;
  while (!rc && (de = readdir(d))) {
    size_t nl = strlen(de->d_name);
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || len + nl + 2 > cap)
      continue;
    path[len] = '/';
    memcpy(path + len + 1, de->d_name, nl + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        rc = sweep_dir(sw, path, len + 1 + nl, cap, depth + 1, err);
      } else if (S_ISREG(st.st_mode) && strstr(de->d_name, TMP_MARK)) {
        lh_time mtime = (lh_time)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
        if ((mtime < sw->before || writer_dead(de->d_name)) && unlink(path) == 0) {
          sw->files++;
          sw->bytes += st.st_size;
        }
      }
    }
    path[len] = '\0';
  }
  closedir(d);
  return rc;
}

static int fs_sweep_temp(lh_store *s, const char *prefix, lh_time before, size_t *files,
                         int64_t *bytes, lh_error *err) {
  char *start = key_path(s, prefix);
  if (!start)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  size_t cap = strlen(start) + 4096;
  char *path = malloc(cap);
  if (!path) {
    free(start);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  memcpy(path, start, strlen(start) + 1);
  sweep sw = {before, 0, 0};
  int rc = sweep_dir(&sw, path, strlen(path), cap, 0, err);
  if (files)
    *files = sw.files;
  if (bytes)
    *bytes = sw.bytes;
  free(path);
  free(start);
  return rc;
}

static char *fs_local_path(const lh_store *s, const char *key) {
  return key_path(s, key);
}

static void fs_close(lh_store *s) {
  fs_store *fs = s->impl;
  fs_sync(s, NULL); /* what a deferring user did not sync yet */
  free(fs->pending);
  pthread_mutex_destroy(&fs->mu);
  pthread_mutex_destroy(&fs->sync_mu);
  free(fs->root);
  free(fs);
  free(s->uri);
  free(s);
}

static const lh__store_ops FS_OPS = {
    .name = "fs",
    .get = fs_get,
    .put = fs_put,
    .exists = fs_exists,
    .del = fs_del,
    .info = fs_info,
    .open_read = fs_open_read,
    .open_write = fs_open_write,
    .iterate = fs_iterate,
    .children = fs_children,
    .sweep_temp = fs_sweep_temp,
    .local_path = fs_local_path,
    .commits_as = true,
    .defer_sync = fs_defer_sync,
    .no_sync = fs_no_sync,
    .sync = fs_sync,
    .close = fs_close,
};

int lh__store_fs_open(const char *uri, lh_store **out, lh_error *err) {
  char *root = lh__uri_local_path(uri, err);
  if (!root)
    return err ? err->code : LH_EINVAL;
  lh_store *s = calloc(1, sizeof *s);
  fs_store *fs = calloc(1, sizeof *fs);
  if (!s || !fs || asprintf(&s->uri, "file://%s", root) < 0) {
    free(s);
    free(fs);
    free(root);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  fs->root = root;
  pthread_mutex_init(&fs->mu, NULL);
  pthread_mutex_init(&fs->sync_mu, NULL);
  s->ops = &FS_OPS;
  s->impl = fs;
  *out = s;
  return 0;
}
