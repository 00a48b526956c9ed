// Event ids and site ids, and the SHA-256 that makes ids.
#ifndef CRLOG_LOG_HASH_H_
#define CRLOG_LOG_HASH_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crlog::log {

// SHA-256 of an event's canonical encoding.
using Hash = std::array<uint8_t, 32>;
// A replica's random, persistent 16-byte id.
using SiteId = std::array<uint8_t, 16>;

// SHA-256 through OpenSSL's EVP interface. The digest and a context are
// fetched once per thread (re-fetching per call doubles the cost).
Hash Sha256(std::string_view bytes);

// Lower-case hex of any byte string.
std::string ToHex(std::string_view bytes);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(a.data()), N));
}
// The first 12 hex digits: how ids are shown to people.
std::string ShortHex(const Hash& h);

// The value of one hex digit (either case), or -1.
int HexDigit(char c);
// Parses exactly 64 (hash) or 32 (site) hex digits.
absl::StatusOr<Hash> HashFromHex(std::string_view hex);
absl::StatusOr<SiteId> SiteIdFromHex(std::string_view hex);

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
