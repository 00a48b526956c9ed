// Loading the extension: the log must be the database's own (a missing or
// foreign log stops the extension from loading, naming the log), and loading
// in unusual ways still captures every write exactly once.
#include <elf.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using Rows = std::vector<std::vector<std::string>>;

// --- The log beside the database ----------------------------------------------------

class LogLocationTest : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
              "INSERT INTO t VALUES (1, 'x');");
    db_.reset();  // no connection keeps the replica or its log open
  }
};

TEST_F(LogLocationTest, ReopeningWithTheLogInPlaceLoads) {
  Db db(path_);
  EXPECT_TRUE(db.loaded()) << db.load_error();
}

TEST_F(LogLocationTest, LoadingFailsWhenTheLogIsMissing) {
  std::filesystem::remove_all(path_ + "-crlog");
  Db db(path_);
  EXPECT_FALSE(db.loaded());
  EXPECT_THAT(db.load_error(), AllOf(HasSubstr(path_ + "-crlog"), HasSubstr("missing")));
  EXPECT_FALSE(std::filesystem::exists(path_ + "-crlog")) << "a missing log is not silently recreated";
}

TEST_F(LogLocationTest, WritesFailWhenTheLogIsMissing) {
  std::filesystem::remove_all(path_ + "-crlog");
  Db db(path_);
  ASSERT_FALSE(db.loaded());
  EXPECT_NE(db.Try("INSERT INTO t VALUES (2, 'y')"), "");
  EXPECT_EQ(db.Int("SELECT count(*) FROM t"), 1);
}

TEST_F(LogLocationTest, LoadingFailsWhenTheLogBelongsToAnotherDatabase) {
  const std::string other = dir_.File("other.db");
  {
    Db db(other);
    ASSERT_TRUE(db.loaded()) << db.load_error();
    db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
            "INSERT INTO t VALUES (7, 'other');");
  }
  std::filesystem::remove_all(path_ + "-crlog");
  std::filesystem::copy(other + "-crlog", path_ + "-crlog", std::filesystem::copy_options::recursive);
  Db db(path_);
  EXPECT_FALSE(db.loaded());
  EXPECT_THAT(db.load_error(), HasSubstr("belongs to another database"));
}

TEST_F(LogLocationTest, ADatabaseWithoutCrlogTablesRefusesALogThatHoldsEvents) {
  const std::string fresh = dir_.File("fresh.db");
  std::filesystem::copy(path_ + "-crlog", fresh + "-crlog", std::filesystem::copy_options::recursive);
  Db db(fresh);
  EXPECT_FALSE(db.loaded());
  EXPECT_THAT(db.load_error(), HasSubstr("belongs to another database"));
}

// --- Loading in unusual ways ----------------------------------------------------------

class LoadingTest : public CaptureTest {};

// Connection pools and scripts sometimes load an extension on a connection
// that already has it. Whatever the second load answers, capture must go on
// recording each write exactly once.
TEST_F(LoadingTest, LoadingTwiceOnOneConnectionStillCapturesEachWriteOnce) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
            "INSERT INTO t VALUES (1, 'before');");
  char* err = nullptr;
  int rc = sqlite3_load_extension(db_->get(), CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err);
  std::string message = err ? err : "";
  sqlite3_free(err);
  SCOPED_TRACE("second load returned " + std::to_string(rc) + " " + message);
  db_->Exec("INSERT INTO t VALUES (2, 'after'); UPDATE t SET a = 'changed' WHERE id = 1;"
            "BEGIN; INSERT INTO t VALUES (3, 'tx'); SAVEPOINT s; DELETE FROM t WHERE id = 2; ROLLBACK TO s; COMMIT;");
  EXPECT_TRUE(Matches({"t"}));
  EXPECT_EQ(db_->Int("SELECT count(*) FROM crsql_changes"), 3);
  EXPECT_EQ(CheckSingleChain(Log()), "");
}

TEST_F(LoadingTest, TwoConnectionsLoadedOnOneDatabaseShareOneSite) {
  OPEN_DB(second, path_);
  EXPECT_EQ(db_->Bytes("SELECT crsql_site_id()"), second->Bytes("SELECT crsql_site_id()"));
}

TEST_F(LoadingTest, AnInMemoryDatabaseCapturesIntoATemporaryLog) {
  Db mem(":memory:");
  ASSERT_TRUE(mem.loaded()) << mem.load_error();
  mem.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
           "INSERT INTO t VALUES (1, 'x'); BEGIN; INSERT INTO t VALUES (2, 'gone'); ROLLBACK;");
  EXPECT_EQ(mem.Rows("SELECT kind FROM crlog_events"), (Rows{{"'schema'"}, {"'change'"}}));
  EXPECT_EQ(mem.Rows("SELECT cid, val FROM crsql_changes ORDER BY cid"), (Rows{{"'a'", "'x'"}}));
}

TEST_F(LoadingTest, ClosingAConnectionWithAnOpenTransactionRecordsNothingOfIt) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
            "INSERT INTO t VALUES (1, 'kept');");
  size_t before = EventCount();
  db_->Exec("BEGIN; INSERT INTO t VALUES (2, 'never committed'); UPDATE t SET a = 'no' WHERE id = 1;");
  db_.reset();
  OPEN_DB(again, path_);
  EXPECT_EQ(ReadLog(path_).events.size(), before);
  again->Exec("INSERT INTO t VALUES (3, 'next')");
  LogSnapshot log = ReadLog(path_);
  EXPECT_EQ(log.pending, 0u);
  EXPECT_EQ(CheckSingleChain(log), "");
  EXPECT_TRUE(LogMatchesTables(*again, path_, {"t"}));
}

// better-sqlite3 and the sqlite3 shell close with the legacy sqlite3_close,
// which fails with SQLITE_BUSY while any statement of the connection is
// prepared. crlog keeps the statements of its commits prepared between
// commits; they must all be gone by the time that close looks.
TEST_F(LoadingTest, TheLegacyCloseSucceedsAfterCommitsOfEveryKind) {
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_enable_load_extension(db, 1);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_load_extension(db, CRLOG_EXTENSION, "sqlite3_crsqlite_init", &err), SQLITE_OK) << err;
  const char* writes =
      "INSERT INTO t VALUES (1, 'a'); INSERT INTO t VALUES (2, 'b'); UPDATE t SET a = 'c' WHERE id = 1;"
      "BEGIN; INSERT INTO t VALUES (3, 'tx'); DELETE FROM t WHERE id = 2; COMMIT;"
      "INSERT INTO crsql_changes VALUES ('t', crsql_pack_columns(9), 'a', 'peer', 1, 1, "
      "X'0102030405060708090a0b0c0d0e0f10', 1, 0);";
  ASSERT_EQ(sqlite3_exec(db, writes, nullptr, nullptr, &err), SQLITE_OK) << err;
  EXPECT_NE(sqlite3_next_stmt(db, nullptr), nullptr) << "crlog keeps its commit statements between commits";
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK) << sqlite3_errmsg(db);
  EXPECT_EQ(db_->Rows("SELECT id, a FROM t ORDER BY id"), (Rows{{"1", "'c'"}, {"3", "'tx'"}, {"9", "'peer'"}}));
}

// Hosts load and unload the extension with every connection. A thread_local
// in a dlopened library lives in dynamic TLS: every first access on a thread
// goes through __tls_get_addr, and this toolchain's LeakSanitizer records such
// blocks wrongly and crashes scanning them at exit ("Tracer caught signal 11"
// in ScanRangeForPointers), failing a host that did nothing wrong. The
// extension keeps per-thread state under pthread keys instead.
TEST(ExtensionFileTest, TheExtensionHasNoThreadLocalStorage) {
  std::ifstream so(CRLOG_EXTENSION, std::ios::binary);
  ASSERT_TRUE(so) << "cannot read " << CRLOG_EXTENSION;
  Elf64_Ehdr header{};
  so.read(reinterpret_cast<char*>(&header), sizeof header);
  ASSERT_TRUE(so && std::string(reinterpret_cast<const char*>(header.e_ident), 4) == "\x7f" "ELF" &&
              header.e_ident[EI_CLASS] == ELFCLASS64)
      << CRLOG_EXTENSION << " is not a 64-bit ELF file";
  ASSERT_EQ(header.e_phentsize, sizeof(Elf64_Phdr));
  for (int i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    so.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof segment));
    so.read(reinterpret_cast<char*>(&segment), sizeof segment);
    ASSERT_TRUE(so) << "truncated program headers in " << CRLOG_EXTENSION;
    EXPECT_NE(segment.p_type, static_cast<Elf64_Word>(PT_TLS))
        << CRLOG_EXTENSION << " has a TLS segment of " << segment.p_memsz
        << " bytes: a thread_local crept into code the extension links (readelf -sW shows it as TLS)";
  }
}

}  // namespace
}  // namespace crlog::capture_test
