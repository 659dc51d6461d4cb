/* Glob matching for store keys: '*' and '?' stay inside one path segment, '**' crosses
 * segments (e.g. archive, then '**', then '*.json' matches every metadata file), and
 * '[abc]' / '[!a-z]' are classes. */
#ifndef LH_CORE_GLOB_H
#define LH_CORE_GLOB_H

#include <stdbool.h>

bool lh__glob_match(const char *pattern, const char *key);

#endif
