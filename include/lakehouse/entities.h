/* The entity repository of a dataset (inventory §7.3-7.5, §8): writes go through the SQL
 * journal and reach the statement store on flush; bulk imports go straight into the store;
 * reads use the store's live view. */
#ifndef LAKEHOUSE_ENTITIES_H
#define LAKEHOUSE_ENTITIES_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/entity.h"
#include "lakehouse/row.h"
#include "lakehouse/statement.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_dataset lh_dataset;

/* ---- writing through the journal -------------------------------------------------------- */

/* Rows a writer buffers before it inserts them into the journal (Python WRITE_BATCH_SIZE). */
#define LH_WRITE_BATCH_SIZE 10000

typedef struct lh_entity_writer lh_entity_writer;

/* A writer with a default origin (NULL: "default"). */
LH_API int lh_entities_writer(lh_dataset *ds, const char *origin, lh_entity_writer **out,
                              lh_error *err);
/* Add every statement of an entity (namespace-stripped, timestamps per inventory §8.1, BASE
 * row last), or one statement (deleted_at: LH_TIME_NULL, or a tombstone's time). origin /
 * fragment, when not NULL, override the writer's default / the entity's own. A full batch
 * is inserted afterwards, so an entity never splits from its BASE row. */
LH_API int lh_entity_writer_add_entity(lh_entity_writer *w, const lh_entity *e, const char *origin,
                                       const char *fragment, lh_error *err);
LH_API int lh_entity_writer_add_statement(lh_entity_writer *w, const lh_statement *st,
                                          lh_time deleted_at, const char *fragment,
                                          const char *origin, lh_error *err);
/* Insert what is buffered (and wait for it). */
LH_API int lh_entity_writer_flush(lh_entity_writer *w, lh_error *err);
/* Rows inserted into the journal by this writer so far. */
LH_API uint64_t lh_entity_writer_inserted(const lh_entity_writer *w);
/* Finish: insert the rest, stamp journal/last_updated, free. */
LH_API int lh_entity_writer_close(lh_entity_writer *w, lh_error *err);
/* Give up: drop what is still buffered (earlier inserts stay), free. */
LH_API void lh_entity_writer_abort(lh_entity_writer *w);

/* add_many: one writer for all entities. */
LH_API int lh_entities_add(lh_dataset *ds, lh_entity *const *entities, size_t n, const char *origin,
                           const char *fragment, lh_error *err);

typedef struct lh_flush_result {
  uint64_t rows;
  size_t segments;
  bool busy; /* another flush of the dataset was running: nothing done */
} lh_flush_result;
/* Drain the journal into the statement store (inventory §7.4). */
LH_API int lh_entities_flush(lh_dataset *ds, lh_flush_result *res, lh_error *err);
/* Rows waiting in the journal. */
LH_API int lh_entities_journal_count(lh_dataset *ds, uint64_t *n, lh_error *err);

/* Tombstone every live statement of an entity (store and journal, inventory §8.5); takes
 * effect in reads after flush. *n: tombstones written (0: unknown entity). */
LH_API int lh_entities_delete(lh_dataset *ds, const char *entity_id, uint64_t *n, lh_error *err);

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct lh_prop_filter {
  const char *prop; /* property name, or a type group ("countries", "names", ...) */
  const char *value;
} lh_prop_filter;

/* A filter expression (ftmq's Query nodes): AND / OR / NOT over leaves. A leaf compares a
 * field with values: "schema", "schemata" (is-a), "id" (also entity_id, canonical_id),
 * "dataset", "origin", a property ("name", "properties.name") or a type group
 * ("countries", "group.countries"). An entity matches a leaf when one of its statements does
 * (ids compare the entity itself). */
typedef enum lh_qcmp {
  LH_QC_EQ,
  LH_QC_NOT, /* not equal */
  LH_QC_IN,
  LH_QC_NOT_IN,
  LH_QC_NULL, /* values[0] "true": the entity has no value for the field; "false": it has */
  LH_QC_GT,
  LH_QC_GTE,
  LH_QC_LT,
  LH_QC_LTE,
  LH_QC_LIKE, /* contains, as ftmq wraps the value in %...% */
  LH_QC_ILIKE,
  LH_QC_NOTLIKE,
  LH_QC_NOTILIKE,
  LH_QC_STARTSWITH,
  LH_QC_ENDSWITH
} lh_qcmp;

typedef enum lh_qnode_kind { LH_QN_LEAF, LH_QN_AND, LH_QN_OR, LH_QN_NOT } lh_qnode_kind;

typedef struct lh_qnode {
  lh_qnode_kind kind;
  struct lh_qnode *const *children; /* AND / OR: any number; NOT: one */
  size_t nchildren;
  const char *field; /* a leaf's */
  lh_qcmp cmp;
  const char *const *values;
  size_t nvalues;
} lh_qnode;

/* Entity filters; lists are OR-ed within, different fields AND-ed, and `filter` AND-ed with
 * them. */
typedef struct lh_entity_query {
  const char *const *schema; /* exact schema names */
  size_t nschema;
  const char *const *schemata; /* schema or any descendant (is-a) */
  size_t nschemata;
  const char *const *entity_ids;
  size_t nentity_ids;
  const lh_prop_filter *props;
  size_t nprops;
  const char *const *origins; /* only statements of these origins */
  size_t norigins;
  const lh_qnode *filter; /* NULL: none */
  const char *sort;       /* a property or type group to order entities by (NULL: by id) */
  bool sort_desc;
  int64_t limit; /* entities; < 0: all (a zeroed query: set it) */
  int64_t offset;
  void *storage; /* owned strings of a parsed query */
} lh_entity_query;

/* The largest limit or offset a query accepts. */
#define LH_QUERY_COUNT_MAX 1000000000000000LL

/* Parse an Aleph-style filter string ("filter:schema=Person&filter:countries=de&limit=5").
 * Keys: filter:schema, filter:schemata, filter:id / filter:entity_id, filter:origin,
 * filter:PROP, filter:properties.PROP, filter:group.GROUP / filter:GROUP (each also as
 * filter:gt:, filter:gte:, filter:lt:, filter:lte:, and exclude:FIELD for "not"), sort=PROP
 * or sort=-PROP, limit, offset. Values may be URL-encoded. Free with lh_entity_query_free. */
LH_API int lh_entity_query_parse(const char *text, lh_entity_query *q, lh_error *err);
/* Parse an RQL string as ftmq takes it (inventory §2.3): and(...), or(...), not(...),
 * eq(field,value), ne, in(field,(a,b)), out, lt, le, gt, ge, like, ilike, sort(+f) / sort(-f),
 * limit(count[,start]); values URL-encoded. Free with lh_entity_query_free. */
LH_API int lh_entity_query_parse_rql(const char *text, lh_entity_query *q, lh_error *err);
/* The longest query text either parser takes. */
#define LH_QUERY_TEXT_MAX (1 << 20)
LH_API void lh_entity_query_free(lh_entity_query *q);

/* Entities matching q (NULL: all), aggregated (inventory §8.6), ordered by id. */
LH_API int lh_entities_query(lh_dataset *ds, const lh_entity_query *q, lh_entity_fn fn, void *ctx,
                             lh_error *err);
/* Their live statement rows, ordered by (entity_id, prop, id). */
LH_API int lh_entities_query_statements(lh_dataset *ds, const lh_entity_query *q, lh_row_fn fn,
                                        void *ctx, lh_error *err);
/* One entity; fn is not called when it does not exist (*found false). */
LH_API int lh_entities_get(lh_dataset *ds, const char *entity_id, lh_entity_fn fn, void *ctx,
                           bool *found, lh_error *err);

typedef struct lh_entity_stats {
  uint64_t entities;
  uint64_t statements;
} lh_entity_stats;
LH_API int lh_entities_stats(lh_dataset *ds, lh_entity_stats *out, lh_error *err);
/* Whether the statement store exists (has a Delta log). */
LH_API int lh_entities_exists(lh_dataset *ds, bool *exists, lh_error *err);
/* 1 when partitions were written since their last merge. */
LH_API int lh_entities_needs_merge(lh_dataset *ds, lh_error *err);

/* ---- bulk import (inventory §2.3, §2.4, §8.2) ----------------------------------------------- */

typedef enum lh_import_format {
  LH_IMPORT_ENTITIES = 0, /* FtM entity JSON lines (delta envelopes too: DEL lines skipped) */
  LH_IMPORT_STATEMENTS    /* statements CSV: lakehouse, nomenklatura v4, or the pack format */
} lh_import_format;

#define LH_BULK_SIZE_MAX 1000000000000LL

typedef struct lh_import_opts {
  lh_import_format format;
  const char *origin;   /* default origin (NULL: "bulk") */
  bool override_origin; /* --override-origin */
  size_t bulk_size;     /* rows per store commit (0: LAKEHOUSE_MAX_BUFFER_ROWS), at most
                           LH_BULK_SIZE_MAX */
  lh_time last_seen;    /* --last-seen (LH_TIME_NULL: now) */
  bool unsafe;          /* --unsafe: accepted for the Python CLI; the rows are the same */
  bool strict;          /* --strict: what would be dropped (res->drops) is an error instead */
  bool journal;         /* write through the journal instead of into the store */
  const char *name;     /* the input's name in messages */
  /* progress: called every few thousand items */
  void (*progress)(void *ctx, uint64_t items, uint64_t rows);
  void *progress_ctx;
} lh_import_opts;

typedef struct lh_import_result {
  uint64_t items;   /* entities or statement lines accepted */
  uint64_t rows;    /* statement rows written (before the store's deduplication) */
  uint64_t commits; /* store commits (journal inserts when opts.journal) */
  uint64_t skipped; /* delete operations and statements without an entity */
  lh_drops drops;   /* what was dropped, by kind (see lh_drops_describe) */
} lh_import_result;

/* Import from fd. On a bad line the error names the input and line; everything before it
 * is committed (or in the journal), nothing of the bad line is. */
LH_API int lh_entities_import(lh_dataset *ds, int fd, const lh_import_opts *opts,
                              lh_import_result *res, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
