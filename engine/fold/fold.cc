// The fold (engine/fold/fold.h).
#include "engine/fold/fold.h"

#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "engine/replica/meta_tables.h"
#include "engine/replica/site_ordinals.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "engine/replica/table_desc.h"
#include "log/hash.h"
#include "log/row_codec.h"
#include "util/strings.h"
#include "merge/cell_decision.h"
#include "merge/lww.h"
#include "schema/affinity.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"
#include "schema/where_pk.h"

namespace crlog::engine {
namespace {

// One incoming cell of a row being merged.
struct InCell {
  int column = -1;          // index among the table's non-pk columns; -1: unknown here
  std::string_view name;    // the column's name as the sender spelled it
  uint64_t version = 0;
  const Value* value = nullptr;
  const log::SiteId* site = nullptr;
  uint64_t seq = 0;         // ignored when the fold numbers cells itself
  bool accepted = false;    // out
};

}  // namespace

struct Fold::State {
  sqlite3* db = nullptr;
  FoldOptions options;
  FoldStats stats;
  meta::Watermark watermark;
  uint64_t next_cell_seq = 0;
  sqlite::Stmt read_clock, insert_clock, update_clock, stash, conflict;
  absl::flat_hash_map<std::string, sqlite::Stmt> statements;  // by key (see UpsertStmt)

  struct Table {
    bool replicated = false;
    int64_t id = 0;
    TableDesc desc;
    std::vector<schema::Affinity> pk_affinity;  // pk order
    std::string where_pk;  // "a"=?1 AND "b"=?2
    // The table had no clock rows when the fold first met it (a replica
    // taking in its first copy): a row the fold has not touched has no
    // clock, and reading it would only miss.
    bool started_empty = false;
    absl::flat_hash_set<std::string> touched;
  };
  // Node-based: the cached row and callers hold Table pointers across inserts.
  absl::node_hash_map<std::string, Table> tables;
  std::optional<SiteOrdinals> sites;  // set by Begin

  // The clock of the row merged last, written back when another row comes
  // (changes of one row usually arrive together) or on Flush.
  struct CachedRow {
    const Table* table = nullptr;
    std::string pk;
    std::vector<Value> pk_values;
    RowClock clock;
    bool stored = false;  // crlog_clock has a row for it
    bool dirty = false;
  };
  std::optional<CachedRow> cached;
  std::optional<Fold::RefusedRow> refused;

  // Sets the sync bit for the duration of a table write.
  class SyncScope {
   public:
    explicit SyncScope(int64_t* bit) : bit_(bit), old_(bit ? *bit : 0) {
      if (bit_) *bit_ = 1;
    }
    ~SyncScope() {
      if (bit_) *bit_ = old_;
    }

   private:
    int64_t* bit_;
    int64_t old_;
  };

  absl::StatusOr<sqlite::Stmt*> Statement(const std::string& key, const std::string& sql) {
    auto it = statements.find(key);
    if (it != statements.end()) return &it->second;
    auto stmt = sqlite::Stmt::Prepare(db, sql);
    if (!stmt.ok()) return stmt.status();
    return &statements.emplace(key, *std::move(stmt)).first->second;
  }

  absl::StatusOr<Table*> TableFor(std::string_view name) {
    auto it = tables.find(Sv(name));
    if (it != tables.end()) return &it->second;
    Table t;
    auto id = sqlite::Stmt::Prepare(db, "SELECT id FROM main.crlog_tables WHERE name = ?1");
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
      for (int i : info->pk) {
        t.desc.pk_columns.push_back(info->columns[i].name);
        t.pk_affinity.push_back(schema::AffinityOf(info->columns[i].declared_type));
      }
      for (int i : info->non_pk) t.desc.columns.push_back(info->columns[i].name);
      t.where_pk = schema::WherePk(t.desc.pk_columns);
      auto any = sqlite::Stmt::Prepare(db, "SELECT 1 FROM main.crlog_clock WHERE tbl = ?1 LIMIT 1");
      if (!any.ok()) return any.status();
      any->BindInt(1, t.id);
      auto has_rows = any->Step();
      if (!has_rows.ok()) return has_rows.status();
      t.started_empty = !*has_rows;
    }
    return &tables.emplace(std::string(name), std::move(t)).first->second;
  }

  void BindPk(sqlite::Stmt* stmt, const std::vector<Value>& pk) {
    for (size_t i = 0; i < pk.size(); ++i) stmt->BindValue(static_cast<int>(i + 1), pk[i]);
  }

  // Writes `cells` to the row, creating it if needed: INSERT ... ON CONFLICT
  // (pk) DO UPDATE. One prepared statement per table and column set.
  absl::Status Upsert(const Table& t, const std::vector<Value>& pk, absl::Span<const InCell* const> cells) {
    std::string key = absl::StrCat("u", t.id);
    for (const InCell* c : cells) absl::StrAppend(&key, ",", c->column);
    auto it = statements.find(key);
    sqlite::Stmt* stmt;
    if (it != statements.end()) {
      stmt = &it->second;
    } else {
      std::vector<std::string> cols, marks, sets;
      int n = 0;
      for (const std::string& c : t.desc.pk_columns) {
        cols.push_back(sqlite::QuoteIdentifier(c));
        marks.push_back(absl::StrCat("?", ++n));
      }
      for (const InCell* cell : cells) {
        std::string q = sqlite::QuoteIdentifier(t.desc.columns[cell->column]);
        cols.push_back(q);
        marks.push_back(absl::StrCat("?", ++n));
        sets.push_back(absl::StrCat(q, " = excluded.", q));
      }
      std::vector<std::string> pk_cols(cols.begin(), cols.begin() + t.desc.pk_columns.size());
      std::string sql = absl::StrCat(
          "INSERT INTO main.", sqlite::QuoteIdentifier(t.desc.name), " (", absl::StrJoin(cols, ", "),
          ") VALUES (", absl::StrJoin(marks, ", "), ") ON CONFLICT (", absl::StrJoin(pk_cols, ", "), ") DO ",
          sets.empty() ? "NOTHING" : absl::StrCat("UPDATE SET ", absl::StrJoin(sets, ", ")));
      auto prepared = Statement(key, sql);
      if (!prepared.ok()) return prepared.status();
      stmt = *prepared;
    }
    BindPk(stmt, pk);
    int i = static_cast<int>(pk.size());
    for (const InCell* cell : cells) stmt->BindValue(++i, *cell->value);
    SyncScope sync(options.sync_bit);
    return stmt->Run();
  }

  absl::Status Delete(const Table& t, const std::vector<Value>& pk) {
    auto stmt = Statement(absl::StrCat("d", t.id), absl::StrCat("DELETE FROM main.", sqlite::QuoteIdentifier(t.desc.name),
                                                               " WHERE ", t.where_pk));
    if (!stmt.ok()) return stmt.status();
    BindPk(*stmt, pk);
    SyncScope sync(options.sync_bit);
    return (*stmt)->Run();
  }

  absl::StatusOr<Value> CurrentValue(const Table& t, const std::vector<Value>& pk, int column) {
    auto stmt = Statement(absl::StrCat("r", t.id, ",", column),
                          absl::StrCat("SELECT ", sqlite::QuoteIdentifier(t.desc.columns[column]), " FROM main.",
                                       sqlite::QuoteIdentifier(t.desc.name), " WHERE ", t.where_pk));
    if (!stmt.ok()) return stmt.status();
    BindPk(*stmt, pk);
    auto row = (*stmt)->Step();
    Value v;
    if (!row.ok()) return row.status();
    if (*row) v = (*stmt)->ColumnValue(0);
    (*stmt)->Reset();
    return v;
  }

  absl::Status WriteCached() {
    if (!cached || !cached->dirty) return absl::OkStatus();
    // INSERT or UPDATE, not INSERT OR REPLACE: a REPLACE may delete, which
    // makes SQLite open a statement journal for every clock write.
    sqlite::Stmt& write = cached->stored ? update_clock : insert_clock;
    write.BindInt(1, cached->table->id);
    write.BindBlob(2, cached->pk);
    write.BindBlob(3, cached->clock.Encode());
    if (absl::Status s = write.Run(); !s.ok()) return s;
    cached->stored = true;
    cached->dirty = false;
    return absl::OkStatus();
  }

  // The clock of (t, pk), cached. `pk_values` is the unpacked pk when the
  // caller has it already.
  absl::StatusOr<CachedRow*> Row(Table& t, std::string_view pk, const std::string& context) {
    if (cached && cached->table == &t && cached->pk == pk) return &*cached;
    if (absl::Status s = WriteCached(); !s.ok()) return s;
    auto values = schema::UnpackColumns(pk);
    if (!values.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(context, "table '", t.desc.name, "': the pk blob is malformed: ", values.status().message()));
    }
    if (values->size() != t.desc.pk_columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          context, "table '", t.desc.name, "': a pk of ", values->size(), " columns for a table whose pk has ",
          t.desc.pk_columns.size(), " (", absl::StrJoin(t.desc.pk_columns, ", "), ")"));
    }
    // A pk the table would store otherwise than it arrived (NULL becomes a
    // new rowid; '2' in an INTEGER column becomes 2) would give the row a
    // second identity that never replicates as the first.
    for (size_t i = 0; i < values->size(); ++i) {
      const Value& v = (*values)[i];
      if (v.type == ValueType::kNull) {
        return absl::InvalidArgumentError(absl::StrCat(context, "table '", t.desc.name, "': pk column '",
                                                       t.desc.pk_columns[i],
                                                       "' is NULL; a replicated row's pk is never NULL"));
      }
      if (schema::AffinityConverts(t.pk_affinity[i], v)) {
        return absl::InvalidArgumentError(absl::StrCat(
            context, "table '", t.desc.name, "': pk column '", t.desc.pk_columns[i], "' (", 
            schema::AffinityName(t.pk_affinity[i]), " affinity) is given ", ValueToString(v),
            ", which the table would store as another type; pack the pk as the table stores it"));
      }
    }
    absl::StatusOr<bool> found = false;
    absl::StatusOr<RowClock> clock = RowClock{};
    if (!t.started_empty || !t.touched.insert(std::string(pk)).second) {
      read_clock.BindInt(1, t.id);
      read_clock.BindBlob(2, pk);
      found = read_clock.Step();
      if (!found.ok()) return found.status();
      if (*found) clock = RowClock::Decode(read_clock.ColumnBlob(0));
      read_clock.Reset();
      if (!clock.ok()) return clock.status();
    }
    cached = CachedRow{};  // not emplace(): clang 14 sees no default constructor
    cached->stored = *found;
    cached->table = &t;
    cached->pk = std::string(pk);
    cached->pk_values = *std::move(values);
    cached->clock = *std::move(clock);
    return &*cached;
  }

  // Keeps a change to a column the table lacks, the greatest per cell.
  absl::StatusOr<bool> Stash(const Table& t, std::string_view pk, const InCell& cell, uint64_t cl) {
    stash.BindText(1, t.desc.name);
    stash.BindBlob(2, pk);
    stash.BindText(3, cell.name);
    stash.BindValue(4, *cell.value);
    stash.BindInt(5, static_cast<int64_t>(cell.version));
    stash.BindBlob(6, log::AsBytes(*cell.site));
    stash.BindInt(7, static_cast<int64_t>(cl));
    stash.BindInt(8, static_cast<int64_t>(cell.seq));
    if (absl::Status s = stash.Run(); !s.ok()) return s;
    bool changed = sqlite3_changes(db) > 0;
    if (changed) ++stats.stashed;
    return changed;
  }

  absl::Status RecordConflict(const Table& t, std::string_view pk, int column, uint64_t db_version,
                              uint64_t col_version, const log::SiteId& winner_site, const Value& winner,
                              const log::SiteId& loser_site, const Value& loser) {
    conflict.BindText(1, t.desc.name);
    conflict.BindBlob(2, pk);
    conflict.BindText(3, t.desc.columns[column]);
    conflict.BindInt(4, static_cast<int64_t>(db_version));
    conflict.BindInt(5, static_cast<int64_t>(col_version));
    conflict.BindBlob(6, log::AsBytes(winner_site));
    conflict.BindValue(7, winner);
    conflict.BindBlob(8, log::AsBytes(loser_site));
    conflict.BindValue(9, loser);
    ++stats.conflicts;
    return conflict.Run();
  }

  // Merges one incoming row state (causal length `cl`, existence entry
  // written by `row_site` at `row_seq`, and `cells`) into (t, pk) at
  // `db_version`. With `number_cells`, accepted cells get the fold's own
  // running seq (native events); otherwise they keep theirs. Returns whether
  // anything changed; marks accepted cells.
  absl::StatusOr<bool> MergeRow(Table& t, std::string_view pk, uint64_t cl, const log::SiteId& row_site,
                                uint64_t row_seq, bool has_entry, absl::Span<InCell> cells, uint64_t db_version,
                                bool number_cells, const std::string& context) {
    ++stats.rows;
    auto cached_row = Row(t, pk, context);
    if (!cached_row.ok()) return cached_row.status();
    CachedRow& row = **cached_row;
    RowClock& clock = row.clock;
    auto next_seq = [&](uint64_t given) { return number_cells ? next_cell_seq++ : given; };

    std::vector<const InCell*> writes;
    bool changed = false;
    auto accept = [&](InCell& cell) -> absl::Status {
      auto site = sites->Intern(*cell.site);
      if (!site.ok()) return site.status();
      clock.Upsert(cell.column) =
          CellClock{static_cast<uint32_t>(cell.column), cell.version, db_version, *site, next_seq(cell.seq)};
      cell.accepted = true;
      writes.push_back(&cell);
      return absl::OkStatus();
    };
    auto stash_unknown = [&](InCell& cell) -> absl::Status {
      auto stashed = Stash(t, pk, cell, cl);
      if (!stashed.ok()) return stashed.status();
      cell.accepted = *stashed;
      changed |= *stashed;
      return absl::OkStatus();
    };
    auto set_sentinel = [&]() -> absl::Status {
      auto site = sites->Intern(row_site);
      if (!site.ok()) return site.status();
      clock.has_sentinel = true;
      clock.sentinel = CellClock{0, clock.cl, db_version, *site, next_seq(row_seq)};
      return absl::OkStatus();
    };

    switch (merge::DecideRow(clock.cl, cl)) {
      case merge::RowAction::kIgnore:
      case merge::RowAction::kNothing:
        return false;
      case merge::RowAction::kDelete: {
        if (absl::Status s = Delete(t, row.pk_values); !s.ok()) return s;
        clock.cl = cl;
        clock.cells.clear();
        if (absl::Status s = set_sentinel(); !s.ok()) return s;
        row.dirty = true;
        return true;
      }
      case merge::RowAction::kResurrect: {
        // A live row's cells keep their values but lose their versions, as
        // in cr-sqlite: each stays listed (so a peer that takes the new life
        // from this replica gets the values) at column version 0, which any
        // real write beats, under its writer's site and seq as cr-sqlite
        // keeps them (naming this replica instead made the listing differ
        // from replica to replica).
        std::vector<CellClock> zeroed;
        if (clock.alive()) {
          for (const CellClock& c : clock.cells) {
            zeroed.push_back(CellClock{c.column, 0, db_version, c.site, c.seq});
          }
        }
        clock.cl = cl;
        clock.cells = std::move(zeroed);
        clock.has_sentinel = false;
        // As in cr-sqlite, a row has an existence entry once it has been
        // deleted (so on every later life), always in a table whose columns
        // are all pk, and in a first life when the incoming state carries
        // one (a '-1' change; the new key of a pk-changing UPDATE).
        if (cl > 1 || t.desc.columns.empty() || has_entry) {
          if (absl::Status s = set_sentinel(); !s.ok()) return s;
        }
        for (InCell& cell : cells) {
          absl::Status s = cell.column < 0 ? stash_unknown(cell) : accept(cell);
          if (!s.ok()) return s;
        }
        if (absl::Status s = Upsert(t, row.pk_values, writes); !s.ok()) return s;
        stats.cells_written += writes.size();
        row.dirty = true;
        return true;
      }
      case merge::RowAction::kMergeCells:
        // A first life that met a first-life existence entry (the same key
        // created on two replicas, one by a pk move) takes the entry, so
        // every replica lists it whatever the order of arrival. cr-sqlite
        // ignores it (docs/sql.md, differences).
        if (has_entry && cl == 1 && !clock.has_sentinel && !t.desc.columns.empty()) {
          if (absl::Status s = set_sentinel(); !s.ok()) return s;
          row.dirty = true;
          changed = true;
        }
        for (InCell& cell : cells) {
          if (cell.column < 0) {
            if (absl::Status s = stash_unknown(cell); !s.ok()) return s;
            continue;
          }
          // The decision is merge/'s; the fold reads what it asks for (the
          // table's value only on a column-version tie) and applies it.
          const CellClock* local = clock.Find(cell.column);
          const merge::CellState incoming{cell.version, cell.value, log::AsBytes(*cell.site)};
          std::optional<merge::CellState> local_state;
          log::SiteId local_site{};
          Value current;
          if (local != nullptr) {
            auto site = sites->Site(local->site);
            if (!site.ok()) return site.status();
            local_site = site->value_or(log::SiteId{});
            local_state = merge::CellState{local->col_version, nullptr, log::AsBytes(local_site)};
            if (merge::NeedsLocalValue(&*local_state, incoming, options.rules)) {
              auto read = CurrentValue(t, row.pk_values, cell.column);
              if (!read.ok()) return read.status();
              current = *std::move(read);
              local_state->value = &current;
            }
          }
          const merge::CellDecision decision =
              merge::DecideCell(local_state ? &*local_state : nullptr, incoming, options.rules);
          if (decision.conflict) {
            absl::Status s = decision.take ? RecordConflict(t, pk, cell.column, db_version, cell.version,
                                                            *cell.site, *cell.value, local_site, current)
                                           : RecordConflict(t, pk, cell.column, db_version, cell.version,
                                                            local_site, current, *cell.site, *cell.value);
            if (!s.ok()) return s;
          }
          if (!decision.take) continue;
          if (absl::Status s = accept(cell); !s.ok()) return s;
        }
        if (!writes.empty()) {
          if (absl::Status s = Upsert(t, row.pk_values, writes); !s.ok()) return s;
          stats.cells_written += writes.size();
          row.dirty = true;
          changed = true;
        }
        return changed;
    }
    return false;
  }
};

Fold::~Fold() {
  if (state_ && state_->options.set_sync_bit && state_->options.sync_bit == nullptr) {
    sqlite::Exec(state_->db, "SELECT crsql_internal_sync_bit(0)").IgnoreError();
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
  struct {
    sqlite::Stmt* stmt;
    const char* sql;
  } prepared[] = {
      {&s.read_clock, "SELECT clock FROM main.crlog_clock WHERE tbl = ?1 AND pk = ?2"},
      {&s.insert_clock, "INSERT INTO main.crlog_clock(tbl, pk, clock) VALUES (?1, ?2, ?3)"},
      {&s.update_clock, "UPDATE main.crlog_clock SET clock = ?3 WHERE tbl = ?1 AND pk = ?2"},
      {&s.stash,
       "INSERT INTO main.crlog_stash(tbl, pk, cid, val, col_version, site, cl, seq) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (tbl, pk, cid) DO UPDATE SET "
       "val = excluded.val, col_version = excluded.col_version, site = excluded.site, cl = excluded.cl, "
       "seq = excluded.seq WHERE excluded.cl > cl OR (excluded.cl = cl AND excluded.col_version > col_version)"},
      {&s.conflict,
       "INSERT INTO main.crlog_conflicts(tbl, pk, cid, db_version, col_version, winner_site, winner_value, "
       "loser_site, loser_value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
  };
  for (auto& p : prepared) {
    auto stmt = sqlite::Stmt::Prepare(db, p.sql);
    if (!stmt.ok()) return stmt.status();
    *p.stmt = *std::move(stmt);
  }
  s.sites.emplace(db, options.local_site);
  if (absl::Status st = s.sites->Load(); !st.ok()) return st;
  if (options.set_sync_bit && options.sync_bit == nullptr) {
    if (absl::Status st = sqlite::Exec(db, "SELECT crsql_internal_sync_bit(1)"); !st.ok()) return st;
  }
  return fold;
}

absl::Status Fold::Flush() { return state_->WriteCached(); }

const std::optional<Fold::RefusedRow>& Fold::refused_row() const { return state_->refused; }

absl::Status Fold::Restart(const FoldStats& stats) {
  Forget();
  state_->refused.reset();
  state_->stats = stats;
  state_->next_cell_seq = 0;
  auto w = meta::ReadWatermark(state_->db);
  if (!w.ok()) return w.status();
  state_->watermark = *w;
  return absl::OkStatus();
}

void Fold::Forget() {
  state_->cached.reset();
  state_->tables.clear();
  state_->statements.clear();
  state_->sites->Load().IgnoreError();
}

absl::StatusOr<ChangeOutcome> Fold::MergeChange(const IncomingChange& c, uint64_t db_version) {
  State& s = *state_;
  auto table = s.TableFor(c.table);
  if (!table.ok()) return table.status();
  State::Table& t = **table;
  if (!t.replicated) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crsql_changes: table '", Sv(c.table), "' is not replicated here (no such table, or "
        "crsql_as_crr was not called for it); create it and call crsql_as_crr('", Sv(c.table), "') first"));
  }
  InCell cell;
  absl::Span<InCell> cells;
  if (c.cid != "-1") {
    cell.column = t.desc.ColumnIndex(c.cid);
    if (cell.column < 0) {
      for (const std::string& pk_col : t.desc.pk_columns) {
        if (pk_col == c.cid) {
          return absl::InvalidArgumentError(absl::StrCat(
              "crsql_changes: table '", t.desc.name, "', cid '", Sv(c.cid),
              "' is a primary-key column; a change names a non-pk column, or '-1' for the row"));
        }
      }
    }
    cell.name = c.cid;
    cell.version = c.col_version;
    cell.value = c.value;
    cell.site = &c.site;
    cell.seq = c.seq;
    cells = absl::MakeSpan(&cell, 1);
  }
  auto changed = s.MergeRow(t, c.pk, c.cl, c.site, c.seq, /*has_entry=*/c.cid == "-1", cells, db_version,
                            /*number_cells=*/false,
                            "crsql_changes: ");
  if (!changed.ok()) return changed.status();
  ChangeOutcome out;
  out.changed = *changed;
  out.stashed = *changed && !cells.empty() && cell.column < 0;
  return out;
}

absl::Status Fold::Apply(const log::Hash& hash, const log::Event& e) {
  State& s = *state_;
  s.refused.reset();
  // The members of an event group are one transaction: one db_version, one
  // run of seqs.
  const bool continues_group = e.group.grouped() && e.group.index > 0;
  // Events without rows (schema changes, policies...) consume no db_version,
  // as in capture.
  const bool has_rows = !e.tables.empty();
  const uint64_t db_version = s.watermark.db_version + (continues_group || !has_rows ? 0 : 1);
  const bool is_import = e.kind == log::EventKind::kImport;
  if (!continues_group) s.next_cell_seq = 0;
  const std::string context = absl::StrCat("event ", log::ShortHex(hash), ", ");
  std::vector<InCell> cells;
  for (const log::TableChanges& tc : e.tables) {
    auto table = s.TableFor(tc.table);
    if (!table.ok()) return table.status();
    State::Table& t = **table;
    if (!t.replicated) continue;
    // The event names columns; the table may have renamed or dropped some.
    std::vector<int> column_map;
    for (const std::string& c : tc.columns) column_map.push_back(t.desc.ColumnIndex(c));
    log::RowsReader reader(tc.rows, is_import);
    log::RowOp op;
    while (!reader.done()) {
      if (absl::Status st = reader.Next(tc.columns.size(), &op); !st.ok()) return st;
      auto origin = [&](uint32_t index) -> const log::SiteId& {
        return is_import && index < e.origins.size() ? e.origins[index] : e.site;
      };
      cells.clear();
      for (const log::CellOp& c : op.cells) {
        InCell in;
        in.column = column_map[c.column];
        in.name = tc.columns[c.column];
        in.version = c.version;
        in.value = &c.value;
        in.site = &origin(c.origin);
        in.seq = c.seq;
        cells.push_back(in);
      }
      const bool has_entry = !tc.entries.empty() && tc.HasEntry(op.pk);
      auto changed = s.MergeRow(t, op.pk, op.causal_length, origin(op.origin), op.seq, has_entry,
                                absl::MakeSpan(cells), db_version, /*number_cells=*/!is_import, context);
      if (!changed.ok()) {
        s.refused = RefusedRow{tc.table, op.pk};
        // Name the row the tables refused (a CHECK or NOT NULL constraint, a
        // trigger of the application's), unless the message does already.
        const absl::Status& st = changed.status();
        if (absl::StrContains(st.message(), context)) return st;
        auto pk = schema::UnpackColumns(op.pk);
        return absl::Status(st.code(), absl::StrCat(context, "table '", tc.table, "', row ",
                                                    pk.ok() ? ValuesToString(*pk) : log::ToHex(op.pk), ": ",
                                                    st.message()));
      }
    }
  }
  if (absl::Status st = s.WriteCached(); !st.ok()) return st;
  s.watermark.db_version = db_version;
  if (e.is_native() && e.site == s.options.local_site && e.seq > s.watermark.seq) {
    s.watermark.seq = e.seq;
    s.watermark.hash = hash;
  }
  if (has_rows) {
    absl::Status st = meta::RecordVersion(s.db, db_version, continues_group ? e.group.index : 0, hash);
    if (st.ok()) {
      st = is_import ? meta::RecordVersionSites(s.db, db_version, e.origins, s.options.local_site)
                     : meta::RecordVersionSites(s.db, db_version, {e.site}, s.options.local_site);
    }
    if (!st.ok()) return st;
  }
  if (absl::Status st = meta::AdvanceHeads(s.db, e.parents, hash); !st.ok()) return st;
  if (absl::Status st = meta::WriteWatermark(s.db, s.watermark); !st.ok()) return st;
  ++s.stats.events;
  return absl::OkStatus();
}

}  // namespace crlog::engine
