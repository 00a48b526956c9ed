// `crlog demo DIR`: writes a small example log, so `crlog log` and
// `crlog verify` have something real to show before any app uses crlog.
//
// The history, on a table todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT,
// done INTEGER), in arrival order:
//   alice:1  inserts todos 1 and 2                      parents: none
//   bob:1    inserts todo 3        } concurrent         parents: alice:1
//   alice:2  marks todo 1 done     } branches           parents: alice:1
//   bob:2    retitles todo 2                            parents: bob:1
//   alice:3  merge of both heads; deletes todo 1        parents: alice:2, bob:2
//   import   todo 4 from a history-free cr-sqlite peer  parents: none
// Sites, times and content are fixed, so every run writes the same ids.
#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "crlog/value.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"
#include "tools/pk_text.h"

namespace crlog::tools {
namespace fs = std::filesystem;

namespace {

constexpr char kAliceHex[] = "a11ce000000000000000000000000000";
constexpr char kBobHex[] = "b0b00000000000000000000000000000";
constexpr char kPeerHex[] = "c0ffee00000000000000000000000000";
// 2024-05-01T09:00:00Z.
constexpr int64_t kStartMicros = int64_t{1714554000} * 1000000;
constexpr int64_t kMinute = int64_t{60} * 1000000;

// Column indexes into the table's column list below.
constexpr uint32_t kTitle = 0;
constexpr uint32_t kDone = 1;

SiteId Site(const char* hex) { return *SiteIdFromHex(hex); }

// One row's worth of cells, as (column, version, value).
struct Cell {
  uint32_t column;
  uint64_t version;
  Value value;
};

// Builds the todo table's changes, one row at a time.
class TodoRows {
 public:
  explicit TodoRows(bool with_origins = false) : with_origins_(with_origins) {}
  TodoRows& Row(int64_t id, uint64_t causal_length, const std::vector<Cell>& cells,
                uint32_t origin = 0) {
    int64_t pk[] = {id};
    RowOp row;
    row.pk = PackIntegerPk(pk);
    row.causal_length = causal_length;
    for (const Cell& c : cells) {
      CellOp cell;
      cell.column = c.column;
      cell.version = c.version;
      cell.value = c.value;
      cell.origin = origin;
      row.cells.push_back(std::move(cell));
    }
    rows_.push_back(std::move(row));
    return *this;
  }
  TableChanges Done() {
    TableChanges t;
    t.table = "todo";
    t.columns = {"title", "done"};
    t.row_count = static_cast<uint32_t>(rows_.size());
    t.rows = EncodeRows(rows_, with_origins_);
    rows_.clear();
    return t;
  }

 private:
  bool with_origins_;
  std::vector<RowOp> rows_;
};

// Appends events and remembers what was written, for the summary.
class DemoWriter {
 public:
  explicit DemoWriter(Log& log) : log_(log) {}

  // A change event by `site` on top of `parents`; seq and lamport follow
  // the log, as capture would take them: the site's next seq, one past the
  // highest lamport among the parents.
  absl::StatusOr<Hash> Change(const SiteId& site, int64_t time_micros,
                              std::vector<Hash> parents, TableChanges table) {
    Event event;
    event.kind = EventKind::kChange;
    event.site = site;
    absl::StatusOr<VersionVector> versions = log_.Versions();
    if (!versions.ok()) return versions.status();
    auto known = versions->find(site);
    event.seq = (known == versions->end() ? 0 : known->second) + 1;
    uint64_t lamport = 0;
    for (const Hash& p : parents) {
      absl::StatusOr<StoredEvent> parent = log_.Get(p);
      if (!parent.ok()) return parent.status();
      absl::StatusOr<Event> decoded = parent->DecodeTrusted();
      if (!decoded.ok()) return decoded.status();
      lamport = std::max(lamport, decoded->lamport);
    }
    event.lamport = lamport + 1;
    event.time_micros = time_micros;
    event.parents = std::move(parents);
    event.tables.push_back(std::move(table));
    return Write(std::move(event));
  }

  absl::StatusOr<Hash> Import(const SiteId& origin, int64_t time_micros,
                              TableChanges table) {
    Event event;
    event.kind = EventKind::kImport;
    event.seq = 0;
    event.lamport = 1;
    event.time_micros = time_micros;
    event.origins = {origin};
    event.tables.push_back(std::move(table));
    return Write(std::move(event));
  }

  const std::vector<StoredEvent>& written() const { return written_; }

 private:
  absl::StatusOr<Hash> Write(Event event) {
    absl::StatusOr<EncodedEvent> encoded = EncodeEvent(std::move(event));
    if (!encoded.ok()) return encoded.status();
    absl::StatusOr<std::vector<Hash>> appended = log_.Append({encoded->bytes});
    if (!appended.ok()) return appended.status();
    absl::StatusOr<StoredEvent> stored = log_.Get(encoded->hash);
    if (!stored.ok()) return stored.status();
    written_.push_back(*std::move(stored));
    return encoded->hash;
  }

  Log& log_;
  std::vector<StoredEvent> written_;
};

absl::Status WriteHistory(DemoWriter& w, const Log& log) {
  const SiteId alice = Site(kAliceHex);
  const SiteId bob = Site(kBobHex);

  absl::StatusOr<Hash> a1 =
      w.Change(alice, kStartMicros, {},
               TodoRows()
                   .Row(1, 1, {{kTitle, 1, Value::Text("buy milk")}, {kDone, 1, Value::Integer(0)}})
                   .Row(2, 1, {{kTitle, 1, Value::Text("write report")},
                               {kDone, 1, Value::Integer(0)}})
                   .Done());
  if (!a1.ok()) return a1.status();

  absl::StatusOr<Hash> b1 = w.Change(
      bob, kStartMicros + 2 * kMinute + 500000, {*a1},
      TodoRows()
          .Row(3, 1, {{kTitle, 1, Value::Text("call the plumber")}, {kDone, 1, Value::Integer(0)}})
          .Done());
  if (!b1.ok()) return b1.status();

  absl::StatusOr<Hash> a2 = w.Change(alice, kStartMicros + 3 * kMinute + 123456, {*a1},
                                          TodoRows().Row(1, 1, {{kDone, 2, Value::Integer(1)}}).Done());
  if (!a2.ok()) return a2.status();

  absl::StatusOr<Hash> b2 =
      w.Change(bob, kStartMicros + 10 * kMinute, {*b1},
               TodoRows().Row(2, 1, {{kTitle, 2, Value::Text("write the Q2 report")}}).Done());
  if (!b2.ok()) return b2.status();

  // The merge: its parents are the log's heads, one per branch.
  absl::StatusOr<std::vector<Hash>> heads = log.Heads();
  if (!heads.ok()) return heads.status();
  if (heads->size() != 2) {
    return absl::InternalError(
        absl::StrCat("expected two heads before the merge, the log has ", heads->size()));
  }
  absl::StatusOr<Hash> a3 = w.Change(alice, kStartMicros + 15 * kMinute + 250000, *heads,
                                          TodoRows().Row(1, 2, {}).Done());
  if (!a3.ok()) return a3.status();

  absl::StatusOr<Hash> imported =
      w.Import(Site(kPeerHex), kStartMicros + 60 * kMinute,
               TodoRows(/*with_origins=*/true)
                   .Row(4, 1,
                        {{kTitle, 1, Value::Text("water the plants")},
                         {kDone, 1, Value::Integer(0)}},
                        /*origin=*/0)
                   .Done());
  return imported.status();
}

}  // namespace

absl::Status RunDemo(const DemoOptions& options, const Io& io) {
  const std::string& dir = options.dir;
  if (dir.empty()) return absl::InvalidArgumentError("the directory is empty");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", dir, "' exists and is not a directory; give a new or empty directory"));
  }
  if (IsDatabaseLog(dir)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "'", dir, "' is the log of a database (beside it); the demo never replaces a database's history, "
        "--force or not: give another directory"));
  }
  if (HoldsLog(dir)) {
    if (!options.force) {
      return absl::AlreadyExistsError(absl::StrCat(
          "'", dir, "' already holds a log; pass --force to replace it, or give another directory"));
    }
    // Only LMDB's two files: anything else in the directory stays.
    for (const char* name : {"data.mdb", "lock.mdb"}) {
      fs::remove(fs::path(dir) / name, ec);
      if (ec) {
        return absl::PermissionDeniedError(absl::StrCat("cannot remove the old log in '", dir,
                                                        "': ", name, ": ", ec.message()));
      }
    }
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create the directory '", dir, "': ", ec.message()));
  }

  absl::StatusOr<std::unique_ptr<Log>> store = Log::OpenStandalone(dir);
  if (!store.ok()) {
    return absl::Status(store.status().code(), absl::StrCat("cannot create a log in '", dir,
                                                            "': ", store.status().message()));
  }
  DemoWriter writer(**store);
  if (absl::Status s = WriteHistory(writer, **store); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("writing the demo log in '", dir,
                                               "' failed: ", s.message()));
  }

  io.out << "wrote " << writer.written().size() << " events to " << dir << "\n";
  io.out << "  site alice " << kAliceHex << "\n";
  io.out << "  site bob   " << kBobHex << "\n";
  io.out << "  import from a cr-sqlite peer " << kPeerHex << "\n";
  io.out << "table todo(id INTEGER PRIMARY KEY NOT NULL, title TEXT, done INTEGER)\n\n";
  for (const StoredEvent& stored : writer.written()) {
    absl::StatusOr<Event> event = stored.Decode();
    if (!event.ok()) return event.status();
    PrintEventOneLine(EventView{stored, *event}, io.out);
    PrintEventOps(*event, io.out);
  }
  absl::StatusOr<std::vector<Hash>> heads = (*store)->Heads();
  if (!heads.ok()) return heads.status();
  io.out << "\nheads: "
         << absl::StrJoin(*heads, " ",
                          [](std::string* out, const Hash& h) {
                            absl::StrAppend(out, ShortHex(h));
                          })
         << "\n";
  io.out << "next:  crlog log " << dir << "   crlog verify " << dir << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
