/* core/progress: number formatting, log lines off a terminal, the bar on a pseudo-terminal,
 * quiet mode, the summary line and the hot path. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/progress.h"
#include "lakehouse/log.h"

#include "testutil.h"

/* Every test starts from the same environment: progress on, default interval, log at info. */
static int reset_env(void **state) {
  (void)state;
  unsetenv("LAKEHOUSE_PROGRESS");
  unsetenv("LAKEHOUSE_PROGRESS_INTERVAL");
  unsetenv("CI");
  setenv("TERM", "xterm", 1);
  cli_progress_quiet = false;
  lh_log_set_level(LH_LOG_INFO);
  lh_log_set_sink(lh_log_stderr, NULL);
  return 0;
}

/* ---- stderr into a file ---------------------------------------------------------------- */

typedef struct capture {
  int saved;
  char path[32];
} capture;

static void capture_begin(capture *c) {
  snprintf(c->path, sizeof c->path, "/tmp/lh-progress-XXXXXX");
  int fd = mkstemp(c->path);
  assert_true(fd >= 0);
  fflush(stderr);
  c->saved = dup(STDERR_FILENO);
  assert_true(c->saved >= 0);
  assert_true(dup2(fd, STDERR_FILENO) >= 0);
  close(fd);
}

static char *capture_end(capture *c) {
  fflush(stderr);
  dup2(c->saved, STDERR_FILENO);
  close(c->saved);
  char *out = tu_read_file(c->path, NULL);
  unlink(c->path);
  return out;
}

static size_t count_lines_with(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *line = text; *line;) {
    const char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    const char *hit = strstr(line, needle);
    if (hit && hit < line + len)
      n++;
    line += len + (nl ? 1 : 0);
  }
  return n;
}

static const char *last_line(const char *text) {
  size_t len = strlen(text);
  assert_true(len > 0 && text[len - 1] == '\n');
  const char *p = text + len - 1;
  while (p > text && p[-1] != '\n')
    p--;
  return p;
}

/* add() in bursts with pauses, so the whole run spans about n * pause_us of wall time. */
static void run_bursts(cli_progress *p, int n, uint64_t per_burst, useconds_t pause_us) {
  for (int i = 0; i < n; i++) {
    for (uint64_t j = 0; j < per_burst; j++)
      cli_progress_add(p, 1);
    usleep(pause_us);
  }
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_human(void **state) {
  (void)state;
  struct {
    uint64_t n;
    const char *want;
  } cases[] = {{0, "0"},
               {7, "7"},
               {999, "999"},
               {1000, "1.00 k"},
               {1234, "1.23 k"},
               {9994, "9.99 k"},
               {12345, "12.3 k"},
               {99949, "99.9 k"},
               {123456, "123 k"},
               {999499, "999 k"},
               {999500, "1.00 M"},
               {1234567, "1.23 M"},
               {1200000, "1.20 M"},
               {402000, "402 k"},
               {123456789, "123 M"},
               {4000000000ULL, "4.00 G"},
               {1000000000000ULL, "1.00 T"},
               {UINT64_MAX, "18.4 E"}};
  char buf[CLI_PROGRESS_HUMAN_SIZE];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(cli_progress_human(cases[i].n, buf, sizeof buf), cases[i].want);
  /* Truncated like snprintf; a zero-size buffer is left alone. */
  char small[4] = "xyz";
  assert_string_equal(cli_progress_human(1234567, small, sizeof small), "1.2");
  assert_string_equal(cli_progress_human(1234567, small, 0), "1.2");

  struct {
    double s;
    const char *want;
  } durations[] = {{0, "0.0s"},       {3.04, "3.0s"},     {59.9, "59.9s"}, {59.96, "1m00s"},
                   {125, "2m05s"},    {3599.4, "59m59s"}, {3600, "1h00m"}, {3720, "1h02m"},
                   {90000, "25h00m"}, {-1, "0.0s"}};
  char d[32];
  for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++)
    assert_string_equal(cli_progress_duration(durations[i].s, d, sizeof d), durations[i].want);
}

static void test_null_safe(void **state) {
  (void)state;
  cli_progress_add(NULL, 1);
  cli_progress_set(NULL, 1);
  assert_int_equal(cli_progress_done(NULL), 0);
  cli_progress_finish(NULL);
}

/* Not a terminal: a log line every LAKEHOUSE_PROGRESS_INTERVAL, then the summary. */
static void test_log_lines(void **state) {
  (void)state;
  setenv("LAKEHOUSE_PROGRESS_INTERVAL", "0.02", 1);
  capture c = {0};
  capture_begin(&c);
  cli_progress *p = cli_progress_start("import", 0, "statements");
  assert_non_null(p);
  run_bursts(p, 60, 1000, 5000); /* ~300 ms */
  assert_int_equal(cli_progress_done(p), 60000);
  cli_progress_finish(p);
  char *out = capture_end(&c);

  assert_null(strchr(out, '\033')); /* no terminal codes in a file */
  assert_null(strchr(out, '\r'));
  size_t periodic = count_lines_with(out, "/s, ");
  if (periodic < 2)
    print_error("output:\n%s", out);
  assert_true(periodic >= 2);
  /* Every line is ours: periodic lines, then exactly one summary. */
  assert_int_equal(count_lines_with(out, "import: "), periodic + 1);
  assert_int_equal(count_lines_with(out, " in "), 1);
  assert_non_null(strstr(out, "import: ")); /* e.g. "import: 12.0 k statements (…/s, 0.1s)" */
  const char *last = last_line(out);
  assert_true(strncmp(last, "import: 60.0 k statements in ", 29) == 0);
  assert_non_null(strstr(last, "/s)\n"));
  free(out);
}

/* A known total adds a percentage; a short count says "of TOTAL" in the summary. */
static void test_log_lines_total(void **state) {
  (void)state;
  setenv("LAKEHOUSE_PROGRESS_INTERVAL", "0.02", 1);
  capture c = {0};
  capture_begin(&c);
  cli_progress *p = cli_progress_start("flush", 80000, "rows");
  run_bursts(p, 40, 1000, 5000);
  cli_progress_finish(p);
  char *out = capture_end(&c);
  assert_true(count_lines_with(out, "% ") + count_lines_with(out, "%, ") >= 1);
  assert_non_null(strstr(out, " / 80.0 k rows ("));
  const char *last = last_line(out);
  assert_true(strncmp(last, "flush: 40.0 k of 80.0 k rows in ", 32) == 0);
  free(out);

  /* Done equal to the total: no "of". */
  capture_begin(&c);
  p = cli_progress_start("flush", 3, "rows");
  cli_progress_set(p, 3);
  cli_progress_finish(p);
  out = capture_end(&c);
  assert_true(strncmp(out, "flush: 3 rows in ", 17) == 0);
  free(out);
}

/* Quiet (LAKEHOUSE_PROGRESS=0 or the global flag): no periodic lines, only the summary,
 * and that only at info level. */
static void test_quiet(void **state) {
  (void)state;
  setenv("LAKEHOUSE_PROGRESS_INTERVAL", "0.001", 1);
  for (int how = 0; how < 2; how++) {
    if (how == 0)
      setenv("LAKEHOUSE_PROGRESS", "0", 1);
    else
      cli_progress_quiet = true;
    capture c = {0};
    capture_begin(&c);
    cli_progress *p = cli_progress_start("import", 0, "statements");
    assert_non_null(p);
    run_bursts(p, 10, 100, 2000);
    cli_progress_finish(p);
    char *out = capture_end(&c);
    assert_int_equal(count_lines_with(out, ""), 1);
    assert_true(strncmp(out, "import: 1.00 k statements in ", 29) == 0);
    free(out);
    reset_env(NULL);
    setenv("LAKEHOUSE_PROGRESS_INTERVAL", "0.001", 1);
  }

  /* Above info level nothing at all. */
  lh_log_set_level(LH_LOG_WARNING);
  capture c = {0};
  capture_begin(&c);
  cli_progress *p = cli_progress_start("import", 0, "statements");
  run_bursts(p, 10, 100, 2000);
  cli_progress_finish(p);
  char *out = capture_end(&c);
  assert_string_equal(out, "");
  free(out);
}

/* A bad interval falls back to the default (10 s) with a warning. */
static void test_bad_interval(void **state) {
  (void)state;
  setenv("LAKEHOUSE_PROGRESS_INTERVAL", "soon", 1);
  capture c = {0};
  capture_begin(&c);
  cli_progress *p = cli_progress_start("import", 0, "statements");
  run_bursts(p, 5, 10, 1000);
  cli_progress_finish(p);
  char *out = capture_end(&c);
  assert_int_equal(count_lines_with(out, ""), 2);
  assert_non_null(strstr(out, "warning: ignoring LAKEHOUSE_PROGRESS_INTERVAL=soon"));
  assert_non_null(strstr(out, "import: 50 statements in "));
  free(out);
}

/* The hot path: 10M calls count exactly; set() replaces the count. */
static void test_hot_path(void **state) {
  (void)state;
  capture c = {0};
  capture_begin(&c);
  cli_progress *p = cli_progress_start("import", 0, "statements");
  for (uint64_t i = 0; i < 10000000; i++)
    cli_progress_add(p, 1);
  assert_int_equal(cli_progress_done(p), 10000000);
  cli_progress_add(p, 5000000);
  assert_int_equal(cli_progress_done(p), 15000000);
  cli_progress_set(p, 12345678);
  assert_int_equal(cli_progress_done(p), 12345678);
  cli_progress_finish(p);
  char *out = capture_end(&c);
  assert_non_null(strstr(last_line(out), "import: 12.3 M statements in "));
  free(out);
}

/* ---- on a pseudo-terminal --------------------------------------------------------------- */

typedef struct pty {
  int master, slave, saved;
} pty;

static void pty_open(pty *t, unsigned short cols) {
  t->master = posix_openpt(O_RDWR | O_NOCTTY);
  assert_true(t->master >= 0);
  assert_int_equal(grantpt(t->master), 0);
  assert_int_equal(unlockpt(t->master), 0);
  t->slave = open(ptsname(t->master), O_RDWR | O_NOCTTY);
  assert_true(t->slave >= 0);
  struct winsize ws = {.ws_row = 24, .ws_col = cols};
  assert_int_equal(ioctl(t->slave, TIOCSWINSZ, &ws), 0);
  fflush(stderr);
  t->saved = dup(STDERR_FILENO);
  assert_true(dup2(t->slave, STDERR_FILENO) >= 0);
}

static void pty_resize(pty *t, unsigned short cols) {
  struct winsize ws = {.ws_row = 24, .ws_col = cols};
  assert_int_equal(ioctl(t->slave, TIOCSWINSZ, &ws), 0);
  /* We are not in the terminal's session, so tell ourselves as the kernel would. */
  raise(SIGWINCH);
}

/* Restores stderr and returns everything written to the terminal. */
static char *pty_close(pty *t) {
  fflush(stderr);
  dup2(t->saved, STDERR_FILENO);
  close(t->saved);
  close(t->slave);
  lh_buf b = LH_BUF_INIT;
  struct pollfd pfd = {.fd = t->master, .events = POLLIN};
  char chunk[4096];
  while (poll(&pfd, 1, 200) > 0) {
    ssize_t n = read(t->master, chunk, sizeof chunk);
    if (n <= 0)
      break;
    assert_int_equal(lh_buf_append(&b, chunk, (size_t)n), 0);
  }
  close(t->master);
  assert_int_equal(lh_buf_append(&b, "", 1), 0); /* NUL */
  return lh_buf_steal(&b);
}

/* The bar: redrawn in place, fitted to the width, refitted after SIGWINCH, cleared before
 * the summary. */
static void test_bar(void **state) {
  (void)state;
  pty t = {0};
  pty_open(&t, 60);
  cli_progress *p = cli_progress_start("import", 1000, "rows");
  for (int i = 0; i < 10; i++) { /* ~300 ms at 60 columns */
    cli_progress_add(p, 50);
    usleep(30000);
  }
  pty_resize(&t, 100);
  for (int i = 0; i < 10; i++) { /* ~300 ms at 100 columns */
    cli_progress_add(p, 50);
    usleep(30000);
  }
  cli_progress_finish(p);
  char *out = pty_close(&t);

  /* Segments between "\r\033[K": bars, then the summary after the final clear. */
  size_t bars = 0, narrow = 0, wide = 0, first = 0;
  const char *seg = strstr(out, "\r\033[K");
  assert_non_null(seg);
  assert_true(seg == out); /* nothing before the first bar */
  const char *summary = NULL;
  while (seg) {
    seg += 4;
    const char *next = strstr(seg, "\r\033[K");
    size_t len = next ? (size_t)(next - seg) : strlen(seg);
    if (next) {
      assert_true(len <= 99);
      assert_true(strncmp(seg, "import [", 8) == 0);
      const char *pct = memchr(seg, '%', len);
      assert_non_null(pct);
      assert_non_null(memchr(seg, ']', len));
      assert_null(memchr(seg, '\n', len));
      if (bars++ == 0)
        first = len;
      if (len <= 59)
        narrow++;
      else
        wide++;
    } else {
      summary = seg;
    }
    seg = next;
  }
  if (bars < 2 || first > 59 || wide == 0)
    print_error("bars=%zu first=%zu narrow=%zu wide=%zu\n", bars, first, narrow, wide);
  assert_true(bars >= 2);
  assert_true(first <= 59); /* drawn for 60 columns, never in the last one */
  assert_true(narrow >= 1);
  assert_true(wide >= 1); /* redrawn wider after the resize */
  /* Lines through a terminal end in "\r\n". */
  assert_non_null(summary);
  assert_true(strncmp(summary, "import: 1.00 k rows in ", 23) == 0);
  assert_non_null(strstr(summary, "/s)\r\n"));
  free(out);
}

/* Unknown total: a spinner instead of a bar. */
static void test_spinner(void **state) {
  (void)state;
  pty t = {0};
  pty_open(&t, 80);
  cli_progress *p = cli_progress_start("scan", 0, "files");
  for (int i = 0; i < 8; i++) {
    cli_progress_add(p, 3);
    usleep(40000);
  }
  cli_progress_finish(p);
  char *out = pty_close(&t);
  size_t spins = 0;
  for (const char *s = out; (s = strstr(s, "\r\033[Kscan ")) != NULL; s++) {
    char c = s[9];
    assert_true(c == '|' || c == '/' || c == '-' || c == '\\');
    assert_true(s[10] == ' ');
    spins++;
  }
  assert_true(spins >= 1);
  assert_null(strstr(out, "%"));
  assert_non_null(strstr(out, "scan: 24 files in "));
  free(out);
}

/* A terminal, but quiet or CI: no terminal codes at all. */
static void test_tty_without_bar(void **state) {
  (void)state;
  for (int how = 0; how < 3; how++) {
    reset_env(NULL);
    if (how == 0)
      setenv("LAKEHOUSE_PROGRESS", "0", 1);
    else if (how == 1)
      setenv("CI", "true", 1);
    else
      setenv("TERM", "dumb", 1);
    setenv("LAKEHOUSE_PROGRESS_INTERVAL", "0.02", 1);
    pty t = {0};
    pty_open(&t, 80);
    cli_progress *p = cli_progress_start("import", 100, "rows");
    for (int i = 0; i < 5; i++) {
      cli_progress_add(p, 10);
      usleep(30000);
    }
    cli_progress_finish(p);
    char *out = pty_close(&t);
    assert_null(strchr(out, '\033'));
    assert_non_null(strstr(out, "import: 50 of 100 rows in "));
    if (how == 0)
      assert_int_equal(count_lines_with(out, ""), 1);
    else
      assert_true(count_lines_with(out, "%, ") >= 1); /* log lines instead of a bar */
    free(out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_human, reset_env),
      cmocka_unit_test_setup(test_null_safe, reset_env),
      cmocka_unit_test_setup(test_log_lines, reset_env),
      cmocka_unit_test_setup(test_log_lines_total, reset_env),
      cmocka_unit_test_setup(test_quiet, reset_env),
      cmocka_unit_test_setup(test_bad_interval, reset_env),
      cmocka_unit_test_setup(test_hot_path, reset_env),
      cmocka_unit_test_setup(test_bar, reset_env),
      cmocka_unit_test_setup(test_spinner, reset_env),
      cmocka_unit_test_setup(test_tty_without_bar, reset_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
