/* storage/fence: the dataset write fence (inventory §5.6, fixed with atomic creation and
 * stale-lock detection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

typedef struct fixture {
  char *dir;
  lh_store *store;
  lh_fence_opts o;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_tempdir();
  assert_int_equal(lh_store_open(f->dir, &f->store, NULL), 0);
  f->o = (lh_fence_opts){0, 300, 1, "test"};
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

static int count_markers(lh_store *s) {
  char cmd[4200];
  char *root = lh_store_local_path(s, ".LOCK-APPENDS");
  snprintf(cmd, sizeof cmd, "ls %s 2>/dev/null | wc -l", root);
  free(root);
  return (int)tu_shell_number(cmd);
}

static void test_exclusive_and_shared(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_fence *ex, *sh, *other;
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  assert_int_equal(lh_store_exists(f->store, ".LOCK", NULL), 1);
  lh_buf text = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, ".LOCK", &text, NULL), 0);
  assert_non_null(strstr(text.data, "\"pid\":"));
  assert_non_null(strstr(text.data, "\"heartbeat\":"));
  /* a second maintenance process gives up after the retries; the holder keeps its lock */
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &other, &err), LH_ELOCKED);
  assert_non_null(strstr(err.message, "Already locked"));
  lh_buf now = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, ".LOCK", &now, NULL), 0);
  assert_string_equal(now.data, text.data);
  /* an append is fenced off and leaks no marker */
  assert_int_equal(lh_fence_shared(f->store, &f->o, &sh, &err), LH_ELOCKED);
  assert_non_null(strstr(err.message, "Write fence busy"));
  assert_non_null(strstr(err.message, "maintenance unlock"));
  assert_int_equal(count_markers(f->store), 0);
  lh_fence_release(ex);
  assert_int_equal(lh_store_exists(f->store, ".LOCK", NULL), 0);
  /* appends share; maintenance waits for them */
  lh_fence *a, *b;
  assert_int_equal(lh_fence_shared(f->store, &f->o, &a, &err), 0);
  assert_int_equal(lh_fence_shared(f->store, &f->o, &b, &err), 0);
  assert_int_equal(count_markers(f->store), 2);
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), LH_ELOCKED);
  assert_non_null(strstr(err.message, "append markers"));
  assert_int_equal(lh_store_exists(f->store, ".LOCK", NULL), 0); /* released on failure */
  lh_fence_release(a);
  lh_fence_release(b);
  assert_int_equal(count_markers(f->store), 0);
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  lh_fence_release(ex);
  lh_buf_free(&text);
  lh_buf_free(&now);
}

static void test_waits_with_retries(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  pid_t child = fork();
  if (child == 0) { /* a maintenance process holding the lock for half a second */
    lh_fence *ex;
    /* it waits out the parent's marker: the parent sees .LOCK, puts its marker, sees .LOCK
     * again and removes it; with no retries the child gave up if it looked just then */
    lh_fence_opts co = f->o;
    co.max_retries = 20;
    if (lh_fence_exclusive(f->store, &co, &ex, NULL))
      _exit(1);
    usleep(500000);
    /* the marker goes before the release: whoever gets in after it sees it */
    if (lh_store_put(f->store, "released", "1", 1, NULL))
      _exit(1);
    lh_fence_release(ex);
    _exit(0);
  }
  while (lh_store_exists(f->store, ".LOCK", NULL) != 1)
    usleep(1000);
  lh_fence_opts o = f->o;
  o.max_retries = 3;
  lh_fence *sh;
  assert_int_equal(lh_fence_shared(f->store, &o, &sh, &err), 0);
  /* it waited for the holder (not a clock reading: a loaded machine stretches any) */
  assert_int_equal(lh_store_exists(f->store, "released", NULL), 1);
  int st;
  waitpid(child, &st, 0);
  assert_int_equal(WEXITSTATUS(st), 0);
  lh_fence_release(sh);
}

/* A lock file as another process would leave it. */
static void put_lock(lh_store *s, const char *key, long long pid, const char *host, lh_time hb) {
  char iso[LH_ISO_SIZE], text[512];
  lh_time_format_iso(hb, iso);
  int n = snprintf(text, sizeof text,
                   "{\"pid\":%lld,\"host\":\"%s\",\"token\":\"t-%lld\",\"operation\":\"merge\","
                   "\"acquired\":\"%s\",\"heartbeat\":\"%s\"}",
                   pid, host, pid, iso, iso);
  assert_int_equal(lh_store_put(s, key, text, (size_t)n, NULL), 0);
}

static void test_stale_takeover(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  char host[256];
  gethostname(host, sizeof host);
  /* a dead process of this host */
  pid_t dead = fork();
  if (dead == 0)
    _exit(0);
  waitpid(dead, NULL, 0);
  put_lock(f->store, ".LOCK", dead, host, lh_time_now());
  lh_fence *ex;
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  lh_fence_release(ex);
  /* appends are not fenced by a stale lock either */
  put_lock(f->store, ".LOCK", dead, host, lh_time_now());
  lh_fence *sh;
  assert_int_equal(lh_fence_shared(f->store, &f->o, &sh, &err), 0);
  lh_fence_release(sh);
  lh_store_delete(f->store, ".LOCK", NULL);
  /* a live process on another host whose heartbeat stopped long ago */
  put_lock(f->store, ".LOCK", 1, "elsewhere.example", lh_time_now() - 3600LL * 1000000);
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  lh_fence_release(ex);
  /* ... but with a fresh heartbeat it is respected */
  put_lock(f->store, ".LOCK", 1, "elsewhere.example", lh_time_now());
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), LH_ELOCKED);
  assert_non_null(strstr(err.message, "elsewhere.example"));
  lh_store_delete(f->store, ".LOCK", NULL);
  /* a killed holder that nobody reaped (a zombie) has ended too */
  pid_t zombie = fork();
  if (zombie == 0)
    _exit(0);
  tu_wait_proc_state(zombie, 'Z');
  put_lock(f->store, ".LOCK", zombie, host, lh_time_now());
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  lh_fence_release(ex);
  waitpid(zombie, NULL, 0);
  /* stale append markers are removed by maintenance */
  put_lock(f->store, ".LOCK-APPENDS/deadbeef", dead, host, lh_time_now());
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0);
  assert_int_equal(count_markers(f->store), 0);
  lh_fence_release(ex);
  /* a lock written by the Python project (a bare timestamp) is never taken over */
  assert_int_equal(lh_store_put(f->store, ".LOCK", "\"2020-01-01T00:00:00+00:00\"", 27, NULL), 0);
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), LH_ELOCKED);
  assert_int_equal(lh_fence_shared(f->store, &f->o, &sh, &err), LH_ELOCKED);
}

static void test_heartbeat(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  lh_fence *ex;
  assert_int_equal(lh_fence_exclusive(f->store, &f->o, &ex, &err), 0); /* heartbeat every 1s */
  lh_buf a = LH_BUF_INIT, b = LH_BUF_INIT;
  lh_store_get(f->store, ".LOCK", &a, NULL);
  for (int i = 0; i < 200; i++) { /* a beat a second; up to 20 s on a loaded machine */
    usleep(100000);
    lh_buf_reset(&b);
    lh_store_get(f->store, ".LOCK", &b, NULL);
    if (strcmp(a.data, b.data) != 0)
      break;
  }
  assert_string_not_equal(a.data, b.data); /* the heartbeat moved */
  assert_false(lh_fence_lost(ex));
  /* someone took the lock over: the heartbeat notices and stops, release leaves it alone */
  char host[256];
  gethostname(host, sizeof host);
  put_lock(f->store, ".LOCK", 1, "thief.example", lh_time_now());
  /* its next beat (a second) notices; a loaded machine may delay it: up to 20 s */
  for (int i = 0; i < 200 && !lh_fence_lost(ex); i++)
    usleep(100000);
  assert_true(lh_fence_lost(ex));
  lh_fence_release(ex);
  lh_buf c = LH_BUF_INIT;
  assert_int_equal(lh_store_get(f->store, ".LOCK", &c, NULL), 0);
  assert_non_null(strstr(c.data, "thief.example"));
  lh_buf_free(&a);
  lh_buf_free(&b);
  lh_buf_free(&c);
}

static void test_unlock(void **state) {
  fixture *f = *state;
  lh_error err = {0};
  bool released = true;
  assert_int_equal(lh_fence_unlock(f->store, &released, &err), 0);
  assert_false(released);
  put_lock(f->store, ".LOCK", 1, "x", lh_time_now());
  put_lock(f->store, ".LOCK-APPENDS/a1", 1, "x", lh_time_now());
  put_lock(f->store, ".LOCK-APPENDS/a2", 1, "x", lh_time_now());
  assert_int_equal(lh_fence_unlock(f->store, &released, &err), 0);
  assert_true(released);
  assert_int_equal(lh_store_exists(f->store, ".LOCK", NULL), 0);
  assert_int_equal(count_markers(f->store), 0);
  /* markers only */
  put_lock(f->store, ".LOCK-APPENDS/a3", 1, "x", lh_time_now());
  assert_int_equal(lh_fence_unlock(f->store, &released, &err), 0);
  assert_true(released);
}

static void test_exclusive_race(void **state) {
  fixture *f = *state;
  /* 6 processes race for the lock; at every moment at most one holds it */
  char *counter = lh_store_local_path(f->store, "holders");
  FILE *c = fopen(counter, "w");
  fclose(c);
  pid_t kids[6];
  for (int i = 0; i < 6; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      lh_fence_opts o = f->o;
      o.max_retries = 50;
      for (int round = 0; round < 3; round++) {
        lh_fence *ex;
        if (lh_fence_exclusive(f->store, &o, &ex, NULL))
          _exit(2);
        /* inside: the holder file must be empty, write our pid, sleep, clear */
        FILE *h = fopen(counter, "r+");
        int ch = fgetc(h);
        if (ch != EOF)
          _exit(3);
        fprintf(h, "%d", getpid());
        fclose(h);
        usleep(20000);
        h = fopen(counter, "w");
        fclose(h);
        lh_fence_release(ex);
      }
      _exit(0);
    }
  }
  for (int i = 0; i < 6; i++) {
    int st;
    waitpid(kids[i], &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  free(counter);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_exclusive_and_shared, setup, teardown),
      cmocka_unit_test_setup_teardown(test_waits_with_retries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stale_takeover, setup, teardown),
      cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_exclusive_race, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
