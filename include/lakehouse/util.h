/* Small utilities every layer uses: UTC time, SHA-1/SHA-256 hex, byte sizes, UUIDs, CSV
 * fields, and the callback types of streamed output. */
#ifndef LAKEHOUSE_UTIL_H
#define LAKEHOUSE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lakehouse/api.h"
#include "lakehouse/buf.h"
#include "lakehouse/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- time: microseconds since the Unix epoch, always UTC ---------------------------- */
typedef int64_t lh_time;
#define LH_TIME_NULL INT64_MIN

/* TS_FORMAT "%Y%m%dT%H%M%S%fZ", e.g. 20240116T103000000000Z (22 chars). */
#define LH_TS_SIZE 23
/* ISO 8601 with offset as Python's isoformat(): 2026-08-22T10:15:00.123456+00:00
 * (the fraction is omitted when the microseconds are zero). */
#define LH_ISO_SIZE 40

LH_API lh_time lh_time_now(void);
LH_API void lh_time_format_ts(lh_time t, char out[LH_TS_SIZE]);
LH_API int lh_time_parse_ts(const char *s, lh_time *out, lh_error *err);
LH_API void lh_time_format_iso(lh_time t, char out[LH_ISO_SIZE]);
/* pydantic's JSON form of an aware UTC datetime: 2026-08-22T10:15:00.123456Z (the fraction
 * omitted when the microseconds are zero), as in job records and file metadata. */
LH_API void lh_time_format_json(lh_time t, char out[LH_ISO_SIZE]);
/* FtM statement timestamps: "YYYY-MM-DDTHH:MM:SS" (UTC, second precision, no zone). */
LH_API void lh_time_format_ftm(lh_time t, char out[LH_ISO_SIZE]);
/* CSV form of the exports (pyarrow's UTC timestamp text): "YYYY-MM-DD HH:MM:SS.ffffffZ".
 * Returns the length. */
LH_API size_t lh_time_format_csv(lh_time t, char out[LH_ISO_SIZE]);
/* ISO 8601 date or date-time: "2024-01-02", "2024-01-02T03:04", "2024-01-02 03:04:05.123Z",
 * "...+02:00", "...-0530". No offset means UTC; offsets are converted; a date alone is
 * midnight UTC. len may be (size_t)-1 for a NUL-terminated string. */
LH_API int lh_time_parse_iso(const char *s, size_t len, lh_time *out, lh_error *err);
/* Days since 1970-01-01 for a proleptic Gregorian date (no validation). */
LH_API int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d);

/* ---- hashing ------------------------------------------------------------------------ */
#define LH_SHA1_HEX_SIZE 41
#define LH_SHA256_HEX_SIZE 65

LH_API void lh_hex_encode(const unsigned char *in, size_t n, char *out); /* writes 2n chars + NUL */
LH_API void lh_sha1_hex(const void *data, size_t len, char out[LH_SHA1_HEX_SIZE]);
LH_API void lh_sha256_hex(const void *data, size_t len, char out[LH_SHA256_HEX_SIZE]);
/* Raw 20-byte SHA-1 digest. Thread-safe; fast path for many short inputs. */
LH_API void lh_sha1(const void *data, size_t len, unsigned char out[20]);

typedef enum lh_hash_alg { LH_HASH_SHA1, LH_HASH_SHA256 } lh_hash_alg;
typedef struct lh_hasher lh_hasher;
LH_API int lh_hasher_new(lh_hash_alg alg, lh_hasher **out, lh_error *err);
LH_API void lh_hasher_update(lh_hasher *h, const void *data, size_t len);
/* Writes the hex digest (41 or 65 bytes incl. NUL) and resets the hasher for reuse. */
LH_API void lh_hasher_final_hex(lh_hasher *h, char *out);
LH_API void lh_hasher_free(lh_hasher *h);

/* ---- byte sizes: "1024", "8GB", "512 MiB", "1.5GB", "2TiB" (inventory §6.4) -------- */
LH_API int lh_parse_byte_size(const char *s, int64_t *out, lh_error *err);

/* ---- CSV ---------------------------------------------------------------------------- */
typedef enum lh_csv_quoting {
  LH_CSV_QUOTE_ALL,    /* always quoted (pyarrow's statements.csv) */
  LH_CSV_QUOTE_MINIMAL /* quoted only with a comma, a quote or a line break (Python csv) */
} lh_csv_quoting;
/* Append one CSV field, quotes doubled inside a quoted field. Returns 0 or LH_ENOMEM. */
LH_API int lh_csv_write_field(lh_buf *out, const char *s, size_t len, lh_csv_quoting quoting);
static inline int lh_csv_write_str(lh_buf *out, const char *s, lh_csv_quoting quoting) {
  return lh_csv_write_field(out, s, strlen(s), quoting);
}

/* ---- streamed output ------------------------------------------------------------------- */
/* Receives bytes in order; a non-zero return stops the producer and is returned by it. */
typedef int (*lh_bytes_fn)(void *ctx, const void *data, size_t len, lh_error *err);
/* One row of a SQL result: the column names and the values as JSON text. */
typedef int (*lh_sql_row_fn)(void *ctx, size_t ncols, const char *const *names,
                             const char *const *values, lh_error *err);

/* ---- identifiers -------------------------------------------------------------------- */
#define LH_UUID_SIZE 37     /* 8-4-4-4-12 + NUL */
#define LH_UUID_HEX_SIZE 33 /* 32 hex + NUL */
/* UUIDv7 (RFC 9562): 48-bit ms timestamp, monotonic within the process. */
LH_API void lh_uuid7(char out[LH_UUID_SIZE]);
LH_API void lh_uuid4(char out[LH_UUID_SIZE]);
LH_API void lh_uuid4_hex(char out[LH_UUID_HEX_SIZE]);
/* Fill buf with cryptographically random bytes (getrandom). */
LH_API int lh_random_bytes(void *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
