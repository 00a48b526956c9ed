// The compact row encoding inside TableOps.rows (docs/format.md, "Row
// encoding"). A row is: varint pk length, the packed pk bytes, varint causal
// length, [import events only: varint origin index and varint seq of the
// row's existence entry], varint cell count, then per cell: varint column
// index, varint column version, [import events only: varint origin index,
// varint seq], the value.
// A value is a tag byte (its ValueType) then: integer as a zigzag varint;
// real as 8 bytes little-endian IEEE; text and blob as varint length + bytes;
// null as nothing.
#ifndef CRLOG_LOG_ROW_CODEC_H_
#define CRLOG_LOG_ROW_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crlog/event.h"
#include "crlog/value.h"

namespace crlog::log {

// CellOp and RowOp, and DecodeRows, are public (crlog/event.h).
using crlog::CellOp;
using crlog::DecodeRows;
using crlog::RowOp;

// Appends rows to a growing buffer. The buffer can be truncated back to an
// earlier size() (capture uses this for ROLLBACK TO).
class RowsWriter {
 public:
  explicit RowsWriter(bool with_origins = false) : with_origins_(with_origins) {}

  // Writes one row with `cell_count` cells; follow with exactly that many
  // AddCell calls.
  void BeginRow(std::string_view pk, uint64_t causal_length, uint32_t cell_count,
                uint32_t origin = 0, uint64_t seq = 0);
  void AddCell(uint32_t column, uint64_t version, const Value& value, uint32_t origin = 0,
               uint64_t seq = 0);
  void AddRow(const RowOp& row);
  // A cell whose value is already in the value encoding (log/value_codec.h), as
  // capture holds it: copied as is.
  void AddEncodedCell(uint32_t column, uint64_t version, std::string_view encoded_value);

  size_t size() const { return buf_.size(); }
  uint32_t row_count() const { return rows_; }
  // Drops everything written after a point given by size() and row_count().
  void Truncate(size_t size, uint32_t rows) {
    buf_.resize(size);
    rows_ = rows;
  }
  const std::string& bytes() const { return buf_; }
  std::string Release() {
    rows_ = 0;
    return std::move(buf_);
  }

 private:
  bool with_origins_;
  std::string buf_;
  uint32_t rows_ = 0;
};

// Reads rows back. Every read checks bounds: a truncated or garbage buffer
// gives InvalidArgument, never a crash.
class RowsReader {
 public:
  RowsReader(std::string_view bytes, bool with_origins = false)
      : in_(bytes), with_origins_(with_origins) {}

  bool done() const { return in_.empty(); }
  // Reads the next row; `columns` is the number of columns the table lists,
  // so a cell that names a column past it is refused.
  absl::Status Next(uint32_t columns, RowOp* row);
  // Reads rows until the one whose packed pk is `pk` and decodes it into
  // `row`; rows before it are stepped over without building their values.
  // False when no row left has that pk.
  absl::StatusOr<bool> Find(uint32_t columns, std::string_view pk, RowOp* row);

 private:
  std::string_view in_;
  bool with_origins_;
};

}  // namespace crlog::log

#endif  // CRLOG_LOG_ROW_CODEC_H_
