/* gz / zst streams over the store's readers and writers (exports and their read-back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include "store/codec.h"

#define CODEC_CHUNK (1 << 17)

int lh_codec_parse(const char *name, lh_codec *out, lh_error *err) {
  if (!name || !*name)
    *out = LH_CODEC_NONE;
  else if (!strcmp(name, "gz"))
    *out = LH_CODEC_GZ;
  else if (!strcmp(name, "zst"))
    *out = LH_CODEC_ZST;
  else
    return lh_error_set(err, LH_EINVAL, "unknown compression '%s' (use gz or zst)", name);
  return 0;
}

const char *lh_codec_suffix(lh_codec c) {
  return c == LH_CODEC_GZ ? "gz" : c == LH_CODEC_ZST ? "zst" : NULL;
}

const lh_codec LH_CODECS[LH_CODEC_COUNT] = {LH_CODEC_NONE, LH_CODEC_GZ, LH_CODEC_ZST};

char *lh_codec_key(const char *base, lh_codec c) {
  const char *sfx = lh_codec_suffix(c);
  size_t len = strlen(base) + (sfx ? strlen(sfx) + 1 : 0) + 1;
  char *k = malloc(len);
  if (k)
    snprintf(k, len, "%s%s%s", base, sfx ? "." : "", sfx ? sfx : "");
  return k;
}

/* ---- writing --------------------------------------------------------------------------- */

struct lh_cwriter {
  lh_writer *w;
  lh_codec codec;
  z_stream z;
  ZSTD_CCtx *zc;
  unsigned char *out;
};

int lh_cwriter_open(lh_store *s, const char *key, lh_codec c, lh_cwriter **out, lh_error *err) {
  *out = NULL;
  lh_cwriter *cw = calloc(1, sizeof *cw);
  if (!cw)
    return lh_error_set(err, LH_ENOMEM, "out of memory");
  cw->codec = c;
  if (c != LH_CODEC_NONE && !(cw->out = malloc(CODEC_CHUNK)))
    goto nomem;
  if (c == LH_CODEC_GZ &&
      deflateInit2(&cw->z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    goto nomem;
  if (c == LH_CODEC_ZST) {
    if (!(cw->zc = ZSTD_createCCtx()))
      goto nomem;
    ZSTD_CCtx_setParameter(cw->zc, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(cw->zc, ZSTD_c_checksumFlag, 1);
    /* worker threads where libzstd has them; a no-op (error ignored) where not */
    ZSTD_CCtx_setParameter(cw->zc, ZSTD_c_nbWorkers, 2);
  }
  int rc = lh_store_open_write(s, key, &cw->w, err);
  if (rc) {
    cw->w = NULL;
    lh_cwriter_abort(cw);
    return rc;
  }
  *out = cw;
  return 0;
nomem:
  lh_cwriter_abort(cw);
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

static int gz_pump(lh_cwriter *cw, int flush, lh_error *err) {
  int zr;
  do {
    cw->z.next_out = cw->out;
    cw->z.avail_out = CODEC_CHUNK;
    zr = deflate(&cw->z, flush);
    if (zr == Z_STREAM_ERROR)
      return lh_error_set(err, LH_EIO, "gzip: %s", cw->z.msg ? cw->z.msg : "stream error");
    size_t n = CODEC_CHUNK - cw->z.avail_out;
    if (n) {
      int rc = lh_writer_write(cw->w, cw->out, n, err);
      if (rc)
        return rc;
    }
  } while (cw->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
  return 0;
}

static int zst_pump(lh_cwriter *cw, const void *data, size_t n, ZSTD_EndDirective mode,
                    lh_error *err) {
  ZSTD_inBuffer in = {data, n, 0};
  size_t left;
  do {
    ZSTD_outBuffer ob = {cw->out, CODEC_CHUNK, 0};
    left = ZSTD_compressStream2(cw->zc, &ob, &in, mode);
    if (ZSTD_isError(left))
      return lh_error_set(err, LH_EIO, "zstd: %s", ZSTD_getErrorName(left));
    if (ob.pos) {
      int rc = lh_writer_write(cw->w, cw->out, ob.pos, err);
      if (rc)
        return rc;
    }
  } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
  return 0;
}

int lh_cwriter_write(lh_cwriter *cw, const void *data, size_t n, lh_error *err) {
  if (n == 0)
    return 0;
  switch (cw->codec) {
  case LH_CODEC_GZ: {
    const unsigned char *p = data;
    while (n) {
      uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;
      cw->z.next_in = (unsigned char *)p;
      cw->z.avail_in = take;
      int rc = gz_pump(cw, Z_NO_FLUSH, err);
      if (rc)
        return rc;
      p += take;
      n -= take;
    }
    return 0;
  }
  case LH_CODEC_ZST: return zst_pump(cw, data, n, ZSTD_e_continue, err);
  default: return lh_writer_write(cw->w, data, n, err);
  }
}

int lh_cwriter_commit(lh_cwriter *cw, lh_error *err) {
  int rc = 0;
  if (cw->codec == LH_CODEC_GZ) {
    cw->z.next_in = NULL;
    cw->z.avail_in = 0;
    rc = gz_pump(cw, Z_FINISH, err);
  } else if (cw->codec == LH_CODEC_ZST) {
    rc = zst_pump(cw, NULL, 0, ZSTD_e_end, err);
  }
  if (rc) {
    lh_cwriter_abort(cw);
    return rc;
  }
  lh_writer *w = cw->w;
  cw->w = NULL;
  lh_cwriter_abort(cw);
  return lh_writer_commit(w, err);
}

void lh_cwriter_abort(lh_cwriter *cw) {
  if (!cw)
    return;
  if (cw->w)
    lh_writer_abort(cw->w);
  if (cw->codec == LH_CODEC_GZ)
    deflateEnd(&cw->z);
  ZSTD_freeCCtx(cw->zc);
  free(cw->out);
  free(cw);
}

/* ---- reading --------------------------------------------------------------------------- */

struct lh_creader {
  lh_reader *r;
  lh_codec codec;
  char *key;
  z_stream z;
  ZSTD_DStream *zd;
  unsigned char *in;
  size_t in_len, in_pos;
  bool eof, done;
  size_t last; /* zstd: 0 when a frame ended */
};

int lh_creader_open(lh_store *s, const char *key, lh_codec c, lh_creader **out, lh_error *err) {
  *out = NULL;
  lh_creader *cr = calloc(1, sizeof *cr);
  if (!cr || !(cr->key = strdup(key)))
    goto nomem;
  cr->codec = c;
  if (c != LH_CODEC_NONE && !(cr->in = malloc(CODEC_CHUNK)))
    goto nomem;
  if (c == LH_CODEC_GZ && inflateInit2(&cr->z, 16 + MAX_WBITS) != Z_OK)
    goto nomem;
  if (c == LH_CODEC_ZST && !(cr->zd = ZSTD_createDStream()))
    goto nomem;
  int rc = lh_store_open_read(s, key, &cr->r, err);
  if (rc) {
    cr->r = NULL;
    lh_creader_close(cr);
    return rc;
  }
  *out = cr;
  return 0;
nomem:
  lh_creader_close(cr);
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

static int refill(lh_creader *cr, lh_error *err) {
  if (cr->in_pos < cr->in_len || cr->eof)
    return 0;
  int rc = lh_reader_read(cr->r, cr->in, CODEC_CHUNK, &cr->in_len, err);
  cr->in_pos = 0;
  if (!rc && cr->in_len == 0)
    cr->eof = true;
  return rc;
}

int lh_creader_read(lh_creader *cr, void *buf, size_t n, size_t *got, lh_error *err) {
  *got = 0;
  if (cr->codec == LH_CODEC_NONE)
    return lh_reader_read(cr->r, buf, n, got, err);
  while (*got == 0 && !cr->done) {
    int rc = refill(cr, err);
    if (rc)
      return rc;
    if (cr->codec == LH_CODEC_GZ) {
      if (cr->eof)
        return lh_error_set(err, LH_EPARSE, "%s: truncated gzip stream", cr->key);
      cr->z.next_in = cr->in + cr->in_pos;
      cr->z.avail_in = (uInt)(cr->in_len - cr->in_pos);
      cr->z.next_out = buf;
      cr->z.avail_out = n > (1u << 30) ? (1u << 30) : (uInt)n;
      uInt before = cr->z.avail_out;
      int zr = inflate(&cr->z, Z_NO_FLUSH);
      if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
        return lh_error_set(err, LH_EPARSE, "%s: corrupt gzip stream: %s", cr->key,
                            cr->z.msg ? cr->z.msg : "?");
      cr->in_pos = cr->in_len - cr->z.avail_in;
      *got = before - cr->z.avail_out;
      if (zr == Z_STREAM_END) {
        /* a concatenated member may follow (gzip allows several) */
        if (cr->in_pos < cr->in_len || (refill(cr, err) == 0 && !cr->eof))
          inflateReset(&cr->z);
        else
          cr->done = true;
      }
    } else {
      if (cr->eof) {
        if (cr->last != 0)
          return lh_error_set(err, LH_EPARSE, "%s: truncated zstd stream", cr->key);
        cr->done = true;
        break;
      }
      ZSTD_inBuffer ib = {cr->in, cr->in_len, cr->in_pos};
      ZSTD_outBuffer ob = {buf, n, 0};
      cr->last = ZSTD_decompressStream(cr->zd, &ob, &ib);
      if (ZSTD_isError(cr->last))
        return lh_error_set(err, LH_EPARSE, "%s: corrupt zstd stream: %s", cr->key,
                            ZSTD_getErrorName(cr->last));
      cr->in_pos = ib.pos;
      *got = ob.pos;
    }
  }
  return 0;
}

void lh_creader_close(lh_creader *cr) {
  if (!cr)
    return;
  lh_reader_close(cr->r);
  if (cr->codec == LH_CODEC_GZ)
    inflateEnd(&cr->z);
  ZSTD_freeDStream(cr->zd);
  free(cr->in);
  free(cr->key);
  free(cr);
}

int lh_codec_find(lh_store *s, const char *base, char **key, lh_codec *c, lh_error *err) {
  *key = NULL;
  for (size_t i = 0; i < LH_CODEC_COUNT; i++) {
    char *k = lh_codec_key(base, LH_CODECS[i]);
    if (!k)
      return lh_error_set(err, LH_ENOMEM, "out of memory");
    int e = lh_store_exists(s, k, err);
    if (e == 1) {
      *key = k;
      *c = LH_CODECS[i];
      return 0;
    }
    free(k);
    if (e < 0)
      return e;
  }
  return lh_error_set(err, LH_ENOTFOUND, "%s does not exist", base);
}
