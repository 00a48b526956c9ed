// The one way a fuzz target reports a broken invariant: print what broke and
// abort, so libFuzzer (or the corpus replay under ctest) records the input as
// a crash. Not assert(): the targets must check in release builds too.
#ifndef CRLOG_TESTS_FUZZ_FUZZ_CHECK_H_
#define CRLOG_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define CRLOG_FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: invariant broken: %s\n  %s\n", __FILE__, __LINE__, \
                   #cond, std::string(__VA_ARGS__).c_str());                         \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#endif  // CRLOG_TESTS_FUZZ_FUZZ_CHECK_H_
