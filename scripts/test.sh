#!/usr/bin/env bash
# Sets up, builds, and runs every test: once in the release build (warnings
# are errors) and once under AddressSanitizer + UndefinedBehaviorSanitizer.
#   scripts/test.sh            both builds
#   scripts/test.sh release    one of them
# Then the fuzz targets run for a bounded time (scripts/fuzz.sh; about 3
# minutes with the clang build): CRLOG_FUZZ_SECONDS per target (default 30),
# CRLOG_SKIP_FUZZ=1 to skip them.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

kinds=("${@:-release asan}")
kinds=(${kinds[*]})
jobs=${CRLOG_JOBS:-$(nproc)}
status=0
for kind in "${kinds[@]}"; do
  echo "== build ($kind)"
  bash scripts/build.sh "$kind"
  echo "== test ($kind)"
  if [[ $kind == asan ]]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  fi
  if ! ctest --test-dir "build/$kind" --output-on-failure -j "$jobs" --timeout 600; then
    status=1
  fi
done
if [[ ${CRLOG_SKIP_FUZZ:-0} != 1 ]]; then
  echo "== fuzz"
  if ! bash scripts/fuzz.sh "${CRLOG_FUZZ_SECONDS:-30}"; then
    status=1
  fi
fi
exit $status
