/* The exports the repositories own (inventory §9.3): statements.csv and entities.ftm.json
 * (entities_export.c), documents.csv (documents_export.c), statistics.json (statistics.c),
 * index.json (index.c) and the entity and document diffs (diffs.c). Each writes its
 * artifact; when to run one (freshness, job records) is operation/export.c's business. */
#ifndef LH_REPOSITORY_EXPORTS_H
#define LH_REPOSITORY_EXPORTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "lakehouse/documents.h"
#include "repository/context.h"
#include "store/codec.h"

/* An export being written: a compressed writer behind a buffer drained in chunks. */
typedef struct lh__sink {
  lh_cwriter *w;
  lh_buf buf;
  uint64_t items; /* lines or rows written, for the log */
} lh__sink;

/* Bytes buffered before a write to an export. */
#define LH__SINK_CHUNK (1 << 20)

int lh__sink_open(lh_store *store, const char *key, lh_codec codec, lh__sink *o, lh_error *err);
/* Write the buffer out once it holds more than `above` bytes. */
int lh__sink_drain(lh__sink *o, size_t above, lh_error *err);
/* rc == 0: drain and commit; otherwise abort (nothing is published). Returns the result. */
int lh__sink_close(lh__sink *o, int rc, lh_error *err);
/* Remove `base` with the suffixes of the codecs other than `keep` (left from an earlier
 * compression setting). */
int lh__sink_remove_stale(lh_store *store, const char *base, lh_codec keep, lh_error *err);
/* An lh__read_fn over an lh_creader, for the line and CSV readers. */
int lh__creader_read_fn(void *ctx, void *buf, size_t n, size_t *got, lh_error *err);

/* Stream the export at `base` (in whichever compression it was written), decompressed, to
 * fn. LH_ENOTFOUND when there is none. */
int lh__export_read(lh_store *store, const char *base, lh_bytes_fn fn, void *ctx, lh_error *err);

/* A batch of entity ids of a diff: owned strings. */
typedef struct lh__ids {
  char **v;
  size_t n, cap;
} lh__ids;
void lh__ids_clear(lh__ids *ids);
void lh__ids_free(lh__ids *ids);

/* The ids of a diff as they come from the store, spilled to an unlinked temporary file (a
 * diff after a full re-import names every entity) and read back in batches. */
typedef struct lh__id_spill {
  FILE *f;
  uint64_t n;
} lh__id_spill;
int lh__id_spill_open(lh__id_spill *s, lh_error *err);
/* lh_statement_store_changed_ids callback: one more id. */
int lh__id_spill_add(void *ctx, const char *id, size_t n, lh_error *err);
typedef int (*lh__ids_fn)(void *ctx, const lh__ids *batch, lh_error *err);
/* Every id added so far, from the first and in the order added, to fn in batches of (up to)
 * LH__DIFF_BATCH; a non-zero return of fn stops and is returned. */
int lh__id_spill_each(lh__id_spill *s, lh__ids_fn fn, void *ctx, lh_error *err);
void lh__id_spill_close(lh__id_spill *s);

/* Ids looked up per query by a diff (Python's QUERY_IN_BATCH_SIZE): the entities diff
 * writes each batch's ADD lines, then its DEL lines. */
#define LH__DIFF_BATCH 5000

/* entities_export.c */
int lh__statements_export(lh_dataset *ds, lh_error *err);
/* entities.ftm.json, from a fresh statements.csv when there is one, else the store. */
int lh__entities_export(lh_dataset *ds, lh_tags *tags, lh_error *err);
/* The diff lines of the changed entities: ADD (the entity) or DEL (the id). ids NULL: the
 * first diff, every line of the export as an ADD. */
int lh__entities_diff_lines(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err);

/* documents.c: the documents of a dataset read a batch of ids at a time, with the folders
 * (for their paths) loaded once. */
typedef struct lh__documents lh__documents;
int lh__documents_open(lh_dataset *ds, lh__documents **out, lh_error *err);
/* lh_documents_iterate's contract, on the documents among ids. */
int lh__documents_each(lh__documents *d, const char *const *ids, size_t nids, lh_document_fn fn,
                       void *ctx, lh_error *err);
void lh__documents_close(lh__documents *d);

/* documents_export.c */
int lh__documents_export(lh_dataset *ds, lh_error *err);
/* The documents diff CSV (header, ADD rows, DEL rows). ids NULL: the first diff, every row of
 * the documents.csv just written as an ADD. */
int lh__documents_diff_lines(lh_dataset *ds, lh__id_spill *ids, lh__sink *o, lh_error *err);

/* statistics.c: exports/statistics.json (versioned). */
int lh__statistics_export(lh_dataset *ds, lh_error *err);

/* index.c: index.json (versioned), and the published index (else the dataset model). */
int lh__index_export(lh_dataset *ds, lh_error *err);
int lh__index_get(lh_dataset *ds, lh_buf *out, lh_error *err);

/* diffs.c: the diff of the entities or documents export since the last one, under diffs/,
 * and its state tag; nothing when the store has not changed. */
int lh__diff_export(lh_dataset *ds, lh_tags *tags, bool documents, lh_error *err);

#endif
