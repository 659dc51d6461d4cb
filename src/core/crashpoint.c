#include "core/crashpoint.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *armed;
static pthread_once_t armed_once = PTHREAD_ONCE_INIT;

static void read_armed(void) {
  armed = getenv("LAKEHOUSE_TEST_CRASH");
}

void lh__crashpoint(const char *point) {
  pthread_once(&armed_once, read_armed);
  if (armed && *armed && strcmp(armed, point) == 0)
    kill(getpid(), SIGKILL);
}

void lh__crashpoint_file(const char *point, const char *path) {
  pthread_once(&armed_once, read_armed);
  size_t n = strlen(point);
  if (!armed || strncmp(armed, point, n) != 0 || armed[n] != ':')
    return;
  const char *suffix = armed + n + 1;
  size_t sl = strlen(suffix), pl = strlen(path);
  if (pl >= sl && strcmp(path + pl - sl, suffix) == 0)
    kill(getpid(), SIGKILL);
}
