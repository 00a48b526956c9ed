// The SHA-256 that makes event ids, and byte views of ids (the ids
// themselves are public: crlog/ids.h).
#ifndef CRLOG_LOG_HASH_H_
#define CRLOG_LOG_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crlog/ids.h"

namespace crlog::log {

// The id types and hex helpers are public (crlog/ids.h); log/ code names
// them as its own.
using crlog::Hash;
using crlog::HashFromHex;
using crlog::HexDigit;
using crlog::ShortHex;
using crlog::SiteId;
using crlog::SiteIdFromHex;
using crlog::ToHex;

// SHA-256 through OpenSSL's EVP interface, with digest contexts reused from
// a pool (creating one per call doubles the cost).
Hash Sha256(std::string_view bytes);

// Views and copies between fixed arrays and byte strings.
template <size_t N>
std::string_view AsBytes(const std::array<uint8_t, N>& a) {
  return std::string_view(reinterpret_cast<const char*>(a.data()), N);
}
// Requires bytes.size() == N.
template <size_t N>
std::array<uint8_t, N> ToArray(std::string_view bytes) {
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N && i < bytes.size(); ++i) out[i] = static_cast<uint8_t>(bytes[i]);
  return out;
}

}  // namespace crlog::log

#endif  // CRLOG_LOG_HASH_H_
