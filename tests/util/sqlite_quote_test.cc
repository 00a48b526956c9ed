// Identifier quoting (util/sqlite/quote.h): the quoted form, and that SQLite
// reads it back as the same name.
#include "util/sqlite/quote.h"

#include <sqlite3.h>

#include <string>

#include "gtest/gtest.h"

namespace crlog::sqlite {
namespace {

TEST(QuoteIdentifierTest, WrapsPlainNameInDoubleQuotes) {
  EXPECT_EQ(QuoteIdentifier("todo"), "\"todo\"");
}

TEST(QuoteIdentifierTest, DoublesEmbeddedDoubleQuotes) {
  EXPECT_EQ(QuoteIdentifier("my \"odd\" table"), "\"my \"\"odd\"\" table\"");
  EXPECT_EQ(QuoteIdentifier("\""), "\"\"\"\"");
}

TEST(QuoteIdentifierTest, LeavesOtherPunctuationAlone) {
  EXPECT_EQ(QuoteIdentifier("a'b [c] `d`;--"), "\"a'b [c] `d`;--\"");
  EXPECT_EQ(QuoteIdentifier(""), "\"\"");
}

TEST(QuoteIdentifierTest, SqliteReadsQuotedNameBackUnchanged) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  for (const std::string name : {"plain", "my \"odd\" table", "select", "a'b", "x\"\"y", "é ü"}) {
    const std::string sql = "CREATE TABLE " + QuoteIdentifier(name) + "(" +
                            QuoteIdentifier(name) + " PRIMARY KEY NOT NULL)";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db) << " for " << name;
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                                     "AND name = ?1",
                                 -1, &stmt, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << name;
    sqlite3_finalize(stmt);
    const std::string drop = "DROP TABLE " + QuoteIdentifier(name);
    ASSERT_EQ(sqlite3_exec(db, drop.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  }
  sqlite3_close(db);
}

}  // namespace
}  // namespace crlog::sqlite
