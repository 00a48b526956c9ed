// Replay (engine/history/replay.h): the point's events, in arrival order, through
// the one fold, with the tables following the schema site's schema changes.
#include "engine/history/replay.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/fold/alter_columns.h"
#include "engine/fold/fold.h"
#include "engine/fold/held_events.h"
#include "engine/replica/meta_tables.h"
#include "util/sqlite/stmt.h"
#include "log/row_codec.h"
#include "util/strings.h"
#include "util/sqlite/quote.h"

namespace crlog::engine {
namespace {

// Reorders the past of a point (`hashes`, in this log's arrival order) into
// the order `site` took those events in, as far as the log can tell: when
// the site wrote its k-th event, it held exactly that event's past. So each
// event goes just before the first of the site's own events whose past holds
// it, in arrival order among its peers there. Our arrival order can differ
// (rows from a third site reached us before the site replicated their
// table), and replaying in it would fold rows the site skipped, or skip rows
// it folded.
absl::StatusOr<std::vector<log::Hash>> InWriterOrder(const log::LogStore& store, std::vector<log::Hash> hashes,
                                                     const log::SiteId& site) {
  const size_t n = hashes.size();
  absl::flat_hash_map<log::Hash, size_t> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) index.emplace(hashes[i], i);
  std::vector<std::vector<size_t>> parents(n);
  std::vector<std::pair<uint64_t, size_t>> own;  // (seq, index)
  for (size_t i = 0; i < n; ++i) {
    auto stored = store.Get(hashes[i]);
    if (!stored.ok()) return stored.status();
    auto header = log::DecodeEventHeader(stored->bytes, log::DecodeLimits{SIZE_MAX});
    if (!header.ok()) return header.status();
    for (const log::Hash& p : header->parents) {
      auto it = index.find(p);
      if (it != index.end()) parents[i].push_back(it->second);
    }
    if (header->kind != log::EventKind::kImport && header->site == site) own.emplace_back(header->seq, i);
  }
  std::sort(own.begin(), own.end());
  constexpr size_t kUnreached = SIZE_MAX;
  std::vector<size_t> slot(n, kUnreached);
  std::vector<size_t> stack;
  for (size_t k = 0; k < own.size(); ++k) {
    stack.push_back(own[k].second);
    while (!stack.empty()) {
      size_t x = stack.back();
      stack.pop_back();
      if (slot[x] != kUnreached) continue;
      slot[x] = k;
      for (size_t p : parents[x]) {
        if (slot[p] == kUnreached) stack.push_back(p);
      }
    }
  }
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  // Within a slot, arrival order; across slots, the site's order. Both keep
  // parents first: an event's parents are in its slot or an earlier one.
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return slot[a] < slot[b]; });
  std::vector<log::Hash> out;
  out.reserve(n);
  for (size_t i : order) out.push_back(hashes[i]);
  return out;
}

// The hashes a point names, in the order to fold them.
absl::StatusOr<std::vector<log::Hash>> PointEvents(const log::LogStore& store, const Point& point,
                                                   const log::SiteId& local_site) {
  if (!point.up_to_position) {
    auto past = store.Ancestors(point.heads);
    if (!past.ok()) return past.status();
    // This log's own arrival order is the order this replica took them in.
    if (point.schema_site == local_site) return past;
    return InWriterOrder(store, *std::move(past), point.schema_site);
  }
  std::vector<log::Hash> hashes;
  const uint64_t last = *point.up_to_position;
  absl::Status s = store.ForEach([&](const log::StoredEvent& e) {
    if (e.position > last) return false;
    hashes.push_back(e.hash);
    return true;
  });
  if (!s.ok()) return s;
  return hashes;
}

// `event` cut down to the ops on the rows of `rows`; nullopt when it has none.
absl::StatusOr<std::optional<log::Event>> OnlyRows(const log::Event& event, const RowFilter& rows) {
  const bool is_import = event.kind == log::EventKind::kImport;
  std::optional<log::Event> out;
  for (const log::TableChanges& tc : event.tables) {
    const absl::flat_hash_set<std::string>* pks = rows.PksOf(tc.table);
    if (pks == nullptr) continue;
    const auto columns = static_cast<uint32_t>(tc.columns.size());
    log::RowsReader reader(tc.rows, is_import);
    log::RowsWriter writer(is_import);
    log::RowOp op;
    if (pks->size() == 1) {
      // A row appears once per table in an event; the rows before it are
      // stepped over without building their values.
      auto found = reader.Find(columns, *pks->begin(), &op);
      if (!found.ok()) return found.status();
      if (*found) writer.AddRow(op);
    } else {
      while (!reader.done()) {
        if (absl::Status s = reader.Next(columns, &op); !s.ok()) return s;
        if (pks->contains(op.pk)) writer.AddRow(op);
      }
    }
    if (writer.row_count() == 0) continue;
    if (!out) {
      out.emplace();
      out->kind = event.kind;
      out->site = event.site;
      out->seq = event.seq;
      out->lamport = event.lamport;
      out->time_micros = event.time_micros;
      out->parents = event.parents;
      out->group = event.group;
      out->origins = event.origins;
      out->signature = event.signature;
    }
    log::TableChanges& cut = out->tables.emplace_back();
    cut.table = tc.table;
    cut.columns = tc.columns;
    cut.row_count = writer.row_count();
    cut.rows = writer.Release();
    for (const std::string& pk : tc.entries) {
      if (pks->contains(pk)) cut.entries.push_back(pk);
    }
  }
  return out;
}

// The replicated tables as the schema site had them, kept in step with the
// database being built.
class SchemaFollower {
 public:
  explicit SchemaFollower(sqlite3* db) : db_(db) {}

  // Applies one schema change. Sets *changed when a table appeared, went or
  // changed shape (the fold's cached shapes are stale, and stashed cells may
  // now have a column).
  absl::Status Apply(const log::SchemaChangeBody& body, bool* changed) {
    *changed = false;
    auto it = tables_.find(body.table);
    const std::string q = sqlite::QuoteIdentifier(body.table);
    if (body.sql.empty()) {  // dropped (or made plain)
      if (it == tables_.end()) return absl::OkStatus();
      if (absl::Status s = sqlite::Exec(db_, absl::StrCat("DROP TABLE IF EXISTS main.", q)); !s.ok()) return s;
      auto forget = sqlite::Stmt::Prepare(db_, "DELETE FROM main.crlog_clock WHERE tbl = ?1");
      if (!forget.ok()) return forget.status();
      forget->BindInt(1, it->second.id);
      if (absl::Status s = forget->Run(); !s.ok()) return s;
      for (const char* sql : {"DELETE FROM main.crlog_tables WHERE name = ?1",
                              "DELETE FROM main.crlog_stash WHERE tbl = ?1"}) {
        auto stmt = sqlite::Stmt::Prepare(db_, sql);
        if (!stmt.ok()) return stmt.status();
        stmt->BindText(1, body.table);
        if (absl::Status s = stmt->Run(); !s.ok()) return s;
      }
      tables_.erase(it);
      *changed = true;
      return absl::OkStatus();
    }
    if (it == tables_.end()) {
      if (absl::Status s = sqlite::Exec(db_, body.sql); !s.ok()) {
        return absl::Status(s.code(), absl::StrCat("replaying the schema of table '", body.table, "': ", s.message()));
      }
      auto ins = sqlite::Stmt::Prepare(db_, "INSERT INTO main.crlog_tables(name) VALUES (?1) RETURNING id");
      if (!ins.ok()) return ins.status();
      ins->BindText(1, body.table);
      auto row = ins->Step();
      if (!row.ok()) return row.status();
      Known k;
      k.id = ins->ColumnInt(0);
      k.body = body;
      ins->Reset();
      tables_.emplace(body.table, std::move(k));
      *changed = true;
      return absl::OkStatus();
    }
    Known& known = it->second;
    if (known.body.sql == body.sql && known.body.columns == body.columns &&
        known.body.pk_columns == body.pk_columns) {
      return absl::OkStatus();
    }
    // Rebuilt under the new definition, values carried as crsql_commit_alter
    // expects them (engine/fold/alter_columns.h): by name, renames paired in
    // order, new columns at their default. A new pk gives every row a new
    // identity, so the old clocks go; the alter's own event then brings
    // the re-keyed rows (its derived cells), as it did live.
    const std::string old_name = "crlog_replay_previous";
    const std::string qold = sqlite::QuoteIdentifier(old_name);
    if (absl::Status s = sqlite::Exec(db_, absl::StrCat("ALTER TABLE main.", q, " RENAME TO ", qold, ";\n", body.sql, ";"));
        !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("replaying an alter of table '", body.table, "': ", s.message()));
    }
    auto proj = ProjectAlter(db_, body.table, known.body.pk_columns, known.body.columns, body.pk_columns,
                             body.columns, "");
    if (!proj.ok()) return proj.status();
    std::vector<std::string> to, from;
    for (size_t i = 0; i < body.pk_columns.size(); ++i) {
      if (!proj->pk[i]) continue;
      to.push_back(sqlite::QuoteIdentifier(body.pk_columns[i]));
      from.push_back(*proj->pk[i]);
    }
    for (size_t j = 0; j < body.columns.size(); ++j) {
      if (!proj->columns[j]) continue;
      to.push_back(sqlite::QuoteIdentifier(body.columns[j]));
      from.push_back(*proj->columns[j]);
    }
    std::string sql = absl::StrCat("INSERT OR IGNORE INTO main.", q, " (", absl::StrJoin(to, ", "), ") SELECT ",
                                   absl::StrJoin(from, ", "), " FROM main.", qold, ";\n",
                                   "DROP TABLE main.", qold, ";");
    if (absl::Status s = sqlite::Exec(db_, sql); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("replaying an alter of table '", body.table, "': ", s.message()));
    }
    if (proj->pk_changed) {
      auto forget = sqlite::Stmt::Prepare(db_, "DELETE FROM main.crlog_clock WHERE tbl = ?1");
      if (!forget.ok()) return forget.status();
      forget->BindInt(1, known.id);
      if (absl::Status s = forget->Run(); !s.ok()) return s;
    } else {
      const std::vector<int> map =
          SameNamed(MapColumns(known.body.columns, body.columns), known.body.columns, body.columns);
      if (!IsIdentity(map, body.columns.size())) {
        if (absl::Status s = RemapClocks(db_, known.id, map); !s.ok()) return s;
      }
    }
    known.body = body;
    *changed = true;
    return absl::OkStatus();
  }

  bool Has(const std::string& table) const { return tables_.contains(table); }
  const std::vector<std::string>& Columns(const std::string& table) const { return tables_.at(table).body.columns; }

 private:
  struct Known {
    int64_t id = 0;
    log::SchemaChangeBody body;
  };
  sqlite3* db_;
  std::map<std::string, Known> tables_;
};

// Folds the stashed cells of `table` whose column it now has (an alter
// added it), as crsql_commit_alter releases them. They take a db_version of
// their own, as they do in the alter's transaction, so the clocks never name
// another event's version (blame reads them). No other fold may be open.
absl::Status ReleaseStashed(sqlite3* db, const std::string& table, const std::vector<std::string>& columns,
                            const FoldOptions& fold_options) {
  auto ready = TakeStashed(db, table, columns);
  if (!ready.ok()) return ready.status();
  if (ready->empty()) return absl::OkStatus();
  auto watermark = meta::ReadWatermark(db);
  if (!watermark.ok()) return watermark.status();
  ++watermark->db_version;
  auto fold = Fold::Begin(db, fold_options);
  if (!fold.ok()) return fold.status();
  for (const OwnedChange& c : *ready) {
    auto merged = (*fold)->MergeChange(c.view(), watermark->db_version);
    if (!merged.ok()) return merged.status();
  }
  if (absl::Status s = (*fold)->Flush(); !s.ok()) return s;
  fold->reset();
  return meta::WriteWatermark(db, *watermark);
}

// One replay. An event the tables refuse (engine/fold/held_events.h) fails it,
// naming the event in `*refused`.
absl::StatusOr<ReplayStats> ReplayInTransaction(const log::LogStore& store, const Point& point, sqlite3* db,
                                                const ReplayOptions& options, std::optional<log::Hash>* refused) {
  if (absl::Status s = meta::CreateCrlogTables(db); !s.ok()) return s;
  auto hashes = PointEvents(store, point, options.local_site);
  if (!hashes.ok()) return hashes.status();
  ReplayStats stats;
  stats.events = hashes->size();

  FoldOptions fold_options;
  fold_options.local_site = options.local_site;
  fold_options.rules = options.rules;
  auto fold = Fold::Begin(db, fold_options);
  if (!fold.ok()) return fold.status();
  SchemaFollower tables(db);

  uint64_t done = 0;
  absl::flat_hash_set<log::Hash> left_out = options.held;
  for (const log::Hash& hash : *hashes) {
    auto stored = store.Get(hash);
    if (!stored.ok()) return stored.status();
    // What is replayed must be what the id names (one SHA-256 an event).
    if (log::Sha256(stored->bytes) != hash) {
      return absl::DataLossError(absl::StrCat("event ", log::ToHex(hash), " at position ", stored->position,
                                              " of '", store.path(), "' was altered: its bytes do not hash to "
                                              "its id; run `crlog verify` to find every fault"));
    }
    // The hash matched, so these are the bytes the store checked on append.
    auto event = stored->DecodeTrusted();
    if (!event.ok()) {
      return absl::DataLossError(absl::StrCat("replaying event ", log::ToHex(hash), " at position ",
                                              stored->position, ": ", event.status().message(),
                                              "; run `crlog verify`"));
    }
    const log::Event* to_fold = &*event;
    std::optional<log::Event> cut;
    const bool schema = event->kind == log::EventKind::kSchemaChange;
    bool held = !left_out.empty() && left_out.contains(hash);
    for (size_t p = 0; p < event->parents.size() && !held && !left_out.empty(); ++p) {
      held = left_out.contains(event->parents[p]);
    }
    if (held) {
      left_out.insert(hash);
      to_fold = nullptr;
      ++stats.held;
    } else if (schema) {
      if (event->site != point.schema_site) to_fold = nullptr;
    } else if (event->tables.empty()) {
      to_fold = nullptr;
    } else if (options.only_rows) {
      auto only = OnlyRows(*event, *options.only_rows);
      if (!only.ok()) return only.status();
      cut = *std::move(only);
      to_fold = cut ? &*cut : nullptr;
    }
    if (to_fold != nullptr) {
      if (options.observer != nullptr) {
        if (absl::Status s = options.observer->BeforeEvent(db, *stored, *to_fold); !s.ok()) return s;
      }
      if (schema) {
        bool changed = false;
        if (absl::Status s = tables.Apply(to_fold->schema_change, &changed); !s.ok()) return s;
        if (changed) {
          // The fold caches table shapes: start a new one on the new shape.
          fold->reset();
          const std::string& table = to_fold->schema_change.table;
          if (tables.Has(table)) {
            if (absl::Status s = ReleaseStashed(db, table, tables.Columns(table), fold_options); !s.ok()) return s;
          }
          fold = Fold::Begin(db, fold_options);
          if (!fold.ok()) return fold.status();
        }
      } else {
        if (absl::Status s = (*fold)->Apply(hash, *to_fold); !s.ok()) {
          if (IsRefusedByTables(s)) *refused = hash;
          return absl::Status(s.code(), absl::StrCat("replaying event ", log::ShortHex(hash), ": ", s.message()));
        }
        stats.ops += to_fold->CountOps();
      }
      ++stats.folded;
      if (options.observer != nullptr) {
        if (absl::Status s = options.observer->AfterEvent(db, *stored, *to_fold); !s.ok()) return s;
      }
    }
    ++done;
    if (options.progress && (done % 1024 == 0 || done == stats.events)) options.progress(done, stats.events);
  }
  fold->reset();
  auto names = ReplayedTables(db);
  if (!names.ok()) return names.status();
  stats.tables = names->size();
  return stats;
}

}  // namespace

void RowFilter::Add(std::string_view table, std::string_view pk) {
  if (pks_by_table_[absl::AsciiStrToLower(Sv(table))].emplace(pk).second) ++size_;
}

const absl::flat_hash_set<std::string>* RowFilter::PksOf(std::string_view table) const {
  auto it = pks_by_table_.find(absl::AsciiStrToLower(Sv(table)));
  return it == pks_by_table_.end() ? nullptr : &it->second;
}

absl::StatusOr<ReplayStats> ReplayInto(const log::LogStore& store, const Point& point, sqlite3* db,
                                       const ReplayOptions& options) {
  // An event the tables refuse is held, as the live fold holds it: the
  // replay starts again without it and what descends from it. Refusals are
  // rare, and a replay is deterministic, so the restarts are few.
  ReplayOptions attempt = options;
  while (true) {
    if (absl::Status s = sqlite::Exec(db, "BEGIN"); !s.ok()) return s;
    std::optional<log::Hash> refused;
    auto stats = ReplayInTransaction(store, point, db, attempt, &refused);
    absl::Status s = stats.status();
    if (s.ok()) s = sqlite::Exec(db, "COMMIT");
    if (s.ok()) return stats;
    sqlite::Exec(db, "ROLLBACK").IgnoreError();
    if (!refused || !attempt.held.insert(*refused).second) return s;
  }
}

absl::StatusOr<std::vector<std::string>> ReplayedTables(sqlite3* db) {
  return sqlite::QueryTexts(sqlite::Stmt::Prepare(db, "SELECT name FROM main.crlog_tables ORDER BY name"));
}

absl::Status DropHistoryTables(sqlite3* db) {
  auto names = sqlite::QueryTexts(sqlite::Stmt::Prepare(
      db, "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name LIKE 'crlog\\_%' ESCAPE '\\' "
          "AND name NOT IN (SELECT name FROM main.crlog_tables)"));
  if (!names.ok()) return names.status();
  std::string sql = "BEGIN;\n";
  for (const std::string& name : *names) absl::StrAppend(&sql, "DROP TABLE main.", sqlite::QuoteIdentifier(name), ";\n");
  absl::StrAppend(&sql, "COMMIT;");
  if (absl::Status s = sqlite::Exec(db, sql); !s.ok()) {
    sqlite::Exec(db, "ROLLBACK").IgnoreError();
    return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplayStats> ReplayToFile(const log::LogStore& store, const Point& point, const std::string& out_path,
                                         const ReplayOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(out_path, ec)) {
    return absl::AlreadyExistsError(absl::StrCat("'", out_path, "' already exists; replay writes a new file: "
                                                 "choose another path or remove it first"));
  }
  // Built in memory, then written out compact in one go: the output is an
  // ordinary database with no trace of crlog's bookkeeping.
  auto db = sqlite::OpenDb(":memory:", SQLITE_OPEN_READWRITE, "opening an in-memory database for the replay");
  if (!db.ok()) return db.status();
  auto stats = ReplayInto(store, point, db->get(), options);
  if (!stats.ok()) return stats.status();
  if (absl::Status s = DropHistoryTables(db->get()); !s.ok()) return s;
  auto vacuum = sqlite::Stmt::Prepare(db->get(), "VACUUM INTO ?1");
  if (!vacuum.ok()) return vacuum.status();
  vacuum->BindText(1, out_path);
  if (absl::Status s = vacuum->Run(); !s.ok()) {
    std::filesystem::remove(out_path, ec);
    return absl::Status(s.code(), absl::StrCat("writing the replay to '", out_path, "': ", s.message()));
  }
  return stats;
}

}  // namespace crlog::engine
