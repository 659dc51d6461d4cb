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
typedef struct cli_spec cli_spec;
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
/* Read all of path ("-": stdin) into out; more than max bytes is an error naming the file. */
int cli_read_all(const char *path, size_t max, lh_buf *out);
/* Write all of buf to fd; buf is reset. */
int cli_flush(int fd, lh_buf *buf);
/* An lh_bytes_fn writing to the file descriptor *(int *)ctx; a failed write is LH_EIO with
 * "cannot write output: <reason>" in err. */
int cli_write_fd(void *ctx, const void *data, size_t len, lh_error *err);

/* Import options shared by `entities import` and `statements import`; returns CLI_OK, or
 * the exit code of a usage error / --help. */
int cli_import(cli_ctx *ctx, int argc, char **argv, lh_import_format format, const cli_spec *spec);
/* The options of the import commands (cli_import reads them). */
#define CLI_IMPORT_OPTIONS                                                                         \
  {"input", 'i', CLI_STRING, "IN", "Input file (default: - for stdin)", 0, 0, NULL},               \
      {"origin", 0, CLI_STRING, "ORIGIN", "Origin when an item carries none (default: bulk)",      \
       0,        0, NULL},                                                                         \
      {"override-origin",                                                                          \
       0,                                                                                          \
       CLI_SWITCH,                                                                                 \
       NULL,                                                                                       \
       "Use --origin even when an item carries its own",                                           \
       0,                                                                                          \
       0,                                                                                          \
       NULL},                                                                                      \
      {"bulk-size",                                                                                \
       0,                                                                                          \
       CLI_NUMBER,                                                                                 \
       "N",                                                                                        \
       "Rows per store commit (default: LAKEHOUSE_MAX_BUFFER_ROWS, 1000000)",                      \
       1,                                                                                          \
       LH_BULK_SIZE_MAX,                                                                           \
       "a number of rows from 1 to 1000000000000"},                                                \
      {"last-seen",                                                                                \
       0,                                                                                          \
       CLI_STRING,                                                                                 \
       "TIME",                                                                                     \
       "last_seen when an item has none (ISO 8601; default: now)",                                 \
       0,                                                                                          \
       0,                                                                                          \
       NULL},                                                                                      \
      {"unsafe", 0, CLI_FLAG, NULL, "Accepted for the Python CLI (the rows are the same)",         \
       0,        0, NULL},                                                                         \
  {                                                                                                \
    "journal", 0, CLI_FLAG, NULL,                                                                  \
        "Write through the journal instead (then run `maintenance flush`)", 0, 0, NULL             \
  }
/* -q / --rql of the iterate commands: *have says whether out was filled (free it then). */
int cli_parse_query(const char *q, const char *rql, lh_entity_query *out, bool *have);
/* Byte-pipe an export (exports/statements.csv, entities.ftm.json) to -o. */
int cli_stream_export(cli_ctx *ctx, int argc, char **argv, lh_export_kind kind,
                      const cli_spec *spec);

/* ---- options: one table per command, one parser (options.c) ------------------------- */

typedef enum {
  CLI_FLAG,   /* --name */
  CLI_SWITCH, /* --name / --no-name (Click's boolean pairs); the last one given wins */
  CLI_STRING, /* --name VALUE */
  CLI_NUMBER, /* --name N, an integer from min to max */
} cli_arg;

typedef struct cli_option {
  const char *name; /* the long name, without "--" */
  char letter;      /* the short option, 0: none */
  cli_arg arg;
  const char *metavar; /* CLI_STRING / CLI_NUMBER: the value's name in the help */
  const char *help;    /* lines after the first are indented under it */
  long long min, max;  /* CLI_NUMBER */
  const char *expect;  /* CLI_NUMBER: "--NAME: expected <expect>, got 'x'" */
} cli_option;

struct cli_spec {
  const char *usage;         /* "ftm-lakehouse -d DATASET make [OPTIONS]" */
  const char *about;         /* what the command does, before the options */
  const cli_option *options; /* name-NULL terminated; NULL: none; --help is added */
  int args_min, args_max;    /* positional arguments */
  const char *args_missing;  /* the usage error for fewer than args_min */
  const char *epilog;        /* after the options (examples), or NULL */
  bool stop_at_command;      /* the global options: stop at the first non-option */
  void (*help)(void);        /* prints --help instead of the generated help; NULL: generated */
};

#define CLI_MAX_OPTIONS 16

typedef struct cli_args {
  const cli_spec *spec;
  bool given[CLI_MAX_OPTIONS];
  bool on[CLI_MAX_OPTIONS]; /* CLI_FLAG / CLI_SWITCH */
  const char *value[CLI_MAX_OPTIONS];
  long long number[CLI_MAX_OPTIONS];
  char **args; /* the positional arguments */
  int nargs;
} cli_args;

/* Parse a command's argv by its table. true: go on; false: *rc is the exit code (CLI_OK
 * after --help, CLI_USAGE after a usage error, already printed). */
bool cli_parse(cli_ctx *ctx, const cli_spec *spec, int argc, char **argv, cli_args *a, int *rc);
/* An option's value, or def when it was not given. */
const char *cli_opt_str(const cli_args *a, const char *name, const char *def);
bool cli_opt_on(const cli_args *a, const char *name, bool def);
long long cli_opt_num(const cli_args *a, const char *name, long long def);
/* The help generated from a table; cli_options_help: only its "Options:" block. */
void cli_spec_help(const cli_spec *spec);
void cli_options_help(const cli_spec *spec);

/* The -o option every writing command has. */
#define CLI_OPT_OUTPUT                                                                             \
  { "output", 'o', CLI_STRING, "OUT", "Output file (default: - for stdout)", 0, 0, NULL }

extern const cli_command CLI_ENTITIES[];
extern const cli_command CLI_STATEMENTS[];
extern const cli_command CLI_MAINTENANCE[];
extern const cli_command CLI_ARCHIVE[];

int cli_cmd_ls(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_datasets(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_configure(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_make(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_export(cli_ctx *ctx, int argc, char **argv);
int cli_cmd_crawl(cli_ctx *ctx, int argc, char **argv);

#endif
