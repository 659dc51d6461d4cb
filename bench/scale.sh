#!/usr/bin/env bash
# bench/scale (BENCH=scale make bench): the lakehouse pipeline at growing sizes, to show that
# time grows linearly and memory stays flat. For each size of SCALE_SIZES (statements;
# default "1000000 10000000 30000000", sizes above SCALE_MAX = 30000000 skipped, so 100 M
# needs SCALE_MAX=100000000 and ~12 GB of free disk): the shared data scaled to that size
# (bench_import scale, streamed to a file deleted after the import), then, each step timed
# with /usr/bin/time -v:
#   import     entities import -i (straight into the store)
#   optimize   maintenance optimize
#   make       make (the exports: statements.csv, entities.ftm.json, documents, statistics)
#   iterate    entities iterate (all)                         } median of SCALE_RUNS (3)
#   statements statements iterate (all)                       }
#   lookup     entities iterate -q filter:id=ID               }
#   limit      entities iterate -q 'filter:schema=Company&limit=100'
# At the largest size, the DuckDB-SQL equivalent of each step runs beside it on the same
# files (bench_import baseline, bench_scale merge / read, bench_make baseline).
#   bench/scale.sh BUILD OUT
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-bench/out}
BIN="$BUILD/ftm-lakehouse"
SIZES=${SCALE_SIZES:-1000000 10000000 30000000}
MAX=${SCALE_MAX:-30000000}
RUNS=${SCALE_RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export LH_SHARED_DIR=${LH_SHARED_DIR:-$ROOT/../shared}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-scale-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
RESULTS="$OUT/scale.json"
: >"$RESULTS"

wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$1"; }
rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# record WHO SIZE STEP SECONDS RSS_MB
record() {
  printf '{"who": "%s", "size": %s, "step": "%s", "seconds": %s, "rss_mb": %s}\n' "$@" >>"$RESULTS"
  printf '  %-9s %-10s %8.2f s %6s MB\n' "$1" "$3" "$4" "$5"
}

# step SIZE NAME RUNS CMD...: run CMD (stdout to $WORK/out.NAME) RUNS times; record the median
# time and the largest peak RSS
step() {
  local size=$1 name=$2 runs=$3 times=() rss=0 i r
  shift 3
  for i in $(seq "$runs"); do
    if ! /usr/bin/time -v "$@" >"$WORK/out.$name" 2>"$WORK/time.$name"; then
      echo "bench/scale: $name at $size failed:" >&2
      tail -5 "$WORK/time.$name" >&2
      exit 1
    fi
    times+=("$(wall_s "$WORK/time.$name")")
    r=$(rss_mb "$WORK/time.$name")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  record lakehouse "$size" "$name" "$(printf '%s\n' "${times[@]}" | median)" "$rss"
}

# baseline SIZE NAME CMD...: a DuckDB-SQL equivalent, once (its JSON's seconds, the process's RSS)
baseline() {
  local size=$1 name=$2
  shift 2
  if ! /usr/bin/time -v "$@" >"$WORK/base.$name" 2>"$WORK/btime.$name"; then
    # e.g. DuckDB's aggregation running out of its memory limit: reported, not fatal
    echo "  duckdb    $name FAILED: $(grep -v '^\s' "$WORK/btime.$name" | head -2 | tr '\n' ' ')"
    return 0
  fi
  record duckdb "$size" "$name" "$(wall_s "$WORK/btime.$name")" "$(rss_mb "$WORK/btime.$name")"
}

LARGEST=0
for n in $SIZES; do [ "$n" -le "$MAX" ] && [ "$n" -gt "$LARGEST" ] && LARGEST=$n; done
[ "$LARGEST" -gt 0 ] || { echo "bench/scale: no size at most SCALE_MAX=$MAX" >&2; exit 1; }

for n in $SIZES; do
  if [ "$n" -gt "$MAX" ]; then
    echo "== $n statements: above SCALE_MAX=$MAX, skipped"
    continue
  fi
  # input ~70 bytes, store ~35, statements.csv ~250 per statement (and the baseline's copies)
  need=$((n * 500 / 1024))
  free=$(df -Pk "$WORK" | awk 'NR == 2 {print $4}')
  if [ "$free" -lt "$need" ]; then
    echo "== $n statements: skipped, $((free / 1024)) MB free, about $((need / 1024)) MB needed"
    continue
  fi
  echo "== $n statements"
  "$BUILD/bench/bench_import" scale "$WORK/input.json" --statements "$n" >"$WORK/input.meta"
  cat "$WORK/input.meta"
  ID=$(awk 'NR == 1000 {print; exit}' "$WORK/input.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
  LAKE="$WORK/lake"
  rm -rf "$LAKE"
  L=("$BIN" --uri "$LAKE" -d scale)
  sync
  step "$n" import 1 "${L[@]}" entities import -i "$WORK/input.json"
  if [ "$n" = "$LARGEST" ]; then
    sync
    baseline "$n" import "$BUILD/bench/bench_import" baseline "$WORK/input.json" "$WORK/base-import" --dataset scale
    rm -rf "$WORK/base-import"
  fi
  rm -f "$WORK/input.json"
  if [ "$n" = "$LARGEST" ]; then # the same unmerged files as the store's, merged in SQL
    sync
    baseline "$n" optimize "$BUILD/bench/bench_scale" merge "$LAKE/scale" "$WORK/base-merge"
    rm -rf "$WORK/base-merge"
  fi
  sync
  step "$n" optimize 1 "${L[@]}" maintenance optimize
  sync
  step "$n" make 1 "${L[@]}" make
  if [ "$n" = "$LARGEST" ]; then
    sync
    baseline "$n" make "$BUILD/bench/bench_make" baseline "$LAKE/scale" "$WORK/base-make"
    rm -rf "$WORK/base-make"
  fi
  rm -rf "$LAKE/scale/exports" "$LAKE/scale/diffs" # the reads need no exports: free the disk
  step "$n" iterate "$RUNS" "${L[@]}" entities iterate
  ENTITIES=$(wc -l <"$WORK/out.iterate")
  step "$n" statements "$RUNS" "${L[@]}" statements iterate
  step "$n" lookup "$RUNS" "${L[@]}" entities iterate -q "filter:id=$ID"
  [ "$(wc -l <"$WORK/out.lookup")" = 1 ] || { echo "bench/scale: lookup of $ID found $(wc -l <"$WORK/out.lookup")" >&2; exit 1; }
  step "$n" limit "$RUNS" "${L[@]}" entities iterate -q 'filter:schema=Company&limit=100'
  [ "$(wc -l <"$WORK/out.limit")" = 100 ] || { echo "bench/scale: the limit query gave $(wc -l <"$WORK/out.limit")" >&2; exit 1; }
  echo "  ($ENTITIES entities)"
  if [ "$n" = "$LARGEST" ]; then
    baseline "$n" iterate "$BUILD/bench/bench_scale" read "$LAKE/scale" entities
    baseline "$n" statements "$BUILD/bench/bench_scale" read "$LAKE/scale" statements
    baseline "$n" lookup "$BUILD/bench/bench_scale" read "$LAKE/scale" lookup "$ID"
    baseline "$n" limit "$BUILD/bench/bench_scale" read "$LAKE/scale" limit
  fi
  rm -rf "$LAKE"
done

python3 - "$RESULTS" <<'PY' | tee "$OUT/scale.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ours = [r for r in rows if r["who"] == "lakehouse"]
sizes = sorted({r["size"] for r in ours})
steps = ["import", "optimize", "make", "iterate", "statements", "lookup", "limit"]
get = lambda who, size, step: next((r for r in rows if (r["who"], r["size"], r["step"]) == (who, size, step)), None)
fmt = lambda n: "%g M" % (n / 1e6)
print("| step | " + " | ".join(fmt(s) for s in sizes) + " |")
print("| --- |" + " --- |" * len(sizes))
for st in steps:
    cells, prev = [], None
    for s in sizes:
        r = get("lakehouse", s, st)
        if not r:
            cells.append("-")
            continue
        c = "%.2f s, %d MB" % (r["seconds"], r["rss_mb"])
        if prev:
            c += " (x%.1f time, x%.2f RSS)" % (r["seconds"] / max(prev["seconds"], 1e-3), r["rss_mb"] / max(prev["rss_mb"], 1))
        cells.append(c)
        prev = r
    print("| %s | %s |" % (st, " | ".join(cells)))
big = sizes[-1]
print()
print("At %s statements, beside DuckDB SQL on the same files:" % fmt(big))
print()
print("| step | lakehouse | DuckDB SQL | time ratio (DuckDB / ours) |")
print("| --- | --- | --- | --- |")
for st in steps:
    o, b = get("lakehouse", big, st), get("duckdb", big, st)
    if o and b:
        print("| %s | %.2f s, %d MB | %.2f s, %d MB | %.2fx |" % (st, o["seconds"], o["rss_mb"], b["seconds"], b["rss_mb"], b["seconds"] / max(o["seconds"], 1e-3)))
PY
