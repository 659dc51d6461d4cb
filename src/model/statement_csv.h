/* The lakehouse statements CSV (exports/statements.csv, STATEMENT_CSV_COLUMNS): header
 * row, string values double-quoted (quotes doubled), nulls empty, booleans true/false,
 * timestamps "YYYY-MM-DD HH:MM:SS.ffffffZ" (UTC), "\n" line ends — the bytes pyarrow's CSV
 * writer produces for the same table. */
#ifndef LH_MODEL_STATEMENT_CSV_H
#define LH_MODEL_STATEMENT_CSV_H

#include "lakehouse/buf.h"
#include "lakehouse/statement.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_STATEMENT_CSV_NCOLUMNS 15
extern const char *const LH_STATEMENT_CSV_COLUMNS[LH_STATEMENT_CSV_NCOLUMNS];

int lh_statement_csv_header(lh_buf *out);
/* One row; canonical_id is the entity id (single-dataset store). */
int lh_statement_csv_row(const lh_statement *st, lh_buf *out);
#define LH_CSV_TS_SIZE 48
void lh_csv_format_timestamp(lh_time t, char out[LH_CSV_TS_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
