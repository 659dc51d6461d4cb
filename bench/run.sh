#!/usr/bin/env bash
# make bench: run every benchmark, print the figures and keep them in bench/out/.
# Each figure is a median of several runs, reported beside a baseline measured in the same
# invocation; peak memory comes from /usr/bin/time -v.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/bench/out"
mkdir -p "$OUT"
export LH_SHARED_DIR=${LH_SHARED_DIR:-$ROOT/../shared}
RUNS=${BENCH_RUNS:-5}
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c "$(($(nproc) - 1))") # one core

# BENCH=explode,store selects benchmarks (default: all)
want() { [ -z "${BENCH:-}" ] || [[ ",$BENCH," == *",$1,"* ]]; }

peak_rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }

# wall_s TIMEFILE: the elapsed seconds /usr/bin/time -v recorded
wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$1"; }

# cpu_s TIMEFILE: user + system seconds (less moved than wall time by the host's I/O stalls)
cpu_s() { awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s += $2} END {print s + 0}' "$1"; }

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

if want explode; then
echo "== bench/explode: entities -> statements, against the SHA-1 hashing limit"
/usr/bin/time -v "${PIN[@]}" "$BUILD/bench/bench_explode" --runs "$RUNS" \
  >"$OUT/explode.json" 2>"$OUT/explode.time"
grep '^input:' "$OUT/explode.time"
cat "$OUT/explode.json"
echo "peak RSS: $(peak_rss_mb "$OUT/explode.time") MB"
fi

if want explode; then
echo
echo "== CLI end to end: ftm-lakehouse statements explode (parse + explode + CSV) to /dev/null"
INPUT="$OUT/explode-input.ftm.json"
"$BUILD/bench/bench_explode" --dump "$INPUT" 2>/dev/null
STATEMENTS=$(python3 -c "import json; print(json.load(open('$OUT/explode.json'))['statements'])")
times=()
for i in $(seq "$RUNS"); do
  /usr/bin/time -v "${PIN[@]}" "$BUILD/ftm-lakehouse" -d bench statements explode -i "$INPUT" \
    -o /dev/null 2>"$OUT/cli.time"
  times+=("$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$OUT/cli.time")")
done
cli_s=$(printf '%s\n' "${times[@]}" | median)
python3 - "$cli_s" "$STATEMENTS" "$(peak_rss_mb "$OUT/cli.time")" <<'PY' | tee "$OUT/cli.json"
import sys
s, n, rss = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print('{"cli_explode_s": %.3f, "cli_statements_per_s": %.0f, "peak_rss_mb": %s}' % (s, n / s, rss))
PY
rm -f "$INPUT"
fi

if want store; then
echo
echo "== bench/store: append and merge of ${STORE_ROWS:=10000000} statement rows, against DuckDB COPY"
STORE_RUNS=${BENCH_STORE_RUNS:-3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-store-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for i in $(seq "$STORE_RUNS"); do
  rm -rf "$WORK/ds" "$WORK/baseline"
  /usr/bin/time -v "$BUILD/bench/bench_store" append "$WORK/ds" --rows "$STORE_ROWS" \
    >"$OUT/store-append.$i.json" 2>"$OUT/store-append.$i.time"
  /usr/bin/time -v "$BUILD/bench/bench_store" baseline "$WORK/ds" "$WORK/baseline" \
    >"$OUT/store-baseline.$i.json" 2>"$OUT/store-baseline.$i.time"
  rm -rf "$WORK/baseline"
  /usr/bin/time -v "$BUILD/bench/bench_store" baseline "$WORK/ds" "$WORK/baseline" --level 1 \
    >"$OUT/store-baseline1.$i.json" 2>"$OUT/store-baseline1.$i.time"
  /usr/bin/time -v "$BUILD/bench/bench_store" merge "$WORK/ds" \
    >"$OUT/store-merge.$i.json" 2>"$OUT/store-merge.$i.time"
  echo "run $i: $(cat "$OUT/store-append.$i.json" "$OUT/store-baseline.$i.json" "$OUT/store-baseline1.$i.json" "$OUT/store-merge.$i.json" | python3 -c 'import json,sys; print("  ".join("%s%s %.0f rows/s" % (d["phase"], " (zstd %d)" % d["zstd_level"] if "zstd_level" in d else "", d["rows_per_s"]) for d in map(json.loads, sys.stdin)))')"
done
python3 - "$OUT" "$STORE_RUNS" <<'PY' | tee "$OUT/store.json"
import json, re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
def load(phase):
    rates, rss = [], []
    for i in range(1, runs + 1):
        rates.append(json.load(open(f"{out}/store-{phase}.{i}.json"))["rows_per_s"])
        text = open(f"{out}/store-{phase}.{i}.time").read()
        rss.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024)
    return statistics.median(rates), max(rss)
append, append_rss = load("append")
baseline, baseline_rss = load("baseline")
baseline1, _ = load("baseline1")
merge, merge_rss = load("merge")
print(json.dumps({
    "append_rows_per_s": round(append), "baseline_copy_rows_per_s": round(baseline),
    "append_vs_baseline": round(append / baseline, 3),
    "baseline_copy_zstd1_rows_per_s": round(baseline1),
    "append_vs_baseline_zstd1": round(append / baseline1, 3), "merge_rows_per_s": round(merge),
    "append_peak_rss_mb": round(append_rss), "merge_peak_rss_mb": round(merge_rss),
    "baseline_peak_rss_mb": round(baseline_rss), "runs": runs}))
PY
fi

if want import; then
echo
echo "== bench/import: ${IMPORT_STATEMENTS:=10000000} statements of entity JSON, against DuckDB SQL"
IMPORT_RUNS=${IMPORT_RUNS:-3}
IWORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-import-XXXXXX")
PGDIR=""
import_cleanup() {
  [ -z "$PGDIR" ] || "$ROOT/tests/tools/pg_server.sh" stop "$PGDIR" || true
  rm -rf "${WORK:-}" "$IWORK" # WORK: the store block's, whose trap this one replaces
}
trap import_cleanup EXIT
INPUT="$IWORK/input.ftm.json"
"$BUILD/bench/bench_import" scale "$INPUT" --statements "$IMPORT_STATEMENTS" | tee "$OUT/import-input.json"
LH=("$BUILD/ftm-lakehouse" --uri "$IWORK/lake" -d bench)
# One line per run and variant: "variant run seconds peak_rss_mb cpu_seconds" (seconds
# "fail" on error).
RESULTS="$OUT/import-runs.txt"
: >"$RESULTS"
# record VARIANT RUN TIMEFILE...: the commands timed into TIMEFILEs ran in sequence; their
# wall and CPU times add up and the peak RSS is the largest
record() {
  local variant=$1 run=$2 s=0 rss=0 cpu=0 f
  shift 2
  for f in "$@"; do
    s=$(awk -v a="$s" -v b="$(wall_s "$f")" 'BEGIN {print a + b}')
    cpu=$(awk -v a="$cpu" -v b="$(cpu_s "$f")" 'BEGIN {print a + b}')
    rss=$(awk -v a="$rss" -v b="$(peak_rss_mb "$f")" 'BEGIN {print (b > a) ? b : a}')
  done
  echo "$variant $run $s $rss $cpu" >>"$RESULTS"
  echo "  $variant: ${s}s (CPU ${cpu}s), peak RSS ${rss} MB"
}
failed() { echo "$1 $2 fail 0 0" >>"$RESULTS"; echo "  $1: FAILED ($3)"; }
# journal_run VARIANT RUN JOURNAL_URI [keep]: import --journal, then maintenance flush, into a
# fresh lake (or, with "keep", into the lake and journal file the last run left)
journal_run() {
  local v=$1 i=$2
  if [ "${4:-}" != keep ]; then
    rm -rf "$IWORK/lake"
    mkdir -p "$IWORK/lake" # SQLite creates the journal file, not its directory
  fi
  if ! LAKEHOUSE_JOURNAL_URI=$3 /usr/bin/time -v "${LH[@]}" entities import --journal -i "$INPUT" \
    2>"$OUT/import-$v-import.$i.time"; then
    failed "$v" "$i" "see $OUT/import-$v-import.$i.time"
  elif ! LAKEHOUSE_JOURNAL_URI=$3 /usr/bin/time -v "${LH[@]}" maintenance flush \
    2>"$OUT/import-$v-flush.$i.time"; then
    failed "$v" "$i" "see $OUT/import-$v-flush.$i.time"
  else
    record "$v" "$i" "$OUT/import-$v-import.$i.time" "$OUT/import-$v-flush.$i.time"
  fi
}
PGURI=""
if [ -x "$ROOT/tests/tools/pg_server.sh" ] && command -v psql >/dev/null; then
  PGDIR="$IWORK/pg"
  if "$ROOT/tests/tools/pg_server.sh" start "$PGDIR" >"$OUT/import-pg.log" 2>&1; then
    PGURI=$(cat "$PGDIR/uri")
  else
    echo "PostgreSQL: tests/tools/pg_server.sh start failed (see $OUT/import-pg.log); skipping that variant"
    PGDIR=""
  fi
else
  echo "PostgreSQL: no tests/tools/pg_server.sh or psql; skipping that variant"
fi
for i in $(seq "$IMPORT_RUNS"); do
  echo "run $i:"
  rm -rf "$IWORK/baseline"
  sync # no variant pays for the write-back of the one before
  if /usr/bin/time -v "$BUILD/bench/bench_import" baseline "$INPUT" "$IWORK/baseline" --dataset bench \
    >"$OUT/import-baseline.$i.json" 2>"$OUT/import-baseline.$i.time"; then
    record baseline "$i" "$OUT/import-baseline.$i.time"
  else
    failed baseline "$i" "see $OUT/import-baseline.$i.time"
  fi
  rm -rf "$IWORK/baseline" "$IWORK/lake"
  sync
  if /usr/bin/time -v "${LH[@]}" entities import -i "$INPUT" 2>"$OUT/import-direct.$i.time"; then
    record direct "$i" "$OUT/import-direct.$i.time"
  else
    failed direct "$i" "see $OUT/import-direct.$i.time"
  fi
  sync
  journal_run sqlite_journal "$i" "sqlite:///$IWORK/lake/journal.db"
  # the same again on that journal file: a drained journal keeps its size, so a journal in
  # use writes into pages the file already has instead of growing it
  sync
  journal_run sqlite_journal_reused "$i" "sqlite:///$IWORK/lake/journal.db" keep
  if [ -n "$PGURI" ]; then
    # a fresh database per run, so no run sees another's tables or dead rows
    db="bench_import_$i"
    if PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$PGURI" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"; then
      sync
      journal_run postgres_journal "$i" "${PGURI%/*}/$db"
      psql -X -q "$PGURI" -c "DROP DATABASE IF EXISTS $db" -c "CHECKPOINT" || true
    else
      failed postgres_journal "$i" "cannot create database $db"
    fi
  fi
  rm -rf "$IWORK/lake"
done
python3 - "$OUT/import-input.json" "$RESULTS" "$IMPORT_RUNS" <<'PY' | tee "$OUT/import.json"
import json, statistics, sys
n = json.load(open(sys.argv[1]))["statements"]
runs = {}
for line in open(sys.argv[2]):
    variant, _, s, rss, cpu = line.split()
    runs.setdefault(variant, []).append((None if s == "fail" else float(s), float(rss), float(cpu)))
summary = {"statements": n, "runs": int(sys.argv[3])}
for v in ("baseline", "direct", "sqlite_journal", "sqlite_journal_reused", "postgres_journal"):
    ok = [r for r in runs.get(v, []) if r[0] is not None]
    if not ok or len(ok) < len(runs[v]):  # a failed run voids the variant's figure
        summary.update({v + "_s": None, v + "_statements_per_s": None, v + "_peak_rss_mb": None,
                        v + "_cpu_s": None})
        continue
    s = statistics.median(r[0] for r in ok)
    summary.update({v + "_s": round(s, 3), v + "_statements_per_s": round(n / s),
                    v + "_peak_rss_mb": round(max(r[1] for r in ok)),
                    v + "_cpu_s": round(statistics.median(r[2] for r in ok), 3)})
b, d = summary["baseline_statements_per_s"], summary["direct_statements_per_s"]
summary["direct_vs_baseline"] = round(d / b, 3) if b and d else None
# the same per run (direct against the baseline of its own run), then the median: this
# machine's speed drifts between runs more than the two differ within one
pairs = [b[0] / d[0] for b, d in zip(runs.get("baseline", []), runs.get("direct", []))
         if b[0] and d[0]]
summary["direct_vs_baseline_per_run"] = [round(p, 3) for p in pairs]
summary["direct_vs_baseline_median_of_runs"] = round(statistics.median(pairs), 3) if pairs else None
# the same in CPU seconds (user + system): what each pipeline costs, whatever the host waits on
cpu_pairs = [b[2] / d[2] for b, d in zip(runs.get("baseline", []), runs.get("direct", []))
             if b[0] and d[0] and d[2]]
summary["direct_vs_baseline_cpu_median_of_runs"] = (round(statistics.median(cpu_pairs), 3)
                                                    if cpu_pairs else None)
# the journal paths per run too: their statements/s at a baseline of one speed are comparable
# between runs of a machine whose speed drifts by a quarter within a session
for v in ("sqlite_journal", "sqlite_journal_reused", "postgres_journal"):
    pairs = [b[0] / j[0] for b, j in zip(runs.get("baseline", []), runs.get(v, [])) if b[0] and j[0]]
    summary[v + "_vs_baseline_per_run"] = [round(p, 3) for p in pairs]
    summary[v + "_vs_baseline_median_of_runs"] = round(statistics.median(pairs), 3) if pairs else None
print(json.dumps(summary))
PY
fi

if want make; then
echo
echo "== bench/make: make on ${MAKE_STATEMENTS:=10000000} statements, against DuckDB SQL COPY"
MAKE_RUNS=${MAKE_RUNS:-3}
MWORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-make-XXXXXX")
make_cleanup() {
  rm -rf "$MWORK"
  if declare -F import_cleanup >/dev/null; then import_cleanup; else rm -rf "${WORK:-}"; fi
}
trap make_cleanup EXIT # and whatever the earlier blocks' traps cleaned
unset LAKEHOUSE_JOURNAL_URI # the default journal: a SQLite file in the lake
export LAKEHOUSE_PROGRESS=0 # only the step lines on stderr
# stamp: prefix each line of stdin with the seconds since $1 (an EPOCHREALTIME)
stamp() { local t0=$1 line; while IFS= read -r line; do printf '%.3f %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN {print a - b}')" "$line"; done; }
"$BUILD/bench/bench_import" scale "$MWORK/input.ftm.json" --statements "$MAKE_STATEMENTS" \
  | tee "$OUT/make-input.json"
# the pristine lake: imported once straight into the statement store (no journal), unmerged
"$BUILD/ftm-lakehouse" --uri "$MWORK/pristine" -d bench entities import -i "$MWORK/input.ftm.json" \
  2>"$OUT/make-import.log"
rm -f "$MWORK/input.ftm.json"
echo "pristine lake: $(du -sm "$MWORK/pristine" | cut -f1) MB"
LH=("$BUILD/ftm-lakehouse" --uri "$MWORK/work" -d bench)
# One line per run and variant: "variant run seconds peak_rss_mb" (seconds "fail" on error).
MRESULTS="$OUT/make-runs.txt"
: >"$MRESULTS"
mrecord() { # mrecord VARIANT RUN TIMEFILE
  local s rss
  s=$(wall_s "$3") rss=$(peak_rss_mb "$3")
  echo "$1 $2 $s $rss" >>"$MRESULTS"
  printf '  %-18s %8.2fs  peak RSS %5s MB\n' "$1:" "$s" "$rss"
}
mfailed() { echo "$1 $2 fail 0" >>"$MRESULTS"; echo "  $1: FAILED (see $3)"; }
: >"$OUT/make-load.txt"
for i in $(seq "$MAKE_RUNS"); do
  # the 1-minute load average before the run: on 2 cores anything else running shows here
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$load" >>"$OUT/make-load.txt"
  echo "run $i: (load average $load)"
  rm -rf "$MWORK/work" "$MWORK/baseline"
  cp -a --reflink=auto "$MWORK/pristine" "$MWORK/work" # make rewrites the store: a real copy
  # every timed step starts with no dirty pages of the one before: the gigabytes a step
  # writes would otherwise throttle the next one's writes (and skew the ratios)
  sync
  # the whole make: flush + optimize (merge, compact, vacuum) + every export + index; its
  # step lines, stamped with the seconds since the start, go to make-make.$i.log
  t0=$EPOCHREALTIME
  if /usr/bin/time -v -o "$OUT/make-make.$i.time" "${LH[@]}" make 2>&1 >/dev/null \
    | stamp "$t0" >"$OUT/make-make.$i.log"; then
    mrecord make "$i" "$OUT/make-make.$i.time"
  else
    mfailed make "$i" "$OUT/make-make.$i.log"
    for v in export_statements export_entities export_statistics baseline; do
      echo "$v $i fail 0" >>"$MRESULTS" # skipped: keeps one line per run and variant
    done
    continue
  fi
  # the single exports, again, on the made lake (entities read the fresh statements.csv, as
  # in make)
  for kind in statements entities statistics; do
    sync
    if /usr/bin/time -v -o "$OUT/make-export-$kind.$i.time" "${LH[@]}" export "$kind" --force \
      >/dev/null 2>"$OUT/make-export-$kind.$i.log"; then
      mrecord "export_$kind" "$i" "$OUT/make-export-$kind.$i.time"
    else
      mfailed "export_$kind" "$i" "$OUT/make-export-$kind.$i.log"
    fi
  done
  # the baseline: the same exports as DuckDB SQL COPY from the made (optimized) store
  rm -rf "$MWORK/work/bench/exports" "$MWORK/work/bench/entities.ftm.json" "$MWORK/work/bench/diffs"
  sync
  if /usr/bin/time -v -o "$OUT/make-baseline.$i.time" "$BUILD/bench/bench_make" baseline \
    "$MWORK/work/bench" "$MWORK/baseline" >"$OUT/make-baseline.$i.json" 2>"$OUT/make-baseline.$i.log"; then
    mrecord baseline "$i" "$OUT/make-baseline.$i.time"
    echo "  baseline COPYs: $(cat "$OUT/make-baseline.$i.json")"
  else
    mfailed baseline "$i" "$OUT/make-baseline.$i.log"
  fi
  rm -rf "$MWORK/work" "$MWORK/baseline"
done
echo "steps of make (seconds since its start, run 1):"
sed 's/^/  /' "$OUT/make-make.1.log"
python3 - "$OUT" "$MAKE_RUNS" <<'PY' | tee "$OUT/make.json"
import json, re, statistics, sys
out, nruns = sys.argv[1], int(sys.argv[2])
runs = {}
for line in open(f"{out}/make-runs.txt"):
    variant, i, s, rss = line.split()
    runs.setdefault(variant, []).append((None if s == "fail" else float(s), float(rss)))
def fig(v):  # (median seconds, max peak RSS MB); None when a run failed or is missing
    ok = [r for r in runs.get(v, []) if r[0] is not None]
    if not ok or len(ok) < nruns:
        return None, None
    return statistics.median(r[0] for r in ok), max(r[1] for r in ok)
base = [json.load(open(f"{out}/make-baseline.{i}.json")) for i in range(1, nruns + 1)
        if runs.get("baseline") and len(runs["baseline"]) >= i and runs["baseline"][i - 1][0] is not None]
def base_s(key):
    return statistics.median(b[key] for b in base) if len(base) == nruns else None
# the steps of make: the seconds up to each stamped stderr line, named by that line
STEPS = [("merged ", "merge"), ("compacted ", "compact"), ("vacuumed ", "vacuum"),
         ("optimized ", "optimize_end"), (r"exported \d+ statements", "export_statements"),
         ("entities from ", "entities_open_csv"), (r"exported \d+ entities", "export_entities"),
         ("diff diffs/entities", "diff_entities"), ("diff diffs/exports/documents", "diff_documents"),
         ("documents", "export_documents"), ("statistics.json", "export_statistics"),
         ("made ", "export_index"), ("flushed ", "flush"), ("merging ", "start_until_merge")]
phases = {}
for i in range(1, nruns + 1):
    try:
        lines = open(f"{out}/make-make.{i}.log").read().splitlines()
    except OSError:
        continue
    prev = 0.0
    for line in lines:
        t, _, text = line.partition(" ")
        try:
            t = float(t)
        except ValueError:
            continue
        name = next((n for pat, n in STEPS if re.search(pat, text)), text[:40])
        phases.setdefault(name, []).append(round(t - prev, 3))
        prev = t
    wall = runs.get("make", [])[i - 1][0] if len(runs.get("make", [])) >= i else None
    if wall is not None:  # after the last line: the index printed, DuckDB closed
        phases.setdefault("index_and_exit", []).append(round(max(wall - prev, 0.0), 3))
summary = {"statements": json.load(open(f"{out}/make-input.json"))["statements"], "runs": nruns}
summary["statements_live"] = base[0]["statements"] if base else None
summary["entities"] = base[0]["entities"] if base else None
make_s, make_rss = fig("make")
summary.update({"make_s": make_s, "make_peak_rss_mb": make_rss})
summary["make_steps_s"] = {k: round(statistics.median(v), 3) for k, v in phases.items()}
for kind in ("statements", "entities", "statistics"):
    s, rss = fig("export_" + kind)
    b = base_s(kind + "_s")
    summary.update({f"export_{kind}_s": s, f"export_{kind}_peak_rss_mb": rss,
                    f"baseline_{kind}_s": b,
                    f"{kind}_export_vs_baseline": round(b / s, 3) if b and s else None})
bp_s, bp_rss = fig("baseline")
summary.update({"baseline_total_s": base_s("total_s"), "baseline_process_s": bp_s,
                "baseline_peak_rss_mb": bp_rss})
summary["load_avg_at_run_start"] = [float(x) for x in open(f"{out}/make-load.txt").read().split()]
summary["targets"] = {
    "make_under_60s": make_s is not None and make_s < 60,
    "statements_export_at_least_baseline": (summary["statements_export_vs_baseline"] or 0) >= 1.0,
    "make_peak_rss_under_1gb": make_rss is not None and make_rss < 1024}
def rounded(x):
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    return round(x, 3) if isinstance(x, float) else x
print(json.dumps(rounded(summary)))
PY
fi

if want crawl; then
echo
echo "== bench/crawl: crawl a real tree of this machine's files, against sha256sum + cp -r"
"$ROOT/bench/crawl.sh" "$BUILD" "$OUT"
fi

if want scale; then
echo
echo "== bench/scale: the pipeline at ${SCALE_SIZES:-1000000 10000000 30000000} statements (SCALE_MAX ${SCALE_MAX:-30000000})"
"$ROOT/bench/scale.sh" "$BUILD" "$OUT"
fi
