// Packing and unpacking cr-sqlite packed pks (tools/packed_pk.h).
#include "tools/packed_pk.h"

#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "log/hash.h"

namespace crlog::tools {
namespace {

constexpr uint8_t kTypeInteger = static_cast<uint8_t>(ValueType::kInteger);
constexpr uint8_t kTypeReal = static_cast<uint8_t>(ValueType::kReal);
constexpr uint8_t kTypeText = static_cast<uint8_t>(ValueType::kText);
constexpr uint8_t kTypeBlob = static_cast<uint8_t>(ValueType::kBlob);
constexpr uint8_t kTypeNull = static_cast<uint8_t>(ValueType::kNull);

// Bytes needed for `v` as an unsigned big-endian number: 0 for 0, 8 for any
// negative value.
int MinimalBytes(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  int n = 0;
  while (u != 0) {
    ++n;
    u >>= 8;
  }
  return n;
}

void PutBigEndian(uint64_t v, int n, std::string* out) {
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads n big-endian bytes from the front of `in`.
bool GetBigEndian(std::string_view* in, int n, uint64_t* v) {
  if (n > 8 || in->size() < static_cast<size_t>(n)) return false;
  uint64_t x = 0;
  for (int i = 0; i < n; ++i) x = (x << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(n);
  *v = x;
  return true;
}

}  // namespace

std::string PackIntegerPk(absl::Span<const int64_t> columns) {
  std::string out;
  out.push_back(static_cast<char>(columns.size()));
  for (int64_t v : columns) {
    int n = MinimalBytes(v);
    out.push_back(static_cast<char>((n << 3) | kTypeInteger));
    PutBigEndian(static_cast<uint64_t>(v), n, &out);
  }
  return out;
}

std::optional<std::vector<Value>> UnpackPk(std::string_view in) {
  if (in.empty()) return std::nullopt;
  size_t count = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  std::vector<Value> values;
  values.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (in.empty()) return std::nullopt;
    uint8_t header = static_cast<uint8_t>(in[0]);
    in.remove_prefix(1);
    uint8_t type = header & 7;
    int n = header >> 3;
    uint64_t x = 0;
    switch (type) {
      case kTypeInteger:
        if (!GetBigEndian(&in, n, &x)) return std::nullopt;
        values.push_back(Value::Integer(static_cast<int64_t>(x)));
        break;
      case kTypeReal: {
        if (n != 0 || !GetBigEndian(&in, 8, &x)) return std::nullopt;
        values.push_back(Value::Real(std::bit_cast<double>(x)));
        break;
      }
      case kTypeText:
      case kTypeBlob: {
        if (!GetBigEndian(&in, n, &x) || x > in.size()) return std::nullopt;
        std::string_view bytes = in.substr(0, x);
        in.remove_prefix(x);
        values.push_back(type == kTypeText ? Value::Text(bytes) : Value::Blob(bytes));
        break;
      }
      case kTypeNull:
        if (n != 0) return std::nullopt;
        values.push_back(Value::Null());
        break;
      default:
        return std::nullopt;
    }
  }
  if (!in.empty()) return std::nullopt;
  return values;
}

std::string PkToString(std::string_view packed) {
  std::optional<std::vector<Value>> values = UnpackPk(packed);
  if (!values) return absl::StrCat("X'", log::ToHex(packed), "'");
  return absl::StrCat("[",
                      absl::StrJoin(*values, ", ",
                                    [](std::string* out, const Value& v) {
                                      absl::StrAppend(out, ValueToString(v));
                                    }),
                      "]");
}

}  // namespace crlog::tools
