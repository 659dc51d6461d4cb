#!/usr/bin/env bash
# make demo: the main job on the embedded default - a local lake in ./data and its SQLite
# journal file ./data/journal.db. The repository's example dataset is written through the
# journal, flushed into the statement store, optimized, read back, and published with
# `make` (statements.csv, entities.ftm.json, documents.csv, statistics, index, diffs).
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/$BUILD/ftm-lakehouse"
INPUT="$ROOT/examples/demo/entities.ftm.json"
export LAKEHOUSE_URI=${LAKEHOUSE_URI:-./data}
unset LAKEHOUSE_JOURNAL_URI

echo "== import $(wc -l <"$INPUT") example entities into the journal of dataset 'demo' ($LAKEHOUSE_URI/journal.db)"
"$BIN" -d demo entities import --journal -i "$INPUT"
echo "== flush the journal into the statement store ($LAKEHOUSE_URI/demo/statements)"
"$BIN" -d demo maintenance flush
echo "== optimize (merge, compact, vacuum)"
"$BIN" -d demo maintenance optimize >/dev/null
echo "== the dataset now holds:"
"$BIN" -d demo statements sql \
  "SELECT count(DISTINCT entity_id) AS entities, count(*) AS statements FROM statement"
echo "== a few entities (ftm-lakehouse -d demo entities iterate -q 'filter:schema=Person&limit=3'):"
"$BIN" -d demo entities iterate -q 'filter:schema=Person&limit=3'
FILES="$ROOT/examples/demo/files"
echo "== crawl $(find "$FILES" -type f | wc -l) example files into the file archive (ftm-lakehouse -d demo crawl $FILES)"
"$BIN" -d demo crawl "$FILES" --existing skip-path -o "$LAKEHOUSE_URI/demo-crawl-job.json"
echo "== the archived files (ftm-lakehouse -d demo archive ls --keys):"
"$BIN" -d demo archive ls --keys | sed 's/^/   /'
echo "== make: flush, optimize, and write the exports (the index is printed, one JSON line; here its start)"
"$BIN" -d demo make | cut -c1-300
echo "   ..."
DS="$LAKEHOUSE_URI/demo"
echo "== the exports of dataset 'demo':"
for f in exports/statements.csv entities.ftm.json exports/documents.csv exports/statistics.json index.json; do
  [ -f "$DS/$f" ] && printf '   %-60s %8s bytes\n' "$DS/$f" "$(wc -c <"$DS/$f")"
done
ls "$DS"/diffs/entities.ftm.json/ | sed "s|^|   $DS/diffs/entities.ftm.json/|"
echo "== a second make finds nothing to do:"
"$BIN" -d demo make >/dev/null
