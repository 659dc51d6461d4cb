/* Streaming CSV reader (see csv_reader.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/csv_reader.h"
#include "lakehouse/buf.h"

#define CHUNK ((size_t)1 << 20)

struct lh__csv {
  int fd;
  lh__read_fn read_fn; /* instead of fd when set */
  void *read_ctx;
  const char *mem;
  size_t mem_len, mem_pos;
  char *in;
  size_t in_len, in_pos;
  bool eof;
  lh_buf rec;      /* field bytes, each followed by NUL */
  size_t *offsets; /* field start offsets in rec */
  size_t nfields, fields_cap;
  char **ptrs;
  size_t *lens;
  size_t max_record;
  uint64_t line;
};

static lh__csv *alloc(size_t max_record) {
  lh__csv *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->max_record = max_record ? max_record : ((size_t)256 << 20);
  lh_buf_init(&c->rec, c->max_record + 1);
  c->line = 1;
  return c;
}

lh__csv *lh__csv_open_fd(int fd, size_t max_record) {
  lh__csv *c = alloc(max_record);
  if (!c)
    return NULL;
  c->fd = fd;
  c->in = malloc(CHUNK);
  if (!c->in) {
    lh__csv_close(c);
    return NULL;
  }
  return c;
}

lh__csv *lh__csv_open_reader(lh__read_fn fn, void *ctx, size_t max_record) {
  lh__csv *c = lh__csv_open_fd(-1, max_record);
  if (c) {
    c->read_fn = fn;
    c->read_ctx = ctx;
  }
  return c;
}

lh__csv *lh__csv_open_mem(const char *data, size_t len, size_t max_record) {
  lh__csv *c = alloc(max_record);
  if (!c)
    return NULL;
  c->fd = -1;
  c->mem = data;
  c->mem_len = len;
  return c;
}

void lh__csv_close(lh__csv *c) {
  if (!c)
    return;
  free(c->in);
  lh_buf_free(&c->rec);
  free(c->offsets);
  free(c->ptrs);
  free(c->lens);
  free(c);
}

/* Next input byte, or -1 at end, or -2 on read error. */
static int next_byte(lh__csv *c, lh_error *err) {
  if (c->mem)
    return c->mem_pos < c->mem_len ? (unsigned char)c->mem[c->mem_pos++] : -1;
  if (c->in_pos == c->in_len) {
    if (c->eof)
      return -1;
    if (c->read_fn) {
      size_t got;
      if (c->read_fn(c->read_ctx, c->in, CHUNK, &got, err))
        return -2;
      if (got == 0) {
        c->eof = true;
        return -1;
      }
      c->in_len = got;
      c->in_pos = 0;
      return (unsigned char)c->in[c->in_pos++];
    }
    for (;;) {
      ssize_t n = read(c->fd, c->in, CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        lh_error_errno(err, errno, "cannot read CSV input");
        return -2;
      }
      if (n == 0) {
        c->eof = true;
        return -1;
      }
      c->in_len = (size_t)n;
      c->in_pos = 0;
      break;
    }
  }
  return (unsigned char)c->in[c->in_pos++];
}

static int peek_byte(lh__csv *c, lh_error *err) {
  int b = next_byte(c, err);
  if (b >= 0) {
    if (c->mem)
      c->mem_pos--;
    else
      c->in_pos--;
  }
  return b;
}

/* Append the run of ordinary bytes that follows in the buffered input in one go: up to the
 * next byte the state machine must look at (quote and newline inside quotes; comma, quote,
 * CR and newline outside). */
static int take_run(lh__csv *c, bool quoted) {
  const char *buf = c->mem ? c->mem : c->in;
  size_t *pos = c->mem ? &c->mem_pos : &c->in_pos;
  size_t len = c->mem ? c->mem_len : c->in_len, i = *pos;
  if (quoted) {
    while (i < len && buf[i] != '"' && buf[i] != '\n')
      i++;
  } else {
    while (i < len && buf[i] != ',' && buf[i] != '"' && buf[i] != '\n' && buf[i] != '\r')
      i++;
  }
  int rc = i > *pos ? lh_buf_append(&c->rec, buf + *pos, i - *pos) : 0;
  *pos = i;
  return rc;
}

/* Close the current field and record where the next one starts. */
static int end_field(lh__csv *c) {
  int rc = lh_buf_putc(&c->rec, '\0');
  if (rc)
    return rc;
  c->nfields++;
  if (c->nfields + 1 > c->fields_cap) {
    size_t cap = c->fields_cap * 2;
    size_t *no = realloc(c->offsets, cap * sizeof *no);
    char **np = no ? realloc(c->ptrs, cap * sizeof *np) : NULL;
    if (np)
      c->ptrs = np;
    size_t *nl = np ? realloc(c->lens, cap * sizeof *nl) : NULL;
    if (no)
      c->offsets = no;
    if (!nl)
      return LH_ENOMEM;
    c->lens = nl;
    c->fields_cap = cap;
  }
  c->offsets[c->nfields] = c->rec.len;
  return 0;
}

int lh__csv_next(lh__csv *c, lh__csv_record *out, lh_error *err) {
  lh_buf_reset(&c->rec);
  c->nfields = 0;
  if (!c->fields_cap) {
    c->offsets = malloc(32 * sizeof *c->offsets);
    c->ptrs = malloc(32 * sizeof *c->ptrs);
    c->lens = malloc(32 * sizeof *c->lens);
    if (!c->offsets || !c->ptrs || !c->lens)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    c->fields_cap = 32;
  }
  c->offsets[0] = 0;
  uint64_t start_line = c->line;
  int b = next_byte(c, err);
  if (b == -2)
    return LH_EIO;
  if (b == -1)
    return 0;
  bool quoted = false, was_quoted = false;
  int rc = 0;
  for (;; b = next_byte(c, err)) {
    if (b == -2)
      return LH_EIO;
    if (quoted) {
      if (b == -1)
        return lh_error_set(err, LH_EPARSE, "line %llu: unterminated quoted field",
                            (unsigned long long)start_line);
      if (b == '"') {
        int nb = peek_byte(c, err);
        if (nb == '"') {
          next_byte(c, err);
          rc = lh_buf_putc(&c->rec, '"');
        } else {
          quoted = false;
        }
      } else {
        if (b == '\n')
          c->line++;
        rc = lh_buf_putc(&c->rec, (char)b);
        rc = rc ? rc : take_run(c, true);
      }
    } else if (b == ',') {
      rc = end_field(c);
      was_quoted = false;
    } else if (b == '\n' || b == -1) {
      if (b == '\n')
        c->line++;
      if (c->rec.len && c->rec.data[c->rec.len - 1] == '\r' && !was_quoted)
        c->rec.len--;
      rc = end_field(c);
      break;
    } else if (b == '\r' && was_quoted) {
      continue; /* CR after a closing quote: part of the CRLF ending */
    } else if (b == '"') {
      size_t field_start = c->offsets[c->nfields];
      if (c->rec.len != field_start || was_quoted)
        return lh_error_set(err, LH_EPARSE,
                            "line %llu: field %zu: a quote inside an unquoted field",
                            (unsigned long long)c->line, c->nfields + 1);
      quoted = was_quoted = true;
    } else {
      if (was_quoted)
        return lh_error_set(err, LH_EPARSE, "line %llu: field %zu: data after the closing quote",
                            (unsigned long long)c->line, c->nfields + 1);
      rc = lh_buf_putc(&c->rec, (char)b);
      rc = rc ? rc : take_run(c, false);
    }
    if (rc)
      return rc == LH_ELIMIT ? lh_error_set(err, rc, "line %llu: record longer than %zu bytes",
                                            (unsigned long long)start_line, c->max_record)
                             : lh_error_set(err, rc, "out of memory");
  }
  for (size_t i = 0; i < c->nfields; i++) {
    c->ptrs[i] = c->rec.data + c->offsets[i];
    c->lens[i] = c->offsets[i + 1] - 1 - c->offsets[i];
  }
  out->nfields = c->nfields;
  out->fields = c->ptrs;
  out->lens = c->lens;
  out->line = start_line;
  return 1;
}
