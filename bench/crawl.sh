#!/usr/bin/env bash
# bench/crawl: `ftm-lakehouse crawl` (archive + entities through the journal, flushed) of a
# real tree nobody here wrote, beside the physical baseline in the same invocation:
# `find -type f | xargs sha256sum` plus `cp -r` of the same tree. Median of CRAWL_RUNS (3),
# runs interleaved (crawl, baseline, crawl, ...), after one warm-up read so that both sides
# read from the page cache. Peak RSS of the crawl from /usr/bin/time -v.
#   bench/crawl.sh BUILD OUT
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-bench/out}
BIN="$BUILD/ftm-lakehouse"
RUNS=${CRAWL_RUNS:-3}
SRC=${CRAWL_SRC:-${TMPDIR:-/tmp}/lh-bench-crawl-src}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lh-bench-crawl-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

# The tree, copied once (regular files only) from this machine's system folders: large
# shared libraries, many small man pages, documentation.
if [ ! -f "$SRC/.complete" ]; then
  rm -rf "$SRC"
  mkdir -p "$SRC"
  for d in /usr/lib/x86_64-linux-gnu /usr/share/man /usr/share/doc; do
    dest="$SRC/$(dirname "$d" | tr / _)"
    mkdir -p "$dest"
    (cd "$(dirname "$d")" && find "$(basename "$d")" -type f -print0 |
      tar --null -T - -cf - 2>/dev/null | tar -xf - -C "$dest") || true
  done
  touch "$SRC/.complete"
fi
FILES=$(find "$SRC" -type f ! -name .complete | wc -l)
BYTES=$(find "$SRC" -type f ! -name .complete -printf '%s\n' | awk '{s += $1} END {print s}')
echo "tree: $SRC: $FILES files, $((BYTES / 1000000)) MB"
[ "$FILES" -ge 20000 ] && [ "$BYTES" -ge 1000000000 ] || echo "warning: tree below 20,000 files / 1 GB"
find "$SRC" -type f -print0 | xargs -0 cat >/dev/null # warm-up: page cache for both sides

wall_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$1"; }
rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $NF / 1024}' "$1"; }
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# Each run writes into a folder of its own and nothing is deleted before the end: ext4
# without a journal (this machine's) skips inodes freed in the last minutes when it allocates
# new ones, so deleting one run's 150,000 files and folders slows the next run's creates
# several-fold, whichever side it is (measured: a crawl 14.7 s after a pause, 21-26 s
# right after deleting the previous lake).
# Each run starts with nothing dirty in the page cache (`sync`, untimed): the crawl makes
# its archive durable with syncfs(2), which writes back everything dirty on the
# filesystem, so without it a crawl after a baseline run also paid for writing back the
# 1.5 GB `cp -r` had left in memory (measured: 9.7 s for the first crawl, 12.3-12.7 s for
# the ones after a baseline). `cp` itself never waits for its writes.
crawl_t=() base_t=() rss=()
for i in $(seq "$RUNS"); do
  sync
  LAKEHOUSE_PROGRESS=0 /usr/bin/time -v "$BIN" --uri "$WORK/lake-$i" -d bench crawl "$SRC" \
    -o "$WORK/job.json" 2>"$WORK/crawl.time" >/dev/null
  crawl_t+=("$(wall_s "$WORK/crawl.time")")
  rss+=("$(rss_mb "$WORK/crawl.time")")
  done_files=$(python3 -c "import json; print(json.load(open('$WORK/job.json'))['done'])")
  sync
  /usr/bin/time -v bash -c "find '$SRC' -type f -print0 | xargs -0 sha256sum >/dev/null && cp -r '$SRC' '$WORK/copy-$i'" \
    2>"$WORK/base.time"
  base_t+=("$(wall_s "$WORK/base.time")")
  echo "run $i: crawl ${crawl_t[-1]}s (${done_files} files archived, peak RSS ${rss[-1]} MB), baseline ${base_t[-1]}s"
done
c=$(printf '%s\n' "${crawl_t[@]}" | median)
b=$(printf '%s\n' "${base_t[@]}" | median)
r=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1)
python3 - "$c" "$b" "$r" "$FILES" "$BYTES" <<'PY' | tee "$OUT/crawl.json"
import json, sys
c, b, rss, files, nbytes = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
out = {
    "files": files, "bytes": nbytes,
    "crawl_s": c, "crawl_files_per_s": round(files / c), "crawl_mb_per_s": round(nbytes / 1e6 / c, 1),
    "crawl_peak_rss_mb": rss,
    "baseline_s": b, "baseline_files_per_s": round(files / b), "baseline_mb_per_s": round(nbytes / 1e6 / b, 1),
    "crawl_vs_baseline": round(b / c, 3),
}
out["targets"] = {"throughput_at_least_0.8_baseline": out["crawl_vs_baseline"] >= 0.8,
                  "peak_rss_under_200mb": rss < 200}
print(json.dumps(out))
PY
