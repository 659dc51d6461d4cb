/* Logging: one vfprintf per line to stderr under a mutex. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "lakehouse/log.h"

static lh_log_level current = LH_LOG_INFO;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

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

void lh_log(lh_log_level level, const char *fmt, ...) {
  if (level < current)
    return;
  const char *tag = level >= LH_LOG_ERROR     ? "error: "
                    : level >= LH_LOG_WARNING ? "warning: "
                    : level <= LH_LOG_DEBUG   ? "debug: "
                                              : "";
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&mu);
  fputs(tag, stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  pthread_mutex_unlock(&mu);
  va_end(ap);
}
