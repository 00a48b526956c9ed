// Rule 5 of DESIGN.md: a connection that has not loaded the extension cannot
// change a replicated table unnoticed.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/capture/capture_test_util.h"

namespace crlog::capture_test {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using Rows = std::vector<std::vector<std::string>>;

class Rule5Test : public CaptureTest {
 protected:
  void SetUp() override {
    CaptureTest::SetUp();
    if (HasFatalFailure()) return;
    db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
        "INSERT INTO t VALUES (1, 'x'), (2, 'y');");
    plain_ = std::make_unique<Db>(path_, /*load_extension=*/false);
    plain_->Exec("PRAGMA busy_timeout = 5000");
  }
  // Runs a write on the plain connection, expects it to fail, and checks
  // that nothing changed.
  void ExpectRefused(const std::string& sql) {
    Rows before = plain_->Rows("SELECT * FROM t ORDER BY id");
    size_t events = EventCount();
    // Refused by crlog's triggers: their WHEN clause calls a crsql_
    // function, their body writes a crlog_capture virtual table; neither
    // exists on this connection.
    EXPECT_THAT(plain_->Try(sql), AnyOf(HasSubstr("no such function: crsql_"), HasSubstr("no such module: crlog_capture")))
        << sql;
    EXPECT_EQ(plain_->Rows("SELECT * FROM t ORDER BY id"), before) << sql;
    EXPECT_EQ(db_->Rows("SELECT * FROM t ORDER BY id"), before) << sql;
    EXPECT_EQ(EventCount(), events);
    EXPECT_TRUE(Matches({"t"}));
  }
  std::unique_ptr<Db> plain_;
};

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCannotInsert) { ExpectRefused("INSERT INTO t VALUES (3, 'z')"); }

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCannotUpdate) { ExpectRefused("UPDATE t SET a = 'changed'"); }

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCannotDelete) { ExpectRefused("DELETE FROM t WHERE id = 1"); }

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCannotReplace) {
  ExpectRefused("INSERT OR REPLACE INTO t VALUES (1, 'replaced')");
}

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCannotWriteInsideATransaction) {
  ExpectRefused("BEGIN; INSERT INTO t VALUES (3, 'z'); COMMIT;");
  plain_->Try("ROLLBACK");
}

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCanStillRead) {
  EXPECT_EQ(plain_->Rows("SELECT id, a FROM t ORDER BY id"), (Rows{{"1", "'x'"}, {"2", "'y'"}}));
}

TEST_F(Rule5Test, AConnectionWithoutTheExtensionCanWritePlainTables) {
  EXPECT_EQ(plain_->Try("CREATE TABLE p(x); INSERT INTO p VALUES (1);"), "");
}

// A replicated table of another crlog database, written through ATTACH:
// its triggers would hand the rows to this connection's capture, recording
// them in the main database's log (and neither log would then verify).
// Refused, naming the table and the way to write it.
TEST_F(CaptureTest, WritesToAReplicatedTableOfAnAttachedDatabaseAreRefused) {
  const std::string other = dir_.File("other.db");
  {
    Db b(other);
    ASSERT_TRUE(b.loaded()) << b.load_error();
    b.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');"
           "INSERT INTO t VALUES (1, 'b');");
  }
  db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT); SELECT crsql_as_crr('t');");
  const size_t events = EventCount();
  db_->Exec("ATTACH '" + other + "' AS aux");
  for (const char* sql : {"INSERT INTO aux.t VALUES (2, 'through attach')", "UPDATE aux.t SET a = 'changed'",
                          "DELETE FROM aux.t", "BEGIN; INSERT INTO main.t VALUES (5, 'main'); "
                                               "INSERT INTO aux.t VALUES (3, 'x'); COMMIT;"}) {
    EXPECT_THAT(db_->Try(sql), AllOf(HasSubstr("aux.t"), HasSubstr("attached database 'aux'"),
                                      HasSubstr("open that database as the main one")))
        << sql;
    db_->Try("ROLLBACK");
  }
  EXPECT_EQ(db_->Rows("SELECT * FROM aux.t"), (Rows{{"1", "'b'"}}));
  EXPECT_EQ(EventCount(), events) << "nothing reached the main database's log";
  // The main database's own table still takes writes on that connection.
  db_->Exec("INSERT INTO main.t VALUES (9, 'main')");
  EXPECT_EQ(EventCount(), events + 1);
  db_->Exec("DETACH aux");
  EXPECT_TRUE(Matches({"t"}));
  Db b(other);
  ASSERT_TRUE(b.loaded()) << b.load_error();
  EXPECT_EQ(b.Rows("SELECT * FROM t"), (Rows{{"1", "'b'"}}));
  EXPECT_TRUE(LogMatchesTables(b, other, {"t"}));
}

}  // namespace
}  // namespace crlog::capture_test
