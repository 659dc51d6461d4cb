#!/usr/bin/env bash
# The store commands of ftm-lakehouse on real data: statements sql (table, csv, json, -o,
# errors), maintenance optimize (merge -> compact -> vacuum, --force, --retention-hours) and
# maintenance unlock; a dataset whose log names a missing file fails with a clear message.
BIN=${1:?usage: test_store_cli.sh path/to/ftm-lakehouse path/to/store_worker}
WORKER=${2:?usage: test_store_cli.sh path/to/ftm-lakehouse path/to/store_worker}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL
LAKE="$TMP/lake"
DS="$LAKE/ds"
PERSONS="$SHARED/data/wd_persons/entities.ftm.json"
L() { "$BIN" --uri "$LAKE" -d ds "$@"; }

# ---- an empty dataset: the views exist and are empty -------------------------------------
mkdir -p "$DS"
run L statements sql "SELECT count(*) AS n FROM statement"
expect_rc 0 "sql on an empty dataset"; expect_out "0"
run L maintenance optimize
expect_rc 0 "optimize without a table"; expect_out '"merged_partitions":0'

# ---- data written twice by a writer process (duplicates until merged) ---------------------
"$WORKER" append "$DS" "$PERSONS" crawl 0 1 100 "$TMP/ack" 2>/dev/null || fail "store_worker append"
"$WORKER" append "$DS" "$PERSONS" crawl 0 1 1000 "$TMP/ack" 2>/dev/null || fail "store_worker append"

run L statements sql "SELECT schema, count(DISTINCT entity_id) AS entities FROM statement GROUP BY 1 ORDER BY 1"
expect_rc 0 "sql table"
expect_out "schema    | entities"; expect_out "Person    | 100"; expect_err "4 row(s)"
run L statements sql --format csv "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM statement"
expect_rc 0 "sql csv (live view)"; [ "$OUT" = "$(printf '"n","ids"\n3179,3179')" ] || fail "live view deduplicates before a merge"
run L statements sql --format csv "SELECT count(*) AS n FROM statement_raw"
[ "$OUT" = "$(printf '"n"\n6358')" ] || fail "raw view keeps the duplicates"
run L statements sql --format json "SELECT entity_id, prop, value, external, first_seen FROM statement WHERE entity_id = 'Q101452678' AND prop = 'id'"
expect_rc 0 "sql json"
python3 - "$TMP/out" <<'PY' || fail "sql json lines"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 1, rows
r = rows[0]
assert r["entity_id"] == "Q101452678" and r["prop"] == "id" and r["external"] is False, r
assert r["first_seen"].endswith("Z"), r
PY
run L statements sql --format csv -o "$TMP/q.csv" "SELECT DISTINCT origin FROM statement"
expect_rc 0 "sql -o"; [ "$(cat "$TMP/q.csv")" = "$(printf '"origin"\n"crawl"')" ] || fail "sql -o writes the file"

# bad usage and bad SQL
run L statements sql
expect_rc 2 "sql without a query"; expect_err "missing the SQL query"
run L statements sql --format xml "SELECT 1"
expect_rc 2 "sql bad format"; expect_err "xml"
run L statements sql "SELECT frob FROM statement"
expect_rc 1 "sql binder error"; expect_err 'Referenced column "frob" not found'
run L statements sql "SELEC 1"
expect_rc 1 "sql syntax error"; expect_err "syntax error"

# ---- optimize -----------------------------------------------------------------------------
run L maintenance optimize --retention-hours soon
expect_rc 2 "bad --retention-hours"; expect_err "--retention-hours: expected a number of hours, got 'soon'"
run L maintenance optimize --frobnicate
expect_rc 2 "unknown optimize option"
run L maintenance optimize --retention-hours 1
expect_rc 0 optimize
expect_out '"merged_partitions":2'; expect_out '"rows_before":6358'; expect_out '"rows_after":3179'
expect_out '"vacuumed_files":0' # retention 1 h keeps the replaced files
expect_err "merged 2 partition(s)"
run L statements sql --format csv "SELECT count(*) FROM statement_raw"
[ "$(tail -1 "$TMP/out")" = 3179 ] || fail "optimize deduplicates"
run L maintenance optimize
expect_rc 0 "optimize again"; expect_out '"merged_partitions":0'; expect_out '"clean_partitions":2'
expect_out '"vacuumed_files":6' # retention 0 (the default): the replaced files go now
run L maintenance optimize --force
expect_rc 0 "optimize --force"; expect_out '"merged_partitions":2'; expect_out '"rows_after":3179'
[ -f "$DS/tags/lakehouse/statements/last_optimized" ] || fail "optimize stamps statements/last_optimized"

# ---- the fence ----------------------------------------------------------------------------
run L maintenance unlock
expect_rc 0 "unlock without a lock"; expect_err "No lock held."
# a lock held by a live process (this shell) with a fresh heartbeat blocks maintenance
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000+00:00)
printf '{"pid":%d,"host":"%s","token":"t","operation":"merge","heartbeat":"%s"}' $$ "$(hostname)" "$now" >"$DS/.LOCK"
LAKEHOUSE_LOCK_MAX_RETRIES=0 run L maintenance optimize
expect_rc 1 "optimize under a held lock"; expect_err "Already locked"
[ -f "$DS/.LOCK" ] || fail "a failed acquisition keeps the holder's lock"
run L statements sql --format csv "SELECT count(*) FROM statement"
expect_rc 0 "reads go on under the fence"
run L maintenance unlock
expect_rc 0 unlock; expect_err "Lock released."
[ ! -e "$DS/.LOCK" ] || fail "unlock deletes .LOCK"
# a Python-era lock (a bare timestamp) is never taken over, only unlocked
printf '"2026-01-01T00:00:00"' >"$DS/.LOCK"
LAKEHOUSE_LOCK_MAX_RETRIES=0 run L maintenance optimize
expect_rc 1 "optimize under a Python lock"; expect_err "Already locked"
run L maintenance unlock
expect_err "Lock released."

# ---- a log naming a missing data file ------------------------------------------------------
rm -f "$DS"/statements/shard=0/bucket=thing/origin=crawl/*.parquet
run L statements sql "SELECT count(*) FROM statement"
expect_rc 1 "missing data file"; expect_err "named by the log"; expect_err "is missing"
expect_err "shard=0/bucket=thing/origin=crawl/part-"

finish
