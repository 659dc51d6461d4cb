/* Statement ids and exploding entities into statements. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/hex.h"
#include "core/sha1.h"
#include "core/text.h"
#include "ftm/entity_internal.h"
#include "lakehouse/buf.h"
#include "lakehouse/statement.h"
#include "lakehouse/validate.h"

void lh_statement_id(const char *dataset, const char *entity_id, const char *prop,
                     const char *value, size_t value_len, const char *lang, bool external,
                     char out[LH_SHA1_HEX_SIZE]) {
  char small[512];
  size_t dl = strlen(dataset), el = strlen(entity_id), pl = strlen(prop);
  size_t ll = lang ? strlen(lang) + 1 : 0;
  size_t total = dl + el + pl + value_len + 3 + ll + (external ? 4 : 0);
  if (total > sizeof small) { /* hashed in pieces: nothing to allocate, nothing to fail */
    lh__sha1_ctx c;
    lh__sha1_init(&c);
    lh__sha1_update(&c, dataset, dl);
    lh__sha1_update(&c, ".", 1);
    lh__sha1_update(&c, entity_id, el);
    lh__sha1_update(&c, ".", 1);
    lh__sha1_update(&c, prop, pl);
    lh__sha1_update(&c, ".", 1);
    lh__sha1_update(&c, value, value_len);
    if (lang) {
      lh__sha1_update(&c, "@", 1);
      lh__sha1_update(&c, lang, ll - 1);
    }
    if (external)
      lh__sha1_update(&c, ".ext", 4);
    unsigned char digest[20];
    lh__sha1_final(&c, digest);
    lh_hex_encode(digest, sizeof digest, out);
    return;
  }
  char *p = small, *w = p;
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

typedef struct digest {
  unsigned char b[20];
  char hex[40]; /* the statement id, kept for the BASE checksum */
} digest;

typedef struct ikey {
  uint64_t key;
  uint32_t idx;
} ikey;

/* Values longer than this are hashed in place instead of being copied after the key prefix. */
#define STREAM_VALUE_MIN 512

struct lh_exploder {
  lh_explode_opts o;
  char *dataset, *origin, *fragment;
  lh_buf key;  /* "{dataset}.{entity_id}." prefix + "{prop}.{value}" */
  lh_buf base; /* schema + sorted hex ids for the BASE checksum */
  lh_buf eid;  /* stripped entity id */
  lh_buf ref;  /* a stripped entity reference */
  digest *digests;
  ikey *keys, *tmp;
  size_t ndigests, digests_cap, tmp_cap;
  uint32_t *buckets;
  size_t buckets_cap;
};

int lh_exploder_new(const lh_explode_opts *opts, lh_exploder **out, lh_error *err) {
  *out = NULL;
  if (!opts || !opts->dataset)
    return lh_error_set(err, LH_EINVAL, "explode: a target dataset is required");
  int rc = opts->origin ? lh_validate_origin(opts->origin, err) : 0;
  if (rc)
    return rc;
  lh_exploder *x = calloc(1, sizeof *x);
  if (!x)
    return lh_error_nomem(err);
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
    return lh_error_nomem(err);
  }
  x->o.dataset = x->dataset;
  x->o.origin = x->origin;
  x->o.fragment = x->fragment;
  *out = x;
  return 0;
}

int lh_exploder_set_origin(lh_exploder *x, const char *origin, bool override_origin,
                           const char *fragment, lh_error *err) {
  if (origin && lh_validate_origin(origin, err))
    return LH_EINVAL;
  char *o = strdup(origin ? origin : LH_ORIGIN_DEFAULT);
  char *f = fragment ? strdup(fragment) : NULL;
  if (!o || (fragment && !f)) {
    free(o);
    free(f);
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  }
  free(x->origin);
  free(x->fragment);
  x->o.origin = x->origin = o;
  x->o.fragment = x->fragment = f;
  x->o.override_origin = override_origin;
  return 0;
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
  free(x->keys);
  free(x->tmp);
  free(x->buckets);
  free(x);
}

/* Sort ids for the BASE checksum: (first 8 digest bytes as a big-endian integer, index)
 * pairs; ties on the key (equal ids, or a 2^-64 collision) are settled by the full digest. */
static inline int ikey_cmp(const ikey *a, const ikey *b, const digest *d) {
  if (a->key != b->key)
    return a->key < b->key ? -1 : 1;
  return memcmp(d[a->idx].b, d[b->idx].b, 20);
}

static void insertion_sort(ikey *k, size_t n, const digest *d) {
  for (size_t i = 1; i < n; i++) {
    ikey t = k[i];
    size_t j = i;
    while (j > 0 && ikey_cmp(&k[j - 1], &t, d) > 0) {
      k[j] = k[j - 1];
      j--;
    }
    k[j] = t;
  }
}

/* SHA-1 keys are uniformly distributed, so distributing them into ~n buckets by their top
 * bits and insertion-sorting each bucket is expected linear time. */
static int sort_keys(lh_exploder *x, size_t n) {
  ikey *k = x->keys;
  if (n <= 16) {
    insertion_sort(k, n, x->digests);
    return 0;
  }
  unsigned bits = 1;
  while (bits < 20 && ((size_t)1 << bits) < n)
    bits++;
  size_t nb = (size_t)1 << bits;
  if (nb + 1 > x->buckets_cap) {
    uint32_t *nbk = realloc(x->buckets, (nb + 1) * sizeof *nbk);
    if (!nbk)
      return LH_ENOMEM;
    x->buckets = nbk;
    x->buckets_cap = nb + 1;
  }
  if (n > x->tmp_cap) {
    ikey *nt = realloc(x->tmp, n * sizeof *nt);
    if (!nt)
      return LH_ENOMEM;
    x->tmp = nt;
    x->tmp_cap = n;
  }
  uint32_t *count = x->buckets;
  memset(count, 0, (nb + 1) * sizeof *count);
  for (size_t i = 0; i < n; i++)
    count[(k[i].key >> (64 - bits)) + 1]++;
  for (size_t b = 0; b < nb; b++)
    count[b + 1] += count[b];
  for (size_t i = 0; i < n; i++)
    x->tmp[count[k[i].key >> (64 - bits)]++] = k[i];
  /* count[b] is now the end of bucket b; buckets are contiguous and in order */
  size_t start = 0;
  for (size_t b = 0; b < nb; b++) {
    size_t end = count[b];
    if (end - start > 1)
      insertion_sort(x->tmp + start, end - start, x->digests);
    start = end;
  }
  memcpy(k, x->tmp, n * sizeof *k);
  return 0;
}

static int parse_ts(const lh_entity *e, lh_meta_str f, const char *name, lh_time *out,
                    lh_error *err) {
  const char *v = lh_entity_meta(e, f);
  *out = LH_TIME_NULL;
  if (!v || !*v)
    return 0;
  int rc = lh_time_parse_iso(v, (size_t)-1, out, err);
  if (rc)
    return lh_error_prefix(err, rc, "entity '%s' field '%s'", lh_entity_id(e), name);
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
    int rc = lh_validate_origin(origin, err);
    if (rc)
      return lh_error_prefix(err, rc, "entity '%s'", id);
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
    const uint32_t *lens;
    size_t nv;
    const lh_property *p = lh__entity_property_lens(e, i, &values, &lens, &nv);
    st.prop = p->name;
    st.prop_type = p->type->name;
    st.prop_ref = p;
    x->key.len = prefix;
    if (lh_buf_append(&x->key, p->name, p->name_len) || lh_buf_putc(&x->key, '.'))
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    size_t vprefix = x->key.len;
    if (x->ndigests + nv > x->digests_cap) {
      size_t cap = x->digests_cap ? x->digests_cap : 64;
      while (cap < x->ndigests + nv)
        cap *= 2;
      digest *nd = realloc(x->digests, cap * sizeof *nd);
      if (nd)
        x->digests = nd;
      ikey *nk = nd ? realloc(x->keys, cap * sizeof *nk) : NULL;
      if (!nk)
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      x->keys = nk;
      x->digests_cap = cap;
    }
    /* namespace stripping can make two references equal ("a.x", "a.y" -> "a") */
    bool any_signed = false;
    if (p->type->id == LH_TYPE_ENTITY)
      for (size_t k = 0; k < nv && !any_signed; k++)
        any_signed = memchr(values[k], '.', lens[k]) != NULL;
    for (size_t k = 0; k < nv; k++) {
      const char *v = values[k];
      size_t vl = lens[k];
      if (p->type->id == LH_TYPE_ENTITY) {
        vl = lh_entity_id_strip_namespace(v, vl);
        if (!lh_entity_id_valid(v, vl)) {
          /* dropped, as FtM's namespace drops it; counted when the entity counts drops */
          lh_drops *d = lh_entity_drops(e);
          if (d && d->strict) {
            char pb[96];
            return lh_error_set(err, LH_EINVAL, "property '%s:%s': invalid entity reference '%s'",
                                schema->name, p->name, lh__printable(v, lens[k], pb, sizeof pb));
          }
          lh_drops_note(d, LH_DROP_BAD_REF, v, lens[k], 1);
          continue;
        }
        bool dup = false;
        for (size_t j = 0; any_signed && j < k && !dup; j++)
          dup = lh_entity_id_strip_namespace(values[j], lens[j]) == vl &&
                memcmp(values[j], v, vl) == 0;
        if (dup)
          continue;
        if (vl != lens[k]) { /* keep values NUL-terminated for consumers */
          lh_buf_reset(&x->ref);
          if (lh_buf_append(&x->ref, v, vl))
            return lh_error_set(err, LH_ENOMEM, "out of memory");
          v = x->ref.data;
        }
      }
      digest *d = &x->digests[x->ndigests++];
      if (vl <= STREAM_VALUE_MIN) {
        x->key.len = vprefix;
        if (lh_buf_append(&x->key, v, vl))
          return lh_error_set(err, LH_ENOMEM, "out of memory");
        lh_sha1(x->key.data, x->key.len, d->b);
      } else { /* long texts are hashed in place, not copied into the key buffer */
        lh__sha1_ctx c;
        lh__sha1_init(&c);
        lh__sha1_update(&c, x->key.data, vprefix);
        lh__sha1_update(&c, v, vl);
        lh__sha1_final(&c, d->b);
      }
      uint64_t k64;
      memcpy(&k64, d->b, 8);
      x->keys[x->ndigests - 1].key = __builtin_bswap64(k64);
      x->keys[x->ndigests - 1].idx = (uint32_t)(x->ndigests - 1);
      lh__hex(d->b, 20, d->hex);
      memcpy(st.id, d->hex, 40);
      st.id[40] = '\0';
      st.value = v;
      st.value_len = vl;
      if ((rc = fn(&st, ctx)))
        return rc;
      emitted++;
    }
  }

  /* BASE statement: sha1(schema + sorted unique ids) */
  if (sort_keys(x, x->ndigests))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  lh_buf_reset(&x->base);
  if (lh_buf_append(&x->base, schema->name, schema->name_len) ||
      lh_buf_grow(&x->base, x->ndigests * 40))
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  char *w = x->base.data + x->base.len;
  const digest *prev = NULL;
  for (size_t i = 0; i < x->ndigests; i++) {
    const digest *d = &x->digests[x->keys[i].idx];
    if (prev && x->keys[i].key == x->keys[i - 1].key && memcmp(d->b, prev->b, 20) == 0)
      continue; /* the checksum covers the set of ids */
    memcpy(w, d->hex, 40);
    w += 40;
    prev = d;
  }
  x->base.len = (size_t)(w - x->base.data);
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
