// The value encoding of docs/format.md ("Row encoding"), shared by the row
// codec and by the engine's capture buffer.
#ifndef CRLOG_LOG_VALUE_CODEC_H_
#define CRLOG_LOG_VALUE_CODEC_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "crlog/value.h"
#include "util/varint.h"

namespace crlog::log {

// A value: tag byte (its ValueType), then zigzag varint / 8-byte LE double /
// varint length + bytes / nothing.
inline void PutInteger(std::string* out, int64_t v) {
  out->push_back(static_cast<char>(ValueType::kInteger));
  util::PutVarint(out, util::ZigZag(v));
}
inline void PutReal(std::string* out, double v) {
  out->push_back(static_cast<char>(ValueType::kReal));
  char b[8];
  std::memcpy(b, &v, 8);  // little-endian hosts only (x86-64, arm64)
  out->append(b, 8);
}
inline void PutBytes(std::string* out, ValueType type, std::string_view bytes) {
  out->push_back(static_cast<char>(type));
  util::PutVarint(out, bytes.size());
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

#endif  // CRLOG_LOG_VALUE_CODEC_H_
