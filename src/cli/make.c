/* ftm-lakehouse configure / make / export: the dataset pipeline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CONFIG_MAX (1 << 20)

/* configure -c FILE and make -c FILE: merge the file into config.yml. */
static int apply_config(lh_dataset *ds, const char *path) {
  lh_buf text = LH_BUF_INIT;
  int rc = cli_read_all(path, CONFIG_MAX, &text);
  if (rc) {
    lh_buf_free(&text);
    return rc;
  }
  lh_error err = {0};
  bool changed = false;
  rc = lh_dataset_configure(ds, text.data ? text.data : "", text.len, path, &changed, &err);
  lh_buf_free(&text);
  if (rc)
    return cli_fail_err(&err);
  fprintf(stderr, "%s: config.yml %s\n", lh_dataset_name(ds),
          changed ? "updated (a new version is in versions/)" : "unchanged");
  return 0;
}

static int print_buf(lh_buf *b) {
  int rc = cli_flush(STDOUT_FILENO, b);
  lh_buf_free(b);
  return rc ? CLI_FAIL : CLI_OK;
}

static const cli_option CONFIGURE_OPTIONS[] = {
    {"config", 'c', CLI_STRING, "FILE", "The YAML config (required)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec CONFIGURE = {
    .usage = "ftm-lakehouse -d DATASET configure -c FILE",
    .about = "Merge a YAML dataset config into the dataset's config.yml (a versioned snapshot is\n"
             "kept under versions/) and print the resulting config as JSON. Lists are united and\n"
             "empty values ignored; `name` and `uri` in the file are ignored.\n",
    .options = CONFIGURE_OPTIONS};

int cli_cmd_configure(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &CONFIGURE, argc, argv, &a, &rc))
    return rc;
  const char *config = cli_opt_str(&a, "config", NULL);
  if (!config)
    return cli_usage(ctx, "missing option '-c FILE'");
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds) || apply_config(ds, config))
    return CLI_FAIL;
  lh_buf out = LH_BUF_INIT;
  lh_error err = {0};
  if (lh_dataset_config_json(ds, &out, &err) || lh_buf_putc(&out, '\n')) {
    lh_buf_free(&out);
    return cli_fail_err(&err);
  }
  return print_buf(&out);
}

static const cli_option MAKE_OPTIONS[] = {
    {"config", 'c', CLI_STRING, "FILE", "Merge this YAML config into config.yml first", 0, 0, NULL},
    {"flush", 0, CLI_SWITCH, NULL, "Flush the journal first (default: on)", 0, 0, NULL},
    {"optimize", 0, CLI_SWITCH, NULL,
     "Merge, compact and vacuum the store when needed (default: on)", 0, 0, NULL},
    {"exports", 0, CLI_SWITCH, NULL, "Write the exports (default: on); off: only index.json", 0, 0,
     NULL},
    {"force-optimize", 0, CLI_SWITCH, NULL,
     "Optimize even when no partition needs a merge (default: off)", 0, 0, NULL},
    {"force-exports", 0, CLI_SWITCH, NULL,
     "Write every export even when it is up to date (default: off)", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec MAKE = {
    .usage = "ftm-lakehouse -d DATASET make [OPTIONS]",
    .about =
        "Run the dataset pipeline: flush the journal, optimize the statement store, write the\n"
        "exports that are out of date (statements, entities, documents, statistics, index,\n"
        "with their diffs), and print the dataset index. A second make without changes does\n"
        "nothing.\n",
    .options = MAKE_OPTIONS};

int cli_cmd_make(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &MAKE, argc, argv, &a, &rc))
    return rc;
  const char *config = cli_opt_str(&a, "config", NULL);
  bool exports = cli_opt_on(&a, "exports", true);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  if (config && apply_config(ds, config))
    return CLI_FAIL;
  const char *name = lh_dataset_name(ds);
  lh_error err = {0};
  lh_make_opts mo = {.no_flush = !cli_opt_on(&a, "flush", true),
                     .no_optimize = !cli_opt_on(&a, "optimize", true),
                     .no_exports = !exports,
                     .force_optimize = cli_opt_on(&a, "force-optimize", false),
                     .force_exports = cli_opt_on(&a, "force-exports", false)};
  lh_op_result r = {0};
  rc = lh_dataset_make(ds, &mo, &r, &err);
  lh_buf_free(&r.job);
  if (r.flushed)
    fprintf(stderr, "%s: flushed %llu statements from the journal\n", name,
            (unsigned long long)r.flushed);
  if (r.optimized)
    fprintf(stderr, "%s: optimized the statement store\n", name);
  if (rc)
    return cli_fail_err(&err);
  if (exports && r.skipped)
    fprintf(stderr, "%s: already up-to-date: nothing changed since the last make\n", name);
  else if (exports)
    fprintf(stderr, "%s: made %d export(s)\n", name, r.runs);
  lh_buf out = LH_BUF_INIT;
  if (lh_dataset_index(ds, &out, &err)) {
    lh_buf_free(&out);
    return cli_fail_err(&err);
  }
  return print_buf(&out);
}

static const cli_option EXPORT_OPTIONS[] = {
    {"force", 0, CLI_SWITCH, NULL, "Write it even when it is up to date", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec EXPORT = {
    .usage = "ftm-lakehouse -d DATASET export KIND [--force]",
    .about =
        "Write one export of the dataset when it is out of date, and print its job record:\n"
        "  statements   exports/statements.csv[.gz|.zst], sorted by entity_id, prop, id\n"
        "  entities     entities.ftm.json[.gz|.zst] and a diff under diffs/entities.ftm.json/\n"
        "  documents    exports/documents.csv and a diff under diffs/exports/documents.csv/\n"
        "  statistics   exports/statistics.json (versioned)\n"
        "  index        index.json (versioned)\n",
    .options = EXPORT_OPTIONS,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing KIND"};

int cli_cmd_export(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &EXPORT, argc, argv, &a, &rc))
    return rc;
  bool force = cli_opt_on(&a, "force", false);
  const char *name = a.args[0];
  lh_error err = {0};
  lh_export_kind kind;
  if (lh_export_kind_parse(name, &kind, &err))
    return cli_usage(ctx, "%s", err.message);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_op_result r = {0};
  if (lh_dataset_export(ds, kind, force, &r, &err)) {
    lh_buf_free(&r.job);
    return cli_fail_err(&err);
  }
  if (r.skipped) {
    fprintf(stderr, "%s: export %s: already up-to-date (use --force to write it anyway)\n",
            lh_dataset_name(ds), name);
    lh_buf_free(&r.job);
    return CLI_OK;
  }
  lh_buf_putc(&r.job, '\n');
  return print_buf(&r.job);
}
