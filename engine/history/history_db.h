// Opening a replicated database for history questions from outside it (the
// crlog command line): the database read-only, its log read-only, and what
// a replay needs from the database (its site and its heads).
#ifndef CRLOG_ENGINE_HISTORY_DB_H_
#define CRLOG_ENGINE_HISTORY_DB_H_

#include "util/sqlite/api.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/history/point.h"
#include "engine/history/replay.h"
#include "util/sqlite/stmt.h"
#include "log/hash.h"
#include "log/store.h"

namespace crlog::engine {

class HistoryDb {
 public:
  // NotFound when `db_path` does not exist or is not replicated by crlog;
  // FailedPrecondition when its log is missing or belongs to another
  // database.
  static absl::StatusOr<std::unique_ptr<HistoryDb>> Open(const std::string& db_path);
  HistoryDb(const HistoryDb&) = delete;
  HistoryDb& operator=(const HistoryDb&) = delete;

  sqlite3* db() const { return db_.get(); }  // read-only
  const log::LogStore& store() const { return *store_; }
  const log::SiteId& site() const { return site_; }
  const std::vector<log::Hash>& heads() const { return heads_; }
  const std::string& path() const { return path_; }

  // ResolvePoint against this database.
  absl::StatusOr<Point> Resolve(std::string_view text) const;
  // Replay options for this replica (its site).
  ReplayOptions Options() const;

 private:
  HistoryDb() = default;
  std::string path_;
  sqlite::OwnedDb db_;
  std::unique_ptr<log::LogStore> store_;
  log::SiteId site_{};
  std::vector<log::Hash> heads_;
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_HISTORY_DB_H_
