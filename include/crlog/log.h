// crlog/log.h: a replica's event log, read on its own: what `crlog log`,
// `crlog verify` and a relay need, with no database open.
//
// The log of the database `app.db` is the directory `app.db-crlog/`, an LMDB
// environment (docs/format.md). A Log opened here shares that environment
// with every other user in the process, the extension included: one process
// opens each log once, whatever opens it (docs/architecture.md, "One core per
// process").
//
// Thread rules: a Log is thread-safe; every read runs in its own snapshot and
// returns copies. Readers see published events only (those SQLite
// committed).
#ifndef CRLOG_LOG_H_
#define CRLOG_LOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "crlog/event.h"
#include "crlog/ids.h"

namespace crlog {

// An event as a log stores it: its local position, id and canonical bytes.
struct StoredEvent {
  uint64_t position = 0;  // local arrival order, 1-based; parents come first
  Hash hash{};
  std::string bytes;
  // Decodes `bytes`, checking them as untrusted input; DataLoss (naming the
  // event) when they do not decode, which means the log was damaged.
  absl::StatusOr<Event> Decode() const;
  // Decodes `bytes` for reading only, skipping the canonical-form checks the
  // log made when it stored them. Still memory safe. To know the bytes are
  // the ones stored, compare their SHA-256 with `hash` (Log::Verify does).
  absl::StatusOr<Event> DecodeTrusted() const;
};

// Highest published seq per native site: what a replica has of each site's
// chain. Imports (changes from history-free peers) have no seq and are not
// counted; positions cover them.
using VersionVector = std::map<SiteId, uint64_t>;

struct LogStats {
  uint64_t events = 0;       // published
  uint64_t pending = 0;      // stored by a transaction SQLite has not committed (yet)
  uint64_t event_bytes = 0;  // canonical bytes of published events
  uint64_t file_bytes = 0;   // LMDB pages in use
};

// What Log::Verify checked.
struct VerifyReport {
  uint64_t events = 0;  // published events checked
  uint64_t ops = 0;     // ops in them
  uint64_t sites = 0;   // distinct native sites
  uint64_t bytes = 0;   // canonical bytes hashed
  // Signatures checked against a trusted key (and found good).
  uint64_t signed_checked = 0;
  // Signed events of sites with no trusted key: counted, not trusted (and
  // not a fault).
  uint64_t signed_unknown = 0;
};

// Progress of a long job: items done so far, of `total`.
using Progress = std::function<void(uint64_t done, uint64_t total)>;

// Where the log of the database at `db_path` lives: `db_path` + "-crlog".
std::string LogPathFor(const std::string& db_path);
// The inverse: the database a log directory named X-crlog is the log of (X,
// whether or not X exists), or nothing when the name has no such suffix.
std::optional<std::string> DatabasePathOf(const std::string& log_dir);
// Whether `dir` is a directory holding a log (an LMDB data.mdb).
bool HoldsLog(const std::string& dir);
// Whether `dir` is the log of a database: a log directory named X-crlog
// beside a file X. Its history is the database's.
bool IsDatabaseLog(const std::string& dir);
// The log directory a user means by `path`: a log directory, or a database
// file (or a deleted database's name) whose log is LogPathFor(path). NotFound,
// naming `path` and what was looked for, when there is none. Looks only.
absl::StatusOr<std::string> FindLog(const std::string& path);

class Log {
 public:
  // Opens a log to read, never creating or changing it. `path` is a log
  // directory, or a database file whose log is LogPathFor(path). NotFound
  // naming the path and what was looked for when there is none; a log
  // written by an unknown format version is FailedPrecondition.
  static absl::StatusOr<std::unique_ptr<Log>> OpenReadOnly(const std::string& path);
  // Opens, or creates, a log directory that belongs to no database (a relay
  // keeps one; `crlog demo` writes one), to Append to. Refuses the log of a
  // database (a directory X-crlog beside a file X): events reach a
  // database's log through the database (Replica::Apply).
  static absl::StatusOr<std::unique_ptr<Log>> OpenStandalone(const std::string& dir);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // The log directory.
  const std::string& path() const;

  // NotFound when absent.
  absl::StatusOr<StoredEvent> Get(const Hash& hash) const;
  // `hex_prefix` of at least 4 hex digits; InvalidArgument when it matches
  // more than one event, NotFound when none.
  absl::StatusOr<StoredEvent> GetByPrefix(std::string_view hex_prefix) const;
  absl::StatusOr<StoredEvent> GetBySiteSeq(const SiteId& site, uint64_t seq) const;
  absl::StatusOr<bool> Contains(const Hash& hash) const;

  // Visits events in arrival order (parents before children) from
  // `from_position` on; `visit` returns false to stop.
  absl::Status ForEach(const std::function<bool(const StoredEvent&)>& visit, uint64_t from_position = 1) const;
  // The same, newest first.
  absl::Status ForEachNewestFirst(const std::function<bool(const StoredEvent&)>& visit) const;
  // When this log stored the event at `position` (microseconds since the Unix
  // epoch); nullopt for an unknown position or a log older than arrival times.
  absl::StatusOr<std::optional<int64_t>> ArrivalMicros(uint64_t position) const;

  // Published events no published event names as a parent, sorted.
  absl::StatusOr<std::vector<Hash>> Heads() const;
  absl::StatusOr<VersionVector> Versions() const;
  // The position of the newest published event (0 for an empty log).
  absl::StatusOr<uint64_t> LastPosition() const;
  // The events a peer lacks, given what it has (its version vector and
  // heads), parents first. Cost follows what the peer lacks, not the length
  // of history. Imports the peer may hold are sent again (they carry no seq);
  // applying an event twice is a no-op.
  absl::StatusOr<std::vector<StoredEvent>> EventsSince(const VersionVector& known,
                                                       absl::Span<const Hash> known_heads = {}) const;
  // Every event in the past of `heads`, the heads included, in arrival order.
  absl::StatusOr<std::vector<Hash>> Ancestors(absl::Span<const Hash> heads) const;
  // Whether `ancestor` is in the past of `descendant` (an event is in its
  // own past). NotFound if either is unknown.
  absl::StatusOr<bool> IsAncestor(const Hash& ancestor, const Hash& descendant) const;
  absl::StatusOr<LogStats> Stats() const;

  // Checks every hash, parent link, seq chain, index and the heads; DataLoss
  // naming the first fault in arrival order. Signatures are checked against
  // the keys a database trusts by VerifyDatabase (crlog/history.h); here
  // signed events are counted as signed_unknown.
  absl::StatusOr<VerifyReport> Verify(const Progress& progress = {}) const;

  // Waits, without polling, until the log holds a published event past
  // `position` or `timeout` passes; true when it does. Sees commits of every
  // process (it watches the log's data file). For sync's continuous mode
  // and relays: remember LastPosition(), serve, wait, repeat.
  absl::StatusOr<bool> WaitForEventsAfter(uint64_t position, absl::Duration timeout) const;

  // Appends verified events (canonical bytes, parents first) to a standalone
  // log, in one durable transaction; events already present are skipped.
  // All or nothing: any failure names the event and leaves the log as it
  // was. Returns the ids, in order. FailedPrecondition on a log opened
  // read-only.
  absl::StatusOr<std::vector<Hash>> Append(absl::Span<const std::string> events);

  // For crlog's own layers.
  struct Impl;
  static std::unique_ptr<Log> Wrap(std::unique_ptr<Impl> impl);
  Impl& impl() const { return *impl_; }

 private:
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crlog

#endif  // CRLOG_LOG_H_
