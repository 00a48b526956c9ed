// Replica: attaching to a database, the process-wide registry, and bringing
// an older database's crlog tables up to date. The other concepts of the
// class are in files of their own: recovery.cc, apply_events.cc,
// replicated_tables.cc, and the commit protocol in
// engine/capture/capture_commit.cc.
#include "engine/replica/replica.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <mutex>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "engine/fold/alter_columns.h"
#include "engine/replica/crash_point.h"
#include "engine/replica/durability.h"
#include "engine/fold/fold.h"
#include "engine/fold/held_events.h"
#include "engine/replica/meta_tables.h"
#include "engine/fold/row_clock.h"
#include "util/sqlite/stmt.h"
#include "util/strings.h"
#include "schema/packed_pk.h"
#include "util/sqlite/quote.h"
#include "schema/table_info.h"

namespace crlog::engine {

// Adds cr-sqlite's tables to a database initialised before crlog had them,
// when this connection can write without waiting (else a later load does).
absl::Status AddCrsqlTables(sqlite3* db);

namespace {

std::mutex registry_mu;
absl::flat_hash_map<std::string, std::weak_ptr<Replica>>& Registry() {
  static auto* r = new absl::flat_hash_map<std::string, std::weak_ptr<Replica>>();
  return *r;
}

std::string RandomBytes(int n) {
  std::string out(n, '\0');
  sqlite3_randomness(n, out.data());
  return out;
}

}  // namespace


// Registry keys of in-memory databases' replicas: this, then the owner id
// (no file path can start with it).
constexpr char kInMemoryKey[] = "\x01memory:";

Replica::~Replica() {
  log_.reset();
  if (temporary_log_) {
    std::error_code ec;
    std::filesystem::remove_all(log_path_, ec);
  }
}

absl::StatusOr<std::shared_ptr<Replica>> Replica::Attach(sqlite3* db, std::shared_ptr<Replica>* early) {
  const char* file = sqlite3_db_filename(db, "main");
  std::string db_path = file ? file : "";
  auto fail = [&](absl::Status s) {
    if (early) early->reset();
    return s;
  };
  if (db_path.empty()) {
    // In-memory or temporary. Connections to one shared-cache in-memory
    // database (file::memory:?cache=shared) see one database: its site row
    // names the log the first connection made, which they share. A private
    // database is new to each connection, and has no site row yet.
    auto site = meta::Initialised(db);
    if (!site.ok()) return fail(site.status());
    std::optional<meta::SiteRow> row;
    if (*site) {
      auto read = meta::ReadSite(db);
      if (!read.ok()) return fail(read.status());
      row = *read;
    }
    std::lock_guard<std::mutex> lock(registry_mu);
    auto& registry = Registry();
    if (row.has_value()) {
      auto it = registry.find(absl::StrCat(kInMemoryKey, log::ToHex(row->owner)));
      if (it != registry.end()) {
        if (auto replica = it->second.lock()) {
          if (early) *early = replica;
          return replica;
        }
      }
    }
    auto r = Create(db, db_path, early);
    if (!r.ok()) return fail(r.status());
    auto created = meta::ReadSite(db);
    if (created.ok() && created->has_value()) {
      registry[absl::StrCat(kInMemoryKey, log::ToHex((*created)->owner))] = *r;
    }
    return r;
  }
  std::lock_guard<std::mutex> lock(registry_mu);
  auto& registry = Registry();
  if (auto it = registry.find(db_path); it != registry.end()) {
    if (auto replica = it->second.lock()) {
      // Another connection attached first; this one may still hold pending
      // events of a crashed process to resolve.
      if (early) *early = replica;
      absl::Status s = replica->Recover(db);
      if (!s.ok() && !absl::IsUnavailable(s)) return fail(s);
      return replica;
    }
  }
  auto replica = Create(db, db_path, early);
  if (!replica.ok()) return fail(replica.status());
  registry[db_path] = *replica;
  return replica;
}

absl::StatusOr<std::shared_ptr<Replica>> Replica::Create(sqlite3* db, const std::string& db_path,
                                                          std::shared_ptr<Replica>* early) {
  std::shared_ptr<Replica> r(new Replica());
  r->db_path_ = db_path;
  r->max_event_bytes_ = log::format::kDefaultMaxEventBytes / 2;
  if (db_path.empty()) {
    std::string dir = (std::filesystem::temp_directory_path() / "crlog-memory-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
      return absl::InternalError("cannot create a temporary directory for an in-memory database's log");
    }
    r->log_path_ = dir;
    r->temporary_log_ = true;
  } else {
    r->log_path_ = LogPathFor(db_path);
  }

  auto initialised = meta::Initialised(db);
  if (!initialised.ok()) return initialised.status();
  std::optional<meta::SiteRow> site;
  if (*initialised) {
    auto row = meta::ReadSite(db);
    if (!row.ok()) return row.status();
    site = *row;
  }

  log::StoreOptions options;
  options.create_if_missing = !site.has_value();
  auto store = log::LogStore::Open(r->log_path_, options);
  if (!store.ok()) {
    if (absl::IsNotFound(store.status())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database '", db_path, "' is replicated by crlog but its log '", r->log_path_,
          "' is missing: restore that directory beside the database (crlog will not start a new "
          "history silently; to start over, use a copy of the data in a new database)"));
    }
    return store.status();
  }
  r->log_ = *std::move(store);
  auto owner = r->log_->GetMeta(log::format::kMetaOwner);
  if (!owner.ok()) return owner.status();

  if (site.has_value()) {
    if (!owner->has_value() || **owner != site->owner) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the log '", r->log_path_, "' belongs to another database than '", db_path,
          "': put this database's own log beside it (a copied database needs its log copied too)"));
    }
    r->site_ = site->site;
    if (absl::Status s = AddCrsqlTables(db); !s.ok()) return s;
  } else {
    // A new replica. A log that already holds events is someone else's.
    if (owner->has_value()) {
      auto stats = r->log_->Stats();
      if (!stats.ok()) return stats.status();
      if (stats->events + stats->pending > 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "a crlog log with ", stats->events, " events already exists at '", r->log_path_,
            "' but the database '", db_path, "' has no crlog tables: the log belongs to another "
            "database (or to a file at this path that was deleted); nothing was changed. To keep "
            "that history and replicate this database, move the log aside: `crlog archive-log '",
            db_path, "'` (renames it to ", r->log_path_, ".stale-<time>), then load crlog again"));
      }
    }
    meta::SiteRow row;
    row.site = log::ToArray<16>(RandomBytes(16));
    row.owner = RandomBytes(16);
    if (absl::Status s = r->log_->PutMeta(log::format::kMetaOwner, row.owner, log::Durability::kSync);
        !s.ok()) {
      return s;
    }
    sqlite::Savepoint sp(db, "crlog_init");
    if (!sp.status().ok()) return sp.status();
    if (absl::Status s = meta::CreateTables(db); !s.ok()) return s;
    if (absl::Status s = meta::WriteSite(db, row); !s.ok()) return s;
    if (absl::Status s = sp.Release(); !s.ok()) return s;
    r->site_ = row.site;
  }
  if (early) *early = r;
  absl::Status s = r->Recover(db);
  if (!s.ok() && !absl::IsUnavailable(s)) return s;
  return r;
}

// crlog_tables.shape for a database older than it: the tables' current
// columns, the best there is to know (an alter made before it existed went
// unchecked then too).
absl::Status AddShapeColumn(sqlite3* db) {
  if (absl::Status s = sqlite::Exec(db, "ALTER TABLE main.crlog_tables ADD COLUMN shape TEXT"); !s.ok()) return s;
  auto names = sqlite::QueryTexts(sqlite::Stmt::Prepare(db, "SELECT name FROM main.crlog_tables"));
  if (!names.ok()) return names.status();
  auto update = sqlite::Stmt::Prepare(db, "UPDATE main.crlog_tables SET shape = ?2 WHERE name = ?1");
  if (!update.ok()) return update.status();
  for (const std::string& name : *names) {
    auto info = schema::ReadTableInfo(db, "main", name);
    if (!info.ok()) continue;  // dropped: the next commit records it
    std::vector<std::string> pk, columns;
    for (int i : info->pk) pk.push_back(info->columns[i].name);
    for (int i : info->non_pk) columns.push_back(info->columns[i].name);
    update->BindText(1, name);
    update->BindText(2, meta::EncodeShape(pk, columns));
    if (absl::Status s = update->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status AddCrsqlTables(sqlite3* db) {
  auto has = meta::HasCrsqlTables(db);
  if (!has.ok()) return has.status();
  auto has_shape = meta::HasShapeColumn(db);
  if (!has_shape.ok()) return has_shape.status();
  if ((*has && *has_shape) || sqlite3_db_readonly(db, "main") != 0 || sqlite3_get_autocommit(db) == 0) {
    return absl::OkStatus();
  }
  // Without waiting: a load must not stall behind another writer for the
  // application's busy timeout (restored after; a custom busy handler,
  // which PRAGMA busy_timeout reports as 0, is left alone).
  auto timeout = sqlite::Stmt::Prepare(db, "PRAGMA busy_timeout");
  if (!timeout.ok()) return timeout.status();
  auto row = timeout->Step();
  if (!row.ok()) return row.status();
  const int64_t busy_ms = *row ? timeout->ColumnInt(0) : 0;
  timeout->Reset();
  if (busy_ms > 0) sqlite3_busy_timeout(db, 0);
  absl::Status s = sqlite::Exec(db, "BEGIN IMMEDIATE");
  if (s.ok()) {
    s = meta::CreateCrsqlTables(db);
    if (s.ok() && !*has_shape) s = AddShapeColumn(db);
    s = s.ok() ? sqlite::Exec(db, "COMMIT") : s;
    if (!s.ok()) sqlite::Exec(db, "ROLLBACK").IgnoreError();
  }
  if (busy_ms > 0) sqlite3_busy_timeout(db, static_cast<int>(busy_ms));
  // Busy: the next load (or crsql_config_set) adds them.
  return absl::IsUnavailable(s) ? absl::OkStatus() : s;
}

absl::StatusOr<uint64_t> Replica::DbVersion(sqlite3* db) {
  auto w = meta::ReadWatermark(db);
  if (!w.ok()) return w.status();
  return w->db_version;
}

}  // namespace crlog::engine
