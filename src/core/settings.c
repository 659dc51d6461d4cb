/* Settings from LAKEHOUSE_* environment variables. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/uri.h"
#include "lakehouse/settings.h"

static int env_str(const char *name, const char *def, char **out) {
  const char *v = getenv(name);
  if (!v || !*v)
    v = def;
  *out = v ? strdup(v) : NULL;
  return v && !*out ? LH_ENOMEM : 0;
}

static int env_int64(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                     lh_error *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  while (*end == ' ')
    end++;
  if (errno || end == v || *end || n < min || n > max)
    return lh_error_set(err, LH_EINVAL, "%s: expected an integer between %lld and %lld, got '%s'",
                        name, (long long)min, (long long)max, v);
  *out = n;
  return 0;
}

static int env_int(const char *name, int def, int min, int max, int *out, lh_error *err) {
  int64_t v;
  int rc = env_int64(name, def, min, max, &v, err);
  if (rc == 0)
    *out = (int)v;
  return rc;
}

static int env_bool(const char *name, bool def, bool *out, lh_error *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  static const char *yes[] = {"1", "true", "yes", "on", "y", "t"};
  static const char *no[] = {"0", "false", "no", "off", "n", "f"};
  for (size_t i = 0; i < 6; i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcasecmp(v, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return lh_error_set(err, LH_EINVAL, "%s: expected a boolean (true/false), got '%s'", name, v);
}

int lh_settings_load(lh_settings *s, lh_error *err) {
  memset(s, 0, sizeof *s);
  int rc;
  if ((rc = env_str("LAKEHOUSE_URI", "./data", &s->uri)) ||
      (rc = env_str("LAKEHOUSE_JOURNAL_URI", NULL, &s->journal_uri)) ||
      (rc = env_str("LAKEHOUSE_DUCKDB_MEMORY_LIMIT", "8GB", &s->duckdb_memory_limit)) ||
      (rc = env_str("LAKEHOUSE_DUCKDB_TEMP_DIRECTORY", NULL, &s->duckdb_temp_directory)) ||
      (rc =
           env_str("LAKEHOUSE_DUCKDB_EXTENSION_DIRECTORY", NULL, &s->duckdb_extension_directory)) ||
      (rc = env_str("LAKEHOUSE_PUBLIC_URL_PREFIX", NULL, &s->public_url_prefix)) ||
      (rc = env_str("LAKEHOUSE_API_KEY", NULL, &s->api_key)) ||
      (rc = env_str("LAKEHOUSE_API_SECRET", NULL, &s->api_secret)) ||
      (rc = env_str("LAKEHOUSE_ZFS_POOL", NULL, &s->zfs_pool)) ||
      (rc = env_str("LAKEHOUSE_FTM_MODEL", NULL, &s->ftm_model)) ||
      (rc = env_str("LOG_LEVEL", "info", &s->log_level))) {
    lh_error_set(err, rc, "out of memory reading settings");
    goto fail;
  }
  if ((rc = env_int("LAKEHOUSE_GRACE_PERIOD_DAYS", 30, 0, 36500, &s->grace_period_days, err)) ||
      (rc = env_int64("LAKEHOUSE_MAX_BUFFER_ROWS", 1000000, 1, INT64_MAX / 2, &s->max_buffer_rows,
                      err)) ||
      (rc = env_int("LAKEHOUSE_LOCK_MAX_RETRIES", 22, 0, 100000, &s->lock_max_retries, err)) ||
      (rc = env_int("LAKEHOUSE_LOCK_STALE_SECONDS", 300, 1, 86400 * 7, &s->lock_stale_seconds,
                    err)) ||
      (rc = env_int("LAKEHOUSE_APPEND_WRITERS", 0, 0, 64, &s->append_writers, err)) ||
      (rc = env_int("LAKEHOUSE_CRAWL_WORKERS", 0, 0, 64, &s->crawl_workers, err)) ||
      (rc = env_int("LAKEHOUSE_DUCKDB_THREADS", 0, 0, 4096, &s->duckdb_threads, err)) ||
      (rc = env_int64("LAKEHOUSE_EXPORT_SLICE_ROWS", 250000, 1, INT64_MAX / 2,
                      &s->export_slice_rows, err)) ||
      (rc = env_int("LAKEHOUSE_API_QUERY_MAX_FILTER_KEYS", 20, 1, 100000,
                    &s->api_query_max_filter_keys, err)) ||
      (rc = env_int("LAKEHOUSE_API_QUERY_MAX_IN_VALUES", 10000, 1, 10000000,
                    &s->api_query_max_in_values, err)) ||
      (rc =
           env_int64("LAKEHOUSE_SQL_MAX_ROWS", 1000000, 1, INT64_MAX / 2, &s->sql_max_rows, err)) ||
      (rc = env_int("LAKEHOUSE_SQL_TIMEOUT", 300, 1, 86400 * 7, &s->sql_timeout, err)) ||
      (rc = env_bool("LAKEHOUSE_ON_ZFS", false, &s->on_zfs, err)) ||
      (rc = env_bool("DEBUG", false, &s->debug, err)))
    goto fail;
  return 0;
fail:
  lh_settings_free(s);
  return rc;
}

void lh_settings_free(lh_settings *s) {
  free(s->uri);
  free(s->journal_uri);
  free(s->duckdb_memory_limit);
  free(s->duckdb_temp_directory);
  free(s->duckdb_extension_directory);
  free(s->public_url_prefix);
  free(s->api_key);
  free(s->api_secret);
  free(s->zfs_pool);
  free(s->ftm_model);
  free(s->log_level);
  memset(s, 0, sizeof *s);
}

bool lh_settings_api_mode(const lh_settings *s) {
  return s->uri && strncmp(s->uri, "http", 4) == 0;
}

char *lh_settings_journal_uri(const lh_settings *s) {
  if (lh_settings_api_mode(s))
    return strdup(s->uri);
  if (s->journal_uri)
    return strdup(s->journal_uri);
  char *root = lh__uri_local_path(s->uri, NULL);
  if (!root)
    return NULL;
  char *out = NULL;
  if (asprintf(&out, "sqlite:///%s/journal.db", root) < 0)
    out = NULL;
  free(root);
  return out;
}

static json_t *str_or_null(const char *s) {
  return s ? json_string(s) : json_null();
}

int lh_settings_to_json(const lh_settings *s, lh_buf *out) {
  char *journal = lh_settings_journal_uri(s);
  json_t *o = json_pack(
      "{s:o, s:o, s:o, s:i, s:I, s:i, s:i, s:i, s:i, s:I, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:b, "
      "s:o,"
      " s:i, s:i, s:I, s:i, s:o, s:s, s:b}",
      "uri", str_or_null(s->uri), "journal_uri", str_or_null(s->journal_uri),
      "resolved_journal_uri", str_or_null(journal), "grace_period_days", s->grace_period_days,
      "max_buffer_rows", (json_int_t)s->max_buffer_rows, "lock_max_retries", s->lock_max_retries,
      "lock_stale_seconds", s->lock_stale_seconds, "append_writers", s->append_writers,
      "crawl_workers", s->crawl_workers, "export_slice_rows", (json_int_t)s->export_slice_rows,
      "duckdb_memory_limit", s->duckdb_memory_limit, "duckdb_threads", s->duckdb_threads,
      "duckdb_temp_directory", str_or_null(s->duckdb_temp_directory), "duckdb_extension_directory",
      str_or_null(s->duckdb_extension_directory), "public_url_prefix",
      str_or_null(s->public_url_prefix), "api_key", s->api_key ? json_string("***") : json_null(),
      "api_secret", s->api_secret ? json_string("***") : json_null(), "on_zfs", s->on_zfs,
      "zfs_pool", str_or_null(s->zfs_pool), "api_query_max_filter_keys",
      s->api_query_max_filter_keys, "api_query_max_in_values", s->api_query_max_in_values,
      "sql_max_rows", (json_int_t)s->sql_max_rows, "sql_timeout", s->sql_timeout, "ftm_model",
      str_or_null(s->ftm_model), "log_level", s->log_level, "debug", s->debug);
  free(journal);
  if (!o)
    return LH_ENOMEM;
  char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!text)
    return LH_ENOMEM;
  int rc = lh_buf_puts(out, text);
  free(text);
  return rc;
}
