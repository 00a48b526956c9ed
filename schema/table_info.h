// What crlog needs to know about a table, read from SQLite, and whether the
// table can be replicated (the refusals of cr-sqlite's crsql_as_crr, plus
// crlog's own).
#ifndef CRLOG_SCHEMA_TABLE_INFO_H_
#define CRLOG_SCHEMA_TABLE_INFO_H_

#include "util/sqlite/api.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace crlog::schema {

struct ColumnInfo {
  std::string name;           // as declared (case preserved)
  std::string declared_type;  // as declared, e.g. "INTEGER", "varchar(10)"; "" if none
  bool not_null = false;      // NOT NULL, declared or implied (WITHOUT ROWID pk columns)
  bool has_default = false;   // has a DEFAULT clause (DEFAULT NULL counts)
  int pk_index = 0;           // 0 = not in pk, else 1-based position in the pk
};

struct TableInfo {
  std::string name;                 // the name SQLite stores (its case, not the caller's)
  std::vector<ColumnInfo> columns;  // table order, as PRAGMA table_xinfo lists them,
                                    // hidden and generated columns included
  std::vector<int> pk;              // indexes into columns, in pk order
  std::vector<int> non_pk;          // indexes into columns, table order
  bool without_rowid = false;
  std::string create_sql;           // sqlite_schema.sql ("" for SQLite's own tables)
};

// Reads `table` of `schema` ("main", "temp" or an attached name; matched
// without regard to ASCII case, as SQLite does) from PRAGMA table_list,
// table_xinfo and sqlite_schema. Identifiers are bound, never pasted into
// SQL, so any name works.
// Errors: NotFound if the schema is not attached or has no such table;
// InvalidArgument if the name is a view; a virtual table whose module this
// connection has not loaded gives the SQLite error (FailedPrecondition).
// Reads only; safe on any connection the caller may use on this thread.
absl::StatusOr<TableInfo> ReadTableInfo(sqlite3* db, std::string_view schema,
                                        std::string_view table);

// OK if `t` (read by ReadTableInfo from `schema` on `db`) can be replicated.
// Otherwise the first reason found, as a message naming the table, and the
// column or index at fault, and what to change:
//   InvalidArgument:    a schema other than "main"; a reserved name (crlog_,
//                       crsql_, sqlite_ prefixes, any case).
//   FailedPrecondition: a virtual or shadow table; no primary key; a pk with
//                       more than kMaxPackedColumns columns; a pk column not
//                       declared NOT NULL (even INTEGER PRIMARY KEY);
//                       AUTOINCREMENT; a generated column; a NOT NULL non-pk
//                       column without a usable DEFAULT (none, or DEFAULT
//                       NULL); a UNIQUE index other than the pk's (UNIQUE
//                       constraint or CREATE UNIQUE INDEX, partial ones too);
//                       a foreign key.
//   NotFound:           the table no longer exists.
// Reads the table's indexes, foreign keys and generated columns from `db`;
// the columns, pk and name come from `t`.
absl::Status CheckReplicable(sqlite3* db, std::string_view schema, const TableInfo& t);

}  // namespace crlog::schema

#endif  // CRLOG_SCHEMA_TABLE_INFO_H_
