/* The documents repository: document entities -> documents.csv rows (inventory §9.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/conventions.h"
#include "core/strmap.h"
#include "lakehouse/documents.h"
#include "lakehouse/entities.h"
#include "lakehouse/mime.h"
#include "model/statement_csv.h"
#include "repository/exports.h"

typedef struct folder {
  char *id, *name, *parent;
  char *path; /* resolved lazily */
  int state;  /* 0 unresolved, 1 resolving, 2 resolved */
} folder;

typedef struct folders {
  folder *v;
  size_t n, cap;
  lh__strmap by_id;
} folders;

static int first_value(const lh_entity *e, const char *prop, const char **out) {
  size_t n;
  const char *const *v = lh_entity_values(e, prop, &n);
  *out = n ? v[0] : NULL;
  return (int)n;
}

static int collect_folder(lh_entity *e, void *ctx) {
  folders *f = ctx;
  if (LH_ARRAY_RESERVE(f->v, f->cap, f->n + 1, 64))
    return LH_ENOMEM;
  const char *name, *parent;
  if (!first_value(e, "fileName", &name))
    name = lh_entity_caption(e);
  first_value(e, "parent", &parent);
  folder *x = &f->v[f->n];
  memset(x, 0, sizeof *x);
  x->id = strdup(lh_entity_id(e));
  x->name = strdup(name ? name : "");
  x->parent = parent ? strdup(parent) : NULL;
  if (!x->id || !x->name || (parent && !x->parent))
    return LH_ENOMEM;
  f->n++;
  return 0;
}

static void folders_free(folders *f) {
  for (size_t i = 0; i < f->n; i++) {
    free(f->v[i].id);
    free(f->v[i].name);
    free(f->v[i].parent);
    free(f->v[i].path);
  }
  free(f->v);
  lh__strmap_free(&f->by_id);
}

/* The path of folder i ("a/b"); NULL on a cycle. */
static const char *folder_path(folders *f, uint32_t i) {
  folder *x = &f->v[i];
  if (x->state == 2)
    return x->path;
  if (x->state == 1)
    return NULL; /* a cycle: no path */
  x->state = 1;
  uint32_t p;
  const char *base = NULL;
  bool has_parent = x->parent && lh__strmap_get(&f->by_id, x->parent, &p);
  if (has_parent)
    base = folder_path(f, p);
  if (!has_parent || base) {
    size_t n = (base ? strlen(base) + 1 : 0) + strlen(x->name) + 1;
    if ((x->path = malloc(n)))
      snprintf(x->path, n, "%s%s%s", base ? base : "", base ? "/" : "", x->name);
  }
  x->state = 2;
  return x->path;
}

typedef struct docs_ctx {
  folders *folders;
  const lh_model *model;
  const lh_schema *folder_schema;
  const char *prefix;
  lh_document_fn fn;
  void *ctx;
  int stop;
} docs_ctx;

static int emit_document(lh_entity *e, void *vctx) {
  docs_ctx *c = vctx;
  if (lh_entity_schema(e) == c->folder_schema)
    return 0;
  const char *checksum;
  if (!first_value(e, "contentHash", &checksum))
    return 0;
  size_t nmime;
  const char *const *mimes = lh_entity_values(e, "mimeType", &nmime);
  const char *name = lh_entity_caption(e);
  char mbuf[LH_MIME_SIZE];
  const char *mime = lh_mime_pick(mimes, nmime, lh_mime_guess(name), mbuf);
  const char *size_s;
  first_value(e, "fileSize", &size_s);
  char url[1024] = "";
  if (c->prefix && strlen(checksum) == 64) {
    char *blob = lh_path_archive_blob(checksum, NULL);
    if (blob) {
      size_t pl = strlen(c->prefix);
      snprintf(url, sizeof url, "%s%s%s", c->prefix, pl && c->prefix[pl - 1] == '/' ? "" : "/",
               blob);
      free(blob);
    }
  }
  const char *changed = lh_entity_meta(e, LH_META_LAST_CHANGE);
  lh_document d = {.id = lh_entity_id(e),
                   .checksum = checksum,
                   .name = name ? name : "",
                   .mimetype = mime,
                   .path = "",
                   .size = size_s ? strtoll(size_s, NULL, 10) : 0,
                   .updated_at = changed ? changed : "",
                   .public_url = url};
  size_t nparents;
  const char *const *parents = lh_entity_values(e, "parent", &nparents);
  bool any = false;
  int rc = 0;
  for (size_t i = 0; i < nparents && !rc; i++) {
    uint32_t fi;
    const char *p =
        lh__strmap_get(&c->folders->by_id, parents[i], &fi) ? folder_path(c->folders, fi) : NULL;
    if (!p)
      continue;
    d.path = p;
    any = true;
    rc = c->fn(c->ctx, &d, NULL);
  }
  if (!any && !rc) {
    d.path = "";
    rc = c->fn(c->ctx, &d, NULL);
  }
  if (rc)
    c->stop = rc;
  return rc;
}

struct lh__documents {
  lh_dataset *ds;
  const lh_model *model;
  folders folders;
  char *prefix;
};

int lh__documents_open(lh_dataset *ds, lh__documents **out, lh_error *err) {
  *out = NULL;
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err ? err->code : LH_EINVAL;
  lh__documents *d = calloc(1, sizeof *d);
  if (!d)
    return lh_error_nomem(err);
  d->ds = ds;
  d->model = model;
  lh__strmap_init(&d->folders.by_id);
  static const char *const FOLDER[] = {"Folder"};
  lh_entity_query fq = {.schema = FOLDER, .nschema = 1, .limit = -1};
  int rc = lh_entities_query(ds, &fq, collect_folder, &d->folders, err);
  if (rc == LH_ENOMEM)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  for (size_t i = 0; i < d->folders.n && !rc; i++)
    if (lh__strmap_put(&d->folders.by_id, d->folders.v[i].id, (uint32_t)i))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  d->prefix = lh__ctx_public_prefix(ds);
  if (rc) {
    lh__documents_close(d);
    return rc;
  }
  *out = d;
  return 0;
}

int lh__documents_each(lh__documents *d, const char *const *ids, size_t nids, lh_document_fn fn,
                       void *ctx, lh_error *err) {
  static const char *const DOCUMENT[] = {"Document"};
  docs_ctx c = {&d->folders, d->model, lh_model_schema(d->model, "Folder"), d->prefix, fn, ctx, 0};
  lh_entity_query dq = {
      .schemata = DOCUMENT, .nschemata = 1, .entity_ids = ids, .nentity_ids = nids, .limit = -1};
  int rc = lh_entities_query(d->ds, &dq, emit_document, &c, err);
  return c.stop ? c.stop : rc;
}

void lh__documents_close(lh__documents *d) {
  if (!d)
    return;
  free(d->prefix);
  folders_free(&d->folders);
  free(d);
}

int lh_documents_iterate(lh_dataset *ds, const char *const *ids, size_t nids, lh_document_fn fn,
                         void *ctx, lh_error *err) {
  lh__documents *d;
  int rc = lh__documents_open(ds, &d, err);
  if (!rc)
    rc = lh__documents_each(d, ids, nids, fn, ctx, err);
  lh__documents_close(d);
  return rc;
}

int lh_document_csv_row(const lh_document *d, const char *op, lh_buf *out) {
  int rc = 0;
  if (op)
    rc = lh_buf_printf(out, "%s,", op);
  const char *fields[] = {d->id, d->checksum, d->name, d->mimetype, d->path};
  for (size_t i = 0; i < 5 && !rc; i++) {
    rc = lh_csv_write_str(out, fields[i] ? fields[i] : "", LH_CSV_QUOTE_MINIMAL);
    rc = rc ? rc : lh_buf_putc(out, ',');
  }
  rc = rc ? rc : lh_buf_printf(out, "%lld,", (long long)d->size);
  rc = rc ? rc : lh_csv_write_str(out, d->updated_at ? d->updated_at : "", LH_CSV_QUOTE_MINIMAL);
  rc = rc ? rc : lh_buf_putc(out, ',');
  rc = rc ? rc : lh_csv_write_str(out, d->public_url ? d->public_url : "", LH_CSV_QUOTE_MINIMAL);
  return rc ? rc : lh_buf_puts(out, "\r\n");
}
