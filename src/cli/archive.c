/* ftm-lakehouse crawl / archive ...: the file archive of a dataset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"

#define TEXT_MAX ((size_t)64 << 20) /* archive text put: the largest text read */

static const cli_option END = {NULL, 0, 0, NULL, NULL, 0, 0, NULL};

/* ---- crawl ---------------------------------------------------------------------------- */

static void crawl_progress(void *ctx, uint64_t files, uint64_t bytes) {
  cli_progress_bytes(ctx, bytes);
  cli_progress_set(ctx, files);
}

static const cli_option CRAWL_OPTIONS[] = {
    {"output", 'o', CLI_STRING, "OUT",
     "Write the job record (JSON) to this file (default: - prints it on stderr)", 0, 0, NULL},
    {"include", 0, CLI_STRING, "GLOB",
     "Only files whose path matches this glob ('*' stays within a folder,\n"
     "'**' crosses folders: '**/*.pdf' is every PDF)",
     0, 0, NULL},
    {"exclude", 0, CLI_STRING, "GLOB",
     "Leave out files whose path matches this fnmatch pattern ('*' also\n"
     "matches '/': '*.pdf' is every PDF)",
     0, 0, NULL},
    {"make-entities", 0, CLI_SWITCH, NULL,
     "Write a Folder entity per folder and an entity per file (origin crawl)\n"
     "through the journal, flushed at the end (default: on)",
     0, 0, NULL},
    {"existing", 0, CLI_STRING, "MODE",
     "overwrite (default): archive every file again; skip-path: skip files\n"
     "archived from the same path; skip-checksum: skip content archived already",
     0, 0, NULL},
    END};

static const cli_spec CRAWL = {
    .usage = "ftm-lakehouse -d DATASET crawl FOLDER [OPTIONS]",
    .about =
        "Archive every regular file under FOLDER: each content once under\n"
        "archive/{ab}/{cd}/{ef}/{sha256}/blob, with a metadata file per path ({file_id}.json).\n"
        "A file that cannot be archived (unreadable, vanished, changed while read, empty, a\n"
        "name that is not UTF-8) is a warning naming it and counts as an error of the job;\n"
        "the crawl goes on. Killed and run again with --existing skip-path, a crawl archives\n"
        "the rest and writes nothing twice.\n",
    .options = CRAWL_OPTIONS,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the FOLDER to crawl"};

/* The job record to -o, or on stderr for "-" (as the Python CLI shows it). */
static int write_job(const char *out, lh_buf *job) {
  lh_buf_putc(job, '\n');
  if (strcmp(out, "-") == 0) {
    fputs(job->data, stderr);
    return CLI_OK;
  }
  int fd = cli_open_output(out);
  int rc = fd < 0 ? CLI_FAIL : cli_flush(fd, job);
  if (fd >= 0)
    cli_close_fd(fd);
  return rc;
}

int cli_cmd_crawl(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &CRAWL, argc, argv, &a, &rc))
    return rc;
  lh_error err = {0};
  lh_crawl_opts o = {.glob = cli_opt_str(&a, "include", NULL),
                     .exclude_glob = cli_opt_str(&a, "exclude", NULL),
                     .make_entities = cli_opt_on(&a, "make-entities", true),
                     .existing = LH_EXISTING_OVERWRITE};
  const char *existing = cli_opt_str(&a, "existing", NULL);
  if (existing && lh_crawl_existing_parse(existing, &o.existing, &err))
    return cli_usage(ctx, "--existing: %s", err.message);
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  cli_progress *bar = cli_progress_start("crawl", 0, "files");
  o.progress = crawl_progress;
  o.progress_ctx = bar;
  lh_op_result r = {0};
  rc = lh_dataset_crawl(ds, a.args[0], &o, &r, &err);
  cli_progress_finish(bar);
  if (rc) {
    lh_buf_free(&r.job);
    return cli_fail_err(&err);
  }
  rc = write_job(cli_opt_str(&a, "output", "-"), &r.job);
  lh_buf_free(&r.job);
  return rc;
}

/* ---- archive get / head / ls ------------------------------------------------------------ */

static const cli_option OUTPUT_ONLY[] = {CLI_OPT_OUTPUT, END};

static const cli_spec GET = {
    .usage = "ftm-lakehouse -d DATASET archive get CHECKSUM [-o OUT]",
    .about = "Write the archived content of CHECKSUM (SHA-256), streamed: any size, constant\n"
             "memory.\n",
    .options = OUTPUT_ONLY,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the CHECKSUM"};

static int cmd_get(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &GET, argc, argv, &a, &rc))
    return rc;
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_error err = {0};
  lh_file *f = NULL;
  if ((rc = lh_archive_get_file(ds, a.args[0], NULL, &f, &err)))
    return rc == LH_ENOTFOUND ? cli_fail("FileNotFoundError: %s", a.args[0]) : cli_fail_err(&err);
  lh_file_free(f);
  int fd = cli_open_output(cli_opt_str(&a, "output", "-"));
  if (fd < 0)
    return CLI_FAIL;
  rc = lh_archive_stream(ds, a.args[0], cli_write_fd, &fd, &err);
  cli_close_fd(fd);
  return rc ? cli_fail_err(&err) : CLI_OK;
}

typedef struct files_out {
  lh_buf buf;
  int fd;
  enum { SHOW_JSON, SHOW_KEYS, SHOW_CHECKSUMS } show;
  uint64_t n;
} files_out;

static int write_file(void *ctx, const lh_file *f, lh_error *err) {
  files_out *o = ctx;
  int rc = o->show == SHOW_KEYS        ? lh_buf_puts(&o->buf, f->key)
           : o->show == SHOW_CHECKSUMS ? lh_buf_puts(&o->buf, f->checksum)
                                       : lh_file_write_json(f, &o->buf);
  if (rc || lh_buf_putc(&o->buf, '\n'))
    return lh_error_nomem(err);
  o->n++;
  if (o->buf.len >= ((size_t)1 << 20) && cli_flush(o->fd, &o->buf))
    return lh_error_set(err, LH_EIO, "cannot write output");
  return 0;
}

/* Every metadata file of checksum (NULL: the archive) to -o. */
static int list_files(cli_ctx *ctx, const char *checksum, const char *out, int show) {
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  files_out o = {LH_BUF_INIT, cli_open_output(out), show, 0};
  if (o.fd < 0)
    return CLI_FAIL;
  lh_error err = {0};
  int rc = lh_archive_files(ds, checksum, write_file, &o, &err);
  if (!rc && cli_flush(o.fd, &o.buf))
    rc = LH_EIO;
  else if (rc)
    cli_fail_err(&err);
  lh_buf_free(&o.buf);
  cli_close_fd(o.fd);
  if (!rc && checksum && o.n == 0)
    return cli_fail("FileNotFoundError: %s", checksum);
  return rc ? CLI_FAIL : CLI_OK;
}

static const cli_spec HEAD = {
    .usage = "ftm-lakehouse -d DATASET archive head CHECKSUM [-o OUT]",
    .about = "Write every metadata file of CHECKSUM (one per archived path) as JSON lines.\n",
    .options = OUTPUT_ONLY,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the CHECKSUM"};

static int cmd_head(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &HEAD, argc, argv, &a, &rc))
    return rc;
  lh_error err = {0};
  if (lh_validate_checksum(a.args[0], &err))
    return cli_fail_err(&err);
  return list_files(ctx, a.args[0], cli_opt_str(&a, "output", "-"), SHOW_JSON);
}

static const cli_option LS_OPTIONS[] = {
    CLI_OPT_OUTPUT,
    {"keys", 0, CLI_SWITCH, NULL, "Only the key (source path) of each file", 0, 0, NULL},
    {"checksums", 0, CLI_SWITCH, NULL,
     "Only the checksum of each file (repeated when one content has several paths)", 0, 0, NULL},
    END};

static const cli_spec LS = {.usage = "ftm-lakehouse -d DATASET archive ls [OPTIONS]",
                            .about = "Write the metadata of every archived file as JSON lines.\n",
                            .options = LS_OPTIONS};

static int cmd_ls(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &LS, argc, argv, &a, &rc))
    return rc;
  int show = cli_opt_on(&a, "keys", false)        ? SHOW_KEYS
             : cli_opt_on(&a, "checksums", false) ? SHOW_CHECKSUMS
                                                  : SHOW_JSON;
  return list_files(ctx, NULL, cli_opt_str(&a, "output", "-"), show);
}

/* ---- archive download / gc ---------------------------------------------------------------- */

static const cli_option DOWNLOAD_OPTIONS[] = {
    {"output", 'o', CLI_STRING, "TARGET", "The folder to write the files to (required)", 0, 0,
     NULL},
    {"force", 0, CLI_SWITCH, NULL, "Download even when the last download is up to date", 0, 0,
     NULL},
    END};

static const cli_spec DOWNLOAD = {
    .usage = "ftm-lakehouse -d DATASET archive download -o TARGET [--force]",
    .about = "Copy every document of exports/documents.csv to TARGET/{path}/{name} (run `make`\n"
             "first); files that exist there are left alone and counted.\n",
    .options = DOWNLOAD_OPTIONS};

static int cmd_download(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &DOWNLOAD, argc, argv, &a, &rc))
    return rc;
  const char *target = cli_opt_str(&a, "output", NULL);
  if (!target)
    return cli_usage(ctx, "missing option '-o TARGET'");
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_op_result r = {0};
  lh_error err = {0};
  rc = lh_dataset_download_archive(ds, target, cli_opt_on(&a, "force", false), &r, &err);
  if (rc) {
    lh_buf_free(&r.job);
    if (rc == LH_ENOTFOUND)
      return cli_fail("%s (run `ftm-lakehouse -d %s make` first)", err.message,
                      lh_dataset_name(ds));
    return cli_fail_err(&err);
  }
  if (r.skipped)
    fprintf(stderr, "%s: download: already up-to-date (use --force to download anyway)\n",
            lh_dataset_name(ds));
  rc = r.skipped ? CLI_OK : write_job("-", &r.job);
  lh_buf_free(&r.job);
  return rc;
}

static const cli_option GC_OPTIONS[] = {
    {"dry-run", 0, CLI_FLAG, NULL, "Count what would be deleted, delete nothing", 0, 0, NULL}, END};

static const cli_spec GC = {
    .usage = "ftm-lakehouse -d DATASET archive gc [--dry-run]",
    .about = "Delete the blobs no metadata file refers to any more (after `archive` metadata\n"
             "was deleted), with the texts beside them, under the dataset's write fence: a\n"
             "crawl running at the same time never loses a blob it refers to.\n",
    .options = GC_OPTIONS};

static int cmd_gc(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &GC, argc, argv, &a, &rc))
    return rc;
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  bool dry = cli_opt_on(&a, "dry-run", false);
  lh_archive_gc_result r;
  lh_error err = {0};
  if (lh_archive_gc(ds, dry, &r, &err))
    return cli_fail_err(&err);
  printf("{\"dataset\":\"%s\",\"dry_run\":%s,\"checksums\":%llu,\"blobs\":%llu,\"bytes\":%lld,"
         "\"texts\":%llu,\"temp_files\":%llu}\n",
         lh_dataset_name(ds), dry ? "true" : "false", (unsigned long long)r.checksums,
         (unsigned long long)r.blobs, (long long)r.bytes, (unsigned long long)r.texts,
         (unsigned long long)r.temp_files);
  return CLI_OK;
}

/* ---- archive text get / put --------------------------------------------------------------- */

static const cli_option TEXT_GET_OPTIONS[] = {{"origin", 0, CLI_STRING, "ORIGIN",
                                               "The text of this origin (default: the first one)",
                                               0, 0, NULL},
                                              CLI_OPT_OUTPUT,
                                              END};

static const cli_spec TEXT_GET = {
    .usage = "ftm-lakehouse -d DATASET archive text get CHECKSUM [--origin O] [-o OUT]",
    .about = "Write the extracted text stored for CHECKSUM.\n",
    .options = TEXT_GET_OPTIONS,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the CHECKSUM"};

static int cmd_text_get(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &TEXT_GET, argc, argv, &a, &rc))
    return rc;
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  lh_buf text = LH_BUF_INIT;
  lh_error err = {0};
  rc = lh_archive_get_text(ds, a.args[0], cli_opt_str(&a, "origin", NULL), &text, &err);
  if (rc == 0) {
    int fd = cli_open_output(cli_opt_str(&a, "output", "-"));
    rc = fd < 0 ? CLI_FAIL : cli_flush(fd, &text);
    if (fd >= 0)
      cli_close_fd(fd);
  } else {
    rc = cli_fail_err(&err);
  }
  lh_buf_free(&text);
  return rc;
}

static const cli_option TEXT_PUT_OPTIONS[] = {
    {"input", 'i', CLI_STRING, "IN", "The text (default: - for stdin)", 0, 0, NULL},
    {"origin", 0, CLI_STRING, "ORIGIN", "The origin of the text (default: default)", 0, 0, NULL},
    END};

static const cli_spec TEXT_PUT = {
    .usage = "ftm-lakehouse -d DATASET archive text put CHECKSUM [-i IN] [--origin O]",
    .about = "Store extracted text for an archived CHECKSUM (at most 64 MiB), replacing the\n"
             "text of the same origin.\n",
    .options = TEXT_PUT_OPTIONS,
    .args_min = 1,
    .args_max = 1,
    .args_missing = "missing the CHECKSUM"};

static int cmd_text_put(cli_ctx *ctx, int argc, char **argv) {
  cli_args a;
  int rc;
  if (!cli_parse(ctx, &TEXT_PUT, argc, argv, &a, &rc))
    return rc;
  lh_dataset *ds;
  if (cli_open_dataset(ctx, &ds))
    return CLI_FAIL;
  const char *in = cli_opt_str(&a, "input", "-");
  lh_buf text = LH_BUF_INIT;
  if ((rc = cli_read_all(in, TEXT_MAX, &text))) {
    lh_buf_free(&text);
    return rc;
  }
  lh_error err = {0};
  rc = lh_archive_put_text(ds, a.args[0], cli_opt_str(&a, "origin", NULL),
                           text.data ? text.data : "", text.len, &err);
  lh_buf_free(&text);
  return rc ? cli_fail_err(&err) : CLI_OK;
}

static const cli_command CLI_ARCHIVE_TEXT[] = {
    {"get", "Write the extracted text of a file", cmd_text_get, NULL},
    {"put", "Store extracted text for a file", cmd_text_put, NULL},
    {NULL, NULL, NULL, NULL}};

const cli_command CLI_ARCHIVE[] = {
    {"get", "Write an archived file's content", cmd_get, NULL},
    {"head", "Write the metadata of an archived content", cmd_head, NULL},
    {"ls", "List the archived files", cmd_ls, NULL},
    {"download", "Copy the documents of exports/documents.csv to a folder", cmd_download, NULL},
    {"gc", "Delete blobs no file refers to any more", cmd_gc, NULL},
    {"text", "Extracted texts", NULL, CLI_ARCHIVE_TEXT},
    {NULL, NULL, NULL, NULL}};
