// Blame and cell history (engine/history/blame.h).
//
// BlameRow works back from the row's clock: each cell's clock names the
// local db_version that recorded its winning write and the site that wrote
// it; crlog_versions names the events materialised at that db_version. More
// than one event can share a db_version (the members of a group; an import
// and the local event of the same transaction), so each candidate is decoded
// and the one whose row op wrote this cell of this pk, at this column
// version, from this site, is the writer.
#include "engine/history/blame.h"

#include <cmath>
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/replica/meta_tables.h"
#include "engine/replica/site_ordinals.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "log/row_codec.h"
#include "util/strings.h"
#include "schema/affinity.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::engine {
namespace {

// The row op of (table, pk) in `event`, if it has one; the table matched as
// SQLite matches names.
struct FoundRow {
  const log::TableChanges* changes = nullptr;
  log::RowOp op;
};
absl::StatusOr<std::optional<FoundRow>> FindRowOp(const log::Event& event, std::string_view table,
                                                  std::string_view pk) {
  const bool is_import = event.kind == log::EventKind::kImport;
  for (const log::TableChanges& tc : event.tables) {
    if (!absl::EqualsIgnoreCase(tc.table, Sv(table))) continue;
    log::RowsReader rows(tc.rows, is_import);
    FoundRow found;
    found.changes = &tc;
    auto hit = rows.Find(static_cast<uint32_t>(tc.columns.size()), pk, &found.op);
    if (!hit.ok()) return hit.status();
    if (*hit) return std::optional<FoundRow>(std::move(found));
  }
  return std::optional<FoundRow>();
}

// Who wrote an op's cell (or, with origin index of the row, its existence):
// an import names the origin; a native event is its site's.
const log::SiteId& WriterOf(const log::Event& event, uint32_t origin) {
  if (event.kind == log::EventKind::kImport && origin < event.origins.size()) return event.origins[origin];
  return event.site;
}

absl::StatusOr<Provenance> MakeProvenance(const log::LogStore& store, const log::StoredEvent& stored,
                                          const log::Event& event, const log::SiteId& site,
                                          uint64_t col_version) {
  Provenance p;
  p.event = stored.hash;
  p.position = stored.position;
  p.kind = event.kind;
  p.site = site;
  p.time_micros = event.kind == log::EventKind::kImport ? 0 : event.time_micros;
  auto arrival = store.ArrivalMicros(stored.position);
  if (!arrival.ok()) return arrival.status();
  p.arrival_micros = *arrival;
  p.col_version = col_version;
  return p;
}

// The events materialised at each db_version of one database, and the
// blamed row's op in each, read once per blame and only when asked: a row
// of a transaction of a million ops sits in one member of its group, and
// the members after it need not be read at all.
class EventsByVersion {
 public:
  struct Loaded {
    log::Hash hash{};
    bool read = false;
    bool in_log = false;
    log::StoredEvent stored;
    log::Event event;
    std::optional<FoundRow> row;  // the blamed row's op in this event
  };

  static absl::StatusOr<EventsByVersion> Make(sqlite3* db, const log::LogStore& store, std::string table,
                                              std::string pk) {
    auto stmt = sqlite::Stmt::Prepare(db, "SELECT hash FROM main.crlog_versions WHERE db_version = ?1 ORDER BY part");
    if (!stmt.ok()) return stmt.status();
    return EventsByVersion(store, *std::move(stmt), std::move(table), std::move(pk));
  }

  // The events recorded at `db_version`, in part order, not yet read.
  absl::StatusOr<const std::vector<Loaded*>*> At(uint64_t db_version) {
    auto it = by_version_.find(db_version);
    if (it != by_version_.end()) return &it->second;
    std::vector<Loaded*> loaded;
    versions_.BindInt(1, static_cast<int64_t>(db_version));
    while (true) {
      auto row = versions_.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (versions_.ColumnBlob(0).size() != 32) continue;
      const log::Hash h = log::ToArray<32>(versions_.ColumnBlob(0));
      auto& slot = by_hash_[h];
      if (slot == nullptr) {
        slot = std::make_unique<Loaded>();
        slot->hash = h;
      }
      loaded.push_back(slot.get());
    }
    versions_.Reset();
    return &by_version_.emplace(db_version, std::move(loaded)).first->second;
  }

  // Reads and decodes `l` on first use; afterwards `l->row` is the blamed
  // row's op, if the event has one (an event the log lacks has none: verify
  // is what reports that).
  absl::Status Read(Loaded* l) {
    if (l->read) return absl::OkStatus();
    auto stored = store_.GetIncludingPending(l->hash);
    if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
    l->read = true;
    if (!stored.ok()) return absl::OkStatus();
    // Blame shows; verify proves. Skipping the append-time checks keeps
    // blame fast on events of a million ops.
    auto event = stored->DecodeTrusted();
    if (!event.ok()) {
      return absl::DataLossError(absl::StrCat("event ", log::ToHex(l->hash), " at position ", stored->position,
                                              " does not decode: ", event.status().message(),
                                              "; run `crlog verify`"));
    }
    l->in_log = true;
    l->stored = *std::move(stored);
    l->event = *std::move(event);
    auto found = FindRowOp(l->event, table_, pk_);
    if (!found.ok()) return found.status();
    l->row = *std::move(found);
    return absl::OkStatus();
  }

 private:
  EventsByVersion(const log::LogStore& store, sqlite::Stmt versions, std::string table, std::string pk)
      : store_(store), versions_(std::move(versions)), table_(std::move(table)), pk_(std::move(pk)) {}
  const log::LogStore& store_;
  sqlite::Stmt versions_;
  std::string table_, pk_;
  // Loaded is pointed to (FoundRow points into its event), so it never moves.
  std::map<log::Hash, std::unique_ptr<Loaded>> by_hash_;
  std::map<uint64_t, std::vector<Loaded*>> by_version_;
};

// The non-pk values of a row (nullopt when the table has no such row).
absl::StatusOr<std::optional<std::vector<Value>>> ReadRow(sqlite3* db, const schema::TableInfo& info,
                                                          const std::vector<Value>& pk) {
  std::vector<std::string> cols;
  for (int i : info.non_pk) cols.push_back(sqlite::QuoteIdentifier(info.columns[i].name));
  auto stmt = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", cols.empty() ? "1" : absl::StrJoin(cols, ", "),
                                             " FROM main.", sqlite::QuoteIdentifier(info.name), " WHERE ",
                                             schema::WherePk(info)));
  if (!stmt.ok()) return stmt.status();
  for (size_t i = 0; i < pk.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), pk[i]);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::vector<Value>>();
  std::vector<Value> values;
  for (size_t i = 0; i < cols.size(); ++i) values.push_back(stmt->ColumnValue(static_cast<int>(i)));
  return std::optional<std::vector<Value>>(std::move(values));
}

// The clock of (table id, pk); nullopt when the row was never seen.
absl::StatusOr<std::optional<RowClock>> ReadClock(sqlite3* db, int64_t table_id, std::string_view pk) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2");
  if (!stmt.ok()) return stmt.status();
  stmt->BindInt(1, table_id);
  stmt->BindBlob(2, pk);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<RowClock>();
  auto clock = RowClock::Decode(stmt->ColumnBlob(0));
  if (!clock.ok()) return clock.status();
  return std::optional<RowClock>(*std::move(clock));
}

// crlog_tables' id and spelling of `table` (matched as SQLite matches
// names, without regard to ASCII case); nullopt when it is not replicated.
absl::StatusOr<std::optional<std::pair<int64_t, std::string>>> ReplicatedTable(sqlite3* db, std::string_view table) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT id, name FROM main.crlog_tables WHERE name = ?1 COLLATE NOCASE");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  auto row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::pair<int64_t, std::string>>();
  return std::optional<std::pair<int64_t, std::string>>(
      std::make_pair(stmt->ColumnInt(0), std::string(stmt->ColumnText(1))));
}

// `v` as a column of affinity `a` would store it: text that reads as a
// number becomes one in a numeric column, a number becomes text in a TEXT
// column, an integer a real in a REAL column, a whole real an integer in an
// INTEGER or NUMERIC one.
Value AsStored(Value v, schema::Affinity a) {
  using schema::Affinity;
  switch (a) {
    case Affinity::kText:
      if (v.type == ValueType::kInteger || v.type == ValueType::kReal) return Value::Text(ValueToString(v));
      return v;
    case Affinity::kInteger:
    case Affinity::kNumeric:
    case Affinity::kReal: {
      if (v.type == ValueType::kText) {
        int64_t i;
        double d;
        if (absl::SimpleAtoi(v.bytes, &i)) {
          v = Value::Integer(i);
        } else if (absl::SimpleAtod(v.bytes, &d) && std::isfinite(d)) {
          v = Value::Real(d);
        }
      }
      if (a == Affinity::kReal) {
        if (v.type == ValueType::kInteger) return Value::Real(static_cast<double>(v.integer));
        return v;
      }
      if (v.type == ValueType::kReal && v.real == std::trunc(v.real) && std::fabs(v.real) < 9.2e18) {
        return Value::Integer(static_cast<int64_t>(v.real));
      }
      return v;
    }
    case Affinity::kBlob:
      return v;
  }
  return v;
}

}  // namespace

std::string PackRowKey(sqlite3* db, std::string_view table, absl::Span<const Value> pk) {
  auto replicated = ReplicatedTable(db, table);
  if (replicated.ok() && replicated->has_value()) {
    auto info = schema::ReadTableInfo(db, "main", (*replicated)->second);
    if (info.ok() && info->pk.size() == pk.size()) {
      std::vector<Value> values;
      for (size_t i = 0; i < pk.size(); ++i) {
        values.push_back(AsStored(pk[i], schema::AffinityOf(info->columns[info->pk[i]].declared_type)));
      }
      return schema::PackColumns(values);
    }
  }
  return schema::PackColumns(pk);
}

absl::StatusOr<RowBlame> BlameRow(sqlite3* db, const log::LogStore& store, std::string_view table,
                                  std::string_view packed_pk) {
  auto replicated = ReplicatedTable(db, table);
  if (!replicated.ok()) return replicated.status();
  if (!replicated->has_value()) {
    auto names = ReplayedTables(db);
    if (!names.ok()) return names.status();
    return absl::NotFoundError(absl::StrCat(
        "table '", Sv(table), "' is not replicated in this database",
        names->empty() ? " (it replicates no tables)"
                       : absl::StrCat(" (replicated tables: ", absl::StrJoin(*names, ", "), ")")));
  }
  const auto& [table_id, name] = **replicated;
  auto info = schema::ReadTableInfo(db, "main", name);
  if (!info.ok()) return info.status();
  auto pk = schema::UnpackColumns(packed_pk);
  if (!pk.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the primary key given for table '", name,
                                                   "' is malformed: ", pk.status().message()));
  }
  if (pk->size() != info->pk.size()) {
    std::vector<std::string> pk_names;
    for (int i : info->pk) pk_names.push_back(info->columns[i].name);
    return absl::InvalidArgumentError(absl::StrCat(
        "table '", name, "' has a primary key of ", info->pk.size(), info->pk.size() == 1 ? " column (" : " columns (",
        absl::StrJoin(pk_names, ", "), ") but ", pk->size(), pk->size() == 1 ? " value was" : " values were",
        " given"));
  }

  RowBlame out;
  out.table = name;
  out.pk = std::string(packed_pk);
  auto clock = ReadClock(db, table_id, packed_pk);
  if (!clock.ok()) return clock.status();
  auto values = ReadRow(db, *info, *pk);
  if (!values.ok()) return values.status();
  if (!clock->has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "table '", name, "' has no row ", ValuesToString(*pk),
        values->has_value() ? " in its history: the row is in the table but no event wrote it (written behind "
                              "crlog's back? run `crlog verify`)"
                            : ": no event in this database's history wrote one"));
  }
  const RowClock& rc = **clock;
  out.causal_length = rc.cl;
  out.exists = values->has_value();

  auto site = meta::ReadSite(db);
  if (!site.ok()) return site.status();
  if (!site->has_value()) return absl::DataLossError("crlog_site is empty: the database's crlog tables are damaged");
  SiteOrdinals sites(db, (*site)->site);
  auto events = EventsByVersion::Make(db, store, name, std::string(packed_pk));
  if (!events.ok()) return events.status();

  if (rc.has_sentinel) {
    auto writer = sites.Site(rc.sentinel.site);
    if (!writer.ok()) return writer.status();
    auto candidates = events->At(rc.sentinel.db_version);
    if (!candidates.ok()) return candidates.status();
    for (EventsByVersion::Loaded* l : **candidates) {
      if (!writer->has_value()) break;
      if (absl::Status s = events->Read(l); !s.ok()) return s;
      if (!l->row.has_value() || l->row->op.causal_length != rc.cl) continue;
      if (WriterOf(l->event, l->row->op.origin) != **writer) continue;
      auto p = MakeProvenance(store, l->stored, l->event, **writer, rc.cl);
      if (!p.ok()) return p.status();
      out.existence = *p;
      break;
    }
  }
  if (!out.exists) return out;

  for (size_t i = 0; i < info->non_pk.size(); ++i) {
    CellBlame cell;
    cell.column = info->columns[info->non_pk[i]].name;
    cell.value = (**values)[i];
    const CellClock* cc = rc.Find(static_cast<uint32_t>(i));
    if (cc != nullptr) {
      auto writer = sites.Site(cc->site);
      if (!writer.ok()) return writer.status();
      auto candidates = events->At(cc->db_version);
      if (!candidates.ok()) return candidates.status();
      // Best: the op wrote this column (by name), at this version, from this
      // site, with the value the table holds. The value may differ by the
      // column's affinity, and a column renamed since has another name, so
      // weaker matches are kept in case no better one turns up.
      EventsByVersion::Loaded* best = nullptr;
      int best_score = 0;
      for (EventsByVersion::Loaded* l : **candidates) {
        if (!writer->has_value()) break;
        if (absl::Status s = events->Read(l); !s.ok()) return s;
        if (!l->row.has_value()) continue;
        const FoundRow& fr = *l->row;
        for (const log::CellOp& op : fr.op.cells) {
          if (op.version != cc->col_version || WriterOf(l->event, op.origin) != **writer) continue;
          const bool same_name = fr.changes->columns[op.column] == cell.column;
          const bool same_value = op.value == cell.value;
          if (!same_name && !same_value) continue;
          int score = (same_name ? 2 : 0) + (same_value ? 1 : 0);
          if (score > best_score) {
            best = l;
            best_score = score;
          }
        }
        if (best_score == 3) break;
      }
      if (best != nullptr) {
        auto p = MakeProvenance(store, best->stored, best->event, **writer, cc->col_version);
        if (!p.ok()) return p.status();
        cell.written_by = *p;
      }
    }
    out.cells.push_back(std::move(cell));
  }
  return out;
}

namespace {

// Watches a replay of one row and records each value its cells (and its
// existence) took, and the event that gave it.
class HistoryObserver : public ReplayObserver {
 public:
  HistoryObserver(const log::LogStore& store, std::string table, std::string pk, std::vector<Value> pk_values,
                  std::vector<CellVersion>* out)
      : store_(store), table_(std::move(table)), pk_(std::move(pk)), pk_values_(std::move(pk_values)), out_(out) {}

  absl::Status AfterEvent(sqlite3* db, const log::StoredEvent& stored, const log::Event& event) override {
    std::optional<FoundRow> row_op;
    if (event.kind == log::EventKind::kChange || event.kind == log::EventKind::kImport) {
      auto found = FindRowOp(event, table_, pk_);
      if (!found.ok()) return found.status();
      // An event without the row changes nothing of it.
      if (!found->has_value()) return absl::OkStatus();
      row_op = *std::move(found);
    }
    auto now = Read(db);
    if (!now.ok()) return now.status();
    // Schema changes rebuild the table; values they carry over (or a new
    // column's default) were written by nobody: the next write is news.
    if (!row_op) {
      state_ = *std::move(now);
      return absl::OkStatus();
    }
    const log::RowOp& op = row_op->op;
    const log::SiteId& row_site = WriterOf(event, op.origin);
    if (now->alive != state_.alive || now->has_sentinel != state_.has_sentinel ||
        (now->has_sentinel && now->sentinel != state_.sentinel)) {
      auto p = MakeProvenance(store_, stored, event, row_site, now->cl);
      if (!p.ok()) return p.status();
      out_->push_back(CellVersion{"", Value::Integer(now->alive ? 1 : 0), *p});
    }
    if (now->alive) {
      for (const auto& [column, cell] : now->cells) {
        auto before = state_.alive ? state_.Find(column) : nullptr;
        if (before != nullptr && before->value == cell.value && before->clock == cell.clock) continue;
        // The op's own cell names its writer (an import's origin) and version.
        const log::SiteId* site = &row_site;
        uint64_t col_version = cell.clock ? cell.clock->col_version : 0;
        for (const log::CellOp& c : op.cells) {
          if (row_op->changes->columns[c.column] != column) continue;
          site = &WriterOf(event, c.origin);
          if (!cell.clock) col_version = c.version;
        }
        auto p = MakeProvenance(store_, stored, event, *site, col_version);
        if (!p.ok()) return p.status();
        out_->push_back(CellVersion{column, cell.value, *p});
      }
    }
    state_ = *std::move(now);
    return absl::OkStatus();
  }

 private:
  struct Cell {
    Value value;
    std::optional<CellClock> clock;
  };
  struct State {
    bool alive = false;
    uint64_t cl = 0;
    bool has_sentinel = false;
    CellClock sentinel;
    std::vector<std::pair<std::string, Cell>> cells;  // table order
    const Cell* Find(const std::string& column) const {
      for (const auto& [name, cell] : cells) {
        if (name == column) return &cell;
      }
      return nullptr;
    }
  };

  // The row as the replay database holds it now.
  absl::StatusOr<State> Read(sqlite3* db) {
    State s;
    auto replicated = ReplicatedTable(db, table_);
    if (!replicated.ok()) return replicated.status();
    if (!replicated->has_value()) return s;
    auto info = schema::ReadTableInfo(db, "main", (*replicated)->second);
    if (absl::IsNotFound(info.status())) return s;
    if (!info.ok()) return info.status();
    if (info->pk.size() != pk_values_.size()) return s;
    auto clock = ReadClock(db, (*replicated)->first, pk_);
    if (!clock.ok()) return clock.status();
    auto values = ReadRow(db, *info, pk_values_);
    if (!values.ok()) return values.status();
    if (clock->has_value()) {
      s.cl = (*clock)->cl;
      s.has_sentinel = (*clock)->has_sentinel;
      s.sentinel = (*clock)->sentinel;
    }
    s.alive = values->has_value();
    if (!s.alive) return s;
    for (size_t i = 0; i < info->non_pk.size(); ++i) {
      Cell cell;
      cell.value = (**values)[i];
      if (clock->has_value()) {
        if (const CellClock* cc = (*clock)->Find(static_cast<uint32_t>(i))) cell.clock = *cc;
      }
      s.cells.emplace_back(info->columns[info->non_pk[i]].name, std::move(cell));
    }
    return s;
  }

  const log::LogStore& store_;
  std::string table_;
  std::string pk_;
  std::vector<Value> pk_values_;
  std::vector<CellVersion>* out_;
  State state_;
};

}  // namespace

absl::StatusOr<std::vector<CellVersion>> RowHistory(const log::LogStore& store, const Point& point,
                                                    std::string_view table, std::string_view packed_pk,
                                                    ReplayOptions options) {
  auto pk = schema::UnpackColumns(packed_pk);
  if (!pk.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the primary key given for table '", Sv(table),
                                                   "' is malformed: ", pk.status().message()));
  }
  auto memory = sqlite::OpenDb(":memory:", SQLITE_OPEN_READWRITE, "opening an in-memory database for a row's history");
  if (!memory.ok()) return memory.status();
  std::vector<CellVersion> out;
  HistoryObserver observer(store, std::string(table), std::string(packed_pk), *std::move(pk), &out);
  options.only_rows.emplace(table, packed_pk);
  options.observer = &observer;
  auto stats = ReplayInto(store, point, memory->get(), options);
  if (!stats.ok()) return stats.status();
  return out;
}

}  // namespace crlog::engine
