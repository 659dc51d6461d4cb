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
  if (x->seen && !lh__strmap_get(x->seen, d->id, NULL)) { /* once per id, of several parents */
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

typedef struct doc_diff {
  lh__documents *docs;
  lh__sink *o;
  lh__id_spill missing; /* ids not found: the DEL rows, written after every ADD row */
} doc_diff;

/* One batch of changed ids: the ADD rows of those still documents; the others to missing. */
static int add_batch(void *ctx, const lh__ids *batch, lh_error *err) {
  doc_diff *d = ctx;
  lh__strmap seen;
  lh__strmap_init(&seen);
  doc_out x = {d->o, "ADD", &seen};
  int rc =
      lh__documents_each(d->docs, (const char *const *)batch->v, batch->n, write_document, &x, err);
  for (size_t i = 0; i < batch->n && !rc; i++)
    if (!lh__strmap_get(&seen, batch->v[i], NULL))
      rc = lh__id_spill_add(&d->missing, batch->v[i], strlen(batch->v[i]), err);
  lh__strmap_free_keys(&seen);
  return rc;
}

/* DEL rows carry the id only. */
static int del_batch(void *ctx, const lh__ids *batch, lh_error *err) {
  lh__sink *o = ((doc_diff *)ctx)->o;
  for (size_t i = 0; i < batch->n; i++) {
    if (lh_buf_puts(&o->buf, "DEL,") ||
        lh_csv_write_str(&o->buf, batch->v[i], LH_CSV_QUOTE_MINIMAL) ||
        lh_buf_puts(&o->buf, ",,,,,,,\r\n"))
      return lh_error_nomem(err);
    o->items++;
  }
  return lh__sink_drain(o, LH__SINK_CHUNK, err);
}

/* The ADD rows of the changed documents (in id order, a batch of ids at a time), then the DEL
 * rows of the ids not found. */
static int documents_changed(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err) {
  doc_diff d = {NULL, o, {0}};
  int rc = lh__id_spill_open(&d.missing, err);
  rc = rc ? rc : lh__documents_open(ds, &d.docs, err);
  rc = rc ? rc : lh__id_spill_each(ids, add_batch, &d, err);
  rc = rc ? rc : lh__id_spill_each(&d.missing, del_batch, &d, err);
  lh__id_spill_close(&d.missing);
  lh__documents_close(d.docs);
  return rc;
}

int lh__documents_diff_lines(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err) {
  int rc = lh_buf_puts(&o->buf, "op," LH_DOCUMENTS_CSV_HEADER "\r\n") ? lh_error_nomem(err) : 0;
  if (!rc)
    rc = ids ? documents_changed(ds, ids, o, err) : documents_copy_added(ds, o, err);
  lh_error_ensure(err, rc);
  return rc;
}
