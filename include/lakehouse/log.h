/* Logging: the library hands each message at or above the level to a sink the application
 * installs; without one it is silent. The CLI installs lh_log_stderr (one line per message,
 * level from LOG_LEVEL); a server installs its own. Thread-safe: sink calls are serialized. */
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
/* Receives one formatted message (no newline; cut at LH_LOG_MESSAGE_MAX bytes). */
typedef void (*lh_log_sink)(void *ctx, lh_log_level level, const char *message);
#define LH_LOG_MESSAGE_MAX 4096
/* Install the sink (NULL: none, the default). Set it before work starts on other threads. */
LH_API void lh_log_set_sink(lh_log_sink sink, void *ctx);
/* The stderr sink: "warning: ", "error: " or "debug: " before the message, one write per
 * line. */
LH_API void lh_log_stderr(void *ctx, lh_log_level level, const char *message);
LH_API void lh_log(lh_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lh_log_debug(...) lh_log(LH_LOG_DEBUG, __VA_ARGS__)
#define lh_log_info(...) lh_log(LH_LOG_INFO, __VA_ARGS__)
#define lh_log_warning(...) lh_log(LH_LOG_WARNING, __VA_ARGS__)
#define lh_log_error(...) lh_log(LH_LOG_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
