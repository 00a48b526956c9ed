// The fold (engine/fold.h).
#include "engine/fold.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/meta_tables.h"
#include "engine/row_clock.h"
#include "engine/sql.h"
#include "engine/table_desc.h"
#include "log/row_codec.h"
#include "log/strings.h"
#include "merge/lww.h"
#include "schema/packed_pk.h"
#include "schema/sql_quote.h"
#include "schema/table_info.h"

namespace crlog::engine {

struct Fold::State {
  sqlite3* db = nullptr;
  FoldOptions options;
  FoldStats stats;
  meta::Watermark watermark;
  uint64_t next_cell_seq = 0;
  Stmt read_clock, write_clock;
  absl::flat_hash_map<std::string, Stmt> statements;  // by SQL text

  struct Table {
    bool replicated = false;
    int64_t id = 0;
    TableDesc desc;
    std::string where_pk;  // "a"=?1 AND "b"=?2
  };
  absl::flat_hash_map<std::string, Table> tables;
  absl::flat_hash_map<log::SiteId, uint32_t> ordinals;
  absl::flat_hash_map<uint32_t, log::SiteId> sites;

  absl::StatusOr<Stmt*> Statement(const std::string& sql) {
    auto it = statements.find(sql);
    if (it != statements.end()) return &it->second;
    auto stmt = Stmt::Prepare(db, sql);
    if (!stmt.ok()) return stmt.status();
    return &statements.emplace(sql, *std::move(stmt)).first->second;
  }

  absl::StatusOr<const Table*> TableFor(const std::string& name) {
    auto it = tables.find(name);
    if (it != tables.end()) return &it->second;
    Table t;
    auto id = Stmt::Prepare(db, "SELECT id FROM main.crlog_tables WHERE name = ?1");
    if (!id.ok()) return id.status();
    id->BindText(1, name);
    auto row = id->Step();
    if (!row.ok()) return row.status();
    if (*row) {
      t.replicated = true;
      t.id = id->ColumnInt(0);
      auto info = schema::ReadTableInfo(db, "main", name);
      if (!info.ok()) return info.status();
      t.desc.id = t.id;
      t.desc.name = info->name;
      for (int i : info->pk) t.desc.pk_columns.push_back(info->columns[i].name);
      for (int i : info->non_pk) t.desc.columns.push_back(info->columns[i].name);
      std::vector<std::string> terms;
      for (size_t i = 0; i < t.desc.pk_columns.size(); ++i) {
        terms.push_back(absl::StrCat(schema::QuoteIdentifier(t.desc.pk_columns[i]), " = ?", i + 1));
      }
      t.where_pk = absl::StrJoin(terms, " AND ");
    }
    return &tables.emplace(name, std::move(t)).first->second;
  }

  absl::StatusOr<uint32_t> Ordinal(const log::SiteId& site) {
    if (site == options.local_site) return 0;
    if (auto it = ordinals.find(site); it != ordinals.end()) return it->second;
    auto ins = Stmt::Prepare(db, "INSERT INTO main.crlog_sites(site) VALUES (?1) RETURNING ordinal");
    if (!ins.ok()) return ins.status();
    ins->BindBlob(1, log::AsBytes(site));
    auto row = ins->Step();
    if (!row.ok()) return row.status();
    auto ordinal = static_cast<uint32_t>(ins->ColumnInt(0));
    ins->Reset();
    ordinals[site] = ordinal;
    sites[ordinal] = site;
    return ordinal;
  }

  const log::SiteId& SiteOf(uint32_t ordinal) {
    if (ordinal == 0) return options.local_site;
    return sites[ordinal];
  }

  // Writes `cells` (current column index -> value) to the row, creating it if
  // needed: INSERT ... ON CONFLICT (pk) DO UPDATE.
  absl::Status Upsert(const Table& t, const std::vector<Value>& pk,
                      const std::map<int, const Value*>& cells) {
    std::vector<std::string> cols, marks, sets;
    int n = 0;
    for (const std::string& c : t.desc.pk_columns) {
      cols.push_back(schema::QuoteIdentifier(c));
      marks.push_back(absl::StrCat("?", ++n));
    }
    for (const auto& [index, value] : cells) {
      std::string q = schema::QuoteIdentifier(t.desc.columns[index]);
      cols.push_back(q);
      marks.push_back(absl::StrCat("?", ++n));
      sets.push_back(absl::StrCat(q, " = excluded.", q));
    }
    std::vector<std::string> pk_cols(cols.begin(), cols.begin() + t.desc.pk_columns.size());
    std::string sql = absl::StrCat("INSERT INTO main.", schema::QuoteIdentifier(t.desc.name), " (",
                                   absl::StrJoin(cols, ", "), ") VALUES (", absl::StrJoin(marks, ", "),
                                   ") ON CONFLICT (", absl::StrJoin(pk_cols, ", "), ") DO ",
                                   sets.empty() ? "NOTHING" : absl::StrCat("UPDATE SET ", absl::StrJoin(sets, ", ")));
    auto stmt = Statement(sql);
    if (!stmt.ok()) return stmt.status();
    int i = 0;
    for (const Value& v : pk) (*stmt)->BindValue(++i, v);
    for (const auto& [index, value] : cells) (*stmt)->BindValue(++i, *value);
    return (*stmt)->Run();
  }

  absl::Status Delete(const Table& t, const std::vector<Value>& pk) {
    auto stmt = Statement(absl::StrCat("DELETE FROM main.", schema::QuoteIdentifier(t.desc.name),
                                       " WHERE ", t.where_pk));
    if (!stmt.ok()) return stmt.status();
    for (size_t i = 0; i < pk.size(); ++i) (*stmt)->BindValue(static_cast<int>(i + 1), pk[i]);
    return (*stmt)->Run();
  }

  absl::StatusOr<Value> CurrentValue(const Table& t, const std::vector<Value>& pk, int column) {
    auto stmt = Statement(absl::StrCat("SELECT ", schema::QuoteIdentifier(t.desc.columns[column]),
                                       " FROM main.", schema::QuoteIdentifier(t.desc.name), " WHERE ",
                                       t.where_pk));
    if (!stmt.ok()) return stmt.status();
    for (size_t i = 0; i < pk.size(); ++i) (*stmt)->BindValue(static_cast<int>(i + 1), pk[i]);
    auto row = (*stmt)->Step();
    Value v;
    if (!row.ok()) return row.status();
    if (*row) v = (*stmt)->ColumnValue(0);
    (*stmt)->Reset();
    return v;
  }
};

Fold::~Fold() {
  if (state_ && state_->options.set_sync_bit) {
    Exec(state_->db, "SELECT crsql_internal_sync_bit(0)").IgnoreError();
  }
}

const FoldStats& Fold::stats() const { return state_->stats; }

absl::StatusOr<std::unique_ptr<Fold>> Fold::Begin(sqlite3* db, const FoldOptions& options) {
  std::unique_ptr<Fold> fold(new Fold());
  fold->state_ = std::make_unique<State>();
  State& s = *fold->state_;
  s.db = db;
  s.options = options;
  auto w = meta::ReadWatermark(db);
  if (!w.ok()) return w.status();
  s.watermark = *w;
  auto read = Stmt::Prepare(db, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2");
  if (!read.ok()) return read.status();
  auto write = Stmt::Prepare(db, "INSERT OR REPLACE INTO main.crlog_clock(tbl, pk, clock) VALUES (?1, ?2, ?3)");
  if (!write.ok()) return write.status();
  s.read_clock = *std::move(read);
  s.write_clock = *std::move(write);
  auto sites = Stmt::Prepare(db, "SELECT ordinal, site FROM main.crlog_sites");
  if (!sites.ok()) return sites.status();
  while (true) {
    auto row = sites->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto ordinal = static_cast<uint32_t>(sites->ColumnInt(0));
    log::SiteId site = log::ToArray<16>(sites->ColumnBlob(1));
    s.ordinals[site] = ordinal;
    s.sites[ordinal] = site;
  }
  if (options.set_sync_bit) {
    if (absl::Status st = Exec(db, "SELECT crsql_internal_sync_bit(1)"); !st.ok()) return st;
  }
  return fold;
}

absl::Status Fold::Apply(const log::Hash& hash, const log::Event& e) {
  State& s = *state_;
  // The members of an event group are one transaction: one db_version, one
  // run of seqs.
  const bool continues_group = e.group.grouped() && e.group.index > 0;
  // Events without rows (schema changes, policies...) consume no db_version,
  // as in capture.
  const bool has_rows = !e.tables.empty();
  const uint64_t db_version = s.watermark.db_version + (continues_group || !has_rows ? 0 : 1);
  const bool with_origins = e.kind == log::EventKind::kImport;
  uint64_t& cell_seq = s.next_cell_seq;
  if (!continues_group) cell_seq = 0;
  for (const log::TableChanges& tc : e.tables) {
    auto table = s.TableFor(tc.table);
    if (!table.ok()) return table.status();
    const State::Table& t = **table;
    if (!t.replicated) continue;
    // The event names columns; the table may have renamed or dropped some.
    std::vector<int> column_map;
    for (const std::string& c : tc.columns) column_map.push_back(t.desc.ColumnIndex(c));
    log::RowsReader reader(tc.rows, with_origins);
    log::RowOp op;
    while (!reader.done()) {
      if (absl::Status st = reader.Next(tc.columns.size(), &op); !st.ok()) return st;
      ++s.stats.rows;
      auto pk = schema::UnpackColumns(op.pk);
      if (!pk.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("event ", log::ShortHex(hash), ", table '", tc.table,
                                                       "': ", pk.status().message()));
      }
      if (pk->size() != t.desc.pk_columns.size()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", log::ShortHex(hash), ", table '", tc.table, "': a pk of ", pk->size(),
            " columns for a table whose pk has ", t.desc.pk_columns.size()));
      }
      s.read_clock.BindInt(1, t.id);
      s.read_clock.BindBlob(2, op.pk);
      auto found = s.read_clock.Step();
      if (!found.ok()) return found.status();
      absl::StatusOr<RowClock> clock = RowClock{};
      if (*found) clock = RowClock::Decode(s.read_clock.ColumnBlob(0));
      s.read_clock.Reset();
      if (!clock.ok()) return clock.status();

      auto site_of = [&](const log::CellOp* cell) -> absl::StatusOr<uint32_t> {
        if (!with_origins) return s.Ordinal(e.site);
        if (cell == nullptr || cell->origin >= e.origins.size()) return s.Ordinal(e.site);
        return s.Ordinal(e.origins[cell->origin]);
      };
      auto row_site = site_of(op.cells.empty() ? nullptr : &op.cells.front());
      if (!row_site.ok()) return row_site.status();

      std::map<int, const Value*> writes;
      bool changed = false;
      switch (merge::DecideRow(clock->cl, op.causal_length)) {
        case merge::RowAction::kIgnore:
        case merge::RowAction::kNothing:
          break;
        case merge::RowAction::kDelete:
          if (absl::Status st = s.Delete(t, *pk); !st.ok()) return st;
          clock->cl = op.causal_length;
          clock->cells.clear();
          clock->has_sentinel = true;
          clock->sentinel = CellClock{0, clock->cl, db_version, *row_site, cell_seq++};
          changed = true;
          break;
        case merge::RowAction::kResurrect:
          clock->cl = op.causal_length;
          clock->cells.clear();
          if (op.cells.empty() || clock->has_sentinel) {
            clock->has_sentinel = true;
            clock->sentinel = CellClock{0, clock->cl, db_version, *row_site, cell_seq++};
          }
          for (const log::CellOp& cell : op.cells) {
            int column = column_map[cell.column];
            if (column < 0) continue;
            auto site = site_of(&cell);
            if (!site.ok()) return site.status();
            clock->Upsert(column) = CellClock{static_cast<uint32_t>(column), cell.version, db_version, *site, cell_seq++};
            writes[column] = &cell.value;
          }
          if (absl::Status st = s.Upsert(t, *pk, writes); !st.ok()) return st;
          changed = true;
          break;
        case merge::RowAction::kMergeCells:
          for (const log::CellOp& cell : op.cells) {
            int column = column_map[cell.column];
            if (column < 0) continue;
            auto site = site_of(&cell);
            if (!site.ok()) return site.status();
            const CellClock* local = clock->Find(column);
            bool wins;
            if (local == nullptr || local->col_version != cell.version) {
              wins = local == nullptr || cell.version > local->col_version;
            } else {
              auto current = s.CurrentValue(t, *pk, column);
              if (!current.ok()) return current.status();
              const log::SiteId& local_site = s.SiteOf(local->site);
              const log::SiteId& incoming_site = with_origins && cell.origin < e.origins.size()
                                                     ? e.origins[cell.origin] : e.site;
              wins = merge::IncomingWins(
                  merge::CellState{local->col_version, &*current, log::AsBytes(local_site)},
                  merge::CellState{cell.version, &cell.value, log::AsBytes(incoming_site)},
                  s.options.merge_equal_values);
            }
            if (!wins) continue;
            clock->Upsert(column) = CellClock{static_cast<uint32_t>(column), cell.version, db_version, *site, cell_seq++};
            writes[column] = &cell.value;
          }
          if (!writes.empty()) {
            if (absl::Status st = s.Upsert(t, *pk, writes); !st.ok()) return st;
            changed = true;
          }
          break;
      }
      if (!changed) continue;
      s.stats.cells_written += writes.size();
      s.write_clock.BindInt(1, t.id);
      s.write_clock.BindBlob(2, op.pk);
      s.write_clock.BindBlob(3, clock->Encode());
      if (absl::Status st = s.write_clock.Run(); !st.ok()) return st;
    }
  }
  s.watermark.db_version = db_version;
  if (e.is_native() && e.site == s.options.local_site) {
    s.watermark.seq = e.seq;
    s.watermark.hash = hash;
  }
  if (has_rows) {
    absl::Status st = meta::RecordVersion(s.db, db_version, continues_group ? e.group.index : 0, hash);
    if (!st.ok()) return st;
  }
  if (absl::Status st = meta::AdvanceHeads(s.db, e.parents, hash); !st.ok()) return st;
  if (absl::Status st = meta::WriteWatermark(s.db, s.watermark); !st.ok()) return st;
  ++s.stats.events;
  return absl::OkStatus();
}

}  // namespace crlog::engine
