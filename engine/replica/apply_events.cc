// Replica::ApplyEvents and the held events: remote events into the log,
// then folded into the tables (engine/replica/replica.h).
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
absl::StatusOr<uint64_t> Replica::FoldMissing(sqlite3* db, const FoldOptions& options, FoldStats* stats,
                                               bool own_transaction, std::vector<StoredPending> just_stored,
                                               absl::Span<const log::Hash> in_flight) {
  auto heads = meta::ReadHeads(db);
  if (!heads.ok()) return heads.status();
  if (!in_flight.empty()) {
    // Heads this transaction's earlier applies left pending stand for their
    // published past: the walk below reads published events only.
    absl::flat_hash_set<log::Hash> pending(in_flight.begin(), in_flight.end()), seen;
    std::vector<log::Hash> work = *std::move(heads), published;
    while (!work.empty()) {
      log::Hash h = work.back();
      work.pop_back();
      if (!seen.insert(h).second) continue;
      if (!pending.contains(h)) {
        published.push_back(h);
        continue;
      }
      auto event = log_->GetIncludingPending(h);
      if (!event.ok()) return event.status();
      auto header = log::DecodeEventHeader(event->bytes, log::DecodeLimits{SIZE_MAX});
      if (!header.ok()) return header.status();
      work.insert(work.end(), header->parents.begin(), header->parents.end());
    }
    std::sort(published.begin(), published.end());
    heads = std::move(published);
  }
  for (const log::Hash& h : *heads) {
    auto present = log_->Contains(h);
    if (!present.ok()) return present.status();
    if (!*present) {
      return absl::DataLossError(absl::StrCat(
          "the database '", db_path_, "' materialised event ", log::ToHex(h), " but its log '", log_path_,
          "' lacks it: the log was truncated or replaced; restore it, and run `crlog verify`"));
    }
  }
  // Published events outside the past of the database's heads: the log
  // wins, so they are folded in (remote events just stored, or a database
  // restored from an older copy than its log). The walk stops at the heads.
  // The database has the local chain up to its watermark.
  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  log::VersionVector have;
  if (watermark->seq > 0) have[site_] = watermark->seq;
  auto missing = log_->MissingFor(have, *heads);
  if (!missing.ok()) return missing.status();
  if (missing->empty() && just_stored.empty()) return 0;
  // The walk can reach an event of the heads' past by a path that avoids
  // the heads (a remote event whose parent we had, from a third site).
  // Parents arrive before children, so only events stored after the oldest
  // candidate can be such an event: walk the heads' past down to there.
  uint64_t oldest = UINT64_MAX;
  absl::flat_hash_set<log::Hash> candidates;
  for (const log::StoredEvent& e : *missing) {
    oldest = std::min(oldest, e.position);
    candidates.insert(e.hash);
  }
  absl::flat_hash_set<log::Hash> had, seen;
  std::vector<log::Hash> work(heads->begin(), heads->end());
  while (!work.empty()) {
    log::Hash h = work.back();
    work.pop_back();
    if (!seen.insert(h).second) continue;
    auto stored = log_->Get(h);
    if (!stored.ok()) return stored.status();
    if (stored->position < oldest) continue;
    if (candidates.contains(h)) had.insert(h);
    auto header = log::DecodeEventHeader(stored->bytes, log::DecodeLimits{SIZE_MAX});
    if (!header.ok()) return header.status();
    for (const log::Hash& p : header->parents) work.push_back(p);
  }
  auto fold = Fold::Begin(db, options);
  if (!fold.ok()) return fold.status();
  std::vector<log::Event> events;
  std::vector<log::Hash> hashes;
  uint64_t rows = 0;
  std::set<std::string> tables;
  for (const log::StoredEvent& stored : *missing) {
    if (had.contains(stored.hash)) continue;
    auto event = stored.Decode();
    if (!event.ok()) return event.status();
    for (const log::TableChanges& t : event->tables) {
      rows += t.row_count;
      tables.insert(t.table);
    }
    events.push_back(*std::move(event));
    hashes.push_back(stored.hash);
  }
  for (StoredPending& p : just_stored) {
    for (const log::TableChanges& t : p.event.tables) {
      rows += t.row_count;
      tables.insert(t.table);
    }
    events.push_back(std::move(p.event));
    hashes.push_back(p.hash);
  }
  // Nobody else writes inside our own write transaction, and readers never
  // see the triggers gone: the DDL commits (restored) with the fold.
  constexpr uint64_t kSuspendCaptureRows = 1000;
  std::vector<std::string> suspended;
  if (own_transaction && rows >= kSuspendCaptureRows) {
    auto replicated = ReplicatedTables(db);
    if (!replicated.ok()) return replicated.status();
    for (const std::string& t : *replicated) {
      if (!tables.contains(t)) continue;
      const std::string trigger = absl::StrCat("crlog_", t);
      if (absl::Status s = sqlite::Exec(db, absl::StrCat(
              "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_insert"), ";\n",
              "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_update"), ";\n",
              "DROP TRIGGER IF EXISTS main.", sqlite::QuoteIdentifier(trigger + "_delete"), ";\n"));
          !s.ok()) {
        return s;
      }
      suspended.push_back(t);
    }
  }
  auto folded = FoldHoldingRefused(db, **fold, events, hashes);
  if (!folded.ok()) return folded.status();
  for (const std::string& t : suspended) {
    if (absl::Status s = SetUpCapture(db, t, /*restoring=*/true); !s.ok()) return s;
  }
  *stats = (*fold)->stats();
  return *folded;
}

absl::StatusOr<Replica::ApplyResult> Replica::ApplyEvents(sqlite3* db, absl::Span<const std::string_view> events,
                                                          const FoldOptions& options,
                                                          absl::Span<const log::Hash> in_flight) {
  ApplyResult result;
  std::vector<std::string> copies(events.begin(), events.end());
  auto durability = DurabilityFor(db);
  if (!durability.ok()) return durability.status();

  // Its own write transaction when the caller has none (taking the write
  // lock first, so the heads it reads are the newest); else a savepoint.
  const bool own = sqlite3_get_autocommit(db) != 0;
  if (absl::Status s = sqlite::Exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT crlog_apply"); !s.ok()) return s;
  auto undo = [&](absl::Status s, absl::Span<const log::Hash> stored) {
    sqlite::Exec(db, own ? "ROLLBACK" : "ROLLBACK TO crlog_apply; RELEASE crlog_apply").IgnoreError();
    if (!stored.empty()) log_->Discard(stored, log::Durability::kNoSync).IgnoreError();
    return s;
  };
  // With the write lock: events another connection committed but has not
  // published yet are published, so the heads below are all in the log.
  if (own) {
    if (absl::Status s = ResolvePending(db, in_flight); !s.ok()) return undo(s, {});
  }
  // Stored pending, verified on the way in: a bad event changes nothing, and
  // the events become visible only once SQLite commits their fold.
  auto appended = log_->AppendPending(copies, *durability);
  if (!appended.ok()) return undo(appended.status(), {});
  std::vector<StoredPending> stored;
  std::vector<log::Hash> added;
  for (size_t i = 0; i < appended->size(); ++i) {
    if ((*appended)[i].already_present) continue;
    added.push_back((*appended)[i].hash);
    auto event = log::DecodeEvent(copies[i], log::DecodeLimits{SIZE_MAX, /*trusted=*/true});
    if (!event.ok()) return undo(event.status(), added);
    stored.push_back(StoredPending{(*appended)[i].hash, *std::move(event)});
  }
  result.events_added = added.size();
  std::vector<log::Hash> pending_heads(in_flight.begin(), in_flight.end());
  pending_heads.insert(pending_heads.end(), added.begin(), added.end());
  auto folded = FoldMissing(db, options, &result.fold, own, std::move(stored), pending_heads);
  absl::Status s = folded.status();
  if (s.ok() && !added.empty()) {
    auto held = ReadHeldCauses(db);
    if (!held.ok()) s = held.status();
    else {
      for (const log::Hash& h : added) result.events_held += held->contains(h);
    }
  }
  if (s.ok()) s = sqlite::Exec(db, own ? "COMMIT" : "RELEASE crlog_apply");
  if (!s.ok()) return undo(s, added);
  result.events_folded = *folded;
  if (own) {
    // Committed: if publishing fails, recovery publishes (the heads name them).
    if (!added.empty() && log_->Publish(added, log::Durability::kNoSync).ok()) feed_.Published(added);
  } else {
    result.pending.events = std::move(added);
  }
  return result;
}

absl::StatusOr<std::vector<HeldEvent>> Replica::HeldEvents(sqlite3* db) { return ReadHeldEvents(db); }

absl::StatusOr<uint64_t> Replica::RetryHeld(sqlite3* db, const FoldOptions& options) {
  const bool own = sqlite3_get_autocommit(db) != 0;
  if (absl::Status s = sqlite::Exec(db, own ? "BEGIN IMMEDIATE" : "SAVEPOINT crlog_retry"); !s.ok()) return s;
  auto undo = [&](absl::Status s) {
    sqlite::Exec(db, own ? "ROLLBACK" : "ROLLBACK TO crlog_retry; RELEASE crlog_retry").IgnoreError();
    return s;
  };
  if (own) {
    if (absl::Status s = ResolvePending(db); !s.ok()) return undo(s);
  }
  if (absl::Status s = ForgetHeldEvents(db); !s.ok()) return undo(s);
  FoldStats stats;
  auto folded = FoldMissing(db, options, &stats, own);
  absl::Status s = folded.status();
  if (s.ok()) s = sqlite::Exec(db, own ? "COMMIT" : "RELEASE crlog_retry");
  if (!s.ok()) return undo(s);
  return *folded;
}

}  // namespace crlog::engine
