/* The merge rules over rows in memory (see merge.h): the same semantics as lh_merge_sql. */
#include <stdlib.h>
#include <string.h>

#include "logic/merge.h"

static inline int str_cmp(const char *a, const char *b) {
  return a == b ? 0 : strcmp(a, b);
}

int lh_merge_row_cmp(const lh_row *a, const lh_row *b) {
  int c = str_cmp(a->entity_id, b->entity_id);
  if (c || (c = str_cmp(a->prop, b->prop)) || (c = str_cmp(a->id, b->id)) ||
      (c = str_cmp(a->fragment, b->fragment)))
    return c;
  if (a->last_seen != b->last_seen) /* DESC */
    return a->last_seen > b->last_seen ? -1 : 1;
  if (a->deleted_at != b->deleted_at) /* DESC NULLS LAST: NULL is INT64_MIN */
    return a->deleted_at > b->deleted_at ? -1 : 1;
  return 0;
}

/* Merge the sorted runs src[lo, mid) and src[mid, hi) into dst[lo, hi). */
static void merge_runs(const lh_row *rows, const uint32_t *src, uint32_t *dst, size_t lo,
                       size_t mid, size_t hi) {
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi)
    dst[k++] = lh_merge_row_cmp(&rows[src[j]], &rows[src[i]]) < 0 ? src[j++] : src[i++];
  while (i < mid)
    dst[k++] = src[i++];
  while (j < hi)
    dst[k++] = src[j++];
}

int lh_merge_sort(const lh_row *rows, uint32_t *order, uint32_t *tmp, size_t n) {
  if (n < 2)
    return 0;
  /* run boundaries: starts[0 .. nruns], the last one == n */
  size_t cap = 64, nruns = 0;
  size_t *starts = malloc(cap * sizeof *starts);
  size_t *next = NULL;
  if (!starts)
    goto fallback;
  starts[nruns++] = 0;
  for (size_t i = 1; i < n; i++) {
    if (lh_merge_row_cmp(&rows[order[i - 1]], &rows[order[i]]) <= 0)
      continue;
    if (nruns + 1 >= cap) {
      cap *= 2;
      size_t *ns = realloc(starts, cap * sizeof *ns);
      if (!ns)
        goto fallback;
      starts = ns;
    }
    starts[nruns++] = i;
  }
  starts[nruns] = n;
  if (!(next = malloc((nruns / 2 + 2) * sizeof *next)))
    goto fallback;
  /* merge neighbouring runs pairwise until one is left, ping-ponging between buffers */
  uint32_t *src = order, *dst = tmp;
  while (nruns > 1) {
    size_t m = 0;
    for (size_t r = 0; r < nruns; r += 2) {
      next[m++] = starts[r];
      if (r + 1 < nruns)
        merge_runs(rows, src, dst, starts[r], starts[r + 1], starts[r + 2]);
      else
        memcpy(dst + starts[r], src + starts[r], (starts[r + 1] - starts[r]) * sizeof *dst);
    }
    next[m] = n;
    memcpy(starts, next, (m + 1) * sizeof *starts);
    nruns = m;
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != order)
    memcpy(order, src, n * sizeof *order);
  free(starts);
  free(next);
  return 0;
fallback:
  free(starts);
  free(next);
  return LH_ENOMEM;
}

/* Output order inside an entity: fragment, prop, id. */
static int out_cmp(const lh_row *a, const lh_row *b) {
  int c = str_cmp(a->fragment, b->fragment);
  if (c || (c = str_cmp(a->prop, b->prop)))
    return c;
  return str_cmp(a->id, b->id);
}

typedef struct sort_ctx {
  const lh_row *rows;
  int (*cmp)(const lh_row *, const lh_row *);
} sort_ctx;

static int index_cmp(const void *x, const void *y, void *arg) {
  const sort_ctx *c = arg;
  return c->cmp(&c->rows[*(const uint32_t *)x], &c->rows[*(const uint32_t *)y]);
}

static void sort_small(const lh_row *rows, uint32_t *v, size_t n,
                       int (*cmp)(const lh_row *, const lh_row *)) {
  if (n > 32) { /* a large entity */
    sort_ctx c = {rows, cmp};
    qsort_r(v, n, sizeof *v, index_cmp, &c);
    return;
  }
  for (size_t i = 1; i < n; i++) { /* insertion sort: groups are small, often in order */
    uint32_t x = v[i];
    size_t j = i;
    while (j > 0 && cmp(&rows[v[j - 1]], &rows[x]) > 0) {
      v[j] = v[j - 1];
      j--;
    }
    v[j] = x;
  }
}

static int frag_cmp(const lh_row *a, const lh_row *b) {
  int c = str_cmp(a->fragment, b->fragment);
  if (c)
    return c;
  return a->last_seen > b->last_seen ? -1 : a->last_seen < b->last_seen ? 1 : 0;
}

static bool reaped(const lh_row *r, lh_time cutoff) {
  return r->deleted_at != LH_TIME_NULL && r->deleted_at <= cutoff;
}

/* One (entity, prop) group sorted[lo, hi): winners go to keep (entity survivors, count in
 * *nkeep); frag is scratch. */
static void merge_prop(lh_row *rows, const uint32_t *sorted, size_t lo, size_t hi, lh_time cutoff,
                       uint32_t *keep, size_t *nkeep, uint32_t *frag) {
  size_t nfrag = 0;
  for (size_t i = lo; i < hi;) {
    lh_row *w = &rows[sorted[i]]; /* the winner of its (id, fragment) */
    lh_time first = w->first_seen;
    size_t j = i + 1;
    while (j < hi && str_cmp(rows[sorted[j]].id, w->id) == 0 &&
           str_cmp(rows[sorted[j]].fragment, w->fragment) == 0) {
      if (rows[sorted[j]].first_seen < first)
        first = rows[sorted[j]].first_seen;
      j++;
    }
    w->first_seen = first;
    if (w->fragment[0] == '\0') {
      if (!reaped(w, cutoff))
        keep[(*nkeep)++] = sorted[i];
    } else {
      frag[nfrag++] = sorted[i];
    }
    i = j;
  }
  if (nfrag == 0)
    return;
  /* fragments: only the rows of each fragment's latest emission survive */
  sort_small(rows, frag, nfrag, frag_cmp);
  for (size_t i = 0; i < nfrag;) {
    lh_time latest = rows[frag[i]].last_seen;
    size_t j = i;
    for (; j < nfrag && str_cmp(rows[frag[j]].fragment, rows[frag[i]].fragment) == 0; j++)
      if (rows[frag[j]].last_seen == latest && !reaped(&rows[frag[j]], cutoff))
        keep[(*nkeep)++] = frag[j];
    i = j;
  }
}

int lh_merge_rows(lh_row *rows, const uint32_t *sorted, size_t n, lh_time grace_cutoff,
                  uint32_t *out, size_t *count) {
  size_t nout = 0;
  *count = 0;
  uint32_t *frag = malloc((n ? n : 1) * sizeof *frag);
  if (!frag)
    return LH_ENOMEM;
  for (size_t e = 0; e < n;) {
    const char *entity = rows[sorted[e]].entity_id;
    size_t f = e + 1;
    while (f < n && str_cmp(rows[sorted[f]].entity_id, entity) == 0)
      f++;
    size_t start = nout;
    for (size_t p = e; p < f;) {
      size_t q = p + 1;
      while (q < f && str_cmp(rows[sorted[q]].prop, rows[sorted[p]].prop) == 0)
        q++;
      merge_prop(rows, sorted, p, q, grace_cutoff, out, &nout, frag);
      p = q;
    }
    sort_small(rows, out + start, nout - start, out_cmp);
    e = f;
  }
  free(frag);
  *count = nout;
  return 0;
}
