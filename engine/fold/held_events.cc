#include "engine/fold/held_events.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/replica/meta_tables.h"
#include "util/sqlite/stmt.h"

namespace crlog::engine {
namespace {

absl::StatusOr<bool> HeldTableExists(sqlite3* db) {
  auto stmt = sqlite::Stmt::Prepare(db, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = 'crlog_held'");
  if (!stmt.ok()) return stmt.status();
  return stmt->Step();
}

absl::StatusOr<log::Hash> IdColumn(const sqlite::Stmt& stmt, int column) {
  std::string_view id = stmt.ColumnBlob(column);
  if (id.size() != 32) return absl::DataLossError("crlog_held holds an event id that is not 32 bytes");
  return log::ToArray<32>(id);
}

}  // namespace

bool IsRefusedByTables(const absl::Status& fold_error) {
  // The fold reports constraint failures, type mismatches and pks its table
  // cannot hold as InvalidArgument (util/sqlite/stmt.h: sqlite::SqliteError); I/O errors,
  // a full disk, a busy database or corruption are other codes.
  return absl::IsInvalidArgument(fold_error);
}

absl::StatusOr<std::vector<HeldEvent>> ReadHeldEvents(sqlite3* db) {
  auto exists = HeldTableExists(db);
  if (!exists.ok()) return exists.status();
  std::vector<HeldEvent> held;
  if (!*exists) return held;
  auto stmt = sqlite::Stmt::Prepare(
      db, "SELECT event, cause, tbl, pk, reason, held_at FROM main.crlog_held ORDER BY held_at, rowid");
  if (!stmt.ok()) return stmt.status();
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    HeldEvent h;
    auto event = IdColumn(*stmt, 0);
    if (!event.ok()) return event.status();
    auto cause = IdColumn(*stmt, 1);
    if (!cause.ok()) return cause.status();
    h.event = *event;
    h.cause = *cause;
    h.table = std::string(stmt->ColumnText(2));
    h.pk = std::string(stmt->ColumnBlob(3));
    h.reason = std::string(stmt->ColumnText(4));
    h.held_at_ms = stmt->ColumnInt(5);
    held.push_back(std::move(h));
  }
  return held;
}

absl::StatusOr<absl::flat_hash_map<log::Hash, log::Hash>> ReadHeldCauses(sqlite3* db) {
  auto held = ReadHeldEvents(db);
  if (!held.ok()) return held.status();
  absl::flat_hash_map<log::Hash, log::Hash> causes;
  for (const HeldEvent& h : *held) causes[h.event] = h.cause;
  return causes;
}

absl::Status RecordHeldEvent(sqlite3* db, const HeldEvent& held) {
  if (absl::Status s = meta::CreateHeldTable(db); !s.ok()) return s;
  auto stmt = sqlite::Stmt::Prepare(db,
                            "INSERT OR IGNORE INTO main.crlog_held(event, cause, tbl, pk, reason, held_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindBlob(1, log::AsBytes(held.event));
  stmt->BindBlob(2, log::AsBytes(held.cause));
  if (!held.table.empty()) {
    stmt->BindText(3, held.table);
    stmt->BindBlob(4, held.pk);
  }
  stmt->BindText(5, held.reason);
  stmt->BindInt(6, held.held_at_ms != 0 ? held.held_at_ms : absl::ToUnixMillis(absl::Now()));
  return stmt->Run();
}

namespace {

// One pass over the events. Without `per_unit`, the first refusal is
// returned (the caller undoes the pass and tries again with it); with it,
// each event or group folds inside a savepoint of its own, and a refused one
// is rolled back and held.
absl::StatusOr<uint64_t> FoldPass(sqlite3* db, Fold& fold, absl::Span<const log::Event> events,
                                  absl::Span<const log::Hash> hashes,
                                  absl::flat_hash_map<log::Hash, log::Hash> causes, bool per_unit) {
  uint64_t folded = 0;
  for (size_t begin = 0; begin < events.size();) {
    // The members of a group arrive together, parents first: one unit.
    size_t end = begin + 1;
    while (end < events.size() && events[end].group.grouped() && events[end].group.index > 0) ++end;

    std::optional<log::Hash> behind;
    bool already_held = false;
    for (size_t i = begin; i < end && !behind; ++i) {
      if (causes.contains(hashes[i])) already_held = true;
      for (const log::Hash& p : events[i].parents) {
        auto it = causes.find(p);
        if (it != causes.end()) {
          behind = it->second;
          break;
        }
      }
    }
    if (already_held && !behind) {
      begin = end;
      continue;
    }
    if (behind) {
      for (size_t i = begin; i < end; ++i) {
        if (causes.contains(hashes[i])) continue;
        HeldEvent h;
        h.event = hashes[i];
        h.cause = *behind;
        h.reason = absl::StrCat("behind held event ", log::ToHex(*behind),
                                ": it was written after the held writes, and waits for them");
        if (absl::Status s = RecordHeldEvent(db, h); !s.ok()) return s;
        causes[h.event] = h.cause;
      }
      begin = end;
      continue;
    }

    const FoldStats before = fold.stats();
    if (per_unit) {
      if (absl::Status s = sqlite::Exec(db, "SAVEPOINT crlog_fold_event"); !s.ok()) return s;
    }
    absl::Status applied;
    size_t failed = begin;
    for (size_t i = begin; i < end && applied.ok(); ++i) {
      applied = fold.Apply(hashes[i], events[i]);
      failed = i;
    }
    if (applied.ok()) {
      if (per_unit) {
        if (absl::Status s = sqlite::Exec(db, "RELEASE crlog_fold_event"); !s.ok()) return s;
      }
      folded += end - begin;
      begin = end;
      continue;
    }
    if (!per_unit || !IsRefusedByTables(applied)) return applied;
    const std::optional<Fold::RefusedRow> refused = fold.refused_row();
    if (absl::Status s = sqlite::Exec(db, "ROLLBACK TO crlog_fold_event; RELEASE crlog_fold_event"); !s.ok()) return s;
    if (absl::Status s = fold.Restart(before); !s.ok()) return s;
    for (size_t i = begin; i < end; ++i) {
      HeldEvent h;
      h.event = hashes[i];
      h.cause = hashes[failed];
      if (i == failed) {
        if (refused) {
          h.table = refused->table;
          h.pk = refused->pk;
        }
        h.reason = std::string(applied.message());
      } else {
        h.reason = absl::StrCat("in one event group with ", log::ToHex(hashes[failed]),
                                ", which the tables refused");
      }
      if (absl::Status s = RecordHeldEvent(db, h); !s.ok()) return s;
      causes[h.event] = h.cause;
    }
    begin = end;
  }
  return folded;
}

}  // namespace

absl::StatusOr<uint64_t> FoldHoldingRefused(sqlite3* db, Fold& fold, absl::Span<const log::Event> events,
                                            absl::Span<const log::Hash> hashes) {
  auto causes = ReadHeldCauses(db);
  if (!causes.ok()) return causes.status();
  // Nearly every fold is refused nothing: one savepoint for the whole, and
  // only after a refusal the slower pass with one per event.
  const FoldStats before = fold.stats();
  if (absl::Status s = sqlite::Exec(db, "SAVEPOINT crlog_fold"); !s.ok()) return s;
  auto folded = FoldPass(db, fold, events, hashes, *causes, /*per_unit=*/false);
  if (!folded.ok() && IsRefusedByTables(folded.status())) {
    if (absl::Status s = sqlite::Exec(db, "ROLLBACK TO crlog_fold"); !s.ok()) return s;
    if (absl::Status s = fold.Restart(before); !s.ok()) return s;
    folded = FoldPass(db, fold, events, hashes, *std::move(causes), /*per_unit=*/true);
  }
  if (!folded.ok()) {
    sqlite::Exec(db, "ROLLBACK TO crlog_fold; RELEASE crlog_fold").IgnoreError();
    return folded.status();
  }
  if (absl::Status s = sqlite::Exec(db, "RELEASE crlog_fold"); !s.ok()) return s;
  return folded;
}

absl::Status ForgetHeldEvents(sqlite3* db) {
  auto exists = HeldTableExists(db);
  if (!exists.ok()) return exists.status();
  return *exists ? sqlite::Exec(db, "DELETE FROM main.crlog_held") : absl::OkStatus();
}

}  // namespace crlog::engine
