// The writes one connection made to one replicated table in the open
// transaction, as the capture triggers handed them over, in order. A flat
// byte buffer (no allocation per row) that savepoints truncate.
//
// Thread rules: owned by one connection; SQLite serialises its calls.
#ifndef CRLOG_ENGINE_CAPTURE_BUFFER_H_
#define CRLOG_ENGINE_CAPTURE_BUFFER_H_

#include "util/sqlite/api.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/replica/table_desc.h"
#include "crlog/value.h"

namespace crlog::engine {

enum class OpKind : uint8_t {
  kInsert = 1,
  kUpdate = 2,
  kDelete = 3,
  // crsql_as_crr made the table replicated in this transaction: commit writes
  // a schema-change event before the rows.
  kSchemaMark = 4,
  // INSERT INTO crsql_changes wrote the row after local writes of this
  // transaction: commit settles those against the table (the merge decided
  // without seeing them).
  kMerged = 5,
  // crsql_commit_alter: cells the migration itself derived (a renamed
  // column's values, every cell of a row whose primary key the alter
  // re-keyed). Commit stamps them as cr-sqlite does: column version 1 at the
  // database's current db_version, so a peer that synced before and runs the
  // same migration is sent nothing again.
  kDerived = 6,
};

struct CapturedOp {
  OpKind kind = OpKind::kInsert;
  // The op's place among all the transaction's writes, over every table of
  // the connection: commit applies ops in this order, which is SQL
  // statement order, so seqs follow it as cr-sqlite's do.
  uint64_t ordinal = 0;
  std::string_view pk;      // insert: the new pk; update/delete: the old pk
  std::string_view new_pk;  // update that changed the pk; empty otherwise
  // insert: all cells; update: the changed ones (all if the pk changed);
  // derived: the derived ones.
  // Values stay in the value encoding (log/value_codec.h), viewed in the buffer.
  std::vector<std::pair<uint32_t, std::string_view>> cells;
  // Update that changed the pk: per cell, whether its value changed too
  // (an unchanged one moves to the new pk with its column version).
  std::vector<uint8_t> changed;
};

// The versions crsql_next_db_version(v) asked for in the open transaction.
// cr-sqlite stamps each write with the transaction's pending db_version at the
// moment the write is made, and a request raises it for the writes after it,
// so one transaction can commit rows at 1, 10 and 20.
struct VersionFloors {
  // The highest version requested (or merged into) by the transaction: what
  // it commits at, and the database's db_version after it.
  uint64_t at_commit = 0;
  // (first op ordinal, version), ascending in both: ops numbered from that
  // ordinal on are stamped at least that version.
  std::vector<std::pair<uint64_t, uint64_t>> from_op;

  // The version requested for the op numbered `ordinal` (0: none).
  uint64_t For(uint64_t ordinal) const {
    uint64_t floor = 0;
    for (const auto& [first, version] : from_op) {
      if (first > ordinal) break;
      floor = version;
    }
    return floor;
  }
};

class CaptureBuffer {
 public:
  explicit CaptureBuffer(std::shared_ptr<const TableDesc> table) : table_(std::move(table)) {}
  CaptureBuffer(const CaptureBuffer&) = delete;
  CaptureBuffer& operator=(const CaptureBuffer&) = delete;

  const TableDesc& table() const { return *table_; }

  // The counter that numbers ops (CapturedOp::ordinal), shared by every
  // buffer of one connection so that their ops can be merged back into
  // statement order. Without one, the buffer numbers its own.
  void set_ordinals(uint64_t* counter) { ordinals_ = counter; }
  std::shared_ptr<const TableDesc> table_ptr() const { return table_; }

  // `values` holds the table's non-pk columns in TableDesc::columns order.
  void AddInsert(std::string_view pk, sqlite3_value** values);
  // Records only the cells whose value changed, unless the pk changed.
  void AddUpdate(std::string_view old_pk, std::string_view new_pk, sqlite3_value** new_values,
                 sqlite3_value** old_values);
  void AddDelete(std::string_view pk);
  void AddSchemaMark();
  void AddMerged(std::string_view pk);
  // The cells of `pk` whose `derive[i]` is not NULL, with `values` as in
  // AddInsert.
  void AddDerived(std::string_view pk, sqlite3_value** values, sqlite3_value** derive);

  // Savepoint levels as SQLite numbers them for xSavepoint / xRelease /
  // xRollbackTo.
  void Savepoint(int level);
  void Release(int level);
  void RollbackTo(int level);
  void Clear();

  bool empty() const { return ops_.empty(); }

  // Whether the buffer is in its connection's set for the open transaction.
  // (SQLite skips xBegin for a virtual table created inside the transaction,
  // so joining happens on first write as well.)
  bool joined = false;
  size_t bytes() const { return ops_.size(); }

  // Decodes the ops in order. `visit` sees views into the buffer, valid until
  // the buffer changes.
  absl::Status ForEach(const std::function<absl::Status(const CapturedOp&)>& visit) const;

  // The same, one op at a time: `*in` starts as data() and is consumed.
  std::string_view data() const { return ops_; }
  static absl::Status Next(std::string_view* in, CapturedOp* op);

 private:
  std::shared_ptr<const TableDesc> table_;
  uint64_t NextOrdinal() { return ordinals_ ? (*ordinals_)++ : own_ordinal_++; }
  void PutHeader(OpKind kind, std::string_view pk);

  std::string ops_;
  uint64_t* ordinals_ = nullptr;
  uint64_t own_ordinal_ = 0;
  std::vector<std::pair<int, size_t>> marks_;  // (savepoint level, ops_ size), ascending
};

}  // namespace crlog::engine

#endif  // CRLOG_ENGINE_CAPTURE_BUFFER_H_
