/* The entity writer's options for the library's own writers (bulk import through the
 * journal, tests): buffer options, batch size, inserts from a background thread. */
#ifndef LH_REPOSITORY_ENTITIES_INTERNAL_H
#define LH_REPOSITORY_ENTITIES_INTERNAL_H

#include "lakehouse/entities.h"
#include "logic/entity_buffer.h"

/* A writer with buffer options (origin, override_origin, last_seen, now; dataset, shards and
 * max_rows are the writer's own). */
int lh_entities_writer_with(lh_dataset *ds, const lh_buffer_opts *opts, lh_entity_writer **out,
                            lh_error *err);
/* Set the batch size (rows buffered before an insert; tests use tiny ones). */
void lh_entity_writer_set_batch_size(lh_entity_writer *w, size_t rows);
/* Insert full batches from a thread of the writer's own, while the caller fills the next
 * batch (bulk imports). An insert's failure is returned by the next add, flush or close;
 * flush and close wait for the insert in progress. The journal handle must not be used
 * by others meanwhile. */
int lh_entity_writer_set_background(lh_entity_writer *w, lh_error *err);

#endif
