/* ftm-lakehouse: the storage engine and data standard for FollowTheMoney data.
 *
 * Ownership, stated once for the whole API:
 *   - `_new` / `_open` pair with `_free` / `_close`;
 *   - a returned `char *` is the caller's to free();
 *   - the callee never keeps a pointer to caller-owned memory beyond the call;
 *   - pointers into a model (schemata, properties, types) live as long as the model.
 * Errors: functions return 0 (or a count) on success and a negative LH_E* code on failure,
 * filling an optional `lh_error *err` with a message (see lakehouse/error.h). */
#ifndef LAKEHOUSE_H
#define LAKEHOUSE_H

#include "lakehouse/api.h"
#include "lakehouse/archive.h"
#include "lakehouse/buf.h"
#include "lakehouse/catalog.h"
#include "lakehouse/dataset.h"
#include "lakehouse/documents.h"
#include "lakehouse/entities.h"
#include "lakehouse/entity.h"
#include "lakehouse/error.h"
#include "lakehouse/ftm.h"
#include "lakehouse/log.h"
#include "lakehouse/maintenance.h"
#include "lakehouse/mime.h"
#include "lakehouse/operations.h"
#include "lakehouse/row.h"
#include "lakehouse/settings.h"
#include "lakehouse/statement.h"
#include "lakehouse/store.h"
#include "lakehouse/util.h"
#include "lakehouse/validate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Library version ("0.1.0") and the Python project's conventions version ("0.4.0"). */
LH_API const char *lh_version(void);
LH_API const char *lh_conventions_version(void);

#ifdef __cplusplus
}
#endif
#endif
