// Replay: the replicated tables as they stood at a point (engine/history/point.h),
// rebuilt from the log alone by the one fold (engine/fold/fold.h).
//
// Events are folded in this log's arrival order (parents first). Tables
// follow the schema-change events of the point's schema site: a table is
// created by its first one, rebuilt by later ones (columns carried by name,
// renames paired in order, as crsql_commit_alter does) and dropped by one
// without SQL. Rows of tables the schema site did not replicate at the time
// are skipped, as that site's own fold skipped them.
//
// `crlog replay`, `crlog diff`, `crlog blame --history`, `crlog log` (old ->
// new), verify and the SQL time-travel functions are all this one walk.
#ifndef CRLOG_ENGINE_HISTORY_REPLAY_H_
#define CRLOG_ENGINE_HISTORY_REPLAY_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "crlog/history.h"
#include "engine/history/point.h"
#include "log/event.h"
#include "log/store.h"
#include "merge/rules.h"

namespace crlog::engine {

// Watches a replay event by event; `db` is the database being built (the
// replicated tables under their own names, crlog's tables beside them).
class ReplayObserver {
 public:
  virtual ~ReplayObserver() = default;
  // Before `event` is folded (schema changes included).
  virtual absl::Status BeforeEvent(sqlite3* /*db*/, const log::StoredEvent& /*stored*/,
                                   const log::Event& /*event*/) {
    return absl::OkStatus();
  }
  // After it was folded.
  virtual absl::Status AfterEvent(sqlite3* /*db*/, const log::StoredEvent& /*stored*/,
                                  const log::Event& /*event*/) {
    return absl::OkStatus();
  }
};

// Rows a replay is limited to: packed pks by table, the table matched
// without regard to ASCII case, as SQLite matches names.
class RowFilter {
 public:
  RowFilter() = default;
  RowFilter(std::string_view table, std::string_view pk) { Add(table, pk); }
  void Add(std::string_view table, std::string_view pk);
  // The pks kept of `table`, or null when none are.
  const absl::flat_hash_set<std::string>* PksOf(std::string_view table) const;
  size_t size() const { return size_; }

 private:
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> pks_by_table_;  // lowercased names
  size_t size_ = 0;
};

struct ReplayOptions {
  log::SiteId local_site{};  // the replica whose log this is
  merge::Rules rules;
  // Fold only these rows' ops; every other row is left out, and events
  // without them are not folded (schema changes are). Rows merge
  // independently, so these rows end as a full replay leaves them.
  std::optional<RowFilter> only_rows;
  ReplayObserver* observer = nullptr;
  // Events to leave out, with every event that descends from one. An event
  // the tables refuse is added (engine/fold/held_events.h), as the live fold
  // holds it.
  absl::flat_hash_set<log::Hash> held;
  // Called now and then with (events done, events in the point).
  std::function<void(uint64_t, uint64_t)> progress;
};

// Public (crlog/history.h).
using crlog::ReplayStats;

// Folds the point's events into `db`: a database holding no replicated
// tables of its own. Creates crlog's tables in it (engine/replica/meta_tables.h)
// and the replicated tables as the point had them; runs in one transaction
// of its own. `db` is left as is on error.
absl::StatusOr<ReplayStats> ReplayInto(const log::LogStore& store, const Point& point, sqlite3* db,
                                       const ReplayOptions& options);

// Removes crlog's tables from a database ReplayInto built, leaving an
// ordinary SQLite database of the replicated tables.
absl::Status DropHistoryTables(sqlite3* db);

// `crlog replay`: the point's tables into a new SQLite file at `out_path`
// (refused if something is already there), with no crlog tables in it.
absl::StatusOr<ReplayStats> ReplayToFile(const log::LogStore& store, const Point& point, const std::string& out_path,
                                         const ReplayOptions& options);

// The replicated tables in a database, sorted (those crlog_tables lists).
absl::StatusOr<std::vector<std::string>> ReplayedTables(sqlite3* db);

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_REPLAY_H_
