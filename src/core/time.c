/* UTC time: TS_FORMAT, ISO 8601 formatting and parsing. lh_time is microseconds. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lakehouse/util.h"

#define US_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL

lh_time lh_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (lh_time)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

typedef struct parts {
  int64_t year;
  unsigned month, day, hour, minute, second, usec;
} parts;

static void split(lh_time t, parts *p) {
  int64_t secs = t / US_PER_SEC, us = t % US_PER_SEC;
  if (us < 0) {
    us += US_PER_SEC;
    secs -= 1;
  }
  int64_t days = secs / SEC_PER_DAY, rem = secs % SEC_PER_DAY;
  if (rem < 0) {
    rem += SEC_PER_DAY;
    days -= 1;
  }
  civil_from_days(days, &p->year, &p->month, &p->day);
  p->hour = (unsigned)(rem / 3600);
  p->minute = (unsigned)(rem / 60 % 60);
  p->second = (unsigned)(rem % 60);
  p->usec = (unsigned)us;
}

static void put2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DD?HH:MM:SS" (19 chars, sep between date and time) without printf; years
 * outside 0..9999 fall back to snprintf. Returns the length written. */
static size_t format_ftm(lh_time t, char sep, char *out, size_t size) {
  parts p;
  split(t, &p);
  if (p.year < 0 || p.year > 9999)
    return (size_t)snprintf(out, size, "%04lld-%02u-%02u%c%02u:%02u:%02u", (long long)p.year,
                            p.month, p.day, sep, p.hour, p.minute, p.second);
  put2(out, (unsigned)(p.year / 100));
  put2(out + 2, (unsigned)(p.year % 100));
  out[4] = '-';
  put2(out + 5, p.month);
  out[7] = '-';
  put2(out + 8, p.day);
  out[10] = sep;
  put2(out + 11, p.hour);
  out[13] = ':';
  put2(out + 14, p.minute);
  out[16] = ':';
  put2(out + 17, p.second);
  out[19] = '\0';
  return 19;
}

size_t lh_time_format_csv(lh_time t, char out[LH_ISO_SIZE]) {
  size_t n = format_ftm(t, ' ', out, LH_ISO_SIZE);
  int64_t us = t % US_PER_SEC;
  if (us < 0)
    us += US_PER_SEC;
  if (n + 9 > LH_ISO_SIZE)
    return n;
  out[n] = '.';
  for (int i = 6; i >= 1; i--) {
    out[n + (size_t)i] = (char)('0' + us % 10);
    us /= 10;
  }
  out[n + 7] = 'Z';
  out[n + 8] = '\0';
  return n + 8;
}

void lh_time_format_ts(lh_time t, char out[LH_TS_SIZE]) {
  parts p;
  split(t, &p);
  snprintf(out, LH_TS_SIZE, "%04lld%02u%02uT%02u%02u%02u%06uZ", (long long)p.year, p.month, p.day,
           p.hour, p.minute, p.second, p.usec);
}

void lh_time_format_iso(lh_time t, char out[LH_ISO_SIZE]) {
  parts p;
  split(t, &p);
  if (p.usec)
    snprintf(out, LH_ISO_SIZE, "%04lld-%02u-%02uT%02u:%02u:%02u.%06u+00:00", (long long)p.year,
             p.month, p.day, p.hour, p.minute, p.second, p.usec);
  else
    snprintf(out, LH_ISO_SIZE, "%04lld-%02u-%02uT%02u:%02u:%02u+00:00", (long long)p.year, p.month,
             p.day, p.hour, p.minute, p.second);
}

void lh_time_format_json(lh_time t, char out[LH_ISO_SIZE]) {
  lh_time_format_iso(t, out);
  size_t n = strlen(out); /* "+00:00" -> "Z" */
  out[n - 6] = 'Z';
  out[n - 5] = '\0';
}

void lh_time_format_ftm(lh_time t, char out[LH_ISO_SIZE]) {
  format_ftm(t, 'T', out, LH_ISO_SIZE);
}

static int digits(const char *s, size_t len, size_t *i, int n, unsigned *out) {
  unsigned v = 0;
  for (int k = 0; k < n; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return 0;
}

static unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return dm[m - 1];
}

int lh_time_parse_ts(const char *s, lh_time *out, lh_error *err) {
  size_t len = strlen(s), i = 0;
  unsigned y, mo, d, h, mi, se, us;
  if (len != 22 || digits(s, len, &i, 4, &y) || digits(s, len, &i, 2, &mo) ||
      digits(s, len, &i, 2, &d) || s[i++] != 'T' || digits(s, len, &i, 2, &h) ||
      digits(s, len, &i, 2, &mi) || digits(s, len, &i, 2, &se) || digits(s, len, &i, 6, &us) ||
      s[i] != 'Z' || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
      se > 59)
    return lh_error_set(err, LH_EINVAL, "invalid timestamp '%s' (expected YYYYMMDDTHHMMSSffffffZ)",
                        s);
  *out = (lh_days_from_civil(y, mo, d) * SEC_PER_DAY + h * 3600 + mi * 60 + se) * US_PER_SEC + us;
  return 0;
}

int lh_time_parse_iso(const char *s, size_t len, lh_time *out, lh_error *err) {
  if (len == (size_t)-1)
    len = strlen(s);
  while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
    len--;
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  size_t start = i;
  unsigned y, mo, d, h = 0, mi = 0, se = 0, us = 0;
  int64_t offset = 0;
  if (digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' || digits(s, len, &i, 2, &mo) ||
      i >= len || s[i++] != '-' || digits(s, len, &i, 2, &d))
    goto bad;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
    goto bad;
  if (i < len && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    i++;
    if (digits(s, len, &i, 2, &h) || h > 23)
      goto bad;
    if (i < len && s[i] == ':') {
      i++;
      if (digits(s, len, &i, 2, &mi) || mi > 59)
        goto bad;
      if (i < len && s[i] == ':') {
        i++;
        if (digits(s, len, &i, 2, &se) || se > 59)
          goto bad;
        if (i < len && (s[i] == '.' || s[i] == ',')) {
          i++;
          unsigned scale = 100000;
          size_t nd = 0;
          while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 6) {
              us += (unsigned)(s[i] - '0') * scale;
              scale /= 10;
            }
            nd++;
            i++;
          }
          if (nd == 0)
            goto bad;
        }
      }
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
      i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i++] == '-' ? -1 : 1;
      unsigned oh, om = 0;
      if (digits(s, len, &i, 2, &oh) || oh > 23)
        goto bad;
      if (i < len && s[i] == ':')
        i++;
      if (i < len && digits(s, len, &i, 2, &om))
        goto bad;
      if (om > 59)
        goto bad;
      offset = sign * ((int64_t)oh * 3600 + om * 60);
    }
  }
  if (i != len)
    goto bad;
  *out = ((lh_days_from_civil(y, mo, d) * SEC_PER_DAY + h * 3600 + mi * 60 + se) - offset) *
             US_PER_SEC +
         us;
  return 0;
bad:
  return lh_error_set(err, LH_EINVAL, "invalid ISO date/time '%.*s'",
                      (int)(len - start > 64 ? 64 : len - start), s + start);
}
