// A fresh directory for one test's files: made unique under the system temp
// dir ($TEST_TMPDIR when set, else $TMPDIR or /tmp) and removed with its
// contents when the TempDir goes away. A failing test says where its
// directory was; set CRLOG_KEEP_TEST_DIRS=1 to keep every directory for
// inspection.
#ifndef CRLOG_TESTS_SUPPORT_TEMP_DIR_H_
#define CRLOG_TESTS_SUPPORT_TEMP_DIR_H_

#include <string>
#include <string_view>

namespace crlog::test_support {

class TempDir {
 public:
  // Whether a test that failed keeps its directory without
  // CRLOG_KEEP_TEST_DIRS: suites whose failures need the files to be
  // understood (a crashed database, its log) keep them.
  enum class OnFailure { kRemove, kKeep };

  // The directory is named `prefix`-XXXXXX. A directory that cannot be made
  // is a test failure, and path() is then empty.
  explicit TempDir(std::string_view prefix = "crlog-test", OnFailure on_failure = OnFailure::kRemove);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Absolute and canonical, as /proc/self/maps and SQLite name files.
  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string File(std::string_view name) const;

 private:
  std::string path_;
  OnFailure on_failure_;
};

}  // namespace crlog::test_support

#endif  // CRLOG_TESTS_SUPPORT_TEMP_DIR_H_
