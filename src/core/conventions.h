/* The on-disk layout, tag keys and shard rule of a lakehouse dataset (inventory §5.1, §5.2).
 * These are a public contract shared with the Python project: keep them byte-for-byte.
 * Every function returning char * returns a new string the caller frees (NULL on invalid
 * input, with err set, or on out-of-memory). */
#ifndef LH_CORE_CONVENTIONS_H
#define LH_CORE_CONVENTIONS_H

#include <stddef.h>

#include "lakehouse/error.h"
#include "lakehouse/util.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LH_TENANT "lakehouse"
#define LH_PATH_INDEX "index.json"
#define LH_PATH_CONFIG "config.yml"
#define LH_PATH_STATISTICS "statistics.json"
#define LH_PATH_LOCK ".LOCK"
#define LH_PATH_LOCK_APPENDS ".LOCK-APPENDS"
#define LH_PATH_LOCK_READS ".LOCK-READS" /* ours: readers of the statement table */
#define LH_PATH_STATEMENTS "statements"
#define LH_PATH_ARCHIVE "archive"
#define LH_PATH_ENTITIES_JSON "entities.ftm.json"
#define LH_PATH_EXPORTS_STATISTICS "exports/statistics.json"
#define LH_PATH_EXPORTS_STATEMENTS "exports/statements.csv"
#define LH_PATH_EXPORTS_DOCUMENTS "exports/documents.csv"
#define LH_PATH_DIFFS_DOCUMENTS "diffs/exports/documents.csv"
#define LH_PATH_DIFFS_ENTITIES "diffs/entities.ftm.json"
#define LH_RESERVED_CATALOG "catalog"

/* ---- tag keys (stored at tags/{tenant}/{key}) ----------------------------------------- */
#define LH_TAG_JOURNAL_UPDATED "journal/last_updated"
#define LH_TAG_JOURNAL_FLUSHED "journal/last_flushed"
#define LH_TAG_STATEMENTS_UPDATED "statements/last_updated"
#define LH_TAG_STATEMENTS_OPTIMIZED "statements/last_optimized"
#define LH_TAG_ARCHIVE_UPDATED "archive/last_updated"
#define LH_TAG_CRAWL_RUN "operations/crawl/last_run"
#define LH_TAG_DOWNLOAD_RUN "operations/download_archive/last_run"
#define LH_TAG_MAKE_RUN "operations/make/last_run"

/* versions/{ts[0:4]}/{ts[4:6]}/{ts}/{name}; ts NULL means now (TS_FORMAT). */
char *lh_path_version(const char *name, const char *ts);
/* tags/{tenant or "lakehouse"}/{key} */
char *lh_path_tag(const char *tenant, const char *key);
/* archive/{c[0:2]}/{c[2:4]}/{c[4:6]}/{c} and the files inside it. */
char *lh_path_archive_prefix(const char *checksum, lh_error *err);
char *lh_path_archive_blob(const char *checksum, lh_error *err);
char *lh_path_archive_meta(const char *checksum, const char *file_id, lh_error *err);
char *lh_path_archive_txt(const char *checksum, const char *origin, lh_error *err);
/* entities.ftm.json[.{suffix}] and exports/statements.csv[.{suffix}]; suffix may be NULL. */
char *lh_path_entities_json(const char *suffix);
char *lh_path_exports_statements(const char *suffix);
/* diffs/exports/documents.csv/{TS}.diff.csv and diffs/entities.ftm.json/{TS}.delta.json[.sfx] */
char *lh_path_documents_diff(lh_time ts);
char *lh_path_entities_diff(lh_time ts, const char *suffix);
/* jobs/runs/{name} and jobs/runs/{name}/{run_id or a new UUIDv7}.json */
char *lh_path_job_prefix(const char *name);
char *lh_path_job_run(const char *name, const char *run_id);
/* .LOCK-APPENDS/{id} and .LOCK-READS/{id} */
char *lh_path_lock_append(const char *id);
char *lh_path_lock_read(const char *id);

/* statements/{shard}/{bucket}/{origin}/last_updated and .../last_optimized */
char *lh_tag_partition_updated(const char *shard, const char *bucket, const char *origin,
                               lh_error *err);
char *lh_tag_partition_optimized(const char *shard, const char *bucket, const char *origin,
                                 lh_error *err);

/* ---- shards --------------------------------------------------------------------------- */
#define LH_SHARDS_MAX 65536
#define LH_SHARD_SIZE 8 /* enough for the hex of LH_SHARDS_MAX - 1 plus NUL */

/* Hex digits of a shard label: 1 for n <= 16, 2 up to 256, 3 up to 4096, ... */
int lh_shard_hex_width(int n);
/* "0" when n <= 1; else first 8 hex digits of SHA-1(entity_id) as an integer mod n,
 * lowercase hex zero-padded to lh_shard_hex_width(n). "jane" -> "4" (n = 8, 16). */
void lh_entity_shard(const char *entity_id, size_t len, int n, char out[LH_SHARD_SIZE]);
/* Same from a precomputed SHA-1 digest of the entity id. */
void lh_entity_shard_digest(const unsigned char digest[20], int n, char out[LH_SHARD_SIZE]);

#ifdef __cplusplus
}
#endif
#endif
