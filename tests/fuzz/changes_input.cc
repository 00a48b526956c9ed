// The crsql_changes fuzz target's input format (changes_input.h).
#include "tests/fuzz/changes_input.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace crlog::fuzz {

const std::vector<FuzzTable>& FuzzTables() {
  // A composite pk of two affinities, every storage class among the other
  // columns, a CHECK and a NOT NULL with a default, and a table that is all pk.
  static const auto* tables = new std::vector<FuzzTable>{
      {"t",
       "CREATE TABLE t(a INTEGER NOT NULL, b TEXT NOT NULL, c, d REAL, e BLOB DEFAULT x'00', "
       "PRIMARY KEY (a, b))",
       {"a", "b", "c", "d", "e"},
       2},
      {"u",
       "CREATE TABLE u(id INTEGER PRIMARY KEY NOT NULL, v TEXT NOT NULL DEFAULT 'x', "
       "n INTEGER CHECK (n IS NULL OR n < 1000))",
       {"id", "v", "n"},
       1},
      {"k", "CREATE TABLE k(x TEXT PRIMARY KEY NOT NULL)", {"x"}, 1},
  };
  return *tables;
}

const std::vector<int64_t> kEdgeIntegers = {
    0,
    1,
    -1,
    (int64_t{1} << 62) - 1,
    int64_t{1} << 62,
    (int64_t{1} << 62) + 1,
    std::numeric_limits<int64_t>::max(),
    std::numeric_limits<int64_t>::min(),
    std::numeric_limits<int32_t>::max(),
    int64_t{1} << 32,
};

uint8_t ChangesReader::Byte() {
  if (in_.empty()) return 0;
  auto b = static_cast<uint8_t>(in_.front());
  in_.remove_prefix(1);
  return b;
}

int64_t ChangesReader::Int64() {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(Byte()) << (8 * i);
  return static_cast<int64_t>(v);
}

double ChangesReader::Real() {
  int64_t bits = Int64();
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string ChangesReader::Bytes() {
  size_t n = std::min<size_t>(Byte(), in_.size());
  std::string out(in_.substr(0, n));
  in_.remove_prefix(n);
  return out;
}

Value ChangesReader::AnyValue() {
  switch (Byte() % 8) {
    case 0: return Value::Integer(static_cast<int8_t>(Byte()));
    case 1: return Value::Integer(Int64());
    case 2: return Value::Real(Real());
    case 3: return Value::Text(Bytes());
    case 4: return Value::Blob(Bytes());
    case 5: return Value::Null();
    case 6: return Value::Integer(kEdgeIntegers[Byte() % kEdgeIntegers.size()]);
    default: return Value::Real(static_cast<int8_t>(Byte()));
  }
}

Value ChangesReader::Counter() {
  uint8_t b = Byte();
  if (b < 0xC0) return Value::Integer(b % 16);
  return AnyValue();
}

void ChangesWriter::Bytes(std::string_view b) {
  Byte(static_cast<uint8_t>(std::min<size_t>(b.size(), 255)));
  out_.append(b.substr(0, 255));
}

void ChangesWriter::AnyValue(const Value& v) {
  switch (v.type) {
    case ValueType::kInteger:
      if (v.integer >= -128 && v.integer <= 127) {
        Byte(0);
        Byte(static_cast<uint8_t>(static_cast<int8_t>(v.integer)));
      } else {
        Byte(1);
        for (int i = 0; i < 8; ++i) Byte(static_cast<uint8_t>(static_cast<uint64_t>(v.integer) >> (8 * i)));
      }
      break;
    case ValueType::kReal: {
      Byte(2);
      uint64_t bits;
      std::memcpy(&bits, &v.real, sizeof bits);
      for (int i = 0; i < 8; ++i) Byte(static_cast<uint8_t>(bits >> (8 * i)));
      break;
    }
    case ValueType::kText: Byte(3); Bytes(v.bytes); break;
    case ValueType::kBlob: Byte(4); Bytes(v.bytes); break;
    case ValueType::kNull: Byte(5); break;
  }
}

void ChangesWriter::Counter(uint8_t small) { Byte(small); }

}  // namespace crlog::fuzz
