// Internal to LogStore's implementation (log/store*.cc, log/env_registry.cc,
// log/dag_walk.cc): what its parts share. Nothing outside those files
// includes this.
#ifndef CRLOG_LOG_STORE_INTERNAL_H_
#define CRLOG_LOG_STORE_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/lmdb_env.h"
#include "log/store.h"
#include "util/strings.h"

namespace crlog::log {

// --- Opening ------------------------------------------------------------
// The env open on `canonical` (a canonical directory path) in this process;
// else a new one, set up by `open` (which opens LMDB there) and registered
// for the next caller (log/env_registry.cc).
absl::StatusOr<std::shared_ptr<LogStore::Env>> SharedEnv(
    const std::string& canonical, const StoreOptions& options,
    const std::function<absl::Status(LogStore::Env&)>& open);

// OK unless data.mdb is shorter than the pages LMDB says it uses
// (log/data_file_check.cc).
absl::Status CheckDataFileCoversPages(MDB_env* env, const std::string& data_file);

// --- Writing ------------------------------------------------------------
// A write transaction. Durability is set on the shared env for the length of
// the transaction; `write_mu` makes that safe within the process.
template <typename Body>
absl::Status WriteTxn(LogStore::Env& env, Durability durability, std::string_view doing,
                      Body&& body) {
  if (env.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log at '", env.path, "' is open read-only; cannot ", Sv(doing)));
  }
  std::lock_guard<std::mutex> lock(env.write_mu);
  mdb_env_set_flags(env.env, MDB_NOSYNC, durability == Durability::kNoSync ? 1 : 0);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.env, nullptr, 0, &txn);
  if (rc == MDB_MAP_RESIZED) {  // another process grew the map
    mdb_env_set_mapsize(env.env, 0);
    rc = mdb_txn_begin(env.env, nullptr, 0, &txn);
  }
  if (rc != 0) return LmdbError(rc, env, doing);
  absl::Status status = body(txn);
  if (!status.ok()) {
    mdb_txn_abort(txn);
    return status;
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbError(rc, env, doing);
  return absl::OkStatus();
}

// A store opened read-only refuses writes even when its env, shared with
// another store on the path, was opened for writing.
inline absl::Status RefuseIfReadOnly(const LogStore& store, std::string_view doing) {
  if (!store.options().read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("the log at '", store.path(),
                                                    "' was opened read-only; cannot ", Sv(doing)));
}

// --- Lookups inside a transaction (log/store_read.cc) ------------------------
// The event at `position`, checked intact; DataLoss when an index names a
// position that holds none.
absl::StatusOr<StoredEvent> ReadEventAt(MDB_txn* txn, const LogStore::Env& env, uint64_t position);
// Position of `hash`, including pending events; nullopt when absent. (The
// append path asks this of every new event: no status is built for "no".)
absl::StatusOr<std::optional<uint64_t>> FindPosition(MDB_txn* txn, const LogStore::Env& env, const Hash& hash);
// Position of `hash`, including pending events; NotFound when absent.
absl::StatusOr<uint64_t> PositionOf(MDB_txn* txn, const LogStore::Env& env, const Hash& hash);
// Header of the event at `position`, decoded in place.
absl::StatusOr<EventHeader> HeaderAt(MDB_txn* txn, const LogStore::Env& env, uint64_t position);
// Highest seq stored for `site`, pending events included (0 if none).
absl::StatusOr<uint64_t> LastSeq(MDB_txn* txn, const LogStore::Env& env, const SiteId& site);

}  // namespace crlog::log

#endif  // CRLOG_LOG_STORE_INTERNAL_H_
