/* core/: byte sizes, UTC time, hashing, UUIDs, errors, buffers, settings, glob, lines, CSV. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/csv_reader.h"
#include "core/glob.h"
#include "core/lines.h"
#include "core/uri.h"
#include "core/yaml.h"
#include <errno.h>

#include <jansson.h>

#include "testutil.h"

static void test_byte_size(void **state) {
  (void)state;
  struct {
    const char *in;
    int64_t want;
  } ok[] = {{"1024", 1024},
            {"8GB", 8000000000LL},
            {"8gb", 8000000000LL},
            {" 64G ", 64000000000LL},
            {"512 MiB", 512LL << 20},
            {"1.5GB", 1500000000LL},
            {"2TiB", 2LL << 40},
            {"0", 0},
            {"10b", 10},
            {"3kib", 3072}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t v = -1;
    lh_error err = {0};
    assert_int_equal(lh_parse_byte_size(ok[i].in, &v, &err), 0);
    assert_int_equal(v, ok[i].want);
  }
  const char *bad[] = {"80%", "GB", "8 flops", "", "-1GB", "1.GB", "1e3", "8 G B"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t v;
    lh_error err = {0};
    assert_int_equal(lh_parse_byte_size(bad[i], &v, &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "invalid byte size"));
  }
}

static void test_time_formats(void **state) {
  (void)state;
  lh_time t;
  lh_error err = {0};
  assert_int_equal(lh_time_parse_iso("2024-01-16T10:30:00", (size_t)-1, &t, &err), 0);
  char ts[LH_TS_SIZE], iso[LH_ISO_SIZE];
  lh_time_format_ts(t, ts);
  assert_string_equal(ts, "20240116T103000000000Z");
  lh_time_format_iso(t, iso);
  assert_string_equal(iso, "2024-01-16T10:30:00+00:00");
  lh_time_format_iso(t + 123456, iso);
  assert_string_equal(iso, "2024-01-16T10:30:00.123456+00:00");
  lh_time back;
  assert_int_equal(lh_time_parse_ts("20240116T103000123456Z", &back, &err), 0);
  assert_int_equal(back, t + 123456);
  assert_int_equal(lh_time_parse_ts("2024-01-16", &back, &err), LH_EINVAL);
  assert_int_equal(lh_time_parse_ts("20241316T103000000000Z", &back, &err), LH_EINVAL);
  lh_time_format_ftm(t, iso);
  assert_string_equal(iso, "2024-01-16T10:30:00");
  /* before the epoch */
  assert_int_equal(lh_time_parse_iso("1969-12-31T23:59:59.5Z", (size_t)-1, &t, &err), 0);
  assert_int_equal(t, -500000);
  lh_time_format_iso(t, iso);
  assert_string_equal(iso, "1969-12-31T23:59:59.500000+00:00");
}

static void test_time_parse_iso(void **state) {
  (void)state;
  struct {
    const char *in;
    const char *want; /* ISO form of the parsed UTC time */
  } cases[] = {
      {"2024-03-09", "2024-03-09T00:00:00+00:00"},
      {"2024-03-09T09:28:18", "2024-03-09T09:28:18+00:00"},
      {"2024-03-09 09:28:18", "2024-03-09T09:28:18+00:00"},
      {"2024-03-09T09:28:18Z", "2024-03-09T09:28:18+00:00"},
      {"2024-03-09T09:28:18.5", "2024-03-09T09:28:18.500000+00:00"},
      {"2024-03-09T09:28:18.1234567", "2024-03-09T09:28:18.123456+00:00"},
      {"2024-03-09T09:28:18+02:00", "2024-03-09T07:28:18+00:00"},
      {"2024-03-09T01:28:18+0230", "2024-03-08T22:58:18+00:00"},
      {"2024-03-09T23:00:00-05:00", "2024-03-10T04:00:00+00:00"},
      {"2024-03-09T09:28", "2024-03-09T09:28:00+00:00"},
      {"2024-02-29", "2024-02-29T00:00:00+00:00"},
      {" 2024-03-09T09:28:18+00:00 ", "2024-03-09T09:28:18+00:00"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lh_time t;
    lh_error err = {0};
    assert_int_equal(lh_time_parse_iso(cases[i].in, (size_t)-1, &t, &err), 0);
    char iso[LH_ISO_SIZE];
    lh_time_format_iso(t, iso);
    assert_string_equal(iso, cases[i].want);
  }
  const char *bad[] = {"",
                       "2024",
                       "2024-13-01",
                       "2023-02-29",
                       "2024-03-09T25:00",
                       "2024-03-09T09:28:18+",
                       "2024-03-09Tfoo",
                       "yesterday",
                       "2024-03-09T09:28:18.",
                       "2024-03-09 trailing"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lh_time t;
    lh_error err = {0};
    assert_int_equal(lh_time_parse_iso(bad[i], (size_t)-1, &t, &err), LH_EINVAL);
    assert_non_null(strstr(err.message, "invalid ISO date"));
  }
}

static void test_hashes(void **state) {
  (void)state;
  char h1[LH_SHA1_HEX_SIZE], h2[LH_SHA256_HEX_SIZE];
  lh_sha1_hex("abc", 3, h1);
  assert_string_equal(h1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  lh_sha256_hex("abc", 3, h2);
  assert_string_equal(h2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  lh_sha1_hex("", 0, h1);
  assert_string_equal(h1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  /* statement id example of ftm.md §4.2 */
  lh_sha1_hex("wd_persons.Q61589.name.Salih", strlen("wd_persons.Q61589.name.Salih"), h1);
  assert_string_equal(h1, "241a6298861ed88df12ae64e49ff96292f711d95");
  lh_hasher *h = NULL;
  assert_int_equal(lh_hasher_new(LH_HASH_SHA256, &h, NULL), 0);
  assert_non_null(h);
  lh_hasher_update(h, "a", 1);
  lh_hasher_update(h, "bc", 2);
  lh_hasher_final_hex(h, h2);
  assert_string_equal(h2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  lh_hasher_update(h, "abc", 3); /* reusable after final */
  lh_hasher_final_hex(h, h2);
  assert_string_equal(h2, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  lh_hasher_free(h);
}

static void test_uuids(void **state) {
  (void)state;
  char prev[LH_UUID_SIZE] = "", cur[LH_UUID_SIZE];
  for (int i = 0; i < 5000; i++) {
    lh_uuid7(cur);
    assert_int_equal(strlen(cur), 36);
    assert_int_equal(cur[14], '7');
    assert_true(strchr("89ab", cur[19]) != NULL);
    assert_int_equal(cur[8], '-');
    assert_true(strcmp(prev, cur) < 0); /* time-ordered and monotonic */
    memcpy(prev, cur, sizeof cur);
  }
  lh_time now_ms = lh_time_now() / 1000;
  char hex[13];
  memcpy(hex, cur, 8);
  memcpy(hex + 8, cur + 9, 4);
  hex[12] = '\0';
  long long ms = strtoll(hex, NULL, 16);
  assert_true(ms <= now_ms + 50 && ms >= now_ms - 60000);
  char u4[LH_UUID_SIZE], h4[LH_UUID_HEX_SIZE];
  lh_uuid4(u4);
  assert_int_equal(u4[14], '4');
  lh_uuid4_hex(h4);
  assert_int_equal(strlen(h4), 32);
  assert_int_equal(h4[12], '4');
}

static void test_errors_and_buffers(void **state) {
  (void)state;
  lh_error err = {0};
  assert_int_equal(lh_error_set(&err, LH_EINVAL, "bad %s", "thing"), LH_EINVAL);
  assert_string_equal(err.message, "bad thing");
  assert_int_equal(lh_error_prefix(&err, LH_EINVAL, "file.json line %d", 7), LH_EINVAL);
  /* without an err the real code still comes back */
  assert_int_equal(lh_error_prefix(NULL, LH_EPARSE, "file.json line %d", 8), LH_EPARSE);
  assert_string_equal(err.message, "file.json line 7: bad thing");
  assert_int_equal(lh_error_errno(&err, ENOENT, "open x"), LH_ENOTFOUND);
  assert_non_null(strstr(err.message, "open x: "));
  assert_int_equal(lh_error_set(NULL, LH_EIO, "ignored"), LH_EIO);
  assert_string_equal(lh_strerror(LH_ELIMIT), "limit exceeded");
  /* a capped buffer refuses to grow past its cap and keeps its content */
  lh_buf b;
  lh_buf_init(&b, 10);
  assert_int_equal(lh_buf_puts(&b, "0123456789"), 0);
  assert_int_equal(lh_buf_putc(&b, 'x'), LH_ELIMIT);
  assert_string_equal(b.data, "0123456789");
  lh_buf_reset(&b);
  assert_int_equal(lh_buf_printf(&b, "%d-%s", 42, "ok"), 0);
  assert_string_equal(b.data, "42-ok");
  char *s = lh_buf_steal(&b);
  assert_string_equal(s, "42-ok");
  free(s);
  assert_null(b.data);
  lh_buf big = LH_BUF_INIT;
  char chunk[1000];
  memset(chunk, 'a', sizeof chunk);
  for (int i = 0; i < 1000; i++)
    assert_int_equal(lh_buf_append(&big, chunk, sizeof chunk), 0);
  assert_int_equal(big.len, 1000000);
  assert_int_equal(lh_buf_printf(&big, "%0300d", 1), 0);
  assert_int_equal(big.len, 1000300);
  lh_buf_free(&big);
}

static void test_settings(void **state) {
  (void)state;
  const char *vars[] = {"LAKEHOUSE_URI",
                        "LAKEHOUSE_JOURNAL_URI",
                        "LAKEHOUSE_GRACE_PERIOD_DAYS",
                        "LAKEHOUSE_MAX_BUFFER_ROWS",
                        "LAKEHOUSE_LOCK_MAX_RETRIES",
                        "LAKEHOUSE_DUCKDB_MEMORY_LIMIT",
                        "LAKEHOUSE_ON_ZFS",
                        "DEBUG"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
    unsetenv(vars[i]);
  lh_settings s;
  lh_error err = {0};
  assert_int_equal(lh_settings_load(&s, &err), 0);
  assert_string_equal(s.uri, "./data");
  assert_int_equal(s.grace_period_days, 30);
  assert_int_equal(s.max_buffer_rows, 1000000);
  assert_int_equal(s.lock_max_retries, 22);
  assert_string_equal(s.duckdb_memory_limit, "8GB");
  assert_false(s.on_zfs);
  assert_false(lh_settings_api_mode(&s));
  /* the embedded default journal is a persistent SQLite file inside the lake */
  char *j = lh_settings_journal_uri(&s);
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  char want[4200];
  snprintf(want, sizeof want, "sqlite:///%s/data/journal.db", strcmp(cwd, "/") ? cwd : "");
  assert_string_equal(j, want);
  free(j);
  lh_settings_free(&s);

  setenv("LAKEHOUSE_URI", "http://lake.example.org", 1);
  setenv("LAKEHOUSE_GRACE_PERIOD_DAYS", "0", 1);
  setenv("LAKEHOUSE_ON_ZFS", "yes", 1);
  assert_int_equal(lh_settings_load(&s, &err), 0);
  assert_true(lh_settings_api_mode(&s));
  assert_int_equal(s.grace_period_days, 0);
  assert_true(s.on_zfs);
  j = lh_settings_journal_uri(&s);
  assert_string_equal(j, "http://lake.example.org");
  free(j);
  lh_buf out = LH_BUF_INIT;
  assert_int_equal(lh_settings_to_json(&s, &out), 0);
  assert_non_null(strstr(out.data, "\"grace_period_days\": 0"));
  lh_buf_free(&out);
  lh_settings_free(&s);

  setenv("LAKEHOUSE_GRACE_PERIOD_DAYS", "thirty", 1);
  assert_int_equal(lh_settings_load(&s, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "LAKEHOUSE_GRACE_PERIOD_DAYS"));
  setenv("LAKEHOUSE_GRACE_PERIOD_DAYS", "-1", 1);
  assert_int_equal(lh_settings_load(&s, &err), LH_EINVAL);
  unsetenv("LAKEHOUSE_GRACE_PERIOD_DAYS");
  setenv("LAKEHOUSE_ON_ZFS", "maybe", 1);
  assert_int_equal(lh_settings_load(&s, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "LAKEHOUSE_ON_ZFS"));
  unsetenv("LAKEHOUSE_ON_ZFS");
  unsetenv("LAKEHOUSE_URI");
}

static void test_uri(void **state) {
  (void)state;
  char *p = lh__uri_local_path("file:///tmp/a/./b/../c//d/", NULL);
  assert_string_equal(p, "/tmp/a/c/d");
  free(p);
  p = lh__uri_local_path("/", NULL);
  assert_string_equal(p, "/");
  free(p);
  lh_error err = {0};
  assert_null(lh__uri_local_path("s3://bucket/x", &err));
  assert_int_equal(err.code, LH_EUNSUPPORTED);
  assert_int_equal(lh__uri_kind_of("https://x"), LH__URI_HTTP);
  assert_int_equal(lh__uri_kind_of("s3://x"), LH__URI_S3);
  assert_int_equal(lh__uri_kind_of("data"), LH__URI_FILE);
  p = lh__uri_join("file:///a/", "/b");
  assert_string_equal(p, "file:///a/b");
  free(p);
}

static void test_glob(void **state) {
  (void)state;
  assert_true(lh__glob_match("archive/**/*.json", "archive/ab/cd/ef/abc/x.json"));
  assert_true(lh__glob_match("archive/**/*.json", "archive/x.json"));
  assert_false(lh__glob_match("archive/**/*.json", "archive/ab/blob"));
  assert_false(lh__glob_match("archive/**/*.json", "other/x.json"));
  assert_true(lh__glob_match("*.json", "a.json"));
  assert_false(lh__glob_match("*.json", "dir/a.json"));
  assert_true(lh__glob_match("tags/**", "tags/lakehouse/journal/last_updated"));
  assert_true(lh__glob_match("part-[0-9]?.parquet", "part-12.parquet"));
  assert_false(lh__glob_match("part-[!0-9]?.parquet", "part-12.parquet"));
  assert_false(lh__glob_match("a?c", "a/c"));
  assert_false(lh__glob_match("[abc", "a"));
}

static void test_lines(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  const char *text = "one\r\ntwo\n\nthree-without-newline";
  assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
  close(fds[1]);
  lh__lines *l = lh__lines_open_fd(fds[0], 0);
  const char *line;
  size_t len;
  uint64_t no;
  lh_error err = {0};
  const char *want[] = {"one", "two", "", "three-without-newline"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(lh__lines_next(l, &line, &len, &no, &err), 1);
    assert_string_equal(line, want[i]);
    assert_int_equal(no, (uint64_t)i + 1);
  }
  assert_int_equal(lh__lines_next(l, &line, &len, &no, &err), 0);
  lh__lines_close(l);
  close(fds[0]);

  /* a line longer than the cap is an error naming the line, not an allocation */
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "ok\n0123456789abcdef\n", 20), 20);
  close(fds[1]);
  l = lh__lines_open_fd(fds[0], 8);
  assert_int_equal(lh__lines_next(l, &line, &len, &no, &err), 1);
  assert_int_equal(lh__lines_next(l, &line, &len, &no, &err), LH_ELIMIT);
  assert_non_null(strstr(err.message, "line 2"));
  lh__lines_close(l);
  close(fds[0]);
}

static void test_csv(void **state) {
  (void)state;
  const char *text = "a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\n\"multi\nline\",,z\nlast,row";
  lh__csv *c = lh__csv_open_mem(text, strlen(text), 0);
  lh__csv_record r;
  lh_error err = {0};
  assert_int_equal(lh__csv_next(c, &r, &err), 1);
  assert_int_equal(r.nfields, 3);
  assert_string_equal(r.fields[2], "c");
  assert_int_equal(lh__csv_next(c, &r, &err), 1);
  assert_int_equal(r.nfields, 3);
  assert_string_equal(r.fields[0], "x,1");
  assert_string_equal(r.fields[1], "say \"hi\"");
  assert_string_equal(r.fields[2], "");
  assert_int_equal(r.line, 2);
  assert_int_equal(lh__csv_next(c, &r, &err), 1);
  assert_string_equal(r.fields[0], "multi\nline");
  assert_int_equal(r.lens[0], 10);
  assert_string_equal(r.fields[2], "z");
  assert_int_equal(r.line, 3);
  assert_int_equal(lh__csv_next(c, &r, &err), 1);
  assert_int_equal(r.nfields, 2);
  assert_string_equal(r.fields[1], "row");
  assert_int_equal(r.line, 5);
  assert_int_equal(lh__csv_next(c, &r, &err), 0);
  lh__csv_close(c);

  const char *bad[] = {"a,\"unterminated\n", "a,b\"c\n", "\"x\"y,z\n"};
  const char *msg[] = {"unterminated quoted field", "quote inside an unquoted field",
                       "data after the closing quote"};
  for (int i = 0; i < 3; i++) {
    c = lh__csv_open_mem(bad[i], strlen(bad[i]), 0);
    assert_true(lh__csv_next(c, &r, &err) < 0);
    assert_non_null(strstr(err.message, msg[i]));
    assert_non_null(strstr(err.message, "line 1"));
    lh__csv_close(c);
  }
  /* many fields (grows the field arrays) */
  lh_buf wide = LH_BUF_INIT;
  for (int i = 0; i < 500; i++)
    lh_buf_printf(&wide, i ? ",%d" : "%d", i);
  c = lh__csv_open_mem(wide.data, wide.len, 0);
  assert_int_equal(lh__csv_next(c, &r, &err), 1);
  assert_int_equal(r.nfields, 500);
  assert_string_equal(r.fields[499], "499");
  lh__csv_close(c);
  lh_buf_free(&wide);
}

static void test_yaml(void **state) {
  (void)state;
  const char *y = "name: test\ntitle: 'Test: data'\nshards: 4\nratio: 1.5\ndeprecated: false\n"
                  "tags: [a, b]\nnothing: ~\nquoted: \"123\"\nnested:\n  key: yes\n";
  json_t *j;
  lh_error err = {0};
  assert_int_equal(lh__yaml_to_json(y, strlen(y), &j, &err), 0);
  assert_string_equal(json_string_value(json_object_get(j, "title")), "Test: data");
  assert_int_equal(json_integer_value(json_object_get(j, "shards")), 4);
  assert_true(json_is_real(json_object_get(j, "ratio")));
  assert_true(json_is_false(json_object_get(j, "deprecated")));
  assert_int_equal(json_array_size(json_object_get(j, "tags")), 2);
  assert_true(json_is_null(json_object_get(j, "nothing")));
  assert_string_equal(json_string_value(json_object_get(j, "quoted")), "123");
  assert_true(json_is_true(json_object_get(json_object_get(j, "nested"), "key")));
  json_decref(j);
  const char *bad = "name: test\n  broken: [\n";
  assert_int_equal(lh__yaml_to_json(bad, strlen(bad), &j, &err), LH_EPARSE);
  assert_non_null(strstr(err.message, "line"));
}

/* ---- the log sink ---------------------------------------------------------------------- */

typedef struct log_capture {
  int calls;
  lh_log_level level;
  char last[LH_LOG_MESSAGE_MAX + 1];
} log_capture;

static void capture(void *ctx, lh_log_level level, const char *message) {
  log_capture *c = ctx;
  c->calls++;
  c->level = level;
  snprintf(c->last, sizeof c->last, "%s", message);
}

static void test_log_sink(void **state) {
  (void)state;
  log_capture c = {0};
  lh_log_set_level(LH_LOG_INFO);
  lh_log_set_sink(NULL, NULL);
  lh_log_warning("nobody listens"); /* the library is silent without a sink */
  lh_log_set_sink(capture, &c);
  lh_log_debug("below the level");
  assert_int_equal(c.calls, 0);
  lh_log_warning("dataset %s: %d file(s)", "demo", 3);
  assert_int_equal(c.calls, 1);
  assert_int_equal(c.level, LH_LOG_WARNING);
  assert_string_equal(c.last, "dataset demo: 3 file(s)");
  /* a long message is cut, never overflows */
  char *big = malloc(3 * LH_LOG_MESSAGE_MAX);
  memset(big, 'x', 3 * LH_LOG_MESSAGE_MAX - 1);
  big[3 * LH_LOG_MESSAGE_MAX - 1] = 0;
  lh_log_error("%s", big);
  free(big);
  assert_int_equal(c.calls, 2);
  assert_int_equal(strlen(c.last), LH_LOG_MESSAGE_MAX - 1);
  lh_log_set_sink(NULL, NULL);
  lh_log_error("after removal");
  assert_int_equal(c.calls, 2);
}

/* The one growable array: doubles from `first`, keeps contents, refuses overflow without
 * touching the array. */
static void test_array_reserve(void **state) {
  (void)state;
  int64_t *v = NULL;
  size_t n = 0, cap = 0;
  for (int64_t i = 0; i < 1000; i++) {
    assert_int_equal(LH_ARRAY_RESERVE(v, cap, n + 1, 16), 0);
    v[n++] = i * 7;
  }
  assert_int_equal(cap, 1024); /* 16 doubled six times */
  for (size_t i = 0; i < n; i++)
    assert_int_equal(v[i], (int64_t)i * 7);
  assert_int_equal(LH_ARRAY_RESERVE(v, cap, 10, 16), 0); /* already there: unchanged */
  assert_int_equal(cap, 1024);
  int64_t *before = v;
  assert_int_equal(LH_ARRAY_RESERVE(v, cap, SIZE_MAX / 4, 16), LH_ENOMEM); /* bytes overflow */
  assert_int_equal(LH_ARRAY_RESERVE(v, cap, SIZE_MAX, 16), LH_ENOMEM);     /* count overflow */
  assert_ptr_equal(v, before);
  assert_int_equal(cap, 1024);
  assert_int_equal(v[999], 999 * 7);
  free(v);
  char **names = NULL;
  size_t ncap = 0;
  assert_int_equal(LH_ARRAY_RESERVE(names, ncap, 3, 0), 0); /* first 0: starts from 1 */
  assert_int_equal(ncap, 4);
  free(names);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_log_sink),
      cmocka_unit_test(test_array_reserve),
      cmocka_unit_test(test_byte_size),
      cmocka_unit_test(test_time_formats),
      cmocka_unit_test(test_time_parse_iso),
      cmocka_unit_test(test_hashes),
      cmocka_unit_test(test_uuids),
      cmocka_unit_test(test_errors_and_buffers),
      cmocka_unit_test(test_settings),
      cmocka_unit_test(test_uri),
      cmocka_unit_test(test_glob),
      cmocka_unit_test(test_lines),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_yaml),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
