/* A writer process for the crash-safety and concurrency tests of the statement store.
 *
 *   store_worker append DIR FILE ORIGIN WORKER NWORKERS SLICE ACKFILE
 *       Appends the entities of FILE (JSON lines) whose line number n satisfies
 *       n % NWORKERS == WORKER or n % 16 == 0 (a share every worker writes), SLICE entities
 *       per commit, all with ORIGIN. After each acknowledged commit, the statement ids of the
 *       slice are appended to ACKFILE (one per line). A slice refused because the fence stays
 *       busy is retried.
 *   store_worker optimize DIR ROUNDS     merge -> compact -> vacuum(0), ROUNDS times
 *   store_worker merge DIR | compact DIR | vacuum DIR HOURS
 *   store_worker crawl LAKE DATASET SOURCE
 *       Crawls the folder SOURCE into DATASET of the lake LAKE with entities (skip-path).
 *
 * DIR is the dataset folder (dataset "ds"). Exit 0 on success, 1 with a message on stderr.
 * LAKEHOUSE_TEST_CRASH=<point> kills the process at a crash point (see core/crashpoint.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lakehouse/lakehouse.h"
#include "storage/parquet/statement_store.h"

static void die(const char *what, const lh_error *err) {
  fprintf(stderr, "store_worker: %s: %s\n", what, err && err->message[0] ? err->message : "?");
  exit(1);
}

typedef struct slice {
  lh_row *r;
  size_t n, cap;
  char **owned;
  size_t nowned, owned_cap;
} slice;

static const char *own(slice *s, const char *v) {
  if (!v)
    return NULL;
  if (s->nowned == s->owned_cap) {
    s->owned_cap = s->owned_cap ? s->owned_cap * 2 : 4096;
    s->owned = realloc(s->owned, s->owned_cap * sizeof *s->owned);
    if (!s->owned)
      die("out of memory", NULL);
  }
  char *c = strdup(v);
  if (!c)
    die("out of memory", NULL);
  return s->owned[s->nowned++] = c;
}

static void slice_reset(slice *s) {
  for (size_t i = 0; i < s->nowned; i++)
    free(s->owned[i]);
  s->nowned = 0;
  s->n = 0;
}

typedef struct explode_ctx {
  slice *s;
  const char *origin;
} explode_ctx;

static int add_row(const lh_statement *st, void *arg) {
  explode_ctx *c = arg;
  slice *s = c->s;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 4096;
    s->r = realloc(s->r, s->cap * sizeof *s->r);
    if (!s->r)
      die("out of memory", NULL);
  }
  lh_row *row = &s->r[s->n++];
  lh_row_from_statement(st, 0, row);
  row->id = own(s, st->id);
  row->entity_id = own(s, row->entity_id);
  row->dataset = own(s, row->dataset);
  row->origin = c->origin;
  row->schema = own(s, row->schema);
  row->prop = own(s, row->prop);
  row->prop_type = own(s, row->prop_type);
  char *value = strndup(st->value, st->value_len);
  row->value = own(s, value);
  free(value);
  row->original_value = own(s, row->original_value);
  row->lang = own(s, row->lang);
  row->fragment = own(s, row->fragment);
  return 0;
}

typedef struct feed {
  const slice *s;
  bool done;
} feed;

static int next_rows(void *ctx, const lh_row **out, size_t *n, lh_error *err) {
  (void)err;
  feed *f = ctx;
  *out = f->s->r;
  *n = f->done ? 0 : f->s->n;
  f->done = true;
  return 0;
}

static lh_statement_store *open_store(const char *dir, lh_store **ds, lh_settings *settings) {
  lh_error err = {0};
  if (lh_store_open(dir, ds, &err))
    die("open", &err);
  if (lh_settings_load(settings, &err))
    die("settings", &err);
  lh_statement_store *st;
  if (lh_statement_store_open(*ds, "ds", 0, settings, &st, &err))
    die("open the statement store", &err);
  return st;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int cmd_append(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: store_worker append DIR FILE ORIGIN WORKER NWORKERS SLICE ACKFILE\n");
    return 2;
  }
  const char *dir = argv[2], *file = argv[3], *origin = argv[4];
  long worker = atol(argv[5]), nworkers = atol(argv[6]), per_slice = atol(argv[7]);
  FILE *ack = fopen(argv[8], "a");
  FILE *in = fopen(file, "r");
  if (!ack || !in) {
    fprintf(stderr, "store_worker: cannot open %s: %s\n", ack ? file : argv[8], strerror(errno));
    return 1;
  }
  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st = open_store(dir, &ds, &settings);
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  if (!model)
    die("model", &err);
  lh_entity *e = NULL;
  lh_entity_new(model, &e, NULL);
  lh_explode_opts o = {.dataset = "ds",
                       .origin = origin,
                       .override_origin = true,
                       .last_seen = LH_TIME_NULL,
                       .now = LH_TIME_NULL};
  lh_exploder *x = NULL;
  lh_exploder_new(&o, &x, NULL);
  slice s = {0};
  explode_ctx c = {&s, origin};
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long lineno = 0, in_slice = 0, commits = 0;
  for (bool more = true; more;) {
    len = getline(&line, &cap, in);
    more = len > 0;
    if (more) {
      long n = lineno++;
      if (n % nworkers != worker && n % 16 != 0)
        continue;
      lh_delta_op op;
      if (lh_entity_parse_json(e, line, (size_t)len, n + 1, &op, &err))
        die("entity", &err);
      if (op != LH_DELTA_DEL && lh_exploder_run(x, e, add_row, &c, &err) < 0)
        die("explode", &err);
      if (++in_slice < per_slice)
        continue;
    }
    if (s.n == 0)
      continue;
    for (int attempt = 0;; attempt++) {
      feed f = {&s, false};
      lh_append_result res;
      lh_error_clear(&err);
      int rc = lh_statement_store_append(st, next_rows, &f, &res, &err);
      if (rc == 0)
        break;
      if (rc != LH_ELOCKED || attempt == 100)
        die("append", &err);
      sleep_ms(50);
    }
    for (size_t i = 0; i < s.n; i++)
      fprintf(ack, "%s\n", s.r[i].id);
    fflush(ack);
    commits++;
    slice_reset(&s);
    in_slice = 0;
  }
  fprintf(stderr, "store_worker %ld: %ld commits\n", worker, commits);
  free(line);
  fclose(in);
  fclose(ack);
  slice_reset(&s);
  free(s.r);
  free(s.owned);
  lh_exploder_free(x);
  lh_entity_free(e);
  lh_statement_store_close(st);
  lh_store_close(ds);
  lh_settings_free(&settings);
  return 0;
}

static int cmd_maintain(int argc, char **argv) {
  const char *cmd = argv[1];
  if (argc < 3) {
    fprintf(stderr, "usage: store_worker %s DIR ...\n", cmd);
    return 2;
  }
  lh_store *ds;
  lh_settings settings;
  lh_statement_store *st = open_store(argv[2], &ds, &settings);
  lh_error err = {0};
  int rc = 0;
  if (strcmp(cmd, "merge") == 0) {
    rc = lh_statement_store_merge(st, NULL, NULL, &err);
  } else if (strcmp(cmd, "compact") == 0) {
    rc = lh_statement_store_compact(st, 0, NULL, &err);
  } else if (strcmp(cmd, "vacuum") == 0) {
    rc = lh_statement_store_vacuum(st, argc > 3 ? atoi(argv[3]) : 0, NULL, &err);
  } else { /* optimize ROUNDS: like the CLI, each step under its own fence */
    int rounds = argc > 3 ? atoi(argv[3]) : 1;
    for (int i = 0; i < rounds && rc == 0; i++) {
      rc = lh_statement_store_merge(st, NULL, NULL, &err);
      rc = rc ? rc : lh_statement_store_compact(st, 0, NULL, &err);
      rc = rc ? rc : lh_statement_store_vacuum(st, 0, NULL, &err);
      if (rc == LH_ELOCKED) { /* appenders kept the fence: try again next round */
        lh_error_clear(&err);
        rc = 0;
      }
      sleep_ms(100); /* a cron-like pause that lets waiting appenders in */
    }
  }
  if (rc)
    die(cmd, &err);
  lh_statement_store_close(st);
  lh_store_close(ds);
  lh_settings_free(&settings);
  return 0;
}

static int cmd_crawl(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: store_worker crawl LAKE DATASET SOURCE\n");
    return 2;
  }
  lh_settings settings;
  lh_catalog *catalog;
  lh_dataset *ds;
  lh_error err = {0};
  if (lh_settings_load(&settings, &err) || lh_catalog_open(argv[2], &catalog, &err) ||
      lh_dataset_open(catalog, argv[3], NULL, &settings, &ds, &err))
    die("open", &err);
  lh_crawl_opts o = {.make_entities = true};
  if (lh_dataset_crawl(ds, argv[4], &o, NULL, &err))
    die("crawl", &err);
  lh_dataset_close(ds);
  lh_catalog_close(catalog);
  lh_settings_free(&settings);
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  if (argc >= 2 && strcmp(argv[1], "crawl") == 0)
    return cmd_crawl(argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: store_worker append|optimize|merge|compact|vacuum DIR ...\n");
    return 2;
  }
  if (strcmp(argv[1], "append") == 0)
    return cmd_append(argc, argv);
  if (strcmp(argv[1], "optimize") == 0 || strcmp(argv[1], "merge") == 0 ||
      strcmp(argv[1], "compact") == 0 || strcmp(argv[1], "vacuum") == 0)
    return cmd_maintain(argc, argv);
  fprintf(stderr, "store_worker: unknown command '%s'\n", argv[1]);
  return 2;
}
