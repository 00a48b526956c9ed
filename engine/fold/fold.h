// The fold: the one function that applies changes to a database's tables
// (DESIGN.md, "One fold"). Recovery, verify, remote events (Apply) and
// INSERT INTO crsql_changes (MergeChange) all go through MergeRow, so they
// cannot disagree.
//
// Each incoming row state is merged into the row's clock by cr-sqlite's rule
// (merge/): causal length first, then column version, then value, then (with
// merge-equal-values) site. Winning cells are written to the table; the
// clock, crlog_versions, the heads and the db_version follow, all through
// the caller's connection and inside the caller's transaction.
#ifndef CRLOG_ENGINE_FOLD_H_
#define CRLOG_ENGINE_FOLD_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "log/event.h"
#include "log/hash.h"
#include "crlog/value.h"
#include "merge/rules.h"

namespace crlog::engine {

struct FoldOptions {
  // The site whose cells are this database's own (ordinal 0 in the clock).
  log::SiteId local_site{};
  merge::Rules rules;
  // Keep capture triggers from recording the fold's table writes: with
  // `sync_bit`, by setting that flag (the extension's per-connection
  // crsql_internal_sync_bit) around each write; else, with `set_sync_bit`,
  // by calling crsql_internal_sync_bit through SQL for the fold's lifetime.
  int64_t* sync_bit = nullptr;
  bool set_sync_bit = false;
};

struct FoldStats {
  uint64_t events = 0;
  uint64_t rows = 0;
  uint64_t cells_written = 0;
  uint64_t conflicts = 0;
  uint64_t stashed = 0;
};

// One crsql_changes row, as INSERT INTO crsql_changes hands it over.
struct IncomingChange {
  std::string_view table;
  std::string_view pk;    // packed
  std::string_view cid;   // column name, or "-1" for the row's existence entry
  const Value* value = nullptr;
  uint64_t col_version = 0;
  log::SiteId site{};
  uint64_t cl = 0;
  uint64_t seq = 0;
};

// A crsql_changes row that owns its bytes (parsed from SQL, or kept in
// crlog_stash), and the view of it the fold takes.
struct OwnedChange {
  std::string table, pk, cid;
  Value val;
  uint64_t col_version = 0;
  log::SiteId site{};
  uint64_t cl = 0, seq = 0;

  IncomingChange view() const {
    return IncomingChange{table, pk, cid, &val, col_version, site, cl, seq};
  }
};

// What a merge did to a change: whether it changed the database (a winning
// cell, a delete, a resurrection, or a stashed unknown column).
struct ChangeOutcome {
  bool changed = false;
  bool stashed = false;  // the column is unknown here: kept in crlog_stash
};

class Fold {
 public:
  // Prepares to fold into `db`, which must hold crlog's tables
  // (meta::CreateTables) and the replicated tables themselves.
  static absl::StatusOr<std::unique_ptr<Fold>> Begin(sqlite3* db, const FoldOptions& options);
  ~Fold();
  Fold(const Fold&) = delete;
  Fold& operator=(const Fold&) = delete;

  // Applies one event at the next db_version. Events must come parents
  // first. Rows of tables the database does not replicate are skipped;
  // cells of columns it lacks are stashed.
  absl::Status Apply(const log::Hash& hash, const log::Event& event);

  // Merges one crsql_changes row at `db_version`. The table must be
  // replicated and the pk must match its primary key (InvalidArgument naming
  // them otherwise). The row's clock stays cached until Flush, or until a
  // change for another row arrives.
  absl::StatusOr<ChangeOutcome> MergeChange(const IncomingChange& change, uint64_t db_version);
  // Writes the cached clock.
  absl::Status Flush();
  // Drops everything cached from the database (clock, site ordinals), for
  // after a ROLLBACK TO undid writes the caches describe.
  void Forget();

  const FoldStats& stats() const;

  // The row the tables refused when Apply last failed on one (a constraint,
  // a pk the table cannot hold): its table and packed pk.
  struct RefusedRow {
    std::string table, pk;
  };
  const std::optional<RefusedRow>& refused_row() const;

  // After a ROLLBACK TO undid writes of Apply: forgets the caches, re-reads
  // the watermark and takes `stats` as the stats so far.
  absl::Status Restart(const FoldStats& stats);

 private:
  Fold() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_H_
