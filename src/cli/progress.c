/* Progress reporter: bar on a terminal, periodic log lines elsewhere, summary at the end
 * (modelled on curl's src/tool_cb_prg.c). */
#include "cli/progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lakehouse/log.h"

#define NS_PER_SEC 1000000000ULL
#define REDRAW_NS (NS_PER_SEC / 10)       /* a terminal bar: at most 10 redraws a second */
#define LOG_INTERVAL_NS (10 * NS_PER_SEC) /* elsewhere: a log line every 10 seconds */
#define CHECK_NS_MAX (NS_PER_SEC / 40)    /* read the clock after at most ~25 ms of work */
#define STRIDE_MAX 16384                  /* ... and at least every this many calls */
#define BAR_MAX 60                        /* widest bar, in cells */
#define BAR_MIN 10                        /* narrower than this: no bar, numbers only */
#define CLEAR_LINE "\r\033[K"             /* carriage return, erase to end of line */
#define CLEAR_LEN (sizeof CLEAR_LINE - 1)

bool cli_progress_quiet = false;

enum { MODE_QUIET, MODE_LOG, MODE_BAR };

struct cli_progress {
  uint64_t done, total;
  uint64_t bytes;     /* a second count shown as a byte rate (cli_progress_bytes), 0: none */
  uint64_t countdown; /* add/set calls left before the next clock read */
  uint64_t stride;    /* calls between clock reads, adapted to land ~check_ns apart */
  uint64_t check_ns;  /* wanted time between clock reads */
  uint64_t emit_ns;   /* time between redraws or log lines */
  uint64_t start_ns, last_check_ns, last_emit_ns;
  int mode;
  int cols;                /* terminal width (bar mode) */
  sig_atomic_t winch_seen; /* winch_gen when cols was last read */
  unsigned spin;
  bool drawn; /* a bar is on the screen and must be cleared */
  char label[64];
  char unit[32];
};

/* ---- terminal width ------------------------------------------------------------------- */

static volatile sig_atomic_t winch_gen; /* bumped by every SIGWINCH */
static bool winch_installed;
static pthread_once_t winch_once = PTHREAD_ONCE_INIT;

static void on_winch(int sig) {
  (void)sig;
  winch_gen = winch_gen == SIG_ATOMIC_MAX ? 0 : winch_gen + 1;
}

static void winch_install(void) {
  struct sigaction old, sa;
  /* Someone else's handler (or an explicit SIG_IGN) is left alone. */
  if (sigaction(SIGWINCH, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
      old.sa_handler != SIG_DFL)
    return;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_winch;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART; /* a resize must not make someone's read() fail with EINTR */
  winch_installed = sigaction(SIGWINCH, &sa, NULL) == 0;
}

static int terminal_cols(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

/* ---- formatting ----------------------------------------------------------------------- */

const char *cli_progress_human(uint64_t n, char *out, size_t cap) {
  static const char *const suffix[] = {"", "k", "M", "G", "T", "P", "E"};
  if (!out || cap == 0)
    return out;
  if (n < 1000) {
    snprintf(out, cap, "%u", (unsigned)n);
    return out;
  }
  double v = (double)n;
  size_t i = 0;
  /* 999500 is "1.00 M", not "1000 k". */
  while (v >= 999.5 && i + 1 < sizeof suffix / sizeof suffix[0]) {
    v /= 1000;
    i++;
  }
  int decimals = v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
  snprintf(out, cap, "%.*f %s", decimals, v, suffix[i]);
  return out;
}

const char *cli_progress_duration(double seconds, char *out, size_t cap) {
  if (!out || cap == 0)
    return out;
  if (!(seconds >= 0))
    seconds = 0;
  if (seconds > 1e12)
    seconds = 1e12;
  if (seconds < 59.95) {
    snprintf(out, cap, "%.1fs", seconds);
  } else if (seconds < 3600) {
    unsigned s = (unsigned)(seconds + 0.5);
    snprintf(out, cap, "%um%02us", s / 60, s % 60);
  } else {
    unsigned long long m = (unsigned long long)(seconds / 60 + 0.5);
    snprintf(out, cap, "%lluh%02llum", m / 60, m % 60);
  }
  return out;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* The numbers every line shows: count ("1.20 M" or "1.20 M/2.67 M"), rate ("402 k/s")
 * and elapsed time. */
typedef struct stats {
  char count[2 * CLI_PROGRESS_HUMAN_SIZE + 4];
  char rate[3 * CLI_PROGRESS_HUMAN_SIZE + 8];
  char elapsed[32];
  int percent; /* -1 when the total is unknown */
} stats;

static void stats_fill(const cli_progress *p, uint64_t now, const char *sep, stats *s) {
  char done[CLI_PROGRESS_HUMAN_SIZE], total[CLI_PROGRESS_HUMAN_SIZE];
  double secs = (double)(now - p->start_ns) / (double)NS_PER_SEC;
  double rate = secs > 0 ? (double)p->done / secs : 0;
  uint64_t r = rate >= 1.8e19 ? UINT64_MAX : (uint64_t)(rate + 0.5);
  cli_progress_human(p->done, done, sizeof done);
  if (p->total) {
    cli_progress_human(p->total, total, sizeof total);
    snprintf(s->count, sizeof s->count, "%s%s%s", done, sep, total);
    double f = (double)p->done / (double)p->total;
    s->percent = f >= 1 ? 100 : (int)(f * 100);
  } else {
    snprintf(s->count, sizeof s->count, "%s", done);
    s->percent = -1;
  }
  cli_progress_human(r, s->rate, sizeof s->rate);
  strcat(s->rate, "/s");
  if (p->bytes) { /* "1.20 k/s, 12.3 MB/s (1.02 GB)" */
    char bytes[CLI_PROGRESS_HUMAN_SIZE], brate[CLI_PROGRESS_HUMAN_SIZE];
    double br = secs > 0 ? (double)p->bytes / secs : 0;
    cli_progress_human(br >= 1.8e19 ? UINT64_MAX : (uint64_t)(br + 0.5), brate, sizeof brate);
    cli_progress_human(p->bytes, bytes, sizeof bytes);
    size_t n = strlen(s->rate);
    snprintf(s->rate + n, sizeof s->rate - n, ", %sB/s (%sB)", brate, bytes);
  }
  cli_progress_duration(secs, s->elapsed, sizeof s->elapsed);
}

/* ---- output --------------------------------------------------------------------------- */

static void draw_bar(cli_progress *p, uint64_t now) {
  if (!winch_installed) {
    p->cols = terminal_cols();
  } else if (p->winch_seen != winch_gen) {
    p->winch_seen = winch_gen;
    p->cols = terminal_cols();
  }
  stats s;
  stats_fill(p, now, "/", &s);
  char tail[256];
  if (s.percent >= 0)
    snprintf(tail, sizeof tail, " %3d%% %s %s  %s  %s", s.percent, s.count, p->unit, s.rate,
             s.elapsed);
  else
    snprintf(tail, sizeof tail, " %c %s %s  %s  %s", "|/-\\"[p->spin++ & 3], s.count, p->unit,
             s.rate, s.elapsed);

  /* Never write into the last column: some terminals wrap there. */
  char line[512];
  size_t width = p->cols > 1 ? (size_t)p->cols - 1 : 1;
  if (width > sizeof line - CLEAR_LEN - 1)
    width = sizeof line - CLEAR_LEN - 1;
  size_t len = (size_t)snprintf(line, sizeof line, CLEAR_LINE "%s", p->label);
  size_t fixed = strlen(p->label) + 3 + strlen(tail); /* " [" and "]" */
  if (s.percent >= 0 && width >= fixed + BAR_MIN) {
    size_t cells = width - fixed > BAR_MAX ? BAR_MAX : width - fixed;
    size_t fill = (size_t)((double)cells * s.percent / 100);
    line[len++] = ' ';
    line[len++] = '[';
    for (size_t i = 0; i < cells; i++)
      line[len++] = i < fill ? '=' : i == fill ? '>' : ' ';
    line[len++] = ']';
    line[len] = '\0';
  }
  snprintf(line + len, sizeof line - len, "%s", tail);
  if (strlen(line) > CLEAR_LEN + width)
    line[CLEAR_LEN + width] = '\0';
  fputs(line, stderr);
  fflush(stderr);
  p->drawn = true;
}

static void log_line(const cli_progress *p, uint64_t now) {
  stats s;
  stats_fill(p, now, " / ", &s);
  if (s.percent >= 0)
    lh_log_info("%s: %s %s (%d%%, %s, %s)", p->label, s.count, p->unit, s.percent, s.rate,
                s.elapsed);
  else
    lh_log_info("%s: %s %s (%s, %s)", p->label, s.count, p->unit, s.rate, s.elapsed);
}

/* Out of the hot path: read the clock, retune the stride, maybe draw or log. */
static void progress_check(cli_progress *p) {
  if (p->mode == MODE_QUIET) {
    p->countdown = UINT64_MAX;
    return;
  }
  uint64_t now = now_ns();
  uint64_t dt = now - p->last_check_ns;
  /* Grow at most twofold per read so a burst of fast calls cannot push the next read far
   * into a slow phase; shrink at once. */
  uint64_t stride = dt ? p->stride * p->check_ns / dt : p->stride * 2;
  if (stride > p->stride * 2)
    stride = p->stride * 2;
  if (stride < 1)
    stride = 1;
  if (stride > STRIDE_MAX)
    stride = STRIDE_MAX;
  p->stride = p->countdown = stride;
  p->last_check_ns = now;
  if (now - p->last_emit_ns < p->emit_ns)
    return;
  p->last_emit_ns = now;
  if (p->mode == MODE_BAR)
    draw_bar(p, now);
  else
    log_line(p, now);
}

/* ---- the API -------------------------------------------------------------------------- */

static bool env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v;
}

static int choose_mode(void) {
  const char *v = getenv("LAKEHOUSE_PROGRESS");
  if (cli_progress_quiet || (v && strcmp(v, "0") == 0))
    return MODE_QUIET;
  if (isatty(STDERR_FILENO) && !env_set("CI")) {
    const char *term = getenv("TERM");
    if (!term || strcmp(term, "dumb") != 0)
      return MODE_BAR;
  }
  /* Log lines below the log level would only cost formatting. */
  return lh_log_get_level() > LH_LOG_INFO ? MODE_QUIET : MODE_LOG;
}

static uint64_t log_interval_ns(void) {
  const char *v = getenv("LAKEHOUSE_PROGRESS_INTERVAL");
  if (!v || !*v)
    return LOG_INTERVAL_NS;
  char *end;
  double s = strtod(v, &end);
  if (*end || !(s > 0) || s > 1e6) {
    lh_log_warning("ignoring LAKEHOUSE_PROGRESS_INTERVAL=%s: not a positive number of seconds", v);
    return LOG_INTERVAL_NS;
  }
  uint64_t ns = (uint64_t)(s * (double)NS_PER_SEC);
  return ns ? ns : 1;
}

cli_progress *cli_progress_start(const char *label, uint64_t total, const char *unit) {
  cli_progress *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "progress");
  snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "items");
  p->total = total;
  p->mode = choose_mode();
  p->start_ns = p->last_check_ns = p->last_emit_ns = now_ns();
  if (p->mode == MODE_BAR) {
    pthread_once(&winch_once, winch_install);
    p->winch_seen = winch_gen;
    p->cols = terminal_cols();
    p->emit_ns = REDRAW_NS;
  } else {
    p->emit_ns = log_interval_ns();
  }
  p->check_ns = p->emit_ns / 4 < CHECK_NS_MAX ? p->emit_ns / 4 : CHECK_NS_MAX;
  p->stride = 1;
  p->countdown = p->mode == MODE_QUIET ? UINT64_MAX : 1;
  return p;
}

void cli_progress_add(cli_progress *p, uint64_t n) {
  if (!p)
    return;
  p->done += n;
  if (--p->countdown == 0)
    progress_check(p);
}

void cli_progress_set(cli_progress *p, uint64_t done) {
  if (!p)
    return;
  p->done = done;
  if (--p->countdown == 0)
    progress_check(p);
}

void cli_progress_bytes(cli_progress *p, uint64_t bytes) {
  if (p)
    p->bytes = bytes;
}

uint64_t cli_progress_done(const cli_progress *p) {
  return p ? p->done : 0;
}

void cli_progress_finish(cli_progress *p) {
  if (!p)
    return;
  if (p->drawn) {
    fputs(CLEAR_LINE, stderr);
    fflush(stderr);
  }
  char done[CLI_PROGRESS_HUMAN_SIZE], total[CLI_PROGRESS_HUMAN_SIZE];
  stats s;
  stats_fill(p, now_ns(), "/", &s);
  cli_progress_human(p->done, done, sizeof done);
  if (p->total && p->done != p->total)
    lh_log_info("%s: %s of %s %s in %s (%s)", p->label, done,
                cli_progress_human(p->total, total, sizeof total), p->unit, s.elapsed, s.rate);
  else
    lh_log_info("%s: %s %s in %s (%s)", p->label, done, p->unit, s.elapsed, s.rate);
  free(p);
}
