// The fold: the one function that applies events to a database's tables
// (DESIGN.md, "One fold"). Recovery, verify, and later merge, replay and fork
// views all use it, so they cannot disagree.
//
// Each row op is merged into the row's clock by cr-sqlite's rule (merge/):
// causal length first, then column version, then value, then (with
// merge-equal-values) site. Winning cells are written to the table; the
// clock, crlog_versions, the heads and the db_version follow, all through
// the caller's connection and inside the caller's transaction.
#ifndef CRLOG_ENGINE_FOLD_H_
#define CRLOG_ENGINE_FOLD_H_

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "log/event.h"
#include "log/hash.h"

namespace crlog::engine {

struct FoldOptions {
  // The site whose cells are this database's own (ordinal 0 in the clock).
  log::SiteId local_site{};
  bool merge_equal_values = false;
  // Set crsql_internal_sync_bit around table writes, so capture triggers on
  // a connection with crlog loaded do not record them again.
  bool set_sync_bit = false;
};

struct FoldStats {
  uint64_t events = 0;
  uint64_t rows = 0;
  uint64_t cells_written = 0;
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
  // first. Rows of tables the database does not replicate are skipped.
  absl::Status Apply(const log::Hash& hash, const log::Event& event);
  const FoldStats& stats() const;

 private:
  Fold() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_H_
