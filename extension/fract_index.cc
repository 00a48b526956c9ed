// Fractional-index ordering, as cr-sqlite 0.16 offers it: a list is the rows
// of a table that share the values of its "collection" columns, in the order
// of an order column holding keys from crsql_fract_key_between
// (merge/fract_key.h). Moving a row rewrites one cell, so replicas that
// reorder concurrently still converge.
//
//   crsql_fract_key_between(a, b)   a key between two keys (NULL: open end)
//   crsql_fract_as_ordered(table, order_column [, collection_column ...])
//                                   the triggers and view below
//   crsql_fract_fix_conflict_return_old_key(table, order_column,
//       collection_column ..., -1, pk_column ..., pk_value ...)
//                                   what the view's triggers call when the
//                                   row to insert after shares its key
//
// crsql_fract_as_ordered creates what cr-sqlite creates, with the same names
// and, for names that need no quoting inside "", the same SQL text (<t> is
// the table as the caller spelled it, <o> the order column):
//   __crsql_<t>_fractindex_pend_trig   AFTER INSERT: a row inserted with
//       order 1 (read as an integer) gets a key after the last of its list,
//       -1 a key before the first;
//   __crsql_<t>_fractindex_ezmove      AFTER UPDATE OF <o>: the same for a
//       row whose order is set to 1 or -1;
//   <t>_fractindex                     a view: the table's columns and, per
//       primary-key column, after_<pk> (always NULL when read);
//   <t>_fractindex_insert_trig         INSTEAD OF INSERT on the view: the row
//       goes just after the row after_<pk> names, at the front when that row
//       is not in the list;
//   <t>_fractindex_update_trig         INSTEAD OF UPDATE on the view: the row
//       takes the new values and moves the same way (to the front when
//       after_<pk> is not set, as in cr-sqlite).
// When the after row's key is shared (two replicas inserted at one place),
// the triggers call crsql_fract_fix_conflict_return_old_key: it moves the
// after row down, between its predecessor and its key, and returns a key
// between its new and its old key for the row being placed.
//
// Where crlog differs from cr-sqlite (docs/sql.md, "Fractional indexing"):
// names are quoted everywhere (cr-sqlite leaves some unquoted, and fails on
// a name with a '"'); a composite primary key works in the conflict fix
// (cr-sqlite builds invalid SQL for it); the arguments are checked before
// anything is dropped, and a failure rolls back this call only (cr-sqlite
// drops the old view first and answers a failure with ROLLBACK, ending the
// caller's transaction); a second call replaces the ezmove trigger too
// (cr-sqlite keeps the first one, with the first call's list columns); a
// WITHOUT ROWID table names the row by its primary key instead of _rowid_.
#include "util/sqlite/api.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "util/sqlite/stmt.h"
#include "extension/connection.h"
#include "util/strings.h"
#include "merge/fract_key.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::extension {
namespace {

using sqlite::Exec;
using sqlite::Stmt;
using sqlite::QuoteIdentifier;

// An SQL string literal: 'it''s'.
std::string Literal(std::string_view s) { return absl::StrCat("'", absl::StrReplaceAll(Sv(s), {{"'", "''"}}), "'"); }

// `format` applied to each name, joined by `sep`; `format` gets the quoted name.
template <typename F>
std::string JoinEach(const std::vector<std::string>& names, std::string_view sep, F format) {
  std::vector<std::string> parts;
  parts.reserve(names.size());
  for (const std::string& n : names) parts.push_back(format(n));
  return absl::StrJoin(parts, Sv(sep));
}

// "c" = NEW."c" for each column, or 1 (every row) for none.
std::string NewEquals(const std::vector<std::string>& columns) {
  if (columns.empty()) return "1";
  return schema::PkEquals(columns, "NEW.");
}

// A table made ordered: its names as crsql_fract_as_ordered was given them.
struct OrderedTable {
  std::string table;                    // as the caller spelled it
  std::string order;                    // the order column
  std::vector<std::string> collection;  // the list columns
  std::vector<std::string> columns;     // every visible column, table order
  std::vector<std::string> pk;          // primary-key columns, pk order
  bool without_rowid = false;

  std::string Q() const { return QuoteIdentifier(table); }
  std::string O() const { return QuoteIdentifier(order); }
  std::string View() const { return QuoteIdentifier(table + "_fractindex"); }
  std::string PendTrigger() const { return QuoteIdentifier("__crsql_" + table + "_fractindex_pend_trig"); }
  std::string MoveTrigger() const { return QuoteIdentifier("__crsql_" + table + "_fractindex_ezmove"); }
  std::string InsertTrigger() const { return QuoteIdentifier(table + "_fractindex_insert_trig"); }
  std::string UpdateTrigger() const { return QuoteIdentifier(table + "_fractindex_update_trig"); }

  // The first or last key of NEW's list, ignoring rows still marked 1 / -1.
  std::string EndOfList(const char* aggregate) const {
    return absl::StrCat("SELECT ", aggregate, "(", O(), ") FROM ", Q(), " WHERE ", NewEquals(collection), " AND ",
                        O(), " != -1 AND ", O(), " != 1");
  }
  // Names the row NEW is: cr-sqlite's _rowid_, or the key where there is none.
  std::string ThisRow() const { return without_rowid ? NewEquals(pk) : "_rowid_ = NEW._rowid_"; }
  // The row after_<pk> names.
  std::string AfterRow() const {
    return schema::PkEquals(pk, "NEW.", "", "after_");
  }
  // The arguments of crsql_fract_fix_conflict_return_old_key, as cr-sqlite spaces them.
  std::string FixConflictArguments() const {
    const std::string list = JoinEach(collection, ", ", [](const std::string& c) { return Literal(c); });
    return absl::StrCat(Literal(table), ", ", Literal(order), ", ", list, list.empty() ? "" : ", ", " -1, ",
                        JoinEach(pk, ", ", [](const std::string& c) { return Literal(c); }), ", ",
                        JoinEach(pk, ", ", [](const std::string& c) {
                          return absl::StrCat("NEW.", QuoteIdentifier("after_" + c));
                        }));
  }
  std::vector<std::string> ColumnsButOrder() const {
    std::vector<std::string> out;
    for (const std::string& c : columns) {
      if (c != order) out.push_back(c);
    }
    return out;
  }
};

std::string PendTriggerSql(const OrderedTable& t) {
  const std::string o = t.O();
  return absl::StrCat(
      "CREATE TRIGGER IF NOT EXISTS ", t.PendTrigger(), " AFTER INSERT ON ", t.Q(), "\n",
      "        WHEN CAST(NEW.", o, " AS INTEGER) = -1 OR CAST(NEW.", o, " AS INTEGER) = 1 BEGIN\n",
      "            UPDATE ", t.Q(), " SET ", o, " = CASE CAST(NEW.", o, " AS INTEGER)\n",
      "            WHEN -1 THEN crsql_fract_key_between(NULL, (", t.EndOfList("MIN"), "))\n",
      "            WHEN 1 THEN crsql_fract_key_between((", t.EndOfList("MAX"), "), NULL)\n",
      "            END\n",
      "            WHERE ", t.ThisRow(), ";\n",
      "        END;");
}

std::string MoveTriggerSql(const OrderedTable& t) {
  const std::string o = t.O();
  return absl::StrCat(
      "CREATE TRIGGER IF NOT EXISTS ", t.MoveTrigger(), " AFTER UPDATE OF ", o, " ON ", t.Q(), "\n",
      "      WHEN NEW.", o, " = -1 OR NEW.", o, " = 1 BEGIN\n",
      "        UPDATE ", t.Q(), " SET ", o, " = CASE NEW.", o, "\n",
      "        WHEN -1 THEN crsql_fract_key_between(NULL, (", t.EndOfList("MIN"), "))\n",
      "        WHEN 1 THEN crsql_fract_key_between((", t.EndOfList("MAX"), "), NULL)\n",
      "        END\n",
      "        WHERE ", t.ThisRow(), ";\n",
      "      END;\n",
      "      ");
}

std::string ViewSql(const OrderedTable& t) {
  return absl::StrCat("CREATE VIEW IF NOT EXISTS ", t.View(), " AS\n",
                      "        SELECT *, ", JoinEach(t.pk, ", ", [](const std::string& c) {
                        return absl::StrCat("NULL AS ", QuoteIdentifier("after_" + c));
                      }),
                      "\n",
                      "        FROM ", t.Q());
}

std::string InsertTriggerSql(const OrderedTable& t) {
  const std::string o = t.O(), q = t.Q(), list = NewEquals(t.collection), after = t.AfterRow();
  const std::vector<std::string> rest = t.ColumnsButOrder();
  return absl::StrCat(
      "CREATE TRIGGER IF NOT EXISTS ", t.InsertTrigger(), "\n",
      "        INSTEAD OF INSERT ON ", t.View(), "\n",
      "        BEGIN\n",
      "            INSERT INTO ", q, "\n",
      "              (", JoinEach(rest, ", ", QuoteIdentifier), ", ", o, ")\n",
      "            VALUES\n",
      "              (\n",
      "                ", JoinEach(rest, ", ", [](const std::string& c) { return "NEW." + QuoteIdentifier(c); }),
      ",\n",
      "                CASE (\n",
      "                  SELECT count(*) FROM ", q, " WHERE ", list, " AND ", o, " = (SELECT ", o, " FROM ", q,
      " WHERE ", after, ")\n",
      "                )\n",
      "                  WHEN 1 THEN crsql_fract_key_between(\n",
      "                    (SELECT ", o, " FROM ", q, " WHERE ", after, "),\n",
      "                    (SELECT ", o, " FROM ", q, " WHERE ", list, " AND ", o, " >\n",
      "                      (SELECT ", o, " FROM ", q, " WHERE ", after, ")\n",
      "                    ORDER BY ", o, " ASC LIMIT 1)\n",
      "                  )\n",
      "                  WHEN 0 THEN -1\n",
      "                  ELSE crsql_fract_fix_conflict_return_old_key(\n",
      "                    ", t.FixConflictArguments(), "\n",
      "                  )\n",
      "                END\n",
      "              );\n",
      "        END;");
}

std::string UpdateTriggerSql(const OrderedTable& t) {
  const std::string o = t.O(), q = t.Q(), list = NewEquals(t.collection), after = t.AfterRow();
  return absl::StrCat(
      "CREATE TRIGGER IF NOT EXISTS ", t.UpdateTrigger(), "\n",
      "      INSTEAD OF UPDATE ON ", t.View(), "\n",
      "      BEGIN\n",
      "        UPDATE ", q, " SET\n",
      "          ", JoinEach(t.ColumnsButOrder(), ",\n", [](const std::string& c) {
        return absl::StrCat(QuoteIdentifier(c), " = NEW.", QuoteIdentifier(c));
      }),
      ",\n",
      "          ", o, " = CASE (\n",
      "            SELECT count(*) FROM ", q, " WHERE ", list, " AND ", o, " = (\n",
      "              SELECT ", o, " FROM ", q, " WHERE ", after, "\n",
      "            )\n",
      "          )\n",
      "          WHEN 1 THEN crsql_fract_key_between(\n",
      "            (SELECT ", o, " FROM ", q, " WHERE ", after, "),\n",
      "            (SELECT ", o, " FROM ", q, " WHERE ", list, " AND ", o, " > (\n",
      "              SELECT ", o, " FROM ", q, " WHERE ", after, "\n",
      "            ) ORDER BY ", o, " ASC LIMIT 1)\n",
      "          )\n",
      "          WHEN 0 THEN -1\n",
      "          ELSE crsql_fract_fix_conflict_return_old_key(\n",
      "            ", t.FixConflictArguments(), "\n",
      "          )\n",
      "          END\n",
      "        WHERE ", NewEquals(t.pk), ";\n",
      "      END;");
}

// Reads `table` and checks the named columns, as the caller spelled them.
absl::StatusOr<OrderedTable> ReadOrderedTable(sqlite3* db, std::string table, std::string order,
                                              std::vector<std::string> collection) {
  auto info = schema::ReadTableInfo(db, "main", table);
  if (!info.ok()) return info.status();
  OrderedTable t{std::move(table), std::move(order), std::move(collection), {}, {}, info->without_rowid};
  for (int i : info->pk) t.pk.push_back(info->columns[i].name);
  // The columns SELECT * shows (no generated or hidden ones), as cr-sqlite lists them.
  auto list = Stmt::Prepare(db, "SELECT name FROM pragma_table_info(?1, 'main') ORDER BY cid");
  if (list.ok()) list->BindText(1, info->name);
  auto visible = sqlite::QueryTexts(std::move(list));
  if (!visible.ok()) return visible.status();
  t.columns = *std::move(visible);

  std::vector<std::string> named = t.collection;
  named.insert(named.begin(), t.order);
  for (size_t i = 0; i < named.size(); ++i) {
    const std::string& c = named[i];
    if (std::find(named.begin(), named.begin() + static_cast<std::ptrdiff_t>(i), c) != named.begin() + i) {
      return absl::InvalidArgumentError(absl::StrCat("column ", QuoteIdentifier(c), " is named twice: the order column ",
                                                     "and each list column must be different columns"));
    }
    if (std::find(t.columns.begin(), t.columns.end(), c) != t.columns.end()) continue;
    std::string hint;
    for (const std::string& have : t.columns) {
      if (absl::EqualsIgnoreCase(have, c)) {
        hint = absl::StrCat(" (names must match exactly here, as in cr-sqlite: did you mean ", QuoteIdentifier(have),
                            "?)");
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("table ", QuoteIdentifier(t.table), " has no column ", QuoteIdentifier(c), hint));
  }
  if (t.pk.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "table ", QuoteIdentifier(t.table), " has no declared primary key: the view ",
        QuoteIdentifier(t.table + "_fractindex"), " names the row to place a row after by its primary key"));
  }
  return t;
}

absl::Status MakeOrdered(Connection* conn, const OrderedTable& t) {
  sqlite3* db = conn->db;
  sqlite::Savepoint sp(db, "crsql_fract_as_ordered");
  if (!sp.status().ok()) return sp.status();
  const std::pair<const char*, std::string> steps[] = {
      {"dropping the previous triggers and view",
       absl::StrCat("DROP TRIGGER IF EXISTS ", t.PendTrigger(), "; DROP TRIGGER IF EXISTS ", t.MoveTrigger(),
                    "; DROP VIEW IF EXISTS ", t.View(), ";")},
      {"creating the insert trigger for 1 and -1", PendTriggerSql(t)},
      {"creating the update trigger for 1 and -1", MoveTriggerSql(t)},
      {"creating the view", ViewSql(t)},
      {"creating the view's insert trigger", InsertTriggerSql(t)},
      {"creating the view's update trigger", UpdateTriggerSql(t)},
  };
  for (const auto& [doing, sql] : steps) {
    if (absl::Status s = Exec(db, sql); !s.ok()) return absl::Status(s.code(), absl::StrCat(doing, ": ", s.message()));
  }
  // crlog's capture triggers must fire before these (they see the row as
  // inserted, then the key these set): re-create them as the newest.
  if (conn->replica) {
    if (absl::Status s = conn->replica->EnsureTriggersFirst(db); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("putting crlog's capture triggers first again: ", s.message()));
    }
  }
  return sp.Release();
}

// crsql_fract_as_ordered(table, order_column [, collection_column ...])
void AsOrdered(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc < 2) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                "crsql_fract_as_ordered(table, order_column [, list_column ...]) takes at least a "
                                "table and the column to order it by"));
  }
  std::vector<std::string> collection;
  for (int i = 2; i < argc; ++i) collection.push_back(TextArg(argv[i]));
  const std::string table = TextArg(argv[0]);
  const std::string order = TextArg(argv[1]);
  const std::string call = absl::StrCat("crsql_fract_as_ordered(", Literal(table), ", ", Literal(order), "): ");
  auto t = ReadOrderedTable(Conn(ctx)->db, table, order, std::move(collection));
  if (!t.ok()) return ResultError(ctx, absl::Status(t.status().code(), absl::StrCat(call, t.status().message())));
  if (absl::Status s = MakeOrdered(Conn(ctx), *t); !s.ok()) {
    return ResultError(ctx, absl::Status(s.code(), absl::StrCat(call, s.message())));
  }
  sqlite3_result_null(ctx);
}

// crsql_fract_key_between(a, b)
void KeyBetween(sqlite3_context* ctx, int, sqlite3_value** argv) {
  std::optional<std::string> bound[2];
  for (int i = 0; i < 2; ++i) {
    if (sqlite3_value_type(argv[i]) != SQLITE_NULL) bound[i] = TextArg(argv[i]);
  }
  auto key = merge::FractKeyBetween(bound[0], bound[1]);
  if (!key.ok()) {
    return ResultError(ctx, absl::InvalidArgumentError(
                                absl::StrCat("crsql_fract_key_between: ", key.status().message())));
  }
  sqlite3_result_text(ctx, key->data(), static_cast<int>(key->size()), SQLITE_TRANSIENT);
}

// The key for a row placed after the row `pk_values` names, whose key other
// rows of its list share: that row moves down, between its predecessor in
// the list and its key, and the result lies between its new and old key.
absl::StatusOr<std::string> FixConflict(sqlite3* db, const std::string& table, const std::string& order,
                                        const std::vector<std::string>& collection,
                                        const std::vector<std::string>& pk, sqlite3_value** pk_values) {
  const std::string q = QuoteIdentifier(table), o = QuoteIdentifier(order);
  const std::string where_pk = schema::WherePk(pk);
  auto bind_pk = [&](Stmt& stmt) {
    for (size_t i = 0; i < pk.size(); ++i) sqlite3_bind_value(stmt.get(), static_cast<int>(i + 1), pk_values[i]);
  };
  auto row_name = [&] {
    std::vector<std::string> parts;
    for (size_t i = 0; i < pk.size(); ++i) {
      const unsigned char* v = sqlite3_value_text(pk_values[i]);
      parts.push_back(absl::StrCat(QuoteIdentifier(pk[i]), " = ", v ? reinterpret_cast<const char*>(v) : "NULL"));
    }
    return absl::StrJoin(parts, " AND ");
  };

  auto read = Stmt::Prepare(db, absl::StrCat("SELECT ", o, " FROM ", q, " WHERE ", where_pk));
  if (!read.ok()) return read.status();
  bind_pk(*read);
  auto found = read->Step();
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError(absl::StrCat("table ", q, " has no row ", row_name(), " to place a row after"));
  if (read->ColumnIsNull(0)) {
    return absl::FailedPreconditionError(absl::StrCat("the row ", row_name(), " of ", q, " has no key in ", o));
  }
  const Value old_key = read->ColumnValue(0);
  const std::string old_text(read->ColumnText(0));  // as cr-sqlite reads it: a number as its text
  read->Reset();

  // The row's predecessor in its own list, found through aliases so that no
  // table name can clash with them.
  std::string predecessor = absl::StrCat("SELECT crsql_row.", o, " FROM ", q, " AS crsql_row");
  if (!collection.empty()) {
    std::vector<std::string> cols;
    for (const std::string& c : collection) cols.push_back(QuoteIdentifier(c));
    absl::StrAppend(&predecessor, " JOIN (SELECT ", absl::StrJoin(cols, ", "), " FROM ", q, " WHERE ", where_pk,
                    ") AS crsql_after ON ", schema::PkEquals(collection, "crsql_after.", "crsql_row."));
  }
  const std::string key_slot = absl::StrCat("?", pk.size() + 1);
  absl::StrAppend(&predecessor, " WHERE crsql_row.", o, " < ", key_slot, " ORDER BY crsql_row.", o, " DESC LIMIT 1");
  auto move = Stmt::Prepare(db, absl::StrCat("UPDATE ", q, " SET ", o, " = crsql_fract_key_between((", predecessor,
                                             "), ", key_slot, ") WHERE ", where_pk, " RETURNING ", o));
  if (!move.ok()) return move.status();
  bind_pk(*move);
  move->BindValue(static_cast<int>(pk.size() + 1), old_key);
  auto moved = move->Step();
  if (!moved.ok()) return moved.status();
  if (!*moved || move->ColumnIsNull(0)) {
    return absl::InternalError(absl::StrCat("moving the row ", row_name(), " of ", q, " gave it no key"));
  }
  const std::string new_key(move->ColumnText(0));
  return merge::FractKeyBetween(new_key, old_text);
}

// crsql_fract_fix_conflict_return_old_key(table, order_column,
//     collection_column ..., <integer separator>, pk_column ..., pk_value ...)
void FixConflictReturnOldKey(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const char* usage =
      "crsql_fract_fix_conflict_return_old_key(table, order_column, list_column ..., -1, pk_column ..., "
      "pk_value ...)";
  if (argc < 4) {
    return ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(usage, " takes at least 4 arguments")));
  }
  // The list columns run up to the first INTEGER argument, as in cr-sqlite.
  int separator = 2;
  while (separator < argc && sqlite3_value_type(argv[separator]) != SQLITE_INTEGER) ++separator;
  const int rest = argc - separator - 1;
  if (rest <= 0 || rest % 2 != 0) {
    return ResultError(ctx, absl::InvalidArgumentError(absl::StrCat(
                                usage, ": after the integer separator come the primary-key column names, then as "
                                       "many values, at least one of each")));
  }
  const std::string table = TextArg(argv[0]);
  const std::string order = TextArg(argv[1]);
  std::vector<std::string> collection, pk;
  for (int i = 2; i < separator; ++i) collection.push_back(TextArg(argv[i]));
  for (int i = 0; i < rest / 2; ++i) pk.push_back(TextArg(argv[separator + 1 + i]));
  auto key = FixConflict(Conn(ctx)->db, table, order, collection, pk, argv + separator + 1 + rest / 2);
  if (!key.ok()) {
    return ResultError(ctx, absl::Status(key.status().code(),
                                         absl::StrCat("crsql_fract_fix_conflict_return_old_key(",
                                                      Literal(table), ", ", Literal(order),
                                                      "): ", key.status().message())));
  }
  sqlite3_result_text(ctx, key->data(), static_cast<int>(key->size()), SQLITE_TRANSIENT);
}

}  // namespace

int RegisterFractIndex(sqlite3* db, Connection* conn) {
  // The flags are cr-sqlite's: the view's triggers call the last two, so
  // they must be innocuous to work under PRAGMA trusted_schema=OFF.
  int rc = CreateFunction(db, conn, "crsql_fract_as_ordered", -1, SQLITE_UTF8 | SQLITE_DIRECTONLY, AsOrdered);
  if (rc == SQLITE_OK) {
    rc = CreateFunction(db, conn, "crsql_fract_key_between", 2,
                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, KeyBetween);
  }
  if (rc == SQLITE_OK) {
    rc = CreateFunction(db, conn, "crsql_fract_fix_conflict_return_old_key", -1, SQLITE_UTF8 | SQLITE_INNOCUOUS,
                        FixConflictReturnOldKey);
  }
  return rc;
}

}  // namespace crlog::extension
