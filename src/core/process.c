/* Whether a process has ended, from /proc. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/process.h"

#define PF_EXITING_FLAG 0x4u /* the kernel's PF_EXITING, in /proc/.../stat's flags */
#define SIGKILL_BIT 0x100ull /* SIGKILL (9) in /proc/.../status's pending masks */

/* Whether thread `task` (a /proc/PID/task/TID path) is done: a zombie, exiting (PF_EXITING),
 * or with a SIGKILL pending (its own or its process's). */
static bool thread_ended(const char *task) {
  char path[320], text[1024];
  snprintf(path, sizeof path, "%s/stat", task);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT; /* reaped since it was listed */
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0)
    return false;
  text[n] = '\0';
  /* "tid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold ") " */
  const char *after = strrchr(text, ')');
  char state = 0;
  unsigned flags = 0;
  if (!after || sscanf(after + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
    return false;
  if (state == 'Z' || state == 'X' || (flags & PF_EXITING_FLAG))
    return true;
  snprintf(path, sizeof path, "%s/status", task);
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  bool killed = false;
  while (!killed && fgets(text, sizeof text, f)) {
    unsigned long long mask;
    if ((sscanf(text, "SigPnd: %llx", &mask) == 1 || sscanf(text, "ShdPnd: %llx", &mask) == 1) &&
        (mask & SIGKILL_BIT))
      killed = true;
  }
  fclose(f);
  return killed;
}

/* A killed process whose parent died with it (as `timeout -s KILL` leaves it) stays a zombie
 * in a container whose init does not reap; a main thread that called pthread_exit is a
 * zombie too while the other threads run, which is why every thread is looked at. */
bool lh_process_ended(pid_t pid) {
  if (kill(pid, 0) != 0)
    return errno == ESRCH;
  char path[40];
  snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
  DIR *d = opendir(path);
  if (!d)
    return false;
  size_t threads = 0;
  bool ended = true;
  struct dirent *de;
  while (ended && (de = readdir(d))) {
    if (de->d_name[0] < '0' || de->d_name[0] > '9')
      continue;
    char task[sizeof path + sizeof de->d_name + 1];
    snprintf(task, sizeof task, "%s/%s", path, de->d_name);
    threads++;
    ended = thread_ended(task);
  }
  closedir(d);
  return ended && (threads > 0 || (kill(pid, 0) != 0 && errno == ESRCH));
}
