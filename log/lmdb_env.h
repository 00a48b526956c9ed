// Internal to log/: the process-wide LMDB environment behind LogStore, key
// encodings, and the mapping of LMDB errors to statuses. Only log/*.cc
// include this.
#ifndef CRLOG_LOG_LMDB_ENV_H_
#define CRLOG_LOG_LMDB_ENV_H_

#include <lmdb.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "log/format.h"
#include "log/hash.h"
#include "log/store.h"

namespace crlog::log {

class LogStore::Env {
 public:
  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env();

  std::string path;  // canonical directory path
  MDB_env* env = nullptr;
  bool read_only = false;
  bool registered = false;  // in the process registry (guarded by its mutex)
  size_t map_size = 0;
  MDB_dbi meta = 0, events = 0, by_hash = 0, by_site = 0, heads = 0, pending = 0, arrivals = 0, set_aside = 0;
  // Logs written before arrival times were kept lack `arrivals`; opened
  // read-only they still read, with no arrival times.
  bool has_arrivals = false;
  // Logs written before set-aside events existed lack `set_aside`; a
  // writable open creates it, a read-only one reads none.
  bool has_set_aside = false;
  // Serialises this process's writers, so the per-transaction sync flag set
  // on the shared MDB_env applies to the transaction that set it.
  std::mutex write_mu;

  // OK if `bytes`, read at `position`, hash to `hash`, the id they are
  // stored under; DataLoss naming the event and the file otherwise. Every
  // read of stored event bytes goes through it, so a byte changed on disk is
  // never exported, folded or shown as history. This process checks each
  // event once: the first 8 bytes of each checked id are kept by position
  // (a position reused after a discard holds another id, and is checked
  // again).
  absl::Status CheckIntact(uint64_t position, const Hash& hash, std::string_view bytes) const;

 private:
  mutable std::mutex verified_mu_;
  mutable std::vector<uint64_t> verified_;  // by position; 0: not checked
};

// Maps an LMDB return code to a status naming the log and what was being
// done. MDB_MAP_FULL becomes ResourceExhausted with what to do about it.
absl::Status LmdbError(int rc, const LogStore::Env& env, std::string_view doing);

// A read transaction (MDB_NOTLS lets a thread hold several). Loads the set of
// pending positions on first use, so visibility checks cost no lookups.
class ReadTxn {
 public:
  explicit ReadTxn(const LogStore::Env& env) : env_(env) {}
  ~ReadTxn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;
  absl::Status Begin();
  MDB_txn* get() const { return txn_; }
  absl::Status LoadPending();
  bool IsPending(uint64_t position) const { return pending_.contains(position); }

 private:
  const LogStore::Env& env_;
  MDB_txn* txn_ = nullptr;
  absl::flat_hash_set<uint64_t> pending_;
};

inline MDB_val Val(const void* data, size_t size) {
  return MDB_val{size, const_cast<void*>(data)};
}
inline std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// Positions and seqs are stored big-endian so LMDB's bytewise order is
// numeric order.
struct PositionKey {
  explicit PositionKey(uint64_t position) {
    for (int i = 7; i >= 0; --i) {
      bytes[i] = static_cast<uint8_t>(position);
      position >>= 8;
    }
  }
  MDB_val val() { return Val(bytes, sizeof bytes); }
  uint8_t bytes[8];
};
uint64_t DecodeU64(std::string_view bytes);  // 8 bytes big-endian

struct SiteSeqKey {
  SiteSeqKey(const SiteId& site, uint64_t seq);
  MDB_val val() { return Val(bytes, sizeof bytes); }
  uint8_t bytes[format::kBySiteKeySize];
};

}  // namespace crlog::log

#endif  // CRLOG_LOG_LMDB_ENV_H_
