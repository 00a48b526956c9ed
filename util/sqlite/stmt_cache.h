// Statements crlog prepares on every commit of a connection (the clock,
// watermark, heads and versions statements), kept prepared between commits.
// Preparing them afresh was a third of a single-row commit (docs/
// architecture.md, "Speed").
//
// A cached statement is a prepared statement the application did not make,
// and sqlite3_close() (the legacy close that better-sqlite3 and the sqlite3
// shell call) refuses with SQLITE_BUSY while any exists. SQLite disconnects
// every virtual table of the connection before it makes that check, so the
// cache is filled only inside a crlog virtual table's methods (a Scope) and
// cleared by that table's xDisconnect: whenever the cache holds a statement,
// a table that will clear it at close is connected.
#ifndef CRLOG_UTIL_SQLITE_STMT_CACHE_H_
#define CRLOG_UTIL_SQLITE_STMT_CACHE_H_

#include "util/sqlite/api.h"

#include <cstddef>
#include <memory>
#include <string_view>

namespace crlog::sqlite {

struct StmtShelf;

// One connection's cache. Not thread-safe: SQLite runs a connection's
// virtual-table methods one at a time.
class StmtCache {
 public:
  // At most `capacity` idle statements are kept; more are finalized when
  // their use ends.
  explicit StmtCache(sqlite3* db, size_t capacity = 128);
  // Finalizes what is idle; a statement still in use is finalized when its
  // Stmt lets go of it.
  ~StmtCache();
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  // Finalizes every idle statement; later uses prepare again.
  void Clear();
  // How many statements are idle in the cache.
  size_t idle() const;

  // While a Scope lives on this thread, Stmt::Prepare on the cache's
  // connection takes an idle statement of the same SQL text, or prepares
  // one that returns to the cache (reset, bindings cleared) when its Stmt
  // is destroyed. Scopes nest; the innermost is in force.
  class Scope {
   public:
    explicit Scope(StmtCache& cache);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    // Held so that a Clear inside the scope cannot free the shelf in force.
    std::shared_ptr<StmtShelf> shelf_;
    StmtShelf* previous_;
  };

 private:
  std::shared_ptr<StmtShelf> shelf_;
};

// Stmt's side (util/sqlite/stmt.cc). The shelf in force for `db` on this
// thread, or null.
std::shared_ptr<StmtShelf> ShelfInForce(sqlite3* db);
// An idle statement of exactly `sql` from `shelf`, or null.
sqlite3_stmt* TakeFromShelf(StmtShelf& shelf, std::string_view sql);
// Puts `stmt` back (reset, bindings cleared), or finalizes it when the cache
// was cleared since, is full, or `stmt` is not keyed by its whole text.
void ReturnToShelf(StmtShelf& shelf, sqlite3_stmt* stmt);

}  // namespace crlog::sqlite

#endif  // CRLOG_UTIL_SQLITE_STMT_CACHE_H_
