/* ftm-lakehouse configure / make / export: the dataset pipeline. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define CONFIG_MAX (1 << 20)

/* Read a whole (small) file: the -c config. */
static int read_file(const char *path, lh_buf *out) {
  int fd = cli_open_input(path);
  if (fd < 0)
    return CLI_FAIL;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      cli_close_fd(fd);
      return cli_fail("cannot read '%s': %s", path, strerror(errno));
    }
    if (n == 0)
      break;
    if (out->len + (size_t)n > CONFIG_MAX) {
      cli_close_fd(fd);
      return cli_fail("'%s': a dataset config larger than %d bytes", path, CONFIG_MAX);
    }
    lh_buf_append(out, chunk, (size_t)n);
  }
  cli_close_fd(fd);
  return 0;
}

/* configure -c FILE and make -c FILE: merge the file into config.yml. */
static int apply_config(lh_dataset *ds, const char *path) {
  lh_buf text = LH_BUF_INIT;
  int rc = read_file(path, &text);
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

static const char *CONFIGURE_HELP =
    "Merge a YAML dataset config into the dataset's config.yml (a versioned snapshot is\n"
    "kept under versions/) and print the resulting config as JSON. Lists are united and\n"
    "empty values ignored; `name` and `uri` in the file are ignored.\n\n"
    "Options:\n"
    "  -c, --config FILE   The YAML config (required)\n";

int cli_cmd_configure(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *config = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case 'h':
      cli_print_help("ftm-lakehouse -d DATASET configure -c FILE", CONFIGURE_HELP);
      return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
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

static const char *MAKE_HELP =
    "Run the dataset pipeline: flush the journal, optimize the statement store, write the\n"
    "exports that are out of date (statements, entities, documents, statistics, index,\n"
    "with their diffs), and print the dataset index. A second make without changes does\n"
    "nothing.\n\n"
    "Options:\n"
    "  -c, --config FILE      Merge this YAML config into config.yml first\n"
    "  --flush / --no-flush   Flush the journal first (default: on)\n"
    "  --optimize / --no-optimize\n"
    "                         Merge, compact and vacuum the store when needed (default: on)\n"
    "  --exports / --no-exports\n"
    "                         Write the exports (default: on); off: only index.json\n"
    "  --force-optimize       Optimize even when no partition needs a merge\n"
    "  --force-exports        Write every export even when it is up to date\n";

int cli_cmd_make(cli_ctx *ctx, int argc, char **argv) {
  enum {
    O_FLUSH = 256,
    O_NO_FLUSH,
    O_EXPORTS,
    O_NO_EXPORTS,
    O_OPT,
    O_NO_OPT,
    O_FOPT,
    O_NO_FOPT,
    O_FEXP,
    O_NO_FEXP
  };
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"flush", no_argument, NULL, O_FLUSH},
                                       {"no-flush", no_argument, NULL, O_NO_FLUSH},
                                       {"exports", no_argument, NULL, O_EXPORTS},
                                       {"no-exports", no_argument, NULL, O_NO_EXPORTS},
                                       {"optimize", no_argument, NULL, O_OPT},
                                       {"no-optimize", no_argument, NULL, O_NO_OPT},
                                       {"force-optimize", no_argument, NULL, O_FOPT},
                                       {"no-force-optimize", no_argument, NULL, O_NO_FOPT},
                                       {"force-exports", no_argument, NULL, O_FEXP},
                                       {"no-force-exports", no_argument, NULL, O_NO_FEXP},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *config = NULL;
  bool flush = true, exports = true, optimize = true, force_opt = false, force_exp = false;
  int c;
  while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': config = optarg; break;
    case O_FLUSH: flush = true; break;
    case O_NO_FLUSH: flush = false; break;
    case O_EXPORTS: exports = true; break;
    case O_NO_EXPORTS: exports = false; break;
    case O_OPT: optimize = true; break;
    case O_NO_OPT: optimize = false; break;
    case O_FOPT: force_opt = true; break;
    case O_NO_FOPT: force_opt = false; break;
    case O_FEXP: force_exp = true; break;
    case O_NO_FEXP: force_exp = false; break;
    case 'h': cli_print_help("ftm-lakehouse -d DATASET make [OPTIONS]", MAKE_HELP); return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  if (config && apply_config(ds, config))
    return CLI_FAIL;
  const char *name = lh_dataset_name(ds);
  lh_error err = {0};
  lh_make_opts mo = {.no_flush = !flush,
                     .no_optimize = !optimize,
                     .no_exports = !exports,
                     .force_optimize = force_opt,
                     .force_exports = force_exp};
  lh_op_result r = {0};
  int rc = lh_dataset_make(ds, &mo, &r, &err);
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

static const char *EXPORT_HELP =
    "Write one export of the dataset when it is out of date, and print its job record:\n"
    "  statements   exports/statements.csv[.gz|.zst], sorted by entity_id, prop, id\n"
    "  entities     entities.ftm.json[.gz|.zst] and a diff under diffs/entities.ftm.json/\n"
    "  documents    exports/documents.csv and a diff under diffs/exports/documents.csv/\n"
    "  statistics   exports/statistics.json (versioned)\n"
    "  index        index.json (versioned)\n\n"
    "Options:\n"
    "  --force / --no-force   Write it even when it is up to date\n";

int cli_cmd_export(cli_ctx *ctx, int argc, char **argv) {
  enum { O_FORCE = 256, O_NO_FORCE };
  static const struct option opts[] = {{"force", no_argument, NULL, O_FORCE},
                                       {"no-force", no_argument, NULL, O_NO_FORCE},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  bool force = false;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case O_FORCE: force = true; break;
    case O_NO_FORCE: force = false; break;
    case 'h':
      cli_print_help("ftm-lakehouse -d DATASET export KIND [--force]", EXPORT_HELP);
      return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind + 1 != argc)
    return cli_usage(ctx, optind < argc ? "unexpected argument '%s'" : "missing KIND%s",
                     optind < argc ? argv[optind + 1 < argc ? optind + 1 : optind] : "");
  lh_error err = {0};
  lh_export_kind kind;
  if (lh_export_kind_parse(argv[optind], &kind, &err))
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
            lh_dataset_name(ds), argv[optind]);
    lh_buf_free(&r.job);
    return CLI_OK;
  }
  lh_buf_putc(&r.job, '\n');
  return print_buf(&r.job);
}
