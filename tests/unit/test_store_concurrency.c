/* Concurrency of the statement store: four appender processes (tests/tools/store_worker)
 * write overlapping shares of the same entities into one origin while a fifth runs
 * merge -> compact -> vacuum(0) in a loop. Afterwards (and after a final merge) every
 * acknowledged statement is present exactly once, and nothing unacknowledged is. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define APPENDERS 4

static pid_t spawn(char *const *args) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    unsetenv("LAKEHOUSE_TEST_CRASH");
    setenv("LAKEHOUSE_LOCK_MAX_RETRIES", "20", 1);
    execv(tu_built("store_worker"), args);
    _exit(127);
  }
  return pid;
}

static int count_commits(const char *dir, const char *operation) {
  char cmd[4400];
  snprintf(cmd, sizeof cmd,
           "cat '%s'/statements/_delta_log/*.json | grep -c '\"operation\":\"%s\"'", dir,
           operation);
  return (int)tu_shell_number(cmd);
}

static void test_appenders_and_optimizer(void **state) {
  (void)state;
  char *dir = tu_tempdir();
  char file[4200], acks[APPENDERS][4300], workers[APPENDERS][8];
  snprintf(file, sizeof file, "%s", tu_shared("data/wd_persons/entities.ftm.json"));
  pid_t appenders[APPENDERS];
  /* the table exists before the race starts, so that the optimizer has work from the start */
  {
    snprintf(acks[0], sizeof acks[0], "%s.ack0", dir);
    char *args[] = {"store_worker", "append", dir, file, "crawl", "0", "16", "1000", acks[0], NULL};
    pid_t pid = spawn(args);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  char *opt_args[] = {"store_worker", "optimize", dir, "100000", NULL};
  pid_t optimizer = spawn(opt_args);
  for (int w = 0; w < APPENDERS; w++) {
    snprintf(acks[w], sizeof acks[w], "%s.ack%d", dir, w);
    snprintf(workers[w], sizeof workers[w], "%d", w);
    char *args[] = {"store_worker", "append", dir, file,    "crawl",
                    workers[w],     "4",      "3", acks[w], NULL};
    appenders[w] = spawn(args);
  }
  for (int w = 0; w < APPENDERS; w++) {
    int status;
    assert_int_equal(waitpid(appenders[w], &status, 0), appenders[w]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  /* the optimizer must still be looping (it exits only on an error): stop it the hard way */
  int status;
  assert_int_equal(waitpid(optimizer, &status, WNOHANG), 0);
  kill(optimizer, SIGKILL);
  assert_int_equal(waitpid(optimizer, &status, 0), optimizer);
  assert_true(count_commits(dir, "MERGE") > 0);
  assert_true(count_commits(dir, "WRITE") > 4 * 10);

  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st;
  lh_error err = {0};
  assert_int_equal(lh_store_open(dir, &ds, NULL), 0);
  assert_int_equal(lh_settings_load(&settings, NULL), 0);
  assert_int_equal(lh_statement_store_open(ds, "ds", 0, &settings, &st, &err), 0);
  char from[4600], sql[9400];
  snprintf(from, sizeof from, "read_csv('%s.ack*', header = false, columns = {'id': 'VARCHAR'})",
           dir);
  snprintf(sql, sizeof sql, "SELECT count(DISTINCT id) FROM %s", from);
  long long acked = tu_store_number(st, sql);
  assert_int_equal(acked, 3179); /* every statement of wd_persons (`statements explode`) */
  snprintf(sql, sizeof sql, "SELECT (count(*) > count(DISTINCT id))::INTEGER FROM %s", from);
  assert_int_equal(tu_store_number(st, sql), 1); /* the shares overlapped */
  /* exactly once in the live view, before the final merge ... */
  assert_int_equal(tu_store_number(st, "SELECT count(*) FROM statement"), acked);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id NOT IN (SELECT id FROM statement)",
           from);
  assert_int_equal(tu_store_number(st, sql), 0);
  /* ... and physically after it (the killed optimizer's lock is taken over) */
  lh_merge_result mr;
  assert_int_equal(lh_statement_store_merge(st, NULL, &mr, &err), 0);
  assert_int_equal(lh_statement_store_vacuum(st, 0, NULL, &err), 0);
  assert_int_equal(tu_store_number(st, "SELECT count(*) FROM statement_raw"), acked);
  assert_int_equal(tu_store_number(st, "SELECT count(DISTINCT id) FROM statement_raw"), acked);
  assert_int_equal(tu_store_number(st, sql), 0);
  lh_statement_store_close(st);
  lh_settings_free(&settings);
  lh_store_close(ds);
  for (int w = 0; w < APPENDERS; w++)
    unlink(acks[w]);
  tu_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_appenders_and_optimizer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
