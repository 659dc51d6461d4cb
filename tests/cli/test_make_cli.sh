#!/usr/bin/env bash
# CLI: configure, make, export (inventory §2.2, §9): golden exports of the example dataset,
# freshness (make -> make is a no-op; a config change reruns only the index), compression
# round trips, statistics of a real dataset checked independently, bad configs.
# LH_UPDATE_GOLDEN=1 rewrites tests/data/golden/demo/ from this build.
BIN=$1
source "$(dirname "$0")/lib.sh"
GOLDEN=$SRC/tests/data/golden/demo
L=(--uri "$TMP/lake")
unset LAKEHOUSE_JOURNAL_URI LAKEHOUSE_PUBLIC_URL_PREFIX
jobs_of() { grep -l "\"kind\":\"$1\"" "$TMP/lake/$2/jobs/runs/ExportJob/"*.json 2>/dev/null | wc -l; }

# ---- golden: the example dataset, with the timestamps its entities carry ------------------------
# entities without timestamps of their own get fixed ones (explode would take the time now)
python3 - "$SRC/examples/demo/entities.ftm.json" >"$TMP/demo.json" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    e.setdefault("first_seen", "2025-01-01T00:00:00")
    e.setdefault("last_seen", "2025-02-01T00:00:00")
    print(json.dumps(e, ensure_ascii=False))
PY
"$BIN" "${L[@]}" -d demo statements explode -i "$TMP/demo.json" -o "$TMP/demo.csv" 2>/dev/null
run "$BIN" "${L[@]}" -d demo statements import -i "$TMP/demo.csv"
expect_rc 0 "import demo"
run "$BIN" "${L[@]}" -d demo make
expect_rc 0 "make"; expect_err "made 5 export(s)"
expect_out '"entity_count":23'
D=$TMP/lake/demo
sed "s|$TMP/lake|LAKE|" "$D/index.json" >"$TMP/index.json"
# the first diffs hold everything: entities as ADD envelopes, documents with the op column
cp "$D"/diffs/entities.ftm.json/*.delta.json "$TMP/entities.delta.json"
cp "$D"/diffs/exports/documents.csv/*.diff.csv "$TMP/documents.diff.csv"
FILES=(exports/statements.csv entities.ftm.json exports/documents.csv exports/statistics.json)
if [ "${LH_UPDATE_GOLDEN:-}" = 1 ]; then
  mkdir -p "$GOLDEN/exports"
  for f in "${FILES[@]}"; do cp "$D/$f" "$GOLDEN/$f"; done
  cp "$TMP/index.json" "$TMP/entities.delta.json" "$TMP/documents.diff.csv" "$GOLDEN/"
fi
for f in "${FILES[@]}"; do
  cmp -s "$D/$f" "$GOLDEN/$f" || fail "golden: $f differs ($(diff "$D/$f" "$GOLDEN/$f" | head -3))"
done
for f in index.json entities.delta.json documents.diff.csv; do
  cmp -s "$TMP/$f" "$GOLDEN/$f" || fail "golden: $f differs ($(diff "$TMP/$f" "$GOLDEN/$f" | head -3))"
done
# independent of the golden files: statements.csv is the explode output (our C CSV writer)
# globally sorted by (entity_id, prop, id), and every entity comes back whole
python3 - "$TMP/demo.csv" "$D/exports/statements.csv" "$D/entities.ftm.json" \
  "$TMP/demo.json" <<'PY' || fail "exports disagree with the input"
import csv, json, sys
def body(path):
    with open(path, newline="") as f:
        lines = f.read().split("\n")
    assert lines[-1] == "", "ends with a newline"
    return lines[0], lines[1:-1]
eh, exploded = body(sys.argv[1])
xh, exported = body(sys.argv[2])
assert eh == xh, (eh, xh)
key = lambda line: (lambda r: (r[1], r[3], r[0]))(next(csv.reader([line])))
assert exported == sorted(exploded, key=key), "statements.csv = sorted explode output"
assert [key(l) for l in exported] == sorted(key(l) for l in exported)
got = {e["id"]: e for e in map(json.loads, open(sys.argv[3]))}
ids = list(got)
assert ids == sorted(ids), "entities sorted by id"
for line in open(sys.argv[4]):
    e = json.loads(line)
    g = got.pop(e["id"])
    assert g["schema"] == e["schema"]
    for p, vs in e["properties"].items():
        assert g["properties"][p] == sorted(set(vs)), (e["id"], p, g["properties"][p])
assert not got, "no extra entities"
PY
# entities from the store (no fresh statements.csv) are byte-identical to those from the CSV
cp "$D/entities.ftm.json" "$TMP/from_csv.json"
rm "$D/exports/statements.csv"
run "$BIN" "${L[@]}" -d demo export entities --force
expect_rc 0 "export entities from the store"
expect_out '"name":"ExportJob"'; expect_out '"kind":"entities"'; expect_out '"done":1'
expect_out '"exc":null'
cmp -s "$D/entities.ftm.json" "$TMP/from_csv.json" || fail "entities from the store differ from those from statements.csv"
run "$BIN" "${L[@]}" -d demo export statements --force
expect_rc 0 "export statements"
cmp -s "$D/exports/statements.csv" "$GOLDEN/exports/statements.csv" || fail "re-export differs"
# sorted in entity-id slices of 7 rows: the same bytes
LAKEHOUSE_EXPORT_SLICE_ROWS=7 run "$BIN" "${L[@]}" -d demo export statements --force
expect_rc 0 "export statements in slices"
cmp -s "$D/exports/statements.csv" "$GOLDEN/exports/statements.csv" || fail "sliced export differs"
[ -z "$(ls -A "$D/exports" | grep tmp)" ] || fail "temporary slice files left behind"

# ---- freshness ---------------------------------------------------------------------------------
run "$BIN" "${L[@]}" -d demo make
expect_rc 0 "make again"
run "$BIN" "${L[@]}" -d demo make
expect_rc 0 "make, nothing changed"; expect_err "already up-to-date: nothing changed since the last make"
expect_out '"entity_count":23'
njobs=$(ls "$D/jobs/runs/ExportJob" | wc -l)
run "$BIN" "${L[@]}" -d demo export statistics
expect_rc 0 "export statistics, fresh"; expect_err "already up-to-date"
[ "$(ls "$D/jobs/runs/ExportJob" | wc -l)" = "$njobs" ] || fail "a fresh export wrote a job record"
# a config change reruns the index only
printf 'title: Demo leaks\nsummary: An example\n' >"$TMP/title.yml"
before_st=$(jobs_of statements demo); before_ix=$(jobs_of index demo)
run "$BIN" "${L[@]}" -d demo make -c "$TMP/title.yml"
expect_rc 0 "make -c"; expect_out '"title":"Demo leaks"'; expect_err "config.yml updated"
[ "$(jobs_of statements demo)" = "$before_st" ] || fail "config change reran the statements export"
[ "$(jobs_of index demo)" = $((before_ix + 1)) ] || fail "config change did not rerun the index"
ls "$D"/versions/*/*/*/config.yml >/dev/null 2>&1 || fail "no versioned config.yml"
# new data: every export that depends on the statements reruns
SUM=$(printf 'x' | sha256sum | cut -c1-64)
cat >"$TMP/new.json" <<EOF
{"id":"demo-person-new","schema":"Person","properties":{"name":["New Person"],"nationality":["fr"]}}
{"id":"demo-folder-a","schema":"Folder","properties":{"fileName":["a"]}}
{"id":"demo-folder-b","schema":"Folder","properties":{"fileName":["b"],"parent":["demo-folder-a"]}}
{"id":"demo-doc-x","schema":"Pages","properties":{"fileName":["x, final.pdf"],"contentHash":["$SUM"],"fileSize":["1"],"parent":["demo-folder-b"]}}
EOF
run "$BIN" "${L[@]}" -d demo entities import --journal -i "$TMP/new.json"
expect_rc 0 "import into the journal"
run "$BIN" "${L[@]}" -d demo make
expect_rc 0 "make after an import"; expect_err "made 5 export(s)"; expect_out '"entity_count":27'
expect_err "optimized the statement store"
grep -q '"done":3,"errors":0,"running":false,"exc":null' "$D"/jobs/runs/OptimizeJob/*.json \
  || fail "an OptimizeJob record with done == 3"
grep -q "^demo-doc-x,$SUM,\"x, final.pdf\",application/pdf,a/b,1,.*,"$'\r$' "$D/exports/documents.csv" \
  || fail "documents.csv: folder path, quoting, mime type from the name"
[ "$(jobs_of statements demo)" = $((before_st + 1)) ] || fail "new data did not rerun statements"
grep -q '"demo-person-new"' "$D/entities.ftm.json" || fail "new entity not exported"
last_diff=$(ls "$D"/diffs/entities.ftm.json/ | tail -1)
[ "$(wc -l <"$D/diffs/entities.ftm.json/$last_diff")" = 4 ] || fail "diff after four new entities"
grep -q '^{"op":"ADD","entity":{"id":"demo-person-new"' "$D/diffs/entities.ftm.json/$last_diff" \
  || fail "diff ADD of the new entity"
# --no-exports writes the index only; --force-exports reruns everything
run "$BIN" "${L[@]}" -d demo make --force-exports --no-optimize
expect_rc 0 "make --force-exports"; expect_err "made 5 export(s)"

# ---- compression ---------------------------------------------------------------------------------
cp "$D/entities.ftm.json" "$TMP/plain.json"; cp "$D/exports/statements.csv" "$TMP/plain.csv"
for codec in gz zst; do
  printf 'compression: %s\n' "$codec" >"$TMP/c.yml"
  run "$BIN" "${L[@]}" -d demo make -c "$TMP/c.yml"
  expect_rc 0 "make ($codec)"; expect_err "made 4 export(s)"
  [ -f "$D/entities.ftm.json.$codec" ] && [ -f "$D/exports/statements.csv.$codec" ] || fail "$codec exports missing"
  [ ! -e "$D/entities.ftm.json" ] || fail "$codec: the uncompressed export was left behind"
  run "$BIN" "${L[@]}" -d demo entities stream
  cmp -s "$TMP/out" "$TMP/plain.json" || fail "$codec: entities stream differs"
  run "$BIN" "${L[@]}" -d demo statements stream
  cmp -s "$TMP/out" "$TMP/plain.csv" || fail "$codec: statements stream differs"
  if [ $codec = gz ]; then gzip -dc "$D/entities.ftm.json.gz" >"$TMP/dec"; else zstd -qdc "$D/entities.ftm.json.zst" >"$TMP/dec"; fi
  cmp -s "$TMP/dec" "$TMP/plain.json" || fail "$codec: the system decompressor disagrees"
done
# entities reuse a fresh compressed statements.csv (inventory §12.8 fixed)
run "$BIN" "${L[@]}" -d demo export entities --force
expect_err "entities from exports/statements.csv.zst"

# ---- public URL prefix: index resources -------------------------------------------------------------
printf 'public_url_prefix: https://data.example.org/demo\n' >"$TMP/p.yml"
run "$BIN" "${L[@]}" -d demo make -c "$TMP/p.yml"
expect_rc 0 "make with a public prefix"
python3 - "$D/index.json" "$D" <<'PY' || fail "index resources"
import hashlib, json, sys, os
ix = json.load(open(sys.argv[1]))
res = {r["name"]: r for r in ix["resources"]}
assert res["statements.csv.zst"]["mime_type"] == "text/csv"
assert res["entities.ftm.json.zst"]["mime_type"] == "application/json+ftm"
assert res["statistics.json"]["mime_type"] == "application/json"
assert res["documents.csv"]["url"] == "https://data.example.org/demo/exports/documents.csv"
p = os.path.join(sys.argv[2], "entities.ftm.json.zst")
assert res["entities.ftm.json.zst"]["checksum"] == hashlib.sha256(open(p, "rb").read()).hexdigest()
assert res["entities.ftm.json.zst"]["size"] == os.path.getsize(p)
assert ix["entity_count"] == 27 and ix["stats"]["entity_count"] == 27
PY
grep -q ",https://data.example.org/demo/archive/${SUM:0:2}/${SUM:2:2}/${SUM:4:2}/$SUM/blob"$'\r$' \
  "$D/exports/documents.csv" || fail "documents public_url"

# ---- statistics of a real dataset, counted independently -----------------------------------------
Z=$SHARED/data/yente-fixtures/zala/entities.ftm.json
run "$BIN" "${L[@]}" -d zala entities import -i "$Z"
expect_rc 0 "import zala"
run "$BIN" "${L[@]}" -d zala export statistics
expect_rc 0 "export statistics"
python3 - "$Z" "$TMP/lake/zala/exports/statistics.json" "$TMP/model.json" <<'PY' || fail "zala statistics"
import json, sys
ents = [json.loads(l) for l in open(sys.argv[1])]
stats = json.load(open(sys.argv[2]))
assert stats["entity_count"] == len({e["id"] for e in ents}), stats["entity_count"]
by_schema = {}
for e in ents:
    by_schema[e["schema"]] = by_schema.get(e["schema"], 0) + 1
got = {s["name"]: s["count"] for k in ("things", "intervals") for s in stats[k]["schemata"]}
assert got == by_schema, (got, by_schema)
assert stats["things"]["total"] + stats["intervals"]["total"] == len(ents)
counts = [s["count"] for s in stats["things"]["schemata"]]
assert counts == sorted(counts, reverse=True)
assert all(c["label"] for c in stats["things"]["countries"])
PY
[ "$(ls "$TMP"/lake/zala/versions/*/*/*/exports/statistics.json | wc -l)" = 1 ] || fail "statistics not versioned"
run "$BIN" "${L[@]}" -d zala export statistics --force
expect_rc 0 "export statistics --force"
[ "$(ls "$TMP"/lake/zala/versions/*/*/*/exports/statistics.json | wc -l)" = 1 ] || fail "identical statistics made a new version"

# ---- bad configs: a clear error naming the key, nothing written ------------------------------------
cp "$D/config.yml" "$TMP/config.before"
bad() {
  printf "$1" >"$TMP/bad.yml"
  run "$BIN" "${L[@]}" -d demo configure -c "$TMP/bad.yml"
  expect_rc 1 "configure '$1'"; expect_err "$2"
  cmp -s "$D/config.yml" "$TMP/config.before" || fail "configure '$1' changed config.yml"
}
bad 'compression: bz2\n' "'compression' must be gz, zst or null (got 'bz2')"
bad 'shards: -1\n' "'shards' must be an integer between 0 and 65536 (got -1)"
bad 'title: [a, b]\n' "'title' must be a string (got a list)"
bad 'tags: nope\n' "'tags' must be a list (got 'nope')"
bad 'public_url_prefix: ftp://x\n' "'public_url_prefix' must be an http(s) URL"
bad 'shards: 4\n' "'shards' cannot change from 0 to 4: dataset 'demo' already holds statements"
bad 'title: [unclosed\n' "invalid YAML"
run "$BIN" "${L[@]}" -d demo configure
expect_rc 2 "configure without -c"
run "$BIN" "${L[@]}" -d demo export nope
expect_rc 2 "unknown export kind"; expect_err "unknown export 'nope'"
# --no-exports: only the index, from the config
run "$BIN" "${L[@]}" -d idx make --no-exports
expect_rc 0 "make --no-exports"; expect_out '"name":"idx"'
[ -f "$TMP/lake/idx/index.json" ] && [ ! -e "$TMP/lake/idx/exports" ] || fail "--no-exports wrote more than index.json"
# shards on a dataset without data are fine
printf 'shards: 4\n' >"$TMP/s.yml"
run "$BIN" "${L[@]}" -d fresh configure -c "$TMP/s.yml"
expect_rc 0 "shards on an empty dataset"; expect_out '"shards":4'
# an invalid config.yml on disk stops every command, naming the key
printf 'name: broken\ncompression: rar\n' >"$TMP/lake/fresh/config.yml"
run "$BIN" "${L[@]}" -d fresh make
expect_rc 1 "make with a broken config.yml"; expect_err "fresh/config.yml: 'compression' must be gz, zst or null"

finish
