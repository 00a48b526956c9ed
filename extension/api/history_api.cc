// crlog::History (crlog/history.h): the engine's history queries on a
// database opened read-only.
#include "crlog/history.h"

#include "engine/history_db.h"

namespace crlog {

struct History::Impl {
  std::unique_ptr<engine::HistoryDb> db;
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::~History() = default;

absl::StatusOr<std::unique_ptr<History>> History::Open(const std::string& db_path) {
  auto db = engine::HistoryDb::Open(db_path);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = *std::move(db);
  return std::unique_ptr<History>(new History(std::move(impl)));
}

}  // namespace crlog
