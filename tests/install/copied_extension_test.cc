// One core per process, with a copy: a program that links crsqlite.so (the
// C++ API) and loads the extension from a copy of the file at another path
// (as a plugin directory or a language binding would bring its own) still
// runs one engine. The copy's entry point hands the connection to the core
// the program linked (crlog_core_v1), so a write on that connection is
// captured into the log the Replica reads, and the log's LMDB environment
// is opened, and data.mdb mapped, once.
//
// This program links crsqlite.so and SQLite only: no static crlog library,
// which would be a second core of its own (tests/install/CMakeLists.txt).
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "crlog/ids.h"
#include "crlog/replica.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"
#include "tests/support/temp_dir.h"

namespace crlog {
namespace {

namespace fs = std::filesystem;

using api_test::MappingsOf;
using api_test::QueryText;

class CopiedExtensionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Canonical (TempDir's are), as /proc/self/maps names files.
    dir_ = tmp_.path();
    fs::create_directory(dir_ + "/plugins");
    copy_ = dir_ + "/plugins/crsqlite.so";
    fs::copy_file(CRLOG_EXTENSION, copy_);
  }
  void TearDown() override {
    if (db_ != nullptr) sqlite3_close(db_);
  }

  test_support::TempDir tmp_{"crlog-copied"};
  std::string dir_;
  std::string copy_;
  sqlite3* db_ = nullptr;
};

TEST_F(CopiedExtensionTest, WritesThroughACopyLandInTheLinkedCoresLog) {
  const std::string path = dir_ + "/app.db";
  auto replica = Replica::Open(path);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE((*replica)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)").ok());
  ASSERT_TRUE((*replica)->Replicate("t").ok());
  auto heads_before = (*replica)->log().Heads();
  auto stats_before = (*replica)->log().Stats();
  ASSERT_TRUE(heads_before.ok() && stats_before.ok());

  // A second connection of the program's own, with crlog loaded from the copy.
  ASSERT_EQ(MappingsOf(copy_), 0);
  ASSERT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  ASSERT_EQ(sqlite3_enable_load_extension(db_, 1), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_load_extension(db_, copy_.c_str(), nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  // The copy really is a second file in the process, not the linked one again.
  EXPECT_GT(MappingsOf(copy_), 0);
  EXPECT_EQ(QueryText(db_, "SELECT lower(hex(crsql_site_id()))"), ToHex((*replica)->site()));

  ASSERT_EQ(sqlite3_exec(db_, "INSERT INTO t VALUES (1, 'through the copy')", nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db_);

  // (a) The write is an event of the log the Replica reads, and its head.
  auto heads_after = (*replica)->log().Heads();
  auto stats_after = (*replica)->log().Stats();
  ASSERT_TRUE(heads_after.ok() && stats_after.ok());
  EXPECT_EQ(stats_after->events, stats_before->events + 1);
  EXPECT_NE(*heads_after, *heads_before);
  ASSERT_EQ(heads_after->size(), 1u);
  auto head = (*replica)->log().Get(heads_after->front());
  ASSERT_TRUE(head.ok()) << head.status();
  auto event = head->Decode();
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind, EventKind::kChange);
  // And the engine behind both is one: the Replica's next write follows it,
  // and the copy's connection sees both in crsql_changes.
  ASSERT_TRUE((*replica)->Execute("INSERT INTO t VALUES (2, 'through the API')").ok());
  EXPECT_EQ(QueryText(db_, "SELECT count(*) FROM crsql_changes WHERE \"table\" = 't'"), "2");
  auto last = (*replica)->log().Stats();
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->events, stats_before->events + 2);

  // (b) One LMDB environment: data.mdb is mapped once.
  EXPECT_EQ(MappingsOf(path + "-crlog/data.mdb"), 1);
}

}  // namespace
}  // namespace crlog
