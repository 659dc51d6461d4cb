/* Whether a process of this host has ended. */
#ifndef LH_CORE_PROCESS_H
#define LH_CORE_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether process pid will never run a line of its code again: it is gone, or each of its
 * threads is a zombie, exiting or has a SIGKILL pending (a killed process nobody reaped is
 * ended; a process whose main thread ended while others run is not). Without /proc only
 * "gone" is known. */
bool lh_process_ended(pid_t pid);

#endif
