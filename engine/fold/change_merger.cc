// INSERT INTO crsql_changes (engine/fold/change_merger.h).
#include "engine/fold/change_merger.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "engine/replica/meta_tables.h"
#include "log/row_codec.h"
#include "util/strings.h"

namespace crlog::engine {

absl::StatusOr<std::unique_ptr<ChangeMerger>> ChangeMerger::Begin(sqlite3* db, const MergeSettings& settings) {
  std::unique_ptr<ChangeMerger> m(new ChangeMerger());
  m->db_ = db;
  m->settings_ = settings;
  FoldOptions options;
  options.local_site = settings.local_site;
  options.rules = settings.rules;
  options.sync_bit = settings.sync_bit;
  auto fold = Fold::Begin(db, options);
  if (!fold.ok()) return fold.status();
  m->fold_ = *std::move(fold);
  auto w = meta::ReadWatermark(db);
  if (!w.ok()) return w.status();
  m->committed_db_version_ = w->db_version;
  return m;
}

absl::StatusOr<ChangeOutcome> ChangeMerger::Add(const IncomingChange& change, uint64_t incoming_db_version,
                                               uint64_t floor) {
  if (db_version_ == 0) {
    db_version_ = std::max({committed_db_version_ + 1, floor, incoming_db_version});
    max_db_version_ = db_version_;
  }
  auto outcome = fold_->MergeChange(change, db_version_);
  if (!outcome.ok()) return outcome.status();
  if (outcome->stashed && settings_.strict_columns) {
    return absl::InvalidArgumentError(absl::StrCat(
        "crsql_changes: table '", Sv(change.table), "' has no column '", Sv(change.cid),
        "' (crlog-strict-columns is on; turn it off to keep such changes until an alter adds the column)"));
  }
  max_db_version_ = std::max(max_db_version_, incoming_db_version);
  if (!outcome->changed) return outcome;
  ++rows_impacted_;
  Record(change);
  return outcome;
}

void ChangeMerger::Record(const IncomingChange& c) {
  Key key{std::string(c.table), std::string(c.pk)};
  auto it = accepted_.find(key);
  if (!marks_.empty()) {
    undo_.emplace_back(key, it == accepted_.end() ? std::nullopt : std::optional<AcceptedRow>(it->second));
  }
  if (it == accepted_.end()) it = accepted_.emplace(std::move(key), AcceptedRow{}).first;
  AcceptedRow& row = it->second;
  const bool row_entry = c.cid == "-1";
  if (row.cl != c.cl) {
    // A delete drops what was accepted for the old life. A new life of a
    // live row keeps its cells at column version 0, as the fold keeps them in
    // the table (fold.cc, kResurrect): the import must carry them, or the
    // log folds the row without values the database has.
    const bool resurrect = row.cl % 2 == 1 && c.cl % 2 == 1;
    if (resurrect) {
      for (auto& [name, cell] : row.cells) cell.col_version = 0;
    } else {
      row.cells.clear();
    }
    row.cl = c.cl;
    row.site = c.site;
    row.seq = c.seq;
    row.entry = false;
  }
  if (row_entry) {
    row.site = c.site;
    row.seq = c.seq;
    row.entry = true;
    return;
  }
  row.cells[std::string(c.cid)] = AcceptedCell{c.col_version, *c.value, c.site, c.seq};
}

absl::Status ChangeMerger::Flush() { return fold_->Flush(); }

absl::Status ChangeMerger::Savepoint(int level) {
  // The fold's cached clock belongs before the savepoint: write it, so a
  // ROLLBACK TO can simply forget the cache.
  if (absl::Status s = fold_->Flush(); !s.ok()) return s;
  while (!marks_.empty() && marks_.back().level >= level) marks_.pop_back();
  marks_.push_back(Mark{level, undo_.size(), rows_impacted_});
  return absl::OkStatus();
}

void ChangeMerger::Release(int level) {
  while (!marks_.empty() && marks_.back().level >= level) marks_.pop_back();
  if (marks_.empty()) undo_.clear();
}

void ChangeMerger::RollbackTo(int level) {
  auto it = std::find_if(marks_.begin(), marks_.end(), [&](const Mark& m) { return m.level >= level; });
  if (it == marks_.end()) return;
  Mark mark = *it;
  while (undo_.size() > mark.undo_size) {
    auto& [key, before] = undo_.back();
    if (before.has_value()) accepted_[key] = *std::move(before);
    else accepted_.erase(key);
    undo_.pop_back();
  }
  rows_impacted_ = mark.rows_impacted;
  marks_.erase(it + 1, marks_.end());
  it->level = level;
  // SQLite undid the fold's writes (clocks, crlog_sites rows): its caches
  // may describe them.
  fold_->Forget();
}

std::optional<ImportCommit> ChangeMerger::Import() const {
  if (accepted_.empty()) return std::nullopt;
  ImportCommit out;
  out.db_version = db_version_;
  out.max_db_version = max_db_version_;
  log::Event& e = out.event;
  e.kind = log::EventKind::kImport;
  e.lamport = 1;
  std::set<log::SiteId> sites;
  for (const auto& [key, row] : accepted_) {
    sites.insert(row.site);
    for (const auto& [name, cell] : row.cells) sites.insert(cell.site);
  }
  e.origins.assign(sites.begin(), sites.end());
  auto origin_of = [&](const log::SiteId& s) {
    return static_cast<uint32_t>(std::lower_bound(e.origins.begin(), e.origins.end(), s) - e.origins.begin());
  };
  // accepted_ is ordered by (table, pk): tables by name, rows by pk bytes.
  for (auto it = accepted_.begin(); it != accepted_.end();) {
    const std::string& table = it->first.first;
    auto end = it;
    std::set<std::string> names;
    for (; end != accepted_.end() && end->first.first == table; ++end) {
      for (const auto& [name, cell] : end->second.cells) names.insert(name);
    }
    log::TableChanges tc;
    tc.table = table;
    tc.columns.assign(names.begin(), names.end());
    log::RowsWriter rows(/*with_origins=*/true);
    for (; it != end; ++it) {
      const AcceptedRow& row = it->second;
      rows.BeginRow(it->first.second, row.cl, static_cast<uint32_t>(row.cells.size()), origin_of(row.site),
                    row.seq);
      // Sorted already: accepted_ is ordered by pk within the table.
      if (row.entry && row.cl == 1) tc.entries.push_back(it->first.second);
      for (const auto& [name, cell] : row.cells) {
        auto column = static_cast<uint32_t>(
            std::lower_bound(tc.columns.begin(), tc.columns.end(), name) - tc.columns.begin());
        rows.AddCell(column, cell.col_version, cell.value, origin_of(cell.site), cell.seq);
      }
    }
    tc.row_count = rows.row_count();
    tc.rows = rows.Release();
    e.tables.push_back(std::move(tc));
  }
  return out;
}

}  // namespace crlog::engine
