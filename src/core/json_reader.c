/* Strict JSON reader into an arena DOM (see json_reader.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/json_reader.h"
#include "core/utf8.h"
#include "lakehouse/error.h"

/* Scratch stack of pending container children: values for arrays, members for objects. */
struct lh__json_parser {
  lh__jmember *stack;
  size_t n, cap;
  const char *text, *end, *p;
  lh__arena *a;
  lh__json_error *e;
  int depth;
};

/* byte classes inside strings: 0 = plain, 1 = stop ('"', '\\', control, non-ASCII) */
static unsigned char STR_STOP[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static void init_tables(void) {
  for (int c = 0; c < 256; c++)
    STR_STOP[c] = (c < 0x20 || c == '"' || c == '\\' || c >= 0x80);
}

/* Length of the run of plain string bytes at p (no '"', '\\', control or non-ASCII byte),
 * eight bytes at a time: the classic "has a zero byte" test, applied to w ^ '"', w ^ '\\'
 * and w - 0x20. Borrows only produce false hits above a true hit, so the lowest flagged
 * byte is exact. */
static inline size_t plain_run(const char *p, const char *end) {
  const char *start = p;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  while (end - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) & high;
    if (hit)
      return (size_t)(p - start) + (size_t)(__builtin_ctzll(hit) >> 3);
    p += 8;
  }
#endif
  while (p < end && !STR_STOP[(unsigned char)*p])
    p++;
  return (size_t)(p - start);
}

lh__json_parser *lh__json_parser_new(void) {
  pthread_once(&tables_once, init_tables);
  return calloc(1, sizeof(lh__json_parser));
}

void lh__json_parser_free(lh__json_parser *p) {
  if (!p)
    return;
  free(p->stack);
  free(p);
}

static int fail(lh__json_parser *P, const char *at, const char *msg) {
  P->e->offset = (size_t)(at - P->text);
  P->e->message = msg;
  return LH_EPARSE;
}

static int push(lh__json_parser *P, lh__jmember **slot) {
  if (LH_ARRAY_RESERVE(P->stack, P->cap, P->n + 1, 64))
    return LH_ENOMEM;
  *slot = &P->stack[P->n++];
  return 0;
}

static inline void skip_ws(lh__json_parser *P) {
  const char *p = P->p;
  while (p < P->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  P->p = p;
}

static int hex4(const char *p, const char *end, uint32_t *out) {
  if (end - p < 4)
    return -1;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (uint32_t)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* P->p at the opening quote. Decodes into the arena. */
static int parse_string(lh__json_parser *P, const char **out, uint32_t *out_len) {
  const char *start = ++P->p, *end = P->end;
  const char *p = start + plain_run(start, end); /* fast scan: plain ASCII run */
  if (p < end && *p == '"') {
    size_t n = (size_t)(p - start);
    if (n > UINT32_MAX)
      return fail(P, start, "string too long");
    char *s = lh__arena_strndup(P->a, start, n);
    if (!s)
      return LH_ENOMEM;
    *out = s;
    *out_len = (uint32_t)n;
    P->p = p + 1;
    return 0;
  }
  /* slow path: escapes or UTF-8. The decoded form is never longer than the source. */
  const char *q = p;
  while (q < end && *q != '"') {
    if (*q == '\\' && q + 1 < end)
      q++;
    q++;
  }
  size_t cap = (size_t)(q - start) + 1;
  char *buf = lh__arena_alloc(P->a, cap);
  if (!buf)
    return LH_ENOMEM;
  size_t w = (size_t)(p - start);
  memcpy(buf, start, w);
  for (;;) {
    if (p >= end)
      return fail(P, p, "unterminated string");
    unsigned char c = (unsigned char)*p;
    if (c == '"')
      break;
    if (c < 0x20)
      return fail(P, p, "control character in string (must be escaped)");
    if (c == '\\') {
      if (p + 1 >= end)
        return fail(P, p, "unterminated string");
      char esc = p[1];
      p += 2;
      switch (esc) {
      case '"': buf[w++] = '"'; break;
      case '\\': buf[w++] = '\\'; break;
      case '/': buf[w++] = '/'; break;
      case 'b': buf[w++] = '\b'; break;
      case 'f': buf[w++] = '\f'; break;
      case 'n': buf[w++] = '\n'; break;
      case 'r': buf[w++] = '\r'; break;
      case 't': buf[w++] = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (hex4(p, end, &cp))
          return fail(P, p - 2, "invalid \\u escape");
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t lo;
          if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) || lo < 0xdc00 ||
              lo > 0xdfff)
            return fail(P, p - 6, "invalid \\u escape: lone surrogate");
          p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          return fail(P, p - 6, "invalid \\u escape: lone surrogate");
        } else if (cp == 0) {
          return fail(P, p - 6, "\\u0000 is not allowed in strings");
        }
        w += lh__utf8_encode(cp, buf + w);
        break;
      }
      default: return fail(P, p - 2, "invalid escape in string");
      }
      continue;
    }
    if (c >= 0x80) {
      uint32_t cp;
      size_t n = lh__utf8_seq((const unsigned char *)p, (size_t)(end - p), &cp);
      if (!n)
        return fail(P, p, "invalid UTF-8 in string");
      memcpy(buf + w, p, n);
      w += n;
      p += n;
      continue;
    }
    size_t run = plain_run(p, end);
    memcpy(buf + w, p, run);
    w += run;
    p += run;
  }
  if (w > UINT32_MAX)
    return fail(P, start, "string too long");
  buf[w] = '\0';
  *out = buf;
  *out_len = (uint32_t)w;
  P->p = p + 1;
  return 0;
}

static int parse_number(lh__json_parser *P, lh__jval *v) {
  const char *p = P->p, *end = P->end, *start = p;
  if (p < end && *p == '-')
    p++;
  if (p >= end)
    return fail(P, start, "invalid number");
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  } else {
    return fail(P, start, "invalid number");
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || *p < '0' || *p > '9')
      return fail(P, start, "invalid number");
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if (p >= end || *p < '0' || *p > '9')
      return fail(P, start, "invalid number");
    while (p < end && *p >= '0' && *p <= '9')
      p++;
  }
  v->type = LH__J_NUMBER;
  v->n = (uint32_t)(p - start);
  v->u.s = lh__arena_strndup(P->a, start, (size_t)(p - start));
  if (!v->u.s)
    return LH_ENOMEM;
  P->p = p;
  return 0;
}

static int parse_value(lh__json_parser *P, lh__jval *v);

static int parse_container(lh__json_parser *P, lh__jval *v, bool object) {
  if (++P->depth > LH__JSON_MAX_DEPTH) {
    fail(P, P->p, "nesting too deep");
    return LH_ELIMIT;
  }
  const char close = object ? '}' : ']';
  size_t base = P->n;
  P->p++;
  skip_ws(P);
  if (P->p < P->end && *P->p == close) {
    P->p++;
  } else {
    for (;;) {
      lh__jmember *m;
      int rc = push(P, &m);
      if (rc)
        return rc;
      size_t idx = P->n - 1;
      if (object) {
        if (P->p >= P->end || *P->p != '"')
          return fail(P, P->p, "expected a string key");
        const char *key;
        uint32_t klen;
        if ((rc = parse_string(P, &key, &klen)))
          return rc;
        P->stack[idx].key = key;
        P->stack[idx].key_len = klen;
        skip_ws(P);
        if (P->p >= P->end || *P->p != ':')
          return fail(P, P->p, "expected ':' after key");
        P->p++;
        skip_ws(P);
      }
      lh__jval val;
      if ((rc = parse_value(P, &val)))
        return rc;
      P->stack[idx].val = val; /* the stack may have moved during parse_value */
      skip_ws(P);
      if (P->p >= P->end)
        return fail(P, P->p, object ? "unterminated object" : "unterminated array");
      if (*P->p == ',') {
        P->p++;
        skip_ws(P);
        continue;
      }
      if (*P->p == close) {
        P->p++;
        break;
      }
      return fail(P, P->p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  size_t count = P->n - base;
  if (count > UINT32_MAX)
    return fail(P, P->p, "too many elements");
  v->n = (uint32_t)count;
  if (object) {
    v->type = LH__J_OBJECT;
    v->u.members = count ? lh__arena_alloc(P->a, count * sizeof(lh__jmember)) : NULL;
    if (count && !v->u.members)
      return LH_ENOMEM;
    if (count)
      memcpy(v->u.members, P->stack + base, count * sizeof(lh__jmember));
  } else {
    v->type = LH__J_ARRAY;
    v->u.items = count ? lh__arena_alloc(P->a, count * sizeof(lh__jval)) : NULL;
    if (count && !v->u.items)
      return LH_ENOMEM;
    for (size_t i = 0; i < count; i++)
      v->u.items[i] = P->stack[base + i].val;
  }
  P->n = base;
  P->depth--;
  return 0;
}

static int literal(lh__json_parser *P, const char *word, size_t n, lh__jtype t, lh__jval *v) {
  if ((size_t)(P->end - P->p) < n || memcmp(P->p, word, n) != 0)
    return fail(P, P->p, "invalid literal");
  P->p += n;
  v->type = t;
  v->n = 0;
  return 0;
}

static int parse_value(lh__json_parser *P, lh__jval *v) {
  if (P->p >= P->end)
    return fail(P, P->p, "unexpected end of input");
  const char *start = P->p;
  int rc;
  switch (*P->p) {
  case '{': rc = parse_container(P, v, true); break;
  case '[': rc = parse_container(P, v, false); break;
  case '"':
    v->type = LH__J_STRING;
    rc = parse_string(P, &v->u.s, &v->n);
    break;
  case 't': rc = literal(P, "true", 4, LH__J_TRUE, v); break;
  case 'f': rc = literal(P, "false", 5, LH__J_FALSE, v); break;
  case 'n': rc = literal(P, "null", 4, LH__J_NULL, v); break;
  default:
    if (*P->p == '-' || (*P->p >= '0' && *P->p <= '9'))
      rc = parse_number(P, v);
    else
      rc = fail(P, P->p, "unexpected character");
  }
  if (rc == 0) {
    v->raw = start;
    v->raw_len = (uint32_t)(P->p - start);
  }
  return rc;
}

int lh__json_parse(lh__json_parser *P, const char *text, size_t len, lh__arena *a, lh__jval *out,
                   lh__json_error *e) {
  if (len > UINT32_MAX) {
    e->offset = 0;
    e->message = "document too large";
    return LH_ELIMIT;
  }
  P->text = P->p = text;
  P->end = text + len;
  P->a = a;
  P->e = e;
  P->n = 0;
  P->depth = 0;
  skip_ws(P);
  int rc = parse_value(P, out);
  if (rc)
    return rc;
  skip_ws(P);
  if (P->p != P->end)
    return fail(P, P->p, "unexpected data after the JSON value");
  return 0;
}

const lh__jval *lh__json_get(const lh__jval *obj, const char *key) {
  if (!obj || obj->type != LH__J_OBJECT)
    return NULL;
  size_t kl = strlen(key);
  /* last occurrence wins, as in jansson */
  for (uint32_t i = obj->n; i > 0; i--) {
    const lh__jmember *m = &obj->u.members[i - 1];
    if (m->key_len == kl && memcmp(m->key, key, kl) == 0)
      return &m->val;
  }
  return NULL;
}

static int member_cmp(const void *a, const void *b) {
  const lh__jmember *x = *(const lh__jmember *const *)a, *y = *(const lh__jmember *const *)b;
  if (x->key_len != y->key_len)
    return x->key_len < y->key_len ? -1 : 1;
  int c = memcmp(x->key, y->key, x->key_len);
  /* equal keys keep their order, so the later one is reported */
  return c ? c : (x < y ? -1 : x > y);
}

const lh__jmember *lh__json_duplicate(const lh__jval *obj, lh__arena *a) {
  if (obj->type != LH__J_OBJECT || obj->n < 2)
    return NULL;
  const lh__jmember *m = obj->u.members;
  if (obj->n <= 16) { /* the usual entity: compare pairwise */
    for (uint32_t i = 1; i < obj->n; i++)
      for (uint32_t k = 0; k < i; k++)
        if (m[i].key_len == m[k].key_len && memcmp(m[i].key, m[k].key, m[i].key_len) == 0)
          return &m[i];
    return NULL;
  }
  const lh__jmember **order = lh__arena_alloc(a, obj->n * sizeof *order);
  if (!order)
    return NULL;
  for (uint32_t i = 0; i < obj->n; i++)
    order[i] = &m[i];
  qsort(order, obj->n, sizeof *order, member_cmp);
  for (uint32_t i = 1; i < obj->n; i++)
    if (order[i]->key_len == order[i - 1]->key_len &&
        memcmp(order[i]->key, order[i - 1]->key, order[i]->key_len) == 0)
      return order[i];
  return NULL;
}
