// The seeds of a randomised test (seeds.h).
#include "tests/support/seeds.h"

#include <cstdlib>

namespace crlog::test_support {
namespace {

const char* Env(const char* name) {
  if (name == nullptr) return nullptr;
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

}  // namespace

Seeds::Seeds(const SeedEnv& env, uint64_t default_first, int64_t default_count) : env_(env) {
  uint64_t first = default_first;
  int64_t count = default_count;
  if (const char* v = Env(env.first)) {
    first = std::strtoull(v, nullptr, 10);
    if (env.first_alone == SeedEnv::FirstAlone::kRunsOnlyIt) {
      seeds_.push_back(first);
      return;
    }
    if (env.first_alone == SeedEnv::FirstAlone::kRunsOneUnlessCounted) count = 1;
  }
  if (const char* v = Env(env.count)) count = std::strtoll(v, nullptr, 10);
  for (int64_t i = 0; i < count; ++i) seeds_.push_back(first + static_cast<uint64_t>(i));
}

std::string Seeds::Describe(uint64_t seed) const {
  std::string out = "seed " + std::to_string(seed) + " (rerun with " + env_.first + "=" + std::to_string(seed);
  if (env_.first_alone == SeedEnv::FirstAlone::kKeepsTheCount && env_.count != nullptr) {
    out += std::string(" ") + env_.count + "=1";
  }
  return out + ")";
}

namespace {

std::string TraceText(const Seeds& seeds, uint64_t seed, std::string_view more) {
  std::string text = seeds.Describe(seed);
  if (!more.empty()) {
    text += ", ";
    text += more;
  }
  return text;
}

}  // namespace

SeedTrace::SeedTrace(const Seeds& seeds, uint64_t seed, std::string_view more, std::source_location where)
    : trace_(where.file_name(), static_cast<int>(where.line()), TraceText(seeds, seed, more)) {}

}  // namespace crlog::test_support
