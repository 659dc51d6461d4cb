#!/usr/bin/env bash
# make fuzz: run each libFuzzer target for a bounded time over its committed corpus.
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-30}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
for t in entity_json csv yaml values; do
  corpus="$ROOT/tests/fuzz/corpus/$t"
  work=$(mktemp -d)
  echo "== fuzz_$t (${SECONDS_EACH}s)"
  "$BUILD/tests/fuzz_${t}_fuzzer" -max_total_time="$SECONDS_EACH" -max_len=65536 \
    -print_final_stats=1 "$work" "$corpus" 2>&1 | tail -3
  rm -rf "$work"
done
