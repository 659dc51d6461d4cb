/* The one option parser of the CLI: a command declares its options in a table (cli_spec)
 * and gets --help generated from it, the same usage errors everywhere, and checked numbers. */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define HELP_COLUMN 26 /* help text starts here unless every option is narrower */

static const cli_option HELP_OPTION = {"help", 'h', CLI_FLAG, NULL, "Show this help", 0, 0, NULL};

static size_t count_options(const cli_spec *spec) {
  size_t n = 0;
  while (spec->options && spec->options[n].name)
    n++;
  return n;
}

/* "-o, --output OUT", "--flush / --no-flush", "--force" */
static void left_column(const cli_option *o, char *out, size_t cap) {
  int n = 0;
  if (o->letter)
    n = snprintf(out, cap, "-%c, ", o->letter);
  if (o->arg == CLI_SWITCH)
    snprintf(out + n, cap - (size_t)n, "--%s / --no-%s", o->name, o->name);
  else if (o->arg == CLI_STRING || o->arg == CLI_NUMBER)
    snprintf(out + n, cap - (size_t)n, "--%s %s", o->name, o->metavar ? o->metavar : "VALUE");
  else
    snprintf(out + n, cap - (size_t)n, "--%s", o->name);
}

/* Help text lines after the first are indented to the help column. */
static void print_option(const cli_option *o, int width) {
  char left[128];
  left_column(o, left, sizeof left);
  int len = (int)strlen(left);
  if (len > width)
    printf("  %s\n  %*s", left, width, "");
  else
    printf("  %-*s", width, left);
  for (const char *h = o->help ? o->help : ""; *h; h++) {
    putchar(*h);
    if (*h == '\n' && h[1])
      printf("  %*s", width, "");
  }
  putchar('\n');
}

void cli_options_help(const cli_spec *spec) {
  size_t n = count_options(spec);
  int width = 0;
  char left[128];
  for (size_t i = 0; i <= n; i++) {
    left_column(i < n ? &spec->options[i] : &HELP_OPTION, left, sizeof left);
    int len = (int)strlen(left);
    if (len <= HELP_COLUMN && len > width)
      width = len;
  }
  width += 2;
  printf("Options:\n");
  for (size_t i = 0; i < n; i++)
    print_option(&spec->options[i], width);
  print_option(&HELP_OPTION, width);
}

void cli_spec_help(const cli_spec *spec) {
  printf("Usage: %s\n\n", spec->usage);
  if (spec->about)
    printf("%s\n", spec->about);
  cli_options_help(spec);
  if (spec->epilog)
    printf("\n%s", spec->epilog);
}

static bool parse_number(cli_ctx *ctx, const cli_option *o, const char *text, long long *out,
                         int *rc) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || errno || v < o->min || v > o->max) {
    *rc = cli_usage(ctx, "--%s: expected %s, got '%s'", o->name, o->expect, text);
    return false;
  }
  *out = v;
  return true;
}

/* getopt_long values: 256 + 2i for option i, 257 + 2i for its --no- form; 'h' for help. */
enum { VAL_BASE = 256 };

bool cli_parse(cli_ctx *ctx, const cli_spec *spec, int argc, char **argv, cli_args *a, int *rc) {
  size_t n = count_options(spec);
  assert(n <= CLI_MAX_OPTIONS);
  memset(a, 0, sizeof *a);
  a->spec = spec;
  struct option longs[2 * CLI_MAX_OPTIONS + 2];
  char names[CLI_MAX_OPTIONS][64];
  char shorts[3 * CLI_MAX_OPTIONS + 4] = "+h";
  size_t nl = 0, ns = 2;
  if (!spec->stop_at_command) { /* GNU order: options may follow the arguments */
    shorts[0] = 'h';
    ns = 1;
  }
  for (size_t i = 0; i < n; i++) {
    const cli_option *o = &spec->options[i];
    bool has_arg = o->arg == CLI_STRING || o->arg == CLI_NUMBER;
    longs[nl++] = (struct option){o->name, has_arg ? required_argument : no_argument, NULL,
                                  VAL_BASE + 2 * (int)i};
    if (o->arg == CLI_SWITCH) {
      snprintf(names[i], sizeof names[i], "no-%s", o->name);
      longs[nl++] = (struct option){names[i], no_argument, NULL, VAL_BASE + 2 * (int)i + 1};
    }
    if (o->letter) {
      shorts[ns++] = o->letter;
      if (has_arg)
        shorts[ns++] = ':';
    }
  }
  longs[nl++] = (struct option){"help", no_argument, NULL, 'h'};
  longs[nl] = (struct option){NULL, 0, NULL, 0};
  shorts[ns] = '\0';
  optind = 0; /* glibc: start afresh for every command */
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
    if (c == 'h') {
      if (spec->help)
        spec->help();
      else
        cli_spec_help(spec);
      *rc = CLI_OK;
      return false;
    }
    size_t i = n;
    bool negated = false;
    if (c >= VAL_BASE) {
      i = (size_t)(c - VAL_BASE) / 2;
      negated = (c - VAL_BASE) % 2;
    } else {
      for (i = 0; i < n && spec->options[i].letter != c; i++)
        ;
    }
    if (i >= n) {
      *rc = cli_usage(ctx, "unknown or incomplete option '%s'", argv[optind - 1]);
      return false;
    }
    const cli_option *o = &spec->options[i];
    a->given[i] = true;
    a->on[i] = !negated;
    a->value[i] = optarg;
    if (o->arg == CLI_NUMBER && !parse_number(ctx, o, optarg, &a->number[i], rc))
      return false;
  }
  a->args = argv + optind;
  a->nargs = argc - optind;
  if (a->nargs > spec->args_max) {
    *rc = cli_usage(ctx, "unexpected argument '%s'", a->args[spec->args_max]);
    return false;
  }
  if (a->nargs < spec->args_min) {
    *rc = cli_usage(ctx, "%s", spec->args_missing ? spec->args_missing : "missing an argument");
    return false;
  }
  return true;
}

static size_t option_index(const cli_args *a, const char *name) {
  for (size_t i = 0; a->spec->options && a->spec->options[i].name; i++)
    if (strcmp(a->spec->options[i].name, name) == 0)
      return i;
  assert(!"option not in the command's table");
  return CLI_MAX_OPTIONS;
}

const char *cli_opt_str(const cli_args *a, const char *name, const char *def) {
  size_t i = option_index(a, name);
  return i < CLI_MAX_OPTIONS && a->given[i] ? a->value[i] : def;
}

bool cli_opt_on(const cli_args *a, const char *name, bool def) {
  size_t i = option_index(a, name);
  return i < CLI_MAX_OPTIONS && a->given[i] ? a->on[i] : def;
}

long long cli_opt_num(const cli_args *a, const char *name, long long def) {
  size_t i = option_index(a, name);
  return i < CLI_MAX_OPTIONS && a->given[i] ? a->number[i] : def;
}
