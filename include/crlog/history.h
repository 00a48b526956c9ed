// crlog/history.h: history questions about a replicated database from
// outside it: who wrote each cell (blame), every value a cell held, the
// tables as they stood at a point (replay), what differs between two points
// (diff), what each op of an event did (old -> new), and a full check of
// database against log (verify).
//
// A point is written as one of (docs/cli.md, "Points"):
//   head             everything the database has materialised
//   <hex>            an event id, or an unambiguous prefix (>= 4 digits)
//   <site hex>:<seq> a site's seq-th event (site as a full id or a prefix)
//   <time>           what this replica had received by then: 2026-11-22,
//                    2026-11-22T07:00:00Z (RFC 3339), or @1763794800
//
// Primary keys: a row is named by its pk values. The packed form (cr-sqlite's
// packed columns, what RowBlame::pk and the log's RowOp::pk hold) is built
// and read by PackPrimaryKey and UnpackPrimaryKey.
//
// Thread rules: a History is used from one thread at a time (it holds a
// read-only SQLite connection); it and the Log it returns live until it is
// destroyed. Results are values, and the free functions here are
// thread-safe. Errors are absl::Status values naming the database, table,
// row or point, and what to do.
#ifndef CRLOG_HISTORY_H_
#define CRLOG_HISTORY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/event.h"
#include "crlog/ids.h"
#include "crlog/log.h"
#include "crlog/value.h"

namespace crlog {

// ---------------------------------------------------------------------------
// Primary keys

// The packed form of a row's pk values.
std::string PackPrimaryKey(absl::Span<const Value> values);
// The values of a packed pk; InvalidArgument (with the bytes in hex) when the
// bytes are not a well-formed packed pk.
absl::StatusOr<std::vector<Value>> UnpackPrimaryKey(std::string_view packed);

// A row of a table: the table's name and the row's packed pk.
struct RowKey {
  std::string table;
  std::string pk;  // packed
};

// ---------------------------------------------------------------------------
// Blame and cell history

// The event behind a value.
struct Provenance {
  Hash event{};
  uint64_t position = 0;
  EventKind kind = EventKind::kChange;
  SiteId site{};               // who wrote it: the event's site, or an import cell's origin
  int64_t time_micros = 0;     // the writer's clock; 0 for imports (they carry none)
  std::optional<int64_t> arrival_micros;  // when this log stored the event
  uint64_t col_version = 0;
};

struct CellBlame {
  std::string column;
  Value value;
  // Unset when no event in the log explains the value (a column added by an
  // alter with a default, or a clock the log cannot account for).
  std::optional<Provenance> written_by;
};

struct RowBlame {
  std::string table;
  std::string pk;             // packed
  bool exists = false;        // the row is in the table now
  uint64_t causal_length = 0; // odd: alive, even: deleted, 0: never seen
  // The event that last created, deleted or resurrected the row, when the
  // clock records one (deleted rows, resurrected rows, all-pk tables).
  std::optional<Provenance> existence;
  std::vector<CellBlame> cells;  // the non-pk columns in table order (empty if deleted)
};

// One value a cell (or the row's existence) held.
struct CellVersion {
  std::string column;  // "" for the row's existence
  // The value after the event; for existence: Integer 1 alive, 0 deleted.
  Value value;
  Provenance written_by;
};

// ---------------------------------------------------------------------------
// Replay and diff

struct ReplayStats {
  uint64_t events = 0;  // events in the point
  uint64_t folded = 0;  // events folded (with a row filter: those touching them)
  uint64_t ops = 0;     // row ops folded
  uint64_t tables = 0;  // replicated tables at the point
  uint64_t held = 0;    // events left out: refused by the tables (or named), or behind one
};

// A row present at one point only: its pk and its values there.
struct DiffRow {
  std::string pk;                  // packed
  std::vector<Value> pk_values;
  std::vector<std::string> columns;  // the non-pk columns of its side
  std::vector<Value> values;         // parallel to `columns`
};

struct CellChange {
  std::string column;
  Value a, b;
};

// A row present at both points whose shared columns differ.
struct ChangedRow {
  std::string pk;  // packed
  std::vector<Value> pk_values;
  std::vector<CellChange> cells;  // in B's column order
};

struct TableDiff {
  std::string table;
  std::vector<std::string> pk_columns;
  std::vector<std::string> columns_only_in_a;  // non-pk columns, by name
  std::vector<std::string> columns_only_in_b;
  // The primary key is not the same at both points: rows are not compared.
  bool pk_differs = false;
  std::vector<DiffRow> only_in_a;  // each list ordered by pk
  std::vector<DiffRow> only_in_b;
  std::vector<ChangedRow> changed;

  bool empty() const {
    return columns_only_in_a.empty() && columns_only_in_b.empty() && !pk_differs && only_in_a.empty() &&
           only_in_b.empty() && changed.empty();
  }
};

struct PointDiff {
  ReplayStats a, b;
  std::vector<std::string> tables_only_in_a;  // sorted
  std::vector<std::string> tables_only_in_b;
  std::vector<TableDiff> tables;  // tables at both points that differ, sorted by name

  bool empty() const { return tables_only_in_a.empty() && tables_only_in_b.empty() && tables.empty(); }
};

// A point resolved against a database: the events it names.
struct PointInfo {
  std::string text;  // as written
  // The past of `heads`, heads included...
  std::vector<Hash> heads;
  // ...or, when set, every published event at a position <= this.
  std::optional<uint64_t> up_to_position;
  // Whose schema the replayed tables follow.
  SiteId schema_site{};
};

// ---------------------------------------------------------------------------
// What each op of an event did (`crlog log --ops`)

// One op of an event as this replica took it in: "table, pk, column:
// old -> new", or a row's insert, resurrection or delete.
struct OpChange {
  enum class Kind {
    kInsert,     // the row came into being here
    kResurrect,  // a deleted row came back
    kDelete,
    kCell,       // a cell write
    kSkipped,    // the table is not replicated here at that point
  };
  Kind kind = Kind::kCell;
  std::string table;
  std::string pk;      // packed
  std::string column;  // kCell
  // kCell: the value before the event; nullopt when the row (or the column)
  // did not exist, or when no database was at hand to tell.
  std::optional<Value> old_value;
  Value new_value;  // kCell: what the event wrote
  bool known = true;  // false without a database: old values and outcomes unknown
  // The op did not take effect: a cell write that lost to a concurrent
  // write, a delete of a row a concurrent resurrection keeps alive, or a
  // row that stays deleted.
  bool lost = false;
  std::optional<Value> now;  // kCell, lost: what the cell holds after the event (nullopt: no row)
  bool already_deleted = false;  // kDelete of a row that was not alive
  bool unknown_column = false;   // kCell of a column the table lacks here (kept for a later alter)
};

// The event's ops as written, with no database to say what they replaced
// (every OpChange has known == false). Rows that do not decode are left out.
std::vector<OpChange> WrittenChanges(const Event& event);

// ---------------------------------------------------------------------------
// Held events and verification

// A remote event this database's tables refused to fold (a constraint or
// trigger of its own), or one held behind such an event: kept in the log,
// left out of the tables (crlog_held).
struct HeldEvent {
  Hash event{};
  Hash cause{};       // the event whose fold failed; `event` itself for that one
  std::string table;  // empty behind another held event
  std::string pk;     // packed
  std::string reason;
  int64_t held_at_ms = 0;
};

// The events the database at `db_path` holds out of its tables, oldest
// first; empty when none was ever held. Opens the database read-only.
absl::StatusOr<std::vector<HeldEvent>> ReadHeldEvents(const std::string& db_path);

// What VerifyDatabase checked.
struct DatabaseReport {
  VerifyReport log;
  uint64_t tables = 0;  // replicated tables compared
  uint64_t rows = 0;    // rows compared
  uint64_t folded_events = 0;
};

// Checks the database at `db_path` against its log: the log's own integrity
// (Log::Verify, with signatures checked against the keys the database
// trusts), the anchor the database keeps (so a removed tail of the log is
// caught), and that every replicated table equals the fold of the log.
// Reads the database as one snapshot, so it may run beside writers.
// Unavailable when a writer keeps the database locked for 10 s;
// FailedPrecondition when a killed writer left committed events pending
// (open the database with crlog to recover them). DataLoss names the first
// fault. `progress` follows the log's checks, `fold_progress` the replay.
absl::StatusOr<DatabaseReport> VerifyDatabase(const std::string& db_path, const Progress& progress = {},
                                              const Progress& fold_progress = {});

// Whether the log beside `db_path` (LogPathFor(db_path)) is the history of
// the database at `db_path`: both exist and the database records the log's
// owner id. False for a log left behind by a deleted or replaced database.
// NotFound when there is no log there. Opens both without changing them.
absl::StatusOr<bool> LogBelongsToDatabase(const std::string& db_path);

// ---------------------------------------------------------------------------
// History

class History {
 public:
  // Opens the database at `db_path` and its log read-only. NotFound when it
  // does not exist or is not replicated by crlog; FailedPrecondition when
  // its log is missing or belongs to another database.
  static absl::StatusOr<std::unique_ptr<History>> Open(const std::string& db_path);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // The database file, as given to Open.
  const std::string& path() const;
  // The database's site id.
  SiteId site() const;
  // Its log, opened read-only; lives as long as this History.
  const Log& log() const;

  // Resolves a point (see the top of this file). InvalidArgument for text
  // that is no point or an ambiguous prefix; NotFound, naming the text, for
  // a point that names nothing.
  absl::StatusOr<PointInfo> ResolvePoint(std::string_view point) const;

  // Who wrote each cell of the row of `table` whose pk is `pk`, from the
  // database's clock (a few lookups, no walk of the log). Each pk value is
  // first converted by its column's affinity, as SQLite converts an
  // inserted value (the text '42' names the integer 42 in an INTEGER
  // column). NotFound names the table or the row when the table is not
  // replicated or the row was never seen.
  absl::StatusOr<RowBlame> Blame(std::string_view table, absl::Span<const Value> pk) const;
  // Every value each cell of the row held, oldest first, from a replay of
  // that row alone up to `at`: entries of one column in order, grouped by
  // event in arrival order, existence first within an event. pk values are
  // converted as Blame converts them.
  absl::StatusOr<std::vector<CellVersion>> CellHistory(std::string_view table, absl::Span<const Value> pk,
                                                       std::string_view at = "head",
                                                       const Progress& progress = {}) const;

  // The replicated tables at point `at` as a new ordinary SQLite file at
  // `out_path` (refused when something is already there), with no crlog
  // tables in it.
  absl::StatusOr<ReplayStats> ReplayToFile(std::string_view at, const std::string& out_path,
                                           const Progress& progress = {}) const;
  // What differs between the tables at points `a` and `b`; `progress`
  // counts the events of both replays.
  absl::StatusOr<PointDiff> Diff(std::string_view a, std::string_view b, const Progress& progress = {}) const;

  // Replays the history at head and records what each op of the events in
  // `events` did here, by event id (events not in the database's history
  // are absent). With `only_rows`, only those rows are replayed and their
  // ops recorded (a row's old values depend on its own ops only).
  absl::StatusOr<std::map<Hash, std::vector<OpChange>>> OpChanges(
      const std::set<Hash>& events, const std::optional<std::vector<RowKey>>& only_rows = std::nullopt,
      const Progress& progress = {}) const;

  struct Impl;

 private:
  explicit History(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crlog

#endif  // CRLOG_HISTORY_H_
