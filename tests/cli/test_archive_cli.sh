#!/usr/bin/env bash
# The file archive through the CLI: crawl the Python project's crawl fixtures (5 files, 6
# entities, blob paths), filters, get/head/ls, bad input, a crawl of a few thousand files
# killed at random moments and resumed, the download round trip, and gc.
BIN=${1:?usage: test_archive_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL
export LAKEHOUSE_PROGRESS=0
SRC="$SHARED/data/lakehouse-fixtures/src"
[ -d "$SRC" ] || { echo "FAIL: crawl fixtures not found at $SRC"; exit 1; }
LAKE="$TMP/lake"
lh() { run "$BIN" --uri "$LAKE" "$@"; }

# ---- the fixtures ----------------------------------------------------------------------------
lh -d docs crawl "$SRC"
expect_rc 0 "crawl fixtures"; expect_err '"done":5' "crawl job record"
lh -d docs archive ls --keys
expect_rc 0 "archive ls --keys"
[ "$(sort "$TMP/out" | tr '\n' ' ')" = "companies.csv donations.ijson example.pdf testdir/test.txt utf.txt " ] ||
  fail "archive ls --keys: $(tr '\n' ' ' <"$TMP/out")"
utf=$(sha256sum "$SRC/utf.txt" | cut -c1-64)
[ "${utf:0:6}" = bbb1f0 ] || fail "utf.txt's checksum $utf"
[ -f "$LAKE/docs/archive/bb/b1/f0/$utf/blob" ] || fail "utf.txt's blob is not at archive/bb/b1/f0/$utf/blob"
cmp -s "$LAKE/docs/archive/bb/b1/f0/$utf/blob" "$SRC/utf.txt" || fail "utf.txt's blob differs"
lh -d docs entities iterate
expect_rc 0 "entities of the crawl"
[ "$(wc -l <"$TMP/out")" = 6 ] || fail "want 6 entities, got $(wc -l <"$TMP/out")"
grep -q '"schema":"Pages"' "$TMP/out" || fail "no Pages entity for example.pdf"
[ "$(grep -c '"schema":"Folder"' "$TMP/out")" = 1 ] || fail "want one Folder entity"
grep -q '"fileName":\["testdir"\]' "$TMP/out" || fail "the Folder is testdir"
[ "$(grep -c '"origin":\["crawl"\]' "$TMP/out")" = 6 ] || fail "every entity has origin crawl"
lh -d docs archive get "$utf" -o "$TMP/utf.out"
expect_rc 0 "archive get"; cmp -s "$TMP/utf.out" "$SRC/utf.txt" || fail "archive get: other bytes"
lh -d docs archive head "$utf"
expect_rc 0 "archive head"; expect_out '"key":"utf.txt"'; expect_out '"origin":"crawl"'
python3 -c 'import json,sys; d=json.loads(sys.stdin.readline()); assert list(d)==["name","created_at","updated_at","size","store","key","mimetype","id","dataset","checksum","extra","origin","path","parent"], list(d)' <"$TMP/out" ||
  fail "metadata field order"

# bad input
lh -d docs archive get "${utf^^}"
expect_rc 1 "uppercase checksum"; expect_err "invalid checksum"
lh -d docs archive get ../../../../etc/passwd
expect_rc 1 "traversal as checksum"; expect_err "invalid checksum"
lh -d docs archive get 0000000000000000000000000000000000000000000000000000000000000000
expect_rc 1 "unknown checksum"; expect_err "FileNotFoundError"
lh -d docs archive head
expect_rc 2 "head without a checksum"; expect_err "missing the CHECKSUM"
lh -d docs crawl "$TMP/no-such-folder"
expect_rc 1 "crawl of a missing folder"; expect_err "no-such-folder"
lh -d docs crawl "$SRC" --existing sometimes
expect_rc 2 "bad --existing"; expect_err "--existing"
lh -d docs crawl "$LAKE"
expect_rc 1 "crawl of the lake itself"

# filters: exclude is fnmatch ('*' crosses folders), include a path glob
lh -d nopdf crawl "$SRC" --exclude '*.pdf'
expect_rc 0 "crawl --exclude"
lh -d nopdf archive ls --keys
[ "$(wc -l <"$TMP/out")" = 4 ] || fail "--exclude '*.pdf': want 4 files, got $(wc -l <"$TMP/out")"
lh -d nopdf entities iterate
[ "$(wc -l <"$TMP/out")" = 5 ] || fail "--exclude '*.pdf': want 4 files + 1 folder entities"
lh -d onlypdf crawl "$SRC" --include '*.pdf' --no-make-entities
expect_rc 0 "crawl --include"
lh -d onlypdf archive ls --keys
[ "$(cat "$TMP/out")" = example.pdf ] || fail "--include '*.pdf': $(cat "$TMP/out")"

# one content under two paths: one blob, two metadata files
mkdir -p "$TMP/dup/a" "$TMP/dup/b"
printf 'same bytes\n' >"$TMP/dup/a/x.txt"
printf 'same bytes\n' >"$TMP/dup/b/x.txt"
lh -d dup crawl "$TMP/dup"
expect_rc 0 "crawl duplicates"
[ "$(find "$LAKE/dup/archive" -name blob | wc -l)" = 1 ] || fail "duplicates: want one blob"
[ "$(find "$LAKE/dup/archive" -name '*.json' | wc -l)" = 2 ] || fail "duplicates: want two metadata files"

# ---- make, download, gc ----------------------------------------------------------------------
lh -d docs make
expect_rc 0 "make after a crawl"
[ "$(tail -n +2 "$LAKE/docs/exports/documents.csv" | wc -l)" = 5 ] || fail "documents.csv: want 5 rows"
pdf=$(sha256sum "$SRC/example.pdf" | cut -c1-64)
lh -d pub crawl "$SRC" --include '*.pdf'
expect_rc 0 "crawl a PDF"
LAKEHOUSE_PUBLIC_URL_PREFIX='https://files.example.org/${dataset}' lh -d pub make
expect_rc 0 "make with a public URL prefix"
grep -qF "https://files.example.org/pub/archive/${pdf:0:2}/${pdf:2:2}/${pdf:4:2}/$pdf/blob" \
  "$LAKE/pub/exports/documents.csv" || fail "documents.csv: no public URL of the blob"
lh -d docs archive download -o "$TMP/down"
expect_rc 0 "archive download"
diff -r "$SRC" "$TMP/down" >/dev/null || fail "download round trip: trees differ"
lh -d docs archive download -o "$TMP/down" --force
expect_rc 0 "download again"; expect_err '"skipped":5'
lh -d docs archive download
expect_rc 2 "download without -o"; expect_err "missing option '-o TARGET'"

# gc: delete the metadata of utf.txt; the dry run counts its blob, gc deletes exactly it
rm "$LAKE/docs/archive/bb/b1/f0/$utf/"*.json
lh -d docs archive gc --dry-run
expect_rc 0 "gc --dry-run"; expect_out '"blobs":1'
[ -f "$LAKE/docs/archive/bb/b1/f0/$utf/blob" ] || fail "gc --dry-run deleted the blob"
lh -d docs archive gc
expect_rc 0 gc; expect_out '"blobs":1'
[ ! -e "$LAKE/docs/archive/bb/b1/f0/$utf/blob" ] || fail "gc left the unreferenced blob"
[ "$(find "$LAKE/docs/archive" -name blob | wc -l)" = 4 ] || fail "gc: the 4 referenced blobs stay"

# ---- a crawl killed at random moments, resumed with --existing skip-path ---------------------
MANY="$TMP/many"
python3 - "$MANY" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(7)
for i in range(3000):
    d = os.path.join(root, "d%02d" % (i % 40), "e%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(("file %d\n" % i).encode() + rnd.randbytes(rnd.randint(1, 20000)))
PY
# Four rounds on fresh datasets, each crawl killed (SIGKILL) three times at a random moment
# and then run to the end: at least 10 of the 12 kills must hit a running crawl.
kills=0
for round in 1 2 3 4; do
  for k in 1 2 3; do
    "$BIN" --uri "$LAKE" -d "many$round" crawl "$MANY" --existing skip-path >/dev/null 2>&1 &
    pid=$!
    sleep "$(python3 -c "import random; print(random.uniform(0.15, 0.6))")"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
  done
  lh -d "many$round" crawl "$MANY" --existing skip-path
  expect_rc 0 "round $round: the crawl after the kills"
  lh -d "many$round" archive ls --keys
  [ "$(wc -l <"$TMP/out")" = 3000 ] || fail "round $round: want 3000 metadata files, got $(wc -l <"$TMP/out")"
  [ -z "$(sort "$TMP/out" | uniq -d)" ] || fail "round $round: a path archived twice"
  # every blob's SHA-256 is its folder's name; no temp files left
  python3 - "$LAKE/many$round/archive" >"$TMP/blobs" <<'PY' || fail "round $round: $(cat "$TMP/blobs")"
import hashlib, os, sys
blobs = bad = 0
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        if ".lh-tmp-" in f:
            sys.exit("temp file left: " + os.path.join(d, f))
        if f == "blob":
            blobs += 1
            with open(os.path.join(d, f), "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != os.path.basename(d):
                    bad += 1
if bad or blobs != 3000:
    sys.exit("%d blobs, %d of them not their checksum" % (blobs, bad))
PY
  lh -d "many$round" entities iterate
  ents=$(wc -l <"$TMP/out")
  [ "$ents" = 3160 ] || fail "round $round: want 3160 entities (3000 files, 160 folders), got $ents"
  python3 -c 'import json,sys; ids=[json.loads(l)["id"] for l in sys.stdin]; sys.exit(len(ids)!=len(set(ids)))' <"$TMP/out" ||
    fail "round $round: duplicate entity ids"
done
[ "$kills" -ge 10 ] || fail "only $kills of 12 kills hit a running crawl"

# ---- a crawl killed and never reaped: the next crawl removes its temp files -------------------
# `timeout -s KILL` kills itself with the crawl, and in a container whose init does not reap
# the crawl stays a zombie: the next crawl took it for running and left its temp files. Here
# the parent (python) kills the crawl and reaps it only after the next crawl has run.
python3 - "$BIN" "$LAKE" "$MANY" >"$TMP/zombie.out" 2>&1 <<'PY' || fail "zombie crawl: $(cat "$TMP/zombie.out")"
import os, random, subprocess, sys, time
binary, lake, src = sys.argv[1:4]
rnd = random.Random(11)

def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]

def temps(ds):
    return sum(".lh-tmp-" in f for _, _, fs in os.walk(os.path.join(lake, ds)) for f in fs)

for attempt in range(10):
    ds = "zombie%d" % attempt
    crawl = [binary, "--uri", lake, "-d", ds, "crawl", src, "--existing", "skip-path"]
    p = subprocess.Popen(crawl, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rnd.uniform(0.2, 0.6))
    os.kill(p.pid, 9)
    for _ in range(1000):
        if state(p.pid) == "Z":
            break
        time.sleep(0.01)
    left = temps(ds)
    if not left:  # the kill hit no write: try again
        p.wait()
        continue
    r = subprocess.run(crawl, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    after = temps(ds)
    still = state(p.pid)
    p.wait()
    if r.returncode != 0:
        sys.exit("the crawl after the kill failed: %s" % r.stderr.decode())
    if still != "Z":
        sys.exit("the killed crawl was reaped too early")
    if after:
        sys.exit("%d of the killed crawl's %d temp files left" % (after, left))
    print("killed crawl (a zombie) left %d temp files; the next crawl removed them" % left)
    sys.exit(0)
sys.exit("no kill of 10 left temp files")
PY

# ---- few file descriptors: 3,000 files crawled with 128 allowed ------------------------------
# (files staged ahead and metadata waiting for their batch hold no descriptor; a crawl used
# to need one per file of a 1,000-file batch, and failed under the usual limit of 1,024)
(ulimit -n 128 && "$BIN" --uri "$LAKE" -d fds crawl "$MANY" >"$TMP/fds.out" 2>"$TMP/fds.err")
[ $? = 0 ] || fail "crawl under ulimit -n 128: $(tail -2 "$TMP/fds.err")"
lh -d fds archive ls --keys
[ "$(wc -l <"$TMP/out")" = 3000 ] || fail "ulimit -n 128: want 3000 metadata files, got $(wc -l <"$TMP/out")"

finish
