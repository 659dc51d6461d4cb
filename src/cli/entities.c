/* ftm-lakehouse entities ...: read and write FtM entities; and the import / stream plumbing
 * `statements` shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"

#define FLUSH_AT ((size_t)1 << 20)

/* ---- import (entities and statements) ----------------------------------------------------------
 */

static void import_progress(void *ctx, uint64_t items, uint64_t rows) {
  (void)rows;
  cli_progress_set(ctx, items);
}

void cli_warn_drops(const lh_drops *d) {
  lh_buf line = LH_BUF_INIT;
  for (int k = 0; k < LH_DROP_COUNT; k++) {
    lh_buf_reset(&line);
    if (lh_drops_describe(d, (lh_drop)k, &line) == 0 && line.len)
      lh_log_warning("%s (--strict refuses them)", line.data);
  }
  lh_buf_free(&line);
}

int cli_import(cli_ctx *ctx, int argc, char **argv, lh_import_format format, const cli_spec *spec) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, spec, argc, argv, &a, &rc))
    return rc;
  const char *in = cli_opt_str(&a, "input", "-");
  const char *last_seen = cli_opt_str(&a, "last-seen", NULL);
  lh_import_opts o = {.format = format,
                      .origin = cli_opt_str(&a, "origin", LH_ORIGIN_BULK),
                      .override_origin = cli_opt_on(&a, "override-origin", false),
                      .bulk_size = (size_t)cli_opt_num(&a, "bulk-size", 0),
                      .last_seen = LH_TIME_NULL,
                      .unsafe = cli_opt_on(&a, "unsafe", false),
                      .strict = cli_opt_on(&a, "strict", false),
                      .journal = cli_opt_on(&a, "journal", false)};
  lh_error err = {0};
  if (lh_validate_origin(o.origin, &err))
    return cli_fail("--origin: %s", err.message);
  if (last_seen && lh_time_parse_iso(last_seen, (size_t)-1, &o.last_seen, &err))
    return cli_fail("--last-seen: %s", err.message);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  int fd = cli_open_input(in);
  if (fd < 0)
    return CLI_FAIL;
  o.name = strcmp(in, "-") == 0 ? "<stdin>" : in;
  const char *unit = format == LH_IMPORT_STATEMENTS ? "statements" : "entities";
  cli_progress *bar = cli_progress_start("import", 0, unit);
  o.progress = import_progress;
  o.progress_ctx = bar;
  lh_import_result r;
  rc = lh_entities_import(ds, fd, &o, &r, &err);
  cli_progress_finish(bar);
  cli_close_fd(fd);
  cli_warn_drops(&r.drops);
  if (rc) {
    if (r.rows)
      fprintf(stderr, "Kept %llu statement rows read before the error (%s).\n",
              (unsigned long long)r.rows, o.journal ? "in the journal" : "committed to the store");
    return cli_fail_err(&err);
  }
  fprintf(stderr, "Imported %llu %s as %llu statement rows %s%s.\n", (unsigned long long)r.items,
          unit, (unsigned long long)r.rows,
          o.journal ? "into the journal (run `maintenance flush`)" : "into the statement store",
          r.skipped ? " (delete operations skipped)" : "");
  return CLI_OK;
}

/* ---- stream an export -------------------------------------------------------------------------
 */

int cli_stream_export(cli_ctx *ctx, int argc, char **argv, lh_export_kind kind,
                      const cli_spec *spec) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, spec, argc, argv, &a, &rc))
    return rc;
  const char *out = cli_opt_str(&a, "output", "-");
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  int fd = cli_open_output(out);
  if (fd < 0)
    return CLI_FAIL;
  lh_error err = {0};
  rc = lh_dataset_export_read(ds, kind, cli_write_fd, &fd, &err);
  cli_close_fd(fd);
  if (rc == LH_ENOTFOUND)
    return cli_fail("FileNotFoundError: %s (run `ftm-lakehouse -d %s make` to write the exports)",
                    err.message, lh_dataset_name(ds));
  return rc ? cli_fail_err(&err) : CLI_OK;
}

/* ---- entities iterate -------------------------------------------------------------------------
 */

typedef struct iterate_out {
  lh_buf buf;
  int fd;
  uint64_t n;
  bool failed;
  cli_progress *bar;
} iterate_out;

static int write_entity(lh_entity *e, void *ctx) {
  iterate_out *o = ctx;
  if (lh_entity_write_json(e, LH_JSON_SORT_VALUES, &o->buf) || lh_buf_putc(&o->buf, '\n'))
    return LH_ENOMEM;
  o->n++;
  cli_progress_add(o->bar, 1);
  if (o->buf.len >= FLUSH_AT && cli_flush(o->fd, &o->buf)) {
    o->failed = true;
    return LH_EIO;
  }
  return 0;
}

/* -q / --rql handling shared by the iterate commands. */
int cli_parse_query(const char *q, const char *rql, lh_entity_query *out, bool *have) {
  lh_error err = {0};
  *have = false;
  if (q && rql)
    return cli_fail("ValueError: use either -q or --rql, not both");
  if (rql) {
    if (lh_entity_query_parse_rql(rql, out, &err))
      return cli_fail("%s", err.message);
    *have = true;
    return CLI_OK;
  }
  if (!q)
    return CLI_OK;
  if (lh_entity_query_parse(q, out, &err))
    return cli_fail("-q: %s", err.message);
  *have = true;
  return CLI_OK;
}

static const cli_option ITERATE_OPTIONS[] = {
    CLI_OPT_OUTPUT,
    {"query", 'q', CLI_STRING, "QUERY",
     "Aleph-style filter string: filter:schema=Person, filter:schemata=LegalEntity\n"
     "(is-a), filter:id=ID, filter:origin=ORIGIN, filter:PROP=VALUE,\n"
     "filter:countries=de (a type group), filter:gte:PROP=V (also gt, lt, lte),\n"
     "exclude:FIELD=V, sort=PROP or sort=-PROP, limit=N, offset=N; joined with &",
     0, 0, NULL},
    {"rql", 0, CLI_STRING, "RQL",
     "The same as RQL, e.g. 'and(eq(schema,Person),or(eq(countries,de),\n"
     "eq(countries,at)))', sort(-name), limit(10,20); not with -q",
     0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec ITERATE = {
    .usage = "ftm-lakehouse -d DATASET entities iterate [-q QUERY | --rql RQL] [-o OUT]",
    .about =
        "Write the dataset's entities (aggregated from the live statement store) as FtM entity\n"
        "JSON lines, ordered by id, property values sorted.\n",
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
  if (cli_open_dataset(ctx, &ds)) {
    if (have)
      lh_entity_query_free(&query);
    return CLI_FAIL;
  }
  int fd = cli_open_output(out);
  if (fd < 0) {
    if (have)
      lh_entity_query_free(&query);
    return CLI_FAIL;
  }
  iterate_out o = {LH_BUF_INIT, fd, 0, false, cli_progress_start("iterate", 0, "entities")};
  lh_error err = {0};
  rc = lh_entities_query(ds, have ? &query : NULL, write_entity, &o, &err);
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
    .usage = "ftm-lakehouse -d DATASET entities stream [-o OUT]",
    .about = "Write the exported entities.ftm.json (decompressed) as it is.\n",
    .options = STREAM_OPTIONS};

static int cmd_stream(cli_ctx *ctx, int argc, char **argv) {
  return cli_stream_export(ctx, argc, argv, LH_EXPORT_ENTITIES, &STREAM);
}

static const cli_option IMPORT_OPTIONS[] = {
    CLI_IMPORT_OPTIONS,
    {"strict", 0, CLI_FLAG, NULL,
     "Refuse what would be dropped (entities without id or schema, invalid\n"
     "ids, unknown properties, invalid entity references), naming the line",
     0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec IMPORT = {
    .usage = "ftm-lakehouse -d DATASET entities import [OPTIONS]",
    .about =
        "Import FtM entity JSON lines (also followthemoney-store fragments and delta files, whose\n"
        "DEL operations are skipped) straight into the statement store, bypassing the journal.\n"
        "A malformed line stops the import with its line number; everything before it is kept.\n"
        "As the Python project does, entities without an id or schema, invalid ids, values of\n"
        "unknown properties and invalid entity references are dropped; a warning at the end "
        "counts\n"
        "them by kind and names the first.\n",
    .options = IMPORT_OPTIONS};

static int cmd_import(cli_ctx *ctx, int argc, char **argv) {
  return cli_import(ctx, argc, argv, LH_IMPORT_ENTITIES, &IMPORT);
}

const cli_command CLI_ENTITIES[] = {
    {"iterate", "Write the entities as JSON lines (live from the statement store)", cmd_iterate,
     NULL},
    {"stream", "Write the exported entities.ftm.json", cmd_stream, NULL},
    {"import", "Import entity JSON lines into the statement store", cmd_import, NULL},
    {NULL, NULL, NULL, NULL}};
