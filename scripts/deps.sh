#!/usr/bin/env bash
# Install the Debian packages cairn's build and tests need, when missing.
# Called by `make`, `make test` and `make run`; does nothing once all are present.
set -euo pipefail
PKGS=(
  build-essential pkg-config
  liblmdb-dev libzstd-dev libxxhash-dev libmicrohttpd-dev libre2-dev libpcre2-dev
  libprotobuf-c-dev protobuf-c-compiler libsnappy-dev libcmocka-dev libroaring-dev
  zlib1g-dev re2c clang libclang-rt-14-dev zstd
  prometheus prometheus-node-exporter
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps.sh: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
