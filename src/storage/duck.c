/* DuckDB glue for the storage layer (see duck.h). */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lakehouse/entity.h"
#include "lakehouse/log.h"
#include "storage/duck.h"

#define PINNED_DUCKDB "v1.5.6"

/* ---- the connection --------------------------------------------------------------------- */

static void register_rows(lh__duck *d);
static int query_on(duckdb_connection con, const char *sql, lh__row_source *src, duckdb_result *res,
                    lh_error *err);

static int set_config(duckdb_config cfg, const char *key, const char *value, lh_error *err) {
  if (duckdb_set_config(cfg, key, value) == DuckDBError)
    return lh_error_set(err, LH_EINVAL, "DuckDB rejects %s = '%s'", key, value);
  return 0;
}

/* The process's DuckDB for the lake's own work. */
static struct {
  pthread_mutex_t mu;
  duckdb_database db;
  int users;   /* connections open (lh__duck_open) */
  int serial;  /* lh__duck_serial_begin holders */
  int threads; /* LAKEHOUSE_DUCKDB_THREADS (0: DuckDB's default, one per core) */
  lh__duck_rows rows;
} shared = {.mu = PTHREAD_MUTEX_INITIALIZER, .rows = {.mu = PTHREAD_MUTEX_INITIALIZER}};

/* Open an in-memory DuckDB with extensions never installed or loaded on their own, and the
 * given memory limit, threads, spill and extension folders (NULL / 0: the defaults). */
static int open_database(duckdb_database *db, const char *memory_limit, int threads,
                         const char *temp_directory, const char *extension_directory,
                         lh_error *err) {
  duckdb_config cfg;
  if (duckdb_create_config(&cfg) == DuckDBError)
    return lh_error_set(err, LH_ENOMEM, "cannot configure DuckDB");
  char nthreads[16];
  snprintf(nthreads, sizeof nthreads, "%d", threads);
  int rc = set_config(cfg, "autoinstall_known_extensions", "false", err);
  rc = rc ? rc : set_config(cfg, "autoload_known_extensions", "false", err);
  if (!rc && memory_limit && *memory_limit)
    rc = set_config(cfg, "memory_limit", memory_limit, err);
  if (!rc && threads > 0)
    rc = set_config(cfg, "threads", nthreads, err);
  if (!rc && temp_directory)
    rc = set_config(cfg, "temp_directory", temp_directory, err);
  if (!rc && extension_directory)
    rc = set_config(cfg, "extension_directory", extension_directory, err);
  /* DuckDB keeps the bytes it read from Parquet files in its buffer pool, up to the memory
   * limit, for a later read of the same file. A sliced read touches every byte once, so the
   * cache only grew with the dataset (entities iterate of 10M statements: 240 MB peak RSS
   * with it, 180 MB without, and no slower); the OS page cache does this job for local files. */
  if (!rc)
    rc = set_config(cfg, "enable_external_file_cache", "false", err);
  if (rc) {
    duckdb_destroy_config(&cfg);
    return lh_error_prefix(err, rc, "LAKEHOUSE_DUCKDB_*");
  }
  char *open_err = NULL;
  if (duckdb_open_ext(NULL, db, cfg, &open_err) == DuckDBError) {
    rc = lh_error_set(err, LH_EIO, "cannot open DuckDB: %s", open_err ? open_err : "?");
    duckdb_free(open_err);
  }
  duckdb_destroy_config(&cfg);
  return rc;
}

/* d->con: a connection to d->db in UTC. */
static int connect_utc(lh__duck *d, lh_error *err) {
  if (duckdb_connect(d->db, &d->con) == DuckDBError) {
    d->con = NULL;
    return lh_error_set(err, LH_EIO, "cannot connect to DuckDB");
  }
  /* Parquet footers parsed once per process: every slice of a sliced read (and each of its
   * subqueries) names the same files, and a file we write is never changed in place (a new
   * version is a new name), so the cache (keyed on path and modification time) never goes
   * stale. Without it a limited query of 10M statements spent 2-6 s re-parsing footers. */
  int rc = lh__duck_exec(d, "SET TimeZone='UTC'", err);
  return rc ? rc : lh__duck_exec(d, "SET parquet_metadata_cache = true", err);
}

/* The shared database, opened by its first user. */
static int shared_acquire(const lh_settings *s, lh_error *err) {
  int rc = 0;
  pthread_mutex_lock(&shared.mu);
  if (!shared.db) {
    const char *version = duckdb_library_version();
    if (strcmp(version, PINNED_DUCKDB) != 0)
      lh_log_warning("DuckDB %s found, this build was tested with %s", version, PINNED_DUCKDB);
    shared.threads = s ? s->duckdb_threads : 0;
    rc = open_database(&shared.db, s ? s->duckdb_memory_limit : NULL, shared.threads,
                       s ? s->duckdb_temp_directory : NULL,
                       s ? s->duckdb_extension_directory : NULL, err);
    lh__duck reg = {shared.db, NULL, &shared.rows, false};
    if (!rc && (rc = connect_utc(&reg, err)) == 0)
      register_rows(&reg); /* in the database's catalog: every connection sees it */
    if (reg.con)
      duckdb_disconnect(&reg.con);
    if (rc && shared.db)
      duckdb_close(&shared.db);
    shared.db = rc ? NULL : shared.db;
  }
  if (!rc)
    shared.users++;
  pthread_mutex_unlock(&shared.mu);
  return rc;
}

static void shared_release(void) {
  pthread_mutex_lock(&shared.mu);
  assert(shared.users > 0);
  if (--shared.users == 0) {
    duckdb_close(&shared.db);
    shared.db = NULL;
    shared.serial = 0;
  }
  pthread_mutex_unlock(&shared.mu);
}

int lh__duck_shared_users(void) {
  pthread_mutex_lock(&shared.mu);
  int n = shared.users;
  pthread_mutex_unlock(&shared.mu);
  return n;
}

int lh__duck_open(lh__duck *d, const lh_settings *s, lh_error *err) {
  memset(d, 0, sizeof *d);
  int rc = shared_acquire(s, err);
  if (rc)
    return rc;
  d->db = shared.db;
  d->rows = &shared.rows;
  d->shared = true;
  if ((rc = connect_utc(d, err)) != 0)
    lh__duck_close(d);
  return rc;
}

int lh__duck_serial_begin(lh__duck *d, lh_error *err) {
  assert(d->shared);
  pthread_mutex_lock(&shared.mu);
  int rc = shared.serial == 0 ? lh__duck_exec(d, "SET threads = 1", err) : 0;
  if (!rc)
    shared.serial++;
  pthread_mutex_unlock(&shared.mu);
  return rc;
}

void lh__duck_serial_end(lh__duck *d) {
  pthread_mutex_lock(&shared.mu);
  assert(shared.serial > 0);
  if (--shared.serial == 0) {
    char sql[64];
    if (shared.threads > 0)
      snprintf(sql, sizeof sql, "SET threads = %d", shared.threads);
    else
      snprintf(sql, sizeof sql, "RESET threads");
    lh__duck_exec(d, sql, NULL);
  }
  pthread_mutex_unlock(&shared.mu);
}

int lh__duck_open_confined(lh__duck *d, const lh_settings *s, const char *const *paths,
                           size_t npaths, const char *spill_dir, lh_error *err) {
  memset(d, 0, sizeof *d);
  int rc = open_database(&d->db, s ? s->duckdb_memory_limit : NULL, 0, spill_dir, NULL, err);
  if (rc)
    return rc;
  if ((rc = connect_utc(d, err)) != 0) {
    lh__duck_close(d);
    return rc;
  }
  /* the files a query may open: exactly these paths, and the private spill folder */
  lh_buf sql = LH_BUF_INIT;
  rc = lh_buf_puts(&sql, "SET allowed_paths = [");
  for (size_t i = 0; i < npaths && !rc; i++) {
    rc = i ? lh_buf_putc(&sql, ',') : 0;
    rc = rc ? rc : lh__sql_quote(&sql, paths[i]);
  }
  rc = rc ? rc : lh_buf_putc(&sql, ']');
  if (rc)
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
  rc = rc ? rc : lh__duck_exec(d, sql.data, err);
  if (!rc && spill_dir) {
    lh_buf_reset(&sql);
    if (lh_buf_puts(&sql, "SET allowed_directories = [") || lh__sql_quote(&sql, spill_dir) ||
        lh_buf_putc(&sql, ']'))
      rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    else
      rc = lh__duck_exec(d, sql.data, err);
  }
  /* one way: external access cannot be switched back on */
  rc = rc ? rc : lh__duck_exec(d, "SET enable_external_access = false", err);
  lh_buf_free(&sql);
  if (rc) {
    lh__duck_close(d);
    return lh_error_prefix(err, rc, "cannot confine DuckDB");
  }
  return 0;
}

int lh__duck_lock_configuration(lh__duck *d, lh_error *err) {
  return lh__duck_exec(d, "SET lock_configuration = true", err);
}

void lh__duck_close(lh__duck *d) {
  if (d->con)
    duckdb_disconnect(&d->con);
  if (d->shared)
    shared_release();
  else if (d->db)
    duckdb_close(&d->db);
  memset(d, 0, sizeof *d);
}

int lh__duck_connect(lh__duck *d, duckdb_connection *out, lh_error *err) {
  if (duckdb_connect(d->db, out) == DuckDBError)
    return lh_error_set(err, LH_EIO, "cannot connect to DuckDB");
  duckdb_result res;
  int rc = query_on(*out, "SET TimeZone='UTC'", NULL, &res, err);
  if (rc) {
    duckdb_disconnect(out);
    return rc;
  }
  duckdb_destroy_result(&res);
  return 0;
}

int lh__duck_error(duckdb_error_type type, const char *msg, lh_error *err) {
  int rc;
  switch (type) {
  case DUCKDB_ERROR_PARSER:
  case DUCKDB_ERROR_BINDER:
  case DUCKDB_ERROR_CATALOG:
  case DUCKDB_ERROR_CONVERSION:
  case DUCKDB_ERROR_CONSTRAINT:
  case DUCKDB_ERROR_INVALID_INPUT:
  case DUCKDB_ERROR_PERMISSION: rc = LH_EINVAL; break;
  case DUCKDB_ERROR_INTERRUPT: rc = LH_ELIMIT; break;
  case DUCKDB_ERROR_OUT_OF_MEMORY: rc = LH_ENOMEM; break;
  default: rc = LH_EIO;
  }
  /* one line: DuckDB appends "LINE 1: ..." context on further lines */
  const char *text = msg ? msg : "query failed";
  size_t n = strcspn(text, "\n");
  while (n && text[n - 1] == ' ')
    n--;
  return lh_error_set(err, rc, "DuckDB: %.*s", (int)n, text);
}

int lh__duck_stream(lh__duck *d, duckdb_connection con, const char *sql, lh__duck_chunk_fn fn,
                    void *ctx, lh_error *err) {
  duckdb_prepared_statement prep = NULL;
  duckdb_pending_result pending = NULL;
  duckdb_result res;
  int rc = 0;
  if (duckdb_prepare(con ? con : d->con, sql, &prep) == DuckDBError) {
    rc = lh__duck_error(DUCKDB_ERROR_PARSER, duckdb_prepare_error(prep), err);
    duckdb_destroy_prepare(&prep);
    return rc;
  }
  if (duckdb_pending_prepared_streaming(prep, &pending) == DuckDBError) {
    rc = lh__duck_error(DUCKDB_ERROR_INVALID, duckdb_pending_error(pending), err);
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&prep);
    return rc;
  }
  if (duckdb_execute_pending(pending, &res) == DuckDBError) {
    rc = lh__duck_error(duckdb_result_error_type(&res), duckdb_result_error(&res), err);
    duckdb_destroy_result(&res);
    duckdb_destroy_pending(&pending);
    duckdb_destroy_prepare(&prep);
    return rc;
  }
  duckdb_destroy_pending(&pending);
  duckdb_destroy_prepare(&prep);
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    if (!chunk) {
      if (duckdb_result_error(&res)) /* the stream broke off */
        rc = lh__duck_error(duckdb_result_error_type(&res), duckdb_result_error(&res), err);
      break;
    }
    rc = fn(ctx, chunk, err);
    duckdb_destroy_data_chunk(&chunk);
    if (rc)
      break;
  }
  duckdb_destroy_result(&res);
  return rc;
}

static int query_on(duckdb_connection con, const char *sql, lh__row_source *src, duckdb_result *res,
                    lh_error *err) {
  if (duckdb_query(con, sql, res) == DuckDBError) {
    int rc;
    if (src && src->rc) { /* the row source failed: its error is the real one */
      rc = src->rc;
      if (err)
        *err = src->err;
    } else {
      rc = lh__duck_error(duckdb_result_error_type(res), duckdb_result_error(res), err);
    }
    duckdb_destroy_result(res);
    return rc;
  }
  return 0;
}

int lh__duck_query(lh__duck *d, const char *sql, duckdb_result *res, lh_error *err) {
  return query_on(d->con, sql, NULL, res, err);
}

int lh__duck_exec(lh__duck *d, const char *sql, lh_error *err) {
  duckdb_result res;
  int rc = lh__duck_query(d, sql, &res, err);
  if (rc == 0)
    duckdb_destroy_result(&res);
  return rc;
}

/* ---- values as JSON ---------------------------------------------------------------------- */

bool lh__duck_valid(duckdb_vector vec, idx_t row) {
  uint64_t *v = duckdb_vector_get_validity(vec);
  return !v || duckdb_validity_row_is_valid(v, row);
}

static int json_timestamp(lh_buf *out, int64_t us, bool utc) {
  char iso[LH_ISO_SIZE];
  lh_time_format_ftm(us, iso);
  int64_t frac = us % 1000000;
  if (frac < 0)
    frac += 1000000;
  return lh_buf_printf(out, "\"%s.%06" PRId64 "%s\"", iso, frac, utc ? "Z" : "");
}

static int json_int128(lh_buf *out, __int128 v) {
  char tmp[48];
  int i = 47;
  tmp[i] = '\0';
  bool neg = v < 0;
  unsigned __int128 u = neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
  do {
    tmp[--i] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (neg)
    tmp[--i] = '-';
  return lh_buf_puts(out, tmp + i);
}

static int json_decimal(lh_buf *out, __int128 v, uint8_t scale) {
  lh_buf digits = LH_BUF_INIT;
  int rc = json_int128(&digits, v < 0 ? -v : v);
  if (rc == 0) {
    size_t n = digits.len;
    if (v < 0)
      rc = lh_buf_putc(out, '-');
    if (scale == 0) {
      rc = rc ? rc : lh_buf_append(out, digits.data, n);
    } else if (n > scale) {
      rc = rc ? rc : lh_buf_append(out, digits.data, n - scale);
      rc = rc ? rc : lh_buf_putc(out, '.');
      rc = rc ? rc : lh_buf_append(out, digits.data + n - scale, scale);
    } else {
      rc = rc ? rc : lh_buf_puts(out, "0.");
      for (size_t i = n; i < scale && !rc; i++)
        rc = lh_buf_putc(out, '0');
      rc = rc ? rc : lh_buf_append(out, digits.data, n);
    }
  }
  lh_buf_free(&digits);
  return rc;
}

int lh__duck_value_json(duckdb_vector vec, duckdb_logical_type type, idx_t row, lh_buf *out) {
  if (!lh__duck_valid(vec, row))
    return lh_buf_puts(out, "null");
  void *data = duckdb_vector_get_data(vec);
  duckdb_type id = duckdb_get_type_id(type);
  switch (id) {
  case DUCKDB_TYPE_BOOLEAN: return lh_buf_puts(out, ((bool *)data)[row] ? "true" : "false");
  case DUCKDB_TYPE_TINYINT: return lh_buf_printf(out, "%d", ((int8_t *)data)[row]);
  case DUCKDB_TYPE_SMALLINT: return lh_buf_printf(out, "%d", ((int16_t *)data)[row]);
  case DUCKDB_TYPE_INTEGER: return lh_buf_printf(out, "%" PRId32, ((int32_t *)data)[row]);
  case DUCKDB_TYPE_BIGINT: return lh_buf_printf(out, "%" PRId64, ((int64_t *)data)[row]);
  case DUCKDB_TYPE_UTINYINT: return lh_buf_printf(out, "%u", ((uint8_t *)data)[row]);
  case DUCKDB_TYPE_USMALLINT: return lh_buf_printf(out, "%u", ((uint16_t *)data)[row]);
  case DUCKDB_TYPE_UINTEGER: return lh_buf_printf(out, "%" PRIu32, ((uint32_t *)data)[row]);
  case DUCKDB_TYPE_UBIGINT: return lh_buf_printf(out, "%" PRIu64, ((uint64_t *)data)[row]);
  case DUCKDB_TYPE_HUGEINT: {
    duckdb_hugeint h = ((duckdb_hugeint *)data)[row];
    return json_int128(out, ((__int128)h.upper << 64) | h.lower);
  }
  case DUCKDB_TYPE_FLOAT: return lh_buf_printf(out, "%.9g", (double)((float *)data)[row]);
  case DUCKDB_TYPE_DOUBLE: return lh_buf_printf(out, "%.17g", ((double *)data)[row]);
  case DUCKDB_TYPE_DECIMAL: {
    uint8_t scale = duckdb_decimal_scale(type);
    switch (duckdb_decimal_internal_type(type)) {
    case DUCKDB_TYPE_SMALLINT: return json_decimal(out, ((int16_t *)data)[row], scale);
    case DUCKDB_TYPE_INTEGER: return json_decimal(out, ((int32_t *)data)[row], scale);
    case DUCKDB_TYPE_BIGINT: return json_decimal(out, ((int64_t *)data)[row], scale);
    default: {
      duckdb_hugeint h = ((duckdb_hugeint *)data)[row];
      return json_decimal(out, ((__int128)h.upper << 64) | h.lower, scale);
    }
    }
  }
  case DUCKDB_TYPE_VARCHAR: {
    duckdb_string_t *s = &((duckdb_string_t *)data)[row];
    return lh_json_write_string(out, duckdb_string_t_data(s), duckdb_string_t_length(*s));
  }
  case DUCKDB_TYPE_BLOB: {
    duckdb_string_t *s = &((duckdb_string_t *)data)[row];
    const unsigned char *p = (const unsigned char *)duckdb_string_t_data(s);
    uint32_t n = duckdb_string_t_length(*s);
    int rc = lh_buf_puts(out, "\"\\\\x");
    char hex[3];
    for (uint32_t i = 0; i < n && !rc; i++) {
      snprintf(hex, sizeof hex, "%02x", p[i]);
      rc = lh_buf_append(out, hex, 2);
    }
    return rc ? rc : lh_buf_putc(out, '"');
  }
  case DUCKDB_TYPE_TIMESTAMP_TZ: return json_timestamp(out, ((int64_t *)data)[row], true);
  case DUCKDB_TYPE_TIMESTAMP: return json_timestamp(out, ((int64_t *)data)[row], false);
  case DUCKDB_TYPE_TIMESTAMP_S: return json_timestamp(out, ((int64_t *)data)[row] * 1000000, false);
  case DUCKDB_TYPE_TIMESTAMP_MS: return json_timestamp(out, ((int64_t *)data)[row] * 1000, false);
  case DUCKDB_TYPE_TIMESTAMP_NS: return json_timestamp(out, ((int64_t *)data)[row] / 1000, false);
  case DUCKDB_TYPE_DATE: {
    duckdb_date_struct dt = duckdb_from_date(((duckdb_date *)data)[row]);
    return lh_buf_printf(out, "\"%04d-%02d-%02d\"", (int)dt.year, dt.month, dt.day);
  }
  case DUCKDB_TYPE_LIST:
  case DUCKDB_TYPE_MAP: {
    duckdb_list_entry e = ((duckdb_list_entry *)data)[row];
    duckdb_vector child = duckdb_list_vector_get_child(vec);
    duckdb_logical_type ctype = duckdb_list_type_child_type(type);
    int rc = 0;
    if (id == DUCKDB_TYPE_LIST) {
      rc = lh_buf_putc(out, '[');
      for (idx_t i = 0; i < e.length && !rc; i++) {
        if (i)
          rc = lh_buf_putc(out, ',');
        if (!rc)
          rc = lh__duck_value_json(child, ctype, e.offset + i, out);
      }
      rc = rc ? rc : lh_buf_putc(out, ']');
    } else { /* MAP = LIST(STRUCT(key, value)): an object with the keys as strings */
      duckdb_vector keys = duckdb_struct_vector_get_child(child, 0);
      duckdb_vector vals = duckdb_struct_vector_get_child(child, 1);
      duckdb_logical_type kt = duckdb_struct_type_child_type(ctype, 0);
      duckdb_logical_type vt = duckdb_struct_type_child_type(ctype, 1);
      lh_buf key = LH_BUF_INIT;
      rc = lh_buf_putc(out, '{');
      for (idx_t i = 0; i < e.length && !rc; i++) {
        if (i)
          rc = lh_buf_putc(out, ',');
        lh_buf_reset(&key);
        rc = rc ? rc : lh__duck_value_json(keys, kt, e.offset + i, &key);
        if (!rc && key.len && key.data[0] == '"')
          rc = lh_buf_append(out, key.data, key.len);
        else if (!rc)
          rc = lh_json_write_string(out, key.data, key.len);
        rc = rc ? rc : lh_buf_putc(out, ':');
        rc = rc ? rc : lh__duck_value_json(vals, vt, e.offset + i, out);
      }
      rc = rc ? rc : lh_buf_putc(out, '}');
      lh_buf_free(&key);
      duckdb_destroy_logical_type(&kt);
      duckdb_destroy_logical_type(&vt);
    }
    duckdb_destroy_logical_type(&ctype);
    return rc;
  }
  case DUCKDB_TYPE_STRUCT: {
    idx_t n = duckdb_struct_type_child_count(type);
    int rc = lh_buf_putc(out, '{');
    for (idx_t i = 0; i < n && !rc; i++) {
      char *name = duckdb_struct_type_child_name(type, i);
      duckdb_logical_type ct = duckdb_struct_type_child_type(type, i);
      if (i)
        rc = lh_buf_putc(out, ',');
      rc = rc ? rc : lh_json_write_string(out, name, strlen(name));
      rc = rc ? rc : lh_buf_putc(out, ':');
      rc = rc ? rc : lh__duck_value_json(duckdb_struct_vector_get_child(vec, i), ct, row, out);
      duckdb_destroy_logical_type(&ct);
      duckdb_free(name);
    }
    return rc ? rc : lh_buf_putc(out, '}');
  }
  default: return lh_buf_printf(out, "\"<unsupported DuckDB type %d>\"", (int)id);
  }
}

int lh__duck_each_row(lh__duck *d, const char *sql, lh__duck_row_fn fn, void *ctx, lh_error *err) {
  return lh__duck_each_row_on(d, d->con, sql, NULL, fn, ctx, err);
}

int lh__duck_each_row_on(lh__duck *d, duckdb_connection con, const char *sql, lh__row_source *src,
                         lh__duck_row_fn fn, void *ctx, lh_error *err) {
  (void)d;
  duckdb_result res;
  int rc = query_on(con, sql, src, &res, err);
  if (rc)
    return rc;
  idx_t ncols = duckdb_column_count(&res);
  const char **names = calloc(ncols ? ncols : 1, sizeof *names);
  const char **vals = calloc(ncols ? ncols : 1, sizeof *vals);
  duckdb_logical_type *types = calloc(ncols ? ncols : 1, sizeof *types);
  lh_buf *bufs = calloc(ncols ? ncols : 1, sizeof *bufs);
  if (!names || !vals || !types || !bufs) {
    rc = lh_error_set(err, LH_ENOMEM, "out of memory");
    goto done;
  }
  for (idx_t c = 0; c < ncols; c++) {
    names[c] = duckdb_column_name(&res, c);
    types[c] = duckdb_column_logical_type(&res, c);
    lh_buf_init(&bufs[c], 0);
  }
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    if (!chunk)
      break;
    idx_t n = duckdb_data_chunk_get_size(chunk);
    for (idx_t r = 0; r < n && !rc; r++) {
      for (idx_t c = 0; c < ncols && !rc; c++) {
        lh_buf_reset(&bufs[c]);
        rc = lh__duck_value_json(duckdb_data_chunk_get_vector(chunk, c), types[c], r, &bufs[c]);
        vals[c] = bufs[c].data;
      }
      if (rc)
        rc = lh_error_set(err, rc, "out of memory");
      else
        rc = fn(ctx, ncols, names, vals, err);
    }
    duckdb_destroy_data_chunk(&chunk);
    if (rc)
      break;
  }
done:
  for (idx_t c = 0; types && bufs && c < ncols; c++) {
    if (types[c])
      duckdb_destroy_logical_type(&types[c]);
    lh_buf_free(&bufs[c]);
  }
  free(names);
  free(vals);
  free(types);
  free(bufs);
  duckdb_destroy_result(&res);
  return rc;
}

int lh__duck_each_string(lh__duck *d, const char *sql, lh__duck_string_fn fn, void *ctx,
                         lh_error *err) {
  duckdb_result res;
  int rc = lh__duck_query(d, sql, &res, err);
  if (rc)
    return rc;
  duckdb_logical_type t = duckdb_column_logical_type(&res, 0);
  bool varchar = duckdb_column_count(&res) == 1 && duckdb_get_type_id(t) == DUCKDB_TYPE_VARCHAR;
  duckdb_destroy_logical_type(&t);
  if (!varchar) {
    duckdb_destroy_result(&res);
    return lh_error_set(err, LH_EINTERNAL, "expected one VARCHAR column from: %.80s", sql);
  }
  for (;;) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(res);
    if (!chunk)
      break;
    duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
    duckdb_string_t *data = duckdb_vector_get_data(vec);
    idx_t n = duckdb_data_chunk_get_size(chunk);
    for (idx_t r = 0; r < n && !rc; r++) {
      if (!lh__duck_valid(vec, r))
        continue;
      rc = fn(ctx, duckdb_string_t_data(&data[r]), duckdb_string_t_length(data[r]), err);
    }
    duckdb_destroy_data_chunk(&chunk);
    if (rc)
      break;
  }
  duckdb_destroy_result(&res);
  return rc;
}

/* ---- lh_rows(slot): statement rows streamed into SQL -------------------------------------- */

int lh__duck_source_add(lh__duck *d, lh__row_source *src, lh_error *err) {
  src->rc = 0;
  lh_error_clear(&src->err);
  if (!d->rows)
    return lh_error_set(err, LH_EUNSUPPORTED, "no row sources on this DuckDB");
  pthread_mutex_lock(&d->rows->mu);
  int slot = -1;
  for (int i = 0; i < LH__DUCK_SOURCES && slot < 0; i++)
    if (!d->rows->sources[i])
      slot = i;
  if (slot >= 0)
    d->rows->sources[slot] = src;
  pthread_mutex_unlock(&d->rows->mu);
  if (slot < 0)
    return lh_error_set(err, LH_ELIMIT, "more than %d row sources at once", LH__DUCK_SOURCES);
  src->slot = slot;
  return 0;
}

void lh__duck_source_remove(lh__duck *d, lh__row_source *src) {
  if (d->rows) {
    pthread_mutex_lock(&d->rows->mu);
    if (src->slot >= 0 && src->slot < LH__DUCK_SOURCES && d->rows->sources[src->slot] == src)
      d->rows->sources[src->slot] = NULL;
    pthread_mutex_unlock(&d->rows->mu);
  }
  src->slot = -1;
}

typedef struct rows_bind_data {
  int slot;
} rows_bind_data;

typedef struct rows_state {
  lh__row_source *src; /* NULL: no rows (the slot was empty) */
  const lh_row *batch;
  const lh__row_lens *lens;
  size_t n, pos;
  bool done;
} rows_state;

static void rows_bind(duckdb_bind_info info) {
  duckdb_value arg = duckdb_bind_get_parameter(info, 0);
  int64_t slot = duckdb_get_int64(arg);
  duckdb_destroy_value(&arg);
  if (slot < 0 || slot >= LH__DUCK_SOURCES) {
    duckdb_bind_set_error(info, "lh_rows: no such row source");
    return;
  }
  rows_bind_data *bd = malloc(sizeof *bd);
  if (!bd) {
    duckdb_bind_set_error(info, "out of memory");
    return;
  }
  bd->slot = (int)slot;
  duckdb_bind_set_bind_data(info, bd, free);
  duckdb_logical_type varchar = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
  duckdb_logical_type boolean = duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
  duckdb_logical_type ts = duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ);
  for (int i = 0; i < LH_ROW_NCOLUMNS; i++) {
    duckdb_logical_type t = i == 13 ? boolean : (i == 14 || i == 15 || i == 17) ? ts : varchar;
    duckdb_bind_add_result_column(info, LH_ROW_COLUMNS[i], t);
  }
  duckdb_destroy_logical_type(&varchar);
  duckdb_destroy_logical_type(&boolean);
  duckdb_destroy_logical_type(&ts);
}

static void rows_init(duckdb_init_info info) {
  lh__duck_rows *rows = duckdb_init_get_extra_info(info);
  rows_bind_data *bd = duckdb_init_get_bind_data(info);
  rows_state *st = calloc(1, sizeof *st);
  if (!st) {
    duckdb_init_set_error(info, "out of memory");
    return;
  }
  pthread_mutex_lock(&rows->mu);
  st->src = rows->sources[bd->slot];
  pthread_mutex_unlock(&rows->mu);
  duckdb_init_set_init_data(info, st, free);
  duckdb_init_set_max_threads(info, 1); /* one producer: rows keep their order */
}

/* A string_t referencing s (not copied: see lh__row_source). */
static inline void put_str(duckdb_string_t *out, const char *s, size_t n) {
  memset(out, 0, sizeof *out);
  out->value.inlined.length = (uint32_t)n;
  if (n <= sizeof out->value.inlined.inlined) {
    memcpy(out->value.inlined.inlined, s, n);
  } else {
    memcpy(out->value.pointer.prefix, s, sizeof out->value.pointer.prefix);
    out->value.pointer.ptr = (char *)s;
  }
}

/* A string column of the rows: the field's pointer and its length. */
typedef const char *(*str_field)(const lh_row *r, const lh__row_lens *l, size_t *n);

#define FIELD(name, expr_len)                                                                      \
  static const char *f_##name(const lh_row *r, const lh__row_lens *l, size_t *n) {                 \
    (void)l;                                                                                       \
    *n = r->name ? (expr_len) : 0;                                                                 \
    return r->name;                                                                                \
  }
FIELD(shard, strlen(r->shard))
FIELD(id, l ? l->id : strlen(r->id))
FIELD(entity_id, l ? l->entity_id : strlen(r->entity_id))
FIELD(dataset, l ? l->dataset : strlen(r->dataset))
FIELD(origin, l ? l->origin : strlen(r->origin))
FIELD(source, l ? l->source : strlen(r->source))
FIELD(schema, l ? l->schema : strlen(r->schema))
FIELD(prop, l ? l->prop : strlen(r->prop))
FIELD(prop_type, l ? l->prop_type : strlen(r->prop_type))
FIELD(value, r->value_len)
FIELD(original_value, l ? l->original_value : strlen(r->original_value))
FIELD(lang, l ? l->lang : strlen(r->lang))
FIELD(fragment, l ? l->fragment : strlen(r->fragment))
#undef FIELD

static const char *f_bucket(const lh_row *r, const lh__row_lens *l, size_t *n) {
  (void)l;
  const char *b = lh_bucket_name(r->bucket);
  *n = strlen(b);
  return b;
}

/* The string columns of lh_rows(), by column number (NULL: not a string column). */
static const str_field STRING_COLUMNS[LH_ROW_NCOLUMNS] = {
    f_shard,  f_id,     f_entity_id, f_dataset,   f_bucket,   f_origin,
    f_source, f_schema, f_prop,      f_prop_type, f_value,    f_original_value,
    f_lang,   NULL,     NULL,        NULL,        f_fragment, NULL};

/* Fill column c of out with rows[0 .. m): as one constant when every row has the same value
 * (DuckDB then hashes, copies and encodes it once), else row by row. */
static void put_column(duckdb_vector v, int c, const lh_row *rows, const lh__row_lens *lens,
                       idx_t m) {
  str_field get = STRING_COLUMNS[c];
  size_t n0;
  const char *s0 = get(&rows[0], lens ? &lens[0] : NULL, &n0);
  idx_t k = 1;
  for (; k < m; k++) {
    size_t n;
    const char *s = get(&rows[k], lens ? &lens[k] : NULL, &n);
    if (s != s0 && (!s || !s0 || n != n0 || memcmp(s, s0, n) != 0))
      break;
  }
  if (k == m && s0) { /* one value */
    duckdb_value val = duckdb_create_varchar_length(s0, n0);
    duckdb_vector_reference_value(v, val);
    duckdb_destroy_value(&val);
    return;
  }
  duckdb_string_t *data = duckdb_vector_get_data(v);
  uint64_t *validity = NULL;
  for (k = 0; k < m; k++) {
    size_t n;
    const char *s = get(&rows[k], lens ? &lens[k] : NULL, &n);
    if (s) {
      put_str(&data[k], s, n);
    } else {
      if (!validity) {
        duckdb_vector_ensure_validity_writable(v);
        validity = duckdb_vector_get_validity(v);
      }
      duckdb_validity_set_row_invalid(validity, k);
    }
  }
}

static void rows_function(duckdb_function_info info, duckdb_data_chunk out) {
  rows_state *st = duckdb_function_get_init_data(info);
  if (st->done || !st->src) {
    duckdb_data_chunk_set_size(out, 0);
    return;
  }
  if (st->pos == st->n) {
    st->pos = st->n = 0;
    st->lens = NULL;
    lh_error_clear(&st->src->err);
    int rc = st->src->next(st->src->ctx, &st->batch, &st->lens, &st->n, &st->src->err);
    if (rc) {
      st->src->rc = rc;
      duckdb_function_set_error(info, st->src->err.message);
      return;
    }
    if (st->n == 0) {
      st->done = true;
      duckdb_data_chunk_set_size(out, 0);
      return;
    }
  }
  /* one chunk never spans two batches of the source */
  idx_t m = st->n - st->pos, cap = duckdb_vector_size();
  if (m > cap)
    m = cap;
  const lh_row *rows = st->batch + st->pos;
  const lh__row_lens *lens = st->lens ? st->lens + st->pos : NULL;
  st->pos += m;
  for (int c = 0; c < LH_ROW_NCOLUMNS; c++)
    if (STRING_COLUMNS[c])
      put_column(duckdb_data_chunk_get_vector(out, c), c, rows, lens, m);
  bool *external = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 13));
  int64_t *first = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 14));
  int64_t *last = duckdb_vector_get_data(duckdb_data_chunk_get_vector(out, 15));
  duckdb_vector del = duckdb_data_chunk_get_vector(out, 17);
  int64_t *deleted = duckdb_vector_get_data(del);
  uint64_t *del_validity = NULL;
  for (idx_t k = 0; k < m; k++) {
    external[k] = rows[k].external;
    first[k] = rows[k].first_seen;
    last[k] = rows[k].last_seen;
    if (rows[k].deleted_at != LH_TIME_NULL) {
      deleted[k] = rows[k].deleted_at;
    } else {
      if (!del_validity) {
        duckdb_vector_ensure_validity_writable(del);
        del_validity = duckdb_vector_get_validity(del);
      }
      duckdb_validity_set_row_invalid(del_validity, k);
    }
  }
  duckdb_data_chunk_set_size(out, m);
}

static void register_rows(lh__duck *d) {
  duckdb_table_function tf = duckdb_create_table_function();
  duckdb_table_function_set_name(tf, "lh_rows");
  duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_table_function_add_parameter(tf, bigint);
  duckdb_destroy_logical_type(&bigint);
  duckdb_table_function_set_extra_info(tf, d->rows, NULL);
  duckdb_table_function_set_bind(tf, rows_bind);
  duckdb_table_function_set_init(tf, rows_init);
  duckdb_table_function_set_function(tf, rows_function);
  duckdb_register_table_function(d->con, tf);
  duckdb_destroy_table_function(&tf);
}
