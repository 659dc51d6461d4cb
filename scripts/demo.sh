#!/usr/bin/env bash
# make demo: the main job on the embedded default. Until the statement store lands, this
# explodes the repository's example dataset into the lakehouse statements CSV (stdout),
# with a summary on stderr.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INPUT="$ROOT/examples/demo/entities.ftm.json"
echo "demo: exploding $(wc -l <"$INPUT") example entities of dataset 'demo' into statements" >&2
"$ROOT/$BUILD/ftm-lakehouse" -d demo statements explode -i "$INPUT"
