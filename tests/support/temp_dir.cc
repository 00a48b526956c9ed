// The per-test directory (temp_dir.h).
#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "gtest/gtest.h"

namespace crlog::test_support {
namespace {

bool EnvSet(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

std::filesystem::path Base() {
  // TEST_TMPDIR first, as GoogleTest and Bazel name a test's scratch space.
  if (EnvSet("TEST_TMPDIR")) return std::getenv("TEST_TMPDIR");
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : base;
}

}  // namespace

TempDir::TempDir(std::string_view prefix, OnFailure on_failure) : on_failure_(on_failure) {
  std::string tmpl = (Base() / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    return;
  }
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::canonical(tmpl, ec);
  path_ = ec ? tmpl : canonical.string();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  const bool failed = ::testing::Test::HasFailure();
  if (EnvSet("CRLOG_KEEP_TEST_DIRS") || (failed && on_failure_ == OnFailure::kKeep)) {
    std::fprintf(stderr, "keeping %s for inspection\n", path_.c_str());
    return;
  }
  if (failed) {
    std::fprintf(stderr, "removing %s (CRLOG_KEEP_TEST_DIRS=1 keeps it)\n", path_.c_str());
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(std::string_view name) const {
  std::string out = path_;
  out += '/';
  out += name;
  return out;
}

}  // namespace crlog::test_support
