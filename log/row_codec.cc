// The compact row encoding of TableOps.rows (log/row_codec.h, docs/format.md).
#include "log/row_codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "util/strings.h"
#include "log/format.h"
#include "log/value_codec.h"

namespace crlog::log {
namespace {

absl::Status Truncated(const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("row encoding is truncated or corrupt while reading ", what));
}

bool GetBytes(std::string_view* in, std::string* out) {
  uint64_t len;
  if (!util::GetVarint(in, &len) || len > in->size()) return false;
  out->assign(in->data(), len);
  in->remove_prefix(len);
  return true;
}

}  // namespace

void PutValue(std::string* out, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: PutInteger(out, v.integer); break;
    case ValueType::kReal: PutReal(out, v.real); break;
    case ValueType::kText:
    case ValueType::kBlob: PutBytes(out, v.type, v.bytes); break;
    case ValueType::kNull: PutNull(out); break;
  }
}

bool GetValue(std::string_view* in, Value* v) {
  if (in->empty()) return false;
  auto tag = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  v->bytes.clear();
  switch (tag) {
    case format::kTagInteger: {
      uint64_t z;
      if (!util::GetVarint(in, &z)) return false;
      v->type = ValueType::kInteger;
      v->integer = util::UnZigZag(z);
      return true;
    }
    case format::kTagReal:
      if (in->size() < 8) return false;
      v->type = ValueType::kReal;
      std::memcpy(&v->real, in->data(), 8);
      in->remove_prefix(8);
      return true;
    case format::kTagText:
    case format::kTagBlob:
      if (!GetBytes(in, &v->bytes)) return false;
      v->type = static_cast<ValueType>(tag);
      return true;
    case format::kTagNull:
      v->type = ValueType::kNull;
      return true;
    default: return false;
  }
}

bool GetValueBytes(std::string_view* in, std::string_view* encoded) {
  std::string_view start = *in;
  if (in->empty()) return false;
  auto tag = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  uint64_t n;
  switch (tag) {
    case format::kTagInteger:
      if (!util::GetVarint(in, &n)) return false;
      break;
    case format::kTagReal:
      if (in->size() < 8) return false;
      in->remove_prefix(8);
      break;
    case format::kTagText:
    case format::kTagBlob:
      if (!util::GetVarint(in, &n) || n > in->size()) return false;
      in->remove_prefix(n);
      break;
    case format::kTagNull: break;
    default: return false;
  }
  *encoded = start.substr(0, start.size() - in->size());
  return true;
}

void RowsWriter::AddEncodedCell(uint32_t column, uint64_t version, std::string_view encoded_value) {
  util::PutVarint(&buf_, column);
  util::PutVarint(&buf_, version);
  if (with_origins_) {
    util::PutVarint(&buf_, 0);
    util::PutVarint(&buf_, 0);
  }
  buf_.append(encoded_value);
}

void RowsWriter::BeginRow(std::string_view pk, uint64_t causal_length, uint32_t cell_count,
                          uint32_t origin, uint64_t seq) {
  util::PutVarint(&buf_, pk.size());
  buf_.append(pk);
  util::PutVarint(&buf_, causal_length);
  if (with_origins_) {
    util::PutVarint(&buf_, origin);
    util::PutVarint(&buf_, seq);
  }
  util::PutVarint(&buf_, cell_count);
  ++rows_;
}

void RowsWriter::AddCell(uint32_t column, uint64_t version, const Value& value, uint32_t origin,
                         uint64_t seq) {
  util::PutVarint(&buf_, column);
  util::PutVarint(&buf_, version);
  if (with_origins_) {
    util::PutVarint(&buf_, origin);
    util::PutVarint(&buf_, seq);
  }
  PutValue(&buf_, value);
}

void RowsWriter::AddRow(const RowOp& row) {
  BeginRow(row.pk, row.causal_length, static_cast<uint32_t>(row.cells.size()), row.origin, row.seq);
  for (const CellOp& c : row.cells) AddCell(c.column, c.version, c.value, c.origin, c.seq);
}

absl::Status RowsReader::Next(uint32_t columns, RowOp* row) {
  uint64_t cl, ncells;
  if (!GetBytes(&in_, &row->pk)) return Truncated("a row's primary key");
  if (!util::GetVarint(&in_, &cl)) return Truncated("a row's causal length");
  row->origin = 0;
  row->seq = 0;
  if (with_origins_) {
    uint64_t origin;
    if (!util::GetVarint(&in_, &origin) || origin > UINT32_MAX) return Truncated("a row's origin");
    if (!util::GetVarint(&in_, &row->seq)) return Truncated("a row's seq");
    row->origin = static_cast<uint32_t>(origin);
  }
  if (!util::GetVarint(&in_, &ncells)) return Truncated("a row's cell count");
  // Each cell takes at least three bytes; refuse counts the buffer cannot hold
  // before reserving memory for them.
  if (ncells > in_.size() / 3) return Truncated("a row's cells");
  row->causal_length = cl;
  row->cells.resize(ncells);
  for (CellOp& cell : row->cells) {
    uint64_t column, version, origin = 0, seq = 0;
    if (!util::GetVarint(&in_, &column)) return Truncated("a cell's column");
    if (column >= columns) {
      return absl::InvalidArgumentError(absl::StrCat("a cell names column ", column,
                                                     " but the table lists only ", columns));
    }
    if (!util::GetVarint(&in_, &version)) return Truncated("a cell's version");
    if (with_origins_ && !util::GetVarint(&in_, &origin)) return Truncated("a cell's origin");
    if (origin > UINT32_MAX) return Truncated("a cell's origin");
    if (with_origins_ && !util::GetVarint(&in_, &seq)) return Truncated("a cell's seq");
    cell.column = static_cast<uint32_t>(column);
    cell.version = version;
    cell.origin = static_cast<uint32_t>(origin);
    cell.seq = seq;
    if (!GetValue(&in_, &cell.value)) return Truncated("a cell's value");
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> RowsReader::Find(uint32_t columns, std::string_view pk, RowOp* row) {
  while (!in_.empty()) {
    std::string_view at = in_;
    uint64_t len;
    if (!util::GetVarint(&at, &len) || len > at.size()) return Truncated("a row's primary key");
    if (std::string_view(at.data(), len) == pk) {
      if (absl::Status s = Next(columns, row); !s.ok()) return s;
      return true;
    }
    at.remove_prefix(len);
    uint64_t v, ncells;
    if (!util::GetVarint(&at, &v)) return Truncated("a row's causal length");
    if (with_origins_ && !(util::GetVarint(&at, &v) && util::GetVarint(&at, &v))) return Truncated("a row's origin");
    if (!util::GetVarint(&at, &ncells)) return Truncated("a row's cell count");
    if (ncells > at.size() / 3) return Truncated("a row's cells");
    for (uint64_t i = 0; i < ncells; ++i) {
      std::string_view value;
      if (!util::GetVarint(&at, &v) || !util::GetVarint(&at, &v)) return Truncated("a cell");
      if (with_origins_ && !(util::GetVarint(&at, &v) && util::GetVarint(&at, &v))) return Truncated("a cell's origin");
      if (!GetValueBytes(&at, &value)) return Truncated("a cell's value");
    }
    in_ = at;
  }
  return false;
}

}  // namespace crlog::log

namespace crlog {

using log::RowsReader;
using log::RowsWriter;

absl::StatusOr<std::vector<RowOp>> DecodeRows(std::string_view bytes, uint32_t row_count,
                                              uint32_t columns, bool with_origins) {
  RowsReader reader(bytes, with_origins);
  std::vector<RowOp> rows;
  rows.reserve(std::min<size_t>(row_count, bytes.size()));
  while (!reader.done()) {
    RowOp row;
    if (absl::Status s = reader.Next(columns, &row); !s.ok()) return s;
    rows.push_back(std::move(row));
  }
  if (rows.size() != row_count) {
    return absl::InvalidArgumentError(absl::StrCat("row encoding holds ", rows.size(),
                                                   " rows but the table says ", row_count));
  }
  return rows;
}

absl::StatusOr<std::vector<RowOp>> DecodeRows(const TableChanges& table, bool with_origins) {
  return DecodeRows(table.rows, table.row_count, static_cast<uint32_t>(table.columns.size()), with_origins);
}

std::string EncodeRows(absl::Span<const RowOp> rows, bool with_origins) {
  RowsWriter writer(with_origins);
  for (const RowOp& row : rows) writer.AddRow(row);
  return writer.Release();
}

}  // namespace crlog
