#!/usr/bin/env bash
# CLI: entities/statements import|iterate|stream, maintenance flush (inventory §2.3, §2.4,
# §2.6); a flush killed halfway loses nothing; several processes on one SQLite journal.
BIN=$1
source "$(dirname "$0")/lib.sh"
D=$SHARED/data
L=(--uri "$TMP/lake")
unset LAKEHOUSE_JOURNAL_URI
lines() { grep -c . "$TMP/out"; }

# ---- direct import, iterate ---------------------------------------------------------------
run "$BIN" "${L[@]}" -d wd entities import -i "$D/wd_persons/entities.ftm.json"
expect_rc 0 "entities import"; expect_err "Imported 281 entities as 3179 statement rows into the statement store"
run "$BIN" "${L[@]}" -d wd entities iterate
expect_rc 0 "entities iterate"; [ "$(lines)" = 281 ] || fail "iterate: $(lines) entities, want 281"
python3 - "$TMP/out" "$D/wd_persons/entities.ftm.json" <<'PY' || fail "iterate: values differ from the input"
import json, sys
got = {e["id"]: e for e in map(json.loads, open(sys.argv[1]))}
for line in open(sys.argv[2]):
    e = json.loads(line)
    g = got[e["id"]]
    assert g["schema"] == e["schema"], e["id"]
    for p, vs in e["properties"].items():
        assert sorted(g["properties"][p]) == sorted(set(vs)), (e["id"], p)
        assert g["properties"][p] == sorted(g["properties"][p]), "values are sorted"
PY
run "$BIN" "${L[@]}" -d wd entities iterate -q 'filter:schema=Position&limit=3' -o "$TMP/pos.json"
expect_rc 0 "iterate -q -o"; [ "$(grep -c '"schema":"Position"' "$TMP/pos.json")" = 3 ] || fail "-q limit"
run "$BIN" "${L[@]}" -d wd entities iterate -q 'filter:schema=Person' --rql 'eq(schema,Person)'
expect_rc 1 "-q with --rql"; expect_err "use either -q or --rql"
run "$BIN" "${L[@]}" -d wd entities iterate -q 'filter:schema=Nope'
expect_rc 1 "unknown schema in -q"; expect_err "unknown schema 'Nope'"

# statements iterate: the 18 store columns, csv.DictWriter style
run "$BIN" "${L[@]}" -d wd statements iterate
expect_rc 0 "statements iterate"
head -1 "$TMP/out" | grep -q $'^shard,id,entity_id,dataset,bucket,origin,source,schema,prop,prop_type,value,original_value,lang,external,first_seen,last_seen,fragment,deleted_at\r$' \
  || fail "statements iterate header"
[ "$(lines)" = 3180 ] || fail "statements iterate: $(lines) lines, want 3180"
grep -q ',False,2024-03-09 09:28:18+00:00,' "$TMP/out" || fail "statements iterate: python-style values"

# statements import of the pack, from stdin, and of our own CSV export of it
run "$BIN" "${L[@]}" -d pack statements import <"$D/wd_persons/statements.pack"
expect_rc 0 "statements import pack"; expect_err "Imported 5112 statements"
run "$BIN" "${L[@]}" -d pack entities iterate
[ "$(lines)" = 281 ] || fail "pack: $(lines) entities"
"$BIN" "${L[@]}" -d pack statements explode -i "$D/wd_persons/entities.ftm.json" -o "$TMP/st.csv" 2>/dev/null
run "$BIN" "${L[@]}" -d csv statements import -i "$TMP/st.csv" --origin forced --override-origin
expect_rc 0 "statements import csv"
run "$BIN" "${L[@]}" -d csv statements sql "SELECT DISTINCT origin FROM statement" --format csv
expect_out "forced"

# invalid UTF-8 in a statements CSV: refused at its line, naming file, line and column; the
# rows before it are committed (one rule for every import)
python3 - "$TMP/st.csv" "$TMP/bad-utf8.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
head, body = rows[0], rows[1:40]
i = head.index("value")
with open(sys.argv[2], "wb") as o:
    o.write((",".join(head) + "\n").encode())
    for n, r in enumerate(body):
        cells = ['"%s"' % c.replace('"', '""') for c in r]
        if n == 30:  # the 31st data row (line 32): a value that is not UTF-8
            cells[i] = "\x00"
        line = ",".join(cells).encode().replace(b"\x00", b'"caf\xe9"')
        o.write(line + b"\n")
PY
run "$BIN" "${L[@]}" -d badutf statements import -i "$TMP/bad-utf8.csv"
expect_rc 1 "statements import, invalid UTF-8"
expect_err "bad-utf8.csv line 32: column 'value' is not valid UTF-8 (at byte 4)"
expect_err "Kept 30 statement rows read before the error (committed to the store)."
run "$BIN" "${L[@]}" -d badutf statements sql "SELECT count(*) FROM statement" --format csv
expect_out "30"

# the nomenklatura v4 statements CSV (external as t/f), made from the pack
python3 - "$D/wd_persons/statements.pack" "$TMP/v4.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w", newline="") as o:
    w = csv.writer(o, dialect="unix")
    w.writerow("canonical_id,entity_id,prop,prop_type,schema,value,dataset,origin,lang,original_value,external,first_seen,last_seen,id".split(","))
    for r in csv.reader(f):
        schema, prop = r[1].split(":", 1)
        w.writerow([r[0], r[0], prop, "", schema, r[2], r[3], "", r[4], r[5], r[7], r[8], r[9], r[10]])
PY
run "$BIN" "${L[@]}" -d v4 statements import -i "$TMP/v4.csv"
expect_rc 0 "statements import v4"; expect_err "Imported 5112 statements"
run "$BIN" "${L[@]}" -d v4 entities iterate
[ "$(lines)" = 281 ] || fail "v4: $(lines) entities"
run "$BIN" "${L[@]}" -d v4 statements sql "SELECT count(*) FROM statement WHERE first_seen = TIMESTAMPTZ '2024-03-09 09:28:18+00'" --format csv
expect_out "3185" "v4: first_seen carried over"

# ---- bad input: line numbers, exit 1, earlier lines kept -----------------------------------
head -5 "$D/wd_persons/entities.ftm.json" >"$TMP/bad.json"
echo '{"id": "broken", "schema": "Person", "properties": {' >>"$TMP/bad.json"
tail -2 "$D/wd_persons/entities.ftm.json" >>"$TMP/bad.json"
run "$BIN" "${L[@]}" -d bad entities import -i "$TMP/bad.json"
expect_rc 1 "bad json"; expect_err "$TMP/bad.json line 6"; expect_err "Kept"
run "$BIN" "${L[@]}" -d bad entities iterate
[ "$(lines)" = 5 ] || fail "bad json: $(lines) entities kept, want 5"
printf 'entity_id,prop,value\nx,name,y\n' >"$TMP/nocol.csv"
run "$BIN" "${L[@]}" -d bad statements import -i "$TMP/nocol.csv"
expect_rc 1 "csv without schema"; expect_err "line 1: the header has no 'schema' column"
run "$BIN" "${L[@]}" -d bad entities import --bulk-size 0 -i "$TMP/bad.json"
expect_rc 2 "--bulk-size 0"
run "$BIN" "${L[@]}" -d bad entities import --origin 'no/slash' -i "$TMP/bad.json"
expect_rc 1 "bad --origin"; expect_err "--origin"
run "$BIN" "${L[@]}" -d bad entities import -i "$TMP/missing.json"
expect_rc 1 "missing input"

# ---- journal: import, flush, flush --all ----------------------------------------------------
run "$BIN" "${L[@]}" -d jr entities import --journal -i "$D/yente-fixtures/zala/entities.ftm.json"
expect_rc 0 "import --journal"; expect_err "into the journal"
[ -f "$TMP/lake/journal.db" ] || fail "the default journal is {lake}/journal.db"
run "$BIN" "${L[@]}" -d jr entities iterate
[ "$(lines)" = 0 ] || fail "nothing is visible before the flush"
run "$BIN" "${L[@]}" -d jr maintenance flush
expect_rc 0 "flush"; expect_err "Flushed 1710 statements."
run "$BIN" "${L[@]}" -d jr maintenance flush
expect_rc 0 "empty flush"; expect_err "Flushed 0 statements."
run "$BIN" "${L[@]}" -d jr entities iterate
[ "$(lines)" = 91 ] || fail "after flush: $(lines) entities, want 91"
run "$BIN" "${L[@]}" -d jr maintenance flush --all
expect_rc 1 "-d with --all"; expect_err "Use either -d <dataset> or --all, not both."
"$BIN" "${L[@]}" -d jr2 entities import --journal -i "$D/wd_persons/entities.ftm.json" 2>/dev/null
run "$BIN" "${L[@]}" maintenance flush --all
expect_rc 0 "flush --all"; expect_err "Flushed 3179 statements in total."

# ---- a flush killed halfway loses nothing --------------------------------------------------
for point in journal:drained append:parquet-written; do
  ds=crash${point%%:*}
  "$BIN" "${L[@]}" -d "$ds" entities import --journal -i "$D/nomenklatura-fixtures/donations.ijson" 2>/dev/null
  run env LAKEHOUSE_TEST_CRASH=$point "$BIN" "${L[@]}" -d "$ds" maintenance flush
  [ "$RC" = 137 ] || fail "flush should be killed at $point"
  run "$BIN" "${L[@]}" -d "$ds" maintenance unlock
  run "$BIN" "${L[@]}" -d "$ds" maintenance flush
  expect_rc 0 "flush after the kill at $point"
  run "$BIN" "${L[@]}" -d "$ds" maintenance flush
  expect_err "Flushed 0 statements."
  run "$BIN" "${L[@]}" -d "$ds" entities iterate
  [ "$(lines)" = 474 ] || fail "after the kill at $point: $(lines) entities, want 474"
  "$BIN" "${L[@]}" -d "$ds" maintenance optimize >/dev/null 2>&1
  run "$BIN" "${L[@]}" -d "$ds" statements sql "SELECT count(*) AS n FROM statement_raw" --format csv
  expect_out "2857" "rows after the kill at $point and a merge"
done

# ---- several processes on one SQLite journal -----------------------------------------------
pids=()
n=0
for f in wd_persons/entities.ftm.json yente-fixtures/zala/entities.ftm.json nomenklatura-fixtures/donations.ijson; do
  n=$((n + 1))
  "$BIN" "${L[@]}" -d multi entities import --journal -i "$D/$f" 2>"$TMP/writer$n.err" &
  pids+=($!)
done
# flushes race with the writers; each drains whatever was rotated
for i in 1 2 3; do "$BIN" "${L[@]}" -d multi maintenance flush 2>/dev/null || fail "flush during writes"; done
n=0
for p in "${pids[@]}"; do
  n=$((n + 1))
  wait "$p" || fail "writer $n failed: $(cat "$TMP/writer$n.err")"
done
run "$BIN" "${L[@]}" -d multi maintenance flush
expect_rc 0 "final flush"
run "$BIN" "${L[@]}" -d multi entities iterate
[ "$(lines)" = $((281 + 91 + 474)) ] || fail "multi: $(lines) entities, want 846"

# ---- stream -------------------------------------------------------------------------------
run "$BIN" "${L[@]}" -d wd entities stream
expect_rc 1 "stream without export"; expect_err "entities.ftm.json does not exist"
"$BIN" "${L[@]}" -d wd entities iterate -o "$TMP/e.json" 2>/dev/null
gzip -c "$TMP/e.json" >"$TMP/lake/wd/entities.ftm.json.gz"
run "$BIN" "${L[@]}" -d wd entities stream -o "$TMP/streamed.json"
expect_rc 0 "stream gz"; cmp -s "$TMP/e.json" "$TMP/streamed.json" || fail "stream gz bytes"
rm "$TMP/lake/wd/entities.ftm.json.gz"
zstd -q -c "$TMP/e.json" >"$TMP/lake/wd/entities.ftm.json.zst"
run "$BIN" "${L[@]}" -d wd entities stream
expect_rc 0 "stream zst"; cmp -s "$TMP/e.json" "$TMP/out" || fail "stream zst bytes"
# ---- a PostgreSQL journal (the fixture's server) -------------------------------------------
# The binary does not link libpq: it loads it when a PostgreSQL journal is opened.
[ -n "${LH_TEST_PG_URI_FILE:-}" ] && [ -s "$LH_TEST_PG_URI_FILE" ] || fail "no PostgreSQL fixture"
PG_URI=$(cat "$LH_TEST_PG_URI_FILE")
readelf -d "$BIN" | grep -q 'NEEDED.*libpq' && fail "the binary links libpq at start-up"
run env LAKEHOUSE_JOURNAL_URI="$PG_URI" "$BIN" --uri "$TMP/pglake" -d pgwd entities import --journal \
  -i "$D/wd_persons/entities.ftm.json"
expect_rc 0 "import --journal into PostgreSQL"; expect_err "as 3179 statement rows into the journal"
run env LAKEHOUSE_JOURNAL_URI="$PG_URI" "$BIN" --uri "$TMP/pglake" -d pgwd maintenance flush
expect_rc 0 "flush from PostgreSQL"; expect_err "Flushed 3179 statements."
run "$BIN" --uri "$TMP/pglake" -d pgwd entities iterate
[ "$(lines)" = 281 ] || fail "PostgreSQL journal: $(lines) entities, want 281"
# a server that is not there: a clear error, no crash
run env LAKEHOUSE_JOURNAL_URI="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2" "$BIN" \
  --uri "$TMP/pglake" -d pgwd maintenance flush
expect_rc 1 "flush from an absent server"; expect_err "127.0.0.1"

finish
