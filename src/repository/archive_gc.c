/* Archive garbage collection: the blobs (and texts) of checksums that no metadata file refers
 * to any more, deleted under the dataset's exclusive write fence. Every writer publishes a
 * blob and its metadata inside the shared side (repository/archive_internal.h), so what gc
 * sees under the fence is a finished state: a blob without metadata is garbage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/conventions.h"
#include "lakehouse/log.h"
#include "repository/archive_internal.h"
#include "storage/fence.h"

/* Temporary files of writers that died: left alone for a day (a copy in flight keeps its
 * file's modification time fresh). */
#define TEMP_MAX_AGE_US (24LL * 3600 * 1000000)

/* "archive/ab/cd/ef/" + 64 hex + NUL */
#define FOLDER_SIZE (sizeof LH_PATH_ARCHIVE + 9 + 64 + 1)

typedef struct folder {
  char prefix[FOLDER_SIZE]; /* "" before the first */
  bool blob, json;
  char **texts;
  size_t ntexts, cap;
} folder;

typedef struct gc {
  lh_dataset *ds;
  bool dry_run;
  lh_archive_gc_result *res;
  folder cur;
  lh_error *err;
} gc;

static bool is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return true;
}

/* The checksum folder of key and the file's name in it; false for keys outside the layout,
 * which gc leaves alone. */
static bool split_key(const char *key, char prefix[FOLDER_SIZE], const char **leaf) {
  const size_t base = sizeof LH_PATH_ARCHIVE; /* "archive/" */
  if (strncmp(key, LH_PATH_ARCHIVE "/", base) != 0 || strlen(key) < base + 9 + 64 + 2)
    return false;
  const char *p = key + base, *c = p + 9;
  for (int i = 0; i < 3; i++)
    if (!is_hex(p + 3 * i, 2) || p[3 * i + 2] != '/' || memcmp(p + 3 * i, c + 2 * i, 2) != 0)
      return false;
  if (!is_hex(c, 64) || c[64] != '/' || strchr(c + 65, '/'))
    return false;
  memcpy(prefix, key, base + 9 + 64);
  prefix[base + 9 + 64] = '\0';
  *leaf = c + 65;
  return true;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n > k && strcmp(s + n - k, suffix) == 0;
}

static int delete_key(gc *g, const char *key) {
  if (g->dry_run)
    return 0;
  int rc = lh_store_delete(g->ds->store, key, g->err);
  if (rc == LH_ENOTFOUND) { /* gone meanwhile (another gc): fine */
    lh_error_clear(g->err);
    return 0;
  }
  return rc;
}

/* Decide about the folder that was just walked: garbage when no metadata is in it. */
static int settle(gc *g) {
  folder *f = &g->cur;
  if (!f->prefix[0])
    return 0;
  g->res->checksums++;
  int rc = 0;
  if (!f->json && f->blob) {
    char key[FOLDER_SIZE + 8];
    snprintf(key, sizeof key, "%s/blob", f->prefix);
    lh_store_info info;
    int64_t size = lh_store_stat(g->ds->store, key, &info, NULL) == 0 ? info.size : 0;
    if ((rc = delete_key(g, key)) == 0) {
      g->res->blobs++;
      g->res->bytes += size;
      lh_log_debug("%s: gc: %s (%lld bytes)", g->ds->name, key, (long long)size);
    }
  }
  for (size_t i = 0; i < f->ntexts && !rc && !f->json; i++)
    if ((rc = delete_key(g, f->texts[i])) == 0)
      g->res->texts++;
  for (size_t i = 0; i < f->ntexts; i++)
    free(f->texts[i]);
  f->ntexts = 0;
  f->blob = f->json = false;
  f->prefix[0] = '\0';
  return rc;
}

static int visit(const char *key, void *ctx) {
  gc *g = ctx;
  char prefix[FOLDER_SIZE];
  const char *leaf;
  if (!split_key(key, prefix, &leaf))
    return 0;
  int rc = 0;
  if (strcmp(prefix, g->cur.prefix) != 0) { /* keys come in order: the last one is complete */
    if ((rc = settle(g)) != 0)
      return rc;
    memcpy(g->cur.prefix, prefix, sizeof prefix);
  }
  folder *f = &g->cur;
  if (strcmp(leaf, "blob") == 0) {
    f->blob = true;
  } else if (ends_with(leaf, ".json")) {
    f->json = true;
  } else if (ends_with(leaf, ".txt") && !f->json) {
    if (LH_ARRAY_RESERVE(f->texts, f->cap, f->ntexts + 1, 4) ||
        !(f->texts[f->ntexts] = strdup(key)))
      return lh_error_nomem(g->err);
    f->ntexts++;
  }
  return 0;
}

int lh_archive_gc(lh_dataset *ds, bool dry_run, lh_archive_gc_result *res, lh_error *err) {
  lh_archive_gc_result local;
  if (!res)
    res = &local;
  memset(res, 0, sizeof *res);
  lh_fence *fence = NULL;
  int rc = 0;
  if (!dry_run) {
    lh_fence_opts fo;
    lh_fence_opts_from_settings(&fo, ds->settings, "archive-gc");
    if ((rc = lh_fence_exclusive(ds->store, &fo, &fence, err)) != 0)
      return lh_error_prefix(err, rc, "archive gc");
  }
  gc g = {ds, dry_run, res, {{0}, false, false, NULL, 0, 0}, err};
  rc = lh_store_iterate(ds->store, LH_PATH_ARCHIVE, NULL, visit, &g, err);
  rc = rc ? rc : settle(&g);
  for (size_t i = 0; i < g.cur.ntexts; i++)
    free(g.cur.texts[i]);
  free(g.cur.texts);
  if (!rc && !dry_run)
    rc = lh_store_sweep_temp(ds->store, LH_PATH_ARCHIVE, lh_time_now() - TEMP_MAX_AGE_US,
                             &res->temp_files, NULL, err);
  lh_fence_release(fence);
  if (!rc)
    lh_log_info("%s: archive gc%s: %llu of %llu checksums unreferenced, %lld bytes", ds->name,
                dry_run ? " (dry run)" : "", (unsigned long long)res->blobs,
                (unsigned long long)res->checksums, (long long)res->bytes);
  return rc;
}
