/* lh_model internals shared by the loader and the type cleaners. */
#ifndef LH_FTM_MODEL_INTERNAL_H
#define LH_FTM_MODEL_INTERNAL_H

#include "core/arena.h"
#include "lakehouse/ftm.h"

/* A normalised country name or code and the FtM country code it stands for. */
typedef struct lh__country_key {
  char *key;
  const char *code;
} lh__country_key;

struct lh_model {
  lh__arena arena;
  lh_type *types;
  size_t ntypes;
  lh_schema *schemata; /* sorted by name; index == position */
  const lh_schema **by_name;
  size_t nschemata;
  lh__country_key *countries; /* sorted by key (malloc'd) */
  size_t ncountries;
};

/* Country lookup: codes and English labels from the model, extended with alpha-3 codes,
 * QIDs, other codes and strong names when LAKEHOUSE_FTM_TERRITORIES names a rigour
 * territories data.jsonl. */
int lh__model_country_index(lh_model *m, lh_error *err);
int lh__model_territories_load(lh_model *m, const char *path, lh_error *err);
void lh__model_territories_load_env(lh_model *m);
void lh__model_territories_free(lh_model *m);
/* Lookup of a cleaned value; returns the FtM code or NULL. */
const char *lh__model_country_lookup(const lh_model *m, const char *value, size_t len);

#endif
