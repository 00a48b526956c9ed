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
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "log/event.h"
#include "log/hash.h"
#include "log/row_codec.h"
#include "log/store.h"
#include "crlog/value.h"
#include "tools/commands.h"
#include "tools/log_path.h"
#include "tools/output.h"
#include "tools/packed_pk.h"

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

log::SiteId Site(const char* hex) { return *log::SiteIdFromHex(hex); }

// One row's worth of cells, as (column, version, value).
struct Cell {
  uint32_t column;
  uint64_t version;
  Value value;
};

// Builds the todo table's changes, one row at a time.
class TodoRows {
 public:
  explicit TodoRows(bool with_origins = false) : rows_(with_origins) {}
  TodoRows& Row(int64_t id, uint64_t causal_length, const std::vector<Cell>& cells,
                uint32_t origin = 0) {
    int64_t pk[] = {id};
    rows_.BeginRow(PackIntegerPk(pk), causal_length, static_cast<uint32_t>(cells.size()));
    for (const Cell& c : cells) rows_.AddCell(c.column, c.version, c.value, origin);
    return *this;
  }
  log::TableChanges Done() {
    log::TableChanges t;
    t.table = "todo";
    t.columns = {"title", "done"};
    t.row_count = rows_.row_count();
    t.rows = rows_.Release();
    return t;
  }

 private:
  log::RowsWriter rows_;
};

// Appends events and remembers what was written, for the summary.
class DemoWriter {
 public:
  explicit DemoWriter(log::LogStore& store) : store_(store) {}

  // A change event by `site` on top of `parents`; seq and lamport come from
  // the log, as capture would take them.
  absl::StatusOr<log::Hash> Change(const log::SiteId& site, int64_t time_micros,
                                   std::vector<log::Hash> parents, log::TableChanges table) {
    log::Event event;
    event.kind = log::EventKind::kChange;
    event.site = site;
    absl::StatusOr<uint64_t> seq = store_.NextSeq(site);
    if (!seq.ok()) return seq.status();
    event.seq = *seq;
    absl::StatusOr<uint64_t> lamport = store_.LamportAfter(parents);
    if (!lamport.ok()) return lamport.status();
    event.lamport = *lamport;
    event.time_micros = time_micros;
    event.parents = std::move(parents);
    event.tables.push_back(std::move(table));
    return Write(std::move(event));
  }

  absl::StatusOr<log::Hash> Import(const log::SiteId& origin, int64_t time_micros,
                                   log::TableChanges table) {
    log::Event event;
    event.kind = log::EventKind::kImport;
    event.seq = 0;
    event.lamport = 1;
    event.time_micros = time_micros;
    event.origins = {origin};
    event.tables.push_back(std::move(table));
    return Write(std::move(event));
  }

  const std::vector<log::StoredEvent>& written() const { return written_; }

 private:
  absl::StatusOr<log::Hash> Write(log::Event event) {
    absl::StatusOr<log::EncodedEvent> encoded = log::EncodeEvent(std::move(event));
    if (!encoded.ok()) return encoded.status();
    absl::StatusOr<log::AppendResult> appended =
        store_.Append(encoded->bytes, log::Durability::kSync);
    if (!appended.ok()) return appended.status();
    written_.push_back(log::StoredEvent{appended->position, appended->hash, encoded->bytes});
    return appended->hash;
  }

  log::LogStore& store_;
  std::vector<log::StoredEvent> written_;
};

absl::Status WriteHistory(DemoWriter& w, log::LogStore& store) {
  const log::SiteId alice = Site(kAliceHex);
  const log::SiteId bob = Site(kBobHex);

  absl::StatusOr<log::Hash> a1 =
      w.Change(alice, kStartMicros, {},
               TodoRows()
                   .Row(1, 1, {{kTitle, 1, Value::Text("buy milk")}, {kDone, 1, Value::Integer(0)}})
                   .Row(2, 1, {{kTitle, 1, Value::Text("write report")},
                               {kDone, 1, Value::Integer(0)}})
                   .Done());
  if (!a1.ok()) return a1.status();

  absl::StatusOr<log::Hash> b1 = w.Change(
      bob, kStartMicros + 2 * kMinute + 500000, {*a1},
      TodoRows()
          .Row(3, 1, {{kTitle, 1, Value::Text("call the plumber")}, {kDone, 1, Value::Integer(0)}})
          .Done());
  if (!b1.ok()) return b1.status();

  absl::StatusOr<log::Hash> a2 = w.Change(alice, kStartMicros + 3 * kMinute + 123456, {*a1},
                                          TodoRows().Row(1, 1, {{kDone, 2, Value::Integer(1)}}).Done());
  if (!a2.ok()) return a2.status();

  absl::StatusOr<log::Hash> b2 =
      w.Change(bob, kStartMicros + 10 * kMinute, {*b1},
               TodoRows().Row(2, 1, {{kTitle, 2, Value::Text("write the Q2 report")}}).Done());
  if (!b2.ok()) return b2.status();

  // The merge: its parents are the log's heads, one per branch.
  absl::StatusOr<std::vector<log::Hash>> heads = store.Heads();
  if (!heads.ok()) return heads.status();
  if (heads->size() != 2) {
    return absl::InternalError(
        absl::StrCat("expected two heads before the merge, the log has ", heads->size()));
  }
  absl::StatusOr<log::Hash> a3 = w.Change(alice, kStartMicros + 15 * kMinute + 250000, *heads,
                                          TodoRows().Row(1, 2, {}).Done());
  if (!a3.ok()) return a3.status();

  absl::StatusOr<log::Hash> imported =
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

  absl::StatusOr<std::unique_ptr<log::LogStore>> store = log::LogStore::Open(dir);
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
  for (const log::StoredEvent& stored : writer.written()) {
    absl::StatusOr<log::Event> event = stored.Decode();
    if (!event.ok()) return event.status();
    PrintEventOneLine(EventView{stored, *event}, io.out);
    PrintEventOps(*event, io.out);
  }
  absl::StatusOr<std::vector<log::Hash>> heads = (*store)->Heads();
  if (!heads.ok()) return heads.status();
  io.out << "\nheads: "
         << absl::StrJoin(*heads, " ",
                          [](std::string* out, const log::Hash& h) {
                            absl::StrAppend(out, log::ShortHex(h));
                          })
         << "\n";
  io.out << "next:  crlog log " << dir << "   crlog verify " << dir << "\n";
  io.out.flush();
  return absl::OkStatus();
}

}  // namespace crlog::tools
