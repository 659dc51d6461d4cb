/* repository/archive and the crawl and download operations: MIME types, file and folder ids,
 * the metadata JSON, blobs (atomic, verified, deduplicated), gc alone and against concurrent
 * stores, the crawl of ../shared/data/lakehouse-fixtures/src (filters, existing modes, bad
 * input, a killed crawl resumed), a batch committed while the next is archived, and the
 * download back into a folder. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ftm/mime.h"
#include "repository/archive_internal.h"
#include "testutil.h"

#define UTF_SUM "bbb1f047ff1f0c333560e09cff0c4a052eb87a2998d6d16775a276645877c5b7"
#define PDF_SUM "32ca2800160763fbbcf42c0a4617e666c156583da1eb00b91b09afb3c654f055"
#define TEST_SUM "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

/* ---- helpers ------------------------------------------------------------------------------ */

static const char *fixtures(void) {
  static char path[4096];
  snprintf(path, sizeof path, "%s", tu_shared("data/lakehouse-fixtures/src"));
  return path;
}

static void write_file(const char *dir, const char *rel, const char *data, size_t len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
    *p = '\0';
    mkdir(path, 0755);
    *p = '/';
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static void write_str(const char *dir, const char *rel, const char *data) {
  write_file(dir, rel, data, strlen(data));
}

/* `files` small text files in dir: f{i}.txt, inside d{i % folders}/ when folders > 0; file i
 * holds content number i / copies, so every `copies` files in a row share a content. */
static void write_numbered(const char *dir, int files, int folders, int copies) {
  for (int i = 0; i < files; i++) {
    char key[32], text[48];
    if (folders > 0)
      snprintf(key, sizeof key, "d%d/f%d.txt", i % folders, i);
    else
      snprintf(key, sizeof key, "f%d.txt", i);
    snprintf(text, sizeof text, "content number %d\n", i / copies);
    write_str(dir, key, text);
  }
}

static int exists_in(const char *dir, const char *rel) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  return access(path, F_OK) == 0;
}

static long long count_files(const char *dir, const char *pattern) {
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "find '%s' -type f -name '%s' | wc -l", dir, pattern);
  return tu_shell_number(cmd);
}

static char *dataset_dir(tu_lake *l, const char *name) {
  char *p;
  assert_true(asprintf(&p, "%s/%s", l->dir, name) > 0);
  return p;
}

typedef struct counts {
  int entities, folders, pages;
  char parent_of_test[LH_FOLDER_ID_SIZE];
} counts;

static int count_entity(lh_entity *e, void *ctx) {
  counts *c = ctx;
  c->entities++;
  const char *schema = lh_entity_schema(e)->name;
  c->folders += strcmp(schema, "Folder") == 0;
  c->pages += strcmp(schema, "Pages") == 0;
  size_t n;
  const char *const *names = lh_entity_values(e, "fileName", &n);
  if (n && strcmp(names[0], "test.txt") == 0) {
    const char *const *parents = lh_entity_values(e, "parent", &n);
    if (n)
      snprintf(c->parent_of_test, sizeof c->parent_of_test, "%s", parents[0]);
  }
  return 0;
}

/* The entities of origin "crawl". */
static counts crawled_entities(lh_dataset *ds) {
  static const char *const CRAWL[] = {"crawl"};
  lh_entity_query q = {.origins = CRAWL, .norigins = 1, .limit = -1};
  counts c = {0};
  lh_error err = {0};
  if (lh_entities_query(ds, &q, count_entity, &c, &err))
    fail_msg("query: %s", err.message);
  return c;
}

static lh_op_result crawl(lh_dataset *ds, const char *src, const lh_crawl_opts *o) {
  lh_op_result r = {0};
  lh_error err = {0};
  if (lh_dataset_crawl(ds, src, o, &r, &err))
    fail_msg("crawl %s: %s", src, err.message);
  return r;
}

static int count_file(void *ctx, const lh_file *f, lh_error *err) {
  (void)f;
  (void)err;
  (*(int *)ctx)++;
  return 0;
}

static int archived_files(lh_dataset *ds, const char *checksum) {
  int n = 0;
  lh_error err = {0};
  assert_int_equal(lh_archive_files(ds, checksum, count_file, &n, &err), 0);
  return n;
}

static bool blob_exists(lh_dataset *ds, const char *checksum) {
  bool e = false;
  lh_error err = {0};
  assert_int_equal(lh_archive_exists(ds, checksum, &e, &err), 0);
  return e;
}

/* ---- syncfs(2) and fsync(2), watched ------------------------------------------------------ */

/* This binary's own syncfs and fsync (they take the place of the C library's for the code
 * linked in): a syncfs can be held until the test lets it go, and fsyncs of lease markers
 * are counted. Both pass through otherwise. */
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static bool sync_hold, sync_held, sync_expired;
static int marker_fsyncs;

/* A hold ends by itself after 20 s (sync_expired): a session that waits for its own flush
 * would otherwise wait for ever. */
int syncfs(int fd) {
  pthread_mutex_lock(&sync_mu);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 20;
  while (sync_hold) {
    sync_held = true;
    pthread_cond_broadcast(&sync_cv);
    if (pthread_cond_timedwait(&sync_cv, &sync_mu, &until) == ETIMEDOUT) {
      sync_hold = false;
      sync_expired = true;
    }
  }
  pthread_mutex_unlock(&sync_mu);
  return (int)syscall(SYS_syncfs, fd);
}

int fsync(int fd) {
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n > 0) {
    path[n] = '\0';
    if (strstr(path, "/" LH_PATH_LOCK_APPENDS))
      __atomic_add_fetch(&marker_fsyncs, 1, __ATOMIC_RELAXED);
  }
  return (int)syscall(SYS_fsync, fd);
}

static void sync_hold_set(bool hold) {
  pthread_mutex_lock(&sync_mu);
  sync_hold = hold;
  if (hold)
    sync_held = false;
  pthread_cond_broadcast(&sync_cv);
  pthread_mutex_unlock(&sync_mu);
}

static bool sync_is_held(void) {
  pthread_mutex_lock(&sync_mu);
  bool held = sync_held && sync_hold;
  pthread_mutex_unlock(&sync_mu);
  return held;
}

/* ---- MIME types --------------------------------------------------------------------------- */

static void test_mime(void **state) {
  (void)state;
  char buf[LH_MIME_SIZE];
  assert_string_equal(lh_mime_normalize(" Application/X-PDF ; q=1", buf), "application/pdf");
  assert_string_equal(lh_mime_normalize("text/plain; charset=utf-8", buf), "text/plain");
  assert_string_equal(lh_mime_normalize("application/msword", buf), "application/vnd.ms-word");
  assert_string_equal(lh_mime_normalize("image/x.djvu", buf), "image/vnd.djvu");
  assert_string_equal(lh_mime_normalize("nonsense", buf), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_normalize("a/b/c", buf), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_normalize("", buf), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_normalize(NULL, buf), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_to_schema("application/pdf"), "Pages");
  assert_string_equal(lh_mime_to_schema("application/x-msword"), "Pages");
  assert_string_equal(lh_mime_to_schema("text/xml"), "HyperText");
  assert_string_equal(lh_mime_to_schema("text/html"), "HyperText");
  assert_string_equal(lh_mime_to_schema("application/csv"), "Table");
  assert_string_equal(lh_mime_to_schema("image/jpg"), "Image");
  assert_string_equal(lh_mime_to_schema("message/rfc822"), "Email");
  assert_string_equal(lh_mime_to_schema("text/plain"), "PlainText");
  assert_string_equal(lh_mime_to_schema("text/richtext"), "PlainText");
  assert_string_equal(lh_mime_to_schema("application/zip"), "Document");
  /* as in Python: rigour's DOCX constant is a truncated type, and image/x.djvu is normalised
   * to image/vnd.djvu before the lookup */
  assert_string_equal(
      lh_mime_to_schema("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
      "Document");
  assert_string_equal(lh_mime_to_schema("image/x.djvu"), "Document");
  const char *mimes[] = {"application/octet-stream", "application/x-pdf"};
  assert_string_equal(lh_mime_pick(mimes, 2, NULL, buf), "application/pdf");
  assert_string_equal(lh_mime_pick(mimes, 1, "text/xml", buf), "application/xml");
  assert_string_equal(lh_mime_pick(mimes, 1, NULL, buf), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_guess("a/b/Report.PDF"), "application/pdf");
  assert_string_equal(lh_mime_guess("x.doc"), "application/vnd.ms-word");
  assert_string_equal(lh_mime_guess(".profile"), LH_MIME_DEFAULT);
  assert_string_equal(lh_mime_guess("donations.ijson"), LH_MIME_DEFAULT);
  /* libmagic on content, the name where the content says little */
  lh__magic *m;
  lh_error err = {0};
  assert_int_equal(lh__magic_open(&m, &err), 0);
  size_t len;
  char *pdf = tu_read_file(tu_shared("data/lakehouse-fixtures/src/example.pdf"), &len);
  assert_string_equal(lh__magic_detect(m, pdf, len, buf), "application/pdf");
  free(pdf);
  char det[LH_MIME_SIZE];
  const char *d = lh__magic_detect(m, "just words\n", 11, det);
  assert_string_equal(d, "text/plain");
  assert_string_equal(lh__mime_choose(d, "t.csv", buf), "text/csv");
  assert_string_equal(lh__mime_choose(d, "t.pdf", buf), "text/plain");
  assert_string_equal(lh__mime_choose(NULL, "t.pdf", buf), "application/pdf");
  lh__magic_close(m);
}

/* The signatures told without libmagic name what libmagic names, on real files: the shared
 * fixtures and this machine's documentation (gzip changelogs, PDFs, images). */
typedef struct sig_check {
  magic_t cookie;
  unsigned char *head;
  int files, hits, gzip, pdf;
} sig_check;

static sig_check *sig_ctx;

static int check_signature(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)ftw;
  sig_check *c = sig_ctx;
  if (flag != FTW_F || !S_ISREG(st->st_mode) || c->files >= 20000)
    return 0;
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, c->head, LH_MAGIC_HEAD);
  close(fd);
  c->files++;
  const char *sig = n > 0 ? lh__mime_signature(c->head, (size_t)n) : NULL;
  if (!sig)
    return 0;
  const char *raw = magic_buffer(c->cookie, c->head, (size_t)n);
  char buf[LH_MIME_SIZE];
  if (!raw || strcmp(lh_mime_normalize(raw, buf), sig) != 0)
    fail_msg("%s: libmagic says %s, the signature %s", path, raw ? raw : "nothing", sig);
  c->hits++;
  c->gzip += strcmp(sig, "application/gzip") == 0;
  c->pdf += strcmp(sig, "application/pdf") == 0;
  return 0;
}

static void test_mime_signatures(void **state) {
  (void)state;
  sig_check c = {magic_open(MAGIC_MIME_TYPE), malloc(LH_MAGIC_HEAD), 0, 0, 0, 0};
  assert_non_null(c.cookie);
  assert_int_equal(magic_load(c.cookie, NULL), 0);
  sig_ctx = &c;
  assert_int_equal(nftw(tu_shared("data"), check_signature, 16, FTW_PHYS), 0);
  assert_int_equal(nftw("/usr/share/doc", check_signature, 16, FTW_PHYS), 0);
  print_message("signatures: %d files, %d told (%d gzip, %d pdf), as libmagic\n", c.files, c.hits,
                c.gzip, c.pdf);
  assert_true(c.gzip >= 10);
  assert_true(c.pdf >= 1);
  assert_null(lh__mime_signature("\x1f\x8b", 2)); /* shorter than the signature */
  assert_null(lh__mime_signature("%PDX-", 5));
  magic_close(c.cookie);
  free(c.head);
}

/* ---- ids and metadata JSON ---------------------------------------------------------------- */

static void test_ids(void **state) {
  (void)state;
  char id[LH_FILE_ID_SIZE], want[LH_SHA256_HEX_SIZE], folder[LH_FOLDER_ID_SIZE];
  lh_error err = {0};
  assert_int_equal(lh_file_id("testdir/test.txt", TEST_SUM, id, &err), 0);
  lh_sha256_hex("testdir/test.txt" TEST_SUM, strlen("testdir/test.txt" TEST_SUM), want);
  assert_int_equal(strncmp(id, "file-", 5), 0);
  assert_string_equal(id + 5, want);
  assert_int_equal(lh_file_id(TEST_SUM, TEST_SUM, id, &err), 0);
  assert_string_equal(id, TEST_SUM);
  assert_int_equal(lh_file_id("x", "ABC", id, &err), LH_EINVAL);
  assert_int_equal(lh_file_id("", TEST_SUM, id, &err), LH_EINVAL);
  lh_folder_id("testdir", NULL, folder);
  lh_sha256_hex("testdir", 7, want);
  assert_string_equal(folder + 7, want);
  char child[LH_FOLDER_ID_SIZE], cat[200];
  lh_folder_id("sub", folder, child);
  snprintf(cat, sizeof cat, "%ssub", folder);
  lh_sha256_hex(cat, strlen(cat), want);
  assert_string_equal(child + 7, want);
  /* parent of a file: the innermost folder of its key */
  lh_file *f;
  assert_int_equal(lh_file_new("testdir/sub/x.txt", TEST_SUM, &f, &err), 0);
  assert_string_equal(f->parent, child);
  assert_string_equal(f->name, "x.txt");
  assert_string_equal(f->mimetype, "text/plain");
  lh_file_free(f);
  assert_int_equal(lh_file_new("top.pdf", TEST_SUM, &f, &err), 0);
  assert_null(f->parent);
  lh_file_free(f);
}

static void test_json(void **state) {
  (void)state;
  lh_file *f;
  lh_error err = {0};
  assert_int_equal(lh_file_new("testdir/test.txt", TEST_SUM, &f, &err), 0);
  free(f->dataset);
  f->dataset = strdup("demo");
  f->size = 11;
  f->created_at = 1700000000123456LL;
  f->updated_at = 1700000001000000LL;
  free(f->extra);
  f->extra = strdup("{\"title\":\"T\xc3\xa9\"}");
  lh_buf b = LH_BUF_INIT;
  assert_int_equal(lh_file_write_json(f, &b), 0);
  char want[2048];
  snprintf(want, sizeof want,
           "{\"name\":\"test.txt\",\"created_at\":\"2023-11-14T22:13:20.123456Z\","
           "\"updated_at\":\"2023-11-14T22:13:21Z\",\"size\":11,\"store\":\"lakehouse://\","
           "\"key\":\"testdir/test.txt\",\"mimetype\":\"text/plain\",\"id\":\"%s\","
           "\"dataset\":\"demo\",\"checksum\":\"%s\",\"extra\":{\"title\":\"T\xc3\xa9\"},"
           "\"origin\":\"archive\",\"path\":\"testdir/test.txt\",\"parent\":\"%s\"}",
           f->id, TEST_SUM, f->parent);
  assert_string_equal(b.data, want);
  /* round trip; unknown keys go into extra as pydantic collects them */
  lh_file *g;
  assert_int_equal(lh_file_parse_json(b.data, b.len, &g, &err), 0);
  assert_string_equal(g->id, f->id);
  assert_string_equal(g->parent, f->parent);
  assert_int_equal(g->created_at, f->created_at);
  assert_int_equal(g->size, 11);
  lh_buf again = LH_BUF_INIT;
  assert_int_equal(lh_file_write_json(g, &again), 0);
  assert_string_equal(again.data, b.data);
  lh_file_free(g);
  const char *more = "{\"name\":\"a\",\"created_at\":null,\"updated_at\":null,\"size\":1,"
                     "\"key\":\"a\",\"mimetype\":\"text/plain\",\"dataset\":\"d\","
                     "\"checksum\":\"" TEST_SUM "\",\"crawler\":\"x\"}";
  assert_int_equal(lh_file_parse_json(more, strlen(more), &g, &err), 0);
  assert_string_equal(g->extra, "{\"crawler\":\"x\"}");
  char id[LH_FILE_ID_SIZE];
  lh_file_id("a", TEST_SUM, id, NULL);
  assert_string_equal(g->id, id); /* computed when absent */
  assert_null(g->origin);
  lh_file_free(g);
  /* bad input: a message naming the field */
  static const struct {
    const char *json, *message;
  } BAD[] = {
      {"not json", "line 1"},
      {"[1]", "not a JSON object"},
      {"{\"name\":\"a\",\"size\":1,\"key\":\"a\",\"mimetype\":\"m/t\",\"dataset\":\"d\","
       "\"checksum\":\"../../../../../../../../../../../../../../../../../../../../etc\"}",
       "invalid checksum"},
      {"{\"name\":\"a\",\"size\":1,\"key\":\"a\",\"mimetype\":\"m/t\",\"dataset\":\"d\","
       "\"checksum\":\"" TEST_SUM "\",\"id\":\"../evil\"}",
       "invalid file_id"},
      {"{\"name\":\"a\",\"size\":1,\"key\":\"a\",\"mimetype\":\"m/t\",\"dataset\":\"d\","
       "\"checksum\":\"" TEST_SUM "\",\"id\":\"a/b\"}",
       "invalid file_id"},
      {"{\"name\":\"a\",\"size\":-1}", "'size' must be a non-negative integer"},
      {"{\"name\":\"a\",\"created_at\":\"yesterday\"}", "'created_at' must be an ISO 8601"},
      {"{\"name\":1}", "'name' must be a string"},
      {"{\"name\":\"a\",\"size\":1}", "'key' is missing"},
      {"{\"name\":\"a\",\"name\":\"b\"}", "duplicate"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
    lh_error_clear(&err);
    g = NULL;
    int rc = lh_file_parse_json(BAD[i].json, strlen(BAD[i].json), &g, &err);
    assert_true(rc == LH_EPARSE || rc == LH_EINVAL);
    assert_null(g);
    if (!strstr(err.message, BAD[i].message))
      fail_msg("%s: '%s' lacks '%s'", BAD[i].json, err.message, BAD[i].message);
  }
  lh_buf_free(&again);
  lh_buf_free(&b);
  lh_file_free(f);
}

/* ---- storing and reading ------------------------------------------------------------------ */

static int collect(void *ctx, const void *data, size_t len, lh_error *err) {
  (void)err;
  return lh_buf_append(ctx, data, len);
}

static void test_store_read_delete(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "files");
  lh_error err = {0};
  lh_store *src;
  assert_int_equal(lh_store_open(fixtures(), &src, &err), 0);
  /* from a store key, checksum computed */
  lh_archive_source s = lh_archive_source_key(src, "utf.txt");
  lh_archive_store_opts o = {.key = "utf.txt", .extra = "{\"title\": \"Unicode\"}"};
  lh_file *f;
  assert_int_equal(lh_archive_store(ds, &s, &o, &f, &err), 0);
  assert_string_equal(f->checksum, UTF_SUM);
  assert_string_equal(f->mimetype, "text/plain");
  assert_string_equal(f->origin, "archive");
  assert_string_equal(f->dataset, "files");
  assert_string_equal(f->extra, "{\"title\":\"Unicode\"}");
  assert_int_equal(f->size, 19);
  assert_true(f->created_at != LH_TIME_NULL && f->updated_at != LH_TIME_NULL);
  char *dir = dataset_dir(&l, "files");
  assert_true(exists_in(dir, "archive/bb/b1/f0/" UTF_SUM "/blob"));
  char meta[256];
  snprintf(meta, sizeof meta, "archive/bb/b1/f0/" UTF_SUM "/%s.json", f->id);
  assert_true(exists_in(dir, meta));
  lh_time t;
  assert_int_equal(lh_tags_get(ds->tags, LH_TAG_ARCHIVE_UPDATED, &t, &err), 0);
  /* from an fd, checksum given; from a reader with its checksum (the blob exists: not read) */
  char path[8192];
  snprintf(path, sizeof path, "%s/example.pdf", fixtures());
  int fd = open(path, O_RDONLY);
  lh_archive_source sf = lh_archive_source_fd(fd);
  lh_archive_store_opts po = {.key = "docs/example.pdf", .checksum = PDF_SUM};
  lh_file *p;
  assert_int_equal(lh_archive_store(ds, &sf, &po, &p, &err), 0);
  assert_string_equal(p->mimetype, "application/pdf");
  assert_int_equal(p->size, 146568);
  lh_reader *r;
  assert_int_equal(lh_store_open_read(src, "example.pdf", &r, &err), 0);
  lh_archive_source sr = lh_archive_source_reader(r);
  lh_archive_store_opts ro = {.key = "other.pdf", .checksum = PDF_SUM, .origin = "upload"};
  lh_file *o2;
  assert_int_equal(lh_archive_store(ds, &sr, &ro, &o2, &err), 0);
  assert_string_equal(o2->mimetype, "application/pdf"); /* from the archived blob's head */
  assert_string_equal(o2->origin, "upload");
  assert_int_equal(o2->size, 146568);
  lh_file_free(o2);
  lh_archive_store_opts nocheck = {.key = "again.pdf"};
  assert_int_equal(lh_archive_store(ds, &sr, &nocheck, NULL, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "give the checksum"));
  lh_reader_close(r);
  close(fd);
  assert_int_equal(archived_files(ds, PDF_SUM), 2);
  assert_int_equal(archived_files(ds, NULL), 3);
  /* reading */
  lh_file *g;
  assert_int_equal(lh_archive_get_file(ds, UTF_SUM, NULL, &g, &err), 0);
  assert_string_equal(g->id, f->id);
  lh_file_free(g);
  assert_int_equal(lh_archive_get_file(ds, PDF_SUM, p->id, &g, &err), 0);
  assert_string_equal(g->key, "docs/example.pdf");
  lh_file_free(g);
  assert_int_equal(lh_archive_get_file(ds, TEST_SUM, NULL, &g, &err), LH_ENOTFOUND);
  lh_buf got = LH_BUF_INIT;
  assert_int_equal(lh_archive_stream(ds, PDF_SUM, collect, &got, &err), 0);
  size_t len;
  char *want = tu_read_file(path, &len);
  assert_int_equal(got.len, len);
  assert_memory_equal(got.data, want, len);
  free(want);
  /* texts */
  lh_buf_reset(&got);
  assert_int_equal(lh_archive_get_text(ds, UTF_SUM, NULL, &got, &err), LH_ENOTFOUND);
  assert_int_equal(lh_archive_put_text(ds, UTF_SUM, NULL, "hello", 5, &err), 0);
  assert_int_equal(lh_archive_put_text(ds, UTF_SUM, "ocr", "olleh", 5, &err), 0);
  assert_int_equal(lh_archive_get_text(ds, UTF_SUM, "ocr", &got, &err), 0);
  assert_string_equal(got.data, "olleh");
  lh_buf_reset(&got);
  assert_int_equal(lh_archive_get_text(ds, UTF_SUM, NULL, &got, &err), 0);
  assert_string_equal(got.data, "hello"); /* default.txt comes first */
  assert_int_equal(lh_archive_put_text(ds, UTF_SUM, "../x", "a", 1, &err), LH_EINVAL);
  /* validation: a bad checksum, a bad file id, a bad key never reach the store */
  assert_int_equal(lh_archive_get_file(ds, "../" UTF_SUM, NULL, &g, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "invalid checksum"));
  assert_int_equal(lh_archive_get_file(ds, UTF_SUM, "../evil", &g, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "invalid file_id"));
  assert_int_equal(lh_archive_delete(ds, UTF_SUM, "a/b", &err), LH_EINVAL);
  lh_archive_store_opts bad = {.key = "../up.txt"};
  assert_int_equal(lh_archive_store(ds, &s, &bad, NULL, &err), LH_EINVAL);
  lh_archive_store_opts badsum = {.key = "x.txt", .checksum = "ABC"};
  assert_int_equal(lh_archive_store(ds, &s, &badsum, NULL, &err), LH_EINVAL);
  lh_archive_store_opts badextra = {.key = "x.txt", .extra = "[1]"};
  assert_int_equal(lh_archive_store(ds, &s, &badextra, NULL, &err), LH_EINVAL);
  /* put_file: metadata for an existing blob only */
  lh_file *copy;
  assert_int_equal(lh_file_new("copy.txt", UTF_SUM, &copy, &err), 0);
  assert_int_equal(lh_archive_put_file(ds, copy, &err), 0);
  assert_int_equal(archived_files(ds, UTF_SUM), 2);
  lh_file *orphan;
  assert_int_equal(lh_file_new("none.txt", TEST_SUM, &orphan, &err), 0);
  assert_int_equal(lh_archive_put_file(ds, orphan, &err), LH_ENOTFOUND);
  lh_file_free(orphan);
  /* delete: metadata only */
  assert_int_equal(lh_archive_delete(ds, UTF_SUM, copy->id, &err), 0);
  assert_int_equal(lh_archive_delete(ds, UTF_SUM, copy->id, &err), LH_ENOTFOUND);
  assert_true(blob_exists(ds, UTF_SUM));
  lh_file_free(copy);
  lh_buf_free(&got);
  lh_file_free(p);
  lh_file_free(f);
  free(dir);
  lh_store_close(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* A blob is verified while copied: content that changed after it was hashed is refused and
 * leaves neither a blob nor a temporary file. */
static void test_changed_while_archiving(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "changes");
  char *src = tu_tempdir();
  write_str(src, "doc.txt", "first version\n");
  lh_error err = {0};
  lh_store *s;
  assert_int_equal(lh_store_open(src, &s, &err), 0);
  lh__archive *a;
  assert_int_equal(lh__archive_open(ds, &a, &err), 0);
  lh_archive_source from = lh_archive_source_key(s, "doc.txt");
  lh_archive_store_opts o = {.key = "doc.txt"};
  lh__staged sf;
  assert_int_equal(lh__archive_stage(a, &from, &o, false, &sf, &err), 0);
  assert_null(sf.blob);
  assert_null(sf.meta);
  lh__content c = sf.content;
  assert_string_equal(c.mimetype, "text/plain");
  write_str(src, "doc.txt", "second version\n"); /* changed between the two reads */
  assert_int_equal(lh__archive_add(a, &from, &o, &sf, false, NULL, &err), LH_ECONFLICT);
  assert_true(lh__archive_source_failed(a));
  assert_non_null(strstr(err.message, "'doc.txt' changed while archiving"));
  assert_int_equal(lh__archive_finish(a, &err), 0);
  lh__archive_close(a);
  assert_false(blob_exists(ds, c.checksum));
  char *dir = dataset_dir(&l, "changes");
  assert_int_equal(count_files(dir, "*blob*"), 0); /* no temporary file either */
  assert_int_equal(archived_files(ds, NULL), 0);
  /* the same through the public API with a stale checksum */
  lh_archive_store_opts stale = {.key = "doc.txt", .checksum = c.checksum};
  assert_int_equal(lh_archive_store(ds, &from, &stale, NULL, &err), LH_ECONFLICT);
  assert_int_equal(count_files(dir, "*blob*"), 0);
  /* and a blob put from a reader with the right checksum is kept */
  char sum[LH_SHA256_HEX_SIZE];
  int64_t size;
  assert_int_equal(lh_archive_put_blob(ds, &from, NULL, sum, &size, &err), 0);
  assert_int_equal(size, 15);
  assert_true(blob_exists(ds, sum));
  lh_store_close(s);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* A copy staged while hashing is published under its checksum (its source is read once),
 * dropped when the blob is there already, and leaves no temporary file either way. */
static void test_staged_copy(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "staged");
  char *src = tu_tempdir();
  write_str(src, "a.txt", "staged content\n");
  write_str(src, "b.txt", "staged content\n");
  write_str(src, "c.txt", "dropped\n");
  lh_error err = {0};
  lh_store *s;
  assert_int_equal(lh_store_open(src, &s, &err), 0);
  lh__archive *a;
  assert_int_equal(lh__archive_open(ds, &a, &err), 0);
  char *dir = dataset_dir(&l, "staged");
  lh__staged sf;
  lh_archive_source from = lh_archive_source_key(s, "a.txt");
  lh_archive_store_opts o = {.key = "a.txt"};
  assert_int_equal(lh__archive_stage(a, &from, &o, true, &sf, &err), 0);
  assert_non_null(sf.blob);
  assert_non_null(sf.meta);
  assert_string_equal(sf.file->key, "a.txt");
  lh__content c = sf.content;
  assert_int_equal(count_files(dir, "*blob*"), 1); /* the temp files */
  assert_int_equal(count_files(dir, "*.json*"), 1);
  assert_int_equal(count_files(dir, "*.json"), 0);
  tu_rmtree(src); /* the source is not read again */
  assert_int_equal(lh__archive_add(a, &from, &o, &sf, false, NULL, &err), 0);
  assert_true(blob_exists(ds, c.checksum));
  assert_int_equal(count_files(dir, "*blob*"), 1); /* the blob, the temp file gone */
  /* the same content again: the staged copy is dropped, its metadata kept */
  assert_int_equal(mkdir(src, 0755), 0);
  write_str(src, "b.txt", "staged content\n");
  write_str(src, "c.txt", "dropped\n");
  from = lh_archive_source_key(s, "b.txt");
  o.key = "b.txt";
  assert_int_equal(lh__archive_stage(a, &from, &o, true, &sf, &err), 0);
  assert_int_equal(lh__archive_add(a, &from, &o, &sf, false, NULL, &err), 0);
  assert_int_equal(count_files(dir, "*blob*"), 1);
  /* a staged file the caller does not add */
  from = lh_archive_source_key(s, "c.txt");
  o.key = "c.txt";
  assert_int_equal(lh__archive_stage(a, &from, &o, true, &sf, &err), 0);
  c = sf.content;
  lh__staged_drop(&sf);
  assert_int_equal(lh__archive_finish(a, &err), 0);
  lh__archive_close(a);
  assert_int_equal(count_files(dir, "*blob*"), 1);
  assert_int_equal(count_files(dir, "*.json*"), 2); /* a and b, no temp file */
  assert_false(blob_exists(ds, c.checksum));
  assert_int_equal(archived_files(ds, NULL), 2);
  lh_store_close(s);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- crawl -------------------------------------------------------------------------------- */

static void test_crawl_fixtures(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "crawled");
  lh_crawl_opts o = {.make_entities = true};
  lh_op_result r = crawl(ds, fixtures(), &o);
  assert_int_equal(r.done, 5);
  assert_int_equal(r.errors, 0);
  assert_int_equal(r.present, 0);
  assert_non_null(strstr(r.job.data, "\"name\":\"CrawlJob\""));
  assert_non_null(strstr(r.job.data, "\"make_entities\":true,\"existing\":\"skip-path\""));
  assert_non_null(strstr(r.job.data, "\"done\":5,\"errors\":0"));
  char *dir = dataset_dir(&l, "crawled");
  assert_true(exists_in(dir, "archive/bb/b1/f0/"
                             "bbb1f047ff1f0c333560e09cff0c4a052eb87a2998d6d16775a276645877c5b7/"
                             "blob"));
  char archive_dir[4200];
  snprintf(archive_dir, sizeof archive_dir, "%s/archive", dir);
  assert_int_equal(count_files(archive_dir, "*.json"), 5);
  assert_int_equal(archived_files(ds, NULL), 5);
  lh_time t;
  lh_error err = {0};
  assert_int_equal(lh_tags_get(ds->tags, LH_TAG_CRAWL_RUN, &t, &err), 0);
  /* crawled metadata: relative keys, origin crawl, ids from the keys (§12.11 fixed) */
  lh_file *f;
  assert_int_equal(lh_archive_get_file(ds, TEST_SUM, NULL, &f, &err), 0);
  assert_string_equal(f->key, "testdir/test.txt");
  assert_string_equal(f->name, "test.txt");
  assert_string_equal(f->origin, "crawl");
  char id[LH_FILE_ID_SIZE], folder[LH_FOLDER_ID_SIZE];
  lh_file_id("testdir/test.txt", TEST_SUM, id, NULL);
  assert_string_equal(f->id, id);
  lh_folder_id("testdir", NULL, folder);
  assert_string_equal(f->parent, folder);
  lh_file_free(f);
  assert_int_equal(lh_archive_get_file(ds, PDF_SUM, NULL, &f, &err), 0);
  assert_string_equal(f->mimetype, "application/pdf");
  lh_file_free(f);
  /* entities: 5 files and the folder testdir, all of origin crawl */
  counts c = crawled_entities(ds);
  assert_int_equal(c.entities, 6);
  assert_int_equal(c.folders, 1);
  assert_int_equal(c.pages, 1);
  assert_string_equal(c.parent_of_test, folder);
  /* again with skip-path: nothing new */
  lh_buf_free(&r.job);
  r = crawl(ds, fixtures(), &o);
  assert_int_equal(r.done, 0);
  assert_int_equal(r.present, 5);
  assert_int_equal(archived_files(ds, NULL), 5);
  lh_buf_free(&r.job);
  /* skip-checksum: the same; overwrite: all again, into the same metadata files */
  lh_crawl_opts sc = {.existing = LH_EXISTING_SKIP_CHECKSUM};
  r = crawl(ds, fixtures(), &sc);
  assert_int_equal(r.present, 5);
  lh_buf_free(&r.job);
  lh_crawl_opts ow = {.existing = LH_EXISTING_OVERWRITE};
  r = crawl(ds, fixtures(), &ow);
  assert_int_equal(r.done, 5);
  assert_int_equal(archived_files(ds, NULL), 5);
  lh_buf_free(&r.job);
  lh_crawl_existing e;
  assert_int_equal(lh_crawl_existing_parse("skip-checksum", &e, &err), 0);
  assert_int_equal(e, LH_EXISTING_SKIP_CHECKSUM);
  assert_int_equal(lh_crawl_existing_parse("skip", &e, &err), LH_EINVAL);
  /* a source that is no folder; the lake or the dataset itself */
  assert_int_equal(lh_dataset_crawl(ds, "/nonexistent/folder", NULL, NULL, &err), LH_ENOTFOUND);
  assert_int_equal(lh_dataset_crawl(ds, l.dir, NULL, NULL, &err), LH_EINVAL);
  assert_non_null(strstr(err.message, "holds or is inside the dataset crawled"));
  assert_int_equal(lh_dataset_crawl(ds, archive_dir, NULL, NULL, &err), LH_EINVAL);
  free(dir);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* The pages of blob `sum` in the page cache, of *pages. */
static size_t blob_resident(tu_lake *l, const char *ds, const char *sum, size_t *pages) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s/archive/%.2s/%.2s/%.2s/%s/blob", l->dir, ds, sum, sum + 2,
           sum + 4, sum);
  return tu_resident_pages(path, pages);
}

/* Blobs of 64 KiB and more leave the page cache once they are on disk (lh_writer_no_cache):
 * a crawled file read whole and one read twice (larger than the copy buffer), and one stored
 * outside a crawl. */
static void test_blobs_uncached(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "uncached");
  char *src = tu_tempdir(), *other = tu_tempdir();
  const char *files[] = {"data/lakehouse-fixtures/src/example.pdf", /* 147 KB */
                         "data/aleph-fixtures/samples.ijson",       /* 436 KB */
                         "data/wd_persons/statements.pack"};        /* 780 KB */
  char sums[3][LH_SHA256_HEX_SIZE];
  for (int i = 0; i < 3; i++) {
    size_t len;
    char *data = tu_read_file(tu_shared(files[i]), &len);
    assert_true(len > LH_MAGIC_HEAD / 2);
    lh_sha256_hex(data, len, sums[i]);
    write_file(i < 2 ? src : other, strrchr(files[i], '/') + 1, data, len);
    free(data);
  }
  /* an empty archive: crawled files are copied while hashed (read whole, or twice) */
  lh_crawl_opts o = {.make_entities = false};
  lh_op_result r = crawl(ds, src, &o);
  assert_int_equal(r.done, 2);
  lh_buf_free(&r.job);
  /* then one stored outside a crawl, into an archive that is not empty */
  lh_error err = {0};
  lh_store *s;
  assert_int_equal(lh_store_open(other, &s, &err), 0);
  lh_archive_source from = lh_archive_source_key(s, "statements.pack");
  lh_archive_store_opts so = {.key = "statements.pack"};
  assert_int_equal(lh_archive_store(ds, &from, &so, NULL, &err), 0);
  struct statfs sf;
  assert_int_equal(statfs(l.dir, &sf), 0);
  for (int i = 0; i < 3; i++) {
    size_t pages, in = blob_resident(&l, "uncached", sums[i], &pages);
    assert_true(pages >= 36);
    if (sf.f_type != 0x01021994) /* TMPFS_MAGIC: the pages are the file */
      assert_int_equal(in, 0);
    assert_true(blob_exists(ds, sums[i]));
  }
  lh_store_close(s);
  tu_rmtree(src);
  tu_rmtree(other);
  free(src);
  free(other);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

static void test_crawl_filters(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "excluded");
  lh_crawl_opts o = {.make_entities = true, .exclude_glob = "*.pdf"};
  lh_op_result r = crawl(ds, fixtures(), &o);
  assert_int_equal(r.done, 4);
  counts c = crawled_entities(ds);
  assert_int_equal(c.entities, 5); /* 4 files and the folder */
  assert_int_equal(c.folders, 1);
  assert_int_equal(c.pages, 0);
  lh_buf_free(&r.job);
  lh_dataset *only = tu_lake_dataset(&l, "included");
  lh_crawl_opts i = {.glob = "*.pdf"};
  r = crawl(only, fixtures(), &i);
  assert_int_equal(r.done, 1);
  assert_true(blob_exists(only, PDF_SUM));
  lh_buf_free(&r.job);
  /* fnmatch's '*' crosses folders, the glob's does not; prefixes */
  lh_dataset *more = tu_lake_dataset(&l, "prefixed");
  lh_crawl_opts ex = {.exclude_glob = "*.txt"};
  r = crawl(more, fixtures(), &ex);
  assert_int_equal(r.done, 3); /* testdir/test.txt excluded too */
  lh_buf_free(&r.job);
  lh_crawl_opts deep = {.glob = "**/*.txt", .existing = LH_EXISTING_OVERWRITE};
  r = crawl(more, fixtures(), &deep);
  assert_int_equal(r.done, 2);
  lh_buf_free(&r.job);
  lh_crawl_opts pre = {.prefix = "testdir", .existing = LH_EXISTING_OVERWRITE};
  r = crawl(more, fixtures(), &pre);
  assert_int_equal(r.done, 1);
  lh_buf_free(&r.job);
  lh_crawl_opts expre = {.exclude_prefix = "testdir/", .existing = LH_EXISTING_OVERWRITE};
  r = crawl(more, fixtures(), &expre);
  assert_int_equal(r.done, 4);
  lh_buf_free(&r.job);
  lh_dataset_close(more);
  lh_dataset_close(only);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* The same content under two paths: one blob, a metadata file each, even with the same name
 * in two folders (the Python project collides there, §12.11). */
static void test_crawl_duplicates(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "dupes");
  char *src = tu_tempdir();
  write_str(src, "a/same.txt", "identical content\n");
  write_str(src, "b/same.txt", "identical content\n");
  write_str(src, "b/other.txt", "identical content\n");
  lh_crawl_opts o = {.make_entities = true};
  lh_op_result r = crawl(ds, src, &o);
  assert_int_equal(r.done, 3);
  char sum[LH_SHA256_HEX_SIZE];
  lh_sha256_hex("identical content\n", 18, sum);
  assert_int_equal(archived_files(ds, sum), 3);
  char *dir = dataset_dir(&l, "dupes");
  assert_int_equal(count_files(dir, "blob"), 1);
  counts c = crawled_entities(ds);
  assert_int_equal(c.entities, 5); /* 3 files, folders a and b */
  lh_buf_free(&r.job);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

static void capture(void *ctx, lh_log_level level, const char *message) {
  lh_buf *b = ctx;
  lh_buf_printf(b, "%d %s\n", (int)level, message);
}

/* Metadata the Python project wrote for a crawled file (its id from the base name, §12.11)
 * is recognised by skip-path: the file is not archived a second time under our id. */
static void test_crawl_python_metadata(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "legacy");
  lh_error err = {0};
  lh_store *src;
  assert_int_equal(lh_store_open(fixtures(), &src, &err), 0);
  lh_archive_source s = lh_archive_source_key(src, "testdir/test.txt");
  assert_int_equal(lh_archive_put_blob(ds, &s, TEST_SUM, NULL, NULL, &err), 0);
  lh_file *f;
  assert_int_equal(lh_file_new("testdir/test.txt", TEST_SUM, &f, &err), 0);
  char python_id[LH_FILE_ID_SIZE];
  assert_int_equal(lh_file_id("test.txt", TEST_SUM, python_id, &err), 0);
  free(f->id);
  f->id = strdup(python_id);
  assert_int_equal(lh_archive_put_file(ds, f, &err), 0);
  lh_op_result r = crawl(ds, fixtures(), NULL);
  assert_int_equal(r.present, 1);
  assert_int_equal(r.done, 4);
  assert_int_equal(archived_files(ds, TEST_SUM), 1);
  lh_buf_free(&r.job);
  lh_file_free(f);
  lh_store_close(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* Bad files are warnings naming them and counted errors; the good ones are archived. */
static void test_crawl_bad_input(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "bad");
  char *src = tu_tempdir();
  write_str(src, "good.txt", "good\n");
  write_str(src, "empty.txt", "");
  write_str(src, "line\nbreak.txt", "newline in the name\n");
  write_str(src, "latin\xe9.txt", "not UTF-8 in the name\n");
  write_str(src, "sub/fine.txt", "fine\n");
  char path[4096];
  snprintf(path, sizeof path, "%s/fifo", src);
  assert_int_equal(mkfifo(path, 0644), 0); /* special: skipped with a note */
  snprintf(path, sizeof path, "%s/sub/loop", src);
  assert_int_equal(symlink("..", path), 0); /* a link to a folder: not followed */
  snprintf(path, sizeof path, "%s/locked.txt", src);
  write_str(src, "locked.txt", "unreadable\n");
  chmod(path, 0);
  int unreadable = access(path, R_OK) != 0; /* root reads it anyway */
  lh_crawl_opts o = {.make_entities = true};
  lh_buf log = LH_BUF_INIT;
  lh_log_set_sink(capture, &log);
  lh_op_result r = crawl(ds, src, &o);
  lh_log_set_sink(NULL, NULL);
  static const char *const WARNINGS[] = {
      "30 bad: crawl: skipping 'empty.txt': the file is empty",
      "30 bad: crawl: skipping 'line\\x0abreak.txt': the name holds a control character",
      "30 bad: crawl: skipping 'latin\\xe9.txt': the name is not valid UTF-8",
      "/fifo': not a regular file",
      "/sub/loop': a link to a folder",
  };
  for (size_t i = 0; i < sizeof WARNINGS / sizeof *WARNINGS; i++)
    if (!strstr(log.data, WARNINGS[i]))
      fail_msg("no '%s' in the log:\n%s", WARNINGS[i], log.data);
  if (unreadable && !strstr(log.data, "skipping 'locked.txt': "))
    fail_msg("no warning about locked.txt in:\n%s", log.data);
  lh_buf_free(&log);
  assert_int_equal(r.done, 2 + !unreadable);
  assert_int_equal(r.errors, 3 + unreadable);
  assert_non_null(strstr(r.job.data, "\"errors\":"));
  counts c = crawled_entities(ds);
  assert_int_equal(c.entities, 3 + !unreadable); /* good, fine, the folder sub */
  lh_buf_free(&r.job);
  chmod(path, 0644);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* A crawl killed after a file was archived, run again with skip-path: the rest is archived,
 * nothing is written twice, and every file has its entity. */
static void test_crawl_resume(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "resumed");
  char *src = tu_tempdir();
  write_str(src, "a.txt", "first\n");
  write_str(src, "b.txt", "second\n");
  /* a large file between them (read by a worker thread while a and b are archived) */
  size_t big = (size_t)LH_ARCHIVE_LEASE_COPY_MAX + 4096;
  char *data = malloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 2654435761u >> 24);
  write_file(src, "c.bin", data, big);
  free(data);
  write_str(src, "d.txt", "fourth\n");
  write_str(src, "e.txt", "fifth\n");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("LAKEHOUSE_TEST_CRASH", "crawl:archived:d.txt", 1);
    execl(tu_built("store_worker"), "store_worker", "crawl", l.dir, "resumed", src, (char *)NULL);
    _exit(127);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  /* the batches ended before d (by time, or while waiting for c) are kept, d's is not */
  long long kept = archived_files(ds, NULL);
  assert_true(kept <= 3);
  lh_crawl_opts o = {.make_entities = true};
  lh_op_result r = crawl(ds, src, &o);
  assert_int_equal(r.present, kept);
  assert_int_equal(r.done, 5 - kept);
  assert_int_equal(archived_files(ds, NULL), 5);
  char *dir = dataset_dir(&l, "resumed");
  assert_int_equal(count_files(dir, "blob"), 5);
  counts c = crawled_entities(ds);
  assert_int_equal(c.entities, 5); /* the kept ones from the killed run's journal rows */
  lh_buf_free(&r.job);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* ---- gc ----------------------------------------------------------------------------------- */

static void store_text(lh_dataset *ds, const char *key, const char *text, lh_file **out) {
  char *dir = tu_tempdir();
  write_str(dir, "f", text);
  lh_store *s;
  lh_error err = {0};
  assert_int_equal(lh_store_open(dir, &s, &err), 0);
  lh_archive_source src = lh_archive_source_key(s, "f");
  lh_archive_store_opts o = {.key = key};
  if (lh_archive_store(ds, &src, &o, out, &err))
    fail_msg("store %s: %s", key, err.message);
  lh_store_close(s);
  tu_rmtree(dir);
  free(dir);
}

static void test_gc(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "gc");
  lh_file *keep, *drop, *twice1, *twice2;
  store_text(ds, "keep.txt", "keep me\n", &keep);
  store_text(ds, "drop.txt", "drop me\n", &drop);
  store_text(ds, "one.txt", "shared\n", &twice1);
  store_text(ds, "two.txt", "shared\n", &twice2);
  lh_error err = {0};
  assert_int_equal(lh_archive_put_text(ds, drop->checksum, "ocr", "text", 4, &err), 0);
  assert_int_equal(lh_archive_delete(ds, drop->checksum, drop->id, &err), 0);
  assert_int_equal(lh_archive_delete(ds, twice1->checksum, twice1->id, &err), 0);
  /* a stale temporary file of a dead writer, and a recent one of a live copy */
  char *dir = dataset_dir(&l, "gc");
  char old[4096], fresh[4096];
  snprintf(old, sizeof old, "%s/archive/aa/.blob.lh-tmp-old", dir);
  snprintf(fresh, sizeof fresh, "%s/archive/aa/.blob.lh-tmp-new", dir);
  write_str(dir, "archive/aa/.blob.lh-tmp-old", "x");
  write_str(dir, "archive/aa/.blob.lh-tmp-new", "y");
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  utimensat(AT_FDCWD, old, times, 0);
  lh_archive_gc_result res;
  assert_int_equal(lh_archive_gc(ds, true, &res, &err), 0);
  assert_int_equal(res.checksums, 3);
  assert_int_equal(res.blobs, 1);
  assert_int_equal(res.bytes, 8);
  assert_int_equal(res.texts, 1);
  assert_true(blob_exists(ds, drop->checksum)); /* a dry run deletes nothing */
  assert_true(access(old, F_OK) == 0);
  assert_int_equal(lh_archive_gc(ds, false, &res, &err), 0);
  assert_int_equal(res.blobs, 1);
  assert_int_equal(res.texts, 1);
  assert_int_equal(res.temp_files, 1);
  assert_false(blob_exists(ds, drop->checksum));
  assert_true(blob_exists(ds, keep->checksum));
  assert_true(blob_exists(ds, twice2->checksum));
  lh_buf t = LH_BUF_INIT;
  assert_int_equal(lh_archive_get_text(ds, drop->checksum, NULL, &t, &err), LH_ENOTFOUND);
  assert_true(access(old, F_OK) != 0);
  assert_true(access(fresh, F_OK) == 0);
  assert_int_equal(lh_archive_gc(ds, false, &res, &err), 0);
  assert_int_equal(res.blobs, 0);
  lh_file_free(keep);
  lh_file_free(drop);
  lh_file_free(twice1);
  lh_file_free(twice2);
  free(dir);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* gc racing with stores of content whose metadata comes and goes: a blob is never missing
 * while a metadata file refers to it. */
typedef struct race {
  lh_dataset *ds;
  lh_store *src;
  volatile int done;
  int stores, gcs, deleted, failures;
  char message[2 * LH_ERROR_MAX];
} race;

/* gc again and again until *done: its runs, the blobs it deleted added to *deleted. */
static int gc_until(lh_dataset *ds, volatile int *done, uint64_t *deleted) {
  int runs = 0;
  lh_error err = {0};
  while (!*done) {
    lh_archive_gc_result res;
    if (lh_archive_gc(ds, false, &res, &err))
      fail_msg("gc: %s", err.message);
    *deleted += res.blobs;
    runs++;
    /* a pause between runs: back to back, gc would keep the writer waiting for the fence */
    struct timespec pause = {0, 3000000};
    nanosleep(&pause, NULL);
  }
  return runs;
}

static void *storer(void *arg) {
  race *r = arg;
  lh_error err = {0};
  for (int i = 0; i < 40 && !r->failures; i++) {
    char key[32];
    snprintf(key, sizeof key, "k%d.txt", i % 3);
    lh_archive_source src = lh_archive_source_key(r->src, key);
    lh_archive_store_opts o = {.key = key};
    lh_file *f;
    if (lh_archive_store(r->ds, &src, &o, &f, &err)) {
      snprintf(r->message, sizeof r->message, "store: %s", err.message);
      r->failures++;
      break;
    }
    r->stores++;
    bool exists = false;
    lh_archive_exists(r->ds, f->checksum, &exists, &err);
    if (!exists) {
      snprintf(r->message, sizeof r->message, "a referenced blob is gone: %s", f->checksum);
      r->failures++;
    }
    lh_archive_delete(r->ds, f->checksum, f->id, &err);
    lh_file_free(f);
  }
  r->done = 1;
  return NULL;
}

static void test_gc_concurrent(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  race r = {0};
  r.ds = tu_lake_dataset(&l, "race");
  lh_dataset *gc_ds = tu_lake_dataset(&l, "race");
  char *src = tu_tempdir();
  for (int i = 0; i < 3; i++) {
    char key[32], text[32];
    snprintf(key, sizeof key, "k%d.txt", i);
    snprintf(text, sizeof text, "content %d\n", i);
    write_str(src, key, text);
  }
  lh_error err = {0};
  assert_int_equal(lh_store_open(src, &r.src, &err), 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, storer, &r), 0);
  uint64_t deleted = 0;
  r.gcs = gc_until(gc_ds, &r.done, &deleted);
  pthread_join(t, NULL);
  if (r.failures)
    fail_msg("%s", r.message);
  assert_int_equal(r.stores, 40);
  assert_true(r.gcs > 1);
  print_message("gc race: %d stores, %d gc runs deleted %llu blobs\n", r.stores, r.gcs,
                (unsigned long long)deleted);
  lh_store_close(r.src);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(gc_ds);
  lh_dataset_close(r.ds);
  tu_lake_close(&l);
}

/* A batch's end runs on the committer thread: while its flush to disk is held, the session
 * goes on archiving, and the held batch's metadata is not published before that flush. The
 * lease markers are written without a single flush. */
static void test_batch_committed_aside(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "aside");
  char *src = tu_tempdir();
  enum { FILES = 3000 };
  write_numbered(src, FILES, 7, 1);
  lh_error err = {0};
  lh_store *s;
  assert_int_equal(lh_store_open(src, &s, &err), 0);
  lh__archive *a;
  assert_int_equal(lh__archive_open(ds, &a, &err), 0);
  char *dir = dataset_dir(&l, "aside");
  __atomic_store_n(&marker_fsyncs, 0, __ATOMIC_RELAXED);
  sync_hold_set(true);
  int added = 0, held_at = -1;
  long long published = -1;
  for (int i = 0; i < FILES && (held_at < 0 || i < held_at + 5); i++) {
    char key[32];
    snprintf(key, sizeof key, "d%d/f%d.txt", i % 7, i);
    lh_archive_source from = lh_archive_source_key(s, key);
    lh_archive_store_opts o = {.key = key};
    if (lh__archive_add(a, &from, &o, NULL, false, NULL, &err))
      fail_msg("add %s: %s", key, err.message);
    added++;
    if (held_at < 0 && sync_is_held()) { /* a batch's flush started, and is held */
      held_at = i;
      published = count_files(dir, "file-*.json");
    }
  }
  /* five more files archived while the flush was held (the adds did not wait for it) */
  assert_false(sync_expired);
  assert_true(held_at >= 0);
  assert_int_equal(added, held_at + 5);
  assert_true(sync_is_held());
  /* nothing of the held batch is published: fewer metadata files than files added before */
  assert_true(published < held_at + 1);
  assert_int_equal(count_files(dir, "file-*.json"), published);
  sync_hold_set(false);
  assert_int_equal(lh__archive_finish(a, &err), 0);
  lh__archive_close(a);
  assert_int_equal(count_files(dir, "file-*.json"), added);
  assert_int_equal(count_files(dir, "*lh-tmp*"), 0);
  assert_int_equal(archived_files(ds, NULL), added);
  /* every lease is gone, and none cost a flush */
  char markers[4200];
  snprintf(markers, sizeof markers, "%s/" LH_PATH_LOCK_APPENDS, dir);
  assert_int_equal(count_files(markers, "*"), 0);
  assert_int_equal(__atomic_load_n(&marker_fsyncs, __ATOMIC_RELAXED), 0);
  print_message("batch held after %d files, %lld metadata files published then\n", held_at + 1,
                published);
  lh_store_close(s);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* A batch whose commit fails on the committer thread: the session hears of it at its next
 * batch end (here lh__archive_finish), with the path that failed; nothing is lost silently. */
static void test_batch_commit_fails(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "fails");
  char *src = tu_tempdir();
  enum { FILES = 1200 };
  write_numbered(src, FILES, 0, 1);
  lh_error err = {0};
  lh_store *s;
  assert_int_equal(lh_store_open(src, &s, &err), 0);
  lh__archive *a;
  assert_int_equal(lh__archive_open(ds, &a, &err), 0);
  char *dir = dataset_dir(&l, "fails");
  char first[LH_SHA256_HEX_SIZE] = "";
  sync_hold_set(true);
  int held_at = -1;
  for (int i = 0; i < FILES && held_at < 0; i++) {
    char key[32];
    snprintf(key, sizeof key, "f%d.txt", i);
    lh_archive_source from = lh_archive_source_key(s, key);
    lh_archive_store_opts o = {.key = key};
    lh_file *f = NULL;
    if (lh__archive_add(a, &from, &o, NULL, false, &f, &err))
      fail_msg("add %s: %s", key, err.message);
    if (i == 0)
      snprintf(first, sizeof first, "%s", f->checksum);
    lh_file_free(f);
    if (sync_is_held())
      held_at = i;
  }
  assert_true(held_at >= 0);
  /* the first file's folder becomes a plain file: its metadata cannot be written */
  char *prefix = lh_path_archive_prefix(first, &err);
  assert_non_null(prefix);
  char folder[4400], cmd[9000];
  snprintf(folder, sizeof folder, "%s/%s", dir, prefix);
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && touch '%s'", folder, folder);
  assert_int_equal(system(cmd), 0);
  sync_hold_set(false);
  int rc = lh__archive_finish(a, &err);
  assert_int_not_equal(rc, 0);
  assert_non_null(strstr(err.message, first));
  lh__archive_close(a);
  assert_false(sync_expired);
  assert_true(count_files(dir, "file-*.json") < held_at + 1);
  free(prefix);
  lh_store_close(s);
  free(dir);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

/* gc running again and again beside a crawl of several batches (each committed beside the
 * next): no blob a metadata file refers to is ever deleted. */
typedef struct crawl_race {
  lh_dataset *ds;
  const char *src;
  volatile int done;
  int rc;
  lh_op_result r;
  char message[LH_ERROR_MAX];
} crawl_race;

static void *crawler(void *arg) {
  crawl_race *c = arg;
  lh_error err = {0};
  lh_crawl_opts o = {0};
  c->rc = lh_dataset_crawl(c->ds, c->src, &o, &c->r, &err);
  if (c->rc)
    snprintf(c->message, sizeof c->message, "%s", err.message);
  c->done = 1;
  return NULL;
}

typedef struct blob_check {
  lh_dataset *ds;
  int files, missing;
} blob_check;

static int check_blob(void *ctx, const lh_file *f, lh_error *err) {
  (void)err;
  blob_check *b = ctx;
  b->files++;
  b->missing += !blob_exists(b->ds, f->checksum);
  return 0;
}

static void test_gc_beside_crawl(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  crawl_race c = {0};
  c.ds = tu_lake_dataset(&l, "gcrawl");
  lh_dataset *gc_ds = tu_lake_dataset(&l, "gcrawl");
  char *src = tu_tempdir();
  enum { FILES = 2500 };
  write_numbered(src, FILES, 5, 5); /* 500 contents, each under five paths */
  c.src = src;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, crawler, &c), 0);
  uint64_t deleted = 0;
  int gcs = gc_until(gc_ds, &c.done, &deleted);
  lh_error err = {0};
  pthread_join(t, NULL);
  if (c.rc)
    fail_msg("crawl: %s", c.message);
  assert_int_equal(c.r.done, FILES);
  lh_buf_free(&c.r.job);
  blob_check b = {gc_ds, 0, 0};
  assert_int_equal(lh_archive_files(gc_ds, NULL, check_blob, &b, &err), 0);
  assert_int_equal(b.files, FILES);
  assert_int_equal(b.missing, 0);
  assert_int_equal(deleted, 0); /* nothing was ever unreferenced */
  print_message("gc beside a crawl: %d gc runs, %d files\n", gcs, b.files);
  tu_rmtree(src);
  free(src);
  lh_dataset_close(gc_ds);
  lh_dataset_close(c.ds);
  tu_lake_close(&l);
}

/* ---- download ----------------------------------------------------------------------------- */

static void test_download(void **state) {
  (void)state;
  tu_lake l;
  tu_lake_open(&l);
  lh_dataset *ds = tu_lake_dataset(&l, "down");
  lh_error err = {0};
  char *target = tu_tempdir();
  lh_op_result r = {0};
  assert_int_equal(lh_dataset_download_archive(ds, target, false, &r, &err), LH_ENOTFOUND);
  assert_non_null(strstr(err.message, "exports/documents.csv does not exist"));
  lh_crawl_opts o = {.make_entities = true};
  r = crawl(ds, fixtures(), &o);
  lh_buf_free(&r.job);
  memset(&r, 0, sizeof r);
  assert_int_equal(lh_dataset_export(ds, LH_EXPORT_DOCUMENTS, false, &r, &err), 0);
  lh_buf_free(&r.job);
  memset(&r, 0, sizeof r);
  if (lh_dataset_download_archive(ds, target, false, &r, &err))
    fail_msg("download: %s", err.message);
  assert_int_equal(r.done, 5);
  assert_int_equal(r.present, 0);
  assert_non_null(strstr(r.job.data, "\"name\":\"DownloadArchiveJob\""));
  assert_non_null(strstr(r.job.data, "\"skipped\":0"));
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "diff -r '%s' '%s' >/dev/null 2>&1; echo $?", fixtures(), target);
  assert_int_equal(tu_shell_number(cmd), 0); /* byte for byte */
  lh_buf_free(&r.job);
  /* up to date: skipped; forced: every file is there already */
  memset(&r, 0, sizeof r);
  assert_int_equal(lh_dataset_download_archive(ds, target, false, &r, &err), 0);
  assert_true(r.skipped);
  memset(&r, 0, sizeof r);
  assert_int_equal(lh_dataset_download_archive(ds, target, true, &r, &err), 0);
  assert_int_equal(r.done, 0);
  assert_int_equal(r.present, 5);
  assert_non_null(strstr(r.job.data, "\"skipped\":5"));
  lh_buf_free(&r.job);
  tu_rmtree(target);
  free(target);
  lh_dataset_close(ds);
  tu_lake_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mime),
      cmocka_unit_test(test_ids),
      cmocka_unit_test(test_json),
      cmocka_unit_test(test_store_read_delete),
      cmocka_unit_test(test_changed_while_archiving),
      cmocka_unit_test(test_staged_copy),
      cmocka_unit_test(test_mime_signatures),
      cmocka_unit_test(test_crawl_fixtures),
      cmocka_unit_test(test_blobs_uncached),
      cmocka_unit_test(test_crawl_filters),
      cmocka_unit_test(test_crawl_duplicates),
      cmocka_unit_test(test_crawl_python_metadata),
      cmocka_unit_test(test_crawl_bad_input),
      cmocka_unit_test(test_crawl_resume),
      cmocka_unit_test(test_gc),
      cmocka_unit_test(test_gc_concurrent),
      cmocka_unit_test(test_batch_committed_aside),
      cmocka_unit_test(test_batch_commit_fails),
      cmocka_unit_test(test_gc_beside_crawl),
      cmocka_unit_test(test_download),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
