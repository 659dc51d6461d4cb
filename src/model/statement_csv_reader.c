/* The statements CSV an import reads (inventory §2.4, ftm.md §4.5): columns found by header
 * name (the lakehouse statements.csv, the nomenklatura v4 CSV), or the headerless 11-column
 * pack format. Each row is checked at its line - required columns, field count, UTF-8, NUL
 * bytes, 'external', times - so that nothing the store would refuse gets past it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "model/statement_csv_reader.h"

/* Statement CSV columns the reader uses (by header name). */
enum {
  K_ENTITY_ID,
  K_PROP,
  K_SCHEMA,
  K_VALUE,
  K_DATASET,
  K_LANG,
  K_ORIGINAL,
  K_EXTERNAL,
  K_FIRST,
  K_LAST,
  K_ORIGIN,
  K_FRAGMENT,
  K_COUNT
};
static const char *const CSV_KEYS[K_COUNT] = {
    "entity_id",      "prop",     "schema",     "value",     "dataset", "lang",
    "original_value", "external", "first_seen", "last_seen", "origin",  "fragment"};

struct lh__stmt_csv {
  lh__csv *csv; /* borrowed */
  const char *name;
  lh_time now, default_last_seen;
  int col[K_COUNT]; /* CSV column of each key, -1 when absent */
  size_t ncols;     /* fields of the header */
  bool pack;        /* the headerless pack format (ftm.md §4.5) */
  bool have_record; /* rec holds a data record read while sniffing the header */
  lh__csv_record rec;
  char schema[256]; /* the pack's Schema of the current row */
  lh_drops *drops;  /* borrowed, NULL: rows without entity_id or prop are errors */
};

/* Count a row as dropped, when drops are counted (not strict). */
static bool drop(lh__stmt_csv *r, lh_drop why) {
  if (!r->drops || r->drops->strict)
    return false;
  lh_drops_note(r->drops, why, NULL, 0, 1);
  return true;
}

void lh__stmt_csv_set_drops(lh__stmt_csv *r, lh_drops *d) {
  r->drops = d;
}

lh__stmt_csv *lh__stmt_csv_open(lh__csv *csv, const char *name, lh_time now,
                                lh_time default_last_seen) {
  lh__stmt_csv *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->csv = csv;
  r->name = name;
  r->now = now;
  r->default_last_seen = default_last_seen;
  for (int k = 0; k < K_COUNT; k++)
    r->col[k] = -1;
  return r;
}

void lh__stmt_csv_close(lh__stmt_csv *r) {
  free(r);
}

uint64_t lh__stmt_csv_line(const lh__stmt_csv *r) {
  return r->rec.line;
}

static const char *field(const lh__stmt_csv *im, const lh__csv_record *rec, int key) {
  int c = im->col[key];
  if (c < 0 || (size_t)c >= rec->nfields)
    return NULL;
  return rec->fields[c][0] ? rec->fields[c] : NULL;
}

/* The column 'external': empty, true/false, t/f, 1/0, yes/no (any case). */
static int parse_external(const char *s, bool *out, lh_error *err) {
  static const char *const yes[] = {"true", "t", "1", "yes", "y"};
  static const char *const no[] = {"false", "f", "0", "no", "n"};
  *out = false;
  if (!s)
    return 0;
  while (*s == ' ')
    s++;
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ')
    n--;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
      *out = true;
      return 0;
    }
    if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0)
      return 0;
  }
  return lh_error_set(err, LH_EINVAL, "column 'external' must be true or false, not '%.40s'", s);
}

static int parse_time(const char *s, const char *column, lh_time *out, lh_error *err) {
  *out = LH_TIME_NULL;
  if (!s)
    return 0;
  int rc = lh_time_parse_iso(s, (size_t)-1, out, err);
  return rc ? lh_error_prefix(err, rc, "column '%s'", column) : 0;
}

/* Everything the store would refuse in a row is refused here, at its line, so a bad row
 * never costs the rows read before it: strings must be UTF-8 (NUL bytes are refused with
 * the record). */
static int check_text(const lh_statement *st, lh_error *err) {
  const char *names[] = {"entity_id",      "schema", "prop",    "lang",
                         "original_value", "origin", "fragment"};
  const char *vals[] = {st->entity_id,      st->schema, st->prop,    st->lang,
                        st->original_value, st->origin, st->fragment};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
    size_t n = vals[i] ? strlen(vals[i]) : 0;
    if (n && lh__utf8_check(vals[i], n) != n)
      return lh_error_set(err, LH_EINVAL, "column '%s' is not valid UTF-8", names[i]);
  }
  size_t ok = lh__utf8_check(st->value, st->value_len);
  if (ok != st->value_len)
    return lh_error_set(err, LH_EINVAL, "column 'value' is not valid UTF-8 (at byte %zu)", ok + 1);
  return 0;
}

/* Read the header (or recognise the pack format) from the first record. */
int lh__stmt_csv_header(lh__stmt_csv *im, lh_error *err) {
  int r = lh__csv_next(im->csv, &im->rec, err);
  if (r <= 0)
    return r < 0 ? lh_error_prefix(err, r, "%s", im->name) : 0;
  for (int k = 0; k < K_COUNT; k++)
    im->col[k] = -1;
  bool header = false;
  for (size_t i = 0; i < im->rec.nfields; i++)
    for (int k = 0; k < K_COUNT; k++)
      if (strcmp(im->rec.fields[i], CSV_KEYS[k]) == 0) {
        if (im->col[k] >= 0)
          return lh_error_set(err, LH_EINVAL,
                              "%s line 1: the header names '%s' twice (columns %d "
                              "and %zu)",
                              im->name, CSV_KEYS[k], im->col[k] + 1, i + 1);
        im->col[k] = (int)i;
        header = true;
      }
  im->ncols = im->rec.nfields;
  if (header) {
    static const int required[] = {K_ENTITY_ID, K_SCHEMA, K_PROP, K_VALUE};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
      if (im->col[required[i]] < 0)
        return lh_error_set(err, LH_EINVAL, "%s line 1: the header has no '%s' column", im->name,
                            CSV_KEYS[required[i]]);
    return 1;
  }
  /* the pack: entity_id, Schema:prop, value, dataset, lang, original_value, target,
   * external, first_seen, last_seen, id */
  if (im->rec.nfields == 11 && strchr(im->rec.fields[1], ':')) {
    im->pack = true;
    im->have_record = true;
    return 1;
  }
  return lh_error_set(err, LH_EINVAL,
                      "%s line 1: not a statements CSV (no header with entity_id, schema, prop "
                      "and value columns, and not the 11-column pack format)",
                      im->name);
}

int lh__stmt_csv_next(lh__stmt_csv *im, lh_statement *out, lh_error *err) {
  for (;;) {
    if (!im->have_record) {
      int r = lh__csv_next(im->csv, &im->rec, err);
      if (r <= 0)
        return r < 0 ? lh_error_prefix(err, r, "%s", im->name) : 0;
    }
    im->have_record = false;
    lh__csv_record *rec = &im->rec;
    if (rec->nfields == 1 && rec->lens[0] == 0)
      continue; /* blank line */
    if (im->drops)
      im->drops->line = rec->line;
    lh_statement st;
    memset(&st, 0, sizeof st);
    int rc = 0;
    for (size_t i = 0; i < rec->nfields && !rc; i++)
      if (memchr(rec->fields[i], '\0', rec->lens[i]))
        rc = lh_error_set(err, LH_EINVAL, "field %zu holds a NUL byte", i + 1);
    const char *first = NULL, *last = NULL;
    if (rc) {
      /* refused above */
    } else if (im->pack) {
      if (rec->nfields != 11) {
        rc = lh_error_set(err, LH_EPARSE, "%zu fields (the pack format has 11)", rec->nfields);
      } else {
        const char *colon = strchr(rec->fields[1], ':');
        size_t slen = colon ? (size_t)(colon - rec->fields[1]) : 0;
        if (!colon || slen >= sizeof im->schema) {
          rc = lh_error_set(err, LH_EINVAL, "column 2: '%s' is not Schema:prop", rec->fields[1]);
        } else {
          memcpy(im->schema, rec->fields[1], slen);
          im->schema[slen] = '\0';
          st.schema = im->schema;
          st.prop = colon + 1;
        }
        st.entity_id = rec->fields[0][0] ? rec->fields[0] : NULL;
        if (!rc && (!st.entity_id || !*st.prop)) {
          if (drop(im, !st.entity_id ? LH_DROP_ROW_NO_ENTITY_ID : LH_DROP_ROW_NO_PROP))
            continue;
          rc = lh_error_set(err, LH_EINVAL, "column %d is empty", !st.entity_id ? 1 : 2);
        }
        st.value = rec->fields[2];
        st.value_len = rec->lens[2];
        st.lang = rec->fields[4][0] ? rec->fields[4] : NULL;
        st.original_value = rec->fields[5][0] ? rec->fields[5] : NULL;
        if (!rc)
          rc = parse_external(rec->fields[7], &st.external, err);
        first = rec->fields[8][0] ? rec->fields[8] : NULL;
        last = rec->fields[9][0] ? rec->fields[9] : NULL;
      }
    } else if (rec->nfields != im->ncols) {
      rc = lh_error_set(err, LH_EPARSE, "%zu fields, but the header has %zu columns", rec->nfields,
                        im->ncols);
    } else {
      st.entity_id = field(im, rec, K_ENTITY_ID);
      st.schema = field(im, rec, K_SCHEMA);
      st.prop = field(im, rec, K_PROP);
      int vc = im->col[K_VALUE];
      if ((size_t)vc < rec->nfields) {
        st.value = rec->fields[vc];
        st.value_len = rec->lens[vc];
      }
      st.lang = field(im, rec, K_LANG);
      st.original_value = field(im, rec, K_ORIGINAL);
      st.origin = field(im, rec, K_ORIGIN);
      st.fragment = field(im, rec, K_FRAGMENT);
      first = field(im, rec, K_FIRST);
      last = field(im, rec, K_LAST);
      if ((!st.entity_id || !st.prop) &&
          drop(im, !st.entity_id ? LH_DROP_ROW_NO_ENTITY_ID : LH_DROP_ROW_NO_PROP))
        continue;
      if (!st.entity_id)
        rc = lh_error_set(err, LH_EINVAL, "column 'entity_id' is empty");
      else if (!st.schema)
        rc = lh_error_set(err, LH_EINVAL, "column 'schema' is empty");
      else if (!st.prop)
        rc = lh_error_set(err, LH_EINVAL, "column 'prop' is empty");
      else if (!st.value)
        rc = lh_error_set(err, LH_EINVAL, "the row has no 'value' field");
      else
        rc = parse_external(field(im, rec, K_EXTERNAL), &st.external, err);
    }
    if (!rc)
      rc = check_text(&st, err);
    if (!rc)
      rc = parse_time(first, "first_seen", &st.first_seen, err);
    if (!rc)
      rc = parse_time(last, "last_seen", &st.last_seen, err);
    if (!rc) {
      /* a statement seen once: last_seen defaults to first_seen (inventory §8.2) */
      if (st.last_seen == LH_TIME_NULL)
        st.last_seen = st.first_seen != LH_TIME_NULL ? st.first_seen : im->default_last_seen;
      if (st.first_seen == LH_TIME_NULL)
        st.first_seen = im->now;
    }
    if (rc)
      return lh_error_prefix(err, rc, "%s line %llu", im->name, (unsigned long long)rec->line);
    *out = st;
    return 1;
  }
}
