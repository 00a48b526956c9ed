// LogStore: the hash-linked event log of one database, kept in LMDB.
//
// Contract:
// - One MDB_env per process per path, shared by every LogStore opened on that
//   path (LMDB forbids opening one env twice in a process). The env is opened
//   with MDB_NOTLS and stale reader slots are cleared on open.
// - A LogStore is thread-safe. Read calls run in their own LMDB read
//   transaction and return copies. Write calls are serialised per process;
//   across processes LMDB's writer lock serialises them.
// - Never call a write method while waiting for a SQLite lock elsewhere in
//   the same thread of control (LMDB's writer mutex has no timeout).
// - Every write is all or nothing: on error the store is unchanged.
// - Readers see published events only. Pending events (stored by capture
//   before SQLite commits) are visible only through PendingEvents().
#ifndef CRLOG_LOG_STORE_H_
#define CRLOG_LOG_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/log.h"
#include "log/event.h"
#include "log/format.h"
#include "log/hash.h"

namespace crlog::log {

struct StoreOptions {
  // LMDB map size: an upper bound on the log's size (address space, not
  // disk). Appends past it fail with ResourceExhausted.
  size_t map_size = format::kDefaultMapSize;
  size_t max_event_bytes = format::kDefaultMaxEventBytes;
  bool create_if_missing = true;
  bool read_only = false;
};

// Whether a write must reach the disk before the call returns. The caller
// decides per transaction (the engine follows SQLite's synchronous setting).
enum class Durability { kNoSync, kSync };

// The stored event, version vectors and stats are public (crlog/log.h).
using crlog::StoredEvent;
using crlog::VersionVector;
using StoreStats = crlog::LogStats;

struct AppendResult {
  Hash hash{};
  uint64_t position = 0;
  bool already_present = false;  // appending an event already there is a no-op
};

// Implemented in a file per concept, named in each section below.
class LogStore {
 public:
  // --- Opening (log/store.cc; the env shared per path: log/env_registry.cc)
  // Opens (or creates) the log at `path`, a directory. A log written by an
  // unknown format version is refused with FailedPrecondition.
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(const std::string& path,
                                                        const StoreOptions& options = {});
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  const std::string& path() const;
  const StoreOptions& options() const { return options_; }

  // --- Writing (log/store_append.cc) --------------------------------------
  // Appends verified, published events in one LMDB transaction. Each event
  // is decoded and checked: canonical, within the size limit, rows well
  // formed; a native event's seq is its site's next and every parent is
  // published (or earlier in `events`); lamport is 1 + max over parents;
  // groups are complete. An event already present is skipped. Any failure
  // leaves the store unchanged and names the event at fault.
  absl::StatusOr<std::vector<AppendResult>> Append(absl::Span<const std::string> events,
                                                   Durability durability);
  absl::StatusOr<AppendResult> Append(std::string_view event, Durability durability);

  // Stores events as pending (capture's phase one). They hold their seq:
  // appending the same pending event again (a retried COMMIT) is a no-op.
  absl::StatusOr<std::vector<AppendResult>> AppendPending(absl::Span<const std::string> events,
                                                          Durability durability);
  // The same for events this process just encoded (EncodeEvent's output,
  // bytes and hash as it returned them): capture's own. The full decode,
  // the canonical re-encoding and the re-hash AppendPending does for bytes
  // from elsewhere are skipped; every check that needs the log (seq chain,
  // parents, lamport, groups) and the size limit stay.
  absl::StatusOr<std::vector<AppendResult>> AppendPendingEncoded(absl::Span<const EncodedEvent> events,
                                                                 Durability durability);
  // Makes pending events visible (capture's phase two), or forgets them.
  // Unknown hashes are NotFound; publishing a published event is a no-op.
  // With `forget_set_aside` (the caller's SQLite transaction has committed
  // and written), events set aside before are dropped for good in the same
  // LMDB transaction: see SetAside.
  absl::Status Publish(absl::Span<const Hash> hashes, Durability durability, bool forget_set_aside = false);
  absl::Status Discard(absl::Span<const Hash> hashes, Durability durability);
  // Discards pending events, but keeps their bytes aside: recovery judged
  // them uncommitted from what SQLite shows, and in WAL mode a killed
  // writer's commit frames can still be found by SQLite's next WAL recovery
  // until a later commit overwrites them (docs/architecture.md, Recovery).
  // Their seqs are free again. Kept until a Publish with forget_set_aside.
  absl::Status SetAside(absl::Span<const Hash> hashes, Durability durability);
  // The events set aside, in the order they were stored (parents first).
  absl::StatusOr<std::vector<StoredEvent>> SetAsideEvents() const;
  // Stores set-aside events pending again (the database turned out to have
  // committed them), in the order given, parents first; the caller then
  // publishes them.
  absl::Status RestoreSetAside(absl::Span<const StoredEvent> events, Durability durability);
  // Read under LMDB's writer lock on a writable log, so that a commit a
  // killed writer completed is seen (see store_append.cc).
  absl::StatusOr<std::vector<StoredEvent>> PendingEvents() const;

  // --- Meta (log/store.cc) ------------------------------------------------
  // Small settings beside the log (e.g. the owning database's id).
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;
  absl::Status PutMeta(std::string_view key, std::string_view value, Durability durability);

  // --- Reading, published events only (log/store_read.cc) -----------------
  // NotFound when absent.
  absl::StatusOr<StoredEvent> Get(const Hash& hash) const;
  // The same, pending events included: for readers that found the id in a
  // database that committed it (crlog_versions), which may be read between
  // SQLite's commit and the publish, or inside the transaction that stored it.
  absl::StatusOr<StoredEvent> GetIncludingPending(const Hash& hash) const;
  // `hex_prefix` of at least 4 hex digits; InvalidArgument when it matches
  // more than one event, NotFound when none.
  absl::StatusOr<StoredEvent> GetByPrefix(std::string_view hex_prefix) const;
  absl::StatusOr<StoredEvent> GetBySiteSeq(const SiteId& site, uint64_t seq) const;
  absl::StatusOr<bool> Contains(const Hash& hash) const;

  // Visits events in local arrival order (parents before children) starting
  // at `from_position`; stop by returning false from `visit`.
  absl::Status ForEach(const std::function<bool(const StoredEvent&)>& visit,
                       uint64_t from_position = 1) const;
  // Same, newest first.
  absl::Status ForEachNewestFirst(const std::function<bool(const StoredEvent&)>& visit) const;

  // When this log stored the event at `position` (its clock, in
  // microseconds since the Unix epoch; never earlier than the event before
  // it). nullopt for an unknown position or a log that predates arrival times.
  absl::StatusOr<std::optional<int64_t>> ArrivalMicros(uint64_t position) const;
  // The newest published position that had arrived by `time_micros` (0 when
  // none had): everything at or before it is what this log held then.
  absl::StatusOr<uint64_t> PositionArrivedBy(int64_t time_micros) const;

  // Published events that no published event names as a parent, sorted.
  absl::StatusOr<std::vector<Hash>> Heads() const;
  absl::StatusOr<VersionVector> GetVersionVector() const;
  // The next seq `site` will use (counting pending events).
  absl::StatusOr<uint64_t> NextSeq(const SiteId& site) const;
  // The lamport an event with parents `parents` must carry.
  absl::StatusOr<uint64_t> LamportAfter(absl::Span<const Hash> parents) const;

  // --- DAG walks (log/dag_walk.cc) ----------------------------------------
  // The events a peer lacks, given its version vector and heads, in arrival
  // order (parents first). Cost follows what the peer lacks, not the length
  // of history.
  absl::StatusOr<std::vector<StoredEvent>> MissingFor(const VersionVector& peer,
                                                      absl::Span<const Hash> peer_heads) const;
  // Every event in the past of `heads`, the heads included, in arrival order.
  absl::StatusOr<std::vector<Hash>> Ancestors(absl::Span<const Hash> heads) const;
  // Whether `ancestor` is in the past of `descendant` (an event is in its own
  // past). NotFound if either is unknown.
  absl::StatusOr<bool> IsAncestor(const Hash& ancestor, const Hash& descendant) const;

  // --- The whole log (Stats: log/store_read.cc; Sync: log/store.cc) -------
  absl::StatusOr<StoreStats> Stats() const;

  // Forces buffered writes to disk (used before SQLite checkpoints in WAL +
  // synchronous=NORMAL).
  absl::Status Sync();

  class Env;  // the shared LMDB environment (log/lmdb_env.h, internal)
  // For log/ itself (verify): the environment behind this store.
  Env& env() const { return *env_; }

 private:
  LogStore(std::shared_ptr<Env> env, StoreOptions options);
  std::shared_ptr<Env> env_;
  StoreOptions options_;
};

}  // namespace crlog::log

#endif  // CRLOG_LOG_STORE_H_
