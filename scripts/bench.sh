#!/usr/bin/env bash
# Builds crlog in Release (build-bench/) and runs the benchmark suites.
#
# Usage: scripts/bench.sh [--runs N] [--out DIR] [--filter REGEX] [-- extra benchmark flags]
#   --runs N       run every suite N times (default 3); the table reads each
#                  benchmark from its quietest run
#   --out DIR      keep Google Benchmark's JSON reports in DIR
#   --filter RE    run only benchmarks matching RE (--benchmark_filter)
# At the end it prints issue 14's table (scripts/bench_table.py): each
# measure with crlog, its baseline, the ratio, the floor, the goal.
#
# Every suite measures crlog beside its baseline in the same run; read the
# ratio counters (x_baseline, x_history, x_changeset; x_floor and x_over_floor
# beside the capture floor probe), not absolute times.
# crlog_log_bench measures log/ alone; crlog_capture_bench measures capture
# through the loadable extension (crsqlite.so) against plain SQLite tables;
# crlog_merge_bench measures merging into an empty replica (crlog_apply beside
# sqlite3changeset_apply, INSERT INTO crsql_changes beside a plain INSERT);
# crlog_history_bench measures replay (beside the merge of the same events and
# plain inserts; x_engine_merge) and blame on a 1,000,000-op log (x_select).
# CRLOG_MERGE_ROWS=10000 runs the merge suite on 10,000 rows only.
# Scratch logs go to $CRLOG_BENCH_DIR (default: build-bench/scratch), which
# must be on a real disk for the durable suite to mean anything. Take final
# numbers on a quiet machine: the suites are short and share the cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
out=""
runs=3
filter=""
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --filter) filter="$2"; shift 2 ;;
    --filter=*) filter="${1#--filter=}"; shift ;;
    --) shift; extra+=("$@"); break ;;
    -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) extra+=("$1"); shift ;;
  esac
done

benches=(crlog_log_bench crlog_capture_bench crlog_merge_bench crlog_history_bench)

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCRLOG_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${benches[@]}" >&2

export CRLOG_BENCH_DIR="${CRLOG_BENCH_DIR:-$build/scratch}"
mkdir -p "$CRLOG_BENCH_DIR"

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cores  load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

[[ -n "$out" ]] || out="$build/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

status=0
reports=()
for ((run = 1; run <= runs; run++)); do
  echo "# run $run of $runs, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for b in "${benches[@]}"; do
    file="$out/$b.run$run.json"
    args=(--benchmark_counters_tabular=false "--benchmark_out=$file" --benchmark_out_format=json)
    [[ -n "$filter" ]] && args+=("--benchmark_filter=$filter")
    "$build/bench/$b" "${args[@]}" "${extra[@]}" || status=$?
    [[ -s "$file" ]] && reports+=("$file")
  done
done
echo "# reports in $out"
((${#reports[@]})) && python3 "$root/scripts/bench_table.py" "${reports[@]}"
exit $status
