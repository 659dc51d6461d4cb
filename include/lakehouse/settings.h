/* Settings from the environment: the LAKEHOUSE_* variables of inventory §4.1 that apply
 * to this implementation, plus LAKEHOUSE_FTM_MODEL. */
#ifndef LAKEHOUSE_SETTINGS_H
#define LAKEHOUSE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lh_settings {
  char *uri;                        /* LAKEHOUSE_URI, default "./data" */
  char *journal_uri;                /* LAKEHOUSE_JOURNAL_URI, default sqlite:///{lake}/journal.db */
  int grace_period_days;            /* LAKEHOUSE_GRACE_PERIOD_DAYS, 30 */
  int64_t max_buffer_rows;          /* LAKEHOUSE_MAX_BUFFER_ROWS, 1000000 */
  int lock_max_retries;             /* LAKEHOUSE_LOCK_MAX_RETRIES, 22 */
  int lock_stale_seconds;           /* LAKEHOUSE_LOCK_STALE_SECONDS, 300: a lock without a heartbeat
                                      for this long is taken over */
  int append_writers;               /* LAKEHOUSE_APPEND_WRITERS, 0: one Parquet writer per core
                                      (at most 4) for large appends */
  int crawl_workers;                /* LAKEHOUSE_CRAWL_WORKERS, 0: one per core (at most 8):
                                      threads reading, hashing and copying files for a crawl */
  int64_t export_slice_rows;        /* LAKEHOUSE_EXPORT_SLICE_ROWS, 250000: rows sorted at a time
                                      by the statements.csv export (bounds its memory) */
  char *duckdb_memory_limit;        /* LAKEHOUSE_DUCKDB_MEMORY_LIMIT, "8GB": the process's DuckDB,
                                      shared by every dataset it opens */
  int duckdb_threads;               /* LAKEHOUSE_DUCKDB_THREADS, 0: one per core */
  char *duckdb_temp_directory;      /* LAKEHOUSE_DUCKDB_TEMP_DIRECTORY */
  char *duckdb_extension_directory; /* LAKEHOUSE_DUCKDB_EXTENSION_DIRECTORY */
  char *public_url_prefix;          /* LAKEHOUSE_PUBLIC_URL_PREFIX (${dataset} placeholder) */
  char *api_key;                    /* LAKEHOUSE_API_KEY */
  char *api_secret;                 /* LAKEHOUSE_API_SECRET */
  bool on_zfs;                      /* LAKEHOUSE_ON_ZFS */
  char *zfs_pool;                   /* LAKEHOUSE_ZFS_POOL */
  int api_query_max_filter_keys;    /* LAKEHOUSE_API_QUERY_MAX_FILTER_KEYS, 20 */
  int api_query_max_in_values;      /* LAKEHOUSE_API_QUERY_MAX_IN_VALUES, 10000 */
  int64_t sql_max_rows;             /* LAKEHOUSE_SQL_MAX_ROWS, 1000000: result rows of user SQL */
  int sql_timeout;                  /* LAKEHOUSE_SQL_TIMEOUT, 300: seconds a user query may run */
  char *ftm_model; /* LAKEHOUSE_FTM_MODEL: compiled model JSON replacing the embedded one */
  char *log_level; /* LOG_LEVEL, "info" */
  bool debug;      /* DEBUG */
} lh_settings;

/* Read the environment. Invalid values fail with LH_EINVAL naming the variable. */
LH_API int lh_settings_load(lh_settings *s, lh_error *err);
LH_API void lh_settings_free(lh_settings *s);
/* True when the lake URI is http(s):// (API mode). */
LH_API bool lh_settings_api_mode(const lh_settings *s);
/* The journal URI in effect: LAKEHOUSE_URI in API mode, else the explicit journal URI,
 * else sqlite:///{lake root}/journal.db for a local lake (NULL for other lakes). Caller frees. */
LH_API char *lh_settings_journal_uri(const lh_settings *s);
/* One JSON object with every setting (secrets masked). */
LH_API int lh_settings_to_json(const lh_settings *s, lh_buf *out);

#ifdef __cplusplus
}
#endif
#endif
