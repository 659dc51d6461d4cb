/* Export compression (a dataset's `compression: gz | zst`): streams that write through a
 * store writer and read through a store reader, compressing or decompressing on the way.
 * gz is a single gzip member (zlib level 6), zst a single zstd frame (level 3). */
#ifndef LH_STORE_CODEC_H
#define LH_STORE_CODEC_H

#include <stddef.h>

#include "lakehouse/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lh_codec { LH_CODEC_NONE = 0, LH_CODEC_GZ, LH_CODEC_ZST } lh_codec;

/* NULL or "" -> none; "gz", "zst"; anything else LH_EINVAL naming the value. */
int lh_codec_parse(const char *name, lh_codec *out, lh_error *err);
/* The file suffix without the dot ("gz", "zst"), NULL for none. */
const char *lh_codec_suffix(lh_codec c);

/* Every codec, in the order lh_codec_find tries them. */
#define LH_CODEC_COUNT 3
extern const lh_codec LH_CODECS[LH_CODEC_COUNT];
/* base, or base.{suffix} for a compressed codec. Caller frees (NULL: out of memory). */
char *lh_codec_key(const char *base, lh_codec c);

typedef struct lh_cwriter lh_cwriter;
/* Write key (atomically published on commit), compressed with c. */
int lh_cwriter_open(lh_store *s, const char *key, lh_codec c, lh_cwriter **out, lh_error *err);
int lh_cwriter_write(lh_cwriter *w, const void *data, size_t n, lh_error *err);
/* Finish the stream and publish; frees w in every case. */
int lh_cwriter_commit(lh_cwriter *w, lh_error *err);
void lh_cwriter_abort(lh_cwriter *w);

typedef struct lh_creader lh_creader;
int lh_creader_open(lh_store *s, const char *key, lh_codec c, lh_creader **out, lh_error *err);
/* Up to n decompressed bytes; *got == 0 at the end. A truncated or corrupt stream is
 * LH_EPARSE naming the key. */
int lh_creader_read(lh_creader *r, void *buf, size_t n, size_t *got, lh_error *err);
void lh_creader_close(lh_creader *r);

/* Find `base` as stored: base, base.gz or base.zst (in that order). *key gets the found key
 * (caller frees). LH_ENOTFOUND when none exists. */
int lh_codec_find(lh_store *s, const char *base, char **key, lh_codec *c, lh_error *err);

#ifdef __cplusplus
}
#endif
#endif
