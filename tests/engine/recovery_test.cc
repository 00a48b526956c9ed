// Recovery and verify of a database, through the built extension.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "engine/replica/replica.h"
#include "util/sqlite/stmt.h"
#include "engine/history/verify_database.h"
#include "log/store.h"
#include "tests/support/temp_dir.h"

namespace crlog::engine {
namespace {

namespace fs = std::filesystem;

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    path_ = (dir_ / "app.db").string();
  }

  sqlite3* Open(const std::string& path, bool load = true) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    if (load) {
      sqlite3_enable_load_extension(db, 1);
      char* err = nullptr;
      int rc = sqlite3_load_extension(db, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err);
      EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
      sqlite3_free(err);
    }
    return db;
  }
  void Run(sqlite3* db, const std::string& sql) {
    absl::Status s = sqlite::Exec(db, sql);
    ASSERT_TRUE(s.ok()) << s;
  }
  std::string Query(sqlite3* db, const std::string& sql) {
    auto stmt = sqlite::Stmt::Prepare(db, sql);
    EXPECT_TRUE(stmt.ok()) << stmt.status();
    std::string out;
    while (*stmt->Step()) {
      for (int i = 0; i < sqlite3_column_count(stmt->get()); ++i) {
        out += (i ? "|" : "") + std::string(stmt->ColumnText(i));
      }
      out += ";";
    }
    return out;
  }

  test_support::TempDir tmp_{"crlog-recovery"};
  fs::path dir_;
  std::string path_;
};

TEST_F(RecoveryTest, ARestoredOlderCopyRollsForwardToItsLog) {
  sqlite3* db = Open(path_);
  Run(db, "PRAGMA journal_mode=DELETE; CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT);"
          "SELECT crsql_as_crr('t'); INSERT INTO t VALUES (1, 'one');");
  sqlite3_close(db);
  fs::copy_file(path_, dir_ / "backup.db");
  db = Open(path_);
  Run(db, "INSERT INTO t VALUES (2, 'two'); UPDATE t SET x = 'ONE' WHERE id = 1; DELETE FROM t WHERE id = 2;");
  sqlite3_close(db);
  fs::copy_file(dir_ / "backup.db", path_, fs::copy_options::overwrite_existing);

  db = Open(path_);  // recovery folds the three events the copy lacks
  EXPECT_EQ(Query(db, "SELECT id, x FROM t ORDER BY id"), "1|ONE;");
  Run(db, "INSERT INTO t VALUES (3, 'three')");
  sqlite3_close(db);
  auto report = VerifyDatabase(path_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows, 2u);
}

TEST_F(RecoveryTest, VerifyNamesACellEditedBehindCrlogsBack) {
  sqlite3* db = Open(path_);
  Run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT); SELECT crsql_as_crr('t');"
          "INSERT INTO t VALUES (1, 'one'), (2, 'two');");
  // A merge's sync bit stops capture: the write is not in the log.
  Run(db, "SELECT crsql_internal_sync_bit(1); UPDATE t SET x = 'sneaky' WHERE id = 2;"
          "SELECT crsql_internal_sync_bit(0);");
  sqlite3_close(db);
  auto report = VerifyDatabase(path_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(report.status().message().find("table 't', row (2): column 'x' is 'sneaky'"), std::string::npos)
      << report.status();
}

TEST_F(RecoveryTest, VerifyCatchesARemovedTailOfTheLog) {
  sqlite3* db = Open(path_);
  Run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT); SELECT crsql_as_crr('t');"
          "INSERT INTO t VALUES (1, 'one');");
  sqlite3_close(db);
  // Keep a copy of the log with one event fewer, then write once more.
  fs::copy(path_ + "-crlog", dir_ / "old-log", fs::copy_options::recursive);
  db = Open(path_);
  Run(db, "INSERT INTO t VALUES (2, 'two')");
  sqlite3_close(db);
  fs::remove_all(path_ + "-crlog");
  fs::copy(dir_ / "old-log", path_ + "-crlog", fs::copy_options::recursive);
  auto report = VerifyDatabase(path_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(report.status().message().find("the log lacks it"), std::string::npos) << report.status();
}

TEST_F(RecoveryTest, ADroppedReplicatedTableIsRecordedNotForgotten) {
  sqlite3* db = Open(path_);
  Run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT); SELECT crsql_as_crr('t');"
          "INSERT INTO t VALUES (1, 'one');");
  sqlite3_close(db);
  db = Open(path_, /*load=*/false);  // a connection without crlog drops it
  Run(db, "DROP TABLE t");
  sqlite3_close(db);
  db = Open(path_);
  EXPECT_EQ(Query(db, "SELECT kind FROM crlog_events ORDER BY position DESC LIMIT 1"), "schema;");
  EXPECT_EQ(Query(db, "SELECT count(*) FROM crlog_tables"), "0;");
  EXPECT_EQ(Query(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'crlog_capture_t'"), "0;");
  sqlite3_close(db);
  auto report = VerifyDatabase(path_);
  EXPECT_TRUE(report.ok()) << report.status();
}


TEST_F(RecoveryTest, LoadingPutsCrlogsTriggersBeforeANewerUserTrigger) {
  // SQLite runs a table's newest trigger first: a user trigger created after
  // crsql_as_crr could RAISE(IGNORE) before crlog records a row SQLite keeps.
  // Loading crlog re-creates its triggers so they run first.
  sqlite3* db = Open(path_);
  Run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT); SELECT crsql_as_crr('t');"
          "CREATE TRIGGER quiet AFTER INSERT ON t WHEN NEW.x = 'hush' BEGIN SELECT RAISE(IGNORE); END;");
  sqlite3_close(db);
  db = Open(path_);
  Run(db, "INSERT INTO t VALUES (1, 'a'), (2, 'hush'), (3, 'c')");
  EXPECT_EQ(Query(db, "SELECT count(*) FROM t"), "3;");
  sqlite3_close(db);
  auto report = VerifyDatabase(path_);
  EXPECT_TRUE(report.ok()) << report.status();
}


TEST_F(RecoveryTest, AsCrrOnAReplicatedTableWritesNothingSoAnotherWriterCannotBlockIt) {
  // Apps call crsql_as_crr at every start; a SELECT that begins to write
  // cannot wait for a lock, so a second call must not write.
  sqlite3* writer = Open(path_);
  Run(writer, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, x TEXT);"
              "SELECT crsql_as_crr('t');");
  sqlite3* other = Open(path_);
  Run(writer, "BEGIN IMMEDIATE; INSERT INTO t VALUES (1, 'held');");
  EXPECT_EQ(Query(other, "SELECT crsql_as_crr('t')"), "OK;");
  Run(writer, "COMMIT");
  sqlite3_close(other);
  sqlite3_close(writer);
  EXPECT_TRUE(VerifyDatabase(path_).ok());
}

}  // namespace
}  // namespace crlog::engine
