/* bench/explode: how fast entities become statements, against the hashing limit.
 *
 * Input: every entity of ../shared/data, replicated with rewritten ids until there are at
 * least --min-statements statements, as one NDJSON buffer in memory (built before timing).
 * Measured, each the median of --runs runs on one thread:
 *   explode        explode parsed entities into statements (ids, BASE checksum); entities
 *                  are parsed in batches of 64 outside the timed section (small enough to
 *                  stay in cache, as when an importer parses and explodes line by line)
 *   parse_explode  parse each JSON line and explode it: the end-to-end import front end
 *   parse          parse each JSON line only
 *   hash           SHA-1 of exactly the same statement keys ("{dataset}.{entity}.{prop}.
 *                  {value}") and nothing else: the hashing limit explode cannot beat
 * Prints one JSON object with the rates and the ratio explode / hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lakehouse/lakehouse.h"

#define BENCH_NAME "bench_explode"
#include "bench.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  lh_buf b = LH_BUF_INIT;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    lh_buf_append(&b, chunk, n);
  fclose(f);
  *len = b.len;
  return lh_buf_steal(&b);
}

typedef struct keys_ctx {
  lh_buf *keys; /* the statement keys, NUL separated */
  size_t count;
} keys_ctx;

static int collect_key(const lh_statement *st, void *arg) {
  keys_ctx *k = arg;
  lh_buf_printf(k->keys, "%s.%s.%s.", st->dataset, st->entity_id, st->prop);
  lh_buf_append(k->keys, st->value, st->value_len);
  lh_buf_putc(k->keys, '\0');
  k->count++;
  return 0;
}

typedef struct sink {
  uint64_t statements;
  unsigned char x;
} sink;

static int consume(const lh_statement *st, void *arg) {
  sink *s = arg;
  s->statements++;
  s->x ^= (unsigned char)st->id[0];
  return 0;
}

int main(int argc, char **argv) {
  lh_log_set_sink(lh_log_stderr, NULL);
  const char *shared = getenv("LH_SHARED_DIR") ? getenv("LH_SHARED_DIR") : "../shared";
  long min_statements = 1000000;
  int runs = 5;
  const char *dump = NULL; /* write the replicated NDJSON input here (for CLI timing) */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--min-statements") == 0 && i + 1 < argc)
      min_statements = atol(argv[++i]);
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if (strcmp(argv[i], "--shared") == 0 && i + 1 < argc)
      shared = argv[++i];
    else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
      dump = argv[++i];
  }
  if (runs < 1 || runs > 99)
    runs = 5;
  lh_error err = {0};
  const lh_model *model = lh_model_default(&err);
  if (!model) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  const char *files[] = {
      "data/wd_persons/entities.ftm.json", "data/yente-fixtures/zala/entities.ftm.json",
      "data/yente-fixtures/entities.delta.json", "data/nomenklatura-fixtures/donations.ijson",
      "data/aleph-fixtures/samples.ijson"};
  /* one replica: every non-delete entity, re-serialised compactly */
  lh_entity *e = NULL;
  lh_entity_new(model, &e, NULL);
  lh_buf base = LH_BUF_INIT;
  size_t base_entities = 0;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", shared, files[f]);
    size_t len;
    char *text = read_all(path, &len);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      lh_delta_op op;
      if (lh_entity_parse_json(e, line, strlen(line), 0, &op, &err)) {
        fprintf(stderr, "%s: %s\n", path, err.message);
        return 1;
      }
      if (op == LH_DELTA_DEL)
        continue;
      lh_entity_write_json(e, 0, &base);
      lh_buf_putc(&base, '\n');
      base_entities++;
    }
    free(text);
  }
  /* replicate with rewritten ids: "{id}" -> "r{k}-{id}" (references are rewritten too, so
   * every replica is a self-consistent copy) */
  lh_buf input = LH_BUF_INIT;
  lh_buf keys = LH_BUF_INIT;
  lh_explode_opts o = {
      .dataset = "bench", .origin = "bulk", .last_seen = LH_TIME_NULL, .now = lh_time_now()};
  lh_exploder *x = NULL;
  lh_exploder_new(&o, &x, &err);
  keys_ctx kc = {&keys, 0};
  size_t entities = 0, replicas = 0;
  while ((long)kc.count < min_statements) {
    char prefix[32];
    int pl = snprintf(prefix, sizeof prefix, "r%zu-", replicas);
    const char *p = base.data;
    while (p < base.data + base.len) {
      const char *nl = memchr(p, '\n', (size_t)(base.data + base.len - p));
      lh_entity_parse_json(e, p, (size_t)(nl - p), 0, NULL, &err);
      char id[512];
      snprintf(id, sizeof id, "%s%s", prefix, lh_entity_id(e));
      lh_entity_set_id(e, id, strlen(id), &err);
      size_t start = input.len;
      lh_entity_write_json(e, 0, &input);
      lh_buf_putc(&input, '\n');
      /* the keys of exactly these statements, from a parse of the line as written */
      lh_entity_parse_json(e, input.data + start, input.len - start - 1, 0, NULL, &err);
      lh_exploder_run(x, e, collect_key, &kc, &err);
      entities++;
      p = nl + 1;
    }
    replicas++;
    (void)pl;
  }
  fprintf(stderr, "input: %zu replicas, %zu entities, %zu statements, %.1f MB JSON\n", replicas,
          entities, kc.count, (double)input.len / 1e6);
  if (dump) {
    FILE *f = fopen(dump, "wb");
    if (!f || fwrite(input.data, 1, input.len, f) != input.len || fclose(f) != 0) {
      fprintf(stderr, "cannot write %s\n", dump);
      return 1;
    }
    return 0;
  }

  enum { BATCH = 64 };
  lh_entity *batch[BATCH];
  for (int i = 0; i < BATCH; i++)
    lh_entity_new(model, &batch[i], NULL);
  double t_explode[99], t_full[99], t_parse[99], t_hash[99];
  uint64_t statements = 0;
  for (int r = 0; r < runs; r++) {
    /* explode only: parse a batch (untimed), explode it (timed) */
    sink s = {0, 0};
    double t0, timed = 0;
    const char *p = input.data;
    while (p < input.data + input.len) {
      int n = 0;
      while (n < BATCH && p < input.data + input.len) {
        const char *nl = memchr(p, '\n', (size_t)(input.data + input.len - p));
        lh_entity_parse_json(batch[n++], p, (size_t)(nl - p), 0, NULL, &err);
        p = nl + 1;
      }
      t0 = now_s();
      for (int i = 0; i < n; i++)
        if (lh_exploder_run(x, batch[i], consume, &s, &err) < 0) {
          fprintf(stderr, "%s\n", err.message);
          return 1;
        }
      timed += now_s() - t0;
    }
    t_explode[r] = timed;
    if (s.statements != kc.count) {
      fprintf(stderr, "statement count mismatch\n");
      return 1;
    }
    /* parse + explode */
    s.statements = 0;
    t0 = now_s();
    p = input.data;
    while (p < input.data + input.len) {
      const char *nl = memchr(p, '\n', (size_t)(input.data + input.len - p));
      if (lh_entity_parse_json(e, p, (size_t)(nl - p), 0, NULL, &err) ||
          lh_exploder_run(x, e, consume, &s, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
      }
      p = nl + 1;
    }
    t_full[r] = now_s() - t0;
    statements = s.statements;
    /* parse only */
    t0 = now_s();
    p = input.data;
    while (p < input.data + input.len) {
      const char *nl = memchr(p, '\n', (size_t)(input.data + input.len - p));
      lh_entity_parse_json(e, p, (size_t)(nl - p), 0, NULL, &err);
      p = nl + 1;
    }
    t_parse[r] = now_s() - t0;
    /* hashing limit: SHA-1 of the same keys */
    unsigned char d[20], acc = 0;
    t0 = now_s();
    const char *k = keys.data;
    for (size_t i = 0; i < kc.count; i++) {
      size_t kl = strlen(k);
      lh_sha1(k, kl, d);
      acc ^= d[0];
      k += kl + 1;
    }
    t_hash[r] = now_s() - t0;
    if (acc == 0x5a && s.x == 0x5a && r == 99) /* keep the work observable */
      puts("");
  }
  if (statements != kc.count) {
    fprintf(stderr, "statement count mismatch: %llu vs %zu\n", (unsigned long long)statements,
            kc.count);
    return 1;
  }
  double te = median(t_explode, runs), tf = median(t_full, runs), tp = median(t_parse, runs),
         th = median(t_hash, runs);
  printf("{\"runs\": %d, \"entities\": %zu, \"statements\": %llu, \"input_mb\": %.1f,\n"
         " \"explode_s\": %.4f, \"explode_entities_per_s\": %.0f, "
         "\"explode_statements_per_s\": %.0f,\n"
         " \"parse_explode_s\": %.4f, \"parse_explode_entities_per_s\": %.0f, "
         "\"parse_explode_statements_per_s\": %.0f,\n"
         " \"parse_s\": %.4f, \"parse_mb_per_s\": %.1f,\n"
         " \"hash_s\": %.4f, \"hash_statements_per_s\": %.0f,\n"
         " \"ratio_explode_to_hash\": %.3f, \"ratio_parse_explode_to_hash\": %.3f}\n",
         runs, entities, (unsigned long long)statements, (double)input.len / 1e6, te,
         (double)entities / te, (double)statements / te, tf, (double)entities / tf,
         (double)statements / tf, tp, (double)input.len / 1e6 / tp, th, (double)statements / th,
         th / te, th / tf);
  for (int i = 0; i < BATCH; i++)
    lh_entity_free(batch[i]);
  lh_exploder_free(x);
  lh_entity_free(e);
  lh_buf_free(&base);
  lh_buf_free(&input);
  lh_buf_free(&keys);
  return 0;
}
