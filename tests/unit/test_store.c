/* store/: the key/value interface over the local filesystem backend. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

typedef struct fixture {
  char *dir;
  lh_store *store;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_tempdir();
  lh_error err = {0};
  assert_int_equal(lh_store_open(f->dir, &f->store, &err), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  lh_store_close(f->store);
  tu_rmtree(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static void test_put_get(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  char want_uri[4200];
  snprintf(want_uri, sizeof want_uri, "file://%s", f->dir);
  assert_string_equal(lh_store_uri(f->store), want_uri);
  assert_int_equal(lh_store_put(f->store, "a/b/c.txt", "hello", 5, &err), 0);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, "a/b/c.txt", &b, &err), 0);
  assert_string_equal(b.data, "hello");
  /* replace atomically */
  assert_int_equal(lh_store_put(f->store, "a/b/c.txt", "bye", 3, &err), 0);
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(f->store, "a/b/c.txt", &b, &err), 0);
  assert_string_equal(b.data, "bye");
  assert_int_equal(lh_store_exists(f->store, "a/b/c.txt", &err), 1);
  assert_int_equal(lh_store_exists(f->store, "a/b", &err), 0); /* folders are not keys */
  assert_int_equal(lh_store_exists(f->store, "missing", &err), 0);
  lh_store_info info;
  assert_int_equal(lh_store_stat(f->store, "a/b/c.txt", &info, &err), 0);
  assert_int_equal(info.size, 3);
  assert_true(info.mtime > lh_time_now() - 60 * 1000000LL);
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(f->store, "nope", &b, &err), LH_ENOTFOUND);
  assert_non_null(strstr(err.message, "nope"));
  assert_int_equal(lh_store_delete(f->store, "a/b/c.txt", &err), 0);
  assert_int_equal(lh_store_delete(f->store, "a/b/c.txt", &err), LH_ENOTFOUND);
  assert_int_equal(lh_store_exists(f->store, "a/b/c.txt", &err), 0);
  /* empty values are values */
  assert_int_equal(lh_store_put(f->store, "empty", "", 0, &err), 0);
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(f->store, "empty", &b, &err), 0);
  assert_int_equal(b.len, 0);
  lh_buf_free(&b);
}

static void test_create_exclusive(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  assert_int_equal(lh_store_create(f->store, ".LOCK", "{\"pid\":1}", 9, &err), 0);
  assert_int_equal(lh_store_create(f->store, ".LOCK", "{\"pid\":2}", 9, &err), LH_EEXIST);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, ".LOCK", &b, &err), 0);
  assert_string_equal(b.data, "{\"pid\":1}"); /* the holder's content survives */
  lh_buf_free(&b);

  /* many processes race for one key: exactly one wins */
  for (int round = 0; round < 5; round++) {
    char key[32];
    snprintf(key, sizeof key, "race-%d", round);
    int wins = 0;
    pid_t pids[8];
    for (int i = 0; i < 8; i++) {
      pids[i] = fork();
      if (pids[i] == 0) {
        lh_store *s;
        if (lh_store_open(f->dir, &s, NULL))
          _exit(3);
        int rc = lh_store_create(s, key, "x", 1, NULL);
        lh_store_close(s);
        _exit(rc == 0 ? 0 : rc == LH_EEXIST ? 1 : 2);
      }
    }
    for (int i = 0; i < 8; i++) {
      int st;
      waitpid(pids[i], &st, 0);
      assert_true(WIFEXITED(st));
      assert_true(WEXITSTATUS(st) <= 1);
      wins += WEXITSTATUS(st) == 0;
    }
    assert_int_equal(wins, 1);
  }
}

static void test_streams(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_writer *w;
  assert_int_equal(lh_store_open_write(f->store, "exports/big.csv", &w, &err), 0);
  char chunk[4096];
  for (int i = 0; i < 256; i++) {
    memset(chunk, 'a' + i % 26, sizeof chunk);
    assert_int_equal(lh_writer_write(w, chunk, sizeof chunk, &err), 0);
  }
  /* nothing is visible before commit */
  assert_int_equal(lh_store_exists(f->store, "exports/big.csv", &err), 0);
  assert_int_equal(lh_writer_commit(w, &err), 0);
  lh_reader *r;
  assert_int_equal(lh_store_open_read(f->store, "exports/big.csv", &r, &err), 0);
  size_t total = 0, got;
  do {
    assert_int_equal(lh_reader_read(r, chunk, sizeof chunk, &got, &err), 0);
    if (got)
      assert_int_equal(chunk[0], 'a' + (int)(total / 4096) % 26);
    total += got;
  } while (got);
  lh_reader_close(r);
  assert_int_equal(total, 256 * 4096);
  /* an aborted writer leaves nothing, not even a temp file */
  assert_int_equal(lh_store_open_write(f->store, "exports/aborted.csv", &w, &err), 0);
  assert_int_equal(lh_writer_write(w, "x", 1, &err), 0);
  lh_writer_abort(w);
  assert_int_equal(lh_store_exists(f->store, "exports/aborted.csv", &err), 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/exports", f->dir);
  int n = 0;
  DIR *d = opendir(path);
  for (struct dirent *de; (de = readdir(d));)
    n += de->d_name[0] != '.' || strstr(de->d_name, "tmp") != NULL;
  closedir(d);
  assert_int_equal(n, 1); /* only big.csv */
  assert_int_equal(lh_store_open_read(f->store, "exports/missing", &r, &err), LH_ENOTFOUND);
}

typedef struct keys {
  char *items[64];
  int n;
} keys;

static int collect(const char *key, void *ctx) {
  keys *k = ctx;
  k->items[k->n++] = strdup(key);
  return 0;
}

static void keys_free(keys *k) {
  for (int i = 0; i < k->n; i++)
    free(k->items[i]);
  k->n = 0;
}

static int stop_at_two(const char *key, void *ctx) {
  (void)key;
  return ++*(int *)ctx == 2 ? 42 : 0;
}

static void test_iterate(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  const char *all[] = {"a.b",
                       "a/b",
                       "a/c/d.json",
                       "archive/00/x.json",
                       "archive/00/blob",
                       "tags/lakehouse/x",
                       ".LOCK-APPENDS/abc"};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    assert_int_equal(lh_store_put(f->store, all[i], "1", 1, &err), 0);
  keys k = {0};
  assert_int_equal(lh_store_iterate(f->store, NULL, NULL, collect, &k, &err), 0);
  /* byte order of whole keys: '.' (0x2e) sorts before '/' (0x2f) */
  const char *want[] = {
      ".LOCK-APPENDS/abc", "a.b", "a/b", "a/c/d.json", "archive/00/blob", "archive/00/x.json",
      "tags/lakehouse/x"};
  assert_int_equal(k.n, 7);
  for (int i = 0; i < 7; i++)
    assert_string_equal(k.items[i], want[i]);
  keys_free(&k);
  assert_int_equal(lh_store_iterate(f->store, "archive", "archive/**/*.json", collect, &k, &err),
                   0);
  assert_int_equal(k.n, 1);
  assert_string_equal(k.items[0], "archive/00/x.json");
  keys_free(&k);
  assert_int_equal(lh_store_iterate(f->store, ".LOCK-APPENDS/", NULL, collect, &k, &err), 0);
  assert_int_equal(k.n, 1);
  keys_free(&k);
  assert_int_equal(lh_store_iterate(f->store, "nothing-here", NULL, collect, &k, &err), 0);
  assert_int_equal(k.n, 0);
  int count = 0;
  assert_int_equal(lh_store_iterate(f->store, NULL, NULL, stop_at_two, &count, &err), 42);
  assert_int_equal(lh_store_children(f->store, NULL, collect, &k, &err), 0);
  const char *kids[] = {".LOCK-APPENDS", "a", "a.b", "archive", "tags"};
  assert_int_equal(k.n, 5);
  for (int i = 0; i < 5; i++)
    assert_string_equal(k.items[i], kids[i]);
  keys_free(&k);
  assert_int_equal(lh_store_children(f->store, "a", collect, &k, &err), 0);
  assert_int_equal(k.n, 2);
  keys_free(&k);
}

static void test_bad_keys(void **state) {
  fixture *f = *state;
  const char *bad[] = {"",      "/etc/passwd", "../escape", "a/../../b", "a//b",
                       "a/./b", "a/",          "a\\b",      "a\nb",      "."};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lh_error err = {0};
    assert_int_equal(lh_store_put(f->store, bad[i], "x", 1, &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "invalid key"));
    lh_buf b = LH_BUF_INIT;
    assert_int_equal(lh_store_get(f->store, bad[i], &b, &err), LH_EINVAL);
    assert_int_equal(lh_store_exists(f->store, bad[i], &err), LH_EINVAL);
    assert_int_equal(lh_store_delete(f->store, bad[i], &err), LH_EINVAL);
  }
  assert_null(lh_store_local_path(f->store, "../x"));
  /* nothing escaped the root */
  char parent[4200];
  snprintf(parent, sizeof parent, "%s/../escape", f->dir);
  assert_int_not_equal(access(parent, F_OK), 0);
}

static void test_sub_and_schemes(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_store *sub;
  assert_int_equal(lh_store_sub(f->store, "my_dataset", &sub, &err), 0);
  assert_int_equal(lh_store_put(sub, "config.yml", "name: my_dataset\n", 17, &err), 0);
  assert_int_equal(lh_store_exists(f->store, "my_dataset/config.yml", &err), 1);
  char *p = lh_store_local_path(sub, "config.yml");
  char want[4200];
  snprintf(want, sizeof want, "%s/my_dataset/config.yml", f->dir);
  assert_string_equal(p, want);
  free(p);
  lh_store_close(sub);
  assert_int_equal(lh_store_sub(f->store, "../x", &sub, &err), LH_EINVAL);
  lh_store *s;
  assert_int_equal(lh_store_open("s3://bucket/lake", &s, &err), LH_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "s3://"));
  assert_int_equal(lh_store_open("ftp://x", &s, &err), LH_EUNSUPPORTED);
  assert_int_equal(lh_store_open("", &s, &err), LH_EINVAL);
  /* a file:// URI and a plain path open the same root */
  char uri[4200];
  snprintf(uri, sizeof uri, "file://%s", f->dir);
  assert_int_equal(lh_store_open(uri, &s, &err), 0);
  assert_int_equal(lh_store_exists(s, "my_dataset/config.yml", &err), 1);
  lh_store_close(s);
}

static void test_unreadable(void **state) {
  fixture *f = *state;
  if (geteuid() == 0) {
    /* root reads everything: check the error path with a directory where a file is expected */
    lh_error err = {0};
    assert_int_equal(lh_store_put(f->store, "d/x", "1", 1, &err), 0);
    lh_buf b = LH_BUF_INIT;
    assert_int_equal(lh_store_get(f->store, "d", &b, &err), LH_ENOTFOUND);
    /* a file in the way of a folder */
    assert_int_equal(lh_store_put(f->store, "file", "1", 1, &err), 0);
    assert_true(lh_store_put(f->store, "file/child", "1", 1, &err) < 0);
    assert_true(err.message[0] != '\0');
    lh_buf_free(&b);
    return;
  }
  lh_error err = {0};
  assert_int_equal(lh_store_put(f->store, "secret", "1", 1, &err), 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/secret", f->dir);
  chmod(path, 0);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, "secret", &b, &err), LH_EIO);
  lh_buf_free(&b);
}

/* Deferred durability: what is written is visible at once and atomic as ever; lh_store_sync
 * flushes it (also files deleted or replaced since, and many at once). */
static void test_deferred_sync(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_store_defer_sync(f->store, true);
  for (int i = 0; i < 300; i++) {
    char key[64], value[32];
    snprintf(key, sizeof key, "d%d/k%d.json", i % 7, i);
    snprintf(value, sizeof value, "{\"i\":%d}", i);
    assert_int_equal(lh_store_put(f->store, key, value, strlen(value), &err), 0);
  }
  lh_writer *w;
  assert_int_equal(lh_store_open_write(f->store, "d0/blob", &w, &err), 0);
  assert_int_equal(lh_writer_write(w, "bytes", 5, &err), 0);
  assert_int_equal(lh_writer_commit(w, &err), 0);
  assert_int_equal(lh_store_create(f->store, "d0/once", "1", 1, &err), 0);
  assert_int_equal(lh_store_create(f->store, "d0/once", "2", 1, &err), LH_EEXIST);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, "d3/k3.json", &b, &err), 0);
  assert_string_equal(b.data, "{\"i\":3}");
  assert_int_equal(lh_store_delete(f->store, "d1/k1.json", &err), 0);
  assert_int_equal(lh_store_sync(f->store, &err), 0);
  assert_int_equal(lh_store_sync(f->store, &err), 0); /* nothing left: a no-op */
  lh_store_defer_sync(f->store, false);
  assert_int_equal(lh_store_put(f->store, "after", "x", 1, &err), 0);
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(f->store, "d0/blob", &b, &err), 0);
  assert_string_equal(b.data, "bytes");
  lh_buf_free(&b);
}

/* One deferring handle, two threads publishing through it and a third syncing all along (an
 * archive session, its workers and its committer): every file is there, whole, and the list
 * of what is still to be synced is never torn. */
typedef struct publisher {
  lh_store *store;
  int id, failures;
  char message[LH_ERROR_MAX];
} publisher;

static void *publish_many(void *arg) {
  publisher *p = arg;
  lh_error err = {0};
  for (int i = 0; i < 1500 && !p->failures; i++) {
    char key[64], value[48];
    snprintf(key, sizeof key, "t%d/d%d/k%d", p->id, i % 13, i);
    snprintf(value, sizeof value, "thread %d value %d", p->id, i);
    int rc = i % 2 ? lh_store_put(p->store, key, value, strlen(value), &err) : 0;
    lh_writer *w = NULL;
    if (!(i % 2) && !(rc = lh_store_open_write(p->store, key, &w, &err)) &&
        !(rc = lh_writer_write(w, value, strlen(value), &err)))
      rc = lh_writer_commit(w, &err);
    else if (rc && w)
      lh_writer_abort(w);
    if (rc) {
      snprintf(p->message, sizeof p->message, "%s", err.message);
      p->failures++;
    }
  }
  return NULL;
}

typedef struct syncer {
  lh_store *store;
  volatile int stop;
  int syncs, failures;
} syncer;

static void *sync_all_along(void *arg) {
  syncer *y = arg;
  lh_error err = {0};
  while (!y->stop) {
    y->failures += lh_store_sync(y->store, &err) != 0;
    y->syncs++;
  }
  return NULL;
}

static void test_deferred_threads(void **state) {
  fixture *f = *state;
  lh_store_defer_sync(f->store, true);
  publisher p[2] = {{f->store, 0, 0, ""}, {f->store, 1, 0, ""}};
  syncer y = {f->store, 0, 0, 0};
  pthread_t t[3];
  assert_int_equal(pthread_create(&t[2], NULL, sync_all_along, &y), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&t[i], NULL, publish_many, &p[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(t[i], NULL);
  y.stop = 1;
  pthread_join(t[2], NULL);
  for (int i = 0; i < 2; i++)
    if (p[i].failures)
      fail_msg("thread %d: %s", i, p[i].message);
  assert_int_equal(y.failures, 0);
  assert_true(y.syncs > 0);
  lh_error err = {0};
  assert_int_equal(lh_store_sync(f->store, &err), 0);
  lh_buf b = LH_BUF_INIT;
  for (int id = 0; id < 2; id++)
    for (int i = 0; i < 1500; i++) {
      char key[64], value[48];
      snprintf(key, sizeof key, "t%d/d%d/k%d", id, i % 13, i);
      snprintf(value, sizeof value, "thread %d value %d", id, i);
      lh_buf_reset(&b);
      assert_int_equal(lh_store_get(f->store, key, &b, &err), 0);
      assert_string_equal(b.data, value);
    }
  lh_buf_free(&b);
  lh_store_defer_sync(f->store, false);
}

/* A handle that never flushes (lock markers): writes are as visible and as atomic. */
static void test_no_sync(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_store_no_sync(f->store);
  assert_int_equal(lh_store_create(f->store, "m/marker", "1", 1, &err), 0);
  assert_int_equal(lh_store_create(f->store, "m/marker", "2", 1, &err), LH_EEXIST);
  assert_int_equal(lh_store_put(f->store, "m/other", "abc", 3, &err), 0);
  lh_writer *w;
  assert_int_equal(lh_store_open_write(f->store, "m/streamed", &w, &err), 0);
  assert_int_equal(lh_writer_write(w, "xyz", 3, &err), 0);
  assert_int_equal(lh_writer_finish(w, &err), 0);
  assert_int_equal(lh_writer_commit(w, &err), 0);
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, "m/marker", &b, &err), 0);
  assert_string_equal(b.data, "1");
  lh_buf_reset(&b);
  assert_int_equal(lh_store_get(f->store, "m/streamed", &b, &err), 0);
  assert_string_equal(b.data, "xyz");
  lh_buf_free(&b);
  assert_int_equal(lh_store_delete(f->store, "m/marker", &err), 0);
  assert_int_equal(lh_store_sync(f->store, &err), 0); /* nothing was deferred */
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "find '%s' -name '*lh-tmp*' | wc -l", f->dir);
  assert_int_equal(tu_shell_number(cmd), 0);
}

static size_t resident_pages(fixture *f, const char *key, size_t *pages) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", f->dir, key);
  return tu_resident_pages(path, pages);
}

static bool all_resident(fixture *f, const char *key) {
  size_t pages, in = resident_pages(f, key, &pages);
  return in == pages;
}

/* Write data at key in three pieces, with the no-cache hint when asked; finish first when asked. */
static void write_pieces(fixture *f, const char *key, const char *data, size_t len, bool hint,
                         bool finish) {
  lh_error err = {0};
  lh_writer *w;
  assert_int_equal(lh_store_open_write(f->store, key, &w, &err), 0);
  if (hint)
    lh_writer_no_cache(w);
  size_t third = len / 3;
  assert_int_equal(lh_writer_write(w, data, third, &err), 0);
  assert_int_equal(lh_writer_write(w, data + third, third, &err), 0);
  assert_int_equal(lh_writer_write(w, data + 2 * third, len - 2 * third, &err), 0);
  if (finish)
    assert_int_equal(lh_writer_finish(w, &err), 0);
  assert_int_equal(lh_writer_commit(w, &err), 0);
}

static void assert_content(fixture *f, const char *key, const char *data, size_t len) {
  lh_error err = {0};
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, key, &b, &err), 0);
  assert_int_equal(b.len, len);
  assert_memory_equal(b.data, data, len);
  lh_buf_free(&b);
}

/* ---- temp files of ended writers ---------------------------------------------------------- */

/* A temp file name as the fs store gives one to a writer with pid (see open_temp). */
static void temp_of(fixture *f, pid_t pid, const char *tag, char *out, size_t cap) {
  snprintf(out, cap, "%s/d", f->dir);
  mkdir(out, 0755);
  snprintf(out, cap, "%s/d/.%s.lh-tmp-%08lx-%ld-abcdef", f->dir, tag,
           (unsigned long)gethostid() & 0xffffffffUL, (long)pid);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "part", 4), 4);
  close(fd);
}

static void *sleeper(void *arg) {
  (void)arg;
  pause();
  return NULL;
}

/* A sweep removes the temp files of writers that ended, whatever their age: also of one
 * killed and never reaped (a zombie: a crawl killed by `timeout -s KILL` is one in a
 * container without a reaping init, and the next crawl left its temp files), but never of a
 * running writer, even one whose main thread has ended (a zombie thread, not process). */
static void test_sweep_ended_writers(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  /* a writer killed and not reaped */
  pid_t killed = fork();
  assert_true(killed >= 0);
  if (killed == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* none outlives a failed test */
    pause();
    _exit(0);
  }
  /* a running writer whose main thread called pthread_exit */
  int ready[2];
  assert_int_equal(pipe(ready), 0);
  pid_t running = fork();
  assert_true(running >= 0);
  if (running == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pthread_t t;
    if (pthread_create(&t, NULL, sleeper, NULL) != 0)
      _exit(1);
    if (write(ready[1], "r", 1) != 1)
      _exit(1);
    pthread_exit(NULL);
  }
  char c;
  assert_int_equal(read(ready[0], &c, 1), 1);
  close(ready[0]);
  close(ready[1]);
  tu_wait_proc_state(running, 'Z'); /* its main thread is a zombie; its other thread runs */
  char dead_tmp[4200], live_tmp[4200];
  temp_of(f, killed, "dead", dead_tmp, sizeof dead_tmp);
  temp_of(f, running, "live", live_tmp, sizeof live_tmp);
  /* both running: nothing removed */
  size_t files = 99;
  assert_int_equal(lh_store_sweep_temp(f->store, NULL, 0, &files, NULL, &err), 0);
  assert_int_equal(files, 0);
  kill(killed, SIGKILL);
  tu_wait_proc_state(killed, 'Z');
  assert_int_equal(lh_store_sweep_temp(f->store, NULL, 0, &files, NULL, &err), 0);
  assert_int_equal(files, 1);
  assert_true(access(dead_tmp, F_OK) != 0);
  assert_true(access(live_tmp, F_OK) == 0);
  /* reaped: gone for good */
  temp_of(f, killed, "dead2", dead_tmp, sizeof dead_tmp);
  int status;
  assert_int_equal(waitpid(killed, &status, 0), killed);
  assert_int_equal(lh_store_sweep_temp(f->store, NULL, 0, &files, NULL, &err), 0);
  assert_int_equal(files, 1);
  assert_true(access(dead_tmp, F_OK) != 0);
  assert_true(access(live_tmp, F_OK) == 0);
  kill(running, SIGKILL);
  assert_int_equal(waitpid(running, &status, 0), running);
  assert_int_equal(lh_store_sweep_temp(f->store, NULL, 0, &files, NULL, &err), 0);
  assert_int_equal(files, 1);
  assert_true(access(live_tmp, F_OK) != 0);
}

/* lh_writer_no_cache: a file of 64 KiB or more leaves the page cache once it is on disk (at
 * lh_store_sync on a deferring store, at the commit on another), content unchanged; without
 * the hint, or smaller, it stays. */
static void test_no_cache(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  size_t len;
  char *data = tu_read_file(tu_shared("data/wd_persons/statements.pack"), &len); /* 780 KB */
  assert_non_null(data);
  assert_true(len >= 256 * 1024);
  struct statfs sf;
  assert_int_equal(statfs(f->dir, &sf), 0);
  bool tmpfs = sf.f_type == 0x01021994; /* TMPFS_MAGIC: its pages are the file, never dropped */
  if (tmpfs)
    print_message("test_no_cache: %s is tmpfs; checked the content only\n", f->dir);
  size_t pages, small_len = 16 * 1024;

  lh_store_defer_sync(f->store, true);
  write_pieces(f, "nc/blob", data, len, true, true);
  write_pieces(f, "nc/kept", data, len, false, true);
  write_pieces(f, "nc/small", data, small_len, true, false);
  /* dirty until the sync: nothing can leave the cache yet */
  assert_true(all_resident(f, "nc/blob"));
  assert_int_equal(lh_store_sync(f->store, &err), 0);
  if (!tmpfs) {
    assert_int_equal(resident_pages(f, "nc/blob", &pages), 0);
    assert_true(all_resident(f, "nc/kept"));
    assert_true(all_resident(f, "nc/small"));
  }
  /* synced at the commit: dropped there, whether the writer was finished first or not */
  lh_store_defer_sync(f->store, false);
  write_pieces(f, "nc/committed", data, len, true, false);
  write_pieces(f, "nc/finished", data, len, true, true);
  if (!tmpfs) {
    assert_int_equal(resident_pages(f, "nc/committed", &pages), 0);
    assert_int_equal(resident_pages(f, "nc/finished", &pages), 0);
  }
  assert_content(f, "nc/blob", data, len);
  assert_content(f, "nc/kept", data, len);
  assert_content(f, "nc/small", data, small_len);
  assert_content(f, "nc/committed", data, len);
  assert_content(f, "nc/finished", data, len);
  free(data);
}

/* The open descriptors of this process. */
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n - 1; /* the listing's own */
}

/* Finished writers hold no descriptor while they wait for their commit; what they hold is
 * published (synced or deferred) or discarded as before; no write after finish. */
static void test_writer_finish(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  int before = open_fds();
  lh_writer *w[50];
  for (int i = 0; i < 50; i++) {
    char key[32], value[32];
    snprintf(key, sizeof key, "fin/k%02d", i);
    snprintf(value, sizeof value, "value %d", i);
    assert_int_equal(lh_store_open_write(f->store, key, &w[i], &err), 0);
    assert_int_equal(lh_writer_write(w[i], value, strlen(value), &err), 0);
    lh_store_defer_sync(f->store, i % 2 == 0); /* synced at finish, or with the store */
    assert_int_equal(lh_writer_finish(w[i], &err), 0);
    assert_int_equal(lh_writer_finish(w[i], &err), 0); /* twice: nothing more */
  }
  assert_int_equal(open_fds(), before);
  assert_int_equal(lh_writer_write(w[0], "x", 1, &err), LH_EINTERNAL);
  lh_store_defer_sync(f->store, false);
  for (int i = 0; i < 50; i++) {
    if (i % 10 == 9) {
      lh_writer_abort(w[i]);
      continue;
    }
    assert_int_equal(lh_writer_commit(w[i], &err), 0);
  }
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, "fin/k07", &b, &err), 0);
  assert_string_equal(b.data, "value 7");
  assert_int_equal(lh_store_exists(f->store, "fin/k09", &err), 0);
  lh_buf_free(&b);
  int files = 0;
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/fin", f->dir);
  DIR *d = opendir(dir);
  for (struct dirent *e; d && (e = readdir(d));)
    files += e->d_name[0] != '.' || strncmp(e->d_name, ".lh-tmp-", 8) == 0;
  closedir(d);
  assert_int_equal(files, 45); /* no temp file left by the aborted ones */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_create_exclusive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_streams, setup, teardown),
      cmocka_unit_test_setup_teardown(test_iterate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sub_and_schemes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unreadable, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_sync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deferred_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_sync, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writer_finish, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep_ended_writers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
