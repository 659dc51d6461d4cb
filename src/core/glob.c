/* Glob matching with '**' for slash-separated keys. */
#include <string.h>

#include "core/glob.h"

static bool class_match(const char **pp, char c) {
  const char *p = *pp + 1; /* after '[' */
  bool negate = false, hit = false;
  if (*p == '!' || *p == '^') {
    negate = true;
    p++;
  }
  const char *first = p;
  while (*p && (*p != ']' || p == first)) {
    if (p[1] == '-' && p[2] && p[2] != ']') {
      if (c >= p[0] && c <= p[2])
        hit = true;
      p += 3;
    } else {
      if (c == *p)
        hit = true;
      p++;
    }
  }
  if (*p != ']')
    return false; /* unterminated class matches nothing */
  *pp = p + 1;
  return hit != negate;
}

static bool match(const char *p, const char *k) {
  while (*p) {
    if (p[0] == '*' && p[1] == '*') {
      p += 2;
      if (*p == '/') { /* a double star and a slash match zero or more whole segments */
        p++;
        for (const char *s = k;;) {
          if (match(p, s))
            return true;
          s = strchr(s, '/');
          if (!s)
            return false;
          s++;
        }
      }
      for (const char *s = k;; s++) { /* bare "**" matches anything */
        if (match(p, s))
          return true;
        if (!*s)
          return false;
      }
    }
    if (*p == '*') {
      p++;
      for (const char *s = k;; s++) {
        if (match(p, s))
          return true;
        if (!*s || *s == '/')
          return false;
      }
    }
    if (!*k)
      return false;
    if (*p == '?') {
      if (*k == '/')
        return false;
    } else if (*p == '[') {
      if (*k == '/' || !class_match(&p, *k))
        return false;
      k++;
      continue;
    } else if (*p != *k) {
      return false;
    }
    p++;
    k++;
  }
  return *k == '\0';
}

bool lh__glob_match(const char *pattern, const char *key) {
  return match(pattern, key);
}
