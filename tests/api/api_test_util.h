// Helpers for the public API tests: a scratch directory per test, SQL on a
// raw connection, and waiting for a condition without sleeping.
#ifndef CRLOG_TESTS_API_API_TEST_UTIL_H_
#define CRLOG_TESTS_API_API_TEST_UTIL_H_

#include <sqlite3.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace crlog::api_test {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()) << "no scratch directory"; }
  // A path inside this test's scratch directory (canonical, as
  // /proc/self/maps names files).
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  test_support::TempDir dir_{"crlog-api"};
};

// The first column of the first row of `sql` on `db`, as text ("" when no
// row, "NULL" for NULL); a failing statement fails the test.
std::string QueryText(sqlite3* db, const std::string& sql);
// Runs `sql` on `db`; a failure fails the test with SQLite's message.
void ExecOrFail(sqlite3* db, const std::string& sql);
// How many mappings of `file` (an absolute, canonical path) this process
// holds: LMDB maps data.mdb once per environment.
int MappingsOf(const std::string& file);

}  // namespace crlog::api_test

#endif  // CRLOG_TESTS_API_API_TEST_UTIL_H_
