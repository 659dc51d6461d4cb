/* lh_entity: an FtM entity with ordered, de-duplicated property values and the context
 * keys of statement-based entity JSON. All strings live in the entity's arena. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/array.h"
#include "core/json_reader.h"
#include "core/sort.h"
#include "core/text.h"
#include "ftm/entity_internal.h"
#include "lakehouse/entity.h"

int lh_entity_new(const lh_model *model, lh_entity **out, lh_error *err) {
  assert(model);
  lh_entity *e = calloc(1, sizeof *e);
  *out = e;
  if (!e)
    return lh_error_nomem(err);
  e->model = model;
  lh__arena_init(&e->arena, 64 * 1024, 0);
  e->target = -1;
  lh_buf_init(&e->scratch, 0);
  return 0;
}

static void free_indexes(lh_entity *e) {
  for (size_t i = 0; i < e->props_cap_used; i++) {
    free(e->props[i].ht);
    e->props[i].ht = NULL;
    e->props[i].ht_cap = 0;
  }
}

void lh_entity_reset(lh_entity *e) {
  e->nprops = 0; /* slots (and their hash index memory) are reused */
  e->id = NULL;
  e->schema = NULL;
  memset(e->meta, 0, sizeof e->meta);
  memset(e->lists, 0, sizeof e->lists);
  e->target = -1;
  e->nextras = 0;
  lh__arena_reset(&e->arena);
}

void lh_entity_set_drops(lh_entity *e, lh_drops *d) {
  e->drops = d;
}

lh_drops *lh_entity_drops(const lh_entity *e) {
  return e->drops;
}

/* May this be dropped (counted) instead of failing? */
static bool lenient(const lh_entity *e) {
  return e->drops && !e->drops->strict;
}

void lh_drops_note(lh_drops *d, lh_drop why, const char *what, size_t len, uint64_t count) {
  if (!d || why >= LH_DROP_COUNT || count == 0)
    return;
  if (d->n[why] == 0) {
    d->first_line[why] = d->line;
    if (what)
      lh__printable(what, len, d->first[why], sizeof d->first[why]);
  }
  d->n[why] += count;
}

uint64_t lh_drops_total(const lh_drops *d) {
  uint64_t t = 0;
  for (int i = 0; d && i < LH_DROP_COUNT; i++)
    t += d->n[i];
  return t;
}

int lh_drops_describe(const lh_drops *d, lh_drop why, lh_buf *out) {
  static const char *const WHAT[LH_DROP_COUNT] = {"skipped %llu entities without an id",
                                                  "skipped %llu entities without a schema",
                                                  "skipped %llu entities with an invalid id",
                                                  "dropped %llu values of unknown properties",
                                                  "dropped %llu invalid entity references",
                                                  "skipped %llu rows without entity_id",
                                                  "skipped %llu rows without prop"};
  if (!d || why >= LH_DROP_COUNT || d->n[why] == 0)
    return 0;
  /* "verb N noun...": the number goes after the first word */
  const char *what = WHAT[why], *sp = strchr(what, ' '), *rest = strchr(sp + 1, ' ');
  int rc = lh_buf_printf(out, "%.*s %llu%s", (int)(sp - what), what, (unsigned long long)d->n[why],
                         rest);
  if (!rc && d->first_line[why])
    rc = lh_buf_printf(out, " (first: line %llu", (unsigned long long)d->first_line[why]);
  else if (!rc && d->first[why][0])
    rc = lh_buf_puts(out, " (first:");
  if (!rc && d->first[why][0])
    rc = lh_buf_printf(out, " '%s'", d->first[why]);
  if (!rc && (d->first_line[why] || d->first[why][0]))
    rc = lh_buf_putc(out, ')');
  return rc;
}

void lh_entity_free(lh_entity *e) {
  if (!e)
    return;
  free_indexes(e);
  free(e->props);
  free(e->extras);
  lh__arena_free(&e->arena);
  lh__json_parser_free(e->parser);
  lh_buf_free(&e->scratch);
  free(e);
}

const lh_model *lh_entity_model(const lh_entity *e) {
  return e->model;
}
const char *lh_entity_id(const lh_entity *e) {
  return e->id;
}
const lh_schema *lh_entity_schema(const lh_entity *e) {
  return e->schema;
}
void lh_entity_set_schema(lh_entity *e, const lh_schema *schema) {
  e->schema = schema;
}
int lh_entity_target(const lh_entity *e) {
  return e->target;
}
void lh_entity_set_target(lh_entity *e, int target) {
  e->target = target;
}

int lh_entity_set_id(lh_entity *e, const char *id, size_t len, lh_error *err) {
  char pb[96];
  if (!id || !lh_entity_id_valid(id, len))
    return lh_error_set(err, LH_EINVAL, "invalid entity id '%s' (field 'id')",
                        id ? lh__printable(id, len, pb, sizeof pb) : "(null)");
  const char *copy = lh__arena_strndup(&e->arena, id, len);
  if (!copy)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  e->id = copy;
  return 0;
}

/* ---- property values ---------------------------------------------------------------------- */

/* FNV-1a over the length and at most the first and last 32 bytes: long texts are not
 * walked twice just to be de-duplicated. */
static uint32_t hash_value(const char *s, uint32_t len) {
  uint32_t h = 2166136261u ^ len;
  uint32_t head = len < 64 ? len : 32;
  for (uint32_t i = 0; i < head; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  for (uint32_t i = len < 64 ? len : len - 32; i < len; i++)
    h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

static int index_build(eprop *ep) {
  uint32_t cap = 64;
  while (cap < ep->n * 2 + 2)
    cap *= 2;
  if (cap > ep->ht_cap) {
    uint32_t *ht = realloc(ep->ht, cap * sizeof *ht);
    if (!ht)
      return LH_ENOMEM;
    ep->ht = ht;
    ep->ht_cap = cap;
  }
  cap = ep->ht_cap;
  memset(ep->ht, 0, cap * sizeof *ep->ht);
  for (uint32_t i = 0; i < ep->n; i++) {
    uint32_t h = hash_value(ep->values[i], ep->lens[i]) & (cap - 1);
    while (ep->ht[h])
      h = (h + 1) & (cap - 1);
    ep->ht[h] = i + 1;
  }
  ep->indexed = true;
  return 0;
}

static bool has_value(const eprop *ep, const char *v, uint32_t len) {
  if (!ep->indexed) {
    for (uint32_t i = 0; i < ep->n; i++)
      if (ep->lens[i] == len && memcmp(ep->values[i], v, len) == 0)
        return true;
    return false;
  }
  uint32_t h = hash_value(v, len) & (ep->ht_cap - 1);
  while (ep->ht[h]) {
    uint32_t k = ep->ht[h] - 1;
    if (ep->lens[k] == len && memcmp(ep->values[k], v, len) == 0)
      return true;
    h = (h + 1) & (ep->ht_cap - 1);
  }
  return false;
}

static eprop *find_prop(lh_entity *e, const lh_property *p, bool create) {
  for (size_t i = 0; i < e->nprops; i++)
    if (e->props[i].prop == p)
      return &e->props[i];
  if (!create)
    return NULL;
  if (LH_ARRAY_RESERVE(e->props, e->props_cap, e->nprops + 1, 16))
    return NULL;
  if (e->nprops == e->props_cap_used) {
    memset(&e->props[e->nprops], 0, sizeof *e->props);
    e->props_cap_used++;
  }
  eprop *ep = &e->props[e->nprops++];
  ep->prop = p;
  ep->values = NULL;
  ep->lens = NULL;
  ep->n = ep->cap = 0;
  ep->indexed = false; /* ht / ht_cap survive from an earlier entity */
  return ep;
}

/* Append an arena string (already owned by e) of len bytes to a property. */
static int append_value(lh_entity *e, const lh_property *p, const char *v, size_t len) {
  if (len > UINT32_MAX)
    return LH_ELIMIT;
  eprop *ep = find_prop(e, p, true);
  if (!ep)
    return LH_ENOMEM;
  if (has_value(ep, v, (uint32_t)len))
    return 0;
  if (ep->n == ep->cap) {
    uint32_t cap = ep->cap ? ep->cap * 2 : 4;
    const char **nv = lh__arena_alloc(&e->arena, cap * sizeof *nv);
    uint32_t *nl = lh__arena_alloc(&e->arena, cap * sizeof *nl);
    if (!nv || !nl)
      return LH_ENOMEM;
    if (ep->n) {
      memcpy(nv, ep->values, ep->n * sizeof *nv);
      memcpy(nl, ep->lens, ep->n * sizeof *nl);
    }
    ep->values = nv;
    ep->lens = nl;
    ep->cap = cap;
  }
  ep->values[ep->n] = v;
  ep->lens[ep->n] = (uint32_t)len;
  ep->n++;
  if (ep->indexed) {
    if (ep->n * 2 > ep->ht_cap) {
      if (index_build(ep))
        return LH_ENOMEM;
    } else {
      uint32_t h = hash_value(v, (uint32_t)len) & (ep->ht_cap - 1);
      while (ep->ht[h])
        h = (h + 1) & (ep->ht_cap - 1);
      ep->ht[h] = ep->n;
    }
  } else if (ep->n >= LH__ENTITY_HASH_THRESHOLD && index_build(ep)) {
    return LH_ENOMEM;
  }
  return 1;
}

static int check_writable(const lh_entity *e, const lh_property *p, lh_error *err) {
  if (p->stub)
    return lh_error_set(err, LH_EINVAL,
                        "property '%s:%s' is a reverse (stub) property and cannot be written",
                        e->schema ? e->schema->name : "?", p->name);
  return 0;
}

int lh_entity_add_property(lh_entity *e, const lh_property *p, const char *value, size_t len,
                           unsigned flags, lh_error *err) {
  int rc = check_writable(e, p, err);
  if (rc)
    return rc;
  if (!value || len == 0)
    return 0;
  const char *v;
  size_t vlen;
  if (flags & LH_ADD_CLEAN) {
    size_t ncountries = 0;
    const char *const *countries = NULL;
    if (p->type->id == LH_TYPE_PHONE) {
      /* country-typed values of the entity are region hints for phone numbers */
      for (size_t i = 0; i < e->nprops && !countries; i++)
        if (e->props[i].prop->type->id == LH_TYPE_COUNTRY && e->props[i].n) {
          countries = e->props[i].values;
          ncountries = e->props[i].n;
        }
    }
    lh_clean_opts opts = {p->format, countries, ncountries};
    rc = lh_type_clean(p->type, value, len, &opts, &e->scratch);
    if (rc <= 0)
      return rc < 0 ? lh_error_set(err, rc, "cannot clean a value of '%s'", p->qname) : 0;
    v = lh__arena_strndup(&e->arena, e->scratch.data, e->scratch.len);
    vlen = e->scratch.len;
  } else {
    v = lh__arena_strndup(&e->arena, value, len);
    vlen = len;
  }
  if (!v)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  if (p->type->id == LH_TYPE_ENTITY && e->id && strcmp(v, e->id) == 0)
    return 0; /* FtM skips self-relationships quietly */
  rc = append_value(e, p, v, vlen);
  return rc < 0 ? lh_error_set(err, rc, rc == LH_ELIMIT ? "value too large" : "out of memory") : rc;
}

int lh_entity_add(lh_entity *e, const char *prop, const char *value, size_t len, unsigned flags,
                  lh_error *err) {
  if (!e->schema)
    return lh_error_set(err, LH_EINVAL, "entity has no schema");
  const lh_property *p = lh_schema_property(e->schema, prop);
  if (!p)
    return lh_error_set(err, LH_EINVAL, "unknown property '%s:%s'", e->schema->name, prop);
  return lh_entity_add_property(e, p, value, len, flags, err);
}

size_t lh_entity_property_count(const lh_entity *e) {
  return e->nprops;
}

const lh_property *lh_entity_property_at(const lh_entity *e, size_t i, const char *const **values,
                                         size_t *nvalues) {
  if (i >= e->nprops)
    return NULL;
  if (values)
    *values = e->props[i].values;
  if (nvalues)
    *nvalues = e->props[i].n;
  return e->props[i].prop;
}

const char *const *lh_entity_values(const lh_entity *e, const char *prop, size_t *n) {
  for (size_t i = 0; i < e->nprops; i++)
    if (strcmp(e->props[i].prop->name, prop) == 0) {
      *n = e->props[i].n;
      return e->props[i].values;
    }
  *n = 0;
  return NULL;
}

size_t lh_entity_value_count(const lh_entity *e) {
  size_t n = 0;
  for (size_t i = 0; i < e->nprops; i++)
    n += e->props[i].n;
  return n;
}

/* ---- context keys --------------------------------------------------------------------------- */

const char *lh_entity_meta(const lh_entity *e, lh_meta_str field) {
  return (unsigned)field < LH_META_STR_COUNT ? e->meta[field] : NULL;
}

int lh_entity_set_meta(lh_entity *e, lh_meta_str field, const char *value) {
  if ((unsigned)field >= LH_META_STR_COUNT)
    return LH_EINVAL;
  if (!value) {
    e->meta[field] = NULL;
    return 0;
  }
  const char *v = lh__arena_strndup(&e->arena, value, strlen(value));
  if (!v)
    return LH_ENOMEM;
  e->meta[field] = v;
  return 0;
}

const char *const *lh_entity_meta_list(const lh_entity *e, lh_meta_list field, size_t *n) {
  if ((unsigned)field >= LH_META_LIST_COUNT) {
    *n = 0;
    return NULL;
  }
  *n = e->lists[field].n;
  return e->lists[field].items;
}

static int list_add(lh_entity *e, strlist *l, const char *value, bool copy) {
  l->present = true;
  for (uint32_t i = 0; i < l->n; i++)
    if (strcmp(l->items[i], value) == 0)
      return 0;
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 4;
    const char **ni = lh__arena_alloc(&e->arena, cap * sizeof *ni);
    if (!ni)
      return LH_ENOMEM;
    if (l->n)
      memcpy(ni, l->items, l->n * sizeof *ni);
    l->items = ni;
    l->cap = cap;
  }
  const char *v = copy ? lh__arena_strndup(&e->arena, value, strlen(value)) : value;
  if (!v)
    return LH_ENOMEM;
  l->items[l->n++] = v;
  return 1;
}

int lh_entity_add_meta(lh_entity *e, lh_meta_list field, const char *value) {
  if ((unsigned)field >= LH_META_LIST_COUNT)
    return LH_EINVAL;
  if (!value) {
    e->lists[field].present = true;
    return 0;
  }
  int rc = list_add(e, &e->lists[field], value, true);
  return rc < 0 ? rc : 0;
}

const char *lh_entity_caption(const lh_entity *e) {
  if (!e->schema)
    return NULL;
  for (size_t c = 0; c < e->schema->ncaption; c++) {
    const eprop *ep = NULL;
    for (size_t i = 0; i < e->nprops && !ep; i++)
      if (e->props[i].prop == e->schema->caption[c] ||
          strcmp(e->props[i].prop->name, e->schema->caption[c]->name) == 0)
        ep = &e->props[i];
    if (ep && ep->n) {
      const char *best = ep->values[0];
      for (uint32_t i = 1; i < ep->n; i++)
        if (strcmp(ep->values[i], best) < 0)
          best = ep->values[i];
      return best;
    }
  }
  return e->schema->label;
}

/* ---- merge ---------------------------------------------------------------------------------- */

static bool ts_before(const char *a, const char *b) {
  return strcmp(a, b) < 0;
}

int lh_entity_merge(lh_entity *e, const lh_entity *o, lh_error *err) {
  int rc;
  if (!e->id && o->id && (rc = lh_entity_set_id(e, o->id, strlen(o->id), err)))
    return rc;
  if (o->schema) {
    const lh_schema *s = e->schema ? lh_schema_common(e->schema, o->schema) : o->schema;
    if (!s)
      return lh_error_set(err, LH_EINVAL,
                          "cannot merge entity '%s': schemata %s and %s are unrelated",
                          e->id ? e->id : "?", e->schema->name, o->schema->name);
    e->schema = s;
  }
  for (size_t i = 0; i < o->nprops; i++) {
    const eprop *op = &o->props[i];
    const lh_property *p = e->schema ? lh_schema_property(e->schema, op->prop->name) : op->prop;
    if (!p || p->stub)
      continue;
    for (uint32_t k = 0; k < op->n; k++) {
      rc = lh_entity_add_property(e, p, op->values[k], strlen(op->values[k]), 0, err);
      if (rc < 0)
        return rc;
    }
  }
  for (int l = 0; l < LH_META_LIST_COUNT; l++)
    for (uint32_t k = 0; k < o->lists[l].n; k++)
      if ((rc = list_add(e, &e->lists[l], o->lists[l].items[k], true)) < 0)
        return lh_error_set(err, rc, "out of memory");
  const char *fs = o->meta[LH_META_FIRST_SEEN];
  if (fs && (!e->meta[LH_META_FIRST_SEEN] || ts_before(fs, e->meta[LH_META_FIRST_SEEN])))
    lh_entity_set_meta(e, LH_META_FIRST_SEEN, fs);
  const lh_meta_str maxed[] = {LH_META_LAST_SEEN, LH_META_LAST_CHANGE};
  for (int k = 0; k < 2; k++) {
    const char *v = o->meta[maxed[k]];
    if (v && (!e->meta[maxed[k]] || ts_before(e->meta[maxed[k]], v)))
      lh_entity_set_meta(e, maxed[k], v);
  }
  if (!e->meta[LH_META_CAPTION] && o->meta[LH_META_CAPTION])
    lh_entity_set_meta(e, LH_META_CAPTION, o->meta[LH_META_CAPTION]);
  if (o->target == 1)
    e->target = 1;
  else if (e->target < 0)
    e->target = o->target;
  return 0;
}

/* ---- JSON parsing --------------------------------------------------------------------------- */

static bool key_is(const lh__jmember *m, const char *k) {
  size_t n = strlen(k);
  return m->key_len == n && memcmp(m->key, k, n) == 0;
}

static int json_fail(lh_error *err, const lh__json_error *je, int rc) {
  /* column is 1-based, counted in bytes */
  return lh_error_set(err, rc, "invalid JSON at column %zu: %s", je->offset + 1,
                      je->message ? je->message : "syntax error");
}

static int parse_list(lh_entity *e, strlist *l, const lh__jval *v, const char *field,
                      lh_error *err) {
  l->present = true;
  if (v->type == LH__J_NULL)
    return 0;
  if (v->type == LH__J_STRING)
    return list_add(e, l, v->u.s, false) < 0 ? lh_error_set(err, LH_ENOMEM, "out of memory") : 0;
  if (v->type != LH__J_ARRAY)
    return lh_error_set(err, LH_EINVAL, "field '%s' must be a list of strings", field);
  for (uint32_t i = 0; i < v->n; i++) {
    const lh__jval *it = &v->u.items[i];
    if (it->type == LH__J_NULL)
      continue;
    if (it->type != LH__J_STRING)
      return lh_error_set(err, LH_EINVAL, "field '%s' must be a list of strings", field);
    if (list_add(e, l, it->u.s, false) < 0)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  return 0;
}

static int parse_meta_str(lh_entity *e, lh_meta_str f, const lh__jval *v, const char *field,
                          lh_error *err) {
  /* a one-element list stands for its element (ftmq writes ["f1"]), as single_string does */
  if (v->type == LH__J_ARRAY && v->n <= 1)
    v = v->n ? &v->u.items[0] : NULL;
  if (!v || v->type == LH__J_NULL)
    return 0;
  if (v->type != LH__J_STRING)
    return lh_error_set(err, LH_EINVAL, "field '%s' must be a string (or a list of one)", field);
  e->meta[f] = v->u.s;
  return 0;
}

static int add_json_value(lh_entity *e, const lh_property *p, const lh__jval *v, lh_error *err) {
  if (v->type == LH__J_NULL)
    return 0;
  if (v->type != LH__J_STRING && v->type != LH__J_NUMBER)
    return lh_error_set(err, LH_EINVAL, "property '%s:%s': values must be strings", e->schema->name,
                        p->name);
  if (v->n == 0)
    return 0;
  if (p->type->id == LH_TYPE_ENTITY && e->id && strcmp(v->u.s, e->id) == 0)
    return 0;
  int rc = append_value(e, p, v->u.s, v->n);
  return rc < 0 ? lh_error_set(err, rc, "out of memory") : 0;
}

static int parse_properties(lh_entity *e, const lh__jval *props, unsigned flags, lh_error *err) {
  if (props->type == LH__J_NULL)
    return 0;
  if (props->type != LH__J_OBJECT)
    return lh_error_set(err, LH_EINVAL, "field 'properties' must be an object");
  char pb[96];
  const lh__jmember *dup = lh__json_duplicate(props, &e->arena);
  if (dup)
    return lh_error_set(err, LH_EINVAL, "property '%s' appears twice in 'properties'",
                        lh__printable(dup->key, dup->key_len, pb, sizeof pb));
  for (uint32_t i = 0; i < props->n; i++) {
    const lh__jmember *m = &props->u.members[i];
    const lh_property *p = lh_schema_property_n(e->schema, m->key, m->key_len);
    if (!p) {
      if (flags & LH_PARSE_SKIP_UNKNOWN)
        continue;
      if (lenient(e)) {
        /* counted per value, named Schema:prop */
        uint64_t nv = 0;
        if (m->val.type == LH__J_ARRAY)
          for (uint32_t k = 0; k < m->val.n; k++)
            nv += m->val.u.items[k].type != LH__J_NULL;
        else
          nv = m->val.type != LH__J_NULL;
        char q[200];
        int ql = snprintf(q, sizeof q, "%s:%.*s", e->schema->name, (int)m->key_len, m->key);
        lh_drops_note(e->drops, LH_DROP_UNKNOWN_PROP, q, ql > 0 ? (size_t)ql : 0, nv);
        continue;
      }
      return lh_error_set(err, LH_EINVAL, "unknown property '%s:%s'", e->schema->name,
                          lh__printable(m->key, m->key_len, pb, sizeof pb));
    }
    int rc = check_writable(e, p, err);
    if (rc)
      return rc;
    const lh__jval *v = &m->val;
    if (v->type == LH__J_ARRAY) {
      for (uint32_t k = 0; k < v->n; k++)
        if ((rc = add_json_value(e, p, &v->u.items[k], err)))
          return rc;
    } else if ((rc = add_json_value(e, p, v, err))) {
      return rc;
    }
  }
  return 0;
}

static int add_extra(lh_entity *e, const lh__jmember *m) {
  if (LH_ARRAY_RESERVE(e->extras, e->extras_cap, e->nextras + 1, 8))
    return LH_ENOMEM;
  /* the raw span points into the caller's text: copy it */
  const char *raw = lh__arena_strndup(&e->arena, m->val.raw, m->val.raw_len);
  if (!raw)
    return LH_ENOMEM;
  e->extras[e->nextras++] = (extra){m->key, m->key_len, raw, m->val.raw_len};
  return 0;
}

int lh_entity_parse_json(lh_entity *e, const char *json, size_t len, unsigned flags,
                         lh_delta_op *op, lh_error *err) {
  lh_entity_reset(e);
  if (op)
    *op = LH_DELTA_NONE;
  if (!e->parser && !(e->parser = lh__json_parser_new()))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh__jval root;
  lh__json_error je = {0, NULL};
  int rc = lh__json_parse(e->parser, json, len, &e->arena, &root, &je);
  if (rc)
    return rc == LH_ENOMEM ? lh_error_set(err, rc, "out of memory") : json_fail(err, &je, rc);
  if (root.type != LH__J_OBJECT)
    return lh_error_set(err, LH_EINVAL, "expected a JSON object");
  const lh__jval *obj = &root;
  char pb[96];
  const lh__jmember *dup = lh__json_duplicate(&root, &e->arena);
  if (dup)
    return lh_error_set(err, LH_EINVAL, "field '%s' appears twice",
                        lh__printable(dup->key, dup->key_len, pb, sizeof pb));
  const lh__jval *opv = lh__json_get(&root, "op"), *inner = lh__json_get(&root, "entity");
  lh_delta_op dop = LH_DELTA_NONE;
  if (opv && inner) {
    if (opv->type != LH__J_STRING)
      return lh_error_set(err, LH_EINVAL, "field 'op' must be ADD, MOD or DEL");
    if (strcmp(opv->u.s, "ADD") == 0)
      dop = LH_DELTA_ADD;
    else if (strcmp(opv->u.s, "MOD") == 0)
      dop = LH_DELTA_MOD;
    else if (strcmp(opv->u.s, "DEL") == 0)
      dop = LH_DELTA_DEL;
    else
      return lh_error_set(err, LH_EINVAL, "field 'op': unknown delta operation '%.16s'", opv->u.s);
    if (inner->type != LH__J_OBJECT)
      return lh_error_set(err, LH_EINVAL, "field 'entity' must be an object");
    obj = inner;
    if (op)
      *op = dop;
    if ((dup = lh__json_duplicate(obj, &e->arena)))
      return lh_error_set(err, LH_EINVAL, "field 'entity.%s' appears twice",
                          lh__printable(dup->key, dup->key_len, pb, sizeof pb));
  }
  const lh__jval *idv = lh__json_get(obj, "id");
  if (!idv || idv->type == LH__J_NULL) {
    if (lenient(e) && op) {
      lh_drops_note(e->drops, LH_DROP_NO_ID, NULL, 0, 1);
      *op = LH_DELTA_SKIP;
      return 0;
    }
    return lh_error_set(err, LH_EINVAL, "missing field 'id'");
  }
  if (idv->type != LH__J_STRING)
    return lh_error_set(err, LH_EINVAL, "field 'id' must be a string");
  if (!lh_entity_id_valid(idv->u.s, idv->n)) {
    if (lenient(e) && op) {
      lh_drops_note(e->drops, LH_DROP_BAD_ID, idv->u.s, idv->n, 1);
      *op = LH_DELTA_SKIP;
      return 0;
    }
    return lh_error_set(err, LH_EINVAL, "invalid entity id '%s' (field 'id')",
                        lh__printable(idv->u.s, idv->n, pb, sizeof pb));
  }
  e->id = idv->u.s;
  const lh__jval *sv = lh__json_get(obj, "schema");
  if (dop == LH_DELTA_DEL && !sv)
    return 0;
  if (!sv || sv->type == LH__J_NULL) {
    if (lenient(e) && op) {
      lh_drops_note(e->drops, LH_DROP_NO_SCHEMA, idv->u.s, idv->n, 1);
      *op = LH_DELTA_SKIP;
      return 0;
    }
    return lh_error_set(err, LH_EINVAL, "missing field 'schema'");
  }
  if (sv->type != LH__J_STRING)
    return lh_error_set(err, LH_EINVAL, "field 'schema' must be a string");
  e->schema = lh_model_schema(e->model, sv->u.s);
  if (!e->schema)
    return lh_error_set(err, LH_EINVAL, "unknown schema '%s' (field 'schema')",
                        lh__printable(sv->u.s, sv->n, pb, sizeof pb));
  if (e->schema->abstract)
    return lh_error_set(err, LH_EINVAL,
                        "schema '%s' is abstract: an entity needs a concrete schema (field "
                        "'schema')",
                        e->schema->name);
  for (uint32_t i = 0; i < obj->n; i++) {
    const lh__jmember *m = &obj->u.members[i];
    const lh__jval *v = &m->val;
    if (key_is(m, "id") || key_is(m, "schema"))
      continue;
    if (key_is(m, "properties"))
      rc = parse_properties(e, v, flags, err);
    else if (key_is(m, "caption"))
      rc = parse_meta_str(e, LH_META_CAPTION, v, "caption", err);
    else if (key_is(m, "first_seen"))
      rc = parse_meta_str(e, LH_META_FIRST_SEEN, v, "first_seen", err);
    else if (key_is(m, "last_seen"))
      rc = parse_meta_str(e, LH_META_LAST_SEEN, v, "last_seen", err);
    else if (key_is(m, "last_change"))
      rc = parse_meta_str(e, LH_META_LAST_CHANGE, v, "last_change", err);
    else if (key_is(m, "fragment"))
      rc = parse_meta_str(e, LH_META_FRAGMENT, v, "fragment", err);
    else if (key_is(m, "datasets"))
      rc = parse_list(e, &e->lists[LH_META_DATASETS], v, "datasets", err);
    else if (key_is(m, "referents"))
      rc = parse_list(e, &e->lists[LH_META_REFERENTS], v, "referents", err);
    else if (key_is(m, "origin"))
      rc = parse_list(e, &e->lists[LH_META_ORIGIN], v, "origin", err);
    else if (key_is(m, "target")) {
      if (v->type == LH__J_TRUE || v->type == LH__J_FALSE)
        e->target = v->type == LH__J_TRUE;
      else if (v->type != LH__J_NULL)
        rc = lh_error_set(err, LH_EINVAL, "field 'target' must be true or false");
    } else {
      rc = add_extra(e, m);
      if (rc)
        rc = lh_error_set(err, rc, "out of memory");
    }
    if (rc)
      return rc;
  }
  return 0;
}

/* ---- JSON writing --------------------------------------------------------------------------- */

int lh_json_write_string(lh_buf *out, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  int rc = lh_buf_grow(out, len + 2);
  if (rc)
    return rc;
  out->data[out->len++] = '"';
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    if ((rc = lh_buf_append(out, s + start, i - start)))
      return rc;
    char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      n = 6;
    }
    if ((rc = lh_buf_append(out, esc, n)))
      return rc;
    start = i + 1;
  }
  if ((rc = lh_buf_append(out, s + start, len - start)))
    return rc;
  return lh_buf_putc(out, '"');
}

static int write_key(lh_buf *out, const char *key, bool *first) {
  int rc = 0;
  if (!*first)
    rc = lh_buf_putc(out, ',');
  *first = false;
  if (!rc)
    rc = lh_json_write_string(out, key, strlen(key));
  return rc ? rc : lh_buf_putc(out, ':');
}

static int write_str_array(lh_buf *out, const char *const *items, size_t n) {
  int rc = lh_buf_putc(out, '[');
  for (size_t i = 0; i < n && !rc; i++) {
    if (i)
      rc = lh_buf_putc(out, ',');
    if (!rc)
      rc = lh_json_write_string(out, items[i], strlen(items[i]));
  }
  return rc ? rc : lh_buf_putc(out, ']');
}

int lh_entity_write_json(const lh_entity *e, unsigned flags, lh_buf *out) {
  bool first = true;
  int rc = lh_buf_putc(out, '{');
  const char **sorted = NULL;
  size_t sorted_cap = 0;
#define TRY(x)                                                                                     \
  do {                                                                                             \
    if (!rc)                                                                                       \
      rc = (x);                                                                                    \
  } while (0)
  if (e->id) {
    TRY(write_key(out, "id", &first));
    TRY(lh_json_write_string(out, e->id, strlen(e->id)));
  }
  if (e->meta[LH_META_CAPTION]) {
    TRY(write_key(out, "caption", &first));
    TRY(lh_json_write_string(out, e->meta[LH_META_CAPTION], strlen(e->meta[LH_META_CAPTION])));
  }
  if (e->schema) {
    TRY(write_key(out, "schema", &first));
    TRY(lh_json_write_string(out, e->schema->name, strlen(e->schema->name)));
    TRY(write_key(out, "properties", &first));
    TRY(lh_buf_putc(out, '{'));
    for (size_t i = 0; i < e->nprops && !rc; i++) {
      const eprop *ep = &e->props[i];
      if (i)
        TRY(lh_buf_putc(out, ','));
      TRY(lh_json_write_string(out, ep->prop->name, strlen(ep->prop->name)));
      TRY(lh_buf_putc(out, ':'));
      const char *const *vals = ep->values;
      if ((flags & LH_JSON_SORT_VALUES) && ep->n > 1) {
        if (ep->n > sorted_cap) {
          const char **ns = realloc(sorted, ep->n * sizeof *ns);
          if (!ns) {
            rc = LH_ENOMEM;
            break;
          }
          sorted = ns;
          sorted_cap = ep->n;
        }
        memcpy(sorted, ep->values, ep->n * sizeof *sorted);
        lh__qsort(sorted, ep->n, sizeof *sorted, lh__cmp_strp);
        vals = sorted;
      }
      TRY(write_str_array(out, vals, ep->n));
    }
    TRY(lh_buf_putc(out, '}'));
  }
  static const struct {
    lh_meta_list f;
    const char *key;
  } lists[] = {
      {LH_META_REFERENTS, "referents"}, {LH_META_DATASETS, "datasets"}, {LH_META_ORIGIN, "origin"}};
  for (size_t i = 0; i < 3; i++) {
    const strlist *l = &e->lists[lists[i].f];
    if (!l->present)
      continue;
    TRY(write_key(out, lists[i].key, &first));
    if ((flags & LH_JSON_SORT_VALUES) && l->n > 1) {
      if (l->n > sorted_cap) {
        const char **ns = realloc(sorted, l->n * sizeof *ns);
        if (!ns) {
          rc = LH_ENOMEM;
          break;
        }
        sorted = ns;
        sorted_cap = l->n;
      }
      memcpy(sorted, l->items, l->n * sizeof *sorted);
      lh__qsort(sorted, l->n, sizeof *sorted, lh__cmp_strp);
      TRY(write_str_array(out, sorted, l->n));
    } else {
      TRY(write_str_array(out, l->items, l->n));
    }
  }
  static const struct {
    lh_meta_str f;
    const char *key;
  } strs[] = {{LH_META_FIRST_SEEN, "first_seen"},
              {LH_META_LAST_SEEN, "last_seen"},
              {LH_META_LAST_CHANGE, "last_change"}};
  for (size_t i = 0; i < 3; i++) {
    const char *v = e->meta[strs[i].f];
    if (!v)
      continue;
    TRY(write_key(out, strs[i].key, &first));
    TRY(lh_json_write_string(out, v, strlen(v)));
  }
  if (e->target >= 0) {
    TRY(write_key(out, "target", &first));
    TRY(lh_buf_puts(out, e->target ? "true" : "false"));
  }
  if (e->meta[LH_META_FRAGMENT]) {
    TRY(write_key(out, "fragment", &first));
    TRY(lh_json_write_string(out, e->meta[LH_META_FRAGMENT], strlen(e->meta[LH_META_FRAGMENT])));
  }
  for (size_t i = 0; i < e->nextras; i++) {
    if (!first)
      TRY(lh_buf_putc(out, ','));
    first = false;
    TRY(lh_json_write_string(out, e->extras[i].key, e->extras[i].key_len));
    TRY(lh_buf_putc(out, ':'));
    TRY(lh_buf_append(out, e->extras[i].raw, e->extras[i].raw_len));
  }
  TRY(lh_buf_putc(out, '}'));
#undef TRY
  free(sorted);
  return rc;
}
