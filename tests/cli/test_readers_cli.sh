#!/usr/bin/env bash
# Readers never fail because of maintenance: entities iterate, statements sql and the
# statements export run in a loop beside a loop of `maintenance optimize --force` (merge,
# compact and vacuum with retention 0) for LH_TEST_READ_LOOP_SECONDS (60) seconds, with
# zero failures; every read sees every entity.
BIN=${1:?usage: test_readers_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL LAKEHOUSE_JOURNAL_URI
SECS=${LH_TEST_READ_LOOP_SECONDS:-60}
LAKE="$TMP/lake"
L() { "$BIN" --uri "$LAKE" -d ds "$@"; }

# several appends of the same entities, so every optimize has partitions to merge and files
# to replace
for f in "$SHARED/data/wd_persons/entities.ftm.json" "$SHARED/data/yente-fixtures/zala/entities.ftm.json" \
  "$SHARED/data/nomenklatura-fixtures/donations.ijson"; do
  run L entities import -i "$f"
  expect_rc 0 "import $f"
done
want=$(L statements sql --format csv "SELECT count(DISTINCT entity_id) FROM statement" 2>/dev/null | tail -1)
[ "$want" -gt 500 ] || fail "entities to read ($want)"

(
  end=$((SECONDS + SECS))
  while [ $SECONDS -lt "$end" ]; do
    L maintenance optimize --force >/dev/null 2>"$TMP/opt.err" || { cat "$TMP/opt.err" >>"$TMP/opt.fail"; }
  done
) &
opt=$!
reads=0
end=$((SECONDS + SECS))
while [ $SECONDS -lt "$end" ]; do
  if L entities iterate -o "$TMP/it.json" 2>"$TMP/r.err"; then
    n=$(wc -l <"$TMP/it.json")
    [ "$n" = "$want" ] || echo "iterate returned $n of $want entities" >>"$TMP/read.fail"
  else
    cat "$TMP/r.err" >>"$TMP/read.fail"
  fi
  L statements sql --format csv "SELECT count(DISTINCT entity_id) FROM statement" >"$TMP/sql.out" 2>"$TMP/r.err" ||
    cat "$TMP/r.err" >>"$TMP/read.fail"
  [ "$(tail -1 "$TMP/sql.out")" = "$want" ] || echo "sql counted $(tail -1 "$TMP/sql.out")" >>"$TMP/read.fail"
  L export statements --force >/dev/null 2>"$TMP/r.err" || cat "$TMP/r.err" >>"$TMP/read.fail"
  reads=$((reads + 3))
done
wait "$opt"
RC=0
[ ! -s "$TMP/read.fail" ] || fail "reads failed beside optimize: $(head -c 600 "$TMP/read.fail")"
[ ! -s "$TMP/opt.fail" ] || fail "optimize failed beside the reads: $(head -c 600 "$TMP/opt.fail")"
[ "$reads" -ge 9 ] || fail "only $reads reads ran"
echo "$reads reads beside optimize in ${SECS}s"
# once the readers are gone, vacuum removes what they kept
run L maintenance optimize
expect_rc 0 "optimize after the readers"
[ -z "$(ls -A "$LAKE/ds/.LOCK-READS" 2>/dev/null)" ] || fail "read leases were left behind"

finish
