#!/usr/bin/env bash
# Reads in entity-id slices (issue 16): every read of the store gives byte-identical output
# whether it runs as one slice or as hundreds (LAKEHOUSE_EXPORT_SLICE_ROWS), before a merge
# (duplicates resolved at read time) and after it; offset and limit count entities across
# slices; and `entities iterate` of a million statements succeeds under a 256 MB DuckDB
# memory limit with a bounded peak RSS. Full reads plan even slices from a sample of the
# entity ids, limited ones from the Parquet footers.
BIN=${1:?usage: test_sliced_reads_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_EXPORT_SLICE_ROWS LOG_LEVEL
LAKE="$TMP/lake"
L=("$BIN" --uri "$LAKE" -d sl)
YENTE="$SHARED/data/yente-fixtures/entities.delta.json"
PERSONS="$SHARED/data/wd_persons/entities.ftm.json"

# read NAME ARGS...: the command's stdout as one slice and as slices of 150 rows; both must
# succeed and agree byte for byte, and the sliced run must have used several slices
read_both() {
  local name=$1
  shift
  LAKEHOUSE_EXPORT_SLICE_ROWS=1000000000 "${L[@]}" "$@" >"$TMP/one.$name" 2>"$TMP/one.err"
  local rc1=$?
  LOG_LEVEL=debug LAKEHOUSE_EXPORT_SLICE_ROWS=150 "${L[@]}" "$@" >"$TMP/many.$name" \
    2>"$TMP/many.err"
  local rc2=$?
  RC=$rc2
  cp "$TMP/many.err" "$TMP/many.err.$name"
  if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    fail "$name: exit codes $rc1 / $rc2: $(tail -2 "$TMP/one.err" "$TMP/many.err")"
  elif ! cmp -s "$TMP/one.$name" "$TMP/many.$name"; then
    fail "$name: one slice and many slices differ ($(wc -l <"$TMP/one.$name") / $(wc -l <"$TMP/many.$name") lines)"
  fi
}

lines() { wc -l <"$TMP/one.$1" | tr -d ' '; }

# ---- before a merge: journal flushes and a re-import -----------------------------------------
run "${L[@]}" entities import --journal -i "$YENTE"
expect_rc 0 "import yente"
run "${L[@]}" maintenance flush
expect_rc 0 flush
run "${L[@]}" entities import --journal -i "$PERSONS"
expect_rc 0 "import persons"
run "${L[@]}" maintenance flush
expect_rc 0 flush
# the same persons again: duplicate statements in a second file of the same partitions
run "${L[@]}" entities import --journal -i "$PERSONS"
expect_rc 0 "re-import persons"
run "${L[@]}" maintenance flush
expect_rc 0 flush

check_reads() {
  local stage=$1
  read_both "$stage-all" entities iterate
  grep -q 'planned from' "$TMP/many.err" || fail "$stage: no slice plan logged"
  [ "$(grep -o 'read in [0-9]* slice' "$TMP/many.err" | head -1 | awk '{print $3}')" -gt 100 ] ||
    fail "$stage: expected hundreds of slices: $(grep 'planned' "$TMP/many.err")"
  ALL=$(lines "$stage-all")
  [ "$ALL" -gt 1000 ] || fail "$stage: only $ALL entities"
  read_both "$stage-statements" statements iterate
  read_both "$stage-person" entities iterate -q 'filter:schema=Person'
  [ "$(lines "$stage-person")" -gt 200 ] || fail "$stage: Person filter: $(lines "$stage-person")"
  read_both "$stage-limit" entities iterate -q 'filter:schema=Person&limit=7&offset=190'
  [ "$(lines "$stage-limit")" = 7 ] || fail "$stage: limit 7 offset 190 gave $(lines "$stage-limit")"
  # the same entities as lines 191..197 of the unlimited Person read
  sed -n 191,197p "$TMP/one.$stage-person" | cmp -s - "$TMP/one.$stage-limit" ||
    fail "$stage: limit/offset are not the 191st..197th Person"
  read_both "$stage-stlimit" statements iterate -q 'limit=3&offset=500'
  local n
  n=$(python3 -c 'import csv,sys; print(len({r["entity_id"] for r in csv.DictReader(open(sys.argv[1]))}))' "$TMP/one.$stage-stlimit")
  [ "$n" = 3 ] || fail "$stage: statements limit=3 gave $n entities"
  read_both "$stage-prop" entities iterate -q 'filter:countries=ru'
  read_both "$stage-rql" entities iterate --rql 'or(eq(schema,Company),eq(schema,Person))&limit(50,10)'
  [ "$(lines "$stage-rql")" = 50 ] || fail "$stage: rql limit(50,10) gave $(lines "$stage-rql")"
  local id
  id=$(sed -n 300p "$TMP/one.$stage-all" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  read_both "$stage-get" entities iterate -q "filter:id=$id"
  [ "$(lines "$stage-get")" = 1 ] || fail "$stage: lookup of $id gave $(lines "$stage-get")"
  sed -n 300p "$TMP/one.$stage-all" | cmp -s - "$TMP/one.$stage-get" ||
    fail "$stage: lookup of $id differs from the full read"
  # statistics: counts of distinct entities added up over slices (2,400 statements each with
  # 150 a read slice) equal the one query's, byte for byte
  local f
  for f in one many; do
    if [ $f = one ]; then
      LAKEHOUSE_EXPORT_SLICE_ROWS=1000000000 "${L[@]}" export statistics --force >/dev/null \
        2>"$TMP/stats.err"
    else
      LOG_LEVEL=debug LAKEHOUSE_EXPORT_SLICE_ROWS=150 "${L[@]}" export statistics --force \
        >/dev/null 2>"$TMP/stats.err"
    fi
    RC=$?
    expect_rc 0 "$stage: statistics ($f slice)"
    cp "$LAKE/sl/exports/statistics.json" "$TMP/stats.$f"
  done
  [ "$(grep -o 'read in [0-9]* slice' "$TMP/stats.err" | head -1 | awk '{print $3}')" -gt 5 ] ||
    fail "$stage: statistics not read in slices: $(grep planned "$TMP/stats.err" | head -2)"
  cmp -s "$TMP/stats.one" "$TMP/stats.many" || fail "$stage: statistics differ by slicing"
  python3 - "$TMP/stats.one" "$ALL" <<'PY' || fail "$stage: statistics: $(head -c 300 "$TMP/stats.one")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["entity_count"] == int(sys.argv[2]), (s["entity_count"], sys.argv[2])
assert s["things"]["total"] > 0 and s["things"]["schemata"], s["things"]
assert s["start"] and s["end"] and s["start"] <= s["end"], (s.get("start"), s.get("end"))
PY
}
check_reads dirty
cp "$TMP/one.dirty-all" "$TMP/dirty-all"

# ---- files that overlap: the same entities flushed three times --------------------------------
L=("$BIN" --uri "$LAKE" -d dup)
for i in 1 2 3; do
  run "${L[@]}" entities import --journal -i "$PERSONS"
  expect_rc 0 "import persons ($i)"
  run "${L[@]}" maintenance flush
  expect_rc 0 "flush ($i)"
done
read_both dup-all entities iterate
WANT=$(python3 -c 'import json,sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()}))' "$PERSONS")
[ "$(lines dup-all)" = "$WANT" ] || fail "dup: $(lines dup-all) entities, want $WANT"
read_both dup-statements statements iterate
read_both dup-limit entities iterate -q 'limit=5&offset=100'
L=("$BIN" --uri "$LAKE" -d sl)

# ---- after the merge: footer plans, and the same entities as before it -------------------------
run "${L[@]}" maintenance optimize
expect_rc 0 optimize
check_reads merged
# a full read plans even slices from a sample; a limited one from the footers (no scan)
grep -q 'planned from a sample' "$TMP/many.err.merged-all" ||
  fail "merged: full read not planned from a sample: $(grep planned "$TMP/many.err.merged-all")"
grep -q 'planned from the Parquet footers' "$TMP/many.err.merged-limit" ||
  fail "merged: limited read not planned from the footers: $(grep planned "$TMP/many.err.merged-limit")"
cmp -s "$TMP/dirty-all" "$TMP/one.merged-all" || fail "entities differ before and after the merge"

# ---- a million statements under a 256 MB DuckDB memory limit ----------------------------------
# (under ASan/UBSan, several times slower, 200,000: the same path, within the test's time)
BIG=1000000
if [ -n "${LH_SANITIZED:-}" ]; then
  BIG=200000
  echo "sanitizer build: the memory-limit read uses $BIG statements (1,000,000 in the release build)"
fi
GEN="$(dirname "$BIN")/bench/bench_import"
[ -x "$GEN" ] || { echo "FAIL: $GEN not built" >&2; exit 1; }
LH_SHARED_DIR="$SHARED" "$GEN" scale "$TMP/big.json" --statements "$BIG" >"$TMP/gen.json" ||
  fail "bench_import scale"
ENTITIES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["entities"])' "$TMP/gen.json")
B=("$BIN" --uri "$TMP/biglake" -d big)
run "${B[@]}" entities import -i "$TMP/big.json"
expect_rc 0 "import $BIG"
rm -f "$TMP/big.json"
for stage in appended optimized; do
  if [ $stage = optimized ]; then
    run "${B[@]}" maintenance optimize
    expect_rc 0 "optimize $BIG"
  fi
  LOG_LEVEL=debug LAKEHOUSE_DUCKDB_MEMORY_LIMIT=256MB /usr/bin/time -v "${B[@]}" \
    entities iterate >"$TMP/big.out" 2>"$TMP/big.time"
  RC=$?
  expect_rc 0 "iterate $BIG ($stage) under 256MB"
  grep planned "$TMP/big.time"
  grep -q 'read in [0-9]* slice(s)' "$TMP/big.time" || fail "$BIG $stage: not read in slices"
  [ "$(wc -l <"$TMP/big.out")" = "$ENTITIES" ] ||
    fail "iterate $BIG ($stage): $(wc -l <"$TMP/big.out") entities, want $ENTITIES"
  RSS=$(awk '/Maximum resident set size/ {print int($NF / 1024)}' "$TMP/big.time")
  echo "iterate $BIG statements ($stage, DuckDB limit 256MB): peak RSS $RSS MB"
  # (ASan's shadow memory and quarantine are not the program's: bounded in the release build)
  [ -n "${LH_SANITIZED:-}" ] || [ "$RSS" -lt 500 ] || fail "iterate $BIG ($stage): peak RSS $RSS MB"
done
finish
