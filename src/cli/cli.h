/* Shared plumbing of the `ftm-lakehouse` command: global state, command tables, I/O and
 * error printing. Commands parse their options, call the public API and print. */
#ifndef LH_CLI_H
#define LH_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "lakehouse/lakehouse.h"

typedef struct cli_ctx {
  lh_settings settings;
  const char *uri;         /* --uri, else LAKEHOUSE_URI */
  const char *dataset;     /* -d */
  const char *dataset_uri; /* --dataset-uri */
  lh_catalog *catalog;     /* opened on first use */
  lh_dataset *ds;          /* opened on first use */
  const char *path;        /* "ftm-lakehouse entities import": for messages */
} cli_ctx;

typedef struct cli_command cli_command;
struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(cli_ctx *ctx, int argc, char **argv); /* NULL for a group */
  const cli_command *subcommands;                  /* NULL-name terminated */
};

/* Exit codes: 0 ok, 1 failure (one-line error on stderr), 2 usage error. */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_err(const lh_error *err);
int cli_usage(cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One warning line per kind of input that was dropped. */
void cli_warn_drops(const lh_drops *d);

/* Open the catalog (--uri / LAKEHOUSE_URI) once. */
int cli_catalog(cli_ctx *ctx, lh_catalog **out);
/* The -d dataset, validated; prints the error and returns NULL when missing/invalid. */
const char *cli_dataset(cli_ctx *ctx);
/* Open the -d dataset (honouring --dataset-uri); prints the error on failure. */
int cli_open_dataset(cli_ctx *ctx, lh_dataset **out);
const lh_model *cli_model(void);

/* "-" means stdin/stdout. Returns an fd (opened files are closed by cli_close_fd). */
int cli_open_input(const char *path);
int cli_open_output(const char *path);
void cli_close_fd(int fd);
/* Write all of buf to fd; buf is reset. */
int cli_flush(int fd, lh_buf *buf);
/* An lh_bytes_fn writing to the file descriptor *(int *)ctx; a failed write is LH_EIO with
 * "cannot write output: <reason>" in err. */
int cli_write_fd(void *ctx, const void *data, size_t len, lh_error *err);

/* Import options shared by `entities import` and `statements import`; returns CLI_OK, or
 * the exit code of a usage error / --help. */
int cli_import(cli_ctx *ctx, int argc, char **argv, lh_import_format format, const char *usage,
               const char *help);
/* -q / --rql of the iterate commands: *have says whether out was filled (free it then). */
int cli_parse_query(const char *q, const char *rql, lh_entity_query *out, bool *have);
/* Byte-pipe an export (exports/statements.csv, entities.ftm.json) to -o. */
int cli_stream_export(cli_ctx *ctx, int argc, char **argv, lh_export_kind kind, const char *usage,
                      const char *help);

/* Option helpers: "--help" handling inside a command's getopt loop. */
void cli_print_help(const char *usage, const char *body);

extern const cli_command CLI_ENTITIES[];
extern const cli_command CLI_STATEMENTS[];
extern const cli_command CLI_MAINTENANCE[];

int cli_cmd_ls(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_datasets(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_configure(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_make(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_export(cli_ctx *ctx, int argc, char **argv);

#endif
