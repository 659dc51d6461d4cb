/* `statements explode`: entity JSON lines -> statements CSV, nothing stored. */
#include <string.h>

#include "lakehouse/statement.h"
#include "model/entity_lines.h"
#include "model/statement_csv.h"

/* Output buffered before it is handed over. */
#define OUT_CHUNK ((size_t)1 << 20)

typedef struct explode_out {
  lh_buf buf;
  lh_bytes_fn fn;
  void *ctx;
  uint64_t statements;
  lh_error *err;
  int rc; /* the output's own failure */
} explode_out;

static int drain(explode_out *o, size_t above) {
  if (o->buf.len <= above || o->rc)
    return o->rc;
  o->rc = o->fn(o->ctx, o->buf.data, o->buf.len, o->err);
  lh_buf_reset(&o->buf);
  return o->rc;
}

static int write_row(const lh_statement *st, void *arg) {
  explode_out *o = arg;
  if (lh_statement_csv_row(st, &o->buf))
    return lh_error_nomem(o->err);
  o->statements++;
  return drain(o, OUT_CHUNK);
}

int lh_explode_csv(int fd, const char *name, const lh_explode_opts *opts, lh_drops *drops,
                   lh_bytes_fn out, void *ctx, lh_explode_result *res, lh_error *err) {
  lh_explode_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  const lh_model *model = lh_model_default(err);
  if (!model)
    return err && err->code ? err->code : LH_EINVAL;
  lh_exploder *x;
  int rc = lh_exploder_new(opts, &x, err);
  if (rc)
    return rc;
  explode_out o = {LH_BUF_INIT, out, ctx, 0, err, 0};
  lh__entity_lines *in = NULL;
  rc = lh__entity_lines_open(fd, name, model, drops, &in, err);
  if (!rc && lh_statement_csv_header(&o.buf))
    rc = lh_error_nomem(err);
  while (!rc) {
    lh_entity *e;
    int r = lh__entity_lines_next(in, &e, err);
    if (r <= 0) {
      rc = r;
      break;
    }
    int n = lh_exploder_run(x, e, write_row, &o, err);
    if (n < 0) {
      rc = o.rc ? o.rc
                : lh_error_prefix(err, n, "%s line %llu", name,
                                  (unsigned long long)lh__entity_lines_line(in));
      break;
    }
    res->entities++;
  }
  /* what was exploded before a bad line is written out too */
  int flushed = o.rc ? o.rc : drain(&o, 0);
  if (!rc)
    rc = flushed;
  res->statements = o.statements;
  res->deletes = in ? lh__entity_lines_deletes(in) : 0;
  lh__entity_lines_close(in);
  lh_exploder_free(x);
  lh_buf_free(&o.buf);
  return rc;
}
