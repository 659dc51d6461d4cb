/* Sliced reads: the live statements read in entity-id ranges of about
 * LAKEHOUSE_EXPORT_SLICE_ROWS rows, each range by its own query over only the files whose
 * entity ids can fall in it, so that what a read holds in memory is one slice, whatever the
 * size of the dataset.
 *
 * Every file's entity-id range comes from its Parquet footer (the entity_id min / max of its
 * row groups, read with parquet_metadata): a slice's query names only the files that meet
 * its range. The bounds of a full read come from a reservoir sample of the entity ids (one
 * scan of that column), which makes slices of even size however the partitions' files
 * overlap. A read expected to stop early (a limit) takes its bounds from the row groups'
 * smallest ids instead, costing no scan: the slices may be uneven, but such a read holds
 * only the entities it returns. */
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/sql.h"
#include "core/strmap.h"
#include "lakehouse/log.h"
#include "logic/merge.h"
#include "storage/parquet/store_internal.h"

/* One row group's entity-id range. */
typedef struct group {
  char *min, *max; /* NULL when the footer has no statistics */
  uint64_t rows;
  size_t file; /* index into snap.files */
} group;

typedef struct file_range {
  char *min, *max; /* owned; meaningful when known */
  bool known;      /* false: the file is read by every slice */
} file_range;

struct lh__slice_plan {
  char **bounds; /* inner bounds: slices [NULL, b0), [b0, b1), ..., [bn-1, NULL) */
  size_t nbounds;
  group *groups;
  size_t ngroups, cap;
  file_range *files; /* per snapshot file */
  size_t nfiles;
  /* per partition (lh__collect_parts order): written since its last merge. Decided once for
   * the whole read, so a merge committing meanwhile cannot change how the later slices of
   * this snapshot are read. */
  bool *dirty;
  size_t nparts;
};

static void ranges_free(file_range *r, size_t n);

void lh__slice_plan_free(lh__slice_plan *p) {
  if (!p)
    return;
  for (size_t i = 0; i < p->nbounds; i++)
    free(p->bounds[i]);
  free(p->bounds);
  for (size_t i = 0; i < p->ngroups; i++) {
    free(p->groups[i].min);
    free(p->groups[i].max);
  }
  free(p->groups);
  ranges_free(p->files, p->nfiles);
  free(p->dirty);
  free(p);
}

size_t lh__slice_plan_count(const lh__slice_plan *p) {
  return p->nbounds + 1;
}

static int nomem(lh_error *err) {
  return lh_error_set(err, LH_ENOMEM, "out of memory");
}

/* The row groups of the snapshot's files from their footers: every file, or (unknown_only)
 * only those whose range the Delta log did not give. */
static int read_groups(lh_statement_store *st, lh__slice_plan *p, bool unknown_only,
                       lh_error *err) {
  const lh__delta_snapshot *snap = &st->snap;
  if (snap->nfiles == 0)
    return 0;
  lh__strmap by_path;
  lh__strmap_init(&by_path);
  lh_buf sql = LH_BUF_INIT, path = LH_BUF_INIT;
  char **paths = calloc(snap->nfiles, sizeof *paths);
  int rc = paths ? lh_buf_puts(&sql, "SELECT file_name, row_group_num_rows, stats_min_value, "
                                     "stats_max_value FROM parquet_metadata([")
                 : LH_ENOMEM;
  size_t listed = 0;
  for (size_t i = 0; i < snap->nfiles && !rc; i++) {
    if (unknown_only && i < p->nfiles && p->files[i].known)
      continue;
    lh_buf_reset(&path);
    rc = lh__tio_read_path(st->io, snap->files[i].file, &path);
    rc = rc ? rc : (listed++ ? lh_buf_putc(&sql, ',') : 0);
    rc = rc ? rc : lh__sql_quote(&sql, path.data);
    if (!rc && !(paths[i] = strdup(path.data)))
      rc = LH_ENOMEM;
    if (!rc && lh__strmap_put(&by_path, paths[i], (uint32_t)i))
      rc = LH_ENOMEM;
  }
  rc = rc ? rc : lh_buf_puts(&sql, "]) WHERE path_in_schema = 'entity_id'");
  if (rc)
    rc = nomem(err);
  duckdb_result res;
  if (!rc && (rc = lh__duck_query(&st->duck, sql.data, &res, err)) == 0) {
    idx_t n = duckdb_row_count(&res);
    if (LH_ARRAY_RESERVE(p->groups, p->cap, (size_t)n, 16))
      rc = nomem(err);
    for (idx_t r = 0; r < n && !rc; r++) {
      char *name = duckdb_value_varchar(&res, 0, r);
      uint32_t file;
      bool known = name && lh__strmap_get(&by_path, name, &file);
      duckdb_free(name);
      if (!known) /* a name we did not ask for (never expected): the file stays unknown */
        continue;
      group *g = &p->groups[p->ngroups++];
      memset(g, 0, sizeof *g);
      g->file = file;
      g->rows = duckdb_value_uint64(&res, 1, r);
      char *mn = duckdb_value_is_null(&res, 2, r) ? NULL : duckdb_value_varchar(&res, 2, r);
      char *mx = duckdb_value_is_null(&res, 3, r) ? NULL : duckdb_value_varchar(&res, 3, r);
      if (mn && mx) {
        g->min = strdup(mn);
        g->max = strdup(mx);
        if (!g->min || !g->max)
          rc = nomem(err);
      }
      duckdb_free(mn);
      duckdb_free(mx);
    }
    duckdb_destroy_result(&res);
  }
  for (size_t i = 0; paths && i < snap->nfiles; i++)
    free(paths[i]);
  free(paths);
  lh__strmap_free(&by_path);
  lh_buf_free(&sql);
  lh_buf_free(&path);
  return rc;
}

int lh__file_id_range(const lh__delta_file *f, char **min, char **max) {
  *min = *max = NULL;
  if (!f->stats)
    return 0;
  /* (a maximum cut to a prefix is left out by our writer, see delta_stats) */
  json_t *stats = json_loads(f->stats, 0, NULL);
  const char *mn =
      json_string_value(json_object_get(json_object_get(stats, "minValues"), "entity_id"));
  const char *mx =
      json_string_value(json_object_get(json_object_get(stats, "maxValues"), "entity_id"));
  int rc = 0;
  if (mn && mx) {
    *min = strdup(mn);
    *max = strdup(mx);
    rc = *min && *max ? 1 : LH_ENOMEM;
    if (rc < 0) {
      free(*min);
      free(*max);
      *min = *max = NULL;
    }
  }
  json_decref(stats);
  return rc;
}

static int log_range(const lh__delta_file *f, file_range *r) {
  int rc = lh__file_id_range(f, &r->min, &r->max);
  r->known = rc == 1;
  return rc < 0 ? rc : 0;
}

static void ranges_free(file_range *r, size_t n) {
  for (size_t i = 0; r && i < n; i++) {
    free(r[i].min);
    free(r[i].max);
  }
  free(r);
}

/* Every file's entity-id range from the Delta log; *all: none is unknown. */
static int log_ranges(const lh_statement_store *st, file_range **out, bool *all, lh_error *err) {
  size_t n = st->snap.nfiles;
  *all = true;
  *out = NULL;
  if (n == 0)
    return 0;
  file_range *r = calloc(n, sizeof *r);
  if (!r)
    return nomem(err);
  for (size_t i = 0; i < n; i++) {
    if (log_range(&st->snap.files[i], &r[i])) {
      ranges_free(r, n);
      return nomem(err);
    }
    *all = *all && r[i].known;
  }
  *out = r;
  return 0;
}

/* The range of each file the log left unknown, from its row groups (unknown when one of
 * them has no statistics). */
static int file_ranges(lh__slice_plan *p, lh_error *err) {
  size_t *seen = p->nfiles ? calloc(p->nfiles, sizeof *seen) : NULL;
  if (p->nfiles && !seen)
    return nomem(err);
  bool *from_log = p->nfiles ? calloc(p->nfiles, sizeof *from_log) : NULL;
  if (p->nfiles && !from_log) {
    free(seen);
    return nomem(err);
  }
  for (size_t i = 0; i < p->nfiles; i++)
    from_log[i] = p->files[i].known;
  int rc = 0;
  for (size_t i = 0; i < p->ngroups && !rc; i++) {
    group *g = &p->groups[i];
    file_range *f = &p->files[g->file];
    if (from_log[g->file])
      continue;
    if (seen[g->file]++ == 0)
      f->known = true;
    if (!g->min) {
      f->known = false;
      continue;
    }
    if (!f->min || strcmp(g->min, f->min) < 0) {
      free(f->min);
      rc = (f->min = strdup(g->min)) ? rc : LH_ENOMEM;
    }
    if (!f->max || strcmp(g->max, f->max) > 0) {
      free(f->max);
      rc = (f->max = strdup(g->max)) ? rc : LH_ENOMEM;
    }
  }
  for (size_t i = 0; i < p->nfiles; i++)
    if (!from_log[i] && (!seen[i] || !p->files[i].min || !p->files[i].max))
      p->files[i].known = false; /* no footer row for it, or only empty groups */
  free(seen);
  free(from_log);
  return rc ? nomem(err) : 0;
}

static int cmp_group_min(const void *a, const void *b) {
  return strcmp(((const group *)a)->min, ((const group *)b)->min);
}

/* Bounds from the row groups: walk them by their smallest id and start a slice where the
 * rows seen reach the next multiple of `per`. *ok false when a group has no statistics. */
static int footer_bounds(lh__slice_plan *p, uint64_t per, bool *ok, lh_error *err) {
  *ok = false;
  uint64_t total = 0;
  for (size_t i = 0; i < p->ngroups; i++) {
    if (!p->groups[i].min)
      return 0;
    total += p->groups[i].rows;
  }
  *ok = true;
  if (total <= per)
    return 0;
  group *sorted = malloc(p->ngroups * sizeof *sorted);
  if (!sorted)
    return nomem(err);
  memcpy(sorted, p->groups, p->ngroups * sizeof *sorted);
  qsort(sorted, p->ngroups, sizeof *sorted, cmp_group_min);
  size_t cap = 0;
  uint64_t seen = 0, next = per;
  int rc = 0;
  for (size_t i = 0; i < p->ngroups && !rc; i++) {
    if (seen >= next && i > 0) {
      const char *b = sorted[i].min;
      if (p->nbounds == 0 || strcmp(p->bounds[p->nbounds - 1], b) < 0) {
        if (LH_ARRAY_RESERVE(p->bounds, cap, p->nbounds + 1, 64) ||
            !(p->bounds[p->nbounds] = strdup(b)))
          rc = nomem(err);
        else
          p->nbounds++;
      }
      while (next <= seen)
        next += per;
    }
    seen += sorted[i].rows;
  }
  free(sorted);
  return rc;
}

/* Which partitions were written since their last merge; *any: at least one. */
static int part_states(lh_statement_store *st, lh__slice_plan *p, bool *any, lh_error *err) {
  *any = false;
  lh__part *parts;
  int rc = lh__collect_parts(st, &parts, &p->nparts, err);
  if (rc)
    return rc;
  if (p->nparts && !(p->dirty = calloc(p->nparts, sizeof *p->dirty)))
    rc = nomem(err);
  for (size_t i = 0; i < p->nparts && !rc; i++) {
    int dirty = lh__part_dirty(st, &parts[i], err);
    if (dirty < 0)
      rc = dirty;
    p->dirty[i] = dirty > 0;
    *any = *any || dirty > 0;
  }
  lh__parts_free(parts, p->nparts);
  return rc;
}

int lh__slice_plan_new(lh_statement_store *st, uint64_t per, bool strict, lh__slice_plan **out,
                       lh_error *err) {
  *out = NULL;
  lh__slice_plan *p = calloc(1, sizeof *p);
  if (!p)
    return nomem(err);
  bool ok = false, any_dirty = false;
  if (per == 0)
    per = 1;
  int rc = part_states(st, p, &any_dirty, err);
  /* an unmerged partition is deduplicated while it is read, by the merge rules' window
   * functions, which hold about twice the memory per row of a plain sorted read */
  if (any_dirty && per > 1)
    per /= 2;
  /* file ranges from the log where it has them; the footers for the rest, and for every
   * file when the bounds come from the row groups */
  bool all_known = false;
  rc = rc ? rc : log_ranges(st, &p->files, &all_known, err);
  p->nfiles = p->files ? st->snap.nfiles : 0;
  if (!rc && (!strict || !all_known))
    rc = read_groups(st, p, strict, err);
  rc = rc ? rc : file_ranges(p, err);
  if (!rc && !strict)
    rc = footer_bounds(p, per, &ok, err);
  if (!rc && !ok) {
    for (size_t i = 0; i < p->nbounds; i++)
      free(p->bounds[i]);
    free(p->bounds);
    p->bounds = NULL;
    p->nbounds = 0;
    uint64_t total = 0;
    rc = lh__duck_each_row(&st->duck, "SELECT count(*) FROM statement_raw", lh__count_rows, &total,
                           err);
    int64_t slices = (int64_t)((total + per - 1) / per);
    if (!rc && slices > 1)
      rc = lh__slice_bounds(st, "SELECT entity_id FROM statement_raw", slices, &p->bounds,
                            &p->nbounds, err);
  }
  if (rc) {
    lh__slice_plan_free(p);
    return rc;
  }
  lh_log_debug("%s: read in %zu slice(s) of about %llu rows, planned from %s", st->name,
               p->nbounds + 1, (unsigned long long)per, ok ? "the Parquet footers" : "a sample");
  *out = p;
  return 0;
}

/* Can file i hold ids in [lo, hi) (hi exclusive) or [lo, hi] (hi_incl)? */
static bool file_meets(const file_range *ranges, size_t n, size_t i, const char *lo, const char *hi,
                       bool hi_incl) {
  if (!ranges || i >= n || !ranges[i].known)
    return true;
  const file_range *f = &ranges[i];
  if (lo && strcmp(f->max, lo) < 0)
    return false;
  if (hi && (hi_incl ? strcmp(f->min, hi) > 0 : strcmp(f->min, hi) >= 0))
    return false;
  return true;
}

int lh__slice_views(lh_statement_store *st, const lh__slice_plan *p, const char *lo, const char *hi,
                    bool hi_incl, lh_error *err) {
  lh__part *parts;
  size_t nparts;
  int rc = lh__collect_parts(st, &parts, &nparts, err);
  if (rc)
    return rc;
  lh_buf live = LH_BUF_INIT, src = LH_BUF_INIT, range = LH_BUF_INIT;
  size_t *files = NULL;
  /* without a plan (a read of some entity ids) the files' ranges come from the Delta log,
   * so that a lookup opens only the files that can hold its ids */
  file_range *ranges = p ? p->files : NULL;
  size_t nranges = p ? p->nfiles : 0;
  file_range *own = NULL;
  bool all_known;
  if (!p && (lo || hi) && (rc = log_ranges(st, &own, &all_known, err)) != 0) {
    lh__parts_free(parts, nparts);
    return rc;
  }
  if (own) {
    ranges = own;
    nranges = st->snap.nfiles;
  }
  lh_time cutoff = lh__grace_cutoff(st, lh_time_now());
  /* the range condition, applied to each partition's rows before the merge rules (the rows
   * of one statement id share their entity id, so a slice deduplicates on its own) */
  rc = lh_buf_puts(&range, "true");
  if (!rc && lo)
    rc = lh_buf_puts(&range, " AND entity_id >= ") || lh__sql_quote(&range, lo);
  if (!rc && hi)
    rc = lh_buf_puts(&range, hi_incl ? " AND entity_id <= " : " AND entity_id < ") ||
         lh__sql_quote(&range, hi);
  rc = rc ? rc
          : lh_buf_puts(&live, "CREATE OR REPLACE TEMP VIEW statement_slice AS SELECT *, "
                               "entity_id AS canonical_id FROM (");
  size_t used = 0;
  for (size_t i = 0; i < nparts && !rc; i++) {
    size_t n = 0;
    free(files);
    if (!(files = malloc((parts[i].nfiles ? parts[i].nfiles : 1) * sizeof *files))) {
      rc = LH_ENOMEM;
      break;
    }
    for (size_t k = 0; k < parts[i].nfiles; k++)
      if (file_meets(ranges, nranges, parts[i].files[k], lo, hi, hi_incl))
        files[n++] = parts[i].files[k];
    if (n == 0)
      continue;
    int dirty = p && i < p->nparts ? p->dirty[i] : lh__part_dirty(st, &parts[i], err);
    if (dirty < 0) {
      rc = dirty;
      break;
    }
    lh_buf_reset(&src);
    rc = lh__files_source(st, &parts[i], files, n, &src);
    if (!rc && used++)
      rc = lh_buf_puts(&live, " UNION ALL ");
    if (rc)
      break;
    if (dirty) { /* the merge rules over the slice's rows (its upper bound is exclusive) */
      rc = lh_buf_puts(&live, "SELECT * FROM (");
      rc = rc ? rc : lh_merge_sql(&live, src.data, lo, hi_incl ? NULL : hi, cutoff, true);
      rc = rc ? rc : lh_buf_printf(&live, ") WHERE %s", range.data);
    } else {
      rc = lh_buf_printf(&live, "SELECT * FROM (%s) WHERE %s", src.data, range.data);
    }
  }
  free(files);
  ranges_free(own, own ? st->snap.nfiles : 0);
  if (!rc && used == 0) {
    rc = lh_buf_puts(&live, lh__empty_source);
  }
  rc = rc ? rc : lh_buf_puts(&live, ") WHERE deleted_at IS NULL");
  if (rc == LH_ENOMEM || rc > 0)
    rc = nomem(err);
  rc = rc ? rc : lh__duck_exec(&st->duck, live.data, err);
  lh_buf_free(&live);
  lh_buf_free(&src);
  lh_buf_free(&range);
  lh__parts_free(parts, nparts);
  return rc;
}

void lh__slice_plan_range(const lh__slice_plan *p, size_t i, const char **lo, const char **hi) {
  *lo = i ? p->bounds[i - 1] : NULL;
  *hi = i < p->nbounds ? p->bounds[i] : NULL;
}
