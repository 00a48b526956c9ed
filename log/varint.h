// LEB128 varints and the value encoding of docs/format.md ("Row encoding"),
// shared by the row codec and by the engine's capture buffer.
#ifndef CRLOG_LOG_VARINT_H_
#define CRLOG_LOG_VARINT_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "crlog/value.h"

namespace crlog::log {

inline void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

// Reads a varint and advances `in`; false when truncated or over 64 bits.
inline bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

// A value: tag byte (its ValueType), then zigzag varint / 8-byte LE double /
// varint length + bytes / nothing.
inline void PutInteger(std::string* out, int64_t v) {
  out->push_back(static_cast<char>(ValueType::kInteger));
  PutVarint(out, ZigZag(v));
}
inline void PutReal(std::string* out, double v) {
  out->push_back(static_cast<char>(ValueType::kReal));
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts only (x86-64, arm64)
  out->append(b, 8);
}
inline void PutBytes(std::string* out, ValueType type, std::string_view bytes) {
  out->push_back(static_cast<char>(type));
  PutVarint(out, bytes.size());
  out->append(bytes);
}
inline void PutNull(std::string* out) { out->push_back(static_cast<char>(ValueType::kNull)); }
void PutValue(std::string* out, const Value& v);
// Reads the extent of one encoded value (tag and payload) without copying
// it; false when truncated or the tag is unknown.
bool GetValueBytes(std::string_view* in, std::string_view* encoded);
// False when truncated or the tag is unknown.
bool GetValue(std::string_view* in, Value* v);

}  // namespace crlog::log

#endif  // CRLOG_LOG_VARINT_H_
