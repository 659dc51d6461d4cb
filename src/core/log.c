/* Logging through the installed sink, one call at a time. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "lakehouse/log.h"

static lh_log_level current = LH_LOG_INFO;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static lh_log_sink sink;
static void *sink_ctx;

void lh_log_set_level(lh_log_level level) {
  current = level;
}
lh_log_level lh_log_get_level(void) {
  return current;
}

int lh_log_level_from_name(const char *name) {
  static const struct {
    const char *name;
    lh_log_level level;
  } names[] = {{"debug", LH_LOG_DEBUG},  {"info", LH_LOG_INFO},   {"warning", LH_LOG_WARNING},
               {"warn", LH_LOG_WARNING}, {"error", LH_LOG_ERROR}, {"critical", LH_LOG_ERROR},
               {"quiet", LH_LOG_QUIET}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (name && strcasecmp(name, names[i].name) == 0)
      return (int)names[i].level;
  return -1;
}

void lh_log_set_sink(lh_log_sink fn, void *ctx) {
  pthread_mutex_lock(&mu);
  sink = fn;
  sink_ctx = ctx;
  pthread_mutex_unlock(&mu);
}

void lh_log_stderr(void *ctx, lh_log_level level, const char *message) {
  (void)ctx;
  const char *tag = level >= LH_LOG_ERROR     ? "error: "
                    : level >= LH_LOG_WARNING ? "warning: "
                    : level <= LH_LOG_DEBUG   ? "debug: "
                                              : "";
  fprintf(stderr, "%s%s\n", tag, message);
}

void lh_log(lh_log_level level, const char *fmt, ...) {
  if (level < current || !sink)
    return;
  char message[LH_LOG_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&mu);
  if (sink)
    sink(sink_ctx, level, message);
  pthread_mutex_unlock(&mu);
}
