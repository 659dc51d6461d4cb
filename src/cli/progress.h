/* Progress reporting for long CLI work (imports, flushes): a bar redrawn on stderr when it
 * is a terminal, a periodic log line otherwise, and one summary line at the end.
 *
 * Where it goes, decided once in cli_progress_start:
 * - quiet (cli_progress_quiet is set, or LAKEHOUSE_PROGRESS=0): no periodic output; the
 *   summary line is still logged at info level, so LOG_LEVEL=warning (or --quiet lowering
 *   the log level) silences it too.
 * - bar (stderr is a terminal, CI unset or empty, TERM is not "dumb"): label, bar (total
 *   known) or spinner, count, rate and elapsed time, redrawn at most 10 times a second in
 *   place with "\r\033[K", fitted to the terminal width (refreshed on SIGWINCH).
 * - log (anything else): lh_log_info every LAKEHOUSE_PROGRESS_INTERVAL seconds (default 10,
 *   may be fractional), e.g. "import: 1.20 M statements (402 k/s, 3.0s)".
 *
 * A progress object belongs to one thread. The first bar installs a process-wide SIGWINCH
 * handler that only sets a flag, and only when SIGWINCH still has its default disposition;
 * otherwise the width is asked for on every redraw. Log lines from other code while a bar
 * is drawn land after the bar on the same terminal line. */
#ifndef LH_CLI_PROGRESS_H
#define LH_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cli_progress cli_progress;

/* Set by the CLI's --quiet before any work starts; read by cli_progress_start. */
extern bool cli_progress_quiet;

/* Starts counting now. total 0 means unknown (spinner instead of a bar, no percentage);
 * unit is a plural noun ("statements", "bytes"). label and unit are copied. Returns NULL
 * only when out of memory; every function below accepts NULL and then does nothing. */
cli_progress *cli_progress_start(const char *label, uint64_t total, const char *unit);
/* Counts n more. Cheap enough for a per-row hot loop: the clock is read only every so many
 * calls, a stride adapted so that reads are a few milliseconds of work apart. */
void cli_progress_add(cli_progress *p, uint64_t n);
/* Sets the count (e.g. a byte offset); same cost as cli_progress_add. */
void cli_progress_set(cli_progress *p, uint64_t done);
/* A second count in bytes (e.g. read so far), shown beside the rate as "12.3 MB/s (1.02 GB)";
 * set it before the cli_progress_set/add that may redraw. */
void cli_progress_bytes(cli_progress *p, uint64_t bytes);
/* The count so far (0 for NULL). */
uint64_t cli_progress_done(const cli_progress *p);
/* Clears the bar, logs "label: COUNT [of TOTAL] unit in ELAPSED (RATE/s)" at info level
 * and frees p. */
void cli_progress_finish(cli_progress *p);

/* n with three significant digits and a decimal SI suffix: 999 -> "999",
 * 1234 -> "1.23 k", 1234567 -> "1.23 M", 123456789 -> "123 M", UINT64_MAX -> "18.4 E".
 * Truncated to fit cap (like snprintf); returns out. */
#define CLI_PROGRESS_HUMAN_SIZE 16
const char *cli_progress_human(uint64_t n, char *out, size_t cap);
/* Elapsed time for people: "3.0s", "2m05s", "1h02m". Returns out. */
const char *cli_progress_duration(double seconds, char *out, size_t cap);

#endif
