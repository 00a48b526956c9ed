#!/usr/bin/env bash
# Configures and builds crlog.
#   scripts/build.sh [release|asan] [extra cmake args...]
# release: optimised with debug info, warnings as errors   -> build/release
# asan:    AddressSanitizer + UndefinedBehaviorSanitizer  -> build/asan
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-release}
shift || true
jobs=${CRLOG_JOBS:-$(nproc)}
case "$kind" in
  release)
    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRLOG_WERROR=ON) ;;
  asan)
    # Benchmarks under a sanitizer measure nothing useful.
    args=(-DCMAKE_BUILD_TYPE=Debug -DCRLOG_WERROR=ON -DCRLOG_SANITIZE=ON -DCRLOG_BUILD_BENCH=OFF) ;;
  *)
    echo "usage: scripts/build.sh [release|asan] [cmake args...]" >&2
    exit 2 ;;
esac

cmake -S . -B "build/$kind" "${args[@]}" "$@" >/dev/null
cmake --build "build/$kind" -j "$jobs"
