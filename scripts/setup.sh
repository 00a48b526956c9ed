#!/usr/bin/env bash
# Installs whatever crlog needs that this Debian 12 machine lacks: Debian
# packages from Debian's archive, and the npm packages of the cr-sqlite test
# peer (tests/peer/) and of the JavaScript-host tests (tests/node/) from the
# npm registry. Safe to run again: it installs nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libsqlite3-dev sqlite3
  liblmdb-dev
  libcapnp-dev capnproto
  libabsl-dev
  libcli11-dev
  libssl-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  python3 python3-pytest
  graphviz
  nlohmann-json3-dev
  clang libclang-rt-dev
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

# The JavaScript-host tests (tests/node/): better-sqlite3, vlcn's ws-server
# and ws-client, exactly the versions in tests/node/package-lock.json, into
# tests/node/node_modules (gitignored). `npm ci --ignore-scripts` runs no
# package's install script: @vlcn.io/crsqlite's would download a prebuilt
# cr-sqlite (the tests load crlog in its place). Then `npm rebuild
# better-sqlite3` runs that one's, building its addon (and its bundled
# SQLite) from source with node-gyp: build_from_source keeps
# prebuild-install from trying to download a binary, and nodedir points
# node-gyp at the running Node's own headers (<prefix>/include/node) instead
# of downloading them. Redone when the lock file is newer than what npm last
# installed, or when the addon is missing.
node_tests=tests/node
if [[ ! -f $node_tests/node_modules/.package-lock.json ||
      $node_tests/package-lock.json -nt $node_tests/node_modules/.package-lock.json ||
      ! -f $node_tests/node_modules/better-sqlite3/build/Release/better_sqlite3.node ]]; then
  nodedir=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
  header=$nodedir/include/node/node_version.h
  want=$(node -p 'process.versions.node')
  have=$(sed -n 's/^#define NODE_\(MAJOR\|MINOR\|PATCH\)_VERSION \([0-9]*\)$/\2/p' "$header" 2>/dev/null |
         paste -sd.)
  if [[ $have != "$want" ]]; then
    echo "setup: better-sqlite3 builds against Node $want's headers, which are not in" \
         "$nodedir/include/node (found: ${have:-none})" >&2
    exit 1
  fi
  echo "setup: installing the JavaScript-host tests' npm packages (better-sqlite3 builds from source)"
  npm ci --prefix "$node_tests" --ignore-scripts --no-audit --no-fund --loglevel=error
  npm_config_nodedir=$nodedir npm_config_build_from_source=true \
    npm rebuild --prefix "$node_tests" better-sqlite3 --no-audit --no-fund --loglevel=error
else
  echo "setup: JavaScript-host tests' npm packages present"
fi
