/* The entity buffer (inventory §8.1): statement rows collected in memory before they go
 * to the journal or straight into the statement store. Rows are re-keyed to the target
 * dataset (carried ids are ignored), deduplicated on (id, origin, fragment) with the last
 * write winning, and handed out grouped by shard. An entity is added whole: its rows and
 * its BASE (`id`) row never split across two hand-overs. */
#ifndef LH_LOGIC_ENTITY_BUFFER_H
#define LH_LOGIC_ENTITY_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

#include "lakehouse/entity.h"
#include "lakehouse/row.h"
#include "lakehouse/statement.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_buffer_opts {
  const char *dataset;  /* target dataset (required) */
  int shards;           /* the dataset's shard count */
  const char *origin;   /* default origin (NULL: "default") */
  bool override_origin; /* the default origin wins over the items' own */
  size_t max_rows;      /* adds before the buffer is full (0: LAKEHOUSE_MAX_BUFFER_ROWS) */
  lh_time last_seen;    /* emission time for items without one (LH_TIME_NULL: now) */
  lh_time now;          /* first_seen of entities without one (LH_TIME_NULL: the clock) */
} lh_buffer_opts;

typedef struct lh_entity_buffer lh_entity_buffer;

int lh_entity_buffer_new(const lh_buffer_opts *opts, lh_entity_buffer **out, lh_error *err);
void lh_entity_buffer_free(lh_entity_buffer *b);

/* Add every statement of an entity (namespace-stripped, timestamps per inventory §8.1,
 * BASE row last). origin/fragment override the buffer default / the entity's own when not
 * NULL. LH_ELIMIT, adding nothing, when the buffer is already full. */
int lh_entity_buffer_add_entity(lh_entity_buffer *b, const lh_entity *e, const char *origin,
                                const char *fragment, lh_error *err);

/* Add one statement. Its id is recomputed under the target dataset, prop_type and bucket
 * come from the model (unknown schema or property: LH_EINVAL naming it), lang is dropped
 * for non-linguistic types. Origin precedence: `origin` > the statement's > the buffer's.
 * fragment NULL: the statement's (NULL there: ""). deleted_at marks a tombstone (its
 * last_seen becomes deleted_at). LH_ELIMIT when full. */
int lh_entity_buffer_add_statement(lh_entity_buffer *b, const lh_statement *st, lh_time deleted_at,
                                   const char *fragment, const char *origin, lh_error *err);

/* Adds since the last clear (re-emissions included: the capacity measure). */
size_t lh_entity_buffer_size(const lh_entity_buffer *b);
/* Distinct rows held. */
size_t lh_entity_buffer_rows(const lh_entity_buffer *b);
bool lh_entity_buffer_full(const lh_entity_buffer *b);

/* The rows, ordered by shard (insertion order within a shard). Missing first_seen /
 * last_seen are set to `now` (LH_TIME_NULL: the current time). Valid until the next add
 * or clear. */
int lh_entity_buffer_take(lh_entity_buffer *b, lh_time now, const lh_row **rows, size_t *n,
                          lh_error *err);
void lh_entity_buffer_clear(lh_entity_buffer *b);

#ifdef __cplusplus
}
#endif
#endif
