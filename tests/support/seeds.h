// The seeds of a randomised test: a default range, changed from the
// environment by the variables the suite names (each suite keeps the names
// and meanings it has always had), and a trace that puts the seed, and how
// to rerun it alone, in every failure message of its scope.
#ifndef CRLOG_TESTS_SUPPORT_SEEDS_H_
#define CRLOG_TESTS_SUPPORT_SEEDS_H_

#include <cstdint>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace crlog::test_support {

// The environment variables that choose a suite's seeds.
struct SeedEnv {
  const char* first;            // names the first seed
  const char* count = nullptr;  // names how many seeds from the first; nullptr: none does
  // What naming the first seed does to how many run.
  enum class FirstAlone {
    kRunsOnlyIt,             // exactly that seed, whatever `count` says
    kRunsOneUnlessCounted,   // one seed, unless `count` names more
    kKeepsTheCount,          // the default count (or `count`'s) from there
  };
  FirstAlone first_alone = FirstAlone::kRunsOnlyIt;
};

// Seeds `default_first`, `default_first` + 1, ... (`default_count` of them)
// unless the environment says otherwise. A variable set to "" counts as
// unset.
class Seeds {
 public:
  Seeds(const SeedEnv& env, uint64_t default_first, int64_t default_count);

  std::vector<uint64_t>::const_iterator begin() const { return seeds_.begin(); }
  std::vector<uint64_t>::const_iterator end() const { return seeds_.end(); }
  size_t size() const { return seeds_.size(); }

  // "seed 7 (rerun with CRLOG_SEED=7)": the environment that runs that seed
  // alone.
  std::string Describe(uint64_t seed) const;

 private:
  SeedEnv env_;
  std::vector<uint64_t> seeds_;
};

// While in scope, every failure message says which seed failed and how to
// rerun it (Seeds::Describe), followed by `more` when given. Reported at
// the caller's line, as SCOPED_TRACE is.
class SeedTrace {
 public:
  SeedTrace(const Seeds& seeds, uint64_t seed, std::string_view more = "",
            std::source_location where = std::source_location::current());
  SeedTrace(const SeedTrace&) = delete;
  SeedTrace& operator=(const SeedTrace&) = delete;

 private:
  ::testing::ScopedTrace trace_;
};

}  // namespace crlog::test_support

#endif  // CRLOG_TESTS_SUPPORT_SEEDS_H_
