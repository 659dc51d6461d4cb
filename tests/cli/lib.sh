# Tiny assertion helpers for the CLI tests. Usage: source lib.sh; BIN=... ; run ...; expect_*
set -u
FAILURES=0
TMP=$(mktemp -d /tmp/lh-cli-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SHARED=${LH_SHARED_DIR:?LH_SHARED_DIR must point at ../shared}
SRC=${LH_SOURCE_DIR:?LH_SOURCE_DIR must point at the repository}
[ -d "$SHARED/data" ] || { echo "FAIL: shared data not found at $SHARED" >&2; exit 1; }

# run CMD...: captures $OUT, $ERR and $RC
run() {
  "$@" >"$TMP/out" 2>"$TMP/err"
  RC=$?
  OUT=$(cat "$TMP/out")
  ERR=$(cat "$TMP/err")
}

fail() {
  echo "FAIL: $*" >&2
  echo "  rc=$RC" >&2
  echo "  stdout: $(head -c 400 "$TMP/out")" >&2
  echo "  stderr: $(head -c 400 "$TMP/err")" >&2
  FAILURES=$((FAILURES + 1))
}

expect_rc() { [ "$RC" = "$1" ] || fail "${2:-command}: exit code $RC, want $1"; }
expect_out() { grep -qF -- "$1" "$TMP/out" || fail "${2:-command}: stdout lacks '$1'"; }
expect_err() { grep -qF -- "$1" "$TMP/err" || fail "${2:-command}: stderr lacks '$1'"; }
expect_no_err() { [ ! -s "$TMP/err" ] || fail "${1:-command}: unexpected stderr"; }
# sanitizer reports must never appear
expect_clean() {
  if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$TMP/err"; then
    fail "${1:-command}: sanitizer report"
  fi
}

finish() {
  if [ "$FAILURES" -gt 0 ]; then
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}
