// The capture buffer's encoding, private to this file:
//   kind byte, varint ordinal, varint pk length, pk,
//   update: varint new-pk length (0: unchanged), new pk,
//   insert/update/derived: varint cell count, per cell varint column + value
//     (an update that changed the pk: varint column << 1 | value changed)
// Values use the row encoding's value format (log/value_codec.h).
#include "engine/capture/capture_buffer.h"

#include <cstring>

#include "log/value_codec.h"
#include "util/varint.h"

namespace crlog::engine {
namespace {

void PutSqliteValue(std::string* out, sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: log::PutInteger(out, sqlite3_value_int64(v)); break;
    case SQLITE_FLOAT: log::PutReal(out, sqlite3_value_double(v)); break;
    case SQLITE_TEXT: {
      const char* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
      log::PutBytes(out, ValueType::kText, std::string_view(p, sqlite3_value_bytes(v)));
      break;
    }
    case SQLITE_BLOB: {
      const char* p = static_cast<const char*>(sqlite3_value_blob(v));
      log::PutBytes(out, ValueType::kBlob, std::string_view(p, sqlite3_value_bytes(v)));
      break;
    }
    default: log::PutNull(out); break;
  }
}

// SQLite's own notion of "the same value": same storage class, same content.
bool SameValue(sqlite3_value* a, sqlite3_value* b) {
  int ta = sqlite3_value_type(a);
  if (ta != sqlite3_value_type(b)) return false;
  switch (ta) {
    case SQLITE_INTEGER: return sqlite3_value_int64(a) == sqlite3_value_int64(b);
    case SQLITE_FLOAT: {
      double x = sqlite3_value_double(a), y = sqlite3_value_double(b);
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case SQLITE_TEXT: {
      const unsigned char* x = sqlite3_value_text(a);
      int nx = sqlite3_value_bytes(a);
      const unsigned char* y = sqlite3_value_text(b);
      return nx == sqlite3_value_bytes(b) && std::memcmp(x, y, nx) == 0;
    }
    case SQLITE_BLOB: {
      int nx = sqlite3_value_bytes(a);
      const void* x = sqlite3_value_blob(a);
      const void* y = sqlite3_value_blob(b);
      return nx == sqlite3_value_bytes(b) && (nx == 0 || std::memcmp(x, y, nx) == 0);
    }
    default: return true;
  }
}

void PutPk(std::string* out, std::string_view pk) {
  util::PutVarint(out, pk.size());
  out->append(pk);
}

bool GetView(std::string_view* in, std::string_view* out) {
  uint64_t n;
  if (!util::GetVarint(in, &n) || n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

}  // namespace

void CaptureBuffer::PutHeader(OpKind kind, std::string_view pk) {
  ops_.push_back(static_cast<char>(kind));
  util::PutVarint(&ops_, NextOrdinal());
  PutPk(&ops_, pk);
}

void CaptureBuffer::AddInsert(std::string_view pk, sqlite3_value** values) {
  PutHeader(OpKind::kInsert, pk);
  size_t n = table_->columns.size();
  util::PutVarint(&ops_, n);
  for (size_t i = 0; i < n; ++i) {
    util::PutVarint(&ops_, i);
    PutSqliteValue(&ops_, values[i]);
  }
}

void CaptureBuffer::AddUpdate(std::string_view old_pk, std::string_view new_pk,
                              sqlite3_value** new_values, sqlite3_value** old_values) {
  bool pk_changed = old_pk != new_pk;
  size_t n = table_->columns.size();
  uint32_t changed = 0;
  if (!pk_changed) {
    for (size_t i = 0; i < n; ++i) changed += !SameValue(new_values[i], old_values[i]);
    if (changed == 0) return;  // an UPDATE that changed nothing leaves no trace
  }
  PutHeader(OpKind::kUpdate, old_pk);
  PutPk(&ops_, pk_changed ? new_pk : std::string_view());
  util::PutVarint(&ops_, pk_changed ? n : changed);
  for (size_t i = 0; i < n; ++i) {
    const bool same = SameValue(new_values[i], old_values[i]);
    if (!pk_changed && same) continue;
    util::PutVarint(&ops_, pk_changed ? (i << 1 | (same ? 0 : 1)) : i);
    PutSqliteValue(&ops_, new_values[i]);
  }
}

void CaptureBuffer::AddDelete(std::string_view pk) { PutHeader(OpKind::kDelete, pk); }

void CaptureBuffer::AddSchemaMark() { PutHeader(OpKind::kSchemaMark, ""); }

void CaptureBuffer::AddMerged(std::string_view pk) { PutHeader(OpKind::kMerged, pk); }

void CaptureBuffer::AddDerived(std::string_view pk, sqlite3_value** values, sqlite3_value** derive) {
  size_t n = table_->columns.size();
  uint32_t count = 0;
  for (size_t i = 0; i < n; ++i) count += sqlite3_value_type(derive[i]) != SQLITE_NULL;
  PutHeader(OpKind::kDerived, pk);
  util::PutVarint(&ops_, count);
  for (size_t i = 0; i < n; ++i) {
    if (sqlite3_value_type(derive[i]) == SQLITE_NULL) continue;
    util::PutVarint(&ops_, i);
    PutSqliteValue(&ops_, values[i]);
  }
}

void CaptureBuffer::Savepoint(int level) {
  Release(level);
  marks_.emplace_back(level, ops_.size());
}

void CaptureBuffer::Release(int level) {
  while (!marks_.empty() && marks_.back().first >= level) marks_.pop_back();
}

void CaptureBuffer::RollbackTo(int level) {
  // The state at savepoint `level` is the mark of the lowest level at or
  // above it. SQLite reports every savepoint opened after the buffer joined;
  // so with no mark at or below `level` (none at all, once the statement
  // that joined released its own), `level` was opened before the buffer's
  // first write, and everything the buffer holds is rolled back.
  size_t size = ops_.size();
  for (auto it = marks_.rbegin(); it != marks_.rend() && it->first >= level; ++it) size = it->second;
  if (marks_.empty() || marks_.front().first > level) size = 0;
  ops_.resize(size);
  // The savepoint stays open: drop only the marks above it.
  while (!marks_.empty() && marks_.back().first > level) marks_.pop_back();
}

void CaptureBuffer::Clear() {
  ops_.clear();
  marks_.clear();
}

absl::Status CaptureBuffer::Next(std::string_view* in, CapturedOp* op) {
  auto corrupt = [] { return absl::InternalError("capture buffer is corrupt (a crlog bug)"); };
  if (in->empty()) return corrupt();
  op->kind = static_cast<OpKind>(in->front());
  in->remove_prefix(1);
  op->new_pk = {};
  op->cells.clear();
  op->changed.clear();
  if (!util::GetVarint(in, &op->ordinal) || !GetView(in, &op->pk)) return corrupt();
  if (op->kind == OpKind::kUpdate && !GetView(in, &op->new_pk)) return corrupt();
  if (op->kind == OpKind::kInsert || op->kind == OpKind::kUpdate || op->kind == OpKind::kDerived) {
    const bool flagged = op->kind == OpKind::kUpdate && !op->new_pk.empty();
    uint64_t n;
    if (!util::GetVarint(in, &n) || n > in->size()) return corrupt();
    op->cells.resize(n);
    if (flagged) op->changed.resize(n);
    for (size_t i = 0; i < n; ++i) {
      uint64_t c;
      if (!util::GetVarint(in, &c) || !log::GetValueBytes(in, &op->cells[i].second)) return corrupt();
      if (flagged) {
        op->changed[i] = c & 1;
        c >>= 1;
      }
      op->cells[i].first = static_cast<uint32_t>(c);
    }
  }
  return absl::OkStatus();
}

absl::Status CaptureBuffer::ForEach(
    const std::function<absl::Status(const CapturedOp&)>& visit) const {
  std::string_view in = ops_;
  CapturedOp op;
  while (!in.empty()) {
    if (absl::Status s = Next(&in, &op); !s.ok()) return s;
    if (absl::Status s = visit(op); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace crlog::engine
