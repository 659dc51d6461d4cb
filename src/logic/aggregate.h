/* Statements -> entities (inventory §8.6). Statements must arrive grouped by entity id
 * (entity-contiguous), as the store and the exports produce them. */
#ifndef LH_LOGIC_AGGREGATE_H
#define LH_LOGIC_AGGREGATE_H

#include "lakehouse/entity.h"
#include "lakehouse/statement.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_aggregator lh_aggregator;

int lh_aggregator_new(const lh_model *model, lh_entity_fn fn, void *ctx, lh_aggregator **out,
                      lh_error *err);
void lh_aggregator_free(lh_aggregator *a);
/* Add a statement; when its entity id differs from the previous one, the previous entity
 * is finished and handed to fn first. Unknown schema or property: LH_EINVAL. */
int lh_aggregator_add(lh_aggregator *a, const lh_statement *st, lh_error *err);
/* Finish the last entity. */
int lh_aggregator_finish(lh_aggregator *a, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
