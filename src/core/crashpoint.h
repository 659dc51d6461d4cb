/* Crash points for the crash-safety tests: when LAKEHOUSE_TEST_CRASH names a point, the
 * process kills itself with SIGKILL there, exactly as an OOM kill or power loss would stop a
 * writer. Unset (always, outside the tests), a crash point costs one cached getenv. */
#ifndef LH_CORE_CRASHPOINT_H
#define LH_CORE_CRASHPOINT_H

void lh__crashpoint(const char *point);
/* The same for a point reached for many files: LAKEHOUSE_TEST_CRASH=point:SUFFIX kills only
 * when the file's path ends with SUFFIX (e.g. "store:before-link:.json"). */
void lh__crashpoint_file(const char *point, const char *path);

#endif
