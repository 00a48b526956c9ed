// The two-phase commit of a local transaction (DESIGN.md, "The hard part").
//
// Phase one (PrepareCommit, from the capture module's xSync, with SQLite's
// write lock held):
//   1. resolve events other connections left pending;
//   2. fold the captured ops of each row into its net effect, against the
//      row's committed clock (crlog_clock), the way cr-sqlite counts: an
//      insert starts a life (odd causal length, column versions from 1), an
//      update adds 1 to each changed cell's version, a delete ends the life;
//   3. build the event (or an event group when it is too big) whose parents
//      are the heads this snapshot materialised, and append it pending;
//   4. write the new clocks, the watermark and the heads through SQL, in the
//      transaction being committed.
// Phase two (FinishCommit, xCommit) publishes; AbortCommit (xRollback)
// discards. Recovery settles whatever a crash leaves between the two.
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/replica/crash_point.h"
#include "engine/replica/durability.h"
#include "engine/fold/import_split.h"
#include "engine/replica/meta_tables.h"
#include "engine/replica/replica.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "log/event.h"
#include "log/format.h"
#include "log/row_codec.h"
#include "log/signing.h"
#include "log/value_codec.h"
#include "schema/packed_pk.h"
#include "schema/where_pk.h"
#include "util/sqlite/quote.h"

namespace crlog::engine {
namespace {

// The net effect of a transaction on one row. The pk and the written values
// are views into the capture buffers, which outlive the commit.
struct RowWork {
  std::string_view pk;
  RowClock clock;  // committed clock, then updated in place
  // The clock as crlog_clock holds it at commit (merges of this transaction
  // included); kept only for tables with kMerged ops.
  RowClock loaded;
  bool had_clock = false;
  bool merged = false;  // INSERT INTO crsql_changes wrote it after a local write
  bool changed = false;
  bool sentinel_written = false;
  // A local write (insert, update, delete) touched the row; rows touched
  // only by kDerived ops consume no new db_version.
  bool local = false;
  // Columns whose written value the migration derived (kDerived) and no
  // local write replaced since, and whether the row's current life began
  // with a derived op: these keep the database's current db_version.
  std::vector<uint32_t> derived;
  bool sentinel_derived = false;
  uint64_t sentinel_seq = 0;  // the existence entry's seq, when written
  // The version crsql_next_db_version asked for when the existence entry
  // was written (0: none). A written cell keeps the same in its clock's
  // db_version until Stamp gives it the commit's.
  uint64_t sentinel_floor = 0;
  // Cells written by this transaction, sorted by column: their final values,
  // still in the value encoding.
  std::vector<std::pair<uint32_t, std::string_view>> written;

  bool IsDerived(uint32_t column) const {
    return std::find(derived.begin(), derived.end(), column) != derived.end();
  }
  void Write(uint32_t column, std::string_view value) {
    auto it = std::lower_bound(written.begin(), written.end(), column,
                               [](const auto& cell, uint32_t c) { return cell.first < c; });
    if (it != written.end() && it->first == column) it->second = value;
    else written.insert(it, {column, value});
  }
};

struct TableWork {
  const TableDesc* table = nullptr;
  bool schema_mark = false;
  bool has_merges = false;  // kMerged ops: rows keep their loaded clock
  std::deque<RowWork> rows;       // first-touch order; a deque keeps pointers stable
  std::vector<RowWork*> sorted;   // by pk: the clock table's order
  absl::flat_hash_map<std::string_view, RowWork*> by_pk;
};

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ClockStore {
 public:
  static absl::StatusOr<ClockStore> Open(sqlite3* db) {
    ClockStore c;
    auto read = sqlite::Stmt::Prepare(db, "SELECT pk, clock FROM main.crlog_clock WHERE tbl = ?1 AND pk >= ?2 ORDER BY pk");
    if (!read.ok()) return read.status();
    auto insert = sqlite::Stmt::Prepare(db, "INSERT INTO main.crlog_clock(tbl, pk, clock) VALUES (?1, ?2, ?3)");
    if (!insert.ok()) return insert.status();
    auto update = sqlite::Stmt::Prepare(db, "UPDATE main.crlog_clock SET clock = ?3 WHERE tbl = ?1 AND pk = ?2");
    if (!update.ok()) return update.status();
    c.read_ = *std::move(read);
    c.insert_ = *std::move(insert);
    c.update_ = *std::move(update);
    return c;
  }
  // Loads the committed clocks of `rows` (sorted by pk). One statement walks
  // forward through the table's clocks in key order and seeks again only
  // across gaps, so a dense batch costs a step per row, not a seek.
  absl::Status Load(int64_t table, const std::vector<RowWork*>& rows, bool keep_loaded) {
    bool has_row = false;
    std::string_view key;
    auto seek = [&](std::string_view pk) -> absl::Status {
      read_.Reset();
      read_.BindInt(1, table);
      read_.BindBlob(2, pk);
      auto row = read_.Step();
      if (!row.ok()) return row.status();
      has_row = *row;
      if (has_row) key = read_.ColumnBlob(0);
      return absl::OkStatus();
    };
    bool started = false;
    for (RowWork* w : rows) {
      if (!started) {
        if (absl::Status st = seek(w->pk); !st.ok()) return st;
        started = true;
      }
      for (int steps = 0; has_row && key < std::string_view(w->pk); ++steps) {
        if (steps == 8) {
          if (absl::Status st = seek(w->pk); !st.ok()) return st;
          break;
        }
        auto row = read_.Step();
        if (!row.ok()) return row.status();
        has_row = *row;
        if (has_row) key = read_.ColumnBlob(0);
      }
      if (has_row && key == std::string_view(w->pk)) {
        auto clock = RowClock::Decode(read_.ColumnBlob(1));
        if (!clock.ok()) return clock.status();
        w->clock = *std::move(clock);
        w->had_clock = true;
        if (keep_loaded) w->loaded = w->clock;
      }
    }
    read_.Reset();
    return absl::OkStatus();
  }
  absl::Status Write(int64_t table, const RowWork& row) {
    // A plain INSERT for a row's first clock, an UPDATE by key after: both
    // cheaper than an upsert.
    sqlite::Stmt& stmt = row.had_clock ? update_ : insert_;
    std::string clock = row.clock.Encode();
    stmt.BindInt(1, table);
    stmt.BindBlob(2, row.pk);
    stmt.BindBlob(3, clock);
    return stmt.Run();
  }

 private:
  sqlite::Stmt read_, insert_, update_;
};

// Registers the rows `op` touches, so their clocks can be loaded in one
// sorted pass before any op is applied.
void Touch(const CapturedOp& op, TableWork& tw) {
  if (op.kind == OpKind::kMerged) tw.has_merges = true;
  for (std::string_view pk : {op.pk, op.new_pk}) {
    if (op.kind == OpKind::kSchemaMark || pk.empty() || tw.by_pk.contains(pk)) continue;
    RowWork& work = tw.rows.emplace_back();
    work.pk = pk;
    tw.by_pk.emplace(pk, &work);
  }
}

// Applies `op` to its rows. `seq` is the transaction's write counter, as
// cr-sqlite keeps it: every clock write (a cell, an existence entry) takes
// the next number, in statement order, gaps allowed. `floor` is the version
// crsql_next_db_version had asked for when the op was made.
absl::Status Apply(const CapturedOp& op, TableWork& tw, uint64_t* seq, uint64_t floor) {
  // Touch registered every row an op names.
  auto row_for = [&](std::string_view pk) -> absl::StatusOr<RowWork*> {
    auto it = tw.by_pk.find(pk);
    if (it == tw.by_pk.end()) return absl::InternalError("capture saw a row twice differently (a crlog bug)");
    return it->second;
  };
  bool all_pk = tw.table->columns.empty();
  auto start_life = [&](RowWork* w) {
    // 0 -> 1, even -> odd: a new life; versions restart.
    w->clock.cl += 1;
    w->clock.cells.clear();
    w->written.clear();
    w->derived.clear();
    w->sentinel_derived = false;
    if (all_pk || w->clock.has_sentinel || w->sentinel_written) {  // written: deleted in this transaction
      w->sentinel_written = true;
      w->sentinel_seq = (*seq)++;
      w->sentinel_floor = floor;
    }
    w->changed = true;
  };
  auto write_cells = [&](RowWork* w, const std::vector<std::pair<uint32_t, std::string_view>>& cells) {
    for (const auto& [column, value] : cells) {
      CellClock& c = w->clock.Upsert(column);
      c.col_version += 1;
      c.seq = (*seq)++;
      c.db_version = floor;
      w->Write(column, value);
      w->derived.erase(std::remove(w->derived.begin(), w->derived.end(), column), w->derived.end());
    }
    w->changed = true;
  };
  auto end_life = [&](RowWork* w) {
    if (w->clock.cl == 0) w->clock.cl = 1;  // a row crlog never saw alive
    if (w->clock.alive()) w->clock.cl += 1;
    w->clock.cells.clear();
    w->written.clear();
    w->derived.clear();
    w->sentinel_derived = false;
    w->sentinel_written = true;
    w->sentinel_seq = (*seq)++;
    w->sentinel_floor = floor;
    w->changed = true;
  };
  if (op.kind != OpKind::kSchemaMark && op.kind != OpKind::kMerged && op.kind != OpKind::kDerived) {
    for (std::string_view pk : {op.pk, op.new_pk}) {
      if (pk.empty()) continue;
      auto w = row_for(pk);
      if (!w.ok()) return w.status();
      (*w)->local = true;
    }
  }

  switch (op.kind) {
    case OpKind::kSchemaMark: tw.schema_mark = true; return absl::OkStatus();
    case OpKind::kMerged: {
      // Settled against the table once every op is applied (Reconcile).
      auto w = row_for(op.pk);
      if (!w.ok()) return w.status();
      (*w)->merged = true;
      return absl::OkStatus();
    }
    case OpKind::kInsert: {
      auto w = row_for(op.pk);
      if (!w.ok()) return w.status();
      // An insert over a live row is OR REPLACE without recursive triggers:
      // every cell is written again, in the same life.
      if (!(*w)->clock.alive()) start_life(*w);
      write_cells(*w, op.cells);
      return absl::OkStatus();
    }
    case OpKind::kUpdate: {
      if (!op.new_pk.empty()) {
        // As in cr-sqlite: the old key is deleted, the new key created, and
        // the cells move to it keeping their column versions (a cell the
        // UPDATE also changed adds one; a cell the new key holds is
        // outranked). Unlike
        // cr-sqlite, moved cells take this transaction's db_version, so a
        // peer that synced before receives them (docs/sql.md).
        auto old_row = row_for(op.pk);
        if (!old_row.ok()) return old_row.status();
        std::vector<CellClock> moved = (*old_row)->clock.alive() ? (*old_row)->clock.cells : std::vector<CellClock>{};
        end_life(*old_row);
        auto new_row = row_for(op.new_pk);
        if (!new_row.ok()) return new_row.status();
        RowWork* w = *new_row;
        // As in cr-sqlite, the new key gets an existence entry even in its
        // first life (the event lists it in TableOps.entries, so every
        // replica builds the same clock).
        if (!w->clock.alive()) {
          start_life(w);
          if (!w->sentinel_written) {
            w->sentinel_written = true;
            w->sentinel_seq = (*seq)++;
            w->sentinel_floor = floor;
          }
        }
        for (size_t i = 0; i < op.cells.size(); ++i) {
          const auto& [column, value] = op.cells[i];
          CellClock& c = w->clock.Upsert(column);
          uint64_t version = 0;
          for (const CellClock& m : moved) {
            if (m.column == column) version = m.col_version;
          }
          const uint64_t moved_version = version + (op.changed[i] || version == 0 ? 1 : 0);
          // A cell the new key already holds (its row replaced by OR REPLACE
          // without recursive triggers, so never deleted) is held by peers
          // at its version: the moved value must outrank it, or a tie
          // would let every fold of the log keep the replaced value.
          c.col_version = c.col_version == 0 ? moved_version : std::max(c.col_version + 1, moved_version);
          c.seq = (*seq)++;
          c.db_version = floor;
          w->Write(column, value);
          w->derived.erase(std::remove(w->derived.begin(), w->derived.end(), column), w->derived.end());
        }
        w->changed = true;
        return absl::OkStatus();
      }
      auto w = row_for(op.pk);
      if (!w.ok()) return w.status();
      if (!(*w)->clock.alive()) start_life(*w);
      write_cells(*w, op.cells);
      return absl::OkStatus();
    }
    case OpKind::kDelete: {
      auto w = row_for(op.pk);
      if (!w.ok()) return w.status();
      end_life(*w);
      return absl::OkStatus();
    }
    case OpKind::kDerived: {
      // A derived cell is the migration's, not a write: version 1, as on a
      // peer that runs the same migration. A cell that already has a clock
      // keeps it.
      auto w = row_for(op.pk);
      if (!w.ok()) return w.status();
      if (!(*w)->clock.alive()) {
        start_life(*w);
        (*w)->sentinel_derived = (*w)->sentinel_written;
      }
      for (const auto& [column, value] : op.cells) {
        CellClock& c = (*w)->clock.Upsert(column);
        if (c.col_version != 0) continue;
        c.col_version = 1;
        c.seq = (*seq)++;
        (*w)->Write(column, value);
        (*w)->derived.push_back(column);
      }
      (*w)->changed = true;
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown captured op");
}

// A merge in this transaction wrote rows that local writes touched before it
// (it decided against crlog_clock, which does not hold pending local
// writes). The table holds what SQLite will commit, so it decides: a local
// cell whose value the table no longer holds was overwritten by the merge,
// whose clock (in crlog_clock already, `loaded`) stands; a row whose
// existence the merge changed after the local writes is the merge's.
absl::Status Reconcile(sqlite3* db, TableWork& tw) {
  std::vector<std::string> cols;
  for (const std::string& c : tw.table->columns) cols.push_back(sqlite::QuoteIdentifier(c));
  if (cols.empty()) cols.push_back("NULL");
  auto read = sqlite::Stmt::Prepare(db, absl::StrCat("SELECT ", absl::StrJoin(cols, ", "), " FROM main.",
                                             sqlite::QuoteIdentifier(tw.table->name), " WHERE ",
                                             schema::WherePk(tw.table->pk_columns)));
  if (!read.ok()) return read.status();
  for (RowWork& row : tw.rows) {
    if (!row.merged || !row.changed) continue;
    auto pk = schema::UnpackColumns(row.pk);
    if (!pk.ok()) return pk.status();
    for (size_t i = 0; i < pk->size(); ++i) read->BindValue(static_cast<int>(i + 1), (*pk)[i]);
    auto exists = read->Step();
    if (!exists.ok()) return exists.status();
    if (*exists != row.clock.alive()) {
      row.clock = row.loaded;
      row.written.clear();
      row.sentinel_written = false;
      row.changed = false;
    } else if (*exists) {
      std::vector<std::pair<uint32_t, std::string_view>> kept;
      for (const auto& [column, value] : row.written) {
        std::string current;
        log::PutValue(&current, read->ColumnValue(static_cast<int>(column)));
        if (current == value) {
          kept.emplace_back(column, value);
          continue;
        }
        if (const CellClock* merged = row.loaded.Find(column)) {
          row.clock.Upsert(column) = *merged;
        } else {
          row.clock.cells.erase(std::remove_if(row.clock.cells.begin(), row.clock.cells.end(),
                                               [&column = column](const CellClock& c) { return c.column == column; }),
                                row.clock.cells.end());
        }
      }
      row.written = std::move(kept);
      if (row.written.empty() && !row.sentinel_written && row.clock == row.loaded) row.changed = false;
    }
    read->Reset();
  }
  return absl::OkStatus();
}

// Step 1 of the commit, which only reads: the net effect of `buffers` per
// row, against the committed clocks.
absl::Status NetEffect(sqlite3* db, ClockStore& clocks, absl::Span<CaptureBuffer* const> buffers,
                       const VersionFloors& floors, std::map<std::string, TableWork>& tables) {
  for (CaptureBuffer* buffer : buffers) {
    if (buffer->empty()) continue;
    TableWork& tw = tables[buffer->table().name];
    tw.table = &buffer->table();
    absl::Status s = buffer->ForEach([&](const CapturedOp& op) {
      Touch(op, tw);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  for (auto& [name, tw] : tables) {
    tw.sorted.reserve(tw.rows.size());
    for (RowWork& row : tw.rows) tw.sorted.push_back(&row);
    auto by_pk = [](const RowWork* a, const RowWork* b) { return a->pk < b->pk; };
    if (!std::is_sorted(tw.sorted.begin(), tw.sorted.end(), by_pk)) {  // often written in key order
      std::sort(tw.sorted.begin(), tw.sorted.end(), by_pk);
    }
    if (absl::Status s = clocks.Load(tw.table->id, tw.sorted, tw.has_merges); !s.ok()) return s;
  }
  // Every table's ops, merged back into statement order.
  struct Cursor {
    std::string_view in;
    CapturedOp op;
    TableWork* tw;
  };
  std::vector<Cursor> cursors;
  for (CaptureBuffer* buffer : buffers) {
    if (buffer->empty()) continue;
    Cursor& c = cursors.emplace_back();
    c.in = buffer->data();
    c.tw = &tables[buffer->table().name];
    if (absl::Status s = CaptureBuffer::Next(&c.in, &c.op); !s.ok()) return s;
  }
  uint64_t seq = 0;
  while (!cursors.empty()) {
    size_t next = 0;
    for (size_t i = 1; i < cursors.size(); ++i) {
      if (cursors[i].op.ordinal < cursors[next].op.ordinal) next = i;
    }
    Cursor& c = cursors[next];
    if (absl::Status s = Apply(c.op, *c.tw, &seq, floors.For(c.op.ordinal)); !s.ok()) return s;
    if (c.in.empty()) {
      cursors.erase(cursors.begin() + static_cast<std::ptrdiff_t>(next));
    } else if (absl::Status s = CaptureBuffer::Next(&c.in, &c.op); !s.ok()) {
      return s;
    }
  }
  for (auto& [name, tw] : tables) {
    if (!tw.has_merges) continue;
    if (absl::Status s = Reconcile(db, tw); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// What the net effect holds, for choosing the transaction's versions.
struct Effect {
  bool any_rows = false;     // a row changed
  bool any_local = false;    // ... by a local write, not only derived cells
  bool any_derived = false;  // an alter derived cells
};

Effect Summarize(const std::map<std::string, TableWork>& tables) {
  Effect e;
  for (const auto& [name, tw] : tables) {
    for (const RowWork& row : tw.rows) {
      if (!row.changed) continue;
      e.any_rows = true;
      e.any_local |= row.local;
      e.any_derived |= !row.derived.empty() || row.sentinel_derived;
    }
  }
  return e;
}

struct Versions {
  uint64_t db_version = 0;       // the transaction's: the database's after it
  uint64_t first_write = 0;      // a write made before any crsql_next_db_version(v)
  uint64_t derived_version = 0;  // cells an alter derived
  // Every version a write of the transaction may carry (crlog_versions must
  // name the transaction's events at each).
  std::vector<uint64_t> all;
};

// Like cr-sqlite, only changed rows consume a db_version: making an empty
// table replicated leaves crsql_db_version() as it was. Cells an alter
// derived keep the current db_version (a database that has none yet gives
// them the new one: `db_version > 0` would miss version 0). A write takes
// max(first_write, the version requested before it), so it carries what
// cr-sqlite's pending version was when the write was made. `merged` is the
// version of the transaction's merges, which its local writes share.
Versions CommitVersions(const Effect& e, uint64_t committed, const VersionFloors& floors, uint64_t merged) {
  Versions v;
  const bool needs_version = e.any_local || (e.any_derived && committed == 0);
  v.db_version = needs_version ? std::max({committed + 1, floors.at_commit, merged}) : committed;
  v.first_write = needs_version ? std::max(committed + 1, merged) : committed;
  v.derived_version = committed == 0 ? v.db_version : committed;
  if (e.any_local) {
    v.all.push_back(v.first_write);
    for (const auto& [ordinal, floor] : floors.from_op) v.all.push_back(std::max(v.first_write, floor));
  }
  if (e.any_derived) v.all.push_back(v.derived_version);
  std::sort(v.all.begin(), v.all.end());
  v.all.erase(std::unique(v.all.begin(), v.all.end()), v.all.end());
  return v;
}

// Gives the clock `row` commits with its versions: the existence entry and
// every cell the transaction wrote (all this site's).
void Stamp(const RowWork& row, const Versions& v, RowClock* clock) {
  if (row.sentinel_written) {
    clock->has_sentinel = true;
    clock->sentinel = CellClock{
        0, clock->cl, row.sentinel_derived ? v.derived_version : std::max(v.first_write, row.sentinel_floor), 0,
        row.sentinel_seq};
  }
  for (const auto& [column, value] : row.written) {
    CellClock* c = clock->Find(column);
    c->db_version = row.IsDerived(column) ? v.derived_version : std::max(v.first_write, c->db_version);
    c->site = 0;
  }
}

}  // namespace

absl::StatusOr<std::optional<PendingCommit>> Replica::PrepareCommit(
    sqlite3* db, absl::Span<CaptureBuffer* const> buffers, const VersionFloors& floors,
    std::optional<ImportCommit> import, absl::Span<const log::Hash> in_flight) {
  // 1. The net effect per row.
  auto clocks = ClockStore::Open(db);
  if (!clocks.ok()) return clocks.status();
  std::map<std::string, TableWork> tables;  // by name: the event's order
  if (absl::Status s = NetEffect(db, *clocks, buffers, floors, tables); !s.ok()) return s;
  auto dropped = DropDroppedTables(db);
  if (!dropped.ok()) return dropped.status();
  const Effect effect = Summarize(tables);
  bool any_schema = !dropped->empty();
  for (auto& [name, tw] : tables) any_schema |= tw.schema_mark;
  if (!effect.any_rows && !any_schema && !import.has_value()) return std::nullopt;

  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  // Local writes of a transaction that also merged share the merge's version.
  const Versions versions =
      CommitVersions(effect, watermark->db_version, floors, import.has_value() ? import->db_version : 0);
  const uint64_t db_version = versions.db_version;
  // A change past it is one crsql_changes (here and at every peer) refuses.
  if (db_version > log::format::kMaxCounter) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this transaction would commit at db_version ", db_version, ", beyond ", log::format::kMaxCounter,
        ", the largest a change can carry; the database has used every db_version and takes no more writes"));
  }
  const int64_t now = NowMicros();

  // 2. Events: one schema change per newly replicated table, then the rows,
  // split into a group when they outgrow max_event_bytes_.
  std::vector<log::Event> events;
  auto next_event = [&](log::EventKind kind) -> log::Event& {
    log::Event& e = events.emplace_back();
    e.kind = kind;
    e.site = site_;
    e.time_micros = now;
    return e;
  };
  for (const std::string& table : *dropped) {
    log::Event& e = next_event(log::EventKind::kSchemaChange);
    e.schema_change.table = table;  // no sql: the table is gone
  }
  for (auto& [name, tw] : tables) {
    if (!tw.schema_mark) continue;
    log::Event& e = next_event(log::EventKind::kSchemaChange);
    e.schema_change.table = tw.table->name;
    e.schema_change.sql = tw.table->create_sql;
    e.schema_change.columns = tw.table->columns;
    e.schema_change.pk_columns = tw.table->pk_columns;
  }
  size_t first_data = events.size();
  std::vector<std::vector<log::TableChanges>> chunks(1);
  size_t chunk_bytes = 0;
  for (auto& [name, tw] : tables) {
    log::RowsWriter rows;
    std::vector<std::string> entries;  // rows whose first life has an existence entry
    // tw is named in the capture list: clang 14 (the fuzz build) cannot
    // capture a structured binding implicitly.
    auto finish_table = [&, &tw = tw] {
      if (rows.row_count() == 0) return;
      chunk_bytes += rows.size();
      std::sort(entries.begin(), entries.end());
      chunks.back().push_back({tw.table->name, tw.table->columns, rows.row_count(), rows.Release(), std::move(entries)});
      entries.clear();
    };
    for (RowWork& work : tw.rows) {
      RowWork* row = &work;
      if (!row->changed) continue;
      if (chunk_bytes + rows.size() >= max_event_bytes_) {
        finish_table();
        chunks.emplace_back();
        chunk_bytes = 0;
      }
      RowClock& clock = row->clock;
      Stamp(*row, versions, &clock);
      rows.BeginRow(row->pk, clock.cl, static_cast<uint32_t>(row->written.size()));
      if (row->sentinel_written && clock.cl == 1 && !tw.table->columns.empty()) entries.emplace_back(row->pk);
      for (const auto& [column, value] : row->written) rows.AddEncodedCell(column, clock.Find(column)->col_version, value);
    }
    finish_table();
    for (RowWork* row : tw.sorted) {  // in key order: B-tree locality
      if (!row->changed) continue;
      if (absl::Status s = clocks->Write(tw.table->id, *row); !s.ok()) return s;
    }
  }
  if (chunks.back().empty()) chunks.pop_back();
  for (auto& chunk : chunks) next_event(log::EventKind::kChange).tables = std::move(chunk);

  const size_t data_events = events.size() - first_data;
  auto staged =
      StageLocalEvents(db, std::move(events), first_data, *watermark, db_version, std::move(import), in_flight);
  if (!staged.ok() || data_events == 0) return staged;
  // crsql_changes finds a version's cells through the events recorded at it:
  // every other version the transaction's cells carry (an alter's derived
  // cells, writes made before a crsql_next_db_version(v)) names its data
  // events too.
  absl::Status s = absl::OkStatus();
  for (uint64_t version : versions.all) {
    if (version == db_version) continue;
    for (size_t i = staged->events.size() - data_events; s.ok() && i < staged->events.size(); ++i) {
      s = meta::AppendVersion(db, version, staged->events[i]);
    }
    if (s.ok()) s = meta::RecordVersionSites(db, version, {site_}, site_);
    if (!s.ok()) break;
  }
  if (!s.ok()) {
    log_->Discard(staged->events, log::Durability::kNoSync).IgnoreError();
    return s;
  }
  return staged;
}

absl::StatusOr<std::vector<Replica::PendingRow>> Replica::PendingWrites(sqlite3* db, absl::Span<CaptureBuffer* const> buffers,
                                                               const VersionFloors& floors, uint64_t merged) {
  auto clocks = ClockStore::Open(db);
  if (!clocks.ok()) return clocks.status();
  std::map<std::string, TableWork> tables;
  if (absl::Status s = NetEffect(db, *clocks, buffers, floors, tables); !s.ok()) return s;
  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  const Versions versions = CommitVersions(Summarize(tables), watermark->db_version, floors, merged);
  std::vector<PendingRow> out;
  for (auto& [name, tw] : tables) {
    for (RowWork& row : tw.rows) {
      if (!row.changed) continue;
      PendingRow& p = out.emplace_back();
      p.table = name;
      p.pk = std::string(row.pk);
      p.clock = row.clock;
      Stamp(row, versions, &p.clock);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Replica::DropDroppedTables(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT id, name FROM main.crlog_tables WHERE name NOT IN "
                                "(SELECT name FROM main.sqlite_schema WHERE type = 'table') ORDER BY name");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::pair<int64_t, std::string>> gone;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    gone.emplace_back(stmt->ColumnInt(0), std::string(stmt->ColumnText(1)));
  }
  std::vector<std::string> names;
  for (const auto& [id, name] : gone) {
    // The capture table stays until the next load drops it: SQLite cannot
    // drop a virtual table from inside a commit.
    if (absl::Status s = sqlite::Exec(db, absl::StrCat("DELETE FROM main.crlog_clock WHERE tbl = ", id,
                                               "; DELETE FROM main.crlog_tables WHERE id = ", id));
        !s.ok()) {
      return s;
    }
    if (absl::StartsWith(name, meta::kDroppedTablePrefix)) {
      // Dropped and created again: the drop is of the name after the id.
      std::string_view rest = std::string_view(name).substr(sizeof(meta::kDroppedTablePrefix) - 1);
      names.emplace_back(rest.substr(rest.find(':') + 1));
      continue;
    }
    names.push_back(name);
  }
  return names;
}

absl::StatusOr<PendingCommit> Replica::StageLocalEvents(sqlite3* db, std::vector<log::Event> events,
                                                        size_t first_data, const meta::Watermark& committed,
                                                        uint64_t db_version,
                                                        std::optional<ImportCommit> import,
                                                        absl::Span<const log::Hash> in_flight) {
  auto durability = DurabilityFor(db);
  if (!durability.ok()) return durability.status();
  if (absl::Status s = ResolvePending(db, in_flight); !s.ok()) return s;
  auto next_seq = log_->NextSeq(site_);
  if (!next_seq.ok()) return next_seq.status();
  if (*next_seq != committed.seq + 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log '", log_path_, "' holds local events up to seq ", *next_seq - 1,
        " but the database '", db_path_, "' committed up to seq ", committed.seq,
        *next_seq - 1 > committed.seq
            ? ": the database is older than its log (restored from a backup?); run `crlog verify`"
            : ": the log lost events; restore it and run `crlog verify`"));
  }
  auto heads = meta::ReadHeads(db);
  if (!heads.ok()) return heads.status();
  auto lamport = log_->LamportAfter(*heads);
  if (!lamport.ok()) {
    return absl::DataLossError(absl::StrCat("the log '", log_path_, "' lacks a head the database '",
                                            db_path_, "' materialised: ", lamport.status().message()));
  }

  std::vector<log::EncodedEvent> encoded;
  // The import comes first: the transaction's local writes were made with
  // its merged cells in place, so they follow it.
  std::vector<log::Hash> parents = *heads;
  if (import.has_value()) {
    auto members = SplitImport(import->event, max_event_bytes_);
    if (!members.ok()) return members.status();
    log::Hash first{};
    for (log::Event& member : *members) {
      if (member.group.index > 0) member.group.first = first;
      auto enc = log::EncodeEvent(member, log_->options().max_event_bytes);
      if (!enc.ok()) {
        return absl::Status(enc.status().code(),
                            absl::StrCat("the changes merged in this transaction make an import event that ",
                                         "cannot be stored (", enc.status().message(),
                                         "); merge them in smaller transactions"));
      }
      if (member.group.index == 0) first = enc->hash;
      parents.push_back(enc->hash);
      encoded.push_back(*std::move(enc));
    }
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    *lamport = std::max<uint64_t>(*lamport, 2);
  }
  const size_t first_native = encoded.size();

  // Chain: the first event's parents are the snapshot's heads; each next
  // event's parent is the one before. Data events beyond one form a group.
  size_t data_count = events.size() - first_data;
  log::Hash group_first{};
  const std::shared_ptr<const log::SigningKey> key = signing_key();
  for (size_t i = 0; i < events.size(); ++i) {
    log::Event& e = events[i];
    e.seq = *next_seq + i;
    if (i == 0) {
      e.parents = parents;
      e.lamport = *lamport;
    } else {
      e.parents = {encoded.back().hash};
      e.lamport = events[i - 1].lamport + 1;
    }
    if (data_count > 1 && i >= first_data) {
      e.group.count = static_cast<uint32_t>(data_count);
      e.group.index = static_cast<uint32_t>(i - first_data);
      if (i > first_data) e.group.first = group_first;
    }
    // Signed last, over the complete event (imports, above, are never signed).
    if (key != nullptr) {
      if (absl::Status s = log::SignEvent(e, *key); !s.ok()) return s;
    }
    auto enc = log::EncodeEvent(e, log_->options().max_event_bytes);
    if (!enc.ok()) return enc.status();
    if (i == first_data) group_first = enc->hash;
    encoded.push_back(*std::move(enc));
  }
  auto appended = log_->AppendPendingEncoded(encoded, *durability);
  if (!appended.ok()) return appended.status();
  PendingCommit commit;
  for (const auto& e : encoded) commit.events.push_back(e.hash);
  CrashPoint("commit-after-log");

  // The watermark and heads commit with the tables.
  meta::Watermark watermark = committed;
  watermark.db_version = std::max(db_version, import.has_value() ? import->max_db_version : 0);
  if (!events.empty()) {
    watermark.seq = events.back().seq;
    watermark.hash = encoded.back().hash;
  }
  absl::Status s = meta::WriteWatermark(db, watermark);
  if (events.empty()) {
    // An import alone: each of its members is a head beside the others.
    for (size_t i = 0; s.ok() && i < first_native; ++i) s = meta::AdvanceHeads(db, {}, encoded[i].hash);
  } else if (s.ok()) {
    s = meta::AdvanceHeads(db, parents, encoded.back().hash);
  }
  // crsql_changes reads rows by db_version: only data events are recorded,
  // after any already recorded at that version (an alter's derived cells can
  // share the version of the transaction before it).
  for (size_t i = first_data; s.ok() && i < events.size(); ++i) {
    s = meta::AppendVersion(db, db_version, encoded[first_native + i].hash);
  }
  if (s.ok() && data_count > 0) s = meta::RecordVersionSites(db, db_version, {site_}, site_);
  if (s.ok() && import.has_value()) {
    for (size_t i = 0; s.ok() && i < first_native; ++i) s = meta::AppendVersion(db, import->db_version, encoded[i].hash);
    if (s.ok()) s = meta::RecordVersionSites(db, import->db_version, import->event.origins, site_);
  }
  if (!s.ok()) {
    log_->Discard(commit.events, log::Durability::kNoSync).IgnoreError();
    return s;
  }
  CrashPoint("commit-after-watermark");
  return commit;
}

absl::Status Replica::FinishCommit(const PendingCommit& commit) {
  CrashPoint("commit-before-publish");
  // SQLite committed a transaction that wrote (its watermark or heads), so
  // its frames overwrote any a killed writer left: what recovery set aside
  // can no longer turn out committed (ResolvePending).
  absl::Status s = log_->Publish(commit.events, log::Durability::kNoSync, /*forget_set_aside=*/true);
  if (s.ok()) feed_.Published(commit.events);
  return s;
}

absl::Status Replica::AbortCommit(const PendingCommit& commit) {
  return log_->Discard(commit.events, log::Durability::kNoSync);
}

}  // namespace crlog::engine
