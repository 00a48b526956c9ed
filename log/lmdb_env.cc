// The LMDB environment behind LogStore and what log/'s files share over it
// (log/lmdb_env.h): the env's lifetime, the check that stored bytes still
// hash to their id, LMDB's errors as statuses, read transactions and keys.
#include "log/lmdb_env.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace crlog::log {

LogStore::Env::~Env() {
  if (env != nullptr) mdb_env_close(env);
}

absl::Status LogStore::Env::CheckIntact(uint64_t position, const Hash& hash, std::string_view bytes) const {
  uint64_t prefix = 0;
  std::memcpy(&prefix, hash.data(), sizeof prefix);
  prefix |= 1;  // never 0, which means "not checked"
  {
    std::lock_guard<std::mutex> lock(verified_mu_);
    if (position < verified_.size() && verified_[position] == prefix) return absl::OkStatus();
  }
  if (Sha256(bytes) != hash) {
    return absl::DataLossError(absl::StrCat("event ", ToHex(hash), " at position ", position, " of '", path,
                                            "' was altered: its bytes do not hash to its id; run `crlog verify` "
                                            "to find every fault, and restore the log from a backup or a peer"));
  }
  std::lock_guard<std::mutex> lock(verified_mu_);
  if (position >= verified_.size()) verified_.resize(std::max<size_t>(position + 1, verified_.size() * 2), 0);
  verified_[position] = prefix;
  return absl::OkStatus();
}

absl::Status LmdbError(int rc, const LogStore::Env& env, std::string_view doing) {
  if (rc == MDB_MAP_FULL) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the log at '", env.path, "' is full (its LMDB map size is ", env.map_size,
        " bytes) while ", Sv(doing), ": reopen it with a larger map size, or garbage-collect history"));
  }
  if (rc == MDB_READERS_FULL) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many readers of the log at '", env.path, "' while ", Sv(doing),
        ": close idle connections (stale slots of killed processes are cleared on open)"));
  }
  if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) {
    return absl::DataLossError(absl::StrCat("the log at '", env.path, "' is damaged (",
                                            mdb_strerror(rc), ") while ", Sv(doing)));
  }
  if (rc == MDB_VERSION_MISMATCH) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log at '", env.path, "' was written by an incompatible LMDB version"));
  }
  return absl::InternalError(
      absl::StrCat("LMDB error while ", Sv(doing), " in '", env.path, "': ", mdb_strerror(rc)));
}

absl::Status ReadTxn::Begin() {
  int rc = mdb_txn_begin(env_.env, nullptr, MDB_RDONLY, &txn_);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(env_.env, 0);
    rc = mdb_txn_begin(env_.env, nullptr, MDB_RDONLY, &txn_);
  }
  if (rc != 0) {
    txn_ = nullptr;
    return LmdbError(rc, env_, "starting a read");
  }
  return LoadPending();
}

absl::Status ReadTxn::LoadPending() {
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn_, env_.pending, &cursor);
  if (rc != 0) return LmdbError(rc, env_, "reading pending events");
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    pending_.insert(DecodeU64(View(k)));
  }
  mdb_cursor_close(cursor);
  return rc == MDB_NOTFOUND ? absl::OkStatus() : LmdbError(rc, env_, "reading pending events");
}

uint64_t DecodeU64(std::string_view bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) v = v << 8 | static_cast<uint8_t>(bytes[i]);
  return v;
}

SiteSeqKey::SiteSeqKey(const SiteId& site, uint64_t seq) {
  std::memcpy(bytes, site.data(), format::kSiteSize);
  PositionKey s(seq);
  std::memcpy(bytes + format::kSiteSize, s.bytes, 8);
}

}  // namespace crlog::log
