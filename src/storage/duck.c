/* DuckDB glue for the storage layer (see duck.h). */
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

static int set_config(duckdb_config cfg, const char *key, const char *value, lh_error *err) {
  if (duckdb_set_config(cfg, key, value) == DuckDBError)
    return lh_error_set(err, LH_EINVAL, "DuckDB rejects %s = '%s'", key, value);
  return 0;
}

int lh__duck_open(lh__duck *d, const lh_settings *s, lh_error *err) {
  memset(d, 0, sizeof *d);
  const char *version = duckdb_library_version();
  if (strcmp(version, PINNED_DUCKDB) != 0)
    lh_log_warning("DuckDB %s found, this build was tested with %s", version, PINNED_DUCKDB);
  duckdb_config cfg;
  if (duckdb_create_config(&cfg) == DuckDBError)
    return lh_error_set(err, LH_ENOMEM, "cannot configure DuckDB");
  int rc = set_config(cfg, "autoinstall_known_extensions", "false", err);
  if (!rc)
    rc = set_config(cfg, "autoload_known_extensions", "false", err);
  if (!rc && s && s->duckdb_memory_limit && *s->duckdb_memory_limit)
    rc = set_config(cfg, "memory_limit", s->duckdb_memory_limit, err);
  if (!rc && s && s->duckdb_temp_directory)
    rc = set_config(cfg, "temp_directory", s->duckdb_temp_directory, err);
  if (!rc && s && s->duckdb_extension_directory)
    rc = set_config(cfg, "extension_directory", s->duckdb_extension_directory, err);
  if (rc) {
    duckdb_destroy_config(&cfg);
    return lh_error_prefix(err, "LAKEHOUSE_DUCKDB_*");
  }
  char *open_err = NULL;
  if (duckdb_open_ext(NULL, &d->db, cfg, &open_err) == DuckDBError) {
    rc = lh_error_set(err, LH_EIO, "cannot open DuckDB: %s", open_err ? open_err : "?");
    duckdb_free(open_err);
    duckdb_destroy_config(&cfg);
    return rc;
  }
  duckdb_destroy_config(&cfg);
  if (duckdb_connect(d->db, &d->con) == DuckDBError) {
    duckdb_close(&d->db);
    return lh_error_set(err, LH_EIO, "cannot connect to DuckDB");
  }
  if ((rc = lh__duck_exec(d, "SET TimeZone='UTC'", err)) != 0) {
    lh__duck_close(d);
    return rc;
  }
  register_rows(d);
  return 0;
}

void lh__duck_close(lh__duck *d) {
  if (d->con)
    duckdb_disconnect(&d->con);
  if (d->db)
    duckdb_close(&d->db);
  d->con = NULL;
  d->db = NULL;
}

int lh__duck_query(lh__duck *d, const char *sql, duckdb_result *res, lh_error *err) {
  if (duckdb_query(d->con, sql, res) == DuckDBError) {
    int rc;
    if (d->source_rc) { /* the row source failed: its error is the real one */
      rc = d->source_rc;
      if (err)
        *err = d->source_err;
    } else {
      const char *msg = duckdb_result_error(res);
      switch (duckdb_result_error_type(res)) {
      case DUCKDB_ERROR_PARSER:
      case DUCKDB_ERROR_BINDER:
      case DUCKDB_ERROR_CATALOG:
      case DUCKDB_ERROR_CONVERSION:
      case DUCKDB_ERROR_CONSTRAINT:
      case DUCKDB_ERROR_INVALID_INPUT: rc = LH_EINVAL; break;
      case DUCKDB_ERROR_OUT_OF_MEMORY: rc = LH_ENOMEM; break;
      default: rc = LH_EIO;
      }
      /* one line: DuckDB appends "LINE 1: ..." context on further lines */
      const char *text = msg ? msg : "query failed";
      size_t n = strcspn(text, "\n");
      while (n && text[n - 1] == ' ')
        n--;
      lh_error_set(err, rc, "DuckDB: %.*s", (int)n, text);
    }
    duckdb_destroy_result(res);
    return rc;
  }
  return 0;
}

int lh__duck_exec(lh__duck *d, const char *sql, lh_error *err) {
  duckdb_result res;
  int rc = lh__duck_query(d, sql, &res, err);
  if (rc == 0)
    duckdb_destroy_result(&res);
  return rc;
}

/* ---- values as JSON ---------------------------------------------------------------------- */

static bool valid(duckdb_vector vec, idx_t row) {
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
  if (!valid(vec, row))
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
  duckdb_result res;
  int rc = lh__duck_query(d, sql, &res, err);
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
      if (!valid(vec, r))
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

/* ---- lh_rows(): statement rows streamed into SQL ---------------------------------------- */

typedef struct rows_state {
  const lh_row *batch;
  size_t n, pos;
  bool done;
} rows_state;

static void rows_bind(duckdb_bind_info info) {
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
  rows_state *st = calloc(1, sizeof *st);
  if (!st) {
    duckdb_init_set_error(info, "out of memory");
    return;
  }
  duckdb_init_set_init_data(info, st, free);
  duckdb_init_set_max_threads(info, 1); /* one producer: rows keep their order */
}

static void put_str(duckdb_vector v, idx_t k, const char *s, size_t n) {
  duckdb_vector_assign_string_element_len(v, k, s, n);
}

static void put_opt(duckdb_vector v, uint64_t *validity, idx_t k, const char *s) {
  if (s)
    put_str(v, k, s, strlen(s));
  else
    duckdb_validity_set_row_invalid(validity, k);
}

static void rows_function(duckdb_function_info info, duckdb_data_chunk out) {
  lh__duck *d = duckdb_function_get_extra_info(info);
  rows_state *st = duckdb_function_get_init_data(info);
  idx_t cap = duckdb_vector_size(), k = 0;
  duckdb_vector v[LH_ROW_NCOLUMNS];
  uint64_t *validity[LH_ROW_NCOLUMNS];
  for (int c = 0; c < LH_ROW_NCOLUMNS; c++) {
    v[c] = duckdb_data_chunk_get_vector(out, c);
    duckdb_vector_ensure_validity_writable(v[c]);
    validity[c] = duckdb_vector_get_validity(v[c]);
  }
  bool *external = duckdb_vector_get_data(v[13]);
  int64_t *first = duckdb_vector_get_data(v[14]), *last = duckdb_vector_get_data(v[15]),
          *deleted = duckdb_vector_get_data(v[17]);
  while (k < cap && !st->done) {
    if (st->pos == st->n) {
      if (!d->source) {
        st->done = true;
        break;
      }
      st->pos = st->n = 0;
      lh_error_clear(&d->source_err);
      int rc = d->source->next(d->source->ctx, &st->batch, &st->n, &d->source_err);
      if (rc) {
        d->source_rc = rc;
        duckdb_function_set_error(info, d->source_err.message);
        return;
      }
      if (st->n == 0) {
        st->done = true;
        break;
      }
    }
    const lh_row *r = &st->batch[st->pos++];
    put_str(v[0], k, r->shard, strlen(r->shard));
    put_str(v[1], k, r->id, strlen(r->id));
    put_str(v[2], k, r->entity_id, strlen(r->entity_id));
    put_str(v[3], k, r->dataset, strlen(r->dataset));
    const char *bucket = lh_bucket_name(r->bucket);
    put_str(v[4], k, bucket, strlen(bucket));
    put_str(v[5], k, r->origin, strlen(r->origin));
    put_opt(v[6], validity[6], k, r->source);
    put_str(v[7], k, r->schema, strlen(r->schema));
    put_str(v[8], k, r->prop, strlen(r->prop));
    put_opt(v[9], validity[9], k, r->prop_type);
    put_str(v[10], k, r->value, r->value_len);
    put_opt(v[11], validity[11], k, r->original_value);
    put_opt(v[12], validity[12], k, r->lang);
    external[k] = r->external;
    first[k] = r->first_seen;
    last[k] = r->last_seen;
    put_str(v[16], k, r->fragment, strlen(r->fragment));
    if (r->deleted_at == LH_TIME_NULL)
      duckdb_validity_set_row_invalid(validity[17], k);
    else
      deleted[k] = r->deleted_at;
    k++;
  }
  duckdb_data_chunk_set_size(out, k);
}

static void register_rows(lh__duck *d) {
  duckdb_table_function tf = duckdb_create_table_function();
  duckdb_table_function_set_name(tf, "lh_rows");
  duckdb_table_function_set_extra_info(tf, d, NULL);
  duckdb_table_function_set_bind(tf, rows_bind);
  duckdb_table_function_set_init(tf, rows_init);
  duckdb_table_function_set_function(tf, rows_function);
  duckdb_register_table_function(d->con, tf);
  duckdb_destroy_table_function(&tf);
}

int lh__duck_exec_with_rows(lh__duck *d, const char *sql, lh__row_source *src, lh_error *err) {
  d->source = src;
  d->source_rc = 0;
  int rc = lh__duck_exec(d, sql, err);
  d->source = NULL;
  d->source_rc = 0;
  return rc;
}
