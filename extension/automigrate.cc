// crsql_automigrate(schema_sql [, cleanup_sql]): brings the database's tables
// to the schema `schema_sql` describes, as cr-sqlite 0.16 does (vlcn's
// ws-server calls it when a client arrives with a newer schema):
//   1. the schema, without its crsql_as_crr / crsql_fract_as_ordered lines,
//      is built in a scratch in-memory database;
//   2. tables the schema lacks are dropped; of the others, columns the schema
//      lacks are dropped and new ones added (a new primary-key column is
//      refused), and indexes that are gone or changed are dropped, each
//      replicated table inside crsql_begin_alter / crsql_commit_alter, so its
//      rows keep syncing;
//   3. the whole schema runs on the database (it must be idempotent: CREATE
//      ... IF NOT EXISTS), creating new tables and indexes and replicating
//      what it replicates.
// All of it in one savepoint: a failure leaves the database as it was.
#include "util/sqlite/api.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "util/strings.h"
#include "util/sqlite/quote.h"

namespace crlog::extension {
namespace {

using sqlite::Exec;
using sqlite::Stmt;

// Tables automigrate manages: the application's, not SQLite's, cr-sqlite's
// or crlog's.
constexpr const char* kUserTables =
    "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
    "AND name NOT LIKE 'crsql\\_%' ESCAPE '\\' AND name NOT LIKE '\\_\\_crsql\\_%' ESCAPE '\\' "
    "AND name NOT LIKE 'crlog\\_%' ESCAPE '\\' ORDER BY name";

absl::StatusOr<std::vector<std::string>> Texts(sqlite3* db, const std::string& sql,
                                               const std::vector<std::string>& args = {}) {
  auto stmt = Stmt::Prepare(db, sql);
  if (!stmt.ok()) return stmt.status();
  for (size_t i = 0; i < args.size(); ++i) stmt->BindText(static_cast<int>(i + 1), args[i]);
  return sqlite::QueryTexts(std::move(stmt));
}

std::string StripReplicationLines(std::string_view schema) {
  std::vector<std::string> kept;
  for (absl::string_view line : absl::StrSplit(Sv(schema), '\n')) {
    const std::string lower = absl::AsciiStrToLower(line);
    if (absl::StrContains(lower, "crsql_as_crr") || absl::StrContains(lower, "crsql_fract_as_ordered")) continue;
    kept.emplace_back(line);
  }
  return absl::StrJoin(kept, "\n");
}

absl::StatusOr<bool> IsReplicated(Connection* conn, const std::string& table) {
  auto desc = conn->replica->Table(conn->db, table);
  if (desc.ok()) return true;
  if (absl::IsNotFound(desc.status())) return false;
  return desc.status();
}

// Drops the indexes of `table` that `want` lacks or defines differently
// (step 3 re-creates those it defines).
absl::Status DropChangedIndexes(sqlite3* db, sqlite3* want, const std::string& table) {
  const std::string list = "SELECT name FROM pragma_index_list(?1) WHERE origin != 'pk' ORDER BY name";
  const std::string shape =
      "SELECT (SELECT \"unique\" FROM pragma_index_list(?1) WHERE name = ?2) || ':' || "
      "coalesce((SELECT group_concat(coalesce(name, '<expr>'), ',') FROM "
      "(SELECT name FROM pragma_index_xinfo(?2) WHERE key ORDER BY seqno)), '')";
  auto have = Texts(db, list, {table});
  if (!have.ok()) return have.status();
  auto wanted = Texts(want, list, {table});
  if (!wanted.ok()) return wanted.status();
  for (const std::string& index : *have) {
    bool keep = std::find(wanted->begin(), wanted->end(), index) != wanted->end();
    if (keep) {
      auto a = Texts(db, shape, {table, index});
      auto b = Texts(want, shape, {table, index});
      if (!a.ok()) return a.status();
      if (!b.ok()) return b.status();
      keep = *a == *b;
    }
    if (!keep) {
      if (absl::Status s = Exec(db, absl::StrCat("DROP INDEX IF EXISTS main.", sqlite::QuoteIdentifier(index)));
          !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ModifyTable(Connection* conn, sqlite3* want, const std::string& table) {
  sqlite3* db = conn->db;
  const std::string columns_sql = "SELECT name FROM pragma_table_info(?1)";
  auto have = Texts(db, columns_sql, {table});
  if (!have.ok()) return have.status();
  auto wanted = Texts(want, columns_sql, {table});
  if (!wanted.ok()) return wanted.status();
  std::vector<std::string> dropped, added;
  for (const std::string& c : *have) {
    if (std::find(wanted->begin(), wanted->end(), c) == wanted->end()) dropped.push_back(c);
  }
  for (const std::string& c : *wanted) {
    if (std::find(have->begin(), have->end(), c) == have->end()) added.push_back(c);
  }
  auto replicated = IsReplicated(conn, table);
  if (!replicated.ok()) return replicated.status();
  const std::string q = sqlite::QuoteIdentifier(table);
  auto bracket = [&](const char* fn) -> absl::Status {
    if (!*replicated) return absl::OkStatus();
    auto stmt = Stmt::Prepare(db, absl::StrCat("SELECT ", fn, "(?1)"));
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, table);
    return stmt->Run();
  };
  // Indexes first: SQLite refuses to drop a column an index names.
  if (absl::Status s = DropChangedIndexes(db, want, table); !s.ok()) return s;
  // Drops and adds in separate alters: crsql_commit_alter would pair a
  // dropped and an added column as a rename.
  if (!dropped.empty()) {
    if (absl::Status s = bracket("crsql_begin_alter"); !s.ok()) return s;
  }
  for (const std::string& c : dropped) {
    if (absl::Status s = Exec(db, absl::StrCat("ALTER TABLE main.", q, " DROP COLUMN ", sqlite::QuoteIdentifier(c)));
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("dropping column '", c, "' of table '", table, "': ", s.message()));
    }
  }
  if (!dropped.empty()) {
    if (absl::Status s = bracket("crsql_commit_alter"); !s.ok()) return s;
  }
  if (added.empty()) return absl::OkStatus();
  if (absl::Status s = bracket("crsql_begin_alter"); !s.ok()) return s;
  for (const std::string& c : added) {
    auto stmt = Stmt::Prepare(want, "SELECT type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) WHERE name = ?2");
    if (!stmt.ok()) return stmt.status();
    stmt->BindText(1, table);
    stmt->BindText(2, c);
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (stmt->ColumnInt(3) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the schema adds column '", c, "' to the primary key of table '", table,
          "', which automigrate cannot do: migrate that table by hand (crsql_begin_alter, the 12-step alter, "
          "crsql_commit_alter)"));
    }
    std::string sql = absl::StrCat("ALTER TABLE main.", q, " ADD COLUMN ", sqlite::QuoteIdentifier(c), " ",
                                   Sv(stmt->ColumnText(0)));
    if (stmt->ColumnInt(1) != 0) absl::StrAppend(&sql, " NOT NULL");
    if (!stmt->ColumnIsNull(2)) absl::StrAppend(&sql, " DEFAULT ", Sv(stmt->ColumnText(2)));
    if (absl::Status s = Exec(db, sql); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("adding column '", c, "' to table '", table, "': ", s.message()));
    }
  }
  return bracket("crsql_commit_alter");
}

absl::Status Migrate(Connection* conn, const std::string& schema_sql, const std::string* cleanup) {
  sqlite3* db = conn->db;
  sqlite3* scratch = nullptr;
  if (sqlite3_open_v2(":memory:", &scratch, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(scratch);
    return absl::ResourceExhaustedError("crsql_automigrate: cannot open a scratch in-memory database");
  }
  sqlite::OwnedDb want(scratch);
  if (absl::Status s = Exec(scratch, StripReplicationLines(schema_sql)); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("crsql_automigrate: the schema does not run: ", s.message()));
  }
  auto wanted = Texts(scratch, kUserTables);
  if (!wanted.ok()) return wanted.status();
  auto have = Texts(db, kUserTables);
  if (!have.ok()) return have.status();
  for (const std::string& table : *have) {
    absl::Status s;
    if (std::find(wanted->begin(), wanted->end(), table) == wanted->end()) {
      s = Exec(db, absl::StrCat("DROP TABLE main.", sqlite::QuoteIdentifier(table)));
    } else {
      s = ModifyTable(conn, scratch, table);
    }
    if (!s.ok()) return absl::Status(s.code(), absl::StrCat("crsql_automigrate: ", s.message()));
  }
  if (cleanup != nullptr) {
    if (absl::Status s = Exec(scratch, *cleanup); !s.ok()) return s;
  }
  if (absl::Status s = Exec(db, schema_sql); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("crsql_automigrate: applying the schema: ", s.message()));
  }
  return absl::OkStatus();
}

void Automigrate(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  Connection* conn = Conn(ctx);
  if (absl::Status s = conn->Ready(); !s.ok()) return ResultError(ctx, s);
  if (argc < 1 || argc > 2 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crsql_automigrate(schema_sql [, cleanup_sql]) takes the schema as TEXT"));
  }
  const std::string schema_sql = TextArg(argv[0]);
  std::string cleanup;
  if (argc == 2) cleanup = TextArg(argv[1]);
  if (absl::Status s = Exec(conn->db, "SAVEPOINT crsql_automigrate"); !s.ok()) return ResultError(ctx, s);
  absl::Status s = Migrate(conn, schema_sql, argc == 2 ? &cleanup : nullptr);
  if (!s.ok()) {
    Exec(conn->db, "ROLLBACK TO crsql_automigrate; RELEASE crsql_automigrate").IgnoreError();
    return ResultError(ctx, s);
  }
  if (absl::Status r = Exec(conn->db, "RELEASE crsql_automigrate"); !r.ok()) return ResultError(ctx, r);
  sqlite3_result_text(ctx, "migration complete", -1, SQLITE_STATIC);
}

}  // namespace

int RegisterAutomigrate(sqlite3* db, Connection* conn) {
  return CreateFunction(db, conn, "crsql_automigrate", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, Automigrate);
}

}  // namespace crlog::extension
