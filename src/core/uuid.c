/* UUIDv7 (time-ordered run ids) and UUIDv4 from getrandom(2). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "lakehouse/util.h"

int lh_random_bytes(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    ssize_t r = getrandom(p, n, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return LH_EIO;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void format_uuid(const unsigned char b[16], char out[LH_UUID_SIZE]) {
  char hex[33];
  lh_hex_encode(b, 16, hex);
  snprintf(out, LH_UUID_SIZE, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
           hex + 20);
}

void lh_uuid4(char out[LH_UUID_SIZE]) {
  unsigned char b[16];
  lh_random_bytes(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  format_uuid(b, out);
}

void lh_uuid4_hex(char out[LH_UUID_HEX_SIZE]) {
  unsigned char b[16];
  lh_random_bytes(b, sizeof b);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  lh_hex_encode(b, 16, out);
}

/* Monotonic within the process: the 12-bit rand_a field counts up inside one millisecond
 * (RFC 9562 method 1), so run ids created in a loop still sort in creation order. */
void lh_uuid7(char out[LH_UUID_SIZE]) {
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static uint64_t last_ms;
  static unsigned counter;
  uint64_t ms = (uint64_t)(lh_time_now() / 1000);
  unsigned char b[16];
  lh_random_bytes(b, sizeof b);
  pthread_mutex_lock(&mu);
  if (ms <= last_ms) {
    ms = last_ms;
    if (++counter > 0xfff) {
      ms = ++last_ms;
      counter = 0;
    }
  } else {
    last_ms = ms;
    counter = (unsigned)(b[6] & 0x07) << 8 | b[7]; /* random start, leaves room to count */
  }
  unsigned seq = counter;
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < 6; i++)
    b[i] = (unsigned char)(ms >> (40 - 8 * i));
  b[6] = (unsigned char)(0x70 | (seq >> 8));
  b[7] = (unsigned char)(seq & 0xff);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  format_uuid(b, out);
}
