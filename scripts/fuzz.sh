#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang in build/fuzz and
# runs each for a bounded time over a copy of its seed corpus (new inputs go
# to the copy, never into tests/). Fails if a target crashes, leaks, times
# out or breaks an invariant; the input that did it is kept in
# build/fuzz/crashes/<target>/ and its path printed.
#   scripts/fuzz.sh [seconds per target, default 60] [target...]
# Targets: event bundle changes (all by default). One fuzzer runs at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(event bundle changes)
jobs=${CRLOG_JOBS:-$(nproc)}

echo "fuzz: building build/fuzz (clang, libFuzzer + ASan + UBSan)"
cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRLOG_WERROR=ON -DCRLOG_FUZZ=ON -DCRLOG_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs" --target crlog_fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/crlog-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The targets' per-input databases and logs (tests/fuzz/scratch_dir.h).
export CRLOG_FUZZ_SCRATCH=$work/scratch
mkdir "$work/scratch"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in "${targets[@]}"; do
  corpus=tests/fuzz/corpus/$t
  [[ -d $corpus ]] || { echo "fuzz: no target '$t' (no $corpus)" >&2; exit 2; }
  cp -r "$corpus" "$work/corpus-$t"
  mkdir -p "$work/artifacts-$t"
  echo "== fuzz $t (${seconds} s)"
  if ! build/fuzz/tests/fuzz/crlog_fuzz_"$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts-$t/" \
        "$work/corpus-$t" 2>"$work/$t.log"; then
    status=1
    tail -n 60 "$work/$t.log"
    mkdir -p "build/fuzz/crashes/$t"
    for f in "$work/artifacts-$t"/*; do
      [[ -e $f ]] || continue
      cp "$f" "build/fuzz/crashes/$t/"
      echo "fuzz: $t failed on build/fuzz/crashes/$t/$(basename "$f")" \
           "(reproduce: build/fuzz/tests/fuzz/crlog_fuzz_$t <file>)"
    done
  else
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$work/$t.log" || true
    echo "fuzz: $t: $(find "$work/corpus-$t" -type f | wc -l) inputs in the corpus copy, no failure"
  fi
done
exit $status
