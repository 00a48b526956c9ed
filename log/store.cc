// LogStore over LMDB (log/store.h; layout in log/format.h and
// docs/format.md): opening a log, its LMDB databases and format version, the
// meta beside it, and syncing. The rest of LogStore is in a file per concept:
// log/store_append.cc writes events, log/store_read.cc reads them,
// log/dag_walk.cc walks their parents, and log/env_registry.cc shares one
// LMDB env per path in the process.
#include "log/store.h"

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "log/store_internal.h"

namespace crlog::log {

// ---------------------------------------------------------------------------
// Opening

namespace {

// Opens LMDB at `canonical` into `env`: the environment, its databases, and
// the format version (written on a new log, checked on every other).
absl::Status OpenLmdb(LogStore::Env* env, const std::string& canonical, const StoreOptions& options) {
  int rc = mdb_env_create(&env->env);
  if (rc == 0) rc = mdb_env_set_maxdbs(env->env, format::kMaxDbs);
  if (rc == 0) rc = mdb_env_set_mapsize(env->env, options.map_size);
  if (rc == 0) rc = mdb_env_set_maxreaders(env->env, 1022);
  unsigned flags = MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0);
  // LMDB takes a 0-byte data.mdb for a new log and writes a fresh one over
  // it: the history it held is gone, and the log would then be called
  // another database's. Say what it is instead.
  const std::string data_file = (std::filesystem::path(canonical) / "data.mdb").string();
  std::error_code size_ec;
  const std::uintmax_t data_bytes = std::filesystem::file_size(data_file, size_ec);
  if (!size_ec && data_bytes == 0) {
    return absl::DataLossError(absl::StrCat(
        "the log file '", data_file, "' is empty (0 bytes): the log's history is gone (a failed copy or a "
        "truncation); restore the log directory from a backup, or move it aside with `crlog archive-log` "
        "to start a new log"));
  }
  if (rc == 0) rc = mdb_env_open(env->env, canonical.c_str(), flags, 0644);
  if (rc != 0) return LmdbError(rc, *env, "opening the log");
  // A data.mdb shorter than the pages LMDB says it uses would be read past
  // its end through the map, which kills the process with SIGBUS: refuse it
  // before any read.
  if (!size_ec) {
    if (absl::Status s = CheckDataFileCoversPages(env->env, data_file); !s.ok()) return s;
  }
  // Killed processes leave stale reader slots that would pin old pages.
  int dead = 0;
  mdb_reader_check(env->env, &dead);

  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(env->env, nullptr, options.read_only ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return LmdbError(rc, *env, "opening the log");
  unsigned create = options.read_only ? 0 : MDB_CREATE;
  struct {
    const char* name;
    MDB_dbi* dbi;
  } dbs[] = {{format::kMetaDb, &env->meta},       {format::kEventsDb, &env->events},
             {format::kByHashDb, &env->by_hash},  {format::kBySiteDb, &env->by_site},
             {format::kHeadsDb, &env->heads},     {format::kPendingDb, &env->pending}};
  for (auto& db : dbs) {
    rc = mdb_dbi_open(txn, db.name, create, db.dbi);
    if (rc != 0) {
      mdb_txn_abort(txn);
      if (rc == MDB_NOTFOUND) {
        return absl::DataLossError(absl::StrCat("the log at '", canonical,
                                                "' has no '", db.name,
                                                "' database: it is not a crlog log or is damaged"));
      }
      return LmdbError(rc, *env, absl::StrCat("opening database '", db.name, "'"));
    }
  }
  rc = mdb_dbi_open(txn, format::kArrivalsDb, create, &env->arrivals);
  if (rc == 0) {
    env->has_arrivals = true;
  } else if (rc != MDB_NOTFOUND) {
    mdb_txn_abort(txn);
    return LmdbError(rc, *env, absl::StrCat("opening database '", format::kArrivalsDb, "'"));
  }
  rc = mdb_dbi_open(txn, format::kSetAsideDb, create, &env->set_aside);
  if (rc == 0) {
    env->has_set_aside = true;
  } else if (rc != MDB_NOTFOUND) {
    mdb_txn_abort(txn);
    return LmdbError(rc, *env, absl::StrCat("opening database '", format::kSetAsideDb, "'"));
  }
  // The format version is written when the log is created and checked on
  // every open after.
  MDB_val key = Val(format::kMetaFormatVersion, std::strlen(format::kMetaFormatVersion));
  MDB_val value;
  rc = mdb_get(txn, env->meta, &key, &value);
  if (rc == MDB_NOTFOUND && !options.read_only) {
    PositionKey version(format::kFormatVersion);
    MDB_val v = Val(version.bytes + 4, 4);
    rc = mdb_put(txn, env->meta, &key, &v, 0);
    if (rc == 0) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc != 0) return LmdbError(rc, *env, "creating the log");
  } else if (rc != 0) {
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? absl::DataLossError(absl::StrCat("the log at '", canonical,
                                                                 "' has no format version"))
                              : LmdbError(rc, *env, "reading the format version");
  } else {
    uint32_t version = 0;
    if (value.mv_size == 4) {
      auto* b = static_cast<const uint8_t*>(value.mv_data);
      version = uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
    }
    if (version != format::kFormatVersion) {
      mdb_txn_abort(txn);
      return absl::FailedPreconditionError(absl::StrCat(
          "the log at '", canonical, "' has format version ", version, "; this crlog reads version ",
          format::kFormatVersion, ": use a crlog that matches the log"));
    }
    // Committing keeps the dbi handles open for the env's lifetime.
    rc = mdb_txn_commit(txn);
    if (rc != 0) return LmdbError(rc, *env, "opening the log");
  }
  return absl::OkStatus();
}

// The env of the log at `path`, the directory made first when the log is new.
absl::StatusOr<std::shared_ptr<LogStore::Env>> OpenEnv(const std::string& path,
                                                       const StoreOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  bool exists = fs::exists(fs::path(path) / "data.mdb", ec);
  if (!exists) {
    if (!options.create_if_missing || options.read_only) {
      return absl::NotFoundError(absl::StrCat("no crlog log at '", path,
                                              "' (no data.mdb there): check the path"));
    }
    fs::create_directories(path, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create the log directory '", path, "': ", ec.message()));
    }
  }
  std::string canonical = fs::canonical(path, ec).string();
  if (ec) {
    return absl::NotFoundError(absl::StrCat("cannot resolve log path '", path, "': ", ec.message()));
  }

  return SharedEnv(canonical, options,
                   [&](LogStore::Env& env) { return OpenLmdb(&env, canonical, options); });
}

}  // namespace

LogStore::LogStore(std::shared_ptr<Env> env, StoreOptions options)
    : env_(std::move(env)), options_(options) {}
LogStore::~LogStore() = default;

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Open(const std::string& path,
                                                         const StoreOptions& options) {
  auto env = OpenEnv(path, options);
  if (!env.ok()) return env.status();
  return std::unique_ptr<LogStore>(new LogStore(*std::move(env), options));
}

const std::string& LogStore::path() const { return env_->path; }

// ---------------------------------------------------------------------------
// Meta

absl::StatusOr<std::optional<std::string>> LogStore::GetMeta(std::string_view key) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_val k = Val(key.data(), key.size()), v;
  int rc = mdb_get(txn.get(), env_->meta, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, *env_, "reading the log's meta");
  return std::string(View(v));
}

absl::Status LogStore::PutMeta(std::string_view key, std::string_view value,
                               Durability durability) {
  if (absl::Status s = RefuseIfReadOnly(*this, "write the log's meta"); !s.ok()) return s;
  return WriteTxn(*env_, durability, "writing the log's meta", [&](MDB_txn* txn) {
    MDB_val k = Val(key.data(), key.size()), v = Val(value.data(), value.size());
    int rc = mdb_put(txn, env_->meta, &k, &v, 0);
    return rc == 0 ? absl::OkStatus() : LmdbError(rc, *env_, "writing the log's meta");
  });
}

absl::Status LogStore::Sync() {
  int rc = mdb_env_sync(env_->env, 1);
  return rc == 0 ? absl::OkStatus() : LmdbError(rc, *env_, "syncing the log");
}

}  // namespace crlog::log
