// crlog/ids.h: event ids and site ids, and their hex spelling.
//
// An event's id is the SHA-256 of its canonical bytes (docs/format.md); a
// site id is a replica's random, persistent 16 bytes. Ids are values: copy
// them freely.
#ifndef CRLOG_IDS_H_
#define CRLOG_IDS_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace crlog {

// An event id: SHA-256 of the event's canonical encoding.
using Hash = std::array<uint8_t, 32>;
// A replica's id.
using SiteId = std::array<uint8_t, 16>;

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
// Parses exactly 64 (event id) or 32 (site id) hex digits; InvalidArgument
// saying what is wrong otherwise.
absl::StatusOr<Hash> HashFromHex(std::string_view hex);
absl::StatusOr<SiteId> SiteIdFromHex(std::string_view hex);

}  // namespace crlog

#endif  // CRLOG_IDS_H_
