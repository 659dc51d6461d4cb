/* ftm-lakehouse: global options and dispatch to command groups (git-style). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
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
    {"crawl", "Archive the files of a folder (and make their entities)", cli_cmd_crawl, NULL},
    {"archive", "Access the file archive", NULL, CLI_ARCHIVE},
    {"entities", "Read and write FtM entities", NULL, CLI_ENTITIES},
    {"statements", "Read and write raw FtM statements", NULL, CLI_STATEMENTS},
    {"maintenance", "Dataset maintenance operations", NULL, CLI_MAINTENANCE},
    {NULL, NULL, NULL, NULL},
};

static const cli_option GLOBAL_OPTIONS[] = {
    {"uri", 0, CLI_STRING, "URI", "Lakehouse root (default: $LAKEHOUSE_URI or ./data)", 0, 0, NULL},
    {"dataset", 'd', CLI_STRING, "DATASET", "Dataset name", 0, 0, NULL},
    {"dataset-uri", 0, CLI_STRING, "URI",
     "Explicit storage URI of the dataset (default: {uri}/{dataset})", 0, 0, NULL},
    {"version", 0, CLI_FLAG, NULL, "Print the version and exit", 0, 0, NULL},
    {"settings", 0, CLI_FLAG, NULL, "Print the settings in effect as JSON and exit", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static void root_help(void);

static const cli_spec GLOBAL = {.usage = "ftm-lakehouse [OPTIONS] COMMAND [ARGS]...",
                                .options = GLOBAL_OPTIONS,
                                .args_max = INT_MAX,
                                .stop_at_command = true,
                                .help = root_help};

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

int cli_read_all(const char *path, size_t max, lh_buf *out) {
  int fd = cli_open_input(path);
  if (fd < 0)
    return CLI_FAIL;
  char chunk[65536];
  int rc = CLI_OK;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = cli_fail("cannot read '%s': %s", path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    if (out->len + (size_t)n > max) {
      rc = cli_fail("'%s': more than %zu bytes", path, max);
      break;
    }
    if (lh_buf_append(out, chunk, (size_t)n)) {
      rc = cli_fail("out of memory");
      break;
    }
  }
  cli_close_fd(fd);
  return rc;
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

static void print_commands(const char *usage, const cli_command *cmds, const cli_spec *options) {
  printf("Usage: %s\n\n", usage);
  if (options) {
    cli_options_help(options);
    putchar('\n');
  }
  printf("Commands:\n");
  for (const cli_command *c = cmds; c->name; c++)
    printf("  %-12s %s\n", c->name, c->summary);
}

/* The root's --help: the global options and the commands. */
static void root_help(void) {
  print_commands(GLOBAL.usage, ROOT, &GLOBAL);
}

static int dispatch(cli_ctx *ctx, const cli_command *cmds, const char *path, int argc,
                    char **argv) {
  char usage[256];
  snprintf(usage, sizeof usage, "%s COMMAND [OPTIONS]", path);
  if (argc < 1) { /* no command: the help, as Typer's no_args_is_help does */
    print_commands(usage, cmds, cmds == ROOT ? &GLOBAL : NULL);
    return CLI_OK;
  }
  if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
      strcmp(argv[0], "help") == 0) {
    print_commands(usage, cmds, cmds == ROOT ? &GLOBAL : NULL);
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

/* glibc's malloc: blocks of up to 64 MiB come from the heap rather than a fresh mmap each
 * time, and up to 256 MiB of freed heap stay for reuse. The import's and flush's batches are
 * freed and taken again per batch; page faults on fresh mappings cost them ~15% (A/B, 3M
 * statements imported: median of 5 4.77 -> 3.83 s, peak RSS +25 MB). A crawl keeps glibc's
 * defaults: it trims its workers' buffers before its final flush, which the retained heap
 * defeats (two alternating pairs on 30,564 files: 211 / 216 MB with, 195 / 197 MB without). */
static void tune_malloc(const char *command) {
  if (command && strcmp(command, "crawl") == 0)
    return;
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
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

  cli_args a;
  int rc = CLI_OK;
  if (!cli_parse(&ctx, &GLOBAL, argc, argv, &a, &rc))
    goto done;
  if (cli_opt_on(&a, "version", false)) {
    printf("%s\n", lh_version());
    goto done;
  }
  ctx.uri = cli_opt_str(&a, "uri", ctx.uri);
  ctx.dataset = cli_opt_str(&a, "dataset", NULL);
  ctx.dataset_uri = cli_opt_str(&a, "dataset-uri", NULL);
  bool show_settings = cli_opt_on(&a, "settings", false);
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
  tune_malloc(a.nargs ? a.args[0] : NULL);
  rc = dispatch(&ctx, ROOT, "ftm-lakehouse", a.nargs, a.args);
done:
  lh_dataset_close(ctx.ds);
  lh_catalog_close(ctx.catalog);
  lh_settings_free(&ctx.settings);
  return rc;
}
