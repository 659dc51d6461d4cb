/* Path and tag conventions of the lakehouse layout (inventory §5.1, §5.2). */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conventions.h"
#include "lakehouse/validate.h"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *out = NULL;
  if (vasprintf(&out, f, ap) < 0)
    out = NULL;
  va_end(ap);
  return out;
}

char *lh_path_version(const char *name, const char *ts) {
  char now[LH_TS_SIZE];
  if (!ts) {
    lh_time_format_ts(lh_time_now(), now);
    ts = now;
  }
  return fmt("versions/%.4s/%.2s/%s/%s", ts, ts + 4, ts, name);
}

char *lh_path_tag(const char *tenant, const char *key) {
  return fmt("tags/%s/%s", tenant && *tenant ? tenant : LH_TENANT, key);
}

char *lh_path_archive_prefix(const char *c, lh_error *err) {
  if (lh_validate_checksum(c, err))
    return NULL;
  return fmt("archive/%.2s/%.2s/%.2s/%s", c, c + 2, c + 4, c);
}

char *lh_path_archive_blob(const char *c, lh_error *err) {
  if (lh_validate_checksum(c, err))
    return NULL;
  return fmt("archive/%.2s/%.2s/%.2s/%s/blob", c, c + 2, c + 4, c);
}

char *lh_path_archive_meta(const char *c, const char *file_id, lh_error *err) {
  if (lh_validate_checksum(c, err) || lh_validate_file_id(file_id, err))
    return NULL;
  return fmt("archive/%.2s/%.2s/%.2s/%s/%s.json", c, c + 2, c + 4, c, file_id);
}

char *lh_path_archive_txt(const char *c, const char *origin, lh_error *err) {
  if (lh_validate_checksum(c, err) || lh_validate_origin(origin, err))
    return NULL;
  return fmt("archive/%.2s/%.2s/%.2s/%s/%s.txt", c, c + 2, c + 4, c, origin);
}

char *lh_path_entities_json(const char *suffix) {
  return suffix && *suffix ? fmt("%s.%s", LH_PATH_ENTITIES_JSON, suffix)
                           : strdup(LH_PATH_ENTITIES_JSON);
}

char *lh_path_exports_statements(const char *suffix) {
  return suffix && *suffix ? fmt("%s.%s", LH_PATH_EXPORTS_STATEMENTS, suffix)
                           : strdup(LH_PATH_EXPORTS_STATEMENTS);
}

char *lh_path_documents_diff(lh_time ts) {
  char t[LH_TS_SIZE];
  lh_time_format_ts(ts, t);
  return fmt("%s/%s.diff.csv", LH_PATH_DIFFS_DOCUMENTS, t);
}

char *lh_path_entities_diff(lh_time ts, const char *suffix) {
  char t[LH_TS_SIZE];
  lh_time_format_ts(ts, t);
  return suffix && *suffix ? fmt("%s/%s.delta.json.%s", LH_PATH_DIFFS_ENTITIES, t, suffix)
                           : fmt("%s/%s.delta.json", LH_PATH_DIFFS_ENTITIES, t);
}

char *lh_path_job_prefix(const char *name) {
  return fmt("jobs/runs/%s", name);
}

char *lh_path_job_run(const char *name, const char *run_id) {
  char id[LH_UUID_SIZE];
  if (!run_id) {
    lh_uuid7(id);
    run_id = id;
  }
  return fmt("jobs/runs/%s/%s.json", name, run_id);
}

char *lh_path_lock_append(const char *id) {
  return fmt("%s/%s", LH_PATH_LOCK_APPENDS, id);
}

char *lh_path_lock_read(const char *id) {
  return fmt("%s/%s", LH_PATH_LOCK_READS, id);
}

static char *partition_tag(const char *shard, const char *bucket, const char *origin,
                           const char *what, lh_error *err) {
  if (lh_validate_origin(origin, err))
    return NULL;
  return fmt("statements/%s/%s/%s/%s", shard, bucket, origin, what);
}

char *lh_tag_partition_updated(const char *shard, const char *bucket, const char *origin,
                               lh_error *err) {
  return partition_tag(shard, bucket, origin, "last_updated", err);
}

char *lh_tag_partition_optimized(const char *shard, const char *bucket, const char *origin,
                                 lh_error *err) {
  return partition_tag(shard, bucket, origin, "last_optimized", err);
}

int lh_shard_hex_width(int n) {
  if (n <= 1)
    return 1;
  unsigned v = (unsigned)(n - 1);
  int bits = 0;
  while (v) {
    bits++;
    v >>= 1;
  }
  int w = (bits + 3) / 4;
  return w < 1 ? 1 : w;
}

void lh_entity_shard_digest(const unsigned char d[20], int n, char out[LH_SHARD_SIZE]) {
  if (n <= 1) {
    out[0] = '0';
    out[1] = '\0';
    return;
  }
  if (n > LH_SHARDS_MAX)
    n = LH_SHARDS_MAX;
  uint32_t v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
  uint32_t shard = v % (uint32_t)n;
  int w = lh_shard_hex_width(n); /* at most 4 for LH_SHARDS_MAX */
  assert(w > 0 && w < LH_SHARD_SIZE);
  for (int i = w - 1; i >= 0; i--, shard >>= 4)
    out[i] = "0123456789abcdef"[shard & 15];
  out[w] = '\0';
}

void lh_entity_shard(const char *entity_id, size_t len, int n, char out[LH_SHARD_SIZE]) {
  unsigned char d[20] = {0};
  if (n > 1)
    lh_sha1(entity_id, len, d);
  lh_entity_shard_digest(d, n, out);
}
