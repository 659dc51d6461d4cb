/* Cleaning and validation of property values per FtM type (ftm.md §2). Every value first
 * gets FtM's generic sanitising (Unicode NFC, control characters removed, whitespace
 * trimmed); then the type's own rule normalises it or rejects it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <utf8proc.h>

#include "core/utf8.h"
#include "ftm/model_internal.h"
#include "lakehouse/ftm.h"
#include "lakehouse/util.h"

/* ---- generic sanitising --------------------------------------------------------------- */

static bool unsafe_cp(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r')
    return false;
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfeff || cp == 0xfffe;
}

/* Invalid UTF-8 becomes U+FFFD (Python's "replace"), unsafe control characters are
 * dropped, the result is NFC-normalised and stripped of Unicode whitespace. */
static int sanitize(const char *v, size_t len, lh_buf *out) {
  lh_buf_reset(out);
  int grc = lh_buf_grow(out, len); /* also makes out->data valid for an empty result */
  if (grc)
    return grc;
  const unsigned char *p = (const unsigned char *)v;
  bool ascii = true;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    size_t n = lh__utf8_seq(p + i, len - i, &cp);
    int rc;
    if (n == 0) {
      rc = lh_buf_append(out, "\xef\xbf\xbd", 3);
      ascii = false;
      n = 1;
    } else if (unsafe_cp(cp)) {
      rc = 0;
    } else {
      rc = lh_buf_append(out, v + i, n);
      ascii &= cp < 0x80;
    }
    if (rc)
      return rc;
    i += n;
  }
  if (!ascii && out->len) {
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t n =
        utf8proc_map((const utf8proc_uint8_t *)out->data, (utf8proc_ssize_t)out->len, &nfc,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (n < 0)
      return n == UTF8PROC_ERROR_NOMEM ? LH_ENOMEM : LH_EINVAL;
    lh_buf_reset(out);
    int rc = lh_buf_append(out, nfc, (size_t)n);
    free(nfc);
    if (rc)
      return rc;
  }
  /* strip */
  size_t start = 0, end = out->len;
  while (start < end) {
    uint32_t cp;
    size_t n = lh__utf8_seq((unsigned char *)out->data + start, end - start, &cp);
    if (!n || !lh__unicode_space(cp))
      break;
    start += n;
  }
  while (end > start) {
    size_t k = end - 1;
    while (k > start && ((unsigned char)out->data[k] & 0xc0) == 0x80)
      k--;
    uint32_t cp;
    size_t n = lh__utf8_seq((unsigned char *)out->data + k, end - k, &cp);
    if (!n || !lh__unicode_space(cp))
      break;
    end = k;
  }
  if (start)
    memmove(out->data, out->data + start, end - start);
  out->len = end - start;
  out->data[out->len] = '\0';
  return 0;
}

/* Replace runs of whitespace with a single space (collapse_spaces). */
static void squash_spaces(lh_buf *b) {
  size_t w = 0;
  bool in_space = false;
  for (size_t r = 0; r < b->len;) {
    uint32_t cp;
    size_t n = lh__utf8_seq((unsigned char *)b->data + r, b->len - r, &cp);
    if (!n)
      n = 1, cp = 0;
    if (n && lh__unicode_space(cp)) {
      if (!in_space)
        b->data[w++] = ' ';
      in_space = true;
    } else {
      memmove(b->data + w, b->data + r, n);
      w += n;
      in_space = false;
    }
    r += n;
  }
  while (w && b->data[w - 1] == ' ')
    w--;
  size_t s = 0;
  while (s < w && b->data[s] == ' ')
    s++;
  memmove(b->data, b->data + s, w - s);
  b->len = w - s;
  b->data[b->len] = '\0';
}

static void ascii_lower(lh_buf *b) {
  for (size_t i = 0; i < b->len; i++)
    b->data[i] = (char)tolower((unsigned char)b->data[i]);
}

static void ascii_upper(lh_buf *b) {
  for (size_t i = 0; i < b->len; i++)
    b->data[i] = (char)toupper((unsigned char)b->data[i]);
}

/* Unicode lower-casing (case folding) of the whole buffer. */
static int casefold(lh_buf *b) {
  bool ascii = true;
  for (size_t i = 0; i < b->len; i++)
    ascii &= (unsigned char)b->data[i] < 0x80;
  if (ascii) {
    ascii_lower(b);
    return 0;
  }
  utf8proc_uint8_t *res = NULL;
  utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)b->data, (utf8proc_ssize_t)b->len,
                                    &res, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
  if (n < 0)
    return LH_EINVAL;
  lh_buf_reset(b);
  int rc = lh_buf_append(b, res, (size_t)n);
  free(res);
  return rc;
}

static void remove_chars(lh_buf *b, const char *chars) {
  size_t w = 0;
  for (size_t r = 0; r < b->len; r++)
    if (!strchr(chars, b->data[r]))
      b->data[w++] = b->data[r];
  b->len = w;
  b->data[w] = '\0';
}

static bool is_quote_at(const char *s, size_t len, size_t *qlen) {
  static const char *const quotes[] = {
      "\"",           "'",        "\xe2\x80\x9c", "\xe2\x80\x9d", "\xe2\x80\x98", "\xe2\x80\x99",
      "\xe2\x80\x9e", "\xc2\xab", "\xc2\xbb"};
  for (size_t i = 0; i < sizeof quotes / sizeof quotes[0]; i++) {
    size_t n = strlen(quotes[i]);
    if (len >= n && memcmp(s, quotes[i], n) == 0) {
      *qlen = n;
      return true;
    }
  }
  return false;
}

static void strip_quotes(lh_buf *b) {
  size_t start = 0, end = b->len, q;
  while (start < end && is_quote_at(b->data + start, end - start, &q))
    start += q;
  for (bool again = true; again && end > start;) {
    again = false;
    for (size_t k = 1; k <= 3 && k <= end - start; k++)
      if (is_quote_at(b->data + end - k, k, &q) && q == k) {
        end -= k;
        again = true;
        break;
      }
  }
  memmove(b->data, b->data + start, end - start);
  b->len = end - start;
  b->data[b->len] = '\0';
}

/* ---- enum types ------------------------------------------------------------------------- */

static bool enum_has(const lh_type *t, const char *code) {
  return lh_type_value_label(t, code);
}

static int clean_topic(const lh_type *t, lh_buf *b) {
  ascii_lower(b);
  return enum_has(t, b->data) ? 1 : 0;
}

static int clean_gender(const lh_type *t, lh_buf *b) {
  static const char *const map[][2] = {
      {"m", "male"},
      {"man", "male"},
      {"masculin", "male"},
      {"m\xc3\xa4nnlich", "male"},                                          /* männlich */
      {"\xd0\xbc\xd1\x83\xd0\xb6\xd1\x81\xd0\xba\xd0\xbe\xd0\xb9", "male"}, /* мужской */
      {"f", "female"},
      {"woman", "female"},
      {"f\xc3\xa9minin", "female"}, /* féminin */
      {"weiblich", "female"},
      {"\xd0\xb6\xd0\xb5\xd0\xbd\xd1\x81\xd0\xba\xd0\xb8\xd0\xb9", "female"}, /* женский */
      {"o", "other"},
      {"d", "other"},
      {"divers", "other"}};
  int rc = casefold(b);
  if (rc)
    return rc;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(b->data, map[i][0]) == 0) {
      lh_buf_reset(b);
      lh_buf_puts(b, map[i][1]);
      break;
    }
  return enum_has(t, b->data) ? 1 : 0;
}

/* ISO 639-1 and 639-2/B codes of the FtM languages, mapped to the 639-3 codes it uses. */
static const char *const LANG_ALIASES[][2] = {
    {"af", "afr"},  {"ar", "ara"}, {"az", "aze"},  {"be", "bel"},  {"bn", "ben"}, {"bs", "bos"},
    {"bg", "bul"},  {"ca", "cat"}, {"cs", "ces"},  {"cze", "ces"}, {"da", "dan"}, {"de", "deu"},
    {"ger", "deu"}, {"el", "ell"}, {"gre", "ell"}, {"en", "eng"},  {"et", "est"}, {"fa", "fas"},
    {"per", "fas"}, {"fi", "fin"}, {"fr", "fra"},  {"fre", "fra"}, {"he", "heb"}, {"hi", "hin"},
    {"hr", "hrv"},  {"hu", "hun"}, {"hy", "hye"},  {"arm", "hye"}, {"id", "ind"}, {"is", "isl"},
    {"ice", "isl"}, {"it", "ita"}, {"ja", "jpn"},  {"kn", "kan"},  {"ka", "kat"}, {"geo", "kat"},
    {"kk", "kaz"},  {"km", "khm"}, {"ky", "kir"},  {"ko", "kor"},  {"lv", "lav"}, {"lt", "lit"},
    {"lb", "ltz"},  {"mk", "mkd"}, {"mac", "mkd"}, {"mt", "mlt"},  {"mn", "mon"}, {"ms", "msa"},
    {"may", "msa"}, {"my", "mya"}, {"bur", "mya"}, {"ne", "nep"},  {"nl", "nld"}, {"dut", "nld"},
    {"no", "nor"},  {"nb", "nor"}, {"pl", "pol"},  {"pt", "por"},  {"ro", "ron"}, {"rum", "ron"},
    {"ru", "rus"},  {"sk", "slk"}, {"slo", "slk"}, {"sl", "slv"},  {"es", "spa"}, {"sq", "sqi"},
    {"alb", "sqi"}, {"sr", "srp"}, {"sw", "swa"},  {"sv", "swe"},  {"tg", "tgk"}, {"tl", "tgl"},
    {"tk", "tuk"},  {"tr", "tur"}, {"uk", "ukr"},  {"ur", "urd"},  {"uz", "uzb"}, {"zh", "zho"},
    {"chi", "zho"},
};

static int clean_language(const lh_type *t, lh_buf *b) {
  ascii_lower(b);
  /* "en-US", "pt_BR": the language part */
  for (size_t i = 0; i < b->len; i++)
    if (b->data[i] == '-' || b->data[i] == '_') {
      b->len = i;
      b->data[i] = '\0';
      break;
    }
  for (size_t i = 0; i < sizeof LANG_ALIASES / sizeof LANG_ALIASES[0]; i++)
    if (strcmp(b->data, LANG_ALIASES[i][0]) == 0) {
      lh_buf_reset(b);
      lh_buf_puts(b, LANG_ALIASES[i][1]);
      break;
    }
  return enum_has(t, b->data) ? 1 : 0;
}

static int clean_country(const lh_type *t, lh_buf *b) {
  const char *code = lh__model_country_lookup(t->model, b->data, b->len);
  if (!code)
    return 0;
  lh_buf_reset(b);
  lh_buf_puts(b, code);
  return 1;
}

/* ---- dates (prefixdate) -------------------------------------------------------------------- */

static int take_digits(const char *s, size_t len, size_t *i, int min, int max, int *out) {
  int v = 0, n = 0;
  while (*i < len && n < max && isdigit((unsigned char)s[*i])) {
    v = v * 10 + (s[*i] - '0');
    (*i)++;
    n++;
  }
  if (n < min)
    return -1;
  *out = v;
  return n;
}

static int month_days(int y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 29;
  return dm[m - 1];
}

/* The components of a date as prefixdate reads them; prec is the number of ISO characters
 * kept: 4 year, 7 month, 10 day, 13 hour, 16 minute, 19 second. */
typedef struct date_parts {
  int year, month, day, hour, minute, second, prec;
  int tzsign, tzh, tzm; /* tzsign 0: no offset */
} date_parts;

/* "[0-max]?[0-9]": two digits when the first is at most `max`, else one. */
static bool take_part(const char *s, size_t len, size_t *i, char max, int *out) {
  if (*i + 1 < len && s[*i] >= '0' && s[*i] <= max && isdigit((unsigned char)s[*i + 1])) {
    *out = (s[*i] - '0') * 10 + (s[*i + 1] - '0');
    *i += 2;
    return true;
  }
  if (*i < len && isdigit((unsigned char)s[*i])) {
    *out = s[*i] - '0';
    *i += 1;
    return true;
  }
  return false;
}

/* "Z", "+hh", "+hh:mm" or "+hhmm" at s[i]. */
static void parse_offset(const char *s, size_t len, size_t i, date_parts *d) {
  if (i < len && s[i] == 'Z')
    return;
  if (!(i + 2 < len && (s[i] == '+' || s[i] == '-') && isdigit((unsigned char)s[i + 1]) &&
        isdigit((unsigned char)s[i + 2])))
    return;
  d->tzsign = s[i] == '-' ? -1 : 1;
  d->tzh = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
  size_t j = i + 3;
  if (j < len && s[j] == ':')
    j++;
  if (j + 1 < len && isdigit((unsigned char)s[j]) && isdigit((unsigned char)s[j + 1]))
    d->tzm = (s[j] - '0') * 10 + (s[j + 1] - '0');
}

/* The time after "T" or " ": hour, minutes, seconds, a fraction (dropped), an offset. */
static void parse_time(const char *s, size_t len, size_t i, date_parts *d) {
  if (!take_part(s, len, &i, '2', &d->hour))
    return;
  d->prec = 13;
  size_t j = i + 1;
  if (i < len && s[i] == ':' && take_digits(s, len, &j, 1, 2, &d->minute) > 0) {
    i = j;
    d->prec = 16;
    j = i + 1;
    if (i < len && s[i] == ':' && take_digits(s, len, &j, 1, 2, &d->second) > 0) {
      i = j;
      d->prec = 19;
      if (i < len && s[i] == '.') {
        j = i + 1;
        while (j < len && isdigit((unsigned char)s[j]))
          j++;
        if (j > i + 1)
          i = j;
      }
    }
  }
  parse_offset(s, len, i, d);
}

/* The longest date prefix of s; false when not even a year (1000-2999). */
static bool parse_date(const char *s, size_t len, date_parts *d) {
  *d = (date_parts){.month = 1, .day = 1};
  size_t i = 0;
  if (len < 4 || (s[0] != '1' && s[0] != '2') || take_digits(s, len, &i, 4, 4, &d->year) != 4)
    return false;
  d->prec = 4;
  if (!(i < len && s[i] == '-'))
    return true;
  i++;
  if (!take_part(s, len, &i, '1', &d->month))
    return true;
  d->prec = 7;
  if (!(i < len && s[i] == '-'))
    return true;
  i++;
  if (!take_part(s, len, &i, '3', &d->day))
    return true;
  d->prec = 10;
  if (i < len && (s[i] == 'T' || s[i] == ' '))
    parse_time(s, len, i + 1, d);
  return true;
}

/* Step the precision down until the components form a valid date-time, as prefixdate
 * does, and zero what is cut off. */
static void settle_date(date_parts *d) {
  if (d->prec >= 19 && d->second > 59)
    d->prec = 16;
  if (d->prec >= 16 && d->minute > 59)
    d->prec = 13;
  if (d->prec >= 13 && d->hour > 23)
    d->prec = 10;
  if (d->prec >= 7 && (d->month < 1 || d->month > 12))
    d->prec = 4;
  if (d->prec >= 10 && (d->day < 1 || d->day > month_days(d->year, d->month)))
    d->prec = 7;
  if (d->prec < 13)
    d->tzsign = 0;
  if (d->prec < 16)
    d->minute = 0;
  if (d->prec < 19)
    d->second = 0;
  if (d->tzsign && (d->tzh > 23 || d->tzm > 59))
    d->tzsign = 0;
}

static int clean_date(lh_buf *b) {
  date_parts d;
  if (!parse_date(b->data, b->len, &d))
    return 0;
  settle_date(&d);
  if (d.tzsign) {
    /* convert to UTC; may move the date */
    int64_t days = lh_days_from_civil(d.year, (unsigned)d.month, (unsigned)d.day);
    int64_t secs = days * 86400 + d.hour * 3600 + d.minute * 60 + d.second -
                   d.tzsign * (d.tzh * 3600 + d.tzm * 60);
    int64_t day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - day * 86400;
    lh_time t = day * 86400 * 1000000LL;
    char iso[LH_ISO_SIZE];
    lh_time_format_ftm(t + rem * 1000000LL, iso);
    if (iso[0] != '1' && iso[0] != '2')
      return 0;
    lh_buf_reset(b);
    lh_buf_append(b, iso, (size_t)d.prec);
    return 1;
  }
  char out[32];
  snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d", d.year, d.month, d.day, d.hour,
           d.minute, d.second);
  lh_buf_reset(b);
  lh_buf_append(b, out, (size_t)d.prec);
  return 1;
}

/* ---- emails, urls, phones, ips, mimetypes ---------------------------------------------- */

static bool has_space(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (isspace((unsigned char)s[i]))
      return true;
  return false;
}

/* ^[^@\s]+@[^@\s]+\.\w+$ ; domain lower-cased, trailing dot removed. */
static int clean_email(lh_buf *b) {
  strip_quotes(b);
  char *at = memchr(b->data, '@', b->len);
  if (!at || at == b->data || has_space(b->data, b->len))
    return 0;
  char *domain = at + 1;
  size_t dlen = b->len - (size_t)(domain - b->data);
  if (memchr(domain, '@', dlen))
    return 0;
  while (dlen && domain[dlen - 1] == '.')
    dlen--;
  char *dot = NULL;
  for (size_t i = 0; i < dlen; i++)
    if (domain[i] == '.')
      dot = domain + i;
  if (!dot || dot == domain || dot == domain + dlen - 1)
    return 0;
  for (char *p = dot + 1; p < domain + dlen; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80))
      return 0;
  for (size_t i = 0; i < dlen; i++)
    domain[i] = (char)tolower((unsigned char)domain[i]);
  b->len = (size_t)(domain - b->data) + dlen;
  b->data[b->len] = '\0';
  return 1;
}

static int clean_url(lh_buf *b) {
  if (has_space(b->data, b->len)) {
    /* spaces inside a URL are escaped, not a reason to drop it */
    lh_buf tmp = LH_BUF_INIT;
    for (size_t i = 0; i < b->len; i++) {
      int rc = isspace((unsigned char)b->data[i]) ? lh_buf_puts(&tmp, "%20")
                                                  : lh_buf_putc(&tmp, b->data[i]);
      if (rc) {
        lh_buf_free(&tmp);
        return rc;
      }
    }
    lh_buf_reset(b);
    int rc = lh_buf_append(b, tmp.data, tmp.len);
    lh_buf_free(&tmp);
    if (rc)
      return rc;
  }
  size_t slen = 0;
  while (slen < b->len && (isalnum((unsigned char)b->data[slen]) || b->data[slen] == '+' ||
                           b->data[slen] == '-' || b->data[slen] == '.'))
    slen++;
  bool has_scheme = slen > 0 && isalpha((unsigned char)b->data[0]) && slen + 2 < b->len &&
                    strncmp(b->data + slen, "://", 3) == 0;
  if (!has_scheme) {
    if (b->len >= 2 && b->data[0] == '/' && b->data[1] == '/') {
      memmove(b->data, b->data + 2, b->len - 1);
      b->len -= 2;
    }
    lh_buf tmp = LH_BUF_INIT;
    if (lh_buf_puts(&tmp, "http://") || lh_buf_append(&tmp, b->data, b->len)) {
      lh_buf_free(&tmp);
      return LH_ENOMEM;
    }
    lh_buf_reset(b);
    int rc = lh_buf_append(b, tmp.data, tmp.len);
    lh_buf_free(&tmp);
    if (rc)
      return rc;
    slen = 4;
  }
  for (size_t i = 0; i < slen; i++)
    b->data[i] = (char)tolower((unsigned char)b->data[i]);
  char *host = b->data + slen + 3;
  size_t hlen = strcspn(host, "/?#");
  /* host without userinfo must not be empty */
  char *at = memchr(host, '@', hlen);
  char *h = at ? at + 1 : host;
  size_t hl = hlen - (size_t)(h - host);
  if (hl == 0 || h[0] == ':')
    return 0;
  for (size_t i = 0; i < hl; i++)
    h[i] = (char)tolower((unsigned char)h[i]);
  if (host[hlen] == '\0') /* empty path is normalised to "/" */
    return lh_buf_putc(b, '/') ? LH_ENOMEM : 1;
  return 1;
}

/* ITU calling codes by FtM country code (phone region hints). */
static const struct {
  const char *country;
  const char *code;
} CALLING[] = {
    {"ad", "376"}, {"ae", "971"}, {"af", "93"},  {"al", "355"}, {"am", "374"}, {"ao", "244"},
    {"ar", "54"},  {"at", "43"},  {"au", "61"},  {"az", "994"}, {"ba", "387"}, {"bd", "880"},
    {"be", "32"},  {"bf", "226"}, {"bg", "359"}, {"bh", "973"}, {"bi", "257"}, {"bj", "229"},
    {"bn", "673"}, {"bo", "591"}, {"br", "55"},  {"bt", "975"}, {"bw", "267"}, {"by", "375"},
    {"bz", "501"}, {"ca", "1"},   {"cd", "243"}, {"cf", "236"}, {"cg", "242"}, {"ch", "41"},
    {"ci", "225"}, {"cl", "56"},  {"cm", "237"}, {"cn", "86"},  {"co", "57"},  {"cr", "506"},
    {"cu", "53"},  {"cv", "238"}, {"cy", "357"}, {"cz", "420"}, {"de", "49"},  {"dj", "253"},
    {"dk", "45"},  {"dz", "213"}, {"ec", "593"}, {"ee", "372"}, {"eg", "20"},  {"er", "291"},
    {"es", "34"},  {"et", "251"}, {"fi", "358"}, {"fj", "679"}, {"fr", "33"},  {"ga", "241"},
    {"gb", "44"},  {"ge", "995"}, {"gh", "233"}, {"gm", "220"}, {"gn", "224"}, {"gq", "240"},
    {"gr", "30"},  {"gt", "502"}, {"gw", "245"}, {"gy", "592"}, {"hk", "852"}, {"hn", "504"},
    {"hr", "385"}, {"ht", "509"}, {"hu", "36"},  {"id", "62"},  {"ie", "353"}, {"il", "972"},
    {"in", "91"},  {"iq", "964"}, {"ir", "98"},  {"is", "354"}, {"it", "39"},  {"jm", "1"},
    {"jo", "962"}, {"jp", "81"},  {"ke", "254"}, {"kg", "996"}, {"kh", "855"}, {"km", "269"},
    {"kp", "850"}, {"kr", "82"},  {"kw", "965"}, {"kz", "7"},   {"la", "856"}, {"lb", "961"},
    {"li", "423"}, {"lk", "94"},  {"lr", "231"}, {"ls", "266"}, {"lt", "370"}, {"lu", "352"},
    {"lv", "371"}, {"ly", "218"}, {"ma", "212"}, {"mc", "377"}, {"md", "373"}, {"me", "382"},
    {"mg", "261"}, {"mk", "389"}, {"ml", "223"}, {"mm", "95"},  {"mn", "976"}, {"mo", "853"},
    {"mr", "222"}, {"mt", "356"}, {"mu", "230"}, {"mv", "960"}, {"mw", "265"}, {"mx", "52"},
    {"my", "60"},  {"mz", "258"}, {"na", "264"}, {"ne", "227"}, {"ng", "234"}, {"ni", "505"},
    {"nl", "31"},  {"no", "47"},  {"np", "977"}, {"nz", "64"},  {"om", "968"}, {"pa", "507"},
    {"pe", "51"},  {"pg", "675"}, {"ph", "63"},  {"pk", "92"},  {"pl", "48"},  {"ps", "970"},
    {"pt", "351"}, {"py", "595"}, {"qa", "974"}, {"ro", "40"},  {"rs", "381"}, {"ru", "7"},
    {"rw", "250"}, {"sa", "966"}, {"sc", "248"}, {"sd", "249"}, {"se", "46"},  {"sg", "65"},
    {"si", "386"}, {"sk", "421"}, {"sl", "232"}, {"sm", "378"}, {"sn", "221"}, {"so", "252"},
    {"sr", "597"}, {"ss", "211"}, {"sv", "503"}, {"sy", "963"}, {"sz", "268"}, {"td", "235"},
    {"tg", "228"}, {"th", "66"},  {"tj", "992"}, {"tl", "670"}, {"tm", "993"}, {"tn", "216"},
    {"tr", "90"},  {"tt", "1"},   {"tw", "886"}, {"tz", "255"}, {"ua", "380"}, {"ug", "256"},
    {"us", "1"},   {"uy", "598"}, {"uz", "998"}, {"va", "39"},  {"ve", "58"},  {"vn", "84"},
    {"xk", "383"}, {"ye", "967"}, {"za", "27"},  {"zm", "260"}, {"zw", "263"},
};

/* E.164 normalisation without libphonenumber's per-country plans: "+" or "00" prefixed
 * numbers are kept as +digits; national numbers use the first country hint's calling code
 * (trunk "0" dropped). 7 to 15 digits in total, else the value is dropped. */
static int clean_phone(lh_buf *b, const lh_clean_opts *opts) {
  char digits[32];
  size_t nd = 0;
  bool plus = false, any = false;
  for (size_t i = 0; i < b->len; i++) {
    char c = b->data[i];
    if (c == '+' && !any) {
      plus = true;
    } else if (isdigit((unsigned char)c)) {
      if (nd >= sizeof digits - 1)
        return 0;
      digits[nd++] = c;
      any = true;
    } else if (strchr(" -./()\t", c)) {
      continue;
    } else if (c == 'x' || c == 'X' || c == ';' || c == ',') {
      break; /* extension or second number */
    } else {
      return 0;
    }
  }
  digits[nd] = '\0';
  const char *num = digits;
  char full[48];
  if (!plus && nd > 2 && digits[0] == '0' && digits[1] == '0') {
    num = digits + 2;
    plus = true;
  }
  if (!plus) {
    const char *cc = NULL;
    for (size_t k = 0; opts && k < opts->ncountries && !cc; k++)
      for (size_t i = 0; i < sizeof CALLING / sizeof CALLING[0]; i++)
        if (strcmp(CALLING[i].country, opts->countries[k]) == 0) {
          cc = CALLING[i].code;
          break;
        }
    if (!cc)
      return 0;
    while (*num == '0')
      num++;
    snprintf(full, sizeof full, "%s%s", cc, num);
    num = full;
  }
  size_t n = strlen(num);
  if (n < 7 || n > 15 || num[0] == '0')
    return 0;
  lh_buf_reset(b);
  lh_buf_putc(b, '+');
  lh_buf_puts(b, num);
  return 1;
}

static int clean_ip(lh_buf *b) {
  unsigned char addr[16];
  char out[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, b->data, addr) == 1) {
    inet_ntop(AF_INET, addr, out, sizeof out);
  } else if (inet_pton(AF_INET6, b->data, addr) == 1) {
    inet_ntop(AF_INET6, addr, out, sizeof out);
  } else {
    return 0;
  }
  lh_buf_reset(b);
  lh_buf_puts(b, out);
  return 1;
}

static int clean_mimetype(lh_buf *b) {
  ascii_lower(b);
  char *semi = memchr(b->data, ';', b->len);
  if (semi) {
    b->len = (size_t)(semi - b->data);
    b->data[b->len] = '\0';
  }
  squash_spaces(b);
  remove_chars(b, " ");
  char *slash = memchr(b->data, '/', b->len);
  if (!slash || slash == b->data || slash == b->data + b->len - 1 ||
      memchr(slash + 1, '/', b->len - (size_t)(slash - b->data) - 1))
    return 0;
  if (strcmp(b->data, "application/octet-stream") == 0)
    return 0; /* the default counts as empty */
  return 1;
}

/* ---- addresses, names, entity ids, identifiers --------------------------------------------- */

static int clean_address(lh_buf *b) {
  static const char *const breaks[] = {"\r\n", "\n", "<BR/>", "<BR>", "\t", "ESQ.,", "ESQ,", ";"};
  lh_buf tmp = LH_BUF_INIT;
  int rc = 0;
  for (size_t i = 0; i < b->len && !rc;) {
    size_t k, n = 0;
    for (k = 0; k < sizeof breaks / sizeof breaks[0]; k++) {
      n = strlen(breaks[k]);
      if (b->len - i >= n && memcmp(b->data + i, breaks[k], n) == 0)
        break;
    }
    if (k < sizeof breaks / sizeof breaks[0]) {
      rc = lh_buf_puts(&tmp, ", ");
      i += n;
    } else {
      rc = lh_buf_putc(&tmp, b->data[i++]);
    }
  }
  /* (,\s?[,\.]) -> ", " */
  lh_buf_reset(b);
  for (size_t i = 0; i < tmp.len && !rc;) {
    if (tmp.data[i] == ',') {
      size_t j = i + 1;
      if (j < tmp.len && isspace((unsigned char)tmp.data[j]))
        j++;
      if (j < tmp.len && (tmp.data[j] == ',' || tmp.data[j] == '.')) {
        rc = lh_buf_puts(b, ", ");
        i = j + 1;
        continue;
      }
    }
    rc = lh_buf_putc(b, tmp.data[i++]);
  }
  lh_buf_free(&tmp);
  if (rc)
    return rc;
  squash_spaces(b);
  return b->len ? 1 : 0;
}

bool lh_entity_id_valid(const char *id, size_t len) {
  if (!id || len == 0 || len > LH_ENTITY_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && ((c != '.' && c != '-') || i == 0 || i == len - 1))
      return false;
  }
  return true;
}

size_t lh_entity_id_strip_namespace(const char *id, size_t len) {
  for (size_t i = len; i > 0; i--)
    if (id[i - 1] == '.')
      return i - 1;
  return len;
}

static int mod97(const char *s) {
  /* letters A=10..Z=35, digits as is; remainder of the big number mod 97 */
  int r = 0;
  for (; *s; s++) {
    int v = isdigit((unsigned char)*s) ? *s - '0' : *s - 'A' + 10;
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}

static bool all_alnum_upper(const char *s) {
  for (; *s; s++)
    if (!isdigit((unsigned char)*s) && !(*s >= 'A' && *s <= 'Z'))
      return false;
  return true;
}

static int clean_identifier(lh_buf *b, const char *format) {
  if (!format)
    return 1;
  if (strcmp(format, "iban") == 0) {
    remove_chars(b, " -");
    ascii_upper(b);
    if (b->len < 15 || b->len > 34 || !all_alnum_upper(b->data) ||
        !isalpha((unsigned char)b->data[0]) || !isalpha((unsigned char)b->data[1]) ||
        !isdigit((unsigned char)b->data[2]) || !isdigit((unsigned char)b->data[3]))
      return 0;
    char rot[40];
    snprintf(rot, sizeof rot, "%s%.4s", b->data + 4, b->data);
    return mod97(rot) == 1 ? 1 : 0;
  }
  if (strcmp(format, "bic") == 0) {
    remove_chars(b, " ");
    ascii_upper(b);
    if ((b->len != 8 && b->len != 11) || !all_alnum_upper(b->data))
      return 0;
    for (int i = 0; i < 6; i++)
      if (!isalpha((unsigned char)b->data[i]))
        return 0;
    return 1;
  }
  if (strcmp(format, "lei") == 0) {
    remove_chars(b, " ");
    ascii_upper(b);
    return b->len == 20 && all_alnum_upper(b->data) && mod97(b->data) == 1 ? 1 : 0;
  }
  if (strcmp(format, "isin") == 0) {
    remove_chars(b, " -");
    ascii_upper(b);
    if (b->len != 12 || !all_alnum_upper(b->data) || !isalpha((unsigned char)b->data[0]) ||
        !isalpha((unsigned char)b->data[1]) || !isdigit((unsigned char)b->data[11]))
      return 0;
    char digits[32];
    size_t n = 0;
    for (int i = 0; i < 11; i++) {
      char c = b->data[i];
      if (isdigit((unsigned char)c)) {
        digits[n++] = c;
      } else {
        int v = c - 'A' + 10;
        digits[n++] = (char)('0' + v / 10);
        digits[n++] = (char)('0' + v % 10);
      }
    }
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
      int d = digits[n - 1 - i] - '0';
      if (i % 2 == 0) {
        d *= 2;
        if (d > 9)
          d -= 9;
      }
      sum += d;
    }
    return (10 - sum % 10) % 10 == b->data[11] - '0' ? 1 : 0;
  }
  if (strcmp(format, "imo") == 0) {
    ascii_upper(b);
    remove_chars(b, " ");
    const char *d = b->data;
    if (strncmp(d, "IMO", 3) == 0)
      d += 3;
    if (strlen(d) != 7)
      return 0;
    int sum = 0;
    for (int i = 0; i < 7; i++)
      if (!isdigit((unsigned char)d[i]))
        return 0;
    for (int i = 0; i < 6; i++)
      sum += (d[i] - '0') * (7 - i);
    if (sum % 10 != d[6] - '0')
      return 0;
    char out[16];
    snprintf(out, sizeof out, "IMO%s", d);
    lh_buf_reset(b);
    lh_buf_puts(b, out);
    return 1;
  }
  if (strcmp(format, "qid") == 0 || strcmp(format, "wikidata") == 0) {
    ascii_upper(b);
    if (b->len < 2 || b->data[0] != 'Q' || b->data[1] == '0')
      return 0;
    for (size_t i = 1; i < b->len; i++)
      if (!isdigit((unsigned char)b->data[i]))
        return 0;
    return 1;
  }
  return 1; /* other formats: kept as given */
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int lh_type_clean(const lh_type *t, const char *value, size_t len, const lh_clean_opts *opts,
                  lh_buf *out) {
  if (!value)
    return 0;
  int rc = sanitize(value, len, out);
  if (rc)
    return rc;
  if (out->len == 0)
    return 0;
  switch (t->id) {
  case LH_TYPE_NAME:
    strip_quotes(out);
    squash_spaces(out);
    rc = out->len ? 1 : 0;
    break;
  case LH_TYPE_DATE: rc = clean_date(out); break;
  case LH_TYPE_COUNTRY: rc = clean_country(t, out); break;
  case LH_TYPE_LANGUAGE: rc = clean_language(t, out); break;
  case LH_TYPE_GENDER: rc = clean_gender(t, out); break;
  case LH_TYPE_TOPIC: rc = clean_topic(t, out); break;
  case LH_TYPE_EMAIL: rc = clean_email(out); break;
  case LH_TYPE_URL: rc = clean_url(out); break;
  case LH_TYPE_PHONE: rc = clean_phone(out, opts); break;
  case LH_TYPE_IP: rc = clean_ip(out); break;
  case LH_TYPE_MIMETYPE: rc = clean_mimetype(out); break;
  case LH_TYPE_ADDRESS: rc = clean_address(out); break;
  case LH_TYPE_ENTITY: rc = lh_entity_id_valid(out->data, out->len) ? 1 : 0; break;
  case LH_TYPE_IDENTIFIER: rc = clean_identifier(out, opts ? opts->format : NULL); break;
  case LH_TYPE_CHECKSUM:
  case LH_TYPE_NUMBER:
  case LH_TYPE_STRING:
  case LH_TYPE_TEXT:
  case LH_TYPE_HTML:
  case LH_TYPE_JSON:
  case LH_TYPE_UNKNOWN:
  default: rc = 1; break;
  }
  return rc;
}
