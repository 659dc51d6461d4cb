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

peak_rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo "== bench/explode: entities -> statements, against the SHA-1 hashing limit"
/usr/bin/time -v "${PIN[@]}" "$BUILD/bench/bench_explode" --runs "$RUNS" \
  >"$OUT/explode.json" 2>"$OUT/explode.time"
grep '^input:' "$OUT/explode.time"
cat "$OUT/explode.json"
echo "peak RSS: $(peak_rss_mb "$OUT/explode.time") MB"

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
