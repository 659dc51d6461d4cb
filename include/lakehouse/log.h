/* Logging to stderr: one line per message, levels from LOG_LEVEL (debug, info, warning,
 * error). Messages for humans go here; data goes to stdout. Thread-safe. */
#ifndef LAKEHOUSE_LOG_H
#define LAKEHOUSE_LOG_H

#include "lakehouse/api.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lh_log_level {
  LH_LOG_DEBUG = 10,
  LH_LOG_INFO = 20,
  LH_LOG_WARNING = 30,
  LH_LOG_ERROR = 40,
  LH_LOG_QUIET = 100
} lh_log_level;

LH_API void lh_log_set_level(lh_log_level level);
/* Parse "debug"/"info"/"warning"/"error"/"quiet" (case-insensitive); returns -1 if unknown. */
LH_API int lh_log_level_from_name(const char *name);
LH_API lh_log_level lh_log_get_level(void);
LH_API void lh_log(lh_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lh_log_debug(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)
#define lh_log_info(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define lh_log_warning(...) lh_log(LH_LOG_WARNING, __VA_ARGS__)
#define lh_log_error(...) lh_log(LH_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
