/* ftm-lakehouse: global options and dispatch to command groups (git-style). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const cli_command ROOT[] = {
    {"ls", "List the datasets of the lakehouse", cli_cmd_ls, NULL},
    {"datasets", "Show the dataset configurations as JSON lines", cli_cmd_datasets, NULL},
    {"configure", "Merge a YAML config into the dataset's config.yml", cli_cmd_configure, NULL},
    {"make", "Flush, optimize and write the exports that are out of date", cli_cmd_make, NULL},
    {"export", "Write one export (statements, entities, documents, statistics, index)",
     cli_cmd_export, NULL},
    {"entities", "Read and write FtM entities", NULL, CLI_ENTITIES},
    {"statements", "Read and write raw FtM statements", NULL, CLI_STATEMENTS},
    {"maintenance", "Dataset maintenance operations", NULL, CLI_MAINTENANCE},
    {NULL, NULL, NULL, NULL},
};

static const char *GLOBAL_HELP =
    "Options:\n"
    "  --uri URI           Lakehouse root (default: $LAKEHOUSE_URI or ./data)\n"
    "  -d DATASET          Dataset name\n"
    "  --dataset-uri URI   Explicit storage URI of the dataset (default: {uri}/{dataset})\n"
    "  --version           Print the version and exit\n"
    "  --settings          Print the settings in effect as JSON and exit\n"
    "  -h, --help          Show this help\n";

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_FAIL;
}

int cli_fail_err(const lh_error *err) {
  return cli_fail("%s", err->message[0] ? err->message : lh_strerror(err->code));
}

int cli_usage(cli_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", ctx->path ? ctx->path : "ftm-lakehouse");
  return CLI_USAGE;
}

void cli_print_help(const char *usage, const char *body) {
  printf("Usage: %s\n\n%s", usage, body ? body : "");
}

int cli_open_dataset(cli_ctx *ctx, lh_dataset **out) {
  if (!ctx->ds) {
    const char *name = cli_dataset(ctx);
    if (!name)
      return CLI_FAIL;
    lh_catalog *cat = NULL;
    if (!ctx->dataset_uri && cli_catalog(ctx, &cat))
      return CLI_FAIL;
    lh_error err = {0};
    if (lh_dataset_open(cat, name, ctx->dataset_uri, &ctx->settings, &ctx->ds, &err))
      return cli_fail_err(&err);
  }
  *out = ctx->ds;
  return 0;
}

const lh_model *cli_model(void) {
  lh_error err = {0};
  const lh_model *m = lh_model_default(&err);
  if (!m)
    cli_fail_err(&err);
  return m;
}

int cli_catalog(cli_ctx *ctx, lh_catalog **out) {
  if (!ctx->catalog) {
    lh_error err = {0};
    if (lh_catalog_open(ctx->uri, &ctx->catalog, &err))
      return cli_fail_err(&err);
  }
  *out = ctx->catalog;
  return 0;
}

const char *cli_dataset(cli_ctx *ctx) {
  if (!ctx->dataset) {
    cli_fail("specify the dataset with -d DATASET");
    return NULL;
  }
  lh_error err = {0};
  if (lh_validate_dataset_name(ctx->dataset, &err)) {
    cli_fail_err(&err);
    return NULL;
  }
  return ctx->dataset;
}

int cli_open_input(const char *path) {
  if (!path || strcmp(path, "-") == 0)
    return STDIN_FILENO;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    cli_fail("cannot open '%s': %s", path, strerror(errno));
  return fd;
}

int cli_open_output(const char *path) {
  if (!path || strcmp(path, "-") == 0)
    return STDOUT_FILENO;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    cli_fail("cannot write '%s': %s", path, strerror(errno));
  return fd;
}

void cli_close_fd(int fd) {
  if (fd > STDERR_FILENO)
    close(fd);
}

int cli_flush(int fd, lh_buf *buf) {
  const char *p = buf->data;
  size_t n = buf->len;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return cli_fail("cannot write output: %s", strerror(errno));
    }
    p += w;
    n -= (size_t)w;
  }
  lh_buf_reset(buf);
  return 0;
}

int cli_write_fd(void *ctx, const void *data, size_t len, lh_error *err) {
  int fd = *(const int *)ctx;
  const char *p = data;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return lh_error_errno(err, errno, "cannot write output");
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static void print_commands(const char *usage, const cli_command *cmds, const char *options) {
  printf("Usage: %s\n\n", usage);
  if (options)
    printf("%s\n", options);
  printf("Commands:\n");
  for (const cli_command *c = cmds; c->name; c++)
    printf("  %-12s %s\n", c->name, c->summary);
}

static int dispatch(cli_ctx *ctx, const cli_command *cmds, const char *path, int argc,
                    char **argv) {
  char usage[256];
  snprintf(usage, sizeof usage, "%s COMMAND [OPTIONS]", path);
  if (argc < 1) { /* no command: the help, as Typer's no_args_is_help does */
    print_commands(usage, cmds, cmds == ROOT ? GLOBAL_HELP : NULL);
    return CLI_OK;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
      strcmp(argv[0], "help") == 0) {
    print_commands(usage, cmds, cmds == ROOT ? GLOBAL_HELP : NULL);
    return CLI_OK;
  }
  for (const cli_command *c = cmds; c->name; c++) {
    if (strcmp(c->name, argv[0]) != 0)
      continue;
    char sub[256];
    snprintf(sub, sizeof sub, "%s %s", path, c->name);
    if (c->subcommands)
      return dispatch(ctx, c->subcommands, sub, argc - 1, argv + 1);
    ctx->path = sub;
    optind = 0; /* glibc: re-initialise getopt (the global parse used "+" ordering) */
    opterr = 0;
    return c->run(ctx, argc, argv);
  }
  ctx->path = path;
  return cli_usage(ctx, "no such command '%s'", argv[0]);
}

static int print_settings(cli_ctx *ctx) {
  lh_buf out = LH_BUF_INIT;
  int rc = lh_settings_to_json(&ctx->settings, &out);
  if (rc == 0) {
    char *state = NULL;
    /* the CLI state: effective uri, dataset and dataset uri */
    lh_buf s = LH_BUF_INIT;
    lh_buf_puts(&s, "{\"settings\":");
    lh_buf_append(&s, out.data, out.len);
    lh_buf_puts(&s, ",\"state\":{\"uri\":");
    lh_json_write_string(&s, ctx->uri, strlen(ctx->uri));
    lh_buf_puts(&s, ",\"dataset\":");
    if (ctx->dataset)
      lh_json_write_string(&s, ctx->dataset, strlen(ctx->dataset));
    else
      lh_buf_puts(&s, "null");
    lh_buf_puts(&s, ",\"dataset_uri\":");
    /* the dataset's URI: the explicit one, else {lake}/{dataset} */
    char *uri = NULL;
    lh_catalog *cat = NULL;
    if (!ctx->dataset_uri && ctx->dataset && cli_catalog(ctx, &cat) == 0)
      uri = lh_catalog_dataset_uri(cat, ctx->dataset, NULL);
    const char *du = ctx->dataset_uri ? ctx->dataset_uri : uri;
    if (du)
      lh_json_write_string(&s, du, strlen(du));
    else
      lh_buf_puts(&s, "null");
    free(uri);
    lh_buf_puts(&s, "}}\n");
    state = lh_buf_steal(&s);
    fputs(state, stdout);
    free(state);
  }
  lh_buf_free(&out);
  return rc ? cli_fail("cannot print settings") : CLI_OK;
}

int main(int argc, char **argv) {
  cli_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.path = "ftm-lakehouse";
  lh_log_set_sink(lh_log_stderr, NULL);
  lh_error err = {0};
  if (lh_settings_load(&ctx.settings, &err))
    return cli_fail_err(&err);
  int level = lh_log_level_from_name(ctx.settings.log_level);
  if (level < 0) {
    cli_fail("LOG_LEVEL: unknown level '%s' (use debug, info, warning or error)",
             ctx.settings.log_level);
    lh_settings_free(&ctx.settings);
    return CLI_FAIL;
  }
  lh_log_set_level((lh_log_level)level);
  ctx.uri = ctx.settings.uri;

  static const struct option opts[] = {
      {"uri", required_argument, NULL, 'u'}, {"dataset-uri", required_argument, NULL, 'D'},
      {"version", no_argument, NULL, 'V'},   {"settings", no_argument, NULL, 'S'},
      {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
  bool show_settings = false;
  int c, rc = CLI_OK;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+d:h", opts, NULL)) != -1) {
    switch (c) {
    case 'u': ctx.uri = optarg; break;
    case 'd': ctx.dataset = optarg; break;
    case 'D': ctx.dataset_uri = optarg; break;
    case 'V': printf("%s\n", lh_version()); goto done;
    case 'S': show_settings = true; break;
    case 'h':
      print_commands("ftm-lakehouse [OPTIONS] COMMAND [ARGS]...", ROOT, GLOBAL_HELP);
      goto done;
    default: rc = cli_usage(&ctx, "unknown or incomplete option '%s'", argv[optind - 1]); goto done;
    }
  }
  if (ctx.uri != ctx.settings.uri) {
    /* --uri replaces LAKEHOUSE_URI everywhere, the default journal location included */
    char *uri = strdup(ctx.uri);
    if (!uri) {
      rc = cli_fail("out of memory");
      goto done;
    }
    free(ctx.settings.uri);
    ctx.uri = ctx.settings.uri = uri;
  }
  if (ctx.dataset && lh_validate_dataset_name(ctx.dataset, &err)) {
    rc = cli_fail_err(&err);
    goto done;
  }
  if (show_settings) {
    rc = print_settings(&ctx);
    goto done;
  }
  rc = dispatch(&ctx, ROOT, "ftm-lakehouse", argc - optind, argv + optind);
done:
  lh_dataset_close(ctx.ds);
  lh_catalog_close(ctx.catalog);
  lh_settings_free(&ctx.settings);
  return rc;
}
