// The per-connection statement cache (util/sqlite/stmt_cache.h).
#include "util/sqlite/stmt_cache.h"

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "util/thread_slot.h"

namespace crlog::sqlite {

struct StmtShelf : std::enable_shared_from_this<StmtShelf> {
  sqlite3* db = nullptr;
  size_t capacity = 0;
  size_t idle_count = 0;
  // False once the cache is destroyed: statements still in use are
  // finalized when they come back.
  bool open = true;
  absl::flat_hash_map<std::string, std::vector<sqlite3_stmt*>> idle;

  void FinalizeIdle() {
    for (auto& [sql, stmts] : idle) {
      for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
    }
    idle.clear();
    idle_count = 0;
  }
};

namespace {
// The shelf of the innermost Scope on each thread.
const ThreadSlot<StmtShelf>& InForce() {
  static const ThreadSlot<StmtShelf> slot("the statement cache in force");
  return slot;
}
}  // namespace

StmtCache::StmtCache(sqlite3* db, size_t capacity) : shelf_(std::make_shared<StmtShelf>()) {
  shelf_->db = db;
  shelf_->capacity = capacity;
}

StmtCache::~StmtCache() {
  shelf_->FinalizeIdle();
  shelf_->open = false;
}

void StmtCache::Clear() {
  // A fresh shelf: statements in use now belong to the closed one and are
  // finalized when they come back.
  auto fresh = std::make_shared<StmtShelf>();
  fresh->db = shelf_->db;
  fresh->capacity = shelf_->capacity;
  shelf_->FinalizeIdle();
  shelf_->open = false;
  shelf_ = std::move(fresh);
}

size_t StmtCache::idle() const { return shelf_->idle_count; }

StmtCache::Scope::Scope(StmtCache& cache) : shelf_(cache.shelf_), previous_(InForce().Get()) {
  InForce().Set(shelf_.get());
}

StmtCache::Scope::~Scope() { InForce().Set(previous_); }

std::shared_ptr<StmtShelf> ShelfInForce(sqlite3* db) {
  StmtShelf* shelf = InForce().Get();
  if (shelf == nullptr || shelf->db != db || !shelf->open) return nullptr;
  return shelf->shared_from_this();
}

sqlite3_stmt* TakeFromShelf(StmtShelf& shelf, std::string_view sql) {
  auto it = shelf.idle.find(absl::string_view(sql.data(), sql.size()));
  if (it == shelf.idle.end() || it->second.empty()) return nullptr;
  sqlite3_stmt* stmt = it->second.back();
  it->second.pop_back();
  --shelf.idle_count;
  return stmt;
}

void ReturnToShelf(StmtShelf& shelf, sqlite3_stmt* stmt) {
  if (!shelf.open || shelf.idle_count >= shelf.capacity) {
    sqlite3_finalize(stmt);
    return;
  }
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  shelf.idle[sqlite3_sql(stmt)].push_back(stmt);
  ++shelf.idle_count;
}

}  // namespace crlog::sqlite
