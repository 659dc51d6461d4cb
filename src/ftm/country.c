/* Country lookup for the `country` type: a sorted index of normalised keys (codes, English
 * labels, and with a rigour territories file also alpha-3 codes, QIDs, other codes and
 * strong names) to FtM country codes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "core/array.h"
#include "core/sort.h"
#include "ftm/model_internal.h"
#include "lakehouse/buf.h"
#include "lakehouse/log.h"

/* Case-folded, accents stripped, punctuation to spaces, spaces squashed. */
static char *normalise(const char *s, size_t len) {
  utf8proc_uint8_t *folded = NULL;
  utf8proc_ssize_t n =
      utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &folded,
                   UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
  if (n < 0)
    return NULL;
  char *out = malloc((size_t)n + 1);
  if (!out) {
    free(folded);
    return NULL;
  }
  size_t w = 0;
  bool space = true;
  for (utf8proc_ssize_t i = 0; i < n; i++) {
    unsigned char c = folded[i];
    bool keep = c >= 0x80 || isalnum(c);
    if (keep) {
      out[w++] = (char)c;
      space = false;
    } else if (!space) {
      out[w++] = ' ';
      space = true;
    }
  }
  while (w && out[w - 1] == ' ')
    w--;
  out[w] = '\0';
  free(folded);
  return out;
}

static int key_cmp(const void *a, const void *b) {
  return strcmp(((const lh__country_key *)a)->key, ((const lh__country_key *)b)->key);
}

typedef struct index_builder {
  lh__country_key *items;
  size_t n, cap;
} index_builder;

static int add_key(index_builder *ib, const char *raw, const char *code) {
  if (!raw || !*raw)
    return 0;
  char *key = normalise(raw, strlen(raw));
  if (!key)
    return LH_ENOMEM;
  if (!*key) {
    free(key);
    return 0;
  }
  if (LH_ARRAY_RESERVE(ib->items, ib->cap, ib->n + 1, 512)) {
    free(key);
    return LH_ENOMEM;
  }
  ib->items[ib->n].key = key;
  ib->items[ib->n].code = code;
  ib->n++;
  return 0;
}

typedef struct tagged {
  lh__country_key k;
  size_t pos; /* insertion order: earlier entries win on duplicate keys */
} tagged;

static int tagged_cmp(const void *a, const void *b) {
  const tagged *x = a, *y = b;
  int c = strcmp(x->k.key, y->k.key);
  return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* Sort by key and keep the first-inserted entry of each key (codes go in before names). */
static int finish(lh_model *m, index_builder *ib) {
  tagged *t = malloc((ib->n ? ib->n : 1) * sizeof *t);
  if (!t)
    return LH_ENOMEM;
  for (size_t i = 0; i < ib->n; i++) {
    t[i].k = ib->items[i];
    t[i].pos = i;
  }
  lh__qsort(t, ib->n, sizeof *t, tagged_cmp);
  size_t w = 0;
  for (size_t i = 0; i < ib->n; i++) {
    if (w && strcmp(t[i].k.key, ib->items[w - 1].key) == 0) {
      free(t[i].k.key);
      continue;
    }
    ib->items[w++] = t[i].k;
  }
  free(t);
  lh__model_territories_free(m);
  m->countries = ib->items;
  m->ncountries = w;
  ib->items = NULL;
  ib->n = ib->cap = 0;
  return 0;
}

int lh__model_country_index(lh_model *m, lh_error *err) {
  const lh_type *t = lh_model_type_by_id(m, LH_TYPE_COUNTRY);
  index_builder ib = {0};
  if (t) {
    for (size_t i = 0; i < t->nvalues; i++)
      if (add_key(&ib, t->codes[i], t->codes[i]))
        goto oom;
    for (size_t i = 0; i < t->nvalues; i++)
      if (add_key(&ib, t->labels[i], t->codes[i]))
        goto oom;
  }
  if (finish(m, &ib) == 0)
    return 0;
oom:
  for (size_t i = 0; i < ib.n; i++)
    free(ib.items[i].key);
  free(ib.items);
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

const char *lh__model_country_lookup(const lh_model *m, const char *value, size_t len) {
  if (!m || !m->ncountries)
    return NULL;
  char *key = normalise(value, len);
  if (!key)
    return NULL;
  lh__country_key probe = {key, NULL};
  const lh__country_key *hit =
      bsearch(&probe, m->countries, m->ncountries, sizeof *m->countries, key_cmp);
  free(key);
  return hit ? hit->code : NULL;
}

void lh__model_territories_free(lh_model *m) {
  for (size_t i = 0; i < m->ncountries; i++)
    free(m->countries[i].key);
  free(m->countries);
  m->countries = NULL;
  m->ncountries = 0;
}

/* The FtM code of a territory: its own code if it is an FtM country, else its nearest
 * parent's that is. */
static const char *ftm_code(json_t *all, json_t *terr, const lh_type *t, int depth) {
  const char *code = json_string_value(json_object_get(terr, "code"));
  if (!code || depth > 16)
    return NULL;
  if (json_is_true(json_object_get(terr, "is_ftm"))) {
    const char *const *hit = NULL;
    for (size_t i = 0; i < t->nvalues && !hit; i++)
      if (strcmp(t->codes[i], code) == 0)
        hit = &t->codes[i];
    return hit ? *hit : NULL;
  }
  const char *parent = json_string_value(json_object_get(terr, "parent"));
  json_t *p = parent ? json_object_get(all, parent) : NULL;
  return p ? ftm_code(all, p, t, depth + 1) : NULL;
}

int lh__model_territories_load(lh_model *m, const char *path, lh_error *err) {
  const lh_type *t = lh_model_type_by_id(m, LH_TYPE_COUNTRY);
  if (!t)
    return lh_error_set(err, LH_EINVAL, "the FtM model has no country type");
  FILE *f = fopen(path, "r");
  if (!f)
    return lh_error_errno(err, errno, "cannot open territories file '%s'", path);
  json_t *all = json_object();
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  int lineno = 0, rc = 0;
  while ((n = getline(&line, &cap, f)) > 0) {
    lineno++;
    json_error_t jerr;
    json_t *obj = json_loadb(line, (size_t)n, 0, &jerr);
    const char *code = obj ? json_string_value(json_object_get(obj, "code")) : NULL;
    if (!code) {
      json_decref(obj);
      rc = lh_error_set(err, LH_EPARSE, "%s line %d: not a territory object", path, lineno);
      goto done;
    }
    json_object_set_new(all, code, obj);
  }
  /* start from the model's own keys, then add the territory names */
  index_builder ib = {m->countries, m->ncountries, m->ncountries};
  m->countries = NULL;
  m->ncountries = 0;
  const char *code;
  json_t *terr;
  static const char *const code_keys[] = {"alpha3", "qid"};
  json_object_foreach(all, code, terr) {
    const char *target = ftm_code(all, terr, t, 0);
    if (!target)
      continue;
    if (add_key(&ib, code, target))
      goto oom;
    for (size_t k = 0; k < 2; k++)
      if (add_key(&ib, json_string_value(json_object_get(terr, code_keys[k])), target))
        goto oom;
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(terr, "other_codes"), i,
                       v) if (add_key(&ib, json_string_value(v), target)) goto oom;
    if (add_key(&ib, json_string_value(json_object_get(terr, "name")), target) ||
        add_key(&ib, json_string_value(json_object_get(terr, "full_name")), target))
      goto oom;
    json_array_foreach(json_object_get(terr, "names_strong"), i,
                       v) if (add_key(&ib, json_string_value(v), target)) goto oom;
  }
  if (finish(m, &ib) == 0)
    goto done;
oom:
  for (size_t i = 0; i < ib.n; i++)
    free(ib.items[i].key);
  free(ib.items);
  rc = lh_error_set(err, LH_ENOMEM, "out of memory");
done:
  free(line);
  fclose(f);
  json_decref(all);
  return rc;
}

void lh__model_territories_load_env(lh_model *m) {
  const char *path = getenv("LAKEHOUSE_FTM_TERRITORIES");
  if (!path || !*path)
    return;
  lh_error err = {0};
  if (lh__model_territories_load(m, path, &err))
    lh_log_warning("LAKEHOUSE_FTM_TERRITORIES: %s (country lookup uses the model only)",
                   err.message);
}
