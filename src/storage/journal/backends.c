/* The journal backends, by URI scheme. A new backend (an HTTP journal for API mode, say)
 * implements lh__journal_ops in a file of its own and is added here. */
#include <stddef.h>

#include "storage/journal/journal_internal.h"

static const lh__journal_backend *const BACKENDS[] = {&LH__JOURNAL_SQLITE, &LH__JOURNAL_POSTGRES};

const lh__journal_backend *lh__journal_backend_for(const char *uri) {
  for (size_t i = 0; i < sizeof BACKENDS / sizeof BACKENDS[0]; i++)
    if (BACKENDS[i]->accepts(uri))
      return BACKENDS[i];
  return NULL;
}
