/* Byte-size strings as LAKEHOUSE_DUCKDB_MEMORY_LIMIT uses them (inventory §6.4). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lakehouse/util.h"

static const struct {
  const char *unit;
  double factor;
} UNITS[] = {
    {"", 1},
    {"b", 1},
    {"k", 1e3},
    {"kb", 1e3},
    {"kib", 1024.0},
    {"m", 1e6},
    {"mb", 1e6},
    {"mib", 1048576.0},
    {"g", 1e9},
    {"gb", 1e9},
    {"gib", 1073741824.0},
    {"t", 1e12},
    {"tb", 1e12},
    {"tib", 1099511627776.0},
    {"p", 1e15},
    {"pb", 1e15},
    {"pib", 1125899906842624.0},
};

int lh_parse_byte_size(const char *s, int64_t *out, lh_error *err) {
  if (!s)
    return lh_error_set(err, LH_EINVAL, "invalid byte size: (null)");
  const char *p = s, *end = s + strlen(s);
  while (p < end && isspace((unsigned char)*p))
    p++;
  while (end > p && isspace((unsigned char)end[-1]))
    end--;
  /* number: \d+(\.\d+)? */
  const char *num = p;
  while (p < end && isdigit((unsigned char)*p))
    p++;
  if (p == num)
    goto bad;
  if (p < end && *p == '.') {
    const char *frac = ++p;
    while (p < end && isdigit((unsigned char)*p))
      p++;
    if (p == frac)
      goto bad;
  }
  const char *num_end = p;
  while (p < end && isspace((unsigned char)*p))
    p++;
  const char *unit = p;
  while (p < end && isalpha((unsigned char)*p))
    p++;
  if (p != end)
    goto bad;
  size_t ulen = (size_t)(end - unit);
  for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++) {
    if (strlen(UNITS[i].unit) == ulen && strncasecmp(UNITS[i].unit, unit, ulen) == 0) {
      char tmp[64];
      size_t nlen = (size_t)(num_end - num);
      if (nlen >= sizeof tmp)
        goto bad;
      memcpy(tmp, num, nlen);
      tmp[nlen] = '\0';
      double v = strtod(tmp, NULL) * UNITS[i].factor;
      if (!isfinite(v) || v >= 9.2e18)
        goto bad;
      *out = (int64_t)v;
      return 0;
    }
  }
bad:
  return lh_error_set(err, LH_EINVAL, "invalid byte size '%s' (expected e.g. 512MB, 8GB, 2GiB)", s);
}
