// crlog::Replica (crlog/replica.h): a SQLite connection with crlog loaded,
// over the same engine the extension uses.
#include "crlog/replica.h"

#include "util/sqlite/api.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crlog/history.h"
#include "engine/replica/replica.h"
#include "util/sqlite/stmt.h"
#include "extension/api/log_impl.h"
#include "extension/connection.h"
#include "log/bundle.h"
#include "util/strings.h"

namespace crlog {

struct Replica::Impl {
  sqlite3* db = nullptr;
  bool owns_db = false;
  int api_slot = 0;
  std::string path;
  std::string log_path;
  std::shared_ptr<engine::Replica> engine;
  std::unique_ptr<Log> log;

  ~Impl() {
    if (owns_db && db != nullptr) {
      sqlite::ApiScope scope(api_slot);
      sqlite3_close_v2(db);
    }
  }
};

namespace {

absl::StatusOr<int> SlotFor(const sqlite3_api_routines* routines) {
  if (routines == nullptr) routines = sqlite::ProcessSqlite();
  if (routines == nullptr) {
    return absl::FailedPreconditionError(
        "no SQLite is visible to crlog in this program: link SQLite (-lsqlite3, pkg-config sqlite3), or pass "
        "the routines of the SQLite that owns the connection to crlog::Replica::Attach");
  }
  return sqlite::Register(routines);
}

// Loads crlog into `db` (a no-op when it is loaded there) and builds the
// Replica over it.
absl::StatusOr<std::unique_ptr<Replica::Impl>> Bind(sqlite3* db, bool owns_db, int slot) {
  auto impl = std::make_unique<Replica::Impl>();
  impl->db = db;
  impl->owns_db = owns_db;
  impl->api_slot = slot;
  extension::Connection* conn = extension::LoadedConnection(db);
  if (conn == nullptr) {
    char* err = nullptr;
    int rc = extension::LoadInto(db, &err, sqlite::InSlot(slot));
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    if (rc != SQLITE_OK && rc != SQLITE_OK_LOAD_PERMANENTLY) {
      return absl::FailedPreconditionError(
          message.empty() ? absl::StrCat("loading crlog failed (SQLite code ", rc, ")") : message);
    }
    conn = extension::LoadedConnection(db);
  }
  if (conn == nullptr) return absl::InternalError("crlog loaded but kept no state for the connection");
  if (!conn->replica) return conn->attach_error;
  impl->api_slot = conn->api_slot;
  impl->engine = conn->replica;
  impl->path = impl->engine->db_path();
  impl->log_path = impl->engine->log_path();
  auto log = std::make_unique<Log::Impl>();
  log->store = &impl->engine->log();
  log->read_only = true;
  impl->log = Log::Wrap(std::move(log));
  return impl;
}

}  // namespace

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;

absl::StatusOr<std::unique_ptr<Replica>> Replica::Open(const std::string& db_path, const OpenOptions& options) {
  auto slot = SlotFor(nullptr);
  if (!slot.ok()) return slot.status();
  sqlite::ApiScope scope(*slot);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | (options.create_if_missing ? SQLITE_OPEN_CREATE : 0);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::NotFoundError(absl::StrCat("cannot open the database '", db_path, "': ", why,
                                            options.create_if_missing ? "" : " (create_if_missing is off)"));
  }
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  auto impl = Bind(db, /*owns_db=*/true, *slot);
  if (!impl.ok()) {
    sqlite3_close_v2(db);
    return absl::Status(impl.status().code(), absl::StrCat("opening '", db_path, "': ", impl.status().message()));
  }
  return std::unique_ptr<Replica>(new Replica(*std::move(impl)));
}

absl::StatusOr<std::unique_ptr<Replica>> Replica::Attach(sqlite3* db, const sqlite3_api_routines* routines) {
  if (db == nullptr) return absl::InvalidArgumentError("crlog::Replica::Attach: the connection is null");
  int slot = 0;
  if (extension::Connection* conn = extension::LoadedConnection(db); conn != nullptr && routines == nullptr) {
    slot = conn->api_slot;
  } else {
    auto s = SlotFor(routines);
    if (!s.ok()) return s.status();
    slot = *s;
  }
  sqlite::ApiScope scope(slot);
  auto impl = Bind(db, /*owns_db=*/false, slot);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Replica>(new Replica(*std::move(impl)));
}

sqlite3* Replica::db() const { return impl_->db; }
const std::string& Replica::path() const { return impl_->path; }
const std::string& Replica::log_path() const { return impl_->log_path; }
SiteId Replica::site() const { return impl_->engine->site(); }
const Log& Replica::log() const { return *impl_->log; }

absl::Status Replica::Execute(std::string_view sql) {
  sqlite::ApiScope scope(impl_->api_slot);
  return sqlite::Exec(impl_->db, sql);
}

absl::Status Replica::Replicate(std::string_view table) {
  sqlite::ApiScope scope(impl_->api_slot);
  auto stmt = sqlite::Stmt::Prepare(impl_->db, "SELECT crsql_as_crr(?)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindText(1, table);
  absl::Status s = stmt->Run();
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("replicating '", Sv(table), "': ", s.message()));
  return s;
}

absl::StatusOr<VersionVector> Replica::Versions() const { return impl_->log->Versions(); }
absl::StatusOr<std::vector<Hash>> Replica::Heads() const { return impl_->log->Heads(); }
absl::StatusOr<std::vector<StoredEvent>> Replica::EventsSince(const VersionVector& known,
                                                              absl::Span<const Hash> known_heads) const {
  return impl_->log->EventsSince(known, known_heads);
}

absl::StatusOr<std::string> Replica::Export(const VersionVector& known, absl::Span<const Hash> known_heads) const {
  auto events = EventsSince(known, known_heads);
  if (!events.ok()) return events.status();
  std::string bundle;
  for (const StoredEvent& e : *events) log::AppendToBundle(&bundle, e.bytes);
  return bundle;
}

absl::StatusOr<ApplyStats> Replica::Apply(std::string_view bundle) {
  sqlite::ApiScope scope(impl_->api_slot);
  extension::Connection* conn = extension::LoadedConnection(impl_->db);
  if (conn == nullptr) return absl::FailedPreconditionError("crlog is no longer loaded on this connection");
  auto result = extension::ApplyBundle(conn, bundle);
  if (!result.ok()) return result.status();
  return ApplyStats{result->events_added, result->events_folded, result->events_held};
}

absl::StatusOr<std::unique_ptr<History>> Replica::OpenHistory() const { return History::Open(impl_->path); }

Subscription Replica::Subscribe(std::function<void(const CommitNotice&)> callback) {
  // The subscription keeps the engine (and its feed) alive: it hears every
  // commit until reset, whatever connections open and close meanwhile.
  std::shared_ptr<engine::Replica> engine = impl_->engine;
  uint64_t id = engine->commit_feed().Subscribe(
      [callback = std::move(callback)](const std::vector<log::Hash>& events) { callback(CommitNotice{events}); });
  return Subscription([engine = std::move(engine), id] { engine->commit_feed().Unsubscribe(id); });
}

Subscription::Subscription(std::function<void()> cancel)
    : cancel_(new std::function<void()>(std::move(cancel))) {}

Subscription::Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, nullptr)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    cancel_ = std::exchange(other.cancel_, nullptr);
  }
  return *this;
}

void Subscription::Reset() {
  if (cancel_ == nullptr) return;
  std::function<void()>* cancel = std::exchange(cancel_, nullptr);
  (*cancel)();
  delete cancel;
}

}  // namespace crlog
