/* Loads the compiled FtM model JSON into an immutable lh_model: resolves inheritance,
 * stub (reverse) properties, buckets and is-a bitsets once, so lookups are cheap. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/sort.h"
#include "ftm/model_internal.h"
#include "lakehouse/ftm.h"

extern const char lh__model_json[];
extern const uint64_t lh__model_json_size;

const char *lh_model_embedded_json(size_t *len) {
  if (len)
    *len = (size_t)lh__model_json_size;
  return lh__model_json;
}

static const char *const BUCKET_NAMES[LH_BUCKET_COUNT] = {"thing", "interval", "document",
                                                          "page",  "pages",    "mention"};

const char *lh_bucket_name(lh_bucket b) {
  return (unsigned)b < LH_BUCKET_COUNT ? BUCKET_NAMES[b] : "thing";
}

int lh_bucket_parse(const char *name, lh_bucket *out) {
  for (int i = 0; i < LH_BUCKET_COUNT; i++)
    if (name && strcmp(name, BUCKET_NAMES[i]) == 0) {
      *out = (lh_bucket)i;
      return 0;
    }
  return LH_EINVAL;
}

static const char *const TYPE_NAMES[] = {
    [LH_TYPE_ADDRESS] = "address",
    [LH_TYPE_CHECKSUM] = "checksum",
    [LH_TYPE_COUNTRY] = "country",
    [LH_TYPE_DATE] = "date",
    [LH_TYPE_EMAIL] = "email",
    [LH_TYPE_ENTITY] = "entity",
    [LH_TYPE_GENDER] = "gender",
    [LH_TYPE_HTML] = "html",
    [LH_TYPE_IDENTIFIER] = "identifier",
    [LH_TYPE_IP] = "ip",
    [LH_TYPE_JSON] = "json",
    [LH_TYPE_LANGUAGE] = "language",
    [LH_TYPE_MIMETYPE] = "mimetype",
    [LH_TYPE_NAME] = "name",
    [LH_TYPE_NUMBER] = "number",
    [LH_TYPE_PHONE] = "phone",
    [LH_TYPE_STRING] = "string",
    [LH_TYPE_TEXT] = "text",
    [LH_TYPE_TOPIC] = "topic",
    [LH_TYPE_URL] = "url",
};

static lh_type_id type_id_of(const char *name) {
  for (int i = 0; i < LH_TYPE_UNKNOWN; i++)
    if (strcmp(name, TYPE_NAMES[i]) == 0)
      return (lh_type_id)i;
  return LH_TYPE_UNKNOWN;
}

/* ---- small helpers ----------------------------------------------------------------------- */
typedef struct loader {
  lh_model *m;
  lh__arena *a;
  lh_error *err;
  json_t *root;
} loader;

static const char *adup(loader *L, const char *s) {
  return s ? lh__arena_strndup(L->a, s, strlen(s)) : NULL;
}

static const char *jstr(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jbool(json_t *obj, const char *key) {
  return json_is_true(json_object_get(obj, key));
}

static int cmp_schema_name(const void *a, const void *b) {
  return strcmp((*(const lh_schema *const *)a)->name, (*(const lh_schema *const *)b)->name);
}

static int cmp_prop_name(const void *a, const void *b) {
  return strcmp((*(const lh_property *const *)a)->name, (*(const lh_property *const *)b)->name);
}

static int key_cmp(const void *key, const void *elem) {
  return strcmp((const char *)key, (*(const lh_schema *const *)elem)->name);
}

/* ---- lookups ------------------------------------------------------------------------------ */
size_t lh_model_schema_count(const lh_model *m) {
  return m->nschemata;
}

const lh_schema *lh_model_schema_at(const lh_model *m, size_t i) {
  return i < m->nschemata ? &m->schemata[i] : NULL;
}

const lh_schema *lh_model_schema(const lh_model *m, const char *name) {
  if (!name)
    return NULL;
  const lh_schema *const *hit =
      bsearch(name, m->by_name, m->nschemata, sizeof *m->by_name, key_cmp);
  return hit ? *hit : NULL;
}

const lh_type *lh_model_type(const lh_model *m, const char *name) {
  for (size_t i = 0; i < m->ntypes; i++)
    if (strcmp(m->types[i].name, name) == 0)
      return &m->types[i];
  return NULL;
}

const lh_type *lh_model_type_by_id(const lh_model *m, lh_type_id id) {
  for (size_t i = 0; i < m->ntypes; i++)
    if (m->types[i].id == id)
      return &m->types[i];
  return NULL;
}

const lh_property *lh_schema_property_n(const lh_schema *s, const char *name, size_t len) {
  size_t lo = 0, hi = s->nproperties;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const char *pn = s->properties[mid]->name;
    int c = strncmp(pn, name, len);
    if (c == 0 && pn[len] != '\0')
      c = 1;
    if (c == 0)
      return s->properties[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const lh_property *lh_schema_property(const lh_schema *s, const char *name) {
  return name ? lh_schema_property_n(s, name, strlen(name)) : NULL;
}

const lh_property *lh_model_qualified_property(const lh_model *m, const char *qname) {
  const char *colon = qname ? strchr(qname, ':') : NULL;
  if (!colon || colon - qname >= 128)
    return NULL;
  char schema[128];
  memcpy(schema, qname, (size_t)(colon - qname));
  schema[colon - qname] = '\0';
  const lh_schema *s = lh_model_schema(m, schema);
  return s ? lh_schema_property(s, colon + 1) : NULL;
}

bool lh_schema_is_a(const lh_schema *s, const lh_schema *other) {
  if (!s || !other)
    return false;
  return (s->isa[other->index / 64] >> (other->index % 64)) & 1;
}

const lh_schema *lh_schema_common(const lh_schema *a, const lh_schema *b) {
  if (lh_schema_is_a(a, b))
    return a;
  if (lh_schema_is_a(b, a))
    return b;
  return NULL;
}

const lh_schema *lh_schema_common_ancestor(const lh_schema *a, const lh_schema *b) {
  const lh_schema *c = lh_schema_common(a, b);
  if (c)
    return c;
  /* the shared ancestor with the most ancestors of its own is the most specific one */
  const lh_schema *best = NULL;
  for (size_t i = 0; i < a->nschemata; i++) {
    const lh_schema *cand = a->schemata[i];
    if (lh_schema_is_a(b, cand) &&
        (!best || cand->nschemata > best->nschemata ||
         (cand->nschemata == best->nschemata && strcmp(cand->name, best->name) < 0)))
      best = cand;
  }
  return best;
}

const char *lh_type_value_label(const lh_type *t, const char *code) {
  if (!t || !code || !t->nvalues)
    return NULL;
  const char *const *hit = bsearch(&code, t->codes, t->nvalues, sizeof *t->codes, lh__cmp_strp);
  return hit ? t->labels[hit - t->codes] : NULL;
}

/* ---- loading ------------------------------------------------------------------------------ */
static int load_types(loader *L) {
  json_t *types = json_object_get(L->root, "types");
  if (!json_is_object(types))
    return lh_error_set(L->err, LH_EPARSE, "FtM model: missing 'types' object");
  size_t n = json_object_size(types);
  lh_type *arr = lh__arena_alloc(L->a, (n ? n : 1) * sizeof *arr);
  if (!arr)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  memset(arr, 0, (n ? n : 1) * sizeof *arr);
  size_t i = 0;
  const char *name;
  json_t *spec;
  json_object_foreach(types, name, spec) {
    lh_type *t = &arr[i++];
    t->id = type_id_of(name);
    t->model = L->m;
    t->name = adup(L, name);
    t->label = adup(L, jstr(spec, "label") ? jstr(spec, "label") : name);
    t->plural = adup(L, jstr(spec, "plural") ? jstr(spec, "plural") : t->label);
    t->group = adup(L, jstr(spec, "group"));
    json_t *ml = json_object_get(spec, "maxLength");
    t->max_length = json_is_integer(ml) ? (int)json_integer_value(ml) : 0;
    t->matchable = jbool(spec, "matchable");
    t->pivot = jbool(spec, "pivot");
    json_t *values = json_object_get(spec, "values");
    if (json_is_object(values) && json_object_size(values)) {
      size_t nv = json_object_size(values);
      const char **codes = lh__arena_alloc(L->a, nv * sizeof *codes);
      const char **labels = lh__arena_alloc(L->a, nv * sizeof *labels);
      if (!codes || !labels)
        return lh_error_set(L->err, LH_ENOMEM, "out of memory");
      size_t k = 0;
      const char *code;
      json_t *label;
      json_object_foreach(values, code, label) codes[k++] = adup(L, code);
      lh__qsort(codes, nv, sizeof *codes, lh__cmp_strp);
      for (k = 0; k < nv; k++) {
        json_t *lv = json_object_get(values, codes[k]);
        labels[k] = adup(L, json_is_string(lv) ? json_string_value(lv) : codes[k]);
      }
      t->nvalues = nv;
      t->codes = codes;
      t->labels = labels;
    }
  }
  L->m->types = arr;
  L->m->ntypes = n;
  return 0;
}

/* Per-schema scratch used while resolving. */
typedef struct sinfo {
  json_t *spec;
  lh_property **own;
  size_t nown;
  int state; /* 0 = unresolved, 1 = resolving, 2 = done */
  const lh_property **all;
  size_t nall;
} sinfo;

static const lh_property *find_in(const lh_property **arr, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(arr[i]->name, name) == 0)
      return arr[i];
  return NULL;
}

/* Properties of s: its own, then each parent's (in extends order) not yet defined. */
static int resolve_props(loader *L, sinfo *info, lh_schema *s) {
  sinfo *si = &info[s->index];
  if (si->state == 2)
    return 0;
  if (si->state == 1)
    return lh_error_set(L->err, LH_EPARSE, "FtM model: inheritance cycle at schema '%s'", s->name);
  si->state = 1;
  size_t cap = si->nown;
  for (size_t i = 0; i < s->nextends; i++) {
    lh_schema *p = (lh_schema *)s->extends[i];
    int rc = resolve_props(L, info, p);
    if (rc)
      return rc;
    cap += info[p->index].nall;
  }
  const lh_property **all = lh__arena_alloc(L->a, (cap ? cap : 1) * sizeof *all);
  if (!all)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < si->nown; i++)
    all[n++] = si->own[i];
  for (size_t i = 0; i < s->nextends; i++) {
    sinfo *pi = &info[s->extends[i]->index];
    for (size_t k = 0; k < pi->nall; k++)
      if (!find_in(all, n, pi->all[k]->name))
        all[n++] = pi->all[k];
  }
  lh__qsort(all, n, sizeof *all, cmp_prop_name);
  si->all = all;
  si->nall = n;
  si->state = 2;
  return 0;
}

static int collect_ancestors(lh_schema *s, const lh_schema **out, size_t *n, size_t max,
                             int depth) {
  if (depth > 64)
    return LH_EPARSE;
  for (size_t i = 0; i < s->nextends; i++) {
    const lh_schema *p = s->extends[i];
    bool seen = false;
    for (size_t k = 0; k < *n; k++)
      seen |= out[k] == p;
    if (!seen && *n < max)
      out[(*n)++] = p;
    if (collect_ancestors((lh_schema *)p, out, n, max, depth + 1))
      return LH_EPARSE;
  }
  return 0;
}

static int prop_list(loader *L, lh_schema *s, json_t *arr, const char *what,
                     const lh_property *const **out, size_t *nout) {
  *out = NULL;
  *nout = 0;
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return 0;
  size_t n = json_array_size(arr);
  const lh_property **props = lh__arena_alloc(L->a, n * sizeof *props);
  if (!props)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name = json_string_value(json_array_get(arr, i));
    const lh_property *p = name ? lh_schema_property(s, name) : NULL;
    if (!p)
      return lh_error_set(L->err, LH_EPARSE,
                          "FtM model: schema '%s' %s names unknown property '%s'", s->name, what,
                          name ? name : "(non-string)");
    props[k++] = p;
  }
  *out = props;
  *nout = k;
  return 0;
}

/* One property of schema s from its spec. */
static int load_property(loader *L, lh_schema *s, const char *pname, json_t *pspec,
                         lh_property **out) {
  lh_property *p = lh__arena_alloc(L->a, sizeof *p);
  if (!p)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  memset(p, 0, sizeof *p);
  const char *tname = jstr(pspec, "type") ? jstr(pspec, "type") : "string";
  p->type = lh_model_type(L->m, tname);
  if (!p->type)
    return lh_error_set(L->err, LH_EPARSE, "FtM model: property '%s:%s' has unknown type '%s'",
                        s->name, pname, tname);
  p->name = adup(L, pname);
  p->name_len = strlen(pname);
  char *qn = NULL;
  if (asprintf(&qn, "%s:%s", s->name, pname) < 0)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  p->qname = adup(L, jstr(pspec, "qname") ? jstr(pspec, "qname") : qn);
  free(qn);
  p->label = adup(L, jstr(pspec, "label") ? jstr(pspec, "label") : pname);
  p->description = adup(L, jstr(pspec, "description"));
  p->format = adup(L, jstr(pspec, "format"));
  p->schema = s;
  json_t *ml = json_object_get(pspec, "maxLength");
  p->max_length = json_is_integer(ml) ? (int)json_integer_value(ml) : p->type->max_length;
  p->stub = jbool(pspec, "stub");
  json_t *mt = json_object_get(pspec, "matchable");
  p->matchable = json_is_boolean(mt) ? json_is_true(mt) : p->type->matchable;
  p->hidden = jbool(pspec, "hidden");
  p->deprecated = jbool(pspec, "deprecated");
  *out = p;
  return 0;
}

/* Pass 1 for one schema: scalar fields and own properties. */
static int load_schema(loader *L, lh_schema *s, const char *name, json_t *spec, sinfo *info,
                       size_t words) {
  if (!json_is_object(spec))
    return lh_error_set(L->err, LH_EPARSE, "FtM model: schema '%s' is not an object", name);
  info->spec = spec;
  s->name = adup(L, name);
  s->name_len = strlen(name);
  s->label = adup(L, jstr(spec, "label") ? jstr(spec, "label") : name);
  s->plural = adup(L, jstr(spec, "plural") ? jstr(spec, "plural") : s->label);
  s->description = adup(L, jstr(spec, "description"));
  s->abstract = jbool(spec, "abstract");
  s->matchable = jbool(spec, "matchable");
  s->hidden = jbool(spec, "hidden");
  s->generated = jbool(spec, "generated");
  s->deprecated = jbool(spec, "deprecated");
  uint64_t *isa = lh__arena_alloc(L->a, words * sizeof *isa);
  if (!isa)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  memset(isa, 0, words * sizeof *isa);
  s->isa = isa;

  json_t *props = json_object_get(spec, "properties");
  size_t np = json_is_object(props) ? json_object_size(props) : 0;
  info->own = lh__arena_alloc(L->a, (np ? np : 1) * sizeof *info->own);
  if (!info->own)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  for (void *it = np ? json_object_iter(props) : NULL; it; it = json_object_iter_next(props, it)) {
    int rc = load_property(L, s, json_object_iter_key(it), json_object_iter_value(it),
                           &info->own[info->nown]);
    if (rc)
      return rc;
    info->nown++;
  }
  return 0;
}

/* Pass 2 for one schema: its parents. */
static int link_parents(loader *L, lh_schema *s, const sinfo *info) {
  json_t *ext = json_object_get(info->spec, "extends");
  size_t ne = json_is_array(ext) ? json_array_size(ext) : 0;
  const lh_schema **parents = lh__arena_alloc(L->a, (ne ? ne : 1) * sizeof *parents);
  if (!parents)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  for (size_t e = 0; e < ne; e++) {
    const char *pn = json_string_value(json_array_get(ext, e));
    parents[e] = lh_model_schema(L->m, pn);
    if (!parents[e])
      return lh_error_set(L->err, LH_EPARSE, "FtM model: schema '%s' extends unknown schema '%s'",
                          s->name, pn ? pn : "(non-string)");
  }
  s->extends = parents;
  s->nextends = ne;
  return 0;
}

/* Pass 3 for one schema: ancestors, its is-a bitset, inherited properties. */
static int link_ancestors(loader *L, lh_schema *s, sinfo *info, size_t n) {
  const lh_schema **anc = lh__arena_alloc(L->a, n * sizeof *anc);
  if (!anc)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  size_t na = 0;
  anc[na++] = s;
  if (collect_ancestors(s, anc, &na, n, 0))
    return lh_error_set(L->err, LH_EPARSE, "FtM model: inheritance cycle at schema '%s'", s->name);
  lh__qsort(anc, na, sizeof *anc, cmp_schema_name);
  s->schemata = anc;
  s->nschemata = na;
  uint64_t *isa = (uint64_t *)s->isa;
  for (size_t a = 0; a < na; a++)
    isa[anc[a]->index / 64] |= (uint64_t)1 << (anc[a]->index % 64);
  return resolve_props(L, info, s);
}

/* Pass 4 for one schema: its descendants among the n schemata of arr. */
static int link_descendants(loader *L, lh_schema *s, const lh_schema *arr, size_t n) {
  const lh_schema **desc = lh__arena_alloc(L->a, n * sizeof *desc);
  if (!desc)
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  size_t nd = 0;
  for (size_t j = 0; j < n; j++)
    if (&arr[j] != s && lh_schema_is_a(&arr[j], s))
      desc[nd++] = &arr[j];
  s->descendants = desc;
  s->ndescendants = nd;
  return 0;
}

/* Pass 5 for one schema: its statement bucket, property lists, edge, the ranges and reverses
 * of its own properties. */
static int link_schema(loader *L, lh_schema *s, const sinfo *info) {
  const lh_model *m = L->m;
  json_t *spec = info->spec;
  s->bucket = lh_schema_is_a(s, lh_model_schema(m, "Page"))       ? LH_BUCKET_PAGE
              : lh_schema_is_a(s, lh_model_schema(m, "Mention"))  ? LH_BUCKET_MENTION
              : lh_schema_is_a(s, lh_model_schema(m, "Pages"))    ? LH_BUCKET_PAGES
              : lh_schema_is_a(s, lh_model_schema(m, "Document")) ? LH_BUCKET_DOCUMENT
              : lh_schema_is_a(s, lh_model_schema(m, "Interval")) ? LH_BUCKET_INTERVAL
                                                                  : LH_BUCKET_THING;
  json_t *te = json_object_get(spec, "temporalExtent");
  int rc;
  if ((rc = prop_list(L, s, json_object_get(spec, "caption"), "caption", &s->caption,
                      &s->ncaption)) ||
      (rc = prop_list(L, s, json_object_get(spec, "featured"), "featured", &s->featured,
                      &s->nfeatured)) ||
      (rc = prop_list(L, s, json_object_get(spec, "required"), "required", &s->required,
                      &s->nrequired)) ||
      (rc = prop_list(L, s, json_object_get(te, "start"), "temporalExtent", &s->temporal_start,
                      &s->ntemporal_start)) ||
      (rc = prop_list(L, s, json_object_get(te, "end"), "temporalExtent", &s->temporal_end,
                      &s->ntemporal_end)))
    return rc;
  json_t *edge = json_object_get(spec, "edge");
  if (json_is_object(edge)) {
    s->edge_source = lh_schema_property(s, jstr(edge, "source"));
    s->edge_target = lh_schema_property(s, jstr(edge, "target"));
    s->edge_label = adup(L, jstr(edge, "label"));
    json_t *dir = json_object_get(edge, "directed");
    s->edge_directed = json_is_boolean(dir) ? json_is_true(dir) : true;
    if (!s->edge_source || !s->edge_target)
      return lh_error_set(L->err, LH_EPARSE, "FtM model: schema '%s' has an invalid edge", s->name);
  }
  json_t *props = json_object_get(spec, "properties");
  for (size_t p = 0; p < info->nown; p++) {
    lh_property *prop = info->own[p];
    json_t *pspec = json_object_get(props, prop->name);
    const char *range = jstr(pspec, "range");
    if (!range)
      continue;
    prop->range = lh_model_schema(m, range);
    if (!prop->range)
      return lh_error_set(L->err, LH_EPARSE, "FtM model: property '%s' has unknown range '%s'",
                          prop->qname, range);
    const char *rev = jstr(pspec, "reverse");
    prop->reverse = rev ? lh_schema_property(prop->range, rev) : NULL;
  }
  return 0;
}

static int load_schemata(loader *L) {
  lh_model *m = L->m;
  json_t *schemata = json_object_get(L->root, "schemata");
  if (!json_is_object(schemata) || json_object_size(schemata) == 0)
    return lh_error_set(L->err, LH_EPARSE, "FtM model: missing 'schemata' object");
  size_t n = json_object_size(schemata);
  const char **names = calloc(n, sizeof *names);
  sinfo *info = calloc(n, sizeof *info);
  lh_schema *arr = lh__arena_alloc(L->a, n * sizeof *arr);
  const lh_schema **by_name = lh__arena_alloc(L->a, n * sizeof *by_name);
  if (!names || !info || !arr || !by_name) {
    free(names);
    free(info);
    return lh_error_set(L->err, LH_ENOMEM, "out of memory");
  }
  size_t k = 0;
  const char *name;
  json_t *spec;
  json_object_foreach(schemata, name, spec) names[k++] = name;
  lh__qsort(names, n, sizeof *names, lh__cmp_strp);
  memset(arr, 0, n * sizeof *arr);
  m->schemata = arr;
  m->by_name = by_name;
  m->nschemata = n;
  for (size_t i = 0; i < n; i++) {
    by_name[i] = &arr[i];
    arr[i].index = (int)i;
  }

  int rc = 0;
  size_t words = (n + 63) / 64;
  for (size_t i = 0; !rc && i < n; i++)
    rc = load_schema(L, &arr[i], names[i], json_object_get(schemata, names[i]), &info[i], words);
  for (size_t i = 0; !rc && i < n; i++)
    rc = link_parents(L, &arr[i], &info[i]);
  for (size_t i = 0; !rc && i < n; i++)
    rc = link_ancestors(L, &arr[i], info, n);
  for (size_t i = 0; !rc && i < n; i++) {
    arr[i].properties = info[i].all;
    arr[i].nproperties = info[i].nall;
  }
  for (size_t i = 0; !rc && i < n; i++)
    rc = link_descendants(L, &arr[i], arr, n);
  for (size_t i = 0; !rc && i < n; i++)
    rc = link_schema(L, &arr[i], &info[i]);
  free(names);
  free(info);
  return rc;
}

int lh_model_load(const char *json, size_t len, lh_model **out, lh_error *err) {
  *out = NULL;
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return lh_error_set(err, LH_EPARSE, "FtM model: invalid JSON at line %d column %d: %s",
                        jerr.line, jerr.column, jerr.text);
  lh_model *m = calloc(1, sizeof *m);
  if (!m) {
    json_decref(root);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  lh__arena_init(&m->arena, 256 * 1024, 0);
  loader L = {m, &m->arena, err, root};
  int rc = load_types(&L);
  if (rc == 0)
    rc = load_schemata(&L);
  if (rc == 0)
    rc = lh__model_country_index(m, err);
  json_decref(root);
  if (rc) {
    lh_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int lh_model_load_file(const char *path, lh_model **out, lh_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return lh_error_errno(err, errno, "cannot open FtM model '%s'", path);
  lh_buf b = LH_BUF_INIT;
  char chunk[65536];
  size_t n;
  int rc = 0;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if ((rc = lh_buf_append(&b, chunk, n)) != 0)
      break;
  if (!rc && ferror(f))
    rc = lh_error_set(err, LH_EIO, "cannot read FtM model '%s'", path);
  else if (rc)
    lh_error_set(err, rc, "cannot read FtM model '%s'", path);
  fclose(f);
  if (rc == 0) {
    rc = lh_model_load(b.data ? b.data : "", b.len, out, err);
    if (rc)
      lh_error_prefix(err, rc, "%s", path);
  }
  lh_buf_free(&b);
  return rc;
}

void lh_model_free(lh_model *m) {
  if (!m)
    return;
  lh__model_territories_free(m);
  lh__arena_free(&m->arena);
  free(m);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static lh_model *default_model;
static lh_error default_err;

static void load_default(void) {
  const char *path = getenv("LAKEHOUSE_FTM_MODEL");
  if (path && *path) {
    lh_model_load_file(path, &default_model, &default_err);
  } else {
    size_t len;
    const char *json = lh_model_embedded_json(&len);
    lh_model_load(json, len, &default_model, &default_err);
  }
  if (default_model)
    lh__model_territories_load_env(default_model);
}

static void *prefetch_main(void *arg) {
  (void)arg;
  pthread_once(&default_once, load_default);
  return NULL;
}

void lh_model_prefetch(void) {
  static atomic_flag started = ATOMIC_FLAG_INIT;
  if (atomic_flag_test_and_set(&started))
    return;
  pthread_attr_t attr;
  pthread_t t;
  if (pthread_attr_init(&attr) != 0)
    return;
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  (void)pthread_create(&t, &attr, prefetch_main, NULL); /* refused: loaded on first use */
  pthread_attr_destroy(&attr);
}

const lh_model *lh_model_default(lh_error *err) {
  pthread_once(&default_once, load_default);
  if (!default_model && err)
    *err = default_err;
  return default_model;
}
