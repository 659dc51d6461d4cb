#!/usr/bin/env bash
# Installs what ftm-lakehouse needs to build and test, idempotently:
#   1. Debian packages (only the missing ones; apt is never called when all are present)
#   2. pinned npm packages (DuckDB library + header, compiled FtM model) into third_party/,
#      each tarball checked against a pinned sha512 integrity before it is unpacked.
# Usage: scripts/setup.sh [--no-apt]     (LAKEHOUSE_DUCKDB_DIR=... skips the DuckDB fetch)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TP="$ROOT/third_party"

PKGS=(build-essential pkg-config cmake
  libssl-dev zlib1g-dev libzstd-dev libjansson-dev libyaml-dev libutf8proc-dev
  libsqlite3-dev libpq-dev libcurl4-openssl-dev libmicrohttpd-dev libmagic-dev
  libcmocka-dev postgresql sqlite3 zstd curl time python3 python3-yaml
  clang libclang-rt-14-dev clang-format cppcheck)

install_debian() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "setup: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
}

# fetch NAME VERSION INTEGRITY DEST FILE... : npm pack into a cache, verify, extract FILEs to DEST
fetch_npm() {
  local name=$1 version=$2 integrity=$3 dest=$4
  shift 4
  local stamp="$dest/.integrity"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$integrity" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "setup: npm is required to fetch $name@$version" >&2; exit 1; }
  local cache="$TP/.cache"
  mkdir -p "$cache"
  local tgz
  tgz=$(cd "$cache" && npm pack --silent "$name@$version" 2>/dev/null | tail -n 1)
  [ -n "$tgz" ] && [ -f "$cache/$tgz" ] || { echo "setup: npm pack $name@$version failed" >&2; exit 1; }
  local got
  got="sha512-$(openssl dgst -sha512 -binary "$cache/$tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "setup: integrity mismatch for $name@$version: expected $integrity, got $got" >&2
    rm -f "$cache/$tgz"
    exit 1
  fi
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  local f
  for f in "$@"; do
    local src=${f%%:*} dst=${f#*:}
    mkdir -p "$dest.tmp/$(dirname "$dst")"
    tar -xzf "$cache/$tgz" -O "package/$src" > "$dest.tmp/$dst"
  done
  echo "$integrity" > "$dest.tmp/.integrity"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  rm -f "$cache/$tgz"
  echo "setup: fetched $name@$version" >&2
}

main() {
  local apt=1
  [ "${1:-}" = "--no-apt" ] && apt=0
  ((apt)) && install_debian
  mkdir -p "$TP"
  if [ -z "${LAKEHOUSE_DUCKDB_DIR:-}" ]; then
    fetch_npm @duckdb/node-bindings-linux-x64 1.5.6-r.1 \
      'sha512-IXcrZJE6kEqM0Z4wwdVnGBHX/frOS33VPNAwDXQ/Q+Fs84b058Qe94chrCCIcNJlG8Y3UHIUU4eBeCQxW5mN1Q==' \
      "$TP/duckdb-lib" libduckdb.so:lib/libduckdb.so
    fetch_npm duckdb 1.4.4 \
      'sha512-hEJJ5hyVF0VLj3dmOLpsWrQR0b3d4Ykqtygm6iUXjHJDDnSqg/USKxcb5qvNrOhFYPgktayU6dXCtgPqcmmpog==' \
      "$TP/duckdb-include" src/duckdb/src/include/duckdb.h:include/duckdb.h
  fi
  fetch_npm @opensanctions/followthemoney 4.5.2 \
    'sha512-CLt6hNR3OkfQajsZz5PBa9apMwuwlO68d8YvwXbY0Xe6x5wwVIFvChyBrwJEE+zhXWjxMaf2r+TCoaQn2g0G5Q==' \
    "$TP/ftm-model" dist/defaultModel.json:defaultModel.json LICENSE:LICENSE
}

main "$@"
