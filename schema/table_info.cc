// Reading a table's shape from SQLite and deciding whether crlog can
// replicate it (schema/table_info.h). Every name is bound as a parameter of
// a table-valued pragma; only the schema name of sqlite_schema is quoted
// into SQL text.
#include "schema/table_info.h"

#include <algorithm>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "util/sqlite/stmt.h"

namespace crlog::schema {
namespace {

// Reading a table's shape, SQLite's generic error means the schema names
// something this connection cannot read (a virtual table whose module is
// not loaded): a precondition the caller can fix, not an internal fault.
absl::Status ShapeError(sqlite3* db, std::string_view context) {
  const int rc = sqlite3_errcode(db);
  if ((rc & 0xff) == SQLITE_ERROR) {
    return absl::FailedPreconditionError(absl::StrCat(Sv(context), ": ", sqlite3_errmsg(db)));
  }
  return sqlite::SqliteError(db, rc, context);
}

// Prepares `sql` with `params` bound as text to ?1, ?2, ...; a failure names
// what crlog was doing (`context`).
absl::StatusOr<sqlite::Stmt> Prepare(sqlite3* db, std::string_view sql,
                                     std::initializer_list<std::string_view> params,
                                     std::string_view context) {
  auto stmt = sqlite::Stmt::Prepare(db, sql);
  if (!stmt.ok()) return ShapeError(db, context);
  int i = 1;
  for (std::string_view p : params) stmt->BindText(i++, p);
  return stmt;
}

// Runs `stmt`, calling `row` for each result row.
template <typename Fn>
absl::Status ForEachRow(sqlite3* db, sqlite::Stmt& stmt, std::string_view context, Fn row) {
  for (;;) {
    absl::StatusOr<bool> more = stmt.Step();
    if (!more.ok()) return ShapeError(db, context);
    if (!*more) return absl::OkStatus();
    row(stmt);
  }
}

// The schema's name as SQLite spells it, or NotFound.
absl::StatusOr<std::string> CanonicalSchema(sqlite3* db, std::string_view schema) {
  auto stmt = Prepare(db, "SELECT name FROM pragma_database_list WHERE name = ?1 COLLATE NOCASE",
                      {schema}, "listing attached schemas");
  if (!stmt.ok()) return stmt.status();
  std::string found;
  bool any = false;
  absl::Status s = ForEachRow(db, *stmt, "listing attached schemas", [&](const sqlite::Stmt& r) {
    found = r.ColumnText(0);
    any = true;
  });
  if (!s.ok()) return s;
  if (!any) {
    return absl::NotFoundError(absl::StrCat("no schema named ", sqlite::QuoteIdentifier(schema),
                                            " is attached to this connection"));
  }
  return found;
}

struct TableListRow {
  std::string name;
  std::string type;  // "table", "virtual", "shadow", "view"
  bool without_rowid = false;
};

// The table_list row of `table` in `schema` (canonical), or NotFound.
// pragma_table_list(name) lists matches in every schema, whatever schema
// qualifies it, hence the filter.
absl::StatusOr<TableListRow> FindTable(sqlite3* db, std::string_view schema,
                                       std::string_view table) {
  const std::string context = absl::StrCat("looking up table ", sqlite::QuoteIdentifier(table));
  auto stmt = Prepare(db,
                      "SELECT name, type, wr FROM pragma_table_list(?1) "
                      "WHERE schema = ?2 COLLATE NOCASE",
                      {table, schema}, context);
  if (!stmt.ok()) return stmt.status();
  TableListRow found;
  bool any = false;
  absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
    found.name = r.ColumnText(0);
    found.type = r.ColumnText(1);
    found.without_rowid = r.ColumnInt(2) != 0;
    any = true;
  });
  if (!s.ok()) return s;
  if (!any) {
    return absl::NotFoundError(absl::StrCat("no table named ", sqlite::QuoteIdentifier(table),
                                            " in schema ", sqlite::QuoteIdentifier(schema)));
  }
  return found;
}

struct XinfoRow {
  std::string name;
  std::string default_sql;
  bool has_default = false;
  int hidden = 0;  // 0 normal, 1 hidden (virtual tables), 2 generated VIRTUAL, 3 STORED
};

absl::StatusOr<std::vector<XinfoRow>> ReadXinfo(sqlite3* db, std::string_view schema,
                                                std::string_view table) {
  const std::string context = absl::StrCat("reading the columns of table ", sqlite::QuoteIdentifier(table));
  auto stmt = Prepare(db,
                      "SELECT name, dflt_value, hidden FROM pragma_table_xinfo(?1, ?2) "
                      "ORDER BY cid",
                      {table, schema}, context);
  if (!stmt.ok()) return stmt.status();
  std::vector<XinfoRow> rows;
  absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
    XinfoRow x;
    x.name = r.ColumnText(0);
    x.has_default = !r.ColumnIsNull(1);
    x.default_sql = r.ColumnText(1);
    x.hidden = r.ColumnInt(2);
    rows.push_back(std::move(x));
  });
  if (!s.ok()) return s;
  return rows;
}

bool HasReservedPrefix(std::string_view name) {
  for (std::string_view prefix : {"crlog_", "crsql_", "sqlite_"}) {
    if (absl::StartsWithIgnoreCase(Sv(name), Sv(prefix))) return true;
  }
  return false;
}

// The columns an index covers, for messages: (a, b), <expression> for
// expression parts.
absl::StatusOr<std::string> IndexColumns(sqlite3* db, const std::string& index) {
  const std::string context = absl::StrCat("reading index ", sqlite::QuoteIdentifier(index));
  auto stmt = Prepare(db, "SELECT name FROM pragma_index_info(?1, 'main') ORDER BY seqno",
                      {index}, context);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> names;
  absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
    names.push_back(r.ColumnIsNull(0) ? "<expression>"
                                                             : sqlite::QuoteIdentifier(r.ColumnText(0)));
  });
  if (!s.ok()) return s;
  return absl::StrCat("(", absl::StrJoin(names, ", "), ")");
}

absl::Status CheckNoUniqueIndex(sqlite3* db, const TableInfo& t, const std::string& tname) {
  const std::string context = absl::StrCat("listing the indexes of table ", tname);
  auto stmt = Prepare(db,
                      "SELECT name, origin FROM pragma_index_list(?1, 'main') "
                      "WHERE \"unique\" AND origin <> 'pk' ORDER BY seq",
                      {t.name}, context);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::pair<std::string, std::string>> unique;  // name, origin
  absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
    unique.emplace_back(r.ColumnText(0), r.ColumnText(1));
  });
  if (!s.ok()) return s;
  if (unique.empty()) return absl::OkStatus();
  const auto& [index, origin] = unique.front();
  auto columns = IndexColumns(db, index);
  if (!columns.ok()) return columns.status();
  const std::string what =
      origin == "u" ? absl::StrCat("a UNIQUE constraint on ", *columns)
                    : absl::StrCat("the unique index ", sqlite::QuoteIdentifier(index), " on ", *columns);
  return absl::FailedPreconditionError(absl::StrCat(
      "table ", tname, " has ", what,
      ": crlog cannot replicate a table with UNIQUE indexes other than its primary key, because "
      "two replicas may each write the same value and the merge could not apply both; drop the "
      "constraint or index (or make those columns the primary key)"));
}

absl::Status CheckNoForeignKey(sqlite3* db, const TableInfo& t, const std::string& tname) {
  const std::string context = absl::StrCat("listing the foreign keys of table ", tname);
  auto stmt = Prepare(db,
                      "SELECT id, \"table\", \"from\" FROM pragma_foreign_key_list(?1, 'main') "
                      "ORDER BY id, seq",
                      {t.name}, context);
  if (!stmt.ok()) return stmt.status();
  bool any = false;
  int first_id = 0;
  std::string parent;
  std::vector<std::string> from;
  absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
    const int id = r.ColumnInt(0);
    if (!any) {
      any = true;
      first_id = id;
      parent = r.ColumnText(1);
    }
    if (id == first_id) from.push_back(sqlite::QuoteIdentifier(r.ColumnText(2)));
  });
  if (!s.ok()) return s;
  if (!any) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "table ", tname, " has a foreign key (", absl::StrJoin(from, ", "), ") referencing ",
      sqlite::QuoteIdentifier(parent),
      ": crlog cannot replicate tables with foreign keys, because rows from other replicas "
      "arrive in any order and a merge could break the constraint; drop the REFERENCES clause"));
}

}  // namespace

absl::StatusOr<TableInfo> ReadTableInfo(sqlite3* db, std::string_view schema,
                                        std::string_view table) {
  auto canonical_schema = CanonicalSchema(db, schema);
  if (!canonical_schema.ok()) return canonical_schema.status();
  auto listed = FindTable(db, *canonical_schema, table);
  if (!listed.ok()) return listed.status();
  if (listed->type == "view") {
    return absl::InvalidArgumentError(absl::StrCat(sqlite::QuoteIdentifier(listed->name), " in schema ",
                                                   sqlite::QuoteIdentifier(*canonical_schema),
                                                   " is a view, not a table"));
  }

  TableInfo info;
  info.name = listed->name;
  info.without_rowid = listed->without_rowid;
  const std::string tname = sqlite::QuoteIdentifier(info.name);

  {
    const std::string context = absl::StrCat("reading the definition of table ", tname);
    auto stmt = Prepare(db,
                        absl::StrCat("SELECT sql FROM ", sqlite::QuoteIdentifier(*canonical_schema),
                                     ".sqlite_schema WHERE type = 'table' AND name = ?1"),
                        {info.name}, context);
    if (!stmt.ok()) return stmt.status();
    absl::Status s = ForEachRow(db, *stmt, context,
                                [&](const sqlite::Stmt& r) { info.create_sql = r.ColumnText(0); });
    if (!s.ok()) return s;
  }

  {
    // A virtual table's columns come from its module: without the module
    // loaded on this connection, SQLite reports "no such module".
    const std::string context =
        absl::StrCat("reading the columns of ", listed->type == "virtual" ? "virtual " : "",
                     "table ", tname);
    auto stmt = Prepare(db,
                        "SELECT name, type, \"notnull\", dflt_value, pk "
                        "FROM pragma_table_xinfo(?1, ?2) ORDER BY cid",
                        {info.name, *canonical_schema}, context);
    if (!stmt.ok()) return stmt.status();
    absl::Status s = ForEachRow(db, *stmt, context, [&](const sqlite::Stmt& r) {
      ColumnInfo c;
      c.name = r.ColumnText(0);
      c.declared_type = r.ColumnText(1);
      c.not_null = r.ColumnInt(2) != 0;
      c.has_default = !r.ColumnIsNull(3);
      c.pk_index = r.ColumnInt(4);
      info.columns.push_back(std::move(c));
    });
    if (!s.ok()) return s;
  }

  for (int i = 0; i < static_cast<int>(info.columns.size()); ++i) {
    (info.columns[i].pk_index > 0 ? info.pk : info.non_pk).push_back(i);
  }
  std::sort(info.pk.begin(), info.pk.end(), [&](int a, int b) {
    return info.columns[a].pk_index < info.columns[b].pk_index;
  });
  return info;
}

absl::Status CheckReplicable(sqlite3* db, std::string_view schema, const TableInfo& t) {
  const std::string tname = sqlite::QuoteIdentifier(t.name);
  if (HasReservedPrefix(t.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table ", tname,
        " has a reserved name: names starting with crlog_, crsql_ or sqlite_ belong to crlog, "
        "cr-sqlite and SQLite; rename the table"));
  }
  if (!absl::EqualsIgnoreCase(Sv(schema), "main")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "table ", tname, " is in schema ", sqlite::QuoteIdentifier(schema),
        ": crlog replicates tables of the main schema only; create the table in the main "
        "database"));
  }

  auto listed = FindTable(db, "main", t.name);
  if (!listed.ok()) return listed.status();
  if (listed->type == "virtual") {
    return absl::FailedPreconditionError(absl::StrCat(
        "table ", tname,
        " is a virtual table: crlog replicates ordinary tables only; replicate a table that "
        "holds the data instead"));
  }
  if (listed->type == "shadow") {
    return absl::FailedPreconditionError(absl::StrCat(
        "table ", tname,
        " is a shadow table of a virtual table: it belongs to that virtual table's module and "
        "cannot be replicated"));
  }
  if (listed->type != "table") {
    return absl::FailedPreconditionError(
        absl::StrCat(tname, " is a ", listed->type, ", not a table: crlog replicates tables"));
  }

  if (t.pk.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "table ", tname,
        " has no primary key: crlog identifies a row on every replica by its primary key; "
        "declare a PRIMARY KEY whose columns are NOT NULL"));
  }
  if (t.pk.size() > kMaxPackedColumns) {
    return absl::FailedPreconditionError(absl::StrCat(
        "table ", tname, " has a primary key of ", t.pk.size(),
        " columns: the packed pk format holds at most ", kMaxPackedColumns,
        "; use a shorter primary key"));
  }
  for (int i : t.pk) {
    const ColumnInfo& c = t.columns[i];
    if (!c.not_null) {
      return absl::FailedPreconditionError(absl::StrCat(
          "primary key column ", sqlite::QuoteIdentifier(c.name), " of table ", tname,
          " is not declared NOT NULL: crlog needs a key that is never NULL (an INTEGER PRIMARY "
          "KEY without NOT NULL lets SQLite pick the rowid, which differs between replicas); "
          "add NOT NULL to the column"));
    }
  }
  if (t.pk.size() == 1) {
    // sqlite3_table_column_metadata is the only API that reports AUTOINCREMENT
    // (Debian builds SQLite with SQLITE_ENABLE_COLUMN_METADATA). Searching
    // create_sql for the word would also match a column named autoincrement.
    const ColumnInfo& c = t.columns[t.pk.front()];
    int not_null = 0, primary_key = 0, autoinc = 0;
    int rc = sqlite3_table_column_metadata(db, "main", t.name.c_str(), c.name.c_str(), nullptr,
                                           nullptr, &not_null, &primary_key, &autoinc);
    if (rc != SQLITE_OK) {
      return sqlite::SqliteError(db, rc, absl::StrCat("reading primary key column ",
                                              sqlite::QuoteIdentifier(c.name), " of table ", tname));
    }
    if (autoinc) {
      return absl::FailedPreconditionError(absl::StrCat(
          "table ", tname, " declares ", sqlite::QuoteIdentifier(c.name),
          " AUTOINCREMENT: ids counted up on each replica collide between replicas; remove "
          "AUTOINCREMENT and choose keys that are unique across replicas (random or UUID)"));
    }
  }

  auto xinfo = ReadXinfo(db, "main", t.name);
  if (!xinfo.ok()) return xinfo.status();
  for (const XinfoRow& x : *xinfo) {
    if (x.hidden == 2 || x.hidden == 3) {
      return absl::FailedPreconditionError(absl::StrCat(
          "column ", sqlite::QuoteIdentifier(x.name), " of table ", tname,
          " is a generated column: SQLite computes its value, so it cannot be written by a "
          "merge; make it a plain column or compute it in a view"));
    }
  }
  for (int i : t.non_pk) {
    const ColumnInfo& c = t.columns[i];
    if (!c.not_null) continue;
    auto x = std::find_if(xinfo->begin(), xinfo->end(),
                          [&](const XinfoRow& r) { return r.name == c.name; });
    const bool default_is_null =
        x != xinfo->end() && x->has_default && absl::EqualsIgnoreCase(x->default_sql, "NULL");
    if (!c.has_default || default_is_null) {
      return absl::FailedPreconditionError(absl::StrCat(
          "column ", sqlite::QuoteIdentifier(c.name), " of table ", tname, " is NOT NULL ",
          default_is_null ? "with DEFAULT NULL" : "without a DEFAULT",
          ": a row from another replica may arrive one column at a time; give the column a "
          "non-NULL DEFAULT or drop NOT NULL"));
    }
  }

  if (absl::Status s = CheckNoUniqueIndex(db, t, tname); !s.ok()) return s;
  if (absl::Status s = CheckNoForeignKey(db, t, tname); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace crlog::schema
