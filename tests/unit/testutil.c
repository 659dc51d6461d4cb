/* Helpers shared by the unit tests. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "storage/parquet/store_internal.h"

const char *tu_shared_dir(void) {
  const char *d = getenv("LH_SHARED_DIR");
  if (!d || access(d, R_OK) != 0) {
    print_error("shared data directory not found (LH_SHARED_DIR=%s)\n", d ? d : "(unset)");
    fail();
  }
  return d;
}

const char *tu_shared(const char *rel) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", tu_shared_dir(), rel);
  return path;
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    print_error("cannot open %s\n", path);
    fail();
  }
  lh_buf b = LH_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    assert_int_equal(lh_buf_append(&b, chunk, n), 0);
  fclose(f);
  if (len)
    *len = b.len;
  return lh_buf_steal(&b);
}

size_t tu_resident_pages(const char *path, size_t *pages) {
  int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = ((size_t)st.st_size + page - 1) / page;
  size_t in = 0;
  if (n) {
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    unsigned char *vec = calloc(n, 1);
    assert_int_equal(mincore(map, (size_t)st.st_size, vec), 0);
    for (size_t i = 0; i < n; i++)
      in += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)st.st_size);
  }
  close(fd);
  *pages = n;
  return in;
}

char *tu_tempdir(void) {
  char tmpl[] = "/tmp/lh-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

void tu_rmtree(const char *path) {
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const lh_model *tu_model(void) {
  lh_error err = {0};
  const lh_model *m = lh_model_default(&err);
  if (!m) {
    print_error("model: %s\n", err.message);
    fail();
  }
  return m;
}

const char *tu_built(const char *name) {
  static char path[4096];
  const char *build = getenv("LH_BUILD_DIR");
  if (!build) {
    print_error("LH_BUILD_DIR is not set\n");
    fail();
  }
  snprintf(path, sizeof path, "%s/tests/%s", build, name);
  return path;
}

static int first_value(void *ctx, size_t ncols, const char *const *names, const char *const *v,
                       lh_error *err) {
  (void)ncols;
  (void)names;
  (void)err;
  char *out = ctx;
  if (!out[0])
    snprintf(out, 256, "%s", v[0]);
  return 0;
}

const char *tu_store_value(lh_statement_store *st, const char *sql) {
  static char out[256];
  out[0] = '\0';
  lh_error err = {0};
  if (lh__store_sql(st, sql, first_value, out, &err)) {
    print_error("%s: %s\n", sql, err.message);
    fail();
  }
  return out;
}

int64_t tu_version(lh_statement_store *st, lh_error *err) {
  int64_t v = -2;
  if (lh_statement_store_version(st, &v, err)) {
    print_error("version: %s\n", err->message);
    fail();
  }
  return v;
}

long long tu_store_number(lh_statement_store *st, const char *sql) {
  return atoll(tu_store_value(st, sql));
}

long long tu_shell_number(const char *cmd) {
  FILE *p = popen(cmd, "r");
  long long n = -1;
  if (!p || fscanf(p, "%lld", &n) != 1)
    n = -1;
  if (p)
    pclose(p);
  return n;
}

void tu_lake_open(tu_lake *l) {
  l->dir = tu_tempdir();
  setenv("LAKEHOUSE_URI", l->dir, 1);
  unsetenv("LAKEHOUSE_JOURNAL_URI");
  unsetenv("LAKEHOUSE_PUBLIC_URL_PREFIX");
  lh_error err = {0};
  assert_int_equal(lh_settings_load(&l->settings, &err), 0);
  assert_int_equal(lh_catalog_open(l->dir, &l->catalog, &err), 0);
}

void tu_lake_close(tu_lake *l) {
  lh_catalog_close(l->catalog);
  lh_settings_free(&l->settings);
  tu_rmtree(l->dir);
  free(l->dir);
}

lh_dataset *tu_lake_dataset(tu_lake *l, const char *name) {
  lh_dataset *ds;
  lh_error err = {0};
  if (lh_dataset_open(l->catalog, name, NULL, &l->settings, &ds, &err))
    fail_msg("open %s: %s", name, err.message);
  return ds;
}

char tu_proc_state(pid_t pid) {
  char path[64], text[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *fp = fopen(path, "r");
  if (!fp)
    return 0;
  size_t n = fread(text, 1, sizeof text - 1, fp);
  fclose(fp);
  text[n] = '\0';
  const char *after = strrchr(text, ')'); /* the command name may hold ") " */
  return after && after[1] == ' ' ? after[2] : 0;
}

void tu_wait_proc_state(pid_t pid, char state) {
  for (int i = 0; i < 1000 && tu_proc_state(pid) != state; i++)
    usleep(5000);
  assert_int_equal(tu_proc_state(pid), state);
}
