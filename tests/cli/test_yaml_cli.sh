#!/usr/bin/env bash
# Hostile YAML configs: an alias bomb ("billion laughs") given to configure -c and left in a
# dataset's config.yml, deep nesting and duplicate keys. Each is a clear error and exit 1,
# under a 2 GB memory limit, never a crash or a hang.
BIN=${1:?usage: test_yaml_cli.sh path/to/ftm-lakehouse}
source "$(dirname "$0")/lib.sh"
unset LAKEHOUSE_URI LAKEHOUSE_FTM_MODEL LOG_LEVEL

# limited CMD...: CMD under a 2 GB address-space limit. ASan reserves terabytes of shadow
# address space, so an ASan build gets its own RSS limit instead of ulimit -v.
if grep -qa __asan_init "$BIN"; then
  limited() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=2000" timeout 120 "$@"; }
else
  limited() { (ulimit -v 2000000 && exec timeout 120 "$@"); }
fi

# one "error: " line on stderr, exit code 1
expect_error() {
  expect_rc 1 "$1"
  expect_clean "$1"
  [ "$(grep -c '^error: ' "$TMP/err")" = 1 ] || fail "$1: one 'error: ' line on stderr"
  [ -z "${2:-}" ] || expect_err "$2" "$1"
}

# the classic: nine levels of nine aliases, 9^9 strings from ~340 bytes
BOMB="$TMP/bomb.yml"
printf 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' >"$BOMB"
prev=a
for c in b c d e f g h i; do
  printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' "$c" "$c" \
    $prev $prev $prev $prev $prev $prev $prev $prev $prev >>"$BOMB"
  prev=$c
done
[ "$(wc -c <"$BOMB")" -lt 400 ] || fail "the bomb is a small file"

LAKE="$TMP/lake"
mkdir -p "$LAKE"

# ---- configure -c with an alias bomb: refused, config.yml as it was ----------------------
run limited "$BIN" --uri "$LAKE" -d x configure -c "$BOMB"
expect_error "configure -c bomb" "bomb.yml: YAML line 6: the document expands to more than"
expect_err "(alias bomb?)" "configure -c bomb"
grep -q lol "$LAKE/x/config.yml" 2>/dev/null && fail "configure -c bomb wrote config.yml"

# ---- the bomb in config.yml on disk: every command on the dataset fails cleanly ----------
mkdir -p "$LAKE/y"
cp "$BOMB" "$LAKE/y/config.yml"
run limited "$BIN" --uri "$LAKE" -d y entities iterate
expect_error "entities iterate on a bombed config.yml" "y/config.yml: YAML line 6"
run limited "$BIN" --uri "$LAKE" -d y make
expect_error "make on a bombed config.yml" "(alias bomb?)"
run limited "$BIN" --uri "$LAKE" datasets
expect_error "datasets with a bombed config.yml" "y/config.yml: YAML line 6"
rm -r "$LAKE/y"

# ---- deep nesting: fails at the depth limit at once (200 KB of '[' took a minute) -------
mkdir -p "$LAKE/z"
head -c 200000 /dev/zero | tr '\0' '[' >"$LAKE/z/config.yml"
run limited "$BIN" --uri "$LAKE" -d z entities iterate
expect_error "deep nesting in config.yml" "z/config.yml: YAML line 1: nesting deeper than 64 levels"
head -c 2000000 /dev/zero | tr '\0' '[' >"$LAKE/z/config.yml"
run limited "$BIN" --uri "$LAKE" -d z entities iterate
expect_error "a 2 MB config.yml" "z/config.yml: YAML text of 2000000 bytes, over the limit"
rm -r "$LAKE/z"

# ---- duplicate keys: an error naming the key and the line, not last-wins ------------------
printf 'title: First\ntags: [a]\ntitle: Second\n' >"$TMP/dup.yml"
run "$BIN" --uri "$LAKE" -d x configure -c "$TMP/dup.yml"
expect_error "configure -c with a duplicate key" "dup.yml: YAML line 3: duplicate key 'title'"
grep -q Second "$LAKE/x/config.yml" && fail "a duplicate key was written"

# ---- normal anchors and aliases still work ----------------------------------------------
cat >"$TMP/ok.yml" <<'EOF'
title: Aliased
publisher: &org
  name: ACME
  url: https://acme.example
maintainer: *org
tags: &tags [a, b]
scopes: *tags
EOF
run "$BIN" --uri "$LAKE" -d x configure -c "$TMP/ok.yml"
expect_rc 0 "configure -c with aliases"
python3 -c 'import json,sys; d=json.load(sys.stdin); m=d["maintainer"]; assert (m["name"],m["url"])==("ACME","https://acme.example"), d; assert d["children"]==["a","b"], d' <"$TMP/out" \
  || fail "aliases expanded in the config"

finish
