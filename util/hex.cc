// The hex spelling of ids (crlog/ids.h).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "crlog/ids.h"
#include "util/strings.h"

namespace crlog {
namespace {

template <size_t N>
absl::StatusOr<std::array<uint8_t, N>> FromHex(std::string_view hex, const char* what) {
  if (hex.size() != 2 * N) {
    return absl::InvalidArgumentError(absl::StrCat("a ", what, " is ", 2 * N, " hex digits; got ",
                                                   hex.size(), " in '", Sv(hex), "'"));
  }
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", Sv(hex), "' is not a hex ", what, ": use only 0-9 and a-f"));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::string ShortHex(const Hash& h) { return ToHex(h).substr(0, 12); }

absl::StatusOr<Hash> HashFromHex(std::string_view hex) { return FromHex<32>(hex, "event id"); }
absl::StatusOr<SiteId> SiteIdFromHex(std::string_view hex) { return FromHex<16>(hex, "site id"); }

}  // namespace crlog
