/* The exports the repositories own (inventory §9.3): statements.csv and entities.ftm.json
 * (entities_export.c), documents.csv (documents_export.c), statistics.json (statistics.c),
 * index.json (index.c) and the entity and document diffs (diffs.c). Each writes its
 * artifact; when to run one (freshness, job records) is operation/export.c's business. */
#ifndef LH_REPOSITORY_EXPORTS_H
#define LH_REPOSITORY_EXPORTS_H

#include <stdbool.h>
#include <stdint.h>

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

/* Entity ids of a diff: owned strings. */
typedef struct lh__ids {
  char **v;
  size_t n, cap;
} lh__ids;
/* lh_statement_store_changed_ids callback appending to an lh__ids. */
int lh__ids_collect(void *ctx, const char *s, size_t n, lh_error *err);
void lh__ids_free(lh__ids *ids);

/* entities_export.c */
int lh__statements_export(lh_dataset *ds, lh_error *err);
/* entities.ftm.json, from a fresh statements.csv when there is one, else the store. */
int lh__entities_export(lh_dataset *ds, lh_tags *tags, lh_error *err);
/* The diff lines of the changed entities: ADD (the entity) or DEL (the id). ids NULL: the
 * first diff, every line of the export as an ADD. */
int lh__entities_diff_lines(lh_dataset *ds, const lh__ids *ids, lh__sink *o, lh_error *err);

/* documents_export.c */
int lh__documents_export(lh_dataset *ds, lh_error *err);
/* The documents diff CSV (header, ADD rows, DEL rows). ids NULL: the first diff, every row of
 * the documents.csv just written as an ADD. */
int lh__documents_diff_lines(lh_dataset *ds, const lh__ids *ids, lh__sink *o, lh_error *err);

/* statistics.c: exports/statistics.json (versioned). */
int lh__statistics_export(lh_dataset *ds, lh_error *err);

/* index.c: index.json (versioned), and the published index (else the dataset model). */
int lh__index_export(lh_dataset *ds, lh_error *err);
int lh__index_get(lh_dataset *ds, lh_buf *out, lh_error *err);

/* diffs.c: the diff of the entities or documents export since the last one, under diffs/,
 * and its state tag; nothing when the store has not changed. */
int lh__diff_export(lh_dataset *ds, lh_tags *tags, bool documents, lh_error *err);

#endif
