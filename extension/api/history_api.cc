// crlog::History (crlog/history.h): the engine's history queries on a
// database opened read-only, and the free functions beside it.
#include "crlog/history.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/history/blame.h"
#include "engine/history/diff.h"
#include "engine/fold/held_events.h"
#include "engine/history/history_db.h"
#include "engine/history/op_changes.h"
#include "engine/history/replay.h"
#include "util/sqlite/stmt.h"
#include "extension/api/log_impl.h"
#include "log/format.h"
#include "log/store.h"
#include "schema/packed_pk.h"

namespace crlog {

std::string PackPrimaryKey(absl::Span<const Value> values) { return schema::PackColumns(values); }

absl::StatusOr<std::vector<Value>> UnpackPrimaryKey(std::string_view packed) {
  auto values = schema::UnpackColumns(packed);
  if (!values.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("X'", ToHex(packed), "' is not a packed primary key: ",
                                                   values.status().message()));
  }
  return values;
}

absl::StatusOr<std::vector<HeldEvent>> ReadHeldEvents(const std::string& db_path) {
  auto db = sqlite::OpenDb(db_path, SQLITE_OPEN_READONLY, absl::StrCat("reading the held events of '", db_path, "'"));
  if (!db.ok()) return db.status();
  return engine::ReadHeldEvents(db->get());
}

namespace {

// The owner id the database at `path` records for its log, if it has one.
absl::StatusOr<std::optional<std::string>> DatabaseOwner(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  auto db = sqlite::OpenDb(path, SQLITE_OPEN_READONLY, absl::StrCat("cannot open the database '", path, "'"));
  if (!db.ok()) return db.status();
  auto has = sqlite::Stmt::Prepare(
      db->get(), "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_site'");
  if (!has.ok()) return has.status();
  auto found = has->Step();
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  auto owner = sqlite::Stmt::Prepare(db->get(), "SELECT owner FROM main.crlog_site WHERE id = 0");
  if (!owner.ok()) return owner.status();
  auto row = owner->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::nullopt;
  return std::string(owner->ColumnBlob(0));
}

}  // namespace

absl::StatusOr<bool> LogBelongsToDatabase(const std::string& db_path) {
  const std::string log_path = LogPathFor(db_path);
  std::error_code ec;
  if (!std::filesystem::is_directory(log_path, ec)) {
    return absl::NotFoundError(absl::StrCat("there is no crlog log at '", log_path, "'"));
  }
  std::optional<std::string> log_owner;
  {
    log::StoreOptions options;
    options.create_if_missing = false;
    auto store = log::LogStore::Open(log_path, options);
    if (!store.ok()) return store.status();
    auto owner = (*store)->GetMeta(log::format::kMetaOwner);
    if (!owner.ok()) return owner.status();
    log_owner = *owner;
  }  // closed before the caller moves it
  auto db_owner = DatabaseOwner(db_path);
  if (!db_owner.ok()) return db_owner.status();
  return db_owner->has_value() && log_owner.has_value() && **db_owner == *log_owner;
}

struct History::Impl {
  std::unique_ptr<engine::HistoryDb> db;
  std::unique_ptr<Log> log;  // a view of db's store

  // The pk as the table stores it (engine::PackRowKey).
  std::string Pack(std::string_view table, absl::Span<const Value> pk) const {
    return engine::PackRowKey(db->db(), table, pk);
  }
};

History::History(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
History::~History() = default;

absl::StatusOr<std::unique_ptr<History>> History::Open(const std::string& db_path) {
  auto db = engine::HistoryDb::Open(db_path);
  if (!db.ok()) return db.status();
  auto impl = std::make_unique<Impl>();
  impl->db = *std::move(db);
  auto log_impl = std::make_unique<Log::Impl>();
  log_impl->store = const_cast<log::LogStore*>(&impl->db->store());
  log_impl->read_only = true;
  impl->log = Log::Wrap(std::move(log_impl));
  return std::unique_ptr<History>(new History(std::move(impl)));
}

const std::string& History::path() const { return impl_->db->path(); }
SiteId History::site() const { return impl_->db->site(); }
const Log& History::log() const { return *impl_->log; }

absl::StatusOr<PointInfo> History::ResolvePoint(std::string_view point) const {
  auto p = impl_->db->Resolve(point);
  if (!p.ok()) return p.status();
  return PointInfo{std::move(p->text), std::move(p->heads), p->up_to_position, p->schema_site};
}

absl::StatusOr<RowBlame> History::Blame(std::string_view table, absl::Span<const Value> pk) const {
  return engine::BlameRow(impl_->db->db(), impl_->db->store(), table, impl_->Pack(table, pk));
}

absl::StatusOr<std::vector<CellVersion>> History::CellHistory(std::string_view table, absl::Span<const Value> pk,
                                                              std::string_view at, const Progress& progress) const {
  auto point = impl_->db->Resolve(at);
  if (!point.ok()) return point.status();
  engine::ReplayOptions options = impl_->db->Options();
  options.progress = progress;
  return engine::RowHistory(impl_->db->store(), *point, table, impl_->Pack(table, pk), options);
}

absl::StatusOr<ReplayStats> History::ReplayToFile(std::string_view at, const std::string& out_path,
                                                  const Progress& progress) const {
  auto point = impl_->db->Resolve(at);
  if (!point.ok()) return point.status();
  engine::ReplayOptions options = impl_->db->Options();
  options.progress = progress;
  return engine::ReplayToFile(impl_->db->store(), *point, out_path, options);
}

absl::StatusOr<PointDiff> History::Diff(std::string_view a, std::string_view b, const Progress& progress) const {
  auto pa = impl_->db->Resolve(a);
  if (!pa.ok()) return pa.status();
  auto pb = impl_->db->Resolve(b);
  if (!pb.ok()) return pb.status();
  engine::ReplayOptions options = impl_->db->Options();
  options.progress = progress;
  return engine::DiffPoints(impl_->db->store(), *pa, *pb, options);
}

absl::StatusOr<std::map<Hash, std::vector<OpChange>>> History::OpChanges(
    const std::set<Hash>& events, const std::optional<std::vector<RowKey>>& only_rows,
    const Progress& progress) const {
  std::optional<engine::RowFilter> filter;
  if (only_rows) {
    filter.emplace();
    for (const RowKey& row : *only_rows) filter->Add(row.table, row.pk);
  }
  return engine::ReplayOpChanges(*impl_->db, events, filter, progress);
}

}  // namespace crlog
