/* Operations: explicit multi-step workflows over a dataset (layer 4). */
#ifndef LH_OPERATION_H
#define LH_OPERATION_H

#include "lakehouse/dataset.h"

int lh__operation_optimize(lh_dataset *ds, const lh_optimize_opts *o, lh_optimize_result *res,
                           lh_error *err);

#endif
