/* Statement ids and exploding entities into statements. */
#include <stdlib.h>
#include <string.h>

#include "core/sort.h"
#include "lakehouse/buf.h"
#include "lakehouse/statement.h"
#include "lakehouse/validate.h"

void lh_statement_id(const char *dataset, const char *entity_id, const char *prop,
                     const char *value, size_t value_len, const char *lang, bool external,
                     char out[LH_SHA1_HEX_SIZE]) {
  lh_buf key = LH_BUF_INIT;
  char small[512];
  size_t dl = strlen(dataset), el = strlen(entity_id), pl = strlen(prop);
  size_t ll = lang ? strlen(lang) + 1 : 0;
  size_t total = dl + el + pl + value_len + 3 + ll + (external ? 4 : 0);
  char *p = small;
  if (total > sizeof small) {
    if (lh_buf_grow(&key, total)) {
      out[0] = '\0';
      return;
    }
    p = key.data;
  }
  char *w = p;
  memcpy(w, dataset, dl), w += dl, *w++ = '.';
  memcpy(w, entity_id, el), w += el, *w++ = '.';
  memcpy(w, prop, pl), w += pl, *w++ = '.';
  memcpy(w, value, value_len), w += value_len;
  if (lang) {
    *w++ = '@';
    memcpy(w, lang, ll - 1), w += ll - 1;
  }
  if (external)
    memcpy(w, ".ext", 4), w += 4;
  lh_sha1_hex(p, (size_t)(w - p), out);
  lh_buf_free(&key);
}

bool lh_type_is_linguistic(const lh_type *t) {
  switch (t->id) {
  case LH_TYPE_ENTITY:
  case LH_TYPE_DATE:
  case LH_TYPE_CHECKSUM:
  case LH_TYPE_EMAIL:
  case LH_TYPE_PHONE:
  case LH_TYPE_GENDER:
  case LH_TYPE_MIMETYPE:
  case LH_TYPE_TOPIC:
  case LH_TYPE_URL:
  case LH_TYPE_COUNTRY:
  case LH_TYPE_LANGUAGE:
  case LH_TYPE_IP: return false;
  default: return true;
  }
}

struct lh_exploder {
  lh_explode_opts o;
  char *dataset, *origin, *fragment;
  lh_buf key;  /* "{dataset}.{entity_id}." prefix + "{prop}.{value}" */
  lh_buf base; /* schema + sorted hex ids for the BASE checksum */
  lh_buf eid;  /* stripped entity id */
  lh_buf ref;  /* a stripped entity reference */
  unsigned char (*digests)[20];
  size_t ndigests, digests_cap;
};

lh_exploder *lh_exploder_new(const lh_explode_opts *opts, lh_error *err) {
  if (!opts || !opts->dataset) {
    lh_error_set(err, LH_EINVAL, "explode: a target dataset is required");
    return NULL;
  }
  if (opts->origin && lh_validate_origin(opts->origin, err))
    return NULL;
  lh_exploder *x = calloc(1, sizeof *x);
  if (!x) {
    lh_error_set(err, LH_ENOMEM, "out of memory");
    return NULL;
  }
  x->o = *opts;
  x->dataset = strdup(opts->dataset);
  x->origin = strdup(opts->origin ? opts->origin : "default");
  x->fragment = opts->fragment ? strdup(opts->fragment) : NULL;
  lh_buf_init(&x->key, 0);
  lh_buf_init(&x->base, 0);
  lh_buf_init(&x->eid, 0);
  lh_buf_init(&x->ref, 0);
  if (!x->dataset || !x->origin || (opts->fragment && !x->fragment)) {
    lh_exploder_free(x);
    lh_error_set(err, LH_ENOMEM, "out of memory");
    return NULL;
  }
  x->o.dataset = x->dataset;
  x->o.origin = x->origin;
  x->o.fragment = x->fragment;
  return x;
}

void lh_exploder_free(lh_exploder *x) {
  if (!x)
    return;
  free(x->dataset);
  free(x->origin);
  free(x->fragment);
  lh_buf_free(&x->key);
  lh_buf_free(&x->base);
  lh_buf_free(&x->eid);
  lh_buf_free(&x->ref);
  free(x->digests);
  free(x);
}

static int digest_cmp(const void *a, const void *b) {
  return memcmp(a, b, 20);
}

static int parse_ts(const lh_entity *e, lh_meta_str f, const char *name, lh_time *out,
                    lh_error *err) {
  const char *v = lh_entity_meta(e, f);
  *out = LH_TIME_NULL;
  if (!v || !*v)
    return 0;
  if (lh_time_parse_iso(v, (size_t)-1, out, err))
    return lh_error_prefix(err, "entity '%s' field '%s'", lh_entity_id(e), name);
  return 0;
}

int lh_exploder_run(lh_exploder *x, const lh_entity *e, lh_statement_fn fn, void *ctx,
                    lh_error *err) {
  const lh_schema *schema = lh_entity_schema(e);
  const char *id = lh_entity_id(e);
  if (!schema || !id)
    return lh_error_set(err, LH_EINVAL, "explode: entity %s has no %s", id ? id : "(no id)",
                        id ? "schema" : "id");
  /* ids: namespace stripped */
  size_t idlen = lh_entity_id_strip_namespace(id, strlen(id));
  if (!lh_entity_id_valid(id, idlen))
    return lh_error_set(err, LH_EINVAL, "invalid entity id '%s' after namespace stripping", id);
  lh_buf_reset(&x->eid);
  if (lh_buf_append(&x->eid, id, idlen))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  const char *entity_id = x->eid.data;

  /* origin and fragment */
  const char *origin = x->o.origin;
  size_t norigin = 0;
  const char *const *origins = lh_entity_meta_list(e, LH_META_ORIGIN, &norigin);
  if (!x->o.override_origin && norigin == 1) {
    origin = origins[0];
    if (lh_validate_origin(origin, err))
      return lh_error_prefix(err, "entity '%s'", id);
  }
  const char *fragment = x->o.fragment;
  if (!fragment)
    fragment = lh_entity_meta(e, LH_META_FRAGMENT);
  if (!fragment)
    fragment = "";

  /* timestamps (inventory §8.1) */
  lh_time now = x->o.now != LH_TIME_NULL ? x->o.now : lh_time_now();
  lh_time fs, ls, lc;
  int rc;
  if ((rc = parse_ts(e, LH_META_FIRST_SEEN, "first_seen", &fs, err)) ||
      (rc = parse_ts(e, LH_META_LAST_SEEN, "last_seen", &ls, err)) ||
      (rc = parse_ts(e, LH_META_LAST_CHANGE, "last_change", &lc, err)))
    return rc;
  lh_time pinned = ls != LH_TIME_NULL               ? ls
                   : lc != LH_TIME_NULL             ? lc
                   : x->o.last_seen != LH_TIME_NULL ? x->o.last_seen
                                                    : now;
  lh_time first = fs != LH_TIME_NULL ? fs : lc != LH_TIME_NULL ? lc : now;

  lh_statement st;
  memset(&st, 0, sizeof st);
  st.entity_id = entity_id;
  st.schema = schema->name;
  st.schema_ref = schema;
  st.dataset = x->dataset;
  st.origin = origin;
  st.fragment = fragment;
  st.first_seen = first;
  st.last_seen = pinned;

  /* key prefix "{dataset}.{entity_id}." */
  lh_buf_reset(&x->key);
  if (lh_buf_puts(&x->key, x->dataset) || lh_buf_putc(&x->key, '.') ||
      lh_buf_append(&x->key, entity_id, idlen) || lh_buf_putc(&x->key, '.'))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  size_t prefix = x->key.len;
  x->ndigests = 0;
  int emitted = 0;

  size_t np = lh_entity_property_count(e);
  for (size_t i = 0; i < np; i++) {
    const char *const *values;
    size_t nv;
    const lh_property *p = lh_entity_property_at(e, i, &values, &nv);
    st.prop = p->name;
    st.prop_type = p->type->name;
    st.prop_ref = p;
    size_t pl = strlen(p->name);
    x->key.len = prefix;
    if (lh_buf_append(&x->key, p->name, pl) || lh_buf_putc(&x->key, '.'))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    size_t vprefix = x->key.len;
    /* namespace stripping can make two references equal ("a.x", "a.y" -> "a") */
    bool any_signed = false;
    if (p->type->id == LH_TYPE_ENTITY)
      for (size_t k = 0; k < nv && !any_signed; k++)
        any_signed = strchr(values[k], '.') != NULL;
    for (size_t k = 0; k < nv; k++) {
      const char *v = values[k];
      size_t vl = strlen(v);
      if (p->type->id == LH_TYPE_ENTITY) {
        vl = lh_entity_id_strip_namespace(v, vl);
        if (!lh_entity_id_valid(v, vl))
          continue;
        bool dup = false;
        for (size_t j = 0; any_signed && j < k && !dup; j++)
          dup = lh_entity_id_strip_namespace(values[j], strlen(values[j])) == vl &&
                memcmp(values[j], v, vl) == 0;
        if (dup)
          continue;
        if (v[vl] != '\0') { /* keep values NUL-terminated for consumers */
          lh_buf_reset(&x->ref);
          if (lh_buf_append(&x->ref, v, vl))
            return lh_error_set(err, LH_ENOMEM, "out of memory");
          v = x->ref.data;
        }
      }
      x->key.len = vprefix;
      if (lh_buf_append(&x->key, v, vl))
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      if (x->ndigests == x->digests_cap) {
        size_t cap = x->digests_cap ? x->digests_cap * 2 : 64;
        unsigned char(*nd)[20] = realloc(x->digests, cap * sizeof *nd);
        if (!nd)
          return lh_error_set(err, LH_ENOMEM, "out of memory");
        x->digests = nd;
        x->digests_cap = cap;
      }
      unsigned char *d = x->digests[x->ndigests++];
      lh_sha1(x->key.data, x->key.len, d);
      lh_hex_encode(d, 20, st.id);
      st.value = v;
      st.value_len = vl;
      if ((rc = fn(&st, ctx)))
        return rc;
      emitted++;
    }
  }

  /* BASE statement: sha1(schema + sorted unique ids) */
  lh__qsort(x->digests, x->ndigests, sizeof *x->digests, digest_cmp);
  lh_buf_reset(&x->base);
  if (lh_buf_puts(&x->base, schema->name) || lh_buf_grow(&x->base, x->ndigests * 40))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  for (size_t i = 0; i < x->ndigests; i++) {
    if (i && memcmp(x->digests[i], x->digests[i - 1], 20) == 0)
      continue;
    lh_hex_encode(x->digests[i], 20, x->base.data + x->base.len);
    x->base.len += 40;
  }
  char checksum[LH_SHA1_HEX_SIZE];
  lh_sha1_hex(x->base.data, x->base.len, checksum);
  st.prop = LH_BASE_PROP;
  st.prop_type = LH_BASE_PROP;
  st.prop_ref = NULL;
  st.value = checksum;
  st.value_len = 40;
  st.first_seen = lc != LH_TIME_NULL ? lc : first;
  st.last_seen = pinned;
  x->key.len = prefix;
  if (lh_buf_puts(&x->key, LH_BASE_PROP ".") || lh_buf_append(&x->key, checksum, 40))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_sha1_hex(x->key.data, x->key.len, st.id);
  if ((rc = fn(&st, ctx)))
    return rc;
  return emitted + 1;
}
