// Replica: one replicated SQLite database and its log, as the engine sees
// it (the public C++ API over it is crlog/replica.h, in extension/api/).
//
// Contract:
// - One Replica per database file per process, shared by every connection to
//   that file (Attach returns the same object); an in-memory or temporary
//   database gets its own Replica with a log in a temporary directory.
// - Methods that take a sqlite3* run SQL on that connection and must be
//   called from the thread that owns it; the Replica itself is thread-safe.
// - The log of `app.db` is `app.db-crlog/`. A log that is missing while the
//   database says it had one, or that belongs to another database, is
//   refused, never silently replaced.
#ifndef CRLOG_ENGINE_REPLICA_H_
#define CRLOG_ENGINE_REPLICA_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/log.h"
#include "engine/capture/capture_buffer.h"
#include "engine/fold/change_merger.h"
#include "engine/replica/commit_feed.h"
#include "engine/fold/fold.h"
#include "engine/fold/held_events.h"
#include "engine/replica/meta_tables.h"
#include "engine/fold/row_clock.h"
#include "engine/replica/table_desc.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/signing.h"
#include "log/store.h"
#include "crlog/value.h"

namespace crlog::engine {

// Events a local transaction stored as pending in commit phase one.
struct PendingCommit {
  std::vector<log::Hash> events;
};

class Replica {
 public:
  // Attaches to the main database of `db`: creates crlog's tables and the log
  // when the database has none, checks that an existing log belongs to it,
  // and recovers (publishes committed events, discards the rest) when it can
  // take the write lock without waiting.
  // `early`, when given, receives the replica before recovery runs (the
  // extension needs it to connect capture tables that recovery's writes
  // prepare); it is reset if attaching fails.
  static absl::StatusOr<std::shared_ptr<Replica>> Attach(sqlite3* db,
                                                         std::shared_ptr<Replica>* early = nullptr);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  const log::SiteId& site() const { return site_; }
  log::LogStore& log() const { return *log_; }
  const std::string& log_path() const { return log_path_; }
  const std::string& db_path() const { return db_path_; }

  // Largest event before a transaction is split into an event group.
  size_t max_event_bytes() const { return max_event_bytes_; }
  void set_max_event_bytes(size_t n) { max_event_bytes_ = n; }

  // The key that signs every local event this replica writes from now on
  // (null: events are unsigned). It must be this site's key: the site's
  // trusted key is checked by engine/replica/signing_keys.h's SignWith, the way SQL
  // sets it. Shared by every connection of this process to the database.
  void SetSigningKey(std::shared_ptr<const log::SigningKey> key) {
    std::lock_guard<std::mutex> lock(signing_mu_);
    signing_key_ = std::move(key);
  }
  std::shared_ptr<const log::SigningKey> signing_key() const {
    std::lock_guard<std::mutex> lock(signing_mu_);
    return signing_key_;
  }

  // Who hears of this database's commits in this process (Subscribe).
  CommitFeed& commit_feed() { return feed_; }

  // --- Replicated tables (replicated_tables.cc) --------------------------
  // crsql_as_crr: checks the table (schema/table_info.h), registers it,
  // creates its capture virtual table and triggers, and backfills existing
  // rows through capture. Idempotent. Runs inside the caller's transaction.
  absl::Status MakeReplicated(sqlite3* db, std::string_view schema, std::string_view table);
  // crsql_as_table: stops replicating; the table and its history stay.
  absl::Status MakePlain(sqlite3* db, std::string_view table);
  // crsql_begin_alter: remembers the table's columns and removes its capture
  // (ALTER TABLE cannot run with crlog's triggers naming old columns).
  // Writes to the table before CommitAlter are not captured.
  absl::Status BeginAlter(sqlite3* db, std::string_view table);
  // crsql_commit_alter: checks the altered table is still replicable, maps
  // its clocks to the new columns (kept, renamed or dropped), restores
  // capture, records a schema-change event at commit, and returns the
  // stashed changes (crlog_stash) to columns the table now has, removed
  // from the stash,
  // for the caller to merge.
  absl::StatusOr<std::vector<OwnedChange>> CommitAlter(sqlite3* db, std::string_view table);

  // The replicated table's description, read from the database. NotFound if
  // it is not replicated.
  absl::StatusOr<std::shared_ptr<const TableDesc>> Table(sqlite3* db, std::string_view table);
  absl::StatusOr<std::vector<std::string>> ReplicatedTables(sqlite3* db);

  // --- Capture: the two-phase commit of a local transaction --------------
  // (engine/capture/capture_commit.cc)
  // Commit phase one (xSync), with SQLite's write lock held: resolves
  // events other connections left pending, builds this transaction's event
  // (or event group) from `buffers`, stores it pending, and writes the
  // per-row clocks, watermark and heads through `db`. Returns nothing when
  // the buffers hold no change. `floors` comes from crsql_next_db_version(v).
  // `import`, when given, holds what INSERT INTO crsql_changes accepted in
  // this transaction (its clocks are written already): it is staged first,
  // and the local event names it as a parent.
  // `in_flight`: events crlog_apply stored pending in this transaction.
  absl::StatusOr<std::optional<PendingCommit>> PrepareCommit(
      sqlite3* db, absl::Span<CaptureBuffer* const> buffers, const VersionFloors& floors,
      std::optional<ImportCommit> import = std::nullopt, absl::Span<const log::Hash> in_flight = {});

  // What PrepareCommit would make of `buffers` now, without writing
  // anything: each row the open transaction changed, with the clock it will
  // commit (its cells at the versions they will have). For reading
  // crsql_changes inside the transaction.
  struct PendingRow {
    std::string table;
    std::string pk;
    RowClock clock;
  };
  absl::StatusOr<std::vector<PendingRow>> PendingWrites(sqlite3* db, absl::Span<CaptureBuffer* const> buffers,
                                                        const VersionFloors& floors, uint64_t merged);
  // Phase two (xCommit): SQLite committed; publish. Errors are left for
  // recovery to repair and only reported.
  absl::Status FinishCommit(const PendingCommit& commit);
  // SQLite rolled back after phase one: forget the pending events.
  absl::Status AbortCommit(const PendingCommit& commit);

  // --- Remote events: the engine's own merge path (apply_events.cc) ------
  // Verifies `events` (canonical bytes, parents first or in any order the
  // store accepts), stores those the log lacks as pending, and folds them,
  // with every published event the database has not materialised, into its
  // tables. Without a caller's transaction on `db` it runs in its own and
  // publishes the events once SQLite committed. Inside one (a savepoint),
  // the events stay pending and are returned in `pending`: the caller
  // publishes them after COMMIT (FinishCommit) and discards them after
  // ROLLBACK (AbortCommit), so a rolled-back apply leaves nothing to roll
  // forward. `in_flight` names what earlier applies of that transaction left
  // pending. Any failure (bad input, a fold the tables refuse) leaves both
  // log and database unchanged.
  struct ApplyResult {
    uint64_t events_added = 0;   // new to the log
    uint64_t events_folded = 0;  // materialised now
    uint64_t events_held = 0;    // refused by the tables, or behind one that was
    FoldStats fold;
    PendingCommit pending;       // inside a caller's transaction: see above
  };
  absl::StatusOr<ApplyResult> ApplyEvents(sqlite3* db, absl::Span<const std::string_view> events,
                                          const FoldOptions& options, absl::Span<const log::Hash> in_flight = {});
  // Events the tables refused to fold, and those behind them
  // (engine/fold/held_events.h).
  absl::StatusOr<std::vector<HeldEvent>> HeldEvents(sqlite3* db);
  // Folds the held events again (after an alter relaxed a constraint, say):
  // those the tables take now leave crlog_held, the rest stay held. Runs in
  // its own transaction, or in a savepoint of the caller's. Returns how many
  // were folded.
  absl::StatusOr<uint64_t> RetryHeld(sqlite3* db, const FoldOptions& options);

  // --- Recovery (recovery.cc) ---------------------------------------------
  // Publishes pending events SQLite committed (named by the watermark or the
  // heads) and discards the rest, but for `in_flight` (events the open
  // transaction on `db` applied). Requires the write lock (BEGIN IMMEDIATE
  // or a write transaction).
  absl::Status ResolvePending(sqlite3* db, absl::Span<const log::Hash> in_flight = {});
  // Recovery on open: under BEGIN IMMEDIATE, ResolvePending and a check that
  // the log holds what the database says it does. Returns Unavailable when
  // the lock is busy (the next writer resolves instead).
  absl::Status Recover(sqlite3* db);

  // --- Capture triggers (replicated_tables.cc) ----------------------------
  // Repairs capture where it is not intact or not first: a missing trigger or
  // capture table, or a user trigger newer than crlog's (crsql_as_crr does
  // the same for one table).
  absl::Status EnsureTriggersFirst(sqlite3* db);
  // Drops capture tables left behind by replicated tables that were dropped.
  // Needs the capture module registered on `db`.
  absl::Status DropLeftoverCaptureTables(sqlite3* db);

  // The database's committed db_version.
  absl::StatusOr<uint64_t> DbVersion(sqlite3* db);

 private:
  Replica() = default;
  // Chains `events` (schema events first, then data events from index
  // `first_data`, grouped when more than one) after the snapshot's heads,
  // appends them pending and writes the watermark, heads and versions through
  // `db`. `committed_seq` is the watermark's seq the caller read in this
  // transaction. Requires the write lock.
  absl::StatusOr<PendingCommit> StageLocalEvents(sqlite3* db, std::vector<log::Event> events,
                                                 size_t first_data, const meta::Watermark& committed,
                                                 uint64_t db_version,
                                                 std::optional<ImportCommit> import = std::nullopt,
                                                 absl::Span<const log::Hash> in_flight = {});
  // Folds published events the database has not materialised, then
  // `just_stored` (events just stored pending, parents first). `in_flight`: the
  // pending events the database's heads may name (materialised in this
  // transaction). With `own_transaction` (nothing else of the caller's is
  // in it), a large fold runs with the capture triggers of its tables
  // removed and restored (triggers make every write of the fold several
  // times slower).
  struct StoredPending {
    log::Hash hash;
    log::Event event;
  };
  absl::StatusOr<uint64_t> FoldMissing(sqlite3* db, const FoldOptions& options, FoldStats* stats,
                                       bool own_transaction = false, std::vector<StoredPending> just_stored = {},
                                       absl::Span<const log::Hash> in_flight = {});
  // Replicated tables that were dropped (by a connection without crlog, or
  // by DROP TABLE): forgets them and returns their names, for the
  // schema-change events that record the drop.
  absl::StatusOr<std::vector<std::string>> DropDroppedTables(sqlite3* db);
  // Whether Recover has anything to do (pending events, heads that differ
  // from the log's, dropped tables); reads only.
  absl::StatusOr<bool> NeedsRecovery(sqlite3* db);
  // On load: folds published events the database has not materialised
  // (the log wins: a database restored from an older copy rolls forward).
  absl::Status RollForward(sqlite3* db);
  // On load: records tables dropped behind crlog's back as schema-change
  // events (staged into `commit`).
  absl::Status RecordDrops(sqlite3* db, std::optional<PendingCommit>* commit);
  // crsql_as_crr's work. `restoring`: crlog removed the table's triggers
  // itself (an alter, a large fold) and puts them back; otherwise triggers
  // missing outside an alter mean the table was dropped and created again.
  absl::Status SetUpCapture(sqlite3* db, std::string_view table, bool restoring);
  static absl::StatusOr<std::shared_ptr<Replica>> Create(sqlite3* db, const std::string& db_path,
                                                         std::shared_ptr<Replica>* early);

  std::string db_path_;
  std::string log_path_;
  bool temporary_log_ = false;
  log::SiteId site_{};
  std::unique_ptr<log::LogStore> log_;
  size_t max_event_bytes_;
  mutable std::mutex signing_mu_;
  std::shared_ptr<const log::SigningKey> signing_key_;  // guarded by signing_mu_
  CommitFeed feed_;
};

// FailedPrecondition naming the table and the way out when ALTER TABLE ran
// on it outside crsql_begin_alter / crsql_commit_alter
// (TableDesc::AlteredBehindCrlog): capture refuses its writes and
// crsql_changes its rows until crsql_commit_alter takes the alter in.
absl::Status CheckNotAlteredBehindCrlog(const TableDesc& desc);

// Where the log of the database at `db_path` lives (public: crlog/log.h).
using crlog::LogPathFor;

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_REPLICA_H_
