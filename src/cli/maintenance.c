/* ftm-lakehouse maintenance ...: dataset maintenance operations. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/progress.h"

static const cli_option OPTIMIZE_OPTIONS[] = {
    {"retention-hours", 0, CLI_NUMBER, "N",
     "Keep unreferenced files younger than N hours (default: 0)", 0, 1000000, "a number of hours"},
    {"force", 0, CLI_SWITCH, NULL,
     "Merge every partition, also those unchanged since their last merge", 0, 0, NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec OPTIMIZE = {
    .usage = "ftm-lakehouse -d DATASET maintenance optimize [OPTIONS]",
    .about =
        "Merge, compact and vacuum the statement store: duplicate statements collapse to the\n"
        "latest, fragments are superseded, tombstones older than LAKEHOUSE_GRACE_PERIOD_DAYS are\n"
        "reaped, small files are bin-packed, and files no longer referenced are deleted.\n",
    .options = OPTIMIZE_OPTIONS};

static int cmd_optimize(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &OPTIMIZE, argc, argv, &a, &rc))
    return rc;
  lh_optimize_opts o = {.force = cli_opt_on(&a, "force", false),
                        .retention_hours = (int)cli_opt_num(&a, "retention-hours", 0)};
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

static const cli_spec UNLOCK = {
    .usage = "ftm-lakehouse -d DATASET maintenance unlock",
    .about = "Release the write fence of a dataset: delete `.LOCK` and every append\n"
             "marker. Only needed when a writer crashed on another host; stale locks\n"
             "of this host are taken over automatically.\n"};

static int cmd_unlock(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &UNLOCK, argc, argv, &a, &rc))
    return rc;
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

static const cli_option FLUSH_OPTIONS[] = {
    {"all", 0, CLI_FLAG, NULL, "Flush every dataset of the lakehouse (instead of -d DATASET)", 0, 0,
     NULL},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL}};

static const cli_spec FLUSH = {
    .usage = "ftm-lakehouse [-d DATASET] maintenance flush [--all]",
    .about =
        "Drain the journal into the statement store: the live journal table is rotated to a\n"
        "segment, and every segment (also ones left by an interrupted flush) is committed to the\n"
        "store and then dropped. An empty journal is a cheap no-op.\n",
    .options = FLUSH_OPTIONS};

static int flush_one(cli_ctx *ctx, lh_dataset *ds, uint64_t *total) {
  (void)ctx;
  lh_flush_result r;
  lh_error err = {0};
  cli_progress *bar = cli_progress_start("flush", 0, "statements");
  int rc = lh_entities_flush(ds, &r, &err);
  cli_progress_set(bar, r.rows);
  cli_progress_finish(bar);
  if (rc)
    return cli_fail_err(&err);
  if (r.busy)
    fprintf(stderr, "%s: another flush is running; nothing done.\n", lh_dataset_name(ds));
  *total += r.rows;
  return CLI_OK;
}

static int cmd_flush(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &FLUSH, argc, argv, &a, &rc))
    return rc;
  bool all = cli_opt_on(&a, "all", false);
  uint64_t total = 0;
  if (!all) {
    lh_dataset *ds;
    if (cli_open_dataset(ctx, &ds) || flush_one(ctx, ds, &total))
      return CLI_FAIL;
    fprintf(stderr, "Flushed %llu statements.\n", (unsigned long long)total);
    return CLI_OK;
  }
  if (ctx->dataset)
    return cli_fail("Use either -d <dataset> or --all, not both.");
  lh_catalog *cat;
  if (cli_catalog(ctx, &cat))
    return CLI_FAIL;
  char **names = NULL;
  size_t n = 0;
  lh_error err = {0};
  if (lh_catalog_list(cat, &names, &n, &err))
    return cli_fail_err(&err);
  rc = CLI_OK;
  for (size_t i = 0; i < n && rc == CLI_OK; i++) {
    lh_dataset *ds;
    if (lh_dataset_open(cat, names[i], NULL, &ctx->settings, &ds, &err)) {
      rc = cli_fail_err(&err);
      break;
    }
    rc = flush_one(ctx, ds, &total);
    lh_dataset_close(ds);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  if (rc == CLI_OK)
    fprintf(stderr, "Flushed %llu statements in total.\n", (unsigned long long)total);
  return rc;
}

const cli_command CLI_MAINTENANCE[] = {
    {"flush", "Drain the journal into the statement store", cmd_flush, NULL},
    {"optimize", "Merge, compact and vacuum the statement store", cmd_optimize, NULL},
    {"unlock", "Release the dataset's write fence", cmd_unlock, NULL},
    {NULL, NULL, NULL, NULL},
};
