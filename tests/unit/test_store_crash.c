/* Crash safety of the statement store: a writer process (tests/tools/store_worker) is killed
 * by SIGKILL at each crash point of append, commit, checkpoint, merge, compact and vacuum.
 * Afterwards the table must read with every committed row, the dead writer's locks must be
 * taken over without a manual unlock, and vacuum must reclaim what the writer left behind. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

typedef struct fx {
  char *dir; /* the dataset folder */
  char ack[4200];
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  f->dir = tu_tempdir();
  snprintf(f->ack, sizeof f->ack, "%s.ack", f->dir);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  tu_rmtree(f->dir);
  unlink(f->ack);
  free(f->dir);
  free(f);
  return 0;
}

/* Run store_worker with args (NULL-terminated); crash: the crash point or NULL. Returns the
 * wait status. */
static int run_worker(const char *crash, const char *const *args) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (crash)
      setenv("LAKEHOUSE_TEST_CRASH", crash, 1);
    else
      unsetenv("LAKEHOUSE_TEST_CRASH");
    setenv("LAKEHOUSE_LOCK_MAX_RETRIES", "3", 1);
    char *argv[16];
    size_t n = 0;
    argv[n++] = (char *)tu_built("store_worker");
    for (; args[n - 1] && n < 15; n++)
      argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    execv(argv[0], argv);
    _exit(127);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void expect_ok(int status) {
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

static void expect_killed(int status) {
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* Append the entities of a shared file (all of them: worker 0 of 1) in slices of n. */
static int append(fx *f, const char *crash, const char *file, const char *origin,
                  const char *slice) {
  const char *args[] = {"append", f->dir, tu_shared(file), origin, "0", "1", slice, f->ack, NULL};
  return run_worker(crash, args);
}

static int maintain(fx *f, const char *crash, const char *what) {
  const char *args[] = {what, f->dir, "0", NULL};
  return run_worker(crash, args);
}

/* ---- checks through the library, in this process ------------------------------------------- */

typedef struct opened {
  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st;
} opened;

static void open_store(fx *f, opened *o) {
  lh_error err = {0};
  assert_int_equal(lh_store_open(f->dir, &o->ds, NULL), 0);
  assert_int_equal(lh_settings_load(&o->settings, NULL), 0);
  if (lh_statement_store_open(o->ds, "ds", 0, &o->settings, &o->st, &err)) {
    print_error("open: %s\n", err.message);
    fail();
  }
}

static void close_store(opened *o) {
  lh_statement_store_close(o->st);
  lh_settings_free(&o->settings);
  lh_store_close(o->ds);
}

static long long query(fx *f, const char *sql) {
  opened o;
  open_store(f, &o);
  long long n = tu_store_number(o.st, sql);
  close_store(&o);
  return n;
}

/* Every acknowledged statement id is live exactly once, and nothing else is. */
static void expect_acknowledged(fx *f) {
  char sql[9000];
  char from[4400];
  snprintf(from, sizeof from, "read_csv('%s', header = false, columns = {'id': 'VARCHAR'})",
           f->ack);
  snprintf(sql, sizeof sql, "SELECT count(DISTINCT id) FROM %s", from);
  long long acked = query(f, sql);
  assert_true(acked > 0);
  assert_int_equal(query(f, "SELECT count(*) FROM statement"), acked);
  assert_int_equal(query(f, "SELECT count(DISTINCT id) FROM statement"), acked);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id NOT IN (SELECT id FROM statement)",
           from);
  assert_int_equal(query(f, sql), 0);
}

/* After a merge: no physical duplicates either. */
static void expect_merged(fx *f) {
  assert_int_equal(query(f, "SELECT count(*) FROM statement_raw"),
                   query(f, "SELECT count(DISTINCT id) FROM statement_raw"));
}

static int add_name(const char *key, void *arg) {
  lh_buf *b = arg;
  lh_buf_puts(b, key);
  return lh_buf_putc(b, '\n');
}

/* Data files on disk, sorted, one per line (paths relative to the table folder). */
static char *files_on_disk(fx *f, const char *pattern) {
  char cmd[8600];
  snprintf(cmd, sizeof cmd,
           "cd '%s/statements' && find . -path ./_delta_log -prune -o -type f -name '%s' "
           "-printf '%%P\\n' | LC_ALL=C sort",
           f->dir, pattern);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  lh_buf out = LH_BUF_INIT;
  char line[4200];
  while (fgets(line, sizeof line, p))
    lh_buf_puts(&out, line);
  pclose(p);
  return out.data ? out.data : strdup("");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The data files of the current version, sorted, one per line. */
static char *files_in_log(fx *f) {
  opened o;
  open_store(f, &o);
  lh_buf b = LH_BUF_INIT;
  lh_error err = {0};
  assert_int_equal(lh_statement_store_files(o.st, add_name, &b, &err), 0);
  close_store(&o);
  /* sort the lines */
  size_t n = 0;
  char **lines = NULL;
  for (char *save = NULL, *l = strtok_r(b.data ? b.data : (char[]){0}, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save)) {
    lines = realloc(lines, (n + 1) * sizeof *lines);
    lines[n++] = l;
  }
  qsort(lines, n, sizeof *lines, cmp_str);
  lh_buf out = LH_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    add_name(lines[i], &out);
  free(lines);
  lh_buf_free(&b);
  return out.data ? out.data : strdup("");
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Parquet files on disk that the log does not reference. */
static int orphans(fx *f) {
  char *disk = files_on_disk(f, "*.parquet"), *log = files_in_log(f);
  int n = count_lines(disk) - count_lines(log);
  /* every referenced file exists */
  for (char *save = NULL, *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    assert_non_null(strstr(disk, l));
  free(disk);
  free(log);
  return n;
}

static int count_files(fx *f, const char *sub, const char *pattern) {
  char cmd[8600];
  snprintf(cmd, sizeof cmd, "find '%s/%s' -type f -name '%s' 2>/dev/null | wc -l", f->dir, sub,
           pattern);
  return (int)tu_shell_number(cmd);
}

static int64_t version(fx *f) {
  opened o;
  open_store(f, &o);
  lh_error err = {0};
  int64_t v = -2;
  if (lh_statement_store_version(o.st, &v, &err))
    v = -2;
  close_store(&o);
  return v;
}

/* No lock file of any kind is left. */
static void expect_unlocked(fx *f) {
  assert_int_equal(count_files(f, "", ".LOCK*"), 0);
  assert_int_equal(count_files(f, ".LOCK-APPENDS", "*"), 0);
}

static void base(fx *f) {
  expect_ok(append(f, NULL, "data/wd_persons/entities.ftm.json", "crawl", "100"));
  expect_acknowledged(f);
  assert_int_equal(version(f), 3); /* table + 281 entities in slices of 100 */
}

/* ---- tests -------------------------------------------------------------------------------------
 */

static void test_append_killed_before_commit(void **state) {
  fx *f = *state;
  base(f);
  /* the killed append wrote Parquet but never committed: not acknowledged, not visible */
  expect_killed(append(f, "append:parquet-written", "data/yente-fixtures/zala/entities.ftm.json",
                       "crawl", "1000"));
  expect_acknowledged(f);
  assert_int_equal(version(f), 3);
  assert_true(orphans(f) > 0);
  assert_int_equal(count_files(f, ".LOCK-APPENDS", "*"), 1); /* the dead writer's marker */
  /* the next append and merge go ahead on their own: the dead holder is taken over */
  expect_ok(append(f, NULL, "data/nomenklatura-fixtures/donations.ijson", "crawl", "100"));
  expect_ok(maintain(f, NULL, "merge"));
  expect_merged(f);
  expect_acknowledged(f);
  /* vacuum reclaims the orphans */
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  expect_unlocked(f);
}

static void test_append_killed_after_tags(void **state) {
  fx *f = *state;
  base(f);
  expect_ok(maintain(f, NULL, "merge"));
  /* tags say "updated" but the commit never came: the next merge merely re-merges */
  expect_killed(
      append(f, "append:tags-set", "data/yente-fixtures/zala/entities.ftm.json", "crawl", "1000"));
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "merge"));
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  expect_merged(f);
  expect_unlocked(f);
}

static void test_commit_killed_before_publish(void **state) {
  fx *f = *state;
  base(f);
  /* killed with the commit's temp file written but not linked into place */
  expect_killed(append(f, "store:before-link:0004.json",
                       "data/yente-fixtures/zala/entities.ftm.json", "crawl", "1000"));
  assert_int_equal(version(f), 3);
  assert_true(count_files(f, "statements/_delta_log", "*lh-tmp*") > 0);
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(count_files(f, "statements/_delta_log", "*lh-tmp*"), 0);
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  /* and writing goes on */
  expect_ok(append(f, NULL, "data/yente-fixtures/zala/entities.ftm.json", "crawl", "1000"));
  expect_acknowledged(f);
  assert_int_equal(version(f), 4);
}

static void test_merge_killed(void **state) {
  fx *f = *state;
  base(f);
  expect_ok(append(f, NULL, "data/wd_persons/entities.ftm.json", "crawl", "50")); /* dups */
  long long raw = query(f, "SELECT count(*) FROM statement_raw");
  /* before its commit: nothing changes, the dead merger's .LOCK is taken over */
  expect_killed(maintain(f, "merge:parquet-written", "merge"));
  assert_int_equal(count_files(f, "", ".LOCK"), 1);
  assert_int_equal(query(f, "SELECT count(*) FROM statement_raw"), raw);
  assert_true(orphans(f) > 0);
  expect_acknowledged(f);
  /* after its commit, before the partition's tag: the next merge repeats it harmlessly */
  expect_killed(maintain(f, "merge:committed", "merge"));
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "merge"));
  expect_merged(f);
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  expect_unlocked(f);
}

static void test_compact_killed(void **state) {
  fx *f = *state;
  base(f);
  expect_ok(append(f, NULL, "data/nomenklatura-fixtures/donations.ijson", "crawl", "100"));
  char *before = files_in_log(f);
  expect_killed(maintain(f, "compact:parquet-written", "compact"));
  char *after = files_in_log(f);
  assert_string_equal(after, before); /* nothing committed */
  assert_true(orphans(f) > 0);
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "compact"));
  char *compacted = files_in_log(f);
  assert_true(count_lines(compacted) < count_lines(before));
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  expect_unlocked(f);
  free(before);
  free(after);
  free(compacted);
}

static void test_vacuum_killed(void **state) {
  fx *f = *state;
  base(f);
  expect_ok(append(f, NULL, "data/nomenklatura-fixtures/donations.ijson", "crawl", "100"));
  expect_ok(maintain(f, NULL, "merge"));
  expect_ok(maintain(f, NULL, "compact"));
  int stale = orphans(f);
  assert_true(stale > 1);
  expect_killed(maintain(f, "vacuum:deleting", "vacuum")); /* after its first delete */
  assert_int_equal(orphans(f), stale - 1);
  expect_acknowledged(f);
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(orphans(f), 0);
  expect_acknowledged(f);
  expect_merged(f);
  expect_unlocked(f);
}

static void test_checkpoint_killed(void **state) {
  fx *f = *state;
  /* 99 commits in slices of 3 entities, then the 100th, killed before its checkpoint lands */
  expect_ok(append(f, NULL, "data/wd_persons/entities.ftm.json", "crawl", "3")); /* v1..94 */
  assert_int_equal(version(f), 94);
  expect_ok(append(f, NULL, "data/yente-fixtures/zala/entities.ftm.json", "crawl", "19"));
  assert_int_equal(version(f), 99);
  expect_killed(append(f, "checkpoint:before-publish", "data/nomenklatura-fixtures/donations.ijson",
                       "crawl", "1000"));
  /* version 100 is committed (acknowledged or not, its rows are there), no checkpoint */
  assert_int_equal(version(f), 100);
  assert_int_equal(count_files(f, "statements/_delta_log", "*.checkpoint.parquet"), 0);
  assert_true(query(f, "SELECT count(*) FROM statement WHERE schema = 'Payment'") > 0);
  /* a checkpoint-less table at 100 reads from the JSON commits; vacuum sweeps the temp */
  assert_true(count_files(f, "statements/_delta_log", "*lh-tmp*") > 0);
  expect_ok(maintain(f, NULL, "vacuum"));
  assert_int_equal(count_files(f, "statements/_delta_log", "*lh-tmp*"), 0);
  expect_ok(append(f, NULL, "data/yente-fixtures/zala/entities.ftm.json", "crawl", "1000"));
  assert_int_equal(version(f), 101);
  expect_unlocked(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_append_killed_before_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_killed_after_tags, setup, teardown),
      cmocka_unit_test_setup_teardown(test_commit_killed_before_publish, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_killed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_compact_killed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vacuum_killed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_killed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
