/* Public API: version strings. */
#include "lakehouse/lakehouse.h"
#include "lh_version.h"

const char *lh_version(void) {
  return LH_VERSION;
}
const char *lh_conventions_version(void) {
  return LH_CONVENTIONS_VERSION;
}
