/* ftm-lakehouse ls / datasets: the datasets of the catalog. */
#include <stdlib.h>

#include "cli/cli.h"

static const cli_option OUTPUT_ONLY[] = {CLI_OPT_OUTPUT, {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec LS = {.usage = "ftm-lakehouse ls [-o OUT]",
                            .about = "List the datasets of the lakehouse, one name per line.\n",
                            .options = OUTPUT_ONLY};

static const cli_spec DATASETS = {
    .usage = "ftm-lakehouse datasets [-o OUT]",
    .about = "Write one JSON line per dataset: its config.yml with name and uri.\n",
    .options = OUTPUT_ONLY};

int cli_cmd_ls(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &LS, argc, argv, &a, &rc))
    return rc;
  const char *out = cli_opt_str(&a, "output", "-");
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
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &DATASETS, argc, argv, &a, &rc))
    return rc;
  const char *out = cli_opt_str(&a, "output", "-");
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
