/* ftm-lakehouse ls / datasets: the datasets of the catalog. */
#include <getopt.h>
#include <stdlib.h>

#include "cli/cli.h"

static int parse_output_only(cli_ctx *ctx, int argc, char **argv, const char *usage,
                             const char *help, const char **out) {
  static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int c;
  *out = "-";
  while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': *out = optarg; break;
    case 'h': cli_print_help(usage, help); return -1;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  return 0;
}

int cli_cmd_ls(cli_ctx *ctx, int argc, char **argv) {
  const char *out;
  int rc = parse_output_only(ctx, argc, argv, "ftm-lakehouse ls [-o OUT]",
                             "List the datasets of the lakehouse, one name per line.\n\n"
                             "Options:\n  -o OUT   Output file (default: - for stdout)\n",
                             &out);
  if (rc)
    return rc < 0 ? CLI_OK : rc;
  lh_catalog *cat;
  if ((rc = cli_catalog(ctx, &cat)))
    return rc;
  char **names;
  size_t n;
  lh_error err = {0};
  if (lh_catalog_list(cat, &names, &n, &err))
    return cli_fail_err(&err);
  lh_buf buf = LH_BUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i)
      lh_buf_putc(&buf, '\n');
    lh_buf_puts(&buf, names[i]);
  }
  lh_buf_putc(&buf, '\n'); /* an empty catalog prints a lone newline, as the Python CLI */
  lh_strv_free(names, n);
  int fd = cli_open_output(out);
  rc = fd < 0 ? CLI_FAIL : cli_flush(fd, &buf);
  if (fd >= 0)
    cli_close_fd(fd);
  lh_buf_free(&buf);
  return rc;
}

int cli_cmd_datasets(cli_ctx *ctx, int argc, char **argv) {
  const char *out;
  int rc = parse_output_only(ctx, argc, argv, "ftm-lakehouse datasets [-o OUT]",
                             "Write one JSON line per dataset: its config.yml with name and "
                             "uri.\n\nOptions:\n  -o OUT   Output file (default: - for "
                             "stdout)\n",
                             &out);
  if (rc)
    return rc < 0 ? CLI_OK : rc;
  lh_catalog *cat;
  if ((rc = cli_catalog(ctx, &cat)))
    return rc;
  char **names;
  size_t n;
  lh_error err = {0};
  if (lh_catalog_list(cat, &names, &n, &err))
    return cli_fail_err(&err);
  lh_buf buf = LH_BUF_INIT;
  for (size_t i = 0; i < n && rc == 0; i++) {
    if (lh_catalog_dataset_json(cat, names[i], &buf, &err))
      rc = cli_fail_err(&err);
    else
      lh_buf_putc(&buf, '\n');
  }
  lh_strv_free(names, n);
  if (rc == 0) {
    int fd = cli_open_output(out);
    rc = fd < 0 ? CLI_FAIL : cli_flush(fd, &buf);
    if (fd >= 0)
      cli_close_fd(fd);
  }
  lh_buf_free(&buf);
  return rc;
}
