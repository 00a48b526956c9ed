// `crlog log PATH`: the log's published events, newest first, like `git log`.
// Reads through Log::ForEachNewestFirst and prints as it goes, so a long
// log starts showing at once and memory stays flat. An event whose bytes do
// not match its id, or do not decode, stops the listing with DataLoss.
//
// With --ops and a database, each op shows old -> new (History::OpChanges):
// the events to show are chosen first, then one replay of the database's
// history finds what their ops replaced, then they are printed.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crlog/event.h"
#include "crlog/history.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "tools/commands.h"
#include "tools/json_value.h"
#include "tools/log_path.h"
#include "tools/op_changes.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace {

// Whether `event` passes the filters of `options`; `packed_pk` is --pk packed.
bool Matches(const LogOptions& options, const Event& event, const std::optional<std::string>& packed_pk) {
  if (options.site) {
    auto starts = [&](const SiteId& site) { return absl::StartsWith(ToHex(site), *options.site); };
    bool any = event.kind == EventKind::kImport
                   ? std::any_of(event.origins.begin(), event.origins.end(), starts)
                   : starts(event.site);
    if (!any) return false;
  }
  const bool timed = !(event.kind == EventKind::kImport && event.time_micros == 0);
  if (options.since_micros && (!timed || event.time_micros < *options.since_micros)) return false;
  if (options.until_micros && (!timed || event.time_micros >= *options.until_micros)) return false;
  if (options.table) {
    if (event.kind == EventKind::kSchemaChange) return !packed_pk && event.schema_change.table == *options.table;
    for (const TableChanges& t : event.tables) {
      if (t.table != *options.table) continue;
      if (!packed_pk) return true;
      auto rows = DecodeRows(t, event.kind == EventKind::kImport);
      if (rows.ok() && std::any_of(rows->begin(), rows->end(), [&](const RowOp& op) { return op.pk == *packed_pk; })) {
        return true;
      }
    }
    return false;
  }
  return true;
}

// Walks the log newest first, calling `show` for each event that passes the
// filters, until --limit events were shown or `show` returns false. Each
// event is checked (by the store) and decoded first: a fault stops the walk
// and is returned.
absl::Status Walk(const Log& store, const LogOptions& options, const std::optional<std::string>& packed_pk,
                  const std::function<bool(const StoredEvent&, const Event&)>& show) {
  if (options.limit && *options.limit == 0) return absl::OkStatus();
  uint64_t shown = 0;
  absl::Status fault;
  absl::Status walk = store.ForEachNewestFirst([&](const StoredEvent& stored) {
    // The log checked that the bytes are what the id names; links, seqs
    // and indexes are verify's.
    absl::StatusOr<Event> event = stored.Decode();
    if (!event.ok()) {
      fault = absl::DataLossError(absl::StrCat("event ", ToHex(stored.hash), " at position ", stored.position,
                                               " of '", store.path(), "' does not decode: ", event.status().message(),
                                               "; run `crlog verify` on the log to find every fault"));
      return false;
    }
    if (!Matches(options, *event, packed_pk)) return true;
    if (!show(stored, *event)) return false;
    ++shown;
    return !options.limit || shown < *options.limit;
  });
  if (fault.ok() && !walk.ok()) {
    fault = absl::Status(walk.code(), absl::StrCat("reading the log '", store.path(), "' failed: ", walk.message()));
  }
  return fault;
}

// One event in the --oneline or full format (JSON goes through a
// JsonLinesArray).
void PrintEventText(const LogOptions& options, const EventView& view, bool first, std::ostream& out) {
  if (options.format == LogOptions::Format::kOneLine) {
    PrintEventOneLine(view, out);
    return;
  }
  if (!first) out << "\n";
  PrintEventFull(view, out);
}

// The database whose log PATH names, when there is one: PATH itself when it
// is a file, or the file a log directory app.db-crlog/ sits beside.
std::optional<std::string> DatabaseFor(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  std::optional<std::string> db = DatabasePathOf(path);
  if (db.has_value() && fs::is_regular_file(*db, ec)) return db;
  return std::nullopt;
}

// `crlog log --ops`: the events to show, then their changes from one replay
// of the database's history, then the output.
absl::Status RunLogWithOps(const Log& store, const LogOptions& options,
                           const std::optional<std::string>& packed_pk, const Io& io) {
  // Old values of a row depend on that row's ops alone, so the replay needs
  // only the rows the shown events touch; past this many, a whole replay
  // costs less than filtering every event against them.
  constexpr size_t kMaxFilteredRows = 100000;
  std::vector<Hash> shown;
  std::optional<std::vector<RowKey>> rows(std::in_place);
  absl::Status fault = Walk(store, options, packed_pk, [&](const StoredEvent& stored, const Event& event) {
    shown.push_back(stored.hash);
    for (const TableChanges& tc : event.tables) {
      if (!rows) break;
      auto ops = DecodeRows(tc, event.kind == EventKind::kImport);
      if (!ops.ok()) continue;
      for (RowOp& op : *ops) {
        rows->push_back(RowKey{tc.table, std::move(op.pk)});
        if (rows->size() > kMaxFilteredRows) {
          rows.reset();
          break;
        }
      }
    }
    return true;
  });

  std::optional<std::map<Hash, std::vector<OpChange>>> changes;
  if (std::optional<std::string> db_path = DatabaseFor(options.path); db_path && !shown.empty()) {
    absl::StatusOr<std::unique_ptr<History>> db = History::Open(*db_path);
    if (db.ok()) {
      if (options.table && packed_pk) rows.emplace({RowKey{*options.table, *packed_pk}});
      ProgressLine progress(io.err, io.err_is_terminal, "replaying for old values");
      auto replayed = (*db)->OpChanges(std::set<Hash>(shown.begin(), shown.end()), rows,
                                       [&](uint64_t done, uint64_t total) { progress.Update(done, total); });
      progress.Clear();
      if (!replayed.ok()) return replayed.status();
      changes = *std::move(replayed);
    } else {
      io.err << "crlog log: showing ops as written, without old values: " << db.status().message() << "\n";
    }
  }

  std::optional<JsonLinesArray> json;
  if (options.format == LogOptions::Format::kJson) json.emplace(io.out);
  for (size_t i = 0; i < shown.size(); ++i) {
    absl::StatusOr<StoredEvent> stored = store.Get(shown[i]);
    if (!stored.ok()) return stored.status();
    absl::StatusOr<Event> event = stored->Decode();
    if (!event.ok()) return event.status();
    const std::vector<OpChange>* ops = nullptr;
    if (changes) {
      if (auto it = changes->find(shown[i]); it != changes->end()) ops = &it->second;
    }
    EventView view{*stored, *event};
    if (json) {
      // The event object, with its changes as one more key.
      Json object = EventToJson(view);
      object["changes"] = ops != nullptr ? OpChangesToJson(*ops) : OpChangesToJson(WrittenChanges(*event));
      json->Add(object);
      continue;
    }
    PrintEventText(options, view, i == 0, io.out);
    if (ops != nullptr) {
      PrintOpChanges(*ops, io.out);
    } else {
      // No database to say what the ops replaced (or the event is not in
      // its history): the rows as written.
      PrintEventOps(*event, io.out);
    }
  }
  if (json && fault.ok()) {
    json->Close();
    io.out << "\n";
  }
  io.out.flush();
  return fault;
}

}  // namespace

// The events the database beside the log holds out of its tables
// (crlog::ReadHeldEvents), with their reasons; empty without a database.
absl::flat_hash_map<Hash, std::string> HeldReasons(const std::string& path) {
  absl::flat_hash_map<Hash, std::string> reasons;
  std::optional<std::string> db_path = DatabaseFor(path);
  if (!db_path) return reasons;
  auto held = ReadHeldEvents(*db_path);
  if (!held.ok()) return reasons;
  for (const HeldEvent& h : *held) reasons[h.event] = h.reason;
  return reasons;
}

absl::Status RunLog(const LogOptions& options, const Io& io) {
  absl::StatusOr<std::unique_ptr<Log>> store = Log::OpenReadOnly(options.path);
  if (!store.ok()) return store.status();
  const absl::flat_hash_map<Hash, std::string> held = HeldReasons(options.path);
  auto held_reason = [&](const Hash& h) -> const std::string* {
    auto it = held.find(h);
    return it == held.end() ? nullptr : &it->second;
  };

  std::optional<std::string> packed_pk;
  if (absl::Status s = CheckPlainValues(options.pk); !s.ok()) return s;
  if (!options.pk.empty()) packed_pk = PackPlainPk(options.pk);
  if (options.ops) return RunLogWithOps(**store, options, packed_pk, io);

  std::optional<JsonLinesArray> json;
  if (options.format == LogOptions::Format::kJson) json.emplace(io.out);
  bool first = true;
  absl::Status fault = Walk(**store, options, packed_pk, [&](const StoredEvent& stored, const Event& event) {
    const EventView view{stored, event, held_reason(stored.hash)};
    if (json) {
      json->Add(EventToJson(view));
    } else {
      PrintEventText(options, view, first, io.out);
    }
    first = false;
    return true;
  });
  // A damaged log leaves the JSON unterminated, so a script cannot mistake a
  // partial list for the whole one.
  if (json && fault.ok()) {
    json->Close();
    io.out << "\n";
  }
  io.out.flush();
  return fault;
}

}  // namespace crlog::tools
