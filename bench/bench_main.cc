// main() of crlog_log_bench: Google Benchmark's, plus closing the logs the
// suites share (bench/two_site_log.h) so their scratch directories are
// removed before exit rather than left to static destruction.
#include "bench/two_site_log.h"
#include "benchmark/benchmark.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  crlog::bench::TwoSiteLog::ReleaseAll();
  benchmark::Shutdown();
  return 0;
}
