/* FtM entities from JSON lines. */
#include <stdlib.h>

#include "core/lines.h"
#include "model/entity_lines.h"

struct lh__entity_lines {
  lh__lines *lines;
  lh_entity *e;
  const char *name;
  lh_drops *drops;
  uint64_t line, deletes;
};

int lh__entity_lines_open(int fd, const char *name, const lh_model *model, lh_drops *drops,
                          lh__entity_lines **out, lh_error *err) {
  *out = NULL;
  lh__entity_lines *r = calloc(1, sizeof *r);
  if (!r)
    return lh_error_nomem(err);
  r->name = name;
  r->drops = drops;
  int rc = lh_entity_new(model, &r->e, err);
  if (!rc && !(r->lines = lh__lines_open_fd(fd, LH_LINE_MAX)))
    rc = lh_error_nomem(err);
  if (rc) {
    lh__entity_lines_close(r);
    return rc;
  }
  if (drops)
    lh_entity_set_drops(r->e, drops);
  *out = r;
  return 0;
}

void lh__entity_lines_close(lh__entity_lines *r) {
  if (!r)
    return;
  if (r->lines)
    lh__lines_close(r->lines);
  lh_entity_free(r->e);
  free(r);
}

int lh__entity_lines_next(lh__entity_lines *r, lh_entity **e, lh_error *err) {
  for (;;) {
    const char *line;
    size_t len;
    int rc = lh__lines_next(r->lines, &line, &len, &r->line, err);
    if (rc <= 0)
      return rc < 0 ? lh_error_prefix(err, rc, "%s", r->name) : 0;
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t'))
      k++;
    if (k == len)
      continue; /* blank line */
    if (r->drops)
      r->drops->line = r->line;
    lh_delta_op op;
    if ((rc = lh_entity_parse_json(r->e, line, len, 0, &op, err)))
      return lh_error_prefix(err, rc, "%s line %llu", r->name, (unsigned long long)r->line);
    if (op == LH_DELTA_SKIP)
      continue; /* dropped and counted */
    if (op == LH_DELTA_DEL) {
      r->deletes++;
      continue;
    }
    *e = r->e;
    return 1;
  }
}

uint64_t lh__entity_lines_line(const lh__entity_lines *r) {
  return r->line;
}

uint64_t lh__entity_lines_deletes(const lh__entity_lines *r) {
  return r->deletes;
}
