/* ftm-lakehouse statements ...: raw FtM statements. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/lines.h"

#define FLUSH_AT ((size_t)1 << 20)

typedef struct explode_state {
  lh_buf out;
  int fd;
  uint64_t statements;
  int failed;
} explode_state;

static int write_row(const lh_statement *st, void *arg) {
  explode_state *s = arg;
  if (lh_statement_csv_row(st, &s->out))
    return LH_ENOMEM;
  s->statements++;
  if (s->out.len >= FLUSH_AT && cli_flush(s->fd, &s->out))
    return s->failed = LH_EIO;
  return 0;
}

static const char *EXPLODE_HELP =
    "Explode FtM entities (JSON lines, also delta files) into statements CSV without\n"
    "storing them: one row per property value plus the entity's `id` statement, ids hashed\n"
    "under the -d dataset, in the lakehouse statements.csv column order.\n\n"
    "Options:\n"
    "  -i IN              Input file of entity JSON lines (default: - for stdin)\n"
    "  -o OUT             Output CSV file (default: - for stdout)\n"
    "  --origin ORIGIN    Origin when an entity carries none (default: bulk)\n"
    "  --override-origin  Use --origin even when an entity carries its own\n"
    "  --fragment NAME    Fragment of every statement (default: the entity's, else none)\n"
    "  --last-seen TIME   last_seen when an entity has none (ISO 8601; default: now)\n"
    "  --skip-unknown     Drop unknown properties instead of failing\n";

static int cmd_explode(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
                                       {"output", required_argument, NULL, 'o'},
                                       {"origin", required_argument, NULL, 'O'},
                                       {"override-origin", no_argument, NULL, 'R'},
                                       {"fragment", required_argument, NULL, 'F'},
                                       {"last-seen", required_argument, NULL, 'L'},
                                       {"skip-unknown", no_argument, NULL, 'U'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *in = "-", *out = "-", *last_seen = NULL;
  lh_explode_opts eo = {.origin = LH_ORIGIN_BULK, .last_seen = LH_TIME_NULL};
  unsigned flags = 0;
  int c;
  while ((c = getopt_long(argc, argv, "i:o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'i': in = optarg; break;
    case 'o': out = optarg; break;
    case 'O': eo.origin = optarg; break;
    case 'R': eo.override_origin = true; break;
    case 'F': eo.fragment = optarg; break;
    case 'L': last_seen = optarg; break;
    case 'U': flags |= LH_PARSE_SKIP_UNKNOWN; break;
    case 'h':
      cli_print_help("ftm-lakehouse -d DATASET statements explode [OPTIONS]", EXPLODE_HELP);
      return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  const char *dataset = cli_dataset(ctx);
  const lh_model *model = dataset ? cli_model() : NULL;
  if (!model)
    return CLI_FAIL;
  lh_error err = {0};
  if (last_seen && lh_time_parse_iso(last_seen, (size_t)-1, &eo.last_seen, &err))
    return cli_fail("--last-seen: %s", err.message);
  eo.dataset = dataset;
  eo.now = lh_time_now();
  lh_exploder *x = lh_exploder_new(&eo, &err);
  if (!x)
    return cli_fail_err(&err);
  int ifd = cli_open_input(in);
  if (ifd < 0) {
    lh_exploder_free(x);
    return CLI_FAIL;
  }
  int ofd = cli_open_output(out);
  if (ofd < 0) {
    cli_close_fd(ifd);
    lh_exploder_free(x);
    return CLI_FAIL;
  }
  explode_state st = {LH_BUF_INIT, ofd, 0, 0};
  lh_entity *e = lh_entity_new(model);
  lh__lines *lines = lh__lines_open_fd(ifd, 0);
  const char *name = strcmp(in, "-") == 0 ? "<stdin>" : in;
  uint64_t entities = 0, deletes = 0, lineno = 0;
  lh_time started = lh_time_now();
  int rc = CLI_OK;
  if (!e || !lines || lh_statement_csv_header(&st.out)) {
    rc = cli_fail("out of memory");
    goto done;
  }
  for (;;) {
    const char *line;
    size_t len;
    int r = lh__lines_next(lines, &line, &len, &lineno, &err);
    if (r == 0)
      break;
    if (r < 0) {
      cli_flush(ofd, &st.out);
      rc = cli_fail("%s: %s", name, err.message);
      goto done;
    }
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t'))
      k++;
    if (k == len)
      continue; /* blank line */
    lh_delta_op op;
    if (lh_entity_parse_json(e, line, len, flags, &op, &err)) {
      cli_flush(ofd, &st.out);
      rc = cli_fail("%s line %llu: %s", name, (unsigned long long)lineno, err.message);
      goto done;
    }
    if (op == LH_DELTA_DEL) {
      deletes++;
      continue;
    }
    int n = lh_exploder_run(x, e, write_row, &st, &err);
    if (n < 0) {
      if (st.failed) {
        rc = CLI_FAIL;
      } else {
        cli_flush(ofd, &st.out);
        rc = cli_fail("%s line %llu: %s", name, (unsigned long long)lineno, err.message);
      }
      goto done;
    }
    entities++;
  }
  if (cli_flush(ofd, &st.out)) {
    rc = CLI_FAIL;
    goto done;
  }
  double secs = (double)(lh_time_now() - started) / 1e6;
  lh_log_info("exploded %llu entities into %llu statements from %s in %.2fs%s",
              (unsigned long long)entities, (unsigned long long)st.statements, name, secs,
              deletes ? " (delete operations skipped)" : "");
done:
  lh__lines_close(lines);
  lh_entity_free(e);
  lh_exploder_free(x);
  lh_buf_free(&st.out);
  cli_close_fd(ifd);
  cli_close_fd(ofd);
  return rc;
}

const cli_command CLI_STATEMENTS[] = {
    {"explode", "Explode entity JSON into statements CSV (no storage)", cmd_explode, NULL},
    {NULL, NULL, NULL, NULL},
};
