/* Aleph-style filter strings -> lh_entity_query. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lakehouse/entities.h"

/* Everything a parsed query points at, behind the query's first list. */
typedef struct query_storage {
  char *text; /* the decoded copy the strings point into */
  const char **schema, **schemata, **ids, **origins;
  lh_prop_filter *props;
} query_storage;

static void storage_free(query_storage *s) {
  if (!s)
    return;
  free(s->text);
  free(s->schema);
  free(s->schemata);
  free(s->ids);
  free(s->origins);
  free(s->props);
  free(s);
}

static int hexval(char c) {
  return c >= '0' && c <= '9'   ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                : -1;
}

/* URL-decode in place (+ is a space); a '%' not followed by two hex digits, or an escape
 * that decodes to a NUL byte, is an error. */
static int url_decode(char *s, lh_error *err) {
  char *o = s, *start = s;
  for (; *s; s++) {
    if (*s == '+') {
      *o++ = ' ';
    } else if (*s == '%') {
      int hi = hexval(s[1]), lo = hi >= 0 ? hexval(s[2]) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return lh_error_set(err, LH_EINVAL, "query: bad %%-escape '%.3s' in '%.80s'", s, start);
      *o++ = (char)(hi * 16 + lo);
      s += 2;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
  return 0;
}

static int parse_count(const char *key, const char *v, int64_t *out, lh_error *err) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (!*v || *end || errno || n < 0 || n > LH_QUERY_COUNT_MAX)
    return lh_error_set(err, LH_EINVAL,
                        "query: '%s' must be an integer from 0 to %lld, not '%.40s'", key,
                        (long long)LH_QUERY_COUNT_MAX, v);
  *out = n;
  return 0;
}

int lh_entity_query_parse(const char *text, lh_entity_query *q, lh_error *err) {
  memset(q, 0, sizeof *q);
  q->limit = -1;
  query_storage *s = calloc(1, sizeof *s);
  size_t cap = 1;
  for (const char *p = text; *p; p++)
    cap += *p == '&';
  if (!s || !(s->text = strdup(text)) || !(s->schema = calloc(cap, sizeof(char *))) ||
      !(s->schemata = calloc(cap, sizeof(char *))) || !(s->ids = calloc(cap, sizeof(char *))) ||
      !(s->origins = calloc(cap, sizeof(char *))) || !(s->props = calloc(cap, sizeof *s->props))) {
    storage_free(s);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  q->schema = s->schema;
  q->schemata = s->schemata;
  q->entity_ids = s->ids;
  q->origins = s->origins;
  q->props = s->props;
  int rc = 0;
  char *save = NULL;
  for (char *part = strtok_r(s->text, "&", &save); part && !rc; part = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(part, '=');
    if (!eq) {
      rc = lh_error_set(err, LH_EINVAL, "query: '%s' is not KEY=VALUE", part);
      break;
    }
    *eq = '\0';
    char *key = part, *value = eq + 1;
    if ((rc = url_decode(key, err)) != 0 || (rc = url_decode(value, err)) != 0)
      break;
    if (strcmp(key, "limit") == 0) {
      rc = parse_count(key, value, &q->limit, err);
      continue;
    }
    if (strcmp(key, "offset") == 0) {
      rc = parse_count(key, value, &q->offset, err);
      continue;
    }
    if (strncmp(key, "filter:", 7) != 0) {
      rc = lh_error_set(err, LH_EINVAL,
                        "query: unknown key '%s' (use filter:FIELD=VALUE, limit or offset)", key);
      break;
    }
    const char *field = key + 7;
    if (!*value) {
      rc = lh_error_set(err, LH_EINVAL, "query: '%s' has an empty value", key);
    } else if (strcmp(field, "schema") == 0) {
      s->schema[q->nschema++] = value;
    } else if (strcmp(field, "schemata") == 0) {
      s->schemata[q->nschemata++] = value;
    } else if (strcmp(field, "id") == 0 || strcmp(field, "entity_id") == 0 ||
               strcmp(field, "canonical_id") == 0) {
      s->ids[q->nentity_ids++] = value;
    } else if (strcmp(field, "origin") == 0) {
      s->origins[q->norigins++] = value;
    } else if (strcmp(field, "dataset") == 0 || strcmp(field, "datasets") == 0) {
      /* a dataset's store holds only its own statements */
    } else {
      if (strncmp(field, "properties.", 11) == 0)
        field += 11;
      else if (strncmp(field, "group.", 6) == 0)
        field += 6;
      if (!*field)
        rc = lh_error_set(err, LH_EINVAL, "query: '%s' names no property", key);
      else
        s->props[q->nprops++] = (lh_prop_filter){field, value};
    }
  }
  if (rc) {
    storage_free(s);
    memset(q, 0, sizeof *q);
    return rc;
  }
  q->storage = s;
  return 0;
}

void lh_entity_query_free(lh_entity_query *q) {
  storage_free(q->storage);
  memset(q, 0, sizeof *q);
}
