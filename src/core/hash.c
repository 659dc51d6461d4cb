/* SHA-1 / SHA-256 through OpenSSL EVP, with a per-thread context for the hot path
 * (statement ids hash millions of short keys). */
#include <stdlib.h>

#include <openssl/evp.h>

#include "lakehouse/util.h"

static const char HEX[] = "0123456789abcdef";

void lh_hex_encode(const unsigned char *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = HEX[in[i] >> 4];
    out[2 * i + 1] = HEX[in[i] & 15];
  }
  out[2 * n] = '\0';
}

static _Thread_local EVP_MD_CTX *tls_ctx;
static const EVP_MD *md_sha1, *md_sha256;

static EVP_MD_CTX *thread_ctx(void) {
  if (!tls_ctx) {
    tls_ctx = EVP_MD_CTX_new();
    if (!tls_ctx)
      abort();
  }
  return tls_ctx;
}

static const EVP_MD *alg_md(lh_hash_alg alg) {
  /* EVP_sha1()/EVP_sha256() return static objects: cheap and thread-safe. */
  if (alg == LH_HASH_SHA1)
    return md_sha1 ? md_sha1 : (md_sha1 = EVP_sha1());
  return md_sha256 ? md_sha256 : (md_sha256 = EVP_sha256());
}

static void digest(lh_hash_alg alg, const void *data, size_t len, unsigned char *out) {
  EVP_MD_CTX *ctx = thread_ctx();
  if (EVP_DigestInit_ex(ctx, alg_md(alg), NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
      EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    abort(); /* cannot fail for a built-in digest short of memory corruption */
}

void lh_sha1(const void *data, size_t len, unsigned char out[20]) {
  digest(LH_HASH_SHA1, data, len, out);
}

void lh_sha1_hex(const void *data, size_t len, char out[LH_SHA1_HEX_SIZE]) {
  unsigned char d[20];
  digest(LH_HASH_SHA1, data, len, d);
  lh_hex_encode(d, 20, out);
}

void lh_sha256_hex(const void *data, size_t len, char out[LH_SHA256_HEX_SIZE]) {
  unsigned char d[32];
  digest(LH_HASH_SHA256, data, len, d);
  lh_hex_encode(d, 32, out);
}

struct lh_hasher {
  EVP_MD_CTX *ctx;
  lh_hash_alg alg;
};

lh_hasher *lh_hasher_new(lh_hash_alg alg) {
  lh_hasher *h = calloc(1, sizeof *h);
  if (!h)
    return NULL;
  h->alg = alg;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, alg_md(alg), NULL) != 1) {
    lh_hasher_free(h);
    return NULL;
  }
  return h;
}

void lh_hasher_update(lh_hasher *h, const void *data, size_t len) {
  EVP_DigestUpdate(h->ctx, data, len);
}

void lh_hasher_final_hex(lh_hasher *h, char *out) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->ctx, d, &n);
  lh_hex_encode(d, n, out);
  EVP_DigestInit_ex(h->ctx, alg_md(h->alg), NULL);
}

void lh_hasher_free(lh_hasher *h) {
  if (!h)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}
