#!/usr/bin/env bash
# The public API surface: liblakehouse.so exports exactly the functions and data the public
# headers (include/lakehouse/) mark LH_API, none of the library's lh__ internals, and the
# CLI's objects call nothing else.
#   check_api_surface.sh LIBLAKEHOUSE_SO INCLUDE_DIR CLI_OBJECT_DIR
set -euo pipefail
so=$1 include=$2 cli_objects=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Sanitizer builds add their own bookkeeping symbols (__odr_asan.*, __asan_*): not ours.
nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^__' | sort -u >"$tmp/exported"
[ -s "$tmp/exported" ] || { echo "FAIL: $so exports nothing"; exit 1; }

if grep '^lh__' "$tmp/exported" >"$tmp/private"; then
  echo "FAIL: $so exports private lh__ symbols:"; sed 's/^/  /' "$tmp/private"; fail=1
fi

# Every name an LH_API declaration introduces (functions: "name(", data: "NAME[").
grep -ohP '^LH_API [^(;\[]*?\K\b\w+(?=\s*[(\[])' "$include"/*.h | sort -u >"$tmp/declared"
[ "$(wc -l <"$tmp/declared")" -gt 100 ] || { echo "FAIL: too few LH_API declarations found"; exit 1; }

if comm -13 "$tmp/declared" "$tmp/exported" | grep . >"$tmp/extra"; then
  echo "FAIL: exported but not declared LH_API in $include:"; sed 's/^/  /' "$tmp/extra"; fail=1
fi
if comm -23 "$tmp/declared" "$tmp/exported" | grep . >"$tmp/missing"; then
  echo "FAIL: declared LH_API but not exported (a stale declaration?):"
  sed 's/^/  /' "$tmp/missing"; fail=1
fi

# The CLI is a client of the public API: every lh_ symbol its objects use is exported.
objs=$(find "$cli_objects" -name '*.o' | sort)
[ -n "$objs" ] || { echo "FAIL: no CLI objects under $cli_objects"; exit 1; }
nm -u $objs 2>/dev/null | awk '/^ +U (lh_|LH_)/ {print $2}' | sort -u >"$tmp/cli_uses"
if comm -23 "$tmp/cli_uses" "$tmp/exported" | grep . >"$tmp/cli_private"; then
  echo "FAIL: the CLI calls symbols outside the public API:"; sed 's/^/  /' "$tmp/cli_private"
  fail=1
fi

[ "$fail" = 0 ] && echo "ok: $(wc -l <"$tmp/exported") public symbols, CLI uses $(wc -l <"$tmp/cli_uses")"
exit "$fail"
