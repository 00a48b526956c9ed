// `crlog archive-log DB`: a database file deleted while its log stayed
// behind leaves a new database at that path refusing to load; the message
// names the way out, archive-log moves the stale log aside without losing
// it, and a log that belongs to the database is never moved.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"
#include "tests/cli/subprocess.h"

namespace crlog {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ArchiveLogCliTest : public ::testing::Test {
 protected:
  cli_test::RunResult Crlog(const std::vector<std::string>& args) {
    return cli_test::Run(CRLOG_BINARY, args, dir_.path());
  }
  std::string Path() const { return dir_.File("app.db"); }
  void WriteHistory() {
    auto db = std::make_unique<capture_test::Db>(Path());
    ASSERT_TRUE(db->loaded()) << db->load_error();
    db->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a); SELECT crsql_as_crr('t'); "
             "INSERT INTO t VALUES (1, 'x')");
  }
  capture_test::TempDir dir_;
};

TEST_F(ArchiveLogCliTest, ALogLeftByADeletedDatabaseIsArchivedAndTheNewOneLoads) {
  WriteHistory();
  fs::remove(Path());
  {
    capture_test::Db fresh(Path());
    ASSERT_FALSE(fresh.loaded());
    EXPECT_THAT(fresh.load_error(), HasSubstr("crlog archive-log"));
    EXPECT_THAT(fresh.load_error(), HasSubstr(Path() + "-crlog"));
  }
  cli_test::RunResult r = Crlog({"archive-log", Path()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(Path() + "-crlog"));
  std::string archived;
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    if (entry.path().filename().string().rfind("app.db-crlog.stale-", 0) == 0) archived = entry.path().string();
  }
  ASSERT_FALSE(archived.empty()) << r.out;
  cli_test::RunResult log = Crlog({"log", archived});
  EXPECT_EQ(log.exit_code, 0) << log.err;
  EXPECT_THAT(log.out, HasSubstr("t")) << "the old history is still readable";
  capture_test::Db fresh(Path());
  EXPECT_TRUE(fresh.loaded()) << fresh.load_error();
}

TEST_F(ArchiveLogCliTest, TheLogOfALiveDatabaseIsNeverMoved) {
  WriteHistory();
  cli_test::RunResult r = Crlog({"archive-log", Path()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("belongs to the database"));
  EXPECT_TRUE(fs::exists(Path() + "-crlog"));
  capture_test::Db again(Path());
  EXPECT_TRUE(again.loaded()) << again.load_error();
}

TEST_F(ArchiveLogCliTest, NoLogIsNotFound) {
  cli_test::RunResult r = Crlog({"archive-log", Path()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("no crlog log"));
}

}  // namespace
}  // namespace crlog
