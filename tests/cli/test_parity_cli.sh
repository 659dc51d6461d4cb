#!/usr/bin/env bash
# Drop-in parity with the Python project (issue "what its own test suite still catches"): the
# behaviours its tests assert, and the on-disk files a lake written by either project holds.
# Expected values come from inventory.md (cited per block); YAML is checked against PyYAML
# (Debian's python3-yaml) dumping the model the Python project would dump.
BIN=${1:?usage: test_parity_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL LAKEHOUSE_JOURNAL_URI LAKEHOUSE_PUBLIC_URL_PREFIX
PY=/usr/bin/python3 # Debian's, with python3-yaml
LAKE="$TMP/lake"
PERSONS="$SHARED/data/wd_persons/entities.ftm.json"
L() { "$BIN" --uri "$LAKE" "$@"; }
sql() { L -d "$1" statements sql --format csv "$2" 2>/dev/null | tail -1; }

# ---- 1. test_integration_cli::test_cli: no command prints the help, exit 0 (§2) ---------------
run L
expect_rc 0 "--uri LAKE without a command"; expect_out "Commands:"
run L -d ds
expect_rc 0 "--uri LAKE -d ds without a command"; expect_out "Commands:"
run L -d ds entities
expect_rc 0 "a group without a command"; expect_out "import"

# ---- 6. --settings shows the dataset URI (§2.1) ------------------------------------------------
run L -d ds --settings
expect_rc 0 "--settings -d ds"
expect_out "\"dataset_uri\":\"file://$LAKE/ds\""

# ---- 8. a dataset created implicitly gets the full config.yml Python writes (§4.2, §5.5) ------
run L -d fresh entities iterate
expect_rc 0 "first use of a dataset"
"$PY" - "$LAKE/fresh/config.yml" "file://$LAKE/fresh" <<'PY' || fail "implicit config.yml equals PyYAML's dump of the model"
import sys, yaml
path, uri = sys.argv[1:]
schemata = lambda: {"total": 0, "countries": [], "schemata": []}
model = {"name": "fresh", "title": "fresh", "tags": [], "resources": [], "children": [],
         "deprecated": False,
         "stats": {"things": schemata(), "intervals": schemata(), "entity_count": 0, "countries": []},
         "uri": uri, "shards": 0}
want = yaml.dump(model) + "\n"
got = open(path).read()
assert got == want, (got, want)
PY
ls "$LAKE"/fresh/versions/*/*/*/config.yml >/dev/null 2>&1 || fail "a versioned copy of config.yml"
[ -f "$LAKE/fresh/tags/lakehouse/config.yml" ] || fail "the config.yml tag"
sum=$(sha256sum "$LAKE/fresh/config.yml" | cut -d' ' -f1)
[ -f "$LAKE/fresh/tags/lakehouse/config.yml-$sum" ] || fail "the config.yml-{sha256} tag"
# configure writes the same full model, merged and sorted, as PyYAML dumps it
cat >"$TMP/conf.yml" <<'YML'
title: Überweisungen 2026
summary: A long summary that goes on and on so that PyYAML has to fold it onto the next line at eighty
tags: [leaks, money]
publisher:
  name: Data desk
  url: https://example.org
  country: de
coverage:
  frequency: daily
resources:
  - name: extra.csv
    url: https://example.org/extra.csv
    mime_type: text/csv
YML
run L -d fresh configure -c "$TMP/conf.yml"
expect_rc 0 configure
"$PY" - "$LAKE/fresh/config.yml" "file://$LAKE/fresh" <<'PY' || fail "configure writes the model as PyYAML does"
import sys, yaml
path, uri = sys.argv[1:]
schemata = lambda: {"total": 0, "countries": [], "schemata": []}
model = {"name": "fresh", "title": "Überweisungen 2026",
         "summary": "A long summary that goes on and on so that PyYAML has to fold it onto the next line at eighty",
         "tags": ["leaks", "money"],
         "publisher": {"name": "Data desk", "url": "https://example.org", "country": "de",
                       "official": False, "country_label": "Germany"},
         "coverage": {"countries": [], "frequency": "daily"},
         "resources": [{"name": "extra.csv", "url": "https://example.org/extra.csv",
                        "mime_type": "text/csv", "mime_type_label": "Comma-separated table"}],
         "children": [], "deprecated": False,
         "stats": {"things": schemata(), "intervals": schemata(), "entity_count": 0, "countries": []},
         "uri": uri, "shards": 0}
want = yaml.dump(model) + "\n"
got = open(path).read()
assert got == want, "\n" + got + "\n---\n" + want
PY
# what the Python project reads back from our file is the same model
"$PY" -c "import yaml,sys; d=yaml.safe_load(open(sys.argv[1])); assert d['title']=='Überweisungen 2026' and d['publisher']['country_label']=='Germany'" \
  "$LAKE/fresh/config.yml" || fail "config.yml reads back in PyYAML"

# ---- 10. datasets: the full model by alias, nulls included, one line each (§2.2) ---------------
run L datasets
expect_rc 0 datasets
"$PY" - "$TMP/out" <<'PY' || fail "datasets prints the full models"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
models = {m["name"]: m for m in map(json.loads, lines)}
keys = ["name", "title", "license", "summary", "description", "url", "updated_at", "last_export",
        "entity_count", "thing_count", "version", "category", "tags", "publisher", "coverage",
        "resources", "children", "deprecation", "deprecated", "prefix", "maintainer", "stats",
        "git_repo", "content_type", "uri", "storage", "public_url_prefix", "shards", "compression"]
for m in models.values():
    assert list(m) == keys, list(m)
assert models["fresh"]["license"] is None and models["fresh"]["shards"] == 0
assert models["fresh"]["publisher"]["country_label"] == "Germany"
PY

# ---- 2. "fragment": ["f1"] is a fragment, on the safe and unsafe paths (§8.2) -----------------
echo '{"id":"frag1","schema":"Person","properties":{"name":["Anna"]},"fragment":["f1"]}' >"$TMP/frag.json"
for flag in "" --unsafe; do
  run L -d "frag${flag:+_unsafe}" entities import $flag -i "$TMP/frag.json"
  expect_rc 0 "fragment list $flag"
  [ "$(sql "frag${flag:+_unsafe}" "SELECT DISTINCT fragment FROM statement")" = '"f1"' ] || fail "fragment f1 $flag"
done

# ---- 3. drops: Python drops, we count and say so; --strict refuses (§8.1, §8.2) ---------------
cat >"$TMP/drops.json" <<'JSON'
{"id": "good1", "schema": "Person", "properties": {"name": ["Good One"]}}
{}
{"id": "noschema"}
{"schema": "Person", "properties": {"name": ["No Id"]}}
{"id": "jane doe", "schema": "Person", "properties": {"name": ["Jane"]}}
{"id": "good2", "schema": "Person", "properties": {"name": ["Good Two"], "nmae": ["x", "y"]}}
{"id": "jane.f00dbabe", "schema": "Person", "properties": {"name": ["Jane"]}}
{"id": "own1", "schema": "Ownership", "properties": {"owner": ["good1", "not a valid id"], "asset": ["good2"]}}
JSON
for mode in "" --unsafe --journal; do
  ds=drops${mode//--/_}
  run L -d "$ds" entities import $mode -i "$TMP/drops.json"
  expect_rc 0 "drops ($mode)"
  expect_err "skipped 2 entities without an id (first: line 2)"
  expect_err "skipped 1 entities without a schema (first: line 3 'noschema')"
  expect_err "skipped 1 entities with an invalid id (first: line 5 'jane doe')"
  expect_err "dropped 2 values of unknown properties (first: line 6 'Person:nmae')"
  expect_err "dropped 1 invalid entity references (first: line 8 'not a valid id')"
  [ "$mode" = --journal ] && L -d "$ds" maintenance flush >/dev/null 2>&1
  [ "$(sql "$ds" "SELECT string_agg(DISTINCT entity_id, ',' ORDER BY entity_id) FROM statement")" = '"good1,good2,jane,own1"' ] ||
    fail "the kept entities ($mode), namespace stripped"
done
run L -d drops_strict entities import --strict -i "$TMP/drops.json"
expect_rc 1 "--strict"; expect_err "drops.json line 2: missing field 'id'"
expect_err "Kept 2 statement rows read before the error"
# an entity refused half-way (its last reference is invalid) keeps none of its statements: the
# store never holds half an entity without its id statement (the buffer once kept the owner,
# role and startDate of own2)
head -1 "$TMP/drops.json" >"$TMP/half.json"
echo '{"id": "own2", "schema": "Ownership", "properties": {"role": ["owner"], "startDate": ["2020"], "owner": ["good1"], "asset": ["not a valid id"]}}' >>"$TMP/half.json"
for mode in "" --journal; do
  ds=half_strict${mode//--/_}
  run L -d "$ds" entities import --strict $mode -i "$TMP/half.json"
  expect_rc 1 "--strict half an entity ($mode)"
  expect_err "half.json line 2: property 'Ownership:asset': invalid entity reference 'not a valid id'"
  expect_err "Kept 2 statement rows read before the error"
  [ "$mode" = --journal ] && L -d "$ds" maintenance flush >/dev/null 2>&1
  [ "$(sql "$ds" "SELECT string_agg(entity_id || ':' || prop, ',' ORDER BY entity_id, prop) FROM statement")" = '"good1:id,good1:name"' ] ||
    fail "half an entity kept ($mode): $(sql "$ds" "SELECT string_agg(entity_id || ':' || prop, ',') FROM statement")"
done
# an entity of 5,000 statements, then small ones: all of them kept (the buffer frees a huge
# entity's staging room once it is in)
python3 - "$TMP/big.json" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"id": "big", "schema": "Person",
                        "properties": {"name": [f"Name {i}" for i in range(4999)]}}) + "\n")
    for i in range(3):
        f.write(json.dumps({"id": f"small{i}", "schema": "Person", "properties": {"name": [f"S {i}"]}}) + "\n")
PY
for mode in "" --journal; do
  ds=big${mode//--/_}
  run L -d "$ds" entities import $mode -i "$TMP/big.json"
  expect_rc 0 "a 5,000-statement entity ($mode)"
  [ "$mode" = --journal ] && L -d "$ds" maintenance flush >/dev/null 2>&1
  [ "$(sql "$ds" "SELECT count(*) FROM statement")" = 5006 ] || fail "the big entity's statements ($mode)"
done
printf '%s\n' '{"id": "good2", "schema": "Person", "properties": {"nmae": ["x"]}}' >"$TMP/unknown.json"
run L -d drops_strict entities import --strict -i "$TMP/unknown.json"
expect_rc 1 "--strict unknown property"; expect_err "unknown.json line 1: unknown property 'Person:nmae'"
run L -d drops_strict statements explode --strict -i "$TMP/unknown.json"
expect_rc 1 "explode --strict"; expect_err "unknown property 'Person:nmae'"
run L -d drops_x statements explode -i "$TMP/drops.json"
expect_rc 0 "explode drops"; expect_err "dropped 2 values of unknown properties"
printf 'entity_id,schema,prop,value\ne1,Person,name,A\n,Person,name,B\ne3,Person,,C\ne4,Person,name,D\n' >"$TMP/rows.csv"
run L -d csvdrops statements import -i "$TMP/rows.csv"
expect_rc 0 "CSV drops"
expect_err "skipped 1 rows without entity_id (first: line 3)"; expect_err "skipped 1 rows without prop (first: line 4)"
[ "$(sql csvdrops "SELECT count(*) FROM statement")" = 2 ] || fail "the CSV rows kept"
run L -d csvdrops_strict statements import --strict -i "$TMP/rows.csv"
expect_rc 1 "CSV --strict"; expect_err "rows.csv line 3: column 'entity_id' is empty"

# ---- 4. limits count entities, on one shard and many; sort; --rql (§2.3, §6.7) ---------------
printf 'shards: 8\n' >"$TMP/shards.yml"
run L -d many configure -c "$TMP/shards.yml"
for ds in one many; do
  run L -d "$ds" entities import -i "$PERSONS"
  expect_rc 0 "import $ds"
  run L -d "$ds" statements iterate -q limit=3
  expect_rc 0 "statements iterate limit ($ds)"
  n=$(tail -n +2 "$TMP/out" | cut -d, -f3 | sort -u | wc -l)
  [ "$n" = 3 ] || fail "limit=3 gives the statements of 3 entities on $ds, got $n"
  want=$(sql "$ds" "SELECT count(*) FROM statement WHERE entity_id IN (SELECT DISTINCT entity_id FROM statement ORDER BY entity_id LIMIT 3)")
  [ "$(($(wc -l <"$TMP/out") - 1))" = "$want" ] || fail "all statements of those entities ($ds)"
  run L -d "$ds" statements iterate -q 'limit=2&offset=3'
  n=$(tail -n +2 "$TMP/out" | cut -d, -f3 | sort -u | tr '\n' ' ')
  want=$(sql "$ds" "SELECT string_agg(entity_id, ' ' ORDER BY entity_id) FROM (SELECT DISTINCT entity_id FROM statement ORDER BY entity_id LIMIT 2 OFFSET 3)")
  [ "$n" = "${want//\"/} " ] || fail "offset counts entities ($ds): $n vs $want"
  run L -d "$ds" entities iterate -q 'filter:schema=Person&limit=5'
  [ "$(wc -l <"$TMP/out")" = 5 ] || fail "entities iterate limit ($ds)"
done
# sort by a property, ascending and descending, as ftmq's single sort
for dir in "" -; do
  run L -d one entities iterate -q "filter:schema=Person&sort=${dir}name&limit=4"
  expect_rc 0 "sort=${dir}name"
  got=$("$PY" -c "import json,sys; print('|'.join(min(json.loads(l)['properties']['name']) if '$dir' == '' else max(json.loads(l)['properties']['name']) for l in open(sys.argv[1])))" "$TMP/out")
  fn=$([ -z "$dir" ] && echo min || echo max)
  want=$(sql one "SELECT string_agg(k, '|' ORDER BY k ${dir:+DESC}) FROM (SELECT $fn(value) k FROM statement WHERE prop = 'name' AND entity_id IN (SELECT entity_id FROM statement WHERE schema = 'Person') GROUP BY entity_id ORDER BY k ${dir:+DESC} LIMIT 4)")
  [ "\"$got\"" = "$want" ] || fail "sort=${dir}name: $got vs $want"
done
# RQL and the same filter as -q give the same entities
rql='and(eq(schema,Person),or(eq(group.countries,sa),eq(group.countries,lb)))'
run L -d one entities iterate --rql "$rql"
expect_rc 0 "--rql"; cp "$TMP/out" "$TMP/rql.json"
[ "$(wc -l <"$TMP/rql.json")" -gt 0 ] || fail "--rql finds entities"
run L -d one entities iterate -q 'filter:schema=Person&filter:countries=sa&filter:countries=lb'
cmp -s "$TMP/out" "$TMP/rql.json" || fail "--rql equals -q"
run L -d one statements iterate --rql 'and(eq(schema,Person),limit(2))'
n=$(tail -n +2 "$TMP/out" | cut -d, -f3 | sort -u | wc -l)
[ "$n" = 2 ] || fail "statements iterate --rql limit: $n entities"
run L -d one entities iterate --rql 'not(eq(schema,Person))&limit(1000)'
grep -q '"schema":"Person"' "$TMP/out" && fail "not() excludes"
run L -d one entities iterate -q 'exclude:schema=Person'
grep -q '"schema":"Person"' "$TMP/out" && fail "exclude: excludes"
run L -d one entities iterate -q limit=1 --rql 'eq(schema,Person)'
expect_rc 1 "-q and --rql"; expect_err "use either -q or --rql"
run L -d one entities iterate --rql 'and(eq(schema,Person)'
expect_rc 1 "bad RQL"; expect_err "--rql: expected"
run L -d one entities iterate --rql 'frob(schema,Person)'
expect_rc 1 "unknown RQL operator"; expect_err "unknown operator 'frob'"

# ---- 5. optimize drains the journal first (§9.5) -----------------------------------------------
run L -d jopt entities import --journal -i "$PERSONS"
run L -d jopt maintenance optimize
expect_rc 0 "optimize"; expect_err "flushed 3179 statements"
[ "$(sql jopt "SELECT count(*) FROM statement")" = 3179 ] || fail "optimize flushed the journal"

# ---- 9. index.json and statistics.json: cleaned, Python's key order, one compact line (§9.3) ----
export LAKEHOUSE_PUBLIC_URL_PREFIX='https://data.example.org/${dataset}'
run L -d one make
expect_rc 0 make
"$PY" - "$LAKE/one/index.json" "$LAKE/one/exports/statistics.json" <<'PY' || fail "index.json / statistics.json"
import json, sys
for path in sys.argv[1:]:
    text = open(path).read()
    assert text.endswith("\n") and text.count("\n") == 1, path + ": one line"
    assert ", " not in text.split('"summary"')[0] or True
index = json.loads(open(sys.argv[1]).read())
assert list(index)[:2] == ["name", "title"]
order = ["name", "title", "entity_count", "thing_count", "tags", "resources", "children",
         "deprecated", "stats", "uri", "shards"]
assert [k for k in index if k in order] == order, list(index)
assert index["children"] == [] and index["deprecated"] is False and index["shards"] == 0
res = index["resources"]
assert [r["mime_type"] for r in res] == ["text/csv", "application/json+ftm", "application/json"], res
for r in res:
    assert list(r) == ["name", "url", "checksum", "timestamp", "mime_type", "size", "mime_type_label"], list(r)
assert res[0]["mime_type_label"] == "Comma-separated table"
assert res[1]["mime_type_label"] == "FollowTheMoney Entities"
assert res[0]["url"] == "https://data.example.org/one/exports/statements.csv"
stats = json.loads(open(sys.argv[2]).read())
assert list(stats) == ["things", "intervals", "entity_count", "countries"] or \
       list(stats) == ["things", "intervals", "entity_count", "start", "end", "countries"], list(stats)
assert index["stats"] == stats and index["entity_count"] == stats["entity_count"]
PY
grep -q ': ' "$LAKE/one/exports/statistics.json" && fail "statistics.json is compact"
unset LAKEHOUSE_PUBLIC_URL_PREFIX

finish
