// crlog/replica.h: one replicated SQLite database and its log, from C++.
//
//   auto replica = crlog::Replica::Open("app.db");
//   (*replica)->Execute("CREATE TABLE todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT)");
//   (*replica)->Replicate("todo");
//   (*replica)->Execute("INSERT INTO todo VALUES (1, 'milk')");   // captured
//   auto bundle = (*replica)->Export();                          // to a peer
//
// A Replica is a SQLite connection with crlog loaded into it: every write made
// through db() (or Execute) to a replicated table is captured into the log
// when it commits, exactly as with the loadable extension, and the SQL
// surface (crsql_changes, crlog_* functions, docs/sql.md) is there too.
//
// Lifetimes: a Replica owns its connection when Open made it, and closes it
// on destruction; one made by Attach borrows the application's connection,
// which must outlive it. Every Replica, extension connection and Log in a
// process opened on one database share one engine and one log environment.
//
// Thread rules: a Replica is used from one thread at a time, like the SQLite
// connection it wraps (SQLite's rules apply to db()). Subscription callbacks
// run on crlog's notifier thread (see Subscribe).
#ifndef CRLOG_REPLICA_H_
#define CRLOG_REPLICA_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"

struct sqlite3;
struct sqlite3_api_routines;

namespace crlog {

class History;

struct OpenOptions {
  // Create the database file (and its log) when missing.
  bool create_if_missing = true;
  // How long a statement waits for another connection's lock.
  int busy_timeout_ms = 5000;
};

// What Replica::Apply did with a bundle.
struct ApplyStats {
  uint64_t events_added = 0;   // new to the log
  uint64_t events_folded = 0;  // materialised into the tables now
  uint64_t events_held = 0;    // refused by the tables (crlog_held), or behind one that was
};

// Events that became visible in the log by one commit: a local transaction,
// an Apply, an INSERT INTO crsql_changes, or recovery of a killed writer's
// commit. Ids in the order they were published (parents first).
struct CommitNotice {
  std::vector<Hash> events;
};

// Keeps a subscription alive; destroying (or Reset) ends it. After Reset
// returns, the callback is not running and will not run again (unless Reset
// is called from inside the callback itself, which only stops later calls).
class Subscription {
 public:
  Subscription() = default;
  ~Subscription() { Reset(); }
  Subscription(Subscription&& other) noexcept;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  void Reset();
  bool active() const { return cancel_ != nullptr; }

  // For crlog's own layers.
  explicit Subscription(std::function<void()> cancel);

 private:
  std::function<void()>* cancel_ = nullptr;
};

class Replica {
 public:
  // Opens (or creates) the database at `db_path` on a connection of its own,
  // loads crlog into it, and creates or checks the log beside it (refusing a
  // log that belongs to another database). Calls go to the SQLite the
  // program links (the process's sqlite3_* symbols).
  static absl::StatusOr<std::unique_ptr<Replica>> Open(const std::string& db_path, const OpenOptions& options = {});
  // Attaches to the application's own connection: loads crlog into it when
  // the extension is not loaded there yet. `routines` are the SQLite
  // routines that own `db` (for a host that bundles its own SQLite); null
  // means the SQLite the program links, or the one the extension was loaded
  // with on this connection.
  static absl::StatusOr<std::unique_ptr<Replica>> Attach(sqlite3* db,
                                                         const sqlite3_api_routines* routines = nullptr);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The connection: read and write the tables through it.
  sqlite3* db() const;
  const std::string& path() const;
  const std::string& log_path() const;
  SiteId site() const;
  // The log, shared with the engine (read-only from here).
  const Log& log() const;

  // Runs SQL on the connection (sqlite3_exec); the error names the SQL.
  absl::Status Execute(std::string_view sql);
  // crsql_as_crr: replicates `table` from now on, with its existing rows.
  absl::Status Replicate(std::string_view table);

  // What this replica holds: its version vector and heads (the log's), and
  // the events a peer that has `known` (and `known_heads`) lacks.
  absl::StatusOr<VersionVector> Versions() const;
  absl::StatusOr<std::vector<Hash>> Heads() const;
  absl::StatusOr<std::vector<StoredEvent>> EventsSince(const VersionVector& known,
                                                       absl::Span<const Hash> known_heads = {}) const;
  // Those events as one event bundle (docs/format.md), what crlog_export()
  // returns and crlog_apply() and Apply take.
  absl::StatusOr<std::string> Export(const VersionVector& known = {}, absl::Span<const Hash> known_heads = {}) const;
  // The engine's merge path (crlog_apply): verifies the bundle's events,
  // stores the new ones and folds them into the tables, in one transaction;
  // inside the application's open transaction, in a savepoint of it. Bad
  // input changes nothing and names the event at fault.
  absl::StatusOr<ApplyStats> Apply(std::string_view bundle);

  // History questions on this database (blame, replay, diff, verify):
  // crlog/history.h. The History reads the database through a read-only
  // connection of its own.
  absl::StatusOr<std::unique_ptr<History>> OpenHistory() const;

  // Calls `callback` with every commit that publishes events to this
  // database's log from this process, on any connection: local
  // transactions and merges alike. The callback runs on crlog's notifier
  // thread (one per database, started by the first subscription), after the
  // transaction committed in SQLite and in the log, never inside SQLite's
  // commit: it may read the database on a connection of its own, or write
  // to it. Notices arrive in commit order, one callback at a time; a slow
  // callback delays later notices, never a commit. Commits of other
  // processes are not seen here: use Log::WaitForEventsAfter. The
  // subscription hears commits until it is reset, even after this Replica
  // is gone. Rarely, an event is in two notices (a killed or slow writer's
  // commit that recovery published first).
  Subscription Subscribe(std::function<void(const CommitNotice&)> callback);

  struct Impl;

 private:
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crlog

#endif  // CRLOG_REPLICA_H_
