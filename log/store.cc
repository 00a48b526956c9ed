// LogStore over LMDB (log/store.h; layout in log/format.h and
// docs/format.md). Appends decode and check every event before the write
// transaction begins, then check what needs the log (seq chain, parents,
// lamport, groups) inside it; any failure aborts the transaction, so the
// store is unchanged.
#include "log/store.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "absl/synchronization/mutex.h"
#include "log/lmdb_env.h"

namespace crlog::log {
namespace {

std::string Describe(const Hash& hash, const EventHeader& h) {
  if (h.kind == EventKind::kImport) return absl::StrCat("import event ", ShortHex(hash));
  return absl::StrCat("event ", ShortHex(hash), " (site ", ToHex(h.site), " seq ", h.seq, ")");
}

// The process-wide registry of open environments: LMDB forbids opening one
// env twice in a process (closing either would drop the other's locks).
absl::Mutex registry_mu;
absl::flat_hash_map<std::string, std::weak_ptr<LogStore::Env>>& Registry() {
  static auto* registry = new absl::flat_hash_map<std::string, std::weak_ptr<LogStore::Env>>();
  return *registry;
}

absl::Status CheckDataFileCoversPages(MDB_env* env, const std::string& data_file);

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

  absl::MutexLock lock(&registry_mu);
  auto& registry = Registry();
  if (auto it = registry.find(canonical); it != registry.end()) {
    if (auto env = it->second.lock()) {
      if (env->read_only && !options.read_only) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the log at '", canonical,
            "' is already open read-only in this process; close it before opening it for writing"));
      }
      return env;
    }
  }

  // The deleter closes the env under the registry lock, so a concurrent Open
  // never sees a half-closed env for the same path.
  // The deleter closes a registered env under the registry lock, so a
  // concurrent Open never sees a half-closed env for the same path. An env
  // that failed to open was never registered and is closed here, where the
  // lock is already held.
  std::shared_ptr<LogStore::Env> env(new LogStore::Env(), [](LogStore::Env* e) {
    if (e->registered) {
      absl::MutexLock lock(&registry_mu);
      auto& reg = Registry();
      if (auto it = reg.find(e->path); it != reg.end() && it->second.expired()) reg.erase(it);
    }
    delete e;
  });
  env->path = canonical;
  env->read_only = options.read_only;
  env->map_size = options.map_size;
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
  env->registered = true;
  registry[canonical] = env;
  return env;
}

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

}  // namespace

namespace {

// A read through the map past the end of data.mdb raises SIGBUS. The walk
// below runs only on a data file shorter than LMDB's last page, and catches
// it on its own thread (one walk at a time); any other SIGBUS gets the
// default action. Process globals, not thread_local: a thread_local in a
// dlopened library lives in dynamic TLS, which this toolchain's
// LeakSanitizer can crash scanning at exit ("Tracer caught signal 11").
std::mutex bus_walk_mu;
sigjmp_buf* bus_jump = nullptr;
std::atomic<pid_t> bus_thread{0};
struct sigaction bus_previous {};
void OnBusError(int sig, siginfo_t* info, void* context) {
  if (bus_jump != nullptr && bus_thread.load() == gettid()) siglongjmp(*bus_jump, 1);
  // Another thread's SIGBUS, during the walk: what the host installed handles it.
  if ((bus_previous.sa_flags & SA_SIGINFO) != 0 && bus_previous.sa_sigaction != nullptr) {
    bus_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (bus_previous.sa_handler != SIG_DFL && bus_previous.sa_handler != SIG_IGN) {
    bus_previous.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// Whether every page from `first` to `last` (those past the end of a short
// data.mdb) is in LMDB's free list. LMDB counts a page allocated and freed
// within one transaction in its last page without ever writing it, so a log
// whose process was killed can legitimately end a few free pages early;
// only a page the trees still use makes the file truncated.
bool TailPagesAreFree(MDB_txn* txn, uint64_t first, uint64_t last) {
  absl::flat_hash_set<uint64_t> missing;
  for (uint64_t p = first; p <= last; ++p) missing.insert(p);
  std::lock_guard<std::mutex> walk(bus_walk_mu);
  struct sigaction handler{};
  handler.sa_sigaction = OnBusError;
  handler.sa_flags = SA_SIGINFO;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGBUS, &handler, &bus_previous);
  MDB_cursor* cursor = nullptr;
  sigjmp_buf jump;
  volatile bool faulted = false;
  if (sigsetjmp(jump, 1) == 0) {
    bus_jump = &jump;
    bus_thread.store(gettid());
    if (mdb_cursor_open(txn, /*FREE_DBI=*/0, &cursor) == 0) {
      MDB_val k, v;
      for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0 && !missing.empty();
           rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        // An ID list: its count, then the page numbers.
        const auto* ids = static_cast<const size_t*>(v.mv_data);
        const size_t n = v.mv_size / sizeof(size_t);
        for (size_t i = 1; i < n && i <= ids[0]; ++i) missing.erase(ids[i]);
      }
    }
  } else {
    faulted = true;
  }
  bus_thread.store(0);
  bus_jump = nullptr;
  sigaction(SIGBUS, &bus_previous, nullptr);
  if (cursor != nullptr) mdb_cursor_close(cursor);
  return !faulted && missing.empty();
}

absl::Status CheckDataFileCoversPages(MDB_env* env, const std::string& data_file) {
  // Another process may commit while this looks. Its pages are written
  // before its meta page, so a file size read after the meta covers what
  // that meta names; the free list is read in a snapshot of that same meta
  // (a commit in between means looking again).
  for (int attempt = 0;; ++attempt) {
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) != 0) return absl::OkStatus();  // the caller's open names it
    MDB_envinfo info;
    MDB_stat stat;
    std::error_code ec;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &stat) != 0) {
      mdb_txn_abort(txn);
      return absl::OkStatus();
    }
    const std::uintmax_t data_bytes = std::filesystem::file_size(data_file, ec);
    const std::uintmax_t used = (std::uintmax_t{info.me_last_pgno} + 1) * stat.ms_psize;
    if (ec || data_bytes >= used) {
      mdb_txn_abort(txn);
      return absl::OkStatus();
    }
    if (mdb_txn_id(txn) != info.me_last_txnid && attempt < 1000) {
      mdb_txn_abort(txn);
      continue;
    }
    const bool free_tail = TailPagesAreFree(txn, data_bytes / stat.ms_psize, info.me_last_pgno);
    mdb_txn_abort(txn);
    if (free_tail) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat("the log file '", data_file, "' is truncated: it is ", data_bytes,
                                            " bytes but its pages reach ", used,
                                            " bytes; restore the log directory from a backup (`crlog verify` "
                                            "checks the result)"));
  }
}

}  // namespace

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

namespace {

absl::StatusOr<StoredEvent> ReadEventAt(MDB_txn* txn, const LogStore::Env& env,
                                        uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn, env.events, &k, &v);
  if (rc == MDB_NOTFOUND) {
    return absl::DataLossError(absl::StrCat("the log at '", env.path, "' indexes position ",
                                            position, " but holds no event there"));
  }
  if (rc != 0) return LmdbError(rc, env, "reading an event");
  if (v.mv_size < format::kEventValueHeader) {
    return absl::DataLossError(absl::StrCat("the event at position ", position, " is truncated"));
  }
  StoredEvent out;
  out.position = position;
  std::memcpy(out.hash.data(), v.mv_data, format::kHashSize);
  out.bytes.assign(static_cast<const char*>(v.mv_data) + format::kEventValueHeader,
                   v.mv_size - format::kEventValueHeader);
  if (absl::Status s = env.CheckIntact(position, out.hash, out.bytes); !s.ok()) return s;
  return out;
}

// Position of `hash`, including pending events; nullopt when absent. (The
// append path asks this of every new event: no status is built for "no".)
absl::StatusOr<std::optional<uint64_t>> FindPosition(MDB_txn* txn, const LogStore::Env& env,
                                                     const Hash& hash) {
  MDB_val k = Val(hash.data(), hash.size()), v;
  int rc = mdb_get(txn, env.by_hash, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, env, "looking up an event");
  if (v.mv_size != 8) return absl::DataLossError("a by_hash entry is not 8 bytes");
  return DecodeU64(View(v));
}

// Position of `hash`, including pending events; NotFound when absent.
absl::StatusOr<uint64_t> PositionOf(MDB_txn* txn, const LogStore::Env& env, const Hash& hash) {
  auto pos = FindPosition(txn, env, hash);
  if (!pos.ok()) return pos.status();
  if (!pos->has_value()) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  return **pos;
}

// Header of the event at `position`, decoded in place.
absl::StatusOr<EventHeader> HeaderAt(MDB_txn* txn, const LogStore::Env& env, uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn, env.events, &k, &v);
  if (rc != 0) {
    return rc == MDB_NOTFOUND
               ? absl::DataLossError(absl::StrCat("no event at indexed position ", position))
               : LmdbError(rc, env, "reading an event");
  }
  if (v.mv_size < format::kEventValueHeader) return absl::DataLossError("truncated event");
  std::string_view bytes = View(v).substr(format::kEventValueHeader);
  return DecodeEventHeader(bytes, DecodeLimits{SIZE_MAX});
}

// Highest seq stored for `site`, pending events included (0 if none).
absl::StatusOr<uint64_t> LastSeq(MDB_txn* txn, const LogStore::Env& env, const SiteId& site) {
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, env.by_site, &cursor);
  if (rc != 0) return LmdbError(rc, env, "reading the seq index");
  SiteSeqKey probe(site, UINT64_MAX);
  MDB_val k = probe.val(), v;
  rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  if (rc == 0) rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
  else if (rc == MDB_NOTFOUND) rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST);
  uint64_t last = 0;
  if (rc == 0 && k.mv_size == format::kBySiteKeySize &&
      std::memcmp(k.mv_data, site.data(), format::kSiteSize) == 0) {
    last = DecodeU64(View(k).substr(format::kSiteSize));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "reading the seq index");
  return last;
}

bool IsPendingIn(MDB_txn* txn, const LogStore::Env& env, uint64_t position) {
  PositionKey key(position);
  MDB_val k = key.val(), v;
  return mdb_get(txn, env.pending, &k, &v) == 0;
}

struct Candidate {
  std::string_view bytes;
  Hash hash{};
  EventHeader header;
};

}  // namespace

// ---------------------------------------------------------------------------
// Internal helpers shared with verify.cc (log/lmdb_env.h).

LogStore::Env::~Env() {
  if (env != nullptr) mdb_env_close(env);
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

namespace crlog {

absl::StatusOr<Event> StoredEvent::Decode() const {
  auto e = DecodeEvent(bytes, DecodeLimits{SIZE_MAX});
  if (!e.ok()) {
    return absl::DataLossError(absl::StrCat("stored event ", ShortHex(hash), " at position ",
                                            position, " does not decode: ", e.status().message()));
  }
  return e;
}

absl::StatusOr<Event> StoredEvent::DecodeTrusted() const {
  auto e = DecodeEvent(bytes, DecodeLimits{SIZE_MAX, /*trusted=*/true});
  if (!e.ok()) {
    return absl::DataLossError(absl::StrCat("stored event ", ShortHex(hash), " at position ",
                                            position, " does not decode: ", e.status().message()));
  }
  return e;
}

}  // namespace crlog

namespace crlog::log {

// ---------------------------------------------------------------------------
// Opening

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
// Appending

namespace {

// Checks and stores `events` inside `txn`. With `pending`, events are marked
// pending and heads are left alone.
absl::StatusOr<std::vector<AppendResult>> AppendInTxn(MDB_txn* txn, LogStore::Env& env,
                                                      std::vector<Candidate>& batch,
                                                      bool pending) {
  std::vector<AppendResult> results(batch.size());
  // Lamport of events written earlier in this batch, and which of them are
  // new (so a pending parent from this batch is acceptable).
  absl::flat_hash_map<Hash, uint64_t> batch_lamport;

  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn, env.events, &cursor);
  if (rc != 0) return LmdbError(rc, env, "appending");
  MDB_val lk, lv;
  rc = mdb_cursor_get(cursor, &lk, &lv, MDB_LAST);
  uint64_t next_position = rc == 0 ? DecodeU64(View(lk)) + 1 : 1;
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "appending");

  // Arrival times never go back, even when the clock does, so "what had
  // arrived by time T" is always a prefix of the log (causally closed).
  int64_t arrival_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  rc = mdb_cursor_open(txn, env.arrivals, &cursor);
  if (rc != 0) return LmdbError(rc, env, "appending");
  rc = mdb_cursor_get(cursor, &lk, &lv, MDB_LAST);
  if (rc == 0 && lv.mv_size == 8) {
    arrival_micros = std::max(arrival_micros, static_cast<int64_t>(DecodeU64(View(lv))));
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "appending");

  // Groups met in this batch: first member's id -> members seen.
  absl::flat_hash_map<Hash, std::vector<uint32_t>> groups;
  absl::flat_hash_map<Hash, uint32_t> group_counts;

  for (size_t i = 0; i < batch.size(); ++i) {
    Candidate& c = batch[i];
    const EventHeader& h = c.header;
    results[i].hash = c.hash;
    auto existing = FindPosition(txn, env, c.hash);
    if (!existing.ok()) return existing.status();
    if (existing->has_value()) {
      results[i].position = **existing;
      results[i].already_present = true;
      continue;
    }

    if (h.kind != EventKind::kImport) {
      SiteSeqKey key(h.site, h.seq);
      MDB_val k = key.val(), v;
      rc = mdb_get(txn, env.by_site, &k, &v);
      if (rc == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            Describe(c.hash, h), " claims a place its site already holds with another event: "
            "two replicas are writing as one site, probably because a database file was copied; "
            "give the copy a new site id"));
      }
      auto last = LastSeq(txn, env, h.site);
      if (!last.ok()) return last.status();
      if (h.seq != *last + 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            Describe(c.hash, h), " does not follow its site's last seq ", *last,
            ": seq must be ", *last + 1, " (send or append the missing events first)"));
      }
    }
    uint64_t max_parent_lamport = 0;
    for (const Hash& parent : h.parents) {
      uint64_t lamport;
      if (auto it = batch_lamport.find(parent); it != batch_lamport.end()) {
        lamport = it->second;
      } else {
        auto found = FindPosition(txn, env, parent);
        if (!found.ok()) return found.status();
        if (!found->has_value()) {
          return absl::FailedPreconditionError(
              absl::StrCat(Describe(c.hash, h), " names parent ", ToHex(parent),
                           " which is not in the log: append its parents first"));
        }
        const uint64_t* pos = &**found;
        // A pending event may build on a pending parent (a transaction that
        // applied remote events and then wrote): they commit together, and
        // recovery publishes a parent with its child. A published one may not.
        if (!pending && IsPendingIn(txn, env, *pos)) {
          return absl::FailedPreconditionError(
              absl::StrCat(Describe(c.hash, h), " names parent ", ShortHex(parent),
                           " which is pending (not yet committed)"));
        }
        auto ph = HeaderAt(txn, env, *pos);
        if (!ph.ok()) return ph.status();
        lamport = ph->lamport;
      }
      max_parent_lamport = std::max(max_parent_lamport, lamport);
    }
    if (h.lamport != max_parent_lamport + 1) {
      return absl::InvalidArgumentError(absl::StrCat(Describe(c.hash, h), " has lamport ",
                                                     h.lamport, " but its parents make it ",
                                                     max_parent_lamport + 1));
    }
    if (h.group.grouped()) {
      Hash first = h.group.index == 0 ? c.hash : h.group.first;
      groups[first].push_back(h.group.index);
      auto [it, inserted] = group_counts.emplace(first, h.group.count);
      if (!inserted && it->second != h.group.count) {
        return absl::InvalidArgumentError(absl::StrCat(Describe(c.hash, h),
                                                       " disagrees with its group on the count"));
      }
    }

    // Store it.
    uint64_t position = next_position++;
    PositionKey pkey(position);
    MDB_val k = pkey.val(), v;
    v.mv_size = format::kEventValueHeader + c.bytes.size();
    v.mv_data = nullptr;
    rc = mdb_put(txn, env.events, &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc != 0) return LmdbError(rc, env, "appending an event");
    std::memcpy(v.mv_data, c.hash.data(), format::kHashSize);
    std::memcpy(static_cast<char*>(v.mv_data) + format::kEventValueHeader, c.bytes.data(),
                c.bytes.size());
    MDB_val hk = Val(c.hash.data(), c.hash.size()), pv = pkey.val();
    rc = mdb_put(txn, env.by_hash, &hk, &pv, MDB_NOOVERWRITE);
    if (rc == 0 && h.kind != EventKind::kImport) {
      SiteSeqKey skey(h.site, h.seq);
      MDB_val sk = skey.val();
      rc = mdb_put(txn, env.by_site, &sk, &pv, MDB_NOOVERWRITE);
    }
    if (rc == 0) {
      PositionKey arrived(static_cast<uint64_t>(arrival_micros));
      MDB_val av = arrived.val();
      rc = mdb_put(txn, env.arrivals, &k, &av, MDB_APPEND);
    }
    if (rc == 0 && pending) {
      MDB_val hv = Val(c.hash.data(), c.hash.size());
      rc = mdb_put(txn, env.pending, &k, &hv, 0);
    }
    if (rc == 0 && !pending) {
      for (const Hash& parent : h.parents) {
        MDB_val ph = Val(parent.data(), parent.size());
        rc = mdb_del(txn, env.heads, &ph, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
        if (rc != 0) break;
      }
      MDB_val empty = Val("", 0);
      if (rc == 0) rc = mdb_put(txn, env.heads, &hk, &empty, 0);
    }
    if (rc != 0) return LmdbError(rc, env, "indexing an event");
    batch_lamport[c.hash] = h.lamport;
    results[i].position = position;
  }

  // A group is stored whole or not at all.
  for (auto& [first, members] : groups) {
    uint32_t count = group_counts[first];
    std::sort(members.begin(), members.end());
    bool complete = members.size() == count;
    for (uint32_t j = 0; complete && j < count; ++j) complete = members[j] == j;
    if (!complete) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event group ", ShortHex(first), " has ", count, " members but ", members.size(),
          " arrived (or an index repeats): a group must be appended whole, in one batch"));
    }
  }
  return results;
}

absl::Status RefuseIfReadOnly(const LogStore& store, std::string_view doing) {
  if (!store.options().read_only) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("the log at '", store.path(),
                                                    "' was opened read-only; cannot ", Sv(doing)));
}

absl::StatusOr<std::vector<AppendResult>> AppendEvents(LogStore& store, LogStore::Env& env,
                                                       absl::Span<const std::string> events,
                                                       Durability durability, bool pending) {
  if (absl::Status s = RefuseIfReadOnly(store, "append events"); !s.ok()) return s;
  // CPU work first, outside the writer lock: decode, check, hash.
  std::vector<Candidate> batch(events.size());
  DecodeLimits limits{store.options().max_event_bytes};
  for (size_t i = 0; i < events.size(); ++i) {
    auto decoded = DecodeEvent(events[i], limits);
    if (!decoded.ok()) {
      return absl::Status(decoded.status().code(),
                          absl::StrCat("event ", i + 1, " of ", events.size(), " refused: ",
                                       decoded.status().message()));
    }
    Candidate& c = batch[i];
    c.bytes = events[i];
    c.hash = Sha256(events[i]);
    c.header.kind = decoded->kind;
    c.header.site = decoded->site;
    c.header.seq = decoded->seq;
    c.header.lamport = decoded->lamport;
    c.header.time_micros = decoded->time_micros;
    c.header.parents = std::move(decoded->parents);
    c.header.group = decoded->group;
  }
  std::vector<AppendResult> results;
  absl::Status s = WriteTxn(env, durability, "appending events", [&](MDB_txn* txn) {
    auto r = AppendInTxn(txn, env, batch, pending);
    if (!r.ok()) return r.status();
    results = *std::move(r);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return results;
}

}  // namespace

absl::StatusOr<std::vector<AppendResult>> LogStore::Append(absl::Span<const std::string> events,
                                                           Durability durability) {
  return AppendEvents(*this, *env_, events, durability, /*pending=*/false);
}

absl::StatusOr<AppendResult> LogStore::Append(std::string_view event, Durability durability) {
  std::string copy(event);
  auto r = Append(absl::MakeConstSpan(&copy, 1), durability);
  if (!r.ok()) return r.status();
  return r->front();
}

absl::StatusOr<std::vector<AppendResult>> LogStore::AppendPending(
    absl::Span<const std::string> events, Durability durability) {
  return AppendEvents(*this, *env_, events, durability, /*pending=*/true);
}

absl::Status LogStore::Publish(absl::Span<const Hash> hashes, Durability durability) {
  if (absl::Status s = RefuseIfReadOnly(*this, "publish events"); !s.ok()) return s;
  return WriteTxn(*env_, durability, "publishing events", [&](MDB_txn* txn) -> absl::Status {
    std::vector<uint64_t> positions;
    for (const Hash& hash : hashes) {
      auto pos = PositionOf(txn, *env_, hash);
      if (!pos.ok()) return pos.status();
      positions.push_back(*pos);
    }
    std::sort(positions.begin(), positions.end());  // parents before children
    for (uint64_t position : positions) {
      PositionKey key(position);
      MDB_val k = key.val();
      int rc = mdb_del(txn, env_->pending, &k, nullptr);
      if (rc == MDB_NOTFOUND) continue;  // already published
      if (rc != 0) return LmdbError(rc, *env_, "publishing an event");
      auto stored = ReadEventAt(txn, *env_, position);
      if (!stored.ok()) return stored.status();
      auto h = DecodeEventHeader(stored->bytes, DecodeLimits{SIZE_MAX});
      if (!h.ok()) return h.status();
      for (const Hash& parent : h->parents) {
        MDB_val ph = Val(parent.data(), parent.size());
        rc = mdb_del(txn, env_->heads, &ph, nullptr);
        if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "updating heads");
      }
      MDB_val hk = Val(stored->hash.data(), stored->hash.size()), empty = Val("", 0);
      rc = mdb_put(txn, env_->heads, &hk, &empty, 0);
      if (rc != 0) return LmdbError(rc, *env_, "updating heads");
    }
    return absl::OkStatus();
  });
}

absl::Status LogStore::Discard(absl::Span<const Hash> hashes, Durability durability) {
  if (absl::Status s = RefuseIfReadOnly(*this, "discard events"); !s.ok()) return s;
  return WriteTxn(*env_, durability, "discarding events", [&](MDB_txn* txn) -> absl::Status {
    for (const Hash& hash : hashes) {
      auto pos = PositionOf(txn, *env_, hash);
      if (!pos.ok()) return pos.status();
      PositionKey key(*pos);
      MDB_val k = key.val();
      int rc = mdb_del(txn, env_->pending, &k, nullptr);
      if (rc == MDB_NOTFOUND) {
        return absl::FailedPreconditionError(absl::StrCat(
            "event ", ShortHex(hash), " is published; only pending events can be discarded"));
      }
      if (rc != 0) return LmdbError(rc, *env_, "discarding an event");
      auto h = HeaderAt(txn, *env_, *pos);
      if (!h.ok()) return h.status();
      if (h->kind != EventKind::kImport) {
        SiteSeqKey skey(h->site, h->seq);
        MDB_val sk = skey.val();
        rc = mdb_del(txn, env_->by_site, &sk, nullptr);
      }
      MDB_val hk = Val(hash.data(), hash.size());
      if (rc == 0) rc = mdb_del(txn, env_->by_hash, &hk, nullptr);
      if (rc == 0) rc = mdb_del(txn, env_->events, &k, nullptr);
      if (rc != 0) return LmdbError(rc, *env_, "discarding an event");
      // Events stored before the log kept arrival times have none.
      rc = mdb_del(txn, env_->arrivals, &k, nullptr);
      if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "discarding an event");
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredEvent>> LogStore::PendingEvents() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->pending, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading pending events");
  std::vector<StoredEvent> out;
  MDB_val k, v;
  absl::Status status;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    auto e = ReadEventAt(txn.get(), *env_, DecodeU64(View(k)));
    if (!e.ok()) {
      status = e.status();
      break;
    }
    out.push_back(*std::move(e));
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  return out;
}

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

// ---------------------------------------------------------------------------
// Reading

absl::StatusOr<StoredEvent> LogStore::Get(const Hash& hash) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto pos = PositionOf(txn.get(), *env_, hash);
  if (!pos.ok()) return pos.status();
  if (txn.IsPending(*pos)) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  return ReadEventAt(txn.get(), *env_, *pos);
}

absl::StatusOr<StoredEvent> LogStore::GetIncludingPending(const Hash& hash) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto pos = PositionOf(txn.get(), *env_, hash);
  if (!pos.ok()) return pos.status();
  return ReadEventAt(txn.get(), *env_, *pos);
}

absl::StatusOr<bool> LogStore::Contains(const Hash& hash) const {
  auto e = Get(hash);
  if (e.ok()) return true;
  if (absl::IsNotFound(e.status())) return false;
  return e.status();
}

absl::StatusOr<StoredEvent> LogStore::GetByPrefix(std::string_view hex) const {
  if (hex.size() < 4 || hex.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an event id prefix is 4 to 64 hex digits; '", Sv(hex), "' has ", hex.size()));
  }
  std::string prefix;  // whole bytes of the prefix
  for (size_t i = 0; i + 1 < hex.size() + 1; i += 2) {
    int hi = HexDigit(hex[i]);
    int lo = i + 1 < hex.size() ? HexDigit(hex[i + 1]) : 0;
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Sv(hex), "' is not a hex event id prefix: use only 0-9 and a-f"));
    }
    prefix.push_back(static_cast<char>(hi << 4 | lo));
  }
  bool odd = hex.size() % 2 == 1;
  auto matches = [&](std::string_view key) {
    size_t whole = hex.size() / 2;
    if (key.size() < prefix.size() || key.substr(0, whole) != std::string_view(prefix).substr(0, whole)) {
      return false;
    }
    return !odd || (static_cast<uint8_t>(key[whole]) >> 4) == (static_cast<uint8_t>(prefix[whole]) >> 4);
  };
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->by_hash, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "looking up an id prefix");
  MDB_val k = Val(prefix.data(), prefix.size()), v;
  std::vector<std::pair<Hash, uint64_t>> found;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0 && matches(View(k));
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    uint64_t pos = DecodeU64(View(v));
    if (txn.IsPending(pos)) continue;
    found.emplace_back(ToArray<32>(View(k)), pos);
    if (found.size() > 1) break;
  }
  mdb_cursor_close(cursor);
  if (found.empty()) {
    return absl::NotFoundError(absl::StrCat("no event id starts with '", Sv(hex), "'"));
  }
  if (found.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "event id prefix '", Sv(hex), "' is ambiguous: it matches ", ShortHex(found[0].first), " and ",
        ShortHex(found[1].first), "; give more digits"));
  }
  return ReadEventAt(txn.get(), *env_, found[0].second);
}

absl::StatusOr<StoredEvent> LogStore::GetBySiteSeq(const SiteId& site, uint64_t seq) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  SiteSeqKey key(site, seq);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn.get(), env_->by_site, &k, &v);
  if (rc == 0 && txn.IsPending(DecodeU64(View(v)))) rc = MDB_NOTFOUND;
  if (rc == MDB_NOTFOUND) {
    return absl::NotFoundError(absl::StrCat("no event from site ", ToHex(site), " with seq ", seq));
  }
  if (rc != 0) return LmdbError(rc, *env_, "looking up site and seq");
  return ReadEventAt(txn.get(), *env_, DecodeU64(View(v)));
}

namespace {
absl::Status Scan(const LogStore::Env& env, bool newest_first, uint64_t from,
                  const std::function<bool(const StoredEvent&)>& visit) {
  ReadTxn txn(env);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env.events, &cursor);
  if (rc != 0) return LmdbError(rc, env, "scanning the log");
  PositionKey start(from);
  MDB_val k = start.val(), v;
  rc = newest_first ? mdb_cursor_get(cursor, &k, &v, MDB_LAST)
                    : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  absl::Status status;
  for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, newest_first ? MDB_PREV : MDB_NEXT)) {
    uint64_t position = DecodeU64(View(k));
    if (txn.IsPending(position)) continue;
    if (v.mv_size < format::kEventValueHeader) {
      status = absl::DataLossError(absl::StrCat("the event at position ", position, " is truncated"));
      break;
    }
    StoredEvent e;
    e.position = position;
    std::memcpy(e.hash.data(), v.mv_data, format::kHashSize);
    e.bytes.assign(static_cast<const char*>(v.mv_data) + format::kEventValueHeader,
                   v.mv_size - format::kEventValueHeader);
    status = env.CheckIntact(position, e.hash, e.bytes);
    if (!status.ok()) break;
    if (!visit(e)) break;
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, env, "scanning the log");
  return absl::OkStatus();
}
}  // namespace

absl::Status LogStore::ForEach(const std::function<bool(const StoredEvent&)>& visit,
                               uint64_t from_position) const {
  return Scan(*env_, false, std::max<uint64_t>(from_position, 1), visit);
}

absl::Status LogStore::ForEachNewestFirst(
    const std::function<bool(const StoredEvent&)>& visit) const {
  return Scan(*env_, true, 0, visit);
}

absl::StatusOr<std::optional<int64_t>> LogStore::ArrivalMicros(uint64_t position) const {
  if (!env_->has_arrivals) return std::nullopt;
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  PositionKey key(position);
  MDB_val k = key.val(), v;
  int rc = mdb_get(txn.get(), env_->arrivals, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  if (rc != 0) return LmdbError(rc, *env_, "reading an arrival time");
  if (v.mv_size != 8) {
    return absl::DataLossError(absl::StrCat("the arrival time of position ", position, " in '", env_->path,
                                            "' is damaged"));
  }
  return static_cast<int64_t>(DecodeU64(View(v)));
}

absl::StatusOr<uint64_t> LogStore::PositionArrivedBy(int64_t time_micros) const {
  if (!env_->has_arrivals) {
    return absl::FailedPreconditionError(absl::StrCat("the log at '", env_->path,
                                                      "' keeps no arrival times (it predates them); "
                                                      "name a point by event id or site:seq instead"));
  }
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->arrivals, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading arrival times");
  // Newest first: arrival times never decrease, so the first one at or
  // before the time ends the search.
  uint64_t found = 0;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_LAST); rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV)) {
    if (v.mv_size != 8) continue;
    uint64_t position = DecodeU64(View(k));
    if (txn.IsPending(position)) continue;
    if (static_cast<int64_t>(DecodeU64(View(v))) <= time_micros) {
      found = position;
      break;
    }
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading arrival times");
  return found;
}

absl::StatusOr<std::vector<Hash>> LogStore::Heads() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->heads, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading heads");
  std::vector<Hash> heads;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    heads.push_back(ToArray<32>(View(k)));
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading heads");
  return heads;
}

absl::StatusOr<VersionVector> LogStore::GetVersionVector() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  MDB_cursor* cursor;
  int rc = mdb_cursor_open(txn.get(), env_->by_site, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading the version vector");
  VersionVector vv;
  MDB_val k, v;
  // One seek per site: jump past the site's last key, step back over its
  // pending events, then jump to the next site.
  rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  while (rc == 0) {
    SiteId site = ToArray<16>(View(k));
    auto same_site = [&] { return std::memcmp(k.mv_data, site.data(), format::kSiteSize) == 0; };
    SiteSeqKey beyond(site, UINT64_MAX);
    k = beyond.val();
    int next_site = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cursor, &k, &v, next_site == 0 ? MDB_PREV : MDB_LAST);
    while (rc == 0 && same_site() && txn.IsPending(DecodeU64(View(v)))) {
      rc = mdb_cursor_get(cursor, &k, &v, MDB_PREV);
    }
    if (rc == 0 && same_site()) vv[site] = DecodeU64(View(k).substr(format::kSiteSize));
    if (rc != 0 && rc != MDB_NOTFOUND) break;
    if (next_site != 0) {
      rc = next_site;
      break;
    }
    k = beyond.val();
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(cursor);
  if (rc != MDB_NOTFOUND) return LmdbError(rc, *env_, "reading the version vector");
  return vv;
}

absl::StatusOr<uint64_t> LogStore::NextSeq(const SiteId& site) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto last = LastSeq(txn.get(), *env_, site);
  if (!last.ok()) return last.status();
  return *last + 1;
}

absl::StatusOr<uint64_t> LogStore::LamportAfter(absl::Span<const Hash> parents) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  uint64_t max = 0;
  for (const Hash& p : parents) {
    auto pos = PositionOf(txn.get(), *env_, p);
    if (!pos.ok()) return pos.status();
    auto h = HeaderAt(txn.get(), *env_, *pos);
    if (!h.ok()) return h.status();
    max = std::max(max, h->lamport);
  }
  return max + 1;
}

// ---------------------------------------------------------------------------
// DAG walks

namespace {

struct Node {
  uint64_t position;
  EventHeader header;
};

absl::StatusOr<Node> LoadNode(const ReadTxn& txn, const LogStore::Env& env, const Hash& hash) {
  auto pos = PositionOf(txn.get(), env, hash);
  if (!pos.ok()) return pos.status();
  if (txn.IsPending(*pos)) {
    return absl::NotFoundError(absl::StrCat("event ", ShortHex(hash), " is not in the log"));
  }
  auto h = HeaderAt(txn.get(), env, *pos);
  if (!h.ok()) return h.status();
  return Node{*pos, *std::move(h)};
}

// Walks backwards from `starts`, visiting each event once; `expand` says
// whether to continue to an event's parents.
template <typename Expand>
absl::Status WalkBack(const ReadTxn& txn, const LogStore::Env& env, absl::Span<const Hash> starts,
                      Expand&& expand) {
  absl::flat_hash_set<Hash> seen;
  std::deque<Hash> queue;
  for (const Hash& h : starts) {
    if (seen.insert(h).second) queue.push_back(h);
  }
  while (!queue.empty()) {
    Hash hash = queue.front();
    queue.pop_front();
    auto node = LoadNode(txn, env, hash);
    if (!node.ok()) return node.status();
    if (!expand(hash, *node)) continue;
    for (const Hash& p : node->header.parents) {
      if (seen.insert(p).second) queue.push_back(p);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<StoredEvent>> LogStore::MissingFor(
    const VersionVector& peer, absl::Span<const Hash> peer_heads) const {
  auto heads = Heads();
  if (!heads.ok()) return heads.status();
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  absl::flat_hash_set<Hash> peer_has(peer_heads.begin(), peer_heads.end());
  std::vector<uint64_t> positions;
  std::vector<Hash> boundary;  // events the walk found the peer has
  absl::flat_hash_map<Hash, uint64_t> missing_imports;
  // The peer's log is causally closed: an event it has brings its whole past,
  // so the walk stops there and costs what the peer lacks.
  absl::Status s = WalkBack(txn, *env_, *heads, [&](const Hash& hash, const Node& node) {
    bool has = peer_has.contains(hash);
    if (!has && node.header.kind != EventKind::kImport) {
      auto it = peer.find(node.header.site);
      has = it != peer.end() && node.header.seq <= it->second;
    }
    if (has) {
      boundary.push_back(hash);
      return false;
    }
    if (node.header.kind == EventKind::kImport) missing_imports[hash] = node.position;
    positions.push_back(node.position);
    return true;
  });
  if (!s.ok()) return s;
  // An import has no site, so the version vector cannot say the peer has it;
  // it may be in the past of an event the peer has even though the walk
  // reached it through one the peer lacks. Walk back from what the peer has,
  // but only over events stored after the oldest such import (nothing older
  // can lead to it).
  if (!missing_imports.empty()) {
    uint64_t oldest = UINT64_MAX;
    for (const auto& [hash, position] : missing_imports) oldest = std::min(oldest, position);
    std::vector<Hash> starts = boundary;
    for (const Hash& h : peer_heads) {
      auto pos = PositionOf(txn.get(), *env_, h);
      if (pos.ok() && !txn.IsPending(*pos)) starts.push_back(h);
    }
    absl::flat_hash_set<uint64_t> peer_past;
    s = WalkBack(txn, *env_, starts, [&](const Hash& hash, const Node& node) {
      if (node.position < oldest) return false;
      if (missing_imports.contains(hash)) peer_past.insert(node.position);
      return true;
    });
    if (!s.ok()) return s;
    positions.erase(std::remove_if(positions.begin(), positions.end(),
                                   [&](uint64_t p) { return peer_past.contains(p); }),
                    positions.end());
  }
  std::sort(positions.begin(), positions.end());
  std::vector<StoredEvent> out;
  out.reserve(positions.size());
  for (uint64_t p : positions) {
    auto e = ReadEventAt(txn.get(), *env_, p);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<Hash>> LogStore::Ancestors(absl::Span<const Hash> heads) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  std::vector<std::pair<uint64_t, Hash>> found;
  absl::Status s = WalkBack(txn, *env_, heads, [&](const Hash& hash, const Node& node) {
    found.emplace_back(node.position, hash);
    return true;
  });
  if (!s.ok()) return s;
  std::sort(found.begin(), found.end());
  std::vector<Hash> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(f.second);
  return out;
}

absl::StatusOr<bool> LogStore::IsAncestor(const Hash& ancestor, const Hash& descendant) const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  auto target = LoadNode(txn, *env_, ancestor);
  if (!target.ok()) return target.status();
  bool found = false;
  // Lamport only grows along parent links, so nothing at or below the
  // target's lamport (other than the target) can lead to it.
  absl::Status s = WalkBack(txn, *env_, absl::MakeConstSpan(&descendant, 1),
                            [&](const Hash& hash, const Node& node) {
                              if (hash == ancestor) found = true;
                              return !found && node.header.lamport > target->header.lamport;
                            });
  if (!s.ok()) return s;
  return found;
}

absl::StatusOr<StoreStats> LogStore::Stats() const {
  ReadTxn txn(*env_);
  if (absl::Status s = txn.Begin(); !s.ok()) return s;
  StoreStats stats;
  MDB_stat st;
  int rc = mdb_stat(txn.get(), env_->pending, &st);
  if (rc != 0) return LmdbError(rc, *env_, "reading statistics");
  stats.pending = st.ms_entries;
  MDB_cursor* cursor;
  rc = mdb_cursor_open(txn.get(), env_->events, &cursor);
  if (rc != 0) return LmdbError(rc, *env_, "reading statistics");
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    if (txn.IsPending(DecodeU64(View(k)))) continue;
    ++stats.events;
    stats.event_bytes += v.mv_size - std::min<size_t>(v.mv_size, format::kEventValueHeader);
  }
  mdb_cursor_close(cursor);
  MDB_envinfo info;
  mdb_env_info(env_->env, &info);
  MDB_stat envstat;
  mdb_env_stat(env_->env, &envstat);
  stats.file_bytes = (info.me_last_pgno + 1) * uint64_t{envstat.ms_psize};
  return stats;
}

absl::Status LogStore::Sync() {
  int rc = mdb_env_sync(env_->env, 1);
  return rc == 0 ? absl::OkStatus() : LmdbError(rc, *env_, "syncing the log");
}

}  // namespace crlog::log
