/* A strict, fast JSON reader into an arena-allocated DOM, for the bulk NDJSON hot path
 * (entity lines). Same acceptance as jansson's defaults: RFC 8259 grammar, strict UTF-8,
 * no raw control characters in strings, no lone surrogates, no "\u0000". Strings are
 * decoded and NUL-terminated; numbers are kept as their validated source text; every value
 * remembers its raw source span so unknown keys can be passed through byte-for-byte. */
#ifndef LH_CORE_JSON_READER_H
#define LH_CORE_JSON_READER_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef enum lh__jtype {
  LH__J_NULL,
  LH__J_FALSE,
  LH__J_TRUE,
  LH__J_NUMBER,
  LH__J_STRING,
  LH__J_ARRAY,
  LH__J_OBJECT
} lh__jtype;

typedef struct lh__jmember lh__jmember;

typedef struct lh__jval {
  lh__jtype type;
  uint32_t n; /* string/number: byte length; array/object: element count */
  union {
    const char *s; /* string (decoded) or number (source text) */
    struct lh__jval *items;
    lh__jmember *members;
  } u;
  const char *raw; /* source span of the whole value */
  uint32_t raw_len;
} lh__jval;

struct lh__jmember {
  const char *key;
  uint32_t key_len;
  lh__jval val;
};

#define LH__JSON_MAX_DEPTH 64

typedef struct lh__json_error {
  size_t offset; /* byte offset of the problem in the input */
  const char *message;
} lh__json_error;

typedef struct lh__json_parser lh__json_parser;

lh__json_parser *lh__json_parser_new(void);
void lh__json_parser_free(lh__json_parser *p);
/* Parse one complete JSON text. The DOM lives in arena `a`; raw spans point into `text`.
 * Returns 0, LH_EPARSE (e filled), LH_ELIMIT (too deep / too large) or LH_ENOMEM. */
int lh__json_parse(lh__json_parser *p, const char *text, size_t len, lh__arena *a, lh__jval *out,
                   lh__json_error *e);
/* A member of obj whose key an earlier member has too, or NULL (scratch memory from a). */
const lh__jmember *lh__json_duplicate(const lh__jval *obj, lh__arena *a);
/* Member of an object by key, or NULL. */
const lh__jval *lh__json_get(const lh__jval *obj, const char *key);

#endif
