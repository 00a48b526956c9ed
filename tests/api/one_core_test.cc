// One core per process: a program that uses the C++ API and loads the
// extension into its own connection on the same database runs one engine
// and opens the log's LMDB environment once.
#include <sqlite3.h>

#include <string>

#include "crlog/replica.h"
#include "gtest/gtest.h"
#include "tests/api/api_test_util.h"

namespace crlog::api_test {
namespace {

class OneCoreTest : public ApiTest {};

TEST_F(OneCoreTest, TheExtensionLoadedBesideTheApiSharesItsEngineAndLog) {
  auto replica = Replica::Open(File("app.db"));
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE((*replica)->Execute("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, v TEXT)").ok());
  ASSERT_TRUE((*replica)->Replicate("t").ok());

  // The application's own connection, with the extension loaded from the
  // file the program linked.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(File("app.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_enable_load_extension(db, 1), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_load_extension(db, CRLOG_EXTENSION, nullptr, &err), SQLITE_OK) << (err ? err : "");
  // Both connections are one replica: one site.
  EXPECT_EQ(QueryText(db, "SELECT lower(hex(crsql_site_id()))"), ToHex((*replica)->site()));

  auto before = (*replica)->log().Stats();
  ExecOrFail(db, "INSERT INTO t VALUES (1, 'from SQL')");
  ASSERT_TRUE((*replica)->Execute("INSERT INTO t VALUES (2, 'from C++')").ok());
  auto after = (*replica)->log().Stats();
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(after->events, before->events + 2);
  // The SQL side sees the API's write in the same log.
  EXPECT_EQ(QueryText(db, "SELECT count(*) FROM crsql_changes WHERE \"table\" = 't'"), "2");

  EXPECT_EQ(MappingsOf(File("app.db-crlog/data.mdb")), 1);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
}

}  // namespace
}  // namespace crlog::api_test
