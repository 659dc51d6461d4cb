/* The documents repository's exports (inventory §9.3): exports/documents.csv and the rows
 * of the documents diff. */
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "core/csv_reader.h"
#include "core/strmap.h"
#include "lakehouse/documents.h"
#include "lakehouse/log.h"
#include "repository/exports.h"

typedef struct doc_out {
  lh__sink *o;
  const char *op;
  lh__strmap *seen; /* diff: ids written */
} doc_out;

static int write_document(void *ctx, const lh_document *d, lh_error *err) {
  (void)err;
  doc_out *x = ctx;
  if (lh_document_csv_row(d, x->op, &x->o->buf))
    return LH_ENOMEM;
  x->o->items++;
  if (x->seen) {
    char *id = strdup(d->id);
    if (!id || lh__strmap_put(x->seen, id, 1)) {
      free(id);
      return LH_ENOMEM;
    }
  }
  return lh__sink_drain(x->o, LH__SINK_CHUNK, NULL);
}

int lh__documents_export(lh_dataset *ds, lh_error *err) {
  lh__sink o;
  int rc = lh__sink_open(ds->store, LH_PATH_EXPORTS_DOCUMENTS, LH_CODEC_NONE, &o, err);
  if (rc)
    return rc;
  rc = lh_buf_puts(&o.buf, LH_DOCUMENTS_CSV_HEADER "\r\n") ? lh_error_nomem(err) : 0;
  doc_out x = {&o, NULL, NULL};
  if (!rc)
    rc = lh_documents_iterate(ds, NULL, 0, write_document, &x, err);
  lh_error_ensure(err, rc);
  if (!rc && o.items == 0) {
    /* no documents: no file (Python short-circuits), and none left from earlier ones */
    lh_cwriter_abort(o.w);
    lh_buf_free(&o.buf);
    lh_log_info("%s: no documents to export", ds->name);
    rc = lh_store_delete(ds->store, LH_PATH_EXPORTS_DOCUMENTS, err);
    if (rc == LH_ENOTFOUND) {
      lh_error_clear(err);
      rc = 0;
    }
    return rc;
  }
  rc = lh__sink_close(&o, rc, err);
  if (!rc)
    lh_log_info("%s: exported %llu documents to %s", ds->name, (unsigned long long)o.items,
                LH_PATH_EXPORTS_DOCUMENTS);
  return rc;
}

/* ---- diffs -------------------------------------------------------------------------------- */

/* The first documents diff: every row of the documents.csv just written, as ADD. */
static int documents_copy_added(lh_dataset *ds, lh__sink *o, lh_error *err) {
  lh_creader *rd;
  int rc = lh_creader_open(ds->store, LH_PATH_EXPORTS_DOCUMENTS, LH_CODEC_NONE, &rd, err);
  if (rc)
    return rc;
  lh__csv *csv = lh__csv_open_reader(lh__creader_read_fn, rd, 0);
  lh__csv_record rec;
  rc = csv ? lh__csv_next(csv, &rec, err) : lh_error_nomem(err); /* the header */
  while (rc == 1) {
    if ((rc = lh__csv_next(csv, &rec, err)) != 1)
      break;
    int w = lh_buf_puts(&o->buf, "ADD");
    for (size_t i = 0; i < rec.nfields && !w; i++)
      w = lh_buf_putc(&o->buf, ',') ||
          lh_csv_write_str(&o->buf, rec.fields[i], LH_CSV_QUOTE_MINIMAL);
    w = w || lh_buf_puts(&o->buf, "\r\n");
    o->items++;
    rc = w ? lh_error_nomem(err) : lh__sink_drain(o, LH__SINK_CHUNK, err);
    if (!rc)
      rc = 1;
  }
  lh__csv_close(csv);
  lh_creader_close(rd);
  return rc < 0 ? rc : 0;
}

int lh__documents_diff_lines(lh_dataset *ds, const lh__ids *ids, lh__sink *o, lh_error *err) {
  lh__strmap seen;
  lh__strmap_init(&seen);
  doc_out x = {o, "ADD", &seen};
  int rc = lh_buf_puts(&o->buf, "op," LH_DOCUMENTS_CSV_HEADER "\r\n") ? lh_error_nomem(err) : 0;
  if (!rc && ids)
    rc = lh_documents_iterate(ds, (const char *const *)ids->v, ids->n, write_document, &x, err);
  else if (!rc)
    rc = documents_copy_added(ds, o, err);
  for (size_t i = 0; ids && i < ids->n && !rc; i++) {
    if (lh__strmap_get(&seen, ids->v[i], NULL))
      continue;
    /* DEL rows carry the id only */
    rc = lh_buf_puts(&o->buf, "DEL,") ||
                 lh_csv_write_str(&o->buf, ids->v[i], LH_CSV_QUOTE_MINIMAL) ||
                 lh_buf_puts(&o->buf, ",,,,,,,\r\n")
             ? lh_error_nomem(err)
             : 0;
    o->items++;
  }
  lh_error_ensure(err, rc);
  lh__strmap_free_keys(&seen);
  return rc;
}
