/* ftm-lakehouse statements ...: raw FtM statements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"

#include <jansson.h>

#define FLUSH_AT ((size_t)1 << 20)

static const cli_option EXPLODE_OPTIONS[] = {
    {"input", 'i', CLI_STRING, "IN", "Input file of entity JSON lines (default: - for stdin)", 0, 0,
     NULL},
    {"output", 'o', CLI_STRING, "OUT", "Output CSV file (default: - for stdout)", 0, 0, NULL},
    {"origin", 0, CLI_STRING, "ORIGIN", "Origin when an entity carries none (default: bulk)", 0, 0,
     NULL},
    {"override-origin", 0, CLI_FLAG, NULL, "Use --origin even when an entity carries its own", 0, 0,
     NULL},
    {"fragment", 0, CLI_STRING, "NAME",
     "Fragment of every statement (default: the entity's, else none)", 0, 0, NULL},
    {"last-seen", 0, CLI_STRING, "TIME",
     "last_seen when an entity has none (ISO 8601; default: now)", 0, 0, NULL},
    {"strict", 0, CLI_FLAG, NULL,
     "Refuse what would be dropped (entities without id or schema, invalid\n"
     "ids, unknown properties, invalid entity references), naming the line",
     0, 0, NULL},
    {"skip-unknown", 0, CLI_FLAG, NULL,
     "Accepted for compatibility (unknown properties are dropped and counted\n"
     "unless --strict)",
     0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec EXPLODE = {
    .usage = "ftm-lakehouse -d DATASET statements explode [OPTIONS]",
    .about =
        "Explode FtM entities (JSON lines, also delta files) into statements CSV without\n"
        "storing them: one row per property value plus the entity's `id` statement, ids hashed\n"
        "under the -d dataset, in the lakehouse statements.csv column order.\n",
    .options = EXPLODE_OPTIONS};

static int cmd_explode(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &EXPLODE, argc, argv, &a, &rc))
    return rc;
  const char *in = cli_opt_str(&a, "input", "-"), *out = cli_opt_str(&a, "output", "-");
  const char *last_seen = cli_opt_str(&a, "last-seen", NULL);
  lh_explode_opts eo = {.origin = cli_opt_str(&a, "origin", LH_ORIGIN_BULK),
                        .override_origin = cli_opt_on(&a, "override-origin", false),
                        .fragment = cli_opt_str(&a, "fragment", NULL),
                        .last_seen = LH_TIME_NULL};
  lh_drops drops;
  memset(&drops, 0, sizeof drops);
  drops.strict = cli_opt_on(&a, "strict", false);
  const char *dataset = cli_dataset(ctx);
  if (!dataset || !cli_model())
    return CLI_FAIL;
  lh_error err = {0};
  if (last_seen && lh_time_parse_iso(last_seen, (size_t)-1, &eo.last_seen, &err))
    return cli_fail("--last-seen: %s", err.message);
  eo.dataset = dataset;
  eo.now = lh_time_now();
  int ifd = cli_open_input(in);
  if (ifd < 0)
    return CLI_FAIL;
  int ofd = cli_open_output(out);
  if (ofd < 0) {
    cli_close_fd(ifd);
    return CLI_FAIL;
  }
  const char *name = strcmp(in, "-") == 0 ? "<stdin>" : in;
  lh_time started = lh_time_now();
  lh_explode_result res;
  rc = lh_explode_csv(ifd, name, &eo, &drops, cli_write_fd, &ofd, &res, &err);
  cli_warn_drops(&drops);
  cli_close_fd(ifd);
  cli_close_fd(ofd);
  if (rc)
    return cli_fail_err(&err);
  double secs = (double)(lh_time_now() - started) / 1e6;
  lh_log_info("exploded %llu entities into %llu statements from %s in %.2fs%s",
              (unsigned long long)res.entities, (unsigned long long)res.statements, name, secs,
              res.deletes ? " (delete operations skipped)" : "");
  return CLI_OK;
}

/* ---- statements sql ---------------------------------------------------------------------- */

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSON } sql_format;

typedef struct sql_out {
  sql_format format;
  lh_buf out;
  size_t ncols, rows;
  char **names;
  /* table format: every cell, to size the columns */
  char **cells;
  size_t ncells, cap;
  int fd;
  bool write_failed; /* cli_flush already said why */
} sql_out;

/* A JSON value as display text: strings decoded, null as NULL (table) or empty (csv). */
static char *cell_text(const char *json, bool for_csv) {
  if (strcmp(json, "null") == 0)
    return strdup(for_csv ? "" : "NULL");
  if (json[0] != '"')
    return strdup(json);
  json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
  char *out =
      v && json_is_string(v) ? strndup(json_string_value(v), json_string_length(v)) : strdup(json);
  json_decref(v);
  return out;
}

static int sql_row(void *ctx, size_t ncols, const char *const *names, const char *const *values,
                   lh_error *err) {
  sql_out *o = ctx;
  if (!o->names) {
    o->ncols = ncols;
    o->names = calloc(ncols ? ncols : 1, sizeof *o->names);
    for (size_t i = 0; o->names && i < ncols; i++)
      o->names[i] = strdup(names[i]);
    if (o->format == FMT_CSV) {
      for (size_t i = 0; i < ncols; i++) {
        if (i)
          lh_buf_putc(&o->out, ',');
        lh_csv_write_field(&o->out, names[i], strlen(names[i]), LH_CSV_QUOTE_ALL);
      }
      lh_buf_putc(&o->out, '\n');
    }
  }
  o->rows++;
  if (o->format == FMT_JSON) {
    lh_buf_putc(&o->out, '{');
    for (size_t i = 0; i < ncols; i++) {
      if (i)
        lh_buf_putc(&o->out, ',');
      lh_json_write_string(&o->out, names[i], strlen(names[i]));
      lh_buf_putc(&o->out, ':');
      lh_buf_puts(&o->out, values[i]);
    }
    lh_buf_puts(&o->out, "}\n");
  } else if (o->format == FMT_CSV) {
    for (size_t i = 0; i < ncols; i++) {
      char *t = cell_text(values[i], true);
      if (!t)
        return lh_error_set(err, LH_ENOMEM, "out of memory");
      if (i)
        lh_buf_putc(&o->out, ',');
      if (values[i][0] == '"' || values[i][0] == '[' || values[i][0] == '{')
        lh_csv_write_field(&o->out, t, strlen(t), LH_CSV_QUOTE_ALL);
      else
        lh_buf_puts(&o->out, t);
      free(t);
    }
    lh_buf_putc(&o->out, '\n');
  } else {
    for (size_t i = 0; i < ncols; i++) {
      if (o->ncells == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 256;
        char **nc = realloc(o->cells, o->cap * sizeof *nc);
        if (!nc)
          return lh_error_set(err, LH_ENOMEM, "out of memory");
        o->cells = nc;
      }
      if (!(o->cells[o->ncells++] = cell_text(values[i], false)))
        return lh_error_set(err, LH_ENOMEM, "out of memory");
    }
  }
  if (o->out.len > FLUSH_AT && cli_flush(o->fd, &o->out)) {
    o->write_failed = true;
    return LH_EIO;
  }
  return 0;
}

/* Display width of UTF-8 text (code points; good enough for a terminal table). */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

static void print_table(sql_out *o) {
  size_t *w = calloc(o->ncols ? o->ncols : 1, sizeof *w);
  if (!w)
    return;
  for (size_t c = 0; c < o->ncols; c++)
    w[c] = width(o->names[c]);
  for (size_t i = 0; i < o->ncells; i++) {
    size_t cw = width(o->cells[i]);
    if (cw > w[i % o->ncols])
      w[i % o->ncols] = cw;
  }
  for (size_t c = 0; c < o->ncols; c++)
    if (w[c] > 60)
      w[c] = 60; /* long values are cut in the table view; use --format csv/json */
  for (size_t r = 0; r <= o->rows; r++) {
    for (size_t c = 0; c < o->ncols; c++) {
      const char *t = r == 0 ? o->names[c] : o->cells[(r - 1) * o->ncols + c];
      size_t tw = width(t), bytes = 0, shown = 0;
      while (t[bytes] && shown < w[c]) {
        bytes++;
        while (t[bytes] && ((unsigned char)t[bytes] & 0xc0) == 0x80)
          bytes++;
        shown++;
      }
      lh_buf_puts(&o->out, c ? " | " : "");
      for (size_t k = 0; k < bytes; k++) /* newlines and tabs would break the layout */
        lh_buf_putc(&o->out, t[k] == '\n' || t[k] == '\t' ? ' ' : t[k]);
      for (size_t k = tw < w[c] ? tw : w[c]; k < w[c] && c + 1 < o->ncols; k++)
        lh_buf_putc(&o->out, ' ');
    }
    lh_buf_putc(&o->out, '\n');
    if (r == 0) {
      for (size_t c = 0; c < o->ncols; c++) {
        lh_buf_puts(&o->out, c ? "-+-" : "");
        for (size_t k = 0; k < w[c]; k++)
          lh_buf_putc(&o->out, '-');
      }
      lh_buf_putc(&o->out, '\n');
    }
  }
  free(w);
}

static const cli_option SQL_OPTIONS[] = {{"format", 0, CLI_STRING, "FORMAT",
                                          "table (default), csv or json (one object per line)", 0,
                                          0, NULL},
                                         CLI_OPT_OUTPUT,
                                         {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec SQL = {
    .usage = "ftm-lakehouse -d DATASET statements sql QUERY [OPTIONS]",
    .about =
        "Run DuckDB SQL over the dataset's statements. Two views are defined:\n"
        "  statement_raw  every stored row, duplicates and tombstones included\n"
        "  statement      live statements (deleted ones hidden, unmerged partitions deduplicated\n"
        "                 on the fly) with canonical_id\n",
    .options = SQL_OPTIONS,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the SQL query",
    .epilog =
        "Example:\n"
        "  ftm-lakehouse -d demo statements sql \"SELECT schema, count(DISTINCT entity_id) FROM "
        "statement GROUP BY 1\"\n"};

static int cmd_sql(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &SQL, argc, argv, &a, &rc))
    return rc;
  sql_out o;
  memset(&o, 0, sizeof o);
  lh_buf_init(&o.out, 0);
  const char *out = cli_opt_str(&a, "output", "-");
  const char *format = cli_opt_str(&a, "format", "table");
  if (strcmp(format, "table") == 0)
    o.format = FMT_TABLE;
  else if (strcmp(format, "csv") == 0)
    o.format = FMT_CSV;
  else if (strcmp(format, "json") == 0)
    o.format = FMT_JSON;
  else
    return cli_usage(ctx, "--format: expected table, csv or json, got '%s'", format);
  const char *query = a.args[0];
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_error err = {0};
  o.fd = cli_open_output(out);
  if (o.fd < 0)
    return CLI_FAIL;
  lh_time t0 = lh_time_now();
  rc = lh_dataset_sql(ds, query, sql_row, &o, &err);
  if (rc == 0 && o.format == FMT_TABLE && o.names)
    print_table(&o);
  if (rc == 0)
    rc = cli_flush(o.fd, &o.out) ? LH_EIO : 0;
  else if (!o.write_failed)
    cli_fail_err(&err);
  if (rc == 0)
    lh_log_info("%zu row(s), query took %.3fs", o.rows, (double)(lh_time_now() - t0) / 1e6);
  for (size_t i = 0; i < o.ncols && o.names; i++)
    free(o.names[i]);
  free(o.names);
  for (size_t i = 0; i < o.ncells; i++)
    free(o.cells[i]);
  free(o.cells);
  lh_buf_free(&o.out);
  cli_close_fd(o.fd);
  return rc ? CLI_FAIL : CLI_OK;
}

/* ---- statements iterate / stream / import -----------------------------------------------------
 */

/* str() of a Python UTC datetime: "2024-01-02 03:04:05[.123456]+00:00". */
static int put_pytime(lh_buf *b, lh_time t) {
  if (t == LH_TIME_NULL)
    return 0;
  char iso[LH_ISO_SIZE];
  lh_time_format_iso(t, iso);
  iso[10] = ' ';
  return lh_buf_puts(b, iso);
}

typedef struct rows_out {
  lh_buf buf;
  int fd;
  bool failed;
  cli_progress *bar;
} rows_out;

static int write_statement_row(void *ctx, const lh_row *r, lh_error *err) {
  (void)err;
  rows_out *o = ctx;
  lh_buf *b = &o->buf;
  const char *text[] = {r->shard,  r->id,     r->entity_id, r->dataset, lh_bucket_name(r->bucket),
                        r->origin, r->source, r->schema,    r->prop,    r->prop_type};
  int rc = 0;
  for (size_t i = 0; !rc && i < sizeof text / sizeof *text; i++)
    rc = lh_csv_write_field(b, text[i] ? text[i] : "", text[i] ? strlen(text[i]) : 0,
                            LH_CSV_QUOTE_MINIMAL) ||
         lh_buf_putc(b, ',');
  rc = rc || lh_csv_write_field(b, r->value, r->value_len, LH_CSV_QUOTE_MINIMAL) ||
       lh_buf_putc(b, ',') ||
       (r->original_value && lh_csv_write_field(b, r->original_value, strlen(r->original_value),
                                                LH_CSV_QUOTE_MINIMAL)) ||
       lh_buf_putc(b, ',') ||
       (r->lang && lh_csv_write_field(b, r->lang, strlen(r->lang), LH_CSV_QUOTE_MINIMAL)) ||
       lh_buf_putc(b, ',') || lh_buf_puts(b, r->external ? "True" : "False") ||
       lh_buf_putc(b, ',') || put_pytime(b, r->first_seen) || lh_buf_putc(b, ',') ||
       put_pytime(b, r->last_seen) || lh_buf_putc(b, ',') ||
       lh_csv_write_field(b, r->fragment, strlen(r->fragment), LH_CSV_QUOTE_MINIMAL) ||
       lh_buf_putc(b, ',') || put_pytime(b, r->deleted_at) || lh_buf_puts(b, "\r\n");
  if (rc)
    return LH_ENOMEM;
  cli_progress_add(o->bar, 1);
  if (b->len >= FLUSH_AT && cli_flush(o->fd, b)) {
    o->failed = true;
    return LH_EIO;
  }
  return 0;
}

static const cli_option ITERATE_OPTIONS[] = {
    CLI_OPT_OUTPUT,
    {"query", 'q', CLI_STRING, "QUERY",
     "Only the statements of the entities matching an Aleph-style filter string\n"
     "(see `entities iterate --help`); limit=N and offset=N count entities, sort=PROP\n"
     "orders entities by a property",
     0, 0, NULL},
    {"rql", 0, CLI_STRING, "RQL", "The same as an RQL string (not with -q)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec ITERATE = {
    .usage = "ftm-lakehouse -d DATASET statements iterate [-q QUERY | --rql RQL] [-o OUT]",
    .about =
        "Write the live statement rows of the dataset as CSV: the 18 columns of the store in\n"
        "order (shard ... deleted_at), as Python's csv.DictWriter writes them (\\r\\n line ends,\n"
        "True/False, timestamps as 2024-01-02 03:04:05+00:00), ordered by entity, prop and id.\n",
    .options = ITERATE_OPTIONS};

static int cmd_iterate(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &ITERATE, argc, argv, &a, &rc))
    return rc;
  const char *out = cli_opt_str(&a, "output", "-");
  const char *q = cli_opt_str(&a, "query", NULL), *rql = cli_opt_str(&a, "rql", NULL);
  lh_entity_query query;
  bool have = false;
  if (cli_parse_query(q, rql, &query, &have))
    return CLI_FAIL;
  lh_dataset *ds;
  int fd = -1;
  if (cli_open_dataset(ctx, &ds) || (fd = cli_open_output(out)) < 0) {
    if (have)
      lh_entity_query_free(&query);
    return CLI_FAIL;
  }
  rows_out o = {LH_BUF_INIT, fd, false, cli_progress_start("iterate", 0, "statements")};
  lh_error err = {0};
  rc = 0;
  for (int i = 0; !rc && i < LH_ROW_NCOLUMNS; i++)
    rc = lh_buf_printf(&o.buf, "%s%s", i ? "," : "", LH_ROW_COLUMNS[i]);
  rc = rc || lh_buf_puts(&o.buf, "\r\n") ? lh_error_set(&err, LH_ENOMEM, "out of memory") : 0;
  if (!rc)
    rc = lh_entities_query_statements(ds, have ? &query : NULL, write_statement_row, &o, &err);
  if (!rc && !o.failed && cli_flush(fd, &o.buf))
    o.failed = true;
  cli_progress_finish(o.bar);
  lh_buf_free(&o.buf);
  cli_close_fd(fd);
  if (have)
    lh_entity_query_free(&query);
  if (o.failed)
    return CLI_FAIL;
  return rc ? cli_fail_err(&err) : CLI_OK;
}

static const cli_option STREAM_OPTIONS[] = {CLI_OPT_OUTPUT, {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec STREAM = {
    .usage = "ftm-lakehouse -d DATASET statements stream [-o OUT]",
    .about = "Write the exported exports/statements.csv (decompressed) as it is.\n",
    .options = STREAM_OPTIONS};

static int cmd_stream(cli_ctx *ctx, int argc, char **argv) {
  return cli_stream_export(ctx, argc, argv, LH_EXPORT_STATEMENTS, &STREAM);
}

static const cli_option IMPORT_OPTIONS[] = {
    CLI_IMPORT_OPTIONS,
    {"strict", 0, CLI_FLAG, NULL, "Refuse rows without entity_id or prop instead of dropping them",
     0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec IMPORT = {
    .usage = "ftm-lakehouse -d DATASET statements import [OPTIONS]",
    .about =
        "Import statements CSV straight into the statement store, bypassing the journal. Columns\n"
        "are found by header name (the lakehouse statements.csv and the nomenklatura v4 CSV;\n"
        "entity_id, schema, prop and value are required, fragment and origin honoured); a file\n"
        "without a header in the 11-column pack format (entity_id, Schema:prop, value, ...) is\n"
        "recognised too. Statement ids are recomputed under the dataset. A malformed row stops\n"
        "the import with its line number; everything before it is kept.\n",
    .options = IMPORT_OPTIONS};

static int cmd_import(cli_ctx *ctx, int argc, char **argv) {
  return cli_import(ctx, argc, argv, LH_IMPORT_STATEMENTS, &IMPORT);
}

const cli_command CLI_STATEMENTS[] = {
    {"iterate", "Write the live statement rows as CSV", cmd_iterate, NULL},
    {"stream", "Write the exported statements.csv", cmd_stream, NULL},
    {"import", "Import statements CSV into the statement store", cmd_import, NULL},
    {"explode", "Explode entity JSON into statements CSV (no storage)", cmd_explode, NULL},
    {"sql", "Run DuckDB SQL over the statement views", cmd_sql, NULL},
    {NULL, NULL, NULL, NULL},
};
