#!/usr/bin/env bash
# The ftm-lakehouse command: global options, help on every command, ls / datasets,
# statements explode on real data, and the errors bad input and bad usage get.
BIN=${1:?usage: test_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL

# ---- global options and help --------------------------------------------------------------
run "$BIN" --version
expect_rc 0 --version; expect_out "0.1.0" --version
for cmd in "" "ls" "datasets" "statements" "statements explode"; do
  run "$BIN" $cmd --help
  expect_rc 0 "$cmd --help"; expect_out "Usage: ftm-lakehouse" "$cmd --help"
done
run "$BIN" -d demo statements explode --help
expect_rc 0 "explode --help"; expect_out "--override-origin"
# Every command's help is generated from its option table: each option the command takes is
# listed, and each one is accepted (a bogus one is a usage error naming it, exit 2).
while IFS='|' read -r cmd options; do
  run "$BIN" -d demo $cmd --help
  expect_rc 0 "$cmd --help"; expect_out "Usage: ftm-lakehouse" "$cmd --help"
  for o in $options --help; do expect_out "$o" "$cmd --help lists $o"; done
  run "$BIN" -d demo $cmd --no-such-option
  expect_rc 2 "$cmd --no-such-option"
  expect_err "unknown or incomplete option '--no-such-option'" "$cmd --no-such-option"
  expect_err "Try 'ftm-lakehouse $cmd --help'" "$cmd --no-such-option"
done <<'TABLE'
ls|--output
datasets|--output
configure|--config
make|--config --flush --no-flush --optimize --no-optimize --exports --no-exports --force-optimize --force-exports
export|--force --no-force
entities iterate|--output --query --rql
entities stream|--output
entities import|--input --origin --override-origin --no-override-origin --bulk-size --last-seen --unsafe --strict --journal
statements iterate|--output --query --rql
statements stream|--output
statements import|--input --origin --override-origin --bulk-size --last-seen --unsafe --strict --journal
statements explode|--input --output --origin --override-origin --fragment --last-seen --strict --skip-unknown
statements sql|--format --output
maintenance flush|--all
maintenance optimize|--retention-hours --force --no-force
maintenance unlock|
crawl|--output --include --exclude --make-entities --no-make-entities --existing
archive ls|--output --keys --checksums
archive get|--output
archive head|--output
archive download|--output --force
archive gc|--dry-run
archive text get|--origin --output
archive text put|--input --origin
TABLE
# Numbers are checked against the option's range; options need their value.
run "$BIN" -d demo maintenance optimize --retention-hours -1
expect_rc 2 "negative hours"; expect_err "--retention-hours: expected a number of hours, got '-1'"
run "$BIN" -d demo entities import --bulk-size 0
expect_rc 2 "bulk size 0"; expect_err "--bulk-size: expected a number of rows from 1 to"
run "$BIN" -d demo entities iterate -q
expect_rc 2 "-q without a value"; expect_err "unknown or incomplete option '-q'"
run "$BIN" -d demo export
expect_rc 2 "export without KIND"; expect_err "missing KIND"
run "$BIN" -d demo maintenance unlock extra
expect_rc 2 "unlock with an argument"; expect_err "unexpected argument 'extra'"
run "$BIN"
expect_rc 0 "no command: the help"; expect_out "Commands:"
run "$BIN" frobnicate
expect_rc 2 "unknown command"; expect_err "no such command 'frobnicate'"
run "$BIN" statements frobnicate
expect_rc 2 "unknown subcommand"; expect_err "no such command 'frobnicate'"
run "$BIN" --bogus ls
expect_rc 2 "unknown global option"; expect_err "unknown or incomplete option '--bogus'"
run "$BIN" ls --bogus
expect_rc 2 "unknown ls option"; expect_err "Try 'ftm-lakehouse ls --help'"
run "$BIN" -d "Bad Name" ls
expect_rc 1 "invalid -d"; expect_err "invalid dataset name 'Bad Name'"
run "$BIN" -d catalog ls
expect_rc 1 "reserved -d"; expect_err "reserved"
run "$BIN" --uri "$TMP/lake" -d demo --dataset-uri "$TMP/x" --settings
expect_rc 0 --settings
python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["state"]["dataset"]=="demo", d; assert d["settings"]["grace_period_days"]==30; assert d["settings"]["resolved_journal_uri"].endswith("/lake/journal.db")' <"$TMP/out" \
  || fail "--settings JSON"
LAKEHOUSE_GRACE_PERIOD_DAYS=soon run "$BIN" ls
expect_rc 1 "bad setting"; expect_err "LAKEHOUSE_GRACE_PERIOD_DAYS"
LOG_LEVEL=chatty run "$BIN" ls
expect_rc 1 "bad log level"; expect_err "LOG_LEVEL"

# ---- ls / datasets ---------------------------------------------------------------------------
LAKE="$TMP/lake"
mkdir -p "$LAKE"
run "$BIN" --uri "$LAKE" ls
expect_rc 0 "ls empty"; [ "$OUT" = "" ] && [ "$(wc -c <"$TMP/out")" = 1 ] || fail "ls empty prints a lone newline"
mkdir -p "$LAKE/zeta" "$LAKE/alpha" "$LAKE/no_config" "$LAKE/Bad Name" "$LAKE/.hidden"
printf 'title: Alpha data\nshards: 4\ntags: [a, b]\n' >"$LAKE/alpha/config.yml"
printf 'name: zeta\n' >"$LAKE/zeta/config.yml"
printf 'x: 1\n' >"$LAKE/Bad Name/config.yml"
touch "$LAKE/journal.db"
run "$BIN" --uri "$LAKE" ls
expect_rc 0 ls; [ "$OUT" = "$(printf 'alpha\nzeta')" ] || fail "ls lists datasets with config.yml in order"
LAKEHOUSE_URI="file://$LAKE" run "$BIN" ls
[ "$OUT" = "$(printf 'alpha\nzeta')" ] || fail "ls via LAKEHOUSE_URI file://"
run "$BIN" --uri "$LAKE" datasets
expect_rc 0 datasets
python3 - "$LAKE" "$TMP/out" <<'PY' || fail "datasets JSON lines"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[2])]
assert [r["name"] for r in rows] == ["alpha", "zeta"], rows
assert rows[0]["title"] == "Alpha data" and rows[0]["shards"] == 4 and rows[0]["tags"] == ["a", "b"]
assert rows[1]["title"] == "zeta"
assert rows[0]["uri"] == "file://" + sys.argv[1] + "/alpha", rows[0]["uri"]
PY
run "$BIN" --uri "$LAKE" datasets -o "$TMP/datasets.json"
expect_rc 0 "datasets -o"; [ "$(wc -l <"$TMP/datasets.json")" = 2 ] || fail "datasets -o writes the file"
printf 'title: [unclosed\n' >"$LAKE/zeta/config.yml"
run "$BIN" --uri "$LAKE" datasets
expect_rc 1 "datasets with broken yaml"; expect_err "zeta/config.yml: invalid YAML at line"
run "$BIN" --uri "s3://bucket/lake" ls
expect_rc 1 "s3 lake"; expect_err "s3:// stores are not available yet"

# ---- statements explode ------------------------------------------------------------------------
DEMO="$SRC/examples/demo/entities.ftm.json"
run "$BIN" -d demo statements explode -i "$DEMO"
expect_rc 0 "explode demo"; expect_err "exploded 23 entities into 142 statements"
[ "$(printf '%s\n' "$OUT" | wc -l)" = 143 ] || fail "explode demo: header + 142 rows"
expect_out '"id","entity_id","canonical_id","prop","prop_type","schema","value","original_value","dataset","origin","lang","external","first_seen","last_seen","fragment"'
expect_out '"demo-company-blue-harbour","demo-company-blue-harbour","jurisdiction","country","Company","cy",,"demo","bulk",,false,2025-01-10 08:00:00.000000Z,2025-06-01 12:00:00.000000Z,""'
run "$BIN" -d demo statements explode -i - <"$DEMO"
expect_rc 0 "explode from stdin"; expect_err "from <stdin>"
run "$BIN" -d demo statements explode -i "$DEMO" --origin registry --override-origin --fragment f1 --last-seen 2026-01-01
expect_rc 0 "explode with options"
expect_out '"demo","registry",,false'
expect_out '2026-01-01 00:00:00.000000Z,"f1"'
run "$BIN" -d wd_persons statements explode -i "$SHARED/data/wd_persons/entities.ftm.json" -o "$TMP/wd.csv"
expect_rc 0 "explode wd_persons"
[ "$(wc -l <"$TMP/wd.csv")" = 3180 ] || fail "wd_persons: 3,179 statements + header"
# every statement id of the pack is among the exploded ids (the pack repeats some rows)
python3 - "$TMP/wd.csv" "$SHARED/data/wd_persons/statements.pack" <<'PY' || fail "explode ids cover the pack"
import csv, sys
ours = {r["id"] for r in csv.DictReader(open(sys.argv[1]))}
pack = [r[10] for r in csv.reader(open(sys.argv[2])) if not r[1].endswith(":id")]
missing = [i for i in pack if i not in ours]
assert not missing and len(pack) == 4764, (len(pack), missing[:3])
PY
run "$BIN" -d yente statements explode -i "$SHARED/data/yente-fixtures/entities.delta.json"
expect_rc 0 "explode delta file"; expect_err "exploded 1129 entities"; expect_err "delete operations skipped"
run "$BIN" statements explode -i "$DEMO"
expect_rc 1 "explode without -d"; expect_err "specify the dataset with -d"
run "$BIN" -d demo statements explode -i "$TMP/nope.json"
expect_rc 1 "missing input"; expect_err "cannot open '$TMP/nope.json'"
run "$BIN" -d demo statements explode -i "$DEMO" --origin "a/b"
expect_rc 1 "bad --origin"; expect_err "invalid origin 'a/b'"
run "$BIN" -d demo statements explode -i "$DEMO" --last-seen tomorrow
expect_rc 1 "bad --last-seen"; expect_err "--last-seen: invalid ISO date/time 'tomorrow'"
run "$BIN" -d demo statements explode -i "$DEMO" extra-arg
expect_rc 2 "unexpected argument"; expect_err "unexpected argument 'extra-arg'"

# ---- the broken-input corpus: a clear error naming the line, earlier lines kept (--strict:
# what would otherwise be dropped and counted is an error too; test_parity_cli.sh checks the
# drops) -----------------------------------------------------------------------------------------
for input in "$SRC"/tests/badinput/*.json; do
  name=$(basename "$input" .json)
  want_rc=$(sed -n 1p "${input%.json}.expect")
  want_msg=$(sed -n 2p "${input%.json}.expect")
  run "$BIN" -d demo statements explode --strict -i "$input" -o "$TMP/partial.csv"
  expect_rc "$want_rc" "badinput/$name"
  expect_clean "badinput/$name"
  [ -z "$want_msg" ] || expect_err "$want_msg" "badinput/$name"
  want_rows=$(sed -n 3p "${input%.json}.expect")
  rows=$(($(wc -l <"$TMP/partial.csv") - 1))
  [ "$rows" = "$want_rows" ] || fail "badinput/$name: $rows statement rows kept, want $want_rows"
  if [ "$want_rc" != 0 ]; then
    [ "$(printf '%s\n' "$ERR" | grep -c '^error: ')" = 1 ] || fail "badinput/$name: one error line"
  fi
done

# ---- the model can be replaced at run time ------------------------------------------------------
python3 - "$SRC/third_party/ftm-model/defaultModel.json" "$TMP/model.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["schemata"]["Vessel2"] = {"label": "Ship", "extends": ["Vessel"], "properties": {
    "hull": {"name": "hull", "qname": "Vessel2:hull", "label": "Hull", "type": "string"}}}
json.dump(m, open(sys.argv[2], "w"))
PY
echo '{"id":"s1","schema":"Vessel2","properties":{"name":["Ever Given"],"hull":["steel"]}}' >"$TMP/ship.json"
run "$BIN" -d demo statements explode -i "$TMP/ship.json"
expect_rc 1 "custom schema without the custom model"; expect_err "unknown schema 'Vessel2'"
LAKEHOUSE_FTM_MODEL="$TMP/model.json" run "$BIN" -d demo statements explode -i "$TMP/ship.json"
expect_rc 0 "custom model"; expect_out '"hull","string","Vessel2","steel"'
echo '{"schemata": ' >"$TMP/broken-model.json"
LAKEHOUSE_FTM_MODEL="$TMP/broken-model.json" run "$BIN" -d demo statements explode -i "$TMP/ship.json"
expect_rc 1 "broken model"; expect_err "broken-model.json: FtM model: invalid JSON"

finish
