/* Text helpers for messages and JSON members. */
#ifndef LH_CORE_TEXT_H
#define LH_CORE_TEXT_H

#include <stddef.h>

#include "lakehouse/buf.h"
#include "lakehouse/util.h"

/* A copy of s[0..n) safe to print inside an error message: control bytes and bytes that
 * are not UTF-8 as \xNN, cut with "..." when it does not fit. Returns buf. */
const char *lh__printable(const char *s, size_t n, char *buf, size_t size);

/* ,"key":"2026-08-22T10:15:00.123456Z" (pydantic's form, lh_time_format_json), or
 * ,"key":null for LH_TIME_NULL: a member of a JSON object being written. */
int lh__json_put_time(lh_buf *out, const char *key, lh_time t);

#endif
