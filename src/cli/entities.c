/* ftm-lakehouse entities ...: read and write FtM entities; and the import / stream plumbing
 * `statements` shares. */
#include <errno.h>
#include <getopt.h>
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

int cli_import(cli_ctx *ctx, int argc, char **argv, lh_import_format format, const char *usage,
               const char *help) {
  static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                       {"origin", required_argument, NULL, 'O'},
                                       {"override-origin", no_argument, NULL, 'R'},
                                       {"no-override-origin", no_argument, NULL, 'N'},
                                       {"bulk-size", required_argument, NULL, 'b'},
                                       {"last-seen", required_argument, NULL, 'L'},
                                       {"unsafe", no_argument, NULL, 'U'},
                                       {"strict", no_argument, NULL, 'S'},
                                       {"journal", no_argument, NULL, 'J'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *in = "-", *last_seen = NULL;
  lh_import_opts o = {.format = format, .origin = LH_ORIGIN_BULK, .last_seen = LH_TIME_NULL};
  int c;
  while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': in = optarg; break;
    case 'O': o.origin = optarg; break;
    case 'R': o.override_origin = true; break;
    case 'N': o.override_origin = false; break;
    case 'b': {
      char *end;
      errno = 0;
      long long v = strtoll(optarg, &end, 10);
      if (!*optarg || *end || errno || v < 1 || v > LH_BULK_SIZE_MAX)
        return cli_usage(ctx, "--bulk-size: expected a number of rows from 1 to %lld, got '%s'",
                         (long long)LH_BULK_SIZE_MAX, optarg);
      o.bulk_size = (size_t)v;
      break;
    }
    case 'L': last_seen = optarg; break;
    case 'U': o.unsafe = true; break;
    case 'S': o.strict = true; break;
    case 'J': o.journal = true; break;
    case 'h': cli_print_help(usage, help); return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
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
  int rc = lh_entities_import(ds, fd, &o, &r, &err);
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

int cli_stream_export(cli_ctx *ctx, int argc, char **argv, lh_export_kind kind, const char *usage,
                      const char *help) {
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *out = "-";
  int c;
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'h': cli_print_help(usage, help); return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  int fd = cli_open_output(out);
  if (fd < 0)
    return CLI_FAIL;
  lh_error err = {0};
  int rc = lh_dataset_export_read(ds, kind, cli_write_fd, &fd, &err);
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

static const char *ITERATE_HELP =
    "Write the dataset's entities (aggregated from the live statement store) as FtM entity\n"
    "JSON lines, ordered by id, property values sorted.\n\n"
    "Options:\n"
    "  -o OUT        Output file (default: - for stdout)\n"
    "  -q QUERY      Aleph-style filter string: filter:schema=Person, filter:schemata=LegalEntity\n"
    "                (is-a), filter:id=ID, filter:origin=ORIGIN, filter:PROP=VALUE,\n"
    "                filter:countries=de (a type group), filter:gte:PROP=V (also gt, lt, lte),\n"
    "                exclude:FIELD=V, sort=PROP or sort=-PROP, limit=N, offset=N; joined with &\n"
    "  --rql RQL     The same as RQL, e.g. 'and(eq(schema,Person),or(eq(countries,de),\n"
    "                eq(countries,at)))', sort(-name), limit(10,20); not with -q\n";

static int cmd_iterate(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                       {"query", required_argument, NULL, 'q'},
                                       {"rql", required_argument, NULL, 'r'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *out = "-", *q = NULL, *rql = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "o:q:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'q': q = optarg; break;
    case 'r': rql = optarg; break;
    case 'h':
      cli_print_help("ftm-lakehouse -d DATASET entities iterate [-q QUERY] [-o OUT]", ITERATE_HELP);
      return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
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
  int rc = lh_entities_query(ds, have ? &query : NULL, write_entity, &o, &err);
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

static int cmd_stream(cli_ctx *ctx, int argc, char **argv) {
  return cli_stream_export(ctx, argc, argv, LH_EXPORT_ENTITIES,
                           "ftm-lakehouse -d DATASET entities stream [-o OUT]",
                           "Write the exported entities.ftm.json (decompressed) as it is.\n\n"
                           "Options:\n  -o OUT   Output file (default: - for stdout)\n");
}

static const char *IMPORT_HELP =
    "Import FtM entity JSON lines (also followthemoney-store fragments and delta files, whose\n"
    "DEL operations are skipped) straight into the statement store, bypassing the journal.\n"
    "A malformed line stops the import with its line number; everything before it is kept.\n"
    "As the Python project does, entities without an id or schema, invalid ids, values of\n"
    "unknown properties and invalid entity references are dropped; a warning at the end counts\n"
    "them by kind and names the first.\n\n"
    "Options:\n"
    "  -i IN              Input file (default: - for stdin)\n"
    "  --origin ORIGIN    Origin when an entity carries none (default: bulk)\n"
    "  --override-origin  Use --origin even when an entity carries its own\n"
    "  --bulk-size N      Rows per store commit (default: LAKEHOUSE_MAX_BUFFER_ROWS, 1000000)\n"
    "  --last-seen TIME   last_seen when an entity has none (ISO 8601; default: now)\n"
    "  --unsafe           Accepted for the Python CLI (the rows are the same)\n"
    "  --strict           Refuse what would be dropped (entities without id or schema, invalid\n"
    "                     ids, unknown properties, invalid entity references), naming the line\n"
    "  --journal          Write through the journal instead (then run `maintenance flush`)\n";

static int cmd_import(cli_ctx *ctx, int argc, char **argv) {
  return cli_import(ctx, argc, argv, LH_IMPORT_ENTITIES,
                    "ftm-lakehouse -d DATASET entities import [OPTIONS]", IMPORT_HELP);
}

const cli_command CLI_ENTITIES[] = {
    {"iterate", "Write the entities as JSON lines (live from the statement store)", cmd_iterate,
     NULL},
    {"stream", "Write the exported entities.ftm.json", cmd_stream, NULL},
    {"import", "Import entity JSON lines into the statement store", cmd_import, NULL},
    {NULL, NULL, NULL, NULL}};
