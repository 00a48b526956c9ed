// Old -> new for each op, from one replay (engine/history/op_changes.h).
#include "engine/history/op_changes.h"

#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/replica/meta_tables.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "log/row_codec.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::engine {
namespace {


// A row of the replay database at one moment.
struct RowState {
  bool replicated = false;  // the table is replicated at this point
  bool seen = false;        // it has a clock: some op reached it before
  bool alive = false;
  std::map<std::string, Value> values;            // by column name, when alive
  std::map<std::string, CellClock> clocks;  // by column name
};

// Reads rows of the replay database, with the tables' shapes cached until
// a schema change.
class RowReader {
 public:
  explicit RowReader(sqlite3* db) : db_(db) {}
  void Forget() { tables_.clear(); }

  absl::StatusOr<RowState> Read(const std::string& table, const std::string& pk) {
    auto t = Table(table);
    if (!t.ok()) return t.status();
    RowState s;
    if (*t == nullptr) return s;
    TableCache& tc = **t;
    auto values = schema::UnpackColumns(pk);
    if (!values.ok() || values->size() != tc.info.pk.size()) return s;
    s.replicated = true;
    tc.clock.BindInt(1, tc.id);
    tc.clock.BindBlob(2, pk);
    auto row = tc.clock.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      auto clock = RowClock::Decode(tc.clock.ColumnBlob(0));
      if (!clock.ok()) return clock.status();
      s.seen = true;
      for (const CellClock& c : clock->cells) {
        if (c.column < tc.columns.size()) s.clocks[tc.columns[c.column]] = c;
      }
    }
    tc.clock.Reset();
    for (size_t i = 0; i < values->size(); ++i) tc.select.BindValue(static_cast<int>(i + 1), (*values)[i]);
    row = tc.select.Step();
    if (!row.ok()) return row.status();
    if (*row) {
      s.alive = true;
      for (size_t i = 0; i < tc.columns.size(); ++i) s.values[tc.columns[i]] = tc.select.ColumnValue(static_cast<int>(i));
    }
    tc.select.Reset();
    return s;
  }

 private:
  struct TableCache {
    int64_t id = 0;
    schema::TableInfo info;
    std::vector<std::string> columns;  // non-pk, table order: the clock's indexes
    sqlite::Stmt select, clock;
  };

  // nullptr when the table is not replicated in the replay database now.
  absl::StatusOr<TableCache*> Table(const std::string& table) {
    if (auto it = tables_.find(table); it != tables_.end()) return it->second.get();
    auto id = sqlite::Stmt::Prepare(db_, "SELECT id FROM main.crlog_tables WHERE name = ?1");
    if (!id.ok()) return id.status();
    id->BindText(1, table);
    auto found = id->Step();
    if (!found.ok()) return found.status();
    std::unique_ptr<TableCache> tc;
    if (*found) {
      tc = std::make_unique<TableCache>();
      tc->id = id->ColumnInt(0);
      auto info = schema::ReadTableInfo(db_, "main", table);
      if (!info.ok()) return info.status();
      tc->info = *std::move(info);
      std::vector<std::string> cols;
      for (int i : tc->info.non_pk) {
        tc->columns.push_back(tc->info.columns[i].name);
        cols.push_back(sqlite::QuoteIdentifier(tc->info.columns[i].name));
      }
      auto select = sqlite::Stmt::Prepare(
          db_, absl::StrCat("SELECT ", cols.empty() ? "1" : absl::StrJoin(cols, ", "), " FROM main.",
                            sqlite::QuoteIdentifier(table), " WHERE ", schema::WherePk(tc->info)));
      if (!select.ok()) return select.status();
      tc->select = *std::move(select);
      auto clock = sqlite::Stmt::Prepare(db_, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2");
      if (!clock.ok()) return clock.status();
      tc->clock = *std::move(clock);
    }
    return (tables_[table] = std::move(tc)).get();
  }

  sqlite3* db_;
  std::map<std::string, std::unique_ptr<TableCache>> tables_;
};

// The ops of an event, in order: (table changes, row op).
absl::StatusOr<std::vector<std::pair<const log::TableChanges*, log::RowOp>>> RowOps(const log::Event& event) {
  std::vector<std::pair<const log::TableChanges*, log::RowOp>> out;
  const bool is_import = event.kind == log::EventKind::kImport;
  for (const log::TableChanges& tc : event.tables) {
    log::RowsReader rows(tc.rows, is_import);
    while (!rows.done()) {
      log::RowOp op;
      if (absl::Status s = rows.Next(static_cast<uint32_t>(tc.columns.size()), &op); !s.ok()) return s;
      out.emplace_back(&tc, std::move(op));
    }
  }
  return out;
}

class OpsObserver : public ReplayObserver {
 public:
  OpsObserver(sqlite3* db, const std::set<log::Hash>& events) : reader_(db), events_(events) {}

  std::map<log::Hash, std::vector<OpChange>> changes;

  absl::Status BeforeEvent(sqlite3* /*db*/, const log::StoredEvent& stored, const log::Event& event) override {
    if (event.kind == log::EventKind::kSchemaChange) reader_.Forget();
    before_.clear();
    if (!events_.contains(stored.hash)) return absl::OkStatus();
    auto ops = RowOps(event);
    if (!ops.ok()) return ops.status();
    for (const auto& [tc, op] : *ops) {
      auto state = reader_.Read(tc->table, op.pk);
      if (!state.ok()) return state.status();
      before_.push_back(*std::move(state));
    }
    return absl::OkStatus();
  }

  absl::Status AfterEvent(sqlite3* db, const log::StoredEvent& stored, const log::Event& event) override {
    if (event.kind == log::EventKind::kSchemaChange) reader_.Forget();
    if (!events_.contains(stored.hash)) return absl::OkStatus();
    auto ops = RowOps(event);
    if (!ops.ok()) return ops.status();
    // The db_version the fold gave this event: a cell whose clock carries
    // it was written by the event.
    auto watermark = meta::ReadWatermark(db);
    if (!watermark.ok()) return watermark.status();
    std::vector<OpChange>& out = changes[stored.hash];
    for (size_t i = 0; i < ops->size() && i < before_.size(); ++i) {
      const auto& [tc, op] = (*ops)[i];
      const RowState& before = before_[i];
      auto after = reader_.Read(tc->table, op.pk);
      if (!after.ok()) return after.status();
      OpChange row;
      row.table = tc->table;
      row.pk = op.pk;
      if (!before.replicated) {
        row.kind = OpChange::Kind::kSkipped;
        out.push_back(std::move(row));
        continue;
      }
      const bool alive_op = op.causal_length % 2 == 1;
      if (!alive_op) {
        row.kind = OpChange::Kind::kDelete;
        row.already_deleted = !before.alive;
        row.lost = after->alive;
        out.push_back(std::move(row));
        continue;
      }
      if (!before.alive) {
        row.kind = before.seen ? OpChange::Kind::kResurrect : OpChange::Kind::kInsert;
        row.lost = !after->alive;
        out.push_back(row);
      }
      for (const log::CellOp& c : op.cells) {
        OpChange cell;
        cell.kind = OpChange::Kind::kCell;
        cell.table = tc->table;
        cell.pk = op.pk;
        cell.column = tc->columns[c.column];
        cell.new_value = c.value;
        if (before.alive) {
          if (auto it = before.values.find(cell.column); it != before.values.end()) cell.old_value = it->second;
        }
        if (after->alive && !after->values.contains(cell.column)) {
          cell.unknown_column = true;
        } else {
          // Lost: the cell does not hold what the event wrote, and the
          // event did not write it (a value the column's affinity
          // converted still counts as written). A write of the value the
          // cell already had is no loss.
          auto clock = after->clocks.find(cell.column);
          const bool written = after->alive && clock != after->clocks.end() &&
                               clock->second.db_version == watermark->db_version;
          cell.lost = !written && (!after->alive || !(after->values.at(cell.column) == c.value));
          if (cell.lost && after->alive) cell.now = after->values.at(cell.column);
        }
        out.push_back(std::move(cell));
      }
    }
    return absl::OkStatus();
  }

 private:
  RowReader reader_;
  const std::set<log::Hash>& events_;
  std::vector<RowState> before_;
};

}  // namespace

absl::StatusOr<std::map<log::Hash, std::vector<OpChange>>> ReplayOpChanges(
    const HistoryDb& db, const std::set<log::Hash>& events,
    const std::optional<RowFilter>& only_rows,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  auto head = db.Resolve("head");
  if (!head.ok()) return head.status();
  auto memory = sqlite::OpenDb(":memory:", SQLITE_OPEN_READWRITE, "opening an in-memory database for the replay");
  if (!memory.ok()) return memory.status();
  OpsObserver observer(memory->get(), events);
  ReplayOptions options = db.Options();
  options.only_rows = only_rows;
  options.observer = &observer;
  options.progress = progress;
  auto stats = ReplayInto(db.store(), *head, memory->get(), options);
  if (!stats.ok()) return stats.status();
  return std::move(observer.changes);
}

}  // namespace crlog::engine

namespace crlog {

std::vector<OpChange> WrittenChanges(const Event& event) {
  std::vector<OpChange> out;
  auto ops = engine::RowOps(event);
  if (!ops.ok()) return out;
  for (const auto& [tc, op] : *ops) {
    OpChange base;
    base.table = tc->table;
    base.pk = op.pk;
    base.known = false;
    if (op.causal_length % 2 == 0) {
      base.kind = OpChange::Kind::kDelete;
      out.push_back(std::move(base));
      continue;
    }
    for (const log::CellOp& c : op.cells) {
      OpChange cell = base;
      cell.kind = OpChange::Kind::kCell;
      cell.column = tc->columns[c.column];
      cell.new_value = c.value;
      out.push_back(std::move(cell));
    }
  }
  return out;
}

}  // namespace crlog
