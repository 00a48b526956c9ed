// cr-sqlite's packed-columns format (schema/packed_pk.h): the writer for
// Values and for sqlite3_value, and the one reader.
#include "schema/packed_pk.h"

#include <bit>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/strings.h"

namespace crlog::schema {
namespace {

constexpr int kTypeBits = 3;
constexpr uint8_t kTypeMask = 0x07;
constexpr int kMaxIntBytes = 8;

// Bytes needed to write `v` big-endian without leading zero bytes; 0 for 0.
// A negative integer seen as uint64 has its top byte set, so it gets 8.
inline int BytesNeeded(uint64_t v) { return (64 - std::countl_zero(v) + 7) / 8; }

inline char Header(int n, ValueType type) {
  return static_cast<char>((n << kTypeBits) | static_cast<int>(type));
}

// Writes the low `n` bytes of `v` big-endian into `buf`.
inline void PutBigEndian(char* buf, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) buf[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}

inline void AppendInteger(std::string* out, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  const int n = BytesNeeded(u);
  char buf[1 + kMaxIntBytes];
  buf[0] = Header(n, ValueType::kInteger);
  PutBigEndian(buf + 1, u, n);
  out->append(buf, 1 + n);
}

inline void AppendReal(std::string* out, double d) {
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  char buf[1 + 8];
  buf[0] = Header(0, ValueType::kReal);
  PutBigEndian(buf + 1, u, 8);
  out->append(buf, sizeof buf);
}

inline void AppendBytes(std::string* out, ValueType type, const void* data, size_t size) {
  const int n = BytesNeeded(size);
  char buf[1 + kMaxIntBytes];
  buf[0] = Header(n, type);
  PutBigEndian(buf + 1, size, n);
  out->append(buf, 1 + n);
  if (size > 0) out->append(static_cast<const char*>(data), size);
}

inline void AppendNull(std::string* out) { out->push_back(Header(0, ValueType::kNull)); }

// Bounds-checked reader over the packed bytes. Every failure names the column
// and the offset of the byte at fault.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

  uint8_t Byte() { return static_cast<uint8_t>(in_[pos_++]); }

  // Reads `n` (<= 8) big-endian bytes; REQUIRES remaining() >= n.
  uint64_t BigEndian(int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | Byte();
    return v;
  }

  std::string_view Take(size_t n) {
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

absl::Status Corrupt(int column, int count, size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "packed primary key is corrupt at byte %d (column %d of %d): %s; it was not "
      "produced by crsql_pack_columns or crlog, or was truncated on the way",
      offset, column + 1, count, Sv(what)));
}

}  // namespace

void AppendPackedValue(std::string* out, const Value& v) {
  switch (v.type) {
    case ValueType::kInteger: AppendInteger(out, v.integer); return;
    case ValueType::kReal: AppendReal(out, v.real); return;
    case ValueType::kText:
    case ValueType::kBlob: AppendBytes(out, v.type, v.bytes.data(), v.bytes.size()); return;
    case ValueType::kNull: AppendNull(out); return;
  }
  AppendNull(out);  // not a ValueType: unreachable for well-formed Values
}

std::string PackColumns(absl::Span<const Value> values) {
  assert(values.size() <= kMaxPackedColumns);
  std::string out;
  size_t size = 1;
  for (const Value& v : values) size += 1 + kMaxIntBytes + v.bytes.size();
  out.reserve(size);
  out.push_back(static_cast<char>(values.size()));
  for (const Value& v : values) AppendPackedValue(&out, v);
  return out;
}

std::string PackSqliteValues(int argc, sqlite3_value** argv) {
  assert(argc >= 0 && static_cast<size_t>(argc) <= kMaxPackedColumns);
  std::string out;
  out.reserve(1 + static_cast<size_t>(argc) * (1 + kMaxIntBytes) + 16);
  out.push_back(static_cast<char>(argc));
  for (int i = 0; i < argc; ++i) {
    sqlite3_value* v = argv[i];
    switch (sqlite3_value_type(v)) {
      case SQLITE_INTEGER: AppendInteger(&out, sqlite3_value_int64(v)); break;
      case SQLITE_FLOAT: AppendReal(&out, sqlite3_value_double(v)); break;
      case SQLITE_TEXT: {
        // Pointer first, then size: the size is of the converted text.
        const unsigned char* text = sqlite3_value_text(v);
        AppendBytes(&out, ValueType::kText, text, static_cast<size_t>(sqlite3_value_bytes(v)));
        break;
      }
      case SQLITE_BLOB: {
        const void* blob = sqlite3_value_blob(v);
        AppendBytes(&out, ValueType::kBlob, blob, static_cast<size_t>(sqlite3_value_bytes(v)));
        break;
      }
      default: AppendNull(&out); break;
    }
  }
  return out;
}

absl::StatusOr<std::vector<Value>> UnpackColumns(std::string_view packed) {
  if (packed.empty()) {
    return absl::InvalidArgumentError(
        "packed primary key is empty: it must start with a column count byte");
  }
  Reader in(packed);
  const int count = in.Byte();
  std::vector<Value> values;
  values.reserve(count);
  for (int col = 0; col < count; ++col) {
    if (in.remaining() == 0) {
      return Corrupt(col, count, in.offset(),
                     absl::StrCat("the count byte promises ", count, " columns but only ", col,
                                  " are present"));
    }
    const size_t header_at = in.offset();
    const uint8_t header = in.Byte();
    const int n = header >> kTypeBits;
    const int type = header & kTypeMask;
    auto bad_header = [&](std::string_view why) {
      return Corrupt(col, count, header_at,
                     absl::StrFormat("header 0x%02x (n=%d, type %d): %s", header, n, type,
                                     Sv(why)));
    };
    switch (type) {
      case static_cast<int>(ValueType::kInteger): {
        if (n > kMaxIntBytes) return bad_header("an integer has at most 8 bytes");
        if (in.remaining() < static_cast<size_t>(n)) return bad_header("integer runs past the end");
        const uint64_t u = in.BigEndian(n);
        if (n > 0 && BytesNeeded(u) != n) {
          return bad_header("integer has a leading zero byte (not the fewest bytes)");
        }
        values.push_back(Value::Integer(static_cast<int64_t>(u)));
        break;
      }
      case static_cast<int>(ValueType::kReal): {
        if (n != 0) return bad_header("a real has n = 0");
        if (in.remaining() < 8) return bad_header("real runs past the end");
        const uint64_t u = in.BigEndian(8);
        double d;
        std::memcpy(&d, &u, sizeof d);
        values.push_back(Value::Real(d));
        break;
      }
      case static_cast<int>(ValueType::kText):
      case static_cast<int>(ValueType::kBlob): {
        if (n > kMaxIntBytes) return bad_header("a length has at most 8 bytes");
        if (in.remaining() < static_cast<size_t>(n)) return bad_header("length runs past the end");
        const uint64_t size = in.BigEndian(n);
        if (n > 0 && BytesNeeded(size) != n) {
          return bad_header("length has a leading zero byte (not the fewest bytes)");
        }
        if (size > in.remaining()) {
          return bad_header(absl::StrCat("length ", size, " runs past the end (", in.remaining(),
                                         " bytes left)"));
        }
        const std::string_view bytes = in.Take(size);
        values.push_back(type == static_cast<int>(ValueType::kText) ? Value::Text(bytes)
                                                                     : Value::Blob(bytes));
        break;
      }
      case static_cast<int>(ValueType::kNull):
        if (n != 0) return bad_header("a null has n = 0");
        values.push_back(Value::Null());
        break;
      default:
        return bad_header("unknown type (1 integer, 2 real, 3 text, 4 blob, 5 null)");
    }
  }
  if (in.remaining() != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "packed primary key is corrupt: %d bytes left over after its %d columns (at byte %d)",
        in.remaining(), count, in.offset()));
  }
  return values;
}

}  // namespace crlog::schema
