/* SHA-1 / SHA-256 through OpenSSL. SHA-1, hashed for every statement id, uses the low-level
 * SHA1_* functions (deprecated in OpenSSL 3, present in every 3.x; see core/sha1.h);
 * everything else uses EVP. */
#define OPENSSL_SUPPRESS_DEPRECATED /* must precede every OpenSSL header */

#include <pthread.h>
#include <stdlib.h>

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/hex.h"
#include "core/sha1.h"

#include "lakehouse/util.h"

/* Two hex digits per byte from one table lookup. */
const char lh__hex_pairs[513] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                                "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
                                "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
                                "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                                "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                                "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
                                "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
                                "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void lh_hex_encode(const unsigned char *in, size_t n, char *out) {
  lh__hex(in, n, out);
  out[2 * n] = '\0';
}

static _Thread_local EVP_MD_CTX *tls_ctx;
/* Explicitly fetched digests: EVP_sha1() would be re-fetched (under a lock) on every init. */
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void) {
  md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
  md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  if (!md_sha1 || !md_sha256)
    abort(); /* the default provider always has them */
}

static EVP_MD_CTX *thread_ctx(void) {
  if (!tls_ctx) {
    tls_ctx = EVP_MD_CTX_new();
    if (!tls_ctx)
      abort();
  }
  return tls_ctx;
}

static const EVP_MD *alg_md(lh_hash_alg alg) {
  pthread_once(&md_once, fetch_digests);
  return alg == LH_HASH_SHA1 ? md_sha1 : md_sha256;
}

static void digest(lh_hash_alg alg, const void *data, size_t len, unsigned char *out) {
  EVP_MD_CTX *ctx = thread_ctx();
  if (EVP_DigestInit_ex2(ctx, alg_md(alg), NULL) != 1 || EVP_DigestUpdate(ctx, data, len) != 1 ||
      EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    abort(); /* cannot fail for a built-in digest short of memory corruption */
}

_Static_assert(sizeof(SHA_CTX) <= sizeof(lh__sha1_ctx), "lh__sha1_ctx too small");

void lh__sha1_init(lh__sha1_ctx *c) {
  SHA1_Init((SHA_CTX *)c);
}
void lh__sha1_update(lh__sha1_ctx *c, const void *p, size_t n) {
  SHA1_Update((SHA_CTX *)c, p, n);
}
void lh__sha1_final(lh__sha1_ctx *c, unsigned char out[20]) {
  SHA1_Final(out, (SHA_CTX *)c);
}

void lh_sha1(const void *data, size_t len, unsigned char out[20]) {
  lh__sha1_ctx c;
  lh__sha1_init(&c);
  lh__sha1_update(&c, data, len);
  lh__sha1_final(&c, out);
}

void lh_sha1_hex(const void *data, size_t len, char out[LH_SHA1_HEX_SIZE]) {
  unsigned char d[20];
  lh_sha1(data, len, d);
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

int lh_hasher_new(lh_hash_alg alg, lh_hasher **out, lh_error *err) {
  *out = NULL;
  lh_hasher *h = calloc(1, sizeof *h);
  if (!h)
    return lh_error_nomem(err);
  h->alg = alg;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, alg_md(alg), NULL) != 1) {
    lh_hasher_free(h);
    return lh_error_set(err, LH_EINTERNAL, "cannot start a %s digest",
                        alg == LH_HASH_SHA1 ? "SHA-1" : "SHA-256");
  }
  *out = h;
  return 0;
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
