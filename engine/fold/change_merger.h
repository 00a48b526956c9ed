// INSERT INTO crsql_changes for one connection's open transaction: merges
// each incoming change through the fold as it arrives (so the transaction
// sees it at once), counts what changed (crsql_rows_impacted), follows
// SQLite's savepoints, and at commit hands over the accepted changes as one
// import event (DESIGN.md, "Import events").
//
// db_version: the transaction's merged cells share one version, D =
// max(committed + 1, crsql_next_db_version's floor, the first change's
// db_version); the database's version after commit is the largest of D and
// every incoming db_version, so later local writes sort after all of them.
#ifndef CRLOG_ENGINE_FOLD_CHANGE_MERGER_H_
#define CRLOG_ENGINE_FOLD_CHANGE_MERGER_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/fold/fold.h"
#include "log/event.h"
#include "merge/rules.h"

namespace crlog::engine {

struct MergeSettings {
  log::SiteId local_site{};
  merge::Rules rules;
  // A cid naming a column the table lacks is an error instead of being kept.
  bool strict_columns = false;
  int64_t* sync_bit = nullptr;  // see FoldOptions
};

// What the transaction's commit needs from the merges.
struct ImportCommit {
  log::Event event;             // an import event; its rows are what was accepted
  uint64_t db_version = 0;      // D
  uint64_t max_db_version = 0;  // the database's db_version after commit
};

class ChangeMerger {
 public:
  // `committed_db_version` is the database's db_version as this transaction
  // sees it; `floor` is crsql_next_db_version's.
  static absl::StatusOr<std::unique_ptr<ChangeMerger>> Begin(sqlite3* db, const MergeSettings& settings);

  // Merges one change. `incoming_db_version` is the sender's. Bad input is
  // InvalidArgument naming the table, column or pk; nothing of the change is
  // applied then.
  absl::StatusOr<ChangeOutcome> Add(const IncomingChange& change, uint64_t incoming_db_version,
                                    uint64_t floor);
  // Writes what the fold caches (before anything else reads crlog's tables).
  absl::Status Flush();

  // SQLite's savepoint levels, as xSavepoint / xRelease / xRollbackTo report.
  absl::Status Savepoint(int level);
  void Release(int level);
  void RollbackTo(int level);

  uint64_t rows_impacted() const { return rows_impacted_; }
  // D, once a change has been merged (0 before).
  uint64_t db_version() const { return db_version_; }
  uint64_t max_db_version() const { return max_db_version_; }

  // The accepted changes as an import event (sorted: the same accepted
  // changes give the same bytes anywhere), or nothing when none was.
  std::optional<ImportCommit> Import() const;

 private:
  ChangeMerger() = default;

  struct AcceptedCell {
    uint64_t col_version = 0;
    Value value;
    log::SiteId site{};
    uint64_t seq = 0;
  };
  struct AcceptedRow {
    uint64_t cl = 0;
    log::SiteId site{};  // the existence entry's writer and seq
    uint64_t seq = 0;
    bool entry = false;  // a '-1' change for this life was accepted
    std::map<std::string, AcceptedCell> cells;  // by column name
  };
  using Key = std::pair<std::string, std::string>;  // table, packed pk
  struct Mark {
    int level;
    size_t undo_size;
    uint64_t rows_impacted;
  };

  void Record(const IncomingChange& change);

  sqlite3* db_ = nullptr;
  MergeSettings settings_;
  std::unique_ptr<Fold> fold_;
  uint64_t committed_db_version_ = 0;
  uint64_t db_version_ = 0;
  uint64_t max_db_version_ = 0;
  uint64_t rows_impacted_ = 0;
  std::map<Key, AcceptedRow> accepted_;
  std::vector<std::pair<Key, std::optional<AcceptedRow>>> undo_;
  std::vector<Mark> marks_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_FOLD_CHANGE_MERGER_H_
