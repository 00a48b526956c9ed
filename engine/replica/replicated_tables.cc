// Replicated tables: making a table replicated or plain, its capture
// triggers, dropped and recreated tables, and alters bracketed by
// crsql_begin_alter / crsql_commit_alter (engine/replica/replica.h).
#include "engine/replica/replica.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <mutex>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/fold/alter_columns.h"
#include "engine/replica/crash_point.h"
#include "engine/replica/durability.h"
#include "engine/fold/fold.h"
#include "engine/fold/held_events.h"
#include "engine/replica/meta_tables.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"

namespace crlog::engine {
namespace {

// Whether `table`'s capture is intact and runs first: its three triggers and
// capture table exist, and no user trigger on it is newer than crlog's
// (SQLite runs a table's newest trigger first, and a user trigger's
// RAISE(FAIL) or RAISE(IGNORE) could stop crlog's for a row SQLite keeps).
absl::StatusOr<bool> CaptureInOrder(sqlite3* db, std::string_view table) {
  auto stmt = sqlite::Stmt::Prepare(db, R"sql(
SELECT (SELECT count(*) FROM main.sqlite_schema
         WHERE type = 'trigger' AND tbl_name = ?1 AND name LIKE 'crlog\_%' ESCAPE '\') = 3
   AND EXISTS (SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_capture_' || ?1)
   AND NOT EXISTS (SELECT 1 FROM main.sqlite_schema u
                    WHERE u.type = 'trigger' AND u.tbl_name = ?1 AND u.name NOT LIKE 'crlog\_%' ESCAPE '\'
                      AND u.rowid > (SELECT min(c.rowid) FROM main.sqlite_schema c
                                      WHERE c.type = 'trigger' AND c.tbl_name = ?1
                                        AND c.name LIKE 'crlog\_%' ESCAPE '\')))sql");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->ColumnInt(0) == 1;
}

std::string CaptureTableName(std::string_view table) { return absl::StrCat("crlog_capture_", Sv(table)); }

// Records the columns capture is set up for (crlog_tables.shape), where the
// database has the column.
absl::Status RecordShape(sqlite3* db, const schema::TableInfo& info) {
  auto has = meta::HasShapeColumn(db);
  if (!has.ok() || !*has) return has.status();
  std::vector<std::string> pk, columns;
  for (int i : info.pk) pk.push_back(info.columns[i].name);
  for (int i : info.non_pk) columns.push_back(info.columns[i].name);
  auto update = sqlite::Stmt::Prepare(db, "UPDATE main.crlog_tables SET shape = ?2 WHERE name = ?1");
  if (!update.ok()) return update.status();
  update->BindText(1, info.name);
  update->BindText(2, meta::EncodeShape(pk, columns));
  return update->Run();
}

// Packed pks of the rows alive in a replicated table's clocks.
absl::StatusOr<std::vector<std::string>> LiveRowPks(sqlite3* db, int64_t table_id) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT pk, clock FROM main.crlog_clock WHERE tbl = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, table_id);
  std::vector<std::string> pks;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto clock = RowClock::Decode(stmt->ColumnBlob(1));
    if (!clock.ok()) return clock.status();
    if (clock->alive()) pks.emplace_back(stmt->ColumnBlob(0));
  }
  return pks;
}

// Whether a replicated table has none of crlog's triggers while no alter is
// open on it: DROP TABLE took them, and the table was created again.
absl::StatusOr<bool> RecreatedSinceReplicated(sqlite3* db, std::string_view table) {
  auto stmt = sqlite::Stmt::Prepare(db, R"sql(
SELECT NOT EXISTS (SELECT 1 FROM main.sqlite_schema
                    WHERE type = 'trigger' AND tbl_name = ?1 AND name LIKE 'crlog\_%' ESCAPE '\')
   AND NOT EXISTS (SELECT 1 FROM main.crlog_alter WHERE tbl = ?1))sql");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row && stmt->ColumnInt(0) == 1;
}

}  // namespace

absl::Status CheckNotAlteredBehindCrlog(const TableDesc& desc) {
  if (!desc.AlteredBehindCrlog()) return absl::OkStatus();
  auto names = [](const std::vector<std::string>& pk, const std::vector<std::string>& columns) {
    std::vector<std::string> all = pk;
    all.insert(all.end(), columns.begin(), columns.end());
    return absl::StrJoin(all, ", ");
  };
  return absl::FailedPreconditionError(absl::StrCat(
      "table '", desc.name, "' was altered outside crsql_begin_alter / crsql_commit_alter: crlog replicates its "
      "columns (", names(desc.recorded_pk, desc.recorded_columns), ") but it now has (",
      names(desc.pk_columns, desc.columns), "), so its changes cannot replicate as they are; run SELECT "
      "crsql_commit_alter('", desc.name, "') to take the alter in (or undo the ALTER), and bracket later "
      "alters with crsql_begin_alter"));
}

namespace {

constexpr char kColumnSeparator = '\x1f';

}  // namespace

absl::Status Replica::RecordDrops(sqlite3* db, std::optional<PendingCommit>* commit) {
  auto dropped = DropDroppedTables(db);
  if (!dropped.ok()) return dropped.status();
  if (dropped->empty()) return absl::OkStatus();
  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  std::vector<log::Event> events;
  for (const std::string& table : *dropped) {
    log::Event& e = events.emplace_back();
    e.kind = log::EventKind::kSchemaChange;
    e.site = site_;
    e.time_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    e.schema_change.table = table;  // no sql: the table is gone
  }
  auto staged = StageLocalEvents(db, std::move(events), dropped->size(), *watermark,
                                 watermark->db_version);
  if (!staged.ok()) return staged.status();
  *commit = *std::move(staged);
  return absl::OkStatus();
}

absl::Status Replica::EnsureTriggersFirst(sqlite3* db) {
  auto tables = ReplicatedTables(db);
  if (!tables.ok()) return tables.status();
  for (const std::string& table : *tables) {
    auto in_order = CaptureInOrder(db, table);
    if (!in_order.ok()) return in_order.status();
    if (*in_order) continue;
    // Altered behind crlog's back: its writes are refused until
    // crsql_commit_alter takes the alter in; a load must still open.
    auto desc = Table(db, table);
    if (desc.ok() && (*desc)->AlteredBehindCrlog()) continue;
    // Re-creating crlog's triggers makes them the newest again.
    if (absl::Status s = MakeReplicated(db, "main", table); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Replica::DropLeftoverCaptureTables(sqlite3* db) {
  auto leftovers = sqlite::Stmt::Prepare(
      db, "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name LIKE 'crlog\\_capture\\_%' ESCAPE '\\' "
          "AND substr(name, 15) NOT IN (SELECT name FROM main.crlog_tables)");
  auto stale = sqlite::QueryTexts(std::move(leftovers));
  if (!stale.ok()) return stale.status();
  for (const std::string& name : *stale) {
    if (absl::Status s = sqlite::Exec(db, absl::StrCat("DROP TABLE IF EXISTS main.", sqlite::QuoteIdentifier(name)));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Replica::ReplicatedTables(sqlite3* db) {
  return sqlite::QueryTexts(sqlite::Stmt::Prepare(db, "SELECT name FROM main.crlog_tables ORDER BY name"));
}

absl::StatusOr<std::shared_ptr<const TableDesc>> Replica::Table(sqlite3* db, std::string_view table) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT id, shape FROM main.crlog_tables WHERE name = ?1");
  // A database older than crlog_tables.shape, not upgraded yet (read-only).
  if (!stmt.ok()) stmt = sqlite::Stmt::Prepare(db, "SELECT id, NULL FROM main.crlog_tables WHERE name = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("table '", Sv(table),
                                            "' is not replicated: call crsql_as_crr('", Sv(table), "') first"));
  }
  auto desc = std::make_shared<TableDesc>();
  desc->id = stmt->ColumnInt(0);
  if (!stmt->ColumnIsNull(1)) {
    desc->shape_recorded = true;
    meta::DecodeShape(stmt->ColumnText(1), &desc->recorded_pk, &desc->recorded_columns);
  }
  auto info = schema::ReadTableInfo(db, "main", table);
  if (!info.ok()) return info.status();
  desc->name = info->name;
  desc->create_sql = info->create_sql;
  for (int i : info->pk) desc->pk_columns.push_back(info->columns[i].name);
  for (int i : info->non_pk) desc->columns.push_back(info->columns[i].name);
  return desc;
}

absl::Status Replica::MakeReplicated(sqlite3* db, std::string_view schema_name, std::string_view table) {
  if (!absl::EqualsIgnoreCase(Sv(schema_name), "main")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crsql_as_crr('", Sv(schema_name), "', '", Sv(table), "'): crlog replicates tables of the main "
        "schema only, not of attached databases; open that database and load crlog there"));
  }
  return SetUpCapture(db, table, /*restoring=*/false);
}

absl::Status Replica::SetUpCapture(sqlite3* db, std::string_view table, bool restoring) {
  if (absl::Status s = CheckJournalMode(db); !s.ok()) return s;
  auto info = schema::ReadTableInfo(db, "main", table);
  if (!info.ok()) return info.status();
  if (absl::Status s = schema::CheckReplicable(db, "main", *info); !s.ok()) return s;

  auto existing = Table(db, info->name);
  bool is_new = absl::IsNotFound(existing.status());
  if (!existing.ok() && !is_new) return existing.status();
  bool recreated = false;
  if (!is_new && !restoring) {
    auto was = RecreatedSinceReplicated(db, info->name);
    if (!was.ok()) return was.status();
    recreated = *was;
  }
  if (!is_new && !restoring) {
    // Setting capture up again would take the alter for granted.
    if (!recreated) {
      if (absl::Status s = CheckNotAlteredBehindCrlog(**existing); !s.ok()) return s;
    }
  }
  if (!is_new && !recreated) {
    // Already replicated: write nothing unless capture needs repair. Apps
    // call crsql_as_crr at every start, and a SELECT that begins to write
    // cannot wait for another connection's lock.
    auto in_order = CaptureInOrder(db, info->name);
    if (!in_order.ok()) return in_order.status();
    if (*in_order) return absl::OkStatus();
  }
  sqlite::Savepoint sp(db, "crlog_as_crr");
  if (!sp.status().ok()) return sp.status();
  // The table was dropped (its triggers went with it) and created again
  // since it was replicated. Its old rows must not come back anywhere: with
  // a key of the same width, every row of its old life is deleted and every
  // row of the new table written, as one transaction of this replica's, so
  // peers and replay end with exactly the new table. A key of another width
  // cannot name the old rows: the table starts anew, and the commit records
  // the old one's drop (DropDroppedTables), its entry kept under a reserved
  // name until then. Either way the capture table, with the old shape, goes.
  std::vector<std::string> old_rows;
  if (recreated) {
    auto live = LiveRowPks(db, (*existing)->id);
    if (!live.ok()) return live.status();
    bool same_key = true;
    for (const std::string& pk : *live) {
      auto values = schema::UnpackColumns(pk);
      same_key &= values.ok() && values->size() == info->pk.size();
    }
    std::string sql = absl::StrCat("DROP TABLE IF EXISTS main.", sqlite::QuoteIdentifier(CaptureTableName(info->name)),
                                   ";\n");
    if (same_key) {
      old_rows = *std::move(live);
    } else {
      absl::StrAppend(&sql, "UPDATE main.crlog_tables SET name = '", meta::kDroppedTablePrefix,
                      "' || id || ':' || name WHERE id = ", (*existing)->id, ";\n");
      is_new = true;
      recreated = false;
    }
    if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) return s;
  }
  if (is_new) {
    auto ins = sqlite::Stmt::Prepare(db, "INSERT INTO main.crlog_tables(name) VALUES (?1)");
    if (!ins.ok()) return ins.status();
    ins->BindText(1, info->name);
    if (absl::Status s = ins->Run(); !s.ok()) return s;
  }
  if (absl::Status s = RecordShape(db, *info); !s.ok()) return s;

  const std::string q = sqlite::QuoteIdentifier(info->name);
  const std::string capture = sqlite::QuoteIdentifier(CaptureTableName(info->name));
  // The module argument is an SQL string literal holding the table's name.
  const std::string literal = absl::StrReplaceAll(info->name, {{"'", "''"}});
  std::vector<std::string> pk_cols, cols, o, n, c, p;
  for (size_t i = 0; i < info->pk.size(); ++i) {
    pk_cols.push_back(sqlite::QuoteIdentifier(info->columns[info->pk[i]].name));
    o.push_back(absl::StrCat("o", i));
    n.push_back(absl::StrCat("n", i));
  }
  for (size_t i = 0; i < info->non_pk.size(); ++i) {
    cols.push_back(sqlite::QuoteIdentifier(info->columns[info->non_pk[i]].name));
    c.push_back(absl::StrCat("c", i));
    p.push_back(absl::StrCat("p", i));
  }
  auto prefixed = [](const std::vector<std::string>& names, const char* prefix) {
    std::vector<std::string> out;
    for (const auto& x : names) out.push_back(absl::StrCat(prefix, x));
    return absl::StrJoin(out, ", ");
  };
  auto list = [](std::initializer_list<std::string> parts) {
    std::vector<std::string> nonempty;
    for (const auto& x : parts) {
      if (!x.empty()) nonempty.push_back(x);
    }
    return absl::StrJoin(nonempty, ", ");
  };
  const std::string trigger = absl::StrCat("crlog_", info->name);
  std::string sql = absl::StrCat(
      "CREATE VIRTUAL TABLE IF NOT EXISTS main.", capture, " USING crlog_capture('", literal, "');\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_insert"), ";\n",
      "CREATE TRIGGER main.", sqlite::QuoteIdentifier(trigger + "_insert"),
      " AFTER INSERT ON ", q, " WHEN crsql_internal_sync_bit() = 0 BEGIN INSERT INTO ", capture,
      "(", list({"op", absl::StrJoin(n, ", "), absl::StrJoin(c, ", ")}), ") VALUES (",
      list({"1", prefixed(pk_cols, "NEW."), prefixed(cols, "NEW.")}), "); END;\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_update"), ";\n",
      "CREATE TRIGGER main.", sqlite::QuoteIdentifier(trigger + "_update"),
      " AFTER UPDATE ON ", q, " WHEN crsql_internal_sync_bit() = 0 BEGIN INSERT INTO ", capture,
      "(", list({"op", absl::StrJoin(o, ", "), absl::StrJoin(n, ", "), absl::StrJoin(c, ", "), absl::StrJoin(p, ", ")}),
      ") VALUES (",
      list({"2", prefixed(pk_cols, "OLD."), prefixed(pk_cols, "NEW."), prefixed(cols, "NEW."), prefixed(cols, "OLD.")}),
      "); END;\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_delete"), ";\n",
      "CREATE TRIGGER main.", sqlite::QuoteIdentifier(trigger + "_delete"),
      " AFTER DELETE ON ", q, " WHEN crsql_internal_sync_bit() = 0 BEGIN INSERT INTO ", capture,
      "(", list({"op", absl::StrJoin(o, ", ")}), ") VALUES (", list({"3", prefixed(pk_cols, "OLD.")}),
      "); END;\n");
  if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) return s;
  if (recreated) {
    auto del = sqlite::Stmt::Prepare(db, absl::StrCat("INSERT INTO main.", capture, "(", list({"op", absl::StrJoin(o, ", ")}),
                                              ") VALUES (", list({"3", absl::StrJoin(std::vector<std::string>(o.size(), "?"), ", ")}), ")"));
    if (!del.ok()) return del.status();
    for (const std::string& pk : old_rows) {
      auto values = schema::UnpackColumns(pk);
      if (!values.ok()) return values.status();
      for (size_t i = 0; i < values->size(); ++i) del->BindValue(static_cast<int>(i + 1), (*values)[i]);
      if (absl::Status s = del->Run(); !s.ok()) return s;
    }
  }
  if (is_new || recreated) {
    // The schema mark makes the commit write a schema-change event first;
    // the backfill turns existing rows into local writes through capture.
    std::string backfill = absl::StrCat(
        "INSERT INTO main.", capture, "(op) VALUES (4);\n",
        "INSERT INTO main.", capture, "(", list({"op", absl::StrJoin(n, ", "), absl::StrJoin(c, ", ")}),
        ") SELECT ", list({"1", absl::StrJoin(pk_cols, ", "), absl::StrJoin(cols, ", ")}), " FROM main.", q, ";");
    if (absl::Status s = sqlite::Exec(db, backfill); !s.ok()) return s;
    CrashPoint("backfill-before-commit");
  }
  return sp.Release();
}

absl::Status Replica::MakePlain(sqlite3* db, std::string_view table) {
  auto desc = Table(db, table);
  if (!desc.ok()) return desc.status();
  sqlite::Savepoint sp(db, "crlog_as_table");
  if (!sp.status().ok()) return sp.status();
  const std::string trigger = absl::StrCat("crlog_", (*desc)->name);
  std::string sql = absl::StrCat(
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_insert"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_update"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_delete"), ";\n",
      "DROP TABLE IF EXISTS main.", sqlite::QuoteIdentifier(CaptureTableName((*desc)->name)), ";\n",
      "DELETE FROM main.crlog_clock WHERE tbl = ", (*desc)->id, ";\n",
      "DELETE FROM main.crlog_tables WHERE id = ", (*desc)->id, ";\n");
  if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) return s;
  return sp.Release();
}


// The rows as they were when the alter began, kept in crlog_alter_<id> (one
// column per old column, no declared type, so values are kept exactly) until
// crsql_commit_alter compares them with what the alter left.
std::string AlterSnapshotName(int64_t table_id) { return absl::StrCat("crlog_alter_", table_id); }

// The snapshot's pk columns: the table's pk when the alter began (none when
// there is no snapshot).
absl::StatusOr<std::vector<std::string>> SnapshotPk(sqlite3* db, int64_t table_id) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT name FROM pragma_table_info(?1, 'main') WHERE pk > 0 ORDER BY pk");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, AlterSnapshotName(table_id));
  return sqlite::QueryTexts(std::move(stmt));
}

absl::Status Replica::BeginAlter(sqlite3* db, std::string_view table) {
  auto desc = Table(db, table);
  if (!desc.ok()) return desc.status();
  if (absl::Status s = CheckNotAlteredBehindCrlog(**desc); !s.ok()) return s;
  sqlite::Savepoint sp(db, "crlog_begin_alter");
  if (!sp.status().ok()) return sp.status();
  auto remember = sqlite::Stmt::Prepare(db, "INSERT OR REPLACE INTO main.crlog_alter(tbl, columns) VALUES (?1, ?2)");
  if (!remember.ok()) return remember.status();
  remember->BindText(1, (*desc)->name);
  remember->BindText(2, absl::StrJoin((*desc)->columns, std::string(1, kColumnSeparator)));
  if (absl::Status s = remember->Run(); !s.ok()) return s;
  std::vector<std::string> all, pk;
  for (const std::string& c : (*desc)->pk_columns) pk.push_back(sqlite::QuoteIdentifier(c));
  all = pk;
  for (const std::string& c : (*desc)->columns) all.push_back(sqlite::QuoteIdentifier(c));
  const std::string snapshot = sqlite::QuoteIdentifier(AlterSnapshotName((*desc)->id));
  const std::string trigger = absl::StrCat("crlog_", (*desc)->name);
  std::string sql = absl::StrCat(
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_insert"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_update"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_delete"), ";\n",
      "DROP TABLE IF EXISTS main.", sqlite::QuoteIdentifier(CaptureTableName((*desc)->name)), ";\n",
      "DROP TABLE IF EXISTS main.", snapshot, ";\n",
      "CREATE TABLE main.", snapshot, "(", absl::StrJoin(all, ", "), ", PRIMARY KEY (", absl::StrJoin(pk, ", "),
      "));\n",
      "INSERT INTO main.", snapshot, " SELECT ", absl::StrJoin(all, ", "), " FROM main.",
      sqlite::QuoteIdentifier((*desc)->name), ";\n");
  if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) return s;
  return sp.Release();
}

// The writes made between crsql_begin_alter and crsql_commit_alter were not
// captured (the triggers were gone). They are found by comparing the table
// with what the migration alone would have made of the snapshot (the
// expected rows), and handed to capture as ordinary local writes: rows
// gone, rows added, cells that differ. Cells the migration itself derived
// (a renamed column, every cell of a re-keyed row) are handed over as
// derived cells, which keep the current db_version as in cr-sqlite.
// `old_pk` and `old_columns` are the table's before the alter.
absl::Status CaptureAlterWrites(sqlite3* db, const TableDesc& desc, const std::vector<std::string>& old_pk,
                                const std::vector<std::string>& old_columns) {
  const std::string snapshot = sqlite::QuoteIdentifier(AlterSnapshotName(desc.id));
  auto proj = ProjectAlter(db, desc.name, old_pk, old_columns, desc.pk_columns, desc.columns, "s.");
  if (!proj.ok()) return proj.status();
  const std::string q = sqlite::QuoteIdentifier(desc.name);
  const std::string capture = sqlite::QuoteIdentifier(CaptureTableName(desc.name));
  const size_t np = desc.pk_columns.size(), nc = desc.columns.size();
  auto or_default = [](const std::optional<std::string>& expr, const std::optional<std::string>& dflt) {
    return expr ? *expr : dflt ? absl::StrCat("(", *dflt, ")") : std::string("NULL");
  };
  // The expected rows, keyed by the new pk.
  std::vector<std::string> keys, vals, select, join;
  for (size_t i = 0; i < np; ++i) {
    keys.push_back(absl::StrCat("k", i));
    select.push_back(or_default(proj->pk[i], proj->pk_defaults[i]));
    join.push_back(absl::StrCat("t.", sqlite::QuoteIdentifier(desc.pk_columns[i]), " = e.k", i));
  }
  for (size_t j = 0; j < nc; ++j) {
    vals.push_back(absl::StrCat("v", j));
    select.push_back(or_default(proj->columns[j], proj->defaults[j]));
  }
  std::vector<std::string> ecols = keys;
  ecols.insert(ecols.end(), vals.begin(), vals.end());
  std::string sql = absl::StrCat(
      "DROP TABLE IF EXISTS temp.crlog_alter_expected;\n",
      "CREATE TEMP TABLE crlog_alter_expected(", absl::StrJoin(ecols, ", "), ", PRIMARY KEY (",
      absl::StrJoin(keys, ", "), "));\n",
      "INSERT OR IGNORE INTO temp.crlog_alter_expected SELECT ", absl::StrJoin(select, ", "), " FROM main.",
      snapshot, " AS s;\n");
  if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) return s;

  auto names = [](const char* prefix, size_t n) {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) out.push_back(absl::StrCat(prefix, i));
    return out;
  };
  auto list = [](std::initializer_list<std::vector<std::string>> parts) {
    std::vector<std::string> all;
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return absl::StrJoin(all, ", ");
  };
  auto prefixed = [](const char* prefix, const std::vector<std::string>& xs) {
    std::vector<std::string> out;
    for (const auto& x : xs) out.push_back(absl::StrCat(prefix, x));
    return out;
  };
  std::vector<std::string> t_pk, t_cols;
  for (const std::string& c : desc.pk_columns) t_pk.push_back(absl::StrCat("t.", sqlite::QuoteIdentifier(c)));
  for (const std::string& c : desc.columns) t_cols.push_back(absl::StrCat("t.", sqlite::QuoteIdentifier(c)));
  const std::string on = absl::StrJoin(join, " AND ");
  const std::vector<std::string> e_keys = prefixed("e.", keys), e_vals = prefixed("e.", vals);

  // 1. Derived cells: every cell of a re-keyed row; otherwise the cells of
  // columns whose clocks were not carried (renamed, or new), unless they
  // hold the column's default (cr-sqlite skips those).
  std::vector<std::string> mask;
  bool any_derived = proj->pk_changed;
  for (size_t j = 0; j < nc; ++j) {
    if (proj->pk_changed) {
      mask.push_back("1");
    } else if (proj->carried[j]) {
      mask.push_back("NULL");
    } else {
      any_derived = true;
      // No DEFAULT means DEFAULT NULL: cr-sqlite lists no NULL cells.
      mask.push_back(absl::StrCat("CASE WHEN e.v", j, " IS NOT (", proj->defaults[j] ? *proj->defaults[j] : "NULL",
                                  ") THEN 1 END"));
    }
  }
  sql.clear();
  if (any_derived) {
    std::string where;
    if (!proj->pk_changed) {
      std::vector<std::string> any;
      for (const std::string& m : mask) any.push_back(absl::StrCat("(", m, ") IS NOT NULL"));
      where = absl::StrCat(" WHERE ", absl::StrJoin(any, " OR "));
    }
    absl::StrAppend(&sql, "INSERT INTO main.", capture, "(", list({{"op"}, names("n", np), names("c", nc), names("p", nc)}),
                    ") SELECT ", list({{"6"}, e_keys, e_vals, mask}), " FROM temp.crlog_alter_expected AS e", where,
                    ";\n");
  }
  // 2. Rows deleted inside the bracket.
  absl::StrAppend(&sql, "INSERT INTO main.", capture, "(", list({{"op"}, names("o", np)}), ") SELECT ",
                  list({{"3"}, e_keys}), " FROM temp.crlog_alter_expected AS e WHERE NOT EXISTS (SELECT 1 FROM main.",
                  q, " AS t WHERE ", on, ");\n");
  // 3. Rows inserted inside the bracket.
  absl::StrAppend(&sql, "INSERT INTO main.", capture, "(", list({{"op"}, names("n", np), names("c", nc)}), ") SELECT ",
                  list({{"1"}, t_pk, t_cols}), " FROM main.", q,
                  " AS t WHERE NOT EXISTS (SELECT 1 FROM temp.crlog_alter_expected AS e WHERE ", on, ");\n");
  // 4. Cells updated inside the bracket (capture keeps only changed cells).
  if (nc > 0) {
    absl::StrAppend(&sql, "INSERT INTO main.", capture, "(",
                    list({{"op"}, names("o", np), names("n", np), names("c", nc), names("p", nc)}), ") SELECT ",
                    list({{"2"}, t_pk, t_pk, t_cols, e_vals}), " FROM main.", q,
                    " AS t JOIN temp.crlog_alter_expected AS e ON ", on, ";\n");
  }
  absl::StrAppend(&sql, "DROP TABLE temp.crlog_alter_expected;\nDROP TABLE main.", snapshot, ";\n");
  return sqlite::Exec(db, sql);
}

// crsql_begin_alter after the fact, for an ALTER TABLE that ran without it
// (TableDesc::AlteredBehindCrlog): the alter record holds the recorded
// columns, and the snapshot today's rows under those columns (a renamed
// column's values under its old name, an added column left out).
absl::Status OpenAlterAfterTheFact(sqlite3* db, const TableDesc& desc) {
  auto remember = sqlite::Stmt::Prepare(db, "INSERT OR REPLACE INTO main.crlog_alter(tbl, columns) VALUES (?1, ?2)");
  if (!remember.ok()) return remember.status();
  remember->BindText(1, desc.name);
  remember->BindText(2, absl::StrJoin(desc.recorded_columns, std::string(1, kColumnSeparator)));
  if (absl::Status s = remember->Run(); !s.ok()) return s;
  std::vector<std::string> old_names, pk, select;
  for (size_t i = 0; i < desc.recorded_pk.size(); ++i) {
    pk.push_back(sqlite::QuoteIdentifier(desc.recorded_pk[i]));
    old_names.push_back(pk.back());
    // ALTER TABLE cannot change the key's columns, only rename them.
    select.push_back(i < desc.pk_columns.size() ? sqlite::QuoteIdentifier(desc.pk_columns[i]) : "NULL");
  }
  const std::vector<int> map = MapColumns(desc.recorded_columns, desc.columns);
  for (size_t j = 0; j < desc.recorded_columns.size(); ++j) {
    old_names.push_back(sqlite::QuoteIdentifier(desc.recorded_columns[j]));
    select.push_back(map[j] >= 0 ? sqlite::QuoteIdentifier(desc.columns[map[j]]) : "NULL");
  }
  const std::string snapshot = sqlite::QuoteIdentifier(AlterSnapshotName(desc.id));
  const std::string trigger = absl::StrCat("crlog_", desc.name);
  return sqlite::Exec(db, absl::StrCat(
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_insert"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_update"), ";\n",
      "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_delete"), ";\n",
      "DROP TABLE IF EXISTS main.", sqlite::QuoteIdentifier(CaptureTableName(desc.name)), ";\n",
      "DROP TABLE IF EXISTS main.", snapshot, ";\n",
      "CREATE TABLE main.", snapshot, "(", absl::StrJoin(old_names, ", "), ", PRIMARY KEY (", absl::StrJoin(pk, ", "),
      "));\n",
      "INSERT INTO main.", snapshot, " SELECT ", absl::StrJoin(select, ", "), " FROM main.",
      sqlite::QuoteIdentifier(desc.name), ";\n"));
}

absl::StatusOr<std::vector<OwnedChange>> Replica::CommitAlter(sqlite3* db, std::string_view table) {
  auto desc = Table(db, table);
  if (!desc.ok()) return desc.status();
  auto old = sqlite::Stmt::Prepare(db, "SELECT columns FROM main.crlog_alter WHERE tbl = ?1");
  if (!old.ok()) return old.status();
  old->BindText(1, (*desc)->name);
  auto found = old->Step();
  if (!found.ok()) return found.status();
  if (!*found && (*desc)->AlteredBehindCrlog()) {
    // ALTER TABLE ran without crsql_begin_alter: take it in as if it had
    // been bracketed. Nothing was written to the table since (capture
    // refuses its writes), so the rows before the alter are today's rows
    // under the recorded columns.
    old->Reset();
    if (absl::Status s = OpenAlterAfterTheFact(db, **desc); !s.ok()) return s;
    old->BindText(1, (*desc)->name);
    found = old->Step();
    if (!found.ok()) return found.status();
  }
  if (!*found) {
    return absl::FailedPreconditionError(absl::StrCat("crsql_commit_alter('", (*desc)->name,
                                                      "'): no alter is open on it; call crsql_begin_alter('",
                                                      (*desc)->name, "') before ALTER TABLE"));
  }
  std::vector<std::string> before;
  if (!old->ColumnText(0).empty()) before = absl::StrSplit(Sv(old->ColumnText(0)), kColumnSeparator);
  old->Reset();
  const std::vector<std::string>& after = (*desc)->columns;
  auto info = schema::ReadTableInfo(db, "main", (*desc)->name);
  if (!info.ok()) return info.status();
  if (absl::Status s = schema::CheckReplicable(db, "main", *info); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("crsql_commit_alter('", (*desc)->name, "'): after the alter, ",
                                               s.message(), "; undo the alter (ROLLBACK) or fix it first"));
  }

  sqlite::Savepoint sp(db, "crlog_commit_alter");
  if (!sp.status().ok()) return sp.status();
  auto snapshot_pk = SnapshotPk(db, (*desc)->id);
  if (!snapshot_pk.ok()) return snapshot_pk.status();
  if (snapshot_pk->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "crsql_commit_alter('", (*desc)->name, "'): the rows from before the alter (table ",
        AlterSnapshotName((*desc)->id), ") are missing (the alter was begun by an older crlog): call "
        "crsql_begin_alter('", (*desc)->name, "') again, then crsql_commit_alter; writes made to the table "
        "since the first crsql_begin_alter are not captured, so re-apply any a peer needs"));
  }
  if (*snapshot_pk != (*desc)->pk_columns) {
    // New pk columns give every row a new identity: the old clocks name
    // rows that are gone (as in cr-sqlite, which rebuilds its clocks).
    auto forget_clocks = sqlite::Stmt::Prepare(db, "DELETE FROM main.crlog_clock WHERE tbl = ?1");
    if (!forget_clocks.ok()) return forget_clocks.status();
    forget_clocks->BindInt(1, (*desc)->id);
    if (absl::Status s = forget_clocks->Run(); !s.ok()) return s;
  } else {
    const std::vector<int> map = SameNamed(MapColumns(before, after), before, after);
    if (!IsIdentity(map, after.size())) {
      if (absl::Status s = RemapClocks(db, (*desc)->id, map); !s.ok()) return s;
    }
  }
  auto forget = sqlite::Stmt::Prepare(db, "DELETE FROM main.crlog_alter WHERE tbl = ?1");
  if (!forget.ok()) return forget.status();
  forget->BindText(1, (*desc)->name);
  if (absl::Status s = forget->Run(); !s.ok()) return s;
  if (absl::Status s = RecordShape(db, *info); !s.ok()) return s;

  // Capture comes back for the new columns, and the commit records the
  // table's new schema as an event.
  if (absl::Status s = SetUpCapture(db, (*desc)->name, /*restoring=*/true); !s.ok()) return s;
  if (absl::Status s = sqlite::Exec(db, absl::StrCat("INSERT INTO main.",
                                             sqlite::QuoteIdentifier(CaptureTableName((*desc)->name)),
                                             "(op) VALUES (4)"));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CaptureAlterWrites(db, **desc, *snapshot_pk, before); !s.ok()) return s;

  // Changes that arrived for columns this table lacked.
  auto ready = TakeStashed(db, (*desc)->name, (*desc)->columns);
  if (!ready.ok()) return ready.status();
  if (absl::Status s = sp.Release(); !s.ok()) return s;
  return *std::move(ready);
}

}  // namespace crlog::engine
