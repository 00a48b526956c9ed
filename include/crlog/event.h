// crlog/event.h: the event, what one committed transaction (or import,
// schema change, policy, resolution, checkpoint) looks like in memory, and
// its conversion to and from the canonical bytes that name it
// (docs/format.md).
//
// An event's rows are kept in their compact encoding (TableChanges::rows);
// DecodeRows turns them into RowOps and EncodeRows builds them. Everything
// here is a value type or a pure function: thread-safe, no I/O.
#ifndef CRLOG_EVENT_H_
#define CRLOG_EVENT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "crlog/ids.h"
#include "crlog/value.h"

namespace crlog {

// Largest event accepted (canonical bytes) unless a log says otherwise.
// Bigger transactions become event groups.
inline constexpr size_t kDefaultMaxEventBytes = size_t{16} << 20;

// One cell a row op writes.
struct CellOp {
  uint32_t column = 0;   // index into TableChanges::columns
  uint64_t version = 0;  // the cell's column version after this write
  Value value;
  uint32_t origin = 0;   // import events: index into Event::origins
  uint64_t seq = 0;      // import events: the change's seq at its origin
  friend bool operator==(const CellOp&, const CellOp&) = default;
};

struct RowOp {
  std::string pk;              // cr-sqlite packed pk
  uint64_t causal_length = 0;  // odd: alive, even: deleted
  std::vector<CellOp> cells;   // empty for a delete
  // Import events: who wrote the row's existence entry (cid '-1': a delete,
  // or the row of a table whose columns are all pk), and its seq there.
  uint32_t origin = 0;
  uint64_t seq = 0;
  friend bool operator==(const RowOp&, const RowOp&) = default;
};

enum class EventKind : uint8_t {
  kChange,
  kImport,
  kSchemaChange,
  kPolicy,
  kResolution,
  kCheckpoint,
};
const char* EventKindName(EventKind kind);

// The operations on one table, rows already in the row encoding
// (log/row_codec.h).
struct TableChanges {
  std::string table;
  std::vector<std::string> columns;
  uint32_t row_count = 0;
  std::string rows;
  // Rows whose existence entry was recorded at causal length 1 (event.capnp,
  // TableOps.entries): sorted packed pks.
  std::vector<std::string> entries;
  friend bool operator==(const TableChanges&, const TableChanges&) = default;

  bool HasEntry(std::string_view pk) const;
};

struct GroupInfo {
  uint32_t index = 0;
  uint32_t count = 0;  // 0 or 1: not grouped
  Hash first{};        // id of member 0; zero on member 0 itself
  bool grouped() const { return count > 1; }
  friend bool operator==(const GroupInfo&, const GroupInfo&) = default;
};

struct SchemaChangeBody {
  std::string table;
  std::string sql;
  std::vector<std::string> columns;
  std::vector<std::string> pk_columns;
  friend bool operator==(const SchemaChangeBody&, const SchemaChangeBody&) = default;
};

struct PolicyBody {
  std::string table;
  std::string column;
  std::string rule;
  std::string argument;
  friend bool operator==(const PolicyBody&, const PolicyBody&) = default;
};

struct ResolutionBody {
  enum class Action : uint8_t { kChoose, kDrop };
  Action action = Action::kChoose;
  Hash fork{};
  std::vector<Hash> subjects;
  std::string note;
  friend bool operator==(const ResolutionBody&, const ResolutionBody&) = default;
};

struct CheckpointBody {
  std::vector<Hash> frontier;
  friend bool operator==(const CheckpointBody&, const CheckpointBody&) = default;
};

// Length of an event signature (Ed25519; log/signing.h).
inline constexpr size_t kSignatureBytes = 64;

// An event in memory. Which body fields matter depends on `kind`:
//   kChange: tables;  kImport: origins, tables (cells carry origin indexes);
//   kSchemaChange: schema_change;  kPolicy: policy;  kResolution: resolution;
//   kCheckpoint: checkpoint, tables (the state at the frontier).
struct Event {
  EventKind kind = EventKind::kChange;
  SiteId site{};           // zero for imports
  uint64_t seq = 0;        // 0 for imports
  uint64_t lamport = 1;
  int64_t time_micros = 0;
  std::vector<Hash> parents;  // sorted, unique
  GroupInfo group;

  std::vector<TableChanges> tables;
  std::vector<SiteId> origins;
  SchemaChangeBody schema_change;
  PolicyBody policy;
  ResolutionBody resolution;
  CheckpointBody checkpoint;

  // Ed25519 signature by the site's key (log/signing.h), 64 bytes; empty
  // when unsigned. Imports are never signed.
  std::string signature;

  bool is_native() const { return kind != EventKind::kImport; }
  // Total number of cell ops plus deletes: what "op count" means in output.
  uint64_t CountOps() const;
  friend bool operator==(const Event&, const Event&) = default;
};

// An event in its canonical encoding, with its id.
struct EncodedEvent {
  Hash hash{};
  std::string bytes;  // canonical Cap'n Proto words (one segment, no table)
};

// Limits applied when reading untrusted bytes.
struct DecodeLimits {
  size_t max_event_bytes = kDefaultMaxEventBytes;
  // The bytes are ones the store accepted (the caller checked they hash to
  // the id they are stored under, or reads them only to show them): skip
  // the canonical-form and rows checks, which cost more than the read. Still
  // memory safe: Cap'n Proto bounds-checks and RowsReader checks every read.
  bool trusted = false;
};

// Builds the canonical encoding and its hash. Sorts and de-duplicates
// parents and sorts tables by name (cells name origins by index, so
// import origins must already be sorted and unique), so equal content
// always gives the same id. Fails with
// InvalidArgument when the event breaks a rule that needs no log to check
// (a native event has a 16-byte site, seq >= 1, lamport >= 1; an import
// has no site, seq 0, no parents and lamport 1) or exceeds `max_event_bytes`.
absl::StatusOr<EncodedEvent> EncodeEvent(Event event,
                                         size_t max_event_bytes = kDefaultMaxEventBytes);

// Parses canonical bytes from anywhere (the store, a peer, a file): checks
// size, word alignment, the Cap'n Proto structure, canonical form, the
// rows encoding of every table and the rules above. Errors are
// InvalidArgument and say what is wrong.
absl::StatusOr<Event> DecodeEvent(std::string_view bytes, const DecodeLimits& limits = {});

// The rows of `table` (an event's TableChanges) decoded; `with_origins` for
// an import event's rows (event.kind == EventKind::kImport). InvalidArgument
// when the bytes do not hold exactly `row_count` well-formed rows.
absl::StatusOr<std::vector<RowOp>> DecodeRows(std::string_view bytes, uint32_t row_count,
                                              uint32_t columns, bool with_origins = false);
absl::StatusOr<std::vector<RowOp>> DecodeRows(const TableChanges& table, bool with_origins = false);
// The row encoding of `rows`, for TableChanges::rows (row_count is
// rows.size()). Cells name columns by index into TableChanges::columns.
std::string EncodeRows(absl::Span<const RowOp> rows, bool with_origins = false);

}  // namespace crlog

#endif  // CRLOG_EVENT_H_
