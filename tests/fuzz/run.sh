#!/usr/bin/env bash
# make fuzz: run each libFuzzer target for a bounded time over its committed corpus.
# Memory and time are bounded so that an input which makes a parser blow up (an alias bomb,
# a quadratic path) is reported as a finding: -rss_limit_mb for the whole process,
# -malloc_limit_mb for one allocation, -timeout (seconds) for one input.
set -uo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FINDINGS="$BUILD/fuzz-findings" # crash-*, oom-*, timeout-* inputs, to replay by hand
mkdir -p "$FINDINGS"
failed=()
for t in entity_json csv yaml values config statements_csv; do
  corpus="$ROOT/tests/fuzz/corpus/$t"
  work=$(mktemp -d)
  log="$work/fuzz.log"
  dict=()
  case $t in yaml | config) dict=(-dict="$ROOT/tests/fuzz/yaml.dict") ;; esac
  echo "== fuzz_$t (${SECONDS_EACH}s)"
  "$BUILD/tests/fuzz_${t}_fuzzer" -max_total_time="$SECONDS_EACH" -max_len=65536 \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=5 -print_final_stats=1 \
    "${dict[@]}" -artifact_prefix="$FINDINGS/$t-" "$work" "$corpus" >"$log" 2>&1
  rc=$?
  # the last coverage line and the final stats
  grep -E '^#[0-9]+' "$log" | tail -1
  grep -E '^(Done|stat::)' "$log"
  if [ "$rc" -ne 0 ]; then
    echo "fuzz_$t: FAILED (exit $rc); the finding:" >&2
    grep -E 'ERROR|SUMMARY|Test unit written|out-of-memory|timeout' "$log" | head -20 >&2
    failed+=("$t")
  fi
  rm -rf "$work"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz findings in: ${failed[*]}" >&2
  exit 1
fi
