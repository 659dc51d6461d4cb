/* FtM entities from JSON lines (entities.ftm.json, delta files): the one reader the bulk
 * import and `statements explode` share. Blank lines are skipped, so are the entities the
 * parser drops (counted in the entity's lh_drops); delete operations are counted. */
#ifndef LH_MODEL_ENTITY_LINES_H
#define LH_MODEL_ENTITY_LINES_H

#include <stdint.h>

#include "lakehouse/entity.h"

typedef struct lh__entity_lines lh__entity_lines;

/* Read entities of `model` from fd (not closed); name: the input in messages. drops: where
 * the parser counts what it drops (its `line` kept current; NULL: not counted). */
int lh__entity_lines_open(int fd, const char *name, const lh_model *model, lh_drops *drops,
                          lh__entity_lines **out, lh_error *err);
void lh__entity_lines_close(lh__entity_lines *r);
/* The next entity into *e (valid until the next call): 1, 0 at the end, or a negative code
 * with the error naming the input and, for a bad line, its number. */
int lh__entity_lines_next(lh__entity_lines *r, lh_entity **e, lh_error *err);
/* The number of the line of the last entity returned. */
uint64_t lh__entity_lines_line(const lh__entity_lines *r);
/* Delete operations (delta lines with op DEL) skipped so far. */
uint64_t lh__entity_lines_deletes(const lh__entity_lines *r);

#endif
