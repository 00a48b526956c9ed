// crlog::Log (crlog/log.h): the public face of log::LogStore, and how a
// user's path names a log.
#include "crlog/log.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "extension/api/log_impl.h"
#include "log/store.h"
#include "log/verify.h"

namespace crlog {
namespace fs = std::filesystem;

namespace {

// LMDB's data file, which every commit writes (crlog opens LMDB without
// MDB_WRITEMAP): what WaitForEventsAfter watches.
constexpr char kLmdbDataFile[] = "data.mdb";

}  // namespace

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

std::unique_ptr<Log> Log::Wrap(std::unique_ptr<Impl> impl) { return std::unique_ptr<Log>(new Log(std::move(impl))); }

absl::StatusOr<std::unique_ptr<Log>> Log::OpenReadOnly(const std::string& path) {
  absl::StatusOr<std::string> dir = FindLog(path);
  if (!dir.ok()) return dir.status();
  log::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = true;
  auto store = log::LogStore::Open(*dir, options);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("cannot open the log '", *dir, "': ", store.status().message()));
  }
  auto impl = std::make_unique<Impl>();
  impl->owned = *std::move(store);
  impl->store = impl->owned.get();
  impl->read_only = true;
  return Wrap(std::move(impl));
}

absl::StatusOr<std::unique_ptr<Log>> Log::OpenStandalone(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("the log directory is empty");
  if (IsDatabaseLog(dir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", dir, "' is the log of a database; events reach it through the database (crlog::Replica::Apply, "
        "crlog_apply), or open it with crlog::Log::OpenReadOnly to read it"));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create the log directory '", dir, "': ", ec.message()));
  auto store = log::LogStore::Open(dir);
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("cannot open the log '", dir, "': ", store.status().message()));
  }
  auto impl = std::make_unique<Impl>();
  impl->owned = *std::move(store);
  impl->store = impl->owned.get();
  return Wrap(std::move(impl));
}

const std::string& Log::path() const { return impl_->store->path(); }

absl::StatusOr<StoredEvent> Log::Get(const Hash& hash) const { return impl_->store->Get(hash); }
absl::StatusOr<StoredEvent> Log::GetByPrefix(std::string_view hex_prefix) const {
  return impl_->store->GetByPrefix(hex_prefix);
}
absl::StatusOr<StoredEvent> Log::GetBySiteSeq(const SiteId& site, uint64_t seq) const {
  return impl_->store->GetBySiteSeq(site, seq);
}
absl::StatusOr<bool> Log::Contains(const Hash& hash) const { return impl_->store->Contains(hash); }

absl::Status Log::ForEach(const std::function<bool(const StoredEvent&)>& visit, uint64_t from_position) const {
  return impl_->store->ForEach(visit, from_position);
}
absl::Status Log::ForEachNewestFirst(const std::function<bool(const StoredEvent&)>& visit) const {
  return impl_->store->ForEachNewestFirst(visit);
}
absl::StatusOr<std::optional<int64_t>> Log::ArrivalMicros(uint64_t position) const {
  return impl_->store->ArrivalMicros(position);
}

absl::StatusOr<std::vector<Hash>> Log::Heads() const { return impl_->store->Heads(); }
absl::StatusOr<VersionVector> Log::Versions() const { return impl_->store->GetVersionVector(); }

absl::StatusOr<uint64_t> Log::LastPosition() const {
  uint64_t last = 0;
  absl::Status s = impl_->store->ForEachNewestFirst([&](const StoredEvent& e) {
    last = e.position;
    return false;
  });
  if (!s.ok()) return s;
  return last;
}

absl::StatusOr<std::vector<StoredEvent>> Log::EventsSince(const VersionVector& known,
                                                          absl::Span<const Hash> known_heads) const {
  return impl_->store->MissingFor(known, known_heads);
}
absl::StatusOr<std::vector<Hash>> Log::Ancestors(absl::Span<const Hash> heads) const {
  return impl_->store->Ancestors(heads);
}
absl::StatusOr<bool> Log::IsAncestor(const Hash& ancestor, const Hash& descendant) const {
  return impl_->store->IsAncestor(ancestor, descendant);
}
absl::StatusOr<LogStats> Log::Stats() const { return impl_->store->Stats(); }

absl::StatusOr<VerifyReport> Log::Verify(const Progress& progress) const {
  return log::Verify(*impl_->store, progress);
}

absl::StatusOr<bool> Log::WaitForEventsAfter(uint64_t position, absl::Duration timeout) const {
  const std::string data_file = (fs::path(path()) / kLmdbDataFile).string();
  // Watch first, then look: a commit between the look and the wait still
  // wakes the wait.
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return absl::InternalError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (inotify_add_watch(fd, data_file.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
    return absl::InternalError(absl::StrCat("cannot watch '", data_file, "': ", std::strerror(errno)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<uint64_t> last = LastPosition();
    if (!last.ok()) return last.status();
    if (*last > position) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    pollfd p{fd, POLLIN, 0};
    const int64_t ms = absl::ToInt64Milliseconds(left) + 1;
    int rc = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    if (rc < 0 && errno != EINTR) return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    // Drain what woke us; the next look decides.
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
  }
}

absl::StatusOr<std::vector<Hash>> Log::Append(absl::Span<const std::string> events) {
  if (impl_->read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log '", path(), "' is open read-only; open a standalone log with OpenStandalone to append"));
  }
  auto appended = impl_->store->Append(events, log::Durability::kSync);
  if (!appended.ok()) return appended.status();
  std::vector<Hash> ids;
  ids.reserve(appended->size());
  for (const log::AppendResult& r : *appended) ids.push_back(r.hash);
  return ids;
}

}  // namespace crlog
