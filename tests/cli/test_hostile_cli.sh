#!/usr/bin/env bash
# What a careless or hostile user tried on the lake (issue "nothing lost, nothing leaked"),
# each as it must behave now: user SQL confined to the table's files, a lost Delta log never
# read as an empty table nor vacuumed away, foreign files left alone, shard counts recorded.
BIN=${1:?usage: test_hostile_cli.sh path/to/ftm-lakehouse path/to/store_worker}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL LAKEHOUSE_JOURNAL_URI
LAKE="$TMP/lake"
DS="$LAKE/ds"
PERSONS="$SHARED/data/wd_persons/entities.ftm.json"
L() { "$BIN" --uri "$LAKE" -d ds "$@"; }
count() { L statements sql --format csv "SELECT count(*) FROM statement" 2>/dev/null | tail -1; }

run L entities import -i "$PERSONS"
expect_rc 0 "import"

# ---- 1. statements sql is confined to the table's files ---------------------------------------
LOG0="$DS/statements/_delta_log/00000000000000000000.json"
sum0=$(sha256sum "$LOG0")
echo "secret" >"$TMP/secret.txt"
for q in "SELECT * FROM read_text('/etc/passwd')" \
  "SELECT * FROM read_text('$TMP/secret.txt')" \
  "SELECT * FROM read_csv('$TMP/secret.txt')" \
  "SELECT * FROM read_parquet('$TMP/secret.txt')" \
  "SELECT * FROM read_blob('$LOG0')" \
  "SELECT * FROM read_json('$LOG0')" \
  "SELECT * FROM glob('$DS/**')" \
  "SELECT * FROM sniff_csv('/etc/passwd')" \
  "SELECT * FROM sniff_csv('$TMP/secret.txt')" \
  "SELECT * FROM parquet_metadata('$TMP/secret.txt')" \
  "SELECT * FROM '$TMP/secret.txt'" \
  "EXPORT DATABASE '$TMP/export'" \
  "COPY (SELECT 'x' AS a) TO '$DS/statements/_delta_log/00000000000000000002.json' (FORMAT csv, HEADER false)" \
  "COPY (SELECT 'x' AS a) TO '$LOG0' (FORMAT csv, HEADER false)"; do
  run L statements sql "$q"
  expect_rc 1 "sql: $q"
  expect_err "error:"
  grep -q "root:" "$TMP/out" && fail "sql leaked /etc/passwd: $q"
  grep -q "secret" "$TMP/out" && fail "sql leaked a file: $q"
done
[ ! -e "$TMP/export" ] || fail "EXPORT DATABASE wrote a folder"
[ ! -e "$DS/statements/_delta_log/00000000000000000002.json" ] || fail "COPY wrote into the log"
[ "$(sha256sum "$LOG0")" = "$sum0" ] || fail "COPY overwrote a commit"
for q in "ATTACH '$TMP/x.db' AS x" "INSTALL httpfs" "LOAD parquet" "SET enable_external_access = true" \
  "CREATE TABLE t AS SELECT 1" "PRAGMA enable_profiling" "CALL pragma_version()" "EXPLAIN SELECT 1"; do
  run L statements sql "$q"
  expect_rc 1 "sql: $q"; expect_err "only SELECT queries are allowed"
done
[ ! -e "$TMP/x.db" ] || fail "ATTACH created a database file"
run L statements sql "SELECT 1; COPY (SELECT 1) TO '$TMP/two.csv'"
expect_rc 1 "two statements"; expect_err "one statement per call (the query holds 2)"
[ ! -e "$TMP/two.csv" ] || fail "a second statement ran"
run L statements sql "SELECT * FROM query('COPY (SELECT 1) TO ''$TMP/q.csv''')"
expect_rc 1 "query() with a COPY"
[ ! -e "$TMP/q.csv" ] || fail "query() wrote a file"
# the views still work, and a big result stops at the row cap with a clear error
[ "$(count)" = 3179 ] || fail "the views answer"
LAKEHOUSE_SQL_MAX_ROWS=100 run L statements sql --format csv "SELECT * FROM statement"
expect_rc 1 "row cap"; expect_err "more than 100 rows (LAKEHOUSE_SQL_MAX_ROWS)"
LAKEHOUSE_SQL_TIMEOUT=1 run L statements sql --format csv \
  "SELECT count(*) FROM range(1000000000000) a, range(10) b"
expect_rc 1 "time cap"; expect_err "longer than 1 s (LAKEHOUSE_SQL_TIMEOUT)"
LAKEHOUSE_SQL_TIMEOUT=0 run L statements sql "SELECT 1"
expect_rc 1 "bad LAKEHOUSE_SQL_TIMEOUT"; expect_err "LAKEHOUSE_SQL_TIMEOUT"
ls /tmp | grep -q "^lh-sql-" && fail "a spill folder was left in /tmp"
run L entities iterate -q "filter:id=Q101452678"
expect_rc 0 "reads after the attack"; expect_out '"id":"Q101452678"'

# ---- 3. a lost Delta log is an error, never an empty table; vacuum spares foreign files ------
LOST="$LAKE/lost"
run "$BIN" --uri "$LAKE" -d lost entities import -i "$PERSONS"
expect_rc 0 "import (lost)"
nfiles=$(find "$LOST/statements" -name '*.parquet' | wc -l)
rm "$LOST"/statements/_delta_log/*
for cmd in "entities import -i $PERSONS" "entities iterate" "maintenance optimize" "make" \
  "export statistics --force"; do
  # shellcheck disable=SC2086
  run "$BIN" --uri "$LAKE" -d lost $cmd
  expect_rc 1 "lost log: $cmd"
  expect_err "error: lost/statements holds data files (e.g. 'shard=0/bucket="
  expect_err "but no Delta log (_delta_log is missing or empty)"
done
[ "$(find "$LOST/statements" -name '*.parquet' | wc -l)" = "$nfiles" ] || fail "the data files survive"
[ -z "$(ls "$LOST/statements/_delta_log")" ] || fail "no new log was started over the data"
rm -rf "$LOST/statements" && echo "not a folder" >"$LOST/statements"
run "$BIN" --uri "$LAKE" -d lost entities iterate
expect_rc 1 "statements is a file"; expect_err "lost/statements is a file, not the folder"
run "$BIN" --uri "$LAKE" -d lost entities import -i "$PERSONS"
expect_rc 1 "import over a plain file"
rm "$LOST/statements" && mkdir -p "$LOST/statements" && echo x >"$LOST/statements/_delta_log"
run "$BIN" --uri "$LAKE" -d lost entities import -i "$PERSONS"
expect_rc 1 "_delta_log is a file"; expect_err "statements/_delta_log is a file"
# files under statements/ that this lake did not write stay where they are
echo "my notes" >"$DS/statements/notes.txt"
cp "$(find "$DS/statements" -name 'part-*.parquet' | head -1)" "$DS/statements/shard=0/bucket=thing/origin=bulk/foreign.parquet"
run L maintenance optimize --force
expect_rc 0 "optimize beside foreign files"; expect_err "did not write (e.g. '"
[ -f "$DS/statements/notes.txt" ] || fail "vacuum deleted notes.txt"
[ -f "$DS/statements/shard=0/bucket=thing/origin=bulk/foreign.parquet" ] || fail "vacuum deleted a foreign Parquet file"
[ "$(count)" = 3179 ] || fail "rows after optimize"

# ---- 6. the shard count is recorded with the table ---------------------------------------------
grep -q '"ftm_lakehouse.shards":"0"' "$DS/statements/_delta_log/00000000000000000000.json" ||
  fail "the table records its shard count"
cp "$DS/config.yml" "$TMP/config.yml"
sed -i 's/^shards: 0$/shards: 8/' "$DS/config.yml"
run L entities import -i "$PERSONS"
expect_rc 1 "import under a hand-edited shard count"
expect_err "ds/config.yml says shards: 8, but the statement table was written with 0 shard(s)"
run L entities import --journal -i "$PERSONS"
expect_rc 0 "journal import (the rows wait in the journal)"
run L maintenance flush
expect_rc 1 "flush under a hand-edited shard count"; expect_err "says shards: 8"
cp "$TMP/config.yml" "$DS/config.yml"
run L maintenance flush
expect_rc 0 "flush once the count is restored"; expect_err "Flushed 3179 statements."
run L maintenance optimize
[ "$(count)" = 3179 ] || fail "no duplicated live rows"
# a table from before the count was recorded: judged by the shards it holds, recorded by optimize
run "$BIN" --uri "$LAKE" -d legacy entities import -i "$PERSONS"
sed -i 's/"configuration":{"ftm_lakehouse.shards":"0"}/"configuration":{}/' \
  "$LAKE/legacy/statements/_delta_log/00000000000000000000.json"
cp "$LAKE/legacy/config.yml" "$TMP/legacy.yml"
sed -i 's/^shards: 0$/shards: 32/' "$LAKE/legacy/config.yml"
run "$BIN" --uri "$LAKE" -d legacy entities import -i "$PERSONS"
expect_rc 1 "legacy table, other shard count"
expect_err "holds shard '0', which that count does not produce"
cp "$TMP/legacy.yml" "$LAKE/legacy/config.yml"
run "$BIN" --uri "$LAKE" -d legacy maintenance optimize
expect_rc 0 "optimize a legacy table"; expect_err "recorded the shard count (0)"
grep -lq '"ftm_lakehouse.shards":"0"' "$LAKE"/legacy/statements/_delta_log/*.json ||
  fail "optimize records the shard count"

# ---- 5. two lakes sharing one journal file never take each other's rows -------------------------
export LAKEHOUSE_JOURNAL_URI="sqlite:///$TMP/shared-journal.db"
run "$BIN" --uri "$TMP/lake_a" -d ds entities import --journal -i "$PERSONS"
expect_rc 0 "lake A writes to the shared journal"
run "$BIN" --uri "$TMP/lake_b" -d ds entities import --journal -i "$SHARED/data/yente-fixtures/zala/entities.ftm.json"
expect_rc 0 "lake B writes to the shared journal"
run "$BIN" --uri "$TMP/lake_b" -d ds maintenance flush
expect_rc 0 "lake B flushes"; expect_err "Flushed 1710 statements."
run "$BIN" --uri "$TMP/lake_a" -d ds maintenance flush
expect_rc 0 "lake A flushes"; expect_err "Flushed 3179 statements."
run "$BIN" --uri "$TMP/lake_b" -d ds statements sql --format csv "SELECT count(*) FROM statement"
[ "$(tail -1 "$TMP/out")" = 1710 ] || fail "lake B holds only its own rows"
unset LAKEHOUSE_JOURNAL_URI

# ---- 7. repeated filter keys are OR-ed in one IN list; bad filters are errors --------------------
n() { L entities iterate -q "$1" 2>/dev/null | wc -l; }
[ "$(n 'filter:name=Fahd%20Hariri')" = 1 ] || fail "one name"
[ "$(n 'filter:name=Fahd+Hariri&filter:name=Saad%20bin%20Faisal%20Al%20Saud')" = 2 ] || fail "two names are OR-ed"
[ "$(n 'filter:countries=lb&filter:countries=fr')" = 6 ] || fail "two countries are OR-ed"
[ "$(n 'filter:countries=lb&filter:countries=fr&filter:schema=Person')" = 4 ] || fail "different keys are AND-ed"
python3 -c "
import urllib.parse
print('&'.join('filter:name=' + urllib.parse.quote(v) for v in ['v%d' % i for i in range(1000)] + ['Fahd Hariri']))" >"$TMP/q1000"
run L entities iterate -q "$(cat "$TMP/q1000")"
expect_rc 0 "1001 values of one key"; [ "$(wc -l <"$TMP/out")" = 1 ] || fail "1001 values find the one entity"
run L entities iterate -q 'filter:nmae=x'
expect_rc 1 "unknown property"; expect_err "query: unknown property 'nmae'"
run L entities iterate -q 'filter:name=%zz'
expect_rc 1 "bad escape"; expect_err "bad %-escape '%zz'"
run L entities iterate -q 'filter:name=a%00b'
expect_rc 1 "escaped NUL"; expect_err "bad %-escape '%00'"
run L entities iterate -q 'offset=100000000000000000000'
expect_rc 1 "huge offset"; expect_err "'offset' must be an integer from 0 to"
run L entities import --bulk-size 99999999999999999999 -i "$PERSONS"
expect_rc 2 "huge --bulk-size"; expect_err "--bulk-size: expected a number of rows from 1 to"

# ---- 8 and 10. a bad row keeps the rows before it, and names file, line and field ----------------
python3 - "$TMP" <<'PY'
import csv, sys
d = sys.argv[1]
with open(d + "/good.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["entity_id", "schema", "prop", "value", "external"])
    for i in range(1000):
        w.writerow([f"p{i}", "Person", "name", f"Name {i}", "false"])
good = open(d + "/good.csv", "rb").read()
bad = {
    "badutf": b'p1000,Person,name,"bad \xff value",false\n',
    "nul": b'p1000,Person,name,"ab\x00cd",false\n',
    "maybe": b"p1000,Person,name,x,maybe\n",
    "extra": b"p1000,Person,name,x,false,extra\n",
}
for name, line in bad.items():
    open(f"{d}/{name}.csv", "wb").write(good + line)
open(d + "/dupcol.csv", "wb").write(b"entity_id,schema,prop,value,value\np1,Person,name,a,b\n")
PY
for c in "badutf:column 'value' is not valid UTF-8" "nul:field 4 holds a NUL byte" \
  "maybe:column 'external' must be true or false, not 'maybe'" "extra:6 fields, but the header has 5 columns"; do
  f=${c%%:*}
  want=${c#*:}
  for mode in direct journal; do
    ds="csv_${f}_$mode"
    flag=$([ $mode = journal ] && echo --journal || true)
    run "$BIN" --uri "$LAKE" -d "$ds" statements import $flag -i "$TMP/$f.csv"
    expect_rc 1 "$f ($mode)"; expect_err "$f.csv line 1002: $want"
    expect_err "Kept 1000 statement rows read before the error"
    [ $mode = journal ] && "$BIN" --uri "$LAKE" -d "$ds" maintenance flush >/dev/null 2>&1
    got=$("$BIN" --uri "$LAKE" -d "$ds" statements sql --format csv "SELECT count(*) FROM statement" 2>/dev/null | tail -1)
    [ "$got" = 1000 ] || fail "$f ($mode): the 1000 rows before the bad one are kept (got $got)"
  done
done
run "$BIN" --uri "$LAKE" -d csv_dup statements import -i "$TMP/dupcol.csv"
expect_rc 1 "duplicate column"; expect_err "dupcol.csv line 1: the header names 'value' twice (columns 4 and 5)"
# entities: duplicate keys and abstract schemata are errors
head -100 "$PERSONS" >"$TMP/dupkey.json"
echo '{"id":"x4","schema":"Person","properties":{"name":["X"]},"properties":{"name":["Y"]}}' >>"$TMP/dupkey.json"
run "$BIN" --uri "$LAKE" -d dupkey entities import -i "$TMP/dupkey.json"
expect_rc 1 "duplicate key"; expect_err "dupkey.json line 101: field 'properties' appears twice"
[ "$("$BIN" --uri "$LAKE" -d dupkey statements sql --format csv "SELECT count(DISTINCT entity_id) FROM statement" 2>/dev/null | tail -1)" = 100 ] ||
  fail "the 100 entities before the duplicate key are kept"
echo '{"id":"x5","schema":"Person","properties":{"name":["X"],"name":["Y"]}}' >"$TMP/dupprop.json"
run "$BIN" --uri "$LAKE" -d dupkey entities import -i "$TMP/dupprop.json"
expect_rc 1 "duplicate property"; expect_err "property 'name' appears twice in 'properties'"
echo '{"id":"x6","schema":"Thing","properties":{"name":["X"]}}' >"$TMP/thing.json"
run "$BIN" --uri "$LAKE" -d dupkey entities import -i "$TMP/thing.json"
expect_rc 1 "abstract schema"; expect_err "schema 'Thing' is abstract"

# a damaged Parquet page names the file
run "$BIN" --uri "$LAKE" -d damaged entities import -i "$PERSONS"
big=$(find "$LAKE/damaged/statements" -name '*.parquet' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
python3 - "$big" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
at = len(b) * 3 // 4
b[at:at + 300] = b"\xff" * 300
open(p, "wb").write(b)
PY
run "$BIN" --uri "$LAKE" -d damaged entities iterate
expect_rc 1 "damaged page"; expect_err "$(basename "$big")"

finish
