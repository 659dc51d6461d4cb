/* ftm-lakehouse maintenance ...: dataset maintenance operations. */
#include <getopt.h>
#include <stdlib.h>

#include "cli/cli.h"

static const char *OPTIMIZE_HELP =
    "Merge, compact and vacuum the statement store: duplicate statements collapse to the\n"
    "latest, fragments are superseded, tombstones older than LAKEHOUSE_GRACE_PERIOD_DAYS are\n"
    "reaped, small files are bin-packed, and files no longer referenced are deleted.\n\n"
    "Options:\n"
    "  --retention-hours N  Keep unreferenced files younger than N hours (default: 0)\n"
    "  --force              Merge every partition, also those unchanged since their last merge\n";

static int cmd_optimize(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"retention-hours", required_argument, NULL, 'r'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"no-force", no_argument, NULL, 'F'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  lh_optimize_opts o = {false, 0, 0};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'r': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*optarg == '\0' || *end || v < 0 || v > 1000000)
        return cli_usage(ctx, "--retention-hours: expected a number of hours, got '%s'", optarg);
      o.retention_hours = (int)v;
      break;
    }
    case 'f': o.force = true; break;
    case 'F': o.force = false; break;
    case 'h':
      cli_print_help("ftm-lakehouse -d DATASET maintenance optimize [OPTIONS]", OPTIMIZE_HELP);
      return CLI_OK;
    default: return cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_optimize_result r;
  lh_error err = {0};
  if (lh_dataset_optimize(ds, &o, &r, &err))
    return cli_fail_err(&err);
  printf("{\"dataset\":\"%s\",\"merged_partitions\":%zu,\"clean_partitions\":%zu,"
         "\"rows_before\":%llu,\"rows_after\":%llu,\"files_before_compact\":%zu,"
         "\"files_after_compact\":%zu,\"vacuumed_files\":%zu,\"vacuumed_bytes\":%lld,"
         "\"version\":%lld}\n",
         lh_dataset_name(ds), r.merge.partitions, r.merge.skipped,
         (unsigned long long)r.merge.rows_before, (unsigned long long)r.merge.rows_after,
         r.compact.files_before, r.compact.files_after, r.vacuum.files, (long long)r.vacuum.bytes,
         (long long)r.version);
  return CLI_OK;
}

static int cmd_unlock(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'h') {
      cli_print_help("ftm-lakehouse -d DATASET maintenance unlock",
                     "Release the write fence of a dataset: delete `.LOCK` and every append\n"
                     "marker. Only needed when a writer crashed on another host; stale locks\n"
                     "of this host are taken over automatically.\n");
      return CLI_OK;
    }
    return cli_usage(ctx, "unknown option '%s'", argv[optind - 1]);
  }
  if (optind < argc)
    return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  bool released = false;
  lh_error err = {0};
  if (lh_dataset_unlock(ds, &released, &err))
    return cli_fail_err(&err);
  fprintf(stderr, "%s\n", released ? "Lock released." : "No lock held.");
  return CLI_OK;
}

const cli_command CLI_MAINTENANCE[] = {
    {"optimize", "Merge, compact and vacuum the statement store", cmd_optimize, NULL},
    {"unlock", "Release the dataset's write fence", cmd_unlock, NULL},
    {NULL, NULL, NULL, NULL},
};
