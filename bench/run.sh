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
