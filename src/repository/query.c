/* Query strings -> lh_entity_query: Aleph-style filter strings (-q) and RQL (--rql). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "lakehouse/entities.h"

/* The deepest and:/or:/not: nesting an RQL string may have. */
#define RQL_MAX_DEPTH 32

/* Everything a parsed query points at, freed together. */
typedef struct query_storage {
  void **blocks;
  size_t n, cap;
} query_storage;

static void storage_free(query_storage *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->blocks[i]);
  free(s->blocks);
  free(s);
}

/* Zeroed memory owned by the storage (NULL when out of memory). */
static void *own(query_storage *s, size_t size) {
  if (LH_ARRAY_RESERVE(s->blocks, s->cap, s->n + 1, 16))
    return NULL;
  void *p = calloc(1, size ? size : 1);
  if (p)
    s->blocks[s->n++] = p;
  return p;
}

static char *own_str(query_storage *s, const char *text, size_t n) {
  char *p = own(s, n + 1);
  if (p)
    memcpy(p, text, n);
  return p;
}

static int nomem(lh_error *err) {
  return lh_error_set(err, LH_ENOMEM, "out of memory");
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

static int set_sort(lh_entity_query *q, const char *v, lh_error *err) {
  bool desc = *v == '-';
  if (*v == '-' || *v == '+')
    v++;
  if (strncmp(v, "properties.", 11) == 0)
    v += 11;
  else if (strncmp(v, "group.", 6) == 0)
    v += 6;
  if (!*v)
    return lh_error_set(err, LH_EINVAL, "query: 'sort' names no property");
  if (q->sort)
    return lh_error_set(err, LH_EINVAL, "query: one sort property only (got '%s' and '%s')",
                        q->sort, v);
  q->sort = v;
  q->sort_desc = desc;
  return 0;
}

/* A leaf node over one value. */
static lh_qnode *leaf(query_storage *s, const char *field, lh_qcmp cmp, const char *const *values,
                      size_t n) {
  lh_qnode *node = own(s, sizeof *node);
  const char **v = own(s, (n ? n : 1) * sizeof *v);
  if (!node || !v)
    return NULL;
  for (size_t i = 0; i < n; i++)
    v[i] = values[i];
  node->kind = LH_QN_LEAF;
  node->field = field;
  node->cmp = cmp;
  node->values = v;
  node->nvalues = n;
  return node;
}

static lh_qnode *branch(query_storage *s, lh_qnode_kind kind, lh_qnode *const *children, size_t n) {
  lh_qnode *node = own(s, sizeof *node);
  lh_qnode **c = own(s, (n ? n : 1) * sizeof *c);
  if (!node || !c)
    return NULL;
  for (size_t i = 0; i < n; i++)
    c[i] = children[i];
  node->kind = kind;
  node->children = c;
  node->nchildren = n;
  return node;
}

/* Add `node` to the query's filter, AND-ed with what is there. */
static int and_filter(query_storage *s, lh_entity_query *q, lh_qnode *node) {
  if (!q->filter) {
    q->filter = node;
    return 0;
  }
  lh_qnode *both[2] = {(lh_qnode *)q->filter, node};
  lh_qnode *a = branch(s, LH_QN_AND, both, 2);
  if (!a)
    return LH_ENOMEM;
  q->filter = a;
  return 0;
}

/* ---- Aleph-style: filter:FIELD=V&... -------------------------------------------------------- */

typedef struct flat_lists {
  const char **schema, **schemata, **ids, **origins;
  lh_prop_filter *props;
} flat_lists;

int lh_entity_query_parse(const char *text, lh_entity_query *q, lh_error *err) {
  memset(q, 0, sizeof *q);
  q->limit = -1;
  if (strlen(text) > LH_QUERY_TEXT_MAX)
    return lh_error_set(err, LH_ELIMIT, "query: longer than %d bytes", LH_QUERY_TEXT_MAX);
  query_storage *s = calloc(1, sizeof *s);
  size_t cap = 1;
  for (const char *p = text; *p; p++)
    cap += *p == '&';
  flat_lists l = {0};
  char *copy = s ? own_str(s, text, strlen(text)) : NULL;
  if (!s || !copy || !(l.schema = own(s, cap * sizeof(char *))) ||
      !(l.schemata = own(s, cap * sizeof(char *))) || !(l.ids = own(s, cap * sizeof(char *))) ||
      !(l.origins = own(s, cap * sizeof(char *))) || !(l.props = own(s, cap * sizeof *l.props))) {
    storage_free(s);
    return nomem(err);
  }
  q->schema = l.schema;
  q->schemata = l.schemata;
  q->entity_ids = l.ids;
  q->origins = l.origins;
  q->props = l.props;
  int rc = 0;
  char *save = NULL;
  for (char *part = strtok_r(copy, "&", &save); part && !rc; part = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(part, '=');
    if (!eq) {
      rc = lh_error_set(err, LH_EINVAL, "query: '%.80s' is not KEY=VALUE", part);
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
    if (strcmp(key, "sort") == 0) {
      rc = set_sort(q, value, err);
      continue;
    }
    bool exclude = strncmp(key, "exclude:", 8) == 0;
    if (strncmp(key, "filter:", 7) != 0 && !exclude) {
      rc = lh_error_set(err, LH_EINVAL,
                        "query: unknown key '%.80s' (use filter:FIELD=VALUE, exclude:FIELD=VALUE, "
                        "sort, limit or offset)",
                        key);
      break;
    }
    const char *field = key + (exclude ? 8 : 7);
    /* Aleph's ranges: filter:gte:properties.birthDate=1980 */
    lh_qcmp cmp = LH_QC_EQ;
    static const struct {
      const char *prefix;
      lh_qcmp cmp;
    } RANGES[] = {{"gt:", LH_QC_GT}, {"gte:", LH_QC_GTE}, {"lt:", LH_QC_LT}, {"lte:", LH_QC_LTE}};
    for (size_t i = 0; i < sizeof RANGES / sizeof *RANGES; i++)
      if (!exclude && strncmp(field, RANGES[i].prefix, strlen(RANGES[i].prefix)) == 0) {
        cmp = RANGES[i].cmp;
        field += strlen(RANGES[i].prefix);
      }
    if (!*value) {
      rc = lh_error_set(err, LH_EINVAL, "query: '%.80s' has an empty value", key);
    } else if (!*field) {
      rc = lh_error_set(err, LH_EINVAL, "query: '%.80s' names no field", key);
    } else if (exclude || cmp != LH_QC_EQ) {
      /* exclude: entities with no such value at all */
      const char *v[1] = {value};
      lh_qnode *n = leaf(s, field, cmp, v, 1);
      if (n && exclude)
        n = branch(s, LH_QN_NOT, &n, 1);
      rc = n ? and_filter(s, q, n) : LH_ENOMEM;
      if (rc)
        nomem(err);
    } else if (strcmp(field, "schema") == 0) {
      l.schema[q->nschema++] = value;
    } else if (strcmp(field, "schemata") == 0) {
      l.schemata[q->nschemata++] = value;
    } else if (strcmp(field, "id") == 0 || strcmp(field, "entity_id") == 0 ||
               strcmp(field, "canonical_id") == 0) {
      l.ids[q->nentity_ids++] = value;
    } else if (strcmp(field, "origin") == 0) {
      l.origins[q->norigins++] = value;
    } else if (strcmp(field, "dataset") == 0 || strcmp(field, "datasets") == 0) {
      /* a dataset's store holds only its own statements */
    } else {
      if (strncmp(field, "properties.", 11) == 0)
        field += 11;
      else if (strncmp(field, "group.", 6) == 0)
        field += 6;
      if (!*field)
        rc = lh_error_set(err, LH_EINVAL, "query: '%.80s' names no property", key);
      else
        l.props[q->nprops++] = (lh_prop_filter){field, value};
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

/* ---- RQL ------------------------------------------------------------------------------------ */

typedef struct rql {
  query_storage *s;
  const char *text;
  const char *p;
  lh_entity_query *q;
  lh_error *err;
} rql;

static int rql_fail(rql *r, const char *what) {
  return lh_error_set(r->err, LH_EINVAL, "--rql: %s at column %zu", what,
                      (size_t)(r->p - r->text) + 1);
}

static void skip_space(rql *r) {
  while (*r->p == ' ' || *r->p == '\t')
    r->p++;
}

/* A name or value: everything up to ( ) , (URL-decoded). */
static int token(rql *r, char **out) {
  skip_space(r);
  const char *start = r->p;
  while (*r->p && !strchr("(),", *r->p))
    r->p++;
  size_t n = (size_t)(r->p - start);
  while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
    n--;
  char *t = own_str(r->s, start, n);
  if (!t)
    return nomem(r->err);
  int rc = url_decode(t, r->err);
  if (rc)
    return rc;
  *out = t;
  return 0;
}

static int expect(rql *r, char c) {
  skip_space(r);
  if (*r->p != c) {
    char what[32];
    snprintf(what, sizeof what, "expected '%c'", c);
    return rql_fail(r, what);
  }
  r->p++;
  return 0;
}

/* Values: one token, or a tuple (a,b,c). */
static int values(rql *r, const char ***out, size_t *n) {
  skip_space(r);
  size_t cap = 8, k = 0;
  const char **v = own(r->s, cap * sizeof *v);
  if (!v)
    return nomem(r->err);
  bool tuple = *r->p == '(';
  if (tuple)
    r->p++;
  for (;;) {
    char *t;
    int rc = token(r, &t);
    if (rc)
      return rc;
    if (k == cap) {
      const char **nv = own(r->s, cap * 2 * sizeof *nv);
      if (!nv)
        return nomem(r->err);
      memcpy(nv, v, cap * sizeof *nv);
      v = nv;
      cap *= 2;
    }
    v[k++] = t;
    skip_space(r);
    if (!tuple || *r->p != ',')
      break;
    r->p++;
  }
  if (tuple && expect(r, ')'))
    return r->err ? r->err->code : LH_EINVAL;
  *out = v;
  *n = k;
  return 0;
}

static const struct {
  const char *name;
  lh_qcmp cmp;
} RQL_OPS[] = {{"eq", LH_QC_EQ},
               {"ne", LH_QC_NOT},
               {"in", LH_QC_IN},
               {"out", LH_QC_NOT_IN},
               {"lt", LH_QC_LT},
               {"le", LH_QC_LTE},
               {"lte", LH_QC_LTE},
               {"gt", LH_QC_GT},
               {"ge", LH_QC_GTE},
               {"gte", LH_QC_GTE},
               {"like", LH_QC_LIKE},
               {"ilike", LH_QC_ILIKE},
               {"notlike", LH_QC_NOTLIKE},
               {"notilike", LH_QC_NOTILIKE},
               {"startswith", LH_QC_STARTSWITH},
               {"endswith", LH_QC_ENDSWITH},
               {"null", LH_QC_NULL}};

static int expr(rql *r, int depth, lh_qnode **out);

/* The arguments of and(...) / or(...) / not(...), up to the closing parenthesis. */
static int children(rql *r, int depth, lh_qnode ***out, size_t *n) {
  size_t cap = 4, k = 0;
  lh_qnode **c = own(r->s, cap * sizeof *c);
  if (!c)
    return nomem(r->err);
  skip_space(r);
  while (*r->p != ')') {
    lh_qnode *node = NULL;
    int rc = expr(r, depth + 1, &node);
    if (rc)
      return rc;
    if (node) { /* sort() and limit() set the query, not a node */
      if (k == cap) {
        lh_qnode **nc = own(r->s, cap * 2 * sizeof *nc);
        if (!nc)
          return nomem(r->err);
        memcpy(nc, c, cap * sizeof *nc);
        c = nc;
        cap *= 2;
      }
      c[k++] = node;
    }
    skip_space(r);
    if (*r->p == ',')
      r->p++;
    else if (*r->p != ')')
      return rql_fail(r, "expected ',' or ')'");
  }
  r->p++;
  *out = c;
  *n = k;
  return 0;
}

static int expr(rql *r, int depth, lh_qnode **out) {
  *out = NULL;
  if (depth > RQL_MAX_DEPTH)
    return rql_fail(r, "nesting too deep");
  char *name;
  int rc = token(r, &name);
  if (rc)
    return rc;
  if (!*name)
    return rql_fail(r, "expected an operator");
  if ((rc = expect(r, '(')) != 0)
    return rc;
  if (strcmp(name, "and") == 0 || strcmp(name, "or") == 0 || strcmp(name, "not") == 0) {
    lh_qnode **c = NULL;
    size_t n = 0;
    if ((rc = children(r, depth, &c, &n)) != 0)
      return rc;
    bool not = name[0] == 'n';
    if (not &&n != 1)
      return rql_fail(r, "not() takes one expression");
    if (n == 0)
      return 0;
    *out = branch(r->s, not ? LH_QN_NOT : name[0] == 'a' ? LH_QN_AND : LH_QN_OR, c, n);
    return *out ? 0 : nomem(r->err);
  }
  if (strcmp(name, "sort") == 0 || strcmp(name, "limit") == 0) {
    const char **v = NULL;
    size_t n = 0;
    skip_space(r);
    if (*r->p != ')' && (rc = values(r, &v, &n)) != 0)
      return rc;
    while (!rc && *r->p == ',') { /* limit(count,start) */
      r->p++;
      const char **more;
      size_t m;
      if ((rc = values(r, &more, &m)) == 0) {
        const char **all = own(r->s, (n + m) * sizeof *all);
        if (!all)
          return nomem(r->err);
        memcpy(all, v, n * sizeof *all);
        memcpy(all + n, more, m * sizeof *all);
        v = all;
        n += m;
      }
      skip_space(r);
    }
    if (rc || (rc = expect(r, ')')) != 0)
      return rc;
    if (name[0] == 's') {
      if (n != 1)
        return rql_fail(r, "sort() takes one property");
      return set_sort(r->q, v[0], r->err);
    }
    if (n < 1 || n > 2)
      return rql_fail(r, "limit() takes a count and an optional start");
    rc = parse_count("limit", v[0], &r->q->limit, r->err);
    return rc || n < 2 ? rc : parse_count("offset", v[1], &r->q->offset, r->err);
  }
  lh_qcmp cmp = LH_QC_EQ;
  bool known = false;
  for (size_t i = 0; i < sizeof RQL_OPS / sizeof *RQL_OPS && !known; i++)
    if (strcmp(name, RQL_OPS[i].name) == 0) {
      cmp = RQL_OPS[i].cmp;
      known = true;
    }
  if (!known) {
    char what[160];
    snprintf(what, sizeof what, "unknown operator '%.60s'", name);
    return rql_fail(r, what);
  }
  char *field;
  if ((rc = token(r, &field)) != 0)
    return rc;
  if (!*field)
    return rql_fail(r, "expected a field");
  if ((rc = expect(r, ',')) != 0)
    return rc;
  const char **v = NULL;
  size_t n = 0;
  if ((rc = values(r, &v, &n)) != 0 || (rc = expect(r, ')')) != 0)
    return rc;
  if (n > 1 && cmp == LH_QC_EQ)
    cmp = LH_QC_IN;
  *out = leaf(r->s, field, cmp, v, n);
  return *out ? 0 : nomem(r->err);
}

int lh_entity_query_parse_rql(const char *text, lh_entity_query *q, lh_error *err) {
  memset(q, 0, sizeof *q);
  q->limit = -1;
  if (strlen(text) > LH_QUERY_TEXT_MAX)
    return lh_error_set(err, LH_ELIMIT, "--rql: longer than %d bytes", LH_QUERY_TEXT_MAX);
  query_storage *s = calloc(1, sizeof *s);
  if (!s)
    return nomem(err);
  rql r = {s, text, text, q, err};
  int rc = 0;
  /* a top level of several expressions, as RQL allows with '&' */
  while (!rc) {
    skip_space(&r);
    if (!*r.p)
      break;
    lh_qnode *node = NULL;
    rc = expr(&r, 0, &node);
    if (!rc && node && and_filter(s, q, node))
      rc = nomem(err);
    skip_space(&r);
    if (!rc && *r.p && *r.p != '&' && *r.p != ',')
      rc = rql_fail(&r, "expected the end");
    if (!rc && *r.p)
      r.p++;
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
