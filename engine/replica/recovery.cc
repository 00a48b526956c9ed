// Replica recovery: events a killed writer left pending are published or
// discarded, and the tables catch up with the log (engine/replica/replica.h).
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
absl::Status Replica::ResolvePending(sqlite3* db, absl::Span<const log::Hash> in_flight) {
  auto pending = log_->PendingEvents();
  if (!pending.ok()) return pending.status();
  if (!in_flight.empty()) {
    absl::flat_hash_set<log::Hash> keep(in_flight.begin(), in_flight.end());
    pending->erase(std::remove_if(pending->begin(), pending->end(),
                                  [&](const log::StoredEvent& e) { return keep.contains(e.hash); }),
                   pending->end());
  }
  // Events an earlier recovery judged uncommitted, kept in case SQLite
  // finds them committed after all (below).
  auto aside = log_->SetAsideEvents();
  if (!aside.ok()) return aside.status();
  if (pending->empty() && aside->empty()) return absl::OkStatus();
  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  auto heads = meta::ReadHeads(db);
  if (!heads.ok()) return heads.status();

  // SQLite committed the events its watermark and heads name, and (for an
  // event group) their pending ancestors. Nothing else pending can commit
  // now: the caller holds the write lock.
  absl::flat_hash_map<log::Hash, const log::StoredEvent*> by_hash;
  for (const auto& e : *pending) by_hash[e.hash] = &e;
  for (const auto& e : *aside) by_hash.try_emplace(e.hash, &e);
  absl::flat_hash_set<log::Hash> committed;
  std::vector<log::Hash> work(heads->begin(), heads->end());
  if (watermark->seq != 0) work.push_back(watermark->hash);
  // Held events committed too: they are in the log, outside the heads' past.
  auto held = ReadHeldCauses(db);
  if (!held.ok()) return held.status();
  for (const auto& [event, cause] : *held) work.push_back(event);
  while (!work.empty()) {
    log::Hash h = work.back();
    work.pop_back();
    auto it = by_hash.find(h);
    if (it == by_hash.end() || !committed.insert(h).second) continue;
    auto header = log::DecodeEventHeader(it->second->bytes, log::DecodeLimits{SIZE_MAX});
    if (!header.ok()) return header.status();
    for (const log::Hash& p : header->parents) work.push_back(p);
  }
  std::vector<log::Hash> publish, discard;
  for (const auto& e : *pending) (committed.contains(e.hash) ? publish : discard).push_back(e.hash);
  std::vector<log::StoredEvent> restore;
  for (const auto& e : *aside) {
    if (committed.contains(e.hash)) restore.push_back(e);
  }
  CrashPoint("recovery-before-resolve");
  // Not discarded outright: in WAL mode a writer killed after writing its
  // commit frames but before SQLite's index named them leaves a commit this
  // connection cannot see, and SQLite's next WAL recovery (once every
  // connection has gone) finds it committed, unless a commit overwrites
  // those frames first. The events wait aside until a commit of ours has
  // (FinishCommit), and are restored if the database names them.
  if (!restore.empty()) {
    // An event set aside may be restored into a seq an uncommitted one holds.
    if (!discard.empty()) {
      if (absl::Status s = log_->SetAside(discard, log::Durability::kNoSync); !s.ok()) return s;
    }
    discard.clear();
    if (absl::Status s = log_->RestoreSetAside(restore, log::Durability::kNoSync); !s.ok()) return s;
    for (const auto& e : restore) publish.push_back(e.hash);
  }
  if (!publish.empty()) {
    if (absl::Status s = log_->Publish(publish, log::Durability::kNoSync); !s.ok()) return s;
    feed_.Published(publish);
  }
  CrashPoint("recovery-after-publish");
  if (!discard.empty()) {
    if (absl::Status s = log_->SetAside(discard, log::Durability::kNoSync); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Replica::NeedsRecovery(sqlite3* db) {
  auto pending = log_->Stats();
  if (!pending.ok()) return pending.status();
  if (pending->pending > 0) return true;
  auto db_heads = meta::ReadHeads(db);
  if (!db_heads.ok()) return db_heads.status();
  auto log_heads = log_->Heads();
  if (!log_heads.ok()) return log_heads.status();
  if (*db_heads != *log_heads) {
    // The log has events to fold, or lacks some; or it holds events the
    // tables refused (engine/fold/held_events.h), which stay out of the heads.
    auto held = ReadHeldCauses(db);
    if (!held.ok()) return held.status();
    if (held->empty()) return true;
    absl::flat_hash_set<log::Hash> materialised(db_heads->begin(), db_heads->end());
    for (const log::Hash& h : *log_heads) {
      if (!materialised.contains(h) && !held->contains(h)) return true;
    }
  }
  auto dropped = sqlite::Stmt::Prepare(db, "SELECT 1 FROM main.crlog_tables WHERE name NOT IN "
                                   "(SELECT name FROM main.sqlite_schema WHERE type = 'table')");
  if (!dropped.ok()) return dropped.status();
  return dropped->Step();
}

absl::Status Replica::Recover(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) {
    return absl::UnavailableError("inside a transaction; recovery runs at the next commit");
  }
  // Most loads find nothing to do: check without taking the write lock.
  auto needed = NeedsRecovery(db);
  if (!needed.ok()) return needed.status();
  if (!*needed) return absl::OkStatus();
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    return absl::UnavailableError("the database is busy; recovery runs at the next commit");
  }
  if (rc == SQLITE_READONLY) return absl::UnavailableError("read-only database");
  if (rc != SQLITE_OK) return sqlite::SqliteError(db, rc, "starting recovery");
  absl::Status s = ResolvePending(db);
  std::optional<PendingCommit> drops;
  if (s.ok()) s = RollForward(db);
  if (s.ok()) {
    auto watermark = meta::ReadWatermark(db);
    if (!watermark.ok()) s = watermark.status();
    else if (watermark->seq != 0) {
      auto present = log_->Contains(watermark->hash);
      if (!present.ok()) s = present.status();
      else if (!*present) {
        s = absl::DataLossError(absl::StrCat(
            "the log '", log_path_, "' lacks event ", log::ToHex(watermark->hash), " (seq ",
            watermark->seq, "), the newest this database committed: the log was truncated or "
            "replaced; restore it, and run `crlog verify`"));
      }
    }
  }
  if (s.ok()) s = RecordDrops(db, &drops);
  if (s.ok()) {
    int rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) s = sqlite::SqliteError(db, rc, "committing recovery");
  }
  if (!s.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  if (drops.has_value()) {
    // Committed: publish. Rolled back: forget the pending events.
    absl::Status done = s.ok() ? FinishCommit(*drops) : AbortCommit(*drops);
    if (s.ok()) s = done;
  }
  return s;
}

absl::Status Replica::RollForward(sqlite3* db) {
  FoldOptions options;
  options.local_site = site_;
  options.set_sync_bit = true;
  FoldStats stats;
  return FoldMissing(db, options, &stats).status();
}

}  // namespace crlog::engine
