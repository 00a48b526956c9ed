#!/usr/bin/env bash
# Installs whatever crlog needs that this Debian 12 machine lacks: Debian
# packages from Debian's archive, and the npm packages of the cr-sqlite test
# peer (tests/peer/) from the npm registry. Safe to run again: it installs
# nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libsqlite3-dev sqlite3
  liblmdb-dev
  libcapnp-dev capnproto
  libabsl-dev
  libssl-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3 python3-pytest
  graphviz
)

# Node.js and npm run the real cr-sqlite (tests/peer/). The machine image
# ships Node 20 with npm; fall back to Debian's when they are absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all packages present"
else
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The cr-sqlite 0.16 test peer: exactly the versions in
# tests/peer/package-lock.json, into tests/peer/node_modules (gitignored).
# Reinstalled only when the lock file is newer than what npm last installed.
peer=tests/peer
if [[ ! -f $peer/node_modules/.package-lock.json ||
      $peer/package-lock.json -nt $peer/node_modules/.package-lock.json ]]; then
  echo "setup: installing the cr-sqlite test peer's npm packages"
  npm ci --prefix "$peer" --no-audit --no-fund --loglevel=error
else
  echo "setup: cr-sqlite test peer present"
fi
