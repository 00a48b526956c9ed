// Reading a table's shape (ReadTableInfo) and deciding whether crlog can
// replicate it (CheckReplicable), against in-memory SQLite databases: one
// test per refusal, the shapes that are accepted, and what ReadTableInfo
// reports.
#include "schema/table_info.h"

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "util/sqlite/quote.h"

namespace crlog::schema {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TableInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK);
    Exec("ATTACH ':memory:' AS aux");
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err ? err : "");
    sqlite3_free(err);
  }

  TableInfo Read(std::string_view table, std::string_view schema = "main") {
    auto info = ReadTableInfo(db_, schema, table);
    EXPECT_TRUE(info.ok()) << table << ": " << info.status();
    return info.ok() ? *info : TableInfo{};
  }

  // ReadTableInfo then CheckReplicable.
  absl::Status Check(std::string_view table, std::string_view schema = "main") {
    auto info = ReadTableInfo(db_, schema, table);
    if (!info.ok()) return info.status();
    return CheckReplicable(db_, schema, *info);
  }

  // Expects a refusal with `code` whose message contains every fragment.
  void ExpectRefused(std::string_view table, absl::StatusCode code,
                     std::vector<std::string> fragments, std::string_view schema = "main") {
    absl::Status s = Check(table, schema);
    ASSERT_FALSE(s.ok()) << table << " was accepted";
    EXPECT_EQ(s.code(), code) << s;
    for (const std::string& f : fragments) {
      EXPECT_THAT(std::string(s.message()), HasSubstr(f));
    }
  }

  sqlite3* db_ = nullptr;
};

// --- Accepted shapes --------------------------------------------------------

TEST_F(TableInfoTest, IntegerPrimaryKeyDeclaredNotNullIsReplicable) {
  Exec("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER)");
  EXPECT_TRUE(Check("todo").ok()) << Check("todo");
}

TEST_F(TableInfoTest, CompositePrimaryKeyIsReplicable) {
  Exec("CREATE TABLE cell(sheet TEXT NOT NULL, row INTEGER NOT NULL, col INTEGER NOT NULL, v, "
       "PRIMARY KEY (sheet, row, col))");
  EXPECT_TRUE(Check("cell").ok()) << Check("cell");
}

TEST_F(TableInfoTest, WithoutRowidTableIsReplicableAsItsPkIsImplicitlyNotNull) {
  Exec("CREATE TABLE w(a TEXT, b INTEGER, c, PRIMARY KEY (b, a)) WITHOUT ROWID");
  EXPECT_TRUE(Check("w").ok()) << Check("w");
  const TableInfo t = Read("w");
  EXPECT_TRUE(t.columns[0].not_null);
  EXPECT_TRUE(t.columns[1].not_null);
}

TEST_F(TableInfoTest, TextPrimaryKeyIsReplicable) {
  Exec("CREATE TABLE doc(id TEXT PRIMARY KEY NOT NULL, body TEXT)");
  EXPECT_TRUE(Check("doc").ok()) << Check("doc");
}

TEST_F(TableInfoTest, NotNullColumnsWithDefaultsAreReplicable) {
  Exec("CREATE TABLE d(id INTEGER PRIMARY KEY NOT NULL, "
       "title TEXT NOT NULL DEFAULT '', n INTEGER NOT NULL DEFAULT 0, "
       "at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, e REAL NOT NULL DEFAULT (1.5 * 2), "
       "maybe TEXT DEFAULT NULL)");
  EXPECT_TRUE(Check("d").ok()) << Check("d");
}

TEST_F(TableInfoTest, OddTableAndColumnNamesAreReplicable) {
  Exec("CREATE TABLE \"my \"\"odd\"\" table\"(\"the \"\"id\"\"\" TEXT PRIMARY KEY NOT NULL, "
       "\"select\" INTEGER, \"a'b\" TEXT)");
  EXPECT_TRUE(Check("my \"odd\" table").ok()) << Check("my \"odd\" table");
  const TableInfo t = Read("my \"odd\" table");
  EXPECT_EQ(t.name, "my \"odd\" table");
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[0].name, "the \"id\"");
  EXPECT_EQ(t.columns[1].name, "select");
  EXPECT_EQ(t.columns[2].name, "a'b");
}

TEST_F(TableInfoTest, NonUniqueIndexIsAllowed) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b INTEGER)");
  Exec("CREATE INDEX t_ab ON t(a, b)");
  EXPECT_TRUE(Check("t").ok()) << Check("t");
}

TEST_F(TableInfoTest, ColumnNamedAutoincrementIsNotMistakenForAutoincrement) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, \"autoincrement\" INTEGER, "
       "note TEXT DEFAULT 'AUTOINCREMENT')");
  EXPECT_TRUE(Check("t").ok()) << Check("t");
}

TEST_F(TableInfoTest, StrictTableIsReplicable) {
  Exec("CREATE TABLE s(id INTEGER PRIMARY KEY NOT NULL, n INTEGER, t TEXT) STRICT");
  EXPECT_TRUE(Check("s").ok()) << Check("s");
}

TEST_F(TableInfoTest, TableReferencedByAnotherTablesForeignKeyIsReplicable) {
  Exec("CREATE TABLE parent(id INTEGER PRIMARY KEY NOT NULL)");
  Exec("CREATE TABLE child(id INTEGER PRIMARY KEY NOT NULL, p INTEGER REFERENCES parent(id))");
  EXPECT_TRUE(Check("parent").ok()) << Check("parent");
}

TEST_F(TableInfoTest, TableAndSchemaNamesMatchWithoutRegardToCase) {
  Exec("CREATE TABLE Todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)");
  auto info = ReadTableInfo(db_, "MAIN", "TODO");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "Todo");
  EXPECT_TRUE(CheckReplicable(db_, "Main", *info).ok());
}

// --- What ReadTableInfo reports ---------------------------------------------

TEST_F(TableInfoTest, ReadTableInfoListsPkInPrimaryKeyOrderNotTableOrder) {
  Exec("CREATE TABLE t(a TEXT NOT NULL, b INTEGER NOT NULL, c REAL, PRIMARY KEY (b, a))");
  const TableInfo t = Read("t");
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_THAT(t.pk, ElementsAre(1, 0));
  EXPECT_THAT(t.non_pk, ElementsAre(2));
  EXPECT_EQ(t.columns[0].pk_index, 2);
  EXPECT_EQ(t.columns[1].pk_index, 1);
  EXPECT_EQ(t.columns[2].pk_index, 0);
}

TEST_F(TableInfoTest, ReadTableInfoReportsColumnsInTableOrder) {
  const std::string sql =
      "CREATE TABLE t(x INTEGER NOT NULL DEFAULT 7, id TEXT PRIMARY KEY NOT NULL, "
      "y varchar(10), z DEFAULT NULL)";
  Exec(sql);
  const TableInfo t = Read("t");
  EXPECT_EQ(t.name, "t");
  EXPECT_FALSE(t.without_rowid);
  EXPECT_EQ(t.create_sql, sql);
  ASSERT_EQ(t.columns.size(), 4u);

  EXPECT_EQ(t.columns[0].name, "x");
  EXPECT_EQ(t.columns[0].declared_type, "INTEGER");
  EXPECT_TRUE(t.columns[0].not_null);
  EXPECT_TRUE(t.columns[0].has_default);
  EXPECT_EQ(t.columns[0].pk_index, 0);

  EXPECT_EQ(t.columns[1].name, "id");
  EXPECT_EQ(t.columns[1].declared_type, "TEXT");
  EXPECT_TRUE(t.columns[1].not_null);
  EXPECT_FALSE(t.columns[1].has_default);
  EXPECT_EQ(t.columns[1].pk_index, 1);

  EXPECT_EQ(t.columns[2].declared_type, "varchar(10)");
  EXPECT_FALSE(t.columns[2].not_null);
  EXPECT_FALSE(t.columns[2].has_default);

  EXPECT_EQ(t.columns[3].declared_type, "");
  EXPECT_TRUE(t.columns[3].has_default);  // DEFAULT NULL is a DEFAULT clause

  EXPECT_THAT(t.pk, ElementsAre(1));
  EXPECT_THAT(t.non_pk, ElementsAre(0, 2, 3));
}

TEST_F(TableInfoTest, ReadTableInfoReportsWithoutRowid) {
  Exec("CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID");
  EXPECT_TRUE(Read("w").without_rowid);
}

TEST_F(TableInfoTest, ReadTableInfoReadsTheRequestedSchemaWhenNamesCollide) {
  Exec("CREATE TABLE t(main_id INTEGER PRIMARY KEY NOT NULL)");
  Exec("CREATE TABLE aux.t(aux_id TEXT PRIMARY KEY NOT NULL, extra)");
  const TableInfo m = Read("t", "main");
  ASSERT_EQ(m.columns.size(), 1u);
  EXPECT_EQ(m.columns[0].name, "main_id");
  const TableInfo a = Read("t", "aux");
  ASSERT_EQ(a.columns.size(), 2u);
  EXPECT_EQ(a.columns[0].name, "aux_id");
  EXPECT_THAT(a.create_sql, HasSubstr("aux_id"));
}

TEST_F(TableInfoTest, ReadTableInfoListsGeneratedColumns) {
  Exec("CREATE TABLE g(id INTEGER PRIMARY KEY NOT NULL, a INTEGER, b INTEGER AS (a + 1))");
  const TableInfo t = Read("g");
  ASSERT_EQ(t.columns.size(), 3u);
  EXPECT_EQ(t.columns[2].name, "b");
}

TEST_F(TableInfoTest, ReadTableInfoOfMissingTableIsNotFound) {
  auto info = ReadTableInfo(db_, "main", "nope");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("\"nope\""));
}

TEST_F(TableInfoTest, ReadTableInfoOfTableInAnotherSchemaOnlyIsNotFound) {
  Exec("CREATE TABLE aux.only_aux(id INTEGER PRIMARY KEY NOT NULL)");
  auto info = ReadTableInfo(db_, "main", "only_aux");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TableInfoTest, ReadTableInfoOfUnknownSchemaIsNotFound) {
  auto info = ReadTableInfo(db_, "nowhere", "t");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("\"nowhere\""));
}

TEST_F(TableInfoTest, ReadTableInfoOfViewIsInvalidArgument) {
  Exec("CREATE VIEW v AS SELECT 1 AS one");
  auto info = ReadTableInfo(db_, "main", "v");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("is a view"));
}

TEST_F(TableInfoTest, ReadTableInfoOfVirtualTableWithoutItsModuleSaysSo) {
  Exec("CREATE VIRTUAL TABLE v USING fts5(body)");
  // Point the table at a module this connection does not have.
  Exec("PRAGMA writable_schema = ON");
  Exec("UPDATE sqlite_schema SET sql = 'CREATE VIRTUAL TABLE v USING nosuchmod(body)' "
       "WHERE name = 'v'");
  Exec("PRAGMA writable_schema = RESET");
  auto info = ReadTableInfo(db_, "main", "v");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("virtual table \"v\""));
  EXPECT_THAT(std::string(info.status().message()), HasSubstr("no such module: nosuchmod"));
}

// --- Refusals, one per reason -----------------------------------------------

TEST_F(TableInfoTest, TableOfAttachedSchemaIsRefused) {
  Exec("CREATE TABLE aux.t(id INTEGER PRIMARY KEY NOT NULL)");
  ExpectRefused("t", absl::StatusCode::kInvalidArgument,
                {"\"t\"", "\"aux\"", "crlog replicates tables of the main schema only"}, "aux");
}

TEST_F(TableInfoTest, TempTableIsRefused) {
  Exec("CREATE TEMP TABLE t(id INTEGER PRIMARY KEY NOT NULL)");
  ExpectRefused("t", absl::StatusCode::kInvalidArgument, {"main schema only"}, "temp");
}

TEST_F(TableInfoTest, VirtualTableIsRefused) {
  Exec("CREATE VIRTUAL TABLE notes USING fts5(body)");
  ExpectRefused("notes", absl::StatusCode::kFailedPrecondition,
                {"\"notes\"", "virtual table"});
}

TEST_F(TableInfoTest, ShadowTableOfVirtualTableIsRefused) {
  Exec("CREATE VIRTUAL TABLE notes USING fts5(body)");
  ExpectRefused("notes_data", absl::StatusCode::kFailedPrecondition,
                {"\"notes_data\"", "shadow table"});
}

TEST_F(TableInfoTest, TableWithoutPrimaryKeyIsRefused) {
  Exec("CREATE TABLE t(a INTEGER, b TEXT)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition, {"\"t\"", "no primary key"});
}

TEST_F(TableInfoTest, IntegerPrimaryKeyWithoutNotNullIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, title TEXT)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"\"id\"", "\"t\"", "not declared NOT NULL"});
}

TEST_F(TableInfoTest, TextPrimaryKeyWithoutNotNullIsRefused) {
  Exec("CREATE TABLE t(id TEXT PRIMARY KEY, title TEXT)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition, {"\"id\"", "not declared NOT NULL"});
}

TEST_F(TableInfoTest, CompositePrimaryKeyWithOneNullableColumnNamesThatColumn) {
  Exec("CREATE TABLE t(a TEXT NOT NULL, b INTEGER, PRIMARY KEY (a, b))");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"primary key column \"b\"", "not declared NOT NULL"});
}

TEST_F(TableInfoTest, AutoincrementIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, title TEXT)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"\"t\"", "\"id\"", "AUTOINCREMENT"});
}

TEST_F(TableInfoTest, VirtualGeneratedColumnIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a INTEGER, b AS (a * 2))");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"column \"b\"", "\"t\"", "generated column"});
}

TEST_F(TableInfoTest, StoredGeneratedColumnIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a INTEGER, "
       "b INTEGER GENERATED ALWAYS AS (a * 2) STORED)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition, {"column \"b\"", "generated column"});
}

TEST_F(TableInfoTest, NotNullColumnWithoutDefaultIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, title TEXT NOT NULL)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"column \"title\"", "\"t\"", "NOT NULL without a DEFAULT"});
}

TEST_F(TableInfoTest, NotNullColumnWithDefaultNullIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, title TEXT NOT NULL DEFAULT NULL)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"column \"title\"", "NOT NULL with DEFAULT NULL"});
}

TEST_F(TableInfoTest, UniqueColumnConstraintIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, email TEXT UNIQUE)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"\"t\"", "UNIQUE constraint on (\"email\")"});
}

TEST_F(TableInfoTest, TableUniqueConstraintIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, a TEXT, b TEXT, UNIQUE (a, b))");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"UNIQUE constraint on (\"a\", \"b\")"});
}

TEST_F(TableInfoTest, UniqueConstraintRepeatingThePrimaryKeyIsRefusedLikeCrsqlite) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL UNIQUE, a TEXT)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition, {"UNIQUE constraint on (\"id\")"});
}

TEST_F(TableInfoTest, CreateUniqueIndexIsRefused) {
  Exec("CREATE TABLE t(id TEXT PRIMARY KEY NOT NULL, slug TEXT)");
  Exec("CREATE UNIQUE INDEX t_slug ON t(slug)");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"\"t\"", "unique index \"t_slug\" on (\"slug\")"});
}

TEST_F(TableInfoTest, PartialUniqueIndexIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, slug TEXT, live INTEGER)");
  Exec("CREATE UNIQUE INDEX t_live_slug ON t(slug) WHERE live");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition, {"unique index \"t_live_slug\""});
}

TEST_F(TableInfoTest, UniqueExpressionIndexIsRefused) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL, email TEXT)");
  Exec("CREATE UNIQUE INDEX t_lower ON t(lower(email))");
  ExpectRefused("t", absl::StatusCode::kFailedPrecondition,
                {"unique index \"t_lower\" on (<expression>)"});
}

TEST_F(TableInfoTest, ForeignKeyIsRefused) {
  Exec("CREATE TABLE parent(id INTEGER PRIMARY KEY NOT NULL)");
  Exec("CREATE TABLE child(id INTEGER PRIMARY KEY NOT NULL, p INTEGER REFERENCES parent(id))");
  ExpectRefused("child", absl::StatusCode::kFailedPrecondition,
                {"\"child\"", "foreign key (\"p\") referencing \"parent\""});
}

TEST_F(TableInfoTest, CompositeForeignKeyNamesAllItsColumns) {
  Exec("CREATE TABLE parent(a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))");
  Exec("CREATE TABLE child(id INTEGER PRIMARY KEY NOT NULL, x INTEGER, y INTEGER, "
       "FOREIGN KEY (x, y) REFERENCES parent(a, b))");
  ExpectRefused("child", absl::StatusCode::kFailedPrecondition,
                {"foreign key (\"x\", \"y\") referencing \"parent\""});
}

TEST_F(TableInfoTest, ReservedTableNamesAreRefused) {
  for (const char* name : {"crlog_meta", "crsql_changes_x", "CRSQL_Thing"}) {
    Exec(absl::StrCat("CREATE TABLE ", sqlite::QuoteIdentifier(name), "(id INTEGER PRIMARY KEY NOT NULL)"));
    ExpectRefused(name, absl::StatusCode::kInvalidArgument,
                  {sqlite::QuoteIdentifier(name), "reserved name"});
  }
  // SQLite will not let a user create sqlite_ tables, but makes its own:
  // sqlite_sequence appears with the first AUTOINCREMENT table.
  Exec("CREATE TABLE counted(id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL)");
  ExpectRefused("sqlite_sequence", absl::StatusCode::kInvalidArgument,
                {"\"sqlite_sequence\"", "reserved name"});
}

TEST_F(TableInfoTest, PrimaryKeyOfMoreThan255ColumnsIsRefused) {
  std::string cols, pk;
  for (int i = 0; i < 256; ++i) {
    absl::StrAppend(&cols, "c", i, " INTEGER NOT NULL, ");
    absl::StrAppend(&pk, i ? ", " : "", "c", i);
  }
  Exec(absl::StrCat("CREATE TABLE wide(", cols, "PRIMARY KEY (", pk, "))"));
  ExpectRefused("wide", absl::StatusCode::kFailedPrecondition, {"256 columns", "at most 255"});
}

TEST_F(TableInfoTest, RefusalOfOddlyNamedTableQuotesItsName) {
  Exec("CREATE TABLE \"my \"\"odd\"\" table\"(a, b)");
  ExpectRefused("my \"odd\" table", absl::StatusCode::kFailedPrecondition,
                {"table \"my \"\"odd\"\" table\" has no primary key"});
}

TEST_F(TableInfoTest, CheckOfTableDroppedSinceReadIsNotFound) {
  Exec("CREATE TABLE t(id INTEGER PRIMARY KEY NOT NULL)");
  const TableInfo t = Read("t");
  Exec("DROP TABLE t");
  absl::Status s = CheckReplicable(db_, "main", t);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

}  // namespace
}  // namespace crlog::schema
